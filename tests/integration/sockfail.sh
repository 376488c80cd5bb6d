#!/usr/bin/env bash
# Socket faults for one cgroup: tug net refuse and tug net dns-fail, with
# real processes in a real cgroup against a real listener and resolver.
# Node A (the clients) is 10.200.7.1, node B (listeners, resolver) 10.200.7.2
# and fd00:207::2; "inside" runs in the test's cgroup, "outside" does not.
. "$(dirname "$0")/../lib.sh"

SP="$TUG_BUILD/tests/sockprobe"
DNSD="$TUG_BUILD/tests/dnsd"
CG=$(t_cgroup sf) || { t_skip sockfail "no cgroup2 hierarchy to make a cgroup in"; exit 0; }
A=$(t_netns a) && B=$(t_netns b) || { t_fail setup "cannot create namespaces"; exit 1; }
t_veth "$A" va "$B" vb || { t_fail setup "cannot create veth"; exit 1; }
ip -n "$A" addr add 10.200.7.1/24 dev va
ip -n "$B" addr add 10.200.7.2/24 dev vb
ip -n "$A" addr add fd00:207::1/64 dev va nodad
ip -n "$B" addr add fd00:207::2/64 dev vb nodad
for port in 8080 8081; do
	t_bg l ip netns exec "$B" "$SP" listen 10.200.7.2 $port >/dev/null
	t_bg l ip netns exec "$B" "$SP" listen fd00:207::2 $port >/dev/null
done
t_bg dnspid ip netns exec "$B" "$DNSD" 10.200.7.2 53 10.200.7.99 >"$T_TMP/dnsd.out"
wait_for "$T_TMP/dnsd.out" ready 3000 || { t_fail setup "dnsd did not start"; exit 1; }
# `ip netns exec` bind-mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf.
mkdir -p "/etc/netns/$A"
t_at_exit "rm -rf '/etc/netns/$A'; rmdir /etc/netns 2>/dev/null"
resolv() { printf 'nameserver 10.200.7.2\noptions timeout:1 attempts:1 %s\n' "${1:-}" >"/etc/netns/$A/resolv.conf"; }
resolv

inside() { t_in_cgroup "$CG" ip netns exec "$A" "$SP" "$@"; }
outside() { ip netns exec "$A" "$SP" "$@"; }
attached() { bpftool cgroup show "$1" 2>/dev/null | grep -c tug_sf_; }
for i in $(seq 50); do outside connect 10.200.7.2 8080 >/dev/null && break; sleep 0.05; done
r=$(inside connect 10.200.7.2 8080)
t_check baseline_inside_connects "inside: $r" [ "$r" = ok ]
r=$(inside resolve svc.tug.test)
t_check baseline_inside_resolves "inside: $r" [ "$r" = 10.200.7.99 ]

# --- refuse, IPv4, one port: inside refused, outside and other ports fine ---
out="$T_TMP/refuse4"
t_bg tugpid "$TUG" net refuse --cgroup "$CG" --peer 10.200.7.2:8080 --for 3s --json >"$out" 2>&1
wait_for "$out" '"applied"' 3000 || { t_fail refuse_v4_applied "$(cat "$out")"; exit 1; }
r_in=$(inside connect 10.200.7.2 8080 5)
r_out=$(outside connect 10.200.7.2 8080 5)
r_port=$(inside connect 10.200.7.2 8081)
r_v6=$(inside connect fd00:207::2 8080)
st=$("$TUG" status --json)
t_check refuse_v4_inside_econnrefused "inside got: $r_in" [ "$r_in" = "ok=0 failed=5 errno=ECONNREFUSED" ]
t_check refuse_v4_outside_connects "outside got: $r_out" [ "$r_out" = "ok=5 failed=0 errno=-" ]
t_check refuse_v4_other_port_connects "inside to :8081 got: $r_port" [ "$r_port" = ok ]
t_check refuse_v4_other_peer_connects "inside to fd00:207::2 got: $r_v6" [ "$r_v6" = ok ]
t_check refuse_status_live_counters "status: $st" bash -c "echo '$st' | grep -q '\"refused_v4\":5'"
wait "$tugpid"
rc=$?
t_check refuse_exit_0 "tug exited $rc: $(tail -2 "$out")" [ "$rc" -eq 0 ]
t_check refuse_summary_counts_exactly "summary: $(grep reverted "$out")" \
	grep -q '"counters":{"refused_v4":5,"refused_v6":0,"passed":2}' "$out"
