// SPDX-License-Identifier: GPL-2.0
/* Probe response bodies and node event lines are chosen by the remote
 * side: every shape of JSON gives a value or an error, never a crash. */
#include <errno.h>

#include "harness.h"
#include "node_line.h"
#include "probe_parse.h"

#define BODY(s) s, sizeof(s) - 1

static void prometheus_values(void)
{
	char v[64] = "";

	CHECK_EQ(probe_prom_value(BODY("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
				       "\"result\":[{\"metric\":{},\"value\":[1.5,\"1\"]}]}}"), v, sizeof(v)), 0);
	CHECK_STR(v, "1");
	CHECK_EQ(probe_prom_value(BODY("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
				       "\"result\":[1.5,\"0.25\"]}}"), v, sizeof(v)), 0);
	CHECK_STR(v, "0.25");
	CHECK_EQ(probe_prom_value(BODY("{\"status\":\"success\",\"data\":{\"result\":[]}}"), v, sizeof(v)),
		 -ENODATA);
	CHECK_EQ(probe_prom_value(BODY("{\"status\":\"error\",\"error\":\"bad\"}"), v, sizeof(v)), -EBADMSG);
	CHECK_EQ(probe_prom_value(BODY("<html>"), v, sizeof(v)), -EBADMSG);
	CHECK_EQ(probe_prom_value(BODY("{\"status\":\"success\"} trailing"), v, sizeof(v)), -EBADMSG);
}

/* Shapes a hostile server can send where arrays were assumed: json-c
 * asserts (aborts tug run) on an array access to an object. */
static void prometheus_hostile_shapes(void)
{
	static const char *const bodies[] = {
		"{\"status\":\"success\",\"data\":{\"result\":{\"a\":1}}}",
		"{\"status\":\"success\",\"data\":{\"result\":[{\"value\":{\"1\":2}}]}}",
		"{\"status\":\"success\",\"data\":{\"result\":[{\"value\":\"x\"}]}}",
		"{\"status\":\"success\",\"data\":{\"result\":[{\"value\":[1]}]}}",
		"{\"status\":\"success\",\"data\":{\"result\":[{\"value\":[1,{\"o\":1}]}]}}",
		"{\"status\":\"success\",\"data\":[1,2]}",
		"{\"status\":\"success\",\"data\":\"x\"}",
		"{\"status\":1}",
		"[\"success\"]",
		"null",
	};
	char v[64];

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		int err = probe_prom_value(bodies[i], strlen(bodies[i]), v, sizeof(v));

		if (err != -ENODATA && err != -EBADMSG)
			printf("  body %zu: %d\n", i, err);
		CHECK(err == -ENODATA || err == -EBADMSG);
	}
}

static void json_fields(void)
{
	char v[64] = "";

	CHECK_EQ(probe_json_field(BODY("{\"checks\":{\"db\":{\"ok\":true}},\"items\":[{\"n\":\"a\"}]}"),
				  "checks.db.ok", v, sizeof(v)), 0);
	CHECK_STR(v, "true");
	CHECK_EQ(probe_json_field(BODY("{\"items\":[{\"n\":\"a\"}]}"), "items.0.n", v, sizeof(v)), 0);
	CHECK_STR(v, "a");
	CHECK_EQ(probe_json_field(BODY("{\"items\":[1]}"), "items.-1", v, sizeof(v)), -ENOENT);
	CHECK_EQ(probe_json_field(BODY("{\"items\":\"s\"}"), "items.0.n", v, sizeof(v)), -ENOENT);
	CHECK_EQ(probe_json_field(BODY("[1,2]"), "a.b", v, sizeof(v)), -ENOENT);
	CHECK_EQ(probe_json_field(BODY("{\"a\":"), "a", v, sizeof(v)), -EBADMSG);
}

static void node_lines(void)
{
	json_object *o;

	o = node_line_parse(BODY("{\"event\":\"applied\",\"id\":\"x\"}"));
	CHECK(o != NULL);
	json_object_put(o);
	o = node_line_parse(BODY("{\"event\":\"applied\"}  \r"));
	CHECK(o != NULL);
	json_object_put(o);
	CHECK(node_line_parse(BODY("[1,2]")) == NULL);
	CHECK(node_line_parse(BODY("\"event\"")) == NULL);
	CHECK(node_line_parse(BODY("{\"event\":\"a\"} {\"event\":\"b\"}")) == NULL);
	CHECK(node_line_parse(BODY("tug: error: plain text")) == NULL);
	CHECK(node_line_parse(BODY("{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}")) == NULL);
}

