#!/bin/bash
# metric-answers.sh against a current ClickHouse: ClickHouse 26 (the
# engine of the chdb package, behind tests/chdb/chdb-http.js) and so the
# current table layout (DateTime64, LowCardinality tenant, skip indexes),
# whose SQL logthra-query writes differently.
export LT_CLICKHOUSE=chdb
exec bash "$(dirname "$0")/metric-answers.sh"
