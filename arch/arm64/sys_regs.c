// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: the guest's system registers, one table for every use, as KVM's
 * sys_reg_descs[] (arch/arm64/kvm/sys_regs.c): what a trapped MRS, MSR or
 * SYS instruction does (ESR_ELx_EC_SYS64), what KVM_GET/SET_ONE_REG reads
 * and writes, what KVM_GET_REG_LIST lists and what a reset sets.
 *
 * A row is an encoding (sys_reg()), what a trapped access does (no
 * handler, or no row: an undefined instruction, as KVM), the vCPU's slot
 * holding the value (enum arm64_sysreg) with its reset value, or get/set
 * functions for userspace.  A row with a slot or a get function is a
 * register userspace sees.  The table is sorted by encoding, checked when
 * the module loads.
 *
 * What traps: the ID registers (HCR_EL2.TID3), answered from the kernel's
 * sanitised view of every CPU less what axvcpu does not give a guest
 * (SVE, SME, MTE, the PMU, the activity monitors, statistical profiling,
 * debug beyond v8.0); the debug registers (MDCR_EL2.TDA, TDOSA, TDRA),
 * kept for the guest and never loaded into the CPU: its breakpoints and
 * watchpoints do not fire; the PMU registers (TPM, TPMCR), undefined as
 * in KVM for a vCPU without a PMU; set/way cache maintenance (TSW),
 * ACTLR_EL1 (TACR), the LORegion (TLOR) and RAS error record (TERR)
 * registers; the physical timer (CNTHCTL_EL2, see timer.c).
 */
#include <linux/bitfield.h>
#include <linux/kvm.h>
#include <linux/mutex.h>
#include <linux/uaccess.h>
#include <clocksource/arm_arch_timer.h>
#include <asm/cpufeature.h>
#include <asm/esr.h>
#include <asm/kvm.h>
#include <asm/sysreg.h>

#include "../../axvcpu_host.h"
#include "arm64.h"

/* SCTLR_EL1 after reset, as KVM gives it: MMU and caches off, RES1 bits. */
#define ARM64_RESET_SCTLR	0x00c50078ULL

struct arm64_sysreg_op {
	bool read;
	u64 val;
};

struct arm64_sys_reg {
	u32 enc;			/* sys_reg() / sys_insn() */
	/* A trapped access; false: an undefined instruction. */
	bool (*access)(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op,
		       const struct arm64_sys_reg *r);
	enum arm64_sysreg reg;		/* the value's slot, or SR_NONE */
	u64 reset;
	int (*get)(struct axvcpu_vcpu *vcpu, const struct arm64_sys_reg *r,
		   u64 *val);
	int (*set)(struct axvcpu_vcpu *vcpu, const struct arm64_sys_reg *r,
		   u64 val);
	/* Whether this vCPU has it at all (NULL: it has). */
	bool (*visible)(const struct axvcpu_vcpu *vcpu);
};

/*
 * The KVM_REG_ARM64_SYSREG id of an encoding: sys_reg() places Op0..Op2
 * from bit 5 up exactly as the id's fields are placed from bit 0.
 */
#define ARM64_REG_ID(enc) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | \
			 KVM_REG_ARM64_SYSREG | ((u64)(enc) >> 5))
static_assert(ARM64_REG_ID(sys_reg(3, 7, 15, 15, 7)) ==
	      ARM64_SYS_REG(3, 7, 15, 15, 7));
static_assert(ARM64_REG_ID(sys_reg(2, 1, 2, 3, 4)) ==
	      ARM64_SYS_REG(2, 1, 2, 3, 4));

static u64 arm64_host_actlr;
static bool arm64_has_lor;

/* --- trapped accesses ------------------------------------------------- */

static bool trap_raz_wi(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op,
			const struct arm64_sys_reg *r)
{
	if (op->read)
		op->val = 0;
	return true;
}

/* A register the guest reads and writes, kept in its slot. */
static bool trap_rw(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op,
		    const struct arm64_sys_reg *r)
{
	u64 *slot = &to_arm64(vcpu)->sys[r->reg];

	if (op->read)
		op->val = *slot;
	else
		*slot = op->val;
	return true;
}

/* The guest reads its slot; writes are ignored (ACTLR_EL1, as KVM). */
static bool trap_ro_wi(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op,
		       const struct arm64_sys_reg *r)
{
	if (op->read)
		op->val = to_arm64(vcpu)->sys[r->reg];
	return true;
}

