// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 vCPU state a VMM saves, restores and configures, through KVM's
 * ioctls: KVM_GET/SET_MSRS (the count of entries done, what the guest's
 * RDMSR and WRMSR see), APIC_BASE in KVM_GET/SET_SREGS and kvm_run, the
 * FPU through KVM_GET/SET_FPU and KVM_GET/SET_XSAVE, machine-check setup,
 * and the VM ioctls QEMU calls at start-up.
 *
 * The suite runs against /dev/axvcpu and /dev/kvm ($AXVCPU_DEV): every
 * assertion holds for KVM (Linux 6.1, kvm_amd) as well.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "x86_guest.h"
#include "x86_guest_harness.h"

#define MEM_SIZE	XG_SZ_2M
#define PORT		0x10

#define MSR_APIC_BASE		0x01b
#define MSR_MCG_CAP		0x179
#define MSR_MCG_CTL		0x17b
#define MSR_SYSENTER_CS		0x174
#define MSR_SYSENTER_ESP	0x175
#define MSR_SYSENTER_EIP	0x176
#define MSR_MTRR_CAP		0x0fe
#define MSR_MTRR_BASE0		0x200
#define MSR_MTRR_MASK0		0x201
#define MSR_MTRR_FIX64K		0x250
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_PAT			0x277
#define MSR_MC0_CTL		0x400
#define MSR_TSC			0x010
#define MSR_TSC_ADJUST		0x03b
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SFMASK		0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102

#define APIC_BASE_BSP		0x100
#define APIC_BASE_ENABLE	0x800
#define APIC_DEFAULT		0xfee00000ULL
#define MCG_CTL_P		(1ULL << 8)

/* The legacy area of an XSAVE image: where XMM1 and FCW are. */
#define XSAVE_XMM1		(160 + 16)
#define XSAVE_XSTATE_BV		512
#define XSAVE_XCOMP_BV		520

struct msrs {
	struct kvm_msrs hdr;
	struct kvm_msr_entry e[16];
};

FIXTURE(state) {
	struct xg_vm vm;
	struct xg_vcpu vcpu;
};

FIXTURE_SETUP(state)
{
	vm_vcpu_open(_metadata, &self->vm, &self->vcpu, MEM_SIZE);
}

FIXTURE_TEARDOWN(state)
{
	xg_vcpu_destroy(&self->vcpu);
	xg_vm_destroy(&self->vm);
}

/* KVM_GET_MSRS or KVM_SET_MSRS of @n entries: the count, or -errno. */
static int msrs_io(int fd, unsigned long ioctl_nr, struct msrs *m, int n)
{
	int r;

	m->hdr.nmsrs = n;
	m->hdr.pad = 0;
	r = ioctl(fd, ioctl_nr, m);
	return r < 0 ? -errno : r;
}

static uint64_t get_msr(struct __test_metadata *_metadata, int fd,
			uint32_t index)
{
	struct msrs m = { .e[0].index = index };

	EXPECT_EQ(1, msrs_io(fd, KVM_GET_MSRS, &m, 1))
		TH_LOG("KVM_GET_MSRS %#x", index);
	return m.e[0].data;
}

/* KVM_SET_MSRS of one entry: 1 when done, 0 when refused. */
static int set_msr(int fd, uint32_t index, uint64_t data)
{
	struct msrs m = { .e[0] = { .index = index, .data = data } };

	return msrs_io(fd, KVM_SET_MSRS, &m, 1);
}

