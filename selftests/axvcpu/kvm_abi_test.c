// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's core ioctl ABI, as /dev/axvcpu promises to answer it.
 *
 * Every assertion here holds for KVM (x86, Linux 6.1) as well as for axvcpu:
 * the suite runs against both, with AXVCPU_DEV naming the device.  Behaviour
 * where the two differ belongs in axvcpu_test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "axvcpu_harness.h"

#define MEM_PAGES	64
#define CYCLES		100

FIXTURE(kvm) {
	int sys_fd;
	int vm_fd;
	size_t page;
	char *mem;		/* MEM_PAGES of memory to back slots */
};

FIXTURE_SETUP(kvm)
{
	self->sys_fd = -1;
	self->vm_fd = -1;
	self->page = page_size();
	self->mem = NULL;

	open_vm(_metadata, &self->sys_fd, &self->vm_fd);
	self->mem = mem_alloc(MEM_PAGES);
	ASSERT_NE(NULL, self->mem);
}

FIXTURE_TEARDOWN(kvm)
{
	mem_free(self->mem, MEM_PAGES);
	if (self->vm_fd >= 0)
		close(self->vm_fd);
	if (self->sys_fd >= 0)
		close(self->sys_fd);
}

/* Page @n of the fixture's memory, and guest physical page @n. */
#define HVA(n)	(self->mem + (size_t)(n) * self->page)
#define GPA(n)	((__u64)(n) * self->page)
#define PAGES(n) ((__u64)(n) * self->page)

TEST_F(kvm, api_version)
{
	ASSERT_EQ(12, do_ioctl(self->sys_fd, KVM_GET_API_VERSION, 0));
	ASSERT_EQ(-EINVAL, do_ioctl(self->sys_fd, KVM_GET_API_VERSION, 1));
}

TEST_F(kvm, create_vm_type)
{
	int fd;

	ASSERT_EQ(-EINVAL, do_ioctl(self->sys_fd, KVM_CREATE_VM, 1));
	ASSERT_EQ(-EINVAL, do_ioctl(self->sys_fd, KVM_CREATE_VM, 2));
	ASSERT_EQ(-EINVAL, do_ioctl(self->sys_fd, KVM_CREATE_VM, 0x80000000UL));

	/* Type 0 still works, next to the fixture's VM. */
	fd = create_vm(self->sys_fd);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, close(fd));
}

static void check_caps(struct __test_metadata *_metadata, int fd,
		       const char *what)
{
	int nr_vcpus, max_vcpus, max_vcpu_id;

	TH_LOG("capabilities on the %s fd", what);
	ASSERT_EQ(1, check_cap(fd, KVM_CAP_USER_MEMORY));
	ASSERT_EQ(1, check_cap(fd, KVM_CAP_READONLY_MEM));
	ASSERT_EQ(1, check_cap(fd, KVM_CAP_IMMEDIATE_EXIT));
	ASSERT_EQ(1, check_cap(fd, KVM_CAP_DESTROY_MEMORY_REGION_WORKS));
	ASSERT_EQ(1, check_cap(fd, KVM_CAP_JOIN_MEMORY_REGIONS_WORKS));
#if defined(__x86_64__)
	ASSERT_EQ(1, check_cap(fd, KVM_CAP_EXT_CPUID));
	ASSERT_EQ(1, check_cap(fd, KVM_CAP_GET_MSR_FEATURES));
	ASSERT_EQ(1, check_cap(fd, KVM_CAP_DEBUGREGS));
	ASSERT_EQ(1, check_cap(fd, KVM_CAP_MP_STATE));
	ASSERT_LE(0, check_cap(fd, KVM_CAP_XCRS));
#endif
	ASSERT_EQ(0, check_cap(fd, 100000));

	nr_vcpus = check_cap(fd, KVM_CAP_NR_VCPUS);
	max_vcpus = check_cap(fd, KVM_CAP_MAX_VCPUS);
	max_vcpu_id = check_cap(fd, KVM_CAP_MAX_VCPU_ID);
	ASSERT_LT(0, nr_vcpus);
	ASSERT_LE(nr_vcpus, max_vcpus);
	ASSERT_LE(max_vcpus, max_vcpu_id);
	ASSERT_LT(0, check_cap(fd, KVM_CAP_NR_MEMSLOTS));
}

