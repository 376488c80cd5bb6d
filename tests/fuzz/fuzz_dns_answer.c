// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the answers of dns-fail --answer to untrusted queries.
 * The first byte picks the answer, the second the room for the answer
 * (an exact allocation, so a write past it is caught); the rest is the
 * query. A query is answered within that room or refused, never more. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsresp.h"

static void need(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "%s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const answers[] = { "nxdomain", "servfail", "refused", "timeout",
					       "10.200.9.9", "fd00:200::9" };
	struct dns_answer a;
	enum dns_built b;
	uint8_t *q, *out;
	size_t max;
	int m;

	if (size < 2)
		return 0;
	need(!dns_answer_parse(answers[data[0] % 6], &a), "a known answer does not parse");
	max = data[1] * 2 + 1;
	q = malloc(size - 2 ? size - 2 : 1);
	out = malloc(max);
	if (!q || !out)
		goto done;
	memcpy(q, data + 2, size - 2);
	m = dns_answer_build(&a, q, size - 2, out, max, &b);
	need(m == -EBADMSG || (m >= 0 && (size_t)m <= max), "an answer past its room");
	if (m > 0) {
		need(m >= 17 && !memcmp(out, q, 2), "an answer without the query's id");
		need((out[2] & 0x80) && out[5] == 1, "an answer that is not a response to one question");
	}
	need(m != 0 || b == DNS_BUILT_DROP, "an empty answer that is not a drop");
done:
	free(q);
	free(out);
	return 0;
}
