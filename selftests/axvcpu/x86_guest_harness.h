/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The x86 guest programs' helpers that assert: running a vCPU to an
 * expected exit, its registers, and guests set up in real or long mode.
 * Include after kselftest_harness.h and x86_guest.h.
 */
#ifndef X86_GUEST_HARNESS_H
#define X86_GUEST_HARNESS_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>

/*
 * Guest code assembled with the test, in the mode named: name[] to
 * name_end[] in .rodata.
 */
#define GUEST(name, mode, body)						\
	extern const uint8_t name[], name##_end[];			\
	asm(".pushsection .rodata\n.globl " #name ", " #name "_end\n"	\
	    #name ":\n" mode "\n" body "\n.code64\n" #name "_end:\n"	\
	    ".popsection\n")
#define GUEST16(name, body)	GUEST(name, ".code16", body)
#define GUEST32(name, body)	GUEST(name, ".code32", body)
#define GUEST64(name, body)	GUEST(name, ".code64", body)

/* An ioctl's result: 0 or -errno. */
static inline int ioctl_err(int fd, unsigned long nr, void *arg)
{
	return ioctl(fd, nr, arg) < 0 ? -errno : 0;
}

/* Real mode: vector @vec of the IVT at 0 to @ip in segment 0. */
static inline void set_ivt(struct xg_vm *vm, unsigned int vec, uint16_t ip)
{
	uint16_t e[2] = { ip, 0 };

	xg_load(vm, vec * 4, e, sizeof(e));
}

/* KVM_RUN, which must succeed with exit @reason. */
static inline void run_expect(struct __test_metadata *_metadata,
			      struct xg_vcpu *v, uint32_t reason)
{
	char buf[160];
	int ret = xg_run(v);

	ASSERT_EQ(0, ret)
		TH_LOG("KVM_RUN: %s; %s", strerror(-ret),
		       xg_exit_str(v, buf, sizeof(buf)));
	ASSERT_EQ(reason, v->run->exit_reason)
		TH_LOG("expected %s, got %s", xg_exit_name(reason),
		       xg_exit_str(v, buf, sizeof(buf)));
}

/* An OUT of AL to @port, which the test expects now, with @al. */
static inline void run_expect_out8(struct __test_metadata *_metadata,
				   struct xg_vcpu *v, uint16_t port,
				   uint8_t al)
{
	run_expect(_metadata, v, KVM_EXIT_IO);
	ASSERT_EQ(KVM_EXIT_IO_OUT, v->run->io.direction);
	ASSERT_EQ(port, v->run->io.port);
	ASSERT_EQ(al, (uint8_t)xg_io_value(v));
}

static inline void get_regs(struct __test_metadata *_metadata,
			    struct xg_vcpu *v, struct kvm_regs *regs)
{
	int ret = xg_get_regs(v, regs);

	ASSERT_EQ(0, ret) TH_LOG("KVM_GET_REGS: %s", strerror(-ret));
}

static inline void set_regs(struct __test_metadata *_metadata,
			    struct xg_vcpu *v, const struct kvm_regs *regs)
{
	int ret = xg_set_regs(v, regs);

	ASSERT_EQ(0, ret) TH_LOG("KVM_SET_REGS: %s", strerror(-ret));
}

static inline void get_sregs(struct __test_metadata *_metadata,
			     struct xg_vcpu *v, struct kvm_sregs *sregs)
{
	int ret = xg_get_sregs(v, sregs);

	ASSERT_EQ(0, ret) TH_LOG("KVM_GET_SREGS: %s", strerror(-ret));
}

static inline void set_sregs(struct __test_metadata *_metadata,
			     struct xg_vcpu *v, const struct kvm_sregs *sregs)
{
	int ret = xg_set_sregs(v, sregs);

	ASSERT_EQ(0, ret) TH_LOG("KVM_SET_SREGS: %s", strerror(-ret));
}

/* A fixture's VM with @mem_size of memory in slot 0, and its vCPU 0. */
static inline void vm_vcpu_open(struct __test_metadata *_metadata,
				struct xg_vm *vm, struct xg_vcpu *v,
				size_t mem_size)
{
	int ret;

	ret = xg_vm_create(vm, mem_size);
	ASSERT_EQ(0, ret)
		TH_LOG("a VM on %s: %s", xg_dev_path(), strerror(-ret));
	ret = xg_vcpu_create(vm, 0, v);
	ASSERT_EQ(0, ret) {
		xg_vm_destroy(vm);
		TH_LOG("KVM_CREATE_VCPU: %s", strerror(-ret));
	}
}

/* @code at XG_CODE, the vCPU in real mode there. */
static inline void real_mode_guest(struct __test_metadata *_metadata,
				   struct xg_vm *vm, struct xg_vcpu *v,
				   const void *code, size_t len)
{
	int ret;

	xg_load(vm, XG_CODE, code, len);
	ret = xg_enter_real_mode(v, XG_CODE);
	ASSERT_EQ(0, ret) TH_LOG("real mode: %s", strerror(-ret));
}

/* @code at XG_CODE, the vCPU in long mode there. */
static inline void long_mode_guest(struct __test_metadata *_metadata,
				   struct xg_vm *vm, struct xg_vcpu *v,
				   const void *code, size_t len)
{
	int ret;

	xg_load(vm, XG_CODE, code, len);
	ret = xg_enter_long_mode(vm, v, XG_CODE);
	ASSERT_EQ(0, ret) TH_LOG("long mode: %s", strerror(-ret));
}

#endif /* X86_GUEST_HARNESS_H */
