/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Included first (gcc -include) into every selftest built for the guest.
 *
 * kselftest_harness.h arms alarm(timeout) for each test, 30 s unless the
 * test says otherwise, in real time.  Under TCG with KASAN and lockdep, on
 * a 2-core host that also runs builds or a second guest, a vCPU can be
 * starved for long stretches and a test that is merely slow is killed as
 * "Test terminated by timeout".  Scale the alarms, so that a test fails on
 * its timeout when it is stuck rather than slow.  The runner's per-test
 * and whole-run limits still bound every test.
 */
#ifndef UPTR_KSFT_TCG_H
#define UPTR_KSFT_TCG_H

/* No #include: the test's own _GNU_SOURCE must come before any libc header. */
unsigned int alarm(unsigned int seconds);

#ifndef UPTR_ALARM_SCALE
#define UPTR_ALARM_SCALE 4
#endif

static inline unsigned int uptr_scaled_alarm(unsigned int seconds)
{
	return alarm(seconds * UPTR_ALARM_SCALE);
}

#define alarm(seconds) uptr_scaled_alarm(seconds)

#endif /* UPTR_KSFT_TCG_H */
