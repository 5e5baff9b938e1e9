/* The ClickHouse client: libcurl requests to the HTTP interface, queries,
 * streamed answers and INSERTs, the server's errors read (clickhouse.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clickhouse.h"
#include "curl_dl.h"

#define CONNECT_TIMEOUT_S 10
#define TIMEOUT_S 300
/* Without a caller's buffer the answer only serves as an error message,
 * and only its first 2 KiB end up there. */
#define SCRATCH_LIMIT 65536
#define CODE_HEADER "X-ClickHouse-Exception-Code:"
#define TAG_HEADER "X-ClickHouse-Exception-Tag:"
/* How much of a streamed answer's end is kept to find an exception that
 * ClickHouse wrote after the rows: its message is one line. */
#define TAIL_KEEP 8192
/* ErrorCodes.cpp: TIMEOUT_EXCEEDED */
#define CH_TIMEOUT_EXCEEDED 159

#ifdef PACKAGE_VERSION
#define USER_AGENT "logthra/" PACKAGE_VERSION
#else
#define USER_AGENT "logthra"
#endif

struct lt_ch {
	CURL *curl;
	CURLU *base;             /* NULL when the URL does not parse */
	CURLUcode base_rc;
	char *shown_url;         /* the URL without its password */
	char *secret;            /* the password, kept out of messages */
	struct curl_slist *query_headers;
	struct curl_slist *insert_headers;
	struct lt_buf scratch;   /* the answer when the caller wants none */
	char *insert_settings;   /* "name=value&..." for every INSERT, or NULL */
	/* The running request. */
	struct lt_buf *sink;
	size_t sink_start;
	size_t sink_limit;
	int out_of_memory;
	char code[32];           /* X-ClickHouse-Exception-Code, or "" */
	int exception_tag;       /* X-ClickHouse-Exception-Tag came */
	char errbuf[CURL_ERROR_SIZE];
	long total_timeout_s;    /* the handle's CURLOPT_TIMEOUT */
	/* A streamed request (lt_ch_query_stream). */
	lt_ch_data_fn stream_fn;
	void *stream_ctx;
	long stream_status;      /* 0 until the body begins */
	int stream_stopped;      /* fn asked to end early */
	int stream_failed;       /* fn failed */
	struct lt_buf tail;      /* the last bytes of a 200 body */
};

/* lt_curl.global_init() is not reentrant and must run once before any
 * handle; a count lets the last lt_ch_close() undo it, which keeps
 * valgrind quiet in tests. */
static unsigned curl_users;

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p != NULL)
		memcpy(p, s, n);
	return p;
}

/* The URL for messages: "scheme://user:password@host/..." loses
 * ":password".  Done by hand so it works on URLs libcurl rejects too. */
static char *
url_without_password(const char *url)
{
	const char *auth, *at, *colon, *p;
	size_t authlen, head;
	char *s;

	p = strstr(url, "://");
	auth = p != NULL ? p + 3 : url;
	authlen = strcspn(auth, "/?#");
	at = NULL;
	for (p = auth; p < auth + authlen; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return xstrdup(url);
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (colon == NULL)
		return xstrdup(url);
	head = (size_t)(colon - url);
	s = malloc(head + strlen(at) + 1);
	if (s == NULL)
		return NULL;
	memcpy(s, url, head);
	memcpy(s + head, at, strlen(at) + 1);
	return s;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct lt_ch *ch = arg;
	size_t n = size * nmemb, have, keep;

	have = ch->sink->len - ch->sink_start;
	keep = have >= ch->sink_limit ? 0 : ch->sink_limit - have;
	if (keep > n)
		keep = n;
	if (lt_buf_append(ch->sink, data, keep) < 0) {
		ch->out_of_memory = 1;
		return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
	}
	return n;
}

static size_t
on_header(char *line, size_t size, size_t nmemb, void *arg)
{
	struct lt_ch *ch = arg;
	size_t n = size * nmemb, hl = sizeof(CODE_HEADER) - 1;
	const char *v, *end;

	/* A new status line starts a new response (1xx, authentication):
	 * only the last one's code counts. */
	if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		ch->code[0] = '\0';
		ch->exception_tag = 0;
		ch->stream_status = 0;
	} else if (n > sizeof(TAG_HEADER) - 1 &&
		   strncasecmp(line, TAG_HEADER, sizeof(TAG_HEADER) - 1) == 0)
		ch->exception_tag = 1;
	else if (n > hl && strncasecmp(line, CODE_HEADER, hl) == 0) {
		v = line + hl;
		end = line + n;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && isspace((unsigned char)end[-1]))
			end--;
		if ((size_t)(end - v) < sizeof(ch->code)) {
			memcpy(ch->code, v, (size_t)(end - v));
			ch->code[end - v] = '\0';
		}
	}
	return n;
}

