#!/usr/bin/env bash
# net bandwidth, corrupt, duplicate: tug against tc, side by side in one run
# on a veth pair between two namespaces. This kernel's tc has tbf (and htb,
# pfifo) but no netem, no police action and no classifier other than bpf:
# the only tc equivalent is a tbf on the whole device. Prints a markdown
# section on stdout; progress on stderr.
#
#   1. bandwidth accuracy (TCP, iperf3) at 1, 10, 100 Mbit/s, with an
#      untargeted flow to another address on the same link at the same time;
#   2. corrupt and duplicate: the share measured by the receiver vs asked;
#   3. setup (command -> in force) and heal (revert -> gone) times.
set -euo pipefail
: "${TUG:?}" "${TUG_BUILD:?}"
U="$TUG_BUILD/tests/udpseq"
REPS=${REPS:-5}
SECS=${IPERF_SECS:-4}
N=${DATAGRAMS:-20000}
A=tugbench-sa B=tugbench-sb BENCH=netshape
. "$(dirname "$0")/../bench-veth.sh"

# iperf ADDR PORT: Mbit/s received over SECS, the first second left out.
iperf() {
	ip netns exec "$B" iperf3 -s -1 -B "$1" -p "$2" >/dev/null 2>&1 &
	local srv=$!
	sleep 0.2
	ip netns exec "$A" iperf3 -c "$1" -p "$2" -t "$SECS" -O 1 -J 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))'
	wait "$srv" 2>/dev/null || true
}
# both: the targeted (10.200.0.2) and the untargeted (10.200.0.3) flow at
# once; "TARGETED UNTARGETED" in Mbit/s.
both() {
	iperf 10.200.0.3 5202 >"$tmp/other" &
	local o=$!
	local t
	t=$(iperf 10.200.0.2 5201)
	wait "$o"
	echo "$t $(cat "$tmp/other")"
}
# tug_start OUT ARGS...: a tug fault in the background, pid in $tp, once applied.
tug_start() {
	local out=$1
	shift
	"$TUG" "$@" --for 10m --json >"$out" &
	tp=$!
	while ! grep -q '"applied"' "$out" 2>/dev/null; do sleep 0.002; done
}
tug_stop() { kill -TERM "$tp"; wait "$tp" || true; }
burst_of() { awk -v r="$1" 'BEGIN { b = r / 8 * 0.2; if (b < 98304) b = 98304; printf "%d", b }'; }

log "baseline"
read -r base_t base_o <<<"$(both)"
declare -A tug_t tug_o tbf_t tbf_o
for r in 1 10 100; do
	log "bandwidth ${r}mbit: tug"
	tug_start "$tmp/bw" net bandwidth --netns "$A" --peer 10.200.0.2 --rate "${r}mbit"
	read -r tug_t[$r] tug_o[$r] <<<"$(both)"
	tug_stop
	log "bandwidth ${r}mbit: tc tbf"
	tc -n "$A" qdisc add dev va root tbf rate "${r}mbit" burst "$(burst_of $((r * 1000000)))" latency 50ms
	read -r tbf_t[$r] tbf_o[$r] <<<"$(both)"
	tc -n "$A" qdisc del dev va root
done

log "setup and heal: $REPS rounds each"
: >"$tmp/tug_up"; : >"$tmp/tug_down"; : >"$tmp/tbf_up"; : >"$tmp/tbf_down"
for _ in $(seq "$REPS"); do
	t0=$(now_ms)
	tug_start "$tmp/bw" net bandwidth --netns "$A" --peer 10.200.0.2 --rate 10mbit
	echo $(($(now_ms) - t0)) >>"$tmp/tug_up"
	t0=$(now_ms)
	tug_stop
	echo $(($(now_ms) - t0)) >>"$tmp/tug_down"
	t0=$(now_ms)
	tc -n "$A" qdisc add dev va root tbf rate 10mbit burst 250000 latency 50ms
	echo $(($(now_ms) - t0)) >>"$tmp/tbf_up"
	t0=$(now_ms)
	tc -n "$A" qdisc del dev va root
	echo $(($(now_ms) - t0)) >>"$tmp/tbf_down"
done
for v in corrupt duplicate; do
	: >"$tmp/${v}_up"; : >"$tmp/${v}_down"
	for _ in $(seq "$REPS"); do
		t0=$(now_ms)
		tug_start "$tmp/sh" net "$v" --netns "$A" --peer 10.200.0.2 --percent 10
		echo $(($(now_ms) - t0)) >>"$tmp/${v}_up"
		t0=$(now_ms)
		tug_stop
		echo $(($(now_ms) - t0)) >>"$tmp/${v}_down"
	done
done