TEST_F(kvm, check_extension)
{
	static const long caps[] = {
		KVM_CAP_USER_MEMORY, KVM_CAP_READONLY_MEM,
		KVM_CAP_IMMEDIATE_EXIT, KVM_CAP_NR_VCPUS, KVM_CAP_MAX_VCPUS,
		KVM_CAP_MAX_VCPU_ID, KVM_CAP_NR_MEMSLOTS,
		KVM_CAP_DESTROY_MEMORY_REGION_WORKS,
		KVM_CAP_JOIN_MEMORY_REGIONS_WORKS, KVM_CAP_EXT_CPUID,
		KVM_CAP_GET_MSR_FEATURES, 100000,
	};
	size_t i;

	check_caps(_metadata, self->sys_fd, "system");
	check_caps(_metadata, self->vm_fd, "VM");

	/* A VM answers as the system does. */
	for (i = 0; i < ARRAY_SIZE(caps); i++)
		ASSERT_EQ(check_cap(self->sys_fd, caps[i]),
			  check_cap(self->vm_fd, caps[i]))
			TH_LOG("capability %ld", caps[i]);
}

/*
 * An ioctl a file descriptor does not know: EINVAL on the system fd
 * (kvm_arch_dev_ioctl()) and on a vCPU fd (an ioctl of another type, or of
 * KVM's type unknown to kvm_arch_vcpu_ioctl()); ENOTTY on an x86 VM fd
 * (kvm_arch_vm_ioctl()).
 */
TEST_F(kvm, unknown_ioctls)
{
	int vcpu = create_vcpu(self->vm_fd, 0);

	ASSERT_LE(0, vcpu);
	EXPECT_EQ(-EINVAL, do_ioctl(self->sys_fd, _IO(KVMIO, 0xfe), 0));
	EXPECT_EQ(-EINVAL, do_ioctl(self->sys_fd, _IO('x', 1), 0));
	EXPECT_EQ(-EINVAL, do_ioctl(self->sys_fd, KVM_RUN, 0));
	EXPECT_EQ(-EINVAL, do_ioctl(self->sys_fd, KVM_CREATE_VCPU, 1));
	EXPECT_EQ(-EINVAL, do_ioctl(vcpu, _IO(KVMIO, 0xfe), 0));
	EXPECT_EQ(-EINVAL, do_ioctl(vcpu, _IO('x', 1), 0));
	EXPECT_EQ(-EINVAL, do_ioctl(vcpu, KVM_CREATE_VCPU, 1));
#if defined(__x86_64__)
	EXPECT_EQ(-ENOTTY, do_ioctl(self->vm_fd, _IO(KVMIO, 0xfe), 0));
	EXPECT_EQ(-ENOTTY, do_ioctl(self->vm_fd, _IO('x', 1), 0));
	EXPECT_EQ(-ENOTTY, do_ioctl(self->vm_fd, KVM_RUN, 0));
#endif
	ASSERT_EQ(0, close(vcpu));
}

#if defined(__x86_64__)

#define MSR_STAR_NR		0xc0000081	/* MSR_STAR */
#define MSR_LSTAR_NR		0xc0000082	/* MSR_LSTAR */
#define CPUID_1_ECX_OSXSAVE	(1U << 27)

