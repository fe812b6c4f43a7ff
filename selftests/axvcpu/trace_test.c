// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu's tracepoints, read back through tracefs: the events of the
 * "axvcpu" trace system are recorded while a VM is made, a vCPU walks its
 * states, enters a guest and returns to userspace, is injected and
 * kicked; and the VMM's transition log (AXVCPU_TRACE_STATES) sees the very
 * transitions tracefs sees, since it is a probe on the same tracepoint.
 *
 * Runs as root with axvcpu loaded.  tracefs is used where it is mounted
 * (/sys/kernel/tracing, or debugfs's tracing/), else mounted; a kernel
 * without tracefs skips.  The events are read in a tracefs instance of
 * the test's own, so that nothing else tracing on the machine is touched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "kselftest_harness.h"
#include "axvcpu_harness.h"

#define INSTANCE	"axvcpu_trace_test"
#define TRACE_MAX	(1 << 20)
#define MEM_GPA		0x10000000ULL	/* away from every reset vector */
#define MEM_PAGES	4

static char tracefs[64];

/* tracefs, mounted if need be; false when this kernel has none. */
static bool find_tracefs(void)
{
	static const char * const dirs[] = {
		"/sys/kernel/tracing", "/sys/kernel/debug/tracing",
	};
	char path[128];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/instances", dirs[i]);
		if (!access(path, F_OK)) {
			snprintf(tracefs, sizeof(tracefs), "%s", dirs[i]);
			return true;
		}
	}
	if (mount("tracefs", dirs[0], "tracefs", 0, NULL))
		return false;
	snprintf(tracefs, sizeof(tracefs), "%s", dirs[0]);
	return true;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		r = -errno;
	close(fd);
	return r;
}

/* The whole of a file, NUL-terminated; NULL on failure. */
static char *read_file(const char *path)
{
	char *buf = malloc(TRACE_MAX);
	size_t done = 0;
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	while (done < TRACE_MAX - 1 &&
	       (n = read(fd, buf + done, TRACE_MAX - 1 - done)) > 0)
		done += n;
	close(fd);
	buf[done] = '\0';
	return buf;
}

/* Lines of @trace with event @event whose fields start with @fields. */
static int count_events(const char *trace, const char *event,
			const char *fields)
{
	char needle[160];
	const char *p = trace;
	int n = 0;

	snprintf(needle, sizeof(needle), " %s: %s", event, fields);
	while ((p = strstr(p, needle))) {
		n++;
		p += strlen(needle);
	}
	return n;
}

FIXTURE(trace) {
	char dir[128];		/* the instance */
	struct vcpu_env env;
	__u32 vm_id;
	void *mem;
};

FIXTURE_SETUP(trace)
{
	char path[192];
	struct axvcpu_state st;

	env_init(&self->env);
	self->mem = NULL;
	self->dir[0] = '\0';
	if (!find_tracefs())
		SKIP(return, "no tracefs in this kernel");
	snprintf(path, sizeof(path), "%s/events/axvcpu", tracefs);
	if (access(path, F_OK))
		SKIP(return, "no axvcpu events: a kernel without event tracing");

	snprintf(self->dir, sizeof(self->dir), "%s/instances/" INSTANCE,
		 tracefs);
	rmdir(self->dir);	/* left by a killed run */
	ASSERT_EQ(0, mkdir(self->dir, 0755)) TH_LOG("mkdir %s: %s", self->dir,
						     strerror(errno));
	snprintf(path, sizeof(path), "%s/events/axvcpu/enable", self->dir);
	ASSERT_EQ(0, write_file(path, "1"));

	env_open(_metadata, &self->env);
	ASSERT_EQ(0, axvcpu_get_state(self->env.vcpu_fd, &st));
	self->vm_id = st.vm_id;
	self->mem = mem_alloc(MEM_PAGES);
	ASSERT_NE(NULL, self->mem);
}

FIXTURE_TEARDOWN(trace)
{
	char path[192];

	env_close(&self->env);
	if (self->mem)
		mem_free(self->mem, MEM_PAGES);
	if (self->dir[0]) {
		snprintf(path, sizeof(path), "%s/events/axvcpu/enable",
			 self->dir);
		write_file(path, "0");
		rmdir(self->dir);
	}
}

/* The instance's records so far; the test frees them. */
static char *instance_trace(struct __test_metadata *_metadata,
			    const char *dir)
{
	char path[192];
	char *trace;

	snprintf(path, sizeof(path), "%s/trace", dir);
	trace = read_file(path);
	if (!trace)
		TH_LOG("read %s: %s", path, strerror(errno));
	return trace;
}

/* The events of the axvcpu system are all there, with their formats. */
TEST_F(trace, events_exist)
{
	static const char * const events[] = {
		"axvcpu_transition", "axvcpu_entry", "axvcpu_exit",
		"axvcpu_userspace_exit", "axvcpu_inject", "axvcpu_kick",
		"axvcpu_halt", "axvcpu_wake", "axvcpu_set_memory_region",
	};
	char path[192];
	unsigned int i;

	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		snprintf(path, sizeof(path), "%s/events/axvcpu/%s/format",
			 tracefs, events[i]);
		EXPECT_EQ(0, access(path, R_OK)) TH_LOG("%s", path);
	}
}

/*
 * A vCPU's life in records: the memory slot, CREATED -> FREE -> READY ->
 * RUNNING, an entry into a guest that has no memory where it starts, its
 * exit and the return to userspace (KVM_EXIT_INTERNAL_ERROR), the
 * injection and the kick, and KVM_RUN with immediate_exit (KVM_EXIT_INTR,
 * EINTR).
 */
