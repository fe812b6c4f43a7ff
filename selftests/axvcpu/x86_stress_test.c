// SPDX-License-Identifier: GPL-2.0
/*
 * x86_stress_test: many vCPUs, threads and VMs at once, with noise, and
 * every guest register the test can see checked after every exit.
 *
 * Each round creates a VM with NR_VCPUS real-mode vCPUs, one thread each,
 * and one noise thread that fills its own XMM registers, maps and unmaps
 * memory and kicks the vCPUs.  A guest keeps its id in ESI and XMM0 and a
 * counter in EBP; it makes IN_KERNEL CPUID exits (handled in the kernel,
 * where the thread may be preempted: the noise thread shares its CPU),
 * then reports the counter with an OUT.  It reports with another OUT when
 * XMM0 no longer holds its id: the host ran it on another thread's FPU
 * registers.  After each OUT the test also reads the registers back: RIP
 * within the guest's code, ESI its id, EBP its counter.  The VM is
 * destroyed after each round, so that the next one reuses its pages.
 *
 * Both variants run on axvcpu and on KVM ($AXVCPU_DEV): all threads on one
 * CPU, and spread over two.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/axvcpu.h>

#include "kselftest_harness.h"
#include "x86_guest.h"

#define NR_VCPUS	3
#define ROUNDS		8
#define OUTS		20	/* exits to the test per vCPU and round */
#define IN_KERNEL	20	/* CPUID exits between two of them */

#define PORT_COUNT	0x10
#define PORT_FPU_LOST	0x11

#define STR_(x)		#x
#define STR(x)		STR_(x)

/*
 * The guest, in real mode at XG_CODE: ESI holds its id (set by the test),
 * EBP counts the OUTs.  CR4.OSFXSR is set by the test.
 */
extern const uint8_t stress_guest[], stress_guest_end[];
asm(".pushsection .rodata\n"
    ".globl stress_guest, stress_guest_end\n"
    "stress_guest:\n"
    ".code16\n"
    "	movd %esi, %xmm0\n"
    "	pshufd $0, %xmm0, %xmm0\n"
    "1:	mov $" STR(IN_KERNEL) ", %di\n"
    "2:	xor %eax, %eax\n"
    "	cpuid\n"
    "	movd %xmm0, %eax\n"
    "	cmp %esi, %eax\n"
    "	jne 3f\n"
    "	psrldq $12, %xmm0\n"		/* the top lane too */
    "	movd %xmm0, %eax\n"
    "	movd %esi, %xmm0\n"
    "	pshufd $0, %xmm0, %xmm0\n"
    "	cmp %esi, %eax\n"
    "	jne 3f\n"
    "	dec %di\n"
    "	jnz 2b\n"
    "	inc %ebp\n"
    "	mov %ebp, %eax\n"
    "	out %eax, $" STR(PORT_COUNT) "\n"
    "	jmp 1b\n"
    "3:	out %eax, $" STR(PORT_FPU_LOST) "\n"
    "	hlt\n"
    ".code64\n"
    "stress_guest_end:\n"
    ".popsection\n");

#define X86_CR4_OSFXSR	(1ULL << 9)

struct stress_vcpu {
	struct xg_vcpu vcpu;
	uint32_t id;
	int cpu;		/* pinned there, or -1 */
	/* What went wrong first, for the test's thread. */
	char error[200];
	unsigned long runs;
};

struct stress_noise {
	struct stress_vcpu *v;
	int cpu;
	atomic_bool stop;
	unsigned long kicks, maps;
};

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static bool stress_check_regs(struct stress_vcpu *v, uint32_t count)
{
	uint64_t end = XG_CODE + (stress_guest_end - stress_guest);
	struct kvm_regs regs;
	int r;

	r = xg_get_regs(&v->vcpu, &regs);
	if (r) {
		snprintf(v->error, sizeof(v->error), "KVM_GET_REGS: %s",
			 strerror(-r));
		return false;
	}
	if (regs.rip < XG_CODE || regs.rip >= end ||
	    (uint32_t)regs.rsi != v->id || (uint32_t)regs.rbp != count) {
		snprintf(v->error, sizeof(v->error),
			 "after OUT %u: rip %#llx rsi %#llx rbp %#llx rsp %#llx",
			 count, regs.rip, regs.rsi, regs.rbp, regs.rsp);
		return false;
	}
	return true;
}

static void *stress_vcpu_fn(void *arg)
{
	struct stress_vcpu *v = arg;
	struct kvm_run *run = v->vcpu.run;
	char buf[160];
	uint32_t count = 0;
	int r;

	pin(v->cpu);
	while (count < OUTS) {
		r = xg_run(&v->vcpu);
		v->runs++;
		if (r == -EINTR)
			continue;
		if (r) {
			snprintf(v->error, sizeof(v->error), "KVM_RUN: %s",
				 strerror(-r));
			break;
		}
		if (run->exit_reason == KVM_EXIT_INTR)
			continue;
		if (run->exit_reason != KVM_EXIT_IO) {
			snprintf(v->error, sizeof(v->error), "exit %s",
				 xg_exit_str(&v->vcpu, buf, sizeof(buf)));
			break;
		}
		if (run->io.port == PORT_FPU_LOST) {
			snprintf(v->error, sizeof(v->error),
				 "the guest's XMM0 held %#x, not its id %#x",
				 (uint32_t)xg_io_value(&v->vcpu), v->id);
			break;
		}
		if (run->io.port != PORT_COUNT ||
		    (uint32_t)xg_io_value(&v->vcpu) != count + 1) {
			snprintf(v->error, sizeof(v->error),
				 "OUT %#llx to port %#x, want %#x to %#x",
				 (unsigned long long)xg_io_value(&v->vcpu),
				 run->io.port, count + 1, PORT_COUNT);
			break;
		}
		count++;
		if (!stress_check_regs(v, count))
			break;
	}
	return NULL;
}

