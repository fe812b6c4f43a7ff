// SPDX-License-Identifier: GPL-2.0
/*
 * Real arm64 guests through KVM's arm64 ABI.
 *
 * Every test here holds for KVM arm64 (Linux 6.1) as well as for axvcpu:
 * the suite runs against both, $AXVCPU_DEV naming the device.  What
 * axvcpu offers beyond KVM 6.1 (halt policy EXIT, hypercall exits, PSCI by
 * SMC) is in arm64_axvcpu_test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "axvcpu_harness.h"
/* Where this program's guests go: see arm64_guest.h. */
#define AG_PROGS	0x200000UL
#include "arm64_guest.h"

FIXTURE(ag) {
	struct ag_vm vm;
	struct ag_vcpu v;
};

FIXTURE_SETUP(ag)
{
	ag_open(_metadata, &self->vm, &self->v);
}

FIXTURE_TEARDOWN(ag)
{
	ag_close(&self->vm, &self->v);
}

/* --- the vCPU ABI -------------------------------------------------------- */

TEST_F(ag, preferred_target_and_init)
{
	struct kvm_vcpu_init init;
	int fd;

	ASSERT_EQ(0, do_ioctl_ptr(self->vm.vm_fd, KVM_ARM_PREFERRED_TARGET,
				  &init));
	fd = do_ioctl(self->vm.vm_fd, KVM_CREATE_VCPU, 1);
	ASSERT_LE(0, fd);
	init.target = 0x7fff;
	ASSERT_EQ(-EINVAL, do_ioctl_ptr(fd, KVM_ARM_VCPU_INIT, &init));
	ASSERT_EQ(0, do_ioctl_ptr(self->vm.vm_fd, KVM_ARM_PREFERRED_TARGET,
				  &init));
	init.features[0] = 1U << 31;	/* no such feature */
	ASSERT_EQ(-ENOENT, do_ioctl_ptr(fd, KVM_ARM_VCPU_INIT, &init));
	init.features[0] = 1U << KVM_ARM_VCPU_PSCI_0_2;
	ASSERT_EQ(0, do_ioctl_ptr(fd, KVM_ARM_VCPU_INIT, &init));
	/* Again, the same: a reset. */
	ASSERT_EQ(0, do_ioctl_ptr(fd, KVM_ARM_VCPU_INIT, &init));
	ASSERT_EQ(0, close(fd));
}

TEST_F(ag, reset_state)
{
	struct ag_vcpu *v = &self->v;
	__u64 mpidr;
	int i;

	EXPECT_EQ(AG_PSTATE_RESET, ag_reg(_metadata, v, AG_PSTATE));
	EXPECT_EQ(0ULL, ag_reg(_metadata, v, AG_PC));
	for (i = 0; i < 31; i++)
		EXPECT_EQ(0ULL, ag_reg(_metadata, v, AG_X(i)));
	/* MMU, data and instruction caches off. */
	EXPECT_EQ(0ULL, ag_reg(_metadata, v, AG_SCTLR_EL1) & 0x1005);
	mpidr = ag_reg(_metadata, v, AG_MPIDR_EL1);
	EXPECT_EQ(0ULL, mpidr & 0xff00ffffffULL);
	EXPECT_NE(0ULL, mpidr & (1ULL << 31));
}

TEST_F(ag, one_reg_core)
{
	struct ag_vcpu *v = &self->v;
	__u64 val = 0x0123456789abcdefULL;
	__u32 small = 0;
	int i;

	for (i = 0; i < 31; i++)
		ag_set_reg(_metadata, v, AG_X(i), val + i);
	for (i = 0; i < 31; i++)
		EXPECT_EQ(val + i, ag_reg(_metadata, v, AG_X(i)));
	ag_set_reg(_metadata, v, AG_PC, 0x4000);
	EXPECT_EQ(0x4000ULL, ag_reg(_metadata, v, AG_PC));

	/* The size in the id must be the register's. */
	ASSERT_EQ(-EINVAL, ag_get(v, (AG_X(0) & ~KVM_REG_SIZE_MASK) |
				  KVM_REG_SIZE_U32, &small));
	/* Not a register's start; the padding before the FP registers. */
	ASSERT_EQ(-EINVAL, ag_get(v, AG_X(0) + 1, &val));
	ASSERT_EQ(-EINVAL, ag_get(v, AG_CORE(spsr[KVM_NR_SPSR],
					     KVM_REG_SIZE_U64), &val));
	/* EL2 (no nested virtualization) and a reserved mode. */
	val = 0x9;
	ASSERT_EQ(-EINVAL, ag_set(v, AG_PSTATE, &val));
	val = 0x2;
	ASSERT_EQ(-EINVAL, ag_set(v, AG_PSTATE, &val));
	EXPECT_EQ(AG_PSTATE_RESET, ag_reg(_metadata, v, AG_PSTATE));
	/* EL0t is fine. */
	ag_set_reg(_metadata, v, AG_PSTATE, 0);
	/* No such system register. */
	ASSERT_EQ(-ENOENT, ag_get(v, ARM64_SYS_REG(3, 7, 15, 15, 7), &val));
	ASSERT_EQ(-EFAULT, ag_get(v, AG_PC, NULL));
}

TEST_F(ag, one_reg_sysregs)
{
	struct ag_vcpu *v = &self->v;
	static const __u64 ids[] = {
		AG_SCTLR_EL1, AG_VBAR_EL1, AG_ESR_EL1, AG_TPIDR_EL1,
		AG_TPIDR_EL0, ARM64_SYS_REG(3, 0, 2, 0, 0),	/* TTBR0 */
		ARM64_SYS_REG(3, 0, 10, 2, 0),			/* MAIR */
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ids); i++)
		ag_set_reg(_metadata, v, ids[i], 0x1000 * (i + 1));
	for (i = 0; i < ARRAY_SIZE(ids); i++)
		EXPECT_EQ(0x1000 * (i + 1), ag_reg(_metadata, v, ids[i]))
			TH_LOG("register %zu", i);
}

TEST_F(ag, reg_list)
{
	struct kvm_reg_list *list;
	struct kvm_reg_list probe = { .n = 0 };
	bool pc = false, sctlr = false;
	unsigned int core = 0;
	__u8 buf[16];
	__u64 i;

	ASSERT_EQ(-E2BIG, do_ioctl_ptr(self->v.fd, KVM_GET_REG_LIST, &probe));
	ASSERT_LE(75ULL, probe.n);
	list = calloc(1, sizeof(*list) + probe.n * sizeof(__u64));
	ASSERT_NE(NULL, list);
	list->n = probe.n;
	ASSERT_EQ(0, do_ioctl_ptr(self->v.fd, KVM_GET_REG_LIST, list));
	ASSERT_EQ(probe.n, list->n);
	for (i = 0; i < list->n; i++) {
		__u64 id = list->reg[i];

		pc |= id == AG_PC;
		sctlr |= id == AG_SCTLR_EL1;
		core += (id & KVM_REG_ARM_COPROC_MASK) == KVM_REG_ARM_CORE;
		/* Every core register and system register listed reads. */
		if ((id & KVM_REG_ARM_COPROC_MASK) == KVM_REG_ARM_CORE ||
		    (id & KVM_REG_ARM_COPROC_MASK) == KVM_REG_ARM64_SYSREG)
			EXPECT_EQ(0, ag_get(&self->v, id, buf))
				TH_LOG("register %#llx", (unsigned long long)id);
	}
	EXPECT_TRUE(pc);
	EXPECT_TRUE(sctlr);
	/* Every core register once, and no padding. */
	EXPECT_EQ(75U, core);
	free(list);
}

