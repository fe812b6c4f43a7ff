// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: AMD SVM backend.
 *
 * Per CPU: EFER.SVME, the host save area (VM_HSAVE_PA), a page for the
 * host state VMRUN does not switch, and an ASID allocator.  Per VM: the
 * nested page tables (tdp.c, in NPT format).  Per vCPU: a VMCB in the
 * architectural reset state from creation on, an ASID of its CPU from BIND
 * on, the guest GPRs (struct x86_vcpu, with what else x86_vcpu.c shares)
 * and the guest FPU state.
 */
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/kvm_host.h>
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
#include <asm/pgtable.h>
#include <asm/processor.h>
#include <asm/svm.h>
#include <linux/sched/task_stack.h>
#include <asm/tlbflush.h>
#include <asm/traps.h>

#include "../../axvcpu_host.h"
#include "svm.h"
#include "x86.h"

/* A fault (SVM turned off by an emergency restart) skips them. */
static inline void svm_clgi(void)
{
	asm volatile("1: clgi\n2:\n" _ASM_EXTABLE(1b, 2b) ::: "memory");
}

static inline void svm_stgi(void)
{
	asm volatile("1: stgi\n2:\n" _ASM_EXTABLE(1b, 2b) ::: "memory");
}

/* CPUID 0x8000000a EDX */
#define SVM_FEATURE_NPT		BIT(X86_FEATURE_NPT & 31)
#define SVM_FEATURE_NRIPS	BIT(X86_FEATURE_NRIPS & 31)
#define SVM_FEATURE_DECODEASSISTS BIT(X86_FEATURE_DECODEASSISTS & 31)

/* EXITINFO1 of a MOV DR intercept, with decode assists: the GPR. */
#define SVM_EXITINFO_DR_GPR	0xfULL

/* Nested page fault error code (EXITINFO1): the guest-physical access. */
#define SVM_NPF_WRITE		BIT_ULL(1)
#define SVM_NPF_FETCH		BIT_ULL(4)
#define SVM_NPF_FINAL		BIT_ULL(32)	/* not a guest table walk */

/* No exit code yet: VMRUN did not run (see svm_entry.S). */
#define SVM_EXIT_NONE		0xfffffffeU

#define IOPM_ORDER		2	/* 12 KiB used */
#define MSRPM_ORDER		1	/* 8 KiB */

struct svm_cpu {
	struct page *hsave;
	struct page *host_state;
	u64 asid_generation;
	u32 next_asid;
	u64 last_vm;		/* the VM whose guest ran here last */
};

struct svm_vcpu {
	struct vmcb *vmcb;
	u64 vmcb_pa;
	struct x86_vcpu x;	/* RAX and RSP: copied to the VMCB to enter */
	u64 asid_generation;
	int asid_cpu;
	s64 npt_gen;
	struct fpu_guest fpu;
	/*
	 * SVM keeps no NMI blocking for the guest: from an injected NMI on,
	 * NMIs are masked until its IRET has run (KVM's HF_NMI_MASK).  That
	 * IRET exits first; the NMI window opens when RIP has moved on.
	 */
	bool nmi_masked;
	bool iret_seen;			/* the IRET exited at iret_rip */
	u64 iret_rip;
	/* One guest instruction single-stepped to reach an NMI window. */
	bool nmi_singlestep;
	u64 ss_rflags, ss_dr6;		/* what the step changes */
	/*
	 * While a debugger takes the #DBs (x86_gdbg_owns_db()), the guest
	 * runs with DR6 at its reset value, so that the exit's DR6 says
	 * just what hit; the guest's own is kept here meanwhile.
	 */
	u64 guest_dr6, exit_dr6;
};

static DEFINE_PER_CPU(struct svm_cpu, svm_cpu);
static u32 svm_max_asid;
static bool svm_nrips, svm_decode_assists;
static u64 svm_host_xcr0;
static u64 svm_host_xss;	/* IA32_XSS: supervisor states XSAVES saves */
static struct page *svm_iopm;
static struct page *svm_msrpm;
/* Every MSR exits: for a VM whose MSR filter denies one the guest owns. */
static struct page *svm_msrpm_all;

/*
 * Nested page tables are in the host's long-mode format, with as many
 * levels as the host's paging (five with LA57): the CPU walks them in the
 * host's mode.
 */
static struct x86_tdp_format svm_npt_format = {
	.table = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER,
	.present = _PAGE_PRESENT,
	.huge = _PAGE_PSE,
	.leaf = _PAGE_PRESENT | _PAGE_USER,
	.write = _PAGE_RW,
};

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

	x86_uret_cpu_down();
	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
}

/* --- the VMCB ------------------------------------------------------------ */

static void svm_set_intercept(struct vmcb_control_area *c, u32 bit)
{
	__set_bit(bit, (unsigned long *)c->intercepts);
}

static_assert(offsetof(struct vmcb_save_area, es) ==
	      offsetof(struct x86_segs, es));
static_assert(offsetof(struct vmcb_save_area, tr) ==
	      offsetof(struct x86_segs, tr));

static struct x86_segs *svm_segs(struct svm_vcpu *svm)
{
	return (struct x86_segs *)&svm->vmcb->save;
}

