// SPDX-License-Identifier: GPL-2.0
/*
 * Syscall faults: one process (or one cgroup, or one command tug launches)
 * sees a syscall fail with the errno asked, or is sent a signal at its Nth
 * call of it. Four backends, strongest first:
 *
 *   kprobe / fmod_ret  in the kernel, before the syscall's body runs, for any
 *                      running pid or cgroup (bpf_override_return on the
 *                      __<arch>_sys_* wrapper, or an fmod_ret trampoline).
 *                      Links die with tug. Many kernels lack both (no
 *                      CONFIG_BPF_KPROBE_OVERRIDE, lockdown): then a running
 *                      pid or cgroup cannot get an errno, and tug says so.
 *   lsm                where kernels lack both (Debian: no error injection)
 *                      but run BPF LSM: the hook behind a few syscalls denies
 *                      the operation with the errno, for a running pid or
 *                      cgroup: file_open (open family), file_permission
 *                      (read/write families), socket_connect (connect).
 *   seccomp            for a command tug launches (-- CMD): a seccomp filter
 *                      returns SECCOMP_RET_USER_NOTIF for the one syscall;
 *                      tug's notification thread answers each call with the
 *                      errno or with SECCOMP_USER_NOTIF_FLAG_CONTINUE. This
 *                      is where --path works: tug reads the path from the
 *                      caller's memory. The filter stays on the command for
 *                      life, so after the deadline tug continues every call
 *                      and waits for the command (it is not killed unless
 *                      --kill-at-end says so); a "keeper" process takes over
 *                      the continuing if tug itself dies.
 *   tracepoint         --signal: raw_syscalls/sys_enter + bpf_send_signal
 *                      sends the signal once, at the (after+1)th matching
 *                      call; any kernel with BPF raw tracepoints.
 *
 * A note on CONTINUE: the path tug matched is read from the caller's memory
 * before the kernel reads it again; another thread can change it in
 * between (TOCTOU). That makes CONTINUE no security boundary, which a fault
 * injector does not need: a race can only flip one decision.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "fault.h"
#include "journal.h"
#include "kernel.h"
#include "log.h"
#include "parse.h"
#include "spawn.h"
#include "sysfail.h"		/* bpf/: counters shared with the programs */
#include "sysfail.skel.h"
#include "sysfail_plan.h"

static const char *const backend_names[SYSFAIL_BACKEND_MAX] = {
	[SYSFAIL_AUTO] = "auto",
	[SYSFAIL_KPROBE] = "kprobe",
	[SYSFAIL_FMOD_RET] = "fmod_ret",
	[SYSFAIL_SECCOMP] = "seccomp",
	[SYSFAIL_TRACEPOINT] = "tracepoint",
	[SYSFAIL_LSM] = "lsm",
};

static const char *const counter_names[SYSFAIL_COUNTER_MAX] = {
	[SYSFAIL_SEEN] = "seen",
	[SYSFAIL_FAILED] = "failed",
	[SYSFAIL_CONTINUED] = "continued",
};

const char *sysfail_backend_name(enum sysfail_backend b)
{
	return b < SYSFAIL_BACKEND_MAX ? backend_names[b] : "?";
}

int sysfail_backend_parse(const char *s, enum sysfail_backend *ret)
{
	for (int b = 0; b < SYSFAIL_BACKEND_MAX; b++)
		if (!strcmp(s, backend_names[b])) {
			*ret = b;
			return 0;
		}
	return -EINVAL;
}

/* ---- planning (pure) ---- */

static bool backend_offered(enum sysfail_backend b, const struct sysfail_caps *c)
{
	switch (b) {
	case SYSFAIL_KPROBE: return c->kprobe_override;
	case SYSFAIL_FMOD_RET: return c->fmod_ret;
	case SYSFAIL_SECCOMP: return c->seccomp_notif;
	case SYSFAIL_TRACEPOINT: return c->signal_tp;
	case SYSFAIL_LSM: return c->bpf_lsm;
	default: return false;
	}
}

/* Whether backend b can serve request r at all, whatever the kernel. */
static const char *backend_unfit(enum sysfail_backend b, const struct sysfail_request *r)
{
	switch (b) {
	case SYSFAIL_KPROBE:
	case SYSFAIL_FMOD_RET:
		if (r->signal)
			return "sends no signals; --signal uses the tracepoint backend";
		if (r->path)
			return "cannot match --path (only the seccomp backend reads paths)";
		return NULL;
	case SYSFAIL_SECCOMP:
		if (r->scope != SYSFAIL_SCOPE_CMD)
			return "only acts on a command tug launches ('-- CMD ARGS...')";
		if (r->signal)
			return "sends no signals; --signal uses the tracepoint backend";
		return NULL;
	case SYSFAIL_TRACEPOINT:
		if (!r->signal)
			return "cannot fail a call, only signal at it; give --signal SIG";
		if (r->path)
			return "cannot match --path (only the seccomp backend reads paths)";
		return NULL;
	case SYSFAIL_LSM: {
		enum sysfail_lsm_hook h;
		unsigned m;

		if (r->signal)
			return "sends no signals; --signal uses the tracepoint backend";
		if (r->path)
			return "cannot match --path (only the seccomp backend reads paths)";
		if (!r->syscall || sysfail_lsm_hook(r->syscall, &h, &m))
			return "fails only " SYSFAIL_LSM_SYSCALLS;
		return NULL;
	}
	default:
		return "is not a backend";
	}
}

int sysfail_plan(const struct sysfail_request *r, const struct sysfail_caps *c,
		 enum sysfail_backend *ret, char *why, size_t len)
{
	/* Strongest first, per scope. A launched command prefers seccomp: its
	 * filter follows every process the command forks and can match paths;
	 * the in-kernel backends would follow only its first process. */
	static const enum sysfail_backend for_cmd[] = {
		SYSFAIL_SECCOMP, SYSFAIL_KPROBE, SYSFAIL_FMOD_RET, SYSFAIL_AUTO };
	static const enum sysfail_backend for_running[] = {
		SYSFAIL_KPROBE, SYSFAIL_FMOD_RET, SYSFAIL_LSM, SYSFAIL_AUTO };
	static const enum sysfail_backend for_signal[] = { SYSFAIL_TRACEPOINT, SYSFAIL_AUTO };
	const enum sysfail_backend *order;
	const char *unfit;

