// SPDX-License-Identifier: GPL-2.0
/*
 * A running guest hops between axvcpu and KVM, and back, in one process.
 *
 * The guest counts in three places at once (RBX, XMM0's low lane and a
 * word of its memory), checks its own LSTAR and two GPRs on every round,
 * and reports each round with an OUT.  Every HOP_EVERY rounds the test
 * saves the vCPU's whole state with KVM's GET calls (registers, special
 * registers, the FPU/XSAVE area, XCR0, the MSRs a VMM migrates, the debug
 * registers, the MP state) and its memory, destroys the VM, and writes
 * all of it into a new VM on the other hypervisor, which continues the
 * guest.  Every other hop is made with an IN in flight: its answer is
 * given and, as for the OUT of the other hops, completed with
 * immediate_exit before the save, as a migrating VMM does.
 *
 * Without KVM's device (make check's axvcpu run) the guest hops between
 * VMs of axvcpu.  With both devices usable (KVM and axvcpu loaded
 * together, CPU0 alone) it hops between the two hypervisors; that run is
 * not in make check yet (Documentation/testing.rst).  AXVCPU_DEV names
 * axvcpu's device, KVM_DEV KVM's.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "kselftest_harness.h"
#include "x86_guest.h"

#define MEM_SIZE	XG_SZ_2M
#define PORT		0x10	/* a round: EAX is the count */
#define PORT_FAIL	0x11	/* the guest found its state changed */
#define PORT_IN		0x12	/* the IN the test hops across */
#define HOP_EVERY	40
#define HOPS		6
#define LSTAR_VALUE	0xffffffff81234560ULL
#define R12_VALUE	0x1122334455667788ULL

#define X86_CR4_OSFXSR		(1ULL << 9)
#define X86_CR4_OSXMMEXCPT	(1ULL << 10)
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_CR_PAT		0x277

/*
 * From GUEST_ENTRY, which sets XMM0 and XMM1 (the guest's own: they are
 * only ever carried by the hops), RBX counts; XMM0 += XMM1 (1 in the low
 * lane); [RDI] counts; LSTAR must
 * be R13 and R12 must be R14.  Round 1 of every HOP_EVERY reads PORT_IN
 * into RBP too: the hop then happens with that IN in flight.
 */
static const uint8_t guest_code[] = {
	0x48, 0xff, 0xc3,		/* 00: inc %rbx */
	0x66, 0x0f, 0xd4, 0xc1,		/* 03: paddq %xmm1, %xmm0 */
	0x66, 0x48, 0x0f, 0x7e, 0xc0,	/* 07: movq %xmm0, %rax */
	0x48, 0x39, 0xd8,		/* 0c: cmp %rbx, %rax */
	0x75, 0x2c,			/* 0f: jne fail */
	0x48, 0x8b, 0x07,		/* 11: mov (%rdi), %rax */
	0x48, 0xff, 0xc0,		/* 14: inc %rax */
	0x48, 0x89, 0x07,		/* 17: mov %rax, (%rdi) */
	0x48, 0x39, 0xd8,		/* 1a: cmp %rbx, %rax */
	0x75, 0x1e,			/* 1d: jne fail */
	0xb9, 0x82, 0x00, 0x00, 0xc0,	/* 1f: mov $MSR_LSTAR, %ecx */
	0x0f, 0x32,			/* 24: rdmsr */
	0x48, 0xc1, 0xe2, 0x20,		/* 26: shl $32, %rdx */
	0x48, 0x09, 0xd0,		/* 2a: or %rdx, %rax */
	0x4c, 0x39, 0xe8,		/* 2d: cmp %r13, %rax */
	0x75, 0x0b,			/* 30: jne fail */
	0x4d, 0x39, 0xf4,		/* 32: cmp %r14, %r12 */
	0x75, 0x06,			/* 35: jne fail */
	0x89, 0xd8,			/* 37: mov %ebx, %eax */
	0xe7, PORT,			/* 39: out %eax, $PORT */
	0xeb, 0x0e,			/* 3b: jmp in */
	0x89, 0xd8,			/* 3d: fail: mov %ebx, %eax */
	0xe7, PORT_FAIL,		/* 3f: out %eax, $PORT_FAIL */
	0xf4,				/* 41: hlt */
	0x90, 0x90, 0x90, 0x90, 0x90,	/* 42: */
	0x90, 0x90, 0x90, 0x90,		/* 47: */
	/* 4b: in: every round but the first of a HOP_EVERY, to the top */
	0x89, 0xd8,			/* 4b: mov %ebx, %eax */
	0x31, 0xd2,			/* 4d: xor %edx, %edx */
	0xb9, HOP_EVERY, 0, 0, 0,	/* 4f: mov $HOP_EVERY, %ecx */
	0xf7, 0xf1,			/* 54: div %ecx */
	0x83, 0xfa, 0x01,		/* 56: cmp $1, %edx */
	0x75, 0x09,			/* 59: jne top */
	0xe5, PORT_IN,			/* 5b: in $PORT_IN, %eax */
	0x89, 0xc5,			/* 5d: mov %eax, %ebp */
	0xe9, 0x00, 0x00, 0x00, 0x00,	/* 5f: jmp top (patched) */
	0xe9, 0x00, 0x00, 0x00, 0x00,	/* 64: top: jmp 0 (patched) */
	/* 69: the entry: XMM1 = 1, XMM0 = 0, to the top */
	0xb8, 0x01, 0x00, 0x00, 0x00,	/* 69: mov $1, %eax */
	0x66, 0x48, 0x0f, 0x6e, 0xc8,	/* 6e: movq %rax, %xmm1 */
	0x66, 0x0f, 0xef, 0xc0,		/* 73: pxor %xmm0, %xmm0 */
	0xe9, 0x00, 0x00, 0x00, 0x00,	/* 77: jmp 0 (patched) */
};

