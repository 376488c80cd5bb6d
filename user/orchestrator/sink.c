// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "journal.h"
#include "sink.h"

static const char *const sources[] = {
	"run_id", "title", "file", "verdict", "reason", "risk", "operator", "approvers",
	"started_ms", "finished_ms", "time_to_detect_ms", "time_to_recover_ms",
	"summary", "record", NULL,
};

/* Plain SQL identifiers only: anything else is a typo, not a wish. */
static bool identifier(const char *s, size_t n)
{
	if (!n || n >= 64 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

int sink_parse(const char *table, const char *columns, struct sink *ret, char *why, size_t len)
{
	struct sink s = { 0 };
	const char *dot = strchr(table, '.'), *p = columns;

	if (dot) {
		if (!identifier(table, dot - table) || !identifier(dot + 1, strlen(dot + 1)))
			goto bad_table;
		memcpy(s.schema, table, dot - table);
		strcpy(s.table, dot + 1);
	} else {
		if (!identifier(table, strlen(table)))
			goto bad_table;
		strcpy(s.table, table);
	}
	while (*p) {
		size_t cl, sl;
		const char *colon;
		bool known = false;

		p += strspn(p, " \t,");
		if (!*p)
			break;
		colon = strchr(p, ':');
		cl = colon ? (size_t)(colon - p) : 0;
		if (!colon || !identifier(p, cl)) {
			snprintf(why, len, "summary-columns: expected COLUMN:SOURCE at '%.40s'", p);
			return -EINVAL;
		}
		sl = strcspn(colon + 1, " \t,");
		for (int i = 0; sources[i]; i++)
			known |= strlen(sources[i]) == sl && !strncmp(sources[i], colon + 1, sl);
		if (!known) {
			snprintf(why, len, "summary-columns: '%.*s' is not a source (see sink.h: run_id, "
				 "title, verdict, summary, time_to_recover_ms, ...)", (int)sl, colon + 1);
			return -EINVAL;
		}
		if (s.n == SINK_MAX_COLUMNS) {
			snprintf(why, len, "summary-columns: at most %d columns", SINK_MAX_COLUMNS);
			return -EINVAL;
		}
		memcpy(s.map[s.n].column, p, cl);
		memcpy(s.map[s.n].source, colon + 1, sl);
		s.n++;
		p = colon + 1 + sl;
	}
	if (!s.n) {
		snprintf(why, len, "summary-columns: no COLUMN:SOURCE pairs");
		return -EINVAL;
	}
	*ret = s;
	return 0;
bad_table:
	snprintf(why, len, "summary-table: '%s' is not a table name (name or schema.name)", table);
	return -EINVAL;
}

const char *sink_value(json_object *run, const char *source, char *buf, size_t len)
{
	json_object *v;

	if (!strcmp(source, "record"))
		return json_object_to_json_string_ext(run, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!strcmp(source, "summary")) {
		int64_t ttd = json_get_int(run, "time_to_detect_ms", -1);
		int64_t ttr = json_get_int(run, "time_to_recover_ms", -1);
		int n = snprintf(buf, len, "%s: %s", json_get_str(run, "title", "?"),
				 json_get_str(run, "verdict", "?"));

		if (ttd >= 0 && n > 0 && (size_t)n < len)
			n += snprintf(buf + n, len - n, ", detected in %lld ms", (long long)ttd);
		if (ttr >= 0 && n > 0 && (size_t)n < len)
			snprintf(buf + n, len - n, ", recovered in %lld ms", (long long)ttr);
		return buf;
	}
	v = json_get(run, source);
	if (!v || json_object_is_type(v, json_type_null))
		return NULL;
	if (json_object_is_type(v, json_type_array)) {
		size_t off = 0;

		buf[0] = '\0';
		for (size_t i = 0; i < json_object_array_length(v) && off < len; i++)
			off += snprintf(buf + off, len - off, "%s%s", i ? "," : "",
					json_object_get_string(json_object_array_get_idx(v, i)));
		return buf;
	}
	snprintf(buf, len, "%s", json_object_get_string(v));
	return buf;
}

int sink_store(const char *conninfo, const struct sink *s, json_object *run,
	       char *why, size_t len)
{
	const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
	const char *vals[] = { conninfo, "tug", "10", NULL };
	char bufs[SINK_MAX_COLUMNS][512], sql[4096];
	const char *params[SINK_MAX_COLUMNS];
	PGresult *r = NULL;
	PGconn *c;
	size_t off;
	int err = 0;

	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		snprintf(why, len, "connect: %s", c ? PQerrorMessage(c) : "out of memory");
		err = -ECONNREFUSED;
		goto out;
	}
	off = snprintf(sql, sizeof(sql), "INSERT INTO ");
	{
		char *t = PQescapeIdentifier(c, s->table, strlen(s->table));
		char *sc = s->schema[0] ? PQescapeIdentifier(c, s->schema, strlen(s->schema)) : NULL;

		off += snprintf(sql + off, sizeof(sql) - off, "%s%s%s (", sc ? sc : "", sc ? "." : "",
				t ? t : "");
		PQfreemem(t);
		PQfreemem(sc);
	}
	for (size_t i = 0; i < s->n; i++) {
		char *col = PQescapeIdentifier(c, s->map[i].column, strlen(s->map[i].column));

		off += snprintf(sql + off, sizeof(sql) - off, "%s%s", i ? ", " : "", col ? col : "");
		PQfreemem(col);
		params[i] = sink_value(run, s->map[i].source, bufs[i], sizeof(bufs[i]));
	}
	off += snprintf(sql + off, sizeof(sql) - off, ") VALUES (");
	for (size_t i = 0; i < s->n; i++)
		off += snprintf(sql + off, sizeof(sql) - off, "%s$%zu", i ? ", " : "", i + 1);
	snprintf(sql + off, sizeof(sql) - off, ")");
	/* Untyped parameters: the server casts text to each column's type. */
	r = PQexecParams(c, sql, s->n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(why, len, "%s", PQresultErrorMessage(r));
		why[strcspn(why, "\n")] = '\0';
		err = -EIO;
	}
out:
	PQclear(r);
	PQfinish(c);
	return err;
}
