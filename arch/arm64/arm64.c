// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: the arm64 EL2 backend, for a kernel running at EL2 with VHE.
 *
 * The kernel must own EL2 with KVM off (kvm-arm.mode=none): loading
 * refuses with one message otherwise.  Per VM: the stage-2 tables and a
 * VMID (stage2.c).  Per vCPU: KVM's register file (struct kvm_regs), the
 * guest's EL1 system registers (regs.c) and its PSCI power state
 * (psci.c).  A guest runs with the module's EL2 vectors installed and the
 * host's interrupts masked at EL2; with HCR_EL2.IMO/FMO/AMO the host's
 * interrupts make it exit, and the host takes them once the vectors are
 * the kernel's again.
 */
#include <linux/arm-smccc.h>
#include <linux/cpu.h>
#include <linux/err.h>
#include <linux/kvm_host.h>
#include <linux/miscdevice.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <clocksource/arm_arch_timer.h>
#include <asm/daifflags.h>
#include <asm/esr.h>
#include <asm/exception.h>
#include <asm/kvm_arm.h>
#include <asm/neon.h>
#include <asm/sysreg.h>
#include <asm/traps.h>
#include <asm/virt.h>

#include "../../axvcpu_host.h"
#include "arm64.h"

/*
 * The guest's HCR_EL2, as KVM 6.1's HCR_GUEST_FLAGS less TWE (a WFE
 * spins in the guest): the ID registers (TID3), set/way cache operations
 * (TSW), ACTLR_EL1 (TACR) and the LORegion registers (TLOR) trap, answered
 * by sys_regs.c; HCR_VI / HCR_VF are added while an interrupt line is up
 * (or an AXVCPU_INJECT is delivered), HCR_VSE while an SError is.
 */
#define ARM64_GUEST_HCR	(HCR_VM | HCR_SWIO | HCR_IMO | HCR_FMO | HCR_AMO | \
			 HCR_TSC | HCR_TWI | HCR_RW | HCR_E2H | HCR_TIDCP | \
			 HCR_BSU_IS | HCR_FB | HCR_PTW | HCR_TSW | HCR_TACR | \
			 HCR_TLOR | HCR_TID3)
/*
 * With the RAS extension, as KVM: external aborts go to EL2 (TEA) and
 * the error record registers trap (TERR).
 */
#define ARM64_GUEST_HCR_RAS	(HCR_TEA | HCR_TERR)
/*
 * CPTR_EL2 (CPACR layout under VHE, but TAM is where CPTR_EL2 has it):
 * FP/SIMD on; SVE, SME, trace and the activity monitors trap.
 */
#define ARM64_GUEST_CPTR	(CPACR_EL1_FPEN_EL1EN | CPACR_EL1_FPEN_EL0EN | \
				 CPACR_EL1_TTA | CPTR_EL2_TAM)
/*
 * MDCR_EL2: the debug, PMU, statistical profiling and trace registers
 * are the host's.
 */
#define ARM64_GUEST_MDCR	(MDCR_EL2_TDA | MDCR_EL2_TDOSA | MDCR_EL2_TDRA | \
				 MDCR_EL2_TPM | MDCR_EL2_TPMCR | MDCR_EL2_TPMS | \
				 MDCR_EL2_TTRF)

/*
 * CNTHCTL_EL2 under VHE has the EL1 controls 10 bits up: the guest reads
 * the physical counter, as under KVM; its physical timer traps (it is
 * not switched, so the guest takes an undefined-instruction exception).
 */
#define ARM64_CNTHCTL_E2H_SHIFT	10
#define ARM64_GUEST_CNTHCTL	(CNTHCTL_EL1PCTEN << ARM64_CNTHCTL_E2H_SHIFT)
#define ARM64_CNTHCTL_EL1_MASK	((CNTHCTL_EL1PCTEN | CNTHCTL_EL1PCEN) << \
				 ARM64_CNTHCTL_E2H_SHIFT)

/* exit.vector when the guest was not entered. */
#define ARM64_EXIT_NONE		(~0ULL)		/* a kick or a signal came first */
#define ARM64_EXIT_POWER_OFF	(~1ULL)		/* PSCI: powered off */
#define ARM64_EXIT_TIMER	(~2ULL)		/* a timer level changed */
/* KVM's IPA sizes: KVM_VM_TYPE_ARM_IPA_SIZE, 32 bits up to stage 2's. */
#define ARM64_IPA_MIN		32
#define ARM64_IPA_MAX		40
#define ARM64_VECTOR_SYNC	0x400
#define ARM64_VECTOR_IRQ	0x480
#define ARM64_VECTOR_FIQ	0x500
#define ARM64_VECTOR_SERROR	0x580