/* What a VMM writes at reset, read back the same. */
TEST_F(state, msrs_round_trip)
{
	static const struct kvm_msr_entry want[] = {
		{ .index = MSR_SYSENTER_CS, .data = 0x10 },
		/* 32 bits on AMD: KVM keeps no more for a guest not Intel. */
		{ .index = MSR_SYSENTER_ESP, .data = 0x81000000ULL },
		{ .index = MSR_SYSENTER_EIP, .data = 0x81001000ULL },
		{ .index = MSR_STAR, .data = 0x0023001000000000ULL },
		{ .index = MSR_LSTAR, .data = 0xffffffff81a00000ULL },
		{ .index = MSR_CSTAR, .data = 0xffffffff81a00100ULL },
		{ .index = MSR_SFMASK, .data = 0x47700 },
		{ .index = MSR_KERNEL_GS_BASE, .data = 0xffff888000001000ULL },
		{ .index = MSR_PAT, .data = 0x0007010600070106ULL },
		{ .index = MSR_MTRR_DEF_TYPE, .data = 0xc06 },
		{ .index = MSR_MTRR_FIX64K, .data = 0x0606060606060606ULL },
		{ .index = MSR_MTRR_BASE0, .data = 0x80000000ULL },
		{ .index = MSR_MTRR_MASK0, .data = 0xf80000800ULL },
	};
	int n = sizeof(want) / sizeof(want[0]), i;
	struct msrs m;

	memset(&m, 0, sizeof(m));
	memcpy(m.e, want, sizeof(want));
	ASSERT_EQ(n, msrs_io(self->vcpu.fd, KVM_SET_MSRS, &m, n));
	memset(&m, 0, sizeof(m));
	for (i = 0; i < n; i++)
		m.e[i].index = want[i].index;
	ASSERT_EQ(n, msrs_io(self->vcpu.fd, KVM_GET_MSRS, &m, n));
	for (i = 0; i < n; i++)
		EXPECT_EQ(want[i].data, m.e[i].data)
			TH_LOG("MSR %#x", want[i].index);
	/* MTRRcap: read-only, fixed ranges and WC, 8 variable ranges. */
	EXPECT_EQ(0x508ULL, get_msr(_metadata, self->vcpu.fd, MSR_MTRR_CAP));
	EXPECT_EQ(0, set_msr(self->vcpu.fd, MSR_MTRR_CAP, 0x508));
}

/* A batch stops at the first entry refused; the answer is its index. */
TEST_F(state, msrs_stop_at_refused)
{
	struct msrs m;

	memset(&m, 0, sizeof(m));
	m.e[0].index = MSR_SYSENTER_CS;
	m.e[0].data = 0x10;
	m.e[1].index = MSR_PAT;
	m.e[1].data = 0x0808080808080808ULL;	/* type 8: reserved */
	m.e[2].index = MSR_SYSENTER_CS;
	m.e[2].data = 0x20;
	EXPECT_EQ(1, msrs_io(self->vcpu.fd, KVM_SET_MSRS, &m, 3));
	EXPECT_EQ(0x10ULL, get_msr(_metadata, self->vcpu.fd, MSR_SYSENTER_CS));
	/* Not an MSR: refused, and the next entries are not read. */
	m.e[0].index = 0x4fff0000;
	EXPECT_EQ(0, msrs_io(self->vcpu.fd, KVM_GET_MSRS, &m, 3));
	EXPECT_EQ(0, set_msr(self->vcpu.fd, MSR_MTRR_DEF_TYPE, 0x1000));
	EXPECT_EQ(0, set_msr(self->vcpu.fd, MSR_LSTAR, 0x0000800000000000ULL));
	/* KVM's limit: fewer than 256 entries. */
	EXPECT_EQ(-E2BIG, msrs_io(self->vcpu.fd, KVM_GET_MSRS, &m, 256));
}

/*
 * A write from userspace sets the TSC, TSC_ADJUST stays.  (Whether the
 * TSC moves between two reads from userspace is the host's: KVM holds a
 * vCPU's TSC still while it is not running when the host's TSC is not
 * stable, as under an emulator.)
 */
TEST_F(state, tsc)
{
	int fd = self->vcpu.fd;
	uint64_t a;

	ASSERT_EQ(1, set_msr(fd, MSR_TSC, 1ULL << 40));
	a = get_msr(_metadata, fd, MSR_TSC);
	EXPECT_LE(1ULL << 40, a);
	EXPECT_GT((1ULL << 40) + (1ULL << 36), a);
	EXPECT_EQ(0ULL, get_msr(_metadata, fd, MSR_TSC_ADJUST));
}

/*
 * The guest's WRMSR and RDMSR reach the same MSRs as KVM_SET/GET_MSRS:
 * real mode, SYSENTER_CS and PAT written, read back and sent out.
 */
