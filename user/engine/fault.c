// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "fault.h"
#include "journal.h"
#include "log.h"
#include "parse.h"

uint64_t now_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static uint64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

const struct fault_ops *fault_find(const char *family, const char *verb)
{
	for (const struct fault_ops *const *o = fault_table; *o; o++)
		if (!strcmp((*o)->family, family) && !strcmp((*o)->verb, verb))
			return *o;
	return NULL;
}

int fault_bad_option(const char *flag, const char *value, const char *expected)
{
	log_error("%s: '%s' is not %s", flag, value ? value : "", expected);
	return -EINVAL;
}

int fault_parse_common(struct fault *f, int opt, const char *arg)
{
	switch (opt) {
	case FAULT_OPT_FOR:
		if (parse_duration(arg, &f->duration_ns) || !f->duration_ns)
			return fault_bad_option("--for", arg,
						"a duration with a unit, like 250ms, 30s, 5m or 1h");
		return 0;
	case FAULT_OPT_HEARTBEAT:
		if (parse_duration(arg, &f->heartbeat_ns) || f->heartbeat_ns < 10 * NSEC_PER_MSEC)
			return fault_bad_option("--heartbeat", arg,
						"a duration of at least 10ms, like 500ms or 3s");
		return 0;
	case FAULT_OPT_JSON:
		f->json = true;
		return 0;
	case FAULT_OPT_QUIET:
		f->quiet = true;
		return 0;
	case FAULT_OPT_HELP:
		return 1;
	case '?':
		/* getopt already said which option it did not know. */
		return -EINVAL;
	default:
		log_error("option code %d is declared but not handled (a bug in tug %s %s)",
			  opt, f->ops->family, f->ops->verb);
		return -EINVAL;
	}
}

