// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: the SMCCC services KVM 6.1 offers an arm64 guest besides PSCI:
 * stolen time (the Arm DEN0057A paravirtualized time, KVM's pvtime.c),
 * the TRNG (DEN0098, KVM's trng.c) and KVM's PTP clock.  Each answers only
 * while its bit of the VM's feature bitmaps (KVM_REG_ARM_FW_FEAT_BMAP) is
 * set; psci.c dispatches to them.
 *
 * Stolen time: the VMM gives each vCPU a 64-byte aligned IPA in its
 * memory (KVM_ARM_VCPU_PVTIME_CTRL); the guest finds it by PV_TIME_ST,
 * which zeroes the structure there, and each KVM_RUN adds the time the
 * thread waited to run since (sched_info's run_delay) to its stolen_time.
 */
#include <linux/arm-smccc.h>
#include <linux/bitmap.h>
#include <linux/clocksource_ids.h>
#include <linux/highmem.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/uuid.h>
#include <asm/pvclock-abi.h>

#include "../../axvcpu_host.h"
#include "arm64.h"

#define TRNG_VERSION_1_0	0x10000UL
#define TRNG_SUCCESS		0UL
#define TRNG_NOT_SUPPORTED	((unsigned long)-1)
#define TRNG_INVALID_PARAMETER	((unsigned long)-2)
#define TRNG_MAX_BITS		192	/* three registers of 64 bits */

/* The TRNG's UUID as KVM reports it (arch/arm64/kvm/trng.c). */
static const uuid_t arm64_trng_uuid __aligned(4) =
	UUID_INIT(0x0d21e000, 0x4384, 0x11eb,
		  0x80, 0x70, 0x52, 0x44, 0x55, 0x4e, 0x5a, 0x4c);

/* Stolen time needs the scheduler's per-task run delay. */
bool arm64_pvtime_supported(void)
{
	return IS_ENABLED(CONFIG_SCHED_INFO);
}

/*
 * The page of the VM's memory at gpa, for @len bytes from there within
 * it; NULL outside every slot (or a read-only one, to write).  VM lock.
 */
static struct page *guest_page(struct axvcpu_vm *vm, u64 gpa, bool write)
{
	struct axvcpu_memslot *s = axvcpu_find_slot(vm, gpa);

	if (!s || (write && (s->flags & KVM_MEM_READONLY)))
		return NULL;
	/* What the kernel writes is the guest's, as KVM logs it. */
	if (write)
		axvcpu_mark_dirty(s, gpa);
	return s->pages[(gpa - s->gpa) >> PAGE_SHIFT];
}

/* Copy to or from guest memory, inside one page; VM lock held. */
static int guest_copy(struct axvcpu_vm *vm, u64 gpa, void *buf, size_t len,
		      bool write)
{
	struct page *page = guest_page(vm, gpa, write);
	void *p;

	if (!page || offset_in_page(gpa) + len > PAGE_SIZE)
		return -EFAULT;
	p = kmap_local_page(page);
	if (write)
		memcpy(p + offset_in_page(gpa), buf, len);
	else
		memcpy(buf, p + offset_in_page(gpa), len);
	kunmap_local(p);
	return 0;
}

/* --- stolen time --------------------------------------------------------- */

/* KVM_RUN begins: the time the thread waited since goes to the guest. */
void arm64_pvtime_update(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	u64 gpa = a->steal_base +
		  offsetof(struct pvclock_vcpu_stolen_time, stolen_time);
	u64 delay, last = a->last_steal;
	__le64 steal;

	if (a->steal_base == ARM64_NO_STEAL)
		return;
	mutex_lock(&vcpu->vm->lock);
	if (!guest_copy(vcpu->vm, gpa, &steal, sizeof(steal), false)) {
		delay = READ_ONCE(current->sched_info.run_delay);
		a->last_steal = delay;
		steal = cpu_to_le64(le64_to_cpu(steal) + delay - last);
		guest_copy(vcpu->vm, gpa, &steal, sizeof(steal), true);
	}
	mutex_unlock(&vcpu->vm->lock);
}

/* PV_TIME_ST: the structure starts from zero, counting from now. */
static long pvtime_st(struct axvcpu_vcpu *vcpu)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	struct pvclock_vcpu_stolen_time init = {};

	if (a->steal_base == ARM64_NO_STEAL)
		return SMCCC_RET_NOT_SUPPORTED;
	a->last_steal = READ_ONCE(current->sched_info.run_delay);
	mutex_lock(&vcpu->vm->lock);
	guest_copy(vcpu->vm, a->steal_base, &init, sizeof(init), true);
	mutex_unlock(&vcpu->vm->lock);
	return a->steal_base;
}

/* KVM_ARM_VCPU_PVTIME_CTRL, KVM_ARM_VCPU_PVTIME_IPA: as KVM's. */
int arm64_pvtime_attr(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
		      const struct kvm_device_attr *attr)
{
	struct arm64_vcpu *a = to_arm64(vcpu);
	u64 __user *uaddr = u64_to_user_ptr(attr->addr);
	u64 ipa;
	int r = 0;

	if (attr->attr != KVM_ARM_VCPU_PVTIME_IPA || !arm64_pvtime_supported())
		return -ENXIO;
	switch (ioctl) {
	case KVM_HAS_DEVICE_ATTR:
		return 0;
	case KVM_GET_DEVICE_ATTR:
		return put_user(a->steal_base, uaddr);
	}
	if (get_user(ipa, uaddr))
		return -EFAULT;
	if (!IS_ALIGNED(ipa, 64))
		return -EINVAL;
	if (a->steal_base != ARM64_NO_STEAL)
		return -EEXIST;
	mutex_lock(&vcpu->vm->lock);
	if (!guest_page(vcpu->vm, ipa, false))
		r = -EINVAL;
	else
		a->steal_base = ipa;
	mutex_unlock(&vcpu->vm->lock);
	return r;
}

/* --- the TRNG ------------------------------------------------------------ */

/* TRNG_RND32/64: x1 bits of entropy in x1-x3, the low ones in x3. */
static void trng_rnd(u64 *x, unsigned int width)
{
	DECLARE_BITMAP(bits, TRNG_MAX_BITS);
	u32 n = x[1];
	unsigned int i;

	if (n > 3 * width) {
		memset(x, 0, 4 * sizeof(*x));
		x[0] = TRNG_INVALID_PARAMETER;
		return;
	}
	for (i = 0; i < BITS_TO_LONGS(TRNG_MAX_BITS); i++)
		bits[i] = get_random_long();
	bitmap_clear(bits, n, TRNG_MAX_BITS - n);
	x[0] = TRNG_SUCCESS;
	if (width == 32) {
		x[1] = lower_32_bits(bits[1]);
		x[2] = upper_32_bits(bits[0]);
		x[3] = lower_32_bits(bits[0]);
	} else {
		x[1] = bits[2];
		x[2] = bits[1];
		x[3] = bits[0];
	}
	memzero_explicit(bits, sizeof(bits));
}

static bool trng_function(u32 fn)
{
	switch (fn) {
	case ARM_SMCCC_TRNG_VERSION:
	case ARM_SMCCC_TRNG_FEATURES:
	case ARM_SMCCC_TRNG_GET_UUID:
	case ARM_SMCCC_TRNG_RND32:
	case ARM_SMCCC_TRNG_RND64:
		return true;
	default:
		return false;
	}
}

static void trng_call(u64 *x)
{
	const __le32 *u = (const __le32 *)arm64_trng_uuid.b;
	u32 fn = x[0];

	switch (fn) {
	case ARM_SMCCC_TRNG_RND32:
	case ARM_SMCCC_TRNG_RND64:
		trng_rnd(x, fn == ARM_SMCCC_TRNG_RND32 ? 32 : 64);
		return;
	case ARM_SMCCC_TRNG_GET_UUID:
		x[0] = le32_to_cpu(u[0]);
		x[1] = le32_to_cpu(u[1]);
		x[2] = le32_to_cpu(u[2]);
		x[3] = le32_to_cpu(u[3]);
		return;
	case ARM_SMCCC_TRNG_VERSION:
		x[0] = TRNG_VERSION_1_0;
		break;
	default:	/* ARM_SMCCC_TRNG_FEATURES */
		x[0] = trng_function(x[1]) ? TRNG_SUCCESS : TRNG_NOT_SUPPORTED;
		break;
	}
	memset(x + 1, 0, 3 * sizeof(*x));
}

/* --- KVM's PTP clock ------------------------------------------------------ */

/* The wall clock and the counter of the same instant, as KVM's. */
static void ptp_call(struct axvcpu_vcpu *vcpu, u64 *val, u32 which)
{
	struct system_time_snapshot snap;
	struct arm64_vm *v = vcpu->vm->arch;
	u64 cycles;

	ktime_get_snapshot(&snap);
	if (snap.cs_id != CSID_ARM_ARCH_COUNTER)
		return;
	switch (which) {
	case KVM_PTP_VIRT_COUNTER:
		cycles = snap.cycles - READ_ONCE(v->cntvoff);
		break;
	case KVM_PTP_PHYS_COUNTER:
		cycles = snap.cycles;
		break;
	default:
		return;
	}
	val[0] = upper_32_bits(snap.real);
	val[1] = lower_32_bits(snap.real);
	val[2] = upper_32_bits(cycles);
	val[3] = lower_32_bits(cycles);
}

/*
 * A call of these services: true when it was one (x0-x3 hold the answer),
 * false when fn is none of theirs.  @bmap: the VM's feature bitmaps.
 */
bool arm64_smccc_service(struct axvcpu_vcpu *vcpu, const u64 *bmap)
{
	u64 *x = to_arm64(vcpu)->core.regs.regs;
	u64 val[4] = { SMCCC_RET_NOT_SUPPORTED, 0, 0, 0 };
	u32 fn = x[0];

	if (trng_function(fn)) {
		if (!(bmap[ARM64_BMAP_STD] & BIT(KVM_REG_ARM_STD_BIT_TRNG_V1_0)))
			goto out;
		trng_call(x);
		return true;
	}
	switch (fn) {
	case ARM_SMCCC_HV_PV_TIME_FEATURES:
	case ARM_SMCCC_HV_PV_TIME_ST:
		if (!(bmap[ARM64_BMAP_STD_HYP] &
		      BIT(KVM_REG_ARM_STD_HYP_BIT_PV_TIME)))
			break;
		if (fn == ARM_SMCCC_HV_PV_TIME_ST) {
			val[0] = pvtime_st(vcpu);
			break;
		}
		if (((u32)x[1] == ARM_SMCCC_HV_PV_TIME_FEATURES ||
		     (u32)x[1] == ARM_SMCCC_HV_PV_TIME_ST) &&
		    to_arm64(vcpu)->steal_base != ARM64_NO_STEAL)
			val[0] = SMCCC_RET_SUCCESS;
		break;
	case ARM_SMCCC_VENDOR_HYP_KVM_PTP_FUNC_ID:
		if (bmap[ARM64_BMAP_VENDOR_HYP] &
		    BIT(KVM_REG_ARM_VENDOR_HYP_BIT_PTP))
			ptp_call(vcpu, val, x[1]);
		break;
	default:
		return false;
	}
out:
	x[0] = val[0];
	x[1] = val[1];
	x[2] = val[2];
	x[3] = val[3];
	return true;
}
