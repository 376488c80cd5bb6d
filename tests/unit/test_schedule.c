// SPDX-License-Identifier: GPL-2.0
/* Schedules render to exactly what cron and systemd will read. */
#include <errno.h>

#include "harness.h"
#include "schedule.h"

static char *const argv_plain[] = { "/usr/sbin/tug", "run", "/srv/exp/kill.yaml", "--approve", "alice" };
static char *const argv_nasty[] = { "/usr/sbin/tug", "run", "/srv/it's 100%.yaml", "--var", "x=$HOME\"\\" };

static void names_and_specs(void)
{
	CHECK_EQ(schedule_check_name("kill-gateway"), 0);
	CHECK_EQ(schedule_check_name("suite2"), 0);
	CHECK_EQ(schedule_check_name(""), -EINVAL);
	CHECK_EQ(schedule_check_name("-x"), -EINVAL);
	CHECK_EQ(schedule_check_name("Kill"), -EINVAL);
	CHECK_EQ(schedule_check_name("a/b"), -EINVAL);
	CHECK_EQ(schedule_check_name("a.timer"), -EINVAL);
	CHECK_EQ(schedule_check_cron("0 3 * * 1"), 0);
	CHECK_EQ(schedule_check_cron("*/15 2-4 1,15 jan mon"), 0);
	CHECK_EQ(schedule_check_cron("0 3 * *"), -EINVAL);
	CHECK_EQ(schedule_check_cron("0 3 * * 1 6"), -EINVAL);
	CHECK_EQ(schedule_check_cron("0 3 * * 1; rm"), -EINVAL);
	CHECK_EQ(schedule_check_cron(""), -EINVAL);
}

static void cron_lines(void)
{
	struct schedule s = { .name = "kill", .every = SCHEDULE_WEEKLY, .run_argv = argv_plain,
			      .run_argc = 5 };
	char buf[1024];

	CHECK_EQ(schedule_render_cron(&s, buf, sizeof(buf)), 0);
	CHECK(strstr(buf, "\n0 3 * * 1 root '/usr/sbin/tug' 'run' '/srv/exp/kill.yaml' '--approve' 'alice' "
			  ">>/var/log/tug/kill.log 2>&1\n") != NULL);
	s.every = SCHEDULE_QUARTERLY;
	CHECK_EQ(schedule_render_cron(&s, buf, sizeof(buf)), 0);
	CHECK(strstr(buf, "\n0 3 1 1,4,7,10 * root ") != NULL);
	s.every = SCHEDULE_CRON;
	strcpy(s.cron, "30 2 1 * *");
	s.run_argv = argv_nasty;
	CHECK_EQ(schedule_render_cron(&s, buf, sizeof(buf)), 0);
	/* cron reads % as a newline: escaped; sh quotes survive a quote. */
	CHECK(strstr(buf, "\n30 2 1 * * root ") != NULL);
	CHECK(strstr(buf, "'/srv/it'\\''s 100\\%.yaml'") != NULL);
	CHECK(strstr(buf, "'x=$HOME\"\\'") != NULL);
	CHECK_EQ(schedule_render_cron(&s, buf, 40), -ENOSPC);
}

static void systemd_units(void)
{
	struct schedule s = { .name = "suite", .every = SCHEDULE_MONTHLY, .run_argv = argv_nasty,
			      .run_argc = 5 };
	char service[1024], timer[1024];

	CHECK_EQ(schedule_render_systemd(&s, service, sizeof(service), timer, sizeof(timer)), 0);
	CHECK(strstr(service, "\nType=oneshot\n") != NULL);
	/* systemd specifiers (%) and variables ($) escaped, quotes and backslashes too. */
	CHECK(strstr(service, "ExecStart=\"/usr/sbin/tug\" \"run\" \"/srv/it's 100%%.yaml\" \"--var\" "
			      "\"x=$$HOME\\\"\\\\\"\n") != NULL);
	CHECK(strstr(timer, "\nOnCalendar=*-*-01 03:00:00\nPersistent=true\n") != NULL);
	CHECK(strstr(timer, "WantedBy=timers.target") != NULL);
	s.every = SCHEDULE_WEEKLY;
	CHECK_EQ(schedule_render_systemd(&s, service, sizeof(service), timer, sizeof(timer)), 0);
	CHECK(strstr(timer, "OnCalendar=Mon *-*-* 03:00:00\n") != NULL);
	s.every = SCHEDULE_CRON;
	CHECK_EQ(schedule_render_systemd(&s, service, sizeof(service), timer, sizeof(timer)), -EINVAL);
}

/* A newline in any word would end the line and start a new one of the
 * writer's choosing: "* * * * * root sh -c EVIL". */
static void control_characters_refused(void)
{
	static char *const argv_nl[] = { "/usr/sbin/tug", "run", "/srv/kill.yaml", "--approve",
					 "alice\n* * * * * root touch /tmp/pwned" };
	static char *const argv_cr[] = { "/usr/sbin/tug", "run", "/srv/kill.yaml", "--var", "x=1\rExecStartPre=/bin/sh" };
	struct schedule s = { .name = "kill", .every = SCHEDULE_WEEKLY, .run_argv = argv_nl,
			      .run_argc = 5 };
	char buf[1024], timer[1024];

	CHECK_EQ(schedule_render_cron(&s, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(schedule_render_systemd(&s, buf, sizeof(buf), timer, sizeof(timer)), -EINVAL);
	s.run_argv = argv_cr;
	CHECK_EQ(schedule_render_cron(&s, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ(schedule_render_systemd(&s, buf, sizeof(buf), timer, sizeof(timer)), -EINVAL);
}

int main(void)
{
	RUN(names_and_specs);
	RUN(cron_lines);
	RUN(systemd_units);
	RUN(control_characters_refused);
	return t_exit();
}
