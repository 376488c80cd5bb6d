#!/usr/bin/env bash
# tug schedule writes a cron line (no systemd) or a timer + service (systemd),
# validated first; list and remove find them. Everything under a private root.
. "$(dirname "$0")/../lib.sh"

export TUG_SCHEDULE_ROOT="$T_TMP/root"
R=$TUG_SCHEDULE_ROOT
mkdir -p "$R/etc/cron.d" "$R/etc/systemd/system"
exp="$TUG_TOP/examples/kill-service.yaml"

out=$("$TUG" schedule install "$exp" --weekly --approve "o'neil" 2>&1)
rc=$?
f="$R/etc/cron.d/tug-kill-service"
t_check schedule_cron_written "exit $rc: $out" bash -c "[ $rc -eq 0 ] && [ -f '$f' ]"
line=$(grep -v '^#' "$f")
t_check schedule_cron_weekly "line: $line" grep -q '^0 3 \* \* 0 root ' <<<"$line"
# What sh will run, once cron has turned \% back into %: the exact words.
cmd=${line#0 3 \* \* 0 root }
cmd=${cmd%%>>*}
eval "set -- ${cmd//\\%/%}"
t_check schedule_cron_words "words: $*" \
	bash -c "[ '$1' = '$TUG' ] && [ '$2' = run ] && [ '$3' = '$exp' ] && [ '$4' = --approve ]"
t_check schedule_cron_quoting "approver word: $5" [ "$5" = "o'neil" ]

mkdir -p "$R/run/systemd/system"
out=$("$TUG" schedule install "$exp" --quarterly --name suite --approve a --approve b 2>&1)
t_check schedule_systemd_timer "out: $out; $(ls "$R/etc/systemd/system")" \
	bash -c "grep -q '^OnCalendar=Sun \*-01,04,07,10-01..07 03:00:00' '$R/etc/systemd/system/tug-suite.timer' &&
		 grep -q '^ExecStart=\"$TUG\" \"run\" \"$exp\" \"--approve\" \"a\" \"--approve\" \"b\"' '$R/etc/systemd/system/tug-suite.service'"

# Approvals hold for the next run only: the command carries their end.
exp_at=$(sed -n 's/.*"--approvals-expire" "\([0-9]*\)".*/\1/p' "$R/etc/systemd/system/tug-suite.service")
now=$(date +%s)
t_check schedule_approvals_expire "expire=$exp_at now=$now" \
	bash -c "[ -n '$exp_at' ] && [ '$exp_at' -gt $((now + 98 * 86400)) ] && [ '$exp_at' -le $((now + 99 * 86400)) ]"

lst=$("$TUG" schedule list)
t_check schedule_list "list: $lst" bash -c "grep -q tug-suite.timer <<<'$lst' && grep -q tug-kill-service <<<'$lst'"
"$TUG" schedule remove suite >/dev/null
t_check schedule_remove "left: $(ls "$R/etc/systemd/system")" \
	bash -c "[ -z \"\$(ls '$R/etc/systemd/system')\" ] && [ -f '$f' ]"
"$TUG" schedule install "$exp" --cron '0 4 * * 0' --name c --approve a >/dev/null 2>"$T_TMP/err"
rc=$?
t_check schedule_cron_approvals_need_until "exit $rc: $(cat "$T_TMP/err")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'approvals-until' '$T_TMP/err' && [ ! -e '$R/etc/cron.d/tug-c' ]"
"$TUG" schedule install "$exp" --cron '0 4 * * 0' --name c --approve a --approvals-until 2001-01-01 >/dev/null 2>"$T_TMP/err"
t_check schedule_past_until_refused "$(cat "$T_TMP/err")" \
	bash -c "grep -q 'has passed' '$T_TMP/err' && [ ! -e '$R/etc/cron.d/tug-c' ]"
# The same argument as install removes it: the file.
rm -rf "$R/run/systemd"
"$TUG" schedule install "$exp" --monthly --name kill-service >/dev/null 2>&1
"$TUG" schedule remove "$exp" >"$T_TMP/rm" 2>&1
t_check schedule_remove_by_file "$(cat "$T_TMP/rm"); left: $(ls "$R/etc/cron.d")" \
	bash -c "grep -q 'removed .*tug-kill-service' '$T_TMP/rm' && [ ! -e '$f' ]"
mkdir -p "$R/run/systemd/system"
"$TUG" schedule remove nosuch >/dev/null 2>&1
t_check schedule_remove_unknown_exit_2 "exit $?" [ $? -eq 2 ]

# Refusals: nothing written.
before=$(find "$R" -type f | sort | md5sum)
printf 'title: broken\nrisk: extreme\n' >"$T_TMP/bad.yaml"
"$TUG" schedule install "$T_TMP/bad.yaml" --weekly >/dev/null 2>"$T_TMP/err"
rc=$?
t_check schedule_invalid_experiment_refused "exit $rc: $(cat "$T_TMP/err")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'bad.yaml:2' '$T_TMP/err' && grep -q 'nothing was scheduled' '$T_TMP/err'"
"$TUG" schedule install "$exp" --cron '0 3 * *' >/dev/null 2>"$T_TMP/err"
rc=$?
t_check schedule_bad_cron_refused "exit $rc: $(cat "$T_TMP/err")" \
	bash -c "[ $rc -eq 2 ] && grep -q -- '--cron:' '$T_TMP/err'"
"$TUG" schedule install "$exp" --weekly --monthly >/dev/null 2>&1
t_check schedule_two_calendars_refused "exit $?" [ $? -eq 2 ]
t_check schedule_refusals_wrote_nothing "files changed" [ "$before" = "$(find "$R" -type f | sort | md5sum)" ]

# A schedule runs, as root, whatever is at the path later: a file or a
# directory others can write is refused, nothing written.
# (A local experiment: were the checks gone, the last test would run it.)
local_exp=$T_TMP/local.yaml
printf 'title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod:\n  - {pause: 10ms}\n' >"$local_exp"
mkdir -m 0777 "$T_TMP/open"
cp "$local_exp" "$T_TMP/open/e.yaml"
"$TUG" schedule install "$T_TMP/open/e.yaml" --weekly --name open >/dev/null 2>"$T_TMP/err"
rc=$?
t_check schedule_writable_dir_refused "exit $rc: $(cat "$T_TMP/err")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'writable by others' '$T_TMP/err' && [ ! -e '$R/etc/cron.d/tug-open' ]"
mkdir -m 0700 "$T_TMP/mine"
cp "$local_exp" "$T_TMP/mine/e.yaml"
chmod 0666 "$T_TMP/mine/e.yaml"
"$TUG" schedule install "$T_TMP/mine/e.yaml" --weekly --name open >/dev/null 2>"$T_TMP/err"
rc=$?
t_check schedule_writable_file_refused "exit $rc: $(cat "$T_TMP/err")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'the file .*writable by others' '$T_TMP/err' && [ ! -e '$R/etc/cron.d/tug-open' ]"
chmod 0644 "$T_TMP/mine/e.yaml"
# Control characters in any value would start a new cron line or directive.
"$TUG" schedule install "$T_TMP/mine/e.yaml" --weekly --name nl \
	--approve "$(printf 'a\n* * * * * root touch /tmp/pwned')" >/dev/null 2>"$T_TMP/err"
rc=$?
t_check schedule_newline_refused "exit $rc: $(cat "$T_TMP/err")" \
	bash -c "[ $rc -eq 2 ] && grep -q -- '--approve: the value has a control character' '$T_TMP/err' &&
		 [ ! -e '$R/etc/cron.d/tug-nl' ]"
# A password in --db would sit in a world-readable cron line.
pw=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$TUG" schedule install "$T_TMP/mine/e.yaml" --weekly --name pw \
	--db "postgresql://tug:$pw@127.0.0.1/tug" >/dev/null 2>"$T_TMP/err"
rc=$?
t_check schedule_db_password_refused "exit $rc: $(cat "$T_TMP/err")" \
	bash -c "[ $rc -eq 2 ] && grep -q -- '--db: carries a password' '$T_TMP/err' && [ ! -e '$R/etc/cron.d/tug-pw' ]"
# Installed: the line carries the file's hash; changed later, the run is refused.
"$TUG" schedule install "$T_TMP/mine/e.yaml" --cron "0 3 * * 1" --name hashed >/dev/null 2>"$T_TMP/err"
rc=$?
sum=$(sha256sum "$T_TMP/mine/e.yaml" | cut -d' ' -f1)
line=$(grep -v '^#' "$R/etc/cron.d/tug-hashed" 2>/dev/null)
t_check schedule_line_has_hash "exit $rc: $line" grep -q -- "'--expect-sha256' '$sum'" <<<"$line"
echo "  - { name: evil, action: 'touch $T_TMP/pwned', node: a }" >>"$T_TMP/mine/e.yaml"
cmd=${line#0 3 \* \* 1 root }
cmd=${cmd%%>>*}
eval "set -- ${cmd//\\%/%}"
[ $# -gt 3 ] && "$@" >/dev/null 2>"$T_TMP/err"
rc=$?
t_check schedule_changed_file_refused "exit $rc: $(cat "$T_TMP/err")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'changed since it was scheduled' '$T_TMP/err' && [ ! -e '$T_TMP/pwned' ]"

# A suite: its experiment files are what runs, so they are checked and
# hashed with it.
mkdir -m 0700 "$T_TMP/suite"
cp "$local_exp" "$T_TMP/suite/a.yaml"
cp "$local_exp" "$T_TMP/suite/b.yaml"
printf 'title: S\nexperiments:\n  - { file: a.yaml, risk: low }\n  - { file: b.yaml, risk: low }\n' >"$T_TMP/suite/s.yaml"
chmod 0666 "$T_TMP/suite/b.yaml"
"$TUG" schedule install "$T_TMP/suite/s.yaml" --cron "0 4 * * 1" --name suite2 >/dev/null 2>"$T_TMP/err"
rc=$?
t_check schedule_suite_writable_entry_refused "exit $rc: $(cat "$T_TMP/err")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'b.yaml is writable by others' '$T_TMP/err' && [ ! -e '$R/etc/cron.d/tug-suite2' ]"
chmod 0644 "$T_TMP/suite/b.yaml"
"$TUG" schedule install "$T_TMP/suite/s.yaml" --cron "0 4 * * 1" --name suite2 >/dev/null 2>"$T_TMP/err"
rc=$?
line=$(grep -v '^#' "$R/etc/cron.d/tug-suite2" 2>/dev/null)
t_check schedule_suite_installed_with_hash "exit $rc: $(cat "$T_TMP/err"); $line" grep -q -- "'--expect-sha256' '[0-9a-f]\{64\}'" <<<"$line"
cmd=${line#0 4 \* \* 1 root }
cmd=${cmd%%>>*}
eval "set -- ${cmd//\\%/%}"
# Unchanged, it runs (its reports land in $T_TMP).
(cd "$T_TMP" && [ $# -gt 3 ] && "$@" >"$T_TMP/out" 2>&1)
rc=$?
t_check schedule_suite_unchanged_runs "exit $rc: $(tail -3 "$T_TMP/out")" [ $rc -eq 0 ]
echo "  - {action: 'touch $T_TMP/pwned-suite', node: a}" >>"$T_TMP/suite/b.yaml"
(cd "$T_TMP" && [ $# -gt 3 ] && "$@" >/dev/null 2>"$T_TMP/err")
rc=$?
t_check schedule_suite_changed_entry_refused "exit $rc: $(cat "$T_TMP/err")" \
	bash -c "[ $rc -eq 2 ] && grep -q 'changed since it was scheduled' '$T_TMP/err' && [ ! -e '$T_TMP/pwned-suite' ]"
