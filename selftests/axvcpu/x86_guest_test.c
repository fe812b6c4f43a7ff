// SPDX-License-Identifier: GPL-2.0
/*
 * Real x86 guests through KVM's ABI: reset state, port and memory-mapped
 * I/O, long mode, triple faults, CPUID, signals, interrupt injection,
 * several vCPUs and threads, hypercalls and a guest state the CPU refuses.
 *
 * The guests are a few instructions of hand-assembled machine code (each
 * byte array carries its assembly, AT&T syntax, with the offsets), copied
 * into slot 0 of a VM (see x86_guest.h for the layout).  The suite runs
 * against /dev/axvcpu and /dev/kvm ($AXVCPU_DEV): every assertion holds
 * for KVM (Linux 6.1, kvm_amd) unless the test says it is axvcpu's own.
 * Every guest ends within bounded time, but for the one that spins until
 * a signal ends KVM_RUN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <linux/axvcpu.h>

#include "kselftest_harness.h"
#include "x86_guest.h"
#include "x86_guest_harness.h"

#define MEM_SIZE	XG_SZ_2M	/* slot 0 of the fixture's VM */
#define PORT		0x10		/* the guests' output port */
#define PORT2		0x11		/* a second one */
#define X86_CR4_OSXSAVE_BIT	(1ULL << 18)

static bool is_kvm(void)
{
	return xg_is_kvm();
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

FIXTURE(x86) {
	struct xg_vm vm;
	struct xg_vcpu vcpu;
};

FIXTURE_SETUP(x86)
{
	vm_vcpu_open(_metadata, &self->vm, &self->vcpu, MEM_SIZE);
}

FIXTURE_TEARDOWN(x86)
{
	xg_vcpu_destroy(&self->vcpu);
	xg_vm_destroy(&self->vm);
}

/*
 * KVM_RUN, which must exit with port I/O: @dir (KVM_EXIT_IO_IN or _OUT) of
 * @count elements of @size bytes at @port, the data on the page after
 * struct kvm_run.  Returns the data.
 */
static void *run_expect_io(struct __test_metadata *_metadata,
			   struct xg_vcpu *v, uint8_t dir, uint8_t size,
			   uint16_t port, uint32_t count)
{
	struct kvm_run *run = v->run;
	char buf[160];

	run_expect(_metadata, v, KVM_EXIT_IO);
	xg_exit_str(v, buf, sizeof(buf));
	EXPECT_EQ(dir, run->io.direction) TH_LOG("%s", buf);
	EXPECT_EQ(size, run->io.size) TH_LOG("%s", buf);
	EXPECT_EQ(port, run->io.port) TH_LOG("%s", buf);
	EXPECT_EQ(count, run->io.count) TH_LOG("%s", buf);
	/* KVM: KVM_PIO_PAGE_OFFSET, the page after struct kvm_run. */
	EXPECT_EQ((uint64_t)getpagesize(), run->io.data_offset);
	ASSERT_TRUE(_metadata->passed);
	ASSERT_LE(run->io.data_offset + (uint64_t)size * count,
		  (uint64_t)v->run_size);
	return xg_io_data(v);
}

/* An OUT of one element: returns its value. */
static uint64_t run_expect_out(struct __test_metadata *_metadata,
			       struct xg_vcpu *v, uint8_t size, uint16_t port)
{
	void *data = run_expect_io(_metadata, v, KVM_EXIT_IO_OUT, size, port, 1);

	return xg_le_get(data, size);
}

/* An IN of one element, answered with @value on the next KVM_RUN. */
static void run_expect_in(struct __test_metadata *_metadata,
			  struct xg_vcpu *v, uint8_t size, uint16_t port,
			  uint64_t value)
{
	void *data = run_expect_io(_metadata, v, KVM_EXIT_IO_IN, size, port, 1);

	xg_le_put(data, size, value);
}

/* KVM_RUN, which must exit with MMIO of @len bytes at @gpa. */
static uint8_t *run_expect_mmio(struct __test_metadata *_metadata,
				struct xg_vcpu *v, bool is_write,
				uint64_t gpa, uint32_t len)
{
	struct kvm_run *run = v->run;
	char buf[160];

	run_expect(_metadata, v, KVM_EXIT_MMIO);
	xg_exit_str(v, buf, sizeof(buf));
	EXPECT_EQ(is_write, run->mmio.is_write) TH_LOG("%s", buf);
	EXPECT_EQ(gpa, run->mmio.phys_addr) TH_LOG("%s", buf);
	EXPECT_EQ(len, run->mmio.len) TH_LOG("%s", buf);
	ASSERT_TRUE(_metadata->passed);
	return run->mmio.data;
}

/* Writes 0x5a to PORT, then halts: the same bytes in 16 and 64-bit mode. */
static const uint8_t hello_code[] = {
	0xb0, 0x5a,			/* 00: mov $0x5a, %al */
	0xe6, 0x10,			/* 02: out %al, $0x10 */
	0xf4,				/* 04: hlt */
};

/* The vCPU runs hello_code from scratch in real mode. */
static void hello_guest(struct __test_metadata *_metadata, struct xg_vm *vm,
			struct xg_vcpu *v)
{
	struct kvm_regs regs;

	real_mode_guest(_metadata, vm, v, hello_code, sizeof(hello_code));
	ASSERT_EQ(0x5aU, run_expect_out(_metadata, v, 1, PORT));
	run_expect(_metadata, v, KVM_EXIT_HLT);
	get_regs(_metadata, v, &regs);
	ASSERT_EQ(XG_CODE + sizeof(hello_code), regs.rip);
}

/*
 * 1. Reset state
 */

static void expect_real_seg(struct __test_metadata *_metadata,
			    const struct kvm_segment *seg, const char *name,
			    uint16_t selector, uint64_t base, uint8_t type)
{
	TH_LOG("%s: selector 0x%x base 0x%llx limit 0x%x type 0x%x",
	       name, seg->selector, (unsigned long long)seg->base, seg->limit,
	       seg->type);
	TH_LOG("%s: present %u dpl %u db %u s %u l %u g %u", name,
	       seg->present, seg->dpl, seg->db, seg->s, seg->l, seg->g);
	EXPECT_EQ(selector, seg->selector);
	EXPECT_EQ(base, seg->base);
	EXPECT_EQ(0xffffU, seg->limit);
	/* Code readable or data writable; the accessed bit may be set. */
	EXPECT_EQ(type, seg->type & 0xe);
	EXPECT_EQ(1, seg->present);
	EXPECT_EQ(1, seg->s);
	EXPECT_EQ(0, seg->dpl);
	EXPECT_EQ(0, seg->db);
	EXPECT_EQ(0, seg->l);
	EXPECT_EQ(0, seg->g);
}

TEST_F(x86, reset_state)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	get_sregs(_metadata, &self->vcpu, &sregs);
	expect_real_seg(_metadata, &sregs.cs, "cs", 0xf000, 0xffff0000, 0xa);
	expect_real_seg(_metadata, &sregs.ds, "ds", 0, 0, 0x2);
	expect_real_seg(_metadata, &sregs.es, "es", 0, 0, 0x2);
	expect_real_seg(_metadata, &sregs.fs, "fs", 0, 0, 0x2);
	expect_real_seg(_metadata, &sregs.gs, "gs", 0, 0, 0x2);
	expect_real_seg(_metadata, &sregs.ss, "ss", 0, 0, 0x2);

	EXPECT_EQ(0, sregs.tr.selector);
	EXPECT_EQ(0U, sregs.tr.base);
	EXPECT_EQ(0xffffU, sregs.tr.limit);
	EXPECT_EQ(1, sregs.tr.present);
	EXPECT_EQ(0, sregs.tr.s);
	EXPECT_EQ(0, sregs.ldt.selector);
	EXPECT_EQ(0U, sregs.ldt.base);
	EXPECT_EQ(0xffffU, sregs.ldt.limit);
	EXPECT_EQ(0x2, sregs.ldt.type);
	EXPECT_EQ(0U, sregs.gdt.base);
	EXPECT_EQ(0xffff, sregs.gdt.limit);
	EXPECT_EQ(0U, sregs.idt.base);
	EXPECT_EQ(0xffff, sregs.idt.limit);

	EXPECT_EQ(0x60000010U, sregs.cr0);	/* CD, NW, ET */
	EXPECT_EQ(0U, sregs.cr2);
	EXPECT_EQ(0U, sregs.cr3);
	EXPECT_EQ(0U, sregs.cr4);
	EXPECT_EQ(0U, sregs.cr8);
	EXPECT_EQ(0U, sregs.efer);

	get_regs(_metadata, &self->vcpu, &regs);
	EXPECT_EQ(0xfff0U, regs.rip);
	EXPECT_EQ(0x2U, regs.rflags);
	EXPECT_EQ(0U, regs.rax);
	EXPECT_EQ(0U, regs.rbx);
	EXPECT_EQ(0U, regs.rcx);
	/*
	 * EDX holds the processor signature after reset: KVM takes
	 * CPUID.1:EAX from the CPUID the VMM set, 0x600 while none is set.
	 */
	EXPECT_EQ(0x600U, regs.rdx);
	EXPECT_EQ(0U, regs.rsi);
	EXPECT_EQ(0U, regs.rdi);
	EXPECT_EQ(0U, regs.rsp);
	EXPECT_EQ(0U, regs.rbp);
	EXPECT_EQ(0U, regs.r8);
	EXPECT_EQ(0U, regs.r9);
	EXPECT_EQ(0U, regs.r10);
	EXPECT_EQ(0U, regs.r11);
	EXPECT_EQ(0U, regs.r12);
	EXPECT_EQ(0U, regs.r13);
	EXPECT_EQ(0U, regs.r14);
	EXPECT_EQ(0U, regs.r15);
}

static void expect_seg_eq(struct __test_metadata *_metadata,
			  const struct kvm_segment *want,
			  const struct kvm_segment *got, const char *name)
{
	TH_LOG("%s", name);
	EXPECT_EQ(want->base, got->base);
	EXPECT_EQ(want->limit, got->limit);
	EXPECT_EQ(want->selector, got->selector);
	EXPECT_EQ(want->type, got->type);
	EXPECT_EQ(want->present, got->present);
	EXPECT_EQ(want->dpl, got->dpl);
	EXPECT_EQ(want->db, got->db);
	EXPECT_EQ(want->s, got->s);
	EXPECT_EQ(want->l, got->l);
	EXPECT_EQ(want->g, got->g);
	EXPECT_EQ(want->avl, got->avl);
}

/* A flat 32-bit protected-mode segment, as KVM_GET_SREGS reports one. */
static void pm_seg(struct kvm_segment *seg, uint16_t selector, uint8_t type)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = 0x100000ULL * selector;
	seg->limit = 0xffffffff;
	seg->selector = selector;
	seg->type = type;
	seg->present = 1;
	seg->db = 1;
	seg->s = 1;
	seg->g = 1;
}

