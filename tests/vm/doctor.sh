#!/usr/bin/env bash
# tug doctor --json against what the machine says about itself: the cgroup
# mode from the mount table, qdiscs from /sys/module and /lib/modules, tcx
# from the kernel version, the LSM list from securityfs, kprobe override and
# error injection from /boot/config-*; sys fail's row agrees with what
# `sys fail --pid` then does; a refused bpf() is reported as refused.
. "$(dirname "$0")/../lib.sh"

D="$T_TMP/doctor.json"
"$TUG" doctor --json >"$D" 2>"$T_TMP/doctor.err"
rc=$?
t_check doctor_json_exit "exit $rc: $(cat "$T_TMP/doctor.err")" [ "$rc" -eq 0 ]
t_check doctor_json_parses "not JSON lines: $(head -3 "$D")" \
	/usr/bin/python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$D"
# q CHECK FIELD: one field of one check ("ok": true/false, "detail": text),
# from the table index_doctor makes of $D once: one Python start per query
# took 40 s of the test under TCG.
index_doctor() {
	/usr/bin/python3 -c '
import json, sys
for l in open(sys.argv[1]):
    if not l.startswith("{"):
        continue	# lines sys fail prints around the command
    o = json.loads(l)
    name = o.get("check", o.get("fault"))
    for k, v in o.items():
        v = str(v).lower() if isinstance(v, bool) else v
        print("%s\t%s\t%s" % (name, k, str(v).replace("\t", " ").replace("\n", " ")))' "$D" >"$D.tsv"
}
index_doctor
q() { awk -F'\t' -v c="$1" -v f="$2" '$1 == c && $2 == f { print $3; exit }' "$D.tsv"; }
# both OK PREFIX CHECK [WORDS]: ... and, when given, WORDS somewhere in it.
both() { [ "$(q "$3" ok)" = "$1" ] && [[ "$(q "$3" detail)" == "$2"* ]] && [[ "$(q "$3" detail)" == *"${4:-}"* ]]; }
has() { [[ "$1" == *"$2"* ]]; }
refused_saying() { [ "$1" -ne 0 ] && has "$2" "$3"; }
cfg=/boot/config-$(uname -r)
kcfg() { grep -q "^$1=[ym]" "$cfg"; }

# --- cgroups: pure v2 when no v1 hierarchy is mounted ---
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && ! awk '$3 == "cgroup"' /proc/mounts | grep -q .; then
	t_check doctor_cgroup_v2_root "cgroup_v2: $(q cgroup_v2 detail)" \
		both true "/sys/fs/cgroup " cgroup_v2
	t_check doctor_no_cgroup_v1 "cgroup_v1: $(q cgroup_v1 ok) $(q cgroup_v1 detail)" [ "$(q cgroup_v1 ok)" = false ]
	t_check doctor_memory_on_v2 "memory_controller: $(q memory_controller detail)" \
		[ "$(q memory_controller detail)" = "v2 /sys/fs/cgroup" ]
	for f in "mem limit" "mem pressure" "cpu throttle" "proc freeze"; do
		t_check "doctor_backend_${f// /_}_v2" "$f: $(q "$f" backend)" [ "$(q "$f" backend)" = cgroup-v2 ]
	done
else
	t_skip doctor_cgroup_v2 "not a pure cgroup v2 machine"
fi

