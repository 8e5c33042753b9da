#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make run: the benchmark.  Builds what is missing (the non-debug kernel,
# the project modules against it, tools/bench/uptr_bench), boots the guest
# with them, runs uptr_bench inside and collects its results on the host.
#
#   tools/run.sh [--full|--smoke] [--only GROUPS] [--reps N]
#                [--flavour release|debug] [--timeout SECONDS]
#                [--results DIR] [-- BENCH-ARGS...]
#
#   --full      sizes up to 1 GiB everywhere (much longer)
#   --smoke     the seconds-long version that make check runs
#   --only      comma-separated groups of uptr_bench (see uptr_bench --help)
#   --reps      timed repeats per case (default 10, after 1 warm-up)
#   --flavour   kernel flavour, default $FLAVOUR or release (numbers from
#               a debug kernel mean nothing)
#   --timeout   whole guest run limit, default 1800 s (--full: 7200 s)
#   --results   results root, default results/ in the repository
#
# Writes RESULTS/<timestamp>/: table.txt (what is printed at the end),
# results.csv, plot.png (gnuplot), summary.md (the README's tables),
# bench.log (the raw guest output).  Shows
# progress while the guest runs.  Exit status: 0 when the benchmark ran
# without a measurement error; slow numbers are reported, never failed.
#
# Environment: UPTR_ACCEL=tcg|kvm, UPTR_CACHE, UPTR_JOBS (see kernel.sh).
set -euo pipefail
log_tag=run
# The benchmark has its own output tree: a make check next to it keeps
# its out/.
export UPTR_OUT=${UPTR_BENCH_OUT:-$(cd "$(dirname "$0")/.." && pwd)/out/bench}
. "$(dirname "$0")/vm/lib.sh"

flavour=${FLAVOUR:-release} timeout='' results=$UPTR_ROOT/results
bench_args=()
mode=default
while [ $# -gt 0 ]; do
	case $1 in
	--full) mode=full; bench_args+=(--full); shift ;;
	--smoke) mode=smoke; bench_args+=(--smoke); shift ;;
	--only) bench_args+=(--only "$2"); shift 2 ;;
	--reps) bench_args+=(--reps "$2"); shift 2 ;;
	--flavour) flavour=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--) shift; bench_args+=("$@"); break ;;
	-h|--help) sed -n '3,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see tools/run.sh --help)" ;;
	esac
done
case $mode in
full) : "${timeout:=7200}" ;;
*) : "${timeout:=1800}" ;;
esac
t0=$(date +%s)
mkdir -p "$UPTR_OUT"
ensure_host_deps
if ! command -v gnuplot >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing Debian package gnuplot-nox (for plot.png)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox \
			>"$UPTR_OUT/apt-gnuplot.log" 2>&1 ||
		{ apt-get update -q >>"$UPTR_OUT/apt-gnuplot.log" 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q gnuplot-nox \
			>>"$UPTR_OUT/apt-gnuplot.log" 2>&1; } ||
		log "warning: gnuplot-nox not installed, no plot.png"
	else
		log "warning: gnuplot missing (apt-get install gnuplot-nox), no plot.png"
	fi
fi

# 1. The kernel (incremental; a cold release build takes ~8 min on 2 cores).
log "kernel: tools/kernel.sh $flavour (a cold build takes minutes)"
nice -n 10 "$UPTR_ROOT/tools/kernel.sh" "$flavour" ||
	die "kernel build failed"
tree=$(kernel_tree "$flavour")

# 2. The project modules, built against that tree in a copy of the sources.
log "modules: make -C $tree M=$UPTR_CACHE/modules-$(basename "$tree")"
mods=$(build_modules_copy "$flavour")
for ko in mm/uptr.ko mm/tests/uptr_test.ko; do
	[ -f "$mods/$ko" ] || {
		tail -n 20 "$UPTR_OUT/modules-$flavour.log" >&2
		die "$ko did not build (see $UPTR_OUT/modules-$flavour.log)"
	}
done
[ -f "$mods/drm/sgpu.ko" ] ||
	log "note: drm/sgpu.ko not built: the GPU groups will be unavailable"

