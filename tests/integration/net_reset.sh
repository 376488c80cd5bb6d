#!/usr/bin/env bash
# net reset with live TCP connections between two namespaces joined by veth.
# Node A (where tug acts) is 10.200.0.1 / fd00:200::1; node B holds
# 10.200.0.2 and fd00:200::2 (the targeted peer) and 10.200.0.3 (on the same
# link, untargeted). Echo servers on B:7000 and A:7001; a client on A holds
# connections to each of B's addresses and echoes every 20 ms.
. "$(dirname "$0")/../lib.sh"

PY=/usr/bin/python3
t_two_nodes || exit 1

# The same probe `tug doctor` reports: without it there is nothing to test.
if ! "$TUG" doctor | grep -qE '^ *inet_diag_destroy +yes'; then
	t_skip net_reset "$("$TUG" doctor | grep inet_diag_destroy | sed 's/^ *//')"
	exit 0
fi

SLOW=${TUG_SLOW:-1}
# A refused connect() is answered from the tc program on the same host: it
# takes a fraction of a millisecond; the bound leaves room for a loaded CI.
REFUSE_MS=$((50 * SLOW))
# From the command to the error in the client: tug's start (loading and
# attaching the program) and the socket destroy. Measured 70-120 ms here.
RESET_MS=$((1000 * SLOW))
[ -n "${TUG_SAN:-}" ] && RESET_MS=$((RESET_MS * 3))

links_now() {
	echo $(($(ip netns exec "$A" "$TUG_BUILD/tests/attached" va) +
		$(tc -n "$A" filter show dev va ingress 2>/dev/null | grep -c ' bpf ') +
		$(tc -n "$A" filter show dev va egress 2>/dev/null | grep -c ' bpf ')))
}
links_before=$(links_now)

cat >"$T_TMP/echo.py" <<'PY'
import socket, sys, threading
def serve(c):
    try:
        while True:
            d = c.recv(64)
            if not d: break
            c.sendall(d)
    except OSError:
        pass
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", int(sys.argv[1]))); s.listen(64)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
# hold.py NAME=ADDR...: one connection each to ADDR:7000, an echo every 20 ms
# on each. Prints "ready" once all are up, then for each connection that
# fails "ERR NAME ERRNO MS" (ms since the epoch), and at the end (SIGTERM or
# argv[1] seconds) "END NAME ECHOES LAST_ECHO_MS".
cat >"$T_TMP/hold.py" <<'PY'
import errno, selectors, signal, socket, sys, time
now = lambda: int(time.time() * 1000)
conns = {}
for a in sys.argv[2:]:
    name, addr = a.split("=")
    conns[name] = [socket.create_connection((addr, 7000), timeout=2), 0, 0, None]
print("ready", flush=True)
stop = [time.time() + float(sys.argv[1])]
signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, 0))
while time.time() < stop[0]:
    for name, c in conns.items():
        if c[3]:
            continue
        try:
            c[0].sendall(b"x")
            if c[0].recv(1) != b"x":
                raise OSError(errno.EPIPE, "eof")
            c[1] += 1; c[2] = now()
        except OSError as e:
            c[3] = errno.errorcode.get(e.errno, str(e.errno))
            print("ERR", name, c[3], now(), flush=True)
    time.sleep(0.02)
for name, c in conns.items():
    print("END", name, c[1], c[2], flush=True)
PY
# probe.py ADDR PORT [N]: N connects, one line each: "OK|ERRNO MS" (the ms
# the connect took).
cat >"$T_TMP/probe.py" <<'PY'
import errno, socket, sys, time
for i in range(int(sys.argv[3]) if len(sys.argv) > 3 else 1):
    s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
    s.settimeout(2); t = time.monotonic()
    try:
        s.connect((sys.argv[1], int(sys.argv[2]))); r = "OK"
    except OSError as e:
        r = errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout"
    print(r, "%.2f" % ((time.monotonic() - t) * 1000), flush=True)
    s.close()
PY
t_bg srvb ip netns exec "$B" $PY "$T_TMP/echo.py" 7000
t_bg srva ip netns exec "$A" $PY "$T_TMP/echo.py" 7001
wait_listen "$B" 7000 && wait_listen "$A" 7001
probe() { ip netns exec "$1" $PY "$T_TMP/probe.py" "${@:2}"; }
# all_are FILE WORD: every line of FILE starts with WORD, and there is one.
all_are() { [ -s "$1" ] && ! grep -qv "^$2 " "$1"; }
max_ms() { awk '$2 > m { m = $2 } END { print m + 0 }' "$1"; }

