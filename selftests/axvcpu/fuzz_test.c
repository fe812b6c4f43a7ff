// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_test: a seeded, bounded fuzzer of every ioctl axvcpu answers.
 *
 * Several threads, and at times a forked child, issue random sequences of
 * system, VM and vCPU ioctls with random and boundary arguments, bad and
 * unmapped pointers, read()/poll()/mmap() on the fds, and random closes.
 * Every call must succeed or fail with an errno of the documented set; a
 * KVM_RUN always ends (immediate_exit, or a per-thread timer signal).
 * Afterwards the invariants must hold: GET_STATE was sane on every call,
 * and once the fds are closed the module counts no VM, vCPU or pinned page.
 *
 * AXVCPU_FUZZ_SEEDS ("1,2,3" ...) and AXVCPU_FUZZ_CALLS (per thread and
 * seed) choose the run; a failure prints the seed, the thread, the call
 * number and the call, so that AXVCPU_FUZZ_SEEDS=<seed> replays it.  The
 * run is reproducible up to the threads' interleaving.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "axvcpu_util.h"

#define FUZZ_THREADS	3
#define POOL_SYS	2
#define POOL_VM		3
#define POOL_VCPU	6
#define MEM_PAGES	16
#define RUN_TIMER_NS	(5 * 1000 * 1000)
#define DEFAULT_SEEDS	"1,2,3,4"
#define DEFAULT_CALLS	1500

/* xorshift64*: small, and the same sequence everywhere. */
struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545f4914f6cdd1dULL;
}

static uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

/* A value a careless or hostile caller might pass. */
static uint64_t boundary(struct rng *r)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 7, 8, 255, 256, 511, 1023, 1024, 4095, 4096,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
		0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL,
		~0ULL - 4095, 0xfffff000, 0x10000, 0x200000,
	};

	switch (below(r, 3)) {
	case 0:
		return v[below(r, sizeof(v) / sizeof(v[0]))];
	case 1:
		return below(r, 64);
	default:
		return rnd(r);
	}
}

struct pool {
	pthread_mutex_t lock;
	int sys[POOL_SYS];
	int vm[POOL_VM];
	int vcpu[POOL_VCPU];
	struct kvm_run *run[POOL_VCPU];
	size_t run_size;
	uint8_t *mem;			/* MEM_PAGES, for memory regions */
	void *noaccess;			/* a PROT_NONE page */
};

struct fuzzer {
	struct pool *pool;
	uint64_t seed;
	int thread;
	int calls;
	bool child;			/* a forked child: VM and vCPU fds say EIO */
	int ok;				/* calls that succeeded */
	int runs;			/* KVM_RUN that entered (0 or EINTR) */
	/* the failure, if any */
	char failed[256];
};

/* The errnos api.rst documents for these calls. */
static bool documented(int e)
{
	switch (e) {
	case EINVAL: case EFAULT: case ENOTTY: case EBADFD: case EBUSY:
	case EEXIST: case ENOMEM: case ENXIO: case EINTR: case EIO:
	case EAGAIN: case E2BIG: case ENOENT: case EPERM: case EBADF:
	case ENOSPC: case EOPNOTSUPP: case ERANGE: case EMFILE:
	case ENODEV: case ENFILE: case EACCES:
	/* arm64's KVM_RUN: before KVM_ARM_VCPU_INIT; an undecodable abort. */
	case ENOEXEC: case ENOSYS:
		return true;
	}
	return false;
}

/* A pointer argument: mostly good, sometimes bad in one of several ways. */
static void *pointer(struct fuzzer *f, struct rng *r, void *good)
{
	switch (below(r, 8)) {
	case 0:
		return NULL;
	case 1:
		return f->pool->noaccess;
	case 2:
		return (void *)(uintptr_t)0xffff800000001000ULL; /* kernel */
	case 3:
		return (void *)(uintptr_t)1;
	default:
		return good;
	}
}

static int pick(struct fuzzer *f, struct rng *r, int *fds, int n)
{
	int fd;

	pthread_mutex_lock(&f->pool->lock);
	fd = fds[below(r, n)];
	pthread_mutex_unlock(&f->pool->lock);
	return fd;
}

/* Put a new fd in a free (or random) slot; a displaced fd is closed. */
static void put(struct fuzzer *f, struct rng *r, int *fds, int n, int fd,
		struct kvm_run **runs)
{
	int i, slot = -1, old;

