// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "expedite.h"
#include "json.h"
#include "fault.h"
#include "journal.h"
#include "log.h"
#include "parse.h"
#include "spawn.h"

static int clock_timer_at(clockid_t clk, uint64_t ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = ns / NSEC_PER_SEC, .tv_nsec = ns % NSEC_PER_SEC },
	};
	int fd = timerfd_create(clk, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static int timer_at(uint64_t mono_ns)
{
	return clock_timer_at(CLOCK_MONOTONIC, mono_ns);
}

static int boot_timer_at(uint64_t boot_ns)
{
	return clock_timer_at(CLOCK_BOOTTIME, boot_ns);
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

/* An action's common options: --json and --help; '?' was logged by getopt. */
static int action_parse_common(int opt, bool *json)
{
	if (opt == FAULT_OPT_JSON)
		*json = true;
	return opt == FAULT_OPT_JSON ? 0 : opt == FAULT_OPT_HELP ? 1 : -EINVAL;
}

/* The loop of fault_getopt, fault_getopt_cmd and action_getopt: F for a
 * fault, else JSON; CMD, when not NULL, takes what follows "--". */
static int verb_getopt(struct fault *f, bool *json, char ***cmd, int argc, char **argv,
		       const struct option *opts, int *ret)
{
	int opt;

	*ret = 0;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt != '?' && (opt < FAULT_OPT_FOR || opt > FAULT_OPT_QUIET))
			return opt;
		*ret = f ? fault_parse_common(f, opt, optarg) : action_parse_common(opt, json);
		if (*ret)
			return -1;
	}
	if (cmd && optind < argc) {
		/* getopt stops at "--": what follows is the command. */
		if (strcmp(argv[optind - 1], "--")) {
			log_error("unexpected argument '%s'; put the command after '--'", argv[optind]);
			*ret = -EINVAL;
		} else {
			*cmd = &argv[optind];
		}
		return -1;
	}
	*ret = fault_parse_done(argc, argv);
	return -1;
}

int fault_getopt(struct fault *f, int argc, char **argv, const struct option *opts, int *ret)
{
	return verb_getopt(f, NULL, NULL, argc, argv, opts, ret);
}

int fault_getopt_cmd(struct fault *f, int argc, char **argv, const struct option *opts,
		     char ***cmd, int *ret)
{
	return verb_getopt(f, NULL, cmd, argc, argv, opts, ret);
}

