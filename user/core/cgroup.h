/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Where the cgroup hierarchies are: the v2 (unified) mount and its enabled
 * controllers, and each v1 controller's mount. Hosts differ: pure v2 at
 * /sys/fs/cgroup, hybrids with v2 at /sys/fs/cgroup/unified and memory on
 * v1. Fault families resolve a user's cgroup PATH against this.
 */
#ifndef TUG_CGROUP_H
#define TUG_CGROUP_H

#include <stdbool.h>

#define CGROUP_PATH_MAX 512

struct cgroup_layout {
	char v2_root[CGROUP_PATH_MAX];		/* "" when no cgroup2 mount */
	char v2_controllers[256];		/* cgroup.controllers of the root */
	int v1_count;
	char v1_summary[1024];			/* "memory:/sys/fs/cgroup/memory ..." */
	char memory[CGROUP_PATH_MAX + 8];	/* "v1 /sys/..." or "v2 /sys/..." */
};

/* From /proc/self/mountinfo. */
int cgroup_probe(struct cgroup_layout *ret);
/* From a given mountinfo file; v2 controllers read from the v2 root. */
int cgroup_probe_file(const char *mountinfo, struct cgroup_layout *ret);

/* The mount point of the hierarchy that holds controller (v1 first, as the
 * kernel gives a controller to v1 when both ask), with *ret_v2 saying which.
 * -ENOENT when no hierarchy has it. */
int cgroup_controller_root(const struct cgroup_layout *l, const char *controller,
			   char *buf, size_t len, bool *ret_v2);

/* A cgroup a fault acts on: its directory and the hierarchy it lives in. */
struct cgroup_dir {
	char path[CGROUP_PATH_MAX];	/* absolute directory */
	char root[CGROUP_PATH_MAX];	/* mount point of its hierarchy */
	bool v2;
};

/*
 * Resolve a user's --cgroup PATH for a controller ("memory", "cpu",
 * "freezer"). PATH is absolute under the mount of the hierarchy that holds
 * the controller (/sys/fs/cgroup/memory/x, /sys/fs/cgroup/x), or relative to
 * that hierarchy ("system.slice/foo.service"; a leading '/' as in
 * /proc/PID/cgroup is allowed). The freezer uses v2's core cgroup.freeze
 * for a path under the v2 mount, or when no v1 hierarchy has it. Returns 0, or:
 *   -EINVAL   empty, too long, or a "." or ".." component
 *   -EXDEV    absolute, under a hierarchy that does not hold the controller
 *   -ENODEV   no hierarchy holds the controller
 *   -ENOENT   no such cgroup directory
 *   -EBUSY    the hierarchy's root: tug changes one service, never the host
 * *ret is untouched on failure.
 */
int cgroup_resolve(const struct cgroup_layout *l, const char *controller, const char *arg,
		   struct cgroup_dir *ret);
/* controller NULL: the v2 hierarchy itself, where cgroup BPF programs attach. */

/* cgroup_resolve for a user's --cgroup flag, on this host's layout: logs once
 * what is wrong with arg, naming the flag, and returns -EINVAL for the
 * runner's exit 2 (or -errno when the mounts cannot be read). */
int cgroup_resolve_flag(const char *controller, const char *arg, struct cgroup_dir *ret);

/* Is dir a cgroup directory, below one of this host's cgroup mounts (by
 * statfs magic and by path, after resolving links)? Recovery writes and
 * kills only there, whatever a journal entry names: 0, -ENOENT (gone),
 * -EXDEV (not a cgroup: /proc/sys, a tmpfs, a link elsewhere). */
int cgroup_path_check(const char *dir);

/* One cgroup file: read (trailing newline dropped) and write. */
int cgroup_read(const char *dir, const char *file, char *buf, size_t len);
int cgroup_write(const char *dir, const char *file, const char *value);
/* A "key value" line of a flat keyed file (memory.events, cpu.stat). */
int cgroup_read_key(const char *dir, const char *file, const char *key, unsigned long long *ret);

/* The cgroup of pid in one hierarchy, relative to its root ("/a/b"): the v2
 * line when v2, else the v1 line that lists controller. */
int cgroup_pid_path(const char *proc_cgroup, bool v2, const char *controller,
		    char *buf, size_t len);

/* Is dir, or a cgroup below it, where the process with that
 * /proc/PID/cgroup file lives? */
bool cgroup_holds(const struct cgroup_dir *d, const char *proc_cgroup, const char *controller);

#endif
