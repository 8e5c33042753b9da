#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (or incrementally update) the project's test kernel.
#
#   tools/kernel.sh [debug|release|nodevpriv] [--print-dir]
#
# The kernel source comes from Debian's linux-source-6.12 package and is
# extracted, read-only, into $UPTR_CACHE (default ~/.cache/uptr).  Each
# flavour has its own O= build tree, keyed by kernel version and flavour.
# A stamp records which config fragments were applied; when a fragment
# changes, the tree is re-configured (tinyconfig + fragments + olddefconfig)
# and rebuilt incrementally by make, never from scratch.
#
# While make builds, a progress line shows the .o files built against the
# count a complete tree of the flavour has, the elapsed time and an
# estimate of the time left: rewritten in place on a terminal, one plain
# line every $UPTR_PROGRESS_INTERVAL seconds (default 30) otherwise.  It goes
# to stderr, or to file descriptor $UPTR_PROGRESS_FD (make check, which
# logs the rest).  The count comes from the last build of the flavour on
# this machine, else from tools/kconfig/objects.
#
# Flavours:
#   debug      KASAN, lockdep, kmemleak, DEBUG_VM ... (make check)
#   release    same features without debug cost (benchmark)
#   kcsan      debug with KCSAN instead of KASAN (make check FLAVOUR=kcsan)
#   nodevpriv  DEVICE_PRIVATE=n, configured + modules_prepare only
#              (compile-only check that the modules build without it)
set -euo pipefail

flavour=${1:-debug}
here=$(cd "$(dirname "$0")" && pwd)
cache=${UPTR_CACHE:-$HOME/.cache/uptr}
pkg=linux-source-6.12
tarball=/usr/src/$pkg.tar.xz
src=$cache/$pkg
jobs=${UPTR_JOBS:-$(nproc)}

log() { printf '[kernel] %s\n' "$*" >&2; }
die() { printf '[kernel] error: %s\n' "$*" >&2; exit 1; }

case $flavour in
debug) frags=("$here/kconfig/common.config" "$here/kconfig/debug.config") ;;
release) frags=("$here/kconfig/common.config" "$here/kconfig/release.config") ;;
kcsan) frags=("$here/kconfig/common.config" "$here/kconfig/debug.config"
	      "$here/kconfig/kcsan.config") ;;
nodevpriv) frags=("$here/kconfig/common.config" "$here/kconfig/release.config"
		  "$here/kconfig/nodevpriv.config") ;;
*) die "unknown flavour '$flavour' (debug, release, kcsan, nodevpriv)" ;;
esac

