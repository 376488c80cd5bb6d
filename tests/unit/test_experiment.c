// SPDX-License-Identifier: GPL-2.0
/* Experiment files: the model from YAML and JSON, variables, and for every
 * malformed file an error with file:line:column and what was expected. */
#include <errno.h>
#include <stdlib.h>

#include "harness.h"
#include "experiment.h"
#include "parse.h"

static const char good_yaml[] =
	"title: Kill the gateway\n"
	"description: its supervisor restarts it\n"
	"tags: [gateway, restart]\n"
	"risk: medium\n"
	"variables:\n"
	"  bound: 30s\n"
	"  tug: /usr/sbin/tug\n"
	"  host: 10.200.0.2\n"
	"nodes:\n"
	"  - name: gw\n"
	"    host: ${host}\n"
	"    port: 2222\n"
	"    user: root\n"
	"    key: /k/id_ed25519\n"
	"    known-hosts: /k/known_hosts\n"
	"    tug: ${tug}\n"
	"  - { name: here, host: local }\n"
	"preconditions:\n"
	"  - { name: db up, type: sql, conninfo: 'host=/tmp dbname=x', query: select 1, expect: '1' }\n"
	"steady-state:\n"
	"  title: healthy\n"
	"  probes:\n"
	"    - name: health\n"
	"      type: http\n"
	"      url: http://${host}:8080/health\n"
	"      status: 200\n"
	"      json-field: status\n"
	"      expect: ok\n"
	"      max-latency: 500ms\n"
	"method:\n"
	"  - name: cut\n"
	"    fault: net partition\n"
	"    node: gw\n"
	"    args: { peer: 10.200.0.1, port: 8080 }\n"
	"    for: 5s\n"
	"    heartbeat: 1s\n"
	"  - pause: 1s\n"
	"  - { action: 'echo hi', node: here }\n"
	"expect-during:\n"
	"  - { name: down, type: tcp, host: '${host}', port: 8080, must: fail, within: 2s }\n"
	"recovery:\n"
	"  within: ${bound}\n"
	"  probes:\n"
	"    - { name: back, type: cmd, node: gw, run: 'true', exit-code: 0 }\n"
	"post-checks:\n"
	"  - { name: prom, type: prometheus, url: 'http://127.0.0.1:9090', query: up, expect: '== 1' }\n"
	"rollbacks:\n"
	"  - { action: 'rm -f /tmp/x$$', node: gw }\n";

/* text parsed without an error (each one printed), or NULL. */
static struct experiment *parse_good(const char *name, const char *text, size_t len,
				     const struct exp_var *vars, size_t nvars)
{
	struct experiment *e = NULL;
	struct exp_errors errs;
	int err = experiment_parse(name, text, len, vars, nvars, &e, &errs);

	for (size_t i = 0; i < errs.n; i++)
		printf("  %s\n", errs.msg[i]);
	CHECK_EQ(err, 0);
	return err ? NULL : e;
}

static void test_good_yaml(void)
{
	struct exp_var vars[] = { { "bound", "5s", false } };
	struct experiment *e = parse_good("good.yaml", good_yaml, sizeof(good_yaml) - 1, vars, 1);

	if (!e)
		return;
	CHECK_STR(e->title, "Kill the gateway");
	CHECK_EQ(e->risk, RISK_MEDIUM);
	CHECK_EQ(e->ntags, 2);
	CHECK_EQ(e->nnodes, 2);
	CHECK_STR(e->nodes[0].host, "10.200.0.2");
	CHECK_EQ(e->nodes[0].port, 2222);
	CHECK_STR(e->nodes[0].tug, "/usr/sbin/tug");
	CHECK(e->nodes[1].local);
	CHECK_EQ(e->npre, 1);
	CHECK_EQ(e->nsteady, 1);
	CHECK_STR(e->steady[0].url, "http://10.200.0.2:8080/health");
	CHECK_EQ(e->steady[0].status, 200);
	CHECK_EQ(e->steady[0].max_latency_ns, 500 * NSEC_PER_MSEC);
	CHECK_EQ(e->steady[0].interval_ns, 100 * NSEC_PER_MSEC);
	CHECK_EQ(e->nmethod, 3);
	CHECK_EQ(e->method[0].kind, STEP_FAULT);
	CHECK_EQ(e->method[0].nargs, 6);
	if (e->method[0].nargs == 6) {
		CHECK_STR(e->method[0].args[0], "net");
		CHECK_STR(e->method[0].args[1], "partition");
		CHECK_STR(e->method[0].args[2], "--peer");
		CHECK_STR(e->method[0].args[5], "8080");
	}
	CHECK_EQ(e->method[0].for_ns, 5 * NSEC_PER_SEC);
	CHECK_EQ(e->method[0].heartbeat_ns, NSEC_PER_SEC);
	CHECK_EQ(e->method[1].kind, STEP_PAUSE);
	CHECK_EQ(e->method[2].kind, STEP_ACTION);
	CHECK_EQ(e->method[2].node, 1);
	CHECK_EQ(e->nduring, 1);
	CHECK(e->during[0].must_fail);
	CHECK_EQ(e->during[0].within_ns, 2 * NSEC_PER_SEC);
	CHECK_EQ(e->recovery_within_ns, 5 * NSEC_PER_SEC);	/* --var wins */
	CHECK_EQ(e->recovery[0].type, PROBE_CMD);
	CHECK_EQ(e->recovery[0].node, 0);
	CHECK_EQ(e->post[0].type, PROBE_PROMETHEUS);
	CHECK_STR(e->rollbacks[0].run, "rm -f /tmp/x$");
	experiment_free(e);
}

