// SPDX-License-Identifier: GPL-2.0
/*
 * The observer's pure parts: --cgroup resolution on layouts built in a
 * temporary directory (the hybrid of this lab and pure v2), wait status
 * decoding, and the JSON and human forms of each event. No root needed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "observer.h"
#include "parse.h"

static char tmp[256];

static void mk(const char *rel)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", tmp, rel);
	if (system(cmd))
		printf("  mkdir %s failed\n", rel);
}

static void put(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* A layout from a mountinfo naming directories under tmp. */
static int layout(struct cgroup_layout *l, bool hybrid)
{
	char mi[2048], path[512];

	if (hybrid)
		snprintf(mi, sizeof(mi),
			 "30 25 0:26 / %s/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n"
			 "31 25 0:27 / %s/freezer rw,relatime shared:10 - cgroup cgroup rw,freezer\n"
			 "32 25 0:28 / %s/unified rw,relatime shared:11 - cgroup2 cgroup2 rw\n",
			 tmp, tmp, tmp);
	else
		snprintf(mi, sizeof(mi), "30 25 0:26 / %s/cg2 rw,relatime shared:9 - cgroup2 cgroup2 rw\n", tmp);
	put("mountinfo", mi);
	snprintf(path, sizeof(path), "%s/mountinfo", tmp);
	return cgroup_probe_file(path, l);
}

static void test_resolve_hybrid(void)
{
	struct cgroup_layout l;
	char p[CGROUP_PATH_MAX], c[32], want[512];

	mk("memory/system.slice/gw.service");
	mk("freezer/batch");
	mk("unified/system.slice/gw.service");
	put("unified/cgroup.controllers", "cpu io pids\n");
	CHECK_EQ(layout(&l, true), 0);

	/* Relative: the memory controller's hierarchy, as the faults read it. */
	CHECK_EQ(observe_resolve_cgroup(&l, "system.slice/gw.service", p, sizeof(p), c, sizeof(c)), 0);
	snprintf(want, sizeof(want), "%s/memory/system.slice/gw.service", tmp);
	CHECK_STR(p, want);
	CHECK_STR(c, "memory");
	/* As /proc/PID/cgroup prints it. */
	CHECK_EQ(observe_resolve_cgroup(&l, "/system.slice/gw.service", p, sizeof(p), c, sizeof(c)), 0);
	CHECK_STR(p, want);

	/* Absolute on the v2 mount and on another v1 controller's. */
	snprintf(want, sizeof(want), "%s/unified/system.slice/gw.service", tmp);
	CHECK_EQ(observe_resolve_cgroup(&l, want, p, sizeof(p), c, sizeof(c)), 0);
	CHECK_STR(p, want);
	CHECK_STR(c, "");
	snprintf(want, sizeof(want), "%s/freezer/batch", tmp);
	CHECK_EQ(observe_resolve_cgroup(&l, want, p, sizeof(p), c, sizeof(c)), 0);
	CHECK_STR(c, "freezer");

	/* Mistakes. */
	CHECK_EQ(observe_resolve_cgroup(&l, "system.slice/nope", p, sizeof(p), c, sizeof(c)), -ENOENT);
	CHECK_EQ(observe_resolve_cgroup(&l, "", p, sizeof(p), c, sizeof(c)), -EINVAL);
	CHECK_EQ(observe_resolve_cgroup(&l, "a/../../etc", p, sizeof(p), c, sizeof(c)), -EINVAL);
	snprintf(want, sizeof(want), "%s/memory", tmp);
	CHECK_EQ(observe_resolve_cgroup(&l, want, p, sizeof(p), c, sizeof(c)), -EBUSY);
	snprintf(want, sizeof(want), "%s/freezer", tmp);
	CHECK_EQ(observe_resolve_cgroup(&l, want, p, sizeof(p), c, sizeof(c)), -EBUSY);
	snprintf(want, sizeof(want), "%s/unified/system.slice/nope", tmp);
	CHECK_EQ(observe_resolve_cgroup(&l, want, p, sizeof(p), c, sizeof(c)), -ENOENT);
}

