// SPDX-License-Identifier: GPL-2.0
/*
 * The x86 event state and the rest of the state a VMM saves: KVM_GET/SET_
 * VCPU_EVENTS (injected exceptions, interrupts and NMIs, the interrupt
 * shadow, NMI masking), KVM_NMI and the NMI window, KVM_SET_SIGNAL_MASK,
 * KVM_GET/SET_CLOCK, KVM_ENABLE_CAP(KVM_CAP_MAX_VCPU_ID),
 * KVM_TPR_ACCESS_REPORTING; and a vCPU's whole state saved mid-guest (an
 * IN waiting for its data, an interrupt on its way in) and restored into
 * a fresh vCPU of another VM, which continues as the first does.
 *
 * The suite runs against /dev/axvcpu and /dev/kvm ($AXVCPU_DEV): every
 * assertion holds for KVM (Linux 6.1) as well, but where a line says
 * otherwise (axvcpu has no SMM).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "x86_guest.h"
#include "x86_guest_harness.h"

#define MEM_SIZE	XG_SZ_2M
#define PORT		0x10		/* the main program's */
#define PORT_HANDLER	0x11		/* an interrupt handler's */
#define PORT_NMI	0x12		/* the NMI handler's */
#define PORT_IN		0x20

#define VEC_UD		6
#define VEC_GP		13
#define VEC_IRQ		0x40

/* The flags KVM 6.1 reports without the opt-in capabilities. */
#define EVENTS_FLAGS	((uint32_t)KVM_VCPUEVENT_VALID_NMI_PENDING | \
			 KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM)

#define NSEC		1000000000ULL

FIXTURE(events) {
	struct xg_vm vm;
	struct xg_vcpu vcpu;
};

FIXTURE_SETUP(events)
{
	vm_vcpu_open(_metadata, &self->vm, &self->vcpu, MEM_SIZE);
}

FIXTURE_TEARDOWN(events)
{
	xg_vcpu_destroy(&self->vcpu);
	xg_vm_destroy(&self->vm);
}

static void get_events(struct __test_metadata *_metadata, struct xg_vcpu *v,
		       struct kvm_vcpu_events *ev)
{
	memset(ev, 0xaa, sizeof(*ev));
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_GET_VCPU_EVENTS, ev));
}

static void set_events(struct __test_metadata *_metadata, struct xg_vcpu *v,
		       struct kvm_vcpu_events *ev)
{
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_SET_VCPU_EVENTS, ev));
}

/* The 16-bit word at the real-mode stack top, SP + @off. */
static uint16_t stack_word(struct __test_metadata *_metadata,
			   struct xg_vm *vm, struct xg_vcpu *v, unsigned int off)
{
	struct kvm_regs regs;

	get_regs(_metadata, v, &regs);
	return xg_le_get(xg_gpa(vm, (regs.rsp & 0xffff) + off), 2);
}

/*
 * The main program of the real-mode tests: interrupts on, then OUTs of a
 * counter in BL to PORT forever.  The handlers at XG_CODE2 report.
 */
static const uint8_t main_code[] = {
	0xfb,				/* 00: sti */
	0xb3, 0x00,			/* 01: mov $0, %bl */
	0xfe, 0xc3,			/* 03: inc %bl */
	0x88, 0xd8,			/* 05: mov %bl, %al */
	0xe6, PORT,			/* 07: out %al, $PORT */
	0xeb, 0xf8,			/* 09: jmp 03 */
};

static const uint8_t handler_code[] = {
	/* XG_CODE2 + 0: an interrupt or exception: report the vector's tag */
	0xb0, 0xaa,			/* mov $0xaa, %al */
	0xe6, PORT_HANDLER,		/* out %al, $PORT_HANDLER */
	0xf4,				/* hlt */
	0x90, 0x90, 0x90,
	/* XG_CODE2 + 8: the NMI handler: report, return */
	0xb0, 0x02,			/* mov $2, %al */
	0xe6, PORT_NMI,			/* out %al, $PORT_NMI */
	0xcf,				/* iret */
};

#define HANDLER		(XG_CODE2 + 0)
#define NMI_HANDLER	(XG_CODE2 + 8)

static void real_mode_events_guest(struct __test_metadata *_metadata,
				   struct xg_vm *vm, struct xg_vcpu *v)
{
	real_mode_guest(_metadata, vm, v, main_code, sizeof(main_code));
	xg_load(vm, XG_CODE2, handler_code, sizeof(handler_code));
	set_ivt(vm, VEC_UD, HANDLER);
	set_ivt(vm, VEC_GP, HANDLER);
	set_ivt(vm, VEC_IRQ, HANDLER);
	set_ivt(vm, 2, NMI_HANDLER);
}

