// SPDX-License-Identifier: GPL-2.0
/*
 * The cgroup-knob engine (cgknob.h): parse, prepare, apply, revert and
 * recover one cgroup file for mem limit, cpu throttle and proc freeze.
 *
 *   mem limit     memory.max / memory.high (v2), memory.limit_in_bytes /
 *                 memory.soft_limit_in_bytes (v1)
 *   cpu throttle  cpu.max (v2), cpu.cfs_quota_us (v1)
 *   proc freeze   cgroup.freeze (v2), freezer.state (v1)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgknob.h"
#include "cgroup.h"
#include "fault.h"
#include "journal.h"
#include "log.h"
#include "observer.h"
#include "parse.h"
#include "procfs.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define MIB (UINT64_C(1) << 20)
#define PAGE_BYTES UINT64_C(4096)

/* ------------------------------------------------------------------ */
/* Knobs: one cgroup file, written, and restored exactly.             */


/* Is cur what tug wrote? The v1 freezer passes through FREEZING. */
static bool knob_is_ours(const char *file, const char *cur, const char *applied, const char *want)
{
	if (!strcmp(cur, applied) || !strcmp(cur, want))
		return true;
	return !strcmp(file, "freezer.state") && !strcmp(cur, "FREEZING") && !strcmp(want, "FROZEN");
}

enum restore_outcome { RESTORED, WAS_RESTORED, CGROUP_GONE, FOREIGN };

/* Compare, then restore. *ret_cur gets the value found. */
static int knob_restore(const char *dir, const char *file, const char *prev, const char *applied,
			const char *want, enum restore_outcome *ret, char *cur, size_t len)
{
	int err;

	err = cgroup_read(dir, file, cur, len);
	if (err == -ENOENT || err == -ENODEV) {
		*ret = CGROUP_GONE;	/* the service went, and its limit with it */
		return 0;
	}
	if (err)
		return err;
	if (!strcmp(cur, prev)) {
		*ret = WAS_RESTORED;
		return 0;
	}
	if (!knob_is_ours(file, cur, applied, want)) {
		*ret = FOREIGN;
		return 0;
	}
	err = cgroup_write(dir, file, prev);
	/* v1 reports the unlimited memory limit as a page-rounded huge number
	 * that it may refuse back; -1 is how v1 spells unlimited. */
	if (err && !strncmp(file, "memory.", 7) && strlen(prev) >= 19)
		err = cgroup_write(dir, file, "-1");
	if (err == -ENOENT || err == -ENODEV) {
		*ret = CGROUP_GONE;
		return 0;
	}
	*ret = RESTORED;
	return err;
}

static void knob_log_foreign(const char *dir, const char *file, const char *cur,
			     const char *applied, const char *prev)
{
	log_warn("%s/%s is '%s', not the '%s' tug set: someone changed it since; left alone "
		 "(it was '%s' before tug)", dir, file, cur, applied, prev);
}

static int mem_parse_pct_base(struct knob_priv *p, uint64_t *ret)
{
	uint64_t total = 0;
	char cur[128];
	char *end;
	unsigned long long v;

	if (proc_kb("/proc/meminfo", "MemTotal", &total))
		return -EIO;
	/* PCT is of the limit the cgroup has now, or of MemTotal without one. */
	if (!cgroup_read(p->cg.path, p->file, cur, sizeof(cur))) {
		errno = 0;
		v = strtoull(cur, &end, 10);
		if (!errno && end != cur && !*end && v > 0 && v < total) {
			*ret = v;
			return 0;
		}
	}
	*ret = total;
	return 0;
}

