// SPDX-License-Identifier: GPL-2.0
/*
 * axvm: the arm64 board, a small part of QEMU virt's layout.
 *
 * RAM from 0x40000000.  Every vCPU is initialised with KVM's reset state
 * (EL1h, interrupts masked, MMU off) and PSCI 0.2; vCPU 0 starts at the
 * image's entry with x0 = 0 and x1 = the number of vCPUs, the others are
 * powered off until the guest starts them with PSCI CPU_ON.  Devices: a
 * PL011 UART at 0x09000000 (the console).  PSCI SYSTEM_OFF powers the
 * machine off, SYSTEM_RESET stops it too (axvm does not reboot).
 */
#include <errno.h>
#include <elf.h>
#include <stddef.h>
#include <string.h>

#include "axvm.h"

const char *const axvm_arch_name = "arm64";
const uint64_t axvm_ram_base = 0x40000000;
const uint64_t axvm_default_load = 0x40080000;
const uint16_t axvm_elf_machine = EM_AARCH64;
const uint64_t axvm_low_reserved;

#define PL011_BASE	0x09000000ULL
#define PL011_SIZE	0x1000ULL
#define PL011_DR	0x000
#define PL011_FR	0x018
#define PL011_FR_RXFE	0x10
#define PL011_FR_TXFE	0x80

#define SMCCC_RET_NOT_SUPPORTED	(-1LL)

#define CORE_REG(x)	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | \
			 KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(x))

static struct kvm_vcpu_init vcpu_init_template;

int axvm_arch_vm_init(struct axvm *vm)
{
	if (axvm_ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET,
		       &vcpu_init_template)) {
		axvm_say("KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int axvm_arch_vcpu_init(struct axvm *vm, struct axvm_vcpu *vcpu)
{
	struct kvm_vcpu_init init = vcpu_init_template;

	(void)vm;
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	if (vcpu->id)
		init.features[0] |= 1U << KVM_ARM_VCPU_POWER_OFF;
	if (axvm_ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &init)) {
		axvm_say("vCPU %u: KVM_ARM_VCPU_INIT: %s", vcpu->id,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static int set_reg(struct axvm_vcpu *vcpu, uint64_t id, uint64_t v)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&v };

	return axvm_ioctl(vcpu->fd, KVM_SET_ONE_REG, &reg);
}

int axvm_arch_vcpu_boot(struct axvm *vm, struct axvm_vcpu *vcpu)
{
	/* The others start where the guest's CPU_ON says. */
	if (vcpu->id)
		return 0;
	if (set_reg(vcpu, CORE_REG(regs.pc), vm->entry) ||
	    set_reg(vcpu, CORE_REG(regs.regs[0]), vcpu->id) ||
	    set_reg(vcpu, CORE_REG(regs.regs[1]), vm->nr_vcpus)) {
		axvm_say("vCPU %u: cannot set its boot state: %s", vcpu->id,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* --- the PL011 ---------------------------------------------------------- */

static const uint8_t pl011_id[8] = {
	0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1
};

static uint32_t pl011_read(uint64_t off)
{
	switch (off) {
	case PL011_DR:
		return axvm_console_in();
	case PL011_FR:
		return PL011_FR_TXFE |
		       (axvm_console_in_ready() ? 0 : PL011_FR_RXFE);
	}
	/* The peripheral and PrimeCell ids, at 0xfe0-0xffc. */
	if (off >= 0xfe0 && off < 0x1000 && !(off & 3))
		return pl011_id[(off - 0xfe0) / 4];
	return 0;
}

static enum axvm_action exit_mmio(struct axvm *vm, struct axvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint64_t addr = run->mmio.phys_addr;
	uint32_t v;

	if (addr >= PL011_BASE && addr - PL011_BASE < PL011_SIZE) {
		if (run->mmio.is_write) {
			if (addr - PL011_BASE == PL011_DR)
				axvm_console_out(run->mmio.data[0]);
			return AXVM_CONTINUE;
		}
		v = pl011_read(addr - PL011_BASE);
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
		memcpy(run->mmio.data, &v,
		       run->mmio.len < sizeof(v) ? run->mmio.len : sizeof(v));
		return AXVM_CONTINUE;
	}
	return axvm_mmio_unclaimed(vm, vcpu);
}

enum axvm_action axvm_arch_exit(struct axvm *vm, struct axvm_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		return exit_mmio(vm, vcpu);
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			if (vm->verbose)
				axvm_say("vCPU %u: power off", vcpu->id);
			axvm_stop(vm, 0);
			break;
		case KVM_SYSTEM_EVENT_RESET:
			axvm_say("vCPU %u: the guest asked for a reset: axvm stops",
				 vcpu->id);
			axvm_stop(vm, 0);
			break;
		default:
			axvm_say("vCPU %u: system event %u", vcpu->id,
				 run->system_event.type);
			axvm_stop(vm, 1);
			break;
		}
		return AXVM_STOP;
	case KVM_EXIT_HYPERCALL:
		/* No service of axvm's behind HVC: SMCCC's answer. */
		if (set_reg(vcpu, CORE_REG(regs.regs[0]),
			    (uint64_t)SMCCC_RET_NOT_SUPPORTED)) {
			axvm_say("vCPU %u: cannot answer HVC: %s", vcpu->id,
				 strerror(errno));
			axvm_stop(vm, 1);
			return AXVM_STOP;
		}
		return AXVM_CONTINUE;
	default:
		return axvm_unexpected_exit(vm, vcpu);
	}
}