/* The capabilities of what this file tests, as KVM 6.1 answers them. */
TEST_F(events, caps)
{
	int fd = self->vm.vm_fd;

	EXPECT_EQ(1, ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_VCPU_EVENTS));
	EXPECT_EQ(1, ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_NMI));
	EXPECT_EQ(1, ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_ENABLE_CAP_VM));
	EXPECT_EQ(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC,
		  ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_ADJUST_CLOCK));
	EXPECT_LE(1, ioctl(self->vm.sys_fd, KVM_CHECK_EXTENSION,
			   KVM_CAP_MAX_VCPU_ID));
}

/* A new vCPU: nothing injected, pending or masked. */
TEST_F(events, reset_state)
{
	struct kvm_vcpu_events ev, zero;

	get_events(_metadata, &self->vcpu, &ev);
	EXPECT_EQ(EVENTS_FLAGS, ev.flags);
	memset(&zero, 0, sizeof(zero));
	zero.flags = ev.flags;
	EXPECT_EQ(0, memcmp(&zero, &ev, sizeof(ev)));
}

/* Each refusal is KVM's errno. */
TEST_F(events, errnos)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_vcpu_events ev;

	EXPECT_EQ(-EFAULT, ioctl_err(v->fd, KVM_GET_VCPU_EVENTS, NULL));
	EXPECT_EQ(-EFAULT, ioctl_err(v->fd, KVM_SET_VCPU_EVENTS, NULL));

	memset(&ev, 0, sizeof(ev));
	ev.flags = 1U << 12;				/* unknown */
	EXPECT_EQ(-EINVAL, ioctl_err(v->fd, KVM_SET_VCPU_EVENTS, &ev));
	/* Payloads need KVM_CAP_EXCEPTION_PAYLOAD enabled. */
	ev.flags = KVM_VCPUEVENT_VALID_PAYLOAD;
	EXPECT_EQ(-EINVAL, ioctl_err(v->fd, KVM_SET_VCPU_EVENTS, &ev));
	/* A triple fault, KVM_CAP_X86_TRIPLE_FAULT_EVENT. */
	ev.flags = KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	EXPECT_EQ(-EINVAL, ioctl_err(v->fd, KVM_SET_VCPU_EVENTS, &ev));

	/* An exception beyond 31, or the NMI as an exception. */
	memset(&ev, 0, sizeof(ev));
	ev.exception.injected = 1;
	ev.exception.nr = 32;
	EXPECT_EQ(-EINVAL, ioctl_err(v->fd, KVM_SET_VCPU_EVENTS, &ev));
	ev.exception.nr = 2;
	EXPECT_EQ(-EINVAL, ioctl_err(v->fd, KVM_SET_VCPU_EVENTS, &ev));
	/* Not injected: the number is not checked. */
	ev.exception.injected = 0;
	EXPECT_EQ(0, ioctl_err(v->fd, KVM_SET_VCPU_EVENTS, &ev));

	/* SMM: axvcpu has none and refuses it; KVM 6.1 has it. */
	memset(&ev, 0, sizeof(ev));
	ev.flags = KVM_VCPUEVENT_VALID_SMM;
	EXPECT_EQ(0, ioctl_err(v->fd, KVM_SET_VCPU_EVENTS, &ev));
	ev.smi.pending = 1;
	EXPECT_EQ(xg_is_kvm() ? 0 : -EINVAL,
		  ioctl_err(v->fd, KVM_SET_VCPU_EVENTS, &ev));
	ev.smi.pending = 0;
	ev.smi.smm = 1;
	EXPECT_EQ(xg_is_kvm() ? 0 : -EINVAL,
		  ioctl_err(v->fd, KVM_SET_VCPU_EVENTS, &ev));
}

