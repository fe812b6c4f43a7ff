// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: KVM's arm64 vCPU ABI: reset state, KVM_ARM_VCPU_INIT,
 * KVM_ARM_PREFERRED_TARGET, KVM_GET/SET_ONE_REG and KVM_GET_REG_LIST; and
 * moving the guest's EL1 system registers in and out of the CPU.
 *
 * Under VHE the kernel runs at EL2 and the EL1 registers are free for the
 * guest: their _EL12 (_EL02) encodings reach them from EL2.  Those without
 * such an alias (TPIDR_EL1, PAR_EL1, CSSELR_EL1) are not redirected and
 * are reached directly; the EL0 thread registers and MDSCR_EL1 are the
 * host's too, and are switched by the caller.
 */
#include <linux/kvm.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/esr.h>
#include <asm/kvm.h>
#include <asm/ptrace.h>
#include <asm/sysreg.h>

#include "../../axvcpu_host.h"
#include "arm64.h"

/* SCTLR_EL1 after reset, as KVM gives it: MMU and caches off, RES1 bits. */
#define ARM64_RESET_SCTLR	0x00c50078ULL
#define ARM64_RESET_PSTATE	(PSR_MODE_EL1h | PSR_A_BIT | PSR_I_BIT | \
				 PSR_F_BIT | PSR_D_BIT)
#define ARM64_PTRAUTH		(BIT(KVM_ARM_VCPU_PTRAUTH_ADDRESS) | \
				 BIT(KVM_ARM_VCPU_PTRAUTH_GENERIC))
#define ARM64_FEATURES		(BIT(KVM_ARM_VCPU_POWER_OFF) | \
				 BIT(KVM_ARM_VCPU_PSCI_0_2) | ARM64_PTRAUTH)
/* Feature bits KVM 6.1 knows (KVM_VCPU_MAX_FEATURES). */
#define ARM64_KNOWN_FEATURES	7

/* The KVM_GET/SET_ONE_REG id of each switched register; 0: none. */
static const u64 arm64_sysreg_ids[NR_ARM64_SYSREGS] = {
	[SR_SCTLR] = ARM64_SYS_REG(3, 0, 1, 0, 0),
	[SR_CPACR] = ARM64_SYS_REG(3, 0, 1, 0, 2),
	[SR_TTBR0] = ARM64_SYS_REG(3, 0, 2, 0, 0),
	[SR_TTBR1] = ARM64_SYS_REG(3, 0, 2, 0, 1),
	[SR_TCR] = ARM64_SYS_REG(3, 0, 2, 0, 2),
	[SR_ESR] = ARM64_SYS_REG(3, 0, 5, 2, 0),
	[SR_AFSR0] = ARM64_SYS_REG(3, 0, 5, 1, 0),
	[SR_AFSR1] = ARM64_SYS_REG(3, 0, 5, 1, 1),
	[SR_FAR] = ARM64_SYS_REG(3, 0, 6, 0, 0),
	[SR_MAIR] = ARM64_SYS_REG(3, 0, 10, 2, 0),
	[SR_AMAIR] = ARM64_SYS_REG(3, 0, 10, 3, 0),
	[SR_VBAR] = ARM64_SYS_REG(3, 0, 12, 0, 0),
	[SR_CONTEXTIDR] = ARM64_SYS_REG(3, 0, 13, 0, 1),
	[SR_CNTKCTL] = ARM64_SYS_REG(3, 0, 14, 1, 0),
	[SR_TPIDR_EL1] = ARM64_SYS_REG(3, 0, 13, 0, 4),
	[SR_TPIDR_EL0] = ARM64_SYS_REG(3, 3, 13, 0, 2),
	[SR_TPIDRRO_EL0] = ARM64_SYS_REG(3, 3, 13, 0, 3),
	[SR_PAR] = ARM64_SYS_REG(3, 0, 7, 4, 0),
	[SR_MDSCR] = ARM64_SYS_REG(2, 0, 0, 2, 2),
	[SR_CSSELR] = ARM64_SYS_REG(3, 2, 0, 0, 0),
	[SR_MPIDR] = ARM64_SYS_REG(3, 0, 0, 0, 5),
	[SR_CNTV_CTL] = KVM_REG_ARM_TIMER_CTL,
	[SR_CNTV_CVAL] = KVM_REG_ARM_TIMER_CVAL,
};

