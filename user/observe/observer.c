// SPDX-License-Identifier: GPL-2.0
/*
 * The observer: observe.bpf.c's tracepoint programs, a ring buffer, and the
 * translation of raw kernel events into struct observe_event (cgroup paths,
 * bytes, wall time, the OOM constraint). See observer.h.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fault.h"
#include "kernel.h"
#include "log.h"
#include "observer.h"
#include "parse.h"
#include "observe.skel.h"

_Static_assert(sizeof(struct obs_cgroup) == 16 + OBS_CG_LEVELS * OBS_CG_NAME_LEN, "obs_cgroup layout");
_Static_assert(sizeof(struct obs_oom) == 16 + 16 + 7 * 8 + 8 + 2 * OBS_COMM_LEN +
	      OBS_STACK_DEPTH * 8 + sizeof(struct obs_cgroup), "obs_oom layout");
_Static_assert(sizeof(struct obs_proc) == 16 + 16 + 8 + OBS_COMM_LEN + OBS_FILENAME_LEN +
	      sizeof(struct obs_cgroup), "obs_proc layout");

/* Kernel functions whose presence on the stack at mark_victim says a
 * memory cgroup's limit ran the OOM killer; out_of_memory alone says the
 * page allocator did. Some may be inlined on a given kernel: any one found
 * on the stack is enough. */
static const char *const memcg_oom_syms[] = {
	"mem_cgroup_out_of_memory", "memory_max_write", "mem_cgroup_oom_synchronize",
	"try_charge_memcg", "try_charge", "memcg1_oom_synchronize", NULL,
};
#define N_MEMCG_SYMS (sizeof(memcg_oom_syms) / sizeof(memcg_oom_syms[0]) - 1)
_Static_assert(N_MEMCG_SYMS <= OBSERVE_MEMCG_SYMS, "observe_ksyms too small");

struct observer {
	struct observe_bpf *skel;
	struct ring_buffer *rb;
	struct observer_opts opts;
	const char *backend;
	char filter_path[CGROUP_PATH_MAX];
	char mem_root[CGROUP_PATH_MAX];		/* where OOM events' memory cgroups live */
	char proc_root[CGROUP_PATH_MAX];	/* where process events' cgroups live */
	struct observe_ksyms ksyms;
	long page_size;
	uint64_t counts[4];
	json_object *victims;
};

/* ---- cgroup paths ---- */

/* The hierarchy root (mount point) of a v1 controller from the summary
 * "memory:/sys/fs/cgroup/memory cpu:/sys/fs/cgroup/cpu ...". */
static bool path_under(const char *path, const char *root)
{
	size_t n = strlen(root);

	if (!n)
		return false;
	if (n == 1 && root[0] == '/')
		return path[0] == '/';
	return !strncmp(path, root, n) && (path[n] == '/' || path[n] == '\0');
}

