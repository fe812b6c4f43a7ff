// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: the in-kernel local APIC of x86, as KVM models it (xAPIC).
 *
 * KVM_CREATE_IRQCHIP gives every vCPU created after it an APIC whose
 * register page lives here: the guest's MMIO to it (at its APIC_BASE) is
 * emulated in the kernel, KVM_GET/SET_LAPIC move the first KiB of it, as
 * KVM's struct kvm_lapic_state does, in the MMIO layout.
 *
 * Concurrency: the vCPU's own thread (vCPU mutex held) does everything but
 * two things.  Other threads set IRR bits and INIT/SIPI events (IPIs, the
 * IOAPIC) under the APIC's lock and kick; the timer's hrtimer only counts
 * expiries in timer_pending, which the vCPU's thread turns into IRR bits.
 * So the timer is started and cancelled only by the vCPU's thread, never
 * under the lock its callback would need.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>
#include <trace/events/ipi.h>
#include <asm/apicdef.h>
#include <asm/msr-index.h>

#include "../../axvcpu_host.h"
#include "x86.h"

/* KVM's version register: an integrated APIC with six LVT entries (no CMCI). */
#define LAPIC_VERSION		0x14
#define LAPIC_NR_LVT		6
#define LAPIC_LVT_BITS		(APIC_LVT_MASKED | APIC_SEND_PENDING | \
				 APIC_VECTOR_MASK)
#define LAPIC_LINT_BITS		(LAPIC_LVT_BITS | APIC_MODE_MASK | \
				 APIC_INPUT_POLARITY | APIC_LVT_REMOTE_IRR | \
				 APIC_LVT_LEVEL_TRIGGER)
/* ICR's destination shorthand: both of its bits. */
#define LAPIC_SHORTHAND		APIC_DEST_ALLBUT
#define LAPIC_BROADCAST		0xff
/* KVM's floor on a periodic timer (its min_timer_period_us). */
#define LAPIC_MIN_PERIOD_NS	(200 * NSEC_PER_USEC)

/* What the vCPU's thread has to do before it may run: apic->events. */
#define LAPIC_EV_INIT		0
#define LAPIC_EV_SIPI		1

struct x86_lapic {
	struct axvcpu_vcpu *vcpu;
	struct x86_vcpu *x;
	struct x86_irqchip *chip;
	raw_spinlock_t lock;		/* regs, mp_state, events */
	u8 regs[KVM_APIC_REG_SIZE];	/* KVM_GET/SET_LAPIC's layout */
	u32 mp_state;			/* KVM_MP_STATE_* */
	unsigned long events;		/* LAPIC_EV_* */
	u8 sipi_vector;
	u8 cr8;				/* the TPR the guest's CR8 last showed */
	u32 divide;			/* of TDCR */
	struct hrtimer timer;
	ktime_t target;			/* the next expiry */
	u64 period_ns;			/* of TMICT; 0: not started */
	bool periodic;
	atomic_t timer_pending;		/* expiries not yet in IRR */
};

/* --- the register page ----------------------------------------------------- */

static u32 lapic_get(const struct x86_lapic *a, unsigned int reg)
{
	return *(const u32 *)(a->regs + reg);
}

static void lapic_set(struct x86_lapic *a, unsigned int reg, u32 val)
{
	*(u32 *)(a->regs + reg) = val;
}

/* IRR, ISR and TMR: 256 bits in eight registers 16 bytes apart. */
static u32 *lapic_vec_reg(struct x86_lapic *a, unsigned int base, u8 vec)
{
	return (u32 *)(a->regs + base + (vec / 32) * 0x10);
}

static void lapic_vec_set(struct x86_lapic *a, unsigned int base, u8 vec)
{
	*lapic_vec_reg(a, base, vec) |= BIT(vec % 32);
}

static void lapic_vec_clear(struct x86_lapic *a, unsigned int base, u8 vec)
{
	*lapic_vec_reg(a, base, vec) &= ~BIT(vec % 32);
}

static bool lapic_vec_test(struct x86_lapic *a, unsigned int base, u8 vec)
{
	return *lapic_vec_reg(a, base, vec) & BIT(vec % 32);
}

static int lapic_highest(const struct x86_lapic *a, unsigned int base)
{
	int i;
	u32 w;

	for (i = APIC_ISR_NR - 1; i >= 0; i--) {
		w = lapic_get(a, base + i * 0x10);
		if (w)
			return i * 32 + fls(w) - 1;
	}
	return -1;
}

