// SPDX-License-Identifier: GPL-2.0
/*
 * A test workload for the resource faults.
 *   tugspin spin                 burn one CPU forever
 *   tugspin count FILE           write an increasing counter to FILE every 5 ms
 *   tugspin alloc MIB            allocate and touch MIB MiB, then sleep
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "spin")) {
		volatile unsigned long x = 0;

		for (;;)
			x++;
	}
	if (argc >= 3 && !strcmp(argv[1], "count")) {
		char tmp[4096];
		unsigned long n = 0;

		snprintf(tmp, sizeof(tmp), "%s.tmp", argv[2]);
		for (;;) {
			FILE *f = fopen(tmp, "w");

			if (f) {
				fprintf(f, "%lu\n", ++n);
				fclose(f);
				rename(tmp, argv[2]);
			}
			usleep(5000);
		}
	}
	if (argc >= 3 && !strcmp(argv[1], "alloc")) {
		size_t len = strtoull(argv[2], NULL, 10) << 20;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			return 1;
		for (size_t off = 0; off < len; off += 4096)
			p[off] = 1;
		printf("allocated\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	fprintf(stderr, "usage: tugspin spin | count FILE | alloc MIB\n");
	return 2;
}
