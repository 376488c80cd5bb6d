#!/usr/bin/env bash
# tug run against real parts: an OpenSSH sshd in a namespace (node N,
# 10.200.61.2, port 2222, its own ed25519 host key, a generated client key
# and known_hosts), a real HTTP service on N supervised by a restart loop, a
# private PostgreSQL for the results, and the orchestrator in namespace C
# (10.200.61.1). Nothing outside these namespaces and loopback is touched.
. "$(dirname "$0")/../lib.sh"

for c in /usr/sbin/sshd ssh-keygen nsenter /usr/bin/python3; do
	command -v "$c" >/dev/null || { t_skip orchestrator "$c is missing"; exit 0; }
done

C=$(t_netns c) && N=$(t_netns n) || { t_fail setup "cannot create namespaces"; exit 1; }
t_veth "$C" vc "$N" vn || { t_fail setup "cannot create veth"; exit 1; }
ip -n "$C" addr add 10.200.61.1/24 dev vc
ip -n "$N" addr add 10.200.61.2/24 dev vn
NODE=10.200.61.2 PORT=2222 SVC=8080
W=$T_TMP/w
mkdir -p "$W" "$TUG_RUN_DIR" && chmod 755 "$T_TMP" "$W"

# --- sshd on N with its own host key; a client key; known_hosts ---
ssh-keygen -q -t ed25519 -N '' -f "$W/host_key" && ssh-keygen -q -t ed25519 -N '' -f "$W/client_key" &&
	ssh-keygen -q -t ed25519 -N '' -f "$W/other_host_key" &&
	ssh-keygen -q -t rsa -b 2048 -N '' -f "$W/other_rsa_key" || { t_fail setup "ssh-keygen"; exit 1; }
cp "$W/client_key.pub" "$W/authorized_keys"
echo "[$NODE]:$PORT $(cut -d' ' -f1,2 "$W/host_key.pub")" >"$W/known_hosts"
echo "[$NODE]:$PORT $(cut -d' ' -f1,2 "$W/other_host_key.pub")" >"$W/known_hosts_changed"
# The host known by an RSA key; the server offers its ed25519 key.
echo "[$NODE]:$PORT $(cut -d' ' -f1,2 "$W/other_rsa_key.pub")" >"$W/known_hosts_rsa"
: >"$W/known_hosts_empty"
t_sshd_config "$W" "$NODE" "$PORT"
echo "SetEnv TUG_RUN_DIR=$TUG_RUN_DIR TUG_STATE_DIR=$TUG_STATE_DIR ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}" >>"$W/sshd_config"
# The node's root shell starts neutral: in sshd's own mount namespace an
# empty file covers ~/.bashrc (a developer's pyenv init there can stall
# every SSH command for a minute). Nothing outside that namespace changes.
: >"$W/bashrc"
t_bg sshd_pid nsenter --net=/run/netns/"$N" unshare --mount --propagation private \
	sh -c '[ -f "$HOME/.bashrc" ] && mount --bind "$1" "$HOME/.bashrc"; shift; exec "$@"' sh "$W/bashrc" \
	/usr/sbin/sshd -D -f "$W/sshd_config" -E "$W/sshd.log"