static bool lapic_hw_enabled(const struct x86_lapic *a)
{
	return a->x->msrs.apic_base & MSR_IA32_APICBASE_ENABLE;
}

static bool lapic_sw_enabled(const struct x86_lapic *a)
{
	return lapic_get(a, APIC_SPIV) & APIC_SPIV_APIC_ENABLED;
}

/* PPR: the higher of TPR and the class of the highest vector in service. */
static void lapic_update_ppr(struct x86_lapic *a)
{
	u32 tpr = lapic_get(a, APIC_TASKPRI) & 0xff;
	int isr = max(lapic_highest(a, APIC_ISR), 0);

	lapic_set(a, APIC_PROCPRI,
		  (tpr & 0xf0) >= (isr & 0xf0) ? tpr : isr & 0xf0);
}

/* The vector to deliver now, or -1: one in IRR above PPR's class. */
static int lapic_deliverable(const struct x86_lapic *a)
{
	int vec;

	if (!lapic_hw_enabled(a))
		return -1;
	vec = lapic_highest(a, APIC_IRR);
	if (vec < 0 || (vec & 0xf0) <= lapic_get(a, APIC_PROCPRI))
		return -1;
	return vec;
}

/* --- accepting interrupts: any thread, the lock held ----------------------- */

/* An interrupt arrives; true when the vCPU needs a kick. */
static bool lapic_accept(struct x86_lapic *a, u32 mode, u8 vec, bool level,
			 bool assert)
{
	switch (mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (!lapic_hw_enabled(a) || !lapic_sw_enabled(a))
			return false;
		lapic_vec_set(a, APIC_IRR, vec);
		if (level)
			lapic_vec_set(a, APIC_TMR, vec);
		else
			lapic_vec_clear(a, APIC_TMR, vec);
		return true;
	case APIC_DM_INIT:
		/* An INIT level de-assert does nothing, as in KVM. */
		if (level && !assert)
			return false;
		a->events = BIT(LAPIC_EV_INIT);
		return true;
	case APIC_DM_STARTUP:
		a->sipi_vector = vec;
		__set_bit(LAPIC_EV_SIPI, &a->events);
		return true;
	default:
		/* NMI, SMI and ExtINT through the ICR are not modelled. */
		return false;
	}
}

/*
 * Make the vCPU see what was just accepted: wake it, and make it leave
 * guest mode on another CPU.  Any context, the timer's hard interrupt
 * included: the IPI is the scheduler's reschedule IPI, as KVM's kick; the
 * interrupt itself makes the guest exit.
 */
static void lapic_kick(struct x86_lapic *a)
{
	struct axvcpu_vcpu *vcpu = a->vcpu;
	int cpu;

	/*
	 * The event before the look at guest_cpu; pairs with the barrier of
	 * axvcpu_enter(), after which the run step looks at the APIC.
	 */
	smp_mb();
	wake_up_interruptible(&vcpu->wq);
	cpu = READ_ONCE(vcpu->guest_cpu);
	if (cpu >= 0 && cpu != raw_smp_processor_id())
		smp_send_reschedule(cpu);
}

/* True when the APIC took it. */
static bool lapic_deliver(struct x86_lapic *a, u32 mode, u8 vec, bool level,
			  bool assert)
{
	unsigned long flags;
	bool kick;

	raw_spin_lock_irqsave(&a->lock, flags);
	kick = lapic_accept(a, mode, vec, level, assert);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	if (kick)
		lapic_kick(a);
	return kick;
}

/* An LVT entry fires (the timer): its vector unless masked.  Lock held. */
static void lapic_local_fire(struct x86_lapic *a, unsigned int lvt)
{
	u32 val = lapic_get(a, lvt);

	if (!(val & APIC_LVT_MASKED))
		lapic_accept(a, val & APIC_MODE_MASK, val & APIC_VECTOR_MASK,
			     val & APIC_LVT_LEVEL_TRIGGER, true);
}

/* Timer expiries the hrtimer counted become an IRR bit.  Lock held. */
static void lapic_take_timer(struct x86_lapic *a)
{
	if (atomic_read(&a->timer_pending) && atomic_xchg(&a->timer_pending, 0))
		lapic_local_fire(a, APIC_LVTT);
}

/* --- destinations ---------------------------------------------------------- */