ensure_source() {
	if [ ! -r "$tarball" ]; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
			log "installing Debian package $pkg"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2 ||
				{ apt-get update -q >&2 &&
				  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$pkg" >&2; } ||
				die "cannot install Debian package $pkg"
		else
			die "kernel source missing: install Debian package $pkg (apt-get install $pkg)"
		fi
	fi
	local want
	want=$(stat -c '%s %Y' "$tarball")
	if [ ! -f "$src/.uptr-extracted" ] || [ "$(cat "$src/.uptr-extracted")" != "$want" ]; then
		log "extracting $tarball into $cache"
		mkdir -p "$cache"
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		tar -xf "$tarball" -C "$src.tmp" --strip-components=1
		echo "$want" > "$src.tmp/.uptr-extracted"
		mv "$src.tmp" "$src"
	fi
}

kver() {
	awk -F' = ' '/^VERSION =/{v=$2} /^PATCHLEVEL =/{p=$2} /^SUBLEVEL =/{s=$2}
		END{print v "." p "." s}' "$src/Makefile"
}

# Check that every option a fragment asks for survived olddefconfig.  A
# later fragment overrides an earlier one, as in merge_config.sh.
verify_config() {
	local cfg=$1 bad=0 line sym val
	local -A want=()
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) want[${line%%=*}]=${line#*=} ;;
		esac
	done < <(cat "${frags[@]}")
	for sym in "${!want[@]}"; do
		val=${want[$sym]}
		if [ "$val" = n ]; then
			if grep -q "^$sym=" "$cfg"; then
				log "config: $sym wanted n, got $(grep "^$sym=" "$cfg")"
				bad=1
			fi
		elif ! grep -qxF "$sym=$val" "$cfg"; then
			log "config: $sym wanted $val, got $(grep "^$sym=\|^# $sym is" "$cfg" || echo unset)"
			bad=1
		fi
	done
	[ $bad = 0 ] || die "config fragments not applied (see above)"
}

# Build progress: .o files in the tree against the count that the last
# complete build of this flavour left (recorded in the cache, kept when the
# tree is deleted), or, on a machine that never built it, the count in
# tools/kconfig/objects (measured here).  Shown on $UPTR_PROGRESS_FD
# (default stderr): rewritten in place on a terminal every 2 s, else a
# plain line every $UPTR_PROGRESS_INTERVAL s (default 30, for CI logs).
pfd=${UPTR_PROGRESS_FD:-2}

objects_in() { { find "$1" -name '*.o' -type f 2>/dev/null || :; } | wc -l; }

fmt_dur() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

expected_objects() {
	local rec=$cache/objects-$ver-$flavour
	if [ -s "$rec" ]; then
		cat "$rec"
	else
		awk -v f="$flavour" '!/^#/ && $1 == f { print $2; exit }' \
			"$here/kconfig/objects" 2>/dev/null || :
	fi
}

# PID START EXPECTED: report until PID exits.
build_progress() {
	local pid=$1 t0=$2 want=${3:-0} tty=0 every n0 n el line last=0 rate
	[ -t "$pfd" ] && tty=1
	every=${UPTR_PROGRESS_INTERVAL:-30}
	[ $tty = 1 ] && every=2
	n0=$(objects_in "$out")
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		el=$(( $(date +%s) - t0 ))
		[ $((el - last)) -ge "$every" ] || continue
		last=$el
		n=$(objects_in "$out")
		line="[kernel] building $flavour: $n"
		if [ "$want" -gt 0 ]; then
			line+="/~$want objects ($((n * 100 / want))%)"
		else
			line+=" objects"
		fi
		line+=", $(fmt_dur "$el") elapsed"
		if [ "$want" -gt 0 ] && [ "$n" -ge "$want" ]; then
			line+=", finishing (link, modules)"
		elif [ "$want" -gt 0 ] && [ "$n" -gt "$n0" ] && [ "$el" -ge 10 ]; then
			# objects per second so far (x1000), in this build
			rate=$(( (n - n0) * 1000 / el ))
			[ "$rate" -gt 0 ] &&
				line+=", ~$(fmt_dur $(( (want - n) * 1000 / rate ))) left"
		fi
		if [ $tty = 1 ]; then
			printf '\r%s\033[K' "$line" >&"$pfd"
		else
			printf '%s\n' "$line" >&"$pfd"
		fi
	done
	[ $tty = 0 ] || printf '\r\033[K' >&"$pfd"
}

ensure_source
ver=$(kver)
out=$cache/build-$ver-$flavour
if [ "${2:-}" = --print-dir ]; then
	echo "$out"
	exit 0
fi

stamp=$(cat "${frags[@]}" | sha256sum | cut -d" " -f1)
mkdir -p "$out"
# One configure/build per tree at a time: concurrent runs (two make check,
# or make check next to make run) would corrupt it.
exec 9>"$out.lock"
if ! flock -n 9; then
	log "waiting for another build of $out"
	flock 9
fi
if [ ! -f "$out/.uptr-stamp" ] || [ "$(cat "$out/.uptr-stamp")" != "$stamp" ] ||
   [ ! -f "$out/.config" ]; then
	log "configuring $flavour kernel $ver in $out"
	make -s -C "$src" O="$out" ARCH=x86_64 tinyconfig >&2
	KCONFIG_CONFIG="$out/.config" "$src/scripts/kconfig/merge_config.sh" \
		-m -O "$out" "$out/.config" "${frags[@]}" >/dev/null
	make -s -C "$src" O="$out" ARCH=x86_64 olddefconfig >&2
	verify_config "$out/.config"
	rm -f "$out/.uptr-stamp"
fi

start=$(date +%s)
if [ "$flavour" = nodevpriv ]; then
	log "preparing $flavour tree (modules_prepare)"
	make -s -C "$src" O="$out" ARCH=x86_64 -j"$jobs" modules_prepare >&2
else
	log "building $flavour kernel $ver (-j$jobs), log: $out/build.log"
	make -C "$src" O="$out" ARCH=x86_64 -j"$jobs" bzImage modules \
		> "$out/build.log" 2>&1 &
	bpid=$!
	# Interrupted: stop the build too (a background job ignores SIGINT).
	trap 'kill "$bpid" 2>/dev/null; exit 130' INT TERM
	build_progress "$bpid" "$start" "$(expected_objects)"
	if ! wait "$bpid"; then
		tail -40 "$out/build.log" >&2
		die "kernel build failed, full log: $out/build.log"
	fi
	trap - INT TERM
	objects_in "$out" > "$cache/objects-$ver-$flavour"
fi
echo "$stamp" > "$out/.uptr-stamp"
log "$flavour kernel ready in $(( $(date +%s) - start ))s: $out"
