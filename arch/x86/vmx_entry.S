/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: VMX world switch.
 *
 * int axvcpu_vmx_enter(unsigned long *regs, bool launched)
 *
 * Called with interrupts off and this vCPU's VMCS current.  regs holds the
 * guest GPRs indexed by __VCPU_REGS_* (RSP lives in the VMCS).  The stack
 * pointer at VMLAUNCH/VMRESUME is written to HOST_RSP here; HOST_RIP is
 * axvcpu_vmx_exit, set when the VMCS is loaded.  Returns VMX_ENTER_EXITED
 * after a VM exit, VMX_ENTER_VMFAIL when the instruction failed (the VMCS
 * holds the error), VMX_ENTER_FAULT when a VM instruction faulted (VMX
 * turned off underneath us by an emergency restart).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include <asm/segment.h>
#include <asm/unwind_hints.h>

#include "x86_entry_macros.S"

#define HOST_RSP	0x6c14

/* Between guest_state_enter_irqoff() and its exit: nothing to trace. */
.section .noinstr.text, "ax"

SYM_FUNC_START(axvcpu_vmx_enter)
	X86_PUSH_CALLEE_SAVED

	push %rdi			/* regs, for after the exit */

	mov $HOST_RSP, %eax
1:	vmwrite %rsp, %rax
	jbe .Lvmfail

	/*
	 * CF: launched; no instruction below changes it (VERW changes ZF
	 * only).
	 */
	bt $0, %esi

	mov REG(RAX)(%rdi), %rax
	X86_LOAD_GUEST_GPRS

	/* What the host left in the CPU's buffers (MDS, MMIO): VERW. */
	VM_CLEAR_CPU_BUFFERS

	/*
	 * A VM exit resumes at axvcpu_vmx_exit (HOST_RIP), with this stack:
	 * objtool is told so.
	 */
	UNWIND_HINT_SAVE
	jnc 3f
2:	vmresume
	jmp .Lvmfail
3:	vmlaunch
	jmp .Lvmfail

SYM_INNER_LABEL(axvcpu_vmx_exit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR
	/* RSP is HOST_RSP again; every other GPR is the guest's. */
	push %rax
	mov 8(%rsp), %rax		/* regs */
	pop REG(RAX)(%rax)
	X86_SAVE_GUEST_GPRS
	xor %ebx, %ebx			/* VMX_ENTER_EXITED */

	/*
	 * The guest may have poisoned the return stack: refill it as the
	 * host's Spectre v2 mitigation asks (a single entry is enough with
	 * eIBRS: RSB_VMEXIT_LITE, PBRSB).
	 */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT, \
			   X86_FEATURE_RSB_VMEXIT_LITE
	jmp .Lout

.Lfault:
	mov $2, %ebx			/* VMX_ENTER_FAULT */
	jmp .Lout
.Lvmfail:
	mov $1, %ebx			/* VMX_ENTER_VMFAIL */
.Lout:
	pop %rax			/* regs */
	mov %ebx, %eax

	X86_CLEAR_GUEST_SCRATCH

	X86_POP_CALLEE_SAVED
	RET

	_ASM_EXTABLE(1b, .Lfault)
	_ASM_EXTABLE(2b, .Lfault)
	_ASM_EXTABLE(3b, .Lfault)
SYM_FUNC_END(axvcpu_vmx_enter)

/* The kernel exports its NMI entry only when it has KVM's VMX. */
#if IS_ENABLED(CONFIG_KVM_INTEL)
.section .text, "ax"
/* 6.1 exports the entry as asm_exc_nmi_noist; see Kbuild. */
#ifndef AXVCPU_NMI_ENTRY
#define AXVCPU_NMI_ENTRY	asm_exc_nmi_noist
#endif

/*
 * void axvcpu_vmx_do_nmi(void)
 *
 * The host's NMI that exited the guest, handled now as if it had arrived
 * here: an interrupt frame as the CPU builds it (a 16-byte aligned stack,
 * SS, RSP, RFLAGS, CS, then the return address) and the kernel's NMI
 * entry, which ends in IRET.  Unlike INT 2, this keeps NMIs blocked until
 * that IRET, as a real NMI does.  Interrupts are off.
 */
SYM_FUNC_START(axvcpu_vmx_do_nmi)
	push %rbp
	mov %rsp, %rbp
	and $-16, %rsp
	push $__KERNEL_DS
	push %rbp
	pushf
	push $__KERNEL_CS
	call AXVCPU_NMI_ENTRY
	/* IRET restored RSP to RBP; objtool is told so this way. */
	mov %rbp, %rsp
	pop %rbp
	RET
SYM_FUNC_END(axvcpu_vmx_do_nmi)
#endif
