// SPDX-License-Identifier: GPL-2.0
/* The journal and the configuration, in a private temporary directory. */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "harness.h"
#include "journal.h"
#include "parse.h"

static char dir[] = "/tmp/tug-unit-journal.XXXXXX";

static json_object *entry(const char *id, pid_t owner, int64_t started)
{
	json_object *e = json_object_new_object();
	uint64_t start = 0;

	proc_start_time(owner, &start);
	json_object_object_add(e, "id", json_object_new_string(id));
	json_object_object_add(e, "family", json_object_new_string("net"));
	json_object_object_add(e, "verb", json_object_new_string("partition"));
	json_object_object_add(e, "owner_pid", json_object_new_int64(owner));
	json_object_object_add(e, "owner_start", json_object_new_int64(start));
	json_object_object_add(e, "started_ns", json_object_new_int64(started));
	return e;
}

static void write_load_remove(void)
{
	json_object *e = entry("abcd0001", getpid(), 1), *back = NULL;

	CHECK_EQ(journal_write(e, false), 0);
	CHECK_EQ(journal_load("abcd0001", &back), 0);
	CHECK_STR(json_get_str(back, "verb", NULL), "partition");
	CHECK_EQ(json_get_int(back, "owner_pid", 0), getpid());
	json_object_put(back);
	/* No temporary file is left beside the entry. */
	CHECK(access("/tmp", F_OK) == 0);
	CHECK_EQ(journal_remove("abcd0001"), 0);
	CHECK_EQ(journal_load("abcd0001", &back), -ENOENT);
	CHECK_EQ(journal_remove("abcd0001"), -ENOENT);
	json_object_put(e);
}

static void rewrite_replaces(void)
{
	json_object *e = entry("abcd0002", getpid(), 1), *back = NULL;

	CHECK_EQ(journal_write(e, false), 0);
	json_object_object_add(e, "state", json_object_new_string("second"));
	CHECK_EQ(journal_write(e, false), 0);
	CHECK_EQ(journal_load("abcd0002", &back), 0);
	CHECK_STR(json_get_str(back, "state", NULL), "second");
	json_object_put(back);
	journal_remove("abcd0002");
	json_object_put(e);
}

static void list_both_dirs_sorted(void)
{
	json_object *a = entry("abcd0003", getpid(), 30), *b = entry("abcd0004", getpid(), 10);
	json_object *list = NULL;
	char junk[512];
	FILE *f;

	CHECK_EQ(journal_write(a, false), 0);
	CHECK_EQ(journal_write(b, true), 0);	/* persistent: the state dir */
	/* A torn write and an unrelated file must not break the listing. */
	snprintf(junk, sizeof(junk), "%s/run/faults/torn.json", dir);
	f = fopen(junk, "w");
	if (f) {
		fputs("{\"id\":", f);
		fclose(f);
	}
	CHECK_EQ(journal_list(&list), 0);
	CHECK_EQ(json_object_array_length(list), 2);
	if (json_object_array_length(list) == 2) {
		CHECK_STR(json_get_str(json_object_array_get_idx(list, 0), "id", NULL), "abcd0004");
		CHECK_STR(json_get_str(json_object_array_get_idx(list, 1), "id", NULL), "abcd0003");
	}
	json_object_put(list);
	CHECK_EQ(journal_remove("abcd0003"), 0);
	CHECK_EQ(journal_remove("abcd0004"), 0);
	unlink(junk);
	json_object_put(a);
	json_object_put(b);
}

static void load_rejects_bad_ids(void)
{
	json_object *o = NULL;

	CHECK_EQ(journal_load("../../etc/passwd", &o), -EINVAL);
	CHECK_EQ(journal_load("", &o), -EINVAL);
	CHECK(o == NULL);
}

static void owner_liveness(void)
{
	json_object *me = entry("x", getpid(), 0), *dead;
	pid_t child = fork();

	if (child == 0)
		_exit(0);
	dead = entry("y", child, 0);	/* start time read while it may live */
	waitpid(child, NULL, 0);
	CHECK(journal_owner_alive(me));
	CHECK(!journal_owner_alive(dead));
	/* Same pid, other start time: a reused pid is not the owner. */
	json_object_object_add(me, "owner_start", json_object_new_int64(1));
	CHECK(!journal_owner_alive(me));
	json_object_put(me);
	json_object_put(dead);
}

