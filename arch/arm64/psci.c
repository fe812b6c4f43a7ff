// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: PSCI for arm64 guests, by HVC or SMC, as KVM gives it (the
 * KVM_ARM_VCPU_PSCI_0_2 feature, version 1.0 here).
 *
 * CPU_ON and CPU_OFF change another vCPU's power state under the VM's
 * power_lock; a powered-off vCPU sleeps (see arm64_power_on()).
 * SYSTEM_OFF and SYSTEM_RESET power every vCPU off and reach userspace as
 * KVM_EXIT_SYSTEM_EVENT.
 *
 * The walks of the VM's vCPUs hold no VM lock (the caller holds its own
 * vCPU mutex, which a VM-locked path may wait for): they run under RCU,
 * and axvcpu_create_vcpu() publishes a vCPU only once its creation can
 * no longer fail; a published vCPU lives as long as the VM.
 */
#include <linux/arm-smccc.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/wait.h>
#include <uapi/linux/psci.h>
#include <asm/cputype.h>

#include "../../axvcpu_host.h"
#include "arm64.h"

#define PSCI_IMPL_VERSION	PSCI_VERSION(1, 0)
/* KVM's firmware register values for "no such workaround". */
#define FW_WA_NOT_AVAIL		0
#define FW_WA2_UNKNOWN		1
/* The SMCCC services axvcpu implements, per KVM_REG_ARM_FW_FEAT_BMAP. */
static const u64 arm64_fw_bmap_supported[ARM64_NR_BMAPS] = {
	[ARM64_BMAP_STD] = BIT(KVM_REG_ARM_STD_BIT_TRNG_V1_0),
	[ARM64_BMAP_STD_HYP] = IS_ENABLED(CONFIG_SCHED_INFO) ?
			       BIT(KVM_REG_ARM_STD_HYP_BIT_PV_TIME) : 0,
	[ARM64_BMAP_VENDOR_HYP] = BIT(KVM_REG_ARM_VENDOR_HYP_BIT_FUNC_FEAT) |
				  BIT(KVM_REG_ARM_VENDOR_HYP_BIT_PTP),
};

static bool psci_function(u32 fn)
{
	return (fn & ~0x1fU) == PSCI_0_2_FN_BASE ||
	       (fn & ~0x1fU) == PSCI_0_2_FN64_BASE;
}

static bool psci_implemented(struct axvcpu_vcpu *vcpu, u32 fn)
{
	struct arm64_vm *v = vcpu->vm->arch;

	switch (fn) {
	case PSCI_1_0_FN_SYSTEM_SUSPEND:
	case PSCI_1_0_FN64_SYSTEM_SUSPEND:
		return READ_ONCE(v->system_suspend);
	case ARM_SMCCC_VERSION_FUNC_ID:
	case PSCI_0_2_FN_CPU_SUSPEND:
	case PSCI_0_2_FN64_CPU_SUSPEND:
	case PSCI_0_2_FN_PSCI_VERSION:
	case PSCI_0_2_FN_CPU_OFF:
	case PSCI_0_2_FN_CPU_ON:
	case PSCI_0_2_FN64_CPU_ON:
	case PSCI_0_2_FN_AFFINITY_INFO:
	case PSCI_0_2_FN64_AFFINITY_INFO:
	case PSCI_0_2_FN_MIGRATE_INFO_TYPE:
	case PSCI_0_2_FN_SYSTEM_OFF:
	case PSCI_0_2_FN_SYSTEM_RESET:
	case PSCI_1_0_FN_PSCI_FEATURES:
		return true;
	default:
		return false;
	}
}

/* Under rcu_read_lock(). */
static struct axvcpu_vcpu *psci_find(struct axvcpu_vm *vm, u64 mpidr)
{
	struct axvcpu_vcpu *t;
	unsigned long i;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(), "PSCI lookup outside RCU");
	xa_for_each(&vm->vcpus, i, t)
		if ((READ_ONCE(to_arm64(t)->sys[SR_MPIDR]) &
		     MPIDR_HWID_BITMASK) == (mpidr & MPIDR_HWID_BITMASK))
			return t;
	return NULL;
}

