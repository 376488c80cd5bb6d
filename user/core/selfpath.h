/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tug is two executables side by side: tug, the node controller, and
 * tug-full, which adds the orchestrator and the PostgreSQL faults. What
 * tug writes for later (a timer's command, the lab's TUG) is always the
 * tug a user runs, whichever of the two is running.
 */
#ifndef TUG_SELFPATH_H
#define TUG_SELFPATH_H

#include <stddef.h>

/* NAME in the directory of this executable: 0 or -errno. */
int self_sibling(const char *name, char *buf, size_t len);
/* The tug command: this executable, or the tug beside tug-full. */
int self_command(char *buf, size_t len);

#endif
