/* OpenTelemetry logs over OTLP/HTTP: an ExportLogsServiceRequest read
 * the way Loki 3 reads it at /otlp/v1/logs, and the answers OTLP
 * exporters expect.
 *
 * The request goes through the same validating core as Loki's pushes
 * (push_int.h), so limits, rejections and the spool sink are shared.
 * Each ResourceLogs becomes one stream:
 *
 *   - resource attributes named in the tenant's otlp_index_labels (Loki's
 *     default_resource_attributes_as_index_labels unless changed) become
 *     stream labels, their names normalized as Loki does (a character
 *     outside [a-zA-Z0-9_] becomes '_': service.name is service_name);
 *     service_name is unknown_service when the resource has none;
 *   - every other resource, scope and log attribute, and observed_timestamp,
 *     severity_number, severity_text, dropped_attributes_count, flags,
 *     trace_id, span_id (hex), scope_name, scope_version and
 *     scope_dropped_attributes_count, become structured metadata; a kvlist
 *     attribute becomes one item per key (name_key), any other non-string
 *     value its text as Go's pcommon Value.AsString() writes it (bool,
 *     int, double as JSON numbers, bytes as base64, arrays as JSON);
 *   - the body is the line (a non-string body as its AsString() text);
 *   - the time is time_unix_nano, else observed_time_unix_nano, else the
 *     receive time.
 *
 * Attributes named in otlp_drop_attributes are left out wherever they
 * appear.  Where two items of one entry get the same name, the more
 * specific wins: the log record's own over its scope's over its
 * resource's. */
#ifndef LOGTHRA_OTLP_H
#define LOGTHRA_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "push.h"

/* Loki 3's default_resource_attributes_as_index_labels
 * (pkg/loghttp/push/otlplabels/config.go), in its order. */
#define LT_OTLP_DEFAULT_INDEX_LABELS                                       \
	"service.name service.namespace service.instance.id "              \
	"deployment.environment deployment.environment.name cloud.region " \
	"cloud.availability_zone k8s.cluster.name k8s.namespace.name "     \
	"k8s.pod.name k8s.container.name container.name "                  \
	"k8s.replicaset.name k8s.deployment.name k8s.statefulset.name "    \
	"k8s.daemonset.name k8s.cronjob.name k8s.job.name"

/* Checks an attribute list setting (otlp_index_labels,
 * otlp_drop_attributes): attribute names separated by spaces or commas;
 * in otlp_drop_attributes a name may end in '*' to match every attribute
 * that starts with what precedes it.  Returns 0, or -1 with err naming
 * the problem. */
int lt_otlp_list_check(const char *list, int allow_prefix, char *err,
		       size_t errlen);

/* Parses an ExportLogsServiceRequest in protobuf (already decompressed)
 * with limits->otlp_index_labels and limits->otlp_drop_attributes, and
 * hands each stream and entry to the sink, as lt_push_parse_proto() does
 * for Loki's protobuf.  Returns 0 when the body is a request (res says
 * what was kept and rejected; the rejection messages name resources and
 * log records), -1 when the whole request is refused (res->status 400:
 * not a request, such as a truncated field, a trace_id that is not 16
 * bytes, nesting deeper than LT_OTLP_MAX_DEPTH; 413: over
 * max_entries_per_push or max_streams_per_push; 500 or 503: the sink or
 * memory failed). */
int lt_push_parse_otlp(const void *body, size_t len,
		       const struct lt_limits *limits, int64_t now_ns,
		       const struct lt_sink *sink, struct lt_push_result *res);

/* How deeply AnyValues may nest (arrays and kvlists in one another). */
#define LT_OTLP_MAX_DEPTH 32

/* Rewrites a request in OTLP's JSON encoding (lowerCamelCase or the
 * proto's own field names, trace and span ids in hex, 64-bit integers as
 * strings or numbers, enums as numbers or names, bytes in base64) as the
 * same request in protobuf, appended to out, so that one reader handles
 * both.  Unknown fields are ignored, as the specification asks.  Returns
 * 0; -1 when the body is not such a request (err says where and why, as
 * 'resourceLogs[0].scopeLogs[1].logRecords[2].traceId: "ab" is not 32 hex
 * digits'); -2 when memory ran out. */
int lt_otlp_json_to_proto(const char *json, size_t len, struct lt_buf *out,
			  char *err, size_t errlen);

/* An ExportLogsServiceResponse, appended to out in protobuf or JSON:
 * empty when nothing was rejected, else partial_success with
 * rejected_log_records and error_message.  Returns 0 or -1. */
int lt_otlp_response(struct lt_buf *out, int json, uint64_t rejected,
		     const char *error_message);

/* A google.rpc.Status, the body OTLP/HTTP gives an error answer, appended
 * to out in protobuf or JSON, with the gRPC code that matches the HTTP
 * status (lt_otlp_grpc_code()).  Returns 0 or -1. */
int lt_otlp_status(struct lt_buf *out, int json, int http_status,
		   const char *message);

/* The gRPC status code for an HTTP status, as OTLP/HTTP pairs them:
 * 400 INVALID_ARGUMENT (3), 401 UNAUTHENTICATED (16), 403
 * PERMISSION_DENIED (7), 404 NOT_FOUND (5), 413 and 429
 * RESOURCE_EXHAUSTED (8), 503 UNAVAILABLE (14), other 5xx INTERNAL (13),
 * other 4xx INVALID_ARGUMENT. */
int lt_otlp_grpc_code(int http_status);

#endif
