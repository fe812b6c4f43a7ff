// SPDX-License-Identifier: GPL-2.0
/*
 * x86_irqchip_test: the in-kernel irqchip of KVM_CREATE_IRQCHIP.  Its
 * rules (before any vCPU, once; KVM_INTERRUPT refused then), the local
 * APIC's register page through KVM_GET/SET_LAPIC, and long-mode guests
 * that drive their APIC through MMIO the kernel handles: the timer, one
 * shot and periodic, waking a HLT; a self-IPI; INIT and SIPI that start
 * a second vCPU; a fixed IPI to a second vCPU halted in another thread.
 * Runs against /dev/axvcpu and KVM ($AXVCPU_DEV): every assertion holds
 * for both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "x86_guest.h"
#include "x86_guest_harness.h"

#define MEM_SIZE	0x80000UL
#define IDT		0x4000UL	/* 64-bit gates, below the stack */
#define STACK1		0x6000UL	/* the second vCPU's stack */
#define CODE1		0x1800UL	/* the second vCPU's code */
#define SIPI_VEC	0x05		/* starts at 0x5000 */

/* The APIC's registers (MMIO offsets) and the values KVM gives them. */
#define APIC_ID		0x20
#define APIC_LVR	0x30
#define APIC_TASKPRI	0x80
#define APIC_PROCPRI	0xa0
#define APIC_LDR	0xd0
#define APIC_DFR	0xe0
#define APIC_SPIV	0xf0
#define APIC_ICR2	0x310
#define APIC_LVTT	0x320
#define APIC_LVT0	0x350
#define APIC_LVT1	0x360
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0
#define KVM_APIC_VERSION	0x50014	/* 0x14, six LVT entries */
#define LVT_MASKED	0x10000
#define LVT_EXTINT	0x700

/*
 * Each vector's handler counts in its own word of XG_DATA (handler_at()
 * patches the address of the INCL, bytes 3-6), then writes EOI: the
 * guests keep the APIC's address in RBX.
 */
GUEST64(irq_handler,
	"incl 0x3000\n"
	"movl $0, 0xb0(%rbx)\n"
	"iretq\n");

static uint32_t apic_reg(const struct kvm_lapic_state *s, unsigned int r)
{
	uint32_t v;

	memcpy(&v, s->regs + r, 4);
	return v;
}

static void apic_set(struct kvm_lapic_state *s, unsigned int r, uint32_t v)
{
	memcpy(s->regs + r, &v, 4);
}

static uint32_t counter(struct xg_vm *vm, unsigned int vec)
{
	return *(uint32_t *)xg_gpa(vm, XG_DATA + 4 * (vec & 0xf));
}

/*
 * A handler for @vec at XG_CODE2 + 32 * (vec & 0xf) and its IDT gate: it
 * counts in XG_DATA's word (vec & 0xf).
 */
static void handler_at(struct xg_vm *vm, unsigned int vec)
{
	uint64_t h = XG_CODE2 + 32 * (vec & 0xf);
	uint8_t *gate = xg_gpa(vm, IDT + 16 * vec);
	uint32_t word = XG_DATA + 4 * (vec & 0xf);
	size_t n = irq_handler_end - irq_handler;
	uint8_t code[32];

	memcpy(code, irq_handler, n);
	memcpy(code + 3, &word, 4);
	xg_load(vm, h, code, n);
	memset(gate, 0, 16);
	gate[0] = h & 0xff;
	gate[1] = (h >> 8) & 0xff;
	gate[2] = XG_SEL_CODE64;
	gate[5] = 0x8e;			/* present, 64-bit interrupt gate */
	gate[6] = (h >> 16) & 0xff;
	gate[7] = (h >> 24) & 0xff;
}

static int create_irqchip(struct xg_vm *vm)
{
	return ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) ? -errno : 0;
}

static int get_lapic(struct xg_vcpu *v, struct kvm_lapic_state *s)
{
	return ioctl(v->fd, KVM_GET_LAPIC, s) ? -errno : 0;
}

