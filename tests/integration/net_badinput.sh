#!/usr/bin/env bash
# Bad input exits 2, says which flag and what form it takes, and changes
# nothing: no journal entry, no program loaded, no qdisc.
. "$(dirname "$0")/../lib.sh"

A=$(t_netns a) && B=$(t_netns b) || { t_fail setup "cannot create namespaces"; exit 1; }
t_veth "$A" va "$B" vb
ip -n "$A" addr add 10.200.0.1/24 dev va
ip -n "$B" addr add 10.200.0.2/24 dev vb

# Programs attached to this test's interface (tcx links and clsact filters),
# not every program on the machine: other tests may run beside this one.
progs() {
	echo $(($(ip netns exec "$A" "$TUG_BUILD/tests/attached" va) +
		$(tc -n "$A" filter show dev va ingress 2>/dev/null | grep -c ' bpf ') +
		$(tc -n "$A" filter show dev va egress 2>/dev/null | grep -c ' bpf ')))
}
before=$(progs)

# case NAME EXPECTED-MESSAGE-REGEX ARGS...
bad() {
	local name=$1 re=$2 out rc
	shift 2
	out=$("$TUG" net "$@" 2>&1)
	rc=$?
	if [ "$rc" -ne 2 ]; then
		t_fail "bad_input_$name" "exit $rc, not 2: $out"
	elif ! grep -qE -- "$re" <<<"$out"; then
		t_fail "bad_input_$name" "message does not match /$re/: $out"
	elif [ -n "$(ls "$TUG_RUN_DIR/faults" 2>/dev/null)" ] || [ "$(progs)" -ne "$before" ] ||
		tc -n "$A" qdisc show dev va | grep -q clsact; then
		t_fail "bad_input_$name" "something was applied"
	else
		t_pass "bad_input_$name"
	fi
}

bad malformed_cidr "--peer: '10.200.0.300' is not .*CIDR" partition --netns "$A" --peer 10.200.0.300
bad host_bits_cidr "--peer: '10.200.0.1/24'" partition --netns "$A" --peer 10.200.0.1/24
bad missing_peer "--peer: required" partition --netns "$A"
bad unknown_dev "--dev: no interface 'nosuch0'" partition --netns "$A" --peer 10.200.0.2 --dev nosuch0
bad unknown_netns "--netns: no network namespace 'nosuch-ns'" partition --netns nosuch-ns --peer 10.200.0.2
bad no_route "no interface in namespace .* routes to 192.0.2.1" partition --netns "$A" --peer 192.0.2.1
bad percent_range "--percent: '150' is not a percentage 0..100" loss --netns "$A" --peer 10.200.0.2 --percent 150
bad percent_on_partition "--percent: a partition drops everything" partition --netns "$A" --peer 10.200.0.2 --percent 50
bad for_without_unit "--for: '30' is not a duration with a unit" partition --netns "$A" --peer 10.200.0.2 --for 30
bad dir "--dir: 'sideways' is not one of in, out, both" partition --netns "$A" --peer 10.200.0.2 --dir sideways
bad port "--port: '0' is not a port number 1..65535" partition --netns "$A" --peer 10.200.0.2 --port 0
bad unknown_option "unrecognized option '--bogus'" partition --netns "$A" --peer 10.200.0.2 --bogus
bad unknown_verb "'net cut': unknown" cut --peer 10.200.0.2

cfg="$T_TMP/tug.conf"
echo "max-for = 10s" >"$cfg"
out=$(TUG_CONFIG="$cfg" "$TUG" net partition --netns "$A" --peer 10.200.0.2 --for 20s 2>&1)
rc=$?
t_check for_above_configured_max "exit $rc: $out" \
	bash -c "[ $rc -eq 2 ] && grep -q 'above the configured maximum of 10s' <<<'$out' && [ -z \"\$(ls '$TUG_RUN_DIR/faults' 2>/dev/null)\" ]"

echo "expedite-rcu = maybe" >"$cfg"
out=$(TUG_CONFIG="$cfg" "$TUG" net partition --netns "$A" --peer 10.200.0.2 --for 1s 2>&1)
rc=$?
t_check config_expedite_not_yes_no "exit $rc: $out" \
	bash -c "[ $rc -eq 2 ] && grep -q \"tug.conf:1: expedite-rcu: 'maybe' is not yes or no\" <<<\"\$1\" && [ -z \"\$(ls '$TUG_RUN_DIR/faults' 2>/dev/null)\" ]" _ "$out"

"$TUG" net partition --help >"$T_TMP/help"
t_check help_has_examples "help: $(cat "$T_TMP/help")" grep -q "Examples:" "$T_TMP/help"
"$TUG" bogus >/dev/null 2>"$T_TMP/bogus"
rc=$?
t_check unknown_command_exit_2 "exit $rc: $(cat "$T_TMP/bogus")" \
	bash -c "[ $rc -eq 2 ] && grep -q \"unknown command 'bogus'\" '$T_TMP/bogus'"

# doctor reports the mechanisms and the net family's backend.
"$TUG" doctor --json >"$T_TMP/doctor"
t_check doctor_reports_tcx "doctor: $(cat "$T_TMP/doctor")" grep -q '"check":"tcx","ok":true' "$T_TMP/doctor"
t_check doctor_reports_net_backend "doctor: $(cat "$T_TMP/doctor")" \
	grep -q '"fault":"net partition","backend":"tcx"' "$T_TMP/doctor"
t_check doctor_every_line_json "a line is not JSON" \
	/usr/bin/python3 -c 'import sys, json; [json.loads(l) for l in open(sys.argv[1])]' "$T_TMP/doctor"