# One short run first, so the measured one does not pay for a cold page cache.
"$TUG" net reset --netns "$A" --peer 10.200.0.250 --for 1ms >/dev/null 2>&1

# --- established connections: the targeted ones reset, the other untouched ---
hold="$T_TMP/hold" out="$T_TMP/out"
# t4m: an AF_INET6 socket to the IPv4 peer (the address IPv4-mapped).
# The hold outlasts the four probes below, whose interpreters start slowly in
# an emulated guest (two guests at once: slower still); the untargeted
# connection echoes past its end.
HOLD_MS=$((2000 + 300 * SLOW))
t_bg holdpid ip netns exec "$A" $PY "$T_TMP/hold.py" $((HOLD_MS / 1000 + 4)) t4=10.200.0.2 t6=fd00:200::2 t4m=::ffff:10.200.0.2 \
	other=10.200.0.3 >"$hold"
wait_for "$hold" '^ready' 3000 || { t_fail setup "client could not connect: $(cat "$hold")"; exit 1; }
sleep 0.3
t_cmd=$(now_ms)
t_bg tugpid "$TUG" net reset --netns "$A" --peer 10.200.0.2,fd00:200::2 --for ${HOLD_MS}ms --json >"$out" 2>&1
wait_for "$hold" '^ERR t6' $((RESET_MS + 1000))
wait_for "$out" '"event":"applied"' 2000
# While it holds: new connects to the peer refused, to the neighbour fine,
# and the peer's own connects to A refused too (the ingress side). All four
# at once: one after the other, a slow guest's interpreter starts alone
# outlasted the hold.
probe "$A" 10.200.0.2 7000 5 >"$T_TMP/refused4" &
p1=$!
probe "$A" fd00:200::2 7000 5 >"$T_TMP/refused6" &
p2=$!
probe "$A" 10.200.0.3 7000 3 >"$T_TMP/neighbour" &
p3=$!
probe "$B" 10.200.0.1 7001 3 >"$T_TMP/refused_in" &
p4=$!
wait "$p1" "$p2" "$p3" "$p4"
early=$(grep -c '"reverted"' "$out")
wait "$tugpid"
rc=$?
t_end=$(now_ms)
# Right after the deadline, connects work again.
probe "$A" 10.200.0.2 7000 3 >"$T_TMP/healed4"
probe "$A" fd00:200::2 7000 1 >"$T_TMP/healed6"
kill -TERM "$holdpid"
wait "$holdpid"