/* The pointer authentication keys' ids, in arm64_vcpu.keys order. */
static const u64 arm64_key_ids[ARM64_NR_KEYS] = {
	ARM64_SYS_REG(3, 0, 2, 1, 0), ARM64_SYS_REG(3, 0, 2, 1, 1),	/* APIA */
	ARM64_SYS_REG(3, 0, 2, 1, 2), ARM64_SYS_REG(3, 0, 2, 1, 3),	/* APIB */
	ARM64_SYS_REG(3, 0, 2, 2, 0), ARM64_SYS_REG(3, 0, 2, 2, 1),	/* APDA */
	ARM64_SYS_REG(3, 0, 2, 2, 2), ARM64_SYS_REG(3, 0, 2, 2, 3),	/* APDB */
	ARM64_SYS_REG(3, 0, 2, 3, 0), ARM64_SYS_REG(3, 0, 2, 3, 1),	/* APGA */
};

/* Both kinds, on every CPU, as KVM wants them for the features. */
bool arm64_ptrauth_supported(void)
{
	return system_supports_address_auth() &&
	       system_supports_generic_auth();
}

/* KVM's MPIDR for a vCPU id: Aff0 takes 4 bits, as the GIC wants. */
u64 arm64_vcpu_mpidr(const struct axvcpu_vcpu *vcpu)
{
	u32 id = vcpu->vcpu_id;

	return BIT_ULL(31) | (id & 0xf) | (((id >> 4) & 0xff) << 8) |
	       (((id >> 12) & 0xff) << 16);
}

/* Interrupts off, on the CPU that enters the guest. */
void arm64_load_sysregs(const struct arm64_vcpu *a)
{
	const u64 *s = a->sys;

	write_sysreg_s(s[SR_SCTLR], SYS_SCTLR_EL12);
	write_sysreg_s(s[SR_CPACR], SYS_CPACR_EL12);
	write_sysreg_s(s[SR_TTBR0], SYS_TTBR0_EL12);
	write_sysreg_s(s[SR_TTBR1], SYS_TTBR1_EL12);
	write_sysreg_s(s[SR_TCR], SYS_TCR_EL12);
	write_sysreg_s(s[SR_ESR], SYS_ESR_EL12);
	write_sysreg_s(s[SR_AFSR0], SYS_AFSR0_EL12);
	write_sysreg_s(s[SR_AFSR1], SYS_AFSR1_EL12);
	write_sysreg_s(s[SR_FAR], SYS_FAR_EL12);
	write_sysreg_s(s[SR_MAIR], SYS_MAIR_EL12);
	write_sysreg_s(s[SR_AMAIR], SYS_AMAIR_EL12);
	write_sysreg_s(s[SR_VBAR], SYS_VBAR_EL12);
	write_sysreg_s(s[SR_CONTEXTIDR], SYS_CONTEXTIDR_EL12);
	write_sysreg_s(s[SR_CNTKCTL], SYS_CNTKCTL_EL12);
	write_sysreg_s(s[SR_CNTV_CVAL], SYS_CNTV_CVAL_EL02);
	write_sysreg_s(s[SR_CNTV_CTL], SYS_CNTV_CTL_EL02);
	write_sysreg(s[SR_TPIDR_EL1], tpidr_el1);
	write_sysreg(s[SR_TPIDR_EL0], tpidr_el0);
	write_sysreg(s[SR_TPIDRRO_EL0], tpidrro_el0);
	write_sysreg(s[SR_PAR], par_el1);
	write_sysreg(s[SR_MDSCR], mdscr_el1);
	write_sysreg(s[SR_CSSELR], csselr_el1);
	write_sysreg(s[SR_MPIDR], vmpidr_el2);
	write_sysreg(a->core.sp_el1, sp_el1);
	write_sysreg_s(a->core.elr_el1, SYS_ELR_EL12);
	write_sysreg_s(a->core.spsr[KVM_SPSR_EL1], SYS_SPSR_EL12);
}

