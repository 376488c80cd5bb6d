// SPDX-License-Identifier: GPL-2.0
/*
 * tug schedule install EXPERIMENT (--weekly | --monthly | --quarterly |
 *                     --cron SPEC) [--name NAME] [run options...]
 * tug schedule list | remove NAME
 *
 * The experiment is validated now, so a schedule never fires a file that
 * would be refused; its approvals are given now and recorded with each run.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "experiment.h"
#include "log.h"
#include "digest.h"
#include "safefile.h"
#include "selfpath.h"
#include "conninfo.h"
#include "sanitize.h"
#include "schedule.h"

/*
 * The runbook's calendar: service restarts weekly on Sunday at 3 AM,
 * connection tests on the first Sunday of the month, the full suite on the
 * first Sunday of each quarter. systemd says "first Sunday" directly; cron
 * ORs a day of the month with a day of the week, so its line runs on days
 * 1-7 and a guard lets only the Sunday through.
 */
static const char *const calendar[] = {
	[SCHEDULE_WEEKLY] = "Sun *-*-* 03:00:00",
	[SCHEDULE_MONTHLY] = "Sun *-*-01..07 03:00:00",
	[SCHEDULE_QUARTERLY] = "Sun *-01,04,07,10-01..07 03:00:00",
};

static const char *const cron_spec[] = {
	[SCHEDULE_WEEKLY] = "0 3 * * 0",
	[SCHEDULE_MONTHLY] = "0 3 1-7 * *",
	[SCHEDULE_QUARTERLY] = "0 3 1-7 1,4,7,10 *",
};

/* cron runs its line through sh; '%' is a newline to cron unless escaped. */
static const char *const cron_guard[] = {
	[SCHEDULE_MONTHLY] = "[ \"$(date +\\%u)\" = 7 ] && ",
	[SCHEDULE_QUARTERLY] = "[ \"$(date +\\%u)\" = 7 ] && ",
};

/* How long approvals given at install hold when --approvals-until is not
 * given: the next run and a day of slack, never every later one. */
static const unsigned approval_days[] = {
	[SCHEDULE_WEEKLY] = 8,
	[SCHEDULE_MONTHLY] = 36,
	[SCHEDULE_QUARTERLY] = 99,
};

int schedule_name_for(const char *path, char *name, size_t len)
{
	const char *b = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t j = 0;

	for (size_t i = 0; b[i] && b[i] != '.' && j < len - 1; i++) {
		char c = b[i] >= 'A' && b[i] <= 'Z' ? b[i] - 'A' + 'a' : b[i];

		name[j++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '-';
	}
	name[j] = '\0';
	return schedule_check_name(name);
}

const char *schedule_calendar(enum schedule_every every)
{
	return every < SCHEDULE_CRON ? calendar[every] : NULL;
}

int schedule_check_name(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 63 || name[0] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
		      name[i] == '-'))
			return -EINVAL;
	return 0;
}

int schedule_check_cron(const char *spec)
{
	int fields = 0;
	bool in = false;

	for (const char *p = spec; *p; p++) {
		if (*p == ' ' || *p == '\t') {
			in = false;
			continue;
		}
		if (!strchr("0123456789*/,-", *p) && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= 'a' && *p <= 'z'))
			return -EINVAL;
		if (!in)
			fields++;
		in = true;
	}
	return fields == 5 ? 0 : -EINVAL;
}

/* Append to buf at *off; -ENOSPC when it does not fit. */
static int put(char *buf, size_t len, size_t *off, const char *s)
{
	size_t n = strlen(s);

	if (*off + n >= len)
		return -ENOSPC;
	memcpy(buf + *off, s, n + 1);
	*off += n;
	return 0;
}

/* sh single quotes, and cron's '%' (a newline to cron) escaped. */
static int put_sh_word(char *buf, size_t len, size_t *off, const char *w)
{
	char c[2] = "";
	int err = put(buf, len, off, "'");

	for (const char *p = w; *p && !err; p++) {
		if (*p == '\'')
			err = put(buf, len, off, "'\\''");
		else if (*p == '%')
			err = put(buf, len, off, "\\%");
		else {
			c[0] = *p;
			err = put(buf, len, off, c);
		}
	}
	return err ? err : put(buf, len, off, "'");
}

