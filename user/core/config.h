/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Site configuration, /etc/tug/tug.conf (TUG_CONFIG moves it):
 *
 *   # no fault may be asked to hold longer than this
 *   max-for = 1h
 *   default-for = 60s
 *   # distinct --approve names `tug run` needs for medium and high risk
 *   approvals-medium = 1
 *   approvals-high = 2
 *   # optional: one INSERT per `tug run` into a table of the operator's
 *   summary-table = thermal_memory_archive
 *   summary-columns = memory_hash:run_id, original_content:summary,
 *                     current_stage:verdict, temperature_score:time_to_recover_ms
 *   (one line; the sources are listed in sink.h)
 *   # tcx attaches and detaches turn /sys/kernel/rcu_expedited on for their
 *   # milliseconds (expedite.h); no: they wait for normal grace periods
 *   expedite-rcu = yes
 */
#ifndef TUG_CONFIG_H
#define TUG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

struct tug_config {
	uint64_t default_for_ns;
	uint64_t max_for_ns;
	unsigned approvals_medium;
	unsigned approvals_high;
	char summary_table[128];	/* "" = no summary sink */
	char summary_columns[384];
	bool expedite_rcu;
};

/* Defaults, overridden by the file when it exists. -EINVAL (logged, with
 * file and line) on a malformed file. */
int config_load(struct tug_config *ret);

#endif
