/* OTLP logs: the protobuf ExportLogsServiceRequest reader and Loki's
 * mapping onto streams, entries and structured metadata (otlp.h). */
#include "config.h"

#include <stdio.h>

#include "otlp.h"

/* Scaffold: the reader is being written. */
int
lt_otlp_list_check(const char *list, int allow_prefix, char *err,
		   size_t errlen)
{
	(void)list;
	(void)allow_prefix;
	(void)err;
	(void)errlen;
	return 0;
}

int
lt_push_parse_otlp(const void *body, size_t len,
		   const struct lt_limits *limits, int64_t now_ns,
		   const struct lt_sink *sink, struct lt_push_result *res)
{
	(void)body;
	(void)len;
	(void)limits;
	(void)now_ns;
	(void)sink;
	res->status = 400;
	(void)snprintf(res->message, sizeof(res->message),
		       "OTLP is not read yet");
	return -1;
}
