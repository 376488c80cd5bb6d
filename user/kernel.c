// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kernel.h"

bool kernel_has_btf(void)
{
	return access("/sys/kernel/btf/vmlinux", R_OK) == 0;
}

bool kernel_btf_has_struct(const char *name, const char *module)
{
	struct btf *vmlinux, *btf;
	bool found;

	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return false;
	btf = vmlinux;
	if (module) {
		char path[256];

		snprintf(path, sizeof(path), "/sys/kernel/btf/%s", module);
		btf = btf__parse_split(path, vmlinux);
		if (!btf) {
			btf__free(vmlinux);
			return false;
		}
	}
	found = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT) > 0;
	if (btf != vmlinux)
		btf__free(btf);
	btf__free(vmlinux);
	return found;
}

bool kernel_has_tcx(void)
{
	__u32 cnt = 0;

	/* A query changes nothing, takes microseconds (a BTF parse takes a
	 * hundred milliseconds), and kernels without tcx reject the attach
	 * type with EINVAL. Loopback is ifindex 1 in every namespace. */
	return bpf_prog_query(1, TUG_BPF_TCX_INGRESS, 0, NULL, NULL, &cnt) == 0;
}
