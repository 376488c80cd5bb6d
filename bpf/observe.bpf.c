// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel-level observation: the OOM killer's victims (oom/mark_victim) and
 * process exits and execs (sched_process_exit, sched_process_exec), sent to
 * user space through one ring buffer as they happen, optionally only for
 * the tasks inside one cgroup.
 *
 * Each tracepoint has a tp_btf and a raw_tp program with the same body
 * (every kernel read is a CO-RE BPF_CORE_READ, which both accept); user
 * space loads the tp_btf ones and falls back to raw_tp where they fail.
 * Before 6.8 mark_victim passes only the victim's pid: there the OOM
 * program is an fentry (or, failing that, a kprobe) on mark_oom_victim(),
 * whose argument is the victim's task.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "counters.h"
#include "observe.h"

#define PF_KTHREAD 0x00200000
#define CG_MAX_WALK 32

/* Set by user space between open and load. */
const volatile __u64 filter_cgid = 0;	/* 0: every cgroup */
const volatile __s32 filter_ssid = -1;	/* hierarchy of filter_cgid: -1 v2, else a v1 subsystem */
const volatile __s32 report_ssid = -1;	/* hierarchy reported for process events */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, OBS_COUNTER_MAX);
} counters SEC(".maps");

/* kernfs_node.parent became __parent in 6.15. */
struct kernfs_node___old {
	struct kernfs_node *parent;
} __attribute__((preserve_access_index));

struct kernfs_node___new {
	struct kernfs_node *__parent;
} __attribute__((preserve_access_index));

/* mm->rss_stat: percpu counters from 6.2 on, atomics in a struct before. */
struct mm_rss_stat___old {
	atomic_long_t count[4];
} __attribute__((preserve_access_index));

struct mm_struct___old {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/* What get_mm_counter() reports: the percpu counters' global part. */
static __always_inline __u64 rss_pages(struct mm_struct *mm, int member)
{
	struct mm_struct___old *o = (void *)mm;

	if (!mm)
		return 0;
	if (bpf_core_type_exists(struct mm_rss_stat___old))
		return BPF_CORE_READ(o, rss_stat.count[member].counter);
	return BPF_CORE_READ(mm, rss_stat[member].count);
}

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	struct kernfs_node___new *n = (void *)kn;
	struct kernfs_node___old *o = (void *)kn;

	if (bpf_core_field_exists(n->__parent))
		return BPF_CORE_READ(n, __parent);
	return BPF_CORE_READ(o, parent);
}

/* The task's cgroup on one hierarchy: ssid < 0 is v2, else a v1 subsystem. */
static __always_inline struct cgroup *task_cgroup(struct task_struct *task, int ssid)
{
	struct css_set *cs = BPF_CORE_READ(task, cgroups);
	struct cgroup_subsys_state *css = NULL;

	if (!cs)
		return NULL;
	if (ssid < 0)
		return BPF_CORE_READ(cs, dfl_cgrp);
	if (ssid >= CGROUP_SUBSYS_COUNT)
		return NULL;
	bpf_core_read(&css, sizeof(css), &cs->subsys[ssid]);
	return css ? BPF_CORE_READ(css, cgroup) : NULL;
}

/* Is the task inside the filter cgroup (itself or a descendant)? */
static __always_inline bool wanted(struct task_struct *task)
{
	struct kernfs_node *kn;
	struct cgroup *cg;

	if (!filter_cgid)
		return true;
	cg = task_cgroup(task, filter_ssid);
	kn = cg ? BPF_CORE_READ(cg, kn) : NULL;
	for (int i = 0; i < CG_MAX_WALK && kn; i++) {
		if (BPF_CORE_READ(kn, id) == filter_cgid)
			return true;
		kn = kn_parent(kn);
	}
	tug_count(&counters, OBS_FILTERED);
	return false;
}

static __always_inline void fill_cgroup(struct obs_cgroup *out, struct cgroup *cg)
{
	struct kernfs_node *kn, *parent;
	__u32 n = 0;

	out->id = 0;
	out->level = 0;
	out->nnames = 0;
	if (!cg)
		return;
	kn = BPF_CORE_READ(cg, kn);
	out->level = BPF_CORE_READ(cg, level);
	out->id = kn ? BPF_CORE_READ(kn, id) : 0;
	for (int i = 0; i < OBS_CG_LEVELS && kn; i++) {
		parent = kn_parent(kn);
		if (!parent)	/* the hierarchy's root has no name of its own */
			break;
		bpf_probe_read_kernel_str(out->names[i], OBS_CG_NAME_LEN, BPF_CORE_READ(kn, name));
		n++;
		kn = parent;
	}
	out->nnames = n;
}