/*
 * Spectre-BHB: the largest branch-loop count the kernel uses for any
 * affected core (proton-pack.c); enough for every one of them.
 */
#define ARM64_BHB_LOOPS_MAX	132

struct arm64_exit_conf axvcpu_arm64_exit_conf;
/* entry.S knows these. */
static_assert(offsetof(struct arm64_exit, serror) == 32);
static_assert(offsetof(struct arm64_exit_conf, bhb_loops) == 4);
static_assert(offsetof(struct arm64_exit_conf, ras) == 8);
static_assert(ARM64_BHB_LOOP == 1 && ARM64_BHB_CLRBHB == 2 &&
	      ARM64_BHB_FW == 3);
static u64 arm64_guest_hcr = ARM64_GUEST_HCR;

static int arm64_hardware_enable(void)
{
	write_sysreg(arm64_vtcr, vtcr_el2);
	write_sysreg(0, vttbr_el2);
	isb();
	return 0;
}

static void arm64_hardware_disable(void)
{
}

static int arm64_vm_init(struct axvcpu_vm *vm)
{
	struct arm64_vm *v;
	int r;

	v = kzalloc(sizeof(*v), GFP_KERNEL_ACCOUNT);
	if (!v)
		return -ENOMEM;
	spin_lock_init(&v->power_lock);
	v->ipa_bits = KVM_VM_TYPE_ARM_IPA_SIZE(vm->type) ?: ARM64_IPA_MAX;
	arm64_fw_init(v);
	r = arm64_stage2_init(v);
	if (r) {
		kfree(v);
		return r;
	}
	vm->arch = v;
	return 0;
}

/* KVM_CREATE_VM: 0 (40 bits) or an IPA size stage 2 covers. */
static int arm64_vm_type(unsigned long type)
{
	unsigned long ipa = KVM_VM_TYPE_ARM_IPA_SIZE(type);

	if (type & ~KVM_VM_TYPE_ARM_IPA_SIZE_MASK)
		return -EINVAL;
	if (ipa && (ipa < ARM64_IPA_MIN || ipa > ARM64_IPA_MAX))
		return -EINVAL;
	return 0;
}

/* As KVM: a slot past the VM's IPA size cannot be mapped. */
static int arm64_map(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	struct arm64_vm *v = vm->arch;

	if ((slot->gpa + slot->size) > BIT_ULL(v->ipa_bits))
		return -EFAULT;
	return arm64_stage2_map(vm, slot);
}

static void arm64_vm_destroy(struct axvcpu_vm *vm)
{
	arm64_stage2_free(vm->arch);
	kfree(vm->arch);
	vm->arch = NULL;
}

static int arm64_vcpu_create(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a;

	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return -ENOMEM;
	vcpu->arch = a;
	/* The VM lock is held: the vCPUs created before are KVM's index. */
	a->index = vcpu->vm->nr_vcpus;
	a->steal_base = ARM64_NO_STEAL;
	arm64_timer_init(vcpu);
	arm64_reset_vcpu(vcpu);
	return 0;
}

static void arm64_vcpu_destroy(struct axvcpu_vcpu *vcpu)
{
	arm64_timer_destroy(vcpu);
	kfree(vcpu->arch);
	vcpu->arch = NULL;
}

static int arm64_vcpu_setup(struct axvcpu_vcpu *vcpu,
			    const struct axvcpu_setup *setup)
{
	struct arm64_vcpu *a = to_arm64(vcpu);

	if (setup->flags & AXVCPU_SETUP_ENTRY)
		a->core.regs.pc = setup->entry;
	a->hypercall_exit = setup->flags & AXVCPU_SETUP_HYPERCALL;
	return 0;
}

static int arm64_vcpu_reset(struct axvcpu_vcpu *vcpu)
{
	arm64_reset_vcpu(vcpu);
	return 0;
}

/* --- entering the guest --------------------------------------------------- */

/* Host state the guest's shares registers with; interrupts off. */
struct arm64_host {
	u64 hcr, vbar, cptr, mdcr, cnthctl, tpidr, tpidrro, mdscr, cntvoff;
};