/* Options that stay for every request on the handle. */
static int
setup_handle(struct lt_ch *ch, const struct lt_ch_options *opt)
{
	CURL *c = ch->curl;
	long connect_s, total_s;
	const char *user = opt->user;
	char *url_user = NULL;
	int rc = -1;

	connect_s = opt->connect_timeout_s > 0 ? opt->connect_timeout_s :
						 CONNECT_TIMEOUT_S;
	total_s = opt->timeout_s > 0 ? opt->timeout_s : TIMEOUT_S;
	ch->total_timeout_s = total_s;
	if (lt_curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    lt_curl.easy_setopt(c, CURLOPT_ERRORBUFFER, ch->errbuf) != CURLE_OK ||
	    lt_curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, connect_s) != CURLE_OK ||
	    lt_curl.easy_setopt(c, CURLOPT_TIMEOUT, total_s) != CURLE_OK ||
	    lt_curl.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    lt_curl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") !=
		CURLE_OK ||
	    lt_curl.easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK ||
	    lt_curl.easy_setopt(c, CURLOPT_USERAGENT, USER_AGENT) != CURLE_OK ||
	    lt_curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    lt_curl.easy_setopt(c, CURLOPT_WRITEDATA, ch) != CURLE_OK ||
	    lt_curl.easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) !=
		CURLE_OK ||
	    lt_curl.easy_setopt(c, CURLOPT_HEADERDATA, ch) != CURLE_OK)
		goto done;

	/* A password alone means ClickHouse's "default" user, or the URL's;
	 * libcurl would otherwise send an empty user name. */
	if (user == NULL && opt->password != NULL) {
		if (ch->base != NULL &&
		    lt_curl.url_get(ch->base, CURLUPART_USER, &url_user,
				 CURLU_URLDECODE) == CURLUE_OK)
			user = url_user;
		else
			user = "default";
	}
	if (user != NULL &&
	    (lt_curl.easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) !=
		 CURLE_OK ||
	     lt_curl.easy_setopt(c, CURLOPT_USERNAME, user) != CURLE_OK ||
	     lt_curl.easy_setopt(c, CURLOPT_PASSWORD,
			      opt->password ? opt->password : "") != CURLE_OK))
		goto done;

	/* Expect: 100-continue costs a round trip (or a 1 s wait) before
	 * every large body; ClickHouse does not need the warning. */
	ch->query_headers = lt_curl.slist_append(NULL, "Expect:");
	if (ch->query_headers == NULL)
		goto done;
	ch->insert_headers = lt_curl.slist_append(NULL, "Expect:");
	if (ch->insert_headers == NULL)
		goto done;
	if (lt_curl.slist_append(ch->query_headers,
			      "Content-Type: text/plain; charset=UTF-8") ==
		NULL ||
	    lt_curl.slist_append(ch->insert_headers,
			      "Content-Type: application/octet-stream") == NULL)
		goto done;
	rc = 0;
done:
	lt_curl.free(url_user);
	return rc;
}

