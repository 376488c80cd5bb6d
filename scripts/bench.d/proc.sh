#!/usr/bin/env bash
# Recovery-time resolution: a service under runit's runsv is killed, runsv
# restarts it, and the time until it is healthy again is measured (a) by
# `tug proc kill --runit --wait-restart --probe` and (b) by the operators'
# old runbook (kill, then `curl` polled every second, the time read when it
# first answers). The truth is the service's own record of when it was
# listening again. Prints a markdown section on stdout; progress on stderr.
set -uo pipefail
: "${TUG:?}" "${TUG_TOP:?}"
ROUNDS=${ROUNDS:-6}
. "$TUG_TOP/tests/lib.sh" >/dev/null
log() { echo "bench proc: $*" >&2; }

NS=$(t_netns bench) || { log "cannot create a namespace"; exit 1; }
t_at_exit "ip netns del '$NS'"
SV="$T_TMP/sv/web" STATE="$T_TMP/starts" URL=http://127.0.0.1:8080/
t_svc_write "$SV" 8080 "$STATE"
t_bg RUNSV ip netns exec "$NS" runsv "$SV"
t_at_exit "cut -d' ' -f1 '$STATE' | xargs -r kill -9"
wait_for "$STATE" . 10000 || { log "the service did not start"; exit 1; }
load=$(cut -d' ' -f1-3 /proc/loadavg)

ready_after() {	# T0_MS: the service's own ready time minus T0
	local r
	r=$(tail -1 "$STATE" | cut -d' ' -f3)
	echo $((r - $1))
}
tug_rows=() book_rows=()
for ((i = 0; i < ROUNDS; i++)); do
	sleep 1.2	# runsv waits 1s before restarting a service that ran less than 1s
	out="$T_TMP/tug.$i"
	ip netns exec "$NS" "$TUG" proc kill --runit "$SV" --wait-restart 20s --probe "$URL" --json >"$out" 2>/dev/null
	t0=$(json_field "$out" PASS t0_ms) th=$(json_field "$out" PASS to_healthy_ms)
	[ -n "$t0" ] && [ -n "$th" ] || { log "tug round $i failed: $(tail -1 "$out")"; continue; }
	truth=$(ready_after "$t0")
	tug_rows+=("$th $truth")
	log "tug: $th ms, service: $truth ms"

	sleep 1.2
	# The runbook: kill the pid runsv reports, poll with curl once a second.
	pid=$(cat "$SV/supervise/pid")
	t0=$(now_ms)
	kill -9 "$pid"
	while :; do
		ip netns exec "$NS" curl -fs -m 1 "$URL" >/dev/null 2>&1 && break
		sleep 1
		[ $(($(now_ms) - t0)) -gt 20000 ] && break
	done
	seen=$(($(now_ms) - t0))
	truth=$(ready_after "$t0")
	book_rows+=("$seen $truth")
	log "runbook: $seen ms, service: $truth ms"
done

stats() {	# lines "measured truth" -> "n mean_measured mean_truth mean_abs_err max_abs_err"
	awk '{ e = $1 - $2; if (e < 0) e = -e; m += $1; t += $2; s += e; if (e > x) x = e; n++ }
	     END { if (n) printf "%d %.0f %.0f %.1f %d\n", n, m / n, t / n, s / n, x; else print "0 - - - -" }'
}
read -r tn tm tt te tx <<<"$(printf '%s\n' "${tug_rows[@]}" | stats)"
read -r bn bm bt be bx <<<"$(printf '%s\n' "${book_rows[@]}" | stats)"
ratio=$(awk -v a="$be" -v b="$te" 'BEGIN { if (a + 0 > 0) printf "%.3f", b / a; else print "-" }')

cat <<MD
## Recovery time: tug proc kill --wait-restart vs the runbook (curl every second)

Machine: $(uname -r), $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(date +%F).
Command: \`make bench\` (scripts/bench.d/proc.sh; $ROUNDS rounds each, load average when it started: $load).
A Python http.server under runit's runsv in a network namespace is SIGKILLed; runsv restarts it.
The truth is the service's own clock: the time it was listening again, minus the kill.
tug: \`tug proc kill --runit DIR --wait-restart 20s --probe URL\` (pidfd kill, probe every 20 ms,
healthy = the first answered probe). Runbook: \`kill -9\` the pid, then \`curl\` once a second until it answers.

| method | rounds | mean kill->healthy reported (ms) | mean truth (ms) | mean error (ms) | max error (ms) |
|---|---:|---:|---:|---:|---:|
| tug proc kill --wait-restart --probe | $tn | $tm | $tt | $te | $tx |
| runbook: curl every 1 s | $bn | $bm | $bt | $be | $bx |

tug's error is $ratio of the runbook's (error = |reported - truth|). tug's error is bounded by its
probe interval plus one HTTP round trip; the runbook's by its 1 s poll. tug also reports the new pid
and the supervisor's own start record (to_start_ms), which the runbook cannot see.
MD
