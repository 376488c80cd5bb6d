// SPDX-License-Identifier: GPL-2.0
/*
 * oomhog MB [CHUNK_MB]: allocate and touch MB mebibytes, CHUNK_MB at a
 * time (default 4), then exit 0. Inside a memory cgroup with a lower limit
 * and no swap, the OOM killer kills it on the way. Prints its pid first so
 * tests know which process to expect in the OOM event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long mb, chunk = 4;

	if (argc < 2 || (mb = atol(argv[1])) <= 0 || (argc > 2 && (chunk = atol(argv[2])) <= 0)) {
		fprintf(stderr, "usage: oomhog MB [CHUNK_MB]\n");
		return 2;
	}
	printf("%d\n", getpid());
	fflush(stdout);
	for (long done = 0; done < mb; done += chunk) {
		char *p = malloc(chunk << 20);

		if (!p)
			return 1;
		memset(p, 0x5a, chunk << 20);	/* touch: resident, not just reserved */
	}
	return 0;
}
