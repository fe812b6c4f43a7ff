// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's RDMSR and WRMSR taken to userspace: KVM_CAP_X86_USER_SPACE_MSR
 * (KVM_EXIT_X86_RDMSR and _WRMSR, their reasons and contents, the answer
 * applied at the next KVM_RUN: #GP on error, EDX:EAX of a read, RIP past
 * the instruction) and KVM_X86_SET_MSR_FILTER (every errno, ranges, the
 * default, MSRs the guest reads and writes without exits, a filter
 * changed under a running guest, the VMM's own KVM_GET/SET_MSRS never
 * filtered).
 *
 * The suite runs against /dev/axvcpu and /dev/kvm ($AXVCPU_DEV): every
 * assertion holds for KVM (Linux 6.1) as well.
 *
 * The guest is a loop in real mode: at its "ready" OUT the test sets
 * EBX (0 RDMSR, 1 WRMSR), ECX, EDX:EAX and lets it go; the access either
 * exits to the test, raises #GP (the handler reports on PORT_GP and steps
 * over the instruction) or is done, then the guest reports EDX:EAX in
 * EDI:ESI with a "done" OUT and comes back to "ready".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "x86_guest.h"
#include "x86_guest_harness.h"

#define MEM_SIZE	XG_SZ_2M
#define PORT		0x10
#define PORT_GP		0x11
#define STEP_READY	1
#define STEP_DONE	2
#define VEC_GP		13

/* MSRs of the tests: their class is the same on both devices. */
#define MSR_UNKNOWN	0x474f4f00U	/* nobody's */
#define MSR_X2APIC_TPR	0x808U		/* known, refused out of x2APIC mode */
#define MSR_MTRR_DEF	0x2ffU
#define MSR_POWER_CTL	0x1fcU
#define MSR_FS		0xc0000100U
#define MSR_GS		0xc0000101U
#define MSR_LSTAR_	0xc0000082U
#define MSR_SFMASK	0xc0000084U

#define EXIT_RDMSR	((uint32_t)KVM_EXIT_X86_RDMSR)
#define EXIT_WRMSR	((uint32_t)KVM_EXIT_X86_WRMSR)
#define ALL_REASONS	(KVM_MSR_EXIT_REASON_INVAL |		\
			 KVM_MSR_EXIT_REASON_UNKNOWN |		\
			 KVM_MSR_EXIT_REASON_FILTER)

GUEST16(msr_guest,
	"1:\n"
	"mov $1, %al\n"			/* STEP_READY */
	"out %al, $0x10\n"
	"test %bx, %bx\n"
	"jnz 2f\n"
	"rdmsr\n"
	"jmp 3f\n"
	"2:\n"
	"wrmsr\n"
	"3:\n"
	"mov %eax, %esi\n"
	"mov %edx, %edi\n"
	"mov $2, %al\n"			/* STEP_DONE */
	"out %al, $0x10\n"
	"jmp 1b\n");

/* #GP: report, step over the 2-byte RDMSR or WRMSR, return. */
GUEST16(gp_handler,
	"push %ax\n"
	"mov $13, %al\n"
	"out %al, $0x11\n"
	"pop %ax\n"
	"push %bp\n"
	"mov %sp, %bp\n"
	"addw $2, 2(%bp)\n"
	"pop %bp\n"
	"iret\n");

/* Reads FS base until it holds 0x5a5a, then reports on PORT. */
GUEST16(fs_spin_guest,
	"sti\n"
	"mov $0xc0000100, %ecx\n"
	"1:\n"
	"rdmsr\n"
	"cmp $0x5a5a, %eax\n"
	"jne 1b\n"
	"mov $2, %al\n"
	"out %al, $0x10\n"
	"hlt\n");

FIXTURE(msr) {
	struct xg_vm vm;
	struct xg_vcpu vcpu;
};

FIXTURE_SETUP(msr)
{
	vm_vcpu_open(_metadata, &self->vm, &self->vcpu, MEM_SIZE);
}

FIXTURE_TEARDOWN(msr)
{
	xg_vcpu_destroy(&self->vcpu);
	xg_vm_destroy(&self->vm);
}