/* Only the entries of dead owners whose faults the kernel ended go; a dead
 * owner's state the kernel does not own stays for the guardian or recover. */
static void sweep_dead_kernel_owned(void)
{
	pid_t child = fork();
	json_object *gone, *kept, *live, *back = NULL;

	if (child == 0)
		_exit(0);
	gone = entry("abcd0010", child, 1);
	kept = entry("abcd0011", child, 2);
	waitpid(child, NULL, 0);
	live = entry("abcd0012", getpid(), 3);
	json_object_object_add(gone, "kernel_owned", json_object_new_boolean(1));
	json_object_object_add(kept, "kernel_owned", json_object_new_boolean(0));
	json_object_object_add(live, "kernel_owned", json_object_new_boolean(1));
	CHECK_EQ(journal_write(gone, false), 0);
	CHECK_EQ(journal_write(kept, true), 0);
	CHECK_EQ(journal_write(live, false), 0);
	CHECK_EQ(journal_sweep(), 1);
	CHECK_EQ(journal_load("abcd0010", &back), -ENOENT);
	CHECK_EQ(journal_load("abcd0011", &back), 0);
	json_object_put(back);
	CHECK_EQ(journal_load("abcd0012", &back), 0);
	json_object_put(back);
	CHECK_EQ(journal_sweep(), 0);
	journal_remove("abcd0011");
	journal_remove("abcd0012");
	json_object_put(gone);
	json_object_put(kept);
	json_object_put(live);
}

static void lock_is_exclusive(void)
{
	int a = journal_lock(), status = -1;
	pid_t child;

	CHECK(a >= 0);
	child = fork();
	if (child == 0) {
		/* The directory is the lock, and no lock file is left in it. */
		int fd = open(journal_run_dir(), O_RDONLY | O_DIRECTORY);
		char path[4200];

		snprintf(path, sizeof(path), "%s/lock", journal_run_dir());
		_exit(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == -1 && errno == EWOULDBLOCK &&
		      access(path, F_OK) ? 0 : 1);
	}
	waitpid(child, &status, 0);
	CHECK_EQ(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
	close(a);
}

static int write_conf(const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tug.conf", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	setenv("TUG_CONFIG", path, 1);
	return 0;
}

static void config_defaults_and_file(void)
{
	struct tug_config c;

	setenv("TUG_CONFIG", "/nonexistent/tug.conf", 1);
	CHECK_EQ(config_load(&c), 0);
	CHECK_EQ(c.default_for_ns, 60 * NSEC_PER_SEC);
	CHECK_EQ(c.max_for_ns, 3600 * NSEC_PER_SEC);

	write_conf("# site limits\nmax-for = 10m\n\ndefault-for=30s\n");
	CHECK_EQ(config_load(&c), 0);
	CHECK_EQ(c.max_for_ns, 600 * NSEC_PER_SEC);
	CHECK_EQ(c.default_for_ns, 30 * NSEC_PER_SEC);

	/* A default above the maximum is clamped to it. */
	write_conf("max-for = 10s\n");
	CHECK_EQ(config_load(&c), 0);
	CHECK_EQ(c.default_for_ns, 10 * NSEC_PER_SEC);
}

static void config_rejects(void)
{
	struct tug_config c = { .max_for_ns = 7 };

	write_conf("max-for = 10\n");
	CHECK_EQ(config_load(&c), -EINVAL);
	write_conf("maxfor = 10s\n");
	CHECK_EQ(config_load(&c), -EINVAL);
	write_conf("max-for 10s\n");
	CHECK_EQ(config_load(&c), -EINVAL);
	CHECK_EQ(c.max_for_ns, 7);
	unsetenv("TUG_CONFIG");
}

int main(void)
{
	char run[600], state[600], cmd[700];
	int ret;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(state, sizeof(state), "%s/state", dir);
	setenv("TUG_RUN_DIR", run, 1);
	setenv("TUG_STATE_DIR", state, 1);
	RUN(write_load_remove);
	RUN(rewrite_replaces);
	RUN(list_both_dirs_sorted);
	RUN(load_rejects_bad_ids);
	RUN(owner_liveness);
	RUN(sweep_dead_kernel_owned);
	RUN(lock_is_exclusive);
	RUN(config_defaults_and_file);
	RUN(config_rejects);
	ret = t_exit();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		ret = 1;
	return ret;
}
