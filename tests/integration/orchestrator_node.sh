#!/usr/bin/env bash
# tug run and the node family: a real OpenSSH sshd in namespace N
# (10.200.71.130, port 2222), the orchestrator in C (10.200.71.129).
#
# node isolate runs for real on N, over SSH: everything but the
# orchestrator's SSH is cut, the orchestrator's channel (heartbeats, new
# sessions) lives, and a SIGKILLed orchestrator's silence ends it.
#
# node reboot is played: sshd runs in a mount namespace of its own where a
# file of the test covers /proc/sys/kernel/random/boot_id, and the node's
# tug is a stand-in that answers 'node reboot' as tug does (its JSON, with
# the boot id), then, detached, kills that sshd (by pid), writes a new boot
# id, starts sshd again and, a moment later, marks the "unit" active. The
# real reboot is the systemd lab's. The same sshd restarted under a run
# shows steps and probes reconnect, the host key checked each time.
. "$(dirname "$0")/../lib.sh"

for c in /usr/sbin/sshd ssh-keygen nsenter unshare; do
	command -v "$c" >/dev/null || { t_skip orchestrator_reboot "$c is missing"; exit 0; }
done

C=$(t_netns c) && N=$(t_netns n) || { t_fail setup "cannot create namespaces"; exit 1; }
t_veth "$C" vc "$N" vn || { t_fail setup "cannot create veth"; exit 1; }
ip -n "$C" addr add 10.200.71.129/26 dev vc
ip -n "$N" addr add 10.200.71.130/26 dev vn
NODE=10.200.71.130 PORT=2222
W=$T_TMP/w
mkdir -p "$W" "$TUG_RUN_DIR" && chmod 755 "$T_TMP" "$W"

ssh-keygen -q -t ed25519 -N '' -f "$W/host_key" && ssh-keygen -q -t ed25519 -N '' -f "$W/client_key" ||
	{ t_fail setup "ssh-keygen"; exit 1; }
cp "$W/client_key.pub" "$W/authorized_keys"
echo "[$NODE]:$PORT $(cut -d' ' -f1,2 "$W/host_key.pub")" >"$W/known_hosts"
t_sshd_config "$W" "$NODE" "$PORT"
echo "SetEnv TUG_RUN_DIR=$TUG_RUN_DIR TUG_STATE_DIR=$TUG_STATE_DIR" >>"$W/sshd_config"
: >"$W/bashrc"
cat /proc/sys/kernel/random/boot_id >"$W/boot_id"
OLD_ID=$(cat "$W/boot_id")
# sshd in N, in its own mount namespace: the boot id file covers the
# kernel's, an empty file covers ~/.bashrc (a developer's shell init there
# can stall every SSH command).
cat >"$W/start-sshd" <<EOF
#!/bin/sh
exec nsenter --net=/run/netns/$N unshare --mount --propagation private sh -c '
	mount --bind $W/boot_id /proc/sys/kernel/random/boot_id || exit 1
	[ -f "\$HOME/.bashrc" ] && mount --bind $W/bashrc "\$HOME/.bashrc"
	exec /usr/sbin/sshd -D -f $W/sshd_config -E $W/sshd.log'