/* Whether dst is a destination of an ICR of src (KVM's match rules). */
static bool lapic_match(const struct x86_lapic *src,
			const struct x86_lapic *dst, u32 icr, u8 dest)
{
	u32 ldr, dfr;
	u8 id;

	switch (icr & LAPIC_SHORTHAND) {
	case APIC_DEST_SELF:
		return src == dst;
	case APIC_DEST_ALLINC:
		return true;
	case APIC_DEST_ALLBUT:
		return src != dst;
	}
	if (dest == LAPIC_BROADCAST)
		return true;
	if (!(icr & APIC_DEST_LOGICAL)) {
		id = READ_ONCE(*(const u32 *)(dst->regs + APIC_ID)) >> 24;
		return id == dest;
	}
	ldr = READ_ONCE(*(const u32 *)(dst->regs + APIC_LDR)) >> 24;
	dfr = READ_ONCE(*(const u32 *)(dst->regs + APIC_DFR)) >> 28;
	if (dfr == 0xf)				/* flat */
		return ldr & dest;
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf);	/* cluster */
}

/*
 * An interrupt for the destination of icr (fields of an ICR) and dest,
 * from src (NULL: the IOAPIC).  Lowest priority goes to the first APIC of
 * the destination (by vCPU id): KVM arbitrates among them, any one is
 * right.  The number of APICs that took it.
 */
static int lapic_send(struct x86_irqchip *chip, struct x86_lapic *src,
		      u32 icr, u8 dest, bool level)
{
	u32 mode = icr & APIC_DM_FIXED_MASK;
	struct x86_lapic *a;
	unsigned long i;
	int n = 0;

	rcu_read_lock();
	xa_for_each(&chip->apics, i, a) {
		if (!lapic_match(src, a, icr, dest))
			continue;
		n += lapic_deliver(a, mode, icr & APIC_VECTOR_MASK, level,
				   !src || (icr & APIC_INT_ASSERT));
		if (mode == APIC_DM_LOWEST)
			break;
	}
	rcu_read_unlock();
	return n;
}

/* An ICR write of src. */
static void lapic_send_ipi(struct x86_lapic *src, u32 icr, u8 dest)
{
	lapic_send(src->chip, src, icr, dest, icr & APIC_INT_LEVELTRIG);
}

/* An interrupt from the IOAPIC: a redirection entry's fields.  Any thread. */
int x86_lapic_irq(struct x86_irqchip *chip, u8 dest, bool logical, u32 mode,
		  u8 vec, bool level)
{
	return lapic_send(chip, NULL, mode | vec |
			  (logical ? APIC_DEST_LOGICAL : 0), dest, level);
}

/* --- the timer ------------------------------------------------------------- */

/*
 * The timer modes LVTT takes: periodic once the VMM set a CPUID (KVM
 * derives them from it, one shot only before); no TSC deadline.
 */
static u32 lapic_timer_modes(const struct x86_lapic *a)
{
	return a->x->cpuid_set ? APIC_LVT_TIMER_PERIODIC : 0;
}

static enum hrtimer_restart lapic_timer_fn(struct hrtimer *t)
{
	struct x86_lapic *a = container_of(t, struct x86_lapic, timer);

	atomic_inc(&a->timer_pending);
	lapic_kick(a);
	if (!READ_ONCE(a->periodic))
		return HRTIMER_NORESTART;
	a->target = ktime_add_ns(a->target, a->period_ns);
	hrtimer_set_expires(t, a->target);
	return HRTIMER_RESTART;
}

static void lapic_update_divide(struct x86_lapic *a)
{
	u32 tdcr = lapic_get(a, APIC_TDCR);

	a->divide = 1 << ((((tdcr & 3) | ((tdcr & 8) >> 1)) + 1) & 7);
}

/* The vCPU's thread only (see the top of the file). */
static void lapic_timer_stop(struct x86_lapic *a)
{
	hrtimer_cancel(&a->timer);
	a->period_ns = 0;
}

/* Count down from count (0: TMICT) ticks of the bus clock, 1 ns each. */
static void lapic_timer_start(struct x86_lapic *a, u32 count)
{
	u32 tmict = lapic_get(a, APIC_TMICT);
	u64 first;

	lapic_timer_stop(a);
	if (!tmict)
		return;
	a->period_ns = (u64)tmict * a->divide;
	if (a->periodic && a->period_ns < LAPIC_MIN_PERIOD_NS)
		a->period_ns = LAPIC_MIN_PERIOD_NS;
	first = (u64)count * a->divide;
	if (!first || first > a->period_ns)
		first = a->period_ns;
	a->target = ktime_add_ns(ktime_get(), first);
	hrtimer_start(&a->timer, a->target, HRTIMER_MODE_ABS_HARD);
}