/* The state KVM gives a new vCPU: real mode at the reset vector. */
static void svm_reset_vmcb(struct svm_vcpu *svm, struct axvcpu_vcpu *vcpu)
{
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct vmcb_save_area *s = &svm->vmcb->save;
	struct svm_vm *v = vcpu->vm->arch;
	static const u32 intercepts[] = {
		/*
		 * #DB and #AC: a guest can make their delivery raise them
		 * again, a loop in the CPU that no interrupt ends
		 * (CVE-2015-8104, CVE-2015-5307).  #MC: the host's.
		 */
		INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_DB,
		INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_AC,
		INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_MC,
		INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI,
		INTERCEPT_CPUID, INTERCEPT_INVD, INTERCEPT_HLT,
		INTERCEPT_INVLPGA, INTERCEPT_IOIO_PROT, INTERCEPT_MSR_PROT,
		INTERCEPT_SHUTDOWN,
		INTERCEPT_VMRUN, INTERCEPT_VMMCALL, INTERCEPT_VMLOAD,
		INTERCEPT_VMSAVE, INTERCEPT_STGI, INTERCEPT_CLGI,
		INTERCEPT_SKINIT, INTERCEPT_WBINVD, INTERCEPT_MONITOR,
		INTERCEPT_MWAIT, INTERCEPT_XSETBV, INTERCEPT_RDPRU,
		INTERCEPT_RDPMC,
	};
	int i;

	memset(svm->vmcb, 0, PAGE_SIZE);
	x86_reset_regs(&svm->x);
	x86_msrs_reset(&svm->x, vcpu->vcpu_id);
	for (i = 0; i < ARRAY_SIZE(intercepts); i++)
		svm_set_intercept(c, intercepts[i]);
	/* Every debug register: see debugreg.c. */
	for (i = 0; i < 8; i++) {
		svm_set_intercept(c, INTERCEPT_DR0_READ + i);
		svm_set_intercept(c, INTERCEPT_DR0_WRITE + i);
	}
	c->iopm_base_pa = page_to_phys(svm_iopm);
	c->msrpm_base_pa = page_to_phys(svm_msrpm);
	c->int_ctl = V_INTR_MASKING_MASK;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = virt_to_phys(v->tdp.root);

	x86_reset_segs(svm_segs(svm), &s->rip);
	s->efer = EFER_SVME;	/* VMRUN refuses a guest without it */
	s->cr0 = X86_RESET_CR0;
	s->dr6 = X86_RESET_DR6;
	s->dr7 = X86_RESET_DR7;
	s->rflags = X86_EFLAGS_FIXED;
	s->g_pat = X86_RESET_PAT;
	svm->asid_cpu = -1;
	svm->nmi_masked = false;
	svm->iret_seen = false;
	svm->nmi_singlestep = false;
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
	r = x86_tdp_init(&v->tdp, &svm_npt_format);
	if (r) {
		kfree(v);
		return r;
	}
	v->serial = x86_vm_serial();
	vm->arch = v;
	return 0;
}

static void svm_vm_destroy(struct axvcpu_vm *vm)
{
	x86_irqchip_free(vm);
	x86_msr_filter_free(vm);
	x86_tdp_free(&((struct svm_vm *)vm->arch)->tdp);
	kfree(vm->arch);
	vm->arch = NULL;
}

static int svm_map(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	return x86_tdp_map(&((struct svm_vm *)vm->arch)->tdp, slot);
}

/* A mapping went: every vCPU flushes its ASID before entry (tdp.gen). */
static void svm_unmap(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	x86_tdp_unmap(&((struct svm_vm *)vm->arch)->tdp, slot);
}

static int svm_vcpu_create(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm;
	struct page *page;
	int r = -ENOMEM;

	svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	if (!svm)
		return -ENOMEM;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page)
		goto out_free_svm;
	if (!fpu_alloc_guest_fpstate(&svm->fpu))
		goto out_free_page;
	svm->x.gfpu = &svm->fpu;
	svm->x.xcr0_allowed = svm_host_xcr0 & svm->fpu.fpstate->xfeatures &
			     ~X86_XCR0_HIDDEN;
	svm->vmcb = page_address(page);
	svm->vmcb_pa = page_to_phys(page);
	vcpu->arch = svm;
	svm_reset_vmcb(svm, vcpu);
	r = x86_lapic_create(vcpu, &svm->x);
	if (r)
		goto out_free_fpu;
	return 0;

out_free_fpu:
	vcpu->arch = NULL;
	fpu_free_guest_fpstate(&svm->fpu);
out_free_page:
	__free_page(page);
out_free_svm:
	kfree(svm);
	return r;
}

static void svm_vcpu_destroy(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	x86_lapic_free(vcpu, &svm->x);
	x86_cpuid_free(&svm->x);
	fpu_free_guest_fpstate(&svm->fpu);
	free_page((unsigned long)svm->vmcb);
	kfree(svm);
	vcpu->arch = NULL;
}

