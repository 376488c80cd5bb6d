/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The journal of live faults: one JSON file per fault, written and fsynced
 * before the fault is applied, removed after it is reverted. Entries of
 * faults whose state dies with the machine live under /run/tug; entries of
 * faults whose state outlives a reboot (a fill file) under /var/lib/tug.
 * TUG_RUN_DIR and TUG_STATE_DIR move both, for tests.
 */
#ifndef TUG_JOURNAL_H
#define TUG_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <json-c/json.h>

#include "json.h"
#include "procfs.h"

int journal_write(json_object *entry, bool persistent);
int journal_remove(const char *id);
int journal_load(const char *id, json_object **ret);
/* All entries, both directories, as a JSON array sorted by start time. */
int journal_list(json_object **ret);
/* Remove the entries of dead owners whose faults the kernel ended with them
 * ("kernel_owned": nothing of theirs outlives the process): they are no
 * faults any more. Returns how many went, or -errno. */
int journal_sweep(void);
/* An exclusive lock on the journal (flock), so two starts cannot both see
 * a knob free; returns the fd to close, or -errno. */
int journal_lock(void);

/* Is the entry's owner (owner_pid + owner_start) still running? */
bool journal_owner_alive(json_object *entry);

const char *journal_run_dir(void);
const char *journal_state_dir(void);


#endif
