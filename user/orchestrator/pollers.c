// SPDX-License-Identifier: GPL-2.0
/*
 * Probes as the phases use them: run once (preconditions, steady state,
 * post-checks), or polled by a thread each while the faults hold
 * (expect-during) and until recovery. Apart because the pollers run beside
 * the phases: a phase starts, closes and judges them, and the judging of
 * expect-during against the fault window (and against the outage the nodes
 * reported) is here.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "experiment.h"
#include "health.h"
#include "outage.h"
#include "parse.h"
#include "run_int.h"
#include "runrec.h"

/* ---- probes run once (preconditions, steady state, post-checks) ---- */

bool run_check_probes(struct run *r, const char *phase, const struct exp_probe *ps, size_t n,
		      char *why, size_t len)
{
	bool all = true;

	for (size_t i = 0; i < n && !r->stop; i++) {
		struct prober pr;
		struct probe_result res;

		prober_init(&pr, r->e, &ps[i], r->accept_new);
		probe_check(&pr, &res, &r->stop);
		prober_cleanup(&pr);
		run_record(r, phase, &ps[i], &res);
		if (!res.ok && all) {
			snprintf(why, len, "%s: %s", ps[i].name, res.detail);
			all = false;
		}
	}
	if (r->stop && all) {
		snprintf(why, len, "interrupted");
		return false;
	}
	return all;
}

/* ---- pollers (expect-during, recovery) ---- */

static void *poller_main(void *arg)
{
	struct poller *pl = arg;
	struct prober pr;

	prober_init(&pr, pl->r->e, pl->p, pl->r->accept_new);
	while (!pl->stop && !pl->r->stop && mono_ns() < pl->until_mono) {
		uint64_t t0 = mono_ns();
		struct probe_result res;

		probe_once(&pr, &res);
		if (pl->stop && !pl->stop_on_pass)
			break;	/* the window closed while we probed */
		pl->attempts++;
		if (!res.ok) {
			pl->fails++;
			if (pl->first_fail_ms < 0)
				pl->first_fail_ms = run_ms(res.ts_ns);
		} else if (pl->first_pass_ms < 0) {
			pl->first_pass_ms = run_ms(res.ts_ns);
		}
		run_record(pl->r, pl->phase, pl->p, &res);
		if (res.ok && pl->stop_on_pass)
			break;
		if (mono_ns() - t0 < pl->p->interval_ns)
			run_sleep_ns(pl->p->interval_ns - (mono_ns() - t0));
	}
	prober_cleanup(&pr);
	return NULL;
}

int pollers_start(struct run *r, const char *phase, const struct exp_probe *ps, size_t n,
		  bool stop_on_pass, uint64_t until_mono, struct poller **ret)
{
	struct poller *pl = calloc(n ? n : 1, sizeof(*pl));

	if (!pl)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		pl[i] = (struct poller){ .r = r, .p = &ps[i], .phase = phase,
					 .stop_on_pass = stop_on_pass, .until_mono = until_mono,
					 .first_fail_ms = -1, .first_pass_ms = -1 };
		if (pthread_create(&pl[i].th, NULL, poller_main, &pl[i])) {
			for (size_t j = 0; j < i; j++) {
				pl[j].stop = 1;
				pthread_join(pl[j].th, NULL);
			}
			free(pl);
			return -EAGAIN;
		}
	}
	*ret = pl;
	return 0;
}

void pollers_join(struct poller *pl, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pthread_join(pl[i].th, NULL);
}

/* Let each expect-during poller run to the end of its window: the fault
 * window, or start + within for a probe that must fail within a bound (a
 * one-shot fault's window is an instant). */
void pollers_during_close(struct run *r, struct poller *pl, int64_t start)
{
	int64_t now = run_ms(now_realtime_ns());

	for (size_t i = 0; pl && i < r->e->nduring; i++) {
		const struct exp_probe *p = &r->e->during[i];
		int64_t until = start + run_ms(p->within_ns);

		if (p->must_fail && p->within_ns && until > now && !r->stop)
			pl[i].until_mono = mono_ns() + (until - now) * NSEC_PER_MSEC;
		else
			pl[i].stop = 1;
	}
}