static void arm64_world_switch(struct axvcpu_vcpu *vcpu, u64 hcr)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	struct arm64_vm *v = vcpu->vm->arch;
	struct arm64_host h;
	unsigned long daif;

	axvcpu_arm64_fp_load(&a->core.fp_regs);
	/* Nothing may reach EL2 while its vectors are the module's. */
	daif = local_daif_save();
	h.hcr = read_sysreg(hcr_el2);
	h.vbar = read_sysreg(vbar_el2);
	h.cptr = read_sysreg(cpacr_el1);
	h.mdcr = read_sysreg(mdcr_el2);
	h.cnthctl = read_sysreg(cnthctl_el2);
	h.tpidr = read_sysreg(tpidr_el0);
	h.tpidrro = read_sysreg(tpidrro_el0);
	h.mdscr = read_sysreg(mdscr_el1);
	h.cntvoff = read_sysreg(cntvoff_el2);

	arm64_load_sysregs(a);
	arm64_vmid_update(v);
	write_sysreg(arm64_vttbr(v), vttbr_el2);
	write_sysreg(READ_ONCE(v->cntvoff), cntvoff_el2);
	/* KVM's syndrome for an SError it makes up: implementation defined. */
	if ((hcr & HCR_VSE) && axvcpu_arm64_exit_conf.ras)
		write_sysreg_s(ESR_ELx_ISV, SYS_VSESR_EL2);
	write_sysreg(ARM64_GUEST_CPTR, cpacr_el1);
	write_sysreg((h.mdcr & MDCR_EL2_HPMN_MASK) | ARM64_GUEST_MDCR,
		     mdcr_el2);
	write_sysreg((h.cnthctl & ~ARM64_CNTHCTL_EL1_MASK) | ARM64_GUEST_CNTHCTL,
		     cnthctl_el2);
	write_sysreg(hcr, hcr_el2);
	write_sysreg((unsigned long)axvcpu_arm64_vectors, vbar_el2);
	isb();

	/* Lockdep and RCU: the CPU is the guest's (KVM's order). */
	guest_state_enter_irqoff();
	axvcpu_arm64_enter(&a->core.regs, &a->exit,
			   a->ptrauth ? a->keys : NULL);
	guest_state_exit_irqoff();

	/* The guest took the SError, or it is still pending. */
	if (hcr & HCR_VSE)
		a->vserror = read_sysreg(hcr_el2) & HCR_VSE;
	write_sysreg(h.hcr, hcr_el2);
	write_sysreg(h.vbar, vbar_el2);
	isb();
	arm64_save_sysregs(a);
	write_sysreg(h.cptr, cpacr_el1);
	write_sysreg(h.mdcr, mdcr_el2);
	write_sysreg(h.cnthctl, cnthctl_el2);
	write_sysreg(h.tpidr, tpidr_el0);
	write_sysreg(h.tpidrro, tpidrro_el0);
	write_sysreg(h.mdscr, mdscr_el1);
	write_sysreg(h.cntvoff, cntvoff_el2);
	isb();
	local_daif_restore(daif);
	axvcpu_arm64_fp_save(&a->core.fp_regs);
}

/*
 * Preemption and interrupts off, on the vCPU's CPU, the current vCPU set.
 * The guest's FP/SIMD registers need the host's saved first, which
 * kernel_neon_begin() does only with interrupts on: a kick or a signal
 * that comes meanwhile is seen before entry.
 */
