/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: what the VMX backend's files share.
 */
#ifndef AXVCPU_VMX_H
#define AXVCPU_VMX_H

#include <linux/linkage.h>
#include <linux/types.h>

/* What axvcpu_vmx_enter() returns. */
#define VMX_ENTER_EXITED	0	/* the guest ran and exited */
#define VMX_ENTER_VMFAIL	1	/* VMLAUNCH/VMRESUME failed: see the error */
#define VMX_ENTER_FAULT		2	/* the instruction faulted (VMX is off) */

int axvcpu_vmx_enter(unsigned long *regs, bool launched);
void axvcpu_vmx_do_nmi(void);

/*
 * The host's NMI that exited the guest, handled now.  A kernel without
 * KVM's VMX exports no NMI entry: INT 2 then, which does not keep NMIs
 * blocked until the handler's IRET.
 */
static inline void vmx_do_nmi(void)
{
#if IS_ENABLED(CONFIG_KVM_INTEL)
	axvcpu_vmx_do_nmi();
#else
	asm volatile("int $2");
#endif
}

/* Where a VM exit lands: the VMCS's HOST_RIP. */
extern const char axvcpu_vmx_exit[];

#endif /* AXVCPU_VMX_H */
