/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: the arm64 world switch, and the EL2 vectors a guest exits by.
 *
 * int axvcpu_arm64_enter(struct user_pt_regs *regs, struct arm64_exit *exit,
 *			 u64 *keys)
 *
 * Called at EL2 with every DAIF bit set, the guest's HCR_EL2, stage-2 and
 * EL1 state loaded and VBAR_EL2 pointing at axvcpu_arm64_vectors.  Saves
 * the host's callee-saved registers and SP_EL0 (the kernel's "current")
 * in a frame on the stack, loads the guest's x0-x30, SP_EL0, PC and
 * PSTATE from regs and ERETs.  The guest cannot touch SP_EL2, so the exit
 * vector finds the frame where it left it: it stores the guest's
 * registers back, what the exception was into exit, and returns 0 to the
 * caller.
 *
 * Before anything of the host can branch indirectly, the exit path clears
 * the branch history as axvcpu_arm64_exit_conf says (Spectre-BHB), and
 * catches an SError the guest left pending (with RAS, the vectors' ESB
 * deferred it to DISR_EL1; without, it is taken here, in a window of one
 * instruction with SErrors unmasked), so that the host never takes the
 * guest's SError as its own.
 *
 * keys, unless NULL, are the guest's pointer authentication keys (APIA,
 * APIB, APDA, APDB, APGA, each low then high): they replace the host's
 * here, where no return address is signed, and the host's are back before
 * the return to the caller, which authenticates its own.
 */
#include <linux/arm-smccc.h>
#include <linux/linkage.h>
#include <asm/assembler.h>
#include <asm/fpsimdmacros.h>
#include <asm/sysreg.h>

/* struct user_pt_regs */
#define REGS_X(n)	((n) * 8)
#define REGS_SP		(31 * 8)
#define REGS_PC		(32 * 8)
/* struct arm64_exit */
#define EXIT_VECTOR	0
#define EXIT_ESR	8
#define EXIT_FAR	16
#define EXIT_HPFAR	24
#define EXIT_SERROR	32
/* struct arm64_exit_conf */
#define CONF_BHB	0
#define CONF_BHB_LOOPS	4
#define CONF_RAS	8
/* enum arm64_bhb */
#define BHB_LOOP	1
#define BHB_CLRBHB	2
#define BHB_FW		3
/* ISR_EL1.A: an SError is pending (6.1's headers have no name for it) */
#define ISR_EL1_A_BIT	8
/* The host frame */
#define FRAME_X18	96
#define FRAME_REGS	104
#define FRAME_SP_EL0	112
#define FRAME_EXIT	120
#define FRAME_KEYS	128	/* the guest's keys, or NULL */
#define FRAME_HOST_KEYS	136	/* the host's: 10 registers */
#define FRAME_SIZE	224

