#!/usr/bin/env bash
# tug cpu throttle and tug proc freeze with real cgroups and real processes:
# a throttled busy loop gets about the asked share of a CPU, a frozen
# counter stops and resumes, and both knobs come back exactly (deadline,
# SIGKILL within 1 s, tug recover), on v1 and on v2.
. "$(dirname "$0")/../lib.sh"

SPIN="$TUG_BUILD/tests/tugspin"
HZ=$(getconf CLK_TCK)
# cpu_ticks PID: user + system time so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }
now_val() { cat "$1" 2>/dev/null; }
# restored_within FILE VALUE MS: how many ms until FILE reads VALUE ("" if never).
restored_within() {
	local t0 end
	t0=$(now_ms)
	end=$((t0 + $3))
	while [ "$(now_ms)" -lt "$end" ]; do
		[ "$(now_val "$1")" = "$2" ] && { echo $(($(now_ms) - t0)); return; }
		sleep 0.005
	done
}

# ================= cpu throttle =================
C=$(t_rescg_root cpu)
if [ -z "$C" ]; then
	t_skip cpu_throttle "no cgroup hierarchy has the cpu controller"
else
	if [ -f "$C/cgroup.controllers" ]; then
		QF=cpu.max
		# systemd enables cpu for children only once a unit asks for CPU
		# accounting; do what such a unit would (and undo it at exit).
		if ! grep -qw cpu "$C/cgroup.subtree_control"; then
			if echo +cpu >"$C/cgroup.subtree_control" 2>/dev/null; then
				t_at_exit "echo -cpu >'$C/cgroup.subtree_control'"
			else
				t_skip cpu_throttle "cannot enable cpu in $C/cgroup.subtree_control"
				C=""
			fi
		fi
	else
		QF=cpu.cfs_quota_us
	fi
