// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: CPUID tables, and the x86 ioctls of the system fd.
 *
 * KVM_GET_SUPPORTED_CPUID is the host's CPUID without what axvcpu does not
 * give a guest, leaf by leaf as KVM 6.1 builds it (arch/x86/kvm/cpuid.c):
 * every basic leaf up to 0x1f and extended leaf up to 0x80000021, a leaf
 * KVM does not pass through reading as zeros, then KVM's signature and
 * paravirtual features at 0x40000000.  KVM_SET_CPUID2 gives a vCPU
 * its table; from then on the guest's CPUID is a lookup in it, with KVM's
 * answer for a leaf the table lacks and KVM's fixups of the bits that
 * follow the guest (OSXSAVE, OSPKE, the XSAVE area's size).  Before the VMM
 * sets a table the guest sees axvcpu_x86_cpuid(), the host's values.
 */
#include <linux/kvm.h>
#include <linux/minmax.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>

#include "../../axvcpu_host.h"
#include "x86.h"

/* KVM's bounds (KVM_MAX_CPUID_ENTRIES, MAX_IO_MSRS), not in its uapi. */
#define X86_MAX_CPUID_ENTRIES	256

/* The highest leaves KVM 6.1 enumerates. */
#define X86_CPUID_MAX_BASIC	0x1fU
#define X86_CPUID_MAX_EXT	0x80000021U

/* The uret MSRs the backend gives the guest (uret.c), set at probe. */
unsigned int x86_guest_uret;

/* Leaves whose subleaf (ECX) selects the answer, as KVM lists them. */
static bool x86_cpuid_indexed(u32 fn)
{
	switch (fn) {
	case 4: case 7: case 0xb: case 0xd: case 0xf: case 0x10: case 0x12:
	case 0x14: case 0x17: case 0x18: case 0x1d: case 0x1e: case 0x1f:
	case 0x8000001d:
		return true;
	default:
		return false;
	}
}

/*
 * The XCR0 a guest may set: the host's, of the features a guest's FPU
 * state has room for (each vCPU keeps the same mask, xcr0_allowed).
 * Dynamic features (AMX tile data) are not in it until the VMM asks for
 * them, which axvcpu does not offer.
 */
static u64 x86_guest_xcr0(void)
{
	struct fpu_guest gf = {};
	u64 xcr0;

	if (!(cr4_read_shadow() & X86_CR4_OSXSAVE))
		return 0;
	if (!fpu_alloc_guest_fpstate(&gf))
		return 0;
	xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK) & gf.fpstate->xfeatures &
	       ~X86_XCR0_HIDDEN;
	fpu_free_guest_fpstate(&gf);
	return xcr0;
}

/*
 * The size of an XSAVE area holding the features of xcr0, in the standard
 * or the compacted format, from the CPU's own offsets and sizes.
 */
static u32 x86_xstate_size(u64 xcr0, bool compacted)
{
	u32 size = sizeof(struct fxregs_state) + sizeof(struct xstate_header);
	u32 eax, ebx, ecx, edx;
	int i;

	for (i = FIRST_EXTENDED_XFEATURE; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx);
		if (!compacted) {
			size = max(size, ebx + eax);
			continue;
		}
		if (ecx & BIT(1))	/* aligned to 64 bytes when compacted */
			size = ALIGN(size, 64);
		size += eax;
	}
	return size;
}

/* KVM_CAP_XSAVE2: the room KVM_GET_XSAVE2 needs, at least the struct's. */
u32 x86_xsave2_size(void)
{
	return max_t(u32, sizeof(struct kvm_xsave),
		     x86_xstate_size(x86_guest_xcr0(), false));
}

struct x86_cpuid_array {
	struct kvm_cpuid_entry2 *e;
	u32 nent, max;
};