TEST_F(x86, regs_sregs_round_trip)
{
	struct kvm_sregs sregs, want;
	struct kvm_regs regs, set;
	unsigned int i;

	/* Every general register distinct, RFLAGS with IF, ZF and PF. */
	memset(&set, 0, sizeof(set));
	set.rax = 0x1111111111111111ULL;
	set.rbx = 0x2222222222222222ULL;
	set.rcx = 0x3333333333333333ULL;
	set.rdx = 0x4444444444444444ULL;
	set.rsi = 0x5555555555555555ULL;
	set.rdi = 0x6666666666666666ULL;
	set.rsp = 0x7777777777777777ULL;
	set.rbp = 0x8888888888888888ULL;
	set.r8 = 0x9999999999999999ULL;
	set.r9 = 0xaaaaaaaaaaaaaaaaULL;
	set.r10 = 0xbbbbbbbbbbbbbbbbULL;
	set.r11 = 0xccccccccccccccccULL;
	set.r12 = 0xddddddddddddddddULL;
	set.r13 = 0xeeeeeeeeeeeeeeeeULL;
	set.r14 = 0x0123456789abcdefULL;
	set.r15 = 0xfedcba9876543210ULL;
	set.rip = 0x12345;
	set.rflags = 0x246;
	set_regs(_metadata, &self->vcpu, &set);
	get_regs(_metadata, &self->vcpu, &regs);
	ASSERT_EQ(0, memcmp(&set, &regs, sizeof(regs))) {
		for (i = 0; i < sizeof(regs) / 8; i++)
			TH_LOG("word %u: set 0x%llx got 0x%llx", i,
			       ((unsigned long long *)&set)[i],
			       ((unsigned long long *)&regs)[i]);
	}

	/* Flat 32-bit protected mode, no paging. */
	get_sregs(_metadata, &self->vcpu, &want);
	pm_seg(&want.cs, 0x08, 0xb);
	pm_seg(&want.ds, 0x10, 0x3);
	pm_seg(&want.es, 0x18, 0x3);
	pm_seg(&want.fs, 0x20, 0x3);
	pm_seg(&want.gs, 0x28, 0x3);
	pm_seg(&want.ss, 0x30, 0x3);
	want.tr.selector = 0x38;
	want.tr.base = 0x5000;
	want.tr.limit = 0x67;
	want.tr.type = 0xb;
	want.tr.present = 1;
	want.tr.s = 0;
	want.gdt.base = 0x9000;
	want.gdt.limit = 0x3f;
	want.idt.base = 0xa000;
	want.idt.limit = 0x7ff;
	want.cr0 = XG_CR0_PE | XG_CR0_ET | XG_CR0_NE;
	want.cr2 = 0xdead000;
	want.cr3 = 0x7000;
	want.cr4 = 0;
	want.efer = 0;
	set_sregs(_metadata, &self->vcpu, &want);
	get_sregs(_metadata, &self->vcpu, &sregs);
	expect_seg_eq(_metadata, &want.cs, &sregs.cs, "cs");
	expect_seg_eq(_metadata, &want.ds, &sregs.ds, "ds");
	expect_seg_eq(_metadata, &want.es, &sregs.es, "es");
	expect_seg_eq(_metadata, &want.fs, &sregs.fs, "fs");
	expect_seg_eq(_metadata, &want.gs, &sregs.gs, "gs");
	expect_seg_eq(_metadata, &want.ss, &sregs.ss, "ss");
	expect_seg_eq(_metadata, &want.tr, &sregs.tr, "tr");
	EXPECT_EQ(want.gdt.base, sregs.gdt.base);
	EXPECT_EQ(want.gdt.limit, sregs.gdt.limit);
	EXPECT_EQ(want.idt.base, sregs.idt.base);
	EXPECT_EQ(want.idt.limit, sregs.idt.limit);
	EXPECT_EQ(want.cr0, sregs.cr0);
	EXPECT_EQ(want.cr2, sregs.cr2);
	EXPECT_EQ(want.cr3, sregs.cr3);
	EXPECT_EQ(want.cr4, sregs.cr4);
	EXPECT_EQ(want.efer, sregs.efer);
	EXPECT_EQ(want.apic_base, sregs.apic_base);

	/* And the general registers did not move. */
	get_regs(_metadata, &self->vcpu, &regs);
	ASSERT_EQ(0, memcmp(&set, &regs, sizeof(regs)));
}

/*
 * 2. Port I/O in real mode
 */

static const uint8_t real_pio_code[] = {
	0xb0, 0x11,			/* 00: mov $0x11, %al */
	0xe6, 0x10,			/* 02: out %al, $0x10 */
	0xb8, 0x33, 0x22,		/* 04: mov $0x2233, %ax */
	0xe7, 0x10,			/* 07: out %ax, $0x10 */
	0x66, 0xb8, 0x77, 0x66, 0x55, 0x44, /* 09: mov $0x44556677, %eax */
	0x66, 0xe7, 0x10,		/* 0f: out %eax, $0x10 */
	0xba, 0xf8, 0x03,		/* 12: mov $0x3f8, %dx */
	0xb0, 0x88,			/* 15: mov $0x88, %al */
	0xee,				/* 17: out %al, (%dx) */
	0xb8, 0xaa, 0x99,		/* 18: mov $0x99aa, %ax */
	0xef,				/* 1b: out %ax, (%dx) */
	0x66, 0xb8, 0xee, 0xdd, 0xcc, 0xbb, /* 1c: mov $0xbbccddee, %eax */
	0x66, 0xef,			/* 22: out %eax, (%dx) */
	0xe4, 0x12,			/* 24: in $0x12, %al */
	0xe6, 0x10,			/* 26: out %al, $0x10 */
	0xed,				/* 28: in (%dx), %ax */
	0xa3, 0x00, 0x30,		/* 29: mov %ax, 0x3000 */
	0x66, 0xe5, 0x13,		/* 2c: in $0x13, %eax */
	0x66, 0xa3, 0x04, 0x30,		/* 2f: mov %eax, 0x3004 */
	0xf4,				/* 33: hlt */
};

TEST_F(x86, real_mode_pio)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs;

	real_mode_guest(_metadata, &self->vm, v, real_pio_code,
			sizeof(real_pio_code));

	/* out imm8: 1, 2 and 4 bytes. */
	ASSERT_EQ(0x11U, run_expect_out(_metadata, v, 1, PORT));
	ASSERT_EQ(0x2233U, run_expect_out(_metadata, v, 2, PORT));
	ASSERT_EQ(0x44556677U, run_expect_out(_metadata, v, 4, PORT));
	/* out %dx. */
	ASSERT_EQ(0x88U, run_expect_out(_metadata, v, 1, 0x3f8));
	ASSERT_EQ(0x99aaU, run_expect_out(_metadata, v, 2, 0x3f8));
	ASSERT_EQ(0xbbccddee, run_expect_out(_metadata, v, 4, 0x3f8));

	/* in: the host's answer lands in AL on the next KVM_RUN ... */
	run_expect_in(_metadata, v, 1, 0x12, 0x5a);
	ASSERT_EQ(0x5aU, run_expect_out(_metadata, v, 1, PORT));
	/* ... in AX and EAX, which the guest stores. */
	run_expect_in(_metadata, v, 2, 0x3f8, 0x1234);
	run_expect_in(_metadata, v, 4, 0x13, 0xcafef00d);

	run_expect(_metadata, v, KVM_EXIT_HLT);
	EXPECT_EQ(0x1234U, xg_le_get(xg_gpa(&self->vm, XG_DATA), 2));
	EXPECT_EQ(0xcafef00d, xg_le_get(xg_gpa(&self->vm, XG_DATA + 4), 4));
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(XG_CODE + sizeof(real_pio_code), regs.rip);
	EXPECT_EQ(0xcafef00d, regs.rax);
	EXPECT_EQ(0x3f8U, regs.rdx);
}

/*
 * KVM_RUN with immediate_exit set completes the I/O that the last exit
 * asked for, and runs no further instruction: KVM's way for userspace to
 * bring the guest's registers up to date (before KVM_GET_REGS, a
 * migration...).
 */

/* immediate_exit: EINTR, the exit reason INTR (axvcpu) or the last one. */
static void run_immediate_exit(struct __test_metadata *_metadata,
			       struct xg_vcpu *v)
{
	uint32_t last = v->run->exit_reason;

	v->run->immediate_exit = 1;
	ASSERT_EQ(-EINTR, xg_run(v));
	v->run->immediate_exit = 0;
	ASSERT_TRUE(v->run->exit_reason == KVM_EXIT_INTR ||
		    v->run->exit_reason == last)
		TH_LOG("exit_reason %u after %u", v->run->exit_reason, last);
}

TEST_F(x86, immediate_exit_completes_pio)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs;

	real_mode_guest(_metadata, &self->vm, v, real_pio_code,
			sizeof(real_pio_code));
	/* An OUT: past it, the next MOV not run. */
	ASSERT_EQ(0x11U, run_expect_out(_metadata, v, 1, PORT));
	run_immediate_exit(_metadata, v);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(XG_CODE + 0x04, regs.rip);
	EXPECT_EQ(0x11U, regs.rax);

	ASSERT_EQ(0x2233U, run_expect_out(_metadata, v, 2, PORT));
	ASSERT_EQ(0x44556677U, run_expect_out(_metadata, v, 4, PORT));
	ASSERT_EQ(0x88U, run_expect_out(_metadata, v, 1, 0x3f8));
	ASSERT_EQ(0x99aaU, run_expect_out(_metadata, v, 2, 0x3f8));
	ASSERT_EQ(0xbbccddeeU, run_expect_out(_metadata, v, 4, 0x3f8));

	/* An IN: its data in AL, the next OUT not run. */
	run_expect_in(_metadata, v, 1, 0x12, 0x5a);
	run_immediate_exit(_metadata, v);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(XG_CODE + 0x26, regs.rip);
	EXPECT_EQ(0xbbccdd5aU, regs.rax);
	ASSERT_EQ(0x5aU, run_expect_out(_metadata, v, 1, PORT));
}

/*
 * 3. String I/O
 *
 * KVM 6.1 emulates string I/O: REP OUTS exits once per element (count 1);
 * REP INS reads ahead, one exit for as many elements as fit in the rest
 * of the destination page and in 1024 bytes (count > 1).
 */