static int set_lapic(struct xg_vcpu *v, struct kvm_lapic_state *s)
{
	return ioctl(v->fd, KVM_SET_LAPIC, s) ? -errno : 0;
}

/*
 * A second vCPU, its APIC state set back as a VMM restores it (QEMU does
 * at reset): KVM 6.1 puts a new vCPU into its map of APIC destinations
 * only once something changes an APIC, and no IPI reaches it before.
 */
static void second_vcpu(struct __test_metadata *_metadata, struct xg_vm *vm,
			struct xg_vcpu *v)
{
	struct kvm_lapic_state s;
	int ret;

	ret = xg_vcpu_create(vm, 1, v);
	ASSERT_EQ(0, ret) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-ret));
	ASSERT_EQ(0, get_lapic(v, &s));
	ASSERT_EQ(0, set_lapic(v, &s));
}

static int get_mp_state(struct xg_vcpu *v, uint32_t *mp)
{
	struct kvm_mp_state s;

	if (ioctl(v->fd, KVM_GET_MP_STATE, &s))
		return -errno;
	*mp = s.mp_state;
	return 0;
}

static int set_mp_state(struct xg_vcpu *v, uint32_t mp)
{
	struct kvm_mp_state s = { .mp_state = mp };

	return ioctl(v->fd, KVM_SET_MP_STATE, &s) ? -errno : 0;
}

FIXTURE(irqchip) {
	struct xg_vm vm;
	struct xg_vcpu vcpu, vcpu1;
};

FIXTURE_SETUP(irqchip)
{
	int ret;

	self->vcpu.fd = -1;
	self->vcpu1.fd = -1;
	ret = xg_vm_create(&self->vm, MEM_SIZE);
	ASSERT_EQ(0, ret)
		TH_LOG("a VM on %s: %s", xg_dev_path(), strerror(-ret));
	ret = create_irqchip(&self->vm);
	ASSERT_EQ(0, ret) TH_LOG("KVM_CREATE_IRQCHIP: %s", strerror(-ret));
	ret = xg_vcpu_create(&self->vm, 0, &self->vcpu);
	ASSERT_EQ(0, ret) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(irqchip)
{
	if (self->vcpu1.fd >= 0)
		xg_vcpu_destroy(&self->vcpu1);
	if (self->vcpu.fd >= 0)
		xg_vcpu_destroy(&self->vcpu);
	xg_vm_destroy(&self->vm);
}

/* A long-mode guest of @code at XG_CODE, with its IDT at IDT. */
static void apic_guest(struct __test_metadata *_metadata, struct xg_vm *vm,
		       struct xg_vcpu *v, const uint8_t *code,
		       const uint8_t *end)
{
	struct kvm_sregs sregs;

	ASSERT_LT((size_t)(end - code), CODE1 - XG_CODE);
	long_mode_guest(_metadata, vm, v, code, end - code);
	get_sregs(_metadata, v, &sregs);
	sregs.idt.base = IDT;
	sregs.idt.limit = 256 * 16 - 1;
	set_sregs(_metadata, v, &sregs);
}

/* The next exit is an OUT to @port; its value. */
static uint64_t expect_out(struct __test_metadata *_metadata,
			   struct xg_vcpu *v, uint16_t port)
{
	char buf[160];

	run_expect(_metadata, v, KVM_EXIT_IO);
	xg_exit_str(v, buf, sizeof(buf));
	EXPECT_EQ(KVM_EXIT_IO_OUT, v->run->io.direction) TH_LOG("%s", buf);
	EXPECT_EQ(port, v->run->io.port) TH_LOG("%s", buf);
	return xg_io_value(v);
}

TEST(create_rules)
{
	struct kvm_lapic_state s;
	struct xg_vcpu v = { .fd = -1 };
	struct xg_vm vm;
	int ret;

	ret = xg_vm_create(&vm, MEM_SIZE);
	ASSERT_EQ(0, ret) TH_LOG("a VM: %s", strerror(-ret));
	EXPECT_EQ(1, ioctl(vm.vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP));
	ret = xg_vcpu_create(&vm, 0, &v);
	ASSERT_EQ(0, ret) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-ret));
	/* No APIC without an irqchip, and no irqchip after a vCPU. */
	EXPECT_EQ(-EINVAL, get_lapic(&v, &s));
	EXPECT_EQ(-EINVAL, set_lapic(&v, &s));
	EXPECT_EQ(-EINVAL, set_mp_state(&v, KVM_MP_STATE_HALTED));
	EXPECT_EQ(-EINVAL, create_irqchip(&vm));
	xg_vcpu_destroy(&v);
	xg_vm_destroy(&vm);

	ret = xg_vm_create(&vm, MEM_SIZE);
	ASSERT_EQ(0, ret) TH_LOG("a VM: %s", strerror(-ret));
	EXPECT_EQ(0, create_irqchip(&vm));
	EXPECT_EQ(-EEXIST, create_irqchip(&vm));
	ret = xg_vcpu_create(&vm, 0, &v);
	ASSERT_EQ(0, ret) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-ret));
	/* External interrupts come from the in-kernel PIC now. */
	EXPECT_EQ(-ENXIO, xg_interrupt(&v, 0x20));
	EXPECT_EQ(-EINVAL, xg_interrupt(&v, 256));
	xg_vcpu_destroy(&v);
	xg_vm_destroy(&vm);
}

