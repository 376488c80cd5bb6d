// SPDX-License-Identifier: GPL-2.0
/*
 * A run as a table of phases, in order, and run_execute(), which takes one
 * loaded experiment through them and writes its record (report directory,
 * PostgreSQL). Apart from the command so that a single run and each
 * experiment of a suite go the same way.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "experiment.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "node.h"
#include "outage.h"
#include "run.h"
#include "run_int.h"
#include "runrec.h"
#include "sink.h"

/* What the phases of one run share besides the record. */
struct run_state {
	const struct run_opts *opt;
	struct fault_job *jobs;
	size_t njobs;
	struct poller *during;		/* expect-during's pollers, until judged */
	int64_t start_ms, end_ms;	/* the fault window */
	bool began;			/* the method started: rollbacks are owed */
	bool failed;
	char why[1024];
};

enum phase_result {
	PHASE_PASS,
	PHASE_FAIL,	/* the experiment failed: what follows is skipped, rollbacks run */
	PHASE_REFUSED,	/* nothing was touched: no verdict, exit 2 */
};

/* Steps of the method, expect-during probes polled meanwhile. Returns 0
 * when every step went as asked; the window in *start and *end (ms). */
static int run_method(struct run *r, struct fault_job *jobs, size_t *njobs, int64_t *start,
		      int64_t *end, struct poller **ret_during, char *why, size_t len)
{
	const struct experiment *e = r->e;
	struct poller *pl = NULL;
	int64_t fault_start = 0;
	int err = 0;

	*start = *end = 0;
	if (e->nduring && pollers_start(r, "during", e->during, e->nduring, false, UINT64_MAX, &pl)) {
		snprintf(why, len, "cannot start the probe threads");
		return -EAGAIN;
	}
	for (size_t i = 0; i < e->nmethod && !err && !r->stop && !run_interrupted; i++) {
		const struct exp_step *s = &e->method[i];
		int64_t a, b;

		if (s->kind == STEP_PAUSE) {
			uint64_t until = mono_ns() + s->pause_ns;

			while (mono_ns() < until && !run_interrupted) {
				run_progress(r);
				run_sleep_ns(until - mono_ns() < 100 * NSEC_PER_MSEC ? until - mono_ns() :
					     100 * NSEC_PER_MSEC);
			}
			continue;
		}
		if (s->kind == STEP_ACTION) {
			err = run_action(r, s, "method", &a, &b, why, len);
			if (!*start || a < *start)
				*start = a;
			if (b > *end)
				*end = b;
			continue;
		}
		/* A fault: start it and wait until the node says it is applied. */
		{
			struct fault_job *j = &jobs[(*njobs)++];

			*j = (struct fault_job){ .r = r, .s = s, .idx = i, .f.rows_verified = -1 };
			if (s->nexpect) {
				j->expect_counter = calloc(s->nexpect, sizeof(char *));
				j->expect_event = calloc(s->nexpect, sizeof(char *));
				if (!j->expect_counter || !j->expect_event) {
					free(j->expect_counter);
					free(j->expect_event);
					(*njobs)--;
					snprintf(why, len, "out of memory");
					err = -ENOMEM;
					break;
				}
			}
			pthread_mutex_init(&j->mu, NULL);
			pthread_cond_init(&j->cv, NULL);
			run_say(r, "   method: %s %s on %s", s->args[0], s->args[1], e->nodes[s->node].name);
			if (pthread_create(&j->th, NULL, job_main, j)) {
				(*njobs)--;
				snprintf(why, len, "cannot start a thread");
				err = -EAGAIN;
				break;
			}
			/* A one-shot step ends before the next begins: one unit at a time. */
			pthread_mutex_lock(&j->mu);
			while (j->state == JOB_STARTING || (s->oneshot && j->state != JOB_DONE)) {
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_nsec += 100 * NSEC_PER_MSEC;
				if (ts.tv_nsec >= (long)NSEC_PER_SEC) {
					ts.tv_sec++;
					ts.tv_nsec -= NSEC_PER_SEC;
				}
				pthread_cond_timedwait(&j->cv, &j->mu, &ts);
				if (run_interrupted)
					r->stop = 1;
				pthread_mutex_unlock(&j->mu);
				run_progress(r);
				pthread_mutex_lock(&j->mu);
			}
			/* The job's fields are its thread's until DONE (job_set's lock
			 * orders them before it). */
			if (j->state == JOB_DONE && (j->failed || !j->f.applied_ms)) {
				snprintf(why, len, "%s", *j->why ? j->why : "the fault did not apply");
				err = -EIO;
			}
			pthread_mutex_unlock(&j->mu);
		}
	}
	if (err || run_interrupted)
		r->stop = 1;	/* faults still held revert now */
	/* Hold until every fault reverted. */
	for (size_t i = 0; i < *njobs; i++) {
		struct fault_job *j = &jobs[i];
		int add;

		for (;;) {
			int64_t deadline_ms;
			bool done;

			pthread_mutex_lock(&j->mu);
			done = j->state == JOB_DONE;
			deadline_ms = j->state >= JOB_APPLIED ? j->f.deadline_ms : 0;
			pthread_mutex_unlock(&j->mu);
			if (done)
				break;
			if (run_interrupted || jobs_failed(jobs, *njobs))
				r->stop = 1;	/* a failed fault (a silent node) ends the others now */
			if (deadline_ms)
				r->phase_deadline_ns = mono_ns() +
					(deadline_ms > run_ms(now_realtime_ns()) ?
					 (deadline_ms - run_ms(now_realtime_ns())) * NSEC_PER_MSEC : 0);
			run_progress(r);
			run_sleep_ns(100 * NSEC_PER_MSEC);
		}
		pthread_join(j->th, NULL);
		/* A one-shot's window is the outage the node saw, not the instant
		 * it acted: signalled until it served again. */
		if (j->s->oneshot && !j->failed && j->outage_known) {
			j->f.outage = j->seen;
			j->f.has_outage = true;
			j->f.applied_ms = j->f.outage.start_ms;
			j->f.reverted_ms = j->f.outage.back_ms;
			if (!r->has_outage || outage_ms(&j->f.outage) > outage_ms(&r->outage))
				r->outage = j->f.outage;
			r->has_outage = true;
		}
		if (j->f.applied_ms && (!fault_start || j->f.applied_ms < fault_start))
			fault_start = j->f.applied_ms;
		if (j->f.reverted_ms > *end)
			*end = j->f.reverted_ms;
		if (!err && j->failed) {
			snprintf(why, len, "%s", j->why);
			err = -EIO;
		}
		if (!err && !j->failed && !r->stop && j->s->nexpect)
			err = job_expect(j, why, len);
		snprintf(j->f.fault, sizeof(j->f.fault), "%s %s", j->s->args[0], j->s->args[1]);
		j->f.step = j->s->name ? j->s->name : j->f.fault;
		j->f.node = e->nodes[j->s->node].name;
		j->f.error = j->failed ? j->why : NULL;
		pthread_mutex_lock(&r->lock);
		add = runrec_fault_add(&r->rec, &j->f);
		pthread_mutex_unlock(&r->lock);
		if (add)
			log_errno(add, "the record of '%s' on %s is missing from the report", j->f.fault, j->f.node);
	}
	/* The window opens with the first fault, not with the actions that
	 * prepared it (rows committed before a crash): detection is timed
	 * from it. Without a fault, the actions are the method. */
	if (fault_start)
		*start = fault_start;
	*ret_during = pl;
	return err;
}

