// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_SET_GUEST_DEBUG: a VMM debugging its guest, as a gdbstub does.
 * The capabilities and errnos, single-stepping (through CPUID and port
 * I/O, across exits to userspace, TF hidden from KVM_GET_REGS and gone
 * from the guest once the debugger stops), software breakpoints and
 * re-injecting the guest's own #BP, hardware breakpoints on an
 * instruction and on a write while the guest keeps its own debug
 * registers, DR7.GD, INJECT_DB, BLOCKIRQ, and turning it all off.
 *
 * The suite runs against /dev/axvcpu and /dev/kvm ($AXVCPU_DEV): every
 * assertion holds for KVM (Linux 6.1) as well.  Where the emulated CPU
 * keeps KVM from doing what it does on hardware (QEMU's SVM checks INT3
 * against the INTn intercept, not #BP's, and before 9.1 does not arm the
 * breakpoints of a VMCB's DR7), KVM's run skips, saying so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "x86_guest.h"
#include "x86_guest_harness.h"

#define MEM_SIZE	XG_SZ_2M
#define PORT		0x10
#define PORT_HANDLER	0x11
#define PORT_IN		0x20

#define DB_VECTOR	1
#define BP_VECTOR	3

#define RFLAGS_TF	(1ULL << 8)
#define DR6_RESET	0xffff0ff0ULL
#define DR6_BD		(1ULL << 13)
#define DR6_BS		(1ULL << 14)
#define DR7_RESET	0x400ULL
#define DR7_GD		(1ULL << 13)
#define DR7_G(i)	(2ULL << ((i) * 2))
#define DR7_RW_WRITE(i)	(1ULL << (16 + (i) * 4))

/* KVM 6.1's KVM_GUESTDBG_VALID_MASK on x86, KVM_CAP_SET_GUEST_DEBUG2. */
#define VALID_CONTROL	(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | \
			 KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_USE_HW_BP | \
			 KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP | \
			 KVM_GUESTDBG_BLOCKIRQ)

FIXTURE(debug) {
	struct xg_vm vm;
	struct xg_vcpu vcpu;
};

FIXTURE_SETUP(debug)
{
	vm_vcpu_open(_metadata, &self->vm, &self->vcpu, MEM_SIZE);
}

FIXTURE_TEARDOWN(debug)
{
	xg_vcpu_destroy(&self->vcpu);
	xg_vm_destroy(&self->vm);
}

static int set_debug(struct xg_vcpu *v, uint32_t control, const uint64_t *dr)
{
	struct kvm_guest_debug dbg;

	memset(&dbg, 0, sizeof(dbg));
	dbg.control = control;
	if (dr)
		memcpy(dbg.arch.debugreg, dr, sizeof(dbg.arch.debugreg));
	return ioctl_err(v->fd, KVM_SET_GUEST_DEBUG, &dbg);
}

/* KVM_EXIT_DEBUG with @exception at linear address @pc. */
static void run_expect_debug(struct __test_metadata *_metadata,
			     struct xg_vcpu *v, uint32_t exception,
			     uint64_t pc)
{
	run_expect(_metadata, v, KVM_EXIT_DEBUG);
	EXPECT_EQ(exception, v->run->debug.arch.exception);
	EXPECT_EQ(pc, v->run->debug.arch.pc);
}

/* The exit is the OUT to @port that the guest makes past a missed event. */
static bool exit_is_out(struct xg_vcpu *v, uint16_t port)
{
	return v->run->exit_reason == KVM_EXIT_IO &&
	       v->run->io.direction == KVM_EXIT_IO_OUT &&
	       v->run->io.port == port;
}

/*
 * The first step of a guest at XG_CODE: false when the CPU trapped at VM
 * entry, before the first instruction (Bochs's VMX does, for KVM too).
 */
static bool first_step(struct __test_metadata *_metadata, struct xg_vcpu *v,
		       uint64_t pc)
{
	run_expect(_metadata, v, KVM_EXIT_DEBUG);
	if (v->run->debug.arch.pc == XG_CODE)
		return false;
	EXPECT_EQ(DB_VECTOR, v->run->debug.arch.exception);
	EXPECT_EQ(pc, v->run->debug.arch.pc);
	return true;
}

#define BOCHS_STEP	"the CPU trapped at VM entry, before a first instruction"

