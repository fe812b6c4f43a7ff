// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: test hooks, built only with AXVCPU_TEST_HOOKS=y (the test
 * builds of make check set it; see Documentation/testing.rst).
 *
 * fail_step and test_stall_ms (root-only module parameters) let the suite
 * reach states that real hardware reaches rarely.  Where the kernel has
 * fault injection's debugfs (CONFIG_FAULT_INJECTION_DEBUG_FS), each step
 * also has a fault attribute, /sys/kernel/debug/axvcpu/fail_<step>, used as
 * the kernel's other fail_* knobs are.  The hot paths test a static key
 * that is off until a hook is armed.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fault-inject.h>
#include <linux/jump_label.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include "axvcpu_host.h"

DEFINE_STATIC_KEY_FALSE(axvcpu_test_hooks_key);

static unsigned int axvcpu_test_stall_ms;
static atomic_t axvcpu_fail_step = ATOMIC_INIT(AXVCPU_STEP_NONE);

static int axvcpu_test_stall_set(const char *val, const struct kernel_param *kp)
{
	int r = param_set_uint(val, kp);

	if (!r && axvcpu_test_stall_ms)
		static_branch_enable(&axvcpu_test_hooks_key);
	return r;
}

static const struct kernel_param_ops axvcpu_test_stall_ops = {
	.set = axvcpu_test_stall_set,
	.get = param_get_uint,
};
module_param_cb(test_stall_ms, &axvcpu_test_stall_ops, &axvcpu_test_stall_ms,
		0600);
MODULE_PARM_DESC(test_stall_ms,
		 "Test hook: KVM_RUN waits this long (ms, at most 10000) in RUNNING");

static int axvcpu_fail_step_set(const char *val, const struct kernel_param *kp)
{
	int i;

	for (i = 0; i < AXVCPU_NR_STEPS; i++) {
		if (sysfs_streq(val, axvcpu_step_names[i])) {
			atomic_set(&axvcpu_fail_step, i);
			if (i != AXVCPU_STEP_NONE)
				static_branch_enable(&axvcpu_test_hooks_key);
			return 0;
		}
	}
	return -EINVAL;
}

static int axvcpu_fail_step_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%s\n",
			 axvcpu_step_names[atomic_read(&axvcpu_fail_step)]);
}

static const struct kernel_param_ops axvcpu_fail_step_ops = {
	.set = axvcpu_fail_step_set,
	.get = axvcpu_fail_step_get,
};
module_param_cb(fail_step, &axvcpu_fail_step_ops, NULL, 0600);
MODULE_PARM_DESC(fail_step,
		 "Test hook: the next arch step of this name fails (setup, bind, unbind, run, reset)");

#ifdef CONFIG_FAULT_INJECTION_DEBUG_FS
static struct fault_attr axvcpu_fault[AXVCPU_NR_STEPS];

static bool axvcpu_fault_should_fail(enum axvcpu_step step)
{
	return should_fail(&axvcpu_fault[step], 1);
}

/* The attributes are read on every step: the key is on for good. */
void axvcpu_test_hooks_debugfs(struct dentry *dir)
{
	char name[32];
	int i;

	for (i = AXVCPU_STEP_NONE + 1; i < AXVCPU_NR_STEPS; i++) {
		axvcpu_fault[i] = (struct fault_attr)FAULT_ATTR_INITIALIZER;
		snprintf(name, sizeof(name), "fail_%s", axvcpu_step_names[i]);
		fault_create_debugfs_attr(name, dir, &axvcpu_fault[i]);
	}
	static_branch_enable(&axvcpu_test_hooks_key);
}
#else
static bool axvcpu_fault_should_fail(enum axvcpu_step step)
{
	return false;
}

void axvcpu_test_hooks_debugfs(struct dentry *dir)
{
}
#endif

/* Consume the injected failure if it names this step. */
bool __axvcpu_should_fail(enum axvcpu_step step)
{
	if (atomic_read(&axvcpu_fail_step) == step &&
	    atomic_cmpxchg(&axvcpu_fail_step, step, AXVCPU_STEP_NONE) == step)
		return true;
	return axvcpu_fault_should_fail(step);
}

/* Stay RUNNING, holding the vCPU, until it ends or a signal. */
void __axvcpu_test_stall(void)
{
	unsigned int ms = READ_ONCE(axvcpu_test_stall_ms);

	if (ms)
		msleep_interruptible(min(ms, AXVCPU_STALL_MS_MAX));
}
