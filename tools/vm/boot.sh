#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the test kernel under QEMU with a manifest, stream one line per test
# as results arrive, then scan the kernel log.
#
#   tools/vm/boot.sh [--manifest FILE] [--filter PATTERN] [--timeout SECONDS]
#                    [--flavour debug|release] [--cpus N] [--modules DIR]
#                    [--tag NAME] [--append ARGS] [--gcov]
#
#   --manifest  test manifest, default selftests/tests.list
#   --filter    select tests (see tools/vm/mkinitramfs.sh), default all
#   --timeout   run limit in seconds once the guest's userspace is up,
#               default $UPTR_VM_TIMEOUT or 4200; the boot has its own
#               limit, $UPTR_BOOT_TIMEOUT or 600 s (TCG on a loaded host
#               is slow).  Past either, the guest is killed and reported
#               with its console tail.
#   --flavour   kernel flavour (tools/kernel.sh), default debug
#   --cpus      vCPUs, default 2: CPU 0 on NUMA node 0, the others on node 1
#   --modules   where the manifest's relative .ko paths are, default the repo
#               (see tools/vm/mkinitramfs.sh)
#   --tag       run directory out/vm/NAME (logs, initramfs), default check
#   --append    extra kernel command line
#   --quick     scan for leaks only after the modules are unloaded, not also
#               after the tests (implied by --filter)
#   --gcov      at the end the guest sends the gcov data of the profiled
#               modules (/sys/kernel/debug/gcov, kept after rmmod) as a
#               base64 tar.gz on a third serial port: out/vm/NAME/gcov.txt
#               (make coverage, tools/coverage.sh)
#
# UPTR_LEAK_SCAN=full|quick|off overrides the kmemleak scans: full (two
# scans after the tests, two after the unload; the default), quick (as
# --quick) or off (no scan: a faster edit-test loop that cannot see leaks).
#
# The kernel, modules and out/selftests must have been built already
# (tools/check.sh does it).  Output: PASS/FAIL/SKIP/XFAIL lines, the output
# of failed tests indented with "|", and last "vm: N passed, N failed[, N
# skipped]".  Exit 1 if anything failed, 2 on a usage or setup error.
# UPTR_ACCEL=tcg|kvm forces the accelerator.
set -euo pipefail
log_tag=vm
. "$(dirname "$0")/lib.sh"
die() { printf '[vm] error: %s\n' "$*" >&2; exit 2; }

manifest=$UPTR_ROOT/selftests/tests.list
filter='' timeout=${UPTR_VM_TIMEOUT:-4200} flavour=debug tag=check append=''
boot_timeout=${UPTR_BOOT_TIMEOUT:-600} quick=0 cpus=2 modules=$UPTR_ROOT gcov=0
while [ $# -gt 0 ]; do
	case $1 in
	--manifest) manifest=$2; shift 2 ;;
	--filter) filter=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--flavour) flavour=$2; shift 2 ;;
	--cpus) cpus=$2; shift 2 ;;
	--modules) modules=$2; shift 2 ;;
	--tag) tag=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--quick) quick=1; shift ;;
	--gcov) gcov=1; shift ;;
	*) die "unknown argument '$1' (see the top of $0)" ;;
	esac
done
case $timeout$boot_timeout in ''|*[!0-9]*) die "timeouts are seconds, got '$timeout' '$boot_timeout'" ;; esac
case $cpus in ''|*[!0-9]*|0|1) die "--cpus: 2 or more, got '$cpus'" ;; esac

tree=$(kernel_tree "$flavour")
kernel=$tree/arch/x86/boot/bzImage
[ -f "$kernel" ] || die "no kernel image $kernel: run tools/kernel.sh $flavour"
dir=$UPTR_OUT/vm/$tag
mkdir -p "$UPTR_OUT/vm"
# One run per tag at a time (its directory is wiped and rebuilt).
exec 8>"$dir.lock"
if ! flock -n 8; then
	log "waiting for the other run with tag $tag to end"
	flock 8
fi
rm -rf "$dir"
mkdir -p "$dir"
# Shared lock: tools/kernel.sh holds it exclusively while it rebuilds.
flock -s "$tree.lock" "$UPTR_ROOT/tools/vm/mkinitramfs.sh" --manifest "$manifest" \
	--tree "$tree" --dir "$dir" --filter "$filter" --modules "$modules"
if [ "$(cat "$dir/selected")" = 0 ]; then
	log "no test of $manifest matches '$filter': not booting"
	exit 0
fi
load_xfail

