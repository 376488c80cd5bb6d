#!/usr/bin/env bash
# tug lab, systemd nodes: every node is a machine with systemd as PID 1, tug
# installed in it from the package make deb built, reached over its sshd with
# a pinned host key; Debian's units run; a resource fault inside a node
# writes the node's own cgroup subtree and nothing above it; tug lab exec
# runs commands there; experiment 7 reports, as a fact, whether Debian's
# postgresql@.service as shipped brings a crashed server back (it does not:
# FAIL with that reason), and passes with the lab's restart drop-in; down
# leaves nothing.
. "$(dirname "$0")/../lib.sh"

for c in systemd-nspawn debootstrap dpkg-deb; do
	command -v "$c" >/dev/null || { t_fail lab_systemd "$c is missing (scripts/install-deps)"; exit 1; }
done
if [ -f /run/tug/lab ] && [ -e /run/netns/tuglab-db ]; then
	t_fail lab_systemd "a lab from $(cat /run/tug/lab) is up (one lab per machine)"
	exit 1
fi
DEB=$(ls -t "$(dirname "$TUG")"/tug_*.deb 2>/dev/null | head -1)
[ -n "$DEB" ] || { t_fail lab_systemd "no package beside $TUG: make deb"; exit 1; }
export TUG_LAB_DIR="$T_TMP/lab" TUG_LAB_KIND=systemd
chmod 711 "$T_TMP"
L=$TUG_LAB_DIR
t_at_exit "'$TUG' lab down"
ex() { "$TUG" lab exec "$@"; }

# Experiment 7 first runs against the unit as Debian ships it.
t0=$(now_ms)
TUG_LAB_PG_RESTART=no "$TUG" lab up >"$T_TMP/up" 2>&1
rc=$?
echo "  lab up took $(($(now_ms) - t0)) ms ($(grep -c 'root built' "$T_TMP/up") root builds)"
t_check lab_systemd_up "exit $rc: $(tail -5 "$T_TMP/up")" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || exit 1
t_check lab_systemd_up_says_where "$(cat "$T_TMP/up")" \
	grep -q 'llm-gateway http://10.200.0.11:8000/health' "$T_TMP/up"

# --- the machines ---
for n in db gw mon wk; do
	pid1=$(ex "$n" -- cat /proc/1/comm 2>&1)
	state=$(ex "$n" -- systemctl is-system-running 2>&1)
	host=$(ex "$n" -- hostname 2>&1)
	echo "  $n: PID 1 $pid1, system $state, hostname $host"
	t_check "lab_systemd_${n}_pid1_systemd" "PID 1 is '$pid1'" [ "$pid1" = systemd ]
	t_check "lab_systemd_${n}_running" "is-system-running: $state; failed: $(ex "$n" -- systemctl --failed --no-legend 2>&1)" \
		[ "$state" = running ]
done
out=$("$TUG" lab status 2>&1)
t_check lab_systemd_status_all_active "$out" \
	bash -c "[ \$(grep -o ':active' <<<'$out' | wc -l) -eq 10 ] && ! grep -qE ':(inactive|failed|activating)' <<<'$out'"

# --- SSH: the pinned host key, and only it ---
ssh_opts=(-i "$L/ssh/id_ed25519" -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=3)
out=$(ssh "${ssh_opts[@]}" -o UserKnownHostsFile="$L/ssh/known_hosts" root@10.200.0.13 'echo $TUG_LAB_NODE; cat /proc/1/comm' 2>&1)
t_check lab_systemd_ssh_verified_host_key "ssh: $out" [ "$(echo $out)" = "wk systemd" ]
: >"$T_TMP/empty_known_hosts"
t_check lab_systemd_ssh_unknown_key_refused "ssh accepted an unknown host key" \
	bash -c "! ssh ${ssh_opts[*]} -o UserKnownHostsFile='$T_TMP/empty_known_hosts' root@10.200.0.13 true 2>/dev/null"
