/*
 * powerfs: an in-memory FUSE file system that simulates a power cut
 * under the strictest reading of POSIX, to test that Logthra's programs
 * make everything they acknowledge durable.
 *
 * Build (into a scratch directory, not into the source tree):
 *
 *   gcc -std=gnu11 -O2 -Wall -Wextra -Werror $(pkg-config --cflags fuse3) \
 *       -o powerfs powerfs.c $(pkg-config --libs fuse3)
 *
 * Run:  powerfs [--dump DIR] [--cut-after N] [--faults FILE] [--trace FILE]
 *               SOURCE MOUNTPOINT        (see usage() below)
 *
 * THE MODEL
 *
 * At mount the tree at SOURCE is copied into memory; it is both the live
 * state (what processes see) and the durable state (what would survive a
 * power cut).  Every operation changes the live state only.  Two
 * operations copy part of the live state into the durable state:
 *
 *   - fsync() or fdatasync() of a regular file (treated alike) makes that
 *     inode's data durable: its contents, size, mode, owner and times.
 *   - fsync() of a directory (FUSE's fsyncdir) makes that directory's set
 *     of names durable (which name refers to which inode), with the
 *     directory's own mode, owner and times.  Nothing else: not the data
 *     of the files named, not the names inside its subdirectories.
 *
 * Each directory is independent.  A rename from a/ to b/ followed by an
 * fsync of b/ alone leaves the name in both a/ and b/ after a cut; an
 * unlink or rmdir not followed by an fsync of its directory is undone; a
 * new directory whose parent was not fsynced is lost with all under it.
 * A file whose name is durable but whose data was never fsynced is empty.
 * An inode that is gone from the live tree is kept in memory as long as
 * a durable name (or an open file descriptor) refers to it.
 *
 * WHY SO STRICT
 *
 * POSIX promises nothing more, and real file systems differ in what they
 * happen to give on top (ext4's data=ordered, XFS's and btrfs's rename
 * heuristics, journals that commit directory changes together).  A
 * program that is correct here is correct on all of them; one that only
 * works on ext4 loses data elsewhere.  This is worse than any real file
 * system ever is, which is the point.
 *
 * THE POWER CUT
 *
 * SIGUSR1, or --cut-after N (right after the N-th successful mutating
 * operation, which itself takes effect).  From then on every operation
 * fails with EIO and changes nothing.  At unmount --dump writes the
 * durable state (or the live state after a clean shutdown without a cut)
 * as a plain directory tree.  Mutating operations are: create mkdir write
 * truncate rename link symlink unlink rmdir chmod chown utimens fsync
 * fsyncdir.  Only successful ones are counted; a failed one (bad
 * arguments, an injected fault) changes nothing and is not a cut point.
 * An open with O_TRUNC counts as a truncate.  The kernel splits large
 * writes into several FUSE writes of at most max_write bytes, each of
 * which counts.
 *
 * WHAT IS LEFT OUT
 *
 *   - Data written after the last fsync is lost whole, never torn: no
 *     partial writes, no old blocks next to new ones, no garbage.
 *   - A file's times and mode are durable with its data (at fsync), a
 *     directory's with its names (at fsyncdir); no separate metadata
 *     journal.
 *   - Symbolic links cannot be fsynced: a link's target is durable
 *     together with its name; its later times are not.
 *   - No xattrs, ACLs, special files, or hard links in SOURCE (hard links
 *     there are loaded as separate files); the dump writes every name as
 *     a separate copy.
 *   - A durable tree can hold a directory under two names or even a
 *     cycle (directories renamed across parents with only some fsynced);
 *     the dump writes the former as copies and leaves out the repeated
 *     directory of a cycle with a warning.
 *   - sync() and syncfs() make nothing durable: POSIX's sync() only
 *     schedules the writing, and FUSE does not pass either on.  A write
 *     through a descriptor with O_SYNC or O_DSYNC (or RWF_DSYNC) is
 *     durable at once, as POSIX says; it counts as one write.
 *
 * FUSE SETTINGS
 *
 * Single-threaded (run_loop(), fuse_loop() with a self-pipe for signals),
 * so each operation is atomic.  Kernel
 * caches off: entry, attribute and negative timeouts 0, no writeback
 * cache, direct I/O so that every read and write reaches this process
 * (and fails after the cut), default_permissions (the kernel checks
 * modes).  flock() and fcntl() locks are left to the kernel, which
 * handles them locally when the file system does not implement them.
 * Always in the foreground.
 *
 * An open file that is unlinked (or replaced by a rename) lives on under
 * a hidden alias that only libfuse uses (see hide()), so that fstat(),
 * fchmod() and futimens() on it work as POSIX says.  libfuse does no such
 * thing for a removed directory: fstat() or readdir on a descriptor of a
 * removed directory fails with ESTALE (fsync of it works).
 */

#define FUSE_USE_VERSION 31
#define _GNU_SOURCE

#include <fuse.h>
#include <fuse_lowlevel.h> /* fuse_session_*: our own loop, see run_loop() */

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

/* Files are small; refusing huge ones keeps a runaway test from eating
 * the machine's memory. */
#define MAX_FILE_SIZE ((size_t)1 << 30)

/* ------------------------------------------------------------------ */
/* Data model                                                          */
/* ------------------------------------------------------------------ */

/* File contents. */
struct buf {
	char *data;
	size_t size;
	size_t cap;
};

/* What stat() shows of an inode besides its contents.  mode includes the
 * file type bits. */
struct meta {
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec atime, mtime, ctime;
};

struct node;

struct entry {
	char *name;
	struct node *node;
};

/* A directory's names, sorted by name for binary search. */
struct dirents {
	struct entry *v;
	size_t n, cap;
	size_t nsubdirs; /* entries that are directories, for st_nlink */
};

/* An inode, with its live and its durable state side by side. */
struct node {
	uint64_t ino;
	struct meta live, dur;
	struct buf data, dur_data;     /* regular files */
	size_t dirty_lo, dirty_hi;     /* live bytes changed since the last
					  fsync, so that fsync copies only
					  those (empty when lo == hi) */
	char *target;                  /* symbolic links (immutable) */
	struct dirents ents, dur_ents; /* directories */
	struct dirents hidden;         /* directories: libfuse's aliases of
					  unlinked open files (see hide) */
	unsigned long live_links;      /* names in live directories */
	unsigned long dur_links;       /* names in durable directories */
	unsigned long hidden_links;    /* aliases in hidden lists */
	unsigned long opens;           /* open file handles */
	struct node *prev, *next;      /* every node, for the final cleanup */
};

/* The operations, for counting, tracing and fault injection.  The
 * mutating ones come first. */
enum op {
	OP_CREATE, OP_MKDIR, OP_WRITE, OP_TRUNCATE, OP_RENAME, OP_LINK,
	OP_SYMLINK, OP_UNLINK, OP_RMDIR, OP_CHMOD, OP_CHOWN, OP_UTIMENS,
	OP_FSYNC, OP_FSYNCDIR,
	OP_NMUTATING,
	OP_GETATTR = OP_NMUTATING, OP_READDIR, OP_OPEN, OP_OPENDIR, OP_READ,
	OP_READLINK, OP_STATFS, OP_ACCESS, OP_FLUSH,
	OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
	"create", "mkdir", "write", "truncate", "rename", "link",
	"symlink", "unlink", "rmdir", "chmod", "chown", "utimens",
	"fsync", "fsyncdir",
	"getattr", "readdir", "open", "opendir", "read",
	"readlink", "statfs", "access", "flush",
};

#define OP_ANY (-1) /* in a fault rule: any mutating operation */

/* One line of the faults file. */
struct fault {
	int op;              /* an enum op, or OP_ANY */
	int err;             /* positive errno value */
	unsigned long count; /* 0 = every time, else how many more times */
	char *prefix;        /* NULL = any path */
};

static struct {
	struct node *root;
	struct node *all;
	uint64_t next_ino;
	unsigned long long nops;      /* successful mutating operations */
	bool have_cut_after;
	unsigned long long cut_after;
	bool cut;
	char last_op[2 * PATH_MAX + 32]; /* "OPNAME PATH [PATH2]" */
	FILE *trace;
	const char *faults_path;
	struct fault *faults;
	size_t nfaults;
	char *pending_unlink; /* see settle_hidden() */
} g = { .next_ino = 1 };

/* Set by the signal handlers, acted on by the loop or at the start of
 * the next operation, never inside the handler.  The handlers also write
 * a byte into sig_pipe to wake the loop up. */
static volatile sig_atomic_t sig_cut_pending;
static volatile sig_atomic_t sig_reload_pending;
static volatile sig_atomic_t sig_stop_pending;
static int sig_pipe[2] = { -1, -1 };

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
msg(const char *fmt, ...)
{
	va_list ap;

	fputs("powerfs: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
}

static struct timespec
now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		ts = (struct timespec){ 0, 0 };
	return ts;
}

static size_t
min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static size_t
max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

/* Makes room for need bytes, doubling so that appends stay cheap. */
static int
buf_reserve(struct buf *b, size_t need)
{
	size_t cap;
	char *p;

	if (need <= b->cap)
		return 0;
	cap = max_size(need, max_size(b->cap * 2, 4096));
	p = realloc(b->data, cap);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->cap = cap;
	return 0;
}