static int svm_vcpu_setup(struct axvcpu_vcpu *vcpu,
			  const struct axvcpu_setup *setup)
{
	to_svm(vcpu)->x.hypercall_exit = setup->flags & AXVCPU_SETUP_HYPERCALL;
	if (setup->flags & AXVCPU_SETUP_ENTRY)
		x86_set_entry(svm_segs(to_svm(vcpu)),
			      &to_svm(vcpu)->vmcb->save.rip, setup->entry);
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

static bool svm_vcpu_interruptible(struct axvcpu_vcpu *vcpu)
{
	return svm_interruptible(to_svm(vcpu));
}

/* A BLOCKED vCPU with an in-kernel APIC wakes when that makes it runnable. */
static bool svm_vcpu_runnable(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	return svm->x.apic && x86_lapic_runnable(svm->x.apic,
						 svm_interruptible(svm));
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

/* NMIs masked: the guest's next IRET exits (it unmasks them). */
static void svm_set_nmi_masked(struct svm_vcpu *svm, bool masked)
{
	struct vmcb_control_area *c = &svm->vmcb->control;

	svm->nmi_masked = masked;
	svm->iret_seen = false;
	if (masked)
		svm_set_intercept(c, INTERCEPT_IRET);
	else
		__clear_bit(INTERCEPT_IRET, (unsigned long *)c->intercepts);
}

/*
 * An NMI waits.  Masked by one whose IRET has not come: that IRET exits.
 * Else an interrupt shadow, an event being injected or the IRET itself
 * is in the way: step over one instruction with TF, as KVM does.
 */
static void svm_open_nmi_window(struct svm_vcpu *svm)
{
	struct vmcb_save_area *s = &svm->vmcb->save;

	if ((svm->nmi_masked && !svm->iret_seen) || svm->nmi_singlestep)
		return;
	svm->ss_rflags = s->rflags;
	svm->ss_dr6 = s->dr6;
	svm->nmi_singlestep = true;
	s->rflags |= X86_EFLAGS_TF | X86_EFLAGS_RF;
}

/* The step is over (or KVM_RUN returns): the guest's TF, RF and DR6. */
static void svm_end_nmi_singlestep(struct svm_vcpu *svm)
{
	struct vmcb_save_area *s = &svm->vmcb->save;

	if (!svm->nmi_singlestep)
		return;
	svm->nmi_singlestep = false;
	s->rflags &= ~(X86_EFLAGS_TF | X86_EFLAGS_RF) |
		     (svm->ss_rflags & (X86_EFLAGS_TF | X86_EFLAGS_RF));
	s->dr6 = svm->ss_dr6;
}

/*
 * An NMI of KVM_NMI first, then the highest injected vector when the
 * guest can take it; until then, and for request_interrupt_window, wait
 * for the window to open.
 */
static void svm_inject_pending(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	bool block = x86_gdbg_block_irq(&svm->x);
	bool window = false;
	int vec;

	/* KVM_GUESTDBG_BLOCKIRQ: neither an NMI nor the irqchip's go in. */
	if (!block &&
	    x86_next_nmi(&svm->x, c->event_inj & SVM_EVTINJ_VALID,
			 svm->nmi_masked ||
			 (c->int_state & SVM_INTERRUPT_SHADOW_MASK), &window)) {
		c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_NMI |
			       X86_TRAP_NMI;
		svm_set_nmi_masked(svm, true);
	} else if (window) {
		svm_open_nmi_window(svm);
	}
	/* With an in-kernel APIC, the guest's CR8 is its TPR. */
	if (svm->x.apic)
		c->int_ctl = (c->int_ctl & ~V_TPR_MASK) |
			     x86_lapic_sync_cr8(svm->x.apic,
						c->int_ctl & V_TPR_MASK);
	/* KVM_INTERRUPT's vector counts as injected already, as in KVM. */
	vec = x86_next_irq(vcpu, block ? NULL : svm->x.apic,
			   c->event_inj & SVM_EVTINJ_VALID,
			   svm_interruptible(svm), &window);
	if (vec >= 0)
		c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_INTR | vec;
	svm_open_window(svm, window);
	/* Real mode pushes no error code: KVM drops one as it injects. */
	if (!(svm->vmcb->save.cr0 & X86_CR0_PE))
		c->event_inj &= ~SVM_EVTINJ_VALID_ERR;
}

/*
 * The exit left a host context in the guest's save area: paging on with
 * the page tables this CPU runs on and a kernel RIP.  No guest can set
 * that up by chance (it would need the host-physical address of the
 * host's page tables); entering it would run host code as the guest, and
 * GET_REGS would show the host's RIP and RSP.  Seen under an emulator
 * (Documentation/testing.rst): refuse it whatever its cause.
 */
static bool svm_holds_host_state(const struct vmcb_save_area *s)
{
	return (s->cr0 & X86_CR0_PG) && (s->efer & EFER_LMA) &&
	       (s->cr3 & CR3_ADDR_MASK) == (__read_cr3() & CR3_ADDR_MASK) &&
	       s->rip >= TASK_SIZE_MAX;
}

static int svm_host_state_failed(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct kvm_run *run = vcpu->run;

	pr_err_ratelimited("axvcpu: svm: vm %u vcpu %u: exit %#llx left a host context in VMCB %#llx (CPU %d, HSAVE %#llx, RIP %pS, RSP %s); vCPU is INVALID\n",
			   vcpu->vm->id, vcpu->vcpu_id, (u64)c->exit_code,
			   svm->vmcb_pa, vcpu->bound_cpu,
			   (u64)page_to_phys(this_cpu_ptr(&svm_cpu)->hsave),
			   (void *)svm->vmcb->save.rip,
			   object_is_on_stack((void *)svm->vmcb->save.rsp) ?
			   "this thread's stack" : "not this thread's stack");
	/* Nothing of the host's may reach userspace or the next entry. */
	svm_reset_vmcb(svm, vcpu);
	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason = SVM_EXIT_ERR;
	run->fail_entry.cpu = vcpu->bound_cpu;
	return AXVCPU_EXIT_FAILED;
}

/* The CPU switches between VMs: no branch prediction crosses. */
static void svm_vm_barrier(struct svm_cpu *sc, struct svm_vm *v)
{
	if (sc->last_vm != v->serial) {
		sc->last_vm = v->serial;
		indirect_branch_prediction_barrier();
	}
}

/*
 * KVM_GUESTDBG_USE_SW_BP intercepts #BP, and INTn with it: QEMU's emulated
 * SVM checks INT3 and INTO against the INTn intercept, not #BP's
 * (svm_exit_swint()).
 */
static void svm_gdbg_intercepts(struct svm_vcpu *svm)
{
	struct vmcb_control_area *c = &svm->vmcb->control;

	if (svm->x.gdbg.control & KVM_GUESTDBG_USE_SW_BP) {
		svm_set_intercept(c, INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_BP);
		svm_set_intercept(c, INTERCEPT_INTn);
	} else {
		__clear_bit(INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_BP,
			    (unsigned long *)c->intercepts);
		__clear_bit(INTERCEPT_INTn, (unsigned long *)c->intercepts);
	}
}

/* Preemption and interrupts off, on the bound CPU, current vCPU set. */
static int svm_vcpu_run(struct axvcpu_vcpu *vcpu)
{
	struct svm_cpu *sc = this_cpu_ptr(&svm_cpu);
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct vmcb_save_area *s = &svm->vmcb->save;
	struct svm_vm *v = vcpu->vm->arch;
	s64 gen = atomic64_read(&v->tdp.gen);
	bool switch_xcr0, owns_db;
	u64 emu_dr7 = 0;

	/* Halted, or waiting for INIT/SIPI: x86_lapic_exit() says what next. */
	if (svm->x.apic &&
	    !x86_lapic_may_enter(svm->x.apic, svm_interruptible(svm))) {
		svm->x.apic_exit = true;
		return 0;
	}
	x86_fpu_reload();
	/* No ASID since a reset, or this CPU's generation moved on. */
	svm_vcpu_bind(vcpu);
	svm_vm_barrier(sc, v);
	if (svm->npt_gen != gen) {
		c->tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
		svm->npt_gen = gen;
	}
	svm_inject_pending(vcpu);
	svm_gdbg_intercepts(svm);
	owns_db = x86_gdbg_owns_db(&svm->x);
	if (unlikely(owns_db)) {
		svm->guest_dr6 = s->dr6;
		s->dr6 = X86_RESET_DR6;
	}
	c->tsc_offset = svm->x.msrs.tsc_offset;
	/* A new MSR filter kicks the vCPU out of guest mode to come here. */
	c->msrpm_base_pa = page_to_phys(READ_ONCE(vcpu->vm->msr_exit_all) ?
					svm_msrpm_all : svm_msrpm);
	svm->vmcb->save.rax = svm->x.regs[__VCPU_REGS_RAX];
	svm->vmcb->save.rsp = svm->x.regs[__VCPU_REGS_RSP];
	c->exit_code = SVM_EXIT_NONE;

	/* The guest's XCR0, when it has one of its own. */
	/* Without the host's XSAVE (noxsave) XSETBV would fault. */
	switch_xcr0 = svm_host_xcr0 && (svm->vmcb->save.cr4 & X86_CR4_OSXSAVE) &&
		      svm->x.xcr0 != svm_host_xcr0;
	if (switch_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, svm->x.xcr0);
	x86_uret_load(svm->x.uret, BIT(X86_URET_TSC_AUX));
	/*
	 * SVM cannot make XSAVES #UD: with the host's IA32_XSS a guest's
	 * XSAVES would store the host's supervisor states (KVM switches
	 * XSS too).  The guest has none of its own.
	 */
	if (svm_host_xss)
		wrmsrl(MSR_IA32_XSS, 0);
	x86_switch_to_guest(&svm->x, s->dr7, s->cr4);
	if (unlikely(s->dr7 & X86_DR7_ENABLES))
		emu_dr7 = x86_emulator_dr7(&svm->x, s->dr7);

	/* GIF=0 and IF=1: host interrupts exit the guest, taken after STGI. */
	svm_clgi();
	if (emu_dr7)
		set_debugreg(emu_dr7, 7);
	/* Lockdep and RCU: the CPU is the guest's (KVM's order). */
	guest_state_enter_irqoff();
	raw_local_irq_enable();
	axvcpu_svm_enter(svm->x.regs, svm->vmcb_pa,
			 page_to_phys(sc->host_state));
	raw_local_irq_disable();
	guest_state_exit_irqoff();
	if (emu_dr7)
		set_debugreg(0, 7);
	svm_stgi();

	x86_switch_to_host(&svm->x);
	if (svm_host_xss)
		wrmsrl(MSR_IA32_XSS, svm_host_xss);
	if (switch_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, svm_host_xcr0);
	/* A machine check in guest mode is the host's: its handler, now. */
	if (unlikely(c->exit_code == SVM_EXIT_EXCP_BASE + X86_TRAP_MC))
		x86_machine_check();

	svm->x.regs[__VCPU_REGS_RAX] = svm->vmcb->save.rax;
	svm->x.regs[__VCPU_REGS_RSP] = svm->vmcb->save.rsp;
	if (unlikely(owns_db)) {
		svm->exit_dr6 = s->dr6;
		s->dr6 = svm->guest_dr6;
	}
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

/* An exception for the guest; #GP and #AC push an error code of 0. */
static void svm_inject_exception(struct svm_vcpu *svm, unsigned int vec)
{
	struct vmcb_control_area *c = &svm->vmcb->control;

	c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT | vec;
	if (vec == X86_TRAP_GP || vec == X86_TRAP_AC) {
		c->event_inj |= SVM_EVTINJ_VALID_ERR;
		c->event_inj_err = 0;
	}
}

/*
 * A #DB or #AC raised while an event was delivered replaces it: an
 * injected interrupt goes back to the queue instead of being lost.
 */
static void svm_requeue_irq(struct axvcpu_vcpu *vcpu)
{
	u32 inj = to_svm(vcpu)->vmcb->control.event_inj;

	if ((inj & (SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_MASK)) ==
	    (SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_INTR))
		set_bit(inj & SVM_EVTINJ_VEC_MASK, vcpu->irq_pending);
}

static void svm_inject_gp(struct svm_vcpu *svm)
{
	svm_inject_exception(svm, X86_TRAP_GP);
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
	m->rip = s->rip;
	m->rflags = s->rflags;
	x86_cpu_mode_segs(m, (const struct x86_segs *)s);
}

static u64 svm_linear_rip(struct svm_vcpu *svm)
{
	return x86_segs_linear_rip(svm_segs(svm), svm->vmcb->save.efer,
				   svm->vmcb->save.rip);
}

/*
 * A #BP the debugger asked for (KVM_GUESTDBG_USE_SW_BP), at the INT3 of
 * len bytes that RIP points to: KVM_EXIT_DEBUG.
 */
static int svm_exit_bp(struct axvcpu_vcpu *vcpu, u8 len)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	svm->x.gdbg.bp_len = len;
	return x86_gdbg_exit(vcpu, X86_TRAP_BP, svm_linear_rip(svm),
			     X86_RESET_DR6, svm->vmcb->save.dr7);
}

/*
 * INTn, intercepted with USE_SW_BP for QEMU, whose emulated SVM takes
 * INT3 and INTO for it too (real CPUs raise #BP, svm_exit_bp()).  INT3 is
 * the breakpoint; any other goes to the guest as it would have, a
 * software interrupt returning past the instruction.
 */
static int svm_exit_swint(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	u8 insn[X86_MAX_INSN], vec, len;
	struct x86_cpu_mode m;
	int n, i;

	svm_cpu_mode(svm, &m);
	n = x86_fetch(vcpu->vm, &m, insn);
	i = x86_skip_prefixes(insn, n);
	if (i < n && insn[i] == 0xcc)
		return svm_exit_bp(vcpu, i + 1);
	if (i + 1 < n && insn[i] == 0xcd) {
		vec = insn[i + 1];
		len = i + 2;
	} else if (i < n && insn[i] == 0xce) {
		vec = X86_TRAP_OF;
		len = i + 1;
	} else {
		return svm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION);
	}
	svm->vmcb->save.rip += len;
	c->next_rip = svm->vmcb->save.rip;
	c->event_inj = SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_SOFT | vec;
	return AXVCPU_EXIT_CONTINUE;
}

static int svm_exit_io(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	u32 info = c->exit_info_1;
	struct x86_io io = {
		.port = info >> 16,
		.size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT,
		.asize = (info & SVM_IOIO_ASIZE_MASK) >>
			 (SVM_IOIO_ASIZE_SHIFT - 1),
		.seg = (info >> 10) & 7,
		.in = info & SVM_IOIO_TYPE_MASK,
		.string = info & SVM_IOIO_STR_MASK,
		.rep = info & SVM_IOIO_REP_MASK,
		.next_rip = c->exit_info_2,
	};
	struct x86_cpu_mode m;
	int r;

	if (io.string)
		svm_cpu_mode(svm, &m);
	r = x86_exit_io(vcpu, &svm->x, &m, &io, &svm->vmcb->save.rip);
	if (r == X86_EXIT_EMULATION_FAILED)
		return svm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION);
	return r;
}

