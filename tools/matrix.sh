#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/matrix.sh [--check] [SGPU_MATRIX]
#
# docs/matrix.rst carries the event x backing table of each backend, as
# printed by `sgpu_matrix --matrix` from the tests and variants compiled
# into selftests/sgpu_matrix.c.  Without --check, rewrite the part of
# docs/matrix.rst between the ".. BEGIN GENERATED" and ".. END GENERATED"
# lines; with --check, exit 1 when it differs (make check's docs:matrix).
# SGPU_MATRIX defaults to the binary tools/vm/build-selftests.sh built.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
check=0
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
bin=${1:-${UPTR_OUT:-$root/out}/selftests/sgpu_matrix}
doc=$root/docs/matrix.rst

[ -x "$bin" ] || { echo "matrix.sh: no $bin (build the selftests first)" >&2; exit 2; }
table=$(mktemp)
new=$(mktemp)
trap 'rm -f "$table" "$new"' EXIT
"$bin" --matrix | sed 's/[[:space:]]*$//' > "$table"

awk -v table="$table" '
	/^\.\. BEGIN GENERATED/ {
		print; print ""
		while ((getline line < table) > 0)
			print line
		skip = 1
		next
	}
	/^\.\. END GENERATED/ { skip = 0 }
	!skip { print }
' "$doc" > "$new"

if [ $check = 1 ]; then
	if ! diff -u "$doc" "$new"; then
		echo "matrix.sh: docs/matrix.rst is stale: run tools/matrix.sh" >&2
		exit 1
	fi
	exit 0
fi
cp "$new" "$doc"
