// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu-bench: the cost of an exit, on /dev/axvcpu or /dev/kvm.
 *
 *   axvcpu-bench [DEVICE [N]]
 *
 * Two real-mode guests loop N times over one exiting instruction:
 *   pio    OUT to a port: every iteration is a round trip to userspace;
 *   cpuid  CPUID: every iteration exits to the kernel and back.
 * Prints one line per benchmark: "bench NAME DEVICE NS_PER_EXIT". Under
 * QEMU with -icount shift=0,sleep=off the guest's clock counts
 * instructions, so the figures are the same on every run.
 */
#include <errno.h>
#include <fcntl.h>
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
	int count_at;		/* offset of the imm32 loop count */
};

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
	{ "pio", pio_code, sizeof(pio_code), 2 },
	{ "cpuid", cpuid_code, sizeof(cpuid_code), 2 },
};

static void die(const char *what)
{
	fprintf(stderr, "axvcpu-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

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
	struct kvm_sregs sregs;
	struct kvm_regs regs;
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
	memcpy(mem + CODE_GPA, b->code, b->len);
	memcpy(mem + CODE_GPA + b->count_at, &n, 4);
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
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_GPA;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS");

	t0 = now_ns();
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0))
			die("KVM_RUN");
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		if (run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "axvcpu-bench: %s: exit %u\n",
				b->name, run->exit_reason);
			exit(1);
		}
		exits++;
	}
	t1 = now_ns();

	if (b->code == pio_code && exits != n) {
		fprintf(stderr, "axvcpu-bench: %lu port exits, not %u\n",
			exits, n);
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