EOF
# Kill the sshd of this test (its pidfile) and its sessions, by pid.
cat >"$W/stop-sshd" <<EOF
#!/bin/sh
m=\$(cat $W/sshd.pid 2>/dev/null) || exit 0
kill \$(pgrep -P "\$m") "\$m" 2>/dev/null
while kill -0 "\$m" 2>/dev/null; do sleep 0.02; done
rm -f $W/sshd.pid
EOF
# The "reboot": SSH down for $W/down seconds, a new boot id unless
# $W/same-boot exists, the unit active $W/unit-delay seconds after sshd.
cat >"$W/reboot" <<EOF
#!/bin/sh
sleep 0.5
rm -f $W/unit-active
$W/stop-sshd
echo "\$(date +%s%3N) down" >>$W/reboot.log
[ -e $W/same-boot ] || cat /proc/sys/kernel/random/uuid >$W/boot_id
sleep \$(cat $W/down)
$W/start-sshd </dev/null >/dev/null 2>&1 &
echo "\$(date +%s%3N) sshd" >>$W/reboot.log
sleep \$(cat $W/unit-delay)
touch $W/unit-active
EOF
# The node's tug: node reboot as tug answers it (its event, the boot id the
# node sees), the rest to the real one.
cat >"$W/tug" <<EOF
#!/bin/sh
if [ "\$1 \$2" = "node reboot" ]; then
	printf '{"event":"rebooting","action":"node reboot","ts_ms":%s,"boot_id":"%s","in_ms":500}\n' \
		"\$(date +%s%3N)" "\$(cat /proc/sys/kernel/random/boot_id)"
	setsid $W/reboot </dev/null >/dev/null 2>&1 &
	exit 0
fi
exec $TUG "\$@"
EOF
chmod +x "$W/start-sshd" "$W/stop-sshd" "$W/reboot" "$W/tug"
t_at_exit "$W/stop-sshd"
"$W/start-sshd" </dev/null >/dev/null 2>&1 &
T_PIDS+=($!)
touch "$W/unit-active"
echo 1.5 >"$W/down"
echo 0.5 >"$W/unit-delay"

in_c() { ip netns exec "$C" "$@"; }
ssh_up() { in_c bash -c "exec 3<>/dev/tcp/$NODE/$PORT" 2>/dev/null; }
for _ in $(seq 100); do ssh_up && break; sleep 0.1; done
ssh_up || { t_fail setup "sshd did not come up: $(cat "$W/sshd.log")"; exit 1; }

node_yaml() {
	cat <<EOF
nodes:
  - name: n
    host: $NODE
    port: $PORT
    user: root
    key: $W/client_key
    known-hosts: $W/known_hosts
    tug: $W/tug
  - { name: here, host: local }
EOF
}
cat >"$W/reboot.yaml" <<EOF
title: Reboot the node; SSH and the unit come back
risk: \${risk}
variables: { risk: high, within: 10s }
$(node_yaml)
steady-state:
  - { name: unit active, type: cmd, node: n, run: "test -e $W/unit-active" }
method:
  - { name: reboot n, fault: node reboot, node: n, oneshot: true }
recovery:
  within: \${within}
  probes:
    - { name: unit active, type: cmd, node: n, run: "test -e $W/unit-active", interval: 100ms, timeout: 2s }
rollbacks:
  - { name: boot id after, action: "cat /proc/sys/kernel/random/boot_id >$W/rollback-boot-id", node: n }
EOF
run_tug() {	# OUT ARGS...: tug run in C; stdout+stderr to OUT, rc returned
	local out=$1
	shift
	in_c "$TUG" run --report "$T_TMP/report-$(basename "$out")" "$@" >"$out" 2>&1
}
field() {	# REPORT PYTHON-EXPR on r (the report)
	/usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null
}

# --- the policy: a node reboot is high risk ---
run_tug "$W/out-medium" "$W/reboot.yaml" --var risk=medium --approve alice
rc=$?
t_check reboot_needs_high_risk "rc=$rc: $(head -3 "$W/out-medium")" \
	bash -c "[ $rc -eq 2 ] && grep -q \"step 'reboot n': 'node reboot' takes a whole node away; the experiment must be 'risk: high'\" '$W/out-medium'"
run_tug "$W/out-oneapprover" "$W/reboot.yaml" --approve alice
rc=$?
t_check reboot_needs_two_approvers "rc=$rc: $(head -3 "$W/out-oneapprover")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'high risk and needs 2 distinct approvers' '$W/out-oneapprover'"
plan=$("$TUG" run --dry-run "$TUG_TOP/examples/node-reboot.yaml" --approve alice --approve bob 2>&1)
rc=$?
plans() { [ "$1" -eq 0 ] && grep -q "^dry run: nothing was touched" <<<"$2" && ! grep -q "would be refused" <<<"$2"; }
t_check example_node_reboot_plans "rc=$rc: $plan" plans "$rc" "$plan"
t_check example_node_reboot_is_one_shot "$plan" \
	grep -q 'one-shot: /usr/local/sbin/tug node reboot --in 2s --json' <<<"$plan"
