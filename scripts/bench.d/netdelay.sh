#!/usr/bin/env bash
# Network delay: tug net delay (departure times + fq, one peer) against
# `tc qdisc add dev X root netem delay D` (the whole device), the tool the
# other chaos tools drive, side by side in one run on a veth pair between two
# namespaces. Prints a markdown section on stdout; progress on stderr.
#
# ICMP probes every 5 ms to the targeted peer (10.200.0.2) and to another
# address on the same link (10.200.0.3): the delay each sees while the fault
# holds, the probes lost, the onset (command -> first delayed probe) and the
# heal (deadline or qdisc removal -> first undelayed probe).
# Needs the fq and netem qdiscs (a Debian guest: scripts/vm).
set -euo pipefail
trap 'echo "bench netdelay: failed at line $LINENO" >&2' ERR
: "${TUG:?}" "${TUG_BUILD:?}"
REPS=${REPS:-3}
DELAY_MS=${DELAY_MS:-50}
HOLD_MS=1500
A=tugbench-a B=tugbench-b
tmp=$(mktemp -d)
cleanup() {
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
cleanup
tmp=$(mktemp -d)
log() { echo "bench netdelay: $*" >&2; }
now_ms() { date +%s%3N; }

for q in fq netem; do
	"$TUG" doctor --json | grep "\"check\":\"qdisc_$q\"" | grep -q '"ok":true' ||
		# scripts/bench keeps the section measured where fq and netem exist.
		{ log "this kernel has no $q qdisc (tug doctor); run it in a Debian guest"; exit 3; }
done
ip netns add "$A"
ip netns add "$B"
ip link add va netns "$A" type veth peer name vb netns "$B"
ip -n "$A" addr add 10.200.0.1/24 dev va
ip -n "$B" addr add 10.200.0.2/24 dev vb
ip -n "$B" addr add 10.200.0.3/24 dev vb
for n in "$A" "$B"; do ip -n "$n" link set lo up; done
ip -n "$A" link set va up
ip -n "$B" link set vb up
ip netns exec "$A" ping -c1 -W2 10.200.0.2 >/dev/null

# probe ADDR OUT: "<send time ms> <rtt ms>" a reply, for 3.5 s (700 probes); the last
# line "lost N".
probe() {
	# ping exits 1 when a probe went unanswered: counted, not fatal.
	{ ip netns exec "$A" ping -D -n -i 0.005 -c 700 -W 1 "$1" 2>/dev/null || true; } | awk '
		/time=/ { t = substr($1, 2, length($1) - 2) * 1000; r = $0; sub(/.*time=/, "", r); sub(/ ms.*/, "", r)
			  printf "%.3f %s\n", t - r, r }
		/packets transmitted/ { print "lost", $1 - $4 }' >"$2"
}
# window FILE FROM TO: median rtt of the probes sent in [FROM, TO).
window() { awk -v a="$2" -v b="$3" '$1 != "lost" && $1 >= a && $1 < b { print $2 }' "$1" | median; }
first_after() {	# FILE T0 slow|fast: ms from T0 to the first probe that is
	awk -v t0="$2" -v k="$3" -v d="$DELAY_MS" '$1 != "lost" && $1 >= t0 &&
		((k == "slow" && $2 >= d * 0.8) || (k == "fast" && $2 < d * 0.5)) { printf "%.1f\n", $1 - t0; exit }' "$1"
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (!NR) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
lost() { awk '$1 == "lost" { print $2 }' "$1"; }
field() { grep "\"event\":\"$2\"" "$1" | head -1 | sed -n "s/.*\"$3\":\([0-9]*\).*/\1/p"; }

declare -A r
run() {	# TOOL REP: one fault of 1.5 s with both probers running
	local tool=$1 i=$2 t_cmd t_set t_heal t_done out="$tmp/out-$1-$2"
	probe 10.200.0.2 "$tmp/peer-$tool-$i" &
	local p1=$!
	probe 10.200.0.3 "$tmp/other-$tool-$i" &
	local p2=$!
	sleep 0.5
	t_cmd=$(now_ms)
	if [ "$tool" != netem ]; then
		"$TUG" net delay --netns "$A" --peer 10.200.0.2 --delay "${DELAY_MS}ms" \
			--qdisc "${tool#tug}" --for "${HOLD_MS}ms" --json >"$out" 2>&1
		t_set=$(field "$out" applied ts_ms) t_heal=$(field "$out" applied deadline_ms)
		t_done=$(field "$out" reverted ts_ms)
	else
		tc -n "$A" qdisc add dev va root netem delay "${DELAY_MS}ms"
		t_set=$(now_ms)
		sleep "$(awk -v h=$HOLD_MS 'BEGIN { print h / 1000 }')"
		t_heal=$(now_ms)
		tc -n "$A" qdisc del dev va root
		t_done=$(now_ms)
	fi
	wait "$p1" "$p2"
	r[$tool,$i,setup]=$((t_set - t_cmd))
	r[$tool,$i,teardown]=$((t_done - t_heal))
	r[$tool,$i,onset]=$(first_after "$tmp/peer-$tool-$i" "$t_cmd" slow)
	r[$tool,$i,heal]=$(first_after "$tmp/peer-$tool-$i" "$t_heal" fast)
	r[$tool,$i,peer]=$(window "$tmp/peer-$tool-$i" $((t_set + 100)) $((t_heal - 100)))
	r[$tool,$i,other]=$(window "$tmp/other-$tool-$i" $((t_set + 100)) $((t_heal - 100)))
	r[$tool,$i,lost]=$(($(lost "$tmp/peer-$tool-$i") + $(lost "$tmp/other-$tool-$i")))
	log "$tool $i: setup ${r[$tool,$i,setup]} onset ${r[$tool,$i,onset]} heal ${r[$tool,$i,heal]} peer ${r[$tool,$i,peer]} other ${r[$tool,$i,other]} lost ${r[$tool,$i,lost]}"
}

"$TUG" net delay --netns "$A" --peer 10.200.0.2 --delay 1ms --for 1ms >/dev/null 2>&1 || true	# warm caches
base_peer=$(probe 10.200.0.2 "$tmp/base" && window "$tmp/base" 0 9999999999999)
TOOLS="tugfq tugnetem netem"
for i in $(seq "$REPS"); do
	for tool in $TOOLS; do run "$tool" "$i"; done
done

# bulk TOOL: KiB/s of one 512 KiB TCP transfer from A to the targeted peer
# while the delay holds.
PY=/usr/bin/python3
bulk() {
	local tool=$1 srv tugp kbs
	ip netns exec "$B" "$PY" -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.200.0.2", 5001)); s.listen(1); c, _ = s.accept(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
c.sendall(str(n).encode())' &
	srv=$!
	if [ "$tool" = netem ]; then
		tc -n "$A" qdisc add dev va root netem delay "${DELAY_MS}ms"
	else
		"$TUG" net delay --netns "$A" --peer 10.200.0.2 --delay "${DELAY_MS}ms" \
			--qdisc "${tool#tug}" --for 60s --json >"$tmp/bulk-$tool" 2>&1 &
		tugp=$!
		for _ in $(seq 300); do grep -q '"applied"' "$tmp/bulk-$tool" && break; sleep 0.02; done
	fi
	sleep 0.3
	kbs=$(ip netns exec "$A" "$PY" -c '
import socket, time
c = socket.create_connection(("10.200.0.2", 5001), timeout=60); t = time.monotonic()
c.sendall(b"x" * (512 << 10)); c.shutdown(socket.SHUT_WR); n = int(c.recv(64))
print("%.0f" % (n / 1024 / (time.monotonic() - t)))' 2>/dev/null || echo n/a)
	if [ "$tool" = netem ]; then
		tc -n "$A" qdisc del dev va root
	else
		kill -INT "$tugp"
		wait "$tugp" || true
	fi
	kill "$srv" 2>/dev/null || true
	wait "$srv" 2>/dev/null || true
	echo "$kbs"
}
declare -A bulk_kbs
if [ -x "$PY" ]; then
	for tool in $TOOLS; do bulk_kbs[$tool]=$(bulk "$tool"); log "$tool bulk ${bulk_kbs[$tool]} KiB/s"; done
else
	for tool in $TOOLS; do bulk_kbs[$tool]=n/a; done
fi
med() { for i in $(seq "$REPS"); do echo "${r[$1,$i,$2]}"; done | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
added() { awk -v a="$1" -v b="$base_peer" 'BEGIN { printf "%+.2f", a - b }'; }
tugbackend=$("$TUG" doctor --json | grep '"fault":"net delay"' | sed -n 's/.*"backend":"\([^"]*\)".*/\1/p')

cat <<EOF
## Network delay: tug vs tc netem

Machine: $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%d).
Command: \`scripts/bench netdelay\` (scripts/bench.d/netdelay.sh; REPS=$REPS, medians). A veth pair between
two namespaces; ICMP probes every 5 ms from A to the targeted peer 10.200.0.2 and to 10.200.0.3 on
the same link. tug: \`tug net delay --peer 10.200.0.2 --delay ${DELAY_MS}ms --for ${HOLD_MS}ms --qdisc fq|netem\` ($tugbackend);
netem: \`tc qdisc add dev va root netem delay ${DELAY_MS}ms\`, ${HOLD_MS} ms, \`tc qdisc del dev va root\`.
Round trip without a fault: $base_peer ms.

| | tug (fq) | tug (\`--qdisc netem\`) | netem on the device | tug fq / netem | tug netem / netem |
|---|---:|---:|---:|---:|---:|
EOF
row() {	# LABEL FIELD [added]
	local a b c
	a=$(med tugfq "$2") b=$(med tugnetem "$2") c=$(med netem "$2")
	if [ "${3:-}" = added ]; then
		echo "| $1 | $a ($(added "$a")) | $b ($(added "$b")) | $c ($(added "$c")) | $(ratio "$a" "$c") | $(ratio "$b" "$c") |"
	else
		echo "| $1 | $a | $b | $c | $(ratio "$a" "$c") | $(ratio "$b" "$c") |"
	fi
}
row "targeted peer, round trip while held (ms)" peer added
row "untargeted address, same link (ms)" other added
row "command -> in place (ms)" setup
row "command -> first delayed probe (ms)" onset
row "deadline / \`tc qdisc del\` -> first undelayed probe (ms)" heal
row "deadline / \`tc qdisc del\` -> qdisc gone (ms)" teardown
row "probes lost, both addresses, a run" lost
echo "| bulk TCP to the peer, 512 KiB (KiB/s) | ${bulk_kbs[tugfq]} | ${bulk_kbs[tugnetem]} | ${bulk_kbs[netem]} | $(ratio "${bulk_kbs[tugfq]}" "${bulk_kbs[netem]}") | $(ratio "${bulk_kbs[tugnetem]}" "${bulk_kbs[netem]}") |"
cat <<EOF

netem on the root delays every packet the device sends: the untargeted address pays the full
delay too. tug stamps (fq) or steers (netem class) only the chosen peer's packets; the rest
leave at once. Bulk TCP from this host: fq's held packets still count against the socket's
TCP Small Queues budget, netem frees it (README). At the end tug
detaches its program first (no new packet is delayed: the heal), then waits for the packets
already stamped to leave before deleting fq, so its teardown includes up to one delay;
deleting netem drops what it still holds. tug's setup includes starting the process, loading
the program, the journal and the guardian; it needs no command to end. Probes lost: on kernels
without tcx (6.1) tug creates a clsact qdisc besides its fq, and every root or clsact qdisc
change goes through qdisc_graft(), which deactivates the device for an RCU grace period (a few
packets to any address drop, at apply and at revert; docs/KERNELS.md); netem's add and delete
graft too, and its delete drops the packets it holds.
EOF
if [ "$(systemd-detect-virt 2>/dev/null)" = qemu ]; then
	echo
	echo "Under full emulation (QEMU TCG, about ten times slower than hardware) the process start-up"
	echo "times are the emulator's; the delays seen and the targeted/untargeted contrast carry over."
fi
