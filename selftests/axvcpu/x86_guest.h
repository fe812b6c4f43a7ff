/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Real x86 guests through KVM's ABI, for x86_guest_test.
 *
 * A VM here is a system fd, a VM fd and slot 0: anonymous memory mapped at
 * guest physical address 0.  The tests copy hand-assembled machine code
 * into it and point a vCPU at it, in real mode or in long mode.  The same
 * code runs against /dev/axvcpu and /dev/kvm ($AXVCPU_DEV picks).
 *
 * Like axvcpu_util, every helper that wraps a system call returns its
 * non-negative result or -errno, and knows nothing of the test harness.
 * These helpers stand alone (they do not use axvcpu_util) and are linked
 * into x86_guest_test and x86_axvcpu_test.
 */
#ifndef AXVCPU_X86_GUEST_H
#define AXVCPU_X86_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

/*
 * Guest physical layout of slot 0.  Real-mode guests use CS = DS = ES =
 * SS = 0, so these are also their offsets.
 */
#define XG_CODE		0x1000UL	/* the guest's code, up to XG_DATA */
#define XG_CODE2	0x2000UL	/* a second piece (handlers) */
#define XG_DATA		0x3000UL	/* one page the guest reads and writes */
#define XG_STACK	0x8000UL	/* top of the stack, growing down */
#define XG_GDT		0x9000UL	/* long mode: the GDT */
#define XG_PML4		0xa000UL	/* long mode: the page tables */
#define XG_PDPT		0xb000UL
#define XG_PD		0xc000UL	/* 4 pages: 4 GiB of 2 MiB pages */
#define XG_PT		0x10000UL	/* the first 2 MiB in 4 KiB pages */
#define XG_MEM_MIN	0x11000UL	/* slot 0 holds at least this */

/* Long mode: the GDT's selectors, and what the page tables map. */
#define XG_SEL_CODE64	0x08
#define XG_SEL_DATA	0x10
#define XG_SEL_TSS	0x18
#define XG_IDENTITY_END	(4ULL << 30)	/* identity mapped: [0, 4 GiB) */

#define XG_SZ_2M	(2UL << 20)

/* Control register and EFER bits the tests set. */
#define XG_CR0_PE	(1ULL << 0)
#define XG_CR0_ET	(1ULL << 4)
#define XG_CR0_NE	(1ULL << 5)
#define XG_CR0_WP	(1ULL << 16)
#define XG_CR0_NW	(1ULL << 29)
#define XG_CR0_CD	(1ULL << 30)
#define XG_CR0_PG	(1ULL << 31)
#define XG_CR4_PAE	(1ULL << 5)
#define XG_EFER_LME	(1ULL << 8)
#define XG_EFER_LMA	(1ULL << 10)
#define XG_RFLAGS_FIXED	0x2ULL		/* bit 1 always reads as 1 */
#define XG_RFLAGS_IF	(1ULL << 9)

struct xg_vm {
	int sys_fd;
	int vm_fd;
	int run_size;		/* KVM_GET_VCPU_MMAP_SIZE */
	uint8_t *mem;		/* slot 0, at guest physical 0 */
	size_t mem_size;
};

struct xg_vcpu {
	int fd;
	struct kvm_run *run;	/* the vCPU fd's mapping, run_size long */
	int run_size;
};

/* $AXVCPU_DEV, else /dev/axvcpu; true when that is /dev/kvm. */
const char *xg_dev_path(void);
bool xg_is_kvm(void);
__u64 xg_invalid_state_reason(void);
bool xg_cpu_has_xsave(void);

/*
 * Anonymous memory of @size bytes aligned to @align (a power of two, at
 * least a page), populated and zeroed; 2 MiB alignment also asks for
 * transparent huge pages.  NULL on failure.
 */
void *xg_mem_alloc(size_t size, size_t align);
void xg_mem_free(void *mem, size_t size);

/*
 * A VM from xg_dev_path() with @mem_size bytes (at least XG_MEM_MIN, 2 MiB
 * aligned in the process) in slot 0 at guest physical 0.  On failure
 * nothing is left open.  xg_vm_destroy() takes a VM that failed, too.
 */
int xg_vm_create(struct xg_vm *vm, size_t mem_size);
void xg_vm_destroy(struct xg_vm *vm);
int xg_set_slot(struct xg_vm *vm, uint32_t slot, uint32_t flags,
		uint64_t gpa, uint64_t size, void *hva);