static const uint8_t string_pio_code[] = {
	0xfc,				/* 00: cld */
	0xbe, 0x00, 0x30,		/* 01: mov $0x3000, %si */
	0xb9, 0x05, 0x00,		/* 04: mov $0x5, %cx */
	0xba, 0x10, 0x00,		/* 07: mov $0x10, %dx */
	0xf3, 0x6e,			/* 0a: rep outsb %ds:(%si), (%dx) */
	0xbe, 0x10, 0x30,		/* 0c: mov $0x3010, %si */
	0xb9, 0x03, 0x00,		/* 0f: mov $0x3, %cx */
	0xf3, 0x6f,			/* 12: rep outsw %ds:(%si), (%dx) */
	0xbf, 0x00, 0x31,		/* 14: mov $0x3100, %di */
	0xb9, 0x0a, 0x00,		/* 17: mov $0xa, %cx */
	0xba, 0x11, 0x00,		/* 1a: mov $0x11, %dx */
	0xf3, 0x6c,			/* 1d: rep insb (%dx), %es:(%di) */
	0xbf, 0xfc, 0x3f,		/* 1f: mov $0x3ffc, %di */
	0xb9, 0x0a, 0x00,		/* 22: mov $0xa, %cx */
	0xf3, 0x6c,			/* 25: rep insb (%dx), %es:(%di) */
	0xf4,				/* 27: hlt */
};

/* One REP INS exit of @count bytes, answered with @first, @first + 1... */
static void run_expect_insb(struct __test_metadata *_metadata,
			    struct xg_vcpu *v, uint32_t count, uint8_t first)
{
	uint8_t *data = run_expect_io(_metadata, v, KVM_EXIT_IO_IN, 1, PORT2,
				      count);
	uint32_t i;

	for (i = 0; i < count; i++)
		data[i] = first + i;
}

TEST_F(x86, string_pio)
{
	static const uint8_t bytes[5] = { 'h', 'e', 'l', 'l', 'o' };
	static const uint16_t words[3] = { 0x1111, 0x2222, 0x3333 };
	struct xg_vcpu *v = &self->vcpu;
	uint8_t *mem = xg_gpa(&self->vm, 0);
	struct kvm_regs regs;
	unsigned int i;

	real_mode_guest(_metadata, &self->vm, v, string_pio_code,
			sizeof(string_pio_code));
	memcpy(mem + XG_DATA, bytes, sizeof(bytes));
	for (i = 0; i < 3; i++)
		xg_le_put(mem + XG_DATA + 0x10 + 2 * i, 2, words[i]);

	/* rep outsb, 5 bytes: 5 exits of one byte. */
	for (i = 0; i < sizeof(bytes); i++)
		ASSERT_EQ(bytes[i], run_expect_out(_metadata, v, 1, PORT))
			TH_LOG("byte %u", i);
	/* rep outsw, 3 words: 3 exits of one word. */
	for (i = 0; i < 3; i++)
		ASSERT_EQ(words[i], run_expect_out(_metadata, v, 2, PORT))
			TH_LOG("word %u", i);

	/* rep insb, 10 bytes within a page: one exit of 10. */
	run_expect_insb(_metadata, v, 10, 0x30);
	/* rep insb, 10 bytes from 4 below a page end: 4, then 6. */
	run_expect_insb(_metadata, v, 4, 0x40);
	run_expect_insb(_metadata, v, 6, 0x44);
	run_expect(_metadata, v, KVM_EXIT_HLT);

	for (i = 0; i < 10; i++) {
		EXPECT_EQ(0x30 + i, mem[XG_DATA + 0x100 + i]);
		EXPECT_EQ(0x40 + i, mem[XG_DATA + 0xffc + i]);
	}
	EXPECT_EQ(0, mem[XG_DATA + 0x100 + 10]);
	EXPECT_EQ(0, mem[XG_DATA + 0xffc + 10]);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(XG_CODE + sizeof(string_pio_code), regs.rip);
	EXPECT_EQ(0U, regs.rcx);
	EXPECT_EQ(XG_DATA + 0x10 + 6, regs.rsi);
	EXPECT_EQ(XG_DATA + 0xffc + 10, regs.rdi);
}

/*
 * 4. MMIO, in 64-bit mode
 */

#define MMIO_GPA	0xc0000000ULL	/* no slot there */
#define RO_GPA		0x200000ULL	/* a read-only slot there */

static const uint8_t mmio_code[] = {
	0xbb, 0x00, 0x00, 0x00, 0xc0,	/* 00: mov $0xc0000000, %ebx */
	0xbf, 0x00, 0x30, 0x00, 0x00,	/* 05: mov $0x3000, %edi */
	0xc6, 0x03, 0x11,		/* 0a: movb $0x11, (%rbx) */
	0x66, 0xc7, 0x43, 0x10, 0x33, 0x22, /* 0d: movw $0x2233, 0x10(%rbx) */
	0xc7, 0x43, 0x20,		/* 13: movl $0x44556677, 0x20(%rbx) */
	0x77, 0x66, 0x55, 0x44,
	0x48, 0xb8,			/* 1a: movabs $0x8899aabbccddeeff, */
	0xff, 0xee, 0xdd, 0xcc,		/*            %rax */
	0xbb, 0xaa, 0x99, 0x88,
	0x48, 0x89, 0x43, 0x30,		/* 24: mov %rax, 0x30(%rbx) */
	0x48, 0xc7, 0xc0,		/* 28: mov $-1, %rax */
	0xff, 0xff, 0xff, 0xff,
	0x8a, 0x43, 0x40,		/* 2f: mov 0x40(%rbx), %al */
	0x48, 0x89, 0x07,		/* 32: mov %rax, (%rdi) */
	0x48, 0xc7, 0xc0,		/* 35: mov $-1, %rax */
	0xff, 0xff, 0xff, 0xff,
	0x66, 0x8b, 0x43, 0x50,		/* 3c: mov 0x50(%rbx), %ax */
	0x48, 0x89, 0x47, 0x08,		/* 40: mov %rax, 0x8(%rdi) */
	0x48, 0xc7, 0xc0,		/* 44: mov $-1, %rax */
	0xff, 0xff, 0xff, 0xff,
	0x8b, 0x43, 0x60,		/* 4b: mov 0x60(%rbx), %eax */
	0x48, 0x89, 0x47, 0x10,		/* 4e: mov %rax, 0x10(%rdi) */
	0x48, 0x8b, 0x43, 0x78,		/* 52: mov 0x78(%rbx), %rax */
	0x48, 0x89, 0x47, 0x18,		/* 56: mov %rax, 0x18(%rdi) */
	0xf4,				/* 5a: hlt */
};

TEST_F(x86, mmio_no_slot)
{
	struct xg_vcpu *v = &self->vcpu;
	uint8_t *data, *out = xg_gpa(&self->vm, XG_DATA);
	struct kvm_regs regs;

	long_mode_guest(_metadata, &self->vm, v, mmio_code, sizeof(mmio_code));

	/* Stores of 1, 2, 4 and 8 bytes. */
	data = run_expect_mmio(_metadata, v, true, MMIO_GPA, 1);
	EXPECT_EQ(0x11U, xg_le_get(data, 1));
	data = run_expect_mmio(_metadata, v, true, MMIO_GPA + 0x10, 2);
	EXPECT_EQ(0x2233U, xg_le_get(data, 2));
	data = run_expect_mmio(_metadata, v, true, MMIO_GPA + 0x20, 4);
	EXPECT_EQ(0x44556677U, xg_le_get(data, 4));
	data = run_expect_mmio(_metadata, v, true, MMIO_GPA + 0x30, 8);
	EXPECT_EQ(0x8899aabbccddeeffULL, xg_le_get(data, 8));

	/* Loads, completed with the host's data on the next KVM_RUN. */
	data = run_expect_mmio(_metadata, v, false, MMIO_GPA + 0x40, 1);
	xg_le_put(data, 1, 0x5a);
	data = run_expect_mmio(_metadata, v, false, MMIO_GPA + 0x50, 2);
	xg_le_put(data, 2, 0x1234);
	data = run_expect_mmio(_metadata, v, false, MMIO_GPA + 0x60, 4);
	xg_le_put(data, 4, 0xcafef00d);
	data = run_expect_mmio(_metadata, v, false, MMIO_GPA + 0x78, 8);
	xg_le_put(data, 8, 0x0123456789abcdefULL);

	/* immediate_exit completes the load, and runs nothing after it. */
	run_immediate_exit(_metadata, v);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(XG_CODE + 0x56, regs.rip);
	EXPECT_EQ(0x0123456789abcdefULL, regs.rax);
	EXPECT_EQ(0U, xg_le_get(out + 0x18, 8));
	run_expect(_metadata, v, KVM_EXIT_HLT);

	/* 8 and 16-bit loads merge into RAX, a 32-bit load zero-extends. */
	EXPECT_EQ(0xffffffffffffff5aULL, xg_le_get(out, 8));
	EXPECT_EQ(0xffffffffffff1234ULL, xg_le_get(out + 8, 8));
	EXPECT_EQ(0x00000000cafef00dULL, xg_le_get(out + 0x10, 8));
	EXPECT_EQ(0x0123456789abcdefULL, xg_le_get(out + 0x18, 8));
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(XG_CODE + sizeof(mmio_code), regs.rip);
}

static const uint8_t readonly_code[] = {
	0xbf, 0x00, 0x30, 0x00, 0x00,	/* 00: mov $0x3000, %edi */
	0xbe, 0x00, 0x00, 0x20, 0x00,	/* 05: mov $0x200000, %esi */
	0x48, 0x8b, 0x06,		/* 0a: mov (%rsi), %rax */
	0x48, 0x89, 0x47, 0x20,		/* 0d: mov %rax, 0x20(%rdi) */
	0xc7, 0x46, 0x08,		/* 11: movl $0xdeadbeef, 0x8(%rsi) */
	0xef, 0xbe, 0xad, 0xde,
	0x48, 0x8b, 0x46, 0x08,		/* 18: mov 0x8(%rsi), %rax */
	0x48, 0x89, 0x47, 0x28,		/* 1c: mov %rax, 0x28(%rdi) */
	0xf4,				/* 20: hlt */
};

TEST_F(x86, mmio_readonly_slot)
{
	struct xg_vcpu *v = &self->vcpu;
	uint8_t *data, *out = xg_gpa(&self->vm, XG_DATA);
	size_t page = getpagesize();
	uint8_t *ro;
	int ret;

	ro = xg_mem_alloc(page, page);
	ASSERT_NE(NULL, ro);
	xg_le_put(ro, 8, 0x1122334455667788ULL);
	xg_le_put(ro + 8, 8, 0x99aabbccddeeff00ULL);
	ret = xg_set_slot(&self->vm, 1, KVM_MEM_READONLY, RO_GPA, page, ro);
	ASSERT_EQ(0, ret) TH_LOG("read-only slot: %s", strerror(-ret));
	long_mode_guest(_metadata, &self->vm, v, readonly_code,
			sizeof(readonly_code));

	/* The load is plain memory; the store exits as MMIO. */
	data = run_expect_mmio(_metadata, v, true, RO_GPA + 8, 4);
	EXPECT_EQ(0xdeadbeef, xg_le_get(data, 4));
	run_expect(_metadata, v, KVM_EXIT_HLT);

	EXPECT_EQ(0x1122334455667788ULL, xg_le_get(out + 0x20, 8));
	/* The store did not reach the slot's memory. */
	EXPECT_EQ(0x99aabbccddeeff00ULL, xg_le_get(out + 0x28, 8));
	EXPECT_EQ(0x99aabbccddeeff00ULL, xg_le_get(ro + 8, 8));
}