/* Compares the NUL-terminated a with the len bytes at b (a path
 * component, not terminated). */
static int
name_cmp(const char *a, const char *b, size_t len)
{
	int c = strncmp(a, b, len);

	if (c != 0)
		return c;
	return a[len] != '\0' ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* Directory entries                                                   */
/* ------------------------------------------------------------------ */

/* Whether name is in d; *pos is its index, or where it would go. */
static bool
dirents_find(const struct dirents *d, const char *name, size_t len,
	     size_t *pos)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(d->v[mid].name, name, len);

		if (c == 0) {
			*pos = mid;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return false;
}

/* Reserves room first so that an operation can fail with ENOMEM before
 * it has changed anything. */
static int
dirents_reserve(struct dirents *d, size_t extra)
{
	size_t cap;
	struct entry *v;

	if (d->n + extra <= d->cap)
		return 0;
	cap = max_size(d->n + extra, max_size(d->cap * 2, 8));
	v = realloc(d->v, cap * sizeof *v);
	if (!v)
		return -ENOMEM;
	d->v = v;
	d->cap = cap;
	return 0;
}

/* Inserts at pos (from dirents_find); room must have been reserved.
 * Takes ownership of name.  Link counts are the caller's business. */
static void
dirents_insert(struct dirents *d, size_t pos, char *name, struct node *node)
{
	memmove(&d->v[pos + 1], &d->v[pos], (d->n - pos) * sizeof d->v[0]);
	d->v[pos] = (struct entry){ name, node };
	d->n++;
	if (S_ISDIR(node->live.mode))
		d->nsubdirs++;
}

/* Removes the entry at pos and hands it to the caller. */
static struct entry
dirents_take(struct dirents *d, size_t pos)
{
	struct entry e = d->v[pos];

	memmove(&d->v[pos], &d->v[pos + 1], (d->n - pos - 1) * sizeof d->v[0]);
	d->n--;
	if (S_ISDIR(e.node->live.mode))
		d->nsubdirs--;
	return e;
}

/* ------------------------------------------------------------------ */
/* Nodes and their lifetime                                            */
/* ------------------------------------------------------------------ */

static struct node *
node_new(mode_t mode, uid_t uid, gid_t gid)
{
	struct node *n = calloc(1, sizeof *n);

	if (!n)
		return NULL;
	n->ino = g.next_ino++;
	n->live.mode = mode;
	n->live.uid = uid;
	n->live.gid = gid;
	n->live.atime = n->live.mtime = n->live.ctime = now();
	/* A new inode is durable as created (empty, its first mode); only
	 * a name in a durable directory makes it reachable after a cut. */
	n->dur = n->live;
	n->next = g.all;
	if (g.all)
		g.all->prev = n;
	g.all = n;
	return n;
}

static void node_release(struct node *n);

/* Which kind of link a list of entries holds. */
enum links { LIVE, DURABLE, HIDDEN };

static unsigned long *
link_count(struct node *n, enum links kind)
{
	return kind == LIVE ? &n->live_links :
	       kind == DURABLE ? &n->dur_links : &n->hidden_links;
}

/* Empties d, dropping the links its entries held. */
static void
dirents_drop(struct dirents *d, enum links kind)
{
	struct entry *v = d->v;
	size_t cnt = d->n;

	*d = (struct dirents){ 0 };
	for (size_t i = 0; i < cnt; i++) {
		struct node *c = v[i].node;

		free(v[i].name);
		(*link_count(c, kind))--;
		node_release(c);
	}
	free(v);
}

static void
node_free(struct node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		g.all = n->next;
	if (n->next)
		n->next->prev = n->prev;
	dirents_drop(&n->ents, LIVE);
	dirents_drop(&n->dur_ents, DURABLE);
	dirents_drop(&n->hidden, HIDDEN);
	free(n->data.data);
	free(n->dur_data.data);
	free(n->target);
	free(n);
}

/* Frees n once nothing refers to it: no live, durable or hidden name,
 * no open handle.  (Nodes in a durable cycle stay until free_all.) */
static void
node_release(struct node *n)
{
	if (n != g.root && n->live_links == 0 && n->dur_links == 0 &&
	    n->hidden_links == 0 && n->opens == 0)
		node_free(n);
}

/* At exit: frees every node regardless of links. */
static void
free_all(void)
{
	struct node *n = g.all;

	while (n) {
		struct node *next = n->next;

		for (size_t i = 0; i < n->ents.n; i++)
			free(n->ents.v[i].name);
		for (size_t i = 0; i < n->dur_ents.n; i++)
			free(n->dur_ents.v[i].name);
		for (size_t i = 0; i < n->hidden.n; i++)
			free(n->hidden.v[i].name);
		free(n->ents.v);
		free(n->dur_ents.v);
		free(n->hidden.v);
		free(n->data.data);
		free(n->dur_data.data);
		free(n->target);
		free(n);
		n = next;
	}
	g.all = NULL;
	g.root = NULL;
}

/* The directory's names changed: its mtime and ctime move. */
static void
touch_dir(struct node *dir)
{
	dir->live.mtime = dir->live.ctime = now();
}

/* Marks live bytes [lo, hi) as changed since the last fsync.  One range
 * is enough: it only has to cover every change, not be tight. */
static void
mark_dirty(struct node *n, size_t lo, size_t hi)
{
	if (lo >= hi)
		return;
	if (n->dirty_lo >= n->dirty_hi) {
		n->dirty_lo = lo;
		n->dirty_hi = hi;
	} else {
		n->dirty_lo = min_size(n->dirty_lo, lo);
		n->dirty_hi = max_size(n->dirty_hi, hi);
	}
}

/* Sets a regular file's live size; new bytes are zeros.  Every byte
 * whose value may differ from the durable copy ends up in the dirty
 * range: the shrunk tail (so a later growth that re-zeros it is copied)
 * and the grown one. */
static int
resize(struct node *n, size_t size)
{
	size_t old = n->data.size;

	if (size > old) {
		if (buf_reserve(&n->data, size) != 0)
			return -ENOMEM;
		memset(n->data.data + old, 0, size - old);
	}
	mark_dirty(n, min_size(old, size), max_size(old, size));
	n->data.size = size;
	return 0;
}

/* fsync of a regular file: its data and meta become durable. */
static int
sync_file(struct node *n)
{
	size_t size = n->data.size;
	size_t lo = n->dirty_lo, hi = min_size(n->dirty_hi, size);

	if (buf_reserve(&n->dur_data, size) != 0)
		return -ENOMEM;
	if (lo < hi)
		memcpy(n->dur_data.data + lo, n->data.data + lo, hi - lo);
	n->dur_data.size = size;
	n->dirty_lo = n->dirty_hi = 0;
	n->dur = n->live;
	return 0;
}

/* fsync of a directory: its set of names (and its meta) becomes
 * durable.  Builds the copy before touching anything so that ENOMEM
 * leaves the old durable state as it was. */
static int
sync_dir(struct node *d)
{
	struct dirents copy = { 0 };
	size_t n = d->ents.n;

	if (n > 0) {
		copy.v = calloc(n, sizeof *copy.v);
		if (!copy.v)
			return -ENOMEM;
		copy.cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		copy.v[i].name = strdup(d->ents.v[i].name);
		if (!copy.v[i].name) {
			for (size_t j = 0; j < i; j++)
				free(copy.v[j].name);
			free(copy.v);
			return -ENOMEM;
		}
		copy.v[i].node = d->ents.v[i].node;
		/* Count the new links before dropping the old ones so
		 * that an inode in both is never freed in between. */
		copy.v[i].node->dur_links++;
	}
	copy.n = n;
	copy.nsubdirs = d->ents.nsubdirs;
	dirents_drop(&d->dur_ents, DURABLE);
	d->dur_ents = copy;
	d->dur = d->live;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Paths                                                               */
/* ------------------------------------------------------------------ */

/* The live node at the first len bytes of path, an absolute path as FUSE
 * passes it.  The kernel has already followed symbolic links, so a link
 * in the middle of a path is ENOTDIR here.  libfuse's hidden aliases
 * resolve too; *hidden (if not NULL) tells whether the last name was
 * one. */
static int
walk_ex(const char *path, size_t len, struct node **out, bool *hidden)
{
	struct node *n = g.root;
	size_t i = 0;

	if (hidden)
		*hidden = false;
	while (i < len) {
		size_t j, pos;

		while (i < len && path[i] == '/')
			i++;
		if (i == len)
			break;
		for (j = i; j < len && path[j] != '/'; j++)
			;
		if (!S_ISDIR(n->live.mode))
			return -ENOTDIR;
		if (j - i > NAME_MAX)
			return -ENAMETOOLONG;
		if (dirents_find(&n->ents, path + i, j - i, &pos)) {
			n = n->ents.v[pos].node;
		} else if (dirents_find(&n->hidden, path + i, j - i, &pos)) {
			n = n->hidden.v[pos].node;
			if (hidden)
				*hidden = true;
		} else {
			return -ENOENT;
		}
		i = j;
	}
	*out = n;
	return 0;
}

static int
walk(const char *path, size_t len, struct node **out)
{
	return walk_ex(path, len, out, NULL);
}

static int
resolve(const char *path, struct node **out)
{
	if (!path)
		return -ENOENT;
	return walk(path, strlen(path), out);
}

/* The live parent directory of path and path's last component. */
static int
resolve_parent(const char *path, struct node **parent, const char **name,
	       size_t *len)
{
	const char *slash;
	struct node *p;
	int e;

	if (!path)
		return -ENOENT;
	slash = strrchr(path, '/');
	if (!slash || slash[1] == '\0')
		return -EINVAL; /* the root, or not a FUSE path */
	e = walk(path, (size_t)(slash - path), &p);
	if (e != 0)
		return e;
	if (!S_ISDIR(p->live.mode))
		return -ENOTDIR;
	*len = strlen(slash + 1);
	if (*len > NAME_MAX)
		return -ENAMETOOLONG;
	*parent = p;
	*name = slash + 1;
	return 0;
}

/* The node an operation is about: the open handle's when there is one
 * (the name may be gone), else the one at path. */
static int
target_node(const char *path, struct fuse_file_info *fi, struct node **out)
{
	if (fi && fi->fh) {
		*out = (struct node *)(uintptr_t)fi->fh;
		return 0;
	}
	return resolve(path, out);
}

/* Whether path is prefix or under it, component-wise: /d matches /d and
 * /d/x, not /dx. */
static bool
path_under(const char *path, const char *prefix)
{
	size_t n;

	if (!path)
		return false;
	n = strlen(prefix);
	if (n == 1)
		return true; /* "/" */
	return strncmp(path, prefix, n) == 0 &&
	       (path[n] == '\0' || path[n] == '/');
}

/* ------------------------------------------------------------------ */
/* Fault injection                                                     */
/* ------------------------------------------------------------------ */

static const struct {
	const char *name;
	int value;
} errno_names[] = {
	{ "EIO", EIO },         { "ENOSPC", ENOSPC },   { "EDQUOT", EDQUOT },
	{ "EMFILE", EMFILE },   { "ENFILE", ENFILE },   { "ENOMEM", ENOMEM },
	{ "EACCES", EACCES },   { "EROFS", EROFS },     { "EPERM", EPERM },
	{ "EAGAIN", EAGAIN },   { "EINTR", EINTR },     { "EBUSY", EBUSY },
	{ "EEXIST", EEXIST },   { "ENOENT", ENOENT },   { "ENOTDIR", ENOTDIR },
	{ "EISDIR", EISDIR },   { "EINVAL", EINVAL },   { "EFBIG", EFBIG },
	{ "EMLINK", EMLINK },   { "ENOTEMPTY", ENOTEMPTY },
	{ "ENAMETOOLONG", ENAMETOOLONG },               { "ETIMEDOUT", ETIMEDOUT },
	{ "ESTALE", ESTALE },   { "ENOTCONN", ENOTCONN }, { "EXDEV", EXDEV },
};

static int
errno_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
		if (strcmp(errno_names[i].name, name) == 0)
			return errno_names[i].value;
	return 0;
}

static int
op_by_name(const char *name)
{
	if (strcmp(name, "any") == 0)
		return OP_ANY;
	for (int i = 0; i < OP_COUNT; i++)
		if (strcmp(op_names[i], name) == 0)
			return i;
	return OP_COUNT;
}

static void
faults_free(struct fault *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].prefix);
	free(v);
}