/* The password to keep out of messages: the option's, else the URL's. */
static int
remember_secret(struct lt_ch *ch, const struct lt_ch_options *opt)
{
	char *p = NULL;
	int rc = 0;

	if (opt->password != NULL && opt->password[0] != '\0') {
		ch->secret = xstrdup(opt->password);
		return ch->secret == NULL ? -1 : 0;
	}
	if (ch->base == NULL ||
	    lt_curl.url_get(ch->base, CURLUPART_PASSWORD, &p, CURLU_URLDECODE) !=
		CURLUE_OK)
		return 0;
	if (p[0] != '\0' && (ch->secret = xstrdup(p)) == NULL)
		rc = -1;
	lt_curl.free(p);
	return rc;
}

struct lt_ch *
lt_ch_open(const struct lt_ch_options *opt)
{
	struct lt_ch *ch;

	if (curl_users == 0 &&
	    (lt_curl_load() < 0 || lt_curl.global_init(CURL_GLOBAL_DEFAULT) != 0))
		return NULL;
	curl_users++;
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		goto fail;
	ch->curl = lt_curl.easy_init();
	ch->shown_url = url_without_password(opt->url);
	ch->base = lt_curl.url();
	if (ch->curl == NULL || ch->shown_url == NULL || ch->base == NULL)
		goto fail;
	/* A bad URL is reported by the first request, where the caller
	 * expects errors and prints them. */
	ch->base_rc = lt_curl.url_set(ch->base, CURLUPART_URL, opt->url,
				   CURLU_GUESS_SCHEME);
	if (ch->base_rc == CURLUE_OUT_OF_MEMORY)
		goto fail;
	if (ch->base_rc != CURLUE_OK) {
		lt_curl.url_cleanup(ch->base);
		ch->base = NULL;
	}
	if (remember_secret(ch, opt) < 0 || setup_handle(ch, opt) < 0)
		goto fail;
	return ch;
fail:
	lt_ch_close(ch);
	if (ch == NULL && --curl_users == 0)
		lt_curl.global_cleanup();
	return NULL;
}

void
lt_ch_close(struct lt_ch *ch)
{
	if (ch == NULL)
		return;
	lt_curl.easy_cleanup(ch->curl);
	lt_curl.url_cleanup(ch->base);
	lt_curl.slist_free_all(ch->query_headers);
	lt_curl.slist_free_all(ch->insert_headers);
	lt_buf_free(&ch->scratch);
	lt_buf_free(&ch->tail);
	free(ch->insert_settings);
	free(ch->shown_url);
	free(ch->secret);
	free(ch);
	if (--curl_users == 0)
		lt_curl.global_cleanup();
}

static void
trim_copy(char *dst, size_t dstsize, const char *src, size_t len)
{
	const char *nul = memchr(src, '\0', len);

	if (nul != NULL)
		len = (size_t)(nul - src);
	while (len > 0 && isspace((unsigned char)*src)) {
		src++;
		len--;
	}
	if (len >= dstsize) {
		len = dstsize - 1;
		/* Do not cut a UTF-8 sequence in half. */
		while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
			len--;
	}
	while (len > 0 && isspace((unsigned char)src[len - 1]))
		len--;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* A non-negative decimal int filling all of s; -1 otherwise. */
static int
parse_code(const char *s, const char **endp)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || v > INT_MAX)
		return -1;
	if (endp != NULL)
		*endp = end;
	else if (*end != '\0')
		return -1;
	return (int)v;
}

void
lt_ch_error_from_body(struct lt_ch_error *err, long status, const char *body,
		      size_t len, const char *code_header)
{
	const char *end;
	int code = -1;

	err->http_status = status;
	err->timed_out = 0;
	trim_copy(err->message, sizeof(err->message), body ? body : "",
		  body ? len : 0);
	if (code_header != NULL)
		code = parse_code(code_header, NULL);
	/* 18.16: "Code: 47, e.displayText() = DB::Exception: ...";
	 * newer servers: "Code: 47. DB::Exception: ..." */
	if (code < 0 && strncmp(err->message, "Code: ", 6) == 0) {
		code = parse_code(err->message + 6, &end);
		if (code >= 0 && *end != ',' && *end != '.')
			code = -1;
	}
	err->exception_code = code < 0 ? 0 : code;
	if (err->message[0] == '\0')
		(void)snprintf(err->message, sizeof(err->message),
			       "HTTP status %ld with an empty answer", status);
}

