// SPDX-License-Identifier: GPL-2.0
/* tug sys fail: option parsing, backend planning (every backend, the kprobe
 * and fmod_ret ones included, on imaginary kernels), the after/percent gate
 * and path matching. No root, nothing applied. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>

#include "fault.h"
#include "harness.h"
#include "sysfail_plan.h"

extern const struct fault_ops sys_fail_ops;

/* Parse a command line (argv[0] is the verb) the way fault_run does. */
static int parse(struct fault *f, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	*f = (struct fault){ .ops = &sys_fail_ops };
	f->params = json_object_new_object();
	f->state = json_object_new_object();
	f->priv = calloc(1, sys_fail_ops.priv_size);
	optind = 1;
	return sys_fail_ops.parse(f, argc, argv);
}

static void done(struct fault *f)
{
	sys_fail_ops.destroy(f);
	free(f->priv);
	json_object_put(f->params);
	json_object_put(f->state);
}

static const char *param(struct fault *f, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(f->params, key, &v) ? json_object_get_string(v) : NULL;
}

static void test_parse_good(void)
{
	struct fault f;
	char *a[] = { "fail", "--syscall", "write", "--errno", "enospc", "--percent", "30",
		      "--after", "5", "--", "dd", "--if", "x", NULL };
	char *b[] = { "fail", "--syscall", "openat", "--errno", "13", "--path", "/etc/*",
		      "--", "cat", "/etc/hostname", NULL };
	char *c[] = { "fail", "--syscall", "fsync", "--signal", "SIGKILL", "--pid", "42", NULL };

	CHECK_EQ(parse(&f, a), 0);
	CHECK_STR(param(&f, "syscall"), "write");
	CHECK_STR(param(&f, "errno"), "ENOSPC");
	CHECK_STR(param(&f, "after"), "5");
	CHECK(json_object_get_double(json_object_object_get(f.params, "percent")) == 30.0);
	/* what follows "--" is the command's, options included */
	CHECK_STR(json_object_to_json_string_ext(json_object_object_get(f.params, "command"),
						 JSON_C_TO_STRING_PLAIN), "[\"dd\",\"--if\",\"x\"]");
	done(&f);
	CHECK_EQ(parse(&f, b), 0);
	CHECK_STR(param(&f, "errno"), "EACCES");
	CHECK_STR(param(&f, "path"), "/etc/*");
	done(&f);
	CHECK_EQ(parse(&f, c), 0);
	CHECK_STR(param(&f, "signal"), "KILL");
	CHECK_STR(param(&f, "pid"), "42");
	done(&f);
}