	if (r->scope == SYSFAIL_SCOPE_NONE) {
		snprintf(why, len, "no target: give --pid PID, --cgroup PATH or '-- CMD ARGS...'");
		return -EINVAL;
	}
	if (r->forced != SYSFAIL_AUTO) {
		unfit = backend_unfit(r->forced, r);
		if (unfit) {
			snprintf(why, len, "--backend %s %s", backend_names[r->forced], unfit);
			return -EINVAL;
		}
		if (!backend_offered(r->forced, c)) {
			snprintf(why, len, "--backend %s: this kernel does not offer it (see 'tug doctor')",
				 backend_names[r->forced]);
			return -EOPNOTSUPP;
		}
		*ret = r->forced;
		return 0;
	}
	order = r->signal ? for_signal : r->scope == SYSFAIL_SCOPE_CMD ? for_cmd : for_running;
	for (; *order != SYSFAIL_AUTO; order++)
		if (!backend_unfit(*order, r) && backend_offered(*order, c)) {
			*ret = *order;
			return 0;
		}
	if (r->signal) {
		if (r->path) {
			snprintf(why, len, "--path works only with --errno on a launched command "
				 "(seccomp backend); drop --path or use --errno with '-- CMD'");
			return -EINVAL;
		}
		snprintf(why, len, "--signal needs BPF raw tracepoints with bpf_send_signal, "
			 "which this kernel lacks (see 'tug doctor')");
		return -EOPNOTSUPP;
	}
	if (r->scope != SYSFAIL_SCOPE_CMD) {
		if (r->path) {
			snprintf(why, len, "--path is matched only by the seccomp backend, for a "
				 "command tug launches: use '-- CMD ARGS...' instead of --%s",
				 r->scope == SYSFAIL_SCOPE_PID ? "pid" : "cgroup");
			return -EINVAL;
		}
		if (c->bpf_lsm)
			snprintf(why, len, "an errno for %s in a running %s needs kprobe + "
				 "bpf_override_return or fmod_ret, which this kernel lacks; its BPF LSM "
				 "backend fails only %s (see 'tug doctor'); launch the program under tug "
				 "('-- CMD ARGS...', seccomp) or use --signal SIG",
				 r->syscall ? r->syscall : "this syscall",
				 r->scope == SYSFAIL_SCOPE_PID ? "pid" : "cgroup", SYSFAIL_LSM_SYSCALLS);
		else
			snprintf(why, len, "an errno for a running %s needs kprobe + bpf_override_return "
				 "or fmod_ret or BPF LSM, and this kernel offers none (see 'tug doctor'); "
				 "launch the program under tug ('-- CMD ARGS...', seccomp) or use --signal SIG",
				 r->scope == SYSFAIL_SCOPE_PID ? "pid" : "cgroup");
		return -EOPNOTSUPP;
	}
	snprintf(why, len, "this kernel offers no backend for an errno: neither seccomp user "
		 "notification nor kprobe override nor fmod_ret (see 'tug doctor')");
	return -EOPNOTSUPP;
}

/* The same probes as `tug doctor`: the kprobe PMU and the override helper,
 * probe.bpf.c's fmod_ret program, seccomp's actions_avail. */
void sysfail_probe_caps(struct sysfail_caps *ret, bool fmod_ret)
{
	struct sysfail_caps c = { 0 };

	c.kprobe_override = kernel_has_kprobe_override();
	c.seccomp_notif = kernel_has_seccomp_notif();
	c.signal_tp = libbpf_probe_bpf_helper(BPF_PROG_TYPE_RAW_TRACEPOINT,
					      BPF_FUNC_send_signal, NULL) == 1;
	/* Loading these parses BTF: only when the plan may need them. */
	c.fmod_ret = fmod_ret && kernel_probe_load("probe_fmod_ret") == 0;
	c.bpf_lsm = fmod_ret && kernel_file_has_word("/sys/kernel/security/lsm", "bpf") &&
		    kernel_probe_load("probe_lsm") == 0;
	*ret = c;
}

