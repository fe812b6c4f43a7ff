// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: arm64 stage-2 translation, built from a memory slot's pinned
 * pages, and the VMIDs that tag it in the TLBs.
 *
 * 4 KiB granule, a 40-bit guest physical space (KVM's default) walked
 * from level 1, whose table is two concatenated pages.  A 2 MiB block maps
 * a 2 MiB aligned guest range whose pinned pages are physically contiguous
 * and aligned; everything else gets 4 KiB pages.  Each VM has its own
 * VMID from creation to destruction; an unmap invalidates the VMID's TLB
 * entries on every CPU (the broadcast TLBI) before the pages can go.
 * Called under the VM lock.
 */
#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <asm/cacheflush.h>
#include <asm/cpufeature.h>
#include <asm/cputype.h>
#include <asm/kvm_arm.h>
#include <asm/memory.h>
#include <asm/pgtable-hwdef.h>
#include <asm/sysreg.h>
#include <asm/tlbflush.h>

#include "../../axvcpu_host.h"
#include "arm64.h"

#define S2_IPA_BITS	40
#define S2_ROOT_ORDER	1			/* two level-1 pages */
#define S2_ROOT_ENTRIES	(PTRS_PER_PTE << S2_ROOT_ORDER)
#define S2_BLOCK_PAGES	(PMD_SIZE / PAGE_SIZE)
#define S2_VALID	BIT_ULL(0)
#define S2_TABLE	(BIT_ULL(0) | BIT_ULL(1))	/* or a level-3 page */
#define S2_BLOCK	BIT_ULL(0)
#define S2AP_R		BIT_ULL(6)
#define S2AP_W		BIT_ULL(7)
#define S2_ADDR_MASK	GENMASK_ULL(47, 12)
/* Ranges up to this many pages are invalidated page by page. */
#define S2_TLBI_PAGES	32

u64 arm64_vtcr;
static unsigned int arm64_vmid_bits;
static DEFINE_IDA(arm64_vmid_ida);

/* The VTCR_EL2 of every VM, from what the CPU supports. */
int arm64_stage2_setup(void)
{
	u64 mmfr0 = read_sanitised_ftr_reg(SYS_ID_AA64MMFR0_EL1);
	u64 mmfr1 = read_sanitised_ftr_reg(SYS_ID_AA64MMFR1_EL1);
	u64 parange = mmfr0 & 0xf;

	/* 48 bits at most: larger needs 52-bit descriptors. */
	if (parange > 5)
		parange = 5;
	if (parange < 2) {	/* 40 bits of guest space need 40 of output */
		pr_err("axvcpu: arm64: the physical address range is too small\n");
		return -ENODEV;
	}
	arm64_vmid_bits = get_vmid_bits(mmfr1);
	arm64_vtcr = VTCR_EL2_RES1 | VTCR_EL2_T0SZ(S2_IPA_BITS) |
		     (1ULL << VTCR_EL2_SL0_SHIFT) |	/* start at level 1 */
		     VTCR_EL2_TG0_4K | VTCR_EL2_SH0_INNER |
		     VTCR_EL2_ORGN0_WBWA | VTCR_EL2_IRGN0_WBWA |
		     (parange << VTCR_EL2_PS_SHIFT);
	if (arm64_vmid_bits == 16)
		arm64_vtcr |= VTCR_EL2_VS_16BIT;
	return 0;
}

static unsigned int s2_index(u64 gpa, int level)
{
	unsigned int i = (gpa >> (PAGE_SHIFT + 9 * (3 - level))) &
			 (PTRS_PER_PTE - 1);

	/* The concatenated root takes one more bit. */
	if (level == 1)
		i = (gpa >> (PAGE_SHIFT + 18)) & (S2_ROOT_ENTRIES - 1);
	return i;
}

static u64 *s2_table(u64 entry)
{
	return phys_to_virt(entry & S2_ADDR_MASK);
}

/*
 * The entry that maps gpa at level (3: 4 KiB, 2: 2 MiB), making the tables
 * above it when alloc.  NULL when there is none or no memory.
 */
static u64 *s2_entry(struct arm64_vm *v, u64 gpa, int level, bool alloc)
{
	u64 *table = v->pgd;
	int l;

	for (l = 1; l < level; l++) {
		u64 *e = &table[s2_index(gpa, l)];

		if (!(*e & S2_VALID)) {
			struct page *page;

			if (!alloc)
				return NULL;
			page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
			if (!page)
				return NULL;
			/* The zeroed table before the entry that names it. */
			dsb(ishst);
			WRITE_ONCE(*e, page_to_phys(page) | S2_TABLE);
		} else if ((*e & S2_TABLE) != S2_TABLE) {
			return NULL;	/* a block: slots never overlap */
		}
		table = s2_table(*e);
	}
	return &table[s2_index(gpa, level)];
}

/*
 * A guest with its MMU off reads memory uncached: what the host wrote
 * through its cache must reach memory first.
 */
static void s2_clean_to_poc(void *addr, size_t size)
{
	unsigned long line = 4UL << ((read_cpuid_cachetype() >> 16) & 0xf);
	unsigned long p = (unsigned long)addr & ~(line - 1);
	unsigned long end = (unsigned long)addr + size;

	for (; p < end; p += line)
		asm volatile("dc civac, %0" : : "r" (p) : "memory");
	dsb(ish);
}

int arm64_stage2_map(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	struct arm64_vm *v = vm->arch;
	u64 prot = PTE_AF | PTE_SHARED | PTE_S2_MEMATTR(MT_S2_NORMAL) | S2AP_R;
	unsigned long i = 0;

	if (slot->gpa + slot->size > BIT_ULL(S2_IPA_BITS))
		return -EFAULT;	/* beyond the guest's physical space, as KVM */
	if (!(slot->flags & KVM_MEM_READONLY))
		prot |= S2AP_W;

	while (i < slot->npages) {
		u64 gpa = slot->gpa + i * PAGE_SIZE;
		bool huge = axvcpu_slot_huge_ok(slot, i);
		u64 *e = s2_entry(v, gpa, huge ? 2 : 3, true);

		if (!e) {
			arm64_stage2_unmap(vm, slot);
			return -ENOMEM;
		}
		s2_clean_to_poc(page_address(slot->pages[i]),
				huge ? PMD_SIZE : PAGE_SIZE);
		WRITE_ONCE(*e, page_to_phys(slot->pages[i]) | prot |
			   (huge ? S2_BLOCK : S2_TABLE));
		i += huge ? S2_BLOCK_PAGES : 1;
	}
	/* The tables before any guest walks them. */
	dsb(ishst);
	return 0;
}

/*
 * Invalidate what the TLBs of every CPU hold for this VMID: the IPAs of
 * [gpa, gpa + size) at stage 2, and everything at stage 1 (it may combine
 * them).  The TLBI acts on the VMID of VTTBR_EL2 in the EL1&0 regime,
 * which needs HCR_EL2.TGE clear meanwhile, as KVM does under VHE.
 */
static void s2_flush(struct arm64_vm *v, u64 gpa, u64 size)
{
	unsigned long flags;
	u64 hcr, vttbr, ipa;

	local_irq_save(flags);
	hcr = read_sysreg(hcr_el2);
	vttbr = read_sysreg(vttbr_el2);
	write_sysreg(v->vttbr, vttbr_el2);
	write_sysreg(hcr & ~HCR_TGE, hcr_el2);
	isb();
	dsb(ishst);
	if (size && size <= S2_TLBI_PAGES * PAGE_SIZE) {
		for (ipa = gpa; ipa < gpa + size; ipa += PAGE_SIZE)
			__tlbi(ipas2e1is, ipa >> 12);
		dsb(ish);
		__tlbi(vmalle1is);
	} else {
		__tlbi(vmalls12e1is);
	}
	dsb(ish);
	isb();
	write_sysreg(hcr, hcr_el2);
	write_sysreg(vttbr, vttbr_el2);
	isb();
	local_irq_restore(flags);
}

void arm64_stage2_unmap(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	struct arm64_vm *v = vm->arch;
	u64 gpa = slot->gpa, end = slot->gpa + slot->size;

	while (gpa < end) {
		u64 *e = s2_entry(v, gpa, 2, false);

		if (e && (*e & S2_TABLE) == S2_BLOCK) {
			WRITE_ONCE(*e, 0);
			gpa += PMD_SIZE;
			continue;
		}
		e = s2_entry(v, gpa, 3, false);
		if (e)
			WRITE_ONCE(*e, 0);
		gpa += PAGE_SIZE;
	}
	s2_flush(v, slot->gpa, slot->size);
}

static void s2_free_table(u64 *table, int level)
{
	int i, n = level == 1 ? S2_ROOT_ENTRIES : PTRS_PER_PTE;

	for (i = 0; level < 3 && i < n; i++)
		if ((table[i] & S2_TABLE) == S2_TABLE)
			s2_free_table(s2_table(table[i]), level + 1);
	if (level == 1)
		free_pages((unsigned long)table, S2_ROOT_ORDER);
	else
		free_page((unsigned long)table);
}

int arm64_stage2_init(struct arm64_vm *v)
{
	int id;

	id = ida_alloc_range(&arm64_vmid_ida, 1, BIT(arm64_vmid_bits) - 1,
			     GFP_KERNEL);
	if (id < 0) {
		pr_err_ratelimited("axvcpu: arm64: no VMID left (%d VMs)\n",
				   (int)BIT(arm64_vmid_bits) - 1);
		return id == -ENOSPC ? -EBUSY : id;
	}
	v->pgd = (u64 *)__get_free_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO,
					 S2_ROOT_ORDER);
	if (!v->pgd) {
		ida_free(&arm64_vmid_ida, id);
		return -ENOMEM;
	}
	v->vmid = id;
	v->vttbr = virt_to_phys(v->pgd) | ((u64)id << VTTBR_VMID_SHIFT);
	return 0;
}

/* Nothing of the VM may linger in a TLB when its VMID is given again. */
void arm64_stage2_free(struct arm64_vm *v)
{
	s2_flush(v, 0, 0);
	s2_free_table(v->pgd, 1);
	ida_free(&arm64_vmid_ida, v->vmid);
}
