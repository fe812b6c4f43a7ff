// SPDX-License-Identifier: GPL-2.0
/*
 * axvm_test: the example VMM and its sample guests, on every backend.
 *
 * Runs tools/axvm as a user would, against $AXVCPU_DEV (/dev/axvcpu, or
 * /dev/kvm for KVM's answers), and checks the guests' console output, the
 * exit status and axvm's messages.  axvm is $AXVM, else "axvm" beside
 * this program, else tools/out/axvm of the tree; the guests are in
 * guests/<arch>/ beside it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "axvcpu_util.h"

#if defined(__x86_64__)
#define ARCH		"x86"
#define ARCH_NAME	"x86-64"
#define EXIT_DEVICE	"io"		/* how the console exits */
/* jmp . */
static const unsigned char spin_code[] = { 0xeb, 0xfe };
/* 1: cli; hlt; jmp 1b */
static const unsigned char halt_code[] = { 0xfa, 0xf4, 0xeb, 0xfc };
#elif defined(__aarch64__)
#define ARCH		"arm64"
#define ARCH_NAME	"arm64"
#define EXIT_DEVICE	"mmio"
/* b . */
static const unsigned char spin_code[] = { 0x00, 0x00, 0x00, 0x14 };
/* 1: wfi; b 1b */
static const unsigned char halt_code[] = { 0x7f, 0x20, 0x03, 0xd5,
					   0xff, 0xff, 0xff, 0x17 };
#else
#error "axvm has boards for x86-64 and arm64 only"
#endif

#define OUT_MAX		16384

struct axvm_run {
	int status;			/* exit status, or 128 + signal */
	char out[OUT_MAX];		/* the guest's console */
	char err[OUT_MAX];		/* axvm's messages */
};

static char axvm_path[PATH_MAX];
static char guest_dir[PATH_MAX];

static bool is_kvm(void)
{
	return !strcmp(axvcpu_dev_path(), KVM_DEFAULT_DEV);
}

static bool try_axvm(const char *path)
{
	if (access(path, X_OK))
		return false;
	snprintf(axvm_path, sizeof(axvm_path), "%s", path);
	snprintf(guest_dir, sizeof(guest_dir), "%.*s/guests/" ARCH,
		 (int)(strrchr(axvm_path, '/') - axvm_path), axvm_path);
	return true;
}

/* Find axvm once; false if it is nowhere. */
static bool find_axvm(void)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n;
	char *slash;

	if (axvm_path[0])
		return true;
	if (getenv("AXVM") && try_axvm(getenv("AXVM")))
		return true;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return false;
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (!slash)
		return false;
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/axvm", self);
	if (try_axvm(path))
		return true;
	snprintf(path, sizeof(path), "%s/../../tools/out/axvm", self);
	return try_axvm(path);
}

static const char *guest(const char *name)
{
	static char paths[8][PATH_MAX + 64];
	static unsigned int next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", guest_dir, name);
	return p;
}

static void read_back(int fd, char *buf)
{
	ssize_t n = pread(fd, buf, OUT_MAX - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	close(fd);
}

/*
 * Run axvm with --device $AXVCPU_DEV, a safety --timeout and args (NULL
 * ended); memlock, if non-zero, is the child's RLIMIT_MEMLOCK without
 * CAP_IPC_LOCK.  Returns 0, or -errno if axvm could not be started.
 */
static int run_axvm_limited(struct axvm_run *r, rlim_t memlock,
			    const char *const *args)
{
	/* Within the harness's 30 s, so that a hang still shows its output. */
	const char *argv[32] = { axvm_path, "--device", axvcpu_dev_path(),
				 "--timeout", "25" };
	int out, err, status, i, n = 5;
	pid_t pid;

	for (i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	out = memfd_create("axvm-out", MFD_CLOEXEC);
	err = memfd_create("axvm-err", MFD_CLOEXEC);
	if (out < 0 || err < 0)
		return -errno;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		int null = open("/dev/null", O_RDONLY);

		if (memlock) {
			struct rlimit rl = { memlock, memlock };

			/* Root would not be charged: give the capability up. */
			if (prctl(PR_CAPBSET_DROP, CAP_IPC_LOCK, 0, 0, 0) ||
			    drop_capability(CAP_IPC_LOCK) ||
			    setrlimit(RLIMIT_MEMLOCK, &rl))
				_exit(99);
		}
		if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(err, 2) < 0)
			_exit(98);
		execv(axvm_path, (char *const *)argv);
		_exit(97);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) :
		    128 + WTERMSIG(status);
	read_back(out, r->out);
	read_back(err, r->err);
	return 0;
}

static int run_axvm(struct axvm_run *r, const char *const *args)
{
	return run_axvm_limited(r, 0, args);
}

