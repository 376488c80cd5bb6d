// SPDX-License-Identifier: GPL-2.0
/*
 * tug run EXPERIMENT: the orchestrator.
 *
 *   load + validate -> policy (approvals) -> [--dry-run: the plan, stop]
 *   -> connect to every node (host keys) -> preconditions -> steady state
 *   -> method (faults held by tug on the nodes, heartbeats over the channel;
 *      expect-during probes polled meanwhile) -> recovery (probes polled until
 *      they pass, timed from the end of the fault window the nodes report)
 *   -> steady state again -> post-checks -> rollbacks (always, once the
 *      method began) -> report directory and PostgreSQL.
 *
 * Nothing on a node is touched before the policy, the file and every host
 * key were checked. Faults run one thread each, probes one thread each while
 * polled; all results go into one record (runrec.h) under r->lock, made
 * JSON once at the end.
 *
 * The parts, one file each (run_int.h is what they share):
 *   run.c       the command: options, the checks on them, a file or a suite
 *   policy.c    the risk policy: approvals against the risk
 *   plan.c      --dry-run: the plan
 *   phases.c    the phases, in order; one run and its record
 *   faultjob.c  faults held on nodes and actions: the remote fault protocol
 *   pollers.c   probes run once, and polled while the faults hold
 *   run_out.c   what a run says (text or JSON lines) and records
 *   suite.c     suites: experiment files run as one, their summary
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "clock.h"
#include "experiment.h"
#include "log.h"
#include "run.h"
#include "run_int.h"
#include "conninfo.h"
#include "schedule.h"
#include "sink.h"

#define MAX_APPROVERS 16
#define MAX_VARS 64

/* Set by the signal handler, read by every thread: lock-free atomics are
 * async-signal-safe. */
atomic_int run_interrupted;

int64_t run_ms(uint64_t ns)
{
	return ns / NSEC_PER_MSEC;
}

void run_sleep_ns(uint64_t ns)
{
	struct timespec ts = { ns / NSEC_PER_SEC, ns % NSEC_PER_SEC };

	while (nanosleep(&ts, &ts) && errno == EINTR && !run_interrupted)
		;
}

void run_on_signal(int sig)
{
	run_interrupted = sig;
}

/* ---- the command ---- */

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tug run EXPERIMENT [options]\n"
		"\n"
		"Run an experiment file (YAML or JSON) across its nodes: checks, faults held by\n"
		"tug on each node under a heartbeat, probes, recovery timing, rollbacks, results.\n"
		"\n"
		"  --approve NAME          an approver (medium risk needs one, high two distinct;\n"
		"                          approvals-medium/-high in /etc/tug/tug.conf)\n"
		"  --var NAME=VALUE        override a variable of the file (repeatable)\n"
		"  --db CONNINFO           also store the results in PostgreSQL (libpq conninfo;\n"
		"                          passwords from ~/.pgpass or a service file, never here)\n"
		"  --report DIR            the report directory (default tug-reports/STAMP-TITLE): a\n"
		"                          new path, or one only you can write\n"
		"  --operator NAME         who runs it (default: $SUDO_USER or the login name)\n"
		"  --dry-run               print the plan; touch nothing (exit 0: it would run,\n"
		"                          1: the policy would refuse it, 2: the file is wrong)\n"
		"  --accept-new-host-keys  add unknown SSH host keys to known_hosts (a changed key\n"
		"                          is always refused)\n"
		"  --expect-sha256 HEX     refuse unless the file has this SHA-256 and only root\n"
		"                          can change it (tug schedule install passes it)\n"
		"  --approvals-expire T    the --approve given hold until T (seconds since the\n"
		"                          epoch); a run after it is refused (tug schedule install\n"
		"                          passes it)\n"
		"\n"
		"Exit status: 0 every verdict passed, 1 one failed or the run was interrupted,\n"
		"2 the file or the command was wrong, or the policy refused the run.\n"
		"\n"
		"EXAMPLES\n"
		"  tug run examples/kill-service.yaml --dry-run\n"
		"  tug run partition.yaml --approve alice --var window=5s --report reports/partition\n"
		"  tug run pg-crash.yaml --approve alice --approve bob --db 'service=tug'\n");
}

static const char *default_operator(void)
{
	const char *u = getenv("SUDO_USER");
	struct passwd *pw;

	if (u && *u)
		return u;
	pw = getpwuid(getuid());
	return pw ? pw->pw_name : "unknown";
}

void run_slug(const char *title, char *out, size_t len)
{
	size_t o = 0;

	for (const char *s = title; *s && o + 1 < len && o < 40; s++) {
		if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'))
			out[o++] = *s;
		else if (*s >= 'A' && *s <= 'Z')
			out[o++] = *s - 'A' + 'a';
		else if (o && out[o - 1] != '-')
			out[o++] = '-';
	}
	while (o && out[o - 1] == '-')
		o--;
	out[o] = '\0';
}

/* Where a run's or a suite's report goes: --report as given, else
 * tug-reports/STAMP-SLUG of its start (local time) and title. */
void run_report_dir(const char *report, const char *title, time_t started, char *dir, size_t len)
{
	char stamp[32], name[64];

	if (report) {
		snprintf(dir, len, "%s", report);
		return;
	}
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", localtime(&started));
	run_slug(title, name, sizeof(name));
	snprintf(dir, len, "tug-reports/%s-%s", stamp, name);
}

/* Options whose values could hurt: a scheduled file changed by someone, a
 * password for /proc/PID/cmdline, a report directory others can plant
 * links in. Logged here, exit 2. */
