// SPDX-License-Identifier: GPL-2.0
/*
 * Results in PostgreSQL through libpq. The conninfo is the operator's
 * (service file, ~/.pgpass, PGPASSFILE: never a password of ours). The
 * schema is created, and migrated by version, on first use; every value
 * goes in as a parameter of a prepared statement, in one transaction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "journal.h"
#include "json.h"
#include "run.h"

#define SCHEMA_VERSION 2

/* Migration N brings the schema from N-1 to N. */
static const char *const migrations[] = {
	NULL,
	"CREATE TABLE tug_experiments ("
	"  id bigserial PRIMARY KEY,"
	"  title text NOT NULL UNIQUE,"
	"  file text NOT NULL,"
	"  risk text NOT NULL,"
	"  first_run timestamptz NOT NULL DEFAULT now(),"
	"  last_run timestamptz NOT NULL DEFAULT now(),"
	"  runs integer NOT NULL DEFAULT 0);"
	"CREATE TABLE tug_runs ("
	"  id text PRIMARY KEY,"
	"  experiment_id bigint NOT NULL REFERENCES tug_experiments(id),"
	"  started_at timestamptz NOT NULL,"
	"  finished_at timestamptz NOT NULL,"
	"  verdict text NOT NULL,"
	"  reason text NOT NULL DEFAULT '',"
	"  risk text NOT NULL,"
	"  operator text NOT NULL,"
	"  approvers text[] NOT NULL,"
	"  parameters jsonb NOT NULL,"
	"  time_to_detect_ms bigint,"
	"  time_to_recover_ms bigint,"
	"  record jsonb NOT NULL);"
	"CREATE TABLE tug_phases ("
	"  run_id text NOT NULL REFERENCES tug_runs(id) ON DELETE CASCADE,"
	"  seq integer NOT NULL,"
	"  name text NOT NULL,"
	"  verdict text NOT NULL,"
	"  started_at timestamptz NOT NULL,"
	"  finished_at timestamptz NOT NULL,"
	"  detail text NOT NULL,"
	"  PRIMARY KEY (run_id, seq));"
	"CREATE INDEX tug_runs_experiment ON tug_runs(experiment_id, started_at);",
	/* 2: the summary of a run, and the suite it ran in */
	"ALTER TABLE tug_runs ADD COLUMN suite_id text, ADD COLUMN suite_title text,"
	"  ADD COLUMN suite_position integer, ADD COLUMN faults_held integer,"
	"  ADD COLUMN oom_kills integer, ADD COLUMN rows_verified bigint;"
	"CREATE INDEX tug_runs_suite ON tug_runs(suite_id) WHERE suite_id IS NOT NULL;",
};

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;	/* "relation ... already exists, skipping" is no news */
}

static int fail(PGconn *c, PGresult *r, char *why, size_t len, const char *what)
{
	const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);

	snprintf(why, len, "%s: %.*s", what, (int)strcspn(m, "\n"), m);
	PQclear(r);
	return -EIO;
}

static bool ok(PGresult *r)
{
	return PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
}

static int migrate(PGconn *c, char *why, size_t len)
{
	PGresult *r;
	int have;

	/* One migrator at a time, across concurrent tug runs. */
	r = PQexec(c, "SELECT pg_advisory_xact_lock(7547)");
	if (!ok(r))
		return fail(c, r, why, len, "lock");
	PQclear(r);
	r = PQexec(c, "CREATE TABLE IF NOT EXISTS tug_schema (version integer NOT NULL)");
	if (!ok(r))
		return fail(c, r, why, len, "schema");
	PQclear(r);
	r = PQexec(c, "SELECT coalesce(max(version), 0) FROM tug_schema");
	if (!ok(r))
		return fail(c, r, why, len, "schema version");
	have = atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	if (have > SCHEMA_VERSION) {
		snprintf(why, len, "the database has tug schema %d, newer than this tug's %d",
			 have, SCHEMA_VERSION);
		return -EPROTO;
	}
	for (int v = have + 1; v <= SCHEMA_VERSION; v++) {
		char ver[16];
		const char *p[1] = { ver };

		r = PQexec(c, migrations[v]);
		if (!ok(r))
			return fail(c, r, why, len, "migration");
		PQclear(r);
		snprintf(ver, sizeof(ver), "%d", v);
		r = PQexecParams(c, "INSERT INTO tug_schema (version) VALUES ($1::integer)", 1, NULL, p,
				 NULL, NULL, 0);
		if (!ok(r))
			return fail(c, r, why, len, "migration");
		PQclear(r);
	}
	return 0;
}

static const char *ms_text(json_object *o, const char *key, char *buf, size_t len)
{
	json_object *v = json_get(o, key);

	if (!v)
		return NULL;
	snprintf(buf, len, "%lld", (long long)json_object_get_int64(v));
	return buf;
}

