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

#endif
