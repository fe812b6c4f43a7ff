// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: AMD SVM backend.
 *
 * Per CPU: EFER.SVME, the host save area (VM_HSAVE_PA), a page for the
 * host state VMRUN does not switch, and an ASID allocator.  Per VM: the
 * nested page tables (svm_npt.c).  Per vCPU: a VMCB in the architectural
 * reset state from creation on, an ASID of its CPU from BIND on, the guest
 * GPRs and the guest FPU state.
 */
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>
#include <asm/io.h>
#include <asm/kvm_vcpu_regs.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/svm.h>
#include <asm/traps.h>

#include "../../axvcpu_host.h"
#include "svm.h"
#include "x86.h"

/* Reset values of the x86 architecture, as KVM gives them. */
#define SVM_RESET_CR0		(X86_CR0_NW | X86_CR0_CD | X86_CR0_ET)
#define SVM_RESET_DR6		0xffff0ff0ULL
#define SVM_RESET_DR7		0x400ULL
#define SVM_RESET_PAT		0x0007040600070406ULL
#define SVM_SEG_CODE		(SVM_SELECTOR_P_MASK | SVM_SELECTOR_S_MASK | \
				 SVM_SELECTOR_READ_MASK | SVM_SELECTOR_CODE_MASK)
#define SVM_SEG_DATA		(SVM_SELECTOR_P_MASK | SVM_SELECTOR_S_MASK | \
				 SVM_SELECTOR_WRITE_MASK)
#define SVM_SEG_LDT		(SVM_SELECTOR_P_MASK | 2)
#define SVM_SEG_TSS16_BUSY	(SVM_SELECTOR_P_MASK | 3)

static inline void clgi(void)
{
	asm volatile("clgi" ::: "memory");
}

static inline void stgi(void)
{
	asm volatile("stgi" ::: "memory");
}

/* CPUID 0x8000000a EDX */
#define SVM_FEATURE_NPT		BIT(X86_FEATURE_NPT & 31)
#define SVM_FEATURE_NRIPS	BIT(X86_FEATURE_NRIPS & 31)

/* Nested page fault error code (EXITINFO1): the guest-physical access. */
#define SVM_NPF_FETCH		BIT_ULL(4)
#define SVM_NPF_FINAL		BIT_ULL(32)	/* not a guest table walk */

/* RDX after reset, as KVM gives it. */
#define SVM_RESET_RDX		0x600

/* No exit code yet: VMRUN did not run (see svm_entry.S). */
#define SVM_EXIT_NONE		0xfffffffeU

#define IOPM_ORDER		2	/* 12 KiB used */
#define MSRPM_ORDER		1	/* 8 KiB */

struct svm_cpu {
	struct page *hsave;
	struct page *host_state;
	u64 asid_generation;
	u32 next_asid;
};

/* What the next KVM_RUN completes with userspace's answer. */
enum svm_pending {
	SVM_PENDING_NONE,
	SVM_PENDING_IN,
	SVM_PENDING_HYPERCALL,
	SVM_PENDING_MMIO,
	SVM_PENDING_INS,
};

/* A string I/O instruction in progress: what each exit moves. */
struct svm_string_io {
	u64 next_rip;
	u64 la;			/* INS: where the data goes */
	u32 count;		/* elements of this exit */
	u8 asize;		/* address size: 2, 4 or 8 */
	bool rep;
};

struct svm_vcpu {
	struct vmcb *vmcb;
	u64 vmcb_pa;
	unsigned long regs[__VCPU_REGS_R15 + 1];	/* RAX and RSP: in the VMCB */
	u64 efer;				/* as the guest sees it */
	u64 xcr0;
	u64 asid_generation;
	int asid_cpu;
	s64 npt_gen;
	enum svm_pending pending;
	u8 pending_size;
	struct x86_mmio_op mmio;
	struct svm_string_io sio;
	struct fpu_guest fpu;
};

static DEFINE_PER_CPU(struct svm_cpu, svm_cpu);
static u32 svm_max_asid;
static bool svm_nrips;
static u64 svm_host_xcr0;
static struct page *svm_iopm;
static struct page *svm_msrpm;

static inline struct svm_vcpu *to_svm(struct axvcpu_vcpu *vcpu)
{
	return vcpu->arch;
}

static int svm_hardware_enable(void)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		return -EBUSY;
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(sc->hsave));
	/* Nothing tagged before this enable may be reused. */
	sc->asid_generation++;
	sc->next_asid = svm_max_asid + 1;
	return 0;
}

static void svm_hardware_disable(void)
{
	u64 efer;

	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
}

/* --- the VMCB ------------------------------------------------------------ */

static void svm_set_intercept(struct vmcb_control_area *c, u32 bit)
{
	__set_bit(bit, (unsigned long *)c->intercepts);
}

static void svm_init_seg(struct vmcb_seg *seg, u16 attrib)
{
	seg->selector = 0;
	seg->attrib = attrib;
	seg->limit = 0xffff;
	seg->base = 0;
}

/* Real mode, CS:IP at entry: CS based at entry rounded down to 64 KiB. */
static void svm_set_entry(struct vmcb_save_area *s, u64 entry)
{
	s->cs.base = entry & ~0xffffULL;
	s->cs.selector = (s->cs.base >> 4) & 0xffff;
	s->rip = entry & 0xffff;
}

