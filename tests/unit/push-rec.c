/* A push sink for the unit tests that writes what it receives as text
 * (push-rec.h). */
#include "config.h"

#include <check.h>

#include "push-rec.h"

static int
rec_labels(struct lt_buf *b, const struct lt_label *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((i > 0 && lt_buf_append_byte(b, ',') < 0) ||
		    lt_buf_append(b, l[i].name, l[i].name_len) < 0 ||
		    lt_buf_append_byte(b, '=') < 0 ||
		    lt_buf_append(b, l[i].value, l[i].value_len) < 0)
			return -1;
	}
	return 0;
}

int
rec_stream(void *ctx, const struct lt_label *labels, size_t n)
{
	struct rec *r = ctx;

	if (++r->calls == r->fail_at)
		return -1;
	if (lt_buf_append(&r->log, "S ", 2) < 0 ||
	    rec_labels(&r->log, labels, n) < 0)
		return -1;
	return lt_buf_append_byte(&r->log, '\n');
}

int
rec_entry(void *ctx, const struct lt_entry *e)
{
	struct rec *r = ctx;

	if (++r->calls == r->fail_at)
		return -1;
	r->last_line = e->line;
	if (lt_buf_printf(&r->log, "E %lld ", (long long)e->ts_ns) < 0 ||
	    lt_buf_append(&r->log, e->line, e->line_len) < 0)
		return -1;
	if (e->n_metadata > 0 &&
	    (lt_buf_append(&r->log, " [", 2) < 0 ||
	     rec_labels(&r->log, e->metadata, e->n_metadata) < 0 ||
	     lt_buf_append_byte(&r->log, ']') < 0))
		return -1;
	return lt_buf_append_byte(&r->log, '\n');
}

const char *
rec_text(struct rec *r)
{
	ck_assert_int_eq(lt_buf_terminate(&r->log), 0);
	return (const char *)r->log.data;
}
