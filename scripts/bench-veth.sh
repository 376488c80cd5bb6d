# Sourced by the network benchmarks (scripts/bench.d/net*.sh) after they set
# A, B (namespace names) and BENCH (their name, for progress lines): two
# namespaces joined by veth, va (10.200.0.1) in A and vb (10.200.0.2 and
# 10.200.0.3) in B, removed at exit with the scratch directory $tmp.
cleanup() {
	ip netns pids "$B" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$A" 2>/dev/null || true
	ip netns del "$B" 2>/dev/null || true
	[ -n "${tmp:-}" ] && mountpoint -q "$tmp/run" && umount "$tmp/run"
	rm -rf "${tmp:-}"
}
trap cleanup EXIT
cleanup
tmp=$(mktemp -d)
log() { echo "bench $BENCH: $*" >&2; }
now_ms() { date +%s%3N; }
# stamp VAR: now in ms since the epoch, to the microsecond, into VAR, without
# forking a clock (a launch stamped with $(now_ms) pays the fork after it).
stamp() { local t=${EPOCHREALTIME/./}; printf -v "$1" '%d.%03d' $((t / 1000)) $((t % 1000)); }
# tug's journal on a tmpfs of its own, as /run is on the systemd hosts tug
# is for: a machine whose /run is on its root file system (ext4 mounted
# with discard, say) would time that file system's unlinks, not tug.
journal_on_tmpfs() {
	mkdir -p "$tmp/run"
	mount -t tmpfs -o size=1m,mode=0700 tug-bench-run "$tmp/run"
	export TUG_RUN_DIR="$tmp/run"
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

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
