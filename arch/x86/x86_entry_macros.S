/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: what the world switches of SVM and VMX share: assembler
 * macros, included by svm_entry.S and vmx_entry.S (not built alone).
 *
 * The guest GPRs are an array indexed by __VCPU_REGS_*; RAX and RSP are
 * each backend's own business (SVM keeps both in the VMCB, VMX keeps RSP
 * in the VMCS).
 */
#ifndef AXVCPU_X86_ENTRY_MACROS_S
#define AXVCPU_X86_ENTRY_MACROS_S

#include <asm/kvm_vcpu_regs.h>

#define REG(r)	(__VCPU_REGS_##r * 8)

/* A frame, and the callee-saved registers the guest will overwrite. */
.macro X86_PUSH_CALLEE_SAVED
	push %rbp
	mov %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
.endm

.macro X86_POP_CALLEE_SAVED
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
.endm

/* The guest's GPRs but RAX and RSP from the array at RDI; RDI last. */
.macro X86_LOAD_GUEST_GPRS
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
.endm

/* The guest's GPRs but RAX and RSP into the array at RAX. */
.macro X86_SAVE_GUEST_GPRS
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
.endm

/*
 * Guest values must not leak into speculation of host code: the scratch
 * registers the host does not restore are cleared.
 */
.macro X86_CLEAR_GUEST_SCRATCH
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
.endm

#endif /* AXVCPU_X86_ENTRY_MACROS_S */