/* Every node reachable, its host key known and unchanged. */
static enum phase_result phase_connect(struct run *r, struct run_state *s)
{
	int64_t t = run_ms(now_realtime_ns());

	run_phase_begin(r, "connect", 0);
	for (size_t i = 0; i < r->e->nnodes; i++) {
		struct node_conn *c;

		if (node_open(&r->e->nodes[i], s->opt->accept_new, &c, s->why, sizeof(s->why))) {
			run_phase_end(r, "connect", "fail", t, "%s", s->why);
			log_error("refused: %s; nothing was touched", s->why);
			r->rec.verdict = "refused";
			runrec_set_reason(&r->rec, &r->rec.reason, s->why);
			return PHASE_REFUSED;
		}
		node_close(c);
	}
	run_phase_end(r, "connect", "pass", t, "%zu node%s", r->e->nnodes, r->e->nnodes == 1 ? "" : "s");
	return PHASE_PASS;
}

static enum phase_result probe_phase(struct run *r, struct run_state *s, const char *name,
				     const struct exp_probe *ps, size_t n)
{
	int64_t t = run_ms(now_realtime_ns());

	run_phase_begin(r, name, 0);
	if (!run_check_probes(r, name, ps, n, s->why, sizeof(s->why))) {
		run_phase_end(r, name, "fail", t, "%s", s->why);
		return PHASE_FAIL;
	}
	run_phase_end(r, name, "pass", t, "%zu probes", n);
	return PHASE_PASS;
}

