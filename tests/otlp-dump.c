/* otlp-dump: reads one OTLP logs request from a file and prints what
 * lt_push_parse_otlp() hands its sink, one JSON object a line, for the
 * differential check (tests/clients/otlp-diff.js) to compare with a
 * reference decoder:
 *
 *   {"stream":[["name","value"],...]}
 *   {"entry":{"ts":"ns","line":"...","metadata":[["name","value"],...]}}
 *   {"result":{"rc":0,"accepted":1,"rejected":0,"status":0,"message":"..."}}
 *
 * Usage: otlp-dump [-j] [-x] [-l] [-L] [-n NOW_NS] [-i INDEX] [-d DROP] FILE
 *   -j  the file is OTLP JSON: lt_otlp_json_to_proto() first
 *   -x  the file is OTLP JSON: print the protobuf lt_otlp_json_to_proto()
 *       makes of it, and nothing else (exit 1 with its message when it
 *       refuses the file)
 *   -l  Loki's default limits (otherwise limits that no generated request
 *       reaches, so that only the mapping is compared)
 *   -L  discover_log_levels on (off otherwise: detected_level is the
 *       receiver's, not the mapping's)
 *   -n  the receive time (default 1700000000000000000)
 *   -i, -d  otlp_index_labels and otlp_drop_attributes
 * Strings are printed with their bytes as they are: only '"', '\\' and
 * control characters are escaped. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/buf.h"
#include "../src/otlp.h"
#include "../src/push.h"

static int
json_str(struct lt_buf *b, const char *s, size_t len)
{
	size_t i;
	unsigned char c;

	if (lt_buf_append_byte(b, '"') < 0)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			if (lt_buf_append_byte(b, '\\') < 0 ||
			    lt_buf_append_byte(b, c) < 0)
				return -1;
		} else if (c < 0x20) {
			if (lt_buf_printf(b, "\\u%04x", c) < 0)
				return -1;
		} else if (lt_buf_append_byte(b, c) < 0) {
			return -1;
		}
	}
	return lt_buf_append_byte(b, '"');
}

static int
json_pairs(struct lt_buf *b, const struct lt_label *l, size_t n)
{
	size_t i;

	if (lt_buf_append_byte(b, '[') < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if ((i > 0 && lt_buf_append_byte(b, ',') < 0) ||
		    lt_buf_append_byte(b, '[') < 0 ||
		    json_str(b, l[i].name, l[i].name_len) < 0 ||
		    lt_buf_append_byte(b, ',') < 0 ||
		    json_str(b, l[i].value, l[i].value_len) < 0 ||
		    lt_buf_append_byte(b, ']') < 0)
			return -1;
	}
	return lt_buf_append_byte(b, ']');
}

static int
dump_stream(void *ctx, const struct lt_label *labels, size_t n)
{
	struct lt_buf *b = ctx;

	if (lt_buf_append(b, "{\"stream\":", 10) < 0 ||
	    json_pairs(b, labels, n) < 0 || lt_buf_append(b, "}\n", 2) < 0)
		return -1;
	return 0;
}

static int
dump_entry(void *ctx, const struct lt_entry *e)
{
	struct lt_buf *b = ctx;

	if (lt_buf_printf(b, "{\"entry\":{\"ts\":\"%" PRId64 "\",\"line\":",
			  e->ts_ns) < 0 ||
	    json_str(b, e->line, e->line_len) < 0 ||
	    lt_buf_append(b, ",\"metadata\":", 12) < 0 ||
	    json_pairs(b, e->metadata, e->n_metadata) < 0 ||
	    lt_buf_append(b, "}}\n", 3) < 0)
		return -1;
	return 0;
}

static int
read_file(const char *path, struct lt_buf *out)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	int rc = 0;

	if (f == NULL) {
		fprintf(stderr, "otlp-dump: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (lt_buf_reserve(out, 65536) < 0) {
			fprintf(stderr, "otlp-dump: out of memory\n");
			rc = -1;
			break;
		}
		n = fread(out->data + out->len, 1, 65536, f);
		out->len += n;
		if (n < 65536)
			break;
	}
	if (rc == 0 && ferror(f)) {
		fprintf(stderr, "otlp-dump: %s: read error\n", path);
		rc = -1;
	}
	if (fclose(f) != 0 && rc == 0) {
		fprintf(stderr, "otlp-dump: %s: %s\n", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

/* Limits no generated request reaches: the comparison is of the
 * mapping, and the limits are the validating core's, tested apart. */
