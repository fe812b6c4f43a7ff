// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu's own behaviour: its additions to KVM's ABI (uapi/linux/axvcpu.h),
 * the vCPU state machine, placement, page pinning, counters and module
 * lifetime.  KVM's shared core ABI is kvm_abi_test's.
 *
 * Runs as root with axvcpu loaded, debugfs at /sys/kernel/debug and the
 * test-only module parameters fail_step and test_stall_ms.  AXVCPU_DEV names
 * the device (default /dev/axvcpu); AXVCPU_KO the module file that the
 * reload tests load again (default /lib/modules/axvcpu.ko).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <linux/capability.h>

#include "kselftest_harness.h"
#include "axvcpu_harness.h"

#define MEM_PAGES		64
#define CYCLES			100

/* A request that must not wait for a stalled KVM_RUN answers within this. */
#define PROMPT_MS		1000
#define STALL_MS		4000
#define SHORT_STALL_MS		1500
#define SIGNAL_STALL_MS		8000

/* --- checks ----------------------------------------------------------- */

/* A debugfs counter of /sys/kernel/debug/axvcpu/status. */
#define ASSERT_STATUS(key, value)					\
	do {								\
		const char *__key = (key);				\
									\
		ASSERT_EQ((long long)(value), status_get(__key))	\
			TH_LOG("status %s", __key);			\
	} while (0)

enum request {
	REQ_SETUP,
	REQ_BIND,
	REQ_UNBIND,
	REQ_RESET,
	REQ_RUN,
};

static const char * const request_names[] = {
	[REQ_SETUP] = "AXVCPU_SETUP",
	[REQ_BIND] = "AXVCPU_BIND",
	[REQ_UNBIND] = "AXVCPU_UNBIND",
	[REQ_RESET] = "AXVCPU_RESET",
	[REQ_RUN] = "KVM_RUN",
};

/* Each request with valid arguments: only the state can make it fail. */
static int do_request(int fd, struct kvm_run *run, enum request req)
{
	switch (req) {
	case REQ_SETUP:
		return axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0);
	case REQ_BIND:
		return axvcpu_bind(fd, AXVCPU_CPU_ANY, 0);
	case REQ_UNBIND:
		return axvcpu_unbind(fd);
	case REQ_RESET:
		return axvcpu_reset(fd);
	case REQ_RUN:
		run->immediate_exit = 0;
		return vcpu_run(fd);
	}
	return -EINVAL;
}

/*
 * A request illegal in the vCPU's state: EBADFD, and nothing changes but
 * the refused counter.
 */
#define ASSERT_REFUSED(fd, run, req)					\
	do {								\
		enum request __req = (req);				\
		struct axvcpu_state __b, __a;				\
		int __fd = (fd);					\
									\
		ASSERT_EQ(0, axvcpu_get_state(__fd, &__b));		\
		ASSERT_EQ(-EBADFD, do_request(__fd, (run), __req))	\
			TH_LOG("%s from %s", request_names[__req],	\
			       state_name(__b.state));			\
		ASSERT_EQ(0, axvcpu_get_state(__fd, &__a));		\
		ASSERT_STREQ(state_name(__b.state),			\
			     state_name(__a.state));			\
		ASSERT_EQ(__b.bound_cpu, __a.bound_cpu);		\
		ASSERT_EQ(0, memcmp(__b.transitions, __a.transitions,	\
				    sizeof(__a.transitions)));		\
		ASSERT_EQ(__b.refused + 1, __a.refused);		\
	} while (0)

/* --- test-only module parameters --------------------------------------- */

/* The test hooks exist only in a module built with AXVCPU_TEST_HOOKS=y. */
#define REQUIRE_TEST_HOOKS()						\
	do {								\
		if (access("/sys/module/axvcpu/parameters/fail_step", F_OK)) \
			SKIP(return,					\
			     "axvcpu was built without AXVCPU_TEST_HOOKS=y"); \
	} while (0)

static void check_fail_step_unset(struct __test_metadata *_metadata)
{
	char buf[64];

	ASSERT_EQ(0, param_read("fail_step", buf, sizeof(buf)));
	ASSERT_TRUE(param_is_unset(buf)) TH_LOG("fail_step reads \"%s\"", buf);
}

/* Best effort, for teardowns: leave no failure armed and no stall set. */
static void clear_test_params(void)
{
	char buf[64];

	param_write("test_stall_ms", "0");
	param_write("max_vms_per_process", "64");
	if (param_read("fail_step", buf, sizeof(buf)) || param_is_unset(buf))
		return;
	if (param_write("fail_step", "none"))
		param_write("fail_step", "\n");
}

/* --- a VM with one vCPU (struct vcpu_env) ------------------------------ */

/*
 * KVM_RUN with immediate_exit: EINTR, kvm_run's exit_reason untouched
 * (GET_STATE says KVM_EXIT_INTR), and the vCPU READY; its state after that
 * in @st.
 */
static void run_immediate_exit(struct __test_metadata *_metadata,
			       struct vcpu_env *e, struct axvcpu_state *st)
{
	e->run->immediate_exit = 1;
	e->run->exit_reason = KVM_EXIT_UNKNOWN;
	ASSERT_EQ(-EINTR, vcpu_run(e->vcpu_fd));
	/* As KVM: exit_reason is left as it was. */
	ASSERT_EQ((__u32)KVM_EXIT_UNKNOWN, e->run->exit_reason);
	ASSERT_EQ(0, axvcpu_get_state(e->vcpu_fd, st));
	ASSERT_STATE(*st, AXVCPU_STATE_READY);
}

/* Take a new vCPU along legal edges (or a failed step) to @state. */
static void drive_to(struct __test_metadata *_metadata, int fd, __u32 state)
{
	struct axvcpu_state st;

	switch (state) {
	case AXVCPU_STATE_CREATED:
		break;
	case AXVCPU_STATE_FREE:
		ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
		break;
	case AXVCPU_STATE_READY:
		ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
		ASSERT_EQ(0, axvcpu_bind(fd, AXVCPU_CPU_ANY, 0));
		break;
	case AXVCPU_STATE_INVALID:
		ASSERT_EQ(0, param_write("fail_step", "setup"));
		ASSERT_EQ(-EIO, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
		break;
	default:
		ASSERT_TRUE(false) TH_LOG("cannot drive to %s",
					  state_name(state));
	}
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, state);
}

/* --- KVM_RUN in a thread, for the stalled-RUN tests -------------------- */

struct run_thread {
	int fd;
	pthread_t tid;
	bool started;
	bool joined;
	long long start_ms;
	long long end_ms;
	int ret;		/* KVM_RUN: 0 or -errno */
	int done;
};

static void *run_thread_fn(void *arg)
{
	struct run_thread *t = arg;

	t->start_ms = now_ms();
	t->ret = vcpu_run(t->fd);
	t->end_ms = now_ms();
	__atomic_store_n(&t->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static int run_thread_start(struct run_thread *t, int fd)
{
	int ret;

	memset(t, 0, sizeof(*t));
	t->fd = fd;
	ret = pthread_create(&t->tid, NULL, run_thread_fn, t);
	if (ret)
		return -ret;
	t->started = true;
	return 0;
}

static bool run_thread_done(struct run_thread *t)
{
	return __atomic_load_n(&t->done, __ATOMIC_ACQUIRE);
}

static void run_thread_join(struct run_thread *t)
{
	if (t->started && !t->joined) {
		pthread_join(t->tid, NULL);
		t->joined = true;
	}
}

/* For teardowns: interrupt a RUN that is still stalled, then join. */
static void run_thread_stop(struct run_thread *t)
{
	int tries;

	if (!t->started || t->joined)
		return;
	for (tries = 0; tries < 1500 && !run_thread_done(t); tries++) {
		pthread_kill(t->tid, SIGUSR1);
		sleep_ms(10);
	}
	run_thread_join(t);
}

static void on_sigusr1(int sig)
{
}

/* SIGUSR1 interrupts system calls: no SA_RESTART. */
static int install_sigusr1(void)
{
	struct sigaction sa = {
		.sa_handler = on_sigusr1,
		.sa_flags = 0,
	};

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL) ? -errno : 0;
}

static int wait_for_state(int fd, __u32 state, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	struct axvcpu_state st;

	do {
		if (!axvcpu_get_state(fd, &st) && st.state == state)
			return 0;
		sleep_ms(2);
	} while (now_ms() < deadline);
	return -ETIMEDOUT;
}

static int set_stall_ms(int ms)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", ms);
	return param_write("test_stall_ms", buf);
}

/* Start @t's KVM_RUN on @fd, to stall @stall_ms, and wait for RUNNING. */
static void start_stalled_run(struct __test_metadata *_metadata,
			      struct run_thread *t, int fd, int stall_ms)
{
	ASSERT_EQ(0, set_stall_ms(stall_ms));
	ASSERT_EQ(0, run_thread_start(t, fd));
	ASSERT_EQ(0, wait_for_state(fd, AXVCPU_STATE_RUNNING, PROMPT_MS));
}

/* ======================================================================
 * A VM: placement, vCPU creation, memory, other processes.
 */

FIXTURE(dev) {
	int sys_fd;
	int vm_fd;
	size_t page;
	char *mem;
};

FIXTURE_SETUP(dev)
{
	self->sys_fd = -1;
	self->vm_fd = -1;
	self->page = page_size();
	self->mem = NULL;

	open_vm(_metadata, &self->sys_fd, &self->vm_fd);
	self->mem = mem_alloc(MEM_PAGES);
	ASSERT_NE(NULL, self->mem);
}

FIXTURE_TEARDOWN(dev)
{
	clear_test_params();
	mem_free(self->mem, MEM_PAGES);
	if (self->vm_fd >= 0)
		close(self->vm_fd);
	if (self->sys_fd >= 0)
		close(self->sys_fd);
}

#define HVA(n)		(self->mem + (size_t)(n) * self->page)
#define GPA(n)		((__u64)(n) * self->page)
#define PAGES(n)	((__u64)(n) * self->page)

TEST_F(dev, vcpu_mmap_size)
{
	int size = vcpu_mmap_size(self->sys_fd);

#if defined(__x86_64__)
	/* struct kvm_run and the PIO data page. */
	ASSERT_EQ(2 * (int)self->page, size);
#else
	ASSERT_LE((int)self->page, size);
#endif
}