#define ARGS(...)	((const char *const []){ __VA_ARGS__, NULL })

/* Show what axvm said when an expectation fails. */
#define SHOW(r)	TH_LOG("status %d\n--- console:\n%s--- axvm:\n%s", \
		       (r)->status, (r)->out, (r)->err)

#define ASSERT_RUN(r, args) do {					\
	ASSERT_EQ(0, run_axvm(r, args));				\
} while (0)

FIXTURE(axvm) {
	struct axvm_run r;
};

FIXTURE_SETUP(axvm)
{
	if (!find_axvm())
		SKIP(return, "axvm is not built (make -C tools)");
	memset(&self->r, 0, sizeof(self->r));
}

FIXTURE_TEARDOWN(axvm)
{
}

TEST_F(axvm, hello_elf)
{
	struct axvm_run *r = &self->r;

	ASSERT_RUN(r, ARGS(guest("hello.elf")));
	if (r->status)
		SHOW(r);
	ASSERT_EQ(0, r->status);
	ASSERT_STREQ("Hello from an axvm guest on " ARCH_NAME
		     " (vCPU 0 of 1)\r\n", r->out);
}

/* The same guest as a flat binary, at the board's default address. */
TEST_F(axvm, hello_flat)
{
	struct axvm_run *r = &self->r;

	ASSERT_RUN(r, ARGS(guest("hello.bin")));
	if (r->status)
		SHOW(r);
	ASSERT_EQ(0, r->status);
	ASSERT_STREQ("Hello from an axvm guest on " ARCH_NAME
		     " (vCPU 0 of 1)\r\n", r->out);
}

static void expect_smp(struct __test_metadata *_metadata, struct axvm_run *r,
		       unsigned int n)
{
	char want[1024];
	size_t len = 0;
	unsigned int i;

	len += snprintf(want + len, sizeof(want) - len, "smp: %u vCPUs\r\n",
			n);
	for (i = 0; i < n; i++)
		len += snprintf(want + len, sizeof(want) - len,
				"smp: vCPU %u is here\r\n", i);
	snprintf(want + len, sizeof(want) - len,
		 "smp: all %u vCPUs met at the barrier\r\n", n);
	if (r->status || strcmp(want, r->out))
		SHOW(r);
	ASSERT_EQ(0, r->status);
	ASSERT_STREQ(want, r->out);
}

TEST_F(axvm, smp_2)
{
	ASSERT_RUN(&self->r, ARGS("--cpus", "2", guest("smp.elf")));
	expect_smp(_metadata, &self->r, 2);
}

/* More vCPUs than host CPUs: the threads share them. */
TEST_F(axvm, smp_4)
{
	ASSERT_RUN(&self->r, ARGS("--cpus", "4", guest("smp.elf")));
	expect_smp(_metadata, &self->r, 4);
}

/* Halted vCPUs exit to axvm instead of sleeping in the kernel. */
TEST_F(axvm, smp_halt_exit)
{
	ASSERT_RUN(&self->r, ARGS("--cpus", "3", "--halt", "exit",
				  guest("smp.elf")));
	expect_smp(_metadata, &self->r, 3);
}

TEST_F(axvm, primes)
{
	struct axvm_run *r = &self->r;

	ASSERT_RUN(r, ARGS(guest("primes.elf")));
	if (r->status)
		SHOW(r);
	ASSERT_EQ(0, r->status);
	ASSERT_STREQ("primes: 78498 primes below 1000000, the largest 999983\r\n",
		     r->out);
}