static void test_resolve_pure_v2(void)
{
	struct cgroup_layout l;
	char p[CGROUP_PATH_MAX], c[32] = "x", want[512];

	mk("cg2/system.slice/db.service");
	put("cg2/cgroup.controllers", "cpuset cpu io memory pids\n");
	CHECK_EQ(layout(&l, false), 0);
	CHECK_EQ(observe_resolve_cgroup(&l, "system.slice/db.service", p, sizeof(p), c, sizeof(c)), 0);
	snprintf(want, sizeof(want), "%s/cg2/system.slice/db.service", tmp);
	CHECK_STR(p, want);
	CHECK_STR(c, "");
	CHECK_EQ(observe_resolve_cgroup(&l, want, p, sizeof(p), c, sizeof(c)), 0);
	CHECK_STR(p, want);
}

static void test_decode_status(void)
{
	int code, sig;
	bool core;

	observe_decode_status(7 << 8, &code, &sig, &core);
	CHECK_EQ(code, 7);
	CHECK_EQ(sig, 0);
	CHECK(!core);
	observe_decode_status(9, &code, &sig, &core);
	CHECK_EQ(code, 0);
	CHECK_EQ(sig, 9);
	CHECK(!core);
	observe_decode_status(0x80 | 6, &code, &sig, &core);
	CHECK_EQ(sig, 6);
	CHECK(core);
	observe_decode_status(0, &code, &sig, &core);
	CHECK_EQ(code, 0);
	CHECK_EQ(sig, 0);
}

static const char *str_field(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && v ? json_object_get_string(v) : NULL;
}

static long long int_field(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_int64(v) : -1;
}

static bool is_null(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) && !v;
}

static void test_oom_event_forms(void)
{
	struct observe_event e = {
		.kind = OBS_OOM, .ts_ns = 1700000000123456789ULL, .ktime_ns = 5, .delay_ns = 250000,
		.pid = 4242, .tid = 4243, .comm = "hog", .cgroup_id = 77,
		.cgroup = "/sys/fs/cgroup/memory/tug-t",
	};
	char line[1024];
	json_object *o;

	e.oom.anon_rss = 30 << 20;
	e.oom.file_rss = 1 << 20;
	e.oom.shmem_rss = 0;
	e.oom.total_vm = 40 << 20;
	e.oom.memcg_usage = 32 << 20;
	e.oom.memcg_limit = 32 << 20;
	e.oom.oom_score_adj = -100;
	e.oom.constraint = OBSERVE_CONSTRAINT_MEMCG;
	e.oom.trigger_pid = 4242;
	strcpy(e.oom.trigger_comm, "hog");

	o = observe_event_json(&e);
	CHECK_STR(str_field(o, "event"), "oom_kill");
	CHECK_EQ(int_field(o, "pid"), 4242);
	CHECK_EQ(int_field(o, "ts_ms"), 1700000000123LL);
	CHECK_EQ(int_field(o, "delay_us"), 250);
	CHECK_STR(str_field(o, "cgroup"), "/sys/fs/cgroup/memory/tug-t");
	CHECK_STR(str_field(o, "constraint"), "memcg");
	CHECK_EQ(int_field(o, "rss"), 31 << 20);
	CHECK_EQ(int_field(o, "memcg_limit"), 32 << 20);
	CHECK_EQ(int_field(o, "oom_score_adj"), -100);
	json_object_put(o);

	e.oom.memcg_limit = 0;	/* no limit: null, not 0 */
	e.oom.constraint = OBSERVE_CONSTRAINT_GLOBAL;
	o = observe_event_json(&e);
	CHECK(is_null(o, "memcg_limit"));
	CHECK_STR(str_field(o, "constraint"), "global");
	json_object_put(o);

	observe_event_format(&e, line, sizeof(line));
	CHECK(strstr(line, "OOM-KILL pid 4242 (hog) in /sys/fs/cgroup/memory/tug-t") != NULL);
	CHECK(strstr(line, "global OOM") != NULL);
	CHECK(strstr(line, "rss 31M (anon 30M file 1.0M") != NULL);
	CHECK(strstr(line, "no limit") != NULL);
}

