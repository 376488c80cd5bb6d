#!/usr/bin/env bash
# tug sys fail on real processes: a launched command sees the errno on the
# asked syscall, at the asked rate, only after N calls, only for matching
# paths, and runs unchanged after the deadline; --signal kills a running
# process (by pid and by cgroup) at its Nth call; an errno for a running pid
# is refused (exit 2, nothing loaded) on a kernel without kprobe override or
# fmod_ret; a SIGKILLed tug leaves the command's calls running (the keeper);
# with --kill-at-end the command goes with the fault, whatever happens to tug.
. "$(dirname "$0")/../lib.sh"

SL="$TUG_BUILD/tests/sysloop"
[ -x "$SL" ] || { t_fail setup "no $SL; run make"; exit 1; }
sys_progs() { bpftool prog show 2>/dev/null | grep -c 'name tug_sys_'; }
# field FILE KEY: a "KEY VALUE" line of sysloop's report
field() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
t_at_exit 'pgrep -x tug-keeper -P 1 >/dev/null; true'

# --- rate: 30% of 4000 writes fail with ENOSPC, within 5 standard deviations ---
out="$T_TMP/rate"
"$TUG" sys fail --json --syscall write --errno ENOSPC --percent 30 --for 20s -- "$SL" -n 4000 >"$out" 2>&1
rc=$?
got=$(field "$out" err_ENOSPC)
failed=$(json_field "$out" reverted failed)
backend=$(grep '"event":"applied"' "$out" | sed -n 's/.*"backend":"\([a-z_]*\)".*/\1/p')
echo "  rate: $got of 4000 writes failed (expected 1200 +- 145), tug counted $failed, backend $backend"
t_check sys_rate_exit "tug exited $rc: $(grep -v '^{' "$out" | head -3)" [ "$rc" -eq 0 ]
t_check sys_rate_backend_seccomp "backend '$backend'" [ "$backend" = seccomp ]
t_check sys_rate_within_bound "$got ENOSPC of 4000 at 30%" \
	awk -v g="${got:-0}" 'BEGIN { exit !(g >= 1055 && g <= 1345) }'
t_check sys_rate_only_that_errno "other errnos: $(grep '^err_' "$out" | grep -v ENOSPC)" \
	[ -z "$(grep '^err_' "$out" | grep -v ENOSPC)" ]
t_check sys_rate_counter_matches "tug failed=$failed, command saw $got" [ "${failed:-x}" = "${got:-y}" ]
t_check sys_rate_command_exit_reported "no 'command exited' event" \
	grep -q '"event":"command exited".*"exit_status":0' "$out"

# --- after N: the first 10 calls run, every later one fails; the
# command's exit ends the fault, long before its deadline ---
out="$T_TMP/after"
t0=$(now_ms)
"$TUG" sys fail --json --syscall write --errno EIO --after 10 --for 20s -- "$SL" -n 30 >"$out" 2>&1
t1=$(now_ms)
seq=$(field "$out" seq)
t_check sys_after_n "seq $seq" [ "$seq" = "..........EEEEEEEEEEEEEEEEEEEE" ]
t_check sys_after_errno "errnos: $(grep '^err_' "$out")" [ "$(field "$out" err_EIO)" = 20 ]
echo "  a 30-write command under a 20 s fault: tug returned after $((t1 - t0)) ms"
t_check sys_command_exit_ends_fault "$((t1 - t0)) ms; $(grep '"reverted"' "$out")" \
	bash -c "[ $((t1 - t0)) -lt $((5000 * ${TUG_SLOW:-1})) ] && grep -q '\"reason\":\"command exited\"' '$out'"

# --- paths: only matching opens fail; the loader's own opens do not ---
mkdir -p "$T_TMP/d" && touch "$T_TMP/d/data1" "$T_TMP/d/other"
out="$T_TMP/path"
(cd "$T_TMP/d" && "$TUG" sys fail --syscall openat --errno EACCES --path "$T_TMP/d/data*" --for 20s \
	-- "$SL" -c openat -n 200 -p data1 -q "$T_TMP/d/other" -x) >"$out" 2>&1