int knob_parse(struct fault *f, int argc, char **argv)
{
	enum { OPT_CGROUP = 1, OPT_MAX, OPT_SOFT, OPT_PERCENT };
	static const struct option opts[] = {
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "max", required_argument, NULL, OPT_MAX },
		{ "soft", no_argument, NULL, OPT_SOFT },
		{ "percent", required_argument, NULL, OPT_PERCENT },
		FAULT_COMMON_OPTIONS,
		{},
	};
	struct knob_priv *p = f->priv;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	bool have_percent = false;
	int opt, err;

	p->kind = !strcmp(f->ops->family, "mem") ? KNOB_MEM :
		  !strcmp(f->ops->family, "cpu") ? KNOB_CPU : KNOB_FREEZE;
	if (ncpu < 1)
		ncpu = 1;
	while ((opt = fault_getopt(f, argc, argv, opts, &err)) >= 0) {
		switch (opt) {
		case OPT_CGROUP:
			p->cgroup_arg = optarg;
			break;
		case OPT_MAX:
			if (p->kind != KNOB_MEM) {
				log_error("--max: only 'tug mem limit' takes it");
				return -EINVAL;
			}
			if (parse_size_or_pct(optarg, &p->max) || (p->max.is_pct && p->max.pct <= 0) ||
			    (!p->max.is_pct && p->max.bytes < MIB))
				return fault_bad_option("--max", optarg,
							"a size of at least 1M, like 512M or 2G, or a "
							"percentage above 0, like 50%");
			p->have_max = true;
			break;
		case OPT_SOFT:
			if (p->kind != KNOB_MEM) {
				log_error("--soft: only 'tug mem limit' takes it");
				return -EINVAL;
			}
			p->soft = true;
			break;
		case OPT_PERCENT: {
			char *end;

			if (p->kind != KNOB_CPU) {
				log_error("--percent: only 'tug cpu throttle' takes it");
				return -EINVAL;
			}
			errno = 0;
			p->percent = strtod(optarg, &end);
			if (end != optarg && *end == '%')
				end++;
			if (errno || end == optarg || *end || !isfinite(p->percent) ||
			    optarg[0] < '0' || optarg[0] > '9' ||
			    p->percent < 1 || p->percent > 100.0 * ncpu) {
				char form[96];

				snprintf(form, sizeof(form), "a share of one CPU from 1 to %ld, like 20 or 12.5%%",
					 100 * ncpu);
				return fault_bad_option("--percent", optarg, form);
			}
			have_percent = true;
			break;
		}
		}
	}
	if (err)
		return err;
	if (!p->cgroup_arg) {
		log_error("--cgroup: required; give the service's cgroup, like system.slice/foo.service");
		return -EINVAL;
	}
	if (p->kind == KNOB_MEM && !p->have_max) {
		log_error("--max: required; give a SIZE like 512M or a PCT like 50%%");
		return -EINVAL;
	}
	if (p->kind == KNOB_CPU && !have_percent) {
		log_error("--percent: required; give a share of one CPU, like --percent 20");
		return -EINVAL;
	}
	json_object_object_add(f->params, "cgroup", json_object_new_string(p->cgroup_arg));
	if (p->kind == KNOB_MEM) {
		json_object_object_add(f->params, "soft", json_object_new_boolean(p->soft));
		if (p->max.is_pct)
			json_object_object_add(f->params, "max_pct", json_object_new_double(p->max.pct));
		else
			json_object_object_add(f->params, "max_bytes", json_object_new_int64(p->max.bytes));
	} else if (p->kind == KNOB_CPU) {
		json_object_object_add(f->params, "percent", json_object_new_double(p->percent));
	}
	return 0;
}

static const char *const knob_controller[] = { "memory", "cpu", "freezer" };

