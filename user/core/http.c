// SPDX-License-Identifier: GPL-2.0
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_err;

/* The part of libcurl's API tug uses, resolved from the loaded library. */
static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	void (*easy_reset)(CURL *c);
	void (*easy_cleanup)(CURL *c);
	CURLcode (*easy_setopt)(CURL *c, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *c);
	CURLcode (*easy_getinfo)(CURL *c, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode rc);
} lc;

static void init_once(void)
{
	void *h = dlopen(HTTP_LIBCURL, RTLD_NOW | RTLD_LOCAL);

	init_err = -ENOENT;
	if (!h)
		return;
	*(void **)&lc.global_init = dlsym(h, "curl_global_init");
	*(void **)&lc.easy_init = dlsym(h, "curl_easy_init");
	*(void **)&lc.easy_reset = dlsym(h, "curl_easy_reset");
	*(void **)&lc.easy_cleanup = dlsym(h, "curl_easy_cleanup");
	*(void **)&lc.easy_setopt = dlsym(h, "curl_easy_setopt");
	*(void **)&lc.easy_perform = dlsym(h, "curl_easy_perform");
	*(void **)&lc.easy_getinfo = dlsym(h, "curl_easy_getinfo");
	*(void **)&lc.easy_strerror = dlsym(h, "curl_easy_strerror");
	if (!lc.global_init || !lc.easy_init || !lc.easy_reset || !lc.easy_cleanup ||
	    !lc.easy_setopt || !lc.easy_perform || !lc.easy_getinfo || !lc.easy_strerror)
		return;
	init_err = lc.global_init(CURL_GLOBAL_DEFAULT) ? -EIO : 0;
}

int http_init(void)
{
	pthread_once(&once, init_once);
	return init_err;
}

static size_t body_write(char *data, size_t size, size_t n, void *arg)
{
	struct http_get *g = arg;
	size_t len = size * n;
	char *nb;

	if (!g->want_body)
		return len;
	if (g->body_len + len > HTTP_BODY_MAX) {
		g->too_large = true;
		return 0;	/* curl reports a write error */
	}
	nb = realloc(g->body, g->body_len + len + 1);
	if (!nb)
		return 0;
	memcpy(nb + g->body_len, data, len);
	g->body = nb;
	g->body_len += len;
	g->body[g->body_len] = '\0';
	return len;
}

int http_get(CURL **curl, struct http_get *g)
{
	long ms = (long)(g->timeout_ns / NSEC_PER_MSEC);
	curl_off_t total = 0;
	CURLcode rc;
	CURL *c;

	g->status = 0;
	g->too_large = false;
	g->why[0] = '\0';
	if (http_init()) {
		snprintf(g->why, sizeof(g->why), "libcurl (%s) could not be loaded", HTTP_LIBCURL);
		return 0;
	}
	if (!*curl && !(*curl = lc.easy_init()))
		return -ENOMEM;
	c = *curl;
	lc.easy_reset(c);
	lc.easy_setopt(c, CURLOPT_URL, g->url);
	lc.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	lc.easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
	lc.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
	lc.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	lc.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (g->ca_file)
		lc.easy_setopt(c, CURLOPT_CAINFO, g->ca_file);
	lc.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	lc.easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	lc.easy_setopt(c, CURLOPT_USERAGENT, "tug-probe");
	lc.easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	lc.easy_setopt(c, CURLOPT_WRITEDATA, g);
	rc = lc.easy_perform(c);
	lc.easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &total);
	g->latency_ns = (uint64_t)total * 1000;
	if (rc == CURLE_WRITE_ERROR && g->too_large) {
		snprintf(g->why, sizeof(g->why), "the response is larger than %d KiB", HTTP_BODY_MAX / 1024);
		return 0;
	}
	if (rc != CURLE_OK) {
		snprintf(g->why, sizeof(g->why), "%s", lc.easy_strerror(rc));
		return 0;
	}
	lc.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g->status);
	return 0;
}

void http_get_free(struct http_get *g)
{
	free(g->body);
	g->body = NULL;
	g->body_len = 0;
}

void http_close(CURL *curl)
{
	if (curl)
		lc.easy_cleanup(curl);
}
