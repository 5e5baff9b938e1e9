/* The spool: Logthra's write-ahead log.  Layout and format are specified
 * in logthra-spool(5); this is the code that writes, checks and reads it.
 *
 *   SPOOL/flush.lock               held by logthra-flush and logthra-replay
 *   SPOOL/tenants/TENANT/tmp/      files being written by logthra-recv
 *   SPOOL/tenants/TENANT/ready/    complete, durable, waiting for a flush
 *   SPOOL/tenants/TENANT/active/   claimed by a running logthra-flush
 */
#ifndef LOGTHRA_SPOOL_H
#define LOGTHRA_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
/* lt_fsync_dir(), which the users of the spool call after their renames
 * and unlinks in it. */
#include "file.h"
#include "push.h"

#define LT_SPOOL_MAGIC "\x89LTSP\r\n\x1a"
#define LT_SPOOL_MAGIC_LEN 8
#define LT_SPOOL_VERSION 1
#define LT_SPOOL_SUFFIX ".spool"

enum lt_record_type {
	LT_REC_HEADER = 'H',
	LT_REC_STREAM = 'S',
	LT_REC_ENTRY = 'E',
	LT_REC_END = 'Z',
};

/* --- writing --- */

/* Encodes one push into spool format in memory.  Its sink receives what
 * a push parser validated; lt_spool_encoder_finish() adds the END
 * trailer. */
struct lt_spool_encoder {
	struct lt_buf out;
	size_t body_start; /* where the records after the header begin */
	uint64_t n_streams;
	uint64_t n_entries;
	int failed;
};

/* push_id identifies the push for good: in the spool, in archives and
 * in every row ClickHouse holds (lt_push_id_new() makes one). */
int lt_spool_encoder_init(struct lt_spool_encoder *e, const char *tenant,
			  int64_t received_ns, uint64_t push_id);
void lt_spool_encoder_sink(struct lt_spool_encoder *e, struct lt_sink *sink);
int lt_spool_encoder_finish(struct lt_spool_encoder *e);
void lt_spool_encoder_free(struct lt_spool_encoder *e);

/* The END record that lt_spool_encoder_finish() adds, the last bytes of
 * a complete spool file: type, length, n_streams, n_entries, CRC. */
#define LT_END_LEN 25

/* Checks the END record at the end of a spool file: type 'Z', length 16
 * and the CRC-32C of the 21 bytes before it.  Returns 0 with the counts,
 * or -1. */
int lt_end_parse(const unsigned char tail[LT_END_LEN], uint64_t *n_streams,
		 uint64_t *n_entries);

/* Writes data as a new file in the tenant's ready directory, durably:
 * create in tmp/ with O_EXCL, write all, fsync, close, rename into ready/,
 * fsync ready/.  Creates the tenant's directories when missing.  On any
 * failure nothing is left behind and a failed fsync is never retried.
 * Returns 0, or an errno value with err describing the step that failed.
 * path_out (may be NULL) receives the final path. */
int lt_spool_write(const char *root, const char *tenant, const void *data,
		   size_t len, struct lt_buf *path_out, char *err, size_t errlen);
/* The same into another state directory: "ready" or "deferred". */
int lt_spool_write_state(const char *root, const char *tenant,
			 const char *state, const void *data, size_t len,
			 struct lt_buf *path_out, char *err, size_t errlen);

/* Checks the free space and inodes of the spool's file system against a
 * reserve, so that pushes are refused before the disk is full (and
 * before the flusher and other programs run out).  Returns 0, ENOSPC when
 * under the reserve (err says which), or another errno value. */
int lt_spool_space_ok(const char *root, size_t min_free_bytes,
		      size_t min_free_inodes, char *err, size_t errlen);

/* Creates the tenant's state directories that are missing and checks
 * that the tenant's directory and they are directories, not symbolic
 * links.  Returns 0 or an errno value (ENOTDIR for a link) with err set. */
int lt_spool_tenant_dirs(const char *root, const char *tenant, char *err,
			 size_t errlen);

/* A random 64-bit push id. */
uint64_t lt_push_id_new(void);

/* --- reading --- */

struct lt_spool_info {
	char tenant[151];
	int64_t received_ns;
	uint64_t push_id;
	uint64_t n_streams;
	uint64_t n_entries;
	int64_t min_ts_ns;      /* of the entries; 0 when there are none */
	int64_t max_ts_ns;
};

/* Checks a whole spool file held in memory: magic, version, every
 * record's length and CRC-32C, the order of records, the fields inside
 * each record and the END trailer's counts.  Returns 0, or -1 with a
 * reason (naming the byte offset) in err. */
int lt_spool_check(const unsigned char *data, size_t len,
		   struct lt_spool_info *info, char *err, size_t errlen);

