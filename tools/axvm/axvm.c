// SPDX-License-Identifier: GPL-2.0
/*
 * axvm - the example VMM of axvcpu.
 *
 * Runs a guest image (a flat binary or an ELF) with N vCPUs, one thread
 * each, on /dev/axvcpu or, with --device /dev/kvm, on KVM: the program is
 * written to KVM's ABI and uses axvcpu's own ioctls (placement, halt
 * policy, states, the transition log) only where the device has them.
 * The board (boot state, serial console, power off) is in x86.c or
 * arm64.c; see Documentation/axvm.rst.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "axvm.h"

#define KVM_MISC_MINOR		232	/* /dev/kvm's fixed misc minor */
#define MISC_MAJOR_NR		10
#define SZ_2M			(2ULL << 20)
#define AXVM_TRACE_ENTRIES	1024
#define NR_EXIT_SLOTS		(sizeof(((struct axvm_vcpu *)0)->exits) / \
				 sizeof(uint64_t))

static const char *const state_names[AXVCPU_NR_STATES] = {
	[AXVCPU_STATE_INVALID] = "INVALID",
	[AXVCPU_STATE_CREATED] = "CREATED",
	[AXVCPU_STATE_FREE] = "FREE",
	[AXVCPU_STATE_READY] = "READY",
	[AXVCPU_STATE_RUNNING] = "RUNNING",
	[AXVCPU_STATE_BLOCKED] = "BLOCKED",
};

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "unknown",
	[KVM_EXIT_EXCEPTION] = "exception",
	[KVM_EXIT_IO] = "io",
	[KVM_EXIT_HYPERCALL] = "hypercall",
	[KVM_EXIT_DEBUG] = "debug",
	[KVM_EXIT_HLT] = "hlt",
	[KVM_EXIT_MMIO] = "mmio",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open",
	[KVM_EXIT_SHUTDOWN] = "shutdown",
	[KVM_EXIT_FAIL_ENTRY] = "fail_entry",
	[KVM_EXIT_INTR] = "intr",
	[KVM_EXIT_INTERNAL_ERROR] = "internal_error",
	[KVM_EXIT_SYSTEM_EVENT] = "system_event",
};

static const char *exit_name(uint32_t reason)
{
	if (reason < sizeof(exit_names) / sizeof(exit_names[0]) &&
	    exit_names[reason])
		return exit_names[reason];
	return "other";
}

void axvm_say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* One write per line: lines of several threads do not mix. */
	dprintf(STDERR_FILENO, "axvm: %s\n", buf);
}

uint64_t axvm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int axvm_ioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do {
		r = ioctl(fd, req, arg);
	} while (r < 0 && errno == EINTR && req != KVM_RUN);
	return r;
}

void *axvm_gpa(struct axvm *vm, uint64_t gpa, uint64_t len)
{
	if (gpa < axvm_ram_base || len > vm->mem_size ||
	    gpa - axvm_ram_base > vm->mem_size - len)
		return NULL;
	return vm->mem + (gpa - axvm_ram_base);
}

/* --- console ----------------------------------------------------------- */

static bool console_eof;

void axvm_console_out(uint8_t c)
{
	ssize_t r;

	do {
		r = write(STDOUT_FILENO, &c, 1);
	} while (r < 0 && errno == EINTR);
}

bool axvm_console_in_ready(void)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };

	return !console_eof && poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

uint8_t axvm_console_in(void)
{
	uint8_t c;

	if (!axvm_console_in_ready())
		return 0;
	if (read(STDIN_FILENO, &c, 1) != 1) {
		console_eof = true;
		return 0;
	}
	return c;
}

/* --- the machine ------------------------------------------------------- */

void axvm_stop(struct axvm *vm, int status)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->stopping) {
		vm->stopping = true;
		vm->status = status;
	}
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

static bool stopping(struct axvm *vm)
{
	bool s;

	pthread_mutex_lock(&vm->lock);
	s = vm->stopping;
	pthread_mutex_unlock(&vm->lock);
	return s;
}

/* Exits every board sees alike; false if the board should look. */
static bool common_exit(struct axvm *vm, struct axvm_vcpu *vcpu,
			enum axvm_action *action)
{
	struct kvm_run *run = vcpu->run;

