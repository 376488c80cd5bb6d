// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "procfs.h"

int proc_start_time(pid_t pid, uint64_t *ret)
{
	char path[64], buf[1024];
	unsigned long long start;
	char *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EBADMSG;
	/* state is field 3; starttime is field 22, i.e. 19 fields after state. */
	p += 2;
	for (int i = 0; i < 19; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -EBADMSG;
		p++;
	}
	if (sscanf(p, "%llu", &start) != 1)
		return -EBADMSG;
	*ret = start;
	return 0;
}

uint64_t proc_ticks_to_boot_ns(uint64_t ticks)
{
	long hz = sysconf(_SC_CLK_TCK);

	return ticks * (NSEC_PER_SEC / (uint64_t)(hz > 0 ? hz : 100));
}

static int64_t real_minus_boot(void)
{
	uint64_t b1 = clock_ns(CLOCK_BOOTTIME);
	uint64_t r = clock_ns(CLOCK_REALTIME);
	uint64_t b2 = clock_ns(CLOCK_BOOTTIME);

	return (int64_t)r - (int64_t)(b1 / 2 + b2 / 2);
}

uint64_t real_to_boot_ns(uint64_t real_ns)
{
	return real_ns - real_minus_boot();
}

uint64_t boot_to_real_ns(uint64_t boot_ns)
{
	return boot_ns + real_minus_boot();
}

uint64_t mono_to_real_ns(uint64_t mono_ns)
{
	uint64_t m = clock_ns(CLOCK_MONOTONIC), r = clock_ns(CLOCK_REALTIME);

	return mono_ns + (r - m);
}


/* A "Key:   N kB" line of /proc/meminfo or /proc/PID/status, in bytes. */
int proc_kb(const char *file, const char *key, uint64_t *ret)
{
	char line[256];
	size_t n = strlen(key);
	int err = -ENOENT;
	FILE *f = fopen(file, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, n) && line[n] == ':') {
			*ret = strtoull(line + n + 1, NULL, 10) * 1024;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

uint64_t pid_rss_anon(pid_t pid)
{
	char path[64];
	uint64_t v = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	proc_kb(path, "RssAnon", &v);
	return v;
}