static uint64_t get_rflags(struct __test_metadata *_metadata,
			   struct xg_vcpu *v)
{
	struct kvm_regs regs;

	get_regs(_metadata, v, &regs);
	return regs.rflags;
}

/* Real mode code at XG_CODE (CS base 0: linear = XG_CODE + offset). */
static const uint8_t step_code[] = {
	0xb0, 0x01,			/* 00: mov $1, %al */
	0xe6, PORT,			/* 02: out %al, $PORT */
	0x0f, 0xa2,			/* 04: cpuid */
	0xe4, PORT_IN,			/* 06: in $PORT_IN, %al */
	0xfe, 0xc0,			/* 08: inc %al */
	0xe6, PORT,			/* 0a: out %al, $PORT */
	0x9c,				/* 0c: pushf */
	0x58,				/* 0d: pop %ax */
	0x88, 0xe0,			/* 0e: mov %ah, %al */
	0xe6, PORT,			/* 10: out %al, $PORT: TF is bit 0 */
	0xf4,				/* 12: hlt */
};

TEST_F(debug, caps)
{
	int fd = self->vm.vm_fd;

	EXPECT_EQ(1, ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG));
	EXPECT_EQ(VALID_CONTROL,
		  ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2));
	/* arm64's: x86 says nothing of its four breakpoints. */
	EXPECT_EQ(0, ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_DEBUG_HW_BPS));
	EXPECT_EQ(0, ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_DEBUG_HW_WPS));
}

/* KVM 6.1's answers: EFAULT, EBUSY; it refuses no control bit on x86. */
TEST_F(debug, errnos)
{
	struct xg_vcpu *v = &self->vcpu;

	EXPECT_EQ(-EFAULT, ioctl_err(v->fd, KVM_SET_GUEST_DEBUG, NULL));
	EXPECT_EQ(0, set_debug(v, KVM_GUESTDBG_ENABLE | (1U << 30), NULL));
	EXPECT_EQ(0, set_debug(v, 1U << 29, NULL));
	EXPECT_EQ(0, set_debug(v, 0, NULL));
	/* One exception at a time. */
	EXPECT_EQ(0, set_debug(v, KVM_GUESTDBG_INJECT_DB, NULL));
	EXPECT_EQ(-EBUSY, set_debug(v, KVM_GUESTDBG_INJECT_BP, NULL));
	EXPECT_EQ(-EBUSY, set_debug(v, KVM_GUESTDBG_ENABLE |
				    KVM_GUESTDBG_INJECT_DB, NULL));
}

/*
 * Each instruction is one KVM_EXIT_DEBUG with DR6.BS: those the CPU runs,
 * and those the hypervisor carries out (CPUID, IN, OUT, HLT), the port
 * I/O after its exit to userspace.  TF stays out of KVM_GET_REGS and out
 * of the guest's flags once the debugger lets go.
 */
TEST_F(debug, single_step)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs;

	real_mode_guest(_metadata, &self->vm, v, step_code, sizeof(step_code));
	ASSERT_EQ(0, set_debug(v, KVM_GUESTDBG_ENABLE |
			       KVM_GUESTDBG_SINGLESTEP, NULL));
	EXPECT_EQ(0ULL, get_rflags(_metadata, v) & RFLAGS_TF);
	/* Registers put back where stepping began keep it going. */
	get_regs(_metadata, v, &regs);
	set_regs(_metadata, v, &regs);

	if (!first_step(_metadata, v, XG_CODE + 0x02))
		SKIP(return, BOCHS_STEP);
	EXPECT_EQ(DR6_RESET | DR6_BS, v->run->debug.arch.dr6);
	EXPECT_EQ(0ULL, get_rflags(_metadata, v) & RFLAGS_TF);
	run_expect_out8(_metadata, v, PORT, 1);
	run_expect_debug(_metadata, v, DB_VECTOR, XG_CODE + 0x04);
	EXPECT_EQ(DR6_RESET | DR6_BS, v->run->debug.arch.dr6);
	run_expect_debug(_metadata, v, DB_VECTOR, XG_CODE + 0x06);
	EXPECT_EQ(DR6_RESET | DR6_BS, v->run->debug.arch.dr6);
	run_expect(_metadata, v, KVM_EXIT_IO);
	ASSERT_EQ(KVM_EXIT_IO_IN, v->run->io.direction);
	*(uint8_t *)xg_io_data(v) = 0x41;
	run_expect_debug(_metadata, v, DB_VECTOR, XG_CODE + 0x08);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(0x41ULL, regs.rax & 0xff);
	EXPECT_EQ(XG_CODE + 0x08, regs.rip);
	run_expect_debug(_metadata, v, DB_VECTOR, XG_CODE + 0x0a);
	run_expect_out8(_metadata, v, PORT, 0x42);
	run_expect_debug(_metadata, v, DB_VECTOR, XG_CODE + 0x0c);

	/* Off: the guest runs on, and its flags never had TF. */
	ASSERT_EQ(0, set_debug(v, 0, NULL));
	run_expect_out8(_metadata, v, PORT, XG_RFLAGS_FIXED >> 8);
	EXPECT_EQ(0ULL, get_rflags(_metadata, v) & RFLAGS_TF);
	run_expect(_metadata, v, KVM_EXIT_HLT);
}

