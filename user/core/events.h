/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The node/orchestrator protocol: what a fault or an action prints with
 * --json, one JSON object a line, and what `tug run` reads back from a node.
 * Every line carries EVF_EVENT (one of the names below) and EVF_TS (realtime
 * milliseconds); held faults add EVF_ID and EVF_FAULT, actions EVF_ACTION.
 *
 * Both sides name events by enum only, so an event renamed on one side
 * breaks the build of the other, and test_events checks that every name
 * parses back to its own value.
 */
#ifndef TUG_EVENTS_H
#define TUG_EVENTS_H

/* X(ENUM, "name"): the fields each carries are listed beside it. */
#define TUG_EVENTS(X)							\
	/* held faults (fault.c): the window the orchestrator times */	\
	X(APPLIED, "applied")		/* id, deadline_ms */		\
	X(PROGRESS, "progress")		/* counters, once a second */	\
	X(REVERTED, "reverted")		/* reason, counters */		\
	X(LEFT_ALONE, "left-alone")	/* a knob someone else changed */ \
	X(FILLING, "filling")						\
	X(PRESSURE_REACHED, "pressure-reached")				\
	X(EXHAUSTED, "exhausted")	/* pg exhaust: 53300 proven */	\
	X(QUERY_OK, "query-ok")						\
	X(QUERY_FAILED, "query-failed")					\
	X(TARGET_EXITED, "target exited")				\
	X(COMMAND_EXITED, "command exited")				\
	/* kernel observation (observer.c, watch.c) */			\
	X(OOM_KILL, "oom_kill")		/* pid, comm, cgroup, anon_rss */ \
	X(OOM_SUMMARY, "oom_summary")					\
	X(EXIT, "exit")							\
	X(EXEC, "exec")							\
	X(WATCHING, "watching")						\
	X(SUMMARY, "summary")						\
	/* one-shot actions (proc kill/restart, pg crash): the outage */ \
	X(TARGET, "target")		/* what will be acted on */	\
	X(SIGNALLED, "signalled")	/* the outage begins: pid, signal */ \
	X(RESTART_REQUESTED, "restart-requested") /* ... or here */	\
	X(EXITED, "exited")		/* the old process is gone (pidfd) */ \
	X(STATE, "state")		/* the manager's state changed: state */ \
	X(RESTARTED, "restarted")	/* a new process: new_pid, restarts */ \
	X(HEALTHY, "healthy")		/* the outage ends: it serves again */ \
	X(RESTART_CMD, "restart-cmd")					\
	X(ACCEPTING, "accepting")	/* the outage ends: queries work */ \
	X(NOT_ACCEPTING, "not-accepting")				\
	X(VERIFIED, "verified")		/* rows_before, rows_after, missing */ \
	X(REBOOTING, "rebooting")	/* node reboot: boot_id, in_ms */ \
	X(PASS, "PASS")			/* an action judged itself */	\
	X(FAIL, "FAIL")			/* ... and says why */

enum tug_event {
#define TUG_EVENT_ENUM(id, name) EV_##id,
	TUG_EVENTS(TUG_EVENT_ENUM)
#undef TUG_EVENT_ENUM
	EV_COUNT,
	EV_UNKNOWN = EV_COUNT,
};

/* Field names that cross the channel. */
#define EVF_EVENT "event"
#define EVF_TS "ts_ms"
#define EVF_ID "id"
#define EVF_FAULT "fault"
#define EVF_ACTION "action"
#define EVF_DEADLINE "deadline_ms"
#define EVF_REASON "reason"
#define EVF_COUNTERS "counters"
#define EVF_WHY "why"
#define EVF_PID "pid"
#define EVF_COMM "comm"
#define EVF_CGROUP "cgroup"
#define EVF_ANON_RSS "anon_rss"
#define EVF_OLD_PID "old_pid"
#define EVF_NEW_PID "new_pid"
#define EVF_TO_HEALTHY "to_healthy_ms"
#define EVF_TO_ACCEPTING "to_accepting_ms"
#define EVF_TO_START "to_start_ms"
#define EVF_ROWS_BEFORE "rows_before"
#define EVF_MISSING "missing"
#define EVF_BOOT_ID "boot_id"
/* Where both sides read a node's boot id: node reboot reports it, the
 * orchestrator reads it again after the reconnect. */
#define TUG_BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define EVF_IN_MS "in_ms"

#include <stdbool.h>
#include <json-c/json.h>

const char *event_name(enum tug_event e);
/* One event on stdout, flushed. With json: {EVF_EVENT, the fields of IDS
 * (who speaks: id and fault, or action), EVF_TS, then those of EXTRA}; else "WHO: event  key=value ...". Neither object is taken. */
void event_print(bool json, const char *who, json_object *ids, enum tug_event event,
		 json_object *extra);
/* EV_UNKNOWN for a name that is not one of ours (or NULL). */
enum tug_event event_parse(const char *name);

#endif
