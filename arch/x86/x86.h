/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: what the x86 backends share.
 */
#ifndef AXVCPU_X86_H
#define AXVCPU_X86_H

struct axvcpu_arch_ops;

#include <linux/types.h>

struct axvcpu_vm;

/* What decoding a guest instruction needs to know of the guest's mode. */
struct x86_cpu_mode {
	u64 cr0, cr3, cr4, efer;
	u64 cs_base, rip;
	bool cs_l, cs_db;
};

enum x86_mmio_extend { X86_MMIO_NONE, X86_MMIO_ZERO, X86_MMIO_SIGN };

/* A decoded MMIO access. */
struct x86_mmio_op {
	bool is_write;
	bool imm;			/* the data is an immediate */
	bool high_byte;			/* AH, CH, DH or BH */
	u8 len;				/* bytes accessed */
	u8 dst_size;			/* bytes of the register written */
	u8 reg;				/* __VCPU_REGS_* */
	u8 insn_len;
	enum x86_mmio_extend extend;
	u64 data;
};

const struct axvcpu_arch_ops *axvcpu_svm_probe(void);
bool x86_decode_mmio(const struct x86_cpu_mode *m, const u8 *insn, int n,
		     struct x86_mmio_op *op);
bool x86_mmio_decode_at(struct axvcpu_vm *vm, const struct x86_cpu_mode *m,
			struct x86_mmio_op *op);
bool x86_guest_rw(struct axvcpu_vm *vm, const struct x86_cpu_mode *m, u64 la,
		  void *buf, unsigned int len, bool write);
u64 x86_mmio_write_value(const struct x86_mmio_op *op,
			 const unsigned long *regs);
void x86_mmio_complete_read(const struct x86_mmio_op *op, unsigned long *regs,
			    u64 data);
void axvcpu_x86_cpuid(u32 apic_id, u64 guest_cr4, u32 *eax, u32 *ebx,
		      u32 *ecx, u32 *edx);

#endif /* AXVCPU_X86_H */
