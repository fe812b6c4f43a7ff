// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: a vCPU's model-specific registers, shared by the backends.
 *
 * One file of MSRs serves the guest's RDMSR and WRMSR and userspace's
 * KVM_GET_MSRS and KVM_SET_MSRS, as KVM's kvm_get_msr_common() and
 * kvm_set_msr_common() serve both.  The backend answers first for the
 * MSRs that live in its hardware state (EFER, PAT, the syscall and
 * SYSENTER MSRs, KERNEL_GS_BASE, TSC_AUX); this file keeps the rest:
 * APIC_BASE (there is no in-kernel local APIC: the value only travels
 * between the guest, KVM_GET/SET_SREGS and kvm_run->apic_base), the TSC
 * as an offset from the host's, MISC_ENABLE, the MTRRs and the machine
 * check registers, none of which the hardware needs: the guest's memory
 * types come from the host's page tables and PAT, as in KVM.
 *
 * The answer of each access, KVM's convention: 0 done, else refused (#GP
 * for the guest, the end of a KVM_GET/SET_MSRS batch for userspace): 1 an
 * MSR this file knows refused the access, X86_MSR_UNKNOWN an MSR it does
 * not know.  The VMM may take the guest's refused accesses itself
 * (KVM_CAP_X86_USER_SPACE_MSR), and may filter them before they reach this
 * file (KVM_X86_SET_MSR_FILTER); its own KVM_GET/SET_MSRS never are.
 */
#include <linux/bitops.h>
#include <linux/kvm.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/kvm_para.h>
#include <asm/mce.h>
#include <asm/msr-index.h>
#include <asm/msr.h>

#include "../../axvcpu_host.h"
#include "x86.h"

/* KVM's limit on one KVM_GET/SET_MSRS batch. */
#define X86_MAX_IO_MSRS		256

/*
 * Refusals besides 1 (KVM_MSR_RET_UNSUPPORTED, _FILTERED): each has its
 * KVM_MSR_EXIT_REASON_* for userspace.
 */
#define X86_MSR_UNKNOWN		2
#define X86_MSR_FILTERED	3

/* The x2APIC's MSRs: KVM knows them, and never filters them. */
#define X86_MSR_X2APIC_FIRST	APIC_BASE_MSR
#define X86_MSR_X2APIC_LAST	(APIC_BASE_MSR + 0xff)

/* The MTRRs' MSRs (msr-index.h spells them in CamelCase). */
#define X86_MSR_MTRR_CAP	0x0fe
#define X86_MSR_MTRR_VAR	0x200	/* base 0, mask 0, base 1, ... */
#define X86_MSR_MTRR_FIX64K	0x250
#define X86_MSR_MTRR_FIX16K	0x258	/* and 0x259 */
#define X86_MSR_MTRR_FIX4K	0x268	/* to 0x26f */
#define X86_MSR_MTRR_DEF_TYPE	0x2ff

/* MTRRcap: fixed ranges, write-combining, X86_NR_VAR_MTRR ranges. */
#define X86_MTRRCAP		(BIT(8) | BIT(10) | X86_NR_VAR_MTRR)
#define X86_MTRR_DEF_RSVD	(~0xcffULL)
#define X86_MTRR_MASK_VALID	BIT_ULL(11)

/* MISC_ENABLE after reset, as KVM has it: no PEBS, no BTS. */
#define X86_RESET_MISC_ENABLE	(MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL | \
				 MSR_IA32_MISC_ENABLE_BTS_UNAVAIL)

/* The microcode revision a vCPU reports until the VMM sets one, KVM's. */
#define X86_RESET_UCODE_REV	0x100000000ULL

/* APIC_BASE: xAPIC enabled at the standard address, BSP for vCPU 0. */
#define X86_APIC_BASE_RSVD	(0x2ffULL | X2APIC_ENABLE)

/*
 * MSRs whose reads KVM answers with 0 and whose writes it drops: what a
 * guest probes for model-specific features (Linux reads several of these
 * with RDMSR that would warn on #GP).
 */
