// SPDX-License-Identifier: GPL-2.0
/*
 * The risk policy: whether the approvals given cover an experiment's risk
 * (approvals-medium and -high in tug.conf). Apart, and in one place,
 * because a run, a suite and their dry runs must refuse the same runs:
 * they all ask here.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "experiment.h"
#include "run_int.h"

/* The risk policy, in one place: NULL when the approvals cover the risk,
 * else why not (for a refusal or a dry run's verdict). */
const char *policy_refusal(const struct tug_config *cfg, enum risk risk, char **approvers,
			   size_t napprovers, char *buf, size_t len)
{
	unsigned need = risk == RISK_HIGH ? cfg->approvals_high :
			risk == RISK_MEDIUM ? cfg->approvals_medium : 0;
	size_t distinct = 0;

	for (size_t i = 0; i < napprovers; i++) {
		bool dup = false;

		for (size_t j = 0; j < i; j++)
			dup |= !strcmp(approvers[i], approvers[j]);
		distinct += !dup;
	}
	if (distinct >= need)
		return NULL;
	snprintf(buf, len, "is %s risk and needs %u distinct approver%s (--approve NAME%s), %zu given",
		 risk_name(risk), need, need == 1 ? "" : "s", need > 1 ? " --approve NAME2" : "",
		 distinct);
	return buf;
}