void arm64_save_sysregs(struct arm64_vcpu *a)
{
	u64 *s = a->sys;

	s[SR_SCTLR] = read_sysreg_s(SYS_SCTLR_EL12);
	s[SR_CPACR] = read_sysreg_s(SYS_CPACR_EL12);
	s[SR_TTBR0] = read_sysreg_s(SYS_TTBR0_EL12);
	s[SR_TTBR1] = read_sysreg_s(SYS_TTBR1_EL12);
	s[SR_TCR] = read_sysreg_s(SYS_TCR_EL12);
	s[SR_ESR] = read_sysreg_s(SYS_ESR_EL12);
	s[SR_AFSR0] = read_sysreg_s(SYS_AFSR0_EL12);
	s[SR_AFSR1] = read_sysreg_s(SYS_AFSR1_EL12);
	s[SR_FAR] = read_sysreg_s(SYS_FAR_EL12);
	s[SR_MAIR] = read_sysreg_s(SYS_MAIR_EL12);
	s[SR_AMAIR] = read_sysreg_s(SYS_AMAIR_EL12);
	s[SR_VBAR] = read_sysreg_s(SYS_VBAR_EL12);
	s[SR_CONTEXTIDR] = read_sysreg_s(SYS_CONTEXTIDR_EL12);
	s[SR_CNTKCTL] = read_sysreg_s(SYS_CNTKCTL_EL12);
	s[SR_CNTV_CVAL] = read_sysreg_s(SYS_CNTV_CVAL_EL02);
	s[SR_CNTV_CTL] = read_sysreg_s(SYS_CNTV_CTL_EL02);
	/* The host has no use for the guest's timer: it must not fire. */
	write_sysreg_s(0, SYS_CNTV_CTL_EL02);
	s[SR_TPIDR_EL1] = read_sysreg(tpidr_el1);
	s[SR_TPIDR_EL0] = read_sysreg(tpidr_el0);
	s[SR_TPIDRRO_EL0] = read_sysreg(tpidrro_el0);
	s[SR_PAR] = read_sysreg(par_el1);
	s[SR_MDSCR] = read_sysreg(mdscr_el1);
	s[SR_CSSELR] = read_sysreg(csselr_el1);
	a->core.sp_el1 = read_sysreg(sp_el1);
	a->core.elr_el1 = read_sysreg_s(SYS_ELR_EL12);
	a->core.spsr[KVM_SPSR_EL1] = read_sysreg_s(SYS_SPSR_EL12);
}

/* KVM's reset state: EL1h, DAIF masked, MMU off, everything else 0. */
void arm64_reset_vcpu(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);

	memset(&a->core, 0, sizeof(a->core));
	memset(a->sys, 0, sizeof(a->sys));
	memset(a->keys, 0, sizeof(a->keys));
	a->core.regs.pstate = ARM64_RESET_PSTATE;
	a->sys[SR_SCTLR] = ARM64_RESET_SCTLR;
	a->sys[SR_MPIDR] = arm64_vcpu_mpidr(vcpu);
	a->pending = ARM64_PENDING_NONE;
	a->irq_delivered = false;
	a->vserror = false;
	a->sw_flushed = false;
	bitmap_zero(vcpu->irq_pending, AXVCPU_NR_IRQS);
}

/* --- trapped system registers and instructions --------------------------- */

/*
 * What HCR_EL2's TSW, TACR, TLOR and TERR make trap, answered as KVM 6.1
 * answers them (arch/arm64/kvm/sys_regs.c); anything else the guest
 * traps on is an undefined instruction.
 */
struct arm64_sysreg_op {
	bool read;
	u64 val;
};

struct arm64_sysreg_trap {
	u32 enc;			/* sys_reg() / sys_insn() */
	bool (*access)(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op);
};

static u64 arm64_host_actlr;
static bool arm64_has_lor;

void arm64_sysregs_setup(void)
{
	u64 mmfr1 = read_sanitised_ftr_reg(SYS_ID_AA64MMFR1_EL1);

	/* ACTLR_EL1 is not an _EL12 alias: at EL2 this is EL1's own. */
	arm64_host_actlr = read_sysreg(actlr_el1);
	arm64_has_lor = mmfr1 & ID_AA64MMFR1_EL1_LO_MASK;
}

static bool trap_raz_wi(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op)
{
	op->val = 0;
	return true;
}

/* The host's value to read, writes ignored: it is the CPU's, not the guest's. */
static bool trap_actlr(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op)
{
	if (op->read)
		op->val = arm64_host_actlr;
	return true;
}

/* LORegions: none to offer, so RAZ/WI where the CPU has them. */
static bool trap_lor(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op)
{
	return arm64_has_lor && trap_raz_wi(vcpu, op);
}

static bool trap_lorid(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op)
{
	return op->read && trap_lor(vcpu, op);
}

/*
 * DC ISW/CSW/CISW act on this CPU's caches only, and the guest may run on
 * another next: clean the VM's whole memory to the point of coherency
 * instead, once per run of such operations (a guest cleans a cache by
 * walking every set and way), as KVM does once per cache toggle.
 */
