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

#define ARM64_RESET_PSTATE	(PSR_MODE_EL1h | PSR_A_BIT | PSR_I_BIT | \
				 PSR_F_BIT | PSR_D_BIT)
#define ARM64_PTRAUTH		(BIT(KVM_ARM_VCPU_PTRAUTH_ADDRESS) | \
				 BIT(KVM_ARM_VCPU_PTRAUTH_GENERIC))
#define ARM64_FEATURES		(BIT(KVM_ARM_VCPU_POWER_OFF) | \
				 BIT(KVM_ARM_VCPU_PSCI_0_2) | ARM64_PTRAUTH)
/* Feature bits KVM 6.1 knows (KVM_VCPU_MAX_FEATURES). */
#define ARM64_KNOWN_FEATURES	7

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
	memset(a->keys, 0, sizeof(a->keys));
	arm64_sys_regs_reset(vcpu);
	a->core.regs.pstate = ARM64_RESET_PSTATE;
	a->pending = ARM64_PENDING_NONE;
	a->irq_delivered = false;
	a->vserror = false;
	a->sw_flushed = false;
	bitmap_zero(vcpu->irq_pending, AXVCPU_NR_IRQS);
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

	/* As KVM: past struct kvm_regs ENOENT, no register there EINVAL. */
	if (off >= sizeof(a->core) / sizeof(u32) ||
	    off + KVM_REG_SIZE(reg->id) / sizeof(u32) >=
	    sizeof(a->core) / sizeof(u32))
		return -ENOENT;
	if (!size || KVM_REG_SIZE(reg->id) != size)
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

/* --- KVM_GET/SET_ONE_REG, KVM_GET_REG_LIST ------------------------------ */

static bool is_timer_reg(u64 id)
{
	switch (id) {
	case KVM_REG_ARM_TIMER_CTL:
	case KVM_REG_ARM_TIMER_CNT:
	case KVM_REG_ARM_TIMER_CVAL:
		return true;
	default:
		return false;
	}
}

/* A 64-bit register other than a core one: firmware, timer or system. */
static int u64_reg_access(struct axvcpu_vcpu *vcpu,
			  const struct kvm_one_reg *reg, bool set)
{
	u64 __user *uaddr = u64_to_user_ptr(reg->addr);
	u64 coproc = reg->id & KVM_REG_ARM_COPROC_MASK;
	bool fw = coproc == KVM_REG_ARM_FW ||
		  coproc == KVM_REG_ARM_FW_FEAT_BMAP;
	u64 v;
	int r;

	if (fw && KVM_REG_SIZE(reg->id) != sizeof(u64))
		return -ENOENT;
	if (set) {
		if (get_user(v, uaddr))
			return -EFAULT;
		if (fw)
			return arm64_fw_set_reg(vcpu, reg->id, v);
		if (is_timer_reg(reg->id))
			return arm64_timer_set_reg(vcpu, reg->id, v);
		return arm64_sys_reg_set(vcpu, reg->id, v);
	}
	if (fw)
		r = arm64_fw_get_reg(vcpu, reg->id, &v);
	else if (is_timer_reg(reg->id))
		r = arm64_timer_get_reg(vcpu, reg->id, &v);
	else
		r = arm64_sys_reg_get(vcpu, reg->id, &v);
	if (r)
		return r;
	return put_user(v, uaddr);
}

static int one_reg(struct axvcpu_vcpu *vcpu, void __user *argp, bool set)
{
	struct kvm_one_reg reg;

	if (copy_from_user(&reg, argp, sizeof(reg)))
		return -EFAULT;
	/* As KVM: nothing arch-specific in the upper 32 bits. */
	if ((reg.id & ~KVM_REG_SIZE_MASK) >> 32 != KVM_REG_ARM64 >> 32)
		return -EINVAL;
	/* A PSCI CPU_ON the vCPU has not run since: first its reset. */
	arm64_apply_power_on(vcpu);
	switch (reg.id & KVM_REG_ARM_COPROC_MASK) {
	case KVM_REG_ARM_CORE:
		return core_reg_access(to_arm64(vcpu), &reg, set);
	case KVM_REG_ARM64_SVE:
		return -ENOENT;
	default:
		return u64_reg_access(vcpu, &reg, set);
	}
}

