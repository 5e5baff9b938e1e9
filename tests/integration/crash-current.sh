#!/bin/bash
# crash.sh against a current ClickHouse: ClickHouse 26 (the engine of the
# chdb package, behind tests/chdb/chdb-http.js) and so the current table
# layout, whose DateTime64 timestamps the exactly-once checks after a
# crash must find as surely as the portable table's.
export LT_CLICKHOUSE=chdb
exec bash "$(dirname "$0")/crash.sh"
