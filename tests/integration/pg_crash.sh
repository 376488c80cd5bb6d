#!/usr/bin/env bash
# pg crash against a real PostgreSQL: the postmaster is SIGKILLed through a
# pidfd, restarted by --restart-cmd, and tug measures the time until queries
# work again and checks every committed row survived. A postmaster.pid that
# names an unrelated process is refused.
. "$(dirname "$0")/../lib.sh"

command -v psql >/dev/null || { t_skip pg_crash "psql is not installed"; exit 0; }
t_pg_start 20 || { t_skip pg_crash "cannot start a PostgreSQL"; exit 0; }
t_psql "CREATE TABLE markers (id int PRIMARY KEY, note text);
        INSERT INTO markers SELECT g, 'row ' || g FROM generate_series(1, 2000) g" >/dev/null ||
	{ t_fail setup "cannot write marker rows"; exit 1; }
q() { t_psql "$1" >/dev/null; }
# Older than every server start below: the start-time check alone would
# let a postmaster.pid naming these through.
t_bg elder_root sleep 600
t_bg elder_pg setpriv --reuid=postgres --regid=postgres --clear-groups sleep 600
RESTART="runuser -u postgres -- $T_PG_BIN/pg_ctl -D $T_PG_DATA -l $T_PG_DIR/log -w -t 30 start"

# --- crash, restart, recovery time, rows intact ---
old=$(head -1 "$T_PG_DATA/postmaster.pid")
out="$T_TMP/crash.json"
"$TUG" pg crash --db "$T_PG_DB" --pgdata "$T_PG_DATA" --restart-cmd "$RESTART" \
	--verify markers --wait 60s --json >"$out" 2>"$T_TMP/crash.err"
rc=$?
sed 's/^/  /' "$out"
new=$(head -1 "$T_PG_DATA/postmaster.pid" 2>/dev/null)
t_check crash_exit_0 "exit $rc: $(cat "$T_TMP/crash.err")" [ "$rc" -eq 0 ]
t_check crash_killed_postmaster "$(grep signalled "$out")" grep -q "\"signalled\".*\"pid\":$old,.*\"ok\":true" "$out"
t_check crash_old_postmaster_gone "pid $old still runs" bash -c "! kill -0 $old 2>/dev/null"
t_check crash_new_postmaster "old $old, file $new, tug $(json_field "$out" PASS new_pid)" \
	[ -n "$new" ] && [ "$new" != "$old" ] && [ "$(json_field "$out" PASS new_pid)" = "$new" ]
t_check crash_recovery_measured "$(grep accepting "$out")" [ -n "$(json_field "$out" PASS to_accepting_ms)" ]
t_check crash_rows_intact "$(grep verified "$out")" grep -q '"rows_before":2000,"rows_after":2000,"missing":0' "$out"
t_check crash_query_after "no query after the crash" q "SELECT count(*) FROM markers"

# --- rows that vanish are reported: FAIL, exit 1 (delete behind tug's back
#     through the restart command, i.e. "lost" in the crash) ---
out="$T_TMP/lost.json"
"$TUG" pg crash --db "$T_PG_DB" --restart-cmd "$RESTART && psql '$T_PG_DB' -Xqc 'DELETE FROM markers WHERE id <= 5'" \
	--verify public.markers --wait 60s --json >"$out" 2>/dev/null
rc=$?
t_check crash_lost_rows_fail "exit $rc: $(grep -E 'verified|FAIL' "$out")" \
	bash -c "[ $rc -eq 1 ] && grep -q '\"missing\":5' '$out'"

# --- no restart within the bound: FAIL, exit 1 ---
out="$T_TMP/noback.json"
"$TUG" pg crash --db "$T_PG_DB" --wait 1500ms --json >"$out" 2>/dev/null
rc=$?
t_check crash_not_back_exit_1 "exit $rc: $(tail -1 "$out")" [ "$rc" -eq 1 ]
t_check crash_not_back_says_fail "$(tail -1 "$out")" grep -q '"event":"FAIL".*not accepting' "$out"
sleep 0.5
for _ in 1 2 3 4 5 6 7 8 9 10; do $RESTART >/dev/null 2>&1 && break; sleep 0.5; done
t_psql "SELECT 1" >/dev/null || { t_fail setup "cannot restart the server"; exit 1; }

