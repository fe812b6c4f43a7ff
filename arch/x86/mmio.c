// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: x86 MMIO, shared by the backends.
 *
 * An access to a guest-physical address with no slot (or a write to a
 * read-only slot) exits to userspace as KVM_EXIT_MMIO.  The instruction
 * says the width, the direction and what the data is, so it is fetched
 * from guest memory (through the guest's page tables) and emulated by
 * emulate.c, which reaches guest memory through the callbacks here.
 * Anything it does not know is an emulation failure, never a guess.
 */
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <asm/kvm_vcpu_regs.h>
#include <asm/msr-index.h>
#include <asm/pgtable_types.h>
#include <asm/processor-flags.h>

#include "../../axvcpu_host.h"
#include "emulate.h"
#include "x86.h"

/*
 * Copy len bytes of guest-physical memory at gpa to buf, or from buf when
 * write; false if it is not all RAM (or, for a write, writable RAM).
 */
static bool x86_rw_gpa(struct axvcpu_vm *vm, u64 gpa, void *buf,
		       unsigned int len, bool write)
{
	bool ok = true;

	mutex_lock(&vm->lock);
	while (len && ok) {
		unsigned int off = offset_in_page(gpa);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		struct axvcpu_memslot *slot = axvcpu_find_slot(vm, gpa);
		void *p;

		if (!slot || (write && (slot->flags & KVM_MEM_READONLY))) {
			ok = false;
			break;
		}
		p = kmap_local_page(slot->pages[(gpa - slot->gpa) >> PAGE_SHIFT]);
		if (write) {
			memcpy(p + off, buf, n);
			axvcpu_mark_dirty(slot, gpa);
		} else {
			memcpy(buf, p + off, n);
		}
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

/* --- instruction emulation: emulate.c's memory and mode ------------------- */

struct x86_emul_env {
	struct axvcpu_vm *vm;
	struct x86_vcpu *x;
	const struct x86_cpu_mode *m;
};

/*
 * RAM (writable RAM for a write) moves at once, and so do the in-kernel
 * irqchip's registers; anything else is MMIO.  An access across a page is
 * emulated only when both pages are RAM: a device access split in two is
 * not one KVM_EXIT_MMIO.
 */
static int x86_emul_access(void *opaque, u64 la, void *buf, unsigned int len,
			   bool write, u64 *gpa)
{
	struct x86_emul_env *env = opaque;

	if (!x86_walk(env->vm, env->m, la, gpa))
		return X86_EMUL_FAILED;
	if (offset_in_page(la) + len > PAGE_SIZE)
		return x86_guest_rw(env->vm, env->m, la, buf, len, write) ?
		       X86_EMUL_DONE : X86_EMUL_FAILED;
	if (x86_rw_gpa(env->vm, *gpa, buf, len, write) ||
	    x86_lapic_mmio(env->x, *gpa, buf, len, write) ||
	    x86_ioapic_mmio(env->vm, *gpa, buf, len, write))
		return X86_EMUL_DONE;
	return X86_EMUL_MMIO;
}

static int x86_emul_read(void *opaque, u64 la, void *buf, unsigned int len,
			 u64 *gpa)
{
	return x86_emul_access(opaque, la, buf, len, false, gpa);
}

static int x86_emul_write(void *opaque, u64 la, const void *buf,
			  unsigned int len, u64 *gpa)
{
	return x86_emul_access(opaque, la, (void *)buf, len, true, gpa);
}

static const struct x86_emul_ops x86_emul_ops = {
	.read = x86_emul_read,
	.write = x86_emul_write,
};

static enum x86_emul_mode x86_emul_mode(const struct x86_cpu_mode *m)
{
	if (!(m->cr0 & X86_CR0_PE) || (m->rflags & X86_EFLAGS_VM))
		return X86_EMUL_REAL;
	if ((m->efer & EFER_LMA) && m->cs_l)
		return X86_EMUL_PROT64;
	return m->cs_db ? X86_EMUL_PROT32 : X86_EMUL_PROT16;
}

static_assert(sizeof(((struct x86_emul_ctxt *)0)->regs) ==
	      sizeof(((struct x86_vcpu *)0)->regs));
static_assert((int)X86_EMUL_NR_SEGS == (int)X86_NR_DATA_SEGS);

/*
 * What KVM gives for an instruction it cannot emulate: the flags word,
 * then the instruction's bytes (kvm_prepare_emulation_failure_exit()).
 */
static int x86_emulation_failure(struct kvm_run *run,
				 const struct x86_emul_cache *k)
{
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.flags = 0;
	run->emulation_failure.ndata = 1;
	if (k->insn_n) {
		run->emulation_failure.flags =
			KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
		run->emulation_failure.insn_size = k->insn_n;
		memset(run->emulation_failure.insn_bytes, 0x90,
		       sizeof(run->emulation_failure.insn_bytes));
		memcpy(run->emulation_failure.insn_bytes, k->insn, k->insn_n);
		run->emulation_failure.ndata = 3;
	}
	return AXVCPU_EXIT_USER;
}

/*
 * Run the instruction of x->emul: in the kernel to its end, or to the
 * next MMIO access, which exits to userspace.  Only a read leaves the
 * instruction pending; everything else commits.
 */
static int x86_mmio_run(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			const struct x86_cpu_mode *m, u64 *rip, u64 *rflags)
{
	struct x86_emul_env env = { .vm = vcpu->vm, .x = x, .m = m };
	struct x86_emul_ctxt c = {
		.ops = &x86_emul_ops,
		.opaque = &env,
		.mode = x86_emul_mode(m),
		.cache = &x->emul,
		.rflags = *rflags,
		.rip = *rip,
	};
	struct kvm_run *run = vcpu->run;
	int r;

	memcpy(c.seg_base, m->seg_base, sizeof(c.seg_base));
	memcpy(c.regs, x->regs, sizeof(c.regs));
	r = x86_emulate(&c);
	if (r == X86_EMUL_FAILED)
		return x86_emulation_failure(run, &x->emul);
	if (r == X86_EMUL_MMIO) {
		run->exit_reason = KVM_EXIT_MMIO;
		run->mmio.phys_addr = c.mmio.gpa;
		run->mmio.len = c.mmio.len;
		run->mmio.is_write = c.mmio.write;
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
		if (!c.mmio.write) {
			x->pending = X86_PENDING_MMIO;
			return AXVCPU_EXIT_USER;
		}
		memcpy(run->mmio.data, &c.mmio.data, c.mmio.len);
	}
	memcpy(x->regs, c.regs, sizeof(c.regs));
	*rflags = c.rflags;
	*rip = c.rip;
	return r == X86_EMUL_MMIO ? AXVCPU_EXIT_USER : AXVCPU_EXIT_CONTINUE;
}

/*
 * No slot, or a write to a read-only one, at gpa: the instruction at RIP
 * is emulated.  AXVCPU_EXIT_USER with KVM_EXIT_MMIO (or, for what cannot
 * be emulated, KVM's emulation failure), or AXVCPU_EXIT_CONTINUE when it
 * completed in the kernel (the memory became RAM meanwhile, or REP has
 * more elements).  The guest's page tables, not gpa, say where each
 * operand is: an instruction may have two.
 */
int x86_exit_mmio(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		  const struct x86_cpu_mode *m, u64 gpa, u64 *rip,
		  u64 *rflags)
{
	x->emul.insn_n = x86_fetch(vcpu->vm, m, x->emul.insn);
	x->emul.nr_reads = 0;
	return x86_mmio_run(vcpu, x, m, rip, rflags);
}

/* KVM_RUN after an MMIO read: the instruction runs again with the data. */
int x86_complete_mmio(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		      const struct x86_cpu_mode *m, u64 *rip, u64 *rflags)
{
	struct x86_emul_cache *k = &x->emul;
	u64 data;

	memcpy(&data, vcpu->run->mmio.data, sizeof(data));
	if (k->nr_reads < X86_EMUL_MAX_READS)
		k->read_data[k->nr_reads++] = data;
	return x86_mmio_run(vcpu, x, m, rip, rflags);
}
