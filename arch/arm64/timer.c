// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: the guest's timers and interrupt lines, for a VMM that emulates
 * the interrupt controller itself (KVM_CAP_ARM_USER_IRQ), as KVM 6.1 does
 * without an in-kernel vGIC (arch/arm64/kvm/arch_timer.c, arm.c).
 *
 * Lines: KVM_IRQ_LINE with irq type CPU sets the vCPU's IRQ or FIQ line
 * as a level; the vCPU enters with HCR_EL2.VI / VF while it is high, and
 * a change kicks it, as KVM's vcpu_interrupt_line().
 *
 * Timers: the virtual timer's registers are the guest's while it runs
 * (CNTV_*_EL02), offset by the VM's CNTVOFF_EL2; the physical timer is
 * emulated (sys_regs.c).  Their output levels are computed from the
 * counter, never taken from the CPU's interrupt: a level that differs
 * from what userspace last saw in kvm_run->s.regs.device_irq_level ends
 * KVM_RUN with -EINTR and KVM_EXIT_INTR (KVM's
 * kvm_timer_should_notify_user()), and the field is brought up to date
 * whenever KVM_RUN returns.  An hrtimer at the next rise makes a running
 * vCPU exit and wakes a blocked one.  The guest's virtual timer PPI is not
 * the host's, so a CVAL the guest rewrites while it runs takes effect at
 * its next exit (at the latest the host's next tick).
 */
#include <linux/hrtimer.h>
#include <linux/math64.h>
#include <linux/rcupdate.h>
#include <linux/smp.h>
#include <linux/smp_types.h>
#include <clocksource/arm_arch_timer.h>
#include <asm/arch_timer.h>
#include <asm/kvm.h>

#include "../../axvcpu_host.h"
#include "arm64.h"

#define ARM64_TIMER_LEVELS	(KVM_ARM_DEV_EL1_VTIMER | KVM_ARM_DEV_EL1_PTIMER)

u64 arm64_phys_counter(void)
{
	return __arch_counter_get_cntpct();
}

static bool timer_fires(u64 ctl, u64 cval, u64 now)
{
	return (ctl & ARCH_TIMER_CTRL_ENABLE) &&
	       !(ctl & ARCH_TIMER_CTRL_IT_MASK) && cval <= now;
}

static u64 vtimer_now(struct axvcpu_vcpu *vcpu, u64 phys)
{
	return phys - READ_ONCE(((struct arm64_vm *)vcpu->vm->arch)->cntvoff);
}

/* KVM_ARM_DEV_EL1_VTIMER and _PTIMER: the timers' output levels now. */
u64 arm64_timer_levels(struct axvcpu_vcpu *vcpu)
{
	const u64 *s = to_arm64(vcpu)->sys;
	u64 phys = arm64_phys_counter(), lv = 0;

	if (timer_fires(READ_ONCE(s[SR_CNTV_CTL]), READ_ONCE(s[SR_CNTV_CVAL]),
			vtimer_now(vcpu, phys)))
		lv |= KVM_ARM_DEV_EL1_VTIMER;
	if (timer_fires(READ_ONCE(s[SR_CNTP_CTL]), READ_ONCE(s[SR_CNTP_CVAL]),
			phys))
		lv |= KVM_ARM_DEV_EL1_PTIMER;
	return lv;
}

/* CNTP_CTL_EL0 as the guest reads it: ISTATUS from the counter. */
u64 arm64_timer_ptimer_ctl(struct axvcpu_vcpu *vcpu)
{
	const u64 *s = to_arm64(vcpu)->sys;
	u64 ctl = s[SR_CNTP_CTL] & ~ARCH_TIMER_CTRL_IT_STAT;

	if ((ctl & ARCH_TIMER_CTRL_ENABLE) &&
	    s[SR_CNTP_CVAL] <= arm64_phys_counter())
		ctl |= ARCH_TIMER_CTRL_IT_STAT;
	return ctl;
}

/* A level userspace has not seen: KVM_RUN returns to tell it. */
bool arm64_timer_notify(struct axvcpu_vcpu *vcpu)
{
	return arm64_timer_levels(vcpu) !=
	       (READ_ONCE(vcpu->run->s.regs.device_irq_level) &
		ARM64_TIMER_LEVELS);
}

/* KVM_RUN returns: the levels userspace sees (kvm_timer_update_run()). */
void arm64_timer_update_run(struct axvcpu_vcpu *vcpu)
{
	struct kvm_sync_regs *sregs = &vcpu->run->s.regs;

	sregs->device_irq_level = (sregs->device_irq_level &
				   ~ARM64_TIMER_LEVELS) |
				  arm64_timer_levels(vcpu);
}

static void arm64_kick_ipi(void *unused)
{
	/* The interrupt made the guest exit. */
}

/*
 * The timer is due: a blocked vCPU wakes, a running one exits (the
 * interrupt of this hrtimer did, on its own CPU; an IPI does elsewhere).
 * The vCPU looks at the levels before it enters again; one woken early
 * enters, halts and arms the timer anew.  Hard interrupt context.
 */
static enum hrtimer_restart arm64_timer_expire(struct hrtimer *t)
{
	struct arm64_vcpu *a = container_of(t, struct arm64_vcpu, timer);
	struct axvcpu_vcpu *vcpu = a->vcpu;
	int cpu;

	set_bit(AXVCPU_REQ_KICK, &vcpu->requests);
	/* The request before the look at guest_cpu; see axvcpu_kick(). */
	smp_mb__after_atomic();
	wake_up_interruptible(&vcpu->wq);
	cpu = READ_ONCE(vcpu->guest_cpu);
	if (cpu >= 0 && cpu != smp_processor_id())
		/* -EBUSY: the last one is still on its way, as good. */
		smp_call_function_single_async(cpu, &a->kick_csd);
	return HRTIMER_NORESTART;
}

/* The counter value at which a low, enabled timer rises, or U64_MAX. */
static u64 timer_rise(u64 ctl, u64 cval, u64 now)
{
	if (!(ctl & ARCH_TIMER_CTRL_ENABLE) || (ctl & ARCH_TIMER_CTRL_IT_MASK) ||
	    cval <= now)
		return U64_MAX;
	return cval - now;
}

/*
 * Arm the hrtimer for the next rise of either timer, on this CPU (before
 * an entry: its interrupt is then the exit), or cancel it.  The vCPU's
 * thread, its mutex held.
 */
void arm64_timer_arm(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	u64 phys = arm64_phys_counter(), d, ns;
	u32 freq = arch_timer_get_cntfrq();

	d = min(timer_rise(a->sys[SR_CNTV_CTL], a->sys[SR_CNTV_CVAL],
			   vtimer_now(vcpu, phys)),
		timer_rise(a->sys[SR_CNTP_CTL], a->sys[SR_CNTP_CVAL], phys));
	if (d == U64_MAX || !freq) {
		hrtimer_try_to_cancel(&a->timer);
		return;
	}
	/*
	 * Armed for that instant already (most entries): left as it is.  On
	 * another CPU it still kicks the vCPU, by IPI.
	 */
	if (hrtimer_active(&a->timer) && a->timer_due == phys + d)
		return;
	a->timer_due = phys + d;
	/* Far deadlines are capped: the timer is armed again at each entry. */
	ns = mul_u64_u64_div_u64(min_t(u64, d, (u64)freq << 20), NSEC_PER_SEC,
				 freq);
	hrtimer_start(&a->timer, ns_to_ktime(ns), HRTIMER_MODE_REL_PINNED_HARD);
}

void arm64_timer_cancel(struct axvcpu_vcpu *vcpu)
{
	hrtimer_cancel(&to_arm64(vcpu)->timer);
}

void arm64_timer_init(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	struct arm64_vm *v = vcpu->vm->arch;

	a->vcpu = vcpu;
	hrtimer_init(&a->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_PINNED_HARD);
	a->timer.function = arm64_timer_expire;
	INIT_CSD(&a->kick_csd, arm64_kick_ipi, NULL);
	/* As KVM 6.1: each new vCPU starts the VM's virtual counter at 0. */
	WRITE_ONCE(v->cntvoff, arm64_phys_counter());
}

/* Before the vCPU is freed: no hrtimer or IPI of its own may be left. */
void arm64_timer_destroy(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);

	hrtimer_cancel(&a->timer);
	/*
	 * An IPI on its way still uses kick_csd until its CPU takes it (and
	 * unlocks it before the call, which touches nothing of the vCPU).
	 */
	while (smp_load_acquire(&a->kick_csd.node.u_flags) & CSD_FLAG_LOCK)
		cpu_relax();
}

