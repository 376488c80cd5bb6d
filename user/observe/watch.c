// SPDX-License-Identifier: GPL-2.0
/*
 * tug watch: OOM kills, process exits and execs as the kernel sees them,
 * one line each as they happen (a JSON object per line with --json).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "commands.h"
#include "json.h"
#include "events.h"
#include "log.h"
#include "observer.h"
#include "parse.h"
#include "sanitize.h"
#include "spawn.h"

static const char watch_usage[] =
	"usage: tug watch [--oom] [--proc] [--exit] [--exec] [--cgroup PATH] [--for DUR]\n"
	"                 [--count N] [--json]\n"
	"\n"
	"Kernel events from eBPF tracepoints, one line each as they happen, until\n"
	"Ctrl-C, SIGTERM, --for or --count. Without a kind, every kind is shown.\n"
	"\n"
	"  --oom              OOM kills: victim pid and command, its memory cgroup,\n"
	"                     resident memory (anon, file, shmem), oom_score_adj, the\n"
	"                     cgroup's usage and limit, whether a memory cgroup limit\n"
	"                     (memcg) or the whole machine (global) ran out\n"
	"  --proc             process exits (exit code or signal) and execs\n"
	"  --exit, --exec     only one of the two\n"
	"  --cgroup PATH      only tasks in this cgroup and below; absolute, or relative\n"
	"                     to the hierarchy that holds the memory controller\n"
	"  --for DUR          stop after DUR (250ms, 30s, 5m)\n"
	"  --count N          stop after N events\n"
	"  --json             one JSON object per line: a \"watching\" line once the\n"
	"                     programs are attached, one per event, a \"summary\" at the end\n"
	"\n"
	"EXAMPLES\n"
	"  tug watch --oom\n"
	"  tug watch --proc --cgroup system.slice/gateway.service --json\n"
	"  tug watch --oom --cgroup /sys/fs/cgroup/memory/batch --for 10m\n";

struct watch {
	bool json;
	uint64_t count, max_count;
};

static void on_event(const struct observe_event *e, void *ctx)
{
	struct watch *w = ctx;

	w->count++;
	if (w->json) {
		json_object *o = observe_event_json(e);

		printf("%s\n", json_line(o));
		json_object_put(o);
	} else {
		char line[1024];

		observe_event_format(e, line, sizeof(line));
		term_clean(line);	/* any user names its processes: no escapes */
		printf("%s\n", line);
	}
	fflush(stdout);
}

static const char *kinds_name(unsigned k, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", k & OBSERVE_OOM ? "oom " : "", k & OBSERVE_EXIT ? "exit " : "",
		 k & OBSERVE_EXEC ? "exec " : "");
	buf[strlen(buf) - 1] = '\0';
	return buf;
}

static void print_start(const struct watch *w, const struct observer *obs, unsigned kinds)
{
	const char *cg = observer_cgroup(obs);
	char k[32];

	kinds_name(kinds, k, sizeof(k));
	if (w->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, EVF_EVENT, json_object_new_string(event_name(EV_WATCHING)));
		json_object_object_add(o, "kinds", json_object_new_string(k));
		json_object_object_add(o, "cgroup", *cg ? json_object_new_string(cg) : NULL);
		json_object_object_add(o, "backend", json_object_new_string(observer_backend(obs)));
		printf("%s\n", json_line(o));
		json_object_put(o);
	} else {
		printf("watching %s in %s (%s); Ctrl-C ends\n", k, *cg ? cg : "every cgroup",
		       observer_backend(obs));
	}
	fflush(stdout);
}

static void print_summary(const struct watch *w, const struct observer *obs, const char *why)
{
	uint64_t oom = observer_count(obs, OBS_OOM), ex = observer_count(obs, OBS_EXIT),
		 exe = observer_count(obs, OBS_EXEC), lost = observer_lost(obs);

	if (w->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, EVF_EVENT, json_object_new_string(event_name(EV_SUMMARY)));
		json_object_object_add(o, "reason", json_object_new_string(why));
		json_object_object_add(o, "oom_kills", json_object_new_int64(oom));
		json_object_object_add(o, "exits", json_object_new_int64(ex));
		json_object_object_add(o, "execs", json_object_new_int64(exe));
		json_object_object_add(o, "lost", json_object_new_int64(lost));
		printf("%s\n", json_line(o));
		json_object_put(o);
	} else {
		printf("ended (%s): %llu OOM kills, %llu exits, %llu execs, %llu lost\n", why,
		       (unsigned long long)oom, (unsigned long long)ex, (unsigned long long)exe,
		       (unsigned long long)lost);
	}
	fflush(stdout);
}