static long psci_cpu_on(struct axvcpu_vcpu *vcpu, u64 mpidr, u64 entry,
			u64 context)
{
	struct arm64_vm *v = vcpu->vm->arch;
	struct axvcpu_vcpu *t;
	struct arm64_vcpu *ta;
	long r = PSCI_RET_SUCCESS;

	rcu_read_lock();
	t = psci_find(vcpu->vm, mpidr);
	if (!t) {
		r = PSCI_RET_INVALID_PARAMS;
		goto out_unlock;
	}
	ta = to_arm64(t);
	spin_lock(&v->power_lock);
	if (!ta->power_off) {
		r = ta->on_pending ? PSCI_RET_ON_PENDING : PSCI_RET_ALREADY_ON;
	} else {
		ta->on_entry = entry;
		ta->on_context = context;
		ta->on_pending = true;
		ta->power_off = false;
	}
	spin_unlock(&v->power_lock);
	if (r == PSCI_RET_SUCCESS) {
		/* A halt with policy BLOCK waits for a kick. */
		set_bit(AXVCPU_REQ_KICK, &t->requests);
		wake_up_interruptible(&t->wq);
	}
out_unlock:
	rcu_read_unlock();
	return r;
}

static long psci_affinity_info(struct axvcpu_vcpu *vcpu, u64 mpidr, u64 level)
{
	struct axvcpu_vcpu *t;
	long r = PSCI_RET_INVALID_PARAMS;

	if (level)
		return r;
	rcu_read_lock();
	t = psci_find(vcpu->vm, mpidr);
	if (t)
		r = READ_ONCE(to_arm64(t)->power_off) ?
		    PSCI_0_2_AFFINITY_LEVEL_OFF : PSCI_0_2_AFFINITY_LEVEL_ON;
	rcu_read_unlock();
	return r;
}

static void psci_power_off(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vm *v = vcpu->vm->arch;

	spin_lock(&v->power_lock);
	to_arm64(vcpu)->power_off = true;
	spin_unlock(&v->power_lock);
}

static int psci_system_event(struct axvcpu_vcpu *vcpu, u32 type)
{
	struct kvm_run *run = vcpu->run;
	struct axvcpu_vcpu *t;
	unsigned long i;

	/* No vCPU runs on once the machine is going down, as in KVM. */
	rcu_read_lock();
	xa_for_each(&vcpu->vm->vcpus, i, t)
		psci_power_off(t);
	rcu_read_unlock();
	memset(&run->system_event, 0, sizeof(run->system_event));
	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = type;
	run->system_event.ndata = 1;
	return AXVCPU_EXIT_USER;
}

/*
 * The call in x0-x3.  Returns what the run loop does next, or -ENOENT when
 * it is no PSCI call at all.
 */
int arm64_handle_psci(struct axvcpu_vcpu *vcpu, bool smc)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	u64 *x = a->core.regs.regs;
	struct arm64_vm *v = vcpu->vm->arch;
	u32 fn = x[0], version = READ_ONCE(v->psci_version);
	long r;

	if (!psci_function(fn) || (x[0] >> 32))
		return -ENOENT;
	/* PSCI 0.2 (chosen by KVM_REG_ARM_PSCI_VERSION) has no 1.0 calls. */
	if (version < PSCI_VERSION(1, 0) &&
	    (fn == PSCI_1_0_FN_PSCI_FEATURES ||
	     fn == PSCI_1_0_FN_SYSTEM_SUSPEND ||
	     fn == PSCI_1_0_FN64_SYSTEM_SUSPEND))
		fn = PSCI_0_2_FN_BASE + 0x1f;	/* not supported */
	switch (fn) {
	case PSCI_0_2_FN_PSCI_VERSION:
		r = version;
		break;
	case PSCI_1_0_FN_PSCI_FEATURES:
		r = psci_implemented(vcpu, x[1]) && !(x[1] >> 32) ?
		    PSCI_RET_SUCCESS : PSCI_RET_NOT_SUPPORTED;
		break;
	case PSCI_0_2_FN_CPU_SUSPEND:
	case PSCI_0_2_FN64_CPU_SUSPEND:
		/* As KVM: a WFI (a power-down state would lose nothing here). */
		x[0] = PSCI_RET_SUCCESS;
		return AXVCPU_EXIT_HALT;
	case PSCI_1_0_FN_SYSTEM_SUSPEND:
	case PSCI_1_0_FN64_SYSTEM_SUSPEND:
		if (!READ_ONCE(v->system_suspend)) {
			r = PSCI_RET_NOT_SUPPORTED;
			break;
		}
		if (fn == PSCI_1_0_FN_SYSTEM_SUSPEND) {
			x[1] = (u32)x[1];
			x[2] = (u32)x[2];
			x[3] = (u32)x[3];
		}
		/* To userspace with the call in the registers, as KVM. */
		memset(&vcpu->run->system_event, 0,
		       sizeof(vcpu->run->system_event));
		vcpu->run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
		vcpu->run->system_event.type = KVM_SYSTEM_EVENT_SUSPEND;
		return AXVCPU_EXIT_USER;
	case PSCI_0_2_FN_CPU_ON:
		r = psci_cpu_on(vcpu, (u32)x[1], (u32)x[2], (u32)x[3]);
		break;
	case PSCI_0_2_FN64_CPU_ON:
		r = psci_cpu_on(vcpu, x[1], x[2], x[3]);
		break;
	case PSCI_0_2_FN_AFFINITY_INFO:
		r = psci_affinity_info(vcpu, (u32)x[1], (u32)x[2]);
		break;
	case PSCI_0_2_FN64_AFFINITY_INFO:
		r = psci_affinity_info(vcpu, x[1], x[2]);
		break;
	case PSCI_0_2_FN_MIGRATE_INFO_TYPE:
		r = PSCI_0_2_TOS_MP;
		break;
	case PSCI_0_2_FN_CPU_OFF:
		psci_power_off(vcpu);
		return AXVCPU_EXIT_CONTINUE;
	case PSCI_0_2_FN_SYSTEM_OFF:
		return psci_system_event(vcpu, KVM_SYSTEM_EVENT_SHUTDOWN);
	case PSCI_0_2_FN_SYSTEM_RESET:
		return psci_system_event(vcpu, KVM_SYSTEM_EVENT_RESET);
	default:
		r = PSCI_RET_NOT_SUPPORTED;
		break;
	}
	/* SMCCC results in x0-x3; KVM zeroes the unused ones, and so do we. */
	x[0] = r;
	x[1] = 0;
	x[2] = 0;
	x[3] = 0;
	return AXVCPU_EXIT_CONTINUE;
}

