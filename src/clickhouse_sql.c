/* The check of the database, table and cluster names Logthra writes into
 * ClickHouse's SQL (clickhouse.h). */
#include "config.h"

#include <string.h>

#include "clickhouse.h"

/* ClickHouse's own limit is much higher; 64 keeps names readable and
 * comfortably inside the file name limits of the server's data path. */
#define LT_CH_IDENT_MAX 64

int
lt_ch_identifier_valid(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		return 0;
	if (!(name[0] == '_' || (name[0] >= 'A' && name[0] <= 'Z') ||
	      (name[0] >= 'a' && name[0] <= 'z')))
		return 0;
	for (i = 1; name[i] != '\0'; i++) {
		if (i >= LT_CH_IDENT_MAX)
			return 0;
		if (!(name[i] == '_' || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9')))
			return 0;
	}
	return 1;
}