# --- the HTTP service on N, restarted by a loop unless $W/norestart exists ---
cat >"$W/svc.py" <<'PY'
import http.server, os, sys
addr, port, pidfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"status": "ok"}\n'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer.allow_reuse_address = True
srv = http.server.ThreadingHTTPServer((addr, port), H)
with open(pidfile + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(pidfile + ".tmp", pidfile)
srv.serve_forever()
PY
cat >"$W/supervise" <<EOF
#!/bin/bash
# restart the service after \$(cat $W/delay) seconds, unless $W/norestart exists
while :; do
	while [ -e $W/norestart ]; do sleep 0.05; done
	/usr/bin/python3 $W/svc.py $NODE $SVC $W/svc.pid
	sleep "\$(cat $W/delay)"
done
EOF
chmod +x "$W/supervise"
echo 0.5 >"$W/delay"
t_bg sup_pid nsenter --net=/run/netns/"$N" "$W/supervise" >"$W/svc.log" 2>&1

in_c() { ip netns exec "$C" "$@"; }
http_up() { in_c /usr/bin/python3 - "$1" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen("http://10.200.61.2:8080/", timeout=float(sys.argv[1]))
except Exception:
    sys.exit(1)
PY
}
ready=0
for _ in $(seq 100); do
	if in_c bash -c "exec 3<>/dev/tcp/$NODE/$PORT" 2>/dev/null && http_up 0.5; then ready=1; break; fi
	sleep 0.1
done
[ "$ready" -eq 1 ] || { t_fail setup "sshd or the service did not come up: $(cat "$W/sshd.log")"; exit 1; }

# --- PostgreSQL for the results (tests/lib.sh's helper when present) ---
pg_ok=0
if declare -F t_pg_start >/dev/null; then
	t_pg_start 20 && pg_ok=1
else
	T_PG_BIN=/usr/lib/postgresql/15/bin
	if [ -x "$T_PG_BIN/initdb" ] && id postgres >/dev/null 2>&1; then
		T_PG_DIR=$(mktemp -d /tmp/tug-pg.XXXXXX)
		chown postgres: "$T_PG_DIR"
		t_at_exit "runuser -u postgres -- $T_PG_BIN/pg_ctl -D $T_PG_DIR/data -m immediate stop; rm -rf $T_PG_DIR"
		runuser -u postgres -- "$T_PG_BIN/initdb" -D "$T_PG_DIR/data" --auth=trust -U postgres --no-sync >/dev/null 2>&1 &&
			printf "listen_addresses = ''\nunix_socket_directories = '%s'\nport = 54361\n" "$T_PG_DIR" >>"$T_PG_DIR/data/postgresql.conf" &&
			runuser -u postgres -- "$T_PG_BIN/pg_ctl" -D "$T_PG_DIR/data" -l "$T_PG_DIR/log" -w start >/dev/null &&
			T_PG_DB="host=$T_PG_DIR port=54361 user=postgres dbname=postgres" && pg_ok=1
	fi
fi
psql_q() { psql "$T_PG_DB" -XAtqc "$1"; }

# --- experiment files ---
node_yaml() {	# the node list, known_hosts file as $1
	cat <<EOF
nodes:
  - name: n
    host: $NODE
    port: $PORT
    user: root
    key: $W/client_key
    known-hosts: $1
    tug: \${tug}
  - { name: here, host: local }
EOF
}

cat >"$W/kill.yaml" <<EOF
title: Kill the service; its supervisor restarts it
risk: low
variables:
  tug: tug
  bound: 5s
  down_every: 50ms
  down_port: "$SVC"
$(node_yaml "$W/known_hosts")
preconditions:
  - { name: no fault live, type: cmd, node: n, run: "\${tug} status | grep -q 'no live faults'" }
steady-state:
  - { name: health, type: http, url: "http://$NODE:$SVC/", json-field: status, expect: ok, max-latency: 1s }
method:
  - name: kill the service
    fault: proc kill
    node: n
    args: { pidfile: $W/svc.pid, wait-restart: "\${bound}" }
    oneshot: true
expect-during:
  - { name: down, type: tcp, host: $NODE, port: "\${down_port}", must: fail, within: 2s, interval: "\${down_every}" }
recovery:
  within: \${bound}
  probes:
    - { name: health, type: http, url: "http://$NODE:$SVC/", status: 200, timeout: 500ms }
post-checks:
  - { name: pid changed, type: cmd, node: n, run: "test \"\$\$(cat $W/svc.pid)\" != \"\$\$(cat $W/old.pid)\"" }
rollbacks:
  - { name: supervisor on, action: "rm -f $W/norestart; echo \$\$(date +%s%3N) >> $W/rolled", node: n }
EOF

run_tug() {	# OUT ARGS...: tug run in C; stdout+stderr to OUT, rc returned
	local out=$1
	shift
	in_c "$TUG" run --var tug="$TUG" --report "$T_TMP/report-$(basename "$out")" "$@" >"$out" 2>&1
}

# 1. kill: back within the bound -> PASS
cp "$W/svc.pid" "$W/old.pid"
run_tug "$W/out-kill" "$W/kill.yaml" --db "${T_PG_DB:-}" --approve nobody-needed
rc=$?
ttr=$(sed -n 's/.*"time_to_recover_ms": *\([0-9]*\).*/\1/p' "$T_TMP/report-out-kill/report.json")
echo "  kill: restarted service healthy ${ttr:-?} ms after the kill (supervisor waits 500 ms)"
t_check kill_pass_within_bound "rc=$rc: $(cat "$W/out-kill")" \
	bash -c "[ $rc -eq 0 ] && grep -q 'PASS' '$W/out-kill'"
t_check kill_ttr_measured "time_to_recover_ms=$ttr" \
	bash -c "[ -n '$ttr' ] && [ '$ttr' -ge 400 ] && [ '$ttr' -lt 3000 ]"
t_check kill_expect_during_saw_failure "$(grep -E 'during' "$W/out-kill" | head -3)" \
	grep -q 'during.*down: confirmed' "$W/out-kill"
t_check kill_expected_failure_not_called_fail "$(grep -E 'FAIL' "$W/out-kill" | head -3)" \
	bash -c "! grep -q 'FAIL' '$W/out-kill'"
outage=$(sed -n 's/.*"outage_ms": *\([0-9]*\).*/\1/p' "$T_TMP/report-out-kill/report.json" | head -1)
t_check kill_outage_from_node_events "outage_ms=$outage, time_to_recover_ms=$ttr" \
	bash -c "[ -n '$outage' ] && [ '$outage' -ge 400 ] && [ '$outage' = '$ttr' ]"

# 1b. an outage shorter than the probe's interval: the probe cannot see it,
# the node's events do; said as such, not a failure and not a silent pass.
cp "$W/svc.pid" "$W/old.pid"
run_tug "$W/out-kill-slow" "$W/kill.yaml" --var down_every=3s
rc=$?
t_check kill_short_outage_seen_by_node "rc=$rc: $(grep -E 'during|PASS|FAIL' "$W/out-kill-slow" | head -5)" \
	bash -c "[ $rc -eq 0 ] && grep -qE \"'down': outage [0-9]+ ms, shorter than the 3000 ms probe interval: seen from the node's events\" '$W/out-kill-slow'"
t_check kill_short_outage_in_report "$(grep -A2 '"during_notes"' "$T_TMP/report-out-kill-slow/report.json")" \
	/usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not any('shorter than the 3000 ms probe interval' in n for n in r.get('during_notes', [])))" "$T_TMP/report-out-kill-slow/report.json"
