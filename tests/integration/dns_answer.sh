#!/usr/bin/env bash
# tug net dns-fail --answer: one cgroup's DNS answered by tug's responder as
# asked (NXDOMAIN, SERVFAIL, REFUSED, an address, never), measured with
# glibc (getent, getaddrinfo) and a resolver that does not connect its UDP
# socket, against a real server (dnsd answering 10.200.9.9) that every
# other process keeps reaching.
# Host part: the service in the host's network namespace, the server on
# 127.0.0.153, resolv.conf bind-mounted in the clients' own mount namespace.
# Namespace part: the service in namespace A (--netns A), the server in B.
. "$(dirname "$0")/../lib.sh"

SP="$TUG_BUILD/tests/sockprobe"
DNSD="$TUG_BUILD/tests/dnsd"
RAW="/usr/bin/python3 ${TUG_TOP:-$(dirname "$0")/../..}/tests/tools/rawdns.py"
NAME=svc.tug.test
REAL=10.200.9.9
CG=$(t_cgroup dnsans) || { t_skip dns_answer "no cgroup2 hierarchy to make a cgroup in"; exit 0; }
# The same probe as tug doctor's: the answer hooks must load.
if "$TUG" doctor --json 2>/dev/null | grep '"net dns-fail"' | grep -q 'answer: unavailable'; then
	t_skip dns_answer "$("$TUG" doctor 2>/dev/null | grep 'net dns-fail')"
	exit 0
fi

t_bg dnspid "$DNSD" 127.0.0.153 53 "$REAL" >"$T_TMP/dnsd.out"
wait_for "$T_TMP/dnsd.out" ready 3000 || { t_fail setup "dnsd on 127.0.0.153:53 did not start"; exit 1; }
RESOLV="$T_TMP/resolv.conf"
resolv() { printf 'nameserver %s\noptions timeout:1 attempts:1 %s\n' "$1" "${2:-}" >"$RESOLV"; }
resolv 127.0.0.153
# cg CMD...: CMD in the cgroup; plain CMD...: outside it; both see $RESOLV
# as /etc/resolv.conf, in a mount namespace of their own.
BIND='mount --bind "$0" /etc/resolv.conf && exec "$@"'
cg() { t_in_cgroup "$CG" unshare -m sh -c "$BIND" "$RESOLV" "$@"; }
plain() { unshare -m sh -c "$BIND" "$RESOLV" "$@"; }
attached() { bpftool cgroup show "$1" 2>/dev/null | grep -c tug_sf_; }
getent_rc() { "$@" >/dev/null 2>&1; echo $?; }
counter() { grep -o "\"$2\":[0-9]*" "$1" | tail -1 | cut -d: -f2; }
start() {	# OUTFILE tug-args...: start dns-fail, wait for "applied"
	local out=$1
	shift
	t_bg tugpid "$TUG" net dns-fail --cgroup "$CG" "$@" --json >"$out" 2>&1
	wait_for "$out" '"applied"' 3000 || { t_fail "applied_$*" "$(cat "$out")"; return 1; }
}
stop() {	# SIGINT and wait; the exit status
	kill -INT "$tugpid"
	wait "$tugpid"
}

r=$(cg getent hosts $NAME)
t_check baseline_inside "inside: $r" bash -c "[[ '$r' == $REAL* ]]"

# --- nxdomain: glibc over UDP and TCP, and an unconnected resolver ---
out="$T_TMP/nx"
start "$out" --answer nxdomain --for 30s || exit 1
t0=$(now_ms)
rc=$(getent_rc cg getent hosts $NAME)
ms=$(($(now_ms) - t0))
gai=$(cg "$SP" resolve $NAME)
raw=$(cg $RAW 127.0.0.153 $NAME)
raw6m=$(cg $RAW ::ffff:127.0.0.153 $NAME)
out_real=$(plain getent hosts $NAME)
raw_out=$(plain $RAW 127.0.0.153 $NAME)
resolv 127.0.0.153 use-vc
rc_tcp=$(getent_rc cg getent hosts $NAME)
out_tcp=$(plain getent hosts $NAME)
resolv 127.0.0.153
st=$("$TUG" status --json)
echo "  nxdomain: getent rc=$rc in ${ms}ms; getaddrinfo $gai; unconnected: $raw; v4-mapped: $raw6m"
t_check nx_getent_exit_2 "getent exited $rc" [ "$rc" = 2 ]
t_check nx_getaddrinfo_eai_noname "getaddrinfo: $gai" bash -c "[[ '$gai' == gai:-2* ]]"
t_check nx_unconnected_from_server "unconnected resolver got: $raw" \
	bash -c "[[ '$raw' == 'rcode=3 an=0 addr=- id_ok=1 from=127.0.0.153:53 '* ]]"