static const u32 x86_msr_raz[] = {
	MSR_IA32_PLATFORM_ID, MSR_IA32_EBL_CR_POWERON, MSR_IA32_DEBUGCTLMSR,
	MSR_IA32_LASTBRANCHFROMIP, MSR_IA32_LASTBRANCHTOIP,
	MSR_IA32_LASTINTFROMIP, MSR_IA32_LASTINTTOIP,
	MSR_AMD64_SYSCFG, MSR_K8_TSEG_ADDR, MSR_K8_TSEG_MASK,
	MSR_K8_INT_PENDING_MSG, MSR_AMD64_NB_CFG, MSR_FAM10H_MMIO_CONF_BASE,
	MSR_AMD64_BU_CFG2, MSR_IA32_PERF_CTL, MSR_AMD64_DC_CFG,
	MSR_F15H_EX_CFG, MSR_K7_HWCR,
	MSR_K7_EVNTSEL0, MSR_K7_EVNTSEL1, MSR_K7_EVNTSEL2, MSR_K7_EVNTSEL3,
	MSR_K7_PERFCTR0, MSR_K7_PERFCTR1, MSR_K7_PERFCTR2, MSR_K7_PERFCTR3,
};

static bool x86_msr_in(const u32 *list, unsigned int n, u32 msr)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (list[i] == msr)
			return true;
	return false;
}

void x86_msrs_reset(struct x86_vcpu *x, u32 vcpu_id)
{
	struct x86_msrs *m = &x->msrs;

	memset(m, 0, sizeof(*m));
	m->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE |
		       (vcpu_id ? 0 : MSR_IA32_APICBASE_BSP);
	m->misc_enable = X86_RESET_MISC_ENABLE;
	m->ucode_rev = X86_RESET_UCODE_REV;
	m->mcg_cap = X86_MCE_BANKS;
	m->tsc_offset = -rdtsc();
}

/* The guest's physical address bits: what a base or mask may not pass. */
static u64 x86_rsvd_pa_bits(void)
{
	return ~((1ULL << boot_cpu_data.x86_phys_bits) - 1);
}

/*
 * APIC_BASE, as KVM's kvm_set_apic_base() checks it: no reserved bit,
 * no x2APIC mode without xAPIC enabled, and the guest may not go between
 * x2APIC and xAPIC or from disabled to x2APIC.  The guest never has x2APIC
 * (axvcpu does not offer it), so X2APIC_ENABLE is reserved.
 */
int x86_set_apic_base(struct x86_vcpu *x, u64 val, bool host)
{
	if (val & (X86_APIC_BASE_RSVD | x86_rsvd_pa_bits()))
		return 1;
	x->msrs.apic_base = val;
	return 0;
}

/* A memory type of the MTRRs and PAT: UC, WC, WT, WP or WB. */
static bool x86_mem_type_valid(u8 t)
{
	return t < 8 && ((1 << t) & 0x73);
}

/* Eight types, one a byte (PAT, the fixed-range MTRRs); PAT also UC-. */
static bool x86_types_valid(u64 val, bool pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = val >> (i * 8);

		if (!x86_mem_type_valid(t) && !(pat && t == 7))
			return false;
	}
	return true;
}

bool x86_pat_valid(u64 val)
{
	return x86_types_valid(val, true);
}

/* The fixed-range MTRRs: 64K_00000, 16K_80000, 16K_A0000, 4K_C0000.. */
static int x86_mtrr_fixed_index(u32 msr)
{
	switch (msr) {
	case X86_MSR_MTRR_FIX64K:
		return 0;
	case X86_MSR_MTRR_FIX16K:
	case (X86_MSR_MTRR_FIX16K + 1):
		return 1 + msr - X86_MSR_MTRR_FIX16K;
	case X86_MSR_MTRR_FIX4K ... (X86_MSR_MTRR_FIX4K + 7):
		return 3 + msr - X86_MSR_MTRR_FIX4K;
	default:
		return -1;
	}
}