/* Errors before a request could be sent: the server was not reached. */
static int
before_sending(CURLcode rc)
{
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
		return 1;
	default:
		return 0;
	}
}

static void
transport_error(struct lt_ch *ch, CURLcode rc, struct lt_ch_error *err)
{
	const char *why = ch->errbuf[0] ? ch->errbuf : lt_curl.easy_strerror(rc);
	curl_off_t pretransfer = 0;

	/* libcurl's texts name hosts and ports, not credentials, but the
	 * password must never reach a log, so make sure. */
	if (ch->secret != NULL && strstr(why, ch->secret) != NULL)
		why = lt_curl.easy_strerror(rc);
	if (rc == CURLE_OPERATION_TIMEDOUT &&
	    lt_curl.easy_getinfo(ch->curl, CURLINFO_PRETRANSFER_TIME_T,
			      &pretransfer) != CURLE_OK)
		pretransfer = 1;
	err->http_status = 0;
	err->exception_code = 0;
	err->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
	if (ch->out_of_memory)
		(void)snprintf(err->message, sizeof(err->message),
			       "out of memory for the answer of ClickHouse "
			       "at %s", ch->shown_url);
	else if (before_sending(rc) ||
		 (rc == CURLE_OPERATION_TIMEDOUT && pretransfer == 0))
		(void)snprintf(err->message, sizeof(err->message),
			       "could not reach ClickHouse at %s: %s",
			       ch->shown_url, why);
	else
		(void)snprintf(err->message, sizeof(err->message),
			       "request to ClickHouse at %s failed: %s",
			       ch->shown_url, why);
}

static void
url_error(struct lt_ch *ch, CURLUcode rc, struct lt_ch_error *err)
{
	err->http_status = 0;
	err->exception_code = 0;
	err->timed_out = 0;
	(void)snprintf(err->message, sizeof(err->message),
		       "could not reach ClickHouse at %s: %s%s", ch->shown_url,
		       rc == CURLUE_OUT_OF_MEMORY ? "" : "invalid URL: ",
		       lt_curl.url_strerror(rc));
}

static int
perform(struct lt_ch *ch, const char *url, struct curl_slist *headers,
	const void *body, size_t len, struct lt_buf *out,
	struct lt_ch_error *err)
{
	CURLcode rc;
	long status = 0;

	if (out != NULL) {
		ch->sink = out;
		ch->sink_limit = SIZE_MAX;
	} else {
		lt_buf_reset(&ch->scratch);
		ch->sink = &ch->scratch;
		ch->sink_limit = SCRATCH_LIMIT;
	}
	ch->sink_start = ch->sink->len;
	ch->out_of_memory = 0;
	ch->code[0] = '\0';
	ch->errbuf[0] = '\0';
	/* POSTFIELDS with no copy: body must outlive the transfer, which it
	 * does as perform returns only when the transfer is over. */
	rc = lt_curl.easy_setopt(ch->curl, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = lt_curl.easy_setopt(ch->curl, CURLOPT_HTTPHEADER, headers);
	if (rc == CURLE_OK)
		rc = lt_curl.easy_setopt(ch->curl, CURLOPT_POSTFIELDSIZE_LARGE,
				      (curl_off_t)len);
	if (rc == CURLE_OK)
		rc = lt_curl.easy_setopt(ch->curl, CURLOPT_POSTFIELDS,
				      len > 0 ? body : "");
	if (rc == CURLE_OK)
		rc = lt_curl.easy_perform(ch->curl);
	if (rc == CURLE_OK)
		rc = lt_curl.easy_getinfo(ch->curl, CURLINFO_RESPONSE_CODE,
				       &status);
	if (rc != CURLE_OK) {
		transport_error(ch, rc, err);
		goto fail;
	}
	if (status != 200) {
		lt_ch_error_from_body(err, status,
				      (const char *)ch->sink->data +
					  ch->sink_start,
				      ch->sink->len - ch->sink_start,
				      ch->code[0] ? ch->code : NULL);
		goto fail;
	}
	if (out != NULL && lt_buf_terminate(out) < 0) {
		ch->out_of_memory = 1;
		transport_error(ch, CURLE_OUT_OF_MEMORY, err);
		goto fail;
	}
	ch->sink = NULL;
	return 0;
fail:
	ch->sink->len = ch->sink_start;
	ch->sink = NULL;
	return -1;
}

int
lt_ch_query(struct lt_ch *ch, const char *sql, struct lt_buf *out,
	    struct lt_ch_error *err)
{
	struct lt_ch_error dummy;
	CURLUcode urc;
	char *url = NULL;
	int rc;

