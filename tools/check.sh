#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check [T=PATTERN]: quality gates, then the debug test kernel under
# QEMU running selftests/tests.list, then the runner's own self-tests.
#
#   tools/check.sh [--filter PATTERN] [--flavour debug|kcsan]
#
# --flavour kcsan (make check FLAVOUR=kcsan): the same gates and manifest
# on the KCSAN kernel (tools/kconfig/kcsan.config: KCSAN instead of KASAN,
# no kmemleak), with our modules built for it in out/modules-kcsan; any
# "BUG: KCSAN: data-race" in the kernel log fails the run.  No release
# guest and no runner self-tests in that flavour (they need kmemleak or
# test nothing KCSAN adds).
#
# One line per test: PASS NAME, FAIL NAME (why), SKIP NAME (why),
# XFAIL NAME (why; docs/...) for tools/vm/xfail.list entries (counted as
# passed).  The last line is "N passed, N failed[, N skipped]"; the exit
# status is non-zero when anything failed.
#
# Tests, in order:
#   gate:checkpatch    checkpatch --strict over mm/ drm/ include/ selftests/ tools/
#   gate:kernel-doc    kernel-doc -Wall over mm/ drm/ include/ selftests/runner/
#   check:manifest     every selftests/*.c program is run by selftests/tests.list
#   docs:matrix        docs/matrix.rst carries the table sgpu_matrix --matrix
#                      prints (tools/matrix.sh), checked after the build
#   build:kernel       tools/kernel.sh debug (incremental)
#   gate:build-w1      the project modules build with W=1 and no warning
#                      (in a copy under out/w1 with -Werror, so that a
#                      warning is seen again on every run, not only when the
#                      file is recompiled)
#   gate:sparse        make C=2 W=1 in that copy: no sparse report
#   build:modules      make modules (W=1) in the tree, for the guest
#   build:selftests    tools/vm/build-selftests.sh
#   ...                the guest tests (tools/vm/boot.sh; see tests.list),
#                      vm:run and kernel-log
#   build:kernel-release, build:modules-release, release:...
#                      the release guest (3 vCPUs, our modules built for
#                      it): selftests/tests-release.list, the kernel mm
#                      selftests too slow for the debug guest
#   runner:parser      the result and kernel-log parsers on recorded logs
#   build:runner-module, runner:*   the runner's self-tests (each boots the
#                      guest with a misbehaving module or a hanging test and
#                      checks that the runner reports it; the hang on the
#                      release kernel, which boots in seconds)
#
# PATTERN selects tests by name: a shell glob, or a substring when it has no
# glob character.  Gates and runner tests match by their name; guest tests
# as described in tools/vm/mkinitramfs.sh: ENTRY[:CASE], e.g. T=hmm-tests,
# T=hmm-tests:hmm.hmm_device_private.open_close (one case: passed to the
# harness as -r), T='hmm-tests:*anon*', T='kunit:uptr_core.*' (KUnit's
# filter_glob), T=gup_test (every gup_test-* entry).  The builds that the
# selected tests need always run; modules are always loaded.
#
# Environment: UPTR_VM_TIMEOUT guest run limit in seconds after its boot
# (default 4200), UPTR_BOOT_TIMEOUT (default 600), UPTR_HANG_TIMEOUT (the
# hang self-test's run limit, default 20), UPTR_LEAK_SCAN=full|quick|off
# (kmemleak scans, see tools/vm/boot.sh), UPTR_ACCEL=tcg|kvm, UPTR_CACHE
# (default ~/.cache/uptr).
set -euo pipefail
log_tag=check
. "$(dirname "$0")/vm/lib.sh"

filter='' flavour=debug
while [ $# -gt 0 ]; do
	case $1 in
	--filter) filter=$2; shift 2 ;;
	--flavour) flavour=$2; shift 2 ;;
	-h|--help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (tools/check.sh [--filter PATTERN] [--flavour F])" ;;
	esac
done
case $flavour in
debug | kcsan) ;;
*) die "--flavour: debug or kcsan, not '$flavour'" ;;
esac
t0=$(date +%s)
cd "$UPTR_ROOT"
mkdir -p "$UPTR_OUT"
ensure_host_deps
load_xfail

