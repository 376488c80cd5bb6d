/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP sockets of the current network namespace, found and destroyed through
 * the kernel's inet_diag (what `ss -K` does): the kernel sends the peer a
 * RST and the socket's owner gets ECONNABORTED. Needs CAP_NET_ADMIN and a
 * kernel built with CONFIG_INET_DIAG_DESTROY.
 */
#ifndef TUG_SOCKDIAG_H
#define TUG_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"

/* Which sockets: the remote address in one of peers, and when port is not 0,
 * port as the local or the remote port; never the spared one (the SSH
 * session that started tug): spare_family AF_INET or AF_INET6, 0 = none. */
struct sockdiag_filter {
	const struct cidr *peers;
	size_t npeers;
	uint16_t port;
	int spare_family;
	uint8_t spare_addr[16];		/* its remote end */
	uint16_t spare_local_port, spare_remote_port;
};

/* Destroy every matching TCP socket (IPv4 and IPv6, also IPv4-mapped) that
 * is established or half-open (SYN_SENT, SYN_RECV). *ret_reset counts those
 * the kernel destroyed; a socket that closed meanwhile is not an error.
 * -EOPNOTSUPP: the kernel has no CONFIG_INET_DIAG_DESTROY. */
int sockdiag_reset_tcp(const struct sockdiag_filter *flt, unsigned int *ret_reset);

/* 0 when the kernel can destroy sockets, -EOPNOTSUPP when it cannot, other
 * -errno when it could not be asked. Destroys nothing. */
int sockdiag_destroy_supported(void);

#endif