static void alerts(void)
{
	static char *const keys[] = { "job" }, *const vals[] = { "gw" };
	struct alert_want w = { .name = "GatewayDown", .state = "firing", .keys = keys, .vals = vals,
				.nlabels = 1 };
	struct alert_seen seen;
	char why[160] = "";
	const char *am =
		"[{\"labels\":{\"alertname\":\"GatewayDown\",\"job\":\"db\"},\"status\":{\"state\":\"active\"}},"
		" {\"labels\":{\"alertname\":\"GatewayDown\",\"job\":\"gw\",\"instance\":\"i:1\"},"
		"  \"startsAt\":\"2026-12-01T12:01:02.5Z\",\"status\":{\"state\":\"active\"}},"
		" {\"labels\":{\"alertname\":\"GatewayDown\",\"job\":\"gw\"},\"status\":{\"state\":\"suppressed\"}}]";
	const char *prom =
		"{\"status\":\"success\",\"data\":{\"alerts\":[{\"labels\":{\"alertname\":\"GatewayDown\","
		"\"job\":\"gw\"},\"state\":\"pending\",\"activeAt\":\"2026-12-01T12:01:02Z\"}]}}";

	CHECK_EQ(probe_alert_find(am, strlen(am), false, &w, &seen, why, sizeof(why)), 0);
	CHECK_EQ(seen.count, 1);	/* not the other job's, not the suppressed one */
	CHECK_STR(seen.since, "12:01:02");
	CHECK(strstr(seen.labels, "instance=i:1") && strstr(seen.labels, "job=gw") &&
	      !strstr(seen.labels, "alertname"));
	/* The server filtered by name? Matched here all the same. */
	w.name = "DatabaseDown";
	CHECK_EQ(probe_alert_find(am, strlen(am), false, &w, &seen, why, sizeof(why)), -ENOENT);
	w.name = "GatewayDown";
	CHECK_EQ(probe_alert_find(prom, strlen(prom), true, &w, &seen, why, sizeof(why)), -ENOENT);
	w.state = "pending";
	CHECK_EQ(probe_alert_find(prom, strlen(prom), true, &w, &seen, why, sizeof(why)), 0);
	CHECK_STR(seen.since, "12:01:02");
	/* An Alertmanager body is not a Prometheus one, nor the other way. */
	CHECK_EQ(probe_alert_find(am, strlen(am), true, &w, &seen, why, sizeof(why)), -EBADMSG);
	CHECK_EQ(probe_alert_find(prom, strlen(prom), false, &w, &seen, why, sizeof(why)), -EBADMSG);
	CHECK_EQ(probe_alert_find(BODY("[{\"labels\":{\"alertname\":7},\"status\":{\"state\":\"active\"}}]"),
				  false, &w, &seen, why, sizeof(why)), -EBADMSG);
	CHECK_STR(why, "alert 0: 'labels' is not a map of strings");
	CHECK_EQ(probe_alert_find(BODY("[{\"labels\":{\"alertname\":\"GatewayDown\"}}]"), false, &w, &seen,
				  why, sizeof(why)), -EBADMSG);
	CHECK_STR(why, "alert 0 has no 'status.state'");
	CHECK_EQ(probe_alert_find(BODY("[{\"labels\":"), false, &w, &seen, why, sizeof(why)), -EBADMSG);
	CHECK_STR(why, "the response is not JSON");
	CHECK_EQ(probe_alert_find(BODY("[]"), false, &w, &seen, why, sizeof(why)), -ENOENT);
	/* A stamp that is not RFC 3339 is left out, not printed. */
	w.state = "firing";
	CHECK_EQ(probe_alert_find(BODY("[{\"labels\":{\"alertname\":\"GatewayDown\",\"job\":\"gw\"},"
				       "\"startsAt\":\"\\u001b[31m\",\"status\":{\"state\":\"active\"}}]"),
				  false, &w, &seen, why, sizeof(why)), 0);
	CHECK_STR(seen.since, "");
}

int main(void)
{
	RUN(prometheus_values);
	RUN(prometheus_hostile_shapes);
	RUN(json_fields);
	RUN(node_lines);
	RUN(alerts);
	return t_exit();
}
