#!/usr/bin/env bash
# Network partitions: tug (tcx + LPM trie) against iptables DROP rules, the
# tool operators use today, side by side in one run on a veth pair between
# two namespaces. Prints a markdown section on stdout; progress on stderr.
#
#   1. onset (command -> first dropped probe) and heal (deadline or rule
#      removal -> first passing probe), ICMP probes every 0.2 ms;
#   2. throughput of traffic that is NOT targeted (iperf3 to another address)
#      with 1, 100 and 10,000 blocked peers.
set -euo pipefail
: "${TUG:?}" "${TUG_BUILD:?}"
PT="$TUG_BUILD/tests/pingtrace"
REPS=${REPS:-5}
# Onset rounds: a difference of a millisecond needs more than five.
ONSET_REPS=${ONSET_REPS:-15}
IPERF_SECS=${IPERF_SECS:-2}
A=tugbench-a B=tugbench-b BENCH=net
. "$(dirname "$0")/../bench-veth.sh"
journal_on_tmpfs

ipt() { ip netns exec "$A" iptables -w "$@"; }

# first_after TRACE T0 WANT: ms from T0 (ms since the epoch, fractions
# allowed) to the first probe sent after T0 that was lost (0) / replied (1).
first_after() { awk -v t0="$2" -v want="$3" '$1 / 1000.0 >= t0 && $3 == want { printf "%.2f\n", $1 / 1000.0 - t0; exit }' "$1"; }

# tcxslow: tcx as a site with expedite-rcu = no in tug.conf has it, where
# each attach and detach waits for normal RCU grace periods.
echo "expedite-rcu = no" >"$tmp/noexp.conf"
cfg_of() { [ "$1" = tcxslow ] && echo "$tmp/noexp.conf" || echo /nonexistent; }
log "onset/heal: $ONSET_REPS rounds each, probes every 0.2 ms"
for f in tcx_on tcx_att tcx_off tcxslow_on tcxslow_att tcxslow_off clsact_on clsact_att clsact_off ipt_on ipt_off; do : >"$tmp/$f"; done
# tug, one backend: the command, then its own deadline heals it.
onset_tug() {	# BACKEND
	local be=$1 cfg deadline applied pt t0
	ip netns exec "$A" "$PT" -i 200 -d 1600 -W 10 10.200.0.2 >"$tmp/trace" &
	pt=$!
	sleep 0.3
	cfg=$(cfg_of "$be")	# (not between the stamp and the launch: a fork)
	stamp t0
	TUG_CONFIG=$cfg "$TUG" net partition --netns "$A" --peer 10.200.0.2 --for 500ms --backend "${be%slow}" --json >"$tmp/out"
	wait "$pt"
	deadline=$(grep '"applied"' "$tmp/out" | sed -n 's/.*"deadline_ms":\([0-9]*\).*/\1/p')
	applied=$(grep '"applied"' "$tmp/out" | sed -n 's/.*"ts_ms":\([0-9]*\).*/\1/p')
	first_after "$tmp/trace" "$t0" 0 >>"$tmp/${be}_on"
	first_after "$tmp/trace" "$applied" 0 >>"$tmp/${be}_att"
	first_after "$tmp/trace" "$deadline" 1 >>"$tmp/${be}_off"
}
# iptables: add the rules, wait, delete them.
onset_ipt() {
	local pt t0 t1
	ip netns exec "$A" "$PT" -i 200 -d 1600 -W 10 10.200.0.2 >"$tmp/trace" &
	pt=$!
	sleep 0.3
	stamp t0
	ipt -A INPUT -s 10.200.0.2 -j DROP
	ipt -A OUTPUT -d 10.200.0.2 -j DROP
	sleep 0.5
	stamp t1
	ipt -D INPUT -s 10.200.0.2 -j DROP
	ipt -D OUTPUT -d 10.200.0.2 -j DROP
	wait "$pt"
	first_after "$tmp/trace" "$t0" 0 >>"$tmp/ipt_on"
	first_after "$tmp/trace" "$t1" 1 >>"$tmp/ipt_off"
}
# Each round starts with the next contender: the first command after the
# last round's runs slower (colder caches), and that must not fall on one.
contenders=(tcx tcxslow clsact ipt)
for r in $(seq "$ONSET_REPS"); do
	for i in 0 1 2 3; do
		c=${contenders[$(((r + i) % 4))]}
		if [ "$c" = ipt ]; then onset_ipt; else onset_tug "$c"; fi
	done