/* The state KVM gives a new vCPU: real mode at the reset vector. */
static void svm_reset_vmcb(struct svm_vcpu *svm, struct axvcpu_vcpu *vcpu)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct vmcb_save_area *s = &svm->vmcb->save;
	struct svm_vm *v = vcpu->vm->arch;
	static const u32 intercepts[] = {
		INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_MC,
		INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI,
		INTERCEPT_CPUID, INTERCEPT_INVD, INTERCEPT_HLT,
		INTERCEPT_INVLPGA, INTERCEPT_IOIO_PROT, INTERCEPT_MSR_PROT,
		INTERCEPT_SHUTDOWN,
		INTERCEPT_VMRUN, INTERCEPT_VMMCALL, INTERCEPT_VMLOAD,
		INTERCEPT_VMSAVE, INTERCEPT_STGI, INTERCEPT_CLGI,
		INTERCEPT_SKINIT, INTERCEPT_WBINVD, INTERCEPT_MONITOR,
		INTERCEPT_MWAIT, INTERCEPT_XSETBV, INTERCEPT_RDPRU,
	};
	int i;

	memset(svm->vmcb, 0, PAGE_SIZE);
	memset(svm->regs, 0, sizeof(svm->regs));
	for (i = 0; i < ARRAY_SIZE(intercepts); i++)
		svm_set_intercept(c, intercepts[i]);
	c->iopm_base_pa = page_to_phys(svm_iopm);
	c->msrpm_base_pa = page_to_phys(svm_msrpm);
	c->int_ctl = V_INTR_MASKING_MASK;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = virt_to_phys(v->npt_root);

	svm_init_seg(&s->cs, SVM_SEG_CODE);
	svm_set_entry(s, 0xfffffff0ULL);
	svm_init_seg(&s->ds, SVM_SEG_DATA);
	svm_init_seg(&s->es, SVM_SEG_DATA);
	svm_init_seg(&s->ss, SVM_SEG_DATA);
	svm_init_seg(&s->fs, SVM_SEG_DATA);
	svm_init_seg(&s->gs, SVM_SEG_DATA);
	svm_init_seg(&s->ldtr, SVM_SEG_LDT);
	svm_init_seg(&s->tr, SVM_SEG_TSS16_BUSY);
	s->gdtr.limit = 0xffff;
	s->idtr.limit = 0xffff;
	svm->efer = 0;
	s->efer = EFER_SVME;	/* VMRUN refuses a guest without it */
	s->cr0 = SVM_RESET_CR0;
	s->dr6 = SVM_RESET_DR6;
	s->dr7 = SVM_RESET_DR7;
	s->rflags = X86_EFLAGS_FIXED;
	s->g_pat = SVM_RESET_PAT;
	svm->regs[__VCPU_REGS_RDX] = SVM_RESET_RDX;
	svm->xcr0 = XFEATURE_MASK_FP;
	svm->asid_cpu = -1;
	svm->pending = SVM_PENDING_NONE;
	bitmap_zero(vcpu->irq_pending, AXVCPU_NR_IRQS);
}

/* --- vCPU lifetime and steps -------------------------------------------- */

static int svm_vm_init(struct axvcpu_vm *vm)
{
	struct svm_vm *v;
	int r;

	v = kzalloc(sizeof(*v), GFP_KERNEL_ACCOUNT);
	if (!v)
		return -ENOMEM;
	r = svm_npt_init(v);
	if (r) {
		kfree(v);
		return r;
	}
	vm->arch = v;
	return 0;
}

static void svm_vm_destroy(struct axvcpu_vm *vm)
{
	svm_npt_free(vm->arch);
	kfree(vm->arch);
	vm->arch = NULL;
}

/* A mapping went or came: every vCPU flushes its ASID before entry. */
void svm_npt_changed(struct axvcpu_vm *vm)
{
	struct svm_vm *v = vm->arch;

	atomic64_inc(&v->npt_gen);
}

static int svm_vcpu_create(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm;
	struct page *page;

	svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	if (!svm)
		return -ENOMEM;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page)
		goto out_free_svm;
	if (!fpu_alloc_guest_fpstate(&svm->fpu))
		goto out_free_page;
	svm->vmcb = page_address(page);
	svm->vmcb_pa = page_to_phys(page);
	vcpu->arch = svm;
	svm_reset_vmcb(svm, vcpu);
	return 0;

out_free_page:
	__free_page(page);
out_free_svm:
	kfree(svm);
	return -ENOMEM;
}

static void svm_vcpu_destroy(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	fpu_free_guest_fpstate(&svm->fpu);
	free_page((unsigned long)svm->vmcb);
	kfree(svm);
	vcpu->arch = NULL;
}

static int svm_vcpu_setup(struct axvcpu_vcpu *vcpu,
			  const struct axvcpu_setup *setup)
{
	if (setup->flags & AXVCPU_SETUP_ENTRY)
		svm_set_entry(&to_svm(vcpu)->vmcb->save, setup->entry);
	return 0;
}

/* Give the vCPU an ASID of this CPU; a new generation flushes them all. */
static int svm_vcpu_bind(struct axvcpu_vcpu *vcpu)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;

	if (svm->asid_cpu == smp_processor_id() &&
	    svm->asid_generation == sc->asid_generation)
		return 0;
	if (sc->next_asid > svm_max_asid) {
		sc->asid_generation++;
		sc->next_asid = 1;
	}
	c->asid = sc->next_asid++;
	c->tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	svm->asid_generation = sc->asid_generation;
	svm->asid_cpu = smp_processor_id();
	return 0;
}