TEST_F(state, guest_msrs)
{
	static const uint8_t code[] = {
		0x66, 0xb9, 0x74, 0x01, 0x00, 0x00,	/* mov $0x174, %ecx */
		0x66, 0xb8, 0x34, 0x12, 0x00, 0x00,	/* mov $0x1234, %eax */
		0x66, 0x31, 0xd2,			/* xor %edx, %edx */
		0x0f, 0x30,				/* wrmsr */
		0x66, 0x31, 0xc0,			/* xor %eax, %eax */
		0x0f, 0x32,				/* rdmsr */
		0x66, 0xe7, PORT,			/* out %eax, $PORT */
		0x66, 0xb9, 0x77, 0x02, 0x00, 0x00,	/* mov $0x277, %ecx */
		0x0f, 0x32,				/* rdmsr */
		0x66, 0xe7, PORT,			/* out %eax, $PORT */
		0x66, 0xb8, 0x06, 0x04, 0x07, 0x00,	/* mov $0x70406, %eax */
		0x0f, 0x30,				/* wrmsr */
		0xf4,					/* hlt */
	};
	struct xg_vcpu *v = &self->vcpu;

	real_mode_guest(_metadata, &self->vm, v, code, sizeof(code));
	ASSERT_EQ(1, set_msr(v->fd, MSR_PAT, 0x0007040600070106ULL));
	run_expect(_metadata, v, KVM_EXIT_IO);
	EXPECT_EQ(0x1234ULL, xg_io_value(v));
	run_expect(_metadata, v, KVM_EXIT_IO);
	EXPECT_EQ(0x00070106ULL, xg_io_value(v));
	run_expect(_metadata, v, KVM_EXIT_HLT);
	EXPECT_EQ(0x1234ULL, get_msr(_metadata, v->fd, MSR_SYSENTER_CS));
	/* EDX still held PAT's high half when the guest wrote it. */
	EXPECT_EQ(0x0007040600070406ULL, get_msr(_metadata, v->fd, MSR_PAT));
}

/* APIC_BASE: KVM's reset value, in SREGS, the MSR and kvm_run alike. */
TEST_F(state, apic_base)
{
	static const uint8_t code[] = { 0xf4 };	/* hlt */
	uint64_t bsp = APIC_DEFAULT | APIC_BASE_ENABLE | APIC_BASE_BSP;
	struct xg_vcpu *v = &self->vcpu, v1;
	struct kvm_sregs sregs, back;

	get_sregs(_metadata, v, &sregs);
	EXPECT_EQ(bsp, sregs.apic_base);
	EXPECT_EQ(bsp, get_msr(_metadata, v->fd, MSR_APIC_BASE));
	ASSERT_EQ(0, xg_vcpu_create(&self->vm, 1, &v1));
	get_sregs(_metadata, &v1, &back);
	EXPECT_EQ(APIC_DEFAULT | APIC_BASE_ENABLE, back.apic_base);
	xg_vcpu_destroy(&v1);

	/* Another base goes in; a reserved bit is refused, nothing moves. */
	sregs.apic_base = 0xfed00000ULL | APIC_BASE_ENABLE | APIC_BASE_BSP;
	set_sregs(_metadata, v, &sregs);
	EXPECT_EQ(sregs.apic_base, get_msr(_metadata, v->fd, MSR_APIC_BASE));
	back = sregs;
	back.apic_base |= 1;
	back.cr3 = 0x5000;
	EXPECT_EQ(-EINVAL, xg_set_sregs(v, &back));
	get_sregs(_metadata, v, &back);
	EXPECT_EQ(sregs.apic_base, back.apic_base);
	EXPECT_EQ(sregs.cr3, back.cr3);

	real_mode_guest(_metadata, &self->vm, v, code, sizeof(code));
	run_expect(_metadata, v, KVM_EXIT_HLT);
	EXPECT_EQ(0xfed00000ULL | APIC_BASE_ENABLE | APIC_BASE_BSP,
		  v->run->apic_base);
}

/*
 * The FPU through KVM_SET_FPU and KVM_SET_XSAVE: what userspace puts in
 * XMM1 is what the guest's MOVD reads.
 */
