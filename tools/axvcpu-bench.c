// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu-bench: the cost of an exit, on /dev/axvcpu or /dev/kvm.
 *
 *   axvcpu-bench [DEVICE [N]]
 *
 * Guests loop N times over one exiting instruction.  On x86 (real mode):
 *   pio    OUT to a port: every iteration is a round trip to userspace;
 *   cpuid  CPUID: every iteration exits to the kernel and back.
 * On arm64 (EL1, MMU off):
 *   mmio   a store outside guest memory: a round trip to userspace;
 *   psci   HVC PSCI_VERSION: answered in the kernel.
 * Prints one line per benchmark: "bench NAME DEVICE NS_PER_EXIT". Under
 * QEMU with -icount shift=0,sleep=off the guest's clock counts
 * instructions, so the figures are the same on every run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#define MEM_SIZE	0x10000
#define CODE_GPA	0x1000

struct bench {
	const char *name;
	const unsigned char *code;
	size_t len;
	/*
	 * Each guest has its own address: QEMU's TCG may run code it
	 * translated for the last VM's guest when a new VM gets its pages
	 * back at the same address.
	 */
	uint64_t gpa;
	int count_at;		/* x86: offset of the imm32 loop count */
	unsigned int user_exits;	/* exits to userspace per iteration */
};

static void die(const char *what)
{
	fprintf(stderr, "axvcpu-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void unexpected(const struct bench *b, const struct kvm_run *run)
{
	fprintf(stderr, "axvcpu-bench: %s: exit %u\n", b->name,
		run->exit_reason);
	exit(1);
}

#if defined(__x86_64__)

/* mov ecx, N; 1: out 0x10, al; dec ecx; jnz 1b; hlt */
static const unsigned char pio_code[] = {
	0x66, 0xb9, 0, 0, 0, 0,
	0xe6, 0x10,
	0x66, 0x49,
	0x75, 0xfa,
	0xf4,
};

/* mov esi, N; 1: xor eax, eax; cpuid; dec esi; jnz 1b; hlt */
static const unsigned char cpuid_code[] = {
	0x66, 0xbe, 0, 0, 0, 0,
	0x66, 0x31, 0xc0,
	0x0f, 0xa2,
	0x66, 0x4e,
	0x75, 0xf7,
	0xf4,
};

static const struct bench benches[] = {
	{ "pio", pio_code, sizeof(pio_code), CODE_GPA, 2, 1 },
	{ "cpuid", cpuid_code, sizeof(cpuid_code), 2 * CODE_GPA, 2, 0 },
};

/* Real mode at the code, with the loop count patched in. */
static void arch_setup(int vm, int vcpu, const struct bench *b,
		       unsigned char *mem, unsigned int n)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	(void)vm;
	memcpy(mem + b->gpa + b->count_at, &n, 4);
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = b->gpa;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS");
}

/* 1 when the guest is done (HLT), 0 for a port exit. */
static int arch_done(const struct bench *b, const struct kvm_run *run)
{
	if (run->exit_reason == KVM_EXIT_HLT)
		return 1;
	if (run->exit_reason != KVM_EXIT_IO)
		unexpected(b, run);
	return 0;
}

#elif defined(__aarch64__)

#define DONE_GPA	0x10001000

/* Guest programs: position independent, the count in x5. */
#define GUEST(name, body)						\
	extern const unsigned char name[], name##_end[];		\
	asm(".pushsection .rodata\n"					\
	    ".globl " #name ", " #name "_end\n"			\
	    ".balign 8\n"						\
	    #name ":\n" body "\n.ltorg\n" #name "_end:\n"		\
	    ".popsection\n")

GUEST(mmio_code,
	"ldr x9, =0x10000000\n"
	"1: str x5, [x9]\n"
	"subs x5, x5, #1\n"
	"b.ne 1b\n"
	"ldr x10, =0x10001000\n"
	"str xzr, [x10]\n"
	"b .\n");

/* KVM's PSCI answer also writes x1-x3: the count stays in x5. */
GUEST(psci_code,
	"1: ldr x0, =0x84000000\n"	/* PSCI_VERSION */
	"hvc #0\n"
	"subs x5, x5, #1\n"
	"b.ne 1b\n"
	"ldr x10, =0x10001000\n"
	"str x0, [x10]\n"
	"b .\n");

static const struct bench benches[] = {
	{ "mmio", mmio_code, 0, CODE_GPA, 0, 1 },
	{ "psci", psci_code, 0, 2 * CODE_GPA, 0, 0 },
};

static void set_reg(int vcpu, uint64_t id, uint64_t val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };

	if (ioctl(vcpu, KVM_SET_ONE_REG, &reg))
		die("KVM_SET_ONE_REG");
}

#define CORE_REG(field)	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | \
			 KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(field))

/* KVM_ARM_VCPU_INIT, the PC at the code, the count in x5. */
static void arch_setup(int vm, int vcpu, const struct bench *b,
		       unsigned char *mem, unsigned int n)
{
	const unsigned char *end = b->code == mmio_code ? mmio_code_end :
				   psci_code_end;
	struct kvm_vcpu_init init;

	memcpy(mem + b->gpa, b->code, end - b->code);
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init))
		die("KVM_ARM_PREFERRED_TARGET");
	init.features[0] = 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init))
		die("KVM_ARM_VCPU_INIT");
	set_reg(vcpu, CORE_REG(regs.pc), b->gpa);
	set_reg(vcpu, CORE_REG(regs.regs[5]), n);
}

/* 1 when the guest is done (its store to DONE_GPA), 0 for an MMIO exit. */
static int arch_done(const struct bench *b, const struct kvm_run *run)
{
	if (run->exit_reason != KVM_EXIT_MMIO)
		unexpected(b, run);
	return run->mmio.phys_addr == DONE_GPA;
}

#else
#error "axvcpu-bench: no guests for this architecture"
#endif

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Run one benchmark in a fresh VM; returns ns per iteration. */
static double run_bench(int sys, const struct bench *b, unsigned int n)
{
	struct kvm_userspace_memory_region region = {
		.memory_size = MEM_SIZE,
	};
	unsigned long exits = 0;
	struct kvm_run *run;
	unsigned char *mem;
	int vm, vcpu, size;
	double t0, t1;

	vm = ioctl(sys, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	if (b->len)
		memcpy(mem + b->gpa, b->code, b->len);
	region.userspace_addr = (unsigned long)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		die("KVM_SET_USER_MEMORY_REGION");

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	size = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || size <= 0)
		die("KVM_CREATE_VCPU");
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap of the run page");
	arch_setup(vm, vcpu, b, mem, n);

	t0 = now_ns();
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0))
			die("KVM_RUN");
		if (arch_done(b, run))
			break;
		exits++;
	}
	t1 = now_ns();

	if (exits != (unsigned long)n * b->user_exits) {
		fprintf(stderr, "axvcpu-bench: %s: %lu exits, not %lu\n",
			b->name, exits, (unsigned long)n * b->user_exits);
		exit(1);
	}
	munmap(run, size);
	close(vcpu);
	close(vm);
	munmap(mem, MEM_SIZE);
	return (t1 - t0) / n;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/axvcpu";
	unsigned int n = argc > 2 ? strtoul(argv[2], NULL, 0) : 20000;
	size_t i;
	int sys;

	if (!n) {
		fprintf(stderr, "usage: axvcpu-bench [DEVICE [N]]\n");
		return 2;
	}
	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die(dev);
	for (i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		printf("bench %s %s %.0f\n", benches[i].name, dev,
		       run_bench(sys, &benches[i], n));
	close(sys);
	return 0;
}
