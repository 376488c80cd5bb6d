// SPDX-License-Identifier: GPL-2.0
/*
 * cgroup layout probing and --cgroup PATH resolution against layouts built
 * in a temporary directory: pure v2 (production), the hybrid of this lab
 * (memory on v1, v2 at .../unified), and hosts that lack a controller.
 * No root needed: only files and directories.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "harness.h"

static char tmp[256];

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

static void mk(const char *rel)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", tmp, rel);
	if (system(cmd))
		printf("  mkdir %s failed\n", rel);
}

static int probe(const char *mountinfo_rel, struct cgroup_layout *l)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tmp, mountinfo_rel);
	return cgroup_probe_file(path, l);
}

/* Expected path: tmp + suffix. */
static const char *at(const char *suffix)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", tmp, suffix);
	return buf[i];
}

static void setup(void)
{
	char mi[4096];

	/* Pure v2, as on most production hosts. */
	mk("v2/cg/system.slice/foo.service");
	mk("v2/cg/system.slice/bar.service");
	put("v2/cg/cgroup.controllers", "cpuset cpu io memory hugetlb pids\n");
	put("v2/cg/system.slice/notadir", "x");
	mk("v2/cgx/system.slice/foo.service");
	snprintf(mi, sizeof(mi),
		 "25 1 0:23 / /sys rw,nosuid - sysfs sysfs rw\n"
		 "30 25 0:26 / %s/v2/cg rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
		 tmp);
	put("v2/mountinfo", mi);

	/* The hybrid this lab runs: controllers on v1, v2 with none. */
	mk("hy/memory/system.slice/foo.service");
	mk("hy/cpu,cpuacct/system.slice/foo.service");
	mk("hy/freezer/system.slice/foo.service");
	mk("hy/unified/system.slice/foo.service");
	put("hy/unified/cgroup.controllers", "hugetlb\n");
	snprintf(mi, sizeof(mi),
		 "31 25 0:27 / %s/hy/unified rw,relatime - cgroup2 cgroup2 rw\n"
		 "32 25 0:28 / %s/hy/memory rw,relatime - cgroup cgroup rw,memory\n"
		 "33 25 0:29 / %s/hy/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
		 "34 25 0:30 / %s/hy/freezer rw,relatime - cgroup cgroup rw,freezer\n",
		 tmp, tmp, tmp, tmp);
	put("hy/mountinfo", mi);

	/* The same hybrid, its /sys bound again into a chroot: the host's
	 * mounts come first and are the ones to use. */
	snprintf(mi, sizeof(mi),
		 "31 25 0:27 / %s/hy/unified rw,relatime - cgroup2 cgroup2 rw\n"
		 "32 25 0:28 / %s/hy/memory rw,relatime - cgroup cgroup rw,memory\n"
		 "33 25 0:29 / %s/hy/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
		 "91 90 0:27 / /var/tmp/root/sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
		 "92 90 0:28 / /var/tmp/root/sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
		 "93 90 0:29 / /var/tmp/root/sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n",
		 tmp, tmp, tmp);
	mk("dup");
	put("dup/mountinfo", mi);

	/* v2 without the memory controller, and nothing on v1. */
	mk("nomem/cg/a");
	put("nomem/cg/cgroup.controllers", "cpu pids\n");
	snprintf(mi, sizeof(mi), "30 25 0:26 / %s/nomem/cg rw - cgroup2 cgroup2 rw\n", tmp);
	put("nomem/mountinfo", mi);

	put("self-cgroup",
	    "9:name=systemd:/\n"
	    "4:memory:/process_api/b44e\n"
	    "2:cpu,cpuacct:/a/b\n"
	    "0::/system.slice/foo.service\n");
}