int sysfail_lsm_hook(const char *syscall, enum sysfail_lsm_hook *ret_hook, unsigned *ret_mask)
{
	static const struct {
		const char *name;
		enum sysfail_lsm_hook hook;
		unsigned mask;
	} t[] = {
		{ "open", SYSFAIL_LSM_OPEN, 0 }, { "openat", SYSFAIL_LSM_OPEN, 0 },
		{ "openat2", SYSFAIL_LSM_OPEN, 0 }, { "creat", SYSFAIL_LSM_OPEN, 0 },
		{ "read", SYSFAIL_LSM_RW, 4 }, { "readv", SYSFAIL_LSM_RW, 4 },
		{ "pread64", SYSFAIL_LSM_RW, 4 }, { "preadv", SYSFAIL_LSM_RW, 4 },
		{ "preadv2", SYSFAIL_LSM_RW, 4 },
		{ "write", SYSFAIL_LSM_RW, 2 }, { "writev", SYSFAIL_LSM_RW, 2 },
		{ "pwrite64", SYSFAIL_LSM_RW, 2 }, { "pwritev", SYSFAIL_LSM_RW, 2 },
		{ "pwritev2", SYSFAIL_LSM_RW, 2 },
		{ "connect", SYSFAIL_LSM_CONNECT, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(t[i].name, syscall)) {
			*ret_hook = t[i].hook;
			*ret_mask = t[i].mask;
			return 0;
		}
	return -ENOENT;
}

/* ---- syscall tables ---- */

static const struct {
	const char *name;
	signed char path, dirfd;
} path_syscalls[] = {
	{ "open", 0, -1 }, { "creat", 0, -1 }, { "openat", 1, 0 }, { "openat2", 1, 0 },
	{ "truncate", 0, -1 }, { "unlink", 0, -1 }, { "unlinkat", 1, 0 },
	{ "mkdir", 0, -1 }, { "mkdirat", 1, 0 }, { "rmdir", 0, -1 },
	{ "stat", 0, -1 }, { "lstat", 0, -1 }, { "newfstatat", 1, 0 }, { "statx", 1, 0 },
	{ "access", 0, -1 }, { "faccessat", 1, 0 }, { "faccessat2", 1, 0 },
	{ "execve", 0, -1 }, { "execveat", 1, 0 }, { "chdir", 0, -1 },
	{ "rename", 0, -1 }, { "renameat", 1, 0 }, { "renameat2", 1, 0 },
	{ "chmod", 0, -1 }, { "fchmodat", 1, 0 }, { "statfs", 0, -1 },
	{ "readlink", 0, -1 }, { "readlinkat", 1, 0 },
};

int sysfail_path_arg(const char *syscall, int *ret_dirfd_arg)
{
	for (size_t i = 0; i < sizeof(path_syscalls) / sizeof(path_syscalls[0]); i++)
		if (!strcmp(syscall, path_syscalls[i].name)) {
			if (ret_dirfd_arg)
				*ret_dirfd_arg = path_syscalls[i].dirfd;
			return path_syscalls[i].path;
		}
	return -ENOENT;
}

int sysfail_wrapper_symbol(const char *syscall, const char *machine, char *buf, size_t len)
{
	const char *prefix = !strcmp(machine, "x86_64") ? "__x64_sys_" :
			     !strcmp(machine, "aarch64") ? "__arm64_sys_" :
			     !strncmp(machine, "s390", 4) ? "__s390x_sys_" :
			     !strncmp(machine, "riscv", 5) ? "__riscv_sys_" : NULL;

	if (!prefix)
		return -EOPNOTSUPP;
	if ((size_t)snprintf(buf, len, "%s%s", prefix, syscall) >= len)
		return -ENAMETOOLONG;
	return 0;
}

uint64_t sysfail_threshold(double percent)
{
	return percent >= 100 ? SYSFAIL_ALL : round_u64(percent / 100.0 * (double)SYSFAIL_ALL);
}

bool sysfail_gate_pass(struct sysfail_gate *g, uint32_t rnd)
{
	if (g->matched++ < g->after)
		return false;
	return g->threshold >= SYSFAIL_ALL || rnd < g->threshold;
}

bool sysfail_path_match(const char *glob, const char *path, const char *base)
{
	char full[PATH_MAX * 2 + 2];

	if (!fnmatch(glob, path, 0))
		return true;
	if (glob[0] != '/' || path[0] == '/' || !base || base[0] != '/')
		return false;
	if ((size_t)snprintf(full, sizeof(full), "%s%s%s", base,
			     base[strlen(base) - 1] == '/' ? "" : "/",
			     path[0] == '.' && path[1] == '/' ? path + 2 : path) >= sizeof(full))
		return false;
	return !fnmatch(glob, full, 0);
}

/* ---- the fault ---- */

struct sysfail_priv {
	char syscall[64];
	int nr;
	int path_arg, dirfd_arg;
	bool signal;
	int err, sig;
	double percent;
	uint64_t after;
	char *glob;
	enum sysfail_scope scope;
	pid_t pid;
	char cgroup[PATH_MAX];
	char **cmd;
	bool kill_at_end;
	enum sysfail_backend forced, backend;
	struct fault *f;

	/* The launched command. */
	pid_t child;
	int child_pidfd;
	int gate_w;		/* closing or writing it lets the child exec */
	int status_r;		/* CLOEXEC pipe: EOF = exec done, else an errno */
	bool reaped;

	/* seccomp */
	int listener;
	int stop_fd;
	pthread_t thread;
	bool thread_started;
	pid_t keeper;
	struct seccomp_notif_sizes sizes;
	atomic_bool armed;	/* the command has exec'd: its calls count */
	atomic_bool passthrough;	/* after the deadline: continue everything */
	atomic_bool ended;	/* the command exited during the fault */
	atomic_int exec_err;	/* -1 pending, 0 exec'd, > 0 errno */
	pthread_mutex_t lock;
	pthread_cond_t exec_cond;
	struct sysfail_gate gate;
	uint64_t rng;
	_Atomic uint64_t cnt[SYSFAIL_COUNTER_MAX];

	/* in-kernel backends */
	struct sysfail_bpf *skel;
	struct bpf_link *link;
	int cgroup_fd;
};

static int cmd_json(struct fault *f, char **cmd)
{
	json_object *a = json_object_new_array();

	for (char **c = cmd; *c; c++)
		json_object_array_add(a, json_object_new_string(*c));
	json_object_object_add(f->params, "command", a);
	return 0;
}

static int sysfail_parse(struct fault *f, int argc, char **argv)
{
	enum { OPT_SYSCALL = 1, OPT_ERRNO, OPT_SIGNAL, OPT_PERCENT, OPT_AFTER, OPT_PATH,
	       OPT_CGROUP, OPT_PID, OPT_BACKEND, OPT_KILL_AT_END };
	static const struct option opts[] = {
		{ "syscall", required_argument, NULL, OPT_SYSCALL },
		{ "errno", required_argument, NULL, OPT_ERRNO },
		{ "signal", required_argument, NULL, OPT_SIGNAL },
		{ "percent", required_argument, NULL, OPT_PERCENT },
		{ "after", required_argument, NULL, OPT_AFTER },
		{ "path", required_argument, NULL, OPT_PATH },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "pid", required_argument, NULL, OPT_PID },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "kill-at-end", no_argument, NULL, OPT_KILL_AT_END },
		FAULT_COMMON_OPTIONS,
		{},
	};
	struct sysfail_priv *p = f->priv;
	bool have_errno = false, have_signal = false;
	int nscope = 0, opt, err;
	uint64_t v;

	p->listener = p->stop_fd = p->status_r = p->gate_w = p->child_pidfd = p->cgroup_fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->exec_cond, NULL);
	p->percent = 100;
	p->nr = -1;
	p->path_arg = p->dirfd_arg = -1;
	while ((opt = fault_getopt_cmd(f, argc, argv, opts, &p->cmd, &err)) >= 0) {
		switch (opt) {
		case OPT_SYSCALL: {
			int nr;

			if (strlen(optarg) >= sizeof(p->syscall))
				return fault_bad_option("--syscall", optarg, "a syscall name, like write or openat");
			nr = seccomp_syscall_resolve_name(optarg);
			if (nr < 0)
				return fault_bad_option("--syscall", optarg,
							"a syscall of this architecture, like write, openat or fsync");
			strcpy(p->syscall, optarg);
			p->nr = nr;
			break;
		}
		case OPT_ERRNO:
			if (parse_errno_name(optarg, &p->err))
				return fault_bad_option("--errno", optarg,
							"an errno name or number, like ENOSPC, EIO or 28");
			have_errno = true;
			break;
		case OPT_SIGNAL:
			if (parse_signal_name(optarg, &p->sig))
				return fault_bad_option("--signal", optarg, "a signal, like KILL, SIGSEGV or 9");
			have_signal = true;
			break;
		case OPT_PERCENT:
			if (parse_percent(optarg, &p->percent))
				return fault_bad_option("--percent", optarg, "a percentage 0..100, like 30 or 2.5%");
			break;
		case OPT_AFTER:
			if (parse_uint(optarg, 0, UINT64_MAX / 2, &v))
				return fault_bad_option("--after", optarg,
							"a count of calls to let through first, like 0 or 100");
			p->after = v;
			break;
		case OPT_PATH:
			free(p->glob);
			p->glob = strdup(optarg);
			if (!p->glob)
				return -ENOMEM;
			if (!*optarg)
				return fault_bad_option("--path", optarg, "a glob, like '/var/lib/app/*.db'");
			break;
		case OPT_CGROUP:
			if (strlen(optarg) >= sizeof(p->cgroup) || !*optarg)
				return fault_bad_option("--cgroup", optarg,
							"a cgroup v2 path, like system.slice/app.service");
			strcpy(p->cgroup, optarg);
			p->scope = SYSFAIL_SCOPE_CGROUP;
			nscope++;
			break;
		case OPT_PID:
			if (parse_uint(optarg, 1, INT32_MAX, &v))
				return fault_bad_option("--pid", optarg, "a process id, like 1234");
			p->pid = v;
			p->scope = SYSFAIL_SCOPE_PID;
			nscope++;
			break;
		case OPT_BACKEND:
			if (sysfail_backend_parse(optarg, &p->forced))
				return fault_bad_option("--backend", optarg,
							"one of auto, kprobe, fmod_ret, lsm, seccomp, tracepoint");
			break;
		case OPT_KILL_AT_END:
			p->kill_at_end = true;
			break;
		}
	}
	if (err)
		return err;
	if (p->cmd) {
		p->scope = SYSFAIL_SCOPE_CMD;
		nscope++;
	}
	if (p->nr < 0) {
		log_error("--syscall: required, like --syscall write");
		return -EINVAL;
	}
	if (have_errno == have_signal) {
		log_error("%s", have_errno ? "--errno and --signal: give one, not both"
					   : "--errno NAME or --signal SIG: one is required");
		return -EINVAL;
	}
	if (nscope != 1) {
		log_error("%s", nscope ? "give one target: --pid, --cgroup or '-- CMD', not several"
				       : "no target: give --pid PID, --cgroup PATH or '-- CMD ARGS...'");
		return -EINVAL;
	}
	if (p->kill_at_end && p->scope != SYSFAIL_SCOPE_CMD) {
		log_error("--kill-at-end: only for a command tug launches ('-- CMD')");
		return -EINVAL;
	}
	if (p->glob) {
		p->path_arg = sysfail_path_arg(p->syscall, &p->dirfd_arg);
		if (p->path_arg < 0) {
			log_error("--path: %s takes no path; --path works with open, openat, openat2, "
				  "creat, stat, unlink, mkdir, execve and the like", p->syscall);
			return -EINVAL;
		}
	}
	p->signal = have_signal;

	json_object_object_add(f->params, "syscall", json_object_new_string(p->syscall));
	json_object_object_add(f->params, "nr", json_object_new_int(p->nr));
	if (p->signal)
		json_object_object_add(f->params, "signal", json_object_new_string(sigabbrev_np(p->sig) ?: "?"));
	else
		json_object_object_add(f->params, "errno", json_object_new_string(strerrorname_np(p->err) ?: "?"));
	json_object_object_add(f->params, "percent", json_object_new_double(p->percent));
	json_object_object_add(f->params, "after", json_object_new_int64(p->after));
	if (p->glob)
		json_object_object_add(f->params, "path", json_object_new_string(p->glob));
	if (p->scope == SYSFAIL_SCOPE_PID)
		json_object_object_add(f->params, "pid", json_object_new_int(p->pid));
	else if (p->scope == SYSFAIL_SCOPE_CGROUP)
		json_object_object_add(f->params, "cgroup", json_object_new_string(p->cgroup));
	else
		cmd_json(f, p->cmd);
	return 0;
}

