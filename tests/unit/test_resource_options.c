// SPDX-License-Identifier: GPL-2.0
/* Option validation of the resource faults: parse alone, which touches nothing. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>

#include "fault.h"
#include "fault_parse.h"
#include "harness.h"
#include "journal.h"

extern const struct fault_ops mem_limit_ops, mem_pressure_ops, cpu_throttle_ops, proc_freeze_ops;


static void table_lists_resource_faults(void)
{
	CHECK(fault_find("mem", "limit") == &mem_limit_ops);
	CHECK(fault_find("mem", "pressure") == &mem_pressure_ops);
	CHECK(fault_find("cpu", "throttle") == &cpu_throttle_ops);
	CHECK(fault_find("proc", "freeze") == &proc_freeze_ops);
	CHECK(mem_limit_ops.recover && mem_pressure_ops.recover &&
	      cpu_throttle_ops.recover && proc_freeze_ops.recover);
}

static void mem_limit_accepts(void)
{
	const char *a[] = { "limit", "--cgroup", "system.slice/foo.service", "--max", "512M",
			    "--for", "2m", NULL };
	const char *b[] = { "limit", "--cgroup", "/sys/fs/cgroup/x", "--max", "50%", "--soft", NULL };
	struct parsed p = parse(&mem_limit_ops, a);

	CHECK_EQ(p.err, 0);
	CHECK_STR(json_get_str(p.f.params, "cgroup", NULL), "system.slice/foo.service");
	CHECK_EQ(json_get_int(p.f.params, "max_bytes", 0), 512LL << 20);
	CHECK_EQ(p.f.duration_ns, 120ULL * 1000000000ULL);
	done(&p);
	p = parse(&mem_limit_ops, b);
	CHECK_EQ(p.err, 0);
	CHECK(json_object_get_boolean(json_get(p.f.params, "soft")));
	CHECK(json_object_get_double(json_get(p.f.params, "max_pct")) == 50.0);
	done(&p);
}

static void mem_limit_rejects(void)
{
	EXPECT(&mem_limit_ops, -EINVAL, "limit", "--max", "512M");		/* no cgroup */
	EXPECT(&mem_limit_ops, -EINVAL, "limit", "--cgroup", "x");		/* no max */
	EXPECT(&mem_limit_ops, -EINVAL, "limit", "--cgroup", "x", "--max", "0");
	EXPECT(&mem_limit_ops, -EINVAL, "limit", "--cgroup", "x", "--max", "100K");
	EXPECT(&mem_limit_ops, -EINVAL, "limit", "--cgroup", "x", "--max", "0%");
	EXPECT(&mem_limit_ops, -EINVAL, "limit", "--cgroup", "x", "--max", "150%");
	EXPECT(&mem_limit_ops, -EINVAL, "limit", "--cgroup", "x", "--max", "lots");
	EXPECT(&mem_limit_ops, -EINVAL, "limit", "--cgroup", "x", "--max", "512M", "--percent", "5");
	EXPECT(&mem_limit_ops, -EINVAL, "limit", "--cgroup", "x", "--max", "512M", "extra");
	EXPECT(&mem_limit_ops, -EINVAL, "limit", "--cgroup", "x", "--max", "512M", "--for", "10");
	EXPECT(&mem_limit_ops, 1, "limit", "--help");
}

static void cpu_throttle_options(void)
{
	const char *a[] = { "throttle", "--cgroup", "x", "--percent", "12.5%", NULL };
	struct parsed p = parse(&cpu_throttle_ops, a);
	char over[32];

	CHECK_EQ(p.err, 0);
	CHECK(json_object_get_double(json_get(p.f.params, "percent")) == 12.5);
	done(&p);
	EXPECT(&cpu_throttle_ops, 0, "throttle", "--cgroup", "x", "--percent", "20");
	EXPECT(&cpu_throttle_ops, 0, "throttle", "--cgroup", "x", "--percent", "100");
	EXPECT(&cpu_throttle_ops, -EINVAL, "throttle", "--cgroup", "x");
	EXPECT(&cpu_throttle_ops, -EINVAL, "throttle", "--percent", "20");
	EXPECT(&cpu_throttle_ops, -EINVAL, "throttle", "--cgroup", "x", "--percent", "0");
	EXPECT(&cpu_throttle_ops, -EINVAL, "throttle", "--cgroup", "x", "--percent", "0.5");
	EXPECT(&cpu_throttle_ops, -EINVAL, "throttle", "--cgroup", "x", "--percent", "-5");
	EXPECT(&cpu_throttle_ops, -EINVAL, "throttle", "--cgroup", "x", "--percent", "20x");
	EXPECT(&cpu_throttle_ops, -EINVAL, "throttle", "--cgroup", "x", "--percent", "nan");
	snprintf(over, sizeof(over), "%ld", 100 * sysconf(_SC_NPROCESSORS_ONLN) + 1);
	EXPECT(&cpu_throttle_ops, -EINVAL, "throttle", "--cgroup", "x", "--percent", over);
	EXPECT(&cpu_throttle_ops, -EINVAL, "throttle", "--cgroup", "x", "--percent", "20", "--max", "1G");
}

static void freeze_options(void)
{
	EXPECT(&proc_freeze_ops, 0, "freeze", "--cgroup", "system.slice/pg.service", "--for", "20s");
	EXPECT(&proc_freeze_ops, -EINVAL, "freeze");
	EXPECT(&proc_freeze_ops, -EINVAL, "freeze", "--cgroup", "x", "--soft");
	EXPECT(&proc_freeze_ops, -EINVAL, "freeze", "--cgroup", "x", "--bogus");
}

static void pressure_options(void)
{
	const char *a[] = { "pressure", "--size", "70%", "--cgroup", "system.slice/x", NULL };
	struct parsed p = parse(&mem_pressure_ops, a);

	CHECK_EQ(p.err, 0);
	CHECK(json_object_get_double(json_get(p.f.params, "size_pct")) == 70.0);
	CHECK_STR(json_get_str(p.f.params, "cgroup", NULL), "system.slice/x");
	done(&p);
	EXPECT(&mem_pressure_ops, 0, "pressure", "--size", "512M");
	EXPECT(&mem_pressure_ops, -EINVAL, "pressure");
	EXPECT(&mem_pressure_ops, -EINVAL, "pressure", "--size", "0%");
	EXPECT(&mem_pressure_ops, -EINVAL, "pressure", "--size", "101%");
	EXPECT(&mem_pressure_ops, -EINVAL, "pressure", "--size", "100K");
	EXPECT(&mem_pressure_ops, -EINVAL, "pressure", "--size", "1Q");
	EXPECT(&mem_pressure_ops, -EINVAL, "pressure", "--size", "1G", "--max", "1G");
}

int main(void)
{
	RUN(table_lists_resource_faults);
	RUN(mem_limit_accepts);
	RUN(mem_limit_rejects);
	RUN(cpu_throttle_options);
	RUN(freeze_options);
	RUN(pressure_options);
	return t_exit();
}
