/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tug schedule: run an experiment on a calendar, the way MISSION.md's
 * runbook does (service restarts weekly, connection tests monthly, the full
 * suite quarterly). A systemd timer where systemd runs the machine, a line
 * in /etc/cron.d elsewhere. Rendering is pure so it can be tested without
 * either; TUG_SCHEDULE_ROOT prefixes every path written (tests, images).
 */
#ifndef TUG_SCHEDULE_H
#define TUG_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>

#include "experiment.h"

enum schedule_every { SCHEDULE_WEEKLY, SCHEDULE_MONTHLY, SCHEDULE_QUARTERLY, SCHEDULE_CRON };

struct schedule {
	char name[64];			/* tug-NAME.timer, /etc/cron.d/tug-NAME */
	enum schedule_every every;
	char cron[128];			/* SCHEDULE_CRON: five fields */
	char *const *run_argv;		/* tug run EXPERIMENT [options]: absolute paths */
	size_t run_argc;
};

/* "0 3 * * 1"-style five-field spec: fields counted, characters checked. */
int schedule_check_cron(const char *spec);
/* A name fit for a unit and a cron.d file: [a-z0-9-], 1..63. */
int schedule_check_name(const char *name);
/* The name install gives a file: its base name up to the first '.',
 * lower case, other characters '-'. 0, or -EINVAL when none fits. */
int schedule_name_for(const char *path, char *name, size_t len);
/* The OnCalendar= of a preset (NULL for SCHEDULE_CRON). */
const char *schedule_calendar(enum schedule_every every);

/* Before a scheduled run: file (and a suite's experiment files, found
 * with vars) still only root's to change and still the content scheduled
 * (sha256: 64 hex digits). -EPERM with why, or -errno with why. */
int schedule_verify(const char *file, const char *sha256, const struct exp_var *vars, size_t nvars,
		    char *why, size_t len);

/* The command line, each word quoted for sh (cron) or systemd (ExecStart). */
int schedule_render_cron(const struct schedule *s, char *buf, size_t len);
int schedule_render_systemd(const struct schedule *s, char *service, size_t slen,
			    char *timer, size_t tlen);

#endif
