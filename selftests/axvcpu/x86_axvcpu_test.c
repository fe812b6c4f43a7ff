// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu's own ABI (uapi/linux/axvcpu.h) with real x86 guests: the halt
 * policies, AXVCPU_GET_STATE, AXVCPU_INJECT and AXVCPU_KICK from another
 * thread while the vCPU runs or sleeps, phys_cpu_set, a guest state the
 * CPU refuses (INVALID and AXVCPU_RESET), last_exit_reason, and a memory
 * slot deleted under a guest.
 *
 * The guests are hand-assembled machine code (each byte array carries its
 * assembly, AT&T syntax, with the offsets) in slot 0 of a VM, see
 * x86_guest.h.  axvcpu only: KVM has none of these ioctls.  Runs as root
 * (the fail_step module parameter) with axvcpu loaded; AXVCPU_DEV names
 * the device (default /dev/axvcpu).
 *
 * A KVM_RUN that must block or spin runs in a second thread, the "runner";
 * the test's thread watches it and wakes it.  Every wait is bounded: a
 * runner still in KVM_RUN when a test ends is interrupted with SIGUSR1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "axvcpu_harness.h"
#include "x86_guest.h"
#include "x86_guest_harness.h"

#define MEM_SIZE	XG_SZ_2M	/* slot 0 of the fixture's VM */
#define PORT		0x10		/* the guests' output port */
#define PORT2		0x11		/* the interrupt handler's */
#define VECTOR		0x20		/* the interrupt the tests inject */

/* A request that must not wait answers within this. */
#define PROMPT_MS	1000
/* What a vCPU must reach (a state, an exit) within this. */
#define WAIT_MS		10000
/* How long a vCPU must stay as it is (blocked, running) to be so. */
#define STAY_MS		300

/* --- checks ---------------------------------------------------------------- */

static void get_state(struct __test_metadata *_metadata, struct xg_vcpu *v,
		      struct axvcpu_state *st)
{
	int ret = axvcpu_get_state(v->fd, st);

	ASSERT_EQ(0, ret) TH_LOG("AXVCPU_GET_STATE: %s", strerror(-ret));
}

static int inject(struct xg_vcpu *v, __u32 vector, __u32 flags)
{
	struct axvcpu_irq irq = { .vector = vector, .flags = flags };

	return do_ioctl_ptr(v->fd, AXVCPU_INJECT, &irq);
}

static int kick(struct xg_vcpu *v)
{
	return do_ioctl(v->fd, AXVCPU_KICK, 0);
}

/* Poll AXVCPU_GET_STATE until @state, for at most @timeout_ms. */
static int wait_for_state(struct xg_vcpu *v, __u32 state, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct axvcpu_state st;

	do {
		if (!axvcpu_get_state(v->fd, &st) && st.state == state)
			return 0;
		sleep_ms(1);
	} while (now_ms() < deadline);
	return -ETIMEDOUT;
}

/* --- exits ------------------------------------------------------------------- */

/* The exit in @v's kvm_run must be an OUT of @size bytes to @port. */
static uint64_t expect_out(struct __test_metadata *_metadata,
			   struct xg_vcpu *v, uint8_t size, uint16_t port)
{
	struct kvm_run *run = v->run;
	char buf[160];

	xg_exit_str(v, buf, sizeof(buf));
	ASSERT_EQ((uint32_t)KVM_EXIT_IO, run->exit_reason) TH_LOG("%s", buf);
	ASSERT_EQ(KVM_EXIT_IO_OUT, run->io.direction) TH_LOG("%s", buf);
	ASSERT_EQ(size, run->io.size) TH_LOG("%s", buf);
	ASSERT_EQ(port, run->io.port) TH_LOG("%s", buf);
	ASSERT_EQ(1U, run->io.count) TH_LOG("%s", buf);
	return xg_io_value(v);
}

/* KVM_RUN, which must exit with an OUT: returns its value. */
static uint64_t run_expect_out(struct __test_metadata *_metadata,
			       struct xg_vcpu *v, uint8_t size, uint16_t port)
{
	run_expect(_metadata, v, KVM_EXIT_IO);
	return expect_out(_metadata, v, size, port);
}

/* The exit in @v's kvm_run must be MMIO of @len bytes at @gpa. */
static uint8_t *expect_mmio(struct __test_metadata *_metadata,
			    struct xg_vcpu *v, bool is_write, uint64_t gpa,
			    uint32_t len)
{
	struct kvm_run *run = v->run;
	char buf[160];

	xg_exit_str(v, buf, sizeof(buf));
	ASSERT_EQ((uint32_t)KVM_EXIT_MMIO, run->exit_reason) TH_LOG("%s", buf);
	ASSERT_EQ(is_write, run->mmio.is_write) TH_LOG("%s", buf);
	ASSERT_EQ(gpa, run->mmio.phys_addr) TH_LOG("%s", buf);
	ASSERT_EQ(len, run->mmio.len) TH_LOG("%s", buf);
	return run->mmio.data;
}

/* Writes 0x5a to PORT, then halts: the same bytes in 16 and 64-bit mode. */
static const uint8_t hello_code[] = {
	0xb0, 0x5a,			/* 00: mov $0x5a, %al */
	0xe6, 0x10,			/* 02: out %al, $0x10 */
	0xf4,				/* 04: hlt */
};

/*
 * Real mode, at XG_CODE2: the handler of VECTOR.  It writes the IP the
 * interrupt will return to (the word above the saved AX and BP) to PORT2,
 * so the test knows where the guest took the interrupt.
 */
static const uint8_t irq_handler_code[] = {
	0x50,				/* 00: push %ax */
	0x55,				/* 01: push %bp */
	0x89, 0xe5,			/* 02: mov %sp, %bp */
	0x8b, 0x46, 0x04,		/* 04: mov 0x4(%bp), %ax */
	0xe7, 0x11,			/* 07: out %ax, $0x11 */
	0x5d,				/* 09: pop %bp */
	0x58,				/* 0a: pop %ax */
	0xcf,				/* 0b: iret */
};

