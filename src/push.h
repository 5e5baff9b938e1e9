/* Push payloads: parsing and validation.
 *
 * A parser checks a request body against the limits and hands each stream
 * and entry to a sink as it goes; the receiver's sink encodes them straight
 * into a spool file, so no intermediate copy of the push is built.
 *
 * Two kinds of fault, as in Loki.  A body that is not a push at all
 * (malformed JSON or protobuf, the wrong shape) refuses the whole push.
 * An entry that breaks a limit (a line too long, a time too far ahead) is
 * rejected alone, and a stream whose labels are invalid is rejected with
 * its entries; the rest of the push is kept, and the result lists what
 * was rejected and why.  Clients do not retry a 400, so refusing the
 * whole push for one bad entry would lose the good ones. */
#ifndef LOGTHRA_PUSH_H
#define LOGTHRA_PUSH_H

#include <stddef.h>
#include <stdint.h>

/* Validation limits.  Defaults are Loki's (pkg/validation/limits.go). */
struct lt_limits {
	size_t max_line_size;          /* bytes per log line, 256 KiB */
	size_t max_label_names;        /* labels per stream, 15 */
	size_t max_label_name_length;  /* 1024 */
	size_t max_label_value_length; /* 2048 */
	size_t max_metadata_size;      /* structured metadata bytes per entry, 64 KiB,
					* not counting detected_level, as Loki */
	size_t max_metadata_entries;   /* structured metadata pairs per entry, 128 */
	int64_t creation_grace_ns;     /* how far in the future, 10 minutes */
	int64_t max_age_ns;            /* how far in the past; 0 = no limit */
	size_t ingestion_rate;         /* bytes per second per tenant, 4 MiB; 0 = no limit */
	size_t ingestion_burst;        /* bytes at once, 6 MiB */
	size_t max_streams_per_push;   /* 10,000 */
	size_t max_entries_per_push;   /* 1,000,000 */
	/* Not a push limit: how long ClickHouse keeps the tenant's rows
	 * (logthra-flush's table); 0 = forever.  A limit so that it can be
	 * set per tenant. */
	int64_t retention_s;
	/* Not a push limit either: a push identical to one of the tenant's
	 * stored this long ago or less is acknowledged and not stored again
	 * (dedup.h); 0 = never. */
	int64_t dedup_window_s;
	/* Gives each entry structured metadata detected_level, the level
	 * Loki's distributor finds (level.h); Loki's discover_log_levels,
	 * on by default. */
	int discover_log_levels;
	/* OTLP pushes (otlp.h): the resource attributes that become stream
	 * labels (NULL: Loki's default list) and the attributes left out
	 * (NULL: none); lists of names as lt_otlp_list_check() takes them.
	 * They point into the options' strings. */
	const char *otlp_index_labels;
	const char *otlp_drop_attributes;
};

void lt_limits_defaults(struct lt_limits *l);

/* A name/value pair: a stream label or an item of structured metadata.
 * The strings are not NUL-terminated. */