static struct kvm_cpuid2 *cpuid_alloc(unsigned int nent)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
				      nent * sizeof(c->entries[0]));

	if (c)
		c->nent = nent;
	return c;
}

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, __u32 fn,
					   __u32 idx)
{
	__u32 i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

/*
 * KVM_GET_SUPPORTED_CPUID: too little room is E2BIG, nent untouched; more
 * than KVM's 256 entries reads as 256.  OSXSAVE is left to the guest's
 * CR4; leaf 0xd's sizes are those of the XCR0 it offers.
 */
TEST_F(kvm, get_supported_cpuid)
{
	struct kvm_cpuid2 *c = cpuid_alloc(300);
	struct kvm_cpuid_entry2 *e, *x;
	__u64 xcr0;
	int i;

	ASSERT_NE(NULL, c);
	c->nent = 0;
	EXPECT_EQ(-E2BIG, do_ioctl_ptr(self->sys_fd, KVM_GET_SUPPORTED_CPUID, c));
	c->nent = 1;
	EXPECT_EQ(-E2BIG, do_ioctl_ptr(self->sys_fd, KVM_GET_SUPPORTED_CPUID, c));
	EXPECT_EQ(1U, c->nent);
	EXPECT_EQ(-EFAULT, do_ioctl(self->sys_fd, KVM_GET_SUPPORTED_CPUID, 8));
	c->nent = 300;
	ASSERT_EQ(0, do_ioctl_ptr(self->sys_fd, KVM_GET_SUPPORTED_CPUID, c));
	ASSERT_LT(1U, c->nent);
	ASSERT_GE(256U, c->nent);
	TH_LOG("%u entries", c->nent);

	e = cpuid_find(c, 0, 0);
	ASSERT_NE(NULL, e);
	EXPECT_GE(0x1fU, e->eax);
	e = cpuid_find(c, 1, 0);
	ASSERT_NE(NULL, e);
	EXPECT_EQ(0U, e->ecx & CPUID_1_ECX_OSXSAVE);

	e = cpuid_find(c, 0xd, 0);
	if (e && e->eax) {
		EXPECT_EQ(KVM_CPUID_FLAG_SIGNIFCANT_INDEX, e->flags);
		xcr0 = e->eax | (__u64)e->edx << 32;
		EXPECT_EQ(1U, e->eax & 1);		/* x87 */
		EXPECT_EQ(e->ebx, e->ecx);
		for (i = 2; i < 64; i++) {
			if (!(xcr0 & (1ULL << i)))
				continue;
			x = cpuid_find(c, 0xd, i);
			ASSERT_NE(NULL, x) TH_LOG("leaf 0xd.%d", i);
			EXPECT_LT(0U, x->eax);
			EXPECT_GE(e->ebx, x->ebx + x->eax)
				TH_LOG("leaf 0xd.%d", i);
		}
	}
	free(c);
}

/* KVM_GET_EMULATED_CPUID: KVM checks that the padding comes clean. */
TEST_F(kvm, get_emulated_cpuid)
{
	struct kvm_cpuid2 *c = cpuid_alloc(16);

	ASSERT_NE(NULL, c);
	c->nent = 0;
	EXPECT_EQ(-E2BIG, do_ioctl_ptr(self->sys_fd, KVM_GET_EMULATED_CPUID, c));
	c->nent = 16;
	c->entries[3].padding[1] = 1;
	EXPECT_EQ(-EINVAL, do_ioctl_ptr(self->sys_fd, KVM_GET_EMULATED_CPUID, c));
	c->entries[3].padding[1] = 0;
	ASSERT_EQ(0, do_ioctl_ptr(self->sys_fd, KVM_GET_EMULATED_CPUID, c));
	EXPECT_GE(16U, c->nent);
	free(c);
}

/* nmsrs comes back with the count, and E2BIG when it is more. */
static struct kvm_msr_list *msr_list(struct __test_metadata *_metadata,
				     int fd, unsigned long ioctl)
{
	struct kvm_msr_list head = { .nmsrs = 0 }, *l;
	int ret;

	ret = do_ioctl_ptr(fd, ioctl, &head);
	EXPECT_TRUE(ret == 0 || ret == -E2BIG);
	EXPECT_EQ(ret == -E2BIG, head.nmsrs > 0);
	l = calloc(1, sizeof(*l) + (head.nmsrs + 1) * sizeof(__u32));
	if (!l)
		return NULL;
	l->nmsrs = head.nmsrs + 1;
	EXPECT_EQ(0, do_ioctl_ptr(fd, ioctl, l));
	EXPECT_EQ(head.nmsrs, l->nmsrs);
	EXPECT_EQ(-EFAULT, do_ioctl(fd, ioctl, 8));
	return l;
}

TEST_F(kvm, msr_index_lists)
{
	struct kvm_msr_list *l;
	bool star = false, lstar = false;
	__u32 i;

	l = msr_list(_metadata, self->sys_fd, KVM_GET_MSR_INDEX_LIST);
	ASSERT_NE(NULL, l);
	ASSERT_LT(0U, l->nmsrs);
	for (i = 0; i < l->nmsrs; i++) {
		star |= l->indices[i] == MSR_STAR_NR;
		lstar |= l->indices[i] == MSR_LSTAR_NR;
	}
	EXPECT_TRUE(star);
	EXPECT_TRUE(lstar);
	free(l);

	l = msr_list(_metadata, self->sys_fd, KVM_GET_MSR_FEATURE_INDEX_LIST);
	ASSERT_NE(NULL, l);
	TH_LOG("%u feature MSRs", l->nmsrs);
	free(l);
}

/*
 * KVM_GET_MSRS on the system fd reads feature MSRs: it stops at the first
 * MSR that is not one (STAR), having read none; at 256 entries, E2BIG.
 */
TEST_F(kvm, feature_msrs)
{
	struct {
		struct kvm_msrs head;
		struct kvm_msr_entry e[1];
	} m = { .head.nmsrs = 1, .e[0].index = MSR_STAR_NR };

	EXPECT_EQ(0, do_ioctl_ptr(self->sys_fd, KVM_GET_MSRS, &m));
	m.head.nmsrs = 256;
	EXPECT_EQ(-E2BIG, do_ioctl_ptr(self->sys_fd, KVM_GET_MSRS, &m));
	EXPECT_EQ(-EFAULT, do_ioctl(self->sys_fd, KVM_GET_MSRS, 8));
}

#endif /* __x86_64__ */

TEST_F(kvm, vcpu_mmap_size)
{
	int size = vcpu_mmap_size(self->sys_fd);

	ASSERT_LE((int)self->page, size);
	ASSERT_EQ(0, size % (int)self->page);
#if defined(__x86_64__)
	/* struct kvm_run, then the PIO data page. */
	ASSERT_LE(2 * (int)self->page, size);
#endif
}

TEST_F(kvm, create_vcpu_ids)
{
	int max_id = check_cap(self->sys_fd, KVM_CAP_MAX_VCPU_ID);
	int first, last;

	ASSERT_LT(0, max_id);
	ASSERT_EQ(-EINVAL, create_vcpu(self->vm_fd, max_id));
	ASSERT_EQ(-EINVAL, create_vcpu(self->vm_fd, max_id + 1));

	first = create_vcpu(self->vm_fd, 0);
	ASSERT_LE(0, first);
	ASSERT_EQ(-EEXIST, create_vcpu(self->vm_fd, 0));

	last = create_vcpu(self->vm_fd, max_id - 1);
	ASSERT_LE(0, last);
	ASSERT_EQ(-EEXIST, create_vcpu(self->vm_fd, max_id - 1));

	ASSERT_EQ(0, close(first));
	ASSERT_EQ(0, close(last));
}

TEST_F(kvm, region_slot_id)
{
	int nr_slots = check_cap(self->vm_fd, KVM_CAP_NR_MEMSLOTS);

	ASSERT_LT(0, nr_slots);
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, nr_slots, 0, GPA(0),
				      PAGES(4), HVA(0)));
	ASSERT_EQ(0, set_region(self->vm_fd, nr_slots - 1, 0, GPA(0),
				PAGES(4), HVA(0)));
	/* An address space other than 0 (x86 KVM has 0 and 1). */
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, SLOT(5, 0), 0, GPA(16),
				      PAGES(4), HVA(16)));
}