static void test_parse_bad(void)
{
	char *bad[][12] = {
		{ "fail", "--errno", "EIO", "--", "true" },				/* no syscall */
		{ "fail", "--syscall", "nosuchcall", "--errno", "EIO", "--", "true" },
		{ "fail", "--syscall", "write", "--", "true" },				/* no action */
		{ "fail", "--syscall", "write", "--errno", "EIO", "--signal", "KILL", "--", "true" },
		{ "fail", "--syscall", "write", "--errno", "ENOTANERRNO", "--", "true" },
		{ "fail", "--syscall", "write", "--signal", "SIGNOPE", "--pid", "1" },
		{ "fail", "--syscall", "write", "--errno", "EIO" },			/* no target */
		{ "fail", "--syscall", "write", "--errno", "EIO", "--pid", "1", "--", "true" },
		{ "fail", "--syscall", "write", "--errno", "EIO", "--percent", "101", "--", "true" },
		{ "fail", "--syscall", "write", "--errno", "EIO", "--after", "-1", "--", "true" },
		{ "fail", "--syscall", "write", "--errno", "EIO", "--path", "/x", "--", "true" },
		{ "fail", "--syscall", "write", "--errno", "EIO", "--backend", "ebpf", "--", "true" },
		{ "fail", "--syscall", "write", "--errno", "EIO", "true" },		/* no "--" */
		{ "fail", "--syscall", "write", "--errno", "EIO", "--bogus", "--", "true" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct fault f;
		int err = parse(&f, bad[i]);

		if (err != -EINVAL)
			printf("  case %zu (%s %s %s): %d\n", i, bad[i][1], bad[i][2], bad[i][3], err);
		CHECK_EQ(err, -EINVAL);
		done(&f);
	}
}

static const struct sysfail_caps here = { .seccomp_notif = true, .signal_tp = true };
static const struct sysfail_caps kprobe_kernel = {
	.kprobe_override = true, .fmod_ret = true, .seccomp_notif = true, .signal_tp = true };
static const struct sysfail_caps fmod_kernel = { .fmod_ret = true, .signal_tp = true };
static const struct sysfail_caps bare = { 0 };

static int plan(enum sysfail_scope scope, bool signal, bool path, enum sysfail_backend forced,
		const struct sysfail_caps *c, enum sysfail_backend *ret)
{
	struct sysfail_request r = { .scope = scope, .signal = signal, .path = path, .forced = forced };
	char why[512];

	*ret = SYSFAIL_AUTO;
	return sysfail_plan(&r, c, ret, why, sizeof(why));
}

static void test_plan_this_kernel(void)
{
	enum sysfail_backend b;

	/* errno for a launched command: seccomp */
	CHECK_EQ(plan(SYSFAIL_SCOPE_CMD, false, false, SYSFAIL_AUTO, &here, &b), 0);
	CHECK_EQ(b, SYSFAIL_SECCOMP);
	CHECK_EQ(plan(SYSFAIL_SCOPE_CMD, false, true, SYSFAIL_AUTO, &here, &b), 0);
	CHECK_EQ(b, SYSFAIL_SECCOMP);
	/* errno for a running pid or cgroup: nothing here, said clearly */
	CHECK_EQ(plan(SYSFAIL_SCOPE_PID, false, false, SYSFAIL_AUTO, &here, &b), -EOPNOTSUPP);
	CHECK_EQ(plan(SYSFAIL_SCOPE_CGROUP, false, false, SYSFAIL_AUTO, &here, &b), -EOPNOTSUPP);
	/* --signal: the tracepoint, for every scope */
	CHECK_EQ(plan(SYSFAIL_SCOPE_PID, true, false, SYSFAIL_AUTO, &here, &b), 0);
	CHECK_EQ(b, SYSFAIL_TRACEPOINT);
	CHECK_EQ(plan(SYSFAIL_SCOPE_CGROUP, true, false, SYSFAIL_AUTO, &here, &b), 0);
	CHECK_EQ(b, SYSFAIL_TRACEPOINT);
	CHECK_EQ(plan(SYSFAIL_SCOPE_CMD, true, false, SYSFAIL_AUTO, &here, &b), 0);
	CHECK_EQ(b, SYSFAIL_TRACEPOINT);
	/* forcing what the kernel lacks, or what cannot serve the request */
	CHECK_EQ(plan(SYSFAIL_SCOPE_CMD, false, false, SYSFAIL_KPROBE, &here, &b), -EOPNOTSUPP);
	CHECK_EQ(plan(SYSFAIL_SCOPE_CMD, false, false, SYSFAIL_FMOD_RET, &here, &b), -EOPNOTSUPP);
	CHECK_EQ(plan(SYSFAIL_SCOPE_PID, false, false, SYSFAIL_SECCOMP, &here, &b), -EINVAL);
	CHECK_EQ(plan(SYSFAIL_SCOPE_CMD, false, false, SYSFAIL_TRACEPOINT, &here, &b), -EINVAL);
	CHECK_EQ(plan(SYSFAIL_SCOPE_PID, true, true, SYSFAIL_AUTO, &here, &b), -EINVAL);
	CHECK_EQ(plan(SYSFAIL_SCOPE_NONE, false, false, SYSFAIL_AUTO, &here, &b), -EINVAL);
	CHECK_EQ(b, SYSFAIL_AUTO);	/* untouched on failure */
}

/* Debian's kernels: no error injection, BPF LSM active. */
static const struct sysfail_caps lsm_kernel = { .seccomp_notif = true, .signal_tp = true, .bpf_lsm = true };

static int plan_call(enum sysfail_scope scope, const char *syscall, bool path, enum sysfail_backend forced,
		     enum sysfail_backend *ret, char *why, size_t len)
{
	struct sysfail_request r = { .scope = scope, .path = path, .forced = forced, .syscall = syscall };

	*ret = SYSFAIL_AUTO;
	return sysfail_plan(&r, &lsm_kernel, ret, why, len);
}

static void test_plan_lsm_kernel(void)
{
	static const char *const served[] = { "openat", "open", "creat", "openat2", "read", "pread64",
					      "write", "writev", "pwrite64", "connect" };
	enum sysfail_backend b;
	enum sysfail_lsm_hook h;
	unsigned mask;
	char why[512];

	for (size_t i = 0; i < sizeof(served) / sizeof(served[0]); i++) {
		CHECK_EQ(plan_call(SYSFAIL_SCOPE_PID, served[i], false, SYSFAIL_AUTO, &b, why, sizeof(why)), 0);
		CHECK_EQ(b, SYSFAIL_LSM);
		CHECK_EQ(plan_call(SYSFAIL_SCOPE_CGROUP, served[i], false, SYSFAIL_AUTO, &b, why, sizeof(why)), 0);
		CHECK_EQ(b, SYSFAIL_LSM);
	}
	/* a syscall no hook serves: refused, and the message names those served */
	CHECK_EQ(plan_call(SYSFAIL_SCOPE_PID, "fsync", false, SYSFAIL_AUTO, &b, why, sizeof(why)), -EOPNOTSUPP);
	CHECK(strstr(why, "BPF LSM backend fails only") != NULL);
	CHECK_EQ(plan_call(SYSFAIL_SCOPE_PID, "fsync", false, SYSFAIL_LSM, &b, why, sizeof(why)), -EINVAL);
	/* a launched command keeps seccomp; --path is seccomp's alone */
	CHECK_EQ(plan_call(SYSFAIL_SCOPE_CMD, "write", false, SYSFAIL_AUTO, &b, why, sizeof(why)), 0);
	CHECK_EQ(b, SYSFAIL_SECCOMP);
	CHECK_EQ(plan_call(SYSFAIL_SCOPE_PID, "openat", true, SYSFAIL_AUTO, &b, why, sizeof(why)), -EINVAL);
	/* hooks and masks */
	CHECK_EQ(sysfail_lsm_hook("read", &h, &mask), 0);
	CHECK_EQ(h, SYSFAIL_LSM_RW);
	CHECK_EQ(mask, 4);
	CHECK_EQ(sysfail_lsm_hook("pwritev2", &h, &mask), 0);
	CHECK_EQ(mask, 2);
	CHECK_EQ(sysfail_lsm_hook("connect", &h, &mask), 0);
	CHECK_EQ(h, SYSFAIL_LSM_CONNECT);
	CHECK_EQ(sysfail_lsm_hook("getppid", &h, &mask), -ENOENT);
}

static void test_plan_kprobe_kernel(void)
{
	enum sysfail_backend b;

	/* in-kernel injection for running targets, strongest first */
	CHECK_EQ(plan(SYSFAIL_SCOPE_PID, false, false, SYSFAIL_AUTO, &kprobe_kernel, &b), 0);
	CHECK_EQ(b, SYSFAIL_KPROBE);
	CHECK_EQ(plan(SYSFAIL_SCOPE_CGROUP, false, false, SYSFAIL_AUTO, &kprobe_kernel, &b), 0);
	CHECK_EQ(b, SYSFAIL_KPROBE);
	CHECK_EQ(plan(SYSFAIL_SCOPE_CGROUP, false, false, SYSFAIL_AUTO, &fmod_kernel, &b), 0);
	CHECK_EQ(b, SYSFAIL_FMOD_RET);
	CHECK_EQ(plan(SYSFAIL_SCOPE_PID, false, false, SYSFAIL_FMOD_RET, &kprobe_kernel, &b), 0);
	CHECK_EQ(b, SYSFAIL_FMOD_RET);
	/* a launched command keeps seccomp (follows forks, matches paths) ... */
	CHECK_EQ(plan(SYSFAIL_SCOPE_CMD, false, false, SYSFAIL_AUTO, &kprobe_kernel, &b), 0);
	CHECK_EQ(b, SYSFAIL_SECCOMP);
	/* ... and falls back to the kernel's injection without seccomp */
	CHECK_EQ(plan(SYSFAIL_SCOPE_CMD, false, false, SYSFAIL_AUTO, &fmod_kernel, &b), 0);
	CHECK_EQ(b, SYSFAIL_FMOD_RET);
	CHECK_EQ(plan(SYSFAIL_SCOPE_CMD, false, true, SYSFAIL_AUTO, &fmod_kernel, &b), -EOPNOTSUPP);
	/* --path needs seccomp whatever the kernel */
	CHECK_EQ(plan(SYSFAIL_SCOPE_PID, false, true, SYSFAIL_AUTO, &kprobe_kernel, &b), -EINVAL);
	CHECK_EQ(plan(SYSFAIL_SCOPE_PID, false, false, SYSFAIL_KPROBE, &kprobe_kernel, &b), 0);
	CHECK_EQ(b, SYSFAIL_KPROBE);
	CHECK_EQ(plan(SYSFAIL_SCOPE_PID, true, false, SYSFAIL_KPROBE, &kprobe_kernel, &b), -EINVAL);
	/* a kernel with nothing */
	CHECK_EQ(plan(SYSFAIL_SCOPE_CMD, false, false, SYSFAIL_AUTO, &bare, &b), -EOPNOTSUPP);
	CHECK_EQ(plan(SYSFAIL_SCOPE_PID, true, false, SYSFAIL_AUTO, &bare, &b), -EOPNOTSUPP);
}

static void test_wrapper_symbol(void)
{
	char buf[64];

	CHECK_EQ(sysfail_wrapper_symbol("write", "x86_64", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "__x64_sys_write");
	CHECK_EQ(sysfail_wrapper_symbol("openat", "aarch64", buf, sizeof(buf)), 0);
	CHECK_STR(buf, "__arm64_sys_openat");
	CHECK_EQ(sysfail_wrapper_symbol("write", "pdp11", buf, sizeof(buf)), -EOPNOTSUPP);
	CHECK_EQ(sysfail_wrapper_symbol("write", "x86_64", buf, 8), -ENAMETOOLONG);
}

static void test_path_args(void)
{
	int dirfd = 7;

	CHECK_EQ(sysfail_path_arg("openat", &dirfd), 1);
	CHECK_EQ(dirfd, 0);
	CHECK_EQ(sysfail_path_arg("open", &dirfd), 0);
	CHECK_EQ(dirfd, -1);
	CHECK_EQ(sysfail_path_arg("openat2", NULL), 1);
	CHECK_EQ(sysfail_path_arg("creat", NULL), 0);
	CHECK_EQ(sysfail_path_arg("write", NULL), -ENOENT);
}

static void test_gate(void)
{
	struct sysfail_gate g = { .after = 3, .threshold = sysfail_threshold(100) };
	int failed = 0;

	for (int i = 0; i < 3; i++)
		CHECK(!sysfail_gate_pass(&g, 0));
	CHECK(sysfail_gate_pass(&g, 0xffffffff));
	CHECK_EQ(sysfail_threshold(0), 0);
	CHECK_EQ(sysfail_threshold(50), 1ULL << 31);
	g = (struct sysfail_gate){ .threshold = sysfail_threshold(25) };
	for (uint32_t i = 0; i < 1000; i++)
		failed += sysfail_gate_pass(&g, i * 4294967u);	/* evenly spread */
	CHECK(failed >= 245 && failed <= 255);
	g = (struct sysfail_gate){ .threshold = 0 };
	CHECK(!sysfail_gate_pass(&g, 0));
}

static void test_path_match(void)
{
	CHECK(sysfail_path_match("/var/lib/app/*.db", "/var/lib/app/x.db", NULL));
	CHECK(sysfail_path_match("/var/lib/app/*", "/var/lib/app/sub/x.db", NULL));
	CHECK(!sysfail_path_match("/var/lib/app/*", "/var/lib/other/x", NULL));
	/* relative paths against the caller's cwd or dirfd */
	CHECK(sysfail_path_match("/srv/data*", "data1", "/srv"));
	CHECK(sysfail_path_match("/srv/data*", "./data1", "/srv/"));
	CHECK(!sysfail_path_match("/srv/data*", "data1", "/tmp"));
	CHECK(sysfail_path_match("*.so*", "libc.so.6", NULL));
	CHECK(!sysfail_path_match("/srv/data*", "data1", NULL));
}

int main(void)
{
	RUN(test_parse_good);
	RUN(test_parse_bad);
	RUN(test_plan_this_kernel);
	RUN(test_plan_kprobe_kernel);
	RUN(test_plan_lsm_kernel);
	RUN(test_wrapper_symbol);
	RUN(test_path_args);
	RUN(test_gate);
	RUN(test_path_match);
	return t_exit();
}