static int arm64_vcpu_run(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	u64 hcr = arm64_guest_hcr;
	unsigned long lines;

	/* As KVM: no guest before KVM_ARM_VCPU_INIT. */
	if (!a->initialized)
		return -ENOEXEC;
	if (READ_ONCE(a->power_off) || READ_ONCE(a->on_pending)) {
		a->exit.vector = ARM64_EXIT_POWER_OFF;
		return 0;
	}
	/* Userspace hears of a timer level before the guest runs on. */
	if (arm64_timer_notify(vcpu)) {
		a->exit.vector = ARM64_EXIT_TIMER;
		return 0;
	}
	arm64_timer_arm(vcpu);
	local_irq_enable();
	kernel_neon_begin();
	local_irq_disable();
	if (test_bit(AXVCPU_REQ_KICK, &vcpu->requests) ||
	    signal_pending(current)) {
		a->exit.vector = ARM64_EXIT_NONE;
		goto out_neon;
	}
	/* KVM_IRQ_LINE's levels, for as long as they are up. */
	lines = READ_ONCE(a->lines);
	if (lines & ARM64_LINE_IRQ)
		hcr |= HCR_VI;
	if (lines & ARM64_LINE_FIQ)
		hcr |= HCR_VF;
	/*
	 * An AXVCPU_INJECT for a guest that takes it: it does, before its
	 * first instruction, unless a host interrupt exits first (see
	 * arm64_irq_taken()).
	 */
	a->irq_delivered = !bitmap_empty(vcpu->irq_pending, AXVCPU_NR_IRQS) &&
			   !(a->core.regs.pstate & PSR_I_BIT);
	if (a->irq_delivered) {
		hcr |= HCR_VI;
		a->entry_pc = a->core.regs.pc;
		a->entry_elr = a->core.elr_el1;
	}
	if (a->vserror)
		hcr |= HCR_VSE;
	/* Its own keys switched: pointer authentication needs no trap. */
	if (a->ptrauth)
		hcr |= HCR_API | HCR_APK;
	arm64_world_switch(vcpu, hcr);
out_neon:
	local_irq_enable();
	kernel_neon_end();
	local_irq_disable();
	return 0;
}

/* --- exits ---------------------------------------------------------------- */

static void arm64_skip_insn(struct arm64_vcpu *a)
{
	a->core.regs.pc += 4;
}

/* An undefined-instruction exception, taken by the guest at EL1. */
void arm64_inject_undef(struct arm64_vcpu *a)
{
	u64 pstate = a->core.regs.pstate, off;

	switch (pstate & PSR_MODE_MASK) {
	case PSR_MODE_EL1h:
		off = 0x200;
		break;
	case PSR_MODE_EL1t:
		off = 0;
		break;
	default:
		/* From EL0: AArch64 or AArch32. */
		off = pstate & PSR_MODE32_BIT ? 0x600 : 0x400;
		break;
	}
	a->core.elr_el1 = a->core.regs.pc;
	a->core.spsr[KVM_SPSR_EL1] = pstate;
	a->sys[SR_ESR] = (ESR_ELx_EC_UNKNOWN << ESR_ELx_EC_SHIFT) | ESR_ELx_IL;
	a->core.regs.pc = a->sys[SR_VBAR] + off;
	a->core.regs.pstate = PSR_MODE_EL1h | PSR_D_BIT | PSR_A_BIT |
			      PSR_I_BIT | PSR_F_BIT;
}

static u64 arm64_fault_ipa(const struct arm64_exit *e)
{
	return ((e->hpfar >> 4) << PAGE_SHIFT) | (e->far & ~PAGE_MASK);
}

static int arm64_internal_error(struct axvcpu_vcpu *vcpu, u32 suberror)
{
	const struct arm64_exit *e = &to_arm64(vcpu)->exit;
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 4;
	run->internal.data[0] = e->esr;
	run->internal.data[1] = e->far;
	run->internal.data[2] = arm64_fault_ipa(e);
	run->internal.data[3] = e->vector;
	return AXVCPU_EXIT_USER;
}

/*
 * A synchronous external abort (HCR_EL2.TEA), or a parity or ECC error,
 * on the guest's access or its table walk: KVM asks APEI first (which a
 * module cannot: apei_claim_sea() is not exported), and when nothing
 * claims it, as on every machine without firmware-first handling, makes
 * it the guest's as a virtual SError.  Never the host's.
 */
static bool arm64_abort_is_sea(u64 esr)
{
	switch (esr & ESR_ELx_FSC) {
	case FSC_SEA:
	case FSC_SEA_TTW0:
	case FSC_SEA_TTW1:
	case FSC_SEA_TTW2:
	case FSC_SEA_TTW3:
	case FSC_SECC:
	case FSC_SECC_TTW0:
	case FSC_SECC_TTW1:
	case FSC_SECC_TTW2:
	case FSC_SECC_TTW3:
		return true;
	default:
		return false;
	}
}

/*
 * An SError the guest exited with, or that was pending as it exited
 * (entry.S catches it so that the host never takes it as its own), judged
 * as KVM's kvm_handle_guest_serror(): a RAS error that was corrected or
 * not yet consumed is dropped; anything else becomes the guest's virtual
 * SError.  KVM panics the host on an uncontained RAS error; a module
 * cannot reach arm64_serror_panic(), and the error came from the guest's
 * context, so the guest takes it and the host says so.
 */
