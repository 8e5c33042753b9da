# SPDX-License-Identifier: GPL-2.0
#
# Turn the guest's raw results (ttyS1, protocol: top of tools/vm/init) into
# one line per test, as they arrive:
#
#   PASS NAME | FAIL NAME (why) | SKIP NAME (why) | XFAIL NAME (why)
#       | output of a failed test (its last lines)
#   @boot UPTIME | @run TYPE NAME | @took SECONDS TYPE NAME | @done UPTIME
#                                                    (progress, for boot.sh)
#
# Test names: insmod:NAME, rmmod:NAME, kunit:SUITE.CASE, NAME:CASE for TAP
# programs (blanks in CASE become '_'), NAME for commands and for what goes
# wrong with a program as a whole (exit code, timeout, missing results).
# POSIX awk (mawk).

function out(s) { print s; fflush() }

function result(status, name, why) {
	out(status " " name (why != "" ? " (" why ")" : ""))
}

function dump(   i, from) {
	from = nbuf - 30
	if (from < 0)
		from = 0
	for (i = from; i < nbuf; i++)
		out("    | " buf[i % 64])
}

function keep(line) {
	buf[nbuf % 64] = line
	nbuf++
}

# "ok 3 name # SKIP why" after the indentation was removed.
function tap(line, prefix,   st, desc, directive, i, status, n) {
	st = (line ~ /^not ok/) ? "FAIL" : "PASS"
	sub(/^(not )?ok [0-9]+ */, "", line)
	desc = line
	directive = ""
	i = index(line, " # ")
	if (i > 0) {
		desc = substr(line, 1, i - 1)
		directive = substr(line, i + 3)
	} else if (line ~ /^# /) {
		desc = ""
		directive = substr(line, 3)
	}
	gsub(/[ \t]+$/, "", desc)
	gsub(/[ \t]+/, "_", desc)
	if (desc == "")
		desc = "case" (ncase + 1)
	n = desc
	if (toupper(directive) ~ /^SKIP/) {
		status = "SKIP"
		sub(/^[Ss][Kk][Ii][Pp] */, "", directive)
	} else if (toupper(directive) ~ /^XFAIL/) {
		status = "XFAIL"
		sub(/^[Xx][Ff][Aa][Ii][Ll] */, "", directive)
	} else {
		status = st
		directive = ""
	}
	ncase++
	if (status == "FAIL")
		nfail++
	result(status, prefix n, directive)
	if (status == "FAIL")
		dump()
	nbuf = 0
}

function begin_step(t, n) {
	type = t
	name = n
	ksft_run = ""
	running = 1
	nbuf = 0
	ncase = 0
	nfail = 0
	plan = -1
	suite = ""
	nsuites = 0
	out("@run " type " " name)
}

function end_suite() {
	if (suite != "" && !suite_done) {
		result("FAIL", "kunit:" suite, "suite reported no result")
		dump()
	}
	suite = ""
}

function end_step(rc, secs, how,   ok) {
	running = 0
	if (type == "module" || type == "rmmod" || type == "kunit") {
		if (type == "kunit") {
			end_suite()
			if (nsuites == 0 && rc == 0 && !kunit_glob)
				result("FAIL", "kunit:" name, "module registered no KUnit suite")
		}
		if (type == "rmmod")
			n = "rmmod:" name
		else
			n = "insmod:" name
		if (rc == 0)
			result("PASS", n, "")
		else {
			result("FAIL", n, "exit " rc)
			dump()
		}
		return
	}
	if (how == "timeout") {
		result("FAIL", name, "timed out after " secs " s")
		dump()
		return
	}
	if (type == "cmd") {
		if (rc == 0)
			result("PASS", name, "")
		else {
			result("FAIL", name, "exit " rc)
			dump()
		}
		return
	}
	# TAP programs: the cases were reported; judge the program as a whole.
	if (ncase == 0) {
		if (plan == 0 && rc == 0)
			result("FAIL", name, "no case selected or none exists (1..0)")
		else if (rc == 4)
			result("SKIP", name, "exit 4: skipped as a whole")
		else
			result("FAIL", name, "exit " rc ", no TAP result")
		dump()
	} else if (plan >= 0 && ncase < plan) {
		result("FAIL", name, "only " ncase " of " plan " planned results, exit " rc)
		dump()
	} else if (rc != 0 && nfail == 0) {
		result("FAIL", name, "exit " rc " although no case failed")
		dump()
	}
}

BEGIN { running = 0; done = 0 }

{ sub(/\r$/, "") }

/^@@UPTR boot / { out("@boot " $3); next }

/^@@UPTR begin / { begin_step($3, $4); next }

/^@@UPTR suite / {
	end_suite()
	suite = $3
	suite_done = 0
	nsuites++
	nbuf = 0
	next
}

/^@@UPTR end / {
	if ($3 == "rmmod")
		type = "rmmod"
	end_step($5, $6, $7)
	out("@took " $6 " " $3 " " $4)
	next
}

/^@@UPTR done/ { done = 1; out("@done " $3); next }

# kunit: case results are indented once, the suite result is not.
running && type == "kunit" && suite != "" {
	if ($0 ~ /^    (not )?ok [0-9]+ /) {
		line = $0
		sub(/^    /, "", line)
		tap(line, "kunit:" suite ".")
	} else if ($0 ~ /^(not )?ok [0-9]+ /) {
		suite_done = 1
		if ($0 ~ /^not ok/ && nfail == 0) {
			result("FAIL", "kunit:" suite, "suite failed")
			dump()
		}
		nbuf = 0
	} else
		keep($0)
	next
}

# kselftest.h programs such as cow and gup_longterm announce each case with
# "# [RUN] what" and then report a generic result ("ok 7 No leak from child
# into parent"): name the case after both, so that names stay unique.
running && type == "ksft" && /^# \[RUN\] / {
	ksft_run = $0
	sub(/^# \[RUN\] */, "", ksft_run)
	gsub(/ *\.\.\. */, " ", ksft_run)
	gsub(/[ \t]+$/, "", ksft_run)
	gsub(/[ \t]+/, "_", ksft_run)
	keep($0)
	next
}

running && (type == "harness" || type == "ksft") {
	if ($0 ~ /^(not )?ok [0-9]+/)
		tap($0, name ":" (ksft_run != "" ? ksft_run "/" : ""))
	else {
		if ($0 ~ /^1\.\.[0-9]+/ && plan < 0) {
			plan = $0
			sub(/^1\.\./, "", plan)
			sub(/[^0-9].*/, "", plan)
			plan = plan + 0
		}
		keep($0)
	}
	next
}

running { keep($0); next }

END {
	if (running) {
		if (type == "rmmod")
			n = "rmmod:" name
		else if (type == "module" || type == "kunit")
			n = "insmod:" name
		else
			n = name
		result("FAIL", n, "unfinished: the guest died or hung during it")
		dump()
	}
	if (!done)
		out("@incomplete")
}
