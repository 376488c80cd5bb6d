/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Enter a named network namespace (/run/netns/NAME, as `ip netns add` makes
 * them) for interface work and come back. Unlike `ip netns exec`, this keeps
 * the host's /sys, bpffs and cgroup mounts in view.
 */
#ifndef TUG_NETNS_H
#define TUG_NETNS_H

/* name NULL or "" is the current namespace: *ret_orig_fd is then -1. */
int netns_enter(const char *name, int *ret_orig_fd);
/* Returns to the namespace saved by netns_enter and closes the fd. */
int netns_leave(int orig_fd);
/* 0 if /run/netns/NAME exists, -ENOENT otherwise. */
int netns_exists(const char *name);

#endif