t_check nx_v4_mapped_from_server "v4-mapped: $raw6m" \
	bash -c "[[ '$raw6m' == 'rcode=3 an=0 addr=- id_ok=1 from=::ffff:127.0.0.153:53 '* ]]"
t_check nx_tcp_getent_exit_2 "getent use-vc exited $rc_tcp" [ "$rc_tcp" = 2 ]
t_check nx_outside_real_answer "outside: $out_real; unconnected: $raw_out" \
	bash -c "[[ '$out_real' == $REAL* ]] && [[ '$raw_out' == 'rcode=0 an=1 addr=$REAL '* ]]"
t_check nx_status_counters "status: $st" bash -c "echo '$st' | grep -q '\"answered_nxdomain\":[1-9]' &&
	echo '$st' | grep -q '\"redirected_udp_v4\":2,' &&
	echo '$st' | grep -q '\"source_restored\":[1-9]'"
# Untrusted input: garbage over UDP and TCP is counted and dropped, and the
# responder answers the next query.
cg /usr/bin/python3 -c '
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in (b"", b"\x00" * 5, b"\xff" * 1500, bytes(12) + b"\xc0\x0c\x00\x01\x00\x01"):
    u.sendto(d, ("127.0.0.153", 53))
t = socket.create_connection(("127.0.0.153", 53))
t.sendall(b"\xff\xff" + b"x" * 100)
t.settimeout(2)
print("tcp closed" if t.recv(10) == b"" else "tcp answered")
' >"$T_TMP/garbage.out" 2>&1
raw=$(cg $RAW 127.0.0.153 $NAME)
sleep 0.1
st=$("$TUG" status --json)
mal=$(echo "$st" | grep -o '"malformed":[0-9]*' | cut -d: -f2)
t_check nx_garbage_dropped "garbage: $(cat "$T_TMP/garbage.out"); malformed=$mal; then: $raw" \
	bash -c "grep -q 'tcp closed' '$T_TMP/garbage.out' && [ '${mal:-0}' -ge 4 ] && [[ '$raw' == 'rcode=3 '* ]]"
# SIGKILL: hooks and responder go with the process.
{ kill -9 "$tugpid" && wait "$tugpid"; } 2>/dev/null
r=$(cg getent hosts $NAME)
raw=$(cg $RAW 127.0.0.153 $NAME)
t_check nx_sigkill_heals_at_once "inside right after SIGKILL: $r; unconnected: $raw" \
	bash -c "[[ '$r' == $REAL* ]] && [[ '$raw' == 'rcode=0 an=1 addr=$REAL '* ]]"
t_check nx_sigkill_no_program_left "attached: $(attached "$CG")" [ "$(attached "$CG")" -eq 0 ]
"$TUG" recover >/dev/null 2>&1
t_check nx_recover_nothing_left "status: $("$TUG" status)" bash -c "'$TUG' status | grep -q 'no live faults'"

# --- servfail, refused: the rcode, as glibc and the raw resolver see it ---
for mode in servfail refused; do
	code=$([ $mode = servfail ] && echo 2 || echo 5)
	out="$T_TMP/$mode"
	start "$out" --answer $mode --for 30s || exit 1
	rc=$(getent_rc cg getent hosts $NAME)
	gai=$(cg "$SP" resolve $NAME)
	raw=$(cg $RAW 127.0.0.153 $NAME)
	st=$("$TUG" status --json)
	stop
	echo "  $mode: getent rc=$rc; getaddrinfo $gai; unconnected: $raw"
	t_check ${mode}_rcode "unconnected resolver got: $raw" \
		bash -c "[[ '$raw' == 'rcode=$code an=0 addr=- id_ok=1 from=127.0.0.153:53 '* ]]"
	t_check ${mode}_glibc_fails "getent rc=$rc, getaddrinfo $gai" \
		bash -c "[ '$rc' = 2 ] && [[ '$gai' == gai:-3* ]]"
	t_check ${mode}_counted "status: $st" bash -c "echo '$st' | grep -q '\"answered_$mode\":[1-9]'"
done

