// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <fcntl.h>
#include <unistd.h>

#include "cgroup.h"
#include "log.h"

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
				char seen[32];

				if (!has_option(super, v1_controllers[i]))
					continue;
				/* The first mount of a hierarchy is the host's; a
				 * later one (a chroot's or container's bind of /sys)
				 * is the same hierarchy elsewhere. */
				snprintf(seen, sizeof(seen), "%s:", v1_controllers[i]);
				if (!strncmp(l.v1_summary, seen, strlen(seen)) ||
				    (strstr(l.v1_summary, seen) && strstr(l.v1_summary, seen)[-1] == ' '))
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

/* Does path lie at or below mount? Returns the rest ("" or "/a/b"). */
static const char *under_mount(const char *path, const char *mnt)
{
	size_t n = strlen(mnt);

	while (n > 1 && mnt[n - 1] == '/')
		n--;
	if (!n || strncmp(path, mnt, n) || (path[n] && path[n] != '/'))
		return NULL;
	return path + n;
}

/* Normalise a relative cgroup path: no "." or "..", no empty components
 * kept. "" for the root. */
static int clean_relative(const char *in, char *out, size_t len)
{
	size_t o = 0;

	while (*in) {
		size_t n;

		in += strspn(in, "/");
		n = strcspn(in, "/");
		if (!n)
			break;
		if ((n == 1 && in[0] == '.') || (n == 2 && in[0] == '.' && in[1] == '.'))
			return -EINVAL;
		if (o + n + 2 > len)
			return -EINVAL;
		out[o++] = '/';
		memcpy(out + o, in, n);
		o += n;
		in += n;
	}
	out[o] = '\0';
	return 0;
}

int cgroup_resolve(const struct cgroup_layout *l, const char *controller, const char *arg,
		   struct cgroup_dir *ret)
{
	struct cgroup_dir d = { 0 };
	char rel[CGROUP_PATH_MAX];
	const char *rest = NULL;
	struct stat st;
	bool v2;
	int err;

	if (!arg || !*arg || strlen(arg) >= CGROUP_PATH_MAX)
		return -EINVAL;
	if (!controller) {
		/* The v2 hierarchy itself: where cgroup BPF programs attach. */
		if (!l->v2_root[0])
			return -ENODEV;
		snprintf(d.root, sizeof(d.root), "%s", l->v2_root);
		v2 = true;
		err = 0;
	} else {
		err = cgroup_controller_root(l, controller, d.root, sizeof(d.root), &v2);
	}
	if (err == -ENOENT && !strcmp(controller, "freezer") && l->v2_root[0]) {
		/* cgroup.freeze is a core file of every non-root v2 cgroup. */
		snprintf(d.root, sizeof(d.root), "%s", l->v2_root);
		v2 = true;
		err = 0;
	}
	if (err)
		return err == -ENOENT ? -ENODEV : err;
	d.v2 = v2;

	if (arg[0] == '/' && controller && !strcmp(controller, "freezer") && !v2 && l->v2_root[0] &&
	    under_mount(arg, l->v2_root)) {
		/* A v2 path: freeze it with v2's own cgroup.freeze. */
		snprintf(d.root, sizeof(d.root), "%s", l->v2_root);
		d.v2 = true;
	}
	if (arg[0] == '/') {
		rest = under_mount(arg, d.root);
		if (!rest) {
			/* Under some other hierarchy's mount: the wrong one. */
			const char *p = l->v1_summary;
			bool other = l->v2_root[0] && under_mount(arg, l->v2_root);

			while (!other && p && *p) {
				const char *c = strchr(p, ':');
				char mnt[CGROUP_PATH_MAX];
				size_t n;

				if (!c)
					break;
				n = strcspn(c + 1, " ");
				if (n < sizeof(mnt)) {
					memcpy(mnt, c + 1, n);
					mnt[n] = '\0';
					other = under_mount(arg, mnt) != NULL;
				}
				p = strchr(c, ' ');
				p = p ? p + 1 : NULL;
			}
			if (other)
				return -EXDEV;
			rest = arg;	/* "/system.slice/x" as /proc/PID/cgroup says */
		}
	} else {
		rest = arg;
	}
	err = clean_relative(rest, rel, sizeof(rel));
	if (err)
		return err;
	if (!rel[0])
		return -EBUSY;
	if ((size_t)snprintf(d.path, sizeof(d.path), "%s%s", d.root, rel) >= sizeof(d.path))
		return -EINVAL;
	if (stat(d.path, &st))
		return -ENOENT;
	if (!S_ISDIR(st.st_mode))
		return -ENOENT;
	*ret = d;
	return 0;
}

