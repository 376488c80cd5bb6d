// SPDX-License-Identifier: GPL-2.0
/* The helper-process spawner: the descriptor map (sources that are other
 * entries' targets), nothing else open in the child, errors before exec
 * reported to the parent, pidfds, sessions. The child program that lists
 * its descriptors is this test itself, run as `test_spawn --list-fds`. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>

#include "harness.h"
#include "spawn.h"

/* Every open descriptor but the listing's own, space-separated, on fd 1. */
static int list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char out[512] = "";
	size_t len = 0;

	if (!d)
		return 1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d) && len < sizeof(out) - 16)
			len += snprintf(out + len, sizeof(out) - len, "%s%s", len ? " " : "", e->d_name);
	closedir(d);
	return write(1, out, len) == (ssize_t)len ? 0 : 1;
}

/* What the child wrote, until EOF. */
static void read_all(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len - 1 && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += n;
	buf[got] = '\0';
}

static int write_marks(void *arg)
{
	/* Child fd 4 must be pipe "a" and 5 pipe "b", whatever their numbers were. */
	return write(4, "a", 1) == 1 && write(5, "b", 1) == 1 ? 0 : 1;
}

/* A swap: a's write end moved onto 5 and b's onto 4 in the parent, then
 * mapped 5 -> 4 and 4 -> 5. In-order dup2s would hand both to one pipe. */
/* FD moved to MIN or above (CLOEXEC), the old number closed. */
static int move_up(int fd, int min)
{
	int moved = fcntl(fd, F_DUPFD_CLOEXEC, min);

	close(fd);
	return moved;
}

static void map_with_colliding_numbers(void)
{
	struct spawn_opts o = { .fds = { { 5, 4 }, { 4, 5 } }, .n_fds = 2, .fn = write_marks };
	int a[2], b[2];
	char ba[8], bb[8];
	pid_t pid;

	CHECK(pipe2(a, O_CLOEXEC) == 0 && pipe2(b, O_CLOEXEC) == 0);
	a[0] = move_up(a[0], 20);
	b[0] = move_up(b[0], 20);
	a[1] = move_up(a[1], 20);
	b[1] = move_up(b[1], 20);
	CHECK(dup3(a[1], 5, O_CLOEXEC) == 5 && dup3(b[1], 4, O_CLOEXEC) == 4);
	close(a[1]);
	close(b[1]);
	CHECK_EQ(spawn(&o, &pid, NULL), 0);
	close(4);
	close(5);
	CHECK_EQ(spawn_wait(pid), 0);
	read_all(a[0], ba, sizeof(ba));
	read_all(b[0], bb, sizeof(bb));
	printf("  parent fd 5 (pipe a) became child fd 4, fd 4 (pipe b) fd 5: "
	       "pipe a got '%s', pipe b got '%s'\n", ba, bb);
	CHECK_STR(ba, "a");
	CHECK_STR(bb, "b");
	close(a[0]);
	close(b[0]);
}

/* Only 0-2 and the mapped descriptors reach the program: a descriptor
 * the parent left without CLOEXEC does not, nor a source, nor the pipe
 * that reports exec errors. */
static void only_mapped_fds_in_child(void)
{
	char self[64], list[512];
	char *argv[] = { self, "--list-fds", NULL };
	int p[2], leak, extra;
	pid_t pid;

	snprintf(self, sizeof(self), "/proc/%d/exe", getpid());
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	leak = open("/dev/null", O_RDONLY);	/* no CLOEXEC on purpose */
	extra = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct spawn_opts o = {
		.fds = { { p[1], 1 }, { extra, 7 }, { SPAWN_DEVNULL, 0 } },
		.n_fds = 3,
		.argv = argv,
	};

	CHECK(leak >= 3);
	CHECK_EQ(spawn(&o, &pid, NULL), 0);
	close(p[1]);
	read_all(p[0], list, sizeof(list));
	CHECK_EQ(spawn_wait(pid), 0);
	printf("  child fds: %s (parent's unmapped fd %d)\n", list, leak);
	CHECK_STR(list, "0 1 2 7");
	close(p[0]);
	close(leak);
	close(extra);
}

static int list_fds_fn(void *arg)
{
	return list_fds();
}

/* The same for a function run in the child: there nothing execs, so the
 * rest is closed outright. */
static void only_mapped_fds_in_fn_child(void)
{
	char list[512];
	int p[2], leak;
	pid_t pid;

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	leak = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct spawn_opts o = { .fds = { { p[1], 1 }, { p[1], 9 } }, .n_fds = 2, .fn = list_fds_fn };

	CHECK_EQ(spawn(&o, &pid, NULL), 0);
	close(p[1]);
	read_all(p[0], list, sizeof(list));
	CHECK_EQ(spawn_wait(pid), 0);
	printf("  child fds: %s\n", list);
	CHECK_STR(list, "0 1 2 9");
	close(p[0]);
	close(leak);
}