static void
wide_limits(struct lt_limits *l)
{
	l->max_line_size = 64u << 20;
	l->max_label_names = 1000;
	l->max_label_name_length = 1u << 20;
	l->max_label_value_length = 1u << 20;
	l->max_metadata_size = 64u << 20;
	l->max_metadata_entries = 100000;
	l->creation_grace_ns = INT64_MAX / 2;
}

struct opts {
	int json, to_proto, loki_limits, levels;
	int64_t now_ns;
	const char *index, *drop, *path;
};

static int
parse_opts(int argc, char **argv, struct opts *o)
{
	int c;
	char *end;

	memset(o, 0, sizeof(*o));
	o->now_ns = INT64_C(1700000000000000000);
	while ((c = getopt(argc, argv, "jxlLn:i:d:")) != -1) {
		switch (c) {
		case 'j': o->json = 1; break;
		case 'x': o->to_proto = 1; break;
		case 'l': o->loki_limits = 1; break;
		case 'L': o->levels = 1; break;
		case 'i': o->index = optarg; break;
		case 'd': o->drop = optarg; break;
		case 'n':
			errno = 0;
			o->now_ns = strtoll(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || end == optarg)
				return -1;
			break;
		default: return -1;
		}
	}
	if (optind != argc - 1)
		return -1;
	o->path = argv[optind];
	return 0;
}

/* Runs the reader over the request in body and appends its output and
 * result to out.  Returns 0, or -1 when out could not grow. */
static int
dump(const struct opts *o, const struct lt_buf *body, struct lt_buf *out)
{
	struct lt_buf pb = LT_BUF_INIT;
	struct lt_limits lim;
	struct lt_sink sink = {dump_stream, dump_entry, out};
	struct lt_push_result res;
	const void *data = body->data;
	size_t len = body->len;
	int rc, ret = -1;

	memset(&res, 0, sizeof(res));
	lt_limits_defaults(&lim);
	if (!o->loki_limits)
		wide_limits(&lim);
	lim.discover_log_levels = o->levels;
	lim.otlp_index_labels = o->index;
	lim.otlp_drop_attributes = o->drop;
	if (o->json) {
		rc = lt_otlp_json_to_proto(len > 0 ? (const char *)data : "",
					   len, &pb, res.message,
					   sizeof(res.message));
		if (rc < 0) {
			res.status = rc == -2 ? 500 : 400;
			goto result;
		}
		data = pb.data != NULL ? (const void *)pb.data : "";
		len = pb.len;
	}
	rc = lt_push_parse_otlp(data != NULL ? data : "", len, &lim, o->now_ns,
				&sink, &res);
result:
	if (lt_buf_printf(out, "{\"result\":{\"rc\":%d,\"accepted\":%zu,"
			  "\"rejected\":%zu,\"status\":%d,\"message\":",
			  rc, res.accepted, res.rejected, res.status) < 0 ||
	    json_str(out, res.message, strnlen(res.message,
					       sizeof(res.message))) < 0 ||
	    lt_buf_append(out, "}}\n", 3) < 0)
		goto done;
	ret = 0;
done:
	lt_buf_free(&pb);
	return ret;
}

/* -x: the JSON request rewritten as protobuf, appended to out.  Returns 0,
 * 1 when the rewrite refused the request (said on stderr), -1 when out of
 * memory. */
static int
to_proto(const struct lt_buf *body, struct lt_buf *out)
{
	char err[1024];
	int rc;

	rc = lt_otlp_json_to_proto(body->len > 0 ? (const char *)body->data : "",
				   body->len, out, err, sizeof(err));
	if (rc == -2)
		return -1;
	if (rc < 0) {
		fprintf(stderr, "otlp-dump: %s\n", err);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct lt_buf body = LT_BUF_INIT, out = LT_BUF_INIT;
	int status = 2, rc;

	if (parse_opts(argc, argv, &o) < 0) {
		fprintf(stderr, "usage: otlp-dump [-j] [-x] [-l] [-L] [-n NOW_NS] "
				"[-i INDEX] [-d DROP] FILE\n");
		return 2;
	}
	if (read_file(o.path, &body) < 0)
		goto done;
	rc = o.to_proto ? to_proto(&body, &out) : dump(&o, &body, &out);
	if (rc < 0) {
		fprintf(stderr, "otlp-dump: out of memory\n");
		goto done;
	}
	if (rc > 0) {
		status = 1;
		goto done;
	}
	if (fwrite(out.data, 1, out.len, stdout) != out.len ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "otlp-dump: write error\n");
		goto done;
	}
	status = 0;
done:
	lt_buf_free(&body);
	lt_buf_free(&out);
	return status;
}