static const char good_json[] =
	"{\n"
	"\t\"title\": \"t\", \"risk\": \"high\",\n"
	"  \"variables\": {\"d\": \"2s\"},\n"
	"  \"nodes\": [{\"name\": \"n\", \"host\": \"local\"}],\n"
	"  \"method\": [{\"fault\": \"net partition\", \"node\": \"n\",\n"
	"              \"args\": [\"--peer\", \"10.200.0.9\"], \"for\": \"${d}\"}],\n"
	"  \"rollbacks\": [{\"action\": \"echo \\\"done\\\" \\/\", \"node\": \"n\"}]\n"
	"}\n";

static const char alert_yaml[] =
	"title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	"steady-state:\n  - {name: quiet, type: alert, url: 'http://am:9093', alert: GatewayDown, state: inactive}\n"
	"expect-during:\n  - {name: fires, type: alert, url: 'http://p:9090', source: prometheus, alert: GatewayDown,\n"
	"     labels: {job: gateway, code: 500}, state: inactive, must: fail, within: 30s}\n"
	"recovery:\n  within: 1m\n  probes: [{name: p, type: alert, url: 'http://p:9090', alert: A, source: prometheus, state: pending}]\n"
	"post-checks:\n  - {name: cleared, type: alert, url: 'https://am:9093', alert: GatewayDown, source: alertmanager, ca-file: /etc/ca.pem}\n";

static void test_alert_probe(void)
{
	struct experiment *e = parse_good("alert.yaml", alert_yaml, sizeof(alert_yaml) - 1, NULL, 0);

	if (!e)
		return;
	CHECK_EQ(e->steady[0].type, PROBE_ALERT);
	CHECK_STR(e->steady[0].alert, "GatewayDown");
	CHECK_EQ(e->steady[0].source, ALERT_SOURCE_DETECT);
	CHECK_EQ(e->steady[0].alert_state, ALERT_INACTIVE);
	CHECK_EQ(e->steady[0].nlabels, 0);
	CHECK_EQ(e->during[0].source, ALERT_SOURCE_PROMETHEUS);
	CHECK(e->during[0].must_fail);
	CHECK_EQ(e->during[0].nlabels, 2);
	if (e->during[0].nlabels == 2) {
		CHECK_STR(e->during[0].label_keys[0], "job");
		CHECK_STR(e->during[0].label_vals[0], "gateway");
		CHECK_STR(e->during[0].label_keys[1], "code");
		CHECK_STR(e->during[0].label_vals[1], "500");	/* a number is a label's text */
	}
	CHECK_EQ(e->recovery[0].alert_state, ALERT_PENDING);
	CHECK_EQ(e->post[0].source, ALERT_SOURCE_ALERTMANAGER);
	CHECK_EQ(e->post[0].alert_state, ALERT_FIRING);	/* the default */
	CHECK_STR(e->post[0].ca_file, "/etc/ca.pem");
	CHECK_STR(probe_type_name(PROBE_ALERT), "alert");
	experiment_free(e);
}

static void test_good_json(void)
{
	struct experiment *e = parse_good("x.json", good_json, sizeof(good_json) - 1, NULL, 0);

	if (!e)
		return;
	CHECK_EQ(e->risk, RISK_HIGH);
	CHECK_EQ(e->method[0].for_ns, 2 * NSEC_PER_SEC);
	CHECK_EQ(e->method[0].nargs, 4);
	CHECK_STR(e->rollbacks[0].run, "echo \"done\" /");
	experiment_free(e);
}