/* Preconditions and the steady state before: failing aborts untouched. */
static enum phase_result phase_preconditions(struct run *r, struct run_state *s)
{
	return probe_phase(r, s, "preconditions", r->e->pre, r->e->npre);
}

static enum phase_result phase_steady(struct run *r, struct run_state *s)
{
	return probe_phase(r, s, "steady-state", r->e->steady, r->e->nsteady);
}

static enum phase_result phase_method(struct run *r, struct run_state *s)
{
	int64_t t = run_ms(now_realtime_ns());
	char why2[512];
	int err;

	s->jobs = calloc(r->e->nmethod, sizeof(*s->jobs));
	if (!s->jobs) {
		log_error("out of memory; nothing was touched");
		return PHASE_REFUSED;
	}
	s->began = true;
	run_phase_begin(r, "method", 0);
	err = run_method(r, s->jobs, &s->njobs, &s->start_ms, &s->end_ms, &s->during, s->why,
			 sizeof(s->why));
	r->rec.has_window = true;
	r->rec.window_start_ms = s->start_ms;
	r->rec.window_end_ms = s->end_ms;
	if (err || run_interrupted) {
		r->stop = 1;
		pollers_during_judge(r, s->during, s->start_ms, s->end_ms, why2, sizeof(why2));
		s->during = NULL;
		run_phase_end(r, "method", "fail", t, "%s", run_interrupted ? "interrupted" : s->why);
		return PHASE_FAIL;
	}
	run_phase_end(r, "method", "pass", t, "fault window %.3fs", (s->end_ms - s->start_ms) / 1e3);
	pollers_during_close(r, s->during, s->start_ms);
	return PHASE_PASS;
}

/* Every recovery probe passes within the bound, timed from the end. */
static enum phase_result phase_recovery(struct run *r, struct run_state *s)
{
	const struct experiment *e = r->e;
	int64_t t = run_ms(now_realtime_ns()), ttr = 0;
	int64_t until_ms = s->end_ms + run_ms(e->recovery_within_ns);
	uint64_t left = until_ms > t ? (until_ms - t) * NSEC_PER_MSEC : 0;
	char why2[512];
	struct poller *pl;
	bool all = true;

