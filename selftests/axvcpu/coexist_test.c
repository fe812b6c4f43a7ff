// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu next to KVM: both modules loaded, one virtualization extension.
 *
 * Whoever creates a VM first owns the extension until its last VM is gone;
 * the other one's KVM_CREATE_VM fails with EBUSY meanwhile.  KVM 6.1
 * enables the extension in KVM_CREATE_VM (hardware_enable_all()): SVM's
 * hardware_enable finds EFER.SVME already set and fails, and
 * hardware_enable_all() turns that into -EBUSY.
 *
 * AXVCPU_DEV names axvcpu's device (default /dev/axvcpu), KVM_DEV KVM's
 * (default /dev/kvm).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "axvcpu_util.h"

#define ROUNDS	5

FIXTURE(coexist) {
	int kvm_sys;
	int ax_sys;
};

FIXTURE_SETUP(coexist)
{
	self->kvm_sys = -1;
	self->ax_sys = -1;

	self->ax_sys = open_dev(axvcpu_dev_path());
	ASSERT_LE(0, self->ax_sys)
		TH_LOG("open %s: %s", axvcpu_dev_path(), strerror(-self->ax_sys));
	self->kvm_sys = open_dev(kvm_dev_path());
	ASSERT_LE(0, self->kvm_sys)
		TH_LOG("open %s: %s", kvm_dev_path(), strerror(-self->kvm_sys));
}

FIXTURE_TEARDOWN(coexist)
{
	if (self->kvm_sys >= 0)
		close(self->kvm_sys);
	if (self->ax_sys >= 0)
		close(self->ax_sys);
}

/* axvcpu holds no hardware and no VM. */
#define ASSERT_AXVCPU_IDLE()						\
	do {								\
		ASSERT_EQ(0LL, status_get("vms"));			\
		ASSERT_EQ(0LL, status_get("hardware_users"));		\
		ASSERT_EQ(0LL, status_get("enabled_cpus"));		\
	} while (0)

TEST_F(coexist, kvm_vm_blocks_axvcpu)
{
	int kvm_vm, ax_vm;

	kvm_vm = create_vm(self->kvm_sys);
	ASSERT_LE(0, kvm_vm) TH_LOG("KVM's KVM_CREATE_VM: %s",
				    strerror(-kvm_vm));

	ASSERT_EQ(-EBUSY, create_vm(self->ax_sys));
	/* The failed attempt left nothing enabled behind. */
	ASSERT_AXVCPU_IDLE();
	/* Not even a second try gets through. */
	ASSERT_EQ(-EBUSY, create_vm(self->ax_sys));

	ASSERT_EQ(0, close(kvm_vm));
	ax_vm = create_vm(self->ax_sys);
	ASSERT_LE(0, ax_vm) TH_LOG("axvcpu's KVM_CREATE_VM after KVM's VM: %s",
				   strerror(-ax_vm));
	ASSERT_EQ(1LL, status_get("vms"));
	ASSERT_EQ(0, close(ax_vm));
	ASSERT_AXVCPU_IDLE();
}

TEST_F(coexist, axvcpu_vm_blocks_kvm)
{
	int kvm_vm, ax_vm, vcpu;

	ax_vm = create_vm(self->ax_sys);
	ASSERT_LE(0, ax_vm) TH_LOG("axvcpu's KVM_CREATE_VM: %s",
				   strerror(-ax_vm));
	vcpu = create_vcpu(ax_vm, 0);
	ASSERT_LE(0, vcpu);

	ASSERT_EQ(-EBUSY, create_vm(self->kvm_sys));
	/* A vCPU fd alone still keeps the VM and the hardware. */
	ASSERT_EQ(0, close(ax_vm));
	ASSERT_EQ(-EBUSY, create_vm(self->kvm_sys));

	ASSERT_EQ(0, close(vcpu));
	ASSERT_AXVCPU_IDLE();
	kvm_vm = create_vm(self->kvm_sys);
	ASSERT_LE(0, kvm_vm) TH_LOG("KVM's KVM_CREATE_VM after axvcpu's VM: %s",
				    strerror(-kvm_vm));
	ASSERT_EQ(0, close(kvm_vm));
}

/* Ownership passes back and forth, each time the last VM goes. */
TEST_F(coexist, alternate_owners)
{
	int round, kvm_vm, ax_vm;

	for (round = 0; round < ROUNDS; round++) {
		kvm_vm = create_vm(self->kvm_sys);
		ASSERT_LE(0, kvm_vm) TH_LOG("round %d", round);
		ASSERT_EQ(-EBUSY, create_vm(self->ax_sys));
		ASSERT_EQ(0, close(kvm_vm));

		ax_vm = create_vm(self->ax_sys);
		ASSERT_LE(0, ax_vm) TH_LOG("round %d", round);
		ASSERT_EQ(-EBUSY, create_vm(self->kvm_sys));
		ASSERT_EQ(0, close(ax_vm));
	}
	ASSERT_AXVCPU_IDLE();
}

TEST_HARNESS_MAIN
