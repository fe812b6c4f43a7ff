// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: the in-kernel IOAPIC of x86 (KVM_CREATE_IRQCHIP), as KVM models
 * it: an 82093AA-like IOAPIC of 24 pins (version 0x11, no EOI register
 * in its version, though the register at 0x40 works as KVM's does) at
 * 0xfec00000, its redirection table, edge and level pins, remote IRR
 * cleared by the EOI a local APIC broadcasts for a level vector.
 *
 * KVM_IRQ_LINE drives the pins with KVM's default routing, GSI n to pin
 * n (KVM also gives GSIs below 16 to its PIC, not modelled here);
 * KVM_GET/SET_IRQCHIP move its state as struct kvm_ioapic_state.  Any
 * thread, under the IOAPIC's lock; delivery takes each target APIC's lock
 * after it (lapic.c).
 */
#include <linux/kvm.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>

#include "../../axvcpu_host.h"
#include "x86.h"

#define IOAPIC_BASE		0xfec00000ULL
#define IOAPIC_MMIO_LEN		0x100
#define IOAPIC_VERSION		0x11
/* The registers of the MMIO page, and those IOREGSEL selects. */
#define IOAPIC_SELECT		0x00
#define IOAPIC_WINDOW		0x10
#define IOAPIC_EOI		0x40
#define IOAPIC_REG_ID		0x00
#define IOAPIC_REG_VERSION	0x01
#define IOAPIC_REG_ARB		0x02
#define IOAPIC_REG_TABLE	0x10

/* A redirection entry's fields (the layout of kvm_ioapic_state's). */
#define RTE_VECTOR		GENMASK_ULL(7, 0)
#define RTE_MODE		GENMASK_ULL(10, 8)
#define RTE_LOGICAL		BIT_ULL(11)
#define RTE_STATUS		BIT_ULL(12)
#define RTE_REMOTE_IRR		BIT_ULL(14)
#define RTE_LEVEL		BIT_ULL(15)
#define RTE_MASKED		BIT_ULL(16)
#define RTE_DEST_SHIFT		56

struct x86_ioapic {
	spinlock_t lock;		/* s, irr_delivered */
	struct kvm_ioapic_state s;	/* irr: the pins that are up */
	u32 irr_delivered;		/* edge pins up and delivered */
};

/*
 * Deliver pin's interrupt if its entry lets it: not masked, and for a
 * level pin not still in service (remote IRR).  The count of APICs it
 * reached, or -1 when it could not go.  Lock held.
 */
static int ioapic_service(struct x86_irqchip *chip, struct x86_ioapic *io,
			  unsigned int pin)
{
	u64 *e = &io->s.redirtbl[pin].bits;
	bool level = *e & RTE_LEVEL;
	int n;

	if ((*e & RTE_MASKED) || (level && (*e & RTE_REMOTE_IRR)))
		return -1;
	if (!level)
		io->irr_delivered |= BIT(pin);
	n = x86_lapic_irq(chip, *e >> RTE_DEST_SHIFT, *e & RTE_LOGICAL,
			  *e & RTE_MODE, *e & RTE_VECTOR, level);
	if (n && level)
		*e |= RTE_REMOTE_IRR;
	return n;
}

/*
 * A pin goes to @level: KVM's answer, for KVM_IRQ_LINE_STATUS: 1 when
 * lowered, 0 for an edge pin that was up already, else what
 * ioapic_service() gives.
 */
int x86_ioapic_set_irq(struct x86_irqchip *chip, unsigned int pin, bool up)
{
	struct x86_ioapic *io = chip->ioapic;
	unsigned long flags;
	u32 mask = BIT(pin), old;
	int r;

	spin_lock_irqsave(&io->lock, flags);
	if (!up) {
		io->s.irr &= ~mask;
		r = 1;
		goto out_unlock;
	}
	old = io->s.irr;
	io->s.irr |= mask;
	if (!(io->s.redirtbl[pin].bits & RTE_LEVEL)) {
		io->irr_delivered &= ~mask;
		if (old == io->s.irr) {
			r = 0;
			goto out_unlock;
		}
	}
	r = ioapic_service(chip, io, pin);
out_unlock:
	spin_unlock_irqrestore(&io->lock, flags);
	return r;
}

/*
 * A local APIC's EOI of a level vector: the pins of that vector leave
 * service, and one still up is delivered again.
 */
void x86_ioapic_eoi(struct x86_irqchip *chip, u8 vec)
{
	struct x86_ioapic *io = chip->ioapic;
	unsigned long flags;
	unsigned int pin;
	u64 *e;

	spin_lock_irqsave(&io->lock, flags);
	for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++) {
		e = &io->s.redirtbl[pin].bits;
		if ((*e & RTE_VECTOR) != vec || !(*e & RTE_LEVEL))
			continue;
		*e &= ~RTE_REMOTE_IRR;
		if (io->s.irr & BIT(pin))
			ioapic_service(chip, io, pin);
	}
	spin_unlock_irqrestore(&io->lock, flags);
}

