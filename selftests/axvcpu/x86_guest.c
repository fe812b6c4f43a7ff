// SPDX-License-Identifier: GPL-2.0
/*
 * Real x86 guests through KVM's ABI: VMs with memory, vCPUs in real mode
 * or long mode, and the exits' data.  See x86_guest.h.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "x86_guest.h"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#define XG_DEFAULT_DEV	"/dev/axvcpu"
#define XG_KVM_DEV	"/dev/kvm"

/* Page table entry bits. */
#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)

/* The 64-bit TSS: in the GDT's page, past the descriptors. */
#define XG_TSS		(XG_GDT + 0x100)
#define XG_TSS_LIMIT	0x67

const char *xg_dev_path(void)
{
	const char *dev = getenv("AXVCPU_DEV");

	return dev && *dev ? dev : XG_DEFAULT_DEV;
}

bool xg_is_kvm(void)
{
	return strcmp(xg_dev_path(), XG_KVM_DEV) == 0;
}

static bool xg_cpu_is_intel(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid(0, &a, &b, &c, &d) && b == 0x756e6547 &&
	       d == 0x49656e69 && c == 0x6c65746e;	/* "GenuineIntel" */
}

/*
 * KVM_EXIT_FAIL_ENTRY's hardware_entry_failure_reason for a guest state
 * the CPU refuses: SVM's VMEXIT_INVALID (-1 as the VMCB's 32-bit exit
 * code), or VMX's exit reason "VM-entry failure, invalid guest state".
 */
__u64 xg_invalid_state_reason(void)
{
	return xg_cpu_is_intel() ? 0x80000021ULL : 0xffffffffULL;
}

/* XSAVE in use by the host's kernel (CPUID.1:ECX.OSXSAVE): not with noxsave. */
bool xg_cpu_has_xsave(void)
{
	unsigned int a, b, c, d;

	return __get_cpuid(1, &a, &b, &c, &d) && (c & (1U << 27));
}

static int xg_ioctl(int fd, unsigned long request, void *arg)
{
	int ret = ioctl(fd, request, arg);

	return ret < 0 ? -errno : ret;
}

void *xg_mem_alloc(size_t size, size_t align)
{
	size_t len = size + align;
	uint8_t *raw, *mem;
	size_t head, tail;

	raw = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		return NULL;
	mem = (uint8_t *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
	head = mem - raw;
	tail = len - head - size;
	if (head)
		munmap(raw, head);
	if (tail)
		munmap(mem + size, tail);
	if (align >= XG_SZ_2M)
		madvise(mem, size, MADV_HUGEPAGE);	/* a hint only */
	memset(mem, 0, size);				/* populate */
	return mem;
}

void xg_mem_free(void *mem, size_t size)
{
	if (mem)
		munmap(mem, size);
}

int xg_set_slot(struct xg_vm *vm, uint32_t slot, uint32_t flags,
		uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	return xg_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

int xg_vm_create(struct xg_vm *vm, size_t mem_size)
{
	int ret;

	vm->sys_fd = -1;
	vm->vm_fd = -1;
	vm->mem = NULL;
	vm->mem_size = mem_size;
	if (mem_size < XG_MEM_MIN)
		return -EINVAL;

	vm->sys_fd = open(xg_dev_path(), O_RDWR | O_CLOEXEC);
	if (vm->sys_fd < 0) {
		ret = -errno;
		goto fail;
	}
	vm->run_size = ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < 0) {
		ret = -errno;
		goto fail;
	}
	vm->vm_fd = ioctl(vm->sys_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		ret = -errno;
		goto fail;
	}
	vm->mem = xg_mem_alloc(mem_size, XG_SZ_2M);
	if (!vm->mem) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = xg_set_slot(vm, 0, 0, 0, mem_size, vm->mem);
	if (ret < 0)
		goto fail;
	return 0;

fail:
	xg_vm_destroy(vm);
	return ret;
}

void xg_vm_destroy(struct xg_vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->sys_fd >= 0)
		close(vm->sys_fd);
	xg_mem_free(vm->mem, vm->mem_size);
	vm->vm_fd = -1;
	vm->sys_fd = -1;
	vm->mem = NULL;
}

void *xg_gpa(struct xg_vm *vm, uint64_t gpa)
{
	return vm->mem + gpa;
}

void xg_load(struct xg_vm *vm, uint64_t gpa, const void *src, size_t len)
{
	memcpy(xg_gpa(vm, gpa), src, len);
}