	pthread_mutex_lock(&f->pool->lock);
	for (i = 0; i < n && slot < 0; i++)
		if (fds[i] < 0)
			slot = i;
	if (slot < 0)
		slot = below(r, n);
	old = fds[slot];
	fds[slot] = fd;
	if (runs) {
		if (runs[slot])
			munmap(runs[slot], f->pool->run_size);
		runs[slot] = NULL;
		if (fd >= 0) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			void *p = mmap(NULL, f->pool->run_size,
				       PROT_READ | PROT_WRITE, MAP_SHARED,
				       fd, 0);

			runs[slot] = p == MAP_FAILED ? NULL : p;
		}
	}
	pthread_mutex_unlock(&f->pool->lock);
	if (old >= 0)
		close(old);
}

static void drop(struct fuzzer *f, struct rng *r, int *fds, int n,
		 struct kvm_run **runs)
{
	put(f, r, fds, n, -1, runs);
}

/* --- the calls ---------------------------------------------------------- */

static unsigned long random_ioctl(struct rng *r)
{
	unsigned int type = below(r, 2) ? KVMIO : AXVCPU_IO;
	unsigned int dir = below(r, 4), size = below(r, 2) ? below(r, 512) :
					       boundary(r) & 0x3fff;

	return _IOC(dir, type, below(r, 256), size);
}

static int sys_call(struct fuzzer *f, struct rng *r, char *what)
{
	int fd = pick(f, r, f->pool->sys, POOL_SYS), ret;
	unsigned long req;

	switch (below(r, 6)) {
	case 0:
		strcpy(what, "KVM_CREATE_VM");
		ret = do_ioctl(fd, KVM_CREATE_VM, below(r, 4) ? 0 :
			       boundary(r));
		if (ret >= 0)
			put(f, r, f->pool->vm, POOL_VM, ret, NULL);
		return ret;
	case 1:
		strcpy(what, "KVM_CHECK_EXTENSION");
		return do_ioctl(fd, KVM_CHECK_EXTENSION, boundary(r));
	case 2:
		strcpy(what, "KVM_GET_API_VERSION");
		return do_ioctl(fd, KVM_GET_API_VERSION, boundary(r));
	case 3:
		strcpy(what, "KVM_GET_VCPU_MMAP_SIZE");
		return do_ioctl(fd, KVM_GET_VCPU_MMAP_SIZE, boundary(r));
	case 4:
		req = random_ioctl(r);
		snprintf(what, 64, "system ioctl 0x%lx", req);
		return do_ioctl(fd, req, (unsigned long)pointer(f, r,
				f->pool->mem));
	default:
		strcpy(what, "open");
		ret = open_dev(axvcpu_dev_path());
		if (ret >= 0)
			put(f, r, f->pool->sys, POOL_SYS, ret, NULL);
		return ret;
	}
}

