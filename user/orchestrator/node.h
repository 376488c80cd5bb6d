/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Commands on the experiment's nodes: over SSH (libssh2; host keys checked
 * against known_hosts, key or agent authentication) or, for host: local,
 * as a child process. One connection is used by one thread at a time.
 * Errors are -errno with a human reason in `why`, for the caller to log.
 */
#ifndef TUG_NODE_H
#define TUG_NODE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"
#include "experiment.h"

struct node_conn;
struct node_proc;

/* Process-wide setup of libssh2; call once before threads start. */
int node_global_init(void);
void node_global_cleanup(void);

/* Connect and authenticate. A host key that is unknown (without
 * accept_new) or different from known_hosts is refused with -EPERM. */
int node_open(const struct exp_node *n, bool accept_new, struct node_conn **ret,
	      char *why, size_t len);
void node_close(struct node_conn *c);
/* node_open again, every 200 ms, while the node does not answer (it
 * reboots, its sshd restarts) until deadline_ns (CLOCK_MONOTONIC) or *stop.
 * A host key or a login refused is final at once: the key is verified on
 * every attempt as on the first. */
int node_open_retry(const struct exp_node *n, bool accept_new, uint64_t deadline_ns,
		    const atomic_int *stop, struct node_conn **ret, char *why, size_t len);

/* Start a shell command on the node with stdin, stdout and stderr. */
int node_spawn(struct node_conn *c, const char *cmd, struct node_proc **ret,
	       char *why, size_t len);
/* Read stdout: >0 bytes, 0 at EOF, -EAGAIN when nothing came in timeout_ms.
 * Stderr is collected on the side (node_stderr). */
ssize_t node_read(struct node_proc *p, char *buf, size_t len, int timeout_ms);
int node_write(struct node_proc *p, const char *buf, size_t len);
/* Close our end of the command's stdin (it sees EOF). */
void node_close_stdin(struct node_proc *p);
/* Wait for the command to end (up to timeout_ms, then kill it / close the
 * channel); *ret_code is its exit status, or -1 when unknown. */
int node_wait(struct node_proc *p, int timeout_ms, int *ret_code);
const char *node_stderr(struct node_proc *p);
void node_proc_free(struct node_proc *p);

/* Run a command to completion; its stdout (up to 64 KiB) in *ret_out. */
int node_run(struct node_conn *c, const char *cmd, uint64_t timeout_ns, int *ret_code,
	     char **ret_out, char *why, size_t len);

/* Append word to a shell command line, single-quoted when needed. */
int shell_quote_append(char **cmd, const char *word);


#endif
