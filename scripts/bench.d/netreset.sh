#!/usr/bin/env bash
# Connection reset: tug net reset against `ss -K` (iproute2's socket
# destroy, the same kernel call) for established connections, and against
# an iptables REJECT --reject-with tcp-reset rule for new ones, side by side
# in one run on a veth pair between two namespaces. Prints a markdown
# section on stdout; progress on stderr.
#
#   1. N established connections from A to a peer (N = 10, 100, 1000): time
#      from the command until the client has seen every one of them fail;
#   2. new connects to the peer while the fault holds: what connect() returns
#      and how long it takes; an untargeted address on the same link.
set -euo pipefail
: "${TUG:?}" "${TUG_BUILD:?}"
REPS=${REPS:-3}
A=tugbench-ra B=tugbench-rb BENCH=netreset
PY=/usr/bin/python3
. "$(dirname "$0")/../bench-veth.sh"
ulimit -n 8192
# wait_line FILE REGEX: until a line matches, at most 10 s.
wait_line() {
	local end=$(($(now_ms) + 10000))
	until grep -q "$2" "$1" 2>/dev/null; do
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.01
	done
}

# A server on B that accepts every connection and holds it until the client's
# side goes (thousands per run: the closed ones must not pile up).
cat >"$tmp/hold_srv.py" <<'PY'
import selectors, socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7000)); s.listen(4096); s.setblocking(False)
sel = selectors.DefaultSelector(); sel.register(s, selectors.EVENT_READ)
while True:
    for key, _ in sel.select():
        if key.fileobj is s:
            c, _ = s.accept(); sel.register(c, selectors.EVENT_READ)
            continue
        try:
            d = key.fileobj.recv(64)
        except OSError:
            d = b""
        if not d:
            sel.unregister(key.fileobj); key.fileobj.close()
PY
# clients.py N: N connections to 10.200.0.2:7000; "ready", then the ms
# (epoch) at which the last of them failed.
cat >"$tmp/clients.py" <<'PY'
import select, socket, sys, time
n = int(sys.argv[1]); ep = select.epoll(); socks = {}
for i in range(n):
    c = socket.create_connection(("10.200.0.2", 7000)); socks[c.fileno()] = c
    ep.register(c.fileno(), select.EPOLLERR | select.EPOLLHUP | select.EPOLLRDHUP)
print("ready", flush=True)
dead, end = set(), time.time() + 10
while len(dead) < n:
    if time.time() > end:
        sys.exit("only %d of %d failed within 10 s" % (len(dead), n))
    for fd, ev in ep.poll(0.01):
        dead.add(fd); ep.unregister(fd)
print(int(time.time() * 1000), flush=True)
PY
# probe.py ADDR N: N connects to ADDR:7000; the results, then the median ms.
cat >"$tmp/probe.py" <<'PY'
import errno, socket, statistics, sys, time
res, ms = {}, []
for i in range(int(sys.argv[2])):
    s = socket.socket(); s.settimeout(2); t = time.monotonic()
    try:
        s.connect((sys.argv[1], 7000)); r = "ok"
    except OSError as e:
        r = errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout"
    ms.append((time.monotonic() - t) * 1000); res[r] = res.get(r, 0) + 1; s.close()
print(" ".join("%s %d" % kv for kv in sorted(res.items())), "%.3f" % statistics.median(ms))
PY
ip netns exec "$B" $PY "$tmp/hold_srv.py" &
sleep 0.3

# reset_once N TOOL: ms from the command until the client saw all N fail.
reset_once() {
	ip netns exec "$A" $PY "$tmp/clients.py" "$1" >"$tmp/cli" &
	local cli=$! t0
	wait_line "$tmp/cli" ready || { log "the client could not connect $1 times"; exit 1; }
	sleep 0.2
	t0=$(now_ms)
	case $2 in
	tug) "$TUG" net reset --netns "$A" --peer 10.200.0.2 --dir out --for 1ms --quiet >/dev/null ;;
	ss) nsenter --net=/run/netns/"$A" ss -K -t dst 10.200.0.2 >/dev/null ;;
	esac
	wait "$cli" || { log "$2 did not reset all $1 connections"; exit 1; }
	echo $(($(tail -1 "$tmp/cli") - t0))
}

