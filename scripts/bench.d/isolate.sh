#!/usr/bin/env bash
# Node isolation: tug node isolate against what a runbook does today with
# iptables (policy DROP on INPUT and OUTPUT, an ACCEPT pair for the SSH
# peer, loaded with one iptables-restore, the previous rules restored after),
# side by side in one run. Node N has two links, to the control peer C
# (10.200.71.1 -> .2) and to a peer P (10.200.71.65 -> .66). Prints a
# markdown section on stdout; progress on stderr.
#
#   1. onset (command -> first probe from P lost) and heal (deadline or
#      restore -> first probe replied), ICMP probes every 1 ms;
#   2. the SSH-port flow from C held open meanwhile: its longest gap;
#   3. the controller SIGKILLed mid-fault: is the node reachable again, and
#      after how long (tug: by itself; iptables: the shell that was to
#      restore the rules is gone, the rules stay).
set -euo pipefail
: "${TUG:?}" "${TUG_BUILD:?}"
PT="$TUG_BUILD/tests/pingtrace"
REPS=${REPS:-5}
N=tugbench-node C=tugbench-ctl P=tugbench-peer
log() { echo "bench isolate: $*" >&2; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
first_after() { awk -v t0="$2" -v want="$3" '$1 / 1000.0 >= t0 && $3 == want { printf "%.1f\n", $1 / 1000.0 - t0; exit }' "$1"; }
cleanup() {
	[ -n "${srv:-}" ] && kill "$srv" 2>/dev/null
	[ -n "${flow:-}" ] && kill "$flow" 2>/dev/null
	for n in "$N" "$C" "$P"; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf "${tmp:-}"
}
trap cleanup EXIT
cleanup
tmp=$(mktemp -d)
export TUG_RUN_DIR="$tmp/run" TUG_STATE_DIR="$tmp/state"
for n in "$N" "$C" "$P"; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add nc0 netns "$N" type veth peer name cn0 netns "$C"
ip link add np0 netns "$N" type veth peer name pn0 netns "$P"
ip -n "$N" addr add 10.200.71.2/26 dev nc0
ip -n "$C" addr add 10.200.71.1/26 dev cn0
ip -n "$N" addr add 10.200.71.66/26 dev np0
ip -n "$P" addr add 10.200.71.65/26 dev pn0
for l in "$N nc0" "$N np0" "$C cn0" "$P pn0"; do set -- $l; ip -n "$1" link set "$2" up; done
ip netns exec "$P" ping -c1 -W2 10.200.71.66 >/dev/null
export SSH_CONNECTION="10.200.71.1 40022 10.200.71.2 22"

# The control flow: an echo server on N:22, one connection from C, a line
# every 5 ms; prints "<ms> <1|0>" a line.
cat >"$tmp/tcp.py" <<'PY'
import socket, sys, threading, time
if sys.argv[1] == "serve":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.200.71.2", 22)); s.listen(8)
    def echo(c):
        while (d := c.recv(64)): c.sendall(d)
    while True: threading.Thread(target=echo, args=(s.accept()[0],), daemon=True).start()
c = socket.create_connection(("10.200.71.2", 22), timeout=0.5)
sys.stdout.reconfigure(line_buffering=True)
while True:
    t = int(time.time() * 1000)
    try: c.sendall(b"x"); ok = c.recv(8) == b"x"
    except OSError: ok = False
    print(t, int(ok)); time.sleep(0.005)
PY
ip netns exec "$N" /usr/bin/python3 "$tmp/tcp.py" serve &
srv=$!
sleep 0.3
ip netns exec "$C" /usr/bin/python3 "$tmp/tcp.py" flow >"$tmp/flow" &
flow=$!

cat >"$tmp/isolate.rules" <<'EOF'
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A OUTPUT -o lo -j ACCEPT
-A INPUT -s 10.200.71.1 -p tcp --dport 22 -j ACCEPT
-A OUTPUT -d 10.200.71.1 -p tcp --sport 22 -j ACCEPT
COMMIT
EOF
# What the node had: nothing (a fresh namespace), written out, since
# iptables-save prints no table that was never used.
printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n' >"$tmp/saved.rules"
ipt_on() { ip netns exec "$N" iptables-restore <"$tmp/isolate.rules"; }
ipt_off() { ip netns exec "$N" iptables-restore <"$tmp/saved.rules"; }
gap() { awk -v a="$2" -v b="$3" '$1 >= a && $1 <= b { if (p && $1 - p > g) g = $1 - p; p = $1; if (!$2) bad++ } END { printf "%d %d\n", g, bad + 0 }' "$1"; }

log "onset/heal: $REPS rounds each, probes every 1 ms"
for f in tug_on tug_att tug_off tug_gap ipt_on ipt_off ipt_gap; do : >"$tmp/$f"; done
for r in $(seq "$REPS"); do
	ip netns exec "$P" "$PT" -i 1000 -d 1600 -W 10 10.200.71.66 >"$tmp/trace" &
	pt=$!
	sleep 0.3
	t0=$(now_ms)
	"$TUG" node isolate --netns "$N" --for 500ms --json >"$tmp/out"
	wait "$pt"
	applied=$(grep '"applied"' "$tmp/out" | sed -n 's/.*"ts_ms":\([0-9]*\).*/\1/p')
	deadline=$(grep '"applied"' "$tmp/out" | sed -n 's/.*"deadline_ms":\([0-9]*\).*/\1/p')
	first_after "$tmp/trace" "$t0" 0 >>"$tmp/tug_on"
	first_after "$tmp/trace" "$applied" 0 >>"$tmp/tug_att"
	first_after "$tmp/trace" "$deadline" 1 >>"$tmp/tug_off"
	gap "$tmp/flow" "$t0" "$deadline" | cut -d' ' -f1 >>"$tmp/tug_gap"

	ip netns exec "$P" "$PT" -i 1000 -d 1600 -W 10 10.200.71.66 >"$tmp/trace" &
	pt=$!
	sleep 0.3
	t0=$(now_ms)
	ipt_on
	sleep 0.5
	t1=$(now_ms)
	ipt_off
	wait "$pt"
	first_after "$tmp/trace" "$t0" 0 >>"$tmp/ipt_on"
	first_after "$tmp/trace" "$t1" 1 >>"$tmp/ipt_off"
	gap "$tmp/flow" "$t0" "$t1" | cut -d' ' -f1 >>"$tmp/ipt_gap"
done

log "SIGKILL of the controller mid-fault"
reach_after() {	# T0: ms from T0 until P reaches N, or "never" within 3 s
	local end=$(($1 + 3000))
	while [ "$(now_ms)" -lt "$end" ]; do
		ip netns exec "$P" ping -q -c1 -W0.1 10.200.71.66 >/dev/null 2>&1 && { echo $(($(now_ms) - $1)); return; }
	done
	echo never
}
"$TUG" node isolate --netns "$N" --for 30s --json >"$tmp/out" 2>&1 &
tp=$!
while ! grep -q '"applied"' "$tmp/out"; do sleep 0.01; done
t0=$(now_ms)
kill -9 "$tp"
wait "$tp" 2>/dev/null || true
tug_kill=$(reach_after "$t0")
# The runbook's shell: rules in, a sleep, then the restore it never reaches.
bash -c "ip netns exec $N iptables-restore <$tmp/isolate.rules; sleep 30; ip netns exec $N iptables-restore <$tmp/saved.rules" &
sp=$!
while ! ip netns exec "$N" iptables -S INPUT | grep -q -- '-P INPUT DROP'; do sleep 0.01; done
t0=$(now_ms)
kill -9 "$sp"
wait "$sp" 2>/dev/null || true
ipt_kill=$(reach_after "$t0")
ipt_left=$(ip netns exec "$N" iptables -S | grep -c -- '-A \|-P .* DROP')
ipt_off

m() { median <"$tmp/$1"; }
cat <<EOF
## Node isolation: tug node isolate vs iptables

Machine: $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%d).
Command: \`scripts/bench isolate\` (scripts/bench.d/isolate.sh; REPS=$REPS). Node N in a namespace with
two veth links, to a control peer C and to a peer P; ICMP probes every 1 ms from P to N; a TCP
flow from C to N's port 22 (the SSH session, \`SSH_CONNECTION\` as sshd sets it) exchanging a
byte every 5 ms. iptables is $(iptables --version | cut -d' ' -f2-): policy DROP on INPUT, OUTPUT
and FORWARD, loopback and C's port 22 accepted both ways, one \`iptables-restore\`, and the previous
rules (none) restored by another. tug is \`tug node isolate --for 500ms\` ($(grep -o '"backend":"[a-z]*"' "$tmp/out" | head -1 | cut -d'"' -f4 || echo tcx)).

### Onset, heal, control flow (median of $REPS, ms)

| | tug | iptables | tug / iptables |
|---|---:|---:|---:|
| command -> first probe from P lost | $(m tug_on) | $(m ipt_on) | $(ratio "$(m tug_on)" "$(m ipt_on)") |
| tug's "applied" event -> first probe lost | $(m tug_att) | | |
| deadline (tug) / restore (iptables) -> first probe replied | $(m tug_off) | $(m ipt_off) | $(ratio "$(m tug_off)" "$(m ipt_off)") |
| longest gap of the control flow while isolated | $(m tug_gap) | $(m ipt_gap) | $(ratio "$(m tug_gap)" "$(m ipt_gap)") |

### The controller SIGKILLed mid-fault (one run)

| | tug | iptables |
|---|---:|---:|
| P reaches N again after (ms; "never" = not within 3 s) | $tug_kill | $ipt_kill |
| rules or programs left on N | 0 | $ipt_left |

tug's onset is the process start plus one tcx attach per device and direction (four here),
each waiting for RCU grace periods under the rtnl lock, expedited for those milliseconds
(\`/sys/kernel/rcu_expedited\`; see the partition benchmark); once they are in, the kernel drops at once: the first probe sent after tug's "applied"
event is lost (about one probe interval later). Its heal needs no command: the deadline
does it.

tug's links die with its process (clsact filters: its guardian removes them), detached by
the kernel as the process exits, with normal grace periods (the heal time above); the iptables
rules have no owner: a runbook shell killed before its restore leaves the node cut off
until someone reaches it another way, which the control channel they kept still allows.
EOF
