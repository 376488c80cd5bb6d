// SPDX-License-Identifier: GPL-2.0
/*
 * proc kill and proc restart: hit exactly the service asked, and measure
 * what its supervisor does next.
 *
 * Targets resolve to exact processes, each opened as a pidfd first and only
 * then identified (start time from /proc/PID/stat, which now belongs to the
 * pidfd's process for good) against the record that named it: a pidfile's
 * mtime, runit's recorded start, systemd's ExecMainStartTimestamp, cgroup
 * membership. A pid reused by an unrelated process fails that check and is
 * not signalled. Signals go through pidfd_send_signal, never by name.
 *
 * These are one-shot actions, not held faults: see proc.h for why.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cgknob.h"
#include "cgroup.h"
#include "json.h"
#include "http.h"
#include "commands.h"
#include "fault.h"
#include "journal.h"
#include "log.h"
#include "parse.h"
#include "proc.h"
#include "spawn.h"

/* Copy at most len - 1 bytes of src and terminate: a bounded strcpy. */
static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ------------------------------------------------------------------ output */

void action_emit(const struct action_out *o, enum tug_event event, json_object *extra)
{
	json_object *ids = json_object_new_object();

	json_object_object_add(ids, EVF_ACTION, json_object_new_string(o->name));
	event_print(o->json, o->name, ids, event, extra);
	json_object_put(ids);
	json_object_put(extra);
}

/* --------------------------------------------------------------- processes */

int proc_identity_check(uint64_t proc_start_boot_ns, uint64_t recorded_boot_ns)
{
	if (!recorded_boot_ns)
		return 0;
	return proc_start_boot_ns <= recorded_boot_ns + PROC_IDENTITY_SLACK_NS ? 0 : -ESTALE;
}

static void read_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int victim_open(pid_t pid, uint64_t not_after_boot_ns, struct victim *ret)
{
	struct victim v = { .pid = pid, .pidfd = -1 };
	uint64_t ticks;
	int err;

	if (pid <= 1)
		return -EINVAL;
	v.pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (v.pidfd < 0)
		return -errno;
	/* Read after the pidfd exists: if the pid still names a process with
	 * this start time now, the pidfd holds that process. */
	err = proc_start_time(pid, &ticks);
	if (err) {
		close(v.pidfd);
		return err == -ENOENT ? -ESRCH : err;
	}
	v.start_boot_ns = proc_ticks_to_boot_ns(ticks);
	err = proc_identity_check(v.start_boot_ns, not_after_boot_ns);
	if (err) {
		close(v.pidfd);
		return err;
	}
	read_comm(pid, v.comm, sizeof(v.comm));
	*ret = v;
	return 0;
}

void victim_close(struct victim *v)
{
	if (v->pidfd >= 0)
		close(v->pidfd);
	v->pidfd = -1;
}

bool victim_exited(const struct victim *v)
{
	struct pollfd p = { .fd = v->pidfd, .events = POLLIN };

	return v->pidfd < 0 || (poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLHUP)));
}

int read_pidfile(const char *path, pid_t *ret_pid, uint64_t *ret_mtime_real_ns, uid_t *ret_owner)
{
	char buf[64];
	struct stat st;
	uint64_t v;
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n \t")] = '\0';
	if (parse_uint(buf, 2, INT_MAX, &v))
		return -EBADMSG;
	*ret_pid = v;
	if (ret_mtime_real_ns)
		*ret_mtime_real_ns = (uint64_t)st.st_mtim.tv_sec * NSEC_PER_SEC + st.st_mtim.tv_nsec;
	if (ret_owner)
		*ret_owner = st.st_uid;
	return 0;
}

static int read_file(const char *path, char *buf, size_t len);

/* What /proc said is about the pidfd's process only if that process is
 * still alive afterwards: a pid is reused only after its process is gone. */
static int victim_still(const struct victim *v)
{
	return victim_exited(v) ? -ESRCH : 0;
}

int victim_uids(const struct victim *v, uid_t *ret_real, uid_t *ret_effective)
{
	char path[64], buf[4096], *u;
	unsigned long r, e;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/status", v->pid);
	err = read_file(path, buf, sizeof(buf));
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	u = strstr(buf, "\nUid:");
	if (!u || sscanf(u + 5, "%lu %lu", &r, &e) != 2)
		return -EBADMSG;
	err = victim_still(v);
	if (err)
		return err;
	*ret_real = r;
	*ret_effective = e;
	return 0;
}

int victim_link(const struct victim *v, const char *which, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", v->pid, which);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	buf[n] = '\0';
	return victim_still(v);
}

/* Every pid listed in a cgroup.procs text, at most max. */
static int parse_pid_list(const char *text, pid_t *pids, int max)
{
	int n = 0;

	while (text && *text && n < max) {
		char *end;
		long v = strtol(text, &end, 10);

		if (end == text)
			break;
		if (v > 0)
			pids[n++] = v;
		text = end + strspn(end, " \n");
	}
	return n;
}

static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n, got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((size_t)got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return 0;
}

/* Is pid listed in the cgroup directory's cgroup.procs right now? */
static bool cgroup_lists(const char *dir, pid_t pid)
{
	static char buf[65536];
	pid_t pids[4096];
	char path[PATH_MAX + 32];
	int n;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (read_file(path, buf, sizeof(buf)))
		return false;
	n = parse_pid_list(buf, pids, 4096);
	for (int i = 0; i < n; i++)
		if (pids[i] == pid)
			return true;
	return false;
}

/* ----------------------------------------------------------------- systemd */

