/* The validating core that the JSON and protobuf push readers share
 * (push.c), so that both apply the same limits with the same messages.
 * Internal to the push parsers. */
#ifndef LOGTHRA_PUSH_INT_H
#define LOGTHRA_PUSH_INT_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "push.h"

struct lt_push_parse {
	const struct lt_limits *lim;
	int64_t now_ns;
	const struct lt_sink *sink;
	struct lt_push_result *res;
	size_t stream_no;   /* 1-based; 0 before the first stream */
	size_t entry_no;    /* 1-based; 0 outside entries */
	size_t entries_seen; /* entries read so far, in every stream */
	int labels_ok;      /* labels[0..n_labels) are valid and sorted */
	int stream_sent;    /* the sink has seen this stream's labels */
	struct lt_label *labels;
	size_t n_labels, cap_labels;
	size_t empty_labels; /* this stream's labels left out as empty */
	struct lt_label *meta;
	size_t cap_meta;
	size_t msg_len;     /* bytes of res->message in use */
	enum lt_reject_reason last_reason; /* of the last lt_pp_reject() */
	char *scratch;      /* unescaped label values of label text */
	size_t cap_scratch;
	struct lt_label *text_labels;
	size_t cap_text_labels;
	/* What the messages call a stream and an entry: "stream" and
	 * "entry" (NULL) for Loki's pushes; an OTLP request has resources
	 * and log records. */
	const char *stream_word;
	const char *entry_word;
};

void lt_pp_init(struct lt_push_parse *p, const struct lt_limits *lim,
		int64_t now_ns, const struct lt_sink *sink,
		struct lt_push_result *res);
void lt_pp_free(struct lt_push_parse *p);

/* The whole push is refused: 400 with the message, prefixed by the
 * stream and entry in hand.  Returns -1. */
int lt_pp_fail(struct lt_push_parse *p, const char *fmt, ...) LT_PRINTF(2, 3);
/* The sink or an allocation failed: 500.  Returns -1. */
int lt_pp_oom(struct lt_push_parse *p);
/* Rejects n entries (the current entry, or a whole stream's), counts
 * them under reason, and records the message, prefixed by the stream and
 * entry in hand.  Returns 1. */
int lt_pp_reject(struct lt_push_parse *p, enum lt_reject_reason reason,
		 size_t n, const char *fmt, ...) LT_PRINTF(4, 5);
/* Counts n more entries of the stream rejected last, under its reason
 * (entries counted only after the stream was rejected). */
void lt_pp_reject_more(struct lt_push_parse *p, size_t n);

/* Moves to the next stream, for the messages. */
void lt_pp_begin_stream(struct lt_push_parse *p);
/* Checks the stream's labels as sent (they must stay valid
 * until the next stream starts) and the number of its entries.  Returns 0
 * when its entries should follow, 1 when the stream was rejected (its
 * entries are counted as rejected), -1 when out of memory. */
int lt_pp_stream(struct lt_push_parse *p, const struct lt_label *labels,
		 size_t n, size_t n_entries);
/* The same for labels given as text, {app="api", level="info"} (Loki's
 * protobuf and legacy JSON pushes); text must stay valid until the next
 * stream starts.  A syntax error rejects the stream. */
int lt_pp_stream_text(struct lt_push_parse *p, const char *text, size_t len,
		      size_t n_entries);
/* Moves to the next entry of the stream, for the messages, and counts
 * it against max_entries_per_push.  Returns 0, or -1 when the push is
 * refused for holding too many (413). */
int lt_pp_next_entry(struct lt_push_parse *p);
/* Checks an entry (its metadata in any order) and hands it to the sink.
 * Returns 0 when accepted, 1 when rejected, -1 when the sink failed. */
int lt_pp_entry(struct lt_push_parse *p, int64_t ts_ns, const char *line,
		size_t line_len, const struct lt_label *metadata, size_t n_meta);
/* A timestamp given as a number of nanoseconds (Loki JSON's decimal
 * text, OTLP's time_unix_nano) that is below 1e17, before 1973-03-03, is
 * rejected as the entry, naming the unit it looks like by its size
 * (seconds, milliseconds, microseconds) and the value in nanoseconds.
 * what names the field; quote says it was a string.  Returns 0 or 1. */
int lt_pp_check_unit(struct lt_push_parse *p, const char *what, int quote,
		     uint64_t v);
/* Writes s quoted, escaped and shortened to buf (LT_QUOTE_BUF bytes). */
#define LT_QUOTE_BUF 72
const char *lt_pp_quote(char *buf, const char *s, size_t len);

#endif
