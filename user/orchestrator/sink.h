/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The optional summary sink: one INSERT per run into a table the operator
 * already has (their `thermal_memory_archive(memory_hash, original_content,
 * current_stage, temperature_score)` is the example), with a column mapping
 * from tug.conf. Identifiers are quoted by libpq, values are parameters.
 *
 * Sources a column can take, from the run's record:
 *   run_id title file verdict reason risk operator approvers
 *   started_ms finished_ms time_to_detect_ms time_to_recover_ms
 *   summary (one human line)   record (the whole run as JSON)
 */
#ifndef TUG_SINK_H
#define TUG_SINK_H

#include <stddef.h>
#include <json-c/json.h>

#define SINK_MAX_COLUMNS 16

struct sink {
	char schema[64];	/* "" = the search path */
	char table[64];
	size_t n;
	struct {
		char column[64];
		char source[32];
	} map[SINK_MAX_COLUMNS];
};

/* table: "name" or "schema.name"; columns: "col:source, col:source".
 * -EINVAL with what was wrong in why. */
int sink_parse(const char *table, const char *columns, struct sink *ret, char *why, size_t len);
/* The value of one source for a run record; NULL for a missing one (NULL in SQL). */
const char *sink_value(json_object *run, const char *source, char *buf, size_t len);
/* Connect with the operator's conninfo and insert one row. */
int sink_store(const char *conninfo, const struct sink *s, json_object *run,
	       char *why, size_t len);

#endif
