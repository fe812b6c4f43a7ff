// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: guest memory regions (KVM_SET_USER_MEMORY_REGION).
 *
 * A region's pages are pinned with FOLL_LONGTERM when it is set and stay
 * pinned until it is deleted or the VM goes, so the stage-2 tables never
 * point at a page the host could reuse.  Pinned pages are charged to the
 * VM owner's RLIMIT_MEMLOCK.
 */
#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "axvcpu_host.h"

/* pin_user_pages_fast() takes an int count: pin in chunks of this many. */
#define AXVCPU_PIN_CHUNK	(256UL * 1024)

static atomic_long_t axvcpu_nr_pinned = ATOMIC_LONG_INIT(0);
atomic_long_t axvcpu_nr_table_pages = ATOMIC_LONG_INIT(0);

long axvcpu_pinned_pages(void)
{
	return atomic_long_read(&axvcpu_nr_pinned);
}

static bool axvcpu_slot_overlaps(struct axvcpu_vm *vm, u64 gpa, u64 size,
				 const struct axvcpu_memslot *skip)
{
	int i;

	for (i = 0; i < AXVCPU_NR_MEMSLOTS; i++) {
		const struct axvcpu_memslot *s = vm->slots[i];

		if (s && s != skip && gpa < s->gpa + s->size &&
		    s->gpa < gpa + size)
			return true;
	}
	return false;
}

static int axvcpu_pin_slot(struct axvcpu_memslot *slot)
{
	unsigned long done = 0;
	int r;

	while (done < slot->npages) {
		unsigned long n = min(slot->npages - done, AXVCPU_PIN_CHUNK);
		unsigned long hva = slot->hva + done * PAGE_SIZE;

		/*
		 * A read-only slot is pinned for writing too where the
		 * mapping allows it: a read pin of memory not yet written
		 * (a VMM's ROM before it loads the image) holds the zero page
		 * or a page the VMM's first write copies away from, and the
		 * guest would never see what the VMM put there.
		 */
		r = pin_user_pages_fast(hva, n, FOLL_LONGTERM | FOLL_WRITE,
					slot->pages + done);
		if (r <= 0 && (slot->flags & KVM_MEM_READONLY))
			r = pin_user_pages_fast(hva, n, FOLL_LONGTERM,
						slot->pages + done);
		if (r <= 0) {
			r = r ? r : -EFAULT;
			goto out_unpin;
		}
		done += r;
	}
	return 0;

out_unpin:
	unpin_user_pages(slot->pages, done);
	return r;
}

/*
 * Can slot page i start a 2 MiB mapping (PMD_SIZE) in stage 2: is the
 * guest range aligned and are its pinned pages contiguous and aligned?
 */
bool axvcpu_slot_huge_ok(const struct axvcpu_memslot *slot, unsigned long i)
{
	unsigned long n = PMD_SIZE / PAGE_SIZE;
	unsigned long pfn = page_to_pfn(slot->pages[i]), j;

	if (!IS_ALIGNED(slot->gpa + i * PAGE_SIZE, PMD_SIZE) ||
	    !IS_ALIGNED(pfn, n) || slot->npages - i < n)
		return false;
	for (j = 1; j < n; j++)
		if (page_to_pfn(slot->pages[i + j]) != pfn + j)
			return false;
	return true;
}

/* Unmap from stage-2; no vCPU may use the old mapping once this returns. */
static void axvcpu_unmap_slot(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	if (axvcpu_arch->unmap) {
		axvcpu_arch->unmap(vm, slot);
		axvcpu_vm_sync_guests(vm);
	}
}

static void axvcpu_free_slot(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	axvcpu_unmap_slot(vm, slot);
	/* The guest may have written any page of a writable slot. */
	unpin_user_pages_dirty_lock(slot->pages, slot->npages,
				    !(slot->flags & KVM_MEM_READONLY));
	atomic_long_sub(slot->npages, &axvcpu_nr_pinned);
	account_locked_vm(vm->mm, slot->npages, false);
	kvfree(slot->pages);
	kfree(slot);
}

