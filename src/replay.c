#include "config.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "archives.h"
#include "flush.h"
#include "log.h"
#include "replay.h"
#include "spool.h"

static int
recover_tenant(const struct lt_options *o, const char *tenant,
	       struct lt_recover_stats *st)
{
	char err[512];
	size_t n = 0;
	int rc = 0;

	if (lt_spool_unclaim(o->spool, tenant, time(NULL) + o->retry_min_delay_s,
			     &n, err, sizeof(err)) != 0) {
		lt_error("%s", err);
		rc = -1;
	}
	st->unclaimed += n;
	n = 0;
	if (lt_spool_sweep_tmp(o->spool, tenant, o->tmp_max_age_s, &n, err,
			       sizeof(err)) != 0) {
		lt_error("%s", err);
		rc = -1;
	}
	st->tmp_removed += n;
	return rc;
}

int
lt_recover(const struct lt_options *o, struct lt_recover_stats *st)
{
	struct lt_names tenants = {0};
	char err[512];
	int lock_fd, rc, status = LT_EX_OK;
	size_t i;

	memset(st, 0, sizeof(*st));
	rc = lt_spool_lock(o->spool, &lock_fd);
	if (rc == 1) {
		lt_error("logthra-flush or logthra-replay is running on spool \"%s\"",
			 o->spool);
		lt_hint("Wait for it to finish; a running flush needs no recovery.");
		return LT_EX_TEMPFAIL;
	}
	if (rc < 0) {
		lt_error("could not lock spool directory \"%s\": %m", o->spool);
		return LT_EX_ERROR;
	}
	rc = lt_spool_tenants(o->spool, &tenants);
	if (rc != 0) {
		lt_error("could not list the tenants in spool directory \"%s\": %s",
			 o->spool, strerror(rc));
		status = LT_EX_ERROR;
	}
	for (i = 0; i < tenants.n; i++)
		if (recover_tenant(o, tenants.v[i], st) < 0)
			status = LT_EX_ERROR;
	/* Under the lock: a running flush may be writing an archive. */
	if (lt_archive_recover(o, &st->archives_removed, err, sizeof(err)) != 0) {
		lt_error("%s", err);
		status = LT_EX_ERROR;
	}
	lt_names_free(&tenants);
	(void)close(lock_fd);
	return status;
}
