#!/usr/bin/env bash
# Network delay with real packets between two namespaces joined by veth.
# Node A (where tug acts) is 10.200.0.1; node B holds 10.200.0.2 (the peer
# delayed) and 10.200.0.3 (on the same link, must not be). The delay is on
# A's egress, so a ping's round trip grows by it. Where the kernel has no fq
# qdisc (this development host), the refusals are checked and the effect is
# skipped, saying what `tug doctor` says.
. "$(dirname "$0")/../lib.sh"

A=$(t_netns a) && B=$(t_netns b) || { t_fail setup "cannot create namespaces"; exit 1; }
t_veth "$A" va "$B" vb || { t_fail setup "cannot create veth"; exit 1; }
ip -n "$A" addr add 10.200.0.1/24 dev va
ip -n "$B" addr add 10.200.0.2/24 dev vb
ip -n "$B" addr add 10.200.0.3/24 dev vb
ip -n "$A" addr add fd00:200::1/64 dev va nodad
ip -n "$B" addr add fd00:200::2/64 dev vb nodad
ip netns exec "$A" ping -c1 -W2 10.200.0.2 >/dev/null || { t_fail setup "no baseline connectivity"; exit 1; }

# Under full emulation (a TCG guest, TUG_SLOW=N) the slack is N times wider;
# the lower bounds (a delay is never shorter than asked) do not move.
SLOW=${TUG_SLOW:-1}
SLACK=$((5 * SLOW))

qdiscs() { tc -n "$A" qdisc show dev va; }
links_now() { ip netns exec "$A" "$TUG_BUILD/tests/attached" va; }
before=$(qdiscs)
unchanged() { [ "$(qdiscs)" = "$before" ] && [ "$(links_now)" -eq 0 ]; }

# rtts ADDR COUNT INTERVAL_S: one round trip a line, in ms.
rtts() {
	ip netns exec "$A" ping -n -c "$2" -i "$3" -W 2 "$1" 2>/dev/null |
		sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p'
}
# pct FILE P: the P-th percentile of a file of numbers.
pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int((NR - 1) * p / 100) + 1; print NR ? v[i] : -1 }'; }
# ge A B / le A B: float comparisons.
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
le() { ge "$2" "$1"; }

# --- refusals: nothing changed, exit 2 ---
err="$T_TMP/err"
"$TUG" net delay --netns "$A" --peer 10.200.0.2 --delay 50ms --dir in --for 2s 2>"$err"
rc=$?
t_check refuses_dir_in "rc=$rc: $(cat "$err")" \
	eval '[ $rc -eq 2 ] && grep -q -- "--dir: .in.: a delay holds packets this host sends" "$err"'
unchanged || t_fail refuses_dir_in_unchanged "qdiscs now: $(qdiscs)"

# A root qdisc someone configured is not taken over.
tc -n "$A" qdisc add dev va root handle 1: htb default 1
# Kind, handle and parent: its statistics move with every packet.
shape() { qdiscs | awk '{ print $1, $2, $3, $4 }'; }
configured=$(shape)
"$TUG" net delay --netns "$A" --peer 10.200.0.2 --delay 50ms --for 2s 2>"$err"
rc=$?
t_check refuses_configured_root "rc=$rc, qdiscs $(qdiscs): $(cat "$err")" \
	eval '[ $rc -eq 2 ] && grep -q "root qdisc is htb 1:.*configured by someone" "$err" &&
		[ "$(shape)" = "$configured" ]'
tc -n "$A" qdisc del dev va root
t_check configured_root_removed "qdiscs now: $(qdiscs)" unchanged

if "$TUG" doctor --json | grep '"check":"qdisc_fq"' | grep -q '"ok":false'; then
	why=$("$TUG" doctor --json | grep '"fault":"net delay"' | sed -n 's/.*"why":"\([^"]*\)".*/\1/p')
	"$TUG" net delay --netns "$A" --peer 10.200.0.2 --delay 50ms --for 2s 2>"$err"
	rc=$?
	t_check refuses_without_fq "rc=$rc: $(cat "$err")" \
		eval '[ $rc -eq 2 ] && grep -q "no fq qdisc in this kernel (sch_fq" "$err" && [ -n "$why" ]'
	t_check no_fq_nothing_changed "qdiscs now: $(qdiscs), links $(links_now)" unchanged
	if "$TUG" doctor --json | grep '"check":"qdisc_netem"' | grep -q '"ok":false'; then
		"$TUG" net delay --netns "$A" --peer 10.200.0.2 --delay 50ms --qdisc netem --for 2s 2>"$err"
		rc=$?
		t_check refuses_without_netem "rc=$rc: $(cat "$err")" \
			eval '[ $rc -eq 2 ] && grep -q -- "--qdisc netem: no netem or prio qdisc" "$err" && unchanged'
	fi
	t_skip net_delay_effect "no fq on this kernel: tug doctor says: $why"
	exit 0