TEST_F(ag, check_extension)
{
	EXPECT_EQ(1, check_cap(self->vm.vm_fd, KVM_CAP_ONE_REG));
	EXPECT_EQ(1, check_cap(self->vm.vm_fd, KVM_CAP_ARM_PSCI));
	EXPECT_EQ(1, check_cap(self->vm.vm_fd, KVM_CAP_ARM_PSCI_0_2));
	EXPECT_EQ(0, check_cap(self->vm.vm_fd, KVM_CAP_SET_TSS_ADDR));
}

/* --- guests: memory and MMIO --------------------------------------------- */

AG_GUEST(g_hello,
	"ldr x9, =0x10001000\n"
	"mov x0, #42\n"
	"str x0, [x9]\n"
	"b .\n");

TEST_F(ag, hello)
{
	__u64 code = ag_start(_metadata, &self->vm, &self->v, g_hello,
			      g_hello_end);

	ASSERT_EQ(42ULL, ag_run_done(_metadata, &self->v));
	/* At the store: the next KVM_RUN completes it and moves on. */
	EXPECT_EQ(code + 8, ag_reg(_metadata, &self->v, AG_PC));
}

AG_GUEST(g_mmio_write,
	"ldr x9, =0x10000000\n"
	"ldr x1, =0x8877665544332211\n"
	"strb w1, [x9, #1]\n"
	"strh w1, [x9, #2]\n"
	"str w1, [x9, #4]\n"
	"str x1, [x9, #8]\n"
	"str xzr, [x9, #16]\n"
	"b .\n");

TEST_F(ag, mmio_write_widths)
{
	struct ag_vcpu *v = &self->v;

	ag_start(_metadata, &self->vm, v, g_mmio_write, g_mmio_write_end);
	EXPECT_EQ(0x11ULL, ag_run_mmio(_metadata, v, AG_MMIO + 1, 1, true));
	EXPECT_EQ(0x2211ULL, ag_run_mmio(_metadata, v, AG_MMIO + 2, 2, true));
	EXPECT_EQ(0x44332211ULL,
		  ag_run_mmio(_metadata, v, AG_MMIO + 4, 4, true));
	EXPECT_EQ(0x8877665544332211ULL,
		  ag_run_mmio(_metadata, v, AG_MMIO + 8, 8, true));
	EXPECT_EQ(0ULL, ag_run_mmio(_metadata, v, AG_MMIO + 16, 8, true));
}

AG_GUEST(g_mmio_read,
	"ldr x9, =0x10000000\n"
	"ldrb w1, [x9]\n"
	"ldrh w4, [x9]\n"
	"ldr w6, [x9]\n"
	"ldr x8, [x9]\n"
	"ldrsb x2, [x9]\n"
	"ldrsb w3, [x9]\n"
	"ldrsh x5, [x9]\n"
	"ldrsw x7, [x9]\n"
	"ldr x10, =0x10001000\n"
	"str x1, [x10]\n"
	"b .\n");

struct mmio_load {
	__u32 len;
	int reg;
	__u64 want;
};

/*
 * Each load gets 0xff...f0 of its width, into a register full of stale
 * bits: what it extends, and that nothing stale survives, is visible.
 * Returns how many of the @n loads came out as @want.
 */
static void run_loads(struct __test_metadata *_metadata, struct ag_vcpu *v,
		      const struct mmio_load *loads, size_t n)
{
	__u64 data = 0xfffffffffffffff0ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		ag_set_reg(_metadata, v, AG_X(loads[i].reg),
			   0x5a5a5a5a5a5a5a5aULL);
		ag_run_mmio(_metadata, v, AG_MMIO, loads[i].len, false);
		memcpy(v->run->mmio.data, &data, sizeof(data));
	}
}

static const struct mmio_load zero_ext[] = {
	{ 1, 1, 0xf0 },
	{ 2, 4, 0xfff0 },
	{ 4, 6, 0xfffffff0ULL },
	{ 8, 8, 0xfffffffffffffff0ULL },
};

static const struct mmio_load sign_ext[] = {
	{ 1, 2, 0xfffffffffffffff0ULL },
	{ 1, 3, 0xfffffff0ULL },
	{ 2, 5, 0xfffffffffffffff0ULL },
	{ 4, 7, 0xfffffffffffffff0ULL },
};

TEST_F(ag, mmio_read_widths)
{
	struct ag_vcpu *v = &self->v;
	size_t i;

	ag_start(_metadata, &self->vm, v, g_mmio_read, g_mmio_read_end);
	run_loads(_metadata, v, zero_ext, ARRAY_SIZE(zero_ext));
	run_loads(_metadata, v, sign_ext, ARRAY_SIZE(sign_ext));
	ag_run_done(_metadata, v);
	for (i = 0; i < ARRAY_SIZE(zero_ext); i++)
		EXPECT_EQ(zero_ext[i].want,
			  ag_reg(_metadata, v, AG_X(zero_ext[i].reg)))
			TH_LOG("load into x%d", zero_ext[i].reg);
}

/*
 * The sign-extending loads: the syndrome's SSE bit says to extend.  KVM
 * 6.1 under QEMU hands back the zero-extended value where axvcpu, reading
 * the same syndrome, extends: on KVM that is a skip (a difference to
 * report), on axvcpu a failure.
 */
TEST_F(ag, mmio_read_sign_extension)
{
	struct ag_vcpu *v = &self->v;
	int extended = 0, zeroed = 0;
	__u64 got, mask;
	size_t i;

	ag_start(_metadata, &self->vm, v, g_mmio_read, g_mmio_read_end);
	run_loads(_metadata, v, zero_ext, ARRAY_SIZE(zero_ext));
	run_loads(_metadata, v, sign_ext, ARRAY_SIZE(sign_ext));
	ag_run_done(_metadata, v);
	for (i = 0; i < ARRAY_SIZE(sign_ext); i++) {
		got = ag_reg(_metadata, v, AG_X(sign_ext[i].reg));
		mask = sign_ext[i].len == 8 ? ~0ULL :
		       (1ULL << (sign_ext[i].len * 8)) - 1;
		if (got == sign_ext[i].want)
			extended++;
		else if (got == (0xfffffffffffffff0ULL & mask))
			zeroed++;
		else
			EXPECT_EQ(sign_ext[i].want, got)
				TH_LOG("load into x%d", sign_ext[i].reg);
	}
	if (zeroed == (int)ARRAY_SIZE(sign_ext) &&
	    !strcmp(axvcpu_dev_path(), KVM_DEFAULT_DEV))
		SKIP(return, "KVM did not sign-extend the MMIO loads");
	EXPECT_EQ((int)ARRAY_SIZE(sign_ext), extended);
}