/* systemd's ExecStart quoting, with its specifiers and variables escaped. */
static int put_unit_word(char *buf, size_t len, size_t *off, const char *w)
{
	char c[2] = "";
	int err = put(buf, len, off, "\"");

	for (const char *p = w; *p && !err; p++) {
		if (*p == '"' || *p == '\\') {
			c[0] = *p;
			err = put(buf, len, off, "\\");
			if (!err)
				err = put(buf, len, off, c);
		} else if (*p == '%') {
			err = put(buf, len, off, "%%");
		} else if (*p == '$') {
			err = put(buf, len, off, "$$");
		} else {
			c[0] = *p;
			err = put(buf, len, off, c);
		}
	}
	return err ? err : put(buf, len, off, "\"");
}

/* A newline (or any control character) would end the cron line or the
 * unit's directive and start one of the writer's choosing. */
static int schedule_words_check(const struct schedule *s)
{
	if (has_control(s->name) || has_control(s->cron))
		return -EINVAL;
	for (size_t i = 0; i < s->run_argc; i++)
		if (has_control(s->run_argv[i]))
			return -EINVAL;
	return 0;
}

/* What a scheduled run reads: the file, and a suite's experiment files.
 * Each must be root's alone to change; the digest covers them all. */
static int schedule_digest(const char *file, const struct exp_var *vars, size_t nvars,
			   char hex[65], char *why, size_t len)
{
	struct suite *su = NULL;
	struct exp_errors errs = { 0 };
	const char **paths = NULL;
	size_t n = 1;
	int err = suite_detect(file);

	if (err == 1) {
		err = suite_load(file, vars, nvars, &su, &errs);
		if (err) {
			snprintf(why, len, "%s", errs.n ? errs.msg[0] : strerror(-err));
			goto out;
		}
		n += su->nentries;
	}
	if (err < 0) {
		snprintf(why, len, "%s: %s", file, strerror(-err));
		goto out;
	}
	paths = calloc(n, sizeof(*paths));
	if (!paths) {
		err = -ENOMEM;
		goto out;
	}
	paths[0] = file;
	for (size_t i = 1; i < n; i++)
		paths[i] = su->entries[i - 1].file;
	for (size_t i = 0; i < n && !err; i++)
		err = path_trusted(paths[i], why, len);
	if (!err)
		err = files_sha256(paths, n, hex);
	if (err && err != -EPERM)
		snprintf(why, len, "%s: %s", file, strerror(-err));
out:
	free(paths);
	suite_free(su);
	return err;
}

int schedule_verify(const char *file, const char *sha256, const struct exp_var *vars, size_t nvars,
		    char *why, size_t len)
{
	char hex[65] = "";
	int err = schedule_digest(file, vars, nvars, hex, why, len);

	if (err)
		return err;
	if (strcmp(hex, sha256)) {
		snprintf(why, len, "%s changed since it was scheduled (SHA-256 %s, scheduled %s); "
			 "check the change and install the schedule again", file, hex, sha256);
		return -EPERM;
	}
	return 0;
}

int schedule_render_cron(const struct schedule *s, char *buf, size_t len)
{
	size_t off = 0;
	int err;

	if (schedule_words_check(s))
		return -EINVAL;
	snprintf(buf, len, "# tug schedule '%s': written by 'tug schedule install'; "
		 "'tug schedule remove %s' removes it\n%s root %s",
		 s->name, s->name, s->every == SCHEDULE_CRON ? s->cron : cron_spec[s->every],
		 s->every == SCHEDULE_CRON || !cron_guard[s->every] ? "" : cron_guard[s->every]);
	off = strlen(buf);
	for (size_t i = 0; i < s->run_argc; i++) {
		err = put_sh_word(buf, len, &off, s->run_argv[i]);
		if (!err)
			err = put(buf, len, &off, " ");
		if (err)
			return err;
	}
	err = put(buf, len, &off, ">>");
	if (!err) {
		char log[128];

		snprintf(log, sizeof(log), "/var/log/tug/%s.log 2>&1\n", s->name);
		err = put(buf, len, &off, log);
	}
	return err;
}

