#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest's selftest binaries, statically, outside the kernel source:
# the kernel's own tools/testing/selftests/mm programs listed in
# tools/vm/selftests.mk and every selftests/*.c of the project.
#
#   tools/vm/build-selftests.sh [debug|release] [PROG...]
#
# PROG...: build only these programs (e.g. uptr_bench), not all of them.
#
# The uapi headers come from the flavour's build tree (headers_install into
# the cache, never into the source).  Binaries go to out/selftests/.
# The kernel tree must be built (tools/kernel.sh) and no build of it may be
# running: headers_install works inside that tree.
set -euo pipefail
log_tag=selftests
. "$(dirname "$0")/lib.sh"

flavour=${1:-debug}
[ $# -gt 0 ] && shift
tree=$(kernel_tree "$flavour")
[ -f "$tree/.config" ] || die "kernel tree $tree not configured: run tools/kernel.sh $flavour"
hdr=$UPTR_CACHE/headers-$(basename "$tree")
out=$UPTR_OUT/selftests
mkdir -p "$out"
exec 8>"$out.lock"
flock 8

if [ ! -f "$hdr/.stamp" ] || [ "$tree/.config" -nt "$hdr/.stamp" ] ||
   [ "$UPTR_SRC/.uptr-extracted" -nt "$hdr/.stamp" ]; then
	log "installing uapi headers of $tree into $hdr"
	rm -rf "$hdr"
	flock "$tree.lock" make -s -C "$UPTR_SRC" O="$tree" ARCH=x86_64 headers_install \
		INSTALL_HDR_PATH="$hdr" >&2 || die "headers_install failed"
	date +%s > "$hdr/.stamp"
fi

targets=(all)
[ $# = 0 ] || targets=("${@/#/$out/}")
make -s -f "$UPTR_ROOT/tools/vm/selftests.mk" -j"$(nproc)" \
	SRC="$UPTR_SRC" HDR="$hdr" OUT="$out" PROJ="$UPTR_ROOT" "${targets[@]}" >&2 ||
	die "selftest build failed"
echo "$out"
