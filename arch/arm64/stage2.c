// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: arm64 stage-2 translation, built from a memory slot's pinned
 * pages, and the VMIDs that tag it in the TLBs.
 *
 * 4 KiB granule, a 40-bit guest physical space (KVM's default) walked
 * from level 1, whose table is two concatenated pages.  A 2 MiB block maps
 * a 2 MiB aligned guest range whose pinned pages are physically contiguous
 * and aligned; everything else gets 4 KiB pages.  A valid entry is never
 * replaced in place (break-before-make: cleared, its TLB entries
 * invalidated, then written), and a table page an unmap empties is
 * unlinked and freed once no TLB can hold it, as KVM does.  An unmap
 * invalidates the VMID's TLB entries on every CPU (the broadcast TLBI)
 * before the pages can go.  Called under the VM lock.
 *
 * A slot that logs dirty pages has 4 KiB pages only, writable while the
 * page's bit is set (axvcpu_slot_page_writable()).  Write access changes
 * in place, without break-before-make (the output address and attributes
 * stay), and the TLBs forget the old permission: every CPU's for
 * arm64_stage2_write_protect(), and for the entry made writable after a
 * permission fault too, since a TLB may keep the entry that faulted.
 *
 * VMIDs are allocated as KVM (and the kernel, for ASIDs) allocates them:
 * a VM's id is a generation above the VMID bits.  A vCPU entering the
 * guest in a generation its VM has no VMID for takes a free one; when
 * none is left, the generation moves on, every VMID but those live on a
 * CPU is free again and all EL1&0 TLB entries are dropped.  So no number
 * of VMs exhausts them, and a VMID is never reused while a TLB may still
 * hold its old VM's entries.
 */
#include <linux/bitmap.h>
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
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
#define S2_L1_SIZE	BIT_ULL(PAGE_SHIFT + 18)	/* a root entry's reach */
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
static bool s2_icache_dic;		/* no I-cache maintenance needed */

/* VMIDs: see the top of the file.  VMID 0 is never given. */
#define S2_VMID_MASK	(BIT_ULL(arm64_vmid_bits) - 1)
#define S2_VMID_GEN	BIT_ULL(arm64_vmid_bits)	/* one generation */
static DEFINE_RAW_SPINLOCK(s2_vmid_lock);
static atomic64_t s2_vmid_gen;
static DECLARE_BITMAP(s2_vmid_map, 1 << 16);	/* this generation's */
/* The id in use on each CPU, 0 once a rollover took it... */
static DEFINE_PER_CPU(atomic64_t, s2_vmid_active);
/* ...and then the one it keeps until its next entry. */
static DEFINE_PER_CPU(u64, s2_vmid_reserved);

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
	atomic64_set(&s2_vmid_gen, S2_VMID_GEN);
	s2_icache_dic = read_sanitised_ftr_reg(SYS_CTR_EL0) & CTR_EL0_DIC;
	return 0;
}

static bool s2_vmid_current(u64 id)
{
	return !((id ^ atomic64_read(&s2_vmid_gen)) >> arm64_vmid_bits);
}

/*
 * A new generation: only the VMIDs live on a CPU stay taken (a CPU that
 * entered no guest since the last rollover keeps the one it had then),
 * and no TLB entry of the old one survives.  s2_vmid_lock held.
 */
static void s2_vmid_rollover(void)
{
	u64 id;
	int cpu;

	bitmap_zero(s2_vmid_map, BIT(arm64_vmid_bits));
	for_each_possible_cpu(cpu) {
		id = atomic64_xchg_relaxed(per_cpu_ptr(&s2_vmid_active, cpu), 0);
		if (!id)
			id = per_cpu(s2_vmid_reserved, cpu);
		__set_bit(id & S2_VMID_MASK, s2_vmid_map);
		per_cpu(s2_vmid_reserved, cpu) = id;
	}
	dsb(ishst);
	__tlbi(alle1is);
	dsb(ish);
}