int action_getopt(int argc, char **argv, const struct option *opts, bool *json, int *ret)
{
	return verb_getopt(NULL, json, NULL, argc, argv, opts, ret);
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
	json_object *ids = json_object_new_object();
	char what[64], who[96];

	snprintf(what, sizeof(what), "%s %s", f->ops->family, f->ops->verb);
	snprintf(who, sizeof(who), "%s %s", what, f->id);
	json_object_object_add(ids, EVF_ID, json_object_new_string(f->id));
	json_object_object_add(ids, EVF_FAULT, json_object_new_string(what));
	event_print(f->json, who, ids, event, extra);
	json_object_put(ids);
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
	json_object_object_add(e, "deadline_boot_ns", json_object_new_int64(f->deadline_boot_ns));
	json_object_object_add(e, "kernel_owned", json_object_new_boolean(!f->needs_guardian));
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

void fault_add_knob(struct fault *f, const char *fmt, ...)
{
	json_object *arr;
	char buf[4200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!json_object_object_get_ex(f->state, "knobs", &arr)) {
		arr = json_object_new_array();
		json_object_object_add(f->state, "knobs", arr);
	}
	json_object_array_add(arr, json_object_new_string(buf));
}

static bool knobs_overlap(json_object *a, json_object *b, const char **ret_knob)
{
	for (size_t i = 0; a && i < json_object_array_length(a); i++) {
		const char *x = json_object_get_string(json_object_array_get_idx(a, i));

		for (size_t j = 0; b && j < json_object_array_length(b); j++) {
			if (!strcmp(x, json_object_get_string(json_object_array_get_idx(b, j)))) {
				*ret_knob = x;
				return true;
			}
		}
	}
	return false;
}

/*
 * Stacked faults are refused: a second fault on a knob would record the
 * first one's value as "previous" and restore it, or the first would leave
 * alone what it found changed, and a limit would outlive both. Refusal
 * names the live fault and how to end it. An entry whose owner died still
 * holds its knob until the guardian or `tug recover` has undone it; one
 * the kernel ended (kernel_owned, owner dead) was swept before this.
 * Returns 0, -EBUSY (logged) or -errno.
 */
int fault_check_knobs(struct fault *f)
{
	json_object *mine = json_get(f->state, "knobs"), *list;
	int err = 0;

	if (!mine)
		return 0;
	err = journal_list(&list);
	if (err)
		return log_errno(err, "reading the journal"), err;
	for (size_t i = 0; i < json_object_array_length(list) && !err; i++) {
		json_object *e = json_object_array_get_idx(list, i);
		const char *knob, *id = json_get_str(e, "id", "?");

		if (!knobs_overlap(mine, json_get(json_get(e, "state"), "knobs"), &knob))
			continue;
		if (journal_owner_alive(e))
			log_error("%s is held by live fault %s (%s %s, pid %" PRId64 "); tug does not "
				  "stack faults on one knob: end it with 'tug revert %s' or wait for its "
				  "deadline; nothing was changed", knob, id, json_get_str(e, "family", "?"),
				  json_get_str(e, "verb", "?"), json_get_int(e, "owner_pid", 0), id);
		else
			log_error("%s is still held by fault %s, whose controller died; 'tug recover' "
				  "(or 'tug revert %s') undoes it; nothing was changed", knob, id, id);
		err = -EBUSY;
	}
	json_object_put(list);
	return err;
}

/*
 * The guardian: a small process forked for every fault, right before its
 * journal entry is written. It ends the fault when the controller cannot:
 *
 *   - the controller dies with the entry still there (SIGKILL, a crash):
 *     the guardian undoes the entry (fault_recover_entry) and removes it,
 *     so neither the fault nor its listing in `tug status` outlives it;
 *   - the controller is alive but has not begun to revert GUARDIAN_GRACE
 *     after the deadline (SIGSTOP, Ctrl-Z, a debugger, a frozen cgroup,
 *     starvation): the guardian SIGKILLs it through its pidfd, then does
 *     the same. A controller still applying or already reverting is given
 *     up to GUARDIAN_REVERT_MAX past the deadline unless it is stopped.
 *
 * The controller talks to it through a pipe: 'a' when the fault is applied
 * and the hold begins (with the deadline, which counts from there), 'r'
 * when the hold ends, and EOF (the write end closed) once its entry is
 * gone. The guardian leaves the session and
 * closes every other inherited descriptor, so neither a
 * Ctrl-C to the foreground group nor a held BPF link keeps it or the fault
 * alive longer than the controller.
 */
#define GUARDIAN_GRACE (200 * NSEC_PER_MSEC)
#define GUARDIAN_REVERT_MAX (5 * NSEC_PER_SEC)
#define GUARDIAN_APPLY_MAX (120 * NSEC_PER_SEC)	/* a hog's fill may take that */
#define GUARDIAN_TICK (50 * NSEC_PER_MSEC)

struct guardian_msg {
	char phase;		/* 'a' applied, 'r' reverting */
	uint64_t deadline_boot_ns;
};

static int guardian_wait_exit(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	int r;

	while ((r = poll(&p, 1, 5000)) < 0 && errno == EINTR)
		;
	return r > 0 ? 0 : -ETIMEDOUT;
}

/* Is the process stopped (SIGSTOP, Ctrl-Z, a tracer)? */
static bool proc_stopped(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && (p[2] == 'T' || p[2] == 't');
}

static void guardian_arm(int tfd, uint64_t deadline_boot_ns)
{
	struct itimerspec its = {
		.it_value = { .tv_sec = (deadline_boot_ns + GUARDIAN_GRACE) / NSEC_PER_SEC,
			      .tv_nsec = (deadline_boot_ns + GUARDIAN_GRACE) % NSEC_PER_SEC },
		.it_interval = { .tv_nsec = GUARDIAN_TICK },
	};

	if (tfd >= 0)
		timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/*
 * Past deadline + grace, the timer ticks every GUARDIAN_TICK: a controller
 * in its hold loop has no excuse (it wakes at the deadline) and goes at
 * once; one still applying (against the provisional deadline) or reverting
 * goes when it is stopped, or GUARDIAN_APPLY_MAX / GUARDIAN_REVERT_MAX past
 * the deadline whatever it does.
 */
static void guardian_main(const char *id, uint64_t deadline_boot_ns, pid_t owner)
{
	enum { APPLYING, HOLDING, REVERTING } phase = APPLYING;
	struct pollfd p[3] = {
		{ .fd = 3, .events = POLLIN },	/* the controller's pidfd */
		{ .fd = 4, .events = POLLIN },	/* its pipe */
		{ .fd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK), .events = POLLIN },
	};
	bool killed = false;
	json_object *e;

	guardian_arm(p[2].fd, deadline_boot_ns);
	while (!killed) {
		struct guardian_msg m;
		uint64_t ticks, now;

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & POLLIN)
			break;
		if (p[1].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(4, &m, sizeof(m));

			if (n <= 0 && !(n < 0 && errno == EINTR))
				break;	/* EOF: the controller is done with the entry */
			if (n == sizeof(m) && m.phase == 'a') {
				phase = HOLDING;
				deadline_boot_ns = m.deadline_boot_ns;
				guardian_arm(p[2].fd, deadline_boot_ns);
			} else if (n == sizeof(m) && m.phase == 'r') {
				phase = REVERTING;
			}
		}
		if (!(p[2].revents & POLLIN) || read(p[2].fd, &ticks, sizeof(ticks)) < 0)
			continue;
		now = now_boot_ns();
		if (phase == HOLDING || proc_stopped(owner) ||
		    now > deadline_boot_ns + (phase == APPLYING ? GUARDIAN_APPLY_MAX : GUARDIAN_REVERT_MAX)) {
			/* The deadline is law: a controller that cannot revert goes. */
			if (syscall(SYS_pidfd_send_signal, 3, SIGKILL, NULL, 0) == 0) {
				killed = true;
				guardian_wait_exit(3);
			}
		}
	}
	if (journal_load(id, &e) == 0) {
		int err = fault_recover_entry(e);

		if (err)
			log_errno(err, "guardian: could not revert fault %s", id);
		else if (killed)
			log_warn("guardian: the controller (pid %d) of fault %s had not reverted "
				 "by its deadline; killed it and reverted the fault", owner, id);
		else
			log_warn("guardian: controller of fault %s died; reverted it", id);
		if (!err)
			journal_remove(id);
		json_object_put(e);
	} else {
		journal_remove(id);	/* a write the controller's death cut short */
	}
	/* A controller killed in the milliseconds it expedited RCU grace
	 * periods for a tcx attach or detach left the knob on (expedite.h). */
	if (rcu_expedite_heal() > 0)
		log_warn("guardian: the controller of fault %s died while it expedited RCU grace "
			 "periods; put /sys/kernel/rcu_expedited back to 0", id);
}