static void probe_pure_v2(void)
{
	struct cgroup_layout l;
	char root[CGROUP_PATH_MAX];
	bool v2 = false;

	CHECK_EQ(probe("v2/mountinfo", &l), 0);
	CHECK_STR(l.v2_root, at("/v2/cg"));
	CHECK_STR(l.v2_controllers, "cpuset cpu io memory hugetlb pids");
	CHECK_EQ(l.v1_count, 0);
	snprintf(root, sizeof(root), "v2 %s", at("/v2/cg"));
	CHECK_STR(l.memory, root);
	CHECK_EQ(cgroup_controller_root(&l, "memory", root, sizeof(root), &v2), 0);
	CHECK(v2);
	CHECK_EQ(cgroup_controller_root(&l, "freezer", root, sizeof(root), &v2), -ENOENT);
	/* "cpu" must not match "cpuset" by prefix, nor the other way round. */
	CHECK_EQ(cgroup_controller_root(&l, "cpus", root, sizeof(root), &v2), -ENOENT);
}

static void probe_bound_twice(void)
{
	struct cgroup_layout l;
	char want[CGROUP_PATH_MAX], root[CGROUP_PATH_MAX];
	bool v2 = true;

	CHECK_EQ(probe("dup/mountinfo", &l), 0);
	snprintf(want, sizeof(want), "v1 %s", at("/hy/memory"));
	CHECK_STR(l.memory, want);
	CHECK_STR(l.v2_root, at("/hy/unified"));
	CHECK_EQ(cgroup_controller_root(&l, "cpu", root, sizeof(root), &v2), 0);
	CHECK_STR(root, at("/hy/cpu,cpuacct"));
	CHECK(!strstr(l.v1_summary, "/var/tmp/root"));
}

static void resolve_pure_v2(void)
{
	struct cgroup_layout l;
	struct cgroup_dir d;
	const char *want = at("/v2/cg/system.slice/foo.service");

	CHECK_EQ(probe("v2/mountinfo", &l), 0);
	/* Relative, as in /proc/PID/cgroup, and absolute. */
	CHECK_EQ(cgroup_resolve(&l, "memory", "system.slice/foo.service", &d), 0);
	CHECK_STR(d.path, want);
	CHECK_STR(d.root, at("/v2/cg"));
	CHECK(d.v2);
	memset(&d, 0, sizeof(d));
	CHECK_EQ(cgroup_resolve(&l, "memory", "/system.slice/foo.service", &d), 0);
	CHECK_STR(d.path, want);
	memset(&d, 0, sizeof(d));
	CHECK_EQ(cgroup_resolve(&l, "cpu", want, &d), 0);
	CHECK_STR(d.path, want);
	memset(&d, 0, sizeof(d));
	CHECK_EQ(cgroup_resolve(&l, "memory", "system.slice//foo.service/", &d), 0);
	CHECK_STR(d.path, want);
	/* The freezer is v2's core cgroup.freeze there. */
	memset(&d, 0, sizeof(d));
	CHECK_EQ(cgroup_resolve(&l, "freezer", "system.slice/bar.service", &d), 0);
	CHECK_STR(d.path, at("/v2/cg/system.slice/bar.service"));
	CHECK(d.v2);
	/* No controller: the v2 hierarchy itself, for cgroup BPF programs. */
	memset(&d, 0, sizeof(d));
	CHECK_EQ(cgroup_resolve(&l, NULL, "/system.slice/foo.service", &d), 0);
	CHECK_STR(d.path, want);
	CHECK(d.v2);
	CHECK_EQ(cgroup_resolve(&l, NULL, "/", &d), -EBUSY);
}