/* What KVM gives a new vCPU: BSP or not, its APIC and its MP state. */
TEST_F(irqchip, reset_state)
{
	struct kvm_lapic_state s;
	uint32_t mp = 0;
	int ret;

	ASSERT_EQ(0, get_lapic(&self->vcpu, &s));
	EXPECT_EQ(0U, apic_reg(&s, APIC_ID));
	EXPECT_EQ((uint32_t)KVM_APIC_VERSION, apic_reg(&s, APIC_LVR));
	EXPECT_EQ(0xffU, apic_reg(&s, APIC_SPIV));
	EXPECT_EQ(0xffffffffU, apic_reg(&s, APIC_DFR));
	EXPECT_EQ((uint32_t)LVT_MASKED, apic_reg(&s, APIC_LVTT));
	EXPECT_EQ((uint32_t)LVT_EXTINT, apic_reg(&s, APIC_LVT0));
	EXPECT_EQ((uint32_t)LVT_MASKED, apic_reg(&s, APIC_LVT1));
	ASSERT_EQ(0, get_mp_state(&self->vcpu, &mp));
	EXPECT_EQ((uint32_t)KVM_MP_STATE_RUNNABLE, mp);

	ret = xg_vcpu_create(&self->vm, 1, &self->vcpu1);
	ASSERT_EQ(0, ret) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-ret));
	ASSERT_EQ(0, get_lapic(&self->vcpu1, &s));
	EXPECT_EQ(1U << 24, apic_reg(&s, APIC_ID));
	EXPECT_EQ((uint32_t)LVT_MASKED, apic_reg(&s, APIC_LVT0));
	ASSERT_EQ(0, get_mp_state(&self->vcpu1, &mp));
	EXPECT_EQ((uint32_t)KVM_MP_STATE_UNINITIALIZED, mp);
	EXPECT_EQ(0, set_mp_state(&self->vcpu1, KVM_MP_STATE_HALTED));
	ASSERT_EQ(0, get_mp_state(&self->vcpu1, &mp));
	EXPECT_EQ((uint32_t)KVM_MP_STATE_HALTED, mp);
	EXPECT_EQ(-EINVAL, set_mp_state(&self->vcpu1, 100));
}