/* TMCCT: what is left of this period, in ticks. */
static u32 lapic_tmcct(struct x86_lapic *a)
{
	s64 left;

	if (!lapic_get(a, APIC_TMICT) || !a->period_ns)
		return 0;
	left = ktime_to_ns(ktime_sub(READ_ONCE(a->target), ktime_get()));
	if (left <= 0)
		return 0;
	return div_u64(left, a->divide);
}

/* --- register reads and writes: the vCPU's thread ------------------------ */

static bool lapic_readable(unsigned int reg)
{
	switch (reg) {
	case APIC_ID: case APIC_LVR: case APIC_TASKPRI: case APIC_ARBPRI:
	case APIC_PROCPRI: case APIC_LDR: case APIC_DFR: case APIC_SPIV:
	case APIC_ISR ... APIC_ISR + 0x70:
	case APIC_TMR ... APIC_TMR + 0x70:
	case APIC_IRR ... APIC_IRR + 0x70:
	case APIC_ESR: case APIC_ICR: case APIC_ICR2:
	case APIC_LVTT: case APIC_LVTTHMR: case APIC_LVTPC: case APIC_LVT0:
	case APIC_LVT1: case APIC_LVTERR:
	case APIC_TMICT: case APIC_TMCCT: case APIC_TDCR:
		return !(reg & 0xf);
	default:
		return false;
	}
}

static u32 lapic_read(struct x86_lapic *a, unsigned int reg)
{
	unsigned long flags;
	u32 val;

	if (reg == APIC_TMCCT)
		return lapic_tmcct(a);
	if (reg == APIC_ARBPRI)
		return 0;
	raw_spin_lock_irqsave(&a->lock, flags);
	lapic_take_timer(a);
	lapic_update_ppr(a);
	val = lapic_get(a, reg);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return val;
}

static void lapic_mask_lvts(struct x86_lapic *a)
{
	int i;

	for (i = 0; i < LAPIC_NR_LVT; i++)
		lapic_set(a, APIC_LVTT + 0x10 * i,
			  lapic_get(a, APIC_LVTT + 0x10 * i) | APIC_LVT_MASKED);
}

/* EOI: the highest vector in service is done; a level one's, the IOAPIC's. */
static void lapic_eoi(struct x86_lapic *a)
{
	unsigned long flags;
	bool level = false;
	int vec;

	raw_spin_lock_irqsave(&a->lock, flags);
	vec = lapic_highest(a, APIC_ISR);
	if (vec >= 0) {
		lapic_vec_clear(a, APIC_ISR, vec);
		level = lapic_vec_test(a, APIC_TMR, vec);
		lapic_update_ppr(a);
	}
	raw_spin_unlock_irqrestore(&a->lock, flags);
	if (level)
		x86_ioapic_eoi(a->chip, vec);
}

/* Writes that change only the page, under the lock. */
static void lapic_write_locked(struct x86_lapic *a, unsigned int reg, u32 val)
{
	switch (reg) {
	case APIC_ID:
		lapic_set(a, APIC_ID, val & 0xff000000);
		break;
	case APIC_TASKPRI:
		lapic_set(a, APIC_TASKPRI, val & 0xff);
		lapic_update_ppr(a);
		break;
	case APIC_LDR:
		lapic_set(a, APIC_LDR, val & APIC_LDR_MASK);
		break;
	case APIC_DFR:
		lapic_set(a, APIC_DFR, val | 0x0fffffff);
		break;
	case APIC_SPIV:
		lapic_set(a, APIC_SPIV, val & 0x3ff);
		if (!(val & APIC_SPIV_APIC_ENABLED)) {
			lapic_mask_lvts(a);
			atomic_set(&a->timer_pending, 0);
		}
		break;
	case APIC_ICR2:
		lapic_set(a, APIC_ICR2, val & 0xff000000);
		break;
	case APIC_LVTTHMR:
	case APIC_LVTPC:
		if (!lapic_sw_enabled(a))
			val |= APIC_LVT_MASKED;
		lapic_set(a, reg, val & (LAPIC_LVT_BITS | APIC_MODE_MASK));
		break;
	case APIC_LVT0:
	case APIC_LVT1:
		if (!lapic_sw_enabled(a))
			val |= APIC_LVT_MASKED;
		lapic_set(a, reg, val & LAPIC_LINT_BITS);
		break;
	case APIC_LVTERR:
		if (!lapic_sw_enabled(a))
			val |= APIC_LVT_MASKED;
		lapic_set(a, reg, val & LAPIC_LVT_BITS);
		break;
	case APIC_LVTT:
		if (!lapic_sw_enabled(a))
			val |= APIC_LVT_MASKED;
		val &= LAPIC_LVT_BITS | lapic_timer_modes(a);
		lapic_set(a, APIC_LVTT, val);
		WRITE_ONCE(a->periodic, val & APIC_LVT_TIMER_PERIODIC);
		break;
	default:
		/* Read-only or reserved (LVR, PPR, ISR, ESR...): ignored. */
		break;
	}
}

