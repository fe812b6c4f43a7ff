// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: the x86 vCPU ABI that the SVM and VMX backends share.
 *
 * KVM's register ABI (KVM_GET/SET_REGS, KVM_GET/SET_SREGS with KVM's
 * quirks), the exits to userspace that both decode alike (port I/O, string
 * I/O, MMIO, hypercalls) and their completion on the next KVM_RUN, CPUID
 * and XSETBV.  Each backend reads its hardware's exit information into
 * the arguments; the state the backends share is struct x86_vcpu.
 */
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/fpu/xcr.h>
#include <asm/fpu/types.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "../../axvcpu_host.h"
#include "x86.h"

/* RDX after reset, as KVM gives it. */
#define X86_RESET_RDX		0x600

/* The state of a reset: no answer owed, x87 state alone in XCR0. */
void x86_reset_regs(struct x86_vcpu *x)
{
	memset(x->regs, 0, sizeof(x->regs));
	x->regs[__VCPU_REGS_RDX] = X86_RESET_RDX;
	x->efer = 0;
	x->xcr0 = XFEATURE_MASK_FP;
	x->pending = X86_PENDING_NONE;
	memset(x->db, 0, sizeof(x->db));
	memset(x->uret, 0, sizeof(x->uret));
	x->dr6 = X86_RESET_DR6;
	x->pkru = 0;
	x->nmi_pending = 0;
	memset(&x->gdbg, 0, sizeof(x->gdbg));
}

/* Real mode, CS:IP at entry: CS based at entry rounded down to 64 KiB. */
void x86_set_entry(struct x86_segs *s, u64 *rip, u64 entry)
{
	s->cs.base = entry & ~0xffffULL;
	s->cs.selector = (s->cs.base >> 4) & 0xffff;
	*rip = entry & 0xffff;
}

static void x86_init_seg(struct vmcb_seg *seg, u16 attrib)
{
	seg->selector = 0;
	seg->attrib = attrib;
	seg->limit = 0xffff;
	seg->base = 0;
}

/* The segments KVM gives a new vCPU: real mode at the reset vector. */
void x86_reset_segs(struct x86_segs *s, u64 *rip)
{
	x86_init_seg(&s->cs, X86_SEG_CODE);
	x86_set_entry(s, rip, 0xfffffff0ULL);
	x86_init_seg(&s->ds, X86_SEG_DATA);
	x86_init_seg(&s->es, X86_SEG_DATA);
	x86_init_seg(&s->ss, X86_SEG_DATA);
	x86_init_seg(&s->fs, X86_SEG_DATA);
	x86_init_seg(&s->gs, X86_SEG_DATA);
	x86_init_seg(&s->ldtr, X86_SEG_LDT);
	x86_init_seg(&s->tr, X86_SEG_TSS16_BUSY);
	s->gdtr.limit = 0xffff;
	s->idtr.limit = 0xffff;
}

/* --- KVM's register ABI --------------------------------------------------- */

void x86_get_regs(const struct x86_vcpu *x, u64 rip, u64 rflags,
		  struct kvm_regs *r)
{
	const unsigned long *g = x->regs;

	r->rax = g[__VCPU_REGS_RAX];
	r->rbx = g[__VCPU_REGS_RBX];
	r->rcx = g[__VCPU_REGS_RCX];
	r->rdx = g[__VCPU_REGS_RDX];
	r->rsi = g[__VCPU_REGS_RSI];
	r->rdi = g[__VCPU_REGS_RDI];
	r->rsp = g[__VCPU_REGS_RSP];
	r->rbp = g[__VCPU_REGS_RBP];
	r->r8 = g[__VCPU_REGS_R8];
	r->r9 = g[__VCPU_REGS_R9];
	r->r10 = g[__VCPU_REGS_R10];
	r->r11 = g[__VCPU_REGS_R11];
	r->r12 = g[__VCPU_REGS_R12];
	r->r13 = g[__VCPU_REGS_R13];
	r->r14 = g[__VCPU_REGS_R14];
	r->r15 = g[__VCPU_REGS_R15];
	r->rip = rip;
	r->rflags = rflags;
}

/* The GPRs; the caller sets RIP and RFLAGS (with X86_EFLAGS_FIXED). */
void x86_set_regs(struct x86_vcpu *x, const struct kvm_regs *r)
{
	unsigned long *g = x->regs;

	g[__VCPU_REGS_RAX] = r->rax;
	g[__VCPU_REGS_RBX] = r->rbx;
	g[__VCPU_REGS_RCX] = r->rcx;
	g[__VCPU_REGS_RDX] = r->rdx;
	g[__VCPU_REGS_RSI] = r->rsi;
	g[__VCPU_REGS_RDI] = r->rdi;
	g[__VCPU_REGS_RSP] = r->rsp;
	g[__VCPU_REGS_RBP] = r->rbp;
	g[__VCPU_REGS_R8] = r->r8;
	g[__VCPU_REGS_R9] = r->r9;
	g[__VCPU_REGS_R10] = r->r10;
	g[__VCPU_REGS_R11] = r->r11;
	g[__VCPU_REGS_R12] = r->r12;
	g[__VCPU_REGS_R13] = r->r13;
	g[__VCPU_REGS_R14] = r->r14;
	g[__VCPU_REGS_R15] = r->r15;
}