static int svm_vcpu_unbind(struct axvcpu_vcpu *vcpu)
{
	to_svm(vcpu)->asid_cpu = -1;
	return 0;
}

static int svm_vcpu_reset(struct axvcpu_vcpu *vcpu)
{
	svm_reset_vmcb(to_svm(vcpu), vcpu);
	return 0;
}

/* --- entering the guest --------------------------------------------------- */

static bool svm_interruptible(const struct svm_vcpu *svm)
{
	return (svm->vmcb->save.rflags & X86_EFLAGS_IF) &&
	       !(svm->vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK);
}

/* Ask for an exit as soon as the guest can take an interrupt. */
static void svm_open_window(struct svm_vcpu *svm, bool open)
{
	struct vmcb_control_area *c = &svm->vmcb->control;

	c->int_ctl &= ~V_IRQ_INJECTION_BITS_MASK;
	if (open) {
		c->int_ctl |= V_IRQ_MASK | V_IGN_TPR_MASK |
			      (0xf << V_INTR_PRIO_SHIFT);
		svm_set_intercept(c, INTERCEPT_VINTR);
	} else {
		__clear_bit(INTERCEPT_VINTR, (unsigned long *)c->intercepts);
	}
}

static bool svm_irq_pending(struct axvcpu_vcpu *vcpu)
{
	return !bitmap_empty(vcpu->irq_pending, AXVCPU_NR_IRQS);
}

/*
 * Deliver the highest injected vector when the guest can take it; until
 * then, and for request_interrupt_window, wait for the window to open.
 */
static void svm_inject_pending(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	bool busy = c->event_inj & SVM_EVTINJ_VALID;
	unsigned long vec;

	if (svm_irq_pending(vcpu) && !busy && svm_interruptible(svm)) {
		vec = find_last_bit(vcpu->irq_pending, AXVCPU_NR_IRQS);
		if (test_and_clear_bit(vec, vcpu->irq_pending)) {
			c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_INTR |
				       vec;
			busy = true;
		}
	}
	svm_open_window(svm, svm_irq_pending(vcpu) ||
			(READ_ONCE(vcpu->run->request_interrupt_window) &&
			 !busy));
}

/* Preemption and interrupts off, on the bound CPU, current vCPU set. */
static int svm_vcpu_run(struct axvcpu_vcpu *vcpu)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct svm_vm *v = vcpu->vm->arch;
	s64 gen = atomic64_read(&v->npt_gen);
	bool switch_xcr0;

	/* No ASID since a reset, or this CPU's generation moved on. */
	svm_vcpu_bind(vcpu);
	if (svm->npt_gen != gen) {
		c->tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
		svm->npt_gen = gen;
	}
	svm_inject_pending(vcpu);
	svm->vmcb->save.rax = svm->regs[__VCPU_REGS_RAX];
	svm->vmcb->save.rsp = svm->regs[__VCPU_REGS_RSP];
	c->exit_code = SVM_EXIT_NONE;

	/* The guest's XCR0, when it has one of its own. */
	switch_xcr0 = (svm->vmcb->save.cr4 & X86_CR4_OSXSAVE) &&
		      svm->xcr0 != svm_host_xcr0;
	if (switch_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, svm->xcr0);

	/* GIF=0 and IF=1: host interrupts exit the guest, taken after STGI. */
	clgi();
	raw_local_irq_enable();
	axvcpu_svm_enter(svm->regs, svm->vmcb_pa,
			 page_to_phys(sc->host_state));
	raw_local_irq_disable();
	stgi();

	if (switch_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, svm_host_xcr0);

	svm->regs[__VCPU_REGS_RAX] = svm->vmcb->save.rax;
	svm->regs[__VCPU_REGS_RSP] = svm->vmcb->save.rsp;
	c->tlb_ctl = TLB_CONTROL_DO_NOTHING;
	if (c->exit_code == SVM_EXIT_NONE) {
		pr_err_ratelimited("axvcpu: svm: VMRUN faulted (SVM off?)\n");
		return -EIO;
	}
	return 0;
}

/* --- exits ---------------------------------------------------------------- */

/*
 * Step over the instruction that exited.  Without next-RIP save, its
 * length: the instructions intercepted here have one encoding each.
 */
static void svm_skip_insn(struct svm_vcpu *svm, unsigned int len)
{
	/* The instruction is done: a shadow it began (STI, MOV SS) ends. */
	svm->vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
	if (svm_nrips)
		svm->vmcb->save.rip = svm->vmcb->control.next_rip;
	else
		svm->vmcb->save.rip += len;
}

static void svm_inject_gp(struct svm_vcpu *svm)
{
	svm->vmcb->control.event_inj = SVM_EVTINJ_VALID |
		SVM_EVTINJ_TYPE_EXEPT | SVM_EVTINJ_VALID_ERR | X86_TRAP_GP;
	svm->vmcb->control.event_inj_err = 0;
}

static int svm_internal_error(struct axvcpu_vcpu *vcpu, u32 suberror)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->vmcb->control;
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 4;
	run->internal.data[0] = c->exit_code;
	run->internal.data[1] = c->exit_info_1;
	run->internal.data[2] = c->exit_info_2;
	run->internal.data[3] = c->exit_int_info;
	return AXVCPU_EXIT_USER;
}

