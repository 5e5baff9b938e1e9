/* The settings: defaults, the config file, the environment and the
 * command line in turn, and the options all programs take (options.h). */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "file.h"
#include "log.h"
#include "options.h"
#include "otlp.h"

#define NS_PER_S INT64_C(1000000000)

enum setting_type {
	T_STRING,      /* char * */
	T_SIZE,        /* size_t, with k/M/G suffixes */
	T_COUNT,       /* size_t, plain number */
	T_DURATION_NS, /* int64_t nanoseconds */
	T_DURATION_S,  /* int64_t seconds */
	T_TIMEOUT_MS,  /* int milliseconds */
	T_LONG_S,      /* long seconds */
	T_CHOICE,      /* char *, one of the words in choices */
	T_SWITCH,      /* int: 0 for the first word in choices, 1 for the second */
	T_U64_COUNT,   /* uint64_t, plain number */
	T_U64_SIZE,    /* uint64_t, with k/M/G suffixes */
	T_NAMES,       /* const char * in lt_limits: OTLP attribute names
			* (lt_otlp_list_check()); "" is an empty list */
	T_NAME_PREFIXES, /* the same, where a name may end in '*' */
};

struct setting {
	const char *name;
	enum setting_type type;
	size_t offset;
	const char *choices; /* "a|b" for T_CHOICE and T_SWITCH */
	int required;        /* a T_STRING that an empty value cannot unset */
};

#define S(name, type, field) {name, type, offsetof(struct lt_options, field), NULL, 0}
#define C(name, type, field, choices) \
	{name, type, offsetof(struct lt_options, field), choices, 0}
#define R(name, field) \
	{name, T_STRING, offsetof(struct lt_options, field), NULL, 1}

/* A setting whose value the options own as a string of their own. */
static int
is_owned_string(enum setting_type t)
{
	return t == T_STRING || t == T_CHOICE || t == T_NAMES ||
	       t == T_NAME_PREFIXES;
}

static int
is_name_list(enum setting_type t)
{
	return t == T_NAMES || t == T_NAME_PREFIXES;
}

/* Every setting the three programs know: one table, so the config file,
 * the environment and lt_options_print() can never disagree. */