	if (!e->nrecovery)
		return PHASE_PASS;
	run_phase_begin(r, "recovery", mono_ns() + left);
	if (pollers_start(r, "recovery", e->recovery, e->nrecovery, true, mono_ns() + left, &pl)) {
		r->stop = 1;
		pollers_during_judge(r, s->during, s->start_ms, s->end_ms, why2, sizeof(why2));
		s->during = NULL;
		run_phase_end(r, "recovery", "fail", t, "cannot start the probe threads");
		return PHASE_FAIL;
	}
	/* expect-during may still watch while recovery is timed */
	if (s->during && pollers_during_phase(r, &s->during, s->start_ms, s->end_ms))
		s->failed = true;
	for (;;) {
		bool running = false;

		for (size_t i = 0; i < e->nrecovery; i++)
			running |= pl[i].first_pass_ms < 0 && mono_ns() < pl[i].until_mono;
		if (!running || run_interrupted)
			break;
		run_progress(r);
		run_sleep_ns(100 * NSEC_PER_MSEC);
	}
	if (run_interrupted)
		r->stop = 1;
	pollers_join(pl, e->nrecovery);
	for (size_t i = 0; i < e->nrecovery; i++) {
		if (pl[i].first_pass_ms < 0) {
			if (all)
				snprintf(s->why, sizeof(s->why), "'%s' did not pass within %.1fs of the fault's end",
					 e->recovery[i].name, e->recovery_within_ns / 1e9);
			all = false;
		} else if (pl[i].first_pass_ms - s->end_ms > ttr) {
			ttr = pl[i].first_pass_ms - s->end_ms;
		}
	}
	free(pl);
	if (all && r->has_outage && outage_ms(&r->outage) > run_ms(e->recovery_within_ns)) {
		snprintf(s->why, sizeof(s->why), "back %.3fs after it acted (the node's events), beyond "
			 "the %.1fs bound", outage_ms(&r->outage) / 1e3, e->recovery_within_ns / 1e9);
		all = false;
	}
	/* After a one-shot action the node timed the recovery itself
	 * (signalled -> serving again); the probes confirm it. */
	if (all) {
		r->rec.has_ttr = true;
		r->rec.ttr_ms = r->has_outage ? outage_ms(&r->outage) : ttr;
	}
	if (!all || run_interrupted) {
		run_phase_end(r, "recovery", "fail", t, "%s", run_interrupted ? "interrupted" : s->why);
		return PHASE_FAIL;
	}
	if (r->has_outage)
		run_phase_end(r, "recovery", "pass", t, "back %.3fs after it acted (the node's events), "
			      "every probe passing %.3fs after that (bound %.1fs)", outage_ms(&r->outage) / 1e3,
			      ttr / 1e3, e->recovery_within_ns / 1e9);
	else
		run_phase_end(r, "recovery", "pass", t, "recovered %.3fs after the fault's end (bound %.1fs)",
			      ttr / 1e3, e->recovery_within_ns / 1e9);
	return PHASE_PASS;
}

/* expect-during, when recovery did not judge it already. */
static enum phase_result phase_during(struct run *r, struct run_state *s)
{
	if (s->during && pollers_during_phase(r, &s->during, s->start_ms, s->end_ms))
		return PHASE_FAIL;
	return PHASE_PASS;
}

/* The steady state again, then the post-checks. */
static enum phase_result phase_steady_after(struct run *r, struct run_state *s)
{
	if (!r->e->nsteady)
		return PHASE_PASS;
	return probe_phase(r, s, "steady-state-after", r->e->steady, r->e->nsteady);
}

static enum phase_result phase_post(struct run *r, struct run_state *s)
{
	return probe_phase(r, s, "post-checks", r->e->post, r->e->npost);
}

/* Always once the method began, whatever happened. */
static enum phase_result phase_rollbacks(struct run *r, struct run_state *s)
{
	int64_t t = run_ms(now_realtime_ns()), a, b;
	char rwhy[512] = "";
	bool ok = true;

