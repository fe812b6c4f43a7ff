// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-page logging through KVM's ABI (KVM_MEM_LOG_DIRTY_PAGES,
 * KVM_GET_DIRTY_LOG, KVM_CLEAR_DIRTY_LOG, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2),
 * with a real guest on x86 (long mode) and arm64 (EL1, MMU off): the
 * guest writes a value into each page the test names, and the log must
 * hold exactly those pages.  The same program runs against /dev/axvcpu
 * and /dev/kvm ($AXVCPU_DEV picks).
 *
 * Slot 1 is the logged one: DL_PAGES pages at DL_GPA, 2 MiB aligned in the
 * process (so that stage 2 maps it in 2 MiB blocks while it does not log)
 * and one partial bitmap word long.  The guest's commands are in a page of
 * slot 0: a count, a first value and the addresses to write; the guest
 * writes value + i to the i-th address and then tells the test it is done
 * (x86: OUT to DL_PORT; arm64: a store to AG_DONE).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "kselftest_harness.h"
#include "axvcpu_harness.h"

#define DL_GPA		0x40000000UL	/* 1 GiB: outside slot 0 */
#define DL_PAGES	549UL		/* 512 + 37: a partial last word */
#define DL_SIZE		(DL_PAGES * 4096UL)
#define DL_WORDS	((DL_PAGES + 63) / 64)
#define DL_MAX_WRITES	128
#define DL_PORT		0x10

#define STR(x)		#x
#define XSTR(x)		STR(x)

/* What the guest reads of each command, in slot 0. */
struct dl_cmd {
	uint64_t count;
	uint64_t value;
	uint64_t gpa[DL_MAX_WRITES];
};

#if defined(__x86_64__)

#include "x86_guest.h"
#include "x86_guest_harness.h"

#define DL_CMD		XG_DATA

/* 64-bit code at XG_CODE; no stack, nothing but slot 1 written. */
extern const uint8_t dl_guest[], dl_guest_end[];
asm(".pushsection .rodata\n"
    "dl_guest:\n"
    "1:	mov $" XSTR(DL_CMD) ", %esi\n"
    "	mov (%rsi), %rcx\n"
    "	mov 8(%rsi), %rax\n"
    "	lea 16(%rsi), %rdi\n"
    "2:	test %rcx, %rcx\n"
    "	jz 3f\n"
    "	mov (%rdi), %rdx\n"
    "	mov %rax, (%rdx)\n"
    "	add $8, %rdi\n"
    "	inc %rax\n"
    "	dec %rcx\n"
    "	jmp 2b\n"
    "3:	out %al, $" XSTR(DL_PORT) "\n"
    "	jmp 1b\n"
    "dl_guest_end:\n"
    ".popsection\n");

struct dl_arch {
	struct xg_vm vm;
	struct xg_vcpu v;
};

static void dl_arch_open(struct __test_metadata *_metadata, struct dl_arch *a,
			 int *vm_fd, struct dl_cmd **cmd)
{
	vm_vcpu_open(_metadata, &a->vm, &a->v, 2UL << 20);
	long_mode_guest(_metadata, &a->vm, &a->v, dl_guest,
			dl_guest_end - dl_guest);
	*vm_fd = a->vm.vm_fd;
	*cmd = xg_gpa(&a->vm, DL_CMD);
}

static void dl_arch_close(struct dl_arch *a)
{
	xg_vcpu_destroy(&a->v);
	xg_vm_destroy(&a->vm);
}

/* Run the guest through one command. */
static void dl_arch_run(struct __test_metadata *_metadata, struct dl_arch *a)
{
	run_expect(_metadata, &a->v, KVM_EXIT_IO);
	ASSERT_EQ(DL_PORT, a->v.run->io.port);
}

static bool dl_is_kvm(void)
{
	return xg_is_kvm();
}

#elif defined(__aarch64__)

#define AG_PROGS	0x380000UL
#include "arm64_guest.h"

#define DL_CMD		AG_DATA

AG_GUEST(dl_guest,
	 "1:	ldr x1, =" XSTR(DL_CMD) "\n"
	 "	ldr x2, [x1]\n"
	 "	ldr x3, [x1, #8]\n"
	 "	add x4, x1, #16\n"
	 "2:	cbz x2, 3f\n"
	 "	ldr x5, [x4], #8\n"
	 "	str x3, [x5]\n"
	 "	add x3, x3, #1\n"
	 "	sub x2, x2, #1\n"
	 "	b 2b\n"
	 "3:	ldr x6, =" XSTR(AG_DONE) "\n"
	 "	str x3, [x6]\n"
	 "	b 1b\n");