/*
 * 5. Long mode: the guest sums 8 MiB
 */

#define SUM_SLOT_GPA	(2ULL << 20)	/* slot 1: [2 MiB, 12 MiB) */
#define SUM_SLOT_SIZE	(10ULL << 20)
#define SUM_START	(3ULL << 20)	/* summed: [3 MiB, 11 MiB) */
#define SUM_SIZE	(8ULL << 20)

/*
 * RAX = the sum of the quadwords at [RSI, RSI + 8 * RCX), RDX = the sum of
 * each quadword XOR its address (which a misplaced page would change).
 */
static const uint8_t sum_code[] = {
	0x31, 0xc0,			/* 00: xor %eax, %eax */
	0x31, 0xd2,			/* 02: xor %edx, %edx */
	0x48, 0x8b, 0x1e,		/* 04: 1: mov (%rsi), %rbx */
	0x48, 0x01, 0xd8,		/* 07: add %rbx, %rax */
	0x48, 0x31, 0xf3,		/* 0a: xor %rsi, %rbx */
	0x48, 0x01, 0xda,		/* 0d: add %rbx, %rdx */
	0x48, 0x83, 0xc6, 0x08,		/* 10: add $0x8, %rsi */
	0x48, 0xff, 0xc9,		/* 14: dec %rcx */
	0x75, 0xeb,			/* 17: jne 1b */
	0xf4,				/* 19: hlt */
};

static uint64_t sum_pattern(uint64_t gpa)
{
	return gpa * 0x9e3779b97f4a7c15ULL + 0x0123456789abcdefULL;
}

TEST_F_TIMEOUT(x86, long_mode_sum, 120)
{
	struct xg_vcpu *v = &self->vcpu;
	uint64_t sum = 0, xsum = 0, gpa, *q;
	struct kvm_regs regs;
	long long start;
	uint8_t *mem;
	int ret;

	/* 2 MiB aligned: [4 MiB, 10 MiB) can be huge pages on both sides. */
	mem = xg_mem_alloc(SUM_SLOT_SIZE, XG_SZ_2M);
	ASSERT_NE(NULL, mem);
	for (gpa = SUM_SLOT_GPA; gpa < SUM_SLOT_GPA + SUM_SLOT_SIZE; gpa += 8) {
		q = (uint64_t *)(mem + (gpa - SUM_SLOT_GPA));
		*q = sum_pattern(gpa);
		if (gpa >= SUM_START && gpa < SUM_START + SUM_SIZE) {
			sum += *q;
			xsum += *q ^ gpa;
		}
	}
	ret = xg_set_slot(&self->vm, 1, 0, SUM_SLOT_GPA, SUM_SLOT_SIZE, mem);
	ASSERT_EQ(0, ret) TH_LOG("slot 1: %s", strerror(-ret));

	long_mode_guest(_metadata, &self->vm, v, sum_code, sizeof(sum_code));
	get_regs(_metadata, v, &regs);
	regs.rsi = SUM_START;
	regs.rcx = SUM_SIZE / 8;
	set_regs(_metadata, v, &regs);

	start = now_ns();
	run_expect(_metadata, v, KVM_EXIT_HLT);
	TH_LOG("8 MiB summed in %lld ms", (now_ns() - start) / 1000000);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(sum, regs.rax);
	EXPECT_EQ(xsum, regs.rdx);
	EXPECT_EQ(SUM_START + SUM_SIZE, regs.rsi);
	EXPECT_EQ(0U, regs.rcx);
	EXPECT_EQ(XG_CODE + sizeof(sum_code), regs.rip);
}

/* Long mode as set up, and what the guest sees of it. */
TEST_F(x86, long_mode_sregs)
{
	struct kvm_sregs sregs;

	long_mode_guest(_metadata, &self->vm, &self->vcpu, hello_code,
			sizeof(hello_code));
	get_sregs(_metadata, &self->vcpu, &sregs);
	EXPECT_EQ(XG_CR0_PE | XG_CR0_ET | XG_CR0_NE | XG_CR0_WP | XG_CR0_PG,
		  sregs.cr0);
	EXPECT_EQ(XG_PML4, sregs.cr3);
	EXPECT_EQ(XG_CR4_PAE, sregs.cr4);
	EXPECT_EQ(XG_EFER_LME | XG_EFER_LMA, sregs.efer);
	EXPECT_EQ(1, sregs.cs.l);
	EXPECT_EQ(0, sregs.cs.db);
	EXPECT_EQ(XG_SEL_CODE64, sregs.cs.selector);

	ASSERT_EQ(0x5aU, run_expect_out(_metadata, &self->vcpu, 1, PORT));
	run_expect(_metadata, &self->vcpu, KVM_EXIT_HLT);
	get_sregs(_metadata, &self->vcpu, &sregs);
	EXPECT_EQ(XG_EFER_LME | XG_EFER_LMA, sregs.efer);
	EXPECT_EQ(1, sregs.cs.l);
}

/*
 * 6. Triple fault: an exception with the IDT limit at 0
 */

static const uint8_t int3_code[] = {
	0xcc,				/* 00: int3 */
	0xf4,				/* 01: hlt */
};

static const uint8_t ud2_code[] = {
	0x0f, 0x0b,			/* 00: ud2 */
	0xf4,				/* 02: hlt */
};

TEST_F(x86, triple_fault_real_mode)
{
	struct kvm_sregs sregs;
	struct xg_vcpu other;
	int ret;

	real_mode_guest(_metadata, &self->vm, &self->vcpu, int3_code,
			sizeof(int3_code));
	get_sregs(_metadata, &self->vcpu, &sregs);
	sregs.idt.limit = 0;
	set_sregs(_metadata, &self->vcpu, &sregs);
	run_expect(_metadata, &self->vcpu, KVM_EXIT_SHUTDOWN);

	/* Another vCPU runs. */
	ret = xg_vcpu_create(&self->vm, 1, &other);
	ASSERT_EQ(0, ret) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-ret));
	hello_guest(_metadata, &self->vm, &other);
	xg_vcpu_destroy(&other);

	/*
	 * This one too, but on KVM 6.1: its shutdown exit clears the VMCB
	 * and INITs the vCPU, which reloads the nested page table root only
	 * if paging was on; with paging off the vCPU is left with a nested
	 * CR3 of 0 and never runs again (KVM_RUN loops on the fault).
	 */
	if (!is_kvm())
		hello_guest(_metadata, &self->vm, &self->vcpu);
}

TEST_F(x86, triple_fault_long_mode)
{
	long_mode_guest(_metadata, &self->vm, &self->vcpu, ud2_code,
			sizeof(ud2_code));
	run_expect(_metadata, &self->vcpu, KVM_EXIT_SHUTDOWN);
	/* The vCPU takes a new state and runs again. */
	hello_guest(_metadata, &self->vm, &self->vcpu);
}

/*
 * 7. CPUID
 */

/* For each (leaf, subleaf) at [RSI], R8D of them: EAX..EDX at [RDI]. */
static const uint8_t cpuid_code[] = {
	0x8b, 0x06,			/* 00: 1: mov (%rsi), %eax */
	0x8b, 0x4e, 0x04,		/* 02: mov 0x4(%rsi), %ecx */
	0x0f, 0xa2,			/* 05: cpuid */
	0x89, 0x07,			/* 07: mov %eax, (%rdi) */
	0x89, 0x5f, 0x04,		/* 09: mov %ebx, 0x4(%rdi) */
	0x89, 0x4f, 0x08,		/* 0c: mov %ecx, 0x8(%rdi) */
	0x89, 0x57, 0x0c,		/* 0f: mov %edx, 0xc(%rdi) */
	0x48, 0x83, 0xc6, 0x08,		/* 12: add $0x8, %rsi */
	0x48, 0x83, 0xc7, 0x10,		/* 16: add $0x10, %rdi */
	0x41, 0xff, 0xc8,		/* 1a: dec %r8d */
	0x75, 0xe1,			/* 1d: jne 1b */
	0xf4,				/* 1f: hlt */
};

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static const uint32_t cpuid_leaves[] = {
	0x0, 0x1, 0x40000000, 0x80000000, 0x80000001,
};

#define CPUID_IN	XG_DATA
#define CPUID_OUT	(XG_DATA + 0x400)

/* The guest's CPUID of each of the @n (leaf, subleaf) pairs @in, into @out. */
static void guest_cpuid_of(struct __test_metadata *_metadata, struct xg_vm *vm,
			   struct xg_vcpu *v, const uint32_t (*in)[2],
			   size_t n, struct cpuid_regs *out)
{
	struct kvm_regs regs;
	size_t i;

	for (i = 0; i < n; i++) {
		xg_le_put(xg_gpa(vm, CPUID_IN + 8 * i), 4, in[i][0]);
		xg_le_put(xg_gpa(vm, CPUID_IN + 8 * i + 4), 4, in[i][1]);
	}
	long_mode_guest(_metadata, vm, v, cpuid_code, sizeof(cpuid_code));
	get_regs(_metadata, v, &regs);
	regs.rsi = CPUID_IN;
	regs.rdi = CPUID_OUT;
	regs.r8 = n;
	set_regs(_metadata, v, &regs);
	run_expect(_metadata, v, KVM_EXIT_HLT);
	memcpy(out, xg_gpa(vm, CPUID_OUT), n * sizeof(*out));
	for (i = 0; i < n; i++)
		TH_LOG("leaf 0x%08x.%u: %08x %08x %08x %08x", in[i][0],
		       in[i][1], out[i].eax, out[i].ebx, out[i].ecx,
		       out[i].edx);
}

/* The guest's CPUID of each of cpuid_leaves, subleaf 0, into @out. */
static void guest_cpuid(struct __test_metadata *_metadata, struct xg_vm *vm,
			struct xg_vcpu *v, struct cpuid_regs *out)
{
	uint32_t in[ARRAY_SIZE(cpuid_leaves)][2];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cpuid_leaves); i++) {
		in[i][0] = cpuid_leaves[i];
		in[i][1] = 0;
	}
	guest_cpuid_of(_metadata, vm, v, in, ARRAY_SIZE(in), out);
}

enum { C_0, C_1, C_HV, C_EXT, C_EXT1 };	/* indices in cpuid_leaves */

#define CPUID_1_ECX_HYPERVISOR	(1U << 31)
#define CPUID_1_ECX_VMX		(1U << 5)
#define CPUID_1_ECX_OSXSAVE	(1U << 27)
#define CPUID_80000001_ECX_SVM	(1U << 2)

