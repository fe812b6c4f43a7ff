// SPDX-License-Identifier: GPL-2.0
/*
 * x86_mmio_test: guests that drive a device through MMIO with the
 * instructions firmware and drivers use, in every CPU mode: MOV (moffs,
 * immediates, MOVZX/MOVSX, MOVNTI), the string forms with REP (to and
 * from MMIO, to and from RAM), read-modify-write ALU forms (each a read
 * exit then a write exit), BT*, XCHG and XADD, with segment bases and
 * overrides, operand and address-size prefixes.  Each exit is checked:
 * direction, address, size and data; the test answers each read.  The
 * registers and RAM at the end show the CPU's view of the results.
 *
 * The slot is 512 KiB at guest physical 0, so the VGA window at 0xa0000
 * is MMIO for real mode; protected mode uses 0xfee00000, long mode
 * 0xc0000000.  Runs against /dev/axvcpu and KVM ($AXVCPU_DEV): every
 * assertion holds for both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "kselftest_harness.h"
#include "x86_guest.h"
#include "x86_guest_harness.h"

#define MEM_SIZE	0x80000UL	/* RAM: [0, 512 KiB) */
#define RFLAGS_CF	0x1ULL

FIXTURE(mmio) {
	struct xg_vm vm;
	struct xg_vcpu vcpu;
};

FIXTURE_SETUP(mmio)
{
	int ret;

	self->vcpu.fd = -1;
	ret = xg_vm_create(&self->vm, MEM_SIZE);
	ASSERT_EQ(0, ret)
		TH_LOG("a VM on %s: %s", xg_dev_path(), strerror(-ret));
	ret = xg_vcpu_create(&self->vm, 0, &self->vcpu);
	ASSERT_EQ(0, ret) TH_LOG("KVM_CREATE_VCPU: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(mmio)
{
	if (self->vcpu.fd >= 0)
		xg_vcpu_destroy(&self->vcpu);
	xg_vm_destroy(&self->vm);
}

/* The next exit is MMIO @write of @len bytes at @gpa. */
static void expect_mmio(struct __test_metadata *_metadata, struct xg_vcpu *v,
			bool write, uint64_t gpa, uint32_t len)
{
	struct kvm_run *run = v->run;
	char buf[160];

	run_expect(_metadata, v, KVM_EXIT_MMIO);
	xg_exit_str(v, buf, sizeof(buf));
	ASSERT_EQ(write, run->mmio.is_write) TH_LOG("%s", buf);
	ASSERT_EQ(gpa, run->mmio.phys_addr) TH_LOG("%s", buf);
	ASSERT_EQ(len, run->mmio.len) TH_LOG("%s", buf);
}

/* A read the device answers with @value. */
#define READ(gpa, len, value)						\
	do {								\
		expect_mmio(_metadata, v, false, gpa, len);		\
		xg_le_put(v->run->mmio.data, len, value);		\
	} while (0)

/* A write of @value. */
#define WRITE(gpa, len, value)						\
	do {								\
		expect_mmio(_metadata, v, true, gpa, len);		\
		ASSERT_EQ((uint64_t)(value),				\
			  xg_le_get(v->run->mmio.data, len))		\
			TH_LOG("the write at %#llx",			\
			       (unsigned long long)(gpa));		\
	} while (0)

static void load(struct __test_metadata *_metadata, struct xg_vm *vm,
		 const uint8_t *code, const uint8_t *end)
{
	ASSERT_LT((size_t)(end - code), XG_DATA - XG_CODE);
	xg_load(vm, XG_CODE, code, end - code);
}

/* A flat protected-mode segment; data segments at @base. */
static void prot_seg(struct kvm_segment *s, uint16_t sel, uint8_t type,
		     bool db, uint64_t base, uint32_t limit)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->type = type;
	s->base = base;
	s->limit = limit;
	s->present = 1;
	s->s = 1;
	s->db = db;
	s->g = limit > 0xfffff;
}

/* Protected mode without paging: CS.D = @db, DS and ES based at @base. */
static void prot_mode(struct __test_metadata *_metadata, struct xg_vcpu *v,
		      bool db, uint64_t base, uint32_t limit)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = XG_CODE, .rsp = XG_STACK,
				 .rflags = XG_RFLAGS_FIXED };

	get_sregs(_metadata, v, &sregs);
	prot_seg(&sregs.cs, 0x08, 0xb, db, 0, 0xffffffff);
	prot_seg(&sregs.ss, 0x10, 0x3, db, 0, 0xffffffff);
	prot_seg(&sregs.ds, 0x10, 0x3, db, base, limit);
	sregs.es = sregs.ds;
	prot_seg(&sregs.fs, 0x10, 0x3, db, 0, 0xffffffff);
	sregs.gs = sregs.fs;
	sregs.cr0 = XG_CR0_PE | XG_CR0_ET | XG_CR0_NE;
	sregs.cr4 = 0;
	sregs.efer = 0;
	set_sregs(_metadata, v, &sregs);
	set_regs(_metadata, v, &regs);
}