static __always_inline int on_mark_victim(void *ctx, struct task_struct *task, __u32 uid)
{
	int memcg_id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct task_struct *cur = (void *)bpf_get_current_task();
	struct cgroup_subsys_state *css = NULL;
	struct css_set *cs;
	struct mm_struct *mm;
	struct obs_oom *e;

	if (!wanted(task))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		tug_count(&counters, OBS_LOST);
		return 0;
	}
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->hdr.kind = OBS_OOM;
	e->hdr.pid = BPF_CORE_READ(task, tgid);
	e->tid = BPF_CORE_READ(task, pid);
	e->uid = uid;
	e->trigger_pid = BPF_CORE_READ(cur, tgid);
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	bpf_get_current_comm(e->trigger_comm, sizeof(e->trigger_comm));
	e->oom_score_adj = BPF_CORE_READ(task, signal, oom_score_adj);

	mm = BPF_CORE_READ(task, mm);
	e->total_vm_pages = mm ? BPF_CORE_READ(mm, total_vm) : 0;
	e->file_rss_pages = rss_pages(mm, MM_FILEPAGES);
	e->anon_rss_pages = rss_pages(mm, MM_ANONPAGES);
	e->shmem_rss_pages = rss_pages(mm, MM_SHMEMPAGES);
	e->pgtables_bytes = mm ? BPF_CORE_READ(mm, pgtables_bytes.counter) : 0;

	e->memcg_usage_pages = 0;
	e->memcg_max_pages = 0;
	cs = BPF_CORE_READ(task, cgroups);
	if (cs && memcg_id >= 0 && memcg_id < CGROUP_SUBSYS_COUNT)
		bpf_core_read(&css, sizeof(css), &cs->subsys[memcg_id]);
	if (css) {
		struct mem_cgroup *memcg = (void *)css;	/* css is its first member */

		e->memcg_usage_pages = BPF_CORE_READ(memcg, memory.usage.counter);
		e->memcg_max_pages = BPF_CORE_READ(memcg, memory.max);
	}
	fill_cgroup(&e->cg, css ? BPF_CORE_READ(css, cgroup) : NULL);
	e->kstack_bytes = bpf_get_stack(ctx, e->kstack, sizeof(e->kstack), 0);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline struct obs_proc *proc_event(struct task_struct *task, __u32 kind)
{
	struct obs_proc *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		tug_count(&counters, OBS_LOST);
		return NULL;
	}
	e->hdr.ts_ns = bpf_ktime_get_ns();
	e->hdr.kind = kind;
	e->hdr.pid = BPF_CORE_READ(task, tgid);
	e->tid = BPF_CORE_READ(task, pid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->start_ns = BPF_CORE_READ(task, start_time);
	e->exit_code = 0;
	e->old_pid = 0;
	e->filename[0] = '\0';
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	fill_cgroup(&e->cg, task_cgroup(task, report_ssid));
	return e;
}

static __always_inline int on_exit(struct task_struct *task)
{
	struct obs_proc *e;

	/* One event per process: the last of its threads to exit. signal->live
	 * was decremented before the tracepoint on every kernel version. */
	if (BPF_CORE_READ(task, flags) & PF_KTHREAD)
		return 0;
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return 0;
	if (!wanted(task))
		return 0;
	e = proc_event(task, OBS_EXIT);
	if (!e)
		return 0;
	e->exit_code = BPF_CORE_READ(task, exit_code);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static __always_inline int on_exec(struct task_struct *task, __u32 old_pid, struct linux_binprm *bprm)
{
	struct obs_proc *e;

	if (!wanted(task))
		return 0;
	e = proc_event(task, OBS_EXEC);
	if (!e)
		return 0;
	e->old_pid = old_pid;
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(tug_obs_oom, struct task_struct *task, __u32 uid)
{
	return on_mark_victim(ctx, task, uid);
}

SEC("raw_tp/mark_victim")
int BPF_PROG(tug_obs_oom_raw, struct task_struct *task, __u32 uid)
{
	return on_mark_victim(ctx, task, uid);
}

/* Kernels before 6.8: mark_victim(int pid). The uid is the one the newer
 * tracepoint reports (from_kuid(&init_user_ns, task_uid(victim))). */
SEC("fentry/mark_oom_victim")
int BPF_PROG(tug_obs_oom_fentry, struct task_struct *task)
{
	return on_mark_victim(ctx, task, BPF_CORE_READ(task, cred, uid.val));
}

SEC("kprobe/mark_oom_victim")
int BPF_KPROBE(tug_obs_oom_kprobe, struct task_struct *task)
{
	return on_mark_victim(ctx, task, BPF_CORE_READ(task, cred, uid.val));
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(tug_obs_exit, struct task_struct *task)
{
	return on_exit(task);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(tug_obs_exit_raw, struct task_struct *task)
{
	return on_exit(task);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(tug_obs_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(task, old_pid, bprm);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(tug_obs_exec_raw, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
	return on_exec(task, old_pid, bprm);
}

char LICENSE[] SEC("license") = "GPL";
