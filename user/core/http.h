/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One HTTP(S) GET, as the node (proc kill --probe) and the orchestrator's
 * probes both ask for it: a new connection every attempt (a cached one
 * would hide a restarted server), no signals (threads), http and https
 * only, TLS peers verified, the body kept up to HTTP_BODY_MAX.
 *
 * libcurl is loaded on first use (dlopen), not linked: the node controller
 * starts faults without mapping libcurl and its TLS stack, and only the
 * commands that probe HTTP pay for it.
 */
#ifndef TUG_HTTP_H
#define TUG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>

#define HTTP_BODY_MAX (1 << 20)
#define HTTP_LIBCURL "libcurl.so.4"

struct http_get {
	/* asked */
	const char *url;
	uint64_t timeout_ns;
	const char *ca_file;	/* NULL: the system's */
	bool want_body;
	/* answered */
	long status;		/* 0: no HTTP answer; why says why */
	uint64_t latency_ns;
	char *body;		/* NUL-terminated, with want_body */
	size_t body_len;
	bool too_large;		/* the body went past HTTP_BODY_MAX */
	char why[256];
};

/* Load libcurl and set up its global state, once a process, whichever
 * thread asks first: 0, -ENOENT (not installed) or -EIO. */
int http_init(void);
/* *curl is created on first use and reused (reset) after; 0 or -ENOMEM. */
int http_get(CURL **curl, struct http_get *g);
void http_close(CURL *curl);
void http_get_free(struct http_get *g);

#endif