/*
 * Real mode: DS = ES = 0xa000, the VGA window.  moffs (A0-A3), an ES
 * override, an ALU read-modify-write, MOVZX/MOVSX, REP STOSW to MMIO,
 * REP MOVSW from MMIO to RAM, BT, a 32-bit address (67).
 */
GUEST16(real_guest,
	"mov $0xa000, %ax\n"
	"mov %ax, %ds\n"
	"mov %ax, %es\n"
	"movb 0x10, %al\n"		/* A0: AX = 0xa05a */
	"mov %ax, 0x20\n"		/* A3 */
	"movl $0x12345678, %es:0x30\n"
	"orw $0x8000, 0x40\n"
	"movsbw 0x51, %dx\n"
	"mov $0x60, %di\n"
	"mov $0x1234, %ax\n"
	"mov $3, %cx\n"
	"cld\n"
	"rep stosw\n"
	"xor %ax, %ax\n"
	"mov %ax, %es\n"
	"mov $0x70, %si\n"
	"mov $0x3000, %di\n"
	"mov $2, %cx\n"
	"rep movsw\n"			/* DS:SI (MMIO) to ES:DI (RAM) */
	"btw $3, 0x80\n"
	"sbb %bx, %bx\n"		/* BX = -CF */
	"addr32 movw 0x90, %si\n"
	"movzbl 0x50, %ecx\n"
	"hlt\n");

TEST_F(mmio, real_mode)
{
	struct xg_vcpu *v = &self->vcpu;
	uint8_t *ram = xg_gpa(&self->vm, 0);
	struct kvm_regs regs;
	int ret;

	load(_metadata, &self->vm, real_guest, real_guest_end);
	ret = xg_enter_real_mode(v, XG_CODE);
	ASSERT_EQ(0, ret) TH_LOG("real mode: %s", strerror(-ret));

	READ(0xa0010, 1, 0x5a);
	WRITE(0xa0020, 2, 0xa05a);
	WRITE(0xa0030, 4, 0x12345678);
	READ(0xa0040, 2, 0x0001);
	WRITE(0xa0040, 2, 0x8001);
	READ(0xa0051, 1, 0x80);
	WRITE(0xa0060, 2, 0x1234);
	WRITE(0xa0062, 2, 0x1234);
	WRITE(0xa0064, 2, 0x1234);
	READ(0xa0070, 2, 0x1111);
	READ(0xa0072, 2, 0x2222);
	READ(0xa0080, 2, 0x0008);
	READ(0xa0090, 2, 0xbeef);
	READ(0xa0050, 1, 0x80);
	run_expect(_metadata, v, KVM_EXIT_HLT);

	get_regs(_metadata, v, &regs);
	EXPECT_EQ(0xff80U, regs.rdx & 0xffff);
	EXPECT_EQ(0xffffU, regs.rbx & 0xffff);
	EXPECT_EQ(0xbeefU, regs.rsi & 0xffff);
	EXPECT_EQ(0x80U, regs.rcx);
	EXPECT_EQ(0x3004U, regs.rdi & 0xffff);
	EXPECT_EQ(0x1111U, xg_le_get(ram + 0x3000, 2));
	EXPECT_EQ(0x2222U, xg_le_get(ram + 0x3002, 2));
}

/*
 * 32-bit protected mode, flat: moffs, LOCK OR, AND, SUB and its CF,
 * REP STOSB and REP MOVSL from RAM to MMIO, MOVZX, XCHG, TEST.
 */