/* Each malformed file: the line:col the first error must name, and a part
 * of its message. */
static const struct {
	const char *name, *text, *where, *what;
} bad[] = {
	{ "empty", "", ":1:1:", "empty" },
	{ "yaml syntax", "title: x\nrisk: [low\nnodes: []\n", ":3:", "YAML" },
	{ "bad indent", "title: x\n  risk: low\n", ":2:", "YAML" },
	{ "not a map", "- a\n- b\n", ":1:1:", "expected a mapping" },
	{ "unknown top key", "title: t\nrisk: low\nnodes: []\nmethod: []\nfoo: 1\n", ":5:1:",
	  "unknown key 'foo'" },
	{ "bad risk", "title: t\nrisk: extreme\nnodes: []\nmethod: []\n", ":2:7:",
	  "expected low, medium or high" },
	{ "no risk", "title: t\nnodes: []\nmethod: []\n", ":1:1:", "risk" },
	{ "no title", "risk: low\nnodes: []\nmethod: []\n", ":1:1:", "'title'" },
	{ "dup key", "title: t\nrisk: low\ntitle: u\n", ":3:1:", "duplicate key 'title'" },
	{ "node no host", "title: t\nrisk: low\nnodes:\n  - name: a\nmethod: []\n", ":4:5:", "'host'" },
	{ "ssh node no key", "title: t\nrisk: low\nnodes:\n  - {name: a, host: h, user: u}\nmethod: []\n",
	  ":4:5:", "key" },
	{ "bad port", "title: t\nrisk: low\nnodes:\n  - {name: a, host: local, port: 70000}\nmethod: []\n",
	  ":4:34:", "1..65535" },
	{ "unknown node", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod:\n"
	  "  - {fault: net partition, node: b}\n", ":5:34:", "node 'b'" },
	{ "bad duration", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod:\n"
	  "  - fault: net partition\n    node: a\n    for: 10 seconds\n", ":7:10:", "duration" },
	{ "fault one word", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod:\n"
	  "  - {fault: partition, node: a}\n", ":5:13:", "family and a verb" },
	{ "two kinds", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod:\n"
	  "  - {pause: 1s, action: x, node: a}\n", ":5:5:", "exactly one" },
	{ "empty method", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: []\n",
	  ":4:9:", "empty" },
	{ "probe type", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "steady-state:\n  - {name: p, type: ping}\n", ":6:21:", "http, tcp, sql" },
	{ "probe key", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "post-checks:\n  - {name: p, type: tcp, host: h, port: 1, url: x}\n", ":6:44:",
	  "unknown key 'url'" },
	{ "http url", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "post-checks:\n  - {name: p, type: http, url: ftp://x}\n", ":6:", "http://" },
	{ "alert url", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "post-checks:\n  - {name: p, type: alert, url: 'file:///x', alert: A}\n", ":6:", "http://" },
	{ "alert name", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "post-checks:\n  - {name: p, type: alert, url: 'http://x'}\n", ":6:5:", "needs 'alert'" },
	{ "alert labels list", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "post-checks:\n  - {name: p, type: alert, url: 'http://x', alert: A, labels: [job]}\n", ":6:",
	  "mapping of label names to values" },
	{ "alert label value", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "post-checks:\n  - {name: p, type: alert, url: 'http://x', alert: A, labels: {job: {a: b}}}\n",
	  ":6:", "the value of 'job' must be a string" },
	{ "alert label name", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "post-checks:\n  - {name: p, type: alert, url: 'http://x', alert: A, labels: {a-b: c}}\n",
	  ":6:", "'a-b' is not a label name" },
	{ "alert state", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "post-checks:\n  - {name: p, type: alert, url: 'http://x', alert: A, state: resolved}\n",
	  ":6:", "expected firing, inactive or pending" },
	{ "alert pending on alertmanager", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\n"
	  "method: [{pause: 1s}]\npost-checks:\n  - {name: p, type: alert, url: 'http://x', alert: A, "
	  "state: pending, source: alertmanager}\n", ":6:", "'source: prometheus'" },
	{ "alert source", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "post-checks:\n  - {name: p, type: alert, url: 'http://x', alert: A, source: grafana}\n",
	  ":6:", "expected alertmanager or prometheus" },
	{ "sql password", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "post-checks:\n  - {name: p, type: sql, conninfo: 'password=x', query: q}\n", ":6:", "no password" },
	/* An escape sequence for the operator's terminal, in a title or a --var. */
	{ "escape sequence", "title: \"a\\e]0;x\\a\"\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n",
	  ":1:", "control character (0x1b)" },
	/* The URI form carries it too; strstr("password") never saw it. */
	{ "sql password in a URI", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "post-checks:\n  - {name: p, type: sql, conninfo: 'postgresql://tug:s3cr3t@db/x', query: q}\n", ":6:", "no password" },
	{ "sql conninfo libpq cannot parse", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "post-checks:\n  - {name: p, type: sql, conninfo: 'host', query: q}\n", ":6:", "not a libpq conninfo" },
	{ "must outside during", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "post-checks:\n  - {name: p, type: tcp, host: h, port: 1, must: fail}\n", ":6:", "expect-during" },
	{ "must value", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "expect-during:\n  - {name: p, type: tcp, host: h, port: 1, must: maybe}\n", ":6:", "fail or pass" },
	{ "recovery no within", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "recovery:\n  probes: []\n", ":6:3:", "within" },
	{ "unknown var", "title: t ${nope}\nrisk: low\nnodes: []\nmethod: []\n", ":1:8:",
	  "unknown variable 'nope'" },
	{ "unterminated var", "title: t ${nope\nrisk: low\n", ":1:8:", "unterminated" },
	{ "var not scalar", "title: t\nvariables:\n  a: [1]\nrisk: low\n", ":3:6:", "scalar default" },
	{ "alias", "title: &x t\nrisk: *x\n", ":2:7:", "aliases" },
	{ "rollback fault", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod: [{pause: 1s}]\n"
	  "rollbacks:\n  - {fault: net partition, node: a}\n", ":6:", "action" },
	{ "json syntax", "{\n  \"title\": \"t\",\n  \"risk\": low\n}\n", ":3:", "JSON" },
	{ "json trailing comma", "{\"title\": \"t\",\n \"risk\": \"low\",\n}\n", ":3:", "JSON" },
	{ "json semantic", "{\"title\": \"t\",\n \"risk\": \"severe\"}\n", ":2:10:", "low, medium" },
	{ "json eof", "{\"title\": \"t\",\n \"risk\": ", ":2:", "JSON" },
	{ "heartbeat small", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod:\n"
	  "  - {fault: net partition, node: a, heartbeat: 10ms}\n", ":5:", "100ms" },
	{ "args for", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod:\n"
	  "  - {fault: net partition, node: a, args: {for: 1s}}\n", ":5:", "set by the step" },
	{ "oneshot held verb", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod:\n"
	  "  - fault: mem limit\n    node: a\n    oneshot: true\n", ":7:14:",
	  "'mem limit' holds a fault until its deadline" },
	{ "oneshot missing", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod:\n"
	  "  - {fault: proc kill, node: a, args: {unit: x.service}}\n", ":5:13:",
	  "'proc kill' acts once and holds nothing; add 'oneshot: true' to the step" },
	{ "node reboot not high risk", "title: t\nrisk: medium\nnodes: [{name: a, host: local}]\nmethod:\n"
	  "  - {name: boot, fault: node reboot, node: a, oneshot: true}\n", ":5:5:",
	  "step 'boot': 'node reboot' takes a whole node away; the experiment must be 'risk: high'" },
	{ "node isolate not high risk", "title: t\nrisk: low\nnodes: [{name: a, host: local}]\nmethod:\n"
	  "  - {pause: 1s}\n  - {fault: node isolate, node: a, for: 5s}\n", ":6:5:",
	  "'node isolate' takes a whole node away; the experiment must be 'risk: high' (a run then "
	  "needs the council's approvers, --approve NAME --approve NAME2), not 'low'" },
};

