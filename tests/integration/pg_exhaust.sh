#!/usr/bin/env bash
# pg exhaust against a real PostgreSQL (initdb into a temp dir, unix socket
# only, small max_connections): the limit is reached, one more connection is
# refused with SQLSTATE 53300, everything is released at the deadline, on
# Ctrl-C and when tug is SIGKILLed, and a normal query works again.
. "$(dirname "$0")/../lib.sh"

command -v psql >/dev/null || { t_skip pg_exhaust "psql is not installed"; exit 0; }
t_pg_start 12 || { t_skip pg_exhaust "cannot start a PostgreSQL ($(tail -3 "${T_PG_DIR:-/dev/null}/initdb.log" 2>/dev/null))"; exit 0; }
t_psql "SELECT 1" >/dev/null || { t_fail setup "the test server does not answer"; exit 1; }

clients() { t_psql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"; }
# psql's own view of a refused connection (53300 in the server's words; psql
# shows no SQLSTATE for a failed connection)
psql_refused() { psql "$T_PG_DB" -XAtqc "SELECT 1" 2>&1 | grep -q "too many clients already"; }
q() { t_psql "$1" >/dev/null; }
wait_query() {	# TIMEOUT_MS: until a normal query works
	local end=$(($(now_ms) + $1))
	while [ "$(now_ms)" -lt "$end" ]; do
		t_psql "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	return 1
}

# --- to the limit, refusal proven, released at the deadline ---
out="$T_TMP/exhaust.json"
# Long enough for psql to connect while held; under emulation (TUG_SLOW)
# psql alone takes a second or more to start.
HOLD=2s
[ -z "${TUG_SLOW:-}" ] || HOLD=8s
t_bg tugpid "$TUG" pg exhaust --db "$T_PG_DB" --for "$HOLD" --json >"$out" 2>"$T_TMP/exhaust.err"
wait_for "$out" '"event":"exhausted"' 10000 || { t_fail exhaust_reaches_limit "$(cat "$out" "$T_TMP/exhaust.err")"; exit 1; }
held=$(json_field "$out" exhausted held)
t_check exhaust_holds_all_slots "held $held of max_connections 12" [ "$held" = 12 ]
t_check exhaust_extra_refused_53300 "$(grep exhausted "$out")" \
	grep -q '"extra_refused":true,"sqlstate":"53300","refusal":"FATAL:  53300: sorry, too many clients already' "$out"
t_check exhaust_psql_refused_53300 "psql was not refused with 53300 while held" psql_refused
wait "$tugpid"
rc=$?
sed 's/^/  /' "$out"
t_check exhaust_exit_0 "exit $rc: $(cat "$T_TMP/exhaust.err")" [ "$rc" -eq 0 ]
t_check exhaust_released_at_deadline "$(grep reverted "$out")" grep -q '"event":"reverted".*"reason":"deadline"' "$out"
t_check exhaust_query_after "$(grep query- "$out")" grep -q '"event":"query-ok".*"released":12' "$out"
t_check exhaust_psql_after "a normal query fails after the release" q "SELECT 1"
n=$(clients)
t_check exhaust_no_connection_left "$n client connections remain" [ "$n" -eq 0 ]
t_check exhaust_journal_empty "$(ls "$TUG_RUN_DIR" 2>/dev/null)" \
	bash -c "! ls '$TUG_RUN_DIR'/*.json >/dev/null 2>&1"

# --- SIGKILL of tug: the kernel closes the sockets, the server frees them ---
out="$T_TMP/killed.json"
t_bg tugpid "$TUG" pg exhaust --db "$T_PG_DB" --for 60s --json >"$out" 2>&1
if wait_for "$out" '"event":"exhausted"' 10000; then
	psql_refused
	t_check sigkill_held_before "not exhausted before the kill" [ $? -eq 0 ]
	t_kill=$(now_ms)
	kill -9 "$tugpid"
	wait "$tugpid" 2>/dev/null
	wait_query 5000
	ok=$?
	echo "  after SIGKILL of tug: a query works $(($(now_ms) - t_kill)) ms later"
	t_check sigkill_released "no query within 5s of the SIGKILL" [ "$ok" -eq 0 ]
else
	t_fail sigkill_held_before "$(cat "$out")"
fi

# --- guardian and tug both SIGKILLed: the node's `tug recover` and `tug
# revert ID` hand the entry to tug-full (the node carries no pg family) ---
# Starts pg exhaust, SIGKILLs its guardian, then it; prints the entry left.
kill_both() {
	local out="$T_TMP/both.json" gp
	t_bg tugpid "$TUG" pg exhaust --db "$T_PG_DB" --for 60s --json >"$out" 2>&1
	wait_for "$out" '"event":"exhausted"' 10000 || return 1
	gp=$(pgrep -P "$tugpid" -x tug-guardian)
	[ -n "$gp" ] || return 1
	kill -9 "$gp" "$tugpid"
	wait "$tugpid" 2>/dev/null
	basename "$(ls -t "$TUG_RUN_DIR"/faults/*.json 2>/dev/null | head -1)" .json
}
entries() { ls "$TUG_RUN_DIR"/faults/*.json 2>/dev/null | wc -l; }
for how in recover revert; do
	id=$(kill_both)
	if [ -z "$id" ]; then
		t_fail "both_killed_${how}_exit_0" "no guardian, or no entry left: $(cat "$T_TMP/both.json")"
		continue
	fi
	if [ "$how" = recover ]; then rec=$("$TUG" recover 2>&1); else rec=$("$TUG" revert "$id" 2>&1); fi
	rc=$?
	echo "  guardian and tug SIGKILLed, entry $id left; tug $how (exit $rc): $rec; $(entries) entries now"
	t_check "both_killed_${how}_exit_0" "exit $rc: $rec" [ "$rc" -eq 0 ]
	t_check "both_killed_${how}_clears_journal" "$(entries) entries after $how: $rec" [ "$(entries)" -eq 0 ]
	wait_query 5000
	t_check "both_killed_${how}_released" "no query within 5s of tug $how" [ $? -eq 0 ]
done

# --- --leave 3 and Ctrl-C: slots left for others, released on SIGINT ---
out="$T_TMP/leave.json"
sleep 0.2
t_bg tugpid "$TUG" pg exhaust --db "$T_PG_DB" --leave 3 --for 30s --json >"$out" 2>&1
if wait_for "$out" '"event":"exhausted"' 10000; then
	held=$(json_field "$out" exhausted held)
	t_check leave_holds_limit_minus_3 "held $held" [ "$held" = 9 ]
	t_check leave_others_still_connect "a query failed with 3 slots left" q "SELECT 1"
	kill -INT "$tugpid"
	wait "$tugpid"
	rc=$?
	t_check leave_sigint_reverts "exit $rc: $(grep reverted "$out")" \
		bash -c "[ $rc -eq 0 ] && grep -q '\"reason\":\"SIGINT\"' '$out'"
	n=$(clients)
	t_check leave_nothing_left "$n client connections remain" [ "$n" -eq 0 ]
else
	t_fail leave_holds_limit_minus_3 "$(cat "$out")"
fi

# --- a non-superuser stops at the reserved slots, refused with 53300 too ---
t_psql "CREATE ROLE tug_chaos LOGIN" >/dev/null
out="$T_TMP/role.json"
"$TUG" pg exhaust --db "$T_PG_DB user=tug_chaos" --for 300ms --json >"$out" 2>&1
rc=$?
held=$(json_field "$out" exhausted held)
reserved=$(t_psql "SHOW superuser_reserved_connections")
t_check role_stops_at_reserved "exit $rc, held $held, reserved $reserved: $(head -c 300 "$out")" \
	[ "$rc" -eq 0 ] && [ "$held" = $((12 - reserved)) ]

# --- no password on a command line: refused before connecting ---
"$TUG" pg exhaust --db "$T_PG_DB password=hunter2" --for 1s >"$T_TMP/pw.out" 2>&1
rc=$?
t_check password_refused "exit $rc: $(cat "$T_TMP/pw.out")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'password file' '$T_TMP/pw.out' && ! grep -q hunter2 '$T_TMP/pw.out'"
"$TUG" pg exhaust --db "$T_PG_DB" --leave x >/dev/null 2>&1
t_check bad_leave_exit_2 "exit $?" [ $? -eq 2 ]
exit 0