t_check refused_runs_touch_nothing "reboot.log: $(cat "$W/reboot.log" 2>/dev/null)" test ! -e "$W/reboot.log"

# --- a reboot: the boot ids, the time until SSH answered, the unit after it ---
run_tug "$W/out-reboot" "$W/reboot.yaml" --approve alice --approve bob
rc=$?
rep=$T_TMP/report-out-reboot/report.json
old=$(field "$rep" "r['faults'][0]['reboot']['old_boot_id']")
new=$(field "$rep" "r['faults'][0]['reboot']['new_boot_id']")
to_ssh=$(field "$rep" "r['faults'][0]['reboot']['to_ssh_ms']")
ttr=$(field "$rep" "r['time_to_recover_ms']")
echo "  reboot: SSH answered ${to_ssh:-?} ms after the reboot (down 1.5 s), unit active ${ttr:-?} ms after it (0.5 s later); boot id $old -> $new"
t_check reboot_pass "rc=$rc: $(tail -8 "$W/out-reboot")" bash -c "[ $rc -eq 0 ] && grep -q PASS '$W/out-reboot'"
t_check reboot_records_boot_ids "old=$old new=$new (expected $OLD_ID -> $(cat "$W/boot_id"))" \
	bash -c "[ '$old' = '$OLD_ID' ] && [ '$new' = '$(cat "$W/boot_id")' ] && [ '$new' != '$old' ]"
t_check reboot_time_to_ssh "to_ssh_ms=$to_ssh" bash -c "[ -n '$to_ssh' ] && [ '$to_ssh' -ge 1400 ] && [ '$to_ssh' -lt 5000 ]"
# The unit is active 1.5 s + 0.5 s after the reboot at the earliest.
t_check reboot_recovery_after_ssh_and_unit "time_to_recover_ms=$ttr, to_ssh_ms=$to_ssh" \
	bash -c "[ -n '$ttr' ] && [ '$ttr' -ge 2000 ] && [ '$ttr' -ge '$to_ssh' ] && [ '$ttr' -lt 8000 ]"
t_check reboot_in_html_report "$(grep -o '[^>]*new_boot_id[^<]*' "$T_TMP/report-out-reboot/report.html")" \
	grep -q "new_boot_id&quot;:&quot;$new&quot;" "$T_TMP/report-out-reboot/report.html"
t_check reboot_rollback_reconnects "rollback read: $(cat "$W/rollback-boot-id" 2>/dev/null)" \
	bash -c "[ \"\$(cat '$W/rollback-boot-id')\" = '$new' ]"
for _ in $(seq 50); do [ -e "$W/unit-active" ] && ssh_up && break; sleep 0.1; done

# --- a "reboot" that keeps its boot id: FAIL, the node did not reboot ---
touch "$W/same-boot"
ID=$(cat "$W/boot_id")
t0=$(now_ms)
run_tug "$W/out-same" "$W/reboot.yaml" --var within=4s --approve alice --approve bob
rc=$?
el=$(($(now_ms) - t0))
rep=$T_TMP/report-out-same/report.json
echo "  same boot id: tug run ended after $el ms (bound 4 s): $(grep -o 'the node did not reboot[^"]*' "$W/out-same" | head -1)"
t_check same_boot_id_is_fail "rc=$rc: $(grep -E 'FAIL|reboot' "$W/out-same" | head -5)" \
	bash -c "[ $rc -eq 1 ] && grep -q 'the node did not reboot: n still has boot id $ID' '$W/out-same'"
t_check same_boot_id_in_report "$(field "$rep" "r['faults'][0].get('reboot')")" \
	[ "$(field "$rep" "r['faults'][0]['reboot']['rebooted']")" = False ]
