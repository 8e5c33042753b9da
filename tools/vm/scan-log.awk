# SPDX-License-Identifier: GPL-2.0
#
# Scan the guest's kernel console (ttyS0) for reports that fail a run:
# warnings, BUGs, KASAN, lockdep, kmemleak, oopses, panics, RCU stalls, hung
# tasks, soft lockups, DMA-API errors.  kmemleak counts through the
# "unreferenced object" lines of the report that the guest's init dumps after
# its second scan: the "N new suspected memory leaks" line of a first scan may
# be a transient that the second scan no longer lists.  Prints every report with 3 lines
# before it and up to 40 after (to its "end trace" line), at most 400 lines
# in all, then "@reports N" as the last line.  POSIX awk (mawk).

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

$0 ~ bad && $0 !~ benign {
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
	nprev = 0
	next
}

after > 0 {
	show($0)
	after--
	if ($0 ~ /---\[ end trace/ || $0 ~ /---\[ end Kernel panic/)
		after = 0
	nprev = 0
	next
}

{ prev[nprev % 3] = $0; nprev++ }

END { print "@reports " reports }