static int vm_call(struct fuzzer *f, struct rng *r, char *what)
{
	int fd = pick(f, r, f->pool->vm, POOL_VM), ret;
	struct kvm_userspace_memory_region region;
	struct axvcpu_create_vcpu cv;
	unsigned long req;
	unsigned int i;

	switch (below(r, 7)) {
	case 0:
		strcpy(what, "KVM_CREATE_VCPU");
		ret = do_ioctl(fd, KVM_CREATE_VCPU, below(r, 2) ?
			       below(r, 8) : boundary(r));
		break;
	case 1:
		strcpy(what, "AXVCPU_CREATE_VCPU");
		memset(&cv, 0, sizeof(cv));
		cv.vcpu_id = below(r, 2) ? below(r, 8) : boundary(r);
		cv.favor_phys_cpu = below(r, 2) ? AXVCPU_CPU_ANY :
				    (int)boundary(r);
		if (!below(r, 8))
			cv.flags = boundary(r);
		if (!below(r, 8))
			cv.pad = boundary(r);
		for (i = 0; i < AXVCPU_CPU_SET_WORDS; i++)
			if (!below(r, 4))
				cv.phys_cpu_set[i] = i ? boundary(r) : rnd(r);
		ret = do_ioctl_ptr(fd, AXVCPU_CREATE_VCPU,
				   pointer(f, r, &cv));
		break;
	case 2:
		strcpy(what, "KVM_SET_USER_MEMORY_REGION");
		memset(&region, 0, sizeof(region));
		region.slot = below(r, 2) ? below(r, 4) : boundary(r);
		region.flags = below(r, 2) ? 0 : below(r, 2) ?
			       KVM_MEM_READONLY : boundary(r);
		region.guest_phys_addr = below(r, 2) ?
					 below(r, 32) * 4096 : boundary(r);
		region.memory_size = below(r, 2) ?
				     below(r, MEM_PAGES + 1) * 4096 :
				     boundary(r);
		region.userspace_addr = below(r, 2) ?
			(uintptr_t)f->pool->mem + below(r, 4) * 4096 :
			(uintptr_t)pointer(f, r, f->pool->mem) + below(r, 2);
		return do_ioctl_ptr(fd, KVM_SET_USER_MEMORY_REGION,
				    pointer(f, r, &region));
	case 3:
		strcpy(what, "KVM_CHECK_EXTENSION (VM)");
		return do_ioctl(fd, KVM_CHECK_EXTENSION, boundary(r));
#if defined(__x86_64__)
	case 4:
		strcpy(what, "KVM_SET_TSS_ADDR");
		return do_ioctl(fd, KVM_SET_TSS_ADDR, boundary(r));
#elif defined(__aarch64__)
	case 4: {
		struct kvm_vcpu_init init;

		strcpy(what, "KVM_ARM_PREFERRED_TARGET");
		return do_ioctl_ptr(fd, KVM_ARM_PREFERRED_TARGET,
				    pointer(f, r, &init));
	}
#endif
	case 5:
		req = random_ioctl(r);
		snprintf(what, 64, "VM ioctl 0x%lx", req);
		return do_ioctl(fd, req, (unsigned long)pointer(f, r,
				f->pool->mem));
	default:
		strcpy(what, "close VM");
		drop(f, r, f->pool->vm, POOL_VM, NULL);
		return 0;
	}
	if (ret >= 0)
		put(f, r, f->pool->vcpu, POOL_VCPU, ret, f->pool->run);
	return ret;
}

/* KVM_RUN that always ends: immediate_exit, or this thread's timer. */
static int run_vcpu(struct fuzzer *f, struct rng *r, int fd, int slot,
		    timer_t timer)
{
	struct itimerspec its = { .it_value.tv_nsec = RUN_TIMER_NS };
	struct kvm_run *run;
	int ret;

	pthread_mutex_lock(&f->pool->lock);
	run = f->pool->run[slot];
	if (run && f->pool->vcpu[slot] == fd)
		run->immediate_exit = below(r, 2);
	pthread_mutex_unlock(&f->pool->lock);
	timer_settime(timer, 0, &its, NULL);
	ret = do_ioctl(fd, KVM_RUN, 0);
	memset(&its, 0, sizeof(its));
	timer_settime(timer, 0, &its, NULL);
	return ret;
}

/*
 * GET_STATE takes no lock: state and bound_cpu may come from either side
 * of a BIND or UNBIND, so only what holds at every instant is checked.
 */
static bool state_sane(const struct axvcpu_state *st)
{
	return st->state < AXVCPU_NR_STATES && st->bound_cpu >= -1 &&
	       st->bound_cpu < AXVCPU_MAX_CPUS &&
	       st->transitions[AXVCPU_STATE_CREATED] >= 1 &&
	       !st->reserved[0];
}