int systemd_parse_show(const char *text, struct unit_state *ret)
{
	struct unit_state u = { .restarts = -1 };
	bool any = false;

	while (text && *text) {
		size_t n = strcspn(text, "\n");
		const char *eq = memchr(text, '=', n);

		if (eq) {
			size_t kl = eq - text, vl = n - kl - 1;
			char val[512];
			uint64_t x;

			if (vl >= sizeof(val))
				vl = sizeof(val) - 1;
			memcpy(val, eq + 1, vl);
			val[vl] = '\0';
#define KEY(k) (kl == strlen(k) && !strncmp(text, k, kl))
			if (KEY("MainPID")) {
				if (parse_uint(val, 0, INT_MAX, &x))
					return -EBADMSG;
				u.main_pid = x;
				any = true;
			} else if (KEY("NRestarts")) {
				if (*val && !parse_uint(val, 0, INT64_MAX, &x))
					u.restarts = x;
			} else if (KEY("ExecMainStartTimestampMonotonic")) {
				if (*val && !parse_uint(val, 0, UINT64_MAX, &x))
					u.main_start_mono_us = x;
			} else if (KEY("ActiveState")) {
				copy_str(u.active, sizeof(u.active), val);
				any = true;
			} else if (KEY("SubState")) {
				copy_str(u.sub, sizeof(u.sub), val);
			} else if (KEY("ControlGroup")) {
				copy_str(u.cgroup, sizeof(u.cgroup), val);
			}
#undef KEY
		}
		text += n + (text[n] == '\n');
	}
	if (!any)
		return -EBADMSG;
	*ret = u;
	return 0;
}

int systemd_plan(const struct unit_state *u, const char *procs, bool all,
		 pid_t *ret_pids, int *ret_n)
{
	pid_t pids[PLAN_MAX_PIDS], listed[PLAN_MAX_PIDS];
	int n = 0, m;

	if (u->main_pid > 1)
		pids[n++] = u->main_pid;
	if (all) {
		m = parse_pid_list(procs, listed, PLAN_MAX_PIDS);
		for (int i = 0; i < m && n < PLAN_MAX_PIDS; i++)
			if (listed[i] != u->main_pid && listed[i] > 1)
				pids[n++] = listed[i];
	}
	if (!n)
		return -ESRCH;
	memcpy(ret_pids, pids, n * sizeof(*pids));
	*ret_n = n;
	return 0;
}

static bool systemd_running(void)
{
	return getenv("TUG_SYSTEMCTL") || access("/run/systemd/system", F_OK) == 0;
}

/* Run argv, its stdout into buf. Returns its exit status or -errno (of
 * the exec too: -ENOENT for a program not found). */
static int run_capture(char *const argv[], char *buf, size_t len)
{
	int pfd[2], err;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -errno;
	err = spawn(&(struct spawn_opts){
			    .fds = { { SPAWN_DEVNULL, 0 }, { pfd[1], 1 } },
			    .n_fds = 2,
			    .argv = argv,
		    }, &pid, NULL);
	close(pfd[1]);
	if (err) {
		close(pfd[0]);
		return err;
	}
	while ((n = read(pfd[0], buf + got, len - 1 - got)) > 0 && got + n < len - 1)
		got += n;
	if (n > 0)
		got += n;
	buf[got < len ? got : len - 1] = '\0';
	close(pfd[0]);
	return spawn_wait(pid);
}

static const char *systemctl_path(void)
{
	const char *p = getenv("TUG_SYSTEMCTL");

	return p && *p ? p : "systemctl";
}

int systemd_show(const char *unit, struct unit_state *ret)
{
	char *argv[] = { (char *)systemctl_path(), "show",
			 "--property=MainPID,ControlGroup,NRestarts,ActiveState,SubState,"
			 "ExecMainStartTimestampMonotonic",
			 "--", (char *)unit, NULL };
	char buf[4096];
	int r = run_capture(argv, buf, sizeof(buf));

	if (r < 0)
		return r;
	if (r)
		return -ENOENT;
	return systemd_parse_show(buf, ret);
}

