// SPDX-License-Identifier: GPL-2.0
/*
 * What a run says, and what it records of each probe result: lines for a
 * person (with a live progress line on a terminal) or, with --json, one
 * JSON event a line. Apart because every part and every thread of a run
 * speaks through it: the format is decided once, and r->lock keeps each
 * line whole and the record in step with what was said.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "experiment.h"
#include "health.h"
#include "json.h"
#include "run_int.h"
#include "runrec.h"
#include "sanitize.h"

__attribute__((format(printf, 2, 3)))
void run_say(struct run *r, const char *fmt, ...)
{
	va_list ap;
	char *line;

	if (r->json)
		return;
	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	if (!line)
		return;
	term_clean(line);	/* node and probe text: no escape sequences */
	pthread_mutex_lock(&r->lock);
	if (r->tty)
		printf("\r\033[K");
	printf("%s\n", line);
	free(line);
	fflush(stdout);
	pthread_mutex_unlock(&r->lock);
}

void run_emit(struct run *r, const char *event, json_object *o)
{
	if (!r->json) {
		json_object_put(o);
		return;
	}
	json_object_object_add(o, "event", json_object_new_string(event));
	json_object_object_add(o, "ts_ms", json_object_new_int64(run_ms(now_realtime_ns())));
	pthread_mutex_lock(&r->lock);
	printf("%s\n", json_line(o));
	fflush(stdout);
	pthread_mutex_unlock(&r->lock);
	json_object_put(o);
}

/* The live line on a terminal: phase, elapsed, remaining, probe states. */
void run_progress(struct run *r)
{
	uint64_t now = mono_ns();

	if (!r->tty || r->json)
		return;
	pthread_mutex_lock(&r->lock);
	printf("\r\033[K  [%s] %.1fs", r->phase, (now - r->phase_started_ns) / 1e9);
	if (r->phase_deadline_ns > now)
		printf(", %.1fs left", (r->phase_deadline_ns - now) / 1e9);
	for (size_t i = 0; i < r->rec.nprobes; i++) {
		const struct rr_probe *p = r->rec.probes[i];

		if (!strcmp(p->phase, r->phase))
			printf("  %s:%s", p->name, p->outcome);
	}
	fflush(stdout);
	pthread_mutex_unlock(&r->lock);
}

void run_phase_begin(struct run *r, const char *name, uint64_t deadline_ns)
{
	r->phase = name;
	r->phase_started_ns = mono_ns();
	r->phase_deadline_ns = deadline_ns;
	run_say(r, "== %s", name);
	if (r->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "phase", json_object_new_string(name));
		run_emit(r, "phase", o);
	}
}

void run_phase_end(struct run *r, const char *name, const char *verdict, int64_t started_ms,
		   const char *fmt, ...)
{
	json_object *o = json_object_new_object();
	char detail[512] = "";
	int64_t finished_ms;
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	finished_ms = run_ms(now_realtime_ns());
	pthread_mutex_lock(&r->lock);
	runrec_phase_add(&r->rec, name, verdict, started_ms, finished_ms, detail);
	pthread_mutex_unlock(&r->lock);
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "verdict", json_object_new_string(verdict));
	json_object_object_add(o, "started_ms", json_object_new_int64(started_ms));
	json_object_object_add(o, "finished_ms", json_object_new_int64(finished_ms));
	json_object_object_add(o, "detail", json_object_new_string(detail));
	run_say(r, "   %s %s%s%s", name, !strcmp(verdict, "pass") ? "passed" :
		!strcmp(verdict, "fail") ? "FAILED" : verdict, *detail ? ": " : "", detail);
	run_emit(r, "phase-end", o);
}

/* What a result means in its phase: a must-fail probe failing is the
 * outcome asked for ("confirmed"), a recovery probe failing is "not yet";
 * FAIL is kept for results that fail the experiment. */
static const char *probe_outcome(const char *phase, const struct exp_probe *p, bool ok)
{
	if (!strcmp(phase, "during") && p->must_fail)
		return ok ? "up" : "confirmed";
	if (!strcmp(phase, "recovery"))
		return ok ? "ok" : "not yet";
	return ok ? "ok" : "FAIL";
}

/* Record one probe result; print it when its state changed. */
void run_record(struct run *r, const char *phase, const struct exp_probe *p,
		const struct probe_result *res)
{
	const char *outcome = probe_outcome(phase, p, res->ok);
	struct rr_probe *pr;
	bool changed = true;
	json_object *ev;

	pthread_mutex_lock(&r->lock);
	pr = runrec_probe(&r->rec, p->name, probe_type_name(p->type), phase);
	if (pr)
		runrec_event_add(&r->rec, pr, run_ms(res->ts_ns), res->ok, outcome, res->latency_ns / 1e6,
				 res->detail, &changed);
	pthread_mutex_unlock(&r->lock);
	if (changed)
		run_say(r, "   %-8s %s: %s (%s)", phase, p->name, outcome, res->detail);
	if (!r->json)
		return;
	ev = json_object_new_object();
	json_object_object_add(ev, "ts_ms", json_object_new_int64(run_ms(res->ts_ns)));
	json_object_object_add(ev, "phase", json_object_new_string(phase));
	json_object_object_add(ev, "probe", json_object_new_string(p->name));
	json_object_object_add(ev, "ok", json_object_new_boolean(res->ok));
	json_object_object_add(ev, "outcome", json_object_new_string(outcome));
	json_object_object_add(ev, "latency_ms", json_object_new_double(res->latency_ns / 1e6));
	json_object_object_add(ev, "detail", json_object_new_string(res->detail));
	run_emit(r, "probe", ev);
}
