// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: the x86 event state of KVM's ABI: KVM_GET/SET_VCPU_EVENTS and
 * KVM_NMI.
 *
 * A backend keeps the event of its next entry in its hardware's field
 * (SVM's EVENTINJ, VMX's VM-entry interruption information: one layout,
 * struct x86_events), with its interrupt shadow and its NMI masking.
 * What has not reached that field is common: the interrupts of
 * KVM_INTERRUPT (vcpu->irq_pending) and the NMIs of KVM_NMI.
 *
 * axvcpu has no SMM, no in-kernel local APIC (so no SIPI vector or latched
 * INIT) and does not offer KVM_CAP_EXCEPTION_PAYLOAD or
 * KVM_CAP_X86_TRIPLE_FAULT_EVENT: what needs them is refused with the
 * EINVAL KVM gives without them.
 */
#include <linux/bitmap.h>
#include <linux/kvm.h>
#include <linux/uaccess.h>
#include <asm/svm.h>
#include <asm/trapnr.h>

#include "../../axvcpu_host.h"
#include "x86.h"

/* The flags KVM 6.1 knows; the last two need capabilities not offered. */
#define X86_EVENTS_FLAGS	(KVM_VCPUEVENT_VALID_NMI_PENDING |	\
				 KVM_VCPUEVENT_VALID_SIPI_VECTOR |	\
				 KVM_VCPUEVENT_VALID_SHADOW |		\
				 KVM_VCPUEVENT_VALID_SMM |		\
				 KVM_VCPUEVENT_VALID_PAYLOAD |		\
				 KVM_VCPUEVENT_VALID_TRIPLE_FAULT)

/* KVM's limit of queued NMIs: one runs, one waits. */
#define X86_MAX_NMI_PENDING	2

static u32 x86_event_type(u32 inj)
{
	return inj & SVM_EVTINJ_VALID ? inj & SVM_EVTINJ_TYPE_MASK : U32_MAX;
}

/*
 * The interrupt KVM calls injected: the one of the next entry, else
 * KVM_INTERRUPT's (KVM injects it from the call on); -1 if none.
 */
static int x86_injected_irq(struct axvcpu_vcpu *vcpu, const struct x86_events *e)
{
	if (x86_event_type(e->inj) == SVM_EVTINJ_TYPE_INTR)
		return e->inj & SVM_EVTINJ_VEC_MASK;
	if (x86_irq_pending(vcpu))
		return find_last_bit(vcpu->irq_pending, AXVCPU_NR_IRQS);
	return -1;
}

/* KVM_GET_SREGS's interrupt_bitmap: that interrupt. */
void x86_get_irq_bitmap(struct axvcpu_vcpu *vcpu,
			const struct x86_sregs_ops *ops, struct kvm_sregs *r)
{
	struct x86_events e;
	int vec;

	ops->get_events(vcpu, &e);
	vec = x86_injected_irq(vcpu, &e);
	if (vec >= 0)
		__set_bit(vec, (unsigned long *)r->interrupt_bitmap);
}

/*
 * KVM_SET_SREGS: the first interrupt of interrupt_bitmap becomes the one
 * injected next, as in KVM; with an exception or NMI to inject first, it
 * waits for the guest to take it.
 */
void x86_set_irq_bitmap(struct axvcpu_vcpu *vcpu,
			const struct x86_sregs_ops *ops,
			const struct kvm_sregs *r)
{
	unsigned long vec;
	struct x86_events e;

	vec = find_first_bit((const unsigned long *)r->interrupt_bitmap,
			     KVM_NR_INTERRUPTS);
	if (vec >= KVM_NR_INTERRUPTS)
		return;
	bitmap_zero(vcpu->irq_pending, AXVCPU_NR_IRQS);
	ops->get_events(vcpu, &e);
	if (e.inj & SVM_EVTINJ_VALID &&
	    x86_event_type(e.inj) != SVM_EVTINJ_TYPE_INTR) {
		set_bit(vec, vcpu->irq_pending);
		return;
	}
	e.inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_INTR | vec;
	ops->set_events(vcpu, &e, false);
}

static void x86_get_events(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			   const struct x86_sregs_ops *ops,
			   struct kvm_vcpu_events *ev)
{
	struct x86_events e;
	u32 type, vec;
	int irq;

