#!/bin/bash
# The style check: scripts/checksrc on the project's C sources, after a
# self test that shows it still finds what it is there to find.  Each
# tests/data/style/ file that says "Self test of scripts/checksrc: RULE
# at LINE:COLUMN." must be reported there, with that rule alone; the
# others (good.c, good.h) must pass; every rule of checksrc --rules must
# have its file.  A checker that went blind fails here instead of
# passing every tree.
#
#   make check TESTS=tests/style.sh      (or: tests/style.sh)
#
# CHECKSRC_HEAD=0 leaves out the rule that every file opens with a
# comment, for the tree (the self test keeps it).  Prints "ok N - ..." /
# "not ok N - ..." per check and a last PASS/FAIL line.
set -uo pipefail

top=${abs_top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top" || exit 1
checks=0
failed=0

ok() {
	checks=$((checks + 1))
	printf 'ok %d - %s\n' "$checks" "$*"
}

not_ok() {
	checks=$((checks + 1))
	failed=$((failed + 1))
	printf 'not ok %d - %s\n' "$checks" "$*"
}

# Prints text indented, under a failed check.
detail() {
	printf '%s\n' "$1" | head -n 60 | sed 's/^/#     /'
}

if ! command -v python3 >/dev/null 2>&1; then
	echo "FAIL: style (python3 not found: install the Debian package python3, as scripts/deps does)"
	exit 1
fi

# The self test: each file flagged where it says, by its rule alone.
declare -A covered=()
for f in tests/data/style/*.[ch]; do
	want=$(sed -n 's/.*Self test of scripts\/checksrc: \([A-Z]*\) at \([0-9]*:[0-9]*\)\..*/\1 \2/p' "$f")
	out=$(CHECKSRC_HEAD=1 scripts/checksrc "$f")
	rc=$?
	if [[ -z $want ]]; then
		if [[ $rc == 0 && -z $out ]]; then
			ok "$f passes"
		else
			not_ok "$f passes (exit status $rc)"
			detail "$out"
		fi
		continue
	fi
	rule=${want% *} pos=${want#* }
	covered[$rule]=1
	if [[ $rc == 1 && $out != *$'\n'* && $out =~ ^"$f:$pos: ".*" [$rule]"$ ]]; then
		ok "$rule found in $f at $pos"
	else
		not_ok "$rule found in $f at $pos, alone (exit status $rc)"
		detail "$out"
	fi
done
rules=$(scripts/checksrc --rules | cut -d: -f1)
for rule in $rules; do
	if [[ -z ${covered[$rule]:-} ]]; then
		not_ok "rule $rule has a file in tests/data/style/"
	fi
done
[[ -n $rules ]] || not_ok "scripts/checksrc --rules lists the rules"

# The tree.
out=$(scripts/checksrc)
rc=$?
if [[ $rc == 0 ]]; then
	ok "scripts/checksrc: the sources keep the style"
else
	not_ok "scripts/checksrc: the sources keep the style (exit status $rc)"
	detail "$out"
fi

if ((failed > 0)); then
	printf 'FAIL: style (%d of %d checks failed)\n' "$failed" "$checks"
	exit 1
fi
printf 'PASS: style (%d checks)\n' "$checks"