/* Registers KVM_SET_LAPIC takes as they are, and what they read back. */
static const struct {
	unsigned int reg;
	uint32_t val;
} round_trip[] = {
	{ APIC_ID, 3U << 24 },
	{ APIC_TASKPRI, 0x20 },
	{ APIC_LDR, 0x04000000 },
	{ APIC_DFR, 0x0fffffff },
	{ APIC_SPIV, 0x1ff },
	{ APIC_LVTT, 0x20030 },
	{ APIC_LVT1, 0x400 },
	{ APIC_ICR2, 0x02000000 },
	{ APIC_TDCR, 0xb },
};

/* KVM_SET_LAPIC takes the page; the version and PPR follow from it. */
TEST_F(irqchip, lapic_round_trip)
{
	struct kvm_lapic_state s, t;
	unsigned int i;

	ASSERT_EQ(0, get_lapic(&self->vcpu, &s));
	for (i = 0; i < sizeof(round_trip) / sizeof(round_trip[0]); i++)
		apic_set(&s, round_trip[i].reg, round_trip[i].val);
	apic_set(&s, APIC_LVR, 0x12345678);
	ASSERT_EQ(0, set_lapic(&self->vcpu, &s));
	ASSERT_EQ(0, get_lapic(&self->vcpu, &t));
	for (i = 0; i < sizeof(round_trip) / sizeof(round_trip[0]); i++)
		EXPECT_EQ(round_trip[i].val, apic_reg(&t, round_trip[i].reg))
			TH_LOG("register %#x", round_trip[i].reg);
	EXPECT_EQ((uint32_t)KVM_APIC_VERSION, apic_reg(&t, APIC_LVR));
	EXPECT_EQ(0x20U, apic_reg(&t, APIC_PROCPRI));
	EXPECT_EQ(0U, apic_reg(&t, APIC_TMCCT));
}

/*
 * The guest reads its APIC's version through MMIO (no exit to userspace),
 * enables it, and arms the timer one shot (vector 0x40, 1 ms at divide
 * by 1): STI; HLT sleeps until the interrupt, whose handler counts.
 */
GUEST64(oneshot_guest,
	"mov $0xfee00000, %ebx\n"
	"mov 0x30(%rbx), %eax\n"
	"out %eax, $0x13\n"
	"movl $0x1ff, 0xf0(%rbx)\n"
	"movl $0xb, 0x3e0(%rbx)\n"
	"movl $0x40, 0x320(%rbx)\n"
	"movl $1000000, 0x380(%rbx)\n"
	"sti\n"
	"hlt\n"
	"cli\n"
	"mov 0x3000, %eax\n"
	"out %eax, $0x10\n"
	"mov 0x390(%rbx), %eax\n"
	"out %eax, $0x11\n"
	"2: jmp 2b\n");

TEST_F(irqchip, timer_oneshot)
{
	struct xg_vcpu *v = &self->vcpu;
	struct timespec t0, t1;
	long ns;

	handler_at(&self->vm, 0x40);
	apic_guest(_metadata, &self->vm, v, oneshot_guest, oneshot_guest_end);
	EXPECT_EQ((uint64_t)KVM_APIC_VERSION, expect_out(_metadata, v, 0x13));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ(1U, expect_out(_metadata, v, 0x10));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + t1.tv_nsec - t0.tv_nsec;
	EXPECT_GE(ns, 1000000L) TH_LOG("woke after %ld ns", ns);
	/* Expired: the current count is 0. */
	EXPECT_EQ(0U, expect_out(_metadata, v, 0x11));
	EXPECT_EQ(1U, counter(&self->vm, 0x40));
}

/*
 * Periodic, 2 ms at divide by 2 (TDCR 0), vector 0x41: the guest halts
 * until three interrupts came, then stops the timer.  Without a CPUID set
 * the mode bit would not stick (KVM's rule): LVTT stays one shot.
 */
