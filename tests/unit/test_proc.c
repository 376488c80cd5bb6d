// SPDX-License-Identifier: GPL-2.0
/* proc kill's parsing and planning: systemd's `systemctl show` output, the
 * choice of pids, the pid-reuse check, runit's status record, pid files. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>

#include "commands.h"
#include "fault.h"
#include "harness.h"
#include "parse.h"
#include "proc.h"

static const char show_active[] =
	"MainPID=4242\n"
	"ControlGroup=/system.slice/gateway.service\n"
	"NRestarts=3\n"
	"ActiveState=active\n"
	"SubState=running\n"
	"ExecMainStartTimestampMonotonic=123456789\n";

static void systemd_show_active(void)
{
	struct unit_state u;

	CHECK_EQ(systemd_parse_show(show_active, &u), 0);
	CHECK_EQ(u.main_pid, 4242);
	CHECK_EQ(u.restarts, 3);
	CHECK_EQ(u.main_start_mono_us, 123456789);
	CHECK_STR(u.active, "active");
	CHECK_STR(u.sub, "running");
	CHECK_STR(u.cgroup, "/system.slice/gateway.service");
}

static void systemd_show_inactive_and_old(void)
{
	struct unit_state u;

	/* An inactive unit; an old systemd without NRestarts; no trailing newline. */
	CHECK_EQ(systemd_parse_show("MainPID=0\nActiveState=inactive\nControlGroup=\n"
				    "ExecMainStartTimestampMonotonic=0", &u), 0);
	CHECK_EQ(u.main_pid, 0);
	CHECK_EQ(u.restarts, -1);
	CHECK_STR(u.active, "inactive");
	CHECK_STR(u.cgroup, "");
}

static void systemd_show_rejects(void)
{
	struct unit_state u = { .main_pid = 77 };

	CHECK_EQ(systemd_parse_show("", &u), -EBADMSG);
	CHECK_EQ(systemd_parse_show("Unit gateway.service could not be found.\n", &u), -EBADMSG);
	CHECK_EQ(systemd_parse_show("MainPID=12x\nActiveState=active\n", &u), -EBADMSG);
	CHECK_EQ(u.main_pid, 77);	/* untouched on failure */
}