static int svm_exit_cpuid(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	x86_exit_cpuid(vcpu, &svm->x, svm->vmcb->save.cr4);
	svm_skip_insn(svm, 2);			/* 0f a2 */
	return AXVCPU_EXIT_CONTINUE;
}

static int svm_exit_vmmcall(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;

	svm_skip_insn(svm, 3);			/* 0f 01 d9 */
	return x86_exit_hypercall(vcpu, &svm->x, s->cpl,
				  (s->efer & EFER_LMA) &&
				  (s->cs.attrib & SVM_SELECTOR_L_MASK));
}

/* No slot, or a write to a read-only one: MMIO for userspace. */
static int svm_exit_npf(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct x86_cpu_mode m;

	/*
	 * A logged page written (the guest's table walk too, for its A/D
	 * bits), or a slot changed meanwhile: nothing for userspace.
	 */
	if (axvcpu_stage2_fault(vcpu->vm, c->exit_info_2,
				c->exit_info_1 & SVM_NPF_WRITE))
		return AXVCPU_EXIT_CONTINUE;
	svm_cpu_mode(svm, &m);
	if ((c->exit_info_1 & SVM_NPF_FETCH) ||
	    !(c->exit_info_1 & SVM_NPF_FINAL))
		return svm_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION);
	return x86_exit_mmio(vcpu, &svm->x, &m, c->exit_info_2,
			     &svm->vmcb->save.rip, &svm->vmcb->save.rflags);
}