/* What goes in comes back, one kind of event at a time. */
TEST_F(events, round_trip)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_sregs sregs, back_sregs;
	struct kvm_vcpu_events ev, back;

	memset(&ev, 0, sizeof(ev));
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	ev.exception.injected = 1;
	ev.exception.nr = VEC_GP;
	ev.exception.has_error_code = 1;
	ev.exception.error_code = 0x1234;
	ev.interrupt.shadow = KVM_X86_SHADOW_INT_MOV_SS;
	ev.nmi.pending = 1;
	ev.nmi.masked = 1;
	set_events(_metadata, v, &ev);
	get_events(_metadata, v, &back);
	EXPECT_EQ(EVENTS_FLAGS, back.flags);
	EXPECT_EQ(1, back.exception.injected);
	EXPECT_EQ(0, back.exception.pending);
	EXPECT_EQ(VEC_GP, back.exception.nr);
	EXPECT_EQ(1, back.exception.has_error_code);
	EXPECT_EQ(0x1234U, back.exception.error_code);
	EXPECT_EQ(0, back.interrupt.injected);
	/* SVM has one shadow bit, reported as both kinds. */
	EXPECT_NE(0, back.interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS);
	EXPECT_EQ(0, back.nmi.injected);
	EXPECT_EQ(1, back.nmi.pending);
	EXPECT_EQ(1, back.nmi.masked);
	EXPECT_EQ(0U, back.sipi_vector);

	/* An interrupt; without the flags, the shadow and NMIs stay. */
	memset(&ev, 0, sizeof(ev));
	ev.interrupt.injected = 1;
	ev.interrupt.nr = VEC_IRQ;
	ev.nmi.masked = 1;
	set_events(_metadata, v, &ev);
	get_events(_metadata, v, &back);
	EXPECT_EQ(0, back.exception.injected);
	EXPECT_EQ(1, back.interrupt.injected);
	EXPECT_EQ(VEC_IRQ, back.interrupt.nr);
	EXPECT_EQ(0, back.interrupt.soft);
	EXPECT_NE(0, back.interrupt.shadow);
	EXPECT_EQ(1, back.nmi.pending);

	/* An NMI being injected; the shadow and the pending NMI go. */
	memset(&ev, 0, sizeof(ev));
	ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
	ev.nmi.injected = 1;
	set_events(_metadata, v, &ev);
	get_events(_metadata, v, &back);
	EXPECT_EQ(0, back.interrupt.injected);
	EXPECT_EQ(0, back.interrupt.shadow);
	EXPECT_EQ(1, back.nmi.injected);
	EXPECT_EQ(0, back.nmi.pending);
	EXPECT_EQ(0, back.nmi.masked);

	/* KVM_INTERRUPT's vector is injected from the call on. */
	memset(&ev, 0, sizeof(ev));
	set_events(_metadata, v, &ev);
	ASSERT_EQ(0, xg_interrupt(v, 0x31));
	get_events(_metadata, v, &back);
	EXPECT_EQ(1, back.interrupt.injected);
	EXPECT_EQ(0x31, back.interrupt.nr);
	/* KVM_GET_SREGS's interrupt_bitmap holds it too. */
	get_sregs(_metadata, v, &sregs);
	EXPECT_EQ(1ULL << (0x31 - 0x00), sregs.interrupt_bitmap[0]);
	EXPECT_EQ(0ULL, sregs.interrupt_bitmap[1]);
	/* And it goes with a SET that has none. */
	set_events(_metadata, v, &ev);
	get_events(_metadata, v, &back);
	EXPECT_EQ(0, back.interrupt.injected);
	get_sregs(_metadata, v, &back_sregs);
	EXPECT_EQ(0ULL, back_sregs.interrupt_bitmap[0]);
	/* KVM_SET_SREGS injects the first of its bitmap. */
	sregs.interrupt_bitmap[0] = 0;
	sregs.interrupt_bitmap[1] = 3ULL << (0x52 - 0x40);
	set_sregs(_metadata, v, &sregs);
	get_events(_metadata, v, &back);
	EXPECT_EQ(1, back.interrupt.injected);
	EXPECT_EQ(0x52, back.interrupt.nr);
}

/* An exception set by userspace is delivered at the next entry. */
TEST_F(events, exception_delivered)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_vcpu_events ev;

	real_mode_events_guest(_metadata, &self->vm, v);
	run_expect_out8(_metadata, v, PORT, 1);
	memset(&ev, 0, sizeof(ev));
	ev.exception.injected = 1;
	ev.exception.nr = VEC_UD;
	set_events(_metadata, v, &ev);
	run_expect_out8(_metadata, v, PORT_HANDLER, 0xaa);
	/* It came after the OUT: the IP pushed is the JMP's. */
	EXPECT_EQ(XG_CODE + 0x09, stack_word(_metadata, &self->vm, v, 0));
	get_events(_metadata, v, &ev);
	EXPECT_EQ(0, ev.exception.injected);
	run_expect(_metadata, v, KVM_EXIT_HLT);
}

/*
 * KVM_NMI: the NMI handler runs whatever IF says; NMIs are then masked
 * until its IRET, and one more queued meanwhile comes right after that
 * IRET (the NMI window), before the program's next OUT.
 */
