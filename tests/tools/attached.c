// SPDX-License-Identifier: GPL-2.0
/*
 * attached IFNAME: how many BPF programs are attached to one interface of
 * this network namespace (tcx ingress and egress, by BPF_PROG_QUERY), so a
 * test checks its own interface, not every program on a machine where
 * other tests run too. Prints the count; exit 1 on an error.
 */
#include <errno.h>
#include <linux/bpf.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int query(unsigned ifindex, unsigned type, unsigned *count)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.query.target_fd = ifindex;	/* an ifindex for tcx (a union in newer headers) */
	a.query.attach_type = type;
	if (syscall(SYS_bpf, BPF_PROG_QUERY, &a, sizeof(a)))
		return -errno;
	*count = a.query.prog_cnt;
	return 0;
}

int main(int argc, char **argv)
{
	/* libbpf 1.1's uapi predates tcx; the ABI numbers are stable */
	static const unsigned types[] = { 46, 47 };
	unsigned ifindex, total = 0;

	if (argc != 2 || !(ifindex = if_nametoindex(argv[1]))) {
		fprintf(stderr, "usage: attached IFNAME (an interface of this namespace)\n");
		return 1;
	}
	for (size_t i = 0; i < 2; i++) {
		unsigned n = 0;
		int err = query(ifindex, types[i], &n);

		if (err == -EINVAL)
			continue;	/* no tcx in this kernel: nothing attached there */
		if (err) {
			fprintf(stderr, "attached: BPF_PROG_QUERY: %s\n", strerror(-err));
			return 1;
		}
		total += n;
	}
	printf("%u\n", total);
	return 0;
}