/* Parses one line's fields into *f.  Returns 0 or -1 with a message. */
static int
fault_parse(char **tok, int nt, struct fault *f, const char *file,
	    unsigned lineno)
{
	*f = (struct fault){ .prefix = NULL };
	f->op = op_by_name(tok[0]);
	if (f->op == OP_COUNT) {
		msg("%s:%u: unknown operation \"%s\"", file, lineno, tok[0]);
		return -1;
	}
	f->err = errno_by_name(tok[1]);
	if (f->err == 0) {
		/* ENOSYS is not offered: for fsync the kernel would take it
		 * as "not implemented" and stop sending fsync at all. */
		msg("%s:%u: unknown errno name \"%s\"", file, lineno, tok[1]);
		return -1;
	}
	if (nt >= 3) {
		char *end;

		errno = 0;
		f->count = strtoul(tok[2], &end, 10);
		if (errno != 0 || *end != '\0' || tok[2][0] == '-') {
			msg("%s:%u: bad count \"%s\"", file, lineno, tok[2]);
			return -1;
		}
	}
	if (nt >= 4) {
		size_t len = strlen(tok[3]);

		if (tok[3][0] != '/') {
			msg("%s:%u: path prefix \"%s\" does not start with /",
			    file, lineno, tok[3]);
			return -1;
		}
		while (len > 1 && tok[3][len - 1] == '/')
			len--; /* "/d/" means "/d" */
		f->prefix = strndup(tok[3], len);
		if (!f->prefix) {
			msg("%s:%u: out of memory", file, lineno);
			return -1;
		}
	}
	return 0;
}

