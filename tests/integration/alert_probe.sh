#!/usr/bin/env bash
# The alert probe against Debian's Prometheus and Alertmanager, in a network
# namespace of the test's own (everything on its loopback): Prometheus
# scrapes a tiny HTTP target every second and fires TargetDown
# (up{job="target"} == 0, for 0s) into Alertmanager. tug run sees the alert
# fire after the target is killed and resolve after it is back, through
# both; a label that does not match never matches; a server answering junk
# fails the probe with a clear detail.
. "$(dirname "$0")/../lib.sh"

PROM=$(command -v prometheus) AM=$(command -v prometheus-alertmanager)
for c in "$PROM" "$AM" /usr/bin/python3 curl nsenter; do
	[ -n "$c" ] && command -v "$c" >/dev/null ||
		{ t_skip alert_probe "prometheus, prometheus-alertmanager, python3, curl or nsenter is missing (scripts/install-deps)"; exit 0; }
done

NS=$(t_netns alert) || { t_fail setup "cannot create a namespace"; exit 1; }
in_ns() { nsenter --net=/run/netns/"$NS" "$@"; }
W=$T_TMP/w
mkdir -p "$W/target" "$W/junk/api/v2" "$W/junk/api/v1" "$W/prom" "$W/am" "$TUG_RUN_DIR"
PROM_URL=http://127.0.0.1:9090 AM_URL=http://127.0.0.1:9093 JUNK_URL=http://127.0.0.1:8081

echo 'tug_test_target 1' >"$W/target/metrics"
cat >"$W/prometheus.yml" <<EOF
global: { scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 500ms }
rule_files: [ "$W/rules.yml" ]
alerting:
  alertmanagers: [ { static_configs: [ { targets: [ "127.0.0.1:9093" ] } ] } ]
scrape_configs:
  - { job_name: target, static_configs: [ { targets: [ "127.0.0.1:8000" ] } ] }
EOF
cat >"$W/rules.yml" <<'EOF'
groups:
  - name: tug-test
    rules:
      - alert: TargetDown
        expr: up{job="target"} == 0
        for: 0s
        labels: { severity: page }
EOF
cat >"$W/alertmanager.yml" <<'EOF'
route: { receiver: nobody, group_wait: 0s, group_interval: 1s }
receivers: [ { name: nobody } ]
EOF
# The target, restartable by the experiment; its pid in target.pid.
cat >"$W/start-target" <<EOF
#!/bin/sh
cd $W/target && setsid /usr/bin/python3 -m http.server --bind 127.0.0.1 8000 </dev/null >/dev/null 2>&1 &
echo \$! >$W/target.pid
EOF
chmod +x "$W/start-target"
t_at_exit 'kill -9 "$(cat '"$W"'/target.pid)"'
in_ns "$W/start-target"
t_bg am_pid in_ns "$AM" --config.file="$W/alertmanager.yml" --storage.path="$W/am" \
	--web.listen-address=127.0.0.1:9093 --cluster.listen-address= --log.level=warn
t_bg prom_pid in_ns "$PROM" --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/prom" \
	--web.listen-address=127.0.0.1:9090 --log.level=warn
# A server whose alerts are junk: not JSON for Alertmanager's path, the
# wrong types for Prometheus's.
printf '{"alerts": [' >"$W/junk/api/v2/alerts"
printf '{"status":"success","data":{"alerts":[{"labels":{"alertname":7},"state":"firing"}]}}' \
	>"$W/junk/api/v1/alerts"
mkdir -p "$W/junk/big/api/v2" "$W/junk/esc/api/v1"
# A well-formed answer whose label would retitle the operator's terminal.
printf '{"status":"success","data":{"alerts":[{"labels":{"alertname":"TargetDown","job":"\\u001b]0;pwned\\u0007"},"state":"firing"}]}}' \
	>"$W/junk/esc/api/v1/alerts"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$W/junk/big/api/v2/alerts"	# 2 MB, over the 1 MiB cap
t_bg junk_pid in_ns sh -c "cd '$W/junk' && exec /usr/bin/python3 -m http.server --bind 127.0.0.1 8081" \
	>/dev/null 2>&1

