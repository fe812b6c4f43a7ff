/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Real arm64 guests through KVM's ABI, for arm64_guest_test (on axvcpu
 * and on KVM) and arm64_axvcpu_test (axvcpu's own ABI).
 *
 * A VM here is slot 0: AG_MEM_SIZE bytes of anonymous memory, 2 MiB
 * aligned in the process, at guest physical 0.  Guest code is written in
 * assembly in the test file (AG_GUEST), built by the same compiler, and
 * copied into slot 0; it runs at EL1 with the MMU off, as KVM resets a
 * vCPU.  Addresses outside slot 0 are MMIO.  Include after
 * axvcpu_harness.h.
 */
#ifndef AXVCPU_ARM64_GUEST_H
#define AXVCPU_ARM64_GUEST_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <asm/kvm.h>

#define AG_MEM_SIZE	(4UL << 20)
#define AG_DATA		0x8000UL	/* a page the guest reads and writes */
/*
 * Each guest program has its own address in [AG_PROGS, AG_PROGS +
 * AG_PROGS_SIZE): QEMU 7.2's TCG may run code it translated for another
 * VM's program at the same guest address when the new VM got the old
 * one's pages back (with KVM as with axvcpu), so no two programs share
 * one.  Each test program defines its own AG_PROGS, a window of its own
 * in [2 MiB, 4 MiB), before it includes this file.
 */
#ifndef AG_PROGS
#error "define AG_PROGS, the guest address of this program's guests"
#endif
#define AG_PROGS_SIZE	0x100000UL
#define AG_MMIO		0x10000000UL	/* no slot: MMIO */
#define AG_DONE		0x10001000UL	/* the guest's "done" store */

/* KVM_REG_ARM_CORE ids. */
#define AG_CORE(field, size)	(KVM_REG_ARM64 | (size) | KVM_REG_ARM_CORE | \
				 KVM_REG_ARM_CORE_REG(field))
#define AG_X(n)		AG_CORE(regs.regs[n], KVM_REG_SIZE_U64)
#define AG_PC		AG_CORE(regs.pc, KVM_REG_SIZE_U64)
#define AG_PSTATE	AG_CORE(regs.pstate, KVM_REG_SIZE_U64)
#define AG_SP_EL1	AG_CORE(sp_el1, KVM_REG_SIZE_U64)
#define AG_V(n)		AG_CORE(fp_regs.vregs[n], KVM_REG_SIZE_U128)
#define AG_FPSR		AG_CORE(fp_regs.fpsr, KVM_REG_SIZE_U32)
/* System registers. */
#define AG_SCTLR_EL1	ARM64_SYS_REG(3, 0, 1, 0, 0)
#define AG_VBAR_EL1	ARM64_SYS_REG(3, 0, 12, 0, 0)
#define AG_ESR_EL1	ARM64_SYS_REG(3, 0, 5, 2, 0)
#define AG_ELR_EL1	AG_CORE(elr_el1, KVM_REG_SIZE_U64)
#define AG_TPIDR_EL1	ARM64_SYS_REG(3, 0, 13, 0, 4)
#define AG_TPIDR_EL0	ARM64_SYS_REG(3, 3, 13, 0, 2)
#define AG_MPIDR_EL1	ARM64_SYS_REG(3, 0, 0, 0, 5)

/* KVM's reset PSTATE: EL1h with D, A, I and F masked. */
#define AG_PSTATE_RESET	0x3c5ULL

#define AG_PSCI_VERSION		0x84000000UL
#define AG_PSCI_CPU_OFF		0x84000002UL
#define AG_PSCI_CPU_ON		0xc4000003UL
#define AG_PSCI_AFFINITY_INFO	0xc4000004UL
#define AG_PSCI_SYSTEM_OFF	0x84000008UL
#define AG_PSCI_SYSTEM_RESET	0x84000009UL
#define AG_PSCI_FEATURES	0x8400000aUL

/*
 * A guest program: name[] to name_end[] are its instructions, and the
 * literal pool of "ldr xN, =value", all position independent, 2 KiB
 * aligned (the alignment of a vector table).  The labels
 * are global: references to local ones through the GOT would all resolve
 * to the section's start.
 */