npass=0 nfail=0 nskip=0
declare -A case_filter=()
while read -r n g; do case_filter[$n]=$g; done < "$dir/case-filters"
dropping=0
report() {		# one line from parse.awk or the host
	local name entry case
	case $line in
	"PASS "* | "FAIL "* | "SKIP "* | "XFAIL "*) ;;
	"    |"*) [ $dropping = 1 ] || echo "$line"; return ;;
	*) echo "$line"; return ;;
	esac
	name=${line#* }
	name=${name%% *}
	entry=${name%%:*}
	case=${name#*:}
	dropping=0
	# shellcheck disable=SC2053 # glob match intended
	if [ "$case" != "$name" ] && [ -n "${case_filter[$entry]:-}" ] &&
	   [[ $case != ${case_filter[$entry]} ]]; then
		dropping=1
		return
	fi
	line=$(xfail_apply "$line")
	case $line in
	PASS* | XFAIL*) npass=$((npass + 1)) ;;
	FAIL*) nfail=$((nfail + 1)) ;;
	SKIP*) nskip=$((nskip + 1)) ;;
	esac
	echo "$line" | tee -a "$dir/results.txt"
}

while IFS= read -r line; do report; done < "$dir/host-results"

accel=$(pick_accel "$kernel")
case $accel in
kvm) accel_args=(-accel kvm) ;;
*) accel=tcg; accel_args=(-accel tcg,thread=multi) ;;
esac
echo "$accel" > "$dir/accel"
cmdline="console=ttyS0 panic=-1 rdinit=/init hugepages=32 movablecore=256M"
cmdline+=" transparent_hugepage=madvise kasan_multi_shot"
# ttyS0 the kernel log, ttyS1 the results, ttyS2 (--gcov) the gcov data.
serials=(-serial "file:$dir/console.log" -serial "file:$dir/results.log")
if [ $gcov = 1 ]; then
	: > "$dir/gcov.txt"
	serials+=(-serial "file:$dir/gcov.txt")
	cmdline+=" 8250.nr_uarts=3 uptr_gcov=1"
else
	cmdline+=" 8250.nr_uarts=2"
fi
cmdline+=" mitigations=off"
# TCG on a shared host may starve a vCPU for tens of seconds: detect soft
# lockups, RCU stalls and hung tasks only past 2 minutes.
cmdline+=" watchdog_thresh=60 rcupdate.rcu_cpu_stall_timeout=120"
cmdline+=" hung_task_timeout_secs=120"
# A filtered run (make check T=...) scans for leaks once the modules are
# unloaded only, not also after the tests.
leak=full
[ -z "$filter" ] && [ $quick = 0 ] || leak=quick
leak=${UPTR_LEAK_SCAN:-$leak}
case $leak in
full|quick) ;;
off) log "UPTR_LEAK_SCAN=off: no kmemleak scan, leaks go unseen" ;;
*) die "UPTR_LEAK_SCAN: full, quick or off" ;;
esac
cmdline+=" uptr_vm_leak=$leak"
cmdline+=" $append"
: > "$dir/console.log"
: > "$dir/results.log"
mem=${UPTR_VM_MEM:-2048}	# MiB, half on each NUMA node
log "booting $flavour kernel with $accel: $cpus vCPUs on 2 NUMA nodes, $mem MiB," \
    "run limit ${timeout}s, logs in ${dir#"$UPTR_ROOT"/}/"
node1_cpus=1
[ "$cpus" = 2 ] || node1_cpus=1-$((cpus - 1))
start=$(date +%s%N)
qemu-system-x86_64 "${accel_args[@]}" -m "${mem}M" \
	-smp "$cpus,sockets=$cpus,cores=1,threads=1" \
	-object memory-backend-ram,id=mem0,size=$((mem / 2))M \
	-object memory-backend-ram,id=mem1,size=$((mem - mem / 2))M \
	-numa node,nodeid=0,memdev=mem0,cpus=0 \
	-numa node,nodeid=1,memdev=mem1,cpus="$node1_cpus" \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$kernel" -initrd "$dir/initramfs.cpio" -append "$cmdline" \
	"${serials[@]}" \
	</dev/null >"$dir/qemu.log" 2>&1 &
qpid=$!
wpid=''
# Never leave a guest behind: killed, interrupted, or its reader gone.
# (|| true: under set -e a failing trap command would be the exit status.)
trap 'kill $qpid $wpid 2>/dev/null || true' EXIT
trap 'exit 129' HUP INT TERM PIPE