/* The handler at XG_CODE2 and its IVT entry (offset, then segment 0). */
static void install_irq_handler(struct xg_vm *vm)
{
	xg_le_put(xg_gpa(vm, VECTOR * 4), 2, XG_CODE2);
	xg_le_put(xg_gpa(vm, VECTOR * 4 + 2), 2, 0);
	xg_load(vm, XG_CODE2, irq_handler_code, sizeof(irq_handler_code));
}

/* The guest's counter at XG_DATA, which a spinning guest increments. */
static uint32_t guest_counter(struct xg_vm *vm)
{
	return __atomic_load_n((uint32_t *)xg_gpa(vm, XG_DATA),
			       __ATOMIC_RELAXED);
}

/* Wait until the guest's counter has moved past @from: true if it did. */
static bool counter_moves(struct xg_vm *vm, uint32_t from, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	do {
		if (guest_counter(vm) != from)
			return true;
		sleep_ms(1);
	} while (now_ms() < deadline);
	return false;
}

/* --- the runner: KVM_RUN in another thread --------------------------------- */

struct runner {
	struct xg_vcpu *v;
	int cpu;		/* the thread runs there; -1: anywhere */
	pthread_t tid;
	bool started;
	bool joined;
	int pin_error;		/* -errno of the thread's sched_setaffinity */
	int ret;		/* KVM_RUN: 0 or -errno */
	int done;
	long long start_ms;
	long long end_ms;
};

static void *runner_fn(void *arg)
{
	struct runner *r = arg;
	cpu_set_t set;

	if (r->cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(r->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			r->pin_error = -errno;
	}
	r->start_ms = now_ms();
	if (!r->pin_error)
		r->ret = xg_run(r->v);
	r->end_ms = now_ms();
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool runner_done(struct runner *r)
{
	return __atomic_load_n(&r->done, __ATOMIC_ACQUIRE);
}

/* Start one KVM_RUN of @v in a thread on @cpu (-1: anywhere). */
static void runner_start(struct __test_metadata *_metadata, struct runner *r,
			 struct xg_vcpu *v, int cpu)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->v = v;
	r->cpu = cpu;
	ret = pthread_create(&r->tid, NULL, runner_fn, r);
	ASSERT_EQ(0, ret) TH_LOG("pthread_create: %s", strerror(ret));
	r->started = true;
}

/* Wait (at most @timeout_ms) for the runner's KVM_RUN to return. */
static bool runner_wait(struct runner *r, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	while (!runner_done(r) && now_ms() < deadline)
		sleep_ms(1);
	if (!runner_done(r))
		return false;
	if (r->started && !r->joined) {
		pthread_join(r->tid, NULL);
		r->joined = true;
	}
	return true;
}

/* The runner's KVM_RUN must return within WAIT_MS, with @ret. */
static void runner_expect(struct __test_metadata *_metadata,
			  struct runner *r, int ret)
{
	char buf[160];

	ASSERT_TRUE(runner_wait(r, WAIT_MS))
		TH_LOG("KVM_RUN still running after %d ms", WAIT_MS);
	ASSERT_EQ(0, r->pin_error)
		TH_LOG("the runner's affinity: %s", strerror(-r->pin_error));
	ASSERT_EQ(ret, r->ret)
		TH_LOG("KVM_RUN: %s; %s", strerror(-r->ret),
		       xg_exit_str(r->v, buf, sizeof(buf)));
}

/* For teardowns: interrupt a KVM_RUN still under way, then join. */
static void runner_stop(struct runner *r)
{
	int tries;

	if (!r->started || r->joined)
		return;
	for (tries = 0; tries < 1000 && !runner_done(r); tries++) {
		pthread_kill(r->tid, SIGUSR1);
		sleep_ms(10);
	}
	pthread_join(r->tid, NULL);
	r->joined = true;
}

static volatile sig_atomic_t sigusr1_count;

static void on_sigusr1(int sig)
{
	sigusr1_count++;
}

/* --- CPUs ------------------------------------------------------------------- */

static int set_affinity(const cpu_set_t *set)
{
	return sched_setaffinity(0, sizeof(*set), set) ? -errno : 0;
}

/* The calling thread's allowed CPUs, for messages. */
static const char *affinity_str(char *buf, size_t size)
{
	cpu_set_t set;
	size_t len = 0;
	int cpu;

	buf[0] = 0;
	if (sched_getaffinity(0, sizeof(set), &set))
		return "?";
	for (cpu = 0; cpu < CPU_SETSIZE && len + 8 < size; cpu++)
		if (CPU_ISSET(cpu, &set))
			len += snprintf(buf + len, size - len, "%s%d",
					len ? "," : "", cpu);
	return buf;
}

/* The first CPU the process may use: the runners' CPU. */
static int first_cpu(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set))
			return cpu;
	return 0;
}

/* ======================================================================
 * The fixture: a VM with 2 MiB at guest physical 0 and vCPU 0 (CREATED).
 */

FIXTURE(axv) {
	struct xg_vm vm;
	struct xg_vcpu vcpu;
	struct runner runner;
	int cpu;		/* where the runners run */
};

FIXTURE_SETUP(axv)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };	/* no SA_RESTART */
	struct axvcpu_state st;
	int ret;

	self->vcpu.fd = -1;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	sigusr1_count = 0;
	self->cpu = first_cpu();

	ret = xg_vm_create(&self->vm, MEM_SIZE);
	ASSERT_EQ(0, ret)
		TH_LOG("a VM on %s: %s", xg_dev_path(), strerror(-ret));
	ret = xg_vcpu_create(&self->vm, 0, &self->vcpu);
	ASSERT_EQ(0, ret) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-ret));
	get_state(_metadata, &self->vcpu, &st);
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);
	ASSERT_EQ((__u32)KVM_EXIT_UNKNOWN, st.last_exit_reason);
}

FIXTURE_TEARDOWN(axv)
{
	char buf[64];

	runner_stop(&self->runner);
	/* Leave no injected failure armed for the next test. */
	if (!param_read("fail_step", buf, sizeof(buf)) && !param_is_unset(buf))
		param_write("fail_step", "none");
	xg_vcpu_destroy(&self->vcpu);
	xg_vm_destroy(&self->vm);
}

