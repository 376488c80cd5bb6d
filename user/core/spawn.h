/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helper processes (the guardian, the keepers, a hog, a command to run)
 * start here: fork, an explicit map of which parent descriptor becomes
 * which child descriptor, everything else above stderr closed, then an
 * exec or a function. A failure in the child before it runs what it was
 * given comes back to the parent as -errno, so the caller logs once.
 */
#ifndef TUG_SPAWN_H
#define TUG_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* As a source: /dev/null, opened read-write in the child. */
#define SPAWN_DEVNULL (-2)
#define SPAWN_MAX_FDS 8

/* Parent descriptor FROM (or SPAWN_DEVNULL) becomes child descriptor TO. */
struct spawn_fd {
	int from;
	int to;
};

struct spawn_opts {
	/* The child's descriptors: these, plus 0, 1 and 2 where the map does
	 * not name them (inherited as they are); every other one is closed
	 * (on exec, or before FN runs). A source may be another entry's
	 * target: the map is applied as a whole, not in order. */
	struct spawn_fd fds[SPAWN_MAX_FDS];
	size_t n_fds;
	bool new_session;		/* setsid: no Ctrl-C of the terminal's group */
	/* A helper that must outlive its parent's stop (a guardian, a
	 * keeper): SIGINT, SIGTERM and SIGHUP ignored, no signal blocked. */
	bool outlive_stop;
	const char *name;		/* comm (PR_SET_NAME), or NULL */
	char *const *argv;		/* execvp this, or */
	int (*fn)(void *arg);		/* run this; its return is the exit status */
	void *arg;
};

/* Start a child as O says. 0 with *ret_pid (and, when ret_pidfd is not
 * NULL, a pidfd on it in *ret_pidfd), or -errno: of fork, of the child's
 * setup, or of its exec (-ENOENT for a program not found); then no child
 * is left behind. */
int spawn(const struct spawn_opts *o, pid_t *ret_pid, int *ret_pidfd);

/* spawn in two halves, for a parent with other work while the child sets
 * itself up (on another CPU, which may first have to wake): start returns
 * after the fork, with *ret_setup the descriptor finish reads the child's
 * setup through; finish returns 0 once the child runs what it was given,
 * or the -errno it failed with (the child reaped). Finish must be called. */
int spawn_start(const struct spawn_opts *o, pid_t *ret_pid, int *ret_setup);
int spawn_finish(pid_t pid, int setup);

/* Wait for PID to exit: its exit status, 128 + the signal that killed it,
 * or -errno. */
int spawn_wait(pid_t pid);

/* The signals that stop a hold or a watch (SIGINT, SIGTERM, SIGHUP),
 * blocked and delivered to the returned signalfd instead, so that none
 * kills tug half way; SIGPIPE ignored. The fd (close-on-exec,
 * non-blocking), or -errno. outlive_stop above ignores the same set. */
int stop_signals_fd(void);

#endif