enum x86_sreg { SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS, SEG_TR,
		SEG_LDTR };

/* As KVM reports segments, quirks included, so VMMs see the same. */
static void x86_get_seg(const struct vmcb_seg *s, struct kvm_segment *k,
			enum x86_sreg seg, u8 cpl)
{
	memset(k, 0, sizeof(*k));
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->selector;
	k->type = s->attrib & SVM_SELECTOR_TYPE_MASK;
	k->s = (s->attrib >> SVM_SELECTOR_S_SHIFT) & 1;
	k->dpl = (s->attrib >> SVM_SELECTOR_DPL_SHIFT) & 3;
	k->present = (s->attrib >> SVM_SELECTOR_P_SHIFT) & 1;
	k->avl = (s->attrib >> SVM_SELECTOR_AVL_SHIFT) & 1;
	k->l = (s->attrib >> SVM_SELECTOR_L_SHIFT) & 1;
	k->db = (s->attrib >> SVM_SELECTOR_DB_SHIFT) & 1;
	k->g = s->limit > 0xfffff;
	k->unusable = !k->present;
	switch (seg) {
	case SEG_TR:
		k->type |= 0x2;		/* busy */
		break;
	case SEG_DS:
	case SEG_ES:
	case SEG_FS:
	case SEG_GS:
		if (!k->unusable)
			k->type |= 0x1;	/* accessed */
		break;
	case SEG_SS:
		if (k->unusable)
			k->db = 0;
		k->dpl = cpl;
		break;
	default:
		break;
	}
}

static void x86_set_seg(struct vmcb_seg *s, const struct kvm_segment *k)
{
	s->base = k->base;
	s->limit = k->limit;
	s->selector = k->selector;
	s->attrib = (k->type & SVM_SELECTOR_TYPE_MASK) |
		    (k->s & 1) << SVM_SELECTOR_S_SHIFT |
		    (k->dpl & 3) << SVM_SELECTOR_DPL_SHIFT |
		    ((k->present & 1) && !k->unusable) << SVM_SELECTOR_P_SHIFT |
		    (k->avl & 1) << SVM_SELECTOR_AVL_SHIFT |
		    (k->l & 1) << SVM_SELECTOR_L_SHIFT |
		    (k->db & 1) << SVM_SELECTOR_DB_SHIFT |
		    (k->g & 1) << SVM_SELECTOR_G_SHIFT;
}

void x86_get_sregs(const struct x86_segs *s, u8 cpl, const struct x86_crs *c,
		   struct kvm_sregs *r)
{
	memset(r, 0, sizeof(*r));
	x86_get_seg(&s->cs, &r->cs, SEG_CS, cpl);
	x86_get_seg(&s->ds, &r->ds, SEG_DS, cpl);
	x86_get_seg(&s->es, &r->es, SEG_ES, cpl);
	x86_get_seg(&s->fs, &r->fs, SEG_FS, cpl);
	x86_get_seg(&s->gs, &r->gs, SEG_GS, cpl);
	x86_get_seg(&s->ss, &r->ss, SEG_SS, cpl);
	x86_get_seg(&s->tr, &r->tr, SEG_TR, cpl);
	x86_get_seg(&s->ldtr, &r->ldt, SEG_LDTR, cpl);
	r->gdt.base = s->gdtr.base;
	r->gdt.limit = s->gdtr.limit;
	r->idt.base = s->idtr.base;
	r->idt.limit = s->idtr.limit;
	r->cr0 = c->cr0;
	r->cr2 = c->cr2;
	r->cr3 = c->cr3;
	r->cr4 = c->cr4;
	r->cr8 = c->cr8;
	r->efer = c->efer;
}

/*
 * The CR4 bits a guest may have: the architecture's first ones, and those
 * of the host's features that KVM_GET_SUPPORTED_CPUID offers.  Never VMXE
 * or SMXE (no nested virtualization, no SMX) nor CET.
 */
static bool x86_cr4_valid(u64 cr4)
{
	u64 ok = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE |
		 X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE |
		 X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;

	if (boot_cpu_has(X86_FEATURE_UMIP))
		ok |= X86_CR4_UMIP;
	if (boot_cpu_has(X86_FEATURE_LA57))
		ok |= X86_CR4_LA57;
	if (boot_cpu_has(X86_FEATURE_FSGSBASE))
		ok |= X86_CR4_FSGSBASE;
	if (boot_cpu_has(X86_FEATURE_PCID))
		ok |= X86_CR4_PCIDE;
	if (boot_cpu_has(X86_FEATURE_XSAVE))
		ok |= X86_CR4_OSXSAVE;
	if (boot_cpu_has(X86_FEATURE_SMEP))
		ok |= X86_CR4_SMEP;
	if (boot_cpu_has(X86_FEATURE_SMAP))
		ok |= X86_CR4_SMAP;
	if (boot_cpu_has(X86_FEATURE_PKU))
		ok |= X86_CR4_PKE;
	return !(cr4 & ~ok);
}