r=$(inside connect 10.200.7.2 8080)
t_check refuse_gone_after_deadline "inside got: $r" [ "$r" = ok ]
t_check refuse_no_program_left "attached: $(bpftool cgroup show "$CG")" [ "$(attached "$CG")" -eq 0 ]

# --- the deadline holds without tug: controller and guardian both stopped,
# the hooks (still attached) let connect() through after the deadline; the
# guardian, continued, kills the controller and the links go with it ---
out="$T_TMP/refuse-stop"
# Under emulation (TUG_SLOW) "applied" is seen late: the hold scales, so the
# check "during" still falls inside it.
t_bg tugpid "$TUG" net refuse --cgroup "$CG" --peer 10.200.7.2:8080 --for $((1000 * ${TUG_SLOW:-1}))ms --json >"$out" 2>"$out.err"
wait_for "$out" '"applied"' 3000
gp=$(pgrep -P "$tugpid" -x tug-guardian)
kill -STOP "$tugpid" $gp
r_during=$(inside connect 10.200.7.2 8080)
deadline=$(json_field "$out" applied deadline_ms)
while [ "$(now_ms)" -lt $((deadline + 20)) ]; do sleep 0.01; done
r_after=$(inside connect 10.200.7.2 8080)
n_after=$(attached "$CG")
kill -CONT $gp
t0=$(now_ms)
while [ "$(attached "$CG")" -ne 0 ] && [ $(($(now_ms) - t0)) -lt 2000 ]; do sleep 0.01; done
sleep 0.05
t_check refuse_sigstop_kernel_deadline "guardian=$gp; during: $r_during; after the deadline: $r_after with $n_after programs attached" \
	bash -c "[ -n '$gp' ] && [ '$r_during' != ok ] && [ '$r_after' = ok ] && [ '$n_after' -ge 1 ]"
t_check refuse_sigstop_guardian_ends_it "attached now: $(attached "$CG"); journal: $(ls "$TUG_RUN_DIR/faults" 2>/dev/null); $(cat "$out.err")" \
	bash -c "[ '$(attached "$CG")' -eq 0 ] && [ -z \"\$(ls '$TUG_RUN_DIR/faults' 2>/dev/null)\" ] && ! kill -0 $tugpid 2>/dev/null"
wait "$tugpid" 2>/dev/null

# --- refuse, IPv6 CIDR, another errno; a child cgroup is inside too ---
mkdir "$CG/child"
out="$T_TMP/refuse6"
t_bg tugpid "$TUG" net refuse --cgroup "${CG#"$(t_cgroup2_root)"}" --peer '[fd00:207::/64]' \
	--errno ETIMEDOUT --for 20s --json >"$out" 2>&1
wait_for "$out" '"applied"' 3000
r6=$(inside connect fd00:207::2 8081)
r4=$(inside connect 10.200.7.2 8081)
rchild=$(t_in_cgroup "$CG/child" ip netns exec "$A" "$SP" connect fd00:207::2 8080)
rout=$(outside connect fd00:207::2 8081)
t_check refuse_v6_asked_errno "inside got: $r6" [ "$r6" = ETIMEDOUT ]
t_check refuse_v6_child_cgroup_too "child got: $rchild" [ "$rchild" = ETIMEDOUT ]
t_check refuse_v6_spares_v4 "inside v4 got: $r4" [ "$r4" = ok ]
t_check refuse_v6_outside_connects "outside got: $rout" [ "$rout" = ok ]
# SIGKILL: the cgroup links die with tug.
kill -9 "$tugpid"
wait "$tugpid" 2>/dev/null
r6=$(inside connect fd00:207::2 8081)
t_check refuse_sigkill_heals_at_once "inside right after SIGKILL got: $r6" [ "$r6" = ok ]
t_check refuse_sigkill_no_program_left "attached: $(bpftool cgroup show "$CG")" [ "$(attached "$CG")" -eq 0 ]
"$TUG" recover >/dev/null 2>&1
t_check refuse_recover_clears_entry "status: $("$TUG" status)" bash -c "'$TUG' status | grep -q 'no live faults'"
t_cgroup_remove "$CG/child"