/* The next entry: the host's values of fn.idx; NULL when the array is full. */
static struct kvm_cpuid_entry2 *x86_cpuid_host(struct x86_cpuid_array *a,
					       u32 fn, u32 idx)
{
	struct kvm_cpuid_entry2 *e;

	if (a->nent >= a->max)
		return NULL;
	e = &a->e[a->nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	cpuid_count(fn, idx, &e->eax, &e->ebx, &e->ecx, &e->edx);
	if (x86_cpuid_indexed(fn))
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	return e;
}

static void x86_cpuid_zero(struct kvm_cpuid_entry2 *e)
{
	e->eax = 0;
	e->ebx = 0;
	e->ecx = 0;
	e->edx = 0;
}

/* Leaf 1: what axvcpu does not virtualise, the bits that follow the guest. */
#define X86_CPUID_1_ECX_OFF						\
	(CPUID_BIT(X86_FEATURE_DTES64) | CPUID_BIT(X86_FEATURE_MWAIT) |	\
	 CPUID_BIT(X86_FEATURE_DSCPL) | CPUID_BIT(X86_FEATURE_VMX) |	\
	 CPUID_BIT(X86_FEATURE_SMX) | CPUID_BIT(X86_FEATURE_EST) |	\
	 CPUID_BIT(X86_FEATURE_TM2) | CPUID_BIT(X86_FEATURE_CID) |	\
	 CPUID_BIT(X86_FEATURE_XTPR) | CPUID_BIT(X86_FEATURE_PDCM) |	\
	 CPUID_BIT(X86_FEATURE_DCA) | CPUID_BIT(X86_FEATURE_X2APIC) |	\
	 CPUID_BIT(X86_FEATURE_TSC_DEADLINE_TIMER) |			\
	 CPUID_BIT(X86_FEATURE_OSXSAVE))
#define X86_CPUID_1_EDX_OFF						\
	(CPUID_BIT(X86_FEATURE_PN) | CPUID_BIT(X86_FEATURE_DS) |	\
	 CPUID_BIT(X86_FEATURE_ACPI) | CPUID_BIT(X86_FEATURE_HT) |	\
	 CPUID_BIT(X86_FEATURE_ACC) | CPUID_BIT(X86_FEATURE_PBE))

/*
 * Leaf 7: SGX, processor trace, resource monitoring and allocation, MPX,
 * UMWAIT need state axvcpu does not switch; TSC_ADJUST and the speculation
 * controls are MSRs the guest does not have (yet); OSPKE follows CR4.
 */
#define X86_CPUID_7_EBX_OFF						\
	(CPUID_BIT(X86_FEATURE_TSC_ADJUST) | CPUID_BIT(X86_FEATURE_SGX) | \
	 CPUID_BIT(X86_FEATURE_CQM) | CPUID_BIT(X86_FEATURE_MPX) |	\
	 CPUID_BIT(X86_FEATURE_RDT_A) | CPUID_BIT(X86_FEATURE_INTEL_PT))
#define X86_CPUID_7_ECX_OFF						\
	(CPUID_BIT(X86_FEATURE_OSPKE) | CPUID_BIT(X86_FEATURE_WAITPKG) | \
	 CPUID_BIT(X86_FEATURE_SGX_LC) | CPUID_BIT(X86_FEATURE_ENQCMD))
#define X86_CPUID_7_EDX_OFF						\
	(CPUID_BIT(X86_FEATURE_PCONFIG) | CPUID_BIT(X86_FEATURE_SPEC_CTRL) | \
	 CPUID_BIT(X86_FEATURE_INTEL_STIBP) |				\
	 CPUID_BIT(X86_FEATURE_FLUSH_L1D) |				\
	 CPUID_BIT(X86_FEATURE_ARCH_CAPABILITIES) |			\
	 CPUID_BIT(X86_FEATURE_CORE_CAPABILITIES) |			\
	 CPUID_BIT(X86_FEATURE_SPEC_CTRL_SSBD))
#define X86_CPUID_7_EDX_AMX						\
	(CPUID_BIT(X86_FEATURE_AMX_TILE) | CPUID_BIT(X86_FEATURE_AMX_BF16) | \
	 CPUID_BIT(X86_FEATURE_AMX_INT8))
#define X86_CPUID_7_1_EAX_ON						\
	(CPUID_BIT(X86_FEATURE_AVX_VNNI) | CPUID_BIT(X86_FEATURE_AVX512_BF16))

/* Leaf 0xd.1: no XSAVES (IA32_XSS is not the guest's), no XFD. */
#define X86_CPUID_D_1_EAX_ON						\
	(CPUID_BIT(X86_FEATURE_XSAVEOPT) | CPUID_BIT(X86_FEATURE_XSAVEC) | \
	 CPUID_BIT(X86_FEATURE_XGETBV1))
#define X86_CPUID_D_XFD		BIT(2)	/* ECX of a feature's subleaf */

/* 0x80000001: SVM, the PMU, IBS, MONITORX and the rest KVM also hides. */
#define X86_CPUID_8000_0001_ECX_OFF					\
	(CPUID_BIT(X86_FEATURE_SVM) | CPUID_BIT(X86_FEATURE_EXTAPIC) |	\
	 CPUID_BIT(X86_FEATURE_IBS) | CPUID_BIT(X86_FEATURE_SKINIT) |	\
	 CPUID_BIT(X86_FEATURE_WDT) | CPUID_BIT(X86_FEATURE_LWP) |	\
	 CPUID_BIT(X86_FEATURE_PERFCTR_CORE) |				\
	 CPUID_BIT(X86_FEATURE_PERFCTR_NB) |				\
	 CPUID_BIT(X86_FEATURE_PERFCTR_LLC) | CPUID_BIT(X86_FEATURE_MWAITX))
/* 0x80000008 EBX: not the speculation control MSRs. */
#define X86_CPUID_8000_0008_EBX_ON					\
	(CPUID_BIT(X86_FEATURE_CLZERO) | CPUID_BIT(X86_FEATURE_XSAVEERPTR) | \
	 CPUID_BIT(X86_FEATURE_WBNOINVD) | CPUID_BIT(X86_FEATURE_AMD_SSB_NO))

/* Leaves 4 and 0x8000001d: a subleaf per cache, up to a null type. */
static int x86_cpuid_caches(struct x86_cpuid_array *a,
			    struct kvm_cpuid_entry2 *e)
{
	u32 i;

	for (i = 1; e->eax & 0x1f; i++) {
		e = x86_cpuid_host(a, e->function, i);
		if (!e)
			return -E2BIG;
	}
	return 0;
}

/* Subleaves 1..EAX of subleaf 0 (AMX tile information). */
static int x86_cpuid_subleaves(struct x86_cpuid_array *a,
			       struct kvm_cpuid_entry2 *e)
{
	u32 i, max = e->eax, fn = e->function;

	for (i = 1; i <= max; i++)
		if (!x86_cpuid_host(a, fn, i))
			return -E2BIG;
	return 0;
}

static int x86_cpuid_xstate(struct x86_cpuid_array *a,
			    struct kvm_cpuid_entry2 *e, u64 xcr0)
{
	int i;

	e->eax &= xcr0;
	e->edx &= xcr0 >> 32;
	e->ebx = x86_xstate_size(xcr0, false);
	e->ecx = e->ebx;
	if (!xcr0)
		return 0;

	e = x86_cpuid_host(a, 0xd, 1);
	if (!e)
		return -E2BIG;
	e->eax &= X86_CPUID_D_1_EAX_ON;
	e->ebx = (e->eax & CPUID_BIT(X86_FEATURE_XSAVEC)) ?
		 x86_xstate_size(xcr0, true) : 0;
	e->ecx = 0;
	e->edx = 0;

	for (i = FIRST_EXTENDED_XFEATURE; i < 64; i++) {
		if (!(xcr0 & BIT_ULL(i)))
			continue;
		e = x86_cpuid_host(a, 0xd, i);
		if (!e)
			return -E2BIG;
		e->ecx &= ~X86_CPUID_D_XFD;
		e->edx = 0;
	}
	return 0;
}

/* One leaf of KVM_GET_SUPPORTED_CPUID, its subleaves included. */
static int x86_cpuid_supported_leaf(struct x86_cpuid_array *a, u32 fn,
				    u64 xcr0)
{
	bool amx = (xcr0 & XFEATURE_MASK_XTILE) == XFEATURE_MASK_XTILE;
	struct kvm_cpuid_entry2 *e = x86_cpuid_host(a, fn, 0);
	u32 max;

	if (!e)
		return -E2BIG;

	switch (fn) {
	case 0:
		e->eax = min(e->eax, X86_CPUID_MAX_BASIC);
		break;
	case 1:
		e->ecx &= ~X86_CPUID_1_ECX_OFF;
		e->ecx |= CPUID_BIT(X86_FEATURE_HYPERVISOR);
		if (!xcr0)
			e->ecx &= ~CPUID_BIT(X86_FEATURE_XSAVE);
		e->edx &= ~X86_CPUID_1_EDX_OFF;
		break;
	case 2:
		break;
	case 4:
		return x86_cpuid_caches(a, e);
	case 6:			/* only "APIC timer always running" */
		e->eax = CPUID_BIT(X86_FEATURE_ARAT);
		e->ebx = 0;
		e->ecx = 0;
		e->edx = 0;
		break;
	case 7:
		e->eax = min(e->eax, 2U);
		max = e->eax;
		e->ebx &= ~X86_CPUID_7_EBX_OFF;
		e->ecx &= ~X86_CPUID_7_ECX_OFF;
		if (!cpu_feature_enabled(X86_FEATURE_OSPKE))
			e->ecx &= ~CPUID_BIT(X86_FEATURE_PKU);
		if (!(x86_guest_uret & BIT(X86_URET_TSC_AUX)))
			e->ecx &= ~CPUID_BIT(X86_FEATURE_RDPID);
		e->edx &= ~X86_CPUID_7_EDX_OFF;
		if (!amx)
			e->edx &= ~X86_CPUID_7_EDX_AMX;
		if (max >= 1) {
			e = x86_cpuid_host(a, 7, 1);
			if (!e)
				return -E2BIG;
			e->eax &= X86_CPUID_7_1_EAX_ON;
			e->ebx = 0;
			e->ecx = 0;
			e->edx = 0;
		}
		if (max >= 2) {
			/* 7.2 EDX: speculation controls of IA32_SPEC_CTRL. */
			e = x86_cpuid_host(a, 7, 2);
			if (!e)
				return -E2BIG;
			x86_cpuid_zero(e);
		}
		break;
	case 0xb:
	case 0x1f:
		/* No topology: EDX, the x2APIC id, is the VMM's to set. */
		e->eax = 0;
		e->ebx = 0;
		e->ecx = 0;
		break;
	case 0xd:
		return x86_cpuid_xstate(a, e, xcr0);
	case 0x1d:
		if (!amx) {
			x86_cpuid_zero(e);
			break;
		}
		return x86_cpuid_subleaves(a, e);
	case 0x1e:
		if (!amx)
			x86_cpuid_zero(e);
		break;
	case 0x80000000:
		e->eax = min(e->eax, X86_CPUID_MAX_EXT);
		break;
	case 0x80000001:
		e->ebx &= ~GENMASK(27, 16);
		e->ecx &= ~X86_CPUID_8000_0001_ECX_OFF;
		if (!(x86_guest_uret & BIT(X86_URET_TSC_AUX)))
			e->edx &= ~CPUID_BIT(X86_FEATURE_RDTSCP);
		break;
	case 0x80000006:
		e->edx &= ~GENMASK(17, 16);
		break;
	case 0x80000007:	/* only the invariant TSC */
		e->edx &= BIT(8) & boot_cpu_data.x86_power;
		e->eax = 0;
		e->ebx = 0;
		e->ecx = 0;
		break;
	case 0x80000008:
		e->eax = (e->eax & 0xff) |
			 (max_t(u32, (e->eax >> 8) & 0xff, 48) << 8);
		e->ebx &= X86_CPUID_8000_0008_EBX_ON;
		e->ecx &= ~(GENMASK(31, 16) | GENMASK(11, 8));
		e->edx = 0;
		break;
	case 0x80000019:
		e->ecx = 0;
		e->edx = 0;
		break;
	case 0x8000001a:
		e->eax &= GENMASK(2, 0);
		e->ebx = 0;
		e->ecx = 0;
		e->edx = 0;
		break;
	case 0x8000001d:
		return x86_cpuid_caches(a, e);
	default:
		/*
		 * 3 (serial number), 5 (MONITOR), 0xa (PMU), 0x12 (SGX), 0x14
		 * (PT), 0x8000000a (SVM), 0x8000001e (topology), 0x8000001f
		 * (SEV), and every leaf KVM does not know.
		 */
		x86_cpuid_zero(e);
		break;
	}
	return 0;
}

/* Every leaf from base to the limit its first leaf gives, as KVM walks. */
static int x86_cpuid_supported_range(struct x86_cpuid_array *a, u32 base,
				     u64 xcr0)
{
	u32 fn, limit;
	int r;

	if (cpuid_eax(base) < base)
		return 0;
	r = x86_cpuid_supported_leaf(a, base, xcr0);
	if (r)
		return r;
	limit = a->e[a->nent - 1].eax;
	for (fn = base + 1; fn <= limit; fn++) {
		r = x86_cpuid_supported_leaf(a, fn, xcr0);
		if (r)
			return r;
	}
	return 0;
}

/*
 * KVM's own leaves, last in KVM's table: its signature with the highest
 * of them, and the paravirtual features.  Of those only "I/O needs no
 * delay", which asks nothing of axvcpu; no kvmclock, steal time, PV EOI
 * or PV unhalt.
 */
static int x86_cpuid_kvm_leaves(struct x86_cpuid_array *a)
{
	const u32 *sig = (const u32 *)KVM_SIGNATURE;
	struct kvm_cpuid_entry2 *e;

	e = x86_cpuid_host(a, KVM_CPUID_SIGNATURE, 0);
	if (!e)
		return -E2BIG;
	e->eax = KVM_CPUID_FEATURES;
	e->ebx = sig[0];
	e->ecx = sig[1];
	e->edx = sig[2];
	e = x86_cpuid_host(a, KVM_CPUID_FEATURES, 0);
	if (!e)
		return -E2BIG;
	x86_cpuid_zero(e);
	e->eax = BIT(KVM_FEATURE_NOP_IO_DELAY);
	return 0;
}

/*
 * KVM_GET_SUPPORTED_CPUID and KVM_GET_EMULATED_CPUID.  axvcpu emulates no
 * instruction the CPU lacks, so the emulated table is empty.  As KVM: fewer
 * than one entry or too few for the table is -E2BIG and nent stays as it
 * was; more than KVM's maximum reads as the maximum.
 */
static long x86_dev_get_cpuid(unsigned int ioctl,
			      struct kvm_cpuid2 __user *uc)
{
	struct x86_cpuid_array a = {};
	struct kvm_cpuid2 c;
	u32 pad[3], i;
	long r = 0;
	u64 xcr0;

	if (copy_from_user(&c, uc, sizeof(c)))
		return -EFAULT;
	if (c.nent < 1)
		return -E2BIG;
	a.max = min_t(u32, c.nent, X86_MAX_CPUID_ENTRIES);

	if (ioctl == KVM_GET_EMULATED_CPUID) {
		/* KVM checks that the padding comes clean, here only. */
		for (i = 0; i < a.max; i++) {
			if (copy_from_user(pad, uc->entries[i].padding,
					   sizeof(pad)))
				return -EINVAL;
			if (pad[0] || pad[1] || pad[2])
				return -EINVAL;
		}
		c.nent = 0;
		return copy_to_user(uc, &c, sizeof(c)) ? -EFAULT : 0;
	}

	a.e = kvcalloc(a.max, sizeof(*a.e), GFP_KERNEL_ACCOUNT);
	if (!a.e)
		return -ENOMEM;
	xcr0 = x86_guest_xcr0();

	/* cpuid_count() on one CPU, for one consistent answer. */
	get_cpu();
	r = x86_cpuid_supported_range(&a, 0, xcr0);
	if (!r)
		r = x86_cpuid_supported_range(&a, 0x80000000, xcr0);
	put_cpu();
	if (!r)
		r = x86_cpuid_kvm_leaves(&a);
	if (r)
		goto out_free;

	c.nent = a.nent;
	if (copy_to_user(uc->entries, a.e, a.nent * sizeof(*a.e)) ||
	    copy_to_user(uc, &c, sizeof(c)))
		r = -EFAULT;
out_free:
	kvfree(a.e);
	return r;
}

/*
 * The list's grammar, KVM's: nmsrs is written back with the count, then
 * -E2BIG if the caller's room was less.
 */
static long x86_dev_msr_list(struct kvm_msr_list __user *ul, const u32 *msrs,
			     u32 n)
{
	struct kvm_msr_list l;
	u32 room;

	if (copy_from_user(&l, ul, sizeof(l)))
		return -EFAULT;
	room = l.nmsrs;
	l.nmsrs = n;
	if (copy_to_user(ul, &l, sizeof(l)))
		return -EFAULT;
	if (room < n)
		return -E2BIG;
	return copy_to_user(ul->indices, msrs, n * sizeof(*msrs)) ? -EFAULT : 0;
}

static long x86_dev_msr_index_list(struct kvm_msr_list __user *ul)
{
	u32 msrs[X86_NR_SAVED_MSRS];

	return x86_dev_msr_list(ul, msrs, x86_msr_index_list(msrs));
}

/*
 * KVM_GET_MSRS on the system fd reads feature MSRs: the microcode
 * revision alone (the host's), for KVM_SET_MSRS to give a vCPU.  Like
 * KVM's, it stops at the first entry that is not one.
 */
static const u32 x86_feature_msrs[] = { MSR_IA32_UCODE_REV };

static long x86_dev_get_feature_msrs(struct kvm_msrs __user *um)
{
	struct kvm_msr_entry *entries;
	long r;
	u32 i, n;

	entries = x86_msrs_copy_in(um, &n);
	if (IS_ERR(entries))
		return PTR_ERR(entries);
	for (i = 0; i < n; i++) {
		if (entries[i].index != MSR_IA32_UCODE_REV)
			break;
		entries[i].data = 0;
		rdmsrl_safe(MSR_IA32_UCODE_REV, &entries[i].data);
	}
	r = i;
	if (copy_to_user(um->entries, entries, sizeof(*entries) * n))
		r = -EFAULT;
	kfree(entries);
	return r;
}

/* kvm_arch_dev_ioctl(): the system fd's x86 ioctls. */
long x86_dev_ioctl(unsigned int ioctl, void __user *argp)
{
	switch (ioctl) {
	case KVM_GET_SUPPORTED_CPUID:
	case KVM_GET_EMULATED_CPUID:
		return x86_dev_get_cpuid(ioctl, argp);
	case KVM_GET_MSR_INDEX_LIST:
		return x86_dev_msr_index_list(argp);
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
		return x86_dev_msr_list(argp, x86_feature_msrs,
					ARRAY_SIZE(x86_feature_msrs));
	case KVM_GET_MSRS:
		return x86_dev_get_feature_msrs(argp);
	case KVM_X86_GET_MCE_CAP_SUPPORTED:
		return put_user((u64)X86_MCE_CAP_SUPPORTED, (u64 __user *)argp);
	default:
		return -EINVAL;
	}
}

/* --- a vCPU's table -------------------------------------------------------- */

static struct kvm_cpuid_entry2 *x86_cpuid_find(struct kvm_cpuid_entry2 *e,
					       u32 nent, u32 fn, u32 idx)
{
	u32 i;

	for (i = 0; i < nent; i++)
		if (e[i].function == fn &&
		    (!(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e[i].index == idx))
			return &e[i];
	return NULL;
}

static void x86_cpuid_change(u32 *reg, u32 bit, bool on)
{
	if (on)
		*reg |= bit;
	else
		*reg &= ~bit;
}

/*
 * KVM's runtime fixups (kvm_update_cpuid_runtime()): OSXSAVE and OSPKE
 * follow the guest's CR4 where the host has XSAVE and PKU; leaf 0xd's
 * sizes follow its XCR0.  The APIC bit follows IA32_APIC_BASE in KVM:
 * axvcpu's is always enabled, as KVM's after reset, so it stays as set.
 */
static void x86_cpuid_runtime(struct kvm_cpuid_entry2 *t, u32 nent, u64 cr4,
			      u64 xcr0)
{
	struct kvm_cpuid_entry2 *e;

	e = x86_cpuid_find(t, nent, 1, 0);
	if (e && boot_cpu_has(X86_FEATURE_XSAVE))
		x86_cpuid_change(&e->ecx, CPUID_BIT(X86_FEATURE_OSXSAVE),
				 cr4 & X86_CR4_OSXSAVE);
	e = x86_cpuid_find(t, nent, 7, 0);
	if (e && boot_cpu_has(X86_FEATURE_PKU))
		x86_cpuid_change(&e->ecx, CPUID_BIT(X86_FEATURE_OSPKE),
				 cr4 & X86_CR4_PKE);
	e = x86_cpuid_find(t, nent, 0xd, 0);
	if (e)
		e->ebx = x86_xstate_size(xcr0, false);
	e = x86_cpuid_find(t, nent, 0xd, 1);
	if (e && (e->eax & (CPUID_BIT(X86_FEATURE_XSAVES) |
			    CPUID_BIT(X86_FEATURE_XSAVEC))))
		e->ebx = x86_xstate_size(xcr0, true);
}

static bool x86_cpuid_vendor_amd(const struct kvm_cpuid_entry2 *e)
{
	static const char * const amd[] = {
		"AuthenticAMD", "AMDisbetter!", "HygonGenuine",
	};
	char v[12];
	int i;

	memcpy(v, &e->ebx, 4);
	memcpy(v + 4, &e->edx, 4);
	memcpy(v + 8, &e->ecx, 4);
	for (i = 0; i < ARRAY_SIZE(amd); i++)
		if (!memcmp(v, amd[i], sizeof(v)))
			return true;
	return false;
}

/*
 * KVM's answer for a leaf the table lacks (get_out_of_range_cpuid_entry()):
 * with an Intel-like vendor, a leaf above its class's maximum (or of a
 * class the table lacks) reads as the highest basic leaf, same subleaf;
 * AMD's vendors read zeros.
 */
static struct kvm_cpuid_entry2 *x86_cpuid_out_of_range(struct x86_vcpu *x,
						       u32 *fn, u32 idx)
{
	struct kvm_cpuid_entry2 *basic, *class;
	u32 f = *fn, base;

	basic = x86_cpuid_find(x->cpuid, x->cpuid_nent, 0, 0);
	if (!basic || x86_cpuid_vendor_amd(basic))
		return NULL;
	if (f >= 0x40000000 && f <= 0x4fffffff)
		base = f & 0xffffff00;
	else if (f >= 0xc0000000)
		base = 0xc0000000;
	else
		base = f & 0x80000000;
	class = x86_cpuid_find(x->cpuid, x->cpuid_nent, base, 0);
	if (class && f <= class->eax)
		return NULL;
	*fn = basic->eax;
	return x86_cpuid_find(x->cpuid, x->cpuid_nent, basic->eax, idx);
}

/*
 * A guest's CPUID from the vCPU's table (kvm_cpuid()).  False: no table
 * was set, the caller answers with the host's values.
 */
bool x86_cpuid_lookup(struct x86_vcpu *x, u64 cr4, u32 *eax, u32 *ebx,
		      u32 *ecx, u32 *edx)
{
	u32 fn = *eax, idx = *ecx;
	struct kvm_cpuid_entry2 *e;

	if (!x->cpuid_set)
		return false;
	x86_cpuid_runtime(x->cpuid, x->cpuid_nent, cr4, x->xcr0);
	e = x86_cpuid_find(x->cpuid, x->cpuid_nent, fn, idx);
	if (!e)
		e = x86_cpuid_out_of_range(x, &fn, idx);
	if (e) {
		*eax = e->eax;
		*ebx = e->ebx;
		*ecx = e->ecx;
		*edx = e->edx;
		return true;
	}
	*eax = *ebx = *ecx = *edx = 0;
	/* Topology leaves: ECX echoes the level, EDX is the x2APIC id. */
	if (fn == 0xb || fn == 0x1f) {
		e = x86_cpuid_find(x->cpuid, x->cpuid_nent, fn, 1);
		if (e) {
			*ecx = idx & 0xff;
			*edx = e->edx;
		}
	}
	return true;
}

/*
 * Take a new table (ownership passes on success).  KVM refuses to change
 * CPUID once the vCPU has entered the guest, but accepts the same table
 * again (VMMs reuse vCPU fds for CPU hotplug): -EINVAL unless identical,
 * after the runtime fixups.
 */
static int x86_cpuid_set(struct x86_vcpu *x, struct kvm_cpuid_entry2 *e,
			 u32 nent, u64 cr4)
{
	u32 i;

	x86_cpuid_runtime(e, nent, cr4, x->xcr0);
	if (x->entered) {
		if (!x->cpuid_set || nent != x->cpuid_nent)
			return -EINVAL;
		x86_cpuid_runtime(x->cpuid, nent, cr4, x->xcr0);
		for (i = 0; i < nent; i++) {
			const struct kvm_cpuid_entry2 *o = &x->cpuid[i];

			if (e[i].function != o->function ||
			    e[i].index != o->index || e[i].flags != o->flags ||
			    e[i].eax != o->eax || e[i].ebx != o->ebx ||
			    e[i].ecx != o->ecx || e[i].edx != o->edx)
				return -EINVAL;
		}
		kvfree(e);
		return 0;
	}
	kvfree(x->cpuid);
	x->cpuid = e;
	x->cpuid_nent = nent;
	x->cpuid_set = true;
	return 0;
}

static long x86_set_cpuid2(struct x86_vcpu *x, u64 cr4,
			   struct kvm_cpuid2 __user *uc)
{
	struct kvm_cpuid_entry2 *e = NULL;
	struct kvm_cpuid2 c;
	int r;

	if (copy_from_user(&c, uc, sizeof(c)))
		return -EFAULT;
	if (c.nent > X86_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (c.nent) {
		e = vmemdup_user(uc->entries, array_size(sizeof(*e), c.nent));
		if (IS_ERR(e))
			return PTR_ERR(e);
	}
	r = x86_cpuid_set(x, e, c.nent, cr4);
	if (r)
		kvfree(e);
	return r;
}

/* The legacy KVM_SET_CPUID: entries without subleaf or flags. */
static long x86_set_cpuid(struct x86_vcpu *x, u64 cr4,
			  struct kvm_cpuid __user *uc)
{
	struct kvm_cpuid_entry2 *e2 = NULL;
	struct kvm_cpuid_entry *e;
	struct kvm_cpuid c;
	u32 i;
	int r;

	if (copy_from_user(&c, uc, sizeof(c)))
		return -EFAULT;
	if (c.nent > X86_MAX_CPUID_ENTRIES)
		return -E2BIG;
	if (!c.nent)
		return x86_cpuid_set(x, NULL, 0, cr4);

	e = vmemdup_user(uc->entries, array_size(sizeof(*e), c.nent));
	if (IS_ERR(e))
		return PTR_ERR(e);
	r = -ENOMEM;
	e2 = kvcalloc(c.nent, sizeof(*e2), GFP_KERNEL_ACCOUNT);
	if (!e2)
		goto out_free_e;
	for (i = 0; i < c.nent; i++) {
		e2[i].function = e[i].function;
		e2[i].eax = e[i].eax;
		e2[i].ebx = e[i].ebx;
		e2[i].ecx = e[i].ecx;
		e2[i].edx = e[i].edx;
	}
	r = x86_cpuid_set(x, e2, c.nent, cr4);
	if (r)
		kvfree(e2);
out_free_e:
	kvfree(e);
	return r;
}

/*
 * As KVM 6.1: too little room is -E2BIG with nothing written back, and a
 * success leaves nent as the caller gave it.
 */
static long x86_get_cpuid2(struct x86_vcpu *x, u64 cr4,
			   struct kvm_cpuid2 __user *uc)
{
	struct kvm_cpuid2 c;

	if (copy_from_user(&c, uc, sizeof(c)))
		return -EFAULT;
	if (c.nent < x->cpuid_nent)
		return -E2BIG;
	x86_cpuid_runtime(x->cpuid, x->cpuid_nent, cr4, x->xcr0);
	if (copy_to_user(uc->entries, x->cpuid,
			 x->cpuid_nent * sizeof(*x->cpuid)))
		return -EFAULT;
	return 0;
}

/* KVM_SET_CPUID, KVM_SET_CPUID2, KVM_GET_CPUID2; cr4 is the guest's. */
long x86_cpuid_ioctl(struct x86_vcpu *x, u64 cr4, unsigned int ioctl,
		     void __user *argp)
{
	switch (ioctl) {
	case KVM_SET_CPUID:
		return x86_set_cpuid(x, cr4, argp);
	case KVM_SET_CPUID2:
		return x86_set_cpuid2(x, cr4, argp);
	case KVM_GET_CPUID2:
		return x86_get_cpuid2(x, cr4, argp);
	default:
		return -EINVAL;
	}
}

void x86_cpuid_free(struct x86_vcpu *x)
{
	kvfree(x->cpuid);
	x->cpuid = NULL;
	x->cpuid_nent = 0;
	x->cpuid_set = false;
}
