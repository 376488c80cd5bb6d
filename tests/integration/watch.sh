#!/usr/bin/env bash
# tug watch against the real kernel: real memory cgroups, real allocations,
# real OOM kills, real process exits and execs. Every cgroup and process the
# test makes is removed at exit, also when a check fails half way.
. "$(dirname "$0")/../lib.sh"

HOG="$TUG_BUILD/tests/oomhog"
read -r MEMKIND MEMROOT <<<"$(t_memroot)"
[ -n "$MEMROOT" ] || { t_skip watch "no memory cgroup controller mounted"; exit 0; }
[ "$(swapon --noheadings 2>/dev/null | wc -l)" -eq 0 ] || echo "  note: swap is on; the cgroups have swap disabled"
echo "  memory controller: $MEMKIND at $MEMROOT"

progs_now() { bpftool prog show 2>/dev/null | grep -c 'name tug_obs_'; }
progs_before=$(progs_now)

# start_watch VAR OUT ARGS...: tug watch in the background, ready when it
# has printed its "watching" line (programs attached).
start_watch() {
	local __var=$1 out=$2
	shift 2
	t_bg "$__var" "$TUG" watch --json "$@" >"$out" 2>"$out.err"
	wait_for "$out" '"event":"watching"' 5000
}

# stop_watch PID: SIGTERM, and the exit status of tug.
stop_watch() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
}

# The first event line of a kind for a pid: grep -m1 on both.
event_of() {	# file event pid
	grep "\"event\":\"$2\"" "$1" | grep -m1 "\"pid\":$3,"
}
field() {	# json-line key
	sed -n "s/.*\"$2\":\(\"[^\"]*\"\|[^,}]*\).*/\1/p" <<<"$1" | tr -d '"'
}

# --- OOM kill in a limited cgroup: exactly its pid and its cgroup ---
t_memcg A tug-test-oom-a 32M && t_memcg B tug-test-oom-b 32M ||
	{ t_fail oom_setup "cannot create memory cgroups under $MEMROOT"; exit 1; }
all="$T_TMP/watch-all" onlya="$T_TMP/watch-a"
start_watch wall "$all" --oom || { t_fail oom_watch_starts "$(cat "$all.err")"; exit 1; }
# Relative to the memory hierarchy, as an operator would type it.
start_watch wa "$onlya" --oom --cgroup "$(basename "$A")" ||
	{ t_fail oom_watch_cgroup_starts "$(cat "$onlya.err")"; exit 1; }

{ t_in_cgroup "$A" "$HOG" 200 >"$T_TMP/hog-a"; } 2>/dev/null
rc_a=$?
hog_a=$(head -1 "$T_TMP/hog-a")
{ t_in_cgroup "$B" "$HOG" 200 >"$T_TMP/hog-b"; } 2>/dev/null
hog_b=$(head -1 "$T_TMP/hog-b")
wait_for "$all" "\"pid\":$hog_b," 3000
wait_for "$onlya" "\"pid\":$hog_a," 3000
kill_a=$(cat "$A/memory.oom_control" 2>/dev/null | awk '$1 == "oom_kill" { print $2 }')
[ -z "$kill_a" ] && kill_a=$(awk '$1 == "oom_kill" { print $2 }' "$A/memory.events" 2>/dev/null)

t_check oom_hog_was_killed "hog in $A exited $rc_a, oom_kill counter ${kill_a:-?}" \
	bash -c "[ $rc_a -eq 137 ] && [ '${kill_a:-0}' -ge 1 ]"
ev=$(event_of "$all" oom_kill "$hog_a")
echo "  event: $ev"
t_check oom_reports_pid "no oom_kill event for pid $hog_a: $(cat "$all")" [ -n "$ev" ]
t_check oom_reports_cgroup "cgroup $(field "$ev" cgroup), want $A" [ "$(field "$ev" cgroup)" = "$A" ]
t_check oom_reports_cgroup_id "cgroup_id $(field "$ev" cgroup_id), inode $(stat -c %i "$A")" \
	[ "$(field "$ev" cgroup_id)" = "$(stat -c %i "$A")" ]
