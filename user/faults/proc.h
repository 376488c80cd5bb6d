/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Service faults (proc kill, proc restart) and the pieces pg.c shares:
 * exact targets through pidfds, clock conversions, HTTP probes, and the
 * event output of one-shot actions.
 *
 * Why kill and restart are actions, not struct fault_ops: they hold nothing.
 * A kill is done the moment the signal is sent; what follows is observation
 * (did the supervisor bring it back, how fast). Through the fault runner they
 * would write a journal entry with nothing to undo, print a meaningless
 * "reverted", and could not say "the service did not come back" (exit 1)
 * except as "apply failed". So they run as actions (commands.h), listed by
 * noun and verb next to the fault families, while held faults (pg exhaust)
 * go through fault_run and its journal, status and revert.
 */
#ifndef TUG_PROC_H
#define TUG_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "clock.h"
#include "procfs.h"
#include "events.h"

/* ---- one-shot action output ---- */
struct action_out {
	const char *name;	/* "proc kill" */
	bool json;
};
/* One event: a JSON line ({"event", "action", "ts_ms", ...extra}) with
 * --json, else a human line "proc kill: event  k=v ...". Takes extra. */
void action_emit(const struct action_out *o, enum tug_event event, json_object *extra);


/* ---- exact processes ---- */
struct victim {
	pid_t pid;
	int pidfd;
	uint64_t start_boot_ns;	/* from /proc/PID/stat, read after pidfd_open */
	char comm[32];
};

/* Slack allowed between a process's start and the record naming it: the
 * start time has clock-tick resolution and file times jiffy resolution. */
#define PROC_IDENTITY_SLACK_NS (50 * UINT64_C(1000000))

/*
 * A process that started after the record naming it was written (a pidfile's
 * mtime, the manager's recorded start) is not the process meant: its pid was
 * reused. Returns 0 or -ESTALE. recorded_boot_ns 0 means "no record".
 */
int proc_identity_check(uint64_t proc_start_boot_ns, uint64_t recorded_boot_ns);

/* pidfd_open(pid), then its start time and name (read after opening, so they
 * belong to the process the pidfd holds). If not_after_boot_ns is set, the
 * identity check above; -ESTALE when it fails. -ESRCH when there is no such
 * process. */
int victim_open(pid_t pid, uint64_t not_after_boot_ns, struct victim *ret);
void victim_close(struct victim *v);
/* Has the pidfd's process exited? */
bool victim_exited(const struct victim *v);

/* Read a pid file: a decimal pid on the first line; mtime in realtime ns;
 * its owner in *ret_owner when asked. */
int read_pidfile(const char *path, pid_t *ret_pid, uint64_t *ret_mtime_real_ns, uid_t *ret_owner);

/* The real and effective uid of the pidfd's process (checked to still be
 * that process after reading /proc). */
int victim_uids(const struct victim *v, uid_t *ret_real, uid_t *ret_effective);
/* readlink of /proc/PID/<which> ("exe", "cwd") of the pidfd's process. */
int victim_link(const struct victim *v, const char *which, char *buf, size_t len);

/* ---- systemd (used only when systemd is PID 1) ---- */
struct unit_state {
	pid_t main_pid;
	int64_t restarts;		/* NRestarts, -1 when absent */
	uint64_t main_start_mono_us;	/* ExecMainStartTimestampMonotonic */
	char active[32];		/* ActiveState */
	char sub[32];			/* SubState */
	char cgroup[512];		/* ControlGroup, relative to the hierarchy */
};
/* systemctl show of a unit: main pid, cgroup, restarts, states. */
int systemd_show(const char *unit, struct unit_state *ret);
/* The systemd service (the innermost *.service of systemd's hierarchy in
 * /proc/PID/cgroup) pid runs in; -ENOENT when none. */
int systemd_unit_of(pid_t pid, char *buf, size_t len);
/* Parse `systemctl show -p ...` output ("Key=Value" lines). */
int systemd_parse_show(const char *text, struct unit_state *ret);

#define PLAN_MAX_PIDS 256
/*
 * Which processes to signal for a unit: its main process, or with all every
 * pid of its cgroup (cgroup.procs text), main first. -ESRCH when the unit has
 * no process to hit (inactive, MainPID=0 and an empty cgroup).
 */
int systemd_plan(const struct unit_state *u, const char *procs, bool all,
		 pid_t *ret_pids, int *ret_n);

/* ---- runit ---- */
struct runit_state {
	pid_t pid;			/* 0 when down */
	uint64_t since_real_ns;		/* supervise/status TAI64N: when the state began */
	bool up;			/* state is "run" */
	bool want_up;
	bool paused;
};
/* Decode the 20-byte supervise/status record. */
int runit_parse_status(const unsigned char *buf, size_t len, struct runit_state *ret);
int runit_read(const char *svdir, struct runit_state *ret);


#endif