fi

base="$T_TMP/base"
rtts 10.200.0.2 20 0.01 >"$base"
b50=$(pct "$base" 50)
echo "  baseline round trip to the peer: p50 $b50 ms"

# start OUT ARGS...: tug net delay in the background, waited until applied.
start() {
	local out=$1
	shift
	t_bg tugpid "$TUG" net delay --netns "$A" --peer 10.200.0.2 --json "$@" >"$out" 2>&1
	wait_for "$out" '"applied"' 3000
}
ours() { qdiscs | grep -q '^qdisc fq 7475: root'; }

# --- added delay at p50/p99, the neighbour untouched, restored at deadline ---
out="$T_TMP/out-delay"
start "$out" --peer fd00:200::2 --delay 50ms --for 6s
peer="$T_TMP/peer" other="$T_TMP/other" peer6="$T_TMP/peer6"
rtts 10.200.0.3 50 0.02 >"$other" &
p1=$!
rtts fd00:200::2 20 0.02 >"$peer6" &
p2=$!
rtts 10.200.0.2 100 0.02 >"$peer"
wait "$p1" "$p2"
held=$(qdiscs)
st=$("$TUG" status --json)
p50=$(awk -v a="$(pct "$peer" 50)" -v b="$b50" 'BEGIN { print a - b }')
p99=$(awk -v a="$(pct "$peer" 99)" -v b="$b50" 'BEGIN { print a - b }')
o50=$(pct "$other" 50)
echo "  delay 50ms: added p50 $p50 ms, p99 $p99 ms ($(wc -l <"$peer")/100 replies); neighbour p50 $o50 ms"
# A round trip is never shorter than the delay: the lower bound is on the
# raw times, the upper on what the delay added to the baseline.
t_check delay_p50_p99 "added p50 $p50, p99 $p99, shortest round trip $(pct "$peer" 0) (asked 50 ms, slack $SLACK ms)" \
	eval 'ge $(pct "$peer" 0) 50 && le $p50 $((50 + SLACK)) && le $p99 $((50 + 4 * SLACK)) && [ $(wc -l <"$peer") -eq 100 ]'
t_check delay_neighbour_untouched "neighbour p50 $o50 ms" \
	le "$o50" $((2 + SLACK))
v6=$(pct "$peer6" 50)
echo "  IPv6 peer in the same fault: p50 $v6 ms"
t_check delay_ipv6 "IPv6 p50 $v6 ms, $(wc -l <"$peer6")/20 replies" \
	eval 'ge $(pct "$peer6" 0) 50 && le $v6 $((50 + 2 * SLACK)) && [ $(wc -l <"$peer6") -eq 20 ]'
t_check delay_status_counters "status: $st" eval 'echo "$st" | grep -q "\"delayed\":[1-9]"'
t_check delay_fq_installed "qdiscs while held: $held" eval 'echo "$held" | grep -q "^qdisc fq 7475: root"'
wait "$tugpid"
rc=$?
t_check delay_restored_at_deadline "rc=$rc, qdiscs after: $(qdiscs) (before: $before)" \
	eval '[ $rc -eq 0 ] && unchanged'
after="$T_TMP/after"
rtts 10.200.0.2 20 0.01 >"$after"
t_check delay_gone_after "p50 after $(pct "$after" 50) ms" le "$(pct "$after" 50)" $((2 + SLACK))
echo "  counters: $(grep '"reverted"' "$out" | sed -n 's/.*"counters":\({[^}]*}\).*/\1/p')"

# --- jitter: uniform in [20, 60] ms ---
out="$T_TMP/out-jitter"
start "$out" --delay 40ms --jitter 20ms --for 30s
rtts 10.200.0.2 200 0.01 >"$peer"
kill -TERM "$tugpid"
wait "$tugpid"
lo=$(pct "$peer" 0) p10=$(pct "$peer" 10) p90=$(pct "$peer" 90) hi=$(pct "$peer" 100)
echo "  delay 40ms jitter 20ms: min $lo p10 $p10 p90 $p90 max $hi ms (uniform 20..60: p10 24, p90 56)"
t_check jitter_spread "min $lo p10 $p10 p90 $p90 max $hi" \
	eval 'ge $lo 20 && le $hi $((60 + 4 * SLACK)) && ge $(awk -v a=$p90 -v b=$p10 "BEGIN { print a - b }") 20'