	if (!s->began || !r->e->nrollbacks)
		return PHASE_PASS;
	run_phase_begin(r, "rollbacks", 0);
	for (size_t i = 0; i < r->e->nrollbacks; i++)
		if (run_action(r, &r->e->rollbacks[i], "rollbacks", &a, &b, rwhy, sizeof(rwhy)))
			ok = false;
	run_phase_end(r, "rollbacks", ok ? "pass" : "fail", t, "%s", ok ? "" : rwhy);
	if (!ok && !s->failed)
		snprintf(s->why, sizeof(s->why), "rollback: %s", rwhy);
	return ok ? PHASE_PASS : PHASE_FAIL;
}

/* A run is these phases, in order. After a failure only those marked
 * "always" run; a refusal ends the run before any verdict. */
static const struct phase {
	enum phase_result (*fn)(struct run *r, struct run_state *s);
	bool always;
} run_phases[] = {
	{ phase_connect, false },
	{ phase_preconditions, false },
	{ phase_steady, false },
	{ phase_method, false },
	{ phase_recovery, false },
	{ phase_during, false },
	{ phase_steady_after, false },
	{ phase_post, false },
	{ phase_rollbacks, true },
};

/* Run one loaded experiment (policy already checked): its record to the
 * report directory and PostgreSQL; the record moved to *ret_rec when asked
 * (runrec_free() it). */
int run_execute(const struct run_opts *opt, struct experiment *e, const char *file,
		const char *report, struct runrec *ret_rec)
{
	struct run r = { .json = opt->json, .e = e };
	struct run_state st = { .opt = opt };
	struct sigaction sa = { .sa_handler = run_on_signal };
	char why[1024] = "", dir[512];
	struct runrec *rr = &r.rec;
	json_object *rec = NULL;
	int err, ret = 2;
	uint64_t rnd[2];
	time_t now;

	/* The record. */
	runrec_init(rr);
	getrandom(rnd, sizeof(rnd), 0);
	snprintf(rr->run_id, sizeof(rr->run_id), "%016" PRIx64 "%016" PRIx64, rnd[0], rnd[1]);
	pthread_mutex_init(&r.lock, NULL);
	r.accept_new = opt->accept_new;
	r.tty = isatty(STDOUT_FILENO);
	rr->started_ms = run_ms(now_realtime_ns());
	rr->title = e->title;
	rr->file = file;
	rr->risk = risk_name(e->risk);
	rr->operator = opt->operator;
	rr->approvers = calloc(opt->napprovers ? opt->napprovers : 1, sizeof(*rr->approvers));
	for (size_t i = 0; rr->approvers && i < opt->napprovers; i++)
		if (policy_approver_distinct(opt->approvers, i))
			rr->approvers[rr->napprovers++] = opt->approvers[i];
	rr->variables = e->variables;
	rr->overrides = opt->vars;
	rr->noverrides = opt->nvars;
	rr->accept_new = opt->accept_new;
	run_say(&r, "tug run '%s' (%s risk) by %s, run %s", e->title, risk_name(e->risk), opt->operator,
		rr->run_id);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!rr->approvers) {
		log_error("out of memory; nothing was touched");
		goto results;
	}
	if (node_global_init() || http_init()) {
		log_error("cannot initialise libssh2 or libcurl");
		goto results;
	}

	for (size_t i = 0; i < sizeof(run_phases) / sizeof(run_phases[0]); i++) {
		enum phase_result pr;

		if (st.failed && !run_phases[i].always)
			continue;
		pr = run_phases[i].fn(&r, &st);
		if (pr == PHASE_REFUSED)
			goto results;
		if (pr == PHASE_FAIL)
			st.failed = true;
	}
	rr->verdict = run_interrupted ? "interrupted" : st.failed ? "fail" : "pass";
	runrec_set_reason(rr, &rr->reason, run_interrupted ? "interrupted by a signal" :
			  rr->reason_during && *rr->reason_during ? rr->reason_during :
			  st.failed ? st.why : "");
	ret = st.failed || run_interrupted ? EXIT_FAILURE : EXIT_SUCCESS;

