#!/usr/bin/env bash
# make torture: for every fault family, cycles that SIGKILL or SIGSTOP the
# controller (continued later, or never), and in some cycles its guardian
# too, at a random moment of parse, prepare, journal, apply, hold or revert;
# then residue is looked for (traffic still dropped or tc filters, cgroup
# hooks, cgroup values, frozen cgroups, hogs and their cgroups, fill files,
# PostgreSQL connections, journal entries, processes tug started), and the
# revert's lateness after the deadline is measured with the controller
# stopped. Everything runs in namespaces, cgroups, a tmpfs and a private
# PostgreSQL this script makes; the table goes to docs/TORTURE.md.
#
#   TORTURE_CYCLES=N     cycles per family (default 20; CI: 2)
#   TORTURE_FOR_MS=MS    each fault's --for (default 600)
#   TORTURE_FAMILIES=".." a subset, e.g. "mem_limit net_partition"
#   TORTURE_REPORT=FILE  where the table goes (default docs/TORTURE.md)
#   TORTURE_SEED=N       $RANDOM's seed, printed, to replay a run
#
# Exit 1 when any cycle left residue or a lateness target was missed
# (kernel-ended faults p99 <= 10 ms, the others p99 <= 1000 ms).
. "$(dirname "$0")/lib.sh"

CYCLES=${TORTURE_CYCLES:-20}
FOR_MS=${TORTURE_FOR_MS:-600}
REPORT=${TORTURE_REPORT:-$(cd "$(dirname "$0")/.." && pwd)/docs/TORTURE.md}
SEED=${TORTURE_SEED:-$$}
RANDOM=$SEED
ALL="net_partition net_loss node_isolate net_reset net_refuse net_dns_fail mem_limit mem_pressure cpu_throttle proc_freeze disk_fill sys_fail pg_exhaust"
FAMILIES=${TORTURE_FAMILIES:-$ALL}
PT="$TUG_BUILD/tests/pingtrace" SP="$TUG_BUILD/tests/sockprobe" SL="$TUG_BUILD/tests/sysloop"
[ "$(id -u)" -eq 0 ] || { t_skip torture "needs root"; exit 0; }
echo "torture: $CYCLES cycles per family, --for ${FOR_MS}ms, seed $SEED"

# ---------------------------------------------------------------- setup
A=$(t_netns a) && B=$(t_netns b) || { t_fail setup "cannot create namespaces"; exit 1; }
t_veth "$A" va "$B" vb || { t_fail setup "cannot create veth"; exit 1; }
ip -n "$A" addr add 10.200.9.1/24 dev va
ip -n "$B" addr add 10.200.9.2/24 dev vb
t_bg l ip netns exec "$B" "$SP" listen 10.200.9.2 8080 >/dev/null
CG2=$(t_cgroup torture) || { t_fail setup "no cgroup2 hierarchy"; exit 1; }

# A probe inside CG2 and namespace A: one connect() (refuse) or sendto()
# to port 53 (dns-fail) a millisecond, timestamped.
# The traffic probes run SCHED_FIFO: on a machine shared with builds, a
# probe that gets no CPU for 50 ms would read as a fault 50 ms late.
RT=()
command -v chrt >/dev/null && RT=(chrt -f 10)
sockloop() { t_in_cgroup "$CG2" "${RT[@]}" ip netns exec "$A" "$SP" trace "$@"; }