static int sysfail_prepare(struct fault *f)
{
	struct sysfail_priv *p = f->priv;
	struct sysfail_request r = {
		.scope = p->scope, .signal = p->signal, .path = p->glob != NULL, .forced = p->forced,
		.syscall = p->syscall,
	};
	struct sysfail_caps caps;
	char why[512];
	int err;

	p->f = f;
	/* Held from now on: the fault ends when this process exits, and its pid
	 * can name no other process meanwhile. */
	if (p->scope == SYSFAIL_SCOPE_PID) {
		p->child_pidfd = syscall(SYS_pidfd_open, p->pid, 0);
		if (p->child_pidfd < 0) {
			if (errno == ESRCH)
				log_error("--pid: no process %d", p->pid);
			else if (errno == EINVAL || errno == ENOENT)	/* older kernels: EINVAL */
				log_error("--pid: %d is a thread, not a process; give its process "
					  "(Tgid in /proc/%d/status)", p->pid, p->pid);
			else
				log_errno(-errno, "--pid %d: cannot hold it by a pidfd", p->pid);
			return -EINVAL;
		}
	}
	if (p->scope == SYSFAIL_SCOPE_CGROUP) {
		struct cgroup_dir cg;

		/* The tracepoint filters on a v2 cgroup id. */
		err = cgroup_resolve_flag(NULL, p->cgroup, &cg);
		if (err)
			return err;
		snprintf(p->cgroup, sizeof(p->cgroup), "%s", cg.path);
	}
	/* Loading the fmod_ret probe costs a BTF parse: only when it matters. */
	sysfail_probe_caps(&caps, false);
	err = sysfail_plan(&r, &caps, &p->backend, why, sizeof(why));
	if (err == -EOPNOTSUPP && !caps.kprobe_override) {
		sysfail_probe_caps(&caps, true);
		err = sysfail_plan(&r, &caps, &p->backend, why, sizeof(why));
	}
	if (err) {
		log_error("%s", why);
		return err;
	}
	if (p->backend == SYSFAIL_KPROBE || p->backend == SYSFAIL_FMOD_RET) {
		struct utsname u;
		char sym[128];

		uname(&u);
		if (sysfail_wrapper_symbol(p->syscall, u.machine, sym, sizeof(sym))) {
			log_error("--syscall: no syscall wrapper naming known for %s", u.machine);
			return -EINVAL;
		}
	}
	json_object_object_add(f->state, "backend", json_object_new_string(backend_names[p->backend]));
	if (p->scope == SYSFAIL_SCOPE_CGROUP) {
		json_object_object_add(f->state, "cgroup", json_object_new_string(p->cgroup));
		fault_add_knob(f, "%s() of cgroup %s", p->syscall, p->cgroup);
	} else if (p->scope == SYSFAIL_SCOPE_PID) {
		fault_add_knob(f, "%s() of pid %d", p->syscall, p->pid);
	}
	/* Nothing outlives tug but the seccomp filter, which dies with the
	 * command and whose listener the keeper serves; and, with
	 * --kill-at-end, the command, which the guardian then kills. */
	f->needs_guardian = p->kill_at_end;
	return 0;
}

/* ---- launching the command ---- */

static void child_fail(int status_w, int err)
{
	ssize_t n = write(status_w, &err, sizeof(err));

	_exit(n == sizeof(err) ? 127 : 126);
}

/* In the child, before exec: the seccomp filter that sends the syscall to
 * tug. Other architectures' calls (i386, x32) are let through rather than
 * killed (libseccomp's default). */
static int child_filter(struct sysfail_priv *p)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int err;

	if (!ctx)
		return ENOMEM;
	err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	/* As root, no_new_privs is not needed and would break setuid programs. */
	if (!err && geteuid() == 0)
		err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (!err)
		err = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, p->nr, 0);
	if (!err)
		err = seccomp_load(ctx);
	/* The listener is O_CLOEXEC: exec closes the child's copy. */
	return err ? -err : 0;
}