struct dl_arch {
	struct ag_vm vm;
	struct ag_vcpu v;
};

static void dl_arch_open(struct __test_metadata *_metadata, struct dl_arch *a,
			 int *vm_fd, struct dl_cmd **cmd)
{
	ag_open(_metadata, &a->vm, &a->v);
	ag_start(_metadata, &a->vm, &a->v, dl_guest, dl_guest_end);
	*vm_fd = a->vm.vm_fd;
	*cmd = (struct dl_cmd *)(a->vm.mem + DL_CMD);
}

static void dl_arch_close(struct dl_arch *a)
{
	ag_close(&a->vm, &a->v);
}

static void dl_arch_run(struct __test_metadata *_metadata, struct dl_arch *a)
{
	ag_run_done(_metadata, &a->v);
}

static bool dl_is_kvm(void)
{
	return !strcmp(axvcpu_dev_path(), KVM_DEFAULT_DEV);
}

#else
#error "dirty_log_test has guests for x86_64 and arm64 only"
#endif

FIXTURE(dl) {
	struct dl_arch a;
	int vm_fd;
	struct dl_cmd *cmd;
	void *map;		/* the mapping mem lies in */
	uint8_t *mem;		/* slot 1 */
	uint64_t value;		/* the next value the guest writes */
};

FIXTURE_SETUP(dl)
{
	uintptr_t p;

	self->map = mmap(NULL, 2 * (4UL << 20), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->map);
	p = ((uintptr_t)self->map + (4UL << 20) - 1) & ~((4UL << 20) - 1);
	self->mem = (uint8_t *)p;
	madvise(self->mem, DL_SIZE, MADV_HUGEPAGE);
	memset(self->mem, 0, DL_SIZE);
	self->value = 0x5a5a000000000000ULL;
	dl_arch_open(_metadata, &self->a, &self->vm_fd, &self->cmd);
}

FIXTURE_TEARDOWN(dl)
{
	dl_arch_close(&self->a);
	munmap(self->map, 2 * (4UL << 20));
}

static int slot1(FIXTURE_DATA(dl) *self, uint32_t flags)
{
	return set_region(self->vm_fd, 1, flags, DL_GPA, DL_SIZE, self->mem);
}

static int get_log(int vm_fd, uint32_t slot, void *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return do_ioctl_ptr(vm_fd, KVM_GET_DIRTY_LOG, &log);
}

static int clear_log(int vm_fd, uint32_t slot, uint64_t first, uint32_t num,
		     void *bitmap)
{
	struct kvm_clear_dirty_log c = {
		.slot = slot, .first_page = first, .num_pages = num,
		.dirty_bitmap = bitmap,
	};

	return do_ioctl_ptr(vm_fd, KVM_CLEAR_DIRTY_LOG, &c);
}

static int enable_manual(int vm_fd, uint64_t args0, uint32_t flags)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2, .flags = flags,
		.args = { args0 },
	};

	return do_ioctl_ptr(vm_fd, KVM_ENABLE_CAP, &cap);
}

/* Where in its page the i-th write of a command goes: 8-byte aligned. */
static unsigned long write_offset(unsigned long page)
{
	return (page * 8) % 4096;
}

/*
 * The guest writes the pages of slot 1 listed in @pages (n of them, no
 * page twice) and the test checks that each holds its value; @want gets
 * their bits.
 */
static void guest_writes(struct __test_metadata *_metadata,
			 FIXTURE_DATA(dl) *self, const unsigned long *pages,
			 unsigned int n, uint64_t *want)
{
	unsigned int i;
	uint64_t got;

	ASSERT_GE((unsigned int)DL_MAX_WRITES, n);
	self->cmd->count = n;
	self->cmd->value = self->value;
	for (i = 0; i < n; i++)
		self->cmd->gpa[i] = DL_GPA + pages[i] * 4096 +
				    write_offset(pages[i]);
	dl_arch_run(_metadata, &self->a);
	for (i = 0; i < n; i++) {
		memcpy(&got, self->mem + pages[i] * 4096 +
		       write_offset(pages[i]), sizeof(got));
		EXPECT_EQ(self->value + i, got)
			TH_LOG("page %lu does not hold what the guest wrote",
			       pages[i]);
		if (want)
			want[pages[i] / 64] |= 1ULL << (pages[i] % 64);
	}
	self->value += n;
}

