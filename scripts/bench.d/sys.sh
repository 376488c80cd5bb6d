#!/usr/bin/env bash
# Syscall faults: `tug sys fail` against `strace -e inject=`, the tool
# operators use today, on the same syscall-heavy workload (sysloop: N
# write(2)s of one byte to /dev/null). Prints a markdown section on stdout;
# progress on stderr.
#
#   1. the target's slowdown for calls tug does not fail: (a) other
#      syscalls (the fault is on unlink, the workload writes), (b) the
#      chosen syscall itself, every call let through (--after / when=);
#   2. the slowdown of an unrelated process on the host while each tool
#      holds a fault on a busy target, and while tug's --signal backend (a
#      host-wide raw tracepoint) holds one.
set -euo pipefail
: "${TUG:?}" "${TUG_BUILD:?}"
SL="$TUG_BUILD/tests/sysloop"
REPS=${REPS:-3}
N=${N:-10000}		# strace's when= counts to 65535 at most
UN=${UN:-100000}	# the unrelated process's calls
tmp=$(mktemp -d)
bg=()
cleanup() {
	local p
	for p in "${bg[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${bg[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT
log() { echo "bench sys: $*" >&2; }
now_ns() { date +%s%N; }

# median of REPS times (ms, 1 decimal) of sysloop's own loop, run by a
# command: the tools' start-up is measured apart (startup below).
timed() {
	local r
	for ((r = 0; r < REPS; r++)); do
		"$@" 2>/dev/null | awk '$1 == "loop_ns" { print int($2 / 100000) }'
	done | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f\n", v[int((NR + 1) / 2)] / 10 }'
}
# median wall time (ms) of a whole command
startup() {
	local t0 t1 r
	for ((r = 0; r < REPS; r++)); do
		t0=$(now_ns)
		"$@" >/dev/null 2>&1
		t1=$(now_ns)
		echo $(((t1 - t0) / 100000))
	done | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f\n", v[int((NR + 1) / 2)] / 10 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
us_per_call() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.2f", t * 1000 / n }'; }

load=$(cut -d' ' -f1-3 /proc/loadavg)
log "baseline"
base=$(timed "$SL" -n "$N")

log "calls not chosen: other syscalls"
tug_other=$(timed "$TUG" sys fail --quiet --syscall unlink --errno ENOSPC --for 5m -- "$SL" -n "$N")
st_other=$(timed strace -f -qq -o /dev/null -e trace=unlink -e inject=unlink:error=ENOSPC "$SL" -n "$N")
stb_other=$(timed strace -f -qq --seccomp-bpf -o /dev/null -e trace=unlink -e inject=unlink:error=ENOSPC "$SL" -n "$N")

log "calls chosen, let through"
tug_same=$(timed "$TUG" sys fail --quiet --syscall write --errno ENOSPC --after 1000000 --for 5m -- "$SL" -n "$N")
st_same=$(timed strace -f -qq -o /dev/null -e trace=write -e inject=write:error=ENOSPC:when=65535 "$SL" -n "$N")
stb_same=$(timed strace -f -qq --seccomp-bpf -o /dev/null -e trace=write -e inject=write:error=ENOSPC:when=65535 "$SL" -n "$N")

log "calls chosen and failed (every one)"
tug_fail=$(timed "$TUG" sys fail --quiet --syscall write --errno ENOSPC --for 5m -- "$SL" -n "$N")
st_fail=$(timed strace -f -qq -o /dev/null -e trace=write -e inject=write:error=ENOSPC "$SL" -n "$N")
stb_fail=$(timed strace -f -qq --seccomp-bpf -o /dev/null -e trace=write -e inject=write:error=ENOSPC "$SL" -n "$N")

# The unrelated process's time while a tool holds a fault on a busy target
# (writes, every one let through: the tool's most expensive steady state).
# $1: label; the rest: the command that holds the fault on the target.
unrelated() {
	local pid t
	"${@:2}" >/dev/null 2>&1 &
	pid=$!
	bg+=("$pid")
	sleep 0.3
	t=$(timed "$SL" -n "$UN")
	# The tool's target (its child) goes too: strace detaches on SIGTERM.
	local kids
	kids=$(cat /proc/"$pid"/task/*/children 2>/dev/null || true)
	kill "$pid" $kids 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	echo "$t"
}
log "start-up"
su_tug=$(startup "$TUG" sys fail --quiet --syscall write --errno ENOSPC --for 5m -- true)
su_st=$(startup strace -f -qq -o /dev/null -e trace=write -e inject=write:error=ENOSPC true)
su_none=$(startup true)
log "unrelated process"
un_base=$(timed "$SL" -n "$UN")
un_tug=$(unrelated tug "$TUG" sys fail --quiet --kill-at-end --syscall write --errno ENOSPC --after 1000000000 --for 5m -- "$SL" -n 100000000)
un_st=$(unrelated strace strace -f -qq -o /dev/null -e trace=write -e inject=write:error=ENOSPC:when=65535 "$SL" -n 100000000)
sleep 1000 &
idle=$!
bg+=("$idle")
un_tp=$(unrelated tracepoint "$TUG" sys fail --quiet --syscall write --signal USR1 --pid "$idle" --for 5m)
un_busy=$(unrelated busy "$SL" -n 100000000)

cat <<EOF
## Syscall faults: tug sys fail vs strace -e inject=

Machine: $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%d).
Command: \`make bench\` (scripts/bench.d/sys.sh; median of $REPS runs; load average when it
started: $load). Workload: \`sysloop -n $N\`,
$N one-byte write(2)s to /dev/null, launched under each tool; times are the workload's own loop (tools'
start-up apart, below). tug is \`tug sys fail ... -- CMD\` (seccomp user notification backend on
this kernel); strace is Debian 12's strace 6.1, with and without \`--seccomp-bpf\`.

### The target (ms for $N calls; no tool: $base ms, $(us_per_call "$base" "$N") us a call)

| calls | tug | strace | strace --seccomp-bpf | tug / strace | tug / strace --seccomp-bpf | tug vs no tool |
|---|---:|---:|---:|---:|---:|---:|
| other syscalls (fault on unlink) | $tug_other | $st_other | $stb_other | $(ratio "$tug_other" "$st_other") | $(ratio "$tug_other" "$stb_other") | $(ratio "$tug_other" "$base")x |
| the chosen syscall, let through | $tug_same | $st_same | $stb_same | $(ratio "$tug_same" "$st_same") | $(ratio "$tug_same" "$stb_same") | $(ratio "$tug_same" "$base")x |
| the chosen syscall, failed | $tug_fail | $st_fail | $stb_fail | $(ratio "$tug_fail" "$st_fail") | $(ratio "$tug_fail" "$stb_fail") | $(ratio "$tug_fail" "$base")x |

Start-up and exit of each tool around \`true\` (ms): tug $su_tug, strace $su_st, no tool $su_none.
tug's includes probing the kernel for the strongest backend.

### An unrelated process on the host (ms for $UN writes; alone: $un_base ms)

| while | ms | vs alone |
|---|---:|---:|
| tug holds a fault on a busy target (every write let through) | $un_tug | $(ratio "$un_tug" "$un_base")x |
| strace holds the same | $un_st | $(ratio "$un_st" "$un_base")x |
| tug --signal (raw tracepoint on every syscall of the host) | $un_tp | $(ratio "$un_tp" "$un_base")x |
| the same busy target runs with no tool (CPU contention alone) | $un_busy | $(ratio "$un_busy" "$un_base")x |

The machine was shared with other jobs (see the load average): ratios within one run are
the figures to read, and the unrelated-process rows are dominated by CPU contention.
A seccomp filter lives in the target alone, so processes outside it pay nothing but the CPU
the target and tug's notification thread use (on $(nproc) CPUs). Calls of other syscalls
never leave the kernel; each call of the chosen syscall costs a round trip to tug's thread.
strace without \`--seccomp-bpf\` stops the target at every syscall. The --signal backend's
tracepoint runs for every syscall on the host, but exits on the syscall number first.
EOF
