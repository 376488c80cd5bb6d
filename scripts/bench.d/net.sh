#!/usr/bin/env bash
# Network partitions: tug (tcx + LPM trie) against iptables DROP rules, the
# tool operators use today, side by side in one run on a veth pair between
# two namespaces. Prints a markdown section on stdout; progress on stderr.
#
#   1. onset (command -> first dropped probe) and heal (deadline or rule
#      removal -> first passing probe), ICMP probes every 1 ms;
#   2. throughput of traffic that is NOT targeted (iperf3 to another address)
#      with 1, 100 and 10,000 blocked peers.
set -euo pipefail
: "${TUG:?}" "${TUG_BUILD:?}"
PT="$TUG_BUILD/tests/pingtrace"
REPS=${REPS:-5}
IPERF_SECS=${IPERF_SECS:-2}
A=tugbench-a B=tugbench-b BENCH=net
. "$(dirname "$0")/../bench-veth.sh"

ipt() { ip netns exec "$A" iptables -w "$@"; }

# first_drop TRACE T0 / first_pass TRACE T0: ms from T0 to the first probe
# sent after T0 that was lost / replied.
first_after() { awk -v t0="$2" -v want="$3" '$1 / 1000.0 >= t0 && $3 == want { printf "%.1f\n", $1 / 1000.0 - t0; exit }' "$1"; }

log "onset/heal: $REPS rounds each, probes every 1 ms"
: >"$tmp/tug_on"; : >"$tmp/tug_att"; : >"$tmp/tug_off"; : >"$tmp/ipt_on"; : >"$tmp/ipt_off"
for r in $(seq "$REPS"); do
	# tug: the command, then its own deadline heals it.
	ip netns exec "$A" "$PT" -i 1000 -d 1600 -W 10 10.200.0.2 >"$tmp/trace" &
	pt=$!
	sleep 0.3
	t0=$(now_ms)
	"$TUG" net partition --netns "$A" --peer 10.200.0.2 --for 500ms --json >"$tmp/out"
	wait "$pt"
	deadline=$(grep '"applied"' "$tmp/out" | sed -n 's/.*"deadline_ms":\([0-9]*\).*/\1/p')
	applied=$(grep '"applied"' "$tmp/out" | sed -n 's/.*"ts_ms":\([0-9]*\).*/\1/p')
	first_after "$tmp/trace" "$t0" 0 >>"$tmp/tug_on"
	first_after "$tmp/trace" "$applied" 0 >>"$tmp/tug_att"
	first_after "$tmp/trace" "$deadline" 1 >>"$tmp/tug_off"

	# iptables: add the rules, wait, delete them.
	ip netns exec "$A" "$PT" -i 1000 -d 1600 -W 10 10.200.0.2 >"$tmp/trace" &
	pt=$!
	sleep 0.3
	t0=$(now_ms)
	ipt -A INPUT -s 10.200.0.2 -j DROP
	ipt -A OUTPUT -d 10.200.0.2 -j DROP
	sleep 0.5
	t1=$(now_ms)
	ipt -D INPUT -s 10.200.0.2 -j DROP
	ipt -D OUTPUT -d 10.200.0.2 -j DROP
	wait "$pt"
	first_after "$tmp/trace" "$t0" 0 >>"$tmp/ipt_on"
	first_after "$tmp/trace" "$t1" 1 >>"$tmp/ipt_off"
done
tug_on=$(median <"$tmp/tug_on") tug_att=$(median <"$tmp/tug_att") tug_off=$(median <"$tmp/tug_off")
ipt_on=$(median <"$tmp/ipt_on") ipt_off=$(median <"$tmp/ipt_off")