static int vcpu_call(struct fuzzer *f, struct rng *r, char *what,
		     timer_t timer)
{
	int slot = below(r, POOL_VCPU), fd, ret;
	uint8_t buf[4096] __attribute__((aligned(16)));
	struct axvcpu_state st;
	unsigned long req;
	struct pollfd p;

	pthread_mutex_lock(&f->pool->lock);
	fd = f->pool->vcpu[slot];
	pthread_mutex_unlock(&f->pool->lock);
	for (size_t i = 0; i < sizeof(buf); i += 8) {
		uint64_t v = boundary(r);

		memcpy(buf + i, &v, 8);
	}

	switch (below(r, 16)) {
	case 0:
	case 1:
		strcpy(what, "KVM_RUN");
		return run_vcpu(f, r, fd, slot, timer);
	case 2:
		strcpy(what, "AXVCPU_GET_STATE");
		ret = do_ioctl_ptr(fd, AXVCPU_GET_STATE, &st);
		if (!ret && !f->child && !state_sane(&st)) {
			snprintf(what, 128,
				 "AXVCPU_GET_STATE: state %u bound to %d",
				 st.state, st.bound_cpu);
			return -EPROTO;	/* not documented: fails the run */
		}
		return ret;
	case 3:
		strcpy(what, "AXVCPU_SETUP");
		return do_ioctl_ptr(fd, AXVCPU_SETUP, pointer(f, r, buf));
	case 4:
		strcpy(what, "AXVCPU_BIND");
		((int32_t *)buf)[0] = below(r, 2) ? AXVCPU_CPU_ANY :
				      (int32_t)below(r, 4);
		((uint32_t *)buf)[1] = below(r, 4) ? 0 : boundary(r);
		return do_ioctl_ptr(fd, AXVCPU_BIND, pointer(f, r, buf));
	case 5:
		strcpy(what, "AXVCPU_UNBIND / RESET / KICK");
		req = below(r, 3) == 0 ? AXVCPU_UNBIND : below(r, 2) ?
		      AXVCPU_RESET : AXVCPU_KICK;
		return do_ioctl(fd, req, boundary(r));
	case 6:
		strcpy(what, "AXVCPU_INJECT");
		((uint32_t *)buf)[0] = below(r, 2) ? below(r, 256) :
				       boundary(r);
		((uint32_t *)buf)[1] = below(r, 4) ? 0 : boundary(r);
		return do_ioctl_ptr(fd, AXVCPU_INJECT, pointer(f, r, buf));
	case 7:
		strcpy(what, "AXVCPU_TRACE_STATES");
		((uint32_t *)buf)[0] = below(r, 2) ? 1U << below(r, 13) :
				       boundary(r);
		((uint32_t *)buf)[1] = below(r, 4) ? 0 : boundary(r);
		return do_ioctl_ptr(fd, AXVCPU_TRACE_STATES,
				    pointer(f, r, buf));
	case 8:
		strcpy(what, "poll and read");
		p.fd = fd;
		p.events = POLLIN;
		ret = poll(&p, 1, 0);
		if (ret < 0)
			return -errno;
		/*
		 * The pool's vCPU fds are O_NONBLOCK: another thread may take
		 * the records poll saw, and a blocking read would then wait
		 * for a transition that may never come.
		 */
		ret = read(fd, pointer(f, r, buf), below(r, 2) ?
			   below(r, 64) : sizeof(buf));
		return ret < 0 ? -errno : 0;
	case 9: {
		void *m;

		strcpy(what, "mmap");
		m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 below(r, 4) * 4096);
		if (m == MAP_FAILED)
			return -errno;
		/* A page past kvm_run's faults: do not touch it. */
		munmap(m, 4096);
		return 0;
	}
#if defined(__x86_64__)
	case 10:
		req = below(r, 2) ? (below(r, 2) ? KVM_GET_REGS : KVM_SET_REGS) :
		      (below(r, 2) ? KVM_GET_SREGS : KVM_SET_SREGS);
		snprintf(what, 64, "x86 register ioctl 0x%lx", req);
		return do_ioctl_ptr(fd, req, pointer(f, r, buf));
	case 11:
		strcpy(what, "KVM_INTERRUPT");
		((uint32_t *)buf)[0] = below(r, 2) ? below(r, 256) :
				       boundary(r);
		return do_ioctl_ptr(fd, KVM_INTERRUPT, pointer(f, r, buf));
#elif defined(__aarch64__)
	case 10: {
		struct kvm_one_reg reg = {
			.id = below(r, 2) ? KVM_REG_ARM64 | KVM_REG_SIZE_U64 |
				KVM_REG_ARM_CORE | below(r, 80) : boundary(r),
			.addr = (uintptr_t)pointer(f, r, buf),
		};

		req = below(r, 2) ? KVM_GET_ONE_REG : KVM_SET_ONE_REG;
		snprintf(what, 64, "ONE_REG 0x%lx id 0x%llx", req,
			 (unsigned long long)reg.id);
		return do_ioctl_ptr(fd, req, pointer(f, r, &reg));
	}
	case 11:
		if (below(r, 2)) {
			strcpy(what, "KVM_ARM_VCPU_INIT");
			return do_ioctl_ptr(fd, KVM_ARM_VCPU_INIT,
					    pointer(f, r, buf));
		}
		strcpy(what, "KVM_GET_REG_LIST");
		((uint64_t *)buf)[0] = below(r, 2) ? below(r, 512) :
				       boundary(r);
		return do_ioctl_ptr(fd, KVM_GET_REG_LIST, pointer(f, r, buf));
#endif
	case 12:
		req = random_ioctl(r);
		snprintf(what, 64, "vCPU ioctl 0x%lx", req);
		return do_ioctl(fd, req, (unsigned long)pointer(f, r, buf));
	case 13:
		strcpy(what, "close vCPU");
		drop(f, r, f->pool->vcpu, POOL_VCPU, f->pool->run);
		return 0;
	default:
		strcpy(what, "AXVCPU_GET_STATE (plain)");
		return do_ioctl_ptr(fd, AXVCPU_GET_STATE, pointer(f, r, &st));
	}
}