M=$(t_rescg_root memory) C=$(t_rescg_root cpu) F=$(t_rescg_root freezer)
[ -n "$F" ] || F=$(t_cgroup2_root)
MEMREL="tug-torture-$T_ID-mem" CPUREL="tug-torture-$T_ID-cpu"
MEMCG="$M/$MEMREL" CPUCG="$C/$CPUREL" FRZCG="$F/tug-torture-$T_ID-frz"
t_rescg "$MEMCG" && t_rescg "$CPUCG" && t_rescg "$FRZCG" || { t_fail setup "cannot make cgroups"; exit 1; }
if [ -f "$M/cgroup.controllers" ]; then MEMF=memory.max; else MEMF=memory.limit_in_bytes; fi
if [ -f "$C/cgroup.controllers" ]; then CPUF=cpu.max; else CPUF=cpu.cfs_quota_us; fi
if [ -f "$FRZCG/cgroup.freeze" ]; then FRZF=cgroup.freeze; else FRZF=freezer.state; fi
echo 1073741824 >"$MEMCG/$MEMF"
MEM0=$(<"$MEMCG/$MEMF") CPU0=$(<"$CPUCG/$CPUF") FRZ0=$(<"$FRZCG/$FRZF")
RCU0=$(</sys/kernel/rcu_expedited)	# tcx attaches and detaches expedite (expedite.h)
t_rescg_bg sleeper "$FRZCG" sleep 100000
FILL="$T_TMP/fill"
t_tmpfs "$FILL" 64M || { t_fail setup "cannot mount a tmpfs"; exit 1; }
avail() { df -B1 --output=avail "$FILL" | tail -1 | tr -d ' '; }
FILL0=$(avail)
PG=0
if command -v psql >/dev/null && t_pg_start 10 2>/dev/null; then PG=1; fi
pg_clients() { t_psql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" 2>/dev/null; }

# ------------------------------------------------------- the families
# fam_args FAM: the command line (without --for/--json) into ARGS.
# Kernel-ended families end at their deadline in the kernel itself.
KERNEL_ENDED=" net_partition net_loss node_isolate net_reset net_refuse net_dns_fail "
fam_args() {
	case $1 in
	net_partition) ARGS=(net partition --netns "$A" --peer 10.200.9.2) ;;
	net_loss) ARGS=(net loss --netns "$A" --peer 10.200.9.2 --percent 100) ;;
	node_isolate) ARGS=(node isolate --netns "$A" --keep 10.200.9.99) ;;
	net_reset) ARGS=(net reset --netns "$A" --peer 10.200.9.2 --port 8080) ;;
	net_refuse) ARGS=(net refuse --cgroup "$CG2" --peer 10.200.9.2:8080) ;;
	net_dns_fail) ARGS=(net dns-fail --cgroup "$CG2") ;;
	mem_limit) ARGS=(mem limit --cgroup "$MEMREL" --max 200M) ;;
	mem_pressure) ARGS=(mem pressure --size 16M --cgroup "$MEMREL") ;;
	cpu_throttle) ARGS=(cpu throttle --cgroup "$CPUREL" --percent 20) ;;
	proc_freeze) ARGS=(proc freeze --cgroup "$FRZCG") ;;
	disk_fill) ARGS=(disk fill --path "$FILL" --leave 8M) ;;
	sys_fail) ARGS=(sys fail --syscall write --errno EIO --kill-at-end) ;;
	pg_exhaust) ARGS=(pg exhaust --db "$T_PG_DB") ;;
	esac
}
# Put after the common options (sys fail's command).
fam_tail() { [ "$1" = sys_fail ] && TAIL=(-- "$SL" -n 100000000 -i 1000) || TAIL=(); }

# Processes tug started that still run: found by our journal directory in
# their environment (a zombie, waiting for PID 1 here, runs nothing).
our_procs() {
	local f pid st comm
	for f in $(grep -lsz "^TUG_RUN_DIR=$TUG_RUN_DIR\$" /proc/[0-9]*/environ 2>/dev/null); do
		pid=${f#/proc/}
		pid=${pid%/environ}
		read -r comm <"/proc/$pid/comm" 2>/dev/null || continue
		case $comm in tug | tug-guardian | tug-keeper | tug-hog | sysloop) ;; *) continue ;; esac
		st=$(awk '/^State/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		[ -n "$st" ] && [ "$st" != Z ] && echo "$comm($pid,$st)"
	done
}

