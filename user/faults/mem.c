// SPDX-License-Identifier: GPL-2.0
/*
 * The mem family: one service squeezed, never the host.
 *
 *   mem limit     lower one cgroup's memory limit (the knob engine, cgknob.c)
 *   mem pressure  a hog that holds exactly SIZE resident, in its own capped
 *                 child cgroup, oom_score_adj 1000, gone with tug
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
#include "spawn.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define MIB (UINT64_C(1) << 20)
#define PAGE_BYTES UINT64_C(4096)

static const char *mem_backend(char *why, size_t len)
{
	return knob_backend_for("memory", "memory.limit_in_bytes", "memory.max", why, len);
}

/* ------------------------------------------------------------------ */
/* The hog: exactly SIZE allocated and touched, in its own cgroup.     */

#define HOG_FILL_MAX (120 * NSEC_PER_SEC)

struct hog_msg {
	int32_t err;
	uint32_t pad;
	uint64_t fill_ns;
};

struct hog_priv {
	struct size_or_pct size;
	const char *cgroup_arg;
	struct cgroup_dir target;	/* --cgroup, or the hierarchy's root */
	uint64_t bytes, cap, base_pct;
	bool capped;
	char dir[CGROUP_PATH_MAX + 64];
	bool created;
	pid_t pid;
	int pidfd, rd;
	uint64_t fork_ns, fill_ns, resident;
	bool reached;
	unsigned long long base_oom;
	struct observer *obs;		/* OOM kills in the target (or the host), live */
};

static int hog_parse(struct fault *f, int argc, char **argv)
{
	enum { OPT_SIZE = 1, OPT_CGROUP };
	static const struct option opts[] = {
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		FAULT_COMMON_OPTIONS,
		{},
	};
	struct hog_priv *p = f->priv;
	bool have_size = false;
	int opt, err;

	p->pidfd = p->rd = -1;
	while ((opt = fault_getopt(f, argc, argv, opts, &err)) >= 0) {
		switch (opt) {
		case OPT_SIZE:
			if (parse_size_or_pct(optarg, &p->size) || (p->size.is_pct && p->size.pct <= 0) ||
			    (!p->size.is_pct && p->size.bytes < MIB))
				return fault_bad_option("--size", optarg,
							"a size of at least 1M, like 512M or 2G, or a "
							"percentage above 0, like 70%");
			have_size = true;
			break;
		case OPT_CGROUP:
			p->cgroup_arg = optarg;
			break;
		}
	}
	if (err)
		return err;
	if (!have_size) {
		log_error("--size: required; give a SIZE like 512M or a PCT like 70%%");
		return -EINVAL;
	}
	if (p->cgroup_arg)
		json_object_object_add(f->params, "cgroup", json_object_new_string(p->cgroup_arg));
	if (p->size.is_pct)
		json_object_object_add(f->params, "size_pct", json_object_new_double(p->size.pct));
	else
		json_object_object_add(f->params, "size_bytes", json_object_new_int64(p->size.bytes));
	return 0;
}

