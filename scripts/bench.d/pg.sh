#!/usr/bin/env bash
# Connection exhaustion: the time to take every connection slot of a real
# PostgreSQL (max_connections 53, 3 reserved for superusers, so 50 for the
# role used) with `tug pg exhaust` (async libpq) against the runbook's 50
# `psql -c 'SELECT pg_sleep(...)'` processes. A superuser monitor (on a
# reserved slot) counts the role's connections every 10 ms. Prints a
# markdown section on stdout; progress on stderr.
set -uo pipefail
: "${TUG:?}" "${TUG_TOP:?}"
REPS=${REPS:-2}
. "$TUG_TOP/tests/lib.sh" >/dev/null
log() { echo "bench pg: $*" >&2; }

t_pg_start 53 || { log "cannot start PostgreSQL"; exit 1; }
t_psql "CREATE ROLE tug_bench LOGIN" >/dev/null
DB="$T_PG_DB user=tug_bench"
load=$(cut -d' ' -f1-3 /proc/loadavg)
# The monitor's count (a new psql connection on a reserved superuser slot
# each time: its own start-up, 0.1-0.3 s on a loaded host, bounds the
# resolution of the "monitor" column for both methods alike).
N=0
held() { N=$(t_psql "SELECT count(*) FROM pg_stat_activity WHERE usename = 'tug_bench'" 2>/dev/null); }
# until_count N TIMEOUT_MS: until the role holds N (the monitor's view)
until_count() {
	local end=$(($(now_ms) + $2))
	while [ "$(now_ms)" -lt "$end" ]; do
		held
		[ "$N" = "$1" ] && return 0
		sleep 0.01
	done
	return 1
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }

tug_int=() tug_ext=() psql_ext=() tug_cpu=() psql_cpu=()
for ((r = 0; r < REPS; r++)); do
	until_count 0 10000
	out="$T_TMP/tug.$r"
	t0=$(now_ms)
	/usr/bin/time -f "%U %S" -o "$T_TMP/time.$r" "$TUG" pg exhaust --db "$DB" --for 3s --json >"$out" 2>/dev/null &
	tp=$!
	until_count 50 30000 && tug_ext+=($(($(now_ms) - t0)))
	wait "$tp"
	tug_int+=("$(json_field "$out" exhausted to_limit_ms)")
	tug_cpu+=("$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$T_TMP/time.$r")")
	log "tug: ${tug_int[-1]} ms to the limit (its own), ${tug_ext[-1]:-?} ms seen by the monitor"

	until_count 0 10000
	pids=()
	t0=$(now_ms)
	for ((i = 0; i < 50; i++)); do
		/usr/bin/time -f "%U %S" -a -o "$T_TMP/ptime.$r" psql "$DB" -XAtqc "SELECT pg_sleep(30)" >/dev/null 2>&1 &
		pids+=($!)
	done
	until_count 50 60000 && psql_ext+=($(($(now_ms) - t0)))
	t_psql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'tug_bench'" >/dev/null
	wait "${pids[@]}" 2>/dev/null
	psql_cpu+=("$(awk '{ s += ($1 + $2) * 1000 } END { printf "%d", s }' "$T_TMP/ptime.$r")")
	log "50 psql: ${psql_ext[-1]:-?} ms seen by the monitor"
done

ti=$(printf '%s\n' "${tug_int[@]}" | median)
te=$(printf '%s\n' "${tug_ext[@]}" | median)
pe=$(printf '%s\n' "${psql_ext[@]}" | median)
tc=$(printf '%s\n' "${tug_cpu[@]}" | median)
pc=$(printf '%s\n' "${psql_cpu[@]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

cat <<MD
## Connection exhaustion: tug pg exhaust vs 50 psql processes

Machine: $(uname -r), $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(date +%F).
Command: \`make bench\` (scripts/bench.d/pg.sh; median of $REPS runs; load average when it started: $load).
PostgreSQL $(t_psql "SHOW server_version" | cut -d" " -f1), unix socket, max_connections 53 with 3 reserved for superusers: 50
slots for the role used. The time is from the command's start until a superuser monitor, polling
every 10 ms with a fresh psql, sees all 50 slots taken. tug also proves a 51st connection is refused with SQLSTATE 53300
and reports its own time to the limit; the runbook cannot tell when it is done.

| method | to the limit (ms, monitor) | tug's own to_limit_ms | CPU user+sys (ms) |
|---|---:|---:|---:|
| tug pg exhaust (async libpq, one process) | $te | $ti | $tc |
| 50 \`psql -c 'SELECT pg_sleep(30)'\` | $pe | - | $pc |
| ratio tug / psql | $(ratio "$te" "$pe") | | $(ratio "$tc" "$pc") |

Backend start-up dominates both on a loaded machine; tug saves the 50 client processes (their
start-up and CPU) and knows when it is done, and releases all at its deadline, on Ctrl-C, or
(by the kernel closing its sockets) when it is killed.
MD
