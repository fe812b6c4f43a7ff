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
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/wait.h>
#include <uapi/linux/psci.h>
#include <asm/cputype.h>

#include "../../axvcpu_host.h"
#include "arm64.h"

#define PSCI_IMPL_VERSION	PSCI_VERSION(1, 0)

static bool psci_function(u32 fn)
{
	return (fn & ~0x1fU) == PSCI_0_2_FN_BASE ||
	       (fn & ~0x1fU) == PSCI_0_2_FN64_BASE;
}

static bool psci_implemented(u32 fn)
{
	switch (fn) {
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
	u32 fn = x[0];
	long r;

	if (!psci_function(fn) || (x[0] >> 32))
		return -ENOENT;
	switch (fn) {
	case PSCI_0_2_FN_PSCI_VERSION:
		r = PSCI_IMPL_VERSION;
		break;
	case PSCI_1_0_FN_PSCI_FEATURES:
		r = psci_implemented(x[1]) && !(x[1] >> 32) ?
		    PSCI_RET_SUCCESS : PSCI_RET_NOT_SUPPORTED;
		break;
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
 * A powered-off vCPU sleeps as BLOCKED, whatever its halt policy, until a
 * CPU_ON (which kicks it), a kick or a signal, as KVM's KVM_RUN sleeps.
 * A CPU_ON starts it afresh at its entry with the context id in x0.  The
 * vCPU mutex is held.
 */
int arm64_power_on(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	struct arm64_vm *v = vcpu->vm->arch;
	u64 entry, context;
	bool start;

	if (READ_ONCE(a->power_off))
		return AXVCPU_EXIT_SLEEP;
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
	return AXVCPU_EXIT_CONTINUE;
}