/* Reads the rules in fp.  Returns 0 or -1 with a message. */
static int
faults_parse(FILE *fp, const char *file, struct fault **out, size_t *nout)
{
	struct fault *v = NULL;
	size_t n = 0, cap = 0;
	char *line = NULL;
	size_t linecap = 0;
	unsigned lineno = 0;
	int rc = 0;

	while (getline(&line, &linecap, fp) >= 0) {
		char *tok[4], *save = NULL, *t, *hash;
		int nt = 0;

		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		for (t = strtok_r(line, " \t\r\n", &save); t;
		     t = strtok_r(NULL, " \t\r\n", &save)) {
			if (nt == 4) {
				msg("%s:%u: too many fields", file, lineno);
				rc = -1;
				goto out;
			}
			tok[nt++] = t;
		}
		if (nt == 0)
			continue;
		if (nt < 2) {
			msg("%s:%u: expected OP ERRNO [COUNT [PATHPREFIX]]",
			    file, lineno);
			rc = -1;
			goto out;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct fault *nv = realloc(v, ncap * sizeof *nv);

			if (!nv) {
				msg("%s: out of memory", file);
				rc = -1;
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		if (fault_parse(tok, nt, &v[n], file, lineno) != 0) {
			rc = -1;
			goto out;
		}
		n++;
	}
	if (ferror(fp)) {
		msg("%s: %s", file, strerror(errno));
		rc = -1;
	}
out:
	free(line);
	if (rc != 0) {
		faults_free(v, n);
		return rc;
	}
	*out = v;
	*nout = n;
	return 0;
}

/* (Re)reads the faults file.  A missing or empty file clears all
 * faults.  On an error the rules in force stay. */
static int
faults_load(void)
{
	struct fault *v = NULL;
	size_t n = 0;
	FILE *fp;
	int rc;

	if (!g.faults_path)
		return 0;
	fp = fopen(g.faults_path, "re");
	if (!fp && errno != ENOENT) {
		msg("%s: %s", g.faults_path, strerror(errno));
		return -1;
	}
	if (fp) {
		rc = faults_parse(fp, g.faults_path, &v, &n);
		if (fclose(fp) != 0 && rc == 0) {
			msg("%s: %s", g.faults_path, strerror(errno));
			faults_free(v, n);
			rc = -1;
		}
		if (rc != 0)
			return -1;
	}
	faults_free(g.faults, g.nfaults);
	g.faults = v;
	g.nfaults = n;
	return 0;
}

/* The error the first matching rule injects, or 0.  A rule with a count
 * is used up after that many hits.  For a rename or link the prefix may
 * match either path. */
static int
fault_check(enum op op, const char *path, const char *path2)
{
	for (size_t i = 0; i < g.nfaults; i++) {
		struct fault *f = &g.faults[i];
		int err;

		if (f->op == OP_ANY ? op >= OP_NMUTATING : f->op != (int)op)
			continue;
		if (f->prefix && !path_under(path, f->prefix) &&
		    !path_under(path2, f->prefix))
			continue;
		err = f->err;
		if (f->count > 0 && --f->count == 0) {
			free(f->prefix);
			memmove(f, f + 1, (g.nfaults - i - 1) * sizeof *f);
			g.nfaults--;
		}
		return -err;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Power cut, counting, tracing                                        */
/* ------------------------------------------------------------------ */

static void
power_cut(void)
{
	if (g.cut)
		return;
	g.cut = true;
	fprintf(stderr, "powerfs: power cut after operation %llu (%s)\n",
		g.nops, g.nops > 0 ? g.last_op : "none");
	fflush(stderr);
}

/* Acts on signals that came since the last operation. */
static void
poll_signals(void)
{
	if (sig_reload_pending) {
		sig_reload_pending = 0;
		if (faults_load() == 0)
			msg("faults: %zu rule(s) from %s", g.nfaults,
			    g.faults_path ? g.faults_path : "(none)");
	}
	if (sig_cut_pending)
		power_cut();
}

static void settle_hidden(const char *rename_to);

/* Before any operation: finish an unlink that libfuse began (see
 * settle_hidden), then act on signals. */
static void
op_prologue(const char *rename_to)
{
	settle_hidden(rename_to);
	poll_signals();
}

/* Every operation starts here: after the cut all fail with EIO, and a
 * fault rule may make this one fail. */
static int
op_enter(enum op op, const char *path, const char *path2)
{
	op_prologue(op == OP_RENAME ? path2 : NULL);
	if (g.cut)
		return -EIO;
	return fault_check(op, path, path2);
}

/* A mutating operation succeeded: count it, trace it, maybe cut. */
static void
op_done(enum op op, const char *path, const char *path2)
{
	g.nops++;
	(void)snprintf(g.last_op, sizeof g.last_op, "%s %s%s%s",
		       op_names[op], path ? path : "-", path2 ? " " : "",
		       path2 ? path2 : "");
	if (g.trace) {
		if (fprintf(g.trace, "%llu %s\n", g.nops, g.last_op) < 0 ||
		    fflush(g.trace) != 0) {
			msg("trace: %s; tracing stops", strerror(errno));
			(void)fclose(g.trace);
			g.trace = NULL;
		}
	}
	if (g.have_cut_after && g.nops == g.cut_after)
		power_cut();
}

/* ------------------------------------------------------------------ */
/* FUSE operations                                                     */
/* ------------------------------------------------------------------ */

static void *
pf_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* Nothing may be cached in the kernel: each lookup, stat, read
	 * and write must reach us so that the model sees the truth and
	 * everything fails after the cut. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	cfg->direct_io = 1;
	cfg->kernel_cache = 0;
	cfg->auto_cache = 0;
	cfg->use_ino = 1;     /* hard links show one inode number */
	cfg->hard_remove = 0; /* hide unlinked open files: see hide() */
	cfg->nullpath_ok = 0; /* paths for traces and fault prefixes */
	return NULL;
}

static void
fill_stat(const struct node *n, struct stat *st)
{
	size_t size = 4096;

	memset(st, 0, sizeof *st);
	if (S_ISREG(n->live.mode))
		size = n->data.size;
	else if (S_ISLNK(n->live.mode))
		size = strlen(n->target);
	st->st_ino = (ino_t)n->ino;
	st->st_mode = n->live.mode;
	if (S_ISDIR(n->live.mode))
		st->st_nlink = n->live_links ? 2 + n->ents.nsubdirs : 0;
	else
		st->st_nlink = n->live_links;
	st->st_uid = n->live.uid;
	st->st_gid = n->live.gid;
	st->st_size = (off_t)size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	st->st_atim = n->live.atime;
	st->st_mtim = n->live.mtime;
	st->st_ctim = n->live.ctime;
}

static int
pf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct node *n, *pn = NULL;
	bool hidden = false;
	int e = op_enter(OP_GETATTR, path, NULL);

	if (e != 0)
		return e;
	e = path ? walk_ex(path, strlen(path), &pn, &hidden) : -ENOENT;
	if (fi && fi->fh)
		n = (struct node *)(uintptr_t)fi->fh;
	else if (e == 0)
		n = pn;
	else
		return e;
	fill_stat(n, st);
	/* libfuse takes one off st_nlink for a hidden file, as if the
	 * hidden name were a link; here it is not. */
	if (hidden && e == 0 && pn == n)
		st->st_nlink++;
	return 0;
}

static int
pf_access(const char *path, int mask)
{
	struct node *n;
	int e = op_enter(OP_ACCESS, path, NULL);

	(void)mask; /* default_permissions: the kernel checks modes */
	if (e == 0)
		e = resolve(path, &n);
	return e;
}

static int
pf_readlink(const char *path, char *buf, size_t size)
{
	struct node *n;
	size_t len;
	int e = op_enter(OP_READLINK, path, NULL);

	if (e == 0)
		e = resolve(path, &n);
	if (e != 0)
		return e;
	if (!S_ISLNK(n->live.mode))
		return -EINVAL;
	if (size == 0)
		return -EINVAL;
	len = min_size(strlen(n->target), size - 1);
	memcpy(buf, n->target, len);
	buf[len] = '\0';
	return 0;
}

/* Creates an inode of the given mode at path (create, mkdir, symlink).
 * Allocates everything before linking so that failure changes nothing. */
static int
make_node(const char *path, mode_t mode, const char *target,
	  struct node **out)
{
	struct fuse_context *ctx = fuse_get_context();
	struct node *parent, *n;
	const char *name;
	char *nm, *tg = NULL;
	size_t len, pos;
	gid_t gid = ctx->gid;
	int e = resolve_parent(path, &parent, &name, &len);

	if (e != 0)
		return e;
	if (dirents_find(&parent->ents, name, len, &pos))
		return -EEXIST;
	if (parent->live.mode & S_ISGID) { /* BSD group semantics */
		gid = parent->live.gid;
		if (S_ISDIR(mode))
			mode |= S_ISGID;
	}
	nm = strndup(name, len);
	if (target)
		tg = strdup(target);
	n = node_new(mode, ctx->uid, gid);
	if (!nm || (target && !tg) || !n ||
	    dirents_reserve(&parent->ents, 1) != 0) {
		free(nm);
		free(tg);
		if (n)
			node_release(n);
		return -ENOMEM;
	}
	n->target = tg;
	dirents_insert(&parent->ents, pos, nm, n);
	n->live_links = 1;
	touch_dir(parent);
	*out = n;
	return 0;
}

static int
pf_mkdir(const char *path, mode_t mode)
{
	struct node *n;
	int e = op_enter(OP_MKDIR, path, NULL);

	if (e == 0)
		e = make_node(path, S_IFDIR | (mode & 07777), NULL, &n);
	if (e != 0)
		return e;
	op_done(OP_MKDIR, path, NULL);
	return 0;
}

static int
pf_symlink(const char *target, const char *path)
{
	struct node *n;
	int e = op_enter(OP_SYMLINK, path, NULL);

	if (e == 0)
		e = make_node(path, S_IFLNK | 0777, target, &n);
	if (e != 0)
		return e;
	op_done(OP_SYMLINK, path, NULL);
	return 0;
}

static int
pf_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct node *n;
	int e = op_enter(OP_CREATE, path, NULL);

	/* The kernel holds the directory locked from its lookup to here,
	 * so an existing name means O_EXCL-style EEXIST in any case. */
	if (e == 0)
		e = make_node(path, S_IFREG | (mode & 07777), NULL, &n);
	if (e != 0)
		return e;
	n->opens++;
	fi->fh = (uint64_t)(uintptr_t)n;
	op_done(OP_CREATE, path, NULL);
	return 0;
}

static int
pf_open(const char *path, struct fuse_file_info *fi)
{
	struct node *n;
	int e = op_enter(OP_OPEN, path, NULL);

	if (e == 0)
		e = resolve(path, &n);
	if (e != 0)
		return e;
	if (S_ISDIR(n->live.mode))
		return -EISDIR;
	/* With atomic_o_trunc the kernel leaves O_TRUNC to us; it is a
	 * truncate like any other. */
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY &&
	    S_ISREG(n->live.mode)) {
		e = fault_check(OP_TRUNCATE, path, NULL);
		if (e != 0)
			return e;
		(void)resize(n, 0); /* shrinking cannot fail */
		n->live.mtime = n->live.ctime = now();
		op_done(OP_TRUNCATE, path, NULL);
	}
	n->opens++;
	fi->fh = (uint64_t)(uintptr_t)n;
	return 0;
}

static int
pf_read(const char *path, char *buf, size_t size, off_t off,
	struct fuse_file_info *fi)
{
	struct node *n;
	size_t len;
	int e = op_enter(OP_READ, path, NULL);

	if (e == 0)
		e = target_node(path, fi, &n);
	if (e != 0)
		return e;
	if (!S_ISREG(n->live.mode))
		return -EISDIR;
	if (off < 0)
		return -EINVAL;
	if ((size_t)off >= n->data.size)
		return 0;
	len = min_size(size, n->data.size - (size_t)off);
	memcpy(buf, n->data.data + off, len);
	return (int)len;
}

static int
pf_write(const char *path, const char *buf, size_t size, off_t off,
	 struct fuse_file_info *fi)
{
	struct node *n;
	size_t start, end;
	bool dsync = fi && (fi->flags & O_DSYNC);
	int e = op_enter(OP_WRITE, path, NULL);

	if (e == 0)
		e = target_node(path, fi, &n);
	if (e != 0)
		return e;
	if (!S_ISREG(n->live.mode))
		return -EISDIR;
	if (off < 0)
		return -EINVAL;
	/* O_APPEND: our size is the truth, whatever the kernel thought. */
	start = (fi && (fi->flags & O_APPEND)) ? n->data.size : (size_t)off;
	if (start > MAX_FILE_SIZE || size > MAX_FILE_SIZE - start)
		return -EFBIG;
	end = start + size;
	/* O_DSYNC (O_SYNC includes it; the kernel adds it for RWF_DSYNC):
	 * the write is durable when it returns.  Room for the durable copy
	 * first, so that sync_file() cannot fail after the write. */
	if (dsync && buf_reserve(&n->dur_data,
				 max_size(end, n->data.size)) != 0)
		return -ENOMEM;
	if (end > n->data.size && (e = resize(n, end)) != 0)
		return e;
	memcpy(n->data.data + start, buf, size);
	mark_dirty(n, start, end);
	n->live.mtime = n->live.ctime = now();
	if (dsync)
		(void)sync_file(n);
	op_done(OP_WRITE, path, NULL);
	return (int)size;
}

