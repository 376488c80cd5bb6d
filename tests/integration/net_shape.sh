#!/usr/bin/env bash
# net corrupt, duplicate and bandwidth with real packets between two
# namespaces joined by veth. Node A (where tug acts) is 10.200.0.1; node B
# holds 10.200.0.2 (the peer) and 10.200.0.3 (on the same link, untargeted:
# must see nothing of the fault).
. "$(dirname "$0")/../lib.sh"

U="$TUG_BUILD/tests/udpseq"
A=$(t_netns a) && B=$(t_netns b) || { t_fail setup "cannot create namespaces"; exit 1; }
t_veth "$A" va "$B" vb || { t_fail setup "cannot create veth"; exit 1; }
ip -n "$A" addr add 10.200.0.1/24 dev va
ip -n "$B" addr add 10.200.0.2/24 dev vb
ip -n "$B" addr add 10.200.0.3/24 dev vb
ip netns exec "$A" ping -c1 -W2 10.200.0.2 >/dev/null || { t_fail setup "no baseline connectivity"; exit 1; }
N=4000

links_now() {
	echo $(($(ip netns exec "$A" "$TUG_BUILD/tests/attached" va) +
		$(tc -n "$A" filter show dev va ingress 2>/dev/null | grep -c ' bpf ') +
		$(tc -n "$A" filter show dev va egress 2>/dev/null | grep -c ' bpf ')))
}
# B's UDP counter NAME from /proc/net/snmp.
udp_stat() {
	ip netns exec "$B" awk -v k="$1" '/^Udp:/ { if (!h) { for (i = 2; i <= NF; i++) if ($i == k) c = i; h = 1 } else print $c }' /proc/net/snmp
}
# field OUT KEY: KEY=value of a udpseq recv summary; summary OUT: all of it.
field() { sed -n "s/.*$2=\([0-9]*\).*/\1/p" "$1"; }
summary() { tail -1 "$1"; }
# counter OUT NAME: a counter of the reverted event.
counter() { json_field "$1" reverted "$2"; }
# within X N P: X is N*P/100 within 5 sigma of the binomial.
within() {
	awk -v x="$1" -v n="$2" -v p="$3" 'BEGIN { p /= 100; m = n * p; s = 5 * sqrt(n * p * (1 - p)); exit !(x >= m - s && x <= m + s) }'
}
# udp_run OUT_T OUT_O: N datagrams to the peer and N to the untargeted
# address, received in B; results in OUT_T and OUT_O.
udp_run() {
	t_bg r1 ip netns exec "$B" "$U" recv 10.200.0.2 9000 1500 >"$1"
	t_bg r2 ip netns exec "$B" "$U" recv 10.200.0.3 9001 1500 >"$2"
	wait_for "$1" ready 2000 && wait_for "$2" ready 2000
	ip netns exec "$A" "$U" send 10.200.0.2 9000 "$N" 256 50 &
	local s1=$!
	ip netns exec "$A" "$U" send 10.200.0.3 9001 "$N" 256 50
	wait "$s1" "$r1" "$r2"
}

# --- corrupt: the checksum stays wrong, the receiver drops ---
# veth trusts a sender's checksum offload (CHECKSUM_PARTIAL is never
# verified): A's device computes checksums itself, like a NIC that checks.
if ! command -v ethtool >/dev/null; then
	t_skip corrupt_receiver_drops "no ethtool to turn off va's tx checksum offload (scripts/install-deps installs it)"
else
	ip netns exec "$A" ethtool -K va tx off >/dev/null
	out="$T_TMP/corrupt" rt="$T_TMP/c-t" ro="$T_TMP/c-o"
	csum0=$(udp_stat InCsumErrors)
	t_bg tugpid "$TUG" net corrupt --netns "$A" --peer 10.200.0.2 --proto udp --port 9000 --percent 30 --for 20s --json >"$out" 2>&1
	wait_for "$out" '"applied"' 3000
	udp_run "$rt" "$ro"
	kill -TERM "$tugpid"; wait "$tugpid"
	csum=$(($(udp_stat InCsumErrors) - csum0))
	hit=$(counter "$out" corrupted_out)
	echo "  corrupt 30%: $hit of $N datagrams corrupted ($(awk -v h="$hit" -v n="$N" 'BEGIN { printf "%.1f", 100 * h / n }') %), InCsumErrors +$csum, peer got $(field "$rt" unique) intact; untargeted: $(summary "$ro"); RcvbufErrors in B: $(udp_stat RcvbufErrors)"
	t_check corrupt_share_as_asked "corrupted $hit of $N, asked 30 %" within "${hit:-0}" "$N" 30
	t_check corrupt_receiver_drops "InCsumErrors +$csum, corrupted $hit; peer: $(summary "$rt")" \
		eval "[ $csum -eq ${hit:-x} ] && [ $(($(field "$rt" unique) + csum)) -eq $N ] && [ $(field "$rt" corrupt) -eq 0 ]"
	t_check corrupt_untargeted_untouched "untargeted: $(summary "$ro")" \
		eval "[ $(field "$ro" unique) -eq $N ] && [ $(field "$ro" corrupt) -eq 0 ]"

	# TCP: the receiver drops the damaged segments and the sender retransmits
	# them. A GSO packet (tens of segments) is one packet to the program and
	# all its segments fail, so each corrupted packet costs at least one
	# retransmitted segment, and the share of segments is near the asked one.
	# The flow is the test's own, measured by A's TCP counters, and the peer
	# checks every byte: in one CI run an iperf3 client (3.12, Debian 12)
	# outlived the fault's 20 s deadline and printed nothing.
	out="$T_TMP/corrupt-tcp" sink="$T_TMP/sink"
	t_bg sinkpid ip netns exec "$B" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.200.0.2", 5203)); s.listen(1)
