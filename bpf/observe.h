/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared between observe.bpf.c and user/observe.c: kernel events (OOM
 * kills, process exits and execs) sent through one ring buffer. Fixed-width
 * types only; every event starts with struct tug_event_hdr, whose kind says
 * which struct follows.
 */
#ifndef TUG_BPF_OBSERVE_H
#define TUG_BPF_OBSERVE_H

#include "common.h"

#define OBS_COMM_LEN 16
#define OBS_CG_LEVELS 8		/* cgroup path components kept by the kernel side */
#define OBS_CG_NAME_LEN 64
#define OBS_STACK_DEPTH 24
#define OBS_FILENAME_LEN 128

enum obs_kind {
	OBS_OOM = 1,
	OBS_EXIT = 2,
	OBS_EXEC = 3,
};

/* A cgroup as the kernel saw it at the event: its kernfs id (the inode
 * number of its directory) and the names from it up towards the root,
 * names[0] being its own; the root itself has no name. nnames < level
 * means the path was longer than OBS_CG_LEVELS. */
struct obs_cgroup {
	__u64 id;
	__u32 level;
	__u32 nnames;
	char names[OBS_CG_LEVELS][OBS_CG_NAME_LEN];
};

/* tracepoint oom/mark_victim: the OOM killer chose this victim. */
struct obs_oom {
	struct tug_event_hdr hdr;	/* pid: the victim's process id (tgid) */
	__u32 tid;			/* the victim thread */
	__u32 uid;
	__u32 trigger_pid;		/* the task whose allocation ran the OOM killer */
	__s32 kstack_bytes;		/* bpf_get_stack() result: bytes, or -errno */
	__u64 total_vm_pages;
	__u64 anon_rss_pages;
	__u64 file_rss_pages;
	__u64 shmem_rss_pages;
	__u64 pgtables_bytes;
	__u64 memcg_usage_pages;	/* the victim's memory cgroup at the kill */
	__u64 memcg_max_pages;
	__s16 oom_score_adj;
	__u16 pad[3];
	char comm[OBS_COMM_LEN];
	char trigger_comm[OBS_COMM_LEN];
	__u64 kstack[OBS_STACK_DEPTH];	/* says whether a memcg limit ran the OOM killer */
	struct obs_cgroup cg;		/* the victim's memory cgroup */
};

/* sched_process_exit (the last thread of a process) and sched_process_exec. */
struct obs_proc {
	struct tug_event_hdr hdr;	/* pid: the process id (tgid) */
	__u32 tid;
	__u32 ppid;
	__s32 exit_code;		/* exit: wait status, (code << 8) | signal | 0x80 core */
	__u32 old_pid;			/* exec: the pid before exec (differs when a thread execs) */
	__u64 start_ns;			/* the task's start, CLOCK_MONOTONIC like hdr.ts_ns */
	char comm[OBS_COMM_LEN];
	char filename[OBS_FILENAME_LEN];	/* exec: the file executed */
	struct obs_cgroup cg;
};

/* Slots of the per-CPU counters array. */
enum obs_counter {
	OBS_LOST,		/* ring buffer full: an event was dropped */
	OBS_FILTERED,		/* outside the --cgroup filter */
	OBS_COUNTER_MAX,
};

#endif