GUEST32(prot32_guest,
	"mov 0xfee00020, %eax\n"	/* A1 */
	"mov %eax, 0xfee00030\n"	/* A3 */
	"lock orl $1, 0xfee00040\n"
	"andb $0xfe, 0xfee00044\n"
	"mov $0xfee00000, %ebx\n"
	"subw $1, 0x50(%ebx)\n"
	"sbb %esi, %esi\n"		/* ESI = -CF */
	"mov $0xfee00100, %edi\n"
	"mov $0xaa, %al\n"
	"mov $2, %ecx\n"
	"rep stosb\n"
	"movl $0x11223344, 0x3000\n"
	"movl $0x55667788, 0x3004\n"
	"push %esi\n"
	"mov $0x3000, %esi\n"
	"mov $0xfee00200, %edi\n"
	"mov $2, %ecx\n"
	"rep movsl\n"			/* RAM to MMIO */
	"pop %esi\n"
	"movzwl 0x60(%ebx), %edx\n"
	"mov $0xabcd, %ecx\n"
	"xchg %ecx, 0x70(%ebx)\n"
	"testl $0x100, 0x74(%ebx)\n"
	"setnz %ah\n"
	"hlt\n");

TEST_F(mmio, prot32)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs;

	load(_metadata, &self->vm, prot32_guest, prot32_guest_end);
	prot_mode(_metadata, v, true, 0, 0xffffffff);

	READ(0xfee00020, 4, 0x10000);
	WRITE(0xfee00030, 4, 0x10000);
	READ(0xfee00040, 4, 0x100);
	WRITE(0xfee00040, 4, 0x101);
	READ(0xfee00044, 1, 0xff);
	WRITE(0xfee00044, 1, 0xfe);
	READ(0xfee00050, 2, 0);
	WRITE(0xfee00050, 2, 0xffff);
	WRITE(0xfee00100, 1, 0xaa);
	WRITE(0xfee00101, 1, 0xaa);
	WRITE(0xfee00200, 4, 0x11223344);
	WRITE(0xfee00204, 4, 0x55667788);
	READ(0xfee00060, 2, 0xfffe);
	READ(0xfee00070, 4, 0x99);
	WRITE(0xfee00070, 4, 0xabcd);
	READ(0xfee00074, 4, 0x100);
	run_expect(_metadata, v, KVM_EXIT_HLT);

	get_regs(_metadata, v, &regs);
	EXPECT_EQ(0xffffffffULL, regs.rsi);
	EXPECT_EQ(0xfffeULL, regs.rdx);
	EXPECT_EQ(0x99ULL, regs.rcx);
	EXPECT_EQ(1ULL, (regs.rax >> 8) & 0xff);
	EXPECT_EQ(0xfee00208ULL, regs.rdi);
}

/* 16-bit protected mode: DS based at 0xfee00000; 66 and 67 prefixes. */
GUEST16(prot16_guest,
	"mov $0x12340000, %eax\n"
	"movw 0x10, %ax\n"		/* A1 */
	"addr32 movl %eax, 0x20\n"	/* 66 67 A3 */
	"mov $0x30, %bx\n"
	"incw 2(%bx)\n"
	"hlt\n");

TEST_F(mmio, prot16)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_regs regs;

	load(_metadata, &self->vm, prot16_guest, prot16_guest_end);
	prot_mode(_metadata, v, false, 0xfee00000, 0xffff);

	READ(0xfee00010, 2, 0x5678);
	WRITE(0xfee00020, 4, 0x12345678);
	READ(0xfee00032, 2, 0x7fff);
	WRITE(0xfee00032, 2, 0x8000);
	run_expect(_metadata, v, KVM_EXIT_HLT);
	get_regs(_metadata, v, &regs);
	EXPECT_EQ(0x12345678ULL, regs.rax);
	/* INC: OF and SF set, CF as it was. */
	EXPECT_EQ(0x880ULL, regs.rflags & 0x8c1);
}

/*
 * 64-bit mode: moffs64, ADD's flags, XADD, XCHG, BTR, MOVNTI, REP MOVSQ
 * from MMIO to RAM and back, TEST, CMP, MOVSX, a GS override.
 */
GUEST64(long_guest,
	"mov $0xc0000000, %ebx\n"
	"movabs 0xc0000008, %rax\n"	/* 48 A1 */
	"movabs %rax, 0xc0000010\n"	/* 48 A3 */
	"addl $1, 0x20(%rbx)\n"
	"setc %cl\n"
	"setz %ch\n"
	"mov %ecx, %r14d\n"
	"lock xaddl %eax, 0x28(%rbx)\n"
	"mov $0xabcd, %edx\n"
	"xchg %edx, 0x30(%rbx)\n"
	"btrq $63, 0x38(%rbx)\n"
	"setc %r8b\n"
	"movnti %rax, 0x40(%rbx)\n"
	"lea 0x100(%rbx), %rsi\n"
	"mov $0x3000, %edi\n"
	"mov $2, %ecx\n"
	"rep movsq\n"			/* MMIO to RAM */
	"mov $0x3000, %esi\n"
	"lea 0x200(%rbx), %rdi\n"
	"mov $4, %ecx\n"
	"rep movsl\n"			/* RAM to MMIO */
	"testb $0x80, 0x50(%rbx)\n"
	"setnz %r9b\n"
	"cmpw $0x1234, 0x52(%rbx)\n"
	"setz %r10b\n"
	"movswq 0x54(%rbx), %r11\n"
	"mov %gs:0x60, %r13\n"
	"hlt\n");

