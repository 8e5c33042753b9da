#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make coverage [T=PATTERN]: gcov line and function coverage of mm/ and
# drm/ over the test manifest, on the debug kernel.
#
#   tools/coverage.sh [--filter PATTERN]
#
# 1. The debug kernel (tools/kernel.sh debug).  It has CONFIG_GCOV_KERNEL=y
#    but profiles nothing of its own (no GCOV_PROFILE_ALL).
# 2. Our modules (mm/, drm/, mm/tests) with gcov profiling: make UPTR_GCOV=1
#    turns on GCOV_PROFILE in their Kbuild files.  They are built in a copy
#    of the sources, out/coverage/src, so the tree's own objects (make,
#    make check) stay as they are.
# 3. The debug guest runs selftests/tests.list with these modules (all of
#    it, or what PATTERN selects, as make check T=...: a quick mode for
#    iterating on one test).  After the modules are unloaded (gcov_persist
#    keeps their data) the guest sends every .gcda back on a third serial
#    port (tools/vm/boot.sh --gcov).
# 4. lcov writes out/coverage/coverage.info, the HTML report
#    out/coverage/html/index.html and the text summary
#    out/coverage/summary.txt (also printed): line and function coverage of
#    mm/ (the core, without mm/tests), mm/tests and drm/, per file and per
#    directory, and every function that never ran; the lines that never
#    ran, per file: out/coverage/unrun-lines.txt.
#
# Test results are printed as make check prints them, PASS lines only in
# out/coverage/tests.log.  Exit status: 0 when every selected test passed
# and the coverage data came back, 1 otherwise.
#
# Environment: UPTR_LEAK_SCAN (default off: this run measures coverage, make
# check looks for leaks), UPTR_VM_TIMEOUT and the others of tools/check.sh.
set -euo pipefail
log_tag=coverage
. "$(dirname "$0")/vm/lib.sh"

filter=''
while [ $# -gt 0 ]; do
	case $1 in
	--filter) filter=$2; shift 2 ;;
	-h|--help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (tools/coverage.sh [--filter PATTERN])" ;;
	esac
done
t0=$(date +%s)
cd "$UPTR_ROOT"
mkdir -p "$UPTR_OUT"
ensure_host_deps
cov=$UPTR_OUT/coverage
src=$cov/src
mkdir -p "$cov"
exec 7>"$cov.lock"
if ! flock -n 7; then
	log "waiting for the other make coverage in this tree to end"
	flock 7
fi

log "kernel: tools/kernel.sh debug (incremental)"
tools/kernel.sh debug > "$cov/kernel.log" 2>&1 ||
	{ tail -n 30 "$cov/kernel.log" >&2; die "kernel build failed: $cov/kernel.log"; }
tree=$(kernel_tree debug)
grep -qx 'CONFIG_GCOV_KERNEL=y' "$tree/.config" ||
	die "$tree has no CONFIG_GCOV_KERNEL (tools/kconfig/debug.config)"

