// SPDX-License-Identifier: GPL-2.0
/*
 * The summary sink's mapping, and (when TUG_SINK_PG names a database, as
 * tests/integration/sink.sh does) a real INSERT into an operator's table.
 */
#include <errno.h>
#include <stdlib.h>
#include <json-c/json.h>

#include "harness.h"
#include "sink.h"

static json_object *sample_run(void)
{
	return json_tokener_parse(
		"{\"run_id\":\"r-42\",\"title\":\"Kill the gateway\",\"verdict\":\"pass\","
		"\"risk\":\"low\",\"time_to_detect_ms\":310,\"time_to_recover_ms\":840,"
		"\"approvers\":[\"alice\",\"bob\"],\"reason\":null}");
}

static void parse_mapping(void)
{
	struct sink s;
	char why[256];

	CHECK_EQ(sink_parse("thermal_memory_archive",
			    "memory_hash:run_id, original_content:summary,current_stage:verdict,"
			    "  temperature_score:time_to_recover_ms", &s, why, sizeof(why)), 0);
	CHECK_EQ(s.n, 4);
	CHECK_STR(s.table, "thermal_memory_archive");
	CHECK_STR(s.schema, "");
	CHECK_STR(s.map[1].column, "original_content");
	CHECK_STR(s.map[1].source, "summary");
	CHECK_STR(s.map[3].source, "time_to_recover_ms");
	CHECK_EQ(sink_parse("ops.archive", "a:verdict", &s, why, sizeof(why)), 0);
	CHECK_STR(s.schema, "ops");
	CHECK_STR(s.table, "archive");
}

static void parse_rejects(void)
{
	struct sink s = { .n = 99 };
	char why[256] = "";

	CHECK_EQ(sink_parse("archive; DROP TABLE x", "a:verdict", &s, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "summary-table") != NULL);
	CHECK_EQ(sink_parse("archive", "a:password", &s, why, sizeof(why)), -EINVAL);
	CHECK(strstr(why, "'password' is not a source") != NULL);
	CHECK_EQ(sink_parse("archive", "a verdict", &s, why, sizeof(why)), -EINVAL);
	CHECK_EQ(sink_parse("archive", "\"a\":verdict", &s, why, sizeof(why)), -EINVAL);
	CHECK_EQ(sink_parse("archive", "", &s, why, sizeof(why)), -EINVAL);
	CHECK_EQ(sink_parse("a.b.c", "a:verdict", &s, why, sizeof(why)), -EINVAL);
	CHECK_EQ(s.n, 99);
}

static void values(void)
{
	json_object *run = sample_run();
	char buf[256];

	CHECK_STR(sink_value(run, "run_id", buf, sizeof(buf)), "r-42");
	CHECK_STR(sink_value(run, "time_to_recover_ms", buf, sizeof(buf)), "840");
	CHECK_STR(sink_value(run, "approvers", buf, sizeof(buf)), "alice,bob");
	CHECK_STR(sink_value(run, "summary", buf, sizeof(buf)),
		  "Kill the gateway: pass, detected in 310 ms, recovered in 840 ms");
	CHECK(sink_value(run, "reason", buf, sizeof(buf)) == NULL);
	CHECK(sink_value(run, "file", buf, sizeof(buf)) == NULL);
	CHECK(strstr(sink_value(run, "record", buf, sizeof(buf)), "\"run_id\":\"r-42\"") != NULL);
	json_object_put(run);
}

static void store_real_pg(void)
{
	const char *db = getenv("TUG_SINK_PG");
	json_object *run = sample_run();
	struct sink s;
	char why[512] = "";

	CHECK_EQ(sink_parse("thermal_memory_archive",
			    "memory_hash:run_id, original_content:summary, current_stage:verdict, "
			    "temperature_score:time_to_recover_ms", &s, why, sizeof(why)), 0);
	CHECK_EQ(sink_store(db, &s, run, why, sizeof(why)), 0);
	if (why[0])
		printf("  %s\n", why);
	/* A mapping to a column that does not exist fails with the server's word. */
	CHECK_EQ(sink_parse("thermal_memory_archive", "no_such_column:verdict", &s, why, sizeof(why)), 0);
	CHECK_EQ(sink_store(db, &s, run, why, sizeof(why)), -EIO);
	CHECK(strstr(why, "no_such_column") != NULL);
	json_object_put(run);
}

int main(void)
{
	RUN(parse_mapping);
	RUN(parse_rejects);
	RUN(values);
	if (getenv("TUG_SINK_PG"))
		RUN(store_real_pg);
	return t_exit();
}