# residue: one word for each thing left behind, nothing when clean.
residue() {
	local v r=()
	[ -n "$(ls "$TUG_RUN_DIR/faults" "$TUG_STATE_DIR/faults" 2>/dev/null | grep json)" ] && r+=(journal)
	v=$(our_procs | tr '\n' ' ')
	[ -n "$v" ] && r+=("procs:$v")
	ip netns exec "$A" ping -c1 -W0.2 10.200.9.2 >/dev/null 2>&1 || r+=(traffic-dropped)
	ip netns exec "$A" "$SP" connect 10.200.9.2 8080 >/dev/null 2>&1 || r+=(connect-refused)
	tc -n "$A" qdisc show dev va | grep -q clsact && r+=(clsact-qdisc)
	[ -n "$(tc -n "$A" filter show dev va ingress 2>/dev/null)$(tc -n "$A" filter show dev va egress 2>/dev/null)" ] && r+=(tc-filter)
	[ "$(bpftool cgroup show "$CG2" 2>/dev/null | grep -c tug_sf_)" -eq 0 ] || r+=(cgroup-hook)
	[ "$(<"$MEMCG/$MEMF")" = "$MEM0" ] || r+=("$MEMF=$(<"$MEMCG/$MEMF")")
	[ "$(<"$CPUCG/$CPUF")" = "$CPU0" ] || r+=("$CPUF=$(<"$CPUCG/$CPUF")")
	[ "$(<"$FRZCG/$FRZF")" = "$FRZ0" ] || r+=("$FRZF=$(<"$FRZCG/$FRZF")")
	[ "$(</sys/kernel/rcu_expedited)" = "$RCU0" ] || r+=(rcu_expedited)
	[ -e /run/tug/rcu-expedited ] && r+=(rcu-expedited-lock)
	compgen -G "$MEMCG/tug-hog-*" >/dev/null && r+=(hog-cgroup)
	compgen -G "$FILL/.tug-fill-*" >/dev/null && r+=(fill-file)
	[ "$(avail)" -ge $((FILL0 - (1 << 20))) ] || r+=(fill-space)
	# No answer at all is the worst residue: every slot still taken.
	if [ $PG -eq 1 ]; then v=$(pg_clients); [ "$v" = 0 ] || r+=("pg-connections=${v:-all}"); fi
	echo "${r[*]}"
}

# active FAM: does the fault still hold? Builtins only in the loop (a fork
# costs more than the resolution wanted).
active() {
	local v
	case $1 in
	mem_limit) read -r v <"$MEMCG/$MEMF"; [ "$v" != "$MEM0" ] ;;
	cpu_throttle) read -r v <"$CPUCG/$CPUF"; [ "$v" != "$CPU0" ] ;;
	proc_freeze) read -r v <"$FRZCG/$FRZF"; [ "$v" != "$FRZ0" ] ;;
	mem_pressure) compgen -G "$MEMCG/tug-hog-*" >/dev/null ;;
	disk_fill) compgen -G "$FILL/.tug-fill-*" >/dev/null ;;
	sys_fail) [ -n "$CPID" ] && read -r v <"/proc/$CPID/stat" 2>/dev/null && [[ "$v" != *") Z "* ]] ;;
	pg_exhaust) v=$(pg_clients); [ "$v" != 0 ] ;;	# refused (exhausted) or connections left
	esac
}

