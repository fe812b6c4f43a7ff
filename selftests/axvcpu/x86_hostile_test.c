// SPDX-License-Identifier: GPL-2.0
/*
 * x86_hostile_test: guests that try what a guest must not get away with.
 *
 * Each guest ends in a documented exit, or the instruction faults in the
 * guest, and the host goes on: the run's kernel log must stay clean.
 * Run against /dev/axvcpu and against KVM ($AXVCPU_DEV); where KVM gives
 * the guest more (it emulates nested SVM's MSRs) the test is axvcpu's only.
 *
 * The real-mode guests have an interrupt vector table whose handler for
 * vector v reports v on PORT and halts, so a test sees which exception an
 * instruction raised.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <sched.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>

#include "kselftest_harness.h"
#include "x86_guest.h"
#include "x86_guest_harness.h"

#define MEM_SIZE	(2UL << 20)
#define PORT		0x10
#define NO_FAULT	0xaa	/* what a guest reports when nothing faulted */
#define VEC_UD		6
#define VEC_GP		13
#define HANDLER_SIZE	8

/* "mov $NO_FAULT, %al; out %al, $PORT; hlt": appended to every probe. */
static const uint8_t report_ok[] = { 0xb0, NO_FAULT, 0xe6, PORT, 0xf4 };

FIXTURE(hostile) {
	struct xg_vm vm;
	struct xg_vcpu vcpu;
};