t_check kill_short_outage_no_detect_time "time to detect should be unknown" \
	bash -c "[ -s '$T_TMP/report-out-kill-slow/report.json' ] && ! grep -q '\"time_to_detect_ms\": *[0-9]' '$T_TMP/report-out-kill-slow/report.json'"

# 1c. long enough to be seen, yet the probe never failed (it watches a port
# that stays up): monitoring missed it, a real FAIL, with the node's outage.
cp "$W/svc.pid" "$W/old.pid"
run_tug "$W/out-kill-missed" "$W/kill.yaml" --var down_port=$PORT
rc=$?
# The service's side, should a kill find nothing to signal.
svc_state() { echo "svc.pid $(cat "$W/svc.pid") ($(stat -c %y "$W/svc.pid")): $(ps -o pid=,lstart=,args= -p "$(cat "$W/svc.pid")" || echo gone); svc.log: $(tail -3 "$W/svc.log")"; }
t_check kill_missed_outage_fails "rc=$rc: $(grep -E "FAIL|during|proc kill" "$W/out-kill-missed" | head -12); $(svc_state)" \
	bash -c "[ $rc -eq 1 ] && grep -qE \"never failed within 2s, although the node's events show an outage of [0-9]+ ms\" '$W/out-kill-missed'"
for _ in $(seq 50); do http_up 0.2 && break; sleep 0.1; done

