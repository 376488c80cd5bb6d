#!/usr/bin/env bash
# OOM detection latency: from the kernel's kill decision to a line in user
# space, tug watch against what operators use without it: polling the
# cgroup's OOM kill counter (v1 memory.oom_control, v2 memory.events) at
# 10 ms, 100 ms and 1 s, the cgroup's own notification (v1 eventfd on
# memory.oom_control, v2 poll() on memory.events), and the kernel log
# (dmesg -w through a pipe, and /dev/kmsg read directly).
#
# A hog in a memory cgroup limited to 32M is OOM-killed OOM_BENCH_RUNS times
# (default 12) at random phases; every detector runs through all of them.
# The reference instant is the eBPF timestamp of oom/mark_victim
# (CLOCK_MONOTONIC, the clock every detector stamps its line with).
# Prints a markdown section on stdout; progress on stderr. About 30 s.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${TUG_BUILD:=$top/build}"
: "${TUG:=$TUG_BUILD/tug}"
RUNS=${OOM_BENCH_RUNS:-12}
HOG="$TUG_BUILD/tests/oomhog"
W="$TUG_BUILD/tests/oomwait"
for b in "$TUG" "$HOG" "$W"; do
	[ -x "$b" ] || { echo "oom bench: $b missing; run make" >&2; exit 1; }
done

mem=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break }
	$(i+1) == "cgroup" && $(i+3) ~ /(^|,)memory(,|$)/ { print "v1 " $5; exit }
	$(i+1) == "cgroup2" && !v2 { v2 = $5 }
	END { if (v2 != "") print "v2 " v2 }' /proc/self/mountinfo | head -1)
read -r kind root <<<"$mem"
[ -n "${root:-}" ] || { echo "oom bench: no memory cgroup controller" >&2; exit 1; }

tmp=$(mktemp -d /tmp/tug-bench-oom.XXXXXX)
cg="$root/tug-bench-oom-$$"
pids=()
cleanup() {
	local p i
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for ((i = 0; i < 100; i++)); do
		[ -d "$cg" ] || break
		xargs -r kill -9 <"$cg/cgroup.procs" 2>/dev/null || true
		rmdir "$cg" 2>/dev/null && break
		sleep 0.02
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$cg"
if [ "$kind" = v1 ]; then
	echo 32M >"$cg/memory.limit_in_bytes"
	counter="$cg/memory.oom_control" notify_how="eventfd on memory.oom_control"
else
	echo 32M >"$cg/memory.max"
	[ ! -e "$cg/memory.swap.max" ] || echo 0 >"$cg/memory.swap.max"
	counter="$cg/memory.events" notify_how="poll() on memory.events"
fi

# --- the detectors, all running through every kill ---
mkfifo "$tmp/tug.fifo" "$tmp/tug2.fifo" "$tmp/dmesg.fifo"
"$W" lines '"event":' <"$tmp/tug.fifo" >"$tmp/tug" &
pids+=($!)
"$TUG" watch --oom --json --cgroup "$cg" >"$tmp/tug.fifo" 2>"$tmp/tug.err" &
pids+=($!)
declare -A cpu_of=([tug]=$!)
# The same, with the reader on a CPU of its own at real-time priority; the
# hog is kept on CPU 0.
last_cpu=$(($(nproc) - 1))
pin=(taskset -c "$last_cpu" chrt -f 10)
[ "$last_cpu" -gt 0 ] || pin=()
"${pin[@]}" "$W" lines '"event":' <"$tmp/tug2.fifo" >"$tmp/tug2" &
pids+=($!)
"${pin[@]}" "$TUG" watch --oom --json --cgroup "$cg" >"$tmp/tug2.fifo" 2>"$tmp/tug2.err" &
pids+=($!)
"$W" lines 'Killed process' <"$tmp/dmesg.fifo" >"$tmp/dmesg" &
pids+=($!)
since=(--since now)
dmesg --since now >/dev/null 2>&1 || since=()
dmesg -w "${since[@]}" >"$tmp/dmesg.fifo" &
pids+=($!)
"$W" kmsg 'Killed process' >"$tmp/kmsg" &
pids+=($!)
cpu_of[kmsg]=$!
for ms in 10 100 1000; do
	"$W" poll "$counter" oom_kill "$ms" >"$tmp/poll$ms" &
	pids+=($!)
	cpu_of[poll$ms]=$!
done
"$W" notify "$cg" >"$tmp/notify" 2>/dev/null &
pids+=($!)
cpu_of[notify]=$!
for ((i = 0; i < 500; i++)); do
	grep -q '"watching"' "$tmp/tug" 2>/dev/null && grep -q '"watching"' "$tmp/tug2" 2>/dev/null && break
	sleep 0.01
done
grep -q '"watching"' "$tmp/tug" || { echo "oom bench: tug watch did not start: $(cat "$tmp/tug.err")" >&2; exit 1; }
sleep 0.3
load=$(cut -d' ' -f1-3 /proc/loadavg)
t_start=$(date +%s%3N)

# --- the kills: random phase against the pollers, >= 1 s apart ---
echo "oom bench: $RUNS OOM kills in $cg" >&2
for ((i = 1; i <= RUNS; i++)); do
	sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 1.05 + r / 32767 }')"
	{ taskset -c 0 sh -c 'echo $$ >"$0/cgroup.procs" && exec "$1" 200' "$cg" "$HOG" >/dev/null; } 2>/dev/null || true
	printf '.' >&2