/* The OS lock: OSLAR_EL1 is write-only, and sets OSLSR_EL1.OSLK. */
static bool trap_oslar(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op,
		       const struct arm64_sys_reg *r)
{
	u64 *oslsr = &to_arm64(vcpu)->sys[SR_OSLSR];

	if (op->read)
		return false;
	*oslsr = (*oslsr & ~SYS_OSLSR_OSLK) |
		 (op->val & SYS_OSLAR_OSLK ? SYS_OSLSR_OSLK : 0);
	return true;
}

static bool trap_read_only(struct axvcpu_vcpu *vcpu,
			   struct arm64_sysreg_op *op,
			   const struct arm64_sys_reg *r)
{
	if (!op->read)
		return false;
	op->val = to_arm64(vcpu)->sys[r->reg];
	return true;
}

/* The CPU's own authentication status, writes ignored (as KVM). */
static bool trap_dbgauthstatus(struct axvcpu_vcpu *vcpu,
			       struct arm64_sysreg_op *op,
			       const struct arm64_sys_reg *r)
{
	if (op->read)
		op->val = read_sysreg(dbgauthstatus_el1);
	return true;
}

/* LORegions: none to offer, so RAZ/WI where the CPU has them. */
static bool trap_lor(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op,
		     const struct arm64_sys_reg *r)
{
	return arm64_has_lor && trap_raz_wi(vcpu, op, r);
}

static bool trap_lorid(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op,
		       const struct arm64_sys_reg *r)
{
	return op->read && trap_lor(vcpu, op, r);
}

/*
 * DC ISW/CSW/CISW act on this CPU's caches only, and the guest may run on
 * another next: clean the VM's whole memory to the point of coherency
 * instead, once per run of such operations (a guest cleans a cache by
 * walking every set and way), as KVM does once per cache toggle.
 */
static bool trap_set_way(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op,
			 const struct arm64_sys_reg *r)
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

/*
 * The physical timer, emulated (timer.c keeps its level): CTL with the
 * ISTATUS the counter gives, CVAL, and TVAL as the signed 32-bit distance
 * to CVAL.
 */
static bool trap_ptimer(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op,
			const struct arm64_sys_reg *r)
{
	u64 *s = to_arm64(vcpu)->sys;
	u64 now = arm64_phys_counter();

	switch (r->enc) {
	case SYS_CNTP_CTL_EL0:
		if (op->read)
			op->val = arm64_timer_ptimer_ctl(vcpu);
		else
			s[SR_CNTP_CTL] = op->val & (ARCH_TIMER_CTRL_ENABLE |
						    ARCH_TIMER_CTRL_IT_MASK);
		return true;
	case SYS_CNTP_CVAL_EL0:
		if (op->read)
			op->val = s[SR_CNTP_CVAL];
		else
			s[SR_CNTP_CVAL] = op->val;
		return true;
	case SYS_CNTP_TVAL_EL0:
		if (op->read)
			op->val = (u32)(s[SR_CNTP_CVAL] - now);
		else
			s[SR_CNTP_CVAL] = now + (s64)(s32)op->val;
		return true;
	default:
		return false;
	}
}

/*
 * A breakpoint or watchpoint register: its slot from the encoding (CRm is
 * the number, Op2 the kind), kept for the guest and never loaded.
 */
static u64 *dbg_slot(struct axvcpu_vcpu *vcpu, u32 enc)
{
	static const enum arm64_sysreg base[] = {
		SR_DBGBVR, SR_DBGBCR, SR_DBGWVR, SR_DBGWCR,
	};
	u64 id = ARM64_REG_ID(enc);
	unsigned int n = (id & KVM_REG_ARM64_SYSREG_CRM_MASK) >>
			 KVM_REG_ARM64_SYSREG_CRM_SHIFT;
	unsigned int kind = (id & KVM_REG_ARM64_SYSREG_OP2_MASK) - 4;

	return &to_arm64(vcpu)->sys[base[kind & 3] + n];
}

static bool trap_dbg(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op,
		     const struct arm64_sys_reg *r)
{
	u64 *slot = dbg_slot(vcpu, r->enc);

	if (op->read)
		op->val = *slot;
	else
		*slot = op->val;
	return true;
}

static int get_dbg(struct axvcpu_vcpu *vcpu, const struct arm64_sys_reg *r,
		   u64 *val)
{
	*val = *dbg_slot(vcpu, r->enc);
	return 0;
}