GUEST64(periodic_guest,
	"mov $0xfee00000, %ebx\n"
	"movl $0x1ff, 0xf0(%rbx)\n"
	"movl $0, 0x3e0(%rbx)\n"
	"movl $0x20041, 0x320(%rbx)\n"
	"movl $1000000, 0x380(%rbx)\n"
	"mov 0x390(%rbx), %eax\n"
	"out %eax, $0x11\n"
	"1: sti\n"
	"hlt\n"
	"cli\n"
	"cmpl $3, 0x3004\n"
	"jb 1b\n"
	"movl $0, 0x380(%rbx)\n"
	"mov 0x3004, %eax\n"
	"out %eax, $0x12\n"
	"2: jmp 2b\n");

TEST_F(irqchip, timer_periodic)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_lapic_state s;
	uint64_t count;

	/* KVM takes the periodic mode once the VMM set a CPUID. */
	ASSERT_EQ(0, xg_kvm_set_supported_cpuid(self->vm.sys_fd, v));
	handler_at(&self->vm, 0x41);
	apic_guest(_metadata, &self->vm, v, periodic_guest,
		   periodic_guest_end);
	/*
	 * Counting down from 1000000: some of it is gone already, all of it
	 * if a period passed before the read (0, as KVM gives it then).
	 */
	count = expect_out(_metadata, v, 0x11);
	EXPECT_LE(count, 1000000U);
	EXPECT_LE(3U, expect_out(_metadata, v, 0x12));
	ASSERT_EQ(0, get_lapic(v, &s));
	EXPECT_EQ(0x20041U, apic_reg(&s, APIC_LVTT));
	EXPECT_EQ(0U, apic_reg(&s, APIC_TMICT));
	EXPECT_EQ(0U, apic_reg(&s, APIC_TMCCT));
}

/* A fixed self-IPI through ICR's shorthand, taken at STI. */
GUEST64(self_ipi_guest,
	"mov $0xfee00000, %ebx\n"
	"movl $0x1ff, 0xf0(%rbx)\n"
	"movl $0x40042, 0x300(%rbx)\n"
	"sti\n"
	"nop\n"
	"cli\n"
	"mov 0x3008, %eax\n"
	"out %eax, $0x10\n"
	"2: jmp 2b\n");

TEST_F(irqchip, self_ipi)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_lapic_state s;

	handler_at(&self->vm, 0x42);
	apic_guest(_metadata, &self->vm, v, self_ipi_guest,
		   self_ipi_guest_end);
	EXPECT_EQ(1U, expect_out(_metadata, v, 0x10));
	/* Delivered and EOIed: nothing left in IRR or ISR, ICR not busy. */
	ASSERT_EQ(0, get_lapic(v, &s));
	EXPECT_EQ(0x40042U, apic_reg(&s, 0x300));
	EXPECT_EQ(0U, apic_reg(&s, 0x200 + 0x20));	/* IRR 64-95 */
	EXPECT_EQ(0U, apic_reg(&s, 0x100 + 0x20));	/* ISR 64-95 */
}

/* A vCPU's KVM_RUN in a thread of its own. */
struct runner {
	struct xg_vcpu *v;
	pthread_t th;
	int ret;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;

	r->ret = xg_run(r->v);
	return NULL;
}

/* Its KVM_RUN returned within 10 s, with 0. */
static void join_runner(struct __test_metadata *_metadata, struct runner *r)
{
	struct timespec until;
	int ret;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	ret = pthread_timedjoin_np(r->th, NULL, &until);
	/* Never woken: nothing ends its KVM_RUN but the end of the test. */
	if (ret)
		pthread_kill(r->th, SIGKILL);
	ASSERT_EQ(0, ret) TH_LOG("the vCPU's KVM_RUN did not return");
	ASSERT_EQ(0, r->ret) TH_LOG("KVM_RUN: %s", strerror(-r->ret));
}

/* The BSP writes ESI to its ICR, APIC 1 the destination. */
GUEST64(icr_guest,
	"mov $0xfee00000, %ebx\n"
	"movl $0x01000000, 0x310(%rbx)\n"
	"mov %esi, 0x300(%rbx)\n"
	"out %al, $0x10\n"
	"2: jmp 2b\n");

