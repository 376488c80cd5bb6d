// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"

/* v1 mount points keep controllers in the super options: "rw,memory". */
static bool has_option(const char *opts, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == '\0' || p[n] == '\n'))
			return true;
	return false;
}

static const char *const v1_controllers[] = {
	"memory", "cpu", "cpuacct", "cpuset", "freezer", "pids", "blkio", "devices", "net_cls", NULL,
};

struct v1_mount {
	char controller[16];
	char path[CGROUP_PATH_MAX];
};

static void read_v2_controllers(struct cgroup_layout *l)
{
	char path[CGROUP_PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.controllers", l->v2_root);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(l->v2_controllers, sizeof(l->v2_controllers), f))
		l->v2_controllers[strcspn(l->v2_controllers, "\n")] = '\0';
	fclose(f);
}

int cgroup_probe_file(const char *mountinfo, struct cgroup_layout *ret)
{
	struct cgroup_layout l = { 0 };
	char line[2048], memv1[CGROUP_PATH_MAX] = "";
	size_t off = 0;
	FILE *f = fopen(mountinfo, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mnt[CGROUP_PATH_MAX], fstype[32], super[512];
		char *sep = strstr(line, " - ");

		/* "id parent maj:min root mount opts [optional...] - fstype source super" */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %511s", mnt) != 1 ||
		    sscanf(sep + 3, "%31s %*s %511s", fstype, super) != 2)
			continue;
		if (!strcmp(fstype, "cgroup2") && !l.v2_root[0]) {
			snprintf(l.v2_root, sizeof(l.v2_root), "%s", mnt);
		} else if (!strcmp(fstype, "cgroup")) {
			for (int i = 0; v1_controllers[i]; i++) {
				if (!has_option(super, v1_controllers[i]))
					continue;
				if (!strcmp(v1_controllers[i], "memory"))
					snprintf(memv1, sizeof(memv1), "%s", mnt);
				l.v1_count++;
				if (off < sizeof(l.v1_summary))
					off += snprintf(l.v1_summary + off, sizeof(l.v1_summary) - off,
							"%s%s:%s", off ? " " : "", v1_controllers[i], mnt);
			}
		}
	}
	fclose(f);
	if (l.v2_root[0])
		read_v2_controllers(&l);
	if (!l.v1_count)
		snprintf(l.v1_summary, sizeof(l.v1_summary), "no v1 controllers mounted");
	if (memv1[0])
		snprintf(l.memory, sizeof(l.memory), "v1 %s", memv1);
	else if (has_option(l.v2_controllers, "memory") || strstr(l.v2_controllers, "memory"))
		snprintf(l.memory, sizeof(l.memory), "v2 %s", l.v2_root);
	*ret = l;
	return 0;
}

int cgroup_probe(struct cgroup_layout *ret)
{
	return cgroup_probe_file("/proc/self/mountinfo", ret);
}

int cgroup_controller_root(const struct cgroup_layout *l, const char *controller,
			   char *buf, size_t len, bool *ret_v2)
{
	char want[32];
	const char *p;

	snprintf(want, sizeof(want), "%s:", controller);
	for (p = strstr(l->v1_summary, want); p; p = strstr(p + 1, want)) {
		if (p == l->v1_summary || p[-1] == ' ') {
			size_t n = strcspn(p + strlen(want), " ");

			if (n >= len)
				return -ENAMETOOLONG;
			memcpy(buf, p + strlen(want), n);
			buf[n] = '\0';
			*ret_v2 = false;
			return 0;
		}
	}
	for (p = l->v2_controllers; *p; p += strcspn(p, " "), p += strspn(p, " ")) {
		if (!strncmp(p, controller, strlen(controller)) &&
		    (p[strlen(controller)] == ' ' || !p[strlen(controller)])) {
			snprintf(buf, len, "%s", l->v2_root);
			*ret_v2 = true;
			return 0;
		}
	}
	return -ENOENT;
}
