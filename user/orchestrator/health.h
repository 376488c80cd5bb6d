/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Health probes: http, prometheus and alert (libcurl, TLS always verified), tcp
 * (connect), sql (libpq), cmd (a command on a node). One attempt gives one
 * result; the caller decides how often and how long to poll.
 */
#ifndef TUG_HEALTH_H
#define TUG_HEALTH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "experiment.h"

struct node_conn;

struct probe_result {
	uint64_t ts_ns;		/* CLOCK_REALTIME at the end of the attempt */
	uint64_t latency_ns;
	bool ok;
	char detail[200];	/* what was seen, or why it failed */
};

struct prober {
	const struct exp_probe *p;
	const struct experiment *e;
	bool accept_new;
	struct node_conn *conn;	/* cmd: opened on first use, reopened after errors */
	void *curl;
	enum alert_source alert_source;	/* alert: as given, or as the first answer showed */
};

void prober_init(struct prober *pr, const struct experiment *e, const struct exp_probe *p,
		 bool accept_new);
void prober_cleanup(struct prober *pr);
/* One attempt within the probe's timeout. */
void probe_once(struct prober *pr, struct probe_result *res);
/* One attempt plus up to p->retries more, interval apart, until one passes. */
void probe_check(struct prober *pr, struct probe_result *res, atomic_int *stop);

#endif
