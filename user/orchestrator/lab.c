// SPDX-License-Identifier: GPL-2.0
/*
 * tug lab up|down|status|exec|env: the local federation. Building it is a job of
 * ip, nsenter, initdb, sshd and runsv, so the work is done by scripts/lab
 * (installed as PREFIX/share/tug/lab); this finds it and hands over.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "log.h"
#include "selfpath.h"

static int find_script(const char *exe, char *buf, size_t len)
{
	const char *env = getenv("TUG_LAB_SCRIPT");
	static const char *const rel[] = { "../scripts/lab", "../share/tug/lab" };
	char dir[PATH_MAX];

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return access(buf, X_OK) ? -errno : 0;
	}
	snprintf(dir, sizeof(dir), "%s", exe);
	dirname(dir);
	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(buf, len, "%s/%s", dir, rel[i]);
		if (access(buf, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

int cmd_lab(int argc, char **argv, bool json)
{
	char exe[PATH_MAX], script[PATH_MAX + 32];
	int err = self_command(exe, sizeof(exe));

	if (err)
		return log_errno(err, "cannot find the tug command's path"), EXIT_FAILURE;
	err = find_script(exe, script, sizeof(script));
	if (err) {
		log_errno(err, "cannot find the lab script next to %s (set TUG_LAB_SCRIPT)", exe);
		return EXIT_FAILURE;
	}
	/* The lab's services and experiments call this same tug. */
	setenv("TUG", exe, 1);
	argv[0] = script;
	execv(script, argv);
	return log_errno(-errno, "cannot run %s", script), EXIT_FAILURE;
}
