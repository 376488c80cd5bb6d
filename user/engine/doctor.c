// SPDX-License-Identifier: GPL-2.0
/*
 * tug doctor: what the running kernel offers and which backend each fault
 * family will use. It looks, and loads programs it never attaches; it
 * mounts and changes nothing.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "config.h"
#include "json.h"
#include "commands.h"
#include "expedite.h"
#include "fault.h"
#include "kernel.h"
#include "log.h"
#include "sockdiag.h"

struct report {
	bool json;
	int missing;
};

static void check(struct report *r, const char *name, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void check(struct report *r, const char *name, bool ok, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (!ok)
		r->missing++;
	if (r->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "check", json_object_new_string(name));
		json_object_object_add(o, "ok", json_object_new_boolean(ok));
		json_object_object_add(o, "detail", json_object_new_string(detail));
		printf("%s\n", json_line(o));
		json_object_put(o);
	} else {
		printf("  %-22s %-4s %s\n", name, ok ? "yes" : "no", detail);
	}
}

static bool fs_magic(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == magic;
}

/* Why a probe program did or did not load. When bpf() itself is refused
 * (bpf_err), a failed load says nothing about the kernel: say that. */
static const char *load_detail(int err, int bpf_err)
{
	static char buf[160];

	if (err && bpf_err) {
		snprintf(buf, sizeof(buf), "not known: bpf() is refused here (%s)", strerror(-bpf_err));
		return buf;
	}
	return err == -EPERM ? "fails to load here (EPERM: kernel lockdown or config)" :
	       err == -ENOENT || err == -ESRCH ? "target missing from this kernel's BTF" :
	       err == -EINVAL ? "refused by the verifier (EINVAL)" :
	       err ? strerror(-err) : "loads";
}

static void check_module(struct report *r, const char *name, const char *module, const char *what)
{
	enum kernel_module m = kernel_module_state(module);

	check(r, name, m != KMOD_ABSENT && m != KMOD_UNKNOWN, "%s %s: %s", module,
	      kernel_module_state_name(m), what);
}

/* Where the module lists are missing (a kernel not installed from a
 * package, as on the development VM) a test qdisc in a scratch namespace
 * tells; elsewhere the lists do, and nothing is loaded. */
static void check_qdisc(struct report *r, const char *name, const char *kind, const char *module,
			const char *what)
{
	enum kernel_module m = kernel_module_state(module);
	int err;

	if (m != KMOD_UNKNOWN) {
		check_module(r, name, module, what);
		return;
	}
	err = kernel_probe_qdisc(kind);
	check(r, name, !err, "%s %s; a test qdisc in a scratch namespace: %s: %s", module,
	      kernel_module_state_name(m), !err ? "works" : err == -ENOENT ?
	      "not in this kernel" : strerror(-err), what);
}