keys=$(for n in db gw mon wk; do ex "$n" -- cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f2; done | sort -u | wc -l)
t_check lab_systemd_host_keys_per_node "$keys distinct host keys for 4 nodes" [ "$keys" -eq 4 ]

# --- tug in the nodes: the package, installed by dpkg ---
want=$(dpkg-deb -f "$DEB" Version)
for n in db wk; do
	got=$(ex "$n" -- dpkg-query -W -f='${Version} ${Status}' tug 2>&1)
	t_check "lab_systemd_${n}_tug_from_package" "dpkg says '$got', package $want" [ "$got" = "$want install ok installed" ]
done
v_host=$("$TUG" --version | head -1)
v_node=$(ex gw -- tug --version | head -1)
echo "  host: $v_host; gw: $v_node"
t_check lab_systemd_tug_same_build "host '$v_host', node '$v_node'" [ "$v_host" = "$v_node" ]

# --- tug lab exec: arguments as given, the command's exit status ---
out=$(ex gw -- sh -c 'printf "%s|" "$@"' sh 'a b' "c'd" 2>&1)
t_check lab_systemd_exec_args "got '$out'" [ "$out" = "a b|c'd|" ]
ex gw -- sh -c 'exit 7'
rc=$?
t_check lab_systemd_exec_status "exit $rc, want 7" [ "$rc" -eq 7 ]
"$TUG" lab exec nosuch -- true >"$T_TMP/bad" 2>&1
rc=$?
t_check lab_systemd_exec_bad_node "exit $rc: $(cat "$T_TMP/bad")" \
	bash -c "[ $rc -eq 2 ] && grep -q \"no node 'nosuch'\" '$T_TMP/bad'"
"$TUG" lab exec gw >"$T_TMP/bad" 2>&1
rc=$?
t_check lab_systemd_exec_no_command "exit $rc: $(cat "$T_TMP/bad")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'give the command after --' '$T_TMP/bad'"

# --- the runbook's calendar as timers of a node's systemd ---
ex gw -- sh -c 'umask 077; cat >/root/kill.yaml' <"$TUG_TOP/examples/federation/1-kill-gateway.yaml"
for preset in weekly monthly quarterly; do
	ex gw -- tug schedule install /root/kill.yaml --$preset --name "lab-$preset" >"$T_TMP/sched" 2>&1
	rc=$?
	cal=$(ex gw -- sh -c "sed -n 's/^OnCalendar=//p' /etc/systemd/system/tug-lab-$preset.timer")
	next=$(ex gw -- systemd-analyze calendar "$cal" 2>&1 | sed -n 's/^ *Next elapse: //p')
	active=$(ex gw -- systemctl is-active "tug-lab-$preset.timer")
	echo "  --$preset: OnCalendar=$cal, next elapse $next, timer $active"
	case $preset in
	weekly) want='^Sun [0-9-]+ 03:00:00' ;;
	monthly) want='^Sun [0-9]{4}-[0-9]{2}-0[1-7] 03:00:00' ;;
	quarterly) want='^Sun [0-9]{4}-(01|04|07|10)-0[1-7] 03:00:00' ;;
	esac
	t_check "lab_systemd_schedule_$preset" "exit $rc ($(cat "$T_TMP/sched")), OnCalendar=$cal, next '$next', timer $active" \
		bash -c "[ $rc -eq 0 ] && [ '$active' = active ] && grep -qE '$want' <<<'$next'"
done
for preset in weekly monthly quarterly; do ex gw -- tug schedule remove "lab-$preset" >/dev/null 2>&1; done
left=$(ex gw -- sh -c 'ls /etc/systemd/system | grep -c "^tug-lab-"')
t_check lab_systemd_schedule_removed "$left unit files left" [ "$left" -eq 0 ]