static int set_dbg(struct axvcpu_vcpu *vcpu, const struct arm64_sys_reg *r,
		   u64 val)
{
	*dbg_slot(vcpu, r->enc) = val;
	return 0;
}

/* --- the ID registers ------------------------------------------------- */

#define FIELD_MASK(reg, f)	(0xfULL << reg##_##f##_SHIFT)
/*
 * ID_AA64DFR0_EL1's DebugVer, PMUVer and PMSVer, as the Arm ARM places
 * them (the kernel's names are CamelCase to checkpatch).
 */
#define DFR0_DEBUGVER		GENMASK_ULL(3, 0)
#define DFR0_PMUVER		GENMASK_ULL(11, 8)
#define DFR0_PMSVER		GENMASK_ULL(35, 32)

/* What the guest reads for ID register enc, as KVM 6.1's read_id_reg(). */
static u64 arm64_id_value(const struct axvcpu_vcpu *vcpu, u32 enc)
{
	const struct arm64_vcpu *a = vcpu->arch;
	u64 val = read_sanitised_ftr_reg(enc);

	switch (enc) {
	case SYS_ID_AA64PFR0_EL1:
		val &= ~(FIELD_MASK(ID_AA64PFR0_EL1, SVE) |
			 FIELD_MASK(ID_AA64PFR0_EL1, AMU) |
			 FIELD_MASK(ID_AA64PFR0_EL1, GIC));
		/* Not promised to the guest: KVM's default (pfr0_csv2/3 0). */
		val &= ~(FIELD_MASK(ID_AA64PFR0_EL1, CSV2) |
			 FIELD_MASK(ID_AA64PFR0_EL1, CSV3));
		break;
	case SYS_ID_AA64PFR1_EL1:
		val &= ~(FIELD_MASK(ID_AA64PFR1_EL1, MTE) |
			 FIELD_MASK(ID_AA64PFR1_EL1, SME));
		break;
	case SYS_ID_AA64ISAR1_EL1:
		if (!a->ptrauth)
			val &= ~(FIELD_MASK(ID_AA64ISAR1_EL1, APA) |
				 FIELD_MASK(ID_AA64ISAR1_EL1, API) |
				 FIELD_MASK(ID_AA64ISAR1_EL1, GPA) |
				 FIELD_MASK(ID_AA64ISAR1_EL1, GPI));
		break;
	case SYS_ID_AA64ISAR2_EL1:
		if (!a->ptrauth)
			val &= ~(FIELD_MASK(ID_AA64ISAR2_EL1, APA3) |
				 FIELD_MASK(ID_AA64ISAR2_EL1, GPA3));
		/* WFET/WFIT would need their own trap: not offered. */
		val &= ~FIELD_MASK(ID_AA64ISAR2_EL1, WFxT);
		break;
	case SYS_ID_AA64DFR0_EL1:
		/* Debug v8.0, no PMU, no statistical profiling. */
		val &= ~(DFR0_DEBUGVER | DFR0_PMUVER | DFR0_PMSVER);
		val |= FIELD_PREP(DFR0_DEBUGVER, 6);
		break;
	case SYS_ID_DFR0_EL1:
		val &= ~(0xfULL << ID_DFR0_PERFMON_SHIFT);
		break;
	}
	return val;
}

/* A sanitised ID register: the guest reads it, writing it is undefined. */
static bool trap_id(struct axvcpu_vcpu *vcpu, struct arm64_sysreg_op *op,
		    const struct arm64_sys_reg *r)
{
	return op->read && !r->get(vcpu, r, &op->val);
}

static int get_id(struct axvcpu_vcpu *vcpu, const struct arm64_sys_reg *r,
		  u64 *val)
{
	*val = arm64_id_value(vcpu, r->enc);
	return 0;
}

/*
 * AArch32 at EL0 on every CPU: system_supports_32bit_el0() less the
 * mismatched-CPU case, whose key is not exported.
 */
static bool arm64_aa32_el0(void)
{
	return id_aa64pfr0_32bit_el0(read_sanitised_ftr_reg(SYS_ID_AA64PFR0_EL1));
}

/* AArch32 ID registers: RAZ where no CPU runs AArch32 at EL0 (as KVM). */
static int get_aa32_id(struct axvcpu_vcpu *vcpu, const struct arm64_sys_reg *r,
		       u64 *val)
{
	*val = arm64_aa32_el0() ? arm64_id_value(vcpu, r->enc) : 0;
	return 0;
}

