#!/usr/bin/env bash
# tug runs as root; what others control must not steer it: a report
# directory with planted links, node text meant for a browser or a
# terminal, a password on the command line, shell metacharacters in a
# --var. Each attack is refused (exit 2, nothing written) or made inert.
# Only host: local nodes; nothing outside $T_TMP is touched.
. "$(dirname "$0")/../lib.sh"

W=$T_TMP/w
mkdir -p "$W" "$TUG_RUN_DIR"
echo "precious" >"$W/victim"
cat >"$W/pause.yaml" <<YAML
title: t
risk: low
nodes: [{name: a, host: local}]
method: [{pause: 50ms}]
YAML

# --- report directories: only one no one else can write ---
mkdir -m 1777 "$W/pub"
ln -s "$W/victim" "$W/pub/report.json.tmp"
ln -s "$W/victim" "$W/pub/.report.json.tmp"
"$TUG" run --report "$W/pub" "$W/pause.yaml" >"$W/out" 2>&1
rc=$?
t_check report_world_writable_dir_refused "exit $rc: $(cat "$W/out")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'writable by others' '$W/out' && grep -q 'nothing was run' '$W/out' &&
		 [ \"\$(cat '$W/victim')\" = precious ] && [ ! -e '$W/pub/report.json' ]"
# The same for a suite, whose report directory holds one per experiment.
printf 'title: S\nexperiments:\n  - { file: pause.yaml, risk: low }\n' >"$W/suite.yaml"
"$TUG" run --report "$W/pub" "$W/suite.yaml" >"$W/out" 2>&1
rc=$?
t_check report_suite_world_writable_dir_refused "exit $rc: $(cat "$W/out")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'writable by others' '$W/out' && [ ! -e '$W/pub/suite.json' ] &&
		 [ \"\$(cat '$W/victim')\" = precious ]"
mkdir "$W/theirs"
chown nobody "$W/theirs"
"$TUG" run --report "$W/theirs" "$W/pause.yaml" >"$W/out" 2>&1
rc=$?
t_check report_dir_of_another_user_refused "exit $rc: $(cat "$W/out")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'not yours' '$W/out' && [ -z \"\$(ls -A '$W/theirs')\" ]"
# A new directory of tug's own below another user's (sudo, ~/reports/x): fine.
"$TUG" run --report "$W/theirs/new" "$W/pause.yaml" >"$W/out" 2>&1
rc=$?
t_check report_new_dir_below_another_users_written "exit $rc: $(cat "$W/out")" \
	bash -c "[ $rc -eq 0 ] && [ \"\$(stat -c %u '$W/theirs/new')\" = 0 ] && [ -s '$W/theirs/new/report.json' ]"
# A link planted in a directory on the way is not followed either.
mkdir -m 1777 "$W/tmp"
mkdir "$W/elsewhere"
ln -s "$W/elsewhere" "$W/tmp/r"
chown -h nobody "$W/tmp/r"
"$TUG" run --report "$W/tmp/r/x" "$W/pause.yaml" >"$W/out" 2>&1
rc=$?
t_check report_foreign_symlink_on_the_way_refused "exit $rc: $(cat "$W/out")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'symlink owned by uid' '$W/out' && [ -z \"\$(ls -A '$W/elsewhere')\" ]"
# Our own directory, with links left in it from before: replaced, never
# written through.
mkdir -m 0755 "$W/own"
for n in report.json report.json.tmp .report.json.tmp .report.html.tmp junit.xml; do
	ln -s "$W/victim" "$W/own/$n"
done
"$TUG" run --report "$W/own" "$W/pause.yaml" >"$W/out" 2>&1
rc=$?
t_check report_links_in_own_dir_not_followed "exit $rc: $(cat "$W/out"); $(ls -l "$W/own")" \
	bash -c "[ $rc -eq 0 ] && [ \"\$(cat '$W/victim')\" = precious ] && [ -f '$W/own/report.json' ] &&
		 [ ! -L '$W/own/report.json' ] && [ ! -L '$W/own/junit.xml' ] && grep -q run_id '$W/own/report.json'"

# --- node text: HTML-escaped in the report, no escape sequences on the terminal ---
cat >"$W/faketug" <<'SH'
#!/bin/sh
# A node's tug that says hostile things in its events.
now() { date +%s%3N; }
printf '{"event":"applied","id":"x1","ts_ms":%s,"deadline_ms":%s}\n' "$(now)" "$(($(now) + 300))"
sleep 0.2
printf '{"event":"reverted","id":"x1","ts_ms":%s,"reason":"</title><script>alert(1)</script>\\u001b]0;pwned\\u0007\\u001b[2J"}\n' "$(now)"
SH
chmod +x "$W/faketug"
cat >"$W/fault.yaml" <<YAML
title: t
risk: low
nodes: [{name: a, host: local, tug: "$W/faketug"}]
method: [{fault: net partition, node: a, args: {peer: 10.0.0.1}, for: 1s}]
YAML
"$TUG" run --report "$W/html" "$W/fault.yaml" >"$W/out" 2>&1
rc=$?
t_check node_reason_escaped_in_html "exit $rc: $(grep -o '<title>[^<]*' "$W/html/report.html" 2>/dev/null)" \
	bash -c "! grep -q '<script' '$W/html/report.html' && grep -q '&lt;/title&gt;&lt;script&gt;' '$W/html/report.html'"
t_check node_reason_no_escape_sequences_on_terminal "$(grep reverted "$W/out" | od -c | head -5)" \
	bash -c "grep -q 'reverted (' '$W/out' && ! grep -q \$'\\x1b' '$W/out' && ! grep -q \$'\\x07' '$W/out'"

# --- passwords never on a command line: libpq parses every --db ---
pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
for form in "postgresql://tug:$pw@127.0.0.1/tug" "host=127.0.0.1 dbname=tug password=$pw"; do
	"$TUG" run --db "$form" --report "$W/db" "$W/pause.yaml" >"$W/out" 2>&1
	rc=$?
	t_check "run_db_password_refused_${form%%[:=]*}" "exit $rc: $(cat "$W/out")" \
		bash -c "[ $rc -eq 2 ] && grep -q -- '--db: carries a password' '$W/out' && ! grep -q '$pw' '$W/out' &&
			 [ ! -e '$W/db' ]"
done
"$TUG" run --db "host=127.0.0.1 dbname" --report "$W/db" "$W/pause.yaml" >"$W/out" 2>&1
rc=$?
t_check run_db_unparsable_refused "exit $rc: $(cat "$W/out")" \
	bash -c "[ $rc -eq 2 ] && grep -q -- '--db: not a libpq conninfo' '$W/out' && [ ! -e '$W/db' ]"

# --- --var in a shell command: one quoted word; ${raw:NAME} on purpose only ---
cat >"$W/var.yaml" <<YAML
title: t
risk: low
variables: {msg: hello, cmd: "true"}
nodes: [{name: a, host: local}]
method:
  - {action: 'echo \${msg} >$W/said', node: a}
  - {action: '\${raw:cmd}', node: a}
YAML
"$TUG" run --report "$W/var" --var "msg=x; touch $W/pwned" --var "cmd=touch $W/raw" "$W/var.yaml" >"$W/out" 2>&1
rc=$?
t_check var_metacharacters_stay_data "exit $rc: $(cat "$W/out"); said: $(cat "$W/said" 2>/dev/null)" \
	bash -c "[ $rc -eq 0 ] && [ ! -e '$W/pwned' ] && [ \"\$(cat '$W/said')\" = 'x; touch $W/pwned' ]"
t_check var_raw_form_splices "exit $rc" [ -e "$W/raw" ]

# --- recovery touches cgroups only, whatever a journal entry names ---
# Entries of a dead controller: a knob "restore" into a file that is not a
# cgroup's, and a "hog cgroup" that is a plain directory listing our pid.
mkdir -p "$TUG_RUN_DIR/faults" "$W/notcg/tug-hog-feed0002"
echo 1048576 >"$W/notcg/memory.max"
t_bg bystander sleep 60
echo "$bystander" >"$W/notcg/tug-hog-feed0002/cgroup.procs"
cat >"$TUG_RUN_DIR/faults/feed0001.json" <<JSON
{"id":"feed0001","family":"mem","verb":"limit","owner_pid":999999999,"owner_start":1,"started_ns":1,
 "state":{"cgroup":"$W/notcg","file":"memory.max","hierarchy":"v2","previous":"|/tmp/evil %p","want":"1048576","applied":"1048576"}}
JSON
cat >"$TUG_RUN_DIR/faults/feed0002.json" <<JSON
{"id":"feed0002","family":"mem","verb":"pressure","owner_pid":999999999,"owner_start":1,"started_ns":2,
 "state":{"hog_cgroup":"$W/notcg/tug-hog-feed0002","hierarchy":"v1"}}
JSON
"$TUG" recover >"$W/out" 2>&1
rc=$?
t_check recover_knob_outside_cgroupfs_left_alone "exit $rc: $(cat "$W/out"); file: $(cat "$W/notcg/memory.max")" \
	bash -c "[ \"\$(cat '$W/notcg/memory.max')\" = 1048576 ] && grep -q 'not a cgroup directory' '$W/out'"
t_check recover_hog_outside_cgroupfs_kills_nothing "exit $rc: $(cat "$W/out")" kill -0 "$bystander"