static u32 ioapic_read_reg(struct x86_ioapic *io)
{
	u32 sel = io->s.ioregsel, pin;
	u64 e;

	switch (sel) {
	case IOAPIC_REG_VERSION:
		return (KVM_IOAPIC_NUM_PINS - 1) << 16 | IOAPIC_VERSION;
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return (io->s.id & 0xf) << 24;
	}
	pin = (sel - IOAPIC_REG_TABLE) >> 1;
	if (sel < IOAPIC_REG_TABLE || pin >= KVM_IOAPIC_NUM_PINS)
		return ~0U;
	pin = array_index_nospec(pin, KVM_IOAPIC_NUM_PINS);
	e = io->s.redirtbl[pin].bits;
	return sel & 1 ? e >> 32 : (u32)e;
}

/* A write through the window: the ID, or half a redirection entry. */
static void ioapic_write_reg(struct x86_irqchip *chip, struct x86_ioapic *io,
			     u32 val)
{
	u32 sel = io->s.ioregsel, pin;
	u64 *e, keep;

	if (sel == IOAPIC_REG_ID) {
		io->s.id = (val >> 24) & 0xf;
		return;
	}
	pin = (sel - IOAPIC_REG_TABLE) >> 1;
	if (sel < IOAPIC_REG_TABLE || pin >= KVM_IOAPIC_NUM_PINS)
		return;
	pin = array_index_nospec(pin, KVM_IOAPIC_NUM_PINS);
	e = &io->s.redirtbl[pin].bits;
	/* Remote IRR and the delivery status are the IOAPIC's. */
	keep = *e & (RTE_REMOTE_IRR | RTE_STATUS);
	if (sel & 1)
		*e = (u32)*e | (u64)val << 32;
	else
		*e = (*e & ~0xffffffffULL) | val;
	*e = (*e & ~(RTE_REMOTE_IRR | RTE_STATUS)) | keep;
	/* An edge pin is never in service (Linux relies on it, as KVM). */
	if (!(*e & RTE_LEVEL))
		*e &= ~RTE_REMOTE_IRR;
	/* A level pin still up, unmasked now: delivered. */
	if ((*e & RTE_LEVEL) && (io->s.irr & BIT(pin)) &&
	    !(*e & (RTE_MASKED | RTE_REMOTE_IRR)))
		ioapic_service(chip, io, pin);
}

/*
 * A guest access to gpa that is not RAM: the IOAPIC's page when gpa is in
 * it.  IOREGSEL and IOWIN of 4 or 8 bytes (others are ignored, reads give
 * 0), the EOI register.  False: not the IOAPIC's.
 */
bool x86_ioapic_mmio(struct axvcpu_vm *vm, u64 gpa, void *buf,
		     unsigned int len, bool write)
{
	struct x86_irqchip *chip = vm->irqchip;
	struct x86_ioapic *io;
	unsigned long flags;
	u32 val = 0;
	u64 wide;

	if (!chip || gpa < IOAPIC_BASE || gpa - IOAPIC_BASE >= IOAPIC_MMIO_LEN)
		return false;
	io = chip->ioapic;
	if (write) {
		if (len != 4 && len != 8)
			return true;
		memcpy(&val, buf, 4);
		if ((gpa & 0xff) == IOAPIC_EOI) {
			x86_ioapic_eoi(chip, val & 0xff);
			return true;
		}
		spin_lock_irqsave(&io->lock, flags);
		if ((gpa & 0xff) == IOAPIC_SELECT)
			io->s.ioregsel = val & 0xff;
		else if ((gpa & 0xff) == IOAPIC_WINDOW)
			ioapic_write_reg(chip, io, val);
		spin_unlock_irqrestore(&io->lock, flags);
		return true;
	}
	spin_lock_irqsave(&io->lock, flags);
	if ((gpa & 0xff) == IOAPIC_SELECT)
		val = io->s.ioregsel;
	else if ((gpa & 0xff) == IOAPIC_WINDOW)
		val = ioapic_read_reg(io);
	spin_unlock_irqrestore(&io->lock, flags);
	wide = val;
	memset(buf, 0, len);
	memcpy(buf, &wide, min_t(unsigned int, len, sizeof(wide)));
	return true;
}

