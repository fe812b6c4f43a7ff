// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: x86 backend choice.
 */
#include <linux/err.h>
#include <linux/printk.h>
#include <asm/cpufeature.h>

#include "../../axvcpu_host.h"
#include "x86.h"

const struct axvcpu_arch_ops *axvcpu_arch_probe(void)
{
	if (boot_cpu_has(X86_FEATURE_SVM))
		return axvcpu_svm_probe();
	if (boot_cpu_has(X86_FEATURE_VMX)) {
		pr_err("axvcpu: this CPU has VMX; the VMX backend is not available yet\n");
		return ERR_PTR(-ENODEV);
	}
	pr_err("axvcpu: no hardware virtualization (SVM or VMX) on this CPU\n");
	return ERR_PTR(-ENODEV);
}