int systemd_unit_of(pid_t pid, char *buf, size_t len)
{
	char path[64], line[PATH_MAX];
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* systemd's own hierarchy: the unified one ("0::") or, on a v1 or
	 * hybrid host, "name=systemd"; the innermost .service is the unit. */
	while (err && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':'), *last = NULL, *tok, *save = NULL;

		if (!p || (strncmp(p, "::", 2) && strncmp(p, ":name=systemd:", 14)))
			continue;
		p = strchr(p + 1, ':') + 1;
		p[strcspn(p, "\n")] = 0;
		for (tok = strtok_r(p, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
			if (strlen(tok) > 8 && !strcmp(tok + strlen(tok) - 8, ".service"))
				last = tok;
		if (last && (size_t)snprintf(buf, len, "%s", last) < len)
			err = 0;
	}
	fclose(f);
	return err;
}

/* The unit's cgroup directory: systemd's hierarchy is v2 (unified, or the
 * root on pure v2 hosts) or the v1 name=systemd one. */
static int unit_cgroup_dir(const struct unit_state *u, char *buf, size_t len)
{
	struct cgroup_layout l;
	struct stat st;

	if (!u->cgroup[0])
		return -ENOENT;
	if (!cgroup_probe(&l) && l.v2_root[0]) {
		snprintf(buf, len, "%s%s", l.v2_root, u->cgroup);
		if (!stat(buf, &st))
			return 0;
	}
	snprintf(buf, len, "/sys/fs/cgroup/systemd%s", u->cgroup);
	return stat(buf, &st) ? -ENOENT : 0;
}

/* ------------------------------------------------------------------- runit */

#define TAI_UNIX_OFFSET UINT64_C(4611686018427387914)	/* 2^62 + 10 */

int runit_parse_status(const unsigned char *b, size_t len, struct runit_state *ret)
{
	struct runit_state s = { 0 };
	uint64_t sec = 0;
	uint32_t nsec = 0;

	if (len < 20)
		return -EBADMSG;
	for (int i = 0; i < 8; i++)
		sec = sec << 8 | b[i];
	for (int i = 8; i < 12; i++)
		nsec = nsec << 8 | b[i];
	if (sec < TAI_UNIX_OFFSET || nsec >= NSEC_PER_SEC)
		return -EBADMSG;
	s.since_real_ns = (sec - TAI_UNIX_OFFSET) * NSEC_PER_SEC + nsec;
	s.pid = (pid_t)((uint32_t)b[12] | (uint32_t)b[13] << 8 | (uint32_t)b[14] << 16 |
			(uint32_t)b[15] << 24);
	s.paused = b[16];
	s.want_up = b[17] == 'u';
	s.up = b[19] == 1;
	*ret = s;
	return 0;
}

int runit_read(const char *svdir, struct runit_state *ret)
{
	char path[PATH_MAX];
	unsigned char buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/supervise/status", svdir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return -errno;
	return runit_parse_status(buf, n, ret);
}

/* Is a runsv supervising svdir? It holds supervise/control open for reading,
 * so a non-blocking writer opens it; otherwise ENXIO. */
static int runit_control(const char *svdir, const char *cmd)
{
	char path[PATH_MAX];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/supervise/control", svdir);
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (cmd && write(fd, cmd, strlen(cmd)) != (ssize_t)strlen(cmd))
		err = -errno;
	close(fd);
	return err;
}

/* ------------------------------------------------------------------ probes */

/* --probe: one GET, healthy on 2xx/3xx (a redirect to a login page is up). */
static bool http_healthy(CURL **curl, const char *url)
{
	struct http_get g = { .url = url, .timeout_ns = 2 * NSEC_PER_SEC };
	bool ok = !http_get(curl, &g) && g.status >= 200 && g.status < 400;

	http_get_free(&g);
	return ok;
}

/* ----------------------------------------------------------------- targets */

enum target_kind { T_NONE, T_PID, T_PIDFILE, T_CGROUP, T_RUNIT, T_UNIT };
static const char *const kind_names[] = { "", "pid", "pidfile", "cgroup", "runit", "unit" };

struct proc_opts {
	enum target_kind kind;
	const char *arg;
	int sig;
	bool all;
	uint64_t wait_ns;
	const char *probe_url;
	uint64_t probe_every_ns;
	char cgdir[PATH_MAX];	/* cgroup / unit: the directory */
};

/* What the manager says now: the service's main process and its start. */
struct svc_now {
	pid_t pid;
	uint64_t start_real_ns;	/* the manager's record, else the process's */
	uint64_t start_id;	/* the same start as its source records it: converted
				 * clocks move between two reads, this does not */
	int64_t restarts;	/* -1: the manager keeps no count */
	bool up;
	char state[72];		/* systemctl's words: "activating (auto-restart)" */
};

#define MAX_VICTIMS PLAN_MAX_PIDS

static void svc_now_json(json_object *o, const struct svc_now *s)
{
	json_object_object_add(o, "main_pid", json_object_new_int(s->pid));
	if (s->restarts >= 0)
		json_object_object_add(o, "restarts", json_object_new_int64(s->restarts));
	json_object_object_add(o, "state", json_object_new_string(s->state));
}

static int query(struct proc_opts *o, const struct victim *old, int nold, struct svc_now *ret)
{
	struct svc_now s = { .restarts = -1 };
	int err;

	switch (o->kind) {
	case T_RUNIT: {
		struct runit_state r;

		err = runit_read(o->arg, &r);
		if (err)
			return err;
		s.pid = r.up ? r.pid : 0;
		s.up = r.up && r.pid > 0;
		s.start_real_ns = s.start_id = r.since_real_ns;
		snprintf(s.state, sizeof(s.state), "%s", r.up ? "run" : "down");
		break;
	}
	case T_UNIT: {
		struct unit_state u;

		err = systemd_show(o->arg, &u);
		if (err)
			return err;
		s.pid = u.main_pid;
		s.restarts = u.restarts;
		s.up = !strcmp(u.active, "active") && u.main_pid > 0;
		s.start_real_ns = u.main_start_mono_us ?
			mono_to_real_ns(u.main_start_mono_us * 1000) : 0;
		s.start_id = u.main_start_mono_us;
		snprintf(s.state, sizeof(s.state), "%s (%s)", u.active, u.sub);
		break;
	}
	case T_PIDFILE: {
		uint64_t mtime, ticks;
		pid_t pid;

		snprintf(s.state, sizeof(s.state), "down");
		if (read_pidfile(o->arg, &pid, &mtime, NULL))
			break;
		if (proc_start_time(pid, &ticks))
			break;
		if (proc_identity_check(proc_ticks_to_boot_ns(ticks), real_to_boot_ns(mtime)))
			break;	/* a stale pidfile naming someone else */
		s.pid = pid;
		s.up = true;
		s.start_real_ns = boot_to_real_ns(proc_ticks_to_boot_ns(ticks));
		s.start_id = proc_ticks_to_boot_ns(ticks);
		snprintf(s.state, sizeof(s.state), "running");
		break;
	}
	case T_CGROUP: {
		static char buf[65536];
		pid_t pids[4096];
		char path[sizeof(o->cgdir) + 16];
		int n;

		snprintf(s.state, sizeof(s.state), "empty");
		snprintf(path, sizeof(path), "%s/cgroup.procs", o->cgdir);
		err = read_file(path, buf, sizeof(buf));
		if (err)
			return err;
		n = parse_pid_list(buf, pids, 4096);
		/* The first process that is none of the ones signalled. */
		for (int i = 0; i < n && !s.pid; i++) {
			uint64_t ticks;
			bool known = false;

			if (proc_start_time(pids[i], &ticks))
				continue;
			for (int j = 0; j < nold; j++)
				known |= old[j].pid == pids[i] &&
					 old[j].start_boot_ns == proc_ticks_to_boot_ns(ticks);
			if (known)
				continue;
			s.pid = pids[i];
			s.up = true;
			s.start_real_ns = boot_to_real_ns(proc_ticks_to_boot_ns(ticks));
			s.start_id = proc_ticks_to_boot_ns(ticks);
			snprintf(s.state, sizeof(s.state), "running");
		}
		break;
	}
	default:
		break;
	}
	*ret = s;
	return 0;
}

static const char *resolve_error(int err)
{
	switch (err) {
	case -ESTALE:
		return "the pid now names a process that started after the record naming it "
		       "(a reused pid); nothing was signalled";
	case -ESRCH:
		return "no such process (it is not running)";
	default:
		return strerror(-err);
	}
}

/* Whoever can write a pidfile chooses the pid root signals: a pidfile that
 * is not root's names only a process of its owner (a service user cannot
 * point tug at sshd). Logs the refusal. */
static int pidfile_target_check(const struct victim *v, const char *path, uid_t owner)
{
	uid_t ruid, euid;
	int err;

	if (owner == 0)
		return 0;
	err = victim_uids(v, &ruid, &euid);
	if (err) {
		log_error("--pidfile %s: pid %d: %s", path, v->pid, resolve_error(err));
		return err;
	}
	if (ruid != owner || euid != owner) {
		log_error("--pidfile %s: pid %d (%s) runs as uid %u, but the file belongs to uid %u, "
			  "who could have written any pid into it; nothing was signalled (name the "
			  "service by --unit, --runit or --cgroup, or keep its pidfile root's)", path,
			  v->pid, v->comm, (unsigned)euid, (unsigned)owner);
		return -EPERM;
	}
	return 0;
}

/* Resolve the target to exact processes, each held by a pidfd. Exit status
 * style: 0, or a logged error (nothing was signalled). */
static int resolve(struct proc_opts *o, struct victim *v, int *ret_n, struct svc_now *before)
{
	pid_t pids[MAX_VICTIMS];
	uint64_t not_after = 0;
	uid_t pidfile_owner = 0;
	int n = 0, err;

	memset(before, 0, sizeof(*before));
	before->restarts = -1;
	switch (o->kind) {
	case T_PID: {
		uint64_t x;

		if (parse_uint(o->arg, 2, INT_MAX, &x))
			return -EINVAL;
		pids[n++] = x;
		break;
	}
	case T_PIDFILE: {
		uint64_t mtime;

		err = read_pidfile(o->arg, &pids[0], &mtime, &pidfile_owner);
		if (err) {
			log_error("--pidfile %s: %s", o->arg,
				  err == -EBADMSG ? "no pid on its first line" : strerror(-err));
			return err;
		}
		n = 1;
		not_after = real_to_boot_ns(mtime);
		break;
	}
	case T_RUNIT: {
		struct runit_state r;

		err = runit_read(o->arg, &r);
		if (err) {
			log_error("--runit %s: cannot read supervise/status: %s (is runsv "
				  "supervising it?)", o->arg, strerror(-err));
			return err;
		}
		if (runit_control(o->arg, NULL))
			log_warn("--runit %s: no runsv holds supervise/control; nothing will "
				 "restart the service", o->arg);
		if (!r.up || r.pid <= 1) {
			log_error("--runit %s: the service is down; nothing to signal", o->arg);
			return -ESRCH;
		}
		pids[n++] = r.pid;
		not_after = real_to_boot_ns(r.since_real_ns);
		break;
	}
	case T_UNIT: {
		struct unit_state u;
		static char procs[65536];
		char path[sizeof(o->cgdir) + 16];

		if (!systemd_running()) {
			log_error("--unit: systemd is not PID 1 on this host (no /run/systemd/system); "
				  "use --runit DIR, --pidfile FILE or --cgroup PATH");
			return -EOPNOTSUPP;
		}
		err = systemd_show(o->arg, &u);
		if (err) {
			log_error("--unit %s: systemctl show failed: %s", o->arg, strerror(-err));
			return err;
		}
		procs[0] = '\0';
		if (!unit_cgroup_dir(&u, o->cgdir, sizeof(o->cgdir))) {
			snprintf(path, sizeof(path), "%s/cgroup.procs", o->cgdir);
			read_file(path, procs, sizeof(procs));
		}
		err = systemd_plan(&u, procs, o->all, pids, &n);
		if (err) {
			log_error("--unit %s: no process to signal (ActiveState=%s, MainPID=%d)",
				  o->arg, u.active, u.main_pid);
			return err;
		}
		if (u.main_start_mono_us && u.main_pid > 1)
			not_after = real_to_boot_ns(mono_to_real_ns(u.main_start_mono_us * 1000));
		break;
	}
	case T_CGROUP: {
		static char procs[65536];
		char path[sizeof(o->cgdir) + 16];
		struct cgroup_layout l;

		if (o->arg[0] == '/' && !access(o->arg, F_OK)) {
			snprintf(o->cgdir, sizeof(o->cgdir), "%s", o->arg);
		} else if (!cgroup_probe(&l) && l.v2_root[0]) {
			snprintf(o->cgdir, sizeof(o->cgdir), "%s/%s", l.v2_root,
				 o->arg + strspn(o->arg, "/"));
		}
		snprintf(path, sizeof(path), "%s/cgroup.procs", o->cgdir);
		if (strstr(o->arg, "..") || read_file(path, procs, sizeof(procs))) {
			log_error("--cgroup %s: no such cgroup (give a directory under a cgroup "
				  "mount, or a path relative to the v2 hierarchy)", o->arg);
			return -ENOENT;
		}
		n = parse_pid_list(procs, pids, MAX_VICTIMS);
		if (!n) {
			log_error("--cgroup %s: no process in it", o->arg);
			return -ESRCH;
		}
		break;
	}
	default:
		return -EINVAL;
	}

	*ret_n = 0;
	for (int i = 0; i < n; i++) {
		/* Only the main process has a record to check; the others of a
		 * unit or cgroup are checked by membership after the open. */
		err = victim_open(pids[i], i == 0 ? not_after : 0, &v[*ret_n]);
		if (err == -ESRCH && n > 1)
			continue;	/* exited between the listing and the open */
		if (err) {
			log_error("%s %s: pid %d: %s", kind_names[o->kind], o->arg, pids[i],
				  resolve_error(err));
			for (int j = 0; j < *ret_n; j++)
				victim_close(&v[j]);
			return err;
		}
		if (o->kind == T_PIDFILE) {
			err = pidfile_target_check(&v[*ret_n], o->arg, pidfile_owner);
			if (err) {
				victim_close(&v[*ret_n]);
				return err;
			}
		}
		if ((o->kind == T_CGROUP || o->kind == T_UNIT) && o->cgdir[0] &&
		    !cgroup_lists(o->cgdir, pids[i])) {
			victim_close(&v[*ret_n]);
			if (i == 0 && o->kind == T_UNIT) {
				log_error("--unit %s: main pid %d is not in %s: %s", o->arg, pids[i],
					  o->cgdir, resolve_error(-ESTALE));
				for (int j = 0; j < *ret_n; j++)
					victim_close(&v[j]);
				return -ESTALE;
			}
			continue;
		}
		(*ret_n)++;
	}
	if (!*ret_n) {
		log_error("%s %s: no process left to signal", kind_names[o->kind], o->arg);
		return -ESRCH;
	}
	if (o->kind != T_PID)
		query(o, NULL, 0, before);
	if (o->kind == T_CGROUP || o->kind == T_PID || !before->pid) {
		before->pid = v[0].pid;
		before->start_real_ns = boot_to_real_ns(v[0].start_boot_ns);
		before->start_id = v[0].start_boot_ns;
		before->up = true;
	}
	return 0;
}

/* ------------------------------------------------------------ watching */

struct recovery {
	bool back, healthy;
	struct svc_now now;
	uint64_t start_ms;	/* event -> new process start (manager's record) */
	uint64_t detect_ms;	/* event -> tug saw the new process */
	uint64_t healthy_ms;	/* event -> first successful probe answered */
	unsigned probes;
	uint64_t t0_real;	/* the kill (or restart request), realtime ns */
	char state[72];		/* the manager's last state seen */
	int64_t auto_restart_ms;	/* event -> systemd's "auto-restart" seen; -1: never */
};

/*
 * After the kill (or the restart command) at t0 (realtime ns), watch until
 * the manager shows a new process and, with a probe, it answers; or until
 * wait_ns has passed. expect_new: a new process must appear (a supervisor);
 * without one (--pid) the probe alone decides.
 */
static void watch_recovery(struct proc_opts *o, const struct action_out *out,
			   struct victim *v, int n, const struct svc_now *before,
			   uint64_t t0_real, uint64_t t0_mono, bool expect_new,
			   struct recovery *r)
{
	uint64_t deadline = t0_mono + o->wait_ns, last_probe = 0;
	uint64_t tick = o->kind == T_UNIT ? 50 * NSEC_PER_MSEC : 5 * NSEC_PER_MSEC;
	CURL *curl = NULL;
	bool probe = o->probe_url != NULL, exited[MAX_VICTIMS] = { 0 };
	int err;

	memset(r, 0, sizeof(*r));
	r->t0_real = t0_real;
	r->auto_restart_ms = -1;
	if (probe && (err = http_init())) {
		log_errno(err, "--probe: cannot load libcurl (%s)", HTTP_LIBCURL);
		probe = false;
	}
	if (!expect_new)
		r->back = true;	/* nothing to wait for but health */

	for (;;) {
		uint64_t now = clock_ns(CLOCK_MONOTONIC);

		for (int i = 0; i < n; i++) {
			if (exited[i] || !victim_exited(&v[i]))
				continue;
			exited[i] = true;
			json_object *x = json_object_new_object();

			json_object_object_add(x, "pid", json_object_new_int(v[i].pid));
			json_object_object_add(x, "after_ms",
					       json_object_new_int64((now - t0_mono) / NSEC_PER_MSEC));
			action_emit(out, EV_EXITED, x);
		}
		if (!r->back) {
			struct svc_now s;

			err = query(o, v, n, &s);
			/* What an operator's `systemctl status` shows on the way
			 * back ("activating (auto-restart)"), each change once. */
			if (!err && strcmp(s.state, r->state)) {
				json_object *x = json_object_new_object();
				int64_t after = (now - t0_mono) / NSEC_PER_MSEC;

				snprintf(r->state, sizeof(r->state), "%s", s.state);
				if (r->auto_restart_ms < 0 && strstr(s.state, "(auto-restart)"))
					r->auto_restart_ms = after;
				json_object_object_add(x, "state", json_object_new_string(s.state));
				json_object_object_add(x, "after_ms", json_object_new_int64(after));
				action_emit(out, EV_STATE, x);
			}
			if (!err && s.up && s.pid > 0 &&
			    (s.pid != before->pid || s.start_id != before->start_id)) {
				json_object *x = json_object_new_object();
				uint64_t at = s.start_real_ns > t0_real ? s.start_real_ns : t0_real;

				r->back = true;
				r->now = s;
				r->start_ms = (at - t0_real) / NSEC_PER_MSEC;
				r->detect_ms = (now - t0_mono) / NSEC_PER_MSEC;
				json_object_object_add(x, "new_pid", json_object_new_int(s.pid));
				if (s.restarts >= 0)
					json_object_object_add(x, "restarts", json_object_new_int64(s.restarts));
				json_object_object_add(x, "to_start_ms", json_object_new_int64(r->start_ms));
				json_object_object_add(x, "seen_after_ms", json_object_new_int64(r->detect_ms));
				action_emit(out, EV_RESTARTED, x);
			}
		}
		if (r->back && probe && !r->healthy && now - last_probe >= o->probe_every_ns) {
			bool ok;

			last_probe = now;
			r->probes++;
			ok = http_healthy(&curl, o->probe_url);
			if (ok) {
				uint64_t done = clock_ns(CLOCK_MONOTONIC);
				json_object *x = json_object_new_object();

				r->healthy = true;
				r->healthy_ms = (done - t0_mono) / NSEC_PER_MSEC;
				json_object_object_add(x, "to_healthy_ms", json_object_new_int64(r->healthy_ms));
				json_object_object_add(x, "probes", json_object_new_int(r->probes));
				action_emit(out, EV_HEALTHY, x);
			}
		}
		if (r->back && (!probe || r->healthy))
			break;
		now = clock_ns(CLOCK_MONOTONIC);
		if (now >= deadline)
			break;
		{
			uint64_t sl = tick;
			struct timespec ts;

			if (probe && r->back && o->probe_every_ns < sl)
				sl = o->probe_every_ns;
			if (now + sl > deadline)
				sl = deadline - now;
			ts.tv_sec = sl / NSEC_PER_SEC;
			ts.tv_nsec = sl % NSEC_PER_SEC;
			nanosleep(&ts, NULL);
		}
	}
	http_close(curl);
}

/* The verdict: PASS when back (and healthy, with a probe) within the bound. */
static int verdict(struct proc_opts *o, const struct action_out *out, const struct recovery *r,
		   const struct svc_now *before, bool manual)
{
	bool pass = r->back && (!o->probe_url || r->healthy);
	json_object *x = json_object_new_object();
	char dur[32];

	json_object_object_add(x, "pass", json_object_new_boolean(pass));
	json_object_object_add(x, "bound", json_object_new_string(format_duration(o->wait_ns, dur, sizeof(dur))));
	json_object_object_add(x, "bound_ms", json_object_new_int64(o->wait_ns / NSEC_PER_MSEC));
	json_object_object_add(x, "old_pid", json_object_new_int(before->pid));
	json_object_object_add(x, "t0_ms", json_object_new_int64(r->t0_real / NSEC_PER_MSEC));
	if (r->back && r->now.pid) {
		json_object_object_add(x, "new_pid", json_object_new_int(r->now.pid));
		json_object_object_add(x, "to_start_ms", json_object_new_int64(r->start_ms));
		if (r->now.restarts >= 0)
			json_object_object_add(x, "restarts", json_object_new_int64(r->now.restarts));
		/* systemd's NRestarts counts automatic restarts and a restart
		 * asked for resets it: after one, a delta says nothing. */
		if (before->restarts >= 0 && r->now.restarts >= 0 && !manual)
			json_object_object_add(x, "restarts_delta",
					       json_object_new_int64(r->now.restarts - before->restarts));
		if (before->restarts >= 0 && manual)
			json_object_object_add(x, "restarts_before",
					       json_object_new_int64(before->restarts));
	}
	if (r->auto_restart_ms >= 0)
		json_object_object_add(x, "auto_restart_ms", json_object_new_int64(r->auto_restart_ms));
	if (r->healthy)
		json_object_object_add(x, "to_healthy_ms", json_object_new_int64(r->healthy_ms));
	if (!pass)
		json_object_object_add(x, "why", json_object_new_string(
			!r->back ? "no new process within the bound" : "not healthy within the bound"));
	action_emit(out, pass ? EV_PASS : EV_FAIL, x);
	return pass ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ----------------------------------------------------------------- options */

enum { O_UNIT = 0x100, O_PID, O_PIDFILE, O_CGROUP, O_RUNIT, O_SIGNAL, O_WAIT, O_PROBE,
       O_PROBE_EVERY, O_ALL };

static const char kill_usage[] =
	"usage: tug proc kill (--unit NAME | --pid PID | --pidfile FILE | --cgroup PATH |\n"
	"                      --runit DIR) [--signal SIG] [--wait-restart DUR [--probe URL]]\n"
	"\n"
	"Signal exactly the processes of one service through pidfds, and measure how its\n"
	"supervisor brings it back. A pid is checked against the record that named it\n"
	"(pidfile mtime, runit's or systemd's recorded start, cgroup membership) after\n"
	"the pidfd is open, so a reused pid is never hit. Nothing is matched by name.\n"
	"\n"
	"  --unit NAME        a systemd unit's main process (--all: its whole cgroup);\n"
	"                     needs systemd as PID 1\n"
	"  --pid PID          one process\n"
	"  --pidfile FILE     the process a pid file names (must predate the file)\n"
	"  --cgroup PATH      every process of a cgroup (absolute, or relative to v2)\n"
	"  --runit DIR        the process runsv supervises in service directory DIR\n"
	"  --signal SIG       KILL (default), TERM, 9, SIGHUP, ...\n"
	"  --all              with --unit: every process of the unit's cgroup\n"
	"  --wait-restart DUR wait up to DUR for a new process (and health); PASS/FAIL,\n"
	"                     exit 1 when not back in time\n"
	"  --probe URL        HTTP(S) health URL; healthy = 2xx/3xx\n"
	"  --probe-every DUR  probe interval (default 20ms, at most 50ms)\n"
	"  --json             one JSON object per event on stdout\n"
	"\n"
	"EXAMPLES\n"
	"  tug proc kill --runit /etc/service/gateway --wait-restart 30s --probe http://127.0.0.1:8000/health\n"
	"  tug proc kill --unit gateway.service --signal TERM --wait-restart 30s\n"
	"  tug proc kill --pidfile /run/worker.pid --signal KILL\n";

static const char restart_usage[] =
	"usage: tug proc restart (--unit NAME | --runit DIR) [--wait DUR] [--probe URL]\n"
	"\n"
	"Restart a service through its manager (systemctl restart; runit's term, cont,\n"
	"up) and report the time to active (a new main process) and to healthy.\n"
	"\n"
	"  --unit NAME        a systemd unit (needs systemd as PID 1)\n"
	"  --runit DIR        a runit service directory\n"
	"  --wait DUR         the bound (default 30s); exit 1 when not back in time\n"
	"  --probe URL        HTTP(S) health URL; healthy = 2xx/3xx\n"
	"  --probe-every DUR  probe interval (default 20ms, at most 50ms)\n"
	"  --json             one JSON object per event on stdout\n"
	"\n"
	"EXAMPLES\n"
	"  tug proc restart --runit /etc/service/gateway --probe http://127.0.0.1:8000/health\n"
	"  for u in db.service api.service ui.service; do tug proc restart --unit $u --wait 60s; done\n";

static int set_target(struct proc_opts *o, enum target_kind k, const char *arg, const char *flag)
{
	if (o->kind != T_NONE) {
		log_error("%s: give exactly one target (--unit, --pid, --pidfile, --cgroup or --runit)", flag);
		return -EINVAL;
	}
	if (!arg || !*arg)
		return fault_bad_option(flag, arg, "a non-empty value");
	o->kind = k;
	o->arg = arg;
	return 0;
}

/* Returns 0, 1 for --help, or -EINVAL (logged). */
static int parse_opts(int argc, char **argv, bool restart, struct proc_opts *o, bool *json)
{
	static const struct option opts[] = {
		{ "unit", required_argument, NULL, O_UNIT },
		{ "pid", required_argument, NULL, O_PID },
		{ "pidfile", required_argument, NULL, O_PIDFILE },
		{ "cgroup", required_argument, NULL, O_CGROUP },
		{ "runit", required_argument, NULL, O_RUNIT },
		{ "signal", required_argument, NULL, O_SIGNAL },
		{ "wait-restart", required_argument, NULL, O_WAIT },
		{ "wait", required_argument, NULL, O_WAIT },
		{ "probe", required_argument, NULL, O_PROBE },
		{ "probe-every", required_argument, NULL, O_PROBE_EVERY },
		{ "all", no_argument, NULL, O_ALL },
		ACTION_COMMON_OPTIONS,
		{},
	};
	const char *flag = restart ? "--wait" : "--wait-restart";
	uint64_t x;
	int opt, err;

	memset(o, 0, sizeof(*o));
	o->sig = SIGKILL;
	o->probe_every_ns = 20 * NSEC_PER_MSEC;
	if (restart)
		o->wait_ns = 30 * NSEC_PER_SEC;
	optind = 0;
	while ((opt = action_getopt(argc, argv, opts, json, &err)) >= 0) {
		switch (opt) {
		case O_UNIT: err = set_target(o, T_UNIT, optarg, "--unit"); break;
		case O_PID:
			err = set_target(o, T_PID, optarg, "--pid");
			if (!err && parse_uint(optarg, 2, INT_MAX, &x))
				err = fault_bad_option("--pid", optarg, "a process id above 1");
			break;
		case O_PIDFILE: err = set_target(o, T_PIDFILE, optarg, "--pidfile"); break;
		case O_CGROUP: err = set_target(o, T_CGROUP, optarg, "--cgroup"); break;
		case O_RUNIT: err = set_target(o, T_RUNIT, optarg, "--runit"); break;
		case O_SIGNAL:
			if (parse_signal_name(optarg, &o->sig))
				err = fault_bad_option("--signal", optarg, "a signal, like KILL, TERM or 9");
			break;
		case O_WAIT:
			if (parse_duration(optarg, &o->wait_ns) || !o->wait_ns ||
			    o->wait_ns > 3600 * NSEC_PER_SEC)
				err = fault_bad_option(flag, optarg, "a duration up to 1h, like 500ms, 30s or 2m");
			break;
		case O_PROBE:
			if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))
				err = fault_bad_option("--probe", optarg, "an http:// or https:// URL");
			o->probe_url = optarg;
			break;
		case O_PROBE_EVERY:
			if (parse_duration(optarg, &o->probe_every_ns) ||
			    o->probe_every_ns < NSEC_PER_MSEC || o->probe_every_ns > 50 * NSEC_PER_MSEC)
				err = fault_bad_option("--probe-every", optarg, "a duration from 1ms to 50ms");
			break;
		case O_ALL: o->all = true; break;
		}
		if (err)
			return err;
	}
	if (err)
		return err;
	if (o->kind == T_NONE) {
		log_error(restart ? "give a target: --unit NAME or --runit DIR"
				  : "give a target: --unit, --pid, --pidfile, --cgroup or --runit");
		return -EINVAL;
	}
	if (restart && o->kind != T_UNIT && o->kind != T_RUNIT) {
		log_error("proc restart goes through a service manager: use --unit or --runit");
		return -EINVAL;
	}
	if (o->all && o->kind != T_UNIT) {
		log_error("--all: only with --unit (--cgroup always signals every process)");
		return -EINVAL;
	}
	if (o->probe_url && !o->wait_ns) {
		log_error("--probe: needs --wait-restart DUR (the bound the service must be healthy within)");
		return -EINVAL;
	}
	if (o->kind == T_PID && o->wait_ns && !o->probe_url) {
		log_error("--wait-restart with --pid: no supervisor is known to report a new process; "
			  "add --probe URL, or name the target by --runit, --unit, --pidfile or --cgroup");
		return -EINVAL;
	}
	return 0;
}

