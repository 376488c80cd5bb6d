// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "selfpath.h"

static int self_exe(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 1);

	if (n < 0)
		return -errno;
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

int self_sibling(const char *name, char *buf, size_t len)
{
	char exe[PATH_MAX], *slash;
	int err = self_exe(exe, sizeof(exe));

	if (err)
		return err;
	slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	*slash = '\0';
	if ((size_t)snprintf(buf, len, "%s/%s", exe, name) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int self_command(char *buf, size_t len)
{
	const char *base;
	int err = self_exe(buf, len);

	if (err)
		return err;
	base = strrchr(buf, '/');
	if (base && !strcmp(base + 1, "tug-full")) {
		err = self_sibling("tug", buf, len);
		if (!err && access(buf, X_OK))
			err = -errno;
	}
	return err;
}