	if (err == NULL)
		err = &dummy;
	if (ch->base == NULL) {
		url_error(ch, ch->base_rc, err);
		return -1;
	}
	urc = lt_curl.url_get(ch->base, CURLUPART_URL, &url, 0);
	if (urc != CURLUE_OK) {
		url_error(ch, urc, err);
		return -1;
	}
	rc = perform(ch, url, ch->query_headers, sql, strlen(sql), out, err);
	lt_curl.free(url);
	return rc;
}

int
lt_ch_error_is_data(const struct lt_ch_error *err)
{
	/* ErrorCodes.cpp: CANNOT_PARSE_TEXT 6, CANNOT_PARSE_QUOTED_STRING 26,
	 * CANNOT_PARSE_INPUT_ASSERTION_FAILED 27, CANNOT_READ_ALL_DATA 33,
	 * CANNOT_PARSE_DATE 38, CANNOT_PARSE_DATETIME 41, TYPE_MISMATCH 53,
	 * ARGUMENT_OUT_OF_BOUND 69, CANNOT_CONVERT_TYPE 70,
	 * CANNOT_PARSE_NUMBER 72, INCORRECT_DATA 117, TOO_LARGE_STRING_SIZE 131,
	 * TOO_LARGE_ARRAY_SIZE 128, CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN 349. */
	static const int codes[] = {6,  26, 27, 33,  38,  41,  53,
				    69, 70, 72, 117, 128, 131, 349};
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (err->exception_code == codes[i])
			return 1;
	return 0;
}

int
lt_ch_set_insert_settings(struct lt_ch *ch, const char *settings)
{
	char *copy = NULL;

	if (settings != NULL && (copy = strdup(settings)) == NULL)
		return -1;
	free(ch->insert_settings);
	ch->insert_settings = copy;
	return 0;
}

int
lt_ch_insert(struct lt_ch *ch, const char *insert_sql, const void *data,
	     size_t len, size_t block_rows, const char *query_id,
	     struct lt_ch_error *err)
{
	struct lt_ch_error dummy;
	struct lt_buf param = LT_BUF_INIT;
	CURLU *u = NULL;
	CURLUcode urc;
	char *url = NULL;
	int rc = -1;

