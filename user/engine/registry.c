// SPDX-License-Identifier: GPL-2.0
/*
 * The one place that lists what tug can do to a node: held faults (a family
 * adds a line to fault_table) and one-shot actions (action_table). Built
 * twice: the node controller (TUG_NODE) leaves out what needs libpq, which
 * tug-full carries.
 */
#include <stddef.h>
#include <string.h>

#include "commands.h"
#include "fault.h"

extern const struct fault_ops net_partition_ops;
extern const struct fault_ops net_loss_ops;
extern const struct fault_ops net_corrupt_ops;
extern const struct fault_ops net_duplicate_ops;
extern const struct fault_ops net_bandwidth_ops;
extern const struct fault_ops net_reset_ops;
extern const struct fault_ops net_delay_ops;
extern const struct fault_ops net_refuse_ops;
extern const struct fault_ops net_dns_fail_ops;
extern const struct fault_ops disk_fill_ops;
extern const struct fault_ops node_isolate_ops;
extern const struct fault_ops mem_limit_ops;
extern const struct fault_ops mem_pressure_ops;
extern const struct fault_ops cpu_throttle_ops;
extern const struct fault_ops proc_freeze_ops;
extern const struct fault_ops sys_fail_ops;

#ifndef TUG_NODE
extern const struct fault_ops pg_exhaust_ops;
#endif

const struct fault_ops *const fault_table[] = {
	&net_partition_ops,
	&net_loss_ops,
	&net_corrupt_ops,
	&net_duplicate_ops,
	&net_bandwidth_ops,
	&net_reset_ops,
	&net_delay_ops,
#ifndef TUG_NODE
	&pg_exhaust_ops,
#endif
	&mem_limit_ops,
	&mem_pressure_ops,
	&cpu_throttle_ops,
	&proc_freeze_ops,
	&sys_fail_ops,
	&net_refuse_ops,
	&net_dns_fail_ops,
	&disk_fill_ops,
	&node_isolate_ops,
	NULL,
};

#ifdef TUG_NODE
const char *const fault_table_sibling = "tug-full";
#else
const char *const fault_table_sibling = NULL;
#endif

const struct fault_ops *fault_find(const char *family, const char *verb)
{
	for (const struct fault_ops *const *o = fault_table; *o; o++)
		if (!strcmp((*o)->family, family) && !strcmp((*o)->verb, verb))
			return *o;
	return NULL;
}

/* One-shot actions, by noun and verb like the faults (commands.h): they hold
 * nothing, so nothing is journalled or reverted. */
const struct action action_table[] = {
	{ "proc", "kill", cmd_proc_kill, "signal exactly one service's processes; measure its restart" },
	{ "proc", "restart", cmd_proc_restart, "restart a service through its manager; time to healthy" },
	{ "node", "reboot", cmd_node_reboot, "reboot the node through systemd, once its answer is out" },
#ifndef TUG_NODE
	{ "pg", "crash", cmd_pg_crash, "SIGKILL the postmaster; time until queries work again" },
#endif
	{},
};

const struct action *action_find(const char *family, const char *verb)
{
	for (const struct action *a = action_table; a->family; a++)
		if (verb && !strcmp(a->family, family) && !strcmp(a->verb, verb))
			return a;
	return NULL;
}

