// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_err;

static void init_once(void)
{
	init_err = curl_global_init(CURL_GLOBAL_DEFAULT) ? -EIO : 0;
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
	if (g->body_len + len > HTTP_BODY_MAX)
		return 0;	/* curl reports a write error: the body is too large */
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
	g->why[0] = '\0';
	if (http_init()) {
		snprintf(g->why, sizeof(g->why), "libcurl did not initialise");
		return 0;
	}
	if (!*curl && !(*curl = curl_easy_init()))
		return -ENOMEM;
	c = *curl;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, g->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, ms);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (g->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, g->ca_file);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "tug-probe");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &total);
	g->latency_ns = (uint64_t)total * 1000;
	if (rc != CURLE_OK) {
		snprintf(g->why, sizeof(g->why), "%s", curl_easy_strerror(rc));
		return 0;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g->status);
	return 0;
}

void http_get_free(struct http_get *g)
{
	free(g->body);
	g->body = NULL;
	g->body_len = 0;
}
