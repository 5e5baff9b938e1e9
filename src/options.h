/* Settings shared by the three programs.  Each setting has a name used in
 * the config file ("spool = /var/spool/logthra") and an environment
 * variable made from it (LOGTHRA_SPOOL).  Precedence, lowest first:
 * built-in defaults, the config file, the environment, command-line
 * options.  Under CGI only the first three apply. */
#ifndef LOGTHRA_OPTIONS_H
#define LOGTHRA_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "push.h"
#include "query.h"

#define LT_DEFAULT_CONFIG SYSCONFDIR "/logthra/logthra.conf"
#define LT_DEFAULT_SPOOL LOCALSTATEDIR "/spool/logthra"

/* A per-tenant limit from a [tenant NAME] section of the config file. */
struct lt_tenant_setting {
	char *tenant;
	char *name;  /* a limit setting: max_line_size, ingestion_rate, ... */
	char *value;
};

struct lt_auth;

struct lt_options {
	char *config_file;       /* the file that was read, or NULL */
	char *spool;
	char *default_tenant;    /* NULL: a push must name its tenant */
	char *credentials_file;  /* NULL: no authentication */
	int trust_remote_user;   /* the web server authenticates: REMOTE_USER */
	/* credentials_file as loaded by logthra-recv (not a setting; never
	 * freed by lt_options_free).  NULL while it is not loaded. */
	const struct lt_auth *auth;
	struct lt_limits limits;  /* every tenant's, unless overridden */
	struct lt_query_limits query_limits; /* logthra-query's, likewise */
	struct lt_tenant_setting *tenant_settings; /* in file order */
	size_t n_tenant_settings;
	size_t max_decompressed_size; /* a push body after Content-Encoding and snappy */
	size_t max_compression_ratio; /* decoded bytes per body byte, past 1 MiB */
	struct lt_http_limits http;
	int64_t tail_max_duration_ns; /* a live tail's longest life */
	int64_t tmp_max_age_s;   /* receiver temp files older than this are garbage */
	char *clickhouse_url;
	char *clickhouse_user;
	char *clickhouse_password;
	char *clickhouse_password_file; /* read by lt_options_read_password() */
	char *database;
	char *table;
	char *cluster;           /* ClickHouse cluster to write to, or NULL */
	char *shard_urls;        /* its shards' HTTP URLs, space-separated */
	long clickhouse_timeout_s;
	size_t batch_max_bytes;  /* spool bytes per INSERT */
	size_t batch_max_rows;
	int64_t retry_min_delay_s; /* a deferred file waits its age, within these */
	int64_t retry_max_delay_s;
	int follow_delay_ms;     /* --follow: settle time after a wake-up */
	char *metrics_file;      /* logthra-flush writes metrics here; NULL: none */
	size_t min_free_space;   /* logthra-recv refuses pushes below these */
	size_t min_free_inodes;
	int after_flush_archive; /* after_flush = archive (1) or remove (0) */
	char *archive_dir;       /* NULL: SPOOL/archive */
	char *archive_format;    /* zstd or gzip */
	char *archive_period;    /* day or hour */
	int64_t archive_retention_s; /* 0: keep archives forever */
};

/* Fills in the built-in defaults. */
void lt_options_defaults(struct lt_options *o);
void lt_options_free(struct lt_options *o);

/* Sets one named setting from text.  Returns 0, or -1 with a message
 * naming the problem in err. */
int lt_options_set(struct lt_options *o, const char *name, const char *value,
		   char *err, size_t errlen);

/* The limits of one tenant: the global ones with the tenant's section
 * applied over them.  The values were checked when the file was read. */
void lt_options_limits_for(const struct lt_options *o, const char *tenant,
			   struct lt_limits *out);

/* The query limits of one tenant, likewise. */
void lt_options_query_limits_for(const struct lt_options *o,
				 const char *tenant,
				 struct lt_query_limits *out);

/* Reads the config file: path given (-c/--config), else LOGTHRA_CONFIG,
 * else LT_DEFAULT_CONFIG when it exists.  Then applies the environment.
 * Logs and returns -1 on any error. */
int lt_options_load(struct lt_options *o, const char *path);

/* Parsers for option values; return 0 or -1. */
int lt_parse_size(const char *s, size_t *out);        /* 512, 64k, 16MiB, 1G */
int lt_parse_duration(const char *s, int64_t *out_ns); /* 30s, 10m, 7d, 500ms, 0 */

/* Command-line settings, collected while parsing options and applied
 * after the config file and the environment, so that they win. */
#define LT_CLI_MAX 32
struct lt_cli {
	const char *config;               /* -c/--config */
	int verbose;                      /* -v, counted */
	int n;
	const char *option[LT_CLI_MAX];   /* "-D/--spool", for messages */
	const char *name[LT_CLI_MAX];     /* setting name */
	const char *value[LT_CLI_MAX];
};

void lt_cli_set(struct lt_cli *cli, const char *option, const char *name,
		const char *value);
/* Defaults, config file, environment, then the options.  Logs and returns
 * -1 on any error, with o freed. */
int lt_cli_apply(struct lt_cli *cli, struct lt_options *o);
/* Answers --help and --version when they are the first argument, as
 * PostgreSQL's programs do; exits when it did. */
void lt_cli_early(int argc, char **argv, void (*usage)(void));
/* Handles a getopt_long result every program shares: -c, -D, -v, -V, -?
 * and unknown options (which exit with 'Try "prog --help"').  Programs
 * pass here whatever their own switch does not know. */
void lt_cli_common(struct lt_cli *cli, int c, char **argv, void (*usage)(void));
/* Exits with an error when more than max operands are left. */
void lt_cli_operands(int argc, char **argv, int max);

/* The mode of a run: the one thing the command line asks a program to
 * do (--status, --migrate, --check-config, ...).  0 is the program's
 * default, until an option sets one. */
struct lt_cli_mode {
	int mode;
	const char *option;     /* the option that set it, for messages */
};

/* Sets m to mode, asked for by option ("-F/--follow").  A second mode is
 * refused by name rather than one of them winning silently, as
 * PostgreSQL's client programs do: returns -1 after "options --status
 * and --migrate cannot be used together" and the pointer to --help (the
 * caller exits with status 1).  The same option twice is no conflict. */
int lt_cli_mode(struct lt_cli_mode *m, int mode, const char *option);

/* Reads clickhouse_password from clickhouse_password_file, when one is
 * set: the file's first line.  Only logthra-flush calls it, so the file
 * can be readable by it alone.  Logs and returns -1 when the file cannot
 * be read, is readable by others, or a password is set as well. */
int lt_options_read_password(struct lt_options *o);

/* Prints every setting as "name = value", the effective configuration. */
void lt_options_print(const struct lt_options *o);

#endif
