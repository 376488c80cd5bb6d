// SPDX-License-Identifier: GPL-2.0
/* The run's state as structures (runrec.h) and the one record it makes:
 * probes per phase, each with its own samples, the events of the whole run
 * in the order they came, and the keys run.h promises, in its order. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "json.h"
#include "runrec.h"

static void probes_keep_their_samples(void)
{
	struct runrec rr;
	struct rr_probe *a, *b, *a2;
	bool changed;

	runrec_init(&rr);
	a = runrec_probe(&rr, "health", "http", "during");
	b = runrec_probe(&rr, "ssh", "tcp", "during");
	CHECK(a && b && a != b);
	CHECK(runrec_probe(&rr, "health", "http", "during") == a);
	a2 = runrec_probe(&rr, "health", "http", "recovery");
	CHECK(a2 && a2 != a);
	CHECK_EQ(runrec_event_add(&rr, a, 100, true, "up", 1.5, "200", &changed), 0);
	CHECK(changed);
	CHECK_EQ(runrec_event_add(&rr, b, 110, true, "ok", 0.5, "open", &changed), 0);
	CHECK_EQ(runrec_event_add(&rr, a, 150, true, "up", 1.0, "200", &changed), 0);
	CHECK(!changed);
	CHECK_EQ(runrec_event_add(&rr, a, 200, false, "confirmed", 2.0, "refused", &changed), 0);
	CHECK(changed);
	CHECK_EQ(a->nsamples, 3);
	CHECK_EQ(b->nsamples, 1);
	CHECK_EQ(a2->nsamples, 0);
	CHECK(runrec_probe_find(&rr, "health", "during") == a);
	CHECK(!runrec_probe_find(&rr, "health", "steady-state"));
	CHECK_STR(a->outcome, "confirmed");
	runrec_free(&rr);
}

static void record_in_order(void)
{
	struct runrec rr;
	struct rr_probe *p, *q;
	struct rr_action act = { .ts_ms = 120, .duration_ms = 5, .phase = "method", .name = "prep",
				 .node = "n", .exit_code = 0, .ok = true, .output = "done" };
	struct rr_fault f = { .step = "cut", .node = "n", .fault = "net partition", .applied_ms = 130,
			      .reverted_ms = 900, .rows_verified = -1, .oom_events = 1,
			      .counter_oom_kills = 0, .notes = strdup("OOM victim x") };
	static const char *const top[] = {
		"run_id", "title", "file", "risk", "operator", "approvers", "parameters", "started_ms",
		"phases", "faults", "probes", "events", "window", "time_to_detect_ms",
		"reason_during", "time_to_recover_ms", "verdict", "reason", "finished_ms",
		"faults_held", "oom_kills", "oom_victims", "notes", NULL };
	json_object *o, *ev, *oom = json_object_new_object();
	char *approvers[] = { "alice" };
	bool changed;
	size_t k = 0;

	runrec_init(&rr);
	snprintf(rr.run_id, sizeof(rr.run_id), "r1");
	rr.title = "t";
	rr.file = "t.yaml";
	rr.risk = "low";
	rr.operator = "op";
	rr.approvers = calloc(1, sizeof(char *));
	CHECK(rr.approvers);
	rr.approvers[rr.napprovers++] = approvers[0];
	p = runrec_probe(&rr, "health", "http", "during");
	q = runrec_probe(&rr, "ssh", "tcp", "during");
	runrec_event_add(&rr, p, 100, true, "up", 1, "a", &changed);
	runrec_action_add(&rr, &act);
	runrec_event_add(&rr, q, 125, true, "ok", 1, "b", &changed);
	runrec_event_add(&rr, p, 140, false, "confirmed", 1, "c", &changed);
	json_object_object_add(oom, "event", json_object_new_string("oom_kill"));
	f.node_events = json_object_new_array();
	json_object_array_add(f.node_events, oom);
	CHECK_EQ(runrec_fault_add(&rr, &f), 0);
	CHECK(!f.node_events);	/* moved */
	runrec_phase_add(&rr, "method", "pass", 100, 900, "fault window 0.770s");
	rr.has_window = true;
	rr.window_start_ms = 130;
	rr.window_end_ms = 900;
	rr.ttd = RR_TTD_NULL;
	runrec_set_reason(&rr, &rr.reason_during, "");
	rr.has_ttr = true;
	rr.ttr_ms = 40;
	rr.verdict = "pass";
	runrec_set_reason(&rr, &rr.reason, "");
	rr.finished = true;
	rr.finished_ms = 1000;
	runrec_summarize(&rr);
	CHECK_EQ(rr.faults_held, 1);
	CHECK_EQ(rr.oom_kills, 1);
	CHECK_EQ(rr.rows_verified, -1);
	CHECK_STR(rr.notes, "OOM victim x");

	o = runrec_json(&rr);
	CHECK(o);
	json_object_object_foreach(o, key, val) {
		(void)val;
		CHECK(top[k] && !strcmp(key, top[k]));
		if (top[k])
			k++;
	}
	CHECK(!top[k]);
	CHECK(json_object_object_get_ex(o, "time_to_detect_ms", NULL));
	CHECK(!json_get(o, "time_to_detect_ms"));	/* judged, nothing detected: null */
	CHECK(!json_get(o, "rows_verified"));
	ev = json_get(o, "events");
	CHECK_EQ(json_object_array_length(ev), 4);
	CHECK_STR(json_get_str(json_object_array_get_idx(ev, 0), "detail", ""), "a");
	CHECK_STR(json_get_str(json_object_array_get_idx(ev, 1), "action", ""), "prep");
	CHECK_STR(json_get_str(json_object_array_get_idx(ev, 2), "probe", ""), "ssh");
	CHECK_STR(json_get_str(json_object_array_get_idx(ev, 3), "outcome", ""), "confirmed");
	CHECK_EQ(json_object_array_length(json_get(o, "oom_victims")), 1);
	CHECK_EQ(json_object_array_length(json_get(o, "probes")), 2);
	CHECK_STR(json_get_str(json_object_array_get_idx(json_get(o, "probes"), 0), "outcome", ""),
		  "confirmed");
	CHECK_STR(json_get_str(json_object_array_get_idx(json_get(o, "faults"), 0), "fault", ""),
		  "net partition");
	CHECK(!json_get(json_object_array_get_idx(json_get(o, "faults"), 0), "reboot"));
	json_object_put(o);
	runrec_free(&rr);
}