rc=$?
echo "  path: matching $(field "$out" p_err) failed / $(field "$out" p_ok) ran; others $(field "$out" q_ok) ran / $(field "$out" q_err) failed"
t_check sys_path_matching_fail "p_err=$(field "$out" p_err) p_ok=$(field "$out" p_ok)" \
	[ "$(field "$out" p_err)" = 100 ] && [ "$(field "$out" p_ok)" = 0 ]
t_check sys_path_others_run "q_ok=$(field "$out" q_ok) q_err=$(field "$out" q_err)" \
	[ "$(field "$out" q_ok)" = 100 ]
t_check sys_path_loader_untouched "no report: $(head -3 "$out")" [ -n "$(field "$out" calls)" ]

# --- deadline: failing calls, then every call runs; the command is not killed ---
out="$T_TMP/deadline"
t0=$(now_ms)
"$TUG" sys fail --json --syscall write --errno EIO --for 300ms -- "$SL" -n 100 -i 10000 >"$out" 2>&1
rc=$?
seq=$(field "$out" seq)
t_check sys_deadline_fails_first "seq $seq" [ "${seq:0:10}" = EEEEEEEEEE ]
t_check sys_deadline_runs_after "seq $seq" [ "${seq:50}" = "$(printf '.%.0s' {1..50})" ]
t_check sys_deadline_command_completes "command: $(grep 'command exited' "$out")" \
	grep -q '"event":"command exited".*"exit_status":0' "$out"
t_check sys_deadline_reverted_at_deadline "reverted: $(grep reverted "$out")" \
	grep -q '"reason":"deadline"' "$out"

# --- tug SIGKILLed mid-fault: the keeper continues the command's calls ---
out="$T_TMP/keeper"
t_bg tp "$TUG" sys fail --syscall write --errno EIO --for 20s -- "$SL" -n 100 -i 10000 >"$out" 2>&1
wait_for "$out" 'holding|applied' 2000
sleep 0.2
kill -9 "$tp"
for _ in $(seq 200); do grep -q '^seq' "$out" && break; sleep 0.02; done
seq=$(field "$out" seq)
echo "  keeper: $seq"
t_check sys_keeper_calls_continue "seq $seq (ENOSYS: $(field "$out" err_ENOSYS))" \
	[ "${seq: -20}" = "$(printf '.%.0s' {1..20})" ] && [ -z "$(field "$out" err_ENOSYS)" ]
# Ours only (its environment names this test's journal): other tug runs on
# the machine have keepers too; a zombie waiting for PID 1 runs nothing.
our_keepers() {
	local p
	for p in $(pgrep -x tug-keeper); do
		grep -qsz "^TUG_RUN_DIR=$TUG_RUN_DIR\$" "/proc/$p/environ" &&
			[ "$(awk '/^State/ { print $2 }' "/proc/$p/status" 2>/dev/null)" != Z ] && echo "$p"
	done
}
for _ in $(seq 100); do [ -z "$(our_keepers)" ] && break; sleep 0.02; done
t_check sys_keeper_exits "tug-keeper still running: $(our_keepers)" [ -z "$(our_keepers)" ]

# --- --signal by pid: killed at the 8th write (7 went through) ---
gate="$T_TMP/gate1" file="$T_TMP/sig1"
t_bg sp "$SL" -c write -o "$file" -n 100 -i 2000 -g "$gate"
out="$T_TMP/signal"
t_bg tp "$TUG" sys fail --json --syscall write --signal KILL --after 7 --pid "$sp" --for 10s >"$out" 2>&1
wait_for "$out" '"event":"applied"' 3000
touch "$gate"
wait "$sp"
st=$?
wait "$tp"
size=$(stat -c %s "$file")
echo "  signal by pid: status $st, $size writes done"
t_check sys_signal_pid_killed "exit status $st" [ "$st" -eq 137 ]
t_check sys_signal_pid_at_nth "$size writes done" [ "$size" -eq 7 ]
t_check sys_signal_pid_tracepoint "$(grep applied "$out")" grep -q '"backend":"tracepoint"' "$out"
t_check sys_signal_ends_with_target "$(grep reverted "$out")" grep -q '"event":"target exited"' "$out"
t_check sys_signal_reverted_reason "$(grep reverted "$out")" grep -q '"reason":"target exited"' "$out"