/* KVM's checks: a state the CPU would refuse is refused here. */
static bool x86_sregs_valid(const struct kvm_sregs *r)
{
	if ((r->efer & EFER_LME) && (r->cr0 & X86_CR0_PG)) {
		if (!(r->cr4 & X86_CR4_PAE) || !(r->efer & EFER_LMA))
			return false;
	} else if ((r->efer & EFER_LMA) || r->cs.l) {
		return false;
	}
	if ((r->cr0 & X86_CR0_PG) && !(r->cr0 & X86_CR0_PE))
		return false;
	if ((r->cr0 & X86_CR0_NW) && !(r->cr0 & X86_CR0_CD))
		return false;
	return !(r->cr0 >> 32) && x86_cr4_valid(r->cr4) &&
	       x86_efer_valid(r->efer);
}

/*
 * The segments and descriptor tables of r, and the CPL; -EINVAL, and
 * nothing changed, for a state KVM refuses.  The caller takes the control
 * registers.
 */
int x86_set_sregs(struct x86_segs *s, u8 *cpl, const struct kvm_sregs *r)
{
	if (!x86_sregs_valid(r))
		return -EINVAL;
	x86_set_seg(&s->cs, &r->cs);
	x86_set_seg(&s->ds, &r->ds);
	x86_set_seg(&s->es, &r->es);
	x86_set_seg(&s->fs, &r->fs);
	x86_set_seg(&s->gs, &r->gs);
	x86_set_seg(&s->ss, &r->ss);
	x86_set_seg(&s->tr, &r->tr);
	x86_set_seg(&s->ldtr, &r->ldt);
	*cpl = r->ss.dpl & 3;
	s->gdtr.base = r->gdt.base;
	s->gdtr.limit = r->gdt.limit;
	s->idtr.base = r->idt.base;
	s->idtr.limit = r->idt.limit;
	return 0;
}

/* The EFER bits a guest may set. */
bool x86_efer_valid(u64 efer)
{
	return !(efer & ~(u64)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX));
}

/*
 * KVM's vCPU ioctls of the register ABI and KVM_INTERRUPT.  RIP and RFLAGS
 * are where the backend keeps them; it reads and writes the segments and
 * control registers with get_sregs and set_sregs.
 */
/* KVM_GET/SET_XCRS: XCR0 alone, as KVM has it. */
static long x86_xcrs_ioctl(struct x86_vcpu *x, unsigned int ioctl,
			   void __user *argp)
{
	struct kvm_xcrs xcrs;
	u32 i;

	if (ioctl == KVM_GET_XCRS) {
		memset(&xcrs, 0, sizeof(xcrs));
		if (boot_cpu_has(X86_FEATURE_XSAVE)) {
			xcrs.nr_xcrs = 1;
			xcrs.xcrs[0].xcr = XCR_XFEATURE_ENABLED_MASK;
			xcrs.xcrs[0].value = x->xcr0;
		}
		return copy_to_user(argp, &xcrs, sizeof(xcrs)) ? -EFAULT : 0;
	}
	if (!boot_cpu_has(X86_FEATURE_XSAVE))
		return -EINVAL;
	if (copy_from_user(&xcrs, argp, sizeof(xcrs)))
		return -EFAULT;
	if (xcrs.nr_xcrs > KVM_MAX_XCRS || xcrs.flags)
		return -EINVAL;
	for (i = 0; i < xcrs.nr_xcrs; i++) {
		if (xcrs.xcrs[i].xcr != XCR_XFEATURE_ENABLED_MASK)
			continue;
		if (!x86_xcr0_valid(xcrs.xcrs[i].value, x->xcr0_allowed))
			return -EINVAL;
		x->xcr0 = xcrs.xcrs[i].value;
		break;
	}
	return 0;
}

/*
 * KVM_GET/SET_MP_STATE: without an in-kernel APIC a vCPU is always
 * runnable (a HLT goes to userspace), and KVM accepts nothing else.
 */
static long x86_mp_state_ioctl(unsigned int ioctl, void __user *argp)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };

	if (ioctl == KVM_GET_MP_STATE)
		return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
	if (copy_from_user(&mp, argp, sizeof(mp)))
		return -EFAULT;
	return mp.mp_state == KVM_MP_STATE_RUNNABLE ? 0 : -EINVAL;
}

/*
 * KVM_TPR_ACCESS_REPORTING: accepted and kept, as KVM does; reports come
 * from an in-kernel local APIC's TPR accesses, and axvcpu has none, so
 * no KVM_EXIT_TPR_ACCESS is ever made (KVM_CAP_VAPIC is 0).
 */
static long x86_tpr_access_reporting(struct x86_vcpu *x, void __user *argp)
{
	struct kvm_tpr_access_ctl tac;

	if (copy_from_user(&tac, argp, sizeof(tac)))
		return -EFAULT;
	if (tac.flags)
		return -EINVAL;
	x->tpr_access_reporting = !!tac.enabled;
	return copy_to_user(argp, &tac, sizeof(tac)) ? -EFAULT : 0;
}

