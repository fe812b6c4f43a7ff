/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the axvcpu selftests.
 *
 * Every helper that wraps a system call returns the call's non-negative
 * result on success and -errno on failure, so that a test states the exact
 * error it expects:
 *
 *	ASSERT_EQ(-EINVAL, set_region(vm_fd, 0, 0, gpa, size + 1, mem));
 *
 * The helpers know nothing about the test harness; the tests assert.
 */
#ifndef AXVCPU_SELFTEST_UTIL_H
#define AXVCPU_SELFTEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <linux/kvm.h>
#include <linux/axvcpu.h>

#define AXVCPU_MODULE_NAME	"axvcpu"
#define AXVCPU_DEFAULT_DEV	"/dev/axvcpu"
#define AXVCPU_DEFAULT_KO	"/lib/modules/axvcpu.ko"
#define KVM_DEFAULT_DEV		"/dev/kvm"
#define AXVCPU_STATUS_FILE	"/sys/kernel/debug/axvcpu/status"
#define AXVCPU_PARAM_DIR	"/sys/module/axvcpu/parameters"

/* A memory slot number: address space in the high 16 bits, id below. */
#define SLOT(as_id, id)		((((__u32)(as_id)) << 16) | (__u32)(id))

/* Device and module paths, from the environment or the defaults above. */
const char *axvcpu_dev_path(void);	/* $AXVCPU_DEV */
const char *axvcpu_ko_path(void);	/* $AXVCPU_KO */
const char *kvm_dev_path(void);		/* $KVM_DEV */

/* ioctl(2), returning the result or -errno. */
int do_ioctl(int fd, unsigned long request, unsigned long arg);
int do_ioctl_ptr(int fd, unsigned long request, void *arg);

/* KVM's ABI. */
int open_dev(const char *path);			/* O_RDWR; fd or -errno */
int create_vm(int sys_fd);
/* On arm64 also KVM_ARM_VCPU_INIT, with the PSCI 0.2 feature. */
int create_vcpu(int vm_fd, unsigned long vcpu_id);
#if defined(__aarch64__)
int arm64_vcpu_init(int vm_fd, int vcpu_fd, __u32 features);
#endif
int check_cap(int fd, long cap);
int vcpu_mmap_size(int sys_fd);
struct kvm_run *map_run(int vcpu_fd, size_t size);	/* NULL on failure */
int set_region(int vm_fd, __u32 slot, __u32 flags, __u64 gpa, __u64 size,
	       const void *hva);
int vcpu_run(int vcpu_fd);			/* KVM_RUN: 0 or -errno */

/* axvcpu's additions. */
void cv_init(struct axvcpu_create_vcpu *cv, __u32 vcpu_id, __s32 favor);
void cv_add_cpu(struct axvcpu_create_vcpu *cv, int cpu);
int axvcpu_create_vcpu(int vm_fd, const struct axvcpu_create_vcpu *cv);
int axvcpu_get_state(int vcpu_fd, struct axvcpu_state *st);
int axvcpu_setup(int vcpu_fd, __u32 halt_policy, __u32 flags, __u64 entry);
int axvcpu_bind(int vcpu_fd, __s32 cpu, __u32 flags);
int axvcpu_unbind(int vcpu_fd);
int axvcpu_reset(int vcpu_fd);
const char *state_name(__u32 state);

/*
 * Create and destroy a VM on $AXVCPU_DEV @nr times.  Each cycle opens the
 * device, creates a VM with VM_CYCLE_VCPUS vCPUs, maps their kvm_run pages,
 * sets slot 0 to VM_CYCLE_PAGES pages of memory (the same for every cycle),
 * with VM_CYCLE_BIND_ONE also AXVCPU_SETUPs and AXVCPU_BINDs (any CPU) vCPU
 * cycle % VM_CYCLE_VCPUS, runs vCPU 0 with immediate_exit (KVM_RUN must
 * fail with EINTR), then closes and unmaps it all in one of four orders,
 * by cycle % 4.
 *
 * Returns 0, or -errno at the first failure, with *@cycle the cycle and
 * *@step the step that failed (-EPROTO when KVM_RUN did not fail at all);
 * what that cycle had made is closed.
 */
#define VM_CYCLE_VCPUS		4
#define VM_CYCLE_PAGES		4
#define VM_CYCLE_BIND_ONE	(1U << 0)	/* axvcpu only */

int vm_cycles(int nr, unsigned int flags, int *cycle, const char **step);

/* Memory. */
size_t page_size(void);
void *mem_alloc(size_t npages);		/* anonymous, populated; NULL on failure */
void mem_free(void *mem, size_t npages);
void *shared_alloc(size_t size);	/* shared with forked children */

/* CPUs. */
int online_cpus(void);
int cpu_online_get(int cpu);		/* 1, 0, or -errno */
int cpu_online_set(int cpu, bool online);
int pin_to_cpu(int cpu);

/*
 * /sys/kernel/debug/axvcpu/status: the value of the "key: value" line,
 * or -1 when the file or the key is missing.
 */
long long status_get(const char *key);

/* Module parameters under /sys/module/axvcpu/parameters. */
int param_read(const char *name, char *buf, size_t size); /* no '\n' */
int param_write(const char *name, const char *value);
bool param_is_unset(const char *value);		/* "", "none", "(null)" */
bool param_is_true(const char *value);		/* "Y", "1" */
bool param_is_false(const char *value);		/* "N", "0" */

/* Module (un)loading, for the tests that reload axvcpu. */
bool module_is_loaded(void);
int module_unload(void);		/* delete_module(O_NONBLOCK) */
int module_load(const char *ko_path, const char *params);	/* finit_module */
int wait_for_dev(const char *path, int timeout_ms);

/* Process environment. */
int count_open_fds(void);
int raise_fd_limit(rlim_t nr);
int drop_capability(int cap);
long long now_ms(void);			/* CLOCK_MONOTONIC */
void sleep_ms(unsigned int ms);

/*
 * Run fn(arg) in a forked child and wait for it: returns the child's exit
 * status (fn's return value & 0xff), 128 + signal if it was killed, or
 * -errno if it could not be forked.  The child shares nothing with the
 * caller but inherited fds and mappings (shared_alloc() memory included).
 */
int run_in_child(int (*fn)(void *arg), void *arg);

#endif /* AXVCPU_SELFTEST_UTIL_H */
