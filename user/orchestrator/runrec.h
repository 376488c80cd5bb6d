/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The state of one `tug run` while it runs, as C structures: fault threads
 * and probe pollers append to it under the run's lock, the phases judge
 * from it (one probe's samples, not every event of the run), and
 * runrec_json() turns it once into the record run.h describes, for the
 * report, PostgreSQL and the summary row.
 *
 * Strings are owned by the record unless said otherwise; the experiment's
 * names (titles, probe names) are borrowed: it outlives the record.
 */
#ifndef TUG_RUNREC_H
#define TUG_RUNREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "experiment.h"
#include "outage.h"

struct rr_phase {
	char *name, *detail;
	const char *verdict;		/* "pass", "fail" */
	int64_t started_ms, finished_ms;
};

/* One probe result; seq orders it among every event of the run. */
struct rr_sample {
	uint64_t seq;
	int64_t ts_ms;
	bool ok;
	const char *outcome;		/* static */
	double latency_ms;
	char *detail;
};

/* A probe in one phase, and the samples it took there. */
struct rr_probe {
	const char *name, *type, *phase;	/* borrowed, static, static */
	bool state;			/* its last result */
	const char *outcome;		/* static */
	struct rr_sample *samples;
	size_t nsamples;
};

/* An action (method step or rollback) run to completion. */
struct rr_action {
	uint64_t seq;
	int64_t ts_ms, duration_ms;
	const char *phase;		/* static */
	const char *name, *node;	/* borrowed */
	int exit_code;
	bool ok;
	char *output, *detail;
};

/* A fault held on (or a one-shot action of) a node, and what the node
 * reported about it. The fault's thread fills it; it joins the record
 * with runrec_fault_add() once that thread ended. */
struct rr_fault {
	const char *step, *node;	/* borrowed */
	char fault[128];		/* "FAMILY VERB" */
	char id[32], reason[64];
	int64_t applied_ms, deadline_ms, reverted_ms;
	int exit_code;
	const char *error;		/* why it failed, or NULL */
	json_object *counters;		/* its "reverted" event's, as the node printed them */
	json_object *node_events;	/* every line but progress, as the node printed them */
	/* a node reboot (reboot_at_ms set): the boot ids, when, SSH again */
	char old_boot[64], new_boot[64];
	int64_t reboot_at_ms, to_ssh_ms;
	bool has_outage;		/* a one-shot action's, from the node's events */
	struct outage outage;
	/* for the summary, gathered as the events came */
	unsigned oom_events;		/* its "oom_kill" events */
	int64_t counter_oom_kills;	/* the "reverted" event's counter, else 0 */
	int64_t rows_verified;		/* pg crash --verify's; -1: none */
	char *notes;			/* "; " between them (runrec_notes_append); NULL: none */
};

enum rr_ttd { RR_TTD_NONE, RR_TTD_NULL, RR_TTD_SET };

struct runrec {
	char run_id[40];
	const char *title, *file, *risk, *operator;	/* borrowed */
	char **approvers;		/* distinct, in the order given (borrowed strings) */
	size_t napprovers;
	json_object *variables;		/* the experiment's (a reference) */
	const struct exp_var *overrides;	/* --var (borrowed) */
	size_t noverrides;
	bool accept_new;
	int64_t started_ms, finished_ms;
	bool finished;
	const char *verdict;		/* static; NULL: none (not run) */
	char *reason, *reason_during;
	enum rr_ttd ttd;		/* judged without a detection: null */
	int64_t ttd_ms;
	bool has_ttr;
	int64_t ttr_ms;
	bool has_window;
	int64_t window_start_ms, window_end_ms;
	char **during_notes;
	size_t nduring_notes;
	/* the summary numbers (runrec_summarize) */
	bool summarized;
	int64_t faults_held, oom_kills, rows_verified;	/* rows: -1 none verified */
	json_object *oom_victims;	/* the nodes' oom_kill events */
	char *notes;			/* the faults', "; " between; NULL: none */
	bool in_suite;			/* the suite it ran in */
	const char *suite_id, *suite_title;	/* borrowed */
	int64_t suite_position;
	char *report;			/* its directory, once written */

	struct rr_phase *phases;
	size_t nphases;
	struct rr_probe **probes;
	size_t nprobes;
	struct rr_action *actions;
	size_t nactions;
	struct rr_fault *faults;
	size_t nfaults;
	uint64_t seq;			/* the next event's */
};

void runrec_init(struct runrec *rr);
void runrec_free(struct runrec *rr);

int runrec_phase_add(struct runrec *rr, const char *name, const char *verdict,
		     int64_t started_ms, int64_t finished_ms, const char *detail);
struct rr_probe *runrec_probe_find(struct runrec *rr, const char *name, const char *phase);
/* The probe (name, phase), made on first use. NULL: out of memory. */
struct rr_probe *runrec_probe(struct runrec *rr, const char *name, const char *type,
			      const char *phase);
/* Its result; *changed: its state differs from the last one (or it is
 * the first). */
int runrec_event_add(struct runrec *rr, struct rr_probe *p, int64_t ts_ms, bool ok,
		     const char *outcome, double latency_ms, const char *detail, bool *changed);
int runrec_action_add(struct runrec *rr, const struct rr_action *a);
/* One more note at the end of *notes, "; " before it unless it is the
 * first: however many, none cut short. 0 or -ENOMEM (*notes unchanged). */
int runrec_notes_append(char **notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Moves f's node JSON and notes into the record. */
int runrec_fault_add(struct runrec *rr, struct rr_fault *f);
int runrec_set_reason(struct runrec *rr, char **field, const char *why);
int runrec_note_add(struct runrec *rr, const char *note);
/* faults_held, oom_kills, oom_victims, rows_verified and notes from the
 * faults the record holds. */
void runrec_summarize(struct runrec *rr);

/* The record of run.h (a new reference). NULL: out of memory. */
json_object *runrec_json(const struct runrec *rr);

#endif