TEST_F(kvm, region_flags)
{
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, 1U << 7, GPA(0),
				      PAGES(4), HVA(0)));
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, 1U << 31, GPA(0),
				      PAGES(4), HVA(0)));
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0,
				      KVM_MEM_READONLY | (1U << 2), GPA(0),
				      PAGES(4), HVA(0)));
	/* None of those created the slot: deleting it fails. */
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, 0, GPA(0), 0, HVA(0)));

	ASSERT_EQ(0, set_region(self->vm_fd, 0, KVM_MEM_READONLY, GPA(0),
				PAGES(4), HVA(0)));
	/* Setting it again with the same values changes nothing. */
	ASSERT_EQ(0, set_region(self->vm_fd, 0, KVM_MEM_READONLY, GPA(0),
				PAGES(4), HVA(0)));
}

TEST_F(kvm, region_alignment)
{
	size_t page = self->page;

	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, 0, GPA(0),
				      PAGES(4) + 1, HVA(0)));
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, 0, GPA(0),
				      PAGES(4) - page / 2, HVA(0)));
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, 0, GPA(16) + 1,
				      PAGES(4), HVA(0)));
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, 0, GPA(16) + page / 2,
				      PAGES(4), HVA(0)));
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, 0, GPA(16),
				      PAGES(4), HVA(0) + 1));
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, 0, GPA(16),
				      PAGES(4), HVA(0) + page / 2));
	/* The aligned request is fine. */
	ASSERT_EQ(0, set_region(self->vm_fd, 0, 0, GPA(16), PAGES(4), HVA(0)));
}