static void systemd_plan_main_only(void)
{
	struct unit_state u;
	pid_t pids[PLAN_MAX_PIDS];
	int n = 0;

	systemd_parse_show(show_active, &u);
	CHECK_EQ(systemd_plan(&u, "4242\n4300\n4301\n", false, pids, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(pids[0], 4242);
}

static void systemd_plan_all(void)
{
	struct unit_state u;
	pid_t pids[PLAN_MAX_PIDS];
	int n = 0;

	systemd_parse_show(show_active, &u);
	/* Main first, no duplicate, never pid 1. */
	CHECK_EQ(systemd_plan(&u, "4300\n4242\n1\n4301\n", true, pids, &n), 0);
	CHECK_EQ(n, 3);
	CHECK_EQ(pids[0], 4242);
	CHECK_EQ(pids[1], 4300);
	CHECK_EQ(pids[2], 4301);
}

static void systemd_plan_nothing(void)
{
	struct unit_state u = { 0 };
	pid_t pids[PLAN_MAX_PIDS];
	int n = 5;

	CHECK_EQ(systemd_plan(&u, "", true, pids, &n), -ESRCH);
	CHECK_EQ(systemd_plan(&u, "", false, pids, &n), -ESRCH);
	CHECK_EQ(n, 5);
	/* A unit whose main process is gone but a child lingers, with --all. */
	CHECK_EQ(systemd_plan(&u, "900\n", true, pids, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(pids[0], 900);
}

static void identity_check(void)
{
	uint64_t rec = 1000 * NSEC_PER_SEC;

	CHECK_EQ(proc_identity_check(rec - NSEC_PER_SEC, rec), 0);	/* started before */
	CHECK_EQ(proc_identity_check(rec + PROC_IDENTITY_SLACK_NS, rec), 0);	/* tick rounding */
	CHECK_EQ(proc_identity_check(rec + PROC_IDENTITY_SLACK_NS + 1, rec), -ESTALE);
	CHECK_EQ(proc_identity_check(rec + 60 * NSEC_PER_SEC, rec), -ESTALE);	/* reused pid */
	CHECK_EQ(proc_identity_check(rec, 0), 0);				/* no record */
}

static void runit_status(void)
{
	/* TAI64N 2^62+10+1700000000 s, 500000000 ns; pid 0x00012345; not
	 * paused; want up; no term; state run. */
	unsigned char b[20] = { 0x40, 0, 0, 0, 0x65, 0x53, 0xf1, 0x0a, 0x1d, 0xcd, 0x65, 0x00,
				0x45, 0x23, 0x01, 0x00, 0, 'u', 0, 1 };
	struct runit_state s;

	CHECK_EQ(runit_parse_status(b, sizeof(b), &s), 0);
	CHECK_EQ(s.pid, 0x12345);
	CHECK_EQ(s.since_real_ns, 1700000000ULL * NSEC_PER_SEC + 500000000ULL);
	CHECK(s.up);
	CHECK(s.want_up);
	CHECK(!s.paused);
	b[19] = 0;	/* down */
	CHECK_EQ(runit_parse_status(b, sizeof(b), &s), 0);
	CHECK(!s.up);
	CHECK_EQ(runit_parse_status(b, 19, &s), -EBADMSG);
	b[0] = 0;	/* not a TAI64 label */
	CHECK_EQ(runit_parse_status(b, sizeof(b), &s), -EBADMSG);
}

static void pidfile(void)
{
	char path[] = "/tmp/tug-test-pidfile.XXXXXX";
	int fd = mkstemp(path);
	uint64_t mtime = 0;
	pid_t pid = 0;
	struct stat st;

	if (fd < 0)
		SKIP("cannot create a temporary file");
	CHECK_EQ(write(fd, "4321\n", 5), 5);
	fstat(fd, &st);
	CHECK_EQ(read_pidfile(path, &pid, &mtime, NULL), 0);
	CHECK_EQ(pid, 4321);
	CHECK_EQ(mtime, (uint64_t)st.st_mtim.tv_sec * NSEC_PER_SEC + st.st_mtim.tv_nsec);
	CHECK_EQ(ftruncate(fd, 0), 0);
	CHECK_EQ(pwrite(fd, "garbage\n", 8, 0), 8);
	pid = 7;
	CHECK_EQ(read_pidfile(path, &pid, &mtime, NULL), -EBADMSG);
	CHECK_EQ(pid, 7);
	CHECK_EQ(ftruncate(fd, 0), 0);
	CHECK_EQ(pwrite(fd, "1\n", 2, 0), 2);	/* init is never a target */
	CHECK_EQ(read_pidfile(path, &pid, &mtime, NULL), -EBADMSG);
	close(fd);
	unlink(path);
	CHECK_EQ(read_pidfile(path, &pid, &mtime, NULL), -ENOENT);
}

static void clocks_round_trip(void)
{
	uint64_t r = 1700000000ULL * NSEC_PER_SEC;
	int64_t d = (int64_t)boot_to_real_ns(real_to_boot_ns(r)) - (int64_t)r;

	CHECK(d > -1000000 && d < 1000000);	/* within 1 ms */
	CHECK_EQ(proc_ticks_to_boot_ns(100), 100 * (NSEC_PER_SEC / sysconf(_SC_CLK_TCK)));
}

/* action_getopt: the verb's codes come back, --json and --help and the
 * stray-argument check are taken care of. */
static int getopt_all(char **argv, bool *json, int *codes, int *n)
{
	static const struct option opts[] = {
		{ "unit", required_argument, NULL, 0x100 },
		{ "all", no_argument, NULL, 0x101 },
		ACTION_COMMON_OPTIONS,
		{},
	};
	int argc = 0, opt, err;

	while (argv[argc])
		argc++;
	*n = 0;
	optind = 0;
	while ((opt = action_getopt(argc, argv, opts, json, &err)) >= 0)
		codes[(*n)++] = opt;
	return err;
}

static void action_options(void)
{
	int codes[8], n, saved = dup(2), null = open("/dev/null", O_WRONLY);
	bool json = false;

	dup2(null, 2);	/* getopt's own complaints */
	CHECK_EQ(getopt_all((char *[]){ "kill", "--unit", "a", "--json", "--all", NULL }, &json, codes, &n), 0);
	CHECK(json);
	CHECK_EQ(n, 2);
	CHECK_EQ(codes[0], 0x100);
	CHECK_EQ(codes[1], 0x101);
	json = false;
	CHECK_EQ(getopt_all((char *[]){ "kill", "--help", "--bogus", NULL }, &json, codes, &n), 1);
	CHECK_EQ(getopt_all((char *[]){ "kill", "--bogus", "--help", NULL }, &json, codes, &n), -EINVAL);
	CHECK_EQ(getopt_all((char *[]){ "kill", "--unit", "a", "stray", NULL }, &json, codes, &n), -EINVAL);
	CHECK_EQ(getopt_all((char *[]){ "kill", "--unit", NULL }, &json, codes, &n), -EINVAL);
	CHECK_EQ(getopt_all((char *[]){ "kill", "--for", "1s", NULL }, &json, codes, &n), -EINVAL);
	CHECK(!json);
	dup2(saved, 2);
	close(saved);
	close(null);
}

/* Run an action with stdout and stderr muted: its exit status. */
static int action_status(int (*fn)(int, char **, bool), char **argv)
{
	int argc = 0, r, out = dup(1), err = dup(2), null = open("/dev/null", O_WRONLY);

	while (argv[argc])
		argc++;
	fflush(stdout);
	dup2(null, 1);
	dup2(null, 2);
	r = fn(argc, argv, false);
	fflush(stdout);
	dup2(out, 1);
	dup2(err, 2);
	close(out);
	close(err);
	close(null);
	return r;
}

/* Bad input to proc kill / restart / pg crash: exit status 2, and the
 * service manager is never asked (TUG_SYSTEMCTL records each call). */
static void action_bad_input_exit_2(void)
{
	char dir[] = "/tmp/tug-test-action.XXXXXX", sc[64], mark[64], script[160];
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(sc, sizeof(sc), "%s/systemctl", dir);
	snprintf(mark, sizeof(mark), "%s/called", dir);
	snprintf(script, sizeof(script), "#!/bin/sh\necho \"$*\" >> %s\nexit 1\n", mark);
	fd = open(sc, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	CHECK(fd >= 0 && write(fd, script, strlen(script)) == (ssize_t)strlen(script));
	close(fd);
	setenv("TUG_SYSTEMCTL", sc, 1);
	CHECK_EQ(action_status(cmd_proc_kill, (char *[]){ "kill", "--unit", "a.service", "stray", NULL }), 2);
	CHECK_EQ(action_status(cmd_proc_kill, (char *[]){ "kill", "--unit", "a.service", "--bogus", NULL }), 2);
	CHECK_EQ(action_status(cmd_proc_kill, (char *[]){ "kill", "--unit", "a.service", "--signal", "NOPE", NULL }), 2);
	CHECK_EQ(action_status(cmd_proc_kill, (char *[]){ "kill", "--unit", "a.service", "--pid", "5", NULL }), 2);
	CHECK_EQ(action_status(cmd_proc_kill, (char *[]){ "kill", "--unit", "a.service", "--wait-restart", "2h", NULL }), 2);
	CHECK_EQ(action_status(cmd_proc_kill, (char *[]){ "kill", "--unit", "a.service", "--help", NULL }), 0);
	CHECK_EQ(action_status(cmd_proc_restart, (char *[]){ "restart", "--unit", "a.service", "--wait", "0", NULL }), 2);
	CHECK_EQ(action_status(cmd_proc_restart, (char *[]){ "restart", "--unit", "a.service", "--json", "x", NULL }), 2);
	CHECK_EQ(action_status(cmd_proc_restart, (char *[]){ "restart", "--pid", "5", NULL }), 2);
	CHECK_EQ(action_status(cmd_pg_crash, (char *[]){ "crash", "--wait", "1s", NULL }), 2);	/* no --db */
	CHECK_EQ(action_status(cmd_pg_crash, (char *[]){ "crash", "--db", "host=/nonexistent", "stray", NULL }), 2);
	CHECK_EQ(action_status(cmd_pg_crash, (char *[]){ "crash", "--db", "host=/nonexistent", "--wait", "0", NULL }), 2);
	CHECK_EQ(action_status(cmd_pg_crash, (char *[]){ "crash", "--help", NULL }), 0);
	CHECK(access(mark, F_OK) != 0);	/* systemctl never ran */
	/* The recorder works: a good command line does reach it. */
	CHECK_EQ(action_status(cmd_proc_kill, (char *[]){ "kill", "--unit", "a.service", NULL }), 2);
	CHECK(access(mark, F_OK) == 0);
	printf("  13 bad or --help command lines: systemctl not run; a valid one: %s\n",
	       access(mark, F_OK) == 0 ? "run" : "not run");
	unsetenv("TUG_SYSTEMCTL");
	unlink(mark);
	unlink(sc);
	rmdir(dir);
}

int main(void)
{
	RUN(systemd_show_active);
	RUN(systemd_show_inactive_and_old);
	RUN(systemd_show_rejects);
	RUN(systemd_plan_main_only);
	RUN(systemd_plan_all);
	RUN(systemd_plan_nothing);
	RUN(identity_check);
	RUN(runit_status);
	RUN(pidfile);
	RUN(clocks_round_trip);
	RUN(action_options);
	RUN(action_bad_input_exit_2);
	return t_exit();
}