static void svm_cpu_mode(const struct svm_vcpu *svm, struct x86_cpu_mode *m)
{
	const struct vmcb_save_area *s = &svm->vmcb->save;

	m->cr0 = s->cr0;
	m->cr3 = s->cr3;
	m->cr4 = s->cr4;
	m->efer = s->efer;
	m->cs_base = s->cs.base;
	m->rip = s->rip;
	m->cs_l = s->cs.attrib & SVM_SELECTOR_L_MASK;
	m->cs_db = s->cs.attrib & SVM_SELECTOR_DB_MASK;
}

static u64 svm_addr_mask(u8 asize)
{
	return asize == 8 ? ~0ULL : (1ULL << (asize * 8)) - 1;
}

/* The segment bases of EXITINFO1's segment field (ES, CS, SS, DS, FS, GS). */
static u64 svm_seg_base(const struct vmcb_save_area *s, unsigned int seg)
{
	const struct vmcb_seg *segs[] = {
		&s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs,
	};

	return seg < ARRAY_SIZE(segs) ? segs[seg]->base : 0;
}

/*
 * After an element (or a batch of INS) moved: step the index register and
 * the count; the instruction stays at RIP until the count runs out, so each
 * KVM_RUN moves the next part, as KVM's string I/O does.
 */
static void svm_string_io_advance(struct svm_vcpu *svm, int index, u32 n,
				  int size)
{
	struct svm_string_io *sio = &svm->sio;
	u64 mask = svm_addr_mask(sio->asize);
	unsigned long *idx = &svm->regs[index];
	unsigned long *cx = &svm->regs[__VCPU_REGS_RCX];
	s64 step = (svm->vmcb->save.rflags & X86_EFLAGS_DF) ? -size : size;
	u64 left;

	*idx = (*idx & ~mask) | ((*idx + step * n) & mask);
	if (!sio->rep) {
		svm->vmcb->save.rip = sio->next_rip;
		return;
	}
	left = (*cx & mask) - n;
	*cx = (*cx & ~mask) | (left & mask);
	if (!left)
		svm->vmcb->save.rip = sio->next_rip;
}

/*
 * INS and OUTS.  OUTS exits once per element, INS once per batch that fits
 * in the rest of the destination page and in 1024 bytes, as KVM does.
 */
static int svm_exit_string_io(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	const struct vmcb_save_area *s = &svm->vmcb->save;
	u32 info = svm->vmcb->control.exit_info_1;
	struct svm_string_io *sio = &svm->sio;
	void *data = page_address(vcpu->run_pages[1]);
	int size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT;
	bool in = info & SVM_IOIO_TYPE_MASK;
	struct kvm_run *run = vcpu->run;
	struct x86_cpu_mode m;
	u64 mask, count, la;
	u32 n = 1;

	sio->next_rip = svm->vmcb->control.exit_info_2;
	sio->rep = info & SVM_IOIO_REP_MASK;
	sio->asize = (info & SVM_IOIO_ASIZE_MASK) >> (SVM_IOIO_ASIZE_SHIFT - 1);
	if (!sio->asize)	/* not reported (QEMU): CS's default size */
		sio->asize = (svm->efer & EFER_LMA) &&
			     (s->cs.attrib & SVM_SELECTOR_L_MASK) ? 8 :
			     (s->cs.attrib & SVM_SELECTOR_DB_MASK) ? 4 : 2;
	mask = svm_addr_mask(sio->asize);
	count = sio->rep ? svm->regs[__VCPU_REGS_RCX] & mask : 1;
	if (!count) {
		svm->vmcb->save.rip = sio->next_rip;
		return AXVCPU_EXIT_CONTINUE;
	}
	svm_cpu_mode(svm, &m);

	if (in) {
		la = s->es.base + (svm->regs[__VCPU_REGS_RDI] & mask);
		if (!(s->rflags & X86_EFLAGS_DF))
			n = min_t(u64, count,
				  min_t(u64, (PAGE_SIZE - offset_in_page(la)) / size,
					1024 / size));
		n = max_t(u32, n, 1);
		sio->la = la;
		sio->count = n;
		svm->pending = SVM_PENDING_INS;
		svm->pending_size = size;
	} else {
		la = svm_seg_base(s, (info >> 10) & 7) +
		     (svm->regs[__VCPU_REGS_RSI] & mask);
		if (!x86_guest_rw(vcpu->vm, &m, la, data, size, false))
			return svm_internal_error(vcpu,
					KVM_INTERNAL_ERROR_EMULATION);
		svm_string_io_advance(svm, __VCPU_REGS_RSI, 1, size);
	}

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.port = info >> 16;
	run->io.count = n;
	run->io.data_offset = PAGE_SIZE;
	return AXVCPU_EXIT_USER;
}

/* INS completes: the data userspace gave goes to guest memory. */
static void svm_complete_ins(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_string_io *sio = &svm->sio;
	struct x86_cpu_mode m;

	svm_cpu_mode(svm, &m);
	/* Memory that went away meanwhile: the data is dropped, as on I/O. */
	x86_guest_rw(vcpu->vm, &m, sio->la, page_address(vcpu->run_pages[1]),
		     sio->count * svm->pending_size, true);
	svm_string_io_advance(svm, __VCPU_REGS_RDI, sio->count,
			      svm->pending_size);
}

