// SPDX-License-Identifier: GPL-2.0
/*
 * The risk policy: whether the approvals given cover an experiment's risk
 * (approvals-medium and -high in tug.conf), which approvers count (each
 * name once, in the record and a suite's report too) and until when
 * approvals given at install count. Apart, and in one place, because a
 * run, a suite and their dry runs must refuse the same runs: they all ask
 * here.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "experiment.h"
#include "log.h"
#include "run_int.h"

/* An approver named twice counts once: approvers[i] is not a name given
 * before it. */
bool policy_approver_distinct(char **approvers, size_t i)
{
	bool dup = false;

	for (size_t j = 0; j < i; j++)
		dup |= !strcmp(approvers[i], approvers[j]);
	return !dup;
}

/* The risk policy, in one place: NULL when the approvals cover the risk,
 * else why not (for a refusal or a dry run's verdict). */
const char *policy_refusal(const struct tug_config *cfg, enum risk risk, char **approvers,
			   size_t napprovers, char *buf, size_t len)
{
	unsigned need = risk == RISK_HIGH ? cfg->approvals_high :
			risk == RISK_MEDIUM ? cfg->approvals_medium : 0;
	size_t distinct = 0;

	for (size_t i = 0; i < napprovers; i++)
		distinct += policy_approver_distinct(approvers, i);
	if (distinct >= need)
		return NULL;
	snprintf(buf, len, "is %s risk and needs %u distinct approver%s (--approve NAME%s), %zu given",
		 risk_name(risk), need, need == 1 ? "" : "s", need > 1 ? " --approve NAME2" : "",
		 distinct);
	return buf;
}

/* Approvals given at install hold for a while, not for every later run:
 * past expire (seconds since the epoch, 0: no end) the run has none, and
 * the policy decides (a low-risk file still runs; medium and high are
 * refused before anything is touched). Returns how many still count. */
size_t policy_approvals_held(const char *file, char **approvers, size_t napprovers,
			     long long expire)
{
	if (expire && time(NULL) > expire && napprovers) {
		char who[512] = "", when[32];
		struct tm tm;
		time_t t = expire;

		for (size_t i = 0, off = 0; i < napprovers && off < sizeof(who); i++)
			off += snprintf(who + off, sizeof(who) - off, "%s%s", i ? ", " : "", approvers[i]);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", localtime_r(&t, &tm));
		log_error("the approvals of %s for %s held until %s and count no more; to run it "
			  "again they (or others) approve anew: tug schedule install %s ... --approve NAME",
			  who, file, when, file);
		return 0;
	}
	return napprovers;
}
