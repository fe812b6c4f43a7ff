// SPDX-License-Identifier: GPL-2.0
/*
 * axvm: the x86 board.
 *
 * RAM from 0.  The VMM puts every vCPU in 64-bit long mode at the image's
 * entry: identity paging of the first 4 GiB with 2 MiB pages, a flat GDT
 * and a TSS, all in the first 64 KiB.  RDI holds the vCPU id, RSI the
 * number of vCPUs; the guest sets its own stack.  Devices: a 16550 UART
 * at port 0x3f8 (the console), and port 0x604, where any write powers the
 * machine off (QEMU's ACPI port; the value written is ignored).
 */
#include <errno.h>
#include <elf.h>
#include <string.h>

#include "axvm.h"

const char *const axvm_arch_name = "x86-64";
const uint64_t axvm_ram_base;
const uint64_t axvm_default_load = 0x100000;
const uint16_t axvm_elf_machine = EM_X86_64;
const uint64_t axvm_low_reserved = 0x10000;

#define PML4		0x1000ULL
#define PDPT		0x2000ULL
#define PD		0x3000ULL	/* 4 pages: 4 GiB */
#define GDT		0x7000ULL
#define TSS		0x8000ULL
#define TSS_LIMIT	0x67ULL
#define SEL_CODE	0x08
#define SEL_DATA	0x10
#define SEL_TSS		0x18

#define PTE_P		0x1ULL
#define PTE_RW		0x2ULL
#define PTE_PS		0x80ULL

#define UART_BASE	0x3f8
#define UART_LSR_DR	0x01
#define UART_LSR_THRE	0x20
#define UART_LSR_TEMT	0x40
#define UART_LCR_DLAB	0x80
#define POWER_OFF_PORT	0x604

int axvm_arch_vm_init(struct axvm *vm)
{
	uint64_t *pml4 = axvm_gpa(vm, PML4, 0x1000);
	uint64_t *pdpt = axvm_gpa(vm, PDPT, 0x1000);
	uint64_t *pd = axvm_gpa(vm, PD, 4 * 0x1000);
	uint64_t *gdt = axvm_gpa(vm, GDT, 0x1000);
	uintptr_t tss_addr = 0xfffbd000;
	unsigned int i;

	pml4[0] = PDPT | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++)
		pdpt[i] = (PD + i * 0x1000ULL) | PTE_P | PTE_RW;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | PTE_P | PTE_RW | PTE_PS;

	gdt[SEL_CODE / 8] = 0x00af9b000000ffffULL;	/* 64-bit code */
	gdt[SEL_DATA / 8] = 0x00cf93000000ffffULL;	/* data */
	gdt[SEL_TSS / 8] = TSS_LIMIT | (TSS << 16) | (0x89ULL << 40);
	gdt[SEL_TSS / 8 + 1] = 0;

	/* Needed by VMX without unrestricted guest; accepted elsewhere. */
	if (axvm_ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (void *)tss_addr)) {
		axvm_say("KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->db = !code;
	s->l = code;
	s->g = 1;
}

int axvm_arch_vcpu_init(struct axvm *vm, struct axvm_vcpu *vcpu)
{
	(void)vm;
	(void)vcpu;
	return 0;
}

int axvm_arch_vcpu_boot(struct axvm *vm, struct axvm_vcpu *vcpu)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { 0 };

	if (axvm_ioctl(vcpu->fd, KVM_GET_SREGS, &sregs))
		goto fail;
	seg(&sregs.cs, SEL_CODE, 0xb, true);
	seg(&sregs.ds, SEL_DATA, 0x3, false);
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.base = TSS;
	sregs.tr.limit = TSS_LIMIT;
	sregs.tr.selector = SEL_TSS;
	sregs.tr.type = 0xb;		/* busy 64-bit TSS */
	sregs.tr.present = 1;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.type = 0x2;
	sregs.ldt.unusable = 1;
	sregs.gdt.base = GDT;
	sregs.gdt.limit = SEL_TSS + 16 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = 0x80050033;		/* PG WP NE ET MP PE */
	sregs.cr3 = PML4;
	sregs.cr4 = 0x620;		/* OSXMMEXCPT OSFXSR PAE */
	sregs.efer = 0x500;		/* LMA LME */
	if (axvm_ioctl(vcpu->fd, KVM_SET_SREGS, &sregs))
		goto fail;

	regs.rip = vm->entry;
	regs.rdi = vcpu->id;
	regs.rsi = vm->nr_vcpus;
	regs.rflags = 0x2;
	if (axvm_ioctl(vcpu->fd, KVM_SET_REGS, &regs))
		goto fail;
	return 0;
fail:
	axvm_say("vCPU %u: cannot set its boot state: %s", vcpu->id,
		 strerror(errno));
	return -1;
}