static int enable_user_msr(int vm_fd, uint64_t reasons, uint32_t flags)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.flags = flags,
		.args = { reasons },
	};

	return ioctl_err(vm_fd, KVM_ENABLE_CAP, &cap);
}

/* One MSR through KVM_GET_MSRS (true if it was read) or KVM_SET_MSRS. */
static bool vmm_msr(int fd, uint32_t index, uint64_t *data, bool set)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e.index = index, .e.data = *data };

	if (ioctl(fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, &m) != 1)
		return false;
	*data = m.e.data;
	return true;
}

static uint64_t get_msr(struct __test_metadata *_metadata, struct xg_vcpu *v,
			uint32_t index)
{
	uint64_t data = 0;

	EXPECT_TRUE(vmm_msr(v->fd, index, &data, false))
		TH_LOG("KVM_GET_MSRS 0x%x", index);
	return data;
}

static void set_msr(struct __test_metadata *_metadata, struct xg_vcpu *v,
		    uint32_t index, uint64_t data)
{
	EXPECT_TRUE(vmm_msr(v->fd, index, &data, true))
		TH_LOG("KVM_SET_MSRS 0x%x", index);
}

/* The loop at XG_CODE, its #GP handler at XG_CODE2, at its first "ready". */
static void start_guest(struct __test_metadata *_metadata, struct xg_vm *vm,
			struct xg_vcpu *v)
{
	uint16_t ivt[2] = { XG_CODE2, 0 };

	real_mode_guest(_metadata, vm, v, msr_guest, msr_guest_end - msr_guest);
	xg_load(vm, XG_CODE2, gp_handler, gp_handler_end - gp_handler);
	xg_load(vm, VEC_GP * 4, ivt, sizeof(ivt));
	run_expect(_metadata, v, KVM_EXIT_IO);
	ASSERT_EQ(PORT, v->run->io.port);
	ASSERT_EQ(STEP_READY, (uint8_t)xg_io_value(v));
}

/* The VMM takes the refusals of @reasons; the guest at its "ready". */
static void start_taking(struct __test_metadata *_metadata, struct xg_vm *vm,
			 struct xg_vcpu *v, uint64_t reasons)
{
	ASSERT_EQ(0, enable_user_msr(vm->vm_fd, reasons, 0));
	start_guest(_metadata, vm, v);
}

/* From "ready": the guest makes one access; the first exit after it. */
static void do_access(struct __test_metadata *_metadata, struct xg_vcpu *v,
		      bool write, uint32_t msr, uint64_t val)
{
	struct kvm_regs regs;
	int ret;

	get_regs(_metadata, v, &regs);
	regs.rbx = write;
	regs.rcx = msr;
	regs.rax = (uint32_t)val;
	regs.rdx = val >> 32;
	set_regs(_metadata, v, &regs);
	ret = xg_run(v);
	ASSERT_EQ(0, ret) TH_LOG("KVM_RUN: %s", strerror(-ret));
}

/*
 * The access's end, from its first exit (or, after an MSR exit, the next
 * KVM_RUN): whether the guest took a #GP, and EDX:EAX after it; the guest
 * is at "ready" again.
 */
static bool access_end(struct __test_metadata *_metadata, struct xg_vcpu *v,
		       uint64_t *val)
{
	struct kvm_regs regs;
	bool gp = false;

	if (v->run->exit_reason != KVM_EXIT_IO)
		run_expect(_metadata, v, KVM_EXIT_IO);
	if (v->run->io.port == PORT_GP) {
		gp = true;
		run_expect(_metadata, v, KVM_EXIT_IO);
	}
	EXPECT_EQ(PORT, v->run->io.port);
	EXPECT_EQ(STEP_DONE, (uint8_t)xg_io_value(v));
	get_regs(_metadata, v, &regs);
	*val = (regs.rdi << 32) | (uint32_t)regs.rsi;
	run_expect(_metadata, v, KVM_EXIT_IO);
	EXPECT_EQ(STEP_READY, (uint8_t)xg_io_value(v));
	return gp;
}