# Prometheus up with the target scraped as up, Alertmanager answering.
ready=0
for _ in $(seq 150); do
	in_ns curl -sf "$PROM_URL/api/v1/query?query=up%7Bjob%3D%22target%22%7D" 2>/dev/null |
		grep -q '"value":\[[0-9.]*,"1"\]' &&
		in_ns curl -sf "$AM_URL/api/v2/status" >/dev/null 2>&1 &&
		in_ns curl -sf "$JUNK_URL/api/v1/alerts" >/dev/null 2>&1 && { ready=1; break; }
	sleep 0.2
done
[ $ready = 1 ] || { t_fail setup "Prometheus, Alertmanager or the junk server did not come up in 30 s"; exit 1; }

run_tug() {	# NAME FILE: tug run in the namespace; output in $W/out-NAME, report in $T_TMP/report-NAME
	in_ns "$TUG" run --report "$T_TMP/report-$1" "$2" >"$W/out-$1" 2>&1
}
# py REPORT EXPR: evaluate a Python expression over the report (r) and its
# probe events (ev); prints the value, fails when it is falsy.
py() {
	/usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ev = [e for e in r.get("events", []) if "probe" in e]
def first(name, ok):
    return next((e for e in ev if e["probe"] == name and e["ok"] == ok), None)
v = eval(sys.argv[2])
print(v if v is not None else "")
sys.exit(0 if v else 1)
PY
}
pyq() { py "$@" >/dev/null; }	# py as a t_check condition

# 1. the alert fires after the kill and resolves after the restart, seen
# through Alertmanager (source detected) and Prometheus (source given).
cat >"$W/fire.yaml" <<EOF
title: alert fires and resolves
risk: low
nodes: [ { name: here, host: local } ]
steady-state:
  - { name: am quiet, type: alert, url: "$AM_URL", alert: TargetDown, state: inactive }
  - { name: prom quiet, type: alert, url: "$PROM_URL", alert: TargetDown, state: inactive }
  # the query probe shares the URL building: a trailing slash, a query to escape
  - { name: prom up, type: prometheus, url: "$PROM_URL/", query: 'up{job="target"}', expect: "== 1" }
method:
  - { name: kill target, node: here, action: "date +%s%3N >$W/killed_ms; kill \$\$(cat $W/target.pid)" }
  # back 1 s after Alertmanager lists the alert (at most 20 s), whatever tug
  # saw: the window then holds enough samples of 'other job quiet' for its
  # "never matched" to mean something, however soon the alert fired
  - name: restart target
    node: here
    timeout: 30s
    action: "for i in \$\$(seq 100); do curl -sf '$AM_URL/api/v2/alerts' | grep -q TargetDown && break; sleep 0.2; done; sleep 1; date +%s%3N >$W/restarted_ms; $W/start-target"
expect-during:
  - { name: am fires, type: alert, url: "$AM_URL", alert: TargetDown, labels: { job: target },
      state: inactive, must: fail, within: 20s, interval: 200ms }
  - { name: prom fires, type: alert, url: "$PROM_URL", source: prometheus, alert: TargetDown,
      labels: { job: target, severity: page }, state: inactive, must: fail, within: 20s, interval: 200ms }
  - { name: other job quiet, type: alert, url: "$AM_URL", alert: TargetDown, labels: { job: other },
      state: inactive, must: pass, interval: 200ms }
recovery:
  within: 20s
  probes:
    - { name: am resolved, type: alert, url: "$AM_URL", source: alertmanager, alert: TargetDown, state: inactive, interval: 200ms }
    - { name: prom resolved, type: alert, url: "$PROM_URL/", alert: TargetDown, state: inactive, interval: 200ms }
post-checks:
  - { name: alerts cleared, type: alert, url: "$AM_URL", alert: TargetDown, labels: { job: target }, state: inactive }