	if (err == NULL)
		err = &dummy;
	if (ch->base == NULL) {
		url_error(ch, ch->base_rc, err);
		return -1;
	}
	u = lt_curl.url_dup(ch->base);
	if (u == NULL) {
		urc = CURLUE_OUT_OF_MEMORY;
		goto url_fail;
	}
	if (block_rows > 0) {
		if (lt_buf_printf(&param, "max_insert_block_size=%zu", block_rows) < 0) {
			urc = CURLUE_OUT_OF_MEMORY;
			goto url_fail;
		}
		urc = lt_curl.url_set(u, CURLUPART_QUERY, (const char *)param.data,
				   CURLU_APPENDQUERY);
		if (urc != CURLUE_OK)
			goto url_fail;
		lt_buf_reset(&param);
	}
	if (ch->insert_settings != NULL) {
		urc = lt_curl.url_set(u, CURLUPART_QUERY, ch->insert_settings,
				   CURLU_APPENDQUERY);
		if (urc != CURLUE_OK)
			goto url_fail;
	}
	if (query_id != NULL) {
		if (lt_buf_printf(&param, "query_id=%s", query_id) < 0) {
			urc = CURLUE_OUT_OF_MEMORY;
			goto url_fail;
		}
		urc = lt_curl.url_set(u, CURLUPART_QUERY, (const char *)param.data,
				   CURLU_APPENDQUERY | CURLU_URLENCODE);
		if (urc != CURLUE_OK)
			goto url_fail;
		lt_buf_reset(&param);
	}
	if (lt_buf_printf(&param, "query=%s", insert_sql) < 0) {
		urc = CURLUE_OUT_OF_MEMORY;
		goto url_fail;
	}
	/* APPENDQUERY adds '&' after a query string the URL already has
	 * (a user's settings such as ?max_insert_block_size=...); URLENCODE
	 * encodes the value but not the first '='. */
	urc = lt_curl.url_set(u, CURLUPART_QUERY, (const char *)param.data,
			   CURLU_APPENDQUERY | CURLU_URLENCODE);
	if (urc == CURLUE_OK)
		urc = lt_curl.url_get(u, CURLUPART_URL, &url, 0);
	if (urc != CURLUE_OK)
		goto url_fail;
	rc = perform(ch, url, ch->insert_headers, data, len, NULL, err);
	goto done;
url_fail:
	url_error(ch, urc, err);
done:
	lt_curl.free(url);
	lt_curl.url_cleanup(u);
	lt_buf_free(&param);
	return rc;
}

/* Keeps the last TAIL_KEEP bytes (at least) of what came, moving bytes
 * only now and then. */
static int
tail_keep(struct lt_buf *t, const char *data, size_t n)
{
	size_t keep;

	if (n >= TAIL_KEEP) {
		t->len = 0;
		return lt_buf_append(t, data + n - TAIL_KEEP, TAIL_KEEP);
	}
	if (t->len + n > 2 * TAIL_KEEP) {
		keep = TAIL_KEEP - n;
		memmove(t->data, t->data + t->len - keep, keep);
		t->len = keep;
	}
	return lt_buf_append(t, data, n);
}

static size_t
on_stream_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct lt_ch *ch = arg;
	size_t n = size * nmemb;
	int rc;

	/* The headers are all in when the body begins. */
	if (ch->stream_status == 0 &&
	    (lt_curl.easy_getinfo(ch->curl, CURLINFO_RESPONSE_CODE,
			       &ch->stream_status) != CURLE_OK ||
	     ch->stream_status == 0))
		ch->stream_status = -1;
	/* An error's body is its message, kept as lt_ch_query() keeps it. */
	if (ch->stream_status != 200)
		return on_body(data, size, nmemb, arg);
	if (tail_keep(&ch->tail, data, n) < 0) {
		ch->out_of_memory = 1;
		return 0;
	}
	rc = ch->stream_fn(ch->stream_ctx, data, n);
	if (rc == 0)
		return n;
	if (rc > 0)
		ch->stream_stopped = 1;
	else
		ch->stream_failed = 1;
	return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
}

/* Appends "name=value" to the URL's query. */
static CURLUcode
add_setting(CURLU *u, const char *name, unsigned long long value)
{
	char param[96];

	(void)snprintf(param, sizeof(param), "%s=%llu", name, value);
	return lt_curl.url_set(u, CURLUPART_QUERY, param, CURLU_APPENDQUERY);
}

