/* otlp-decode: what reading an OTLP logs request costs, the hand-written
 * reader (lt_push_parse_otlp() with all of Loki's mapping and the push
 * checks, into a sink that keeps nothing) against protobuf-c's generated
 * unpacker of the same bytes (unpack and free, no mapping at all).
 *
 * The request: about 1 MB, 5000 records of one resource and scope, each
 * a string body of about 150 bytes and four attributes, as an SDK's
 * batch exporter sends them.  Build (after make, which generates the
 * protobuf-c code for test-otlp):
 *
 *   cc -O2 -Isrc -I. -Itests/unit bench/otlp-decode.c \
 *      tests/unit/opentelemetry/proto/\*\/v1/\*.pb-c.c \
 *      tests/unit/opentelemetry/proto/collector/logs/v1/logs_service.pb-c.c \
 *      src/liblogthra.a -lprotobuf-c -lcurl -larchive -lz -lpcre2-8 -lm
 *   ./a.out [ROUNDS] */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "otlp.h"

#define RECORDS 5000
#define T0 1700000000000000000ULL

typedef Opentelemetry__Proto__Common__V1__AnyValue AV;
typedef Opentelemetry__Proto__Common__V1__KeyValue KV;
typedef Opentelemetry__Proto__Logs__V1__LogRecord LR;
#define REQUEST_DESCRIPTOR \
	opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
str_value(AV *v, char *s)
{
	opentelemetry__proto__common__v1__any_value__init(v);
	v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
	v->string_value = s;
}

static void
int_value(AV *v, int64_t i)
{
	opentelemetry__proto__common__v1__any_value__init(v);
	v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
	v->int_value = i;
}

/* The packed request; everything it was built from stays allocated
 * until the program ends. */
static uint8_t *
build(size_t *len)
{
	static char bodies[RECORDS][160], ids[RECORDS][16];
	static LR recs[RECORDS], *recp[RECORDS];
	static KV kvs[RECORDS][4], *kvp[RECORDS][4];
	static AV vals[RECORDS][5];
	static AV svc;
	static KV svc_kv, *res_kv[1];
	Opentelemetry__Proto__Resource__V1__Resource res;
	Opentelemetry__Proto__Common__V1__InstrumentationScope scope;
	Opentelemetry__Proto__Logs__V1__ScopeLogs sl, *slp[1];
	Opentelemetry__Proto__Logs__V1__ResourceLogs rl, *rlp[1];
	Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest req;
	static const char *const keys[4] = {"http.method", "http.route",
					    "http.status_code", "user.id"};
	uint8_t *buf;
	size_t i, k;

	for (i = 0; i < RECORDS; i++) {
		opentelemetry__proto__logs__v1__log_record__init(&recs[i]);
		recs[i].time_unix_nano = T0 + i;
		recs[i].severity_number = 9;
		recs[i].severity_text = "INFO";
		(void)snprintf(bodies[i], sizeof(bodies[i]),
			       "GET /api/v1/orders/%zu HTTP/1.1 200 0.%03zu s "
			       "user agent Mozilla/5.0 (X11; Linux x86_64) "
			       "request id %08zx-%04zx done, all fine", i,
			       i % 1000, i * 2654435761u % 0xffffffffu, i % 9973);
		str_value(&vals[i][0], bodies[i]);
		recs[i].body = &vals[i][0];
		str_value(&vals[i][1], "GET");
		str_value(&vals[i][2], "/api/v1/orders/{id}");
		int_value(&vals[i][3], 200);
		(void)snprintf(ids[i], sizeof(ids[i]), "u%zu", i % 977);
		str_value(&vals[i][4], ids[i]);
		for (k = 0; k < 4; k++) {
			opentelemetry__proto__common__v1__key_value__init(&kvs[i][k]);
			kvs[i][k].key = (char *)keys[k];
			kvs[i][k].value = &vals[i][k + 1];
			kvp[i][k] = &kvs[i][k];
		}
		recs[i].attributes = kvp[i];
		recs[i].n_attributes = 4;
		recp[i] = &recs[i];
	}
	str_value(&svc, "checkout");
	opentelemetry__proto__common__v1__key_value__init(&svc_kv);
	svc_kv.key = "service.name";
	svc_kv.value = &svc;
	res_kv[0] = &svc_kv;
	opentelemetry__proto__resource__v1__resource__init(&res);
	res.attributes = res_kv;
	res.n_attributes = 1;
	opentelemetry__proto__common__v1__instrumentation_scope__init(&scope);
	scope.name = "io.example.http";
	scope.version = "1.2.3";
	opentelemetry__proto__logs__v1__scope_logs__init(&sl);
	sl.scope = &scope;
	sl.log_records = recp;
	sl.n_log_records = RECORDS;
	slp[0] = &sl;
	opentelemetry__proto__logs__v1__resource_logs__init(&rl);
	rl.resource = &res;
	rl.scope_logs = slp;
	rl.n_scope_logs = 1;
	rlp[0] = &rl;
	opentelemetry__proto__collector__logs__v1__export_logs_service_request__init(&req);
	req.resource_logs = rlp;
	req.n_resource_logs = 1;
	*len = protobuf_c_message_get_packed_size(&req.base);
	if ((buf = malloc(*len)) == NULL)
		exit(1);
	(void)protobuf_c_message_pack(&req.base, buf);
	return buf;
}

int
main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 50, i;
	struct lt_limits lim;
	struct lt_push_result res;
	struct lt_sink sink = {NULL, NULL, NULL};
	ProtobufCMessage *m;
	double t, hand = 1e9, bare = 1e9, pbc = 1e9;
	size_t len;
	uint8_t *body = build(&len);

	lt_limits_defaults(&lim);
	for (i = 0; i < rounds; i++) {
		t = now();
		if (lt_push_parse_otlp(body, len, &lim, (int64_t)T0 + 60000000000LL,
				       &sink, &res) != 0 ||
		    res.accepted != RECORDS) {
			fprintf(stderr, "otlp-decode: %s\n", res.message);
			return 1;
		}
		t = now() - t;
		hand = t < hand ? t : hand;
		lim.discover_log_levels = 0;
		t = now();
		(void)lt_push_parse_otlp(body, len, &lim,
					 (int64_t)T0 + 60000000000LL, &sink, &res);
		t = now() - t;
		bare = t < bare ? t : bare;
		lim.discover_log_levels = 1;
		t = now();
		m = protobuf_c_message_unpack(&REQUEST_DESCRIPTOR, NULL, len, body);
		if (m == NULL)
			return 1;
		protobuf_c_message_free_unpacked(m, NULL);
		t = now() - t;
		pbc = t < pbc ? t : pbc;
	}
	printf("request: %zu bytes, %d records; best of %d rounds\n", len,
	       RECORDS, rounds);
	printf("lt_push_parse_otlp (null sink, discover_log_levels on): "
	       "%.2f ms, %.0f MB/s\n", hand * 1e3, (double)len / hand / 1e6);
	printf("lt_push_parse_otlp (null sink, discover_log_levels off): "
	       "%.2f ms, %.0f MB/s\n", bare * 1e3, (double)len / bare / 1e6);
	printf("protobuf-c unpack + free:                               "
	       "%.2f ms, %.0f MB/s\n", pbc * 1e3, (double)len / pbc / 1e6);
	free(body);
	return 0;
}
