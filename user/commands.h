/* SPDX-License-Identifier: GPL-2.0 */
/* Commands that are not faults. Each returns the process exit status. */
#ifndef TUG_COMMANDS_H
#define TUG_COMMANDS_H

#include <stdbool.h>

int cmd_doctor(int argc, char **argv, bool json);
int cmd_status(int argc, char **argv, bool json);
int cmd_revert(int argc, char **argv, bool json);
int cmd_recover(int argc, char **argv, bool json);
int cmd_run(int argc, char **argv, bool json);
int cmd_lab(int argc, char **argv, bool json);
int cmd_schedule(int argc, char **argv, bool json);

/*
 * One-shot actions: named like fault verbs ("proc kill") but they hold
 * nothing, so nothing is journalled or reverted (see proc.h for why). The
 * table is in engine/registry.c, beside fault_table for held faults.
 */
struct action {
	const char *family;
	const char *verb;
	int (*fn)(int argc, char **argv, bool json);
	const char *summary;
};
extern const struct action action_table[];
const struct action *action_find(const char *family, const char *verb);

int cmd_proc_kill(int argc, char **argv, bool json);
int cmd_proc_restart(int argc, char **argv, bool json);
int cmd_pg_crash(int argc, char **argv, bool json);
int cmd_node_reboot(int argc, char **argv, bool json);
int cmd_watch(int argc, char **argv, bool json);

#endif
