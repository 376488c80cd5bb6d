/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Experiment files: YAML (libyaml) or JSON (json-c), read into one generic
 * tree that remembers where every value was written, variables substituted,
 * then validated into the model below. Nothing runs before the whole file
 * validated; every error names file:line:column and what was expected.
 *
 *   title: Kill the gateway; its supervisor restarts it
 *   risk: low                       # low | medium | high
 *   variables: { bound: 30s }       # ${bound}, overridden by --var bound=5s
 *   nodes:
 *     - { name: gw, host: 10.200.0.2, user: root, key: ~/.ssh/id_ed25519 }
 *   preconditions: [PROBE...]       # must pass before anything is touched
 *   steady-state: [PROBE...]        # before the method and after recovery
 *   method:                         # in order; a fault holds while later steps run
 *     - { fault: net partition, node: gw, args: { peer: 10.200.0.3 }, for: 10s }
 *     - { fault: mem limit, node: gw, args: {...}, expect: { oom_kills: ">= 1" } }
 *     - { action: "sv restart gw", node: gw }
 *     - { pause: 2s }
 *   expect-during:                  # while the faults hold
 *     - { PROBE..., must: fail, within: 10s }
 *   recovery: { within: ${bound}, probes: [PROBE...] }
 *   post-checks: [PROBE...]
 *   rollbacks: [ACTION...]          # always run, also after a failure or Ctrl-C
 *
 * PROBE: { name, type: http|tcp|sql|cmd|prometheus|alert, interval, timeout,
 *          retries, ... the type's own keys }
 *
 *   alert: { url: http://am:9093, alert: GatewayDown, labels: { job: gw },
 *            state: firing|inactive|pending, source: alertmanager|prometheus,
 *            ca-file: FILE }
 *   passes while the state holds: firing (a matching alert fires), inactive
 *   (none fires), pending (Prometheus only). Without source, an answer of
 *   404 to Alertmanager's /api/v2/alerts means Prometheus.
 *
 * A fault step's `expect` checks what the node reported once the step is
 * over: each key names a counter of its "reverted" event or a field of
 * another of its events (the last one that has it), each value an
 * expectation of expect_matches() ("53300", ">= 1", "true").
 *
 * A suite file runs several experiment files in order, each at a risk level
 * that the approvals given once on the command line must cover:
 *
 *   title: Federation suite
 *   variables: { window: 60s }      # passed to each file that declares it
 *   experiments:
 *     - { file: 1-kill-gateway.yaml, risk: low }       # relative to the suite
 *     - { file: 3-partition.yaml, risk: medium, variables: { window: 30s } }
 *
 * An entry's risk may raise the file's own, never lower it.
 */
#ifndef TUG_EXPERIMENT_H
#define TUG_EXPERIMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

enum risk { RISK_LOW, RISK_MEDIUM, RISK_HIGH };

enum probe_type { PROBE_HTTP, PROBE_TCP, PROBE_SQL, PROBE_CMD, PROBE_PROMETHEUS, PROBE_ALERT };

/* Where an alert probe asks: found out from the first answer, or given. */
enum alert_source { ALERT_SOURCE_DETECT, ALERT_SOURCE_ALERTMANAGER, ALERT_SOURCE_PROMETHEUS };
enum alert_state { ALERT_FIRING, ALERT_INACTIVE, ALERT_PENDING };

struct exp_node {
	char *name;
	char *host;		/* "local": run commands here, without SSH */
	unsigned port;
	char *user;
	char *key;		/* private key file; NULL: the SSH agent */
	char *known_hosts;	/* NULL: ~/.ssh/known_hosts */
	char *tug;		/* tug on the node; default "tug" */
	bool local;
	int line, col;
};

struct exp_probe {
	char *name;
	enum probe_type type;
	int line, col;
	uint64_t interval_ns;	/* between attempts while polling */
	uint64_t timeout_ns;	/* one attempt */
	unsigned retries;	/* extra attempts before a one-shot probe fails */
	/* http, prometheus, alert */
	char *url;
	long status;		/* http: expected status; 0 = any 2xx */
	char *body_contains;
	char *json_field;	/* http: dotted path into a JSON body */
	char *ca_file;
	uint64_t max_latency_ns;
	/* tcp */
	char *host;
	unsigned port;
	/* sql */
	char *conninfo;
	/* sql, prometheus */
	char *query;
	/* sql, prometheus, http json_field: "ok", "== 0", "> 0.5" */
	char *expect;
	/* alert */
	char *alert;
	char **label_keys, **label_vals;
	size_t nlabels;
	enum alert_source source;
	enum alert_state alert_state;
	/* cmd */
	int node;
	char *run;
	int exit_code;
	char *output_contains;
	/* expect-during */
	bool must_fail;
	uint64_t within_ns;	/* 0: any time while the faults hold */
};

enum step_kind { STEP_FAULT, STEP_ACTION, STEP_PAUSE };

struct exp_step {
	enum step_kind kind;
	char *name;
	int node;
	int line, col;
	char **args;		/* fault: family, verb, then its options */
	size_t nargs;
	char *run;		/* action: a shell command on the node */
	uint64_t for_ns;	/* fault: how long it holds */
	uint64_t heartbeat_ns;	/* fault: the node reverts when we go silent this long */
	uint64_t pause_ns;
	uint64_t timeout_ns;	/* action */
	bool oneshot;		/* fault: a one-shot verb (proc kill): no --for, no heartbeat */
	char **expect_keys;	/* fault: what the node must have reported */
	char **expect_vals;
	size_t nexpect;
};

struct experiment {
	char *file;
	char *title;
	char *description;
	char **tags;
	size_t ntags;
	enum risk risk;
	json_object *variables;	/* name -> value as used */
	struct exp_node *nodes;
	size_t nnodes;
	struct exp_probe *pre, *steady, *during, *recovery, *post;
	size_t npre, nsteady, nduring, nrecovery, npost;
	uint64_t recovery_within_ns;
	struct exp_step *method, *rollbacks;
	size_t nmethod, nrollbacks;
};

#define EXP_MAX_ERRORS 20

struct exp_errors {
	size_t n;
	char msg[EXP_MAX_ERRORS][320];	/* "file:line:col: what; expected ..." */
};

struct exp_var {
	const char *name;
	const char *value;
	bool optional;		/* a suite's: ignored by a file that does not declare it */
};

struct suite_entry {
	char *file;		/* resolved against the suite file's directory */
	enum risk risk;
	struct exp_var *vars;	/* the entry's own variables (optional ones) */
	size_t nvars;
	int line, col;
};

struct suite {
	char *file;
	char *title;
	char *description;
	struct exp_var *vars;	/* the suite's variables, values as overridden */
	size_t ndeclared;	/* the first ndeclared of vars are declared by the suite */
	size_t nvars;
	struct suite_entry *entries;
	size_t nentries;
};

/* Parse and validate. The format follows the name (.json) or the first
 * character ('{'). Returns 0, -EINVAL with *errs filled, or -errno. */
int experiment_load(const char *path, const struct exp_var *vars, size_t nvars,
		    struct experiment **ret, struct exp_errors *errs);
int experiment_parse(const char *name, const char *text, size_t len,
		     const struct exp_var *vars, size_t nvars,
		     struct experiment **ret, struct exp_errors *errs);
void experiment_free(struct experiment *e);

/* A suite file (a mapping with `experiments:`)? 1 yes, 0 no, -errno. */
int suite_detect(const char *path);
/* Parse and validate a suite; vars (--var) override its variables and may
 * name variables it does not declare (they go to the experiments). Same
 * returns as experiment_load. */
int suite_parse(const char *name, const char *text, size_t len, const struct exp_var *vars,
		size_t nvars, struct suite **ret, struct exp_errors *errs);
int suite_load(const char *path, const struct exp_var *vars, size_t nvars,
	       struct suite **ret, struct exp_errors *errs);
void suite_free(struct suite *s);

const char *risk_name(enum risk r);
const char *probe_type_name(enum probe_type t);
const char *alert_state_name(enum alert_state s);

/* "ok" (equal strings), "== 0", "!= 1", ">= 2.5", "< 10": does got match? */
bool expect_matches(const char *expect, const char *got);

#endif