/*
 * KVM's quirk: TF goes with RFLAGS written at the RIP where stepping
 * began, only; KVM_SET_REGS elsewhere ends the steps.
 */
TEST_F(debug, set_regs_ends_steps)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs;

	real_mode_guest(_metadata, &self->vm, v, step_code, sizeof(step_code));
	ASSERT_EQ(0, set_debug(v, KVM_GUESTDBG_ENABLE |
			       KVM_GUESTDBG_SINGLESTEP, NULL));
	if (!first_step(_metadata, v, XG_CODE + 0x02))
		SKIP(return, BOCHS_STEP);
	get_regs(_metadata, v, &regs);
	set_regs(_metadata, v, &regs);
	run_expect_out8(_metadata, v, PORT, 1);
	run_expect(_metadata, v, KVM_EXIT_IO);
	ASSERT_EQ(KVM_EXIT_IO_IN, v->run->io.direction);
}

/* INT3 at 02, and the guest's #BP handler at XG_CODE2, which reports. */
static const uint8_t bp_code[] = {
	0xb0, 0x05,			/* 00: mov $5, %al */
	0xcc,				/* 02: int3 */
	0xe6, PORT,			/* 03: out %al, $PORT */
	0xf4,				/* 05: hlt */
};

static const uint8_t handler_code[] = {
	0x58,				/* pop %ax: the return IP */
	0xe6, PORT_HANDLER,		/* out %al, $PORT_HANDLER */
	0xf4,				/* hlt */
};

static void handler_guest(struct __test_metadata *_metadata,
			  struct xg_vm *vm, struct xg_vcpu *v,
			  const uint8_t *code, size_t len)
{
	real_mode_guest(_metadata, vm, v, code, len);
	xg_load(vm, XG_CODE2, handler_code, sizeof(handler_code));
	set_ivt(vm, DB_VECTOR, XG_CODE2);
	set_ivt(vm, BP_VECTOR, XG_CODE2);
}

/*
 * USE_SW_BP: INT3 is KVM_EXIT_DEBUG at the INT3; INJECT_BP gives it to the
 * guest as its own, returning past it.  Without USE_SW_BP the guest's.
 */
TEST_F(debug, sw_bp)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs;

	handler_guest(_metadata, &self->vm, v, bp_code, sizeof(bp_code));
	ASSERT_EQ(0, set_debug(v, KVM_GUESTDBG_ENABLE |
			       KVM_GUESTDBG_USE_SW_BP, NULL));
	ASSERT_EQ(0, xg_run(v));
	if (xg_is_kvm() && exit_is_out(v, PORT_HANDLER))
		SKIP(return, "the CPU never intercepted INT3's #BP (QEMU's SVM)");
	ASSERT_EQ(KVM_EXIT_DEBUG, v->run->exit_reason);
	EXPECT_EQ(BP_VECTOR, v->run->debug.arch.exception);
	EXPECT_EQ(XG_CODE + 0x02, v->run->debug.arch.pc);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(XG_CODE + 0x02, regs.rip);

	ASSERT_EQ(0, set_debug(v, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP |
			       KVM_GUESTDBG_INJECT_BP, NULL));
	run_expect_out8(_metadata, v, PORT_HANDLER, 0x03);

	/* Off: the guest's own #BP. */
	regs.rip = XG_CODE;
	set_regs(_metadata, v, &regs);
	ASSERT_EQ(0, set_debug(v, 0, NULL));
	run_expect_out8(_metadata, v, PORT_HANDLER, 0x03);
}

