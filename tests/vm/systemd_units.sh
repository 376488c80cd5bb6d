#!/usr/bin/env bash
# proc kill --unit and proc restart --unit against a real systemd: a small
# HTTP service as a unit with Restart=always and one with Restart=no. The
# service records its own pid and ready time; tug's new pid, restart count
# and times must agree with the service and with systemd.
. "$(dirname "$0")/../lib.sh"

[ -d /run/systemd/system ] || { t_skip systemd_units "systemd is not PID 1 here"; exit 0; }
U=/etc/systemd/system
A="tug-vmtest-always-$T_ID" N="tug-vmtest-no-$T_ID"
PA=18081 PN=18082
t_svc_write "$T_TMP/sa" $PA "$T_TMP/starts-a"
t_svc_write "$T_TMP/sn" $PN "$T_TMP/starts-n"
unit() {	# NAME RESTART DIR
	cat >"$U/$1.service" <<UNIT
[Unit]
Description=tug test service ($2)
[Service]
ExecStart=$3/run
Restart=$2
RestartSec=500ms
UNIT
}
unit "$A" always "$T_TMP/sa"
unit "$N" no "$T_TMP/sn"
t_at_exit "systemctl stop '$A.service' '$N.service'; rm -f '$U/$A.service' '$U/$N.service'; systemctl daemon-reload"
systemctl daemon-reload
systemctl start "$A.service" "$N.service" || { t_fail setup "units do not start: $(systemctl status "$A" "$N" | tail -5)"; exit 1; }
wait_for "$T_TMP/starts-a" . 10000 && wait_for "$T_TMP/starts-n" . 10000 ||
	{ t_fail setup "the services did not start"; exit 1; }
nrestarts() { systemctl show -p NRestarts --value "$1.service"; }
mainpid() { systemctl show -p MainPID --value "$1.service"; }
# The process the unit runs is /bin/sh exec'ing python: the same pid.
[ "$(mainpid "$A")" = "$(tail -1 "$T_TMP/starts-a" | cut -d' ' -f1)" ] ||
	{ t_fail setup "MainPID $(mainpid "$A") is not the service's pid"; exit 1; }

# --- Restart=always: killed, systemd restarts it after RestartSec ---
out="$T_TMP/kill-always.json"
old=$(mainpid "$A") n0=$(nrestarts "$A")
"$TUG" proc kill --unit "$A.service" --wait-restart 30s --probe "http://127.0.0.1:$PA/" --json >"$out" 2>&1
rc=$?
sed 's/^/  /' "$out"
new=$(tail -1 "$T_TMP/starts-a" | cut -d' ' -f1)
read -r _ _ ready <<<"$(tail -1 "$T_TMP/starts-a")"
t0=$(json_field "$out" PASS t0_ms)
t_check unit_kill_always_pass "exit $rc" [ "$rc" -eq 0 ]
t_check unit_kill_always_signalled_main_pid "old $old: $(grep signalled "$out")" \
	grep -q "\"signalled\".*\"pid\":$old,.*\"ok\":true" "$out"
t_check unit_kill_always_new_pid "service $new, systemd $(mainpid "$A"), tug $(json_field "$out" PASS new_pid)" \
	bash -c "[ '$new' != '$old' ] && [ '$(json_field "$out" PASS new_pid)' = '$new' ] && [ '$(mainpid "$A")' = '$new' ]"
t_check unit_kill_always_nrestarts "systemd NRestarts $n0 -> $(nrestarts "$A"), tug restarts $(json_field "$out" PASS restarts) delta $(json_field "$out" PASS restarts_delta)" \
	bash -c "[ '$(nrestarts "$A")' -eq $((n0 + 1)) ] && [ '$(json_field "$out" PASS restarts)' = '$(nrestarts "$A")' ] && [ '$(json_field "$out" PASS restarts_delta)' = 1 ]"
start=$(json_field "$out" PASS to_start_ms) healthy=$(json_field "$out" PASS to_healthy_ms)
# RestartSec=500ms: systemd starts the new process no sooner; healthy is
# after the service's own ready time, and within the bound.
t_check unit_kill_always_times "to_start ${start}ms, to_healthy ${healthy}ms, service ready at +$((ready - t0))ms" \
	bash -c "[ '$start' -ge 450 ] && [ '$healthy' -ge '$start' ] && [ '$healthy' -ge $((ready - t0 - 50)) ] && [ '$healthy' -lt 30000 ]"

# --- Restart=no: killed, stays down; tug says FAIL within the bound ---
out="$T_TMP/kill-no.json"
old=$(mainpid "$N")
"$TUG" proc kill --unit "$N.service" --wait-restart 3s --json >"$out" 2>&1
rc=$?
grep -v '"event":"FAIL"' "$out" | sed 's/^/  /'
t_note_expected_failure "Restart=no" "$(sed -n 's/.*"event":"FAIL".*"why":"\([^"]*\)".*/\1/p' "$out")"
t_check unit_kill_no_fails "exit $rc" [ "$rc" -eq 1 ]
t_check unit_kill_no_why "$(grep FAIL "$out")" grep -q '"why":"no new process within the bound"' "$out"
t_check unit_kill_no_stays_down "systemd: $(systemctl is-active "$N.service"), starts $(wc -l <"$T_TMP/starts-n")" \
	bash -c "! systemctl is-active -q '$N.service' && [ \$(wc -l <'$T_TMP/starts-n') -eq 1 ] && ! kill -0 $old 2>/dev/null"

# --- proc restart --unit: a restart asked for; NRestarts is systemd's
# count of automatic restarts and resets, so tug reports no delta ---
out="$T_TMP/restart-always.json"
old=$(mainpid "$A")
"$TUG" proc restart --unit "$A.service" --wait 30s --probe "http://127.0.0.1:$PA/" --json >"$out" 2>&1
rc=$?
sed 's/^/  /' "$out"
new=$(tail -1 "$T_TMP/starts-a" | cut -d' ' -f1)
t_check unit_restart_pass "exit $rc" [ "$rc" -eq 0 ]
t_check unit_restart_new_pid "old $old, service $new, tug $(json_field "$out" PASS new_pid)" \
	bash -c "[ '$new' != '$old' ] && [ '$(json_field "$out" PASS new_pid)' = '$new' ]"
t_check unit_restart_no_negative_delta "$(grep PASS "$out")" \
	bash -c "! grep -q restarts_delta '$out' && [ '$(json_field "$out" PASS restarts)' = '$(nrestarts "$A")' ] && [ '$(json_field "$out" PASS restarts_before)' = 1 ]"
t_check unit_restart_healthy "to_healthy $(json_field "$out" PASS to_healthy_ms)" \
	bash -c "[ -n '$(json_field "$out" PASS to_healthy_ms)' ]"

# --- proc restart of the Restart=no unit that is down: started again ---
out="$T_TMP/restart-no.json"
"$TUG" proc restart --unit "$N.service" --wait 30s --probe "http://127.0.0.1:$PN/" --json >"$out" 2>&1
rc=$?
sed 's/^/  /' "$out"
new=$(tail -1 "$T_TMP/starts-n" | cut -d' ' -f1)
t_check unit_restart_down_unit "exit $rc, service pid $new, tug $(json_field "$out" PASS new_pid), systemd $(systemctl is-active "$N.service")" \
	bash -c "[ $rc -eq 0 ] && [ '$(json_field "$out" PASS new_pid)' = '$new' ] && systemctl is-active -q '$N.service'"