#define ICR_INIT	0x4500		/* INIT, assert */
#define ICR_SIPI	(0x4600 | SIPI_VEC)

/* @v set to run icr_guest with @icr. */
static void icr_setup(struct __test_metadata *_metadata, struct xg_vm *vm,
		      struct xg_vcpu *v, uint32_t icr)
{
	struct kvm_regs regs;

	apic_guest(_metadata, vm, v, icr_guest, icr_guest_end);
	get_regs(_metadata, v, &regs);
	regs.rsi = icr;
	set_regs(_metadata, v, &regs);
}

/* The BSP writes @icr, to its OUT. */
static void send_icr(struct __test_metadata *_metadata, struct xg_vm *vm,
		     struct xg_vcpu *v, uint32_t icr)
{
	icr_setup(_metadata, vm, v, icr);
	expect_out(_metadata, v, 0x10);
}

/* Started by the SIPI: real mode at 0x5000, CS 0x500. */
GUEST16(ap_guest,
	"mov %cs, %ax\n"
	"out %ax, $0x11\n"
	"2: jmp 2b\n");

/* An INIT IPI: a vCPU waiting for INIT now waits for a SIPI. */
TEST_F(irqchip, init_ipi)
{
	uint32_t mp = ~0U;

	second_vcpu(_metadata, &self->vm, &self->vcpu1);
	send_icr(_metadata, &self->vm, &self->vcpu, ICR_INIT);
	ASSERT_EQ(0, get_mp_state(&self->vcpu1, &mp));
	EXPECT_EQ((uint32_t)KVM_MP_STATE_INIT_RECEIVED, mp);
}

/*
 * A vCPU set to wait for a SIPI (KVM_SET_MP_STATE, as a VMM restores
 * one) starts at the SIPI's page in real mode.
 */
TEST_F(irqchip, sipi)
{
	struct xg_vcpu *v1 = &self->vcpu1;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint32_t mp = ~0U;

	second_vcpu(_metadata, &self->vm, v1);
	ASSERT_EQ(0, get_mp_state(v1, &mp));
	EXPECT_EQ((uint32_t)KVM_MP_STATE_UNINITIALIZED, mp);
	ASSERT_EQ(0, set_mp_state(v1, KVM_MP_STATE_INIT_RECEIVED));
	xg_load(&self->vm, SIPI_VEC << 12, ap_guest, ap_guest_end - ap_guest);
	send_icr(_metadata, &self->vm, &self->vcpu, ICR_SIPI);
	ASSERT_EQ(0, get_mp_state(v1, &mp));
	EXPECT_EQ((uint32_t)KVM_MP_STATE_RUNNABLE, mp);
	get_sregs(_metadata, v1, &sregs);
	EXPECT_EQ(SIPI_VEC << 8, sregs.cs.selector);
	EXPECT_EQ((uint64_t)SIPI_VEC << 12, sregs.cs.base);
	get_regs(_metadata, v1, &regs);
	EXPECT_EQ(0U, regs.rip);
	EXPECT_EQ((uint64_t)SIPI_VEC << 8, expect_out(_metadata, v1, 0x11));
}

/* APIC 1 halts until vector 0x43 comes; the BSP sends it (icr_guest). */
GUEST64(ipi_target_guest,
	"mov $0xfee00000, %ebx\n"
	"sti\n"
	"hlt\n"
	"cli\n"
	"mov 0x300c, %eax\n"
	"out %eax, $0x12\n"
	"2: jmp 2b\n");