/* Other FPU contents, page-table churn and kicks, until told to stop. */
static void *stress_noise_fn(void *arg)
{
	struct stress_noise *n = arg;
	uint32_t noise = 0x5a5a5a5a;
	int i;

	pin(n->cpu);
	while (!atomic_load(&n->stop)) {
		void *p;

		asm volatile("movd %0, %%xmm0\n\t"
			     "pshufd $0, %%xmm0, %%xmm0" :: "r"(noise) : "xmm0");
		p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p != MAP_FAILED) {
			munmap(p, 1 << 16);
			n->maps++;
		}
		if (!xg_is_kvm()) {
			for (i = 0; i < NR_VCPUS; i++)
				ioctl(n->v[i].vcpu.fd, AXVCPU_KICK, 0);
			n->kicks++;
		}
		noise = noise * 1103515245 + 12345;
		if (!(noise & 0x70))
			sched_yield();
	}
	return NULL;
}

static void stress_round(struct __test_metadata *_metadata, int ncpus,
			 int round)
{
	struct stress_vcpu v[NR_VCPUS];
	struct stress_noise noise = { .v = v };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	pthread_t tid[NR_VCPUS], ntid;
	struct xg_vm vm;
	int i, r;

	r = xg_vm_create(&vm, 2 << 20);
	ASSERT_EQ(0, r) TH_LOG("VM: %s", strerror(-r));
	xg_load(&vm, XG_CODE, stress_guest, stress_guest_end - stress_guest);
	memset(v, 0, sizeof(v));
	for (i = 0; i < NR_VCPUS; i++) {
		v[i].id = 0x1000 * (round + 1) + 0x11 * (i + 1);
		v[i].cpu = ncpus == 1 ? 0 : i % ncpus;
		r = xg_vcpu_create(&vm, i, &v[i].vcpu);
		ASSERT_EQ(0, r) TH_LOG("vCPU %d: %s", i, strerror(-r));
		ASSERT_EQ(0, xg_enter_real_mode(&v[i].vcpu, XG_CODE));
		ASSERT_EQ(0, xg_get_sregs(&v[i].vcpu, &sregs));
		sregs.cr4 |= X86_CR4_OSFXSR;
		ASSERT_EQ(0, xg_set_sregs(&v[i].vcpu, &sregs));
		ASSERT_EQ(0, xg_get_regs(&v[i].vcpu, &regs));
		regs.rsi = v[i].id;
		ASSERT_EQ(0, xg_set_regs(&v[i].vcpu, &regs));
	}
	if (xg_is_kvm())
		for (i = 0; i < NR_VCPUS; i++)
			xg_kvm_set_supported_cpuid(vm.sys_fd, &v[i].vcpu);

	noise.cpu = 0;
	ASSERT_EQ(0, pthread_create(&ntid, NULL, stress_noise_fn, &noise));
	for (i = 0; i < NR_VCPUS; i++)
		ASSERT_EQ(0, pthread_create(&tid[i], NULL, stress_vcpu_fn,
					    &v[i]));
	for (i = 0; i < NR_VCPUS; i++)
		pthread_join(tid[i], NULL);
	atomic_store(&noise.stop, true);
	pthread_join(ntid, NULL);

	for (i = 0; i < NR_VCPUS; i++) {
		EXPECT_STREQ("", v[i].error)
			TH_LOG("round %d, vCPU %d (id %#x, %lu runs)", round,
			       i, v[i].id, v[i].runs);
		xg_vcpu_destroy(&v[i].vcpu);
	}
	xg_vm_destroy(&vm);
	if (round == ROUNDS - 1)
		TH_LOG("last round: %lu kicks, %lu maps by the noise thread",
		       noise.kicks, noise.maps);
}

static int online_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	return CPU_COUNT(&set);
}

/* Bochs runs a round in seconds, not the harness's default 30 for all. */
#define STRESS_TIMEOUT	300

FIXTURE(stress) {};
FIXTURE_SETUP(stress) {}
FIXTURE_TEARDOWN(stress) {}

TEST_F_TIMEOUT(stress, one_cpu, STRESS_TIMEOUT)
{
	int round;

	for (round = 0; round < ROUNDS && !!_metadata->passed; round++)
		stress_round(_metadata, 1, round);
}

TEST_F_TIMEOUT(stress, two_cpus, STRESS_TIMEOUT)
{
	int round;

	if (online_cpus() < 2)
		SKIP(return, "one CPU only");
	for (round = 0; round < ROUNDS && !!_metadata->passed; round++)
		stress_round(_metadata, 2, round);
}

TEST_HARNESS_MAIN