FIXTURE_SETUP(hostile)
{
	int ret;

	self->vcpu.fd = -1;
	ret = xg_vm_create(&self->vm, MEM_SIZE);
	ASSERT_EQ(0, ret)
		TH_LOG("a VM on %s: %s", xg_dev_path(), strerror(-ret));
	ret = xg_vcpu_create(&self->vm, 0, &self->vcpu);
	ASSERT_EQ(0, ret) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(hostile)
{
	if (self->vcpu.fd >= 0)
		xg_vcpu_destroy(&self->vcpu);
	xg_vm_destroy(&self->vm);
}

/* The vector table: vector v's handler, at XG_CODE2 + 8 v, reports v. */
static void install_ivt(struct xg_vm *vm)
{
	uint32_t *ivt = xg_gpa(vm, 0);
	uint8_t *h = xg_gpa(vm, XG_CODE2);
	unsigned int v;

	for (v = 0; v < 32; v++) {
		uint8_t code[HANDLER_SIZE] = { 0xb0, v, 0xe6, PORT, 0xf4 };

		memcpy(h + v * HANDLER_SIZE, code, sizeof(code));
		ivt[v] = XG_CODE2 + v * HANDLER_SIZE;	/* segment 0 */
	}
}

/* Run @insn in real mode; what the guest reported on PORT. */
static unsigned int probe(struct __test_metadata *_metadata,
			  FIXTURE_DATA(hostile) *self, const uint8_t *insn,
			  size_t len)
{
	uint8_t code[64];
	char buf[160];
	int ret;

	ASSERT_LT(len + sizeof(report_ok), sizeof(code)) {
		return 0;
	}
	memcpy(code, insn, len);
	memcpy(code + len, report_ok, sizeof(report_ok));
	install_ivt(&self->vm);
	real_mode_guest(_metadata, &self->vm, &self->vcpu, code,
			len + sizeof(report_ok));
	ret = xg_run(&self->vcpu);
	EXPECT_EQ(0, ret) {
		TH_LOG("KVM_RUN: %s", strerror(-ret));
		return 0;
	}
	EXPECT_EQ(KVM_EXIT_IO, self->vcpu.run->exit_reason) {
		TH_LOG("%s", xg_exit_str(&self->vcpu, buf, sizeof(buf)));
		return 0;
	}
	EXPECT_EQ(PORT, self->vcpu.run->io.port);
	return xg_io_value(&self->vcpu);
}

struct insn {
	const char *name;
	uint8_t bytes[8];
	size_t len;
};

/* Not in VMX operation, EFER.SVME clear: each is #UD on any x86 host. */
static const struct insn virt_insns[] = {
	{ "vmrun",   { 0x0f, 0x01, 0xd8 }, 3 },
	{ "vmload",  { 0x0f, 0x01, 0xda }, 3 },
	{ "vmsave",  { 0x0f, 0x01, 0xdb }, 3 },
	{ "stgi",    { 0x0f, 0x01, 0xdc }, 3 },
	{ "clgi",    { 0x0f, 0x01, 0xdd }, 3 },
	{ "skinit",  { 0x0f, 0x01, 0xde }, 3 },
	{ "invlpga", { 0x0f, 0x01, 0xdf }, 3 },
	{ "vmxon",   { 0xf3, 0x0f, 0xc7, 0x36, 0x00, 0x30 }, 6 },
	{ "vmptrld", { 0x0f, 0xc7, 0x36, 0x00, 0x30 }, 5 },
	{ "vmclear", { 0x66, 0x0f, 0xc7, 0x36, 0x00, 0x30 }, 6 },
	{ "vmlaunch", { 0x0f, 0x01, 0xc2 }, 3 },
	{ "vmresume", { 0x0f, 0x01, 0xc3 }, 3 },
	{ "vmxoff",  { 0x0f, 0x01, 0xc4 }, 3 },
	{ "invept",  { 0x66, 0x0f, 0x38, 0x80, 0x06, 0x00, 0x30 }, 7 },
	{ "invvpid", { 0x66, 0x0f, 0x38, 0x81, 0x06, 0x00, 0x30 }, 7 },
};

TEST_F(hostile, virtualization_instructions_ud)
{
	unsigned int i, v;

	for (i = 0; i < sizeof(virt_insns) / sizeof(virt_insns[0]); i++) {
		v = probe(_metadata, self, virt_insns[i].bytes,
			  virt_insns[i].len);
		EXPECT_EQ(VEC_UD, v) TH_LOG("%s: vector %u", virt_insns[i].name,
					    v);
	}
}

/* mov $msr, %ecx; mov $lo, %eax; xor %edx, %edx; wrmsr (or rdmsr). */
static size_t msr_code(uint8_t *c, uint32_t msr, uint32_t lo, bool write)
{
	size_t n = 0;

	c[n++] = 0x66;
	c[n++] = 0xb9;
	memcpy(c + n, &msr, 4);
	n += 4;
	c[n++] = 0x66;
	c[n++] = 0xb8;
	memcpy(c + n, &lo, 4);
	n += 4;
	c[n++] = 0x66;
	c[n++] = 0x31;
	c[n++] = 0xd2;
	c[n++] = 0x0f;
	c[n++] = write ? 0x30 : 0x32;
	return n;
}

/*
 * MSRs whose host value matters and that the vCPU does not keep: a
 * write, or a read, raises #GP in the guest and leaves the host's alone.
 * KVM gives its guests several of them (nested SVM's own, SPEC_CTRL...):
 * axvcpu's only.  The MSRs the vCPU keeps (APIC_BASE, the TSC, PAT, the
 * MTRRs, the machine-check banks...) are x86_state_test's.
 */
static const struct {
	const char *name;
	uint32_t msr;
} host_msrs[] = {
	{ "VM_HSAVE_PA", 0xc0010117 }, { "VM_CR", 0xc0010114 },
	{ "SPEC_CTRL", 0x48 }, { "PRED_CMD", 0x49 },
	{ "FEATURE_CONTROL", 0x3a }, { "SMM_BASE", 0xc0010111 },
};

TEST_F(hostile, host_msrs_gp)
{
	uint8_t code[32];
	unsigned int i, v;
	size_t n;

	if (xg_is_kvm())
		SKIP(return, "KVM emulates several of these MSRs");
	for (i = 0; i < sizeof(host_msrs) / sizeof(host_msrs[0]); i++) {
		n = msr_code(code, host_msrs[i].msr, 0, true);
		v = probe(_metadata, self, code, n);
		EXPECT_EQ(VEC_GP, v) TH_LOG("wrmsr %s: vector %u",
					    host_msrs[i].name, v);
		n = msr_code(code, host_msrs[i].msr, 0, false);
		v = probe(_metadata, self, code, n);
		EXPECT_EQ(VEC_GP, v) TH_LOG("rdmsr %s: vector %u",
					    host_msrs[i].name, v);
	}
}

/* EFER.SVME for the guest: refused; the host's EFER is not the guest's. */
TEST_F(hostile, efer_svme_gp)
{
	uint8_t code[32];
	unsigned int v;
	size_t n;

	if (xg_is_kvm())
		SKIP(return, "KVM offers nested SVM");
	n = msr_code(code, 0xc0000080, 1u << 12, true);
	v = probe(_metadata, self, code, n);
	EXPECT_EQ(VEC_GP, v);
}

/* The CPU's physical address width, as the guest sees it. */
static unsigned int phys_bits(void)
{
	unsigned int a, b, c, d;

	if (!__get_cpuid(0x80000008, &a, &b, &c, &d))
		return 36;
	return a & 0xff;
}

#define HIGH_VA		(1ULL << 39)	/* PML4 entry 1: 1 GiB pages */
#define HIGH_PDPT	0x4000UL
#define FIRST_BIT	32		/* above slot 0 and the 4 GiB map */

/*
 * Read the guest-physical address 2^k through a 1 GiB page at HIGH_VA +
 * k GiB, for k = FIRST_BIT up to the physical address width, which is a
 * reserved bit: that last read faults in the guest, which has no IDT.
 */
static const uint8_t walk_code[] = {
	0xb9, FIRST_BIT, 0x00, 0x00, 0x00,	/* 00: mov $FIRST_BIT, %ecx */
	0x48, 0x89, 0xc8,			/* 05: mov %rcx, %rax */
	0x48, 0xc1, 0xe0, 0x1e,			/* 08: shl $30, %rax */
	0x48, 0xba, 0x00, 0x00, 0x00, 0x00,	/* 0c: movabs $HIGH_VA, %rdx */
	0x80, 0x00, 0x00, 0x00,
	0x48, 0x01, 0xd0,			/* 16: add %rdx, %rax */
	0x8a, 0x18,				/* 19: mov (%rax), %bl */
	0xff, 0xc1,				/* 1b: inc %ecx */
	0x81, 0xf9, 0x00, 0x00, 0x00, 0x00,	/* 1d: cmp $bits, %ecx */
	0x76, 0xe0,				/* 23: jbe 05 */
	0xf4,					/* 25: hlt */
};

/*
 * Every power of two of guest-physical memory up to the CPU's width: each
 * read is an MMIO exit at that address, and the address the width forbids
 * ends the guest in a triple fault.
 */
TEST_F(hostile, touch_every_gpa_width)
{
	unsigned int bits = phys_bits(), k;
	uint8_t code[sizeof(walk_code)];
	uint64_t *pml4, *pdpt;
	char buf[160];

	ASSERT_LE(FIRST_BIT + 1, bits);
	ASSERT_GE(52U, bits);
	memcpy(code, walk_code, sizeof(code));
	memcpy(code + 0x1f, &bits, 4);
	long_mode_guest(_metadata, &self->vm, &self->vcpu, code, sizeof(code));
	pml4 = xg_gpa(&self->vm, XG_PML4);
	pdpt = xg_gpa(&self->vm, HIGH_PDPT);
	memset(pdpt, 0, 4096);
	pml4[HIGH_VA >> 39] = HIGH_PDPT | 0x3;
	for (k = FIRST_BIT; k <= bits; k++)
		pdpt[k] = (1ULL << k) | 0x83;	/* P, RW, 1 GiB */

	for (k = FIRST_BIT; k < bits; k++) {
		run_expect(_metadata, &self->vcpu, KVM_EXIT_MMIO);
		ASSERT_EQ(1ULL << k, self->vcpu.run->mmio.phys_addr)
			TH_LOG("bit %u: %s", k, xg_exit_str(&self->vcpu, buf,
							    sizeof(buf)));
		ASSERT_EQ(0, self->vcpu.run->mmio.is_write);
		ASSERT_EQ(1U, self->vcpu.run->mmio.len);
	}
	run_expect(_metadata, &self->vcpu, KVM_EXIT_SHUTDOWN);
}

/*
 * HLT with interrupts off and no way out but the VMM: with KVM's ABI it
 * exits; signals still stop a guest that spins with interrupts off.
 */
TEST_F(hostile, hlt_with_interrupts_off)
{
	static const uint8_t cli_hlt[] = { 0xfa, 0xf4, 0xeb, 0xfc };
	struct kvm_regs regs;

	real_mode_guest(_metadata, &self->vm, &self->vcpu, cli_hlt,
			sizeof(cli_hlt));
	run_expect(_metadata, &self->vcpu, KVM_EXIT_HLT);
	run_expect(_metadata, &self->vcpu, KVM_EXIT_HLT);
	get_regs(_metadata, &self->vcpu, &regs);
	ASSERT_EQ(0ULL, regs.rflags & XG_RFLAGS_IF);
}

/*
 * Report DR0 and DR7, arm four breakpoints of the guest's own, report DR0
 * and DR7 again after an exit.
 */
GUEST16(dr_guest,
	"mov %dr0, %eax\n"
	"out %eax, $0x10\n"
	"mov %dr7, %eax\n"
	"out %eax, $0x10\n"
	"mov $0x1234, %eax\n"
	"mov %eax, %dr0\n"
	"mov %eax, %dr1\n"
	"mov %eax, %dr2\n"
	"mov %eax, %dr3\n"
	"mov $0xaa, %eax\n"		/* G0-G3: armed */
	"mov %eax, %dr7\n"
	"out %eax, $0x10\n"
	"mov %dr0, %eax\n"
	"out %eax, $0x10\n"
	"mov %dr7, %eax\n"
	"out %eax, $0x10\n"
	"hlt\n");

static uint32_t out_value(struct __test_metadata *_metadata,
			  struct xg_vcpu *vcpu)
{
	run_expect(_metadata, vcpu, KVM_EXIT_IO);
	return xg_io_value(vcpu);
}

/* A write breakpoint of this thread's on @addr, or -1. */
static int host_breakpoint(volatile uint32_t *addr)
{
	struct perf_event_attr pe = {
		.type = PERF_TYPE_BREAKPOINT,
		.size = sizeof(pe),
		.bp_type = HW_BREAKPOINT_W,
		.bp_addr = (uintptr_t)addr,
		.bp_len = HW_BREAKPOINT_LEN_4,
		.sample_period = 1,
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};

	return syscall(__NR_perf_event_open, &pe, 0, -1, -1, 0);
}

static uint64_t hits(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return ~0ULL;
	return n;
}

/*
 * The debug registers are the guest's: it reads none of the host's
 * breakpoints (here one this thread armed), and the breakpoints it arms
 * itself leave the host's working after the exit.
 */
TEST_F(hostile, debug_registers_are_the_guests)
{
	static volatile uint32_t watched;
	bool host_bp_works;
	uint64_t before;
	int fd;

	fd = host_breakpoint(&watched);
	if (fd < 0)
		SKIP(return, "no hardware breakpoint for the host: %s",
		     strerror(errno));
	before = hits(fd);
	watched++;
	host_bp_works = hits(fd) == before + 1;
	if (!host_bp_works)
		TH_LOG("the CPU does not report the host's breakpoint: only the guest's side is checked");

	real_mode_guest(_metadata, &self->vm, &self->vcpu, dr_guest,
			dr_guest_end - dr_guest);
	EXPECT_EQ(0U, out_value(_metadata, &self->vcpu))
		TH_LOG("the guest read DR0 of the host (%p)", &watched);
	EXPECT_EQ(0x400U, out_value(_metadata, &self->vcpu));
	EXPECT_EQ(0xaaU, out_value(_metadata, &self->vcpu));

	/* The host's breakpoint works between two runs of the guest. */
	before = hits(fd);
	watched++;
	if (host_bp_works)
		EXPECT_EQ(before + 1, hits(fd))
			TH_LOG("the guest's breakpoints replaced the host's");

	EXPECT_EQ(0x1234U, out_value(_metadata, &self->vcpu));
	EXPECT_EQ(0x4aaU, out_value(_metadata, &self->vcpu));
	run_expect(_metadata, &self->vcpu, KVM_EXIT_HLT);
	close(fd);
}

/* Single-step with TF: the guest's #DB handler sees DR6.BS. */
GUEST16(single_step_guest,
	/* Vector 1: the handler below, where the guest runs it (XG_CODE). */
	"movw $(0x1000 + .Lss_handler - single_step_guest), 4\n"
	"movw $0, 6\n"
	"pushf\n"
	"pop %ax\n"
	"or $0x100, %ax\n"
	"push %ax\n"
	"popf\n"
	"nop\n"			/* #DB after this one */
	"nop\n"
	"hlt\n"
	".Lss_handler: mov %dr6, %eax\n"
	"out %eax, $0x10\n"
	"hlt\n");

TEST_F(hostile, single_step_reaches_the_guest)
{
	struct kvm_sregs sregs;
	uint32_t dr6;

	real_mode_guest(_metadata, &self->vm, &self->vcpu, single_step_guest,
			single_step_guest_end - single_step_guest);
	/* The handler's address assumes CS base 0 and the code at XG_CODE. */
	get_sregs(_metadata, &self->vcpu, &sregs);
	ASSERT_EQ(0U, sregs.cs.base);
	ASSERT_EQ(0x1000UL, XG_CODE);
	dr6 = out_value(_metadata, &self->vcpu);
	EXPECT_EQ(0x4000U, dr6 & 0x400fU) TH_LOG("DR6 %#x: BS alone", dr6);
}

/* PKRU: the guest writes its own, reads it back after an exit. */
GUEST16(pkru_guest,
	"xor %ecx, %ecx\n"
	"xor %edx, %edx\n"
	"mov $0x0c, %eax\n"
	"wrpkru\n"
	"out %eax, $0x10\n"
	"xor %ecx, %ecx\n"
	"rdpkru\n"
	"out %eax, $0x10\n"
	"hlt\n");

static uint32_t host_rdpkru(void)
{
	uint32_t eax, edx;

	asm volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
	return eax;
}

/* A guest's WRPKRU never reaches the VMM thread. */
TEST_F(hostile, pkru_is_the_guests)
{
	unsigned int a, b, c, d;
	struct kvm_sregs sregs;
	uint32_t host;

	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(c & (1u << 4)))
		SKIP(return, "no protection keys in the host (OSPKE)");
	if (xg_is_kvm())
		ASSERT_EQ(0, xg_kvm_set_supported_cpuid(self->vm.sys_fd,
							&self->vcpu));
	host = host_rdpkru();
	real_mode_guest(_metadata, &self->vm, &self->vcpu, pkru_guest,
			pkru_guest_end - pkru_guest);
	get_sregs(_metadata, &self->vcpu, &sregs);
	sregs.cr4 |= 1ULL << 22;	/* PKE */
	set_sregs(_metadata, &self->vcpu, &sregs);
	EXPECT_EQ(0x0cU, out_value(_metadata, &self->vcpu));
	EXPECT_EQ(host, host_rdpkru());
	EXPECT_EQ(0x0cU, out_value(_metadata, &self->vcpu));
	EXPECT_EQ(host, host_rdpkru());
}

