// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: x86 MMIO, shared by the backends.
 *
 * An access to a guest-physical address with no slot (or a write to a
 * read-only slot) exits to userspace as KVM_EXIT_MMIO.  The hardware tells
 * the address; the instruction says the width, the direction and the
 * register, so it is fetched from guest memory (through the guest's page
 * tables) and decoded as far as needed: the MOV family a driver uses for
 * device registers.  Anything else is an emulation failure, never a guess.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <asm/kvm_vcpu_regs.h>
#include <asm/msr-index.h>
#include <asm/pgtable_types.h>
#include <asm/processor-flags.h>

#include "../../axvcpu_host.h"
#include "x86.h"

/*
 * Copy len bytes of guest-physical memory at gpa to buf, or from buf when
 * write; false if it is not all RAM (or, for a write, writable RAM).
 */
static bool x86_rw_gpa(struct axvcpu_vm *vm, u64 gpa, void *buf,
		       unsigned int len, bool write)
{
	bool ok = true;
	int i;

	mutex_lock(&vm->lock);
	while (len && ok) {
		unsigned int off = offset_in_page(gpa);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		struct axvcpu_memslot *slot = NULL;
		void *p;

		for (i = 0; i < AXVCPU_NR_MEMSLOTS && !slot; i++) {
			struct axvcpu_memslot *s = vm->slots[i];

			if (s && gpa >= s->gpa && gpa - s->gpa < s->size)
				slot = s;
		}
		if (!slot || (write && (slot->flags & KVM_MEM_READONLY))) {
			ok = false;
			break;
		}
		p = kmap_local_page(slot->pages[(gpa - slot->gpa) >> PAGE_SHIFT]);
		if (write)
			memcpy(p + off, buf, n);
		else
			memcpy(buf, p + off, n);
		kunmap_local(p);
		buf += n;
		gpa += n;
		len -= n;
	}
	mutex_unlock(&vm->lock);
	return ok;
}

static bool x86_read_gpa(struct axvcpu_vm *vm, u64 gpa, void *buf,
			 unsigned int len)
{
	return x86_rw_gpa(vm, gpa, buf, len, false);
}

/* Translate a linear address through the guest's page tables. */
static bool x86_walk(struct axvcpu_vm *vm, const struct x86_cpu_mode *m,
		     u64 la, u64 *gpa)
{
	int levels, shift, l;
	u64 table, e;
	bool big;

	if (!(m->cr0 & X86_CR0_PG)) {
		*gpa = la & 0xffffffff;
		return true;
	}
	if (m->efer & EFER_LMA) {
		levels = (m->cr4 & X86_CR4_LA57) ? 5 : 4;
		big = true;
	} else if (m->cr4 & X86_CR4_PAE) {
		levels = 3;
		big = true;
	} else {
		levels = 2;
		big = false;
	}
	if (levels == 3)
		table = m->cr3 & 0xffffffe0ULL;	/* 32-byte aligned PDPT */
	else
		table = m->cr3 & (big ? PTE_PFN_MASK : 0xfffff000ULL);

	for (l = levels; l >= 1; l--) {
		unsigned int idx;

		if (big) {
			shift = PAGE_SHIFT + 9 * (l - 1);
			idx = (la >> shift) & (levels == 3 && l == 3 ? 3 : 511);
			if (!x86_read_gpa(vm, table + idx * 8, &e, 8))
				return false;
		} else {
			u32 e32;

			shift = PAGE_SHIFT + 10 * (l - 1);
			idx = (la >> shift) & 1023;
			if (!x86_read_gpa(vm, table + idx * 4, &e32, 4))
				return false;
			e = e32;
		}
		if (!(e & _PAGE_PRESENT))
			return false;
		if (l == 1 || (l <= 3 && (e & _PAGE_PSE) &&
			       !(levels == 3 && l == 3))) {
			u64 mask = (1ULL << shift) - 1;
			u64 base = big ? e & PTE_PFN_MASK : e & 0xfffff000ULL;

			/* A 4 MiB page of 32-bit paging: bits 13+ hold 39:32. */
			if (!big && l == 2)
				base = (e & 0xffc00000ULL) |
				       ((e >> 13) & 0xff) << 32;
			*gpa = (base & ~mask) | (la & mask);
			return true;
		}
		table = big ? e & PTE_PFN_MASK : e & 0xfffff000ULL;
	}
	return false;
}

/* Fetch the instruction at CS:RIP. */
int x86_fetch(struct axvcpu_vm *vm, const struct x86_cpu_mode *m, u8 *insn)
{
	u64 la = m->cs_base + m->rip, gpa;
	int n = 0;

	/* At most two pages: byte by byte across the boundary. */
	while (n < X86_MAX_INSN) {
		unsigned int chunk = min_t(unsigned int, X86_MAX_INSN - n,
					   PAGE_SIZE - offset_in_page(la + n));

		if (!x86_walk(vm, m, la + n, &gpa) ||
		    !x86_read_gpa(vm, gpa, insn + n, chunk))
			return n;
		n += chunk;
	}
	return n;
}

/*
 * Read or write len bytes at a guest linear address, page by page through
 * the guest's page tables: what string I/O moves.
 */
bool x86_guest_rw(struct axvcpu_vm *vm, const struct x86_cpu_mode *m, u64 la,
		  void *buf, unsigned int len, bool write)
{
	u64 gpa;

	while (len) {
		unsigned int n = min_t(unsigned int, len,
				       PAGE_SIZE - offset_in_page(la));

		if (!x86_walk(vm, m, la, &gpa) ||
		    !x86_rw_gpa(vm, gpa, buf, n, write))
			return false;
		la += n;
		buf += n;
		len -= n;
	}
	return true;
}