/* An access the kernel answers: no exit to the test; false on #GP. */
static bool guest_access(struct __test_metadata *_metadata, struct xg_vcpu *v,
			 bool write, uint32_t msr, uint64_t *val)
{
	do_access(_metadata, v, write, msr, *val);
	EXPECT_EQ((uint32_t)KVM_EXIT_IO, v->run->exit_reason);
	return !access_end(_metadata, v, val);
}

/*
 * The access must exit as KVM_EXIT_X86_RDMSR or _WRMSR with @reason, with
 * RIP still at the instruction; the test's answer goes back in @error and
 * @data.  True if the guest then took a #GP; *val its EDX:EAX.
 */
static bool user_access(struct __test_metadata *_metadata, struct xg_vm *vm,
			struct xg_vcpu *v, bool write, uint32_t msr,
			uint64_t *val, uint32_t reason, uint8_t error,
			uint64_t data)
{
	struct kvm_run *run = v->run;
	struct kvm_regs regs;
	uint8_t *insn;
	unsigned int i;

	memset(&run->msr, 0xff, sizeof(run->msr));
	do_access(_metadata, v, write, msr, *val);
	EXPECT_EQ(write ? EXIT_WRMSR : EXIT_RDMSR, run->exit_reason)
		TH_LOG("%s of 0x%x: exit %s", write ? "WRMSR" : "RDMSR", msr,
		       xg_exit_name(run->exit_reason));
	if (run->exit_reason != KVM_EXIT_X86_RDMSR &&
	    run->exit_reason != KVM_EXIT_X86_WRMSR)
		return access_end(_metadata, v, val);
	EXPECT_EQ(0, run->msr.error);
	for (i = 0; i < sizeof(run->msr.pad); i++)
		EXPECT_EQ(0, run->msr.pad[i]);
	EXPECT_EQ(reason, run->msr.reason);
	EXPECT_EQ(msr, run->msr.index);
	EXPECT_EQ(write ? *val : 0, run->msr.data);
	get_regs(_metadata, v, &regs);
	insn = xg_gpa(vm, regs.rip);
	EXPECT_EQ(0x0f, insn[0]);
	EXPECT_EQ(write ? 0x30 : 0x32, insn[1]);

	run->msr.error = error;
	run->msr.data = data;
	return access_end(_metadata, v, val);
}

/* KVM_X86_SET_MSR_FILTER; 0 or -errno. */
static int set_filter(int vm_fd, struct kvm_msr_filter *f)
{
	return ioctl_err(vm_fd, KVM_X86_SET_MSR_FILTER, f);
}

static void range(struct kvm_msr_filter *f, int i, uint32_t flags,
		  uint32_t base, uint32_t nmsrs, void *bitmap)
{
	f->ranges[i].flags = flags;
	f->ranges[i].base = base;
	f->ranges[i].nmsrs = nmsrs;
	f->ranges[i].bitmap = bitmap;
}

/* The capabilities, as KVM 6.1 answers them on both fds. */
TEST_F(msr, caps)
{
	int fds[] = { self->vm.sys_fd, self->vm.vm_fd };
	unsigned int i;

	for (i = 0; i < 2; i++) {
		EXPECT_EQ(1, ioctl(fds[i], KVM_CHECK_EXTENSION,
				   KVM_CAP_X86_USER_SPACE_MSR));
		EXPECT_EQ(1, ioctl(fds[i], KVM_CHECK_EXTENSION,
				   KVM_CAP_X86_MSR_FILTER));
	}
}

/* KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR): the reasons, no flags. */
TEST_F(msr, enable_cap)
{
	int fd = self->vm.vm_fd;

	EXPECT_EQ(-EINVAL, enable_user_msr(fd, 1ULL << 3, 0));
	EXPECT_EQ(-EINVAL, enable_user_msr(fd, 1ULL << 63, 0));
	EXPECT_EQ(-EINVAL, enable_user_msr(fd, KVM_MSR_EXIT_REASON_FILTER, 1));
	EXPECT_EQ(0, enable_user_msr(fd, ALL_REASONS, 0));
	EXPECT_EQ(0, enable_user_msr(fd, 0, 0));
	EXPECT_EQ(0, enable_user_msr(fd, KVM_MSR_EXIT_REASON_UNKNOWN, 0));
	/* Not a vCPU ioctl. */
	EXPECT_EQ(-EINVAL, ({
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_X86_USER_SPACE_MSR,
		};
		ioctl_err(self->vcpu.fd, KVM_ENABLE_CAP, &cap);
	}));
}

