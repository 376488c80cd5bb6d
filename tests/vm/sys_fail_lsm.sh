#!/usr/bin/env bash
# sys fail --pid / --cgroup with an errno on a running process, through the
# BPF LSM backend (kernels without error injection that run BPF LSM, like
# Debian's): exactly the calls after --after fail with the errno asked, a
# process outside the target is untouched, tug's counters agree with the
# process's own count, nothing stays loaded, and a syscall no hook serves is
# refused with the list of those that are.
. "$(dirname "$0")/../lib.sh"

SL="$TUG_BUILD/tests/sysloop"
b=$("$TUG" doctor --json 2>/dev/null | grep '"fault":"sys fail"' | sed -n 's/.*"backend":"\([^"]*\)".*/\1/p')
[ "$b" = lsm ] || { t_skip sys_fail_lsm "sys fail's backend here is '$b', not lsm (see tug doctor)"; exit 0; }
field() { sed -n "s/^$2 //p" "$1"; }
lsm_progs() { bpftool prog show 2>/dev/null | grep -c 'name tug_sys_lsm'; }
echo hello >"$T_TMP/f"

# --- --pid, openat: the first 40 opens run, the next 160 get EACCES ---
gate="$T_TMP/gate" rep="$T_TMP/rep" other="$T_TMP/other" out="$T_TMP/pid.json"
t_bg lp "$SL" -n 200 -c openat -p "$T_TMP/f" -g "$gate" >"$rep"
t_bg op "$SL" -n 200 -c openat -p "$T_TMP/f" -g "$gate" >"$other"
t_bg tp "$TUG" sys fail --json --syscall openat --errno EACCES --after 40 --pid "$lp" --for 60s >"$out" 2>&1
wait_for "$out" '"applied"' 20000 || { t_fail lsm_pid_applied "$(cat "$out")"; exit 1; }
touch "$gate"
wait "$lp" "$op"
wait "$tp"
rc=$?
sed 's/^/  /' "$rep" | grep -v '^  seq'
t_check lsm_pid_backend "$(grep applied "$out")" grep -q '"backend":"lsm"' "$out"
t_check lsm_pid_after_runs "ok $(field "$rep" ok) of $(field "$rep" calls)" [ "$(field "$rep" ok)" = 40 ]
t_check lsm_pid_errno "EACCES $(field "$rep" err_EACCES)" [ "$(field "$rep" err_EACCES)" = 160 ]
t_check lsm_pid_ends_with_target "exit $rc: $(tail -1 "$out")" \
	bash -c "[ $rc -eq 0 ] && grep -q '\"reason\":\"target exited\"' '$out'"
t_check lsm_pid_counts "$(grep reverted "$out")" grep -q '"failed":160' "$out"
t_check lsm_pid_other_untouched "other process: ok $(field "$other" ok) of $(field "$other" calls)" \
	[ "$(field "$other" ok)" = 200 ]
for _ in $(seq 100); do [ "$(lsm_progs)" -eq 0 ] && break; sleep 0.05; done
t_check lsm_pid_nothing_loaded "tug_sys_lsm programs: $(lsm_progs)" [ "$(lsm_progs)" -eq 0 ]

# --- --cgroup, read: every read of the cgroup's processes fails with EIO ---
cg=$(t_cgroup lsm) || { t_fail setup "cannot create a cgroup"; exit 1; }
gate="$T_TMP/gate2" out="$T_TMP/cg.json"
cat >"$T_TMP/reader.py" <<'PY'
import errno, os, sys, time
path, gate, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
while not os.path.exists(gate):
    time.sleep(0.01)
fd = os.open(path, os.O_RDONLY)
ok = eio = 0
for _ in range(n):
    try:
        os.pread(fd, 5, 0)
        ok += 1
    except OSError as e:
        eio += e.errno == errno.EIO
print("ok", ok, "eio", eio, flush=True)
PY
t_bg rp t_in_cgroup "$cg" /usr/bin/python3 "$T_TMP/reader.py" "$T_TMP/f" "$gate" 50 >"$T_TMP/cg.rep"
sleep 0.5
t_bg tp "$TUG" sys fail --json --syscall pread64 --errno EIO --cgroup "$cg" --for 60s >"$out" 2>&1
wait_for "$out" '"applied"' 20000 || { t_fail lsm_cgroup_applied "$(cat "$out")"; exit 1; }
touch "$gate"
wait "$rp"
kill -INT "$tp"
wait "$tp"
t_check lsm_cgroup_reads_fail "reader: $(cat "$T_TMP/cg.rep"); $(grep -E 'applied|reverted' "$out" | tr '\n' ' ')" \
	grep -qx 'ok 0 eio 50' "$T_TMP/cg.rep"
t_check lsm_cgroup_host_reads "cat outside the cgroup" bash -c "[ \"\$(cat '$T_TMP/f')\" = hello ]"

# --- a syscall no LSM hook serves: refused (exit 2), the served ones named ---
"$TUG" sys fail --syscall fsync --errno EIO --pid $$ --for 1s >"$T_TMP/refused" 2>&1
rc=$?
t_check lsm_unserved_refused "exit $rc: $(cat "$T_TMP/refused")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'BPF LSM backend fails only' '$T_TMP/refused'"