/* MOV to or from DRn: the GPR from decode assists, or the instruction. */
static int svm_exit_dr(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct vmcb_save_area *s = &svm->vmcb->save;
	struct x86_dr_access a = {
		.dr = c->exit_code & 7,
		.write = c->exit_code >= SVM_EXIT_WRITE_DR0,
	}, d;
	struct x86_cpu_mode m;
	u8 len = 3;			/* 0f 21/23 ModRM */
	int vec;

	svm_cpu_mode(svm, &m);
	if (svm_decode_assists) {
		a.gpr = c->exit_info_1 & SVM_EXITINFO_DR_GPR;
	} else {
		if (!x86_decode_mov_dr(vcpu->vm, &m, &d, &len) ||
		    d.dr != a.dr || d.write != a.write)
			return svm_internal_error(vcpu,
					KVM_INTERNAL_ERROR_EMULATION);
		a.gpr = d.gpr;
	}
	vec = x86_mov_dr(&svm->x, &a, &m, s->cpl, &s->dr6, &s->dr7);
	if (vec == X86_DR_DEBUG_EXIT)
		return x86_gdbg_exit(vcpu, X86_TRAP_DB, svm_linear_rip(svm),
				     X86_RESET_DR6 | X86_DR6_BD, s->dr7);
	if (vec >= 0)
		svm_inject_exception(svm, vec);
	else
		svm_skip_insn(svm, len);
	return AXVCPU_EXIT_CONTINUE;
}

static int svm_exit_xsetbv(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (!x86_xsetbv(&svm->x, svm->vmcb->save.cpl)) {
		svm_inject_gp(svm);
		return AXVCPU_EXIT_CONTINUE;
	}
	svm_skip_insn(svm, 3);			/* 0f 01 d1 */
	return AXVCPU_EXIT_CONTINUE;
}

