#!/usr/bin/env bash
# The summary sink writes one row into an operator's own table in a real
# PostgreSQL, values as parameters (a hostile title lands as text).
. "$(dirname "$0")/../lib.sh"

t_pg_start || { t_fail sink_setup "cannot start PostgreSQL"; exit 1; }
t_psql "CREATE TABLE thermal_memory_archive (memory_hash text, original_content text,
	current_stage text, temperature_score double precision)"
out=$(TUG_SINK_PG="$T_PG_DB" "$TUG_BUILD/tests/test_sink" 2>&1)
echo "$out" | sed 's/^/  /'
t_check sink_store_ran "test_sink: $out" grep -q '^ok store_real_pg' <<<"$out"
row=$(t_psql "SELECT memory_hash, current_stage, temperature_score, original_content FROM thermal_memory_archive")
t_check sink_row_landed "row: $row" \
	bash -c "[ \"\$(wc -l <<<'$row')\" -eq 1 ] && grep -q '^r-42|pass|840|Kill the gateway: pass' <<<'$row'"

# Through tug run: a tiny local experiment, results and the summary row land.
cat >"$T_TMP/tiny.yaml" <<'YAML'
title: Tiny local check
risk: low
nodes:
  - { name: here, host: local }
steady-state:
  - { name: shell works, type: cmd, node: here, run: "true" }
method:
  - { pause: 100ms }
YAML
cat >"$T_TMP/tug.conf" <<'CONF'
summary-table = thermal_memory_archive
summary-columns = memory_hash:run_id, original_content:summary, current_stage:verdict, temperature_score:time_to_recover_ms
CONF
t_psql "DELETE FROM thermal_memory_archive"
TUG_CONFIG="$T_TMP/tug.conf" "$TUG" run "$T_TMP/tiny.yaml" --db "$T_PG_DB" --report "$T_TMP/rep" \
	>"$T_TMP/run.out" 2>&1
rc=$?
row=$(t_psql "SELECT current_stage, original_content FROM thermal_memory_archive")
t_check sink_via_tug_run "exit $rc, row '$row': $(tail -3 "$T_TMP/run.out")" \
	bash -c "[ $rc -eq 0 ] && grep -q '^pass|Tiny local check: pass' <<<'$row'"
joined=$(t_psql "SELECT count(*) FROM tug_runs r JOIN thermal_memory_archive t ON t.memory_hash = r.id")
t_check sink_run_row_matches_results "rows of tug_runs joined to the summary: $joined" [ "$joined" = 1 ]

# A mapping to a source that does not exist is refused before anything runs.
printf 'summary-table = thermal_memory_archive\nsummary-columns = memory_hash:secret\n' >"$T_TMP/bad.conf"
TUG_CONFIG="$T_TMP/bad.conf" "$TUG" run "$T_TMP/tiny.yaml" --db "$T_PG_DB" --report "$T_TMP/rep2" \
	>"$T_TMP/run2.out" 2>&1
rc=$?
t_check sink_bad_mapping_refused "exit $rc: $(cat "$T_TMP/run2.out")" \
	bash -c "[ $rc -eq 2 ] && grep -q \"'secret' is not a source\" '$T_TMP/run2.out' && [ ! -e '$T_TMP/rep2' ]"