static int axvcpu_create_slot(struct axvcpu_vm *vm,
			      const struct kvm_userspace_memory_region *mem)
{
	struct axvcpu_memslot *slot;
	int r;

	slot = kzalloc(sizeof(*slot), GFP_KERNEL_ACCOUNT);
	if (!slot)
		return -ENOMEM;
	slot->id = (u16)mem->slot;
	slot->flags = mem->flags;
	slot->gpa = mem->guest_phys_addr;
	slot->size = mem->memory_size;
	slot->hva = mem->userspace_addr;
	slot->npages = mem->memory_size >> PAGE_SHIFT;

	/* Charge first: the limit also bounds the page array below. */
	r = account_locked_vm(vm->mm, slot->npages, true);
	if (r)
		goto out_free_slot;

	slot->pages = kvmalloc_array(slot->npages, sizeof(*slot->pages),
				     GFP_KERNEL_ACCOUNT);
	if (!slot->pages) {
		r = -ENOMEM;
		goto out_uncharge;
	}

	r = axvcpu_pin_slot(slot);
	if (r)
		goto out_free_pages;
	atomic_long_add(slot->npages, &axvcpu_nr_pinned);

	if (axvcpu_arch->map) {
		r = axvcpu_arch->map(vm, slot);
		if (r)
			goto out_unpin;
	}
	vm->slots[slot->id] = slot;
	return 0;

out_unpin:
	/* The map undid itself, but a vCPU may have used what it mapped. */
	axvcpu_vm_sync_guests(vm);
	atomic_long_sub(slot->npages, &axvcpu_nr_pinned);
	unpin_user_pages(slot->pages, slot->npages);
out_free_pages:
	kvfree(slot->pages);
out_uncharge:
	account_locked_vm(vm->mm, slot->npages, false);
out_free_slot:
	kfree(slot);
	return r;
}

/* Move an existing slot to a new guest-physical address. */
static int axvcpu_move_slot(struct axvcpu_vm *vm, struct axvcpu_memslot *slot,
			    u64 gpa)
{
	u64 old = slot->gpa;
	int r;

	if (axvcpu_slot_overlaps(vm, gpa, slot->size, slot))
		return -EEXIST;
	axvcpu_unmap_slot(vm, slot);
	slot->gpa = gpa;
	if (!axvcpu_arch->map)
		return 0;
	r = axvcpu_arch->map(vm, slot);
	if (r) {
		/* Put it back where it was; that mapping worked before. */
		slot->gpa = old;
		if (axvcpu_arch->map(vm, slot)) {
			vm->slots[slot->id] = NULL;
			axvcpu_free_slot(vm, slot);
		}
	}
	return r;
}

static int axvcpu_check_region(const struct kvm_userspace_memory_region *mem)
{
	u16 as_id = mem->slot >> 16, id = (u16)mem->slot;

	if (mem->flags & ~KVM_MEM_READONLY)
		return -EINVAL;
	if (as_id || id >= AXVCPU_NR_MEMSLOTS)
		return -EINVAL;
	if (!PAGE_ALIGNED(mem->memory_size) ||
	    !PAGE_ALIGNED(mem->guest_phys_addr) ||
	    !PAGE_ALIGNED(mem->userspace_addr))
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;
	if (mem->memory_size &&
	    !access_ok((void __user *)(unsigned long)mem->userspace_addr,
		       mem->memory_size))
		return -EINVAL;
	/* Larger than all of RAM could never be pinned. */
	if ((mem->memory_size >> PAGE_SHIFT) > totalram_pages())
		return -ENOMEM;
	return 0;
}

int axvcpu_set_memory_region(struct axvcpu_vm *vm,
			     const struct kvm_userspace_memory_region *mem)
{
	struct axvcpu_memslot *old;
	u16 id = (u16)mem->slot;
	int r;

	r = axvcpu_check_region(mem);
	if (r)
		return r;

	mutex_lock(&vm->lock);
	old = vm->slots[id];
	if (!mem->memory_size) {
		/* Size 0 deletes; there must be something to delete. */
		r = -EINVAL;
		if (old) {
			vm->slots[id] = NULL;
			axvcpu_free_slot(vm, old);
			r = 0;
		}
	} else if (old) {
		/* As KVM: only the guest address may change. */
		r = -EINVAL;
		if (mem->userspace_addr == old->hva &&
		    mem->memory_size == old->size &&
		    mem->flags == old->flags)
			r = mem->guest_phys_addr == old->gpa ? 0 :
			    axvcpu_move_slot(vm, old, mem->guest_phys_addr);
	} else if (axvcpu_slot_overlaps(vm, mem->guest_phys_addr,
					mem->memory_size, NULL)) {
		r = -EEXIST;
	} else {
		r = axvcpu_create_slot(vm, mem);
	}
	mutex_unlock(&vm->lock);
	return r;
}

/* The VM is going away: nothing can run on these slots any more. */
void axvcpu_free_memslots(struct axvcpu_vm *vm)
{
	int i;

	for (i = 0; i < AXVCPU_NR_MEMSLOTS; i++) {
		if (vm->slots[i]) {
			axvcpu_free_slot(vm, vm->slots[i]);
			vm->slots[i] = NULL;
		}
	}
}
