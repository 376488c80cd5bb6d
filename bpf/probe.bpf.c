// SPDX-License-Identifier: GPL-2.0
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "probe.h"

SEC("fentry/do_nanosleep")
int BPF_PROG(probe_fentry)
{
	return 0;
}

SEC("fmod_ret/__x64_sys_getpgid")
int BPF_PROG(probe_fmod_ret)
{
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(probe_lsm, struct file *file)
{
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(probe_tp_btf)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
