#!/usr/bin/env bash
# tug schedule with a real systemd: install a weekly timer, see it loaded
# (list-timers, next elapse on Sunday 03:00, the runbook's weekly slot),
# move the guest's clock to just before that time and see systemd fire it
# exactly once (the experiment's action leaves a mark), then remove it and
# find nothing left: no unit file, no loaded unit, no timer state. Run
# only in a disposable guest: it sets the clock (and puts it back).
. "$(dirname "$0")/../lib.sh"

[ -d /run/systemd/system ] || { t_skip schedule_timer "systemd is not PID 1 here"; exit 0; }
[ -n "${TUG_VM_RELEASE:-}" ] || { t_skip schedule_timer "sets the clock: runs only in a guest (scripts/vm)"; exit 0; }
NAME="vmt-$T_ID" TIMER="tug-vmt-$T_ID.timer" SVC="tug-vmt-$T_ID.service"
MARK="$T_TMP/fired"
cat >"$T_TMP/timer.yaml" <<YAML
title: timer test
risk: low
nodes:
  - { name: here, host: local }
method:
  - { name: mark, action: "date +%s >> $MARK", node: here }
YAML
chmod 755 "$T_TMP"
t_at_exit "'$TUG' schedule remove '$NAME'"

out=$("$TUG" schedule install "$T_TMP/timer.yaml" --weekly --name "$NAME" 2>&1)
rc=$?
t_check timer_install "exit $rc: $out" [ "$rc" -eq 0 ]
t_check timer_files "$(ls /etc/systemd/system | grep "vmt-$T_ID")" \
	test -f "/etc/systemd/system/$TIMER" -a -f "/etc/systemd/system/$SVC"
t_check timer_listed "list-timers: $(systemctl list-timers --all --no-legend | grep tug-)" \
	bash -c "systemctl list-timers --all --no-legend | grep -q ' $TIMER '"
t_check timer_active "is-active: $(systemctl is-active "$TIMER")" systemctl is-active -q "$TIMER"
next_us=$(systemctl show -p NextElapseUSecRealtime --value "$TIMER" 2>/dev/null)
# systemctl show prints a date; 'date -d' reads it back.
next=$(date -d "$next_us" +%s 2>/dev/null || echo 0)
t_check timer_next_sunday_3am "next elapse '$next_us'" \
	bash -c "[ '$(date -d "@$next" +%u-%H:%M:%S)' = 7-03:00:00 ]"

# --- fire: the clock 3 s before the next elapse ---
saved=$(date +%s) up0=$(cut -d. -f1 /proc/uptime)
restore_clock() { date -s "@$((saved + $(cut -d. -f1 /proc/uptime) - up0))" >/dev/null; }
t_at_exit restore_clock
if [ "$next" -gt "$saved" ]; then
	date -s "@$((next - 3))" >/dev/null
	wait_for "$MARK" . 90000
	sleep 2	# a second firing would show within this
	fired=$(wc -l <"$MARK" 2>/dev/null || echo 0)
	res=$(systemctl show -p Result --value "$SVC") st=$(systemctl show -p ExecMainStatus --value "$SVC")
	# Read before the clock goes back: from then on the next run is again
	# the one this test fired.
	after=$(date -d "$(systemctl show -p NextElapseUSecRealtime --value "$TIMER")" +%s 2>/dev/null || echo 0)
	restore_clock
	t_check timer_fired_once "marks $fired, service Result=$res ExecMainStatus=$st; $(journalctl -u "$SVC" --no-pager -n 5 2>&1 | tail -5)" \
		bash -c "[ '$fired' -eq 1 ] && [ '$res' = success ] && [ '$st' = 0 ]"
	mark=$(head -1 "$MARK" 2>/dev/null || echo 0)
	# systemd's default AccuracySec=1min: within a minute of the elapse.
	t_check timer_fired_on_time "fired at $mark, elapse at $next" \
		bash -c "[ '$mark' -ge '$next' ] && [ '$mark' -le $((next + 65)) ]"
	t_check timer_next_week "next elapse now $(date -d "@$after")" \
		bash -c "[ '$(date -d "@$after" +%u-%H:%M:%S)' = 7-03:00:00 ] && [ '$after' -gt '$next' ]"
else
	t_fail timer_fired_once "no next elapse in the future: '$next_us'"
fi

# --- remove: nothing left ---
out=$("$TUG" schedule remove "$NAME" 2>&1)
rc=$?
t_check timer_remove "exit $rc: $out" [ "$rc" -eq 0 ]
t_check timer_remove_files "$(ls /etc/systemd/system | grep "vmt-$T_ID")" \
	bash -c "! ls /etc/systemd/system | grep -q 'vmt-$T_ID'"
t_check timer_remove_unloaded "list-timers: $(systemctl list-timers --all --no-legend | grep "vmt-$T_ID")" \
	bash -c "! systemctl list-timers --all --no-legend | grep -q '$TIMER' && [ \"\$(systemctl show -p LoadState --value '$TIMER')\" = not-found ]"
t_check timer_remove_state "left: $(ls /var/lib/systemd/timers 2>/dev/null | grep "vmt-$T_ID")" \
	bash -c "! ls /var/lib/systemd/timers 2>/dev/null | grep -q 'vmt-$T_ID'"
t_check timer_remove_wants "left: $(find /etc/systemd/system -name "*vmt-$T_ID*")" \
	bash -c "[ -z \"\$(find /etc/systemd/system -name '*vmt-$T_ID*')\" ]"
