#!/usr/bin/env bash
# tug node reboot. Where it must refuse, a host whose PID 1 is not systemd:
# nothing on stdout (an orchestrator reads no boot id), exit 2. Then with
# systemd played in a PID namespace (PID 1 named systemd, a systemctl that
# records how it ran): the answer first, then systemctl reboot --in later
# from a detached process. The real reboot is the systemd lab's.
. "$(dirname "$0")/../lib.sh"

pid1=$(cat /proc/1/comm)
if [ "$pid1" = systemd ] && [ -d /run/systemd/system ]; then
	# Never here: a real 'tug node reboot' would reboot this machine.
	t_skip node_reboot_refusal "PID 1 is systemd here: the refusal needs a host without it"
else
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
fi
# Bad input is refused before anything else is looked at (safe on any host).
for bad in "--in 5" "--in 20m" "--in 10ms" "--bogus" "extra"; do
	# shellcheck disable=SC2086
	"$TUG" node reboot $bad >"$T_TMP/out" 2>"$T_TMP/err"
	rc=$?
	t_check "bad_input_${bad//[^a-z0-9]/}" "rc=$rc: $(cat "$T_TMP/err")" \
		bash -c "[ $rc -eq 2 ] && [ ! -s '$T_TMP/out' ] && grep -q 'nothing was done' '$T_TMP/err'"
done
"$TUG" node reboot --help >"$T_TMP/out"
t_check help_has_examples "help: $(cat "$T_TMP/out")" grep -q '^Examples:' "$T_TMP/out"

# --- played systemd: PID 1 named systemd in a PID namespace of the test,
# /run/systemd/system on a private tmpfs, a systemctl on PATH that records
# how it was run. tug must answer first, exit, and leave the reboot to a
# process of its own session with /dev/null for stdio, --in later. ---
F="$T_TMP/fake"
mkdir -p "$F/bin"
cat >"$F/bin/systemctl" <<EOS
#!/bin/sh
fds=\$(for i in 0 1 2; do echo "fd\$i=\$(readlink /proc/\$\$/fd/\$i)"; done)
{ echo "args=\$*"; echo "ms=\$(date +%s%3N)"; echo "sid=\$(ps -o sid= -p \$\$ | tr -d ' ')"
  echo "\$fds"; } >"$F/ran.tmp"
mv "$F/ran.tmp" "$F/ran"
EOS
cat >"$F/init" <<EOS
mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system || exit 1
t0=\$(date +%s%3N)
# Through a pipe, as over SSH: it ends when every writer closed it.
PATH="$F/bin:\$PATH" "$TUG" node reboot --in 500ms --json 2>"$F/err" | cat >"$F/out"
echo "\$(( \$(date +%s%3N) - t0 ))" >"$F/pipe_ms"
echo "\$(ps -o sid= -p \$\$ | tr -d ' ')" >"$F/init_sid"
# PID 1's exit would kill the namespace: wait for the reboot to be asked.
for i in \$(seq 100); do [ -e "$F/ran" ] && break; sleep 0.05; done
EOS
chmod +x "$F/bin/systemctl"
cp "$(command -v dash || command -v sh)" "$F/systemd"
if unshare --pid --fork --mount-proc --mount --propagation private "$F/systemd" "$F/init" 2>"$F/unshare.err"; then
	ts=$(json_field "$F/out" rebooting ts_ms)
	bid=$(json_field "$F/out" rebooting boot_id)
	ran_ms=$(sed -n 's/^ms=//p' "$F/ran" 2>/dev/null)
	echo "  played systemd: answer in $(cat "$F/pipe_ms") ms (pipe closed), systemctl $(sed -n 's/^args=//p' "$F/ran" 2>/dev/null) $((${ran_ms:-0} - ${ts:-0})) ms after the answer (--in 500ms); $(grep -E '^(sid|fd)' "$F/ran" 2>/dev/null | tr '\n' ' ')"
	t_check reboot_answers_boot_id "out: $(cat "$F/out") err: $(cat "$F/err")" \
		[ "$bid" = "$(cat /proc/sys/kernel/random/boot_id)" ]
	t_check reboot_channel_closes_first "pipe open $(cat "$F/pipe_ms") ms" [ "$(cat "$F/pipe_ms")" -lt 450 ]
	t_check reboot_asked_in_later "systemctl: $(cat "$F/ran" 2>/dev/null | tr '\n' ' ')" \
		bash -c "grep -qx 'args=reboot' '$F/ran' && [ $((${ran_ms:-0} - ${ts:-0})) -ge 450 ] && [ $((${ran_ms:-0} - ${ts:-0})) -lt 3000 ]"
	t_check reboot_detached "$(cat "$F/ran" 2>/dev/null | tr '\n' ' '), init sid $(cat "$F/init_sid")" \
		bash -c "[ \"\$(sed -n 's/^sid=//p' '$F/ran')\" != '$(cat "$F/init_sid")' ] && [ \$(grep -c '^fd[012]=/dev/null$' '$F/ran') -eq 3 ]"
else
	t_skip played_systemd "no PID namespace here: $(cat "$F/unshare.err")"
fi
