// SPDX-License-Identifier: GPL-2.0
/* The one place that lists the fault families: adding a family adds a line. */
#include <stddef.h>

#include "fault.h"

extern const struct fault_ops net_partition_ops;
extern const struct fault_ops net_loss_ops;
extern const struct fault_ops pg_exhaust_ops;
extern const struct fault_ops net_refuse_ops;
extern const struct fault_ops net_dns_fail_ops;
extern const struct fault_ops disk_fill_ops;
extern const struct fault_ops mem_limit_ops;
extern const struct fault_ops mem_pressure_ops;
extern const struct fault_ops cpu_throttle_ops;
extern const struct fault_ops proc_freeze_ops;
extern const struct fault_ops sys_fail_ops;

const struct fault_ops *const fault_table[] = {
	&net_partition_ops,
	&net_loss_ops,
	&pg_exhaust_ops,
	&mem_limit_ops,
	&mem_pressure_ops,
	&cpu_throttle_ops,
	&proc_freeze_ops,
	&sys_fail_ops,
	&net_refuse_ops,
	&net_dns_fail_ops,
	&disk_fill_ops,
	NULL,
};