/* The MTRRs: 1 for an MSR that is not one or a value the CPU refuses. */
static int x86_mtrr_access(struct x86_msrs *m, u32 msr, u64 *val, bool write)
{
	int i = x86_mtrr_fixed_index(msr);
	u64 *p;

	if (msr == X86_MSR_MTRR_CAP) {
		if (write)
			return 1;
		*val = X86_MTRRCAP;
		return 0;
	}
	if (msr == X86_MSR_MTRR_DEF_TYPE) {
		p = &m->mtrr_def_type;
		if (write && ((*val & X86_MTRR_DEF_RSVD) ||
			      !x86_mem_type_valid(*val & 0xff)))
			return 1;
	} else if (i >= 0) {
		p = &m->mtrr_fixed[i];
		if (write && !x86_types_valid(*val, false))
			return 1;
	} else if (msr >= X86_MSR_MTRR_VAR &&
		   msr < (X86_MSR_MTRR_VAR + 2 * X86_NR_VAR_MTRR)) {
		i = msr - X86_MSR_MTRR_VAR;
		p = &m->mtrr_var[i];
		/* A base: a type, no bits 8-11; a mask: the valid bit. */
		if (write && ((*val & x86_rsvd_pa_bits()) ||
			      (!(i & 1) && ((*val & 0xf00) ||
					    !x86_mem_type_valid(*val & 0xff))) ||
			      ((i & 1) && (*val & 0x7ff))))
			return 1;
	} else {
		return -ENOENT;
	}
	if (write)
		*p = *val;
	else
		*val = *p;
	return 0;
}

/*
 * KVM_X86_SETUP_MCE: the banks and capabilities of the vCPU's MCG_CAP,
 * MCG_CTL and each bank's CTL all ones, as KVM sets them.
 */
int x86_setup_mce(struct x86_vcpu *x, u64 __user *argp)
{
	struct x86_msrs *m = &x->msrs;
	u64 cap;
	u32 i, banks;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	banks = cap & MCG_BANKCNT_MASK;
	if (!banks || banks > X86_MCE_BANKS ||
	    (cap & ~(X86_MCE_CAP_SUPPORTED | MCG_BANKCNT_MASK |
		     MCG_EXT_CNT_MASK)))
		return -EINVAL;
	m->mcg_cap = cap;
	if (cap & MCG_CTL_P)
		m->mcg_ctl = ~0ULL;
	for (i = 0; i < banks; i++)
		m->mce_banks[i * 4] = ~0ULL;
	return 0;
}

/*
 * The machine-check registers: MCG_CAP as KVM_X86_SETUP_MCE set it (until
 * then KVM's default: its bank count, no MCG_CTL), and each bank's CTL,
 * STATUS, ADDR and MISC, with KVM's checks.
 */
static int x86_mce_access(struct x86_msrs *m, u32 msr, u64 *val, bool write,
			  bool host)
{
	bool ctl_p = m->mcg_cap & MCG_CTL_P;
	u32 off;

	switch (msr) {
	case MSR_IA32_MCG_CAP:
		if (write)
			return 1;	/* KVM_X86_SETUP_MCE's, not an MSR write */
		*val = m->mcg_cap;
		return 0;
	case MSR_IA32_MCG_STATUS:
		if (write)
			m->mcg_status = *val;
		else
			*val = m->mcg_status;
		return 0;
	case MSR_IA32_MCG_CTL:
		/* Without MCG_CTL_P: userspace may write 0, the guest nothing. */
		if (!write)
			*val = m->mcg_ctl;
		if (!ctl_p && (!host || (write && *val)))
			return 1;
		if (write && *val && *val != ~0ULL)
			return 1;
		if (write)
			m->mcg_ctl = *val;
		return 0;
	}
	if (msr < MSR_IA32_MC0_CTL ||
	    msr >= MSR_IA32_MC0_CTL + 4 * X86_MCE_BANKS)
		return -ENOENT;
	off = msr - MSR_IA32_MC0_CTL;
	if (off >= 4 * (m->mcg_cap & MCG_BANKCNT_MASK))
		return 1;
	if (!write) {
		*val = m->mce_banks[off];
		return 0;
	}
	/* CTL: all ones or 0 (bit 10 and 0 may be clear, for old guests). */
	if ((off & 3) == 0 && *val && (*val | BIT(10) | 1) != ~0ULL)
		return 1;
	/* STATUS: only userspace may make an error appear. */
	if ((off & 3) == 1 && *val && !host)
		return 1;
	m->mce_banks[off] = *val;
	return 0;
}