static int get_raz(struct axvcpu_vcpu *vcpu, const struct arm64_sys_reg *r,
		   u64 *val)
{
	*val = 0;
	return 0;
}

/* "Invariant" for userspace, as KVM's set_id_reg(): only the same value. */
static int set_invariant(struct axvcpu_vcpu *vcpu,
			 const struct arm64_sys_reg *r, u64 val)
{
	u64 cur;

	r->get(vcpu, r, &cur);
	return val == cur ? 0 : -EINVAL;
}

/* AArch32 ID registers without AArch32: writes ignored, as KVM's WI. */
static int set_aa32_id(struct axvcpu_vcpu *vcpu,
		       const struct arm64_sys_reg *r, u64 val)
{
	return arm64_aa32_el0() ? set_invariant(vcpu, r, val) : 0;
}

/*
 * KVM's "invariant" registers: the CPU's, as the guest reads them without
 * a trap (MIDR_EL1 through VPIDR_EL2, which the kernel sets to the boot
 * CPU's), the same value written back or EINVAL.
 */
static int get_invariant(struct axvcpu_vcpu *vcpu,
			 const struct arm64_sys_reg *r, u64 *val)
{
	switch (r->enc) {
	case SYS_MIDR_EL1:
		*val = read_sysreg(vpidr_el2);
		break;
	case SYS_REVIDR_EL1:
		*val = read_sysreg(revidr_el1);
		break;
	case SYS_CLIDR_EL1:
		*val = read_sysreg(clidr_el1);
		break;
	case SYS_AIDR_EL1:
		*val = read_sysreg(aidr_el1);
		break;
	default:	/* SYS_CTR_EL0 */
		*val = read_sanitised_ftr_reg(SYS_CTR_EL0);
		break;
	}
	return 0;
}

/* OSLSR_EL1: userspace may set the lock, nothing else (as KVM). */
static int set_oslsr(struct axvcpu_vcpu *vcpu, const struct arm64_sys_reg *r,
		     u64 val)
{
	if ((val ^ r->reset) & ~SYS_OSLSR_OSLK)
		return -EINVAL;
	to_arm64(vcpu)->sys[SR_OSLSR] = val;
	return 0;
}

/* MPIDR_EL1: the VMM may choose the affinity, not the fixed bits. */
static int set_mpidr(struct axvcpu_vcpu *vcpu, const struct arm64_sys_reg *r,
		     u64 val)
{
	to_arm64(vcpu)->sys[SR_MPIDR] = (val & MPIDR_HWID_BITMASK) | BIT_ULL(31);
	return 0;
}

/* The pointer authentication keys: in arm64_vcpu.keys, lo then hi. */
static int key_index(u32 enc)
{
	switch (enc) {
	case SYS_APIAKEYLO_EL1: return 0;
	case SYS_APIAKEYHI_EL1: return 1;
	case SYS_APIBKEYLO_EL1: return 2;
	case SYS_APIBKEYHI_EL1: return 3;
	case SYS_APDAKEYLO_EL1: return 4;
	case SYS_APDAKEYHI_EL1: return 5;
	case SYS_APDBKEYLO_EL1: return 6;
	case SYS_APDBKEYHI_EL1: return 7;
	case SYS_APGAKEYLO_EL1: return 8;
	default: return 9;	/* SYS_APGAKEYHI_EL1 */
	}
}

static int get_key(struct axvcpu_vcpu *vcpu, const struct arm64_sys_reg *r,
		   u64 *val)
{
	*val = to_arm64(vcpu)->keys[key_index(r->enc)];
	return 0;
}

static int set_key(struct axvcpu_vcpu *vcpu, const struct arm64_sys_reg *r,
		   u64 val)
{
	to_arm64(vcpu)->keys[key_index(r->enc)] = val;
	return 0;
}

static bool ptrauth_visible(const struct axvcpu_vcpu *vcpu)
{
	return ((const struct arm64_vcpu *)vcpu->arch)->ptrauth;
}

/* --- the table ---------------------------------------------------------- */

#define RW(e, slot, val)	{ .enc = (e), .access = trap_rw, .reg = (slot), \
				  .reset = (val) }
/* Switched with the guest, not trapped. */
#define SWITCHED(e, slot)	{ .enc = (e), .reg = (slot) }
#define RAZ_WI(e)		{ .enc = (e), .access = trap_raz_wi }
#define UNDEF(e)		{ .enc = (e) }
#define ID_SANITISED(e)		{ .enc = (e), .access = trap_id, .get = get_id, \
				  .set = set_invariant }