int results_store(const char *conninfo, json_object *run, char *why, size_t len)
{
	const char *keys[] = { "dbname", "application_name", "connect_timeout", NULL };
	const char *vals[] = { conninfo, "tug", "10", NULL };
	char started[32], finished[32], ttd[32], ttr[32], expid[32];
	json_object *phases = json_get(run, "phases"), *appr = json_get(run, "approvers");
	char *approvers = NULL;
	size_t alen = 3;
	PGresult *r = NULL;
	PGconn *c;
	int err = 0;

	c = PQconnectdbParams(keys, vals, 1);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		err = fail(c, NULL, why, len, "connect");
		goto out;
	}
	PQsetNoticeProcessor(c, quiet, NULL);
	r = PQexec(c, "BEGIN");
	if (!ok(r)) {
		err = fail(c, r, why, len, "begin");
		goto out;
	}
	PQclear(r);
	err = migrate(c, why, len);
	if (err)
		goto rollback;

	/* approvers as a text[] literal, built from quoted elements */
	for (size_t i = 0; i < json_object_array_length(appr); i++)
		alen += 2 * strlen(json_object_get_string(json_object_array_get_idx(appr, i))) + 4;
	approvers = malloc(alen);
	if (!approvers) {
		err = -ENOMEM;
		goto rollback;
	}
	{
		char *p = approvers;

		*p++ = '{';
		for (size_t i = 0; i < json_object_array_length(appr); i++) {
			const char *s = json_object_get_string(json_object_array_get_idx(appr, i));

			if (i)
				*p++ = ',';
			*p++ = '"';
			for (; *s; s++) {
				if (*s == '"' || *s == '\\')
					*p++ = '\\';
				*p++ = *s;
			}
			*p++ = '"';
		}
		*p++ = '}';
		*p = '\0';
	}
	ms_text(run, "started_ms", started, sizeof(started));
	ms_text(run, "finished_ms", finished, sizeof(finished));
	{
		const char *p[3] = { json_get_str(run, "title", ""), json_get_str(run, "file", ""),
				     json_get_str(run, "risk", "") };

		r = PQexecParams(c,
				 "INSERT INTO tug_experiments (title, file, risk, runs) VALUES ($1, $2, $3, 1) "
				 "ON CONFLICT (title) DO UPDATE SET file = $2, risk = $3, "
				 "last_run = now(), runs = tug_experiments.runs + 1 RETURNING id",
				 3, NULL, p, NULL, NULL, 0);
		if (!ok(r)) {
			err = fail(c, r, why, len, "experiment row");
			goto rollback;
		}
		snprintf(expid, sizeof(expid), "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	{
		const char *record = json_line(run);
		const char *params = json_line(json_get(run, "parameters"));
		const char *p[13] = {
			json_get_str(run, "run_id", ""), expid, started, finished,
			json_get_str(run, "verdict", ""), json_get_str(run, "reason", ""),
			json_get_str(run, "risk", ""), json_get_str(run, "operator", ""), approvers,
			NULL, ms_text(run, "time_to_detect_ms", ttd, sizeof(ttd)),
			ms_text(run, "time_to_recover_ms", ttr, sizeof(ttr)), NULL,
		};
		char *params_copy = strdup(params);

		p[9] = params_copy;
		p[12] = record;
		r = PQexecParams(c,
				 "INSERT INTO tug_runs (id, experiment_id, started_at, finished_at, verdict, "
				 "reason, risk, operator, approvers, parameters, time_to_detect_ms, "
				 "time_to_recover_ms, record) VALUES ($1, $2::bigint, "
				 "to_timestamp($3::bigint / 1000.0), to_timestamp($4::bigint / 1000.0), "
				 "$5, $6, $7, $8, $9::text[], $10::jsonb, $11::bigint, $12::bigint, $13::jsonb)",
				 13, NULL, p, NULL, NULL, 0);
		free(params_copy);
		if (!ok(r)) {
			err = fail(c, r, why, len, "run row");
			goto rollback;
		}
		PQclear(r);
	}
	{
		json_object *su = json_get(run, "suite");
		char fh[32], ok_[32], rv[32], pos[32];
		const char *p[7] = {
			json_get_str(run, "run_id", ""),
			su ? json_get_str(su, "id", "") : NULL, su ? json_get_str(su, "title", "") : NULL,
			su ? ms_text(su, "position", pos, sizeof(pos)) : NULL,
			ms_text(run, "faults_held", fh, sizeof(fh)), ms_text(run, "oom_kills", ok_, sizeof(ok_)),
			ms_text(run, "rows_verified", rv, sizeof(rv)),
		};

		r = PQexecParams(c,
				 "UPDATE tug_runs SET suite_id = $2, suite_title = $3, suite_position = $4::integer, "
				 "faults_held = $5::integer, oom_kills = $6::integer, rows_verified = $7::bigint "
				 "WHERE id = $1",
				 7, NULL, p, NULL, NULL, 0);
		if (!ok(r)) {
			err = fail(c, r, why, len, "run summary");
			goto rollback;
		}
		PQclear(r);
	}
	for (size_t i = 0; phases && i < json_object_array_length(phases); i++) {
		json_object *ph = json_object_array_get_idx(phases, i);
		char seq[24], s[32], f[32];
		const char *p[7] = { json_get_str(run, "run_id", ""), seq, json_get_str(ph, "name", ""),
				     json_get_str(ph, "verdict", ""), s, f, json_get_str(ph, "detail", "") };

		snprintf(seq, sizeof(seq), "%zu", i);
		ms_text(ph, "started_ms", s, sizeof(s));
		ms_text(ph, "finished_ms", f, sizeof(f));
		r = PQexecParams(c,
				 "INSERT INTO tug_phases (run_id, seq, name, verdict, started_at, finished_at, "
				 "detail) VALUES ($1, $2::integer, $3, $4, to_timestamp($5::bigint / 1000.0), "
				 "to_timestamp($6::bigint / 1000.0), $7)",
				 7, NULL, p, NULL, NULL, 0);
		if (!ok(r)) {
			err = fail(c, r, why, len, "phase row");
			goto rollback;
		}
		PQclear(r);
	}
	r = PQexec(c, "COMMIT");
	if (!ok(r)) {
		err = fail(c, r, why, len, "commit");
		goto out;
	}
	PQclear(r);
	goto out;
rollback:
	PQclear(PQexec(c, "ROLLBACK"));
out:
	free(approvers);
	PQfinish(c);
	return err;
}