static void arm64_guest_serror(struct axvcpu_vcpu *vcpu, u64 esr)
{
	unsigned long aet;
	bool ras;

	preempt_disable();	/* arm64_is_ras_serror() asks this CPU */
	ras = arm64_is_ras_serror(esr);
	aet = arm64_ras_serror_get_severity(esr);
	preempt_enable();
	if (ras && (aet == ESR_ELx_AET_CE || aet == ESR_ELx_AET_UEO))
		return;
	if (ras)
		pr_err_ratelimited("axvcpu: arm64: vm %u vcpu %u: uncontained SError %#llx while the guest ran; the guest takes it\n",
				   vcpu->vm->id, vcpu->vcpu_id, esr);
	to_arm64(vcpu)->vserror = true;
}

/*
 * A stage-2 abort that memory.c resolves: a write to a logged page, or an
 * access a slot allows by now.  As KVM, a walk of the guest's own tables
 * counts as a write on a permission fault (the hardware setting its
 * access or dirty flag), and as a read otherwise.
 */
static bool arm64_abort_retry(struct axvcpu_vcpu *vcpu, u64 esr)
{
	bool write = (esr & ESR_ELx_S1PTW) ?
		     (esr & ESR_ELx_FSC_TYPE) == ESR_ELx_FSC_PERM :
		     ESR_ELx_EC(esr) == ESR_ELx_EC_DABT_LOW &&
		     (esr & ESR_ELx_WNR);

	return axvcpu_stage2_fault(vcpu->vm,
				   arm64_fault_ipa(&to_arm64(vcpu)->exit),
				   write);
}

/* A data abort at stage 2: no slot, or a write to a read-only one. */
static int arm64_exit_dabt(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	u64 esr = a->exit.esr, val = 0;
	struct kvm_run *run = vcpu->run;
	unsigned int reg;

	if (arm64_abort_is_sea(esr)) {
		a->vserror = true;
		return AXVCPU_EXIT_CONTINUE;
	}
	if (arm64_abort_retry(vcpu, esr))
		return AXVCPU_EXIT_CONTINUE;
	if (esr & ESR_ELx_S1PTW)
		return arm64_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION);
	/*
	 * No syndrome to decode (a load pair, a writeback): as KVM, the
	 * VMM's if it asked (KVM_CAP_ARM_NISV_TO_USER), else ENOSYS.
	 */
	if (!(esr & ESR_ELx_ISV)) {
		if (!READ_ONCE(((struct arm64_vm *)vcpu->vm->arch)->nisv_to_user))
			return -ENOSYS;
		run->exit_reason = KVM_EXIT_ARM_NISV;
		run->arm_nisv.esr_iss = esr & (ESR_ELx_CM | ESR_ELx_WNR |
					       ESR_ELx_FSC);
		run->arm_nisv.fault_ipa = arm64_fault_ipa(&a->exit);
		return AXVCPU_EXIT_USER;
	}
	reg = (esr & ESR_ELx_SRT_MASK) >> ESR_ELx_SRT_SHIFT;
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = arm64_fault_ipa(&a->exit);
	run->mmio.len = 1U << ((esr & ESR_ELx_SAS) >> ESR_ELx_SAS_SHIFT);
	run->mmio.is_write = !!(esr & ESR_ELx_WNR);
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (run->mmio.is_write && reg != 31)	/* 31: xzr */
		val = a->core.regs.regs[reg];
	memcpy(run->mmio.data, &val, run->mmio.len);
	/* As KVM: the PC moves on when the next KVM_RUN completes it. */
	a->pending = ARM64_PENDING_MMIO;
	a->mmio_write = run->mmio.is_write;
	a->mmio_reg = reg;
	a->mmio_len = run->mmio.len;
	a->mmio_sign = esr & ESR_ELx_SSE;
	a->mmio_sf = esr & ESR_ELx_SF;
	return AXVCPU_EXIT_USER;
}

/*
 * The MMIO access completes, if userspace left the exit as it was (KVM's
 * rule): a read's register gets userspace's data, the PC moves on.
 */
static void arm64_complete_mmio(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	unsigned int bits = a->mmio_len * 8;
	u64 val = 0;

	if (vcpu->run->exit_reason != KVM_EXIT_MMIO)
		return;
	arm64_skip_insn(a);
	if (a->mmio_write)
		return;
	memcpy(&val, vcpu->run->mmio.data, a->mmio_len);
	if (a->mmio_sign && bits < 64)
		val = sign_extend64(val, bits - 1);
	if (!a->mmio_sf)
		val &= U32_MAX;
	if (a->mmio_reg != 31)
		a->core.regs.regs[a->mmio_reg] = val;
}

