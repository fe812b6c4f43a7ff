// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu-bench: what a VMM pays, on /dev/axvcpu or /dev/kvm.
 *
 *   axvcpu-bench [DEVICE [N]]
 *
 * Prints one line per benchmark, "bench NAME DEVICE NS", NS being the
 * guest-clock nanoseconds of one operation:
 *
 *   null	KVM_RUN with immediate_exit set: the cheapest return to
 *		userspace, the floor every exit to userspace stands on
 *   pio	x86: an OUT to a port, a round trip to userspace
 *   mmio	a store outside guest memory, a round trip to userspace
 *   cpuid	x86: CPUID, answered in the kernel
 *   psci	arm64: HVC PSCI_VERSION, answered in the kernel
 *   hlt	x86: HLT, the vCPU asleep in the kernel until another thread
 *		injects an interrupt (axvcpu: halt policy BLOCK and
 *		AXVCPU_INJECT; KVM: its in-kernel PIC and KVM_IRQ_LINE)
 *   vcpu	KVM_CREATE_VCPU and its destruction (vm256 less an empty
 *		VM, per vCPU; KVM frees a vCPU only with its VM)
 *   vmN	KVM_CREATE_VM, N vCPUs, and the destruction of it all
 *   memM	KVM_SET_USER_MEMORY_REGION of M MiB, then the guest writes
 *		to every page of it (axvcpu pins at the ioctl, KVM faults
 *		the pages in as the guest touches them: the sum compares)
 *
 * A memory size the machine cannot hold prints "bench memM DEVICE -".
 * Under QEMU with -icount shift=0,sleep=off the guest's clock counts
 * instructions, so the figures are the same on every run.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/axvcpu.h>
#include <linux/kvm.h>

#define MEM_SIZE	0x10000
#define CODE_GPA	0x1000
/* Where the memory benchmarks put their slot, above the code's. */
#define BIG_GPA		0x40000000ULL
#define PAGE		4096
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
/* hlt: the wake-ups the guest has taken, for the waking thread. */
#define COUNT_GPA	0xff0

enum kind {
	EXITS,		/* the guest loops over an exiting instruction */
	NULL_RUN,	/* KVM_RUN with immediate_exit */
	HALT,		/* HLT, woken by another thread */
	TOUCH,		/* a new slot, every page written by the guest */
};

struct bench {
	const char *name;
	enum kind kind;
	const unsigned char *code, *end;
	/*
	 * Each guest has its own address: QEMU's TCG may run code it
	 * translated for the last VM's guest when a new VM gets its pages
	 * back at the same address.
	 */
	uint64_t gpa;
	unsigned int user_exits;	/* exits to userspace per iteration */
	unsigned int mib;		/* TOUCH: the slot's size */
};

/* Guest programs, position independent. */
#define GUEST(name, mode, body)						\
	extern const unsigned char name[], name##_end[];		\
	asm(".pushsection .rodata\n"					\
	    ".globl " #name ", " #name "_end\n"			\
	    ".balign 8\n" mode "\n"					\
	    #name ":\n" body "\n" GUEST_POOL #name "_end:\n"		\
	    GUEST_RESTORE ".popsection\n")

static const char *dev;
static int is_axvcpu;

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

#define GUEST_RESTORE	".code64\n"
#define GUEST_POOL	""

/*
 * Real mode, the count in ESI.  Done is HLT, or (hlt, touch) an OUT to
 * DONE_PORT.  Port 0x10 and 0x20000 are outside everything.
 */
#define DONE_PORT	0x11
#define HLT_VECTOR	0x20

GUEST(pio_code, ".code16",
	"1: outb %al, $0x10\n"
	"decl %esi\n"
	"jnz 1b\n"
	"hlt\n");

GUEST(mmio_code, ".code16",
	"movw $0x2000, %ax\n"
	"movw %ax, %ds\n"
	"1: movb %al, 0\n"
	"decl %esi\n"
	"jnz 1b\n"
	"hlt\n");

GUEST(cpuid_code, ".code16",
	"1: xorl %eax, %eax\n"
	"cpuid\n"
	"decl %esi\n"
	"jnz 1b\n"
	"hlt\n");

/*
 * With BX set (KVM), program the in-kernel PIC: vectors from 0x20, auto
 * EOI, IRQ 0 alone unmasked.  Then say so (COUNT_GPA from ~0 to 0) and
 * halt until ESI interrupts came; each one counts itself at COUNT_GPA,
 * whether it woke a HLT or came before it.
 */
