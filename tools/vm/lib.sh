# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers of the test bench scripts (sourced, not run).

: "${UPTR_ROOT:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${UPTR_CACHE:=$HOME/.cache/uptr}"
: "${UPTR_OUT:=$UPTR_ROOT/out}"
export UPTR_ROOT UPTR_CACHE UPTR_OUT
UPTR_SRC=$UPTR_CACHE/linux-source-6.12

log() { printf '[%s] %s\n' "${log_tag:-vm}" "$*" >&2; }
die() { printf '[%s] error: %s\n' "${log_tag:-vm}" "$*" >&2; exit 1; }

# Debian packages the test bench needs, as "command:package" (a command
# that is already on PATH needs no package) or "/path:package".
uptr_host_deps=(
	gcc:gcc make:make bc:bc flex:flex bison:bison perl:perl
	rsync:rsync xz:xz-utils sparse:sparse lcov:lcov
	qemu-system-x86_64:qemu-system-x86
	/bin/busybox:busybox-static
	/usr/include/libelf.h:libelf-dev
	/usr/include/openssl/ssl.h:libssl-dev
	/usr/lib/x86_64-linux-gnu/libc.a:libc6-dev
	/usr/lib/x86_64-linux-gnu/libnuma.a:libnuma-dev
	/usr/lib/x86_64-linux-gnu/libhugetlbfs.a:libhugetlbfs-dev
)

# Install whatever of uptr_host_deps is missing (as root, with apt-get);
# otherwise say what to install.
ensure_host_deps() {
	local dep what pkg missing=()
	for dep in "${uptr_host_deps[@]}"; do
		what=${dep%%:*}
		pkg=${dep#*:}
		case $what in
		/*) [ -e "$what" ] && continue ;;
		*) command -v "$what" >/dev/null 2>&1 && continue ;;
		esac
		missing+=("$pkg")
	done
	[ ${#missing[@]} = 0 ] && return 0
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		log "installing Debian packages: ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" \
			>"$UPTR_OUT/apt.log" 2>&1 ||
		{ apt-get update -q >>"$UPTR_OUT/apt.log" 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" \
			>>"$UPTR_OUT/apt.log" 2>&1; } ||
		{ tail -20 "$UPTR_OUT/apt.log" >&2
		  die "cannot install: ${missing[*]} (log: $UPTR_OUT/apt.log)"; }
	else
		die "missing packages, run: apt-get install ${missing[*]}"
	fi
}

# Build tree of a kernel flavour (without building it).
kernel_tree() {
	"$UPTR_ROOT/tools/kernel.sh" "${1:-debug}" --print-dir
}

# Mirror the module sources of the repo (no build products, no out/, .git,
# tools/, docs/, results/, gcov files) into DIR, for a build outside the tree.
# (Excluded files are also kept in DIR: make coverage's .gcno files stay
# with the objects they belong to.)  Every clone and worktree of the repo
# shares DIR, so a file is compared by content and, when it differs, written
# with the time of the copy, not its own: a source older than the objects
# another tree built there must still make kbuild rebuild them.
copy_module_sources() {	# DIR
	mkdir -p "$1"
	rsync -rlpD --checksum --delete --exclude=/out/ --exclude=/.git/ \
		--exclude=/tools/ \
		--exclude=/docs/ --exclude=/results/ --exclude='*.o' --exclude='*.ko' \
		--exclude='*.cmd' --exclude='*.mod' --exclude='*.mod.c' \
		--exclude='*.a' --exclude='*.order' --exclude=Module.symvers \
		--exclude='*.gcno' --exclude='*.gcda' \
		--exclude='.tmp_*' "$UPTR_ROOT/" "$1/"
}

# Build the project's modules against the kernel tree of another flavour
# (release), in a copy of the sources under the cache, so that the in-tree
# objects of make check (debug) stay as they are.  Prints the copy's
# directory; the build log is $UPTR_OUT/modules-FLAVOUR.log.
build_modules_copy() {	# FLAVOUR
	local tree mods
	tree=$(kernel_tree "$1")
	mods=$UPTR_CACHE/modules-$(basename "$tree")
	mkdir -p "$UPTR_OUT" "$UPTR_CACHE"
	# One copy and build at a time (make check and make run share it).
	if ! (
		flock 9
		copy_module_sources "$mods"
		flock -s "$tree.lock" nice -n 10 make -k -C "$tree" M="$mods" \
			modules
	) 9>"$mods.lock" > "$UPTR_OUT/modules-$1.log" 2>&1; then
		log "warning: not every $1 module built (see $UPTR_OUT/modules-$1.log)"
	fi
	echo "$mods"
}

# Accelerator for QEMU: KVM only when /dev/kvm exists and a short probe boot
# of this kernel shows that it prints (KVM hangs before the first line on
# some hosts); the probe result is cached per kernel image.  TCG otherwise.
pick_accel() {
	local kernel=$1 probe_dir key
	if [ -n "${UPTR_ACCEL:-}" ]; then
		echo "$UPTR_ACCEL"
		return
	fi
	if [ ! -w /dev/kvm ]; then
		echo tcg
		return
	fi
	key=$(stat -c '%s-%Y' "$kernel")
	probe_dir=$UPTR_CACHE/kvm-probe
	mkdir -p "$probe_dir"
	if [ ! -f "$probe_dir/$key" ]; then
		log "probing KVM (20 s at most)"
		rm -f "$probe_dir/console"
		timeout 20 qemu-system-x86_64 -accel kvm -m 512M -smp 1 \
			-nodefaults -no-user-config -display none -no-reboot \
			-kernel "$kernel" -append "console=ttyS0 panic=-1" \
			-serial "file:$probe_dir/console" >/dev/null 2>&1 || true
		if grep -q 'Linux version' "$probe_dir/console" 2>/dev/null; then
			echo kvm > "$probe_dir/$key"
		else
			echo tcg > "$probe_dir/$key"
		fi
	fi
	cat "$probe_dir/$key"
}

# Expected failures (tools/vm/xfail.list, format in docs/known-failures.md):
# "PATTERN DOCREF REASON...".  A FAIL whose name matches PATTERN becomes
# "XFAIL NAME (REASON; DOCREF)" and counts as passed.
xfail_pat=() xfail_why=()
load_xfail() {
	local file=${1:-$UPTR_ROOT/tools/vm/xfail.list} pat ref why n=0
	xfail_pat=() xfail_why=()
	[ -f "$file" ] || return 0
	while read -r pat ref why; do
		n=$((n + 1))
		case $pat in '' | '#'*) continue ;; esac
		case $ref in
		docs/*) ;;
		*) die "$file:$n: expected PATTERN DOCREF REASON (DOCREF: docs/...)" ;;
		esac
		[ -n "$why" ] || die "$file:$n: reason missing"
		xfail_pat+=("$pat")
		xfail_why+=("$why; $ref")
	done < "$file"
}

# Rewrite one result line ("STATUS NAME [(why)]") through the xfail list.
xfail_apply() {
	local line=$1 name i
	case $line in
	"FAIL "*)
		name=${line#FAIL }
		name=${name%% *}
		for i in "${!xfail_pat[@]}"; do
			# shellcheck disable=SC2053 # glob match intended
			if [[ $name == ${xfail_pat[$i]} ]]; then
				echo "XFAIL $name (${xfail_why[$i]})"
				return
			fi
		done ;;
	esac
	echo "$line"
}
