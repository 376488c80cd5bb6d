// SPDX-License-Identifier: GPL-2.0
/*
 * The remote fault protocol. A fault held on a node is one thread (a
 * fault_job): it runs `tug FAMILY VERB ... --json` there over SSH, keeps its
 * stdin alive as the heartbeat and reads its events back (events.h); a
 * one-shot verb ends by itself, and an action is a shell command run to
 * completion. Apart because this is tug run's side of what nodes print:
 * their lines are parsed and judged here and nowhere else.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "events.h"
#include "experiment.h"
#include "json.h"
#include "log.h"
#include "node.h"
#include "node_line.h"
#include "outage.h"
#include "parse.h"
#include "run_int.h"
#include "runrec.h"

#define APPLY_TIMEOUT_NS (30 * NSEC_PER_SEC)
/* A held fault's node prints a progress line every second: silence longer
 * than its heartbeat plus this means the node (or the path to it) is gone.
 * Waiting for TCP to say so would take a quarter of an hour. */
#define NODE_SILENT_GRACE_NS (2 * NSEC_PER_SEC)
/* How long a rebooted node may take to answer SSH again, when the
 * experiment has no recovery bound. */
#define REBOOT_WAIT_NS (300 * NSEC_PER_SEC)

/* tug FAMILY VERB ARGS... [common options] [-- CMD...]: the common options
 * go before a "--" in the step's args, or they would be the command's. */
int job_build_cmd(const struct exp_node *n, const struct exp_step *s, char **ret)
{
	char *cmd = strdup("exec"), dur[32], hb[32];
	size_t cut = s->nargs;
	int err = 0;

	if (!cmd)
		return -ENOMEM;
	for (size_t i = 2; i < s->nargs; i++) {
		if (!strcmp(s->args[i], "--")) {
			cut = i;
			break;
		}
	}
	err = shell_quote_append(&cmd, n->tug);
	for (size_t i = 0; i < cut && !err; i++)
		err = shell_quote_append(&cmd, s->args[i]);
	if (!err && !s->oneshot && s->for_ns) {
		format_duration(s->for_ns, dur, sizeof(dur));
		err = shell_quote_append(&cmd, "--for") ?: shell_quote_append(&cmd, dur);
	}
	format_duration(s->heartbeat_ns, hb, sizeof(hb));
	if (!err && !s->oneshot)
		err = shell_quote_append(&cmd, "--heartbeat") ?: shell_quote_append(&cmd, hb);
	if (!err)
		err = shell_quote_append(&cmd, "--json");
	for (size_t i = cut; i < s->nargs && !err; i++)
		err = shell_quote_append(&cmd, s->args[i]);
	if (err) {
		free(cmd);
		return err;
	}
	*ret = cmd;
	return 0;
}