AG_GUEST(g_memory,
	"ldr x9, =0x8000\n"
	"ldr x1, [x9]\n"		/* what the host put there */
	"add x1, x1, #1\n"
	"str x1, [x9, #8]\n"
	"ldr x2, =0x3ff000\n"		/* the last page of slot 0 */
	"str x1, [x2]\n"
	"ldr x10, =0x10001000\n"
	"str x1, [x10]\n"
	"b .\n");

TEST_F(ag, memory)
{
	__u64 val = 0x1234, got;

	memcpy(self->vm.mem + AG_DATA, &val, sizeof(val));
	ag_start(_metadata, &self->vm, &self->v, g_memory, g_memory_end);
	EXPECT_EQ(0x1235ULL, ag_run_done(_metadata, &self->v));
	memcpy(&got, self->vm.mem + AG_DATA + 8, sizeof(got));
	EXPECT_EQ(0x1235ULL, got);
	memcpy(&got, self->vm.mem + 0x3ff000, sizeof(got));
	EXPECT_EQ(0x1235ULL, got);
}

AG_GUEST(g_readonly,
	"ldr x9, =0x20000000\n"
	"ldr x1, [x9]\n"
	"str x1, [x9, #8]\n"
	"ldr x10, =0x10001000\n"
	"str x1, [x10]\n"
	"b .\n");

/* A read-only slot reads as memory; a store to it is MMIO. */
TEST_F(ag, readonly_slot)
{
	struct ag_vcpu *v = &self->v;
	void *ro = mem_alloc(1);
	__u64 val = 0xfeedULL;

	ASSERT_NE(NULL, ro);
	memcpy(ro, &val, sizeof(val));
	ASSERT_EQ(0, set_region(self->vm.vm_fd, 1, KVM_MEM_READONLY,
				0x20000000, page_size(), ro));
	ag_start(_metadata, &self->vm, v, g_readonly, g_readonly_end);
	EXPECT_EQ(0xfeedULL, ag_run_mmio(_metadata, v, 0x20000008, 8, true));
	EXPECT_EQ(0xfeedULL, ag_run_done(_metadata, v));
	memcpy(&val, (char *)ro + 8, sizeof(val));
	EXPECT_EQ(0ULL, val);
	mem_free(ro, 1);
}

AG_GUEST(g_slot_loop,
	"ldr x9, =0x20000000\n"
	"ldr x10, =0x10001000\n"
	"1: ldr x1, [x9]\n"
	"str x1, [x10]\n"
	"b 1b\n");

/*
 * A slot deleted between runs: the guest's next load from it is MMIO, not
 * a stale translation.
 */
TEST_F(ag, slot_deleted_is_mmio)
{
	struct ag_vcpu *v = &self->v;
	void *mem = mem_alloc(1);
	__u64 val = 0xabcdULL;

	ASSERT_NE(NULL, mem);
	memcpy(mem, &val, sizeof(val));
	ASSERT_EQ(0, set_region(self->vm.vm_fd, 1, 0, 0x20000000,
				page_size(), mem));
	ag_start(_metadata, &self->vm, v, g_slot_loop, g_slot_loop_end);
	EXPECT_EQ(0xabcdULL, ag_run_done(_metadata, v));
	EXPECT_EQ(0xabcdULL, ag_run_done(_metadata, v));
	ASSERT_EQ(0, set_region(self->vm.vm_fd, 1, 0, 0x20000000, 0, mem));
	ag_run_mmio(_metadata, v, 0x20000000, 8, false);
	val = 0x5678;
	memcpy(v->run->mmio.data, &val, sizeof(val));
	EXPECT_EQ(0x5678ULL, ag_run_done(_metadata, v));
	mem_free(mem, 1);
}

/*
 * Two VMs, one program at the same guest address, different memory
 * behind the same guest-physical page: each reads its own, run after run
 * (stage 2 and its TLB entries are per VM).
 */
TEST_F(ag, two_vms_apart)
{
	struct ag_vm vm2;
	struct ag_vcpu v2;
	void *mem[2];
	__u64 val;
	int i, j;

	ag_open(_metadata, &vm2, &v2);
	for (i = 0; i < 2; i++) {
		mem[i] = mem_alloc(1);
		ASSERT_NE(NULL, mem[i]);
		val = 0x100 + i;
		memcpy(mem[i], &val, sizeof(val));
		ASSERT_EQ(0, set_region(i ? vm2.vm_fd : self->vm.vm_fd, 1, 0,
					0x20000000, page_size(), mem[i]));
	}
	ag_start(_metadata, &self->vm, &self->v, g_slot_loop, g_slot_loop_end);
	ag_start(_metadata, &vm2, &v2, g_slot_loop, g_slot_loop_end);
	for (j = 0; j < 4; j++) {
		EXPECT_EQ(0x100ULL, ag_run_done(_metadata, &self->v));
		EXPECT_EQ(0x101ULL, ag_run_done(_metadata, &v2));
	}
	ag_close(&vm2, &v2);
	mem_free(mem[0], 1);
	mem_free(mem[1], 1);
}

AG_GUEST(g_count,
	"ldr x10, =0x10001000\n"
	"1: add x1, x1, #1\n"
	"fmov d2, x1\n"
	"fadd d3, d3, d4\n"		/* d4 = 1.0 from the host */
	"str x1, [x10]\n"
	"b 1b\n");

/*
 * The thread of KVM_RUN moves between CPUs: the guest's registers, its
 * FP/SIMD ones included, go with it.
 */
TEST_F(ag, vcpu_moves_between_cpus)
{
	struct ag_vcpu *v = &self->v;
	__u64 one = 0x3ff0000000000000ULL;	/* 1.0 */
	__uint128_t q = one;
	double d3;
	int i, n = online_cpus();

	if (n < 2)
		SKIP(return, "one CPU online");
	ag_set_reg(_metadata, v, ARM64_SYS_REG(3, 0, 1, 0, 2), 3ULL << 20);
	ASSERT_EQ(0, ag_set(v, AG_V(4), &q));
	ag_start(_metadata, &self->vm, v, g_count, g_count_end);
	for (i = 1; i <= 8; i++) {
		ASSERT_EQ(0, pin_to_cpu(i % n));
		EXPECT_EQ((__u64)i, ag_run_done(_metadata, v));
	}
	q = 0;
	ASSERT_EQ(0, ag_get(v, AG_V(2), &q));
	EXPECT_EQ(8ULL, (__u64)q);
	ASSERT_EQ(0, ag_get(v, AG_V(3), &q));
	one = (__u64)q;
	memcpy(&d3, &one, sizeof(d3));
	EXPECT_EQ(8, (int)d3);
}

/* --- guests: registers ------------------------------------------------------ */

AG_GUEST(g_sysregs,
	"mrs x1, tpidr_el1\n"
	"add x1, x1, #1\n"
	"msr tpidr_el0, x1\n"
	"fmov x2, d0\n"
	"add x2, x2, #2\n"
	"fmov d1, x2\n"
	"ldr x10, =0x10001000\n"
	"str x1, [x10]\n"
	"b .\n");

