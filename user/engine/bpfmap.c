// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "bpfmap.h"

int bpf_map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &len) ? -errno : (int)info.id;
}

int lpm_add_cidr(int fd4, int fd6, const uint8_t *prefix, size_t prefix_len,
		 const struct cidr *c)
{
	/* Room for the largest key; the kernel reads the map's key_size of it,
	 * padding included, so the rest stays zero. */
	struct {
		__u32 prefixlen;
		__u8 data[8 + 16];
	} key = { .prefixlen = 8 * prefix_len + c->prefixlen };
	size_t alen = c->family == AF_INET ? 4 : 16;
	__u8 one = 1;

	if (prefix_len > 8)
		return -EINVAL;
	if (prefix_len)
		memcpy(key.data, prefix, prefix_len);
	memcpy(key.data + prefix_len, c->addr, alen);
	return bpf_map_update_elem(c->family == AF_INET ? fd4 : fd6, &key, &one, BPF_ANY) ? -errno : 0;
}