int cmd_watch(int argc, char **argv, bool json)
{
	static const struct option opts[] = {
		{ "oom", no_argument, NULL, 'o' },
		{ "proc", no_argument, NULL, 'p' },
		{ "exit", no_argument, NULL, 'x' },
		{ "exec", no_argument, NULL, 'e' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "for", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct watch w = { .json = json };
	struct observer *obs = NULL;
	struct observer_opts o = { .fn = on_event, .ctx = &w };
	const char *why = NULL;
	uint64_t for_ns = 0;
	int opt, err, sfd = -1, tfd = -1, ret = EXIT_FAILURE;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o':
			o.kinds |= OBSERVE_OOM;
			break;
		case 'p':
			o.kinds |= OBSERVE_PROC;
			break;
		case 'x':
			o.kinds |= OBSERVE_EXIT;
			break;
		case 'e':
			o.kinds |= OBSERVE_EXEC;
			break;
		case 'c':
			o.cgroup = optarg;
			break;
		case 'f':
			if (parse_duration(optarg, &for_ns) || !for_ns) {
				log_error("--for: '%s' is not a duration; use e.g. 250ms, 30s, 5m", optarg);
				return 2;
			}
			break;
		case 'n':
			if (parse_uint(optarg, 1, UINT32_MAX, &w.max_count)) {
				log_error("--count: '%s' is not a number from 1 to %u", optarg, UINT32_MAX);
				return 2;
			}
			break;
		case 'j':
			w.json = true;
			break;
		case 'h':
			fputs(watch_usage, stdout);
			return EXIT_SUCCESS;
		default:
			fputs(watch_usage, stderr);
			return 2;
		}
	}
	if (optind < argc) {
		log_error("watch: unexpected argument '%s'; see 'tug watch --help'", argv[optind]);
		return 2;
	}
	if (!o.kinds)
		o.kinds = OBSERVE_ALL;

	/* Ctrl-C and SIGTERM end the loop; they must not kill us half way. */
	sfd = stop_signals_fd();
	if (sfd < 0) {
		log_errno(sfd, "signalfd");
		goto cleanup;
	}
	err = observer_open(&o, &obs);
	if (err == -EBUSY) {
		log_error("--cgroup: '%s' is a hierarchy's root, every process; leave --cgroup out "
			  "to watch them all", o.cgroup);
		ret = 2;
		goto cleanup;
	}
	if (o.cgroup && (err == -ENOENT || err == -ENOTDIR || err == -EINVAL || err == -EXDEV)) {
		log_errno(err, "--cgroup: '%s' is not a cgroup directory (absolute, or relative to "
			  "the memory controller's hierarchy)", o.cgroup ? o.cgroup : "");
		ret = 2;
		goto cleanup;
	}
	if (err) {
		log_errno(err, "cannot load and attach the tracepoint programs%s",
			  err == -EPERM ? " (needs root or CAP_BPF + CAP_PERFMON)" : "");
		goto cleanup;
	}
	/* --for counts from the moment events can arrive. */
	if (for_ns) {
		struct itimerspec its = {
			.it_value = { .tv_sec = for_ns / NSEC_PER_SEC, .tv_nsec = for_ns % NSEC_PER_SEC },
		};

		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
		if (tfd < 0 || timerfd_settime(tfd, 0, &its, NULL)) {
			log_errno(-errno, "timerfd");
			goto cleanup;
		}
	}

	print_start(&w, obs, o.kinds);

	while (!why) {
		struct pollfd p[3] = {
			{ .fd = observer_fd(obs), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
			{ .fd = tfd, .events = POLLIN },
		};

		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			why = "poll failure";
			break;
		}
		if (p[0].revents) {
			err = observer_dispatch(obs, 0);
			if (err < 0 && err != -EINTR) {
				log_errno(err, "reading the ring buffer");
				why = "ring buffer failure";
			}
		}
		if (w.max_count && w.count >= w.max_count)
			why = "count";
		if (!why && (p[1].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si))
				why = si.ssi_signo == SIGINT ? "SIGINT" :
				      si.ssi_signo == SIGHUP ? "SIGHUP" : "SIGTERM";
		}
		if (!why && (p[2].revents & POLLIN))
			why = "deadline";
	}
	/* What arrived before the end is still shown. */
	if (!w.max_count || w.count < w.max_count)
		observer_dispatch(obs, 0);
	print_summary(&w, obs, why);
	ret = strstr(why, "failure") ? EXIT_FAILURE : EXIT_SUCCESS;
cleanup:
	observer_close(obs);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	return ret;
}