#define GUEST_ENTRY	0x69

/* What a VMM carries from one hypervisor to another. */
struct hop_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xsave xsave;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dbg;
	struct kvm_mp_state mp;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[9];
	} msrs;
	bool has_xsave;
	uint8_t mem[MEM_SIZE];
};

static const uint32_t hop_msrs[] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_IA32_CR_PAT,
};

static const char *ax_dev(void)
{
	const char *d = getenv("AXVCPU_DEV");

	return d && *d ? d : "/dev/axvcpu";
}

static const char *kvm_dev(void)
{
	const char *d = getenv("KVM_DEV");

	return d && *d ? d : "/dev/kvm";
}

/* A VM with one vCPU on @dev (xg_vm_create opens $AXVCPU_DEV). */
static int hop_open(const char *dev, const char *ax, struct xg_vm *vm,
		    struct xg_vcpu *v)
{
	int ret;

	setenv("AXVCPU_DEV", dev, 1);
	ret = xg_vm_create(vm, MEM_SIZE);
	setenv("AXVCPU_DEV", ax, 1);
	if (ret)
		return ret;
	ret = xg_vcpu_create(vm, 0, v);
	if (ret)
		xg_vm_destroy(vm);
	return ret;
}

static void hop_save(struct __test_metadata *_metadata, struct xg_vm *vm,
		     struct xg_vcpu *v, struct hop_state *s)
{
	unsigned int i;

	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_REGS, &s->regs));
	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_SREGS, &s->sregs));
	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_FPU, &s->fpu));
	s->has_xsave = ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	if (s->has_xsave) {
		ASSERT_EQ(0, ioctl(v->fd, KVM_GET_XSAVE, &s->xsave));
		ASSERT_EQ(0, ioctl(v->fd, KVM_GET_XCRS, &s->xcrs));
	}
	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_DEBUGREGS, &s->dbg));
	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_MP_STATE, &s->mp));
	memset(&s->msrs, 0, sizeof(s->msrs));
	s->msrs.hdr.nmsrs = ARRAY_SIZE(hop_msrs);
	for (i = 0; i < ARRAY_SIZE(hop_msrs); i++)
		s->msrs.e[i].index = hop_msrs[i];
	ASSERT_EQ((int)ARRAY_SIZE(hop_msrs),
		  ioctl(v->fd, KVM_GET_MSRS, &s->msrs));
	memcpy(s->mem, xg_gpa(vm, 0), MEM_SIZE);
}

