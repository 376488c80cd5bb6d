// SPDX-License-Identifier: GPL-2.0
/*
 * The run's state as structures, and its one serializer (runrec.h). The
 * callers hold the run's lock; nothing here locks.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "json.h"
#include "runrec.h"

void runrec_init(struct runrec *rr)
{
	*rr = (struct runrec){ .rows_verified = -1 };
}

void runrec_free(struct runrec *rr)
{
	for (size_t i = 0; i < rr->nphases; i++) {
		free(rr->phases[i].name);
		free(rr->phases[i].detail);
	}
	for (size_t i = 0; i < rr->nprobes; i++) {
		for (size_t k = 0; k < rr->probes[i]->nsamples; k++)
			free(rr->probes[i]->samples[k].detail);
		free(rr->probes[i]->samples);
		free(rr->probes[i]);
	}
	for (size_t i = 0; i < rr->nactions; i++) {
		free(rr->actions[i].output);
		free(rr->actions[i].detail);
	}
	for (size_t i = 0; i < rr->nfaults; i++) {
		json_object_put(rr->faults[i].counters);
		json_object_put(rr->faults[i].node_events);
		free((char *)rr->faults[i].error);
		free(rr->faults[i].notes);
	}
	for (size_t i = 0; i < rr->nduring_notes; i++)
		free(rr->during_notes[i]);
	free(rr->during_notes);
	free(rr->phases);
	free(rr->probes);
	free(rr->actions);
	free(rr->faults);
	free(rr->approvers);
	free(rr->reason);
	free(rr->reason_during);
	free(rr->report);
	json_object_put(rr->oom_victims);
	free(rr->notes);
	*rr = (struct runrec){ 0 };
}

/* Room for one more element of *arr (n used): grown by doubling. */
static int grow(void *arr, size_t n, size_t size)
{
	void **a = arr, *p;

	if (n & (n - 1) || !size)
		return 0;	/* not a power of two: room is left */
	p = realloc(*a, (n ? 2 * n : 1) * size);
	if (!p)
		return -ENOMEM;
	*a = p;
	return 0;
}

int runrec_phase_add(struct runrec *rr, const char *name, const char *verdict,
		     int64_t started_ms, int64_t finished_ms, const char *detail)
{
	struct rr_phase *p;

	if (grow(&rr->phases, rr->nphases, sizeof(*rr->phases)))
		return -ENOMEM;
	p = &rr->phases[rr->nphases];
	*p = (struct rr_phase){ .name = strdup(name), .detail = strdup(detail), .verdict = verdict,
				.started_ms = started_ms, .finished_ms = finished_ms };
	if (!p->name || !p->detail) {
		free(p->name);
		free(p->detail);
		return -ENOMEM;
	}
	rr->nphases++;
	return 0;
}

struct rr_probe *runrec_probe_find(struct runrec *rr, const char *name, const char *phase)
{
	for (size_t i = 0; i < rr->nprobes; i++)
		if (!strcmp(rr->probes[i]->name, name) && !strcmp(rr->probes[i]->phase, phase))
			return rr->probes[i];
	return NULL;
}

struct rr_probe *runrec_probe(struct runrec *rr, const char *name, const char *type,
			      const char *phase)
{
	struct rr_probe *p = runrec_probe_find(rr, name, phase);

	if (p)
		return p;
	if (grow(&rr->probes, rr->nprobes, sizeof(*rr->probes)))
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	*p = (struct rr_probe){ .name = name, .type = type, .phase = phase, .outcome = "?" };
	rr->probes[rr->nprobes++] = p;
	return p;
}

