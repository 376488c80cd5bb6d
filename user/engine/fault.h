/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The common fault interface. Every family implements struct fault_ops and
 * the runner in fault.c drives each one through the same life cycle:
 *
 *   parse -> prepare (resolve, check safety) -> journal intent (fsync)
 *         -> [guardian] -> apply -> hold (deadline, signals, heartbeat)
 *         -> revert -> clear journal entry
 *
 * parse and prepare change nothing on the system: a failure there is the
 * user's (exit 2). A family adds a file and one line in registry.c; it touches
 * no other family.
 */
#ifndef TUG_FAULT_H
#define TUG_FAULT_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>
#include <json-c/json.h>
#include "clock.h"
#include "events.h"

#define FAULT_ID_LEN 9		/* 8 hex digits + NUL */
#define FAULT_MAX_COUNTERS 16

struct fault_counter {
	const char *name;
	uint64_t value;
};

struct fault;

struct fault_ops {
	const char *family;	/* "net" */
	const char *verb;	/* "partition" */
	const char *summary;	/* one line for `tug help` */
	const char *usage;	/* options and EXAMPLES, printed by --help */
	size_t priv_size;

	/* argv[0] is the verb. Fill f->priv and f->params; touch nothing. */
	int (*parse)(struct fault *f, int argc, char **argv);
	/* Resolve targets and check safety against the live system; record in
	 * f->state what apply will create, so a crash can be undone. */
	int (*prepare)(struct fault *f);
	/* Optional: what apply needs that changes nothing on the system (BPF
	 * programs loaded and verified), done while the guardian, just forked,
	 * sets itself up. On failure return -errno; destroy frees the rest. */
	int (*load)(struct fault *f);
	/* Make the fault real. On failure undo what was done and return -errno. */
	int (*apply)(struct fault *f);
	/* One human line of what the fault holds ("10.0.0.0/8 on eth0 ..."). */
	void (*describe)(struct fault *f, char *buf, size_t len);
	/* Current counters; returns how many were filled. Optional. */
	int (*counters)(struct fault *f, struct fault_counter *c, int max);
	/* Undo apply. Called once, on every exit path after a successful apply. */
	int (*revert)(struct fault *f);
	/* Undo from a journal entry whose owner is gone (guardian, tug recover).
	 * Idempotent; must not undo anything tug did not create. Optional when
	 * the kernel owns the lifetime of everything the fault creates. */
	int (*recover)(json_object *entry);
	/* The backend this kernel gives the family, for `tug doctor`; why
	 * explains the choice. Optional. */
	const char *(*backend)(char *why, size_t len);
	/* Free f->priv's resources. Optional. */
	void (*destroy)(struct fault *f);
};

struct fault {
	const struct fault_ops *ops;
	char id[FAULT_ID_LEN];
	uint64_t duration_ns;	/* --for */
	uint64_t heartbeat_ns;	/* --heartbeat: revert when stdin goes silent */
	uint64_t started_ns;	/* CLOCK_REALTIME, at apply */
	uint64_t deadline_ns;	/* CLOCK_REALTIME */
	uint64_t deadline_boot_ns;	/* the same instant on CLOCK_BOOTTIME: what BPF
				 * programs (bpf_ktime_get_boot_ns) and the
				 * guardian's timer compare against; during apply,
				 * the provisional one (journal time + --for) */
	bool json;		/* --json: one JSON object per line on stdout */
	bool quiet;
	bool needs_guardian;	/* set by prepare: state the kernel won't undo (a
				 * guardian runs for every fault; this says the
				 * journal entry is more than a record) */
	bool persistent;	/* set by prepare: state that survives a reboot */
	bool expedite_rcu;	/* the site's expedite-rcu (config.h, expedite.h) */
	bool failed;		/* set by the family: it ran and reverted, but a check
				 * it makes failed (exit 1) */
	int end_fd;		/* set by apply, optional: the hold ends when it is
				 * readable (e.g. the target's pidfd); -1 = none */
	const char *end_reason;	/* why, for the reverted event ("target exited") */
	int event_fd;		/* set by apply, optional: when it is readable the
				 * hold calls on_event(f, event_ctx), e.g. to report
				 * an OOM kill as it happens (observer.h); -1 = none */
	void (*on_event)(struct fault *f, void *event_ctx);
	void *event_ctx;
	json_object *params;	/* what the user asked, normalised */
	json_object *state;	/* what apply creates, for revert and recover */
	json_object *argv;	/* the command line, for status */
	void *priv;
	int guardian_fd;	/* write end of the guardian's pipe, -1 = none */
	int guardian_setup;	/* until its setup is confirmed (spawn_finish), -1 */
	pid_t guardian_pid;
	volatile __u64 *kernel_deadline;	/* set by apply, optional: the BPF
				 * programs' deadline (bpf/deadline.h), which the
				 * runner moves to deadline_boot_ns once applied */
};

