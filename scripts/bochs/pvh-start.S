/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pvh-start.S - entry of the PVH shim: the multiboot loader jumps here in
 * 32-bit protected mode, paging off, with the magic in EAX and the
 * multiboot information in EBX.
 */
	.section .text
	.globl _start
_start:
	cli
	cld
	mov	$shim_stack_top, %esp
	push	%ebx
	push	%eax
	call	shim_main
1:	hlt
	jmp	1b

	.section .bss
	.balign 16
	.space	16384
shim_stack_top:
	.section .note.GNU-stack, "", @progbits
