/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the axvcpu selftests share that asserts, for kselftest_harness.h:
 * axvcpu_util.h's helpers return errors, these fail the test.  Each test
 * program includes this once, after kselftest_harness.h.
 */
#ifndef AXVCPU_SELFTEST_HARNESS_H
#define AXVCPU_SELFTEST_HARNESS_H

#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "axvcpu_util.h"

/* --- checks ----------------------------------------------------------- */

/* The vCPU is in state @want. */
#define ASSERT_STATE(st, want) \
	ASSERT_STREQ(state_name(want), state_name((st).state))

/* How many times the vCPU entered each state. */
#define ASSERT_TRANSITIONS(st, invalid, created, free, ready, running, blocked) \
	do {								\
		const __u64 *__t = (st).transitions;			\
									\
		ASSERT_EQ((__u64)(invalid), __t[AXVCPU_STATE_INVALID]);	\
		ASSERT_EQ((__u64)(created), __t[AXVCPU_STATE_CREATED]);	\
		ASSERT_EQ((__u64)(free), __t[AXVCPU_STATE_FREE]);	\
		ASSERT_EQ((__u64)(ready), __t[AXVCPU_STATE_READY]);	\
		ASSERT_EQ((__u64)(running), __t[AXVCPU_STATE_RUNNING]);	\
		ASSERT_EQ((__u64)(blocked), __t[AXVCPU_STATE_BLOCKED]);	\
	} while (0)

/* --- a VM with one vCPU ------------------------------------------------ */

/* A VM with one vCPU and its kvm_run mapping; -1 and NULL when not open. */
struct vcpu_env {
	int sys_fd;
	int vm_fd;
	int vcpu_fd;
	int size;
	struct kvm_run *run;
};

/* Nothing open: what env_close() leaves. */
static inline void env_init(struct vcpu_env *e)
{
	e->sys_fd = -1;
	e->vm_fd = -1;
	e->vcpu_fd = -1;
	e->size = 0;
	e->run = NULL;
}

/* Open $AXVCPU_DEV and create a VM. */
static inline void open_vm(struct __test_metadata *_metadata, int *sys_fd,
			   int *vm_fd)
{
	*sys_fd = open_dev(axvcpu_dev_path());
	ASSERT_LE(0, *sys_fd)
		TH_LOG("open %s: %s", axvcpu_dev_path(), strerror(-*sys_fd));
	*vm_fd = create_vm(*sys_fd);
	ASSERT_LE(0, *vm_fd) TH_LOG("KVM_CREATE_VM: %s", strerror(-*vm_fd));
}

/* A VM and vCPU 0, made with KVM_CREATE_VCPU, with its kvm_run mapped. */
static inline void env_open(struct __test_metadata *_metadata,
			    struct vcpu_env *e)
{
	open_vm(_metadata, &e->sys_fd, &e->vm_fd);
	e->vcpu_fd = create_vcpu(e->vm_fd, 0);
	ASSERT_LE(0, e->vcpu_fd);
	e->size = vcpu_mmap_size(e->sys_fd);
	ASSERT_LT(0, e->size);
	e->run = map_run(e->vcpu_fd, e->size);
	ASSERT_NE(NULL, e->run);
}

/* Unmap and close what is open, in that order. */
static inline void env_close(struct vcpu_env *e)
{
	if (e->run)
		munmap(e->run, e->size);
	if (e->vcpu_fd >= 0)
		close(e->vcpu_fd);
	if (e->vm_fd >= 0)
		close(e->vm_fd);
	if (e->sys_fd >= 0)
		close(e->sys_fd);
	env_init(e);
}

/* --- create / destroy cycles ------------------------------------------ */

/* vm_cycles(@nr, @flags): every cycle works, and no fd is left open. */
static inline void check_vm_cycles(struct __test_metadata *_metadata, int nr,
				   unsigned int flags)
{
	int fds_before = count_open_fds();
	const char *step;
	int cycle, ret;

	ASSERT_LT(0, fds_before);
	ret = vm_cycles(nr, flags, &cycle, &step);
	ASSERT_EQ(0, ret)
		TH_LOG("cycle %d: %s: %s", cycle, step, strerror(-ret));
	ASSERT_EQ(fds_before, count_open_fds());
}

#endif /* AXVCPU_SELFTEST_HARNESS_H */