/*
 * An ioctl a file descriptor does not know fails as KVM's do: EINVAL on
 * the system and vCPU fds, and on the VM fd ENOTTY on x86, EINVAL on
 * arm64; axvcpu's own ioctls too, on a fd that does not take them.
 */
#if defined(__aarch64__)
#define VM_FD_UNKNOWN	(-EINVAL)
#else
#define VM_FD_UNKNOWN	(-ENOTTY)
#endif

TEST_F(dev, unknown_ioctls)
{
	int vcpu = create_vcpu(self->vm_fd, 0);
	int fds[3] = { self->sys_fd, self->vm_fd, vcpu };
	int i, err;

	ASSERT_LE(0, vcpu);
	for (i = 0; i < 3; i++) {
		TH_LOG("fd %d of 3 (system, VM, vCPU)", i + 1);
		err = fds[i] == self->vm_fd ? VM_FD_UNKNOWN : -EINVAL;
		ASSERT_EQ(err, do_ioctl(fds[i], _IO(KVMIO, 0xfe), 0));
		ASSERT_EQ(err, do_ioctl(fds[i], _IO('x', 1), 0));
		ASSERT_EQ(err, do_ioctl(fds[i], _IO(AXVCPU_IO, 0x7f), 0));
	}
	ASSERT_EQ(0, close(vcpu));
}

/* Known ioctls on the wrong kind of fd are outside that fd's subset. */
TEST_F(dev, misplaced_ioctls)
{
	struct axvcpu_create_vcpu cv;
	struct axvcpu_state st;
	int vcpu = create_vcpu(self->vm_fd, 0);

	ASSERT_LE(0, vcpu);
	cv_init(&cv, 5, AXVCPU_CPU_ANY);

	/* System fd. */
	ASSERT_EQ(-EINVAL, do_ioctl(self->sys_fd, KVM_CREATE_VCPU, 1));
	ASSERT_EQ(-EINVAL, do_ioctl(self->sys_fd, KVM_RUN, 0));
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->sys_fd, &cv));
	ASSERT_EQ(-EINVAL, axvcpu_get_state(self->sys_fd, &st));
	/* VM fd. */
	ASSERT_EQ(VM_FD_UNKNOWN, do_ioctl(self->vm_fd, KVM_RUN, 0));
	ASSERT_EQ(VM_FD_UNKNOWN, axvcpu_get_state(self->vm_fd, &st));
	ASSERT_EQ(VM_FD_UNKNOWN, axvcpu_reset(self->vm_fd));
	ASSERT_EQ(VM_FD_UNKNOWN, axvcpu_unbind(self->vm_fd));
	/* vCPU fd. */
	ASSERT_EQ(-EINVAL, do_ioctl(vcpu, KVM_CREATE_VCPU, 1));
	ASSERT_EQ(-EINVAL, do_ioctl(vcpu, KVM_CREATE_VM, 0));
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(vcpu, &cv));

	ASSERT_EQ(0, close(vcpu));
}

TEST_F(dev, vcpu_count_limit)
{
	int max_vcpus = check_cap(self->vm_fd, KVM_CAP_MAX_VCPUS);
	int max_id = check_cap(self->vm_fd, KVM_CAP_MAX_VCPU_ID);
	struct axvcpu_create_vcpu cv;
	int *fds, i;

	ASSERT_LT(0, max_vcpus);
	ASSERT_LE(max_vcpus, max_id);
	if (max_vcpus > 1024)
		SKIP(return, "KVM_CAP_MAX_VCPUS is %d", max_vcpus);
	/* Exceeding the count needs one more valid id than vCPUs allowed. */
	if (max_id == max_vcpus)
		SKIP(return, "KVM_CAP_MAX_VCPU_ID == KVM_CAP_MAX_VCPUS");

	ASSERT_EQ(0, raise_fd_limit(max_vcpus + 64));
	fds = calloc(max_vcpus, sizeof(*fds));
	ASSERT_NE(NULL, fds);
	for (i = 0; i < max_vcpus; i++) {
		fds[i] = create_vcpu(self->vm_fd, i);
		ASSERT_LE(0, fds[i]) TH_LOG("vCPU %d", i);
	}
	ASSERT_STATUS("vcpus", max_vcpus);

	ASSERT_EQ(-EINVAL, create_vcpu(self->vm_fd, max_vcpus));
	cv_init(&cv, max_vcpus, AXVCPU_CPU_ANY);
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));
	ASSERT_STATUS("vcpus", max_vcpus);

	for (i = 0; i < max_vcpus; i++)
		close(fds[i]);
	free(fds);
}

static int create_vm_in_child(void *arg)
{
	int sys = *(int *)arg, vm;

	/* The child's mm has none of its parent's VMs. */
	vm = create_vm(sys);
	if (vm < 0)
		return -vm;
	close(vm);
	return 0;
}

/* max_vms_per_process: EMFILE past it, per process, and freed on close. */
TEST_F(dev, vms_per_process_limit)
{
	char buf[32];
	int vms[3], i;

	ASSERT_EQ(0, param_read("max_vms_per_process", buf, sizeof(buf)));
	ASSERT_STREQ("64", buf);
	/* The fixture's VM is the first. */
	ASSERT_EQ(0, param_write("max_vms_per_process", "4"));
	for (i = 0; i < 3; i++) {
		vms[i] = create_vm(self->sys_fd);
		ASSERT_LE(0, vms[i]);
	}
	ASSERT_EQ(-EMFILE, create_vm(self->sys_fd));
	ASSERT_STATUS("vms", 4);
	ASSERT_EQ(0, run_in_child(create_vm_in_child, &self->sys_fd));
	close(vms[0]);
	vms[0] = create_vm(self->sys_fd);
	ASSERT_LE(0, vms[0]);
	ASSERT_EQ(-EMFILE, create_vm(self->sys_fd));
	/* Lowered below the count: existing VMs stay, no new one. */
	ASSERT_EQ(0, param_write("max_vms_per_process", "1"));
	ASSERT_EQ(-EMFILE, create_vm(self->sys_fd));
	clear_test_params();
	for (i = 0; i < 3; i++)
		close(vms[i]);
	ASSERT_STATUS("vms", 1);
}

TEST_F(dev, create_vcpu_args)
{
	struct axvcpu_create_vcpu cv;
	int fd;

	cv_init(&cv, 0, AXVCPU_CPU_ANY);
	cv.flags = 1;
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));
	cv.flags = 1U << 31;
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));

	cv_init(&cv, 0, AXVCPU_CPU_ANY);
	cv.pad = 1;
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));

	/* Impossible CPUs in the set, alone or next to a good one. */
	cv_init(&cv, 0, AXVCPU_CPU_ANY);
	cv_add_cpu(&cv, 1000);
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));
	cv_init(&cv, 0, AXVCPU_CPU_ANY);
	cv_add_cpu(&cv, AXVCPU_MAX_CPUS - 1);
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));
	cv_init(&cv, 0, AXVCPU_CPU_ANY);
	cv_add_cpu(&cv, 0);
	cv_add_cpu(&cv, 1000);
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));

	/* favor_phys_cpu: AXVCPU_CPU_ANY or an online CPU of the set. */
	cv_init(&cv, 0, -2);
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));
	cv_init(&cv, 0, INT32_MIN);
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));
	cv_init(&cv, 0, 1000);
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));
	cv_init(&cv, 0, AXVCPU_MAX_CPUS);
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));
	cv_init(&cv, 0, 1);
	cv_add_cpu(&cv, 0);
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));

	/* None of them made a vCPU: id 0 is still free. */
	ASSERT_STATUS("vcpus", 0);
	cv_init(&cv, 0, 0);
	cv_add_cpu(&cv, 0);
	fd = axvcpu_create_vcpu(self->vm_fd, &cv);
	ASSERT_LE(0, fd);
	ASSERT_STATUS("vcpus", 1);
	ASSERT_EQ(0, close(fd));
}

TEST_F(dev, create_vcpu_ids)
{
	int max_id = check_cap(self->vm_fd, KVM_CAP_MAX_VCPU_ID);
	struct axvcpu_create_vcpu cv;
	int a, b, last;

	ASSERT_LT(0, max_id);
	cv_init(&cv, max_id, AXVCPU_CPU_ANY);
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));
	cv_init(&cv, max_id + 1, AXVCPU_CPU_ANY);
	ASSERT_EQ(-EINVAL, axvcpu_create_vcpu(self->vm_fd, &cv));

	/* Both ioctls draw from the same ids. */
	cv_init(&cv, 0, AXVCPU_CPU_ANY);
	a = axvcpu_create_vcpu(self->vm_fd, &cv);
	ASSERT_LE(0, a);
	ASSERT_EQ(-EEXIST, axvcpu_create_vcpu(self->vm_fd, &cv));
	ASSERT_EQ(-EEXIST, create_vcpu(self->vm_fd, 0));

	b = create_vcpu(self->vm_fd, 1);
	ASSERT_LE(0, b);
	cv_init(&cv, 1, AXVCPU_CPU_ANY);
	ASSERT_EQ(-EEXIST, axvcpu_create_vcpu(self->vm_fd, &cv));

	cv_init(&cv, max_id - 1, AXVCPU_CPU_ANY);
	last = axvcpu_create_vcpu(self->vm_fd, &cv);
	ASSERT_LE(0, last);

	close(a);
	close(b);
	close(last);
}

TEST_F(dev, create_vcpu_placement)
{
	struct axvcpu_create_vcpu cv;
	struct axvcpu_state st;
	int fd;

	/* The empty set is every possible CPU. */
	cv_init(&cv, 0, AXVCPU_CPU_ANY);
	fd = axvcpu_create_vcpu(self->vm_fd, &cv);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);
	ASSERT_EQ(AXVCPU_CPU_ANY, st.favor_phys_cpu);
	ASSERT_EQ(-1, st.bound_cpu);

	cv_init(&cv, 1, 0);
	fd = axvcpu_create_vcpu(self->vm_fd, &cv);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_EQ(0, st.favor_phys_cpu);
	ASSERT_EQ(1U, st.vcpu_id);

	cv_init(&cv, 2, 0);
	cv_add_cpu(&cv, 0);
	fd = axvcpu_create_vcpu(self->vm_fd, &cv);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_EQ(0, st.favor_phys_cpu);
	ASSERT_EQ(-1, st.bound_cpu);

	if (cpu_online_get(1) != 1)
		SKIP(return, "CPU1 is not online");
	cv_init(&cv, 3, 1);
	cv_add_cpu(&cv, 0);
	cv_add_cpu(&cv, 1);
	fd = axvcpu_create_vcpu(self->vm_fd, &cv);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_EQ(1, st.favor_phys_cpu);
}