int xg_vcpu_create(struct xg_vm *vm, unsigned long id, struct xg_vcpu *vcpu)
{
	int fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);

	if (fd < 0) {
		vcpu->run = NULL;
		vcpu->run_size = vm->run_size;
		vcpu->fd = -1;
		return -errno;
	}
	return xg_vcpu_attach(vm, fd, vcpu);
}

int xg_vcpu_attach(struct xg_vm *vm, int fd, struct xg_vcpu *vcpu)
{
	void *run;
	int ret;

	vcpu->run = NULL;
	vcpu->run_size = vm->run_size;
	vcpu->fd = fd;
	run = mmap(NULL, vcpu->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vcpu->fd, 0);
	if (run == MAP_FAILED) {
		ret = -errno;
		close(vcpu->fd);
		vcpu->fd = -1;
		return ret;
	}
	vcpu->run = run;
	return 0;
}

void xg_vcpu_destroy(struct xg_vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

int xg_run(struct xg_vcpu *vcpu)
{
	int ret = ioctl(vcpu->fd, KVM_RUN, 0);

	return ret < 0 ? -errno : ret;
}

int xg_get_regs(struct xg_vcpu *vcpu, struct kvm_regs *regs)
{
	return xg_ioctl(vcpu->fd, KVM_GET_REGS, regs);
}

int xg_set_regs(struct xg_vcpu *vcpu, const struct kvm_regs *regs)
{
	return xg_ioctl(vcpu->fd, KVM_SET_REGS, (void *)regs);
}

int xg_get_sregs(struct xg_vcpu *vcpu, struct kvm_sregs *sregs)
{
	return xg_ioctl(vcpu->fd, KVM_GET_SREGS, sregs);
}

int xg_set_sregs(struct xg_vcpu *vcpu, const struct kvm_sregs *sregs)
{
	return xg_ioctl(vcpu->fd, KVM_SET_SREGS, (void *)sregs);
}

int xg_interrupt(struct xg_vcpu *vcpu, uint32_t irq)
{
	struct kvm_interrupt intr = { .irq = irq };

	return xg_ioctl(vcpu->fd, KVM_INTERRUPT, &intr);
}

static void real_mode_seg(struct kvm_segment *seg, uint8_t type)
{
	memset(seg, 0, sizeof(*seg));
	seg->selector = 0;
	seg->base = 0;
	seg->limit = 0xffff;
	seg->type = type;
	seg->present = 1;
	seg->s = 1;
}

/* GPRs zero but RIP, the fixed RFLAGS bit and the stack at XG_STACK. */
static int xg_set_entry_regs(struct xg_vcpu *vcpu, uint64_t rip)
{
	struct kvm_regs regs;

	memset(&regs, 0, sizeof(regs));
	regs.rip = rip;
	regs.rflags = XG_RFLAGS_FIXED;
	regs.rsp = XG_STACK;
	return xg_set_regs(vcpu, &regs);
}

int xg_enter_real_mode(struct xg_vcpu *vcpu, uint64_t rip)
{
	struct kvm_sregs sregs;
	int ret;

	ret = xg_get_sregs(vcpu, &sregs);
	if (ret < 0)
		return ret;
	real_mode_seg(&sregs.cs, 0xb);		/* code RX, accessed */
	real_mode_seg(&sregs.ds, 0x3);		/* data RW, accessed */
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.idt.base = 0;
	sregs.idt.limit = 0x3ff;
	sregs.cr0 = XG_CR0_ET;
	sregs.cr3 = 0;
	sregs.cr4 = 0;
	sregs.efer = 0;
	ret = xg_set_sregs(vcpu, &sregs);
	if (ret < 0)
		return ret;

	return xg_set_entry_regs(vcpu, rip);
}

/* A GDT code or data descriptor: base 0, limit 4 GiB. */
#define GDT_CODE64	0x00af9b000000ffffULL	/* P, DPL 0, code RX, L, G */
#define GDT_DATA	0x00cf93000000ffffULL	/* P, DPL 0, data RW, DB, G */

void xg_build_long_mode(struct xg_vm *vm)
{
	uint64_t *pml4 = xg_gpa(vm, XG_PML4);
	uint64_t *pdpt = xg_gpa(vm, XG_PDPT);
	uint64_t *pd = xg_gpa(vm, XG_PD);
	uint64_t *pt = xg_gpa(vm, XG_PT);
	uint64_t *gdt = xg_gpa(vm, XG_GDT);
	uint64_t tss = XG_TSS;
	unsigned int i;

	memset(pml4, 0, 0x1000);
	memset(pdpt, 0, 0x1000);
	pml4[0] = XG_PDPT | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++)
		pdpt[i] = (XG_PD + i * 0x1000ULL) | PTE_P | PTE_RW;
	/* 4 pages of PD: 2048 entries of 2 MiB, the first one a PT. */
	pd[0] = XG_PT | PTE_P | PTE_RW;
	for (i = 1; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i * XG_SZ_2M) | PTE_P | PTE_RW | PTE_PS;
	for (i = 0; i < 512; i++)
		pt[i] = ((uint64_t)i * 0x1000) | PTE_P | PTE_RW;

	memset(gdt, 0, 0x1000);
	gdt[XG_SEL_CODE64 / 8] = GDT_CODE64;
	gdt[XG_SEL_DATA / 8] = GDT_DATA;
	/* A 64-bit available TSS descriptor: 16 bytes. */
	gdt[XG_SEL_TSS / 8] = XG_TSS_LIMIT |
		((tss & 0xffffff) << 16) |	/* base 23:0 */
		(0x89ULL << 40) |		/* P, type 9 */
		(((tss >> 24) & 0xff) << 56);	/* base 31:24 */
	gdt[XG_SEL_TSS / 8 + 1] = tss >> 32;
}