static void on_timer(int sig)
{
	(void)sig;	/* only to end KVM_RUN with EINTR */
}

/* Run f->calls random calls; false (f->failed says why) on a bad errno. */
static bool fuzz(struct fuzzer *f)
{
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID,
				.sigev_signo = SIGUSR2 };
	struct rng r = { .s = f->seed * 0x9e3779b97f4a7c15ULL + f->thread +
			 (f->child ? 1000 : 0) + 1 };
	char what[160];
	timer_t timer;
	int i, ret;

	sev._sigev_un._tid = syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &timer)) {
		snprintf(f->failed, sizeof(f->failed), "timer_create: %s",
			 strerror(errno));
		return false;
	}
	for (i = 0; i < f->calls; i++) {
		what[0] = '\0';
		switch (below(&r, 8)) {
		case 0:
			ret = sys_call(f, &r, what);
			break;
		case 1:
		case 2:
			ret = vm_call(f, &r, what);
			break;
		default:
			ret = vcpu_call(f, &r, what, timer);
			break;
		}
		if (ret >= 0)
			f->ok++;
		if (!strcmp(what, "KVM_RUN") && (!ret || ret == -EINTR))
			f->runs++;
		if (ret < 0 && !documented(-ret)) {
			snprintf(f->failed, sizeof(f->failed),
				 "seed %llu thread %d%s call %d: %s: %s (%d)",
				 (unsigned long long)f->seed, f->thread,
				 f->child ? " (forked child)" : "", i, what,
				 strerror(-ret), -ret);
			break;
		}
	}
	timer_delete(timer);
	return !f->failed[0];
}

static void *fuzz_thread(void *arg)
{
	struct fuzzer *f = arg;

	fuzz(f);
	return NULL;
}

/* A forked child: the fds it inherited belong to its parent's mm. */
static int fuzz_child(struct fuzzer *f)
{
	f->child = true;
	f->calls /= 4;
	if (!fuzz(f)) {
		fprintf(stderr, "# %s\n", f->failed);
		return 1;
	}
	return 0;
}

static void pool_init(struct pool *p)
{
	int i;

	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	for (i = 0; i < POOL_SYS; i++)
		p->sys[i] = -1;
	for (i = 0; i < POOL_VM; i++)
		p->vm[i] = -1;
	for (i = 0; i < POOL_VCPU; i++)
		p->vcpu[i] = -1;
}

static void pool_close(struct pool *p)
{
	int i;

	for (i = 0; i < POOL_VCPU; i++) {
		if (p->run[i])
			munmap(p->run[i], p->run_size);
		if (p->vcpu[i] >= 0)
			close(p->vcpu[i]);
	}
	for (i = 0; i < POOL_VM; i++)
		if (p->vm[i] >= 0)
			close(p->vm[i]);
	for (i = 0; i < POOL_SYS; i++)
		if (p->sys[i] >= 0)
			close(p->sys[i]);
}

static unsigned long env_num(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

#define FD_WATCH	1024	/* fds below this are checked for leftovers */

/* Which fds below FD_WATCH are open, as a bitmap of FD_WATCH bits. */
static void open_fds(uint8_t *map)
{
	struct dirent *de;
	DIR *dir;
	int fd;

	memset(map, 0, FD_WATCH / 8);
	dir = opendir("/proc/self/fd");
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		fd = atoi(de->d_name);
		if (de->d_name[0] != '.' && fd < FD_WATCH)
			map[fd / 8] |= 1 << (fd % 8);
	}
	closedir(dir);
}

/*
 * Close the fds opened since @before: a random ioctl may have returned
 * one the pool does not track (KVM_GET_STATS_FD's holds its VM).
 */