# --- a resource fault inside a node: its own subtree, nothing above ---
host_cg=/sys/fs/cgroup/memory/tuglab/wk/system.slice/it-triad.service
[ -d /sys/fs/cgroup/memory/tuglab ] || host_cg=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)/tuglab/wk/system.slice/it-triad.service
knob=memory.limit_in_bytes
[ -f "$host_cg/$knob" ] || knob=memory.max
before=$(cat "$host_cg/$knob" 2>&1)
ex wk -- tug mem limit --cgroup system.slice/it-triad.service --max 64M --for 3s >"$T_TMP/mem.out" 2>&1 &
mem=$!
sleep 1.5
during=$(cat "$host_cg/$knob" 2>&1)
wait "$mem"
rc=$?
after=$(cat "$host_cg/$knob" 2>&1)
echo "  it-triad.service $knob seen from the host: $before -> $during -> $after"
t_check lab_systemd_mem_limit_inside_node "exit $rc, $before -> $during -> $after: $(tail -2 "$T_TMP/mem.out")" \
	bash -c "[ $rc -eq 0 ] && [ '$during' = $((64 << 20)) ] && [ '$after' = '$before' ]"
inside=$(ex wk -- ls /sys/fs/cgroup/memory 2>&1)
t_check lab_systemd_cgroup_root_is_node "the node sees: $(head -c 300 <<<"$inside")" \
	bash -c "grep -qx system.slice <<<'$inside' && ! grep -qx tuglab <<<'$inside'"

# --- experiment 7 against Debian's unit as shipped, then with the drop-in ---
R=$T_TMP/reports
mkdir -p "$R"
run7() {	# report-dir
	(cd "$T_TMP" && "$TUG" run "$TUG_TOP/examples/federation/7-pg-crash.yaml" --var lab="$L" --var bound=10s \
		--approve alice --approve bob --report "$1" --json >"$1.out" 2>&1)
}
shipped=$(ex db -- systemctl show -p Restart --value postgresql@15-main.service)
run7 "$R/shipped"
rc=$?
result() { grep '"event":"result"' "$1.out" >"$1.result"; cat "$1.result"; }
t_note_expected_failure "as shipped (Restart=$shipped)" "exit $rc, $(result "$R/shipped" | grep -o '"reason":"[^"]*"')"
t_check lab_systemd_pg_unit_as_shipped_fails "Restart=$shipped, exit $rc: $(cat "$R/shipped.result")" \
	bash -c "[ '$shipped' = no ] && [ $rc -ne 0 ] && grep -q '\"verdict\":\"fail\"' '$R/shipped.result' &&
		grep -q 'postgresql@15-main.service is failed .*systemd did not restart it' '$R/shipped.result'"
# The experiment's rollback started the server again (systemctl start).
t_check lab_systemd_pg_rollback_brought_it_back "$(ex db -- systemctl is-active postgresql@15-main.service)" \
	bash -c "[ \"\$('$TUG' lab exec db -- systemctl is-active postgresql@15-main.service)\" = active ]"
ex db -- sh -c 'mkdir -p /etc/systemd/system/postgresql@.service.d &&
	printf "[Service]\nRestart=on-failure\nRestartSec=1s\n" >/etc/systemd/system/postgresql@.service.d/restart.conf &&
	systemctl daemon-reload'
run7 "$R/dropin"
rc=$?
echo "  with the drop-in: exit $rc, $(result "$R/dropin" | grep -oE '"(verdict|time_to_recover_ms)":[^,]*' | xargs)"
t_check lab_systemd_pg_with_dropin_passes "exit $rc: $(cat "$R/dropin.result")" \
	bash -c "[ $rc -eq 0 ] && grep -q '\"verdict\":\"pass\"' '$R/dropin.result'"

# --- down: nothing of the lab remains ---
all_pids=$(find /sys/fs/cgroup/memory/tuglab -name cgroup.procs -exec cat {} + 2>/dev/null | tr '\n' ' ')
"$TUG" lab down >/dev/null 2>&1
left=$(t_lab_leftovers $all_pids)
t_check lab_systemd_down_leaves_nothing "left: $left" [ -z "$left" ]