/* The ModRM operand's length (ModRM, SIB and displacement bytes). */
static int x86_modrm_len(const u8 *p, int avail, bool addr16)
{
	u8 modrm, mod, rm;
	int len = 1;

	if (avail < 1)
		return -1;
	modrm = p[0];
	mod = modrm >> 6;
	rm = modrm & 7;
	if (mod == 3)
		return -1;		/* a register: no memory access */
	if (addr16) {
		if (mod == 1)
			len += 1;
		else if (mod == 2 || (mod == 0 && rm == 6))
			len += 2;
		return len;
	}
	if (rm == 4) {
		if (avail < 2)
			return -1;
		len += 1;		/* SIB */
		if (mod == 0 && (p[1] & 7) == 5)
			len += 4;
	}
	if (mod == 1)
		len += 1;
	else if (mod == 2 || (mod == 0 && rm == 5))
		len += 4;
	return len;
}

/*
 * Decode the MMIO instruction at the start of insn.  Fills op; returns
 * false for anything not of the MOV family.
 */
bool x86_decode_mmio(const struct x86_cpu_mode *m, const u8 *insn, int n,
		     struct x86_mmio_op *op)
{
	bool long_mode = (m->efer & EFER_LMA) && m->cs_l;
	bool def32 = long_mode || m->cs_db;
	bool opsize = false, addrsize = false;
	u8 rex = 0, b;
	int i = 0, mlen, osize;
	bool addr16;

	memset(op, 0, sizeof(*op));
	for (; i < n; i++) {
		b = insn[i];
		if (b == 0x66)
			opsize = true;
		else if (b == 0x67)
			addrsize = true;
		else if (b == 0x2e || b == 0x36 || b == 0x3e || b == 0x26 ||
			 b == 0x64 || b == 0x65 || b == 0xf0)
			continue;
		else
			break;
	}
	if (long_mode && i < n && (insn[i] & 0xf0) == 0x40)
		rex = insn[i++];
	if (i >= n)
		return false;

	osize = (rex & 8) ? 8 : (def32 != opsize) ? 4 : 2;
	addr16 = !long_mode && (def32 == addrsize);
	b = insn[i++];
	if (b == 0x0f) {
		if (i >= n)
			return false;
		b = insn[i++];
		switch (b) {
		case 0xb6: case 0xb7: case 0xbe: case 0xbf:
			op->len = (b & 1) ? 2 : 1;
			op->extend = (b & 8) ? X86_MMIO_SIGN : X86_MMIO_ZERO;
			op->dst_size = osize;
			break;
		default:
			return false;
		}
	} else {
		switch (b) {
		case 0x88: case 0x8a: case 0xc6:
			op->len = 1;
			break;
		case 0x89: case 0x8b: case 0xc7:
			op->len = osize;
			break;
		default:
			return false;
		}
		op->dst_size = op->len;
		op->is_write = b != 0x8a && b != 0x8b;
	}
	mlen = x86_modrm_len(insn + i, n - i, addr16);
	if (mlen < 0)
		return false;
	op->reg = ((insn[i] >> 3) & 7) | ((rex & 4) ? 8 : 0);
	/* Without REX, byte registers 4-7 are AH, CH, DH, BH. */
	op->high_byte = op->len == 1 && !rex && op->reg >= 4 && op->reg < 8 &&
			!op->extend;
	if (op->extend && op->len == 1)
		op->high_byte = false;
	if (b == 0xc6 || b == 0xc7) {
		int isize = op->len == 1 ? 1 : op->len == 2 ? 2 : 4;

		if (((insn[i] >> 3) & 7) != 0 || i + mlen + isize > n)
			return false;
		op->imm = true;
		memcpy(&op->data, insn + i + mlen, isize);
		if (op->len == 8)	/* imm32, sign-extended */
			op->data = (s64)(s32)op->data;
		i += isize;
	}
	op->insn_len = i + mlen;
	return true;
}

/* The value a write stores: the immediate or the register's low bytes. */
u64 x86_mmio_write_value(const struct x86_mmio_op *op,
			 const unsigned long *regs)
{
	if (op->imm)
		return op->data;
	if (op->high_byte)
		return (regs[op->reg - 4] >> 8) & 0xff;
	return regs[op->reg];
}

/* A read completes: the data lands in the register as the CPU would. */
void x86_mmio_complete_read(const struct x86_mmio_op *op, unsigned long *regs,
			    u64 data)
{
	unsigned long *r = &regs[op->high_byte ? op->reg - 4 : op->reg];
	u64 v = data;

	if (op->len < 8)
		v &= (1ULL << (op->len * 8)) - 1;
	if (op->extend == X86_MMIO_SIGN)
		v = op->len == 1 ? (u64)(s64)(s8)v : (u64)(s64)(s16)v;

	if (op->high_byte) {
		*r = (*r & ~0xff00UL) | (v & 0xff) << 8;
		return;
	}
	switch (op->dst_size) {
	case 1:
		*r = (*r & ~0xffUL) | (v & 0xff);
		break;
	case 2:
		*r = (*r & ~0xffffUL) | (v & 0xffff);
		break;
	case 4:
		*r = (u32)v;	/* a 32-bit write zero-extends */
		break;
	default:
		*r = v;
		break;
	}
}

/* Fetch and decode the instruction behind an MMIO fault. */
bool x86_mmio_decode_at(struct axvcpu_vm *vm, const struct x86_cpu_mode *m,
			struct x86_mmio_op *op)
{
	u8 insn[X86_MAX_INSN];
	int n = x86_fetch(vm, m, insn);

	return n > 0 && x86_decode_mmio(m, insn, n, op);
}