/*
 * The virtual timer's registers; KVM 6.1 has no ONE_REG id of the
 * physical timer's (its KVM_REG_ARM_PTIMER_* are ENOENT, as here).
 */
static const u64 arm64_timer_ids[] = {
	KVM_REG_ARM_TIMER_CTL, KVM_REG_ARM_TIMER_CNT, KVM_REG_ARM_TIMER_CVAL,
};

/* Every register id, in the order KVM lists them: core, firmware, timer,
 * system; their count.
 */
static unsigned int reg_list_fill(struct axvcpu_vcpu *vcpu, u64 *ids)
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
	n += arm64_fw_reg_ids(ids ? ids + n : NULL);
	for (i = 0; i < ARRAY_SIZE(arm64_timer_ids); i++, n++)
		if (ids)
			ids[n] = arm64_timer_ids[i];
	n += arm64_sys_reg_ids(vcpu, ids ? ids + n : NULL);
	return n;
}

static int get_reg_list(struct axvcpu_vcpu *vcpu, void __user *argp)
{
	struct kvm_reg_list __user *user = argp;
	unsigned int total = reg_list_fill(vcpu, NULL);
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
	reg_list_fill(vcpu, ids);
	r = copy_to_user(user->reg, ids, total * sizeof(*ids)) ? -EFAULT : 0;
	kfree(ids);
	return r;
}

/* --- KVM_ARM_VCPU_INIT ---------------------------------------------------- */

/* Every CPU is the generic target to KVM on a CPU it has no table for. */
static void preferred_target(struct kvm_vcpu_init *init)
{
	/* No features: KVM leaves them to the VMM. */
	memset(init, 0, sizeof(*init));
	init->target = KVM_ARM_TARGET_GENERIC_V8;
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

	a->features = init.features[0];
	a->ptrauth = init.features[0] & ARM64_PTRAUTH;
	arm64_reset_vcpu(vcpu);
	a->initialized = true;
	spin_lock(&v->power_lock);
	a->power_off = init.features[0] & BIT(KVM_ARM_VCPU_POWER_OFF);
	a->on_pending = false;
	spin_unlock(&v->power_lock);
	return 0;
}

/* KVM_GET/SET_MP_STATE: RUNNABLE or STOPPED (PSCI's power state). */
static int mp_state(struct axvcpu_vcpu *vcpu, void __user *argp, bool set)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	struct arm64_vm *v = vcpu->vm->arch;
	struct kvm_mp_state mp;

	if (!set) {
		mp.mp_state = READ_ONCE(a->power_off) ? KVM_MP_STATE_STOPPED :
			      KVM_MP_STATE_RUNNABLE;
		return copy_to_user(argp, &mp, sizeof(mp)) ? -EFAULT : 0;
	}
	if (copy_from_user(&mp, argp, sizeof(mp)))
		return -EFAULT;
	if (mp.mp_state != KVM_MP_STATE_RUNNABLE &&
	    mp.mp_state != KVM_MP_STATE_STOPPED)
		return -EINVAL;
	spin_lock(&v->power_lock);
	a->power_off = mp.mp_state == KVM_MP_STATE_STOPPED;
	a->on_pending = false;
	spin_unlock(&v->power_lock);
	return 0;
}

/*
 * The vCPU's device attributes: the timers' PPIs (KVM's defaults; with no
 * in-kernel irqchip they only name the lines userspace raises) and the
 * stolen time structure's IPA (pvtime.c).
 */