EOF
run_tug fire "$W/fire.yaml"
rc=$?
rep=$T_TMP/report-fire/report.json
killed=$(cat "$W/killed_ms" 2>/dev/null) restarted=$(cat "$W/restarted_ms" 2>/dev/null)
am_ms=$(py "$rep" "first('am fires', False)['ts_ms'] - $killed" 2>/dev/null)
prom_ms=$(py "$rep" "first('prom fires', False)['ts_ms'] - $killed" 2>/dev/null)
am_back=$(py "$rep" "first('am resolved', True)['ts_ms'] - $restarted" 2>/dev/null)
prom_back=$(py "$rep" "first('prom resolved', True)['ts_ms'] - $restarted" 2>/dev/null)
echo "  kill -> firing seen: Alertmanager ${am_ms:-never} ms, Prometheus ${prom_ms:-never} ms;" \
	"restart -> resolved seen: Alertmanager ${am_back:-never} ms, Prometheus ${prom_back:-never} ms"
t_check alert_fire_run_passes "rc=$rc: $(grep -E 'FAIL|PASS|error' "$W/out-fire" | head -5)" \
	bash -c "[ $rc -eq 0 ] && grep -q PASS '$W/out-fire'"
t_check alert_firing_seen_via_alertmanager "am fires: $(grep 'am fires' "$W/out-fire" | head -3)" \
	bash -c "[ -n '$am_ms' ] && [ '$am_ms' -ge 0 ] && [ '$am_ms' -lt 20000 ]"
t_check alert_firing_seen_via_prometheus "prom fires: $(grep 'prom fires' "$W/out-fire" | head -3)" \
	bash -c "[ -n '$prom_ms' ] && [ '$prom_ms' -ge 0 ] && [ '$prom_ms' -lt 20000 ]"
t_check alert_resolved_seen_via_both "am ${am_back:-never} ms, prom ${prom_back:-never} ms after the restart" \
	bash -c "[ -n '$am_back' ] && [ -n '$prom_back' ] && [ '$am_back' -ge 0 ] && [ '$prom_back' -ge 0 ]"
detail=$(py "$rep" "first('am fires', False)['detail']")
echo "  Alertmanager said: $detail"
t_check alert_detail_names_what_fired "detail: $detail" \
	bash -c "[[ '$detail' =~ ^TargetDown\ firing\ since\ [0-9]{2}:[0-9]{2}:[0-9]{2}\ \(.*job=target ]]"
detail=$(py "$rep" "first('prom fires', False)['detail']")
t_check alert_prometheus_detail "detail: $detail" \
	bash -c "[[ '$detail' =~ ^TargetDown\ firing\ since\ [0-9:]{8}\ \(.*severity=page ]]"
t_check alert_label_mismatch_never_matches "$(py "$rep" "len([e for e in ev if e['probe'] == 'other job quiet'])") samples; failed: $(py "$rep" "[e['detail'] for e in ev if e['probe'] == 'other job quiet' and not e['ok']][:2]")" \
	pyq "$rep" "len([e for e in ev if e['probe'] == 'other job quiet']) > 5 and all(e['ok'] and e['detail'] == 'no TargetDown alert firing with job=other' for e in ev if e['probe'] == 'other job quiet')"
t_check alert_post_check_cleared "$(py "$rep" "[e['detail'] for e in ev if e['phase'] == 'post-checks']")" \
	pyq "$rep" "[e['detail'] for e in ev if e['phase'] == 'post-checks'] == ['no TargetDown alert firing with job=target']"
t_check prometheus_query_probe "$(py "$rep" "first('prom up', True) or first('prom up', False)")" \
	pyq "$rep" "first('prom up', True)['detail'] == 'up{job=\"target\"} = 1'"
t_check alert_time_to_detect_in_report "time_to_detect_ms=$(py "$rep" "r.get('time_to_detect_ms')")" \
	pyq "$rep" "r.get('time_to_detect_ms') is not None and r['time_to_detect_ms'] >= 0"

# 2. state: firing passes while it fires; a label that does not match, not.
in_ns sh -c "kill \$(cat '$W/target.pid')"
cat >"$W/firing.yaml" <<EOF
title: alert firing
risk: low
nodes: [ { name: here, host: local } ]
steady-state:
  - { name: am firing, type: alert, url: "$AM_URL", alert: TargetDown, labels: { job: target }, retries: 100, interval: 200ms }
  - { name: prom firing, type: alert, url: "$PROM_URL", alert: TargetDown, retries: 100, interval: 200ms }
  - { name: wrong label, type: alert, url: "$AM_URL", alert: TargetDown, labels: { job: target, severity: info } }