/* KVM's hypercall exit: the function in x0, its arguments in x1-x6. */
static int arm64_exit_hypercall(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	struct kvm_run *run = vcpu->run;
	int i;

	run->exit_reason = KVM_EXIT_HYPERCALL;
	run->hypercall.nr = a->core.regs.regs[0];
	for (i = 0; i < 6; i++)
		run->hypercall.args[i] = a->core.regs.regs[i + 1];
	run->hypercall.ret = 0;
	axvcpu_hypercall_longmode(run, 1);
	a->pending = ARM64_PENDING_HYPERCALL;
	return AXVCPU_EXIT_USER;
}

static int arm64_exit_sync(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	u64 esr = a->exit.esr;
	int r;

	switch (ESR_ELx_EC(esr)) {
	case ESR_ELx_EC_HVC64:
		/* The return address is past the HVC already. */
		r = arm64_handle_psci(vcpu, false);
		if (r == -ENOENT)
			r = arm64_handle_smccc(vcpu);
		return r == -ENOENT ? arm64_exit_hypercall(vcpu) : r;
	case ESR_ELx_EC_SMC64:
		/* A trapped SMC returns to itself. */
		arm64_skip_insn(a);
		r = arm64_handle_psci(vcpu, true);
		if (r != -ENOENT)
			return r;
		a->core.regs.regs[0] = ~0ULL;	/* SMCCC: not supported */
		return AXVCPU_EXIT_CONTINUE;
	case ESR_ELx_EC_WFx:
		arm64_skip_insn(a);
		if (esr & ESR_ELx_WFx_ISS_WFE)
			return AXVCPU_EXIT_CONTINUE;
		/* The timers as the guest left them wake it. */
		arm64_timer_arm(vcpu);
		return AXVCPU_EXIT_HALT;
	case ESR_ELx_EC_DABT_LOW:
		return arm64_exit_dabt(vcpu);
	case ESR_ELx_EC_IABT_LOW:
		if (arm64_abort_is_sea(esr)) {
			a->vserror = true;
			return AXVCPU_EXIT_CONTINUE;
		}
		if (arm64_abort_retry(vcpu, esr))
			return AXVCPU_EXIT_CONTINUE;
		/* Code outside the guest's memory cannot be run. */
		return arm64_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION);
	case ESR_ELx_EC_SYS64:
		return arm64_exit_sysreg(vcpu);
	case ESR_ELx_EC_UNKNOWN:
	case ESR_ELx_EC_CP15_32:	/* AArch32 EL0's trapped accesses */
	case ESR_ELx_EC_CP15_64:
	case ESR_ELx_EC_CP14_MR:
	case ESR_ELx_EC_CP14_LS:
	case ESR_ELx_EC_CP14_64:
	case ESR_ELx_EC_CP10_ID:
	case ESR_ELx_EC_SVE:
	case ESR_ELx_EC_PAC:
	case ESR_ELx_EC_FP_ASIMD:
		/* Registers and instructions the guest does not have. */
		arm64_inject_undef(a);
		return AXVCPU_EXIT_CONTINUE;
	default:
		return arm64_internal_error(vcpu,
				KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
	}
}

/* For the axvcpu_exit tracepoint: the ESR of a synchronous exit, else 0. */
static u64 arm64_exit_code(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);

	return a->exit.vector == ARM64_VECTOR_SYNC ? a->exit.esr : 0;
}

/*
 * Whether the guest took the AXVCPU_INJECT interrupt it was entered with:
 * unmasked and pending, it is taken before the first instruction, so a
 * guest that ran at all took it; one that did not move was stopped by a
 * host interrupt first (QEMU's TCG takes a physical IRQ before a virtual
 * one), and keeps it queued.  ELR_EL1 tells apart a guest that took it
 * and came back to the same instruction.
 */
static bool arm64_irq_taken(const struct arm64_vcpu *a)
{
	return a->core.regs.pc != a->entry_pc ||
	       a->core.elr_el1 != a->entry_elr;
}

