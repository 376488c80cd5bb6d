// SPDX-License-Identifier: GPL-2.0
/*
 * attached IFNAME: how many BPF programs are attached to one interface of
 * this network namespace (tcx ingress and egress, by BPF_PROG_QUERY), so a
 * test checks its own interface, not every program on a machine where
 * other tests run too. Prints the count; exit 1 on an error.
 *
 * attached -m IFNAME: a line per tcx program instead, "ingress|egress
 * PROG_ID MAP_ID,MAP_ID,..." (the maps the program uses, as the kernel
 * lists them), so a test sees which maps two programs share.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAXP 64

static int query(unsigned ifindex, unsigned type, unsigned *count, __u32 *ids)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.query.target_fd = ifindex;	/* an ifindex for tcx (a union in newer headers) */
	a.query.attach_type = type;
	a.query.prog_ids = (__u64)(unsigned long)ids;
	a.query.prog_cnt = ids ? MAXP : 0;
	if (syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof(a)))
		return -errno;
	*count = a.query.prog_cnt;
	return 0;
}

/* "MAP_ID,MAP_ID,..." of program ID on stdout. */
static int print_maps(__u32 id)
{
	__u32 maps[MAXP];
	struct bpf_prog_info info;
	union bpf_attr a;
	int fd, err = 0;

	memset(&a, 0, sizeof(a));
	a.prog_id = id;
	fd = syscall(SYS_bpf, BPF_PROG_GET_FD_BY_ID, &a, sizeof(a));
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = MAXP;
	info.map_ids = (__u64)(unsigned long)maps;
	memset(&a, 0, sizeof(a));
	a.info.bpf_fd = fd;
	a.info.info_len = sizeof(info);
	a.info.info = (__u64)(unsigned long)&info;
	if (syscall(SYS_bpf, BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)))
		err = -errno;
	for (__u32 i = 0; !err && i < info.nr_map_ids && i < MAXP; i++)
		printf("%s%u", i ? "," : "", maps[i]);
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	/* libbpf 1.1's uapi predates tcx; the ABI numbers are stable */
	static const unsigned types[] = { 46, 47 };
	static const char *const names[] = { "ingress", "egress" };
	bool maps = argc == 3 && !strcmp(argv[1], "-m");
	unsigned ifindex, total = 0;
	__u32 ids[MAXP];

	if ((argc != 2 && !maps) || !(ifindex = if_nametoindex(argv[argc - 1]))) {
		fprintf(stderr, "usage: attached [-m] IFNAME (an interface of this namespace)\n");
		return 1;
	}
	for (size_t i = 0; i < 2; i++) {
		unsigned n = 0;
		int err = query(ifindex, types[i], &n, maps ? ids : NULL);

		if (err == -EINVAL)
			continue;	/* no tcx in this kernel: nothing attached there */
		if (err) {
			fprintf(stderr, "attached: BPF_PROG_QUERY: %s\n", strerror(-err));
			return 1;
		}
		total += n;
		for (unsigned j = 0; maps && j < n && j < MAXP; j++) {
			printf("%s %u ", names[i], ids[j]);
			err = print_maps(ids[j]);
			printf("\n");
			if (err) {
				fprintf(stderr, "attached: program %u: %s\n", ids[j], strerror(-err));
				return 1;
			}
		}
	}
	if (!maps)
		printf("%u\n", total);
	return 0;
}