/* Reads a spool file (a regular file, not a symlink) into data and checks
 * it with lt_spool_check().  Returns 0; -1 when the file itself is wrong:
 * corrupt, or not a regular file with one link (err says why); or an
 * errno value when it cannot be read now (ENOMEM, EMFILE, EIO, EACCES,
 * ...), which says nothing about its content: such a file must never be
 * quarantined, only tried again later. */
int lt_spool_load(const char *path, struct lt_buf *data,
		  struct lt_spool_info *info, char *err, size_t errlen);
/* lt_spool_load() of a file being claimed (twin not NULL): path in
 * active/ is a hard link of twin, its name in ready/, which the claim
 * removes only once active/ is durable.  Takes exactly those two links,
 * twin checked with lstat() to be the same inode; refuses (-1) any
 * other count, or a second name elsewhere.  twin NULL: lt_spool_load(). */
int lt_spool_load_claim(const char *path, const char *twin, struct lt_buf *data,
			struct lt_spool_info *info, char *err, size_t errlen);

/* The UTC day (days since 1970-01-01) of a unix-nanosecond time: the
 * table's partition, and so the unit of an atomic INSERT. */
static inline int32_t
lt_day_of(int64_t ts_ns)
{
	return (int32_t)(ts_ns / (INT64_C(86400) * 1000000000));
}

/* RowBinary rows, one buffer per UTC day. */
struct lt_day_rows {
	int32_t day;
	size_t n_rows;
	struct lt_buf rows;
};

struct lt_rows_by_day {
	struct lt_day_rows *v;
	size_t n;
	size_t cap;
};

/* How many of a push's rows of one day ClickHouse holds already. */
struct lt_day_skip {
	int32_t day;
	uint64_t rows;
};

/* How a row's time goes to ClickHouse (table.h, the layouts). */
enum lt_rows_time {
	LT_ROWS_DATETIME_AND_NS, /* timestamp DateTime, timestamp_ns Int64 */
	LT_ROWS_DATETIME64,      /* timestamp DateTime64(9) */
};

/* Appends the rows of a checked spool file in ClickHouse RowBinary,
 * columns (tenant_id, stream_id, label, timestamp, timestamp_ns, msg,
 * metadata, push_id), or without timestamp_ns and with timestamp the
 * exact time for LT_ROWS_DATETIME64, to the buffer of each row's day, in
 * file order;
 * for each day in skip (n_skip of them) its first skip.rows rows are
 * left out.  (What an INSERT cut short commits is a prefix of its body,
 * and a push's rows of a day travel together in file order, so what
 * ClickHouse holds of them is always their first rows.)  Returns the
 * number of rows added, or -1 (out of memory). */
long long lt_spool_rowbinary(const unsigned char *data, size_t len,
			     enum lt_rows_time time,
			     const struct lt_day_skip *skip, size_t n_skip,
			     struct lt_rows_by_day *out);
void lt_rows_by_day_reset(struct lt_rows_by_day *r);
void lt_rows_by_day_free(struct lt_rows_by_day *r);

/* The streams index (logthra(7), THE STREAMS INDEX): each distinct
 * (stream, UTC day) of some checked spool files of one tenant, as a
 * hash set whose entries point into the files' data, which must stay
 * put while it is used. */
struct lt_stream_day {
	uint64_t stream_id;
	int32_t day;
	const unsigned char *stream;  /* stream_id UInt64, label Array(String) */
	size_t stream_len;
};

struct lt_stream_days {
	struct lt_stream_day *v;      /* cap slots; stream NULL: free */
	size_t n;
	size_t cap;
	const unsigned char *tenant;  /* RowBinary String */
	size_t tenant_len;
	int sorted;                   /* v[0..n) by day: no more adding */
};

/* Adds the (stream, day) pairs of the entries of a checked spool file
 * (its tenant must be the set's other files').  Returns 0, or -1 when
 * out of memory. */
int lt_spool_stream_days(const unsigned char *data, size_t len,
			 struct lt_stream_days *set);

/* Appends the RowBinary rows (tenant_id, stream_id, label, day) of the
 * set, ordered by day, starting with the first day past *from_day (on
 * the first call INT32_MIN) and covering at most max_days days; sets
 * *from_day to the last day appended.  Returns the number of rows, 0
 * when no day is left, or -1 when out of memory. */
long long lt_stream_days_rowbinary(struct lt_stream_days *set,
				   int32_t *from_day, size_t max_days,
				   struct lt_buf *out);
/* Leaves in the set only the pairs keep() returns non-zero for (all
 * when keep is NULL), called once each; no pair can be added after,
 * until lt_stream_days_reset(). */
void lt_stream_days_keep_if(struct lt_stream_days *set,
			    int (*keep)(const struct lt_stream_day *, void *),
			    void *arg);
void lt_stream_days_reset(struct lt_stream_days *set);
void lt_stream_days_free(struct lt_stream_days *set);