/* ---------------------------------------------------------------- commands */

static json_object *victim_json(const struct victim *v)
{
	json_object *x = json_object_new_object();

	json_object_object_add(x, "pid", json_object_new_int(v->pid));
	json_object_object_add(x, "comm", json_object_new_string(v->comm));
	json_object_object_add(x, "started_ms",
			       json_object_new_int64(boot_to_real_ns(v->start_boot_ns) / NSEC_PER_MSEC));
	return x;
}

int cmd_proc_kill(int argc, char **argv, bool json)
{
	struct victim v[MAX_VICTIMS];
	struct action_out out = { .name = "proc kill" };
	struct proc_opts o;
	struct svc_now before;
	struct recovery r;
	uint64_t t0_real = 0, t0_mono = 0;
	int n = 0, err, hit = 0, ret;

	err = parse_opts(argc, argv, false, &o, &json);
	if (err == 1) {
		fputs(kill_usage, stdout);
		return EXIT_SUCCESS;
	}
	if (err) {
		log_error("nothing was signalled; see 'tug proc kill --help'");
		return 2;
	}
	out.json = json;
	signal(SIGPIPE, SIG_IGN);
	if (resolve(&o, v, &n, &before)) {
		log_error("nothing was signalled");
		return 2;
	}
	{
		json_object *x = json_object_new_object(), *arr = json_object_new_array();

		json_object_object_add(x, kind_names[o.kind], json_object_new_string(o.arg));
		for (int i = 0; i < n; i++)
			json_object_array_add(arr, victim_json(&v[i]));
		json_object_object_add(x, "processes", arr);
		if (o.kind != T_PID && o.kind != T_CGROUP)
			svc_now_json(x, &before);
		action_emit(&out, EV_TARGET, x);
	}

	for (int i = 0; i < n; i++) {
		json_object *x = json_object_new_object();
		uint64_t t = clock_ns(CLOCK_MONOTONIC), tr = clock_ns(CLOCK_REALTIME);
		int e = syscall(SYS_pidfd_send_signal, v[i].pidfd, o.sig, NULL, 0) ? -errno : 0;

		if (!e && !hit++) {
			t0_mono = t;
			t0_real = tr;
		}
		json_object_object_add(x, "pid", json_object_new_int(v[i].pid));
		json_object_object_add(x, "comm", json_object_new_string(v[i].comm));
		json_object_object_add(x, "signal", json_object_new_string(sigabbrev_np(o.sig) ?: "?"));
		json_object_object_add(x, "ok", json_object_new_boolean(!e));
		if (e)
			json_object_object_add(x, "error", json_object_new_string(
				e == -ESRCH ? "already exited" : strerror(-e)));
		action_emit(&out, EV_SIGNALLED, x);
	}
	if (!hit) {
		log_error("no process could be signalled");
		ret = EXIT_FAILURE;
		goto cleanup;
	}
	ret = EXIT_SUCCESS;
	if (o.wait_ns) {
		watch_recovery(&o, &out, v, n, &before, t0_real, t0_mono, o.kind != T_PID, &r);
		ret = verdict(&o, &out, &r, &before, false);
	}
cleanup:
	for (int i = 0; i < n; i++)
		victim_close(&v[i]);
	return ret;
}

