#!/bin/bash
# The OTLP logs reader against an independent decoder: tests/otlp-dump
# (what lt_push_parse_otlp hands its sink) against protobufjs and a
# second implementation of Loki's mapping in tests/clients/otlp-diff.js,
# over random requests from a seeded generator, in protobuf and in OTLP
# JSON, and over corrupted encodings (refused exactly when protobufjs
# cannot decode them, or where protobufjs is known to be lenient).
#
#   OTLP_DIFF_N=300       requests (more by hand: OTLP_DIFF_N=20000)
#   OTLP_DIFF_SEED=1      the first seed; a difference prints its seed,
#                         which OTLP_DIFF_SEED=S OTLP_DIFF_N=1 repeats
#   OTLP_DIFF_CORRUPT=3   corrupted encodings per request
. "$(dirname "$0")/lib.sh"

need node nodejs npm npm
DUMP=$abs_top_builddir/tests/otlp-dump
[[ -x "$DUMP" ]] || die "$DUMP is missing: build it first (make check builds it)"

node -e 'process.exit(+process.versions.node.split(".")[0] >= 18 ? 0 : 1)' ||
    lt_missing "node 18 or later" nodejs
if ! lt_install_clients; then
	tail -n 20 "$T/npm.log" | sed 's/^/#   /'
	die "npm ci of tests/clients/package-lock.json failed"
fi

rc=0
node "$abs_top_srcdir/tests/clients/otlp-diff.js" "$DUMP" "$T/work" >"$T/diff.out" 2>&1 || rc=$?
grep -v '^#   ' "$T/diff.out" | grep '^#' || true
if ((rc == 0)); then
	ok "otlp-diff.js: every request mapped as the reference, protobuf and JSON, and every corruption answered as protobufjs decodes it"
else
	fail "otlp-diff.js found differences (exit $rc)"
	head -n 200 "$T/diff.out" | sed 's/^/#   /'
fi
finish