static int launch(struct sysfail_priv *p, bool seccomp)
{
	int gate[2], status[2], err;
	pid_t pid;

	if (pipe2(gate, O_CLOEXEC))
		return -errno;
	if (pipe2(status, O_CLOEXEC)) {
		err = -errno;
		close(gate[0]);
		close(gate[1]);
		return err;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(gate[0]);
		close(gate[1]);
		close(status[0]);
		close(status[1]);
		return err;
	}
	if (pid == 0) {
		sigset_t none;
		char c;

		close(gate[1]);
		close(status[0]);
		/* tug blocks and ignores signals; the command must not inherit that. */
		for (int s = 1; s < NSIG; s++)
			if (s != SIGKILL && s != SIGSTOP)
				signal(s, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (seccomp) {
			err = child_filter(p);
			if (err)
				child_fail(status[1], -err);
		}
		/* Wait until tug listens (seccomp) or its programs are attached. */
		if (read(gate[0], &c, 1) != 1)
			_exit(127);
		close(gate[0]);
		execvp(p->cmd[0], p->cmd);
		child_fail(status[1], errno);
	}
	close(gate[0]);
	close(status[1]);
	p->child = pid;
	p->gate_w = gate[1];
	p->status_r = status[0];
	p->child_pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (p->child_pidfd < 0)
		return -errno;
	return 0;
}

/* Let the child exec. */
static int release(struct sysfail_priv *p)
{
	int err = write(p->gate_w, "g", 1) == 1 ? 0 : -errno;

	close(p->gate_w);
	p->gate_w = -1;
	return err;
}

/* Without seccomp: wait for exec to succeed (EOF) or fail (an errno). */
static int wait_exec(struct sysfail_priv *p)
{
	int e;
	ssize_t n;

	do
		n = read(p->status_r, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	return n == sizeof(e) ? -e : 0;
}

static void kill_child(struct sysfail_priv *p)
{
	if (p->child <= 0 || p->reaped)
		return;
	syscall(SYS_pidfd_send_signal, p->child_pidfd, SIGKILL, NULL, 0);
	waitpid(p->child, NULL, 0);
	p->reaped = true;
}

/* ---- seccomp backend ---- */

/* The child's listener, taken with pidfd_getfd once it shows in its fd
 * table. The child blocks before exec until tug has it. */
static int grab_listener(struct sysfail_priv *p)
{
	char dir[64], link[PATH_MAX], target[64];

	snprintf(dir, sizeof(dir), "/proc/%d/fd", p->child);
	for (int tries = 0; tries < 5000; tries++) {
		struct pollfd pf = { .fd = p->status_r, .events = POLLIN };
		struct dirent *d;
		DIR *dp;

		/* The child wrote an errno and exited: the filter failed. */
		if (poll(&pf, 1, 0) == 1) {
			int e = wait_exec(p);

			return e ? e : -EIO;
		}
		dp = opendir(dir);
		if (!dp)
			return -errno;
		while ((d = readdir(dp))) {
			ssize_t n;

			if (d->d_name[0] == '.')
				continue;
			snprintf(link, sizeof(link), "%s/%s", dir, d->d_name);
			n = readlink(link, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = '\0';
			if (!strcmp(target, "anon_inode:seccomp notify")) {
				int fd = syscall(SYS_pidfd_getfd, p->child_pidfd, atoi(d->d_name), 0);

				closedir(dp);
				return fd < 0 ? -errno : fd;
			}
		}
		closedir(dp);
		usleep(1000);
	}
	return -ETIMEDOUT;
}

static uint64_t next_rand(uint64_t *s)
{
	/* splitmix64 */
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A NUL-terminated string from another process, page by page (the string
 * may end right before an unmapped page). */
static int read_remote_str(pid_t pid, uint64_t addr, char *buf, size_t len)
{
	size_t got = 0;
	long page = sysconf(_SC_PAGESIZE);

	while (got < len - 1) {
		size_t chunk = page - ((addr + got) % page);
		struct iovec l, r;
		ssize_t n;

		if (chunk > len - 1 - got)
			chunk = len - 1 - got;
		l = (struct iovec){ buf + got, chunk };
		r = (struct iovec){ (void *)(uintptr_t)(addr + got), chunk };
		n = process_vm_readv(pid, &l, 1, &r, 1, 0);
		if (n <= 0)
			return -errno;
		if (memchr(buf + got, '\0', n))
			return 0;
		got += n;
	}
	buf[len - 1] = '\0';
	return -ENAMETOOLONG;
}

static bool path_chosen(struct sysfail_priv *p, int listener, const struct seccomp_notif *req)
{
	char path[PATH_MAX], base[PATH_MAX] = "", link[64];
	uint64_t id = req->id;
	ssize_t n;

	if (read_remote_str(req->pid, req->data.args[p->path_arg], path, sizeof(path)))
		return false;	/* the kernel will say EFAULT/ENAMETOOLONG itself */
	if (path[0] != '/' && p->glob[0] == '/') {
		int dirfd = p->dirfd_arg >= 0 ? (int)req->data.args[p->dirfd_arg] : AT_FDCWD;

		if (dirfd == AT_FDCWD)
			snprintf(link, sizeof(link), "/proc/%u/cwd", req->pid);
		else
			snprintf(link, sizeof(link), "/proc/%u/fd/%d", req->pid, dirfd);
		n = readlink(link, base, sizeof(base) - 1);
		base[n > 0 ? n : 0] = '\0';
	}
	/* The pid could have exited and been reused while we read. */
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id))
		return false;
	return sysfail_path_match(p->glob, path, base);
}

static void check_exec(struct sysfail_priv *p)
{
	struct pollfd pf = { .fd = p->status_r, .events = POLLIN };
	int e = 0;

	if (p->status_r < 0 || poll(&pf, 1, 0) != 1)
		return;
	if (read(p->status_r, &e, sizeof(e)) != sizeof(e))
		e = 0;
	close(p->status_r);
	p->status_r = -1;
	pthread_mutex_lock(&p->lock);
	atomic_store(&p->exec_err, e);
	if (!e)
		atomic_store(&p->armed, true);
	pthread_cond_broadcast(&p->exec_cond);
	pthread_mutex_unlock(&p->lock);
}

static void *notify_loop(void *arg)
{
	struct sysfail_priv *p = arg;
	size_t nsz = p->sizes.seccomp_notif ?: sizeof(struct seccomp_notif);
	size_t rsz = p->sizes.seccomp_notif_resp ?: sizeof(struct seccomp_notif_resp);
	struct seccomp_notif *req = calloc(1, nsz);
	struct seccomp_notif_resp *resp = calloc(1, rsz);
	bool child_gone = false, unused = false;

	if (!req || !resp)
		goto out;
	for (;;) {
		struct pollfd pf[4] = {
			{ .fd = unused ? -1 : p->listener, .events = POLLIN },
			{ .fd = p->stop_fd, .events = POLLIN },
			{ .fd = p->status_r, .events = POLLIN },
			{ .fd = child_gone ? -1 : p->child_pidfd, .events = POLLIN },
		};

		if (poll(pf, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents & POLLIN)
			break;
		if (pf[2].revents)
			check_exec(p);
		if (pf[3].revents & POLLIN) {
			child_gone = true;
			/* The command ended while the fault held: the fault is over
			 * (the runner sees the same pidfd, f->end_fd, and ends the hold). */
			if (atomic_load(&p->armed) && !atomic_load(&p->passthrough))
				atomic_store(&p->ended, true);
		}
		if (pf[0].revents & (POLLHUP | POLLERR) && !(pf[0].revents & POLLIN)) {
			unused = true;	/* no process uses the filter any more */
			continue;
		}
		if (!(pf[0].revents & POLLIN))
			continue;

		memset(req, 0, nsz);
		if (ioctl(p->listener, SECCOMP_IOCTL_NOTIF_RECV, req)) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			break;
		}
		/* Exec closes the status pipe before the new program runs: a call
		 * after that EOF is the command's, one before it tug's own. */
		if (!atomic_load(&p->armed))
			check_exec(p);
		memset(resp, 0, rsz);
		resp->id = req->id;
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		if (atomic_load(&p->armed) && !atomic_load(&p->passthrough)) {
			bool fail = !p->glob || path_chosen(p, p->listener, req);

			atomic_fetch_add(&p->cnt[SYSFAIL_SEEN], 1);
			if (fail)
				fail = sysfail_gate_pass(&p->gate, (uint32_t)next_rand(&p->rng));
			if (fail) {
				resp->flags = 0;
				resp->error = -p->err;
				atomic_fetch_add(&p->cnt[SYSFAIL_FAILED], 1);
			} else {
				atomic_fetch_add(&p->cnt[SYSFAIL_CONTINUED], 1);
			}
		}
		/* ENOENT: the caller was interrupted or died meanwhile. */
		ioctl(p->listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
	}
out:
	free(req);
	free(resp);
	return NULL;
}

/*
 * The keeper holds a copy of the listener and does nothing while tug
 * lives. If tug dies (even SIGKILL), the command's calls of the syscall
 * would fail with ENOSYS for the rest of its life: the keeper then
 * continues each one until no process uses the filter any more.
 */
struct keeper_args {
	size_t nsz, rsz;
};

/* Runs with tug's pidfd on fd 3 and the listener on fd 4. */
static int keeper_main(void *arg)
{
	const struct keeper_args *a = arg;
	char reqbuf[512] __attribute__((aligned(8))), respbuf[512] __attribute__((aligned(8)));
	struct seccomp_notif *req = (void *)reqbuf;
	struct seccomp_notif_resp *resp = (void *)respbuf;
	struct pollfd pf[2];
	bool owner_gone = false;

	if (a->nsz > sizeof(reqbuf) || a->rsz > sizeof(respbuf))
		return 1;
	for (;;) {
		pf[0] = (struct pollfd){ .fd = owner_gone ? -1 : 3, .events = POLLIN };
		pf[1] = (struct pollfd){ .fd = 4, .events = owner_gone ? POLLIN : 0 };
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (pf[0].revents & POLLIN)
			owner_gone = true;
		if ((pf[1].revents & (POLLHUP | POLLERR)) && !(pf[1].revents & POLLIN))
			return 0;
		if (!owner_gone || !(pf[1].revents & POLLIN))
			continue;
		memset(req, 0, a->nsz);
		if (ioctl(4, SECCOMP_IOCTL_NOTIF_RECV, req))
			continue;
		memset(resp, 0, a->rsz);
		resp->id = req->id;
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		ioctl(4, SECCOMP_IOCTL_NOTIF_SEND, resp);
	}
}

static int keeper_spawn(struct sysfail_priv *p)
{
	int tug_pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	int err;

	if (tug_pidfd < 0)
		return -errno;
	err = spawn(&(struct spawn_opts){
			    .fds = { { SPAWN_DEVNULL, 0 }, { SPAWN_DEVNULL, 1 }, { SPAWN_DEVNULL, 2 },
				     { tug_pidfd, 3 }, { p->listener, 4 } },
			    .n_fds = 5,
			    .new_session = true,
			    .outlive_stop = true,
			    .name = "tug-keeper",
			    .fn = keeper_main,
			    .arg = &(struct keeper_args){ .nsz = p->sizes.seccomp_notif,
							  .rsz = p->sizes.seccomp_notif_resp },
		    }, &p->keeper, NULL);
	close(tug_pidfd);
	return err;
}

/* The launched command, journaled as soon as it exists: with --kill-at-end
 * the guardian (or tug recover) kills it if tug cannot. */
static int journal_child(struct sysfail_priv *p)
{
	uint64_t start = 0;

	proc_start_time(p->child, &start);
	json_object_object_add(p->f->state, "command_pid", json_object_new_int(p->child));
	json_object_object_add(p->f->state, "command_start", json_object_new_int64(start));
	json_object_object_add(p->f->state, "kill_at_end", json_object_new_boolean(p->kill_at_end));
	return fault_journal_update(p->f);
}

static int apply_seccomp(struct fault *f)
{
	struct sysfail_priv *p = f->priv;
	struct timespec until;
	uint64_t seed = 0;
	int err;

	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &p->sizes))
		return -errno;
	if (p->sizes.seccomp_notif < sizeof(struct seccomp_notif))
		p->sizes.seccomp_notif = sizeof(struct seccomp_notif);
	if (p->sizes.seccomp_notif_resp < sizeof(struct seccomp_notif_resp))
		p->sizes.seccomp_notif_resp = sizeof(struct seccomp_notif_resp);
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = now_realtime_ns();
	p->rng = seed;
	p->gate = (struct sysfail_gate){ .after = p->after, .threshold = sysfail_threshold(p->percent) };
	atomic_store(&p->exec_err, -1);
	p->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (p->stop_fd < 0)
		return -errno;

	err = launch(p, true);
	if (!err)
		err = journal_child(p);
	if (err)
		return err;
	err = grab_listener(p);
	if (err < 0) {
		log_errno(err, "installing the seccomp filter in the command");
		return err;
	}
	p->listener = err;
	err = keeper_spawn(p);
	if (err)
		return log_errno(err, "starting the keeper");
	err = -pthread_create(&p->thread, NULL, notify_loop, p);
	if (err)
		return err;
	p->thread_started = true;
	err = release(p);
	if (err)
		return err;

	/* Exec's outcome, seen by the thread (it must answer notifications of
	 * the exec itself meanwhile). */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&p->lock);
	while (atomic_load(&p->exec_err) < 0 && !err)
		err = -pthread_cond_timedwait(&p->exec_cond, &p->lock, &until);
	pthread_mutex_unlock(&p->lock);
	if (err)
		return err;
	if (atomic_load(&p->exec_err) > 0) {
		err = -atomic_load(&p->exec_err);
		return log_errno(err, "cannot run '%s'", p->cmd[0]);
	}
	return 0;
}