static CURLUcode
stream_url(struct lt_ch *ch, const struct lt_ch_query_settings *s, char **url)
{
	CURLU *u;
	CURLUcode urc = CURLUE_OK;

	u = lt_curl.url_dup(ch->base);
	if (u == NULL)
		return CURLUE_OUT_OF_MEMORY;
	if (s != NULL) {
		/* readonly=2: no writes, yet the settings after it still
		 * apply (readonly=1 would refuse them). */
		if (s->readonly > 0)
			urc = add_setting(u, "readonly",
					  (unsigned long long)s->readonly);
		if (urc == CURLUE_OK && s->max_execution_time_s > 0)
			urc = add_setting(u, "max_execution_time",
					  s->max_execution_time_s);
		if (urc == CURLUE_OK && s->max_memory_usage > 0)
			urc = add_setting(u, "max_memory_usage",
					  s->max_memory_usage);
		if (urc == CURLUE_OK && s->max_rows_to_read > 0)
			urc = add_setting(u, "max_rows_to_read",
					  s->max_rows_to_read);
		if (urc == CURLUE_OK && s->max_query_size > 0)
			urc = add_setting(u, "max_query_size",
					  s->max_query_size);
		if (urc == CURLUE_OK && s->max_bytes_before_external_sort > 0)
			urc = add_setting(u, "max_bytes_before_external_sort",
					  s->max_bytes_before_external_sort);
		if (urc == CURLUE_OK && s->distributed_local)
			urc = lt_curl.url_set(u, CURLUPART_QUERY,
					   "distributed_product_mode=local",
					   CURLU_APPENDQUERY);
	}
	if (urc == CURLUE_OK)
		urc = lt_curl.url_get(u, CURLUPART_URL, url, 0);
	lt_curl.url_cleanup(u);
	return urc;
}

static void
stream_begin(struct lt_ch *ch, lt_ch_data_fn fn, void *ctx)
{
	lt_buf_reset(&ch->scratch);
	ch->sink = &ch->scratch;
	ch->sink_start = 0;
	ch->sink_limit = SCRATCH_LIMIT;
	ch->tail.len = 0;
	ch->out_of_memory = 0;
	ch->code[0] = '\0';
	ch->exception_tag = 0;
	ch->errbuf[0] = '\0';
	ch->stream_fn = fn;
	ch->stream_ctx = ctx;
	ch->stream_status = 0;
	ch->stream_stopped = 0;
	ch->stream_failed = 0;
}

/* The handle as lt_ch_query() and lt_ch_insert() expect it. */
static CURLcode
stream_end(struct lt_ch *ch)
{
	CURLcode rc;

	ch->sink = NULL;
	ch->stream_fn = NULL;
	ch->stream_ctx = NULL;
	rc = lt_curl.easy_setopt(ch->curl, CURLOPT_WRITEFUNCTION, on_body);
	if (rc == CURLE_OK)
		rc = lt_curl.easy_setopt(ch->curl, CURLOPT_TIMEOUT,
				      ch->total_timeout_s);
	return rc;
}