/* @n pages of round @r: spread over the slot, blocks and the tail too. */
static unsigned int round_pages(unsigned int r, unsigned long *pages)
{
	unsigned int n = 0;
	unsigned long p;

	for (p = (r * 7) % 13; p < DL_PAGES && n < DL_MAX_WRITES;
	     p += 5 + r * 3)
		pages[n++] = p;
	return n;
}

/* The log (GET_DIRTY_LOG) must be @want, word for word. */
static void expect_log(struct __test_metadata *_metadata,
		       FIXTURE_DATA(dl) *self, const uint64_t *want,
		       const char *what)
{
	unsigned long long missing, extra;
	uint64_t got[DL_WORDS];
	unsigned int i;
	int r;

	memset(got, 0xee, sizeof(got));
	r = get_log(self->vm_fd, 1, got);
	ASSERT_EQ(0, r) TH_LOG("%s: KVM_GET_DIRTY_LOG: %s", what, strerror(-r));
	for (i = 0; i < DL_WORDS; i++) {
		missing = want[i] & ~got[i];
		extra = got[i] & ~want[i];
		EXPECT_EQ(0ULL, missing | extra)
			TH_LOG("%s: word %u: missing %#llx, extra %#llx", what,
			       i, missing, extra);
	}
}

TEST_F(dl, capabilities_and_errnos)
{
	uint64_t bits[DL_WORDS];

	/* KVM 6.1: both options of manual protection, on both fds. */
	EXPECT_EQ(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
		  KVM_DIRTY_LOG_INITIALLY_SET,
		  check_cap(self->vm_fd, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2));
	if (!dl_is_kvm())
		EXPECT_EQ(0, check_cap(self->vm_fd, KVM_CAP_DIRTY_LOG_RING));

	/* INITIALLY_SET only with manual protection; no flags; no others. */
	EXPECT_EQ(-EINVAL, enable_manual(self->vm_fd,
					 KVM_DIRTY_LOG_INITIALLY_SET, 0));
	EXPECT_EQ(-EINVAL, enable_manual(self->vm_fd, 4, 0));
	EXPECT_EQ(-EINVAL, enable_manual(self->vm_fd, 1, 1));
	EXPECT_EQ(0, enable_manual(self->vm_fd, 3, 0));
	EXPECT_EQ(0, enable_manual(self->vm_fd, 0, 0));

	/* A flag KVM does not know. */
	EXPECT_EQ(-EINVAL, slot1(self, 1U << 2));
	ASSERT_EQ(0, slot1(self, 0));
	/* Read-only may not change on a live slot, nor the size. */
	EXPECT_EQ(-EINVAL, slot1(self, KVM_MEM_READONLY));
	EXPECT_EQ(-EINVAL, slot1(self, KVM_MEM_READONLY |
				 KVM_MEM_LOG_DIRTY_PAGES));
	EXPECT_EQ(-EINVAL, set_region(self->vm_fd, 1, KVM_MEM_LOG_DIRTY_PAGES,
				      DL_GPA, DL_SIZE - 4096, self->mem));

	/* A slot that does not log, or is not there: ENOENT. */
	EXPECT_EQ(-ENOENT, get_log(self->vm_fd, 1, bits));
	EXPECT_EQ(-ENOENT, get_log(self->vm_fd, 0, bits));
	EXPECT_EQ(-ENOENT, get_log(self->vm_fd, 100, bits));
	EXPECT_EQ(-ENOENT, clear_log(self->vm_fd, 1, 0, 64, bits));
	/* Past KVM's slot numbers or address spaces: EINVAL. */
	EXPECT_EQ(-EINVAL, get_log(self->vm_fd, 0x7fff, bits));
	EXPECT_EQ(-EINVAL, get_log(self->vm_fd, SLOT(2, 1), bits));
	EXPECT_EQ(-EINVAL, clear_log(self->vm_fd, SLOT(2, 1), 0, 64, bits));

	ASSERT_EQ(0, slot1(self, KVM_MEM_LOG_DIRTY_PAGES));
	EXPECT_EQ(-EFAULT, get_log(self->vm_fd, 1, NULL));
	/* first_page is checked before the slot, the range after it. */
	EXPECT_EQ(-EINVAL, clear_log(self->vm_fd, 0, 1, 64, bits));
	EXPECT_EQ(-EINVAL, clear_log(self->vm_fd, 1, 1, 64, bits));
	EXPECT_EQ(-EINVAL, clear_log(self->vm_fd, 1, 576, 0, bits));
	EXPECT_EQ(-EINVAL, clear_log(self->vm_fd, 1, 512, 38, bits));
	EXPECT_EQ(-EINVAL, clear_log(self->vm_fd, 1, 64, 65, bits));
	EXPECT_EQ(-EFAULT, clear_log(self->vm_fd, 1, 0, 64, NULL));
	/* Up to the slot's end, any count; nothing at all is fine too. */
	EXPECT_EQ(0, clear_log(self->vm_fd, 1, 512, 37, bits));
	EXPECT_EQ(0, clear_log(self->vm_fd, 1, 512, 0, NULL));
	EXPECT_EQ(0, clear_log(self->vm_fd, 1, 0, DL_PAGES, bits));
}