/* INJECT_DB: the guest's #DB handler, RIP where it was. */
TEST_F(debug, inject_db)
{
	struct xg_vcpu *v = &self->vcpu;

	handler_guest(_metadata, &self->vm, v, bp_code, sizeof(bp_code));
	ASSERT_EQ(0, set_debug(v, KVM_GUESTDBG_INJECT_DB, NULL));
	run_expect_out8(_metadata, v, PORT_HANDLER, 0x00);
}

static const uint8_t hw_code[] = {
	0x90,				/* 00: nop */
	0x90,				/* 01: nop: the instruction breakpoint */
	0xb0, 0x07,			/* 02: mov $7, %al */
	0xa2, 0x00, 0x30,		/* 04: mov %al, (XG_DATA) */
	0x0f, 0x21, 0xf8,		/* 07: mov %dr7, %eax */
	0xe6, PORT,			/* 0a: out %al, $PORT */
	0x0f, 0x21, 0xc0,		/* 0c: mov %dr0, %eax */
	0xe6, PORT,			/* 0f: out %al, $PORT */
	0xf4,				/* 11: hlt */
};

/* The guest's own: a breakpoint it never reaches. */
static void set_guest_debugregs(struct __test_metadata *_metadata,
				struct xg_vcpu *v)
{
	struct kvm_debugregs d;

	memset(&d, 0, sizeof(d));
	d.db[0] = 0x5a5a;
	d.dr6 = DR6_RESET;
	d.dr7 = DR7_RESET | 0x11;	/* L0, L2 */
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_SET_DEBUGREGS, &d));
}

static void expect_guest_debugregs(struct __test_metadata *_metadata,
				   struct xg_vcpu *v)
{
	struct kvm_debugregs d;

	ASSERT_EQ(0, ioctl_err(v->fd, KVM_GET_DEBUGREGS, &d));
	EXPECT_EQ(0x5a5aULL, d.db[0]);
	EXPECT_EQ(DR7_RESET | 0x11, d.dr7);
	EXPECT_EQ(DR6_RESET, d.dr6);
}

/*
 * USE_HW_BP: the debugger's DR0-DR3 and DR7 are the CPU's: an instruction
 * breakpoint (before it), a write watchpoint (after it), DR6 saying which;
 * the guest reads and KVM_GET_DEBUGREGS gives its own meanwhile.
 */
TEST_F(debug, hw_bp)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs;
	uint64_t dr[8];
	int i;

	real_mode_guest(_metadata, &self->vm, v, hw_code, sizeof(hw_code));
	set_guest_debugregs(_metadata, v);
	for (i = 0; i < 4; i++) {
		memset(dr, 0, sizeof(dr));
		dr[i] = XG_CODE + 0x01;
		dr[7] = DR7_RESET | DR7_G(i);
		ASSERT_EQ(0, set_debug(v, KVM_GUESTDBG_ENABLE |
				       KVM_GUESTDBG_USE_HW_BP, dr));
		ASSERT_EQ(0, xg_run(v));
		if (xg_is_kvm() && exit_is_out(v, PORT))
			SKIP(return, "the CPU never armed the VMCB's DR7 (QEMU's SVM before 9.1)");
		ASSERT_EQ(KVM_EXIT_DEBUG, v->run->exit_reason);
		EXPECT_EQ(DB_VECTOR, v->run->debug.arch.exception);
		EXPECT_EQ(XG_CODE + 0x01, v->run->debug.arch.pc);
		EXPECT_EQ(DR6_RESET | (1ULL << i), v->run->debug.arch.dr6);
		expect_guest_debugregs(_metadata, v);
	}
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(XG_CODE + 0x01, regs.rip);
	regs.rip++;
	set_regs(_metadata, v, &regs);

	/* A write to XG_DATA by DR3: a trap, after the MOV. */
	memset(dr, 0, sizeof(dr));
	dr[3] = XG_DATA;
	dr[7] = DR7_RESET | DR7_G(3) | DR7_RW_WRITE(3);
	ASSERT_EQ(0, set_debug(v, KVM_GUESTDBG_ENABLE |
			       KVM_GUESTDBG_USE_HW_BP, dr));
	run_expect_debug(_metadata, v, DB_VECTOR, XG_CODE + 0x07);
	EXPECT_EQ(DR6_RESET | (1ULL << 3), v->run->debug.arch.dr6);
	EXPECT_EQ(7, *(uint8_t *)xg_gpa(&self->vm, XG_DATA));

	/* The guest reads its own DR7 and DR0, not the debugger's. */
	run_expect_out8(_metadata, v, PORT, (uint8_t)(DR7_RESET | 0x11));
	run_expect_out8(_metadata, v, PORT, 0x5a);
	ASSERT_EQ(0, set_debug(v, 0, NULL));
	expect_guest_debugregs(_metadata, v);
	run_expect(_metadata, v, KVM_EXIT_HLT);
}

