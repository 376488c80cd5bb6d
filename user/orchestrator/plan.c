// SPDX-License-Identifier: GPL-2.0
/*
 * The plan --dry-run prints: nodes, probes, steps and rollbacks of a loaded
 * experiment, each fault with the command line a run would send to its
 * node. Apart because it touches nothing: it reads the experiment and
 * prints, sharing with the faults only the builder of that command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment.h"
#include "parse.h"
#include "run_int.h"

static void print_probe_plan(const char *what, const struct exp_probe *ps, size_t n,
			     const struct experiment *e)
{
	for (size_t i = 0; i < n; i++) {
		const struct exp_probe *p = &ps[i];
		char iv[32], to[32], within[32];

		printf("  %-14s %s (%s", what, p->name, probe_type_name(p->type));
		if (p->url)
			printf(" %s", p->url);
		if (p->host)
			printf(" %s:%u", p->host, p->port);
		if (p->query)
			printf(" '%s'", p->query);
		if (p->alert)
			printf(" %s %s", p->alert, alert_state_name(p->alert_state));
		for (size_t k = 0; k < p->nlabels; k++)
			printf("%s%s=%s%s", k ? ", " : " {", p->label_keys[k], p->label_vals[k],
			       k + 1 == p->nlabels ? "}" : "");
		if (p->run)
			printf(" on %s: %s", e->nodes[p->node].name, p->run);
		if (p->expect)
			printf(" expect %s", p->expect);
		printf("; every %s, timeout %s, %u retries",
		       format_duration(p->interval_ns, iv, sizeof(iv)),
		       format_duration(p->timeout_ns, to, sizeof(to)), p->retries);
		if (!strcmp(what, "expect-during"))
			printf("; must %s%s%s", p->must_fail ? "fail" : "pass",
			       p->within_ns ? " within " : "",
			       p->within_ns ? format_duration(p->within_ns, within, sizeof(within)) : "");
		printf(")\n");
	}
}

void plan_print(const struct experiment *e, char **approvers, size_t napprovers,
		const char *operator, const char *refusal)
{
	char d1[32], d2[32];

	printf("plan of '%s' (%s), risk %s, operator %s, approvers:", e->title, e->file,
	       risk_name(e->risk), operator);
	for (size_t i = 0; i < napprovers; i++)
		printf(" %s", approvers[i]);
	printf(napprovers ? "\n" : " none\n");
	for (size_t i = 0; i < e->nnodes; i++) {
		const struct exp_node *n = &e->nodes[i];

		if (n->local)
			printf("  node %-9s here (no SSH), tug: %s\n", n->name, n->tug);
		else
			printf("  node %-9s %s@%s port %u, %s, tug: %s\n", n->name, n->user, n->host,
			       n->port, n->key ? n->key : "SSH agent", n->tug);
	}
	print_probe_plan("precondition", e->pre, e->npre, e);
	print_probe_plan("steady-state", e->steady, e->nsteady, e);
	for (size_t i = 0; i < e->nmethod; i++) {
		const struct exp_step *s = &e->method[i];

		if (s->kind == STEP_PAUSE) {
			printf("  method %zu      pause %s\n", i + 1, format_duration(s->pause_ns, d1, sizeof(d1)));
		} else if (s->kind == STEP_ACTION) {
			printf("  method %zu      on %s: %s\n", i + 1, e->nodes[s->node].name, s->run);
		} else {
			char *cmd = NULL;

			job_build_cmd(&e->nodes[s->node], s, &cmd);
			if (s->oneshot) {
				printf("  method %zu      on %s, one-shot: %s\n", i + 1, e->nodes[s->node].name,
				       cmd ? cmd + 5 : "?");
				free(cmd);
				continue;
			}
			printf("  method %zu      on %s for %s (reverts if silent %s): %s\n", i + 1,
			       e->nodes[s->node].name,
			       s->for_ns ? format_duration(s->for_ns, d1, sizeof(d1)) : "its default",
			       format_duration(s->heartbeat_ns, d2, sizeof(d2)), cmd ? cmd + 5 : "?");
			free(cmd);
		}
	}
	print_probe_plan("expect-during", e->during, e->nduring, e);
	if (e->nrecovery)
		printf("  recovery       within %s of the fault's end\n",
		       format_duration(e->recovery_within_ns, d1, sizeof(d1)));
	print_probe_plan("recovery", e->recovery, e->nrecovery, e);
	print_probe_plan("post-check", e->post, e->npost, e);
	for (size_t i = 0; i < e->nrollbacks; i++)
		printf("  rollback %zu    on %s: %s\n", i + 1, e->nodes[e->rollbacks[i].node].name,
		       e->rollbacks[i].run);
	printf("dry run: nothing was touched\n");
	if (refusal)
		printf("policy: a real run would be refused: it %s\n", refusal);
}
