// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: guest memory regions (KVM_SET_USER_MEMORY_REGION).
 *
 * A region's pages are pinned with FOLL_LONGTERM when it is set and stay
 * pinned until it is deleted or the VM goes, so the stage-2 tables never
 * point at a page the host could reuse.  Pinned pages are charged to the
 * VM owner's RLIMIT_MEMLOCK.
 *
 * Dirty logging (KVM_MEM_LOG_DIRTY_PAGES) is KVM's: a slot that logs has a
 * bitmap from the moment logging is on until it is off or the slot goes,
 * and stage 2 maps its pages in 4 KiB entries, writable only while their
 * bit is set.  The guest's first write to a page faults; the fault sets
 * the bit and makes the entry writable, and the guest goes on without an
 * exit.  KVM_GET_DIRTY_LOG (or KVM_CLEAR_DIRTY_LOG, with manual protection)
 * clears bits and takes write access away again.  Everything here runs
 * under the VM lock, the faults included.
 */
#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/limits.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "axvcpu_host.h"

/*
 * KVM 6.1's bounds of a slot number for the dirty-log ioctls (beyond them
 * EINVAL; below them a slot that does not exist is ENOENT): x86 has the
 * SMM address space and keeps three slots for itself.
 */
#ifdef CONFIG_X86
#define AXVCPU_KVM_AS_NUM	2
#define AXVCPU_KVM_USER_SLOTS	(SHRT_MAX - 3)
#else
#define AXVCPU_KVM_AS_NUM	1
#define AXVCPU_KVM_USER_SLOTS	SHRT_MAX
#endif

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

	/* A logged page is write-protected on its own. */
	if (slot->dirty)
		return false;
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

/*
 * A dirty bitmap for slot, both halves, or NULL; with KVM_DIRTY_LOG_INITIALLY_SET
 * every page starts dirty (and writable), as in KVM.
 */
static unsigned long *axvcpu_alloc_dirty(struct axvcpu_vm *vm,
					 const struct axvcpu_memslot *slot)
{
	unsigned long *dirty;

	/* As many bits as the pinned pages: bounded with them. */
	dirty = kvzalloc(2 * axvcpu_dirty_bytes(slot), GFP_KERNEL_ACCOUNT);
	if (dirty && (vm->manual_dirty_log & KVM_DIRTY_LOG_INITIALLY_SET))
		bitmap_set(dirty, 0, slot->npages);
	return dirty;
}

static void axvcpu_free_slot(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	axvcpu_unmap_slot(vm, slot);
	kvfree(slot->dirty);
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

	if (slot->flags & KVM_MEM_LOG_DIRTY_PAGES) {
		slot->dirty = axvcpu_alloc_dirty(vm, slot);
		if (!slot->dirty) {
			r = -ENOMEM;
			goto out_free_pages;
		}
	}

	r = axvcpu_pin_slot(slot);
	if (r)
		goto out_free_dirty;
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
out_free_dirty:
	kvfree(slot->dirty);
out_free_pages:
	kvfree(slot->pages);
out_uncharge:
	account_locked_vm(vm->mm, slot->npages, false);
out_free_slot:
	kfree(slot);
	return r;
}

/*
 * Give an existing slot a new guest-physical address and dirty-logging
 * flag (what KVM lets change on a live slot).  Its bitmap stays while it
 * logs, is made when logging starts and goes when it ends; stage 2 is
 * built again, in 4 KiB entries while it logs.
 */
static int axvcpu_change_slot(struct axvcpu_vm *vm,
			      struct axvcpu_memslot *slot, u64 gpa, u32 flags)
{
	unsigned long *old_dirty = slot->dirty;
	u32 old_flags = slot->flags;
	u64 old_gpa = slot->gpa;
	int r;

	if (gpa != old_gpa && axvcpu_slot_overlaps(vm, gpa, slot->size, slot))
		return -EEXIST;
	if (!(flags & KVM_MEM_LOG_DIRTY_PAGES)) {
		slot->dirty = NULL;
	} else if (!old_dirty) {
		slot->dirty = axvcpu_alloc_dirty(vm, slot);
		if (!slot->dirty)
			return -ENOMEM;
	}
	axvcpu_unmap_slot(vm, slot);
	slot->gpa = gpa;
	slot->flags = flags;
	if (!axvcpu_arch->map) {
		r = 0;
		goto out_done;
	}
	r = axvcpu_arch->map(vm, slot);
	if (r) {
		/* Put it back as it was; that mapping worked before. */
		if (slot->dirty != old_dirty)
			kvfree(slot->dirty);
		slot->dirty = old_dirty;
		slot->gpa = old_gpa;
		slot->flags = old_flags;
		if (axvcpu_arch->map(vm, slot)) {
			vm->slots[slot->id] = NULL;
			axvcpu_free_slot(vm, slot);
		}
		return r;
	}
out_done:
	if (old_dirty != slot->dirty)
		kvfree(old_dirty);
	return r;
}

