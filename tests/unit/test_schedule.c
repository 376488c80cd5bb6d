// SPDX-License-Identifier: GPL-2.0
/* Schedules render to exactly what cron and systemd will read. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

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
	CHECK(strstr(buf, "\n0 3 * * 0 root '/usr/sbin/tug' 'run' '/srv/exp/kill.yaml' '--approve' 'alice' "
			  ">>/var/log/tug/kill.log 2>&1\n") != NULL);
	s.every = SCHEDULE_QUARTERLY;
	CHECK_EQ(schedule_render_cron(&s, buf, sizeof(buf)), 0);
	/* cron ORs the days: days 1-7, and a guard lets only the Sunday run */
	CHECK(strstr(buf, "\n0 3 1-7 1,4,7,10 * root [ \"$(date +\\%u)\" = 7 ] && '/usr/sbin/tug' ") != NULL);
	s.every = SCHEDULE_MONTHLY;
	CHECK_EQ(schedule_render_cron(&s, buf, sizeof(buf)), 0);
	CHECK(strstr(buf, "\n0 3 1-7 * * root [ \"$(date +\\%u)\" = 7 ] && '/usr/sbin/tug' ") != NULL);
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
	CHECK(strstr(timer, "\nOnCalendar=Sun *-*-01..07 03:00:00\nPersistent=true\n") != NULL);
	CHECK(strstr(timer, "WantedBy=timers.target") != NULL);
	s.every = SCHEDULE_WEEKLY;
	CHECK_EQ(schedule_render_systemd(&s, service, sizeof(service), timer, sizeof(timer)), 0);
	CHECK(strstr(timer, "OnCalendar=Sun *-*-* 03:00:00\n") != NULL);
	s.every = SCHEDULE_QUARTERLY;
	CHECK_EQ(schedule_render_systemd(&s, service, sizeof(service), timer, sizeof(timer)), 0);
	CHECK(strstr(timer, "OnCalendar=Sun *-01,04,07,10-01..07 03:00:00\n") != NULL);
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

/* The next runs systemd computes from each preset, after a Monday in
 * 2026: Sundays at 03:00; the monthly and quarterly ones are first Sundays
 * (day 1-7) of the right months. Skipped where systemd-analyze is absent. */
static void calendars_by_systemd(void)
{
	static const struct {
		enum schedule_every every;
		const char *want[3];
	} cases[] = {
		{ SCHEDULE_WEEKLY, { "Sun 2026-12-06 03:00:00", "Sun 2026-12-13 03:00:00", "Sun 2026-12-20 03:00:00" } },
		{ SCHEDULE_MONTHLY, { "Sun 2026-12-06 03:00:00", "Sun 2027-01-03 03:00:00", "Sun 2027-02-07 03:00:00" } },
		{ SCHEDULE_QUARTERLY, { "Sun 2027-01-03 03:00:00", "Sun 2027-04-04 03:00:00", "Sun 2027-07-04 03:00:00" } },
	};

	if (access("/usr/bin/systemd-analyze", X_OK))
		SKIP("no systemd-analyze (package systemd) to check the calendars with");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char cmd[256], out[4096] = "";
		size_t n = 0;
		FILE *p;

		snprintf(cmd, sizeof(cmd), "TZ=UTC /usr/bin/systemd-analyze calendar --iterations=3 "
			 "--base-time='2026-11-30 12:00:00 UTC' '%s' 2>&1", schedule_calendar(cases[i].every));
		p = popen(cmd, "r");
		CHECK(p != NULL);
		if (!p)
			continue;
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		CHECK_EQ(pclose(p), 0);
		for (int k = 0; k < 3; k++)
			if (!strstr(out, cases[i].want[k]))
				printf("  %s: no %s in:\n%s\n", schedule_calendar(cases[i].every), cases[i].want[k], out),
					t_cur_failed++;
	}
}

static void name_for_file(void)
{
	char name[64];

	CHECK_EQ(schedule_name_for("/srv/examples/federation/1-kill-gateway.yaml", name, sizeof(name)), 0);
	CHECK_STR(name, "1-kill-gateway");
	CHECK_EQ(schedule_name_for("Suite_Q.yaml", name, sizeof(name)), 0);
	CHECK_STR(name, "suite-q");
	CHECK_EQ(schedule_name_for("/srv/.yaml", name, sizeof(name)), -EINVAL);
}

int main(void)
{
	RUN(names_and_specs);
	RUN(cron_lines);
	RUN(systemd_units);
	RUN(control_characters_refused);
	RUN(calendars_by_systemd);
	RUN(name_for_file);
	return t_exit();
}
