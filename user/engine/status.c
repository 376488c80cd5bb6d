// SPDX-License-Identifier: GPL-2.0
/*
 * tug status, tug revert, tug recover: everything about live faults that
 * another process (or a later boot) can see, from the journal alone.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "commands.h"
#include "expedite.h"
#include "json.h"
#include "fault.h"
#include "journal.h"
#include "log.h"
#include "parse.h"
#include "selfpath.h"
#include "spawn.h"

/* Live counters straight from the owner's BPF map, found by its id: no
 * pinning, so nothing to clean up, and gone when the owner is. */
static json_object *entry_counters(json_object *e)
{
	json_object *state = json_get(e, "state");
	json_object *names = json_get(state, "counter_names");
	int id = json_get_int(state, "counters_map_id", 0);
	struct fault_counter c[FAULT_MAX_COUNTERS];
	const char *n[FAULT_MAX_COUNTERS];
	json_object *o = json_object_new_object();
	int fd, cnt;

	if (!names || id <= 0)
		return o;
	fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return o;
	cnt = json_object_array_length(names);
	if (cnt > FAULT_MAX_COUNTERS)
		cnt = FAULT_MAX_COUNTERS;
	for (int i = 0; i < cnt; i++)
		n[i] = json_object_get_string(json_object_array_get_idx(names, i));
	cnt = fault_read_percpu_counters(fd, n, cnt, c);
	for (int i = 0; i < cnt; i++)
		json_object_object_add(o, c[i].name, json_object_new_int64(c[i].value));
	close(fd);
	return o;
}

static void print_outcome(bool json, const char *event, const char *id, int err,
			  const char *human)
{
	if (json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "event", json_object_new_string(event));
		json_object_object_add(o, "id", json_object_new_string(id));
		json_object_object_add(o, "ok", json_object_new_boolean(!err));
		printf("%s\n", json_line(o));
		json_object_put(o);
	} else {
		printf("%s %s\n", id, human);
	}
}

static int parse_json_flag(int argc, char **argv, bool *json, const char *help,
			   bool *all)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	int opt;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			*json = true;
			break;
		case 'a':
			if (!all) {
				log_error("--all: not an option here");
				return -EINVAL;
			}
			*all = true;
			break;
		case 'h':
			fputs(help, stdout);
			return 1;
		default:
			fputs(help, stderr);
			return -EINVAL;
		}
	}
	return 0;
}