static bool trap_set_way(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op)
{
	struct arm64_vcpu *a = to_arm64(vcpu);

	if (op->read)
		return false;
	if (!a->sw_flushed) {
		mutex_lock(&vcpu->vm->lock);
		arm64_stage2_clean(vcpu->vm);
		mutex_unlock(&vcpu->vm->lock);
		a->sw_flushed = true;
	}
	return true;
}

static const struct arm64_sysreg_trap arm64_sysreg_traps[] = {
	{ SYS_ACTLR_EL1, trap_actlr },
	{ SYS_ERRIDR_EL1, trap_raz_wi },
	{ SYS_ERRSELR_EL1, trap_raz_wi },
	{ SYS_ERXFR_EL1, trap_raz_wi },
	{ SYS_ERXCTLR_EL1, trap_raz_wi },
	{ SYS_ERXSTATUS_EL1, trap_raz_wi },
	{ SYS_ERXADDR_EL1, trap_raz_wi },
	{ SYS_ERXMISC0_EL1, trap_raz_wi },
	{ SYS_ERXMISC1_EL1, trap_raz_wi },
	{ SYS_LORSA_EL1, trap_lor },
	{ SYS_LOREA_EL1, trap_lor },
	{ SYS_LORN_EL1, trap_lor },
	{ SYS_LORC_EL1, trap_lor },
	{ SYS_LORID_EL1, trap_lorid },
};

static const struct arm64_sysreg_trap arm64_sysinsn_traps[] = {
	{ SYS_DC_ISW, trap_set_way },
	{ SYS_DC_CSW, trap_set_way },
	{ SYS_DC_CISW, trap_set_way },
};

static const struct arm64_sysreg_trap *
find_trap(const struct arm64_sysreg_trap *t, size_t n, u32 enc)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].enc == enc)
			return &t[i];
	return NULL;
}

/* ESR_ELx_EC_SYS64: MRS, MSR or SYS trapped. */
int arm64_exit_sysreg(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	u64 esr = a->exit.esr;
	unsigned int rt = (esr & ESR_ELx_SYS64_ISS_RT_MASK) >>
			  ESR_ELx_SYS64_ISS_RT_SHIFT;
	u32 enc = sys_reg((esr & ESR_ELx_SYS64_ISS_OP0_MASK) >>
			  ESR_ELx_SYS64_ISS_OP0_SHIFT,
			  (esr & ESR_ELx_SYS64_ISS_OP1_MASK) >>
			  ESR_ELx_SYS64_ISS_OP1_SHIFT,
			  (esr & ESR_ELx_SYS64_ISS_CRN_MASK) >>
			  ESR_ELx_SYS64_ISS_CRN_SHIFT,
			  (esr & ESR_ELx_SYS64_ISS_CRM_MASK) >>
			  ESR_ELx_SYS64_ISS_CRM_SHIFT,
			  (esr & ESR_ELx_SYS64_ISS_OP2_MASK) >>
			  ESR_ELx_SYS64_ISS_OP2_SHIFT);
	struct arm64_sysreg_op op = {
		.read = (esr & ESR_ELx_SYS64_ISS_DIR_MASK) ==
			ESR_ELx_SYS64_ISS_DIR_READ,
	};
	const struct arm64_sysreg_trap *t;

	/* Op0 1 is the SYS instruction space (DC, IC, AT, TLBI). */
	if (((esr & ESR_ELx_SYS64_ISS_OP0_MASK) >>
	     ESR_ELx_SYS64_ISS_OP0_SHIFT) == 1)
		t = find_trap(arm64_sysinsn_traps,
			      ARRAY_SIZE(arm64_sysinsn_traps), enc);
	else
		t = find_trap(arm64_sysreg_traps,
			      ARRAY_SIZE(arm64_sysreg_traps), enc);
	if (!op.read && rt != 31)
		op.val = a->core.regs.regs[rt];
	if (!t || !t->access(vcpu, &op)) {
		arm64_inject_undef(a);
		return AXVCPU_EXIT_CONTINUE;
	}
	if (op.read && rt != 31)
		a->core.regs.regs[rt] = op.val;
	a->core.regs.pc += 4;
	return AXVCPU_EXIT_CONTINUE;
}

/* --- KVM_REG_ARM_CORE ----------------------------------------------------- */

#define CORE_OFF(field)	(offsetof(struct kvm_regs, field) / sizeof(u32))

