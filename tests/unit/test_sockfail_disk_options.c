// SPDX-License-Identifier: GPL-2.0
/* Option validation of net refuse, net dns-fail (--answer too) and disk
 * fill: parse alone, which touches nothing. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <unistd.h>

#include "fault.h"
#include "fault_parse.h"
#include "harness.h"
#include "journal.h"
#include "parse.h"

extern const struct fault_ops net_refuse_ops, net_dns_fail_ops, disk_fill_ops;


static void refuse_accepts(void)
{
	const char *a[] = { "refuse", "--cgroup", "system.slice/gw.service", "--peer",
			    "10.200.0.2:5432,[fd00::/64]:443", "--peer", "10.0.0.0/8",
			    "--errno", "etimedout", "--for", "30s", NULL };
	struct parsed p = parse(&net_refuse_ops, a);
	json_object *peers = json_get(p.f.params, "peers");

	CHECK_EQ(p.err, 0);
	CHECK_STR(json_get_str(p.f.params, "errno", NULL), "ETIMEDOUT");
	CHECK_STR(json_get_str(p.f.params, "cgroup", NULL), "system.slice/gw.service");
	CHECK_EQ(json_get_int(p.f.params, "npeers", 0), 3);
	CHECK_STR(json_object_get_string(json_object_array_get_idx(peers, 0)), "10.200.0.2/32:5432");
	CHECK_STR(json_object_get_string(json_object_array_get_idx(peers, 1)), "[fd00::/64]:443");
	CHECK_STR(json_object_get_string(json_object_array_get_idx(peers, 2)), "10.0.0.0/8");
	CHECK_EQ(p.f.duration_ns, 30 * NSEC_PER_SEC);
	done(&p);
	EXPECT(&net_refuse_ops, 0, "refuse", "--cgroup", "x", "--peer", "::1");
	EXPECT(&net_refuse_ops, 0, "refuse", "--cgroup", "x", "--peer", "10.0.0.1", "--errno", "113");
}

static void refuse_defaults_to_econnrefused(void)
{
	const char *a[] = { "refuse", "--cgroup", "x", "--peer", "10.0.0.1", NULL };
	struct parsed p = parse(&net_refuse_ops, a);

	CHECK_EQ(p.err, 0);
	CHECK_STR(json_get_str(p.f.params, "errno", NULL), "ECONNREFUSED");
	done(&p);
}

static void refuse_rejects(void)
{
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--peer", "10.0.0.1");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x", "--peer", "10.0.0.256");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x", "--peer", "10.0.0.1:0");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x", "--peer", "10.0.0.1:65536");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x", "--peer", "10.0.0.0/33");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x", "--peer", ",");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x", "--peer", "10.0.0.1", "--errno", "EFOO");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x", "--peer", "10.0.0.1", "--errno", "0");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x", "--peer", "10.0.0.1", "--errno", "4096");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x", "--peer", "10.0.0.1", "--port", "53");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x", "--peer", "10.0.0.1", "--for", "10");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x", "--peer", "10.0.0.1", "extra");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x", "--peer", "10.0.0.1", "--bogus");
	EXPECT(&net_refuse_ops, 1, "refuse", "--help");
}

static void dns_fail_options(void)
{
	const char *a[] = { "dns-fail", "--cgroup", "x", "--port", "5353", NULL };
	struct parsed p = parse(&net_dns_fail_ops, a);

	CHECK_EQ(p.err, 0);
	CHECK_EQ(json_get_int(p.f.params, "port", 0), 5353);
	CHECK_STR(json_get_str(p.f.params, "errno", NULL), "ECONNREFUSED");
	done(&p);
	EXPECT(&net_dns_fail_ops, 0, "dns-fail", "--cgroup", "x");
	EXPECT(&net_dns_fail_ops, 0, "dns-fail", "--cgroup", "x", "--errno", "EPERM");
	EXPECT(&net_dns_fail_ops, -EINVAL, "dns-fail");
	EXPECT(&net_dns_fail_ops, -EINVAL, "dns-fail", "--cgroup", "x", "--peer", "10.0.0.1");
	EXPECT(&net_dns_fail_ops, -EINVAL, "dns-fail", "--cgroup", "x", "--port", "0");
	EXPECT(&net_dns_fail_ops, -EINVAL, "dns-fail", "--cgroup", "x", "--port", "70000");
}

static void dns_fail_answers(void)
{
	const char *a[] = { "dns-fail", "--cgroup", "x", "--answer", "NXDOMAIN", "--netns", "ctr", NULL };
	const char *b[] = { "dns-fail", "--cgroup", "x", "--answer", "fd00:200:0::9", NULL };
	struct parsed p = parse(&net_dns_fail_ops, a);

	CHECK_EQ(p.err, 0);
	CHECK_STR(json_get_str(p.f.params, "answer", NULL), "nxdomain");
	CHECK_STR(json_get_str(p.f.params, "netns", NULL), "ctr");
	done(&p);
	p = parse(&net_dns_fail_ops, b);
	CHECK_EQ(p.err, 0);
	CHECK_STR(json_get_str(p.f.params, "answer", NULL), "fd00:200::9");
	done(&p);
	EXPECT(&net_dns_fail_ops, 0, "dns-fail", "--cgroup", "x", "--answer", "servfail");
	EXPECT(&net_dns_fail_ops, 0, "dns-fail", "--cgroup", "x", "--answer", "refused", "--port", "5353");
	EXPECT(&net_dns_fail_ops, 0, "dns-fail", "--cgroup", "x", "--answer", "timeout");
	EXPECT(&net_dns_fail_ops, 0, "dns-fail", "--cgroup", "x", "--answer", "10.200.9.9");
	EXPECT(&net_dns_fail_ops, -EINVAL, "dns-fail", "--cgroup", "x", "--answer", "nxdomian");
	EXPECT(&net_dns_fail_ops, -EINVAL, "dns-fail", "--cgroup", "x", "--answer", "10.200.9.300");
	EXPECT(&net_dns_fail_ops, -EINVAL, "dns-fail", "--cgroup", "x", "--answer", "");
	EXPECT(&net_dns_fail_ops, -EINVAL, "dns-fail", "--cgroup", "x", "--answer", "nxdomain",
	       "--errno", "EPERM");
	EXPECT(&net_dns_fail_ops, -EINVAL, "dns-fail", "--cgroup", "x", "--netns", "ctr");
	EXPECT(&net_dns_fail_ops, -EINVAL, "dns-fail", "--cgroup", "x", "--answer", "nxdomain",
	       "--netns", "../x");
	EXPECT(&net_refuse_ops, -EINVAL, "refuse", "--cgroup", "x", "--peer", "10.0.0.1",
	       "--answer", "nxdomain");
}

static void disk_fill_options(void)
{
	const char *a[] = { "fill", "--path", "/srv/x", "--leave", "5%", NULL };
	const char *b[] = { "fill", "--path", "/srv/x", "--leave", "512M", NULL };
	const char *c[] = { "fill", "--path", "/srv/x", "--size", "2G", NULL };
	struct parsed p = parse(&disk_fill_ops, a);

	CHECK_EQ(p.err, 0);
	CHECK(json_object_get_double(json_get(p.f.params, "leave_pct")) == 5.0);
	done(&p);
	p = parse(&disk_fill_ops, b);
	CHECK_EQ(p.err, 0);
	CHECK_STR(json_get_str(p.f.params, "leave", NULL), "512M");
	done(&p);
	p = parse(&disk_fill_ops, c);
	CHECK_EQ(p.err, 0);
	CHECK_EQ(json_get_int(p.f.params, "size", 0), 2LL << 30);
	done(&p);
	EXPECT(&disk_fill_ops, 0, "fill", "--path", "/srv/x", "--leave", "0");
	EXPECT(&disk_fill_ops, 0, "fill", "--path", "/srv/x", "--leave", "0.5%");
}

static void disk_fill_rejects(void)
{
	EXPECT(&disk_fill_ops, -EINVAL, "fill", "--leave", "5%");
	EXPECT(&disk_fill_ops, -EINVAL, "fill", "--path", "/srv/x");
	EXPECT(&disk_fill_ops, -EINVAL, "fill", "--path", "/srv/x", "--leave", "5%", "--size", "1G");
	EXPECT(&disk_fill_ops, -EINVAL, "fill", "--path", "/srv/x", "--leave", "100%");
	EXPECT(&disk_fill_ops, -EINVAL, "fill", "--path", "/srv/x", "--leave", "-1");
	EXPECT(&disk_fill_ops, -EINVAL, "fill", "--path", "/srv/x", "--leave", "5X");
	EXPECT(&disk_fill_ops, -EINVAL, "fill", "--path", "/srv/x", "--size", "0");
	EXPECT(&disk_fill_ops, -EINVAL, "fill", "--path", "/srv/x", "--size", "10%");
	EXPECT(&disk_fill_ops, -EINVAL, "fill", "--path", "", "--size", "1G");
	EXPECT(&disk_fill_ops, -EINVAL, "fill", "--path", "/srv/x", "--size", "1G", "--force-protected");
	EXPECT(&disk_fill_ops, 1, "fill", "--help");
}

int main(void)
{
	RUN(refuse_accepts);
	RUN(refuse_defaults_to_econnrefused);
	RUN(refuse_rejects);
	RUN(dns_fail_options);
	RUN(dns_fail_answers);
	RUN(disk_fill_options);
	RUN(disk_fill_rejects);
	return t_exit();
}