static int hog_prepare(struct fault *f)
{
	struct hog_priv *p = f->priv;
	uint64_t total = 0, avail = 0;
	char buf[128], size[32], size2[32];
	int err;

	if (proc_kb("/proc/meminfo", "MemTotal", &total) || proc_kb("/proc/meminfo", "MemAvailable", &avail))
		return log_errno(-EIO, "cannot read /proc/meminfo");
	if (p->cgroup_arg) {
		err = cgroup_resolve_flag("memory", p->cgroup_arg, &p->target);
		if (err)
			return err;
	} else {
		struct cgroup_layout l;
		bool v2;

		if (cgroup_probe(&l) ||
		    cgroup_controller_root(&l, "memory", p->target.root, sizeof(p->target.root), &v2)) {
			log_error("no mounted cgroup hierarchy has the memory controller; the hog needs one "
				  "for its cap ('tug doctor' shows the layout)");
			return -EINVAL;
		}
		p->target.v2 = v2;
		snprintf(p->target.path, sizeof(p->target.path), "%s", p->target.root);
	}

	p->bytes = p->size.bytes;
	if (p->size.is_pct) {
		p->base_pct = total;
		if (p->cgroup_arg) {
			unsigned long long lim = 0;
			char *end;

			err = cgroup_read(p->target.path, p->target.v2 ? "memory.max" : "memory.limit_in_bytes",
					  buf, sizeof(buf));
			lim = err ? 0 : strtoull(buf, &end, 10);
			if (err || !lim || lim >= total) {
				log_error("--size: %s has no memory limit to take %.3g%% of; give a SIZE, "
					  "like --size 512M", p->target.path, p->size.pct);
				return -EINVAL;
			}
			p->base_pct = lim;
		}
		p->bytes = (uint64_t)((double)p->base_pct * p->size.pct / 100.0);
	}
	p->bytes = (p->bytes + PAGE_BYTES - 1) & ~(PAGE_BYTES - 1);
	if (p->bytes < MIB) {
		log_error("--size: %" PRIu64 " bytes is below 1M", p->bytes);
		return -EINVAL;
	}
	if (p->bytes + 64 * MIB > avail) {
		log_error("--size: %s is more than this host has available (MemAvailable %s); the hog "
			  "would push it into a global OOM", format_size(p->bytes, size, sizeof(size)),
			  format_size(avail, size2, sizeof(size2)));
		return -EINVAL;
	}
	/* The hog's own stack, page tables and copied pages are charged too. */
	p->cap = p->bytes + p->bytes / 64 + 16 * MIB;
	p->capped = true;
	if (p->target.v2) {
		/* v2 gives a child a memory.max only when the parent enables the
		 * controller below it, which a cgroup with processes cannot. */
		p->capped = !cgroup_read(p->target.path, "cgroup.subtree_control", buf, sizeof(buf)) &&
			    strstr(buf, "memory");
		if (!p->capped)
			log_warn("%s does not enable memory for its children (it holds processes, or "
				 "cgroup.subtree_control lacks memory): the hog's cgroup gets no cap of its "
				 "own and is bounded by %s's limit and its fixed allocation", p->target.path,
				 p->target.path);
	}
	cgroup_read_key(p->target.path, p->target.v2 ? "memory.events" : "memory.oom_control",
			"oom_kill", &p->base_oom);
	json_object_object_add(f->state, "target", json_object_new_string(p->target.path));
	json_object_object_add(f->state, "hierarchy", json_object_new_string(p->target.v2 ? "v2" : "v1"));
	json_object_object_add(f->state, "bytes", json_object_new_int64(p->bytes));
	json_object_object_add(f->state, "cap", json_object_new_int64(p->capped ? p->cap : 0));
	f->needs_guardian = true;
	return 0;
}

struct hog_args {
	struct hog_priv *p;
	pid_t parent;
};

/* Runs with the result pipe on fd 3 and the go pipe on fd 4. */
static int hog_child(void *arg)
{
	const struct hog_args *a = arg;
	struct hog_priv *p = a->p;
	struct hog_msg m = { 0 };
	sigset_t none;
	uint64_t t0, swap = 0;
	char *mem = NULL;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != a->parent)
		_exit(1);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	/* The hog goes first when a global OOM has to pick. */
	m.err = cgroup_write("/proc/self", "oom_score_adj", "1000");
	if (!m.err)
		m.err = cgroup_write(p->dir, "cgroup.procs", "0");
	if (m.err)
		goto out;
	{
		char c;	/* wait for the controller's go (EOF on fd 4) */

		while (read(4, &c, 1) < 0 && errno == EINTR)
			;
		close(4);
	}
	proc_kb("/proc/meminfo", "SwapTotal", &swap);
	t0 = mono_ns();
	mem = mmap(NULL, p->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		m.err = -errno;
		goto out;
	}
	if (madvise(mem, p->bytes, MADV_POPULATE_WRITE)) {
		if (errno != EINVAL) {
			m.err = -errno;
			goto out;
		}
		for (uint64_t off = 0; off < p->bytes; off += PAGE_BYTES)
			mem[off] = 1;
	}
	m.fill_ns = mono_ns() - t0;
out:
	if (write(3, &m, sizeof(m)) != sizeof(m) || m.err)
		_exit(1);
	close(3);
	for (;;) {
		sleep(1);
		/* With swap the kernel may page the hog out: keep it resident. */
		if (swap)
			for (uint64_t off = 0; off < p->bytes; off += PAGE_BYTES)
				((volatile char *)mem)[off] += 1;
	}
}

