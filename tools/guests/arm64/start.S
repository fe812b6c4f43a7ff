/* SPDX-License-Identifier: GPL-2.0 */
/*
 * arm64 sample guests' entry, at EL1 with the MMU off.  axvm starts vCPU
 * 0 here with x0 = 0 and x1 = the number of vCPUs; the others are started
 * by PSCI CPU_ON at secondary_entry with x0 = their id (the context id).
 */
#define STACK_SIZE	16384
#define MAX_CPUS	16

	.section .text.start, "ax"
	.globl _start
_start:
	mov	x19, x1
	b	1f

	.globl secondary_entry
secondary_entry:
	mov	x19, #0			/* guest_main() waits for vCPU 0's count */
1:	cmp	x0, #MAX_CPUS
	b.hs	2f
	adrp	x2, stacks
	add	x2, x2, :lo12:stacks
	add	x3, x0, #1
	lsl	x3, x3, #14		/* (id + 1) * STACK_SIZE */
	add	sp, x2, x3
	mov	x1, x19
	bl	guest_main
2:	wfi
	b	2b

	.bss
	.balign	16
stacks:
	.skip	STACK_SIZE * MAX_CPUS

	.section .note.GNU-stack, "", %progbits