TEST_F(x86, cpuid)
{
	struct cpuid_regs c[ARRAY_SIZE(cpuid_leaves)];
	int ret;

	/* The table KVM_GET_SUPPORTED_CPUID gives, as a VMM sets it. */
	ret = xg_kvm_set_supported_cpuid(self->vm.sys_fd, &self->vcpu);
	ASSERT_EQ(0, ret) TH_LOG("KVM_SET_CPUID2: %s", strerror(-ret));
	guest_cpuid(_metadata, &self->vm, &self->vcpu, c);

	EXPECT_LE(1U, c[C_0].eax);			/* max basic leaf */
	EXPECT_NE(0U, c[C_0].ebx);			/* vendor */
	EXPECT_NE(0U, c[C_1].eax);			/* signature */
	EXPECT_NE(0U, c[C_1].ecx & CPUID_1_ECX_HYPERVISOR);
	EXPECT_LE(0x80000001, c[C_EXT].eax);		/* max extended leaf */
	/* CR4.OSXSAVE is clear: so is OSXSAVE. */
	EXPECT_EQ(0U, c[C_1].ecx & CPUID_1_ECX_OSXSAVE);
	/* axvcpu offers no nested virtualization (KVM may). */
	if (!is_kvm()) {
		EXPECT_EQ(0U, c[C_1].ecx & CPUID_1_ECX_VMX);
		EXPECT_EQ(0U, c[C_EXT1].ecx & CPUID_80000001_ECX_SVM);
	}
}

/*
 * Without KVM_SET_CPUID2, KVM gives a guest zeros for every leaf; axvcpu
 * the host's values, with its signature at 0x40000000.
 */
TEST_F(x86, cpuid_without_set_cpuid2)
{
	struct cpuid_regs c[ARRAY_SIZE(cpuid_leaves)];
	char sig[13];
	size_t i;

	guest_cpuid(_metadata, &self->vm, &self->vcpu, c);
	if (is_kvm()) {
		for (i = 0; i < ARRAY_SIZE(cpuid_leaves);
		     i++) {
			EXPECT_EQ(0U, c[i].eax);
			EXPECT_EQ(0U, c[i].ebx);
			EXPECT_EQ(0U, c[i].ecx);
			EXPECT_EQ(0U, c[i].edx);
		}
		return;
	}
	EXPECT_NE(0U, c[C_1].ecx & CPUID_1_ECX_HYPERVISOR);
	EXPECT_LE(0x40000000U, c[C_HV].eax);
	memcpy(sig, &c[C_HV].ebx, 4);
	memcpy(sig + 4, &c[C_HV].ecx, 4);
	memcpy(sig + 8, &c[C_HV].edx, 4);
	sig[12] = 0;
	EXPECT_STREQ("axvcpuaxvcpu", sig);
	EXPECT_EQ(0U, c[C_EXT1].ecx & CPUID_80000001_ECX_SVM);
}

/* An ioctl with a pointer: its result or -errno. */
static int ioctl_ptr(int fd, unsigned long request, void *arg)
{
	int ret = ioctl(fd, request, arg);

	return ret < 0 ? -errno : ret;
}

/* A table of the supported CPUID, or the test fails. */
static struct kvm_cpuid2 *supported_cpuid(struct __test_metadata *_metadata,
					  int sys_fd)
{
	struct kvm_cpuid2 *cpuid = xg_get_supported_cpuid(sys_fd);

	EXPECT_NE(NULL, cpuid) TH_LOG("KVM_GET_SUPPORTED_CPUID failed");
	return cpuid;
}

/* Put @sig as the vendor (leaf 0) or hypervisor signature of @e. */
static void cpuid_put_sig(struct kvm_cpuid_entry2 *e, const char *sig,
			  bool vendor)
{
	memcpy(&e->ebx, sig, 4);
	memcpy(vendor ? &e->edx : &e->ecx, sig + 4, 4);
	memcpy(vendor ? &e->ecx : &e->edx, sig + 8, 4);
}

/*
 * The guest sees the table the VMM set, changed leaves and leaves KVM does
 * not offer included: here a hypervisor leaf the VMM adds and a changed
 * leaf 1 signature.
 */
TEST_F(x86, cpuid_from_table)
{
	static const uint32_t in[][2] = {
		{ 1, 0 }, { 0x40000000, 0 },
	};
	struct cpuid_regs c[ARRAY_SIZE(in)];
	struct kvm_cpuid2 *cpuid;
	struct kvm_cpuid_entry2 *e;
	uint32_t ebx1;
	int ret;

	cpuid = calloc(1, sizeof(*cpuid) + 256 * sizeof(cpuid->entries[0]));
	ASSERT_NE(NULL, cpuid);
	{
		struct kvm_cpuid2 *s = supported_cpuid(_metadata,
						       self->vm.sys_fd);

		ASSERT_NE(NULL, s);
		ASSERT_GT(256U, s->nent);
		memcpy(cpuid, s, sizeof(*s) + s->nent * sizeof(s->entries[0]));
		free(s);
	}
	/* Leaves at 0x40000000 are the VMM's: replace or add them. */
	e = xg_cpuid_entry(cpuid, 0x40000000, 0);
	if (!e) {
		e = &cpuid->entries[cpuid->nent++];
		memset(e, 0, sizeof(*e));
		e->function = 0x40000000;
	}
	e->eax = 0x40000000;
	cpuid_put_sig(e, "axtestaxtest", false);
	e = xg_cpuid_entry(cpuid, 0x40000001, 0);
	if (e)
		memset(&e->eax, 0, 4 * sizeof(e->eax));
	e = xg_cpuid_entry(cpuid, 1, 0);
	ASSERT_NE(NULL, e);
	e->eax = 0x000a0f11;
	ebx1 = e->ebx = (e->ebx & 0x00ffffff) | (0x5aU << 24);
	ret = ioctl_ptr(self->vcpu.fd, KVM_SET_CPUID2, cpuid);
	ASSERT_EQ(0, ret) TH_LOG("KVM_SET_CPUID2: %s", strerror(-ret));
	free(cpuid);

	guest_cpuid_of(_metadata, &self->vm, &self->vcpu, in, ARRAY_SIZE(in),
		       c);
	EXPECT_EQ(0x000a0f11U, c[0].eax);
	/* The APIC id is the table's: KVM does not patch it in. */
	EXPECT_EQ(ebx1, c[0].ebx);
	EXPECT_EQ(0x40000000U, c[1].eax);
	EXPECT_EQ(0, memcmp(&c[1].ebx, "axte", 4));
	EXPECT_EQ(0, memcmp(&c[1].ecx, "stax", 4));
	EXPECT_EQ(0, memcmp(&c[1].edx, "test", 4));
}

/*
 * A leaf the table lacks: above its class's maximum, an Intel vendor reads
 * the highest basic leaf (same subleaf), an AMD vendor zeros; a table
 * without leaves reads zeros everywhere.
 */
static void cpuid_out_of_range(struct __test_metadata *_metadata,
			       struct xg_vm *vm, struct xg_vcpu *v,
			       const char *vendor)
{
	static const uint32_t in[][2] = { { 0, 0 }, { 0x4fffff00, 0 } };
	struct cpuid_regs c[ARRAY_SIZE(in)];
	struct kvm_cpuid_entry2 *e, *max;
	struct kvm_cpuid2 *cpuid;
	int ret;

	TH_LOG("vendor %s", vendor);
	cpuid = supported_cpuid(_metadata, vm->sys_fd);
	ASSERT_NE(NULL, cpuid);
	e = xg_cpuid_entry(cpuid, 0, 0);
	ASSERT_NE(NULL, e);
	cpuid_put_sig(e, vendor, true);
	max = xg_cpuid_entry(cpuid, e->eax, 0);
	ASSERT_NE(NULL, max);
	/* Registers no fixup touches, whichever leaf is the highest. */
	max->eax = 0x1234;
	max->edx = 0x5678;
	ret = ioctl_ptr(v->fd, KVM_SET_CPUID2, cpuid);
	ASSERT_EQ(0, ret) TH_LOG("KVM_SET_CPUID2: %s", strerror(-ret));
	free(cpuid);

	guest_cpuid_of(_metadata, vm, v, in, ARRAY_SIZE(in), c);
	EXPECT_EQ(0, memcmp(&c[0].ebx, vendor, 4));
	if (!strcmp(vendor, "AuthenticAMD")) {
		EXPECT_EQ(0U, c[1].eax);
		EXPECT_EQ(0U, c[1].edx);
	} else {
		EXPECT_EQ(0x1234U, c[1].eax);
		EXPECT_EQ(0x5678U, c[1].edx);
	}
}

TEST_F(x86, cpuid_out_of_range)
{
	static const uint32_t in[][2] = { { 0, 0 }, { 1, 0 } };
	struct cpuid_regs c[ARRAY_SIZE(in)];
	struct kvm_cpuid2 empty = { .nent = 0 };
	struct xg_vcpu other;
	int ret;

	cpuid_out_of_range(_metadata, &self->vm, &self->vcpu, "GenuineIntel");
	ret = xg_vcpu_create(&self->vm, 1, &other);
	ASSERT_EQ(0, ret) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-ret));
	cpuid_out_of_range(_metadata, &self->vm, &other, "AuthenticAMD");
	xg_vcpu_destroy(&other);

	/* An empty table: zeros, on both. */
	ret = xg_vcpu_create(&self->vm, 2, &other);
	ASSERT_EQ(0, ret) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-ret));
	ASSERT_EQ(0, ioctl_ptr(other.fd, KVM_SET_CPUID2, &empty));
	guest_cpuid_of(_metadata, &self->vm, &other, in, ARRAY_SIZE(in), c);
	EXPECT_EQ(0U, c[0].eax | c[0].ebx | c[0].ecx | c[0].edx);
	EXPECT_EQ(0U, c[1].eax | c[1].ebx | c[1].ecx | c[1].edx);
	xg_vcpu_destroy(&other);
}

/* The fields KVM_SET_CPUID2 keeps of an entry. */
static bool cpuid_entry_eq(const struct kvm_cpuid_entry2 *a,
			   const struct kvm_cpuid_entry2 *b)
{
	return a->function == b->function && a->index == b->index &&
	       a->flags == b->flags && a->eax == b->eax && a->ebx == b->ebx &&
	       a->ecx == b->ecx && a->edx == b->edx;
}

/*
 * KVM_GET_CPUID2 gives back the table with KVM's fixups (leaf 0xd's size
 * follows XCR0: x87 alone after reset); its errnos, and KVM_SET_CPUID2's:
 * after the vCPU ran, only the same table again.
 */
