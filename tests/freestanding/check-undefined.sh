#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check-undefined.sh NM OBJECT [SYMBOL...]
#
# Fails (exit 1) if OBJECT has an undefined symbol other than the ones a
# guest kernel is expected to provide (memcpy, memset, memcmp), listing
# each offender, or if any SYMBOL given is not defined in OBJECT (so that
# an empty or wrongly linked object cannot pass).  Exit 2 on usage errors
# or if nm fails.
set -u

if [ $# -lt 2 ]; then
	echo "usage: $0 NM OBJECT [REQUIRED-SYMBOL...]" >&2
	exit 2
fi
nm_tool=$1
obj=$2
shift 2

allowed="memcpy memset memcmp"

if [ ! -f "$obj" ]; then
	echo "check-undefined: no such object: $obj" >&2
	exit 2
fi
if ! undef=$("$nm_tool" -u "$obj"); then
	echo "check-undefined: $nm_tool -u $obj failed" >&2
	exit 2
fi
if ! defined=$("$nm_tool" --defined-only "$obj"); then
	echo "check-undefined: $nm_tool --defined-only $obj failed" >&2
	exit 2
fi

status=0
# nm -u prints "                 U name" (one symbol per line).
for sym in $(printf '%s\n' "$undef" | awk 'NF { print $NF }'); do
	ok=0
	for a in $allowed; do
		if [ "$sym" = "$a" ]; then
			ok=1
		fi
	done
	if [ $ok -eq 0 ]; then
		echo "check-undefined: disallowed undefined symbol: $sym"
		status=1
	fi
done

for req in "$@"; do
	if ! printf '%s\n' "$defined" |
		awk -v s="$req" '$NF == s && $(NF-1) ~ /^[TtDdBbRr]$/ { f = 1 }
				 END { exit !f }'; then
		echo "check-undefined: required symbol not defined: $req"
		status=1
	fi
done

if [ $status -eq 0 ]; then
	echo "check-undefined: $obj OK (undefined:" \
		"$(printf '%s\n' "$undef" | awk 'NF { printf " %s", $NF }'))"
fi
exit $status
