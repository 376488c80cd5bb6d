// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netns.h"

static int netns_path(const char *name, char *buf, size_t len)
{
	if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	if (snprintf(buf, len, "/run/netns/%s", name) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int netns_exists(const char *name)
{
	char path[256];
	int err = netns_path(name, path, sizeof(path));

	if (err)
		return err;
	return access(path, F_OK) ? -ENOENT : 0;
}

int netns_enter(const char *name, int *ret_orig_fd)
{
	char path[256];
	int orig = -1, fd = -1, err;

	if (!name || !*name) {
		*ret_orig_fd = -1;
		return 0;
	}
	err = netns_path(name, path, sizeof(path));
	if (err)
		return err;
	orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (orig < 0)
		return -errno;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto cleanup;
	}
	if (setns(fd, CLONE_NEWNET)) {
		err = -errno;
		goto cleanup;
	}
	*ret_orig_fd = orig;
	orig = -1;
cleanup:
	if (fd >= 0)
		close(fd);
	if (orig >= 0)
		close(orig);
	return err;
}

int netns_leave(int orig_fd)
{
	int err = 0;

	if (orig_fd < 0)
		return 0;
	if (setns(orig_fd, CLONE_NEWNET))
		err = -errno;
	close(orig_fd);
	return err;
}