int cmd_status(int argc, char **argv, bool json)
{
	static const char help[] =
		"usage: tug status [--json]\n\n"
		"List live faults: id, what, owner pid, time left and live counters.\n"
		"An entry whose owner died and left state behind is marked 'orphaned':\n"
		"'tug recover' undoes it. A dead owner's fault that the kernel ended with\n"
		"it is no fault any more: its entry is removed, not listed.\n";
	uint64_t now = now_realtime_ns();
	json_object *list;
	size_t n;
	int err;

	err = parse_json_flag(argc, argv, &json, help, NULL);
	if (err)
		return err > 0 ? EXIT_SUCCESS : 2;
	journal_sweep();
	err = journal_list(&list);
	if (err)
		return log_errno(err, "reading the journal"), EXIT_FAILURE;
	n = json_object_array_length(list);
	if (!json && !n)
		printf("no live faults\n");
	else if (!json)
		printf("%-9s %-16s %-8s %-9s %8s  %s\n", "ID", "FAULT", "OWNER", "STATE", "LEFT", "COUNTERS");
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(list, i);
		int64_t deadline = json_get_int(e, "deadline_ns", 0);
		int64_t left = deadline > (int64_t)now ? deadline - (int64_t)now : 0;
		bool alive = journal_owner_alive(e);
		json_object *counters = alive ? entry_counters(e) : json_object_new_object();
		char what[64];

		snprintf(what, sizeof(what), "%s %s", json_get_str(e, "family", "?"),
			 json_get_str(e, "verb", "?"));
		if (json) {
			json_object *o = json_object_new_object();

			json_object_object_add(o, "id", json_object_new_string(json_get_str(e, "id", "")));
			json_object_object_add(o, "fault", json_object_new_string(what));
			json_object_object_add(o, "owner_pid", json_object_new_int64(json_get_int(e, "owner_pid", 0)));
			json_object_object_add(o, "alive", json_object_new_boolean(alive));
			json_object_object_add(o, "remaining_ms", json_object_new_int64(left / NSEC_PER_MSEC));
			json_object_object_add(o, "deadline_ms", json_object_new_int64(deadline / NSEC_PER_MSEC));
			json_object_object_add(o, "started_ms", json_object_new_int64(json_get_int(e, "started_ns", 0) / NSEC_PER_MSEC));
			json_object_object_add(o, "params", json_object_get(json_get(e, "params")));
			json_object_object_add(o, "state", json_object_get(json_get(e, "state")));
			json_object_object_add(o, "counters", json_object_get(counters));
			printf("%s\n", json_line(o));
			json_object_put(o);
		} else {
			printf("%-9s %-16s %-8" PRId64 " %-9s %7.1fs  %s\n", json_get_str(e, "id", ""), what,
			       json_get_int(e, "owner_pid", 0), alive ? "live" : "orphaned",
			       left / 1e9, json_line(counters));
		}
		json_object_put(counters);
	}
	json_object_put(list);
	return EXIT_SUCCESS;
}

/* The node controller knows no PostgreSQL fault: what it cannot undo of
 * their entries, `tug-full CMD [ARG] [--json]` does (its stdout dropped
 * when QUIET, the caller then saying the outcome). 0 when it exits 0,
 * else -errno or -EIO (logged). */
static int in_sibling(const char *cmd, const char *arg, bool json, bool quiet)
{
	char path[PATH_MAX];
	char *argv[5] = { path, (char *)cmd };
	struct spawn_opts o = { .argv = argv };
	pid_t pid;
	int n = 2, err = self_sibling(fault_table_sibling, path, sizeof(path));

	if (arg)
		argv[n++] = (char *)arg;
	if (json)
		argv[n++] = "--json";
	argv[n] = NULL;
	if (quiet)
		o.fds[o.n_fds++] = (struct spawn_fd){ SPAWN_DEVNULL, 1 };
	if (!err)
		err = spawn(&o, &pid, NULL);
	if (err)
		return log_errno(err, "entries of faults only %s carries: cannot run it from beside "
				 "this tug", fault_table_sibling);
	err = spawn_wait(pid);
	return err < 0 ? err : err ? -EIO : 0;
}

/* Ask a live owner to revert (SIGTERM through a pidfd, so a reused pid is
 * never hit) and wait for it to exit; undo it ourselves if it is dead. */
static int revert_entry(json_object *e, uint64_t timeout_ms)
{
	const char *id = json_get_str(e, "id", "");
	pid_t pid = json_get_int(e, "owner_pid", 0);
	int pidfd, err = 0;

	pidfd = pid > 0 ? syscall(SYS_pidfd_open, pid, 0) : -1;
	if (pidfd >= 0 && journal_owner_alive(e)) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		if (syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0)) {
			err = -errno;
			goto cleanup;
		}
		/* A stopped owner (Ctrl-Z, SIGSTOP, a debugger) would sit on the
		 * SIGTERM; SIGCONT lets it act on it. */
		syscall(SYS_pidfd_send_signal, pidfd, SIGCONT, NULL, 0);
		if (poll(&p, 1, timeout_ms) == 0) {
			err = -ETIMEDOUT;
			goto cleanup;
		}
		/* The owner removes its entry after reverting; one left means
		 * its revert failed, and recovery below finishes the job. */
		json_object *left;

		if (journal_load(id, &left))
			goto cleanup;
		json_object_put(left);
	}
	err = fault_recover_entry(e);
	if (err == -EOPNOTSUPP && fault_table_sibling)
		err = in_sibling("revert", id, false, true);	/* it removes the entry */
	else if (!err)
		journal_remove(id);