static int
pf_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct node *n;
	int e = op_enter(OP_TRUNCATE, path, NULL);

	if (e == 0)
		e = target_node(path, fi, &n);
	if (e != 0)
		return e;
	if (S_ISDIR(n->live.mode))
		return -EISDIR;
	if (!S_ISREG(n->live.mode) || size < 0)
		return -EINVAL;
	if ((size_t)size > MAX_FILE_SIZE)
		return -EFBIG;
	e = resize(n, (size_t)size);
	if (e != 0)
		return e;
	n->live.mtime = n->live.ctime = now();
	op_done(OP_TRUNCATE, path, NULL);
	return 0;
}

static int
pf_flush(const char *path, struct fuse_file_info *fi)
{
	(void)fi;
	/* close() after the cut fails too, as the rest does. */
	return op_enter(OP_FLUSH, path, NULL);
}

/* Release must always let go of the handle, cut or not: the kernel
 * ignores its result and never asks again. */
static int
pf_release(const char *path, struct fuse_file_info *fi)
{
	struct node *n = (struct node *)(uintptr_t)fi->fh;

	(void)path;
	op_prologue(NULL);
	if (n) {
		fi->fh = 0;
		n->opens--;
		node_release(n);
	}
	return g.cut ? -EIO : 0;
}

static int
pf_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct node *n;
	int e = op_enter(OP_FSYNC, path, NULL);

	(void)datasync; /* fdatasync is as strong as fsync here */
	if (e == 0)
		e = target_node(path, fi, &n);
	if (e != 0)
		return e;
	if (S_ISREG(n->live.mode))
		e = sync_file(n);
	else
		n->dur = n->live;
	if (e != 0)
		return e;
	op_done(OP_FSYNC, path, NULL);
	return 0;
}

static int
pf_opendir(const char *path, struct fuse_file_info *fi)
{
	struct node *n;
	int e = op_enter(OP_OPENDIR, path, NULL);

	if (e == 0)
		e = resolve(path, &n);
	if (e != 0)
		return e;
	if (!S_ISDIR(n->live.mode))
		return -ENOTDIR;
	n->opens++;
	fi->fh = (uint64_t)(uintptr_t)n;
	return 0;
}

static int
pf_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
	   struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct node *n;
	struct stat st;
	int e = op_enter(OP_READDIR, path, NULL);

	(void)off;
	(void)flags;
	if (e == 0)
		e = target_node(path, fi, &n);
	if (e != 0)
		return e;
	if (!S_ISDIR(n->live.mode))
		return -ENOTDIR;
	/* Offset 0 for every entry: libfuse keeps the whole listing from
	 * the first call, so changes during a listing cannot confuse it. */
	fill_stat(n, &st);
	if (filler(buf, ".", &st, 0, 0) != 0 ||
	    filler(buf, "..", NULL, 0, 0) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < n->ents.n; i++) {
		fill_stat(n->ents.v[i].node, &st);
		if (filler(buf, n->ents.v[i].name, &st, 0, 0) != 0)
			return -ENOMEM;
	}
	return 0;
}

static int
pf_releasedir(const char *path, struct fuse_file_info *fi)
{
	return pf_release(path, fi);
}

static int
pf_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct node *n;
	int e = op_enter(OP_FSYNCDIR, path, NULL);

	(void)datasync;
	if (e == 0)
		e = target_node(path, fi, &n);
	if (e != 0)
		return e;
	if (!S_ISDIR(n->live.mode))
		return -ENOTDIR;
	e = sync_dir(n);
	if (e != 0)
		return e;
	op_done(OP_FSYNCDIR, path, NULL);
	return 0;
}

/* Removes the live entry at pos in parent. */
static void
unlink_entry(struct node *parent, size_t pos)
{
	struct entry ent = dirents_take(&parent->ents, pos);
	struct node *n = ent.node;

	free(ent.name);
	touch_dir(parent);
	n->live.ctime = now();
	n->live_links--;
	node_release(n); /* stays while a durable name or a handle holds it */
}

/* ---- libfuse's hidden files ----
 *
 * When an open file is unlinked, or a rename replaces it, libfuse first
 * renames it to DIR/.fuse_hiddenXXXXXXXXYYYYYYYY, serves the open file
 * under that name and unlinks that name when the file is last closed.
 * (Its alternative, hard_remove, leaves the file without a path, and
 * fstat(), fchmod() and futimens() on it then fail with ESTALE, which
 * POSIX does not allow.)  Here the hidden name is an alias that only
 * libfuse uses: not listed, not durable, not dumped, not in st_nlink.
 *
 * An unlink and a rename over an open file begin with the same rename
 * to a hidden name; only the next call tells them apart.  So hiding just
 * adds the alias and notes the name; before the next operation
 * settle_hidden() removes that name and counts the unlink, unless the
 * operation is a rename onto that name, which replaces it anyway.  An
 * unlink fault rule is checked when hiding, so it also fails a rename
 * over an open file. */

/* Whether this rename is libfuse hiding from in its own directory. */
static bool
is_hide(const char *from, const char *to, unsigned int flags)
{
	static const char prefix[] = ".fuse_hidden";
	const size_t plen = sizeof prefix - 1;
	const char *fs = from ? strrchr(from, '/') : NULL;
	const char *ts = to ? strrchr(to, '/') : NULL;

	if (flags != 0 || !fs || !ts || fs - from != ts - to ||
	    strncmp(from, to, (size_t)(fs - from)) != 0)
		return false;
	ts++;
	if (strncmp(ts, prefix, plen) != 0 || strlen(ts) != plen + 16)
		return false;
	for (size_t i = plen; i < plen + 16; i++)
		if (!isxdigit((unsigned char)ts[i]))
			return false;
	return true;
}

static int
hide(const char *from, const char *to)
{
	struct node *parent, *n;
	const char *name, *hname = strrchr(to, '/') + 1;
	size_t len, hlen = strlen(hname), pos, hpos;
	char *hn, *pending;
	int e = op_enter(OP_UNLINK, from, NULL);

	if (e == 0)
		e = resolve_parent(from, &parent, &name, &len);
	if (e != 0)
		return e;
	if (!dirents_find(&parent->ents, name, len, &pos))
		return -ENOENT;
	n = parent->ents.v[pos].node;
	if (!S_ISREG(n->live.mode))
		return -EINVAL; /* libfuse hides open files only */
	if (dirents_find(&parent->ents, hname, hlen, &hpos) ||
	    dirents_find(&parent->hidden, hname, hlen, &hpos))
		return -EEXIST;
	hn = strdup(hname);
	pending = strdup(from);
	if (!hn || !pending || dirents_reserve(&parent->hidden, 1) != 0) {
		free(hn);
		free(pending);
		return -ENOMEM;
	}
	dirents_insert(&parent->hidden, hpos, hn, n);
	n->hidden_links++;
	g.pending_unlink = pending;
	return 0;
}

/* Completes the unlink that a hide began, unless rename_to is the
 * rename that replaces the hidden file's name. */
static void
settle_hidden(const char *rename_to)
{
	char *path = g.pending_unlink;
	struct node *parent;
	const char *name;
	size_t len, pos;

	if (!path)
		return;
	g.pending_unlink = NULL;
	if ((!rename_to || strcmp(rename_to, path) != 0) &&
	    resolve_parent(path, &parent, &name, &len) == 0 &&
	    dirents_find(&parent->ents, name, len, &pos)) {
		unlink_entry(parent, pos);
		op_done(OP_UNLINK, path, NULL);
	}
	free(path);
}

/* libfuse's unlink of a hidden name once the file is closed: drops the
 * alias, whatever the power.  Returns whether path was one. */
static bool
drop_hidden(const char *path)
{
	struct node *parent, *n;
	const char *name;
	size_t len, pos;
	struct entry ent;

	if (resolve_parent(path, &parent, &name, &len) != 0 ||
	    !dirents_find(&parent->hidden, name, len, &pos))
		return false;
	ent = dirents_take(&parent->hidden, pos);
	n = ent.node;
	free(ent.name);
	n->hidden_links--;
	node_release(n);
	return true;
}

/* unlink and rmdir: removes a name from the live tree only. */
static int
remove_name(enum op op, const char *path)
{
	struct node *parent, *n;
	const char *name;
	size_t len, pos;
	int e = op_enter(op, path, NULL);

	if (e == 0)
		e = resolve_parent(path, &parent, &name, &len);
	if (e != 0)
		return e;
	if (!dirents_find(&parent->ents, name, len, &pos))
		return -ENOENT;
	n = parent->ents.v[pos].node;
	if (op == OP_RMDIR && !S_ISDIR(n->live.mode))
		return -ENOTDIR;
	if (op == OP_RMDIR && n->ents.n > 0)
		return -ENOTEMPTY;
	if (op == OP_UNLINK && S_ISDIR(n->live.mode))
		return -EISDIR;
	unlink_entry(parent, pos);
	op_done(op, path, NULL);
	return 0;
}