int knob_prepare(struct fault *f)
{
	struct knob_priv *p = f->priv;
	int err;

	err = cgroup_resolve_flag(knob_controller[p->kind], p->cgroup_arg, &p->cg);
	if (err)
		return err;

	switch (p->kind) {
	case KNOB_MEM: {
		uint64_t bytes = p->max.bytes, usage = 0;
		unsigned long long u;

		p->file = p->cg.v2 ? (p->soft ? "memory.high" : "memory.max") :
				     (p->soft ? "memory.soft_limit_in_bytes" : "memory.limit_in_bytes");
		if (p->max.is_pct) {
			err = mem_parse_pct_base(p, &p->base_pct);
			if (err)
				return log_errno(err, "cannot read /proc/meminfo");
			bytes = (uint64_t)((double)p->base_pct * p->max.pct / 100.0);
			if (bytes < MIB) {
				log_error("--max: %.3g%% of %" PRIu64 " bytes is below 1M", p->max.pct, p->base_pct);
				return -EINVAL;
			}
		}
		bytes &= ~(PAGE_BYTES - 1);	/* the kernel keeps whole pages */
		snprintf(p->want, sizeof(p->want), "%" PRIu64, bytes);
		if (!cgroup_read_key(p->cg.path, p->cg.v2 ? "memory.events" : "memory.oom_control",
				     "oom_kill", &u))
			p->base_oom = u;
		if (!cgroup_read(p->cg.path, p->cg.v2 ? "memory.current" : "memory.usage_in_bytes",
				 p->applied, sizeof(p->applied)))
			usage = strtoull(p->applied, NULL, 10);
		if (!p->soft && usage > bytes)
			log_warn("--max: %s is below what %s uses now (%" PRIu64 " bytes): the kernel "
				 "will reclaim and may OOM-kill%s", p->want, p->cg.path, usage,
				 p->cg.v2 ? "" : " (v1 refuses with EBUSY what it cannot reclaim)");
		break;
	}
	case KNOB_CPU: {
		unsigned long long period = 100000, quota;
		char buf[128];

		if (p->cg.v2) {
			p->file = "cpu.max";
			err = cgroup_read(p->cg.path, p->file, buf, sizeof(buf));
			if (!err && sscanf(buf, "%*s %llu", &period) != 1)
				period = 100000;
		} else {
			p->file = "cpu.cfs_quota_us";
			err = cgroup_read(p->cg.path, "cpu.cfs_period_us", buf, sizeof(buf));
			if (!err)
				period = strtoull(buf, NULL, 10);
		}
		if (err)
			return log_errno(err, "--cgroup: cannot read the CPU period of %s", p->cg.path);
		quota = round_u64(p->percent / 100.0 * (double)period);
		if (quota < 1000) {
			log_error("--percent: %.3g%% of a %llu us period is below the kernel's 1 ms minimum quota",
				  p->percent, period);
			return -EINVAL;
		}
		if (p->cg.v2)
			snprintf(p->want, sizeof(p->want), "%llu %llu", quota, period);
		else
			snprintf(p->want, sizeof(p->want), "%llu", quota);
		break;
	}
	case KNOB_FREEZE: {
		char self[CGROUP_PATH_MAX];

		p->file = p->cg.v2 ? "cgroup.freeze" : "freezer.state";
		snprintf(p->want, sizeof(p->want), "%s", p->cg.v2 ? "1" : "FROZEN");
		snprintf(self, sizeof(self), "/proc/%d/cgroup", getpid());
		if (cgroup_holds(&p->cg, self, "freezer")) {
			log_error("--cgroup: %s holds tug itself; freezing it would freeze the controller "
				  "that must thaw it", p->cg.path);
			return -EINVAL;
		}
		break;
	}
	}

	err = cgroup_read(p->cg.path, p->file, p->prev, sizeof(p->prev));
	if (err) {
		log_errno(err, "--cgroup: cannot read %s/%s%s", p->cg.path, p->file,
			  err == -ENOENT && p->cg.v2 ? " (is the controller enabled in the parent's "
			  "cgroup.subtree_control?)" : "");
		return -EINVAL;
	}
	if (p->kind == KNOB_FREEZE && strcmp(p->prev, p->cg.v2 ? "0" : "THAWED")) {
		/* Frozen by a live fault of tug's: name it. */
		fault_add_knob(f, "%s/%s", p->cg.path, p->file);
		if (fault_check_knobs(f) == -EBUSY)
			return -EBUSY;
		log_error("--cgroup: %s is already frozen (%s is '%s'); tug thaws only what it froze",
			  p->cg.path, p->file, p->prev);
		return -EINVAL;
	}
	if (p->kind == KNOB_CPU && !p->cg.v2) {
		unsigned long long u;

		if (!cgroup_read_key(p->cg.path, "cpu.stat", "nr_throttled", &u))
			p->base_throttled = u;
		if (!cgroup_read_key(p->cg.path, "cpu.stat", "throttled_time", &u))
			p->base_throttled_us = u / 1000;
	} else if (p->kind == KNOB_CPU) {
		unsigned long long u;

		if (!cgroup_read_key(p->cg.path, "cpu.stat", "nr_throttled", &u))
			p->base_throttled = u;
		if (!cgroup_read_key(p->cg.path, "cpu.stat", "throttled_usec", &u))
			p->base_throttled_us = u;
	}
	snprintf(p->applied, sizeof(p->applied), "%s", p->want);

	json_object_object_add(f->state, "cgroup", json_object_new_string(p->cg.path));
	json_object_object_add(f->state, "hierarchy", json_object_new_string(p->cg.v2 ? "v2" : "v1"));
	json_object_object_add(f->state, "file", json_object_new_string(p->file));
	json_object_object_add(f->state, "previous", json_object_new_string(p->prev));
	json_object_object_add(f->state, "want", json_object_new_string(p->want));
	json_object_object_add(f->state, "applied", json_object_new_string(p->applied));
	fault_add_knob(f, "%s/%s", p->cg.path, p->file);
	f->needs_guardian = true;
	return 0;
}

