// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu-demo: a tour of the /dev/axvcpu API.
 *
 * Creates a VM with two vCPUs placed on different CPUs, walks them through
 * the state machine and prints each state as the kernel reports it.  The
 * example VMM that runs real guests is tools/axvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>
#include <linux/axvcpu.h>

static const char * const state_names[AXVCPU_NR_STATES] = {
	[AXVCPU_STATE_INVALID] = "INVALID",
	[AXVCPU_STATE_CREATED] = "CREATED",
	[AXVCPU_STATE_FREE] = "FREE",
	[AXVCPU_STATE_READY] = "READY",
	[AXVCPU_STATE_RUNNING] = "RUNNING",
	[AXVCPU_STATE_BLOCKED] = "BLOCKED",
};

static void die(const char *what)
{
	fprintf(stderr, "axvcpu-demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void show(int vcpu, const char *after)
{
	struct axvcpu_state st;

	if (ioctl(vcpu, AXVCPU_GET_STATE, &st))
		die("AXVCPU_GET_STATE");
	printf("  vm %u vcpu %u  %-26s -> %-8s bound to CPU %d\n",
	       st.vm_id, st.vcpu_id, after,
	       st.state < AXVCPU_NR_STATES ? state_names[st.state] : "?",
	       st.bound_cpu);
}

static int create_vcpu(int vm, unsigned int id, int cpu)
{
	struct axvcpu_create_vcpu c = {
		.vcpu_id = id,
		.favor_phys_cpu = cpu,
	};
	int fd;

	c.phys_cpu_set[cpu / 64] = 1ULL << (cpu % 64);
	fd = ioctl(vm, AXVCPU_CREATE_VCPU, &c);
	if (fd < 0)
		die("AXVCPU_CREATE_VCPU");
	return fd;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/dev/axvcpu";
	struct axvcpu_setup setup = { .halt_policy = AXVCPU_HALT_EXIT };
	struct axvcpu_bind bind = { .cpu = AXVCPU_CPU_ANY };
	int sys, vm, v0, v1, size, ncpu;
	struct axvcpu_state st;
	struct kvm_run *run;

	sys = open(path, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die(path);
	ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	printf("%s: API version %d, %d vCPUs per VM at most, %d memory slots\n",
	       path, ioctl(sys, KVM_GET_API_VERSION, 0),
	       ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS),
	       ioctl(sys, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS));

	vm = ioctl(sys, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	v0 = create_vcpu(vm, 0, 0);
	v1 = create_vcpu(vm, 1, ncpu > 1 ? 1 : 0);

	printf("vCPU 0, placed on CPU 0, through every request:\n");
	show(v0, "created");
	if (ioctl(v0, AXVCPU_SETUP, &setup))
		die("AXVCPU_SETUP");
	show(v0, "AXVCPU_SETUP");
	if (ioctl(v0, AXVCPU_BIND, &bind))
		die("AXVCPU_BIND");
	show(v0, "AXVCPU_BIND");
	if (ioctl(v0, AXVCPU_SETUP, &setup) == 0 || errno != EBADFD)
		die("SETUP from READY was not refused");
	show(v0, "AXVCPU_SETUP (refused)");
	if (ioctl(v0, AXVCPU_UNBIND, 0))
		die("AXVCPU_UNBIND");
	show(v0, "AXVCPU_UNBIND");

	printf("vCPU 1, placed on CPU %d, as a KVM client drives it:\n",
	       ncpu > 1 ? 1 : 0);
	size = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, v1, 0);
	if (run == MAP_FAILED)
		die("mmap");
	show(v1, "created");
	run->immediate_exit = 1;
	if (ioctl(v1, KVM_RUN, 0) == 0 || errno != EINTR)
		die("KVM_RUN with immediate_exit");
	show(v1, "KVM_RUN (immediate_exit)");
	if (ioctl(v1, AXVCPU_GET_STATE, &st))
		die("AXVCPU_GET_STATE");
	printf("  KVM_RUN walked CREATED -> FREE -> READY -> RUNNING -> READY:\n"
	       "  entered CREATED %llu, FREE %llu, READY %llu, RUNNING %llu times;"
	       " exit reason %u (KVM_EXIT_INTR)\n",
	       (unsigned long long)st.transitions[AXVCPU_STATE_CREATED],
	       (unsigned long long)st.transitions[AXVCPU_STATE_FREE],
	       (unsigned long long)st.transitions[AXVCPU_STATE_READY],
	       (unsigned long long)st.transitions[AXVCPU_STATE_RUNNING],
	       run->exit_reason);

	munmap(run, size);
	close(v1);
	close(v0);
	close(vm);
	close(sys);
	printf("axvcpu-demo: done\n");
	return 0;
}