TEST_F(irqchip, ipi_to_other_vcpu)
{
	struct xg_vcpu *v1 = &self->vcpu1;
	struct runner r = { .v = v1 };
	struct kvm_lapic_state s;
	struct kvm_regs regs;

	second_vcpu(_metadata, &self->vm, v1);
	handler_at(&self->vm, 0x43);
	icr_setup(_metadata, &self->vm, &self->vcpu, 0x43);
	xg_load(&self->vm, CODE1, ipi_target_guest,
		ipi_target_guest_end - ipi_target_guest);
	/* The second vCPU: runnable, its own code, stack and APIC enabled. */
	ASSERT_EQ(0, set_mp_state(v1, KVM_MP_STATE_RUNNABLE));
	apic_guest(_metadata, &self->vm, v1, icr_guest, icr_guest_end);
	get_regs(_metadata, v1, &regs);
	regs.rip = CODE1;
	regs.rsp = STACK1;
	set_regs(_metadata, v1, &regs);
	ASSERT_EQ(0, get_lapic(v1, &s));
	apic_set(&s, APIC_SPIV, 0x1ff);
	ASSERT_EQ(0, set_lapic(v1, &s));

	ASSERT_EQ(0, pthread_create(&r.th, NULL, run_thread, &r));
	expect_out(_metadata, &self->vcpu, 0x10);
	join_runner(_metadata, &r);
	ASSERT_EQ((__u32)KVM_EXIT_IO, v1->run->exit_reason);
	EXPECT_EQ(0x12, v1->run->io.port);
	EXPECT_EQ(1U, xg_io_value(v1));
}

/*
 * The guest points IOAPIC pin 20 (edge) at vector 0x44 and pin 21 (level)
 * at 0x45, both to APIC 0, and reads the IOAPIC's version; then it takes
 * what KVM_IRQ_LINE raises.
 */
GUEST64(ioapic_guest,
	"mov $0xfee00000, %ebx\n"
	"movl $0x1ff, 0xf0(%rbx)\n"
	"mov $0xfec00000, %ecx\n"
	"movl $0x38, (%rcx)\n"
	"movl $0x44, 0x10(%rcx)\n"
	"movl $0x39, (%rcx)\n"
	"movl $0, 0x10(%rcx)\n"
	"movl $0x3a, (%rcx)\n"
	"movl $0x8045, 0x10(%rcx)\n"
	"movl $0x3b, (%rcx)\n"
	"movl $0, 0x10(%rcx)\n"
	"movl $0x01, (%rcx)\n"
	"mov 0x10(%rcx), %eax\n"
	"out %eax, $0x13\n"
	"sti\n"
	"hlt\n"
	"cli\n"
	"mov 0x3010, %eax\n"
	"out %eax, $0x12\n"
	"sti\n"
	"hlt\n"
	"cli\n"
	"mov 0x3014, %eax\n"
	"out %eax, $0x14\n"
	"2: jmp 2b\n");

static int irq_line(struct xg_vm *vm, uint32_t gsi, uint32_t level,
		    int32_t *status)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE_STATUS, &l))
		return -errno;
	*status = l.status;
	return 0;
}

static int get_ioapic(struct xg_vm *vm, struct kvm_irqchip *c)
{
	memset(c, 0, sizeof(*c));
	c->chip_id = KVM_IRQCHIP_IOAPIC;
	return ioctl(vm->vm_fd, KVM_GET_IRQCHIP, c) ? -errno : 0;
}

