#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Resolve a test manifest (format: top of selftests/tests.list) for the
# guest and pack the initramfs: busybox, tools/vm/init, the modules and
# programs the selected entries need, and the resolved manifest.
#
#   tools/vm/mkinitramfs.sh --manifest FILE --tree KERNEL_TREE --dir DIR
#                           [--filter PATTERN] [--modules DIR]
#   tools/vm/mkinitramfs.sh --manifest FILE --count [--filter PATTERN]
#
# --count only prints how many test entries the filter selects.
# --modules: where a relative KO path of the manifest is found, default the
# repo root (the modules of the debug build); a copy of the sources built
# for another flavour (build_modules_copy in tools/vm/lib.sh).
#
# Writes into DIR:
#   initramfs.cpio   uncompressed newc archive (cheap, rebuilt every run)
#   manifest         the resolved manifest that the guest's /init runs
#   host-results     results known without booting (missing .ko files ...)
#   case-filters     "NAME GLOB": report only NAME:CASE results whose CASE
#                    matches GLOB (filters the guest cannot apply itself)
#   selected         number of selected test entries (not counting modules)
#
# Filter PATTERN (make check T=PATTERN), split at its first ':' into
# ENTRY[:CASE].  ENTRY selects manifest entries by NAME ("kunit" selects
# every kunit entry), as a shell glob, or as a substring when it has no
# glob characters.  CASE, when given, narrows the cases of an entry: for
# harness entries an exact name is passed to the program as "-r CASE", for
# kunit entries CASE is KUnit's filter_glob ("suite.case", globs allowed),
# otherwise it is a glob over the reported case names.  module lines are
# always loaded: they are what the tests run against.
set -euo pipefail
log_tag=initramfs
. "$(dirname "$0")/lib.sh"

manifest='' tree='' dir='' filter='' count=0 modules=$UPTR_ROOT
while [ $# -gt 0 ]; do
	case $1 in
	--count) count=1; shift ;;
	--manifest) manifest=$2; shift 2 ;;
	--tree) tree=$2; shift 2 ;;
	--dir) dir=$2; shift 2 ;;
	--filter) filter=$2; shift 2 ;;
	--modules) modules=$2; shift 2 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
[ -r "$manifest" ] || die "manifest '$manifest' not readable"
if [ $count = 1 ]; then
	dir=$(mktemp -d)
	trap 'rm -rf "$dir"' EXIT
	tree=$dir
fi
[ -d "$tree" ] || die "kernel tree '$tree' missing"
[ -n "$dir" ] || die "--dir missing"
mkdir -p "$dir"

# gen_init_cpio from the kernel source, built for the host, once.
gen=$UPTR_CACHE/gen_init_cpio
if [ $count = 0 ] && { [ ! -x "$gen" ] || [ "$UPTR_SRC/usr/gen_init_cpio.c" -nt "$gen" ]; }; then
	mkdir -p "$UPTR_CACHE"
	gcc -O2 -o "$gen" "$UPTR_SRC/usr/gen_init_cpio.c" ||
		die "cannot build gen_init_cpio"
fi

has_glob() { case $1 in *[][*?]*) return 0 ;; esac; return 1; }

entry_pat='' case_pat='' has_case=0
if [ -n "$filter" ]; then
	entry_pat=${filter%%:*}
	if [ "$entry_pat" != "$filter" ]; then
		case_pat=${filter#*:}
		has_case=1
	fi
	[ -z "$entry_pat" ] && entry_pat='*'
	has_glob "$entry_pat" || entry_pat="*$entry_pat*"
fi

# A harness glob also narrows what the program runs, not only what is
# reported: the host runs the (static) program with -l, which lists its
# fixtures, variants and tests without running them, and every case that
# matches becomes a -r FIXTURE.VARIANT.TEST (kselftest_harness ORs them).
# shellcheck disable=SC2053 # globbing is the point
harness_narrow() {	# HOST_PROGRAM
	local c
	local -a hits=()
	[ -x "$1" ] || return 0
	while read -r c; do
		[[ $c == $case_pat ]] && hits+=(-r "$c")
	done < <("$1" -l 2>&1 >/dev/null | awk '
		/^---/ { body = 1; next }
		!body { next }
		{
			f = substr($0, 1, 21); v = substr($0, 22, 26); t = substr($0, 48)
			gsub(/ /, "", f); gsub(/ /, "", v); gsub(/ /, "", t)
			if (f != "") { nf++; fx[nf] = f; nv[nf] = 0; nt[nf] = 0 }
			if (v != "") var[nf, ++nv[nf]] = v
			if (t != "") tst[nf, ++nt[nf]] = t
		}
		END {
			for (i = 1; i <= nf; i++)
				for (k = 1; k <= nt[i]; k++) {
					if (!nv[i]) { print fx[i] "." tst[i, k]; continue }
					for (j = 1; j <= nv[i]; j++)
						print fx[i] "." var[i, j] "." tst[i, k]
				}
		}')
	args+=("${hits[@]}")
}

# shellcheck disable=SC2053 # globbing is the point
entry_selected() {	# TYPE NAME
	[ -z "$filter" ] && return 0
	case $1 in
	kunit) [[ kunit == $entry_pat || $2 == $entry_pat ]] ;;
	cmd) [ $has_case = 0 ] && [[ $2 == $entry_pat ]] ;;
	*) [[ $2 == $entry_pat ]] ;;
	esac
}