static void flat_seg(struct kvm_segment *seg, uint16_t selector, uint8_t type,
		     bool code64)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = 0;
	seg->limit = 0xffffffff;
	seg->selector = selector;
	seg->type = type;
	seg->present = 1;
	seg->dpl = 0;
	seg->db = !code64;
	seg->s = 1;
	seg->l = code64;
	seg->g = 1;
}

void xg_long_mode_sregs(struct kvm_sregs *sregs)
{
	flat_seg(&sregs->cs, XG_SEL_CODE64, 0xb, true);	/* code RX, accessed */
	flat_seg(&sregs->ds, XG_SEL_DATA, 0x3, false);	/* data RW, accessed */
	sregs->es = sregs->ds;
	sregs->fs = sregs->ds;
	sregs->gs = sregs->ds;
	sregs->ss = sregs->ds;

	memset(&sregs->tr, 0, sizeof(sregs->tr));
	sregs->tr.base = XG_TSS;
	sregs->tr.limit = XG_TSS_LIMIT;
	sregs->tr.selector = XG_SEL_TSS;
	sregs->tr.type = 0xb;			/* busy 64-bit TSS */
	sregs->tr.present = 1;

	memset(&sregs->ldt, 0, sizeof(sregs->ldt));
	sregs->ldt.type = 0x2;
	sregs->ldt.unusable = 1;

	sregs->gdt.base = XG_GDT;
	sregs->gdt.limit = XG_SEL_TSS + 16 - 1;
	sregs->idt.base = 0;
	sregs->idt.limit = 0;

	sregs->cr0 = XG_CR0_PE | XG_CR0_ET | XG_CR0_NE | XG_CR0_WP | XG_CR0_PG;
	sregs->cr3 = XG_PML4;
	sregs->cr4 = XG_CR4_PAE;
	sregs->efer = XG_EFER_LME | XG_EFER_LMA;
}

int xg_enter_long_mode(struct xg_vm *vm, struct xg_vcpu *vcpu, uint64_t rip)
{
	struct kvm_sregs sregs;
	int ret;

	xg_build_long_mode(vm);
	ret = xg_get_sregs(vcpu, &sregs);
	if (ret < 0)
		return ret;
	xg_long_mode_sregs(&sregs);
	ret = xg_set_sregs(vcpu, &sregs);
	if (ret < 0)
		return ret;

	return xg_set_entry_regs(vcpu, rip);
}

void *xg_io_data(struct xg_vcpu *vcpu)
{
	return (uint8_t *)vcpu->run + vcpu->run->io.data_offset;
}

uint64_t xg_le_get(const void *p, unsigned int size)
{
	const uint8_t *b = p;
	uint64_t value = 0;

	while (size--)
		value = (value << 8) | b[size];
	return value;
}

void xg_le_put(void *p, unsigned int size, uint64_t value)
{
	uint8_t *b = p;
	unsigned int i;

	for (i = 0; i < size; i++, value >>= 8)
		b[i] = value & 0xff;
}

uint64_t xg_io_value(struct xg_vcpu *vcpu)
{
	return xg_le_get(xg_io_data(vcpu), vcpu->run->io.size);
}

struct kvm_cpuid2 *xg_get_supported_cpuid(int sys_fd)
{
	struct kvm_cpuid2 *cpuid = NULL;
	unsigned int nent;
	int ret = -E2BIG;