TEST_F(kvm, region_wraps)
{
	__u64 top = -(__u64)self->page;		/* the last guest page */

	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, 0, top, PAGES(2),
				      HVA(0)));
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, 0, top - PAGES(3),
				      PAGES(8), HVA(0)));
}

TEST_F(kvm, region_overlap)
{
	int vm = self->vm_fd;

	/* Slot 0 covers guest pages [16, 24). */
	ASSERT_EQ(0, set_region(vm, 0, 0, GPA(16), PAGES(8), HVA(0)));

	ASSERT_EQ(-EEXIST, set_region(vm, 1, 0, GPA(12), PAGES(8), HVA(8)));
	ASSERT_EQ(-EEXIST, set_region(vm, 1, 0, GPA(20), PAGES(8), HVA(8)));
	ASSERT_EQ(-EEXIST, set_region(vm, 1, 0, GPA(18), PAGES(2), HVA(8)));
	ASSERT_EQ(-EEXIST, set_region(vm, 1, 0, GPA(8), PAGES(24), HVA(8)));
	ASSERT_EQ(-EEXIST, set_region(vm, 1, 0, GPA(23), PAGES(1), HVA(8)));
	ASSERT_EQ(-EEXIST, set_region(vm, 1, KVM_MEM_READONLY, GPA(16),
				      PAGES(8), HVA(8)));

	/* Neighbours that touch without overlapping are fine. */
	ASSERT_EQ(0, set_region(vm, 1, 0, GPA(8), PAGES(8), HVA(8)));
	ASSERT_EQ(0, set_region(vm, 2, 0, GPA(24), PAGES(8), HVA(16)));
}

TEST_F(kvm, region_delete)
{
	int vm = self->vm_fd;

	/* Deleting a slot that was never set. */
	ASSERT_EQ(-EINVAL, set_region(vm, 3, 0, GPA(0), 0, HVA(0)));

	ASSERT_EQ(0, set_region(vm, 3, 0, GPA(0), PAGES(8), HVA(0)));
	ASSERT_EQ(0, set_region(vm, 3, 0, GPA(0), 0, HVA(0)));
	ASSERT_EQ(-EINVAL, set_region(vm, 3, 0, GPA(0), 0, HVA(0)));

	/* Its range is free again, for another slot ... */
	ASSERT_EQ(0, set_region(vm, 4, 0, GPA(0), PAGES(8), HVA(8)));
	/* ... and slot 3 can be set anew, with other values. */
	ASSERT_EQ(0, set_region(vm, 3, KVM_MEM_READONLY, GPA(32), PAGES(4),
				HVA(16)));
}

TEST_F(kvm, region_modify)
{
	int vm = self->vm_fd;

	ASSERT_EQ(0, set_region(vm, 0, 0, GPA(16), PAGES(8), HVA(0)));
	ASSERT_EQ(0, set_region(vm, 0, 0, GPA(16), PAGES(8), HVA(0)));

	/* Size, host address and read-only-ness cannot change. */
	ASSERT_EQ(-EINVAL, set_region(vm, 0, 0, GPA(16), PAGES(4), HVA(0)));
	ASSERT_EQ(-EINVAL, set_region(vm, 0, 0, GPA(16), PAGES(16), HVA(0)));
	ASSERT_EQ(-EINVAL, set_region(vm, 0, 0, GPA(16), PAGES(8), HVA(8)));
	ASSERT_EQ(-EINVAL, set_region(vm, 0, KVM_MEM_READONLY, GPA(16),
				      PAGES(8), HVA(0)));

	ASSERT_EQ(0, set_region(vm, 1, KVM_MEM_READONLY, GPA(32), PAGES(4),
				HVA(8)));
	ASSERT_EQ(-EINVAL, set_region(vm, 1, 0, GPA(32), PAGES(4), HVA(8)));
	ASSERT_EQ(0, set_region(vm, 1, KVM_MEM_READONLY, GPA(32), PAGES(4),
				HVA(8)));

	/* The refused changes left slot 0 where it was. */
	ASSERT_EQ(-EEXIST, set_region(vm, 2, 0, GPA(16), PAGES(1), HVA(16)));
}

