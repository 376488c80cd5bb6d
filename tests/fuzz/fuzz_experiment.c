// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: experiment files, YAML and JSON, must never crash,
 * leak or hang the parser; a rejection must carry file:line:col. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "experiment.h"
#include "fault.h"

/* The parser asks the registry whether a verb holds a fault ('oneshot:' on
 * one is refused); the real registry links every family, so the target
 * answers for the net family, which keeps that path fuzzed. */
const struct fault_ops *fault_find(const char *family, const char *verb)
{
	static const struct fault_ops held = { .family = "net", .verb = "partition" };

	return family && verb && !strcmp(family, "net") ? &held : NULL;
}

/* ... and whether it acts once (a step without 'oneshot:' is refused). */
const struct action *action_find(const char *family, const char *verb)
{
	static const struct action once = { .family = "proc", .verb = "kill" };

	return family && verb && !strcmp(family, "proc") ? &once : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct exp_var vars[] = { { "bound", "1s", false } };
	struct experiment *e = NULL;
	struct exp_errors errs;
	/* The first byte picks the file name, hence JSON or YAML. */
	const char *name = size && (data[0] & 1) ? "f.json" : "f.yaml";
	int err = experiment_parse(name, (const char *)data, size, vars, 1, &e, &errs);

	if (!err) {
		experiment_free(e);
		return 0;
	}
	for (size_t i = 0; i < errs.n; i++) {
		int line = 0, col = 0;

		if (sscanf(errs.msg[i] + strlen(name), ":%d:%d:", &line, &col) != 2 || line < 1 || col < 1) {
			fprintf(stderr, "error without a position: %s\n", errs.msg[i]);
			abort();
		}
	}
	return 0;
}