# 2. kill with the supervisor off: not back within the bound -> FAIL, rollback runs
touch "$W/norestart"
rm -f "$W/rolled"
cp "$W/svc.pid" "$W/old.pid"
run_tug "$W/out-killfail" "$W/kill.yaml" --var bound=1500ms --db "${T_PG_DB:-}"
rc=$?
t_check kill_fail_when_not_back "rc=$rc: $(grep -E "method|proc kill|during" "$W/out-killfail"); $(svc_state)" \
	bash -c "[ $rc -eq 1 ] && grep -q \"FAIL.*proc kill' on n: FAIL: no new process within the bound\" '$W/out-killfail'"
t_check rollback_runs_after_failure "rolled: $(cat "$W/rolled" 2>/dev/null)" test -s "$W/rolled"
for _ in $(seq 50); do http_up 0.2 && break; sleep 0.1; done
t_check rollback_restored_service "service still down after the rollback" http_up 1

# 3. partition of the service port from C: expect-during sees it, recovery in bound
cat >"$W/partition.yaml" <<EOF
title: Partition the service from the orchestrator
risk: medium
variables: { tug: tug, window: 2s, heartbeat: 1s }
$(node_yaml "$W/known_hosts")
steady-state:
  - { name: health, type: http, url: "http://$NODE:$SVC/", status: 200 }
method:
  - name: cut
    fault: net partition
    node: n
    args: { peer: 10.200.61.1, port: $SVC }
    for: \${window}
    heartbeat: \${heartbeat}
expect-during:
  - { name: health, type: http, url: "http://$NODE:$SVC/", timeout: 300ms, must: fail, within: 1s }
  - { name: ssh still up, type: tcp, host: $NODE, port: $PORT, must: pass, interval: 250ms }
recovery:
  within: 1s
  probes:
    - { name: health, type: http, url: "http://$NODE:$SVC/", timeout: 300ms }
rollbacks:
  - { action: "true", node: n }