static int
pf_unlink(const char *path)
{
	op_prologue(NULL);
	if (path && drop_hidden(path))
		return 0;
	return remove_name(OP_UNLINK, path);
}

static int
pf_rmdir(const char *path)
{
	return remove_name(OP_RMDIR, path);
}

/* The checks of rename(2), in the order Linux makes them. */
static int
rename_check(struct node *src, struct node *dst, const char *from,
	     const char *to, unsigned int flags)
{
	size_t flen = strlen(from);

	if (dst && (flags & RENAME_NOREPLACE))
		return -EEXIST;
	if (S_ISDIR(src->live.mode)) {
		if (dst && !S_ISDIR(dst->live.mode))
			return -ENOTDIR;
		if (dst && dst->ents.n > 0)
			return -ENOTEMPTY;
		if (strncmp(to, from, flen) == 0 && to[flen] == '/')
			return -EINVAL; /* into itself */
	} else if (dst && S_ISDIR(dst->live.mode)) {
		return -EISDIR;
	}
	return 0;
}

static int
pf_rename(const char *from, const char *to, unsigned int flags)
{
	struct node *op_, *np, *src, *dst = NULL;
	const char *oname, *nname;
	size_t olen, nlen, pos;
	struct entry ent, old_dst = { NULL, NULL };
	char *nm;
	int e;

	if (is_hide(from, to, flags))
		return hide(from, to);
	e = op_enter(OP_RENAME, from, to);
	if (e == 0 && (flags & ~(unsigned int)RENAME_NOREPLACE))
		e = -EINVAL; /* RENAME_EXCHANGE, RENAME_WHITEOUT */
	if (e == 0)
		e = resolve_parent(from, &op_, &oname, &olen);
	if (e == 0)
		e = resolve_parent(to, &np, &nname, &nlen);
	if (e != 0)
		return e;
	if (!dirents_find(&op_->ents, oname, olen, &pos))
		return -ENOENT;
	src = op_->ents.v[pos].node;
	if (dirents_find(&np->ents, nname, nlen, &pos))
		dst = np->ents.v[pos].node;
	e = rename_check(src, dst, from, to, flags);
	if (e != 0)
		return e;
	if (dst == src) { /* two names of one inode: POSIX says do nothing */
		op_done(OP_RENAME, from, to);
		return 0;
	}
	nm = strndup(nname, nlen);
	if (!nm || dirents_reserve(&np->ents, 1) != 0) {
		free(nm);
		return -ENOMEM;
	}
	/* Indexes move as entries go: look each name up again. */
	if (dst && dirents_find(&np->ents, nname, nlen, &pos))
		old_dst = dirents_take(&np->ents, pos);
	if (dirents_find(&op_->ents, oname, olen, &pos)) {
		ent = dirents_take(&op_->ents, pos);
		free(ent.name);
	}
	(void)dirents_find(&np->ents, nname, nlen, &pos);
	dirents_insert(&np->ents, pos, nm, src);
	touch_dir(op_);
	touch_dir(np);
	src->live.ctime = now();
	if (old_dst.node) {
		free(old_dst.name);
		old_dst.node->live_links--;
		node_release(old_dst.node);
	}
	op_done(OP_RENAME, from, to);
	return 0;
}

static int
pf_link(const char *from, const char *to)
{
	struct node *src, *parent;
	const char *name;
	size_t len, pos;
	char *nm;
	int e = op_enter(OP_LINK, from, to);

	if (e == 0)
		e = resolve(from, &src);
	if (e == 0)
		e = resolve_parent(to, &parent, &name, &len);
	if (e != 0)
		return e;
	if (S_ISDIR(src->live.mode))
		return -EPERM;
	if (dirents_find(&parent->ents, name, len, &pos))
		return -EEXIST;
	nm = strndup(name, len);
	if (!nm || dirents_reserve(&parent->ents, 1) != 0) {
		free(nm);
		return -ENOMEM;
	}
	dirents_insert(&parent->ents, pos, nm, src);
	src->live_links++;
	src->live.ctime = now();
	touch_dir(parent);
	op_done(OP_LINK, from, to);
	return 0;
}

static int
pf_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct node *n;
	int e = op_enter(OP_CHMOD, path, NULL);

	if (e == 0)
		e = target_node(path, fi, &n);
	if (e != 0)
		return e;
	n->live.mode = (n->live.mode & S_IFMT) | (mode & 07777);
	n->live.ctime = now();
	op_done(OP_CHMOD, path, NULL);
	return 0;
}

static int
pf_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct node *n;
	int e = op_enter(OP_CHOWN, path, NULL);

	if (e == 0)
		e = target_node(path, fi, &n);
	if (e != 0)
		return e;
	if (uid != (uid_t)-1)
		n->live.uid = uid;
	if (gid != (gid_t)-1)
		n->live.gid = gid;
	n->live.ctime = now();
	op_done(OP_CHOWN, path, NULL);
	return 0;
}

/* One of utimensat's two times: UTIME_NOW, UTIME_OMIT or a value. */
static void
set_time(struct timespec *dst, const struct timespec *src,
	 struct timespec t_now)
{
	if (!src || src->tv_nsec == UTIME_NOW)
		*dst = t_now;
	else if (src->tv_nsec != UTIME_OMIT)
		*dst = *src;
}

static int
pf_utimens(const char *path, const struct timespec tv[2],
	   struct fuse_file_info *fi)
{
	struct node *n;
	struct timespec t = now();
	int e = op_enter(OP_UTIMENS, path, NULL);

	if (e == 0)
		e = target_node(path, fi, &n);
	if (e != 0)
		return e;
	set_time(&n->live.atime, tv ? &tv[0] : NULL, t);
	set_time(&n->live.mtime, tv ? &tv[1] : NULL, t);
	n->live.ctime = t;
	op_done(OP_UTIMENS, path, NULL);
	return 0;
}

static int
pf_statfs(const char *path, struct statvfs *st)
{
	int e = op_enter(OP_STATFS, path, NULL);
	unsigned long used = 0;

	if (e != 0)
		return e;
	for (struct node *n = g.all; n; n = n->next)
		used++;
	/* Plenty of room: running out is what --faults is for. */
	memset(st, 0, sizeof *st);
	st->f_bsize = 4096;
	st->f_frsize = 4096;
	st->f_blocks = 1UL << 28; /* 1 TiB */
	st->f_bfree = st->f_bavail = (1UL << 28) - (1UL << 16);
	st->f_files = 1UL << 24;
	st->f_ffree = st->f_favail = (1UL << 24) - used;
	st->f_namemax = NAME_MAX;
	return 0;
}

static const struct fuse_operations pf_ops = {
	.init = pf_init,
	.getattr = pf_getattr,
	.access = pf_access,
	.readlink = pf_readlink,
	.mkdir = pf_mkdir,
	.symlink = pf_symlink,
	.create = pf_create,
	.open = pf_open,
	.read = pf_read,
	.write = pf_write,
	.truncate = pf_truncate,
	.flush = pf_flush,
	.release = pf_release,
	.fsync = pf_fsync,
	.opendir = pf_opendir,
	.readdir = pf_readdir,
	.releasedir = pf_releasedir,
	.fsyncdir = pf_fsyncdir,
	.unlink = pf_unlink,
	.rmdir = pf_rmdir,
	.rename = pf_rename,
	.link = pf_link,
	.chmod = pf_chmod,
	.chown = pf_chown,
	.utimens = pf_utimens,
	.statfs = pf_statfs,
	/* No .flock and no .lock: the kernel then keeps flock() and
	 * fcntl() locks itself, which is all a single machine needs. */
};

/* ------------------------------------------------------------------ */
/* Loading SOURCE                                                      */
/* ------------------------------------------------------------------ */

static int load_dir(int fd, struct node *dir, const char *where);

/* Reads the regular file open at fd into b. */
static int
read_all(int fd, struct buf *b, const char *path)
{
	for (;;) {
		ssize_t r;

		if (buf_reserve(b, b->size + 65536) != 0) {
			msg("%s: out of memory", path);
			return -1;
		}
		r = read(fd, b->data + b->size, b->cap - b->size);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			msg("%s: %s", path, strerror(errno));
			return -1;
		}
		if (r == 0)
			return 0;
		b->size += (size_t)r;
		if (b->size > MAX_FILE_SIZE) {
			msg("%s: too big", path);
			return -1;
		}
	}
}

