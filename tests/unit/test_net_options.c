// SPDX-License-Identifier: GPL-2.0
/* Option validation of the net family: parse alone, which touches nothing. */
#include <errno.h>
#include <getopt.h>
#include <unistd.h>
#include <stdlib.h>

#include "fault.h"
#include "fault_parse.h"
#include "harness.h"
#include "journal.h"

extern const struct fault_ops net_partition_ops, net_loss_ops;
extern const struct fault_ops net_delay_ops;


static void partition_accepts(void)
{
	const char *a[] = { "partition", "--peer", "10.200.0.2,fd00::/64", "--peer", "10.200.1.0/24",
			    "--dir", "out", "--port", "5432", "--proto", "tcp", "--for", "5m", NULL };
	struct parsed p = parse(&net_partition_ops, a);

	CHECK_EQ(p.err, 0);
	CHECK_EQ(json_get_int(p.f.params, "npeers", 0), 3);
	CHECK_STR(json_get_str(p.f.params, "dir", NULL), "out");
	CHECK_STR(json_get_str(p.f.params, "proto", NULL), "tcp");
	CHECK_EQ(json_get_int(p.f.params, "port", 0), 5432);
	CHECK_EQ(p.f.duration_ns, 300ULL * 1000000000ULL);
	done(&p);
}

static void partition_rejects(void)
{
	EXPECT(&net_partition_ops, -EINVAL, "partition");				/* no peer */
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.300");
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.1/24");
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.2", "--for", "30");
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.2", "--for", "0s");
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.2", "--dir", "sideways");
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.2", "--port", "0");
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.2", "--port", "65536");
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.2", "--proto", "icmp");
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.2", "--percent", "50");
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.2", "--backend", "iptables");
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.2", "--netns", "../x");
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.2", "--bogus");
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.2", "stray");
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peers-file", "/nonexistent/peers");
	EXPECT(&net_partition_ops, 1, "partition", "--help");
}

static void loss_percent(void)
{
	const char *a[] = { "loss", "--peer", "10.200.0.2", "--percent", "12.5%", NULL };
	struct parsed p = parse(&net_loss_ops, a);

	CHECK_EQ(p.err, 0);
	CHECK(json_object_get_double(json_get(p.f.params, "percent")) == 12.5);
	done(&p);
	EXPECT(&net_loss_ops, -EINVAL, "loss", "--peer", "10.200.0.2");		/* percent required */
	EXPECT(&net_loss_ops, -EINVAL, "loss", "--peer", "10.200.0.2", "--percent", "101");
	EXPECT(&net_loss_ops, -EINVAL, "loss", "--peer", "10.200.0.2", "--percent", "-3");
}

static void peers_file(void)
{
	char path[] = "/tmp/tug-unit-peers.XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	fputs("# a comment\n10.200.0.0/24\n\n  10.200.1.7   # trailing\nfd00::/64\n", f);
	fclose(f);
	{
		const char *a[] = { "partition", "--peers-file", path, NULL };
		struct parsed p = parse(&net_partition_ops, a);

		CHECK_EQ(p.err, 0);
		CHECK_EQ(json_get_int(p.f.params, "npeers", 0), 3);
		done(&p);
	}
	f = fopen(path, "w");
	fputs("10.200.0.0/24\nnot-an-address\n", f);
	fclose(f);
	EXPECT(&net_partition_ops, -EINVAL, "partition", "--peers-file", path);
	unlink(path);
}

static void delay_options(void)
{
	const char *a[] = { "delay", "--peer", "10.200.0.2", "--delay", "100ms", "--jitter", "10ms",
			    "--reorder", "25", "--port", "5432", NULL };
	struct parsed p = parse(&net_delay_ops, a);

	CHECK_EQ(p.err, 0);
	CHECK_EQ(json_get_int(p.f.params, "delay_us", 0), 100000);
	CHECK_EQ(json_get_int(p.f.params, "jitter_us", 0), 10000);
	CHECK(json_object_get_double(json_get(p.f.params, "reorder")) == 25);
	/* Egress only, whatever the engine's default. */
	CHECK_STR(json_get_str(p.f.params, "dir", NULL), "out");
	done(&p);
	EXPECT(&net_delay_ops, 0, "delay", "--peer", "10.200.0.2", "--delay", "1s", "--dir", "out");
	EXPECT(&net_delay_ops, -EINVAL, "delay", "--peer", "10.200.0.2");	/* --delay required */
	EXPECT(&net_delay_ops, -EINVAL, "delay", "--delay", "10ms");		/* --peer required */
	EXPECT(&net_delay_ops, -EINVAL, "delay", "--peer", "10.200.0.2", "--delay", "0ms");
	EXPECT(&net_delay_ops, -EINVAL, "delay", "--peer", "10.200.0.2", "--delay", "10");
	EXPECT(&net_delay_ops, -EINVAL, "delay", "--peer", "10.200.0.2", "--delay", "31s");
	EXPECT(&net_delay_ops, -EINVAL, "delay", "--peer", "10.200.0.2", "--delay", "10ms",
	       "--jitter", "11ms");
	EXPECT(&net_delay_ops, -EINVAL, "delay", "--peer", "10.200.0.2", "--delay", "10ms",
	       "--reorder", "120");
	EXPECT(&net_delay_ops, -EINVAL, "delay", "--peer", "10.200.0.2", "--delay", "10ms",
	       "--dir", "in");
	EXPECT(&net_delay_ops, -EINVAL, "delay", "--peer", "10.200.0.2", "--delay", "10ms",
	       "--dir", "both");
	EXPECT(&net_delay_ops, -EINVAL, "delay", "--peer", "10.200.0.2", "--delay", "10ms",
	       "--percent", "5");
	EXPECT(&net_delay_ops, 0, "delay", "--peer", "10.200.0.2", "--delay", "10ms",
	       "--qdisc", "netem");
	EXPECT(&net_delay_ops, -EINVAL, "delay", "--peer", "10.200.0.2", "--delay", "10ms",
	       "--qdisc", "htb");
	EXPECT(&net_delay_ops, 1, "delay", "--help");
}

int main(void)
{
	/* getopt's own complaints would clutter the test output. */
	if (!freopen("/dev/null", "w", stderr))
		return 1;
	RUN(partition_accepts);
	RUN(partition_rejects);
	RUN(loss_percent);
	RUN(peers_file);
	RUN(delay_options);
	return t_exit();
}
