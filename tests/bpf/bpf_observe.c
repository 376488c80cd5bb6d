// SPDX-License-Identifier: GPL-2.0
/*
 * observe.bpf.c loads in both flavours (tp_btf and raw_tp) with and without
 * a cgroup filter, and the observer API as a fault family uses it: one
 * call to open on a cgroup, events delivered for a child that execs,
 * exits with a code, and is OOM-killed in a memory cgroup with a small
 * limit. Every cgroup made here is removed, also when a check fails.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "harness.h"
#include "observer.h"
#include "observe.skel.h"

static char memroot[CGROUP_PATH_MAX - 64];
static bool memv2;

static int load_flavour(bool raw, uint64_t cgid)
{
	struct observe_bpf *s = observe_bpf__open();
	int err;

	if (!s)
		return -errno;
	s->rodata->filter_cgid = cgid;
	s->rodata->filter_ssid = cgid ? 4 : -1;
	s->rodata->report_ssid = 4;
	printf("  %s\n", observe_select(s, raw, OBSERVE_ALL));
	err = observe_bpf__load(s);
	if (!err)
		err = observe_bpf__attach(s);
	observe_bpf__destroy(s);
	return err;
}

static void test_load_tp_btf(void)
{
	CHECK_EQ(load_flavour(false, 0), 0);
	CHECK_EQ(load_flavour(false, 12345), 0);
}

static void test_load_raw_tp(void)
{
	CHECK_EQ(load_flavour(true, 0), 0);
	CHECK_EQ(load_flavour(true, 12345), 0);
}

/* A memory cgroup for one test; "" when it cannot be made. */
static void make_cg(char *path, size_t len, const char *name, const char *limit)
{
	char file[CGROUP_PATH_MAX + 64];
	FILE *f;

	snprintf(path, len, "%s/tug-test-%s-%d", memroot, name, getpid());
	if (mkdir(path, 0755)) {
		path[0] = '\0';
		return;
	}
	if (!limit)
		return;
	snprintf(file, sizeof(file), "%s/%s", path, memv2 ? "memory.max" : "memory.limit_in_bytes");
	f = fopen(file, "w");
	if (f) {
		fputs(limit, f);
		fclose(f);
	}
	if (memv2) {
		snprintf(file, sizeof(file), "%s/memory.swap.max", path);
		if ((f = fopen(file, "w"))) {
			fputs("0", f);
			fclose(f);
		}
	}
}

static void remove_cg(const char *path)
{
	for (int i = 0; path[0] && i < 100 && rmdir(path) && errno == EBUSY; i++)
		usleep(20000);
}

/* Fork a child that joins cgroup cg and runs fn. */
static pid_t spawn_in(const char *cg, void (*fn)(void))
{
	pid_t pid = fork();

	if (pid == 0) {
		char file[CGROUP_PATH_MAX + 32];
		FILE *f;

		snprintf(file, sizeof(file), "%s/cgroup.procs", cg);
		f = fopen(file, "w");
		if (!f || fprintf(f, "%d\n", getpid()) < 0 || fclose(f))
			_exit(100);
		fn();
		_exit(101);
	}
	return pid;
}

static void run_exit_5(void)
{
	execl("/bin/sh", "sh", "-c", "exit 5", (char *)NULL);
}

static void run_hog(void)
{
	for (;;) {
		char *p = malloc(1 << 20);

		if (!p)
			_exit(102);
		memset(p, 1, 1 << 20);
	}
}

struct seen {
	pid_t pid;
	int execs, exits, ooms;
	int exit_code, exit_signal;
	char exec_file[OBS_FILENAME_LEN];
	char cgroup[CGROUP_PATH_MAX];
	enum observe_constraint constraint;
	uint64_t anon_rss, limit;
};

static void collect(const struct observe_event *e, void *ctx)
{
	struct seen *s = ctx;

	if (e->pid != s->pid)
		return;
	snprintf(s->cgroup, sizeof(s->cgroup), "%s", e->cgroup);
	if (e->kind == OBS_EXEC) {
		s->execs++;
		snprintf(s->exec_file, sizeof(s->exec_file), "%s", e->exec.filename);
	} else if (e->kind == OBS_EXIT) {
		s->exits++;
		s->exit_code = e->exit.code;
		s->exit_signal = e->exit.signal;
	} else if (e->kind == OBS_OOM) {
		s->ooms++;
		s->constraint = e->oom.constraint;
		s->anon_rss = e->oom.anon_rss;
		s->limit = e->oom.memcg_limit;
	}
}