/* TSC: the host's plus the vCPU's offset; a guest's write moves TSC_ADJUST. */
static void x86_set_tsc(struct x86_msrs *m, u64 val, bool host)
{
	s64 adj = val - (rdtsc() + m->tsc_offset);

	m->tsc_offset += adj;
	if (!host)
		m->tsc_adjust += adj;
}

static int x86_common_msr(struct x86_vcpu *x, u32 msr, u64 *val, bool write,
			  bool host)
{
	struct x86_msrs *m = &x->msrs;
	int r;

	switch (msr) {
	case MSR_IA32_APICBASE:
		if (write)
			return x86_set_apic_base(x, *val, host);
		*val = m->apic_base;
		return 0;
	case MSR_IA32_TSC:
		if (write)
			x86_set_tsc(m, *val, host);
		else
			*val = rdtsc() + m->tsc_offset;
		return 0;
	case MSR_IA32_TSC_ADJUST:
		if (write) {
			if (!host)
				m->tsc_offset += *val - m->tsc_adjust;
			m->tsc_adjust = *val;
		} else {
			*val = m->tsc_adjust;
		}
		return 0;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_WALL_CLOCK_NEW:
	case MSR_KVM_SYSTEM_TIME_NEW:
		/*
		 * kvmclock is not offered (no PV CPUID leaf), but VMMs write
		 * these at reset as KVM accepts them: kept, never enabled.
		 */
		if (!write) {
			*val = msr == MSR_KVM_WALL_CLOCK ||
			       msr == MSR_KVM_WALL_CLOCK_NEW ?
			       m->kvm_wall_clock : m->kvm_system_time;
			return 0;
		}
		if (msr == MSR_KVM_WALL_CLOCK || msr == MSR_KVM_WALL_CLOCK_NEW) {
			if (*val)
				return 1;
			m->kvm_wall_clock = 0;
		} else {
			if (*val & 1)
				return 1;
			m->kvm_system_time = *val;
		}
		return 0;
	case MSR_IA32_UCODE_REV:
		/* A feature MSR: the VMM sets it; the guest's writes go. */
		if (write && host)
			m->ucode_rev = *val;
		else if (!write)
			*val = m->ucode_rev;
		return 0;
	case MSR_IA32_MISC_ENABLE:
		if (write)
			m->misc_enable = *val;
		else
			*val = m->misc_enable;
		return 0;
	case MSR_IA32_POWER_CTL:
		/* Kept for the guest, which reads back what it wrote. */
		if (write)
			m->power_ctl = *val;
		else
			*val = m->power_ctl;
		return 0;
	case X86_MSR_X2APIC_FIRST ... X86_MSR_X2APIC_LAST:
		/* Registers of x2APIC mode, which a vCPU never enters here. */
		return 1;
	}
	r = x86_mtrr_access(m, msr, val, write);
	if (r != -ENOENT)
		return r;
	r = x86_mce_access(m, msr, val, write, host);
	if (r != -ENOENT)
		return r;
	if (x86_msr_in(x86_msr_raz, ARRAY_SIZE(x86_msr_raz), msr)) {
		if (!write)
			*val = 0;
		return 0;
	}
	return X86_MSR_UNKNOWN;
}

/* One MSR, read: the backend's, else the common file's. */
int x86_get_msr(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		const struct x86_sregs_ops *ops, u32 msr, u64 *val, bool host)
{
	int r = ops->get_msr(vcpu, msr, val);

	return r == -ENOENT ? x86_common_msr(x, msr, val, false, host) : r;
}

int x86_set_msr(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		const struct x86_sregs_ops *ops, u32 msr, u64 val, bool host)
{
	int r = ops->set_msr(vcpu, msr, val, host);

	return r == -ENOENT ? x86_common_msr(x, msr, &val, true, host) : r;
}