int cmd_proc_restart(int argc, char **argv, bool json)
{
	struct action_out out = { .name = "proc restart" };
	struct proc_opts o;
	struct svc_now before;
	struct recovery r;
	uint64_t t0_real, t0_mono;
	int err;

	err = parse_opts(argc, argv, true, &o, &json);
	if (err == 1) {
		fputs(restart_usage, stdout);
		return EXIT_SUCCESS;
	}
	if (err) {
		log_error("nothing was restarted; see 'tug proc restart --help'");
		return 2;
	}
	out.json = json;
	if (o.kind == T_UNIT && !systemd_running()) {
		log_error("--unit: systemd is not PID 1 on this host (no /run/systemd/system); use --runit DIR");
		return 2;
	}
	err = query(&o, NULL, 0, &before);
	if (err) {
		log_error("%s %s: cannot read its state: %s", kind_names[o.kind], o.arg, strerror(-err));
		return 2;
	}
	if (o.kind == T_RUNIT && runit_control(o.arg, NULL)) {
		log_error("--runit %s: no runsv supervises it (supervise/control has no reader)", o.arg);
		return 2;
	}
	{
		json_object *x = json_object_new_object();

		json_object_object_add(x, kind_names[o.kind], json_object_new_string(o.arg));
		svc_now_json(x, &before);
		action_emit(&out, EV_TARGET, x);
	}

	t0_mono = clock_ns(CLOCK_MONOTONIC);
	t0_real = clock_ns(CLOCK_REALTIME);
	if (o.kind == T_RUNIT) {
		/* What `sv restart` sends: term, cont, up. */
		err = runit_control(o.arg, "tcu");
	} else {
		char *av[] = { (char *)systemctl_path(), "restart", "--no-block", "--", (char *)o.arg, NULL };
		char buf[256];
		int rc = run_capture(av, buf, sizeof(buf));

		err = rc < 0 ? rc : rc ? -EIO : 0;
	}
	{
		json_object *x = json_object_new_object();

		json_object_object_add(x, "ok", json_object_new_boolean(!err));
		if (err)
			json_object_object_add(x, "error", json_object_new_string(strerror(-err)));
		action_emit(&out, EV_RESTART_REQUESTED, x);
	}
	if (err)
		return EXIT_FAILURE;
	/* A restart may leave the pid unchanged only when the manager's record
	 * of the start changes: watch for either. */
	watch_recovery(&o, &out, NULL, 0, &before, t0_real, t0_mono, true, &r);
	return verdict(&o, &out, &r, &before, true);
}

/* ------------------------------------------------------------------ freeze */

/* proc freeze holds a fault (a knob: cgroup.freeze, freezer.state on v1),
 * unlike kill and restart: the knob engine (cgknob.c) runs it. */
static const char *freeze_backend(char *why, size_t len)
{
	return knob_backend_for("freezer", "freezer.state", "cgroup.freeze", why, len);
}

const struct fault_ops proc_freeze_ops = KNOB_OPS("proc", "freeze",
	"freeze every process of one cgroup: the service hangs without dying, then thaws",
	"Options:\n"
	CGROUP_USAGE
	"\nRefuses a cgroup that holds tug itself, or one already frozen.\n"
	"\nExamples:\n"
	"  tug proc freeze --cgroup system.slice/postgresql.service --for 20s\n",
	freeze_backend);