TEST_F(dev, initial_state)
{
	struct axvcpu_state a, b, c;
	int fa, fb, fc, vm2;
	size_t i;

	fa = create_vcpu(self->vm_fd, 3);
	ASSERT_LE(0, fa);
	fb = create_vcpu(self->vm_fd, 7);
	ASSERT_LE(0, fb);

	ASSERT_EQ(0, axvcpu_get_state(fa, &a));
	ASSERT_STATE(a, AXVCPU_STATE_CREATED);
	ASSERT_EQ(-1, a.bound_cpu);
	ASSERT_EQ(3U, a.vcpu_id);
	ASSERT_EQ(0U, a.last_exit_reason);
	ASSERT_EQ(AXVCPU_CPU_ANY, a.favor_phys_cpu);
	ASSERT_TRANSITIONS(a, 0, 1, 0, 0, 0, 0);
	ASSERT_EQ(0ULL, a.refused);
	/* Nothing of the kernel's stack leaks through the spare fields. */
	ASSERT_EQ(0U, a.pad);
	for (i = 0; i < ARRAY_SIZE(a.reserved); i++)
		ASSERT_EQ(0ULL, a.reserved[i]) TH_LOG("reserved[%zu]", i);

	/* vm_id: the same for the vCPUs of a VM ... */
	ASSERT_EQ(0, axvcpu_get_state(fb, &b));
	ASSERT_EQ(7U, b.vcpu_id);
	ASSERT_EQ(a.vm_id, b.vm_id);

	/* ... and another for another VM's. */
	vm2 = create_vm(self->sys_fd);
	ASSERT_LE(0, vm2);
	fc = create_vcpu(vm2, 3);
	ASSERT_LE(0, fc);
	ASSERT_EQ(0, axvcpu_get_state(fc, &c));
	ASSERT_EQ(3U, c.vcpu_id);
	ASSERT_NE(a.vm_id, c.vm_id);

	close(fc);
	close(vm2);
	close(fb);
	close(fa);
}

/*
 * Dirty logging, as KVM takes it (dirty_log_test has the bitmaps): on a
 * new slot and a read-only one, and on and off again on a live slot;
 * the pages stay pinned through it all.
 */
TEST_F(dev, region_log_dirty_accepted)
{
	ASSERT_EQ(0, set_region(self->vm_fd, 0, KVM_MEM_LOG_DIRTY_PAGES,
				GPA(0), PAGES(4), HVA(0)));
	ASSERT_STATUS("pinned_pages", 4);
	ASSERT_EQ(0, set_region(self->vm_fd, 0, 0, GPA(0), PAGES(4), HVA(0)));
	ASSERT_EQ(0, set_region(self->vm_fd, 0, KVM_MEM_LOG_DIRTY_PAGES,
				GPA(0), PAGES(4), HVA(0)));
	ASSERT_STATUS("pinned_pages", 4);
	ASSERT_EQ(0, set_region(self->vm_fd, 1,
				KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY,
				GPA(16), PAGES(4), HVA(8)));
	ASSERT_STATUS("pinned_pages", 8);
	/* The slot's other properties stay as KVM keeps them. */
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, KVM_MEM_READONLY,
				      GPA(0), PAGES(4), HVA(0)));
}

TEST_F(dev, region_unmapped_efault)
{
	size_t len = PAGES(4);
	char *hole, *half;

	/* Nothing mapped at all. */
	hole = mem_alloc(4);
	ASSERT_NE(NULL, hole);
	ASSERT_EQ(0, munmap(hole, len));
	ASSERT_EQ(-EFAULT, set_region(self->vm_fd, 0, 0, GPA(0), len, hole));
	ASSERT_STATUS("pinned_pages", 0);

	/* The first half mapped: what was pinned is released again. */
	half = mem_alloc(4);
	ASSERT_NE(NULL, half);
	ASSERT_EQ(0, munmap(half + PAGES(2), PAGES(2)));
	ASSERT_EQ(-EFAULT, set_region(self->vm_fd, 0, 0, GPA(0), len, half));
	ASSERT_STATUS("pinned_pages", 0);

	/* No slot was left behind. */
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, 0, GPA(0), 0, HVA(0)));
	ASSERT_EQ(0, set_region(self->vm_fd, 0, 0, GPA(0), len, HVA(0)));
	ASSERT_STATUS("pinned_pages", 4);
	munmap(half, PAGES(2));
}

TEST_F(dev, region_pins_pages)
{
	ASSERT_STATUS("pinned_pages", 0);

	ASSERT_EQ(0, set_region(self->vm_fd, 0, 0, GPA(0), PAGES(8), HVA(0)));
	ASSERT_STATUS("pinned_pages", 8);
	/* Setting it again or moving it pins nothing more. */
	ASSERT_EQ(0, set_region(self->vm_fd, 0, 0, GPA(0), PAGES(8), HVA(0)));
	ASSERT_STATUS("pinned_pages", 8);
	ASSERT_EQ(0, set_region(self->vm_fd, 0, 0, GPA(32), PAGES(8),
				HVA(0)));
	ASSERT_STATUS("pinned_pages", 8);

	ASSERT_EQ(0, set_region(self->vm_fd, 1, KVM_MEM_READONLY, GPA(0),
				PAGES(4), HVA(8)));
	ASSERT_STATUS("pinned_pages", 12);

	/* Refused requests pin nothing. */
	ASSERT_EQ(-EEXIST, set_region(self->vm_fd, 2, 0, GPA(2), PAGES(4),
				      HVA(16)));
	ASSERT_EQ(-EINVAL, set_region(self->vm_fd, 0, 0, GPA(32), PAGES(16),
				      HVA(0)));
	ASSERT_STATUS("pinned_pages", 12);

	ASSERT_EQ(0, set_region(self->vm_fd, 0, 0, GPA(32), 0, HVA(0)));
	ASSERT_STATUS("pinned_pages", 4);

	/* The VM's end unpins the rest. */
	ASSERT_EQ(0, close(self->vm_fd));
	self->vm_fd = -1;
	ASSERT_STATUS("pinned_pages", 0);
}

/*
 * Stage-2 tables go with the mappings that needed them: a slot of 4 KiB
 * pages, then a slot of one 2 MiB block in the same place, over and over,
 * keep a handful of table pages, and the VM's end frees them all.
 */
TEST_F(dev, region_tables_freed)
{
	size_t huge = 2UL << 20;
	long long base, n, most = 0;
	char *raw, *mem;
	int i;

	raw = mmap(NULL, 2 * huge, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, raw);
	mem = (char *)(((uintptr_t)raw + huge - 1) & ~(huge - 1));
	madvise(mem, huge, MADV_HUGEPAGE);
	memset(mem, 1, huge);

	base = status_get("table_pages");
	ASSERT_LT(0, base) TH_LOG("a VM has a stage-2 root");
	for (i = 0; i < 64; i++) {
		ASSERT_EQ(0, set_region(self->vm_fd, 0, 0, huge, self->page,
					mem));
		ASSERT_EQ(0, set_region(self->vm_fd, 0, 0, huge, 0, mem));
		ASSERT_EQ(0, set_region(self->vm_fd, 0, 0, huge, huge, mem));
		n = status_get("table_pages");
		if (n > most)
			most = n;
		ASSERT_EQ(0, set_region(self->vm_fd, 0, 0, huge, 0, mem));
	}
	/* Three levels below the root at most, and a root of up to 16. */
	EXPECT_GE(base + 16, most) TH_LOG("%lld table pages for one slot",
					  most);
	ASSERT_EQ(0, close(self->vm_fd));
	self->vm_fd = -1;
	ASSERT_STATUS("table_pages", 0);
	munmap(raw, 2 * huge);
}

/* A ROM-like slot: read-only guest memory over a read-only mapping. */
TEST_F(dev, readonly_slot_on_readonly_mapping)
{
	size_t len = PAGES(4);
	void *ro;

	ro = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	ASSERT_EQ(0, set_region(self->vm_fd, 0, KVM_MEM_READONLY, GPA(0), len,
				ro));
	ASSERT_STATUS("pinned_pages", 4);
	ASSERT_EQ(0, set_region(self->vm_fd, 0, KVM_MEM_READONLY, GPA(0), 0,
				ro));
	ASSERT_STATUS("pinned_pages", 0);
	munmap(ro, len);
}

/* What a forked child saw, using its parent's VM and vCPU fds. */
struct eio_result {
	int get_state;
	int setup;
	int bind;
	int unbind;
	int reset;
	int create_vcpu;
	int mmap;		/* 0, or the errno of a failed mmap */
	int poll;		/* revents */
};

struct eio_args {
	int vm_fd;
	int vcpu_fd;
	struct eio_result *res;
};

static int child_axvcpu_ioctls(void *arg)
{
	struct eio_args *a = arg;
	struct axvcpu_create_vcpu cv;
	struct axvcpu_state st;
	struct pollfd pfd;
	void *run;

	cv_init(&cv, 1, AXVCPU_CPU_ANY);
	a->res->get_state = axvcpu_get_state(a->vcpu_fd, &st);
	a->res->setup = axvcpu_setup(a->vcpu_fd, AXVCPU_HALT_EXIT, 0, 0);
	a->res->bind = axvcpu_bind(a->vcpu_fd, AXVCPU_CPU_ANY, 0);
	a->res->unbind = axvcpu_unbind(a->vcpu_fd);
	a->res->reset = axvcpu_reset(a->vcpu_fd);
	a->res->create_vcpu = axvcpu_create_vcpu(a->vm_fd, &cv);
	run = mmap(NULL, page_size(), PROT_READ, MAP_SHARED, a->vcpu_fd, 0);
	a->res->mmap = run == MAP_FAILED ? errno : 0;
	pfd.fd = a->vcpu_fd;
	pfd.events = POLLIN;
	a->res->poll = poll(&pfd, 1, 0) == 1 ? pfd.revents : 0;
	return 0;
}