/* KVM_SET_SREGS: all of it or, refused with -EINVAL, nothing. */
static int x86_set_sregs_all(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			     const struct x86_sregs_ops *ops,
			     const struct kvm_sregs *r)
{
	u64 old = x->msrs.apic_base;
	int ret;

	if (x86_set_apic_base(x, r->apic_base, true))
		return -EINVAL;
	ret = ops->set(vcpu, r);
	if (ret) {
		x->msrs.apic_base = old;
		return ret;
	}
	x86_set_irq_bitmap(vcpu, ops, r);
	return 0;
}

long x86_vcpu_ioctl(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x, u64 *rip,
		    u64 *rflags, const struct x86_sregs_ops *ops,
		    unsigned int ioctl, void __user *argp)
{
	struct kvm_interrupt irq;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	u64 *dr6, *dr7;

	switch (ioctl) {
	case KVM_GET_DEBUGREGS:
	case KVM_SET_DEBUGREGS:
		ops->dr67(vcpu, &dr6, &dr7);
		return x86_debugregs_ioctl(x, dr6, x86_guest_dr7(x, dr7),
					   ioctl, argp);
	case KVM_SET_GUEST_DEBUG:
		return x86_set_guest_debug(vcpu, x, rip, rflags, ops, argp);
	case KVM_GET_XCRS:
	case KVM_SET_XCRS:
		return x86_xcrs_ioctl(x, ioctl, argp);
	case KVM_GET_MP_STATE:
	case KVM_SET_MP_STATE:
		if (x->apic)
			return x86_lapic_ioctl(vcpu, x, ops, rip, ioctl, argp);
		return x86_mp_state_ioctl(ioctl, argp);
	case KVM_GET_LAPIC:
	case KVM_SET_LAPIC:
		return x86_lapic_ioctl(vcpu, x, ops, rip, ioctl, argp);
	case KVM_SET_CPUID:
	case KVM_SET_CPUID2:
	case KVM_GET_CPUID2:
		/* The fixups that follow CR4 are applied as the table moves. */
		ops->get(vcpu, &sregs);
		return x86_cpuid_ioctl(x, sregs.cr4, ioctl, argp);
	case KVM_NMI:
	case KVM_GET_VCPU_EVENTS:
	case KVM_SET_VCPU_EVENTS:
		return x86_events_ioctl(vcpu, x, ops, ioctl, argp);
	case KVM_INTERRUPT:
		if (copy_from_user(&irq, argp, sizeof(irq)))
			return -EFAULT;
		if (irq.irq >= KVM_NR_INTERRUPTS)
			return -EINVAL;
		/* The in-kernel PIC is the source of external interrupts. */
		if (x->apic)
			return -ENXIO;
		axvcpu_vcpu_inject(vcpu, irq.irq);
		return 0;
	case KVM_GET_REGS:
		x86_get_regs(x, *rip, x86_gdbg_rflags(x, *rflags), &regs);
		return copy_to_user(argp, &regs, sizeof(regs)) ? -EFAULT : 0;
	case KVM_SET_REGS:
		if (copy_from_user(&regs, argp, sizeof(regs)))
			return -EFAULT;
		x86_set_regs(x, &regs);
		/*
		 * Userspace moved the guest on: an answer it owed is void.
		 * The same RIP keeps it (a restore of the same state), as
		 * KVM does.
		 */
		if (regs.rip != *rip) {
			x->pending = X86_PENDING_NONE;
			x->gdbg.step_owed = false;
		}
		*rip = regs.rip;
		*rflags = regs.rflags | X86_EFLAGS_FIXED;
		x86_gdbg_set_rflags(vcpu, x, ops, *rip, rflags);
		return 0;
	case KVM_GET_SREGS:
		ops->get(vcpu, &sregs);
		sregs.apic_base = x->msrs.apic_base;
		x86_get_irq_bitmap(vcpu, ops, &sregs);
		return copy_to_user(argp, &sregs, sizeof(sregs)) ? -EFAULT : 0;
	case KVM_SET_SREGS:
		if (copy_from_user(&sregs, argp, sizeof(sregs)))
			return -EFAULT;
		return x86_set_sregs_all(vcpu, x, ops, &sregs);
	case KVM_GET_MSRS:
	case KVM_SET_MSRS:
		return x86_msrs_ioctl(vcpu, x, ops, ioctl, argp);
	case KVM_X86_SETUP_MCE:
		return x86_setup_mce(x, argp);
	case KVM_TPR_ACCESS_REPORTING:
		return x86_tpr_access_reporting(x, argp);
	case KVM_GET_FPU:
	case KVM_SET_FPU:
	case KVM_GET_XSAVE:
	case KVM_GET_XSAVE2:
	case KVM_SET_XSAVE:
		return x86_fpu_ioctl(x, ioctl, argp);
	default:
		return -EINVAL;		/* KVM x86's vCPU fd, unknown ioctl */
	}
}

/* KVM_SET_NR_MMU_PAGES's least, KVM's KVM_MIN_ALLOC_MMU_PAGES. */
#define X86_MIN_MMU_PAGES	64

