// SPDX-License-Identifier: GPL-2.0
/*
 * race_test: axvcpu's objects pulled from under running guests.
 *
 * Real guests (a spin loop, a halt loop: a few bytes of each architecture)
 * run while other threads close their fds, storm a BLOCKED vCPU with kicks
 * and interrupts, race state requests against KVM_RUN, take the guest's CPU
 * offline and back, and try to unload the module all along.  Every call
 * must end with success or a documented errno, every vCPU in a sane state,
 * nothing may stay behind, and rmmod must never succeed while anything is
 * open.  axvcpu only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "axvcpu_harness.h"

#if defined(__x86_64__)
#define GUEST_BASE	0x0ULL
/* jmp . */
static const uint8_t spin_code[] = { 0xeb, 0xfe };
/* 1: cli; hlt; jmp 1b */
static const uint8_t halt_code[] = { 0xfa, 0xf4, 0xeb, 0xfc };
#elif defined(__aarch64__)
#define GUEST_BASE	0x40000000ULL
/* b . */
static const uint8_t spin_code[] = { 0x00, 0x00, 0x00, 0x14 };
/* 1: wfi; b 1b */
static const uint8_t halt_code[] = { 0x7f, 0x20, 0x03, 0xd5,
				     0xff, 0xff, 0xff, 0x17 };
#else
#error "race_test has guests for x86-64 and arm64 only"
#endif

#define GUEST_PAGES	16
#define STORM_CALLS	2000

struct guest {
	int sys, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	void *mem;
};

/* Put the vCPU at the start of the guest's code, in its reset state. */
static int guest_boot(struct guest *g)
{
#if defined(__x86_64__)
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0, .rflags = 2 };
	int r = do_ioctl_ptr(g->vcpu, KVM_GET_SREGS, &sregs);

	if (r)
		return r;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	r = do_ioctl_ptr(g->vcpu, KVM_SET_SREGS, &sregs);
	return r ? r : do_ioctl_ptr(g->vcpu, KVM_SET_REGS, &regs);
#else
	struct kvm_vcpu_init init;
	uint64_t pc = GUEST_BASE;
	struct kvm_one_reg reg = {
		.id = KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE |
		      KVM_REG_ARM_CORE_REG(regs.pc),
		.addr = (uintptr_t)&pc,
	};
	int r = do_ioctl_ptr(g->vm, KVM_ARM_PREFERRED_TARGET, &init);

	if (r)
		return r;
	r = do_ioctl_ptr(g->vcpu, KVM_ARM_VCPU_INIT, &init);
	return r ? r : do_ioctl_ptr(g->vcpu, KVM_SET_ONE_REG, &reg);
#endif
}

/*
 * A VM with one vCPU running @code, placed on @cpu (or anywhere, with -1)
 * with halt policy @policy, set up and bound.  0 or -errno.
 */
static int guest_create(struct guest *g, const uint8_t *code, size_t len,
			int cpu, __u32 policy)
{
	struct axvcpu_create_vcpu cv;
	int r;

	memset(g, 0, sizeof(*g));
	g->vm = g->vcpu = -1;
	g->sys = open_dev(axvcpu_dev_path());
	if (g->sys < 0)
		return g->sys;
	g->vm = create_vm(g->sys);
	if (g->vm < 0)
		return g->vm;
	g->mem = mem_alloc(GUEST_PAGES);
	if (!g->mem)
		return -ENOMEM;
	memcpy(g->mem, code, len);
	r = set_region(g->vm, 0, 0, GUEST_BASE, GUEST_PAGES * page_size(),
		       g->mem);
	if (r)
		return r;
	cv_init(&cv, 0, AXVCPU_CPU_ANY);
	if (cpu >= 0)
		cv_add_cpu(&cv, cpu);
	g->vcpu = axvcpu_create_vcpu(g->vm, &cv);
	if (g->vcpu < 0)
		return g->vcpu;
	g->run_size = vcpu_mmap_size(g->sys);
	g->run = map_run(g->vcpu, g->run_size);
	if (!g->run)
		return -ENOMEM;
	r = guest_boot(g);
	if (r)
		return r;
	r = axvcpu_setup(g->vcpu, policy, 0, 0);
	return r ? r : axvcpu_bind(g->vcpu, cpu, 0);
}

static void guest_close(struct guest *g)
{
	if (g->run)
		munmap(g->run, g->run_size);
	g->run = NULL;
	if (g->vcpu >= 0)
		close(g->vcpu);
	if (g->vm >= 0)
		close(g->vm);
	if (g->sys >= 0)
		close(g->sys);
	g->vcpu = g->vm = g->sys = -1;
	if (g->mem)
		mem_free(g->mem, GUEST_PAGES);
	g->mem = NULL;
}