int schedule_render_systemd(const struct schedule *s, char *service, size_t slen,
			    char *timer, size_t tlen)
{
	size_t off;
	int err = 0;

	if (s->every == SCHEDULE_CRON || schedule_words_check(s))
		return -EINVAL;
	snprintf(service, slen,
		 "# Written by 'tug schedule install'; 'tug schedule remove %s' removes it.\n"
		 "[Unit]\nDescription=tug experiment %s\n\n[Service]\nType=oneshot\nExecStart=",
		 s->name, s->name);
	off = strlen(service);
	for (size_t i = 0; i < s->run_argc && !err; i++) {
		err = put_unit_word(service, slen, &off, s->run_argv[i]);
		if (!err && i + 1 < s->run_argc)
			err = put(service, slen, &off, " ");
	}
	if (!err)
		err = put(service, slen, &off, "\n");
	if (err)
		return err;
	if (snprintf(timer, tlen,
		     "# Written by 'tug schedule install'; 'tug schedule remove %s' removes it.\n"
		     "[Unit]\nDescription=tug experiment %s, %s\n\n"
		     "[Timer]\nOnCalendar=%s\nPersistent=true\n\n"
		     "[Install]\nWantedBy=timers.target\n",
		     s->name, s->name,
		     s->every == SCHEDULE_WEEKLY ? "weekly" :
		     s->every == SCHEDULE_MONTHLY ? "monthly" : "quarterly",
		     calendar[s->every]) >= (int)tlen)
		return -ENOSPC;
	return 0;
}

static const char *root(void)
{
	const char *r = getenv("TUG_SCHEDULE_ROOT");

	return r ? r : "";
}

static bool systemd_runs(void)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/run/systemd/system", root());
	return access(p, F_OK) == 0;
}

static int write_file(const char *path, const char *text)
{
	char why[512] = "";
	int err = safe_file_write(path, text, 0644, why, sizeof(why));

	if (err == -EPERM)
		log_error("%s", why);
	return err;
}

static int run_systemctl(char *const argv[])
{
	pid_t pid;
	int st;

	if (*root())
		return 0;	/* an image or a test: nothing to reload */
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execvp("systemctl", argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tug schedule install EXPERIMENT (--weekly | --monthly | --quarterly | --cron SPEC)\n"
		"                            [--name NAME] [--approve NAME ...] [--var K=V ...]\n"
		"                            [--db CONNINFO] [--report DIR]\n"
		"       tug schedule list\n"
		"       tug schedule remove NAME | EXPERIMENT\n\n"
		"Run an experiment on a calendar: a systemd timer (tug-NAME.timer) where systemd\n"
		"runs the machine, else a line in /etc/cron.d/tug-NAME. --cron always writes a\n"
		"cron line. The file is validated now, and must be root's alone: each run\n"
		"checks that it is unchanged. Runs log to /var/log/tug/NAME.log (cron) or\n"
		"the journal (systemd).\n\n"
		"The runbook's calendar, at 03:00: --weekly on Sundays, --monthly on the first\n"
		"Sunday of the month, --quarterly on the first Sunday of January, April, July\n"
		"and October.\n\n"
		"Approvals (--approve) hold for the next run, not for every later one: until\n"
		"--approvals-until YYYY-MM-DD, else 8 days (weekly), 36 (monthly) or 99\n"
		"(quarterly) from now; --cron needs --approvals-until. A run after that is\n"
		"refused before it touches anything and names who must approve again.\n\n"
		"Examples:\n"
		"  tug schedule install examples/federation/1-kill-gateway.yaml --weekly\n"
		"  tug schedule install examples/federation/suite.yaml --quarterly \\\n"
		"      --approve alice --approve bob --db service=tug\n"
		"  tug schedule install pg.yaml --cron '30 2 1 * *' --approve alice --approvals-until 2027-03-31\n"
		"  tug schedule remove examples/federation/1-kill-gateway.yaml\n");
}