	for (nent = 64; nent <= 4096 && ret == -E2BIG; nent *= 2) {
		free(cpuid);
		cpuid = calloc(1, sizeof(*cpuid) +
			       nent * sizeof(cpuid->entries[0]));
		if (!cpuid)
			return NULL;
		cpuid->nent = nent;
		ret = xg_ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, cpuid);
	}
	if (ret < 0) {
		free(cpuid);
		return NULL;
	}
	return cpuid;
}

struct kvm_cpuid_entry2 *xg_cpuid_entry(struct kvm_cpuid2 *cpuid,
					uint32_t function, uint32_t index)
{
	unsigned int i;

	for (i = 0; i < cpuid->nent; i++)
		if (cpuid->entries[i].function == function &&
		    cpuid->entries[i].index == index)
			return &cpuid->entries[i];
	return NULL;
}

int xg_kvm_set_supported_cpuid(int sys_fd, struct xg_vcpu *vcpu)
{
	struct kvm_cpuid2 *cpuid = xg_get_supported_cpuid(sys_fd);
	struct kvm_cpuid_entry2 *e;
	int ret;

	if (!cpuid)
		return -EIO;
	e = xg_cpuid_entry(cpuid, 1, 0);
	if (e)
		e->ecx |= 1U << 31;
	ret = xg_ioctl(vcpu->fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return ret;
}

const char *xg_exit_name(uint32_t exit_reason)
{
	static const char * const names[] = {
		[KVM_EXIT_UNKNOWN] = "KVM_EXIT_UNKNOWN",
		[KVM_EXIT_EXCEPTION] = "KVM_EXIT_EXCEPTION",
		[KVM_EXIT_IO] = "KVM_EXIT_IO",
		[KVM_EXIT_HYPERCALL] = "KVM_EXIT_HYPERCALL",
		[KVM_EXIT_DEBUG] = "KVM_EXIT_DEBUG",
		[KVM_EXIT_HLT] = "KVM_EXIT_HLT",
		[KVM_EXIT_MMIO] = "KVM_EXIT_MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "KVM_EXIT_IRQ_WINDOW_OPEN",
		[KVM_EXIT_SHUTDOWN] = "KVM_EXIT_SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "KVM_EXIT_FAIL_ENTRY",
		[KVM_EXIT_INTR] = "KVM_EXIT_INTR",
		[KVM_EXIT_INTERNAL_ERROR] = "KVM_EXIT_INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "KVM_EXIT_SYSTEM_EVENT",
		[KVM_EXIT_X86_RDMSR] = "KVM_EXIT_X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "KVM_EXIT_X86_WRMSR",
	};

	if (exit_reason < ARRAY_SIZE(names) && names[exit_reason])
		return names[exit_reason];
	return "KVM_EXIT_?";
}

const char *xg_exit_str(struct xg_vcpu *vcpu, char *buf, size_t size)
{
	struct kvm_run *run = vcpu->run;
	const char *name = xg_exit_name(run->exit_reason);

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(buf, size,
			 "%s %s port 0x%x size %u count %u offset 0x%llx value 0x%llx",
			 name, run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			 run->io.port, run->io.size, run->io.count,
			 (unsigned long long)run->io.data_offset,
			 run->io.data_offset + run->io.size <=
			 (uint64_t)vcpu->run_size ?
			 (unsigned long long)xg_io_value(vcpu) : 0ULL);
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf, size, "%s %s 0x%llx len %u data 0x%llx", name,
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr, run->mmio.len,
			 (unsigned long long)xg_le_get(run->mmio.data,
				run->mmio.len <= 8 ? run->mmio.len : 8));
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf, size, "%s reason 0x%llx cpu %u", name,
			 (unsigned long long)
			 run->fail_entry.hardware_entry_failure_reason,
			 run->fail_entry.cpu);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf, size, "%s suberror %u ndata %u data 0x%llx 0x%llx",
			 name, run->internal.suberror, run->internal.ndata,
			 (unsigned long long)run->internal.data[0],
			 (unsigned long long)run->internal.data[1]);
		break;
	case KVM_EXIT_HYPERCALL:
		snprintf(buf, size, "%s nr 0x%llx", name,
			 (unsigned long long)run->hypercall.nr);
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		snprintf(buf, size, "%s index 0x%x reason 0x%x data 0x%llx",
			 name, run->msr.index, run->msr.reason,
			 (unsigned long long)run->msr.data);
		break;
	default:
		snprintf(buf, size, "%s (%u)", name, run->exit_reason);
		break;
	}
	return buf;
}
