/* OTLP logs: the JSON encoding rewritten as protobuf, and the answers
 * (ExportLogsServiceResponse, google.rpc.Status) in both (otlp.h). */
#include "config.h"

#include <stdio.h>

#include "otlp.h"

/* Scaffold: the JSON reader and the answers are being written. */
int
lt_otlp_json_to_proto(const char *json, size_t len, struct lt_buf *out,
		      char *err, size_t errlen)
{
	(void)json;
	(void)len;
	(void)out;
	(void)snprintf(err, errlen, "OTLP JSON is not read yet");
	return -1;
}

int
lt_otlp_response(struct lt_buf *out, int json, uint64_t rejected,
		 const char *error_message)
{
	(void)out;
	(void)json;
	(void)rejected;
	(void)error_message;
	return 0;
}

int
lt_otlp_status(struct lt_buf *out, int json, int http_status,
	       const char *message)
{
	(void)out;
	(void)json;
	(void)http_status;
	(void)message;
	return 0;
}

int
lt_otlp_grpc_code(int http_status)
{
	return http_status == 503 ? 14 : 13;
}