static void exec_failure_reported(void)
{
	char *argv[] = { "/nonexistent/tug-no-such-program", NULL };
	char *bare[] = { "tug-no-such-program-on-path", NULL };
	struct spawn_opts o = { .argv = argv, .fds = { { SPAWN_DEVNULL, 1 } }, .n_fds = 1 };
	pid_t pid = -1;
	int pidfd = -1;

	CHECK_EQ(spawn(&o, &pid, &pidfd), -ENOENT);
	CHECK_EQ(pid, -1);
	CHECK_EQ(pidfd, -1);
	o.argv = bare;
	CHECK_EQ(spawn(&o, &pid, NULL), -ENOENT);
	/* The failed child was reaped: none is left. */
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
}

static void setup_failure_reported(void)
{
	struct spawn_opts o = { .fds = { { 900, 3 } }, .n_fds = 1, .fn = list_fds_fn };
	pid_t pid = -1;

	CHECK_EQ(spawn(&o, &pid, NULL), -EBADF);	/* fd 900 is not open */
	CHECK_EQ(pid, -1);
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
	o.fds[1] = (struct spawn_fd){ SPAWN_DEVNULL, 3 };
	o.n_fds = 2;
	CHECK_EQ(spawn(&o, &pid, NULL), -EINVAL);	/* two sources for fd 3 */
	o.n_fds = 0;
	o.argv = (char *[]){ "true", NULL };
	CHECK_EQ(spawn(&o, &pid, NULL), -EINVAL);	/* both argv and fn */
}

static int session_leader(void *arg)
{
	return getsid(0) == getpid() ? 42 : 1;
}

/* The halves: start returns after the fork, finish gives what the setup
 * came to, and a failed child is reaped by finish. */
static void start_then_finish(void)
{
	struct spawn_opts o = { .fds = { { 900, 3 } }, .n_fds = 1, .fn = list_fds_fn };
	int setup = -1;
	pid_t pid = -1;

	CHECK_EQ(spawn_start(&o, &pid, &setup), 0);
	CHECK(pid > 0 && setup >= 0);
	CHECK_EQ(spawn_finish(pid, setup), -EBADF);	/* fd 900 is not open */
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
	CHECK(fcntl(setup, F_GETFD) < 0 && errno == EBADF);	/* finish closed it */
	o = (struct spawn_opts){ .new_session = true, .fn = session_leader };
	CHECK_EQ(spawn_start(&o, &pid, &setup), 0);
	CHECK_EQ(spawn_finish(pid, setup), 0);
	CHECK_EQ(spawn_wait(pid), 42);	/* the function ran, in its own session */
	o = (struct spawn_opts){ .n_fds = 0, .argv = (char *[]){ "true", NULL }, .fn = session_leader };
	CHECK_EQ(spawn_start(&o, &pid, &setup), -EINVAL);	/* nothing forked */
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
}

static void pidfd_and_session(void)
{
	struct spawn_opts o = { .new_session = true, .fn = session_leader, .name = "tug-test" };
	struct pollfd p;
	pid_t pid;
	int pidfd = -1;

	CHECK_EQ(spawn(&o, &pid, &pidfd), 0);
	CHECK(pidfd >= 0);
	p = (struct pollfd){ .fd = pidfd, .events = POLLIN };
	CHECK_EQ(poll(&p, 1, 5000), 1);	/* readable once the child exits */
	CHECK_EQ(spawn_wait(pid), 42);
	close(pidfd);
}

/* 42 when SIGTERM and SIGINT are ignored and nothing is blocked, even
 * though the parent blocked SIGTERM and handled neither as ignored. */
static int survives_stop(void *arg)
{
	struct sigaction term, intr;
	sigset_t blocked;

	sigaction(SIGTERM, NULL, &term);
	sigaction(SIGINT, NULL, &intr);
	sigprocmask(SIG_SETMASK, NULL, &blocked);
	return term.sa_handler == SIG_IGN && intr.sa_handler == SIG_IGN &&
	       !sigismember(&blocked, SIGTERM) ? 42 : 1;
}

static void outlive_stop_signals(void)
{
	struct spawn_opts o = { .fn = survives_stop };
	sigset_t term, old;
	pid_t pid;

	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	CHECK_EQ(spawn(&o, &pid, NULL), 0);
	CHECK_EQ(spawn_wait(pid), 1);	/* without the option: inherited */
	o.outlive_stop = true;
	CHECK_EQ(spawn(&o, &pid, NULL), 0);
	CHECK_EQ(spawn_wait(pid), 42);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--list-fds"))
		return list_fds();
	RUN(map_with_colliding_numbers);
	RUN(only_mapped_fds_in_child);
	RUN(only_mapped_fds_in_fn_child);
	RUN(exec_failure_reported);
	RUN(setup_failure_reported);
	RUN(start_then_finish);
	RUN(pidfd_and_session);
	RUN(outlive_stop_signals);
	return t_exit();
}