done
for f in tcx_on tcx_att tcx_off tcxslow_on tcxslow_att tcxslow_off clsact_on clsact_att clsact_off ipt_on ipt_off; do
	declare "$f=$(median <"$tmp/$f")"
done

# Whole process, and where tug's time goes: TUG_TIMING=1 stamps (wall ms)
# against the moment the launcher called exec. Per stage, the median of
# STAMP_REPS runs; then one iptables -A (and its -D) timed the same way.
log "whole process and stages: ${STAMP_REPS:-15} runs each"
/usr/bin/python3 - "$TUG" "$A" "${STAMP_REPS:-15}" "$tmp/noexp.conf" >"$tmp/stages" <<'PY'
import os, statistics, subprocess, sys, time
tug, ns, reps, noexp = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
envs = {"tcx": dict(os.environ, TUG_TIMING="1", TUG_CONFIG="/nonexistent"),
        "tcxslow": dict(os.environ, TUG_TIMING="1", TUG_CONFIG=noexp),
        "clsact": dict(os.environ, TUG_TIMING="1", TUG_CONFIG="/nonexistent")}
order = ["main", "parsed", "prepared", "knobs checked", "guardian started",
         "journal written", "ingress loaded", "guardian ready", "ingress attached", "egress loaded",
         "egress attached", "applied", "held",
         "reverted", "journal removed", "guardian released"]
backends = ["tcx", "tcxslow", "clsact"]
rows = {(b, k): [] for b in backends for k in order + ["exit", "total"]}
rows[("", "ipt")] = []
def run(cmd, env=None):
    t0 = time.time() * 1000
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return t0, time.time() * 1000, p
def tug_once(b):
    t0, t1, p = run([tug, "net", "partition", "--netns", ns, "--peer", "10.200.0.2", "--for", "1ms",
                     "--backend", b.replace("slow", "")], envs[b])
    st = {}
    for l in p.stderr.splitlines():
        if l.startswith("tug: timing: "):
            f = l.split(None, 4)
            st[f[4]] = float(f[2])
    prev = t0
    for k in order:
        rows[(b, k)].append(st[k] - prev)
        prev = st[k]
    rows[(b, "exit")].append(t1 - st["guardian released"])
    rows[(b, "total")].append(t1 - t0)
def ipt_once():
    a0, a1, _ = run(["ip", "netns", "exec", ns, "iptables", "-w", "-A", "OUTPUT", "-d", "10.200.0.2", "-j", "DROP"])
    run(["ip", "netns", "exec", ns, "iptables", "-w", "-D", "OUTPUT", "-d", "10.200.0.2", "-j", "DROP"])
    rows[("", "ipt")].append(a1 - a0)
# Each round starts with the next contender (as the onset rounds do).
contenders = backends + ["ipt"]
for r in range(reps):
    for i in range(len(contenders)):
        c = contenders[(r + i) % len(contenders)]
        ipt_once() if c == "ipt" else tug_once(c)
for (b, k), v in rows.items():
    print("%s\t%s\t%.1f" % (b, k, statistics.median(v)))