err4=$(awk '$1 == "ERR" && $2 == "t4" { print $3, $4 }' "$hold")
err6=$(awk '$1 == "ERR" && $2 == "t6" { print $3, $4 }' "$hold")
err4m=$(awk '$1 == "ERR" && $2 == "t4m" { print $3 }' "$hold")
other_err=$(awk '$1 == "ERR" && $2 == "other"' "$hold")
other_last=$(awk '$1 == "END" && $2 == "other" { print $4 }' "$hold")
other_n=$(awk '$1 == "END" && $2 == "other" { print $3 }' "$hold")
ms4=$((${err4#* } - t_cmd)) ms6=$((${err6#* } - t_cmd))
echo "  reset after the command: IPv4 ${err4% *} in $ms4 ms, IPv6 ${err6% *} in $ms6 ms (bound $RESET_MS ms); IPv4-mapped: ${err4m:-none}"
echo "  untargeted connection: $other_n echoes, the last $((other_last - t_cmd)) ms after the command, errors: ${other_err:-none}"
echo "  new connects during the fault: IPv4 $(cut -d' ' -f1 "$T_TMP/refused4" | sort | uniq -c | xargs) max $(max_ms "$T_TMP/refused4") ms," \
	"IPv6 $(cut -d' ' -f1 "$T_TMP/refused6" | sort | uniq -c | xargs) max $(max_ms "$T_TMP/refused6") ms," \
	"peer to us $(cut -d' ' -f1 "$T_TMP/refused_in" | sort | uniq -c | xargs) max $(max_ms "$T_TMP/refused_in") ms," \
	"neighbour $(cut -d' ' -f1 "$T_TMP/neighbour" | sort | uniq -c | xargs)"
echo "  after the deadline: $(cut -d' ' -f1 "$T_TMP/healed4" "$T_TMP/healed6" | sort | uniq -c | xargs); $(grep -o '"counters":{[^}]*}' "$out" | tail -1)"
t_check exit_0_at_deadline "rc=$rc: $(tail -3 "$out")" [ "$rc" -eq 0 ]
t_check established_v4_reset "client: $(cat "$hold")" \
	bash -c "[[ '${err4% *}' =~ ^(ECONNABORTED|ECONNRESET)$ ]] && [ $ms4 -ge 0 ] && [ $ms4 -le $RESET_MS ]"
t_check established_v6_reset "client: $(cat "$hold")" \
	bash -c "[[ '${err6% *}' =~ ^(ECONNABORTED|ECONNRESET)$ ]] && [ $ms6 -ge 0 ] && [ $ms6 -le $RESET_MS ]"
# It kept echoing until the end of the hold, well after the fault began.
t_check established_v4_mapped_reset "client: $(cat "$hold")" bash -c "[[ '$err4m' =~ ^(ECONNABORTED|ECONNRESET)$ ]]"
t_check untargeted_connection_untouched "err='$other_err', last echo at $other_last, fault over at $t_end" \
	bash -c "[ -z '$other_err' ] && [ '${other_last:-0}' -ge $t_end ]"
t_check new_connects_refused "v4: $(xargs <"$T_TMP/refused4"); v6: $(xargs <"$T_TMP/refused6") (reverted before the probes ended: $early)" \
	bash -c "all_are() { [ -s \"\$1\" ] && ! grep -qv \"^\$2 \" \"\$1\"; }; all_are '$T_TMP/refused4' ECONNREFUSED && all_are '$T_TMP/refused6' ECONNREFUSED &&
		awk '\$2 > $REFUSE_MS { exit 1 }' '$T_TMP/refused4' '$T_TMP/refused6'"
t_check peer_connects_refused "$(xargs <"$T_TMP/refused_in")" \
	bash -c "[ -s '$T_TMP/refused_in' ] && ! grep -qv '^ECONNREFUSED ' '$T_TMP/refused_in' && awk '\$2 > $REFUSE_MS { exit 1 }' '$T_TMP/refused_in'"
t_check neighbour_connects_work "$(xargs <"$T_TMP/neighbour")" all_are "$T_TMP/neighbour" OK
t_check connects_work_after_deadline "$(cat "$T_TMP/healed4" "$T_TMP/healed6" | xargs)" \
	bash -c "[ -s '$T_TMP/healed4' ] && ! grep -qv '^OK ' '$T_TMP/healed4' '$T_TMP/healed6'"
t_check counters_reported "$(grep reverted "$out")" \
	bash -c "grep reverted '$out' | grep -q '\"reset_established\":3' && grep reverted '$out' | grep -qE '\"refused_syn_out\":1[0-9]' && grep reverted '$out' | grep -qE '\"refused_syn_in\":3'"
t_check no_link_left_after_deadline "links $(links_now) vs $links_before" [ "$(links_now)" -eq "$links_before" ]

# --- --port: only connections with that port ---
t_bg holdpid ip netns exec "$A" $PY "$T_TMP/hold.py" 3 t4=10.200.0.2 >"$hold.port"
wait_for "$hold.port" '^ready' 3000
t_bg tugpid "$TUG" net reset --netns "$A" --peer 10.200.0.2 --port 7999 --for 1s --json >"$out.port" 2>&1
wait_for "$out.port" '"event":"applied"' 3000
probe "$A" 10.200.0.2 7000 1 >"$T_TMP/port_other"
wait "$tugpid"
kill -TERM "$holdpid"
wait "$holdpid"
t_check port_filter_spares_other_ports "client: $(xargs <"$hold.port"); connect: $(cat "$T_TMP/port_other")" \
	bash -c "! grep -q ^ERR '$hold.port' && grep -q '^OK ' '$T_TMP/port_other' && grep reverted '$out.port' | grep -q '\"reset_established\":0'"

# --- TCP Fast Open: a SYN with data is dropped; the stack sends it again
# without data at once (the transmit failed), and that one is refused ---
# tfo.py: a connect that sends its first byte in the SYN (with the cookie
# the first call fetched); prints "OK|ERRNO MS".
cat >"$T_TMP/tfo.py" <<'PY'
import errno, socket, sys, time
s = socket.socket(); s.settimeout(5); t = time.monotonic()
try:
    s.sendto(b"x", socket.MSG_FASTOPEN, ("10.200.0.2", 7002)); s.recv(1); r = "OK"
except OSError as e:
    r = errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout"
print(r, "%.0f" % ((time.monotonic() - t) * 1000), flush=True)
PY
ip netns exec "$A" sysctl -qw net.ipv4.tcp_fastopen=1
ip netns exec "$B" sysctl -qw net.ipv4.tcp_fastopen=2
t_bg tfosrv ip netns exec "$B" $PY -c '
import socket, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16); s.bind(("0.0.0.0", 7002)); s.listen(16)
while True:
    c, _ = s.accept(); c.sendall(c.recv(1))
'
wait_listen "$B" 7002
probe_tfo() { ip netns exec "$A" $PY "$T_TMP/tfo.py"; }
probe_tfo >/dev/null	# fetches the cookie
before=$(probe_tfo)
t_bg tugpid "$TUG" net reset --netns "$A" --peer 10.200.0.2 --dir out --for 10s --json >"$out.tfo" 2>&1
wait_for "$out.tfo" '"event":"applied"' 3000
during=$(probe_tfo)
kill -TERM "$tugpid"
wait "$tugpid"
echo "  TCP Fast Open: before the fault ${before}; during it ${during} ms; $(grep -o '"dropped_syn_data":[0-9]*' "$out.tfo" | tail -1)"
t_check fast_open_syn_refused "before '$before', during '$during' ms; $(grep reverted "$out.tfo")" \
	bash -c "[ '${before% *}' = OK ] && [ '${during% *}' = ECONNREFUSED ] && [ '${during#* }' -le $((500 * SLOW)) ] && grep reverted '$out.tfo' | grep -qE '\"dropped_syn_data\":[1-9]'"

# --- the control channel: the SSH session that started tug is spared ---
# A connection from B (fixed source port) to A:7001 stands in for it;
# SSH_CONNECTION names it as sshd would. A second one from B is not spared.
cat >"$T_TMP/ctl.py" <<'PY'
import socket, sys, time
def conn(port):
    c = socket.socket(); c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind(("10.200.0.2", port)); c.connect(("10.200.0.1", 7001)); c.settimeout(0.5)
    return c
ctl, other = conn(40123), conn(40124)
print("ready", flush=True)
n = {"ctl": 0, "other": 0}
for i in range(int(sys.argv[1])):
    for name, c in (("ctl", ctl), ("other", other)):
        try:
            c.sendall(b"x"); n[name] += c.recv(1) == b"x"
        except OSError:
            pass
    time.sleep(0.05)
print(n["ctl"], n["other"], flush=True)
PY
ip netns exec "$B" $PY "$T_TMP/ctl.py" 30 >"$T_TMP/ctl" &
cli=$!
wait_for "$T_TMP/ctl" '^ready' 3000
SSH_CONNECTION="10.200.0.2 40123 10.200.0.1 7001" "$TUG" net reset --netns "$A" --peer 10.200.0.2 \
	--for 1s --json >"$out.ctl" 2>&1
wait "$cli"
read -r ctl_ok other_ok < <(tail -1 "$T_TMP/ctl")
echo "  control channel: $ctl_ok/30 echoes; the other connection from the peer: $other_ok/30"
t_check control_channel_spared "ctl $ctl_ok/30, other $other_ok/30; $(grep reverted "$out.ctl")" \
	bash -c "[ '$ctl_ok' -eq 30 ] && [ '$other_ok' -lt 30 ] && grep reverted '$out.ctl' | grep -q '\"reset_established\":1'"

# --- SIGTERM and SIGKILL end the refusal at once ---
# heal_ms: how long after now connects to the peer work again (-1: never
# within 2 s).
heal_ms() {
	local t0 t
	t0=$(now_ms)
	while t=$(now_ms) && [ $((t - t0)) -lt 2000 ]; do
		probe "$A" 10.200.0.2 7000 1 | grep -q '^OK ' && { echo $((t - t0)); return; }
	done
	echo -1
}
for sig in TERM KILL; do
	t_bg tugpid "$TUG" net reset --netns "$A" --peer 10.200.0.2 --for 30s --json >"$out.$sig" 2>&1
	wait_for "$out.$sig" '"event":"applied"' 3000
	held=$(probe "$A" 10.200.0.2 7000 1 | cut -d' ' -f1)
	kill -"$sig" "$tugpid"
	wait "$tugpid" 2>/dev/null
	healed=$(heal_ms)
	echo "  SIG$sig: refused before ($held), connects again $healed ms after the signal"
	t_check "sig${sig,,}_ends_refusal" "held=$held healed=$healed ms, links $(links_now)" \
		bash -c "[ '$held' = ECONNREFUSED ] && [ $healed -ge 0 ] && [ $healed -le $((1000 * SLOW)) ]"
done
# The guardian clears the SIGKILLed controller's journal entry.
end=$(($(now_ms) + 2000))
while [ -n "$(ls "$TUG_RUN_DIR/faults" 2>/dev/null)" ] && [ "$(now_ms)" -lt "$end" ]; do sleep 0.05; done
t_check sigkill_nothing_left "links $(links_now) vs $links_before; journal: $(ls "$TUG_RUN_DIR/faults" 2>/dev/null)" \
	bash -c "[ $(links_now) -eq $links_before ] && [ -z \"\$(ls '$TUG_RUN_DIR/faults' 2>/dev/null)\" ]"

# --- the clsact backend (kernels before 6.6): the same answers; after a
# SIGKILL the guardian removes tug's filters and qdisc ---
t_bg tugpid "$TUG" net reset --netns "$A" --peer 10.200.0.2 --backend clsact --for 30s --json >"$out.clsact" 2>&1
wait_for "$out.clsact" '"event":"applied"' 3000
probe "$A" 10.200.0.2 7000 2 >"$T_TMP/clsact_out"
probe "$B" 10.200.0.1 7001 2 >"$T_TMP/clsact_in"
kill -KILL "$tugpid"
wait "$tugpid" 2>/dev/null
healed=$(heal_ms)
end=$(($(now_ms) + 2000))
while tc -n "$A" qdisc show dev va | grep -q clsact && [ "$(now_ms)" -lt "$end" ]; do sleep 0.05; done
echo "  clsact: ours $(cut -d' ' -f1 "$T_TMP/clsact_out" | xargs), the peer's $(cut -d' ' -f1 "$T_TMP/clsact_in" | xargs);" \
	"connects again $healed ms after SIGKILL"
t_check clsact_refuses_both_ways "$(cat "$T_TMP/clsact_out" "$T_TMP/clsact_in" | xargs); $(head -3 "$out.clsact")" \
	bash -c "! grep -qv '^ECONNREFUSED ' '$T_TMP/clsact_out' '$T_TMP/clsact_in' && [ -s '$T_TMP/clsact_in' ]"
t_check clsact_sigkill_guardian_heals "healed=$healed ms; qdisc: $(tc -n "$A" qdisc show dev va | xargs)" \
	bash -c "[ $healed -ge 0 ] && [ $healed -le $((1000 * SLOW)) ] && ! tc -n '$A' qdisc show dev va | grep -q clsact"

# --- bad input: exit 2, nothing applied ---
bad=0 msgs=""
for args in "" "--peer 10.200.0.300" "--peer 10.200.0.2 --proto udp" "--peer 10.200.0.2 --port 0" \
	"--peer 10.200.0.2 --netns tug-no-such-ns" "--peer 10.200.0.2 --dev no-such-if --netns $A" \
	"--peer 10.200.0.2 --percent 5"; do
	# shellcheck disable=SC2086
	"$TUG" net reset $args --for 1s >/dev/null 2>"$T_TMP/bad.err"
	r=$?
	[ "$r" -eq 2 ] || { bad=$((bad + 1)); msgs+="[$args] rc=$r $(head -1 "$T_TMP/bad.err"); "; }
done
t_check bad_input_exit_2 "$msgs" [ "$bad" -eq 0 ]
t_check bad_input_nothing_applied "links $(links_now) vs $links_before" [ "$(links_now)" -eq "$links_before" ]