/* ---- in-kernel backends ---- */

static int apply_bpf(struct fault *f)
{
	struct sysfail_priv *p = f->priv;
	struct sysfail_bpf *skel;
	struct bpf_program *prog, *q;
	char sym[128];
	struct utsname u;
	struct stat ns;
	int err;

	if (p->scope == SYSFAIL_SCOPE_CMD) {
		err = launch(p, false);
		if (!err)
			err = journal_child(p);
		if (err)
			return err;
	}
	skel = sysfail_bpf__open();
	if (!skel)
		return -errno;
	p->skel = skel;
	prog = p->backend == SYSFAIL_KPROBE ? skel->progs.tug_sys_kprobe :
	       p->backend == SYSFAIL_FMOD_RET ? skel->progs.tug_sys_fmod_ret :
						skel->progs.tug_sys_signal;
	if (p->backend == SYSFAIL_LSM) {
		enum sysfail_lsm_hook h;
		unsigned mask = 0;

		if (sysfail_lsm_hook(p->syscall, &h, &mask))
			return -EINVAL;
		prog = h == SYSFAIL_LSM_OPEN ? skel->progs.tug_sys_lsm_open :
		       h == SYSFAIL_LSM_RW ? skel->progs.tug_sys_lsm_rw : skel->progs.tug_sys_lsm_connect;
		skel->rodata->lsm_mask = mask;
		skel->rodata->lsm_ret = -p->err;
	}
	bpf_object__for_each_program(q, skel->obj)
		bpf_program__set_autoload(q, q == prog);
	uname(&u);
	err = sysfail_wrapper_symbol(p->syscall, u.machine, sym, sizeof(sym));
	if (err && (p->backend == SYSFAIL_KPROBE || p->backend == SYSFAIL_FMOD_RET))
		return err;
	if (p->backend == SYSFAIL_FMOD_RET) {
		err = bpf_program__set_attach_target(prog, 0, sym);
		if (err)
			return err;
	}
	skel->rodata->target_tgid = p->scope == SYSFAIL_SCOPE_PID ? p->pid :
				    p->scope == SYSFAIL_SCOPE_CMD ? p->child : 0;
	if (stat("/proc/self/ns/pid", &ns))
		return log_errno(-errno, "cannot find tug's pid namespace");
	skel->rodata->pidns_dev = ns.st_dev;
	skel->rodata->pidns_ino = ns.st_ino;
	skel->rodata->use_cgroup = p->scope == SYSFAIL_SCOPE_CGROUP;
	skel->rodata->syscall_nr = p->nr;
	skel->rodata->after = p->after;
	skel->rodata->threshold = sysfail_threshold(p->percent);
	skel->rodata->err_value = p->err;
	skel->rodata->signal_nr = p->sig;
	skel->bss->deadline_boot_ns = f->deadline_boot_ns;
	f->kernel_deadline = &skel->bss->deadline_boot_ns;
	err = sysfail_bpf__load(skel);
	if (err)
		return log_errno(err, "loading the %s program", backend_names[p->backend]);
	if (p->scope == SYSFAIL_SCOPE_CGROUP) {
		__u32 key = 0;

		p->cgroup_fd = open(p->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (p->cgroup_fd < 0)
			return -errno;
		if (bpf_map_update_elem(bpf_map__fd(skel->maps.cgroup), &key, &p->cgroup_fd, BPF_ANY))
			return -errno;
	}
	if (p->backend == SYSFAIL_KPROBE)
		p->link = bpf_program__attach_kprobe(prog, false, sym);
	else
		p->link = bpf_program__attach(prog);
	if (!p->link)
		return log_errno(-errno, "attaching the %s program%s%s", backend_names[p->backend],
				 p->backend == SYSFAIL_TRACEPOINT || p->backend == SYSFAIL_LSM ? "" : " to ",
				 p->backend == SYSFAIL_TRACEPOINT || p->backend == SYSFAIL_LSM ? "" : sym);
	if (p->scope == SYSFAIL_SCOPE_CMD) {
		err = release(p);
		if (!err)
			err = wait_exec(p);
		if (err)
			return log_errno(err, "cannot run '%s'", p->cmd[0]);
		close(p->status_r);
		p->status_r = -1;
	}
	/* A thread that ends the fault when its one process exits (held since
	 * prepare for --pid). */
	if (p->child_pidfd < 0)
		return 0;
	p->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (p->stop_fd < 0)
		return -errno;
	atomic_store(&p->armed, true);
	err = -pthread_create(&p->thread, NULL, notify_loop, p);
	if (err)
		return err;
	p->thread_started = true;
	return 0;
}

static void teardown(struct sysfail_priv *p)
{
	if (p->thread_started) {
		uint64_t one = 1;

		if (write(p->stop_fd, &one, sizeof(one)) != sizeof(one))
			log_errno(-errno, "stopping the notification thread");
		pthread_join(p->thread, NULL);
		p->thread_started = false;
	}
	bpf_link__destroy(p->link);
	p->link = NULL;
	sysfail_bpf__destroy(p->skel);
	p->skel = NULL;
}

static int sysfail_apply(struct fault *f)
{
	struct sysfail_priv *p = f->priv;
	int err;

	err = p->backend == SYSFAIL_SECCOMP ? apply_seccomp(f) : apply_bpf(f);
	if (err) {
		teardown(p);
		kill_child(p);
		return err;
	}
	/* The one process the fault is on (-- CMD or --pid) ends the hold when
	 * it exits, whatever the deadline says; set here, for every backend, so
	 * no path forgets it (the seccomp one once did). */
	if (p->child_pidfd >= 0) {
		f->end_fd = p->child_pidfd;
		f->end_reason = p->scope == SYSFAIL_SCOPE_CMD ? "command exited" : "target exited";
	}
	if (p->keeper > 0)
		json_object_object_add(f->state, "keeper_pid", json_object_new_int(p->keeper));
	return 0;
}

static int sysfail_counters(struct fault *f, struct fault_counter *c, int max)
{
	struct sysfail_priv *p = f->priv;

	if (max < SYSFAIL_COUNTER_MAX)
		return 0;
	if (p->skel)
		return fault_read_percpu_counters(bpf_map__fd(p->skel->maps.counters), counter_names,
						  SYSFAIL_COUNTER_MAX, c);
	for (int i = 0; i < SYSFAIL_COUNTER_MAX; i++) {
		c[i].name = counter_names[i];
		c[i].value = atomic_load(&p->cnt[i]);
	}
	return SYSFAIL_COUNTER_MAX;
}

static int sysfail_revert(struct fault *f)
{
	struct sysfail_priv *p = f->priv;

	/* seccomp: from now on every call continues; the thread keeps
	 * answering until the command is gone (destroy waits for it). */
	atomic_store(&p->passthrough, true);
	/* The runner may notice the exit before the thread does. */
	if (f->end_fd >= 0 && poll(&(struct pollfd){ .fd = f->end_fd, .events = POLLIN }, 1, 0) > 0)
		atomic_store(&p->ended, true);
	if (atomic_load(&p->ended))
		fault_emit(f, EV_TARGET_EXITED, NULL);
	if (p->skel) {
		/* Keep the last counters readable: only the link goes. */
		bpf_link__destroy(p->link);
		p->link = NULL;
	}
	if (p->kill_at_end && p->child > 0 && !p->reaped)
		syscall(SYS_pidfd_send_signal, p->child_pidfd, SIGKILL, NULL, 0);
	return 0;
}

/* After the fault: wait for the launched command (its calls continuing),
 * passing on SIGINT/SIGTERM/SIGHUP, and say how it ended. */
static void wait_command(struct fault *f)
{
	struct sysfail_priv *p = f->priv;
	json_object *x;
	int status = 0, sfd;

	sfd = stop_signals_fd();
	for (;;) {
		struct pollfd pf[2] = {
			{ .fd = p->child_pidfd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};

		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[0].revents & POLLIN)
			break;
		if (pf[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			/* The SIGTERM the notification thread sent to end the hold
			 * is not the user's: do not pass it on. */
			if (read(sfd, &si, sizeof(si)) == sizeof(si) && !(si.ssi_pid == (uint32_t)getpid()))
				syscall(SYS_pidfd_send_signal, p->child_pidfd, si.ssi_signo, NULL, 0);
		}
	}
	if (sfd >= 0)
		close(sfd);
	if (waitpid(p->child, &status, 0) != p->child)
		return;
	p->reaped = true;
	x = json_object_new_object();
	json_object_object_add(x, "pid", json_object_new_int(p->child));
	if (WIFEXITED(status))
		json_object_object_add(x, "exit_status", json_object_new_int(WEXITSTATUS(status)));
	else if (WIFSIGNALED(status))
		json_object_object_add(x, "signal", json_object_new_string(sigabbrev_np(WTERMSIG(status)) ?: "?"));
	fault_emit(f, EV_COMMAND_EXITED, x);
	json_object_put(x);
}

/* Only --kill-at-end leaves anything to undo: the command, which must not
 * outlive the fault. A pid whose start time differs is someone else's. */
static int sysfail_recover(json_object *entry)
{
	json_object *st = json_get(entry, "state");
	pid_t pid = json_get_int(st, "command_pid", 0);
	uint64_t start;
	int pidfd, err = 0;

	if (pid <= 0 || !json_object_get_boolean(json_get(st, "kill_at_end")))
		return 0;
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return errno == ESRCH ? 0 : -errno;
	if (proc_start_time(pid, &start) == 0 &&
	    start == (uint64_t)json_get_int(st, "command_start", -1) &&
	    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0) && errno != ESRCH)
		err = -errno;
	close(pidfd);
	return err;
}

static void sysfail_describe(struct fault *f, char *buf, size_t len)
{
	struct sysfail_priv *p = f->priv;
	char what[64], target[PATH_MAX + 32], extra[PATH_MAX + 64] = "";
	size_t off = 0;

	if (p->signal)
		snprintf(what, sizeof(what), "SIG%s once", sigabbrev_np(p->sig) ?: "?");
	else
		snprintf(what, sizeof(what), "%s", strerrorname_np(p->err) ?: "?");
	if (p->scope == SYSFAIL_SCOPE_PID)
		snprintf(target, sizeof(target), "pid %d", p->pid);
	else if (p->scope == SYSFAIL_SCOPE_CGROUP)
		snprintf(target, sizeof(target), "cgroup %s", p->cgroup);
	else
		snprintf(target, sizeof(target), "'%s' (pid %d)", p->cmd[0], p->child);
	if (p->percent < 100)
		off += snprintf(extra + off, sizeof(extra) - off, ", %g%% of calls", p->percent);
	if (p->after)
		off += snprintf(extra + off, sizeof(extra) - off, ", after %" PRIu64 " calls", p->after);
	if (p->glob && off < sizeof(extra))
		snprintf(extra + off, sizeof(extra) - off, ", paths %s", p->glob);
	snprintf(buf, len, "%s -> %s for %s%s (%s backend)", p->syscall, what, target, extra,
		 backend_names[p->backend]);
}

static const char *sysfail_backend(char *why, size_t len)
{
	struct sysfail_caps c;

	sysfail_probe_caps(&c, true);
	if (c.kprobe_override || c.fmod_ret) {
		snprintf(why, len, "%s: errno for any pid, cgroup or command; %s",
			 c.kprobe_override ? "kprobe + bpf_override_return" : "fmod_ret",
			 c.signal_tp ? "--signal via raw tracepoint" : "no --signal");
		return c.kprobe_override ? "kprobe" : "fmod_ret";
	}
	if (c.bpf_lsm) {
		/* Short: doctor's line holds 255 characters (the refusal and
		 * docs/KERNELS.md name every syscall). */
		snprintf(why, len, "BPF LSM: errno for a running pid or cgroup on the open, read "
			 "and write families and connect; other syscalls%s; %s",
			 c.seccomp_notif ? " only for '-- CMD' (seccomp)" : ": none",
			 c.signal_tp ? "--signal via raw tracepoint" : "no --signal");
		return "lsm";
	}
	if (c.seccomp_notif) {
		snprintf(why, len, "errno only for '-- CMD' (no kprobe override, no fmod_ret); "
			 "--pid/--cgroup: %s", c.signal_tp ? "--signal only (raw tracepoint)" : "nothing");
		return "seccomp";
	}
	if (c.signal_tp) {
		snprintf(why, len, "--signal only (raw tracepoint + bpf_send_signal)");
		return "tracepoint";
	}
	snprintf(why, len, "no kprobe override, fmod_ret, seccomp notification or send_signal");
	return NULL;
}

static void sysfail_destroy(struct fault *f)
{
	struct sysfail_priv *p = f->priv;

	if (p->child > 0 && !p->reaped && p->child_pidfd >= 0) {
		atomic_store(&p->passthrough, true);
		if (!atomic_load(&p->ended) && !f->quiet && !f->json)
			fprintf(stderr, "tug: waiting for '%s' (pid %d) to exit; its calls run unchanged\n",
				p->cmd[0], p->child);
		wait_command(f);
	}
	teardown(p);
	if (p->listener >= 0)
		close(p->listener);
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	if (p->status_r >= 0)
		close(p->status_r);
	if (p->gate_w >= 0)
		close(p->gate_w);
	if (p->child_pidfd >= 0)
		close(p->child_pidfd);
	if (p->cgroup_fd >= 0)
		close(p->cgroup_fd);
	/* The keeper exits by itself once no process uses the filter. */
	if (p->keeper > 0)
		waitpid(p->keeper, NULL, WNOHANG);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->exec_cond);
	free(p->glob);
}