static int install(int argc, char **argv)
{
	enum { OPT_WEEKLY = 1, OPT_MONTHLY, OPT_QUARTERLY, OPT_CRON, OPT_NAME, OPT_APPROVE,
	       OPT_VAR, OPT_DB, OPT_REPORT, OPT_HELP, OPT_UNTIL };
	static const struct option opts[] = {
		{ "weekly", no_argument, NULL, OPT_WEEKLY },
		{ "monthly", no_argument, NULL, OPT_MONTHLY },
		{ "quarterly", no_argument, NULL, OPT_QUARTERLY },
		{ "cron", required_argument, NULL, OPT_CRON },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "approve", required_argument, NULL, OPT_APPROVE },
		{ "var", required_argument, NULL, OPT_VAR },
		{ "db", required_argument, NULL, OPT_DB },
		{ "report", required_argument, NULL, OPT_REPORT },
		{ "help", no_argument, NULL, OPT_HELP },
		{ "approvals-until", required_argument, NULL, OPT_UNTIL },
		{},
	};
	struct schedule s = { .every = -1 };
	char expire[24], until_text[32];
	time_t until = 0;
	size_t napprovals = 0;
	char *run[64], exe[PATH_MAX], file[PATH_MAX], dir[PATH_MAX], sha[65], why[512];
	struct exp_var vars[16];
	struct experiment *e = NULL;
	struct suite *su = NULL;
	struct exp_errors errs = { 0 };
	size_t nrun = 0, nvars = 0;
	int opt, err, ret = 2, whens = 0, dfd;

	err = self_command(exe, sizeof(exe));
	if (err)
		return log_errno(err, "cannot find the tug command's path"), EXIT_FAILURE;
	run[nrun++] = exe;
	run[nrun++] = "run";
	run[nrun++] = file;
	optind = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (nrun >= 58) {
			log_error("too many options");
			return 2;
		}
		if (optarg && has_control(optarg)) {
			log_error("--%s: the value has a control character (a newline, a tab...), which "
				  "would end the cron line or unit directive; nothing was scheduled",
				  opts[opt - 1].name);
			return 2;
		}
		if (opt == OPT_DB && conninfo_check(optarg, NULL, 0, why, sizeof(why))) {
			log_error("--db: %s; nothing was scheduled", why);
			return 2;
		}
		switch (opt) {
		case OPT_WEEKLY:
		case OPT_MONTHLY:
		case OPT_QUARTERLY:
			s.every = opt == OPT_WEEKLY ? SCHEDULE_WEEKLY :
				  opt == OPT_MONTHLY ? SCHEDULE_MONTHLY : SCHEDULE_QUARTERLY;
			whens++;
			break;
		case OPT_CRON:
			if (schedule_check_cron(optarg) || strlen(optarg) >= sizeof(s.cron)) {
				log_error("--cron: '%s' is not five cron fields, like '0 3 * * 1'", optarg);
				return 2;
			}
			strcpy(s.cron, optarg);
			s.every = SCHEDULE_CRON;
			whens++;
			break;
		case OPT_NAME:
			if (schedule_check_name(optarg)) {
				log_error("--name: '%s' is not 1..63 of [a-z0-9-]", optarg);
				return 2;
			}
			strcpy(s.name, optarg);
			break;
		case OPT_VAR:
			if (!strchr(optarg, '=') || nvars == 16) {
				log_error("--var: '%s' is not K=V (at most 16)", optarg);
				return 2;
			}
			vars[nvars].name = strndup(optarg, strchr(optarg, '=') - optarg);
			vars[nvars].value = strchr(optarg, '=') + 1;
			nvars++;
			/* passed on to tug run as given, like the next three */
			__attribute__((fallthrough));
		case OPT_APPROVE:
		case OPT_DB:
		case OPT_REPORT:
			napprovals += opt == OPT_APPROVE;
			run[nrun++] = opt == OPT_APPROVE ? "--approve" : opt == OPT_VAR ? "--var" :
				      opt == OPT_DB ? "--db" : "--report";
			run[nrun++] = optarg;
			break;
		case OPT_UNTIL: {
			struct tm tm = { 0 };
			char *end = strptime(optarg, "%Y-%m-%d", &tm);

			if (!end || *end) {
				log_error("--approvals-until: '%s' is not a date like 2027-03-31", optarg);
				return 2;
			}
			tm.tm_hour = 23;
			tm.tm_min = 59;
			tm.tm_sec = 59;
			tm.tm_isdst = -1;
			until = mktime(&tm);
			if (until <= time(NULL)) {
				log_error("--approvals-until: %s has passed; give a later date", optarg);
				return 2;
			}
			break;
		}
		case OPT_HELP:
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		log_error("give exactly one EXPERIMENT file");
		goto out;
	}
	if (whens != 1) {
		log_error("give exactly one of --weekly, --monthly, --quarterly, --cron SPEC");
		goto out;
	}
	if (until && !napprovals) {
		log_error("--approvals-until: no --approve to limit");
		goto out;
	}
	if (napprovals && !until && s.every == SCHEDULE_CRON) {
		log_error("--cron with --approve: give --approvals-until YYYY-MM-DD (approvals hold "
			  "for the next run, not every later one); nothing was scheduled");
		goto out;
	}
	if (napprovals) {
		struct tm tm;

		if (!until)
			until = time(NULL) + (time_t)approval_days[s.every] * 86400;
		snprintf(expire, sizeof(expire), "%lld", (long long)until);
		strftime(until_text, sizeof(until_text), "%Y-%m-%d %H:%M", localtime_r(&until, &tm));
		run[nrun++] = "--approvals-expire";
		run[nrun++] = expire;
	}
	if (!realpath(argv[optind], file)) {
		log_errno(-errno, "EXPERIMENT: cannot open '%s'", argv[optind]);
		goto out;
	}
	if (has_control(file)) {
		log_error("EXPERIMENT: the path '%s' has a control character; nothing was scheduled",
			  file);
		goto out;
	}
	/* Each run executes what is then at this path, as root: only a file
	 * others cannot change is scheduled, and each run checks its hash. */
	err = schedule_digest(file, vars, nvars, sha, why, sizeof(why));
	if (err) {
		log_error("%s; nothing was scheduled", why);
		goto out;
	}
	run[nrun++] = "--expect-sha256";
	run[nrun++] = sha;
	/* A suite's entries are validated by each run, before it touches anything. */
	err = suite_detect(file);
	if (err == 1)
		err = suite_load(file, vars, nvars, &su, &errs);
	else if (!err)
		err = experiment_load(file, vars, nvars, &e, &errs);
	if (err) {
		for (size_t i = 0; i < errs.n; i++)
			log_error("%s", errs.msg[i]);
		if (!errs.n)
			log_errno(err, "cannot read %s", file);
		log_error("the experiment does not validate; nothing was scheduled");
		goto out;
	}
	if (!s.name[0] && schedule_name_for(file, s.name, sizeof(s.name))) {
		log_error("cannot make a name from '%s'; give --name", file);
		goto out;
	}
	s.run_argv = run;
	s.run_argc = nrun;

	if (s.every != SCHEDULE_CRON && systemd_runs()) {
		static char service[8192], timer[2048];
		char path[PATH_MAX], unit[96];

		err = schedule_render_systemd(&s, service, sizeof(service), timer, sizeof(timer));
		if (err) {
			log_errno(err, "the command line is too long");
			goto out;
		}
		snprintf(path, sizeof(path), "%s/etc/systemd/system/tug-%s.service", root(), s.name);
		err = write_file(path, service);
		snprintf(path, sizeof(path), "%s/etc/systemd/system/tug-%s.timer", root(), s.name);
		if (!err)
			err = write_file(path, timer);
		snprintf(unit, sizeof(unit), "tug-%s.timer", s.name);
		if (!err)
			err = run_systemctl((char *const[]){ "systemctl", "daemon-reload", NULL });
		if (!err)
			err = run_systemctl((char *const[]){ "systemctl", "enable", "--now", unit, NULL });
		if (err) {
			log_errno(err, "installing %s", unit);
			ret = EXIT_FAILURE;
			goto out;
		}
		printf("scheduled %s: systemd timer %s (%s)\n", s.name, unit, calendar[s.every]);
	} else {
		static char line[8192];
		char path[PATH_MAX];

		err = schedule_render_cron(&s, line, sizeof(line));
		if (err) {
			log_errno(err, "the command line is too long");
			goto out;
		}
		/* cron's shell appends to the log as root: no planted link there */
		snprintf(dir, sizeof(dir), "%s/var/log/tug", root());
		err = safe_dir_open(dir, true, &dfd, why, sizeof(why));
		if (err) {
			if (err == -EPERM)
				log_error("%s; nothing was scheduled", why);
			else
				log_errno(err, "cannot create %s", dir);
			goto out;
		}
		close(dfd);
		snprintf(path, sizeof(path), "%s/etc/cron.d/tug-%s", root(), s.name);
		err = write_file(path, line);
		if (err) {
			log_errno(err, "writing %s", path);
			ret = EXIT_FAILURE;
			goto out;
		}
		printf("scheduled %s: %s (%s)\n", s.name, path,
		       s.every == SCHEDULE_CRON ? s.cron : cron_spec[s.every]);
	}
	if (napprovals)
		printf("the approvals given hold until %s; a run after that is refused until "
		       "someone approves again (install it again with --approve)\n", until_text);
	ret = EXIT_SUCCESS;