static const struct setting settings[] = {
	R("spool", spool),
	S("default_tenant", T_STRING, default_tenant),
	S("credentials_file", T_STRING, credentials_file),
	C("trust_remote_user", T_SWITCH, trust_remote_user, "no|yes"),
	S("max_body_size", T_SIZE, http.max_body_size),
	S("max_header_size", T_SIZE, http.max_header_size),
	S("read_timeout", T_TIMEOUT_MS, http.read_timeout_ms),
	S("idle_timeout", T_TIMEOUT_MS, http.idle_timeout_ms),
	S("request_timeout", T_TIMEOUT_MS, http.request_timeout_ms),
	S("max_headers", T_COUNT, http.max_headers),
	S("max_line_size", T_SIZE, limits.max_line_size),
	S("max_label_names", T_COUNT, limits.max_label_names),
	S("max_label_name_length", T_COUNT, limits.max_label_name_length),
	S("max_label_value_length", T_COUNT, limits.max_label_value_length),
	S("max_metadata_size", T_SIZE, limits.max_metadata_size),
	S("max_metadata_entries", T_COUNT, limits.max_metadata_entries),
	S("creation_grace_period", T_DURATION_NS, limits.creation_grace_ns),
	S("max_age", T_DURATION_NS, limits.max_age_ns),
	S("ingestion_rate", T_SIZE, limits.ingestion_rate),
	S("ingestion_burst_size", T_SIZE, limits.ingestion_burst),
	S("max_streams_per_push", T_COUNT, limits.max_streams_per_push),
	S("max_entries_per_push", T_COUNT, limits.max_entries_per_push),
	S("retention", T_DURATION_S, limits.retention_s),
	S("dedup_window", T_DURATION_S, limits.dedup_window_s),
	C("discover_log_levels", T_SWITCH, limits.discover_log_levels, "no|yes"),
	S("otlp_index_labels", T_NAMES, limits.otlp_index_labels),
	S("otlp_drop_attributes", T_NAME_PREFIXES, limits.otlp_drop_attributes),
	S("max_entries_limit_per_query", T_COUNT, query_limits.max_entries),
	S("max_query_length", T_DURATION_NS, query_limits.max_length_ns),
	S("max_query_series", T_COUNT, query_limits.max_series),
	S("query_timeout", T_DURATION_NS, query_limits.timeout_ns),
	S("query_max_rows_to_read", T_U64_COUNT, query_limits.max_rows_to_read),
	S("query_max_memory", T_U64_SIZE, query_limits.max_memory),
	S("max_concurrent_tail_requests", T_COUNT, query_limits.max_tails),
	S("tail_max_duration", T_DURATION_NS, tail_max_duration_ns),
	S("max_decompressed_size", T_SIZE, max_decompressed_size),
	S("max_compression_ratio", T_COUNT, max_compression_ratio),
	S("tmp_max_age", T_DURATION_S, tmp_max_age_s),
	R("clickhouse_url", clickhouse_url),
	S("clickhouse_user", T_STRING, clickhouse_user),
	S("clickhouse_password", T_STRING, clickhouse_password),
	S("clickhouse_password_file", T_STRING, clickhouse_password_file),
	S("clickhouse_timeout", T_LONG_S, clickhouse_timeout_s),
	S("cluster", T_STRING, cluster),
	S("shard_urls", T_STRING, shard_urls),
	R("database", database),
	R("table", table),
	S("batch_max_bytes", T_SIZE, batch_max_bytes),
	S("batch_max_rows", T_COUNT, batch_max_rows),
	S("retry_min_delay", T_DURATION_S, retry_min_delay_s),
	S("retry_max_delay", T_DURATION_S, retry_max_delay_s),
	S("follow_delay", T_TIMEOUT_MS, follow_delay_ms),
	S("metrics_file", T_STRING, metrics_file),
	S("min_free_space", T_SIZE, min_free_space),
	S("min_free_inodes", T_COUNT, min_free_inodes),
	C("after_flush", T_SWITCH, after_flush_archive, "remove|archive"),
	S("archive_dir", T_STRING, archive_dir),
	C("archive_format", T_CHOICE, archive_format, "zstd|gzip"),
	C("archive_period", T_CHOICE, archive_period, "day|hour"),
	S("archive_retention", T_DURATION_S, archive_retention_s),
};

#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL) {
		lt_error("out of memory");
		exit(1);
	}
	return p;
}

void
lt_options_defaults(struct lt_options *o)
{
	memset(o, 0, sizeof(*o));
	o->spool = xstrdup(LT_DEFAULT_SPOOL);
	lt_limits_defaults(&o->limits);
	/* Loki's defaults, and ClickHouse's own limits sized for one
	 * query of a small server. */
	o->query_limits.max_entries = 5000;
	o->query_limits.max_length_ns = (INT64_C(30) * 24 + 1) * 3600 * NS_PER_S;
	o->query_limits.max_series = 500;
	o->query_limits.timeout_ns = 60 * NS_PER_S;
	o->query_limits.max_rows_to_read = UINT64_C(1000000000);
	o->query_limits.max_memory = UINT64_C(2) << 30;
	/* Loki's max_concurrent_tail_requests and tail_max_duration. */
	o->query_limits.max_tails = 10;
	o->tail_max_duration_ns = 3600 * NS_PER_S;
	o->http.max_body_size = 16u << 20;
	o->http.max_header_size = 16u << 10;
	o->http.read_timeout_ms = 30 * 1000;
	o->http.idle_timeout_ms = 15 * 1000;
	/* A 16 MiB body at 256 KB/s; a client slower than that is
	 * better off with smaller pushes. */
	o->http.request_timeout_ms = 60 * 1000;
	o->http.max_headers = 100;
	o->max_decompressed_size = 64u << 20;
	o->max_compression_ratio = 100;
	o->tmp_max_age_s = 3600;
	o->clickhouse_url = xstrdup("http://127.0.0.1:8123/");
	o->database = xstrdup("logs");
	o->table = xstrdup("log");
	o->clickhouse_timeout_s = 300;
	o->batch_max_bytes = 16u << 20;
	o->batch_max_rows = 1000000;
	o->retry_min_delay_s = 30;
	o->retry_max_delay_s = 600;
	o->follow_delay_ms = 500;
	o->min_free_space = 64u << 20;
	o->min_free_inodes = 1000;
	o->archive_format = xstrdup("zstd");
	o->archive_period = xstrdup("day");
}