t_check same_boot_id_bounded "ended after $el ms" bash -c "[ $el -lt 9000 ]"
rm -f "$W/same-boot"
for _ in $(seq 50); do [ -e "$W/unit-active" ] && ssh_up && break; sleep 0.1; done

# --- sshd restarted (by pid) between a step and what follows: the next
# step on the node and the recovery probe reconnect, host key verified ---
cat >"$W/bounce.yaml" <<EOF
title: sshd restarts under the orchestrator
risk: low
$(node_yaml)
method:
  - { name: bounce sshd, action: "$W/stop-sshd; (sleep 1; $W/start-sshd) </dev/null >/dev/null 2>&1 &", node: here }
  - { name: on n again, action: "cat /proc/sys/kernel/random/boot_id", node: n, timeout: 10s }
recovery:
  within: 10s
  probes:
    - { name: n answers, type: cmd, node: n, run: "true", interval: 100ms, timeout: 2s }
EOF
run_tug "$W/out-bounce" "$W/bounce.yaml"
rc=$?
rep=$T_TMP/report-out-bounce/report.json
# From the end of the bounce to the end of the next step: the reconnect.
took=$(field "$rep" "[e['ts_ms'] for e in r['events'] if e.get('action') == 'on n again'][0] - [e['ts_ms'] for e in r['events'] if e.get('action') == 'bounce sshd'][0]")
okstep=$(field "$rep" "[e for e in r['events'] if e.get('action') == 'on n again'][0]['ok']")
echo "  sshd restarted (down 1 s): the next step on n reconnected and ran, ${took:-?} ms with the reconnect"
t_check bounce_pass "rc=$rc: $(tail -6 "$W/out-bounce")" bash -c "[ $rc -eq 0 ]"
t_check bounce_step_reconnects "ok=$okstep took=$took" bash -c "[ '$okstep' = True ] && [ -n '$took' ] && [ '$took' -ge 900 ] && [ '$took' -lt 5000 ]"

# --- a changed host key on the reconnect is refused, not retried ---
ssh-keygen -q -t ed25519 -N '' -f "$W/other_host_key"
cat >"$W/swap-key" <<EOF
#!/bin/sh
$W/stop-sshd
cp $W/other_host_key $W/host_key
($W/start-sshd </dev/null >/dev/null 2>&1 &)
EOF
chmod +x "$W/swap-key"
cp "$W/host_key" "$W/host_key.orig"
cat >"$W/swap.yaml" <<EOF
title: sshd restarts with another host key
risk: low
$(node_yaml)
method:
  - { name: swap the host key, action: "$W/swap-key", node: here }
  - { name: on n again, action: "true", node: n, timeout: 10s }
EOF
t0=$(now_ms)
run_tug "$W/out-swap" "$W/swap.yaml"
rc=$?
el=$(($(now_ms) - t0))
echo "  host key changed across the restart: tug run ended after $el ms (step timeout 10 s): $(grep -o 'the host key of [^;]*' "$W/out-swap" | head -1)"
t_check reconnect_checks_host_key "rc=$rc after $el ms: $(grep -E 'FAIL' "$W/out-swap" | head -3)" \
	bash -c "[ $rc -eq 1 ] && grep -q \"on n again on n: n: the host key of $NODE port $PORT (SHA256:[^)]*) is NOT the one in\" '$W/out-swap' && [ $el -lt 8000 ]"

# The host key as known_hosts has it, again.
"$W/stop-sshd"
cp "$W/host_key.orig" "$W/host_key"
"$W/start-sshd" </dev/null >/dev/null 2>&1 &
T_PIDS+=($!)

# --- node isolate over SSH: the node is cut off, the orchestrator is not ---
for _ in $(seq 50); do ssh_up && break; sleep 0.1; done
cat >"$W/isolate.yaml" <<EOF
title: Isolate the node; the orchestrator keeps its channel
risk: high
variables: { window: 3s }
$(node_yaml)
method:
  - { name: isolate n, fault: node isolate, node: n, for: "\${window}", heartbeat: 1s,
      args: { keep: "10.200.71.190:80,[fd00:200::71:9]:22" } }