static bool stop_pending(void)
{
	sigset_t s;

	return !sigpending(&s) &&
	       (sigismember(&s, SIGINT) || sigismember(&s, SIGTERM) || sigismember(&s, SIGHUP));
}

static void hog_kill_wait(struct hog_priv *p)
{
	if (p->pid <= 0)
		return;
	if (p->pidfd >= 0)
		syscall(SYS_pidfd_send_signal, p->pidfd, SIGKILL, NULL, 0);
	else
		kill(p->pid, SIGKILL);
	while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
		;
	p->pid = 0;
}

/* Remove a hog cgroup: kill what is in it (only the hog can be), wait
 * for it to empty, rmdir. Shared by revert and recover. */
static int hog_cgroup_remove(const char *dir, bool v2)
{
	uint64_t t0 = mono_ns();
	struct stat st;

	if (stat(dir, &st))
		return 0;
	if (!v2 || cgroup_write(dir, "cgroup.kill", "1")) {
		char path[CGROUP_PATH_MAX + 64];
		FILE *f;
		int pid;

		snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
		f = fopen(path, "re");
		if (f) {
			while (fscanf(f, "%d", &pid) == 1)
				if (pid > 0)
					kill(pid, SIGKILL);
			fclose(f);
		}
	}
	while (rmdir(dir)) {
		if (errno == ENOENT)
			return 0;
		if (errno != EBUSY || mono_ns() - t0 > 10 * NSEC_PER_SEC)
			return -errno;
		usleep(2000);
	}
	return 0;
}