/* Logged from the start: each round's log is exactly its writes. */
TEST_F(dl, rounds)
{
	unsigned long pages[DL_MAX_WRITES];
	uint64_t want[DL_WORDS];
	unsigned int r, n;

	ASSERT_EQ(0, slot1(self, KVM_MEM_LOG_DIRTY_PAGES));
	memset(want, 0, sizeof(want));
	expect_log(_metadata, self, want, "before the guest ran");
	for (r = 0; r < 6; r++) {
		memset(want, 0, sizeof(want));
		n = round_pages(r, pages);
		guest_writes(_metadata, self, pages, n, want);
		expect_log(_metadata, self, want, "a round");
		memset(want, 0, sizeof(want));
		expect_log(_metadata, self, want, "the log taken again");
	}
	/* The same pages twice: written again, so dirty again. */
	n = round_pages(1, pages);
	guest_writes(_metadata, self, pages, n, NULL);
	guest_writes(_metadata, self, pages, n, want);
	expect_log(_metadata, self, want, "the same pages again");
	/* Nothing written: nothing dirty. */
	guest_writes(_metadata, self, pages, 0, NULL);
	memset(want, 0, sizeof(want));
	expect_log(_metadata, self, want, "a round without writes");
}

/* KVM_MEM_LOG_DIRTY_PAGES on and off on a live slot the guest uses. */
TEST_F(dl, toggle_live_slot)
{
	unsigned long pages[DL_MAX_WRITES];
	uint64_t want[DL_WORDS], bits[DL_WORDS];
	unsigned int n;

	ASSERT_EQ(0, slot1(self, 0));
	n = round_pages(0, pages);
	guest_writes(_metadata, self, pages, n, NULL);
	EXPECT_EQ(-ENOENT, get_log(self->vm_fd, 1, bits));

	ASSERT_EQ(0, slot1(self, KVM_MEM_LOG_DIRTY_PAGES));
	memset(want, 0, sizeof(want));
	expect_log(_metadata, self, want, "logging turned on");
	n = round_pages(2, pages);
	guest_writes(_metadata, self, pages, n, want);
	expect_log(_metadata, self, want, "written while logging");

	/* Off: the guest writes on, nothing is kept. */
	ASSERT_EQ(0, slot1(self, 0));
	EXPECT_EQ(-ENOENT, get_log(self->vm_fd, 1, bits));
	n = round_pages(3, pages);
	guest_writes(_metadata, self, pages, n, NULL);

	/* On again: a new, clean log. */
	ASSERT_EQ(0, slot1(self, KVM_MEM_LOG_DIRTY_PAGES));
	memset(want, 0, sizeof(want));
	expect_log(_metadata, self, want, "logging on again");
	n = round_pages(4, pages);
	guest_writes(_metadata, self, pages, n, want);
	expect_log(_metadata, self, want, "written after logging came back");

	/* Moved while logging: the log goes with it. */
	n = round_pages(5, pages);
	memset(want, 0, sizeof(want));
	guest_writes(_metadata, self, pages, n, want);
	ASSERT_EQ(0, set_region(self->vm_fd, 1, KVM_MEM_LOG_DIRTY_PAGES,
				DL_GPA + (64UL << 20), DL_SIZE, self->mem));
	expect_log(_metadata, self, want, "the log of a moved slot");
	ASSERT_EQ(0, slot1(self, KVM_MEM_LOG_DIRTY_PAGES));
	n = round_pages(0, pages);
	memset(want, 0, sizeof(want));
	guest_writes(_metadata, self, pages, n, want);
	expect_log(_metadata, self, want, "written after the move back");
}

