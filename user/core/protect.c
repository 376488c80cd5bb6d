// SPDX-License-Identifier: GPL-2.0
/* Protected filesystems for `tug disk fill`; the rules are in protect.h. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "journal.h"
#include "protect.h"

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef CONFIGFS_MAGIC
#define CONFIGFS_MAGIC 0x62656570
#endif
#ifndef MQUEUE_MAGIC
#define MQUEUE_MAGIC 0x19800202
#endif
#ifndef FUSECTL_SUPER_MAGIC
#define FUSECTL_SUPER_MAGIC 0x65735543
#endif

static const char *const default_system_fs[] = { "/", "/dev", NULL };
static const char *const default_system_trees[] = { "/boot", "/boot/efi", "/usr", NULL };
static const char *const default_pg_places[] = {
	"/var/lib/postgresql/*/*/PG_VERSION",	/* Debian, Ubuntu */
	"/var/lib/postgresql/data/PG_VERSION",	/* the official container image */
	"/var/lib/pgsql/data/PG_VERSION",	/* RHEL, Fedora, SUSE */
	"/var/lib/pgsql/*/data/PG_VERSION",	/* PGDG RPMs */
	"/var/lib/postgres/data/PG_VERSION",	/* Arch */
	"/usr/local/pgsql/data/PG_VERSION",	/* built from source */
	"/var/db/postgres/data*/PG_VERSION",
	"/srv/postgres*/PG_VERSION",
	"/srv/postgres*/*/PG_VERSION",
	"/srv/postgres*/*/*/PG_VERSION",
	NULL,
};
static const char *const default_pg_confs[] = { "/etc/postgresql/*/*/postgresql.conf", NULL };

void protect_env_default(struct protect_env *ret)
{
	static const char *own[3];
	const char *list = getenv("TUG_PROTECTED");

	own[0] = journal_run_dir();
	own[1] = journal_state_dir();
	own[2] = NULL;
	*ret = (struct protect_env){
		.proc = "/proc",
		.list = list && *list ? list : "/etc/tug/protected",
		.system_fs = default_system_fs,
		.system_trees = default_system_trees,
		.pg_places = default_pg_places,
		.pg_confs = default_pg_confs,
		.own = own,
		.scan_depth = 4,
		.scan_max = 20000,
	};
}

/* Is path at or below dir (both canonical)? */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return true;
	return !strncmp(path, dir, n) && (path[n] == '/' || !path[n]);
}

static bool same_fs(const char *path, dev_t dev)
{
	struct stat st;

	return !stat(path, &st) && st.st_dev == dev;
}

/* The device of path, or of its nearest existing parent. */
static int nearest_dev(const char *path, dev_t *ret)
{
	char buf[PATH_MAX];
	struct stat st;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (;;) {
		char *slash;

		if (!stat(buf, &st)) {
			*ret = st.st_dev;
			return 0;
		}
		slash = strrchr(buf, '/');
		if (!slash)
			return -ENOENT;
		if (slash == buf) {
			if (!buf[1])
				return -ENOENT;
			buf[1] = '\0';
		} else {
			*slash = '\0';
		}
	}
}

static const char *pseudo_fs(long type)
{
	switch (type) {
	case PROC_SUPER_MAGIC: return "proc";
	case SYSFS_MAGIC: return "sysfs";
	case CGROUP_SUPER_MAGIC: return "cgroup";
	case CGROUP2_SUPER_MAGIC: return "cgroup2";
	case BPF_FS_MAGIC: return "bpf";
	case TRACEFS_MAGIC: return "tracefs";
	case DEBUGFS_MAGIC: return "debugfs";
	case SECURITYFS_MAGIC: return "securityfs";
	case DEVPTS_SUPER_MAGIC: return "devpts";
	case PSTOREFS_MAGIC: return "pstore";
	case EFIVARFS_MAGIC: return "efivarfs";
	case CONFIGFS_MAGIC: return "configfs";
	case FUSECTL_SUPER_MAGIC: return "fusectl";
	case HUGETLBFS_MAGIC: return "hugetlbfs";
	case MQUEUE_MAGIC: return "mqueue";
	case NSFS_MAGIC: return "nsfs";
	default: return NULL;
	}
}

/* Does this data directory, or its pg_wal or a tablespace, live on dev? */
static bool pg_datadir_on(const char *datadir, const char *shown, dev_t dev, char *what,
			  size_t len)
{
	char p[PATH_MAX];
	struct dirent *de;
	DIR *d;
	bool hit = false;

	if (same_fs(datadir, dev)) {
		snprintf(what, len, "the PostgreSQL data directory %s", shown);
		return true;
	}
	snprintf(p, sizeof(p), "%s/pg_wal", datadir);
	if (same_fs(p, dev)) {
		snprintf(what, len, "the WAL (pg_wal) of the PostgreSQL data directory %s", shown);
		return true;
	}
	snprintf(p, sizeof(p), "%s/pg_tblspc", datadir);
	d = opendir(p);
	if (!d)
		return false;
	while (!hit && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/pg_tblspc/%s", datadir, de->d_name);
		if (same_fs(p, dev)) {
			snprintf(what, len, "tablespace %s of the PostgreSQL data directory %s",
				 de->d_name, shown);
			hit = true;
		}
	}
	closedir(d);
	return hit;
}

