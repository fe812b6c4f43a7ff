// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: MSRs the guest owns until the CPU returns to user space.
 *
 * The syscall MSRs (STAR, LSTAR, CSTAR, SFMASK) matter only to user space
 * and to SYSCALL, and TSC_AUX only to RDTSCP and RDPID in user space, so
 * the host's values come back when the CPU next returns to user space (a
 * user-return notifier), not after every exit: an entry writes only the
 * MSRs whose value in the CPU is not the guest's already.  This is KVM's
 * kvm_set_user_return_msr().  VMX switches all five; SVM's VMLOAD and
 * VMSAVE switch the syscall MSRs, so it needs TSC_AUX only.
 *
 * Without CONFIG_USER_RETURN_NOTIFIER (Debian sets it) the host's values
 * stay in force for the guest.
 */
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/user-return-notifier.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>

#include "../../axvcpu_host.h"
#include "x86.h"

static const u32 x86_uret_msrs[X86_NR_URET] = {
	[X86_URET_STAR] = MSR_STAR,
	[X86_URET_LSTAR] = MSR_LSTAR,
	[X86_URET_CSTAR] = MSR_CSTAR,
	[X86_URET_SFMASK] = MSR_SYSCALL_MASK,
	[X86_URET_TSC_AUX] = MSR_TSC_AUX,
};

struct x86_uret_cpu {
	struct user_return_notifier urn;
	bool registered;		/* cur may hold a guest's values */
	u64 host[X86_NR_URET];
	u64 cur[X86_NR_URET];		/* what the CPU holds now */
};

static DEFINE_PER_CPU(struct x86_uret_cpu, x86_uret_cpu);

/* Which of them this CPU has; TSC_AUX needs RDTSCP or RDPID. */
unsigned int x86_uret_have(void)
{
	unsigned int have = BIT(X86_URET_TSC_AUX) - 1;

	if (boot_cpu_has(X86_FEATURE_RDTSCP) || boot_cpu_has(X86_FEATURE_RDPID))
		have |= BIT(X86_URET_TSC_AUX);
	return have;
}

int x86_uret_index(u32 msr)
{
	int i;

	for (i = 0; i < X86_NR_URET; i++)
		if (x86_uret_msrs[i] == msr)
			return i;
	return -1;
}

/*
 * A value the guest may write, as the CPU checks it: a canonical address
 * in LSTAR and CSTAR, bits 63:32 clear in SFMASK and TSC_AUX.  A value
 * that passes cannot make the host's WRMSR fault.
 */
bool x86_uret_valid(int i, u64 val)
{
	switch (i) {
	case X86_URET_LSTAR:
	case X86_URET_CSTAR:
		return (u64)((s64)(val << 16) >> 16) == val;
	case X86_URET_SFMASK:
	case X86_URET_TSC_AUX:
		return !(val >> 32);
	default:
		return true;
	}
}

#if IS_ENABLED(CONFIG_USER_RETURN_NOTIFIER)
static void x86_uret_restore(struct user_return_notifier *urn)
{
	struct x86_uret_cpu *u = container_of(urn, struct x86_uret_cpu, urn);
	unsigned long flags;
	int i;

	/* Also called by hardware_disable, with interrupts on or off. */
	local_irq_save(flags);
	if (u->registered) {
		user_return_notifier_unregister(urn);
		u->registered = false;
		for (i = 0; i < X86_NR_URET; i++) {
			if (u->cur[i] != u->host[i]) {
				wrmsrl(x86_uret_msrs[i], u->host[i]);
				u->cur[i] = u->host[i];
			}
		}
	}
	local_irq_restore(flags);
}

/* Before an entry, interrupts off: the guest's values of mask's MSRs. */
void x86_uret_load(const u64 *vals, unsigned int mask)
{
	struct x86_uret_cpu *u = this_cpu_ptr(&x86_uret_cpu);
	unsigned int have = x86_uret_have();
	int i;

	mask &= have;
	if (!u->registered) {
		for (i = 0; i < X86_NR_URET; i++)
			if (have & BIT(i))
				rdmsrl(x86_uret_msrs[i], u->host[i]);
		memcpy(u->cur, u->host, sizeof(u->cur));
		u->urn.on_user_return = x86_uret_restore;
		user_return_notifier_register(&u->urn);
		u->registered = true;
	}
	for (i = 0; i < X86_NR_URET; i++) {
		if ((mask & BIT(i)) && u->cur[i] != vals[i]) {
			wrmsrl(x86_uret_msrs[i], vals[i]);
			u->cur[i] = vals[i];
		}
	}
}

/*
 * This CPU turns the extension off: the host's values now, and no
 * notifier left behind.  Not from an NMI (an emergency restart): the
 * notifier list may be changing under it, and nothing returns to user
 * space any more.
 */
void x86_uret_cpu_down(void)
{
	if (!in_nmi())
		x86_uret_restore(&this_cpu_ptr(&x86_uret_cpu)->urn);
}
#else
void x86_uret_load(const u64 *vals, unsigned int mask)
{
}

void x86_uret_cpu_down(void)
{
}
#endif