int cmd_doctor(int argc, char **argv, bool json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{},
	};
	struct report r = { .json = json };
	struct cgroup_layout cg;
	struct utsname u;
	int opt, err, bpf_err;

	optind = 0;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'j') {
			r.json = true;
		} else if (opt == 'h') {
			printf("usage: tug doctor [--json]\n\n"
			       "Say which kernel mechanisms this machine offers and which backend\n"
			       "each fault family will use. Changes nothing.\n");
			return EXIT_SUCCESS;
		} else {
			return 2;
		}
	}
	if (geteuid() != 0)
		log_warn("not root: BPF load checks will fail; run 'sudo tug doctor'");

	uname(&u);
	if (!r.json)
		printf("kernel %s %s\n\nKernel mechanisms:\n", u.release, u.machine);
	check(&r, "btf", kernel_has_btf(), "/sys/kernel/btf/vmlinux%s",
	      kernel_has_btf() ? "" : " missing: CO-RE uses the fallback vmlinux.h");
	bpf_err = kernel_bpf_usable();
	check(&r, "bpf_syscall", !bpf_err, "%s%s", bpf_err ? strerror(-bpf_err) : "bpf() loads programs",
	      bpf_err == -EPERM ? ": no CAP_BPF/CAP_SYS_ADMIN, or bpf() filtered (a container's "
	      "seccomp policy); the BPF checks below cannot tell what the kernel offers" : "");
	err = kernel_probe_tcx();
	if (!err)
		check(&r, "tcx", true, "tc programs through bpf_link (kernel >= 6.6)");
	else if (err == -EINVAL && !bpf_err)
		check(&r, "tcx", false, "not in this kernel (tcx arrived in 6.6): clsact filters instead");
	else
		check(&r, "tcx", false, "not known: the tcx query was refused (%s)", strerror(-err));
	{
		struct tug_config cfg;
		bool on = false;
		int xerr = rcu_expedite_usable(&on);

		if (err == -EINVAL && !bpf_err)	/* the tcx probe's answer, above */
			check(&r, "rcu_expedited", true, "not used: no tcx in this kernel (clsact "
			      "filters wait for no grace period)");
		else if (config_load(&cfg) == 0 && !cfg.expedite_rcu)
			check(&r, "rcu_expedited", true, "not used: expedite-rcu = no in tug.conf (tcx "
			      "attaches wait for normal grace periods)");
		else if (!xerr)
			check(&r, "rcu_expedited", true, "tcx attaches and detaches expedite their RCU "
			      "grace periods for their milliseconds%s", on ? " (on now: the "
			      "administrator's, or a tug's at work; left as it is)" : "");
		else
			check(&r, "rcu_expedited", false, "/sys/kernel/rcu_expedited: %s: a tcx attach "
			      "waits for normal grace periods (about 20 ms more to the first drop)",
			      strerror(-xerr));
	}
	{
		/* Built in (in vmlinux BTF), loaded, or a module the kernel
		 * loads when tc first asks for a clsact qdisc. */
		enum kernel_module m = kernel_module_state("sch_ingress");
		bool clsact = m != KMOD_ABSENT && m != KMOD_UNKNOWN;

		if (!clsact && kernel_btf_has_struct("clsact_sched_data", NULL))
			m = KMOD_BUILTIN, clsact = true;
		check(&r, "clsact", clsact, "sch_ingress %s%s", kernel_module_state_name(m),
		      m == KMOD_AVAILABLE ? " (the kernel loads it on first use)" : "");
	}
	check_qdisc(&r, "qdisc_netem", "netem", "sch_netem", "delay, loss, corruption, duplication");
	check_qdisc(&r, "qdisc_htb", "htb", "sch_htb", "bandwidth classes");
	check_qdisc(&r, "qdisc_tbf", "tbf", "sch_tbf", "rate limit");
	check_qdisc(&r, "qdisc_fq", "fq", "sch_fq",
		    "fair queueing, pacing, departure times (what net delay needs)");
	check_qdisc(&r, "qdisc_prio", "prio", "sch_prio", "priority bands");
	check(&r, "bpffs", fs_magic("/sys/fs/bpf", BPF_FS_MAGIC), "%s",
	      fs_magic("/sys/fs/bpf", BPF_FS_MAGIC) ? "mounted at /sys/fs/bpf" :
	      "not mounted (tug needs no pins; 'mount -t bpf bpf /sys/fs/bpf' for bpftool)");
	{
		bool t = fs_magic("/sys/kernel/tracing", TRACEFS_MAGIC);

		check(&r, "tracefs", t, "%s", t ? "mounted at /sys/kernel/tracing" :
		      "not mounted; tug mounts it (and says so) when a tracepoint needs it");
	}
	err = kernel_probe_load("probe_tp_btf");
	{
		/* tug watch --oom reads the victim's task_struct; before 6.8
		 * mark_victim passes only its pid (see observe.bpf.c). */
		int nargs = 0;
		bool task = false;

		if (!err && kernel_btf_tp_args("mark_victim", &nargs, &task) == 0 && !task)
			check(&r, "tp_btf", true, "loads; oom/mark_victim passes only a pid here "
			      "(before 6.8): OOM events come from fentry, else a kprobe, on "
			      "mark_oom_victim()");
		else
			check(&r, "tp_btf", !err, "oom/mark_victim via BTF tracepoint: %s",
			      load_detail(err, bpf_err));
	}
	err = kernel_probe_load("probe_fentry");
	check(&r, "fentry", !err, "%s%s", load_detail(err, bpf_err),
	      err ? "" : " (no fault family uses fentry)");
	err = kernel_probe_load("probe_fmod_ret");
	check(&r, "fmod_ret", !err, "on syscall wrappers (what sys fail needs): %s%s",
	      load_detail(err, bpf_err), err == -EINVAL && !bpf_err ?
	      ": not on the error-injection list (kernel without CONFIG_FUNCTION_ERROR_INJECTION)" : "");
	{
		bool listed = kernel_file_has_word("/sys/kernel/security/lsm", "bpf");

		err = kernel_probe_load("probe_lsm");
		check(&r, "bpf_lsm", !err && listed, "%s%s%s", load_detail(err, bpf_err),
		      listed ? "" : "; 'bpf' not in /sys/kernel/security/lsm",
		      !err && listed ? " (sys fail: errno for a running --pid/--cgroup on the open, "
		      "read, write families and connect)" : "");
	}
	{
		char lsm[256] = "";
		FILE *f = fopen("/sys/kernel/security/lsm", "re");
		bool ok = f && fgets(lsm, sizeof(lsm), f);

		if (f)
			fclose(f);
		lsm[strcspn(lsm, "\n")] = '\0';
		check(&r, "lsm", ok, "%s", ok ? lsm : "/sys/kernel/security/lsm unreadable (securityfs not mounted?)");
	}
	{
		bool kprobes = access("/sys/bus/event_source/devices/kprobe", F_OK) == 0;

		check(&r, "kprobe_override", kernel_has_kprobe_override(),
		      "kprobes %s, bpf_override_return %s", kprobes ? "yes" : "no",
		      libbpf_probe_bpf_helper(BPF_PROG_TYPE_KPROBE, BPF_FUNC_override_return, NULL) == 1 ?
		      "yes" : "no");
	}
	{
		bool notif = kernel_has_seccomp_notif();

		check(&r, "seccomp_user_notif", notif, "%s",
		      notif ? "SECCOMP_RET_USER_NOTIF available" : "not in actions_avail");
	}
	{
		char comm[64];
		bool sd = host_has_systemd(comm, sizeof(comm));

		check(&r, "systemd", sd, "PID 1 is %s: node reboot %s", comm,
		      sd ? "asks it (systemctl reboot)" : "refuses (it reboots only through systemd)");
	}
	check(&r, "ringbuf", libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1, "BPF ring buffer");
	check(&r, "cgroup_sock_addr",
	      libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_CGROUP_SOCK_ADDR, NULL) == 1,
	      "connect/sendmsg hooks");
	err = sockdiag_destroy_supported();
	check(&r, "inet_diag_destroy", !err, "%s", !err ? "sockets destroyed through inet_diag (net reset)" :
	      err == -EOPNOTSUPP ? "kernel without CONFIG_INET_DIAG_DESTROY: net reset cannot reset established connections" :
	      strerror(-err));

	if (cgroup_probe(&cg) == 0) {
		check(&r, "cgroup_v2", cg.v2_root[0], "%s%s%s",
		      cg.v2_root[0] ? cg.v2_root : "not mounted",
		      cg.v2_root[0] ? " controllers: " : "", cg.v2_controllers);
		check(&r, "cgroup_v1", cg.v1_count > 0, "%s", cg.v1_summary);
		check(&r, "memory_controller", cg.memory[0], "%s", cg.memory[0] ? cg.memory : "none");
	}

	if (!r.json)
		printf("\nFault families:\n");
	for (const struct fault_ops *const *o = fault_table; *o; o++) {
		char why[256] = "", name[64];
		const char *b = (*o)->backend ? (*o)->backend(why, sizeof(why)) : "userspace";

		snprintf(name, sizeof(name), "%s %s", (*o)->family, (*o)->verb);
		if (r.json) {
			json_object *x = json_object_new_object();

			json_object_object_add(x, "fault", json_object_new_string(name));
			json_object_object_add(x, "backend", json_object_new_string(b ? b : "unavailable"));
			json_object_object_add(x, "why", json_object_new_string(why));
			printf("%s\n", json_line(x));
			json_object_put(x);
		} else {
			printf("  %-22s %-10s %s\n", name, b ? b : "none", why);
		}
	}
	return EXIT_SUCCESS;
}