done
sleep 1.2
echo >&2
# CPU time each detector used over the whole run, start-up included (ms).
declare -A cpu_ms
for d in "${!cpu_of[@]}"; do
	cpu_ms[$d]=$(awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / hz) }' \
		"/proc/${cpu_of[$d]}/stat" 2>/dev/null || echo "?")
done
run_s=$(awk -v a="$t_start" -v b="$(date +%s%3N)" 'BEGIN { printf "%.0f", (b - a) / 1000 }')

# --- analysis ---
# kills: "ktime_ns pid line_ns delay_us", one per OOM kill tug reported.
grep '"event":"oom_kill"' "$tmp/tug" |
	sed -n 's/^\([0-9]*\) .*"ktime_ns":\([0-9]*\),"delay_us":\([0-9]*\),"pid":\([0-9]*\),.*/\2 \4 \1 \3/p' \
	>"$tmp/kills"
nkills=$(wc -l <"$tmp/kills")
counted=$(awk '$1 == "oom_kill" { print $2 }' "$counter")
[ "$nkills" -gt 0 ] || { echo "oom bench: tug reported no OOM kill" >&2; exit 1; }

# latencies FILE MODE: one latency in ms per kill ("-" when missed).
# MODE time: the first detection in [kill - 50 ms, next kill - 50 ms);
# MODE pid: the first line naming "Killed process PID "; json: "pid":PID.
latencies() {
	awk -v mode="$2" 'NR == FNR { k[++n] = $1; p[n] = $2; next }
		{ t[++m] = $1; line[m] = $0 }
		END {
			for (i = 1; i <= n; i++) {
				lo = k[i] - 50e6; hi = i < n ? k[i + 1] - 50e6 : 1e30; found = "-"
				for (j = 1; j <= m; j++) {
					if (mode == "pid") { if (index(line[j], "Killed process " p[i] " ")) { found = (t[j] - k[i]) / 1e6; break } }
					else if (mode == "json") { if (index(line[j], "\"pid\":" p[i] ",")) { found = (t[j] - k[i]) / 1e6; break } }
					else if (t[j] >= lo && t[j] < hi) { found = (t[j] - k[i]) / 1e6; break }
				}
				print found
			}
		}' "$tmp/kills" "$1"
}

# stats: "median p90 max mean missed" of latencies on stdin, in ms.
stats() {
	awk '$1 == "-" { miss++; next } { v[++n] = $1; s += $1 }
		END {
			if (!n) { print "- - - - " miss + 0; exit }
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { x = v[i]; v[i] = v[j]; v[j] = x }
			p90 = v[int(0.9 * (n - 1) + 0.5) + 1]; med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
			printf "%.2f %.2f %.2f %.2f %d\n", med, p90, v[n], s / n, miss + 0 }'
}