/* Manual protection: GET leaves the log, CLEAR takes ranges of it. */
TEST_F(dl, manual_clear)
{
	unsigned long pages[DL_MAX_WRITES], low[2] = { 3, 70 };
	uint64_t want[DL_WORDS], ones[DL_WORDS];
	unsigned int n, i;

	ASSERT_EQ(0, enable_manual(self->vm_fd,
				   KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE, 0));
	ASSERT_EQ(0, slot1(self, KVM_MEM_LOG_DIRTY_PAGES));
	memset(ones, 0xff, sizeof(ones));
	memset(want, 0, sizeof(want));
	n = round_pages(0, pages);
	guest_writes(_metadata, self, pages, n, want);
	expect_log(_metadata, self, want, "manual: first look");
	expect_log(_metadata, self, want, "manual: the log stays");

	/* Clear pages [0, 64): the rest stays. */
	ASSERT_EQ(0, clear_log(self->vm_fd, 1, 0, 64, ones));
	want[0] = 0;
	expect_log(_metadata, self, want, "manual: [0, 64) cleared");

	/*
	 * A page of the cleared range written again is dirty again; one
	 * that stayed dirty stays so.
	 */
	guest_writes(_metadata, self, low, 2, want);
	expect_log(_metadata, self, want, "manual: written after the clear");

	/* Only the bits userspace names: every other one of [64, 128). */
	for (i = 0; i < DL_WORDS; i++)
		ones[i] = 0x5555555555555555ULL;
	ASSERT_EQ(0, clear_log(self->vm_fd, 1, 64, 64, ones));
	want[1] &= ~0x5555555555555555ULL;
	expect_log(_metadata, self, want, "manual: half of [64, 128)");

	/* The tail, to the slot's end, with a count not a multiple of 64. */
	memset(ones, 0xff, sizeof(ones));
	ASSERT_EQ(0, clear_log(self->vm_fd, 1, 512, DL_PAGES - 512, ones));
	want[8] = 0;
	expect_log(_metadata, self, want, "manual: the tail cleared");

	/* Everything, and each cleared page is protected again. */
	ASSERT_EQ(0, clear_log(self->vm_fd, 1, 0, DL_PAGES, ones));
	memset(want, 0, sizeof(want));
	expect_log(_metadata, self, want, "manual: all cleared");
	n = round_pages(1, pages);
	guest_writes(_metadata, self, pages, n, want);
	expect_log(_metadata, self, want, "manual: the next round");
}

/* KVM_DIRTY_LOG_INITIALLY_SET: a new log has every page dirty. */
TEST_F(dl, initially_set)
{
	unsigned long pages[DL_MAX_WRITES];
	uint64_t want[DL_WORDS], ones[DL_WORDS];
	unsigned int n;

	ASSERT_EQ(0, enable_manual(self->vm_fd,
				   KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
				   KVM_DIRTY_LOG_INITIALLY_SET, 0));
	ASSERT_EQ(0, slot1(self, KVM_MEM_LOG_DIRTY_PAGES));
	memset(ones, 0xff, sizeof(ones));
	memcpy(want, ones, sizeof(want));
	want[DL_WORDS - 1] = (1ULL << (DL_PAGES % 64)) - 1;
	expect_log(_metadata, self, want, "initially set");

	/* Written before any clear: still all set. */
	n = round_pages(2, pages);
	guest_writes(_metadata, self, pages, n, NULL);
	expect_log(_metadata, self, want, "initially set, written");

	ASSERT_EQ(0, clear_log(self->vm_fd, 1, 0, DL_PAGES, ones));
	memset(want, 0, sizeof(want));
	expect_log(_metadata, self, want, "initially set, cleared");
	n = round_pages(3, pages);
	guest_writes(_metadata, self, pages, n, want);
	expect_log(_metadata, self, want, "initially set, a round");

	/* Logging on again on the live slot: all set again. */
	ASSERT_EQ(0, slot1(self, 0));
	ASSERT_EQ(0, slot1(self, KVM_MEM_LOG_DIRTY_PAGES));
	memcpy(want, ones, sizeof(want));
	want[DL_WORDS - 1] = (1ULL << (DL_PAGES % 64)) - 1;
	expect_log(_metadata, self, want, "initially set, logging again");
}

TEST_HARNESS_MAIN