TEST_F(state, fpu_and_xsave)
{
	static const uint8_t code[] = {
		0x66, 0x0f, 0x7e, 0xc8,		/* movd %xmm1, %eax */
		0x66, 0xe7, PORT,		/* out %eax, $PORT */
		0xf4,				/* hlt */
	};
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_xsave *xs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	uint32_t val;
	int size;

	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_FPU, &fpu));
	EXPECT_EQ(0x37f, fpu.fcw);		/* FNINIT's, KVM's reset */
	fpu.xmm[1][0] = 0x11;
	fpu.fcw = 0x27f;
	ASSERT_EQ(0, ioctl(v->fd, KVM_SET_FPU, &fpu));
	memset(&fpu, 0, sizeof(fpu));
	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_FPU, &fpu));
	EXPECT_EQ(0x11, fpu.xmm[1][0]);
	EXPECT_EQ(0x27f, fpu.fcw);

	if (!xg_cpu_has_xsave())
		SKIP(return, "no XSAVE");
	size = ioctl(self->vm.sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	ASSERT_LE((int)sizeof(*xs), size);
	xs = calloc(1, size);
	ASSERT_NE(NULL, xs);
	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_XSAVE2, xs));
	/* XMM1 in the image, and x87 and SSE marked as not in reset state. */
	val = 0xfeedc0de;
	memcpy((uint8_t *)xs->region + XSAVE_XMM1, &val, sizeof(val));
	((uint8_t *)xs->region)[XSAVE_XSTATE_BV] |= 3;
	ASSERT_EQ(0, ioctl(v->fd, KVM_SET_XSAVE, xs));
	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_FPU, &fpu));
	EXPECT_EQ(0xde, fpu.xmm[1][0]);
	EXPECT_EQ(0xfe, fpu.xmm[1][3]);
	/* The standard format has no XCOMP_BV: refused, nothing changed. */
	((uint8_t *)xs->region)[XSAVE_XCOMP_BV] = 1;
	((uint8_t *)xs->region)[XSAVE_XMM1] = 0;
	EXPECT_EQ(-1, ioctl(v->fd, KVM_SET_XSAVE, xs));
	EXPECT_EQ(EINVAL, errno);
	free(xs);

	real_mode_guest(_metadata, &self->vm, v, code, sizeof(code));
	get_sregs(_metadata, v, &sregs);
	sregs.cr4 |= 1ULL << 9;			/* OSFXSR: SSE on */
	set_sregs(_metadata, v, &sregs);
	run_expect(_metadata, v, KVM_EXIT_IO);
	EXPECT_EQ(0xfeedc0deULL, xg_io_value(v));
	run_expect(_metadata, v, KVM_EXIT_HLT);
}

/* KVM_X86_SETUP_MCE: the banks it gives exist, MCG_CTL and CTLs all ones. */
TEST_F(state, mce_setup)
{
	int fd = self->vcpu.fd;
	uint64_t sup = 0, cap;

	ASSERT_LE(10, ioctl(self->vm.sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MCE));
	ASSERT_EQ(0, ioctl(self->vm.sys_fd, KVM_X86_GET_MCE_CAP_SUPPORTED, &sup));
	EXPECT_NE(0ULL, sup & MCG_CTL_P);
	cap = 0;
	EXPECT_EQ(-1, ioctl(fd, KVM_X86_SETUP_MCE, &cap));
	EXPECT_EQ(EINVAL, errno);
	cap = 33;
	EXPECT_EQ(-1, ioctl(fd, KVM_X86_SETUP_MCE, &cap));
	EXPECT_EQ(EINVAL, errno);
	cap = MCG_CTL_P | 10;
	ASSERT_EQ(0, ioctl(fd, KVM_X86_SETUP_MCE, &cap));
	EXPECT_EQ(cap, get_msr(_metadata, fd, MSR_MCG_CAP));
	EXPECT_EQ(~0ULL, get_msr(_metadata, fd, MSR_MCG_CTL));
	EXPECT_EQ(~0ULL, get_msr(_metadata, fd, MSR_MC0_CTL + 4 * 9));
	/* Bank 10 does not exist; a CTL is all ones or 0. */
	EXPECT_EQ(0, set_msr(fd, MSR_MC0_CTL + 4 * 10, 0));
	EXPECT_EQ(0, set_msr(fd, MSR_MC0_CTL, 0x1234));
	EXPECT_EQ(1, set_msr(fd, MSR_MC0_CTL, 0));
	EXPECT_EQ(1, set_msr(fd, MSR_MCG_CTL, 0));
}

/* The VM ioctls QEMU calls at start-up without an in-kernel irqchip. */
TEST(vm_setup)
{
	struct kvm_irq_routing routing = { .nr = 0 };
	struct xg_vm vm;
	struct xg_vcpu v;
	uint64_t addr = 0xfeffc000;

	ASSERT_EQ(0, xg_vm_create(&vm, MEM_SIZE));
	EXPECT_LT(0, ioctl(vm.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING));
	EXPECT_EQ(-1, ioctl(vm.vm_fd, KVM_SET_GSI_ROUTING, &routing));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(1, ioctl(vm.vm_fd, KVM_CHECK_EXTENSION,
			   KVM_CAP_SET_IDENTITY_MAP_ADDR));
	EXPECT_EQ(0, ioctl(vm.vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr));
	EXPECT_EQ(0, ioctl(vm.vm_fd, KVM_SET_TSS_ADDR, 0xfeffd000UL));
	ASSERT_EQ(0, xg_vcpu_create(&vm, 0, &v));
	/* Too late once a vCPU exists. */
	EXPECT_EQ(-1, ioctl(vm.vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &addr));
	EXPECT_EQ(EINVAL, errno);
	xg_vcpu_destroy(&v);
	xg_vm_destroy(&vm);
}

TEST_HARNESS_MAIN