# 3. The benchmark program (static, uapi headers of this tree).
log "bench: tools/vm/build-selftests.sh $flavour uptr_bench"
"$UPTR_ROOT/tools/vm/build-selftests.sh" "$flavour" uptr_bench >/dev/null ||
	die "cannot build uptr_bench"

# 4. The guest's manifest: the peers' and our modules, then the benchmark.
kernel=$tree/arch/x86/boot/bzImage
accel=$(pick_accel "$kernel")
host_cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -n 1)
host_cpu=${host_cpu:-unknown}
manifest=$UPTR_OUT/bench.list
cat > "$manifest" <<EOF
# Written by tools/run.sh: the benchmark's guest run.
module test_hmm  -         @kernel/lib/test_hmm.ko
module uptr      -         $mods/mm/uptr.ko
module uptr_test -         $mods/mm/tests/uptr_test.ko
module sgpu      optional  $mods/drm/sgpu.ko
cmd    uptr-bench timeout=0 uptr_bench --prefix --csv - --accel $accel --host-cpu ${host_cpu// /_} ${bench_args[*]}
EOF

# 5. Boot, showing the benchmark's progress lines as they come.
dir=$UPTR_OUT/vm/bench
log "booting the $flavour kernel ($accel); the default run takes about" \
    "7 minutes under TCG, --full hours"
rm -rf "$dir"
"$UPTR_ROOT/tools/vm/boot.sh" --manifest "$manifest" --flavour "$flavour" \
	--tag bench --timeout "$timeout" > "$UPTR_OUT/boot.out" 2>&1 &
bpid=$!
# boot.sh creates the log after packing the initramfs: follow it by name
# until boot.sh ends.
tail -n +1 -F --pid=$bpid "$dir/results.log" 2>/dev/null |
	grep --line-buffered -a '^\[bench' >&2 || true
wait $bpid || true

# 6. Results.
stamp=$(date +%Y%m%d-%H%M%S)
res=$results/$stamp
mkdir -p "$res"
tr -d '\r' < "$dir/results.log" > "$res/bench.log"
cp "$UPTR_OUT/boot.out" "$res/boot.txt"
sed -n 's/^@@CSV //p' "$res/bench.log" > "$res/results.csv"
{
	echo "make run ($mode), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "  machine:      $(hostname), $(nproc) cores, host cpu: $host_cpu"
	echo "  guest:        QEMU $accel, 2 vCPUs on 2 NUMA nodes, 2 GiB;" \
	     "$flavour kernel $(basename "$tree")"
	echo "  wall time:    $(( $(date +%s) - t0 )) s (builds included)"
	echo
	sed -n 's/^@@T //p' "$res/bench.log"
	if ! grep -q '^@@T uptr_bench: ' "$res/bench.log"; then
		# The guest died before the table: show what was measured.
		echo "The benchmark did not finish; the rows it measured:"
		cut -d, -f1-10 "$res/results.csv" | tr , "\t"
	fi
} > "$res/table.txt"
if command -v gnuplot >/dev/null && [ -s "$res/results.csv" ]; then
	"$UPTR_ROOT/tools/bench/plot.sh" "$res/results.csv" "$res/plot.png" \
		"$mode run, $accel, $(date -u +%Y-%m-%d)" > "$res/plot.log" 2>&1 ||
		log "warning: plot failed (see $res/plot.log)"
fi
[ -s "$res/results.csv" ] &&
	"$UPTR_ROOT/tools/bench/summary.sh" "$res/results.csv" > "$res/summary.md"
ln -sfn "$stamp" "$results/latest"

cat "$res/table.txt"
echo
grep -E '^(FAIL|SKIP) ' "$UPTR_OUT/boot.out" || true
log "results in ${res#"$UPTR_ROOT"/}/ (table.txt summary.md results.csv plot.png bench.log)"
log "whole run $(( $(date +%s) - t0 ))s"
if ! grep -q '^PASS uptr-bench$' "$UPTR_OUT/boot.out"; then
	grep -A 40 'uptr-bench' "$UPTR_OUT/boot.out" | head -n 60 >&2 || true
	die "the benchmark did not complete (see $res/boot.txt and bench.log)"
fi
# (boot.sh's own status is not used: its summary line says it all.)
log "guest: $(grep '^vm: ' "$UPTR_OUT/boot.out" || echo 'no summary')"
exit 0
