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