/* Move the five keys between the CPU and memory at \base, with \t1, \t2. */
	.macro	key_op, op, base, off, lo, hi, t1, t2
	.ifc	\op, save
	mrs_s	\t1, \lo
	mrs_s	\t2, \hi
	stp	\t1, \t2, [\base, #\off]
	.else
	ldp	\t1, \t2, [\base, #\off]
	msr_s	\lo, \t1
	msr_s	\hi, \t2
	.endif
	.endm

	.macro	keys_op, op, base, t1, t2
	key_op	\op, \base, 0, SYS_APIAKEYLO_EL1, SYS_APIAKEYHI_EL1, \t1, \t2
	key_op	\op, \base, 16, SYS_APIBKEYLO_EL1, SYS_APIBKEYHI_EL1, \t1, \t2
	key_op	\op, \base, 32, SYS_APDAKEYLO_EL1, SYS_APDAKEYHI_EL1, \t1, \t2
	key_op	\op, \base, 48, SYS_APDBKEYLO_EL1, SYS_APDBKEYHI_EL1, \t1, \t2
	key_op	\op, \base, 64, SYS_APGAKEYLO_EL1, SYS_APGAKEYHI_EL1, \t1, \t2
	.endm

	.text
SYM_FUNC_START(axvcpu_arm64_enter)
	stp	x29, x30, [sp, #-FRAME_SIZE]!
	mov	x29, sp
	stp	x19, x20, [sp, #16]
	stp	x21, x22, [sp, #32]
	stp	x23, x24, [sp, #48]
	stp	x25, x26, [sp, #64]
	stp	x27, x28, [sp, #80]
	stp	x18, x0, [sp, #FRAME_X18]
	str	x2, [sp, #FRAME_KEYS]
	cbz	x2, 1f
	add	x3, sp, #FRAME_HOST_KEYS
	keys_op	save, x3, x4, x5
	keys_op	load, x2, x4, x5
1:	mrs	x2, sp_el0
	stp	x2, x1, [sp, #FRAME_SP_EL0]

	ldr	x2, [x0, #REGS_SP]
	msr	sp_el0, x2
	ldp	x2, x3, [x0, #REGS_PC]
	msr	elr_el2, x2
	msr	spsr_el2, x3
	ldp	x2, x3, [x0, #REGS_X(2)]
	ldp	x4, x5, [x0, #REGS_X(4)]
	ldp	x6, x7, [x0, #REGS_X(6)]
	ldp	x8, x9, [x0, #REGS_X(8)]
	ldp	x10, x11, [x0, #REGS_X(10)]
	ldp	x12, x13, [x0, #REGS_X(12)]
	ldp	x14, x15, [x0, #REGS_X(14)]
	ldp	x16, x17, [x0, #REGS_X(16)]
	ldp	x18, x19, [x0, #REGS_X(18)]
	ldp	x20, x21, [x0, #REGS_X(20)]
	ldp	x22, x23, [x0, #REGS_X(22)]
	ldp	x24, x25, [x0, #REGS_X(24)]
	ldp	x26, x27, [x0, #REGS_X(26)]
	ldp	x28, x29, [x0, #REGS_X(28)]
	ldr	x30, [x0, #REGS_X(30)]
	ldp	x0, x1, [x0, #REGS_X(0)]
	eret
	sb
SYM_FUNC_END(axvcpu_arm64_enter)

/* [sp] = guest x0, x1; x1 = the vector's offset; the frame above. */
SYM_CODE_START_LOCAL(axvcpu_arm64_exit)
	ldr	x0, [sp, #16 + FRAME_REGS]
	stp	x2, x3, [x0, #REGS_X(2)]
	stp	x4, x5, [x0, #REGS_X(4)]
	stp	x6, x7, [x0, #REGS_X(6)]
	stp	x8, x9, [x0, #REGS_X(8)]
	stp	x10, x11, [x0, #REGS_X(10)]
	stp	x12, x13, [x0, #REGS_X(12)]
	stp	x14, x15, [x0, #REGS_X(14)]
	stp	x16, x17, [x0, #REGS_X(16)]
	stp	x18, x19, [x0, #REGS_X(18)]
	stp	x20, x21, [x0, #REGS_X(20)]
	stp	x22, x23, [x0, #REGS_X(22)]
	stp	x24, x25, [x0, #REGS_X(24)]
	stp	x26, x27, [x0, #REGS_X(26)]
	stp	x28, x29, [x0, #REGS_X(28)]
	str	x30, [x0, #REGS_X(30)]
	ldp	x2, x3, [sp], #16
	stp	x2, x3, [x0, #REGS_X(0)]
	mrs	x2, sp_el0
	str	x2, [x0, #REGS_SP]
	mrs	x2, elr_el2
	mrs	x3, spsr_el2
	stp	x2, x3, [x0, #REGS_PC]

	ldp	x2, x0, [sp, #FRAME_SP_EL0]
	msr	sp_el0, x2
	str	x1, [x0, #EXIT_VECTOR]
	mrs	x2, esr_el2
	mrs	x3, far_el2
	stp	x2, x3, [x0, #EXIT_ESR]
	mrs	x2, hpfar_el2
	str	x2, [x0, #EXIT_HPFAR]

	/* The guest's pending SError, into x2 (0: none). */
	adr_l	x4, axvcpu_arm64_exit_conf
	ldr	w5, [x4, #CONF_RAS]
	cbz	w5, 2f
	mrs_s	x2, SYS_DISR_EL1
	cbz	x2, 3f
	msr_s	SYS_DISR_EL1, xzr
	b	3f
2:	dsb	sy			/* the guest's accesses complete */
	isb
	mrs	x2, isr_el1
	tbz	x2, #ISR_EL1_A_BIT, 2f
	mov	x2, xzr			/* the vector puts ESR_EL2 here */
	msr	daifclr, #4
axvcpu_arm64_serror_start:
	isb
axvcpu_arm64_serror_end:
	msr	daifset, #4
	b	3f
2:	mov	x2, xzr
3:	str	x2, [x0, #EXIT_SERROR]

	/* Spectre-BHB: no guest-made history reaches an indirect branch. */
	ldp	w2, w3, [x4, #CONF_BHB]
	cmp	w2, #BHB_LOOP
	b.eq	4f
	cmp	w2, #BHB_CLRBHB
	b.eq	5f
	cmp	w2, #BHB_FW
	b.ne	7f
	mov_q	x0, ARM_SMCCC_ARCH_WORKAROUND_3
	smc	#0
	b	7f
4:	b	6f
6:	subs	w3, w3, #1
	b.ne	4b
	dsb	nsh
	isb
	b	7f
5:	clearbhb
	isb
7:
	ldr	x2, [sp, #FRAME_KEYS]
	cbz	x2, 1f
	keys_op	save, x2, x4, x5
	add	x3, sp, #FRAME_HOST_KEYS
	keys_op	load, x3, x4, x5
	isb				/* the host's keys for the caller's return */
1:	ldr	x18, [sp, #FRAME_X18]
	ldp	x19, x20, [sp, #16]
	ldp	x21, x22, [sp, #32]
	ldp	x23, x24, [sp, #48]
	ldp	x25, x26, [sp, #64]
	ldp	x27, x28, [sp, #80]
	ldp	x29, x30, [sp], #FRAME_SIZE
	mov	x0, #0
	ret
SYM_CODE_END(axvcpu_arm64_exit)

/*
 * Every entry leaves through the exit path with its offset.  An exception
 * taken at EL2 itself can only come from the few instructions of this
 * file that run with these vectors installed; the caller reports it as a
 * failure of the vCPU.
 */
	.macro	exit_vect, off
	.balign	128
	esb				/* with RAS: a pending SError to DISR_EL1 */
	stp	x0, x1, [sp, #-16]!
	mov	x1, #\off
	b	axvcpu_arm64_exit
	.endm

/*
 * An SError at EL2 in the exit path's window is the guest's: its ESR in
 * x2, and back to the window.  Any other is a failure of the vCPU.
 */
	.macro	serror_vect, off
	.balign	128
	stp	x0, x1, [sp, #-16]!
	mrs	x1, elr_el2
	adr	x0, axvcpu_arm64_serror_start
	cmp	x1, x0
	b.lo	1f
	adr	x0, axvcpu_arm64_serror_end
	cmp	x1, x0
	b.hi	1f
	ldp	x0, x1, [sp], #16
	mrs	x2, esr_el2
	eret
1:	mov	x1, #\off
	b	axvcpu_arm64_exit
	.endm

	.pushsection .text, "ax"
	.balign	2048
SYM_CODE_START(axvcpu_arm64_vectors)
	exit_vect 0x000		/* EL2 with SP_EL0 */
	exit_vect 0x080
	exit_vect 0x100
	exit_vect 0x180
	exit_vect 0x200		/* EL2 with SP_EL2 */
	exit_vect 0x280
	exit_vect 0x300
	serror_vect 0x380
	exit_vect 0x400		/* the guest, AArch64: synchronous */
	exit_vect 0x480		/* IRQ */
	exit_vect 0x500		/* FIQ */
	exit_vect 0x580		/* SError */
	exit_vect 0x600		/* the guest, AArch32 */
	exit_vect 0x680
	exit_vect 0x700
	exit_vect 0x780
SYM_CODE_END(axvcpu_arm64_vectors)
	.popsection

/* The guest's FP/SIMD registers; the host's were saved by kernel_neon_begin(). */
SYM_FUNC_START(axvcpu_arm64_fp_save)
	fpsimd_save x0, 1
	ret
SYM_FUNC_END(axvcpu_arm64_fp_save)

SYM_FUNC_START(axvcpu_arm64_fp_load)
	fpsimd_restore x0, 1
	ret
SYM_FUNC_END(axvcpu_arm64_fp_load)