# share VERB PERCENT: "MEASURED_PCT UNTARGETED_DAMAGED" from N datagrams to
# each address at once. corrupt counts the receiver's checksum drops (A's tx
# checksum offload off: veth never verifies an offloaded one).
udp_stat() {
	ip netns exec "$B" awk -v k="$1" '/^Udp:/ { if (!h) { for (i = 2; i <= NF; i++) if ($i == k) c = i; h = 1 } else print $c }' /proc/net/snmp
}
field() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1"; }
share() {
	local c0 r1 r2 s1
	c0=$(udp_stat InCsumErrors)
	tug_start "$tmp/sh" net "$1" --netns "$A" --peer 10.200.0.2 --percent "$2"
	ip netns exec "$B" "$U" recv 10.200.0.2 9000 1500 >"$tmp/r1" &
	r1=$!
	ip netns exec "$B" "$U" recv 10.200.0.3 9001 1500 >"$tmp/r2" &
	r2=$!
	while ! grep -q ready "$tmp/r1" 2>/dev/null || ! grep -q ready "$tmp/r2" 2>/dev/null; do sleep 0.01; done
	ip netns exec "$A" "$U" send 10.200.0.2 9000 "$N" 256 20 &
	s1=$!
	ip netns exec "$A" "$U" send 10.200.0.3 9001 "$N" 256 20
	wait "$s1" "$r1" "$r2"
	tug_stop
	local hit
	if [ "$1" = corrupt ]; then
		hit=$(($(udp_stat InCsumErrors) - c0))
	else
		hit=$(field "$tmp/r1" duplicates)
	fi
	echo "$(awk -v h="$hit" -v n="$N" 'BEGIN { printf "%.2f", 100 * h / n }') $(( $(field "$tmp/r2" corrupt) + $(field "$tmp/r2" duplicates) + N - $(field "$tmp/r2" unique) ))"
}
ip netns exec "$A" ethtool -K va tx off >/dev/null 2>&1 || log "no ethtool: corrupt shares will read 0"
declare -A sh_c sh_co sh_d sh_do
for p in 1 10 50; do
	log "share ${p}%: corrupt, duplicate"
	read -r sh_c[$p] sh_co[$p] <<<"$(share corrupt "$p")"
	read -r sh_d[$p] sh_do[$p] <<<"$(share duplicate "$p")"
done
ip netns exec "$A" ethtool -K va tx on >/dev/null 2>&1 || true

cat <<EOF
## Network shaping: tug net bandwidth / corrupt / duplicate vs tc

Machine: $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%d).
Command: \`make bench\` (scripts/bench.d/netshape.sh; iperf3 runs of ${SECS}s, the first second
left out; REPS=$REPS; $N datagrams a share). A veth pair between two namespaces: the fault
targets 10.200.0.2; 10.200.0.3 on the same link is the untargeted address, with its own
iperf3 flow at the same time. This kernel's tc has tbf, htb and pfifo but no netem, no police
action and no classifier but bpf: the tc equivalent of a bandwidth limit is a tbf on the
whole device (burst as tug's default: 200 ms of the rate, at least 96K); corrupt and duplicate
have none here (netem's corrupt and duplicate need sch_netem).

### Bandwidth: TCP throughput, Mbit/s (no fault: targeted $base_t, untargeted $base_o)

| asked | tug: targeted | reached / asked | tug: untargeted | tbf: targeted | tbf: untargeted | tbf: both / asked |
|---:|---:|---:|---:|---:|---:|---:|
EOF
for r in 1 10 100; do
	echo "| ${r} Mbit/s | ${tug_t[$r]} | $(ratio "${tug_t[$r]}" "$r") | ${tug_o[$r]} | ${tbf_t[$r]} | ${tbf_o[$r]} | $(ratio "$(awk -v a="${tbf_t[$r]}" -v b="${tbf_o[$r]}" 'BEGIN { print a + b }')" "$r") |"
done
cat <<EOF

tug polices exactly the peer's traffic (a token bucket per direction in the tc program,
drops over the rate); the untargeted flow keeps the link's full speed. tbf shapes the whole
device: the two flows share the rate (the last column is tbf's accuracy), so the untargeted
one is limited too, and tbf queues (up to its latency) where tug drops.

### Corrupt and duplicate: share of the peer's UDP datagrams hit, % (untargeted: datagrams damaged, duplicated or lost of $N)

| asked | tug corrupt (receiver's checksum drops) | untargeted | tug duplicate (receiver's repeats) | untargeted | tc netem |
|---:|---:|---:|---:|---:|---|
EOF
for p in 1 10 50; do
	echo "| $p % | ${sh_c[$p]} | ${sh_co[$p]} | ${sh_d[$p]} | ${sh_do[$p]} | not on this kernel (no sch_netem) |"
done
cat <<EOF

### Setup and heal (median of $REPS, ms)

| | tug bandwidth | tc tbf | tug / tc | tug corrupt | tug duplicate |
|---|---:|---:|---:|---:|---:|
| command -> in force (tug: its "applied" event) | $(median <"$tmp/tug_up") | $(median <"$tmp/tbf_up") | $(ratio "$(median <"$tmp/tug_up")" "$(median <"$tmp/tbf_up")") | $(median <"$tmp/corrupt_up") | $(median <"$tmp/duplicate_up") |
| revert (tug: SIGTERM -> exit) / tc qdisc del | $(median <"$tmp/tug_down") | $(median <"$tmp/tbf_down") | $(ratio "$(median <"$tmp/tug_down")" "$(median <"$tmp/tbf_down")") | $(median <"$tmp/corrupt_down") | $(median <"$tmp/duplicate_down") |

tug's times include starting the process, loading and attaching the program, the journal
and the guardian; it also heals by itself at its deadline and when killed (tcx links die
with the process), where a tc qdisc stays until someone deletes it.
EOF