/* EL1 system registers and FP/SIMD state, in and out of the guest. */
TEST_F(ag, sysregs_and_fp)
{
	struct ag_vcpu *v = &self->v;
	__uint128_t q = 0x100;

	ag_set_reg(_metadata, v, AG_TPIDR_EL1, 0x7000);
	ASSERT_EQ(0, ag_set(v, AG_V(0), &q));
	/* The guest touches FP/SIMD registers: CPACR_EL1.FPEN lets it. */
	ag_set_reg(_metadata, v, ARM64_SYS_REG(3, 0, 1, 0, 2), 3ULL << 20);
	ag_start(_metadata, &self->vm, v, g_sysregs, g_sysregs_end);
	EXPECT_EQ(0x7001ULL, ag_run_done(_metadata, v));
	EXPECT_EQ(0x7001ULL, ag_reg(_metadata, v, AG_TPIDR_EL0));
	EXPECT_EQ(0x7000ULL, ag_reg(_metadata, v, AG_TPIDR_EL1));
	q = 0;
	ASSERT_EQ(0, ag_get(v, AG_V(1), &q));
	EXPECT_EQ(0x102ULL, (__u64)q);
}

/*
 * An implementation-defined system register: trapped, and an
 * undefined-instruction exception for the guest, whose handler reports
 * ESR_EL1 and ELR_EL1.  The vector table's address is in x28.
 */
AG_GUEST(g_undef,
	"msr vbar_el1, x28\n"
	"isb\n"
	"mrs x0, s3_0_c15_c0_0\n"
	"b .\n");

AG_GUEST(g_undef_vectors,
	".skip 0x200\n"			/* current EL with SP_ELx, sync */
	"mrs x1, esr_el1\n"
	"mrs x2, elr_el1\n"
	"ldr x10, =0x10001000\n"
	"str x1, [x10]\n"
	"str x2, [x10]\n"
	"b .\n");

/* The PMU is the host's: PMCR_EL0 traps, as on KVM without the PMU. */
AG_GUEST(g_undef_pmu,
	"msr vbar_el1, x28\n"
	"isb\n"
	"mrs x0, pmcr_el0\n"
	"b .\n");

/* @start's third instruction must raise an undefined-instruction exception. */
static void expect_undef(struct __test_metadata *_metadata, struct ag_vm *vm,
			 struct ag_vcpu *v, const uint8_t *start,
			 const uint8_t *end)
{
	__u64 esr, code;

	ag_set_reg(_metadata, v, AG_X(28),
		   ag_load(vm, g_undef_vectors, g_undef_vectors_end));
	code = ag_start(_metadata, vm, v, start, end);
	esr = ag_run_done(_metadata, v);
	EXPECT_EQ(0ULL, esr >> 26) TH_LOG("ESR_EL1 %#llx", (unsigned long long)esr);
	EXPECT_EQ(code + 8, ag_run_done(_metadata, v));
}

TEST_F(ag, undefined_sysreg_is_undef)
{
	expect_undef(_metadata, &self->vm, &self->v, g_undef, g_undef_end);
}

TEST_F(ag, pmu_register_is_undef)
{
	expect_undef(_metadata, &self->vm, &self->v, g_undef_pmu,
		     g_undef_pmu_end);
}

AG_GUEST(g_counters,
	"ldr x10, =0x10001000\n"
	"isb\n"
	"mrs x1, cntvct_el0\n"
	"mrs x2, cntpct_el0\n"
	"isb\n"
	"mrs x3, cntvct_el0\n"
	"str x1, [x10]\n"
	"str x2, [x10]\n"
	"str x3, [x10]\n"
	"b .\n");

/* The guest reads the virtual and the physical counter; both count. */
TEST_F(ag, counters)
{
	struct ag_vcpu *v = &self->v;
	__u64 vct, pct, vct2;

	ag_start(_metadata, &self->vm, v, g_counters, g_counters_end);
	vct = ag_run_done(_metadata, v);
	pct = ag_run_done(_metadata, v);
	vct2 = ag_run_done(_metadata, v);
	EXPECT_NE(0ULL, vct);
	EXPECT_NE(0ULL, pct);
	EXPECT_LE(vct, vct2);
}

AG_GUEST(g_pauth,
	".arch_extension pauth\n"
	"ldr x10, =0x10001000\n"
	"ldr x1, =0x12345678\n"
	"mov x3, #7\n"			/* the modifier */
	"mov x2, x1\n"
	"pacia x2, x3\n"
	"str x2, [x10]\n"
	"autia x2, x3\n"
	"str x2, [x10]\n"
	"pacga x4, x1, x3\n"
	"str x4, [x10]\n"
	"b .\n");

#define AG_APIAKEYLO	ARM64_SYS_REG(3, 0, 2, 1, 0)
#define AG_APGAKEYLO	ARM64_SYS_REG(3, 0, 2, 3, 0)
#define AG_SCTLR_ENIA	(1ULL << 31)

/* Run g_pauth on @v with APIA and APGA key @key: signed, authenticated, PACGA. */
static void run_pauth(struct __test_metadata *_metadata, struct ag_vm *vm,
		      struct ag_vcpu *v, __u64 key, __u64 out[3])
{
	int i;

	ag_set_reg(_metadata, v, AG_APIAKEYLO, key);
	ag_set_reg(_metadata, v, AG_APGAKEYLO, key);
	ag_start(_metadata, vm, v, g_pauth, g_pauth_end);
	for (i = 0; i < 3; i++)
		out[i] = ag_run_done(_metadata, v);
}

/*
 * With the pointer authentication features the guest signs and
 * authenticates with its own keys, which KVM_SET_ONE_REG sets.
 */
TEST_F(ag, pointer_auth)
{
	__u32 features = (1U << KVM_ARM_VCPU_PSCI_0_2) |
			 (1U << KVM_ARM_VCPU_PTRAUTH_ADDRESS) |
			 (1U << KVM_ARM_VCPU_PTRAUTH_GENERIC);
	__u64 a[3], b[3], sctlr;
	struct ag_vcpu v;

	if (check_cap(self->vm.vm_fd, KVM_CAP_ARM_PTRAUTH_ADDRESS) != 1 ||
	    check_cap(self->vm.vm_fd, KVM_CAP_ARM_PTRAUTH_GENERIC) != 1)
		SKIP(return, "no pointer authentication");
	/* Without the features there are no keys. */
	EXPECT_EQ(-ENOENT, ag_get(&self->v, AG_APIAKEYLO, a));
	/* One kind alone is refused. */
	ASSERT_EQ(-EINVAL, arm64_vcpu_init(self->vm.vm_fd, self->v.fd,
		  (1U << KVM_ARM_VCPU_PSCI_0_2) |
		  (1U << KVM_ARM_VCPU_PTRAUTH_ADDRESS)));

	ag_vcpu_create(_metadata, &self->vm, 1, features, &v);
	sctlr = ag_reg(_metadata, &v, AG_SCTLR_EL1);
	ag_set_reg(_metadata, &v, AG_SCTLR_EL1, sctlr | AG_SCTLR_ENIA);
	run_pauth(_metadata, &self->vm, &v, 0x1111, a);
	EXPECT_NE(0x12345678ULL, a[0]);
	EXPECT_EQ(0x12345678ULL, a[1]);
	run_pauth(_metadata, &self->vm, &v, 0x2222, b);
	EXPECT_NE(a[0], b[0]);
	EXPECT_EQ(0x12345678ULL, b[1]);
	EXPECT_NE(a[2], b[2]);
	ag_vcpu_destroy(&v);
}