t_check oom_reports_comm "comm $(field "$ev" comm)" [ "$(field "$ev" comm)" = oomhog ]
t_check oom_constraint_memcg "constraint $(field "$ev" constraint)" [ "$(field "$ev" constraint)" = memcg ]
t_check oom_reports_limit "memcg_limit $(field "$ev" memcg_limit)" [ "$(field "$ev" memcg_limit)" = $((32 << 20)) ]
anon=$(field "$ev" anon_rss)
t_check oom_reports_rss "anon_rss $anon not in (24M, 32M]" \
	awk -v a="${anon:-0}" 'BEGIN { exit !(a > 24 * 2^20 && a <= 32 * 2^20) }'
t_check oom_reports_score_adj "oom_score_adj '$(field "$ev" oom_score_adj)'" [ "$(field "$ev" oom_score_adj)" = 0 ]
t_check oom_one_event_per_kill "$(grep -c "\"pid\":$hog_a," "$all") events for $hog_a" \
	[ "$(grep -c "\"event\":\"oom_kill\".*\"pid\":$hog_a," "$all")" -eq 1 ]
t_check oom_other_cgroup_seen_unfiltered "no event for $hog_b in $B" \
	bash -c "grep '\"pid\":$hog_b,' '$all' | grep -q '\"cgroup\":\"$B\"'"
t_check oom_filter_reports_own "filtered watcher missed $hog_a: $(cat "$onlya")" \
	grep -q "\"event\":\"oom_kill\".*\"pid\":$hog_a," "$onlya"
t_check oom_filter_excludes_other "filtered watcher saw $hog_b" \
	bash -c "! grep -q '\"pid\":$hog_b,' '$onlya'"
# Compare with what the kernel log says about the same kill.
klog=$(dmesg 2>/dev/null | grep "Killed process $hog_a " | tail -1)
if [ -n "$klog" ]; then
	k_anon=$(sed -n 's/.*anon-rss:\([0-9]*\)kB.*/\1/p' <<<"$klog")
	t_check oom_rss_matches_kernel_log "anon_rss $anon vs kernel log ${k_anon}kB" \
		[ "$anon" = $((k_anon * 1024)) ]
else
	t_skip oom_rss_matches_kernel_log "no kernel log line for $hog_a"
fi
stop_watch "$wall"
rc=$?
t_check watch_sigterm_clean "exit $rc; $(tail -1 "$all")" \
	bash -c "[ $rc -eq 0 ] && tail -1 '$all' | grep -q '\"event\":\"summary\",\"reason\":\"SIGTERM\".*\"oom_kills\":2'"
kill -INT "$wa"
wait "$wa"
rc=$?
t_check watch_sigint_clean "exit $rc; $(tail -1 "$onlya")" \
	bash -c "[ $rc -eq 0 ] && tail -1 '$onlya' | grep -q '\"reason\":\"SIGINT\".*\"oom_kills\":1'"

# --- a service dies and its supervisor starts it again ---
t_memcg S tug-test-proc 256M || { t_fail proc_setup "cannot create cgroup"; exit 1; }
out="$T_TMP/watch-proc"
start_watch wp "$out" --proc --cgroup "$S" || { t_fail proc_watch_starts "$(cat "$out.err")"; exit 1; }
# The supervisor restarts its service whenever it ends, records each pid.
pids="$T_TMP/service-pids"
t_bg sup sh -c 'echo $$ >"$0/cgroup.procs" && while :; do sleep 30 & echo $! >>"$1"; wait $!; done' \
	"$S" "$pids"