cleanup:
	if (pidfd >= 0)
		close(pidfd);
	return err;
}

int cmd_revert(int argc, char **argv, bool json)
{
	static const char help[] =
		"usage: tug revert (ID | --all) [--json]\n\n"
		"End live faults now: their owner reverts and exits. An orphaned entry\n"
		"(owner dead) is undone here.\n\nExamples:\n  tug revert 3f9a1c2e\n  tug revert --all\n";
	bool all = false;
	json_object *list;
	int err, failed = 0, done = 0;
	const char *want;

	err = parse_json_flag(argc, argv, &json, help, &all);
	if (err)
		return err > 0 ? EXIT_SUCCESS : 2;
	want = optind < argc ? argv[optind] : NULL;
	if (!all == !want || (want && optind + 1 < argc)) {
		log_error("give one fault ID or --all ('tug status' lists the ids)");
		return 2;
	}
	err = journal_list(&list);
	if (err)
		return log_errno(err, "reading the journal"), EXIT_FAILURE;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *e = json_object_array_get_idx(list, i);
		const char *id = json_get_str(e, "id", "");

		if (want && strcmp(want, id))
			continue;
		err = revert_entry(e, 10000);
		if (err) {
			log_errno(err, "reverting %s", id);
			failed++;
		} else {
			done++;
		}
		print_outcome(json, "reverted", id, err, err ? "NOT reverted" : "reverted");
	}
	json_object_put(list);
	if (want && !done && !failed) {
		log_error("no live fault '%s'; 'tug status' lists them", want);
		return 2;
	}
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int cmd_recover(int argc, char **argv, bool json)
{
	static const char help[] =
		"usage: tug recover [--json]\n\n"
		"Undo every fault whose controller is gone (crash, kill, reboot) from the\n"
		"journal. Faults with a live controller are left to it. Safe to run any\n"
		"number of times.\n";
	json_object *list;
	int err, failed = 0, done = 0, elsewhere = 0;

	err = parse_json_flag(argc, argv, &json, help, NULL);
	if (err)
		return err > 0 ? EXIT_SUCCESS : 2;
	err = journal_list(&list);
	if (err)
		return log_errno(err, "reading the journal"), EXIT_FAILURE;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *e = json_object_array_get_idx(list, i);
		const char *id = json_get_str(e, "id", "");

		if (journal_owner_alive(e)) {
			if (!json)
				printf("%s held by live pid %" PRId64 ", left to it\n", id,
				       json_get_int(e, "owner_pid", 0));
			continue;
		}
		err = fault_recover_entry(e);
		if (err == -EOPNOTSUPP && fault_table_sibling) {
			elsewhere++;	/* a family of the executable beside this one */
			continue;
		}
		if (!err)
			journal_remove(id);
		if (err) {
			log_errno(err, "recovering %s", id);
			failed++;
		} else {
			done++;
		}
		print_outcome(json, "recovered", id, err, err ? "NOT recovered" : "recovered");
	}
	json_object_put(list);
	if (elsewhere) {
		err = in_sibling("recover", NULL, json, false);
		if (err)
			failed++;
		else
			done++;
	}
	/* A tug that died while it expedited RCU grace periods (expedite.h). */
	err = rcu_expedite_heal();
	if (err < 0) {
		log_errno(err, "putting /sys/kernel/rcu_expedited back");
		failed++;
	} else if (err) {
		done++;
		print_outcome(json, "recovered", "rcu_expedited", 0, "(/sys/kernel/rcu_expedited, "
			      "left on by a tug that died while it attached or detached): put back to 0");
	}
	if (!json && !done && !failed)
		printf("nothing to recover\n");
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
