/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which filesystems tug must never fill. A fill hurts every path on the
 * filesystem it lands on, so each rule compares filesystems (st_dev), not
 * path strings. A directory is protected when its filesystem is:
 *
 *  - a pseudo filesystem (proc, sysfs, cgroup, bpf, tracefs, ...);
 *  - the root filesystem or /dev's, or holds /boot, /boot/efi or /usr (or the
 *    directory is below /boot or /usr);
 *  - the filesystem of a path listed in /etc/tug/protected (TUG_PROTECTED
 *    moves it; one absolute path a line, '#' comments), or the directory is
 *    at or below a listed path that does not exist (yet);
 *  - the filesystem of tug's own journal (the run and state directories);
 *  - one that holds a PostgreSQL data directory (a PG_VERSION file), its
 *    pg_wal or one of its tablespaces. Found without scanning the world:
 *      1. every running postgres process: its cwd *is* its data directory
 *         (the postmaster chdir()s there), read through /proc/PID/cwd so
 *         it works across mount namespaces and whatever -D or
 *         data_directory said;
 *      2. the packaged default places (/var/lib/postgresql/x/y,
 *         /var/lib/pgsql/..., /usr/local/pgsql/data, ...), $PGDATA, and the
 *         data_directory of every /etc/postgresql/x/y/postgresql.conf;
 *      3. the directory itself and its parents up to the filesystem's
 *         mount point, and a bounded walk of the target filesystem from
 *         its mount point (depth 4, at most 20000 directories, not crossing
 *         into other filesystems) for a stopped cluster elsewhere.
 *    A stopped cluster deeper than the walk and outside the packaged
 *    places is not seen: list it in /etc/tug/protected.
 */
#ifndef TUG_PROTECT_H
#define TUG_PROTECT_H

#include <stddef.h>

struct protect_env {
	const char *proc;			/* "/proc" */
	const char *list;			/* the protected-paths file */
	const char *const *system_fs;		/* same filesystem: protected */
	const char *const *system_trees;	/* same filesystem or below: protected */
	const char *const *pg_places;		/* globs of PG_VERSION files */
	const char *const *pg_confs;		/* globs of postgresql.conf files */
	const char *const *own;			/* tug's journal directories */
	int scan_depth;
	unsigned int scan_max;
};

/* The real places: /proc, TUG_PROTECTED or /etc/tug/protected, ... */
void protect_env_default(struct protect_env *ret);

/*
 * Is the filesystem holding dir one tug must not fill? Returns 1 with a
 * sentence saying why in why, 0 when it may be filled, -errno when dir
 * cannot be examined (-ENOTDIR, -ENOENT...). Writes nothing anywhere.
 */
int protect_check(const struct protect_env *e, const char *dir, char *why, size_t len);

#endif
