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

#endif