static int vcpu_attr(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
		     void __user *argp)
{
	struct kvm_device_attr attr;
	int __user *uaddr;
	int irq;

	if (copy_from_user(&attr, argp, sizeof(attr)))
		return -EFAULT;
	if (attr.group == KVM_ARM_VCPU_PVTIME_CTRL)
		return arm64_pvtime_attr(vcpu, ioctl, &attr);
	if (attr.group != KVM_ARM_VCPU_TIMER_CTRL)
		return -ENXIO;
	switch (attr.attr) {
	case KVM_ARM_VCPU_TIMER_IRQ_VTIMER:
		irq = ARM64_TIMER_VIRT_PPI;
		break;
	case KVM_ARM_VCPU_TIMER_IRQ_PTIMER:
		irq = ARM64_TIMER_PHYS_PPI;
		break;
	default:
		return -ENXIO;
	}
	uaddr = u64_to_user_ptr(attr.addr);
	switch (ioctl) {
	case KVM_HAS_DEVICE_ATTR:
		return 0;
	case KVM_GET_DEVICE_ATTR:
		return put_user(irq, uaddr);
	default:
		/* KVM: the PPIs are fixed without an in-kernel irqchip. */
		return -ENXIO;
	}
}

long arm64_vcpu_ioctl(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
		      void __user *argp)
{
	struct arm64_vcpu *a = to_arm64(vcpu);

	switch (ioctl) {
	case KVM_ARM_VCPU_INIT:
		return vcpu_init(vcpu, argp);
	case KVM_GET_ONE_REG:
	case KVM_SET_ONE_REG:
		if (!a->initialized)
			return -ENOEXEC;
		return one_reg(vcpu, argp, ioctl == KVM_SET_ONE_REG);
	case KVM_GET_REG_LIST:
		if (!a->initialized)
			return -ENOEXEC;
		return get_reg_list(vcpu, argp);
	case KVM_GET_MP_STATE:
	case KVM_SET_MP_STATE:
		return mp_state(vcpu, argp, ioctl == KVM_SET_MP_STATE);
	case KVM_SET_DEVICE_ATTR:
	case KVM_GET_DEVICE_ATTR:
	case KVM_HAS_DEVICE_ATTR:
		return vcpu_attr(vcpu, ioctl, argp);
	case KVM_ARM_VCPU_FINALIZE:
		/* Nothing to finalize without SVE. */
		return a->initialized ? -EINVAL : -ENOEXEC;
	default:
		return -EINVAL;
	}
}

/* KVM_ENABLE_CAP on the VM fd: what KVM 6.1 arm64 offers and axvcpu has. */
static int vm_enable_cap(struct axvcpu_vm *vm, void __user *argp)
{
	struct arm64_vm *v = vm->arch;
	struct kvm_enable_cap cap;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	if (cap.flags)
		return -EINVAL;
	switch (cap.cap) {
	case KVM_CAP_ARM_NISV_TO_USER:
		WRITE_ONCE(v->nisv_to_user, true);
		return 0;
	case KVM_CAP_ARM_SYSTEM_SUSPEND:
		WRITE_ONCE(v->system_suspend, true);
		return 0;
	default:
		return -EINVAL;
	}
}

/* An ioctl KVM arm64's VM fd does not know fails with EINVAL. */
long arm64_vm_ioctl(struct axvcpu_vm *vm, unsigned int ioctl,
		    void __user *argp)
{
	struct kvm_vcpu_init init;
	struct kvm_irq_level irq;

	switch (ioctl) {
	case KVM_ARM_PREFERRED_TARGET:
		preferred_target(&init);
		return copy_to_user(argp, &init, sizeof(init)) ? -EFAULT : 0;
	case KVM_IRQ_LINE:
		if (copy_from_user(&irq, argp, sizeof(irq)))
			return -EFAULT;
		return arm64_irq_line(vm, &irq);
	case KVM_ENABLE_CAP:
		return vm_enable_cap(vm, argp);
	default:
		return -EINVAL;
	}
}