static int
load_file(int dfd, const char *name, struct node *n, const char *path)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int rc;

	if (fd < 0) {
		msg("%s: %s", path, strerror(errno));
		return -1;
	}
	rc = read_all(fd, &n->data, path);
	if (close(fd) != 0 && rc == 0) {
		msg("%s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc != 0)
		return rc;
	if (buf_reserve(&n->dur_data, n->data.size) != 0) {
		msg("%s: out of memory", path);
		return -1;
	}
	if (n->data.size > 0)
		memcpy(n->dur_data.data, n->data.data, n->data.size);
	n->dur_data.size = n->data.size;
	return 0;
}

static int
load_symlink(int dfd, const char *name, struct node *n, const char *path,
	     size_t hint)
{
	size_t cap = hint + 1;

	for (;;) {
		ssize_t r;
		char *p = realloc(n->target, cap);

		if (!p) {
			msg("%s: out of memory", path);
			return -1;
		}
		n->target = p;
		r = readlinkat(dfd, name, p, cap);
		if (r < 0) {
			msg("%s: %s", path, strerror(errno));
			return -1;
		}
		if ((size_t)r < cap) {
			p[r] = '\0';
			return 0;
		}
		cap *= 2; /* changed under us: try a bigger buffer */
	}
}

/* Links n under name in dir, both live and durable. */
static int
attach_loaded(struct node *dir, const char *name, struct node *n)
{
	size_t len = strlen(name), pos;
	char *live = strdup(name), *dur = strdup(name);

	if (!live || !dur || dirents_reserve(&dir->ents, 1) != 0 ||
	    dirents_reserve(&dir->dur_ents, 1) != 0) {
		free(live);
		free(dur);
		return -1;
	}
	(void)dirents_find(&dir->ents, name, len, &pos);
	dirents_insert(&dir->ents, pos, live, n);
	(void)dirents_find(&dir->dur_ents, name, len, &pos);
	dirents_insert(&dir->dur_ents, pos, dur, n);
	n->live_links = 1;
	n->dur_links = 1;
	return 0;
}

static int
load_entry(int dfd, const char *name, struct node *dir, const char *where)
{
	struct stat st;
	struct node *n;
	char *path = NULL;
	int rc = -1;

	if (asprintf(&path, "%s/%s", where, name) < 0) {
		msg("%s: out of memory", where);
		return -1;
	}
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		msg("%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) &&
	    !S_ISLNK(st.st_mode)) {
		msg("%s: not a directory, file or symbolic link; left out",
		    path);
		rc = 0;
		goto out;
	}
	n = node_new(st.st_mode, st.st_uid, st.st_gid);
	if (!n || attach_loaded(dir, name, n) != 0) {
		if (n)
			node_release(n);
		msg("%s: out of memory", path);
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		rc = load_file(dfd, name, n, path);
	} else if (S_ISLNK(st.st_mode)) {
		rc = load_symlink(dfd, name, n, path, (size_t)st.st_size);
	} else {
		int fd = openat(dfd, name,
				O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		if (fd < 0)
			msg("%s: %s", path, strerror(errno));
		else
			rc = load_dir(fd, n, path);
	}
	n->live.atime = st.st_atim;
	n->live.mtime = st.st_mtim;
	n->live.ctime = st.st_ctim;
	n->dur = n->live;
out:
	free(path);
	return rc;
}

/* Loads the directory open at fd (which it closes) into dir. */
static int
load_dir(int fd, struct node *dir, const char *where)
{
	DIR *d = fdopendir(fd);
	int rc = 0;

	if (!d) {
		msg("%s: %s", where, strerror(errno));
		(void)close(fd);
		return -1;
	}
	for (;;) {
		struct dirent *de;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0) {
				msg("%s: %s", where, strerror(errno));
				rc = -1;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		rc = load_entry(dirfd(d), de->d_name, dir, where);
		if (rc != 0)
			break;
	}
	if (closedir(d) != 0 && rc == 0) {
		msg("%s: %s", where, strerror(errno));
		rc = -1;
	}
	return rc;
}

static int
load_source(const char *source)
{
	struct stat st;
	int fd = open(source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0) {
		msg("%s: %s", source, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		return -1;
	}
	g.root = node_new(st.st_mode, st.st_uid, st.st_gid);
	if (!g.root) {
		msg("out of memory");
		(void)close(fd);
		return -1;
	}
	g.root->live_links = 1; /* the mount itself */
	g.root->dur_links = 1;
	if (load_dir(fd, g.root, source) != 0)
		return -1;
	g.root->live.atime = st.st_atim;
	g.root->live.mtime = st.st_mtim;
	g.root->live.ctime = st.st_ctim;
	g.root->dur = g.root->live;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Dumping the image                                                   */
/* ------------------------------------------------------------------ */

struct dumper {
	bool durable;         /* which state to write */
	bool chown;           /* keep owners (only root can) */
	struct node **stack;  /* directories being written, for cycles */
	size_t depth, cap;
};

static const struct meta *
view_meta(const struct dumper *d, const struct node *n)
{
	return d->durable ? &n->dur : &n->live;
}

static const struct dirents *
view_ents(const struct dumper *d, const struct node *n)
{
	return d->durable ? &n->dur_ents : &n->ents;
}

static const struct buf *
view_data(const struct dumper *d, const struct node *n)
{
	return d->durable ? &n->dur_data : &n->data;
}

static int
write_all(int fd, const char *p, size_t len, const char *path)
{
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			msg("dump: %s: %s", path, strerror(errno));
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Owner, then mode (chown clears set-id bits), then times (last, since
 * everything else may touch them). */
static int
apply_meta(const struct dumper *d, int fd, const struct meta *m,
	   const char *path)
{
	struct timespec ts[2] = { m->atime, m->mtime };

	if ((d->chown && fchown(fd, m->uid, m->gid) != 0) ||
	    fchmod(fd, m->mode & 07777) != 0 || futimens(fd, ts) != 0) {
		msg("dump: %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int dump_dir(struct dumper *d, int fd, const struct node *dir,
		    const char *path);

static int
dump_file(struct dumper *d, int dfd, const char *name, const struct node *n,
	  const char *path)
{
	const struct buf *b = view_data(d, n);
	int fd = openat(dfd, name,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			0600);
	int rc;

	if (fd < 0) {
		msg("dump: %s: %s", path, strerror(errno));
		return -1;
	}
	rc = write_all(fd, b->data, b->size, path);
	if (rc == 0)
		rc = apply_meta(d, fd, view_meta(d, n), path);
	if (close(fd) != 0 && rc == 0) {
		msg("dump: %s: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

static int
dump_symlink(struct dumper *d, int dfd, const char *name,
	     const struct node *n, const char *path)
{
	const struct meta *m = view_meta(d, n);
	struct timespec ts[2] = { m->atime, m->mtime };

	if (symlinkat(n->target, dfd, name) != 0 ||
	    (d->chown &&
	     fchownat(dfd, name, m->uid, m->gid, AT_SYMLINK_NOFOLLOW) != 0) ||
	    utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0) {
		msg("dump: %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static int
dump_subdir(struct dumper *d, int dfd, const char *name,
	    const struct node *n, const char *path)
{
	int fd, rc;

	for (size_t i = 0; i < d->depth; i++) {
		if (d->stack[i] == n) {
			msg("dump: %s: directory cycle in the durable tree; "
			    "left out", path);
			return 0;
		}
	}
	if (d->depth == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct node **s = realloc(d->stack, cap * sizeof *s);

		if (!s) {
			msg("dump: out of memory");
			return -1;
		}
		d->stack = s;
		d->cap = cap;
	}
	if (mkdirat(dfd, name, 0700) != 0) {
		msg("dump: %s: %s", path, strerror(errno));
		return -1;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		msg("dump: %s: %s", path, strerror(errno));
		return -1;
	}
	d->stack[d->depth++] = (struct node *)n;
	rc = dump_dir(d, fd, n, path);
	d->depth--;
	/* Mode and times last: a read-only directory can still be filled,
	 * and filling it does not move its mtime afterwards. */
	if (rc == 0)
		rc = apply_meta(d, fd, view_meta(d, n), path);
	if (close(fd) != 0 && rc == 0) {
		msg("dump: %s: %s", path, strerror(errno));
		rc = -1;
	}
	return rc;
}

/* Writes dir's entries (in the chosen state) into the directory at fd.
 * An inode under two names is written twice, as separate files. */
static int
dump_dir(struct dumper *d, int fd, const struct node *dir, const char *path)
{
	const struct dirents *ents = view_ents(d, dir);

	for (size_t i = 0; i < ents->n; i++) {
		const struct node *n = ents->v[i].node;
		const char *name = ents->v[i].name;
		char *sub = NULL;
		int rc;

		if (asprintf(&sub, "%s/%s", path, name) < 0) {
			msg("dump: out of memory");
			return -1;
		}
		if (S_ISREG(n->live.mode))
			rc = dump_file(d, fd, name, n, sub);
		else if (S_ISLNK(n->live.mode))
			rc = dump_symlink(d, fd, name, n, sub);
		else
			rc = dump_subdir(d, fd, name, n, sub);
		free(sub);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* 0 if dir is missing or an empty directory, else -1 with a message. */
static int
check_dump_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	bool empty = true;

	if (!d && errno == ENOENT)
		return 0;
	if (!d) {
		msg("%s: %s", dir, strerror(errno));
		return -1;
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0) {
			empty = false;
			break;
		}
	}
	if (!de && errno != 0) {
		msg("%s: %s", dir, strerror(errno));
		(void)closedir(d);
		return -1;
	}
	if (closedir(d) != 0) {
		msg("%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!empty) {
		msg("%s: not empty", dir);
		return -1;
	}
	return 0;
}

static int
dump(const char *dir, bool durable)
{
	struct dumper d = { .durable = durable, .chown = geteuid() == 0 };
	int fd, rc;

	if (check_dump_dir(dir) != 0)
		return -1;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		msg("%s: %s", dir, strerror(errno));
		return -1;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		msg("%s: %s", dir, strerror(errno));
		return -1;
	}
	rc = dump_dir(&d, fd, g.root, dir);
	if (rc == 0)
		rc = apply_meta(&d, fd, view_meta(&d, g.root), dir);
	if (close(fd) != 0 && rc == 0) {
		msg("%s: %s", dir, strerror(errno));
		rc = -1;
	}
	free(d.stack);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

static void
usage(FILE *fp)
{
	fputs(
"Usage: powerfs [options] SOURCE MOUNTPOINT\n"
"Mounts an in-memory copy of the tree at SOURCE on MOUNTPOINT, in the\n"
"foreground, and simulates a power cut under the strictest reading of\n"
"POSIX: file data is durable only after fsync of the file, names only\n"
"after fsync of their directory.\n"
"\n"
"Options:\n"
"  --dump DIR       at unmount write the tree into DIR (created if missing,\n"
"                   must be empty): the durable state if the power was cut,\n"
"                   else the live state\n"
"  --cut-after N    cut the power right after the N-th mutating operation\n"
"  --faults FILE    inject errors; lines: OP ERRNO [COUNT [PATHPREFIX]]\n"
"                   (COUNT 0 = always; OP 'any' = any mutating operation);\n"
"                   re-read on SIGUSR2\n"
"  --trace FILE     append 'N OPNAME PATH [PATH2]' per mutating operation\n"
"  -o OPT[,OPT...]  more mount options (e.g. allow_other)\n"
"  -d, --debug      print every FUSE request\n"
"  -h, --help       print this help\n"
"\n"
"Mutating operations: create mkdir write truncate rename link symlink\n"
"unlink rmdir chmod chown utimens fsync fsyncdir.  Also for --faults:\n"
"getattr readdir open opendir read readlink statfs access flush.\n"
"Signals: SIGUSR1 cuts the power; SIGUSR2 re-reads the faults file;\n"
"SIGTERM, SIGINT and SIGHUP unmount.  From the cut on every operation\n"
"fails with EIO.  At exit prints 'powerfs: N mutating operations'.\n",
	      fp);
}

struct options {
	const char *source, *mountpoint, *dump_dir, *trace_path;
	const char *mount_opts;
	bool debug;
};

static int
parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "dump", required_argument, NULL, 'D' },
		{ "cut-after", required_argument, NULL, 'C' },
		{ "faults", required_argument, NULL, 'F' },
		{ "trace", required_argument, NULL, 'T' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "o:dh", longopts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'D':
			o->dump_dir = optarg;
			break;
		case 'C':
			errno = 0;
			g.cut_after = strtoull(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || optarg[0] == '-' ||
			    optarg[0] == '\0') {
				msg("--cut-after: not a number: %s", optarg);
				return -1;
			}
			g.have_cut_after = true;
			break;
		case 'F':
			g.faults_path = optarg;
			break;
		case 'T':
			o->trace_path = optarg;
			break;
		case 'o':
			o->mount_opts = optarg;
			break;
		case 'd':
			o->debug = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return -1;
	}
	o->source = argv[optind];
	o->mountpoint = argv[optind + 1];
	return 0;
}

static int
set_signal(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	if (sigaction(sig, &sa, NULL) != 0) {
		msg("sigaction: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Wakes run_loop()'s poll() up (async-signal-safe). */
static void
wake_loop(void)
{
	int saved = errno;
	ssize_t r = write(sig_pipe[1], "", 1);

	(void)r; /* a full pipe is awake enough */
	errno = saved;
}

static void
on_sigusr1(int sig)
{
	(void)sig;
	sig_cut_pending = 1;
	wake_loop();
}

static void
on_sigusr2(int sig)
{
	(void)sig;
	sig_reload_pending = 1;
	wake_loop();
}

static void
on_stop(int sig)
{
	(void)sig;
	sig_stop_pending = 1;
	wake_loop();
}

static int
setup_signals(void)
{
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		msg("pipe: %s", strerror(errno));
		return -1;
	}
	if (set_signal(SIGUSR1, on_sigusr1) != 0 ||
	    set_signal(SIGUSR2, on_sigusr2) != 0 ||
	    set_signal(SIGTERM, on_stop) != 0 ||
	    set_signal(SIGINT, on_stop) != 0 ||
	    set_signal(SIGHUP, on_stop) != 0 ||
	    set_signal(SIGPIPE, SIG_IGN) != 0)
		return -1;
	return 0;
}

/* fuse_loop(), with poll() on /dev/fuse and on sig_pipe: a signal wakes
 * the loop even where a blocking read of /dev/fuse would be restarted
 * (as under valgrind), and SIGUSR1 cuts at once, not at the next
 * request.  Returns 0 when unmounted or stopped, -1 on an error. */
static int
run_loop(struct fuse_session *se)
{
	struct fuse_buf fbuf = { .mem = NULL };
	struct pollfd pfd[2] = {
		{ .fd = fuse_session_fd(se), .events = POLLIN },
		{ .fd = sig_pipe[0], .events = POLLIN },
	};
	int rc = 0;

	while (!fuse_session_exited(se) && !sig_stop_pending) {
		int res;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			msg("poll: %s", strerror(errno));
			rc = -1;
			break;
		}
		if (pfd[1].revents) {
			char drain[64];

			while (read(sig_pipe[0], drain, sizeof drain) > 0)
				;
			op_prologue(NULL);
			continue;
		}
		if (!pfd[0].revents)
			continue;
		res = fuse_session_receive_buf(se, &fbuf);
		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res == 0)
			break; /* unmounted: libfuse marked the session exited */
		if (res < 0) {
			/* The kernel sometimes says ECONNABORTED rather than
			 * ENODEV when a lazily unmounted file system loses
			 * its last user; an abort through
			 * /sys/fs/fuse/connections says it too. */
			if (res != -ECONNABORTED) {
				msg("reading /dev/fuse: %s", strerror(-res));
				rc = -1;
			}
			break;
		}
		fuse_session_process_buf(se, &fbuf);
	}
	free(fbuf.mem);
	return rc;
}

/* Mounts, serves until unmounted or told to stop, unmounts.  Returns 0;
 * -1 if it could not mount (nothing to dump); 1 if the loop failed. */
static int
serve(const struct options *o, const char *argv0)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *f;
	int rc = -1;

	if (fuse_opt_add_arg(&args, argv0) != 0 ||
	    fuse_opt_add_arg(&args, "-o") != 0 ||
	    fuse_opt_add_arg(&args, "default_permissions,fsname=powerfs,"
				    "subtype=powerfs") != 0 ||
	    (o->mount_opts && (fuse_opt_add_arg(&args, "-o") != 0 ||
			       fuse_opt_add_arg(&args, o->mount_opts) != 0)) ||
	    (o->debug && fuse_opt_add_arg(&args, "-d") != 0)) {
		msg("out of memory");
		fuse_opt_free_args(&args);
		return -1;
	}
	f = fuse_new(&args, &pf_ops, sizeof pf_ops, NULL);
	fuse_opt_free_args(&args);
	if (!f)
		return -1; /* libfuse said why */
	if (fuse_mount(f, o->mountpoint) != 0)
		goto out_destroy;
	if (g.have_cut_after && g.cut_after == 0)
		power_cut();
	rc = run_loop(fuse_get_session(f)) == 0 ? 0 : 1;
	/* Lazy when root: processes still holding files get ENOTCONN. */
	fuse_unmount(f);
out_destroy:
	fuse_destroy(f);
	return rc;
}

int
main(int argc, char **argv)
{
	struct options o = { NULL, NULL, NULL, NULL, NULL, false };
	int rc = 1, res;

	if (parse_args(argc, argv, &o) != 0)
		return 2;
	/* Early, so that a SIGUSR1 during the load is a cut, not death. */
	if (setup_signals() != 0)
		goto out;
	if (o.dump_dir && check_dump_dir(o.dump_dir) != 0)
		goto out;
	if (load_source(o.source) != 0)
		goto out;
	if (faults_load() != 0)
		goto out;
	if (o.trace_path) {
		g.trace = fopen(o.trace_path, "ae");
		if (!g.trace) {
			msg("%s: %s", o.trace_path, strerror(errno));
			goto out;
		}
	}
	res = serve(&o, argv[0]);
	if (res < 0)
		goto out;
	rc = res;
	settle_hidden(NULL);
	if (sig_cut_pending)
		power_cut(); /* a SIGUSR1 while idle is a cut all the same */
	if (o.dump_dir && dump(o.dump_dir, g.cut) != 0)
		rc = 1;
out:
	fprintf(stderr, "powerfs: %llu mutating operations\n", g.nops);
	fflush(stderr);
	if (g.trace && fclose(g.trace) != 0) {
		msg("%s: %s", o.trace_path, strerror(errno));
		rc = 1;
	}
	faults_free(g.faults, g.nfaults);
	free(g.pending_unlink);
	free_all();
	for (int i = 0; i < 2; i++)
		if (sig_pipe[i] >= 0)
			(void)close(sig_pipe[i]);
	return rc;
}