int runrec_event_add(struct runrec *rr, struct rr_probe *p, int64_t ts_ms, bool ok,
		     const char *outcome, double latency_ms, const char *detail, bool *changed)
{
	struct rr_sample *s;

	if (grow(&p->samples, p->nsamples, sizeof(*p->samples)))
		return -ENOMEM;
	s = &p->samples[p->nsamples];
	*s = (struct rr_sample){ .seq = rr->seq, .ts_ms = ts_ms, .ok = ok, .outcome = outcome,
				 .latency_ms = latency_ms, .detail = strdup(detail) };
	if (!s->detail)
		return -ENOMEM;
	*changed = !p->nsamples || p->state != ok;
	p->nsamples++;
	p->state = ok;
	p->outcome = outcome;
	rr->seq++;
	return 0;
}

int runrec_action_add(struct runrec *rr, const struct rr_action *a)
{
	struct rr_action *x;

	if (grow(&rr->actions, rr->nactions, sizeof(*rr->actions)))
		return -ENOMEM;
	x = &rr->actions[rr->nactions];
	*x = *a;
	x->seq = rr->seq;
	x->output = strdup(a->output ? a->output : "");
	x->detail = strdup(a->detail ? a->detail : "");
	if (!x->output || !x->detail) {
		free(x->output);
		free(x->detail);
		return -ENOMEM;
	}
	rr->nactions++;
	rr->seq++;
	return 0;
}

int runrec_fault_add(struct runrec *rr, struct rr_fault *f)
{
	struct rr_fault *x;

	if (grow(&rr->faults, rr->nfaults, sizeof(*rr->faults)))
		return -ENOMEM;
	x = &rr->faults[rr->nfaults];
	*x = *f;
	x->error = f->error ? strdup(f->error) : NULL;
	if (f->error && !x->error)
		return -ENOMEM;
	f->counters = f->node_events = NULL;
	f->notes = NULL;
	rr->nfaults++;
	return 0;
}

int runrec_notes_append(char **notes, const char *fmt, ...)
{
	char *note = NULL, *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&note, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	n = *notes ? asprintf(&s, "%s; %s", *notes, note) : asprintf(&s, "%s", note);
	free(note);
	if (n < 0)
		return -ENOMEM;
	free(*notes);
	*notes = s;
	return 0;
}