static void lapic_write(struct x86_lapic *a, unsigned int reg, u32 val)
{
	unsigned long flags;
	u32 old, left;

	switch (reg) {
	case APIC_EOI:
		lapic_eoi(a);
		return;
	case APIC_ICR:
		/* Delivered at once: the busy bit never shows. */
		val &= ~APIC_ICR_BUSY;
		raw_spin_lock_irqsave(&a->lock, flags);
		lapic_set(a, APIC_ICR, val);
		raw_spin_unlock_irqrestore(&a->lock, flags);
		lapic_send_ipi(a, val, lapic_get(a, APIC_ICR2) >> 24);
		return;
	case APIC_TMICT:
		lapic_set(a, APIC_TMICT, val);
		lapic_timer_start(a, 0);
		return;
	case APIC_TDCR:
		/* A running timer keeps its count: the time left scales. */
		old = a->divide;
		left = lapic_tmcct(a);
		lapic_set(a, APIC_TDCR, val & 0xb);
		lapic_update_divide(a);
		if (a->period_ns && a->divide != old)
			lapic_timer_start(a, left);
		return;
	}
	/* A software disable masks the LVTs; the timer counts on, as KVM's. */
	raw_spin_lock_irqsave(&a->lock, flags);
	lapic_write_locked(a, reg, val);
	raw_spin_unlock_irqrestore(&a->lock, flags);
}

/*
 * A guest access to gpa that is not RAM: the APIC's page when gpa is in it
 * (at APIC_BASE, enabled or not, as KVM has it).  A disabled APIC reads
 * all ones and ignores writes; misaligned or partial writes and reads of
 * reserved registers do nothing (reads give 0).  False: not the APIC's.
 */
bool x86_lapic_mmio(struct x86_vcpu *x, u64 gpa, void *buf, unsigned int len,
		    bool write)
{
	struct x86_lapic *a = x->apic;
	u64 base = x->msrs.apic_base & MSR_IA32_APICBASE_BASE;
	unsigned int off = gpa - base, reg;
	u32 val;

	if (!a || gpa < base || gpa - base >= PAGE_SIZE)
		return false;
	if (!lapic_hw_enabled(a)) {
		if (!write)
			memset(buf, 0xff, len);
		return true;
	}
	reg = off & ~0xfU;
	if (write) {
		if (len == 4 && !(off & 0xf)) {
			memcpy(&val, buf, 4);
			lapic_write(a, reg, val);
		}
		return true;
	}
	memset(buf, 0, len);
	if ((off & 0xf) + len > 4 || reg >= KVM_APIC_REG_SIZE ||
	    !lapic_readable(reg))
		return true;
	val = lapic_read(a, reg);
	memcpy(buf, (u8 *)&val + (off & 0xf), len);
	return true;
}

/* --- delivery into the guest ----------------------------------------------- */

/*
 * Before an entry, interrupts off: the guest's CR8 (the TPR's class) as it
 * left it; what to load into it.  A change the guest made since the last
 * entry is a TPR write, as KVM's CR8 write is.
 */
u8 x86_lapic_sync_cr8(struct x86_lapic *a, u8 cr8)
{
	raw_spin_lock(&a->lock);
	if (cr8 != a->cr8) {
		lapic_set(a, APIC_TASKPRI, (cr8 & 0xf) << 4);
		lapic_update_ppr(a);
	}
	a->cr8 = lapic_get(a, APIC_TASKPRI) >> 4;
	raw_spin_unlock(&a->lock);
	return a->cr8;
}

/*
 * Before an entry, interrupts off: when the guest can take an interrupt
 * and none is being injected (*vec < 0), the APIC's highest deliverable
 * vector moves from IRR to ISR into *vec.  True when one more waits: the
 * caller opens the interrupt window.
 */
