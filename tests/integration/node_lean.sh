#!/usr/bin/env bash
# The node controller carries only what faults need: a held partition has
# libbpf, libnl, json-c and libseccomp (linked in, or mapped with
# LINK=shared), never libpq, libcurl, libssh2, libyaml or OpenSSL; the commands it does not carry (run, schedule, lab,
# the pg faults) and the full help come from tug-full beside it, with one
# command line for the user; without tug-full it says so.
. "$(dirname "$0")/../lib.sh"

HEAVY='libpq|libcurl|libssh2|libyaml|libssl|libcrypto|libgnutls|libkrb5|libldap'
A=$(t_netns a) && B=$(t_netns b) || { t_fail setup "cannot create namespaces"; exit 1; }
t_veth "$A" va "$B" vb || { t_fail setup "cannot create veth"; exit 1; }
ip -n "$A" addr add 10.200.0.1/24 dev va
ip -n "$B" addr add 10.200.0.2/24 dev vb

out="$T_TMP/hold"
t_bg tp "$TUG" net partition --netns "$A" --peer 10.200.0.2 --for 20s --json >"$out" 2>&1
wait_for "$out" '"applied"' 3000
maps=$(awk '$6 ~ /\.so/ { print $6 }' "/proc/$tp/maps" 2>/dev/null | sort -u)
kill -TERM "$tp"
wait "$tp"
echo "  net partition maps $(wc -l <<<"$maps") shared objects: $(sed 's|.*/||' <<<"$maps" | tr '\n' ' ')"
# (libc proves the scan reads the maps; libbpf is mapped with LINK=shared,
# else linked into tug itself: no NEEDED entry, its symbols in the binary.)
t_check lean_partition_maps_libc "$(sed 's|.*/||' <<<"$maps" | tr '\n' ' ')" grep -q 'libc\.so' <<<"$maps"
if grep -q libbpf <<<"$maps"; then
	where=mapped
elif objdump -t "$TUG" | grep -q ' bpf_object__open_mem$'; then
	where=linked-in
else
	where=missing
fi
echo "  libbpf: $where"
t_check lean_partition_carries_libbpf "libbpf $where" [ "$where" != missing ]
t_check lean_partition_no_orchestrator_libs "$(grep -E "$HEAVY" <<<"$maps" | tr '\n' ' ')" \
	bash -c "! grep -qE '$HEAVY' <<<'$maps'"

# One command line: tug hands over what tug-full carries.
help=$("$TUG" --help)
t_check lean_help_lists_everything "$(grep -cE '^  (run|pg exhaust|pg crash|net partition) ' <<<"$help") of 4" \
	bash -c "[ $(grep -cE '^  (run|pg exhaust|pg crash|net partition) ' <<<"$help") -eq 4 ]"
"$TUG" run --help >"$T_TMP/run-help" 2>&1
t_check lean_run_help_from_full "exit $?: $(head -2 "$T_TMP/run-help")" grep -q '^usage: tug run' "$T_TMP/run-help"
"$TUG" pg exhaust --help >"$T_TMP/pg-help" 2>&1
t_check lean_pg_help_from_full "$(head -2 "$T_TMP/pg-help")" grep -q "tug pg exhaust --" "$T_TMP/pg-help"
"$TUG" bogus >"$T_TMP/bogus" 2>&1
rc=$?
t_check lean_unknown_command_exit_2 "exit $rc: $(cat "$T_TMP/bogus")" \
	bash -c "[ $rc -eq 2 ] && grep -q \"unknown command 'bogus'\" '$T_TMP/bogus'"

# A node controller copied alone (without tug-full) refuses what it lacks, saying why.
mkdir "$T_TMP/alone"
cp "$TUG" "$T_TMP/alone/tug"
"$T_TMP/alone/tug" run x.yaml >"$T_TMP/alone.out" 2>&1
rc=$?
t_check lean_alone_names_tug_full "exit $rc: $(cat "$T_TMP/alone.out")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'tug-full' '$T_TMP/alone.out'"
"$T_TMP/alone/tug" net partition --netns "$A" --peer 10.200.0.2 --for 1ms >"$T_TMP/alone.net" 2>&1
t_check lean_alone_faults_work "exit $?: $(cat "$T_TMP/alone.net")" grep -q 'reverted' "$T_TMP/alone.net"

# libcurl is loaded when a probe needs it: proc kill --probe reaches an HTTP server.
if command -v python3 >/dev/null; then
	port=$((20000 + $$ % 20000))
	t_bg hp python3 -m http.server "$port" --bind 127.0.0.1 --directory "$T_TMP"
	t_bg victim sleep 60
	for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
	"$TUG" proc kill --pid "$victim" --probe "http://127.0.0.1:$port/" --wait 5s --json >"$T_TMP/kill" 2>&1
	t_check lean_probe_loads_libcurl "$(tail -3 "$T_TMP/kill")" grep -q "\"event\":\"healthy\"" "$T_TMP/kill"
fi
exit 0