static int svm_exit_io(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	u32 info = c->exit_info_1;
	struct kvm_run *run = vcpu->run;
	int size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT;
	bool in = info & SVM_IOIO_TYPE_MASK;
	void *data = page_address(vcpu->run_pages[1]);

	if (info & SVM_IOIO_STR_MASK)
		return svm_exit_string_io(vcpu);

	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.port = info >> 16;
	run->io.count = 1;
	run->io.data_offset = PAGE_SIZE;
	if (in) {
		svm->pending = SVM_PENDING_IN;
		svm->pending_size = size;
	} else {
		memcpy(data, &svm->regs[__VCPU_REGS_RAX], size);
	}
	svm->vmcb->save.rip = c->exit_info_2;
	return AXVCPU_EXIT_USER;
}

static int svm_exit_cpuid(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u32 eax = svm->regs[__VCPU_REGS_RAX], ecx = svm->regs[__VCPU_REGS_RCX];
	u32 ebx, edx;

	axvcpu_x86_cpuid(vcpu->vcpu_id, svm->vmcb->save.cr4,
			 &eax, &ebx, &ecx, &edx);
	svm->regs[__VCPU_REGS_RAX] = eax;
	svm->regs[__VCPU_REGS_RBX] = ebx;
	svm->regs[__VCPU_REGS_RCX] = ecx;
	svm->regs[__VCPU_REGS_RDX] = edx;
	svm_skip_insn(svm, 2);			/* 0f a2 */
	return AXVCPU_EXIT_CONTINUE;
}

/* KVM's hypercall ABI: the number in RAX, arguments in RBX, RCX, RDX, RSI. */
static int svm_exit_vmmcall(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_HYPERCALL;
	run->hypercall.nr = svm->regs[__VCPU_REGS_RAX];
	run->hypercall.args[0] = svm->regs[__VCPU_REGS_RBX];
	run->hypercall.args[1] = svm->regs[__VCPU_REGS_RCX];
	run->hypercall.args[2] = svm->regs[__VCPU_REGS_RDX];
	run->hypercall.args[3] = svm->regs[__VCPU_REGS_RSI];
	run->hypercall.args[4] = 0;
	run->hypercall.args[5] = 0;
	run->hypercall.ret = 0;
	axvcpu_hypercall_longmode(run, !!(svm->efer & EFER_LMA));
	svm->pending = SVM_PENDING_HYPERCALL;
	svm_skip_insn(svm, 3);			/* 0f 01 d9 */
	return AXVCPU_EXIT_USER;
}

/* No slot, or a write to a read-only one: MMIO for userspace. */
static int svm_exit_npf(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct x86_mmio_op *op = &svm->mmio;
	struct kvm_run *run = vcpu->run;
	struct x86_cpu_mode m;
	u64 val;

	svm_cpu_mode(svm, &m);
	if ((c->exit_info_1 & SVM_NPF_FETCH) ||
	    !(c->exit_info_1 & SVM_NPF_FINAL) ||
	    !x86_mmio_decode_at(vcpu->vm, &m, op))
		return svm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION);

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = c->exit_info_2;
	run->mmio.len = op->len;
	run->mmio.is_write = op->is_write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (op->is_write) {
		val = x86_mmio_write_value(op, svm->regs);
		memcpy(run->mmio.data, &val, op->len);
	} else {
		svm->pending = SVM_PENDING_MMIO;
	}
	svm->vmcb->save.rip += op->insn_len;
	return AXVCPU_EXIT_USER;
}

/*
 * XSETBV: a guest XCR0 of the features the host has, with the rules the
 * CPU applies (x87 always; AVX with SSE; MPX and AVX-512 states together).
 */
static int svm_exit_xsetbv(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	u64 val = (svm->regs[__VCPU_REGS_RDX] << 32) |
		  (u32)svm->regs[__VCPU_REGS_RAX];
	u64 bnd = XFEATURE_MASK_BNDREGS | XFEATURE_MASK_BNDCSR;

	if ((u32)svm->regs[__VCPU_REGS_RCX] != XCR_XFEATURE_ENABLED_MASK ||
	    svm->vmcb->save.cpl || (val & ~svm_host_xcr0) ||
	    !(val & XFEATURE_MASK_FP) ||
	    ((val & XFEATURE_MASK_YMM) && !(val & XFEATURE_MASK_SSE)) ||
	    (!(val & bnd) != !((val & bnd) == bnd)) ||
	    ((val & XFEATURE_MASK_AVX512) &&
	     ((val & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512 ||
	      !(val & XFEATURE_MASK_YMM)))) {
		svm_inject_gp(svm);
		return AXVCPU_EXIT_CONTINUE;
	}
	svm->xcr0 = val;
	svm_skip_insn(svm, 3);			/* 0f 01 d1 */
	return AXVCPU_EXIT_CONTINUE;
}

/* Only EFER is the guest's to write; the rest of the MSRs it may not use. */
static int svm_exit_msr(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	bool write = svm->vmcb->control.exit_info_1;
	u32 msr = svm->regs[__VCPU_REGS_RCX];
	u64 val;

	if (msr != MSR_EFER) {
		svm_inject_gp(svm);
		return AXVCPU_EXIT_CONTINUE;
	}
	if (write) {
		val = (svm->regs[__VCPU_REGS_RDX] << 32) |
		      (u32)svm->regs[__VCPU_REGS_RAX];
		if (val & ~(u64)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX)) {
			svm_inject_gp(svm);
			return AXVCPU_EXIT_CONTINUE;
		}
		svm->efer = val;
		svm->vmcb->save.efer = val | EFER_SVME;
	} else {
		val = svm->vmcb->save.efer & ~(u64)EFER_SVME;
		svm->regs[__VCPU_REGS_RAX] = (u32)val;
		svm->regs[__VCPU_REGS_RDX] = val >> 32;
	}
	svm_skip_insn(svm, 2);			/* 0f 30, 0f 32 */
	return AXVCPU_EXIT_CONTINUE;
}