	*action = AXVM_STOP;
	switch (run->exit_reason) {
	case KVM_EXIT_SHUTDOWN:
		axvm_say("vCPU %u: the guest shut the CPU down (triple fault)",
			 vcpu->id);
		axvm_stop(vm, 1);
		return true;
	case KVM_EXIT_FAIL_ENTRY:
		axvm_say("vCPU %u: the hardware refused to enter the guest (reason 0x%llx)",
			 vcpu->id, (unsigned long long)
			 run->fail_entry.hardware_entry_failure_reason);
		axvm_stop(vm, 1);
		return true;
	case KVM_EXIT_INTERNAL_ERROR:
		axvm_say("vCPU %u: internal error, suberror %u, %u data words%s%llx",
			 vcpu->id, run->internal.suberror, run->internal.ndata,
			 run->internal.ndata ? ", the first 0x" : "",
			 run->internal.ndata ?
			 (unsigned long long)run->internal.data[0] : 0ULL);
		axvm_stop(vm, 1);
		return true;
	case KVM_EXIT_INTR:
		*action = AXVM_CONTINUE;
		return true;
	case KVM_EXIT_HLT:
		/* No interrupt source on either board: it halts for good. */
		if (vm->verbose)
			axvm_say("vCPU %u: halted", vcpu->id);
		*action = AXVM_HALTED;
		return true;
	}
	return false;
}

enum axvm_action axvm_mmio_unclaimed(struct axvm *vm, struct axvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (!run->mmio.is_write)
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (vm->verbose)
		axvm_say("vCPU %u: MMIO at 0x%llx: nothing there", vcpu->id,
			 (unsigned long long)run->mmio.phys_addr);
	return AXVM_CONTINUE;
}

enum axvm_action axvm_unexpected_exit(struct axvm *vm,
				      struct axvm_vcpu *vcpu)
{
	axvm_say("vCPU %u: unexpected exit %u (%s)", vcpu->id,
		 vcpu->run->exit_reason, exit_name(vcpu->run->exit_reason));
	axvm_stop(vm, 1);
	return AXVM_STOP;
}

static void sigusr1(int sig)
{
	(void)sig;	/* only to make KVM_RUN return EINTR */
}

static void park(struct axvm *vm, struct axvm_vcpu *vcpu)
{
	uint64_t t = axvm_now_ns();

	pthread_mutex_lock(&vm->lock);
	vcpu->halted = true;
	pthread_cond_broadcast(&vm->cond);
	while (!vm->stopping)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	vcpu->ns_parked = axvm_now_ns() - t;
}

static void *vcpu_thread(void *arg)
{
	struct axvm_vcpu *vcpu = arg;
	struct axvm *vm = vcpu->vm;
	uint64_t start = axvm_now_ns(), t;
	enum axvm_action action;
	int r;

	/* KVM has no placement of its own: the thread's affinity is it. */
	if (!vm->is_axvcpu && vcpu->has_cpu_set) {
		cpu_set_t set;
		unsigned int c;

		CPU_ZERO(&set);
		for (c = 0; c < CPU_SETSIZE && c < AXVCPU_MAX_CPUS; c++)
			if (vcpu->cpu_set[c / 64] & (1ULL << (c % 64)))
				CPU_SET(c, &set);
		r = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		if (r) {
			axvm_say("vCPU %u: cannot place the thread: %s",
				 vcpu->id, strerror(r));
			axvm_stop(vm, 1);
			return NULL;
		}
	}

	while (!stopping(vm)) {
		t = axvm_now_ns();
		r = ioctl(vcpu->fd, KVM_RUN, 0);
		vcpu->ns_in_run += axvm_now_ns() - t;
		if (r < 0) {
			if (errno == EINTR) {
				vcpu->eintr++;
				continue;
			}
			axvm_say("vCPU %u: KVM_RUN: %s", vcpu->id,
				 strerror(errno));
			axvm_stop(vm, 1);
			break;
		}
		vcpu->exits[vcpu->run->exit_reason < NR_EXIT_SLOTS - 1 ?
			    vcpu->run->exit_reason : NR_EXIT_SLOTS - 1]++;
		if (!common_exit(vm, vcpu, &action))
			action = axvm_arch_exit(vm, vcpu);
		if (action == AXVM_HALTED) {
			park(vm, vcpu);
			break;
		}
		if (action == AXVM_STOP)
			break;
	}
	vcpu->ns_total = axvm_now_ns() - start;
	return NULL;
}