TEST_F(events, nmi_and_window)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_vcpu_events ev;

	real_mode_events_guest(_metadata, &self->vm, v);
	run_expect_out8(_metadata, v, PORT, 1);
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_NMI, NULL));
	get_events(_metadata, v, &ev);
	EXPECT_EQ(1, ev.nmi.pending);
	EXPECT_EQ(0, ev.nmi.masked);

	run_expect_out8(_metadata, v, PORT_NMI, 2);
	get_events(_metadata, v, &ev);
	EXPECT_EQ(0, ev.nmi.pending);
	EXPECT_EQ(1, ev.nmi.masked);
	/* The NMI came after the OUT: its IRET goes back to the JMP. */
	EXPECT_EQ(XG_CODE + 0x09, stack_word(_metadata, &self->vm, v, 0));

	/* Masked: it waits for the IRET, then runs before anything else. */
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_NMI, NULL));
	get_events(_metadata, v, &ev);
	EXPECT_EQ(1, ev.nmi.pending);
	run_expect_out8(_metadata, v, PORT_NMI, 2);
	EXPECT_EQ(XG_CODE + 0x09, stack_word(_metadata, &self->vm, v, 0));
	run_expect_out8(_metadata, v, PORT, 2);
	get_events(_metadata, v, &ev);
	EXPECT_EQ(0, ev.nmi.pending);
	EXPECT_EQ(0, ev.nmi.masked);

	/* Masked by KVM_SET_VCPU_EVENTS: no IRET comes, the NMI waits. */
	ev.nmi.masked = 1;
	set_events(_metadata, v, &ev);
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_NMI, NULL));
	run_expect_out8(_metadata, v, PORT, 3);
	run_expect_out8(_metadata, v, PORT, 4);
	get_events(_metadata, v, &ev);
	EXPECT_EQ(1, ev.nmi.pending);
	ev.nmi.masked = 0;
	set_events(_metadata, v, &ev);
	run_expect_out8(_metadata, v, PORT_NMI, 2);
	run_expect_out8(_metadata, v, PORT, 5);
}

/* --- a vCPU's whole state, saved and restored elsewhere ------------------ */

struct saved {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xsave *xsave;	/* with XSAVE, as QEMU saves it */
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dbg;
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[8];
	} msrs;
	uint8_t *mem;
};

static const uint32_t saved_msrs[] = {
	0x174, 0x175, 0x176,		/* SYSENTER_CS, ESP, EIP */
	0x277,				/* PAT */
	0xc0000081, 0xc0000082,		/* STAR, LSTAR */
	0xc0000102,			/* KERNEL_GS_BASE */
};

/* The GET calls a VMM makes to migrate a vCPU, and the memory. */
static void save_vcpu(struct __test_metadata *_metadata, struct xg_vm *vm,
		      struct xg_vcpu *v, struct saved *s)
{
	unsigned int i;

	int size;

	get_regs(_metadata, v, &s->regs);
	get_sregs(_metadata, v, &s->sregs);
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_GET_FPU, &s->fpu));
	s->xsave = NULL;
	if (xg_cpu_has_xsave()) {
		ASSERT_EQ(0, ioctl_err(v->fd, KVM_GET_XCRS, &s->xcrs));
		/* KVM_SET_FPU leaves XSTATE_BV alone: the image is what counts. */
		size = ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
		if (size < (int)sizeof(*s->xsave))
			size = sizeof(*s->xsave);
		s->xsave = calloc(1, size);
		ASSERT_NE(NULL, s->xsave);
		ASSERT_EQ(0, ioctl_err(v->fd, KVM_GET_XSAVE2, s->xsave));
	}
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_GET_DEBUGREGS, &s->dbg));
	get_events(_metadata, v, &s->ev);
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_GET_MP_STATE, &s->mp));
	memset(&s->msrs, 0, sizeof(s->msrs));
	s->msrs.hdr.nmsrs = sizeof(saved_msrs) / sizeof(saved_msrs[0]);
	for (i = 0; i < s->msrs.hdr.nmsrs; i++)
		s->msrs.e[i].index = saved_msrs[i];
	ASSERT_EQ((int)s->msrs.hdr.nmsrs,
		  ioctl(v->fd, KVM_GET_MSRS, &s->msrs));
	s->mem = malloc(vm->mem_size);
	ASSERT_NE(NULL, s->mem);
	memcpy(s->mem, vm->mem, vm->mem_size);
}

/* The SET calls in QEMU's order, into @v of @vm. */
static void restore_vcpu(struct __test_metadata *_metadata, struct xg_vm *vm,
			 struct xg_vcpu *v, struct saved *s)
{
	memcpy(vm->mem, s->mem, vm->mem_size);
	free(s->mem);
	s->mem = NULL;
	ASSERT_EQ(0, xg_kvm_set_supported_cpuid(vm->sys_fd, v));
	set_regs(_metadata, v, &s->regs);
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_SET_FPU, &s->fpu));
	if (s->xsave) {
		ASSERT_EQ(0, ioctl_err(v->fd, KVM_SET_XSAVE, s->xsave));
		free(s->xsave);
		s->xsave = NULL;
		ASSERT_EQ(0, ioctl_err(v->fd, KVM_SET_XCRS, &s->xcrs));
	}
	set_sregs(_metadata, v, &s->sregs);
	ASSERT_EQ((int)s->msrs.hdr.nmsrs,
		  ioctl(v->fd, KVM_SET_MSRS, &s->msrs));
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_SET_MP_STATE, &s->mp));
	set_events(_metadata, v, &s->ev);
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_SET_DEBUGREGS, &s->dbg));
}