GUEST(hlt_code, ".code16",
	"testw %bx, %bx\n"
	"jz 2f\n"
	"movb $0x13, %al\n"
	"outb %al, $0x20\n"
	"movb $0x20, %al\n"
	"outb %al, $0x21\n"
	"movb $0x03, %al\n"
	"outb %al, $0x21\n"
	"movb $0xfe, %al\n"
	"outb %al, $0x21\n"
	"2: movl $0, 0xff0\n"
	"sti\n"
	"3: hlt\n"
	"cmpl %esi, 0xff0\n"
	"jb 3b\n"
	"cli\n"
	"outb %al, $0x11\n"
	"jmp .\n"
	".globl hlt_isr\n"
	"hlt_isr: incl 0xff0\n"
	"iret\n");
extern const unsigned char hlt_isr[];

/* Flat 32-bit protected mode: write to ESI pages from EAX on. */
GUEST(touch_code, ".code32",
	"1: movl %eax, (%eax)\n"
	"addl $4096, %eax\n"
	"decl %esi\n"
	"jnz 1b\n"
	"outb %al, $0x11\n"
	"jmp .\n");

#define EXIT_BENCH(nm, exits, addr)					\
	{ #nm, EXITS, nm##_code, nm##_code_end, (addr) * CODE_GPA, exits, 0 }

static const struct bench benches[] = {
	{ "null", NULL_RUN, pio_code, pio_code_end, CODE_GPA, 0, 0 },
	EXIT_BENCH(pio, 1, 1),
	EXIT_BENCH(mmio, 1, 2),
	EXIT_BENCH(cpuid, 0, 3),
	{ "hlt", HALT, hlt_code, hlt_code_end, 4 * CODE_GPA, 0, 0 },
	{ "mem64", TOUCH, touch_code, touch_code_end, 5 * CODE_GPA, 0, 64 },
	{ "mem256", TOUCH, touch_code, touch_code_end, 6 * CODE_GPA, 0, 256 },
	{ "mem1024", TOUCH, touch_code, touch_code_end, 7 * CODE_GPA, 0, 1024 },
};

static void flat(struct kvm_segment *s, unsigned int type, unsigned int sel)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->db = 1;
	s->s = 1;
	s->g = 1;
}

/* The guest at its code, in real mode or (TOUCH) flat protected mode. */
static void arch_setup(int vm, int vcpu, const struct bench *b,
		       uint64_t count, uint64_t base)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	(void)vm;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (b->kind == TOUCH) {
		sregs.cr0 |= 1;		/* PE */
		flat(&sregs.cs, 0xb, 8);
		flat(&sregs.ds, 0x3, 0x10);
		sregs.es = sregs.ds;
		sregs.ss = sregs.ds;
	}
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = b->gpa;
	regs.rflags = 2;
	regs.rsi = count;
	regs.rax = base;
	regs.rbx = !is_axvcpu;
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS");
}

/* 1 when the guest is done, 0 for the exit the benchmark measures. */
static int arch_done(const struct bench *b, const struct kvm_run *run)
{
	if (b->kind == EXITS && run->exit_reason == KVM_EXIT_HLT)
		return 1;
	if (b->kind != EXITS) {
		if (run->exit_reason == KVM_EXIT_IO &&
		    run->io.port == DONE_PORT)
			return 1;
		unexpected(b, run);
	}
	if (run->exit_reason != (b->code == mmio_code ? KVM_EXIT_MMIO :
				 KVM_EXIT_IO))
		unexpected(b, run);
	return 0;
}

/* hlt: KVM wakes the vCPU with its PIC, so that must exist first. */
static void halt_prepare(int vm, int vcpu, unsigned char *mem,
			 const struct bench *b)
{
	uint16_t ivt[2] = { b->gpa + (hlt_isr - hlt_code), 0 };
	struct axvcpu_setup setup = { .halt_policy = AXVCPU_HALT_BLOCK };

	memcpy(mem + HLT_VECTOR * 4, ivt, sizeof(ivt));
	memset(mem + COUNT_GPA, 0xff, 4);	/* not ready */
	if (is_axvcpu && ioctl(vcpu, AXVCPU_SETUP, &setup))
		die("AXVCPU_SETUP");
	(void)vm;
}