static void job_set(struct fault_job *j, int state)
{
	pthread_mutex_lock(&j->mu);
	if (state > j->state)
		j->state = state;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

/* The step's expect keys in o (an event, or its counters), kept as the
 * text they compare as; a key o lacks keeps its value when keep. */
static void job_expect_take(struct fault_job *j, json_object *o, char **vals, bool keep)
{
	for (size_t i = 0; vals && i < j->s->nexpect; i++) {
		json_object *v = o ? json_get(o, j->s->expect_keys[i]) : NULL;
		char *t;

		if (!v && keep)
			continue;
		t = v ? strdup(json_object_get_string(v)) : NULL;
		free(vals[i]);
		vals[i] = t;
	}
}

/* The summary's share of one event: OOM victims, rows verified, and how
 * a one-shot verb's own check went (pids, time). */
static void job_note(struct fault_job *j, enum tug_event ev, json_object *x)
{
	struct rr_fault *f = &j->f;
	const char *what = j->s->name ? j->s->name : j->s->args[1];

	/* Out of memory, a note is left out: the node's events keep it. */
	if (ev == EV_OOM_KILL) {
		runrec_notes_append(&f->notes, "OOM victim %s pid %s in %s (anon %.1f MiB)",
				    json_get_str(x, "comm", "?"), json_object_get_string(json_get(x, "pid")),
				    json_get_str(x, "cgroup", "?"),
				    json_get_int(x, "anon_rss", 0) / 1048576.0);
	} else if (ev == EV_VERIFIED) {
		f->rows_verified = (f->rows_verified < 0 ? 0 : f->rows_verified) +
				   json_get_int(x, EVF_ROWS_BEFORE, 0) - json_get_int(x, EVF_MISSING, 0);
	} else if (ev == EV_PASS || ev == EV_FAIL) {
		json_object *t = json_get(x, EVF_TO_HEALTHY) ?: json_get(x, EVF_TO_ACCEPTING) ?:
				 json_get(x, EVF_TO_START);
		char pids[96] = "", secs[32] = "";

		if (ev == EV_FAIL && json_get(x, EVF_WHY))
			snprintf(j->fail_why, sizeof(j->fail_why), "%s", json_get_str(x, EVF_WHY, ""));
		if (json_get(x, EVF_OLD_PID) && json_get(x, EVF_NEW_PID))
			snprintf(pids, sizeof(pids), " pid %s->%s",
				 json_object_get_string(json_get(x, EVF_OLD_PID)),
				 json_object_get_string(json_get(x, EVF_NEW_PID)));
		if (t)
			snprintf(secs, sizeof(secs), " %.2fs", json_object_get_int64(t) / 1e3);
		runrec_notes_append(&f->notes, "%s%s%s", what, pids, secs);
	}
}

static void job_event(struct fault_job *j, const char *line)
{
	json_object *o = node_line_parse(line, strlen(line));
	const struct exp_node *n = &j->r->e->nodes[j->s->node];
	enum tug_event ev;
	int64_t ts;

	if (!o || !json_object_is_type(o, json_type_object)) {
		log_debug("node: %s", line);
		json_object_put(o);
		return;
	}
	ev = event_parse(json_get_str(o, EVF_EVENT, NULL));
	ts = json_get_int(o, EVF_TS, run_ms(now_realtime_ns()));
	if (ev != EV_PROGRESS) {
		if (!j->f.node_events)
			j->f.node_events = json_object_new_array();
		json_object_array_add(j->f.node_events, json_object_get(o));
		j->outage_known = outage_event(&j->seen, ev, json_get_int(o, EVF_TS, 0));
		job_expect_take(j, o, j->expect_event, true);
		job_note(j, ev, o);
	}
	switch (ev) {
	case EV_OOM_KILL:
		j->f.oom_events++;
		run_say(j->r, "   OOM kill on %s: pid %s (%s), cgroup %s", n->name,
			json_object_get_string(json_get(o, EVF_PID)), json_get_str(o, EVF_COMM, "?"),
			json_get_str(o, EVF_CGROUP, "?"));
		break;
	case EV_APPLIED:
		snprintf(j->f.id, sizeof(j->f.id), "%s", json_get_str(o, EVF_ID, ""));
		j->f.applied_ms = ts;
		j->f.deadline_ms = json_get_int(o, EVF_DEADLINE, 0);
		run_say(j->r, "   fault %s %s on %s applied (id %s)", j->s->args[0], j->s->args[1],
			n->name, j->f.id);
		job_set(j, JOB_APPLIED);
		break;
	case EV_REVERTED:
		j->f.reverted_ms = ts;
		snprintf(j->f.reason, sizeof(j->f.reason), "%s", json_get_str(o, EVF_REASON, ""));
		json_object_put(j->f.counters);
		j->f.counters = json_object_get(json_get(o, EVF_COUNTERS));
		j->f.counter_oom_kills = json_get_int(j->f.counters, "oom_kills", 0);
		job_expect_take(j, j->f.counters, j->expect_counter, false);
		run_say(j->r, "   fault %s %s on %s reverted (%s)", j->s->args[0], j->s->args[1],
			n->name, j->f.reason);
		break;
	case EV_SIGNALLED:
	case EV_RESTART_REQUESTED:
	case EV_EXITED:
	case EV_RESTARTED:
	case EV_HEALTHY:
	case EV_ACCEPTING:
		if (!j->s->oneshot)
			break;
		/* A one-shot action: the outage it caused, as the node saw it. */
		if (!j->f.applied_ms && (ev == EV_SIGNALLED || ev == EV_RESTART_REQUESTED)) {
			j->f.applied_ms = j->f.reverted_ms = ts;
			snprintf(j->f.reason, sizeof(j->f.reason), "%s", event_name(ev));
		}
		if (j->f.applied_ms)
			run_say(j->r, "   %s %s on %s: %s %+.3fs", j->s->args[0], j->s->args[1], n->name,
				event_name(ev), (ts - j->f.applied_ms) / 1e3);
		break;
	case EV_REBOOTING:
		if (!j->s->oneshot)
			break;
		snprintf(j->f.old_boot, sizeof(j->f.old_boot), "%s", json_get_str(o, EVF_BOOT_ID, ""));
		j->f.reboot_at_ms = ts + json_get_int(o, EVF_IN_MS, 0);
		j->f.applied_ms = j->f.reverted_ms = j->f.reboot_at_ms;
		snprintf(j->f.reason, sizeof(j->f.reason), "%s", event_name(ev));
		run_say(j->r, "   %s reboots in %.1fs (boot id %s)", n->name, (j->f.reboot_at_ms - ts) / 1e3,
			j->f.old_boot);
		break;
	case EV_UNKNOWN:
		log_debug("%s: an event tug does not know: %s", n->name, line);
		break;
	default:
		if (!j->s->oneshot && ev != EV_PROGRESS && !j->f.applied_ms) {
			j->f.applied_ms = ts;
			job_set(j, JOB_APPLIED);
		}
		break;
	}
	json_object_put(o);
}

/* After node reboot: reconnect until the node answers SSH with a boot id
 * other than the one it reported, within the recovery bound (or
 * REBOOT_WAIT_NS) from the reboot. The same boot id to the end is a node
 * that did not reboot. */
static int await_reboot(struct fault_job *j)
{
	const struct exp_node *n = &j->r->e->nodes[j->s->node];
	uint64_t bound = j->r->e->recovery_within_ns ? j->r->e->recovery_within_ns : REBOOT_WAIT_NS;
	int64_t left_ms = j->f.reboot_at_ms + run_ms(bound) - run_ms(now_realtime_ns());
	uint64_t deadline = mono_ns() + (left_ms > 0 ? left_ms * NSEC_PER_MSEC : 0);
	bool same = false;	/* the last answer still had the old boot id */
	char why[256] = "";

	if (!*j->f.old_boot) {
		snprintf(j->why, sizeof(j->why), "'node reboot' on %s reported no boot id", n->name);
		return -EPROTO;
	}
	while (!j->r->stop) {
		struct node_conn *c = NULL;
		char *out = NULL;
		int code = -1, err;

		err = node_open_retry(n, j->r->accept_new, deadline, &j->r->stop, &c, why, sizeof(why));
		if (err == -EPERM || err == -EACCES) {
			snprintf(j->why, sizeof(j->why), "%s after its reboot: %s", n->name, why);
			return err;
		}
		if (!err)
			err = node_run(c, "cat " TUG_BOOT_ID_PATH, 5 * NSEC_PER_SEC, &code, &out, why,
				       sizeof(why));
		node_close(c);
		same = false;
		if (!err && code == 0) {
			out[strcspn(out, "\n")] = '\0';
			same = !strcmp(out, j->f.old_boot);
			if (!same) {
				snprintf(j->f.new_boot, sizeof(j->f.new_boot), "%s", out);
				j->f.to_ssh_ms = run_ms(now_realtime_ns()) - j->f.reboot_at_ms;
				run_say(j->r, "   %s answers SSH again %.3fs after its reboot (boot id %s)",
					n->name, j->f.to_ssh_ms / 1e3, j->f.new_boot);
				free(out);
				return 0;
			}
		}
		free(out);
		if (mono_ns() >= deadline)
			break;
		run_sleep_ns(200 * NSEC_PER_MSEC);
	}
	if (j->r->stop)
		snprintf(j->why, sizeof(j->why), "interrupted while %s rebooted", n->name);
	else if (same)
		snprintf(j->why, sizeof(j->why), "the node did not reboot: %s still has boot id %s "
			 "%.1fs after the reboot was asked", n->name, j->f.old_boot, bound / 1e9);
	else
		snprintf(j->why, sizeof(j->why), "%s did not answer SSH again within %.1fs of its "
			 "reboot: %s", n->name, bound / 1e9, why);
	return -ETIMEDOUT;
}

void *job_main(void *arg)
{
	struct fault_job *j = arg;
	const struct exp_node *n = &j->r->e->nodes[j->s->node];
	uint64_t beat_every = j->s->heartbeat_ns / 4, last_beat = 0, started = mono_ns();
	uint64_t last_rx = started;
	struct node_conn *c = NULL;
	struct node_proc *p = NULL;
	char *cmd = NULL, line[8192];
	size_t used = 0;
	bool closed = false;
	int err;

	if (beat_every < 25 * NSEC_PER_MSEC)
		beat_every = 25 * NSEC_PER_MSEC;
	if (beat_every > 500 * NSEC_PER_MSEC)
		beat_every = 500 * NSEC_PER_MSEC;
	err = job_build_cmd(n, j->s, &cmd);
	if (err) {
		snprintf(j->why, sizeof(j->why), "out of memory");
		goto out;
	}
	log_debug("%s: %s", n->name, cmd);
	err = node_open_retry(n, j->r->accept_new, started + APPLY_TIMEOUT_NS, &j->r->stop, &c,
			      j->why, sizeof(j->why));
	if (!err)
		err = node_spawn(c, cmd, &p, j->why, sizeof(j->why));
	if (err)
		goto out;
	if (j->s->oneshot) {
		node_close_stdin(p);
		closed = true;
	}
	for (;;) {
		ssize_t got;

		if ((j->r->stop || (j->state == JOB_STARTING &&
				    mono_ns() - started > APPLY_TIMEOUT_NS)) && !closed) {
			/* Stop: the node sees its stdin close and reverts. */
			node_close_stdin(p);
			closed = true;
		}
		if (!closed && mono_ns() - last_beat >= beat_every) {
			if (node_write(p, "\n", 1) == 0)
				last_beat = mono_ns();
		}
		if (!j->s->oneshot && (j->state == JOB_APPLIED || closed) &&
		    mono_ns() - last_rx > j->s->heartbeat_ns + NODE_SILENT_GRACE_NS) {
			char d[32], hb[32];

			snprintf(j->why, sizeof(j->why), "%s went silent: nothing from '%s %s' for %s "
				 "(heartbeat %s); the node's heartbeat, deadline and guardian end the fault there",
				 n->name, j->s->args[0], j->s->args[1],
				 format_duration((mono_ns() - last_rx) / NSEC_PER_MSEC * NSEC_PER_MSEC, d, sizeof(d)),
				 format_duration(j->s->heartbeat_ns, hb, sizeof(hb)));
			err = -ETIMEDOUT;
			goto out;
		}
		got = node_read(p, line + used, sizeof(line) - 1 - used, beat_every / NSEC_PER_MSEC);
		if (got == -EAGAIN)
			continue;
		if (got <= 0)
			break;
		last_rx = mono_ns();
		used += got;
		line[used] = '\0';
		for (char *nl; (nl = strchr(line, '\n'));) {
			*nl = '\0';
			job_event(j, line);
			memmove(line, nl + 1, used - (nl + 1 - line) + 1);
			used -= nl + 1 - line;
		}
		if (used == sizeof(line) - 1)
			used = 0;	/* a line longer than we take: drop it */
	}
	node_wait(p, 5000, &j->f.exit_code);
	if (j->f.exit_code != 0 || !j->f.applied_ms) {
		const char *e = node_stderr(p);

		snprintf(j->why, sizeof(j->why), "'%s %s' on %s exited %d%s%.*s", j->s->args[0],
			 j->s->args[1], n->name, j->f.exit_code, *e ? ": " : "",
			 (int)strcspn(e, "\n"), e);
		/* Report the last line, usually the one that says what was not
		 * done, after tug's first error, the one that says why. */
		if (*e) {
			const char *last = e + strlen(e), *first = NULL;

			while (last > e && last[-1] == '\n')
				last--;
			while (last > e && last[-1] != '\n')
				last--;
			for (const char *l = e; l < last && !first; l = l + strcspn(l, "\n") + 1)
				if (!strncmp(l, "tug: error: ", 12))
					first = l;
			snprintf(j->why, sizeof(j->why), "'%s %s' on %s exited %d: %.*s%s%.*s",
				 j->s->args[0], j->s->args[1], n->name, j->f.exit_code,
				 first ? (int)strcspn(first, "\n") : 0, first ? first : "",
				 first ? "; " : "", (int)strcspn(last, "\n"), last);
		}
		/* A one-shot verb that judged itself says why in its FAIL event. */
		if (*j->fail_why)
			snprintf(j->why, sizeof(j->why), "'%s %s' on %s: FAIL: %s", j->s->args[0],
				 j->s->args[1], n->name, j->fail_why);
		err = -EIO;
	}
	if (j->s->oneshot && !j->f.applied_ms && j->f.exit_code == 0) {
		j->f.applied_ms = j->f.reverted_ms = run_ms(now_realtime_ns());
		err = 0;
	}
	if (!err && !j->s->oneshot && j->f.applied_ms && !j->f.reverted_ms && !j->r->stop) {
		/* Its session ended without a word on the revert: killed (the
		 * guardian on the node undoes what it held). */
		snprintf(j->why, sizeof(j->why), "'%s %s' on %s ended without reporting its revert "
			 "(killed?); the node's guardian reverts what it held", j->s->args[0],
			 j->s->args[1], n->name);
		err = -EIO;
	}
	if (j->f.applied_ms && !j->f.reverted_ms)
		j->f.reverted_ms = run_ms(now_realtime_ns());
	if (!err && j->f.reboot_at_ms) {
		/* That session dies with the node: the check needs a new one. */
		node_proc_free(p);
		p = NULL;
		node_close(c);
		c = NULL;
		err = await_reboot(j);
	}
out:
	j->failed = err != 0 && !(j->r->stop && j->f.applied_ms);
	node_proc_free(p);
	node_close(c);
	free(cmd);
	job_set(j, JOB_DONE);
	return NULL;
}

bool jobs_failed(struct fault_job *jobs, size_t n)
{
	bool failed = false;

	for (size_t i = 0; i < n && !failed; i++) {
		pthread_mutex_lock(&jobs[i].mu);
		failed = jobs[i].state == JOB_DONE && jobs[i].failed;
		pthread_mutex_unlock(&jobs[i].mu);
	}
	return failed;
}

/* What the node reported under an expect key: a counter of its "reverted"
 * event, else the field of its last event that has one. NULL: nothing. */
static const char *job_value(const struct fault_job *j, size_t i)
{
	if (!strcmp(j->s->expect_keys[i], "oom_kills") && j->f.oom_events &&
	    (!j->expect_counter[i] || j->f.counter_oom_kills < j->f.oom_events))
		return NULL;	/* the caller counts the events */
	return j->expect_counter[i] ?: j->expect_event[i];
}

/* The step's `expect`, against what the node reported. */
int job_expect(struct fault_job *j, char *why, size_t len)
{
	const struct exp_step *s = j->s;
	char what[128], num[32];

	snprintf(what, sizeof(what), "%s", s->name ? s->name : s->args[0]);
	for (size_t i = 0; i < s->nexpect; i++) {
		const char *v = job_value(j, i), *got;

		if (!strcmp(s->expect_keys[i], "oom_kills") && !v && j->f.oom_events) {
			snprintf(num, sizeof(num), "%u", j->f.oom_events);
			got = num;
		} else if (!v) {
			snprintf(why, len, "'%s': the node reported no '%s' (expected %s)", what,
				 s->expect_keys[i], s->expect_vals[i]);
			return -EPROTO;
		} else {
			got = v;
		}
		if (!expect_matches(s->expect_vals[i], got)) {
			snprintf(why, len, "'%s': %s is %s, expected %s", what, s->expect_keys[i], got,
				 s->expect_vals[i]);
			return -EPROTO;
		}
	}
	return 0;
}

/* An action: a shell command on a node, to completion. */
int run_action(struct run *r, const struct exp_step *s, const char *phase,
	       int64_t *start_ms, int64_t *end_ms, char *why, size_t len)
{
	const struct exp_node *n = &r->e->nodes[s->node];
	struct node_conn *c = NULL;
	char *out = NULL, reason[256] = "";
	int err, code = -1;
	struct rr_action a;
	json_object *ev;

	run_say(r, "   %s on %s: %s", phase, n->name, s->run);
	/* A rollback runs after a stop too: it retries to its own timeout. */
	err = node_open_retry(n, r->accept_new, mono_ns() + s->timeout_ns,
			      strcmp(phase, "rollbacks") ? &r->stop : NULL, &c, reason, sizeof(reason));
	*start_ms = run_ms(now_realtime_ns());
	if (!err)
		err = node_run(c, s->run, s->timeout_ns, &code, &out, reason, sizeof(reason));
	*end_ms = run_ms(now_realtime_ns());
	node_close(c);
	a = (struct rr_action){ .ts_ms = *end_ms, .duration_ms = *end_ms - *start_ms, .phase = phase,
				.name = s->name ? s->name : s->run, .node = n->name, .exit_code = code,
				.ok = !err && code == 0, .output = out, .detail = reason };
	pthread_mutex_lock(&r->lock);
	runrec_action_add(&r->rec, &a);
	pthread_mutex_unlock(&r->lock);
	ev = json_object_new_object();
	json_object_object_add(ev, "ts_ms", json_object_new_int64(*end_ms));
	json_object_object_add(ev, "phase", json_object_new_string(phase));
	json_object_object_add(ev, "action", json_object_new_string(s->name ? s->name : s->run));
	json_object_object_add(ev, "node", json_object_new_string(n->name));
	json_object_object_add(ev, "exit_code", json_object_new_int(code));
	json_object_object_add(ev, "ok", json_object_new_boolean(!err && code == 0));
	json_object_object_add(ev, "duration_ms", json_object_new_int64(*end_ms - *start_ms));
	json_object_object_add(ev, "output", json_object_new_string(out ? out : ""));
	json_object_object_add(ev, "detail", json_object_new_string(reason));
	run_emit(r, "action", ev);
	free(out);
	if (err) {
		snprintf(why, len, "%s on %s: %s", s->name ? s->name : s->run, n->name, reason);
		return err;
	}
	if (code != 0) {
		snprintf(why, len, "%s on %s exited %d%s%s", s->name ? s->name : s->run, n->name,
			 code, *reason ? ": " : "", reason);
		return -EIO;
	}
	return 0;
}
