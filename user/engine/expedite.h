/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Expedited RCU grace periods while tug changes tcx links.
 *
 * Each tcx attach and detach waits for RCU grace periods under the rtnl
 * lock: about 5-10 ms each at HZ=250, five of them for a partition, and the
 * first one before the first packet is dropped. With
 * /sys/kernel/rcu_expedited set, the same waits take tens of microseconds
 * (an IPI to each CPU instead of waiting for them all to pass a quiescent
 * state). tug sets it for the milliseconds its attach or detach takes and
 * puts it back, under a lock that also tells a later tug when one died in
 * between: /run/tug/rcu-expedited exists only while a tug holds the lock
 * (each removes it as it lets go), and holds "1" while that tug owes the 0;
 * whoever next takes the lock and finds the "1" (every tcx fault, the dead
 * controller's guardian, `tug recover`) puts the knob back. A knob already
 * set by the administrator (the rcupdate.rcu_expedited boot parameter, or by
 * hand) is left as it is.
 */
#ifndef TUG_EXPEDITE_H
#define TUG_EXPEDITE_H

#include <stdbool.h>

struct rcu_expedite {
	int lock_fd;
	bool set;	/* we wrote 1 and owe the 0 */
};

/* Expedite grace periods until rcu_expedite_end(). -errno when the knob
 * cannot be set (no such file, read-only /sys, the lock held by a stopped
 * tug past 50 ms): the caller goes on with normal grace periods, slower but
 * the same. */
int rcu_expedite_begin(struct rcu_expedite *x);
void rcu_expedite_end(struct rcu_expedite *x);

/* Put the knob back if a tug died holding it: 1 when it did, 0 when there
 * was nothing to do, -errno. For `tug recover`. */
int rcu_expedite_heal(void);

/* For `tug doctor`: 0 when tug can expedite (*ret_on: the knob is on now),
 * or the -errno rcu_expedite_begin() would meet. */
int rcu_expedite_usable(bool *ret_on);

#endif