/* Every refusal of KVM_X86_SET_MSR_FILTER, in KVM's order. */
TEST_F(msr, filter_errnos)
{
	int fd = self->vm.vm_fd;
	long page = sysconf(_SC_PAGESIZE);
	uint8_t big[KVM_MSR_FILTER_MAX_BITMAP_SIZE + 8];
	struct kvm_msr_filter f;
	uint64_t bits = ~0ULL;
	uint8_t *map, *edge;
	int i;

	memset(big, 0xff, sizeof(big));
	EXPECT_EQ(-EFAULT, ioctl_err(fd, KVM_X86_SET_MSR_FILTER, NULL));

	memset(&f, 0, sizeof(f));
	EXPECT_EQ(0, set_filter(fd, &f));		/* allow all: no filter */
	f.flags = 2;
	EXPECT_EQ(-EINVAL, set_filter(fd, &f));
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;		/* and no range */
	EXPECT_EQ(-EINVAL, set_filter(fd, &f));

	/* A range without MSRs is left out, whatever else it holds. */
	memset(&f, 0, sizeof(f));
	range(&f, 3, 0xf0, 0x10, 0, (void *)8);
	EXPECT_EQ(0, set_filter(fd, &f));
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	EXPECT_EQ(-EINVAL, set_filter(fd, &f));

	memset(&f, 0, sizeof(f));
	range(&f, 0, 0, 0x10, 1, &bits);		/* no access named */
	EXPECT_EQ(-EINVAL, set_filter(fd, &f));
	range(&f, 0, KVM_MSR_FILTER_READ | 4, 0x10, 1, &bits);
	EXPECT_EQ(-EINVAL, set_filter(fd, &f));
	range(&f, 0, KVM_MSR_FILTER_READ, 0x10, 1, NULL);
	EXPECT_EQ(-EFAULT, set_filter(fd, &f));
	range(&f, 0, KVM_MSR_FILTER_WRITE, 0x10,
	      KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8 + 1, big);
	EXPECT_EQ(-EINVAL, set_filter(fd, &f));
	range(&f, 0, KVM_MSR_FILTER_WRITE, 0x10, 0xffffffffU, big);
	EXPECT_EQ(-EINVAL, set_filter(fd, &f));
	range(&f, 0, KVM_MSR_FILTER_WRITE, 0x10,
	      KVM_MSR_FILTER_MAX_BITMAP_SIZE * 8, big);
	EXPECT_EQ(0, set_filter(fd, &f));
	/* A bad range after good ones: nothing changes, the errno is its. */
	range(&f, 15, KVM_MSR_FILTER_READ, 0, 1, (void *)8);
	EXPECT_EQ(-EFAULT, set_filter(fd, &f));
	range(&f, 15, 8, 0, 1, &bits);
	EXPECT_EQ(-EINVAL, set_filter(fd, &f));

	/* Sixteen ranges, overlapping, wrapping at the top: all taken. */
	memset(&f, 0, sizeof(f));
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++)
		range(&f, i, KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
		      0xfffffff0U + i, 64, &bits);
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	EXPECT_EQ(0, set_filter(fd, &f));

	/* The bitmap is read in whole longs: 65 MSRs need 16 bytes. */
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, mprotect(map + page, page, PROT_NONE));
	edge = map + page - 8;
	memset(&f, 0, sizeof(f));
	range(&f, 0, KVM_MSR_FILTER_READ, 0, 64, edge);
	EXPECT_EQ(0, set_filter(fd, &f));
	range(&f, 0, KVM_MSR_FILTER_READ, 0, 65, edge);
	EXPECT_EQ(-EFAULT, set_filter(fd, &f));
	munmap(map, 2 * page);

	/* The filter is the VM's: a vCPU fd does not know the ioctl. */
	memset(&f, 0, sizeof(f));
	EXPECT_EQ(-EINVAL, set_filter(self->vcpu.fd, &f));
}