/*
 * An event the exit cut short is delivered again on entry, but for those
 * an instruction raised (INTn, INT3, INTO): RIP still points at it, so it
 * raises them again.
 */
static void svm_requeue_event(struct vmcb_control_area *c)
{
	u32 info = c->exit_int_info;
	u32 type = info & SVM_EXITINTINFO_TYPE_MASK;
	u32 vec = info & SVM_EXITINTINFO_VEC_MASK;

	c->event_inj = 0;
	if (!(info & SVM_EXITINTINFO_VALID) || type == SVM_EXITINTINFO_TYPE_SOFT ||
	    (type == SVM_EXITINTINFO_TYPE_EXEPT &&
	     (vec == X86_TRAP_BP || vec == X86_TRAP_OF)))
		return;
	c->event_inj = info;
	c->event_inj_err = c->exit_int_info_err;
}

static int svm_handle_exit(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct kvm_run *run = vcpu->run;

	svm_requeue_event(c);

	switch (c->exit_code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
		return AXVCPU_EXIT_CONTINUE;
	case SVM_EXIT_VINTR:
		svm_open_window(svm, false);
		if (!svm_irq_pending(vcpu) &&
		    READ_ONCE(run->request_interrupt_window)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			return AXVCPU_EXIT_USER;
		}
		return AXVCPU_EXIT_CONTINUE;
	case SVM_EXIT_HLT:
		svm_skip_insn(svm, 1);		/* f4 */
		return AXVCPU_EXIT_HALT;
	case SVM_EXIT_IOIO:
		return svm_exit_io(vcpu);
	case SVM_EXIT_CPUID:
		return svm_exit_cpuid(vcpu);
	case SVM_EXIT_VMMCALL:
		return svm_exit_vmmcall(vcpu);
	case SVM_EXIT_MSR:
		return svm_exit_msr(vcpu);
	case SVM_EXIT_NPF:
		return svm_exit_npf(vcpu);
	case SVM_EXIT_XSETBV:
		return svm_exit_xsetbv(vcpu);
	case SVM_EXIT_SHUTDOWN:
		/* The VMCB is undefined after a shutdown: start afresh. */
		svm_reset_vmcb(svm, vcpu);
		run->exit_reason = KVM_EXIT_SHUTDOWN;
		return AXVCPU_EXIT_USER;
	case SVM_EXIT_ERR:
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = c->exit_code;
		run->fail_entry.cpu = vcpu->bound_cpu;
		return AXVCPU_EXIT_FAILED;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_RDPRU:
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
		/* Not the guest's: #UD, as on a CPU without them. */
		c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT |
			       X86_TRAP_UD;
		return AXVCPU_EXIT_CONTINUE;
	default:
		return svm_internal_error(vcpu,
				KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
	}
}

/* KVM_RUN begins: finish what userspace answered, switch to guest FPU. */
static void svm_run_begin(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct kvm_run *run = vcpu->run;
	void *data = page_address(vcpu->run_pages[1]);
	unsigned long *rax = &svm->regs[__VCPU_REGS_RAX];
	u64 data64;

	switch (svm->pending) {
	case SVM_PENDING_IN:
		if (svm->pending_size == 4)
			*rax = *(u32 *)data;	/* zero-extended, as IN does */
		else
			memcpy(rax, data, svm->pending_size);
		break;
	case SVM_PENDING_HYPERCALL:
		*rax = run->hypercall.ret;
		break;
	case SVM_PENDING_INS:
		svm_complete_ins(vcpu);
		break;
	case SVM_PENDING_MMIO:
		memcpy(&data64, run->mmio.data, sizeof(data64));
		x86_mmio_complete_read(&svm->mmio, svm->regs, data64);
		break;
	case SVM_PENDING_NONE:
		break;
	}
	svm->pending = SVM_PENDING_NONE;
	fpu_swap_kvm_fpstate(&svm->fpu, true);
}

/* KVM_RUN returns: the guest's interrupt status, as KVM reports it. */
static void svm_run_end(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct kvm_run *run = vcpu->run;

	fpu_swap_kvm_fpstate(&svm->fpu, false);
	run->if_flag = !!(svm->vmcb->save.rflags & X86_EFLAGS_IF);
	run->cr8 = svm->vmcb->control.int_ctl & V_TPR_MASK;
	run->apic_base = 0;
	run->ready_for_interrupt_injection = svm_interruptible(svm) &&
		!svm_irq_pending(vcpu) &&
		!(svm->vmcb->control.event_inj & SVM_EVTINJ_VALID);
}

/* --- KVM's register ABI --------------------------------------------------- */

static void svm_get_regs(struct svm_vcpu *svm, struct kvm_regs *r)
{
	const unsigned long *g = svm->regs;

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
	r->rip = svm->vmcb->save.rip;
	r->rflags = svm->vmcb->save.rflags;
}

static void svm_set_regs(struct svm_vcpu *svm, const struct kvm_regs *r)
{
	unsigned long *g = svm->regs;

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
	svm->vmcb->save.rip = r->rip;
	svm->vmcb->save.rflags = r->rflags | X86_EFLAGS_FIXED;
	/* Userspace moved the guest on: an answer it owed is void. */
	svm->pending = SVM_PENDING_NONE;
}

enum svm_seg { SEG_CS, SEG_DS, SEG_ES, SEG_FS, SEG_GS, SEG_SS, SEG_TR,
	       SEG_LDTR };

/* As KVM reports segments, quirks included, so VMMs see the same. */
static void svm_get_seg(const struct vmcb_seg *s, struct kvm_segment *k,
			enum svm_seg seg, u8 cpl)
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

static void svm_set_seg(struct vmcb_seg *s, const struct kvm_segment *k)
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

static void svm_get_sregs(struct svm_vcpu *svm, struct kvm_sregs *r)
{
	struct vmcb_save_area *s = &svm->vmcb->save;

	memset(r, 0, sizeof(*r));
	svm_get_seg(&s->cs, &r->cs, SEG_CS, s->cpl);
	svm_get_seg(&s->ds, &r->ds, SEG_DS, s->cpl);
	svm_get_seg(&s->es, &r->es, SEG_ES, s->cpl);
	svm_get_seg(&s->fs, &r->fs, SEG_FS, s->cpl);
	svm_get_seg(&s->gs, &r->gs, SEG_GS, s->cpl);
	svm_get_seg(&s->ss, &r->ss, SEG_SS, s->cpl);
	svm_get_seg(&s->tr, &r->tr, SEG_TR, s->cpl);
	svm_get_seg(&s->ldtr, &r->ldt, SEG_LDTR, s->cpl);
	r->gdt.base = s->gdtr.base;
	r->gdt.limit = s->gdtr.limit;
	r->idt.base = s->idtr.base;
	r->idt.limit = s->idtr.limit;
	r->cr0 = s->cr0;
	r->cr2 = s->cr2;
	r->cr3 = s->cr3;
	r->cr4 = s->cr4;
	r->cr8 = svm->vmcb->control.int_ctl & V_TPR_MASK;
	r->efer = s->efer & ~(u64)EFER_SVME;
}

/* KVM's checks: a state the CPU would refuse is refused here. */
static bool svm_sregs_valid(const struct kvm_sregs *r)
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
	return !(r->cr0 >> 32) && !(r->cr4 >> 32) &&
	       !(r->efer & ~(u64)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX));
}

