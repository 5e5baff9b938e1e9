/* libcurl, loaded when the first ClickHouse connection is opened rather
 * than by the dynamic loader at every start: logthra-recv runs once per
 * push under CGI and calls libcurl only to answer a query, and loading
 * libcurl with the thirty libraries it needs costs more CPU than storing
 * a 100 KB push. */
#ifndef LOGTHRA_CURL_DL_H
#define LOGTHRA_CURL_DL_H

#include <curl/curl.h>

/* The functions Logthra calls, by their names without "curl_", typed as
 * curl.h declares them. */
struct lt_curl_fns {
	__typeof__(curl_global_init) *global_init;
	__typeof__(curl_global_cleanup) *global_cleanup;
	__typeof__(curl_easy_init) *easy_init;
	__typeof__(curl_easy_setopt) *easy_setopt;
	__typeof__(curl_easy_perform) *easy_perform;
	__typeof__(curl_easy_getinfo) *easy_getinfo;
	__typeof__(curl_easy_cleanup) *easy_cleanup;
	__typeof__(curl_easy_strerror) *easy_strerror;
	__typeof__(curl_free) *free;
	__typeof__(curl_slist_append) *slist_append;
	__typeof__(curl_slist_free_all) *slist_free_all;
	__typeof__(curl_url) *url;
	__typeof__(curl_url_cleanup) *url_cleanup;
	__typeof__(curl_url_dup) *url_dup;
	__typeof__(curl_url_get) *url_get;
	__typeof__(curl_url_set) *url_set;
	__typeof__(curl_url_strerror) *url_strerror;
};

extern struct lt_curl_fns lt_curl;

/* Loads libcurl and fills lt_curl, once: 0, or -1 with an error logged. */
int lt_curl_load(void);

#endif