#define AG_GUEST(name, body)						\
	extern const uint8_t name[], name##_end[];			\
	asm(".pushsection .rodata\n"					\
	    ".globl " #name ", " #name "_end\n"			\
	    ".balign 2048\n"	/* a vector table may start there */	\
	    #name ":\n"							\
	    body "\n"							\
	    ".ltorg\n"							\
	    #name "_end:\n"						\
	    ".popsection\n")

struct ag_vm {
	int sys_fd;
	int vm_fd;
	int run_size;
	uint8_t *mem;		/* slot 0, at guest physical 0 */
	void *map;		/* the mapping mem lies in */
};

struct ag_vcpu {
	int fd;
	struct kvm_run *run;
	int run_size;
};

static inline void ag_vm_create(struct __test_metadata *_metadata,
				struct ag_vm *vm)
{
	uintptr_t p;
	int r;

	open_vm(_metadata, &vm->sys_fd, &vm->vm_fd);
	vm->run_size = vcpu_mmap_size(vm->sys_fd);
	ASSERT_LT(0, vm->run_size);
	/* 2 MiB aligned, so that stage 2 may use a block. */
	vm->map = mmap(NULL, 2 * AG_MEM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, vm->map);
	p = ((uintptr_t)vm->map + AG_MEM_SIZE - 1) & ~(AG_MEM_SIZE - 1);
	vm->mem = (uint8_t *)p;
	madvise(vm->mem, AG_MEM_SIZE, MADV_HUGEPAGE);
	memset(vm->mem, 0, AG_MEM_SIZE);
	r = set_region(vm->vm_fd, 0, 0, 0, AG_MEM_SIZE, vm->mem);
	ASSERT_EQ(0, r) TH_LOG("slot 0: %s", strerror(-r));
}

static inline void ag_vm_destroy(struct ag_vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->sys_fd >= 0)
		close(vm->sys_fd);
	if (vm->map && vm->map != MAP_FAILED)
		munmap(vm->map, 2 * AG_MEM_SIZE);
}

/* vCPU @id, KVM_ARM_VCPU_INIT with @features, its kvm_run mapped. */
static inline void ag_vcpu_create(struct __test_metadata *_metadata,
				  struct ag_vm *vm, unsigned long id,
				  __u32 features, struct ag_vcpu *v)
{
	int r;

	v->run = NULL;
	v->fd = do_ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	ASSERT_LE(0, v->fd) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-v->fd));
	r = arm64_vcpu_init(vm->vm_fd, v->fd, features);
	ASSERT_EQ(0, r) TH_LOG("KVM_ARM_VCPU_INIT: %s", strerror(-r));
	v->run_size = vm->run_size;
	v->run = map_run(v->fd, v->run_size);
	ASSERT_NE(NULL, v->run);
}

static inline void ag_vcpu_destroy(struct ag_vcpu *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->fd >= 0)
		close(v->fd);
}

static inline int ag_get(struct ag_vcpu *v, __u64 id, void *val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)val };

	return do_ioctl_ptr(v->fd, KVM_GET_ONE_REG, &reg);
}

static inline int ag_set(struct ag_vcpu *v, __u64 id, const void *val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)val };

	return do_ioctl_ptr(v->fd, KVM_SET_ONE_REG, &reg);
}

/* A 64-bit register's value; the test fails if it cannot be read. */
static inline __u64 ag_reg(struct __test_metadata *_metadata,
			   struct ag_vcpu *v, __u64 id)
{
	__u64 val = 0;
	int r = ag_get(v, id, &val);

	EXPECT_EQ(0, r) TH_LOG("KVM_GET_ONE_REG %#llx: %s",
			       (unsigned long long)id, strerror(-r));
	return val;
}

static inline void ag_set_reg(struct __test_metadata *_metadata,
			      struct ag_vcpu *v, __u64 id, __u64 val)
{
	int r = ag_set(v, id, &val);

	ASSERT_EQ(0, r) TH_LOG("KVM_SET_ONE_REG %#llx: %s",
			       (unsigned long long)id, strerror(-r));
}