/* --- the runner: KVM_RUN in its own thread until a signal --------------- */

struct runner {
	pthread_t thread;
	int fd;
	int ret;			/* KVM_RUN's, -errno */
	atomic_int done;
};

static void on_sigusr1(int sig)
{
	(void)sig;
}

static void *runner_main(void *arg)
{
	struct runner *r = arg;

	r->ret = do_ioctl(r->fd, KVM_RUN, 0);
	atomic_store(&r->done, 1);
	return NULL;
}

static int runner_start(struct runner *r, int fd)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	return -pthread_create(&r->thread, NULL, runner_main, r);
}

/* Signal the runner until KVM_RUN returned; its result. */
static int runner_stop(struct runner *r)
{
	while (!atomic_load(&r->done)) {
		pthread_kill(r->thread, SIGUSR1);
		sleep_ms(2);
	}
	pthread_join(r->thread, NULL);
	return r->ret;
}

/* Wait up to 5 s for the vCPU to reach @state. */
static bool wait_state(int fd, __u32 state)
{
	long long end = now_ms() + 5000;
	struct axvcpu_state st;

	while (now_ms() < end) {
		if (!axvcpu_get_state(fd, &st) && st.state == state)
			return true;
		sleep_ms(1);
	}
	return false;
}

/* --- rmmod all along ----------------------------------------------------- */

struct unloader {
	pthread_t thread;
	atomic_int stop;
	atomic_int tries;
	atomic_int bad;			/* the errno of a wrong answer, or 0 */
};

static void *unloader_main(void *arg)
{
	struct unloader *u = arg;
	int r;

	while (!atomic_load(&u->stop)) {
		r = module_unload();
		atomic_fetch_add(&u->tries, 1);
		/* In use: EWOULDBLOCK (or EBUSY); success would be a bug. */
		if (r != -EWOULDBLOCK && r != -EBUSY)
			atomic_store(&u->bad, r ? -r : -1);
		sleep_ms(3);
	}
	return NULL;
}

FIXTURE(race) {
	struct guest g;
	struct unloader u;
	int hold;		/* a system fd: the module is in use throughout */
};

FIXTURE_SETUP(race)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };	/* no SA_RESTART */

	self->g.vm = self->g.vcpu = self->g.sys = -1;
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	self->hold = open_dev(axvcpu_dev_path());
	ASSERT_LE(0, self->hold);
	memset(&self->u, 0, sizeof(self->u));
	ASSERT_EQ(0, pthread_create(&self->u.thread, NULL, unloader_main,
				    &self->u));
}

FIXTURE_TEARDOWN(race)
{
	int r;

	atomic_store(&self->u.stop, 1);
	pthread_join(self->u.thread, NULL);
	/* Once more for sure: on one CPU the thread may never have run. */
	r = module_unload();
	guest_close(&self->g);
	close(self->hold);
	EXPECT_TRUE(r == -EWOULDBLOCK || r == -EBUSY)
		TH_LOG("delete_module answered %d while in use", r);
	EXPECT_EQ(0, atomic_load(&self->u.bad))
		TH_LOG("delete_module answered %d while in use",
		       atomic_load(&self->u.bad));
	/* Nothing left behind. */
	EXPECT_EQ(0, status_get("vms"));
	EXPECT_EQ(0, status_get("vcpus"));
	EXPECT_EQ(0, status_get("pinned_pages"));
}

/* The fds closed while the guest runs: KVM_RUN still ends cleanly. */
TEST_F(race, close_fds_while_running)
{
	struct runner r;

	ASSERT_EQ(0, guest_create(&self->g, spin_code, sizeof(spin_code),
				  AXVCPU_CPU_ANY, AXVCPU_HALT_EXIT));
	ASSERT_EQ(0, runner_start(&r, self->g.vcpu));
	ASSERT_TRUE(wait_state(self->g.vcpu, AXVCPU_STATE_RUNNING));
	munmap(self->g.run, self->g.run_size);
	self->g.run = NULL;
	close(self->g.vcpu);
	close(self->g.vm);
	self->g.vcpu = self->g.vm = -1;
	/* The running ioctl holds the vCPU, which holds its VM. */
	sleep_ms(20);
	ASSERT_EQ(1, status_get("vms"));
	ASSERT_EQ(-EINTR, runner_stop(&r));
	ASSERT_EQ(0, status_get("vms"));
	ASSERT_EQ(0, status_get("vcpus"));
}

/* Kicks and interrupts, from two threads, at a BLOCKED vCPU. */
struct storm {
	pthread_t thread;
	int fd;
	bool inject;
	int bad;
};