# --- ADDRESS: IPv4 and IPv6; the other type gets an empty NOERROR ---
out="$T_TMP/addr4"
start "$out" --answer 10.200.9.77 --for 30s || exit 1
a=$(cg getent ahostsv4 $NAME | head -1)
rawa=$(cg $RAW 127.0.0.153 $NAME A)
rawq=$(cg $RAW 127.0.0.153 $NAME AAAA)
o=$(plain getent ahostsv4 $NAME | head -1)
st=$("$TUG" status --json)
stop
echo "  10.200.9.77: getent $a; AAAA $rawq; outside $o"
t_check addr4_getent "getent ahostsv4: $a" bash -c "[[ '$a' == '10.200.9.77 '* ]]"
t_check addr4_unconnected "A: $rawa" bash -c "[[ '$rawa' == 'rcode=0 an=1 addr=10.200.9.77 id_ok=1 from=127.0.0.153:53 '* ]]"
t_check addr4_aaaa_empty_noerror "AAAA: $rawq" bash -c "[[ '$rawq' == 'rcode=0 an=0 '* ]]"
t_check addr4_outside_real "outside: $o" bash -c "[[ '$o' == '$REAL '* ]]"
t_check addr4_counters "status: $st" \
	bash -c "echo '$st' | grep -q '\"answered_address\":[1-9]' && echo '$st' | grep -q '\"answered_empty\":[1-9]'"

out="$T_TMP/addr6"
start "$out" --answer fd00:200::77 --for 30s || exit 1
a=$(cg getent ahostsv6 $NAME | head -1)
rawq=$(cg $RAW 127.0.0.153 $NAME AAAA)
resolv ::1
raw6=$(cg $RAW ::1 $NAME AAAA)
a6=$(cg getent ahostsv6 $NAME | head -1)
resolv 127.0.0.153
stop
echo "  fd00:200::77: getent $a; over IPv6 transport $raw6"
t_check addr6_getent "getent ahostsv6: $a" bash -c "[[ '$a' == 'fd00:200::77 '* ]]"
t_check addr6_unconnected "AAAA: $rawq" bash -c "[[ '$rawq' == 'rcode=0 an=1 addr=fd00:200::77 id_ok=1 from=127.0.0.153:53 '* ]]"
t_check addr6_over_ipv6_server "nameserver ::1: raw $raw6, getent $a6" \
	bash -c "[[ '$raw6' == 'rcode=0 an=1 addr=fd00:200::77 id_ok=1 from=::1:53 '* ]] && [[ '$a6' == 'fd00:200::77 '* ]]"

# --- timeout: never answered; the client gives up after its own timeout ---
out="$T_TMP/timeout"
start "$out" --answer timeout --for 3s || exit 1
t0=$(now_ms)
rc=$(getent_rc cg getent ahostsv4 $NAME)
ms=$(($(now_ms) - t0))
raw=$(cg $RAW 127.0.0.153 $NAME A 1)
t0=$(now_ms)
o=$(plain getent ahostsv4 $NAME | head -1)
ms_out=$(($(now_ms) - t0))
# glibc has no timeout of its own over TCP: it waits on the connection the
# responder holds open until the fault ends (as against a server that
# accepts and never answers).
resolv 127.0.0.153 use-vc
rc_tcp=$(getent_rc cg getent ahostsv4 $NAME)
tcp_end=$(now_ms)
resolv 127.0.0.153
deadline=$(json_field "$out" applied deadline_ms)
echo "  timeout: getent rc=$rc after ${ms}ms (UDP, timeout:1); unconnected: $raw; outside ${ms_out}ms;" \
	"TCP: rc=$rc_tcp, $((tcp_end - deadline))ms after the deadline"
t_check timeout_getent_waits "getent rc=$rc after ${ms}ms (resolv.conf timeout:1)" \
	bash -c "[ '$rc' = 2 ] && [ $ms -ge 900 ]"
t_check timeout_unconnected "unconnected: $raw" bash -c "[[ '$raw' == timeout* ]]"
t_check timeout_outside_real "outside: $o in ${ms_out}ms" bash -c "[[ '$o' == '$REAL '* ]] && [ $ms_out -lt 900 ]"
t_check timeout_tcp_held_to_deadline "getent use-vc rc=$rc_tcp, ended $((tcp_end - deadline))ms after the deadline" \
	bash -c "[ '$rc_tcp' = 2 ] && [ $((tcp_end - deadline)) -ge -50 ] && [ $((tcp_end - deadline)) -lt 2000 ]"
# The deadline: back to the real server, nothing left.
wait "$tugpid"
rc=$?
dropped=$(counter "$out" dropped)
r=$(cg getent hosts $NAME)
t_check timeout_deadline_exit_0 "exit $rc: $(grep reverted "$out")" \
	bash -c "[ $rc -eq 0 ] && grep -q '\"reason\":\"deadline\"' '$out'"
t_check timeout_dropped_counted "dropped: $dropped" bash -c "[ '${dropped:-0}' -ge 3 ]"
t_check timeout_heals_after_deadline "inside after the deadline: $r" bash -c "[[ '$r' == $REAL* ]]"
t_check timeout_no_program_left "attached: $(attached "$CG")" [ "$(attached "$CG")" -eq 0 ]