/*
 * Set/way cache maintenance, ACTLR_EL1 and the LORegion registers trap
 * (HCR_EL2.TSW, TACR, TLOR, as under KVM) and are answered: the guest
 * runs on past each, ACTLR_EL1 keeps what it reads, a LORegion register
 * reads as zero whatever is written (where the CPU has LORegions).
 */
AG_GUEST(g_trapped_ops,
	"ldr x10, =0x10001000\n"
	"mov x0, #0\n"
	"dc isw, x0\n"
	"dc csw, x0\n"
	"dc cisw, x0\n"
	"mov x0, #2\n"			/* level 2, set 0, way 0 */
	"dc cisw, x0\n"
	"mrs x1, actlr_el1\n"
	"msr actlr_el1, x1\n"
	"mrs x4, actlr_el1\n"
	"eor x1, x1, x4\n"
	"str x1, [x10]\n"
	"mrs x3, id_aa64mmfr1_el1\n"
	"ubfx x3, x3, #16, #4\n"	/* LO */
	"mov x2, #0x77\n"
	"cbz x3, 1f\n"
	"ldr x2, =0x12340000\n"
	"msr s3_0_c10_c4_3, x2\n"	/* LORC_EL1 */
	"mrs x2, s3_0_c10_c4_3\n"
	"mrs x5, s3_0_c10_c4_0\n"	/* LORSA_EL1 */
	"orr x2, x2, x5\n"
	"1: str x2, [x10]\n"
	"str x3, [x10]\n"
	"b .\n");

TEST_F(ag, trapped_cache_and_aux_regs)
{
	struct ag_vcpu *v = &self->v;
	__u64 lor, has_lo;

	ag_start(_metadata, &self->vm, v, g_trapped_ops, g_trapped_ops_end);
	EXPECT_EQ(0ULL, ag_run_done(_metadata, v));	/* ACTLR_EL1 kept */
	lor = ag_run_done(_metadata, v);
	has_lo = ag_run_done(_metadata, v);
	EXPECT_EQ(has_lo ? 0ULL : 0x77ULL, lor);
}

/* --- PSCI ------------------------------------------------------------------- */

AG_GUEST(g_psci,
	"ldr x10, =0x10001000\n"
	"1: ldr x0, [x10, #8]\n"	/* the function, from the host */
	"ldr x1, [x10, #16]\n"
	"hvc #0\n"
	"str x0, [x10]\n"
	"b 1b\n");

/* PSCI function @fn(@arg) by HVC from the g_psci guest: its x0. */
static __u64 psci_call(struct __test_metadata *_metadata, struct ag_vcpu *v,
		       __u64 fn, __u64 arg)
{
	ag_run_mmio(_metadata, v, AG_DONE + 8, 8, false);
	memcpy(v->run->mmio.data, &fn, 8);
	ag_run_mmio(_metadata, v, AG_DONE + 16, 8, false);
	memcpy(v->run->mmio.data, &arg, 8);
	return ag_run_done(_metadata, v);
}

TEST_F(ag, psci_version_features)
{
	struct ag_vcpu *v = &self->v;
	__u64 ver;

	ag_start(_metadata, &self->vm, v, g_psci, g_psci_end);
	ver = psci_call(_metadata, v, AG_PSCI_VERSION, 0);
	EXPECT_LE(1ULL, ver >> 16) TH_LOG("PSCI version %#llx",
					  (unsigned long long)ver);
	EXPECT_EQ(0ULL, psci_call(_metadata, v, AG_PSCI_FEATURES,
				  AG_PSCI_VERSION));
	EXPECT_EQ(0ULL, psci_call(_metadata, v, AG_PSCI_FEATURES,
				  AG_PSCI_CPU_ON));
	EXPECT_EQ(0ULL, psci_call(_metadata, v, AG_PSCI_FEATURES,
				  AG_PSCI_SYSTEM_OFF));
	EXPECT_EQ((__u64)-1, psci_call(_metadata, v, AG_PSCI_FEATURES,
				       0x8400001fUL));
	/* Another vCPU that does not exist. */
	EXPECT_EQ((__u64)-2, psci_call(_metadata, v, AG_PSCI_AFFINITY_INFO,
				       7));
	EXPECT_EQ(0ULL, psci_call(_metadata, v, AG_PSCI_AFFINITY_INFO, 0));

	/* x1-x3 come back zero, as KVM returns them (x1 held the argument). */
	psci_call(_metadata, v, AG_PSCI_VERSION, 0x5a5a);
	EXPECT_EQ(0ULL, ag_reg(_metadata, v, AG_X(1)));
	EXPECT_EQ(0ULL, ag_reg(_metadata, v, AG_X(2)));
	EXPECT_EQ(0ULL, ag_reg(_metadata, v, AG_X(3)));
}

static void psci_system_event(struct __test_metadata *_metadata,
			      struct ag_vcpu *v, __u64 fn, __u32 type)
{
	ag_run_mmio(_metadata, v, AG_DONE + 8, 8, false);
	memcpy(v->run->mmio.data, &fn, 8);
	ag_run_mmio(_metadata, v, AG_DONE + 16, 8, false);
	ag_run_expect(_metadata, v, KVM_EXIT_SYSTEM_EVENT);
	EXPECT_EQ(type, v->run->system_event.type);
}

TEST_F(ag, psci_system_off)
{
	ag_start(_metadata, &self->vm, &self->v, g_psci, g_psci_end);
	psci_system_event(_metadata, &self->v, AG_PSCI_SYSTEM_OFF,
			  KVM_SYSTEM_EVENT_SHUTDOWN);
}

TEST_F(ag, psci_system_reset)
{
	ag_start(_metadata, &self->vm, &self->v, g_psci, g_psci_end);
	psci_system_event(_metadata, &self->v, AG_PSCI_SYSTEM_RESET,
			  KVM_SYSTEM_EVENT_RESET);
}

/* vCPU 0 starts vCPU 1 (powered off) at x2 with a context id. */
AG_GUEST(g_cpu_on,
	"ldr x0, =0xc4000003\n"
	"mov x1, #1\n"
	"ldr x3, =0xc0ffee\n"
	"hvc #0\n"
	"ldr x10, =0x10001000\n"
	"str x0, [x10]\n"
	"ldr x0, =0xc4000003\n"		/* again: already on */
	"hvc #0\n"
	"str x0, [x10]\n"
	"b .\n");

AG_GUEST(g_cpu_on_target,
	"mrs x1, mpidr_el1\n"
	"ldr x10, =0x10002000\n"
	"str x0, [x10]\n"
	"str x1, [x10]\n"
	"ldr x0, =0x84000002\n"		/* CPU_OFF */
	"hvc #0\n"
	"str x0, [x10, #8]\n"		/* never reached */
	"b .\n");

