// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_GET_STATS_FD on axvcpu: KVM's binary statistics format on the VM
 * and vCPU fds (KVM's own kvm_binary_stats_test checks the format; this
 * test checks that the figures count what happened), and the file's
 * behaviour: read-only, pread at the header's offsets, its own reference
 * to the VM.
 *
 * Runs as root with axvcpu loaded.  AXVCPU_DEV names the device.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "axvcpu_harness.h"

#define MEM_GPA		0x10000000ULL
#define MEM_PAGES	2

/* A stats fd's header and descriptors, read once. */
struct stats {
	int fd;
	struct kvm_stats_header h;
	char id[64];
	char *descs;
	size_t desc_size;
};

static void stats_open(struct __test_metadata *_metadata, struct stats *s,
		       int obj_fd)
{
	s->fd = do_ioctl(obj_fd, KVM_GET_STATS_FD, 0);
	ASSERT_LE(0, s->fd) TH_LOG("KVM_GET_STATS_FD: %s", strerror(-s->fd));
	ASSERT_EQ((ssize_t)sizeof(s->h), read(s->fd, &s->h, sizeof(s->h)));
	ASSERT_EQ(0U, s->h.flags);
	ASSERT_LT(0U, s->h.name_size);
	ASSERT_GE(sizeof(s->id), s->h.name_size);
	ASSERT_EQ((ssize_t)s->h.name_size,
		  pread(s->fd, s->id, s->h.name_size, s->h.id_offset));
	s->desc_size = sizeof(struct kvm_stats_desc) + s->h.name_size;
	s->descs = calloc(s->h.num_desc, s->desc_size);
	ASSERT_NE(NULL, s->descs);
	ASSERT_EQ((ssize_t)(s->h.num_desc * s->desc_size),
		  pread(s->fd, s->descs, s->h.num_desc * s->desc_size,
			s->h.desc_offset));
}

static void stats_close(struct stats *s)
{
	free(s->descs);
	close(s->fd);
}

static struct kvm_stats_desc *stats_desc(struct stats *s, const char *name)
{
	struct kvm_stats_desc *d;
	__u32 i;

	for (i = 0; i < s->h.num_desc; i++) {
		d = (void *)(s->descs + i * s->desc_size);
		if (!strcmp(d->name, name))
			return d;
	}
	return NULL;
}

/* Element @i of statistic @name, read now; ~0 when there is none. */
static __u64 stat_get(struct stats *s, const char *name, unsigned int i)
{
	struct kvm_stats_desc *d = stats_desc(s, name);
	__u64 v;

	if (!d || i >= d->size)
		return ~0ULL;
	if (pread(s->fd, &v, sizeof(v), s->h.data_offset + d->offset +
		  i * sizeof(v)) != sizeof(v))
		return ~0ULL;
	return v;
}

FIXTURE(stats) {
	struct vcpu_env env;
	void *mem;
};

FIXTURE_SETUP(stats)
{
	env_init(&self->env);
	env_open(_metadata, &self->env);
	self->mem = mem_alloc(MEM_PAGES);
	ASSERT_NE(NULL, self->mem);
}

FIXTURE_TEARDOWN(stats)
{
	env_close(&self->env);
	if (self->mem)
		mem_free(self->mem, MEM_PAGES);
}

TEST_F(stats, capability)
{
	ASSERT_EQ(1, check_cap(self->env.sys_fd, KVM_CAP_BINARY_STATS_FD));
	ASSERT_EQ(1, check_cap(self->env.vm_fd, KVM_CAP_BINARY_STATS_FD));
}

/* KVM's layout: the id right after the header, "kvm-<pid>[/vcpu-<id>]". */
TEST_F(stats, ids)
{
	struct stats vm, vcpu;
	char want[64];

	stats_open(_metadata, &vm, self->env.vm_fd);
	stats_open(_metadata, &vcpu, self->env.vcpu_fd);
	EXPECT_EQ((__u32)sizeof(struct kvm_stats_header), vm.h.id_offset);
	snprintf(want, sizeof(want), "kvm-%d", getpid());
	EXPECT_STREQ(want, vm.id);
	snprintf(want, sizeof(want), "kvm-%d/vcpu-0", getpid());
	EXPECT_STREQ(want, vcpu.id);
	stats_close(&vm);
	stats_close(&vcpu);
}

TEST_F(stats, vm_counts)
{
	struct stats s;

	stats_open(_metadata, &s, self->env.vm_fd);
	EXPECT_EQ(1ULL, stat_get(&s, "vcpus", 0));
	EXPECT_EQ(0ULL, stat_get(&s, "memory_region_changes", 0));
	ASSERT_EQ(0, set_region(self->env.vm_fd, 0, 0, MEM_GPA,
				MEM_PAGES * page_size(), self->mem));
	/* A failed call changes nothing. */
	ASSERT_EQ(-EEXIST, set_region(self->env.vm_fd, 1, 0, MEM_GPA,
				      page_size(), self->mem));
	ASSERT_EQ(0, set_region(self->env.vm_fd, 0, 0, MEM_GPA, 0, NULL));
	EXPECT_EQ(2ULL, stat_get(&s, "memory_region_changes", 0));
	/* The slot's removal made every vCPU leave its stage-2 once. */
	EXPECT_LE(1ULL, stat_get(&s, "remote_tlb_flush", 0));
	ASSERT_LE(0, create_vcpu(self->env.vm_fd, 1));
	EXPECT_EQ(2ULL, stat_get(&s, "vcpus", 0));
	stats_close(&s);
}