/* Copy @len bytes to guest physical @gpa of slot 0. */
void xg_load(struct xg_vm *vm, uint64_t gpa, const void *src, size_t len);
/* Slot 0's bytes at guest physical @gpa. */
void *xg_gpa(struct xg_vm *vm, uint64_t gpa);

/* A vCPU with its kvm_run mapped.  On failure nothing is left open. */
int xg_vcpu_create(struct xg_vm *vm, unsigned long id, struct xg_vcpu *vcpu);
/*
 * The same for a vCPU fd made otherwise (AXVCPU_CREATE_VCPU): @vcpu takes
 * @fd and maps its kvm_run.  On failure @fd is closed.
 */
int xg_vcpu_attach(struct xg_vm *vm, int fd, struct xg_vcpu *vcpu);
void xg_vcpu_destroy(struct xg_vcpu *vcpu);

/* KVM_RUN: 0 or -errno. */
int xg_run(struct xg_vcpu *vcpu);
int xg_get_regs(struct xg_vcpu *vcpu, struct kvm_regs *regs);
int xg_set_regs(struct xg_vcpu *vcpu, const struct kvm_regs *regs);
int xg_get_sregs(struct xg_vcpu *vcpu, struct kvm_sregs *sregs);
int xg_set_sregs(struct xg_vcpu *vcpu, const struct kvm_sregs *sregs);
int xg_interrupt(struct xg_vcpu *vcpu, uint32_t irq);	/* KVM_INTERRUPT */

/*
 * Real mode at @rip, whatever the vCPU's state was: every segment selector
 * and base 0 (limit 0xffff), the IVT at 0 (limit 0x3ff), CR0 ET only
 * (caches on), CR3, CR4 and EFER 0, RFLAGS 2, SP XG_STACK and the other
 * registers 0.  The GDT, LDT and TR stay as they are.
 */
int xg_enter_real_mode(struct xg_vcpu *vcpu, uint64_t rip);

/*
 * Long mode: xg_build_long_mode() writes the GDT and the page tables into
 * slot 0 (identity map of [0, XG_IDENTITY_END): the first 2 MiB with 4 KiB
 * pages, the rest with 2 MiB pages).  xg_long_mode_sregs() turns @sregs
 * into 64-bit mode (CR0.PE|PG, CR4.PAE, EFER.LME|LMA, a 64-bit CS, flat
 * data segments, a TSS, the IDT at 0 with limit 0).
 * xg_enter_long_mode() does both and sets RIP @rip, RSP XG_STACK, RFLAGS 2
 * and the other registers 0.
 */
void xg_build_long_mode(struct xg_vm *vm);
void xg_long_mode_sregs(struct kvm_sregs *sregs);
int xg_enter_long_mode(struct xg_vm *vm, struct xg_vcpu *vcpu, uint64_t rip);

/* KVM_EXIT_IO: the data of the exit, in the vCPU's mapping. */
void *xg_io_data(struct xg_vcpu *vcpu);
/* The first element of it, of io.size bytes, little endian. */
uint64_t xg_io_value(struct xg_vcpu *vcpu);

/* Little-endian values of 1 to 8 bytes. */
uint64_t xg_le_get(const void *p, unsigned int size);
void xg_le_put(void *p, unsigned int size, uint64_t value);

/*
 * KVM_GET_SUPPORTED_CPUID on @sys_fd, in a buffer grown until it fits
 * (free() it); NULL on failure.
 */
struct kvm_cpuid2 *xg_get_supported_cpuid(int sys_fd);
/* The entry of @function, @index in @cpuid, or NULL. */
struct kvm_cpuid_entry2 *xg_cpuid_entry(struct kvm_cpuid2 *cpuid,
					uint32_t function, uint32_t index);
/*
 * KVM_SET_CPUID2 with what KVM_GET_SUPPORTED_CPUID on @sys_fd gives, plus
 * the hypervisor bit (CPUID.1:ECX[31]) as a VMM sets it: KVM shows a guest
 * an empty CPUID until the VMM sets one, axvcpu the host's values.
 */
int xg_kvm_set_supported_cpuid(int sys_fd, struct xg_vcpu *vcpu);

/* "KVM_EXIT_IO" and so on, for messages. */
const char *xg_exit_name(uint32_t exit_reason);
/* One line about the exit that @vcpu's kvm_run reports, for messages. */
const char *xg_exit_str(struct xg_vcpu *vcpu, char *buf, size_t size);

#endif /* AXVCPU_X86_GUEST_H */