/* Writes to out a new spool file with the same header (push_id too) and
 * only the entries of a checked file whose time is in [since_ns,
 * until_ns) (0 = unbounded); streams left without entries are dropped.
 * *kept counts the entries.  Returns 0 or -1 (out of memory). */
int lt_spool_filter(const unsigned char *data, size_t len, int64_t since_ns,
		    int64_t until_ns, struct lt_buf *out, uint64_t *kept);

/* The 64-bit stream id of a label set: FNV-1a over the sorted
 * "name=value" strings, each followed by a NUL byte. */
uint64_t lt_stream_id(const struct lt_label *labels, size_t n);

/* --- the directory --- */

/* Appends "root/tenants/tenant/sub" to out (replacing its content). */
int lt_spool_dir(struct lt_buf *out, const char *root, const char *tenant,
		 const char *sub);

/* 0 when path is a directory itself, not a symbolic link to one; else -1
 * with errno set (ENOTDIR for a link or a file). */
int lt_spool_real_dir(const char *path);

/* Creates directory dir (mode 0770 less the umask) when missing, refuses
 * a symbolic link or a file under its name, and fsyncs parent, which
 * holds its entry.  Returns 0 or -1 (errno). */
int lt_spool_mkdir(const char *dir, const char *parent);

/* The umask of the three programs: the group keeps every bit, others
 * get none.  See lt_spool_umask(). */
#define LT_SPOOL_UMASK 0007

/* Sets the process's umask to LT_SPOOL_UMASK, whatever it was; each
 * program's main calls it before it creates anything.  Returns the
 * umask it replaced. */
mode_t lt_spool_umask(void);

/* A sorted list of file names. */
struct lt_names {
	char **v;
	size_t n;
	size_t cap;
};

/* Lists the entries of dir (without . and ..), sorted bytewise; with
 * suffix, only names ending in it.  Returns 0 or an errno value. */
int lt_names_list(const char *dir, const char *suffix, struct lt_names *out);
int lt_names_list_add(struct lt_names *names, const char *name);
/* strcmp of two names, for qsort and bsearch over lt_names.v. */
int lt_names_compare(const void *a, const void *b);
void lt_names_free(struct lt_names *names);

/* Lists the subdirectories of dir named by valid tenant ids (anything
 * else is skipped with a warning); a missing dir has none.  Returns 0 or
 * an errno value. */
int lt_tenant_dirs(const char *dir, struct lt_names *out);

/* Lists the tenants that have a directory in the spool. */
int lt_spool_tenants(const char *root, struct lt_names *out);

/* Takes SPOOL/flush.lock (flock, never waiting).  Returns 0 with *fd
 * holding the lock, 1 when another process holds it, or -1 (errno). */
int lt_spool_lock(const char *root, int *fd);

/* Moves every file of the tenant's active/ to deferred/, due at due_s:
 * the claims of a run that died, which may or may not have reached
 * ClickHouse.  First removes from ready/ every name that active/ or
 * deferred/ holds too (a claim that a run or a power cut interrupted
 * before its ready/ name was gone), so that no push is taken as fresh
 * while a suspect copy of it waits; active/ and deferred/ are made
 * durable before any such name goes.  Only call
 * with the lock held.  Returns 0 or an errno
 * value (ENOTDIR when either directory is a symbolic link), with *moved
 * counting the files. */
int lt_spool_unclaim(const char *root, const char *tenant, int64_t due_s,
		     size_t *moved, char *err, size_t errlen);

/* Renames tenants/T/from/name to tenants/T/to/name; with mtime_s >= 0
 * sets its mtime (a deferred file's next-retry time).  When both names
 * are links of one file (a claim whose old name is still there), only
 * to/name is left.  Returns 0 or an errno value. */
int lt_spool_move(const char *root, const char *tenant, const char *from,
		  const char *to, const char *name, int64_t mtime_s);

/* Links tenants/T/from/name as tenants/T/to/name (link(2)): a claim out
 * of ready/, whose old name goes only once the new one is durable
 * (logthra-flush(1), "Claiming").  Returns 0 or an errno value. */
int lt_spool_link(const char *root, const char *tenant, const char *from,
		  const char *to, const char *name);

/* Moves tenants/T/from/name to SPOOL/quarantine/T/name, after writing
 * the reason, one line, to SPOOL/quarantine/T/name.reason.  Returns 0 or
 * an errno value with err set (ENOTDIR when quarantine/ or quarantine/T
 * is a symbolic link). */
int lt_spool_quarantine(const char *root, const char *tenant, const char *from,
			const char *name, const char *reason, char *err,
			size_t errlen);

/* Removes files in the tenant's tmp/ last modified more than max_age_s
 * ago: what a receiver killed mid-write left behind. */
int lt_spool_sweep_tmp(const char *root, const char *tenant, int64_t max_age_s,
		       size_t *removed, char *err, size_t errlen);

#endif
