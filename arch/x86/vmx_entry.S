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
#include <asm/kvm_vcpu_regs.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

#define REG(r)		(__VCPU_REGS_##r * 8)
#define HOST_RSP	0x6c14

.section .text, "ax"

SYM_FUNC_START(axvcpu_vmx_enter)
	push %rbp
	mov %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx

	push %rdi			/* regs, for after the exit */

	mov $HOST_RSP, %eax
1:	vmwrite %rsp, %rax
	jbe .Lvmfail

	/* ZF: launched is false; no instruction below changes the flags. */
	test %sil, %sil

	mov REG(RAX)(%rdi), %rax
	mov REG(RCX)(%rdi), %rcx
	mov REG(RDX)(%rdi), %rdx
	mov REG(RBX)(%rdi), %rbx
	mov REG(RBP)(%rdi), %rbp
	mov REG(RSI)(%rdi), %rsi
	mov REG(R8)(%rdi), %r8
	mov REG(R9)(%rdi), %r9
	mov REG(R10)(%rdi), %r10
	mov REG(R11)(%rdi), %r11
	mov REG(R12)(%rdi), %r12
	mov REG(R13)(%rdi), %r13
	mov REG(R14)(%rdi), %r14
	mov REG(R15)(%rdi), %r15
	mov REG(RDI)(%rdi), %rdi

	/*
	 * A VM exit resumes at axvcpu_vmx_exit (HOST_RIP), with this stack:
	 * objtool is told so.
	 */
	UNWIND_HINT_SAVE
	jz 3f
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
	mov %rcx, REG(RCX)(%rax)
	mov %rdx, REG(RDX)(%rax)
	mov %rbx, REG(RBX)(%rax)
	mov %rbp, REG(RBP)(%rax)
	mov %rsi, REG(RSI)(%rax)
	mov %rdi, REG(RDI)(%rax)
	mov %r8, REG(R8)(%rax)
	mov %r9, REG(R9)(%rax)
	mov %r10, REG(R10)(%rax)
	mov %r11, REG(R11)(%rax)
	mov %r12, REG(R12)(%rax)
	mov %r13, REG(R13)(%rax)
	mov %r14, REG(R14)(%rax)
	mov %r15, REG(R15)(%rax)
	xor %ebx, %ebx			/* VMX_ENTER_EXITED */

	/* The guest may have poisoned the return stack: refill it. */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RETPOLINE
	jmp .Lout

.Lfault:
	mov $2, %ebx			/* VMX_ENTER_FAULT */
	jmp .Lout
.Lvmfail:
	mov $1, %ebx			/* VMX_ENTER_VMFAIL */
.Lout:
	pop %rax			/* regs */
	mov %ebx, %eax

	/* Guest values must not leak into speculation of host code. */
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d

	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET

	_ASM_EXTABLE(1b, .Lfault)
	_ASM_EXTABLE(2b, .Lfault)
	_ASM_EXTABLE(3b, .Lfault)
SYM_FUNC_END(axvcpu_vmx_enter)