bool x86_lapic_next_irq(struct x86_lapic *a, bool busy, bool interruptible,
			int *vec)
{
	int v;

	raw_spin_lock(&a->lock);
	lapic_take_timer(a);
	v = lapic_deliverable(a);
	if (v >= 0 && !busy && *vec < 0 && interruptible) {
		lapic_vec_clear(a, APIC_IRR, v);
		lapic_vec_set(a, APIC_ISR, v);
		lapic_update_ppr(a);
		*vec = v;
		v = lapic_deliverable(a);
	}
	raw_spin_unlock(&a->lock);
	return v >= 0;
}

/* Whether the vCPU may run now; the lock held. */
static bool lapic_runnable(struct x86_lapic *a, bool interruptible)
{
	if (a->events)
		return true;
	switch (a->mp_state) {
	case KVM_MP_STATE_RUNNABLE:
		return true;
	case KVM_MP_STATE_HALTED:
		lapic_take_timer(a);
		return interruptible && lapic_deliverable(a) >= 0;
	default:
		return false;
	}
}

/*
 * The run step, interrupts off: whether to enter the guest.  Not when an
 * INIT or SIPI waits (the exit path applies it) or the vCPU waits for one,
 * or halted with nothing to take: the backend then exits at once and
 * calls x86_lapic_exit().
 */
bool x86_lapic_may_enter(struct x86_lapic *a, bool interruptible)
{
	bool r;

	raw_spin_lock(&a->lock);
	r = !a->events && lapic_runnable(a, interruptible);
	if (r)
		a->mp_state = KVM_MP_STATE_RUNNABLE;
	raw_spin_unlock(&a->lock);
	return r;
}

/* A BLOCKED vCPU wakes (the backend's vcpu_runnable). */
bool x86_lapic_runnable(struct x86_lapic *a, bool interruptible)
{
	unsigned long flags;
	bool r;

	raw_spin_lock_irqsave(&a->lock, flags);
	r = lapic_runnable(a, interruptible);
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return r;
}

/* HLT with an in-kernel APIC: halted in the kernel until an interrupt. */
int x86_lapic_halt(struct x86_lapic *a)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&a->lock, flags);
	a->mp_state = KVM_MP_STATE_HALTED;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return AXVCPU_EXIT_CONTINUE;
}

static void lapic_reset(struct x86_lapic *a, bool init)
{
	unsigned long flags;
	int i;

	lapic_timer_stop(a);
	raw_spin_lock_irqsave(&a->lock, flags);
	if (!init) {
		memset(a->regs, 0, sizeof(a->regs));
		lapic_set(a, APIC_ID, a->vcpu->vcpu_id << 24);
	}
	lapic_set(a, APIC_LVR, LAPIC_VERSION | (LAPIC_NR_LVT - 1) << 16);
	for (i = 0; i < LAPIC_NR_LVT; i++)
		lapic_set(a, APIC_LVTT + 0x10 * i, APIC_LVT_MASKED);
	/* KVM's LINT0_REENABLED quirk: the BSP's LINT0 takes the PIC. */
	if (a->x->msrs.apic_base & MSR_IA32_APICBASE_BSP)
		lapic_set(a, APIC_LVT0, SET_APIC_DELIVERY_MODE(0, APIC_MODE_EXTINT));
	lapic_set(a, APIC_DFR, 0xffffffff);
	lapic_set(a, APIC_SPIV, 0xff);
	lapic_set(a, APIC_TASKPRI, 0);
	lapic_set(a, APIC_LDR, 0);
	lapic_set(a, APIC_ESR, 0);
	lapic_set(a, APIC_ICR, 0);
	lapic_set(a, APIC_ICR2, 0);
	lapic_set(a, APIC_TDCR, 0);
	lapic_set(a, APIC_TMICT, 0);
	for (i = 0; i < APIC_ISR_NR; i++) {
		lapic_set(a, APIC_IRR + 0x10 * i, 0);
		lapic_set(a, APIC_ISR + 0x10 * i, 0);
		lapic_set(a, APIC_TMR + 0x10 * i, 0);
	}
	lapic_update_ppr(a);
	a->periodic = false;
	atomic_set(&a->timer_pending, 0);
	a->cr8 = 0;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	lapic_update_divide(a);
}

/*
 * INIT and SIPI, in the vCPU's thread: INIT resets the vCPU (the BSP runs
 * on, the others wait for a SIPI), a SIPI starts a waiting one at
 * vector * 4 KiB in real mode, as KVM does.
 */