/* Dispatch until cond holds or 3 s pass. */
static void drain(struct observer *obs, const int *counter, int want)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		observer_dispatch(obs, 50);
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (*counter < want && t.tv_sec - t0.tv_sec < 3);
}

static void test_api_proc_events(void)
{
	struct seen s = { 0 };
	struct observer *obs = NULL;
	char cg[CGROUP_PATH_MAX];
	int status = 0, err;

	make_cg(cg, sizeof(cg), "obs-proc", NULL);
	if (!cg[0])
		SKIP("cannot create a memory cgroup");
	err = observer_open(&(struct observer_opts){ .kinds = OBSERVE_PROC, .cgroup = cg,
						    .fn = collect, .ctx = &s }, &obs);
	CHECK_EQ(err, 0);
	if (!err) {
		CHECK_STR(observer_cgroup(obs), cg);
		s.pid = spawn_in(cg, run_exit_5);
		waitpid(s.pid, &status, 0);
		drain(obs, &s.exits, 1);
		CHECK_EQ(s.execs, 1);
		CHECK_STR(s.exec_file, "/bin/sh");
		CHECK_EQ(s.exits, 1);
		CHECK_EQ(s.exit_code, 5);
		CHECK_EQ(s.exit_signal, 0);
		CHECK_STR(s.cgroup, cg);
		CHECK_EQ(observer_count(obs, OBS_EXIT), 1);
		CHECK_EQ(observer_count(obs, OBS_OOM), 0);
		CHECK_EQ(observer_lost(obs), 0);
	}
	observer_close(obs);
	remove_cg(cg);
}

static void test_api_oom_victims(void)
{
	struct seen s = { 0 };
	struct observer *obs = NULL;
	char cg[CGROUP_PATH_MAX];
	int status = 0, err;

	make_cg(cg, sizeof(cg), "obs-oom", "16M");
	if (!cg[0])
		SKIP("cannot create a memory cgroup");
	/* What a fault family does: one call, its target cgroup. */
	err = observer_open(&(struct observer_opts){ .kinds = OBSERVE_OOM, .cgroup = cg,
						    .fn = collect, .ctx = &s }, &obs);
	CHECK_EQ(err, 0);
	if (!err) {
		json_object *v, *first, *pid;

		s.pid = spawn_in(cg, run_hog);
		waitpid(s.pid, &status, 0);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		drain(obs, &s.ooms, 1);
		CHECK_EQ(s.ooms, 1);
		CHECK_STR(s.cgroup, cg);
		CHECK_EQ(s.constraint, OBSERVE_CONSTRAINT_MEMCG);
		CHECK_EQ(s.limit, 16 << 20);
		printf("  victim anon_rss %llu of limit %llu\n", (unsigned long long)s.anon_rss, (unsigned long long)s.limit);
		/* Its own allocations, plus what it shares with us since fork
		 * (charged to our cgroup, not to the limited one). */
		CHECK(s.anon_rss > 8 << 20);
		v = observer_oom_victims(obs);
		CHECK_EQ(json_object_array_length(v), 1);
		first = json_object_array_get_idx(v, 0);
		CHECK(first && json_object_object_get_ex(first, "pid", &pid) &&
		      json_object_get_int(pid) == s.pid);
		json_object_put(v);
	}
	observer_close(obs);
	remove_cg(cg);
}

int main(void)
{
	struct cgroup_layout l;

	if (cgroup_probe(&l) || cgroup_controller_root(&l, "memory", memroot, sizeof(memroot), &memv2))
		memroot[0] = '\0';
	RUN(test_load_tp_btf);
	RUN(test_load_raw_tp);
	if (memroot[0]) {
		RUN(test_api_proc_events);
		RUN(test_api_oom_victims);
	} else {
		printf("skip test_api: no memory cgroup controller\n");
	}
	return t_exit();
}