/* --- ONE_REG: KVM_REG_ARM_TIMER_* ----------------------------------------- */

int arm64_timer_get_reg(struct axvcpu_vcpu *vcpu, u64 id, u64 *val)
{
	const u64 *s = to_arm64(vcpu)->sys;
	u64 phys = arm64_phys_counter();

	switch (id) {
	case KVM_REG_ARM_TIMER_CTL:
		*val = s[SR_CNTV_CTL] & ~ARCH_TIMER_CTRL_IT_STAT;
		if ((*val & ARCH_TIMER_CTRL_ENABLE) &&
		    s[SR_CNTV_CVAL] <= vtimer_now(vcpu, phys))
			*val |= ARCH_TIMER_CTRL_IT_STAT;
		return 0;
	case KVM_REG_ARM_TIMER_CNT:
		*val = vtimer_now(vcpu, phys);
		return 0;
	case KVM_REG_ARM_TIMER_CVAL:
		*val = s[SR_CNTV_CVAL];
		return 0;
	default:
		return -ENOENT;
	}
}

int arm64_timer_set_reg(struct axvcpu_vcpu *vcpu, u64 id, u64 val)
{
	u64 *s = to_arm64(vcpu)->sys;
	struct arm64_vm *v = vcpu->vm->arch;
	u64 ctl = val & ~ARCH_TIMER_CTRL_IT_STAT;

	switch (id) {
	case KVM_REG_ARM_TIMER_CTL:
		s[SR_CNTV_CTL] = ctl;
		return 0;
	case KVM_REG_ARM_TIMER_CNT:
		/* The VM's offset, for every vCPU (as KVM 6.1). */
		WRITE_ONCE(v->cntvoff, arm64_phys_counter() - val);
		return 0;
	case KVM_REG_ARM_TIMER_CVAL:
		s[SR_CNTV_CVAL] = val;
		return 0;
	default:
		return -ENOENT;
	}
}