TEST_F(ag, psci_cpu_on_off)
{
	struct ag_vcpu *v = &self->v, v1;
	struct runner r;
	__u64 val;
	int i;

	ag_vcpu_create(_metadata, &self->vm, 1,
		       (1U << KVM_ARM_VCPU_PSCI_0_2) |
		       (1U << KVM_ARM_VCPU_POWER_OFF), &v1);
	ag_set_reg(_metadata, v, AG_X(2),
		   ag_load(&self->vm, g_cpu_on_target, g_cpu_on_target_end));

	/* vCPU 1 is off: its KVM_RUN waits for a CPU_ON. */
	start_runner(_metadata, &r, &v1);
	usleep(100 * 1000);
	EXPECT_EQ(1, r.ret);

	ag_start(_metadata, &self->vm, v, g_cpu_on, g_cpu_on_end);
	EXPECT_EQ(0ULL, ag_run_done(_metadata, v));
	ASSERT_EQ(0, pthread_join(r.tid, NULL));
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ((__u32)KVM_EXIT_MMIO, v1.run->exit_reason);
	memcpy(&val, v1.run->mmio.data, 8);
	EXPECT_EQ(0xc0ffeeULL, val);
	EXPECT_EQ(AG_DONE + 0x1000, v1.run->mmio.phys_addr);
	/* A second CPU_ON: already on (-4). */
	EXPECT_EQ((__u64)-4, ag_run_done(_metadata, v));

	ASSERT_EQ(0, vcpu_run(v1.fd));
	memcpy(&val, v1.run->mmio.data, 8);
	EXPECT_EQ(1ULL, val & 0xffffff);	/* its MPIDR: Aff0 1 */

	/* CPU_OFF: vCPU 1's KVM_RUN sleeps until a signal. */
	start_runner(_metadata, &r, &v1);
	for (i = 0; i < 50 && r.ret == 1; i++)
		usleep(20 * 1000);
	EXPECT_EQ(1, r.ret);
	pthread_kill(r.tid, SIGUSR1);
	ASSERT_EQ(0, pthread_join(r.tid, NULL));
	EXPECT_EQ(-EINTR, r.ret);
	ag_vcpu_destroy(&v1);
}

/* --- KVM's errnos and capabilities (issue 14) ----------------------------- */

/* ONE_REG, REG_LIST and KVM_RUN before KVM_ARM_VCPU_INIT: ENOEXEC. */
TEST_F(ag, before_init_enoexec)
{
	struct kvm_reg_list probe = { .n = 0 };
	struct ag_vcpu v1 = { .fd = -1 };
	__u64 val;

	v1.fd = do_ioctl(self->vm.vm_fd, KVM_CREATE_VCPU, 1);
	ASSERT_LE(0, v1.fd);
	EXPECT_EQ(-ENOEXEC, ag_get(&v1, AG_PC, &val));
	EXPECT_EQ(-ENOEXEC, ag_set(&v1, AG_PC, &val));
	EXPECT_EQ(-ENOEXEC, do_ioctl_ptr(v1.fd, KVM_GET_REG_LIST, &probe));
	EXPECT_EQ(-ENOEXEC, vcpu_run(v1.fd));
	ASSERT_EQ(0, arm64_vcpu_init(self->vm.vm_fd, v1.fd,
				     1U << KVM_ARM_VCPU_PSCI_0_2));
	EXPECT_EQ(0, ag_get(&v1, AG_PC, &val));
	close(v1.fd);
}

/* Unknown ioctls: EINVAL on every fd (KVM arm64); odd core offsets. */
TEST_F(ag, errnos)
{
	struct kvm_vcpu_init init;
	__u64 val;

	EXPECT_EQ(-EINVAL, do_ioctl(self->vm.sys_fd, _IO(KVMIO, 0xfe), 0));
	EXPECT_EQ(-EINVAL, do_ioctl(self->vm.vm_fd, _IO(KVMIO, 0xfe), 0));
	EXPECT_EQ(-EINVAL, do_ioctl(self->v.fd, _IO(KVMIO, 0xfe), 0));
	/* Past struct kvm_regs: ENOENT; inside it but no register: EINVAL. */
	EXPECT_EQ(-ENOENT, ag_get(&self->v, KVM_REG_ARM64 | KVM_REG_SIZE_U64 |
				  KVM_REG_ARM_CORE | 0x1000, &val));
	EXPECT_EQ(-EINVAL, ag_get(&self->v, KVM_REG_ARM64 | KVM_REG_SIZE_U64 |
				  KVM_REG_ARM_CORE | 1, &val));
	EXPECT_EQ(-ENOENT, ag_get(&self->v, ARM64_SYS_REG(3, 7, 15, 15, 7),
				  &val));
	/* KVM leaves the features to the VMM. */
	ASSERT_EQ(0, do_ioctl_ptr(self->vm.vm_fd, KVM_ARM_PREFERRED_TARGET,
				  &init));
	EXPECT_EQ(0U, init.features[0]);
}

TEST_F(ag, capabilities)
{
	int vm_fd = self->vm.vm_fd, fd;

	EXPECT_EQ(1, check_cap(vm_fd, KVM_CAP_DESTROY_MEMORY_REGION_WORKS));
	EXPECT_EQ(1, check_cap(vm_fd, KVM_CAP_JOIN_MEMORY_REGIONS_WORKS));
	EXPECT_EQ(1, check_cap(vm_fd, KVM_CAP_ARM_USER_IRQ));
	EXPECT_EQ(1, check_cap(vm_fd, KVM_CAP_MP_STATE));
	EXPECT_EQ(1, check_cap(vm_fd, KVM_CAP_ARM_IRQ_LINE_LAYOUT_2));
	EXPECT_EQ(1, check_cap(vm_fd, KVM_CAP_ARM_SYSTEM_SUSPEND));
	EXPECT_LE(40, check_cap(self->vm.sys_fd, KVM_CAP_ARM_VM_IPA_SIZE));
	/* An IPA size: 32 bits is the least. */
	fd = do_ioctl(self->vm.sys_fd, KVM_CREATE_VM, 36);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(-EINVAL, do_ioctl(self->vm.sys_fd, KVM_CREATE_VM, 31));
	EXPECT_EQ(-EINVAL, do_ioctl(self->vm.sys_fd, KVM_CREATE_VM, 0x100));
}

/* --- ID and debug registers ------------------------------------------------ */

AG_GUEST(g_id_regs,
	"ldr x10, =0x10001000\n"
	"mrs x1, id_aa64mmfr0_el1\n"
	"str x1, [x10]\n"
	"mrs x1, id_aa64pfr0_el1\n"
	"str x1, [x10]\n"
	"mrs x1, id_aa64dfr0_el1\n"
	"str x1, [x10]\n"
	"mrs x1, s3_0_c0_c4_2\n"		/* unallocated: RAZ */
	"str x1, [x10]\n"
	"b .\n");