/* The size of the core register at off (in 32-bit words), 0 if none. */
static unsigned int core_reg_size(u64 off)
{
	if (off < CORE_OFF(regs.regs[0]))
		return 0;
	if (off < CORE_OFF(spsr[KVM_NR_SPSR])) {
		/* x0-x30, sp, pc, pstate, sp_el1, elr_el1, spsr[]: 64-bit */
		return (off - CORE_OFF(regs.regs[0])) % 2 ? 0 : sizeof(u64);
	}
	/* The padding before the 16-byte aligned FP/SIMD registers: none. */
	if (off < CORE_OFF(fp_regs.vregs[0]))
		return 0;
	if (off < CORE_OFF(fp_regs.fpsr))
		return (off - CORE_OFF(fp_regs.vregs[0])) % 4 ? 0 :
		       sizeof(__uint128_t);
	if (off == CORE_OFF(fp_regs.fpsr) || off == CORE_OFF(fp_regs.fpcr))
		return sizeof(u32);
	return 0;
}

static bool core_pstate_valid(u64 pstate)
{
	switch (pstate & (PSR_MODE32_BIT | PSR_MODE_MASK)) {
	case PSR_MODE_EL0t:
	case PSR_MODE_EL1t:
	case PSR_MODE_EL1h:
		return true;
	default:
		return false;
	}
}

static int core_reg_access(struct arm64_vcpu *a, const struct kvm_one_reg *reg,
			   bool set)
{
	u64 off = reg->id & ~(KVM_REG_ARCH_MASK | KVM_REG_SIZE_MASK |
			      KVM_REG_ARM_CORE);
	void __user *uaddr = u64_to_user_ptr(reg->addr);
	u32 *base = (u32 *)&a->core;
	unsigned int size = core_reg_size(off);
	u64 v;

	if (!size || KVM_REG_SIZE(reg->id) != size ||
	    off + size / sizeof(u32) > sizeof(a->core) / sizeof(u32))
		return -EINVAL;
	if (!set)
		return copy_to_user(uaddr, base + off, size) ? -EFAULT : 0;
	if (off == CORE_OFF(regs.pstate)) {
		if (copy_from_user(&v, uaddr, sizeof(v)))
			return -EFAULT;
		if (!core_pstate_valid(v))
			return -EINVAL;
		a->core.regs.pstate = v;
		return 0;
	}
	return copy_from_user(base + off, uaddr, size) ? -EFAULT : 0;
}

/* --- system registers ----------------------------------------------------- */

static int id_index(const u64 *ids, int n, u64 id)
{
	int i;

	for (i = 0; i < n; i++)
		if (ids[i] && ids[i] == id)
			return i;
	return -1;
}

static int sys_reg_access(struct axvcpu_vcpu *vcpu,
			  const struct kvm_one_reg *reg, bool set)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	u64 __user *uaddr = u64_to_user_ptr(reg->addr);
	int i = id_index(arm64_sysreg_ids, NR_ARM64_SYSREGS, reg->id);
	int key = id_index(arm64_key_ids, ARM64_NR_KEYS, reg->id);
	u64 v;

	/* The keys exist for a vCPU with the features, as in KVM. */
	if (key >= 0 && a->ptrauth)
		return set ? get_user(a->keys[key], uaddr) :
		       put_user(a->keys[key], uaddr);
	if (i < 0)
		return -ENOENT;
	if (!set)
		return put_user(a->sys[i], uaddr);
	if (get_user(v, uaddr))
		return -EFAULT;
	/* The VMM may choose the MPIDR's affinity, not its fixed bits. */
	if (i == SR_MPIDR)
		v = (v & MPIDR_HWID_BITMASK) | BIT_ULL(31);
	a->sys[i] = v;
	return 0;
}

static int one_reg(struct axvcpu_vcpu *vcpu, void __user *argp, bool set)
{
	struct kvm_one_reg reg;

	if (copy_from_user(&reg, argp, sizeof(reg)))
		return -EFAULT;
	if ((reg.id & KVM_REG_ARCH_MASK) != KVM_REG_ARM64)
		return -EINVAL;
	switch (reg.id & KVM_REG_ARM_COPROC_MASK) {
	case KVM_REG_ARM_CORE:
		return core_reg_access(to_arm64(vcpu), &reg, set);
	case KVM_REG_ARM64_SYSREG:
		return sys_reg_access(vcpu, &reg, set);
	default:
		return -ENOENT;
	}
}

