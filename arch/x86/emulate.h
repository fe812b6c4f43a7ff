/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: the x86 instruction emulator for MMIO (emulate.c).
 *
 * It knows no VMCB and no VMCS: the caller hands it the guest's mode, its
 * registers and the instruction's bytes, and it reaches guest memory only
 * through struct x86_emul_ops.  The same C file builds in the kernel and,
 * for its unit tests, in userspace (selftests/axvcpu/x86_emulate_unit.c,
 * which supplies the kernel's types before including it).
 */
#ifndef AXVCPU_X86_EMULATE_H
#define AXVCPU_X86_EMULATE_H

#ifdef __KERNEL__
#include <linux/string.h>
#include <linux/types.h>
#endif

/* The CPU modes that change how an instruction decodes. */
enum x86_emul_mode {
	X86_EMUL_REAL,		/* real mode and virtual-8086 mode */
	X86_EMUL_PROT16,	/* protected mode, CS.D = 0 */
	X86_EMUL_PROT32,	/* protected mode, CS.D = 1 */
	X86_EMUL_PROT64,	/* 64-bit mode (EFER.LMA, CS.L) */
};

/* Segment registers in the order of their encoding (and of SEG_*). */
enum x86_emul_seg {
	X86_EMUL_ES, X86_EMUL_CS, X86_EMUL_SS, X86_EMUL_DS, X86_EMUL_FS,
	X86_EMUL_GS, X86_EMUL_NR_SEGS,
};

/* What x86_emulate() and the memory callbacks return. */
enum x86_emul_result {
	X86_EMUL_DONE,		/* done: commit the registers, RFLAGS, RIP */
	X86_EMUL_MMIO,		/* not RAM: an exit for the access in ->mmio */
	X86_EMUL_FAILED,	/* not emulated: KVM_INTERNAL_ERROR_EMULATION */
};

/*
 * Guest memory at linear address la, len bytes (at most 8): X86_EMUL_DONE
 * when it is RAM and the bytes moved, X86_EMUL_MMIO with *gpa set when it
 * is not RAM (or, for a write, read-only RAM), X86_EMUL_FAILED when it does
 * not translate.  A write is called once the instruction has done all its
 * reads, as its last step.
 */
struct x86_emul_ops {
	int (*read)(void *opaque, u64 la, void *buf, unsigned int len,
		    u64 *gpa);
	int (*write)(void *opaque, u64 la, const void *buf, unsigned int len,
		     u64 *gpa);
};

/* The most MMIO reads one instruction makes (CMPS: both operands). */
#define X86_EMUL_MAX_READS	2
#define X86_EMUL_MAX_INSN	15

/*
 * What an instruction read from MMIO so far.  An MMIO read exits to
 * userspace before anything is committed; its answer is appended here and
 * the instruction runs again from its first byte, its reads answered from
 * here in order (KVM's mem_read cache, emulate.c).  Kept in the vCPU
 * between the exit and the next KVM_RUN.
 */
struct x86_emul_cache {
	u8 insn[X86_EMUL_MAX_INSN];
	u8 insn_n;			/* bytes fetched */
	u8 nr_reads;			/* reads answered */
	u64 read_la[X86_EMUL_MAX_READS];	/* where each was read */
	u64 read_data[X86_EMUL_MAX_READS];
};

/* One access for userspace: KVM_EXIT_MMIO's fields. */
struct x86_emul_mmio {
	u64 gpa;
	u64 data;			/* a write's bytes, little endian */
	u8 len;
	bool write;
};

struct x86_emul_ctxt {
	/* In: the guest, as the exit found it. */
	const struct x86_emul_ops *ops;
	void *opaque;			/* the ops' argument */
	enum x86_emul_mode mode;
	u64 seg_base[X86_EMUL_NR_SEGS];
	struct x86_emul_cache *cache;
	/* In and out: committed by the caller unless the result is a read. */
	unsigned long regs[16];		/* by encoding: RAX, RCX, ... R15 */
	u64 rflags;
	u64 rip;			/* left as it was while REP goes on */
	/* Out: X86_EMUL_MMIO's access; the instruction's length. */
	struct x86_emul_mmio mmio;
	u8 insn_len;
};

int x86_emulate(struct x86_emul_ctxt *c);

#endif /* AXVCPU_X86_EMULATE_H */