static int svm_set_sregs(struct svm_vcpu *svm, const struct kvm_sregs *r)
{
	struct vmcb_save_area *s = &svm->vmcb->save;

	if (!svm_sregs_valid(r))
		return -EINVAL;
	svm_set_seg(&s->cs, &r->cs);
	svm_set_seg(&s->ds, &r->ds);
	svm_set_seg(&s->es, &r->es);
	svm_set_seg(&s->fs, &r->fs);
	svm_set_seg(&s->gs, &r->gs);
	svm_set_seg(&s->ss, &r->ss);
	svm_set_seg(&s->tr, &r->tr);
	svm_set_seg(&s->ldtr, &r->ldt);
	s->cpl = r->ss.dpl & 3;
	s->gdtr.base = r->gdt.base;
	s->gdtr.limit = r->gdt.limit;
	s->idtr.base = r->idt.base;
	s->idtr.limit = r->idt.limit;
	s->cr0 = r->cr0;
	s->cr2 = r->cr2;
	s->cr3 = r->cr3;
	s->cr4 = r->cr4;
	svm->vmcb->control.int_ctl = (svm->vmcb->control.int_ctl &
				      ~V_TPR_MASK) | (r->cr8 & V_TPR_MASK);
	svm->efer = r->efer;
	s->efer = r->efer | EFER_SVME;
	return 0;
}

static long svm_vcpu_ioctl(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
			   void __user *argp)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct kvm_interrupt irq;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	switch (ioctl) {
	case KVM_INTERRUPT:
		if (copy_from_user(&irq, argp, sizeof(irq)))
			return -EFAULT;
		if (irq.irq >= KVM_NR_INTERRUPTS)
			return -EINVAL;
		axvcpu_vcpu_inject(vcpu, irq.irq);
		return 0;
	case KVM_GET_REGS:
		svm_get_regs(svm, &regs);
		return copy_to_user(argp, &regs, sizeof(regs)) ? -EFAULT : 0;
	case KVM_SET_REGS:
		if (copy_from_user(&regs, argp, sizeof(regs)))
			return -EFAULT;
		svm_set_regs(svm, &regs);
		return 0;
	case KVM_GET_SREGS:
		svm_get_sregs(svm, &sregs);
		return copy_to_user(argp, &sregs, sizeof(sregs)) ? -EFAULT : 0;
	case KVM_SET_SREGS:
		if (copy_from_user(&sregs, argp, sizeof(sregs)))
			return -EFAULT;
		return svm_set_sregs(svm, &sregs);
	default:
		return -ENOTTY;
	}
}

static long svm_vm_ioctl(struct axvcpu_vm *vm, unsigned int ioctl,
			 void __user *argp)
{
	switch (ioctl) {
	case KVM_SET_TSS_ADDR:
		/* Only VMX without unrestricted guest needs it. */
		return 0;
	default:
		return -ENOTTY;
	}
}

