/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Unit tests of a family's option parsing: run ops->parse alone (which
 * touches nothing on the system) on an argv of string literals.
 *
 *   EXPECT(&net_partition_ops, -EINVAL, "partition", "--peer", "10.200.0.300");
 */
#ifndef TUG_TEST_FAULT_PARSE_H
#define TUG_TEST_FAULT_PARSE_H

#include <getopt.h>
#include <stdlib.h>

#include "fault.h"
#include "harness.h"

struct parsed {
	struct fault f;
	int err;
};

static inline struct parsed parse(const struct fault_ops *ops, const char **args)
{
	struct parsed p = { .f = { .ops = ops, .end_fd = -1 } };
	char *argv[32];
	int argc = 0;

	while (args[argc] && argc < 31) {
		argv[argc] = (char *)args[argc];
		argc++;
	}
	argv[argc] = NULL;
	p.f.priv = calloc(1, ops->priv_size);
	p.f.params = json_object_new_object();
	p.f.state = json_object_new_object();
	optind = 0;	/* a full re-initialisation of getopt for each argv */
	opterr = 0;
	p.err = ops->parse(&p.f, argc, argv);
	return p;
}

static inline void done(struct parsed *p)
{
	if (p->f.ops->destroy)
		p->f.ops->destroy(&p->f);
	free(p->f.priv);
	json_object_put(p->f.params);
	json_object_put(p->f.state);
}

#define EXPECT(ops, want, ...)                           \
	do {                                             \
		const char *a[] = { __VA_ARGS__, NULL }; \
		struct parsed p = parse(ops, a);         \
		CHECK_EQ(p.err, want);                   \
		done(&p);                                \
	} while (0)

#endif