	memset(ev, 0, sizeof(*ev));
	ops->get_events(vcpu, &e);
	type = x86_event_type(e.inj);
	vec = e.inj & SVM_EVTINJ_VEC_MASK;
	if (type == SVM_EVTINJ_TYPE_EXEPT) {
		ev->exception.injected = 1;
		ev->exception.nr = vec;
		ev->exception.has_error_code = !!(e.inj & SVM_EVTINJ_VALID_ERR);
		ev->exception.error_code = e.inj_err;
	}
	irq = x86_injected_irq(vcpu, &e);
	if (irq >= 0) {
		ev->interrupt.injected = 1;
		ev->interrupt.nr = irq;
	}
	ev->interrupt.shadow = e.shadow;
	ev->nmi.injected = type == SVM_EVTINJ_TYPE_NMI;
	ev->nmi.pending = !!x->nmi_pending;
	ev->nmi.masked = e.nmi_masked;
	ev->flags = KVM_VCPUEVENT_VALID_NMI_PENDING |
		    KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
}

/* KVM's checks first, so that a refused call changes nothing. */
static int x86_check_events(const struct kvm_vcpu_events *ev)
{
	if (ev->flags & ~X86_EVENTS_FLAGS)
		return -EINVAL;
	/* Payloads and triple faults: capabilities axvcpu does not offer. */
	if (ev->flags & (KVM_VCPUEVENT_VALID_PAYLOAD |
			 KVM_VCPUEVENT_VALID_TRIPLE_FAULT))
		return -EINVAL;
	if (ev->exception.injected &&
	    (ev->exception.nr > 31 || ev->exception.nr == X86_TRAP_NMI))
		return -EINVAL;
	/* No SMM: KVM without it refuses any of its state. */
	if ((ev->flags & KVM_VCPUEVENT_VALID_SMM) &&
	    (ev->smi.smm || ev->smi.pending || ev->smi.smm_inside_nmi))
		return -EINVAL;
	return 0;
}

/*
 * One event goes into the next entry, in KVM's order of re-injection:
 * the exception, else the NMI, else the interrupt; an interrupt that does
 * not fit waits in irq_pending for the guest to take it.
 */
static int x86_set_events(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			  const struct x86_sregs_ops *ops,
			  const struct kvm_vcpu_events *ev)
{
	struct x86_events e = {
		.shadow = ev->interrupt.shadow,
		.nmi_masked = ev->nmi.masked,
	};
	int r;

	r = x86_check_events(ev);
	if (r)
		return r;
	bitmap_zero(vcpu->irq_pending, AXVCPU_NR_IRQS);
	if (ev->exception.injected) {
		e.inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT |
			ev->exception.nr;
		if (ev->exception.has_error_code) {
			e.inj |= SVM_EVTINJ_VALID_ERR;
			e.inj_err = ev->exception.error_code;
		}
	} else if (ev->nmi.injected) {
		e.inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_NMI | X86_TRAP_NMI;
	} else if (ev->interrupt.injected) {
		e.inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_INTR |
			ev->interrupt.nr;
	}
	if (ev->interrupt.injected &&
	    (e.inj & SVM_EVTINJ_TYPE_MASK) != SVM_EVTINJ_TYPE_INTR)
		set_bit(ev->interrupt.nr, vcpu->irq_pending);
	if (ev->flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
		x->nmi_pending = min_t(u8, ev->nmi.pending,
				       X86_MAX_NMI_PENDING);
	ops->set_events(vcpu, &e, ev->flags & KVM_VCPUEVENT_VALID_SHADOW);
	return 0;
}

/*
 * KVM_NMI queues one more NMI: two at most, one when one is already being
 * handled or injected (KVM's process_nmi()).
 */
static void x86_queue_nmi(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			  const struct x86_sregs_ops *ops)
{
	struct x86_events e;
	u8 limit = X86_MAX_NMI_PENDING;

	ops->get_events(vcpu, &e);
	if (e.nmi_masked || x86_event_type(e.inj) == SVM_EVTINJ_TYPE_NMI)
		limit = 1;
	if (x->nmi_pending < limit)
		x->nmi_pending++;
}

long x86_events_ioctl(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		      const struct x86_sregs_ops *ops, unsigned int ioctl,
		      void __user *argp)
{
	struct kvm_vcpu_events ev;

	switch (ioctl) {
	case KVM_NMI:
		x86_queue_nmi(vcpu, x, ops);
		return 0;
	case KVM_GET_VCPU_EVENTS:
		x86_get_events(vcpu, x, ops, &ev);
		return copy_to_user(argp, &ev, sizeof(ev)) ? -EFAULT : 0;
	case KVM_SET_VCPU_EVENTS:
		if (copy_from_user(&ev, argp, sizeof(ev)))
			return -EFAULT;
		return x86_set_events(vcpu, x, ops, &ev);
	default:
		return -ENOTTY;
	}
}