/* ======================================================================
 * 1. Halt policies
 *
 * With BLOCK, a HLT puts the vCPU to sleep inside KVM_RUN as BLOCKED until
 * an injected interrupt, a kick or a signal; with EXIT it is KVM_EXIT_HLT.
 */

/* Halts with interrupts on; after each wake-up, writes 1 to PORT. */
static const uint8_t halt_code[] = {
	0xfb,				/* 00: sti */
	0xf4,				/* 01: 1: hlt */
	0xb0, 0x01,			/* 02: mov $0x1, %al */
	0xe6, 0x10,			/* 04: out %al, $0x10 */
	0xeb, 0xf9,			/* 06: jmp 1b */
};

#define HALT_RIP_AFTER_HLT	(XG_CODE + 0x02)

/* The runner's KVM_RUN goes to sleep: BLOCKED, on @cpu, @blocks times. */
static void expect_blocked(struct __test_metadata *_metadata,
			   struct runner *r, int cpu, __u64 blocks)
{
	struct axvcpu_state st;

	ASSERT_EQ(0, wait_for_state(r->v, AXVCPU_STATE_BLOCKED, WAIT_MS))
		TH_LOG("not BLOCKED after %d ms", WAIT_MS);
	/* And stays so: nothing wakes it by itself. */
	sleep_ms(STAY_MS);
	ASSERT_FALSE(runner_done(r));
	get_state(_metadata, r->v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_BLOCKED);
	ASSERT_EQ(cpu, st.bound_cpu);
	ASSERT_EQ((__u32)AXVCPU_HALT_BLOCK, st.halt_policy);
	ASSERT_EQ(blocks, st.transitions[AXVCPU_STATE_BLOCKED]);
}

TEST_F(axv, halt_block)
{
	struct xg_vcpu *v = &self->vcpu;
	struct axvcpu_state st;
	struct kvm_regs regs;
	int cpu = self->cpu;

	install_irq_handler(&self->vm);
	real_mode_guest(_metadata, &self->vm, v, halt_code, sizeof(halt_code));
	/* Set up before the first KVM_RUN, whose walk would pick EXIT. */
	ASSERT_EQ(0, axvcpu_setup(v->fd, AXVCPU_HALT_BLOCK, 0, 0));
	ASSERT_EQ(0, axvcpu_bind(v->fd, cpu, 0));
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_EQ((__u32)AXVCPU_HALT_BLOCK, st.halt_policy);
	/* SETUP without an entry kept the registers set in CREATED. */
	get_regs(_metadata, v, &regs);
	ASSERT_EQ(XG_CODE, regs.rip);

	/* An injected interrupt wakes it into the handler, after the HLT. */
	runner_start(_metadata, &self->runner, v, cpu);
	expect_blocked(_metadata, &self->runner, cpu, 1);
	ASSERT_EQ(0, inject(v, VECTOR, 0));
	runner_expect(_metadata, &self->runner, 0);
	ASSERT_EQ(HALT_RIP_AFTER_HLT, expect_out(_metadata, v, 2, PORT2));
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_EQ(cpu, st.bound_cpu);
	ASSERT_EQ((__u32)KVM_EXIT_IO, st.last_exit_reason);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 3, 2, 1);
	/* IRET: on after the HLT. */
	runner_start(_metadata, &self->runner, v, cpu);
	runner_expect(_metadata, &self->runner, 0);
	ASSERT_EQ(1U, expect_out(_metadata, v, 1, PORT));

	/* A kick wakes it, and the guest goes on after its HLT. */
	runner_start(_metadata, &self->runner, v, cpu);
	expect_blocked(_metadata, &self->runner, cpu, 2);
	ASSERT_EQ(0, kick(v));
	runner_expect(_metadata, &self->runner, 0);
	ASSERT_EQ(1U, expect_out(_metadata, v, 1, PORT));
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 6, 5, 2);

	/* A signal ends KVM_RUN: EINTR, KVM_EXIT_INTR, READY. */
	runner_start(_metadata, &self->runner, v, cpu);
	expect_blocked(_metadata, &self->runner, cpu, 3);
	ASSERT_EQ(0, pthread_kill(self->runner.tid, SIGUSR1));
	runner_expect(_metadata, &self->runner, -EINTR);
	ASSERT_EQ((uint32_t)KVM_EXIT_INTR, v->run->exit_reason);
	ASSERT_EQ(1, sigusr1_count);
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_EQ(cpu, st.bound_cpu);
	ASSERT_EQ((__u32)KVM_EXIT_INTR, st.last_exit_reason);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 8, 7, 3);
	get_regs(_metadata, v, &regs);
	ASSERT_EQ(HALT_RIP_AFTER_HLT, regs.rip);
	/* The HLT is behind it: the next KVM_RUN goes on. */
	runner_start(_metadata, &self->runner, v, cpu);
	runner_expect(_metadata, &self->runner, 0);
	ASSERT_EQ(1U, expect_out(_metadata, v, 1, PORT));
	get_state(_metadata, v, &st);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 9, 8, 3);
	ASSERT_EQ(0ULL, st.refused);
}

/* CLI; HLT in a loop: no interrupt can end this halt. */
static const uint8_t cli_halt_code[] = {
	0xfa,				/* 00: cli */
	0xf4,				/* 01: 1: hlt */
	0xeb, 0xfd,			/* 02: jmp 1b */
};

/*
 * Halted with interrupts off and an interrupt queued: the vCPU sleeps,
 * instead of waking to halt again at once; a kick still wakes it.
 */
TEST_F(axv, halt_block_interrupts_off)
{
	struct xg_vcpu *v = &self->vcpu;
	struct axvcpu_state st;
	int cpu = self->cpu;

	install_irq_handler(&self->vm);
	real_mode_guest(_metadata, &self->vm, v, cli_halt_code,
			sizeof(cli_halt_code));
	ASSERT_EQ(0, axvcpu_setup(v->fd, AXVCPU_HALT_BLOCK, 0, 0));
	ASSERT_EQ(0, axvcpu_bind(v->fd, cpu, 0));
	ASSERT_EQ(0, inject(v, VECTOR, 0));

	runner_start(_metadata, &self->runner, v, cpu);
	expect_blocked(_metadata, &self->runner, cpu, 1);
	get_state(_metadata, v, &st);
	ASSERT_EQ(1ULL, st.transitions[AXVCPU_STATE_RUNNING]);
	ASSERT_EQ(0, kick(v));
	expect_blocked(_metadata, &self->runner, cpu, 2);
	ASSERT_EQ(0, pthread_kill(self->runner.tid, SIGUSR1));
	runner_expect(_metadata, &self->runner, -EINTR);
}