static void *storm_main(void *arg)
{
	struct storm *s = arg;
	struct axvcpu_irq irq = { .vector = 0x20 };
	struct axvcpu_state st;
	int i, r;

	for (i = 0; i < STORM_CALLS && !s->bad; i++) {
		r = s->inject ? do_ioctl_ptr(s->fd, AXVCPU_INJECT, &irq) :
				do_ioctl(s->fd, AXVCPU_KICK, 0);
		if (r && r != -EINVAL)
			s->bad = -r;
		if (axvcpu_get_state(s->fd, &st) ||
		    st.state >= AXVCPU_NR_STATES)
			s->bad = EPROTO;
	}
	return NULL;
}

TEST_F(race, kick_inject_storm_blocked)
{
	struct storm s[2];
	struct axvcpu_state st;
	struct runner r;
	int i;

	ASSERT_EQ(0, guest_create(&self->g, halt_code, sizeof(halt_code),
				  AXVCPU_CPU_ANY, AXVCPU_HALT_BLOCK));
	ASSERT_EQ(0, runner_start(&r, self->g.vcpu));
	ASSERT_TRUE(wait_state(self->g.vcpu, AXVCPU_STATE_BLOCKED));
	for (i = 0; i < 2; i++) {
		s[i].fd = self->g.vcpu;
		s[i].bad = 0;
#if defined(__x86_64__)
		s[i].inject = i;
#else
		s[i].inject = false;
#endif
		ASSERT_EQ(0, pthread_create(&s[i].thread, NULL, storm_main,
					    &s[i]));
	}
	for (i = 0; i < 2; i++) {
		pthread_join(s[i].thread, NULL);
		EXPECT_EQ(0, s[i].bad) TH_LOG("storm %d: errno %d", i,
					      s[i].bad);
	}
	ASSERT_EQ(-EINTR, runner_stop(&r));
	ASSERT_EQ(0, axvcpu_get_state(self->g.vcpu, &st));
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	/*
	 * One KVM_RUN: into RUNNING once, and again after each wake-up; into
	 * READY at BIND, after each wake-up and at the end.
	 */
	ASSERT_LE(1ULL, st.transitions[AXVCPU_STATE_BLOCKED]);
	ASSERT_EQ(st.transitions[AXVCPU_STATE_BLOCKED] + 1,
		  st.transitions[AXVCPU_STATE_RUNNING]);
	ASSERT_EQ(st.transitions[AXVCPU_STATE_BLOCKED] + 2,
		  st.transitions[AXVCPU_STATE_READY]);
}

/* SETUP, BIND, UNBIND, RESET, GET_STATE and KVM_RUN racing on one vCPU. */
struct requester {
	pthread_t thread;
	int fd;
	unsigned int seed;
	int bad;
	int ok;
};

static void *requester_main(void *arg)
{
	struct requester *q = arg;
	struct axvcpu_state st;
	int i, r = 0;

	for (i = 0; i < STORM_CALLS && !q->bad; i++) {
		switch (rand_r(&q->seed) % 5) {
		case 0:
			r = axvcpu_setup(q->fd, AXVCPU_HALT_EXIT, 0, 0);
			break;
		case 1:
			r = axvcpu_bind(q->fd, AXVCPU_CPU_ANY, 0);
			break;
		case 2:
			r = axvcpu_unbind(q->fd);
			break;
		case 3:
			r = axvcpu_reset(q->fd);
			break;
		default:
			r = axvcpu_get_state(q->fd, &st);
			if (!r && (st.state >= AXVCPU_NR_STATES ||
				   st.bound_cpu >= AXVCPU_MAX_CPUS))
				r = -EPROTO;
			break;
		}
		if (!r)
			q->ok++;
		else if (r != -EBADFD)
			q->bad = -r;
	}
	return NULL;
}

static void *immediate_runner(void *arg)
{
	struct guest *g = arg;
	int i, r;

	for (i = 0; i < STORM_CALLS / 4; i++) {
		g->run->immediate_exit = 1;
		r = do_ioctl(g->vcpu, KVM_RUN, 0);
		if (r != -EINTR && r != -EBADFD && r != 0)
			return (void *)(long)-r;
	}
	return NULL;
}