const struct fault_ops sys_fail_ops = {
	.family = "sys",
	.verb = "fail",
	.summary = "make one syscall fail with an errno (or send a signal at it) for one target",
	.usage = "Options:\n"
		 "  --syscall NAME      the syscall (write, openat, fsync, connect, ...)\n"
		 "  --errno NAME        the error the call returns (ENOSPC, EIO, 28, ...)\n"
		 "  --signal SIG        instead of --errno: send SIG once, at the chosen call\n"
		 "  --percent P         share of eligible calls that fail (default 100)\n"
		 "  --after N           let the first N matching calls through (default 0)\n"
		 "  --path GLOB         only calls whose path matches (open family, stat,\n"
		 "                      unlink, mkdir, execve...; '*' also matches '/';\n"
		 "                      relative paths are joined to the cwd or dirfd)\n"
		 "  --pid PID           a running process (all its threads); its exit\n"
		 "                      ends the fault\n"
		 "  --cgroup PATH       every process in a cgroup v2 subtree\n"
		 "  -- CMD ARGS...      launch CMD and fault it and everything it forks;\n"
		 "                      CMD's exit ends the fault (tug returns then)\n"
		 "  --kill-at-end       SIGKILL the launched command at the deadline\n"
		 "                      (default: its calls run unchanged and tug waits for it)\n"
		 "  --backend B         auto, kprobe, fmod_ret, lsm, seccomp or tracepoint\n"
		 "\nBackends, strongest first ('tug doctor' says which this kernel has):\n"
		 "  kprobe/fmod_ret     errno for any --pid, --cgroup or command, in the kernel\n"
		 "  lsm                 errno for a running --pid or --cgroup through BPF LSM\n"
		 "                      hooks: open family, read and write families, connect\n"
		 "  seccomp             errno (and --path) for '-- CMD' only\n"
		 "  tracepoint          --signal for any target\n"
		 "\nExamples:\n"
		 "  tug sys fail --syscall write --errno ENOSPC --for 30s -- ./load-test\n"
		 "  tug sys fail --syscall openat --errno EACCES --path '/etc/app/*' -- app\n"
		 "  tug sys fail --syscall fsync --errno EIO --percent 10 --after 100 -- pg_ctl ...\n"
		 "  tug sys fail --syscall write --signal KILL --after 1000 --pid 4242\n",
	.priv_size = sizeof(struct sysfail_priv),
	.parse = sysfail_parse,
	.prepare = sysfail_prepare,
	.apply = sysfail_apply,
	.describe = sysfail_describe,
	.counters = sysfail_counters,
	.revert = sysfail_revert,
	.recover = sysfail_recover,
	.backend = sysfail_backend,
	.destroy = sysfail_destroy,
};