/* Both vCPUs now hold the same registers and memory. */
static void expect_same(struct __test_metadata *_metadata,
			struct xg_vm *a_vm, struct xg_vcpu *a,
			struct xg_vm *b_vm, struct xg_vcpu *b)
{
	struct kvm_regs ra, rb;
	struct kvm_sregs sa, sb;
	struct kvm_fpu fa, fb;

	get_regs(_metadata, a, &ra);
	get_regs(_metadata, b, &rb);
	EXPECT_EQ(0, memcmp(&ra, &rb, sizeof(ra)))
		TH_LOG("RIP %llx/%llx RAX %llx/%llx RBX %llx/%llx", ra.rip,
		       rb.rip, ra.rax, rb.rax, ra.rbx, rb.rbx);
	get_sregs(_metadata, a, &sa);
	get_sregs(_metadata, b, &sb);
	EXPECT_EQ(0, memcmp(&sa, &sb, sizeof(sa)));
	ASSERT_EQ(0, ioctl_err(a->fd, KVM_GET_FPU, &fa));
	ASSERT_EQ(0, ioctl_err(b->fd, KVM_GET_FPU, &fb));
	EXPECT_EQ(0, memcmp(fa.xmm, fb.xmm, sizeof(fa.xmm)));
	EXPECT_EQ(0, memcmp(a_vm->mem, b_vm->mem, a_vm->mem_size));
}

/*
 * Long mode: a sum over registers and XMM0 that takes an IN's data half
 * way; each OUT sends the running sum.
 */
static const uint8_t sum_code[] = {
	0x48, 0xbb, 0x88, 0x77, 0x66, 0x55,
	0x44, 0x33, 0x22, 0x11,		/* mov $0x1122334455667788, %rbx */
	0x66, 0x48, 0x0f, 0x6e, 0xc3,	/* movq %rbx, %xmm0 */
	0x49, 0xb8, 0x0d, 0xf0, 0xfe, 0xca,
	0x00, 0x00, 0x00, 0x00,		/* mov $0xcafef00d, %r8 */
	0xe5, PORT_IN,			/* in $PORT_IN, %eax */
	0x48, 0x01, 0xc3,		/* add %rax, %rbx */
	0x66, 0x48, 0x0f, 0x7e, 0xc1,	/* movq %xmm0, %rcx */
	0x48, 0x01, 0xcb,		/* add %rcx, %rbx */
	0x4c, 0x01, 0xc3,		/* add %r8, %rbx */
	0x48, 0x89, 0xd8,		/* mov %rbx, %rax */
	0xe7, PORT,			/* out %eax, $PORT */
	0x48, 0xc1, 0xe8, 0x20,		/* shr $32, %rax */
	0xe7, PORT,			/* out %eax, $PORT */
	0xf4,				/* hlt */
};

#define SUM_IN_RIP	(XG_CODE + 25)

static uint32_t run_expect_out32(struct __test_metadata *_metadata,
				 struct xg_vcpu *v)
{
	run_expect(_metadata, v, KVM_EXIT_IO);
	EXPECT_EQ(KVM_EXIT_IO_OUT, v->run->io.direction);
	EXPECT_EQ(PORT, v->run->io.port);
	return xg_io_value(v);
}

/* An IN exits; its answer is given now, or to the restored vCPU. */
static void run_to_in(struct __test_metadata *_metadata, struct xg_vcpu *v)
{
	run_expect(_metadata, v, KVM_EXIT_IO);
	ASSERT_EQ(KVM_EXIT_IO_IN, v->run->io.direction);
	ASSERT_EQ(PORT_IN, v->run->io.port);
	ASSERT_EQ(4, v->run->io.size);
}

/*
 * Saved at an IN waiting for its data: RIP is still the IN's, as in KVM,
 * so the restored vCPU runs it again and gets the same answer; both then
 * send the same sums and end in the same state.
 */