TEST_F(dev, other_process_gets_eio)
{
	struct eio_args args = { .vm_fd = self->vm_fd };
	struct axvcpu_state st;

	args.vcpu_fd = create_vcpu(self->vm_fd, 0);
	ASSERT_LE(0, args.vcpu_fd);
	args.res = shared_alloc(sizeof(*args.res));
	ASSERT_NE(NULL, args.res);

	ASSERT_EQ(0, run_in_child(child_axvcpu_ioctls, &args));
	EXPECT_EQ(-EIO, args.res->get_state);
	EXPECT_EQ(-EIO, args.res->setup);
	EXPECT_EQ(-EIO, args.res->bind);
	EXPECT_EQ(-EIO, args.res->unbind);
	EXPECT_EQ(-EIO, args.res->reset);
	EXPECT_EQ(-EIO, args.res->create_vcpu);
	EXPECT_EQ(EIO, args.res->mmap);
	EXPECT_EQ(POLLERR, args.res->poll);

	/* Nothing the child tried reached the vCPU. */
	ASSERT_EQ(0, axvcpu_get_state(args.vcpu_fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);
	ASSERT_TRANSITIONS(st, 0, 1, 0, 0, 0, 0);
	ASSERT_EQ(0ULL, st.refused);
	ASSERT_STATUS("vcpus", 1);

	close(args.vcpu_fd);
	munmap(args.res, sizeof(*args.res));
}

#define CPUS_ALL	0ULL		/* the empty set: every possible CPU */
#define CPU(n)		(1ULL << (n))

/* AXVCPU_CREATE_VCPU on the CPUs of @cpus (bit n: CPU n). */
static int create_placed(int vm_fd, __u32 id, __s32 favor,
			 unsigned long long cpus)
{
	struct axvcpu_create_vcpu cv;

	cv_init(&cv, id, favor);
	cv.phys_cpu_set[0] = cpus;
	return axvcpu_create_vcpu(vm_fd, &cv);
}

/*
 * Create vCPU @id placed as create_placed() does, set it up and, from CPU
 * @caller, BIND it anywhere; its state after that in @st.
 */
static void bind_placed_from(struct __test_metadata *_metadata, int vm_fd,
			     __u32 id, __s32 favor, unsigned long long cpus,
			     int caller, struct axvcpu_state *st)
{
	int fd = create_placed(vm_fd, id, favor, cpus);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, pin_to_cpu(caller));
	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(0, axvcpu_bind(fd, AXVCPU_CPU_ANY, 0));
	ASSERT_EQ(0, axvcpu_get_state(fd, st));
}

TEST_F(dev, bind_any_uses_favor)
{
	struct axvcpu_state st;

	if (cpu_online_get(1) != 1)
		SKIP(return, "CPU1 is not online");

	/* The favored CPU wins over the caller's. */
	bind_placed_from(_metadata, self->vm_fd, 0, 1, CPUS_ALL, 0, &st);
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_EQ(1, st.bound_cpu);

	bind_placed_from(_metadata, self->vm_fd, 1, 0, CPUS_ALL, 1, &st);
	ASSERT_EQ(0, st.bound_cpu);
}

TEST_F(dev, bind_any_stays_in_set)
{
	struct axvcpu_state st;

	if (cpu_online_get(1) != 1)
		SKIP(return, "CPU1 is not online");

	/* The caller runs on CPU0, outside the set {1}. */
	bind_placed_from(_metadata, self->vm_fd, 0, AXVCPU_CPU_ANY, CPU(1), 0,
			 &st);
	ASSERT_EQ(1, st.bound_cpu);
}

TEST_F(dev, bind_outside_set)
{
	struct axvcpu_state st;
	int fd;

	if (cpu_online_get(1) != 1)
		SKIP(return, "CPU1 is not online");

	fd = create_placed(self->vm_fd, 0, AXVCPU_CPU_ANY, CPU(0));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(-EINVAL, axvcpu_bind(fd, 1, 0));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_FREE);
	ASSERT_EQ(-1, st.bound_cpu);
	ASSERT_EQ(0ULL, st.refused);

	ASSERT_EQ(0, axvcpu_bind(fd, 0, 0));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_EQ(0, st.bound_cpu);
}

/* ======================================================================
 * RLIMIT_MEMLOCK: pinned guest memory is charged to the VM's owner.
 */

struct memlock_result {
	int drop_cap;
	int setrlimit;
	int sys_fd;
	int vm_fd;
	int slot_a;		/* 8 pages */
	int slot_b_over;	/* 16 more pages: over the limit */
	int delete_a;
	int slot_b;		/* 16 pages, alone */
	long long pinned[5];
};

static int child_memlock(void *arg)
{
	struct memlock_result *r = arg;
	size_t page = page_size();
	struct rlimit rl = {
		.rlim_cur = 16 * page,
		.rlim_max = 16 * page,
	};
	char *a, *b;
	int sys, vm;

	r->drop_cap = drop_capability(CAP_IPC_LOCK);
	r->setrlimit = setrlimit(RLIMIT_MEMLOCK, &rl) ? -errno : 0;
	sys = open_dev(axvcpu_dev_path());
	r->sys_fd = sys < 0 ? sys : 0;
	vm = sys < 0 ? sys : create_vm(sys);
	r->vm_fd = vm < 0 ? vm : 0;
	a = mem_alloc(8);
	b = mem_alloc(16);
	if (vm < 0 || !a || !b)
		return 1;

	r->pinned[0] = status_get("pinned_pages");
	r->slot_a = set_region(vm, 0, 0, 0, 8 * page, a);
	r->pinned[1] = status_get("pinned_pages");
	r->slot_b_over = set_region(vm, 1, 0, 64 * page, 16 * page, b);
	r->pinned[2] = status_get("pinned_pages");
	r->delete_a = set_region(vm, 0, 0, 0, 0, a);
	r->pinned[3] = status_get("pinned_pages");
	r->slot_b = set_region(vm, 1, 0, 64 * page, 16 * page, b);
	r->pinned[4] = status_get("pinned_pages");

	close(vm);
	close(sys);
	return 0;
}

TEST(memlock_limit)
{
	struct memlock_result *r = shared_alloc(sizeof(*r));

	ASSERT_NE(NULL, r);
	ASSERT_EQ(0, run_in_child(child_memlock, r));
	ASSERT_EQ(0, r->drop_cap);
	ASSERT_EQ(0, r->setrlimit);
	ASSERT_EQ(0, r->sys_fd);
	ASSERT_EQ(0, r->vm_fd);

	ASSERT_EQ(0LL, r->pinned[0]);
	ASSERT_EQ(0, r->slot_a);
	ASSERT_EQ(8LL, r->pinned[1]);
	ASSERT_EQ(-ENOMEM, r->slot_b_over);
	ASSERT_EQ(8LL, r->pinned[2]);
	ASSERT_EQ(0, r->delete_a);
	ASSERT_EQ(0LL, r->pinned[3]);
	ASSERT_EQ(0, r->slot_b);
	ASSERT_EQ(16LL, r->pinned[4]);

	/* The child's VM is gone, and its pages with it. */
	ASSERT_STATUS("pinned_pages", 0);
	ASSERT_STATUS("vms", 0);
	munmap(r, sizeof(*r));
}

/* ======================================================================
 * The vCPU state machine, along its legal edges.
 */

FIXTURE(vcpu) {
	struct vcpu_env env;
};

FIXTURE_SETUP(vcpu)
{
	env_init(&self->env);
	env_open(_metadata, &self->env);
}

FIXTURE_TEARDOWN(vcpu)
{
	clear_test_params();
	env_close(&self->env);
}

TEST_F(vcpu, setup_args_keep_state)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;

	ASSERT_EQ(-EINVAL, axvcpu_setup(fd, 2, 0, 0));
	ASSERT_EQ(-EINVAL, axvcpu_setup(fd, ~0U, 0, 0));
	ASSERT_EQ(-EINVAL, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 1U << 2, 0));
	ASSERT_EQ(-EINVAL, axvcpu_setup(fd, AXVCPU_HALT_BLOCK,
					AXVCPU_SETUP_ENTRY | (1U << 31), 0));

	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);
	ASSERT_EQ(-1, st.bound_cpu);
	ASSERT_TRANSITIONS(st, 0, 1, 0, 0, 0, 0);
	ASSERT_EQ(0ULL, st.refused);
}

TEST_F(vcpu, setup_to_free)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;
	int fd2;

	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_BLOCK, AXVCPU_SETUP_ENTRY,
				  0x1000));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_FREE);
	ASSERT_EQ(-1, st.bound_cpu);
	ASSERT_EQ((__u32)AXVCPU_HALT_BLOCK, st.halt_policy);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 0, 0, 0);
	ASSERT_EQ(0ULL, st.refused);

	fd2 = create_vcpu(self->env.vm_fd, 1);
	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, axvcpu_setup(fd2, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(0, axvcpu_get_state(fd2, &st));
	ASSERT_STATE(st, AXVCPU_STATE_FREE);
	ASSERT_EQ((__u32)AXVCPU_HALT_EXIT, st.halt_policy);
	close(fd2);
}

TEST_F(vcpu, bind_args_keep_state)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;

	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(-EINVAL, axvcpu_bind(fd, 0, 1));
	ASSERT_EQ(-EINVAL, axvcpu_bind(fd, AXVCPU_CPU_ANY, 1U << 31));
	ASSERT_EQ(-EINVAL, axvcpu_bind(fd, -2, 0));
	ASSERT_EQ(-EINVAL, axvcpu_bind(fd, 1000, 0));
	ASSERT_EQ(-EINVAL, axvcpu_bind(fd, AXVCPU_MAX_CPUS, 0));
	ASSERT_EQ(-EINVAL, axvcpu_bind(fd, INT32_MAX, 0));

	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_FREE);
	ASSERT_EQ(-1, st.bound_cpu);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 0, 0, 0);
	ASSERT_EQ(0ULL, st.refused);
}