static void test_malformed(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct experiment *e = NULL;
		struct exp_errors errs;
		const char *file = strstr(bad[i].name, "json") ? "bad.json" : "bad.yaml";
		int err = experiment_parse(file, bad[i].text, strlen(bad[i].text), NULL, 0, &e, &errs);

		if (err != -EINVAL || errs.n == 0) {
			printf("  %s: parsed (err %d, %zu errors)\n", bad[i].name, err, errs.n);
			t_cur_failed++;
			experiment_free(e);
			continue;
		}
		/* Every error carries file:line:col. */
		for (size_t j = 0; j < errs.n; j++) {
			int line = 0, col = 0;

			if (sscanf(errs.msg[j] + strlen(file), ":%d:%d:", &line, &col) != 2 ||
			    line < 1 || col < 1 || strncmp(errs.msg[j], file, strlen(file))) {
				printf("  %s: no position in '%s'\n", bad[i].name, errs.msg[j]);
				t_cur_failed++;
			}
		}
		if (!strstr(errs.msg[0], bad[i].where) || !strstr(errs.msg[0], bad[i].what)) {
			printf("  %s: expected '%s' and '%s' in '%s'\n", bad[i].name, bad[i].where,
			       bad[i].what, errs.msg[0]);
			t_cur_failed++;
		}
	}
}

