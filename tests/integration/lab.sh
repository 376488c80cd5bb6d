#!/usr/bin/env bash
# tug lab: up brings a working federation (sshd with verified host keys,
# PostgreSQL, the gateway under runsv, Prometheus seeing both), up again is
# idempotent, and down leaves nothing: no namespace, cgroup, process, mount,
# link or file. Also after an up that was killed half way.
. "$(dirname "$0")/../lib.sh"

export TUG_LAB_DIR="$T_TMP/lab" TUG_LAB_KIND=runit	# the systemd lab: lab_systemd.sh and make demo
chmod 711 "$T_TMP"	# the lab's postgres user must reach its data directory
t_at_exit "'$TUG' lab down"
L=$TUG_LAB_DIR


t0=$(now_ms)
"$TUG" lab up >"$T_TMP/up" 2>&1
rc=$?
up_ms=$(($(now_ms) - t0))
echo "  lab up took $up_ms ms"
t_check lab_up "exit $rc: $(cat "$T_TMP/up")" [ "$rc" -eq 0 ]
t_check lab_up_under_a_minute "took $up_ms ms" [ "$up_ms" -lt 60000 ]
t_check lab_up_says_where "output: $(cat "$T_TMP/up")" grep -q 'gateway http://10.200.0.11:8000/health' "$T_TMP/up"
t_check lab_status "$("$TUG" lab status 2>&1)" "$TUG" lab status

# SSH with strict host-key checking against the lab's known_hosts.
out=$(ssh -i "$L/ssh/id_ed25519" -o UserKnownHostsFile="$L/ssh/known_hosts" -o StrictHostKeyChecking=yes \
	-o BatchMode=yes -o ConnectTimeout=3 root@10.200.0.13 'echo $TUG_LAB_NODE; cat /proc/self/cgroup' 2>&1)
t_check lab_ssh_verified_host_key "ssh: $out" grep -q '^wk$' <<<"$out"
t_check lab_ssh_session_in_node_cgroup "ssh: $out" grep -q 'tuglab/wk' <<<"$out"
: >"$T_TMP/empty_known_hosts"
t_check lab_ssh_unknown_key_refused "ssh accepted an unknown host key" \
	bash -c "! ssh -i '$L/ssh/id_ed25519' -o UserKnownHostsFile='$T_TMP/empty_known_hosts' -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=3 root@10.200.0.13 true 2>/dev/null"

# The database takes marker rows with the generated password file.
out=$(PGPASSFILE="$L/pgpass" psql -h 10.200.0.10 -U gateway -d lab -tAc \
	"INSERT INTO markers (run, note) VALUES ('lab-test', 'x') RETURNING id" 2>&1)
t_check lab_db_marker_rows "psql: $out" grep -qE '^[0-9]+' <<<"$out"
out=$(psql -h 10.200.0.10 -U gateway -d lab -w -tAc 'SELECT 1' 2>&1)
t_check lab_db_needs_password "connected without a password: $out" bash -c "! grep -q '^1$' <<<'$out'"

# Monitoring sees both targets up.
ok=""
for _ in $(seq 50); do
	q=$(curl -s 'http://10.200.0.12:9090/api/v1/query?query=sum(probe_success)')
	grep -q '"2"' <<<"$q" && { ok=1; break; }
	sleep 0.2
done
t_check lab_prometheus_probes_up "prometheus: $q" [ -n "$ok" ]

# runsv restarts the gateway when it dies.
h1=$(curl -s http://10.200.0.11:8000/health)
pid1=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' <<<"$h1")
kill -9 "$pid1"
pid2=""
for _ in $(seq 100); do
	h2=$(curl -s -m1 http://10.200.0.11:8000/health)
	pid2=$(sed -n 's/.*"pid":\([0-9]*\).*/\1/p' <<<"$h2")
	[ -n "$pid2" ] && [ "$pid2" != "$pid1" ] && break
	sleep 0.1
done
t_check lab_gateway_supervised "before $pid1, after ${pid2:-none}" bash -c "[ -n '$pid2' ] && [ '$pid2' != '$pid1' ]"

# Up again: nothing restarted, quick.
runsv_pids=$(cat "$L"/sv/*/runsv.pid | tr '\n' ' ')
t0=$(now_ms)
"$TUG" lab up >/dev/null 2>&1
t_check lab_up_idempotent "runsv pids changed: $runsv_pids vs $(cat "$L"/sv/*/runsv.pid | tr '\n' ' ')" \
	[ "$runsv_pids" = "$(cat "$L"/sv/*/runsv.pid | tr '\n' ' ')" ]
echo "  second lab up took $(($(now_ms) - t0)) ms"

all_pids=$(cat /sys/fs/cgroup/memory/tuglab/*/cgroup.procs 2>/dev/null | tr '\n' ' ')
"$TUG" lab down >/dev/null 2>&1
left=$(t_lab_leftovers $all_pids)
t_check lab_down_leaves_nothing "left: $left" [ -z "$left" ]

# An up killed half way, then down: still nothing left.
"$TUG" lab up >/dev/null 2>&1 &
up=$!
sleep 2
kill -9 "$up" 2>/dev/null
wait "$up" 2>/dev/null
"$TUG" lab down >/dev/null 2>&1
left=$(t_lab_leftovers)
t_check lab_down_after_half_up "left: $left" [ -z "$left" ]
