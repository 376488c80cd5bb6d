#!/usr/bin/env bash
# proc kill / proc restart against a real supervisor: a small HTTP service
# under runit's runsv, in a network namespace of its own (loopback only).
# The service records its own pid, start and ready times; tug's report of the
# new pid and time to healthy must agree with them.
. "$(dirname "$0")/../lib.sh"

command -v runsv >/dev/null || { t_skip proc_kill "runit (runsv) is not installed"; exit 0; }
NS=$(t_netns svc) || { t_fail setup "cannot create a namespace"; exit 1; }
in_ns() { ip netns exec "$NS" "$@"; }

SV="$T_TMP/sv/web" STATE="$T_TMP/starts"
t_svc_write "$SV" 8080 "$STATE"
t_bg RUNSV ip netns exec "$NS" runsv "$SV"
# runsv is killed first at exit; then every service process it started, by
# the pids the service itself recorded.
t_at_exit "cut -d' ' -f1 '$STATE' | xargs -r kill -9"
t_at_exit "ip netns del '$NS'"
URL=http://127.0.0.1:8080/

wait_for "$STATE" . 5000 || { t_fail setup "the service did not start under runsv"; exit 1; }
in_ns curl -fsS "$URL" >/dev/null || { t_fail setup "the service does not answer"; exit 1; }
sleep 1.1	# runsv delays a restart by 1s when the service ran for less than that

# --- kill; runsv restarts it; tug's numbers agree with the service's own ---
out="$T_TMP/kill.json"
old=$(tail -1 "$STATE" | cut -d' ' -f1)
in_ns "$TUG" proc kill --runit "$SV" --wait-restart 10s --probe "$URL" --json >"$out"
rc=$?
cat "$out" | sed 's/^/  /'
new=$(tail -1 "$STATE" | cut -d' ' -f1)
read -r _ svc_start svc_ready <<<"$(tail -1 "$STATE")"
t0=$(json_field "$out" PASS t0_ms)
to_start=$(json_field "$out" PASS to_start_ms)
to_healthy=$(json_field "$out" PASS to_healthy_ms)
t_check kill_runit_exit "tug exited $rc" [ "$rc" -eq 0 ]
t_check kill_runit_signalled_old_pid "old pid $old; $(grep signalled "$out")" \
	grep -q "\"signalled\".*\"pid\":$old,.*\"signal\":\"KILL\",\"ok\":true" "$out"
t_check kill_runit_old_pid_gone "pid $old still runs" bash -c "! kill -0 $old 2>/dev/null"
t_check kill_runit_reports_new_pid "service says $new, tug says $(json_field "$out" PASS new_pid)" \
	[ "$(json_field "$out" PASS new_pid)" = "$new" ]
t_check kill_runit_new_pid_differs "new $new old $old" [ "$new" != "$old" ]
if [ -n "$t0" ] && [ -n "$to_healthy" ]; then
	svc_healthy=$((svc_ready - t0)) svc_started=$((svc_start - t0))
	err=$((to_healthy - svc_healthy))
	echo "  service: started $svc_started ms, listening $svc_ready-$t0 = $svc_healthy ms after the kill"
	echo "  tug:     new process at $to_start ms, healthy at $to_healthy ms (error $err ms)"
	t_check kill_runit_healthy_agrees "tug $to_healthy ms vs service $svc_healthy ms" \
		[ "$err" -ge 0 ] && [ "$err" -le 60 ]
	t_check kill_runit_start_before_service_start "runsv start $to_start ms, service start $svc_started ms" \
		[ "$to_start" -le $((svc_started + 10)) ] && [ "$to_start" -ge 0 ]
else
	t_fail kill_runit_healthy_agrees "no PASS line with t0_ms/to_healthy_ms"
fi

# --- proc restart through runsv: a new pid, time to healthy ---
sleep 1.1
out="$T_TMP/restart.json"
old=$new
in_ns "$TUG" proc restart --runit "$SV" --wait 10s --probe "$URL" --json >"$out"
rc=$?
new=$(tail -1 "$STATE" | cut -d' ' -f1)
t_check restart_runit_exit "tug exited $rc: $(tail -1 "$out")" [ "$rc" -eq 0 ]
t_check restart_runit_new_pid "service $new, tug $(json_field "$out" PASS new_pid), old $old" \
	[ "$(json_field "$out" PASS new_pid)" = "$new" ] && [ "$new" != "$old" ]
t_check restart_runit_healthy_reported "$(tail -1 "$out")" [ -n "$(json_field "$out" PASS to_healthy_ms)" ]

# --- a service that does not come back: FAIL, exit 1 ---
sleep 1.1
sv once "$SV" >/dev/null	# runsv will not restart it when it stops
out="$T_TMP/once.json"
t_start=$(now_ms)
in_ns "$TUG" proc kill --runit "$SV" --wait-restart 1500ms --probe "$URL" --json >"$out"
rc=$?
took=$(($(now_ms) - t_start))
t_check not_back_exits_1 "tug exited $rc" [ "$rc" -eq 1 ]
t_check not_back_says_fail "$(tail -1 "$out")" grep -q '"event":"FAIL".*no new process' "$out"
t_check not_back_within_bound "took $took ms for a 1.5s bound" [ "$took" -lt 2500 ]
sv up "$SV" >/dev/null

# --- the wrong forms are refused with exit 2 and touch nothing ---
"$TUG" proc kill --runit "$SV" --pid 1 >/dev/null 2>&1
t_check two_targets_exit_2 "exit $?" [ $? -eq 2 ]
"$TUG" proc kill --unit gateway.service >/dev/null 2>"$T_TMP/unit.err"
rc=$?
if [ -d /run/systemd/system ]; then
	t_skip unit_without_systemd "systemd is PID 1 here"
else
	t_check unit_without_systemd "exit $rc: $(cat "$T_TMP/unit.err")" \
		[ "$rc" -eq 2 ] && grep -q "systemd is not PID 1" "$T_TMP/unit.err"
fi

# --- every process of a cgroup (v2), each through a pidfd ---
cg_root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
if [ -n "$cg_root" ] && mkdir "$cg_root/tug-test-$T_ID" 2>/dev/null; then
	cg="$cg_root/tug-test-$T_ID"
	t_at_exit "rmdir '$cg'"
	t_bg c1 sleep 60
	t_bg c2 sleep 60
	t_bg outside sleep 60
	echo "$c1" >"$cg/cgroup.procs" && echo "$c2" >"$cg/cgroup.procs"
	"$TUG" proc kill --cgroup "$cg" --signal TERM --json >"$T_TMP/cg.json"
	rc=$?
	sleep 0.1
	t_check cgroup_kill_exit "exit $rc" [ "$rc" -eq 0 ]
	t_check cgroup_kill_both "$(cat "$T_TMP/cg.json")" bash -c \
		"! kill -0 $c1 2>/dev/null && ! kill -0 $c2 2>/dev/null"
	t_check cgroup_kill_not_outside "pid $outside was hit" kill -0 "$outside"
	t_check cgroup_kill_reports_term "$(grep -c '"signal":"TERM","ok":true' "$T_TMP/cg.json") signalled" \
		[ "$(grep -c '"signal":"TERM","ok":true' "$T_TMP/cg.json")" -eq 2 ]
else
	t_skip cgroup_kill "no writable cgroup2 mount"
fi
exit 0