static void halt_irqchip(int vm)
{
	if (!is_axvcpu && ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		die("KVM_CREATE_IRQCHIP");
}

static void halt_wake(int vm, int vcpu)
{
	struct kvm_irq_level line = { .irq = 0, .level = 1 };
	struct axvcpu_irq irq = { .vector = HLT_VECTOR };

	if (is_axvcpu) {
		if (ioctl(vcpu, AXVCPU_INJECT, &irq))
			die("AXVCPU_INJECT");
		return;
	}
	/* An edge on IRQ 0. */
	if (ioctl(vm, KVM_IRQ_LINE, &line))
		die("KVM_IRQ_LINE");
	line.level = 0;
	if (ioctl(vm, KVM_IRQ_LINE, &line))
		die("KVM_IRQ_LINE");
}

#define HAVE_HALT	1

#elif defined(__aarch64__)

#define GUEST_RESTORE	""
#define GUEST_POOL	".ltorg\n"
#define DONE_GPA	0x10001000

/* EL1 with the MMU off, the count in x5. */
GUEST(mmio_code, "",
	"ldr x9, =0x10000000\n"
	"1: str x5, [x9]\n"
	"subs x5, x5, #1\n"
	"b.ne 1b\n"
	"ldr x10, =0x10001000\n"
	"str xzr, [x10]\n"
	"b .\n");

/* KVM's PSCI answer also writes x1-x3: the count stays in x5. */
GUEST(psci_code, "",
	"1: ldr x0, =0x84000000\n"	/* PSCI_VERSION */
	"hvc #0\n"
	"subs x5, x5, #1\n"
	"b.ne 1b\n"
	"ldr x10, =0x10001000\n"
	"str x0, [x10]\n"
	"b .\n");

/* Write to x5 pages from x9 on. */
GUEST(touch_code, "",
	"1: str x5, [x9]\n"
	"add x9, x9, #4096\n"
	"subs x5, x5, #1\n"
	"b.ne 1b\n"
	"ldr x10, =0x10001000\n"
	"str xzr, [x10]\n"
	"b .\n");

#define EXIT_BENCH(nm, exits, addr)					\
	{ #nm, EXITS, nm##_code, nm##_code_end, (addr) * CODE_GPA, exits, 0 }

static const struct bench benches[] = {
	{ "null", NULL_RUN, mmio_code, mmio_code_end, CODE_GPA, 0, 0 },
	EXIT_BENCH(mmio, 1, 1),
	EXIT_BENCH(psci, 0, 2),
	{ "mem64", TOUCH, touch_code, touch_code_end, 3 * CODE_GPA, 0, 64 },
	{ "mem256", TOUCH, touch_code, touch_code_end, 4 * CODE_GPA, 0, 256 },
	{ "mem1024", TOUCH, touch_code, touch_code_end, 5 * CODE_GPA, 0, 1024 },
};

static void set_reg(int vcpu, uint64_t id, uint64_t val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };

	if (ioctl(vcpu, KVM_SET_ONE_REG, &reg))
		die("KVM_SET_ONE_REG");
}

#define CORE_REG(field)	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | \
			 KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(field))

/* KVM_ARM_VCPU_INIT, the PC at the code, the count in x5, base in x9. */
static void arch_setup(int vm, int vcpu, const struct bench *b,
		       uint64_t count, uint64_t base)
{
	struct kvm_vcpu_init init;

	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init))
		die("KVM_ARM_PREFERRED_TARGET");
	init.features[0] = 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init))
		die("KVM_ARM_VCPU_INIT");
	set_reg(vcpu, CORE_REG(regs.pc), b->gpa);
	set_reg(vcpu, CORE_REG(regs.regs[5]), count);
	set_reg(vcpu, CORE_REG(regs.regs[9]), base);
}

/* 1 when the guest is done (its store to DONE_GPA), 0 for an MMIO exit. */
static int arch_done(const struct bench *b, const struct kvm_run *run)
{
	if (run->exit_reason != KVM_EXIT_MMIO)
		unexpected(b, run);
	if (b->kind == TOUCH && run->mmio.phys_addr != DONE_GPA)
		unexpected(b, run);
	return run->mmio.phys_addr == DONE_GPA;
}

#define HAVE_HALT	0

static void halt_prepare(int vm, int vcpu, unsigned char *mem,
			 const struct bench *b)
{
	(void)vm;
	(void)vcpu;
	(void)mem;
	(void)b;
}

static void halt_irqchip(int vm)
{
	(void)vm;
}

static void halt_wake(int vm, int vcpu)
{
	(void)vm;
	(void)vcpu;
}

#else
#error "axvcpu-bench: no guests for this architecture"
#endif

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

struct guest {
	int vm, vcpu, run_size;
	struct kvm_run *run;
	unsigned char *mem;
};

