#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make run: boot the test guest with the project's modules and run the demo
# benchmark, gup_test's PIN_FAST and PIN_LONGTERM (pin_user_pages_fast() and
# pin_user_pages(FOLL_LONGTERM) through /sys/kernel/debug/gup_test), on 4K
# (MADV_NOHUGEPAGE) and THP (MADV_HUGEPAGE) anonymous memory of a few sizes.
# Prints the cost per 4K page.  To be replaced by the real benchmark.
#
#   tools/run.sh [--flavour release|debug] [--sizes "MIB..."] [--repeats N]
#
# FLAVOUR (environment, or make run FLAVOUR=...) picks the kernel: release
# (default: no KASAN/lockdep, the only one whose numbers mean anything) or
# debug.  For release the project's modules are built in a copy of the tree
# under out/modules-release, so that the debug build in the tree is left
# alone.  Under TCG (no KVM here) all numbers are emulation numbers:
# compare them with each other, not with hardware.
set -euo pipefail
log_tag=run
. "$(dirname "$0")/vm/lib.sh"

flavour=${FLAVOUR:-release} sizes="8 32 128" repeats=3
while [ $# -gt 0 ]; do
	case $1 in
	--flavour) flavour=$2; shift 2 ;;
	--sizes) sizes=$2; shift 2 ;;
	--repeats) repeats=$2; shift 2 ;;
	*) die "unknown argument '$1' (tools/run.sh [--flavour F] [--sizes \"MIB...\"] [--repeats N])" ;;
	esac
done
case $flavour in debug|release) ;; *) die "flavour: debug or release" ;; esac
cd "$UPTR_ROOT"
mkdir -p "$UPTR_OUT"
ensure_host_deps

log "kernel: tools/kernel.sh $flavour"
tools/kernel.sh "$flavour" >&2
tree=$(kernel_tree "$flavour")

# The project's modules, built against that kernel.
mods=$UPTR_ROOT
if [ -n "$(find mm drm -name '*.c' 2>/dev/null | head -1)" ]; then
	if [ "$flavour" != debug ]; then
		mods=$UPTR_OUT/modules-$flavour
		mkdir -p "$mods"
		rsync -a --delete --exclude=/out/ --exclude=/.git/ --exclude=/tools/ \
			--exclude=/docs/ --exclude='*.o' --exclude='*.ko' \
			--exclude='*.cmd' --exclude='*.mod' --exclude='*.mod.c' \
			--exclude='*.a' --exclude='*.order' --exclude=Module.symvers \
			./ "$mods/"
	fi
	log "modules: make -C $tree M=${mods#"$UPTR_ROOT"/} modules"
	make -C "$tree" M="$mods" W=1 modules > "$UPTR_OUT/run-modules.log" 2>&1 ||
		{ tail -20 "$UPTR_OUT/run-modules.log" >&2; die "module build failed"; }
fi
tools/vm/build-selftests.sh "$flavour" >/dev/null

# The manifest: every project module that was built (optional), then the
# benchmark runs.
m=$UPTR_OUT/run.list
: > "$m"
while IFS= read -r ko; do
	n=$(basename "$ko" .ko)
	case $n in *kunit*) continue ;; esac	# tests, not part of the demo
	echo "module $n optional $ko" >> "$m"
done < <(cd "$mods" && find mm drm -name '*.ko' 2>/dev/null | sort)
for size in $sizes; do
	for mem in 4K:-T THP:-t; do
		for bench in PIN_FAST:-a PIN_LONGTERM:-L; do
			echo "cmd ${bench%%:*}-${mem%%:*}-${size}M timeout=900 gup_test" \
			     "-m $size -r $repeats -n 512 ${bench#*:} ${mem#*:}" >> "$m"
		done
	done
done

# Module paths in the manifest are relative to the repo root.
if [ "$mods" != "$UPTR_ROOT" ]; then
	sed -i "s|^module \\([^ ]*\\) optional |module \\1 optional ${mods#"$UPTR_ROOT"/}/|" "$m"
fi

log "booting the $flavour kernel for the benchmark"
rc=0
tools/vm/boot.sh --manifest "$m" --flavour "$flavour" --tag run \
	--timeout "${UPTR_VM_TIMEOUT:-3600}" || rc=$?
dir=$UPTR_OUT/vm/run

echo
echo "gup_test on the $flavour kernel, accelerator: $(cat "$dir/accel")," \
     "best of $repeats, 512 pages per call"
tr -d '\r' < "$dir/results.log" | awk -v repeats="$repeats" '
/^@@UPTR begin cmd / {
	split($4, w, "-")
	bench = w[1]; mem = w[2]; size = w[3]; sub(/M$/, "", size)
	best_get = -1; best_put = -1
	next
}
/BENCHMARK: Time: get:/ {
	line = $0
	sub(/.*get:/, "", line); get = line + 0
	sub(/.*put:/, "", line); put = line + 0
	if (best_get < 0 || get < best_get) best_get = get
	if (best_put < 0 || put < best_put) best_put = put
	next
}
/^@@UPTR end cmd / {
	if (!header++)
		printf "%-13s %-4s %7s %12s %12s %14s %14s\n", "benchmark", "mem",
			"MiB", "get us", "put us", "get ns/page", "put ns/page"
	pages = size * 256
	if (best_get < 0)
		printf "%-13s %-4s %7s %12s   (failed, exit %s)\n", bench, mem, size, "-", $5
	else
		printf "%-13s %-4s %7d %12d %12d %14.1f %14.1f\n", bench, mem, size,
			best_get, best_put, best_get * 1000 / pages, best_put * 1000 / pages
}'
exit $rc