static int arm64_handle_exit(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	struct kvm_run *run = vcpu->run;
	unsigned long vec;

	/* The interrupt was taken as the guest was entered, if it was. */
	if (a->irq_delivered) {
		a->irq_delivered = false;
		vec = find_last_bit(vcpu->irq_pending, AXVCPU_NR_IRQS);
		if (vec < AXVCPU_NR_IRQS && arm64_irq_taken(a))
			clear_bit(vec, vcpu->irq_pending);
	}

	/* Only a run of set/way operations shares one clean of the memory. */
	if (a->exit.vector != ARM64_VECTOR_SYNC ||
	    ESR_ELx_EC(a->exit.esr) != ESR_ELx_EC_SYS64)
		a->sw_flushed = false;
	/* entry.S caught it: an ESR_EL2, or with RAS a DISR_EL1. */
	if (a->exit.serror) {
		u64 esr = a->exit.serror;

		if (ESR_ELx_EC(esr) != ESR_ELx_EC_SERROR)
			esr = disr_to_esr(esr);
		arm64_guest_serror(vcpu, esr);
		a->exit.serror = 0;
	}

	switch (a->exit.vector) {
	case ARM64_EXIT_NONE:
	case ARM64_VECTOR_IRQ:
	case ARM64_VECTOR_FIQ:
		return AXVCPU_EXIT_CONTINUE;
	case ARM64_EXIT_POWER_OFF:
		return arm64_power_on(vcpu);
	case ARM64_EXIT_TIMER:
		/* KVM's way to tell the VMM: KVM_RUN fails with EINTR. */
		run->exit_reason = KVM_EXIT_INTR;
		return -EINTR;
	case ARM64_VECTOR_SYNC:
		return arm64_exit_sync(vcpu);
	case ARM64_VECTOR_SERROR:
		arm64_guest_serror(vcpu, a->exit.esr);
		return AXVCPU_EXIT_CONTINUE;
	default:
		/* An exception at EL2 itself, or from an AArch32 guest. */
		pr_err_ratelimited("axvcpu: arm64: vm %u vcpu %u: unexpected EL2 vector %#llx (ESR %#llx)\n",
				   vcpu->vm->id, vcpu->vcpu_id, a->exit.vector,
				   a->exit.esr);
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = a->exit.esr;
		run->fail_entry.cpu = vcpu->bound_cpu;
		return AXVCPU_EXIT_FAILED;
	}
}

/* KVM_RUN begins: finish what userspace answered. */
static int arm64_run_begin(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);

	WRITE_ONCE(((struct arm64_vm *)vcpu->vm->arch)->has_run, true);
	arm64_pvtime_update(vcpu);
	switch (a->pending) {
	case ARM64_PENDING_MMIO:
		arm64_complete_mmio(vcpu);
		break;
	case ARM64_PENDING_HYPERCALL:
		a->core.regs.regs[0] = vcpu->run->hypercall.ret;
		break;
	case ARM64_PENDING_NONE:
		break;
	}
	a->pending = ARM64_PENDING_NONE;
	return AXVCPU_EXIT_CONTINUE;
}

/* KVM_RUN returns: the timer levels userspace sees; no hrtimer left. */
static void arm64_run_end(struct axvcpu_vcpu *vcpu)
{
	arm64_timer_cancel(vcpu);
	arm64_timer_update_run(vcpu);
}

/* As KVM 6.1 arm64 answers, for what axvcpu implements. */
static int arm64_check_extension(long cap)
{
	switch (cap) {
	case KVM_CAP_ONE_REG:
	case KVM_CAP_ARM_PSCI:
	case KVM_CAP_ARM_PSCI_0_2:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_ARM_USER_IRQ:
	case KVM_CAP_ARM_IRQ_LINE_LAYOUT_2:
	case KVM_CAP_ARM_NISV_TO_USER:
	case KVM_CAP_ARM_SYSTEM_SUSPEND:
	case KVM_CAP_VCPU_ATTRIBUTES:
	case KVM_CAP_PTP_KVM:
		return 1;
	case KVM_CAP_STEAL_TIME:
		return arm64_pvtime_supported();
	case KVM_CAP_ARM_VM_IPA_SIZE:
		return ARM64_IPA_MAX;
	case KVM_CAP_ARM_PTRAUTH_ADDRESS:
	case KVM_CAP_ARM_PTRAUTH_GENERIC:
		return arm64_ptrauth_supported();
	default:
		return 0;
	}
}