int fault_parse_done(int argc, char **argv)
{
	if (optind < argc) {
		log_error("unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

void fault_usage(const struct fault_ops *ops, FILE *out)
{
	fprintf(out, "usage: tug %s %s [options]\n\n%s\n\n%s\nCommon options:\n%s",
		ops->family, ops->verb, ops->summary, ops->usage, FAULT_COMMON_USAGE);
}

static json_object *fault_counters_json(struct fault *f)
{
	struct fault_counter c[FAULT_MAX_COUNTERS];
	json_object *o = json_object_new_object();
	int n;

	if (!f->ops->counters)
		return o;
	n = f->ops->counters(f, c, FAULT_MAX_COUNTERS);
	for (int i = 0; i < n; i++)
		json_object_object_add(o, c[i].name, json_object_new_int64(c[i].value));
	return o;
}

void fault_emit(struct fault *f, enum tug_event event, json_object *extra)
{
	uint64_t now = now_realtime_ns();

	if (f->json) {
		json_object *o = json_object_new_object();
		char what[64];

		snprintf(what, sizeof(what), "%s %s", f->ops->family, f->ops->verb);
		json_object_object_add(o, EVF_EVENT, json_object_new_string(event_name(event)));
		json_object_object_add(o, EVF_ID, json_object_new_string(f->id));
		json_object_object_add(o, EVF_FAULT, json_object_new_string(what));
		json_object_object_add(o, EVF_TS, json_object_new_int64(now / NSEC_PER_MSEC));
		if (extra) {
			json_object_object_foreach(extra, k, v)
				json_object_object_add(o, k, json_object_get(v));
		}
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		printf("%s %s %s: %s", f->ops->family, f->ops->verb, f->id, event_name(event));
		if (extra) {
			json_object_object_foreach(extra, k, v) {
				if (json_object_is_type(v, json_type_object) ||
				    json_object_is_type(v, json_type_array))
					printf("  %s=%s", k, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
				else
					printf("  %s=%s", k, json_object_get_string(v));
			}
		}
		printf("\n");
	}
	fflush(stdout);
}

static int random_id(char id[FAULT_ID_LEN])
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		return -errno;
	snprintf(id, FAULT_ID_LEN, "%08" PRIx32, r);
	return 0;
}

static json_object *fault_entry(struct fault *f)
{
	json_object *e = json_object_new_object();
	uint64_t start = 0;

	proc_start_time(getpid(), &start);
	json_object_object_add(e, "id", json_object_new_string(f->id));
	json_object_object_add(e, "family", json_object_new_string(f->ops->family));
	json_object_object_add(e, "verb", json_object_new_string(f->ops->verb));
	json_object_object_add(e, "owner_pid", json_object_new_int64(getpid()));
	json_object_object_add(e, "owner_start", json_object_new_int64(start));
	json_object_object_add(e, "started_ns", json_object_new_int64(f->started_ns));
	json_object_object_add(e, "deadline_ns", json_object_new_int64(f->deadline_ns));
	json_object_object_add(e, "argv", json_object_get(f->argv));
	json_object_object_add(e, "params", json_object_get(f->params));
	json_object_object_add(e, "state", json_object_get(f->state));
	return e;
}

int fault_journal_update(struct fault *f)
{
	json_object *e = fault_entry(f);
	int err = journal_write(e, f->persistent);

	json_object_put(e);
	return err;
}

int fault_recover_entry(json_object *entry)
{
	const char *family = json_get_str(entry, "family", "?");
	const char *verb = json_get_str(entry, "verb", "?");
	const struct fault_ops *ops = fault_find(family, verb);

	if (!ops)
		return -EOPNOTSUPP;
	return ops->recover ? ops->recover(entry) : 0;
}

/*
 * The guardian outlives a controller that dies without reverting: it waits
 * on the controller's pidfd and undoes the journal entry if one is left.
 * It leaves the session and closes every inherited descriptor, so neither a
 * Ctrl-C to the foreground group nor a held BPF link keeps it or the fault
 * alive longer than the controller.
 */
static int guardian_spawn(struct fault *f)
{
	int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	pid_t pid;

	if (pidfd < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pidfd);
		return -errno;
	}
	if (pid == 0) {
		struct pollfd p = { .fd = 3, .events = POLLIN };
		int null = open("/dev/null", O_RDWR);
		json_object *e;

		setsid();
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		sigset_t all;
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		prctl(PR_SET_NAME, "tug-guardian");
		dup2(null, 0);
		dup2(null, 1);
		dup2(pidfd, 3);
		close_range(4, ~0U, 0);
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		if (journal_load(f->id, &e) == 0) {
			int err = fault_recover_entry(e);

			if (err)
				log_errno(err, "guardian: could not revert fault %s", f->id);
			else
				log_warn("guardian: controller of fault %s died; reverted it", f->id);
			journal_remove(f->id);
			json_object_put(e);
		}
		_exit(0);
	}
	close(pidfd);
	log_debug("guardian pid %d watches fault %s", pid, f->id);
	return 0;
}

static int timer_at(uint64_t mono_ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = mono_ns / NSEC_PER_SEC, .tv_nsec = mono_ns % NSEC_PER_SEC },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void print_progress(struct fault *f, uint64_t left_ns, bool tty)
{
	struct fault_counter c[FAULT_MAX_COUNTERS];
	int n = f->ops->counters ? f->ops->counters(f, c, FAULT_MAX_COUNTERS) : 0;

	if (f->json) {
		json_object *x = json_object_new_object();

		json_object_object_add(x, "left_ms", json_object_new_int64(left_ns / NSEC_PER_MSEC));
		json_object_object_add(x, "counters", fault_counters_json(f));
		fault_emit(f, EV_PROGRESS, x);
		json_object_put(x);
		return;
	}
	printf("%s  %5.1fs left", tty ? "\r" : "", left_ns / 1e9);
	for (int i = 0; i < n; i++)
		printf("  %s %" PRIu64, c[i].name, c[i].value);
	printf(tty ? "   " : "\n");
	fflush(stdout);
}

/* Hold the fault until the deadline, a signal, or a silent orchestrator.
 * Returns a static string naming why the hold ended. */
static const char *fault_hold(struct fault *f, uint64_t deadline_mono, int sfd)
{
	bool tty = isatty(STDOUT_FILENO);
	bool progress = !f->quiet && (tty || f->json);
	int deadline_fd = timer_at(deadline_mono);
	int tick_fd = -1, hb_fd = -1;
	uint64_t last_hb = now_mono_ns();
	const char *why = NULL;
	struct pollfd p[6];

	if (deadline_fd < 0)
		return "timer failure";
	if (progress) {
		struct itimerspec its = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };

		tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (tick_fd >= 0)
			timerfd_settime(tick_fd, 0, &its, NULL);
	}
	if (f->heartbeat_ns)
		hb_fd = timer_at(last_hb + f->heartbeat_ns);

	while (!why) {
		int n = 0;

		p[n++] = (struct pollfd){ .fd = deadline_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = tick_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = f->heartbeat_ns ? STDIN_FILENO : -1, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = f->end_fd, .events = POLLIN };
		p[n++] = (struct pollfd){ .fd = f->on_event ? f->event_fd : -1, .events = POLLIN };
		if (poll(p, n, f->heartbeat_ns ? 50 : -1) < 0) {
			if (errno == EINTR)
				continue;
			why = "poll failure";
			break;
		}
		if (p[0].revents & POLLIN) {
			why = "deadline";
		} else if (p[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				why = si.ssi_signo == SIGINT ? "SIGINT" :
				      si.ssi_signo == SIGHUP ? "SIGHUP" : "SIGTERM";
		}
		if (!why && (p[3].revents & (POLLIN | POLLHUP))) {
			char buf[256];
			ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));

			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
				why = "heartbeat channel closed";
			else if (r > 0)
				last_hb = now_mono_ns();
		}
		if (!why && (p[4].revents & (POLLIN | POLLHUP)))
			why = f->end_reason ? f->end_reason : "ended by the fault itself";
		if (p[5].revents & POLLIN)
			f->on_event(f, f->event_ctx);
		if (!why && f->heartbeat_ns && now_mono_ns() - last_hb > f->heartbeat_ns)
			why = "heartbeat lost";
		if (!why && tick_fd >= 0 && (p[2].revents & POLLIN)) {
			uint64_t ticks, now = now_mono_ns();

			if (read(tick_fd, &ticks, sizeof(ticks)) < 0)
				ticks = 0;
			print_progress(f, deadline_mono > now ? deadline_mono - now : 0, tty);
		}
	}
	if (progress && tty && !f->json)
		printf("\n");
	close(deadline_fd);
	if (tick_fd >= 0)
		close(tick_fd);
	if (hb_fd >= 0)
		close(hb_fd);
	return why;
}