TEST_F(vcpu, bind_unbind)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;

	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(0, axvcpu_bind(fd, 0, 0));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_EQ(0, st.bound_cpu);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 1, 0, 0);

	ASSERT_EQ(0, axvcpu_unbind(fd));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_FREE);
	ASSERT_EQ(-1, st.bound_cpu);
	ASSERT_TRANSITIONS(st, 0, 1, 2, 1, 0, 0);

	ASSERT_EQ(0, axvcpu_bind(fd, 0, 0));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_TRANSITIONS(st, 0, 1, 2, 2, 0, 0);
	ASSERT_EQ(0ULL, st.refused);
}

/* ======================================================================
 * Time per state and the transition log.
 */

static __u64 total_ns(const struct axvcpu_state *st)
{
	__u64 t = 0;
	int i;

	for (i = 0; i < AXVCPU_NR_STATES; i++)
		t += st->time_ns[i];
	return t;
}

/* Time is charged to the state the vCPU was in, and never goes back. */
TEST_F(vcpu, time_per_state)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state a, b;

	ASSERT_EQ(0, axvcpu_get_state(fd, &a));
	sleep_ms(20);
	ASSERT_EQ(0, axvcpu_get_state(fd, &b));
	/* The current state's time includes the time up to the call. */
	ASSERT_LE(a.time_ns[AXVCPU_STATE_CREATED] + 20000000ULL,
		  b.time_ns[AXVCPU_STATE_CREATED]);
	ASSERT_EQ(0ULL, b.time_ns[AXVCPU_STATE_FREE]);
	ASSERT_EQ(0ULL, b.time_ns[AXVCPU_STATE_READY]);

	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(0, axvcpu_bind(fd, AXVCPU_CPU_ANY, 0));
	sleep_ms(20);
	ASSERT_EQ(0, axvcpu_get_state(fd, &a));
	ASSERT_LE(b.time_ns[AXVCPU_STATE_CREATED],
		  a.time_ns[AXVCPU_STATE_CREATED]);
	ASSERT_LE(20000000ULL, a.time_ns[AXVCPU_STATE_READY]);
	ASSERT_LT(total_ns(&b), total_ns(&a));
	ASSERT_EQ(0ULL, a.time_ns[AXVCPU_STATE_RUNNING]);
	ASSERT_EQ(0ULL, a.time_ns[AXVCPU_STATE_INVALID]);
	ASSERT_EQ(0ULL, a.reserved[0]);
}

static int trace_states(int fd, __u32 entries, __u32 flags)
{
	struct axvcpu_trace t = { .entries = entries, .flags = flags };

	return do_ioctl_ptr(fd, AXVCPU_TRACE_STATES, &t);
}

/* Read the log without waiting: the number of records, or -errno. */
static int trace_read(int fd, struct axvcpu_transition *rec, int max)
{
	int fl = fcntl(fd, F_GETFL);
	ssize_t n;

	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	n = read(fd, rec, max * sizeof(*rec));
	fcntl(fd, F_SETFL, fl);
	if (n < 0)
		return -errno;
	return n / sizeof(*rec);
}

TEST_F(vcpu, trace_args)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_transition rec[2];
	struct axvcpu_state st;

	/* No log yet: nothing to read. */
	ASSERT_EQ(-EINVAL, trace_read(fd, rec, 1));
	ASSERT_EQ(-EINVAL, trace_states(fd, 3, 0));
	ASSERT_EQ(-EINVAL, trace_states(fd, AXVCPU_TRACE_MAX * 2, 0));
	ASSERT_EQ(-EINVAL, trace_states(fd, 16, 1));
	ASSERT_EQ(-EFAULT, do_ioctl(fd, AXVCPU_TRACE_STATES, 8));
	ASSERT_EQ(0, trace_states(fd, 0, 0));	/* stopping none: fine */
	ASSERT_EQ(-EINVAL, trace_read(fd, rec, 1));

	ASSERT_EQ(0, trace_states(fd, 16, 0));
	ASSERT_EQ(-EBUSY, trace_states(fd, 32, 0));
	ASSERT_EQ(0, trace_states(fd, 16, 0));
	ASSERT_EQ(-EAGAIN, trace_read(fd, rec, 2));
	/* Less than a record. */
	ASSERT_EQ(-1, read(fd, rec, sizeof(rec[0]) - 1));
	ASSERT_EQ(EINVAL, errno);

	/* None of it changed the vCPU. */
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);
	ASSERT_TRANSITIONS(st, 0, 1, 0, 0, 0, 0);
}

TEST_F(vcpu, trace_records_transitions)
{
	int fd = self->env.vcpu_fd, cpu = online_cpus() - 1;
	struct axvcpu_transition rec[8];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec ts;
	__u64 before;
	void *bad;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	before = (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	ASSERT_EQ(0, trace_states(fd, 8, 0));
	ASSERT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(1, poll(&p, 1, 0));
	ASSERT_EQ(0, axvcpu_bind(fd, cpu, 0));
	ASSERT_EQ(0, axvcpu_unbind(fd));
	/* Refused: no transition, no record. */
	ASSERT_EQ(-EBADFD, axvcpu_unbind(fd));

	/* A bad buffer: EFAULT, and the record stays for the next read. */
	bad = mmap(NULL, page_size(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		   -1, 0);
	ASSERT_NE(MAP_FAILED, bad);
	ASSERT_EQ(-1, read(fd, bad, sizeof(rec[0])));
	ASSERT_EQ(EFAULT, errno);
	munmap(bad, page_size());
	ASSERT_EQ(3, trace_read(fd, rec, 8));
	ASSERT_EQ(0ULL, rec[0].seq);
	ASSERT_EQ((__u32)AXVCPU_STATE_CREATED, rec[0].from);
	ASSERT_EQ((__u32)AXVCPU_STATE_FREE, rec[0].to);
	ASSERT_EQ(-1, rec[0].cpu);
	ASSERT_EQ(1ULL, rec[1].seq);
	ASSERT_EQ((__u32)AXVCPU_STATE_FREE, rec[1].from);
	ASSERT_EQ((__u32)AXVCPU_STATE_READY, rec[1].to);
	ASSERT_EQ(cpu, rec[1].cpu);
	ASSERT_EQ(2ULL, rec[2].seq);
	ASSERT_EQ((__u32)AXVCPU_STATE_READY, rec[2].from);
	ASSERT_EQ((__u32)AXVCPU_STATE_FREE, rec[2].to);
	ASSERT_LE(before, rec[0].time_ns);
	ASSERT_LE(rec[0].time_ns, rec[1].time_ns);
	ASSERT_LE(rec[1].time_ns, rec[2].time_ns);
	ASSERT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(-EAGAIN, trace_read(fd, rec, 8));

	/* Stopped: transitions go unrecorded; again: the count goes on. */
	ASSERT_EQ(0, trace_states(fd, 0, 0));
	ASSERT_EQ(0, axvcpu_bind(fd, cpu, 0));
	ASSERT_EQ(-EAGAIN, trace_read(fd, rec, 8));
	ASSERT_EQ(0, trace_states(fd, 8, 0));
	ASSERT_EQ(0, axvcpu_unbind(fd));
	ASSERT_EQ(1, trace_read(fd, rec, 8));
	ASSERT_EQ(3ULL, rec[0].seq);
}

/* A full ring drops its oldest records; seq shows how many. */
TEST_F(vcpu, trace_overflow_shows_gap)
{
	int fd = self->env.vcpu_fd, i;
	struct axvcpu_transition rec[4];

	ASSERT_EQ(0, trace_states(fd, 2, 0));
	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(0, axvcpu_bind(fd, AXVCPU_CPU_ANY, 0));
		ASSERT_EQ(0, axvcpu_unbind(fd));
	}
	/* 7 transitions, the last 2 kept. */
	ASSERT_EQ(2, trace_read(fd, rec, 4));
	ASSERT_EQ(5ULL, rec[0].seq);
	ASSERT_EQ(6ULL, rec[1].seq);
	ASSERT_EQ((__u32)AXVCPU_STATE_READY, rec[1].from);
	ASSERT_EQ((__u32)AXVCPU_STATE_FREE, rec[1].to);
}

/* A blocking read waits for the next transition, made by another thread. */
static void *bind_later(void *arg)
{
	int fd = *(int *)arg;

	sleep_ms(50);
	return (void *)(long)axvcpu_bind(fd, AXVCPU_CPU_ANY, 0);
}

TEST_F(vcpu, trace_read_blocks)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_transition rec;
	pthread_t t;
	void *ret;

	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(0, trace_states(fd, 4, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, bind_later, &fd));
	ASSERT_EQ((ssize_t)sizeof(rec), read(fd, &rec, sizeof(rec)));
	ASSERT_EQ(0, pthread_join(t, &ret));
	ASSERT_EQ(0L, (long)ret);
	ASSERT_EQ((__u32)AXVCPU_STATE_READY, rec.to);
}

TEST_F(vcpu, bind_each_online_cpu)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;
	int cpu, bound = 0;

	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	for (cpu = 0; cpu < AXVCPU_MAX_CPUS; cpu++) {
		if (cpu_online_get(cpu) != 1)
			continue;
		ASSERT_EQ(0, axvcpu_bind(fd, cpu, 0)) TH_LOG("CPU%d", cpu);
		ASSERT_EQ(0, axvcpu_get_state(fd, &st));
		ASSERT_EQ(cpu, st.bound_cpu);
		ASSERT_EQ(0, axvcpu_unbind(fd));
		bound++;
	}
	ASSERT_EQ(online_cpus(), bound);
}

TEST_F(vcpu, bind_any_takes_caller_cpu)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;
	int cpu;

	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	for (cpu = 0; cpu < AXVCPU_MAX_CPUS; cpu++) {
		if (cpu_online_get(cpu) != 1)
			continue;
		ASSERT_EQ(0, pin_to_cpu(cpu));
		ASSERT_EQ(0, axvcpu_bind(fd, AXVCPU_CPU_ANY, 0));
		ASSERT_EQ(0, axvcpu_get_state(fd, &st));
		ASSERT_EQ(cpu, st.bound_cpu);
		ASSERT_EQ(0, axvcpu_unbind(fd));
	}
}