# Whole process, and where tug's time goes: TUG_TIMING=1 stamps (wall ms)
# against the moment the launcher called exec. Per stage, the median of
# STAMP_REPS runs; then one iptables -A (and its -D) timed the same way.
log "whole process and stages: ${STAMP_REPS:-15} runs each"
/usr/bin/python3 - "$TUG" "$A" "${STAMP_REPS:-15}" >"$tmp/stages" <<'PY'
import os, statistics, subprocess, sys, time
tug, ns, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
env = dict(os.environ, TUG_TIMING="1")
order = ["main", "parsed", "prepared", "knobs checked", "guardian started",
         "journal written", "programs loaded", "attaching", "applied"]
rows = {k: [] for k in order + ["exit", "total", "ipt"]}
def run(cmd, env=None):
    t0 = time.time() * 1000
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return t0, time.time() * 1000, p
for _ in range(reps):
    t0, t1, p = run([tug, "net", "partition", "--netns", ns, "--peer", "10.200.0.2", "--for", "1ms"], env)
    st = {}
    for l in p.stderr.splitlines():
        if l.startswith("tug: timing: "):
            f = l.split(None, 4)
            st[f[4]] = float(f[2])
    prev = t0
    for k in order:
        rows[k].append(st[k] - prev)
        prev = st[k]
    rows["exit"].append(t1 - st["applied"])
    rows["total"].append(t1 - t0)
    a0, a1, _ = run(["ip", "netns", "exec", ns, "iptables", "-w", "-A", "OUTPUT", "-d", "10.200.0.2", "-j", "DROP"])
    run(["ip", "netns", "exec", ns, "iptables", "-w", "-D", "OUTPUT", "-d", "10.200.0.2", "-j", "DROP"])
    rows["ipt"].append(a1 - a0)
for k, v in rows.items():
    print("%s\t%.1f" % (k, statistics.median(v)))
PY
stage() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$tmp/stages"; }

peers_file() {	# N -> file of N /32 peers in 10.200.64.0/18, none of them on the link
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "10.200.%d.%d\n", 64 + int(i / 256), i % 256 }' >"$tmp/peers$1"
}

iperf_once() {
	ip netns exec "$B" iperf3 -s -1 -B 10.200.0.3 -p 5201 >/dev/null 2>&1 &
	local srv=$!
	sleep 0.2
	ip netns exec "$A" iperf3 -c 10.200.0.3 -p 5201 -t "$IPERF_SECS" -J 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9))'
	wait "$srv" 2>/dev/null || true
}
# Median of IPERF_RUNS runs: veth throughput on a small machine is noisy.
iperf() { for _ in $(seq "${IPERF_RUNS:-3}"); do iperf_once; done | median; }

log "throughput: baseline"
base=$(iperf)
declare -A tput_tug tput_ipt setup_tug setup_ipt
for n in 1 100 10000; do
	peers_file "$n"
	log "throughput: tug with $n peers"
	t0=$(now_ms)
	"$TUG" net partition --netns "$A" --peers-file "$tmp/peers$n" --dev va --for 5m --json >"$tmp/tugout" &
	tp=$!
	while ! grep -q '"applied"' "$tmp/tugout" 2>/dev/null; do sleep 0.005; done
	setup_tug[$n]=$(($(now_ms) - t0))
	tput_tug[$n]=$(iperf)
	kill "$tp"
	wait "$tp" || true

	log "throughput: iptables with $n rules per direction"
	t0=$(now_ms)
	{
		echo "*filter"
		awk '{ print "-A INPUT -s " $1 " -j DROP"; print "-A OUTPUT -d " $1 " -j DROP" }' "$tmp/peers$n"
		echo "COMMIT"
	} | ip netns exec "$A" iptables-restore -w
	setup_ipt[$n]=$(($(now_ms) - t0))
	tput_ipt[$n]=$(iperf)
	ipt -F INPUT
	ipt -F OUTPUT
done

pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f %%", (a / b - 1) * 100 }'; }

cat <<EOF
## Network partition: tug vs iptables

