# SPDX-License-Identifier: GPL-2.0
#
# Scan the guest's kernel console (ttyS0) for reports that fail a run:
# warnings, BUGs, KASAN, KCSAN ("BUG: KCSAN: data-race in ..."), lockdep,
# kmemleak, oopses, panics, RCU stalls, hung tasks, soft lockups, DMA-API
# errors.  kmemleak counts through the
# "unreferenced object" lines of the report that the guest's init dumps after
# its second scan: the "N new suspected memory leaks" line of a first scan may
# be a transient that the second scan no longer lists.  Prints every report with 3 lines
# before it and up to 40 after (to its "end trace" line), at most 400 lines
# in all, then "@reports N" as the last line.  POSIX awk (mawk).
#
# Expected reports.  A test that provokes a kernel report on purpose (the
# sgpu KASAN hook, an OOM kill in a memory cgroup) declares it by writing
# two markers to /dev/kmsg around the provoking step:
#   uptr-expect: begin TITLE
#   uptr-expect: end
# Between them, a report line that contains TITLE is expected, and so are
# the lines of the same report: for a KASAN title, its "page dumped
# because: kasan: bad access detected" line; for an OOM title, every line
# of the OOM killer's family (see oom below).  Every other report in the
# window still counts.  An "end" without a line containing TITLE, a window
# never closed, or a "begin" inside a window counts as a report too.  The
# OOM killer's lines are reports outside such a window: a test that did not
# ask for an OOM kill must not get one.
#
# Known kernel races.  With -v known=FILE (tools/vm/kcsan-known.list), a
# KCSAN report whose "data-race in A / B" pair FILE lists is a race inside
# the kernel itself: shown, marked, not counted; but it counts after all
# when one of its stack lines names a frame of our modules ([uptr...] or
# [sgpu...]).

BEGIN {
	bad = "(WARNING:|BUG:|BUG [a-z0-9_-]+ \\(|kernel BUG at|KASAN:|UBSAN:|" \
	      "Oops|general protection fault|Kernel panic|Kernel Offset:|" \
	      "possible circular locking|inconsistent lock state|" \
	      "possible recursive locking|suspicious RCU usage|" \
	      "lock held when returning|DEBUG_LOCKS_WARN_ON|" \
	      "possible irq lock inversion|bad unlock balance|" \
	      "held lock freed|lock held at task exit|" \
	      "unreferenced object|" \
	      "rcu_.*detected stall|detected stalls on CPU|" \
	      "blocked for more than|soft lockup|hard LOCKUP|" \
	      "DMA-API: |list_add corruption|list_del corruption|" \
	      "Bad page (state|map)|page dumped because|" \
	      "Unable to handle|double fault|invalid opcode:|" \
	      "refcount_t:|stack-protector|stack guard page)"
	# Informational lines that match the above.  "cacheline tracking
	# ENOMEM": dma-debug's own GFP_ATOMIC radix-tree node failed (the
	# fault-injection sweep, uptr_failnth_test, fails every allocation
	# of a call in turn) and it stopped checking: not a report.
	benign = "(DMA-API: preallocated|DMA-API: debugging (enabled|disabled)|" \
		 "DMA-API: cacheline tracking ENOMEM, dma-debug disabled|" \
		 "kmemleak: .*(initialized|Automatic memory scanning)|" \
		 "page dumped because: gup_test: dump_pages\\(\\) test)"
	# The OOM killer's own report lines.
	oom = "(invoked oom-killer:|Out of memory: Killed process|" \
	      "Memory cgroup out of memory: Killed process|" \
	      "oom_reaper: unable to reap)"
	kasan_follow = "page dumped because: kasan: bad access detected"
	nknown = 0
	while (known != "" && (getline kl < known) > 0) {
		if (kl ~ /^#/ || kl !~ /\t/)
			continue
		known_pair[substr(kl, 1, index(kl, "\t") - 1)] = 1
		nknown++
	}
	in_known = 0
	expect = ""		# the title of the open window, if any
	expect_open = 0
	expect_seen = 0
	reports = 0
	printed = 0
	after = 0
	limit = 400
}

{ sub(/\r$/, "") }

function show(line) {
	if (printed < limit)
		print "    " line
	else if (printed == limit)
		print "    [... more in the console log]"
	printed++
}

# A report line that the runner itself emits (a broken expectation).
function expect_fail(msg) {
	if (printed > 0)
		show("--")
	show("uptr-expect: " msg)
	reports++
	after = 0
	nprev = 0
}

/uptr-expect: begin / {
	if (expect_open)
		expect_fail("begin inside the window of \"" expect "\"")
	expect = substr($0, index($0, "uptr-expect: begin ") + 19)
	expect_open = 1
	expect_seen = 0
	if (expect == "") {
		expect_fail("begin without a title")
		expect_open = 0
	}
	next
}

/uptr-expect: end$/ {
	if (!expect_open)
		expect_fail("end without a begin")
	else if (!expect_seen)
		expect_fail("expected report not seen: \"" expect "\"")
	expect_open = 0
	next
}

# A line of the expected report: shown, not counted.
expect_open && ($0 ~ bad || $0 ~ oom) && $0 !~ benign &&
(index($0, expect) || (expect ~ oom && $0 ~ oom) ||
 (expect_seen && expect ~ /KASAN:/ && index($0, kasan_follow))) {
	if (index($0, expect))
		expect_seen = 1
	show("[expected] " $0)
	next
}

# A KCSAN report of a listed kernel race: shown, not counted.
/BUG: KCSAN: data-race in / && \
(substr($0, index($0, "data-race in ") + 13) in known_pair) {
	if (printed > 0)
		show("--")
	show("[known kernel race, tools/vm/kcsan-known.list] " $0)
	kcsan = 1
	in_known = 1
	after = 100
	nprev = 0
	next
}

# ... unless our modules are in its stacks, however long they are: the
# check lasts until the report's closing line, past what is shown.
in_known && /\[(uptr|sgpu)[a-z_]*\]/ {
	show("[a frame of our modules in a known kernel race] " $0)
	reports++
	in_known = 0
	if (after > 0)
		after--
	nprev = 0
	next
}
in_known && /^(\[ *[0-9.]+\] )?====+$/ {
	in_known = 0
}

($0 ~ bad || $0 ~ oom) && $0 !~ benign {
	in_known = 0
	if (after == 0) {
		if (printed > 0)
			show("--")
		for (i = nprev - 3; i < nprev; i++)
			if (i >= 0)
				show(prev[i % 3])
	}
	reports++
	show($0)
	after = 40
	# A KCSAN report (two stacks, held locks with KCSAN_VERBOSE) ends at
	# its closing "====" line.
	kcsan = ($0 ~ /BUG: KCSAN:/)
	if (kcsan)
		after = 100
	nprev = 0
	next
}

after > 0 {
	show($0)
	after--
	if ($0 ~ /---\[ end trace/ || $0 ~ /---\[ end Kernel panic/ ||
	    (kcsan && $0 ~ /^(\[ *[0-9.]+\] )?====+$/))
		after = 0
	nprev = 0
	next
}

{ prev[nprev % 3] = $0; nprev++ }

END {
	if (expect_open)
		expect_fail("window of \"" expect "\" never closed")
	print "@reports " reports
}