/* KVM_GET_IRQCHIP's IOAPIC: an edge pin delivered is not shown as up. */
static void x86_ioapic_get(struct x86_irqchip *chip, struct kvm_ioapic_state *s)
{
	struct x86_ioapic *io = chip->ioapic;
	unsigned long flags;

	spin_lock_irqsave(&io->lock, flags);
	*s = io->s;
	s->irr &= ~io->irr_delivered;
	spin_unlock_irqrestore(&io->lock, flags);
}

/* KVM_SET_IRQCHIP's IOAPIC: the state, then the pins it says are up. */
static void x86_ioapic_set(struct x86_irqchip *chip,
			   const struct kvm_ioapic_state *s)
{
	struct x86_ioapic *io = chip->ioapic;
	unsigned long flags, up = s->irr;
	unsigned int pin;

	spin_lock_irqsave(&io->lock, flags);
	io->s = *s;
	io->s.irr = 0;
	io->irr_delivered = 0;
	spin_unlock_irqrestore(&io->lock, flags);
	for_each_set_bit(pin, &up, KVM_IOAPIC_NUM_PINS)
		x86_ioapic_set_irq(chip, pin, true);
}

/* Every pin masked, as KVM's reset leaves them. */
struct x86_ioapic *x86_ioapic_alloc(void)
{
	struct x86_ioapic *io;
	int pin;

	io = kzalloc(sizeof(*io), GFP_KERNEL_ACCOUNT);
	if (!io)
		return NULL;
	spin_lock_init(&io->lock);
	io->s.base_address = IOAPIC_BASE;
	for (pin = 0; pin < KVM_IOAPIC_NUM_PINS; pin++)
		io->s.redirtbl[pin].bits = RTE_MASKED;
	return io;
}

/* The GSIs of KVM's default routing: the IOAPIC's pins. */
#define X86_NR_GSIS		KVM_IOAPIC_NUM_PINS

/*
 * KVM_IRQ_LINE(_STATUS): GSI n is the IOAPIC's pin n.  A GSI of no route
 * has status -1, as in KVM.  KVM_GET/SET_IRQCHIP: the IOAPIC (chip 2);
 * the PICs (0, 1) are not modelled: EINVAL.  ENXIO without an irqchip.
 */
long x86_irqchip_ioctl(struct axvcpu_vm *vm, unsigned int ioctl,
		       void __user *argp)
{
	struct x86_irqchip *chip = vm->irqchip;
	struct kvm_irq_level line;
	struct kvm_irqchip *c;
	long r = 0;
	u32 gsi;

	if (ioctl == KVM_IRQ_LINE || ioctl == KVM_IRQ_LINE_STATUS) {
		if (copy_from_user(&line, argp, sizeof(line)))
			return -EFAULT;
		if (!chip)
			return -ENXIO;
		/* irq and status share their word. */
		gsi = line.irq;
		line.status = -1;
		if (gsi < X86_NR_GSIS) {
			gsi = array_index_nospec(gsi, X86_NR_GSIS);
			line.status = x86_ioapic_set_irq(chip, gsi, line.level);
		}
		if (ioctl == KVM_IRQ_LINE_STATUS &&
		    copy_to_user(argp, &line, sizeof(line)))
			return -EFAULT;
		return 0;
	}
	c = memdup_user(argp, sizeof(*c));
	if (IS_ERR(c))
		return PTR_ERR(c);
	if (!chip) {
		r = -ENXIO;
		goto out_free;
	}
	if (c->chip_id != KVM_IRQCHIP_IOAPIC) {
		r = -EINVAL;
		goto out_free;
	}
	if (ioctl == KVM_SET_IRQCHIP) {
		x86_ioapic_set(chip, &c->chip.ioapic);
		goto out_free;
	}
	x86_ioapic_get(chip, &c->chip.ioapic);
	if (copy_to_user(argp, c, sizeof(*c)))
		r = -EFAULT;
out_free:
	kfree(c);
	return r;
}