/* --- KVM_IRQ_LINE --------------------------------------------------------- */

/* KVM's vcpu_idx, the creation order; under rcu_read_lock(). */
static struct axvcpu_vcpu *vcpu_by_index(struct axvcpu_vm *vm, u32 idx)
{
	struct axvcpu_vcpu *t;
	unsigned long i;

	xa_for_each(&vm->vcpus, i, t)
		if (to_arm64(t)->index == idx)
			return t;
	return NULL;
}

/* KVM's kvm_vm_ioctl_irq_line() without an in-kernel irqchip. */
int arm64_irq_line(struct axvcpu_vm *vm, const struct kvm_irq_level *irq)
{
	u32 type = (irq->irq >> KVM_ARM_IRQ_TYPE_SHIFT) & KVM_ARM_IRQ_TYPE_MASK;
	u32 num = (irq->irq >> KVM_ARM_IRQ_NUM_SHIFT) & KVM_ARM_IRQ_NUM_MASK;
	u32 idx = ((irq->irq >> KVM_ARM_IRQ_VCPU_SHIFT) & KVM_ARM_IRQ_VCPU_MASK) +
		  ((irq->irq >> KVM_ARM_IRQ_VCPU2_SHIFT) &
		   KVM_ARM_IRQ_VCPU2_MASK) * (KVM_ARM_IRQ_VCPU_MASK + 1);
	struct axvcpu_vcpu *vcpu;
	struct arm64_vcpu *a;
	bool was;
	int r = 0;

	switch (type) {
	case KVM_ARM_IRQ_TYPE_CPU:
		break;
	case KVM_ARM_IRQ_TYPE_PPI:
	case KVM_ARM_IRQ_TYPE_SPI:
		return -ENXIO;		/* no in-kernel irqchip */
	default:
		return -EINVAL;
	}
	if (num > KVM_ARM_IRQ_CPU_FIQ)
		return -EINVAL;
	rcu_read_lock();
	vcpu = vcpu_by_index(vm, idx);
	if (!vcpu) {
		r = -EINVAL;
		goto out;
	}
	a = to_arm64(vcpu);
	if (irq->level)
		was = test_and_set_bit(num, &a->lines);
	else
		was = test_and_clear_bit(num, &a->lines);
	/* Kicked on a change only, as KVM: up to enter with it, down without. */
	if (was != !!irq->level)
		axvcpu_kick(vcpu);
out:
	rcu_read_unlock();
	return r;
}

/*
 * A BLOCKED vCPU wakes for a line that is up (masked or not: WFI wakes for
 * any pending interrupt) or a timer level userspace must hear of, as
 * KVM's kvm_arch_vcpu_runnable().  A powered-off vCPU sleeps on.
 */
bool arm64_vcpu_runnable(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);

	if (READ_ONCE(a->power_off))
		return false;
	return READ_ONCE(a->lines) || arm64_timer_notify(vcpu);
}