TEST_F(events, save_restore_pending_in)
{
	struct xg_vcpu *a = &self->vcpu, b;
	uint32_t lo, hi;
	struct xg_vm vm2;
	struct saved s;

	ASSERT_EQ(0, xg_kvm_set_supported_cpuid(self->vm.sys_fd, a));
	long_mode_guest(_metadata, &self->vm, a, sum_code, sizeof(sum_code));
	{
		struct kvm_sregs sregs;

		get_sregs(_metadata, a, &sregs);
		sregs.cr4 |= 1ULL << 9;		/* OSFXSR: SSE on */
		set_sregs(_metadata, a, &sregs);
	}
	run_to_in(_metadata, a);
	save_vcpu(_metadata, &self->vm, a, &s);
	EXPECT_EQ(SUM_IN_RIP, s.regs.rip);

	ASSERT_EQ(0, xg_vm_create(&vm2, MEM_SIZE));
	ASSERT_EQ(0, xg_vcpu_create(&vm2, 0, &b));
	restore_vcpu(_metadata, &vm2, &b, &s);

	/* The original gets its answer, the copy asks again. */
	xg_le_put(xg_io_data(a), 4, 0x01020304);
	lo = run_expect_out32(_metadata, a);
	hi = run_expect_out32(_metadata, a);
	run_expect(_metadata, a, KVM_EXIT_HLT);

	run_to_in(_metadata, &b);
	xg_le_put(xg_io_data(&b), 4, 0x01020304);
	EXPECT_EQ(lo, run_expect_out32(_metadata, &b));
	EXPECT_EQ(hi, run_expect_out32(_metadata, &b));
	run_expect(_metadata, &b, KVM_EXIT_HLT);
	EXPECT_EQ(0x1122334455667788ULL * 2 + 0x01020304 + 0xcafef00d,
		  ((uint64_t)hi << 32) | lo);
	expect_same(_metadata, &self->vm, a, &vm2, &b);

	xg_vcpu_destroy(&b);
	xg_vm_destroy(&vm2);
}

/*
 * KVM_RUN with immediate_exit: the last exit completed (an OUT's RIP moves
 * on), no instruction run; what a VMM does before it saves a vCPU.
 */
static void complete_exit(struct __test_metadata *_metadata, struct xg_vcpu *v)
{
	v->run->immediate_exit = 1;
	ASSERT_EQ(-EINTR, xg_run(v));
	v->run->immediate_exit = 0;
}

/*
 * Saved with events on their way in: an interrupt of KVM_INTERRUPT, and
 * an NMI of KVM_NMI that waits for NMIs to be unmasked; restored into a
 * fresh vCPU of another VM, which then runs as the original: the
 * interrupt's handler, to its HLT, the NMI still waiting.
 */
TEST_F(events, save_restore_events_in_flight)
{
	struct xg_vcpu *a = &self->vcpu, b;
	struct kvm_vcpu_events ev;
	struct xg_vm vm2;
	struct saved s;

	real_mode_events_guest(_metadata, &self->vm, a);
	run_expect_out8(_metadata, a, PORT, 1);
	complete_exit(_metadata, a);
	get_events(_metadata, a, &ev);
	ev.nmi.masked = 1;
	set_events(_metadata, a, &ev);
	ASSERT_EQ(0, ioctl_err(a->fd, KVM_NMI, NULL));
	ASSERT_EQ(0, xg_interrupt(a, VEC_IRQ));
	save_vcpu(_metadata, &self->vm, a, &s);
	EXPECT_EQ(XG_CODE + 0x09, s.regs.rip);
	EXPECT_EQ(1, s.ev.nmi.masked);
	EXPECT_EQ(1, s.ev.nmi.pending);
	EXPECT_EQ(1, s.ev.interrupt.injected);
	EXPECT_EQ(VEC_IRQ, s.ev.interrupt.nr);

	ASSERT_EQ(0, xg_vm_create(&vm2, MEM_SIZE));
	ASSERT_EQ(0, xg_vcpu_create(&vm2, 0, &b));
	restore_vcpu(_metadata, &vm2, &b, &s);
	get_events(_metadata, &b, &ev);
	EXPECT_EQ(0, memcmp(&s.ev, &ev, sizeof(ev)));

	run_expect_out8(_metadata, a, PORT_HANDLER, 0xaa);
	run_expect_out8(_metadata, &b, PORT_HANDLER, 0xaa);
	EXPECT_EQ(XG_CODE + 0x09, stack_word(_metadata, &vm2, &b, 0));
	run_expect(_metadata, a, KVM_EXIT_HLT);
	run_expect(_metadata, &b, KVM_EXIT_HLT);
	get_events(_metadata, a, &ev);
	EXPECT_EQ(1, ev.nmi.pending);
	EXPECT_EQ(1, ev.nmi.masked);
	EXPECT_EQ(0, ev.interrupt.injected);
	get_events(_metadata, &b, &ev);
	EXPECT_EQ(1, ev.nmi.pending);
	EXPECT_EQ(1, ev.nmi.masked);
	EXPECT_EQ(0, ev.interrupt.injected);
	expect_same(_metadata, &self->vm, a, &vm2, &b);

	xg_vcpu_destroy(&b);
	xg_vm_destroy(&vm2);
}