TEST_F(mmio, long_mode)
{
	struct xg_vcpu *v = &self->vcpu;
	uint8_t *ram = xg_gpa(&self->vm, 0);
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	load(_metadata, &self->vm, long_guest, long_guest_end);
	ASSERT_EQ(0, xg_enter_long_mode(&self->vm, v, XG_CODE));
	get_sregs(_metadata, v, &sregs);
	sregs.gs.base = 0xc0001000;
	set_sregs(_metadata, v, &sregs);

	READ(0xc0000008, 8, 0x1122334455667788ULL);
	WRITE(0xc0000010, 8, 0x1122334455667788ULL);
	READ(0xc0000020, 4, 0xffffffff);
	WRITE(0xc0000020, 4, 0);
	READ(0xc0000028, 4, 0x10);
	WRITE(0xc0000028, 4, 0x55667798);
	READ(0xc0000030, 4, 0x99);
	WRITE(0xc0000030, 4, 0xabcd);
	READ(0xc0000038, 8, 0x8000000000000001ULL);
	WRITE(0xc0000038, 8, 1);
	WRITE(0xc0000040, 8, 0x10);
	READ(0xc0000100, 8, 0x0102030405060708ULL);
	READ(0xc0000108, 8, 0x1112131415161718ULL);
	WRITE(0xc0000200, 4, 0x05060708);
	WRITE(0xc0000204, 4, 0x01020304);
	WRITE(0xc0000208, 4, 0x15161718);
	WRITE(0xc000020c, 4, 0x11121314);
	READ(0xc0000050, 1, 0x80);
	READ(0xc0000052, 2, 0x1234);
	READ(0xc0000054, 2, 0x8000);
	READ(0xc0001060, 8, 0x7766554433221100ULL);
	run_expect(_metadata, v, KVM_EXIT_HLT);

	get_regs(_metadata, v, &regs);
	EXPECT_EQ(0x0101ULL, regs.r14);		/* CF, ZF of the ADD */
	EXPECT_EQ(0x10ULL, regs.rax);
	EXPECT_EQ(0x99ULL, regs.rdx);
	EXPECT_EQ(1ULL, regs.r8 & 0xff);
	EXPECT_EQ(1ULL, regs.r9 & 0xff);
	EXPECT_EQ(1ULL, regs.r10 & 0xff);
	EXPECT_EQ(0xffffffffffff8000ULL, regs.r11);
	EXPECT_EQ(0x7766554433221100ULL, regs.r13);
	EXPECT_EQ(0ULL, regs.rcx);
	EXPECT_EQ(0x0102030405060708ULL, xg_le_get(ram + 0x3000, 8));
	EXPECT_EQ(0x1112131415161718ULL, xg_le_get(ram + 0x3008, 8));
}

/*
 * What neither emulates (FLD of an 80-bit value from MMIO) is an
 * emulation failure with the instruction's bytes, as KVM gives it.
 */
GUEST64(fail_guest,
	"mov $0xc0000000, %ebx\n"
	"fldt (%rbx)\n"
	"hlt\n");

TEST_F(mmio, emulation_failure)
{
	struct xg_vcpu *v = &self->vcpu;
	struct kvm_run *run = v->run;

	load(_metadata, &self->vm, fail_guest, fail_guest_end);
	ASSERT_EQ(0, xg_enter_long_mode(&self->vm, v, XG_CODE));
	run_expect(_metadata, v, KVM_EXIT_INTERNAL_ERROR);
	EXPECT_EQ((__u32)KVM_INTERNAL_ERROR_EMULATION,
		  run->emulation_failure.suberror);
	ASSERT_GE(run->emulation_failure.ndata, 3U);
	ASSERT_NE(0ULL, run->emulation_failure.flags &
		  KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES);
	ASSERT_GE(run->emulation_failure.insn_size, 2);
	EXPECT_EQ(0xdb, run->emulation_failure.insn_bytes[0]);
	EXPECT_EQ(0x2b, run->emulation_failure.insn_bytes[1]);
}

TEST_HARNESS_MAIN