TEST_F(irqchip, ioapic_irq_line)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_irq_level l = { .irq = 20, .level = 1 };
	struct kvm_lapic_state s;
	struct kvm_irqchip c;
	int32_t status = 0;

	handler_at(&self->vm, 0x44);
	handler_at(&self->vm, 0x45);
	apic_guest(_metadata, &self->vm, v, ioapic_guest, ioapic_guest_end);
	/* 24 pins, version 0x11. */
	EXPECT_EQ(0x170011U, expect_out(_metadata, v, 0x13));
	ASSERT_EQ(0, get_ioapic(&self->vm, &c));
	EXPECT_EQ(0xfec00000U, c.chip.ioapic.base_address);
	EXPECT_EQ(0x44U, c.chip.ioapic.redirtbl[20].bits);
	EXPECT_EQ(0x8045U, c.chip.ioapic.redirtbl[21].bits);
	EXPECT_EQ(1U << 16, c.chip.ioapic.redirtbl[22].bits & (1U << 16));

	/* An edge: reaches one APIC; lowered, 1. */
	ASSERT_EQ(0, ioctl(self->vm.vm_fd, KVM_IRQ_LINE, &l));
	ASSERT_EQ(0, irq_line(&self->vm, 20, 0, &status));
	EXPECT_EQ(1, status);
	/* In the APIC's IRR (64-95), edge: not in TMR. */
	ASSERT_EQ(0, get_lapic(v, &s));
	ASSERT_EQ(1U << 4, apic_reg(&s, 0x200 + 0x20));
	EXPECT_EQ(0U, apic_reg(&s, 0x180 + 0x20));
	EXPECT_EQ(1U, expect_out(_metadata, v, 0x12));

	/* A level: in service (remote IRR) until the guest's EOI. */
	ASSERT_EQ(0, irq_line(&self->vm, 21, 1, &status));
	EXPECT_EQ(1, status);
	ASSERT_EQ(0, get_ioapic(&self->vm, &c));
	EXPECT_EQ(1U << 14, c.chip.ioapic.redirtbl[21].bits & (1U << 14));
	EXPECT_EQ(1U << 21, c.chip.ioapic.irr);
	/* Still up and in service: not delivered again (-1). */
	ASSERT_EQ(0, irq_line(&self->vm, 21, 1, &status));
	EXPECT_EQ(-1, status);
	ASSERT_EQ(0, irq_line(&self->vm, 21, 0, &status));
	EXPECT_EQ(1U, expect_out(_metadata, v, 0x14));
	ASSERT_EQ(0, get_ioapic(&self->vm, &c));
	EXPECT_EQ(0U, c.chip.ioapic.redirtbl[21].bits & (1U << 14));
	EXPECT_EQ(0U, c.chip.ioapic.irr);

	/* A masked pin, and a GSI with no route: -1. */
	ASSERT_EQ(0, irq_line(&self->vm, 22, 1, &status));
	EXPECT_EQ(-1, status);
	ASSERT_EQ(0, irq_line(&self->vm, 100, 1, &status));
	EXPECT_EQ(-1, status);
}

/* KVM_GET/SET_IRQCHIP's errors, and the IOAPIC's state round trip. */
TEST_F(irqchip, ioapic_state)
{
	struct kvm_irqchip c, d;
	struct kvm_irq_level l = { .irq = 20, .level = 1 };
	struct xg_vm vm;
	int ret;

	ASSERT_EQ(0, get_ioapic(&self->vm, &c));
	c.chip.ioapic.id = 5;
	c.chip.ioapic.ioregsel = 0x12;
	c.chip.ioapic.redirtbl[3].bits = 0x0100000000010033ULL;
	ASSERT_EQ(0, ioctl(self->vm.vm_fd, KVM_SET_IRQCHIP, &c));
	ASSERT_EQ(0, get_ioapic(&self->vm, &d));
	EXPECT_EQ(5U, d.chip.ioapic.id);
	EXPECT_EQ(0x12U, d.chip.ioapic.ioregsel);
	EXPECT_EQ(0x0100000000010033ULL, d.chip.ioapic.redirtbl[3].bits);
	c.chip_id = 3;
	EXPECT_EQ(-1, ioctl(self->vm.vm_fd, KVM_GET_IRQCHIP, &c));
	EXPECT_EQ(EINVAL, errno);

	ret = xg_vm_create(&vm, MEM_SIZE);
	ASSERT_EQ(0, ret) TH_LOG("a VM: %s", strerror(-ret));
	EXPECT_EQ(-1, ioctl(vm.vm_fd, KVM_IRQ_LINE, &l));
	EXPECT_EQ(ENXIO, errno);
	EXPECT_EQ(-ENXIO, get_ioapic(&vm, &c));
	xg_vm_destroy(&vm);
}

TEST_HARNESS_MAIN