/* Exit counts per reason, and time per state or in KVM_RUN. */
TEST_F(axvm, stats)
{
	struct axvm_run *r = &self->r;
	char *line;

	ASSERT_RUN(r, ARGS("--stats", "--cpus", "2", guest("smp.elf")));
	if (r->status)
		SHOW(r);
	ASSERT_EQ(0, r->status);
	line = strstr(r->err, "stats vCPU 0: ");
	ASSERT_NE(NULL, line);
	/* Every byte of the console is an exit of vCPU 0 or 1. */
	ASSERT_NE(NULL, strstr(line, " " EXIT_DEVICE " "));
	ASSERT_NE(NULL, strstr(r->err, "stats vCPU 1: "));
	if (is_kvm()) {
		ASSERT_NE(NULL, strstr(r->err, "time in KVM_RUN"));
	} else {
		ASSERT_NE(NULL, strstr(r->err, "time per state:"));
		ASSERT_NE(NULL, strstr(r->err, "RUNNING"));
	}
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* Every transition, in order, including those inside KVM_RUN. */
TEST_F(axvm, trace_states)
{
	struct axvm_run *r = &self->r;

	ASSERT_RUN(r, ARGS("--trace-states", "--cpus", "2",
			   guest("smp.elf")));
	if (is_kvm()) {
		/* KVM has no such log: a clear refusal, nothing run. */
		ASSERT_EQ(1, r->status);
		ASSERT_NE(NULL, strstr(r->err, "no transition log"));
		ASSERT_STREQ("", r->out);
		return;
	}
	if (r->status)
		SHOW(r);
	ASSERT_EQ(0, r->status);
	expect_smp(_metadata, r, 2);
	ASSERT_EQ(1, count(r->err, "vCPU 0: CREATED -> FREE"));
	ASSERT_EQ(1, count(r->err, "vCPU 1: CREATED -> FREE"));
	ASSERT_EQ(1, count(r->err, "vCPU 1: FREE    -> READY"));
	ASSERT_LE(1, count(r->err, "vCPU 0: READY   -> RUNNING"));
	ASSERT_LE(1, count(r->err, "vCPU 0: RUNNING -> READY"));
	ASSERT_EQ(0, count(r->err, "lost"));
	ASSERT_EQ(0, count(r->err, "INVALID"));
}

/* Placement: vCPU 0 on CPU 1 alone. */
TEST_F(axvm, cpu_set)
{
	struct axvm_run *r = &self->r;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		SKIP(return, "needs 2 CPUs online");
	if (is_kvm()) {
		ASSERT_RUN(r, ARGS("--cpu-set", "0:1", guest("hello.elf")));
	} else {
		ASSERT_RUN(r, ARGS("--cpu-set", "0:1", "--trace-states",
				   guest("hello.elf")));
		ASSERT_NE(NULL, strstr(r->err,
				       "vCPU 0: FREE    -> READY   on CPU 1"));
		ASSERT_EQ(0, count(r->err, "on CPU 0"));
	}
	if (r->status)
		SHOW(r);
	ASSERT_EQ(0, r->status);
	ASSERT_NE(NULL, strstr(r->out, "Hello from"));
}

/* Write a file of len bytes; its path in path. */
static int write_file(char *path, const void *buf, size_t len)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -errno;
	if (len && write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/* A guest that never stops: --timeout still ends it, with 124. */
TEST_F(axvm, timeout_stops_a_spinning_guest)
{
	struct axvm_run *r = &self->r;
	char path[] = "/tmp/axvm-spin-XXXXXX";

	ASSERT_EQ(0, write_file(path, spin_code, sizeof(spin_code)));
	ASSERT_RUN(r, ARGS("--cpus", "2", "--timeout", "2", path));
	unlink(path);
	ASSERT_EQ(124, r->status);
	ASSERT_NE(NULL, strstr(r->err, "timeout"));
}

/*
 * vCPUs that run the image: all on x86; on arm64 only vCPU 0, the others
 * wait powered off for a PSCI CPU_ON that a bare image never makes.
 */
#if defined(__x86_64__)
#define HALT_CPUS	"2"
#else
#define HALT_CPUS	"1"
#endif

/*
 * Every vCPU halts with nothing to wake it: axvm sees it (KVM_EXIT_HLT,
 * or BLOCKED on axvcpu) and stops.  KVM arm64 keeps WFI in the kernel,
 * where axvm cannot see it: there only --timeout ends the guest.
 */
TEST_F(axvm, all_halted_stops)
{
	struct axvm_run *r = &self->r;
	char path[] = "/tmp/axvm-halt-XXXXXX";
	bool blind = false;

#if defined(__aarch64__)
	blind = is_kvm();
#endif
	ASSERT_EQ(0, write_file(path, halt_code, sizeof(halt_code)));
	if (is_kvm())
		ASSERT_RUN(r, ARGS("--cpus", HALT_CPUS, "--timeout", "5", path));
	else
		ASSERT_RUN(r, ARGS("--cpus", HALT_CPUS, "--trace-states",
				   path));
	unlink(path);
	if (blind) {
		ASSERT_EQ(124, r->status);
		return;
	}
	if (r->status)
		SHOW(r);
	ASSERT_EQ(0, r->status);
	ASSERT_NE(NULL, strstr(r->err, "every vCPU halted"));
	if (is_kvm())
		return;
	/* Policy BLOCK: each sleeps as BLOCKED until axvm's stop wakes it. */
	ASSERT_EQ(1, count(r->err, "vCPU 0: RUNNING -> BLOCKED"));
	ASSERT_EQ(1, count(r->err, "vCPU 0: BLOCKED -> READY"));
#if defined(__x86_64__)
	ASSERT_EQ(1, count(r->err, "vCPU 1: RUNNING -> BLOCKED"));
	ASSERT_EQ(1, count(r->err, "vCPU 1: BLOCKED -> READY"));
#endif
}

/* Policy EXIT: the same halts reach axvm as KVM_EXIT_HLT. */
TEST_F(axvm, all_halted_exit_policy)
{
	struct axvm_run *r = &self->r;
	char path[] = "/tmp/axvm-halt-XXXXXX";

	if (is_kvm())
		SKIP(return, "axvcpu's halt policy");
	ASSERT_EQ(0, write_file(path, halt_code, sizeof(halt_code)));
	ASSERT_RUN(r, ARGS("--cpus", HALT_CPUS, "--halt", "exit", "--stats",
			   "--trace-states", path));
	unlink(path);
	if (r->status)
		SHOW(r);
	ASSERT_EQ(0, r->status);
	ASSERT_NE(NULL, strstr(r->err, "every vCPU halted"));
	ASSERT_EQ(0, count(r->err, "BLOCKED ->"));
	ASSERT_EQ(atoi(HALT_CPUS), count(r->err, "exits to the VMM: hlt 1;"));
}

TEST_F(axvm, missing_device)
{
	struct axvm_run *r = &self->r;
	const char *args[] = { axvm_path, "--device", "/dev/axvcpu-none",
			       guest("hello.elf"), NULL };
	int out = memfd_create("o", 0), err = memfd_create("e", 0), st;
	pid_t pid;

	ASSERT_LE(0, out);
	ASSERT_LE(0, err);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		dup2(out, 1);
		dup2(err, 2);
		execv(axvm_path, (char *const *)args);
		_exit(97);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	read_back(out, r->out);
	read_back(err, r->err);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(1, WEXITSTATUS(st));
	ASSERT_NE(NULL, strstr(r->err, "no such device: is the module loaded?"));
}

/* Bad images: refused before any vCPU runs, with the reason. */
TEST_F(axvm, bad_images)
{
	struct axvm_run *r = &self->r;
	unsigned char elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	char path[] = "/tmp/axvm-bad-XXXXXX";

	/* Empty. */
	ASSERT_EQ(0, write_file(path, "", 0));
	ASSERT_RUN(r, ARGS(path));
	unlink(path);
	ASSERT_EQ(1, r->status);
	ASSERT_NE(NULL, strstr(r->err, "bad image: the file is empty"));

	/* An ELF for another machine (e_machine 0x1234). */
	elf[16] = 2;			/* ET_EXEC */
	elf[18] = 0x34;
	elf[19] = 0x12;
	strcpy(path, "/tmp/axvm-bad-XXXXXX");
	ASSERT_EQ(0, write_file(path, elf, sizeof(elf)));
	ASSERT_RUN(r, ARGS(path));
	unlink(path);
	ASSERT_EQ(1, r->status);
	ASSERT_NE(NULL, strstr(r->err, "bad image: an ELF for machine 4660"));

	/* A 32-bit ELF. */
	elf[4] = 1;
	strcpy(path, "/tmp/axvm-bad-XXXXXX");
	ASSERT_EQ(0, write_file(path, elf, sizeof(elf)));
	ASSERT_RUN(r, ARGS(path));
	unlink(path);
	ASSERT_EQ(1, r->status);
	ASSERT_NE(NULL, strstr(r->err, "bad image: not a little-endian 64-bit ELF"));

	/* Not there at all. */
	ASSERT_RUN(r, ARGS("/tmp/axvm-no-such-image"));
	ASSERT_EQ(1, r->status);
	ASSERT_NE(NULL, strstr(r->err, "No such file or directory"));
	ASSERT_STREQ("", r->out);
}

/* primes needs its 1 MB sieve: 1 MiB of guest memory is too little. */
TEST_F(axvm, too_little_memory)
{
	struct axvm_run *r = &self->r;

	ASSERT_RUN(r, ARGS("--mem", "1M", guest("primes.elf")));
	ASSERT_EQ(1, r->status);
	ASSERT_NE(NULL, strstr(r->err, "use a larger --mem"));
	ASSERT_STREQ("", r->out);
}

/* axvcpu pins guest memory: a memlock limit below it is a clear error. */
TEST_F(axvm, memlock_limit)
{
	struct axvm_run *r = &self->r;

	ASSERT_EQ(0, run_axvm_limited(r, 1 << 20,
				      ARGS("--mem", "8M", guest("hello.elf"))));
	if (is_kvm()) {
		/* KVM does not pin: the limit does not apply. */
		if (r->status)
			SHOW(r);
		ASSERT_EQ(0, r->status);
		return;
	}
	ASSERT_EQ(1, r->status);
	ASSERT_NE(NULL, strstr(r->err, "the memlock limit is 1024 KiB"));
	ASSERT_STREQ("", r->out);
}

TEST_HARNESS_MAIN