/* A VMID still reserved by a CPU moves to the new generation as it is. */
static bool s2_vmid_renew_reserved(u64 old, u64 id)
{
	bool found = false;
	int cpu;

	for_each_possible_cpu(cpu) {
		if (per_cpu(s2_vmid_reserved, cpu) == old) {
			per_cpu(s2_vmid_reserved, cpu) = id;
			found = true;
		}
	}
	return found;
}

/* A VMID of this generation for v; s2_vmid_lock held. */
static u64 s2_vmid_new(struct arm64_vm *v)
{
	static unsigned long hint = 1;
	unsigned long nr = BIT(arm64_vmid_bits), vmid;
	u64 old = atomic64_read(&v->vmid), gen = atomic64_read(&s2_vmid_gen);

	if (old) {
		/* Keep the number if nobody took it in this generation. */
		vmid = old & S2_VMID_MASK;
		if (s2_vmid_renew_reserved(old, gen | vmid) ||
		    !__test_and_set_bit(vmid, s2_vmid_map))
			return gen | vmid;
	}
	vmid = find_next_zero_bit(s2_vmid_map, nr, hint);
	if (vmid == nr) {
		gen = atomic64_add_return_relaxed(S2_VMID_GEN, &s2_vmid_gen);
		s2_vmid_rollover();
		/* More VMIDs than CPUs: one is free now. */
		vmid = find_next_zero_bit(s2_vmid_map, nr, 1);
	}
	__set_bit(vmid, s2_vmid_map);
	hint = vmid;
	return gen | vmid;
}

/*
 * Before a guest of v is entered on this CPU, preemption off: v has a
 * VMID of the current generation, and this CPU says it uses it.  The
 * fast path's cmpxchg fails if a rollover cleared this CPU's slot after
 * it was read.
 */
void arm64_vmid_update(struct arm64_vm *v)
{
	atomic64_t *active = this_cpu_ptr(&s2_vmid_active);
	u64 id = atomic64_read(&v->vmid), was = atomic64_read(active);
	unsigned long flags;

	if (was && s2_vmid_current(id) &&
	    atomic64_cmpxchg_relaxed(active, was, id))
		return;
	raw_spin_lock_irqsave(&s2_vmid_lock, flags);
	id = atomic64_read(&v->vmid);
	if (!s2_vmid_current(id)) {
		id = s2_vmid_new(v);
		atomic64_set(&v->vmid, id);
	}
	atomic64_set(active, id);
	raw_spin_unlock_irqrestore(&s2_vmid_lock, flags);
}