struct guardian_args {
	const char *id;
	uint64_t deadline_boot_ns;
	pid_t owner;
};

static int guardian_child(void *arg)
{
	const struct guardian_args *a = arg;

	guardian_main(a->id, a->deadline_boot_ns, a->owner);
	return 0;
}

/* Forked, not waited for: its setup (a new session, the descriptors)
 * overlaps the journal write and the family's load; guardian_confirm
 * waits for it before anything is applied. */
static int guardian_spawn(struct fault *f)
{
	struct guardian_args a = { .id = f->id, .deadline_boot_ns = f->deadline_boot_ns, .owner = getpid() };
	int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	int pfd[2] = { -1, -1 }, err = 0;

	if (pidfd < 0)
		return -errno;
	if (pipe2(pfd, O_CLOEXEC)) {
		err = -errno;
		goto cleanup;
	}
	err = spawn_start(&(struct spawn_opts){
			    .fds = { { SPAWN_DEVNULL, 0 }, { SPAWN_DEVNULL, 1 }, { pidfd, 3 }, { pfd[0], 4 } },
			    .n_fds = 4,
			    .new_session = true,
			    .outlive_stop = true,
			    .name = "tug-guardian",
			    .fn = guardian_child,
			    .arg = &a,
		    }, &f->guardian_pid, &f->guardian_setup);
	if (err)
		goto cleanup;
	f->guardian_fd = pfd[1];
	pfd[1] = -1;
	log_debug("guardian pid %d watches fault %s", f->guardian_pid, f->id);
cleanup:
	close(pidfd);
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	return err;
}