static void close_new_fds(const uint8_t *before)
{
	uint8_t now[FD_WATCH / 8];
	char path[32], link[64];
	ssize_t n;
	int fd;

	open_fds(now);
	for (fd = 3; fd < FD_WATCH; fd++) {
		if (!((now[fd / 8] & ~before[fd / 8]) & (1 << (fd % 8))))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		printf("# fd %d left open by a random call: %s\n", fd, link);
		close(fd);
	}
}

/* One seed: the threads, a forked child midway, then the invariants. */
static void fuzz_seed(struct __test_metadata *_metadata, uint64_t seed,
		      int calls)
{
	uint8_t fds_before[FD_WATCH / 8];
	struct fuzzer f[FUZZ_THREADS];
	pthread_t t[FUZZ_THREADS];
	struct pool pool;
	int i, sys, status;
	pid_t pid;

	open_fds(fds_before);
	pool_init(&pool);
	sys = open_dev(axvcpu_dev_path());
	ASSERT_LE(0, sys);
	pool.run_size = vcpu_mmap_size(sys);
	ASSERT_LT(0, (int)pool.run_size);
	pool.sys[0] = sys;
	pool.mem = mem_alloc(MEM_PAGES);
	ASSERT_NE(NULL, pool.mem);
	pool.noaccess = mmap(NULL, 4096, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pool.noaccess);

	for (i = 0; i < FUZZ_THREADS; i++) {
		memset(&f[i], 0, sizeof(f[i]));
		f[i].pool = &pool;
		f[i].seed = seed;
		f[i].thread = i;
		f[i].calls = calls;
	}
	/*
	 * A child with the same fds, running beside the threads; forked
	 * before they start, so that it inherits no lock they hold.
	 */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(fuzz_child(&f[0]));
	for (i = 1; i < FUZZ_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, fuzz_thread, &f[i]));

	fuzz(&f[0]);
	for (i = 1; i < FUZZ_THREADS; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	for (i = 0; i < FUZZ_THREADS; i++) {
		if (f[i].failed[0])
			TH_LOG("%s", f[i].failed);
		ASSERT_EQ('\0', f[i].failed[0]);
	}
	TH_LOG("seed %llu: %d calls in each of %d threads (%d, %d, %d succeeded; %d, %d, %d KVM_RUN entered), %d in a forked child",
	       (unsigned long long)seed, calls, FUZZ_THREADS, f[0].ok,
	       f[1].ok, f[2].ok, f[0].runs, f[1].runs, f[2].runs, calls / 4);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) {
		TH_LOG("seed %llu: the forked child failed",
		       (unsigned long long)seed);
	}

	/* Closed, everything goes: nothing left behind. */
	pool_close(&pool);
	close_new_fds(fds_before);
	munmap(pool.noaccess, 4096);
	mem_free(pool.mem, MEM_PAGES);
	if (status_get("vms") >= 0) {
		ASSERT_EQ(0, status_get("vms"));
		ASSERT_EQ(0, status_get("vcpus"));
		ASSERT_EQ(0, status_get("pinned_pages"));
	}
}

FIXTURE(fuzz) {
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

/*
 * make fuzz's million calls take about two hours on the debug kernel
 * under TCG (6-8 minutes a seed): the harness's own limit must not end
 * them.  A hang is still caught by the runner's per-program limit
 * (guest-init.sh, AXVCPU_TEST_TIMEOUT) and by the boot's.
 */
TEST_F_TIMEOUT(fuzz, seeds, 4 * 3600)
{
	const char *seeds = getenv("AXVCPU_FUZZ_SEEDS");
	int calls = env_num("AXVCPU_FUZZ_CALLS", DEFAULT_CALLS);
	struct sigaction sa = { .sa_handler = on_timer };
	char *list, *tok, *save;
	long long total = 0;

	sigaction(SIGUSR2, &sa, NULL);	/* no SA_RESTART */
	list = strdup(seeds && *seeds ? seeds : DEFAULT_SEEDS);
	ASSERT_NE(NULL, list);
	for (tok = strtok_r(list, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		uint64_t seed = strtoull(tok, NULL, 0);

		fuzz_seed(_metadata, seed, calls);
		total += (long long)calls * FUZZ_THREADS + calls / 4;
	}
	TH_LOG("%lld calls in all", total);
	free(list);
}

TEST_HARNESS_MAIN