int observe_resolve_cgroup(const struct cgroup_layout *l, const char *path,
			   char *ret_path, size_t len, char *ret_controller, size_t clen)
{
	char joined[PATH_MAX], real[PATH_MAX], best_ctrl[32] = "";
	size_t best = 0;
	struct stat st;
	const char *p;

	struct cgroup_dir d;
	int err;

	/* As the fault families read --cgroup: relative to the memory
	 * controller's hierarchy, or absolute under it. */
	err = cgroup_resolve(l, "memory", path, &d);
	if (!err) {
		if (strlen(d.path) >= len || clen < sizeof("memory"))
			return -ENAMETOOLONG;
		strcpy(ret_path, d.path);
		strcpy(ret_controller, d.v2 ? "" : "memory");
		return 0;
	}
	/* Watching also works on any other hierarchy: the v2 one on a hybrid
	 * host, or a v1 controller's, given as an absolute path. */
	if ((err != -EXDEV && err != -ENODEV) || path[0] != '/')
		return err;
	snprintf(joined, sizeof(joined), "%s", path);
	if (!realpath(joined, real))
		return -errno;
	if (stat(real, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;

	/* The mount that holds it: the longest root that is a prefix. */
	if (l->v2_root[0] && path_under(real, l->v2_root))
		best = strlen(l->v2_root);
	for (p = l->v1_summary; *p; p += strcspn(p, " "), p += strspn(p, " ")) {
		const char *colon = strchr(p, ':');
		size_t tok = strcspn(p, " ");
		char root[CGROUP_PATH_MAX];

		if (!colon || colon > p + tok || (size_t)(colon - p) >= sizeof(best_ctrl))
			continue;
		snprintf(root, sizeof(root), "%.*s", (int)(p + tok - colon - 1), colon + 1);
		if (path_under(real, root) && strlen(root) > best) {
			best = strlen(root);
			snprintf(best_ctrl, sizeof(best_ctrl), "%.*s", (int)(colon - p), p);
		}
	}
	if (!best)
		return -EINVAL;		/* not on a cgroup hierarchy tug knows */
	if (real[best] == '\0' || !strcmp(real, "/"))
		return -EBUSY;		/* the root: every process */
	if (strlen(real) >= len || strlen(best_ctrl) >= clen)
		return -ENAMETOOLONG;
	strcpy(ret_path, real);
	strcpy(ret_controller, best_ctrl);
	return 0;
}

/* The subsystem id of a v1 controller. /proc/cgroups lists every subsystem
 * built into the kernel in id order; BTF's enum cgroup_subsys_id says the
 * same at the cost of parsing vmlinux BTF, so it is only the fallback. */
static int controller_ssid(const char *controller)
{
	const char *want_ss = !strcmp(controller, "blkio") ? "io" : controller;
	const struct btf_type *t;
	const struct btf_enum *e;
	char line[256], name[64], want[64];
	struct btf *btf;
	int id, n = 0, ret = -ENOENT;
	FILE *f = fopen("/proc/cgroups", "re");

	if (f) {
		while (fgets(line, sizeof(line), f)) {
			if (line[0] == '#' || sscanf(line, "%63s", name) != 1)
				continue;
			if (!strcmp(name, controller) || !strcmp(name, want_ss))
				ret = n;
			n++;
		}
		fclose(f);
		if (ret >= 0)
			return ret;
	}
	snprintf(want, sizeof(want), "%s_cgrp_id", want_ss);
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return -errno;
	id = btf__find_by_name_kind(btf, "cgroup_subsys_id", BTF_KIND_ENUM);
	if (id > 0) {
		t = btf__type_by_id(btf, id);
		e = btf_enum(t);
		for (int i = 0; i < btf_vlen(t); i++, e++)
			if (!strcmp(btf__name_by_offset(btf, e->name_off), want))
				ret = e->val;
	}
	btf__free(btf);
	return ret;
}

/* Depth-first search for the directory with inode ino, for paths deeper
 * than the kernel side keeps names of. */
static bool find_by_ino(const char *dir, uint64_t ino, char *out, size_t len, int depth)
{
	struct dirent *d;
	bool found = false;
	DIR *dp;

	if (depth > 32 || !(dp = opendir(dir)))
		return false;
	while (!found && (d = readdir(dp))) {
		char sub[PATH_MAX];

		if (d->d_type != DT_DIR || !strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, d->d_name) >= sizeof(sub))
			continue;
		if (d->d_ino == ino && (size_t)snprintf(out, len, "%s", sub) < len)
			found = true;
		else
			found = find_by_ino(sub, ino, out, len, depth + 1);
	}
	closedir(dp);
	return found;
}

static void cgroup_path(const char *root, const struct obs_cgroup *cg, char *out, size_t len)
{
	size_t off;
	int n = cg->nnames < OBS_CG_LEVELS ? cg->nnames : OBS_CG_LEVELS;

	if (!cg->id) {
		snprintf(out, len, "?");
		return;
	}
	if (cg->level > (uint32_t)n && root[0] && find_by_ino(root, cg->id, out, len, 0))
		return;
	off = snprintf(out, len, "%s%s", root, cg->level > (uint32_t)n ? "/..." : "");
	for (int i = n - 1; i >= 0 && off < len; i--)
		off += snprintf(out + off, len - off, "/%.*s", OBS_CG_NAME_LEN, cg->names[i]);
	if (!n && off < len && !root[0])
		snprintf(out, len, "/");
}

/* ---- the OOM constraint, from kernel symbols ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* [start, next symbol) of each function we look for on OOM stacks. */
int observe_ksyms_load(const char *kallsyms, struct observe_ksyms *ret)
{
	struct observe_ksyms k = { 0 };
	size_t n = 0, cap = 1 << 17;
	uint64_t *addrs = malloc(cap * sizeof(*addrs));
	char line[512], name[256], type;
	unsigned long long a;
	FILE *f;

	if (!addrs)
		return -ENOMEM;
	f = fopen(kallsyms, "re");
	if (!f) {
		free(addrs);
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx %c %255s", &a, &type, name) != 3 || !a)
			continue;
		if (n == cap) {
			uint64_t *m = realloc(addrs, 2 * cap * sizeof(*addrs));

			if (!m)
				break;
			addrs = m;
			cap *= 2;
		}
		addrs[n++] = a;
		if (type != 't' && type != 'T')
			continue;
		if (!strcmp(name, "out_of_memory"))
			k.oom.lo = a;
		for (size_t i = 0; i < N_MEMCG_SYMS; i++)
			if (!strcmp(name, memcg_oom_syms[i]))
				k.memcg[i].lo = a;
	}
	fclose(f);
	qsort(addrs, n, sizeof(*addrs), cmp_u64);
	for (size_t i = 0; i <= N_MEMCG_SYMS; i++) {
		struct observe_ksym *r = i < N_MEMCG_SYMS ? &k.memcg[i] : &k.oom;
		size_t lo = 0, hi = n;

		if (!r->lo)
			continue;
		while (lo < hi) {	/* the first address above r->lo */
			size_t mid = (lo + hi) / 2;

			if (addrs[mid] <= r->lo)
				lo = mid + 1;
			else
				hi = mid;
		}
		r->hi = lo < n ? addrs[lo] : r->lo + 4096;
	}
	free(addrs);
	/* Zeroed addresses (kptr_restrict) were skipped: nothing found. */
	k.ok = k.oom.lo != 0;
	*ret = k;
	return k.ok ? 0 : -ENOENT;
}

static bool in_range(const struct observe_ksym *r, uint64_t ip)
{
	return r->lo && ip >= r->lo && ip < r->hi;
}

enum observe_constraint observe_constraint_of(const struct observe_ksyms *k, const uint64_t *ips, int n)
{
	bool global = false;

	if (!k->ok || n <= 0)
		return OBSERVE_CONSTRAINT_UNKNOWN;
	for (int i = 0; i < n; i++) {
		for (size_t s = 0; s < OBSERVE_MEMCG_SYMS; s++)
			if (in_range(&k->memcg[s], ips[i]))
				return OBSERVE_CONSTRAINT_MEMCG;
		global |= in_range(&k->oom, ips[i]);
	}
	return global ? OBSERVE_CONSTRAINT_GLOBAL : OBSERVE_CONSTRAINT_UNKNOWN;
}

static enum observe_constraint oom_constraint(const struct observer *obs, const struct obs_oom *k)
{
	int n = k->kstack_bytes > 0 ? k->kstack_bytes / 8 : 0;

	return observe_constraint_of(&obs->ksyms, (const uint64_t *)k->kstack,
				     n < OBS_STACK_DEPTH ? n : OBS_STACK_DEPTH);
}

const char *observe_constraint_name(enum observe_constraint c)
{
	return c == OBSERVE_CONSTRAINT_MEMCG ? "memcg" :
	       c == OBSERVE_CONSTRAINT_GLOBAL ? "global" : "unknown";
}

void observe_decode_status(int status, int *ret_code, int *ret_signal, bool *ret_core)
{
	*ret_signal = status & 0x7f;
	*ret_core = *ret_signal && (status & 0x80);
	*ret_code = *ret_signal ? 0 : (status >> 8) & 0xff;
}

/* ---- events ---- */

static void copy_comm(char *dst, const char *src)
{
	memcpy(dst, src, OBS_COMM_LEN);
	dst[OBS_COMM_LEN - 1] = '\0';
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct observer *obs = ctx;
	const struct tug_event_hdr *h = data;
	struct observe_event e = { 0 };
	uint64_t mono = clock_ns(CLOCK_MONOTONIC), real = clock_ns(CLOCK_REALTIME);

	if (size < sizeof(*h))
		return 0;
	e.kind = h->kind;
	e.ktime_ns = h->ts_ns;
	e.delay_ns = mono > h->ts_ns ? mono - h->ts_ns : 0;
	e.ts_ns = real - e.delay_ns;
	e.pid = h->pid;

	if (h->kind == OBS_OOM && size >= sizeof(struct obs_oom)) {
		const struct obs_oom *k = data;
		uint64_t ps = obs->page_size;

		e.tid = k->tid;
		copy_comm(e.comm, k->comm);
		e.cgroup_id = k->cg.id;
		cgroup_path(obs->mem_root, &k->cg, e.cgroup, sizeof(e.cgroup));
		e.oom.uid = k->uid;
		e.oom.oom_score_adj = k->oom_score_adj;
		e.oom.total_vm = k->total_vm_pages * ps;
		e.oom.anon_rss = k->anon_rss_pages * ps;
		e.oom.file_rss = k->file_rss_pages * ps;
		e.oom.shmem_rss = k->shmem_rss_pages * ps;
		e.oom.pgtables = k->pgtables_bytes;
		e.oom.memcg_usage = k->memcg_usage_pages * ps;
		/* PAGE_COUNTER_MAX (LONG_MAX / PAGE_SIZE) is "no limit". */
		e.oom.memcg_limit = k->memcg_max_pages >= (uint64_t)LONG_MAX / ps ? 0 :
				    k->memcg_max_pages * ps;
		e.oom.constraint = oom_constraint(obs, k);
		e.oom.trigger_pid = k->trigger_pid;
		copy_comm(e.oom.trigger_comm, k->trigger_comm);
	} else if ((h->kind == OBS_EXIT || h->kind == OBS_EXEC) && size >= sizeof(struct obs_proc)) {
		const struct obs_proc *k = data;

		e.tid = k->tid;
		copy_comm(e.comm, k->comm);
		e.cgroup_id = k->cg.id;
		cgroup_path(obs->proc_root, &k->cg, e.cgroup, sizeof(e.cgroup));
		if (h->kind == OBS_EXIT) {
			e.exit.ppid = k->ppid;
			e.exit.status = k->exit_code;
			observe_decode_status(k->exit_code, &e.exit.code, &e.exit.signal, &e.exit.core);
			e.exit.runtime_ns = h->ts_ns > k->start_ns ? h->ts_ns - k->start_ns : 0;
		} else {
			e.exec.ppid = k->ppid;
			e.exec.old_pid = k->old_pid;
			memcpy(e.exec.filename, k->filename, sizeof(e.exec.filename));
			e.exec.filename[sizeof(e.exec.filename) - 1] = '\0';
		}
	} else {
		return 0;	/* a kind or size this build does not know */
	}

	if (e.kind < 4)
		obs->counts[e.kind]++;
	if (e.kind == OBS_OOM && obs->victims)
		json_object_array_add(obs->victims, observe_event_json(&e));
	if (obs->opts.fn)
		obs->opts.fn(&e, obs->opts.ctx);
	return 0;
}

static json_object *json_u64(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

json_object *observe_event_json(const struct observe_event *e)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
#define ADD(k, v) json_object_object_add(o, k, v)
	ADD(EVF_EVENT, json_object_new_string(event_name(e->kind == OBS_OOM ? EV_OOM_KILL :
							e->kind == OBS_EXIT ? EV_EXIT : EV_EXEC)));
	ADD(EVF_TS, json_u64(e->ts_ns / NSEC_PER_MSEC));
	ADD("ktime_ns", json_u64(e->ktime_ns));
	ADD("delay_us", json_u64(e->delay_ns / 1000));
	ADD("pid", json_object_new_int(e->pid));
	ADD("tid", json_object_new_int(e->tid));
	ADD("comm", json_object_new_string(e->comm));
	ADD("cgroup", json_object_new_string(e->cgroup));
	ADD("cgroup_id", json_u64(e->cgroup_id));
	switch (e->kind) {
	case OBS_OOM:
		ADD("constraint", json_object_new_string(observe_constraint_name(e->oom.constraint)));
		ADD("uid", json_object_new_int64(e->oom.uid));
		ADD("oom_score_adj", json_object_new_int(e->oom.oom_score_adj));
		ADD("total_vm", json_u64(e->oom.total_vm));
		ADD("rss", json_u64(e->oom.anon_rss + e->oom.file_rss + e->oom.shmem_rss));
		ADD("anon_rss", json_u64(e->oom.anon_rss));
		ADD("file_rss", json_u64(e->oom.file_rss));
		ADD("shmem_rss", json_u64(e->oom.shmem_rss));
		ADD("pgtables", json_u64(e->oom.pgtables));
		ADD("memcg_usage", json_u64(e->oom.memcg_usage));
		ADD("memcg_limit", e->oom.memcg_limit ? json_u64(e->oom.memcg_limit) : NULL);
		ADD("trigger_pid", json_object_new_int(e->oom.trigger_pid));
		ADD("trigger_comm", json_object_new_string(e->oom.trigger_comm));
		break;
	case OBS_EXIT:
		ADD("ppid", json_object_new_int(e->exit.ppid));
		ADD("status", json_object_new_int(e->exit.status));
		ADD("exit_code", e->exit.signal ? NULL : json_object_new_int(e->exit.code));
		ADD("signal", e->exit.signal ? json_object_new_string(sigabbrev_np(e->exit.signal) ?
					       sigabbrev_np(e->exit.signal) : "?") : NULL);
		ADD("core_dumped", json_object_new_boolean(e->exit.core));
		ADD("runtime_ms", json_u64(e->exit.runtime_ns / NSEC_PER_MSEC));
		break;
	case OBS_EXEC:
		ADD("ppid", json_object_new_int(e->exec.ppid));
		ADD("old_pid", json_object_new_int(e->exec.old_pid));
		ADD("filename", json_object_new_string(e->exec.filename));
		break;
	}
#undef ADD
	return o;
}

void observe_event_format(const struct observe_event *e, char *buf, size_t len)
{
	char when[32], a[16], b[16], c[16], d[16], lim[16], use[16];
	time_t secs = e->ts_ns / NSEC_PER_SEC;
	struct tm tm;

	localtime_r(&secs, &tm);
	snprintf(when, sizeof(when), "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (int)(e->ts_ns % NSEC_PER_SEC / NSEC_PER_MSEC));
	switch (e->kind) {
	case OBS_OOM:
		snprintf(buf, len,
			 "%s OOM-KILL pid %d (%s) in %s  %s OOM  rss %s (anon %s file %s shmem %s)"
			 "  memcg %s of %s  oom_score_adj %d  allocating: pid %d (%s)",
			 when, e->pid, e->comm, e->cgroup, observe_constraint_name(e->oom.constraint),
			 format_size(e->oom.anon_rss + e->oom.file_rss + e->oom.shmem_rss, a, sizeof(a)),
			 format_size(e->oom.anon_rss, b, sizeof(b)), format_size(e->oom.file_rss, c, sizeof(c)),
			 format_size(e->oom.shmem_rss, d, sizeof(d)),
			 format_size(e->oom.memcg_usage, use, sizeof(use)),
			 e->oom.memcg_limit ? format_size(e->oom.memcg_limit, lim, sizeof(lim)) : "no limit",
			 e->oom.oom_score_adj, e->oom.trigger_pid, e->oom.trigger_comm);
		break;
	case OBS_EXIT: {
		/* Whole milliseconds, so the duration prints short. */
		uint64_t runtime = e->exit.runtime_ns / NSEC_PER_MSEC * NSEC_PER_MSEC;
		char how[48], dur[32];

		if (!runtime)
			runtime = NSEC_PER_MSEC;

		if (e->exit.signal)
			snprintf(how, sizeof(how), "killed by SIG%s%s",
				 sigabbrev_np(e->exit.signal) ? sigabbrev_np(e->exit.signal) : "?",
				 e->exit.core ? " (core dumped)" : "");
		else
			snprintf(how, sizeof(how), "exited %d", e->exit.code);
		snprintf(buf, len, "%s EXIT     pid %d (%s) %s after %s  parent %d  in %s", when,
			 e->pid, e->comm, how,
			 format_duration(runtime, dur, sizeof(dur)),
			 e->exit.ppid, e->cgroup);
		break;
	}
	case OBS_EXEC:
		snprintf(buf, len, "%s EXEC     pid %d (%s) %s  parent %d  in %s", when, e->pid, e->comm,
			 e->exec.filename, e->exec.ppid, e->cgroup);
		break;
	default:
		snprintf(buf, len, "%s event %d pid %d", when, e->kind, e->pid);
	}
}

/* ---- life cycle ---- */

static int silent_print(enum libbpf_print_level l, const char *f, va_list ap)
{
	return 0;
}

const char *observe_select(struct observe_bpf *skel, bool raw, unsigned kinds)
{
	bool oom = kinds & OBSERVE_OOM, task = true;
	int nargs;

	/* Before 6.8 mark_victim passes a pid, not the task: there the OOM
	 * program hooks mark_oom_victim(task) instead. */
	if (oom && kernel_btf_tp_args("mark_victim", &nargs, &task))
		task = true;
	bpf_program__set_autoload(skel->progs.tug_obs_oom, !raw && oom && task);
	bpf_program__set_autoload(skel->progs.tug_obs_oom_fentry, !raw && oom && !task);
	bpf_program__set_autoload(skel->progs.tug_obs_exit, !raw && (kinds & OBSERVE_EXIT));
	bpf_program__set_autoload(skel->progs.tug_obs_exec, !raw && (kinds & OBSERVE_EXEC));
	bpf_program__set_autoload(skel->progs.tug_obs_oom_raw, raw && oom && task);
	bpf_program__set_autoload(skel->progs.tug_obs_oom_kprobe, raw && oom && !task);
	bpf_program__set_autoload(skel->progs.tug_obs_exit_raw, raw && (kinds & OBSERVE_EXIT));
	bpf_program__set_autoload(skel->progs.tug_obs_exec_raw, raw && (kinds & OBSERVE_EXEC));
	if (oom && !task)
		return raw ? "raw_tp, kprobe/mark_oom_victim" : "tp_btf, fentry/mark_oom_victim";
	return raw ? "raw_tp" : "tp_btf";
}

/* Open, configure and load the programs of one flavour (tp_btf or raw_tp). */
static int load(struct observer *obs, bool raw, uint64_t cgid, int filter_ssid, int report_ssid)
{
	struct observe_bpf *skel;
	const char *backend;
	int err;

	skel = observe_bpf__open();
	if (!skel)
		return -errno;
	skel->rodata->filter_cgid = cgid;
	skel->rodata->filter_ssid = filter_ssid;
	skel->rodata->report_ssid = report_ssid;
	backend = observe_select(skel, raw, obs->opts.kinds);
	err = observe_bpf__load(skel);
	if (err) {
		observe_bpf__destroy(skel);
		return err;
	}
	obs->skel = skel;
	obs->backend = backend;
	return 0;
}

int observer_open(const struct observer_opts *opts, struct observer **ret)
{
	struct cgroup_layout l;
	struct observer *obs;
	char ctrl[32] = "", root[CGROUP_PATH_MAX];
	int filter_ssid = -1, report_ssid = -1, mem_ssid = -1, err;
	uint64_t cgid = 0;
	bool v2;

	obs = calloc(1, sizeof(*obs));
	if (!obs)
		return -ENOMEM;
	obs->opts = *opts;
	if (!obs->opts.kinds)
		obs->opts.kinds = OBSERVE_ALL;
	obs->page_size = sysconf(_SC_PAGESIZE);
	err = cgroup_probe(&l);
	if (err)
		goto fail;

	/* Where the memory controller lives decides how cgroups are named. */
	if (!cgroup_controller_root(&l, "memory", root, sizeof(root), &v2)) {
		snprintf(obs->mem_root, sizeof(obs->mem_root), "%s", root);
		if (!v2) {
			mem_ssid = controller_ssid("memory");
			report_ssid = mem_ssid;
		}
	} else {
		snprintf(obs->mem_root, sizeof(obs->mem_root), "%s", l.v2_root);
	}
	snprintf(obs->proc_root, sizeof(obs->proc_root), "%s",
		 report_ssid >= 0 ? obs->mem_root : l.v2_root);

	if (opts->cgroup) {
		struct statfs sfs;
		struct stat st;

		err = observe_resolve_cgroup(&l, opts->cgroup, obs->filter_path,
					     sizeof(obs->filter_path), ctrl, sizeof(ctrl));
		if (err)
			goto fail;
		if (statfs(obs->filter_path, &sfs) ||
		    (sfs.f_type != CGROUP_SUPER_MAGIC && sfs.f_type != CGROUP2_SUPER_MAGIC) ||
		    stat(obs->filter_path, &st)) {
			err = -EINVAL;
			goto fail;
		}
		cgid = st.st_ino;
		if (ctrl[0]) {
			filter_ssid = controller_ssid(ctrl);
			if (filter_ssid < 0) {
				err = -EINVAL;
				goto fail;
			}
			if (strcmp(ctrl, "memory")) {
				/* Process events named on the filter's own hierarchy. */
				report_ssid = filter_ssid;
				cgroup_controller_root(&l, ctrl, obs->proc_root, sizeof(obs->proc_root), &v2);
			}
		} else {
			report_ssid = -1;
			snprintf(obs->proc_root, sizeof(obs->proc_root), "%s", l.v2_root);
		}
	}
	if (obs->opts.kinds & OBSERVE_OOM)
		observe_ksyms_load("/proc/kallsyms", &obs->ksyms);	/* else "unknown" */

	{
		libbpf_print_fn_t old = libbpf_set_print(silent_print);

		err = load(obs, false, cgid, filter_ssid, report_ssid);
		libbpf_set_print(old);
		if (err)
			err = load(obs, true, cgid, filter_ssid, report_ssid);
		if (err)
			goto fail;
	}
	err = observe_bpf__attach(obs->skel);
	if (err)
		goto fail;
	obs->rb = ring_buffer__new(bpf_map__fd(obs->skel->maps.events), handle_event, obs, NULL);
	if (!obs->rb) {
		err = -errno;
		goto fail;
	}
	obs->victims = json_object_new_array();
	*ret = obs;
	return 0;
fail:
	observer_close(obs);
	return err;
}

int observer_fd(const struct observer *obs)
{
	return ring_buffer__epoll_fd(obs->rb);
}

int observer_dispatch(struct observer *obs, int timeout_ms)
{
	return ring_buffer__poll(obs->rb, timeout_ms);
}

uint64_t observer_count(const struct observer *obs, enum obs_kind kind)
{
	return (unsigned)kind < 4 ? obs->counts[kind] : 0;
}

uint64_t observer_lost(const struct observer *obs)
{
	int ncpu = libbpf_num_possible_cpus();
	uint32_t key = OBS_LOST;
	uint64_t *vals, sum = 0;

	if (ncpu <= 0 || !(vals = calloc(ncpu, sizeof(*vals))))
		return 0;
	if (!bpf_map__lookup_elem(obs->skel->maps.counters, &key, sizeof(key), vals,
				  ncpu * sizeof(*vals), 0))
		for (int i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

json_object *observer_oom_victims(const struct observer *obs)
{
	return obs->victims ? json_object_get(obs->victims) : json_object_new_array();
}

const char *observer_backend(const struct observer *obs)
{
	return obs->backend ? obs->backend : "none";
}

const char *observer_cgroup(const struct observer *obs)
{
	return obs->filter_path;
}

void observer_close(struct observer *obs)
{
	if (!obs)
		return;
	ring_buffer__free(obs->rb);
	observe_bpf__destroy(obs->skel);
	json_object_put(obs->victims);
	free(obs);
}

/* ---- fault families ---- */

static void fault_on_oom(const struct observe_event *e, void *ctx)
{
	struct fault *f = ctx;
	json_object *x;

	if (e->kind != OBS_OOM)
		return;
	if (f->json) {
		x = observe_event_json(e);
	} else {
		char v[96], r[16];

		x = json_object_new_object();
		snprintf(v, sizeof(v), "pid %d (%s)", e->pid, e->comm);
		json_object_object_add(x, "victim", json_object_new_string(v));
		json_object_object_add(x, "rss", json_object_new_string(
			format_size(e->oom.anon_rss + e->oom.file_rss + e->oom.shmem_rss, r, sizeof(r))));
		json_object_object_add(x, "constraint",
				       json_object_new_string(observe_constraint_name(e->oom.constraint)));
		json_object_object_add(x, "cgroup", json_object_new_string(e->cgroup));
	}
	fault_emit(f, EV_OOM_KILL, x);
	json_object_put(x);
}

static void fault_on_ready(struct fault *f, void *ctx)
{
	observer_dispatch(ctx, 0);
}

void observer_fault_start(struct fault *f, const char *cgroup, struct observer **ret)
{
	struct observer *obs;
	int err;

	*ret = NULL;
	err = observer_open(&(struct observer_opts){ .kinds = OBSERVE_OOM, .cgroup = cgroup,
						    .fn = fault_on_oom, .ctx = f }, &obs);
	if (err) {
		log_warn("OOM kills in %s will not be reported: %s", cgroup ? cgroup : "the host",
			 strerror(-err));
		return;
	}
	f->event_fd = observer_fd(obs);
	f->on_event = fault_on_ready;
	f->event_ctx = obs;
	*ret = obs;
}

void observer_fault_end(struct fault *f, struct observer *obs)
{
	json_object *x;

	if (!obs)
		return;
	observer_dispatch(obs, 0);	/* what arrived since the last wake-up */
	f->on_event = NULL;
	f->event_fd = -1;
	f->event_ctx = NULL;
	x = json_object_new_object();
	json_object_object_add(x, "oom_kills", json_object_new_int64(observer_count(obs, OBS_OOM)));
	if (f->json) {
		json_object_object_add(x, "victims", observer_oom_victims(obs));
	} else {
		json_object *all = observer_oom_victims(obs), *v = json_object_new_array(), *pid, *comm;
		char one[64];

		for (size_t i = 0; i < json_object_array_length(all); i++) {
			json_object *e = json_object_array_get_idx(all, i);

			if (json_object_object_get_ex(e, "pid", &pid) &&
			    json_object_object_get_ex(e, "comm", &comm)) {
				snprintf(one, sizeof(one), "pid %d (%s)", json_object_get_int(pid),
					 json_object_get_string(comm));
				json_object_array_add(v, json_object_new_string(one));
			}
		}
		json_object_put(all);
		json_object_object_add(x, "victims", v);
	}
	fault_emit(f, EV_OOM_SUMMARY, x);
	json_object_put(x);
	observer_close(obs);
}