void
lt_options_free(struct lt_options *o)
{
	size_t i;

	for (i = 0; i < N_SETTINGS; i++) {
		if (is_owned_string(settings[i].type)) {
			/* The name lists are const in struct lt_limits,
			 * which only reads them; here they are ours. */
			char **p = (char **)((char *)o + settings[i].offset);
			free(*p);
			*p = NULL;
		}
	}
	for (i = 0; i < o->n_tenant_settings; i++) {
		free(o->tenant_settings[i].tenant);
		free(o->tenant_settings[i].name);
		free(o->tenant_settings[i].value);
	}
	free(o->tenant_settings);
	o->tenant_settings = NULL;
	o->n_tenant_settings = 0;
	free(o->config_file);
	o->config_file = NULL;
}

static int
parse_u64(const char *s, const char **end, uint64_t *out)
{
	char *e;
	unsigned long long v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &e, 10);
	if (errno == ERANGE)
		return -1;
	*out = v;
	*end = e;
	return 0;
}

static int
suffix_is(const char *s, const char *const *names)
{
	for (; *names; names++)
		if (strcasecmp(s, *names) == 0)
			return 1;
	return 0;
}

int
lt_parse_size(const char *s, size_t *out)
{
	static const char *const kilo[] = {"k", "kb", "kib", NULL};
	static const char *const mega[] = {"m", "mb", "mib", NULL};
	static const char *const giga[] = {"g", "gb", "gib", NULL};
	static const char *const none[] = {"", "b", NULL};
	const char *rest;
	uint64_t v, mult;

	if (parse_u64(s, &rest, &v) < 0)
		return -1;
	while (*rest == ' ')
		rest++;
	if (suffix_is(rest, none))
		mult = 1;
	else if (suffix_is(rest, kilo))
		mult = UINT64_C(1) << 10;
	else if (suffix_is(rest, mega))
		mult = UINT64_C(1) << 20;
	else if (suffix_is(rest, giga))
		mult = UINT64_C(1) << 30;
	else
		return -1;
	if (v > SIZE_MAX / mult)
		return -1;
	*out = (size_t)(v * mult);
	return 0;
}

int
lt_parse_duration(const char *s, int64_t *out_ns)
{
	static const struct {
		const char *suffix;
		int64_t ns;
	} units[] = {
		{"", NS_PER_S},	{"ms", NS_PER_S / 1000}, {"s", NS_PER_S},
		{"m", 60 * NS_PER_S}, {"h", 3600 * NS_PER_S},
		{"d", 86400 * NS_PER_S},
	};
	const char *rest;
	uint64_t v;
	size_t i;

	if (parse_u64(s, &rest, &v) < 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(rest, units[i].suffix) != 0)
			continue;
		if (v > (uint64_t)(INT64_MAX / units[i].ns))
			return -1;
		*out_ns = (int64_t)v * units[i].ns;
		return 0;
	}
	return -1;
}

/* The position of word in "a|b|c", or -1. */
static int
choice_index(const char *choices, const char *word)
{
	size_t n = strlen(word);
	int i = 0;

	for (;;) {
		const char *bar = strchr(choices, '|');
		size_t len = bar ? (size_t)(bar - choices) : strlen(choices);

		if (len == n && strncmp(choices, word, n) == 0)
			return i;
		if (bar == NULL)
			return -1;
		choices = bar + 1;
		i++;
	}
}