#define AA32_ID(e)		{ .enc = (e), .access = trap_id, \
				  .get = get_aa32_id, .set = set_aa32_id }
/* ID registers KVM hides or has no use for: RAZ, listed. */
#define ID_RAZ(e)		{ .enc = (e), .access = trap_id, .get = get_raz, \
				  .set = set_invariant }
#define ID_UNALLOCATED(crm, op2) ID_RAZ(sys_reg(3, 0, 0, (crm), (op2)))
/*
 * DBGBVR<n>_EL1, DBGBCR<n>_EL1, DBGWVR<n>_EL1 and DBGWCR<n>_EL1: the
 * kernel's SYS_DBGB*n_EL1(n), spelt out (checkpatch takes their names for
 * CamelCase).
 */
#define DBG(n, op2)	{ .enc = sys_reg(2, 0, 0, (n), (op2)), \
			  .access = trap_dbg, .get = get_dbg, .set = set_dbg }
#define DBG_BVR(n)	DBG(n, 4)
#define DBG_BCR(n)	DBG(n, 5)
#define DBG_WVR(n)	DBG(n, 6)
#define DBG_WCR(n)	DBG(n, 7)
#define INVARIANT(e)		{ .enc = (e), .get = get_invariant, \
				  .set = set_invariant }
#define KEY(e)			{ .enc = (e), .get = get_key, .set = set_key, \
				  .visible = ptrauth_visible }

