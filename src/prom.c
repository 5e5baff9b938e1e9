/* Prometheus' text exposition format: HELP and TYPE lines and label
 * values escaped as the format asks (prom.h). */
#include "config.h"

#include "prom.h"

/* The format escapes backslash and line feed in HELP text, and double
 * quotes too in label values. */
static int
escape(struct lt_buf *out, const char *s, int quote)
{
	for (; *s; s++) {
		int rc;

		if (*s == '\\')
			rc = lt_buf_append(out, "\\\\", 2);
		else if (*s == '\n')
			rc = lt_buf_append(out, "\\n", 2);
		else if (*s == '"' && quote)
			rc = lt_buf_append(out, "\\\"", 2);
		else
			rc = lt_buf_append_byte(out, (unsigned char)*s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int
lt_prom_head(struct lt_buf *out, const char *name, const char *type,
	     const char *help)
{
	if (lt_buf_printf(out, "# HELP %s ", name) < 0 || escape(out, help, 0) < 0)
		return -1;
	return lt_buf_printf(out, "\n# TYPE %s %s\n", name, type);
}

int
lt_prom_label_value(struct lt_buf *out, const char *s)
{
	if (lt_buf_append_byte(out, '"') < 0 || escape(out, s, 1) < 0)
		return -1;
	return lt_buf_append_byte(out, '"');
}