/* A VM and its vCPU 0 (PSCI 0.2), for a fixture; ag_close() undoes it. */
static inline void ag_open(struct __test_metadata *_metadata,
			   struct ag_vm *vm, struct ag_vcpu *v)
{
	memset(vm, 0, sizeof(*vm));
	vm->sys_fd = vm->vm_fd = v->fd = -1;
	v->run = NULL;
	ag_vm_create(_metadata, vm);
	ag_vcpu_create(_metadata, vm, 0, 1U << KVM_ARM_VCPU_PSCI_0_2, v);
}

static inline void ag_close(struct ag_vm *vm, struct ag_vcpu *v)
{
	ag_vcpu_destroy(v);
	ag_vm_destroy(vm);
}

/* Copy a guest program to its address in slot 0; returns that. */
static inline __u64 ag_load(struct ag_vm *vm, const uint8_t *start,
			    const uint8_t *end)
{
	__u64 gpa = AG_PROGS + ((uintptr_t)start & (AG_PROGS_SIZE - 1));

	memcpy(vm->mem + gpa, start, end - start);
	return gpa;
}

/* The program in slot 0, the vCPU's PC there; returns its address. */
static inline __u64 ag_start(struct __test_metadata *_metadata,
			     struct ag_vm *vm, struct ag_vcpu *v,
			     const uint8_t *start, const uint8_t *end)
{
	__u64 gpa = ag_load(vm, start, end);

	ag_set_reg(_metadata, v, AG_PC, gpa);
	return gpa;
}

/* KVM_RUN, which must succeed with exit @reason. */
static inline void ag_run_expect(struct __test_metadata *_metadata,
				 struct ag_vcpu *v, __u32 reason)
{
	int r = vcpu_run(v->fd);

	ASSERT_EQ(0, r) TH_LOG("KVM_RUN: %s", strerror(-r));
	ASSERT_EQ(reason, v->run->exit_reason)
		TH_LOG("exit reason %u (internal error %u, data %#llx %#llx %#llx), pc %#llx",
		       v->run->exit_reason, v->run->internal.suberror,
		       (unsigned long long)v->run->internal.data[0],
		       (unsigned long long)v->run->internal.data[1],
		       (unsigned long long)v->run->internal.data[2],
		       (unsigned long long)ag_reg(_metadata, v, AG_PC));
}

/* KVM_RUN to an MMIO exit at @addr of @len bytes; its data. */
static inline __u64 ag_run_mmio(struct __test_metadata *_metadata,
				struct ag_vcpu *v, __u64 addr, __u32 len,
				bool is_write)
{
	__u64 data = 0;

	ag_run_expect(_metadata, v, KVM_EXIT_MMIO);
	EXPECT_EQ(addr, v->run->mmio.phys_addr);
	EXPECT_EQ(len, v->run->mmio.len);
	EXPECT_EQ(is_write, v->run->mmio.is_write);
	memcpy(&data, v->run->mmio.data, sizeof(data));
	return data;
}

/* KVM_RUN to the guest's 8-byte store to AG_DONE; the value stored. */
static inline __u64 ag_run_done(struct __test_metadata *_metadata,
				struct ag_vcpu *v)
{
	return ag_run_mmio(_metadata, v, AG_DONE, 8, true);
}

/*
 * KVM_RUN of a vCPU in a thread of its own, for what happens while it
 * runs or sleeps; SIGUSR1 makes it return (EINTR).
 */
struct runner {
	struct ag_vcpu *v;
	pthread_t tid;
	volatile int ret;
	volatile bool done;
};

static inline void *runner_fn(void *arg)
{
	struct runner *r = arg;

	r->ret = vcpu_run(r->v->fd);
	r->done = true;
	return NULL;
}

static inline void wake_handler(int sig)
{
}

static inline void start_runner(struct __test_metadata *_metadata,
				struct runner *r, struct ag_vcpu *v)
{
	signal(SIGUSR1, wake_handler);
	r->v = v;
	r->ret = 1;
	r->done = false;
	ASSERT_EQ(0, pthread_create(&r->tid, NULL, runner_fn, r));
}

#endif /* AXVCPU_ARM64_GUEST_H */