results:
	rr->finished_ms = run_ms(now_realtime_ns());
	rr->finished = true;
	runrec_summarize(rr);
	if (opt->suite_id) {
		rr->in_suite = true;
		rr->suite_id = opt->suite_id;
		rr->suite_title = opt->suite_title;
		rr->suite_position = opt->suite_position;
	}
	now = rr->started_ms / 1000;
	run_report_dir(report, e->title, now, dir, sizeof(dir));
	/* Every thread has ended: the record is whole, made JSON once. */
	rec = runrec_json(rr);
	err = rec ? report_write(dir, rec, why, sizeof(why)) : -ENOMEM;
	if (err == -EPERM) {
		log_error("the report was not written: %s", why);
		if (!ret)
			ret = EXIT_FAILURE;
	} else if (err) {
		log_errno(err, "cannot write the report to %s", dir);
		if (!ret)
			ret = EXIT_FAILURE;
	}
	if (opt->db && rec) {
		char dbwhy[512] = "";

		err = results_store(opt->db, rec, dbwhy, sizeof(dbwhy));
		if (err) {
			log_error("results not stored in PostgreSQL: %s", dbwhy);
			if (!ret)
				ret = EXIT_FAILURE;
		}
		if (opt->sink && sink_store(opt->db, opt->sink, rec, dbwhy, sizeof(dbwhy))) {
			log_error("summary row not stored in %s: %s", opt->sink->table, dbwhy);
			if (!ret)
				ret = EXIT_FAILURE;
		}
	}
	{
		const char *v = rr->verdict ? rr->verdict : "?", *reason = rr->reason ? rr->reason : "";
		char ttd[32] = "-", ttr[32] = "-";
		json_object *o = json_object_new_object();

		if (rr->ttd == RR_TTD_SET)
			snprintf(ttd, sizeof(ttd), "%" PRId64 " ms", rr->ttd_ms);
		if (rr->has_ttr)
			snprintf(ttr, sizeof(ttr), "%" PRId64 " ms", rr->ttr_ms);
		run_say(&r, "%s: %s%s%s  detect %s  recover %s  report %s%s", e->title,
			!strcmp(v, "pass") ? "PASS" : !strcmp(v, "fail") ? "FAIL" : v,
			*reason ? " - " : "", reason, ttd, ttr, dir,
			opt->db && !err ? ", stored in PostgreSQL" : "");
		json_object_object_add(o, "run_id", json_object_new_string(rr->run_id));
		json_object_object_add(o, "verdict", json_object_new_string(v));
		json_object_object_add(o, "reason", json_object_new_string(reason));
		json_object_object_add(o, "time_to_detect_ms", rr->ttd == RR_TTD_SET ?
				       json_object_new_int64(rr->ttd_ms) : NULL);
		json_object_object_add(o, "time_to_recover_ms", rr->has_ttr ?
				       json_object_new_int64(rr->ttr_ms) : NULL);
		json_object_object_add(o, "report", json_object_new_string(dir));
		run_emit(&r, "result", o);
	}
	node_global_cleanup();
	for (size_t i = 0; i < st.njobs; i++) {
		for (size_t k = 0; k < st.jobs[i].s->nexpect; k++) {
			free(st.jobs[i].expect_counter[k]);
			free(st.jobs[i].expect_event[k]);
		}
		free(st.jobs[i].expect_counter);
		free(st.jobs[i].expect_event);
		/* NULL once moved into the record; a job whose record could not
		 * be added still owns them. */
		json_object_put(st.jobs[i].f.counters);
		json_object_put(st.jobs[i].f.node_events);
		free(st.jobs[i].f.notes);
	}
	free(st.jobs);
	json_object_put(rec);
	rr->report = strdup(dir);
	if (ret_rec)
		*ret_rec = *rr;
	else
		runrec_free(rr);
	pthread_mutex_destroy(&r.lock);
	return ret;
}