/* Join the expect-during pollers and judge them. A must-fail probe that
 * never failed is judged against the outage the nodes reported: too short
 * for its interval is said as such, long enough and missed is a failure. */
int pollers_during_judge(struct run *r, struct poller *pl, int64_t start, int64_t end,
			 char *why, size_t len)
{
	const struct experiment *e = r->e;
	int64_t ttd = -1;
	int err = 0;

	if (!pl)
		return 0;
	pollers_join(pl, e->nduring);
	free(pl);
	if (r->stop)
		return -EINTR;
	for (size_t i = 0; i < e->nduring; i++) {
		const struct exp_probe *p = &e->during[i];
		int64_t first_fail = -1, limit = p->must_fail && p->within_ns ? start + run_ms(p->within_ns) : end;
		double slowest = 0;
		unsigned fails = 0;
		bool all_ok = true, any = false;
		const struct rr_probe *pr;

		/* Its samples only: the recovery pollers may add theirs meanwhile. */
		pthread_mutex_lock(&r->lock);
		pr = runrec_probe_find(&r->rec, p->name, "during");
		for (size_t k = 0; pr && k < pr->nsamples; k++) {
			int64_t t = pr->samples[k].ts_ms;
			bool ok = pr->samples[k].ok;
			double lat = pr->samples[k].latency_ms;

			if (t < start || t > limit)
				continue;
			any = true;
			if (!ok && first_fail < 0)
				first_fail = t;
			fails += !ok;
			all_ok &= ok;
			if (lat > slowest)
				slowest = lat;
		}
		pthread_mutex_unlock(&r->lock);
		if (p->must_fail) {
			enum outage_seen seen = outage_judge(r->has_outage ? &r->outage : NULL, fails,
							     run_ms(p->interval_ns), (int64_t)slowest + 1);
			char b[32], note[256];

			if (seen == SEEN_BY_NODE_ONLY) {
				snprintf(note, sizeof(note), "'%s': outage %" PRId64 " ms, shorter than the %"
					 PRId64 " ms probe interval: seen from the node's events", p->name,
					 outage_ms(&r->outage), run_ms(p->interval_ns));
				runrec_note_add(&r->rec, note);
				run_say(r, "   during   %s", note);
			} else if (seen == MISSED && !err) {
				snprintf(why, len, "expect-during '%s' never failed %s%s", p->name,
					 p->within_ns ? "within " : "while the faults held",
					 p->within_ns ? format_duration(p->within_ns, b, sizeof(b)) : "");
				if (r->has_outage)
					snprintf(why + strlen(why), len - strlen(why),
						 ", although the node's events show an outage of %" PRId64
						 " ms (probe every %" PRId64 " ms)", outage_ms(&r->outage),
						 run_ms(p->interval_ns));
				err = -EPROTO;
			}
		} else if (!all_ok || !any) {
			if (!err)
				snprintf(why, len, "expect-during '%s' %s while the faults held", p->name,
					 any ? "failed" : "was never probed");
			err = -EPROTO;
		}
		if (p->must_fail && first_fail >= 0 && (ttd < 0 || first_fail - start > ttd))
			ttd = first_fail - start;
	}
	r->rec.ttd = ttd >= 0 ? RR_TTD_SET : RR_TTD_NULL;
	r->rec.ttd_ms = ttd;
	return err;
}

int pollers_during_phase(struct run *r, struct poller **pl, int64_t start, int64_t end)
{
	int64_t t = run_ms(now_realtime_ns());
	char why[512] = "";
	int err = pollers_during_judge(r, *pl, start, end, why, sizeof(why));
	char ttd[64] = "";

	if (r->rec.ttd == RR_TTD_SET)
		snprintf(ttd, sizeof(ttd), ", detected after %" PRId64 " ms", r->rec.ttd_ms);
	*pl = NULL;
	if (err && err != -EINTR)
		run_phase_end(r, "expect-during", "fail", t, "%s", why);
	else if (!err)
		run_phase_end(r, "expect-during", "pass", t, "%zu probes%s", r->e->nduring, ttd);
	if (err && (!r->rec.reason_during || !*r->rec.reason_during))
		runrec_set_reason(&r->rec, &r->rec.reason_during, why);
	return err;
}