/* The guest reads what ONE_REG reads; no SVE, no PMU, debug v8.0. */
TEST_F(ag, id_registers)
{
	static const __u64 ids[] = {
		ARM64_SYS_REG(3, 0, 0, 7, 0), ARM64_SYS_REG(3, 0, 0, 4, 0),
		ARM64_SYS_REG(3, 0, 0, 5, 0), ARM64_SYS_REG(3, 0, 0, 4, 2),
	};
	struct ag_vcpu *v = &self->v;
	__u64 val, bad;
	size_t i;

	ag_start(_metadata, &self->vm, v, g_id_regs, g_id_regs_end);
	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		val = ag_reg(_metadata, v, ids[i]);
		EXPECT_EQ(val, ag_run_done(_metadata, v)) TH_LOG("register %zu", i);
		/* The same value may be written back, no other. */
		EXPECT_EQ(0, ag_set(v, ids[i], &val));
		bad = val ^ (1ULL << 1);
		EXPECT_EQ(-EINVAL, ag_set(v, ids[i], &bad));
	}
	val = ag_reg(_metadata, v, ids[1]);
	EXPECT_EQ(0ULL, (val >> 32) & 0xf);			/* SVE */
	val = ag_reg(_metadata, v, ids[2]);
	EXPECT_EQ(6ULL, val & 0xf);				/* DebugVer */
	EXPECT_EQ(0ULL, (val >> 8) & 0xf);			/* PMUVer */
	EXPECT_EQ(0ULL, ag_reg(_metadata, v, ids[3]));
}

AG_GUEST(g_debug_regs,
	"ldr x10, =0x10001000\n"
	"ldr x1, =0x4000\n"
	"msr mdscr_el1, x1\n"			/* TDCC */
	"mrs x2, mdscr_el1\n"
	"str x2, [x10]\n"
	"ldr x1, =0x123450\n"
	"msr dbgbvr1_el1, x1\n"
	"msr dbgwvr0_el1, x1\n"
	"mrs x2, dbgbvr1_el1\n"
	"str x2, [x10]\n"
	"mov x1, #1\n"
	"msr oslar_el1, x1\n"
	"mrs x2, oslsr_el1\n"
	"str x2, [x10]\n"
	"msr osdlr_el1, x1\n"
	"mrs x2, osdlr_el1\n"
	"str x2, [x10]\n"
	"b .\n");

/*
 * The debug registers trap (MDCR_EL2.TDA, TDOSA) and answer as KVM's:
 * the guest keeps what it writes, the OS lock shows in OSLSR_EL1, the
 * double lock reads as zero; userspace sees the same values.
 */
TEST_F(ag, debug_registers)
{
	struct ag_vcpu *v = &self->v;

	ag_start(_metadata, &self->vm, v, g_debug_regs, g_debug_regs_end);
	EXPECT_EQ(0x4000ULL, ag_run_done(_metadata, v));
	EXPECT_EQ(0x123450ULL, ag_run_done(_metadata, v));
	EXPECT_EQ(0xaULL, ag_run_done(_metadata, v));	/* OSLM, OSLK */
	EXPECT_EQ(0ULL, ag_run_done(_metadata, v));
	EXPECT_EQ(0x4000ULL, ag_reg(_metadata, v, ARM64_SYS_REG(2, 0, 0, 2, 2)));
	EXPECT_EQ(0x123450ULL, ag_reg(_metadata, v, ARM64_SYS_REG(2, 0, 0, 1, 4)));
	EXPECT_EQ(0x123450ULL, ag_reg(_metadata, v, ARM64_SYS_REG(2, 0, 0, 0, 6)));
}

/* --- SMCCC ----------------------------------------------------------------- */

/* Functions the kernel does not implement: NOT_SUPPORTED, no exit. */
TEST_F(ag, smccc_not_supported)
{
	struct ag_vcpu *v = &self->v;

	ag_start(_metadata, &self->vm, v, g_psci, g_psci_end);
	EXPECT_EQ(0x10001ULL, psci_call(_metadata, v, 0x80000000UL, 0));
	EXPECT_EQ((__u64)-1, psci_call(_metadata, v, 0x80000001UL,
				       0x80003fffUL));
	EXPECT_EQ((__u64)-1, psci_call(_metadata, v, 0xc2001234UL, 0));
	EXPECT_EQ((__u64)-1, psci_call(_metadata, v, 0x12345678UL, 0));
	EXPECT_EQ(0ULL, ag_reg(_metadata, v, AG_X(1)));
}

/* --- data aborts without a syndrome ----------------------------------------- */

AG_GUEST(g_nisv,
	"ldr x9, =0x10000000\n"
	"ldp x1, x2, [x9]\n"
	"b .\n");

/* KVM_RUN fails with ENOSYS, or exits with KVM_EXIT_ARM_NISV if asked. */
TEST_F(ag, nisv)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_NISV_TO_USER };
	struct ag_vcpu *v = &self->v;

	ag_start(_metadata, &self->vm, v, g_nisv, g_nisv_end);
	EXPECT_EQ(-ENOSYS, vcpu_run(v->fd));
	EXPECT_EQ(-ENOSYS, vcpu_run(v->fd));
	ASSERT_EQ(0, do_ioctl_ptr(self->vm.vm_fd, KVM_ENABLE_CAP, &cap));
	ag_run_expect(_metadata, v, KVM_EXIT_ARM_NISV);
	EXPECT_EQ(AG_MMIO, v->run->arm_nisv.fault_ipa);
	EXPECT_EQ(0ULL, v->run->arm_nisv.esr_iss & (1ULL << 6));	/* a read */
}

/* --- the interrupt lines and the timers (KVM_CAP_ARM_USER_IRQ) ------------ */

/* IRQ vector: count in x20, report it, return; the line stays as it is. */
AG_GUEST(g_line_vectors,
	".skip 0x280\n"
	"add x20, x20, #1\n"
	"ldr x10, =0x10001000\n"
	"str x20, [x10]\n"
	"eret\n");

AG_GUEST(g_line_wfi,
	"msr vbar_el1, x28\n"
	"isb\n"
	"mov x20, #0\n"
	"msr daifclr, #2\n"
	"1: wfi\n"
	"b 1b\n");

static int irq_line(int vm_fd, unsigned int vcpu_idx, unsigned int line,
		    int level)
{
	struct kvm_irq_level irq = {
		.irq = (KVM_ARM_IRQ_TYPE_CPU << KVM_ARM_IRQ_TYPE_SHIFT) |
		       (vcpu_idx << KVM_ARM_IRQ_VCPU_SHIFT) | line,
		.level = level,
	};

	return do_ioctl_ptr(vm_fd, KVM_IRQ_LINE, &irq);
}

/*
 * WFI sleeps in the kernel (KVM_RUN does not return) until the IRQ line
 * goes up from another thread; a level, the interrupt is taken again after
 * each ERET until the line goes down.  Wrong line numbers and types fail.
 */