# Watchdog: the boot and run limits, and a guest that finished but did not
# power off.
(
	deadline=$(( $(date +%s) + boot_timeout ))
	what="no userspace after ${boot_timeout}s"
	booted=0
	while kill -0 $qpid 2>/dev/null; do
		if [ $booted = 0 ] && [ -f "$dir/booted" ]; then
			booted=1
			deadline=$(( $(cat "$dir/booted") + timeout ))
			what="no end ${timeout}s after boot"
		fi
		if [ "$(date +%s)" -ge $deadline ]; then
			echo "$what: guest killed" > "$dir/killed"
			kill $qpid 2>/dev/null
			sleep 5
			kill -9 $qpid 2>/dev/null
			break
		fi
		if [ -f "$dir/done" ] && [ $(( $(date +%s) - $(cat "$dir/done") )) -ge 20 ]; then
			echo "finished but did not power off" > "$dir/killed"
			kill $qpid 2>/dev/null
			break
		fi
		sleep 1
	done
) &
wpid=$!

ms_since_start() { echo $(( ($(date +%s%N) - start) / 1000000 )); }
secs() { printf '%d.%d' $(( $1 / 1000 )) $(( $1 % 1000 / 100 )); }
kunit_glob=0
grep -q '^opt kunit_glob' "$dir/manifest" && kunit_glob=1
# mawk reads a pipe in blocks unless told to be interactive.
stream_awk=(awk)
awk -W version 2>&1 | grep -q mawk && stream_awk=(awk -W interactive)
boot_ms='' first_ms='' guest_boot='' incomplete=0
while IFS= read -r line; do
	case $line in
	"@boot "*)
		# Whole or absent: the watchdog must never read an empty file.
		date +%s > "$dir/booted.tmp" && mv "$dir/booted.tmp" "$dir/booted"
		boot_ms=$(ms_since_start)
		guest_boot=${line#@boot }
		log "guest userspace up after $(secs "$boot_ms")s (kernel uptime ${guest_boot}s)" ;;
	"@run "*)
		[ -n "$first_ms" ] || first_ms=$(ms_since_start)
		log "running ${line#@run }" ;;
	"@took "*)
		read -r _ secs ttype tname <<< "$line"
		log "$ttype $tname took ${secs}s" ;;
	"@done "*) date +%s > "$dir/done.tmp" && mv "$dir/done.tmp" "$dir/done" ;;
	"@incomplete") incomplete=1 ;;
	*) report ;;
	esac
done < <(tail -n +1 -s 0.2 -F --pid=$qpid "$dir/results.log" 2>/dev/null |
	 "${stream_awk[@]}" -v kunit_glob=$kunit_glob -f "$UPTR_ROOT/tools/vm/parse.awk")
wait $qpid || true
kill $wpid 2>/dev/null || true
wait $wpid 2>/dev/null || true
total_ms=$(ms_since_start)

tr -d '\r' < "$dir/console.log" > "$dir/console.txt"
if [ -f "$dir/killed" ] && [ "$(cat "$dir/killed")" = "finished but did not power off" ]; then
	log "note: the guest finished but did not power off (killed)"
	rm -f "$dir/killed"
fi
if [ -f "$dir/killed" ] || [ $incomplete = 1 ]; then
	why=$(cat "$dir/killed" 2>/dev/null || echo "guest stopped before the end (panic or reboot?)")
	line="FAIL vm:run ($why)"
	report
	echo "    last 40 lines of the guest console (${dir#"$UPTR_ROOT"/}/console.txt):"
	tail -n 40 "$dir/console.txt" | sed 's/^/    | /'
	if grep -q . "$dir/qemu.log"; then
		echo "    qemu said:"
		sed 's/^/    | /' "$dir/qemu.log"
	fi
else
	line="PASS vm:run"
	report
fi

awk -v known="$UPTR_ROOT/tools/vm/kcsan-known.list" \
	-f "$UPTR_ROOT/tools/vm/scan-log.awk" "$dir/console.txt" > "$dir/kernel-log.txt"
reports=$(sed -n 's/^@reports //p' "$dir/kernel-log.txt")
if [ "$reports" = 0 ]; then
	line="PASS kernel-log"
	report
else
	line="FAIL kernel-log ($reports report lines in ${dir#"$UPTR_ROOT"/}/console.txt)"
	report
	grep -v '^@reports' "$dir/kernel-log.txt"
fi

log "accelerator: $accel; userspace after $(secs "${boot_ms:-0}")s," \
    "first test after $(secs "${first_ms:-0}")s, whole run $(secs "$total_ms")s"
summary="vm: $npass passed, $nfail failed"
[ $nskip = 0 ] || summary+=", $nskip skipped"
echo "$summary"
[ $nfail = 0 ]