static void test_var_override_unknown(void)
{
	struct exp_var vars[] = { { "nope", "1", false } };
	struct experiment *e = NULL;
	struct exp_errors errs;
	int err = experiment_parse("v.yaml", good_yaml, sizeof(good_yaml) - 1, vars, 1, &e, &errs);

	CHECK_EQ(err, -EINVAL);
	CHECK(errs.n >= 1 && strstr(errs.msg[0], "--var nope"));
}

static void test_expect_matches(void)
{
	CHECK(expect_matches("ok", "ok"));
	CHECK(!expect_matches("ok", "okay"));
	CHECK(expect_matches("== 0", "0"));
	CHECK(expect_matches("== 0", "0.0"));
	CHECK(expect_matches(">= 2.5", "3"));
	CHECK(!expect_matches("< 1", "1"));
	CHECK(expect_matches("!= 1", "x"));
	CHECK(!expect_matches("> 1", "abc"));
	CHECK(expect_matches("== up", "up"));
	CHECK(!expect_matches("ok", NULL));
}

static const char step_expect_yaml[] =
	"title: t\nrisk: low\n"
	"nodes: [{ name: n, host: local }]\n"
	"method:\n"
	"  - { fault: mem limit, node: n, args: { cgroup: x, max: 1M }, expect: { oom_kills: '>= 1', sqlstate: '53300' } }\n";

static void test_step_expect(void)
{
	struct experiment *e = NULL;
	struct exp_errors errs;
	static const char bad[] =
		"title: t\nrisk: low\nnodes: [{ name: n, host: local }]\n"
		"method:\n  - { fault: mem limit, node: n, expect: [1] }\n"
		"  - { fault: mem limit, node: n, expect: { a: '' } }\n";

	CHECK_EQ(experiment_parse("s.yaml", step_expect_yaml, sizeof(step_expect_yaml) - 1, NULL, 0,
				  &e, &errs), 0);
	if (e) {
		CHECK_EQ(e->method[0].nexpect, 2);
		CHECK_STR(e->method[0].expect_keys[0], "oom_kills");
		CHECK_STR(e->method[0].expect_vals[0], ">= 1");
		CHECK_STR(e->method[0].expect_vals[1], "53300");
		experiment_free(e);
	}
	e = NULL;
	CHECK_EQ(experiment_parse("b.yaml", bad, sizeof(bad) - 1, NULL, 0, &e, &errs), -EINVAL);
	CHECK(errs.n == 2 && strstr(errs.msg[0], "b.yaml:5:") && strstr(errs.msg[0], "'expect'"));
	CHECK(errs.n == 2 && strstr(errs.msg[1], "b.yaml:6:") && strstr(errs.msg[1], "expect.a"));
}

/* The node family needs risk: high, and with it the file loads. */
static void test_node_family_high_risk(void)
{
	static const char y[] = "title: t\nrisk: high\nnodes: [{name: a, host: local}]\nmethod:\n"
				"  - {fault: node isolate, node: a, args: {keep: 10.200.71.1:22}, for: 5s}\n"
				"  - {fault: node reboot, node: a, oneshot: true}\n";
	struct experiment *e = NULL;
	struct exp_errors errs;

	CHECK_EQ(experiment_parse("h.yaml", y, sizeof(y) - 1, NULL, 0, &e, &errs), 0);
	CHECK(e && e->nmethod == 2 && e->method[1].oneshot);
	experiment_free(e);
}

static const char suite_yaml[] =
	"title: S\n"
	"variables: { window: 60s, lab: /l }\n"
	"experiments:\n"
	"  - { file: one.yaml, risk: low }\n"
	"  - { file: /abs/two.yaml, risk: high, variables: { window: 5s } }\n";