c, _ = s.accept(); c.settimeout(30); n = bad = 0
while True:
    b = c.recv(1 << 16)
    if not b: break
    n += len(b); bad += len(b) - b.count(b"x")
print("received", n, "damaged", bad, flush=True)' >"$sink" 2>&1
	wait_listen "$B" 5203
	tcp_stat() {	# OutSegs RetransSegs of A's TCP
		ip netns exec "$A" awk '/^Tcp:/ { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 } else print $c["OutSegs"], $c["RetransSegs"] }' /proc/net/snmp
	}
	t_bg tugpid "$TUG" net corrupt --netns "$A" --peer 10.200.0.2 --proto tcp --percent 1 --for 30s --json >"$out" 2>&1
	wait_for "$out" '"applied"' 3000
	read -r segs0 retrans0 <<<"$(tcp_stat)"
	sent=$(ip netns exec "$A" /usr/bin/python3 -c '
import socket, time
c = socket.create_connection(("10.200.0.2", 5203), timeout=30)
buf = b"x" * (1 << 16); n = 0; end = time.monotonic() + 2
while time.monotonic() < end:
    c.sendall(buf); n += len(buf)
c.shutdown(socket.SHUT_WR); c.recv(1); print(n)' 2>&1)
	wait "$sinkpid"
	read -r segs1 retrans1 <<<"$(tcp_stat)"
	kill -TERM "$tugpid"; wait "$tugpid"
	segs=$((segs1 - segs0)) retrans=$((retrans1 - retrans0))
	hit=$(counter "$out" corrupted_out) passed=$(counter "$out" passed_out)
	echo "  corrupt 1% TCP: $hit of $((${hit:-0} + ${passed:-0})) packets corrupted; $retrans of $segs segments retransmitted ($(awk -v r="$retrans" -v s="$segs" 'BEGIN { if (s) printf "%.2f", 100 * r / s }') %); sent '$sent', the peer $(cat "$sink")"
	t_check corrupt_tcp_packet_share "corrupted $hit packets, passed $passed, asked 1 %" \
		within "${hit:-x}" $((${hit:-0} + ${passed:-0})) 1
	t_check corrupt_tcp_peer_reads_intact "sent '$sent', the peer $(cat "$sink")" \
		[ "$(tail -1 "$sink")" = "received $sent damaged 0" ]
	t_check corrupt_tcp_retransmits "retransmits $retrans of $segs segments for $hit corrupted packets, asked 1 %" \
		awk -v r="$retrans" -v s="$segs" -v h="${hit:-0}" 'BEGIN { exit !(h > 0 && r >= h && r / s >= 0.002 && r / s <= 0.03) }'
	ip netns exec "$A" ethtool -K va tx on >/dev/null
fi

# --- corrupt --fix-checksum: the damage reaches the application ---
# The UDP cases select the measured flow alone (--proto udp --port 9000). Once
# tug counted one corruption more than the peer saw, with all 4000 datagrams
# received and every single-bit flip detectable by udpseq: the extra one was
# another packet to the peer, such as a retransmission from the TCP case's
# orphaned sockets.
out="$T_TMP/corrupt-fix" rt="$T_TMP/cf-t" ro="$T_TMP/cf-o"
csum0=$(udp_stat InCsumErrors)
t_bg tugpid "$TUG" net corrupt --netns "$A" --peer 10.200.0.2 --proto udp --port 9000 --percent 30 --fix-checksum --for 20s --json >"$out" 2>&1
wait_for "$out" '"applied"' 3000
udp_run "$rt" "$ro"
kill -TERM "$tugpid"; wait "$tugpid"
csum=$(($(udp_stat InCsumErrors) - csum0))
hit=$(counter "$out" corrupted_out) bad=$(field "$rt" corrupt)
echo "  corrupt 30% --fix-checksum: $hit corrupted, the peer read $bad damaged payloads of $(field "$rt" received); InCsumErrors +$csum; untargeted: $(summary "$ro")"
t_check corrupt_fix_reaches_application "peer: $(summary "$rt"), corrupted $hit, InCsumErrors +$csum" \
	eval "[ ${bad:-x} -eq ${hit:-y} ] && [ $(field "$rt" received) -eq $N ] && [ $csum -eq 0 ]"
t_check corrupt_fix_share_as_asked "corrupted $bad of $N, asked 30 %" within "${bad:-0}" "$N" 30
t_check corrupt_fix_untargeted_untouched "untargeted: $(summary "$ro")" \
	eval "[ $(field "$ro" unique) -eq $N ] && [ $(field "$ro" corrupt) -eq 0 ] && [ $(field "$ro" duplicates) -eq 0 ]"

# --- duplicate, egress on A ---
out="$T_TMP/dup" rt="$T_TMP/d-t" ro="$T_TMP/d-o"
t_bg tugpid "$TUG" net duplicate --netns "$A" --peer 10.200.0.2 --proto udp --port 9000 --percent 20 --for 20s --json >"$out" 2>&1
wait_for "$out" '"applied"' 3000
udp_run "$rt" "$ro"
kill -TERM "$tugpid"; wait "$tugpid"
dup=$(field "$rt" duplicates) hit=$(counter "$out" duplicated_out)
echo "  duplicate 20% (egress): peer got $(field "$rt" received) datagrams, $(field "$rt" unique) distinct, $dup twice ($(awk -v h="$dup" -v n="$N" 'BEGIN { printf "%.1f", 100 * h / n }') %); untargeted: $(summary "$ro")"
t_check duplicate_share_as_asked "peer: $(summary "$rt"), counter $hit" \
	eval "[ $(field "$rt" unique) -eq $N ] && [ ${dup:-x} -eq ${hit:-y} ] && within $dup $N 20"
t_check duplicate_untargeted_untouched "untargeted: $(summary "$ro")" \
	eval "[ $(field "$ro" unique) -eq $N ] && [ $(field "$ro" duplicates) -eq 0 ]"

# --- duplicate, ingress on B (the copy comes in again) ---
out="$T_TMP/dup-in" rt="$T_TMP/di-t" ro="$T_TMP/di-o"
t_bg tugpid "$TUG" net duplicate --netns "$B" --peer 10.200.0.1 --dir in --port 9000 --percent 50 --for 20s --json >"$out" 2>&1
wait_for "$out" '"applied"' 3000
udp_run "$rt" "$ro"
kill -TERM "$tugpid"; wait "$tugpid"
dup=$(field "$rt" duplicates) hit=$(counter "$out" duplicated_in)
echo "  duplicate 50% (ingress, --port 9000): $dup of $N twice; port 9001: $(summary "$ro")"
t_check duplicate_ingress_share "peer: $(summary "$rt"), counter $hit" \
	eval "[ ${dup:-x} -eq ${hit:-y} ] && within $dup $N 50"
t_check duplicate_ingress_other_port_untouched "port 9001: $(summary "$ro")" \
	eval "[ $(field "$ro" unique) -eq $N ] && [ $(field "$ro" duplicates) -eq 0 ]"

# --- bandwidth: 10mbit to the peer, the untargeted flow at full speed ---
iperf() {	# ADDR PORT SECONDS: Mbit/s received, after the first second
	ip netns exec "$A" iperf3 -c "$1" -p "$2" -t "$3" -O 1 -J 2>/dev/null |
		/usr/bin/python3 -c 'import json, sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e6))'
}
ip netns exec "$B" iperf3 -s -1 -p 5201 -B 10.200.0.2 >/dev/null 2>&1 &
T_PIDS+=($!)
ip netns exec "$B" iperf3 -s -1 -p 5202 -B 10.200.0.3 >/dev/null 2>&1 &
T_PIDS+=($!)
wait_listen "$B" 5201 && wait_listen "$B" 5202
out="$T_TMP/bw"
t_bg tugpid "$TUG" net bandwidth --netns "$A" --peer 10.200.0.2 --rate 10mbit --for 30s --json >"$out" 2>&1
wait_for "$out" '"applied"' 3000
live=$(links_now)
st=$("$TUG" status --json)
iperf 10.200.0.3 5202 3 >"$T_TMP/bw-o" &
ip=$!
got=$(iperf 10.200.0.2 5201 4)
wait "$ip"
other=$(cat "$T_TMP/bw-o")
st=$("$TUG" status --json)
kill -TERM "$tugpid"; wait "$tugpid"
echo "  bandwidth 10mbit: the peer's TCP flow reached ${got:-?} Mbit/s; the untargeted flow beside it ${other:-?} Mbit/s; $(counter "$out" dropped_over_rate_out) packets dropped over the rate"
t_check bandwidth_rate_reached "TCP to the peer: ${got:-none} Mbit/s, asked 10" \
	awk -v g="${got:-0}" 'BEGIN { exit !(g >= 8 && g <= 11) }'
t_check bandwidth_untargeted_full_speed "untargeted flow ${other:-none} Mbit/s" \
	awk -v o="${other:-0}" 'BEGIN { exit !(o >= 100) }'
t_check bandwidth_status_counters "status: $st" \
	bash -c "echo '$st' | grep -qE '\"dropped_over_rate_out\":[1-9]'"
t_check bandwidth_links_while_held "programs on va: $live" [ "$live" -ge 2 ]
t_check bandwidth_reverted_no_link "programs on va after revert: $(links_now)" [ "$(links_now)" -eq 0 ]

# --- reverting: SIGKILL (tcx links die with tug), clsact at the deadline ---
out="$T_TMP/kill"
t_bg tugpid "$TUG" net duplicate --netns "$A" --peer 10.200.0.2 --percent 100 --for 30s --json >"$out" 2>&1
wait_for "$out" '"applied"' 3000
held=$(links_now)
kill -KILL "$tugpid"; wait "$tugpid" 2>/dev/null
left=$(links_now)
t_check sigkill_leaves_no_link "programs on va: $held held, $left after SIGKILL" \
	eval "[ $held -ge 2 ] && [ $left -eq 0 ]"
rt="$T_TMP/k-t" ro="$T_TMP/k-o"
udp_run "$rt" "$ro"
t_check sigkill_duplicates_gone "after SIGKILL: $(summary "$rt")" [ "$(field "$rt" duplicates)" -eq 0 ]

out="$T_TMP/clsact"
"$TUG" net corrupt --netns "$A" --peer 10.200.0.2 --percent 10 --backend clsact --for 500ms --json >"$out" 2>&1
rc=$?
t_check clsact_deadline_reverts "rc=$rc; programs on va: $(links_now); qdisc: $(tc -n "$A" qdisc show dev va | grep clsact)" \
	bash -c "[ $rc -eq 0 ] && [ $(links_now) -eq 0 ] && ! tc -n '$A' qdisc show dev va | grep -q clsact"

# SIGKILL on clsact: the filters outlive tug; its guardian removes them.
out="$T_TMP/clsact-kill"
t_bg tugpid "$TUG" net bandwidth --netns "$A" --peer 10.200.0.2 --rate 1mbit --backend clsact --for 30s --json >"$out" 2>&1
wait_for "$out" '"applied"' 3000
held=$(links_now)
kill -KILL "$tugpid"; wait "$tugpid" 2>/dev/null
t_kill=$(now_ms) gone=""
while [ $(($(now_ms) - t_kill)) -lt 2000 ]; do
	if [ "$(links_now)" -eq 0 ] && ! tc -n "$A" qdisc show dev va | grep -q clsact; then
		gone=$(($(now_ms) - t_kill))
		break
	fi
	sleep 0.01
done
echo "  bandwidth on clsact: $held filters held; removed by the guardian ${gone:-never} ms after SIGKILL"
t_check sigkill_clsact_guardian_removes "held $held, removed after ${gone:-never} ms" \
	eval "[ $held -ge 2 ] && [ -n '$gone' ] && [ ${gone:-9999} -lt 1000 ]"

# doctor names each verb's backend: the engine's, as for a partition (tcx,
# or clsact on kernels before 6.6).
"$TUG" doctor --json >"$T_TMP/doctor"
pb=$(sed -n 's/.*"fault":"net partition","backend":"\([^"]*\)".*/\1/p' "$T_TMP/doctor")
t_check doctor_reports_shape_backends "partition's backend '$pb'; doctor: $(grep '"fault":"net ' "$T_TMP/doctor")" \
	eval "[ '$pb' = tcx ] || [ '$pb' = clsact ] &&
	      grep -q '\"fault\":\"net corrupt\",\"backend\":\"$pb\"' '$T_TMP/doctor' &&
	      grep -q '\"fault\":\"net duplicate\",\"backend\":\"$pb\"' '$T_TMP/doctor' &&
	      grep -q '\"fault\":\"net bandwidth\",\"backend\":\"$pb\"' '$T_TMP/doctor'"

# --- bad input: exit 2, nothing applied ---
"$TUG" net bandwidth --netns "$A" --peer 10.200.0.2 --rate 10mbps --for 1s >/dev/null 2>"$T_TMP/bad"
rc=$?
t_check bandwidth_bad_rate_exit_2 "rc=$rc: $(cat "$T_TMP/bad")" \
	bash -c "[ $rc -eq 2 ] && grep -q -- '--rate' '$T_TMP/bad' && [ $(links_now) -eq 0 ]"