static bool freeze_done(struct knob_priv *p)
{
	char buf[64];
	unsigned long long v;

	if (p->cg.v2)
		return !cgroup_read_key(p->cg.path, "cgroup.events", "frozen", &v) && v == 1;
	return !cgroup_read(p->cg.path, "freezer.state", buf, sizeof(buf)) && !strcmp(buf, "FROZEN");
}

int knob_apply(struct fault *f)
{
	struct knob_priv *p = f->priv;
	uint64_t t0 = mono_ns();
	int err;

	/* Before the write: lowering a limit can OOM-kill at once. */
	if (p->kind == KNOB_MEM)
		observer_fault_start(f, p->cg.path, &p->obs);
	err = cgroup_write(p->cg.path, p->file, p->want);
	if (err) {
		observer_close(p->obs);
		p->obs = NULL;
		f->on_event = NULL;
		if (err == -EBUSY && p->kind == KNOB_MEM)
			log_error("%s/%s: the kernel could not reclaim down to %s bytes (v1 refuses a limit "
				  "below what it cannot reclaim); ask for more", p->cg.path, p->file, p->want);
		else if (err == -EINVAL && p->kind == KNOB_CPU && !p->cg.v2)
			log_error("%s/%s: refused %s (v1 wants a child's quota within its parent's)",
				  p->cg.path, p->file, p->want);
		return err;
	}
	cgroup_read(p->cg.path, p->file, p->applied, sizeof(p->applied));
	json_object_object_add(f->state, "applied", json_object_new_string(p->applied));
	if (p->kind == KNOB_FREEZE) {
		/* A task in an uninterruptible sleep freezes when it wakes. */
		while (!freeze_done(p) && mono_ns() - t0 < 5 * NSEC_PER_SEC)
			usleep(1000);
		if (freeze_done(p))
			p->freeze_ns = mono_ns() - t0;
		else
			log_warn("%s: not every task has frozen after 5 s; holding anyway", p->cg.path);
	}
	return 0;
}

void knob_describe(struct fault *f, char *buf, size_t len)
{
	struct knob_priv *p = f->priv;
	char size[32];

	switch (p->kind) {
	case KNOB_MEM:
		snprintf(buf, len, "%s/%s = %s (%s) (was %s)%s", p->cg.path, p->file, p->applied,
			 format_size(strtoull(p->applied, NULL, 10), size, sizeof(size)), p->prev,
			 p->max.is_pct ? (p->base_pct ? " [PCT of the previous limit or MemTotal]" : "") : "");
		break;
	case KNOB_CPU:
		snprintf(buf, len, "%s/%s = %s (%.3g%% of one CPU) (was %s)", p->cg.path, p->file,
			 p->applied, p->percent, p->prev);
		break;
	case KNOB_FREEZE:
		snprintf(buf, len, "%s frozen (%s = %s) in %.1f ms", p->cg.path, p->file, p->applied,
			 p->freeze_ns / 1e6);
		break;
	}
}