# --- qdiscs: what /sys/module and /lib/modules say, word for word ---
modstate() {
	local m=$1 r
	r=$(uname -r)
	if [ -e "/sys/module/$m/initstate" ]; then echo loaded
	elif [ ! -d "/lib/modules/$r" ]; then echo unknown
	elif grep -q "/$m\.ko" "/lib/modules/$r/modules.builtin" 2>/dev/null; then echo "built in"
	elif grep -q "/$m\.ko" "/lib/modules/$r/modules.dep" 2>/dev/null; then echo "available as module"
	else echo "not in this kernel"; fi
}
for pair in clsact:sch_ingress qdisc_netem:sch_netem qdisc_htb:sch_htb qdisc_tbf:sch_tbf \
	qdisc_fq:sch_fq qdisc_prio:sch_prio; do
	c=${pair%%:*} m=${pair#*:}
	want=$(modstate "$m")
	if [ "$want" = unknown ]; then
		t_skip "doctor_$c" "no /lib/modules/$(uname -r) to tell what the kernel has"
		continue
	fi
	ok=true
	[ "$want" = "not in this kernel" ] && ok=false
	t_check "doctor_${c}_${want// /_}" "$c: $(q "$c" ok) '$(q "$c" detail)', the machine: $m $want" \
		both "$ok" "$m $want" "$c"
done

# --- tcx from the kernel version (6.6 and later) ---
IFS=. read -r maj min _ <<<"$(uname -r)"
if [ "$maj" -gt 6 ] || { [ "$maj" -eq 6 ] && [ "${min%%[!0-9]*}" -ge 6 ]; }; then
	t_check doctor_tcx_yes "tcx: $(q tcx ok) $(q tcx detail)" [ "$(q tcx ok)" = true ]
	t_check doctor_net_backend_tcx "net partition: $(q "net partition" backend)" [ "$(q "net partition" backend)" = tcx ]
else
	t_check doctor_tcx_no "tcx: $(q tcx ok) $(q tcx detail)" \
		both false "not in this kernel" tcx
	t_check doctor_net_backend_clsact "net partition: $(q "net partition" backend)" [ "$(q "net partition" backend)" = clsact ]
fi

# --- rcu_expedited: what tcx attaches expedite, from the file's mode ---
if [ "$(q tcx ok)" = false ]; then
	t_check doctor_rcu_expedited_unused "rcu_expedited: $(q rcu_expedited ok) $(q rcu_expedited detail)" \
		both true "not used: no tcx in this kernel" rcu_expedited
elif [ -w /sys/kernel/rcu_expedited ]; then
	t_check doctor_rcu_expedited "rcu_expedited: $(q rcu_expedited ok) $(q rcu_expedited detail)" \
		both true "tcx attaches and detaches expedite" rcu_expedited
else
	t_check doctor_rcu_expedited_no "rcu_expedited: $(q rcu_expedited ok) $(q rcu_expedited detail)" \
		both false "/sys/kernel/rcu_expedited: " rcu_expedited
fi

# --- oom/mark_victim: a task (and a uid field) from 6.8 on, a pid before ---
fmt=/sys/kernel/tracing/events/oom/mark_victim/format
if [ -r "$fmt" ]; then
	if grep -q 'field:uid_t uid' "$fmt"; then
		t_check doctor_tp_btf_mark_victim_task "tp_btf: $(q tp_btf ok) $(q tp_btf detail)" [ "$(q tp_btf ok)" = true ]
	else
		t_check doctor_tp_btf_mark_victim_pid_only "tp_btf: $(q tp_btf ok) $(q tp_btf detail)" \
			both true "loads" tp_btf "passes only a pid"
	fi
else
	t_skip doctor_tp_btf "no $fmt (tracefs not mounted)"
fi

# --- LSMs: the list is securityfs's, bpf_lsm loads iff 'bpf' is in it ---
if [ -r /sys/kernel/security/lsm ]; then
	lsm=$(cat /sys/kernel/security/lsm)
	t_check doctor_lsm_list "doctor '$(q lsm detail)', securityfs '$lsm'" [ "$(q lsm detail)" = "$lsm" ]
	want=false
	grep -qw bpf <<<"${lsm//,/ }" && kcfg CONFIG_BPF_LSM && want=true
	t_check doctor_bpf_lsm_$want "bpf_lsm: $(q bpf_lsm ok) $(q bpf_lsm detail)" [ "$(q bpf_lsm ok)" = $want ]
	if [ "$want" = true ] && [ "$(q kprobe_override ok)" = false ] && [ "$(q fmod_ret ok)" = false ]; then
		t_check doctor_sysfail_backend_lsm "sys fail: $(q "sys fail" backend)" [ "$(q "sys fail" backend)" = lsm ]
	fi
else
	t_skip doctor_lsm "securityfs not mounted at /sys/kernel/security"
fi

# --- kprobe override and fmod_ret from the kernel's config ---
if [ -r "$cfg" ]; then
	want=false
	kcfg CONFIG_BPF_KPROBE_OVERRIDE && [ -d /sys/bus/event_source/devices/kprobe ] && want=true
	t_check doctor_kprobe_override_$want "kprobe_override: $(q kprobe_override ok) $(q kprobe_override detail)" \
		[ "$(q kprobe_override ok)" = $want ]
	kcfg CONFIG_FUNCTION_ERROR_INJECTION || t_check doctor_fmod_ret_no_error_injection \
		"fmod_ret: $(q fmod_ret ok) $(q fmod_ret detail)" \
		both false "on syscall wrappers" fmod_ret "CONFIG_FUNCTION_ERROR_INJECTION"
else
	t_skip doctor_kconfig "no $cfg to read the kernel's configuration from"
fi

# --- doctor and the planner agree on sys fail --pid --errno ---
t_bg SLEEPER sleep 30
b=$(q "sys fail" backend)
"$TUG" sys fail --syscall getppid --errno EPERM --pid "$SLEEPER" --for 1s >"$T_TMP/sf.out" 2>&1
rc=$?
why=$(q "sys fail" why)
if [ "$b" = kprobe ] || [ "$b" = fmod_ret ]; then
	t_check doctor_sysfail_pid_agrees "doctor: $b; sys fail --pid exited $rc: $(cat "$T_TMP/sf.out")" [ "$rc" -eq 0 ]
elif [ "$b" = lsm ]; then
	# getppid has no LSM hook: refused, as the doctor's row says
	t_check doctor_sysfail_pid_agrees "doctor: $b, $why; sys fail --pid exited $rc: $(cat "$T_TMP/sf.out")" \
		refused_saying "$rc" "$why" "errno for a running pid or cgroup on the open, read"
	"$TUG" sys fail --syscall openat --errno EACCES --pid "$SLEEPER" --for 1s >"$T_TMP/sf2.out" 2>&1
	rc=$?
	t_check doctor_sysfail_lsm_pid_works "sys fail --syscall openat --pid exited $rc: $(cat "$T_TMP/sf2.out")" [ "$rc" -eq 0 ]
else
	t_check doctor_sysfail_pid_agrees "doctor: $b, $why; sys fail --pid exited $rc: $(cat "$T_TMP/sf.out")" \
		refused_saying "$rc" "$why" "--pid/--cgroup: --signal only"
fi

# --- systemd as PID 1 (what node reboot needs), from /proc/1/comm ---
pid1=$(cat /proc/1/comm)
if [ "$pid1" = systemd ] && [ -d /run/systemd/system ]; then
	t_check doctor_systemd "systemd: $(q systemd ok) $(q systemd detail)" \
		both true "PID 1 is systemd: node reboot asks it" systemd
else
	t_check doctor_no_systemd "systemd: $(q systemd ok) $(q systemd detail)" \
		both false "PID 1 is $pid1: node reboot refuses" systemd
fi

# --- bpf() refused (a container's seccomp policy): refused, not "old kernel" ---
if [ "$(q seccomp_user_notif ok)" = true ]; then
	"$TUG" sys fail --syscall bpf --errno EPERM --for 20s -- "$TUG" doctor --json \
		>"$T_TMP/refused.json" 2>"$T_TMP/refused.err"
	D="$T_TMP/refused.json"
	index_doctor
	t_check doctor_refused_bpf_reported "bpf_syscall: $(q bpf_syscall ok) $(q bpf_syscall detail); $(cat "$T_TMP/refused.err" | head -3)" \
		both false "Operation not permitted" bpf_syscall
	t_check doctor_refused_tcx_not_version "tcx: $(q tcx detail)" \
		both false "not known: " tcx
	t_check doctor_refused_loads_not_known "tp_btf: $(q tp_btf detail)" \
		has "$(q tp_btf detail)" "not known: bpf() is refused"
else
	t_skip doctor_refused_bpf "no seccomp user notification to refuse bpf() with"
fi
