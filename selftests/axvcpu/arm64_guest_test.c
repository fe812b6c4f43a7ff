// SPDX-License-Identifier: GPL-2.0
/*
 * Real arm64 guests through KVM's arm64 ABI.
 *
 * Every test here holds for KVM arm64 (Linux 6.1) as well as for axvcpu:
 * the suite runs against both, $AXVCPU_DEV naming the device.  What
 * axvcpu does where KVM 6.1 differs (WFI exits, hypercall exits, syndromes
 * without ISV) is in arm64_axvcpu_test.
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

struct runner {
	struct ag_vcpu *v;
	int ret;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;

	r->ret = vcpu_run(r->v->fd);
	return NULL;
}

static void wake_handler(int sig)
{
}

TEST_F(ag, psci_cpu_on_off)
{
	struct ag_vcpu *v = &self->v, v1;
	struct runner r;
	pthread_t t;
	__u64 val;
	int i;

	signal(SIGUSR1, wake_handler);
	ag_vcpu_create(_metadata, &self->vm, 1,
		       (1U << KVM_ARM_VCPU_PSCI_0_2) |
		       (1U << KVM_ARM_VCPU_POWER_OFF), &v1);
	ag_set_reg(_metadata, v, AG_X(2),
		   ag_load(&self->vm, g_cpu_on_target, g_cpu_on_target_end));

	/* vCPU 1 is off: its KVM_RUN waits for a CPU_ON. */
	r.v = &v1;
	r.ret = 1;
	ASSERT_EQ(0, pthread_create(&t, NULL, run_thread, &r));
	usleep(100 * 1000);
	EXPECT_EQ(1, r.ret);

	ag_start(_metadata, &self->vm, v, g_cpu_on, g_cpu_on_end);
	EXPECT_EQ(0ULL, ag_run_done(_metadata, v));
	ASSERT_EQ(0, pthread_join(t, NULL));
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
	r.ret = 1;
	ASSERT_EQ(0, pthread_create(&t, NULL, run_thread, &r));
	for (i = 0; i < 50 && r.ret == 1; i++)
		usleep(20 * 1000);
	EXPECT_EQ(1, r.ret);
	pthread_kill(t, SIGUSR1);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-EINTR, r.ret);
	ag_vcpu_destroy(&v1);
}

TEST_HARNESS_MAIN