method: [ { pause: 100ms } ]
EOF
run_tug firing "$W/firing.yaml"
rc=$?
in_ns "$W/start-target"
rep=$T_TMP/report-firing/report.json
t_check alert_state_firing_passes "$(py "$rep" "[(e['probe'], e['detail']) for e in ev if e['ok']]")" \
	pyq "$rep" "first('am firing', True) and first('prom firing', True) and 'firing since' in first('prom firing', True)['detail']"
t_check alert_firing_label_mismatch_fails "rc=$rc: $(py "$rep" "first('wrong label', False)")" \
	pyq "$rep" "$rc == 1 and not first('wrong label', True) and first('wrong label', False)['detail'] == 'no TargetDown alert firing with job=target, severity=info'"

# 3. junk answers: a failed probe that says why, never a crash.
cat >"$W/junk.yaml" <<EOF
title: alert junk
risk: low
nodes: [ { name: here, host: local } ]
steady-state:
  - { name: junk am, type: alert, url: "$JUNK_URL", source: alertmanager, alert: TargetDown, state: inactive }
  - { name: junk prom, type: alert, url: "$JUNK_URL", source: prometheus, alert: TargetDown, state: inactive }
  - { name: junk detect, type: alert, url: "$JUNK_URL/nothing-here", alert: TargetDown, state: inactive }
  - { name: junk big, type: alert, url: "$JUNK_URL/big", source: alertmanager, alert: TargetDown, state: inactive }
  - { name: junk escape, type: alert, url: "$JUNK_URL/esc", source: prometheus, alert: TargetDown, state: inactive }
method: [ { pause: 100ms } ]
EOF
run_tug junk "$W/junk.yaml"
rc=$?
rep=$T_TMP/report-junk/report.json
echo "  junk: $(py "$rep" "'; '.join(e['probe'] + ': ' + e['detail'] for e in ev)" | cat -v)"
t_check alert_junk_fails_clearly "rc=$rc: $(grep -E 'junk' "$W/out-junk" | head -4)" \
	pyq "$rep" "$rc == 1 and first('junk am', False)['detail'] == 'Alertmanager: the response is not JSON' and first('junk prom', False)['detail'] == \"Prometheus: alert 0: 'labels' is not a map of strings\" and first('junk detect', False)['detail'].startswith('status 404 for both') and first('junk big', False)['detail'] == 'the response is larger than 1024 KiB' and not any(e['ok'] for e in ev)"

t_check alert_server_text_inert_on_terminal "$(grep 'junk escape' "$W/out-junk" | od -c | head -3)" \
	bash -c "grep -q 'junk escape: FAIL (TargetDown firing (job=?\]0;pwned?))' '$W/out-junk' && ! grep -q \$'\\x1b' '$W/out-junk'"

# 4. bad alert probes are refused at load, nothing run.
cat >"$W/bad.yaml" <<EOF
title: alert bad
risk: low
nodes: [ { name: here, host: local } ]
steady-state:
  - { name: b1, type: alert, url: "ftp://x", alert: A }
  - { name: b2, type: alert, url: "$AM_URL", labels: { job: [ a ] } }
  - { name: b3, type: alert, url: "$AM_URL", alert: A, state: on }
  - { name: b4, type: alert, url: "$AM_URL", alert: A, state: pending }
method: [ { action: "touch $W/touched", node: here } ]
EOF
run_tug bad "$W/bad.yaml"
rc=$?
t_check alert_bad_input_refused "rc=$rc: $(cat "$W/out-bad")" \
	bash -c "[ $rc -eq 2 ] && [ ! -e '$W/touched' ] &&
		grep -q \"probe 'b1': 'url' must start with http:// or https://\" '$W/out-bad' &&
		grep -q \"probe 'b2' needs 'alert'\" '$W/out-bad' &&
		grep -q \"'labels' of probe 'b2': the value of 'job' must be a string, found a list\" '$W/out-bad' &&
		grep -q \"'state' of probe 'b3': expected firing, inactive or pending, found 'on'\" '$W/out-bad' &&
		grep -q \"probe 'b4': 'state: pending' is Prometheus's; add 'source: prometheus'\" '$W/out-bad'"