static const struct axvcpu_arch_ops arm64_ops = {
	.name = "arm64-el2",
	.run_pages = 1,		/* struct kvm_run */
	.hardware_enable = arm64_hardware_enable,
	.hardware_disable = arm64_hardware_disable,
	.vm_init = arm64_vm_init,
	.vm_destroy = arm64_vm_destroy,
	.map = arm64_map,
	.unmap = arm64_stage2_unmap,
	.write_protect = arm64_stage2_write_protect,
	.retry_fault = arm64_stage2_retry_fault,
	.vcpu_create = arm64_vcpu_create,
	.vcpu_destroy = arm64_vcpu_destroy,
	.vcpu_setup = arm64_vcpu_setup,
	.vcpu_run = arm64_vcpu_run,
	.vcpu_reset = arm64_vcpu_reset,
	.vcpu_handle_exit = arm64_handle_exit,
	.vcpu_exit_code = arm64_exit_code,
	.vcpu_run_begin = arm64_run_begin,
	.vcpu_run_end = arm64_run_end,
	.kvm_halt_policy = AXVCPU_HALT_BLOCK,
	.vm_type = arm64_vm_type,
	.vcpu_runnable = arm64_vcpu_runnable,
	.vcpu_ioctl = arm64_vcpu_ioctl,
	.vm_ioctl = arm64_vm_ioctl,
	.check_extension = arm64_check_extension,
};

/*
 * What the exit path does here.  Spectre-BHB, as the kernel chose for
 * itself (spectre_bhb_enable_mitigation(), whose choice is not exported):
 * nothing where the CPUs are not affected, where mitigations are off or
 * where they clear the history on an exception (ECBHB); else CLRBHB
 * where every CPU has it; else the firmware's ARCH_WORKAROUND_3 where it
 * is implemented; else the branch loop, with the largest count.
 */
static void arm64_exit_setup(void)
{
	u64 mmfr1 = read_sanitised_ftr_reg(SYS_ID_AA64MMFR1_EL1);
	u64 isar2 = read_sanitised_ftr_reg(SYS_ID_AA64ISAR2_EL1);
	struct arm64_exit_conf *c = &axvcpu_arm64_exit_conf;
	struct arm_smccc_res res;

	c->ras = cpus_have_cap(ARM64_HAS_RAS_EXTN);
	if (c->ras)
		arm64_guest_hcr |= ARM64_GUEST_HCR_RAS;

	c->bhb = ARM64_BHB_NONE;
	if (!cpus_have_cap(ARM64_SPECTRE_BHB) || cpu_mitigations_off() ||
	    (mmfr1 & ID_AA64MMFR1_EL1_ECBHB))
		return;
	if (isar2 & ID_AA64ISAR2_EL1_CLRBHB) {
		c->bhb = ARM64_BHB_CLRBHB;
		return;
	}
	/* At EL2 the firmware is reached by SMC only. */
	if (arm_smccc_1_1_get_conduit() == SMCCC_CONDUIT_SMC) {
		arm_smccc_1_1_smc(ARM_SMCCC_ARCH_FEATURES_FUNC_ID,
				  ARM_SMCCC_ARCH_WORKAROUND_3, &res);
		if ((int)res.a0 >= 0) {
			c->bhb = ARM64_BHB_FW;
			return;
		}
	}
	c->bhb = ARM64_BHB_LOOP;
	c->bhb_loops = ARM64_BHB_LOOPS_MAX;
}

/*
 * KVM that initialized owns /dev/kvm's fixed minor; with
 * kvm-arm.mode=none it never registers it.  Taking the minor for a moment
 * tells the two apart; its exported state says nothing of it.
 */
static bool arm64_kvm_active(void)
{
	static struct miscdevice probe = {
		.minor = KVM_MINOR,
		.name = "axvcpu-kvm-probe",
	};

	if (misc_register(&probe))
		return true;
	misc_deregister(&probe);
	return false;
}

const struct axvcpu_arch_ops *axvcpu_arch_probe(void)
{
	int r;

	if (!is_kernel_in_hyp_mode() || arm64_kvm_active()) {
		pr_err("axvcpu: arm64: needs the kernel at EL2 with VHE and KVM off (boot with kvm-arm.mode=none)\n");
		return ERR_PTR(-ENODEV);
	}
	r = arm64_stage2_setup();
	if (r)
		return ERR_PTR(r);
	r = arm64_sys_regs_setup();
	if (r)
		return ERR_PTR(r);
	arm64_exit_setup();
	return &arm64_ops;
}