wait_for "$pids" '.' 3000
svc1=$(head -1 "$pids")
kill -KILL "$svc1"
end=$(($(now_ms) + 3000))
while [ "$(wc -l <"$pids")" -lt 2 ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.01; done
svc2=$(sed -n 2p "$pids")
# A short-lived process with an exit code, and one ended by a signal.
t_in_cgroup "$S" sh -c 'exit 7'
{ t_in_cgroup "$S" sh -c 'kill -TERM $$; sleep 1'; } 2>/dev/null
wait_for "$out" "\"event\":\"exec\".*\"pid\":${svc2:-0}," 3000
sleep 0.1

x1=$(event_of "$out" exit "$svc1")
e1=$(event_of "$out" exec "$svc1")
e2=$(event_of "$out" exec "${svc2:-0}")
echo "  killed: $x1"
echo "  restarted: $e2"
t_check proc_exec_seen "no exec for service pid $svc1: $(head -5 "$out")" \
	bash -c "[ -n '$e1' ] && [ '$(field "$e1" comm)' = sleep ] && [[ '$(field "$e1" filename)' == *sleep ]]"
t_check proc_exit_by_signal "exit event for $svc1: $x1" \
	bash -c "[ '$(field "$x1" signal)' = KILL ] && [ '$(field "$x1" exit_code)' = null ] && [ '$(field "$x1" status)' = 9 ]"
t_check proc_exec_before_exit "exec line $(grep -n "\"pid\":$svc1," "$out" | head -2 | cut -d: -f1 | tr '\n' ' ')" \
	bash -c "grep '\"pid\":$svc1,' '$out' | head -1 | grep -q '\"event\":\"exec\"'"
t_check proc_restart_seen "second service pid '${svc2}' exec: $e2" \
	bash -c "[ -n '$svc2' ] && [ '$svc2' != '$svc1' ] && [ -n '$e2' ] && [ '$(field "$e2" ppid)' = '$(field "$x1" ppid)' ]"
t_check proc_restart_after_exit "exit at $(field "$x1" ktime_ns), restart at $(field "$e2" ktime_ns)" \
	[ "$(field "$e2" ktime_ns)" -gt "$(field "$x1" ktime_ns)" ]
x7=$(grep '"event":"exit"' "$out" | grep -m1 '"exit_code":7,')
t_check proc_exit_code "no exit with code 7: $(grep '"event":"exit"' "$out")" \
	bash -c "[ -n '$x7' ] && [ '$(field "$x7" signal)' = null ] && [ '$(field "$x7" cgroup)' = '$S' ]"
t_check proc_exit_sigterm "no exit by SIGTERM" grep -q '"event":"exit".*"signal":"TERM"' "$out"
t_check proc_filter_only_cgroup "events from outside $S: $(grep -v "\"cgroup\":\"$S\"" "$out" | grep -v -e watching | head -3)" \
	bash -c "! grep -E '\"event\":\"(exit|exec)\"' '$out' | grep -qv '\"cgroup\":\"$S\"'"
stop_watch "$wp"

# --- a fault reports the OOM kills inside its cgroup, live and at the end ---
t_memcg L tug-test-limit 512M || { t_fail fault_oom_setup "cannot create cgroup"; exit 1; }
out="$T_TMP/limit"
t_bg lp "$TUG" mem limit --cgroup "$L" --max 32M --for 20s --json >"$out" 2>"$out.err"
if wait_for "$out" '"event":"applied"' 5000; then
	{ t_in_cgroup "$L" "$HOG" 200 >"$T_TMP/hog-l"; } 2>/dev/null
	hog_l=$(head -1 "$T_TMP/hog-l")
	wait_for "$out" '"event":"oom_kill"' 3000
	live=$(grep -c '"event":"oom_kill"' "$out")
	kill -TERM "$lp"
	wait "$lp"
	# fault_emit escapes '/' as '\/' (valid JSON): unescape before comparing.
	ev=$(grep -m1 '^{"event":"oom_kill"' "$out" | sed 's#\\/#/#g')
	t_check fault_reports_oom_live "oom_kill lines while holding: $live; $(cat "$out.err")" \
		bash -c "[ $live -eq 1 ] && [ '$(field "$ev" pid)' = '$hog_l' ] && [ '$(field "$ev" cgroup)' = '$L' ]"
	t_check fault_reports_oom_summary "$(grep oom_summary "$out")" \
		bash -c "grep '\"event\":\"oom_summary\"' '$out' | grep -q '\"oom_kills\":1,\"victims\":\[{.*\"pid\":$hog_l,'"
	order=$(sed -n 's/^{"event":"\([a-z_]*\)".*/\1/p' "$out" | tr '\n' ' ')
	t_check fault_oom_summary_before_reverted "events: $order" \
		bash -c "[[ '$order' == *'oom_kill '*'oom_summary reverted '* ]]"
else
	t_fail fault_reports_oom_live "mem limit did not apply: $(cat "$out" "$out.err")"