static void resolve_rejects(void)
{
	struct cgroup_layout l;
	struct cgroup_dir d = { .path = "untouched" };
	char buf[600];

	CHECK_EQ(probe("v2/mountinfo", &l), 0);
	CHECK_EQ(cgroup_resolve(&l, "memory", "", &d), -EINVAL);
	CHECK_EQ(cgroup_resolve(&l, "memory", "../etc", &d), -EINVAL);
	CHECK_EQ(cgroup_resolve(&l, "memory", "system.slice/../../etc", &d), -EINVAL);
	CHECK_EQ(cgroup_resolve(&l, "memory", "./system.slice", &d), -EINVAL);
	CHECK_EQ(cgroup_resolve(&l, "memory", "/", &d), -EBUSY);
	CHECK_EQ(cgroup_resolve(&l, "memory", "//", &d), -EBUSY);
	CHECK_EQ(cgroup_resolve(&l, "memory", at("/v2/cg"), &d), -EBUSY);
	CHECK_EQ(cgroup_resolve(&l, "memory", at("/v2/cg/"), &d), -EBUSY);
	CHECK_EQ(cgroup_resolve(&l, "memory", "nope.service", &d), -ENOENT);
	CHECK_EQ(cgroup_resolve(&l, "memory", "system.slice/notadir", &d), -ENOENT);
	/* A sibling directory whose name starts like the mount is not under it:
	 * it is taken as a path relative to the root, which does not exist. */
	CHECK_EQ(cgroup_resolve(&l, "memory", at("/v2/cgx/system.slice/foo.service"), &d), -ENOENT);
	memset(buf, 'a', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	CHECK_EQ(cgroup_resolve(&l, "memory", buf, &d), -EINVAL);
	CHECK_STR(d.path, "untouched");
}

static void resolve_hybrid(void)
{
	struct cgroup_layout l;
	struct cgroup_dir d;

	CHECK_EQ(probe("hy/mountinfo", &l), 0);
	CHECK_EQ(l.v1_count, 4);	/* memory, cpu, cpuacct, freezer */
	CHECK_EQ(cgroup_resolve(&l, "memory", "system.slice/foo.service", &d), 0);
	CHECK_STR(d.path, at("/hy/memory/system.slice/foo.service"));
	CHECK(!d.v2);
	CHECK_EQ(cgroup_resolve(&l, "cpu", "/system.slice/foo.service", &d), 0);
	CHECK_STR(d.path, at("/hy/cpu,cpuacct/system.slice/foo.service"));
	CHECK(!d.v2);
	CHECK_EQ(cgroup_resolve(&l, "memory", at("/hy/memory/system.slice/foo.service"), &d), 0);
	CHECK_STR(d.path, at("/hy/memory/system.slice/foo.service"));
	/* Absolute, but on a hierarchy without the controller. */
	CHECK_EQ(cgroup_resolve(&l, "memory", at("/hy/cpu,cpuacct/system.slice/foo.service"), &d), -EXDEV);
	CHECK_EQ(cgroup_resolve(&l, "memory", at("/hy/unified/system.slice/foo.service"), &d), -EXDEV);
	CHECK_EQ(cgroup_resolve(&l, "cpu", at("/hy/memory/system.slice/foo.service"), &d), -EXDEV);
	/* The freezer: v1 for relative paths, v2's cgroup.freeze for a v2 path. */
	CHECK_EQ(cgroup_resolve(&l, "freezer", "system.slice/foo.service", &d), 0);
	CHECK_STR(d.path, at("/hy/freezer/system.slice/foo.service"));
	CHECK(!d.v2);
	CHECK_EQ(cgroup_resolve(&l, "freezer", at("/hy/unified/system.slice/foo.service"), &d), 0);
	CHECK_STR(d.path, at("/hy/unified/system.slice/foo.service"));
	CHECK_STR(d.root, at("/hy/unified"));
	CHECK(d.v2);
	CHECK_EQ(cgroup_resolve(&l, "memory", at("/hy/memory"), &d), -EBUSY);
}

static void resolve_no_controller(void)
{
	struct cgroup_layout l;
	struct cgroup_dir d;

	CHECK_EQ(probe("nomem/mountinfo", &l), 0);
	CHECK_STR(l.memory, "");
	CHECK_EQ(cgroup_resolve(&l, "memory", "a", &d), -ENODEV);
	CHECK_EQ(cgroup_resolve(&l, "cpu", "a", &d), 0);
	CHECK_STR(d.path, at("/nomem/cg/a"));
}

static void pid_paths(void)
{
	char proc[512], buf[CGROUP_PATH_MAX];
	struct cgroup_dir d = { .v2 = true };

	snprintf(proc, sizeof(proc), "%s/self-cgroup", tmp);
	CHECK_EQ(cgroup_pid_path(proc, false, "memory", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/process_api/b44e");
	CHECK_EQ(cgroup_pid_path(proc, false, "cpu", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/a/b");
	CHECK_EQ(cgroup_pid_path(proc, false, "cpuacct", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/a/b");
	CHECK_EQ(cgroup_pid_path(proc, true, NULL, buf, sizeof(buf)), 0);
	CHECK_STR(buf, "/system.slice/foo.service");
	CHECK_EQ(cgroup_pid_path(proc, false, "freezer", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(cgroup_pid_path(proc, false, "memory", buf, 4), -ENAMETOOLONG);

	snprintf(d.root, sizeof(d.root), "%s/v2/cg", tmp);
	snprintf(d.path, sizeof(d.path), "%s/v2/cg/system.slice", tmp);
	CHECK(cgroup_holds(&d, proc, "freezer"));
	snprintf(d.path, sizeof(d.path), "%s/v2/cg/system.slice/foo.service", tmp);
	CHECK(cgroup_holds(&d, proc, "freezer"));
	snprintf(d.path, sizeof(d.path), "%s/v2/cg/system.slice/bar.service", tmp);
	CHECK(!cgroup_holds(&d, proc, "freezer"));
	snprintf(d.path, sizeof(d.path), "%s/v2/cg/system.sl", tmp);
	CHECK(!cgroup_holds(&d, proc, "freezer"));
	d.v2 = false;	/* no freezer line: not held */
	snprintf(d.path, sizeof(d.path), "%s/v2/cg/system.slice", tmp);
	CHECK(!cgroup_holds(&d, proc, "freezer"));
}

static void read_write_files(void)
{
	char dir[512], buf[64];
	unsigned long long v = 0;

	snprintf(dir, sizeof(dir), "%s/v2/cg/system.slice/foo.service", tmp);
	put("v2/cg/system.slice/foo.service/memory.max", "max\n");
	put("v2/cg/system.slice/foo.service/memory.events",
	    "low 0\nhigh 3\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n");
	CHECK_EQ(cgroup_read(dir, "memory.max", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "max");
	CHECK_EQ(cgroup_write(dir, "memory.max", "268435456"), 0);
	CHECK_EQ(cgroup_read(dir, "memory.max", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "268435456");
	CHECK_EQ(cgroup_read(dir, "memory.nope", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(cgroup_write(dir, "memory.nope", "1"), -ENOENT);
	CHECK_EQ(cgroup_read_key(dir, "memory.events", "oom_kill", &v), 0);
	CHECK_EQ(v, 1);
	CHECK_EQ(cgroup_read_key(dir, "memory.events", "max", &v), 0);
	CHECK_EQ(v, 12);
	CHECK_EQ(cgroup_read_key(dir, "memory.events", "oom_group", &v), -ENOENT);
}

int main(void)
{
	char cmd[300];

	snprintf(tmp, sizeof(tmp), "/tmp/tug-test-cgroup.XXXXXX");
	if (!mkdtemp(tmp)) {
		printf("FAIL setup: mkdtemp\n");
		return 1;
	}
	setup();
	RUN(probe_pure_v2);
	RUN(probe_bound_twice);
	RUN(resolve_pure_v2);
	RUN(resolve_rejects);
	RUN(resolve_hybrid);
	RUN(resolve_no_controller);
	RUN(pid_paths);
	RUN(read_write_files);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd))
		printf("  could not remove %s\n", tmp);
	return t_exit();
}
