/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: SVM world switch.
 *
 * int axvcpu_svm_enter(unsigned long *regs, u64 vmcb_pa, u64 host_pa)
 *
 * Called with GIF=0 and RFLAGS.IF=1: host interrupts that arrive in guest
 * mode exit it (INTR intercept) and are taken after STGI.  regs holds the
 * guest GPRs indexed by __VCPU_REGS_* (RAX and RSP live in the VMCB).
 * host_pa is a page of this CPU: VMSAVE / VMLOAD keep there the host state
 * that VMRUN does not switch (FS, GS, TR, LDTR, KERNEL_GS_BASE, the syscall
 * and sysenter MSRs).
 *
 * A fault on a VM instruction (SVM turned off underneath us by an
 * emergency restart) is skipped; the caller sees that no exit code was
 * written.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#include "x86_entry_macros.S"

/* Between guest_state_enter_irqoff() and its exit: nothing to trace. */
.section .noinstr.text, "ax"

SYM_FUNC_START(axvcpu_svm_enter)
	X86_PUSH_CALLEE_SAVED

	/* Kept for after VMRUN, when every GPR is the guest's. */
	push %rdx			/* host_pa */
	push %rsi			/* vmcb_pa */
	push %rdi			/* regs */

	mov %rdx, %rax
1:	vmsave %rax
2:	mov %rsi, %rax
3:	vmload %rax
4:
	X86_LOAD_GUEST_GPRS

	/* What the host left in the CPU's buffers (MDS, TSA): VERW. */
	VM_CLEAR_CPU_BUFFERS
5:	vmrun %rax
6:
	pop %rax			/* regs */
	X86_SAVE_GUEST_GPRS

	/*
	 * The guest may have poisoned the return stack: refill it where the
	 * host's Spectre v2 mitigation asks for that on VM exit.
	 */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT

	pop %rax			/* vmcb_pa */
7:	vmsave %rax
8:	pop %rax			/* host_pa */
9:	vmload %rax
10:
	X86_CLEAR_GUEST_SCRATCH

	/* Retbleed / SRSO: untrain RET before the host's returns. */
#ifdef UNTRAIN_RET_VM
	UNTRAIN_RET_VM
#else
	UNTRAIN_RET
#endif

	X86_POP_CALLEE_SAVED
	xor %eax, %eax
	RET

	_ASM_EXTABLE(1b, 2b)
	_ASM_EXTABLE(3b, 4b)
	_ASM_EXTABLE(5b, 6b)
	_ASM_EXTABLE(7b, 8b)
	_ASM_EXTABLE(9b, 10b)
SYM_FUNC_END(axvcpu_svm_enter)