TEST_F(kvm, region_move)
{
	int vm = self->vm_fd;

	ASSERT_EQ(0, set_region(vm, 0, 0, GPA(16), PAGES(8), HVA(0)));
	ASSERT_EQ(0, set_region(vm, 1, 0, GPA(32), PAGES(8), HVA(8)));

	/* Moving onto another slot. */
	ASSERT_EQ(-EEXIST, set_region(vm, 0, 0, GPA(28), PAGES(8), HVA(0)));

	/* Moving to a free range. */
	ASSERT_EQ(0, set_region(vm, 0, 0, GPA(48), PAGES(8), HVA(0)));
	ASSERT_EQ(-EEXIST, set_region(vm, 2, 0, GPA(50), PAGES(2), HVA(16)));
	/* The old range is free. */
	ASSERT_EQ(0, set_region(vm, 2, 0, GPA(16), PAGES(8), HVA(16)));

	/* A move may overlap the slot's own old range. */
	ASSERT_EQ(0, set_region(vm, 0, 0, GPA(52), PAGES(8), HVA(0)));
	ASSERT_EQ(0, set_region(vm, 3, 0, GPA(48), PAGES(4), HVA(24)));
}

/* What a forked child saw, using its parent's fds. */
struct child_result {
	int vm_create_vcpu;
	int vm_set_region;
	int vm_check_cap;
	int vcpu_run;
	int sys_api_version;
	int sys_create_vm;
};

struct child_args {
	int sys_fd;
	int vm_fd;
	int vcpu_fd;
	void *mem;
	struct child_result *res;
};

static int child_uses_parent_fds(void *arg)
{
	struct child_args *a = arg;
	struct child_result *res = a->res;
	int fd;

	res->vm_create_vcpu = create_vcpu(a->vm_fd, 1);
	res->vm_set_region = set_region(a->vm_fd, 0, 0, 0, page_size(), a->mem);
	res->vm_check_cap = check_cap(a->vm_fd, KVM_CAP_USER_MEMORY);
	res->vcpu_run = vcpu_run(a->vcpu_fd);
	res->sys_api_version = do_ioctl(a->sys_fd, KVM_GET_API_VERSION, 0);
	fd = create_vm(a->sys_fd);
	res->sys_create_vm = fd < 0 ? fd : 0;
	return 0;
}

TEST_F(kvm, other_process_gets_eio)
{
	struct child_args args = {
		.sys_fd = self->sys_fd,
		.vm_fd = self->vm_fd,
		.mem = HVA(0),
	};
	struct kvm_run *run;
	int size, fd;

	size = vcpu_mmap_size(self->sys_fd);
	args.vcpu_fd = create_vcpu(self->vm_fd, 0);
	ASSERT_LE(0, args.vcpu_fd);
	run = map_run(args.vcpu_fd, size);
	ASSERT_NE(NULL, run);
	run->immediate_exit = 1;
	args.res = shared_alloc(sizeof(*args.res));
	ASSERT_NE(NULL, args.res);

	ASSERT_EQ(0, run_in_child(child_uses_parent_fds, &args));

	/* The VM and the vCPU belong to the parent's mm. */
	EXPECT_EQ(-EIO, args.res->vm_create_vcpu);
	EXPECT_EQ(-EIO, args.res->vm_set_region);
	EXPECT_EQ(-EIO, args.res->vm_check_cap);
	EXPECT_EQ(-EIO, args.res->vcpu_run);
	/* The system fd is not bound to an mm. */
	EXPECT_EQ(12, args.res->sys_api_version);
	EXPECT_EQ(0, args.res->sys_create_vm);

	/* The child's exit closed its copies only: all still works here. */
	ASSERT_EQ(-EINTR, vcpu_run(args.vcpu_fd));
	fd = create_vcpu(self->vm_fd, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_region(self->vm_fd, 0, 0, 0, PAGES(1), HVA(0)));

	close(fd);
	munmap(run, size);
	close(args.vcpu_fd);
	munmap(args.res, sizeof(*args.res));
}

