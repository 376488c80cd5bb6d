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
extern const struct fault_ops net_corrupt_ops, net_duplicate_ops, net_bandwidth_ops;
extern const struct fault_ops net_reset_ops;
extern const struct fault_ops net_delay_ops;
extern const struct fault_ops node_isolate_ops;


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

static void shape_percent(void)
{
	const char *c[] = { "corrupt", "--peer", "10.200.0.2", "--percent", "5", "--fix-checksum",
			    "--proto", "udp", NULL };
	const char *d[] = { "duplicate", "--peer", "fd00::/64", "--percent", "12.5%", "--dir", "in", NULL };
	struct parsed p = parse(&net_corrupt_ops, c);

	CHECK_EQ(p.err, 0);
	CHECK(json_object_get_double(json_get(p.f.params, "percent")) == 5);
	CHECK(json_object_get_boolean(json_get(p.f.params, "fix_checksum")));
	CHECK_STR(json_get_str(p.f.params, "proto", NULL), "udp");
	done(&p);
	p = parse(&net_duplicate_ops, d);
	CHECK_EQ(p.err, 0);
	CHECK(json_object_get_double(json_get(p.f.params, "percent")) == 12.5);
	CHECK_STR(json_get_str(p.f.params, "dir", NULL), "in");
	done(&p);
	EXPECT(&net_corrupt_ops, -EINVAL, "corrupt", "--peer", "10.200.0.2");	/* percent required */
	EXPECT(&net_corrupt_ops, -EINVAL, "corrupt", "--percent", "5");		/* peer required */
	EXPECT(&net_corrupt_ops, -EINVAL, "corrupt", "--peer", "10.200.0.2", "--percent", "101");
	EXPECT(&net_corrupt_ops, -EINVAL, "corrupt", "--peer", "10.200.0.2", "--percent", "5",
	       "--rate", "10mbit");
	EXPECT(&net_duplicate_ops, -EINVAL, "duplicate", "--peer", "10.200.0.2", "--percent", "5",
	       "--fix-checksum");
	EXPECT(&net_duplicate_ops, -EINVAL, "duplicate", "--peer", "10.200.0.2", "--percent", "x");
	EXPECT(&net_duplicate_ops, -EINVAL, "duplicate", "--peer", "10.200.0.2", "--percent", "5",
	       "--port", "0");
	EXPECT(&net_duplicate_ops, 1, "duplicate", "--help");
}

static void bandwidth_rate(void)
{
	const char *a[] = { "bandwidth", "--peer", "10.200.0.2", "--rate", "10mbit", NULL };
	const char *b[] = { "bandwidth", "--peer", "10.200.0.2", "--rate", "500kbit", "--burst", "64K", NULL };
	const char *c[] = { "bandwidth", "--peer", "10.200.0.2", "--rate", "1mbit", NULL };
	struct parsed p = parse(&net_bandwidth_ops, a);

	CHECK_EQ(p.err, 0);
	CHECK_EQ(json_get_int(p.f.params, "rate_bits", 0), 10000000);
	CHECK_STR(json_get_str(p.f.params, "rate", NULL), "10mbit");
	CHECK_EQ(json_get_int(p.f.params, "burst", 0), 250000);	/* 200 ms of the rate */
	done(&p);
	p = parse(&net_bandwidth_ops, b);
	CHECK_EQ(p.err, 0);
	CHECK_EQ(json_get_int(p.f.params, "burst", 0), 65536);
	done(&p);
	p = parse(&net_bandwidth_ops, c);
	CHECK_EQ(p.err, 0);
	CHECK_EQ(json_get_int(p.f.params, "burst", 0), 96 * 1024);	/* the floor */
	done(&p);
	EXPECT(&net_bandwidth_ops, -EINVAL, "bandwidth", "--peer", "10.200.0.2");	/* rate required */
	EXPECT(&net_bandwidth_ops, -EINVAL, "bandwidth", "--peer", "10.200.0.2", "--rate", "10");
	EXPECT(&net_bandwidth_ops, -EINVAL, "bandwidth", "--peer", "10.200.0.2", "--rate", "10mbps");
	EXPECT(&net_bandwidth_ops, -EINVAL, "bandwidth", "--peer", "10.200.0.2", "--rate", "1kbit");
	EXPECT(&net_bandwidth_ops, -EINVAL, "bandwidth", "--peer", "10.200.0.2", "--rate", "10mbit",
	       "--burst", "1K");
	EXPECT(&net_bandwidth_ops, -EINVAL, "bandwidth", "--peer", "10.200.0.2", "--rate", "10mbit",
	       "--burst", "lots");
	EXPECT(&net_bandwidth_ops, -EINVAL, "bandwidth", "--peer", "10.200.0.2", "--rate", "10mbit",
	       "--percent", "5");
}