/* --- the VMM's view of the guest's accesses ------------------------------- */

/*
 * The MSRs a backend may let the guest read and write without an exit
 * (SVM all of them, VMX FS and GS base): those the VMCB or VMCS switches.
 * A filter that denies one of them makes every MSR exit.
 */
const u32 x86_guest_owned_msrs[] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_FS_BASE,
	MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_IA32_SYSENTER_CS,
	MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};

const unsigned int x86_nr_guest_owned_msrs = ARRAY_SIZE(x86_guest_owned_msrs);

/* One range of a filter: a set bit allows MSR base + bit, as in KVM. */
struct x86_msr_range {
	u32 flags;		/* KVM_MSR_FILTER_READ, _WRITE */
	u32 base;
	u32 nmsrs;
	unsigned long *bitmap;
};

/* KVM_X86_SET_MSR_FILTER's filter, the ranges without nmsrs left out. */
struct x86_msr_filter {
	bool default_allow;
	u32 count;
	struct x86_msr_range ranges[KVM_MSR_FILTER_MAX_RANGES];
};

static void x86_msr_filter_put(struct x86_msr_filter *f)
{
	u32 i;

	if (!f)
		return;
	for (i = 0; i < f->count; i++)
		kfree(f->ranges[i].bitmap);
	kfree(f);
}

/*
 * May the guest make this access (KVM_MSR_FILTER_READ or _WRITE)?  The
 * first range holding the MSR for that access decides, else the default;
 * the ends wrap at 32 bits, as KVM's kvm_msr_allowed() computes them.
 */
static bool x86_msr_allowed(const struct x86_msr_filter *f, u32 msr, u32 type)
{
	const struct x86_msr_range *r;
	u32 i;

	if (!f || (msr >= X86_MSR_X2APIC_FIRST && msr <= X86_MSR_X2APIC_LAST))
		return true;
	for (i = 0; i < f->count; i++) {
		r = &f->ranges[i];
		if (msr >= r->base && msr < r->base + r->nmsrs &&
		    (r->flags & type))
			return test_bit(msr - r->base, r->bitmap);
	}
	return f->default_allow;
}

/* A range of KVM_X86_SET_MSR_FILTER, with KVM's checks. */
static int x86_msr_filter_add(struct x86_msr_filter *f,
			      const struct kvm_msr_filter_range *u)
{
	unsigned long *bitmap;
	size_t size;

	if (!u->nmsrs)
		return 0;	/* not used, whatever its other fields */
	if (!u->flags ||
	    (u->flags & ~(KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)))
		return -EINVAL;
	size = BITS_TO_LONGS(u->nmsrs) * sizeof(long);
	if (size > KVM_MSR_FILTER_MAX_BITMAP_SIZE)
		return -EINVAL;
	bitmap = memdup_user(u64_to_user_ptr((u64)(unsigned long)u->bitmap),
			     size);
	if (IS_ERR(bitmap))
		return PTR_ERR(bitmap);
	f->ranges[f->count++] = (struct x86_msr_range) {
		.flags = u->flags,
		.base = u->base,
		.nmsrs = u->nmsrs,
		.bitmap = bitmap,
	};
	return 0;
}

/* Does the filter deny the guest an access the hardware would not exit on? */
static bool x86_msr_filter_denies_owned(const struct x86_msr_filter *f)
{
	u32 i, msr;

	for (i = 0; i < x86_nr_guest_owned_msrs; i++) {
		msr = x86_guest_owned_msrs[i];
		if (!x86_msr_allowed(f, msr, KVM_MSR_FILTER_READ) ||
		    !x86_msr_allowed(f, msr, KVM_MSR_FILTER_WRITE))
			return true;
	}
	return false;
}

/*
 * KVM_X86_SET_MSR_FILTER: KVM 6.1's checks in its order, then the new
 * filter replaces the old one for every vCPU; those in guest mode leave it
 * before this returns, so that the backends' MSR maps follow (msr_exit_all).
 */
