// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: second-level page tables (SVM's nested paging, VMX's EPT), built
 * from a memory slot's pinned pages.
 *
 * Both are radix trees of 512 entries a level with 4 KiB and 2 MiB leaves;
 * they differ in their entries' bits, which struct x86_tdp_format gives.
 * A 2 MiB entry maps a 2 MiB aligned guest range whose pinned pages are
 * physically contiguous and aligned; everything else gets 4 KiB entries.
 * Tables are freed with the VM.  Called under the VM lock.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <asm/io.h>
#include <asm/pgtable.h>
#include <asm/pgtable_types.h>

#include "../../axvcpu_host.h"
#include "x86.h"

#define TDP_HUGE_PAGES	(PMD_SIZE / PAGE_SIZE)

static unsigned int tdp_index(u64 gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & (PTRS_PER_PTE - 1);
}

static u64 *tdp_table(u64 entry)
{
	return phys_to_virt(entry & PTE_PFN_MASK);
}

/*
 * The entry that maps gpa at level (1: 4 KiB, 2: 2 MiB), making the tables
 * above it when alloc.  NULL when there is none or no memory.
 */
static u64 *tdp_entry(struct x86_tdp *t, u64 gpa, int level, bool alloc)
{
	const struct x86_tdp_format *f = t->fmt;
	u64 *table = t->root;
	int l;

	for (l = f->levels; l > level; l--) {
		u64 *e = &table[tdp_index(gpa, l)];

		if (!(*e & f->present)) {
			struct page *page;

			if (!alloc)
				return NULL;
			page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
			if (!page)
				return NULL;
			*e = page_to_phys(page) | f->table;
		} else if (*e & f->huge) {
			return NULL;	/* a 2 MiB entry: slots never overlap */
		}
		table = tdp_table(*e);
	}
	return &table[tdp_index(gpa, level)];
}

int x86_tdp_map(struct x86_tdp *t, struct axvcpu_memslot *slot)
{
	const struct x86_tdp_format *f = t->fmt;
	u64 prot = f->leaf;
	unsigned long i = 0;

	/* Beyond what the levels translate: no such guest-physical address. */
	if (slot->gpa + slot->size > BIT_ULL(PAGE_SHIFT + 9 * f->levels))
		return -EINVAL;
	if (!(slot->flags & KVM_MEM_READONLY))
		prot |= f->write;

	while (i < slot->npages) {
		u64 gpa = slot->gpa + i * PAGE_SIZE;
		bool huge = f->huge && axvcpu_slot_huge_ok(slot, i);
		u64 *e = tdp_entry(t, gpa, huge ? 2 : 1, true);

		if (!e) {
			x86_tdp_unmap(t, slot);
			return -ENOMEM;
		}
		*e = page_to_phys(slot->pages[i]) | prot | (huge ? f->huge : 0);
		i += huge ? TDP_HUGE_PAGES : 1;
	}
	atomic64_inc(&t->gen);
	return 0;
}

void x86_tdp_unmap(struct x86_tdp *t, struct axvcpu_memslot *slot)
{
	u64 gpa = slot->gpa, end = slot->gpa + slot->size;

	while (gpa < end) {
		u64 *e = tdp_entry(t, gpa, 2, false);

		if (t->fmt->huge && e && (*e & t->fmt->huge)) {
			*e = 0;
			gpa += PMD_SIZE;
			continue;
		}
		e = tdp_entry(t, gpa, 1, false);
		if (e)
			*e = 0;
		gpa += PAGE_SIZE;
	}
	atomic64_inc(&t->gen);
}

static void tdp_free_table(const struct x86_tdp_format *f, u64 *table,
			   int level)
{
	int i;

	for (i = 0; level > 1 && i < PTRS_PER_PTE; i++)
		if ((table[i] & f->present) && !(f->huge && (table[i] & f->huge)))
			tdp_free_table(f, tdp_table(table[i]), level - 1);
	free_page((unsigned long)table);
}

int x86_tdp_init(struct x86_tdp *t, const struct x86_tdp_format *fmt)
{
	t->fmt = fmt;
	atomic64_set(&t->gen, 0);
	t->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	return t->root ? 0 : -ENOMEM;
}

void x86_tdp_free(struct x86_tdp *t)
{
	tdp_free_table(t->fmt, t->root, t->fmt->levels);
}
