// SPDX-License-Identifier: GPL-2.0
/*
 * Deliberately misbehaving module for the test runner's own tests.
 *
 * Copyright (C) 2026 The uptr authors
 */

/**
 * DOC: runner self-test module
 *
 * tools/check.sh boots the test guest with this module to prove that the
 * runner notices what it must notice.  Each parameter makes the module
 * misbehave in one way when it is loaded:
 *
 * - ``warn=1`` hits a WARN_ON(); the kernel-log scan must fail the run and
 *   print the WARNING line.
 * - ``leak=1`` leaks a small allocation; the kmemleak scans after the tests
 *   must report it.
 *
 * With no parameter the module does nothing and loads cleanly.
 */

#include <linux/bug.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>

static bool warn;
module_param(warn, bool, 0444);
MODULE_PARM_DESC(warn, "WARN_ON(1) at load time");

static bool leak;
module_param(leak, bool, 0444);
MODULE_PARM_DESC(leak, "leak a 128-byte allocation at load time");

static int __init runner_selftest_init(void)
{
	void *p;

	WARN_ON(warn);
	if (leak) {
		/* The only reference is lost on return: a leak. */
		p = kmalloc(128, GFP_KERNEL);
		if (!p)
			return -ENOMEM;
		memset(p, 0x5a, 128);
	}
	pr_info("runner_selftest: loaded (warn=%d leak=%d)\n", warn, leak);
	return 0;
}

static void __exit runner_selftest_exit(void)
{
	pr_info("runner_selftest: unloaded\n");
}

module_init(runner_selftest_init);
module_exit(runner_selftest_exit);

MODULE_DESCRIPTION("Misbehaving module for the test runner's self-tests");
MODULE_LICENSE("GPL");