/*
 * A CPU_ON the vCPU has not acted on yet starts it afresh at its entry
 * with the context id in x0; KVM_RUN and ONE_REG (as KVM's) do it first.
 * The vCPU mutex is held.
 */
void arm64_apply_power_on(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	struct arm64_vm *v = vcpu->vm->arch;
	u64 entry, context;
	bool start;

	if (!READ_ONCE(a->on_pending))
		return;
	spin_lock(&v->power_lock);
	start = a->on_pending;
	a->on_pending = false;
	entry = a->on_entry;
	context = a->on_context;
	spin_unlock(&v->power_lock);
	if (start) {
		arm64_reset_vcpu(vcpu);
		a->core.regs.pc = entry;
		a->core.regs.regs[0] = context;
	}
}

/*
 * A powered-off vCPU sleeps as BLOCKED, whatever its halt policy, until a
 * CPU_ON (which kicks it), a kick or a signal, as KVM's KVM_RUN sleeps.
 * The vCPU mutex is held.
 */
int arm64_power_on(struct axvcpu_vcpu *vcpu)
{
	if (READ_ONCE(to_arm64(vcpu)->power_off))
		return AXVCPU_EXIT_SLEEP;
	arm64_apply_power_on(vcpu);
	return AXVCPU_EXIT_CONTINUE;
}

/* --- the other SMCCC services ------------------------------------------- */

static bool fw_enabled(struct axvcpu_vcpu *vcpu, enum arm64_fw_bmap b,
		       unsigned int bit)
{
	struct arm64_vm *v = vcpu->vm->arch;

	return READ_ONCE(v->fw_bmap[b]) & BIT(bit);
}

/*
 * An HVC that is not PSCI, as KVM 6.1's kvm_hvc_call_handler() answers it
 * for the services axvcpu has: the SMCCC version and features, KVM's
 * vendor UID and feature bitmap, stolen time, the TRNG and KVM's PTP clock
 * (pvtime.c); NOT_SUPPORTED for every other function,
 * unless the VMM asked for them (AXVCPU_SETUP_HYPERCALL: -ENOENT, the
 * caller makes it KVM_EXIT_HYPERCALL).
 */