PY
nso=$(ldd "$TUG" | grep -c "=>")	# what the dynamic loader maps
linked="libbpf, libnl, json-c and libseccomp are linked in"
ldd "$TUG" | grep -q libelf || linked="libbpf, libelf, zlib, libnl, json-c and libseccomp are linked in"
ldd "$TUG" | grep -q libbpf && linked="all of them (LINK=shared)"
stage() { awk -F'\t' -v b="$1" -v k="$2" '$1 == b && $2 == k { print $3 }' "$tmp/stages"; }
srow() { echo "| $1 | $(stage tcx "$2") | $(stage tcxslow "$2") | $(stage clsact "$2") |"; }

# Collateral: probes every 0.2 ms to 10.200.0.3, on the same link, which no
# fault or rule targets, through one fault (apply, 50 ms held, revert).
# Creating or deleting a clsact qdisc grafts it (qdisc_graft ->
# dev_deactivate), which drops every packet the device sends meanwhile; the
# third column has the qdisc there before tug (as where another tool keeps
# one), so tug only adds and removes its filters.
log "collateral: $REPS faults each, neighbour probes every 0.2 ms"
collateral() {	# CMD...: lost neighbour probes while CMD runs
	ip netns exec "$A" "$PT" -i 200 -d 500 -W 20 10.200.0.3 >"$tmp/ctrace" &
	local pt=$!
	sleep 0.1
	"$@" >/dev/null 2>&1
	wait "$pt"
	awk '!$3' "$tmp/ctrace" | wc -l
}
ipt_fault() {
	ipt -A INPUT -s 10.200.0.2 -j DROP
	ipt -A OUTPUT -d 10.200.0.2 -j DROP
	sleep 0.05
	ipt -D INPUT -s 10.200.0.2 -j DROP
	ipt -D OUTPUT -d 10.200.0.2 -j DROP
}
for f in tcx clsact clsact_kept ipt; do : >"$tmp/coll_$f"; done
for r in $(seq "$REPS"); do
	collateral "$TUG" net partition --netns "$A" --peer 10.200.0.2 --for 50ms --backend tcx >>"$tmp/coll_tcx"
	collateral "$TUG" net partition --netns "$A" --peer 10.200.0.2 --for 50ms --backend clsact >>"$tmp/coll_clsact"
	tc -n "$A" qdisc add dev va clsact
	collateral "$TUG" net partition --netns "$A" --peer 10.200.0.2 --for 50ms --backend clsact >>"$tmp/coll_clsact_kept"
	tc -n "$A" qdisc del dev va clsact
	collateral ipt_fault >>"$tmp/coll_ipt"