/* A VM with the benchmark's code in a 64 KiB slot at 0 and one vCPU. */
static void guest_create(int sys, const struct bench *b, struct guest *g)
{
	struct kvm_userspace_memory_region region = {
		.memory_size = MEM_SIZE,
	};

	g->vm = ioctl(sys, KVM_CREATE_VM, 0);
	if (g->vm < 0)
		die("KVM_CREATE_VM");
	g->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->mem == MAP_FAILED)
		die("mmap");
	memcpy(g->mem + b->gpa, b->code, b->end - b->code);
	region.userspace_addr = (unsigned long)g->mem;
	if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &region))
		die("KVM_SET_USER_MEMORY_REGION");
	if (b->kind == HALT)
		halt_irqchip(g->vm);

	g->vcpu = ioctl(g->vm, KVM_CREATE_VCPU, 0);
	g->run_size = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (g->vcpu < 0 || g->run_size <= 0)
		die("KVM_CREATE_VCPU");
	g->run = mmap(NULL, g->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      g->vcpu, 0);
	if (g->run == MAP_FAILED)
		die("mmap of the run page");
	if (b->kind == HALT)
		halt_prepare(g->vm, g->vcpu, g->mem, b);
}

static void guest_destroy(struct guest *g)
{
	munmap(g->run, g->run_size);
	close(g->vcpu);
	close(g->vm);
	munmap(g->mem, MEM_SIZE);
}

/* Run to the end; returns the exits to userspace before it. */
static unsigned long guest_run(struct guest *g, const struct bench *b)
{
	unsigned long exits = 0;

	for (;;) {
		if (ioctl(g->vcpu, KVM_RUN, 0))
			die("KVM_RUN");
		if (arch_done(b, g->run))
			return exits;
		exits++;
	}
}

static double bench_exits(struct guest *g, const struct bench *b,
			  unsigned int n)
{
	unsigned long exits;
	uint64_t t0;

	arch_setup(g->vm, g->vcpu, b, n, 0);
	t0 = now_ns();
	exits = guest_run(g, b);
	if (exits != (unsigned long)n * b->user_exits) {
		fprintf(stderr, "axvcpu-bench: %s: %lu exits, not %lu\n",
			b->name, exits, (unsigned long)n * b->user_exits);
		exit(1);
	}
	return (double)(now_ns() - t0) / n;
}

static double bench_null(struct guest *g, const struct bench *b,
			 unsigned int n)
{
	unsigned int i;
	uint64_t t0;

	arch_setup(g->vm, g->vcpu, b, 1, 0);
	g->run->immediate_exit = 1;
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		if (ioctl(g->vcpu, KVM_RUN, 0) != -1 || errno != EINTR)
			die("KVM_RUN with immediate_exit");
	}
	return (double)(now_ns() - t0) / n;
}

struct waker {
	struct guest *g;
	unsigned int n;
};

/*
 * Each wake-up once the guest counted the last one: on one CPU this
 * thread runs while the vCPU's sleeps in HLT.
 */
static void *waker(void *arg)
{
	struct waker *w = arg;
	uint32_t *count = (uint32_t *)(w->g->mem + COUNT_GPA);
	unsigned int i;
	uint32_t c;

	for (i = 0; i < w->n; i++) {
		for (;;) {
			c = __atomic_load_n(count, __ATOMIC_ACQUIRE);
			if (c != ~0U && c >= i)
				break;
			sched_yield();
		}
		halt_wake(w->g->vm, w->g->vcpu);
	}
	return NULL;
}

static double bench_halt(struct guest *g, const struct bench *b,
			 unsigned int n)
{
	struct waker w = { g, n };
	pthread_t thread;
	unsigned long exits;
	uint64_t t0;

	arch_setup(g->vm, g->vcpu, b, n, 0);
	t0 = now_ns();
	errno = pthread_create(&thread, NULL, waker, &w);
	if (errno)
		die("pthread_create");
	exits = guest_run(g, b);
	pthread_join(thread, NULL);
	/* KVM: the PIC's programming is in the kernel too. */
	if (exits) {
		fprintf(stderr, "axvcpu-bench: hlt: %lu exits\n", exits);
		exit(1);
	}
	return (double)(now_ns() - t0) / n;
}

/* MemAvailable, in MiB. */
static unsigned long mem_available(void)
{
	unsigned long kib = 0;
	char line[128];
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lu kB", &kib) == 1)
			break;
	fclose(f);
	return kib / 1024;
}