# A random delay in ms, for killing "at a random moment": a third in
# parse..apply, a third in the hold, a third around the deadline (revert).
rand_moment() {
	case $((RANDOM % 3)) in
	0) echo $((RANDOM % 60)) ;;
	1) echo $((60 + RANDOM % (FOR_MS - 60))) ;;
	2) echo $((FOR_MS - 50 + RANDOM % 150)) ;;
	esac
}
msleep() { sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"; }
guardian_of() { pgrep -P "$1" -x tug-guardian; }

MODES=(stop-never kill stop-cont stop-never guardian-kill guardian-stop)
launch() {	# FAM: the controller in the background, its pid in TP
	fam_args "$1"
	fam_tail "$1"
	"$TUG" "${ARGS[@]}" --for "${FOR_MS}ms" --json "${TAIL[@]}" >"$OUT" 2>"$OUT.err" &
	TP=$!
	T_PIDS+=($TP)
}
applied() { wait_for "$OUT" '"applied"' 5000; }
deadline_of() { json_field "$OUT" applied deadline_ms; }

# Lateness: ms from the deadline until the fault let go, the controller
# being stopped. Kernel-ended families are timed by traffic, a probe every
# millisecond started before the stop (by send time; a reply may take long
# on a loaded machine and still counts), the others by polling their knob.
probe_start() {	# FAM DEADLINE_MS: the traffic probe in the background, pid in PROBE
	local left=$(($2 - $(now_ms) + 400))
	PROBE=""
	case $1 in
	net_partition | net_loss | node_isolate) "${RT[@]}" ip netns exec "$A" "$PT" -i 1000 -d $left -W 300 10.200.9.2 >"$T_TMP/trace" 2>/dev/null & ;;
	net_refuse | net_reset) sockloop connect 10.200.9.2 8080 $left >"$T_TMP/trace" & ;;
	net_dns_fail) sockloop sendto 10.200.9.2 53 $left >"$T_TMP/trace" & ;;
	*) return 0 ;;
	esac
	PROBE=$!
}
probe_result() {	# FAM DEADLINE_MS: "LATE HELD" (after the probe ended), or nothing
	# LATE: the first call let through after the deadline (an upper bound:
	# it includes the probe's own gaps); HELD: the last one still failed
	# after the deadline, 0 if none (what the fault provably overran).
	local fam=$1 dl=$2 t held
	case $fam in
	net_partition | net_loss | node_isolate)
		awk -v e="$dl" '{ t = $1 / 1000 } t >= e && $3 { printf "%.0f %.0f\n", t - e, h; exit }
			t >= e && !$3 { h = t - e }' "$T_TMP/trace" ;;
	net_refuse | net_reset | net_dns_fail)
		awk -v e="$dl" '$1 >= e && $2 { printf "%d %d\n", $1 - e, h; exit }
			$1 >= e && !$2 { h = $1 - e }' "$T_TMP/trace" ;;
	*)
		held=0
		while active "$fam" && [ $(($(now_ms) - dl)) -lt 8000 ]; do held=$(($(now_ms) - dl)); done
		t=$(now_ms)
		[ $held -lt 0 ] && held=0
		active "$fam" || echo "$((t - dl)) $held" ;;
	esac
}