static void lapic_apply_events(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			       const struct x86_sregs_ops *ops, u64 *rip)
{
	struct x86_lapic *a = x->apic;
	struct kvm_sregs s;
	unsigned long ev, flags;
	u64 base;
	u8 sipi;

	raw_spin_lock_irqsave(&a->lock, flags);
	ev = a->events;
	a->events = 0;
	sipi = a->sipi_vector;
	raw_spin_unlock_irqrestore(&a->lock, flags);

	if (ev & BIT(LAPIC_EV_INIT)) {
		/* The vCPU's reset, but for APIC_BASE, which INIT keeps. */
		base = x->msrs.apic_base;
		axvcpu_arch->vcpu_reset(vcpu);
		x->msrs.apic_base = base;
		lapic_reset(a, true);
		a->mp_state = x->msrs.apic_base & MSR_IA32_APICBASE_BSP ?
			      KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED;
	}
	if ((ev & BIT(LAPIC_EV_SIPI)) &&
	    a->mp_state == KVM_MP_STATE_INIT_RECEIVED) {
		ops->get(vcpu, &s);
		s.cs.selector = sipi << 8;
		s.cs.base = (u64)sipi << 12;
		if (!ops->set(vcpu, &s)) {
			*rip = 0;
			a->mp_state = KVM_MP_STATE_RUNNABLE;
		}
	}
}

/*
 * The run step did not enter (x86_lapic_may_enter() said no): apply INIT
 * and SIPI; then enter, or sleep as BLOCKED until the vCPU is runnable.
 */
int x86_lapic_exit(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		   const struct x86_sregs_ops *ops, u64 *rip)
{
	x->apic_exit = false;
	lapic_apply_events(vcpu, x, ops, rip);
	return x->apic->mp_state == KVM_MP_STATE_RUNNABLE ?
	       AXVCPU_EXIT_CONTINUE : AXVCPU_EXIT_SLEEP;
}

/* --- KVM's vCPU ioctls ------------------------------------------------------ */

static long lapic_get_state(struct x86_lapic *a, void __user *argp)
{
	struct kvm_lapic_state *s;
	unsigned long flags;
	long r = 0;

	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	raw_spin_lock_irqsave(&a->lock, flags);
	lapic_take_timer(a);
	lapic_update_ppr(a);
	memcpy(s->regs, a->regs, sizeof(s->regs));
	raw_spin_unlock_irqrestore(&a->lock, flags);
	/* The current count as it is now, as KVM gives it. */
	*(u32 *)(s->regs + APIC_TMCCT) = lapic_tmcct(a);
	if (copy_to_user(argp, s, sizeof(*s)))
		r = -EFAULT;
	kfree(s);
	return r;
}

/* The whole page, then what follows from it: PPR, the timer from TMCCT. */
static long lapic_set_state(struct x86_lapic *a, void __user *argp)
{
	struct kvm_lapic_state *s;
	unsigned long flags;
	u32 count;

	s = memdup_user(argp, sizeof(*s));
	if (IS_ERR(s))
		return PTR_ERR(s);
	lapic_timer_stop(a);
	raw_spin_lock_irqsave(&a->lock, flags);
	memcpy(a->regs, s->regs, sizeof(a->regs));
	lapic_set(a, APIC_LVR, LAPIC_VERSION | (LAPIC_NR_LVT - 1) << 16);
	lapic_update_ppr(a);
	count = lapic_get(a, APIC_TMCCT);
	lapic_set(a, APIC_TMCCT, 0);
	a->periodic = lapic_get(a, APIC_LVTT) & lapic_timer_modes(a) &
		      APIC_LVT_TIMER_PERIODIC;
	atomic_set(&a->timer_pending, 0);
	a->cr8 = lapic_get(a, APIC_TASKPRI) >> 4;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	lapic_update_divide(a);
	lapic_timer_start(a, count);
	kfree(s);
	lapic_kick(a);
	return 0;
}

/*
 * KVM_GET/SET_MP_STATE with an in-kernel APIC: pending INIT and SIPI are
 * applied first; SIPI_RECEIVED is INIT_RECEIVED with a SIPI pending, as
 * KVM keeps it.  The vCPU mutex is held.
 */
