#!/usr/bin/env bash
# tug disk fill on filesystems this test mounts itself (a tmpfs and an ext4
# loop filesystem): the free space left, the file's removal at the deadline,
# after Ctrl-C, after SIGKILL (guardian) and at `tug recover`, and refusal of
# protected paths with nothing written.
. "$(dirname "$0")/../lib.sh"

M="$T_TMP/tmpfs" E="$T_TMP/ext4"
t_tmpfs "$M" 64M || { t_fail setup "cannot mount a tmpfs"; exit 1; }
have_ext4=1
t_loopfs "$E" 128M || have_ext4=0

avail() { df -B1 --output=avail "$1" | tail -1 | tr -d ' '; }
fsize() { df -B1 --output=size "$1" | tail -1 | tr -d ' '; }
fills() { find "$1" -maxdepth 1 -name '.tug-fill-*' | wc -l; }
entries() { find "$TUG_RUN_DIR" "$TUG_STATE_DIR" -name '*.json' 2>/dev/null | wc -l; }
# within_1pct GOT WANT: |GOT - WANT| <= 1 % of WANT
within_1pct() { awk -v g="$1" -v w="$2" 'BEGIN { d = g - w; if (d < 0) d = -d; exit !(d <= w / 100) }'; }

# fill_check NAME DIR EXPECTED_AVAIL ARGS...: a 1 s fill, free space checked
# while it holds, everything given back after the deadline. (t_bg cannot
# redirect, so run_fill does; its exec makes the background pid tug's.)
run_fill() { local out=$1; shift; exec "$TUG" disk fill "$@" >"$out" 2>&1; }
fill_check() {
	local name=$1 dir=$2 want=$3 out="$T_TMP/$1.out" before during pid rc persistent
	shift 3
	before=$(avail "$dir")
	t_bg pid run_fill "$out" --path "$dir" "$@" --for 1s --json
	wait_for "$out" '"applied"' 10000
	during=$(avail "$dir")
	persistent=$(find "$TUG_STATE_DIR" -name '*.json' | wc -l)
	wait "$pid"
	rc=$?
	echo "  $name: asked $want B free, got $during B (off by $((during - want)) B)"
	t_check "${name}_leaves_asked_free_space" "asked $want, got $during" within_1pct "$during" "$want"
	t_check "${name}_journal_persistent" "$persistent entries under TUG_STATE_DIR" [ "$persistent" -eq 1 ]
	t_check "${name}_exit_0" "exit $rc: $(tail -1 "$out")" [ "$rc" -eq 0 ]
	t_check "${name}_file_gone_after_deadline" "$(fills "$dir") fill files left" [ "$(fills "$dir")" -eq 0 ]
	t_check "${name}_space_given_back" "avail $(avail "$dir") vs $before before" [ "$(avail "$dir")" -eq "$before" ]
	t_check "${name}_journal_cleared" "$(entries) entries left" [ "$(entries)" -eq 0 ]
}

fill_check tmpfs_leave_16M "$M" $((16 << 20)) --leave 16M
fill_check tmpfs_leave_pct "$M" $(($(fsize "$M") / 4)) --leave 25%
fill_check tmpfs_size "$M" $(($(avail "$M") - (20 << 20))) --size 20M
if [ "$have_ext4" -eq 1 ]; then
	fill_check ext4_leave_10M "$E" $((10 << 20)) --leave 10M
	fill_check ext4_leave_pct "$E" $(($(fsize "$E") / 10)) --leave 10%
	fill_check ext4_size "$E" $(($(avail "$E") - (50 << 20))) --size 50M
else
	t_skip ext4 "cannot make an ext4 loop filesystem (mkfs.ext4, loop devices)"
fi

