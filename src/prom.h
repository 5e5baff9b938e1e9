/* Prometheus' text exposition format, as the metrics file and
 * logthra-recv --metrics write it: HELP and TYPE lines, label values. */
#ifndef LOGTHRA_PROM_H
#define LOGTHRA_PROM_H

#include "buf.h"

/* "# HELP name help" (backslash and line feed escaped) and
 * "# TYPE name type".  Returns 0 or -1. */
int lt_prom_head(struct lt_buf *out, const char *name, const char *type,
		 const char *help);

/* s as a label value between double quotes: backslash, double quote and
 * line feed escaped.  Returns 0 or -1. */
int lt_prom_label_value(struct lt_buf *out, const char *s);

#endif
