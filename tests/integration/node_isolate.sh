#!/usr/bin/env bash
# tug node isolate: every peer of a node cut but its control channel.
# Namespace N is the node, with two links: to C (the control peer,
# 10.200.71.1, N is .2) and to P (another peer, 10.200.71.65, N is .66).
# There is no sshd: SSH_CONNECTION in tug's environment names C and port 22
# as the session tug came over, and a real TCP echo server on N:22 carries
# the control flow from C.
. "$(dirname "$0")/../lib.sh"

SLOW=${TUG_SLOW:-1}
N=$(t_netns node) && C=$(t_netns ctl) && P=$(t_netns peer) || { t_fail setup "cannot create namespaces"; exit 1; }
t_veth "$N" nc0 "$C" cn0 && t_veth "$N" np0 "$P" pn0 || { t_fail setup "cannot create veth"; exit 1; }
ip -n "$N" addr add 10.200.71.2/26 dev nc0
ip -n "$C" addr add 10.200.71.1/26 dev cn0
ip -n "$N" addr add 10.200.71.66/26 dev np0
ip -n "$P" addr add 10.200.71.65/26 dev pn0
ip -n "$N" addr add fd00:200::71:2/120 dev np0 nodad
ip -n "$P" addr add fd00:200::71:1/120 dev pn0 nodad
export SSH_CONNECTION="10.200.71.1 40022 10.200.71.2 22"

PY=/usr/bin/python3
TOOL="$T_TMP/tcp.py"
cat >"$TOOL" <<'EOF'
# serve PORT: an echo server. connect ADDR PORT: one fresh connection, one
# line echoed, "ok" or why not. flow ADDR PORT: one connection held, a line
# echoed every 20 ms; prints "<ms> <1 ok | 0 failed>" a line, until killed.
import socket, sys, threading, time
def serve(port):
    s = socket.socket(socket.AF_INET6)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port)); s.listen(64)
    def echo(c):
        with c:
            while True:
                d = c.recv(4096)
                if not d: return
                c.sendall(d)
    while True:
        c, _ = s.accept()
        threading.Thread(target=echo, args=(c,), daemon=True).start()
def once(addr, port, timeout=1.0):
    try:
        with socket.create_connection((addr, port), timeout=timeout) as c:
            c.sendall(b"x\n")
            return "ok" if c.recv(16) == b"x\n" else "short"
    except socket.timeout:
        return "timeout"
    except OSError as e:
        return type(e).__name__
cmd = sys.argv[1]
if cmd == "serve": serve(int(sys.argv[2]))
elif cmd == "connect": print(once(sys.argv[2], int(sys.argv[3])))
elif cmd == "flow":
    c = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=0.5)
    sys.stdout.reconfigure(line_buffering=True)
    while True:
        t = int(time.time() * 1000)
        try:
            c.sendall(b"x\n"); ok = c.recv(16) == b"x\n"
        except OSError:
            ok = False
        print(t, int(ok)); time.sleep(0.02)
EOF
t_bg srvN ip netns exec "$N" $PY "$TOOL" serve 22
t_bg srvP ip netns exec "$P" $PY "$TOOL" serve 8080
wait_listen "$N" 22 && wait_listen "$P" 8080
tcp() { ip netns exec "$1" $PY "$TOOL" connect "$2" "$3"; }
ping1() { ip netns exec "$1" ping -q -c1 -W0.5 "$2" >/dev/null 2>&1 && echo ok || echo lost; }
# Every reachability the test measures, as one line: name=result ... The
# probes run at once: one after the other (up to 3.5 s of timeouts) they
# outlasted a loaded machine's hold, and the last one saw the healed node.
state() {
	local d=$T_TMP/state
	mkdir -p "$d"
	tcp "$C" 10.200.71.2 22 >"$d/1" & ping1 "$C" 10.200.71.2 >"$d/2" &
	ping1 "$P" 10.200.71.66 >"$d/3" & ping1 "$N" 10.200.71.65 >"$d/4" &
	ping1 "$N" fd00:200::71:1 >"$d/5" & tcp "$N" 10.200.71.65 8080 >"$d/6" &
	tcp "$P" 10.200.71.66 22 >"$d/7" &
	wait
	echo "ctl_ssh=$(<"$d/1") ctl_ping=$(<"$d/2") peer_ping=$(<"$d/3") node_ping_peer=$(<"$d/4")" \
		"node_ping6_peer=$(<"$d/5") node_tcp_peer=$(<"$d/6") peer_tcp_node=$(<"$d/7")"
}
ALL_OK="ctl_ssh=ok ctl_ping=ok peer_ping=ok node_ping_peer=ok node_ping6_peer=ok node_tcp_peer=ok peer_tcp_node=ok"
ISOLATED="ctl_ssh=ok ctl_ping=lost peer_ping=lost node_ping_peer=lost node_ping6_peer=lost node_tcp_peer=timeout peer_tcp_node=timeout"
# Programs of this test's interfaces: tcx links and clsact filters.
attached() {
	local n=0 d
	for d in nc0 np0; do
		n=$((n + $(ip netns exec "$N" "$TUG_BUILD/tests/attached" "$d") +
			$(tc -n "$N" filter show dev "$d" ingress 2>/dev/null | grep -c ' bpf ') +
			$(tc -n "$N" filter show dev "$d" egress 2>/dev/null | grep -c ' bpf ')))
	done
	echo $n
}
before=$(state)
echo "  before: $before"
[ "$before" = "$ALL_OK" ] || { t_fail setup "no baseline connectivity: $before"; exit 1; }