static void hop_restore(struct __test_metadata *_metadata, struct xg_vm *vm,
			struct xg_vcpu *v, struct hop_state *s)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	bool has_xsave;

	memcpy(xg_gpa(vm, 0), s->mem, MEM_SIZE);
	/* QEMU's order: special registers, then the rest. */
	ASSERT_EQ(0, ioctl(v->fd, KVM_SET_SREGS, &s->sregs));
	ASSERT_EQ(0, ioctl(v->fd, KVM_SET_REGS, &s->regs));
	has_xsave = ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	if (s->has_xsave && has_xsave) {
		uint64_t hdr[2];

		memcpy(hdr, (uint8_t *)s->xsave.region + 512, sizeof(hdr));
		ASSERT_EQ(0, ioctl(v->fd, KVM_SET_XCRS, &s->xcrs));
		ASSERT_EQ(0, ioctl(v->fd, KVM_SET_XSAVE, &s->xsave))
			TH_LOG("KVM_SET_XSAVE: %s (XSTATE_BV 0x%llx, XCOMP_BV 0x%llx, MXCSR 0x%x, XCR0 0x%llx)",
			       strerror(errno), (unsigned long long)hdr[0],
			       (unsigned long long)hdr[1], s->xsave.region[6],
			       (unsigned long long)s->xcrs.xcrs[0].value);
	} else {
		ASSERT_EQ(0, ioctl(v->fd, KVM_SET_FPU, &s->fpu));
	}
	ASSERT_EQ((int)ARRAY_SIZE(hop_msrs),
		  ioctl(v->fd, KVM_SET_MSRS, &s->msrs));
	ASSERT_EQ(0, ioctl(v->fd, KVM_SET_DEBUGREGS, &s->dbg));
	ASSERT_EQ(0, ioctl(v->fd, KVM_SET_MP_STATE, &s->mp));

	/* What was written reads back the same on this side. */
	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_REGS, &regs));
	EXPECT_EQ(0, memcmp(&regs, &s->regs, sizeof(regs)));
	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_SREGS, &sregs));
	EXPECT_EQ(s->sregs.cr0, sregs.cr0);
	EXPECT_EQ(s->sregs.cr3, sregs.cr3);
	EXPECT_EQ(s->sregs.cr4, sregs.cr4);
	EXPECT_EQ(s->sregs.efer, sregs.efer);
	EXPECT_EQ(s->sregs.cs.selector, sregs.cs.selector);
	EXPECT_EQ(s->sregs.cs.l, sregs.cs.l);
}

/* The guest's first state: long mode, its counters at 0, SSE on. */
static void hop_first(struct __test_metadata *_metadata, struct xg_vm *vm,
		      struct xg_vcpu *v)
{
	uint8_t code[sizeof(guest_code)];
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} msr = { .hdr.nmsrs = 1, .e[0] = { MSR_LSTAR, 0, LSTAR_VALUE } };
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int32_t rel;

	memcpy(code, guest_code, sizeof(code));
	rel = 0x64 - (0x5f + 5);		/* jmp top */
	memcpy(&code[0x60], &rel, 4);
	rel = 0x00 - (0x64 + 5);		/* top: jmp 0 */
	memcpy(&code[0x65], &rel, 4);
	rel = 0x00 - (0x77 + 5);		/* the entry's jmp 0 */
	memcpy(&code[0x78], &rel, 4);
	ASSERT_EQ(0, xg_enter_long_mode(vm, v, XG_CODE + GUEST_ENTRY));
	xg_load(vm, XG_CODE, code, sizeof(code));
	xg_le_put(xg_gpa(vm, XG_DATA), 8, 0);

	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_SREGS, &sregs));
	sregs.cr4 |= X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
	ASSERT_EQ(0, ioctl(v->fd, KVM_SET_SREGS, &sregs));
	ASSERT_EQ(0, ioctl(v->fd, KVM_GET_REGS, &regs));
	regs.rdi = XG_DATA;
	regs.r12 = R12_VALUE;
	regs.r14 = R12_VALUE;
	regs.r13 = LSTAR_VALUE;
	ASSERT_EQ(0, ioctl(v->fd, KVM_SET_REGS, &regs));
	ASSERT_EQ(1, ioctl(v->fd, KVM_SET_MSRS, &msr));
}

/* What the guest compared, when it found a difference. */
static void hop_dump(struct __test_metadata *_metadata, struct xg_vm *vm,
		     struct xg_vcpu *v, const char *dev)
{
	struct kvm_regs r;
	struct kvm_fpu f;
	uint64_t xmm0, xmm1;