fi
if [ -n "$C" ]; then
	CG="$C/tug-test-$T_ID-cpu"
	t_rescg "$CG" || { t_fail setup "cannot create $CG"; exit 1; }
	prev=$(cat "$CG/$QF")
	t_rescg_bg sp "$CG" "$SPIN" spin
	sleep 0.3
	out="$T_TMP/cpu"
	t_bg tp "$TUG" cpu throttle --cgroup "tug-test-$T_ID-cpu" --percent 20 --for 4s --json >"$out" 2>&1
	wait_for "$out" '"applied"' 3000
	during=$(cat "$CG/$QF")
	sleep 0.5
	a=$(cpu_ticks "$sp"); t0=$(now_ms)
	sleep 2
	b=$(cpu_ticks "$sp"); t1=$(now_ms)
	share=$(awk -v a="$a" -v b="$b" -v hz="$HZ" -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", (b - a) / hz * 100000 / ms }')
	wait "$tp"
	rc=$?
	after=$(cat "$CG/$QF")
	a=$(cpu_ticks "$sp"); t0=$(now_ms)
	sleep 1
	b=$(cpu_ticks "$sp"); t1=$(now_ms)
	free=$(awk -v a="$a" -v b="$b" -v hz="$HZ" -v ms=$((t1 - t0)) 'BEGIN { printf "%.1f", (b - a) / hz * 100000 / ms }')
	echo "  cpu throttle 20%: busy loop got ${share}% of a CPU while throttled, ${free}% after; $QF '$prev' -> '$during' -> '$after'"
	t_check cpu_throttle_share_about_20pct "share $share%" \
		awk -v s="$share" 'BEGIN { exit !(s >= 15 && s <= 25) }'
	t_check cpu_throttle_restored_exactly "rc=$rc $QF '$prev' -> '$during' -> '$after'" \
		bash -c "[ $rc -eq 0 ] && [ '$after' = '$prev' ] && [ '$during' != '$prev' ]"
	t_check cpu_throttle_released "share after the fault $free%, throttled $share%" awk -v s="$free" -v t="$share" 'BEGIN { exit !(s >= t + 10) }'
	t_check cpu_throttle_counts_throttling "$(grep reverted "$out")" grep -qE '"nr_throttled":[1-9]' "$out"

	out="$T_TMP/cpu-kill"
	t_bg tp "$TUG" cpu throttle --cgroup "$CG" --percent 10 --for 30s --json >"$out" 2>&1
	wait_for "$out" '"applied"' 3000
	during=$(cat "$CG/$QF")
	kill -9 "$tp"
	ms=$(restored_within "$CG/$QF" "$prev" 3000)
	echo "  cpu throttle: $QF restored ${ms:-never} ms after SIGKILL of the controller"
	t_check cpu_throttle_restored_within_1s_of_SIGKILL "during '$during', restored after ${ms:-never} ms" \
		bash -c "[ '$during' != '$prev' ] && [ -n '$ms' ] && [ '$ms' -lt 1000 ]"

	out="$T_TMP/cpu-both"
	t_bg tp "$TUG" cpu throttle --cgroup "$CG" --percent 10 --for 30s --json >"$out" 2>&1
	wait_for "$out" '"applied"' 3000
	gp=$(pgrep -P "$tp" -x tug-guardian)
	[ -n "$gp" ] && kill -9 "$gp"
	kill -9 "$tp"
	wait "$tp" 2>/dev/null
	left=$(cat "$CG/$QF")
	"$TUG" recover >/dev/null 2>&1
	t_check cpu_throttle_recover_after_both_died "guardian=$gp left '$left', now '$(cat "$CG/$QF")'" \
		bash -c "[ -n '$gp' ] && [ '$left' != '$prev' ] && [ '$(cat "$CG/$QF")' = '$prev' ]"
	# Two throttles on one cgroup: the second is refused, naming the first;
	# the original quota comes back when the first ends (SIGKILL or deadline).
	for end in sigkill deadline; do
		out="$T_TMP/cpu-stack-$end"
		t_bg tp "$TUG" cpu throttle --cgroup "$CG" --percent 20 --for 30s --json >"$out" 2>&1
		wait_for "$out" '"applied"' 3000
		id=$(json_field "$out" applied id)
		during=$(cat "$CG/$QF")
		"$TUG" cpu throttle --cgroup "$CG" --percent 50 --for 5s >"$T_TMP/cpu-stack2" 2>&1
		rc2=$?
		t_check cpu_throttle_stacked_refused_$end "rc=$rc2: $(cat "$T_TMP/cpu-stack2"); $QF '$during' -> '$(cat "$CG/$QF")'" \
			bash -c "[ $rc2 -eq 2 ] && grep -q 'tug revert $id' '$T_TMP/cpu-stack2' && [ '$(cat "$CG/$QF")' = '$during' ]"
		if [ $end = sigkill ]; then kill -9 "$tp"; else kill -TERM "$tp"; fi
		wait "$tp" 2>/dev/null
		ms=$(restored_within "$CG/$QF" "$prev" 2000)
		t_check cpu_throttle_stacked_original_back_$end "$QF now '$(cat "$CG/$QF")', was '$prev'" [ -n "$ms" ]
	done
	kill -9 "$sp"
	"$TUG" cpu throttle --cgroup "$CG" --percent 0.5 --for 1s >/dev/null 2>&1
	t_check cpu_throttle_below_minimum_exit_2 "exit $?" [ $? -eq 2 ]
fi

# ================= proc freeze =================
# freeze_test NAME DIR: a counter in DIR stops while frozen and resumes after.
freeze_test() {
	local name=$1 cg=$2 file state prev out cp c1 c2 c3 c4 rc ms gp left
	file="$T_TMP/counter-$name"
	if [ -f "$cg/cgroup.freeze" ]; then state=cgroup.freeze; else state=freezer.state; fi
	prev=$(cat "$cg/$state")
	t_rescg_bg cp "$cg" "$SPIN" count "$file"
	wait_for "$file" . 2000
	out="$T_TMP/freeze-$name"
	# Both readings must fall inside the hold: under full emulation
	# (TUG_SLOW) seeing "applied" can take longer than the whole hold.
	"$TUG" proc freeze --cgroup "$cg" --for $((1500 * ${TUG_SLOW:-1}))ms --json >"$out" 2>&1 &
	local tp=$!
	wait_for "$out" '"applied"' 3000
	sleep 0.2
	c1=$(cat "$file")
	sleep 0.8
	c2=$(cat "$file")
	local read_ms=$(now_ms) deadline_ms
	deadline_ms=$(json_field "$out" applied deadline_ms)
	t_check freeze_${name}_read_inside_hold "counter read at $read_ms, deadline $deadline_ms" \
		[ "$read_ms" -lt "$deadline_ms" ]
	wait "$tp"
	rc=$?
	sleep 0.3
	c3=$(cat "$file")
	echo "  proc freeze ($name, $state): counter $c1 -> $c2 while frozen, $c3 after; frozen in $(grep -o '"freeze_us":[0-9]*' "$out" | head -1 | cut -d: -f2) us"
	t_check freeze_${name}_counter_stops "counter $c1 -> $c2 while frozen" [ "$c1" = "$c2" ]
	t_check freeze_${name}_resumes "rc=$rc counter $c2 -> $c3 after thaw; $state=$(cat "$cg/$state")" \
		bash -c "[ $rc -eq 0 ] && [ '$c3' -gt '$c2' ] && [ '$(cat "$cg/$state")' = '$prev' ]"

	t_bg tp "$TUG" proc freeze --cgroup "$cg" --for 30s --json >"$out" 2>&1
	wait_for "$out" '"applied"' 3000
	# A second freeze of it is refused and names the live one.
	"$TUG" proc freeze --cgroup "$cg" --for 1s >"$T_TMP/freeze2" 2>&1
	local rc2=$? id
	id=$(json_field "$out" applied id)
	t_check freeze_${name}_stacked_refused "rc=$rc2: $(cat "$T_TMP/freeze2")" \
		bash -c "[ $rc2 -eq 2 ] && grep -q 'tug revert $id' '$T_TMP/freeze2'"
	kill -9 "$tp"
	ms=$(restored_within "$cg/$state" "$prev" 3000)
	sleep 0.2
	c3=$(cat "$file")
	sleep 0.2
	c4=$(cat "$file")
	echo "  proc freeze ($name): thawed ${ms:-never} ms after SIGKILL of the controller"
	t_check freeze_${name}_thawed_within_1s_of_SIGKILL "thawed after ${ms:-never} ms, counter $c3 -> $c4" \
		bash -c "[ -n '$ms' ] && [ '$ms' -lt 1000 ] && [ '$c4' -gt '$c3' ]"

	t_bg tp "$TUG" proc freeze --cgroup "$cg" --for 30s --json >"$out" 2>&1
	wait_for "$out" '"applied"' 3000
	gp=$(pgrep -P "$tp" -x tug-guardian)
	[ -n "$gp" ] && kill -9 "$gp"
	kill -9 "$tp"
	wait "$tp" 2>/dev/null
	left=$(cat "$cg/$state")
	"$TUG" recover >/dev/null 2>&1
	t_check freeze_${name}_recover_after_both_died "guardian=$gp left '$left', now '$(cat "$cg/$state")'" \
		bash -c "[ -n '$gp' ] && [ '$left' != '$prev' ] && [ '$(cat "$cg/$state")' = '$prev' ]"

	# tug refuses to freeze the cgroup it runs in.
	sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$TUG" proc freeze --cgroup "$cg" --for 1s >/dev/null 2>&1
	rc=$?
	t_check freeze_${name}_refuses_own_cgroup "exit $rc, $state=$(cat "$cg/$state")" \
		bash -c "[ $rc -eq 2 ] && [ '$(cat "$cg/$state")' = '$prev' ]"
	kill -9 "$cp"
}

F=$(t_rescg_root freezer)
V2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ -n "$F" ]; then
	t_rescg "$F/tug-test-$T_ID-frz" && freeze_test v1 "$F/tug-test-$T_ID-frz"
fi
if [ -n "$V2" ] && [ "$V2" != "$F" ]; then
	t_rescg "$V2/tug-test-$T_ID-frz" && freeze_test v2 "$V2/tug-test-$T_ID-frz"
fi
[ -z "$F" ] && [ -z "$V2" ] && t_skip proc_freeze "no freezer and no cgroup v2"
exit 0
