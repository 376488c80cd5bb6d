// SPDX-License-Identifier: GPL-2.0
/*
 * The protected-filesystem rules of `tug disk fill` against a made-up world:
 * system directories, the protected list, tug's journal and PostgreSQL data
 * directories (a fake /proc with a "postgres" whose cwd is one, packaged
 * places, postgresql.conf, the bounded walk). The target filesystem is
 * /dev/shm and the "elsewhere" one /tmp; without two filesystems the
 * cross-filesystem cases are skipped.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "protect.h"

static char T[256], S[256];	/* T on /tmp, S on /dev/shm */
static bool two_fs;
static const char *const none[] = { NULL };

static void mkfile(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void mkdirs(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	if (system(cmd)) {}
}

static struct protect_env env0(void)
{
	static char list[300];

	snprintf(list, sizeof(list), "%s/no-list", T);
	return (struct protect_env){
		.proc = "/nonexistent-proc", .list = list, .system_fs = none, .system_trees = none,
		.pg_places = none, .pg_confs = none, .own = none, .scan_depth = 0, .scan_max = 100,
	};
}

static int check(struct protect_env *e, const char *fmt, const char *base, char *why, size_t len)
{
	char dir[512];

	snprintf(dir, sizeof(dir), fmt, base);
	why[0] = '\0';
	return protect_check(e, dir, why, len);
}

static void system_dirs(void)
{
	struct protect_env e = env0();
	char sys[300], why[1024];
	const char *fs[] = { sys, NULL };
	const char *trees[] = { sys, NULL };

	snprintf(sys, sizeof(sys), "%s", T);
	mkdirs(T);
	e.system_fs = fs;
	CHECK_EQ(check(&e, "%s", T, why, sizeof(why)), 1);
	if (two_fs)
		CHECK_EQ(check(&e, "%s", S, why, sizeof(why)), 0);
	e.system_fs = none;
	snprintf(sys, sizeof(sys), "%s/usr", T);
	mkdirs(sys);
	e.system_trees = trees;
	CHECK_EQ(check(&e, "%s/usr", T, why, sizeof(why)), 1);
	CHECK(strstr(why, "under") != NULL);
	if (two_fs)
		CHECK_EQ(check(&e, "%s", S, why, sizeof(why)), 0);
	/* Nothing protected: a plain directory may be filled. */
	e = env0();
	CHECK_EQ(check(&e, "%s", T, why, sizeof(why)), 0);
	CHECK_EQ(protect_check(&e, "/proc", why, sizeof(why)), 1);
	CHECK(strstr(why, "proc") != NULL);
}

static void listed(void)
{
	struct protect_env e = env0();
	char list[300], text[600], why[1024];

	snprintf(list, sizeof(list), "%s/protected", T);
	e.list = list;
	snprintf(text, sizeof(text), "# comment\n\n   \n%s/keep   # the important one\n", S);
	mkfile(list, text);
	mkdirs(S);
	snprintf(text, sizeof(text), "%s/keep/sub", S);
	mkdirs(text);
	CHECK_EQ(check(&e, "%s/keep/sub", S, why, sizeof(why)), 1);
	CHECK(strstr(why, "line 4") != NULL);
	CHECK_EQ(check(&e, "%s", S, why, sizeof(why)), 1);	/* same filesystem */
	if (two_fs)
		CHECK_EQ(check(&e, "%s", T, why, sizeof(why)), 0);
	/* A listed path that does not exist protects what is below it. */
	snprintf(text, sizeof(text), "%s/later\n", T);
	mkfile(list, text);
	snprintf(text, sizeof(text), "%s/laterx", T);
	mkdirs(text);
	CHECK_EQ(check(&e, "%s/laterx", T, why, sizeof(why)), 0);
}

static void own_journal(void)
{
	struct protect_env e = env0();
	char j[300], why[1024];
	const char *own[] = { j, NULL };

	snprintf(j, sizeof(j), "%s/not/yet/there", S);
	e.own = own;
	CHECK_EQ(check(&e, "%s", S, why, sizeof(why)), 1);
	CHECK(strstr(why, "journal") != NULL);
	if (two_fs)
		CHECK_EQ(check(&e, "%s", T, why, sizeof(why)), 0);
}

static void running_postgres(void)
{
	struct protect_env e = env0();
	char p[600], q[600], proc[300], why[1024];

	if (!two_fs)
		SKIP("/tmp and /dev/shm are one filesystem");
	snprintf(p, sizeof(p), "%s/proc/4242", T);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/proc/4242/comm", T);
	mkfile(p, "postgres\n");
	snprintf(p, sizeof(p), "%s/pgdata", S);
	mkdirs(p);
	snprintf(q, sizeof(q), "%s/pgdata/PG_VERSION", S);
	mkfile(q, "16\n");
	snprintf(q, sizeof(q), "%s/proc/4242/cwd", T);
	if (symlink(p, q)) {}
	snprintf(proc, sizeof(proc), "%s/proc", T);
	e.proc = proc;
	snprintf(q, sizeof(q), "%s/other", S);
	mkdirs(q);
	CHECK_EQ(check(&e, "%s/other", S, why, sizeof(why)), 1);
	CHECK(strstr(why, "running postgres, pid 4242") != NULL);
	CHECK_EQ(check(&e, "%s", T, why, sizeof(why)), 0);
	/* Not a postgres process: not a server. */
	snprintf(q, sizeof(q), "%s/proc/4242/comm", T);
	mkfile(q, "bash\n");
	CHECK_EQ(check(&e, "%s/other", S, why, sizeof(why)), 0);

	/* A tablespace of a server whose data directory is elsewhere. */
	mkfile(q, "postgres\n");
	snprintf(p, sizeof(p), "%s/main/pg_tblspc", T);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/main/PG_VERSION", T);
	mkfile(p, "16\n");
	snprintf(p, sizeof(p), "%s/ts", S);
	mkdirs(p);
	snprintf(q, sizeof(q), "%s/main/pg_tblspc/16400", T);
	if (symlink(p, q)) {}
	snprintf(q, sizeof(q), "%s/proc/4242/cwd", T);
	unlink(q);
	snprintf(p, sizeof(p), "%s/main", T);
	if (symlink(p, q)) {}
	snprintf(p, sizeof(p), "%s/pgdata/PG_VERSION", S);
	unlink(p);
	CHECK_EQ(check(&e, "%s/other", S, why, sizeof(why)), 1);
	CHECK(strstr(why, "tablespace 16400") != NULL);
}

static void known_places(void)
{
	struct protect_env e = env0();
	char g[600], conf[300], p[600], why[1024];
	const char *places[] = { g, NULL };
	const char *confs[] = { conf, NULL };

	if (!two_fs)
		SKIP("/tmp and /dev/shm are one filesystem");
	snprintf(g, sizeof(g), "%s/known/*/main/PG_VERSION", S);
	snprintf(p, sizeof(p), "%s/known/15/main", S);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/known/15/main/PG_VERSION", S);
	mkfile(p, "15\n");
	e.pg_places = places;
	CHECK_EQ(check(&e, "%s/other", S, why, sizeof(why)), 1);
	CHECK(strstr(why, "packaged") != NULL);
	CHECK_EQ(check(&e, "%s", T, why, sizeof(why)), 0);
	unlink(p);
	CHECK_EQ(check(&e, "%s/other", S, why, sizeof(why)), 0);

	e.pg_places = none;
	snprintf(conf, sizeof(conf), "%s/etc/*/postgresql.conf", T);
	snprintf(p, sizeof(p), "%s/etc/15", T);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/etc/15/postgresql.conf", T);
	snprintf(g, sizeof(g), "port = 5432\n  data_directory = '%s/dd'   # moved\n", S);
	mkfile(p, g);
	snprintf(p, sizeof(p), "%s/dd", S);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/dd/PG_VERSION", S);
	mkfile(p, "15\n");
	e.pg_confs = confs;
	CHECK_EQ(check(&e, "%s/other", S, why, sizeof(why)), 1);
	CHECK(strstr(why, "data_directory") != NULL);
	unlink(p);
}

static void bounded_walk(void)
{
	struct protect_env e = env0();
	char p[600], why[1024];

	snprintf(p, sizeof(p), "%s/w/x", S);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/w/x/PG_VERSION", S);
	mkfile(p, "16\n");
	/* Inside the data directory: its parents are checked. */
	snprintf(p, sizeof(p), "%s/w/x/base", S);
	mkdirs(p);
	CHECK_EQ(check(&e, "%s/w/x/base", S, why, sizeof(why)), 1);
	CHECK(strstr(why, "inside") != NULL);
	if (!two_fs)
		SKIP("/tmp and /dev/shm are one filesystem");
	/* Beside it: found by the walk from the mount point, if deep enough. */
	e.scan_depth = 0;
	CHECK_EQ(check(&e, "%s/other", S, why, sizeof(why)), 0);
	e.scan_depth = 6;
	e.scan_max = 100000;
	CHECK_EQ(check(&e, "%s/other", S, why, sizeof(why)), 1);
	CHECK(strstr(why, "PG_VERSION") != NULL);
	e.scan_max = 0;
	CHECK_EQ(check(&e, "%s/other", S, why, sizeof(why)), 0);
	snprintf(p, sizeof(p), "%s/w/x/PG_VERSION", S);
	unlink(p);
}

static void errors(void)
{
	struct protect_env e = env0();
	char p[600], why[1024];

	CHECK_EQ(check(&e, "%s/does-not-exist", T, why, sizeof(why)), -ENOENT);
	snprintf(p, sizeof(p), "%s/file", T);
	mkfile(p, "x");
	CHECK_EQ(check(&e, "%s/file", T, why, sizeof(why)), -ENOTDIR);
}

int main(void)
{
	struct stat a, b;
	char cmd[600];
	int fails;

	snprintf(T, sizeof(T), "/tmp/tug-unit-protect.%d", getpid());
	snprintf(S, sizeof(S), "/dev/shm/tug-unit-protect.%d", getpid());
	mkdirs(T);
	mkdirs(S);
	two_fs = !stat(T, &a) && !stat(S, &b) && a.st_dev != b.st_dev;
	RUN(system_dirs);
	RUN(listed);
	RUN(own_journal);
	RUN(running_postgres);
	RUN(known_places);
	RUN(bounded_walk);
	RUN(errors);
	fails = t_exit();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", T, S);
	if (system(cmd)) {}
	return fails;
}
