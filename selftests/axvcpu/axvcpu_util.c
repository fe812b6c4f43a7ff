// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers shared by the axvcpu selftests.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "axvcpu_util.h"

static const char *env_or(const char *name, const char *fallback)
{
	const char *value = getenv(name);

	return value && *value ? value : fallback;
}

const char *axvcpu_dev_path(void)
{
	return env_or("AXVCPU_DEV", AXVCPU_DEFAULT_DEV);
}

const char *axvcpu_ko_path(void)
{
	return env_or("AXVCPU_KO", AXVCPU_DEFAULT_KO);
}

const char *kvm_dev_path(void)
{
	return env_or("KVM_DEV", KVM_DEFAULT_DEV);
}

int do_ioctl(int fd, unsigned long request, unsigned long arg)
{
	int ret = ioctl(fd, request, arg);

	return ret < 0 ? -errno : ret;
}

int do_ioctl_ptr(int fd, unsigned long request, void *arg)
{
	int ret = ioctl(fd, request, arg);

	return ret < 0 ? -errno : ret;
}

int open_dev(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int create_vm(int sys_fd)
{
	return do_ioctl(sys_fd, KVM_CREATE_VM, 0);
}

#if defined(__aarch64__)
/* KVM's arm64 vCPUs run only after KVM_ARM_VCPU_INIT: the VMM's first step. */
int arm64_vcpu_init(int vm_fd, int vcpu_fd, __u32 features)
{
	struct kvm_vcpu_init init;
	int r;

	r = do_ioctl_ptr(vm_fd, KVM_ARM_PREFERRED_TARGET, &init);
	if (r < 0)
		return r;
	init.features[0] = features;
	return do_ioctl_ptr(vcpu_fd, KVM_ARM_VCPU_INIT, &init);
}
#endif

int create_vcpu(int vm_fd, unsigned long vcpu_id)
{
	int fd = do_ioctl(vm_fd, KVM_CREATE_VCPU, vcpu_id);
#if defined(__aarch64__)
	int r;

	if (fd < 0)
		return fd;
	r = arm64_vcpu_init(vm_fd, fd, 1U << KVM_ARM_VCPU_PSCI_0_2);
	if (r < 0) {
		close(fd);
		return r;
	}
#endif
	return fd;
}

int check_cap(int fd, long cap)
{
	return do_ioctl(fd, KVM_CHECK_EXTENSION, cap);
}

int vcpu_mmap_size(int sys_fd)
{
	return do_ioctl(sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
}

struct kvm_run *map_run(int vcpu_fd, size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vcpu_fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

int set_region(int vm_fd, __u32 slot, __u32 flags, __u64 gpa, __u64 size,
	       const void *hva)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (__u64)(unsigned long)hva,
	};

	return do_ioctl_ptr(vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

int vcpu_run(int vcpu_fd)
{
	return do_ioctl(vcpu_fd, KVM_RUN, 0);
}

void cv_init(struct axvcpu_create_vcpu *cv, __u32 vcpu_id, __s32 favor)
{
	memset(cv, 0, sizeof(*cv));
	cv->vcpu_id = vcpu_id;
	cv->favor_phys_cpu = favor;
}

void cv_add_cpu(struct axvcpu_create_vcpu *cv, int cpu)
{
	cv->phys_cpu_set[cpu / 64] |= 1ULL << (cpu % 64);
}

int axvcpu_create_vcpu(int vm_fd, const struct axvcpu_create_vcpu *cv)
{
	return do_ioctl_ptr(vm_fd, AXVCPU_CREATE_VCPU, (void *)cv);
}

int axvcpu_get_state(int vcpu_fd, struct axvcpu_state *st)
{
	memset(st, 0xa5, sizeof(*st));	/* catch fields left unwritten */
	return do_ioctl_ptr(vcpu_fd, AXVCPU_GET_STATE, st);
}

int axvcpu_setup(int vcpu_fd, __u32 halt_policy, __u32 flags, __u64 entry)
{
	struct axvcpu_setup setup = {
		.entry = entry,
		.halt_policy = halt_policy,
		.flags = flags,
	};

	return do_ioctl_ptr(vcpu_fd, AXVCPU_SETUP, &setup);
}

int axvcpu_bind(int vcpu_fd, __s32 cpu, __u32 flags)
{
	struct axvcpu_bind bind = {
		.cpu = cpu,
		.flags = flags,
	};

	return do_ioctl_ptr(vcpu_fd, AXVCPU_BIND, &bind);
}

int axvcpu_unbind(int vcpu_fd)
{
	return do_ioctl(vcpu_fd, AXVCPU_UNBIND, 0);
}

int axvcpu_reset(int vcpu_fd)
{
	return do_ioctl(vcpu_fd, AXVCPU_RESET, 0);
}

const char *state_name(__u32 state)
{
	static const char * const names[AXVCPU_NR_STATES] = {
		[AXVCPU_STATE_INVALID] = "INVALID",
		[AXVCPU_STATE_CREATED] = "CREATED",
		[AXVCPU_STATE_FREE] = "FREE",
		[AXVCPU_STATE_READY] = "READY",
		[AXVCPU_STATE_RUNNING] = "RUNNING",
		[AXVCPU_STATE_BLOCKED] = "BLOCKED",
	};

	return state < AXVCPU_NR_STATES ? names[state] : "(out of range)";
}

/* What one vm_cycle() made; -1 and NULL for what it has not (yet). */
struct cycle_vm {
	int sys;
	int vm;
	int size;
	int vcpu[VM_CYCLE_VCPUS];
	struct kvm_run *run[VM_CYCLE_VCPUS];
};

static void cycle_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

static void cycle_unmap(struct cycle_vm *c, int i)
{
	if (c->run[i])
		munmap(c->run[i], c->size);
}

/* Close and unmap everything, in the order @order (0 to 3) names. */
static void cycle_destroy(struct cycle_vm *c, int order)
{
	int i;

	switch (order) {
	case 0:		/* vCPUs, mappings, VM, system */
		for (i = 0; i < VM_CYCLE_VCPUS; i++) {
			cycle_close(c->vcpu[i]);
			cycle_unmap(c, i);
		}
		cycle_close(c->vm);
		cycle_close(c->sys);
		break;
	case 1:		/* system, VM, then vCPUs backwards */
		cycle_close(c->sys);
		cycle_close(c->vm);
		for (i = VM_CYCLE_VCPUS - 1; i >= 0; i--) {
			cycle_close(c->vcpu[i]);
			cycle_unmap(c, i);
		}
		break;
	case 2:		/* mappings first, VM last */
		for (i = 0; i < VM_CYCLE_VCPUS; i++)
			cycle_unmap(c, i);
		cycle_close(c->sys);
		for (i = 0; i < VM_CYCLE_VCPUS; i++)
			cycle_close(c->vcpu[i]);
		cycle_close(c->vm);
		break;
	default:	/* fds, then the mappings keep it alive */
		cycle_close(c->vm);
		for (i = 0; i < VM_CYCLE_VCPUS; i++)
			cycle_close(c->vcpu[i]);
		cycle_close(c->sys);
		for (i = 0; i < VM_CYCLE_VCPUS; i++)
			cycle_unmap(c, i);
		break;
	}
}

/* Make one cycle's VM and run it: 0 or -errno, naming the step. */
static int cycle_create(struct cycle_vm *c, int cycle, void *mem,
			unsigned int flags, const char **step)
{
	int bound = cycle % VM_CYCLE_VCPUS;
	int ret, i;

	*step = "open";
	c->sys = open_dev(axvcpu_dev_path());
	if (c->sys < 0)
		return c->sys;
	*step = "KVM_CREATE_VM";
	c->vm = create_vm(c->sys);
	if (c->vm < 0)
		return c->vm;
	*step = "KVM_GET_VCPU_MMAP_SIZE";
	c->size = vcpu_mmap_size(c->sys);
	if (c->size <= 0)
		return c->size ? c->size : -EPROTO;
	for (i = 0; i < VM_CYCLE_VCPUS; i++) {
		*step = "KVM_CREATE_VCPU";
		c->vcpu[i] = create_vcpu(c->vm, i);
		if (c->vcpu[i] < 0)
			return c->vcpu[i];
		*step = "mmap of kvm_run";
		c->run[i] = map_run(c->vcpu[i], c->size);
		if (!c->run[i])
			return -errno;
	}
	*step = "KVM_SET_USER_MEMORY_REGION";
	ret = set_region(c->vm, 0, 0, 0, VM_CYCLE_PAGES * page_size(), mem);
	if (ret)
		return ret;
	if (flags & VM_CYCLE_BIND_ONE) {
		*step = "AXVCPU_SETUP";
		ret = axvcpu_setup(c->vcpu[bound], AXVCPU_HALT_EXIT, 0, 0);
		if (ret)
			return ret;
		*step = "AXVCPU_BIND";
		ret = axvcpu_bind(c->vcpu[bound], AXVCPU_CPU_ANY, 0);
		if (ret)
			return ret;
	}
	*step = "KVM_RUN with immediate_exit";
	c->run[0]->immediate_exit = 1;
	ret = vcpu_run(c->vcpu[0]);
	if (ret != -EINTR)
		return ret ? ret : -EPROTO;
	*step = NULL;
	return 0;
}

static int vm_cycle(int cycle, void *mem, unsigned int flags,
		    const char **step)
{
	struct cycle_vm c = { .sys = -1, .vm = -1 };
	int ret, i;

	for (i = 0; i < VM_CYCLE_VCPUS; i++)
		c.vcpu[i] = -1;
	ret = cycle_create(&c, cycle, mem, flags, step);
	/* A failed cycle is taken down in the first order. */
	cycle_destroy(&c, ret ? 0 : cycle % 4);
	return ret;
}

int vm_cycles(int nr, unsigned int flags, int *cycle, const char **step)
{
	void *mem;
	int ret = 0;

	*cycle = 0;
	*step = "guest memory";
	mem = mem_alloc(VM_CYCLE_PAGES);
	if (!mem)
		return -ENOMEM;
	for (*cycle = 0; *cycle < nr; (*cycle)++) {
		ret = vm_cycle(*cycle, mem, flags, step);
		if (ret)
			break;
	}
	mem_free(mem, VM_CYCLE_PAGES);
	return ret;
}

size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

void *mem_alloc(size_t npages)
{
	void *p = mmap(NULL, npages * page_size(), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void mem_free(void *mem, size_t npages)
{
	if (mem)
		munmap(mem, npages * page_size());
}

void *shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int online_cpus(void)
{
	return (int)sysconf(_SC_NPROCESSORS_ONLN);
}

static int read_file(const char *path, char *buf, size_t size)
{
	ssize_t len;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = read(fd, buf, size - 1);
	if (len < 0) {
		len = -errno;
		close(fd);
		return (int)len;
	}
	close(fd);
	buf[len] = '\0';
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return 0;
}

static int write_file(const char *path, const char *value)
{
	size_t len = strlen(value);
	ssize_t ret;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = write(fd, value, len);
	if (ret < 0)
		ret = -errno;
	else if ((size_t)ret != len)
		ret = -EIO;
	else
		ret = 0;
	close(fd);
	return (int)ret;
}

int cpu_online_get(int cpu)
{
	char buf[256], *p = buf;
	int ret;

	/* "0-1,3": CPU0 often has no cpuN/online file, so read the list. */
	ret = read_file("/sys/devices/system/cpu/online", buf, sizeof(buf));
	if (ret)
		return ret;
	while (*p) {
		char *end;
		long first, last;

		first = strtol(p, &end, 10);
		last = first;
		if (*end == '-')
			last = strtol(end + 1, &end, 10);
		if (cpu >= first && cpu <= last)
			return 1;
		if (*end != ',')
			break;
		p = end + 1;
	}
	return 0;
}

int cpu_online_set(int cpu, bool online)
{
	char path[64];

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online",
		 cpu);
	return write_file(path, online ? "1" : "0");
}

int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

long long status_get(const char *key)
{
	size_t keylen = strlen(key);
	long long value = -1;
	char line[256];
	FILE *f;

	f = fopen(AXVCPU_STATUS_FILE, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, keylen) || line[keylen] != ':')
			continue;
		value = strtoll(line + keylen + 1, NULL, 0);
		break;
	}
	fclose(f);
	return value;
}

static void param_path(char *path, size_t size, const char *name)
{
	snprintf(path, size, "%s/%s", AXVCPU_PARAM_DIR, name);
}

int param_read(const char *name, char *buf, size_t size)
{
	char path[128];

	param_path(path, sizeof(path), name);
	return read_file(path, buf, size);
}

int param_write(const char *name, const char *value)
{
	char path[128];

	param_path(path, sizeof(path), name);
	return write_file(path, value);
}

bool param_is_unset(const char *value)
{
	return !strcmp(value, "") || !strcmp(value, "none") ||
	       !strcmp(value, "(null)");
}

bool param_is_true(const char *value)
{
	return !strcmp(value, "Y") || !strcmp(value, "1");
}

bool param_is_false(const char *value)
{
	return !strcmp(value, "N") || !strcmp(value, "0");
}

bool module_is_loaded(void)
{
	return access("/sys/module/" AXVCPU_MODULE_NAME "/initstate", F_OK) == 0;
}

int module_unload(void)
{
	return syscall(SYS_delete_module, AXVCPU_MODULE_NAME, O_NONBLOCK) ?
	       -errno : 0;
}

int module_load(const char *ko_path, const char *params)
{
	int fd, ret;

	fd = open(ko_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, params, 0) ? -errno : 0;
	close(fd);
	return ret;
}

int wait_for_dev(const char *path, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int fd;

	for (;;) {
		fd = open_dev(path);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (now_ms() >= deadline)
			return fd;
		sleep_ms(10);
	}
}

int count_open_fds(void)
{
	struct dirent *de;
	int count = 0;
	DIR *dir;

	dir = opendir("/proc/self/fd");
	if (!dir)
		return -errno;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			count++;
	closedir(dir);
	return count;
}

int raise_fd_limit(rlim_t nr)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur >= nr)
		return 0;
	rl.rlim_cur = nr;
	if (rl.rlim_max < nr)
		rl.rlim_max = nr;
	return setrlimit(RLIMIT_NOFILE, &rl) ? -errno : 0;
}

int drop_capability(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
	data[CAP_TO_INDEX(cap)].permitted &= ~CAP_TO_MASK(cap);
	data[CAP_TO_INDEX(cap)].inheritable &= ~CAP_TO_MASK(cap);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int run_in_child(int (*fn)(void *arg), void *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(fn(arg) & 0xff);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}