log "modules: gcov-profiled build in ${src#"$UPTR_ROOT"/}"
copy_module_sources "$src"
find "$src" -name '*.gcda' -delete
# An object without its .gcno was built without profiling: rebuild it.
for c in "$src"/mm/*.c "$src"/mm/tests/*.c "$src"/drm/*.c; do
	[ -f "${c%.c}.gcno" ] || rm -f "${c%.c}.o"
done
flock -s "$tree.lock" make -C "$tree" M="$src" W=1 UPTR_GCOV=1 modules \
	> "$cov/modules.log" 2>&1 ||
	{ tail -n 30 "$cov/modules.log" >&2; die "module build failed: $cov/modules.log"; }
[ -n "$(find "$src/mm" "$src/drm" -name '*.gcno' -print -quit)" ] ||
	die "no .gcno files: the modules were not built with gcov profiling"

log "selftests: tools/vm/build-selftests.sh debug"
tools/vm/build-selftests.sh debug > "$cov/selftests.log" 2>&1 ||
	{ tail -n 30 "$cov/selftests.log" >&2; die "selftest build failed: $cov/selftests.log"; }

g0=$(date +%s)
{
	rc=0
	UPTR_LEAK_SCAN=${UPTR_LEAK_SCAN:-off} tools/vm/boot.sh --filter "$filter" \
		--modules "$src" --tag coverage --gcov 2>&1 || rc=$?
	echo "@rc $rc"
} | tee "$cov/tests.log" | grep -v -e '^PASS ' -e '^@rc ' || true
tests_rc=$(sed -n 's/^@rc //p' "$cov/tests.log")
guest_s=$(( $(date +%s) - g0 ))

vmdir=$UPTR_OUT/vm/coverage
grep -q '^@@GCOV end' "$vmdir/gcov.txt" 2>/dev/null ||
	die "no gcov data came back from the guest (see ${vmdir#"$UPTR_ROOT"/}/console.txt)"
rm -rf "$cov/gcda"
mkdir -p "$cov/gcda"
sed -n '/^@@GCOV begin/,/^@@GCOV end/{/^@@GCOV/d;p}' "$vmdir/gcov.txt" |
	tr -d '\r' | base64 -d | tar -xzf - -C "$cov/gcda" ||
	die "cannot unpack the guest's gcov data (${vmdir#"$UPTR_ROOT"/}/gcov.txt)"
# The guest names each file by the object's absolute path on this host.
[ -d "$cov/gcda$src" ] || die "the gcov data names no object of $src"
(cd "$cov/gcda$src" && find . -name '*.gcda') | while read -r f; do
	cp "$cov/gcda$src/$f" "$src/$f"
done

log "lcov: out/coverage/coverage.info, html/"
lcov --quiet --capture --directory "$src" --output-file "$cov/all.info" \
	> "$cov/lcov.log" 2>&1 ||
	{ tail -n 20 "$cov/lcov.log" >&2; die "lcov failed: $cov/lcov.log"; }
lcov --quiet --extract "$cov/all.info" "$src/mm/*" "$src/drm/*" \
	--output-file "$cov/coverage.info" >> "$cov/lcov.log" 2>&1 ||
	die "lcov --extract failed: $cov/lcov.log"
rm -rf "$cov/html"
genhtml --quiet --prefix "$src" --title "uptr + sgpu (make coverage)" \
	--output-directory "$cov/html" "$cov/coverage.info" >> "$cov/lcov.log" 2>&1 ||
	die "genhtml failed: $cov/lcov.log"

# Per file and per directory (mm = the core without mm/tests), then the
# functions that never ran.
awk -v src="$src/" -v lines="$cov/unrun-lines.txt" '
function pct(h, n) { return n ? sprintf("%5.1f%%", 100 * h / n) : "    -" }
function row(name, lh, lf, fh, ff) {
	printf "%-28s lines %5d/%-5d %s   functions %4d/%-4d %s\n",
		name, lh, lf, pct(lh, lf), fh, ff, pct(fh, ff)
}
/^SF:/ {
	file = substr($0, 4)
	sub("^" src, "", file)
	grp = file ~ /^mm\/tests\// ? "mm/tests" : file ~ /^mm\// ? "mm" : "drm"
	nfn = 0
}
/^FN:/ { split(substr($0, 4), a, ","); fline[a[2]] = a[1] }
/^FNDA:/ {
	split(substr($0, 6), a, ",")
	if (a[1] == 0)
		dead[grp] = dead[grp] sprintf("  %s:%d %s\n", file, fline[a[2]], a[2])
}
/^DA:/ {
	split(substr($0, 4), a, ",")
	if (a[2] == 0)
		unrun[file] = unrun[file] " " a[1]
}
/^LF:/ { lf[file] = substr($0, 4); LF[grp] += lf[file] }
/^LH:/ { lh[file] = substr($0, 4); LH[grp] += lh[file] }
/^FNF:/ { ff[file] = substr($0, 5); FF[grp] += ff[file] }
/^FNH:/ { fh[file] = substr($0, 5); FH[grp] += fh[file] }
/^end_of_record/ { files[++n] = file; fgrp[n] = grp; delete fline }
END {
	for (i = 1; i <= n; i++) {
		row(files[i], lh[files[i]], lf[files[i]], fh[files[i]], ff[files[i]])
		print files[i] ":" unrun[files[i]] > lines
	}
	print ""
	split("mm drm mm/tests", g, " ")
	for (i = 1; i <= 3; i++)
		row(g[i] "/ (all files)", LH[g[i]], LF[g[i]], FH[g[i]], FF[g[i]])
	split("mm:90 drm:85", goal, " ")
	for (i = 1; i <= 2; i++) {
		split(goal[i], p, ":")
		have = LF[p[1]] ? 100 * LH[p[1]] / LF[p[1]] : 0
		printf "goal: %s/ >= %d%% of lines: %s (%.1f%%)\n", p[1], p[2],
			(have >= p[2] ? "met" : "MISSED"), have
	}
	for (i = 1; i <= 3; i++) {
		printf "\nfunctions of %s/ that never ran:\n", g[i]
		if (dead[g[i]] == "") {
			print "  (none)"
			continue
		}
		printf "%s", dead[g[i]] | "sort -t: -k1,1 -k2,2n"
		close("sort -t: -k1,1 -k2,2n")
	}
}' "$cov/coverage.info" > "$cov/summary.txt"
{
	echo "coverage of ${filter:-the whole manifest} (out/coverage/html/index.html):"
	cat "$cov/summary.txt"
} | tee "$cov/summary.head" >&2
mv "$cov/summary.head" "$cov/summary.txt"
log "guest run ${guest_s}s, whole make coverage $(( $(date +%s) - t0 ))s"
[ "$tests_rc" = 0 ] || { log "some tests failed (see above)"; exit 1; }