TEST_F(kvm, run_page_is_kvm_run)
{
	struct kvm_run *run, *alias;
	int size, fd;

	size = vcpu_mmap_size(self->sys_fd);
	fd = create_vcpu(self->vm_fd, 0);
	ASSERT_LE(0, fd);
	run = map_run(fd, size);
	ASSERT_NE(NULL, run);
	alias = map_run(fd, size);
	ASSERT_NE(NULL, alias);
	ASSERT_NE(run, alias);

	/* A new vCPU's kvm_run is zeroed. */
	ASSERT_EQ(KVM_EXIT_UNKNOWN, (int)run->exit_reason);
	ASSERT_EQ(0, run->immediate_exit);
	ASSERT_EQ(0, run->request_interrupt_window);

	/* Both mappings are the same page ... */
	alias->immediate_exit = 1;
	ASSERT_EQ(1, run->immediate_exit);

	/* ... and the kernel reads it as the vCPU's struct kvm_run. */
	ASSERT_EQ(-EINTR, vcpu_run(fd));

	ASSERT_EQ(0, munmap(alias, size));
	ASSERT_EQ(0, munmap(run, size));
	ASSERT_EQ(0, close(fd));
}

TEST_F(kvm, immediate_exit)
{
	struct kvm_run *run;
	int size, fd, i;

	size = vcpu_mmap_size(self->sys_fd);
	fd = create_vcpu(self->vm_fd, 0);
	ASSERT_LE(0, fd);
	run = map_run(fd, size);
	ASSERT_NE(NULL, run);

	run->immediate_exit = 1;
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(-EINTR, vcpu_run(fd));
		/*
		 * axvcpu reports KVM_EXIT_INTR (axvcpu_test checks that);
		 * KVM 6.1 returns before touching exit_reason, which stays
		 * KVM_EXIT_UNKNOWN on a vCPU that never ran.
		 */
		ASSERT_TRUE(run->exit_reason == KVM_EXIT_INTR ||
			    run->exit_reason == KVM_EXIT_UNKNOWN)
			TH_LOG("exit_reason %u", run->exit_reason);
	}

	ASSERT_EQ(0, munmap(run, size));
	ASSERT_EQ(0, close(fd));
}

static void sigusr1_handler(int sig)
{
}

static int set_signal_mask(int fd, __u32 len, const sigset_t *set)
{
	struct {
		struct kvm_signal_mask m;
		__u8 set[8];
	} arg = { .m.len = len };

	if (!set)
		return do_ioctl_ptr(fd, KVM_SET_SIGNAL_MASK, NULL);
	memcpy(arg.set, set, sizeof(arg.set));
	return do_ioctl_ptr(fd, KVM_SET_SIGNAL_MASK, &arg);
}

/*
 * KVM_SET_SIGNAL_MASK: the thread's mask while KVM_RUN runs.  A signal the
 * thread blocks but the vCPU's mask lets through ends KVM_RUN (EINTR) and
 * is still pending after it, blocked again.
 */