TEST_F(vcpu, run_from_created)
{
	struct axvcpu_state st;

	/* KVM_RUN walks CREATED -> FREE -> READY -> RUNNING -> READY. */
	run_immediate_exit(_metadata, &self->env, &st);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 2, 1, 0);
	ASSERT_LE(0, st.bound_cpu);
	ASSERT_EQ(1, cpu_online_get(st.bound_cpu));
	ASSERT_EQ((__u32)KVM_EXIT_INTR, st.last_exit_reason);
	ASSERT_EQ(0ULL, st.refused);
}

TEST_F(vcpu, run_from_free)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;

	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	run_immediate_exit(_metadata, &self->env, &st);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 2, 1, 0);
	ASSERT_LE(0, st.bound_cpu);
}

TEST_F(vcpu, run_from_ready)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;

	ASSERT_EQ(0, pin_to_cpu(0));
	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(0, axvcpu_bind(fd, 0, 0));

	run_immediate_exit(_metadata, &self->env, &st);
	ASSERT_EQ(0, st.bound_cpu);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 2, 1, 0);
	ASSERT_EQ((__u32)KVM_EXIT_INTR, st.last_exit_reason);

	ASSERT_EQ(-EINTR, vcpu_run(fd));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 3, 2, 0);
	ASSERT_EQ(0ULL, st.refused);

	/* RUN left it resident: UNBIND is legal. */
	ASSERT_EQ(0, axvcpu_unbind(fd));
}

/*
 * A guest with no memory at all: the first instruction fetch has nothing
 * to fetch.  KVM_RUN enters the guest, which exits with an emulation
 * failure (as KVM's), READY -> RUNNING -> READY.
 */
TEST_F(vcpu, run_without_memory_is_emulation_failure)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;

	drive_to(_metadata, fd, AXVCPU_STATE_READY);
	self->env.run->immediate_exit = 0;
	ASSERT_EQ(0, vcpu_run(fd));
	ASSERT_EQ((__u32)KVM_EXIT_INTERNAL_ERROR, self->env.run->exit_reason);
	ASSERT_EQ((__u32)KVM_INTERNAL_ERROR_EMULATION,
		  self->env.run->internal.suberror);

	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_EQ((__u32)KVM_EXIT_INTERNAL_ERROR, st.last_exit_reason);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 2, 1, 0);
}

/* --- failed hardware steps (fail_step) -> INVALID ----------------------- */

/*
 * After the armed step failed: the failure is used up and the vCPU is
 * INVALID and unbound; its state in @st.
 */
static void check_step_failed(struct __test_metadata *_metadata, int fd,
			      struct axvcpu_state *st)
{
	check_fail_step_unset(_metadata);
	ASSERT_EQ(0, axvcpu_get_state(fd, st));
	ASSERT_STATE(*st, AXVCPU_STATE_INVALID);
	ASSERT_EQ(-1, st->bound_cpu);
}

TEST_F(vcpu, fail_step_setup)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;

	REQUIRE_TEST_HOOKS();

	ASSERT_EQ(0, param_write("fail_step", "setup"));
	ASSERT_EQ(-EIO, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	check_step_failed(_metadata, fd, &st);
	ASSERT_TRANSITIONS(st, 1, 1, 0, 0, 0, 0);
}

TEST_F(vcpu, fail_step_bind)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;

	REQUIRE_TEST_HOOKS();

	drive_to(_metadata, fd, AXVCPU_STATE_FREE);
	ASSERT_EQ(0, param_write("fail_step", "bind"));
	ASSERT_EQ(-EIO, axvcpu_bind(fd, 0, 0));
	check_step_failed(_metadata, fd, &st);
	ASSERT_TRANSITIONS(st, 1, 1, 1, 0, 0, 0);
}

TEST_F(vcpu, fail_step_unbind)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;

	REQUIRE_TEST_HOOKS();

	drive_to(_metadata, fd, AXVCPU_STATE_READY);
	ASSERT_EQ(0, param_write("fail_step", "unbind"));
	ASSERT_EQ(-EIO, axvcpu_unbind(fd));
	check_step_failed(_metadata, fd, &st);
	ASSERT_TRANSITIONS(st, 1, 1, 1, 1, 0, 0);
}

TEST_F(vcpu, fail_step_run)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;

	REQUIRE_TEST_HOOKS();

	drive_to(_metadata, fd, AXVCPU_STATE_READY);
	ASSERT_EQ(0, param_write("fail_step", "run"));
	self->env.run->immediate_exit = 0;
	ASSERT_EQ(-EIO, vcpu_run(fd));
	check_step_failed(_metadata, fd, &st);
	ASSERT_EQ(1ULL, st.transitions[AXVCPU_STATE_INVALID]);
}

TEST_F(vcpu, fail_step_reset)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;

	REQUIRE_TEST_HOOKS();

	drive_to(_metadata, fd, AXVCPU_STATE_INVALID);
	ASSERT_EQ(0, param_write("fail_step", "reset"));
	ASSERT_EQ(-EIO, axvcpu_reset(fd));
	check_step_failed(_metadata, fd, &st);
	ASSERT_EQ(1ULL, st.transitions[AXVCPU_STATE_CREATED]);

	/* The failure was used up: the next RESET works. */
	ASSERT_EQ(0, axvcpu_reset(fd));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);
	ASSERT_EQ(2ULL, st.transitions[AXVCPU_STATE_CREATED]);
}

/* The armed failure hits the next step of that name, on any vCPU, once. */
TEST_F(vcpu, fail_step_is_one_shot)
{
	int a = self->env.vcpu_fd;
	struct axvcpu_state st;
	char buf[64];
	int b, c;

	REQUIRE_TEST_HOOKS();

	b = create_vcpu(self->env.vm_fd, 1);
	ASSERT_LE(0, b);
	c = create_vcpu(self->env.vm_fd, 2);
	ASSERT_LE(0, c);
	drive_to(_metadata, a, AXVCPU_STATE_FREE);
	drive_to(_metadata, b, AXVCPU_STATE_FREE);

	ASSERT_EQ(0, param_write("fail_step", "bind"));
	/* Another step leaves it armed ... */
	ASSERT_EQ(0, axvcpu_setup(c, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(0, param_read("fail_step", buf, sizeof(buf)));
	ASSERT_STREQ("bind", buf);
	/* ... the next bind, on another vCPU, fails ... */
	ASSERT_EQ(-EIO, axvcpu_bind(b, AXVCPU_CPU_ANY, 0));
	check_fail_step_unset(_metadata);
	/* ... and the one after that works. */
	ASSERT_EQ(0, axvcpu_bind(a, AXVCPU_CPU_ANY, 0));

	ASSERT_EQ(0, axvcpu_get_state(a, &st));
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_EQ(0, axvcpu_get_state(b, &st));
	ASSERT_STATE(st, AXVCPU_STATE_INVALID);
	ASSERT_EQ(0, axvcpu_get_state(c, &st));
	ASSERT_STATE(st, AXVCPU_STATE_FREE);
	close(c);
	close(b);
}

TEST_F(vcpu, reset_from_invalid)
{
	int fd = self->env.vcpu_fd;
	struct kvm_run *run = self->env.run;
	struct axvcpu_state st;

	drive_to(_metadata, fd, AXVCPU_STATE_INVALID);
	ASSERT_EQ(0, axvcpu_reset(fd));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);
	ASSERT_EQ(-1, st.bound_cpu);
	ASSERT_TRANSITIONS(st, 1, 2, 0, 0, 0, 0);

	/* Back in business. */
	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(0, axvcpu_bind(fd, AXVCPU_CPU_ANY, 0));
	run->immediate_exit = 1;
	ASSERT_EQ(-EINTR, vcpu_run(fd));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_TRANSITIONS(st, 1, 2, 1, 2, 1, 0);
	ASSERT_EQ(0ULL, st.refused);
}

/* ======================================================================
 * Illegal edges: EBADFD, state and bound CPU untouched, refused counted.
 */

FIXTURE(illegal) {
	struct vcpu_env env;
};

FIXTURE_VARIANT(illegal) {
	__u32 state;
	int nr;
	enum request requests[4];
	enum request legal;	/* still works after the refusals */
};

FIXTURE_VARIANT_ADD(illegal, from_created) {
	.state = AXVCPU_STATE_CREATED,
	.nr = 3,
	.requests = { REQ_BIND, REQ_UNBIND, REQ_RESET },
	.legal = REQ_SETUP,
};

FIXTURE_VARIANT_ADD(illegal, from_free) {
	.state = AXVCPU_STATE_FREE,
	.nr = 3,
	.requests = { REQ_SETUP, REQ_UNBIND, REQ_RESET },
	.legal = REQ_BIND,
};

FIXTURE_VARIANT_ADD(illegal, from_ready) {
	.state = AXVCPU_STATE_READY,
	.nr = 3,
	.requests = { REQ_SETUP, REQ_BIND, REQ_RESET },
	.legal = REQ_UNBIND,
};

FIXTURE_VARIANT_ADD(illegal, from_invalid) {
	.state = AXVCPU_STATE_INVALID,
	.nr = 4,
	.requests = { REQ_SETUP, REQ_BIND, REQ_UNBIND, REQ_RUN },
	.legal = REQ_RESET,
};

FIXTURE_SETUP(illegal)
{
	env_init(&self->env);
	env_open(_metadata, &self->env);
	drive_to(_metadata, self->env.vcpu_fd, variant->state);
}

FIXTURE_TEARDOWN(illegal)
{
	clear_test_params();
	env_close(&self->env);
}

TEST_F(illegal, requests_refused)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;
	int i;

	for (i = 0; i < variant->nr; i++)
		ASSERT_REFUSED(fd, self->env.run, variant->requests[i]);

	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, variant->state);
	ASSERT_EQ((__u64)variant->nr, st.refused);
	if (variant->state == AXVCPU_STATE_INVALID)
		ASSERT_EQ(-1, st.bound_cpu);

	ASSERT_EQ(0, do_request(fd, self->env.run, variant->legal))
		TH_LOG("%s", request_names[variant->legal]);
}

/* ======================================================================
 * A KVM_RUN stalled in RUNNING (test_stall_ms), seen from other threads.
 */

FIXTURE(stall) {
	struct vcpu_env env;
	struct run_thread a;
	struct run_thread b;
	int bound_cpu;
};