fi

# --- --for ends by itself; a human line per event without --json ---
out="$T_TMP/watch-for"
t0=$(now_ms)
"$TUG" watch --proc --cgroup "$S" --for 1s >"$out" 2>&1 &
fpid=$!
T_PIDS+=($fpid)
wait_for "$out" '^watching' 900
t_in_cgroup "$S" sh -c 'exit 3'
wait "$fpid"
rc=$?
t1=$(now_ms)
t_check watch_for_ends "exit $rc after $((t1 - t0)) ms: $(tail -1 "$out")" \
	bash -c "[ $rc -eq 0 ] && [ $((t1 - t0)) -lt 3000 ] && tail -1 '$out' | grep -q '^ended (deadline)'"
t_check watch_human_line "$(cat "$out")" grep -qE 'EXIT +pid [0-9]+ \(sh\) exited 3 ' "$out"

# --- --count ends after N events; a cgroup on the v2 hierarchy filters too ---
V2=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break } $(i+1) == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
if [ -n "$V2" ] && [ "$V2" != "$MEMROOT" ] || [ "$MEMKIND" = v2 ]; then
	C2="$V2/tug-test-v2-$T_ID"
	mkdir "$C2" && t_at_exit "t_cgroup_rm '$C2'"
	out="$T_TMP/watch-v2"
	t_bg cp "$TUG" watch --json --exec --cgroup "$C2" --count 1 >"$out" 2>"$out.err"
	wait_for "$out" '"event":"watching"' 5000
	/bin/true	# outside the cgroup: not counted
	t_in_cgroup "$C2" /bin/true
	end=$(($(now_ms) + 3000))
	while kill -0 "$cp" 2>/dev/null && [ "$(now_ms)" -lt "$end" ]; do sleep 0.02; done
	wait "$cp"
	rc=$?
	t_check watch_v2_cgroup_and_count "exit $rc: $(cat "$out" "$out.err")" \
		bash -c "[ $rc -eq 0 ] && [ \$(grep -c '\"event\":\"exec\"' '$out') -eq 1 ] &&
			grep -q '\"event\":\"exec\".*\"cgroup\":\"$C2\".*\"filename\":\"/bin/true\"' '$out' &&
			tail -1 '$out' | grep -q '\"reason\":\"count\",.*\"execs\":1'"
else
	t_skip watch_v2_cgroup_and_count "no separate cgroup2 mount"
fi

# --- any user names its processes: a name with escape sequences reaches
#     the terminal neutralised ---
evil=$(printf '\033]0;x\007\033[2J')
cp /bin/true "$T_TMP/$evil"
out="$T_TMP/watch-names"
t_bg wn "$TUG" watch --exec --for 3s >"$out" 2>&1
wait_for "$out" 'watching' 5000
"$T_TMP/$evil"
sleep 0.3
kill -TERM "$wn" 2>/dev/null
wait "$wn"
t_check watch_process_names_no_escape_sequences "$(od -c "$out" | head -8)" \
	bash -c "grep -q '?]0;x??\[2J' '$out' && ! grep -q \$'\\x1b' '$out' && ! grep -q \$'\\x07' '$out'"

# --- mistakes are usage errors; nothing stays loaded ---
"$TUG" watch --cgroup /nonexistent/tug-test >/dev/null 2>"$T_TMP/err"
rc=$?
t_check watch_bad_cgroup_exit_2 "exit $rc: $(cat "$T_TMP/err")" \
	bash -c "[ $rc -eq 2 ] && grep -q -- '--cgroup' '$T_TMP/err'"
"$TUG" watch --for 5 >/dev/null 2>&1
t_check watch_bad_duration_exit_2 "exit $?" [ $? -eq 2 ]
# The kernel frees a program after its last holder exits, asynchronously
# (an RCU grace period, longer on a loaded machine): give it 2 s; one left
# after that is one left behind.
for _ in $(seq 100); do [ "$(progs_now)" -eq "$progs_before" ] && break; sleep 0.02; done
t_check watch_leaves_no_program "tug_obs programs: $(progs_now), before: $progs_before" \
	[ "$(progs_now)" -eq "$progs_before" ]
