// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/pkt_sched.h>
#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/route/qdisc.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kernel.h"
#include "spawn.h"
#include "probe.skel.h"

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

int kernel_btf_tp_args(const char *tp, int *ret_nargs, bool *ret_first_is_ptr)
{
	const struct btf_type *t;
	const struct btf_param *p;
	char name[128];
	struct btf *btf;
	int id, err = -ENOENT;

	btf = btf__load_vmlinux_btf();
	if (!btf)
		return -errno;
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id <= 0)
		goto out;
	/* typedef -> pointer -> func_proto (void *__data, args...) */
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (!t || !btf_is_ptr(t))
		goto out;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 1)
		goto out;
	p = btf_params(t);
	*ret_nargs = btf_vlen(t) - 1;
	*ret_first_is_ptr = false;
	if (btf_vlen(t) > 1) {
		const struct btf_type *a = btf__type_by_id(btf, btf__resolve_type(btf, p[1].type));

		*ret_first_is_ptr = a && btf_is_ptr(a);
	}
	err = 0;
out:
	btf__free(btf);
	return err;
}

int kernel_bpf_usable(void)
{
	static const struct bpf_insn ret0[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", ret0, 2, NULL);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int kernel_probe_tcx(void)
{
	__u32 cnt = 0;

	/* A query changes nothing, takes microseconds (a BTF parse takes a
	 * hundred milliseconds), and kernels without tcx reject the attach
	 * type with EINVAL. Loopback is ifindex 1 in every namespace. A
	 * refused bpf() (EPERM in a container) says nothing about the kernel. */
	if (bpf_prog_query(1, TUG_BPF_TCX_INGRESS, 0, NULL, NULL, &cnt) == 0)
		return 0;
	return errno ? -errno : -EINVAL;
}

bool kernel_has_tcx(void)
{
	return kernel_probe_tcx() == 0;
}

/* In a child, in a network namespace of its own that dies with it: the
 * host's devices are never touched. Loopback is ifindex 1 there too. */
static int try_qdisc_in_scratch_netns(const char *kind)
{
	struct rtnl_qdisc *q = NULL;
	struct nl_sock *sk = NULL;
	struct nl_msg *msg = NULL;
	int err;

	if (unshare(CLONE_NEWNET))
		return errno;
	sk = nl_socket_alloc();
	q = rtnl_qdisc_alloc();
	if (!sk || !q) {
		err = ENOMEM;
		goto cleanup;
	}
	err = nl_connect(sk, NETLINK_ROUTE);
	if (err) {
		err = EIO;
		goto cleanup;
	}
	rtnl_tc_set_ifindex(TC_CAST(q), 1);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
	/* The kind by hand: libnl's own module for it would want (or assert
	 * on) that kind's options. */
	if (rtnl_qdisc_build_add_request(q, NLM_F_CREATE, &msg) ||
	    nla_put_string(msg, TCA_KIND, kind)) {
		err = ENOMEM;
		goto cleanup;
	}
	err = nl_send_sync(sk, msg);
	msg = NULL;
	/* The kernel looks the kind up before it reads any option: ENOENT
	 * (libnl's NLE_OBJ_NOTFOUND) means no such qdisc; EINVAL means one
	 * that wants options (tbf), so the kind exists. */
	err = !err || err == -NLE_INVAL ? 0 : err == -NLE_OBJ_NOTFOUND ? ENOENT :
	      err == -NLE_PERM ? EPERM : EIO;
cleanup:
	nlmsg_free(msg);
	rtnl_qdisc_put(q);
	nl_socket_free(sk);
	return err;
}

static int qdisc_child(void *kind)
{
	return try_qdisc_in_scratch_netns(kind);
}

int kernel_probe_qdisc(const char *kind)
{
	pid_t pid;
	int r = spawn(&(struct spawn_opts){ .fn = qdisc_child, .arg = (void *)kind }, &pid, NULL);

	if (!r)
		r = spawn_wait(pid);
	/* The child exits with the positive errno; killed, it says nothing. */
	return r <= 0 ? r : r < 128 ? -r : -EIO;
}

int kernel_has_qdisc(const char *kind, const char *module)
{
	switch (kernel_module_state(module)) {
	case KMOD_ABSENT:
		return -ENOENT;
	case KMOD_UNKNOWN:
		return kernel_probe_qdisc(kind);
	default:
		return 0;
	}
}

/* Does a modules.builtin / modules.dep line name NAME.ko (any compression)? */
static bool modlist_has(const char *path, const char *name)
{
	char line[1024];
	size_t n = strlen(name);
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *end = strchr(line, ':'), *base;

		if (end)
			*end = '\0';
		else
			line[strcspn(line, "\n")] = '\0';
		base = strrchr(line, '/');
		base = base ? base + 1 : line;
		/* Module names treat '-' and '_' alike; file names keep either. */
		if (strlen(base) < n + 3 || strncmp(base + n, ".ko", 3))
			continue;
		found = true;
		for (size_t i = 0; i < n && found; i++)
			found = base[i] == name[i] ||
				((base[i] == '-' || base[i] == '_') && (name[i] == '-' || name[i] == '_'));
	}
	fclose(f);
	return found;
}

enum kernel_module kernel_module_state(const char *name)
{
	struct utsname u;
	char path[512];

	snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
	if (access(path, F_OK) == 0)
		return KMOD_LOADED;	/* only loadable modules have initstate */
	uname(&u);
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", u.release);
	if (modlist_has(path, name))
		return KMOD_BUILTIN;
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
	if (modlist_has(path, name))
		return KMOD_AVAILABLE;
	snprintf(path, sizeof(path), "/lib/modules/%s", u.release);
	if (access(path, F_OK) != 0)
		return KMOD_UNKNOWN;
	return KMOD_ABSENT;
}

const char *kernel_module_state_name(enum kernel_module m)
{
	switch (m) {
	case KMOD_BUILTIN: return "built in";
	case KMOD_LOADED: return "loaded";
	case KMOD_AVAILABLE: return "available as module";
	case KMOD_UNKNOWN: return "unknown (no /lib/modules for this kernel)";
	default: return "not in this kernel";
	}
}

bool kernel_file_has_word(const char *path, const char *word)
{
	char buf[4096], *save = NULL;
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (char *t = strtok_r(buf, " ,\n", &save); t; t = strtok_r(NULL, " ,\n", &save))
		if (!strcmp(t, word))
			return true;
	return false;
}

bool kernel_has_kprobe_override(void)
{
	return access("/sys/bus/event_source/devices/kprobe", F_OK) == 0 &&
	       libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_override_return, NULL) == 1;
}

bool kernel_has_seccomp_notif(void)
{
	return kernel_file_has_word("/proc/sys/kernel/seccomp/actions_avail", "user_notif");
}

static int silent_print(enum libbpf_print_level l, const char *f, va_list ap)
{
	return 0;
}

int kernel_probe_load(const char *prog_name)
{
	/* A failed probe is an answer, not an error worth libbpf's log. */
	libbpf_print_fn_t old = libbpf_set_print(silent_print);
	struct bpf_program *prog;
	struct probe_bpf *skel;
	int err;

	skel = probe_bpf__open();
	if (!skel) {
		err = -errno;
		goto out;
	}
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, !strcmp(bpf_program__name(prog), prog_name));
	err = probe_bpf__load(skel);
	probe_bpf__destroy(skel);
out:
	libbpf_set_print(old);
	return err;
}

bool host_has_systemd(char *comm, size_t len)
{
	FILE *f = fopen("/proc/1/comm", "re");

	if (!f || !fgets(comm, len, f))
		snprintf(comm, len, "unknown");
	if (f)
		fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return !access("/run/systemd/system/", F_OK) && !strcmp(comm, "systemd");
}
