/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cgroup knobs: one file of one cgroup (memory.max, cpu.max, cgroup.freeze
 * and their v1 forms), written for the fault and restored exactly. The
 * engine behind mem limit (faults/mem.c), cpu throttle (faults/cpu.c) and
 * proc freeze (faults/proc.c); each family names its ops with KNOB_OPS.
 *
 * None of this is owned by a file descriptor: it outlives a crashed
 * controller. The previous value goes into the journal before anything is
 * written, the guardian restores it within a poll wakeup of a SIGKILL, and
 * `tug recover` after a crash of both. Every restore first reads the knob:
 * a value someone else wrote after tug is left alone, and tug says so.
 */
#ifndef TUG_CGKNOB_H
#define TUG_CGKNOB_H

#include <stdbool.h>
#include <stdint.h>

#include "cgroup.h"
#include "fault.h"
#include "parse.h"

struct observer;

enum knob_kind { KNOB_MEM, KNOB_CPU, KNOB_FREEZE };

struct knob_priv {
	enum knob_kind kind;
	const char *cgroup_arg;
	struct size_or_pct max;
	bool have_max;
	bool soft;
	double percent;
	struct cgroup_dir cg;
	const char *file;
	char prev[128], want[128], applied[128];
	uint64_t base_pct;		/* what PCT is of, for describe */
	unsigned long long base_oom, base_events, base_throttled, base_throttled_us;
	uint64_t freeze_ns;
	struct observer *obs;		/* mem: OOM kills in the cgroup, live */
};

int knob_parse(struct fault *f, int argc, char **argv);
int knob_prepare(struct fault *f);
int knob_apply(struct fault *f);
void knob_describe(struct fault *f, char *buf, size_t len);
int knob_counters(struct fault *f, struct fault_counter *c, int max);
int knob_revert(struct fault *f);
int knob_recover(json_object *entry);
/* Recovery touches only cgroup directories under this host's cgroup
 * mounts, whatever a journal entry names: true (and a warning) otherwise. */
bool knob_path_refused(const char *dir);
/* The backend doctor reports: "cgroup-v2"/"cgroup-v1", or NULL with why. */
const char *knob_backend_for(const char *controller, const char *v1file, const char *v2file,
			     char *why, size_t len);

#define KNOB_OPS(fam, vb, sum, use, be)                                \
	{                                                              \
		.family = fam, .verb = vb, .summary = sum, .usage = use, \
		.priv_size = sizeof(struct knob_priv),                 \
		.parse = knob_parse, .prepare = knob_prepare,          \
		.apply = knob_apply, .describe = knob_describe,        \
		.counters = knob_counters, .revert = knob_revert,      \
		.recover = knob_recover, .backend = be,                \
	}

#define CGROUP_USAGE \
	"  --cgroup PATH      the service's cgroup: absolute (/sys/fs/cgroup/system.slice/x)\n" \
	"                     or relative to the hierarchy that holds the controller\n" \
	"                     (system.slice/foo.service works on v1 and v2 hosts)\n"

#endif