# --- --pid is a pid of tug's own namespace: tug in a container's pid
#     namespace hits the process it names there, not the host's process with
#     that number (the last pid is set high so that number names no one on
#     the host either) ---
if command -v unshare >/dev/null; then
	out="$T_TMP/pidns"
	timeout 20 unshare --pid --fork --mount-proc bash -c '
		TUG=$1 SL=$2 dir=$3
		echo 3999990 >/proc/sys/kernel/ns_last_pid
		"$SL" -c write -o "$dir/pidns.w" -n 100 -i 2000 -g "$dir/pidns.gate" & sp=$!
		"$TUG" sys fail --json --syscall write --signal KILL --after 3 --pid "$sp" --for 5s >"$dir/pidns.tug" 2>&1 & tp=$!
		for i in $(seq 300); do grep -q "\"event\":\"applied\"" "$dir/pidns.tug" && break; sleep 0.01; done
		touch "$dir/pidns.gate"
		wait $sp; echo "status=$? pid=$sp"
		wait $tp
	' _ "$TUG" "$SL" "$T_TMP" >"$out" 2>&1
	size=$(stat -c %s "$T_TMP/pidns.w" 2>/dev/null)
	echo "  in a pid namespace: $(cat "$out"), $size writes done"
	t_check sys_pid_in_pid_namespace "$(cat "$out" "$T_TMP/pidns.tug"), $size writes" \
		bash -c "grep -q '^status=137 pid=3999991' '$out' && [ '$size' = 3 ]"
else
	t_skip sys_pid_in_pid_namespace "unshare is not installed"
fi

# --- --pid must be held by a pidfd, or nothing runs: a thread id (which
#     pidfd_open refuses) is refused, exit 2, nothing loaded ---
t_bg thr /usr/bin/python3 -c 'import threading, time; threading.Thread(target=time.sleep, args=(30,)).start(); time.sleep(30)'
tid=""
for _ in $(seq 100); do
	tid=$(ls "/proc/$thr/task" 2>/dev/null | grep -vx "$thr" | head -1)
	[ -n "$tid" ] && break
	sleep 0.02
done
out="$T_TMP/thread"
"$TUG" sys fail --syscall write --signal KILL --pid "$tid" --for 1s >"$out" 2>&1
rc=$?
t_check sys_pid_thread_refused "tid '$tid', exit $rc: $(cat "$out")" \
	bash -c "[ -n '$tid' ] && [ $rc -eq 2 ] && grep -q 'is a thread, not a process' '$out' && kill -0 $thr"

# --- --signal by cgroup (v2) ---
cg=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -z "$cg" ]; then
	t_skip sys_signal_cgroup "no cgroup2 mount"
else
	cgdir="$cg/tug-test-$$"
	mkdir "$cgdir" && t_at_exit "rmdir '$cgdir'"
	gate="$T_TMP/gate2" file="$T_TMP/sig2"
	t_bg sp "$SL" -c write -o "$file" -n 100 -i 2000 -g "$gate"
	echo "$sp" >"$cgdir/cgroup.procs"
	out="$T_TMP/signal_cg"
	t_bg tp "$TUG" sys fail --json --syscall write --signal KILL --after 3 --cgroup "tug-test-$$" --for 3s >"$out" 2>&1
	wait_for "$out" '"event":"applied"' 3000
	touch "$gate"
	wait "$sp"
	st=$?
	size=$(stat -c %s "$file")
	echo "  signal by cgroup: status $st, $size writes done"
	t_check sys_signal_cgroup_at_nth "status $st, $size writes: $(cat "$out")" [ "$st" -eq 137 ] && [ "$size" -eq 3 ]
	kill "$tp" 2>/dev/null
	wait "$tp"