FIXTURE_SETUP(stall)
{
	struct axvcpu_state st;
	char buf[32];

	env_init(&self->env);
	ASSERT_EQ(0, install_sigusr1());
	ASSERT_EQ(0, param_read("test_stall_ms", buf, sizeof(buf)));
	ASSERT_STREQ("0", buf);
	env_open(_metadata, &self->env);
	drive_to(_metadata, self->env.vcpu_fd, AXVCPU_STATE_READY);
	ASSERT_EQ(0, axvcpu_get_state(self->env.vcpu_fd, &st));
	ASSERT_LE(0, st.bound_cpu);
	self->bound_cpu = st.bound_cpu;
	/* RUN binds the vCPU where its thread runs: keep it where it is. */
	ASSERT_EQ(0, pin_to_cpu(st.bound_cpu));
}

FIXTURE_TEARDOWN(stall)
{
	set_stall_ms(0);
	run_thread_stop(&self->a);
	run_thread_stop(&self->b);
	clear_test_params();
	env_close(&self->env);
}

TEST_F(stall, get_state_while_running)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;
	long long t0, t1;

	REQUIRE_TEST_HOOKS();

	start_stalled_run(_metadata, &self->a, fd, STALL_MS);

	t0 = now_ms();
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	t1 = now_ms();
	ASSERT_GT(PROMPT_MS, t1 - t0);
	ASSERT_STATE(st, AXVCPU_STATE_RUNNING);
	ASSERT_EQ(self->bound_cpu, st.bound_cpu);
	ASSERT_EQ(1ULL, st.transitions[AXVCPU_STATE_RUNNING]);
	ASSERT_FALSE(run_thread_done(&self->a));

	run_thread_join(&self->a);
	ASSERT_LE(STALL_MS - 10, self->a.end_ms - self->a.start_ms);
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 2, 1, 0);
}

TEST_F(stall, requests_refused_while_running)
{
	static const enum request reqs[] = {
		REQ_BIND, REQ_UNBIND, REQ_SETUP, REQ_RESET,
	};
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;
	long long t0, t1;
	size_t i;
	int ret;

	REQUIRE_TEST_HOOKS();

	start_stalled_run(_metadata, &self->a, fd, STALL_MS);

	/* None of them waits for the vCPU mutex that RUN holds. */
	for (i = 0; i < ARRAY_SIZE(reqs); i++) {
		t0 = now_ms();
		ret = do_request(fd, self->env.run, reqs[i]);
		t1 = now_ms();
		ASSERT_EQ(-EBADFD, ret) TH_LOG("%s", request_names[reqs[i]]);
		ASSERT_GT(PROMPT_MS, t1 - t0)
			TH_LOG("%s", request_names[reqs[i]]);
	}
	ASSERT_FALSE(run_thread_done(&self->a));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_RUNNING);
	ASSERT_EQ(self->bound_cpu, st.bound_cpu);
	ASSERT_EQ((__u64)ARRAY_SIZE(reqs), st.refused);

	run_thread_join(&self->a);
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_EQ(self->bound_cpu, st.bound_cpu);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 2, 1, 0);
	ASSERT_EQ((__u64)ARRAY_SIZE(reqs), st.refused);
}

TEST_F(stall, second_run_waits)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;

	REQUIRE_TEST_HOOKS();

	start_stalled_run(_metadata, &self->a, fd, SHORT_STALL_MS);
	ASSERT_EQ(0, run_thread_start(&self->b, fd));
	sleep_ms(300);
	ASSERT_FALSE(run_thread_done(&self->b));

	run_thread_join(&self->a);
	run_thread_join(&self->b);
	/* B ran its own stalled RUN, after A's. */
	ASSERT_LE(self->a.end_ms, self->b.end_ms);
	ASSERT_LE(SHORT_STALL_MS / 2, self->b.end_ms - self->a.end_ms);
	ASSERT_EQ(self->a.ret, self->b.ret);

	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 3, 2, 0);
}

TEST_F(stall, signal_interrupts_run)
{
	int fd = self->env.vcpu_fd;
	struct axvcpu_state st;

	REQUIRE_TEST_HOOKS();

	start_stalled_run(_metadata, &self->a, fd, SIGNAL_STALL_MS);
	sleep_ms(100);
	ASSERT_EQ(0, pthread_kill(self->a.tid, SIGUSR1));

	run_thread_join(&self->a);
	ASSERT_EQ(-EINTR, self->a.ret);
	ASSERT_GT(SIGNAL_STALL_MS / 2, self->a.end_ms - self->a.start_ms);
	ASSERT_EQ((__u32)KVM_EXIT_INTR, self->env.run->exit_reason);

	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_READY);
	ASSERT_EQ(self->bound_cpu, st.bound_cpu);
	ASSERT_EQ((__u32)KVM_EXIT_INTR, st.last_exit_reason);
	ASSERT_TRANSITIONS(st, 0, 1, 1, 2, 1, 0);
}

/* ======================================================================
 * CPU hotplug: placement names online CPUs; hardware follows the CPUs.
 */

FIXTURE(hotplug) {
	int sys_fd;
	int vm_fd;
	bool cpu1_offline;
};

FIXTURE_SETUP(hotplug)
{
	self->sys_fd = -1;
	self->vm_fd = -1;
	self->cpu1_offline = false;
	open_vm(_metadata, &self->sys_fd, &self->vm_fd);
}

FIXTURE_TEARDOWN(hotplug)
{
	if (self->cpu1_offline)
		EXPECT_EQ(0, cpu_online_set(1, true));
	if (self->vm_fd >= 0)
		close(self->vm_fd);
	if (self->sys_fd >= 0)
		close(self->sys_fd);
}

