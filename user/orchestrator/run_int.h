/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside tug run: what the orchestrator's parts share. One run of one
 * experiment is one struct run, passed to every part; its lock guards the
 * record every thread writes. For the files of tug run only (run.c lists
 * them): nothing else includes this.
 */
#ifndef TUG_RUN_INT_H
#define TUG_RUN_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <json-c/json.h>

#include "experiment.h"
#include "health.h"
#include "outage.h"
#include "runrec.h"

struct tug_config;
struct sink;

/* One run of one experiment: what its parts and threads share. */
struct run {
	struct experiment *e;
	bool accept_new, json, tty;
	pthread_mutex_t lock;
	struct runrec rec;	/* the run's state, under lock */
	const char *phase;
	uint64_t phase_started_ns, phase_deadline_ns;
	atomic_int stop;	/* interrupt or abort: faults and pollers end */
	struct outage outage;	/* the longest one-shot outage the nodes reported */
	bool has_outage;
};

/* ---- run.c: what every part goes by (the signal, the clock, report names) ---- */

extern atomic_int run_interrupted;
int64_t run_ms(uint64_t ns);
void run_sleep_ns(uint64_t ns);
/* SIGINT, SIGTERM, SIGHUP: run_interrupted, and the run winds down. */
void run_on_signal(int sig);
void run_slug(const char *title, char *out, size_t len);
void run_report_dir(const char *report, const char *title, time_t started, char *dir, size_t len);

/* ---- run_out.c: what a run says and records ---- */

__attribute__((format(printf, 2, 3)))
void run_say(struct run *r, const char *fmt, ...);
void run_emit(struct run *r, const char *event, json_object *o);
void run_progress(struct run *r);
void run_phase_begin(struct run *r, const char *name, uint64_t deadline_ns);
void run_phase_end(struct run *r, const char *name, const char *verdict, int64_t started_ms,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void run_record(struct run *r, const char *phase, const struct exp_probe *p,
		const struct probe_result *res);

/* ---- pollers.c: probes run once, and polled ---- */

struct poller {
	struct run *r;
	const struct exp_probe *p;
	const char *phase;
	pthread_t th;
	/* Shared with the main thread while the poller runs. */
	atomic_int stop;
	_Atomic uint64_t until_mono;	/* pollers_during_close() moves it */
	_Atomic int64_t first_pass_ms;	/* the recovery loop watches it */
	bool stop_on_pass;
	/* results, read after the join */
	int64_t first_fail_ms;
	unsigned attempts, fails;
};

bool run_check_probes(struct run *r, const char *phase, const struct exp_probe *ps, size_t n,
		      char *why, size_t len);
int pollers_start(struct run *r, const char *phase, const struct exp_probe *ps, size_t n,
		  bool stop_on_pass, uint64_t until_mono, struct poller **ret);
void pollers_join(struct poller *pl, size_t n);
void pollers_during_close(struct run *r, struct poller *pl, int64_t start);
int pollers_during_judge(struct run *r, struct poller *pl, int64_t start, int64_t end,
			 char *why, size_t len);
/* pollers_during_judge() as a phase: its end line, and the reason kept. */
int pollers_during_phase(struct run *r, struct poller **pl, int64_t start, int64_t end);

/* ---- faultjob.c: faults held on nodes, actions ---- */

enum { JOB_STARTING, JOB_APPLIED, JOB_DONE };

struct fault_job {
	struct run *r;
	const struct exp_step *s;
	size_t idx;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state;
	bool failed;
	char why[512];
	char fail_why[256];	/* a one-shot verb's own FAIL event's */
	struct outage seen;	/* a one-shot action's, as its events come */
	bool outage_known;
	/* The step's expect keys, as the node last reported them: in the
	 * counters of its "reverted" event, and in any of its events. */
	char **expect_counter, **expect_event;
	/* What the record keeps of it: the thread's own until JOB_DONE. */
	struct rr_fault f;
};

int job_build_cmd(const struct exp_node *n, const struct exp_step *s, char **ret);
/* The thread of one fault_job; the job is JOB_DONE when it ends. */
void *job_main(void *arg);
bool jobs_failed(struct fault_job *jobs, size_t n);
int job_expect(struct fault_job *j, char *why, size_t len);
int run_action(struct run *r, const struct exp_step *s, const char *phase,
	       int64_t *start_ms, int64_t *end_ms, char *why, size_t len);

/* ---- plan.c: --dry-run ---- */

/* refusal: why the policy would refuse a real run (policy_refusal), or NULL. */
void plan_print(const struct experiment *e, char **approvers, size_t napprovers,
		const char *operator, const char *refusal);

/* ---- policy.c: the risk policy ---- */

bool policy_approver_distinct(char **approvers, size_t i);
const char *policy_refusal(const struct tug_config *cfg, enum risk risk, char **approvers,
			   size_t napprovers, char *buf, size_t len);
size_t policy_approvals_held(const char *file, char **approvers, size_t napprovers,
			     long long expire);

/* ---- phases.c: one run, phase by phase ---- */

struct run_opts {
	char **approvers;
	size_t napprovers;
	const struct exp_var *vars;	/* --var, for the record */
	size_t nvars;
	const char *db, *operator;
	bool accept_new, json;
	const char *suite_id, *suite_title;	/* a suite's run: its suite, */
	int64_t suite_position;			/* and where in it */
	const struct sink *sink;	/* the operator's summary table, with --db */
};

int run_execute(const struct run_opts *opt, struct experiment *e, const char *file,
		const char *report, struct runrec *ret_rec);

/* ---- suite.c: experiment files run as one ---- */

int run_suite(const struct run_opts *base, const struct tug_config *cfg, const char *path,
	      const char *report, bool dry_run);

#endif