long x86_set_msr_filter(struct axvcpu_vm *vm, struct kvm_msr_filter __user *uf)
{
	struct x86_msr_filter *f, *old;
	struct kvm_msr_filter k;
	bool empty = true, exit_all;
	u32 i;
	int r;

	if (copy_from_user(&k, uf, sizeof(k)))
		return -EFAULT;
	if (k.flags & ~KVM_MSR_FILTER_DEFAULT_DENY)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(k.ranges); i++)
		empty &= !k.ranges[i].nmsrs;
	/* Denying every MSR is not a filter KVM takes. */
	if (empty && (k.flags & KVM_MSR_FILTER_DEFAULT_DENY))
		return -EINVAL;

	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	f->default_allow = !(k.flags & KVM_MSR_FILTER_DEFAULT_DENY);
	for (i = 0; i < ARRAY_SIZE(k.ranges); i++) {
		r = x86_msr_filter_add(f, &k.ranges[i]);
		if (r)
			goto out_free;
	}
	exit_all = x86_msr_filter_denies_owned(f);

	mutex_lock(&vm->lock);
	old = rcu_replace_pointer(vm->msr_filter, f,
				  lockdep_is_held(&vm->lock));
	WRITE_ONCE(vm->msr_exit_all, exit_all);
	axvcpu_vm_kick_guests(vm);
	mutex_unlock(&vm->lock);
	/* Exit handlers may still read the old one. */
	synchronize_rcu();
	x86_msr_filter_put(old);
	return 0;

out_free:
	x86_msr_filter_put(f);
	return r;
}

/* The VM goes: no vCPU is left to read its filter. */
void x86_msr_filter_free(struct axvcpu_vm *vm)
{
	x86_msr_filter_put(rcu_dereference_protected(vm->msr_filter, true));
	RCU_INIT_POINTER(vm->msr_filter, NULL);
}

/* The KVM_MSR_EXIT_REASON_* of a refusal. */
static u32 x86_msr_exit_reason(int r)
{
	switch (r) {
	case X86_MSR_UNKNOWN:
		return KVM_MSR_EXIT_REASON_UNKNOWN;
	case X86_MSR_FILTERED:
		return KVM_MSR_EXIT_REASON_FILTER;
	default:
		return KVM_MSR_EXIT_REASON_INVAL;
	}
}

/*
 * The guest's RDMSR or WRMSR (ECX, EDX:EAX), as KVM's kvm_emulate_rdmsr()
 * and kvm_emulate_wrmsr(): the filter, then the MSR; a refusal goes to
 * userspace when the VMM asked for its reason, RIP still at the
 * instruction until the next KVM_RUN completes it from next_rip.
 */
enum x86_msr_action x86_guest_msr(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
				  const struct x86_sregs_ops *ops, bool write,
				  u64 next_rip)
{
	unsigned long *regs = x->regs;
	u32 msr = regs[__VCPU_REGS_RCX], reason;
	struct kvm_run *run = vcpu->run;
	u64 val = 0;
	bool allowed;
	int r;

	if (write)
		val = (regs[__VCPU_REGS_RDX] << 32) | (u32)regs[__VCPU_REGS_RAX];
	rcu_read_lock();
	allowed = x86_msr_allowed(rcu_dereference(vcpu->vm->msr_filter), msr,
				  write ? KVM_MSR_FILTER_WRITE :
					  KVM_MSR_FILTER_READ);
	rcu_read_unlock();
	if (!allowed)
		r = X86_MSR_FILTERED;
	else if (write)
		r = x86_set_msr(vcpu, x, ops, msr, val, false);
	else
		r = x86_get_msr(vcpu, x, ops, msr, &val, false);
	if (!r) {
		if (!write) {
			regs[__VCPU_REGS_RAX] = (u32)val;
			regs[__VCPU_REGS_RDX] = val >> 32;
		}
		return X86_MSR_SKIP;
	}

	reason = x86_msr_exit_reason(r);
	if (!(READ_ONCE(vcpu->vm->user_space_msr) & reason))
		return X86_MSR_GP;
	run->exit_reason = write ? KVM_EXIT_X86_WRMSR : KVM_EXIT_X86_RDMSR;
	run->msr.error = 0;
	memset(run->msr.pad, 0, sizeof(run->msr.pad));
	run->msr.reason = reason;
	run->msr.index = msr;
	run->msr.data = write ? val : 0;
	x->pending = write ? X86_PENDING_WRMSR : X86_PENDING_RDMSR;
	x->sio.next_rip = next_rip;
	return X86_MSR_USER;
}