/* With policy BLOCK a halted vCPU sleeps in the kernel: ask its state. */
static bool all_halted(struct axvm *vm)
{
	struct axvcpu_state st;
	unsigned int i, n = 0;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct axvm_vcpu *vcpu = &vm->vcpus[i];

		if (vcpu->halted) {
			n++;
		} else if (vm->is_axvcpu &&
			   vm->halt_policy == AXVCPU_HALT_BLOCK &&
			   !axvm_ioctl(vcpu->fd, AXVCPU_GET_STATE, &st) &&
			   st.state == AXVCPU_STATE_BLOCKED) {
			n++;
		}
	}
	return n == vm->nr_vcpus;
}

/* --- the transition log (--trace-states) ------------------------------- */

struct tracer {
	struct axvm *vm;
	uint64_t next_seq[AXVM_MAX_VCPUS];
	pthread_t thread;
	volatile bool done;
};

/*
 * Print what the vCPUs' logs hold; wait up to timeout_ms for some.
 * Returns whether there was any.
 */
static bool trace_drain(struct tracer *t, int timeout_ms)
{
	struct axvm *vm = t->vm;
	struct pollfd p[AXVM_MAX_VCPUS];
	struct axvcpu_transition rec[64];
	char where[24];
	unsigned int i, j;
	ssize_t n;

	for (i = 0; i < vm->nr_vcpus; i++) {
		p[i].fd = vm->vcpus[i].fd;
		p[i].events = POLLIN;
	}
	if (poll(p, vm->nr_vcpus, timeout_ms) <= 0)
		return false;
	for (i = 0; i < vm->nr_vcpus; i++) {
		if (!(p[i].revents & POLLIN))
			continue;
		n = read(p[i].fd, rec, sizeof(rec));
		for (j = 0; n > 0 && j < n / sizeof(rec[0]); j++) {
			struct axvcpu_transition *r = &rec[j];
			uint64_t rel = r->time_ns > vm->start_ns ?
				       (uint64_t)r->time_ns - vm->start_ns : 0;

			if (r->seq != t->next_seq[i])
				axvm_say("trace vCPU %u: %" PRIu64 " transitions lost",
					 i, (uint64_t)r->seq - t->next_seq[i]);
			t->next_seq[i] = r->seq + 1;
			if (r->cpu >= 0)
				snprintf(where, sizeof(where), "on CPU %d",
					 r->cpu);
			else
				snprintf(where, sizeof(where), "unbound");
			axvm_say("trace %4" PRIu64 ".%06" PRIu64 " vCPU %u: %-7s -> %-7s %s",
				 rel / UINT64_C(1000000000),
				 rel / 1000 % 1000000, i,
				 r->from < AXVCPU_NR_STATES ?
				 state_names[r->from] : "?",
				 r->to < AXVCPU_NR_STATES ?
				 state_names[r->to] : "?", where);
		}
	}
	return true;
}

static void *tracer_thread(void *arg)
{
	struct tracer *t = arg;

	while (!t->done)
		trace_drain(t, 50);
	return NULL;
}

/* --- statistics (--stats) ---------------------------------------------- */

static void print_stats(struct axvm *vm)
{
	struct axvcpu_state st;
	unsigned int i, r;
	char line[512];
	size_t len;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct axvm_vcpu *vcpu = &vm->vcpus[i];
		uint64_t total = 0;

		len = 0;
		for (r = 0; r < NR_EXIT_SLOTS; r++) {
			if (!vcpu->exits[r])
				continue;
			total += vcpu->exits[r];
			len += snprintf(line + len, sizeof(line) - len,
					"%s %s %" PRIu64, len ? "," : "",
					r == NR_EXIT_SLOTS - 1 ? "other" :
					exit_name(r), vcpu->exits[r]);
			if (len >= sizeof(line))
				len = sizeof(line) - 1;
		}
		axvm_say("stats vCPU %u: %" PRIu64 " exits to the VMM:%s; %" PRIu64 " runs interrupted",
			 i, total, len ? line : " none", vcpu->eintr);
		if (vm->is_axvcpu &&
		    !axvm_ioctl(vcpu->fd, AXVCPU_GET_STATE, &st)) {
			len = 0;
			for (r = 0; r < AXVCPU_NR_STATES; r++) {
				if (!st.transitions[r])
					continue;
				len += snprintf(line + len, sizeof(line) - len,
						"%s %s %.3f ms (entered %" PRIu64 ")",
						len ? "," : "", state_names[r],
						st.time_ns[r] / 1e6,
						(uint64_t)st.transitions[r]);
				if (len >= sizeof(line))
					len = sizeof(line) - 1;
			}
			axvm_say("stats vCPU %u: time per state:%s", i, line);
		} else {
			axvm_say("stats vCPU %u: time in KVM_RUN %.3f ms, in the VMM %.3f ms, halted in the VMM %.3f ms",
				 i, vcpu->ns_in_run / 1e6,
				 (vcpu->ns_total - vcpu->ns_in_run -
				  vcpu->ns_parked) / 1e6,
				 vcpu->ns_parked / 1e6);
		}
	}
}

