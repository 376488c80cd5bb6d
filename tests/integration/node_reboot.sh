#!/usr/bin/env bash
# tug node reboot, where it must refuse: a host whose PID 1 is not systemd
# (the real reboot is tested in the systemd lab). It prints nothing on
# stdout, so an orchestrator reads no boot id, and exits 2.
. "$(dirname "$0")/../lib.sh"

pid1=$(cat /proc/1/comm)
if [ "$pid1" = systemd ] && [ -d /run/systemd/system ]; then
	t_skip node_reboot_refusal "PID 1 is systemd here: the refusal needs a host without it (and this test never reboots one)"
	exit 0
fi
doctor=$("$TUG" doctor 2>&1 | grep -E '^ *systemd ')
echo "  doctor: $doctor"
t_check doctor_says_no_systemd "doctor: $doctor" grep -q "PID 1 is $pid1: node reboot refuses" <<<"$doctor"

for args in "" "--in 5s" "--json"; do
	t0=$(now_ms)
	# shellcheck disable=SC2086
	"$TUG" node reboot $args >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	echo "  node reboot $args: exit $rc in $(($(now_ms) - t0)) ms: $(cat "$T_TMP/err")"
	t_check "refuses_without_systemd${args:+_${args//[^a-z0-9]/}}" "rc=$rc, stdout '$(cat "$T_TMP/out")'" \
		bash -c "[ $rc -eq 2 ] && [ ! -s '$T_TMP/out' ] && grep -q \"PID 1 is '$pid1', not systemd\" '$T_TMP/err'"
done
for bad in "--in 5" "--in 20m" "--in 10ms" "--bogus" "extra"; do
	# shellcheck disable=SC2086
	"$TUG" node reboot $bad >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	t_check "bad_input_${bad//[^a-z0-9]/}" "rc=$rc: $(cat "$T_TMP/err")" \
		bash -c "[ $rc -eq 2 ] && [ ! -s '$T_TMP/out' ] && grep -q 'nothing was done' '$T_TMP/err'"
done
"$TUG" node reboot --help >"$T_TMP/out"
t_check help_has_examples "help: $(cat "$T_TMP/out")" grep -q '^Examples:' "$T_TMP/out"