expect-during:
  - { name: n cut off, type: cmd, node: here, run: "ping -c1 -W0.3 $NODE", must: fail, within: 1s, interval: 100ms }
  - { name: ssh kept, type: cmd, node: n, run: "true", must: pass, interval: 250ms, timeout: 2s }
recovery:
  within: 2s
  probes:
    - { name: n reachable, type: cmd, node: here, run: "ping -c1 -W0.3 $NODE", interval: 100ms }
EOF
run_tug "$W/out-isolate" "$W/isolate.yaml" --approve alice --approve bob
rc=$?
rep=$T_TMP/report-out-isolate/report.json
cnt=$(field "$rep" "' '.join('%s=%s' % kv for kv in sorted(r['faults'][0]['counters'].items()))")
ttd=$(field "$rep" "r.get('time_to_detect_ms')")
ttr=$(field "$rep" "r.get('time_to_recover_ms')")
echo "  isolate over SSH: $cnt; cut seen ${ttd:-?} ms after applied, reachable ${ttr:-?} ms after the revert"
t_check isolate_over_ssh_pass "rc=$rc: $(grep -E 'FAIL|during|isolate' "$W/out-isolate" | head -8)" \
	bash -c "[ $rc -eq 0 ] && grep -q PASS '$W/out-isolate'"
keep=$(field "$rep" "r['faults'][0]['node_events'][0]['params']['keep']")
echo "  kept: $keep"
t_check isolate_keeps_session_and_args "keep: $keep" \
	grep -qF "['10.200.71.190/32 port 80', 'fd00:200::71:9/128 port 22', '10.200.71.129/32 port $PORT']" <<<"$keep"
t_check isolate_kept_the_session "counters: $cnt" \
	bash -c "[[ '$cnt' =~ dropped_in=[1-9] ]] && [[ '$cnt' =~ kept_in=[1-9] ]] && [[ '$cnt' =~ kept_out=[1-9] ]]"

# The orchestrator killed (its session closes) or frozen (its heartbeat,
# 1 s, stops coming through the kept channel) mid-isolate: the node ends the
# fault long before its 30 s.
for sig in KILL STOP; do
	out=$W/out-isolate-$sig
	ip netns exec "$C" "$TUG" run --var window=30s --approve alice --approve bob \
		--report "$T_TMP/report-$sig" "$W/isolate.yaml" >"$out" 2>&1 &
	rpid=$!
	T_PIDS+=($rpid)
	healed=-1 cut=""
	if wait_for "$out" 'applied' 10000; then
		sleep 0.3
		cut=$(in_c ping -c1 -W0.3 "$NODE" >/dev/null 2>&1 && echo no || echo yes)
		t0=$(now_ms)
		kill "-$sig" "$rpid"
		while [ $(($(now_ms) - t0)) -lt 10000 ]; do
			in_c ping -c1 -W0.1 "$NODE" >/dev/null 2>&1 && { healed=$(($(now_ms) - t0)); break; }
		done
	fi
	kill -9 "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	echo "  orchestrator SIG$sig mid-isolate (cut: ${cut:-?}): the node answers again ${healed} ms later (heartbeat 1s, --for 30s)"
	lo=0
	[ $sig = STOP ] && lo=500
	t_check "isolate_orchestrator_${sig,,}_node_reverts" "cut=${cut:-?} healed=$healed" \
		bash -c "[ '$cut' = yes ] && [ $healed -ge $lo ] && [ $healed -lt 2500 ]"
done
for _ in $(seq 100); do [ -z "$(ls "$TUG_RUN_DIR/faults" 2>/dev/null)" ] && break; sleep 0.05; done
t_check isolate_journal_clean "journal: $(ls "$TUG_RUN_DIR/faults" 2>/dev/null)" \
	bash -c "[ -z \"\$(ls '$TUG_RUN_DIR/faults' 2>/dev/null)\" ]"