int arm64_handle_smccc(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	struct arm64_vm *v = vcpu->vm->arch;
	u64 *x = a->core.regs.regs;
	u64 val[4] = { SMCCC_RET_NOT_SUPPORTED, 0, 0, 0 };
	u32 fn = x[0];

	if (arm64_smccc_service(vcpu, v->fw_bmap))
		return AXVCPU_EXIT_CONTINUE;
	switch (fn) {
	case ARM_SMCCC_VERSION_FUNC_ID:
		val[0] = ARM_SMCCC_VERSION_1_1;
		break;
	case ARM_SMCCC_ARCH_FEATURES_FUNC_ID:
		/* No workaround to offer; stolen time where enabled. */
		if ((u32)x[1] == ARM_SMCCC_HV_PV_TIME_FEATURES &&
		    fw_enabled(vcpu, ARM64_BMAP_STD_HYP,
			       KVM_REG_ARM_STD_HYP_BIT_PV_TIME))
			val[0] = SMCCC_RET_SUCCESS;
		break;
	case ARM_SMCCC_VENDOR_HYP_CALL_UID_FUNC_ID:
		if (!fw_enabled(vcpu, ARM64_BMAP_VENDOR_HYP,
				KVM_REG_ARM_VENDOR_HYP_BIT_FUNC_FEAT))
			break;
		val[0] = ARM_SMCCC_VENDOR_HYP_UID_KVM_REG_0;
		val[1] = ARM_SMCCC_VENDOR_HYP_UID_KVM_REG_1;
		val[2] = ARM_SMCCC_VENDOR_HYP_UID_KVM_REG_2;
		val[3] = ARM_SMCCC_VENDOR_HYP_UID_KVM_REG_3;
		break;
	case ARM_SMCCC_VENDOR_HYP_KVM_FEATURES_FUNC_ID:
		if (!fw_enabled(vcpu, ARM64_BMAP_VENDOR_HYP,
				KVM_REG_ARM_VENDOR_HYP_BIT_FUNC_FEAT))
			break;
		val[0] = READ_ONCE(v->fw_bmap[ARM64_BMAP_VENDOR_HYP]);
		break;
	default:
		if (a->hypercall_exit)
			return -ENOENT;
		break;
	}
	x[0] = val[0];
	x[1] = val[1];
	x[2] = val[2];
	x[3] = val[3];
	return AXVCPU_EXIT_CONTINUE;
}

/* --- KVM_REG_ARM_FW and KVM_REG_ARM_FW_FEAT_BMAP -------------------------- */

static const u64 arm64_fw_ids[] = {
	KVM_REG_ARM_PSCI_VERSION,
	KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1,
	KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2,
	KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3,
	KVM_REG_ARM_STD_BMAP,
	KVM_REG_ARM_STD_HYP_BMAP,
	KVM_REG_ARM_VENDOR_HYP_BMAP,
};

void arm64_fw_init(struct arm64_vm *v)
{
	v->psci_version = PSCI_IMPL_VERSION;
	memcpy(v->fw_bmap, arm64_fw_bmap_supported, sizeof(v->fw_bmap));
}

unsigned int arm64_fw_reg_ids(u64 *ids)
{
	if (ids)
		memcpy(ids, arm64_fw_ids, sizeof(arm64_fw_ids));
	return ARRAY_SIZE(arm64_fw_ids);
}

static int fw_bmap_index(u64 id)
{
	switch (id) {
	case KVM_REG_ARM_STD_BMAP:
		return ARM64_BMAP_STD;
	case KVM_REG_ARM_STD_HYP_BMAP:
		return ARM64_BMAP_STD_HYP;
	case KVM_REG_ARM_VENDOR_HYP_BMAP:
		return ARM64_BMAP_VENDOR_HYP;
	default:
		return -1;
	}
}

int arm64_fw_get_reg(struct axvcpu_vcpu *vcpu, u64 id, u64 *val)
{
	struct arm64_vm *v = vcpu->vm->arch;
	int b = fw_bmap_index(id);

	if (b >= 0) {
		*val = READ_ONCE(v->fw_bmap[b]);
		return 0;
	}
	switch (id) {
	case KVM_REG_ARM_PSCI_VERSION:
		*val = READ_ONCE(v->psci_version);
		return 0;
	case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1:
	case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2:
	case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3:
		/* axvcpu offers the guest none of these calls. */
		*val = FW_WA_NOT_AVAIL;
		return 0;
	default:
		return -ENOENT;
	}
}

int arm64_fw_set_reg(struct axvcpu_vcpu *vcpu, u64 id, u64 val)
{
	struct arm64_vm *v = vcpu->vm->arch;
	int b = fw_bmap_index(id), r = 0;

	if (b >= 0) {
		if (val & ~arm64_fw_bmap_supported[b])
			return -EINVAL;
		/* As KVM: fixed once a vCPU ran. */
		mutex_lock(&vcpu->vm->lock);
		if (v->has_run && val != v->fw_bmap[b])
			r = -EBUSY;
		else
			WRITE_ONCE(v->fw_bmap[b], val);
		mutex_unlock(&vcpu->vm->lock);
		return r;
	}
	switch (id) {
	case KVM_REG_ARM_PSCI_VERSION:
		if (val != PSCI_VERSION(0, 2) && val != PSCI_VERSION(1, 0))
			return -EINVAL;
		WRITE_ONCE(v->psci_version, val);
		return 0;
	case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2:
		/* UNKNOWN means NOT_AVAIL to KVM. */
		return val == FW_WA_NOT_AVAIL || val == FW_WA2_UNKNOWN ?
		       0 : -EINVAL;
	case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1:
	case KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3:
		return val == FW_WA_NOT_AVAIL ? 0 : -EINVAL;
	default:
		return -ENOENT;
	}
}