static int hog_apply(struct fault *f)
{
	struct hog_priv *p = f->priv;
	char cap[32], usage[64];
	struct hog_msg m;
	uint64_t t_end;
	int fds[2], go[2], err;

	snprintf(p->dir, sizeof(p->dir), "%s/tug-hog-%s", p->target.path, f->id);
	json_object_object_add(f->state, "hog_cgroup", json_object_new_string(p->dir));
	err = fault_journal_update(f);	/* intent first: recover knows what to remove */
	if (err)
		return err;
	if (mkdir(p->dir, 0755))
		return -errno;
	p->created = true;
	if (p->capped) {
		snprintf(cap, sizeof(cap), "%" PRIu64, p->cap);
		err = cgroup_write(p->dir, p->target.v2 ? "memory.max" : "memory.limit_in_bytes", cap);
		if (err)
			goto fail;
		/* Best effort: a swapped hog is no pressure. */
		if (p->target.v2)
			cgroup_write(p->dir, "memory.swap.max", "0");
		else
			cgroup_write(p->dir, "memory.swappiness", "0");
	}
	if (pipe2(fds, O_CLOEXEC)) {
		err = -errno;
		goto fail;
	}
	if (pipe2(go, O_CLOEXEC)) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		goto fail;
	}
	p->fork_ns = mono_ns();
	err = spawn(&(struct spawn_opts){
			    .fds = { { SPAWN_DEVNULL, 0 }, { SPAWN_DEVNULL, 1 }, { fds[1], 3 }, { go[0], 4 } },
			    .n_fds = 4,
			    .name = "tug-hog",
			    .fn = hog_child,
			    .arg = &(struct hog_args){ .p = p, .parent = getpid() },
		    }, &p->pid, &p->pidfd);
	close(fds[1]);
	close(go[0]);
	if (err) {
		close(fds[0]);
		close(go[1]);
		goto fail;
	}
	/* OOM kills in the target, reported live. Opened after the fork so the
	 * hog shares none of the observer's memory (its resident size stays
	 * its own), before the fill starts (closing go lets it). */
	observer_fault_start(f, strcmp(p->target.path, p->target.root) ? p->target.path : NULL, &p->obs);
	close(go[1]);
	p->rd = fds[0];
	{
		uint64_t start = 0;

		proc_start_time(p->pid, &start);
		json_object_object_add(f->state, "hog_pid", json_object_new_int64(p->pid));
		json_object_object_add(f->state, "hog_start", json_object_new_int64(start));
		fault_journal_update(f);
	}

	/* Wait until the asked size is resident, the hog dies, the user stops
	 * us (the signal stays pending: the hold sees it at once), or the fill
	 * takes longer than HOG_FILL_MAX (or --for, when longer). The hold of
	 * --for starts once SIZE is resident. */
	t_end = p->fork_ns + (f->duration_ns > HOG_FILL_MAX ? f->duration_ns : HOG_FILL_MAX);
	for (;;) {
		struct pollfd pf = { .fd = p->rd, .events = POLLIN };
		int r = poll(&pf, 1, 50);

		if (r > 0) {
			ssize_t n = read(p->rd, &m, sizeof(m));

			if (n != sizeof(m)) {
				int status = 0;

				waitpid(p->pid, &status, 0);
				p->pid = 0;
				if (WIFSIGNALED(status))
					log_error("the hog was killed by signal %d while allocating%s",
						  WTERMSIG(status), WTERMSIG(status) == SIGKILL ?
						  " (an OOM kill: its cgroup or the target ran out)" : "");
				err = -ECHILD;
				goto fail;
			}
			if (m.err) {
				err = m.err;
				log_errno(err, "the hog could not %s", err == -ENOMEM || err == -EFAULT ?
					  "allocate its size" : "join its cgroup");
				goto fail;
			}
			p->reached = true;
			p->fill_ns = mono_ns() - p->fork_ns;
			break;
		}
		if (stop_pending() || mono_ns() > t_end)
			break;
	}
	p->resident = pid_rss_anon(p->pid);
	if (p->reached) {
		json_object *x = json_object_new_object();
		char a[32], b[32];

		usage[0] = '\0';
		cgroup_read(p->dir, p->target.v2 ? "memory.current" : "memory.usage_in_bytes", usage, sizeof(usage));
		json_object_object_add(x, "asked_bytes", json_object_new_int64(p->bytes));
		json_object_object_add(x, "resident_bytes", json_object_new_int64(p->resident));
		json_object_object_add(x, "cgroup_bytes", json_object_new_int64(strtoll(usage, NULL, 10)));
		json_object_object_add(x, "fill_ms", json_object_new_int64((p->fill_ns + 500000) / NSEC_PER_MSEC));
		json_object_object_add(x, "hog_pid", json_object_new_int(p->pid));
		if (!f->json) {
			json_object_object_add(x, "asked", json_object_new_string(format_size(p->bytes, a, sizeof(a))));
			json_object_object_add(x, "resident", json_object_new_string(format_size(p->resident, b, sizeof(b))));
		}
		fault_emit(f, EV_PRESSURE_REACHED, x);
		json_object_put(x);
	} else if (!stop_pending()) {
		char a[32], b[32];

		log_warn("the hog holds %s of the %s asked after %.0f s of filling; holding that",
			 format_size(p->resident, a, sizeof(a)), format_size(p->bytes, b, sizeof(b)),
			 (mono_ns() - p->fork_ns) / 1e9);
	}
	return 0;
fail:
	hog_kill_wait(p);
	hog_cgroup_remove(p->dir, p->target.v2);
	p->created = false;
	return err;
}

static void hog_describe(struct fault *f, char *buf, size_t len)
{
	struct hog_priv *p = f->priv;
	char a[32], r[32], c[32];

	snprintf(buf, len, "hog pid %d holds %s of %s asked in %s (cap %s) after %.0f ms", p->pid,
		 format_size(p->resident, r, sizeof(r)), format_size(p->bytes, a, sizeof(a)), p->dir,
		 p->capped ? format_size(p->cap, c, sizeof(c)) : "none of its own", p->fill_ns / 1e6);
}

static int hog_counters(struct fault *f, struct fault_counter *c, int max)
{
	struct hog_priv *p = f->priv;
	unsigned long long v = p->base_oom;

	if (max < 4)
		return 0;
	cgroup_read_key(p->target.path, p->target.v2 ? "memory.events" : "memory.oom_control", "oom_kill", &v);
	c[0] = (struct fault_counter){ "asked_bytes", p->bytes };
	c[1] = (struct fault_counter){ "resident_bytes", p->pid > 0 ? pid_rss_anon(p->pid) : 0 };
	c[2] = (struct fault_counter){ "fill_ms", p->fill_ns / NSEC_PER_MSEC };
	c[3] = (struct fault_counter){ "oom_kills", v - p->base_oom };
	return 4;
}