int knob_counters(struct fault *f, struct fault_counter *c, int max)
{
	struct knob_priv *p = f->priv;
	unsigned long long v = 0;
	char buf[64];
	int n = 0;

	if (max < 4)
		return 0;
	switch (p->kind) {
	case KNOB_MEM:
		if (!cgroup_read(p->cg.path, p->cg.v2 ? "memory.current" : "memory.usage_in_bytes",
				 buf, sizeof(buf)))
			v = strtoull(buf, NULL, 10);
		c[n++] = (struct fault_counter){ "usage_bytes", v };
		v = p->base_oom;
		cgroup_read_key(p->cg.path, p->cg.v2 ? "memory.events" : "memory.oom_control", "oom_kill", &v);
		c[n++] = (struct fault_counter){ "oom_kills", v - p->base_oom };
		break;
	case KNOB_CPU:
		v = p->base_throttled;
		cgroup_read_key(p->cg.path, "cpu.stat", "nr_throttled", &v);
		c[n++] = (struct fault_counter){ "nr_throttled", v - p->base_throttled };
		v = p->base_throttled_us * (p->cg.v2 ? 1 : 1000);
		cgroup_read_key(p->cg.path, "cpu.stat", p->cg.v2 ? "throttled_usec" : "throttled_time", &v);
		v = p->cg.v2 ? v : v / 1000;
		c[n++] = (struct fault_counter){ "throttled_ms", (v - p->base_throttled_us) / 1000 };
		break;
	case KNOB_FREEZE:
		c[n++] = (struct fault_counter){ "frozen", freeze_done(p) };
		c[n++] = (struct fault_counter){ "freeze_us", p->freeze_ns / 1000 };
		break;
	}
	return n;
}

int knob_revert(struct fault *f)
{
	struct knob_priv *p = f->priv;
	enum restore_outcome o;
	char cur[128];
	int err;

	observer_fault_end(f, p->obs);	/* the kills while the limit held */
	p->obs = NULL;
	err = knob_restore(p->cg.path, p->file, p->prev, p->applied, p->want, &o, cur, sizeof(cur));
	if (err)
		return err;
	if (o == FOREIGN) {
		json_object *x = json_object_new_object();

		knob_log_foreign(p->cg.path, p->file, cur, p->applied, p->prev);
		json_object_object_add(x, "file", json_object_new_string(p->file));
		json_object_object_add(x, "found", json_object_new_string(cur));
		json_object_object_add(x, "tug_set", json_object_new_string(p->applied));
		json_object_object_add(x, "previous", json_object_new_string(p->prev));
		fault_emit(f, EV_LEFT_ALONE, x);
		json_object_put(x);
	} else if (o == CGROUP_GONE) {
		log_info("%s is gone; nothing to restore", p->cg.path);
	}
	return 0;
}

/* The journal is root's, but what recovery writes into or kills must be a
 * cgroup whatever an entry says: it is left alone (and the entry dropped)
 * otherwise. */
bool knob_path_refused(const char *dir)
{
	int err = cgroup_path_check(dir);

	if (err && err != -ENOENT)
		log_warn("a journal entry names %s, which is not a cgroup directory under this "
			 "host's cgroup mounts; left alone", dir);
	return err != 0;
}

int knob_recover(json_object *entry)
{
	json_object *s = json_get(entry, "state");
	const char *dir = json_get_str(s, "cgroup", NULL), *file = json_get_str(s, "file", NULL);
	const char *prev = json_get_str(s, "previous", NULL);
	const char *applied = json_get_str(s, "applied", ""), *want = json_get_str(s, "want", "");
	enum restore_outcome o;
	char cur[128];
	int err;

	if (!dir || !file || !prev || strchr(file, '/'))
		return 0;	/* prepare never got that far */
	if (knob_path_refused(dir))
		return 0;
	err = knob_restore(dir, file, prev, applied, want, &o, cur, sizeof(cur));
	if (!err && o == FOREIGN)
		knob_log_foreign(dir, file, cur, applied, prev);
	return err;
}

const char *knob_backend_for(const char *controller, const char *v1file, const char *v2file,
				    char *why, size_t len)
{
	struct cgroup_layout l;
	char root[CGROUP_PATH_MAX];
	bool v2;

	if (cgroup_probe(&l))
		return NULL;
	if (cgroup_controller_root(&l, controller, root, sizeof(root), &v2)) {
		if (!strcmp(controller, "freezer") && l.v2_root[0]) {
			snprintf(why, len, "v2 %s under %s", v2file, l.v2_root);
			return "cgroup-v2";
		}
		snprintf(why, len, "no hierarchy has the %s controller", controller);
		return NULL;
	}
	snprintf(why, len, "%s %s under %s", v2 ? "v2" : "v1", v2 ? v2file : v1file, root);
	return v2 ? "cgroup-v2" : "cgroup-v1";
}

