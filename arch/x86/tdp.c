// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: second-level page tables (SVM's nested paging, VMX's EPT), built
 * from a memory slot's pinned pages.
 *
 * Both are radix trees of 512 entries a level with 4 KiB and 2 MiB leaves;
 * they differ in their entries' bits, which struct x86_tdp_format gives.
 * A 2 MiB entry maps a 2 MiB aligned guest range whose pinned pages are
 * physically contiguous and aligned; everything else gets 4 KiB entries.
 *
 * A slot that logs dirty pages has 4 KiB entries only, writable while the
 * page's bit is set (axvcpu_slot_page_writable()); x86_tdp_write_protect()
 * takes the write bit away and x86_tdp_retry_fault() gives it back on the
 * guest's next write.  Making an entry more permissive needs no flush:
 * the fault already dropped what the TLB held for that address.
 *
 * A table that an unmap empties is unlinked at once and freed at the next
 * map or unmap, or with the VM: after the unmap, memory.c waits until no
 * vCPU is in guest mode with the old tables, whose walks may still read
 * it.  Called under the VM lock.
 */
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/string.h>
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

/* Tables unlinked by the last unmap: no walk can reach them any more. */
static void tdp_free_unlinked(struct x86_tdp *t)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, &t->unlinked, lru) {
		list_del(&page->lru);
		__free_page(page);
		atomic_long_dec(&axvcpu_nr_table_pages);
	}
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
			atomic_long_inc(&axvcpu_nr_table_pages);
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
	unsigned long i = 0;

	/* Beyond what the levels translate: no such guest-physical address. */
	if (slot->gpa + slot->size > BIT_ULL(PAGE_SHIFT + 9 * f->levels))
		return -EINVAL;
	tdp_free_unlinked(t);

	while (i < slot->npages) {
		u64 gpa = slot->gpa + i * PAGE_SIZE;
		bool huge = f->huge && axvcpu_slot_huge_ok(slot, i);
		u64 *e = tdp_entry(t, gpa, huge ? 2 : 1, true);

		/* A table there (never so: unmaps unlink them): use it. */
		if (huge && e && (*e & f->present) && !(*e & f->huge)) {
			huge = false;
			e = tdp_entry(t, gpa, 1, true);
		}
		if (!e) {
			x86_tdp_unmap(t, slot);
			return -ENOMEM;
		}
		*e = page_to_phys(slot->pages[i]) | f->leaf |
		     (axvcpu_slot_page_writable(slot, i) ? f->write : 0) |
		     (huge ? f->huge : 0);
		i += huge ? TDP_HUGE_PAGES : 1;
	}
	atomic64_inc(&t->gen);
	return 0;
}

/* The leaf entry that maps gpa (4 KiB or 2 MiB), or NULL. */
static u64 *tdp_leaf(struct x86_tdp *t, u64 gpa)
{
	const struct x86_tdp_format *f = t->fmt;
	u64 *table = t->root, *e = NULL;
	int l;

	for (l = f->levels; l >= 1; l--) {
		e = &table[tdp_index(gpa, l)];
		if (!(*e & f->present))
			return NULL;
		if (l == 1 || (*e & f->huge))
			return e;
		table = tdp_table(*e);
	}
	return e;
}

/* The logged pages first + j of slot, for each bit j of mask, read-only. */
void x86_tdp_write_protect(struct axvcpu_vm *vm, struct axvcpu_memslot *slot,
			   const unsigned long *mask, unsigned long first,
			   unsigned long n)
{
	struct x86_tdp *t = vm->arch;
	unsigned long j;
	u64 *e;

	for_each_set_bit(j, mask, n) {
		e = tdp_leaf(t, slot->gpa + (first + j) * PAGE_SIZE);
		if (e && !(*e & t->fmt->huge))
			WRITE_ONCE(*e, *e & ~t->fmt->write);
	}
	/* Every vCPU flushes its TLB tag before it enters again. */
	atomic64_inc(&t->gen);
}

/*
 * A fault at gpa of a slot: true when its entry allows the access now,
 * after giving a logged page its write bit back when make_writable.
 */
bool x86_tdp_retry_fault(struct axvcpu_vm *vm, u64 gpa, bool write,
			 bool make_writable)
{
	struct x86_tdp *t = vm->arch;
	u64 *e = tdp_leaf(t, gpa);

	if (!e)
		return false;
	if (make_writable && !(*e & t->fmt->huge))
		WRITE_ONCE(*e, *e | t->fmt->write);
	return !write || (*e & t->fmt->write);
}

/*
 * Clear the entries of [gpa, end) in table, of level; unlink the tables
 * below it that this leaves empty.  True when table is empty now.
 */
static bool tdp_clear(struct x86_tdp *t, u64 *table, int level, u64 gpa,
		      u64 end)
{
	const struct x86_tdp_format *f = t->fmt;
	u64 span = BIT_ULL(PAGE_SHIFT + 9 * (level - 1));

	while (gpa < end) {
		u64 next = min(round_down(gpa, span) + span, end);
		u64 *e = &table[tdp_index(gpa, level)];

		if ((*e & f->present) && level > 1 && !(*e & f->huge)) {
			u64 *below = tdp_table(*e);

			if (tdp_clear(t, below, level - 1, gpa, next)) {
				*e = 0;
				list_add(&virt_to_page(below)->lru,
					 &t->unlinked);
			}
		} else {
			*e = 0;
		}
		gpa = next;
	}
	return !memchr_inv(table, 0, PAGE_SIZE);
}

void x86_tdp_unmap(struct x86_tdp *t, struct axvcpu_memslot *slot)
{
	tdp_free_unlinked(t);
	tdp_clear(t, t->root, t->fmt->levels, slot->gpa,
		  slot->gpa + slot->size);
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
	atomic_long_dec(&axvcpu_nr_table_pages);
}

int x86_tdp_init(struct x86_tdp *t, const struct x86_tdp_format *fmt)
{
	t->fmt = fmt;
	atomic64_set(&t->gen, 0);
	INIT_LIST_HEAD(&t->unlinked);
	t->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!t->root)
		return -ENOMEM;
	atomic_long_inc(&axvcpu_nr_table_pages);
	return 0;
}

void x86_tdp_free(struct x86_tdp *t)
{
	tdp_free_unlinked(t);
	tdp_free_table(t->fmt, t->root, t->fmt->levels);
}