static const struct x86_sregs_ops svm_sregs_ops;

static int svm_exit_msr(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	/* 0f 30, 0f 32 */
	u64 next = svm_nrips ? vmcb->control.next_rip : vmcb->save.rip + 2;

	switch (x86_guest_msr(vcpu, &svm->x, &svm_sregs_ops,
			      vmcb->control.exit_info_1, next)) {
	case X86_MSR_USER:
		return AXVCPU_EXIT_USER;
	case X86_MSR_GP:
		svm_inject_gp(svm);
		break;
	case X86_MSR_SKIP:
		svm_skip_insn(svm, 2);
		break;
	}
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

/* For the axvcpu_exit tracepoint. */
static u64 svm_exit_code(struct axvcpu_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb->control.exit_code;
}

static int svm_dispatch_exit(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;
	struct vmcb_save_area *s = &svm->vmcb->save;
	struct kvm_run *run = vcpu->run;

	if (svm->x.apic_exit)
		return x86_lapic_exit(vcpu, &svm->x, &svm_sregs_ops, &s->rip);
	if (unlikely(svm_holds_host_state(s)))
		return svm_host_state_failed(vcpu);
	svm_requeue_event(c);
	/* The IRET that exited has run: NMIs are unmasked. */
	if (svm->iret_seen && s->rip != svm->iret_rip)
		svm_set_nmi_masked(svm, false);

	switch (c->exit_code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
	case SVM_EXIT_EXCP_BASE + X86_TRAP_MC:	/* handled after the exit */
		return AXVCPU_EXIT_CONTINUE;
	case SVM_EXIT_EXCP_BASE + X86_TRAP_DB:
		/* Our own step towards an NMI window: not the guest's. */
		if (svm->nmi_singlestep) {
			svm_end_nmi_singlestep(svm);
			if (!x86_gdbg_owns_db(&svm->x))
				return AXVCPU_EXIT_CONTINUE;
		}
		/* The debugger's: the exit's DR6 says what hit. */
		if (x86_gdbg_owns_db(&svm->x))
			return x86_gdbg_exit(vcpu, X86_TRAP_DB,
					     svm_linear_rip(svm),
					     svm->exit_dr6, s->dr7);
		/* The CPU wrote the guest's DR6: deliver it as it would. */
		x86_deliver_db(&s->dr6, &s->dr7, s->dr6);
		svm_requeue_irq(vcpu);
		svm_inject_exception(svm, X86_TRAP_DB);
		return AXVCPU_EXIT_CONTINUE;
	case SVM_EXIT_EXCP_BASE + X86_TRAP_BP:
		return svm_exit_bp(vcpu, 1);		/* cc */
	case SVM_EXIT_SWINT:
		return svm_exit_swint(vcpu);
	case SVM_EXIT_EXCP_BASE + X86_TRAP_AC:
		svm_requeue_irq(vcpu);
		svm_inject_exception(svm, X86_TRAP_AC);
		return AXVCPU_EXIT_CONTINUE;
	case SVM_EXIT_READ_DR0 ... SVM_EXIT_READ_DR7:
	case SVM_EXIT_WRITE_DR0 ... SVM_EXIT_WRITE_DR7:
		return svm_exit_dr(vcpu);
	case SVM_EXIT_WBINVD:
	case SVM_EXIT_INVD:
		/* No device of the guest's caches memory: nothing to flush. */
		svm_skip_insn(svm, 2);		/* 0f 09, 0f 08 */
		return AXVCPU_EXIT_CONTINUE;
	case SVM_EXIT_RDPMC:
		/* No PMU: #GP, as KVM gives a guest without one. */
		svm_inject_gp(svm);
		return AXVCPU_EXIT_CONTINUE;
	case SVM_EXIT_IRET:
		svm->iret_seen = true;
		svm->iret_rip = s->rip;
		__clear_bit(INTERCEPT_IRET, (unsigned long *)c->intercepts);
		return AXVCPU_EXIT_CONTINUE;
	case SVM_EXIT_VINTR:
		svm_open_window(svm, false);
		if (!x86_irq_pending(vcpu) &&
		    READ_ONCE(run->request_interrupt_window)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			return AXVCPU_EXIT_USER;
		}
		return AXVCPU_EXIT_CONTINUE;
	case SVM_EXIT_HLT:
		svm_skip_insn(svm, 1);		/* f4 */
		return svm->x.apic ? x86_lapic_halt(svm->x.apic) :
				     AXVCPU_EXIT_HALT;
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
		svm_inject_exception(svm, X86_TRAP_UD);
		return AXVCPU_EXIT_CONTINUE;
	default:
		return svm_internal_error(vcpu,
				KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
	}
}

static int svm_handle_exit(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;
	bool step = x86_gdbg_stepping(&svm->x) &&
		    (s->rflags & X86_EFLAGS_TF) && !svm->x.apic_exit;
	u64 rip = s->rip;
	int r = svm_dispatch_exit(vcpu);

	/*
	 * The exit's instruction was carried out here, so no single-step
	 * trap came for it (an event injected instead goes first).
	 */
	if (unlikely(step) && s->rip != rip &&
	    !(svm->vmcb->control.event_inj & SVM_EVTINJ_VALID))
		r = x86_gdbg_stepped(vcpu, &svm->x, svm_linear_rip(svm),
				     s->dr7, r);
	return r;
}

/* KVM_RUN begins: finish what userspace answered, switch to guest FPU. */
static int svm_run_begin(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;
	struct x86_cpu_mode m;
	int r = AXVCPU_EXIT_CONTINUE;

	if (svm->x.pending || svm->x.gdbg.step_owed) {
		svm_cpu_mode(svm, &m);
		r = x86_complete_pending(vcpu, &svm->x, &svm_sregs_ops, &m,
					 &s->rip, &s->rflags, s->dr7);
	}
	/* Without an in-kernel APIC the VMM's TPR is CR8 (KVM applies it). */
	if (!svm->x.apic)
		svm->vmcb->control.int_ctl =
			(svm->vmcb->control.int_ctl & ~V_TPR_MASK) |
			(READ_ONCE(vcpu->run->cr8) & V_TPR_MASK);
	fpu_swap_kvm_fpstate(&svm->fpu, true);
	return r;
}

/* KVM_RUN returns: the guest's interrupt status, as KVM reports it. */
static void svm_run_end(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	/* Userspace sees the guest's flags; the next entry steps again. */
	svm_end_nmi_singlestep(svm);
	fpu_swap_kvm_fpstate(&svm->fpu, false);
	x86_run_end(vcpu, &svm->x, svm->vmcb->save.rflags,
		    svm->vmcb->control.int_ctl & V_TPR_MASK,
		    svm_interruptible(svm),
		    svm->vmcb->control.event_inj & SVM_EVTINJ_VALID);
}

/* --- KVM's register ABI: x86_vcpu.c, on the VMCB's save area ------------- */

static void svm_get_sregs(struct axvcpu_vcpu *vcpu, struct kvm_sregs *r)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;
	struct x86_crs c = {
		.cr0 = s->cr0, .cr2 = s->cr2, .cr3 = s->cr3, .cr4 = s->cr4,
		.cr8 = svm->vmcb->control.int_ctl & V_TPR_MASK,
		.efer = s->efer & ~(u64)EFER_SVME,
	};

	x86_get_sregs(svm_segs(svm), s->cpl, &c, r);
}

static int svm_set_sregs(struct axvcpu_vcpu *vcpu, const struct kvm_sregs *r)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;

	if (x86_set_sregs(svm_segs(svm), &s->cpl, r))
		return -EINVAL;
	s->cr0 = r->cr0;
	s->cr2 = r->cr2;
	s->cr3 = r->cr3;
	s->cr4 = r->cr4;
	svm->vmcb->control.int_ctl = (svm->vmcb->control.int_ctl &
				      ~V_TPR_MASK) | (r->cr8 & V_TPR_MASK);
	svm->x.efer = r->efer;
	s->efer = r->efer | EFER_SVME;
	return 0;
}