# One short run first, so the measured ones do not pay for a cold page cache.
"$TUG" net reset --netns "$A" --peer 10.200.0.250 --for 1ms >/dev/null 2>&1 || true
declare -A r_tug r_ss
for n in 10 100 1000; do
	log "reset $n established connections, $REPS rounds each"
	: >"$tmp/t_tug"; : >"$tmp/t_ss"
	for _ in $(seq "$REPS"); do
		reset_once "$n" tug >>"$tmp/t_tug"
		reset_once "$n" ss >>"$tmp/t_ss"
	done
	r_tug[$n]=$(median <"$tmp/t_tug") r_ss[$n]=$(median <"$tmp/t_ss")
done

log "new connects while refused"
"$TUG" net reset --netns "$A" --peer 10.200.0.2 --for 30s --json >"$tmp/out" 2>&1 &
tp=$!
wait_line "$tmp/out" '"applied"' || { log "tug did not apply: $(cat "$tmp/out")"; exit 1; }
p_tug=$(ip netns exec "$A" $PY "$tmp/probe.py" 10.200.0.2 200)
p_tug_other=$(ip netns exec "$A" $PY "$tmp/probe.py" 10.200.0.3 50)
kill "$tp"
wait "$tp" || true
ip netns exec "$A" iptables -w -A OUTPUT -d 10.200.0.2 -p tcp --syn -j REJECT --reject-with tcp-reset
p_ipt=$(ip netns exec "$A" $PY "$tmp/probe.py" 10.200.0.2 200)
p_ipt_other=$(ip netns exec "$A" $PY "$tmp/probe.py" 10.200.0.3 50)
ip netns exec "$A" iptables -w -D OUTPUT -d 10.200.0.2 -p tcp --syn -j REJECT --reject-with tcp-reset
p_none=$(ip netns exec "$A" $PY "$tmp/probe.py" 10.200.0.2 50)

cat <<EOF
## Connection reset: tug vs ss -K and iptables REJECT

Machine: $(uname -r), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $(date -u +%Y-%m-%d).
Command: \`make bench\` (scripts/bench.d/netreset.sh; REPS=$REPS). A veth pair between two
namespaces; a client in A holds N TCP connections to a server on the peer and waits (epoll)
until every one has failed. tug is \`tug net reset --peer 10.200.0.2 --for 1ms\` (which also
attaches and removes its SYN refusal); \`ss -K -t dst 10.200.0.2\` is iproute2's, run with
\`nsenter --net\` (not \`ip netns exec\`, which remounts /sys first). Both use the kernel's
SOCK_DESTROY through inet_diag.

### Established connections: command -> the client has seen all N fail (median of $REPS, ms)

| N | tug | ss -K | tug / ss -K |
|---:|---:|---:|---:|
EOF
for n in 10 100 1000; do
	echo "| $n | ${r_tug[$n]} | ${r_ss[$n]} | $(ratio "${r_tug[$n]}" "${r_ss[$n]}") |"
done
cell() { echo "$1" | awk '{ $NF = "(" $NF " ms)"; print }'; }
cat <<EOF

tug's fixed cost of some 25 ms is its start: a binary that carries the orchestrator's
libraries too, and its tc program loaded and attached before anything is destroyed (so no
new connection slips in between). The destroy itself is the same for both, one netlink
request per socket after one dump, so the gap closes as N grows.

### New connections while the fault holds (connect() results of the probes, median ms)

| | to the peer | to another address on the link |
|---|---|---|
| tug net reset | $(cell "$p_tug") | $(cell "$p_tug_other") |
| iptables \`-p tcp --syn -j REJECT --reject-with tcp-reset\` | $(cell "$p_ipt") | $(cell "$p_ipt_other") |
| no fault | $(cell "$p_none") | |

Both refuse at once. The iptables rule leaves established connections alone (it needs
\`ss -K\` beside it), refuses only what this host starts (the peer's connects need a second
rule in INPUT), and stays until someone deletes it; tug's refusal ends at its deadline, with
the process (tcx link) or by its guardian (clsact).
EOF