# --- a postmaster.pid naming an unrelated, younger process is refused ---
fake="$T_TMP/fakedata"
mkdir -p "$fake"
t_bg other sleep 60
sed "1s/.*/$other/" "$T_PG_DATA/postmaster.pid" >"$fake/postmaster.pid"
"$TUG" pg crash --db "$T_PG_DB" --pgdata "$fake" --json >"$T_TMP/fake.out" 2>&1
rc=$?
t_check stale_postmaster_pid_refused "exit $rc: $(cat "$T_TMP/fake.out")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'reused pid' '$T_TMP/fake.out'"
t_check stale_postmaster_pid_unrelated_alive "pid $other was killed" kill -0 "$other"
t_check stale_server_untouched "the server stopped" q "SELECT 1"

# --- who may choose the pid: a data directory (or a role's data_directory
#     setting) naming a process that is not its postmaster is refused ---
chown postgres "$fake"
sed "1s/.*/$elder_root/" "$T_PG_DATA/postmaster.pid" >"$fake/postmaster.pid"
"$TUG" pg crash --db "$T_PG_DB" --pgdata "$fake" --json >"$T_TMP/fake.out" 2>&1
rc=$?
t_check postmaster_of_another_user_refused "exit $rc: $(cat "$T_TMP/fake.out")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'runs as uid 0' '$T_TMP/fake.out' && kill -0 $elder_root"
sed "1s/.*/$elder_pg/" "$T_PG_DATA/postmaster.pid" >"$fake/postmaster.pid"
"$TUG" pg crash --db "$T_PG_DB" --pgdata "$fake" --json >"$T_TMP/fake.out" 2>&1
rc=$?
t_check postmaster_not_postgres_refused "exit $rc: $(cat "$T_TMP/fake.out")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'is not a postgres' '$T_TMP/fake.out' && kill -0 $elder_pg"
# The real postmaster, named by another directory's postmaster.pid: a
# postgres of the right owner, but working elsewhere.
pm=$(head -1 "$T_PG_DATA/postmaster.pid")
sed "1s/.*/$pm/" "$T_PG_DATA/postmaster.pid" >"$fake/postmaster.pid"
"$TUG" pg crash --db "$T_PG_DB" --pgdata "$fake" --json >"$T_TMP/fake.out" 2>&1
rc=$?
t_check postmaster_of_another_directory_refused "exit $rc: $(cat "$T_TMP/fake.out")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'not in the data directory' '$T_TMP/fake.out' && kill -0 $pm"
t_check postmaster_checks_server_untouched "the server stopped" q "SELECT 1"

# --- a role's search_path cannot shadow the settings tug reads: an
#     unqualified current_setting() would have named the fake directory ---
sed "1s/.*/$elder_pg/" "$T_PG_DATA/postmaster.pid" >"$fake/postmaster.pid"
t_psql "CREATE SCHEMA shadow; CREATE FUNCTION shadow.current_setting(text) RETURNS text
        LANGUAGE sql AS \$\$ SELECT '$fake'::text \$\$" >/dev/null
shadowed="$T_PG_DB options='-csearch_path=shadow,pg_catalog'"
t_check shadow_setup "the shadowing function is not in effect" \
	bash -c "[ \"\$(psql \"$shadowed\" -XAtqc \"SELECT current_setting('data_directory')\")\" = '$fake' ]"
"$TUG" pg crash --db "$shadowed" --restart-cmd "$RESTART" --wait 60s --json >"$T_TMP/shadow.out" 2>&1
rc=$?
t_check pg_settings_not_shadowed "exit $rc: $(grep -E 'target|error' "$T_TMP/shadow.out")" \
	bash -c "[ $rc -eq 0 ] && grep -q '\"event\":\"target\".*\"pgdata\":\"$T_PG_DATA\"' '$T_TMP/shadow.out' && kill -0 $elder_pg"
exit 0