/* An OOM storm's notes, all of them: the summary once cut them at 1,024
 * bytes, without a word. */
static void notes_never_cut(void)
{
	struct runrec rr;
	char want[64];

	runrec_init(&rr);
	for (int k = 0; k < 2; k++) {
		struct rr_fault f = { .fault = "mem pressure", .node = "n", .rows_verified = -1 };

		for (int i = 0; i < 300; i++)
			CHECK_EQ(runrec_notes_append(&f.notes, "OOM victim f%d-%d", k, i), 0);
		CHECK_EQ(runrec_fault_add(&rr, &f), 0);
		CHECK(!f.notes);	/* moved */
	}
	runrec_summarize(&rr);
	CHECK(rr.notes && strlen(rr.notes) > 1024);
	CHECK(!strncmp(rr.notes, "OOM victim f0-0; OOM victim f0-1; ", 34));
	snprintf(want, sizeof(want), "; OOM victim f1-299");
	CHECK(strlen(rr.notes) > strlen(want) &&
	      !strcmp(rr.notes + strlen(rr.notes) - strlen(want), want));
	{
		size_t seps = 0;

		for (const char *q = rr.notes; (q = strstr(q, "; ")); q += 2)
			seps++;
		CHECK_EQ(seps, 599);
	}
	runrec_summarize(&rr);	/* again: rebuilt, not doubled */
	CHECK(!strncmp(rr.notes + strlen(rr.notes) - strlen(want), want, strlen(want)));
	CHECK(strlen(rr.notes) < 2 * 300 * 24);
	runrec_free(&rr);
}

int main(void)
{
	RUN(probes_keep_their_samples);
	RUN(record_in_order);
	RUN(notes_never_cut);
	return t_exit();
}
