// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: AMD SVM backend.
 *
 * Per CPU: EFER.SVME and the host save area (VM_HSAVE_PA), and an ASID
 * allocator.  Per vCPU: a VMCB, put in the architectural reset state by
 * SETUP and given an ASID of its CPU by BIND.
 */
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/cpufeature.h>
#include <asm/io.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/svm.h>
#include <asm/traps.h>

#include "../../axvcpu_host.h"
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

struct svm_cpu {
	struct page *hsave;
	u64 asid_generation;
	u32 next_asid;
};

struct svm_vcpu {
	struct vmcb *vmcb;
	u64 asid_generation;
	int asid_cpu;
};

static DEFINE_PER_CPU(struct svm_cpu, svm_cpu);
static u32 svm_max_asid;

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

static void svm_init_vmcb(struct vmcb *vmcb, const struct axvcpu_setup *setup)
{
	struct vmcb_control_area *c = &vmcb->control;
	struct vmcb_save_area *s = &vmcb->save;
	static const u32 intercepts[] = {
		INTERCEPT_EXCEPTION_OFFSET + X86_TRAP_MC,
		INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI,
		INTERCEPT_CPUID, INTERCEPT_INVD, INTERCEPT_HLT,
		INTERCEPT_INVLPGA, INTERCEPT_SHUTDOWN,
		INTERCEPT_VMRUN, INTERCEPT_VMMCALL, INTERCEPT_VMLOAD,
		INTERCEPT_VMSAVE, INTERCEPT_STGI, INTERCEPT_CLGI,
		INTERCEPT_SKINIT, INTERCEPT_WBINVD, INTERCEPT_MONITOR,
		INTERCEPT_MWAIT, INTERCEPT_XSETBV, INTERCEPT_RDPRU,
	};
	u64 entry = 0xfffffff0ULL;
	int i;

	memset(vmcb, 0, PAGE_SIZE);
	for (i = 0; i < ARRAY_SIZE(intercepts); i++)
		svm_set_intercept(c, intercepts[i]);
	c->int_ctl = V_INTR_MASKING_MASK;

	if (setup && (setup->flags & AXVCPU_SETUP_ENTRY))
		entry = setup->entry;

	/* Real mode; CS:IP addresses entry (the reset vector by default). */
	svm_init_seg(&s->cs, SVM_SEG_CODE);
	s->cs.base = entry & ~0xffffULL;
	s->cs.selector = (s->cs.base >> 4) & 0xffff;
	s->rip = entry & 0xffff;
	svm_init_seg(&s->ds, SVM_SEG_DATA);
	svm_init_seg(&s->es, SVM_SEG_DATA);
	svm_init_seg(&s->ss, SVM_SEG_DATA);
	svm_init_seg(&s->fs, SVM_SEG_DATA);
	svm_init_seg(&s->gs, SVM_SEG_DATA);
	svm_init_seg(&s->ldtr, SVM_SEG_LDT);
	svm_init_seg(&s->tr, SVM_SEG_TSS16_BUSY);
	s->gdtr.limit = 0xffff;
	s->idtr.limit = 0xffff;
	s->efer = EFER_SVME;	/* VMRUN refuses a guest without it */
	s->cr0 = SVM_RESET_CR0;
	s->dr6 = SVM_RESET_DR6;
	s->dr7 = SVM_RESET_DR7;
	s->rflags = X86_EFLAGS_FIXED;
	s->g_pat = SVM_RESET_PAT;
}

static int svm_vcpu_create(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm;
	struct page *page;

	svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	if (!svm)
		return -ENOMEM;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page) {
		kfree(svm);
		return -ENOMEM;
	}
	svm->vmcb = page_address(page);
	svm->asid_cpu = -1;
	vcpu->arch = svm;
	return 0;
}

static void svm_vcpu_destroy(struct axvcpu_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	free_page((unsigned long)svm->vmcb);
	kfree(svm);
	vcpu->arch = NULL;
}

static int svm_vcpu_setup(struct axvcpu_vcpu *vcpu,
			  const struct axvcpu_setup *setup)
{
	svm_init_vmcb(to_svm(vcpu)->vmcb, setup);
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
	struct svm_vcpu *svm = to_svm(vcpu);

	memset(svm->vmcb, 0, PAGE_SIZE);
	svm->asid_cpu = -1;
	return 0;
}

static void svm_exit(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sc = per_cpu_ptr(&svm_cpu, cpu);

		if (sc->hsave)
			__free_page(sc->hsave);
		sc->hsave = NULL;
	}
}

static const struct axvcpu_arch_ops svm_ops = {
	.name = "svm",
	.run_pages = 2,		/* struct kvm_run, then the PIO data page */
	.hardware_enable = svm_hardware_enable,
	.hardware_disable = svm_hardware_disable,
	.vcpu_create = svm_vcpu_create,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_setup = svm_vcpu_setup,
	.vcpu_bind = svm_vcpu_bind,
	.vcpu_unbind = svm_vcpu_unbind,
	.vcpu_reset = svm_vcpu_reset,
	.exit = svm_exit,
};

const struct axvcpu_arch_ops *axvcpu_svm_probe(void)
{
	u64 vm_cr;
	int cpu;

	if (!boot_cpu_has(X86_FEATURE_NPT)) {
		pr_err("axvcpu: svm: the CPU has no nested paging\n");
		return ERR_PTR(-ENODEV);
	}
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

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sc = per_cpu_ptr(&svm_cpu, cpu);

		sc->hsave = alloc_pages_node(cpu_to_node(cpu),
					     GFP_KERNEL | __GFP_ZERO, 0);
		if (!sc->hsave) {
			svm_exit();
			return ERR_PTR(-ENOMEM);
		}
	}
	return &svm_ops;
}