TEST_F(kvm, signal_mask)
{
	sigset_t block, none, pending;
	struct kvm_run *run;
	int size, fd;
	void *mem;

	/*
	 * Memory, for x86 KVM sizes its page tables by it (ENOSPC without),
	 * and a vCPU initialized on arm64 (create_vcpu), so that KVM_RUN
	 * gets as far as the signal.
	 */
	mem = mem_alloc(256);
	ASSERT_NE(NULL, mem);
	ASSERT_EQ(0, set_region(self->vm_fd, 0, 0, 0, 256 * page_size(), mem));
	fd = create_vcpu(self->vm_fd, 0);
	ASSERT_LE(0, fd);
	size = vcpu_mmap_size(self->sys_fd);
	run = map_run(fd, size);
	ASSERT_NE(NULL, run);

	sigemptyset(&none);
	/* The length is the kernel's sigset_t, 8 bytes. */
	EXPECT_EQ(-EINVAL, set_signal_mask(fd, 4, &none));
	EXPECT_EQ(-EINVAL, set_signal_mask(fd, 16, &none));
	EXPECT_EQ(0, set_signal_mask(fd, 0, NULL));
	EXPECT_EQ(0, set_signal_mask(fd, 8, &none));

	signal(SIGUSR1, sigusr1_handler);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	ASSERT_EQ(0, sigprocmask(SIG_BLOCK, &block, NULL));
	ASSERT_EQ(0, raise(SIGUSR1));
	EXPECT_EQ(-EINTR, vcpu_run(fd));
	ASSERT_EQ(0, sigpending(&pending));
	EXPECT_TRUE(sigismember(&pending, SIGUSR1));

	/* Take it; the thread's own mask is as it was. */
	ASSERT_EQ(0, sigprocmask(SIG_UNBLOCK, &block, NULL));
	ASSERT_EQ(0, sigpending(&pending));
	EXPECT_FALSE(sigismember(&pending, SIGUSR1));
	EXPECT_EQ(0, set_signal_mask(fd, 0, NULL));

	ASSERT_EQ(0, munmap(run, size));
	ASSERT_EQ(0, close(fd));
	mem_free(mem, 256);
}

/* A fresh VM with a running vCPU can still be made. */
static void check_new_vm_works(struct __test_metadata *_metadata)
{
	struct vcpu_env s;

	env_open(_metadata, &s);
	s.run->immediate_exit = 1;
	ASSERT_EQ(-EINTR, vcpu_run(s.vcpu_fd));
	ASSERT_EQ(0, munmap(s.run, s.size));
	ASSERT_EQ(0, close(s.vcpu_fd));
	ASSERT_EQ(0, close(s.vm_fd));
	ASSERT_EQ(0, close(s.sys_fd));
}

TEST(close_vm_before_vcpu)
{
	struct vcpu_env s;

	env_open(_metadata, &s);
	ASSERT_EQ(0, close(s.vm_fd));
	ASSERT_EQ(0, close(s.sys_fd));

	/* The vCPU fd keeps its VM alive. */
	s.run->immediate_exit = 1;
	ASSERT_EQ(-EINTR, vcpu_run(s.vcpu_fd));

	ASSERT_EQ(0, close(s.vcpu_fd));
	ASSERT_EQ(0, munmap(s.run, s.size));
	check_new_vm_works(_metadata);
}

TEST(close_vcpu_before_vm)
{
	struct vcpu_env s;
	int fd;

	env_open(_metadata, &s);
	ASSERT_EQ(0, munmap(s.run, s.size));
	ASSERT_EQ(0, close(s.vcpu_fd));

	/* The VM still answers. */
	fd = create_vcpu(s.vm_fd, 1);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, close(fd));

	ASSERT_EQ(0, close(s.vm_fd));
	ASSERT_EQ(0, close(s.sys_fd));
	check_new_vm_works(_metadata);
}

TEST(run_mapping_outlives_fds)
{
	struct vcpu_env s;

	env_open(_metadata, &s);
	s.run->immediate_exit = 1;
	ASSERT_EQ(-EINTR, vcpu_run(s.vcpu_fd));
	s.run->exit_reason = 0x5a5a;
	s.run->immediate_exit = 1;

	ASSERT_EQ(0, close(s.vcpu_fd));
	ASSERT_EQ(0, close(s.vm_fd));
	ASSERT_EQ(0, close(s.sys_fd));

	/* The page stays mapped, with what was in it. */
	ASSERT_EQ(0x5a5aU, s.run->exit_reason);
	ASSERT_EQ(1, s.run->immediate_exit);

	check_new_vm_works(_metadata);
	ASSERT_EQ(0, munmap(s.run, s.size));
	check_new_vm_works(_metadata);
}

FIXTURE(cycles) {
	int unused;
};

FIXTURE_SETUP(cycles)
{
}

FIXTURE_TEARDOWN(cycles)
{
}

/*
 * Create and destroy a VM many times, closing its fds and mappings in
 * varying orders; no fd may leak.
 */
TEST_F_TIMEOUT(cycles, create_destroy, 300)
{
	check_vm_cycles(_metadata, CYCLES, 0);
}

TEST_HARNESS_MAIN