/* Options every fault verb takes; families list FAULT_COMMON_OPTIONS in
 * their getopt table and hand unknown codes to fault_parse_common(). */
enum {
	FAULT_OPT_FOR = 0x1000,
	FAULT_OPT_JSON,
	FAULT_OPT_HEARTBEAT,
	FAULT_OPT_HELP,
	FAULT_OPT_QUIET,
};
#define FAULT_COMMON_OPTIONS \
	{ "for", required_argument, NULL, FAULT_OPT_FOR }, \
	{ "json", no_argument, NULL, FAULT_OPT_JSON }, \
	{ "heartbeat", required_argument, NULL, FAULT_OPT_HEARTBEAT }, \
	{ "quiet", no_argument, NULL, FAULT_OPT_QUIET }, \
	{ "help", no_argument, NULL, FAULT_OPT_HELP }

#define FAULT_COMMON_USAGE \
	"  --for DUR          how long the fault holds (250ms, 30s, 5m; default 60s)\n" \
	"  --heartbeat DUR    revert early when no line arrives on stdin for DUR\n" \
	"                     (the orchestrator's dead-man switch)\n" \
	"  --json             one JSON object per event on stdout\n" \
	"  --quiet            no progress lines\n"

/* getopt_long over a verb's table, the common options taken here: the
 * verb's next option code, or -1 when the loop ends, with *ret 0 (every
 * option read, no stray argument), 1 (--help) or -EINVAL (logged). A
 * verb loops `while ((opt = fault_getopt(f, argc, argv, opts, &err)) >= 0)`
 * and returns err when it is not 0. */
int fault_getopt(struct fault *f, int argc, char **argv, const struct option *opts, int *ret);
/* The same for a verb that runs a command given after "--" (sys fail):
 * *cmd is set to its argv when there is one; an argument without "--"
 * before it is refused. */
int fault_getopt_cmd(struct fault *f, int argc, char **argv, const struct option *opts,
		     char ***cmd, int *ret);
/* The same for one-shot actions (commands.h: proc kill, pg crash), which
 * hold nothing: of the common options they take --json (setting *json)
 * and --help, listed as ACTION_COMMON_OPTIONS. */
#define ACTION_COMMON_OPTIONS \
	{ "json", no_argument, NULL, FAULT_OPT_JSON }, \
	{ "help", no_argument, NULL, FAULT_OPT_HELP }
int action_getopt(int argc, char **argv, const struct option *opts, bool *json, int *ret);
/* The default: branch of every family's getopt loop. Returns 0 if handled,
 * 1 when --help was asked, -EINVAL (logged) on a bad value or an option
 * getopt did not know. */
int fault_parse_common(struct fault *f, int opt, const char *arg);
/* After the getopt loop: -EINVAL (logged) when a stray argument is left. */
int fault_parse_done(int argc, char **argv);

/* Log "--flag: 'value' is not X; use Y" and return -EINVAL. */
int fault_bad_option(const char *flag, const char *value, const char *expected);

/* Run one fault verb to completion. Returns the process exit status. */
int fault_run(const struct fault_ops *ops, int argc, char **argv, bool json);
void fault_usage(const struct fault_ops *ops, FILE *out);

/* Emit one event: a JSON line with --json, a human line otherwise. */
void fault_emit(struct fault *f, enum tug_event event, json_object *extra);

/* Rewrite the journal entry, e.g. after each piece apply creates, so a
 * crash in the middle of apply still leaves a complete record. */
int fault_journal_update(struct fault *f);

/* Name a knob the fault turns (a cgroup file, a device's peers, a
 * filesystem), from prepare. A second fault on a knob a live one holds is
 * refused before anything is changed. */
void fault_add_knob(struct fault *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 0 when no fault in the journal holds a knob of f's; -EBUSY (logged:
 * which fault, how to end it) or -errno. The runner calls it after prepare,
 * under the journal lock; a prepare that refuses a busy knob by itself may
 * call it first, for that message. */
int fault_check_knobs(struct fault *f);

/* Undo what a dead owner left: used by the guardian and `tug recover`. */
int fault_recover_entry(json_object *entry);

/* The static table of fault families, in registry.c. */
extern const struct fault_ops *const fault_table[];
const struct fault_ops *fault_find(const char *family, const char *verb);
/* The executable beside this one that carries the families fault_table
 * leaves out (the node controller's: "tug-full"), or NULL. */
extern const char *const fault_table_sibling;

/* Counters kept by BPF in a per-CPU array of u64, one slot per name. */
int fault_read_percpu_counters(int map_fd, const char *const *names, int n,
			       struct fault_counter *out);


#endif