TEST_F(trace, records_a_run)
{
	struct axvcpu_irq irq = { .vector = 32 };
	int fd = self->env.vcpu_fd;
	char f[96];
	char *t;

	ASSERT_EQ(0, set_region(self->env.vm_fd, 0, 0, MEM_GPA,
				MEM_PAGES * page_size(), self->mem));
	ASSERT_EQ(-EINVAL, set_region(self->env.vm_fd, 1, 0, MEM_GPA + 1,
				      page_size(), self->mem));
	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(0, axvcpu_bind(fd, AXVCPU_CPU_ANY, 0));
	ASSERT_EQ(0, do_ioctl_ptr(fd, AXVCPU_INJECT, &irq));
	ASSERT_EQ(0, do_ioctl(fd, AXVCPU_KICK, 0));
	self->env.run->immediate_exit = 0;
	ASSERT_EQ(0, vcpu_run(fd));
	ASSERT_EQ((__u32)KVM_EXIT_INTERNAL_ERROR, self->env.run->exit_reason);
	self->env.run->immediate_exit = 1;
	ASSERT_EQ(-EINTR, vcpu_run(fd));

	t = instance_trace(_metadata, self->dir);
	ASSERT_NE(NULL, t);

	snprintf(f, sizeof(f), "vm=%u slot=0 flags=0x0 gpa=0x%llx", self->vm_id,
		 MEM_GPA);
	EXPECT_EQ(1, count_events(t, "axvcpu_set_memory_region", f));
	snprintf(f, sizeof(f), "vm=%u slot=1 ", self->vm_id);
	EXPECT_EQ(1, count_events(t, "axvcpu_set_memory_region", f));
	EXPECT_NE(NULL, strstr(t, "gpa=0x10000001 size=0x")) TH_LOG("%s", t);
	EXPECT_NE(NULL, strstr(t, " err=-22")) TH_LOG("%s", t);

#define TRANSITION(from, to) ({						\
	snprintf(f, sizeof(f), "vm=%u vcpu=0 from=%s to=%s",		\
		 self->vm_id, from, to);				\
	count_events(t, "axvcpu_transition", f); })
	EXPECT_EQ(1, TRANSITION("CREATED", "FREE")) TH_LOG("%s", t);
	EXPECT_EQ(1, TRANSITION("FREE", "READY"));
	EXPECT_EQ(2, TRANSITION("READY", "RUNNING"));
	EXPECT_EQ(2, TRANSITION("RUNNING", "READY"));
#undef TRANSITION

	snprintf(f, sizeof(f), "vm=%u vcpu=0", self->vm_id);
	EXPECT_LE(1, count_events(t, "axvcpu_entry", f));
	EXPECT_LE(1, count_events(t, "axvcpu_exit", f));
	snprintf(f, sizeof(f), "vm=%u vcpu=0 vector=32", self->vm_id);
	EXPECT_EQ(1, count_events(t, "axvcpu_inject", f));
	/* The injection's kick, and AXVCPU_KICK's. */
	snprintf(f, sizeof(f), "vm=%u vcpu=0 guest_cpu=-1", self->vm_id);
	EXPECT_EQ(2, count_events(t, "axvcpu_kick", f));
	snprintf(f, sizeof(f), "vm=%u vcpu=0 reason=INTERNAL_ERROR err=0",
		 self->vm_id);
	EXPECT_EQ(1, count_events(t, "axvcpu_userspace_exit", f));
	snprintf(f, sizeof(f), "vm=%u vcpu=0 reason=INTR err=-4", self->vm_id);
	EXPECT_EQ(1, count_events(t, "axvcpu_userspace_exit", f));
	/* The exit that went to userspace says so, with its hardware code. */
	EXPECT_NE(NULL, strstr(t, "action=user")) TH_LOG("%s", t);
	free(t);
}

/*
 * The VMM's transition log and tracefs are one source: the records of
 * AXVCPU_TRACE_STATES are the axvcpu_transition events, in order.
 */
TEST_F(trace, log_is_the_tracepoint)
{
	struct axvcpu_trace tr = { .entries = 16 };
	struct axvcpu_transition rec[16];
	static const char * const names[] = {
		"INVALID", "CREATED", "FREE", "READY", "RUNNING", "BLOCKED",
	};
	int fd = self->env.vcpu_fd, n, i;
	const char *p;
	char f[96];
	char *t;

	ASSERT_EQ(0, do_ioctl_ptr(fd, AXVCPU_TRACE_STATES, &tr));
	ASSERT_EQ(0, axvcpu_setup(fd, AXVCPU_HALT_EXIT, 0, 0));
	ASSERT_EQ(0, axvcpu_bind(fd, AXVCPU_CPU_ANY, 0));
	self->env.run->immediate_exit = 1;
	ASSERT_EQ(-EINTR, vcpu_run(fd));
	ASSERT_EQ(0, axvcpu_unbind(fd));

	n = read(fd, rec, sizeof(rec));
	ASSERT_EQ(5 * (int)sizeof(rec[0]), n);
	n /= sizeof(rec[0]);

	t = instance_trace(_metadata, self->dir);
	ASSERT_NE(NULL, t);
	p = t;
	for (i = 0; i < n; i++) {
		snprintf(f, sizeof(f),
			 " axvcpu_transition: vm=%u vcpu=0 from=%s to=%s cpu=%d",
			 self->vm_id, names[rec[i].from], names[rec[i].to],
			 rec[i].cpu);
		p = strstr(p, f);
		ASSERT_NE(NULL, p) TH_LOG("record %d (%s) not in\n%s", i, f, t);
		p += strlen(f);
	}
	/* And no transition that the log did not have. */
	EXPECT_EQ(NULL, strstr(p, " axvcpu_transition: "));
	free(t);
}

TEST_HARNESS_MAIN