TEST_F(x86, cpuid2_round_trip_errnos)
{
	struct kvm_cpuid2 *set, *get, *big;
	struct kvm_cpuid_entry2 *e;
	unsigned int n, i;
	int ret;

	set = supported_cpuid(_metadata, self->vm.sys_fd);
	ASSERT_NE(NULL, set);
	n = set->nent;
	get = calloc(1, sizeof(*get) + (n + 4) * sizeof(get->entries[0]));
	big = calloc(1, sizeof(*big) + 257 * sizeof(big->entries[0]));
	ASSERT_NE(NULL, get);
	ASSERT_NE(NULL, big);

	/* Too many entries; entries that cannot be read. */
	big->nent = 257;
	EXPECT_EQ(-E2BIG, ioctl_ptr(self->vcpu.fd, KVM_SET_CPUID2, big));
	EXPECT_EQ(-EFAULT, ioctl_ptr(self->vcpu.fd, KVM_SET_CPUID2, (void *)8));

	ASSERT_EQ(0, ioctl_ptr(self->vcpu.fd, KVM_SET_CPUID2, set));
	/* Too little room: E2BIG, nent as it was. */
	get->nent = n - 1;
	EXPECT_EQ(-E2BIG, ioctl_ptr(self->vcpu.fd, KVM_GET_CPUID2, get));
	EXPECT_EQ(n - 1, get->nent);
	/* Room to spare: the table, nent as it was. */
	get->nent = n + 4;
	ASSERT_EQ(0, ioctl_ptr(self->vcpu.fd, KVM_GET_CPUID2, get));
	EXPECT_EQ(n + 4, get->nent);
	for (i = 0; i < n; i++) {
		e = &set->entries[i];
		if (e->function == 0xd && e->index <= 1)
			continue;
		EXPECT_TRUE(cpuid_entry_eq(e, &get->entries[i]))
			TH_LOG("entry %u: leaf 0x%x.%u", i, e->function,
			       e->index);
	}
	e = xg_cpuid_entry(get, 0xd, 0);
	if (e && e->eax)
		EXPECT_EQ(576U, e->ebx);	/* legacy area and header */

	/* Before KVM_RUN anything goes; after, only the same table. */
	hello_guest(_metadata, &self->vm, &self->vcpu);
	EXPECT_EQ(0, ioctl_ptr(self->vcpu.fd, KVM_SET_CPUID2, set));
	e = xg_cpuid_entry(set, 1, 0);
	ASSERT_NE(NULL, e);
	e->eax ^= 0x10;
	EXPECT_EQ(-EINVAL, ioctl_ptr(self->vcpu.fd, KVM_SET_CPUID2, set));
	e->eax ^= 0x10;
	set->nent--;
	EXPECT_EQ(-EINVAL, ioctl_ptr(self->vcpu.fd, KVM_SET_CPUID2, set));
	set->nent++;
	EXPECT_EQ(0, ioctl_ptr(self->vcpu.fd, KVM_SET_CPUID2, set));
	free(big);
	free(get);
	free(set);
}

/*
 * 7b. XSETBV: the guest's own XCR0, checked as the CPU checks it
 */

static const uint8_t xsetbv_code[] = {
	0x66, 0x31, 0xc9,		/* 00: xor %ecx, %ecx */
	0x0f, 0x01, 0xd0,		/* 03: xgetbv */
	0x66, 0xe7, 0x10,		/* 06: out %eax, $0x10 */
	0x66, 0xb8, 0x01, 0x00, 0x00, 0x00, /* 09: mov $1, %eax */
	0x66, 0x31, 0xd2,		/* 0f: xor %edx, %edx */
	0x0f, 0x01, 0xd1,		/* 12: xsetbv */
	0x0f, 0x01, 0xd0,		/* 15: xgetbv */
	0x66, 0xe7, 0x10,		/* 18: out %eax, $0x10 */
	0x66, 0x31, 0xc0,		/* 1b: xor %eax, %eax */
	0x0f, 0x01, 0xd1,		/* 1e: xsetbv: no x87 state, #GP */
	0xf4,				/* 21: hlt */
};

/* The #GP handler, at XG_CODE2. */
static const uint8_t gp_handler_code[] = {
	0xb0, 0xee,			/* 00: mov $0xee, %al */
	0xe6, 0x11,			/* 02: out %al, $0x11 */
	0xf4,				/* 04: hlt */
};

TEST_F(x86, xsetbv)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_sregs sregs;
	int ret;

	if (!xg_cpu_has_xsave())
		SKIP(return, "the CPU has no XSAVE");
	/* KVM takes CR4.OSXSAVE only for a guest whose CPUID has XSAVE. */
	ret = xg_kvm_set_supported_cpuid(self->vm.sys_fd, v);
	ASSERT_EQ(0, ret) TH_LOG("KVM_SET_CPUID2: %s", strerror(-ret));
	xg_le_put(xg_gpa(&self->vm, 13 * 4), 2, XG_CODE2);
	xg_le_put(xg_gpa(&self->vm, 13 * 4 + 2), 2, 0);
	xg_load(&self->vm, XG_CODE2, gp_handler_code, sizeof(gp_handler_code));
	real_mode_guest(_metadata, &self->vm, v, xsetbv_code,
			sizeof(xsetbv_code));
	get_sregs(_metadata, v, &sregs);
	sregs.cr4 |= X86_CR4_OSXSAVE_BIT;
	set_sregs(_metadata, v, &sregs);

	/* A new vCPU's XCR0 holds the x87 state alone. */
	ASSERT_EQ(1U, run_expect_out(_metadata, v, 4, PORT));
	/* Setting it to that works and reads back. */
	ASSERT_EQ(1U, run_expect_out(_metadata, v, 4, PORT));
	/* Without the x87 state: #GP in the guest, not an exit. */
	ASSERT_EQ(0xeeU, run_expect_out(_metadata, v, 1, PORT2));
	run_expect(_metadata, v, KVM_EXIT_HLT);
}

/*
 * 8. Signals and immediate_exit
 */

static const uint8_t spin_code[] = {
	0xb0, 0x01,			/* 00: mov $0x1, %al */
	0xe6, 0x10,			/* 02: out %al, $0x10 */
	0xb0, 0x02,			/* 04: mov $0x2, %al */
	0xe6, 0x10,			/* 06: out %al, $0x10 */
	0xeb, 0xfe,			/* 08: 1: jmp 1b */
};

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	alarms++;
}

TEST_F(x86, signal_ends_run)
{
	struct itimerval timer = { .it_value = { .tv_usec = 100 * 1000 } };
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs;
	long long start, ms;
	int ret;

	real_mode_guest(_metadata, &self->vm, v, spin_code, sizeof(spin_code));
	ASSERT_EQ(1U, run_expect_out(_metadata, v, 1, PORT));
	ASSERT_EQ(2U, run_expect_out(_metadata, v, 1, PORT));

	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	alarms = 0;
	start = now_ns();
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &timer, NULL));
	ret = xg_run(v);
	ms = (now_ns() - start) / 1000000;
	TH_LOG("KVM_RUN returned after %lld ms", ms);
	ASSERT_EQ(-EINTR, ret);
	ASSERT_EQ((uint32_t)KVM_EXIT_INTR, v->run->exit_reason);
	ASSERT_EQ(1, alarms);
	ASSERT_LE(90, ms);		/* the guest ran until the signal */

	get_regs(_metadata, v, &regs);
	ASSERT_EQ(XG_CODE + 0x08, regs.rip);	/* spinning */
}

TEST_F(x86, immediate_exit)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs;

	real_mode_guest(_metadata, &self->vm, v, spin_code, sizeof(spin_code));
	v->run->immediate_exit = 1;
	ASSERT_EQ(-EINTR, xg_run(v));
	/* axvcpu says KVM_EXIT_INTR; KVM 6.1 leaves exit_reason alone. */
	ASSERT_TRUE(v->run->exit_reason == KVM_EXIT_INTR ||
		    v->run->exit_reason == KVM_EXIT_UNKNOWN)
		TH_LOG("exit_reason %u", v->run->exit_reason);
	ASSERT_EQ(-EINTR, xg_run(v));
	get_regs(_metadata, v, &regs);
	ASSERT_EQ(XG_CODE, regs.rip);		/* the guest did not run */

	/* Without it, the guest's first OUT is the first exit. */
	v->run->immediate_exit = 0;
	ASSERT_EQ(1U, run_expect_out(_metadata, v, 1, PORT));
	ASSERT_EQ(2U, run_expect_out(_metadata, v, 1, PORT));
}

/*
 * 9. KVM_INTERRUPT, with the interrupt window
 *
 * KVM without an in-kernel irqchip: with request_interrupt_window set,
 * KVM_RUN exits with KVM_EXIT_IRQ_WINDOW_OPEN as soon as the guest can
 * take an interrupt (IF set, no STI or MOV SS shadow).  Every exit reports
 * if_flag (RFLAGS.IF) and ready_for_interrupt_injection (IF set, no
 * shadow, no interrupt already queued).
 */

#define IRQ_VECTOR	0x20

static const uint8_t irq_code[] = {
	0xb0, 0x01,			/* 00: mov $0x1, %al */
	0xe6, 0x10,			/* 02: out %al, $0x10 */
	0xfb,				/* 04: sti */
	0xb0, 0x02,			/* 05: mov $0x2, %al */
	0xe6, 0x10,			/* 07: out %al, $0x10 */
	0xf4,				/* 09: 1: hlt */
	0xeb, 0xfd,			/* 0a: jmp 1b */
};

/* At XG_CODE2, the handler of IRQ_VECTOR. */
static const uint8_t irq_handler_code[] = {
	0x50,				/* 00: push %ax */
	0xb0, 0x20,			/* 01: mov $0x20, %al */
	0xe6, 0x11,			/* 03: out %al, $0x11 */
	0x58,				/* 05: pop %ax */
	0xcf,				/* 06: iret */
};

static void expect_irq_flags(struct __test_metadata *_metadata,
			     struct xg_vcpu *v, int if_flag, int ready)
{
	char buf[160];

	EXPECT_EQ(if_flag, v->run->if_flag)
		TH_LOG("%s", xg_exit_str(v, buf, sizeof(buf)));
	EXPECT_EQ(ready, v->run->ready_for_interrupt_injection)
		TH_LOG("%s", xg_exit_str(v, buf, sizeof(buf)));
}