/*
 * Without the capability every refusal is a #GP; the MSRs the kernel
 * keeps (IA32_POWER_CTL) are read back as written.
 */
TEST_F(msr, no_exits_by_default)
{
	struct xg_vcpu *v = &self->vcpu;
	uint64_t val;

	start_guest(_metadata, &self->vm, v);
	val = 0;
	EXPECT_FALSE(guest_access(_metadata, v, false, MSR_UNKNOWN, &val));
	val = 5;
	EXPECT_FALSE(guest_access(_metadata, v, true, MSR_UNKNOWN, &val));
	val = 0;
	EXPECT_FALSE(guest_access(_metadata, v, false, MSR_X2APIC_TPR, &val));

	val = 0x12345678abcdULL;
	EXPECT_TRUE(guest_access(_metadata, v, true, MSR_POWER_CTL, &val));
	val = 0;
	EXPECT_TRUE(guest_access(_metadata, v, false, MSR_POWER_CTL, &val));
	EXPECT_EQ(0x12345678abcdULL, val);
	EXPECT_EQ(0x12345678abcdULL, get_msr(_metadata, v, MSR_POWER_CTL));
}

/* An MSR nobody knows: KVM_MSR_EXIT_REASON_UNKNOWN, when asked for. */
TEST_F(msr, unknown_msr_exits)
{
	struct xg_vcpu *v = &self->vcpu;
	struct xg_vm *vm = &self->vm;
	uint64_t val;

	start_taking(_metadata, vm, v, KVM_MSR_EXIT_REASON_UNKNOWN);

	/* The answer of a read lands in EDX:EAX. */
	val = 0;
	EXPECT_FALSE(user_access(_metadata, vm, v, false, MSR_UNKNOWN, &val,
				 KVM_MSR_EXIT_REASON_UNKNOWN, 0,
				 0x1122334455667788ULL));
	EXPECT_EQ(0x1122334455667788ULL, val);
	/* A write brings its data; error makes it a #GP. */
	val = 0xaabbccdd00112233ULL;
	EXPECT_TRUE(user_access(_metadata, vm, v, true, MSR_UNKNOWN, &val,
				KVM_MSR_EXIT_REASON_UNKNOWN, 1, 0));
	val = 0x42;
	EXPECT_FALSE(user_access(_metadata, vm, v, true, MSR_UNKNOWN, &val,
				 KVM_MSR_EXIT_REASON_UNKNOWN, 0, 0));
	/* A failed read leaves EDX:EAX as they were (the handler's view). */
	val = 0;
	EXPECT_TRUE(user_access(_metadata, vm, v, false, MSR_UNKNOWN, &val,
				KVM_MSR_EXIT_REASON_UNKNOWN, 0xff, 0x99));
	EXPECT_EQ(0ULL, val);

	/* A known MSR that refuses stays a #GP without REASON_INVAL. */
	val = 0;
	EXPECT_FALSE(guest_access(_metadata, v, false, MSR_X2APIC_TPR, &val));
	/* And the capability off again: a #GP. */
	ASSERT_EQ(0, enable_user_msr(vm->vm_fd, 0, 0));
	EXPECT_FALSE(guest_access(_metadata, v, false, MSR_UNKNOWN, &val));
}

/* A known MSR that refuses the access: KVM_MSR_EXIT_REASON_INVAL. */
TEST_F(msr, invalid_access_exits)
{
	struct xg_vcpu *v = &self->vcpu;
	struct xg_vm *vm = &self->vm;
	uint64_t val;

	start_taking(_metadata, vm, v, KVM_MSR_EXIT_REASON_INVAL);

	val = 0;
	EXPECT_TRUE(user_access(_metadata, vm, v, false, MSR_X2APIC_TPR, &val,
				KVM_MSR_EXIT_REASON_INVAL, 1, 0));
	/* A reserved bit of MTRRdefType; userspace takes it, as it likes. */
	val = 0x1006;
	EXPECT_FALSE(user_access(_metadata, vm, v, true, MSR_MTRR_DEF, &val,
				 KVM_MSR_EXIT_REASON_INVAL, 0, 0));
	EXPECT_EQ(0ULL, get_msr(_metadata, v, MSR_MTRR_DEF));
	val = 0xc06;			/* valid: the kernel takes it */
	EXPECT_TRUE(guest_access(_metadata, v, true, MSR_MTRR_DEF, &val));
	EXPECT_EQ(0xc06ULL, get_msr(_metadata, v, MSR_MTRR_DEF));
	/* Unknown MSRs: not asked for. */
	val = 0;
	EXPECT_FALSE(guest_access(_metadata, v, false, MSR_UNKNOWN, &val));
}