/* Every register id, in the order KVM lists them: core, then system. */
static unsigned int reg_list_fill(const struct arm64_vcpu *a, u64 *ids)
{
	unsigned int n = 0, i, size;

	for (i = 0; i < sizeof(struct kvm_regs) / sizeof(u32); i++) {
		size = core_reg_size(i);
		if (!size)
			continue;
		if (ids)
			ids[n] = KVM_REG_ARM64 | KVM_REG_ARM_CORE | i |
				 (size == sizeof(u32) ? KVM_REG_SIZE_U32 :
				  size == sizeof(u64) ? KVM_REG_SIZE_U64 :
				  KVM_REG_SIZE_U128);
		n++;
	}
	for (i = 0; i < NR_ARM64_SYSREGS; i++) {
		if (!arm64_sysreg_ids[i])
			continue;
		if (ids)
			ids[n] = arm64_sysreg_ids[i];
		n++;
	}
	for (i = 0; a->ptrauth && i < ARM64_NR_KEYS; i++, n++)
		if (ids)
			ids[n] = arm64_key_ids[i];
	return n;
}

static int get_reg_list(const struct arm64_vcpu *a, void __user *argp)
{
	struct kvm_reg_list __user *user = argp;
	unsigned int total = reg_list_fill(a, NULL);
	u64 *ids;
	u64 n;
	int r;

	if (get_user(n, &user->n))
		return -EFAULT;
	if (put_user(total, &user->n))
		return -EFAULT;
	if (n < total)
		return -E2BIG;
	ids = kmalloc_array(total, sizeof(*ids), GFP_KERNEL);
	if (!ids)
		return -ENOMEM;
	reg_list_fill(a, ids);
	r = copy_to_user(user->reg, ids, total * sizeof(*ids)) ? -EFAULT : 0;
	kfree(ids);
	return r;
}

/* --- KVM_ARM_VCPU_INIT ---------------------------------------------------- */

/* Every CPU is the generic target to KVM on a CPU it has no table for. */
static void preferred_target(struct kvm_vcpu_init *init)
{
	memset(init, 0, sizeof(*init));
	init->target = KVM_ARM_TARGET_GENERIC_V8;
	init->features[0] = BIT(KVM_ARM_VCPU_PSCI_0_2);
}

static int vcpu_init(struct axvcpu_vcpu *vcpu, void __user *argp)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	struct arm64_vm *v = vcpu->vm->arch;
	struct kvm_vcpu_init init;
	unsigned int i;

	if (copy_from_user(&init, argp, sizeof(init)))
		return -EFAULT;
	if (init.target != KVM_ARM_TARGET_GENERIC_V8)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(init.features); i++)
		if (init.features[i] >> (i ? 0 : ARM64_KNOWN_FEATURES))
			return -ENOENT;
	if (init.features[0] & ~ARM64_FEATURES)
		return -EINVAL;	/* known, not implemented: 32-bit, PMU, ... */
	/* Both kinds of pointer authentication or neither, as KVM. */
	if ((init.features[0] & ARM64_PTRAUTH) &&
	    ((init.features[0] & ARM64_PTRAUTH) != ARM64_PTRAUTH ||
	     !arm64_ptrauth_supported()))
		return -EINVAL;
	/* As KVM: the features cannot change once chosen. */
	if (a->initialized && init.features[0] != a->features)
		return -EINVAL;

	arm64_reset_vcpu(vcpu);
	a->features = init.features[0];
	a->ptrauth = init.features[0] & ARM64_PTRAUTH;
	a->initialized = true;
	spin_lock(&v->power_lock);
	a->power_off = init.features[0] & BIT(KVM_ARM_VCPU_POWER_OFF);
	a->on_pending = false;
	spin_unlock(&v->power_lock);
	return 0;
}

long arm64_vcpu_ioctl(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
		      void __user *argp)
{
	switch (ioctl) {
	case KVM_ARM_VCPU_INIT:
		return vcpu_init(vcpu, argp);
	case KVM_GET_ONE_REG:
		return one_reg(vcpu, argp, false);
	case KVM_SET_ONE_REG:
		return one_reg(vcpu, argp, true);
	case KVM_GET_REG_LIST:
		return get_reg_list(to_arm64(vcpu), argp);
	default:
		return -ENOTTY;
	}
}

long arm64_vm_ioctl(struct axvcpu_vm *vm, unsigned int ioctl,
		    void __user *argp)
{
	struct kvm_vcpu_init init;

	switch (ioctl) {
	case KVM_ARM_PREFERRED_TARGET:
		preferred_target(&init);
		return copy_to_user(argp, &init, sizeof(init)) ? -EFAULT : 0;
	default:
		return -ENOTTY;
	}
}