TEST_F(x86, kvm_interrupt)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_run *run = v->run;
	struct kvm_regs regs;

	/* IVT entry: offset, then segment. */
	xg_le_put(xg_gpa(&self->vm, IRQ_VECTOR * 4), 2, XG_CODE2);
	xg_le_put(xg_gpa(&self->vm, IRQ_VECTOR * 4 + 2), 2, 0);
	xg_load(&self->vm, XG_CODE2, irq_handler_code,
		sizeof(irq_handler_code));
	real_mode_guest(_metadata, &self->vm, v, irq_code, sizeof(irq_code));

	ASSERT_EQ(-EINVAL, xg_interrupt(v, 256));

	/* IF clear: the window is shut, the OUT exits as usual. */
	run->request_interrupt_window = 1;
	ASSERT_EQ(1U, run_expect_out(_metadata, v, 1, PORT));
	expect_irq_flags(_metadata, v, 0, 0);

	/* After STI and its shadow (the MOV), before the second OUT. */
	run_expect(_metadata, v, KVM_EXIT_IRQ_WINDOW_OPEN);
	expect_irq_flags(_metadata, v, 1, 1);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(XG_CODE + 0x07, regs.rip);

	ASSERT_EQ(0, xg_interrupt(v, IRQ_VECTOR));
	run->request_interrupt_window = 0;
	ASSERT_EQ(0x20U, run_expect_out(_metadata, v, 1, PORT2));
	expect_irq_flags(_metadata, v, 0, 0);	/* in the handler */
	ASSERT_EQ(2U, run_expect_out(_metadata, v, 1, PORT));
	expect_irq_flags(_metadata, v, 1, 1);	/* IRET restored IF */

	/* A halted guest takes an interrupt on the next KVM_RUN. */
	run_expect(_metadata, v, KVM_EXIT_HLT);
	expect_irq_flags(_metadata, v, 1, 1);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(XG_CODE + 0x0a, regs.rip);
	ASSERT_EQ(0, xg_interrupt(v, IRQ_VECTOR));
	ASSERT_EQ(0x20U, run_expect_out(_metadata, v, 1, PORT2));
	run_expect(_metadata, v, KVM_EXIT_HLT);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(XG_CODE + 0x0a, regs.rip);
	EXPECT_EQ(XG_STACK, regs.rsp);
}

/*
 * 10. Threads and CPUs
 */

/* OUT BL to PORT, CX times, then HLT. */
static const uint8_t id_loop_code[] = {
	0x88, 0xd8,			/* 00: 1: mov %bl, %al */
	0xe6, 0x10,			/* 02: out %al, $0x10 */
	0x49,				/* 04: dec %cx */
	0x75, 0xf9,			/* 05: jne 1b */
	0xf4,				/* 07: hlt */
};

#define ID_LOOPS	200
#define NR_THREADS	2

struct vcpu_thread {
	struct xg_vcpu vcpu;
	uint8_t id;
	pthread_barrier_t *barrier;
	int *started;		/* vCPUs that have had their first exit */
	/* Results, checked by the test's thread. */
	int outs;		/* OUTs of the right value */
	int bad_exits;		/* anything else before the HLT */
	int run_error;		/* -errno of a failed KVM_RUN */
	bool halted;
	bool overlapped;	/* the other vCPU had started meanwhile */
	char what[160];
};

static void *vcpu_thread_fn(void *arg)
{
	struct vcpu_thread *t = arg;
	struct kvm_run *run = t->vcpu.run;
	long long deadline;
	int ret;

	pthread_barrier_wait(t->barrier);
	for (;;) {
		ret = xg_run(&t->vcpu);
		if (ret < 0) {
			t->run_error = ret;
			break;
		}
		if (run->exit_reason == KVM_EXIT_HLT) {
			t->halted = true;
			break;
		}
		if (run->exit_reason != KVM_EXIT_IO ||
		    run->io.direction != KVM_EXIT_IO_OUT ||
		    run->io.port != PORT || run->io.size != 1 ||
		    xg_io_value(&t->vcpu) != t->id) {
			if (!t->bad_exits++)
				xg_exit_str(&t->vcpu, t->what, sizeof(t->what));
			break;
		}
		if (t->outs++)
			continue;
		/* After the first exit, wait (a while) for the other vCPU's. */
		__atomic_add_fetch(t->started, 1, __ATOMIC_SEQ_CST);
		deadline = now_ns() + 10000000000LL;
		while (__atomic_load_n(t->started, __ATOMIC_SEQ_CST) < NR_THREADS &&
		       now_ns() < deadline)
			sched_yield();
		t->overlapped = __atomic_load_n(t->started, __ATOMIC_SEQ_CST) ==
				NR_THREADS;
	}
	return NULL;
}

TEST_F(x86, two_vcpus_two_threads)
{
	struct vcpu_thread t[NR_THREADS];
	pthread_barrier_t barrier;
	struct kvm_regs regs;
	int started = 0, i, ret;
	pthread_t tid[NR_THREADS];

	xg_load(&self->vm, XG_CODE, id_loop_code, sizeof(id_loop_code));
	ASSERT_EQ(0, pthread_barrier_init(&barrier, NULL, NR_THREADS));
	memset(t, 0, sizeof(t));
	for (i = 0; i < NR_THREADS; i++) {
		t[i].id = 0x41 + i;
		t[i].barrier = &barrier;
		t[i].started = &started;
		if (i == 0) {
			t[i].vcpu = self->vcpu;
		} else {
			ret = xg_vcpu_create(&self->vm, i, &t[i].vcpu);
			ASSERT_EQ(0, ret) TH_LOG("vCPU %d: %s", i, strerror(-ret));
		}
		ret = xg_enter_real_mode(&t[i].vcpu, XG_CODE);
		ASSERT_EQ(0, ret) TH_LOG("real mode: %s", strerror(-ret));
		get_regs(_metadata, &t[i].vcpu, &regs);
		regs.rbx = t[i].id;
		regs.rcx = ID_LOOPS;
		set_regs(_metadata, &t[i].vcpu, &regs);
	}
	for (i = 0; i < NR_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&tid[i], NULL, vcpu_thread_fn, &t[i]));
	for (i = 0; i < NR_THREADS; i++)
		ASSERT_EQ(0, pthread_join(tid[i], NULL));

	for (i = 0; i < NR_THREADS; i++) {
		TH_LOG("vCPU %d: %d OUTs, %d bad exits %s, KVM_RUN error %d",
		       i, t[i].outs, t[i].bad_exits, t[i].what,
		       t[i].run_error);
		TH_LOG("vCPU %d: halted %d, ran with the other %d", i,
		       t[i].halted, t[i].overlapped);
		EXPECT_EQ(0, t[i].run_error);
		EXPECT_EQ(0, t[i].bad_exits);
		EXPECT_EQ(ID_LOOPS, t[i].outs);
		EXPECT_TRUE(t[i].halted);
		EXPECT_TRUE(t[i].overlapped);
		get_regs(_metadata, &t[i].vcpu, &regs);
		EXPECT_EQ(XG_CODE + sizeof(id_loop_code), regs.rip);
		EXPECT_EQ(t[i].id, regs.rbx);
		EXPECT_EQ(0U, regs.rcx & 0xffff);
		if (i)
			xg_vcpu_destroy(&t[i].vcpu);
	}
	pthread_barrier_destroy(&barrier);
}

/* EBX += 1, OUT EBX to PORT, until EBX == ECX; then HLT. */
static const uint8_t count_code[] = {
	0x66, 0x43,			/* 00: 1: inc %ebx */
	0x66, 0x89, 0xd8,		/* 02: mov %ebx, %eax */
	0x66, 0xe7, 0x10,		/* 05: out %eax, $0x10 */
	0x66, 0x39, 0xcb,		/* 08: cmp %ecx, %ebx */
	0x75, 0xf3,			/* 0b: jne 1b */
	0xf4,				/* 0d: hlt */
};

#define MIGRATIONS	40

TEST_F(x86, vcpu_moves_between_cpus)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs, want;
	int cpus[CPU_SETSIZE], ncpus = 0, cpu, i;
	cpu_set_t allowed, one;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(allowed), &allowed));
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed))
			cpus[ncpus++] = cpu;
	if (ncpus < 2)
		SKIP(return, "one CPU only");

	real_mode_guest(_metadata, &self->vm, v, count_code, sizeof(count_code));
	get_regs(_metadata, v, &want);
	want.rcx = MIGRATIONS;
	/* What the guest does not touch must survive every move. */
	want.rdx = 0x4444444444444444ULL;
	want.rsi = 0x5555555555555555ULL;
	want.rdi = 0x6666666666666666ULL;
	want.rbp = 0x8888888888888888ULL;
	want.r8 = 0x9999999999999999ULL;
	want.r9 = 0xaaaaaaaaaaaaaaaaULL;
	want.r10 = 0xbbbbbbbbbbbbbbbbULL;
	want.r11 = 0xccccccccccccccccULL;
	want.r12 = 0xddddddddddddddddULL;
	want.r13 = 0xeeeeeeeeeeeeeeeeULL;
	want.r14 = 0x0123456789abcdefULL;
	want.r15 = 0xfedcba9876543210ULL;
	set_regs(_metadata, v, &want);

	for (i = 1; i <= MIGRATIONS; i++) {
		cpu = cpus[i % 2];
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
		ASSERT_EQ(cpu, sched_getcpu());
		ASSERT_EQ((uint64_t)i, run_expect_out(_metadata, v, 4, PORT))
			TH_LOG("run %d on CPU %d", i, cpu);
	}
	run_expect(_metadata, v, KVM_EXIT_HLT);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(allowed), &allowed));

	get_regs(_metadata, v, &regs);
	want.rax = MIGRATIONS;
	want.rbx = MIGRATIONS;
	want.rip = XG_CODE + sizeof(count_code);
	/* CMP leaves ZF and PF set (equal, result 0). */
	EXPECT_EQ(XG_RFLAGS_FIXED | 0x44, regs.rflags);
	regs.rflags = want.rflags;
	ASSERT_EQ(0, memcmp(&want, &regs, sizeof(regs))) {
		for (i = 0; i < (int)(sizeof(regs) / 8); i++)
			TH_LOG("word %d: want 0x%llx got 0x%llx", i,
			       ((unsigned long long *)&want)[i],
			       ((unsigned long long *)&regs)[i]);
	}
}

/*
 * 11. VMMCALL: answered in the kernel as KVM answers it, or
 *     KVM_EXIT_HYPERCALL where the VMM asked (AXVCPU_SETUP_HYPERCALL)
 */

/* KVM_HC_VAPIC_POLL_IRQ answers 0, any other number -KVM_ENOSYS. */
static const uint8_t vmmcall_twice_code[] = {
	0x0f, 0x01, 0xd9,		/* 00: vmmcall */
	0x48, 0x89, 0x07,		/* 03: mov %rax, (%rdi) */
	0xb8, 0x01, 0x00, 0x00, 0x00,	/* 06: mov $1, %eax */
	0x0f, 0x01, 0xd9,		/* 0b: vmmcall */
	0xf4,				/* 0e: hlt */
};

static const uint8_t vmmcall_code[] = {
	0x0f, 0x01, 0xd9,		/* 00: vmmcall */
	0x48, 0x89, 0x07,		/* 03: mov %rax, (%rdi) */
	0xf4,				/* 06: hlt */
};