/* 0 once the guardian runs guardian_main, or the -errno its setup failed
 * with (then it is gone). */
static int guardian_confirm(struct fault *f)
{
	int err = 0;

	if (f->guardian_setup >= 0)
		err = spawn_finish(f->guardian_pid, f->guardian_setup);
	f->guardian_setup = -1;
	return err;
}

/* Tell the guardian where the controller is: 'a' applied (with the final
 * deadline), 'r' reverting. One write under PIPE_BUF: atomic. */
static void guardian_tell(struct fault *f, char phase)
{
	struct guardian_msg m = { .phase = phase, .deadline_boot_ns = f->deadline_boot_ns };

	if (f->guardian_fd >= 0 && write(f->guardian_fd, &m, sizeof(m)) != sizeof(m))
		log_debug("guardian pipe: %s", strerror(errno));
}

/* The entry is gone (or left for `tug recover` after a failed revert): the
 * guardian checks once more and exits. */
static void guardian_release(struct fault *f)
{
	guardian_confirm(f);	/* (the descriptor, where nothing was applied) */
	if (f->guardian_fd >= 0)
		close(f->guardian_fd);
	f->guardian_fd = -1;
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
static const char *fault_hold(struct fault *f, int sfd)
{
	bool tty = isatty(STDOUT_FILENO);
	bool progress = !f->quiet && (tty || f->json);
	int deadline_fd = boot_timer_at(f->deadline_boot_ns);
	int tick_fd = -1, hb_fd = -1;
	uint64_t last_hb = mono_ns();
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
				last_hb = mono_ns();
		}
		if (!why && (p[4].revents & (POLLIN | POLLHUP)))
			why = f->end_reason ? f->end_reason : "ended by the fault itself";
		if (p[5].revents & POLLIN)
			f->on_event(f, f->event_ctx);
		if (!why && f->heartbeat_ns && mono_ns() - last_hb > f->heartbeat_ns)
			why = "heartbeat lost";
		if (!why && tick_fd >= 0 && (p[2].revents & POLLIN)) {
			uint64_t ticks, now = now_boot_ns();

			if (read(tick_fd, &ticks, sizeof(ticks)) < 0)
				ticks = 0;
			print_progress(f, f->deadline_boot_ns > now ? f->deadline_boot_ns - now : 0, tty);
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
	struct fault f = { .ops = ops, .json = json, .end_fd = -1, .event_fd = -1, .guardian_fd = -1,
			   .guardian_setup = -1 };
	struct tug_config cfg;
	const char *why;
	char dur[32], desc[1024] = "", prog[64];
	bool applied = false;
	int ret = EXIT_FAILURE, err, sfd = -1, lock = -1;

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
	f.expedite_rcu = cfg.expedite_rcu;

	/* 0, not 1: glibc then forgets main's "+" (stop at the first non-option). */
	optind = 0;
	/* getopt names the command in its own messages by argv[0]. */
	snprintf(prog, sizeof(prog), "tug %s %s", ops->family, ops->verb);
	argv[0] = prog;
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
	log_stamp("parsed");
	err = ops->prepare ? ops->prepare(&f) : 0;
	log_stamp("prepared");
	if (err) {
		log_error("nothing was changed; see 'tug %s %s --help'", ops->family, ops->verb);
		ret = 2;
		goto cleanup;
	}
	json_object_object_add(f.params, "for_ms", json_object_new_int64(f.duration_ns / NSEC_PER_MSEC));

	/* From here on a signal must not kill us half way: it ends the hold. */
	sfd = stop_signals_fd();
	if (sfd < 0) {
		log_errno(sfd, "signalfd");
		goto cleanup;
	}

	err = random_id(f.id);
	if (err) {
		log_errno(err, "cannot make a fault id");
		goto cleanup;
	}
	/* One lock from the knob check to the journal entry: two starts on one
	 * knob cannot both find it free. */
	lock = journal_lock();
	if (lock < 0) {
		log_errno(lock, "cannot lock the journal under %s", journal_run_dir());
		goto cleanup;
	}
	journal_sweep();
	err = fault_check_knobs(&f);
	if (err) {
		ret = err == -EBUSY ? 2 : EXIT_FAILURE;
		goto cleanup;
	}
	/* A provisional deadline, for whatever apply loads and for the
	 * guardian, should the controller stop or die before apply ends. */
	f.started_ns = now_realtime_ns();
	f.deadline_boot_ns = now_boot_ns() + f.duration_ns;
	f.deadline_ns = f.started_ns + f.duration_ns;
	/* The guardian first: a death at any moment after this, the entry's
	 * write included, leaves no entry without someone to clear it. */
	log_stamp("knobs checked");
	err = guardian_spawn(&f);
	log_stamp("guardian started");
	if (err) {
		log_errno(err, "cannot start the guardian; not applying");
		goto cleanup;
	}
	err = fault_journal_update(&f);
	close(lock);
	lock = -1;
	if (err) {
		log_errno(err, "cannot write the journal entry under %s", journal_run_dir());
		goto cleanup;
	}

	log_stamp("journal written");
	err = ops->load ? ops->load(&f) : 0;
	if (!err) {
		err = guardian_confirm(&f);
		log_stamp("guardian ready");
		if (err)
			log_errno(err, "the guardian did not start; not applying");
	}
	if (!err)
		err = ops->apply(&f);
	log_stamp("applied");
	if (err) {
		log_errno(err, "%s %s failed; nothing is left applied", ops->family, ops->verb);
		journal_remove(f.id);
		goto cleanup;
	}
	applied = true;
	/* --for counts from here: a slow apply does not shorten the fault.
	 * The one deadline moves for the hold, the BPF programs and the
	 * guardian (told below, with the hold). */
	f.started_ns = now_realtime_ns();
	f.deadline_boot_ns = now_boot_ns() + f.duration_ns;
	f.deadline_ns = f.started_ns + f.duration_ns;
	if (f.kernel_deadline)
		*f.kernel_deadline = f.deadline_boot_ns;
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

	guardian_tell(&f, 'a');
	why = fault_hold(&f, sfd);
	log_stamp("held");
	guardian_tell(&f, 'r');

	{
		json_object *x = json_object_new_object();
		uint64_t held = now_realtime_ns() - f.started_ns;

		json_object_object_add(x, "counters", fault_counters_json(&f));
		/* Programs that check the deadline let everything through from
		 * now on; detaching them (an RCU grace period each) follows. */
		if (f.kernel_deadline)
			*f.kernel_deadline = 1;
		err = ops->revert(&f);
		log_stamp("reverted");
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
	log_stamp("journal removed");
	guardian_release(&f);
	log_stamp("guardian released");
	ret = f.failed ? EXIT_FAILURE : EXIT_SUCCESS;
cleanup:
	if (applied) {
		ops->revert(&f);
		journal_remove(f.id);
	}
	guardian_release(&f);
	if (lock >= 0)
		close(lock);
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
