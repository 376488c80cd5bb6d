/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The record of one `tug run`, as JSON, shared by the orchestrator
 * (run.c and its parts), the report writer (report.c), the results store (results.c) and
 * the summary row (sink.c). While the run goes it is C structures
 * (runrec.h); runrec_json() writes this once, when every thread has ended:
 *
 *   { "run_id", "title", "file", "risk", "operator", "approvers": [...],
 *     "parameters": {...}, "started_ms", "finished_ms", "verdict": "pass" |
 *     "fail" | "refused" | "interrupted", "reason", "time_to_detect_ms",
 *     "time_to_recover_ms", "window": { "start_ms", "end_ms" },
 *     "phases": [ { "name", "verdict", "started_ms", "finished_ms", "detail" } ],
 *     "faults": [ { "step", "node", "fault", "id", "applied_ms", "deadline_ms",
 *                   "reverted_ms", "reason", "exit_code", "error"?, "counters",
 *                   "node_events", "reboot"?: { "old_boot_id", "new_boot_id",
 *                   "rebooted", "reboot_at_ms", "to_ssh_ms"? }, "outage"?: {
 *                   "start_ms", "down_ms", "restarted_ms", "back_ms", "outage_ms",
 *                   "source" } } ],
 *     "probes": [ { "name", "type", "phase", "state", "outcome" } ],
 *     "events": [ { "ts_ms", "phase", "probe", "ok", "outcome", "latency_ms", "detail" }
 *               | { "ts_ms", "phase", "action", "node", "exit_code", "ok",
 *                   "duration_ms", "output", "detail" } ],	(in the order they came)
 *     "during_notes"?: [...], "reason_during"?, "faults_held", "oom_kills",
 *     "oom_victims": [...], "rows_verified"?, "notes",
 *     "suite"?: { "id", "title", "position" } }
 *
 * "time_to_detect_ms" is null when expect-during was judged and nothing was
 * detected, absent when it was not judged. A suite's row adds "report".
 */
#ifndef TUG_RUN_H
#define TUG_RUN_H

#include <json-c/json.h>

/* Write report.json, junit.xml and report.html into dir (created, or
 * refused with -EPERM and why when others could write it: safefile.h). */
int report_write(const char *dir, json_object *run, char *why, size_t len);
/* The same check on dir before anything runs: with create, the directory
 * is made (once the run may go ahead); without, a dir that does not exist
 * yet passes (nothing is written for a run the policy refuses). */
int report_dir_check(const char *dir, bool create, char *why, size_t len);

/* Store the run in PostgreSQL: schema created or migrated on first use,
 * one row per experiment and per run, one per phase. why: libpq's reason. */
int results_store(const char *conninfo, json_object *run, char *why, size_t len);

#endif