fi

# --- an errno for a running pid needs kprobe override or fmod_ret ---
out="$T_TMP/refused"
# Programs of the earlier faults are freed asynchronously after their exit.
for _ in $(seq 50); do [ "$(sys_progs)" -eq 0 ] && break; sleep 0.02; done
before=$(sys_progs)
"$TUG" sys fail --syscall write --errno EIO --pid $$ --for 1s >"$out" 2>&1
rc=$?
in_kernel=0 lsm=0
row=$("$TUG" doctor --json 2>/dev/null | grep '"fault":"sys fail"')
grep -qE '"backend":"(kprobe|fmod_ret)"' <<<"$row" && in_kernel=1
grep -q '"backend":"lsm"' <<<"$row" && lsm=1
if [ "$in_kernel" -eq 1 ] || [ "$lsm" -eq 1 ]; then
	t_skip sys_pid_errno_refused "this kernel fails write for a running pid ($(sed -n 's/.*"backend":"\([^"]*\)".*/\1/p' <<<"$row") backend)"
else
	t_check sys_pid_errno_refused "exit $rc: $(cat "$out")" [ "$rc" -eq 2 ]
	t_check sys_pid_errno_says_why "$(cat "$out")" grep -q 'kprobe + bpf_override_return' "$out"
	t_check sys_pid_errno_nothing_loaded "tug_sys programs: $before -> $(sys_progs)" [ "$(sys_progs)" -eq "$before" ]
fi
"$TUG" sys fail --syscall write --errno EIO --backend kprobe --for 1s -- true >"$out" 2>&1
rc=$?
if [ "$in_kernel" -eq 1 ]; then
	t_skip sys_forced_missing_backend_refused "this kernel has in-kernel injection"
else
	t_check sys_forced_missing_backend_refused "exit $rc: $(cat "$out")" [ "$rc" -eq 2 ]
fi

# --- a command that cannot run: exit 1, nothing left ---
"$TUG" sys fail --syscall write --errno EIO --for 5s -- /nonexistent/cmd >"$out" 2>&1
rc=$?
t_check sys_bad_command "exit $rc: $(cat "$out")" [ "$rc" -eq 1 ]
t_check sys_no_program_left "tug_sys programs loaded: $(sys_progs)" [ "$(sys_progs)" -eq 0 ]

# --- --kill-at-end: the command must not outlive the fault, even when tug
# is SIGKILLed (the guardian kills it) or stopped past the deadline ---
for how in KILL STOP; do
	out="$T_TMP/kae-$how"
	t_bg tp "$TUG" sys fail --json --syscall write --errno EIO --kill-at-end --for 1s -- \
		"$SL" -n 100000000 -i 1000 >"$out" 2>&1
	wait_for "$out" '"applied"' 5000
	cpid=$(json_field "$out" applied command_pid)
	kill -$how "$tp"
	t0=$(now_ms)
	while [ -n "$cpid" ] && [ -d "/proc/$cpid" ] && [ "$(awk '/^State/ { print $2 }' "/proc/$cpid/status" 2>/dev/null)" != Z ] &&
		[ $(($(now_ms) - t0)) -lt 4000 ]; do sleep 0.01; done
	gone=$(($(now_ms) - t0))
	state=$(awk '/^State/ { print $2 }' "/proc/$cpid/status" 2>/dev/null)
	kill -9 "$tp" 2>/dev/null
	wait "$tp" 2>/dev/null
	echo "  --kill-at-end, tug SIG$how: command $cpid gone ${gone} ms later"
	t_check sys_kill_at_end_after_SIG$how "command $cpid state '${state:-gone}' after $gone ms" \
		bash -c "[ -n '$cpid' ] && { [ -z '$state' ] || [ '$state' = Z ]; } && [ $gone -lt 2500 ]"
done