npass=0 nfail=0 nskip=0
count() {
	case $1 in
	"PASS "* | "XFAIL "*) npass=$((npass + 1)) ;;
	"FAIL "*) nfail=$((nfail + 1)) ;;
	"SKIP "*) nskip=$((nskip + 1)) ;;
	esac
}
report() {		# STATUS NAME [WHY]
	local line="$1 $2"
	[ -z "${3:-}" ] || line+=" ($3)"
	line=$(xfail_apply "$line")
	count "$line"
	echo "$line"
}
pat=$filter
case $pat in *[][*?]*) ;; *) pat="*$pat*" ;; esac
# shellcheck disable=SC2053 # glob match intended
selected() { [ -z "$filter" ] || [[ $1 == $pat ]]; }
indent() { sed 's/^/    | /'; }

# Print OUTPUT's lines that are findings, indented; true when there were none.
no_findings() {		# FILE REGEX
	if grep -E "$2" "$1" > "$1.findings"; then
		head -n 60 "$1.findings" | indent
		[ "$(wc -l < "$1.findings")" -le 60 ] ||
			echo "    | ... $(wc -l < "$1.findings") in all, see $1"
		return 1
	fi
	return 0
}

# Project sources (never out/, never generated files).
project_files() {	# DIR... -> C/H files under them
	local d
	for d in "$@"; do
		[ -d "$d" ] && find "$d" -path "$UPTR_OUT" -prune -o \
			-type f \( -name '*.c' -o -name '*.h' \) \
			! -name '*.mod.c' -print
	done | sort
}
has_modules() { [ -n "$(project_files mm drm)" ]; }

# Source tree (extracted by kernel.sh when missing) and the flavour's tree.
tree=$(tools/kernel.sh "$flavour" --print-dir)
src=$UPTR_SRC
# The gates only read the tree: their logs are private to this run.  What
# builds or boots takes the tree's lock first (see below).
gate_logs=$(mktemp -d "$UPTR_OUT/check-gates.XXXXXX")
trap 'rm -rf "$gate_logs"' EXIT
# Interrupted or killed: stop what this run started (boot.sh kills its guest).
trap 'pkill -TERM -P $$ 2>/dev/null; exit 130' HUP INT TERM
logs=$gate_logs