static int axvcpu_check_region(const struct kvm_userspace_memory_region *mem)
{
	u16 as_id = mem->slot >> 16, id = (u16)mem->slot;

	if (mem->flags & ~(KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES))
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
		/* As KVM: the guest address and dirty logging may change. */
		r = -EINVAL;
		if (mem->userspace_addr == old->hva &&
		    mem->memory_size == old->size &&
		    !((mem->flags ^ old->flags) & KVM_MEM_READONLY))
			r = mem->guest_phys_addr == old->gpa &&
			    mem->flags == old->flags ? 0 :
			    axvcpu_change_slot(vm, old, mem->guest_phys_addr,
					       mem->flags);
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

/* --- dirty logging ------------------------------------------------------ */

/* The slot holding gpa, or NULL; VM lock held. */
struct axvcpu_memslot *axvcpu_find_slot(struct axvcpu_vm *vm, u64 gpa)
{
	int i;

	lockdep_assert_held(&vm->lock);
	for (i = 0; i < AXVCPU_NR_MEMSLOTS; i++) {
		struct axvcpu_memslot *s = vm->slots[i];

		if (s && gpa >= s->gpa && gpa - s->gpa < s->size)
			return s;
	}
	return NULL;
}

/* The kernel wrote guest memory at gpa of slot; VM lock held. */
void axvcpu_mark_dirty(struct axvcpu_memslot *slot, u64 gpa)
{
	if (slot->dirty)
		__set_bit((gpa - slot->gpa) >> PAGE_SHIFT, slot->dirty);
}

/*
 * A stage-2 fault at gpa that may be no MMIO: a write to a page of a slot
 * that logs (the page is dirty now, and writable until the log is taken),
 * or an access that an entry allows by now (the slot changed while the
 * guest ran).  True when the guest may run again; false for MMIO (no slot,
 * a write to a read-only one), as before.
 */
bool axvcpu_stage2_fault(struct axvcpu_vm *vm, u64 gpa, bool write)
{
	struct axvcpu_memslot *slot;
	bool log, r = false;

	if (!axvcpu_arch->retry_fault)
		return false;
	mutex_lock(&vm->lock);
	slot = axvcpu_find_slot(vm, gpa);
	if (slot && !(write && (slot->flags & KVM_MEM_READONLY))) {
		log = write && slot->dirty;
		r = axvcpu_arch->retry_fault(vm, gpa, write, log);
		if (r && log)
			axvcpu_mark_dirty(slot, gpa);
	}
	mutex_unlock(&vm->lock);
	return r;
}

/* KVM_ENABLE_CAP(KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2), as KVM 6.1. */
int axvcpu_enable_manual_dirty_log(struct axvcpu_vm *vm,
				   const struct kvm_enable_cap *cap)
{
	u64 allowed = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE;

	/* INITIALLY_SET only comes with manual protection. */
	if (cap->args[0] & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
		allowed |= KVM_DIRTY_LOG_INITIALLY_SET;
	if (cap->flags || (cap->args[0] & ~allowed))
		return -EINVAL;
	mutex_lock(&vm->lock);
	vm->manual_dirty_log = cap->args[0];
	mutex_unlock(&vm->lock);
	return 0;
}

/*
 * The slot a dirty-log ioctl names, with its bitmap: KVM's EINVAL beyond
 * KVM's slot numbers, ENOENT for one that does not log.  VM lock held.
 */
static int axvcpu_dirty_slot(struct axvcpu_vm *vm, u32 id_as,
			     struct axvcpu_memslot **slot)
{
	u16 as_id = id_as >> 16, id = (u16)id_as;

	if (as_id >= AXVCPU_KVM_AS_NUM || id >= AXVCPU_KVM_USER_SLOTS)
		return -EINVAL;
	*slot = !as_id && id < AXVCPU_NR_MEMSLOTS ? vm->slots[id] : NULL;
	return *slot && (*slot)->dirty ? 0 : -ENOENT;
}

/*
 * Take write access away from the pages of slot that mask names (n bits
 * from page first), so that their next write is logged: the backend's
 * entries and TLBs, then every vCPU leaves guest mode, so none runs on
 * with a stale writable entry once this returns.
 */
static void axvcpu_dirty_protect(struct axvcpu_vm *vm,
				 struct axvcpu_memslot *slot,
				 const unsigned long *mask, unsigned long first,
				 unsigned long n)
{
	if (!axvcpu_arch->write_protect ||
	    find_first_bit(mask, n) >= n)
		return;
	axvcpu_arch->write_protect(vm, slot, mask, first, n);
	axvcpu_vm_sync_guests(vm);
}

/* KVM_GET_DIRTY_LOG: the bitmap, cleared and protected unless manual. */
static int axvcpu_get_dirty_log(struct axvcpu_vm *vm,
				const struct kvm_dirty_log *log)
{
	struct axvcpu_memslot *slot;
	unsigned long *buf, i, n;
	int r;

	mutex_lock(&vm->lock);
	r = axvcpu_dirty_slot(vm, log->slot, &slot);
	if (r)
		goto out_unlock;
	n = axvcpu_dirty_bytes(slot);
	buf = slot->dirty;
	if (!(vm->manual_dirty_log & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
		buf = slot->dirty + n / sizeof(long);
		for (i = 0; i < n / sizeof(long); i++) {
			buf[i] = slot->dirty[i];
			slot->dirty[i] = 0;
		}
		axvcpu_dirty_protect(vm, slot, buf, 0, slot->npages);
	}
	if (copy_to_user(log->dirty_bitmap, buf, n))
		r = -EFAULT;
out_unlock:
	mutex_unlock(&vm->lock);
	return r;
}

/* KVM_CLEAR_DIRTY_LOG: clear the bits userspace names and protect them. */
static int axvcpu_clear_dirty_log(struct axvcpu_vm *vm,
				  const struct kvm_clear_dirty_log *log)
{
	u16 as_id = log->slot >> 16, id = (u16)log->slot;
	struct axvcpu_memslot *slot;
	unsigned long *buf, *dirty, i, n;
	int r;

	/* KVM's order of checks, and so of errnos. */
	if (as_id >= AXVCPU_KVM_AS_NUM || id >= AXVCPU_KVM_USER_SLOTS ||
	    (log->first_page & 63))
		return -EINVAL;
	mutex_lock(&vm->lock);
	r = axvcpu_dirty_slot(vm, log->slot, &slot);
	if (r)
		goto out_unlock;
	r = -EINVAL;
	if (log->first_page > slot->npages ||
	    log->num_pages > slot->npages - log->first_page ||
	    (log->num_pages < slot->npages - log->first_page &&
	     (log->num_pages & 63)))
		goto out_unlock;
	r = 0;
	n = BITS_TO_LONGS(log->num_pages);
	buf = slot->dirty + axvcpu_dirty_bytes(slot) / sizeof(long);
	if (copy_from_user(buf, log->dirty_bitmap, n * sizeof(long))) {
		r = -EFAULT;
		goto out_unlock;
	}
	/* What is cleared is protected: never a bit past the slot's end. */
	dirty = slot->dirty + log->first_page / BITS_PER_LONG;
	for (i = 0; i < n; i++) {
		buf[i] &= dirty[i];
		dirty[i] &= ~buf[i];
	}
	axvcpu_dirty_protect(vm, slot, buf, log->first_page,
			     min_t(u64, (u64)n * BITS_PER_LONG,
				   slot->npages - log->first_page));
out_unlock:
	mutex_unlock(&vm->lock);
	return r;
}

/* KVM_GET_DIRTY_LOG and KVM_CLEAR_DIRTY_LOG on the VM fd. */
long axvcpu_dirty_log_ioctl(struct axvcpu_vm *vm, unsigned int ioctl,
			    void __user *argp)
{
	struct kvm_clear_dirty_log clear;
	struct kvm_dirty_log log;

	if (ioctl == KVM_GET_DIRTY_LOG) {
		if (copy_from_user(&log, argp, sizeof(log)))
			return -EFAULT;
		return axvcpu_get_dirty_log(vm, &log);
	}
	if (copy_from_user(&clear, argp, sizeof(clear)))
		return -EFAULT;
	return axvcpu_clear_dirty_log(vm, &clear);
}