TEST_F(hotplug, offline_cpu)
{
	struct axvcpu_state st;
	int both, fd;

	if (cpu_online_get(1) != 1 || online_cpus() != 2)
		SKIP(return, "needs exactly CPU0 and CPU1 online");
	if (access("/sys/devices/system/cpu/cpu1/online", W_OK))
		SKIP(return, "CPU1 cannot go offline");

	/* Placed on {0, 1} while both are online. */
	both = create_placed(self->vm_fd, 0, AXVCPU_CPU_ANY, CPU(0) | CPU(1));
	ASSERT_LE(0, both);
	ASSERT_EQ(0, axvcpu_setup(both, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_STATUS("enabled_cpus", 2);

	ASSERT_EQ(0, cpu_online_set(1, false));
	self->cpu1_offline = true;
	ASSERT_EQ(0, cpu_online_get(1));
	ASSERT_STATUS("enabled_cpus", 1);

	/* A set naming an offline CPU, or an offline favorite. */
	ASSERT_EQ(-EINVAL, create_placed(self->vm_fd, 1, AXVCPU_CPU_ANY,
					 CPU(1)));
	ASSERT_EQ(-EINVAL, create_placed(self->vm_fd, 1, AXVCPU_CPU_ANY,
					 CPU(0) | CPU(1)));
	ASSERT_EQ(-EINVAL, create_placed(self->vm_fd, 1, 1, CPUS_ALL));
	/* The empty set is the possible CPUs: fine with one offline. */
	fd = create_placed(self->vm_fd, 1, AXVCPU_CPU_ANY, CPUS_ALL);
	ASSERT_LE(0, fd);
	fd = create_placed(self->vm_fd, 2, 0, CPU(0));
	ASSERT_LE(0, fd);

	/* BIND to the offline CPU; BIND anywhere takes the online one. */
	ASSERT_EQ(-EINVAL, axvcpu_bind(both, 1, 0));
	ASSERT_EQ(0, axvcpu_get_state(both, &st));
	ASSERT_STATE(st, AXVCPU_STATE_FREE);
	ASSERT_EQ(0ULL, st.refused);
	ASSERT_EQ(0, axvcpu_bind(both, AXVCPU_CPU_ANY, 0));
	ASSERT_EQ(0, axvcpu_get_state(both, &st));
	ASSERT_EQ(0, st.bound_cpu);
	ASSERT_EQ(0, axvcpu_unbind(both));

	ASSERT_EQ(0, cpu_online_set(1, true));
	self->cpu1_offline = false;
	ASSERT_STATUS("enabled_cpus", 2);

	fd = create_placed(self->vm_fd, 3, 1, CPU(1));
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, axvcpu_bind(both, 1, 0));
	ASSERT_EQ(0, axvcpu_get_state(both, &st));
	ASSERT_EQ(1, st.bound_cpu);
}

/* ======================================================================
 * Counters in /sys/kernel/debug/axvcpu/status.
 */

TEST(status_idle)
{
	ASSERT_STATUS("vms", 0);
	ASSERT_STATUS("vcpus", 0);
	ASSERT_STATUS("hardware_users", 0);
	ASSERT_STATUS("enabled_cpus", 0);
	ASSERT_STATUS("pinned_pages", 0);
}

TEST(status_tracks_objects)
{
	int sys, vm, vm2, vcpu[3], other, size, i;
	struct kvm_run *run;
	char *mem;

	mem = mem_alloc(4);
	ASSERT_NE(NULL, mem);
	sys = open_dev(axvcpu_dev_path());
	ASSERT_LE(0, sys);
	ASSERT_STATUS("vms", 0);
	ASSERT_STATUS("hardware_users", 0);

	vm = create_vm(sys);
	ASSERT_LE(0, vm);
	ASSERT_STATUS("vms", 1);
	ASSERT_LE(1, status_get("hardware_users"));
	ASSERT_STATUS("enabled_cpus", online_cpus());
	ASSERT_STATUS("vcpus", 0);

	for (i = 0; i < 3; i++) {
		vcpu[i] = create_vcpu(vm, i);
		ASSERT_LE(0, vcpu[i]);
	}
	ASSERT_STATUS("vcpus", 3);
	ASSERT_EQ(0, set_region(vm, 0, 0, 0, 4 * page_size(), mem));
	ASSERT_STATUS("pinned_pages", 4);

	vm2 = create_vm(sys);
	ASSERT_LE(0, vm2);
	other = create_vcpu(vm2, 0);
	ASSERT_LE(0, other);
	ASSERT_STATUS("vms", 2);
	ASSERT_STATUS("vcpus", 4);
	ASSERT_LE(1, status_get("hardware_users"));
	ASSERT_EQ(0, close(other));
	ASSERT_EQ(0, close(vm2));
	ASSERT_STATUS("vms", 1);
	ASSERT_STATUS("vcpus", 3);

	/* A kvm_run mapping alone keeps the VM, its vCPUs and memory. */
	size = vcpu_mmap_size(sys);
	run = map_run(vcpu[1], size);
	ASSERT_NE(NULL, run);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, close(vcpu[i]));
	ASSERT_EQ(0, close(vm));
	ASSERT_EQ(0, close(sys));
	ASSERT_STATUS("vms", 1);
	ASSERT_STATUS("vcpus", 3);
	ASSERT_STATUS("pinned_pages", 4);
	ASSERT_LE(1, status_get("hardware_users"));

	ASSERT_EQ(0, munmap(run, size));
	ASSERT_STATUS("vms", 0);
	ASSERT_STATUS("vcpus", 0);
	ASSERT_STATUS("pinned_pages", 0);
	ASSERT_STATUS("hardware_users", 0);
	ASSERT_STATUS("enabled_cpus", 0);
	mem_free(mem, 4);
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
 * Make and destroy a VM with vCPUs, mappings, memory and a bound vCPU many
 * times, closing things in varying orders: nothing may be left behind.
 */
TEST_F_TIMEOUT(cycles, create_destroy, 300)
{
	check_vm_cycles(_metadata, CYCLES, VM_CYCLE_BIND_ONE);
	ASSERT_STATUS("vms", 0);
	ASSERT_STATUS("vcpus", 0);
	ASSERT_STATUS("hardware_users", 0);
	ASSERT_STATUS("pinned_pages", 0);
}

/* ======================================================================
 * Module lifetime: unloading, reloading, strict_transitions=1.
 *
 * These tests unload axvcpu; the test process holds no axvcpu fd when
 * they start, and the teardown always loads it back without parameters.
 */

FIXTURE(reload) {
	struct vcpu_env env;
	struct run_thread a;
};

FIXTURE_SETUP(reload)
{
	env_init(&self->env);
	ASSERT_EQ(0, install_sigusr1());
}

/* Loaded, without strict_transitions, and the device back. */
static void restore_module(struct __test_metadata *_metadata)
{
	char buf[16];

	if (module_is_loaded()) {
		if (!param_read("strict_transitions", buf, sizeof(buf)) &&
		    param_is_false(buf))
			return;
		EXPECT_EQ(0, module_unload());
	}
	EXPECT_EQ(0, module_load(axvcpu_ko_path(), ""));
	EXPECT_EQ(0, wait_for_dev(axvcpu_dev_path(), 5000));
}

FIXTURE_TEARDOWN(reload)
{
	set_stall_ms(0);
	run_thread_stop(&self->a);
	env_close(&self->env);
	restore_module(_metadata);
}

/* The reload tests need the module file to load it back. */
static bool ko_readable(void)
{
	return access(axvcpu_ko_path(), R_OK) == 0;
}

#define KO_MISSING	"%s is not readable (set AXVCPU_KO)"

/* Unload (nothing may hold it) and load with @params. */
static void reload(struct __test_metadata *_metadata, const char *params)
{
	ASSERT_EQ(0, module_unload());
	ASSERT_FALSE(module_is_loaded());
	ASSERT_EQ(0, module_load(axvcpu_ko_path(), params));
	ASSERT_TRUE(module_is_loaded());
	ASSERT_EQ(0, wait_for_dev(axvcpu_dev_path(), 5000));
}

/* Reload with strict_transitions=1; then a VM and vCPU 0 in @e. */
static void reload_strict(struct __test_metadata *_metadata,
			  struct vcpu_env *e)
{
	reload(_metadata, "strict_transitions=1");
	env_open(_metadata, e);
}

/*
 * delete_module() of a module in use: Linux 6.1's try_stop_module()
 * answers -EWOULDBLOCK (== EAGAIN).
 */
TEST_F(reload, busy_while_system_fd_open)
{
	if (!ko_readable())
		SKIP(return, KO_MISSING, axvcpu_ko_path());
	self->env.sys_fd = open_dev(axvcpu_dev_path());
	ASSERT_LE(0, self->env.sys_fd);

	ASSERT_EQ(-EWOULDBLOCK, module_unload());
	ASSERT_TRUE(module_is_loaded());
	ASSERT_EQ(12, do_ioctl(self->env.sys_fd, KVM_GET_API_VERSION, 0));

	env_close(&self->env);
	reload(_metadata, "");
}

TEST_F(reload, busy_while_vcpu_fd_open)
{
	struct axvcpu_state st;

	if (!ko_readable())
		SKIP(return, KO_MISSING, axvcpu_ko_path());
	env_open(_metadata, &self->env);
	ASSERT_EQ(0, munmap(self->env.run, self->env.size));
	self->env.run = NULL;
	ASSERT_EQ(0, close(self->env.vm_fd));
	self->env.vm_fd = -1;
	ASSERT_EQ(0, close(self->env.sys_fd));
	self->env.sys_fd = -1;

	ASSERT_EQ(-EWOULDBLOCK, module_unload());
	ASSERT_TRUE(module_is_loaded());
	ASSERT_EQ(0, axvcpu_get_state(self->env.vcpu_fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);

	env_close(&self->env);
	reload(_metadata, "");
}

TEST_F(reload, busy_while_run_mapped)
{
	struct kvm_run *run;
	int size;

	if (!ko_readable())
		SKIP(return, KO_MISSING, axvcpu_ko_path());
	env_open(_metadata, &self->env);
	run = self->env.run;
	size = self->env.size;
	self->env.run = NULL;
	env_close(&self->env);

	ASSERT_EQ(-EWOULDBLOCK, module_unload());
	ASSERT_TRUE(module_is_loaded());
	ASSERT_EQ((__u32)KVM_EXIT_UNKNOWN, run->exit_reason);

	ASSERT_EQ(0, munmap(run, size));
	reload(_metadata, "");
}

TEST_F(reload, strict_transitions_param)
{
	char buf[16];

	if (!ko_readable())
		SKIP(return, KO_MISSING, axvcpu_ko_path());
	ASSERT_EQ(0, param_read("strict_transitions", buf, sizeof(buf)));
	ASSERT_TRUE(param_is_false(buf)) TH_LOG("reads \"%s\"", buf);

	reload(_metadata, "strict_transitions=1");
	ASSERT_EQ(0, param_read("strict_transitions", buf, sizeof(buf)));
	ASSERT_TRUE(param_is_true(buf)) TH_LOG("reads \"%s\"", buf);
	/* Set at load only. */
	ASSERT_EQ(-EACCES, param_write("strict_transitions", "0"));
	ASSERT_EQ(0, param_read("strict_transitions", buf, sizeof(buf)));
	ASSERT_TRUE(param_is_true(buf)) TH_LOG("reads \"%s\"", buf);

	reload(_metadata, "");
	ASSERT_EQ(0, param_read("strict_transitions", buf, sizeof(buf)));
	ASSERT_TRUE(param_is_false(buf)) TH_LOG("reads \"%s\"", buf);
}

TEST_F(reload, strict_illegal_request_invalidates)
{
	struct axvcpu_state st;
	int fd;

	if (!ko_readable())
		SKIP(return, KO_MISSING, axvcpu_ko_path());
	reload_strict(_metadata, &self->env);
	fd = self->env.vcpu_fd;

	ASSERT_EQ(-EBADFD, axvcpu_bind(fd, AXVCPU_CPU_ANY, 0));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_INVALID);
	ASSERT_EQ(-1, st.bound_cpu);
	ASSERT_TRANSITIONS(st, 1, 1, 0, 0, 0, 0);
	ASSERT_EQ(1ULL, st.refused);

	ASSERT_EQ(0, axvcpu_reset(fd));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);
	ASSERT_TRANSITIONS(st, 1, 2, 0, 0, 0, 0);

	/* From a bound vCPU too: it ends up unbound. */
	drive_to(_metadata, fd, AXVCPU_STATE_READY);
	ASSERT_EQ(-EBADFD, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_INVALID);
	ASSERT_EQ(-1, st.bound_cpu);
	ASSERT_EQ(2ULL, st.transitions[AXVCPU_STATE_INVALID]);
	ASSERT_EQ(0, axvcpu_reset(fd));
}

TEST_F(reload, strict_argument_error_keeps_state)
{
	struct axvcpu_state st;
	int fd;

	if (!ko_readable())
		SKIP(return, KO_MISSING, axvcpu_ko_path());
	reload_strict(_metadata, &self->env);
	fd = self->env.vcpu_fd;

	/* Bad arguments are not illegal transitions. */
	ASSERT_EQ(-EINVAL, axvcpu_setup(fd, 7, 0, 0));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);
	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(-EINVAL, axvcpu_bind(fd, AXVCPU_CPU_ANY, 1));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_FREE);
	ASSERT_EQ(0ULL, st.refused);
	ASSERT_EQ(0ULL, st.transitions[AXVCPU_STATE_INVALID]);
}

TEST_F(reload, strict_bind_during_run_invalidates)
{
	struct axvcpu_state st;
	long long t0, t1;
	int fd;

	REQUIRE_TEST_HOOKS();

	if (!ko_readable())
		SKIP(return, KO_MISSING, axvcpu_ko_path());
	reload_strict(_metadata, &self->env);
	fd = self->env.vcpu_fd;
	drive_to(_metadata, fd, AXVCPU_STATE_READY);

	start_stalled_run(_metadata, &self->a, fd, SHORT_STALL_MS);
	t0 = now_ms();
	ASSERT_EQ(-EBADFD, axvcpu_bind(fd, AXVCPU_CPU_ANY, 0));
	t1 = now_ms();
	ASSERT_GT(PROMPT_MS, t1 - t0);
	ASSERT_FALSE(run_thread_done(&self->a));

	run_thread_join(&self->a);
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_INVALID);
	ASSERT_EQ(-1, st.bound_cpu);
	ASSERT_EQ(1ULL, st.refused);

	ASSERT_EQ(0, axvcpu_reset(fd));
	ASSERT_EQ(0, axvcpu_get_state(fd, &st));
	ASSERT_STATE(st, AXVCPU_STATE_CREATED);
}

TEST_HARNESS_MAIN