/* --- the other VM and vCPU ioctls of a VMM's start-up and migration ------ */

static uint64_t get_clock(struct __test_metadata *_metadata, int vm_fd,
			  uint32_t *flags)
{
	struct kvm_clock_data data;

	memset(&data, 0xaa, sizeof(data));
	EXPECT_EQ(0, ioctl_err(vm_fd, KVM_GET_CLOCK, &data));
	if (flags)
		*flags = data.flags;
	return data.clock;
}

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

/* KVM_GET/SET_CLOCK: the VM's clock runs on from what is set. */
TEST(vm_clock)
{
	struct kvm_clock_data data;
	uint64_t t0, t1;
	uint32_t flags;
	struct xg_vm vm;

	ASSERT_EQ(0, xg_vm_create(&vm, MEM_SIZE));
	t0 = get_clock(_metadata, vm.vm_fd, &flags);
	EXPECT_EQ(0U, flags & ~(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME |
				KVM_CLOCK_HOST_TSC));
	/* axvcpu has no master clock (no kvmclock for its guests). */
	if (!xg_is_kvm())
		EXPECT_EQ(0U, flags);
	/* From the VM's creation: well under a minute ago. */
	EXPECT_GT(60 * NSEC, t0);
	usleep(10000);
	t1 = get_clock(_metadata, vm.vm_fd, NULL);
	EXPECT_LE(t0 + 10000000ULL, t1);

	memset(&data, 0, sizeof(data));
	data.clock = 1000 * NSEC;
	EXPECT_EQ(0, ioctl_err(vm.vm_fd, KVM_SET_CLOCK, &data));
	t1 = get_clock(_metadata, vm.vm_fd, NULL);
	EXPECT_LE(1000 * NSEC, t1);
	EXPECT_GT(1010 * NSEC, t1);
	/* Saved with REALTIME two seconds ago: those two seconds are added. */
	data.flags = KVM_CLOCK_REALTIME;
	data.realtime = realtime_ns() - 2 * NSEC;
	EXPECT_EQ(0, ioctl_err(vm.vm_fd, KVM_SET_CLOCK, &data));
	t1 = get_clock(_metadata, vm.vm_fd, NULL);
	EXPECT_LE(1002 * NSEC, t1);
	EXPECT_GT(1012 * NSEC, t1);
	/* What KVM_GET_CLOCK gives goes back; an unknown flag does not. */
	data.flags = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_HOST_TSC;
	EXPECT_EQ(0, ioctl_err(vm.vm_fd, KVM_SET_CLOCK, &data));
	data.flags = 1U << 7;
	EXPECT_EQ(-EINVAL, ioctl_err(vm.vm_fd, KVM_SET_CLOCK, &data));
	EXPECT_EQ(-EFAULT, ioctl_err(vm.vm_fd, KVM_SET_CLOCK, NULL));
	EXPECT_EQ(-EFAULT, ioctl_err(vm.vm_fd, KVM_GET_CLOCK, NULL));
	xg_vm_destroy(&vm);
}

static int enable_cap(int vm_fd, uint32_t cap, uint32_t flags, uint64_t arg)
{
	struct kvm_enable_cap c = { .cap = cap, .flags = flags,
				    .args = { arg } };

	return ioctl_err(vm_fd, KVM_ENABLE_CAP, &c);
}

/* KVM_CAP_MAX_VCPU_ID: set once, before any vCPU; it bounds their ids. */
TEST(max_vcpu_id)
{
	struct xg_vm vm;
	struct xg_vcpu v;
	int max;

	ASSERT_EQ(0, xg_vm_create(&vm, MEM_SIZE));
	max = ioctl(vm.sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
	ASSERT_LT(4, max);
	EXPECT_EQ(-EINVAL, enable_cap(vm.vm_fd, KVM_CAP_MAX_VCPU_ID, 0, max + 1));
	EXPECT_EQ(-EINVAL, enable_cap(vm.vm_fd, KVM_CAP_MAX_VCPU_ID, 1, 3));
	EXPECT_EQ(-EINVAL, enable_cap(vm.vm_fd, KVM_CAP_USER_MEMORY, 0, 0));
	EXPECT_EQ(-EFAULT, ioctl_err(vm.vm_fd, KVM_ENABLE_CAP, NULL));
	EXPECT_EQ(0, enable_cap(vm.vm_fd, KVM_CAP_MAX_VCPU_ID, 0, 3));
	EXPECT_EQ(0, enable_cap(vm.vm_fd, KVM_CAP_MAX_VCPU_ID, 0, 3));
	EXPECT_EQ(-EINVAL, enable_cap(vm.vm_fd, KVM_CAP_MAX_VCPU_ID, 0, 4));
	EXPECT_EQ(-1, ioctl(vm.vm_fd, KVM_CREATE_VCPU, 3));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, xg_vcpu_create(&vm, 2, &v));
	xg_vcpu_destroy(&v);
	xg_vm_destroy(&vm);

	/* The first vCPU fixes it at the most. */
	ASSERT_EQ(0, xg_vm_create(&vm, MEM_SIZE));
	ASSERT_EQ(0, xg_vcpu_create(&vm, 0, &v));
	EXPECT_EQ(-EINVAL, enable_cap(vm.vm_fd, KVM_CAP_MAX_VCPU_ID, 0, 8));
	EXPECT_EQ(0, enable_cap(vm.vm_fd, KVM_CAP_MAX_VCPU_ID, 0, max));
	xg_vcpu_destroy(&v);
	xg_vm_destroy(&vm);
}

