/* The Go text/template subset LogQL's line_format and label_format use:
 *
 *   {{.label}}  {{ .a }}-{{.b}}  {{ .msg | ToUpper }}  {{ printf "%05d" .n }}
 *   {{ if .err }}E{{ else if eq .level "warn" }}W{{ else }}ok{{ end }}
 *   {{ default "none" .user }}  {{ regexReplaceAll "(a+)" .line "${1}x" }}
 *   {{ __line__ }}  {{ __timestamp__ }}  {{- trimmed -}}, and Go's comments
 *
 * Values are strings (labels) or numbers and booleans made by functions;
 * logthra-query(1), TEMPLATES, lists the functions.  A template is
 * compiled once per query and executed per entry with bounded output. */
#ifndef LOGTHRA_TEMPLATE_H
#define LOGTHRA_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct lt_tmpl;

/* Where an executing template reads labels: returns the value of name
 * (and its length in *len), or NULL when the entry has no such label.
 * A missing label is "" in output, as Go's with missingkey=zero. */
typedef const char *(*lt_tmpl_lookup)(void *ctx, const char *name,
				      size_t name_len, size_t *len);

struct lt_tmpl_entry {
	lt_tmpl_lookup lookup;
	void *ctx;
	const char *line;     /* __line__ */
	size_t line_len;
	int64_t ts_ns;        /* __timestamp__ */
};

/* Compiles text[0..len).  Returns the template, or NULL with why set
 * ("template: line:1: function \"nope\" not defined", Go's way of saying
 * it, with the name Loki gives its templates), or "out of memory".  At
 * most LT_TMPL_MAX_NODES nodes. */
#define LT_TMPL_MAX_NODES 4096
struct lt_tmpl *lt_tmpl_compile(const char *text, size_t len, char *why,
				size_t whylen);
void lt_tmpl_free(struct lt_tmpl *t);

/* Appends the template's output for one entry to out, at most max_out
 * bytes of it.  Returns 0; or -1 with why set when the execution fails
 * (a function's wrong argument, output over max_out, out of memory): the
 * caller then marks the entry with __error__=TemplateFormatErr, as Loki
 * does, and out holds what was written before the failure. */
int lt_tmpl_execute(const struct lt_tmpl *t, const struct lt_tmpl_entry *e,
		    struct lt_buf *out, size_t max_out, char *why, size_t whylen);

/* Whether the template reads nothing but __line__ or labels: for
 * deciding what a query must fetch.  Calls fn for every label name it
 * reads (.name). */
void lt_tmpl_labels(const struct lt_tmpl *t,
		    void (*fn)(void *ctx, const char *name, size_t len), void *ctx);

#endif
