#!/usr/bin/env bash
# The seven experiments of MISSION.md end to end against the lab, with short
# windows: the suite (examples/federation-runit/suite.yaml) passes, every result
# lands in the lab's PostgreSQL and the report directory; a broken variant
# (the gateway's supervisor told not to restart it: `sv once`) fails the
# kill experiment for the right reason; after `tug lab down` nothing of the
# lab remains.
. "$(dirname "$0")/../lib.sh"

for c in /usr/sbin/sshd runsv prometheus prometheus-blackbox-exporter psql pg_dump; do
	command -v "$c" >/dev/null || { t_skip federation "$c is missing (scripts/install-deps)"; exit 0; }
done
if [ -f /run/tug/lab ] && [ -e /run/netns/tuglab-db ]; then
	t_skip federation "a lab from $(cat /run/tug/lab) is up (one lab per machine)"
	exit 0
fi

export TUG_LAB_DIR="$T_TMP/lab" TUG_LAB_KIND=runit	# the systemd lab: lab_systemd.sh and make demo
chmod 711 "$T_TMP"	# the lab's postgres user must reach its data directory
t_at_exit "'$TUG' lab down >/dev/null 2>&1"
L=$TUG_LAB_DIR
EX=$TUG_TOP/examples/federation-runit
R=$T_TMP/reports
DB="host=10.200.0.10 dbname=tug user=tug passfile=$L/pgpass"


"$TUG" lab up >"$T_TMP/up" 2>&1 || { t_fail federation_lab_up "$(cat "$T_TMP/up")"; exit 1; }

# --- the suite, short windows, two approvers, results in the lab's PostgreSQL ---
t0=$(now_ms)
"$TUG" run "$EX/suite.yaml" --var lab="$L" --var tug="$TUG" --var window=5s \
	--approve alice --approve bob --operator ci --db "$DB" --report "$R/suite" >"$T_TMP/suite.out" 2>&1
rc=$?
echo "  suite took $(($(now_ms) - t0)) ms"
sed -n '/^== summary/,$p' "$T_TMP/suite.out" | sed 's/^/  /'
t_check federation_suite_passes "rc=$rc: $(grep -E 'FAIL|error' "$T_TMP/suite.out" | head -5)" [ "$rc" -eq 0 ]
t_check federation_every_experiment_passes "$(cat "$R/suite/suite.json" 2>/dev/null | head -c 600)" /usr/bin/python3 -c "
import json
s = json.load(open('$R/suite/suite.json'))
rows = s['experiments']
assert len(rows) == 7, len(rows)
bad = [(r['title'], r['verdict'], r.get('reason')) for r in rows if r['verdict'] != 'pass']
assert not bad, bad
assert [r['risk'] for r in rows] == ['low', 'medium', 'medium', 'medium', 'medium', 'low', 'high']
assert rows[4]['oom_kills'] >= 1, rows[4]
assert rows[6]['rows_verified'] >= 1000, rows[6]
assert rows[5]['faults_held'] == 6, rows[5]
assert all(r.get('time_to_recover_ms') is not None for r in rows), rows
"
t_check federation_summary_table "$(tail -15 "$T_TMP/suite.out")" \
	bash -c "grep -q 'experiment.*verdict.*detect.*recover.*faults.*OOM.*rows' '$T_TMP/suite.out' && grep -q 'index.html' '$T_TMP/suite.out'"
t_check federation_report_files "$(ls "$R/suite" 2>&1)" \
	bash -c "[ -s '$R/suite/index.html' ] && [ -s '$R/suite/junit.xml' ] && [ \$(ls '$R'/suite/*/report.html | wc -l) -eq 7 ]"
rows=$(PGPASSFILE=$L/pgpass psql -h 10.200.0.10 -U tug -d tug -XAtc \
	"select count(*) || ':' || count(distinct suite_id) || ':' || string_agg(verdict, ',' order by suite_position) || ':' || coalesce(sum(oom_kills), 0) from tug_runs where suite_id is not null" 2>&1)
t_check federation_results_in_postgres "tug_runs: $rows" grep -qE '^7:1:pass,pass,pass,pass,pass,pass,pass:[1-9]' <<<"$rows"
appr=$(PGPASSFILE=$L/pgpass psql -h 10.200.0.10 -U tug -d tug -XAtc \
	"select array_to_string(approvers, '+') from tug_runs where suite_position = 7" 2>&1)
t_check federation_approvers_recorded "approvers: $appr" [ "$appr" = "alice+bob" ]

# --- refused: high risk with one approver, before anything is touched ---
"$TUG" run "$EX/suite.yaml" --var lab="$L" --var tug="$TUG" --approve alice --report "$R/refused" >"$T_TMP/refused.out" 2>&1
rc=$?
t_check federation_suite_refused_without_council "rc=$rc: $(cat "$T_TMP/refused.out")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'high risk and needs 2 distinct approvers' '$T_TMP/refused.out' && [ ! -e '$R/refused' ]"

# The same as a dry run: each plan, the one experiment a real run would
# refuse named under its plan, exit 1, nothing run.
"$TUG" run "$EX/suite.yaml" --var lab="$L" --var tug="$TUG" --approve alice --dry-run >"$T_TMP/refused-dry.out" 2>&1
rc=$?
t_check federation_suite_dry_run_names_refusal "rc=$rc: $(grep -E '^\[|policy' "$T_TMP/refused-dry.out")" \
	bash -c "[ $rc -eq 1 ] && [ \$(grep -c '^dry run: nothing was touched' '$T_TMP/refused-dry.out') -eq 7 ] &&
		[ \$(grep -c '^policy: a real run would be refused: it is high risk' '$T_TMP/refused-dry.out') -eq 1 ] &&
		grep -A1 '^dry run' '$T_TMP/refused-dry.out' | grep -B1 '^policy' | grep -q '^dry run' &&
		[ \$(grep -n '^policy' '$T_TMP/refused-dry.out' | cut -d: -f1) -gt \$(grep -n '^\[7/7\]' '$T_TMP/refused-dry.out' | cut -d: -f1) ]"

# --- broken: the supervisor will not restart the gateway -> experiment 1 fails ---
sv once "$L/sv/gateway"
"$TUG" run "$EX/1-kill-gateway.yaml" --var lab="$L" --var tug="$TUG" --var bound=3s \
	--report "$R/broken" >"$T_TMP/broken.out" 2>&1
rc=$?
/usr/bin/python3 -c "import json; r = json.load(open('$R/broken/report.json')); print(r['verdict'], '|', r['reason'])" >"$T_TMP/broken.reason" 2>&1
t_note_expected_failure "broken supervisor" "$(cat "$T_TMP/broken.reason")"
t_check federation_broken_supervisor_fails "rc=$rc: $(cat "$T_TMP/broken.reason")" \
	bash -c "[ $rc -eq 1 ] && grep -q '^fail |.*proc kill.*no new process within the bound' '$T_TMP/broken.reason'"
up=""
for _ in $(seq 100); do
	curl -fsS -m1 http://10.200.0.11:8000/health >/dev/null 2>&1 && { up=1; break; }
	sleep 0.1
done
t_check federation_broken_rollback_restores "gateway not healthy after the rollback (sv up)" [ -n "$up" ]

# --- down: nothing of the lab remains ---
all_pids=$(cat /sys/fs/cgroup/memory/tuglab/*/cgroup.procs 2>/dev/null | tr '\n' ' ')
"$TUG" lab down >/dev/null 2>&1
left=$(t_lab_leftovers $all_pids)
t_check federation_lab_down_leaves_nothing "left: $left" [ -z "$left" ]