/*
 * A run into a guest without memory (KVM_EXIT_INTERNAL_ERROR), a run with
 * immediate_exit (KVM_EXIT_INTR), an injection, a kick and a refused
 * request, each counted where KVM's tools look.
 */
TEST_F(stats, vcpu_counts)
{
	struct axvcpu_irq irq = { .vector = 40 };
	int fd = self->env.vcpu_fd;
	struct stats s;

	stats_open(_metadata, &s, fd);
	EXPECT_EQ(1ULL, stat_get(&s, "state_created_transitions", 0));
	EXPECT_EQ(0ULL, stat_get(&s, "exits", 0));

	ASSERT_EQ(-EBADFD, axvcpu_unbind(fd));
	EXPECT_EQ(1ULL, stat_get(&s, "refused_requests", 0));
	ASSERT_EQ(0, do_ioctl_ptr(fd, AXVCPU_INJECT, &irq));
	ASSERT_EQ(0, do_ioctl(fd, AXVCPU_KICK, 0));
	EXPECT_EQ(1ULL, stat_get(&s, "irq_injections", 0));
	EXPECT_EQ(2ULL, stat_get(&s, "kicks", 0));

	self->env.run->immediate_exit = 0;
	ASSERT_EQ(0, vcpu_run(fd));
	ASSERT_EQ((__u32)KVM_EXIT_INTERNAL_ERROR, self->env.run->exit_reason);
	self->env.run->immediate_exit = 1;
	ASSERT_EQ(-EINTR, vcpu_run(fd));

	EXPECT_LE(1ULL, stat_get(&s, "exits", 0));
	EXPECT_EQ(2ULL, stat_get(&s, "userspace_exits", 0));
	EXPECT_EQ(1ULL, stat_get(&s, "userspace_exit_reason",
				 KVM_EXIT_INTERNAL_ERROR));
	EXPECT_EQ(1ULL, stat_get(&s, "userspace_exit_reason", KVM_EXIT_INTR));
	EXPECT_EQ(0ULL, stat_get(&s, "userspace_exit_reason", KVM_EXIT_IO));
	EXPECT_EQ(1ULL, stat_get(&s, "signal_exits", 0));
	EXPECT_EQ(2ULL, stat_get(&s, "state_running_transitions", 0));
	EXPECT_EQ(3ULL, stat_get(&s, "state_ready_transitions", 0));
	EXPECT_EQ(0ULL, stat_get(&s, "blocking", 0));
	EXPECT_EQ(0ULL, stat_get(&s, "halt_wakeup", 0));
	stats_close(&s);
}

/* Time per state goes on in the current one, and is in nanoseconds. */
TEST_F(stats, state_times)
{
	struct kvm_stats_desc *d;
	struct stats s;
	__u64 a, b;

	stats_open(_metadata, &s, self->env.vcpu_fd);
	d = stats_desc(&s, "state_created_ns");
	ASSERT_NE(NULL, d);
	EXPECT_EQ((__u32)(KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS |
			  KVM_STATS_BASE_POW10), d->flags);
	EXPECT_EQ(-9, d->exponent);
	a = stat_get(&s, "state_created_ns", 0);
	usleep(20000);
	b = stat_get(&s, "state_created_ns", 0);
	EXPECT_LE(a + 20000000ULL, b);
	EXPECT_EQ(0ULL, stat_get(&s, "state_free_ns", 0));
	stats_close(&s);
}

/* The file: read-only, reads past its end give 0, seeks end at its size. */
TEST_F(stats, file)
{
	struct stats s;
	off_t end;
	char c;

	stats_open(_metadata, &s, self->env.vcpu_fd);
	EXPECT_EQ(-1, write(s.fd, "x", 1));
	EXPECT_EQ(EBADF, errno);
	end = lseek(s.fd, 0, SEEK_END);
	EXPECT_LT((off_t)s.h.data_offset, end);
	EXPECT_EQ(0, read(s.fd, &c, 1));
	EXPECT_EQ(0, pread(s.fd, &c, 1, end + 4096));
	EXPECT_EQ(-1, pread(s.fd, &c, 1, -1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, lseek(s.fd, -1, SEEK_SET));
	EXPECT_EQ(0, do_ioctl(s.fd, KVM_GET_STATS_FD, 0) == -ENOTTY ? 0 : 1);
	stats_close(&s);
}

/* The stats fd holds the VM: it reads on after every other fd is closed. */
TEST_F(stats, outlives_the_vm_fds)
{
	struct stats s;

	stats_open(_metadata, &s, self->env.vcpu_fd);
	env_close(&self->env);
	EXPECT_EQ(1ULL, stat_get(&s, "state_created_transitions", 0));
	stats_close(&s);
}

TEST_HARNESS_MAIN