int cgroup_resolve_flag(const char *controller, const char *arg, struct cgroup_dir *ret)
{
	const char *what = controller ? controller : "cgroup v2";
	struct cgroup_layout l;
	char root[CGROUP_PATH_MAX] = "";
	bool v2;
	int err;

	err = cgroup_probe(&l);
	if (err)
		return log_errno(err, "cannot read /proc/self/mountinfo");
	if (controller)
		cgroup_controller_root(&l, controller, root, sizeof(root), &v2);
	else
		snprintf(root, sizeof(root), "%s", l.v2_root);
	err = cgroup_resolve(&l, controller, arg, ret);
	switch (err) {
	case 0:
		return 0;
	case -EXDEV:
		log_error("--cgroup: '%s' is not on the hierarchy of %s on this host (%s); give a "
			  "path under it or relative to it", arg, what, root);
		break;
	case -ENODEV:
		log_error("--cgroup: no mounted cgroup hierarchy has %s ('tug doctor' shows the layout)",
			  what);
		break;
	case -ENOENT:
		log_error("--cgroup: no cgroup '%s' under %s ('systemctl status UNIT' or "
			  "/proc/PID/cgroup shows a service's)", arg, root);
		break;
	case -EBUSY:
		log_error("--cgroup: '%s' is the root of the %s hierarchy, every process on the host: "
			  "give one service's cgroup", arg, what);
		break;
	default:
		log_error("--cgroup: '%s' is not a cgroup path; use one like system.slice/foo.service "
			  "or %s/system.slice/foo.service (no '.' or '..')", arg,
			  root[0] ? root : "/sys/fs/cgroup");
		break;
	}
	return -EINVAL;
}

int cgroup_read(const char *dir, const char *file, char *buf, size_t len)
{
	char path[CGROUP_PATH_MAX + 64];
	ssize_t n;
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		err = -errno;
		n = 0;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return err;
}

int cgroup_write(const char *dir, const char *file, const char *value)
{
	char path[CGROUP_PATH_MAX + 64];
	size_t n = strlen(value);
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, value, n) != (ssize_t)n)
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

int cgroup_read_key(const char *dir, const char *file, const char *key, unsigned long long *ret)
{
	char path[CGROUP_PATH_MAX + 64], line[256];
	size_t n = strlen(key);
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, n) && line[n] == ' ') {
			*ret = strtoull(line + n + 1, NULL, 10);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int cgroup_pid_path(const char *proc_cgroup, bool v2, const char *controller,
		    char *buf, size_t len)
{
	char line[1024];
	int err = -ENOENT;
	FILE *f = fopen(proc_cgroup, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		bool match;

		if (!c2)
			continue;
		*c2 = '\0';
		if (v2)
			match = c1 == line + 1 && line[0] == '0' && c2 == c1 + 1;
		else
			match = c2 > c1 + 1 && has_option(c1 + 1, controller);
		if (!match)
			continue;
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		if (strlen(c2 + 1) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, c2 + 1);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

bool cgroup_holds(const struct cgroup_dir *d, const char *proc_cgroup, const char *controller)
{
	char mine[CGROUP_PATH_MAX], full[2 * CGROUP_PATH_MAX];

	if (cgroup_pid_path(proc_cgroup, d->v2, controller, mine, sizeof(mine)))
		return false;
	snprintf(full, sizeof(full), "%s%s", d->root, strcmp(mine, "/") ? mine : "");
	return under_mount(full, d->path) != NULL;
}

int cgroup_path_check(const char *dir)
{
	char real[CGROUP_PATH_MAX * 2];
	struct cgroup_layout l;
	struct statfs sf;
	int err;

	if (!realpath(dir, real))
		return errno == ENOENT ? -ENOENT : -errno;
	if (statfs(real, &sf))
		return -errno;
	if (sf.f_type != CGROUP_SUPER_MAGIC && sf.f_type != CGROUP2_SUPER_MAGIC)
		return -EXDEV;
	err = cgroup_probe(&l);
	if (err)
		return err;
	if (l.v2_root[0] && under_mount(real, l.v2_root))
		return 0;
	/* v1: "controller:/mount ..." */
	for (const char *p = l.v1_summary; *p; p += strcspn(p, " "), p += strspn(p, " ")) {
		const char *colon = strchr(p, ':');
		size_t n = strcspn(p, " ");
		char mnt[CGROUP_PATH_MAX];

		if (!colon || colon >= p + n || (size_t)(p + n - colon - 1) >= sizeof(mnt))
			continue;
		snprintf(mnt, sizeof(mnt), "%.*s", (int)(p + n - colon - 1), colon + 1);
		if (under_mount(real, mnt))
			return 0;
	}
	return -EXDEV;
}