static void svm_get_events(struct axvcpu_vcpu *vcpu, struct x86_events *e)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;

	e->inj = c->event_inj;
	e->inj_err = c->event_inj_err;
	/* One shadow bit: KVM reports it as both kinds. */
	e->shadow = c->int_state & SVM_INTERRUPT_SHADOW_MASK ?
		    KVM_X86_SHADOW_INT_MOV_SS | KVM_X86_SHADOW_INT_STI : 0;
	e->nmi_masked = svm->nmi_masked;
}

static void svm_set_events(struct axvcpu_vcpu *vcpu, const struct x86_events *e,
			   bool shadow)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_control_area *c = &svm->vmcb->control;

	c->event_inj = e->inj;
	c->event_inj_err = e->inj_err;
	if (shadow) {
		c->int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
		if (e->shadow)
			c->int_state |= SVM_INTERRUPT_SHADOW_MASK;
	}
	svm_set_nmi_masked(svm, e->nmi_masked);
}

static void svm_dr67(struct axvcpu_vcpu *vcpu, u64 **dr6, u64 **dr7)
{
	*dr6 = &to_svm(vcpu)->vmcb->save.dr6;
	*dr7 = &to_svm(vcpu)->vmcb->save.dr7;
}

/*
 * The MSRs of the VMCB's save area (VMLOAD and VMSAVE switch the syscall
 * and SYSENTER MSRs and KERNEL_GS_BASE without exits), EFER, PAT and
 * TSC_AUX (uret.c).
 */
static u64 *svm_msr_slot(struct vmcb_save_area *s, u32 msr)
{
	switch (msr) {
	case MSR_STAR:			return &s->star;
	case MSR_LSTAR:			return &s->lstar;
	case MSR_CSTAR:			return &s->cstar;
	case MSR_SYSCALL_MASK:		return &s->sfmask;
	case MSR_KERNEL_GS_BASE:	return &s->kernel_gs_base;
	case MSR_IA32_SYSENTER_CS:	return &s->sysenter_cs;
	case MSR_IA32_SYSENTER_ESP:	return &s->sysenter_esp;
	case MSR_IA32_SYSENTER_EIP:	return &s->sysenter_eip;
	case MSR_IA32_CR_PAT:		return &s->g_pat;
	default:			return NULL;
	}
}

static int svm_get_msr(struct axvcpu_vcpu *vcpu, u32 msr, u64 *val)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;
	u64 *p = svm_msr_slot(s, msr);
	int i = x86_uret_index(msr);

	if (p) {
		*val = *p;
	} else if (msr == MSR_FS_BASE || msr == MSR_GS_BASE) {
		*val = msr == MSR_FS_BASE ? s->fs.base : s->gs.base;
	} else if (msr == MSR_EFER) {
		*val = s->efer & ~(u64)EFER_SVME;
	} else if (i == X86_URET_TSC_AUX) {
		if (!(x86_guest_uret & BIT(i)))
			return 1;
		*val = svm->x.uret[i];
	} else {
		return -ENOENT;
	}
	return 0;
}

