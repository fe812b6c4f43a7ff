// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: KVM_SET_GUEST_DEBUG, a VMM debugging its guest (a gdbstub).
 *
 * As KVM 6.1 on x86: KVM_GUESTDBG_ENABLE with
 *  - SINGLESTEP: RFLAGS.TF is set for the guest and hidden from
 *    KVM_GET_REGS; each instruction ends in KVM_EXIT_DEBUG (#DB, DR6.BS),
 *    those the kernel carries out for the guest (CPUID, RDMSR, an IN or
 *    OUT userspace completes) too, where the CPU raises no trap;
 *  - USE_SW_BP: a #BP (INT3) is KVM_EXIT_DEBUG instead of the guest's;
 *  - USE_HW_BP: debugreg[0..3] and [7] are the CPU's DR0-DR3 and DR7 while
 *    the guest runs; the guest reads and writes its own meanwhile, and a
 *    #DB, or a MOV DR with DR7.GD set, is KVM_EXIT_DEBUG;
 *  - BLOCKIRQ: neither an NMI nor the in-kernel irqchip's interrupts go
 *    in (KVM_INTERRUPT's vector counts as injected already, as in KVM).
 * INJECT_DB and INJECT_BP queue that exception (EBUSY when one waits
 * already).  KVM 6.1 refuses no control bit on x86: unknown ones are kept
 * and do nothing, and a control without ENABLE turns it all off.
 */
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <asm/debugreg.h>
#include <asm/processor-flags.h>
#include <asm/traps.h>

#include "../../axvcpu_host.h"
#include "x86.h"

/* The guest's view of RFLAGS: the debugger's TF is not the guest's. */
u64 x86_gdbg_rflags(const struct x86_vcpu *x, u64 rflags)
{
	if (x->gdbg.control & KVM_GUESTDBG_SINGLESTEP)
		rflags &= ~(u64)X86_EFLAGS_TF;
	return rflags;
}

static u64 x86_sregs_linear_rip(const struct kvm_sregs *s, u64 rip)
{
	return x86_linear_rip(s->cs.base, (s->efer & EFER_LMA) && s->cs.l, rip);
}

/*
 * RFLAGS written (KVM_SET_REGS, KVM_SET_GUEST_DEBUG): TF goes with it
 * while the guest is where single-stepping began, as KVM's
 * __kvm_set_rflags(); a VMM that moves RIP elsewhere stops the steps.
 */
void x86_gdbg_set_rflags(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			 const struct x86_sregs_ops *ops, u64 rip,
			 u64 *rflags)
{
	struct kvm_sregs s;

	if (!(x->gdbg.control & KVM_GUESTDBG_SINGLESTEP))
		return;
	ops->get(vcpu, &s);
	if (x86_sregs_linear_rip(&s, rip) == x->gdbg.singlestep_rip)
		*rflags |= X86_EFLAGS_TF;
}

/* Where the guest's own DR7 is: the CPU's, but while USE_HW_BP. */
u64 *x86_guest_dr7(struct x86_vcpu *x, u64 *hw_dr7)
{
	return x->gdbg.control & KVM_GUESTDBG_USE_HW_BP ? &x->gdbg.dr7 : hw_dr7;
}

/* The debugger's DR7 as the CPU takes it: VM entry refuses the rest. */
static u64 x86_gdbg_hw_dr7(u64 dr7)
{
	return (dr7 & X86_DR7_VOLATILE) | X86_DR7_FIXED_1;
}

/*
 * INJECT_DB or INJECT_BP: the exception for the guest at the next entry,
 * -EBUSY when an exception waits already, as KVM.  A #BP returns past the
 * INT3 that made the last #BP exit (KVM re-injects it so, for a
 * breakpoint that was the guest's own).
 */
static int x86_gdbg_inject(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			   const struct x86_sregs_ops *ops, u64 *rip, u32 ctl)
{
	struct x86_events e;

	ops->get_events(vcpu, &e);
	if ((e.inj & (SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_MASK)) ==
	    (SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT))
		return -EBUSY;
	if (ctl & KVM_GUESTDBG_INJECT_DB) {
		e.inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT | X86_TRAP_DB;
	} else {
		e.inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT | X86_TRAP_BP;
		*rip += x->gdbg.bp_len;
	}
	e.inj_err = 0;
	ops->set_events(vcpu, &e, false);
	return 0;
}

long x86_set_guest_debug(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			 u64 *rip, u64 *rflags,
			 const struct x86_sregs_ops *ops, void __user *argp)
{
	struct x86_guest_debug *g = &x->gdbg;
	struct kvm_guest_debug dbg;
	u64 *dr6, *hw_dr7, flags;
	struct kvm_sregs s;
	bool had_hw_bp;
	int r;

	if (copy_from_user(&dbg, argp, sizeof(dbg)))
		return -EFAULT;
	if (dbg.control & (KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP)) {
		r = x86_gdbg_inject(vcpu, x, ops, rip, dbg.control);
		if (r)
			return r;
	}

	/* The guest's flags, before the old control's TF is let go. */
	flags = x86_gdbg_rflags(x, *rflags);
	ops->dr67(vcpu, &dr6, &hw_dr7);
	had_hw_bp = g->control & KVM_GUESTDBG_USE_HW_BP;
	if (had_hw_bp)
		*hw_dr7 = g->dr7;

	g->control = dbg.control & KVM_GUESTDBG_ENABLE ? dbg.control : 0;
	if (g->control & KVM_GUESTDBG_USE_HW_BP) {
		memcpy(g->db, dbg.arch.debugreg, sizeof(g->db));
		g->dr7 = *hw_dr7;
		*hw_dr7 = x86_gdbg_hw_dr7(dbg.arch.debugreg[7]);
	}
	if (g->control & KVM_GUESTDBG_SINGLESTEP) {
		ops->get(vcpu, &s);
		g->singlestep_rip = x86_sregs_linear_rip(&s, *rip);
	}
	g->step_owed = false;
	x86_gdbg_set_rflags(vcpu, x, ops, *rip, &flags);
	*rflags = flags;
	return 0;
}

/* KVM_EXIT_DEBUG, as KVM fills it. */
int x86_gdbg_exit(struct axvcpu_vcpu *vcpu, u32 exception, u64 pc, u64 dr6,
		  u64 dr7)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_DEBUG;
	run->debug.arch.exception = exception;
	run->debug.arch.pad = 0;
	run->debug.arch.pc = pc;
	run->debug.arch.dr6 = dr6;
	run->debug.arch.dr7 = dr7;
	return AXVCPU_EXIT_USER;
}

/*
 * The kernel finished one of the guest's instructions while TF was set
 * and the debugger single-steps: no trap came from the CPU, so
 * KVM_EXIT_DEBUG now (KVM's kvm_vcpu_do_singlestep(); a HLT does not
 * halt then), or at the next KVM_RUN when the exit r goes to userspace
 * first (an IN, OUT or hypercall it completes).  pc: the next one's.
 */
int x86_gdbg_stepped(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x, u64 pc,
		     u64 dr7, int r)
{
	/* A shutdown reset the vCPU, debugging with it. */
	if (!x86_gdbg_stepping(x))
		return r;
	switch (r) {
	case AXVCPU_EXIT_CONTINUE:
	case AXVCPU_EXIT_HALT:
		return x86_gdbg_exit(vcpu, X86_TRAP_DB, pc,
				     X86_RESET_DR6 | DR_STEP, dr7);
	case AXVCPU_EXIT_USER:
		/* A #DB or #BP for the debugger says it all already. */
		if (vcpu->run->exit_reason != KVM_EXIT_DEBUG)
			x->gdbg.step_owed = true;
		return r;
	default:
		return r;
	}
}