/* KVM's limit on a GSI routing table, which KVM_CAP_IRQ_ROUTING tells. */
#define X86_MAX_IRQ_ROUTES	4096

/* What KVM_SET_NR_MMU_PAGES set, else KVM's default: 2% of the slots. */
static long x86_nr_mmu_pages(struct axvcpu_vm *vm)
{
	unsigned long n = READ_ONCE(vm->nr_mmu_pages), pages = 0;
	int i;

	if (n)
		return n;
	mutex_lock(&vm->lock);
	for (i = 0; i < AXVCPU_NR_MEMSLOTS; i++)
		if (vm->slots[i])
			pages += vm->slots[i]->npages;
	mutex_unlock(&vm->lock);
	return max_t(unsigned long, pages * 20 / 1000, X86_MIN_MMU_PAGES);
}

/* The flags of struct kvm_clock_data that KVM 6.1 knows. */
#define X86_CLOCK_FLAGS		(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | \
				 KVM_CLOCK_HOST_TSC)

/*
 * KVM_GET/SET_CLOCK: the VM's clock, in nanoseconds from its creation
 * unless set.  axvcpu offers its guests no kvmclock, so there is no
 * master clock tying it to the TSC: KVM then reports no flags.
 */
static long x86_clock_ioctl(struct axvcpu_vm *vm, unsigned int ioctl,
			    void __user *argp)
{
	struct kvm_clock_data data;
	u64 now;

	if (ioctl == KVM_GET_CLOCK) {
		memset(&data, 0, sizeof(data));
		data.clock = ktime_get_boottime_ns() + READ_ONCE(vm->clock_offset);
		return copy_to_user(argp, &data, sizeof(data)) ? -EFAULT : 0;
	}
	if (copy_from_user(&data, argp, sizeof(data)))
		return -EFAULT;
	/* What KVM_GET_CLOCK may return goes back in; only REALTIME counts. */
	if (data.flags & ~X86_CLOCK_FLAGS)
		return -EINVAL;
	if (data.flags & KVM_CLOCK_REALTIME) {
		now = ktime_get_real_ns();
		/* Time passed since the save; the clock never goes back. */
		if (now > data.realtime)
			data.clock += now - data.realtime;
	}
	WRITE_ONCE(vm->clock_offset, data.clock - ktime_get_boottime_ns());
	return 0;
}

/* The refusals of a guest's RDMSR or WRMSR a VMM may take itself. */
#define X86_MSR_EXIT_REASONS	(KVM_MSR_EXIT_REASON_INVAL |		\
				 KVM_MSR_EXIT_REASON_UNKNOWN |		\
				 KVM_MSR_EXIT_REASON_FILTER)

/*
 * KVM_ENABLE_CAP on the VM fd, as KVM x86: KVM_CAP_MAX_VCPU_ID, once;
 * KVM_CAP_X86_USER_SPACE_MSR, the reasons that exit from then on.
 */
static long x86_vm_enable_cap(struct axvcpu_vm *vm, void __user *argp)
{
	struct kvm_enable_cap cap;
	long r = -EINVAL;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	if (cap.flags)
		return -EINVAL;
	if (cap.cap == KVM_CAP_X86_USER_SPACE_MSR) {
		if (cap.args[0] & ~(u64)X86_MSR_EXIT_REASONS)
			return -EINVAL;
		WRITE_ONCE(vm->user_space_msr, cap.args[0]);
		return 0;
	}
	if (cap.cap != KVM_CAP_MAX_VCPU_ID || cap.args[0] > AXVCPU_MAX_VCPU_ID)
		return -EINVAL;
	mutex_lock(&vm->lock);
	if (vm->max_vcpu_ids == cap.args[0]) {
		r = 0;
	} else if (!vm->max_vcpu_ids) {
		vm->max_vcpu_ids = cap.args[0];
		r = 0;
	}
	mutex_unlock(&vm->lock);
	return r;
}

long x86_vm_ioctl(struct axvcpu_vm *vm, unsigned int ioctl, void __user *argp)
{
	struct kvm_irq_routing routing;
	u64 addr;
	int r;

	switch (ioctl) {
	case KVM_GET_CLOCK:
	case KVM_SET_CLOCK:
		return x86_clock_ioctl(vm, ioctl, argp);
	case KVM_ENABLE_CAP:
		return x86_vm_enable_cap(vm, argp);
	case KVM_X86_SET_MSR_FILTER:
		return x86_set_msr_filter(vm, argp);
	case KVM_CREATE_IRQCHIP:
		return x86_irqchip_create(vm);
	case KVM_IRQ_LINE:
	case KVM_IRQ_LINE_STATUS:
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP:
		return x86_irqchip_ioctl(vm, ioctl, argp);
	case KVM_SET_TSS_ADDR:
		/* Only VMX without unrestricted guest needs it. */
		return 0;
	case KVM_SET_IDENTITY_MAP_ADDR:
		/* Nor this: accepted, as KVM does, until a vCPU exists. */
		mutex_lock(&vm->lock);
		r = vm->nr_vcpus ? -EINVAL : 0;
		mutex_unlock(&vm->lock);
		if (!r && copy_from_user(&addr, argp, sizeof(addr)))
			r = -EFAULT;
		return r;
	case KVM_SET_NR_MMU_PAGES:
		/* Nested paging needs no shadow pages: kept for the reader. */
		if ((__force unsigned long)argp < X86_MIN_MMU_PAGES)
			return -EINVAL;
		WRITE_ONCE(vm->nr_mmu_pages, (__force unsigned long)argp);
		return 0;
	case KVM_GET_NR_MMU_PAGES:
		return x86_nr_mmu_pages(vm);
	case KVM_SET_GSI_ROUTING:
		/* Routes lead to an in-kernel irqchip: KVM refuses without. */
		if (copy_from_user(&routing, argp, sizeof(routing)))
			return -EFAULT;
		return -EINVAL;
	default:
		return -ENOTTY;
	}
}

