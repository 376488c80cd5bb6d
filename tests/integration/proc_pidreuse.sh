#!/usr/bin/env bash
# A stale pidfile whose pid was reused by an unrelated process: tug must not
# kill it. The reuse is real: in a fresh pid namespace, ns_last_pid makes
# the unrelated process get exactly the pid the pidfile names.
. "$(dirname "$0")/../lib.sh"

command -v unshare >/dev/null || { t_skip pidreuse "unshare is not installed"; exit 0; }
out="$T_TMP/reuse.out"
timeout 20 unshare --pid --fork --mount-proc bash -c '
	TUG=$1 dir=$2
	sleep 60 & a=$!
	echo $a >"$dir/app.pid"
	kill -9 $a; wait $a 2>/dev/null
	sleep 0.3
	echo $((a - 1)) >/proc/sys/kernel/ns_last_pid
	sleep 60 & u=$!
	echo "pidfile=$a unrelated=$u"
	"$TUG" proc kill --pidfile "$dir/app.pid" --json; echo "rc=$?"
	sleep 0.1
	kill -0 $u 2>/dev/null && echo "unrelated=alive" || echo "unrelated=dead"
	# A fresh pidfile naming a live process: that one is killed.
	sleep 60 & f=$!
	sleep 0.05
	echo $f >"$dir/fresh.pid"
	"$TUG" proc kill --pidfile "$dir/fresh.pid" --signal TERM --json >/dev/null; echo "fresh_rc=$?"
	sleep 0.1
	kill -0 $f 2>/dev/null && echo "fresh=alive" || echo "fresh=dead"
	kill -9 $u $f 2>/dev/null
' _ "$TUG" "$T_TMP" >"$out" 2>&1
sed 's/^/  /' "$out"
read -r pf un <<<"$(sed -n 's/^pidfile=\([0-9]*\) unrelated=\([0-9]*\)$/\1 \2/p' "$out")"
if [ -z "$pf" ] || [ "$pf" != "$un" ]; then
	t_skip pidreuse_real "could not force pid reuse (pidfile $pf, unrelated $un)"
else
	t_pass pidreuse_real
fi
t_check pidreuse_refused_exit_2 "$(grep '^rc=' "$out")" grep -qx 'rc=2' "$out"
t_check pidreuse_unrelated_survives "$(grep '^unrelated=' "$out" | tail -1)" grep -qx 'unrelated=alive' "$out"
t_check pidreuse_says_why "no 'reused pid' message" grep -q 'reused pid' "$out"
t_check pidfile_fresh_killed "$(grep '^fresh' "$out" | tr '\n' ' ')" \
	bash -c "grep -qx 'fresh_rc=0' '$out' && grep -qx 'fresh=dead' '$out'"

# A service user owns its pidfile and can write any older pid into it (an
# sshd's, say): a pidfile that is not root's names only its owner's processes.
t_bg elder sleep 60
sleep 0.1
echo "$elder" >"$T_TMP/svc.pid"
chown nobody "$T_TMP/svc.pid"
touch "$T_TMP/svc.pid"
"$TUG" proc kill --pidfile "$T_TMP/svc.pid" --json >"$T_TMP/own.out" 2>&1
rc=$?
t_check pidfile_of_another_user_refused "exit $rc: $(cat "$T_TMP/own.out")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'runs as uid 0, but the file belongs to uid' '$T_TMP/own.out' && kill -0 $elder"
t_bg mine setpriv --reuid=nobody --regid=nogroup --clear-groups sleep 60
sleep 0.1
echo "$mine" >"$T_TMP/svc.pid"
chown nobody "$T_TMP/svc.pid"
"$TUG" proc kill --pidfile "$T_TMP/svc.pid" --signal TERM --json >"$T_TMP/own.out" 2>&1
rc=$?
sleep 0.1
t_check pidfile_owners_own_process_killed "exit $rc: $(cat "$T_TMP/own.out")" \
	bash -c "[ $rc -eq 0 ] && ! kill -0 $mine 2>/dev/null"
exit 0