static int hog_revert(struct fault *f)
{
	struct hog_priv *p = f->priv;
	int err;

	hog_kill_wait(p);
	observer_fault_end(f, p->obs);
	p->obs = NULL;
	if (!p->created)
		return 0;
	err = hog_cgroup_remove(p->dir, p->target.v2);
	if (!err)
		p->created = false;
	return err;
}

static int hog_recover(json_object *entry)
{
	json_object *s = json_get(entry, "state");
	const char *dir = json_get_str(s, "hog_cgroup", NULL);
	const char *base = dir ? strrchr(dir, '/') : NULL;

	/* Only a cgroup tug named for this fault. */
	if (!base || strncmp(base, "/tug-hog-", 9) || strcmp(base + 9, json_get_str(entry, "id", "")) ||
	    knob_path_refused(dir))
		return 0;
	return hog_cgroup_remove(dir, !strcmp(json_get_str(s, "hierarchy", ""), "v2"));
}

static void hog_destroy(struct fault *f)
{
	struct hog_priv *p = f->priv;

	hog_kill_wait(p);
	observer_close(p->obs);		/* apply failed half way */
	p->obs = NULL;
	if (p->rd >= 0)
		close(p->rd);
	if (p->pidfd >= 0)
		close(p->pidfd);
}

static const char *hog_backend(char *why, size_t len)
{
	return knob_backend_for("memory", "child cgroup with memory.limit_in_bytes",
				"child cgroup with memory.max", why, len);
}

const struct fault_ops mem_limit_ops = KNOB_OPS("mem", "limit",
	"lower one cgroup's memory limit; the exact previous value comes back",
	"Options:\n"
	CGROUP_USAGE
	"  --max SIZE|PCT     the new limit: 512M, 2G, or a PCT of the present limit\n"
	"                     (of MemTotal when there is none), like 50%\n"
	"  --soft             memory.high (v2) / memory.soft_limit_in_bytes (v1): throttle\n"
	"                     and reclaim instead of OOM-killing\n"
	"\nThe previous value is restored at the deadline, on Ctrl-C, by the guardian\n"
	"when tug is killed, or by 'tug recover'; a value someone else set meanwhile is\n"
	"left alone (and tug says so).\n"
	"\nExamples:\n"
	"  tug mem limit --cgroup system.slice/gateway.service --max 256M --for 2m\n"
	"  tug mem limit --cgroup /sys/fs/cgroup/system.slice/pg.service --max 50% --soft --for 60s\n",
	mem_backend);

const struct fault_ops mem_pressure_ops = {
	.family = "mem",
	.verb = "pressure",
	.summary = "a hog that holds exactly SIZE resident, in its own capped cgroup",
	.usage = "Options:\n"
		 "  --size SIZE|PCT    what to allocate and touch: 512M, 2G, or a PCT of MemTotal\n"
		 "                     (of the cgroup's memory limit with --cgroup), like 70%\n"
		 "  --cgroup PATH      put the hog in a child of this cgroup, so it squeezes\n"
		 "                     that service alone (default: a child of the root)\n"
		 "\nThe hog's child cgroup is capped at SIZE plus a little for its own page\n"
		 "tables, its oom_score_adj is 1000, and it dies with tug (and its cgroup with\n"
		 "it, removed by the guardian). The hold of --for starts once SIZE is resident\n"
		 "(after at most 2 min of filling); tug reports the resident size reached and\n"
		 "how long it took.\n"
		 "\nExamples:\n"
		 "  tug mem pressure --size 70% --for 2m\n"
		 "  tug mem pressure --size 80% --cgroup system.slice/gateway.service --for 60s\n",
	.priv_size = sizeof(struct hog_priv),
	.parse = hog_parse,
	.prepare = hog_prepare,
	.apply = hog_apply,
	.describe = hog_describe,
	.counters = hog_counters,
	.revert = hog_revert,
	.recover = hog_recover,
	.backend = hog_backend,
	.destroy = hog_destroy,
};