# --- refusal: no SSH session and no --keep ---
err=$(env -u SSH_CONNECTION "$TUG" node isolate --netns "$N" --for 5s 2>&1)
rc=$?
refused() { [ "$1" -eq 2 ] && grep -qF -- "$2" <<<"$3"; }
t_check refuses_without_control_channel "rc=$rc: $err" \
	refused $rc 'would cut the control channel: give --keep ADDR[:PORT]' "$err"
t_check refusal_attaches_nothing "attached: $(attached)" [ "$(attached)" -eq 0 ]
err=$("$TUG" node isolate --netns "$N" --keep 10.200.71.300 --for 5s 2>&1)
rc=$?
t_check bad_keep_refused "rc=$rc: $err" refused $rc "--keep: '10.200.71.300' is not" "$err"

# --- during: the control flow lives, every other peer is cut; after: all back ---
flow="$T_TMP/flow" out="$T_TMP/out"
t_bg flowpid ip netns exec "$C" $PY "$TOOL" flow 10.200.71.2 22 >"$flow"
sleep 0.3
t_bg tugpid "$TUG" node isolate --netns "$N" --for $((4 * SLOW))s --json >"$out" 2>&1
wait_for "$out" '"applied"' $((3000 * SLOW)) || t_fail applied "no applied event: $(cat "$out")"
t_app=$(json_field "$out" applied ts_ms)
during=$(state)
echo "  during: $during"
early=$(grep -c '"reverted"' "$out")
t_check isolates_all_but_control "during: $during (reverted before the probes ended: $early)" \
	bash -c "[ '$during' = '$ISOLATED' ] && [ $early -eq 0 ]"