/*
 * The syscall MSRs and TSC_AUX: the guest writes LSTAR and TSC_AUX, the
 * VMM thread makes a system call and reads its own TSC_AUX, the guest
 * reads its values back (RDMSR, RDTSCP).
 */
GUEST16(uret_guest,
	"mov $0xc0000082, %ecx\n"	/* LSTAR */
	"mov $0x1234, %eax\n"
	"xor %edx, %edx\n"
	"wrmsr\n"
	"mov $0xc0000103, %ecx\n"	/* TSC_AUX */
	"mov $0x55, %eax\n"
	"wrmsr\n"
	"out %eax, $0x10\n"
	"mov $0xc0000082, %ecx\n"
	"rdmsr\n"
	"out %eax, $0x10\n"
	"rdtscp\n"
	"mov %ecx, %eax\n"
	"out %eax, $0x10\n"
	"hlt\n");

TEST_F(hostile, syscall_msrs_and_tsc_aux_are_the_guests)
{
	unsigned int a, b, c, d, aux;
	cpu_set_t one;

	if (!__get_cpuid(0x80000001, &a, &b, &c, &d) || !(d & (1u << 27)))
		SKIP(return, "no RDTSCP");
	/* RDTSCP below reads the CPU number: stay on one CPU. */
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu(), &one);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(one), &one));
	if (xg_is_kvm())
		ASSERT_EQ(0, xg_kvm_set_supported_cpuid(self->vm.sys_fd,
							&self->vcpu));
	real_mode_guest(_metadata, &self->vm, &self->vcpu, uret_guest,
			uret_guest_end - uret_guest);
	ASSERT_EQ(0x55U, out_value(_metadata, &self->vcpu));
	/* The host's own again, on the way back to user space. */
	ASSERT_LT(0, getpid());
	asm volatile("rdtscp" : "=c"(aux) : : "eax", "edx");
	EXPECT_EQ((unsigned int)sched_getcpu(), aux & 0xfff);
	EXPECT_EQ(0x1234U, out_value(_metadata, &self->vcpu));
	EXPECT_EQ(0x55U, out_value(_metadata, &self->vcpu));
	run_expect(_metadata, &self->vcpu, KVM_EXIT_HLT);
}

TEST_HARNESS_MAIN
