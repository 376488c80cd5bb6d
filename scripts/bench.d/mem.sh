#!/usr/bin/env bash
# Memory pressure, tug vs stress-ng, in one run: time to reach the asked
# resident size and how close it lands, and the blast radius (what stays
# available to everything outside the target service). Prints a markdown
# section on stdout; scripts/bench writes it to docs/bench/mem.md.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${TUG_BUILD:=$top/build}"
: "${TUG:=$TUG_BUILD/tug}"
command -v stress-ng >/dev/null || { echo "bench mem: stress-ng missing (scripts/install-deps)" >&2; exit 1; }
RUNS=${RUNS:-3}
tmp=$(mktemp -d /tmp/tug-bench-mem.XXXXXX)
export TUG_RUN_DIR="$tmp/run" TUG_STATE_DIR="$tmp/state"
pids=()
SVC=""

cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	if [ -n "$SVC" ] && [ -d "$SVC" ]; then
		for p in "$SVC"/tug-hog-*; do [ -d "$p" ] && rmdir "$p" 2>/dev/null; done
		rmdir "$SVC" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
avail() { awk '/^MemAvailable:/ { printf "%.0f\n", $2 * 1024 }' /proc/meminfo; }
gib() { awk -v b="$1" 'BEGIN { printf "%.2f GiB", b / 1073741824 }'; }
# The largest VmRSS among PID's descendants (stress-ng's vm worker).
worker_rss() {
	local c m=0 r
	for c in $(pgrep -P "$1"); do
		r=$(awk '/^VmRSS:/ { printf "%.0f\n", $2 * 1024 }' "/proc/$c/status" 2>/dev/null)
		[ -n "$r" ] && [ "$r" -gt "$m" ] && m=$r
		r=$(worker_rss "$c")
		[ "$r" -gt "$m" ] && m=$r
	done
	echo "$m"
}
stop_stress() {	# PID: stress-ng's parent stops its workers on SIGTERM
	local c
	c=$(pgrep -P "$1" | tr '\n' ' ')
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	for p in $c; do kill -9 "$p" 2>/dev/null; done
}

# stress_run BYTES-ARG ASKED-BYTES [CAP_MS]: prints "reach_ms resident avail_during"
# (reach_ms -1: not reached within CAP_MS, default 60 s).
stress_run() {
	local t0 reach="" rss=0 r a min_avail sp end
	min_avail=$(avail)
	t0=$(now_ms)
	stress-ng --vm 1 --vm-bytes "$1" --vm-keep --vm-populate --timeout 90s --quiet 2>/dev/null &
	sp=$!
	pids+=("$sp")
	end=$((t0 + ${3:-60000}))
	while [ "$(now_ms)" -lt "$end" ]; do
		r=$(worker_rss "$sp")
		[ "$r" -gt "$rss" ] && rss=$r
		a=$(avail)
		[ "$a" -lt "$min_avail" ] && min_avail=$a
		if [ -z "$reach" ] && [ "$r" -ge $(($2 * 95 / 100)) ]; then
			reach=$(($(now_ms) - t0))
			end=$(($(now_ms) + 500))	# settle: the highest it gets
		fi
		sleep 0.01
	done
	stop_stress "$sp"
	echo "${reach:--1} $rss $min_avail"
}

# tug_run ARGS...: prints "fill_ms cmd_to_reached_ms resident avail_during"
tug_run() {
	local out="$tmp/tug.out" t0 tp a t1 fill res
	t0=$(now_ms)
	"$TUG" mem pressure "$@" --for 1s --json >"$out" 2>"$tmp/tug.err" &
	tp=$!
	pids+=("$tp")
	while ! grep -q '"applied"' "$out" 2>/dev/null; do
		kill -0 "$tp" 2>/dev/null || break
		sleep 0.005
	done
	t1=$(now_ms)
	a=$(avail)
	wait "$tp"
	fill=$(grep '"pressure-reached"' "$out" | sed -n 's/.*"fill_ms":\([0-9]*\).*/\1/p')
	res=$(grep '"pressure-reached"' "$out" | sed -n 's/.*"resident_bytes":\([0-9]*\).*/\1/p')
	echo "${fill:--1} $((t1 - t0)) ${res:-0} $a"
}