# ----------------------------------------------------------- the cycles
declare -A N RES LAT HELD KILLS STOPS GUARD UNTIMED
FAILED=0
cycle() {	# FAM MODE
	local fam=$1 mode=$2 gp="" dl="" late="" held="" r t0 end
	OUT="$T_TMP/out" CPID=""
	launch "$fam"
	case $mode in
	kill)
		msleep "$(rand_moment)"
		kill -9 "$TP" 2>/dev/null ;;
	stop-cont)
		msleep "$(rand_moment)"
		kill -STOP "$TP" 2>/dev/null
		msleep $((RANDOM % (FOR_MS + 400)))
		kill -CONT "$TP" 2>/dev/null ;;
	stop-never)
		# A sample needs the stop before the deadline: an apply that a
		# loaded machine slowed to within 50 ms of it gives none.
		if applied && dl=$(deadline_of) && [ $((dl - $(now_ms))) -gt 50 ]; then
			CPID=$(json_field "$OUT" applied command_pid)
			probe_start "$fam" "$dl"
			msleep $((RANDOM % ((dl - $(now_ms)) / 2 + 1)))
			kill -STOP "$TP" 2>/dev/null
			[ -n "$PROBE" ] && wait "$PROBE"
			read -r late held <<<"$(probe_result "$fam" "$dl")"
			[ -n "$late" ] || late=99999 held=99999
		else
			UNTIMED[$fam]=$((${UNTIMED[$fam]:-0} + 1))
		fi ;;
	guardian-kill)
		if applied; then
			gp=$(guardian_of "$TP")
			msleep $((RANDOM % FOR_MS))
			[ -n "$gp" ] && kill -9 "$gp"
			kill -9 "$TP" 2>/dev/null
			wait "$TP" 2>/dev/null
			"$TUG" recover >/dev/null 2>&1
		fi ;;
	guardian-stop)
		if applied; then
			gp=$(guardian_of "$TP")
			msleep $((RANDOM % FOR_MS))
			kill -STOP "$TP" $gp 2>/dev/null
			msleep $((RANDOM % (FOR_MS + 500)))
			[ -n "$gp" ] && kill -CONT "$gp" 2>/dev/null
		fi ;;
	esac
	# The controller ends by itself, or the guardian ends it.
	t0=$(now_ms)
	while kill -0 "$TP" 2>/dev/null && [ $(($(now_ms) - t0)) -lt $((FOR_MS + 6000)) ]; do sleep 0.01; done
	if kill -0 "$TP" 2>/dev/null; then
		r="controller-alive"
		kill -9 "$TP"
	fi
	wait "$TP" 2>/dev/null
	# Nothing may be left 2 s after the controller is gone.
	end=$(($(now_ms) + 2000))
	while :; do
		r="${r:-} $(residue)"
		r=$(echo $r)
		[ -z "$r" ] || [ "$(now_ms)" -ge "$end" ] && break
		r=""
		sleep 0.05
	done
	N[$fam]=$((${N[$fam]:-0} + 1))
	if [ -n "$r" ]; then
		RES[$fam]=$((${RES[$fam]:-0} + 1))
		echo "  RESIDUE $fam ($mode): $r; $(tail -2 "$OUT.err" | tr '\n' ' ')"
		"$TUG" recover >/dev/null 2>&1
		echo "$MEM0" >"$MEMCG/$MEMF"; echo "$CPU0" >"$CPUCG/$CPUF"; echo "$FRZ0" >"$FRZCG/$FRZF"
		FAILED=1
	fi
	if [ -n "$late" ]; then
		LAT[$fam]="${LAT[$fam]:-} $late"
		HELD[$fam]="${HELD[$fam]:-} $held"
		if [ "$late" = 99999 ]; then
			echo "  LATENESS $fam: not measured (applied: $(grep -c applied "$OUT"); probe: $(head -2 "$T_TMP/trace" 2>/dev/null | tr '\n' ' ')...$(tail -2 "$T_TMP/trace" 2>/dev/null | tr '\n' ' '); deadline $dl; $(tail -2 "$OUT.err" | tr '\n' ' '))"
		fi
	fi
	case $mode in kill) KILLS[$fam]=$((${KILLS[$fam]:-0} + 1)) ;;
	stop-*) STOPS[$fam]=$((${STOPS[$fam]:-0} + 1)) ;;
	guardian-*) [ -n "$gp" ] && GUARD[$fam]=$((${GUARD[$fam]:-0} + 1)) ;; esac
}

# pct "SAMPLES" P: the P-th percentile (nearest rank).
pct() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk -v p="$2" '{ v[NR] = $1 } END { if (!NR) { print "-"; exit } i = int((p / 100) * NR + 0.999); if (i < 1) i = 1; print v[i] }'; }