/* With policy EXIT the same HLT is KVM_EXIT_HLT, and nothing blocks. */
static void halt_exits(struct __test_metadata *_metadata, struct xg_vcpu *v,
		       struct axvcpu_state *st)
{
	struct kvm_regs regs;

	run_expect(_metadata, v, KVM_EXIT_HLT);
	get_regs(_metadata, v, &regs);
	ASSERT_EQ(HALT_RIP_AFTER_HLT, regs.rip);
	get_state(_metadata, v, st);
	ASSERT_STATE(*st, AXVCPU_STATE_READY);
	ASSERT_EQ((__u32)AXVCPU_HALT_EXIT, st->halt_policy);
	ASSERT_EQ((__u32)KVM_EXIT_HLT, st->last_exit_reason);
	ASSERT_EQ(0ULL, st->transitions[AXVCPU_STATE_BLOCKED]);
	/* KVM_RUN goes on after it. */
	ASSERT_EQ(1U, run_expect_out(_metadata, v, 1, PORT));
	run_expect(_metadata, v, KVM_EXIT_HLT);
}

TEST_F(axv, halt_exit)
{
	struct xg_vcpu *v = &self->vcpu;
	struct axvcpu_state st;

	real_mode_guest(_metadata, &self->vm, v, halt_code, sizeof(halt_code));
	ASSERT_EQ(0, axvcpu_setup(v->fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(0, axvcpu_bind(v->fd, AXVCPU_CPU_ANY, 0));
	halt_exits(_metadata, v, &st);
	get_state(_metadata, v, &st);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 4, 3, 0);
}

/* KVM_RUN's walk from CREATED sets up with EXIT, as KVM behaves. */
TEST_F(axv, halt_exit_by_walk)
{
	struct xg_vcpu *v = &self->vcpu;
	struct axvcpu_state st;

	real_mode_guest(_metadata, &self->vm, v, halt_code, sizeof(halt_code));
	halt_exits(_metadata, v, &st);
	get_state(_metadata, v, &st);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 4, 3, 0);
}

/* ======================================================================
 * 2. AXVCPU_GET_STATE while a guest runs, and requests refused meanwhile
 */

/* Counts at XG_DATA forever. */
static const uint8_t spin_code[] = {
	0x66, 0xff, 0x06, 0x00, 0x30,	/* 00: 1: incl 0x3000 */
	0xeb, 0xf9,			/* 05: jmp 1b */
};

/* Start the runner and wait until the guest counts at XG_DATA. */
static void start_spinning(struct __test_metadata *_metadata,
			   FIXTURE_DATA(axv) *self)
{
	runner_start(_metadata, &self->runner, &self->vcpu, self->cpu);
	ASSERT_TRUE(counter_moves(&self->vm, 0, WAIT_MS))
		TH_LOG("the guest did not count within %d ms", WAIT_MS);
}