/* KVM 6.1's answers, for what the x86 backends implement. */
int x86_check_extension(long cap)
{
	switch (cap) {
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_GET_MSR_FEATURES:
	case KVM_CAP_DEBUGREGS:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_USER_NMI:
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_X86_USER_SPACE_MSR:
	case KVM_CAP_X86_MSR_FILTER:
	case KVM_CAP_SET_GUEST_DEBUG:
		return 1;
	case KVM_CAP_SET_GUEST_DEBUG2:
		return X86_GUESTDBG_VALID;
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
		return 1;
	case KVM_CAP_MCE:
		return X86_MCE_BANKS;
	case KVM_CAP_ADJUST_CLOCK:
		return X86_CLOCK_FLAGS;
	case KVM_CAP_IRQ_ROUTING:
		return X86_MAX_IRQ_ROUTES;
	case KVM_CAP_XCRS:
	case KVM_CAP_XSAVE:
		return boot_cpu_has(X86_FEATURE_XSAVE);
	case KVM_CAP_XSAVE2:
		return x86_xsave2_size();
	default:
		return 0;
	}
}

/* What the decoders need of the segments (the backend adds the rest). */
void x86_cpu_mode_segs(struct x86_cpu_mode *m, const struct x86_segs *s)
{
	m->cs_base = s->cs.base;
	m->seg_base[X86_SEG_ES] = s->es.base;
	m->seg_base[X86_SEG_CS] = s->cs.base;
	m->seg_base[X86_SEG_SS] = s->ss.base;
	m->seg_base[X86_SEG_DS] = s->ds.base;
	m->seg_base[X86_SEG_FS] = s->fs.base;
	m->seg_base[X86_SEG_GS] = s->gs.base;
	m->cs_l = s->cs.attrib & SVM_SELECTOR_L_MASK;
	m->cs_db = s->cs.attrib & SVM_SELECTOR_DB_MASK;
}

/* --- port I/O --------------------------------------------------------------- */

static u64 x86_addr_mask(u8 asize)
{
	return asize == 8 ? ~0ULL : (1ULL << (asize * 8)) - 1;
}

static void x86_io_exit_run(struct kvm_run *run, const struct x86_io *io,
			    u32 count)
{
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = io->in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = io->size;
	run->io.port = io->port;
	run->io.count = count;
	run->io.data_offset = PAGE_SIZE;
}

/*
 * After an element (or a batch of INS) moved: step the index register and
 * the count; the instruction stays at RIP until the count runs out, so each
 * KVM_RUN moves the next part, as KVM's string I/O does.
 */
static void x86_string_io_advance(struct x86_vcpu *x, u64 rflags, u64 *rip,
				  int index, u32 n, int size)
{
	struct x86_string_io *sio = &x->sio;
	u64 mask = x86_addr_mask(sio->asize);
	unsigned long *idx = &x->regs[index];
	unsigned long *cx = &x->regs[__VCPU_REGS_RCX];
	s64 step = (rflags & X86_EFLAGS_DF) ? -size : size;
	u64 left;

	*idx = (*idx & ~mask) | ((*idx + step * n) & mask);
	if (!sio->rep) {
		*rip = sio->next_rip;
		return;
	}
	left = (*cx & mask) - n;
	*cx = (*cx & ~mask) | (left & mask);
	if (!left)
		*rip = sio->next_rip;
}

/*
 * INS and OUTS.  OUTS exits once per element, INS once per batch that fits
 * in the rest of the destination page and in 1024 bytes, as KVM does.
 */