wait "$tugpid"
rc=$?
t_rev=$(json_field "$out" reverted ts_ms)
sleep 0.2
kill "$flowpid"
after=$(state)
echo "  after: $after"
t_check exits_0 "rc=$rc: $(tail -3 "$out")" [ "$rc" -eq 0 ]
t_check heals_after_deadline "after: $after" [ "$after" = "$ALL_OK" ]
# The held connection: no failed exchange, and no gap over 500 ms, while held.
gap=$(awk -v a="$t_app" -v r="$t_rev" '$1 >= a && $1 <= r { if (p && $1 - p > g) g = $1 - p; p = $1; if (!$2) bad++; n++ }
	END { printf "%d %d %d\n", g, bad + 0, n + 0 }' "$flow")
read -r maxgap bad n <<<"$gap"
echo "  control flow while held ($((t_rev - t_app)) ms): $n exchanges, $bad failed, longest gap $maxgap ms"
t_check control_flow_kept "$n exchanges, $bad failed, gap $maxgap ms" \
	bash -c "[ $n -gt 20 ] && [ $bad -eq 0 ] && [ $maxgap -lt $((500 * SLOW)) ]"
dropped=$(grep '"reverted"' "$out" | sed -n 's/.*"dropped_in":\([0-9]*\).*"dropped_out":\([0-9]*\).*"kept_in":\([0-9]*\).*/\1 \2 \3/p')
read -r din dout kin <<<"$dropped"
echo "  counters: dropped_in=${din:-?} dropped_out=${dout:-?} kept_in=${kin:-?}"
t_check reports_drop_counts "reverted: $(grep reverted "$out")" \
	bash -c "[ '${din:-0}' -gt 0 ] && [ '${dout:-0}' -gt 0 ] && [ '${kin:-0}' -gt 0 ]"
t_check deadline_leaves_nothing "attached: $(attached)" [ "$(attached)" -eq 0 ]

# --- --keep: a peer kept on any port, without an SSH session; tug started
# inside the node's namespace (no --netns: the interfaces of its own) ---
t_bg tugpid env -u SSH_CONNECTION nsenter --net=/run/netns/"$N" "$TUG" node isolate \
	--keep 10.200.71.65 --for 3s --json >"$out" 2>&1
wait_for "$out" '"applied"' $((3000 * SLOW))
k=$(ping1 "$P" 10.200.71.66) kc=$(ping1 "$C" 10.200.71.2)
devs=$(grep -o '"devices":\[[^]]*\]' "$out")
echo "  --keep 10.200.71.65 (own namespace, $devs): peer ping $k, control ping $kc"
t_check keep_keeps_that_peer "peer ping $k, control ping $kc" bash -c "[ $k = ok ] && [ $kc = lost ]"
t_check own_namespace_every_interface "$devs" grep -q '"devices":\["nc0","np0"\]\|"devices":\["np0","nc0"\]' <<<"$devs"
kill "$tugpid"
wait "$tugpid"

# --- SIGKILL of the controller: tcx links go with it; clsact: the guardian ---
for backend in tcx clsact; do
	if [ $backend = tcx ] && ! "$TUG" doctor --json 2>/dev/null | grep -q '"check":"tcx","ok":true'; then
		t_skip sigkill_tcx "no tcx in kernel $(uname -r) (it arrived in 6.6)"
		continue
	fi
	t_bg tugpid "$TUG" node isolate --netns "$N" --backend $backend --for 30s --json >"$out" 2>&1
	wait_for "$out" '"applied"' $((3000 * SLOW))
	held=$(ping1 "$P" 10.200.71.66)
	t0=$(now_ms)
	kill -9 "$tugpid"
	wait "$tugpid" 2>/dev/null
	healed=""
	while [ $(($(now_ms) - t0)) -lt $((3000 * SLOW)) ]; do
		[ "$(ping1 "$P" 10.200.71.66)" = ok ] && { healed=$(($(now_ms) - t0)); break; }
	done
	left=$(attached)
	echo "  SIGKILL ($backend): held=$held, peer reachable again after ${healed:-never} ms, $left programs attached"
	t_check sigkill_${backend}_heals "held=$held healed=${healed:-never} left=$left" \
		bash -c "[ $held = lost ] && [ -n '$healed' ] && [ $left -eq 0 ]"
done

# --- SIGSTOP: the classifier's own deadline ends it; the guardian cleans up ---
t_bg tugpid "$TUG" node isolate --netns "$N" --for $((1 * SLOW))s --json >"$out" 2>&1
wait_for "$out" '"applied"' $((3000 * SLOW))
kill -STOP "$tugpid"
dl=$(json_field "$out" applied deadline_ms)
held=$(ping1 "$P" 10.200.71.66)
while [ "$(now_ms)" -lt "$dl" ]; do sleep 0.02; done
healed=""
while [ $(($(now_ms) - dl)) -lt $((3000 * SLOW)) ]; do
	[ "$(ping1 "$P" 10.200.71.66)" = ok ] && { healed=$(($(now_ms) - dl)); break; }
done
wait "$tugpid" 2>/dev/null
echo "  SIGSTOP: held=$held, peer reachable ${healed:-never} ms after the deadline"
t_check kernel_deadline_heals_stopped_controller "held=$held healed=${healed:-never}" \
	bash -c "[ $held = lost ] && [ -n '$healed' ] && [ '$healed' -lt $((1000 * SLOW)) ]"
left=1
for _ in $(seq 50); do left=$(attached); [ "$left" -eq 0 ] && break; sleep 0.1; done
t_check kernel_deadline_leaves_nothing "attached: $left" [ "$left" -eq 0 ]

# --- orchestrator silence: the heartbeat stops, the node is reachable again ---
t0=$(now_ms)
(echo beat; sleep 0.2; echo beat; sleep 8) | "$TUG" node isolate --netns "$N" --for 20s \
	--heartbeat 300ms --json >"$out" 2>&1 &
hbpid=$!
T_PIDS+=($hbpid)
wait_for "$out" '"reverted"' $((4000 * SLOW))
t1=$(now_ms)
hb=$(state)
echo "  heartbeat lost: reverted $((t1 - t0)) ms after start (--for 20s); after: $hb"
t_check heartbeat_lost_reverts "after $((t1 - t0)) ms: $(grep reverted "$out")" \
	bash -c "grep -q '\"reason\":\"heartbeat lost\"' '$out' && [ $((t1 - t0)) -lt $((2000 * SLOW)) ]"
t_check heartbeat_heals "after: $hb" [ "$hb" = "$ALL_OK" ]
t_check nothing_left_attached "attached: $(attached)" [ "$(attached)" -eq 0 ]
st=$("$TUG" status)
t_check no_live_faults "status: $st" grep -q 'no live faults' <<<"$st"
