/* Retried pushes: a push identical to one the receiver stored a moment
 * ago is acknowledged and not stored again (logthra-spool(5), RETRIED
 * PUSHES).  A client that timed out waiting for a 204 sends the same
 * push again although the first copy may be on disk; Loki shows
 * identical entries once, so there the retry is invisible, and so it is
 * here.
 *
 *   SPOOL/seen/TENANT/BUCKET/DIGEST
 *
 * DIGEST is the SHA-256, in hex, of the push as stored (its spool file
 * without the header, which holds the time and id of this attempt);
 * BUCKET is the unix second at which a window of the tenant's
 * dedup_window seconds starts.  A push is a retry when its digest is in
 * the current or the previous bucket: so for at least one window and at
 * most two. */
#ifndef LOGTHRA_DEDUP_H
#define LOGTHRA_DEDUP_H

#include <stddef.h>
#include <stdint.h>

#include "spool.h"

#define LT_DEDUP_HEX_LEN 64

/* The digest of an encoded push (after lt_spool_encoder_finish()), as
 * 64 lowercase hex digits and a NUL. */
void lt_dedup_digest(const struct lt_spool_encoder *e,
		     char hex[LT_DEDUP_HEX_LEN + 1]);

/* Whether the tenant stored a push with this digest within the window
 * that ends at now_s: 1 when it did, 0 when not (or when that cannot be
 * told: the push is then stored, which at worst stores a retry twice). */
int lt_dedup_seen(const char *root, const char *tenant, const char *hex,
		  int64_t now_s, int64_t window_s);

/* Records, durably, that the tenant stored a push with this digest: call
 * only once its spool file is durable, so that a record never stands for
 * a push that a crash took away.  Returns 0, or an errno value with err
 * set. */
int lt_dedup_record(const char *root, const char *tenant, const char *hex,
		    int64_t now_s, int64_t window_s, char *err, size_t errlen);

/* Removes the tenant's buckets that no push at now_s or later looks at:
 * those that started two windows or more before now_s's bucket.
 * *removed counts the records removed.  Returns 0, or an errno value
 * with err set. */
int lt_dedup_expire(const char *root, const char *tenant, int64_t now_s,
		    int64_t window_s, size_t *removed, char *err, size_t errlen);

/* The start of the bucket that holds now_s. */
int64_t lt_dedup_bucket(int64_t now_s, int64_t window_s);

#endif