out:
	experiment_free(e);
	suite_free(su);
	for (size_t i = 0; i < nvars; i++)
		free((char *)vars[i].name);
	return ret;
}

static int list_or_remove(const char *name)
{
	static const char *const dirs[] = { "/etc/systemd/system", "/etc/cron.d" };
	bool d_systemd = false;
	int found = 0;

	for (size_t d = 0; d < 2; d++) {
		char path[PATH_MAX];
		struct dirent *de;
		DIR *dir;

		snprintf(path, sizeof(path), "%s%s", root(), dirs[d]);
		dir = opendir(path);
		if (!dir)
			continue;
		while ((de = readdir(dir))) {
			char full[PATH_MAX + 256];
			const char *suffix;
			size_t n = strlen(de->d_name);

			if (strncmp(de->d_name, "tug-", 4) || strstr(de->d_name, ".tmp"))
				continue;
			suffix = d == 0 ? (n > 6 && !strcmp(de->d_name + n - 6, ".timer") ? ".timer" :
					   n > 8 && !strcmp(de->d_name + n - 8, ".service") ? ".service" : NULL) : "";
			if (!suffix)
				continue;
			if (name) {
				char want[128];

				snprintf(want, sizeof(want), "tug-%s%s", name, suffix);
				if (strcmp(de->d_name, want))
					continue;
				snprintf(full, sizeof(full), "%s/%s", path, de->d_name);
				d_systemd |= d == 0;
				if (d == 0 && !strcmp(suffix, ".timer"))
					run_systemctl((char *const[]){ "systemctl", "disable", "--now",
								       de->d_name, NULL });
				if (unlink(full))
					return log_errno(-errno, "removing %s", full), EXIT_FAILURE;
				printf("removed %s\n", full);
				found++;
				if (d == 0 && !strcmp(suffix, ".timer")) {
					/* Persistent=true: systemd keeps the last run's
					 * time in a stamp file that outlives the unit. */
					snprintf(full, sizeof(full), "%s/var/lib/systemd/timers/stamp-%s",
						 root(), de->d_name);
					if (unlink(full) == 0)
						printf("removed %s\n", full);
				}
			} else if (d == 1 || !strcmp(suffix, ".timer")) {
				printf("%s\t%s/%s\n", de->d_name, path, de->d_name);
				found++;
			}
		}
		closedir(dir);
	}
	if (name && !found) {
		log_error("no schedule '%s'; 'tug schedule list' shows them", name);
		return 2;
	}
	/* Without a reload systemd keeps the removed units loaded. */
	if (name && d_systemd)
		run_systemctl((char *const[]){ "systemctl", "daemon-reload", NULL });
	if (!name && !found)
		printf("no schedules\n");
	return EXIT_SUCCESS;
}

int cmd_schedule(int argc, char **argv, bool json)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : EXIT_SUCCESS;
	}
	if (!strcmp(argv[1], "install"))
		return install(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return list_or_remove(NULL);
	if (!strcmp(argv[1], "remove")) {
		char name[64];

		/* The NAME, or the EXPERIMENT file install was given (its name). */
		if (argc != 3 || (schedule_check_name(argv[2]) &&
				  (access(argv[2], F_OK) || schedule_name_for(argv[2], name, sizeof(name))))) {
			log_error("give the NAME of one schedule ('tug schedule list') or the "
				  "EXPERIMENT file it was installed from");
			return 2;
		}
		return list_or_remove(schedule_check_name(argv[2]) ? name : argv[2]);
	}
	log_error("'schedule %s': unknown; use install, list or remove", argv[1]);
	return 2;
}