static const struct arm64_sys_reg arm64_sys_regs[] = {
	{ .enc = SYS_DC_ISW, .access = trap_set_way },
	{ .enc = SYS_DC_CSW, .access = trap_set_way },
	{ .enc = SYS_DC_CISW, .access = trap_set_way },

	DBG_BVR(0), DBG_BCR(0), DBG_WVR(0), DBG_WCR(0),
	DBG_BVR(1), DBG_BCR(1), DBG_WVR(1), DBG_WCR(1),
	RW(SYS_MDCCINT_EL1, SR_MDCCINT, 0),
	RW(SYS_MDSCR_EL1, SR_MDSCR, 0),
	DBG_BVR(2), DBG_BCR(2), DBG_WVR(2), DBG_WCR(2),
	DBG_BVR(3), DBG_BCR(3), DBG_WVR(3), DBG_WCR(3),
	DBG_BVR(4), DBG_BCR(4), DBG_WVR(4), DBG_WCR(4),
	DBG_BVR(5), DBG_BCR(5), DBG_WVR(5), DBG_WCR(5),
	DBG_BVR(6), DBG_BCR(6), DBG_WVR(6), DBG_WCR(6),
	DBG_BVR(7), DBG_BCR(7), DBG_WVR(7), DBG_WCR(7),
	DBG_BVR(8), DBG_BCR(8), DBG_WVR(8), DBG_WCR(8),
	DBG_BVR(9), DBG_BCR(9), DBG_WVR(9), DBG_WCR(9),
	DBG_BVR(10), DBG_BCR(10), DBG_WVR(10), DBG_WCR(10),
	DBG_BVR(11), DBG_BCR(11), DBG_WVR(11), DBG_WCR(11),
	DBG_BVR(12), DBG_BCR(12), DBG_WVR(12), DBG_WCR(12),
	DBG_BVR(13), DBG_BCR(13), DBG_WVR(13), DBG_WCR(13),
	DBG_BVR(14), DBG_BCR(14), DBG_WVR(14), DBG_WCR(14),
	DBG_BVR(15), DBG_BCR(15), DBG_WVR(15), DBG_WCR(15),

	RAZ_WI(SYS_MDRAR_EL1),
	{ .enc = SYS_OSLAR_EL1, .access = trap_oslar },
	{ .enc = SYS_OSLSR_EL1, .access = trap_read_only, .reg = SR_OSLSR,
	  .reset = SYS_OSLSR_OSLM_IMPLEMENTED, .set = set_oslsr },
	RAZ_WI(SYS_OSDLR_EL1),
	RAZ_WI(SYS_DBGPRCR_EL1),
	RAZ_WI(SYS_DBGCLAIMSET_EL1),
	RAZ_WI(SYS_DBGCLAIMCLR_EL1),
	{ .enc = SYS_DBGAUTHSTATUS_EL1, .access = trap_dbgauthstatus },
	RAZ_WI(SYS_MDCCSR_EL0),
	RAZ_WI(SYS_DBGDTR_EL0),
	RAZ_WI(SYS_DBGDTRTX_EL0),	/* and DBGDTRRX_EL0 */
	SWITCHED(SYS_DBGVCR32_EL2, SR_DBGVCR32),

	INVARIANT(SYS_MIDR_EL1),
	{ .enc = SYS_MPIDR_EL1, .reg = SR_MPIDR, .set = set_mpidr },
	INVARIANT(SYS_REVIDR_EL1),

	AA32_ID(SYS_ID_PFR0_EL1),
	AA32_ID(SYS_ID_PFR1_EL1),
	AA32_ID(SYS_ID_DFR0_EL1),
	ID_RAZ(SYS_ID_AFR0_EL1),
	AA32_ID(SYS_ID_MMFR0_EL1),
	AA32_ID(SYS_ID_MMFR1_EL1),
	AA32_ID(SYS_ID_MMFR2_EL1),
	AA32_ID(SYS_ID_MMFR3_EL1),
	AA32_ID(SYS_ID_ISAR0_EL1),
	AA32_ID(SYS_ID_ISAR1_EL1),
	AA32_ID(SYS_ID_ISAR2_EL1),
	AA32_ID(SYS_ID_ISAR3_EL1),
	AA32_ID(SYS_ID_ISAR4_EL1),
	AA32_ID(SYS_ID_ISAR5_EL1),
	AA32_ID(SYS_ID_MMFR4_EL1),
	AA32_ID(SYS_ID_ISAR6_EL1),
	AA32_ID(SYS_MVFR0_EL1),
	AA32_ID(SYS_MVFR1_EL1),
	AA32_ID(SYS_MVFR2_EL1),
	ID_UNALLOCATED(3, 3),
	AA32_ID(SYS_ID_PFR2_EL1),
	ID_RAZ(SYS_ID_DFR1_EL1),
	AA32_ID(SYS_ID_MMFR5_EL1),
	ID_UNALLOCATED(3, 7),

	ID_SANITISED(SYS_ID_AA64PFR0_EL1),
	ID_SANITISED(SYS_ID_AA64PFR1_EL1),
	ID_UNALLOCATED(4, 2),
	ID_UNALLOCATED(4, 3),
	ID_RAZ(SYS_ID_AA64ZFR0_EL1),		/* no SVE */
	ID_RAZ(SYS_ID_AA64SMFR0_EL1),		/* no SME */
	ID_UNALLOCATED(4, 6),
	ID_UNALLOCATED(4, 7),
	ID_SANITISED(SYS_ID_AA64DFR0_EL1),
	ID_SANITISED(SYS_ID_AA64DFR1_EL1),
	ID_UNALLOCATED(5, 2),
	ID_UNALLOCATED(5, 3),
	ID_RAZ(SYS_ID_AA64AFR0_EL1),
	ID_RAZ(SYS_ID_AA64AFR1_EL1),
	ID_UNALLOCATED(5, 6),
	ID_UNALLOCATED(5, 7),
	ID_SANITISED(SYS_ID_AA64ISAR0_EL1),
	ID_SANITISED(SYS_ID_AA64ISAR1_EL1),
	ID_SANITISED(SYS_ID_AA64ISAR2_EL1),
	ID_UNALLOCATED(6, 3),
	ID_UNALLOCATED(6, 4),
	ID_UNALLOCATED(6, 5),
	ID_UNALLOCATED(6, 6),
	ID_UNALLOCATED(6, 7),
	ID_SANITISED(SYS_ID_AA64MMFR0_EL1),
	ID_SANITISED(SYS_ID_AA64MMFR1_EL1),
	ID_SANITISED(SYS_ID_AA64MMFR2_EL1),
	ID_UNALLOCATED(7, 3),
	ID_UNALLOCATED(7, 4),
	ID_UNALLOCATED(7, 5),
	ID_UNALLOCATED(7, 6),
	ID_UNALLOCATED(7, 7),

	{ .enc = SYS_SCTLR_EL1, .reg = SR_SCTLR, .reset = ARM64_RESET_SCTLR },
	{ .enc = SYS_ACTLR_EL1, .access = trap_ro_wi, .reg = SR_ACTLR },
	SWITCHED(SYS_CPACR_EL1, SR_CPACR),
	SWITCHED(SYS_TTBR0_EL1, SR_TTBR0),
	SWITCHED(SYS_TTBR1_EL1, SR_TTBR1),
	SWITCHED(SYS_TCR_EL1, SR_TCR),
	KEY(SYS_APIAKEYLO_EL1), KEY(SYS_APIAKEYHI_EL1),
	KEY(SYS_APIBKEYLO_EL1), KEY(SYS_APIBKEYHI_EL1),
	KEY(SYS_APDAKEYLO_EL1), KEY(SYS_APDAKEYHI_EL1),
	KEY(SYS_APDBKEYLO_EL1), KEY(SYS_APDBKEYHI_EL1),
	KEY(SYS_APGAKEYLO_EL1), KEY(SYS_APGAKEYHI_EL1),
	SWITCHED(SYS_AFSR0_EL1, SR_AFSR0),
	SWITCHED(SYS_AFSR1_EL1, SR_AFSR1),
	SWITCHED(SYS_ESR_EL1, SR_ESR),
	RAZ_WI(SYS_ERRIDR_EL1),
	RAZ_WI(SYS_ERRSELR_EL1),
	RAZ_WI(SYS_ERXFR_EL1),
	RAZ_WI(SYS_ERXCTLR_EL1),
	RAZ_WI(SYS_ERXSTATUS_EL1),
	RAZ_WI(SYS_ERXADDR_EL1),
	RAZ_WI(SYS_ERXMISC0_EL1),
	RAZ_WI(SYS_ERXMISC1_EL1),
	SWITCHED(SYS_FAR_EL1, SR_FAR),
	SWITCHED(SYS_PAR_EL1, SR_PAR),
	RAZ_WI(SYS_PMMIR_EL1),
	SWITCHED(SYS_MAIR_EL1, SR_MAIR),
	SWITCHED(SYS_AMAIR_EL1, SR_AMAIR),
	{ .enc = SYS_LORSA_EL1, .access = trap_lor },
	{ .enc = SYS_LOREA_EL1, .access = trap_lor },
	{ .enc = SYS_LORN_EL1, .access = trap_lor },
	{ .enc = SYS_LORC_EL1, .access = trap_lor },
	{ .enc = SYS_LORID_EL1, .access = trap_lorid },
	SWITCHED(SYS_VBAR_EL1, SR_VBAR),
	SWITCHED(SYS_DISR_EL1, SR_DISR),
	SWITCHED(SYS_CONTEXTIDR_EL1, SR_CONTEXTIDR),
	SWITCHED(SYS_TPIDR_EL1, SR_TPIDR_EL1),
	SWITCHED(SYS_CNTKCTL_EL1, SR_CNTKCTL),
	INVARIANT(SYS_CLIDR_EL1),
	INVARIANT(SYS_AIDR_EL1),
	SWITCHED(SYS_CSSELR_EL1, SR_CSSELR),
	INVARIANT(SYS_CTR_EL0),
	SWITCHED(SYS_TPIDR_EL0, SR_TPIDR_EL0),
	SWITCHED(SYS_TPIDRRO_EL0, SR_TPIDRRO_EL0),
	{ .enc = SYS_CNTP_TVAL_EL0, .access = trap_ptimer },
	{ .enc = SYS_CNTP_CTL_EL0, .access = trap_ptimer },
	{ .enc = SYS_CNTP_CVAL_EL0, .access = trap_ptimer },
	SWITCHED(SYS_DACR32_EL2, SR_DACR32),
	SWITCHED(SYS_IFSR32_EL2, SR_IFSR32),
	SWITCHED(SYS_FPEXC32_EL2, SR_FPEXC32),
};