Machine: $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%d).
Command: \`make bench\` (scripts/bench.d/net.sh; REPS=$REPS, median of ${IPERF_RUNS:-3} iperf3 runs of ${IPERF_SECS}s). A veth pair between two
namespaces; ICMP probes every 1 ms from A to the peer; iperf3 from A to another address on the
same link, which no rule targets. iptables is Debian 12's (nft backend), rules in A's INPUT and
OUTPUT chains, loaded with one iptables-restore; tug is \`tug net partition\` (tcx).

### Onset and heal (median of $REPS, ms)

| | tug | iptables | tug / iptables |
|---|---:|---:|---:|
| command -> first dropped probe | $tug_on | $ipt_on | $(ratio "$tug_on" "$ipt_on") |
| tug's "applied" event -> first dropped probe | $tug_att | | |
| deadline (tug) / rule removal (iptables) -> first passing probe | $tug_off | $ipt_off | $(ratio "$tug_off" "$ipt_off") |

tug's onset includes starting the process, loading the program and attaching it; the
second row shows the kernel side is immediate once attached. Its heal needs no command
at all: it happens at the deadline by itself. iptables' heal is measured from the
moment an operator runs the delete commands, which the runbook must remember to do.

### Whole process (median of ${STAMP_REPS:-15}, ms)

| | tug | iptables | tug / iptables |
|---|---:|---:|---:|
| \`tug net partition --for 1ms\` / one \`iptables -A\` (both through \`ip netns exec\`: tug enters the namespace itself) | $(stage total) | $(stage ipt) | $(ratio "$(stage total)" "$(stage ipt)") |

Where tug's time goes (TUG_TIMING=1 stamps; each row from the previous stamp):

| stage | ms |
|---|---:|
| exec -> main (kernel exec, dynamic loader: the node controller maps 12 shared objects) | $(stage main) |
| options parsed | $(stage parsed) |
| prepared (namespace entered, route lookup to the device, backend chosen) | $(stage prepared) |
| journal locked, knobs checked | $(stage "knobs checked") |
| guardian forked | $(stage "guardian started") |
| journal entry written | $(stage "journal written") |
| program opened, loaded, verified, peers filled | $(stage "programs loaded") |
| namespace entered for the attach | $(stage attaching) |
| both tcx links attached: the first drops packets as soon as its attach begins to wait | $(stage applied) |
| hold (1 ms), revert (both links detached), journal removed, exit | $(stage exit) |

The kernel's RCU grace periods are most of it. A tcx attach on a device that has no tcx
program yet publishes the new entry, waits a grace period, only then enables the
datapath's static key (\`tcx_entry_sync\` before \`tcx_skeys_inc\`), and waits once more
(\`bpf_mprog_commit\`); each detach waits too, all under the rtnl lock, so threads would
not overlap them. The onset pays for the first attach's first wait: tug reaches its
first attach about 4 ms after exec (the stamps above), and the first probe drops one
grace period later. That grace period is why tug's onset is above iptables-nft's on a
quiet machine, which pays one netlink transaction and no grace period; on a loaded one
both grow, and in one development run under load iptables took 30 ms to tug's 20.
Where a device already has a tcx program, a new one takes effect at once.

### Throughput of untargeted traffic (Gbit/s; no fault: $base)

| blocked peers | tug | vs no fault | iptables | vs no fault | tug / iptables | setup tug (ms) | setup iptables (ms) |
|---:|---:|---:|---:|---:|---:|---:|---:|
EOF
for n in 1 100 10000; do
	echo "| $n | ${tput_tug[$n]} | $(pct "${tput_tug[$n]}" "$base") | ${tput_ipt[$n]} | $(pct "${tput_ipt[$n]}" "$base") | $(ratio "${tput_tug[$n]}" "${tput_ipt[$n]}") | ${setup_tug[$n]} | ${setup_ipt[$n]} |"
done
echo
echo "tug does one LPM-trie lookup per packet whatever the number of peers; iptables walks its"
echo "rules in order, so every untargeted packet pays for all of them."