static volatile sig_atomic_t got_usr1;

static void on_usr1(int sig)
{
	got_usr1 = 1;
}

/*
 * KVM_SET_SIGNAL_MASK: KVM_RUN runs with the vCPU's mask, so a signal the
 * thread blocks but the vCPU does not ends the run; the thread's own mask
 * is back after.
 */
TEST_F(events, signal_mask)
{
	static const uint8_t code[] = {
		0xe6, PORT,			/* out %al, $PORT */
		0xeb, 0xfc,			/* jmp . - 2 */
	};
	/* struct kvm_signal_mask: the length, then the set (none blocked). */
	uint32_t mask[3] = { 8, 0, 0 };
	struct xg_vcpu *v = &self->vcpu;
	sigset_t usr1, old, now;

	real_mode_guest(_metadata, &self->vm, v, code, sizeof(code));
	mask[0] = 7;
	EXPECT_EQ(-EINVAL, ioctl_err(v->fd, KVM_SET_SIGNAL_MASK, mask));
	EXPECT_EQ(-EFAULT, ioctl_err(v->fd, KVM_SET_SIGNAL_MASK, (void *)8));
	EXPECT_EQ(0, ioctl_err(v->fd, KVM_SET_SIGNAL_MASK, NULL));
	mask[0] = 8;

	signal(SIGUSR1, on_usr1);
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &usr1, &old));
	got_usr1 = 0;
	raise(SIGUSR1);
	/* Blocked while the guest runs: the run goes on to the OUT. */
	run_expect(_metadata, v, KVM_EXIT_IO);
	EXPECT_EQ(0, got_usr1);
	/*
	 * The vCPU's empty mask: the pending signal ends the run, and stays
	 * pending under the thread's mask again (a VMM then takes it with
	 * sigtimedwait(), as QEMU does).
	 */
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_SET_SIGNAL_MASK, mask));
	EXPECT_EQ(-EINTR, xg_run(v));
	EXPECT_EQ((uint32_t)KVM_EXIT_INTR, v->run->exit_reason);
	EXPECT_EQ(0, got_usr1);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, NULL, &now));
	EXPECT_EQ(1, sigismember(&now, SIGUSR1));
	ASSERT_EQ(0, sigpending(&now));
	EXPECT_EQ(1, sigismember(&now, SIGUSR1));
	/* Without the vCPU's mask again, the thread's holds. */
	ASSERT_EQ(0, ioctl_err(v->fd, KVM_SET_SIGNAL_MASK, NULL));
	run_expect(_metadata, v, KVM_EXIT_IO);
	EXPECT_EQ(0, got_usr1);
	sigprocmask(SIG_SETMASK, &old, NULL);
	EXPECT_EQ(1, got_usr1);
	signal(SIGUSR1, SIG_DFL);
}

/* KVM_TPR_ACCESS_REPORTING: flags checked, the struct given back. */
TEST_F(events, tpr_access_reporting)
{
	struct kvm_tpr_access_ctl tac = { .enabled = 1 };
	int fd = self->vcpu.fd;

	EXPECT_EQ(0, ioctl_err(fd, KVM_TPR_ACCESS_REPORTING, &tac));
	EXPECT_EQ(1U, tac.enabled);
	tac.flags = 1;
	EXPECT_EQ(-EINVAL, ioctl_err(fd, KVM_TPR_ACCESS_REPORTING, &tac));
	EXPECT_EQ(-EFAULT, ioctl_err(fd, KVM_TPR_ACCESS_REPORTING, NULL));
	tac.flags = 0;
	tac.enabled = 0;
	EXPECT_EQ(0, ioctl_err(fd, KVM_TPR_ACCESS_REPORTING, &tac));
}

TEST_HARNESS_MAIN
