// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: arm64 backend choice.
 *
 * The EL2 (VHE) backend needs the kernel at EL2 with KVM off
 * (kvm-arm.mode=none); loading refuses with one message otherwise.
 */
#include <linux/err.h>
#include <linux/printk.h>
#include <asm/virt.h>

#include "../../axvcpu_host.h"

const struct axvcpu_arch_ops *axvcpu_arch_probe(void)
{
	if (!is_kernel_in_hyp_mode()) {
		pr_err("axvcpu: the kernel does not run at EL2 with VHE (boot with kvm-arm.mode=none)\n");
		return ERR_PTR(-ENODEV);
	}
	pr_err("axvcpu: the arm64 EL2 backend is not available yet\n");
	return ERR_PTR(-ENODEV);
}
