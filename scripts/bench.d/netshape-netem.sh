#!/usr/bin/env bash
# net corrupt and net duplicate against netem on the whole device, side by
# side in one run, where the kernel has sch_netem (the Debian guests of
# scripts/vm; not this project's development kernel). A veth pair between
# two namespaces; N numbered UDP datagrams to the targeted peer (10.200.0.2)
# and N to an untargeted address on the same link (10.200.0.3), at once.
# Per flow, the share hit: corrupt = datagrams that did not arrive intact
# (the receiver drops a bad checksum), duplicate = repeats received.
# Prints a markdown section on stdout; progress on stderr.
set -euo pipefail
: "${TUG:?}" "${TUG_BUILD:?}"
U="$TUG_BUILD/tests/udpseq"
N=${DATAGRAMS:-20000}
A=tugbench-na B=tugbench-nb BENCH=netshape-netem
. "$(dirname "$0")/../bench-veth.sh"

if ! tc -n "$A" qdisc add dev va root netem delay 0ms 2>/dev/null; then
	# scripts/bench keeps the section measured where netem exists.
	log "$(uname -r) has no sch_netem; run it in a Debian guest (docs/KERNELS.md)"
	exit 3
fi
tc -n "$A" qdisc del dev va root
# veth never verifies a checksum the sender offloaded: checksum on A's side.
ip netns exec "$A" ethtool -K va tx off >/dev/null

field() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1"; }
# flows: N datagrams to each address at once; "TARGETED_PCT UNTARGETED_PCT"
# for KIND (corrupt: not intact; duplicate: repeats).
flows() {
	local r1 r2 s1
	ip netns exec "$B" "$U" recv 10.200.0.2 9000 1500 >"$tmp/r1" &
	r1=$!
	ip netns exec "$B" "$U" recv 10.200.0.3 9001 1500 >"$tmp/r2" &
	r2=$!
	while ! grep -q ready "$tmp/r1" 2>/dev/null || ! grep -q ready "$tmp/r2" 2>/dev/null; do sleep 0.01; done
	ip netns exec "$A" "$U" send 10.200.0.2 9000 "$N" 256 20 &
	s1=$!
	ip netns exec "$A" "$U" send 10.200.0.3 9001 "$N" 256 20
	wait "$s1" "$r1" "$r2"
	if [ "$1" = corrupt ]; then
		awk -v a="$(field "$tmp/r1" unique)" -v ac="$(field "$tmp/r1" corrupt)" \
		    -v b="$(field "$tmp/r2" unique)" -v bc="$(field "$tmp/r2" corrupt)" -v n="$N" \
			'BEGIN { printf "%.2f %.2f\n", 100 * (n - a + ac) / n, 100 * (n - b + bc) / n }'
	else
		awk -v a="$(field "$tmp/r1" duplicates)" -v b="$(field "$tmp/r2" duplicates)" -v n="$N" \
			'BEGIN { printf "%.2f %.2f\n", 100 * a / n, 100 * b / n }'
	fi
}

declare -A tug_t tug_u nm_t nm_u
for kind in corrupt duplicate; do
	for p in 1 10 50; do
		log "$kind ${p}%: tug"
		"$TUG" net "$kind" --netns "$A" --peer 10.200.0.2 --percent "$p" --for 10m --json >"$tmp/out" &
		tp=$!
		while ! grep -q '"applied"' "$tmp/out" 2>/dev/null; do sleep 0.002; done
		read -r tug_t[$kind$p] tug_u[$kind$p] <<<"$(flows "$kind")"
		kill -TERM "$tp"
		wait "$tp" || true
		log "$kind ${p}%: netem"
		tc -n "$A" qdisc add dev va root netem "$kind" "${p}%"
		read -r nm_t[$kind$p] nm_u[$kind$p] <<<"$(flows "$kind")"
		tc -n "$A" qdisc del dev va root
	done
done
ip netns exec "$A" ethtool -K va tx on >/dev/null 2>&1 || true

cat <<EOF2
## Corrupt and duplicate: tug vs netem on the whole device

Machine: $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%d).
Command: \`scripts/bench netshape-netem\` (scripts/bench.d/netshape-netem.sh; $N UDP datagrams of 256 bytes
to each address at once). tug: \`tug net corrupt|duplicate --peer 10.200.0.2 --percent P\`; netem:
\`tc qdisc add dev va root netem corrupt|duplicate P%\`. Corrupt counts datagrams that did not
arrive intact (netem flips a bit anywhere in the packet, headers included; tug in the payload,
and the receiver drops the bad checksum); duplicate counts repeats received.

| | asked | tug: targeted | tug: untargeted | netem: targeted | netem: untargeted |
|---|---:|---:|---:|---:|---:|
EOF2
for kind in corrupt duplicate; do
	for p in 1 10 50; do
		echo "| $kind | $p % | ${tug_t[$kind$p]} | ${tug_u[$kind$p]} | ${nm_t[$kind$p]} | ${nm_u[$kind$p]} |"
	done
done
cat <<EOF2

netem acts on the device: every flow on it is hit by the asked share, the untargeted one
too. tug acts on the chosen peers only; the untargeted flow beside them is untouched.
EOF2
