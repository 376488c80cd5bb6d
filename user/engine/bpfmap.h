/* SPDX-License-Identifier: GPL-2.0 */
/* What families do with their BPF maps: fill peer tries, name a map to
 * `tug status` (which reads its counters by id). */
#ifndef TUG_BPFMAP_H
#define TUG_BPFMAP_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"

/* The map's kernel id, or -errno. */
int bpf_map_id(int fd);
/*
 * One CIDR into an LPM trie whose key is { __u32 prefixlen; __u8 prefix[n];
 * __u8 addr[4 or 16]; } (n = prefix_len bytes that always match, a port say):
 * prefixlen counts them too. The trie of the CIDR's family: fd4 or fd6.
 */
int lpm_add_cidr(int fd4, int fd6, const uint8_t *prefix, size_t prefix_len,
		 const struct cidr *c);

#endif