static int svm_check_extension(long cap)
{
	switch (cap) {
	case KVM_CAP_SET_TSS_ADDR:
		return 1;
	default:
		return 0;
	}
}

/* --- load and unload ------------------------------------------------------- */

static void svm_free_cpu_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sc = per_cpu_ptr(&svm_cpu, cpu);

		if (sc->hsave)
			__free_page(sc->hsave);
		if (sc->host_state)
			__free_page(sc->host_state);
		sc->hsave = NULL;
		sc->host_state = NULL;
	}
}

static void svm_exit(void)
{
	svm_free_cpu_pages();
	__free_pages(svm_msrpm, MSRPM_ORDER);
	__free_pages(svm_iopm, IOPM_ORDER);
}

/* MSRs the guest owns: switched by VMLOAD / VMSAVE, nothing to emulate. */
static const u32 svm_guest_msrs[] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_FS_BASE,
	MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_IA32_SYSENTER_CS,
	MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

/* The permission map has two bits (read, write) per MSR, in 3 ranges. */
static void svm_msrpm_allow(u8 *map, u32 msr)
{
	static const u32 base[] = { 0, 0xc0000000, 0xc0010000 };
	int i;

	for (i = 0; i < ARRAY_SIZE(base); i++) {
		if (msr - base[i] < 0x2000) {
			u32 bit = (msr - base[i]) * 2 + i * 0x800 * 8;

			__clear_bit(bit, (unsigned long *)map);
			__clear_bit(bit + 1, (unsigned long *)map);
			return;
		}
	}
}

static int svm_alloc_maps(void)
{
	int i;

	/* Every port and every MSR exits but the guest's own MSRs. */
	svm_iopm = alloc_pages(GFP_KERNEL, IOPM_ORDER);
	svm_msrpm = alloc_pages(GFP_KERNEL, MSRPM_ORDER);
	if (!svm_iopm || !svm_msrpm) {
		if (svm_iopm)
			__free_pages(svm_iopm, IOPM_ORDER);
		if (svm_msrpm)
			__free_pages(svm_msrpm, MSRPM_ORDER);
		return -ENOMEM;
	}
	memset(page_address(svm_iopm), 0xff, PAGE_SIZE << IOPM_ORDER);
	memset(page_address(svm_msrpm), 0xff, PAGE_SIZE << MSRPM_ORDER);
	for (i = 0; i < ARRAY_SIZE(svm_guest_msrs); i++)
		svm_msrpm_allow(page_address(svm_msrpm), svm_guest_msrs[i]);
	return 0;
}

static const struct axvcpu_arch_ops svm_ops = {
	.name = "svm",
	.run_pages = 2,		/* struct kvm_run, then the PIO data page */
	.hardware_enable = svm_hardware_enable,
	.hardware_disable = svm_hardware_disable,
	.vm_init = svm_vm_init,
	.vm_destroy = svm_vm_destroy,
	.map = svm_npt_map,
	.unmap = svm_npt_unmap,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_setup = svm_vcpu_setup,
	.vcpu_bind = svm_vcpu_bind,
	.vcpu_unbind = svm_vcpu_unbind,
	.vcpu_run = svm_vcpu_run,
	.vcpu_reset = svm_vcpu_reset,
	.vcpu_handle_exit = svm_handle_exit,
	.vcpu_run_begin = svm_run_begin,
	.vcpu_run_end = svm_run_end,
	.vcpu_ioctl = svm_vcpu_ioctl,
	.vm_ioctl = svm_vm_ioctl,
	.check_extension = svm_check_extension,
	.exit = svm_exit,
};

const struct axvcpu_arch_ops *axvcpu_svm_probe(void)
{
	u32 svm_features;
	u64 vm_cr;
	int cpu, r;

	/* The kernel drops these flags without KVM: ask the CPU. */
	svm_features = cpuid_edx(SVM_CPUID_FUNC);
	if (!(svm_features & SVM_FEATURE_NPT)) {
		pr_err("axvcpu: svm: the CPU has no nested paging\n");
		return ERR_PTR(-ENODEV);
	}
	svm_nrips = svm_features & SVM_FEATURE_NRIPS;
	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & SVM_VM_CR_SVM_DIS_MASK) {
		pr_err("axvcpu: svm: disabled by the firmware (VM_CR.SVMDIS)\n");
		return ERR_PTR(-ENODEV);
	}
	/* ASID 0 is the host's. */
	svm_max_asid = cpuid_ebx(SVM_CPUID_FUNC) - 1;
	if (!svm_max_asid) {
		pr_err("axvcpu: svm: no ASIDs\n");
		return ERR_PTR(-ENODEV);
	}

	if (boot_cpu_has(X86_FEATURE_XSAVE))
		svm_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);

	r = svm_alloc_maps();
	if (r)
		return ERR_PTR(r);
	for_each_possible_cpu(cpu) {
		struct svm_cpu *sc = per_cpu_ptr(&svm_cpu, cpu);

		sc->hsave = alloc_pages_node(cpu_to_node(cpu),
					     GFP_KERNEL | __GFP_ZERO, 0);
		sc->host_state = alloc_pages_node(cpu_to_node(cpu),
						  GFP_KERNEL | __GFP_ZERO, 0);
		if (!sc->hsave || !sc->host_state) {
			svm_exit();
			return ERR_PTR(-ENOMEM);
		}
	}
	return &svm_ops;
}