EOF
run_tug "$W/out-part" "$W/partition.yaml" --approve alice --db "${T_PG_DB:-}"
rc=$?
rep=$T_TMP/report-out-part/report.json
ttd=$(sed -n 's/.*"time_to_detect_ms": *\([0-9]*\).*/\1/p' "$rep")
ttr=$(sed -n 's/.*"time_to_recover_ms": *\([0-9]*\).*/\1/p' "$rep")
echo "  partition: detected ${ttd:-?} ms after the node applied it, recovered ${ttr:-?} ms after it reverted"
t_check partition_pass "rc=$rc: $(tail -6 "$W/out-part")" bash -c "[ $rc -eq 0 ]"
t_check partition_detect_within_bound "ttd=$ttd" bash -c "[ -n '$ttd' ] && [ '$ttd' -lt 1000 ]"
t_check partition_recover_within_bound "ttr=$ttr" bash -c "[ -n '$ttr' ] && [ '$ttr' -lt 1000 ]"
t_check partition_reverted_at_deadline "$(grep -oE '"reason": *"[^"]*"' "$rep" | head -2)" \
	grep -qE '"reason": *"deadline"' "$rep"

# 4. the orchestrator killed mid-fault: the node reverts within the heartbeat
faults_live() { [ -n "$(ls "$TUG_RUN_DIR/faults" 2>/dev/null)" ]; }
measure_revert() {	# SIGNAL: ms from the signal until the node reverted (journal empty)
	local sig=$1 out=$W/out-dead-$1 t0 t1 pid
	ip netns exec "$C" "$TUG" run --var tug="$TUG" --var window=30s --var heartbeat=1s --approve alice \
		--report "$T_TMP/report-dead-$sig" "$W/partition.yaml" >"$out" 2>&1 &
	pid=$!
	T_PIDS+=($pid)
	wait_for "$out" 'applied' 10000 || { cat "$out" >&2; echo -1; return; }
	sleep 0.5
	{ faults_live && ! http_up 0.3; } || { echo -2; return; }	# the fault holds
	t0=$(now_ms)
	kill "-$sig" "$pid"
	while faults_live && [ $(($(now_ms) - t0)) -lt 10000 ]; do sleep 0.01; done
	t1=$(now_ms)
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	http_up 1 && echo $((t1 - t0)) || echo -3
}
killed=$(measure_revert KILL)
echo "  orchestrator SIGKILLed mid-fault: the node reverted ${killed} ms later (heartbeat 1s)"
t_check orchestrator_sigkill_node_reverts "revert after $killed ms (heartbeat 1s)" \
	bash -c "[ '$killed' -ge 0 ] && [ '$killed' -lt 1000 ]"
stopped=$(measure_revert STOP)
echo "  orchestrator frozen (SIGSTOP) mid-fault: heartbeat lost, the node reverted ${stopped} ms later"
t_check orchestrator_silent_node_reverts_within_heartbeat "revert after $stopped ms (heartbeat 1s)" \
	bash -c "[ '$stopped' -ge 500 ] && [ '$stopped' -lt 1600 ]"
sleep 0.3
t_check node_journal_clean_after_kill "journal: $(ls "$TUG_RUN_DIR/faults" 2>/dev/null)" \
	bash -c "[ -z \"\$(ls '$TUG_RUN_DIR/faults' 2>/dev/null)\" ]"

# 4b. the node goes silent mid-fault (its tug stopped, the SSH session up):
# the step fails within heartbeat + grace (2 s), not when TCP gives up, and
# the rollbacks run
sed "s|  - { action: \"true\", node: n }|  - { action: \"touch $W/rolled-silent\", node: here }|" \
	"$W/partition.yaml" >"$W/silent.yaml"
out=$W/out-silent
ip netns exec "$C" "$TUG" run --var tug="$TUG" --var window=30s --var heartbeat=1s --approve alice \
	--report "$T_TMP/report-silent" "$W/silent.yaml" >"$out" 2>&1 &
rpid=$!
T_PIDS+=($rpid)
silent_ms=-1 owner=""
if wait_for "$out" 'applied' 10000; then
	owner=$(sed -n 's/.*"owner_pid":\([0-9]*\).*/\1/p' "$TUG_RUN_DIR"/faults/*.json | head -1)
	t_at_exit "kill -CONT $owner"
	kill -STOP "$owner"
	t0=$(now_ms)
	while kill -0 "$rpid" 2>/dev/null && [ $(($(now_ms) - t0)) -lt 20000 ]; do sleep 0.02; done
	silent_ms=$(($(now_ms) - t0))
fi
wait "$rpid"
rc=$?
echo "  node silent (its tug stopped): tug run ended ${silent_ms} ms later (heartbeat 1s + 2s grace, then recovery 1s)"
t_check silent_node_fails_step "rc=$rc after $silent_ms ms: $(grep -E 'silent|FAIL' "$out" | head -3)" \
	bash -c "[ $rc -eq 1 ] && grep -q 'went silent' '$out' && [ $silent_ms -ge 3000 ] && [ $silent_ms -lt 6000 ]"
t_check silent_node_rollbacks_run "no rollback mark" test -e "$W/rolled-silent"
[ -n "$owner" ] && kill -CONT "$owner"
for _ in $(seq 300); do faults_live || break; sleep 0.01; done
t_check silent_node_reverts_when_continued "journal: $(ls "$TUG_RUN_DIR/faults" 2>/dev/null)" bash -c "! ls '$TUG_RUN_DIR'/faults/*.json >/dev/null 2>&1"

# 4c. a sys fail step's common options go before '--', not to the command
cat >"$W/sysfail.yaml" <<EOF
title: sys fail order
risk: low
nodes: [{ name: here, host: local }]
method:
  - name: fail writes
    fault: sys fail
    node: here
    args: [--syscall, write, --errno, EIO, --, /bin/sh, -c, "echo hi"]
    for: 2s
EOF
"$TUG" run "$W/sysfail.yaml" --dry-run >"$W/out-sysfail" 2>&1
t_check fault_cmd_common_options_before_dashdash "$(cat "$W/out-sysfail")" \
	grep -q "sys fail --syscall write --errno EIO --for 2s --heartbeat 2s --json -- /bin/sh -c 'echo hi'" "$W/out-sysfail"

# 5. host keys: a changed key and an unknown key are refused, nothing touched
sed "s|known-hosts: $W/known_hosts|known-hosts: $W/known_hosts_changed|" "$W/kill.yaml" >"$W/kill-changed.yaml"
cp "$W/svc.pid" "$W/before.pid"
run_tug "$W/out-changed" "$W/kill-changed.yaml"
rc=$?
t_check changed_host_key_refused "rc=$rc: $(cat "$W/out-changed")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'NOT the one in' '$W/out-changed' && grep -q 'nothing was touched' '$W/out-changed'"
t_check changed_host_key_touched_nothing "service pid changed" cmp -s "$W/svc.pid" "$W/before.pid"
sed "s|known-hosts: $W/known_hosts|known-hosts: $W/known_hosts_empty|" "$W/kill.yaml" >"$W/kill-unknown.yaml"
run_tug "$W/out-unknown" "$W/kill-unknown.yaml"
rc=$?
t_check unknown_host_key_refused "rc=$rc: $(cat "$W/out-unknown")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'unknown host key' '$W/out-unknown' && grep -q 'accept-new-host-keys' '$W/out-unknown'"
t_check unknown_host_key_file_unchanged "known_hosts written" bash -c "[ ! -s '$W/known_hosts_empty' ]"
cat >"$W/touch.yaml" <<EOF
title: Touch a file on the node
risk: low
variables: { tug: tug }
$(node_yaml "$W/kh")
method:
  - { action: "touch $W/touched-kh", node: n }
EOF
# A key of another type for a known host is a man in the middle, not a new host.
cp "$W/known_hosts_rsa" "$W/kh"
run_tug "$W/out-kh-type" "$W/touch.yaml" --accept-new-host-keys
rc=$?
t_check other_key_type_refused_despite_accept_new "rc=$rc: $(cat "$W/out-kh-type")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'holds a key of another type' '$W/out-kh-type' &&
		 cmp -s '$W/kh' '$W/known_hosts_rsa' && [ ! -e '$W/touched-kh' ]"
# known_hosts named by the experiment is a symlink: never written through.
rm -f "$W/kh"
: >"$W/kh-target"
ln -s "$W/kh-target" "$W/kh"
run_tug "$W/out-kh-link" "$W/touch.yaml" --accept-new-host-keys
rc=$?
t_check known_hosts_symlink_not_written "rc=$rc: $(cat "$W/out-kh-link")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'not a regular file' '$W/out-kh-link' && [ ! -s '$W/kh-target' ] &&
		 [ -L '$W/kh' ] && [ ! -e '$W/touched-kh' ]"
# A host known_hosts does not name at all: added, and the run goes on.
rm -f "$W/kh"
run_tug "$W/out-kh-new" "$W/touch.yaml" --accept-new-host-keys
rc=$?
hostkey=$(cut -d' ' -f2 "$W/host_key.pub")
t_check unknown_host_key_accepted_when_asked "rc=$rc: $(cat "$W/out-kh-new"); kh: $(cat "$W/kh" 2>/dev/null)" \
	bash -c "[ $rc -eq 0 ] && grep -qF '[$NODE]:$PORT ssh-ed25519 $hostkey' '$W/kh' && [ -e '$W/touched-kh' ]"

# 6. policy: medium and high without approvals are refused before anything
cat >"$W/high.yaml" <<EOF
title: High risk marker
risk: high
variables: { tug: tug }
$(node_yaml "$W/known_hosts")
method:
  - { action: "touch $W/touched-high", node: n }
rollbacks:
  - { action: "touch $W/touched-high-rb", node: n }
EOF
sed 's/^risk: high/risk: medium/; s/touched-high/touched-medium/g' "$W/high.yaml" >"$W/medium.yaml"
run_tug "$W/out-med" "$W/medium.yaml"
rc=$?
t_check medium_without_approval_refused "rc=$rc: $(cat "$W/out-med")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'medium risk and needs 1 distinct approver' '$W/out-med'"
run_tug "$W/out-high1" "$W/high.yaml" --approve alice --approve alice
rc=$?
t_check high_needs_two_distinct "rc=$rc: $(cat "$W/out-high1")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'high risk and needs 2 distinct approvers.*1 given' '$W/out-high1'"
t_check refused_touched_nothing "a refused run touched the node or wrote its report directory" \
	bash -c "[ ! -e '$W/touched-high' ] && [ ! -e '$W/touched-high-rb' ] && [ ! -e '$W/touched-medium' ] && [ ! -e '$T_TMP/report-out-high1' ]"
run_tug "$W/out-dry" "$W/high.yaml" --dry-run
rc=$?
t_check dry_run_plans_and_touches_nothing "rc=$rc: $(cat "$W/out-dry")" \
	bash -c "[ $rc -eq 1 ] && grep -q 'touch $W/touched-high' '$W/out-dry' && grep -q 'would be refused' '$W/out-dry' && [ ! -e '$W/touched-high' ]"
run_tug "$W/out-dry-ok" "$W/high.yaml" --dry-run --approve alice --approve bob
rc=$?
t_check dry_run_runnable_exits_0 "rc=$rc: $(cat "$W/out-dry-ok")" \
	bash -c "[ $rc -eq 0 ] && grep -q 'touch $W/touched-high' '$W/out-dry-ok' && ! grep -q 'would be refused' '$W/out-dry-ok' && [ ! -e '$W/touched-high' ]"
printf 'title: broken\nrisk: [\n' >"$W/broken.yaml"
run_tug "$W/out-dry-bad" "$W/broken.yaml" --dry-run
rc=$?
t_check dry_run_malformed_exits_2 "rc=$rc: $(cat "$W/out-dry-bad")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'broken.yaml:' '$W/out-dry-bad'"
# Approvals a schedule recorded hold until a time: past it, they count no
# more and a high-risk run is refused before anything is touched.
run_tug "$W/out-expired" "$W/high.yaml" --approve alice --approve bob --approvals-expire 1000000000
rc=$?
t_check expired_approvals_refused "rc=$rc: $(cat "$W/out-expired")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'approvals of alice, bob .* held until 2001-09-0[89]' '$W/out-expired' && grep -q 'needs 2 distinct approvers.*0 given' '$W/out-expired' && [ ! -e '$W/touched-high' ]"
run_tug "$W/out-high2" "$W/high.yaml" --approve alice --approve bob --db "${T_PG_DB:-}"
rc=$?
t_check high_with_two_approvers_runs "rc=$rc: $(tail -3 "$W/out-high2")" \
	bash -c "[ $rc -eq 0 ] && [ -e '$W/touched-high' ] && [ -e '$W/touched-high-rb' ]"

# 6b. an interrupt mid-method still runs the rollbacks
cat >"$W/int.yaml" <<EOF
title: Interrupted
risk: low
nodes: [{ name: here, host: local }]
method:
  - { pause: 20s }
rollbacks:
  - { action: "touch $W/int-rolled", node: here }
EOF
"$TUG" run --report "$T_TMP/report-int" "$W/int.yaml" >"$W/out-int" 2>&1 &
ipid=$!
T_PIDS+=($ipid)
wait_for "$W/out-int" '== method' 5000
kill -INT "$ipid"
wait "$ipid"
rc=$?
t_check rollback_runs_after_interrupt "rc=$rc: $(cat "$W/out-int")" \
	bash -c "[ $rc -eq 1 ] && [ -e '$W/int-rolled' ] && grep -q interrupted '$W/out-int'"

# 6c. an sql probe against the results database (libpq, no password)
if [ "$pg_ok" -eq 1 ]; then
	cat >"$W/sql.yaml" <<EOF
title: SQL probe
risk: low
nodes: [{ name: here, host: local }]
preconditions:
  - { name: runs logged, type: sql, conninfo: "$T_PG_DB", query: "select count(*) from tug_runs", expect: ">= 3" }
method:
  - { pause: 10ms }
post-checks:
  - { name: wrong on purpose, type: sql, conninfo: "$T_PG_DB", query: "select 'a'", expect: "b" }
EOF
	"$TUG" run --report "$T_TMP/report-sql" "$W/sql.yaml" >"$W/out-sql" 2>&1
	rc=$?
	t_check sql_probe "rc=$rc: $(cat "$W/out-sql")" \
		bash -c "[ $rc -eq 1 ] && grep -q 'runs logged: ok (value [0-9]' '$W/out-sql' && grep -q 'value a, expected b' '$W/out-sql'"
fi

# 7. results: PostgreSQL rows and the report directory
if [ "$pg_ok" -eq 1 ]; then
	t_check results_runs_in_postgres "runs: $(psql_q 'select title, verdict from tug_runs' 2>&1)" \
		bash -c "[ \"\$(psql \"$T_PG_DB\" -XAtqc \"select count(*) from tug_runs\")\" -eq 4 ]"
	t_check results_one_row_per_experiment "$(psql_q 'select title, runs from tug_experiments' 2>&1)" \
		bash -c "[ \"\$(psql \"$T_PG_DB\" -XAtqc \"select string_agg(runs::text, ',' order by title) from tug_experiments\")\" = '1,2,1' ]"
	t_check results_verdicts_and_approvers "$(psql_q "select verdict, approvers, time_to_recover_ms from tug_runs order by started_at" 2>&1)" \
		bash -c "[ \"\$(psql \"$T_PG_DB\" -XAtqc \"select string_agg(verdict || ':' || array_to_string(approvers, '+'), ' ' order by started_at) from tug_runs\")\" = 'pass:nobody-needed fail: pass:alice pass:alice+bob' ]"
	t_check results_phases_and_operator "$(psql_q "select count(*), min(operator) from tug_phases join tug_runs on run_id = id" 2>&1)" \
		bash -c "[ \"\$(psql \"$T_PG_DB\" -XAtqc \"select count(*) > 10 and bool_and(operator <> '') from tug_phases join tug_runs on run_id = id\")\" = t ]"
else
	t_skip results_in_postgres "no PostgreSQL server binaries or postgres user"
fi
rep=$T_TMP/report-out-part
t_check report_files "$(ls "$rep")" bash -c "[ -s '$rep/report.json' ] && [ -s '$rep/junit.xml' ] && [ -s '$rep/report.html' ]"
t_check report_json_and_junit_parse "" /usr/bin/python3 -c "
import json, sys, xml.etree.ElementTree as ET
r = json.load(open('$rep/report.json'))
assert r['verdict'] == 'pass' and r['faults'][0]['applied_ms'] > 0
assert any(e.get('probe') == 'health' and not e['ok'] for e in r['events'])
t = ET.parse('$T_TMP/report-out-killfail/junit.xml').getroot()
s = t.find('testsuite')
assert int(s.get('failures')) >= 1, s.attrib
"
# The HTML in headless Chromium: it loads, renders the verdict and the
# timeline, and logs no console error or failed load.
if command -v chromium >/dev/null; then
	prof=$T_TMP/chromium
	mkdir -p "$prof"
	timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--no-first-run --user-data-dir="$prof" --enable-logging=stderr --v=0 \
		--dump-dom "file://$rep/report.html" >"$W/dom.html" 2>"$W/chromium.log"
	rc=$?
	t_check report_html_in_chromium "rc=$rc; $(grep -E 'CONSOLE|Failed|Uncaught' "$W/chromium.log" | head -3)" \
		bash -c "[ $rc -eq 0 ] && grep -q 'Verdict: PASS' '$W/dom.html' && grep -q '<svg' '$W/dom.html' &&
			grep -q 'class=\"fault\"' '$W/dom.html' && ! grep -qE 'CONSOLE|Uncaught|Failed to load|ERR_' '$W/chromium.log'"
else
	t_skip report_html_in_chromium "chromium is not installed (scripts/install-deps)"
fi
