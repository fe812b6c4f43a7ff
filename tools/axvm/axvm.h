/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvm - the example VMM of axvcpu: shared declarations.
 *
 * axvm.c is the machine (memory, vCPU threads, console, options), load.c
 * reads the guest image, x86.c or arm64.c (one, by the target) is the
 * board: boot state, devices and the exits they see.
 */
#ifndef AXVM_H
#define AXVM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>
#include <linux/axvcpu.h>

#define AXVM_MAX_VCPUS		64

/* What a vCPU thread does after an exit. */
enum axvm_action {
	AXVM_CONTINUE,		/* run again */
	AXVM_HALTED,		/* nothing in axvm can wake it: park */
	AXVM_STOP,		/* the machine stops (exit status set) */
};

struct axvm_vcpu {
	struct axvm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t cpu_set[AXVCPU_CPU_SET_WORDS];
	bool has_cpu_set;
	/* --stats */
	uint64_t exits[64];		/* by KVM_EXIT_*, the last one "other" */
	uint64_t eintr;
	uint64_t ns_in_run;
	uint64_t ns_total;
	uint64_t ns_parked;
	bool halted;
};

struct axvm {
	const char *device;
	bool is_axvcpu;			/* axvcpu's own ioctls answer */
	int sys_fd;
	int vm_fd;
	size_t run_size;
	uint8_t *mem;			/* guest RAM, at arch ram_base */
	uint64_t mem_size;
	uint64_t entry;
	unsigned int nr_vcpus;
	struct axvm_vcpu vcpus[AXVM_MAX_VCPUS];
	uint32_t halt_policy;
	bool stats;
	bool trace;
	bool verbose;
	uint64_t start_ns;

	pthread_mutex_t lock;		/* the fields below */
	pthread_cond_t cond;
	bool stopping;
	int status;			/* the exit status of axvm */
};

/* axvm.c */
/* One line on stderr, after "axvm: ". */
void axvm_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void axvm_stop(struct axvm *vm, int status);
void *axvm_gpa(struct axvm *vm, uint64_t gpa, uint64_t len);
int axvm_ioctl(int fd, unsigned long req, void *arg);
uint64_t axvm_now_ns(void);
/* The board's fallbacks: MMIO where it has no device, an exit it does not know. */
enum axvm_action axvm_mmio_unclaimed(struct axvm *vm, struct axvm_vcpu *vcpu);
enum axvm_action axvm_unexpected_exit(struct axvm *vm,
				      struct axvm_vcpu *vcpu);
/* The console's host side: one byte out, one byte in if one waits. */
void axvm_console_out(uint8_t c);
bool axvm_console_in_ready(void);
uint8_t axvm_console_in(void);

/* load.c: returns 0 and sets vm->entry, or prints why and returns -1. */
int axvm_load(struct axvm *vm, const char *path, uint64_t load_addr,
	      bool have_load_addr);

/* x86.c / arm64.c */
extern const char *const axvm_arch_name;
extern const uint64_t axvm_ram_base;
extern const uint64_t axvm_default_load;
extern const uint16_t axvm_elf_machine;
extern const uint64_t axvm_low_reserved;	/* the board's, below this */
int axvm_arch_vm_init(struct axvm *vm);
int axvm_arch_vcpu_init(struct axvm *vm, struct axvm_vcpu *vcpu);
int axvm_arch_vcpu_boot(struct axvm *vm, struct axvm_vcpu *vcpu);
enum axvm_action axvm_arch_exit(struct axvm *vm, struct axvm_vcpu *vcpu);

#endif /* AXVM_H */