int runrec_set_reason(struct runrec *rr, char **field, const char *why)
{
	char *s = strdup(why);

	(void)rr;
	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

int runrec_note_add(struct runrec *rr, const char *note)
{
	char *s;

	if (grow(&rr->during_notes, rr->nduring_notes, sizeof(*rr->during_notes)))
		return -ENOMEM;
	s = strdup(note);
	if (!s)
		return -ENOMEM;
	rr->during_notes[rr->nduring_notes++] = s;
	return 0;
}

void runrec_summarize(struct runrec *rr)
{
	rr->faults_held = rr->oom_kills = 0;
	rr->rows_verified = -1;
	free(rr->notes);
	rr->notes = NULL;
	json_object_put(rr->oom_victims);
	rr->oom_victims = json_object_new_array();
	for (size_t i = 0; i < rr->nfaults; i++) {
		const struct rr_fault *f = &rr->faults[i];
		size_t n = f->node_events ? json_object_array_length(f->node_events) : 0;

		rr->faults_held += f->applied_ms > 0;
		rr->oom_kills += (int64_t)f->oom_events > f->counter_oom_kills ? (int64_t)f->oom_events :
				 f->counter_oom_kills;
		if (f->rows_verified >= 0)
			rr->rows_verified = (rr->rows_verified < 0 ? 0 : rr->rows_verified) +
					    f->rows_verified;
		/* Out of memory, the summary lacks a note; the record keeps it. */
		if (f->notes)
			runrec_notes_append(&rr->notes, "%s", f->notes);
		for (size_t k = 0; k < n && f->oom_events; k++) {
			json_object *x = json_object_array_get_idx(f->node_events, k);

			if (event_parse(json_get_str(x, EVF_EVENT, NULL)) == EV_OOM_KILL)
				json_object_array_add(rr->oom_victims, json_object_get(x));
		}
	}
	rr->summarized = true;
}

/* ---- the one serializer ---- */

static void add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static void add_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static json_object *fault_json(const struct rr_fault *f)
{
	json_object *o = json_object_new_object(), *x;

	add_str(o, "step", f->step);
	add_str(o, "node", f->node);
	add_str(o, "fault", f->fault);
	add_str(o, "id", f->id);
	add_int(o, "applied_ms", f->applied_ms);
	add_int(o, "deadline_ms", f->deadline_ms);
	add_int(o, "reverted_ms", f->reverted_ms);
	add_str(o, "reason", f->reason);
	json_object_object_add(o, "exit_code", json_object_new_int(f->exit_code));
	if (f->error)
		add_str(o, "error", f->error);
	json_object_object_add(o, "counters", json_object_get(f->counters));
	json_object_object_add(o, "node_events", json_object_get(f->node_events));
	if (f->reboot_at_ms) {
		x = json_object_new_object();
		add_str(x, "old_boot_id", f->old_boot);
		add_str(x, "new_boot_id", f->new_boot);
		json_object_object_add(x, "rebooted", json_object_new_boolean(*f->new_boot));
		add_int(x, "reboot_at_ms", f->reboot_at_ms);
		if (*f->new_boot)
			add_int(x, "to_ssh_ms", f->to_ssh_ms);
		json_object_object_add(o, "reboot", x);
	}
	if (f->has_outage) {
		x = json_object_new_object();
		add_int(x, "start_ms", f->outage.start_ms);
		add_int(x, "down_ms", f->outage.down_ms);
		add_int(x, "restarted_ms", f->outage.restarted_ms);
		add_int(x, "back_ms", f->outage.back_ms);
		add_int(x, "outage_ms", outage_ms(&f->outage));
		add_str(x, "source", "node events");
		json_object_object_add(o, "outage", x);
	}
	return o;
}

static json_object *sample_json(const struct rr_probe *p, const struct rr_sample *s)
{
	json_object *o = json_object_new_object();

	add_int(o, "ts_ms", s->ts_ms);
	add_str(o, "phase", p->phase);
	add_str(o, "probe", p->name);
	json_object_object_add(o, "ok", json_object_new_boolean(s->ok));
	add_str(o, "outcome", s->outcome);
	json_object_object_add(o, "latency_ms", json_object_new_double(s->latency_ms));
	add_str(o, "detail", s->detail);
	return o;
}

static json_object *action_json(const struct rr_action *a)
{
	json_object *o = json_object_new_object();

	add_int(o, "ts_ms", a->ts_ms);
	add_str(o, "phase", a->phase);
	add_str(o, "action", a->name);
	add_str(o, "node", a->node);
	json_object_object_add(o, "exit_code", json_object_new_int(a->exit_code));
	json_object_object_add(o, "ok", json_object_new_boolean(a->ok));
	add_int(o, "duration_ms", a->duration_ms);
	add_str(o, "output", a->output);
	add_str(o, "detail", a->detail);
	return o;
}

/* Every event of the run in the order it was recorded: the probes'
 * samples and the actions merged by their sequence numbers. */
static json_object *events_json(const struct runrec *rr)
{
	json_object *a = json_object_new_array();
	size_t *next = calloc(rr->nprobes ? rr->nprobes : 1, sizeof(*next)), act = 0;

	if (!next)
		return a;
	for (uint64_t seq = 0; seq < rr->seq; seq++) {
		if (act < rr->nactions && rr->actions[act].seq == seq) {
			json_object_array_add(a, action_json(&rr->actions[act++]));
			continue;
		}
		for (size_t i = 0; i < rr->nprobes; i++) {
			const struct rr_probe *p = rr->probes[i];

			if (next[i] < p->nsamples && p->samples[next[i]].seq == seq) {
				json_object_array_add(a, sample_json(p, &p->samples[next[i]++]));
				break;
			}
		}
	}
	free(next);
	return a;
}

json_object *runrec_json(const struct runrec *rr)
{
	json_object *o = json_object_new_object(), *a, *params, *cli, *x;

	if (!o)
		return NULL;
	add_str(o, "run_id", rr->run_id);
	add_str(o, "title", rr->title);
	add_str(o, "file", rr->file);
	add_str(o, "risk", rr->risk);
	add_str(o, "operator", rr->operator);
	a = json_object_new_array();
	for (size_t i = 0; i < rr->napprovers; i++)
		json_object_array_add(a, json_object_new_string(rr->approvers[i]));
	json_object_object_add(o, "approvers", a);
	params = json_object_new_object();
	cli = json_object_new_object();
	for (size_t i = 0; i < rr->noverrides; i++)
		add_str(cli, rr->overrides[i].name, rr->overrides[i].value);
	json_object_object_add(params, "variables", json_object_get(rr->variables));
	json_object_object_add(params, "overrides", cli);
	json_object_object_add(params, "accept_new_host_keys", json_object_new_boolean(rr->accept_new));
	json_object_object_add(o, "parameters", params);
	add_int(o, "started_ms", rr->started_ms);
	a = json_object_new_array();
	for (size_t i = 0; i < rr->nphases; i++) {
		const struct rr_phase *p = &rr->phases[i];

		x = json_object_new_object();
		add_str(x, "name", p->name);
		add_str(x, "verdict", p->verdict);
		add_int(x, "started_ms", p->started_ms);
		add_int(x, "finished_ms", p->finished_ms);
		add_str(x, "detail", p->detail);
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "phases", a);
	a = json_object_new_array();
	for (size_t i = 0; i < rr->nfaults; i++)
		json_object_array_add(a, fault_json(&rr->faults[i]));
	json_object_object_add(o, "faults", a);
	a = json_object_new_array();
	for (size_t i = 0; i < rr->nprobes; i++) {
		const struct rr_probe *p = rr->probes[i];

		x = json_object_new_object();
		add_str(x, "name", p->name);
		add_str(x, "type", p->type);
		add_str(x, "phase", p->phase);
		json_object_object_add(x, "state", json_object_new_boolean(p->state));
		add_str(x, "outcome", p->outcome);
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "probes", a);
	json_object_object_add(o, "events", events_json(rr));
	if (rr->has_window) {
		x = json_object_new_object();
		add_int(x, "start_ms", rr->window_start_ms);
		add_int(x, "end_ms", rr->window_end_ms);
		json_object_object_add(o, "window", x);
	}
	if (rr->ttd != RR_TTD_NONE)
		json_object_object_add(o, "time_to_detect_ms", rr->ttd == RR_TTD_SET ?
				       json_object_new_int64(rr->ttd_ms) : NULL);
	if (rr->nduring_notes) {
		a = json_object_new_array();
		for (size_t i = 0; i < rr->nduring_notes; i++)
			json_object_array_add(a, json_object_new_string(rr->during_notes[i]));
		json_object_object_add(o, "during_notes", a);
	}
	if (rr->reason_during)
		add_str(o, "reason_during", rr->reason_during);
	if (rr->has_ttr)
		add_int(o, "time_to_recover_ms", rr->ttr_ms);
	if (rr->verdict) {
		add_str(o, "verdict", rr->verdict);
		add_str(o, "reason", rr->reason);
	}
	if (rr->finished)
		add_int(o, "finished_ms", rr->finished_ms);
	if (rr->summarized) {
		add_int(o, "faults_held", rr->faults_held);
		add_int(o, "oom_kills", rr->oom_kills);
		json_object_object_add(o, "oom_victims", json_object_get(rr->oom_victims));
		if (rr->rows_verified >= 0)
			add_int(o, "rows_verified", rr->rows_verified);
		add_str(o, "notes", rr->notes);
	}
	if (rr->in_suite) {
		x = json_object_new_object();
		add_str(x, "id", rr->suite_id);
		add_str(x, "title", rr->suite_title);
		add_int(x, "position", rr->suite_position);
		json_object_object_add(o, "suite", x);
	}
	if (rr->report)
		add_str(o, "report", rr->report);
	return o;
}
