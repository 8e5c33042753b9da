#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's benchmark tables (markdown) from a uptr_bench CSV: the key
# rows of each group, medians only.  The full table is table.txt.
#
#   tools/bench/summary.sh RESULTS.CSV > summary.md
set -euo pipefail

csv=$1
[ -r "$csv" ] || { echo "summary.sh: cannot read $csv" >&2; exit 1; }

# Fields: group,case,backend,backing,size_bytes,metric,unit,median,p99,...
# (the note, last, may hold commas; it is not read).
awk -F, '
function key(g, c, be, bk, sz, m) { return g "|" c "|" be "|" bk "|" sz "|" m }
function get(g, c, be, bk, sz, m,   k) {
	k = key(g, c, be, bk, sz, m)
	return (k in v) ? v[k] : ""
}
function t(ns) {		# a time in ns, readable
	if (ns == "")
		return "-"
	if (ns >= 1e9) return sprintf("%.3g s", ns / 1e9)
	if (ns >= 1e6) return sprintf("%.3g ms", ns / 1e6)
	if (ns >= 1e3) return sprintf("%.3g µs", ns / 1e3)
	return sprintf("%.3g ns", ns)
}
function bw(x) { return x == "" ? "-" : sprintf("%.0f MB/s", x) }
function pct(x) { return x == "" ? "-" : sprintf("%.3g %%", x) }
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f×", a / b) }
NR == 1 { next }
$1 == "verdict" {
	nv++
	if ($0 ~ /MISS by/) miss[$2]++; else if ($0 ~ /; pass"/) pass[$2]++
	next
}
{ v[key($1, $2, $3, $4, $5, $6)] = $8; p99[key($1, $2, $3, $4, $5, $6)] = $9 }
END {
	M = 1048576
	print "Registration: populate cost per 4K page (per subpage for thp and"
	print "hugetlb), pages present, median of 10."
	print ""
	print "The kernel-clock columns (fair, beside the wall-time ones that the targets use):"
	print "uptr_test times the populate with ktime, as gup_test times its pin."
	print ""
	print "| backing | size | gup_test PIN_FAST+LONGTERM | uptr PIN | uptr FAULT | test_hmm READ | PIN/gup | FAULT/gup | test_hmm/FAULT | PIN/gup kernel clock | FAULT/gup kernel clock |"
	print "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	split("4k thp hugetlb", bks, " ")
	split("1048576 16777216 268435456", szs, " ")
	for (i = 1; i <= 3; i++) for (j = 1; j <= 3; j++) {
		bk = bks[i]; sz = szs[j]
		g = get("register", "gup_test PIN_FAST+LONGTERM", "gup", bk, sz, "pin per page")
		p = get("register", "uptr populate", "PIN", bk, sz, "per page")
		f = get("register", "uptr populate", "FAULT", bk, sz, "per page")
		h = get("register", "test_hmm READ (present)", "hmm", bk, sz, "per page")
		pk = get("register", "uptr populate (kernel clock)", "PIN", bk, sz, "per page")
		fk = get("register", "uptr populate (kernel clock)", "FAULT", bk, sz, "per page")
		if (g == "" && p == "")
			continue
		printf "| %s | %dM | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", bk, sz / M,
			t(g), t(p), t(f), t(h), ratio(p, g), ratio(f, g), ratio(h, f),
			ratio(pk, g), ratio(fk, g)
	}
	print ""
	print "Revalidation of a valid range (4k), per call: the 1st one after the"
	print "populate, the 8th in a row, and the populate it replaces:"
	print ""
	print "| size | PIN hit | PIN 8th in a row | PIN populate | FAULT again | FAULT 8th in a row | FAULT populate |"
	print "| --- | --- | --- | --- | --- | --- | --- |"
	split("4096 1048576 268435456", rs, " ")
	for (j = 1; j <= 3; j++) {
		sz = rs[j]
		a = get("revalidate", "uptr populate (valid range)", "PIN", "4k", sz, "per call")
		a8 = get("revalidate", "uptr populate (valid range) in a row", "PIN", "4k", sz, "per call")
		b = get("register", "uptr populate", "PIN", "4k", sz, "per call")
		c = get("revalidate", "uptr populate (valid range)", "FAULT", "4k", sz, "per call")
		c8 = get("revalidate", "uptr populate (valid range) in a row", "FAULT", "4k", sz, "per call")
		d = get("register", "uptr populate", "FAULT", "4k", sz, "per call")
		if (a == "")
			continue
		printf "| %s | %s | %s | %s | %s | %s | %s |\n",
			sz < M ? (sz / 1024) "K" : (sz / M) "M",
			t(a), t(a8), t(b), t(c), t(c8), t(d)
	}
	print ""
	print "GPU (sgpu), 16 MiB userptr, 4k: first access (userptr create +"
	print "VM_BIND + one copy job, completed) and steady copy throughput:"
	print ""
	print "| config | create+bind | first job done | copy job | CPU copy | after NUMA move: next job |"
	print "| --- | --- | --- | --- | --- | --- |"
	split("PIN fence-VM|FAULT fault-VM", gc, "|")
	for (i = 1; i <= 2; i++) {
		c = gc[i]
		b = get("gpu-first", "userptr create + VM_BIND", c, "4k", 16 * M, "per call")
		if (b == "")
			continue
		printf "| %s | %s | %s | %s | %s | %s |\n", c, t(b),
			t(get("gpu-first", "userptr+bind+copy job", c, "4k", 16 * M, "per call")),
			bw(get("gpu-copy", "copy job throughput", c, "4k", 16 * M, "bandwidth")),
			bw(get("gpu-copy", "cpu memcpy same buffers", c, "4k", 16 * M, "bandwidth")),
			t(get("gpu-migrate", "next copy job", c, "4k", 16 * M, "per call"))
	}
	pp = get("gpu-job", "thread ping-pong (eventfd)", "cpu", "-", 8, "per round trip")
	if (pp != "") {
		print ""
		print "GPU job round trip (EXEC, completion, WAIT), against a thread"
		print "wake-up and back (eventfd ping-pong, free and on one CPU) and"
		print "one core copying the same 64 KiB:"
		print ""
		p1 = get("gpu-job", "thread ping-pong on one CPU", "cpu", "-", 8, "per round trip")
		print "| case | median | p99 | median / ping-pong | median / ping-pong on one CPU |"
		print "| --- | --- | --- | --- | --- |"
		split("thread ping-pong (eventfd)|cpu|-|8|per round trip;" \
		      "thread ping-pong on one CPU|cpu|-|8|per round trip;" \
		      "null job: exec + wait|fence-VM|shmem|4|per round trip;" \
		      "null job: exec + wait|fault-VM|shmem|4|per round trip;" \
		      "64K copy job: exec + wait|PIN fence-VM|4k|65536|per round trip;" \
		      "64K copy job: exec + wait|FAULT fault-VM|4k|65536|per round trip;" \
		      "64K memcpy 1 core|cpu|4k|65536|per call", jr, ";")
		for (i = 1; i in jr; i++) {
			split(jr[i], jf, "|")
			k = key("gpu-job", jf[1], jf[2], jf[3], jf[4], jf[5])
			if (!(k in v))
				continue
			printf "| %s%s | %s | %s | %s | %s |\n", jf[1],
				jf[2] == "cpu" ? "" : ", " jf[2], t(v[k]), t(p99[k]),
				ratio(v[k], pp), ratio(v[k], p1)
		}
	}
	print ""
	print "Invalidation, 64 MiB, per call:"
	print ""
	print "| backing | op | nothing registered | PIN | FAULT | next populate PIN (re-pin) | FAULT (re-fault) |"
	print "| --- | --- | --- | --- | --- | --- | --- |"
	split("4k thp", ib, " ")
	for (i = 1; i <= 2; i++) for (o = 1; o <= 2; o++) {
		bk = ib[i]; op = o == 1 ? "munmap" : "MADV_DONTNEED"
		n = get("invalidate", op, "none", bk, 64 * M, "per call")
		if (n == "")
			continue
		rp = o == 2 ? t(get("invalidate", "next populate (re-pin)", "PIN", bk, 64 * M, "per call")) : ""
		rf = o == 2 ? t(get("invalidate", "next populate (re-fault)", "FAULT", bk, 64 * M, "per call")) : ""
		printf "| %s | %s | %s | %s | %s | %s | %s |\n", bk, op, t(n),
			t(get("invalidate", op, "PIN", bk, 64 * M, "per call")),
			t(get("invalidate", op, "FAULT", bk, 64 * M, "per call")), rp, rf
	}
	print ""
	print "Sparse access over a 1 GiB userptr (4k): time until the touched"
	print "pages are mapped, and share of the range pinned or mirrored:"
	print ""
	print "| pattern | PIN | FAULT w=4K | FAULT w=64K | FAULT w=2M | FAULT fault() |"
	print "| --- | --- | --- | --- | --- | --- |"
	split("2M chunks 1%|2M chunks 10%|2M chunks 100%|pages 1%", sp, "|")
	split("PIN|FAULT w=4K|FAULT w=64K|FAULT w=2M|FAULT fault()", sm, "|")
	for (i = 1; i <= 4; i++) {
		line = "| " sp[i]
		for (j = 1; j <= 5; j++) {
			tm = get("sparse", sp[i], sm[j], "4k", 1024 * M, "time")
			pc = get("sparse", sp[i], sm[j], "4k", 1024 * M, "mirrored of range")
			line = line " | " t(tm) ", " pct(pc)
		}
		if (tm != "" || pc != "")
			print line " |"
	}
	print ""
	print "Scale and migration:"
	print ""
	print "| case | PIN | FAULT |"
	print "| --- | --- | --- |"
	printf "| munmap 64K unrelated, 1 range | %s | %s |\n",
		t(get("scale", "munmap 64K unrelated", "PIN", "4k", 1, "per call")),
		t(get("scale", "munmap 64K unrelated", "FAULT", "4k", 1, "per call"))
	printf "| munmap 64K unrelated, 10000 ranges | %s | %s |\n",
		t(get("scale", "munmap 64K unrelated", "PIN", "4k", 10000, "per call")),
		t(get("scale", "munmap 64K unrelated", "FAULT", "4k", 10000, "per call"))
	printf "| move_pages 16M to the other node (nothing registered: %s) | %s | %s |\n",
		t(get("migrate", "move_pages to other node", "none", "4k", 16 * M, "per call")),
		t(get("migrate", "move_pages to other node", "PIN", "4k", 16 * M, "per call")),
		t(get("migrate", "move_pages to other node", "FAULT", "4k", 16 * M, "per call"))
	printf "| next populate after the move | %s | %s |\n",
		t(get("migrate", "next populate", "PIN", "4k", 16 * M, "per call")),
		t(get("migrate", "next populate", "FAULT", "4k", 16 * M, "per call"))
	print ""
	print "Targets: each line of table.txt is one size and backing."
	print ""
	print "| target | met | missed |"
	print "| --- | --- | --- |"
	for (k in pass) seen[k] = 1
	for (k in miss) seen[k] = 1
	n = 0
	for (k in seen) names[++n] = k
	for (i = 2; i <= n; i++) {	# insertion sort, for a stable order
		x = names[i]
		for (j = i - 1; j >= 1 && names[j] > x; j--)
			names[j + 1] = names[j]
		names[j + 1] = x
	}
	for (i = 1; i <= n; i++)
		printf "| %s | %d | %d |\n", names[i], pass[names[i]] + 0, miss[names[i]] + 0
}' "$csv"