TEST_F(race, requests_against_run)
{
	struct requester q[2];
	struct axvcpu_state st;
	pthread_t t;
	void *ret;
	int i;

	ASSERT_EQ(0, guest_create(&self->g, spin_code, sizeof(spin_code),
				  AXVCPU_CPU_ANY, AXVCPU_HALT_EXIT));
	for (i = 0; i < 2; i++) {
		q[i].fd = self->g.vcpu;
		q[i].seed = i + 1;
		q[i].bad = q[i].ok = 0;
		ASSERT_EQ(0, pthread_create(&q[i].thread, NULL,
					    requester_main, &q[i]));
	}
	ASSERT_EQ(0, pthread_create(&t, NULL, immediate_runner, &self->g));
	for (i = 0; i < 2; i++) {
		pthread_join(q[i].thread, NULL);
		EXPECT_EQ(0, q[i].bad) TH_LOG("requests %d: errno %d", i,
					      q[i].bad);
		EXPECT_LT(0, q[i].ok);
	}
	pthread_join(t, &ret);
	ASSERT_EQ(0L, (long)ret) TH_LOG("KVM_RUN: errno %ld", (long)ret);
	ASSERT_EQ(0, axvcpu_get_state(self->g.vcpu, &st));
	ASSERT_NE((__u32)AXVCPU_STATE_RUNNING, st.state);
	ASSERT_NE((__u32)AXVCPU_STATE_BLOCKED, st.state);
	ASSERT_EQ(st.state == AXVCPU_STATE_READY, st.bound_cpu >= 0);
}

/*
 * The guest's CPU taken offline and back while it runs there.  With the
 * other CPU in its set the vCPU follows its thread there; with its CPU
 * alone, KVM_RUN gives up (ENXIO, or EINTR for the signal) and the vCPU
 * runs again once the CPU is back.
 */
static void hotplug_run(struct __test_metadata *_metadata,
			FIXTURE_DATA(race) *self, bool both)
{
	struct axvcpu_create_vcpu cv;
	struct axvcpu_state st;
	struct runner r;
	int ret, vcpu2;

	if (online_cpus() < 2 || cpu_online_get(1) != 1)
		SKIP(return, "needs CPU1 online");
	ASSERT_EQ(0, guest_create(&self->g, spin_code, sizeof(spin_code), 1,
				  AXVCPU_HALT_EXIT));
	if (both) {
		/* A second vCPU whose set has both CPUs: it follows. */
		cv_init(&cv, 1, 1);
		cv_add_cpu(&cv, 0);
		cv_add_cpu(&cv, 1);
		vcpu2 = axvcpu_create_vcpu(self->g.vm, &cv);
		ASSERT_LE(0, vcpu2);
		close(self->g.vcpu);
		self->g.vcpu = vcpu2;
		munmap(self->g.run, self->g.run_size);
		self->g.run = map_run(vcpu2, self->g.run_size);
		ASSERT_NE(NULL, self->g.run);
		ASSERT_EQ(0, guest_boot(&self->g));
		ASSERT_EQ(0, axvcpu_setup(vcpu2, AXVCPU_HALT_EXIT, 0, 0));
		ASSERT_EQ(0, axvcpu_bind(vcpu2, 1, 0));
	}
	/* The runner inherits CPU1 alone, and loses it with the CPU. */
	ASSERT_EQ(0, pin_to_cpu(1));
	ASSERT_EQ(0, runner_start(&r, self->g.vcpu));
	ASSERT_TRUE(wait_state(self->g.vcpu, AXVCPU_STATE_RUNNING));
	sleep_ms(20);
	ASSERT_EQ(0, cpu_online_set(1, false));
	sleep_ms(50);
	if (both) {
		/* Still in the guest, now on CPU0. */
		ASSERT_TRUE(wait_state(self->g.vcpu, AXVCPU_STATE_RUNNING));
		ASSERT_EQ(0, axvcpu_get_state(self->g.vcpu, &st));
		EXPECT_EQ(0, st.bound_cpu);
	}
	ret = runner_stop(&r);
	ASSERT_EQ(0, cpu_online_set(1, true));
	if (both) {
		ASSERT_EQ(-EINTR, ret);
	} else {
		ASSERT_TRUE(ret == -ENXIO || ret == -EINTR)
			TH_LOG("KVM_RUN: %d", ret);
	}
	ASSERT_EQ(0, axvcpu_get_state(self->g.vcpu, &st));
	ASSERT_STATE(st, AXVCPU_STATE_READY);

	/* The CPU back: the guest runs on it again. */
	ASSERT_EQ(0, pin_to_cpu(1));
	ASSERT_EQ(0, runner_start(&r, self->g.vcpu));
	ASSERT_TRUE(wait_state(self->g.vcpu, AXVCPU_STATE_RUNNING));
	ASSERT_EQ(-EINTR, runner_stop(&r));
}

TEST_F(race, cpu_offline_under_guest_alone)
{
	hotplug_run(_metadata, self, false);
}

TEST_F(race, cpu_offline_under_guest_follows)
{
	hotplug_run(_metadata, self, true);
}

TEST_HARNESS_MAIN