struct lt_label {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

struct lt_entry {
	int64_t ts_ns; /* unix nanoseconds, UTC */
	const char *line;
	size_t line_len;
	const struct lt_label *metadata; /* sorted by name, no duplicates */
	size_t n_metadata;
};

/* Where a parser sends what it validated.  stream() is called once per
 * stream, before its first accepted entry, with its labels sorted by
 * name; then entry() for each accepted entry.  A stream none of whose
 * entries is accepted never reaches the sink.  A callback returns 0, or
 * -1 to abort (out of memory). */
struct lt_sink {
	int (*stream)(void *ctx, const struct lt_label *labels, size_t n);
	int (*entry)(void *ctx, const struct lt_entry *e);
	void *ctx;
};

/* Why entries were rejected, for the receiver's counters (recv_stats.h):
 * named as Loki's reasons of loki_discarded_samples_total where one
 * fits (lt_reject_reason_name()).  The code that rejects says which; the
 * message is for people. */
enum lt_reject_reason {
	LT_REJECT_OTHER,                /* other */
	LT_REJECT_LINE_TOO_LONG,        /* line_too_long */
	LT_REJECT_TOO_OLD,              /* greater_than_max_sample_age */
	LT_REJECT_TOO_NEW,              /* too_far_in_future */
	LT_REJECT_INVALID_TIMESTAMP,    /* invalid_timestamp: unreadable, or
					 * outside 1970 to 2106 */
	LT_REJECT_INVALID_LABELS,       /* invalid_labels */
	LT_REJECT_MISSING_LABELS,       /* missing_labels */
	LT_REJECT_TOO_MANY_LABELS,      /* max_label_names_per_series */
	LT_REJECT_LABEL_NAME_TOO_LONG,  /* label_name_too_long */
	LT_REJECT_LABEL_VALUE_TOO_LONG, /* label_value_too_long */
	LT_REJECT_DUPLICATE_LABELS,     /* duplicate_label_names */
	LT_REJECT_METADATA_TOO_LARGE,   /* structured_metadata_too_large */
	LT_REJECT_METADATA_TOO_MANY,    /* structured_metadata_too_many */
	LT_REJECT_INVALID_METADATA,     /* invalid_structured_metadata: a bad
					 * name or value, a name twice */
	LT_REJECT_RATE_LIMITED,         /* rate_limited: the receiver's 429 */
	LT_REJECT_REASONS
};

/* The reason's name in the metrics; NULL past the last. */
const char *lt_reject_reason_name(enum lt_reject_reason r);

/* How many rejection reasons a result keeps; the rest are counted. */
#define LT_PUSH_REASONS 10

/* What a parse did.  On a refused push (the parser returned -1), status
 * is 400 (not a push) or 500 (the sink failed) and message says why, such
 * as 'malformed JSON at line 1, column 9 (byte 8): ...'.  Otherwise
 * status is 0 and, when entries were rejected, message holds one line per
 * reason (at most LT_PUSH_REASONS), each naming the stream and entry:
 * 'stream 2 {app="api"}: entry 5: line too long (300000 bytes, limit 262144)'. */
struct lt_push_result {
	int status;
	size_t accepted;       /* entries handed to the sink */
	size_t accepted_bytes; /* their lines and structured metadata but
				* detected_level, the bytes Loki's rate
				* limits count */
	size_t rejected;       /* entries rejected, with those of rejected streams */
	size_t rejected_by[LT_REJECT_REASONS]; /* the same by reason */
	size_t n_reasons;      /* lines in message */
	int reasons_cut;       /* more reasons than LT_PUSH_REASONS came */
	char message[6144];
};

/* Parses a JSON push, Loki's ({"streams":[{"stream":{labels},"values":
 * [[ts, line (, {metadata})], ...]}]}) or Loki's legacy one ({"streams":
 * [{"labels":"{app=\"api\"}","entries":[{"ts":ts,"line":line}]}]}),
 * with a JSON reader made for it (no DOM; strings point into the body).
 * now_ns is the receive time used for the grace period and maximum age.
 * Returns 0 when the body is a push (res says what was kept and
 * rejected), -1 when the whole push is refused. */
int lt_push_parse_json(const char *body, size_t len,
		       const struct lt_limits *limits, int64_t now_ns,
		       const struct lt_sink *sink, struct lt_push_result *res);

/* The same for Loki's protobuf push (logproto.PushRequest), already
 * snappy-decoded. */
int lt_push_parse_proto(const void *body, size_t len,
			const struct lt_limits *limits, int64_t now_ns,
			const struct lt_sink *sink, struct lt_push_result *res);

/* Parses a timestamp: a string of decimal unix nanoseconds ("1704067200000000000"),
 * a date ("2024-01-01", midnight UTC) or RFC 3339 with optional fraction of
 * up to 9 digits and a Z or +hh:mm offset ("2024-01-01T12:00:00.5+02:00").
 * Returns 0, or -1 with *why set to a static description. */
int lt_parse_timestamp(const char *s, size_t len, int64_t *ns, const char **why);

/* Checks a tenant id by Loki's rules: 1 to 150 bytes of [A-Za-z0-9] and
 * !-_.*'(), never "." or "..".  Such a name can never leave the tenant's
 * spool directory.  Returns 0, or -1 with *why set. */
int lt_tenant_valid(const char *tenant, const char **why);

/* Checks a label or metadata name: [a-zA-Z_][a-zA-Z0-9_]*.  */
int lt_label_name_valid(const char *name, size_t len);

#endif