/* VTTBR_EL2 for v: its root and its VMID (0 before its first entry). */
u64 arm64_vttbr(struct arm64_vm *v)
{
	return virt_to_phys(v->pgd) |
	       ((atomic64_read(&v->vmid) & S2_VMID_MASK) << VTTBR_VMID_SHIFT);
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

static bool s2_table_empty(const u64 *table)
{
	int i;

	for (i = 0; i < PTRS_PER_PTE; i++)
		if (READ_ONCE(table[i]) & S2_VALID)
			return false;
	return true;
}

/* Unlink the table entry e names; its page goes to freed. */
static void s2_unlink(u64 *e, struct list_head *freed)
{
	struct page *page = phys_to_page(*e & S2_ADDR_MASK);

	WRITE_ONCE(*e, 0);
	list_add(&page->lru, freed);
}

static void s2_free_list(struct list_head *freed)
{
	struct page *page, *next;

	list_for_each_entry_safe(page, next, freed, lru) {
		list_del(&page->lru);
		__free_page(page);
		atomic_long_dec(&axvcpu_nr_table_pages);
	}
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
			atomic_long_inc(&axvcpu_nr_table_pages);
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

static void s2_flush(struct arm64_vm *v, u64 gpa, u64 size);

/*
 * Break before make: the valid entry e (mapping gpa, size) is cleared
 * and no TLB holds it when this returns.  A table it named must be empty
 * (a block never covers live pages) and is freed.
 */
static void s2_break(struct arm64_vm *v, u64 *e, int level, u64 gpa,
		     u64 size)
{
	LIST_HEAD(freed);

	if (level < 3 && (*e & S2_TABLE) == S2_TABLE)
		s2_unlink(e, &freed);
	else
		WRITE_ONCE(*e, 0);
	s2_flush(v, gpa, size);
	s2_free_list(&freed);
}

int arm64_stage2_map(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	struct arm64_vm *v = vm->arch;
	u64 prot = PTE_AF | PTE_SHARED | PTE_S2_MEMATTR(MT_S2_NORMAL) | S2AP_R;
	unsigned long i = 0;

	if (slot->gpa + slot->size > BIT_ULL(S2_IPA_BITS))
		return -EFAULT;	/* beyond the guest's physical space, as KVM */

	while (i < slot->npages) {
		u64 gpa = slot->gpa + i * PAGE_SIZE;
		bool huge = axvcpu_slot_huge_ok(slot, i);
		u64 *e = s2_entry(v, gpa, huge ? 2 : 3, true);
		u64 size;

		/* A table with live pages under it stays: pages, then. */
		if (e && huge && (*e & S2_TABLE) == S2_TABLE &&
		    !s2_table_empty(s2_table(*e))) {
			huge = false;
			e = s2_entry(v, gpa, 3, true);
		}
		if (!e) {
			arm64_stage2_unmap(vm, slot);
			return -ENOMEM;
		}
		size = huge ? PMD_SIZE : PAGE_SIZE;
		if (*e & S2_VALID)
			s2_break(v, e, huge ? 2 : 3, gpa, size);
		s2_clean_to_poc(page_address(slot->pages[i]), size);
		WRITE_ONCE(*e, page_to_phys(slot->pages[i]) | prot |
			   (axvcpu_slot_page_writable(slot, i) ? S2AP_W : 0) |
			   (huge ? S2_BLOCK : S2_TABLE));
		i += huge ? S2_BLOCK_PAGES : 1;
	}
	/* The tables before any guest walks them. */
	dsb(ishst);
	/*
	 * The I-cache may hold what these pages held before (another VM's
	 * code, the host's): without CTR_EL0.DIC it must be invalidated
	 * before the guest can fetch from them, as KVM does when stage 2
	 * maps an executable page.  All of it, inner shareable: right for
	 * PIPT and VIPT caches alike, and one instruction per slot.
	 */
	if (!s2_icache_dic) {
		asm volatile("ic ialluis" : : : "memory");
		dsb(ish);
		isb();
	}
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
	write_sysreg(arm64_vttbr(v), vttbr_el2);
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

/* The level-3 entry (a 4 KiB page) that maps gpa, or NULL. */
static u64 *s2_page(struct arm64_vm *v, u64 gpa)
{
	u64 *e = s2_entry(v, gpa, 3, false);

	return e && (*e & S2_TABLE) == S2_TABLE ? e : NULL;
}

/* The logged pages first + j of slot, for each bit j of mask, read-only. */
void arm64_stage2_write_protect(struct axvcpu_vm *vm,
				struct axvcpu_memslot *slot,
				const unsigned long *mask, unsigned long first,
				unsigned long n)
{
	struct arm64_vm *v = vm->arch;
	unsigned long j;
	u64 *e;

	for_each_set_bit(j, mask, n) {
		e = s2_page(v, slot->gpa + (first + j) * PAGE_SIZE);
		if (e)
			WRITE_ONCE(*e, *e & ~S2AP_W);
	}
	/* Before a CPU can use the old permission no more. */
	s2_flush(v, 0, 0);
}

/*
 * A stage-2 abort at gpa of a slot: true when its entry allows the access
 * now, after giving a logged page its write permission back when
 * make_writable.
 */
bool arm64_stage2_retry_fault(struct axvcpu_vm *vm, u64 gpa, bool write,
			      bool make_writable)
{
	struct arm64_vm *v = vm->arch;
	u64 *e = s2_entry(v, gpa, 2, false);

	/* A block, else the page under it. */
	if (!e || (*e & S2_TABLE) != S2_BLOCK)
		e = s2_page(v, gpa);
	if (!e || !(*e & S2_VALID))
		return false;
	if (make_writable && (*e & S2_TABLE) == S2_TABLE &&
	    !(*e & S2AP_W)) {
		WRITE_ONCE(*e, *e | S2AP_W);
		s2_flush(v, gpa & PAGE_MASK, PAGE_SIZE);
	}
	return !write || (*e & S2AP_W);
}

/*
 * Every page of the VM's memory cleaned and invalidated to the point of
 * coherency, as KVM does on the guest's first set/way operation: those
 * operations act on one CPU's caches only, and cannot be trusted to make
 * the guest's memory coherent.  VM lock held.
 */
void arm64_stage2_clean(struct axvcpu_vm *vm)
{
	unsigned long i, n;

	for (n = 0; n < AXVCPU_NR_MEMSLOTS; n++) {
		struct axvcpu_memslot *slot = vm->slots[n];

		for (i = 0; slot && i < slot->npages; i++) {
			s2_clean_to_poc(page_address(slot->pages[i]), PAGE_SIZE);
			if (!(i % 512))
				cond_resched();
		}
	}
}

/*
 * The tables under [start, end) that no longer map anything are
 * unlinked into freed: the level-3 ones, then the level-2 ones.
 */
static void s2_prune(struct arm64_vm *v, u64 start, u64 end,
		     struct list_head *freed)
{
	u64 gpa, next, g;

	for (gpa = start; gpa < end; gpa = next) {
		u64 *e1 = &v->pgd[s2_index(gpa, 1)], *t2;

		next = min(ALIGN_DOWN(gpa, S2_L1_SIZE) + S2_L1_SIZE, end);
		if ((*e1 & S2_TABLE) != S2_TABLE)
			continue;
		t2 = s2_table(*e1);
		for (g = gpa; g < next; g = ALIGN_DOWN(g, PMD_SIZE) + PMD_SIZE) {
			u64 *e2 = &t2[s2_index(g, 2)];

			if ((*e2 & S2_TABLE) == S2_TABLE &&
			    s2_table_empty(s2_table(*e2)))
				s2_unlink(e2, freed);
		}
		if (s2_table_empty(t2))
			s2_unlink(e1, freed);
	}
}

void arm64_stage2_unmap(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	struct arm64_vm *v = vm->arch;
	u64 gpa = slot->gpa, end = slot->gpa + slot->size;
	LIST_HEAD(freed);

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
	s2_prune(v, slot->gpa, end, &freed);
	/* No walk may use an unlinked table once it is freed. */
	s2_flush(v, slot->gpa, slot->size);
	s2_free_list(&freed);
}

static void s2_free_table(u64 *table, int level)
{
	int i, n = level == 1 ? S2_ROOT_ENTRIES : PTRS_PER_PTE;

	for (i = 0; level < 3 && i < n; i++)
		if ((table[i] & S2_TABLE) == S2_TABLE)
			s2_free_table(s2_table(table[i]), level + 1);
	if (level == 1) {
		free_pages((unsigned long)table, S2_ROOT_ORDER);
		atomic_long_sub(1 << S2_ROOT_ORDER, &axvcpu_nr_table_pages);
	} else {
		free_page((unsigned long)table);
		atomic_long_dec(&axvcpu_nr_table_pages);
	}
}

int arm64_stage2_init(struct arm64_vm *v)
{
	v->pgd = (u64 *)__get_free_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO,
					 S2_ROOT_ORDER);
	if (!v->pgd)
		return -ENOMEM;
	atomic_long_add(1 << S2_ROOT_ORDER, &axvcpu_nr_table_pages);
	/* Its VMID comes with the first entry (arm64_vmid_update()). */
	atomic64_set(&v->vmid, 0);
	return 0;
}

/*
 * The VMID stays taken until the next rollover, which drops every TLB
 * entry; these go now, before the tables are freed.
 */
void arm64_stage2_free(struct arm64_vm *v)
{
	if (atomic64_read(&v->vmid))
		s2_flush(v, 0, 0);
	s2_free_table(v->pgd, 1);
}