base=$(residue)
[ -z "$base" ] || { t_fail setup "residue before the first cycle: $base"; exit 1; }
T_START=$(now_ms)
for fam in $FAMILIES; do
	[ $fam = pg_exhaust ] && [ $PG -eq 0 ] && { t_skip torture_$fam "no PostgreSQL server to start"; continue; }
	for ((i = 0; i < CYCLES; i++)); do
		cycle "$fam" "${MODES[$((i % ${#MODES[@]}))]}"
	done
	l=${LAT[$fam]:-}
	echo "  $fam: ${N[$fam]} cycles, residue in ${RES[$fam]:-0}, samples${LAT[$fam]:-}; lateness p50 $(pct "$l" 50) p99 $(pct "$l" 99) max $(pct "$l" 100) ms"
done
T_END=$(now_ms)

# ------------------------------------------------------------ the table
{
	echo "# Torture: faults under SIGKILL and SIGSTOP"
	echo
	echo "Written by \`make torture\` (tests/torture.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'), Linux $(uname -r),"
	echo "$CYCLES cycles per family, \`--for ${FOR_MS}ms\`, seed $SEED, $(((T_END - T_START) / 1000)) s."
	echo
	cat <<'TXT'
Each cycle starts one fault and then, in turn: stops the controller during the hold
and never continues it (a lateness sample; every third cycle), SIGKILLs it at a random
moment (parse to revert), stops it at a random moment and continues it later, SIGKILLs
its guardian and then it (followed by `tug recover`, the documented path after a crash
of both), or stops both and continues only the guardian ("guardian hit" counts these
two). Residue is looked for until 2 s after the controller is gone: dropped traffic,
refused connections, tc filters and clsact qdiscs, cgroup hooks, cgroup values, frozen
cgroups, hogs and their cgroups, fill files and their space, PostgreSQL connections,
journal entries, processes tug started.

Lateness, the controller stopped, is from the deadline to the first packet or connection
let through (kernel-ended faults: a SCHED_FIFO probe every millisecond, by send time) or
to the knob restored (the others, polled). It is an upper bound: the probe's own gaps
count. "Held past deadline" is the last probe the fault still dropped, refused or held
after its deadline (a lower bound, 0 when none). "Timed" counts the samples; a stop
cycle whose apply a loaded machine slowed to within 50 ms of the deadline gives none,
and one that could not be measured counts as 99999 ms.
TXT
	echo
	echo "| family | cycles | killed | stopped | guardian hit | residue | timed | lateness p50 (ms) | p99 | max | held past deadline, max (ms) | ended by |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
	for fam in $FAMILIES; do
		[ -n "${N[$fam]:-}" ] || continue
		l=${LAT[$fam]:-}
		case "$KERNEL_ENDED" in *" $fam "*) by="the BPF program's own deadline" ;; *) by="the guardian (deadline + 200 ms)" ;; esac
		echo "| ${fam//_/ } | ${N[$fam]} | ${KILLS[$fam]:-0} | ${STOPS[$fam]:-0} | ${GUARD[$fam]:-0} | ${RES[$fam]:-0} | $(wc -w <<<"$l") | $(pct "$l" 50) | $(pct "$l" 99) | $(pct "$l" 100) | $(pct "${HELD[$fam]:-}" 100) | $by |"
	done
	echo
	echo "Targets: 0 residue; lateness p99 <= 10 ms for kernel-ended faults, <= 1000 ms for the rest."
} >"$REPORT"
echo "  table written to $REPORT"

for fam in $FAMILIES; do
	[ -n "${N[$fam]:-}" ] || continue
	p99=$(pct "${LAT[$fam]:-}" 99)
	case "$KERNEL_ENDED" in *" $fam "*) bound=10 ;; *) bound=1000 ;; esac
	t_check torture_${fam}_no_residue "${RES[$fam]:-0} of ${N[$fam]} cycles left residue" [ "${RES[$fam]:-0}" -eq 0 ]
	t_check torture_${fam}_lateness "p99 $p99 ms (bound $bound)" \
		bash -c "[ '$p99' = - ] || [ '$p99' -le $bound ]"
done
exit 0