# --- a fill file renamed during the fault: the revert truncates it through
# its descriptor, so the space comes back whatever it is called now ---
before=$(avail "$M")
out="$T_TMP/rename.out"
t_bg pid run_fill "$out" --path "$M" --leave 8M --for 800ms --json
wait_for "$out" '"applied"' 10000
f=$(find "$M" -maxdepth 1 -name '.tug-fill-*' | head -1)
mv "$f" "$M/renamed-by-someone"
during=$(avail "$M")
wait "$pid"
after=$(avail "$M")
t_check renamed_fill_space_given_back "avail before $before, during $during, after $after; $(ls -la "$M")" \
	bash -c "[ -n '$f' ] && [ '$during' -lt $((before / 2)) ] && [ '$after' -ge $((before - (1 << 20))) ] && [ \"\$(stat -c %s '$M/renamed-by-someone')\" -eq 0 ]"
rm -f "$M/renamed-by-someone"

# --- Ctrl-C ---
before=$(avail "$M")
out="$T_TMP/int.out"
t_bg pid run_fill "$out" --path "$M" --leave 8M --for 30s --json
wait_for "$out" '"applied"' 10000
held=$(fills "$M")
kill -INT "$pid"
wait "$pid"
rc=$?
t_check ctrl_c_reverts "exit $rc, held $held files: $(tail -1 "$out")" \
	bash -c "[ $rc -eq 0 ] && [ $held -eq 1 ] && grep -q '\"reason\":\"SIGINT\"' '$out'"
t_check ctrl_c_file_gone "$(fills "$M") fill files left" [ "$(fills "$M")" -eq 0 ]
t_check ctrl_c_space_given_back "avail $(avail "$M") vs $before" [ "$(avail "$M")" -eq "$before" ]

# --- SIGKILL: the guardian removes the file within a second ---
out="$T_TMP/kill.out"
t_bg pid run_fill "$out" --path "$M" --leave 8M --for 30s --json
wait_for "$out" '"applied"' 10000
tugpid=$pid
held=$(fills "$M")
kill -9 "$tugpid"
t_kill=$(now_ms)
gone=""
while [ $(($(now_ms) - t_kill)) -lt 3000 ]; do
	if [ "$(fills "$M")" -eq 0 ]; then gone=$(($(now_ms) - t_kill)); break; fi
	sleep 0.01
done
wait "$pid" 2>/dev/null
echo "  SIGKILL: fill file removed ${gone:-never} ms after the kill"
t_check sigkill_file_gone_within_1s "held $held, removed after ${gone:-never} ms" \
	bash -c "[ $held -eq 1 ] && [ -n '$gone' ] && [ '$gone' -lt 1000 ]"
sleep 0.1
t_check sigkill_space_given_back "avail $(avail "$M") vs $before" [ "$(avail "$M")" -eq "$before" ]
t_check sigkill_journal_cleared "$(entries) entries left" [ "$(entries)" -eq 0 ]

# --- both tug and its guardian die (or the machine reboots): tug recover ---
out="$T_TMP/recover.out"
t_bg pid run_fill "$out" --path "$M" --leave 8M --for 30s --json
wait_for "$out" '"applied"' 10000
tugpid=$pid
guard=$(pgrep -P "$tugpid")
kill -9 "$guard" "$tugpid"
wait "$pid" 2>/dev/null
left=$(fills "$M")
rm -rf "$TUG_RUN_DIR"	# what a reboot does to /run
st=$("$TUG" status)
"$TUG" recover >/dev/null 2>&1
rc=$?
t_check recover_after_crash_of_both "guardian '$guard', file left $left, status: $st" \
	bash -c "[ -n '$guard' ] && [ $left -eq 1 ] && echo '$st' | grep -q 'disk fill.*orphaned'"
t_check recover_removes_file "exit $rc, $(fills "$M") fill files left" \
	bash -c "[ $rc -eq 0 ] && [ $(fills "$M") -eq 0 ] && [ $(avail "$M") -eq $before ]"
t_check recover_idempotent "second recover failed" "$TUG" recover
t_check recover_journal_cleared "$(entries) entries left" [ "$(entries)" -eq 0 ]