static int svm_set_msr(struct axvcpu_vcpu *vcpu, u32 msr, u64 val, bool host)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *s = &svm->vmcb->save;
	u64 *p = svm_msr_slot(s, msr);
	int i = x86_uret_index(msr);

	if (msr == MSR_EFER) {
		if (!x86_efer_valid(val))
			return 1;
		svm->x.efer = val;
		s->efer = val | EFER_SVME;
		return 0;
	}
	if (i == X86_URET_TSC_AUX) {
		if (!(x86_guest_uret & BIT(i)) || !x86_uret_valid(i, val))
			return 1;
		svm->x.uret[i] = val;
		return 0;
	}
	if (msr == MSR_FS_BASE || msr == MSR_GS_BASE) {
		if (!x86_uret_valid(X86_URET_LSTAR, val))	/* canonical */
			return 1;
		if (msr == MSR_FS_BASE)
			s->fs.base = val;
		else
			s->gs.base = val;
		return 0;
	}
	if (!p)
		return -ENOENT;
	/* An AMD CPU keeps 32 bits of these; so does KVM for its guests. */
	if (msr == MSR_IA32_SYSENTER_ESP || msr == MSR_IA32_SYSENTER_EIP)
		val = (u32)val;
	/* VMRUN checks none of these: a value the CPU would refuse is. */
	if ((msr == MSR_IA32_CR_PAT && !x86_pat_valid(val)) ||
	    ((msr == MSR_LSTAR || msr == MSR_CSTAR ||
	      msr == MSR_KERNEL_GS_BASE || msr == MSR_IA32_SYSENTER_ESP ||
	      msr == MSR_IA32_SYSENTER_EIP) && !x86_uret_valid(X86_URET_LSTAR, val)))
		return 1;
	*p = val;
	return 0;
}

static void svm_vcpu_inject_gp(struct axvcpu_vcpu *vcpu)
{
	svm_inject_gp(to_svm(vcpu));
}

static const struct x86_sregs_ops svm_sregs_ops = {
	.get = svm_get_sregs,
	.set = svm_set_sregs,
	.dr67 = svm_dr67,
	.get_msr = svm_get_msr,
	.set_msr = svm_set_msr,
	.inject_gp = svm_vcpu_inject_gp,
	.get_events = svm_get_events,
	.set_events = svm_set_events,
};

static long svm_vcpu_ioctl(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
			   void __user *argp)
{
	struct vmcb_save_area *s = &to_svm(vcpu)->vmcb->save;

	return x86_vcpu_ioctl(vcpu, &to_svm(vcpu)->x, &s->rip, &s->rflags,
			      &svm_sregs_ops, ioctl, argp);
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
	__free_pages(svm_msrpm_all, MSRPM_ORDER);
	__free_pages(svm_msrpm, MSRPM_ORDER);
	__free_pages(svm_iopm, IOPM_ORDER);
}

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
	unsigned int i;

	/*
	 * Every port and every MSR exits but the MSRs the guest owns
	 * (switched by VMLOAD / VMSAVE, nothing to emulate), and those too
	 * with svm_msrpm_all.
	 */
	svm_iopm = alloc_pages(GFP_KERNEL, IOPM_ORDER);
	svm_msrpm = alloc_pages(GFP_KERNEL, MSRPM_ORDER);
	svm_msrpm_all = alloc_pages(GFP_KERNEL, MSRPM_ORDER);
	if (!svm_iopm || !svm_msrpm || !svm_msrpm_all) {
		if (svm_iopm)
			__free_pages(svm_iopm, IOPM_ORDER);
		if (svm_msrpm)
			__free_pages(svm_msrpm, MSRPM_ORDER);
		if (svm_msrpm_all)
			__free_pages(svm_msrpm_all, MSRPM_ORDER);
		return -ENOMEM;
	}
	memset(page_address(svm_iopm), 0xff, PAGE_SIZE << IOPM_ORDER);
	memset(page_address(svm_msrpm), 0xff, PAGE_SIZE << MSRPM_ORDER);
	memset(page_address(svm_msrpm_all), 0xff, PAGE_SIZE << MSRPM_ORDER);
	for (i = 0; i < x86_nr_guest_owned_msrs; i++)
		svm_msrpm_allow(page_address(svm_msrpm),
				x86_guest_owned_msrs[i]);
	return 0;
}

static const struct axvcpu_arch_ops svm_ops = {
	.name = "svm",
	.run_pages = 2,		/* struct kvm_run, then the PIO data page */
	.hardware_enable = svm_hardware_enable,
	.hardware_disable = svm_hardware_disable,
	.vm_init = svm_vm_init,
	.vm_destroy = svm_vm_destroy,
	.map = svm_map,
	.unmap = svm_unmap,
	.write_protect = x86_tdp_write_protect,
	.retry_fault = x86_tdp_retry_fault,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_setup = svm_vcpu_setup,
	.vcpu_bind = svm_vcpu_bind,
	.vcpu_unbind = svm_vcpu_unbind,
	.vcpu_run = svm_vcpu_run,
	.vcpu_reset = svm_vcpu_reset,
	.vcpu_handle_exit = svm_handle_exit,
	.vcpu_exit_code = svm_exit_code,
	.vcpu_run_begin = svm_run_begin,
	.vcpu_run_end = svm_run_end,
	.vcpu_interruptible = svm_vcpu_interruptible,
	.vcpu_runnable = svm_vcpu_runnable,
	.vcpu_ioctl = svm_vcpu_ioctl,
	.vm_ioctl = x86_vm_ioctl,
	.dev_ioctl = x86_dev_ioctl,
	.check_extension = x86_check_extension,
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
	svm_decode_assists = svm_features & SVM_FEATURE_DECODEASSISTS;
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

	if (cr4_read_shadow() & X86_CR4_OSXSAVE)
		svm_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	if (boot_cpu_has(X86_FEATURE_XSAVES))
		rdmsrl(MSR_IA32_XSS, svm_host_xss);
	/* VMLOAD switches the syscall MSRs, uret.c TSC_AUX where it exists. */
	x86_guest_uret = x86_uret_have();
	svm_npt_format.levels = pgtable_l5_enabled() ? 5 : 4;

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