static const struct arm64_sys_reg *find_reg(u32 enc)
{
	size_t lo = 0, hi = ARRAY_SIZE(arm64_sys_regs);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		u32 e = arm64_sys_regs[mid].enc;

		if (e == enc)
			return &arm64_sys_regs[mid];
		if (e < enc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool reg_visible(const struct axvcpu_vcpu *vcpu,
			const struct arm64_sys_reg *r)
{
	return !r->visible || r->visible(vcpu);
}

/* Userspace sees it: a value in a slot or behind a get function. */
static bool reg_user(const struct axvcpu_vcpu *vcpu,
		     const struct arm64_sys_reg *r)
{
	return (r->reg != SR_NONE || r->get) && reg_visible(vcpu, r);
}

/* A table out of order would make lookups miss: refuse to load. */
int arm64_sys_regs_setup(void)
{
	u64 mmfr1 = read_sanitised_ftr_reg(SYS_ID_AA64MMFR1_EL1);
	size_t i;

	for (i = 1; i < ARRAY_SIZE(arm64_sys_regs); i++) {
		if (arm64_sys_regs[i - 1].enc >= arm64_sys_regs[i].enc) {
			pr_err("axvcpu: arm64: system register table out of order at %#x\n",
			       arm64_sys_regs[i].enc);
			return -EINVAL;
		}
	}
	/* ACTLR_EL1 is not an _EL12 alias: at EL2 this is EL1's own. */
	arm64_host_actlr = read_sysreg(actlr_el1);
	arm64_has_lor = mmfr1 & ID_AA64MMFR1_EL1_LO_MASK;
	return 0;
}

/* KVM's reset: every slot to its reset value (unknown ones to 0). */
void arm64_sys_regs_reset(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	size_t i;

	memset(a->sys, 0, sizeof(a->sys));
	for (i = 0; i < ARRAY_SIZE(arm64_sys_regs); i++)
		if (arm64_sys_regs[i].reg != SR_NONE)
			a->sys[arm64_sys_regs[i].reg] = arm64_sys_regs[i].reset;
	a->sys[SR_ACTLR] = arm64_host_actlr;
	a->sys[SR_MPIDR] = arm64_vcpu_mpidr(vcpu);
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
	const struct arm64_sys_reg *r = find_reg(enc);

	if (!op.read && rt != 31)
		op.val = a->core.regs.regs[rt];
	if (!r || !r->access || !reg_visible(vcpu, r) ||
	    !r->access(vcpu, &op, r)) {
		arm64_inject_undef(a);
		return AXVCPU_EXIT_CONTINUE;
	}
	if (op.read && rt != 31)
		a->core.regs.regs[rt] = op.val;
	a->core.regs.pc += 4;
	return AXVCPU_EXIT_CONTINUE;
}

/* --- KVM_GET/SET_ONE_REG, KVM_GET_REG_LIST ------------------------------ */

/* The row a KVM_REG_ARM64_SYSREG id names, for userspace; NULL: ENOENT. */
static const struct arm64_sys_reg *user_reg(struct axvcpu_vcpu *vcpu, u64 id)
{
	const struct arm64_sys_reg *r;
	u32 enc;

	enc = sys_reg((id & KVM_REG_ARM64_SYSREG_OP0_MASK) >>
		      KVM_REG_ARM64_SYSREG_OP0_SHIFT,
		      (id & KVM_REG_ARM64_SYSREG_OP1_MASK) >>
		      KVM_REG_ARM64_SYSREG_OP1_SHIFT,
		      (id & KVM_REG_ARM64_SYSREG_CRN_MASK) >>
		      KVM_REG_ARM64_SYSREG_CRN_SHIFT,
		      (id & KVM_REG_ARM64_SYSREG_CRM_MASK) >>
		      KVM_REG_ARM64_SYSREG_CRM_SHIFT,
		      (id & KVM_REG_ARM64_SYSREG_OP2_MASK) >>
		      KVM_REG_ARM64_SYSREG_OP2_SHIFT);
	if (id != ARM64_REG_ID(enc))
		return NULL;	/* another size, or bits outside the fields */
	r = find_reg(enc);
	return r && reg_user(vcpu, r) ? r : NULL;
}

int arm64_sys_reg_get(struct axvcpu_vcpu *vcpu, u64 id, u64 *val)
{
	const struct arm64_sys_reg *r = user_reg(vcpu, id);

	if (!r)
		return -ENOENT;
	if (r->get)
		return r->get(vcpu, r, val);
	*val = to_arm64(vcpu)->sys[r->reg];
	return 0;
}

int arm64_sys_reg_set(struct axvcpu_vcpu *vcpu, u64 id, u64 val)
{
	const struct arm64_sys_reg *r = user_reg(vcpu, id);

	if (!r)
		return -ENOENT;
	if (r->set)
		return r->set(vcpu, r, val);
	to_arm64(vcpu)->sys[r->reg] = val;
	return 0;
}

/* The ids userspace sees, in the table's (KVM's) order; their count. */
unsigned int arm64_sys_reg_ids(struct axvcpu_vcpu *vcpu, u64 *ids)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(arm64_sys_regs); i++) {
		if (!reg_user(vcpu, &arm64_sys_regs[i]))
			continue;
		if (ids)
			ids[n] = ARM64_REG_ID(arm64_sys_regs[i].enc);
		n++;
	}
	return n;
}