t_check sigterm_restores "qdiscs after SIGTERM: $(qdiscs)" unchanged

# --- reorder: 30 % of the packets go at once ---
out="$T_TMP/out-reorder"
start "$out" --delay 50ms --reorder 30 --for 30s
rtts 10.200.0.2 300 0.01 >"$peer"
kill -INT "$tugpid"
wait "$tugpid"
n=$(wc -l <"$peer") fast=$(awk '$1 < 25' "$peer" | wc -l)
# 5 sigma of a binomial share of 300 at 30 %: 40 packets.
echo "  reorder 30%: $fast of $n replies undelayed ($(awk -v a="$fast" -v n="$n" 'BEGIN { printf "%.1f", 100 * a / n }') %)"
t_check reorder_share "$fast of $n undelayed" eval '[ $n -ge 295 ] && [ $fast -ge 50 ] && [ $fast -le 130 ]'

# --- TCP: each request/response waits once; a bulk transfer completes. With
# fq, at the rate TCP Small Queues leaves it (a delayed packet still counts
# against its socket's budget while fq holds it: about two small segments a
# delay; README), so only completion is asserted; netem frees that budget,
# and its bulk rate must be well above fq's. ---
PY=/usr/bin/python3
# tcp_run ARGS...: one fault with ARGS, the probe through it; sets tcp_*.
tcp_run() {
	local out="$T_TMP/out-tcp" tcp
	t_bg srvpid ip netns exec "$B" "$PY" -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.200.0.2", 5001)); s.listen(1)
c, _ = s.accept(); f = c.makefile("rb")
for i in range(10):
    c.sendall(f.read(100))
n = 0
while True:
    b = c.recv(65536)
    if not b: break
    n += len(b)
c.sendall(str(n).encode()); c.close()'
	wait_listen "$B" 5001
	start "$out" --delay 50ms --proto tcp --for 60s "$@"
	tcp=$(ip netns exec "$A" "$PY" -c '
import socket, time
t0 = time.monotonic(); c = socket.create_connection(("10.200.0.2", 5001), timeout=30)
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t1 = time.monotonic(); rpc = []
for i in range(10):
    a = time.monotonic(); c.sendall(b"q" * 100); got = b""
    while len(got) < 100: got += c.recv(100 - len(got))
    rpc.append((time.monotonic() - a) * 1000)
t2 = time.monotonic(); c.sendall(b"x" * (512 << 10)); c.shutdown(socket.SHUT_WR)
n = int(c.recv(64)); t3 = time.monotonic()
print("%.1f %.1f %.1f %d %.0f" % ((t1 - t0) * 1000, min(rpc), max(rpc), n, n / 1024 / (t3 - t2)))' 2>&1)
	kill -INT "$tugpid"
	wait "$tugpid"
	kill "$srvpid" 2>/dev/null
	wait "$srvpid" 2>/dev/null
	tcp_raw=$tcp
	read -r tcp_conn tcp_rpc_min tcp_rpc_max tcp_got tcp_kbs <<<"$tcp"
	echo "  TCP, delayed 50ms ($*): connect $tcp_conn ms; 10 request/responses of 100 B: $tcp_rpc_min..$tcp_rpc_max ms; 512 KiB bulk at $tcp_kbs KiB/s ($tcp_got bytes)"
}
tcp_ok() {
	ge "$tcp_conn" 50 && ge "$tcp_rpc_min" 50 && le "$tcp_rpc_max" $((50 + 4 * SLACK)) &&
		[ "$tcp_got" = $((512 << 10)) ]
}
if [ -x "$PY" ]; then
	tcp_run --qdisc fq
	fq_kbs=$tcp_kbs
	t_check delay_tcp "python: $tcp_raw" tcp_ok
else
	t_skip delay_tcp "no /usr/bin/python3 for the TCP probe"
fi

# --- --qdisc netem: the same delay from a netem in a prio band only the
# chosen packets reach; the neighbour untouched, the root back as before ---
if "$TUG" doctor --json | grep '"check":"qdisc_netem"' | grep -q '"ok":true'; then
	out="$T_TMP/out-netem"
	start "$out" --delay 50ms --qdisc netem --for 30s
	rtts 10.200.0.3 30 0.02 >"$other" &
	p1=$!
	rtts 10.200.0.2 60 0.02 >"$peer"
	wait "$p1"
	held=$(qdiscs)
	kill -TERM "$tugpid"
	wait "$tugpid"
	n50=$(pct "$peer" 50) o50=$(pct "$other" 50)
	echo "  --qdisc netem, delay 50ms: peer p50 $n50 ms (shortest $(pct "$peer" 0)), neighbour p50 $o50 ms"
	t_check netem_delay "peer p50 $n50, shortest $(pct "$peer" 0), neighbour $o50; while held: $held" \
		eval 'ge $(pct "$peer" 0) 50 && le $n50 $((50 + 2 * SLACK)) && le $o50 $((2 + SLACK)) &&
			echo "$held" | grep -q "^qdisc prio 7475: root" && echo "$held" | grep -q "^qdisc netem 7476: parent 7475:4"'
	t_check netem_restored "qdiscs after: $(qdiscs) (before: $before)" unchanged
	if [ -x "$PY" ]; then
		tcp_run --qdisc netem
		t_check netem_tcp_bulk "python: $tcp_raw; fq's bulk rate $fq_kbs KiB/s" \
			eval 'tcp_ok && ge "$tcp_kbs" $((4 * fq_kbs))'
	fi
else
	t_skip netem_delay "no netem on this kernel: tug doctor says: $("$TUG" doctor | grep qdisc_netem)"
fi

# --- a multiqueue device: the kernel's mq and its per-queue children come
# back exactly (veth has no queue of its own; ifb with 4 queues gets mq) ---
if ip -n "$A" link add tqifb numtxqueues 4 type ifb 2>/dev/null && ip -n "$A" link set tqifb up; then
	mq_before=$(tc -n "$A" qdisc show dev tqifb)
	out="$T_TMP/out-mq"
	"$TUG" net delay --netns "$A" --dev tqifb --peer 10.200.7.7 --delay 10ms --for 1s --json >"$out" 2>&1
	rc=$?
	mq_after=$(tc -n "$A" qdisc show dev tqifb)
	echo "  ifb with 4 queues, before: $(echo "$mq_before" | awk '{ print $2 }' | sort | uniq -c | tr -s ' \n' ' ')"
	t_check mq_default_restored "rc=$rc $(grep -v '^{' "$out"); before: $mq_before; after: $mq_after" \
		eval '[ $rc -eq 0 ] && grep -q "\"applied\"" "$out" && echo "$mq_before" | grep -q "^qdisc mq 0: root" && [ "$mq_after" = "$mq_before" ]'
	ip -n "$A" link del tqifb
else
	t_skip mq_default_restored "no ifb device in this kernel (CONFIG_IFB)"
fi

# --- SIGKILL: the link dies with tug, the guardian removes fq ---
out="$T_TMP/out-kill"
start "$out" --delay 50ms --for 60s
ours
had=$?
kill -9 "$tugpid"
wait "$tugpid" 2>/dev/null
t0=$(now_ms)
while ! unchanged && [ $(($(now_ms) - t0)) -lt $((2000 * SLOW)) ]; do sleep 0.02; done
echo "  SIGKILL: qdisc restored by the guardian $(($(now_ms) - t0)) ms after"
t_check sigkill_guardian_restores "fq was there: $had, qdiscs now: $(qdiscs), journal: $(ls "$TUG_RUN_DIR/faults" 2>/dev/null)" \
	eval '[ $had -eq 0 ] && unchanged'

# --- controller and guardian both SIGKILLed: fq stays until tug recover ---
out="$T_TMP/out-kill-both"
start "$out" --delay 50ms --for 60s
gp=$(pgrep -P "$tugpid" -x tug-guardian)
[ -n "$gp" ] && kill -9 "$gp"
kill -9 "$tugpid"
wait "$tugpid" 2>/dev/null
ours
left=$?
"$TUG" recover >"$T_TMP/recover" 2>&1
rc=$?
t_check recover_restores "guardian=$gp, fq left=$left, recover rc=$rc: $(cat "$T_TMP/recover"); qdiscs now: $(qdiscs)" \
	eval '[ -n "$gp" ] && [ $left -eq 0 ] && [ $rc -eq 0 ] && unchanged'
t_check recover_idempotent "second recover failed: $("$TUG" recover 2>&1)" eval '"$TUG" recover >/dev/null 2>&1'
rtts 10.200.0.2 20 0.01 >"$after"
t_check recovered_not_delayed "p50 after $(pct "$after" 50) ms" le "$(pct "$after" 50)" $((2 + SLACK))
