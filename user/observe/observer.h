/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-level observation as a library: OOM kills, process exits and
 * execs, seen by eBPF on tracepoints and delivered through a ring buffer as
 * they happen, optionally only for the tasks inside one cgroup.
 *
 * `tug watch` is built on it, and a fault family reports the OOM kills in
 * its target cgroup with it. The usual use is one call to open, the fd in
 * the caller's poll loop, and one call to drain:
 *
 *	static void on_oom(const struct observe_event *e, void *ctx)
 *	{
 *		json_object *o = observe_event_json(e);	// or observe_event_format()
 *		...
 *		json_object_put(o);
 *	}
 *
 *	struct observer *obs;
 *	int err = observer_open(&(struct observer_opts){
 *		.kinds = OBSERVE_OOM, .cgroup = "system.slice/foo.service",
 *		.fn = on_oom, .ctx = f }, &obs);
 *	if (err)
 *		log_warn(...);			// observation is optional; the fault is not
 *	...
 *	poll on observer_fd(obs) (POLLIN), then observer_dispatch(obs, 0);
 *	...
 *	observer_count(obs, OBS_OOM) and observer_oom_victims(obs) for a summary;
 *	observer_close(obs);
 *
 * Everything the observer attaches are tracepoint links: the kernel removes
 * them when the process exits, however it exits. Functions return 0 or
 * -errno and do not log (libbpf's own messages go through log_setup_libbpf).
 */
#ifndef TUG_OBSERVER_H
#define TUG_OBSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "cgroup.h"
#include "observe.h"		/* bpf/observe.h: the event layouts */

enum observe_kinds {
	OBSERVE_OOM = 1 << 0,
	OBSERVE_EXIT = 1 << 1,
	OBSERVE_EXEC = 1 << 2,
	OBSERVE_PROC = OBSERVE_EXIT | OBSERVE_EXEC,
	OBSERVE_ALL = OBSERVE_OOM | OBSERVE_PROC,
};

/* Whether the OOM killer ran because a memory cgroup hit its limit or
 * because the whole machine (or a cpuset/mempolicy) ran out: read from the
 * kernel stack at the kill, where mem_cgroup_out_of_memory() shows. */
enum observe_constraint {
	OBSERVE_CONSTRAINT_UNKNOWN,	/* no stack, or kallsyms hidden */
	OBSERVE_CONSTRAINT_MEMCG,
	OBSERVE_CONSTRAINT_GLOBAL,
};

struct observe_event {
	enum obs_kind kind;		/* OBS_OOM, OBS_EXIT, OBS_EXEC */
	uint64_t ktime_ns;		/* when the kernel saw it, CLOCK_MONOTONIC */
	uint64_t ts_ns;			/* the same instant, CLOCK_REALTIME */
	uint64_t delay_ns;		/* from the kernel event to its delivery to fn */
	pid_t pid;			/* process id (tgid) */
	pid_t tid;
	char comm[OBS_COMM_LEN];
	uint64_t cgroup_id;		/* kernfs id = inode of the cgroup directory */
	char cgroup[CGROUP_PATH_MAX];	/* absolute: /sys/fs/cgroup/memory/a/b */
	union {
		struct {
			uid_t uid;
			short oom_score_adj;
			uint64_t total_vm, anon_rss, file_rss, shmem_rss, pgtables;	/* bytes */
			uint64_t memcg_usage, memcg_limit;	/* bytes; limit 0 = unlimited */
			enum observe_constraint constraint;
			pid_t trigger_pid;		/* whose allocation ran the OOM killer */
			char trigger_comm[OBS_COMM_LEN];
		} oom;
		struct {
			pid_t ppid;
			int status;		/* wait status */
			int code;		/* exit code when !signal */
			int signal;		/* the killing signal, 0 for a normal exit */
			bool core;
			uint64_t runtime_ns;
		} exit;
		struct {
			pid_t ppid;
			pid_t old_pid;
			char filename[OBS_FILENAME_LEN];
		} exec;
	};
};

typedef void (*observe_fn)(const struct observe_event *e, void *ctx);

struct observer_opts {
	unsigned kinds;		/* OBSERVE_*; 0 means OBSERVE_ALL */
	/* NULL: the whole host. Else a cgroup directory, absolute (on any
	 * cgroup mount: v2, or a v1 controller's) or relative to the hierarchy
	 * that holds the memory controller (v1 /sys/fs/cgroup/memory here, the
	 * v2 root on pure-v2 hosts): "system.slice/foo.service" works on both.
	 * Tasks in it and in its descendants are observed. */
	const char *cgroup;
	observe_fn fn;		/* called by observer_dispatch(); may be NULL */
	void *ctx;
};

struct observer;

/* Load, attach and start delivering. -ENOENT: the cgroup does not exist;
 * -EINVAL: not a cgroup directory or on a hierarchy without controllers;
 * -EPERM: not allowed to load BPF. */
int observer_open(const struct observer_opts *opts, struct observer **ret);

/* Readable (POLLIN) when events wait for observer_dispatch(). */
int observer_fd(const struct observer *obs);

/* Deliver waiting events to opts->fn, waiting up to timeout_ms (0: do not
 * wait, -1: forever). Returns the number delivered or -errno (-EINTR when
 * a signal interrupted the wait). */
int observer_dispatch(struct observer *obs, int timeout_ms);

/* Events delivered so far of one kind (OBS_OOM, OBS_EXIT, OBS_EXEC). */
uint64_t observer_count(const struct observer *obs, enum obs_kind kind);
/* Events the kernel side dropped because the ring buffer was full. */
uint64_t observer_lost(const struct observer *obs);
/* A JSON array of the OOM events delivered so far (new reference). */
json_object *observer_oom_victims(const struct observer *obs);
/* "tp_btf" or "raw_tp": how the programs are attached. */
const char *observer_backend(const struct observer *obs);

struct observe_bpf;
/* Choose the programs of one flavour (tp_btf, or raw_tp when raw) for the
 * OBSERVE_* kinds asked, on the running kernel; what was chosen, as text. */
const char *observe_select(struct observe_bpf *skel, bool raw, unsigned kinds);
/* The filter cgroup's resolved absolute path, or "" for the whole host. */
const char *observer_cgroup(const struct observer *obs);

/* Detach, unload and free; NULL is fine. */
void observer_close(struct observer *obs);

/* The event as a JSON object (new reference): "event" is "oom_kill",
 * "exit" or "exec"; sizes in bytes; ts_ms is the kernel event's wall time. */
json_object *observe_event_json(const struct observe_event *e);
/* One human line, without a trailing newline. */
void observe_event_format(const struct observe_event *e, char *buf, size_t len);

const char *observe_constraint_name(enum observe_constraint c);

/* Resolve a user's --cgroup PATH (see observer_opts.cgroup) against a
 * layout: the absolute directory, and the hierarchy it is on, as the v1
 * controller name ("memory") or "" for v2. Relative paths and paths under
 * the memory hierarchy resolve as cgroup_resolve(l, "memory", ...) does for
 * the fault families (same errors: -EBUSY for the root, -ENOENT...); an
 * absolute path on any other cgroup mount is accepted too. */
int observe_resolve_cgroup(const struct cgroup_layout *l, const char *path,
			   char *ret_path, size_t len, char *ret_controller, size_t clen);

/*
 * For fault families: the OOM kills inside the fault's target cgroup,
 * reported live through fault_emit() ("oom_kill" events) and in a summary
 * ("oom_summary": count and victims) when the fault ends. Two calls:
 *
 *	apply:   observer_fault_start(f, p->cg.path, &p->obs);	// before the change
 *	revert:  observer_fault_end(f, p->obs); p->obs = NULL;
 *
 * start sets f->event_fd/on_event so the runner's hold delivers the events
 * as they happen. cgroup NULL observes the whole host. A failure to start
 * is logged as a warning and leaves *ret NULL: the fault goes on without
 * OOM reports. end accepts NULL.
 */
struct fault;
void observer_fault_start(struct fault *f, const char *cgroup, struct observer **ret);
void observer_fault_end(struct fault *f, struct observer *obs);

/* Where the kernel functions that mark a memcg OOM are, from a kallsyms
 * file, and the constraint a kernel stack (instruction pointers) shows.
 * Exposed for tests; -ENOENT when the file names no out_of_memory (e.g.
 * addresses hidden by kptr_restrict). */
#define OBSERVE_MEMCG_SYMS 8
struct observe_ksym {
	uint64_t lo, hi;	/* [lo, hi); 0, 0 when absent */
};
struct observe_ksyms {
	struct observe_ksym memcg[OBSERVE_MEMCG_SYMS];
	struct observe_ksym oom;	/* out_of_memory */
	bool ok;
};
int observe_ksyms_load(const char *kallsyms, struct observe_ksyms *ret);
enum observe_constraint observe_constraint_of(const struct observe_ksyms *k, const uint64_t *ips, int n);

/* Decode a wait status as the kernel stores it in task->exit_code. */
void observe_decode_status(int status, int *ret_code, int *ret_signal, bool *ret_core);

#endif
