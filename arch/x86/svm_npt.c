// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: SVM nested page tables, built from a memory slot's pinned pages.
 *
 * The host's long-mode format, with as many levels as the host's paging
 * (five with LA57): the CPU walks nested tables in the host's mode.  A 2 MiB entry maps a 2 MiB
 * aligned guest range whose pinned pages are physically contiguous and
 * aligned; everything else gets 4 KiB entries.  Tables are freed with the
 * VM.  Called under the VM lock.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <asm/io.h>
#include <asm/pgtable.h>
#include <asm/pgtable_types.h>

#include "../../axvcpu_host.h"
#include "svm.h"

#define NPT_TABLE	(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER)
#define NPT_HUGE_PAGES	(PMD_SIZE / PAGE_SIZE)

static int npt_levels(void)
{
	return pgtable_l5_enabled() ? 5 : 4;
}

static unsigned int npt_index(u64 gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + 9 * (level - 1))) & (PTRS_PER_PTE - 1);
}

static u64 *npt_table(u64 entry)
{
	return phys_to_virt(entry & PTE_PFN_MASK);
}

/*
 * The entry that maps gpa at level (1: 4 KiB, 2: 2 MiB), making the tables
 * above it when alloc.  NULL when there is none or no memory.
 */
static u64 *npt_entry(struct svm_vm *v, u64 gpa, int level, bool alloc)
{
	u64 *table = v->npt_root;
	int l;

	for (l = npt_levels(); l > level; l--) {
		u64 *e = &table[npt_index(gpa, l)];

		if (!(*e & _PAGE_PRESENT)) {
			struct page *page;

			if (!alloc)
				return NULL;
			page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
			if (!page)
				return NULL;
			*e = page_to_phys(page) | NPT_TABLE;
		} else if (*e & _PAGE_PSE) {
			return NULL;	/* a 2 MiB entry: slots never overlap */
		}
		table = npt_table(*e);
	}
	return &table[npt_index(gpa, level)];
}

int svm_npt_map(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	struct svm_vm *v = vm->arch;
	u64 prot = _PAGE_PRESENT | _PAGE_USER;
	unsigned long i = 0;

	if (!(slot->flags & KVM_MEM_READONLY))
		prot |= _PAGE_RW;

	while (i < slot->npages) {
		u64 gpa = slot->gpa + i * PAGE_SIZE;
		bool huge = axvcpu_slot_huge_ok(slot, i);
		u64 *e = npt_entry(v, gpa, huge ? 2 : 1, true);

		if (!e) {
			svm_npt_unmap(vm, slot);
			return -ENOMEM;
		}
		*e = page_to_phys(slot->pages[i]) | prot | (huge ? _PAGE_PSE : 0);
		i += huge ? NPT_HUGE_PAGES : 1;
	}
	svm_npt_changed(vm);
	return 0;
}

void svm_npt_unmap(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	struct svm_vm *v = vm->arch;
	u64 gpa = slot->gpa, end = slot->gpa + slot->size;

	while (gpa < end) {
		u64 *e = npt_entry(v, gpa, 2, false);

		if (e && (*e & _PAGE_PSE)) {
			*e = 0;
			gpa += PMD_SIZE;
			continue;
		}
		e = npt_entry(v, gpa, 1, false);
		if (e)
			*e = 0;
		gpa += PAGE_SIZE;
	}
	svm_npt_changed(vm);
}

static void npt_free_table(u64 *table, int level)
{
	int i;

	for (i = 0; level > 1 && i < PTRS_PER_PTE; i++)
		if ((table[i] & _PAGE_PRESENT) && !(table[i] & _PAGE_PSE))
			npt_free_table(npt_table(table[i]), level - 1);
	free_page((unsigned long)table);
}

int svm_npt_init(struct svm_vm *v)
{
	v->npt_root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	return v->npt_root ? 0 : -ENOMEM;
}

void svm_npt_free(struct svm_vm *v)
{
	npt_free_table(v->npt_root, npt_levels());
}
