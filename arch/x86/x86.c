// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: x86 backend choice.
 */
#include <linux/err.h>
#include <linux/printk.h>
#include <asm/cpufeature.h>
#include <asm/processor.h>
#include <linux/string.h>

#include "../../axvcpu_host.h"
#include "x86.h"

const struct axvcpu_arch_ops *axvcpu_arch_probe(void)
{
	if (boot_cpu_has(X86_FEATURE_SVM))
		return axvcpu_svm_probe();
	/* The kernel drops the flag when the firmware locked VMX off. */
	if (boot_cpu_has(X86_FEATURE_VMX) || (cpuid_ecx(1) & BIT(5)))
		return axvcpu_vmx_probe();
	pr_err("axvcpu: no hardware virtualization (SVM or VMX) on this CPU\n");
	return ERR_PTR(-ENODEV);
}

/* A number no other VM of this boot had: IBPB when a CPU changes VM. */
u64 x86_vm_serial(void)
{
	static atomic64_t serial;

	return atomic64_inc_return(&serial);
}

/* Leaf 0x40000000: the hypervisor's signature, "axvcpuaxvcpu". */
#define AXVCPU_CPUID_SIGNATURE	0x40000000
#define AXVCPU_CPUID_MAX	0x40000001

/*
 * CPUID as the guest sees it: the host's values without SVM and VMX, with
 * the hypervisor bit, the vCPU's APIC id and the OS-controlled bits
 * (OSXSAVE, OSPKE) following the guest's CR4.  On entry *eax and *ecx are
 * the leaf and subleaf.
 */
void axvcpu_x86_cpuid(u32 apic_id, u64 guest_cr4, u32 *eax, u32 *ebx,
		      u32 *ecx, u32 *edx)
{
	u32 leaf = *eax;

	if (leaf == AXVCPU_CPUID_SIGNATURE) {
		*eax = AXVCPU_CPUID_MAX;
		memcpy(ebx, "axvc", 4);
		memcpy(ecx, "puax", 4);
		memcpy(edx, "vcpu", 4);
		return;
	}
	if ((leaf & 0xffffff00) == AXVCPU_CPUID_SIGNATURE) {
		*eax = *ebx = *ecx = *edx = 0;
		return;
	}
	cpuid_count(leaf, *ecx, eax, ebx, ecx, edx);

	switch (leaf) {
	case 1:
		*ebx = (*ebx & 0x00ffffff) | (apic_id << 24);
		*ecx &= ~(CPUID_BIT(X86_FEATURE_VMX) |
			  CPUID_BIT(X86_FEATURE_OSXSAVE));
		if (guest_cr4 & X86_CR4_OSXSAVE)
			*ecx |= CPUID_BIT(X86_FEATURE_OSXSAVE);
		*ecx |= CPUID_BIT(X86_FEATURE_HYPERVISOR);
		break;
	case 7:
		*ecx &= ~CPUID_BIT(X86_FEATURE_OSPKE);
		if (guest_cr4 & X86_CR4_PKE)
			*ecx |= CPUID_BIT(X86_FEATURE_OSPKE);
		break;
	case 0x80000001:
		*ecx &= ~CPUID_BIT(X86_FEATURE_SVM);
		break;
	case 0x8000000a:	/* SVM features */
		*eax = *ebx = *ecx = *edx = 0;
		break;
	}
}