	if (ioctl(v->fd, KVM_GET_REGS, &r) || ioctl(v->fd, KVM_GET_FPU, &f))
		return;
	memcpy(&xmm0, f.xmm[0], 8);
	memcpy(&xmm1, f.xmm[1], 8);
	TH_LOG("on %s: rip 0x%llx rax 0x%llx rbx %llu rdx 0x%llx r12 0x%llx r13 0x%llx r14 0x%llx xmm0 %llu xmm1 %llu memory %llu",
	       dev, (unsigned long long)r.rip, (unsigned long long)r.rax,
	       (unsigned long long)r.rbx, (unsigned long long)r.rdx,
	       (unsigned long long)r.r12, (unsigned long long)r.r13,
	       (unsigned long long)r.r14, (unsigned long long)xmm0,
	       (unsigned long long)xmm1,
	       (unsigned long long)xg_le_get(xg_gpa(vm, XG_DATA), 8));
}

TEST(hop_between_hypervisors)
{
	const char *ax = ax_dev();
	const char *devs[2] = { ax, kvm_dev() };
	struct hop_state *s;
	struct xg_vcpu v;
	struct xg_vm vm;
	uint64_t round = 0;
	int hop, side = 0, ret;

	/* Without the other one (or run against it alone), hop in place. */
	if (access(devs[1], R_OK | W_OK))
		devs[1] = ax;
	TH_LOG("hops between %s and %s", devs[0], devs[1]);
	s = calloc(1, sizeof(*s));
	ASSERT_NE(NULL, s);
	ret = hop_open(devs[side], ax, &vm, &v);
	ASSERT_EQ(0, ret) TH_LOG("a VM on %s: %s", devs[side], strerror(-ret));
	hop_first(_metadata, &vm, &v);

	for (hop = 0; hop <= HOPS; hop++) {
		bool in_flight = false;
		int i;

		for (i = 0; i < HOP_EVERY; i++) {
			ASSERT_EQ(0, xg_run(&v));
			ASSERT_EQ(KVM_EXIT_IO, v.run->exit_reason)
				TH_LOG("on %s, round %llu: exit %u", devs[side],
				       (unsigned long long)round,
				       v.run->exit_reason);
			if (v.run->io.port == PORT_IN) {
				/* The answer, then the hop with it pending. */
				xg_le_put(xg_io_data(&v), 4, 0xabc00000 + hop);
				in_flight = true;
				break;
			}
			if (v.run->io.port == PORT_FAIL)
				hop_dump(_metadata, &vm, &v, devs[side]);
			ASSERT_EQ(PORT, v.run->io.port)
				TH_LOG("on %s: the guest found its state changed at round %llu",
				       devs[side], (unsigned long long)round + 1);
			round++;
			ASSERT_EQ(round & 0xffffffff, xg_io_value(&v));
		}
		if (hop == HOPS)
			break;
		/*
		 * As a migrating VMM: the last exit (an OUT, or the IN with
		 * its answer) completes without entering the guest, and RIP
		 * moves past it, before the state is read.
		 */
		v.run->immediate_exit = 1;
		ASSERT_EQ(-EINTR, xg_run(&v));
		v.run->immediate_exit = 0;
		hop_save(_metadata, &vm, &v, s);
		{
			const uint8_t *r = (const uint8_t *)s->xsave.region;
			uint64_t bv, x0, x1;

			memcpy(&bv, r + 512, 8);
			memcpy(&x0, r + 160, 8);
			memcpy(&x1, r + 176, 8);
			TH_LOG("hop %d from %s after round %llu: XSTATE_BV 0x%llx xmm0 %llu xmm1 %llu rip 0x%llx cpu %d",
			       hop, devs[side], (unsigned long long)round,
			       (unsigned long long)bv, (unsigned long long)x0,
			       (unsigned long long)x1,
			       (unsigned long long)s->regs.rip, sched_getcpu());
		}
		if (in_flight)
			EXPECT_EQ(0xabc00000ULL + hop, s->regs.rax);
		xg_vcpu_destroy(&v);
		xg_vm_destroy(&vm);

		side = !side;
		ret = hop_open(devs[side], ax, &vm, &v);
		ASSERT_EQ(0, ret)
			TH_LOG("hop %d, a VM on %s: %s", hop + 1, devs[side],
			       strerror(-ret));
		hop_restore(_metadata, &vm, &v, s);
	}
	/* Hops after rounds 1, 41, 41, 81, 81, 121; the last IN ends it. */
	EXPECT_EQ((uint64_t)HOP_EVERY * (HOPS / 2) + 1, round);
	EXPECT_EQ(round, xg_le_get(xg_gpa(&vm, XG_DATA), 8));
	xg_vcpu_destroy(&v);
	xg_vm_destroy(&vm);
	free(s);
}

TEST_HARNESS_MAIN