/*
 * KVM_RUN with immediate_exit after an MSR exit completes the access
 * first: EDX:EAX and RIP are the guest's next before -EINTR.
 */
TEST_F(msr, completed_before_immediate_exit)
{
	struct xg_vcpu *v = &self->vcpu;
	struct xg_vm *vm = &self->vm;
	struct kvm_regs regs;
	uint64_t rip, val;

	start_taking(_metadata, vm, v, KVM_MSR_EXIT_REASON_UNKNOWN);
	do_access(_metadata, v, false, MSR_UNKNOWN, 0);
	ASSERT_EQ(EXIT_RDMSR, v->run->exit_reason);
	get_regs(_metadata, v, &regs);
	rip = regs.rip;
	v->run->msr.data = 0x0123456789abcdefULL;
	v->run->immediate_exit = 1;
	EXPECT_EQ(-EINTR, xg_run(v));
	v->run->immediate_exit = 0;
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(rip + 2, regs.rip);
	EXPECT_EQ(0x89abcdefULL, regs.rax);
	EXPECT_EQ(0x01234567ULL, regs.rdx);
	/* Nothing owed any more: the guest goes on to report. */
	EXPECT_FALSE(access_end(_metadata, v, &val));
	EXPECT_EQ(0x0123456789abcdefULL, val);
}

/*
 * Ranges and the default: the first range holding the MSR for the access
 * decides; KVM_MSR_EXIT_REASON_FILTER comes before the MSR's own answer;
 * the x2APIC's MSRs are never filtered; the VMM's KVM_GET/SET_MSRS never.
 */