static const struct setting *
find_setting(const char *name)
{
	size_t i;

	for (i = 0; i < N_SETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

static int
set_number(const struct setting *st, void *field, const char *value)
{
	int64_t ns;
	size_t n;
	const char *rest;
	uint64_t v;

	switch (st->type) {
	case T_SIZE:
		if (lt_parse_size(value, &n) < 0)
			return -1;
		*(size_t *)field = n;
		return 0;
	case T_COUNT:
		if (parse_u64(value, &rest, &v) < 0 || *rest || v > SIZE_MAX)
			return -1;
		*(size_t *)field = (size_t)v;
		return 0;
	case T_DURATION_NS:
		if (lt_parse_duration(value, &ns) < 0)
			return -1;
		*(int64_t *)field = ns;
		return 0;
	case T_DURATION_S:
		if (lt_parse_duration(value, &ns) < 0)
			return -1;
		*(int64_t *)field = ns / NS_PER_S;
		return 0;
	case T_TIMEOUT_MS:
		if (lt_parse_duration(value, &ns) < 0 ||
		    ns / 1000000 > INT_MAX)
			return -1;
		*(int *)field = (int)(ns / 1000000);
		return 0;
	case T_LONG_S:
		if (lt_parse_duration(value, &ns) < 0 ||
		    ns / NS_PER_S > LONG_MAX)
			return -1;
		*(long *)field = (long)(ns / NS_PER_S);
		return 0;
	case T_SWITCH:
		if (choice_index(st->choices, value) < 0)
			return -1;
		*(int *)field = choice_index(st->choices, value);
		return 0;
	case T_U64_COUNT:
		if (parse_u64(value, &rest, &v) < 0 || *rest)
			return -1;
		*(uint64_t *)field = v;
		return 0;
	case T_U64_SIZE:
		if (lt_parse_size(value, &n) < 0)
			return -1;
		*(uint64_t *)field = n;
		return 0;
	case T_CHOICE:
		if (choice_index(st->choices, value) < 0)
			return -1;
		free(*(char **)field);
		*(char **)field = xstrdup(value);
		return 0;
	case T_STRING:
	case T_NAMES:
	case T_NAME_PREFIXES:
		break;
	}
	return -1;
}

/* Checks a list of OTLP attribute names.  Returns 0, or -1 with err
 * naming the setting and the problem. */
static int
check_name_list(const struct setting *st, const char *value, char *err,
		size_t errlen)
{
	char why[256];

	if (lt_otlp_list_check(value, st->type == T_NAME_PREFIXES, why,
			       sizeof(why)) == 0)
		return 0;
	(void)snprintf(err, errlen, "invalid value \"%s\" for setting \"%s\": %s",
		       value, st->name, why);
	return -1;
}

static const char *
type_hint(enum setting_type t)
{
	switch (t) {
	case T_SIZE:
	case T_U64_SIZE:
		return "a size such as 65536, 64KiB or 16MiB";
	case T_COUNT:
	case T_U64_COUNT:
		return "a whole number";
	case T_DURATION_NS:
	case T_DURATION_S:
	case T_TIMEOUT_MS:
	case T_LONG_S:
		return "a duration such as 30s, 10m, 7d or 500ms";
	case T_CHOICE:
	case T_SWITCH:
		return "one of";
	case T_NAMES:
	case T_NAME_PREFIXES:
		return "a list of attribute names";
	case T_STRING:
		break;
	}
	return "a string";
}

/* The message for a name that is no setting.  It may reach an HTTP
 * answer (a broken file under CGI or inetd), so a name that is not a
 * word is not repeated: "clickhouse_password hunter2 = x" must not show
 * the password. */
static int
unknown_setting(const char *name, char *err, size_t errlen)
{
	const char *p;

	for (p = name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			break;
	if (*p != '\0' || p == name || p - name > 64)
		(void)snprintf(err, errlen, "syntax error: expected name = "
			       "value, where name is a setting (letters, "
			       "digits and underscores)");
	else
		(void)snprintf(err, errlen, "unrecognized setting \"%s\"", name);
	return -1;
}

int
lt_options_set(struct lt_options *o, const char *name, const char *value,
	       char *err, size_t errlen)
{
	const struct setting *st = find_setting(name);
	void *field;

	if (st == NULL)
		return unknown_setting(name, err, errlen);
	field = (char *)o + st->offset;
	if (st->type == T_STRING) {
		char **p = field;
		/* The code using the spool, the URL, the database and the
		 * table counts on them: unset, they would reach open() and
		 * printf("%s") as NULL. */
		if (*value == '\0' && st->required) {
			(void)snprintf(err, errlen, "setting \"%s\" cannot be "
				       "empty", name);
			return -1;
		}
		free(*p);
		/* An empty value unsets optional strings (default_tenant,
		 * credentials) instead of making them "". */
		*p = *value ? xstrdup(value) : NULL;
		return 0;
	}
	if (is_name_list(st->type)) {
		char **p = field;

		if (check_name_list(st, value, err, errlen) < 0)
			return -1;
		/* Kept even when empty: "" is no attribute at all, NULL
		 * Loki's default list. */
		free(*p);
		*p = xstrdup(value);
		return 0;
	}
	if (set_number(st, field, value) < 0) {
		(void)snprintf(err, errlen,
			       "invalid value \"%s\" for setting \"%s\": expected %s%s%s",
			       value, name, type_hint(st->type),
			       st->choices ? " " : "", st->choices ? st->choices : "");
		return -1;
	}
	if (o->http.max_header_size > sizeof(((struct lt_conn *)0)->buf))
		o->http.max_header_size = sizeof(((struct lt_conn *)0)->buf);
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Strips one pair of matching quotes so that values with leading or
 * trailing blanks can be written. */
static char *
unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v[n - 1] = '\0';
		return v + 1;
	}
	return v;
}

/* Whether a setting is one of the push limits, which a [tenant NAME]
 * section may set. */
static int
is_limit(const struct setting *st)
{
	size_t at = offsetof(struct lt_options, limits);

	return st->offset >= at && st->offset < at + sizeof(struct lt_limits);
}

/* Whether a setting is one of the query limits, which a [tenant NAME]
 * section may set as well. */
static int
is_query_limit(const struct setting *st)
{
	size_t at = offsetof(struct lt_options, query_limits);

	return st->offset >= at &&
	       st->offset < at + sizeof(struct lt_query_limits);
}

/* The field of a limit setting in a struct lt_limits of its own. */
static void *
limit_field(struct lt_limits *l, const struct setting *st)
{
	return (char *)l + st->offset - offsetof(struct lt_options, limits);
}

static void *
query_limit_field(struct lt_query_limits *l, const struct setting *st)
{
	return (char *)l + st->offset - offsetof(struct lt_options, query_limits);
}

/* Checks a tenant's setting by applying it to a copy of the limits, then
 * keeps it for lt_options_limits_for(). */
static int
add_tenant_setting(struct lt_options *o, const char *tenant, const char *name,
		   const char *value, char *err, size_t errlen)
{
	const struct setting *st = find_setting(name);
	struct lt_tenant_setting *ts;
	struct lt_limits scratch = o->limits;
	struct lt_query_limits qscratch = o->query_limits;
	void *field;

	if (st == NULL)
		return unknown_setting(name, err, errlen);
	if (!is_limit(st) && !is_query_limit(st)) {
		(void)snprintf(err, errlen, "setting \"%s\" cannot be set per "
			       "tenant (only the push and query limits, such "
			       "as max_line_size, ingestion_rate and "
			       "max_query_length, can)", name);
		return -1;
	}
	field = is_limit(st) ? limit_field(&scratch, st)
			     : query_limit_field(&qscratch, st);
	if (is_name_list(st->type)) {
		if (check_name_list(st, value, err, errlen) < 0)
			return -1;
	} else if (set_number(st, field, value) < 0) {
		(void)snprintf(err, errlen,
			       "invalid value \"%s\" for setting \"%s\": "
			       "expected %s", value, name, type_hint(st->type));
		return -1;
	}
	ts = reallocarray(o->tenant_settings, o->n_tenant_settings + 1,
			  sizeof(*ts));
	if (ts == NULL) {
		lt_error("out of memory");
		exit(1);
	}
	o->tenant_settings = ts;
	ts += o->n_tenant_settings++;
	ts->tenant = xstrdup(tenant);
	ts->name = xstrdup(name);
	ts->value = xstrdup(value);
	return 0;
}

void
lt_options_limits_for(const struct lt_options *o, const char *tenant,
		      struct lt_limits *out)
{
	const struct lt_tenant_setting *ts;
	const struct setting *st;
	size_t i;

	*out = o->limits;
	for (i = 0; i < o->n_tenant_settings; i++) {
		ts = &o->tenant_settings[i];
		if (strcmp(ts->tenant, tenant) != 0)
			continue;
		st = find_setting(ts->name);
		if (!is_limit(st))
			continue;
		/* A list points at the tenant's setting, which lives as
		 * long as the options. */
		if (is_name_list(st->type))
			*(const char **)limit_field(out, st) = ts->value;
		/* Checked on reading, so this cannot fail. */
		else
			(void)set_number(st, limit_field(out, st), ts->value);
	}
}

void
lt_options_query_limits_for(const struct lt_options *o, const char *tenant,
			    struct lt_query_limits *out)
{
	const struct lt_tenant_setting *ts;
	const struct setting *st;
	size_t i;

	*out = o->query_limits;
	for (i = 0; i < o->n_tenant_settings; i++) {
		ts = &o->tenant_settings[i];
		if (strcmp(ts->tenant, tenant) != 0)
			continue;
		st = find_setting(ts->name);
		if (!is_query_limit(st))
			continue;
		(void)set_number(st, query_limit_field(out, st), ts->value);
	}
}

/* "[tenant NAME]" starts a tenant's section; *section gets the name. */
static int
section_line(char *line, char **section, char *err, size_t errlen)
{
	size_t n = strlen(line);
	const char *why;
	char *name;

	if (line[n - 1] != ']') {
		(void)snprintf(err, errlen, "syntax error: expected \"[tenant NAME]\"");
		return -1;
	}
	line[n - 1] = '\0';
	name = trim(line + 1);
	if (strncmp(name, "tenant", 6) != 0 || !isspace((unsigned char)name[6])) {
		(void)snprintf(err, errlen, "unknown section \"[%s]\": the only "
			       "sections are [tenant NAME]", name);
		return -1;
	}
	name = trim(name + 6);
	if (lt_tenant_valid(name, &why) < 0) {
		(void)snprintf(err, errlen, "invalid tenant id \"%s\" in section: %s",
			       name, why);
		return -1;
	}
	free(*section);
	*section = xstrdup(name);
	return 0;
}

static int
load_line(struct lt_options *o, char **section, char *line, char *err,
	  size_t errlen)
{
	char *eq, *name, *value;

	name = trim(line);
	if (*name == '\0' || *name == '#')
		return 0;
	if (*name == '[')
		return section_line(name, section, err, errlen);
	eq = strchr(name, '=');
	if (eq == NULL) {
		(void)snprintf(err, errlen, "syntax error: expected name = value");
		return -1;
	}
	*eq = '\0';
	name = trim(name);
	value = unquote(trim(eq + 1));
	if (*section != NULL)
		return add_tenant_setting(o, *section, name, value, err, errlen);
	return lt_options_set(o, name, value, err, errlen);
}

static int
load_file(struct lt_options *o, const char *path, int must_exist)
{
	FILE *f;
	char *line = NULL, *section = NULL;
	char err[512];
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = -1;

	f = fopen(path, "re");
	if (f == NULL) {
		if (!must_exist && errno == ENOENT)
			return 0;
		lt_error("could not open configuration file \"%s\": %m", path);
		return -1;
	}
	while (getline(&line, &cap, f) >= 0) {
		++lineno;
		if (load_line(o, &section, line, err, sizeof(err)) < 0) {
			lt_error("%s:%u: %s", path, lineno, err);
			goto out;
		}
	}
	if (ferror(f)) {
		lt_error("could not read configuration file \"%s\": %m", path);
		goto out;
	}
	free(o->config_file);
	o->config_file = xstrdup(path);
	rc = 0;
out:
	free(line);
	free(section);
	(void)fclose(f);
	return rc;
}

static int
load_env(struct lt_options *o)
{
	char var[64], err[512];
	const char *value;
	size_t i, j;

	for (i = 0; i < N_SETTINGS; i++) {
		const char *name = settings[i].name;

		(void)snprintf(var, sizeof(var), "LOGTHRA_%s", name);
		for (j = 8; var[j]; j++)
			var[j] = (char)toupper((unsigned char)var[j]);
		value = getenv(var);
		if (value == NULL)
			continue;
		if (lt_options_set(o, name, value, err, sizeof(err)) < 0) {
			lt_error("%s: %s", var, err);
			return -1;
		}
	}
	return 0;
}

int
lt_options_load(struct lt_options *o, const char *path)
{
	const char *env = getenv("LOGTHRA_CONFIG");

	if (path != NULL) {
		if (load_file(o, path, 1) < 0)
			return -1;
	} else if (env != NULL && *env) {
		if (load_file(o, env, 1) < 0)
			return -1;
	} else if (load_file(o, LT_DEFAULT_CONFIG, 0) < 0) {
		return -1;
	}
	return load_env(o);
}

/* A password file holds one line; more than this is not a password. */
#define PASSWORD_FILE_MAX 4096

int
lt_options_read_password(struct lt_options *o)
{
	const char *path = o->clickhouse_password_file;
	struct lt_buf text = LT_BUF_INIT;
	enum lt_file_call call;
	size_t n;
	int rc = -1, error;

	if (path == NULL || path[0] == '\0')
		return 0;
	if (o->clickhouse_password != NULL) {
		lt_error("both clickhouse_password and clickhouse_password_file are set");
		lt_hint("Keep the password in the file only.");
		return -1;
	}
	/* All the room the reader may need, reserved first: it then never
	 * reallocates, which would leave a copy of the password in freed
	 * memory where explicit_bzero() below does not reach. */
	if (lt_buf_reserve(&text, PASSWORD_FILE_MAX + 1) < 0) {
		lt_error("out of memory");
		return -1;
	}
	/* A symbolic link is followed: the administrator names the file,
	 * and a mounted secret is often one. */
	error = lt_file_read(path, LT_FILE_FOLLOW, S_IROTH, PASSWORD_FILE_MAX,
			     &text, NULL, &call);
	if (error != 0) {
		if (call == LT_FILE_OPEN) {
			lt_error("cannot open clickhouse_password_file \"%s\": %s", path,
				 strerror(error));
		} else if (call == LT_FILE_FSTAT) {
			lt_error("cannot stat \"%s\": %s", path, strerror(error));
		} else if (call == LT_FILE_READ) {
			lt_error("cannot read \"%s\": %s", path, strerror(error));
		} else if (error == EINVAL) {
			lt_error("clickhouse_password_file \"%s\" is not a regular file", path);
		} else if (error == EPERM) {
			lt_error("clickhouse_password_file \"%s\" is readable by everyone", path);
			lt_hint("chmod 0640 (owner root, group of logthra-flush's user) or 0600.");
		} else if (error == EFBIG) {
			lt_error("clickhouse_password_file \"%s\" is longer than %d bytes", path,
				 PASSWORD_FILE_MAX);
		} else {
			lt_error("out of memory");
		}
		goto out;
	}
	/* The first line, without its line end: editors add one. */
	n = 0;
	while (n < text.len && text.data[n] != '\n' && text.data[n] != '\r')
		n++;
	if (memchr(text.data, '\0', n) != NULL) {
		lt_error("clickhouse_password_file \"%s\" holds a NUL byte", path);
		goto out;
	}
	text.data[n] = '\0';
	o->clickhouse_password = strdup((char *)text.data);
	if (o->clickhouse_password == NULL) {
		lt_error("out of memory");
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(text.data, text.cap);
	lt_buf_free(&text);
	return rc;
}

static void
print_setting(const struct lt_options *o, const struct setting *st)
{
	const void *f = (const char *)o + st->offset;

	switch (st->type) {
	case T_STRING: {
		const char *s = *(char *const *)f;
		if (strcmp(st->name, "clickhouse_password") == 0 && s)
			s = "********";
		(void)printf("%s = %s\n", st->name, s ? s : "");
		break;
	}
	case T_SIZE:
	case T_COUNT:
		(void)printf("%s = %zu\n", st->name, *(const size_t *)f);
		break;
	case T_DURATION_NS:
		(void)printf("%s = %" PRId64 "ms\n", st->name,
			     *(const int64_t *)f / 1000000);
		break;
	case T_DURATION_S:
		(void)printf("%s = %" PRId64 "s\n", st->name, *(const int64_t *)f);
		break;
	case T_TIMEOUT_MS:
		(void)printf("%s = %dms\n", st->name, *(const int *)f);
		break;
	case T_LONG_S:
		(void)printf("%s = %lds\n", st->name, *(const long *)f);
		break;
	case T_U64_COUNT:
	case T_U64_SIZE:
		(void)printf("%s = %" PRIu64 "\n", st->name, *(const uint64_t *)f);
		break;
	case T_CHOICE:
		(void)printf("%s = %s\n", st->name, *(char *const *)f);
		break;
	case T_NAMES:
	case T_NAME_PREFIXES: {
		const char *s = *(const char *const *)f;
		/* Unset, the index labels are Loki's: say which. */
		if (s == NULL && st->type == T_NAMES)
			s = LT_OTLP_DEFAULT_INDEX_LABELS;
		(void)printf("%s = %s\n", st->name, s ? s : "");
		break;
	}
	case T_SWITCH:
		if (*(const int *)f)
			(void)printf("%s = %s\n", st->name, strchr(st->choices, '|') + 1);
		else
			(void)printf("%s = %.*s\n", st->name,
				     (int)(strchr(st->choices, '|') - st->choices),
				     st->choices);
		break;
	}
}

void
lt_options_print(const struct lt_options *o)
{
	size_t i;

	const char *section = NULL;

	for (i = 0; i < N_SETTINGS; i++)
		print_setting(o, &settings[i]);
	for (i = 0; i < o->n_tenant_settings; i++) {
		const struct lt_tenant_setting *ts = &o->tenant_settings[i];

		if (section == NULL || strcmp(section, ts->tenant) != 0)
			(void)printf("\n[tenant %s]\n", ts->tenant);
		section = ts->tenant;
		(void)printf("%s = %s\n", ts->name, ts->value);
	}
}

void
lt_cli_set(struct lt_cli *cli, const char *option, const char *name,
	   const char *value)
{
	int i;

	for (i = 0; i < cli->n; i++) /* the last one given wins */
		if (strcmp(cli->name[i], name) == 0)
			break;
	if (i == LT_CLI_MAX)
		return; /* cannot happen: fewer options than slots */
	cli->option[i] = option;
	cli->name[i] = name;
	cli->value[i] = value;
	if (i == cli->n)
		cli->n++;
}

int
lt_cli_apply(struct lt_cli *cli, struct lt_options *o)
{
	char err[512];
	int i;

	lt_options_defaults(o);
	if (lt_options_load(o, cli->config) < 0)
		goto fail;
	for (i = 0; i < cli->n; i++) {
		if (lt_options_set(o, cli->name[i], cli->value[i], err,
				   sizeof(err)) < 0) {
			lt_error("invalid value \"%s\" for option %s",
				 cli->value[i], cli->option[i]);
			lt_try_help();
			goto fail;
		}
	}
	return 0;
fail:
	/* The caller exits; what was read is freed for the leak checkers. */
	lt_options_free(o);
	return -1;
}

static void
print_version(void)
{
	(void)printf("%s (Logthra) %s\n", lt_progname(), PACKAGE_VERSION);
	exit(0);
}

void
lt_cli_early(int argc, char **argv, void (*usage)(void))
{
	if (argc < 2)
		return;
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-?") == 0) {
		usage();
		exit(0);
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
		print_version();
}

void
lt_cli_common(struct lt_cli *cli, int c, char **argv, void (*usage)(void))
{
	switch (c) {
	case 'c':
		cli->config = optarg;
		return;
	case 'D':
		lt_cli_set(cli, "-D/--spool", "spool", optarg);
		return;
	case 'v':
		cli->verbose++;
		return;
	case 'V':
		print_version();
		return;
	default:
		/* getopt_long answers '?' both for -?/--help and for an
		 * unknown option; only the latter sets optopt or has a
		 * different text. */
		if (c == '?' && optopt == 0 &&
		    (strcmp(argv[optind - 1], "-?") == 0 ||
		     strcmp(argv[optind - 1], "--help") == 0)) {
			usage();
			exit(0);
		}
		lt_try_help();
		exit(1);
	}
}

int
lt_cli_mode(struct lt_cli_mode *m, int mode, const char *option)
{
	if (m->mode != 0 && m->mode != mode) {
		lt_error("options %s and %s cannot be used together",
			 m->option, option);
		lt_try_help();
		return -1;
	}
	m->mode = mode;
	m->option = option;
	return 0;
}

void
lt_cli_operands(int argc, char **argv, int max)
{
	if (argc - optind <= max)
		return;
	lt_error("too many command-line arguments (first is \"%s\")",
		 argv[optind + max]);
	lt_try_help();
	exit(1);
}