/* --- the 16550 ---------------------------------------------------------- */

static struct {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm;
} uart = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint8_t uart_read(unsigned int reg)
{
	bool dlab = uart.lcr & UART_LCR_DLAB;

	switch (reg) {
	case 0:
		return dlab ? uart.dll : axvm_console_in();
	case 1:
		return dlab ? uart.dlm : uart.ier;
	case 2:
		return 0x01;		/* IIR: no interrupt pending */
	case 3:
		return uart.lcr;
	case 4:
		return uart.mcr;
	case 5:
		return UART_LSR_THRE | UART_LSR_TEMT |
		       (axvm_console_in_ready() ? UART_LSR_DR : 0);
	case 6:
		return 0xb0;		/* MSR: DCD, DSR, CTS */
	default:
		return uart.scr;
	}
}

static void uart_write(unsigned int reg, uint8_t v)
{
	bool dlab = uart.lcr & UART_LCR_DLAB;

	switch (reg) {
	case 0:
		if (dlab)
			uart.dll = v;
		else
			axvm_console_out(v);
		break;
	case 1:
		if (dlab)
			uart.dlm = v;
		else
			uart.ier = v & 0x0f;
		break;
	case 3:
		uart.lcr = v;
		break;
	case 4:
		uart.mcr = v & 0x1f;
		break;
	case 7:
		uart.scr = v;
		break;
	}
}

static enum axvm_action exit_io(struct axvm *vm, struct axvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint16_t port = run->io.port;
	unsigned int i, b;

	if (run->io.data_offset >= vm->run_size ||
	    (uint64_t)run->io.size * run->io.count >
	    vm->run_size - run->io.data_offset) {
		axvm_say("vCPU %u: the I/O exit's data lies outside kvm_run",
			 vcpu->id);
		axvm_stop(vm, 1);
		return AXVM_STOP;
	}
	if (port == POWER_OFF_PORT && run->io.direction == KVM_EXIT_IO_OUT) {
		if (vm->verbose)
			axvm_say("vCPU %u: power off", vcpu->id);
		axvm_stop(vm, 0);
		return AXVM_STOP;
	}
	pthread_mutex_lock(&uart.lock);
	for (i = 0; i < run->io.count; i++) {
		for (b = 0; b < run->io.size; b++) {
			uint8_t *p = data + i * run->io.size + b;
			unsigned int pt = port + b;

			if (pt >= UART_BASE && pt < UART_BASE + 8) {
				if (run->io.direction == KVM_EXIT_IO_OUT)
					uart_write(pt - UART_BASE, *p);
				else
					*p = uart_read(pt - UART_BASE);
			} else if (run->io.direction == KVM_EXIT_IO_IN) {
				*p = 0xff;	/* nothing there */
			}
		}
	}
	pthread_mutex_unlock(&uart.lock);
	if (vm->verbose && (port < UART_BASE || port >= UART_BASE + 8))
		axvm_say("vCPU %u: %s port 0x%x: nothing there", vcpu->id,
			 run->io.direction == KVM_EXIT_IO_OUT ? "out to" :
			 "in from", port);
	return AXVM_CONTINUE;
}

enum axvm_action axvm_arch_exit(struct axvm *vm, struct axvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return exit_io(vm, vcpu);
	case KVM_EXIT_MMIO:
		return axvm_mmio_unclaimed(vm, vcpu);	/* no MMIO device */
	default:
		return axvm_unexpected_exit(vm, vcpu);
	}
}
