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
#include <asm/kvm_vcpu_regs.h>
#include <asm/nospec-branch.h>

#define REG(r)	(__VCPU_REGS_##r * 8)

.section .text, "ax"

SYM_FUNC_START(axvcpu_svm_enter)
	push %rbp
	mov %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx

	/* Kept for after VMRUN, when every GPR is the guest's. */
	push %rdx			/* host_pa */
	push %rsi			/* vmcb_pa */
	push %rdi			/* regs */

	mov %rdx, %rax
1:	vmsave %rax
2:	mov %rsi, %rax
3:	vmload %rax
4:
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

5:	vmrun %rax
6:
	pop %rax			/* regs */
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

	/* The guest may have poisoned the return stack: refill it. */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RETPOLINE

	pop %rax			/* vmcb_pa */
7:	vmsave %rax
8:	pop %rax			/* host_pa */
9:	vmload %rax
10:
	/* Guest values must not leak into speculation of host code. */
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d

	UNTRAIN_RET

	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	xor %eax, %eax
	RET

	_ASM_EXTABLE(1b, 2b)
	_ASM_EXTABLE(3b, 4b)
	_ASM_EXTABLE(5b, 6b)
	_ASM_EXTABLE(7b, 8b)
	_ASM_EXTABLE(9b, 10b)
SYM_FUNC_END(axvcpu_svm_enter)