static bool has_pg_version(const char *dir)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s/PG_VERSION", dir) >= (int)sizeof(p))
		return false;
	return !access(p, F_OK);
}

static bool is_postgres_comm(const char *proc, const char *pid)
{
	char p[PATH_MAX], comm[32] = "";
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s/comm", proc, pid);
	f = fopen(p, "re");
	if (!f)
		return false;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return !strcmp(comm, "postgres") || !strcmp(comm, "postmaster");
}

/* 1. Running servers: a postgres process's cwd is its data directory. */
static int check_running(const struct protect_env *e, dev_t dev, char *why, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(e->proc);
	int hit = 0;

	if (!d)
		return 0;
	while (!hit && (de = readdir(d))) {
		char cwd[PATH_MAX], what[PATH_MAX + 128], shown[PATH_MAX];
		ssize_t n;

		if (!isdigit((unsigned char)de->d_name[0]) || !is_postgres_comm(e->proc, de->d_name))
			continue;
		snprintf(cwd, sizeof(cwd), "%s/%s/cwd", e->proc, de->d_name);
		if (!has_pg_version(cwd))
			continue;
		n = readlink(cwd, shown, sizeof(shown) - 1);
		shown[n > 0 ? n : 0] = '\0';
		if (!pg_datadir_on(cwd, *shown ? shown : cwd, dev, what, sizeof(what)))
			continue;
		snprintf(why, len, "its filesystem holds %s (running postgres, pid %s)", what,
			 de->d_name);
		hit = 1;
	}
	closedir(d);
	return hit;
}

static int check_datadir(const char *datadir, dev_t dev, const char *how, char *why, size_t len)
{
	char what[PATH_MAX + 128];

	if (!has_pg_version(datadir) || !pg_datadir_on(datadir, datadir, dev, what, sizeof(what)))
		return 0;
	snprintf(why, len, "its filesystem holds %s (%s)", what, how);
	return 1;
}

/* The data_directory setting of one postgresql.conf, unquoted. */
static int conf_data_directory(const char *conf, char *buf, size_t len)
{
	char line[PATH_MAX + 64];
	FILE *f = fopen(conf, "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t"), *v, *end;

		if (strncmp(s, "data_directory", 14))
			continue;
		v = s + 14;
		v += strspn(v, " \t=");
		if (*v == '\'') {
			v++;
			end = strchr(v, '\'');
		} else {
			end = v + strcspn(v, " \t#\n");
		}
		if (!end || end == v || (size_t)(end - v) >= len)
			continue;
		memcpy(buf, v, end - v);
		buf[end - v] = '\0';
		err = 0;
	}
	fclose(f);
	return err;
}

/* 2. The packaged places, $PGDATA and data_directory settings. */
static int check_known(const struct protect_env *e, dev_t dev, char *why, size_t len)
{
	const char *pgdata = getenv("PGDATA");
	int hit = 0;

	for (const char *const *g = e->pg_places; g && *g && !hit; g++) {
		glob_t gl;

		if (glob(*g, GLOB_NOSORT, NULL, &gl))
			continue;
		for (size_t i = 0; i < gl.gl_pathc && !hit; i++) {
			char *slash = strrchr(gl.gl_pathv[i], '/');

			if (slash)
				*slash = '\0';
			hit = check_datadir(gl.gl_pathv[i], dev, "a packaged default place", why, len);
		}
		globfree(&gl);
	}
	for (const char *const *g = e->pg_confs; g && *g && !hit; g++) {
		glob_t gl;

		if (glob(*g, GLOB_NOSORT, NULL, &gl))
			continue;
		for (size_t i = 0; i < gl.gl_pathc && !hit; i++) {
			char dd[PATH_MAX], how[PATH_MAX + 32];

			if (conf_data_directory(gl.gl_pathv[i], dd, sizeof(dd)))
				continue;
			snprintf(how, sizeof(how), "data_directory in %s", gl.gl_pathv[i]);
			hit = check_datadir(dd, dev, how, why, len);
		}
		globfree(&gl);
	}
	if (!hit && pgdata && *pgdata)
		hit = check_datadir(pgdata, dev, "$PGDATA", why, len);
	return hit;
}

/* 3. The directory's parents, then a bounded walk of its filesystem. */
struct walk {
	dev_t dev;
	int depth_max;
	unsigned int left;
	bool truncated;
};

