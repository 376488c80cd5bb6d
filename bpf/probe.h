/* SPDX-License-Identifier: GPL-2.0 */
/* probe.bpf.c holds one tiny program per mechanism `tug doctor` checks by
 * loading it (never attaching): the only honest test of "does it load". */
#ifndef TUG_BPF_PROBE_H
#define TUG_BPF_PROBE_H
#include "common.h"
#endif