/* net reset takes the engine's selection; TCP only, no share of packets. */
static void reset_options(void)
{
	const char *a[] = { "reset", "--peer", "10.200.0.2,fd00:200::/64", "--port", "5432",
			    "--dir", "in", "--proto", "tcp", "--for", "30s", NULL };
	struct parsed p = parse(&net_reset_ops, a);

	CHECK_EQ(p.err, 0);
	CHECK_EQ(json_get_int(p.f.params, "npeers", 0), 2);
	CHECK_EQ(json_get_int(p.f.params, "port", 0), 5432);
	CHECK_STR(json_get_str(p.f.params, "dir", NULL), "in");
	done(&p);
	EXPECT(&net_reset_ops, -EINVAL, "reset");					/* no peer */
	EXPECT(&net_reset_ops, -EINVAL, "reset", "--peer", "10.200.0.2", "--proto", "udp");
	EXPECT(&net_reset_ops, -EINVAL, "reset", "--peer", "10.200.0.2", "--percent", "50");
	EXPECT(&net_reset_ops, -EINVAL, "reset", "--peer", "10.200.0.2", "--port", "70000");
	EXPECT(&net_reset_ops, -EINVAL, "reset", "--peer", "10.200.0.2/33");
	EXPECT(&net_reset_ops, -EINVAL, "reset", "--peer", "10.200.0.2", "--for", "forever");
	EXPECT(&net_reset_ops, 1, "reset", "--help");
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

/* node isolate keeps the SSH session's peer on the sshd port, each --keep,
 * and refuses when it would keep nothing. */
static void isolate_options(void)
{
	const char *a[] = { "isolate", "--keep", "10.200.71.1:22", "--keep", "[fd00:200::1]:2222,10.200.71.0/24",
			    "--for", "30s", NULL };
	json_object *keep;
	struct parsed p;

	unsetenv("SSH_CONNECTION");
	EXPECT(&node_isolate_ops, -EINVAL, "isolate", "--for", "30s");
	EXPECT(&node_isolate_ops, -EINVAL, "isolate", "--keep", "10.200.71.300");
	EXPECT(&node_isolate_ops, -EINVAL, "isolate", "--keep", "10.200.71.1:0");
	EXPECT(&node_isolate_ops, -EINVAL, "isolate", "--keep", "10.200.71.1,nonsense");
	EXPECT(&node_isolate_ops, -EINVAL, "isolate", "--keep", "10.200.71.1", "--peer", "10.200.0.2");
	EXPECT(&node_isolate_ops, -EINVAL, "isolate", "--keep", "10.200.71.1", "--backend", "nft");
	EXPECT(&node_isolate_ops, 1, "isolate", "--help");
	p = parse(&node_isolate_ops, a);
	CHECK_EQ(p.err, 0);
	keep = json_get(p.f.params, "keep");
	CHECK_EQ(json_object_array_length(keep), 3);
	CHECK_STR(json_object_get_string(json_object_array_get_idx(keep, 1)), "fd00:200::1/128 port 2222");
	CHECK_STR(json_get_str(p.f.params, "dir", NULL), "both");
	done(&p);

	setenv("SSH_CONNECTION", "10.200.71.1 40022 10.200.71.2 22", 1);
	{
		const char *b[] = { "isolate", "--for", "30s", NULL };

		p = parse(&node_isolate_ops, b);
		CHECK_EQ(p.err, 0);
		keep = json_get(p.f.params, "keep");
		CHECK_EQ(json_object_array_length(keep), 1);
		CHECK_STR(json_object_get_string(json_object_array_get_idx(keep, 0)), "10.200.71.1/32 port 22");
		done(&p);
	}
	unsetenv("SSH_CONNECTION");
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
	RUN(shape_percent);
	RUN(bandwidth_rate);
	RUN(reset_options);
	RUN(delay_options);
	RUN(isolate_options);
	return t_exit();
}
