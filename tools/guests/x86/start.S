/* SPDX-License-Identifier: GPL-2.0 */
/*
 * x86 sample guests' entry.  axvm starts every vCPU here in 64-bit long
 * mode with RDI = vCPU id and RSI = the number of vCPUs.
 */
#define STACK_SIZE	16384
#define MAX_CPUS	16

	.section .text.start, "ax"
	.globl _start
_start:
	cmpq	$MAX_CPUS, %rdi
	jae	1f
	leaq	stacks(%rip), %rsp
	movq	%rdi, %rax
	incq	%rax
	shlq	$14, %rax		/* (id + 1) * STACK_SIZE */
	addq	%rax, %rsp
	call	guest_main
1:	cli
	hlt
	jmp	1b

	.bss
	.balign	16
stacks:
	.skip	STACK_SIZE * MAX_CPUS

	.section .note.GNU-stack, "", @progbits