static void test_suite(void)
{
	struct exp_var cli[] = { { "window", "2s", false }, { "tug", "/t", false } };
	struct suite *su = NULL;
	struct exp_errors errs;
	static const char bad[] =
		"title: S\n"
		"experiments:\n"
		"  - { file: one.yaml, risk: extreme }\n"
		"  - { risk: low, color: red }\n"
		"  - 3\n";

	CHECK_EQ(suite_parse("d/suite.yaml", suite_yaml, sizeof(suite_yaml) - 1, cli, 2, &su, &errs), 0);
	if (su) {
		CHECK_STR(su->title, "S");
		CHECK_EQ(su->nentries, 2);
		CHECK_STR(su->entries[0].file, "d/one.yaml");
		CHECK_STR(su->entries[1].file, "/abs/two.yaml");
		CHECK_EQ(su->entries[1].risk, RISK_HIGH);
		CHECK_EQ(su->entries[1].nvars, 1);
		CHECK_EQ(su->ndeclared, 2);
		CHECK_EQ(su->nvars, 3);	/* window (as overridden), lab, and tug for the experiments */
		for (size_t i = 0; i < su->nvars; i++) {
			CHECK(su->vars[i].optional);
			if (!strcmp(su->vars[i].name, "window"))
				CHECK_STR(su->vars[i].value, "2s");
		}
		suite_free(su);
	}
	su = NULL;
	CHECK_EQ(suite_parse("b.yaml", bad, sizeof(bad) - 1, NULL, 0, &su, &errs), -EINVAL);
	CHECK(errs.n >= 4);
	CHECK(errs.n >= 1 && strstr(errs.msg[0], "b.yaml:3:") && strstr(errs.msg[0], "extreme"));
	CHECK(errs.n >= 3 && strstr(errs.msg[1], "b.yaml:4:") && strstr(errs.msg[1], "color"));
	CHECK(errs.n >= 4 && strstr(errs.msg[3], "b.yaml:5:"));
}

/* A suite's variable reaches a file only when the file declares it. */
static void test_optional_vars(void)
{
	struct exp_var v[] = { { "bound", "7s", true }, { "undeclared", "x", true } };
	struct experiment *e = NULL;
	struct exp_errors errs;

	CHECK_EQ(experiment_parse("o.yaml", good_yaml, sizeof(good_yaml) - 1, v, 2, &e, &errs), 0);
	if (e) {
		CHECK_EQ(e->recovery_within_ns, 7 * NSEC_PER_SEC);
		experiment_free(e);
	}
}

/* A --var used in a shell command arrives as one word: its metacharacters
 * stay data. ${raw:name} is the explicit way to splice it in as written;
 * outside action:/run: a value is never quoted. */
static void test_vars_quoted_for_the_shell(void)
{
	static const char text[] =
		"title: t\nrisk: low\nvariables: {msg: x, dir: /tmp}\n"
		"nodes: [{name: a, host: local}]\n"
		"steady-state:\n  - {name: p, type: cmd, node: a, run: 'test -d ${dir}'}\n"
		"method:\n  - {action: 'echo ${msg} >${dir}/out', node: a}\n"
		"  - {action: 'echo ${raw:msg}', node: a}\n"
		"  - {fault: net partition, node: a, args: {peer: '${msg}'}}\n";
	struct exp_var vars[] = { { "msg", "x'; touch /tmp/pwned; echo '$(id)", false } };
	struct experiment *e = NULL;
	struct exp_errors errs;
	int err = experiment_parse("q.yaml", text, sizeof(text) - 1, vars, 1, &e, &errs);

	for (size_t i = 0; i < errs.n; i++)
		printf("  %s\n", errs.msg[i]);
	CHECK_EQ(err, 0);
	if (!e)
		return;
	CHECK_STR(e->method[0].run, "echo 'x'\\''; touch /tmp/pwned; echo '\\''$(id)' >'/tmp'/out");
	CHECK_STR(e->method[1].run, "echo x'; touch /tmp/pwned; echo '$(id)");
	CHECK_STR(e->steady[0].run, "test -d '/tmp'");
	CHECK_STR(e->method[2].args[3], "x'; touch /tmp/pwned; echo '$(id)");
	experiment_free(e);
}

int main(void)
{
	RUN(test_good_yaml);
	RUN(test_good_json);
	RUN(test_alert_probe);
	RUN(test_malformed);
	RUN(test_var_override_unknown);
	RUN(test_expect_matches);
	RUN(test_step_expect);
	RUN(test_node_family_high_risk);
	RUN(test_suite);
	RUN(test_optional_vars);
	RUN(test_vars_quoted_for_the_shell);
	return t_exit();
}