/* The new slot and the run of the guest over it; -1 if it cannot fit. */
static double bench_touch(struct guest *g, const struct bench *b)
{
	size_t size = (size_t)b->mib << 20;
	struct kvm_userspace_memory_region region = {
		.slot = 1,
		.guest_phys_addr = BIG_GPA,
		.memory_size = size,
	};
	unsigned char *big;
	uint64_t t0, t;

	/* Room for the slot and for the rest of the guest's system. */
	if (mem_available() < b->mib + 96)
		return -1;
	big = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (big == MAP_FAILED)
		die("mmap");
	arch_setup(g->vm, g->vcpu, b, size / PAGE, BIG_GPA);
	region.userspace_addr = (unsigned long)big;
	t0 = now_ns();
	if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &region))
		die("KVM_SET_USER_MEMORY_REGION");
	if (guest_run(g, b)) {
		fprintf(stderr, "axvcpu-bench: %s: exits\n", b->name);
		exit(1);
	}
	t = now_ns() - t0;
	/* The guest's writes reached the pages userspace sees. */
	if (!*(uint32_t *)(big + size - PAGE)) {
		fprintf(stderr, "axvcpu-bench: %s: the last page is unwritten\n",
			b->name);
		exit(1);
	}
	region.memory_size = 0;
	if (ioctl(g->vm, KVM_SET_USER_MEMORY_REGION, &region))
		die("KVM_SET_USER_MEMORY_REGION (delete)");
	munmap(big, size);
	return t;
}

/* One fresh VM per benchmark; returns ns per operation, -1 for none. */
static double run_bench(int sys, const struct bench *b, unsigned int n)
{
	struct guest g;
	double ns;

	guest_create(sys, b, &g);
	switch (b->kind) {
	case NULL_RUN:
		ns = bench_null(&g, b, n);
		break;
	case HALT:
		/* A wake-up costs tens of exits: fewer of them. */
		ns = bench_halt(&g, b, n / 4 ? n / 4 : 1);
		break;
	case TOUCH:
		ns = bench_touch(&g, b);
		break;
	default:
		ns = bench_exits(&g, b, n);
		break;
	}
	guest_destroy(&g);
	return ns;
}

/*
 * reps times: a VM, nr vCPUs, and its destruction (the last fd closed);
 * ns per VM.
 */
static double bench_vm(int sys, unsigned int nr, unsigned int reps)
{
	int fds[257], vm;
	unsigned int r, i;
	uint64_t t0;

	t0 = now_ns();
	for (r = 0; r < reps; r++) {
		vm = ioctl(sys, KVM_CREATE_VM, 0);
		if (vm < 0)
			die("KVM_CREATE_VM");
		for (i = 0; i < nr; i++) {
			fds[i] = ioctl(vm, KVM_CREATE_VCPU, i);
			if (fds[i] < 0)
				die("KVM_CREATE_VCPU");
		}
		for (i = 0; i < nr; i++)
			close(fds[i]);
		close(vm);
	}
	return (double)(now_ns() - t0) / reps;
}

static void print(const char *name, double ns)
{
	if (ns < 0)
		printf("bench %s %s -\n", name, dev);
	else
		printf("bench %s %s %.0f\n", name, dev, ns);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const unsigned int vms[] = { 1, 16, 64, 256 };
	unsigned int n;
	char name[16];
	double empty, ns = 0;
	size_t i;
	int sys;

	dev = argc > 1 ? argv[1] : "/dev/axvcpu";
	n = argc > 2 ? strtoul(argv[2], NULL, 0) : 20000;
	if (!n) {
		fprintf(stderr, "usage: axvcpu-bench [DEVICE [N]]\n");
		return 2;
	}
	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die(dev);
	is_axvcpu = !!strstr(dev, "axvcpu");
	for (i = 0; i < ARRAY_SIZE(benches); i++) {
		if (benches[i].kind == HALT && !HAVE_HALT)
			continue;
		print(benches[i].name, run_bench(sys, &benches[i], n));
	}

	/*
	 * An empty VM first: a vCPU's own cost is the difference, over the
	 * largest VM (KVM's destruction waits for grace periods, whose
	 * length varies from one VM to the next).
	 */
	empty = bench_vm(sys, 0, 16);
	for (i = 0; i < ARRAY_SIZE(vms); i++) {
		snprintf(name, sizeof(name), "vm%u", vms[i]);
		ns = bench_vm(sys, vms[i], vms[i] >= 64 ? 1 : 16 / vms[i]);
		print(name, ns);
	}
	print("vcpu", (ns - empty) / vms[ARRAY_SIZE(vms) - 1]);
	close(sys);
	return 0;
}