static int x86_exit_string_io(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			      const struct x86_cpu_mode *m,
			      const struct x86_io *io, u64 *rip)
{
	struct x86_string_io *sio = &x->sio;
	void *data = page_address(vcpu->run_pages[1]);
	int size = io->size;
	u64 mask, count, la;
	u32 n = 1;

	sio->next_rip = io->next_rip;
	sio->rep = io->rep;
	sio->asize = io->asize;
	if (!sio->asize)	/* not reported: CS's default size */
		sio->asize = (m->efer & EFER_LMA) && m->cs_l ? 8 :
			     m->cs_db ? 4 : 2;
	mask = x86_addr_mask(sio->asize);
	count = sio->rep ? x->regs[__VCPU_REGS_RCX] & mask : 1;
	if (!count) {
		*rip = sio->next_rip;
		return AXVCPU_EXIT_CONTINUE;
	}

	if (io->in) {
		la = m->seg_base[X86_SEG_ES] + (x->regs[__VCPU_REGS_RDI] & mask);
		if (!(m->rflags & X86_EFLAGS_DF))
			n = min_t(u64, count,
				  min_t(u64, (PAGE_SIZE - offset_in_page(la)) / size,
					1024 / size));
		n = max_t(u32, n, 1);
		sio->la = la;
		sio->count = n;
		x->pending = X86_PENDING_INS;
		x->pending_size = size;
	} else {
		la = (io->seg < X86_NR_DATA_SEGS ? m->seg_base[io->seg] : 0) +
		     (x->regs[__VCPU_REGS_RSI] & mask);
		if (!x86_guest_rw(vcpu->vm, m, la, data, size, false))
			return X86_EXIT_EMULATION_FAILED;
		x86_string_io_advance(x, m->rflags, rip, __VCPU_REGS_RSI, 1,
				      size);
	}
	x86_io_exit_run(vcpu->run, io, n);
	return AXVCPU_EXIT_USER;
}

/*
 * An IN, OUT, INS or OUTS exited: KVM_EXIT_IO, or an emulation failure.
 * The guest's mode m is read for string I/O only.
 */
int x86_exit_io(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		const struct x86_cpu_mode *m, const struct x86_io *io,
		u64 *rip)
{
	void *data = page_address(vcpu->run_pages[1]);

	if (io->string)
		return x86_exit_string_io(vcpu, x, m, io, rip);

	/*
	 * RIP moves on as the next KVM_RUN completes the exit, as in KVM:
	 * a vCPU saved now and restored elsewhere runs the IN or OUT again
	 * (a VMM completes it first with immediate_exit).
	 */
	x86_io_exit_run(vcpu->run, io, 1);
	x->pending = io->in ? X86_PENDING_IN : X86_PENDING_OUT;
	x->pending_size = io->size;
	x->sio.next_rip = io->next_rip;
	if (!io->in)
		memcpy(data, &x->regs[__VCPU_REGS_RAX], io->size);
	return AXVCPU_EXIT_USER;
}

/* INS completes: the data userspace gave goes to guest memory. */
static void x86_complete_ins(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			     const struct x86_cpu_mode *m, u64 *rip)
{
	struct x86_string_io *sio = &x->sio;

	/* Memory that went away meanwhile: the data is dropped, as on I/O. */
	x86_guest_rw(vcpu->vm, m, sio->la, page_address(vcpu->run_pages[1]),
		     sio->count * x->pending_size, true);
	x86_string_io_advance(x, m->rflags, rip, __VCPU_REGS_RDI, sio->count,
			      x->pending_size);
}

/* --- MMIO, hypercalls, CPUID, XSETBV -------------------------------------- */

/*
 * KVM's hypercall ABI: the number in RAX, arguments in RBX, RCX, RDX, RSI;
 * the answer goes to RAX.  The caller has stepped over the instruction.
 * As KVM's kvm_emulate_hypercall: answered in the kernel, -KVM_EPERM from
 * a guest's user mode, 0 for KVM_HC_VAPIC_POLL_IRQ, -KVM_ENOSYS for the
 * rest, all truncated to 32 bits outside 64-bit mode.  A VMM that set up
 * the vCPU with AXVCPU_SETUP_HYPERCALL gets every call from ring 0 as
 * KVM_EXIT_HYPERCALL instead.
 */
int x86_exit_hypercall(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x, u8 cpl,
		       bool op64)
{
	struct kvm_run *run = vcpu->run;
	u64 mask = op64 ? ~0ULL : 0xffffffffULL;
	u64 nr = x->regs[__VCPU_REGS_RAX] & mask;
	long ret;

	if (cpl) {
		ret = -KVM_EPERM;
	} else if (x->hypercall_exit) {
		run->exit_reason = KVM_EXIT_HYPERCALL;
		run->hypercall.nr = nr;
		run->hypercall.args[0] = x->regs[__VCPU_REGS_RBX] & mask;
		run->hypercall.args[1] = x->regs[__VCPU_REGS_RCX] & mask;
		run->hypercall.args[2] = x->regs[__VCPU_REGS_RDX] & mask;
		run->hypercall.args[3] = x->regs[__VCPU_REGS_RSI] & mask;
		run->hypercall.args[4] = 0;
		run->hypercall.args[5] = 0;
		run->hypercall.ret = 0;
		axvcpu_hypercall_longmode(run, op64);
		x->pending = X86_PENDING_HYPERCALL;
		return AXVCPU_EXIT_USER;
	} else if (nr == KVM_HC_VAPIC_POLL_IRQ) {
		ret = 0;
	} else {
		ret = -KVM_ENOSYS;
	}
	x->regs[__VCPU_REGS_RAX] = (u64)ret & mask;
	return AXVCPU_EXIT_CONTINUE;
}