/* A request that must fail at once with EBADFD. */
#define ASSERT_REFUSED_AT_ONCE(call)					\
	do {								\
		long long __t0 = now_ms();				\
		int __ret = (call);					\
		long long __ms = now_ms() - __t0;			\
									\
		ASSERT_EQ(-EBADFD, __ret) TH_LOG("%s", #call);		\
		ASSERT_GT(PROMPT_MS, __ms)				\
			TH_LOG("%s took %lld ms", #call, __ms);		\
	} while (0)

TEST_F(axv, get_state_while_running)
{
	struct xg_vcpu *v = &self->vcpu;
	struct axvcpu_state st;
	struct kvm_regs regs;
	long long t0, ms;
	uint32_t count;

	real_mode_guest(_metadata, &self->vm, v, spin_code, sizeof(spin_code));
	start_spinning(_metadata, self);

	/* GET_STATE does not wait for KVM_RUN. */
	t0 = now_ms();
	get_state(_metadata, v, &st);
	ms = now_ms() - t0;
	ASSERT_GT(PROMPT_MS, ms) TH_LOG("AXVCPU_GET_STATE took %lld ms", ms);
	ASSERT_STATE(st, AXVCPU_STATE_RUNNING);
	ASSERT_EQ(self->cpu, st.bound_cpu);
	ASSERT_EQ(0U, st.vcpu_id);
	ASSERT_EQ((__u32)AXVCPU_HALT_EXIT, st.halt_policy);	/* by the walk */
	ASSERT_TRANSITIONS(st, 0, 1, 1, 1, 1, 0);

	/* State requests fail at once: the vCPU is RUNNING. */
	ASSERT_REFUSED_AT_ONCE(axvcpu_bind(v->fd, AXVCPU_CPU_ANY, 0));
	ASSERT_REFUSED_AT_ONCE(axvcpu_unbind(v->fd));
	ASSERT_REFUSED_AT_ONCE(axvcpu_setup(v->fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_REFUSED_AT_ONCE(axvcpu_reset(v->fd));
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_RUNNING);
	ASSERT_EQ(self->cpu, st.bound_cpu);
	ASSERT_EQ(4ULL, st.refused);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 1, 1, 0);
	/* None of it stopped the guest. */
	count = guest_counter(&self->vm);
	ASSERT_TRUE(counter_moves(&self->vm, count, WAIT_MS));
	ASSERT_FALSE(runner_done(&self->runner));

	/* A signal ends KVM_RUN. */
	ASSERT_EQ(0, pthread_kill(self->runner.tid, SIGUSR1));
	runner_expect(_metadata, &self->runner, -EINTR);
	ASSERT_EQ((uint32_t)KVM_EXIT_INTR, v->run->exit_reason);
	ASSERT_EQ(1, sigusr1_count);
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_EQ(self->cpu, st.bound_cpu);
	ASSERT_EQ((__u32)KVM_EXIT_INTR, st.last_exit_reason);
	ASSERT_EQ(4ULL, st.refused);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 2, 1, 0);
	get_regs(_metadata, v, &regs);
	ASSERT_TRUE(regs.rip == XG_CODE || regs.rip == XG_CODE + 0x05)
		TH_LOG("RIP 0x%llx", (unsigned long long)regs.rip);
}

/* ======================================================================
 * 3. AXVCPU_INJECT and AXVCPU_KICK
 */

/* Interrupts on, counts at XG_DATA forever. */
static const uint8_t sti_spin_code[] = {
	0xfb,				/* 00: sti */
	0x66, 0xff, 0x06, 0x00, 0x30,	/* 01: 1: incl 0x3000 */
	0xeb, 0xf9,			/* 06: jmp 1b */
};

TEST_F(axv, inject_while_running)
{
	struct xg_vcpu *v = &self->vcpu;
	struct axvcpu_state st;
	uint64_t ip;
	uint32_t count;

	install_irq_handler(&self->vm);
	real_mode_guest(_metadata, &self->vm, v, sti_spin_code,
			sizeof(sti_spin_code));
	start_spinning(_metadata, self);

	/* The vCPU leaves guest mode, takes the interrupt in the loop. */
	ASSERT_EQ(0, inject(v, VECTOR, 0));
	runner_expect(_metadata, &self->runner, 0);
	ip = expect_out(_metadata, v, 2, PORT2);
	ASSERT_TRUE(ip == XG_CODE + 0x01 || ip == XG_CODE + 0x06)
		TH_LOG("interrupted at 0x%llx", (unsigned long long)ip);
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_EQ((__u32)KVM_EXIT_IO, st.last_exit_reason);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 2, 1, 0);

	/*
	 * A kick makes it leave guest mode once: KVM_RUN goes on, the guest
	 * (back from its handler) still counts.
	 */
	count = guest_counter(&self->vm);
	runner_start(_metadata, &self->runner, v, self->cpu);
	ASSERT_TRUE(counter_moves(&self->vm, count, WAIT_MS));
	ASSERT_EQ(0, kick(v));
	sleep_ms(STAY_MS);
	ASSERT_FALSE(runner_done(&self->runner));
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_RUNNING);
	count = guest_counter(&self->vm);
	ASSERT_TRUE(counter_moves(&self->vm, count, WAIT_MS));

	ASSERT_EQ(0, pthread_kill(self->runner.tid, SIGUSR1));
	runner_expect(_metadata, &self->runner, -EINTR);
	ASSERT_EQ((uint32_t)KVM_EXIT_INTR, v->run->exit_reason);
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 3, 2, 0);
}

/* Interrupts on for one instruction after STI, then a HLT. */
static const uint8_t sti_nop_hlt_code[] = {
	0xfb,				/* 00: sti */
	0x90,				/* 01: nop */
	0xf4,				/* 02: hlt */
};

/*
 * Injected while READY: queued, and taken on the next KVM_RUN as soon as
 * the guest can (after STI and its shadow, before the HLT).
 */
TEST_F(axv, inject_while_ready)
{
	struct xg_vcpu *v = &self->vcpu;
	struct axvcpu_state st;

	install_irq_handler(&self->vm);
	real_mode_guest(_metadata, &self->vm, v, sti_nop_hlt_code,
			sizeof(sti_nop_hlt_code));
	ASSERT_EQ(0, axvcpu_setup(v->fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(0, axvcpu_bind(v->fd, AXVCPU_CPU_ANY, 0));
	ASSERT_EQ(0, inject(v, VECTOR, 0));
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_READY);

	ASSERT_EQ(XG_CODE + 0x02, run_expect_out(_metadata, v, 2, PORT2));
	run_expect(_metadata, v, KVM_EXIT_HLT);
	get_state(_metadata, v, &st);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 3, 2, 0);
}

TEST_F(axv, inject_errors)
{
	struct xg_vcpu *v = &self->vcpu;
	struct axvcpu_state st;

	ASSERT_EQ(-EINVAL, inject(v, AXVCPU_NR_IRQS, 0));
	ASSERT_EQ(-EINVAL, inject(v, 0xffffffff, 0));
	ASSERT_EQ(-EINVAL, inject(v, VECTOR, 1));
	ASSERT_EQ(-EINVAL, inject(v, VECTOR, 0x80000000));
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);
	ASSERT_EQ(0ULL, st.refused);
	ASSERT_TRANSITIONS(st, 0, 1, 0, 0, 0, 0);
}

/*
 * In INVALID (a failed SETUP step, with fail_step): INJECT and KICK fail
 * with EBADFD, a bad argument still with EINVAL.  AXVCPU_RESET drops an
 * interrupt that was queued before.
 */
TEST_F(axv, inject_kick_invalid)
{
	struct xg_vcpu *v = &self->vcpu;
	struct axvcpu_state st;

	install_irq_handler(&self->vm);
	ASSERT_EQ(0, inject(v, VECTOR, 0));	/* queued in CREATED */
	ASSERT_EQ(0, kick(v));

	ASSERT_EQ(0, param_write("fail_step", "setup"));
	ASSERT_EQ(-EIO, axvcpu_setup(v->fd, AXVCPU_HALT_EXIT, 0, 0));
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_INVALID);

	ASSERT_EQ(-EBADFD, inject(v, VECTOR, 0));
	ASSERT_EQ(-EBADFD, inject(v, 0, 0));
	ASSERT_EQ(-EBADFD, kick(v));
	ASSERT_EQ(-EINVAL, inject(v, AXVCPU_NR_IRQS, 0));
	ASSERT_EQ(-EINVAL, inject(v, VECTOR, 1));
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_INVALID);
	ASSERT_EQ(-1, st.bound_cpu);
	ASSERT_EQ(0ULL, st.refused);
	ASSERT_TRANSITIONS(st, 1, 1, 0, 0, 0, 0);

	/* Reset: no interrupt pending, the guest halts without it. */
	ASSERT_EQ(0, axvcpu_reset(v->fd));
	real_mode_guest(_metadata, &self->vm, v, sti_nop_hlt_code,
			sizeof(sti_nop_hlt_code));
	run_expect(_metadata, v, KVM_EXIT_HLT);
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_TRANSITIONS(st, 1, 2, 1, 2, 1, 0);
	ASSERT_EQ(0, inject(v, VECTOR, 0));
	ASSERT_EQ(0, kick(v));
}