# --- wrong commands change nothing and exit 2 ---
bad() {	# name, args...
	local name=$1
	shift
	"$TUG" net "$@" --for 1s >/dev/null 2>"$T_TMP/bad.err"
	local rc=$?
	t_check "$name" "exit $rc, attached $(attached "$CG"): $(cat "$T_TMP/bad.err")" \
		bash -c "[ $rc -eq 2 ] && [ $(attached "$CG") -eq 0 ]"
}
bad refuse_needs_cgroup refuse --peer 10.200.7.2
bad refuse_needs_peer refuse --cgroup "$CG"
bad refuse_bad_peer refuse --cgroup "$CG" --peer 10.200.7.300
bad refuse_bad_errno refuse --cgroup "$CG" --peer 10.200.7.2 --errno ENOTANERRNO
bad refuse_no_such_cgroup refuse --cgroup "$CG-missing" --peer 10.200.7.2
bad refuse_not_root_cgroup refuse --cgroup "$(t_cgroup2_root)" --peer 10.200.7.2
bad refuse_not_v1_cgroup refuse --cgroup /sys/fs/cgroup/memory --peer 10.200.7.2
bad dns_fail_no_peer dns-fail --cgroup "$CG" --peer 10.200.7.2

# --- dns-fail: lookups fail inside, work outside; UDP and TCP ---
out="$T_TMP/dns"
t_bg tugpid "$TUG" net dns-fail --cgroup "$CG" --for 20s --json >"$out" 2>&1
wait_for "$out" '"applied"' 3000
d_in=$(inside resolve svc.tug.test)
d_out=$(outside resolve svc.tug.test)
resolv "use-vc"
d_in_tcp=$(inside resolve svc.tug.test)
d_out_tcp=$(outside resolve svc.tug.test)
resolv
s_in=$(inside sendto 10.200.7.2 53)
s_other=$(inside sendto 10.200.7.2 54)
c_in=$(inside connect 10.200.7.2 8080)
st=$("$TUG" status --json)
t_check dns_fail_inside_udp "inside got: $d_in" bash -c "[[ '$d_in' == gai:* ]]"
t_check dns_fail_outside_udp "outside got: $d_out" [ "$d_out" = 10.200.7.99 ]
t_check dns_fail_inside_tcp "inside (use-vc) got: $d_in_tcp" bash -c "[[ '$d_in_tcp' == gai:* ]]"
t_check dns_fail_outside_tcp "outside (use-vc) got: $d_out_tcp" [ "$d_out_tcp" = 10.200.7.99 ]
t_check dns_fail_unconnected_sendto "inside sendto :53 got: $s_in" [ "$s_in" = ECONNREFUSED ]
t_check dns_fail_spares_other_udp "inside sendto :54 got: $s_other" [ "$s_other" = ok ]
t_check dns_fail_spares_other_tcp "inside connect :8080 got: $c_in" [ "$c_in" = ok ]
t_check dns_fail_status_counters "status: $st" \
	bash -c "echo '$st' | grep -qE '\"refused_v4\":[1-9].*\"refused_udp_v4\":1'"
kill -INT "$tugpid"
wait "$tugpid"
rc=$?
echo "  dns-fail summary: $(grep -o '"counters":{[^}]*}' "$out" | tail -1)"
t_check dns_fail_ctrl_c_exit_0 "exit $rc: $(grep reverted "$out")" \
	bash -c "[ $rc -eq 0 ] && grep -q '\"reason\":\"SIGINT\"' '$out'"
d_in=$(inside resolve svc.tug.test)
t_check dns_fail_heals "inside after revert got: $d_in" [ "$d_in" = 10.200.7.99 ]
t_check dns_fail_no_program_left "attached: $(bpftool cgroup show "$CG")" [ "$(attached "$CG")" -eq 0 ]