list=$dir/cpio.list
guest=$dir/manifest
: > "$dir/host-results"
: > "$dir/case-filters"
: > "$guest"
cat > "$list" <<EOF
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
dir /proc 0755 0 0
dir /sys 0755 0 0
dir /tmp 01777 0 0
dir /bin 0755 0 0
dir /sbin 0755 0 0
dir /tests 0755 0 0
dir /modules 0755 0 0
file /init $UPTR_ROOT/tools/vm/init 0755 0 0
file /bin/busybox /bin/busybox 0755 0 0
file /manifest $guest 0644 0 0
EOF
applets=$(/bin/busybox --list)
for a in $applets; do
	[ "$a" = busybox ] || echo "slink /bin/$a busybox 0777 0 0" >> "$list"
done

declare -A packed=() names=()
pack() {		# GUEST_PATH HOST_PATH MODE
	[ -n "${packed[$1]:-}" ] && return 0
	packed[$1]=1
	echo "file $1 $2 $3 0 0" >> "$list"
}

default_timeout=300
selected=0 kunit_glob_set=0 lineno=0
while IFS= read -r line || [ -n "$line" ]; do
	lineno=$((lineno + 1))
	line=${line%%#*}
	read -r -a f <<< "$line" || true
	[ ${#f[@]} = 0 ] && continue
	where="$manifest:$lineno"
	if [ "${f[0]}" = default ]; then
		case ${f[1]:-} in
		timeout=[0-9]*) default_timeout=${f[1]#timeout=} ;;
		*) die "$where: expected 'default timeout=SECONDS'" ;;
		esac
		continue
	fi
	[ ${#f[@]} -ge 4 ] || die "$where: expected TYPE NAME OPTIONS COMMAND..."
	type=${f[0]} name=${f[1]} opts=${f[2]}
	args=("${f[@]:3}")
	case $name in
	*[!A-Za-z0-9_.+-]*) die "$where: bad NAME '$name' (letters, digits, _ . + -)" ;;
	esac
	[ -z "${names[$name]:-}" ] || die "$where: NAME '$name' already used at line ${names[$name]}"
	names[$name]=$lineno
	optional=0 keep=0 timeout=$default_timeout
	if [ "$opts" != - ]; then
		IFS=, read -r -a o <<< "$opts"
		for opt in "${o[@]}"; do
			case $opt in
			optional) optional=1 ;;
			keep) keep=1 ;;
			timeout=[0-9]*) timeout=${opt#timeout=} ;;
			*) die "$where: unknown option '$opt'" ;;
			esac
		done
	fi
	case $type in
	module|kunit)
		if [ "$type" = kunit ]; then
			entry_selected kunit "$name" || continue
			selected=$((selected + 1))
			if [ $has_case = 1 ] && [ $kunit_glob_set = 0 ]; then
				echo "opt kunit_glob $case_pat" >> "$guest"
				kunit_glob_set=1
			fi
		fi
		ko=${args[0]}
		case $ko in
		@kernel/*) ko=$tree/${ko#@kernel/} ;;
		/*) ;;
		*) ko=$modules/$ko ;;
		esac
		if [ ! -f "$ko" ]; then
			if [ $optional = 1 ]; then
				echo "SKIP insmod:$name (${args[0]} not built)" >> "$dir/host-results"
			else
				echo "FAIL insmod:$name (${args[0]} not found)" >> "$dir/host-results"
			fi
			continue
		fi
		pack "/modules/$(basename "$ko")" "$ko" 0644
		echo "$type $name $keep /modules/$(basename "$ko") ${args[*]:1}" >> "$guest"
		;;
	harness|ksft|cmd)
		entry_selected "$type" "$name" || continue
		selected=$((selected + 1))
		prog=${args[0]}
		if [ -x "$UPTR_OUT/selftests/$prog" ] && [ "${prog#*/}" = "$prog" ]; then
			pack "/tests/$prog" "$UPTR_OUT/selftests/$prog" 0755
		elif [ "${prog#*/}" != "$prog" ]; then
			[ -f "$UPTR_ROOT/$prog" ] || {
				echo "FAIL $name ($prog not found)" >> "$dir/host-results"
				continue
			}
			pack "/tests/$(basename "$prog")" "$UPTR_ROOT/$prog" 0755
			args[0]=$(basename "$prog")
		elif ! grep -qx -- "$prog" <<< "$applets"; then
			echo "FAIL $name ($prog: not built in out/selftests, not a busybox applet)" \
				>> "$dir/host-results"
			continue
		fi
		if [ $has_case = 1 ]; then
			if [ "$type" = harness ] && ! has_glob "$case_pat"; then
				args+=(-r "$case_pat")
			else
				[ "$type" = harness ] &&
					harness_narrow "$UPTR_OUT/selftests/$prog"
				echo "$name $case_pat" >> "$dir/case-filters"
			fi
		fi
		echo "$type $name $timeout ${args[*]}" >> "$guest"
		;;
	*)
		die "$where: unknown TYPE '$type' (module kunit harness ksft cmd)" ;;
	esac
done < "$manifest"

if [ $count = 1 ]; then
	echo "$selected"
	exit 0
fi
echo "$selected" > "$dir/selected"
"$gen" "$list" > "$dir/initramfs.cpio" || die "gen_init_cpio failed"