static int walk_dir(struct walk *w, int dfd, const char *path, int depth, char *why, size_t len)
{
	struct dirent *de;
	DIR *d;
	int hit = 0;

	if (!faccessat(dfd, "PG_VERSION", F_OK, AT_SYMLINK_NOFOLLOW)) {
		snprintf(why, len, "its filesystem holds the PostgreSQL data directory %s "
			 "(a PG_VERSION file)", path);
		close(dfd);
		return 1;
	}
	if (depth >= w->depth_max) {
		close(dfd);
		return 0;
	}
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	while (!hit && (de = readdir(d))) {
		char sub[PATH_MAX];
		struct stat st;
		int fd;

		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!w->left) {
			w->truncated = true;
			break;
		}
		w->left--;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) || st.st_dev != w->dev) {
			close(fd);	/* another filesystem mounted here */
			continue;
		}
		snprintf(sub, sizeof(sub), "%s%s%s", path, strcmp(path, "/") ? "/" : "", de->d_name);
		hit = walk_dir(w, fd, sub, depth + 1, why, len);
	}
	closedir(d);
	return hit;
}

static int check_tree(const struct protect_env *e, const char *dir, dev_t dev, char *why,
		      size_t len)
{
	char mnt[PATH_MAX], up[PATH_MAX];
	struct walk w = { .dev = dev, .depth_max = e->scan_depth, .left = e->scan_max };
	int fd;

	/* The directory and its parents, up to the mount point. */
	snprintf(mnt, sizeof(mnt), "%s", dir);
	for (;;) {
		char *slash;

		if (has_pg_version(mnt)) {
			snprintf(why, len, "it is inside the PostgreSQL data directory %s", mnt);
			return 1;
		}
		snprintf(up, sizeof(up), "%s", mnt);
		slash = strrchr(up, '/');
		if (!slash || !strcmp(mnt, "/"))
			break;
		if (slash == up)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (!same_fs(up, dev))
			break;
		snprintf(mnt, sizeof(mnt), "%s", up);
	}
	fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	return walk_dir(&w, fd, mnt, 0, why, len);
}

static int check_list(const struct protect_env *e, const char *dir, dev_t dev, char *why,
		      size_t len)
{
	char line[PATH_MAX];
	FILE *f = fopen(e->list, "re");
	int lineno = 0, hit = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	while (!hit && fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t"), canon[PATH_MAX];

		lineno++;
		s[strcspn(s, "#\r\n")] = '\0';
		for (size_t n = strlen(s); n && (s[n - 1] == ' ' || s[n - 1] == '\t'); n--)
			s[n - 1] = '\0';
		if (!*s)
			continue;
		if (!realpath(s, canon))
			snprintf(canon, sizeof(canon), "%s", s);
		if (path_under(dir, canon) || same_fs(canon, dev)) {
			snprintf(why, len, "%s %s, listed in %s line %d",
				 path_under(dir, canon) ? "it is at or under" : "its filesystem holds",
				 s, e->list, lineno);
			hit = 1;
		}
	}
	fclose(f);
	return hit;
}

int protect_check(const struct protect_env *e, const char *dir, char *why, size_t len)
{
	char canon[PATH_MAX];
	struct statfs sfs;
	struct stat st;
	const char *kind;
	int r;

	if (!realpath(dir, canon))
		return -errno;
	if (stat(canon, &st) || statfs(canon, &sfs))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -ENOTDIR;

	kind = pseudo_fs(sfs.f_type);
	if (kind) {
		snprintf(why, len, "it is a %s pseudo filesystem", kind);
		return 1;
	}
	for (const char *const *s = e->system_fs; s && *s; s++) {
		if (same_fs(*s, st.st_dev)) {
			snprintf(why, len, "it is on %s", !strcmp(*s, "/") ? "the root filesystem" :
				 "the filesystem of /dev");
			return 1;
		}
	}
	for (const char *const *s = e->system_trees; s && *s; s++) {
		if (path_under(canon, *s) || same_fs(*s, st.st_dev)) {
			snprintf(why, len, "%s %s", path_under(canon, *s) ? "it is under" :
				 "its filesystem holds", *s);
			return 1;
		}
	}
	r = check_list(e, canon, st.st_dev, why, len);
	if (r)
		return r;
	for (const char *const *s = e->own; s && *s; s++) {
		dev_t d;

		if (!nearest_dev(*s, &d) && d == st.st_dev) {
			snprintf(why, len, "its filesystem holds tug's own journal (%s)", *s);
			return 1;
		}
	}
	r = check_running(e, st.st_dev, why, len);
	if (!r)
		r = check_known(e, st.st_dev, why, len);
	if (!r)
		r = check_tree(e, canon, st.st_dev, why, len);
	return r;
}