/* --- set-up ------------------------------------------------------------ */

static int open_device(struct axvm *vm)
{
	struct stat sb;
	int v;

	vm->sys_fd = open(vm->device, O_RDWR | O_CLOEXEC);
	if (vm->sys_fd < 0) {
		int e = errno;

		if (e == ENOENT && strstr(vm->device, "axvcpu"))
			axvm_say("%s: no such device: is the module loaded? (insmod axvcpu.ko)",
				 vm->device);
		else if (e == ENOENT)
			axvm_say("%s: no such device: is the hypervisor's module loaded?",
				 vm->device);
		else if (e == EACCES)
			axvm_say("%s: permission denied: run as root, or see the udev rule in Documentation/api.rst",
				 vm->device);
		else
			axvm_say("%s: %s", vm->device, strerror(e));
		return -1;
	}
	if (fstat(vm->sys_fd, &sb) || !S_ISCHR(sb.st_mode)) {
		axvm_say("%s: not a character device", vm->device);
		return -1;
	}
	/* KVM's minor is fixed; axvcpu's is dynamic. */
	vm->is_axvcpu = !(major(sb.st_rdev) == MISC_MAJOR_NR &&
			  minor(sb.st_rdev) == KVM_MISC_MINOR);
	v = ioctl(vm->sys_fd, KVM_GET_API_VERSION, 0);
	if (v != KVM_API_VERSION) {
		axvm_say("%s: API version %d, not %d: not a KVM-compatible device",
			 vm->device, v, KVM_API_VERSION);
		return -1;
	}
	vm->run_size = ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)vm->run_size <= 0) {
		axvm_say("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -1;
	}
	vm->vm_fd = ioctl(vm->sys_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		if (errno == EBUSY)
			axvm_say("%s: the CPU's virtualization extension is taken by another hypervisor (is KVM loaded?)",
				 vm->device);
		else if (errno == ENODEV)
			axvm_say("%s: this CPU has no usable virtualization extension",
				 vm->device);
		else
			axvm_say("KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int setup_memory(struct axvm *vm)
{
	struct kvm_userspace_memory_region region = { 0 };
	struct rlimit rl;
	uint8_t *p;

	/* 2 MiB aligned, so that the tables can use 2 MiB entries. */
	p = mmap(NULL, vm->mem_size + SZ_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		axvm_say("cannot allocate %" PRIu64 " MiB of guest memory: %s",
			 vm->mem_size >> 20, strerror(errno));
		return -1;
	}
	vm->mem = (uint8_t *)(((uintptr_t)p + SZ_2M - 1) & ~(SZ_2M - 1));
	madvise(vm->mem, vm->mem_size, MADV_HUGEPAGE);

	region.slot = 0;
	region.guest_phys_addr = axvm_ram_base;
	region.memory_size = vm->mem_size;
	region.userspace_addr = (uintptr_t)vm->mem;
	if (!axvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region))
		return 0;
	if ((errno == ENOMEM || errno == EPERM || errno == EAGAIN) &&
	    !getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < vm->mem_size) {
		axvm_say("cannot pin %" PRIu64 " KiB of guest memory: the memlock limit is %llu KiB (raise it with ulimit -l, or use less --mem)",
			 vm->mem_size >> 10,
			 (unsigned long long)rl.rlim_cur >> 10);
		return -1;
	}
	axvm_say("KVM_SET_USER_MEMORY_REGION (%" PRIu64 " MiB): %s",
		 vm->mem_size >> 20, strerror(errno));
	return -1;
}

static int create_vcpu(struct axvm *vm, struct axvm_vcpu *vcpu)
{
	struct axvcpu_create_vcpu c = { 0 };
	struct axvcpu_trace tr = { .entries = AXVM_TRACE_ENTRIES };
	struct axvcpu_setup setup = { 0 };
	struct axvcpu_bind bind = { .cpu = AXVCPU_CPU_ANY };

	vcpu->vm = vm;
	if (vm->is_axvcpu) {
		c.vcpu_id = vcpu->id;
		c.favor_phys_cpu = AXVCPU_CPU_ANY;
		if (vcpu->has_cpu_set)
			memcpy(c.phys_cpu_set, vcpu->cpu_set,
			       sizeof(c.phys_cpu_set));
		vcpu->fd = axvm_ioctl(vm->vm_fd, AXVCPU_CREATE_VCPU, &c);
	} else {
		vcpu->fd = axvm_ioctl(vm->vm_fd, KVM_CREATE_VCPU,
				      (void *)(uintptr_t)vcpu->id);
	}
	if (vcpu->fd < 0) {
		if (errno == ENXIO || (errno == EINVAL && vcpu->has_cpu_set))
			axvm_say("vCPU %u: its --cpu-set names no usable CPU (%s)",
				 vcpu->id, strerror(errno));
		else
			axvm_say("vCPU %u: cannot create it: %s", vcpu->id,
				 strerror(errno));
		return -1;
	}
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		axvm_say("vCPU %u: mmap: %s", vcpu->id, strerror(errno));
		return -1;
	}
	if (vm->trace && axvm_ioctl(vcpu->fd, AXVCPU_TRACE_STATES, &tr)) {
		axvm_say("vCPU %u: AXVCPU_TRACE_STATES: %s", vcpu->id,
			 strerror(errno));
		return -1;
	}
	if (axvm_arch_vcpu_init(vm, vcpu))
		return -1;
	if (vm->is_axvcpu) {
		/* The explicit walk KVM_RUN would otherwise take for us. */
		setup.halt_policy = vm->halt_policy;
		if (axvm_ioctl(vcpu->fd, AXVCPU_SETUP, &setup) ||
		    axvm_ioctl(vcpu->fd, AXVCPU_BIND, &bind)) {
			axvm_say("vCPU %u: SETUP/BIND: %s", vcpu->id,
				 strerror(errno));
			return -1;
		}
	}
	return axvm_arch_vcpu_boot(vm, vcpu);
}

/* --- options ----------------------------------------------------------- */

static int parse_cpu_list(const char *s, uint64_t *set)
{
	char *end;
	unsigned long a, b;

	memset(set, 0, AXVCPU_CPU_SET_WORDS * sizeof(uint64_t));
	for (;;) {
		errno = 0;
		a = strtoul(s, &end, 10);
		if (end == s || errno)
			return -1;
		b = a;
		if (*end == '-') {
			s = end + 1;
			b = strtoul(s, &end, 10);
			if (end == s || errno)
				return -1;
		}
		if (a > b || b >= AXVCPU_MAX_CPUS)
			return -1;
		for (; a <= b; a++)
			set[a / 64] |= 1ULL << (a % 64);
		if (!*end)
			return 0;
		if (*end != ',')
			return -1;
		s = end + 1;
	}
}

/* A size in MiB, or with a K, M or G suffix. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 20;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (end == s || errno)
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		end++;
		break;
	case 'm':
	case 'M':
		end++;
		break;
	case 'g':
	case 'G':
		shift = 30;
		end++;
		break;
	}
	if (*end || !v || v > (64ULL << 30) >> shift)
		return -1;
	*out = v << shift;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: axvm [options] IMAGE\n"
"Run IMAGE (an ELF, or a flat binary loaded at --load-addr) as a guest.\n"
"\n"
"  -d, --device PATH      the hypervisor device (default /dev/axvcpu);\n"
"                         /dev/kvm runs the same guest on KVM\n"
"  -c, --cpus N           vCPUs, one thread each (default 1, at most %d)\n"
"  -m, --mem SIZE         guest memory, MiB or with K/M/G (default 32M)\n"
"  -a, --load-addr ADDR   where a flat image goes (default 0x%llx);\n"
"                         it is also its entry point\n"
"  -p, --cpu-set [V:]LIST physical CPUs vCPU V (default: every vCPU) may\n"
"                         run on, e.g. 0-1,3; repeatable\n"
"      --halt exit|block  what a halted vCPU does on axvcpu (default block:\n"
"                         it sleeps in the kernel as BLOCKED)\n"
"  -s, --stats            exit counts by reason and time per state\n"
"  -t, --trace-states     print every vCPU state transition (axvcpu)\n"
"  -T, --timeout SEC      stop the guest after SEC seconds (exit 124)\n"
"  -v, --verbose          say what the machine does\n"
"  -h, --help             this text\n"
"\n"
"The board (%s): see Documentation/axvm.rst.  Exit status: the guest's\n"
"(0 after a clean power off), 1 on an error, 124 on --timeout.\n",
		AXVM_MAX_VCPUS, (unsigned long long)axvm_default_load,
		axvm_arch_name);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "mem", required_argument, NULL, 'm' },
		{ "load-addr", required_argument, NULL, 'a' },
		{ "cpu-set", required_argument, NULL, 'p' },
		{ "halt", required_argument, NULL, 'H' },
		{ "stats", no_argument, NULL, 's' },
		{ "trace-states", no_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	static struct axvm vm_storage;
	struct axvm *vm = &vm_storage;
	uint64_t all_set[AXVCPU_CPU_SET_WORDS], load_addr = axvm_default_load;
	bool have_all_set = false, have_load_addr = false;
	unsigned long timeout = 0, v;
	struct tracer tracer = { .vm = vm };
	struct sigaction sa = { .sa_handler = sigusr1 };
	struct timespec ts;
	unsigned int i, idle_polls = 0;
	char *end;
	int o, r;

	vm->device = "/dev/axvcpu";
	vm->nr_vcpus = 1;
	vm->mem_size = 32ULL << 20;
	vm->halt_policy = AXVCPU_HALT_BLOCK;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);

	while ((o = getopt_long(argc, argv, "d:c:m:a:p:stT:vh", opts,
				NULL)) != -1) {
		switch (o) {
		case 'd':
			vm->device = optarg;
			break;
		case 'c':
			v = strtoul(optarg, &end, 10);
			if (*end || !v || v > AXVM_MAX_VCPUS) {
				axvm_say("--cpus %s: give 1 to %d", optarg,
					 AXVM_MAX_VCPUS);
				return 1;
			}
			vm->nr_vcpus = v;
			break;
		case 'm':
			if (parse_size(optarg, &vm->mem_size)) {
				axvm_say("--mem %s: not a size (e.g. 64, 64M, 1G; at most 64G)",
					 optarg);
				return 1;
			}
			break;
		case 'a':
			errno = 0;
			load_addr = strtoull(optarg, &end, 0);
			if (*end || errno) {
				axvm_say("--load-addr %s: not an address",
					 optarg);
				return 1;
			}
			have_load_addr = true;
			break;
		case 'p': {
			const char *colon = strchr(optarg, ':');
			uint64_t *set = all_set;

			if (colon) {
				v = strtoul(optarg, &end, 10);
				if (end != colon || v >= AXVM_MAX_VCPUS) {
					axvm_say("--cpu-set %s: bad vCPU number",
						 optarg);
					return 1;
				}
				set = vm->vcpus[v].cpu_set;
				vm->vcpus[v].has_cpu_set = true;
			} else {
				have_all_set = true;
			}
			if (parse_cpu_list(colon ? colon + 1 : optarg, set)) {
				axvm_say("--cpu-set %s: not a CPU list (e.g. 0-1,3)",
					 optarg);
				return 1;
			}
			break;
		}
		case 'H':
			if (!strcmp(optarg, "exit")) {
				vm->halt_policy = AXVCPU_HALT_EXIT;
			} else if (!strcmp(optarg, "block")) {
				vm->halt_policy = AXVCPU_HALT_BLOCK;
			} else {
				axvm_say("--halt %s: exit or block", optarg);
				return 1;
			}
			break;
		case 's':
			vm->stats = true;
			break;
		case 't':
			vm->trace = true;
			break;
		case 'T':
			timeout = strtoul(optarg, &end, 10);
			if (*end || !timeout) {
				axvm_say("--timeout %s: seconds, at least 1",
					 optarg);
				return 1;
			}
			break;
		case 'v':
			vm->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	for (i = 0; i < vm->nr_vcpus; i++) {
		vm->vcpus[i].id = i;
		if (have_all_set && !vm->vcpus[i].has_cpu_set) {
			memcpy(vm->vcpus[i].cpu_set, all_set, sizeof(all_set));
			vm->vcpus[i].has_cpu_set = true;
		}
	}
	for (i = vm->nr_vcpus; i < AXVM_MAX_VCPUS; i++) {
		if (vm->vcpus[i].has_cpu_set) {
			axvm_say("--cpu-set %u:...: the guest has %u vCPUs",
				 i, vm->nr_vcpus);
			return 1;
		}
	}

	vm->start_ns = axvm_now_ns();
	if (open_device(vm))
		return 1;
	if (vm->trace && !vm->is_axvcpu) {
		axvm_say("--trace-states: %s has no transition log (only /dev/axvcpu does)",
			 vm->device);
		return 1;
	}
	if (vm->mem_size <= axvm_low_reserved) {
		axvm_say("--mem: at least %llu KiB are needed",
			 (unsigned long long)axvm_low_reserved >> 10);
		return 1;
	}
	if (setup_memory(vm) || axvm_load(vm, argv[optind], load_addr,
					  have_load_addr) ||
	    axvm_arch_vm_init(vm))
		return 1;
	if (vm->verbose)
		axvm_say("%s on %s: %u vCPUs, %" PRIu64 " MiB, entry 0x%" PRIx64,
			 argv[optind], vm->device, vm->nr_vcpus,
			 vm->mem_size >> 20, vm->entry);
	for (i = 0; i < vm->nr_vcpus; i++)
		if (create_vcpu(vm, &vm->vcpus[i]))
			return 1;

	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: KVM_RUN returns */
	if (vm->trace && pthread_create(&tracer.thread, NULL, tracer_thread,
					&tracer)) {
		axvm_say("cannot start the tracer thread");
		return 1;
	}
	for (i = 0; i < vm->nr_vcpus; i++) {
		r = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread,
				   &vm->vcpus[i]);
		if (r) {
			axvm_say("vCPU %u: cannot start its thread: %s", i,
				 strerror(r));
			axvm_stop(vm, 1);
			break;
		}
		vm->vcpus[i].started = true;
	}

	/* Wait for a stop, a timeout or every vCPU halted for good. */
	pthread_mutex_lock(&vm->lock);
	while (!vm->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&vm->cond, &vm->lock, &ts);
		if (vm->stopping)
			break;
		if (timeout &&
		    axvm_now_ns() - vm->start_ns >= timeout * 1000000000ULL) {
			pthread_mutex_unlock(&vm->lock);
			axvm_say("timeout: the guest ran for %lu s", timeout);
			axvm_stop(vm, 124);
			pthread_mutex_lock(&vm->lock);
			break;
		}
		pthread_mutex_unlock(&vm->lock);
		/* Twice in a row: a BLOCKED vCPU seen once may be waking. */
		idle_polls = all_halted(vm) ? idle_polls + 1 : 0;
		pthread_mutex_lock(&vm->lock);
		if (idle_polls >= 2 && !vm->stopping) {
			vm->stopping = true;
			vm->status = 0;
			pthread_mutex_unlock(&vm->lock);
			axvm_say("every vCPU halted and nothing can wake them: stopping");
			pthread_mutex_lock(&vm->lock);
		}
	}
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);

	for (i = 0; i < vm->nr_vcpus; i++) {
		if (!vm->vcpus[i].started)
			continue;
		/* Before the signal: a thread about to enter sees it. */
		vm->vcpus[i].run->immediate_exit = 1;
		pthread_kill(vm->vcpus[i].thread, SIGUSR1);
	}
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].started)
			pthread_join(vm->vcpus[i].thread, NULL);
	if (vm->trace) {
		tracer.done = true;
		pthread_join(tracer.thread, NULL);
		while (trace_drain(&tracer, 0))
			;
	}
	if (vm->stats)
		print_stats(vm);
	return vm->status;
}