static void test_proc_event_forms(void)
{
	struct observe_event e = { .kind = OBS_EXIT, .pid = 10, .comm = "gw", .cgroup = "/x" };
	char line[1024];
	json_object *o;

	e.exit.ppid = 1;
	e.exit.status = 9;
	observe_decode_status(9, &e.exit.code, &e.exit.signal, &e.exit.core);
	e.exit.runtime_ns = 1500 * NSEC_PER_MSEC;
	o = observe_event_json(&e);
	CHECK_STR(str_field(o, "event"), "exit");
	CHECK_STR(str_field(o, "signal"), "KILL");
	CHECK(is_null(o, "exit_code"));
	CHECK_EQ(int_field(o, "runtime_ms"), 1500);
	json_object_put(o);
	observe_event_format(&e, line, sizeof(line));
	CHECK(strstr(line, "EXIT     pid 10 (gw) killed by SIGKILL after 1500ms  parent 1") != NULL);

	e.exit.status = 3 << 8;
	observe_decode_status(e.exit.status, &e.exit.code, &e.exit.signal, &e.exit.core);
	o = observe_event_json(&e);
	CHECK_EQ(int_field(o, "exit_code"), 3);
	CHECK(is_null(o, "signal"));
	json_object_put(o);
	observe_event_format(&e, line, sizeof(line));
	CHECK(strstr(line, "exited 3 after") != NULL);

	memset(&e, 0, sizeof(e));
	e.kind = OBS_EXEC;
	e.pid = 11;
	strcpy(e.comm, "gw");
	strcpy(e.exec.filename, "/usr/bin/gw");
	e.exec.ppid = 1;
	o = observe_event_json(&e);
	CHECK_STR(str_field(o, "event"), "exec");
	CHECK_STR(str_field(o, "filename"), "/usr/bin/gw");
	json_object_put(o);
	observe_event_format(&e, line, sizeof(line));
	CHECK(strstr(line, "EXEC     pid 11 (gw) /usr/bin/gw  parent 1") != NULL);
}

/* A kallsyms as the kernel prints it, out of address order like module
 * symbols are; "global" needs out_of_memory, "memcg" one of the memcg paths. */
static void test_constraint_from_stack(void)
{
	struct observe_ksyms k;
	char path[512];
	uint64_t memcg_stack[] = { 0xffffffff81000010, 0xffffffff815ae990, 0xffffffff816a8010 };
	uint64_t global_stack[] = { 0xffffffff81000010, 0xffffffff815ae990, 0xffffffff81638700 };
	uint64_t other_stack[] = { 0xffffffff81000010, 0xffffffff816a8100 };

	put("kallsyms",
	    "ffffffff816a7fc0 t mem_cgroup_out_of_memory\n"
	    "ffffffff81000000 T _stext\n"
	    "ffffffff815ae930 T out_of_memory\n"
	    "ffffffff815aee40 T pagefault_out_of_memory\n"
	    "ffffffff81638650 t __alloc_pages_slowpath.constprop.0\n"
	    "ffffffff816a80f0 t mem_cgroup_oom_trylock\n"
	    "ffffffffc0000000 t some_module_fn\t[mod]\n");
	snprintf(path, sizeof(path), "%s/kallsyms", tmp);
	CHECK_EQ(observe_ksyms_load(path, &k), 0);
	CHECK_EQ(observe_constraint_of(&k, memcg_stack, 3), OBSERVE_CONSTRAINT_MEMCG);
	CHECK_EQ(observe_constraint_of(&k, global_stack, 3), OBSERVE_CONSTRAINT_GLOBAL);
	/* Past mem_cgroup_out_of_memory's end (the next symbol): not in it. */
	CHECK_EQ(observe_constraint_of(&k, other_stack, 2), OBSERVE_CONSTRAINT_UNKNOWN);
	CHECK_EQ(observe_constraint_of(&k, memcg_stack, 0), OBSERVE_CONSTRAINT_UNKNOWN);

	/* kptr_restrict: every address printed as zero. */
	put("kallsyms", "0000000000000000 T out_of_memory\n0000000000000000 t mem_cgroup_out_of_memory\n");
	CHECK_EQ(observe_ksyms_load(path, &k), -ENOENT);
	CHECK_EQ(observe_constraint_of(&k, memcg_stack, 3), OBSERVE_CONSTRAINT_UNKNOWN);
}

int main(void)
{
	char cmd[300];

	snprintf(tmp, sizeof(tmp), "/tmp/tug-test-observer.XXXXXX");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_resolve_hybrid);
	RUN(test_resolve_pure_v2);
	RUN(test_decode_status);
	RUN(test_oom_event_forms);
	RUN(test_proc_event_forms);
	RUN(test_constraint_from_stack);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd))
		printf("  could not remove %s\n", tmp);
	return t_exit();
}