/* MOV %DR0, %EAX; OUT %EAX, $PORT; HLT. */
static const uint8_t read_dr0_code[] = {
	0x0f, 0x21, 0xc0,		/* 00: mov %dr0, %eax */
	0x66, 0xe7, 0x10,		/* 03: out %eax, $0x10 */
	0xf4,				/* 06: hlt */
};

/*
 * KVM_GET/SET_DEBUGREGS: the reset values, a round trip, the guest reading
 * what the VMM set, and KVM's refusals.
 */
TEST_F(x86, debugregs)
{
	struct kvm_debugregs d, want;
	struct xg_vcpu *v = &self->vcpu;

	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_DEBUGREGS, &d));
	EXPECT_EQ(0ULL, d.db[0]);
	EXPECT_EQ(0xffff0ff0ULL, d.dr6);
	EXPECT_EQ(0x400ULL, d.dr7);
	EXPECT_EQ(0ULL, d.flags);

	memset(&want, 0, sizeof(want));
	want.db[0] = 0x1234;
	want.db[3] = 0xfeed0000;
	want.dr6 = 0xffff0ff1;
	want.dr7 = 0x401;
	ASSERT_EQ(0, ioctl(v->fd, KVM_SET_DEBUGREGS, &want));
	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_DEBUGREGS, &d));
	EXPECT_EQ(0, memcmp(want.db, d.db, sizeof(d.db)));
	EXPECT_EQ(want.dr6, d.dr6);
	EXPECT_EQ(want.dr7, d.dr7);

	d.flags = 1;
	EXPECT_EQ(-1, ioctl(v->fd, KVM_SET_DEBUGREGS, &d));
	EXPECT_EQ(EINVAL, errno);
	d.flags = 0;
	d.dr6 = 1ULL << 32;
	EXPECT_EQ(-1, ioctl(v->fd, KVM_SET_DEBUGREGS, &d));
	EXPECT_EQ(EINVAL, errno);
	d.dr6 = want.dr6;
	d.dr7 = 1ULL << 40;
	EXPECT_EQ(-1, ioctl(v->fd, KVM_SET_DEBUGREGS, &d));
	EXPECT_EQ(EINVAL, errno);

	real_mode_guest(_metadata, &self->vm, v, read_dr0_code,
			sizeof(read_dr0_code));
	/* real_mode_guest left the debug registers alone. */
	run_expect(_metadata, v, KVM_EXIT_IO);
	EXPECT_EQ(0x1234U, (uint32_t)xg_io_value(v));
}

/* KVM_GET/SET_XCRS: XCR0 alone, checked as XSETBV checks it. */
TEST_F(x86, xcrs)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_xcrs x;

	if (!xg_cpu_has_xsave())
		SKIP(return, "the CPU has no XSAVE");
	/* KVM allows the XCR0 bits the CPUID table's leaf 0xD offers. */
	ASSERT_EQ(0, xg_kvm_set_supported_cpuid(self->vm.sys_fd, v));
	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_XCRS, &x));
	ASSERT_EQ(1U, x.nr_xcrs);
	EXPECT_EQ(0U, x.xcrs[0].xcr);
	EXPECT_EQ(1ULL, x.xcrs[0].value);	/* x87 only, at reset */

	x.xcrs[0].value = 3;			/* x87 and SSE */
	ASSERT_EQ(0, ioctl(v->fd, KVM_SET_XCRS, &x));
	memset(&x, 0, sizeof(x));
	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_XCRS, &x));
	EXPECT_EQ(3ULL, x.xcrs[0].value);

	x.xcrs[0].value = 2;			/* no x87 */
	EXPECT_EQ(-1, ioctl(v->fd, KVM_SET_XCRS, &x));
	EXPECT_EQ(EINVAL, errno);
	x.xcrs[0].value = 5;			/* AVX without SSE */
	EXPECT_EQ(-1, ioctl(v->fd, KVM_SET_XCRS, &x));
	EXPECT_EQ(EINVAL, errno);
	x.xcrs[0].value = 3;
	x.flags = 1;
	EXPECT_EQ(-1, ioctl(v->fd, KVM_SET_XCRS, &x));
	EXPECT_EQ(EINVAL, errno);
	x.flags = 0;
	x.nr_xcrs = KVM_MAX_XCRS + 1;
	EXPECT_EQ(-1, ioctl(v->fd, KVM_SET_XCRS, &x));
	EXPECT_EQ(EINVAL, errno);
}

/* KVM_GET/SET_MP_STATE without an in-kernel APIC: RUNNABLE only. */
TEST_F(x86, mp_state)
{
	struct kvm_mp_state mp = { .mp_state = 0xff };
	struct xg_vcpu *v = &self->vcpu;

	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_MP_STATE, &mp));
	EXPECT_EQ((uint32_t)KVM_MP_STATE_RUNNABLE, mp.mp_state);
	ASSERT_EQ(0, ioctl(v->fd, KVM_SET_MP_STATE, &mp));
	mp.mp_state = KVM_MP_STATE_HALTED;
	EXPECT_EQ(-1, ioctl(v->fd, KVM_SET_MP_STATE, &mp));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(x86, vmmcall_answered_in_kernel)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs;

	long_mode_guest(_metadata, &self->vm, v, vmmcall_twice_code,
			sizeof(vmmcall_twice_code));
	get_regs(_metadata, v, &regs);
	regs.rax = 0x0123456789abcdefULL;
	regs.rdi = XG_DATA;
	set_regs(_metadata, v, &regs);
	run_expect(_metadata, v, KVM_EXIT_HLT);
	EXPECT_EQ((uint64_t)-1000,	/* -KVM_ENOSYS */
		  xg_le_get(xg_gpa(&self->vm, XG_DATA), 8));
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(0ULL, regs.rax);
	EXPECT_EQ(XG_CODE + sizeof(vmmcall_twice_code), regs.rip);
}

/* Outside 64-bit mode the number and the answer are 32 bits. */
TEST_F(x86, vmmcall_answered_in_real_mode)
{
	static const uint8_t code[] = {
		0x0f, 0x01, 0xd9,	/* 00: vmmcall */
		0xf4,			/* 03: hlt */
		0x0f, 0x01, 0xd9,	/* 04: vmmcall */
		0xf4,			/* 07: hlt */
	};
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs;

	real_mode_guest(_metadata, &self->vm, v, code, sizeof(code));
	get_regs(_metadata, v, &regs);
	regs.rax = 0xffff000000000001ULL;	/* KVM_HC_VAPIC_POLL_IRQ */
	set_regs(_metadata, v, &regs);
	run_expect(_metadata, v, KVM_EXIT_HLT);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(0ULL, regs.rax);

	regs.rax = 0xdeadbeef12345678ULL;	/* no such hypercall */
	set_regs(_metadata, v, &regs);
	run_expect(_metadata, v, KVM_EXIT_HLT);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(0xfffffc18ULL, regs.rax);	/* (u32)-KVM_ENOSYS */
}

TEST_F(x86, vmmcall_hypercall)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_run *run = v->run;
	struct axvcpu_setup setup = {
		.halt_policy = AXVCPU_HALT_EXIT,
		.flags = AXVCPU_SETUP_HYPERCALL,
	};
	struct kvm_regs regs;

	if (is_kvm())
		SKIP(return, "an axvcpu SETUP flag");

	ASSERT_EQ(0, ioctl(v->fd, AXVCPU_SETUP, &setup));
	long_mode_guest(_metadata, &self->vm, v, vmmcall_code,
			sizeof(vmmcall_code));
	get_regs(_metadata, v, &regs);
	regs.rax = 0x0123456789abcdefULL;	/* nr */
	regs.rbx = 0x1111111111111111ULL;	/* args */
	regs.rcx = 0x2222222222222222ULL;
	regs.rdx = 0x3333333333333333ULL;
	regs.rsi = 0x4444444444444444ULL;
	regs.rdi = XG_DATA;
	set_regs(_metadata, v, &regs);

	run_expect(_metadata, v, KVM_EXIT_HYPERCALL);
	EXPECT_EQ(0x0123456789abcdefULL, run->hypercall.nr);
	EXPECT_EQ(0x1111111111111111ULL, run->hypercall.args[0]);
	EXPECT_EQ(0x2222222222222222ULL, run->hypercall.args[1]);
	EXPECT_EQ(0x3333333333333333ULL, run->hypercall.args[2]);
	EXPECT_EQ(0x4444444444444444ULL, run->hypercall.args[3]);
	EXPECT_EQ(1U, run->hypercall.longmode);

	/* The answer is RAX when the guest resumes after VMMCALL. */
	run->hypercall.ret = 0x5555aaaa5555aaaaULL;
	run_expect(_metadata, v, KVM_EXIT_HLT);
	EXPECT_EQ(0x5555aaaa5555aaaaULL,
		  xg_le_get(xg_gpa(&self->vm, XG_DATA), 8));
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(XG_CODE + sizeof(vmmcall_code), regs.rip);
}

/*
 * 12. A guest state the CPU refuses: CS.L and CS.D both set in long mode
 *
 * KVM_SET_SREGS takes it (KVM checks CR0, CR4 and EFER, not the code
 * segment); VMRUN fails its consistency check and KVM_RUN returns 0 with
 * KVM_EXIT_FAIL_ENTRY, the hardware's reason (xg_invalid_state_reason():
 * SVM's VMEXIT_INVALID, VMX's invalid guest state) and the CPU.  Refusing the state in
 * KVM_SET_SREGS with EINVAL is as good.  Either way the host goes on.
 */

TEST_F(x86, invalid_state_cs_l_and_d)
{
	struct xg_vcpu *v = &self->vcpu, other;
	struct kvm_sregs sregs;
	int ret;

	long_mode_guest(_metadata, &self->vm, v, hello_code,
			sizeof(hello_code));
	get_sregs(_metadata, v, &sregs);
	sregs.cs.db = 1;
	ret = xg_set_sregs(v, &sregs);
	if (ret == -EINVAL) {
		TH_LOG("KVM_SET_SREGS refuses CS.L with CS.D");
	} else {
		ASSERT_EQ(0, ret) TH_LOG("KVM_SET_SREGS: %s", strerror(-ret));
		run_expect(_metadata, v, KVM_EXIT_FAIL_ENTRY);
		EXPECT_EQ(xg_invalid_state_reason(),
			  v->run->fail_entry.hardware_entry_failure_reason);
		EXPECT_GT(sysconf(_SC_NPROCESSORS_CONF),
			  (long)v->run->fail_entry.cpu);
	}

	/* The host is fine: another vCPU of the VM runs a guest. */
	ret = xg_vcpu_create(&self->vm, 1, &other);
	ASSERT_EQ(0, ret) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-ret));
	hello_guest(_metadata, &self->vm, &other);
	xg_vcpu_destroy(&other);
}

TEST_HARNESS_MAIN