TEST_F(ag, irq_line_level)
{
	struct ag_vcpu *v = &self->v;
	int vm_fd = self->vm.vm_fd;
	struct runner r;

	EXPECT_EQ(-EINVAL, irq_line(vm_fd, 0, 2, 1));
	EXPECT_EQ(-EINVAL, irq_line(vm_fd, 5, 0, 1));
	EXPECT_EQ(-ENXIO, irq_line(vm_fd, 0, 32 | (1 << 24), 1));
	ag_set_reg(_metadata, v, AG_X(28),
		   ag_load(&self->vm, g_line_vectors, g_line_vectors_end));
	ag_start(_metadata, &self->vm, v, g_line_wfi, g_line_wfi_end);
	start_runner(_metadata, &r, v);
	usleep(300 * 1000);
	EXPECT_FALSE(r.done);		/* asleep in WFI, in the kernel */
	ASSERT_EQ(0, irq_line(vm_fd, 0, KVM_ARM_IRQ_CPU_IRQ, 1));
	ASSERT_EQ(0, pthread_join(r.tid, NULL));
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ((__u32)KVM_EXIT_MMIO, v->run->exit_reason);
	/* Still up: taken again as soon as the handler returns. */
	EXPECT_EQ(2ULL, ag_run_done(_metadata, v));
	EXPECT_EQ(3ULL, ag_run_done(_metadata, v));
	ASSERT_EQ(0, irq_line(vm_fd, 0, KVM_ARM_IRQ_CPU_IRQ, 0));
	/* Down: the guest sleeps in WFI again, until a signal. */
	start_runner(_metadata, &r, v);
	usleep(300 * 1000);
	EXPECT_FALSE(r.done);
	pthread_kill(r.tid, SIGUSR1);
	ASSERT_EQ(0, pthread_join(r.tid, NULL));
	EXPECT_EQ(-EINTR, r.ret);
	EXPECT_EQ((__u32)KVM_EXIT_INTR, v->run->exit_reason);
}

/* The virtual timer due in x1 ticks, its interrupt masked in PSTATE; WFI. */
AG_GUEST(g_vtimer,
	"mrs x2, cntvct_el0\n"
	"add x2, x2, x1\n"
	"msr cntv_cval_el0, x2\n"
	"mov x3, #1\n"				/* ENABLE */
	"msr cntv_ctl_el0, x3\n"
	"isb\n"
	"1: wfi\n"
	"b 1b\n");

/*
 * The timer's level goes to userspace: KVM_RUN fails with EINTR
 * (KVM_EXIT_INTR) once it rises, device_irq_level says so; the guest
 * masks it, and the level falls at the next KVM_RUN's return.
 */
TEST_F(ag, vtimer_level_to_user)
{
	struct ag_vcpu *v = &self->v;
	__u64 ctl, freq_ticks = 1000000;	/* 16 ms at QEMU's 62.5 MHz */

	ag_set_reg(_metadata, v, AG_X(1), freq_ticks);
	ag_start(_metadata, &self->vm, v, g_vtimer, g_vtimer_end);
	EXPECT_EQ(-EINTR, vcpu_run(v->fd));
	EXPECT_EQ((__u32)KVM_EXIT_INTR, v->run->exit_reason);
	EXPECT_EQ((__u64)KVM_ARM_DEV_EL1_VTIMER,
		  v->run->s.regs.device_irq_level & KVM_ARM_DEV_EL1_VTIMER);
	ctl = ag_reg(_metadata, v, KVM_REG_ARM_TIMER_CTL);
	EXPECT_EQ(5ULL, ctl);			/* ENABLE, ISTATUS */
	/* Masked by the VMM: the level falls, KVM_RUN tells. */
	ctl = 3;
	ASSERT_EQ(0, ag_set(v, KVM_REG_ARM_TIMER_CTL, &ctl));
	EXPECT_EQ(-EINTR, vcpu_run(v->fd));
	EXPECT_EQ(0ULL, v->run->s.regs.device_irq_level &
			KVM_ARM_DEV_EL1_VTIMER);
}

/* The physical timer due in x1 ticks, then a spin: no halt to wake from. */
AG_GUEST(g_ptimer_spin,
	"msr cntp_tval_el0, x1\n"
	"mov x3, #1\n"				/* ENABLE */
	"msr cntp_ctl_el0, x3\n"
	"isb\n"
	"mrs x4, cntp_ctl_el0\n"
	"1: b 1b\n");

/*
 * The physical timer, emulated on axvcpu: its level reaches userspace
 * while the guest spins (the running vCPU is made to exit at the
 * deadline).
 */
TEST_F(ag, ptimer_level_while_running)
{
	struct ag_vcpu *v = &self->v;
	__u64 ctl;

	ag_set_reg(_metadata, v, AG_X(1), 2000000);	/* 32 ms at 62.5 MHz */
	ag_start(_metadata, &self->vm, v, g_ptimer_spin, g_ptimer_spin_end);
	EXPECT_EQ(-EINTR, vcpu_run(v->fd));
	EXPECT_EQ((__u32)KVM_EXIT_INTR, v->run->exit_reason);
	EXPECT_EQ((__u64)KVM_ARM_DEV_EL1_PTIMER,
		  v->run->s.regs.device_irq_level &
		  (KVM_ARM_DEV_EL1_PTIMER | KVM_ARM_DEV_EL1_VTIMER));
	/* The guest read ENABLE without ISTATUS, before the deadline. */
	EXPECT_EQ(1ULL, ag_reg(_metadata, v, AG_X(4)));
	/* KVM 6.1 has no ONE_REG of the physical timer. */
	EXPECT_EQ(-ENOENT, ag_get(v, KVM_REG_ARM_PTIMER_CTL, &ctl));
}

/* KVM_REG_ARM_TIMER_CNT sets the VM's virtual counter; the guest sees it. */
TEST_F(ag, vtimer_counter_reg)
{
	struct ag_vcpu *v = &self->v;
	__u64 cnt = 1ULL << 40, now;

	ASSERT_EQ(0, ag_set(v, KVM_REG_ARM_TIMER_CNT, &cnt));
	now = ag_reg(_metadata, v, KVM_REG_ARM_TIMER_CNT);
	EXPECT_LE(cnt, now);
	EXPECT_GT(cnt + (1ULL << 36), now);
	cnt = 0x1234;
	ASSERT_EQ(0, ag_set(v, KVM_REG_ARM_TIMER_CVAL, &cnt));
	EXPECT_EQ(0x1234ULL, ag_reg(_metadata, v, KVM_REG_ARM_TIMER_CVAL));
}

/* KVM_SET_MP_STATE stops a vCPU: it sleeps until a signal. */
TEST_F(ag, mp_state_stopped)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_STOPPED };
	struct ag_vcpu *v = &self->v;
	struct runner r;

	ASSERT_EQ(0, do_ioctl_ptr(v->fd, KVM_SET_MP_STATE, &mp));
	mp.mp_state = 0x1234;
	ASSERT_EQ(0, do_ioctl_ptr(v->fd, KVM_GET_MP_STATE, &mp));
	EXPECT_EQ((__u32)KVM_MP_STATE_STOPPED, mp.mp_state);
	ag_start(_metadata, &self->vm, v, g_hello, g_hello_end);
	start_runner(_metadata, &r, v);
	usleep(200 * 1000);
	EXPECT_FALSE(r.done);
	pthread_kill(r.tid, SIGUSR1);
	ASSERT_EQ(0, pthread_join(r.tid, NULL));
	EXPECT_EQ(-EINTR, r.ret);
	mp.mp_state = KVM_MP_STATE_RUNNABLE;
	ASSERT_EQ(0, do_ioctl_ptr(v->fd, KVM_SET_MP_STATE, &mp));
	EXPECT_EQ(42ULL, ag_run_done(_metadata, v));
}

TEST_HARNESS_MAIN