/* ======================================================================
 * 4. phys_cpu_set: KVM_RUN narrows its thread's affinity to the set
 *
 * The vCPU is placed on {0} and its thread runs on CPU1: the other way
 * round (placed on {1}, the thread on CPU0) hung the suite later, in
 * KVM's run, under QEMU 7.2's TCG once axvcpu_test had run (a CPU stopped
 * answering IPIs, its clock frozen).
 */

#define PLACED_CPU	0
#define OTHER_CPU	1
#define CONFINED_RUNS	6

/* The calling thread's affinity must be exactly {@cpu}. */
static void expect_affinity_one(struct __test_metadata *_metadata, int cpu)
{
	cpu_set_t set;
	char buf[64];

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(set), &set));
	ASSERT_EQ(1, CPU_COUNT(&set)) TH_LOG("affinity {%s}",
					     affinity_str(buf, sizeof(buf)));
	ASSERT_TRUE(CPU_ISSET(cpu, &set)) TH_LOG("affinity {%s}",
						 affinity_str(buf, sizeof(buf)));
}

TEST_F(axv, phys_cpu_set_confines_thread)
{
	struct axvcpu_create_vcpu cv;
	cpu_set_t allowed, other;
	struct axvcpu_state st;
	struct kvm_regs regs;
	struct xg_vcpu v1;
	int fd, ret, i;

	if (cpu_online_get(OTHER_CPU) != 1)
		SKIP(return, "CPU%d is not online", OTHER_CPU);
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(allowed), &allowed));
	if (!CPU_ISSET(PLACED_CPU, &allowed) || !CPU_ISSET(OTHER_CPU, &allowed))
		SKIP(return, "the test may not run on CPU%d and CPU%d",
		     PLACED_CPU, OTHER_CPU);

	/* vCPU 1, placed on {PLACED_CPU}. */
	cv_init(&cv, 1, AXVCPU_CPU_ANY);
	cv_add_cpu(&cv, PLACED_CPU);
	fd = axvcpu_create_vcpu(self->vm.vm_fd, &cv);
	ASSERT_LE(0, fd) TH_LOG("AXVCPU_CREATE_VCPU: %s", strerror(-fd));
	ret = xg_vcpu_attach(&self->vm, fd, &v1);
	ASSERT_EQ(0, ret) TH_LOG("mmap: %s", strerror(-ret));
	get_state(_metadata, &v1, &st);
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);
	ASSERT_EQ(-1, st.bound_cpu);
	ASSERT_EQ(AXVCPU_CPU_ANY, st.favor_phys_cpu);

	CPU_ZERO(&other);
	CPU_SET(OTHER_CPU, &other);
	for (i = 0; i < CONFINED_RUNS; i++) {
		/*
		 * Pinned outside the set: the thread may not go there (its
		 * affinity obeys its cpuset, which the set must not escape).
		 */
		real_mode_guest(_metadata, &self->vm, &v1, hello_code,
				sizeof(hello_code));
		ASSERT_EQ(0, set_affinity(&other));
		ASSERT_EQ(OTHER_CPU, sched_getcpu());
		ASSERT_EQ(-EPERM, xg_run(&v1)) TH_LOG("run %d", i);
		get_state(_metadata, &v1, &st);
		ASSERT_STATE(st, AXVCPU_STATE_READY);
		expect_affinity_one(_metadata, OTHER_CPU);

		/* Both CPUs allowed: KVM_RUN narrows it to the set. */
		ASSERT_EQ(0, set_affinity(&allowed));
		ASSERT_EQ(0x5aU, run_expect_out(_metadata, &v1, 1, PORT))
			TH_LOG("run %d", i);
		get_state(_metadata, &v1, &st);
		ASSERT_EQ(PLACED_CPU, st.bound_cpu) TH_LOG("run %d", i);
		ASSERT_STATE(st, AXVCPU_STATE_READY);
		expect_affinity_one(_metadata, PLACED_CPU);
		ASSERT_EQ(PLACED_CPU, sched_getcpu());
		run_expect(_metadata, &v1, KVM_EXIT_HLT);
		get_regs(_metadata, &v1, &regs);
		ASSERT_EQ(XG_CODE + sizeof(hello_code), regs.rip);
		ASSERT_EQ(0, set_affinity(&allowed));
	}
	/* Three runs each time: refused, to the OUT, to the HLT. */
	get_state(_metadata, &v1, &st);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 1 + 3 * CONFINED_RUNS,
			   3 * CONFINED_RUNS, 0);
	xg_vcpu_destroy(&v1);
}

/* ======================================================================
 * 5. A guest state the CPU refuses: KVM_EXIT_FAIL_ENTRY, then INVALID
 */

