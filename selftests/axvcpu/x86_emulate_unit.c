// SPDX-License-Identifier: GPL-2.0
/*
 * x86_emulate_unit: the MMIO instruction emulator (arch/x86/emulate.c),
 * built in userspace over the module's own C file and run on the build
 * machine by "make lint" (scripts/lint.sh).
 *
 * Three sets of cases:
 *   - written out: instruction bytes, the registers before, the MMIO
 *     accesses in order (a read's answer, a write's data), the registers
 *     and memory after; in real mode, 16 and 32-bit protected mode and
 *     64-bit mode;
 *   - the ALU forms (ADD ... CMP, TEST, INC, DEC, NEG, NOT, BT*, XADD,
 *     XCHG) on a memory operand in every mode and operand size, over a set
 *     of values, each result and RFLAGS compared with what this machine's
 *     CPU computes for the same operation on registers;
 *   - every ModRM/SIB memory form of the 16 and 32-bit address sizes, the
 *     address compared with one computed from the SDM's tables.
 *
 * The harness plays the kernel's part (arch/x86/mmio.c): an MMIO read
 * exits, its answer goes to the cache and the instruction runs again; a
 * REP instruction runs again while RIP stays.  Guest memory is flat: a
 * linear address is the physical one; [0xa0000, 0xc0000) and [1 MiB, ...)
 * are MMIO, the rest of the first MiB is RAM.
 *
 * Exit status 0 when every case passes; each failure prints a line.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What emulate.c takes from the kernel. */
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#include "../../arch/x86/emulate.c"

#define RAM_SIZE	0x100000UL
#define MAX_IO		64

static u8 ram[RAM_SIZE];
static int failures, cases;

static bool is_mmio(u64 gpa)
{
	return gpa >= RAM_SIZE || (gpa >= 0xa0000 && gpa < 0xc0000);
}

/* One MMIO access, as expected or as seen. */
struct io {
	bool write;
	u8 len;
	u64 gpa, data;
};

/* The device: what the next reads answer; what it saw. */
static struct io dev_answers[MAX_IO], dev_seen[MAX_IO];
static int dev_nr_answers, dev_next_answer, dev_nr_seen;

static int t_read(void *opaque, u64 la, void *buf, unsigned int len,
		  u64 *gpa)
{
	*gpa = la;
	if (is_mmio(la))
		return X86_EMUL_MMIO;
	if (la + len > RAM_SIZE)
		return X86_EMUL_FAILED;
	memcpy(buf, ram + la, len);
	return X86_EMUL_DONE;
}

static int t_write(void *opaque, u64 la, const void *buf, unsigned int len,
		   u64 *gpa)
{
	*gpa = la;
	if (is_mmio(la))
		return X86_EMUL_MMIO;
	if (la + len > RAM_SIZE)
		return X86_EMUL_FAILED;
	memcpy(ram + la, buf, len);
	return X86_EMUL_DONE;
}

static const struct x86_emul_ops t_ops = { .read = t_read, .write = t_write };

/* The guest as a case sees it: registers, RFLAGS, RIP, segment bases. */
struct state {
	unsigned long regs[16];
	u64 rflags, rip;
	u64 seg_base[X86_EMUL_NR_SEGS];
};

/*
 * Run one instruction as the kernel does: replays after reads, REP by
 * running again while RIP stays.  X86_EMUL_DONE or X86_EMUL_FAILED.
 */
static int t_emulate(enum x86_emul_mode mode, const u8 *insn, int n,
		     struct state *s)
{
	struct x86_emul_cache cache = { .insn_n = n };
	int rounds = 0;

	memcpy(cache.insn, insn, n);
	while (rounds++ < 1000) {
		struct x86_emul_ctxt c = {
			.ops = &t_ops, .mode = mode, .cache = &cache,
			.rflags = s->rflags, .rip = s->rip,
		};
		u64 rip = s->rip;
		int r;

		memcpy(c.regs, s->regs, sizeof(c.regs));
		memcpy(c.seg_base, s->seg_base, sizeof(c.seg_base));
		r = x86_emulate(&c);
		if (r == X86_EMUL_FAILED)
			return r;
		if (r == X86_EMUL_MMIO) {
			struct io *io;

			if (dev_nr_seen == MAX_IO)
				return X86_EMUL_FAILED;
			io = &dev_seen[dev_nr_seen++];
			io->write = c.mmio.write;
			io->len = c.mmio.len;
			io->gpa = c.mmio.gpa;
			io->data = c.mmio.data;
			if (!c.mmio.write) {
				u64 v = 0xbadbadbadbadbadULL;

				if (dev_next_answer < dev_nr_answers)
					v = dev_answers[dev_next_answer++].data;
				io->data = v;
				if (cache.nr_reads >= X86_EMUL_MAX_READS)
					return X86_EMUL_FAILED;
				cache.read_data[cache.nr_reads++] = v;
				continue;	/* nothing committed: again */
			}
		}
		memcpy(s->regs, c.regs, sizeof(c.regs));
		s->rflags = c.rflags;
		s->rip = c.rip;
		/* REP with more to do: the guest would run it again. */
		if (s->rip == rip) {
			cache.nr_reads = 0;
			continue;
		}
		return X86_EMUL_DONE;
	}
	return X86_EMUL_FAILED;
}