static long lapic_mp_state(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			   const struct x86_sregs_ops *ops, u64 *rip,
			   unsigned int ioctl, void __user *argp)
{
	struct x86_lapic *a = x->apic;
	struct kvm_mp_state mp;
	unsigned long flags;

	if (ioctl == KVM_GET_MP_STATE) {
		lapic_apply_events(vcpu, x, ops, rip);
		mp.mp_state = a->mp_state;
		return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
	}
	if (copy_from_user(&mp, argp, sizeof(mp)))
		return -EFAULT;
	switch (mp.mp_state) {
	case KVM_MP_STATE_RUNNABLE:
	case KVM_MP_STATE_UNINITIALIZED:
	case KVM_MP_STATE_HALTED:
	case KVM_MP_STATE_AP_RESET_HOLD:
	case KVM_MP_STATE_INIT_RECEIVED:
		break;
	case KVM_MP_STATE_SIPI_RECEIVED:
		raw_spin_lock_irqsave(&a->lock, flags);
		__set_bit(LAPIC_EV_SIPI, &a->events);
		raw_spin_unlock_irqrestore(&a->lock, flags);
		mp.mp_state = KVM_MP_STATE_INIT_RECEIVED;
		break;
	default:
		return -EINVAL;
	}
	raw_spin_lock_irqsave(&a->lock, flags);
	a->mp_state = mp.mp_state;
	raw_spin_unlock_irqrestore(&a->lock, flags);
	return 0;
}

long x86_lapic_ioctl(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		     const struct x86_sregs_ops *ops, u64 *rip,
		     unsigned int ioctl, void __user *argp)
{
	switch (ioctl) {
	case KVM_GET_LAPIC:
		return x->apic ? lapic_get_state(x->apic, argp) : -EINVAL;
	case KVM_SET_LAPIC:
		return x->apic ? lapic_set_state(x->apic, argp) : -EINVAL;
	default:
		return lapic_mp_state(vcpu, x, ops, rip, ioctl, argp);
	}
}

/* --- the VM's irqchip and each vCPU's APIC ---------------------------------- */

/*
 * KVM_CREATE_IRQCHIP: before any vCPU (-EINVAL after), once (-EEXIST).
 * vCPU creation holds the VM lock too, so either sees the other.
 */
int x86_irqchip_create(struct axvcpu_vm *vm)
{
	struct x86_irqchip *chip;
	int r;

	mutex_lock(&vm->lock);
	r = -EEXIST;
	if (vm->irqchip)
		goto out_unlock;
	r = -EINVAL;
	if (vm->nr_vcpus)
		goto out_unlock;
	r = -ENOMEM;
	chip = kzalloc(sizeof(*chip), GFP_KERNEL_ACCOUNT);
	if (!chip)
		goto out_unlock;
	chip->ioapic = x86_ioapic_alloc();
	if (!chip->ioapic)
		goto out_free_chip;
	xa_init(&chip->apics);
	vm->irqchip = chip;
	mutex_unlock(&vm->lock);
	return 0;

out_free_chip:
	kfree(chip);
out_unlock:
	mutex_unlock(&vm->lock);
	return r;
}

void x86_irqchip_free(struct axvcpu_vm *vm)
{
	struct x86_irqchip *chip = vm->irqchip;

	if (!chip)
		return;
	xa_destroy(&chip->apics);
	kfree(chip->ioapic);
	kfree(chip);
	vm->irqchip = NULL;
}

/*
 * A new vCPU of a VM with an irqchip gets its APIC (the VM lock is held):
 * the BSP runnable, the others waiting for INIT and SIPI, as KVM has them.
 */
int x86_lapic_create(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x)
{
	struct x86_irqchip *chip = vcpu->vm->irqchip;
	struct x86_lapic *a;
	int r;

	if (!chip)
		return 0;
	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return -ENOMEM;
	a->vcpu = vcpu;
	a->x = x;
	a->chip = chip;
	raw_spin_lock_init(&a->lock);
	hrtimer_init(&a->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	a->timer.function = lapic_timer_fn;
	lapic_reset(a, false);
	a->mp_state = vcpu->vcpu_id ? KVM_MP_STATE_UNINITIALIZED :
				      KVM_MP_STATE_RUNNABLE;
	r = xa_insert(&chip->apics, vcpu->vcpu_id, a, GFP_KERNEL_ACCOUNT);
	if (r) {
		kfree(a);
		return r;
	}
	x->apic = a;
	return 0;
}

void x86_lapic_free(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x)
{
	struct x86_lapic *a = x->apic;

	if (!a)
		return;
	xa_erase(&a->chip->apics, vcpu->vcpu_id);
	/*
	 * No IPI walk may hold it when it goes: one of another vCPU, when a
	 * creation failed.  Once the VM's last reference is gone (vCPUs are
	 * freed with their VM), nothing can send one.
	 */
	if (kref_read(&vcpu->vm->kref))
		synchronize_rcu();
	hrtimer_cancel(&a->timer);
	kfree(a);
	x->apic = NULL;
}