TEST_F(axv, fail_entry_invalid_reset)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct axvcpu_state st;
	int ret;

	/* Long mode with CS.L and CS.D both set: VMRUN refuses it. */
	long_mode_guest(_metadata, &self->vm, v, hello_code,
			sizeof(hello_code));
	get_sregs(_metadata, v, &sregs);
	sregs.cs.db = 1;
	ret = xg_set_sregs(v, &sregs);
	ASSERT_EQ(0, ret) TH_LOG("KVM_SET_SREGS: %s", strerror(-ret));

	run_expect(_metadata, v, KVM_EXIT_FAIL_ENTRY);
	ASSERT_EQ(xg_invalid_state_reason(),
		  v->run->fail_entry.hardware_entry_failure_reason);
	ASSERT_GT(sysconf(_SC_NPROCESSORS_CONF),
		  (long)v->run->fail_entry.cpu);

	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_INVALID);
	ASSERT_EQ(-1, st.bound_cpu);
	ASSERT_EQ((__u32)KVM_EXIT_FAIL_ENTRY, st.last_exit_reason);
	ASSERT_TRANSITIONS(st, 1, 1, 1, 1, 1, 0);

	/* Only GET_STATE, RESET (and close) work in INVALID. */
	ASSERT_EQ(-EBADFD, xg_get_regs(v, &regs));
	ASSERT_EQ(-EBADFD, xg_get_sregs(v, &sregs));
	ASSERT_EQ(-EBADFD, xg_run(v));
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_INVALID);
	ASSERT_EQ(1ULL, st.refused);		/* KVM_RUN's */

	/* RESET: CREATED, with KVM's reset state. */
	ASSERT_EQ(0, axvcpu_reset(v->fd));
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);
	ASSERT_EQ(-1, st.bound_cpu);
	ASSERT_EQ((__u32)AXVCPU_HALT_EXIT, st.halt_policy);
	ASSERT_EQ((__u32)KVM_EXIT_UNKNOWN, st.last_exit_reason);
	ASSERT_TRANSITIONS(st, 1, 2, 1, 1, 1, 0);
	get_sregs(_metadata, v, &sregs);
	EXPECT_EQ(0xf000, sregs.cs.selector);
	EXPECT_EQ(0xffff0000ULL, sregs.cs.base);
	EXPECT_EQ(0, sregs.cs.l);
	EXPECT_EQ(0, sregs.cs.db);
	EXPECT_EQ(0x60000010ULL, sregs.cr0);
	EXPECT_EQ(0ULL, sregs.cr3);
	EXPECT_EQ(0ULL, sregs.cr4);
	EXPECT_EQ(0ULL, sregs.efer);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(0xfff0ULL, regs.rip);
	EXPECT_EQ(0x2ULL, regs.rflags);
	EXPECT_EQ(0x600ULL, regs.rdx);
	ASSERT_TRUE(_metadata->passed);

	/* And a guest runs again. */
	real_mode_guest(_metadata, &self->vm, v, hello_code,
			sizeof(hello_code));
	ASSERT_EQ(0x5aU, run_expect_out(_metadata, v, 1, PORT));
	run_expect(_metadata, v, KVM_EXIT_HLT);
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_LE(0, st.bound_cpu);
	ASSERT_EQ((__u32)KVM_EXIT_HLT, st.last_exit_reason);
	ASSERT_TRANSITIONS(st, 1, 2, 2, 4, 3, 0);
}

/* ======================================================================
 * 6. last_exit_reason follows each exit
 */

#define MMIO_GPA	0xc0000000ULL	/* no slot there */

static const uint8_t exits_code[] = {
	0xb0, 0x5a,			/* 00: mov $0x5a, %al */
	0xe6, 0x10,			/* 02: out %al, $0x10 */
	0xf4,				/* 04: hlt */
	0x8b, 0x03,			/* 05: mov (%rbx), %eax */
	0xe7, 0x10,			/* 07: out %eax, $0x10 */
	0xf4,				/* 09: hlt */
};

/* The last exit must be @reason, in kvm_run and in GET_STATE. */
static void expect_last_exit(struct __test_metadata *_metadata,
			     struct xg_vcpu *v, uint32_t reason)
{
	struct axvcpu_state st;

	ASSERT_EQ(reason, v->run->exit_reason);
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_EQ(reason, st.last_exit_reason)
		TH_LOG("expected %s, GET_STATE says %s", xg_exit_name(reason),
		       xg_exit_name(st.last_exit_reason));
}

TEST_F(axv, last_exit_reason)
{
	struct xg_vcpu *v = &self->vcpu;
	struct axvcpu_state st;
	struct kvm_regs regs;
	uint8_t *data;

	long_mode_guest(_metadata, &self->vm, v, exits_code,
			sizeof(exits_code));
	get_regs(_metadata, v, &regs);
	regs.rbx = MMIO_GPA;
	set_regs(_metadata, v, &regs);

	ASSERT_EQ(0x5aU, run_expect_out(_metadata, v, 1, PORT));
	expect_last_exit(_metadata, v, KVM_EXIT_IO);
	run_expect(_metadata, v, KVM_EXIT_HLT);
	expect_last_exit(_metadata, v, KVM_EXIT_HLT);
	run_expect(_metadata, v, KVM_EXIT_MMIO);
	data = expect_mmio(_metadata, v, false, MMIO_GPA, 4);
	expect_last_exit(_metadata, v, KVM_EXIT_MMIO);
	xg_le_put(data, 4, 0x12345678);

	/*
	 * immediate_exit completes the load and fails with EINTR: kvm_run
	 * keeps the MMIO exit, as KVM 6.1 leaves it; GET_STATE says INTR.
	 */
	v->run->immediate_exit = 1;
	ASSERT_EQ(-EINTR, xg_run(v));
	v->run->immediate_exit = 0;
	ASSERT_EQ((__u32)KVM_EXIT_MMIO, v->run->exit_reason);
	get_state(_metadata, v, &st);
	ASSERT_EQ((__u32)KVM_EXIT_INTR, st.last_exit_reason);

	ASSERT_EQ(0x12345678U, run_expect_out(_metadata, v, 4, PORT));
	expect_last_exit(_metadata, v, KVM_EXIT_IO);
	run_expect(_metadata, v, KVM_EXIT_HLT);
	expect_last_exit(_metadata, v, KVM_EXIT_HLT);
}

/* ======================================================================
 * 7. A memory slot deleted under the guest
 *
 * Once KVM_SET_USER_MEMORY_REGION has deleted a slot, the guest's next
 * access to it exits as MMIO: it never reads the old pages again.
 */

#define SLOT1		1
#define SLOT1_GPA	XG_SZ_2M	/* slot 1: [2 MiB, 4 MiB) */
#define SLOT1_SIZE	XG_SZ_2M
#define READ_OFFSET	0x1040		/* the guests read here in it */
#define READ_GPA	(SLOT1_GPA + READ_OFFSET)

/* Reads the dword at RSI and writes it to PORT, forever. */
static const uint8_t read_loop_code[] = {
	0x8b, 0x06,			/* 00: 1: mov (%rsi), %eax */
	0xe7, 0x10,			/* 02: out %eax, $0x10 */
	0xeb, 0xfa,			/* 04: jmp 1b */
};