# --- the deadline holds without tug: controller and guardian stopped (the
# responder with them: no answers), the hooks, still attached, send DNS to
# the real server after the deadline ---
out="$T_TMP/stop"
start "$out" --answer nxdomain --for 1500ms || exit 1
gp=$(pgrep -P "$tugpid" -x tug-guardian)
kill -STOP "$tugpid" $gp
r_during=$(cg $RAW 127.0.0.153 $NAME A 0.3)
deadline=$(json_field "$out" applied deadline_ms)
while [ "$(now_ms)" -lt $((deadline + 20)) ]; do sleep 0.01; done
r_after=$(cg getent hosts $NAME)
n_after=$(attached "$CG")
kill -CONT $gp
t0=$(now_ms)
# (quiet: bash would report the guardian's SIGKILL of the controller)
{
	while [ "$(attached "$CG")" -ne 0 ] && [ $(($(now_ms) - t0)) -lt 2000 ]; do sleep 0.01; done
	kill -0 "$tugpid" || { wait "$tugpid"; tugpid=gone; }
} 2>/dev/null
t_check stopped_kernel_deadline "guardian=$gp; during: $r_during; after the deadline: $r_after with $n_after programs attached" \
	bash -c "[ -n '$gp' ] && [[ '$r_during' == timeout* ]] && [[ '$r_after' == $REAL* ]] && [ '$n_after' -ge 8 ]"
t_check stopped_guardian_ends_it "attached now: $(attached "$CG")" \
	bash -c "[ '$(attached "$CG")' -eq 0 ] && [ $tugpid = gone ]"

# --- a service in a network namespace: --netns A ---
A=$(t_netns a) && B=$(t_netns b) || { t_fail setup "cannot create namespaces"; exit 1; }
t_veth "$A" va "$B" vb || { t_fail setup "cannot create veth"; exit 1; }
ip -n "$A" addr add 10.200.9.1/24 dev va
ip -n "$B" addr add 10.200.9.2/24 dev vb
t_bg dnsb ip netns exec "$B" "$DNSD" 10.200.9.2 53 "$REAL" >"$T_TMP/dnsb.out"
wait_for "$T_TMP/dnsb.out" ready 3000 || { t_fail setup "dnsd in $B did not start"; exit 1; }
mkdir -p "/etc/netns/$A"
t_at_exit "rm -rf '/etc/netns/$A'; rmdir /etc/netns 2>/dev/null"
printf 'nameserver 10.200.9.2\noptions timeout:1 attempts:1\n' >"/etc/netns/$A/resolv.conf"
in_a() { t_in_cgroup "$CG" ip netns exec "$A" "$@"; }
out="$T_TMP/netns-fault"
start "$out" --answer nxdomain --netns "$A" --for 30s || exit 1
rc=$(getent_rc in_a getent hosts $NAME)
raw=$(in_a $RAW 10.200.9.2 $NAME)
o=$(ip netns exec "$A" getent hosts $NAME)
host=$(cg $RAW 127.0.0.153 $NAME)
st=$("$TUG" status --json)
stop
echo "  --netns: inside getent rc=$rc, unconnected $raw; outside $o; the cgroup in the host namespace: $host"
t_check netns_inside_nxdomain "getent rc=$rc; unconnected: $raw" \
	bash -c "[ '$rc' = 2 ] && [[ '$raw' == 'rcode=3 an=0 addr=- id_ok=1 from=10.200.9.2:53 '* ]]"
t_check netns_outside_real "outside the cgroup in $A: $o" bash -c "[[ '$o' == $REAL* ]]"
t_check netns_other_namespace_refused "the cgroup's process in the host namespace: $host; status: $st" \
	bash -c "[ '$host' = errno=ECONNREFUSED ] && echo '$st' | grep -q '\"refused_other_netns\":1,'"

# --- wrong commands change nothing and exit 2 ---
bad() {	# name, args...
	local name=$1
	shift
	"$TUG" net dns-fail "$@" --for 1s >/dev/null 2>"$T_TMP/bad.err"
	local rc=$?
	t_check "$name" "exit $rc, attached $(attached "$CG"): $(cat "$T_TMP/bad.err")" \
		bash -c "[ $rc -eq 2 ] && [ $(attached "$CG") -eq 0 ]"
}
bad bad_answer --cgroup "$CG" --answer nxdomian
bad bad_answer_address --cgroup "$CG" --answer 10.200.9.300
bad answer_with_errno --cgroup "$CG" --answer nxdomain --errno EPERM
bad netns_without_answer --cgroup "$CG" --netns "$A"
bad no_such_netns --cgroup "$CG" --answer nxdomain --netns "$T_ID-missing"
t_check no_such_netns_says_which "message: $(cat "$T_TMP/bad.err")" grep -q "no network namespace '$T_ID-missing'" "$T_TMP/bad.err"