M=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/mounts)
LIMIT=memory.limit_in_bytes
if [ -z "$M" ]; then
	M=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	LIMIT=memory.max
fi
SVC="$M/tug-bench-$$-svc"
mkdir "$SVC" || { echo "bench mem: cannot create $SVC" >&2; exit 1; }
SVC_LIMIT=$((2 << 30))
echo $SVC_LIMIT >"$SVC/$LIMIT"

ASK=$((1 << 30))
total=$(awk '/^MemTotal:/ { printf "%.0f\n", $2 * 1024 }' /proc/meminfo)
# Warm up: the first touch of guest memory on a VM is slower than any later one.
stress_run 1G $ASK >/dev/null
tug_run --size 1G >/dev/null

sum() { awk '{ s += $1 } END { printf "%.0f", s / NR }'; }
: >"$tmp/s" ; : >"$tmp/t"
for i in $(seq "$RUNS"); do
	stress_run 1G $ASK >>"$tmp/s"
	tug_run --size 1G >>"$tmp/t"
done
s_reach=$(awk '{ print $1 }' "$tmp/s" | sum)
s_res=$(awk '{ print $2 }' "$tmp/s" | sum)
t_fill=$(awk '{ print $1 }' "$tmp/t" | sum)
t_cmd=$(awk '{ print $2 }' "$tmp/t" | sum)
t_res=$(awk '{ print $3 }' "$tmp/t" | sum)

# Blast radius: the runbook's "70 %" aimed at one service (limit 2 GiB).
before=$(avail)
read -r s70_reach s70_res s70_avail <<<"$(stress_run 70% $((total * 70 / 100)) 25000)"
s70_time=$([ "$s70_reach" -ge 0 ] && echo "in ${s70_reach} ms" || echo "after 25 s, still rising")
read -r t70_fill t70_cmd t70_res t70_avail <<<"$(tug_run --size 70% --cgroup "$SVC")"

pct() { awk -v r="$1" -v a="$2" 'BEGIN { printf "%+.2f %%", (r - a) * 100 / a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }

cat <<MD
## Memory pressure: tug mem pressure vs stress-ng --vm

Machine: $(uname -r), $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)),
$(gib "$total") RAM, memory controller at $M. Mean of $RUNS runs after one warm-up
run of each (the first touch of a VM's memory is slower than any later one).

Commands: \`tug mem pressure --size 1G --for 1s --json\` (time: its own fill_ms,
resident: RssAnon of the hog) against \`stress-ng --vm 1 --vm-bytes 1G --vm-keep
--vm-populate\` (time until its worker's VmRSS reaches 95 % of 1 GiB, polled
every 10 ms; resident: the highest VmRSS seen in the next 0.5 s).

| 1 GiB asked | tug | stress-ng | stress-ng / tug |
|---|---|---|---|
| time to reach the asked size | ${t_fill} ms (${t_cmd} ms command to line) | ${s_reach} ms | $(ratio "$s_reach" "$t_fill") |
| resident reached | $t_res B ($(pct "$t_res" $ASK)) | $s_res B ($(pct "$s_res" $ASK)) | |
| where it lands | its own child cgroup, capped at the size + 1/64 + 16 MiB | the whole host | |

Blast radius: the runbook's 70 % aimed at one service whose cgroup has a
2 GiB limit. \`tug mem pressure --size 70% --cgroup SERVICE\` takes 70 % of the
service's limit inside it; \`stress-ng --vm 1 --vm-bytes 70%\` cannot aim and takes
70 % of the host. MemAvailable is what every process outside the service can
still get (before: $(gib "$before")).

| 70 % on one service | tug | stress-ng | ratio |
|---|---|---|---|
| resident reached | $(gib "$t70_res") in ${t70_fill} ms | $(gib "$s70_res") $s70_time | |
| MemAvailable to the rest of the host during | $(gib "$t70_avail") | $(gib "$s70_avail") | tug leaves $(ratio "$t70_avail" "$s70_avail") as much |
| taken from the rest of the host | $(gib $((before - t70_avail))) | $(gib $((before - s70_avail))) | |

OOM detection latency (kernel event to a user-space line) is measured with
\`tug watch\` in the observation benchmark.
MD