# --- Quality gates -------------------------------------------------------
if selected gate:checkpatch; then
	mapfile -t files < <(project_files mm drm include selftests tools)
	if [ ${#files[@]} = 0 ]; then
		report SKIP gate:checkpatch "no C/H files yet"
	else
		"$src/scripts/checkpatch.pl" --strict --no-tree --terse \
			--show-types -f "${files[@]}" > "$logs/checkpatch.txt" 2>&1 || true
		if no_findings "$logs/checkpatch.txt" ': (ERROR|WARNING|CHECK):'; then
			report PASS gate:checkpatch "${#files[@]} files"
		else
			report FAIL gate:checkpatch "$(grep -cE ': (ERROR|WARNING|CHECK):' \
				"$logs/checkpatch.txt") findings"
		fi
	fi
fi

if selected gate:kernel-doc; then
	mapfile -t files < <(project_files mm drm include selftests/runner)
	if [ ${#files[@]} = 0 ]; then
		report SKIP gate:kernel-doc "no kernel-side C/H files yet"
	else
		"$src/scripts/kernel-doc" -none -Wall "${files[@]}" \
			> "$logs/kernel-doc.txt" 2>&1 || true
		if no_findings "$logs/kernel-doc.txt" '.'; then
			report PASS gate:kernel-doc "${#files[@]} files"
		else
			report FAIL gate:kernel-doc "$(wc -l < "$logs/kernel-doc.txt") lines"
		fi
	fi
fi

# Every project selftest must be run by the manifest.
if selected check:manifest; then
	unrun=()
	for c in selftests/*.c; do
		[ -e "$c" ] || continue
		t=$(basename "$c" .c)
		grep -qE "^[a-z]+[[:space:]]+[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+$t([[:space:]]|\$)" \
			selftests/tests.list || unrun+=("$t")
	done
	if [ ${#unrun[@]} = 0 ]; then
		report PASS check:manifest
	else
		report FAIL check:manifest "not in selftests/tests.list: ${unrun[*]}"
	fi
fi

# The result and kernel-log parsers against recorded logs (golden files
# in tools/vm/testdata; regenerate them only after reviewing the change).
if selected runner:parser; then
	td=tools/vm/testdata
	if awk -f tools/vm/parse.awk $td/results.log | diff -u $td/results.expected - \
		> "$logs/parser.diff" &&
	   awk -f tools/vm/scan-log.awk $td/console.log | diff -u $td/console.expected - \
		>> "$logs/parser.diff" &&
	   awk -f tools/vm/scan-log.awk $td/console-expect.log |
		diff -u $td/console-expect.expected - >> "$logs/parser.diff" &&
	   awk -v known=$td/kcsan-known.list -f tools/vm/scan-log.awk \
		$td/console-kcsan.log |
		diff -u $td/console-kcsan.expected - >> "$logs/parser.diff"; then
		report PASS runner:parser
	else
		report FAIL runner:parser "output differs from $td/*.expected"
		head -n 40 "$logs/parser.diff" | indent
	fi
fi

# --- What the selected tests need ---------------------------------------
logs_locked=''
lock_tree() {		# one make check at a time builds and boots in this tree
	[ -z "$logs_locked" ] || return 0
	logs_locked=1
	exec 7>"$UPTR_OUT/check.lock"
	if ! flock -n 7; then
		log "waiting for the other make check in this tree to end"
		flock 7
	fi
	logs=$UPTR_OUT/check
	rm -rf "$logs"
	mkdir -p "$logs"
}
main_tests=$(tools/vm/mkinitramfs.sh --manifest selftests/tests.list \
	--count --filter "$filter")
release_tests=$(tools/vm/mkinitramfs.sh --manifest selftests/tests-release.list \
	--count --filter "$filter")
runner_tests=0
for t in runner:reports-results runner:detects-warn runner:detects-leak \
	 runner:detects-hang; do
	selected $t && runner_tests=1
done
[ "$flavour" = debug ] || release_tests=0 runner_tests=0
need_kernel=0
if [ "$main_tests" != 0 ] || [ $runner_tests = 1 ] ||
   { has_modules && { selected gate:build-w1 || selected gate:sparse; }; }; then
	need_kernel=1
fi

kernel_ok=1
if [ $need_kernel = 1 ]; then
	lock_tree
	log "kernel: tools/kernel.sh $flavour (incremental)"
	# The build's progress lines go to our stderr (fd 3), the rest to the log.
	if UPTR_PROGRESS_FD=3 tools/kernel.sh "$flavour" 3>&2 > "$logs/kernel.txt" 2>&1; then
		report PASS build:kernel
	else
		report FAIL build:kernel "see $logs/kernel.txt"
		tail -n 30 "$logs/kernel.txt" | indent
		kernel_ok=0
	fi
fi

kbuild() {		# LOGFILE DIR MAKE-ARGS...: external module build
	local logf=$1 dir=$2
	shift 2
	# Shared lock: tools/kernel.sh holds it exclusively while it rebuilds.
	flock -s "$tree.lock" make -k -C "$tree" M="$dir" W=1 "$@" modules \
		> "$logf" 2>&1
}

if [ $kernel_ok = 1 ] && { selected gate:build-w1 || selected gate:sparse; }; then
	if ! has_modules; then
		selected gate:build-w1 && report SKIP gate:build-w1 "no module sources yet"
		selected gate:sparse && report SKIP gate:sparse "no module sources yet"
	else
		w1=$UPTR_OUT/w1
		copy_module_sources "$w1"
		if selected gate:build-w1; then
			if kbuild "$logs/build-w1.txt" "$w1" KCFLAGS=-Werror &&
			   no_findings "$logs/build-w1.txt" '[Ww]arning|[Ee]rror'; then
				report PASS gate:build-w1
			else
				grep -qiE 'warning|error' "$logs/build-w1.txt" ||
					tail -n 20 "$logs/build-w1.txt" | indent
				report FAIL gate:build-w1 "see $logs/build-w1.txt"
			fi
		fi
		if selected gate:sparse; then
			if kbuild "$logs/sparse.txt" "$w1" KCFLAGS=-Werror C=2 &&
			   no_findings "$logs/sparse.txt" '[Ww]arning|[Ee]rror'; then
				report PASS gate:sparse
			else
				grep -qiE 'warning|error' "$logs/sparse.txt" ||
					tail -n 20 "$logs/sparse.txt" | indent
				report FAIL gate:sparse "see $logs/sparse.txt"
			fi
		fi
	fi
fi

# --- The guest tests ------------------------------------------------------
guest_status() {	# stream a boot.sh run through the counters
	local line
	vm_summary=''
	while IFS= read -r line; do
		case $line in
		"vm: "*" passed, "*) vm_summary=$line ;;
		*) count "$line"; echo "$line" ;;
		esac
	done
}

# boot.sh exits 0 when every test of its run passed, 1 when one failed,
# anything else when it could not run.
guest_exit() {		# RC WHAT
	local want=1
	case $1 in
	0 | 1)
		[[ $vm_summary != *", 0 failed"* ]] || want=0
		[ "$1" = $want ] ||
			report FAIL vm:exit-status "$2 exited $1 after '$vm_summary'"
		;;
	*) report FAIL vm:setup "$2 could not run (exit $1)" ;;
	esac
}

# The debug guest loads the modules built in the tree; another flavour's
# are built in a copy of the sources, out/modules-FLAVOUR.
mods=$UPTR_ROOT vmtag=check
[ "$flavour" = debug ] || mods=$UPTR_OUT/modules-$flavour vmtag=$flavour
if [ "$main_tests" != 0 ] && [ $kernel_ok = 1 ]; then
	if has_modules; then
		log "modules: make modules (W=1) in ${mods#"$UPTR_ROOT"/}"
		[ "$mods" = "$UPTR_ROOT" ] || copy_module_sources "$mods"
		if kbuild "$logs/modules.txt" "$mods"; then
			report PASS build:modules
		else
			report FAIL build:modules "see $logs/modules.txt"
			grep -iE 'error|warning' "$logs/modules.txt" | head -n 30 | indent
		fi
	fi
	log "selftests: tools/vm/build-selftests.sh $flavour"
	if tools/vm/build-selftests.sh "$flavour" > "$logs/selftests.txt" 2>&1; then
		report PASS build:selftests
	else
		report FAIL build:selftests "see $logs/selftests.txt"
		tail -n 30 "$logs/selftests.txt" | indent
	fi
	# docs/matrix.rst's table is generated from the matrix test binary.
	if selected docs:matrix; then
		if tools/matrix.sh --check > "$logs/matrix.diff" 2>&1; then
			report PASS docs:matrix
		else
			report FAIL docs:matrix "stale: run tools/matrix.sh"
			head -n 20 "$logs/matrix.diff" | indent
		fi
	fi
	guest_status < <(tools/vm/boot.sh --filter "$filter" --flavour "$flavour" \
		--modules "$mods" --tag "$vmtag" 2>&1)
	rc=0
	wait $! || rc=$?
	guest_exit $rc tools/vm/boot.sh
fi

# --- The release guest ---------------------------------------------------
# selftests/tests-release.list: the mm selftests that are too slow under
# KASAN and lockdep or need 3 CPUs, on the release kernel with our modules
# built for it.  Its results are named release:NAME.
release_ok=0
if [ "$release_tests" != 0 ] || selected runner:detects-hang; then
	lock_tree
	log "kernel: tools/kernel.sh release (incremental; cold: ~8 min)"
	if UPTR_PROGRESS_FD=3 tools/kernel.sh release 3>&2 \
		> "$logs/kernel-release.txt" 2>&1; then
		report PASS build:kernel-release
		release_ok=1
	else
		report FAIL build:kernel-release "see $logs/kernel-release.txt"
		tail -n 30 "$logs/kernel-release.txt" | indent
	fi
fi
if [ "$release_tests" != 0 ] && [ $release_ok = 1 ]; then
	log "modules: the project modules for the release kernel"
	rmods=$(build_modules_copy release)
	if [ -f "$rmods/mm/uptr.ko" ] && [ -f "$rmods/drm/sgpu.ko" ]; then
		report PASS build:modules-release
	else
		report FAIL build:modules-release "see $UPTR_OUT/modules-release.log"
		tail -n 20 "$UPTR_OUT/modules-release.log" | indent
	fi
	tools/vm/build-selftests.sh debug ksm_functional_tests migration \
		> "$logs/selftests-release.txt" 2>&1 ||
		report FAIL build:selftests-release "see $logs/selftests-release.txt"
	guest_status < <(tools/vm/boot.sh --manifest selftests/tests-release.list \
		--flavour release --cpus 3 --modules "$rmods" --filter "$filter" \
		--tag release 2>&1 |
		sed -u -E 's/^(PASS|FAIL|SKIP|XFAIL) /\1 release:/')
	rc=0
	wait $! || rc=$?
	guest_exit $rc "tools/vm/boot.sh (release)"
fi

# --- The runner's self-tests ----------------------------------------------
# Each boots the guest with a manifest that must make the runner report a
# failure, and checks what it reported.
runner_dir=$UPTR_OUT/vm
rcheck_fail=()
expect() {		# FILE DESCRIPTION EGREP-REGEX: record a failed expectation
	grep -qE -- "$3" "$1" || rcheck_fail+=("$2")
}
runner_report() {	# NAME OUTPUT-FILE
	if [ ${#rcheck_fail[@]} = 0 ]; then
		report PASS "$1"
	else
		report FAIL "$1" "$(IFS=';'; echo "${rcheck_fail[*]}")"
		tail -n 40 "$2" | indent
	fi
	rcheck_fail=()
}

if [ $runner_tests = 1 ] && [ $kernel_ok = 1 ]; then
	ko=selftests/runner/runner_selftest.ko
	if kbuild "$logs/runner-module.txt" "$UPTR_ROOT/selftests/runner" &&
	   no_findings "$logs/runner-module.txt" '[Ww]arning|[Ee]rror'; then
		report PASS build:runner-module
	else
		report FAIL build:runner-module "see $logs/runner-module.txt"
	fi
	mkdir -p "$runner_dir"

	if selected runner:reports-results || selected runner:detects-warn ||
	   selected runner:detects-leak; then
		m=$runner_dir/runner-warn.list
		cat > "$m" <<-EOF
		module runner_selftest - $ko warn=1 leak=1
		module absent optional selftests/runner/absent.ko
		cmd must-pass - true
		cmd must-fail - false
		cmd too-slow timeout=3 sleep 60
		EOF
		log "runner self-test: a guest with a WARN, a leak and failing commands"
		o=$runner_dir/runner-warn.out
		rc=0
		tools/vm/boot.sh --manifest "$m" --tag runner-warn --timeout 600 --quick \
			> "$o" 2>&1 || rc=$?
		if selected runner:reports-results; then
			[ $rc = 1 ] || rcheck_fail+=("boot.sh exit $rc, want 1")
			expect "$o" "insmod not reported" '^PASS insmod:runner_selftest$'
			expect "$o" "missing optional module not skipped" \
				'^SKIP insmod:absent \(selftests/runner/absent.ko not built\)$'
			expect "$o" "exit 0 not a pass" '^PASS must-pass$'
			expect "$o" "exit 1 not a failure" '^FAIL must-fail \(exit 1\)$'
			expect "$o" "per-test timeout not reported" \
				'^FAIL too-slow \(timed out after [0-9]+ s\)$'
			expect "$o" "rmmod not reported" '^PASS rmmod:runner_selftest$'
			expect "$o" "guest did not finish" '^PASS vm:run$'
			expect "$o" "wrong summary" '^vm: 4 passed, 3 failed, 1 skipped$'
			runner_report runner:reports-results "$o"
		fi
		if selected runner:detects-warn; then
			expect "$o" "kernel-log scan passed" '^FAIL kernel-log '
			expect "$o" "WARNING line not printed" \
				'^    .*WARNING: .*runner_selftest_init'
			runner_report runner:detects-warn "$o"
		fi
		if selected runner:detects-leak; then
			expect "$o" "kmemleak report not printed" \
				'^    .*(unreferenced object|suspected memory leak)'
			expect "$o" "leak backtrace not printed" \
				'^    .*runner_selftest_init'
			runner_report runner:detects-leak "$o"
		fi
	fi

	if selected runner:detects-hang && [ $release_ok = 1 ]; then
		m=$runner_dir/runner-hang.list
		cat > "$m" <<-EOF
		cmd before-hang - true
		cmd hang timeout=0 sleep 100000
		EOF
		limit=${UPTR_HANG_TIMEOUT:-20}
		log "runner self-test: a guest that hangs (killed ${limit}s after boot)"
		o=$runner_dir/runner-hang.out
		rc=0
		h0=$(date +%s)
		# The release kernel boots in seconds, the debug one in a minute.
		tools/vm/boot.sh --manifest "$m" --tag runner-hang --timeout "$limit" \
			--flavour release > "$o" 2>&1 || rc=$?
		took=$(( $(date +%s) - h0 ))
		[ $rc = 1 ] || rcheck_fail+=("boot.sh exit $rc, want 1")
		booted=$(sed -n 's/.*guest userspace up after \([0-9]*\).*/\1/p' "$o")
		[ -n "$booted" ] && [ $took -lt $((booted + limit + 30)) ] ||
			rcheck_fail+=("took ${took}s for a ${limit}s limit after boot")
		expect "$o" "test before the hang not reported" '^PASS before-hang$'
		expect "$o" "hanging test not reported" '^FAIL hang \(unfinished'
		expect "$o" "guest kill not reported" \
			"^FAIL vm:run \\(no end ${limit}s after boot: guest killed\\)"
		expect "$o" "console tail not printed" '^    \| .*uptr-init: run hang'
		runner_report runner:detects-hang "$o"
	fi
fi

[ $npass != 0 ] || [ $nfail != 0 ] || [ $nskip != 0 ] ||
	report FAIL check:selection "no test matches '$filter'"
echo "total wall time: $(( $(date +%s) - t0 ))s"
summary="$npass passed, $nfail failed"
[ $nskip = 0 ] || summary+=", $nskip skipped"
echo "$summary"
[ $nfail = 0 ]