TEST_F(msr, filter_ranges)
{
	struct xg_vcpu *v = &self->vcpu;
	struct xg_vm *vm = &self->vm;
	uint64_t deny = 0, allow = ~0ULL, val;
	uint64_t lstar = 0xffffffff81000000ULL;
	struct kvm_msr_filter f;

	ASSERT_EQ(0, enable_user_msr(vm->vm_fd, ALL_REASONS, 0));
	set_msr(_metadata, v, MSR_LSTAR_, lstar);
	memset(&f, 0, sizeof(f));
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	range(&f, 0, KVM_MSR_FILTER_WRITE, MSR_LSTAR_, 1, &deny);
	range(&f, 1, KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE, MSR_LSTAR_,
	      1, &allow);
	range(&f, 2, KVM_MSR_FILTER_READ, MSR_POWER_CTL, 1, &allow);
	ASSERT_EQ(0, set_filter(vm->vm_fd, &f));
	start_guest(_metadata, vm, v);

	/* Read: range 0 is for writes only, range 1 allows. */
	val = 0;
	EXPECT_TRUE(guest_access(_metadata, v, false, MSR_LSTAR_, &val));
	EXPECT_EQ(lstar, val);
	/* Write: range 0 denies; userspace's answer, the MSR untouched. */
	val = 0xffffffff82000000ULL;
	EXPECT_FALSE(user_access(_metadata, vm, v, true, MSR_LSTAR_, &val,
				 KVM_MSR_EXIT_REASON_FILTER, 0, 0));
	EXPECT_EQ(lstar, get_msr(_metadata, v, MSR_LSTAR_));
	/* The VMM's own accesses are not filtered. */
	set_msr(_metadata, v, MSR_LSTAR_, lstar + 0x1000);
	EXPECT_EQ(lstar + 0x1000, get_msr(_metadata, v, MSR_LSTAR_));
	set_msr(_metadata, v, MSR_POWER_CTL, 7);
	/* POWER_CTL: reads allowed, writes denied by default. */
	val = 0;
	EXPECT_TRUE(guest_access(_metadata, v, false, MSR_POWER_CTL, &val));
	EXPECT_EQ(7ULL, val);
	val = 8;
	EXPECT_TRUE(user_access(_metadata, vm, v, true, MSR_POWER_CTL, &val,
				KVM_MSR_EXIT_REASON_FILTER, 1, 0));
	EXPECT_EQ(7ULL, get_msr(_metadata, v, MSR_POWER_CTL));
	/* Denied and unknown: the filter's reason. */
	val = 0;
	EXPECT_FALSE(user_access(_metadata, vm, v, false, MSR_UNKNOWN, &val,
				 KVM_MSR_EXIT_REASON_FILTER, 0, 3));
	EXPECT_EQ(3ULL, val);
	/* The x2APIC's MSRs pass any filter, to their own answer. */
	val = 0;
	EXPECT_TRUE(user_access(_metadata, vm, v, false, MSR_X2APIC_TPR, &val,
				KVM_MSR_EXIT_REASON_INVAL, 1, 0));

	/* Without REASON_FILTER, a denied access is a #GP. */
	ASSERT_EQ(0, enable_user_msr(vm->vm_fd, KVM_MSR_EXIT_REASON_UNKNOWN, 0));
	val = 0;
	EXPECT_FALSE(guest_access(_metadata, v, false, MSR_UNKNOWN, &val));
	val = 1;
	EXPECT_FALSE(guest_access(_metadata, v, true, MSR_POWER_CTL, &val));

	/* A filter that allows all: the kernel answers again. */
	memset(&f, 0, sizeof(f));
	ASSERT_EQ(0, set_filter(vm->vm_fd, &f));
	val = 0xffffffff83000000ULL;
	EXPECT_TRUE(guest_access(_metadata, v, true, MSR_LSTAR_, &val));
	EXPECT_EQ(0xffffffff83000000ULL, get_msr(_metadata, v, MSR_LSTAR_));
}

/*
 * FS and GS base through KVM_GET/SET_MSRS (the segment's base, canonical
 * only), and filters on the MSRs a guest may reach without exits (FS and
 * GS base, the syscall MSRs): denied ones exit, the others still work.
 */
TEST_F(msr, filter_guest_owned_msrs)
{
	struct xg_vcpu *v = &self->vcpu;
	struct xg_vm *vm = &self->vm;
	uint64_t deny = 0, val;
	struct kvm_msr_filter f;
	struct kvm_sregs sregs;

	start_guest(_metadata, vm, v);
	set_msr(_metadata, v, MSR_FS, 0x1000);
	get_sregs(_metadata, v, &sregs);
	EXPECT_EQ(0x1000ULL, sregs.fs.base);
	sregs.gs.base = 0x2000;
	set_sregs(_metadata, v, &sregs);
	EXPECT_EQ(0x2000ULL, get_msr(_metadata, v, MSR_GS));
	val = 0x0000800000000000ULL;			/* not canonical */
	EXPECT_FALSE(vmm_msr(v->fd, MSR_FS, &val, true));
	EXPECT_EQ(0x1000ULL, get_msr(_metadata, v, MSR_FS));

	/* No filter: the guest's own. */
	val = 0;
	EXPECT_TRUE(guest_access(_metadata, v, false, MSR_FS, &val));
	EXPECT_EQ(0x1000ULL, val);

	ASSERT_EQ(0, enable_user_msr(vm->vm_fd, KVM_MSR_EXIT_REASON_FILTER, 0));
	memset(&f, 0, sizeof(f));
	range(&f, 0, KVM_MSR_FILTER_READ, MSR_FS, 1, &deny);
	range(&f, 1, KVM_MSR_FILTER_WRITE, MSR_SFMASK, 1, &deny);
	ASSERT_EQ(0, set_filter(vm->vm_fd, &f));

	val = 0;
	EXPECT_FALSE(user_access(_metadata, vm, v, false, MSR_FS, &val,
				 KVM_MSR_EXIT_REASON_FILTER, 0, 0x77));
	EXPECT_EQ(0x77ULL, val);
	val = 0;
	EXPECT_TRUE(guest_access(_metadata, v, false, MSR_GS, &val));
	EXPECT_EQ(0x2000ULL, val);
	val = 0x3000;
	EXPECT_TRUE(guest_access(_metadata, v, true, MSR_FS, &val));
	val = 0x4000;
	EXPECT_TRUE(guest_access(_metadata, v, true, MSR_GS, &val));
	get_sregs(_metadata, v, &sregs);
	EXPECT_EQ(0x3000ULL, sregs.fs.base);
	EXPECT_EQ(0x4000ULL, sregs.gs.base);
	val = 0x700;
	EXPECT_FALSE(user_access(_metadata, vm, v, true, MSR_SFMASK, &val,
				 KVM_MSR_EXIT_REASON_FILTER, 0, 0));
	val = 0;
	EXPECT_TRUE(guest_access(_metadata, v, false, MSR_SFMASK, &val));
	EXPECT_EQ(0ULL, val);

	/* The filter gone, FS base is the guest's own again. */
	memset(&f, 0, sizeof(f));
	ASSERT_EQ(0, set_filter(vm->vm_fd, &f));
	val = 0;
	EXPECT_TRUE(guest_access(_metadata, v, false, MSR_FS, &val));
	EXPECT_EQ(0x3000ULL, val);
	val = 0x700;
	EXPECT_TRUE(guest_access(_metadata, v, true, MSR_SFMASK, &val));
	EXPECT_EQ(0x700ULL, get_msr(_metadata, v, MSR_SFMASK));
}