static int run_opts_check(const char *db, const char *report, const char *file, const char *sha,
			  const struct exp_var *vars, size_t nvars)
{
	char why[512];

	if (sha && schedule_verify(file, sha, vars, nvars, why, sizeof(why))) {
		log_error("refused: %s; nothing was run", why);
		return -EPERM;
	}
	if (db && conninfo_check(db, NULL, 0, why, sizeof(why))) {
		log_error("--db: %s; nothing was run", why);
		return -EINVAL;
	}
	if (report && report_dir_check(report, false, why, sizeof(why))) {
		log_error("--report: %s; nothing was run", why);
		return -EINVAL;
	}
	return 0;
}

int cmd_run(int argc, char **argv, bool json)
{
	static const struct option opts[] = {
		{ "approve", required_argument, NULL, 'a' },
		{ "var", required_argument, NULL, 'V' },
		{ "db", required_argument, NULL, 'd' },
		{ "report", required_argument, NULL, 'r' },
		{ "operator", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "accept-new-host-keys", no_argument, NULL, 'A' },
		{ "expect-sha256", required_argument, NULL, 'S' },
		{ "approvals-expire", required_argument, NULL, 'E' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct exp_var vars[MAX_VARS];
	char *approvers[MAX_APPROVERS], *vbuf[MAX_VARS] = { 0 };
	size_t napprovers = 0, nvars = 0;
	const char *db = NULL, *report = NULL, *operator = default_operator(), *file, *sha = NULL;
	long long expire = 0;
	bool dry_run = false, accept_new = false;
	struct run r = { .json = json };
	struct run_opts o;
	struct exp_errors errs;
	struct tug_config cfg;
	struct sink sink;
	const char *refusal;
	char pwhy[256];
	int opt, err, ret = 2;

	optind = 0;	/* a full reset: main()'s "+" ordering must not carry over */
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'a':
			if (!*optarg || napprovers == MAX_APPROVERS) {
				log_error("--approve: expected a name (at most %d)", MAX_APPROVERS);
				return 2;
			}
			approvers[napprovers++] = optarg;
			break;
		case 'V': {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg || nvars == MAX_VARS) {
				log_error("--var: '%s' is not NAME=VALUE", optarg);
				goto out;
			}
			vbuf[nvars] = strndup(optarg, eq - optarg);
			if (!vbuf[nvars])
				goto out;
			vars[nvars] = (struct exp_var){ vbuf[nvars], eq + 1, false };
			nvars++;
			break;
		}
		case 'd':
			db = optarg;
			break;
		case 'r':
			report = optarg;
			break;
		case 'o':
			operator = optarg;
			break;
		case 'n':
			dry_run = true;
			break;
		case 'A':
			accept_new = true;
			break;
		case 'S':
			sha = optarg;
			break;
		case 'E': {
			char *end;

			errno = 0;
			expire = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end || expire <= 0) {
				log_error("--approvals-expire: '%s' is not seconds since the epoch", optarg);
				goto out;
			}
			break;
		}
		case 'j':
			r.json = true;
			break;
		case 'h':
			usage(stdout);
			ret = 0;
			goto out;
		default:
			usage(stderr);
			goto out;
		}
	}
	if (optind + 1 != argc) {
		log_error("expected one experiment file; 'tug run --help' shows the options");
		goto out;
	}
	file = argv[optind];
	if (run_opts_check(db, dry_run ? NULL : report, file, sha, vars, nvars))
		goto out;
	napprovers = policy_approvals_held(file, approvers, napprovers, expire);
	if (config_load(&cfg))
		goto out;
	o = (struct run_opts){ .approvers = approvers, .napprovers = napprovers, .vars = vars,
			       .nvars = nvars, .db = db, .operator = operator,
			       .accept_new = accept_new, .json = r.json };
	/* A bad mapping is found now, before anything is touched. */
	if (cfg.summary_table[0] && db) {
		char why[256];

		if (sink_parse(cfg.summary_table, cfg.summary_columns, &sink, why, sizeof(why))) {
			log_error("tug.conf: %s; nothing was run", why);
			goto out;
		}
		o.sink = &sink;
	}
	err = suite_detect(file);
	if (err < 0) {
		log_errno(err, "cannot read %s", file);
		goto out;
	}
	if (err == 1) {
		ret = run_suite(&o, &cfg, file, report, dry_run);
		goto out;
	}
	err = experiment_load(file, vars, nvars, &r.e, &errs);
	if (err == -EINVAL) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("%s", errs.msg[i]);
		log_error("%s: not run; nothing was touched", file);
		goto out;
	}
	if (err) {
		log_errno(err, "cannot read %s", file);
		goto out;
	}

	/* Policy: distinct approvers against the risk, before anything else. */
	refusal = policy_refusal(&cfg, r.e->risk, approvers, napprovers, pwhy, sizeof(pwhy));
	if (dry_run) {
		plan_print(r.e, approvers, napprovers, operator, refusal);
		ret = refusal ? EXIT_FAILURE : EXIT_SUCCESS;
		goto out;
	}
	if (refusal) {
		log_error("refused: '%s' %s; nothing was touched", r.e->title, refusal);
		goto out;
	}

	if (report && report_dir_check(report, true, pwhy, sizeof(pwhy))) {
		log_error("--report: %s; nothing was run", pwhy);
		goto out;
	}
	ret = run_execute(&o, r.e, file, report, NULL);
out:
	experiment_free(r.e);
	for (size_t i = 0; i < nvars; i++)
		free(vbuf[i]);
	return ret;
}
