// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "spawn.h"

/* The classic report: errno through the CLOEXEC pipe, which exec (or the
 * close before FN) otherwise closes with nothing written. */
static _Noreturn void child_fail(int ep, int e)
{
	while (write(ep, &e, sizeof(e)) < 0 && errno == EINTR)
		;
	_exit(127);
}

/* Close every descriptor from 3 up that is not a target. */
static void close_others(const struct spawn_opts *o)
{
	unsigned int lo = 3;

	for (;;) {
		unsigned int next = ~0U;

		for (size_t i = 0; i < o->n_fds; i++)
			if ((unsigned int)o->fds[i].to >= lo && (unsigned int)o->fds[i].to < next)
				next = o->fds[i].to;
		if (next > lo)
			close_range(lo, next == ~0U ? ~0U : next - 1, 0);
		if (next == ~0U)
			return;
		lo = next + 1;
	}
}

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };

int stop_signals_fd(void)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(*stop_signals); i++)
		sigaddset(&mask, stop_signals[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

static _Noreturn void child(const struct spawn_opts *o, int ep)
{
	int src[SPAWN_MAX_FDS], top = 2;

	if (o->new_session && setsid() < 0)
		child_fail(ep, errno);
	if (o->name)
		prctl(PR_SET_NAME, o->name);
	if (o->outlive_stop) {
		sigset_t none;

		for (size_t i = 0; i < sizeof(stop_signals) / sizeof(*stop_signals); i++)
			signal(stop_signals[i], SIG_IGN);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	for (size_t i = 0; i < o->n_fds; i++)
		if (o->fds[i].to > top)
			top = o->fds[i].to;
	/* Every source (and the pipe) above the highest target first: then no
	 * dup2 below lands on a source still to be placed, whatever the map. */
	if (ep <= top) {
		int moved = fcntl(ep, F_DUPFD_CLOEXEC, top + 1);

		if (moved < 0)
			child_fail(ep, errno);
		ep = moved;
	}
	for (size_t i = 0; i < o->n_fds; i++) {
		int fd = o->fds[i].from;

		if (fd == SPAWN_DEVNULL && (fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
			child_fail(ep, errno);
		src[i] = fcntl(fd, F_DUPFD_CLOEXEC, top + 1);
		if (src[i] < 0)
			child_fail(ep, errno);
	}
	/* What the map does not name does not reach the program. */
	if (o->argv && close_range(3, ~0U, CLOSE_RANGE_CLOEXEC))
		child_fail(ep, errno);
	for (size_t i = 0; i < o->n_fds; i++)
		if (dup2(src[i], o->fds[i].to) < 0)
			child_fail(ep, errno);
	if (o->argv) {
		execvp(o->argv[0], o->argv);
		child_fail(ep, errno);
	}
	close_others(o);	/* the pipe too: the parent's read ends, 0 */
	_exit(o->fn(o->arg));
}

static int spawn_check(const struct spawn_opts *o)
{
	if (!o->argv == !o->fn || (o->argv && !o->argv[0]) || o->n_fds > SPAWN_MAX_FDS)
		return -EINVAL;
	for (size_t i = 0; i < o->n_fds; i++) {
		if (o->fds[i].to < 0 || (o->fds[i].from < 0 && o->fds[i].from != SPAWN_DEVNULL))
			return -EBADF;
		for (size_t j = 0; j < i; j++)
			if (o->fds[j].to == o->fds[i].to)
				return -EINVAL;
	}
	return 0;
}

int spawn_start(const struct spawn_opts *o, pid_t *ret_pid, int *ret_setup)
{
	int ep[2] = { -1, -1 }, err;
	pid_t pid;

	err = spawn_check(o);
	if (err)
		return err;
	if (pipe2(ep, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(ep[0]);
		close(ep[1]);
		return err;
	}
	if (pid == 0)
		child(o, ep[1]);
	close(ep[1]);
	*ret_pid = pid;
	*ret_setup = ep[0];
	return 0;
}

int spawn_finish(pid_t pid, int setup)
{
	int e = 0, err = 0;
	ssize_t n;

	while ((n = read(setup, &e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(setup);
	if (n != 0) {
		err = n == sizeof(e) ? -e : n < 0 ? -errno : -EIO;
		spawn_wait(pid);
	}
	return err;
}

int spawn(const struct spawn_opts *o, pid_t *ret_pid, int *ret_pidfd)
{
	int setup, pidfd = -1, err;
	pid_t pid;

	err = spawn_start(o, &pid, &setup);
	if (err)
		return err;
	err = spawn_finish(pid, setup);
	if (err)
		return err;
	/* (Not reaped yet: the pid cannot name another process.) */
	if (ret_pidfd && (pidfd = syscall(SYS_pidfd_open, pid, 0)) < 0) {
		err = -errno;
		kill(pid, SIGKILL);
		spawn_wait(pid);
		return err;
	}
	*ret_pid = pid;
	if (ret_pidfd)
		*ret_pidfd = pidfd;
	return 0;
}

int spawn_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