static json_object *argv_json(int argc, char **argv)
{
	json_object *a = json_object_new_array();

	for (int i = 0; i < argc; i++)
		json_object_array_add(a, json_object_new_string(argv[i]));
	return a;
}

int fault_run(const struct fault_ops *ops, int argc, char **argv, bool json)
{
	struct fault f = { .ops = ops, .json = json, .end_fd = -1, .event_fd = -1 };
	struct tug_config cfg;
	const char *why;
	sigset_t mask;
	uint64_t deadline_mono;
	char dur[32], desc[1024] = "";
	bool applied = false;
	int ret = EXIT_FAILURE, err, sfd = -1;

	f.params = json_object_new_object();
	f.state = json_object_new_object();
	f.argv = argv_json(argc, argv);
	f.priv = calloc(1, ops->priv_size ? ops->priv_size : 1);
	if (!f.params || !f.state || !f.argv || !f.priv) {
		log_error("out of memory");
		goto cleanup;
	}
	if (config_load(&cfg)) {
		ret = 2;
		goto cleanup;
	}
	f.duration_ns = cfg.default_for_ns;

	/* 0, not 1: glibc then forgets main's "+" (stop at the first non-option). */
	optind = 0;
	err = ops->parse(&f, argc, argv);
	if (err == 1) {
		fault_usage(ops, stdout);
		ret = EXIT_SUCCESS;
		goto cleanup;
	}
	if (err) {
		log_error("nothing was changed; see 'tug %s %s --help'", ops->family, ops->verb);
		ret = 2;
		goto cleanup;
	}
	if (f.duration_ns > cfg.max_for_ns) {
		char max[32];

		log_error("--for: %s is above the configured maximum of %s (max-for in "
			  "/etc/tug/tug.conf); nothing was changed",
			  format_duration(f.duration_ns, dur, sizeof(dur)),
			  format_duration(cfg.max_for_ns, max, sizeof(max)));
		ret = 2;
		goto cleanup;
	}
	err = ops->prepare ? ops->prepare(&f) : 0;
	if (err) {
		log_error("nothing was changed; see 'tug %s %s --help'", ops->family, ops->verb);
		ret = 2;
		goto cleanup;
	}
	json_object_object_add(f.params, "for_ms", json_object_new_int64(f.duration_ns / NSEC_PER_MSEC));

	/* From here on a signal must not kill us half way: it ends the hold. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		log_errno(-errno, "signalfd");
		goto cleanup;
	}

	err = random_id(f.id);
	if (err) {
		log_errno(err, "cannot make a fault id");
		goto cleanup;
	}
	f.started_ns = now_realtime_ns();
	f.deadline_ns = f.started_ns + f.duration_ns;
	err = fault_journal_update(&f);
	if (err) {
		log_errno(err, "cannot write the journal entry under %s", journal_run_dir());
		goto cleanup;
	}
	if (f.needs_guardian) {
		err = guardian_spawn(&f);
		if (err) {
			log_errno(err, "cannot start the guardian; not applying");
			journal_remove(f.id);
			goto cleanup;
		}
	}

	deadline_mono = now_mono_ns() + f.duration_ns;
	err = ops->apply(&f);
	if (err) {
		log_errno(err, "%s %s failed; nothing is left applied", ops->family, ops->verb);
		journal_remove(f.id);
		goto cleanup;
	}
	applied = true;
	f.started_ns = now_realtime_ns();
	f.deadline_ns = f.started_ns + f.duration_ns;
	deadline_mono = now_mono_ns() + f.duration_ns;
	/* apply may have learned what revert needs (link ids, map ids). */
	err = fault_journal_update(&f);
	if (err)
		log_errno(err, "cannot update the journal entry of %s", f.id);

	{
		json_object *x = json_object_new_object();

		if (ops->describe)
			ops->describe(&f, desc, sizeof(desc));
		json_object_object_add(x, "for", json_object_new_string(format_duration(f.duration_ns, dur, sizeof(dur))));
		json_object_object_add(x, "deadline_ms", json_object_new_int64(f.deadline_ns / NSEC_PER_MSEC));
		if (f.json) {
			json_object_object_add(x, "params", json_object_get(f.params));
			json_object_object_add(x, "state", json_object_get(f.state));
			fault_emit(&f, EV_APPLIED, x);
		} else {
			time_t until = f.deadline_ns / NSEC_PER_SEC;
			char hhmmss[16];

			strftime(hhmmss, sizeof(hhmmss), "%H:%M:%S", localtime(&until));
			printf("%s %s %s: holding %s for %s, until %s (Ctrl-C reverts; 'tug status' shows it)\n",
			       ops->family, ops->verb, f.id, *desc ? desc : "the fault", dur, hhmmss);
			fflush(stdout);
		}
		json_object_put(x);
	}

	why = fault_hold(&f, deadline_mono, sfd);

	{
		json_object *x = json_object_new_object();
		uint64_t held = now_realtime_ns() - f.started_ns;

		json_object_object_add(x, "counters", fault_counters_json(&f));
		err = ops->revert(&f);
		applied = false;
		json_object_object_add(x, "reason", json_object_new_string(why));
		json_object_object_add(x, "held_ms", json_object_new_int64(held / NSEC_PER_MSEC));
		json_object_object_add(x, "ok", json_object_new_boolean(!err));
		if (f.json) {
			fault_emit(&f, EV_REVERTED, x);
		} else {
			printf("%s %s %s: %s after %.1fs (%s)", ops->family, ops->verb, f.id,
			       err ? "REVERT FAILED" : "reverted", held / 1e9, why);
			json_object_object_foreach(json_get(x, "counters"), k, v)
				printf("  %s %s", k, json_object_get_string(v));
			printf("\n");
			fflush(stdout);
		}
		json_object_put(x);
	}
	if (err) {
		log_errno(err, "revert of %s failed; the journal entry stays for 'tug recover'", f.id);
		goto cleanup;
	}
	journal_remove(f.id);
	ret = f.failed ? EXIT_FAILURE : EXIT_SUCCESS;
cleanup:
	if (applied) {
		ops->revert(&f);
		journal_remove(f.id);
	}
	if (ops->destroy && f.priv)
		ops->destroy(&f);
	if (sfd >= 0)
		close(sfd);
	free(f.priv);
	json_object_put(f.params);
	json_object_put(f.state);
	json_object_put(f.argv);
	return ret;
}

int fault_read_percpu_counters(int map_fd, const char *const *names, int n,
			       struct fault_counter *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		uint32_t key = i;

		out[i].name = names[i];
		out[i].value = 0;
		if (bpf_map_lookup_elem(map_fd, &key, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[i].value += vals[c];
	}
	free(vals);
	return n;
}