/*
 * CPUID of RAX, RCX into RAX..RDX, from the table the VMM set, else the
 * host's values; the caller steps over it.
 */
void x86_exit_cpuid(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x, u64 cr4)
{
	u32 eax = x->regs[__VCPU_REGS_RAX], ecx = x->regs[__VCPU_REGS_RCX];
	u32 ebx, edx;

	if (!x86_cpuid_lookup(x, cr4, &eax, &ebx, &ecx, &edx))
		axvcpu_x86_cpuid(vcpu->vcpu_id, cr4, &eax, &ebx, &ecx, &edx);
	x->regs[__VCPU_REGS_RAX] = eax;
	x->regs[__VCPU_REGS_RBX] = ebx;
	x->regs[__VCPU_REGS_RCX] = ecx;
	x->regs[__VCPU_REGS_RDX] = edx;
}

/*
 * An XCR0 of the allowed features (the host's that the guest's FPU buffer
 * holds), with the rules the CPU applies, as KVM's __kvm_set_xcr(): x87
 * always; AVX with SSE; MPX's, AVX-512's and AMX's states together.
 */
bool x86_xcr0_valid(u64 val, u64 allowed)
{
	u64 bnd = XFEATURE_MASK_BNDREGS | XFEATURE_MASK_BNDCSR;

	return !(val & ~allowed) && (val & XFEATURE_MASK_FP) &&
	       !((val & XFEATURE_MASK_YMM) && !(val & XFEATURE_MASK_SSE)) &&
	       !(val & bnd) == !((val & bnd) == bnd) &&
	       !((val & XFEATURE_MASK_AVX512) &&
		 ((val & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512 ||
		  !(val & XFEATURE_MASK_YMM))) &&
	       !(val & XFEATURE_MASK_XTILE) ==
	       !((val & XFEATURE_MASK_XTILE) == XFEATURE_MASK_XTILE);
}

/* XSETBV; false: #GP for the guest. */
bool x86_xsetbv(struct x86_vcpu *x, u8 cpl)
{
	u64 val = (x->regs[__VCPU_REGS_RDX] << 32) |
		  (u32)x->regs[__VCPU_REGS_RAX];

	if ((u32)x->regs[__VCPU_REGS_RCX] != XCR_XFEATURE_ENABLED_MASK ||
	    cpl || !x86_xcr0_valid(val, x->xcr0_allowed))
		return false;
	x->xcr0 = val;
	return true;
}

static int x86_finish_pending(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			      const struct x86_sregs_ops *ops,
			      const struct x86_cpu_mode *m, u64 *rip,
			      u64 *rflags)
{
	struct kvm_run *run = vcpu->run;
	void *data = page_address(vcpu->run_pages[1]);
	unsigned long *rax = &x->regs[__VCPU_REGS_RAX];
	enum x86_pending pending = x->pending;

	x->pending = X86_PENDING_NONE;
	switch (pending) {
	case X86_PENDING_IN:
		if (x->pending_size == 4)
			*rax = *(u32 *)data;	/* zero-extended, as IN does */
		else
			memcpy(rax, data, x->pending_size);
		*rip = x->sio.next_rip;
		break;
	case X86_PENDING_OUT:
		*rip = x->sio.next_rip;
		break;
	case X86_PENDING_HYPERCALL:
		*rax = run->hypercall.ret;
		break;
	case X86_PENDING_INS:
		x86_complete_ins(vcpu, x, m, rip);
		break;
	case X86_PENDING_MMIO:
		return x86_complete_mmio(vcpu, x, m, rip, rflags);
	case X86_PENDING_RDMSR:
	case X86_PENDING_WRMSR:
		x86_complete_msr(vcpu, x, ops, rip,
				 pending == X86_PENDING_RDMSR);
		break;
	case X86_PENDING_NONE:
		break;
	}
	return AXVCPU_EXIT_CONTINUE;
}

/*
 * KVM_RUN begins: finish what userspace answered (x->pending is set), or
 * make the single-step exit owed since (x->gdbg.step_owed).
 * AXVCPU_EXIT_USER when that makes another exit (an MMIO instruction's
 * next access, KVM_EXIT_DEBUG), else AXVCPU_EXIT_CONTINUE.
 */
int x86_complete_pending(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			 const struct x86_sregs_ops *ops,
			 const struct x86_cpu_mode *m, u64 *rip, u64 *rflags,
			 u64 dr7)
{
	bool owed = x->gdbg.step_owed;
	u64 old_rip = *rip;
	int r;

	x->gdbg.step_owed = false;
	r = x86_finish_pending(vcpu, x, ops, m, rip, rflags);
	if (unlikely(*rflags & X86_EFLAGS_TF) && x86_gdbg_stepping(x) &&
	    r == AXVCPU_EXIT_CONTINUE && (owed || *rip != old_rip))
		r = x86_gdbg_stepped(vcpu, x,
				     x86_linear_rip(m->cs_base,
						    (m->efer & EFER_LMA) &&
						    m->cs_l, *rip), dr7, r);
	return r;
}