/*
 * KVM_RUN after KVM_EXIT_X86_RDMSR or _WRMSR: #GP if userspace set error,
 * else the data of a read into EDX:EAX and RIP past the instruction.
 */
void x86_complete_msr(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		      const struct x86_sregs_ops *ops, u64 *rip, bool read)
{
	struct kvm_run *run = vcpu->run;
	u64 data = READ_ONCE(run->msr.data);

	if (READ_ONCE(run->msr.error)) {
		ops->inject_gp(vcpu);
		return;
	}
	if (read) {
		x->regs[__VCPU_REGS_RAX] = (u32)data;
		x->regs[__VCPU_REGS_RDX] = data >> 32;
	}
	*rip = x->sio.next_rip;
}

/*
 * The entries of a KVM_GET/SET_MSRS (vCPU or system fd), with KVM's
 * limit; *n their count.  kfree() them.
 */
struct kvm_msr_entry *x86_msrs_copy_in(struct kvm_msrs __user *um, u32 *n)
{
	struct kvm_msrs m;

	if (copy_from_user(&m, um, sizeof(m)))
		return ERR_PTR(-EFAULT);
	if (m.nmsrs >= X86_MAX_IO_MSRS)
		return ERR_PTR(-E2BIG);
	*n = m.nmsrs;
	return memdup_user(um->entries, sizeof(struct kvm_msr_entry) * m.nmsrs);
}

/*
 * KVM_GET_MSRS and KVM_SET_MSRS: the entries in order up to the first
 * one refused; the answer is how many were done, as KVM's msr_io().
 */
long x86_msrs_ioctl(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		    const struct x86_sregs_ops *ops, unsigned int ioctl,
		    struct kvm_msrs __user *um)
{
	bool write = ioctl == KVM_SET_MSRS;
	struct kvm_msr_entry *e;
	long r;
	u32 i, n;

	e = x86_msrs_copy_in(um, &n);
	if (IS_ERR(e))
		return PTR_ERR(e);
	for (i = 0; i < n; i++) {
		if (write ? x86_set_msr(vcpu, x, ops, e[i].index, e[i].data,
					true) :
			    x86_get_msr(vcpu, x, ops, e[i].index, &e[i].data,
					true))
			break;
	}
	r = i;
	if (!write && copy_to_user(um->entries, e, sizeof(*e) * n))
		r = -EFAULT;
	kfree(e);
	return r;
}

/*
 * KVM_GET_MSR_INDEX_LIST: what a VMM saves and restores, and the vCPU
 * really keeps; the MTRRs are not in KVM's list (a VMM sets them when
 * CPUID has MTRR).  TSC_AUX only where the guest has it.
 */
static const u32 x86_saved_msrs[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SYSCALL_MASK, MSR_LSTAR,
	MSR_IA32_TSC, MSR_IA32_CR_PAT, MSR_TSC_AUX, MSR_IA32_TSC_ADJUST,
	MSR_IA32_MISC_ENABLE, MSR_IA32_MCG_STATUS, MSR_IA32_MCG_CTL,
	MSR_K7_HWCR, MSR_IA32_POWER_CTL,
};

static_assert(ARRAY_SIZE(x86_saved_msrs) <= X86_NR_SAVED_MSRS);

/* Fills msrs (room for X86_NR_SAVED_MSRS) and returns the count. */
u32 x86_msr_index_list(u32 *msrs)
{
	u32 i, n = 0;

	for (i = 0; i < ARRAY_SIZE(x86_saved_msrs); i++) {
		if (x86_saved_msrs[i] == MSR_TSC_AUX &&
		    !(x86_guest_uret & BIT(X86_URET_TSC_AUX)))
			continue;
		msrs[n++] = x86_saved_msrs[i];
	}
	return n;
}