# --- refused before anything is written: exit 2, no file, no journal ---
refused() {	# name, expected text in the message, args...
	local name=$1 text=$2 rc
	shift 2
	local b=$(avail "$M")
	"$TUG" disk fill "$@" --for 1s >/dev/null 2>"$T_TMP/err"
	rc=$?
	t_check "$name" "exit $rc, $(fills "$M") files, $(entries) entries: $(cat "$T_TMP/err")" \
		bash -c "[ $rc -eq 2 ] && [ $(fills "$M") -eq 0 ] && [ $(entries) -eq 0 ] && \
			 [ $(avail "$M") -eq $b ] && grep -q '$text' '$T_TMP/err'"
}
refused protected_root "root filesystem" --path / --leave 1G
if [ "$(stat -c %d "$T_TMP")" = "$(stat -c %d /)" ]; then
	refused protected_tmp_on_root "root filesystem" --path "$T_TMP" --leave 1G
else
	t_skip protected_tmp_on_root "/tmp is a filesystem of its own here ($(stat -fc %T "$T_TMP")), not the root's"
fi
refused protected_usr "protected" --path /usr --leave 1G
[ -d /boot ] && refused protected_boot "protected" --path /boot --leave 1G
refused protected_proc "pseudo filesystem" --path /proc --leave 10%
mkdir -p "$M/keep" "$M/scratch"
echo "# test list" >"$T_TMP/protected"
echo "$M/keep" >>"$T_TMP/protected"
TUG_PROTECTED="$T_TMP/protected" refused protected_listed_same_fs "listed in" --path "$M/scratch" --leave 8M
TUG_PROTECTED="$T_TMP/protected" refused protected_listed_path "listed in" --path "$M/keep" --leave 8M
rmdir "$M/keep"
mkdir -p "$M/db/pg"
echo 15 >"$M/db/pg/PG_VERSION"
refused protected_pg_datadir_on_fs "PG_VERSION" --path "$M/scratch" --leave 8M
refused protected_inside_pg_datadir "PostgreSQL data directory" --path "$M/db/pg" --leave 8M
rm -rf "$M/db"
# A running server whose data directory is deeper than the bounded walk:
# found through /proc/PID/cwd (a copy of sleep named postgres stands in).
deep="$M/a/b/c/d/e/f/pgdata"
mkdir -p "$deep" && echo 15 >"$deep/PG_VERSION"
cp "$(command -v sleep)" "$T_TMP/postgres"
(cd "$deep" && exec "$T_TMP/postgres" 60) &
pg=$!
T_PIDS+=($pg)
sleep 0.1
refused protected_running_postgres "running postgres" --path "$M/scratch" --leave 8M
kill "$pg"; wait "$pg" 2>/dev/null
rm -rf "$M/a"
# A tablespace of a running server (data directory elsewhere) on the target.
if [ "$have_ext4" -eq 1 ]; then
	mkdir -p "$T_TMP/pgmain/pg_tblspc" "$E/ts"
	echo 15 >"$T_TMP/pgmain/PG_VERSION"
	ln -s "$E/ts" "$T_TMP/pgmain/pg_tblspc/16384"
	(cd "$T_TMP/pgmain" && exec "$T_TMP/postgres" 60) &
	pg=$!
	T_PIDS+=($pg)
	sleep 0.1
	b=$(avail "$E")
	"$TUG" disk fill --path "$E" --leave 8M --for 1s >/dev/null 2>"$T_TMP/err"
	rc=$?
	t_check protected_tablespace "exit $rc: $(cat "$T_TMP/err")" \
		bash -c "[ $rc -eq 2 ] && grep -q tablespace '$T_TMP/err' && [ $(fills "$E") -eq 0 ] && [ $(avail "$E") -eq $b ]"
	kill "$pg"; wait "$pg" 2>/dev/null
fi
refused bad_not_a_directory "not" --path "$T_TMP/postgres" --leave 8M
refused bad_no_such_path "No such" --path "$M/nope" --leave 8M
refused bad_leave_above_free "nothing to fill" --path "$M" --leave 1G
refused bad_size_above_free "only" --path "$M" --size 1G
refused bad_leave_and_size "exactly one" --path "$M" --leave 8M --size 8M
refused bad_neither "exactly one" --path "$M"
refused bad_leave_pct "percentage" --path "$M" --leave 100%