done
csum() { awk '{ s += $1 } END { print s + 0 }' "$tmp/coll_$1"; }
cmed() { median <"$tmp/coll_$1"; }

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
Command: \`make bench\` (scripts/bench.d/net.sh; REPS=$REPS, ONSET_REPS=$ONSET_REPS, median of ${IPERF_RUNS:-3} iperf3 runs of ${IPERF_SECS}s). A veth pair between two
namespaces; ICMP probes every 0.2 ms from A to the peer; iperf3 from A to another address on the
same link, which no rule targets. iptables is Debian 12's (nft backend), rules in A's INPUT and
OUTPUT chains, loaded with one iptables-restore; tug is \`tug net partition\`, through each of its
two tc backends: \`--backend tcx\` (the default where the kernel has tcx) and \`--backend clsact\`,
and tcx once more as a site with \`expedite-rcu = no\` in /etc/tug/tug.conf has it (below).
tug's journal is on a tmpfs of the benchmark's own, as /run is on a systemd host: this
machine's /run is $(df --output=fstype /run | tail -1)$(grep -q ' / ext4 [^ ]*discard' /proc/mounts && echo ', mounted with discard, where an unlink waits for the disk').

### Onset and heal (median of $ONSET_REPS, ms)

| | tug, tcx | tug, clsact | iptables | tcx / iptables | clsact / iptables | tug, tcx, expedite-rcu = no |
|---|---:|---:|---:|---:|---:|---:|
| command -> first dropped probe | $tcx_on | $clsact_on | $ipt_on | $(ratio "$tcx_on" "$ipt_on") | $(ratio "$clsact_on" "$ipt_on") | $tcxslow_on |
| tug's "applied" event -> first dropped probe | $tcx_att | $clsact_att | | | | $tcxslow_att |
| deadline (tug) / rule removal (iptables) -> first passing probe | $tcx_off | $clsact_off | $ipt_off | $(ratio "$tcx_off" "$ipt_off") | $(ratio "$clsact_off" "$ipt_off") | $tcxslow_off |

tug's onset includes starting the process, loading the program and attaching it; the
second row shows the kernel side once attached. Its heal needs no command at all: it
happens at the deadline by itself (the program lets everything through from then on,
before it is detached). iptables' heal is measured from the moment an operator runs the
delete commands, which the runbook must remember to do.

Each round runs the four in turn, starting with the next one each time (the first
command after the previous round's runs starts colder), and the launch is stamped by
bash itself (\`EPOCHREALTIME\`), nothing forked between the stamp and the command.
iptables' two commands each go through \`ip netns exec\`, which execs twice; tug
enters the namespace itself. What tug does that iptables does not, from the stage
table below: fork its guardian (the fault's watchdog, started before anything is
changed), write its journal entry, and have the kernel verify and JIT a BPF program.
The partition begins with the ingress program: it is attached before the egress
program is loaded (a second instance of the skeleton over the same maps), so the
onset pays one verification, not two; the egress side follows within a millisecond.
The guardian's own setup (its session, its descriptors) runs on the other CPU while
the journal is written and that program verified; tug checks that it finished before
the attach. And an IPv4 partition's program has no IPv6 branch for the verifier to walk.

### Whole process (median of ${STAMP_REPS:-15}, ms)

| | tug, tcx | tug, clsact | iptables | tcx / iptables | clsact / iptables | tug, tcx, expedite-rcu = no |
|---|---:|---:|---:|---:|---:|---:|
| \`tug net partition --for 1ms\` / one \`iptables -A\` (both through \`ip netns exec\`: tug enters the namespace itself) | $(stage tcx total) | $(stage clsact total) | $(stage "" ipt) | $(ratio "$(stage tcx total)" "$(stage "" ipt)") | $(ratio "$(stage clsact total)" "$(stage "" ipt)") | $(stage tcxslow total) |

### Collateral: an address no fault targets, on the same link ($REPS faults each)

| | tug, tcx | tug, clsact | tug, clsact (qdisc already there) | iptables |
|---|---:|---:|---:|---:|
| neighbour probes lost per fault (median; sent every 0.2 ms) | $(cmed tcx) | $(cmed clsact) | $(cmed clsact_kept) | $(cmed ipt) |
| lost over all $REPS faults | $(csum tcx) | $(csum clsact) | $(csum clsact_kept) | $(csum ipt) |

A partition of one peer must leave the rest of the link alone. tcx links and iptables
rules do; so do clsact filters. The clsact *qdisc* does not: creating and deleting it
goes through \`qdisc_graft()\`, which deactivates the device for an RCU grace period
(expedited under the rtnl lock), and every packet the device sends meanwhile, to any
address, is dropped. tug creates the qdisc when the device has none and removes it
after, so a clsact fault costs all traffic on that device about a millisecond at each
end; where a qdisc is already there (Cilium's or another tool's), it costs nothing.

Where tug's time goes (TUG_TIMING=1 stamps; each row from the previous stamp, ms):

| stage | tcx | tcx, expedite-rcu = no | clsact |
|---|---:|---:|---:|
$(srow "exec -> main (kernel exec, dynamic loader: $nso shared object$([ "$nso" = 1 ] || echo s) besides ld.so, $linked)" main)
$(srow "options parsed" parsed)
$(srow "prepared (namespace entered, route lookup to the device, backend chosen)" prepared)
$(srow "journal locked, knobs checked" "knobs checked")
$(srow "guardian forked (its setup, on the other CPU, is not waited for)" "guardian started")
$(srow "journal entry written (run-time entry: written and renamed, no fsync)" "journal written")
$(srow "ingress program opened, loaded, verified, peers filled" "ingress loaded")
$(srow "guardian's setup confirmed (it ran meanwhile)" "guardian ready")
$(srow "ingress attached (namespace entered; tcx: a link; clsact: the qdisc and a filter, journaled): the onset" "ingress attached")
$(srow "egress program loaded over the same maps" "egress loaded")
$(srow "egress attached" "egress attached")
$(srow "applied" applied)
$(srow "held (1 ms)" held)
$(srow "reverted (tcx: both links detached; clsact: filters and qdisc removed)" reverted)
$(srow "journal entry removed" "journal removed")
$(srow "guardian told and gone" "guardian released")
$(srow "exit (the process's teardown, seen by the launcher)" exit)

**Why tcx waits, and what expedited grace periods buy.** A tcx attach on a device that
has no tcx program yet publishes the new entry, waits an RCU grace period, only then
enables the datapath's static key (\`tcx_entry_sync\` before \`tcx_skeys_inc\`), and waits
once more (\`bpf_mprog_commit\`); each detach waits too, all under the rtnl lock, so
threads would not overlap them. With normal grace periods (the expedite-rcu = no column)
the onset pays the first attach's first wait and the whole process about five. tug turns
\`/sys/kernel/rcu_expedited\` on for the milliseconds of its attaches and detaches and back
off (user/engine/expedite.c): an expedited grace period interrupts each CPU instead of
waiting for all of them to pass a quiescent state, and takes tens of microseconds. For
those milliseconds every other \`synchronize_rcu()\` on the machine is expedited too, an
IPI to each CPU: a site with latency-critical (real-time) workloads sets
\`expedite-rcu = no\`. A knob the administrator turned on is left on. A tug killed in those
milliseconds leaves it on until its guardian, the next tcx fault or \`tug recover\` puts it
back (\`/run/tug/rcu-expedited\` is there only after such a death, holding 1). A clsact filter is
published with one netlink request and no synchronous grace period (the mini-qdisc swap
waits only if a previous swap's grace period has not ended, and then an expedited one),
and its removal frees through \`call_rcu\`.

**Why tcx is the default.** A tcx link belongs to the process that holds it: when tug
dies, even by SIGKILL, the kernel detaches it (DESIGN.md's first and strongest way of
reverting). A clsact filter outlives tug; the guardian removes it when the controller
dies, \`tug recover\` when both died, and until then the program, which checks the
deadline in the kernel, lets every packet through once the deadline has passed. And tcx
touches nothing but the peers' packets, where clsact's qdisc costs the whole device its
graft at each end (the collateral table). clsact is the backend of kernels before 6.6.

**What else was tried for the onset, before expedited grace periods.** *clsact first, then
tcx:* the fault starts on clsact filters and, once applied, moves to tcx links (the
program deduplicating the packets that meet it on both during the move). It gave
clsact's onset and a kernel-owned hold 25-35 ms later, but it keeps clsact's graft
collateral at both ends. *BPF netfilter links* (6.4+: kernel-owned, registered without a
synchronous grace period, as iptables-nft is) read packets only through BTF (CO-RE or the
skb dynptr kfunc), and libbpf's parse of the kernel's BTF alone took 8-15 ms here.
*Threads* cannot overlap the tcx grace periods, which are taken under the rtnl lock;
verifying the egress program on a second thread while the ingress one is attached
gained nothing measurable in the whole process (thread start and join cost what the
overlap saved, on two CPUs). What remains of the program row is the kernel's
verification (about 0.3 ms) and libbpf 1.1's work around it, about twenty
\`bpf()\` calls that probe the kernel's features once per process (BTF kinds, global
data, program names, memcg accounting), which libbpf offers no way to skip.

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