struct spin_run {
	struct xg_vcpu *v;
	int done;		/* __atomic */
	int ret;
};

static void *spin_thread(void *arg)
{
	struct spin_run *r = arg;

	r->ret = xg_run(r->v);
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void on_usr1(int sig)
{
}

/*
 * A filter set while the guest runs applies to it: a guest reading FS
 * base in a loop (no exit on either device) exits once the read is denied.
 */
TEST_F(msr, filter_set_while_running)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	struct xg_vcpu *v = &self->vcpu;
	struct xg_vm *vm = &self->vm;
	struct spin_run r = { .v = v };
	uint64_t deny = 0;
	struct kvm_msr_filter f;
	pthread_t th;
	int i;

	ASSERT_EQ(0, enable_user_msr(vm->vm_fd, KVM_MSR_EXIT_REASON_FILTER, 0));
	real_mode_guest(_metadata, vm, v, fs_spin_guest,
			fs_spin_guest_end - fs_spin_guest);
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	ASSERT_EQ(0, pthread_create(&th, NULL, spin_thread, &r));
	usleep(100 * 1000);
	EXPECT_EQ(0, __atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) TH_LOG("the guest stopped: exit %u",
				    v->run->exit_reason);

	memset(&f, 0, sizeof(f));
	range(&f, 0, KVM_MSR_FILTER_READ, MSR_FS, 1, &deny);
	EXPECT_EQ(0, set_filter(vm->vm_fd, &f));
	for (i = 0; i < 500 && !__atomic_load_n(&r.done, __ATOMIC_ACQUIRE);
	     i++)
		usleep(10 * 1000);
	if (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE))
		pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
	signal(SIGUSR1, SIG_DFL);
	ASSERT_EQ(0, r.ret) TH_LOG("KVM_RUN: %s", strerror(-r.ret));
	ASSERT_EQ(EXIT_RDMSR, v->run->exit_reason);
	EXPECT_EQ((uint32_t)KVM_MSR_EXIT_REASON_FILTER, v->run->msr.reason);
	EXPECT_EQ(MSR_FS, v->run->msr.index);

	v->run->msr.data = 0x5a5a;
	run_expect(_metadata, v, KVM_EXIT_IO);
	EXPECT_EQ(PORT, v->run->io.port);
	EXPECT_EQ(STEP_DONE, (uint8_t)xg_io_value(v));
}

TEST_HARNESS_MAIN