static void fail(const char *what, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#include <stdarg.h>

static void fail(const char *what, const char *fmt, ...)
{
	va_list ap;

	printf("FAIL %s: ", what);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	failures++;
}

/* --- written-out cases ------------------------------------------------------ */

/*
 * A case, in words:
 *   insn  the bytes, in hex;
 *   in    "reg=value" (rax..r15, fl for RFLAGS, rip, es/cs/ss/ds/fs/gs
 *         for segment bases) and "mN:addr=value" (N bytes of RAM);
 *   io    the MMIO accesses in order: "rN:gpa=answer", "wN:gpa=data";
 *   out   registers and RAM after, as in; the others must not change.
 *         Without rip=, RIP must step over all of insn.  "fail": the
 *         instruction is not emulated (and nothing changes).
 */
struct ucase {
	enum x86_emul_mode mode;
	const char *insn, *in, *io, *out;
};

#define R	X86_EMUL_REAL
#define P16	X86_EMUL_PROT16
#define P32	X86_EMUL_PROT32
#define P64	X86_EMUL_PROT64

static const struct ucase ucases[] = {
	/* --- MOV, each form --- */
	{ P64, "88 03", "rax=0x1122 rbx=0xc0000000", "w1:0xc0000000=0x22", "" },
	{ P64, "88 23", "rax=0x1122 rbx=0xc0000000", "w1:0xc0000000=0x11", "" },
	{ P64, "40 88 23", "rsp=0x1144 rbx=0xc0000000", "w1:0xc0000000=0x44", "" },
	{ P64, "44 88 03", "r8=0x55 rbx=0xc0000000", "w1:0xc0000000=0x55", "" },
	{ P64, "66 89 03", "rax=0x11223344 rbx=0xc0000000", "w2:0xc0000000=0x3344", "" },
	{ P64, "89 03", "rax=0x1122334455667788 rbx=0xc0000000", "w4:0xc0000000=0x55667788", "" },
	{ P64, "48 89 03", "rax=0x1122334455667788 rbx=0xc0000000", "w8:0xc0000000=0x1122334455667788", "" },
	{ P64, "4c 89 7b 10", "r15=0x99 rbx=0xc0000000", "w8:0xc0000010=0x99", "" },
	{ P64, "8a 03", "rax=0xffffffffffffffff rbx=0xc0000000", "r1:0xc0000000=0x5a", "rax=0xffffffffffffff5a" },
	{ P64, "8a 23", "rax=0xffffffffffffffff rbx=0xc0000000", "r1:0xc0000000=0x5a", "rax=0xffffffffffff5aff" },
	{ P64, "40 8a 23", "rsp=0xffffffffffffffff rbx=0xc0000000", "r1:0xc0000000=0x5a", "rsp=0xffffffffffffff5a" },
	{ P64, "66 8b 03", "rax=0xffffffffffffffff rbx=0xc0000000", "r2:0xc0000000=0x1234", "rax=0xffffffffffff1234" },
	{ P64, "8b 03", "rax=0xffffffffffffffff rbx=0xc0000000", "r4:0xc0000000=0x87654321", "rax=0x87654321" },
	{ P64, "48 8b 03", "rbx=0xc0000000", "r8:0xc0000000=0x0123456789abcdef", "rax=0x0123456789abcdef" },
	{ P64, "4d 8b 4c 24 08", "r12=0xc0000000", "r8:0xc0000008=0x77", "r9=0x77" },
	{ P64, "c6 03 ab", "rbx=0xc0000000", "w1:0xc0000000=0xab", "" },
	{ P64, "66 c7 03 cd ab", "rbx=0xc0000000", "w2:0xc0000000=0xabcd", "" },
	{ P64, "c7 43 04 78 56 34 12", "rbx=0xc0000000", "w4:0xc0000004=0x12345678", "" },
	{ P64, "48 c7 03 fe ff ff ff", "rbx=0xc0000000", "w8:0xc0000000=0xfffffffffffffffe", "" },
	{ P64, "c6 43 ff 01", "rbx=0xc0000001", "w1:0xc0000000=0x01", "" },
	{ P64, "c6 83 00 01 00 00 02", "rbx=0xc0000000", "w1:0xc0000100=0x02", "" },
	/* RIP-relative: from the end of the instruction, immediate included. */
	{ P64, "c7 05 f6 0f 00 00 01 00 00 00", "rip=0xbffff000", "w4:0xc0000000=1", "" },
	{ P64, "8b 05 fa ff 0f 00", "rip=0xc0000000", "r4:0xc0100000=0x42", "rax=0x42" },
	/* SIB: base, index, scale; no base; RSP as base. */
	{ P64, "89 04 8b", "rax=7 rbx=0xc0000000 rcx=4", "w4:0xc0000010=7", "" },
	{ P64, "89 04 cd 00 00 00 c0", "rax=7 rcx=2", "w4:0xffffffffc0000010=7", "" },
	{ P64, "89 04 25 00 00 10 00", "rax=9", "w4:0x100000=9", "" },
	{ P64, "89 04 24", "rax=9 rsp=0xc0000040", "w4:0xc0000040=9", "" },
	{ P64, "42 89 04 0b", "rax=9 rbx=0xc0000000 r9=0x30", "w4:0xc0000030=9", "" },
	{ P64, "41 89 45 00", "rax=9 r13=0xc0000020", "w4:0xc0000020=9", "" },
	/* 67: 32-bit addresses in 64-bit mode. */
	{ P64, "67 89 03", "rax=5 rbx=0xffffffffc0000000", "w4:0xc0000000=5", "" },
	/* moffs, A0-A3, of every address size. */
	{ P64, "a0 00 00 00 c0 00 00 00 00", "rax=0xffff", "r1:0xc0000000=0x12", "rax=0xff12" },
	{ P64, "48 a1 08 00 00 c0 00 00 00 00", "", "r8:0xc0000008=0x1122334455667788", "rax=0x1122334455667788" },
	{ P64, "a2 10 00 00 c0 00 00 00 00", "rax=0x77", "w1:0xc0000010=0x77", "" },
	{ P64, "a3 10 00 00 c0 00 00 00 00", "rax=0x1122334455667788", "w4:0xc0000010=0x55667788", "" },
	{ P64, "67 a3 10 00 00 c0", "rax=0x1122334455667788", "w4:0xc0000010=0x55667788", "" },
	{ P64, "65 a1 10 00 00 00 00 00 00 00", "gs=0xc0000000", "r4:0xc0000010=3", "rax=3" },
	{ R, "a0 00 00", "ds=0xa0000", "r1:0xa0000=0x12", "rax=0x12" },
	{ R, "a1 02 00", "rax=0xffffffff ds=0xa0000", "r2:0xa0002=0x1234", "rax=0xffff1234" },
	{ R, "66 a1 02 00", "ds=0xa0000", "r4:0xa0002=0x12345678", "rax=0x12345678" },
	{ R, "a2 04 00", "rax=0x99 ds=0xb8000", "w1:0xb8004=0x99", "" },
	{ R, "a3 ff ff", "rax=0x1234 ds=0xa0000", "w2:0xaffff=0x1234", "" },
	{ R, "26 a3 00 00", "rax=0x1234 ds=0x1000 es=0xb0000", "w2:0xb0000=0x1234", "" },
	{ R, "67 a3 00 00 01 00", "rax=0x1234 ds=0x90000", "w2:0xa0000=0x1234", "" },
	{ P16, "a1 10 00", "ds=0xfee00000", "r2:0xfee00010=0xbeef", "rax=0xbeef" },
	{ P32, "a1 20 03 e0 fe", "", "r4:0xfee00320=0x10000", "rax=0x10000" },
	{ P32, "a3 20 03 e0 fe", "rax=0x400", "w4:0xfee00320=0x400", "" },
	{ P32, "66 a3 20 03 e0 fe", "rax=0x400", "w2:0xfee00320=0x400", "" },
	{ P32, "67 a3 00 10", "rax=0x1 ds=0xfee00000", "w4:0xfee01000=1", "" },
	{ P32, "64 a1 00 00 00 00", "fs=0xfec00000", "r4:0xfec00000=0x11", "rax=0x11" },
	/* Real mode: segment bases, 16-bit ModRM, SS for BP. */
	{ R, "89 07", "rax=0x1234 rbx=0x10 ds=0xa0000", "w2:0xa0010=0x1234", "" },
	{ R, "88 27", "rax=0x1234 rbx=0x10 ds=0xa0000", "w1:0xa0010=0x12", "" },
	{ R, "89 46 02", "rax=0x55aa rbp=0x10 ss=0xb0000 ds=0x1000", "w2:0xb0012=0x55aa", "" },
	{ R, "3e 89 46 02", "rax=0x55aa rbp=0x10 ss=0xb0000 ds=0xa0000", "w2:0xa0012=0x55aa", "" },
	{ R, "8b 00", "rbx=0x100 rsi=0x20 ds=0xa0000", "r2:0xa0120=0x4321", "rax=0x4321" },
	{ R, "8b 41 ff", "rbx=0x100 rdi=0x21 ds=0xa0000", "r2:0xa0120=0x4321", "rax=0x4321" },
	{ R, "8b 16 00 80", "ds=0xa0000", "r2:0xa8000=0x4321", "rdx=0x4321" },
	/* 16-bit addresses wrap at 64 KiB. */
	{ R, "8b 87 10 00", "rbx=0xfff8 ds=0xa0000", "r2:0xa0008=1", "rax=1" },
	{ R, "66 8b 05", "rdi=0x40 ds=0xa0000", "r4:0xa0040=0xdeadbeef", "rax=0xdeadbeef" },
	{ R, "c7 06 00 00 34 12", "ds=0xb8000", "w2:0xb8000=0x1234", "" },
	{ R, "66 c7 06 00 00 78 56 34 12", "ds=0xb8000", "w4:0xb8000=0x12345678", "" },
	{ R, "64 c6 06 00 00 aa", "fs=0xa0000 ds=0", "w1:0xa0000=0xaa", "" },
	{ R, "67 89 04 8b", "rax=0x1234 rbx=0x100 rcx=4 ds=0xa0000", "w2:0xa0110=0x1234", "" },
	{ R, "67 66 89 03", "rax=0x12345678 rbx=0x10000 ds=0xa0000", "w4:0xb0000=0x12345678", "" },
	{ P16, "89 07", "rax=0x1234 rbx=0x10 ds=0xfee00000", "w2:0xfee00010=0x1234", "" },
	{ P16, "66 89 07", "rax=0x12345678 rbx=0x10 ds=0xfee00000", "w4:0xfee00010=0x12345678", "" },
	{ P32, "89 03", "rax=0x12345678 rbx=0xfee000b0", "w4:0xfee000b0=0x12345678", "" },
	{ P32, "66 89 03", "rax=0x12345678 rbx=0xfee000b0", "w2:0xfee000b0=0x5678", "" },
	{ P32, "89 45 fc", "rax=1 rbp=0x1004 ss=0xfee00000", "w4:0xfee01000=1", "" },
	{ P32, "89 83 00 01 00 00", "rax=1 rbx=0xfec00000", "w4:0xfec00100=1", "" },
	/* 32-bit linear addresses wrap at 4 GiB. */
	{ P32, "8b 03", "rbx=0x00200000 ds=0xfff00000", "r4:0x100000=2", "rax=2" },
	/* MOVZX, MOVSX, MOVSXD. */
	{ P64, "0f b6 03", "rax=-1 rbx=0xc0000000", "r1:0xc0000000=0x80", "rax=0x80" },
	{ P64, "0f b7 03", "rax=-1 rbx=0xc0000000", "r2:0xc0000000=0x8000", "rax=0x8000" },
	{ P64, "0f be 03", "rax=0 rbx=0xc0000000", "r1:0xc0000000=0x80", "rax=0xffffff80" },
	{ P64, "48 0f be 03", "rax=0 rbx=0xc0000000", "r1:0xc0000000=0x80", "rax=0xffffffffffffff80" },
	{ P64, "66 0f be 03", "rax=-1 rbx=0xc0000000", "r1:0xc0000000=0x80", "rax=0xffffffffffffff80" },
	{ P64, "66 0f be 03", "rax=0 rbx=0xc0000000", "r1:0xc0000000=0x7f", "rax=0x7f" },
	{ P64, "48 0f bf 03", "rbx=0xc0000000", "r2:0xc0000000=0x8001", "rax=0xffffffffffff8001" },
	{ P64, "0f bf 03", "rbx=0xc0000000", "r2:0xc0000000=0x8001", "rax=0xffff8001" },
	{ P64, "48 63 03", "rbx=0xc0000000", "r4:0xc0000000=0x80000000", "rax=0xffffffff80000000" },
	{ P64, "63 03", "rax=-1 rbx=0xc0000000", "r4:0xc0000000=0x80000000", "rax=0x80000000" },
	{ P64, "44 0f b6 03", "r8=-1 rbx=0xc0000000", "r1:0xc0000000=0xfe", "r8=0xfe" },
	{ R, "0f b6 07", "rax=0xffffffff rbx=0x10 ds=0xa0000", "r1:0xa0010=0x80", "rax=0xffff0080" },
	{ R, "0f be 27", "rsp=0 rbx=0x10 ds=0xa0000", "r1:0xa0010=0x80", "rsp=0xff80" },
	{ R, "66 0f bf 07", "rbx=0x10 ds=0xa0000", "r2:0xa0010=0x8000", "rax=0xffff8000" },
	{ P32, "0f b7 03", "rax=-1 rbx=0xfee00000", "r2:0xfee00000=0xffff", "rax=0xffff" },
	/* MOVNTI */
	{ P64, "0f c3 03", "rax=0x1122334455667788 rbx=0xc0000000", "w4:0xc0000000=0x55667788", "" },
	{ P64, "48 0f c3 03", "rax=0x1122334455667788 rbx=0xc0000000", "w8:0xc0000000=0x1122334455667788", "" },
	{ P32, "0f c3 0b", "rcx=5 rbx=0xfee00000", "w4:0xfee00000=5", "" },

	/* --- read-modify-write: a read, then a write; flags as the CPU's --- */
	{ P64, "83 03 01", "rbx=0xc0000000 fl=0x2", "r4:0xc0000000=0xffffffff w4:0xc0000000=0", "fl=0x57" },
	{ P64, "81 23 ff 00 ff 00", "rbx=0xc0000000 fl=0x2", "r4:0xc0000000=0x12345678 w4:0xc0000000=0x00340078", "fl=0x6" },
	{ P64, "80 0b 80", "rbx=0xc0000000 fl=0x2", "r1:0xc0000000=0x01 w1:0xc0000000=0x81", "fl=0x86" },
	{ P64, "48 83 33 ff", "rbx=0xc0000000 fl=0x2", "r8:0xc0000000=0x0f w8:0xc0000000=0xfffffffffffffff0", "fl=0x86" },
	{ P64, "f0 83 2b 01", "rbx=0xc0000000 fl=0x2", "r4:0xc0000000=0 w4:0xc0000000=0xffffffff", "fl=0x97" },
	{ P64, "09 03", "rax=0x100 rbx=0xc0000000 fl=0x2", "r4:0xc0000000=1 w4:0xc0000000=0x101", "fl=0x2" },
	{ P64, "21 03", "rax=0x100 rbx=0xc0000000 fl=0x2", "r4:0xc0000000=1 w4:0xc0000000=0", "fl=0x46" },
	{ P64, "0b 03", "rax=0x1 rbx=0xc0000000 fl=0x2", "r4:0xc0000000=0x80000000", "rax=0x80000001 fl=0x82" },
	{ P64, "23 03", "rax=-1 rbx=0xc0000000 fl=0x2", "r4:0xc0000000=0xf0", "rax=0xf0 fl=0x6" },
	{ P64, "03 03", "rax=-1 rbx=0xc0000000 fl=0x2", "r4:0xc0000000=1", "rax=0 fl=0x57" },
	{ P64, "2b 03", "rax=0 rbx=0xc0000000 fl=0x2", "r4:0xc0000000=1", "rax=0xffffffff fl=0x97" },
	{ P64, "33 03", "rax=0x5 rbx=0xc0000000 fl=0x2", "r4:0xc0000000=5", "rax=0 fl=0x46" },
	{ P64, "39 03", "rax=2 rbx=0xc0000000 fl=0x2", "r4:0xc0000000=1", "fl=0x97" },
	{ P64, "3b 03", "rax=2 rbx=0xc0000000 fl=0x2", "r4:0xc0000000=1", "fl=0x2" },
	{ P64, "83 3b 00", "rbx=0xc0000000 fl=0x2", "r4:0xc0000000=0", "fl=0x46" },
	{ P64, "80 3b 80", "rbx=0xc0000000 fl=0x2", "r1:0xc0000000=0x7f", "fl=0x887" },
	{ P64, "85 03", "rax=2 rbx=0xc0000000 fl=0x8d3", "r4:0xc0000000=1", "fl=0x46" },
	{ P64, "f6 03 04", "rbx=0xc0000000 fl=0x2", "r1:0xc0000000=0x04", "fl=0x2" },
	{ P64, "f7 03 00 00 00 80", "rbx=0xc0000000 fl=0x2", "r4:0xc0000000=0x80000000", "fl=0x86" },
	{ P64, "48 f7 03 ff ff ff ff", "rbx=0xc0000000 fl=0x2", "r8:0xc0000000=0x8000000000000000", "fl=0x86" },
	{ P64, "84 23", "rax=0x0100 rbx=0xc0000000 fl=0x2", "r1:0xc0000000=0x01", "fl=0x2" },
	{ P64, "10 03", "rax=1 rbx=0xc0000000 fl=0x3", "r1:0xc0000000=0xfe w1:0xc0000000=0", "fl=0x57" },
	{ P64, "19 03", "rax=1 rbx=0xc0000000 fl=0x3", "r4:0xc0000000=2 w4:0xc0000000=0", "fl=0x46" },
	{ P64, "f6 13", "rbx=0xc0000000 fl=0x2", "r1:0xc0000000=0x0f w1:0xc0000000=0xf0", "" },
	{ P64, "f7 1b", "rbx=0xc0000000 fl=0x2", "r4:0xc0000000=1 w4:0xc0000000=0xffffffff", "fl=0x97" },
	{ P64, "fe 03", "rbx=0xc0000000 fl=0x3", "r1:0xc0000000=0x7f w1:0xc0000000=0x80", "fl=0x893" },
	{ P64, "ff 0b", "rbx=0xc0000000 fl=0x2", "r4:0xc0000000=1 w4:0xc0000000=0", "fl=0x46" },
	{ P64, "48 ff 0b", "rbx=0xc0000000 fl=0x3", "r8:0xc0000000=0 w8:0xc0000000=0xffffffffffffffff", "fl=0x97" },
	{ R, "81 0f 00 80", "rbx=0x10 ds=0xa0000 fl=0x2", "r2:0xa0010=0x0001 w2:0xa0010=0x8001", "fl=0x82" },
	{ R, "83 67 02 fe", "rbx=0x10 ds=0xa0000 fl=0x2", "r2:0xa0012=0x0003 w2:0xa0012=0x0002", "fl=0x2" },
	{ R, "66 83 4f 02 01", "rbx=0x10 ds=0xa0000 fl=0x2", "r4:0xa0012=0x80000000 w4:0xa0012=0x80000001", "fl=0x82" },
	{ P32, "83 0d 00 00 e0 fe 10", "fl=0x2", "r4:0xfee00000=0x100 w4:0xfee00000=0x110", "fl=0x2" },
	{ P32, "82 08 10", "rax=0xfee00000 fl=0x2", "r1:0xfee00000=1 w1:0xfee00000=0x11", "fl=0x6" },
	/* BT, BTS, BTR, BTC: CF is the bit; a register offset moves the operand. */
	{ P64, "0f ba 23 03", "rbx=0xc0000000 fl=0x2", "r4:0xc0000000=0x8", "fl=0x3" },
	{ P64, "0f ba 2b 23", "rbx=0xc0000000 fl=0x3", "r4:0xc0000000=0x0 w4:0xc0000000=0x8", "fl=0x2" },
	{ P64, "0f ba 33 00", "rbx=0xc0000000 fl=0x2", "r4:0xc0000000=0x3 w4:0xc0000000=0x2", "fl=0x3" },
	{ P64, "0f ba 3b 1f", "rbx=0xc0000000 fl=0x2", "r4:0xc0000000=0x1 w4:0xc0000000=0x80000001", "fl=0x2" },
	{ P64, "0f a3 03", "rax=33 rbx=0xc0000000 fl=0x2", "r4:0xc0000004=0x2", "fl=0x3" },
	{ P64, "0f a3 03", "rax=-1 rbx=0xc0000004 fl=0x2", "r4:0xc0000000=0x80000000", "fl=0x3" },
	{ P64, "48 0f ab 03", "rax=64 rbx=0xc0000000 fl=0x2", "r8:0xc0000008=0 w8:0xc0000008=1", "fl=0x2" },
	{ P64, "0f b3 03", "rax=-33 rbx=0xc0000008 fl=0x2", "r4:0xc0000000=0xffffffff w4:0xc0000000=0x7fffffff", "fl=0x3" },
	{ P64, "0f bb 03", "rax=4 rbx=0xc0000000 fl=0x2", "r4:0xc0000000=0 w4:0xc0000000=0x10", "fl=0x2" },
	{ P64, "66 0f a3 03", "rax=0xffff0010 rbx=0xc0000004 fl=0x2", "r2:0xc0000006=0x1", "fl=0x3" },
	{ R, "0f ba 27 0f", "rbx=0x10 ds=0xa0000 fl=0x2", "r2:0xa0010=0x8000", "fl=0x3" },
	/* XCHG, XADD: the register gets the old value. */
	{ P64, "87 03", "rax=0x11 rbx=0xc0000000", "r4:0xc0000000=0x22 w4:0xc0000000=0x11", "rax=0x22" },
	{ P64, "86 23", "rax=0x1100 rbx=0xc0000000", "r1:0xc0000000=0x22 w1:0xc0000000=0x11", "rax=0x2200" },
	{ P64, "48 87 0b", "rcx=-1 rbx=0xc0000000", "r8:0xc0000000=5 w8:0xc0000000=0xffffffffffffffff", "rcx=5" },
	{ P64, "f0 0f c1 03", "rax=1 rbx=0xc0000000 fl=0x2", "r4:0xc0000000=0x41 w4:0xc0000000=0x42", "rax=0x41 fl=0x6" },
	{ R, "87 07", "rax=0x1234 rbx=0x10 ds=0xa0000", "r2:0xa0010=0x5678 w2:0xa0010=0x1234", "rax=0x5678" },

	/* --- string forms: one exit per element --- */
	{ P64, "aa", "rax=0x5a rdi=0xc0000000 fl=0x2", "w1:0xc0000000=0x5a", "rdi=0xc0000001" },
	{ P64, "f3 ab", "rax=0x11223344 rcx=3 rdi=0xc0000000 fl=0x2",
	  "w4:0xc0000000=0x11223344 w4:0xc0000004=0x11223344 w4:0xc0000008=0x11223344",
	  "rcx=0 rdi=0xc000000c" },
	{ P64, "f3 48 ab", "rax=7 rcx=2 rdi=0xc0000008 fl=0x402",
	  "w8:0xc0000008=7 w8:0xc0000000=7", "rcx=0 rdi=0xbffffff8" },
	{ P64, "f3 aa", "rax=7 rcx=0 rdi=0xc0000000", "", "" },
	{ P64, "ac", "rax=-1 rsi=0xc0000000 fl=0x2", "r1:0xc0000000=0x12", "rax=0xffffffffffffff12 rsi=0xc0000001" },
	{ P64, "ad", "rax=-1 rsi=0xc0000000 fl=0x2", "r4:0xc0000000=0x12", "rax=0x12 rsi=0xc0000004" },
	{ P64, "65 48 ad", "rsi=0x10 gs=0xc0000000 fl=0x2", "r8:0xc0000010=0x12", "rax=0x12 rsi=0x18" },
	{ P64, "f3 66 ad", "rcx=2 rsi=0xc0000000 fl=0x2", "r2:0xc0000000=1 r2:0xc0000002=2", "rax=2 rcx=0 rsi=0xc0000004" },
	/* MOVS: MMIO to RAM, RAM to MMIO, MMIO to MMIO. */
	{ P64, "f3 a5", "rcx=2 rsi=0xc0000000 rdi=0x1000 fl=0x2",
	  "r4:0xc0000000=0x11111111 r4:0xc0000004=0x22222222",
	  "rcx=0 rsi=0xc0000008 rdi=0x1008 m4:0x1000=0x11111111 m4:0x1004=0x22222222" },
	{ P64, "f3 a4", "rcx=3 rsi=0x2000 rdi=0xc0000000 m4:0x2000=0x00332211 fl=0x2",
	  "w1:0xc0000000=0x11 w1:0xc0000001=0x22 w1:0xc0000002=0x33",
	  "rcx=0 rsi=0x2003 rdi=0xc0000003" },
	{ P64, "48 a5", "rsi=0xc0000000 rdi=0xc0001000 fl=0x2",
	  "r8:0xc0000000=0x123456789 w8:0xc0001000=0x123456789", "rsi=0xc0000008 rdi=0xc0001008" },
	{ P64, "f3 a5", "rcx=2 rsi=0xc0000004 rdi=0x1004 fl=0x402",
	  "r4:0xc0000004=0xaaaa r4:0xc0000000=0xbbbb",
	  "rcx=0 rsi=0xbffffffc rdi=0xffc m4:0x1004=0xaaaa m4:0x1000=0xbbbb" },
	/* Real mode: DS:SI (or the override) to ES:DI, 16-bit counts. */
	{ R, "f3 a5", "rcx=0x10002 rsi=0x10 rdi=0x20 ds=0xa0000 es=0x1000 fl=0x2",
	  "r2:0xa0010=0x1111 r2:0xa0012=0x2222",
	  "rcx=0x10000 rsi=0x14 rdi=0x24 m2:0x1020=0x1111 m2:0x1022=0x2222" },
	/* The override is the source's; the destination is ES's. */
	{ R, "26 a4", "rsi=0x10 rdi=0x20 ds=0xa0000 es=0xb0000",
	  "r1:0xb0010=0x77 w1:0xb0020=0x77", "rsi=0x11 rdi=0x21" },
	{ R, "a4", "rsi=0x10 rdi=0x20 ds=0x1000 es=0xa0000 m1:0x1010=0x77",
	  "w1:0xa0020=0x77", "rsi=0x11 rdi=0x21" },
	{ R, "2e a4", "rsi=0x10 rdi=0x20 cs=0xa0000 es=0x1000",
	  "r1:0xa0010=0x66", "rsi=0x11 rdi=0x21 m1:0x1020=0x66" },
	{ R, "f3 ab", "rax=0x0720 rcx=2 rdi=0xfffe es=0xa0000 fl=0x2",
	  "w2:0xafffe=0x0720 w2:0xa0000=0x0720", "rcx=0 rdi=0x2" },
	/* A RAM element needs no exit: it is done in the kernel. */
	{ R, "f3 ab", "rax=0x0720 rcx=2 rdi=0xfffe es=0xb8000 fl=0x2",
	  "w2:0xb8000=0x0720", "rcx=0 rdi=0x2 m2:0xc7ffe=0x0720" },
	{ R, "f3 66 ab", "rax=0x11223344 rcx=1 rdi=0 es=0xa0000 fl=0x2", "w4:0xa0000=0x11223344", "rcx=0 rdi=4" },
	{ R, "67 f3 aa", "rax=0xaa rcx=0x100000002 rdi=0x10000 es=0xa0000 fl=0x2",
	  "w1:0xb0000=0xaa w1:0xb0001=0xaa", "rcx=0x100000000 rdi=0x10002" },
	{ P32, "f3 a5", "rcx=2 rsi=0xfee00000 rdi=0x1000 fl=0x2",
	  "r4:0xfee00000=1 r4:0xfee00004=2", "rcx=0 rsi=0xfee00008 rdi=0x1008 m4:0x1000=1 m4:0x1004=2" },
	{ P16, "f3 a4", "rcx=1 rsi=0 rdi=0 ds=0xfee00000 es=0x1000 fl=0x2",
	  "r1:0xfee00000=9", "rcx=0 rsi=1 rdi=1 m1:0x1000=9" },
	/* CMPS and SCAS: REPE stops on a difference, REPNE on a match. */
	{ P64, "f3 a6", "rcx=4 rsi=0xc0000000 rdi=0x1000 m4:0x1000=0x04030201 fl=0x2",
	  "r1:0xc0000000=1 r1:0xc0000001=2 r1:0xc0000002=9",
	  "rcx=1 rsi=0xc0000003 rdi=0x1003 fl=0x6" },
	{ P64, "f2 ae", "rax=0x33 rcx=5 rdi=0xc0000000 fl=0x2",
	  "r1:0xc0000000=0x11 r1:0xc0000001=0x33", "rcx=3 rdi=0xc0000002 fl=0x46" },
	{ P64, "a7", "rsi=0x1000 rdi=0xc0000000 m4:0x1000=5 fl=0x2",
	  "r4:0xc0000000=5", "rsi=0x1004 rdi=0xc0000004 fl=0x46" },

	/* --- what is not emulated: a clear failure, nothing changed --- */
	{ P64, "0f 0b", "", "", "fail" },		/* UD2 */
	{ P64, "8b c3", "", "", "fail" },		/* a register form */
	{ P64, "8b", "", "", "fail" },			/* cut short */
	{ P64, "c7 03 01 00", "rbx=0xc0000000", "", "fail" },
	{ P64, "f0 89 03", "rbx=0xc0000000", "", "fail" },	/* LOCK MOV */
	{ P64, "f0 39 03", "rbx=0xc0000000", "", "fail" },	/* LOCK CMP */
	{ P64, "66 0f c3 03", "rbx=0xc0000000", "", "fail" },	/* 66 MOVNTI */
	{ P64, "f3 0f b6 03", "rbx=0xc0000000", "", "fail" },
	{ P64, "82 03 01", "rbx=0xc0000000", "", "fail" },	/* 82: not in 64-bit */
	{ P32, "63 03", "rbx=0xfee00000", "", "fail" },		/* ARPL */
	{ P64, "c6 0b 01", "rbx=0xc0000000", "", "fail" },	/* C6 /1 */
	{ P64, "f7 23", "rbx=0xc0000000", "", "fail" },		/* MUL */
	{ P64, "ff 13", "rbx=0xc0000000", "", "fail" },		/* CALL */
	{ P64, "0f 10 03", "rbx=0xc0000000", "", "fail" },	/* MOVUPS */
	{ P64, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 89 03", "rbx=0xc0000000", "", "fail" },
	/* Two reads of MMIO fit; a third would not (there is none). */
	{ P64, "a6", "rsi=0xc0000000 rdi=0xc0001000 fl=0x2",
	  "r1:0xc0001000=1 r1:0xc0000000=1", "rsi=0xc0000001 rdi=0xc0001001 fl=0x46" },
};

static const char * const reg_names[] = {
	"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
	"r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static const char * const seg_names[] = { "es", "cs", "ss", "ds", "fs", "gs" };

static int hex_bytes(const char *s, u8 *out)
{
	int n = 0;

	while (*s) {
		char *end;
		unsigned long v = strtoul(s, &end, 16);

		if (end == s)
			break;
		out[n++] = v;
		s = end;
	}
	return n;
}

/* A state from "name=value ..." words; RAM words write to ram[]. */
static bool parse_state(const char *what, const char *words, struct state *s,
			bool check, const struct state *before)
{
	char buf[512], *tok, *save;
	bool ok = true;

	snprintf(buf, sizeof(buf), "%s", words);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		u64 v;
		int i;

		if (!eq) {
			fail(what, "bad word %s", tok);
			return false;
		}
		*eq = 0;
		v = strtoull(eq + 1, NULL, 0);
		if (tok[0] == 'm') {
			unsigned int len = tok[1] - '0';
			u64 addr = strtoull(tok + 3, NULL, 0), m = 0;

			if (!check) {
				memcpy(ram + addr, &v, len);
				continue;
			}
			memcpy(&m, ram + addr, len);
			if (m != v) {
				fail(what, "RAM %#llx: %#llx, expected %#llx",
				     (unsigned long long)addr,
				     (unsigned long long)m,
				     (unsigned long long)v);
				ok = false;
			}
			continue;
		}
		if (!strcmp(tok, "fl")) {
			s->rflags = v;
			continue;
		}
		if (!strcmp(tok, "rip")) {
			s->rip = v;
			continue;
		}
		for (i = 0; i < 16; i++) {
			if (!strcmp(tok, reg_names[i])) {
				s->regs[i] = v;
				break;
			}
		}
		if (i < 16)
			continue;
		for (i = 0; i < X86_EMUL_NR_SEGS; i++) {
			if (!strcmp(tok, seg_names[i])) {
				s->seg_base[i] = v;
				break;
			}
		}
		if (i == X86_EMUL_NR_SEGS) {
			fail(what, "bad name %s", tok);
			return false;
		}
	}
	return ok;
}

static int parse_io(const char *words, struct io *io)
{
	char buf[512], *tok, *save;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", words);
	for (tok = strtok_r(buf, " ", &save); tok && n < MAX_IO;
	     tok = strtok_r(NULL, " ", &save)) {
		char *colon = strchr(tok, ':'), *eq = strchr(tok, '=');

		io[n].write = tok[0] == 'w';
		io[n].len = strtoul(tok + 1, NULL, 10);
		io[n].gpa = strtoull(colon + 1, NULL, 0);
		io[n].data = strtoull(eq + 1, NULL, 0);
		n++;
	}
	return n;
}

static const char *mode_name(enum x86_emul_mode mode)
{
	static const char * const names[] = { "real", "prot16", "prot32",
					      "long64" };

	return names[mode];
}

static void run_ucase(const struct ucase *u)
{
	struct state in = { .rflags = 0x2, .rip = 0x1000 }, want, got;
	struct io want_io[MAX_IO];
	u8 insn[32];
	char what[128];
	int n, nio, i, r;
	bool fails = !strcmp(u->out, "fail");

	cases++;
	snprintf(what, sizeof(what), "%s [%s] %s", mode_name(u->mode),
		 u->insn, u->in);
	memset(ram, 0, sizeof(ram));
	n = hex_bytes(u->insn, insn);
	if (!parse_state(what, u->in, &in, false, NULL))
		return;
	want = in;
	want.rip = in.rip + n;
	if (!fails && !parse_state(what, u->out, &want, false, NULL))
		return;
	/* RAM words of out are checked after the run, not written. */
	memset(ram, 0, sizeof(ram));
	parse_state(what, u->in, &in, false, NULL);

	nio = parse_io(u->io, want_io);
	dev_nr_answers = 0;
	for (i = 0; i < nio; i++)
		if (!want_io[i].write)
			dev_answers[dev_nr_answers++] = want_io[i];
	dev_next_answer = 0;
	dev_nr_seen = 0;

	got = in;
	r = t_emulate(u->mode, insn, n > X86_EMUL_MAX_INSN ?
		      X86_EMUL_MAX_INSN : n, &got);
	if (fails) {
		if (r != X86_EMUL_FAILED)
			fail(what, "emulated; expected a failure");
		else if (memcmp(&got, &in, sizeof(got)))
			fail(what, "a failure changed the registers");
		return;
	}
	if (r != X86_EMUL_DONE) {
		fail(what, "not emulated");
		return;
	}
	if (dev_nr_seen != nio)
		fail(what, "%d MMIO accesses, expected %d", dev_nr_seen, nio);
	for (i = 0; i < nio && i < dev_nr_seen; i++) {
		const struct io *a = &dev_seen[i], *b = &want_io[i];

		if (a->write != b->write || a->len != b->len ||
		    a->gpa != b->gpa || (b->write && a->data != b->data))
			fail(what, "access %d: %c%u:%#llx=%#llx, expected %c%u:%#llx=%#llx",
			     i, a->write ? 'w' : 'r', a->len,
			     (unsigned long long)a->gpa,
			     (unsigned long long)a->data,
			     b->write ? 'w' : 'r', b->len,
			     (unsigned long long)b->gpa,
			     (unsigned long long)b->data);
	}
	for (i = 0; i < 16; i++)
		if (got.regs[i] != want.regs[i])
			fail(what, "%s %#lx, expected %#lx", reg_names[i],
			     got.regs[i], want.regs[i]);
	if (got.rflags != want.rflags)
		fail(what, "rflags %#llx, expected %#llx",
		     (unsigned long long)got.rflags,
		     (unsigned long long)want.rflags);
	if (got.rip != want.rip)
		fail(what, "rip %#llx, expected %#llx",
		     (unsigned long long)got.rip,
		     (unsigned long long)want.rip);
	parse_state(what, u->out, &want, true, NULL);
}

/* --- ALU forms against this machine's CPU ---------------------------------- */

#define ARITH	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
		 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF)

/*
 * op on registers, natively: dst and src in, results out.  The test is
 * built with -mno-red-zone, so PUSHF/POPF here may use the stack.
 */
#define NATIVE(insn, mod)						\
	asm volatile("push %[f]\n\tpopf\n\t" insn " %" mod "[s], %" mod "[d]\n\t" \
		     "pushf\n\tpop %[f]"				\
		     : [d] "+r" (d), [s] "+r" (s), [f] "+r" (f) : : "cc")
#define NATIVE1(insn, mod)						\
	asm volatile("push %[f]\n\tpopf\n\t" insn " %" mod "[d]\n\t"	\
		     "pushf\n\tpop %[f]"				\
		     : [d] "+r" (d), [f] "+r" (f) : : "cc")
#define SIZED(insn, size, N)						\
	do {								\
		switch (size) {						\
		case 1: N(insn "b", "b"); break;			\
		case 2: N(insn "w", "w"); break;			\
		case 4: N(insn "l", "k"); break;			\
		default: N(insn "q", "q"); break;			\
		}							\
	} while (0)

/* BT*: no byte form. */
#define SIZED_W(insn, size, N)						\
	do {								\
		switch (size) {						\
		case 2: N(insn "w", "w"); break;			\
		case 4: N(insn "l", "k"); break;			\
		default: N(insn "q", "q"); break;			\
		}							\
	} while (0)

struct alu {
	const char *name;
	u8 op;			/* enum x86_op */
	u8 opc;			/* opcode of the r/m, reg form (byte form) */
	u8 ext;			/* or: the /digit of a one-operand group */
	bool twobyte;
	bool no_byte;		/* BT*: no byte form */
	u64 defined;		/* the flags the SDM defines */
};

static const struct alu alus[] = {
	{ "add", X86_OP_ADD, 0x00, 0, false, false, ARITH },
	{ "or", X86_OP_OR, 0x08, 0, false, false, ARITH & ~X86_EFLAGS_AF },
	{ "adc", X86_OP_ADC, 0x10, 0, false, false, ARITH },
	{ "sbb", X86_OP_SBB, 0x18, 0, false, false, ARITH },
	{ "and", X86_OP_AND, 0x20, 0, false, false, ARITH & ~X86_EFLAGS_AF },
	{ "sub", X86_OP_SUB, 0x28, 0, false, false, ARITH },
	{ "xor", X86_OP_XOR, 0x30, 0, false, false, ARITH & ~X86_EFLAGS_AF },
	{ "cmp", X86_OP_CMP, 0x38, 0, false, false, ARITH },
	{ "test", X86_OP_TEST, 0x84, 0, false, false, ARITH & ~X86_EFLAGS_AF },
	{ "xchg", X86_OP_XCHG, 0x86, 0, false, false, ARITH },
	{ "xadd", X86_OP_XADD, 0xc0, 0, true, false, ARITH },
	{ "bt", X86_OP_BT, 0xa3, 0, true, true, X86_EFLAGS_CF },
	{ "bts", X86_OP_BTS, 0xab, 0, true, true, X86_EFLAGS_CF },
	{ "btr", X86_OP_BTR, 0xb3, 0, true, true, X86_EFLAGS_CF },
	{ "btc", X86_OP_BTC, 0xbb, 0, true, true, X86_EFLAGS_CF },
	{ "inc", X86_OP_INC, 0xfe, 0, false, false, ARITH },
	{ "dec", X86_OP_DEC, 0xfe, 1, false, false, ARITH },
	{ "not", X86_OP_NOT, 0xf6, 2, false, false, ARITH },
	{ "neg", X86_OP_NEG, 0xf6, 3, false, false, ARITH },
};

/* The CPU's answer: the destination, the source after, RFLAGS. */
static void native(const struct alu *a, unsigned int size, u64 *dp, u64 *sp,
		   u64 *fp)
{
	u64 d = *dp, s = *sp, f = *fp;

	switch (a->op) {
	case X86_OP_ADD: SIZED("add", size, NATIVE); break;
	case X86_OP_OR: SIZED("or", size, NATIVE); break;
	case X86_OP_ADC: SIZED("adc", size, NATIVE); break;
	case X86_OP_SBB: SIZED("sbb", size, NATIVE); break;
	case X86_OP_AND: SIZED("and", size, NATIVE); break;
	case X86_OP_SUB: SIZED("sub", size, NATIVE); break;
	case X86_OP_XOR: SIZED("xor", size, NATIVE); break;
	case X86_OP_CMP: SIZED("cmp", size, NATIVE); break;
	case X86_OP_TEST: SIZED("test", size, NATIVE); break;
	case X86_OP_XCHG: SIZED("xchg", size, NATIVE); break;
	case X86_OP_XADD: SIZED("xadd", size, NATIVE); break;
	case X86_OP_BT: SIZED_W("bt", size, NATIVE); break;
	case X86_OP_BTS: SIZED_W("bts", size, NATIVE); break;
	case X86_OP_BTR: SIZED_W("btr", size, NATIVE); break;
	case X86_OP_BTC: SIZED_W("btc", size, NATIVE); break;
	case X86_OP_INC: SIZED("inc", size, NATIVE1); break;
	case X86_OP_DEC: SIZED("dec", size, NATIVE1); break;
	case X86_OP_NOT: SIZED("not", size, NATIVE1); break;
	case X86_OP_NEG: SIZED("neg", size, NATIVE1); break;
	}
	*dp = d;
	*sp = s;
	*fp = f;
}

static const u64 values[] = {
	0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
	0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, ~0ULL,
	0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x5555aaaa5555aaaaULL,
};

#define NVALUES		(sizeof(values) / sizeof(values[0]))

/*
 * The instruction "op [mem], reg" (or "op [mem]") of size bytes in mode:
 * the memory operand at ES:[rBX], whatever the address size.
 */
static int alu_insn(const struct alu *a, enum x86_emul_mode mode,
		    unsigned int size, u8 *insn)
{
	bool def16 = mode == X86_EMUL_REAL || mode == X86_EMUL_PROT16;
	int n = 0;

	insn[n++] = 0x26;			/* ES */
	if (size == 2 && !def16)
		insn[n++] = 0x66;
	if (size == 4 && def16)
		insn[n++] = 0x66;
	if (size == 8)
		insn[n++] = 0x48;
	if (a->twobyte)
		insn[n++] = 0x0f;
	insn[n++] = a->opc | (size > 1 && !a->no_byte);
	/* ModRM: [BX] is rm 7 in 16-bit forms, [RBX] rm 3 otherwise. */
	insn[n++] = (a->opc == 0xfe || a->opc == 0xf6 ? a->ext : 2) << 3 |
		    (def16 ? 7 : 3);
	return n;
}

static void run_alu(const struct alu *a, enum x86_emul_mode mode,
		    unsigned int size, u64 dv, u64 sv, u64 fin)
{
	u64 mask = size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
	u64 d = dv & mask, s = sv & mask, f = fin | 0x2, gpa = 0xb0000;
	bool onearg = a->opc == 0xfe || a->opc == 0xf6;
	bool bits = a->op >= X86_OP_BT && a->op <= X86_OP_BTC;
	struct state st = { .rflags = f, .rip = 0x1000 };
	char what[160];
	u8 insn[16];
	int n, r;
	u64 want_flags;

	if (bits)		/* within the operand: no move */
		s &= size * 8 - 1;
	cases++;
	n = alu_insn(a, mode, size, insn);
	snprintf(what, sizeof(what), "%s %s%u %#llx, %#llx flags %#llx",
		 mode_name(mode), a->name, size * 8, (unsigned long long)d,
		 (unsigned long long)s, (unsigned long long)f);
	/* ES's base is ignored in 64-bit mode: RBX says it all there. */
	st.regs[X86_RBX] = mode == X86_EMUL_PROT64 ? gpa : 0x30;
	st.regs[X86_RDX] = s | (0x5aULL << 56 & ~mask);	/* DL, DX, ... */
	st.seg_base[X86_EMUL_ES] = gpa - 0x30;

	dev_answers[0].data = d;
	dev_nr_answers = 1;
	dev_next_answer = 0;
	dev_nr_seen = 0;
	r = t_emulate(mode, insn, n, &st);

	native(a, size, &d, &s, &f);
	if (r != X86_EMUL_DONE) {
		fail(what, "not emulated");
		return;
	}
	/* A read, then a write unless the result only goes to RFLAGS. */
	if (dev_nr_seen < 1 || dev_seen[0].write || dev_seen[0].gpa != gpa ||
	    dev_seen[0].len != size) {
		fail(what, "the read is missing");
		return;
	}
	if (a->op == X86_OP_CMP || a->op == X86_OP_TEST || a->op == X86_OP_BT) {
		if (dev_nr_seen != 1)
			fail(what, "%d accesses, expected a read", dev_nr_seen);
	} else if (dev_nr_seen != 2 || !dev_seen[1].write ||
		   dev_seen[1].gpa != gpa || dev_seen[1].len != size) {
		fail(what, "the write is missing");
	} else if (dev_seen[1].data != d) {
		fail(what, "wrote %#llx, expected %#llx",
		     (unsigned long long)dev_seen[1].data,
		     (unsigned long long)d);
	}
	/* Undefined flags: AF clears after a logical operation, the rest stay. */
	want_flags = (fin | 0x2) & ~a->defined;
	if (a->defined == (ARITH & ~X86_EFLAGS_AF))
		want_flags &= ~X86_EFLAGS_AF;
	if ((st.rflags & a->defined) != (f & a->defined) ||
	    (st.rflags & ~a->defined) != want_flags)
		fail(what, "rflags %#llx, expected %#llx (of %#llx)",
		     (unsigned long long)st.rflags,
		     (unsigned long long)f,
		     (unsigned long long)a->defined);
	if (!onearg && (st.regs[X86_RDX] & mask) != s)
		fail(what, "the register %#lx, expected %#llx",
		     st.regs[X86_RDX] & mask, (unsigned long long)s);
	if (st.rip != 0x1000ULL + n)
		fail(what, "rip %#llx", (unsigned long long)st.rip);
}

static void alu_cases(void)
{
	static const u64 flag_ins[] = { 0, X86_EFLAGS_CF,
					ARITH & ~X86_EFLAGS_CF, ARITH };
	enum x86_emul_mode mode;
	unsigned int size, i, j, k, fi;

	for (mode = X86_EMUL_REAL; mode <= X86_EMUL_PROT64; mode++)
		for (i = 0; i < sizeof(alus) / sizeof(alus[0]); i++)
			for (size = 1; size <= 8; size *= 2) {
				if ((size == 8 && mode != X86_EMUL_PROT64) ||
				    (size == 1 && alus[i].no_byte))
					continue;
				/* A slice of the value pairs per mode. */
				for (j = 0; j < NVALUES; j++)
					for (k = (j + mode) % 3; k < NVALUES;
					     k += 3) {
						fi = (j + k) % 4;
						run_alu(&alus[i], mode, size,
							values[j], values[k],
							flag_ins[fi]);
					}
			}
}

/* --- every ModRM memory form of the 16 and 32-bit address sizes ------------ */

/* The SDM's Table 2-1: base and index of each 16-bit r/m. */
static u64 sdm_ea16(const unsigned long *r, int mod, int rm, s64 disp)
{
	static const int b[8] = { 3, 3, 5, 5, -1, -1, 5, 3 };
	static const int x[8] = { 6, 7, 6, 7, 6, 7, -1, -1 };
	u64 ea = disp;

	if (mod == 0 && rm == 6)
		return (u64)disp & 0xffff;
	if (b[rm] >= 0)
		ea += r[b[rm]];
	if (x[rm] >= 0)
		ea += r[x[rm]];
	return ea & 0xffff;
}

static void modrm16_cases(void)
{
	int mod, rm;

	for (mod = 0; mod < 3; mod++)
		for (rm = 0; rm < 8; rm++) {
			struct state st = { .rflags = 2, .rip = 0 };
			u8 insn[8] = { 0x89, mod << 6 | rm };
			s64 disp = mod == 1 ? -2 : 0x1234;
			bool ss = (rm == 2 || rm == 3 || (rm == 6 && mod));
			char what[64];
			u64 want;
			int n = 2;

			if (mod == 1)
				insn[n++] = 0xfe;
			if (mod == 2 || (mod == 0 && rm == 6)) {
				insn[n++] = 0x34;
				insn[n++] = 0x12;
			}
			if (mod == 0 && rm != 6)
				disp = 0;
			st.regs[X86_RBX] = 0x1000;
			st.regs[X86_RBP] = 0x2000;
			st.regs[X86_RSI] = 0x30;
			st.regs[X86_RDI] = 0xfff0;
			st.seg_base[X86_EMUL_DS] = 0xa0000;
			st.seg_base[X86_EMUL_SS] = 0x100000;
			want = sdm_ea16(st.regs, mod, rm, disp) +
			       (ss ? 0x100000 : 0xa0000);
			snprintf(what, sizeof(what), "real modrm16 %02x",
				 insn[1]);
			cases++;
			dev_nr_seen = 0;
			if (t_emulate(X86_EMUL_REAL, insn, n, &st) !=
			    X86_EMUL_DONE || dev_nr_seen != 1 ||
			    dev_seen[0].gpa != want || st.rip != (u64)n)
				fail(what, "gpa %#llx, expected %#llx",
				     (unsigned long long)dev_seen[0].gpa,
				     (unsigned long long)want);
		}
}

static void modrm32_cases(void)
{
	enum x86_emul_mode mode;
	int mod, rm, scale, index, base;

	for (mode = X86_EMUL_PROT32; mode <= X86_EMUL_PROT64; mode++)
	for (mod = 0; mod < 3; mod++)
	for (rm = 0; rm < 8; rm++)
	for (scale = 0; scale < 4; scale++)
	for (index = 0; index < 8; index++)
	for (base = 0; base < 8; base++) {
		struct state st = { .rflags = 2, .rip = 0x100 };
		u8 insn[16];
		int n = 0, i, seg;
		u64 ea = 0, want;
		char what[80];
		bool sib = rm == 4, nobase = false;

		if (!sib && (scale || index || base))
			continue;
		if (sib && rm != 4)
			continue;
		insn[n++] = 0x89;
		insn[n++] = mod << 6 | rm;
		if (sib)
			insn[n++] = scale << 6 | index << 3 | base;
		for (i = 0; i < 8; i++)
			st.regs[i] = 0x10000 * (i + 1) + 0x10 * i +
				     (mode == X86_EMUL_PROT64 ? 1ULL << 32 : 0);
		/* Ignored in 64-bit mode. */
		st.seg_base[X86_EMUL_DS] = 0xfee00000;
		st.seg_base[X86_EMUL_SS] = 0xfec00000;
		if (sib) {
			if (index != 4)
				ea += st.regs[index] << scale;
			nobase = mod == 0 && base == 5;
			if (!nobase)
				ea += st.regs[base];
			seg = !nobase && (base == 4 || base == 5);
		} else if (mod == 0 && rm == 5) {
			nobase = true;
			seg = 0;
		} else {
			ea += st.regs[rm];
			seg = rm == 5;
		}
		if (mod == 1) {
			insn[n++] = 0x80;
			ea -= 0x80;
		} else if (mod == 2 || nobase) {
			insn[n++] = 0x00;
			insn[n++] = 0x00;
			insn[n++] = 0x10;
			insn[n++] = 0xfe;
			ea += (u64)(s64)(s32)0xfe100000;
		}
		/* 64-bit mode: mod 0, rm 5 is RIP-relative. */
		if (mode == X86_EMUL_PROT64 && mod == 0 && rm == 5)
			ea = 0xfffffffffe100000ULL + 0x100 + n;
		if (mode == X86_EMUL_PROT32)
			ea = (ea + (seg ? 0xfec00000 : 0xfee00000)) &
			     0xffffffff;
		want = ea;
		if (!is_mmio(want))
			continue;
		snprintf(what, sizeof(what), "%s modrm %02x sib %02x",
			 mode_name(mode), insn[1], sib ? insn[2] : 0);
		cases++;
		dev_nr_seen = 0;
		if (t_emulate(mode, insn, n, &st) != X86_EMUL_DONE ||
		    dev_nr_seen != 1 || dev_seen[0].gpa != want ||
		    st.rip != 0x100ULL + n)
			fail(what, "gpa %#llx, expected %#llx",
			     (unsigned long long)dev_seen[0].gpa,
			     (unsigned long long)want);
	}
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(ucases) / sizeof(ucases[0]); i++)
		run_ucase(&ucases[i]);
	printf("written-out cases: %zu\n", i);
	i = cases;
	alu_cases();
	printf("ALU cases against the CPU: %zu\n", cases - i);
	i = cases;
	modrm16_cases();
	modrm32_cases();
	printf("ModRM/SIB address cases: %zu\n", cases - i);
	printf("x86_emulate_unit: %d cases, %d failed\n", cases, failures);
	return failures ? 1 : 0;
}