/* Slot 1, @mem, with @value at READ_OFFSET. */
static void set_slot1(struct __test_metadata *_metadata, struct xg_vm *vm,
		      uint8_t *mem, uint32_t value)
{
	int ret;

	xg_le_put(mem + READ_OFFSET, 4, value);
	ret = xg_set_slot(vm, SLOT1, 0, SLOT1_GPA, SLOT1_SIZE, mem);
	ASSERT_EQ(0, ret) TH_LOG("slot 1: %s", strerror(-ret));
}

static void delete_slot1(struct __test_metadata *_metadata, struct xg_vm *vm)
{
	int ret = xg_set_slot(vm, SLOT1, 0, SLOT1_GPA, 0, NULL);

	ASSERT_EQ(0, ret) TH_LOG("deleting slot 1: %s", strerror(-ret));
}

TEST_F(axv, slot_deleted_between_runs)
{
	struct xg_vcpu *v = &self->vcpu;
	struct axvcpu_state st;
	struct kvm_regs regs;
	uint8_t *mem, *mem2, *data;

	mem = xg_mem_alloc(SLOT1_SIZE, XG_SZ_2M);
	ASSERT_NE(NULL, mem);
	mem2 = xg_mem_alloc(SLOT1_SIZE, XG_SZ_2M);
	ASSERT_NE(NULL, mem2);
	set_slot1(_metadata, &self->vm, mem, 0x11111111);
	long_mode_guest(_metadata, &self->vm, v, read_loop_code,
			sizeof(read_loop_code));
	get_regs(_metadata, v, &regs);
	regs.rsi = READ_GPA;
	set_regs(_metadata, v, &regs);

	/* The slot's memory, as it is at each read. */
	ASSERT_EQ(0x11111111U, run_expect_out(_metadata, v, 4, PORT));
	xg_le_put(mem + READ_OFFSET, 4, 0x22222222);
	ASSERT_EQ(0x22222222U, run_expect_out(_metadata, v, 4, PORT));

	/* Deleted: the next read is MMIO, completed with our data. */
	delete_slot1(_metadata, &self->vm);
	run_expect(_metadata, v, KVM_EXIT_MMIO);
	data = expect_mmio(_metadata, v, false, READ_GPA, 4);
	xg_le_put(data, 4, 0x33333333);
	ASSERT_EQ(0x33333333U, run_expect_out(_metadata, v, 4, PORT));
	run_expect(_metadata, v, KVM_EXIT_MMIO);
	data = expect_mmio(_metadata, v, false, READ_GPA, 4);
	get_state(_metadata, v, &st);
	ASSERT_EQ((__u32)KVM_EXIT_MMIO, st.last_exit_reason);

	/* Another slot there: its memory, not the old one. */
	xg_le_put(data, 4, 0x44444444);
	set_slot1(_metadata, &self->vm, mem2, 0x55555555);
	ASSERT_EQ(0x44444444U, run_expect_out(_metadata, v, 4, PORT));
	ASSERT_EQ(0x55555555U, run_expect_out(_metadata, v, 4, PORT));

	xg_mem_free(mem2, SLOT1_SIZE);
	xg_mem_free(mem, SLOT1_SIZE);
}

/*
 * Counts at RDI and reads the dword at RSI until it is not EBX; then
 * writes it to PORT and halts.
 */
static const uint8_t spin_read_code[] = {
	0xff, 0x07,			/* 00: 1: incl (%rdi) */
	0x8b, 0x06,			/* 02: mov (%rsi), %eax */
	0x39, 0xd8,			/* 04: cmp %ebx, %eax */
	0x74, 0xf8,			/* 06: je 1b */
	0xe7, 0x10,			/* 08: out %eax, $0x10 */
	0xf4,				/* 0a: hlt */
};

#define MARKER		0x600dcafeU

TEST_F(axv, slot_deleted_while_running)
{
	struct xg_vcpu *v = &self->vcpu;
	struct axvcpu_state st;
	struct kvm_regs regs;
	uint8_t *mem, *data;
	long long t0, ms;
	uint32_t count;

	mem = xg_mem_alloc(SLOT1_SIZE, XG_SZ_2M);
	ASSERT_NE(NULL, mem);
	set_slot1(_metadata, &self->vm, mem, MARKER);
	long_mode_guest(_metadata, &self->vm, v, spin_read_code,
			sizeof(spin_read_code));
	get_regs(_metadata, v, &regs);
	regs.rdi = XG_DATA;
	regs.rsi = READ_GPA;
	regs.rbx = MARKER;
	set_regs(_metadata, v, &regs);

	/* The guest reads the slot in a loop: no exit. */
	start_spinning(_metadata, self);
	count = guest_counter(&self->vm);
	ASSERT_TRUE(counter_moves(&self->vm, count, WAIT_MS));
	ASSERT_FALSE(runner_done(&self->runner));

	/* Deleting it does not wait for the guest to exit by itself. */
	t0 = now_ms();
	delete_slot1(_metadata, &self->vm);
	ms = now_ms() - t0;
	TH_LOG("slot deleted in %lld ms", ms);
	ASSERT_GT(WAIT_MS, ms);

	/* The guest's next read exits, at that address. */
	runner_expect(_metadata, &self->runner, 0);
	data = expect_mmio(_metadata, v, false, READ_GPA, 4);
	get_state(_metadata, v, &st);
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_EQ((__u32)KVM_EXIT_MMIO, st.last_exit_reason);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 2, 1, 0);

	/* Completed with something else than the marker: out it goes. */
	xg_le_put(data, 4, 0x0badf00d);
	ASSERT_EQ(0x0badf00dU, run_expect_out(_metadata, v, 4, PORT));
	run_expect(_metadata, v, KVM_EXIT_HLT);
	get_regs(_metadata, v, &regs);
	ASSERT_EQ(XG_CODE + sizeof(spin_read_code), regs.rip);

	xg_mem_free(mem, SLOT1_SIZE);
}

TEST_HARNESS_MAIN