awk '{ print ($3 - $1) / 1e6 }' "$tmp/kills" >"$tmp/lat.tug"
awk '{ print $4 / 1e3 }' "$tmp/kills" >"$tmp/lat.tugself"
latencies "$tmp/tug2" json >"$tmp/lat.tug2"
latencies "$tmp/poll10" time >"$tmp/lat.poll10"
latencies "$tmp/poll100" time >"$tmp/lat.poll100"
latencies "$tmp/poll1000" time >"$tmp/lat.poll1000"
latencies "$tmp/notify" time >"$tmp/lat.notify"
latencies "$tmp/dmesg" pid >"$tmp/lat.dmesg"
latencies "$tmp/kmsg" pid >"$tmp/lat.kmsg"

read -r tug_med _ <<<"$(stats <"$tmp/lat.tug")"
row() {	# name, file, what it tells
	local med p90 max mean miss ratio
	read -r med p90 max mean miss <<<"$(stats <"$tmp/lat.$2")"
	ratio=$(awk -v a="$med" -v b="$tug_med" 'BEGIN { if (a == "-" || b <= 0) print "-";
		else if (a < 0) print "before the kill"; else printf "%.1f×", a / b }')
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$med" "$p90" "$max" "$mean" \
		"$((nkills - miss))/$nkills" "$ratio" "${cpu_ms[$2]:--}" "$3"
}

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
console=$(awk 'NR == 1 { print $1 }' /proc/consoles 2>/dev/null)
console=${console:-none}
cat <<EOF
## OOM detection latency

How long after the kernel decides an OOM kill does a user-space program
have a line saying so? A process in a memory cgroup limited to 32M
allocates until the OOM killer kills it, $RUNS times at random phases,
while every detector below runs. Latency is measured from the eBPF
timestamp at \`oom/mark_victim\` (CLOCK_MONOTONIC) to the moment the
detector's reader has the line (the same clock), in milliseconds.

- Machine: Linux $(uname -r), $(nproc) CPUs ($cpu), memory controller on
  cgroup $kind ($root), load average $load at the start (other work was
  running: latencies include its scheduling noise).
- Command: \`scripts/bench oom\` (scripts/bench.d/oom.sh, OOM_BENCH_RUNS=$RUNS);
  tug as \`tug watch --oom --json --cgroup CG\` read through a pipe; the hog
  runs on CPU 0.
- OOM kills: $nkills seen by tug, $counted counted by the cgroup's oom_kill counter.
- Kernel console: $console, console loglevel $(cut -f1 /proc/sys/kernel/printk): the
  "Killed process" line (KERN_ERR) is written to it by the killing task itself.

| detector | median ms | p90 ms | max ms | mean ms | kills seen | median vs tug | CPU ms over the ${run_s} s run, start-up included | what the line tells |
|---|---|---|---|---|---|---|---|---|
EOF
row "**tug watch --oom** (line read from its stdout)" tug "victim pid, comm, cgroup, rss (anon/file/shmem), oom_score_adj, memcg or global, cgroup usage and limit"
row "tug watch, reader on CPU $last_cpu at SCHED_FIFO (hog on CPU 0)" tug2 "the same"
row "tug's own delay (ring buffer to handler, \`delay_us\`)" tugself "the same, before printing"
row "poll oom_kill counter every 10 ms" poll10 "a count went up (no victim)"
row "poll oom_kill counter every 100 ms" poll100 "a count went up (no victim)"
row "poll oom_kill counter every 1 s" poll1000 "a count went up (no victim)"
row "cgroup notification ($notify_how)" notify "the cgroup is (or was) under OOM: on v1 sent when the OOM starts, before the kill, so it can be negative; no victim"
row "dmesg -w through a pipe" dmesg "victim pid, comm, rss as text; cgroup on another line"
row "/dev/kmsg read directly (dmesg's source)" kmsg "the same text"
cat <<EOF

Reading: a poller pays about half its interval on average and its whole
interval at worst, costs CPU for every cgroup it watches, and learns only
that a count changed. The v1 eventfd fires when the cgroup enters OOM, before
the kill, and names no victim. The kernel log names the victim, as text to
parse, shared by every cgroup on the host. tug's line carries everything the
kernel knew about the kill, for exactly the cgroup asked, at no cost between
kills; its delay is the time until the scheduler runs the reader. On a busy
machine that is milliseconds: the killing task itself writes the "Killed
process" line to the console ($console) synchronously, and a reader that
shares its CPU waits for that; the row with tug on a CPU of its own shows
what is left of the delay once scheduling is out of the way.
EOF