int
lt_ch_query_stream(struct lt_ch *ch, const char *sql,
		   const struct lt_ch_query_settings *s, lt_ch_data_fn fn,
		   void *ctx, struct lt_ch_error *err)
{
	struct lt_ch_error dummy;
	CURLUcode urc;
	CURLcode rc, restore;
	char *url = NULL;
	long status = 0;
	int result = -1;

	if (err == NULL)
		err = &dummy;
	if (ch->base == NULL) {
		url_error(ch, ch->base_rc, err);
		return -1;
	}
	urc = stream_url(ch, s, &url);
	if (urc != CURLUE_OK) {
		url_error(ch, urc, err);
		return -1;
	}
	stream_begin(ch, fn, ctx);
	rc = lt_curl.easy_setopt(ch->curl, CURLOPT_WRITEFUNCTION, on_stream_body);
	if (rc == CURLE_OK && s != NULL && s->timeout_ms > 0)
		rc = lt_curl.easy_setopt(ch->curl, CURLOPT_TIMEOUT_MS,
				      s->timeout_ms);
	if (rc == CURLE_OK)
		rc = lt_curl.easy_setopt(ch->curl, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = lt_curl.easy_setopt(ch->curl, CURLOPT_HTTPHEADER,
				      ch->query_headers);
	if (rc == CURLE_OK)
		rc = lt_curl.easy_setopt(ch->curl, CURLOPT_POSTFIELDSIZE_LARGE,
				      (curl_off_t)strlen(sql));
	if (rc == CURLE_OK)
		rc = lt_curl.easy_setopt(ch->curl, CURLOPT_POSTFIELDS, sql);
	if (rc == CURLE_OK)
		rc = lt_curl.easy_perform(ch->curl);
	if (rc == CURLE_WRITE_ERROR && ch->stream_stopped)
		rc = CURLE_OK;
	if (rc == CURLE_OK)
		rc = lt_curl.easy_getinfo(ch->curl, CURLINFO_RESPONSE_CODE,
				       &status);
	if (ch->stream_failed)
		result = -2;
	else if (rc != CURLE_OK)
		transport_error(ch, rc, err);
	else if (status != 200)
		lt_ch_error_from_body(err, status, (const char *)ch->scratch.data,
				      ch->scratch.len,
				      ch->code[0] ? ch->code : NULL);
	else if (ch->stream_stopped ||
		 !lt_ch_find_late_exception((const char *)ch->tail.data,
					    ch->tail.len, ch->exception_tag,
					    err))
		result = 0;
	restore = stream_end(ch);
	lt_curl.free(url);
	if (restore != CURLE_OK && result == 0) {
		transport_error(ch, restore, err);
		result = -1;
	}
	return result;
}

/* "Code: N" then ". DB::" (current servers) or ", e.displayText() = DB::"
 * (18.16) at p: the start of an exception's message. */
static int
exception_starts(const char *p, const char *end)
{
	static const char *const seps[] = {". DB::", ", e.displayText() = DB::"};
	size_t i, n;

	if ((size_t)(end - p) < 7 || memcmp(p, "Code: ", 6) != 0)
		return 0;
	p += 6;
	if (!isdigit((unsigned char)*p))
		return 0;
	while (p < end && isdigit((unsigned char)*p))
		p++;
	for (i = 0; i < sizeof(seps) / sizeof(seps[0]); i++) {
		n = strlen(seps[i]);
		if ((size_t)(end - p) >= n && memcmp(p, seps[i], n) == 0)
			return 1;
	}
	return 0;
}

static const char *
find_bytes(const char *p, const char *end, const char *what)
{
	size_t n = strlen(what);

	for (; (size_t)(end - p) >= n; p++)
		if (*p == *what && memcmp(p, what, n) == 0)
			return p;
	return NULL;
}

int
lt_ch_find_late_exception(const char *tail, size_t len, int tagged,
			  struct lt_ch_error *err)
{
	static const char frame[] = "__exception__";
	const size_t flen = sizeof(frame) - 1;
	const char *end, *from, *p, *stop;

	/* An empty answer has no buffer: no offset from NULL. */
	if (tail == NULL)
		return 0;
	end = tail + len;
	while (end > tail && isspace((unsigned char)end[-1]))
		end--;
	if (tagged) {
		/* 25.11 on: the message between two __exception__ lines. */
		if ((size_t)(end - tail) < flen ||
		    memcmp(end - flen, frame, flen) != 0)
			return 0;
		end -= flen;
		from = tail;
		for (p = tail; (p = find_bytes(p, end, frame)) != NULL;
		     p += flen)
			from = p + flen;
	} else {
		/* Before: the message alone on the last line, or after the
		 * part of a row that went out before it. */
		from = end;
		while (from > tail && from[-1] != '\n')
			from--;
	}
	for (p = from; p < end; p++) {
		if (*p != 'C' || !exception_starts(p, end))
			continue;
		stop = p;
		while (stop < end && *stop != '\n' && *stop != '\r')
			stop++;
		lt_ch_error_from_body(err, 200, p, (size_t)(stop - p), NULL);
		return 1;
	}
	return 0;
}