/* DR7.GD of the debugger: the guest's MOV DR is KVM_EXIT_DEBUG, BD set. */
TEST_F(debug, general_detect)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs;
	uint64_t dr[8];

	real_mode_guest(_metadata, &self->vm, v, hw_code, sizeof(hw_code));
	get_regs(_metadata, v, &regs);
	regs.rip = XG_CODE + 0x07;
	set_regs(_metadata, v, &regs);
	memset(dr, 0, sizeof(dr));
	dr[7] = DR7_RESET | DR7_GD;
	ASSERT_EQ(0, set_debug(v, KVM_GUESTDBG_ENABLE |
			       KVM_GUESTDBG_USE_HW_BP, dr));
	ASSERT_EQ(0, xg_run(v));
	if (xg_is_kvm() && exit_is_out(v, PORT))
		SKIP(return, "the CPU never raised DR7.GD's #DB (QEMU's SVM)");
	ASSERT_EQ(KVM_EXIT_DEBUG, v->run->exit_reason);
	EXPECT_EQ(DB_VECTOR, v->run->debug.arch.exception);
	EXPECT_EQ(XG_CODE + 0x07, v->run->debug.arch.pc);
	EXPECT_EQ(DR6_RESET | DR6_BD, v->run->debug.arch.dr6);
	/* Off: the MOV runs, reading the guest's DR7. */
	ASSERT_EQ(0, set_debug(v, 0, NULL));
	run_expect_out8(_metadata, v, PORT, (uint8_t)DR7_RESET);
}

static const uint8_t nmi_code[] = {
	0x90,				/* 00: nop */
	0x90,				/* 01: nop */
	0x90,				/* 02: nop */
	0xb0, 0x09,			/* 03: mov $9, %al */
	0xe6, PORT,			/* 05: out %al, $PORT */
	0xf4,				/* 07: hlt */
};

/*
 * The NMI handler returns: NMIs are not left blocked when the test ends
 * (Bochs 2.7 keeps a CPU's virtual-NMI blocking across VM entries whose
 * VMCS says unblocked, and would hand it to the next guest on that CPU).
 */
static const uint8_t nmi_handler_code[] = {
	0x58,				/* pop %ax: the return IP */
	0x50,				/* push %ax */
	0xe6, PORT_HANDLER,		/* out %al, $PORT_HANDLER */
	0xcf,				/* iret */
};

/*
 * BLOCKIRQ: an NMI of KVM_NMI stays out while the debugger steps, and
 * comes once it lets go.  (KVM_INTERRUPT's vector is injected already,
 * for KVM: BLOCKIRQ holds back the in-kernel irqchip's and NMIs.)
 */
TEST_F(debug, block_irq)
{
	struct xg_vcpu *v = &self->vcpu;
	uint32_t ctl = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP |
		       KVM_GUESTDBG_BLOCKIRQ;

	handler_guest(_metadata, &self->vm, v, nmi_code, sizeof(nmi_code));
	xg_load(&self->vm, XG_CODE2, nmi_handler_code,
		sizeof(nmi_handler_code));
	set_ivt(&self->vm, 2, XG_CODE2);
	ASSERT_EQ(0, set_debug(v, ctl, NULL));
	if (!first_step(_metadata, v, XG_CODE + 0x01))
		SKIP(return, BOCHS_STEP);
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_NMI, NULL));
	run_expect_debug(_metadata, v, DB_VECTOR, XG_CODE + 0x02);
	run_expect_debug(_metadata, v, DB_VECTOR, XG_CODE + 0x03);
	ASSERT_EQ(0, set_debug(v, 0, NULL));
	/* The handler, returning to 03, where the program goes on. */
	run_expect_out8(_metadata, v, PORT_HANDLER, 0x03);
	run_expect_out8(_metadata, v, PORT, 9);
}

TEST_HARNESS_MAIN
