// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: x86 instruction emulation for MMIO.
 *
 * An access to guest memory that is not RAM stops the guest before the
 * instruction retires; the instruction is decoded and executed here, its
 * memory operands through struct x86_emul_ops, so that each access to a
 * device becomes one KVM_EXIT_MMIO.
 *
 * Decoding is data.  A row of x86_onebyte[] or x86_twobyte[] names the
 * operation and its operand forms (register, ModRM memory, immediate,
 * moffs, the string operands); a row marked F_GROUP descends, by ModRM's
 * reg field, to a row of x86_groups[].  What an operation does is a row of
 * x86_execs[]: a function of (destination, source) that also computes
 * RFLAGS, and whether the destination is read, written, or swapped with
 * the source.  A new instruction is one row, and an opcode without one is
 * X86_EMUL_FAILED, never a guess.
 *
 * Nothing is committed until the instruction is done: an MMIO read exits
 * with the context's registers untouched, and the instruction runs again
 * from the start with the answer in the cache (see struct x86_emul_cache).
 * The only memory write of an instruction is its last step, so a write to
 * MMIO leaves an instruction that is complete but for the device's part.
 * REP repeats by not advancing RIP: each element is one emulation, as each
 * element that touches MMIO is one exit (KVM's string emulation does the
 * same for MMIO).
 */
#include <asm/processor-flags.h>

#include "emulate.h"

/* Register numbers of the x86 encoding. */
enum {
	X86_RAX, X86_RCX, X86_RDX, X86_RBX, X86_RSP, X86_RBP, X86_RSI, X86_RDI,
};

#define X86_FLAGS_ARITH	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
			 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF)

/* What an operation does (a row of x86_execs[]). */
enum x86_op {
	X86_OP_NONE,		/* no row: not emulated */
	X86_OP_MOV,
	X86_OP_MOVSX,
	X86_OP_ADD,
	X86_OP_OR,
	X86_OP_ADC,
	X86_OP_SBB,
	X86_OP_AND,
	X86_OP_SUB,
	X86_OP_XOR,
	X86_OP_CMP,
	X86_OP_TEST,
	X86_OP_NOT,
	X86_OP_NEG,
	X86_OP_INC,
	X86_OP_DEC,
	X86_OP_XCHG,
	X86_OP_XADD,
	X86_OP_BT,
	X86_OP_BTS,
	X86_OP_BTR,
	X86_OP_BTC,
	X86_NR_OPS,
};

/* Operand forms. */
enum x86_opnd {
	X86_OPND_NONE,
	X86_OPND_REG,		/* ModRM.reg */
	X86_OPND_RM,		/* ModRM.rm, which must be memory */
	X86_OPND_ACC,		/* AL, AX, EAX, RAX */
	X86_OPND_MOFFS,		/* an address of the address size (A0-A3) */
	X86_OPND_IMM,		/* of the operand size, at most 4 bytes */
	X86_OPND_IMM8,		/* one byte, sign-extended */
	X86_OPND_SI,		/* the string source, DS:rSI or the override */
	X86_OPND_DI,		/* the string destination, ES:rDI */
};

/* A row's flags. */
#define F_BYTE		0x0001	/* operands of one byte */
#define F_MODRM		0x0002	/* a ModRM byte follows the opcode */
#define F_GROUP		0x0004	/* ModRM.reg picks the row of a group */
#define F_STRING	0x0008	/* rSI/rDI step; REP repeats */
#define F_LOCK		0x0010	/* LOCK is allowed */
#define F_NO64		0x0020	/* invalid in 64-bit mode */
#define F_ONLY64	0x0040	/* another instruction outside 64-bit mode */
#define F_NO66		0x0080	/* 32 or 64-bit only: 66 is #UD */
#define F_SRC8		0x0100	/* the source is one byte (MOVZX, MOVSX) */
#define F_SRC16		0x0200	/* two bytes */
#define F_SRC32		0x0400	/* four bytes (MOVSXD) */
#define F_TWOBYTE	0x0800	/* 0F xx: F2 and F3 would make another one */

struct x86_opcode {
	u8 op;			/* enum x86_op */
	u8 dst, src;		/* enum x86_opnd */
	u8 group;		/* F_GROUP: the index in x86_groups[] */
	u16 flags;
};

#define I(o, d, s, f) \
	{ .op = X86_OP_##o, .dst = X86_OPND_##d, .src = X86_OPND_##s, \
	  .flags = (f) }
#define G(g, d, s, f) \
	{ .group = (g), .dst = X86_OPND_##d, .src = X86_OPND_##s, \
	  .flags = F_GROUP | F_MODRM | (f) }

#define BM	(F_BYTE | F_MODRM)
#define BML	(F_BYTE | F_MODRM | F_LOCK)
#define ML	(F_MODRM | F_LOCK)
#define STR	F_STRING
#define BSTR	(F_BYTE | F_STRING)

/* The groups: the operation by ModRM.reg; operands of the opcode's row. */
enum {
	X86_GRP1 = 1, X86_GRP3, X86_GRP4, X86_GRP5, X86_GRP8, X86_GRP11,
	X86_NR_GROUPS,
};

static const struct x86_opcode x86_groups[X86_NR_GROUPS][8] = {
	[X86_GRP1] = {			/* 80-83: ALU r/m, imm */
		I(ADD, NONE, NONE, F_LOCK), I(OR, NONE, NONE, F_LOCK),
		I(ADC, NONE, NONE, F_LOCK), I(SBB, NONE, NONE, F_LOCK),
		I(AND, NONE, NONE, F_LOCK), I(SUB, NONE, NONE, F_LOCK),
		I(XOR, NONE, NONE, F_LOCK), I(CMP, NONE, NONE, 0),
	},
	[X86_GRP3] = {			/* F6, F7 (MUL, DIV: not here) */
		I(TEST, NONE, IMM, 0), I(TEST, NONE, IMM, 0),
		I(NOT, NONE, NONE, F_LOCK), I(NEG, NONE, NONE, F_LOCK),
	},
	[X86_GRP4] = {			/* FE */
		I(INC, NONE, NONE, F_LOCK), I(DEC, NONE, NONE, F_LOCK),
	},
	[X86_GRP5] = {			/* FF (CALL, JMP, PUSH: not here) */
		I(INC, NONE, NONE, F_LOCK), I(DEC, NONE, NONE, F_LOCK),
	},
	[X86_GRP8] = {			/* 0F BA: BT* r/m, imm8 */
		[4] = I(BT, NONE, NONE, 0), I(BTS, NONE, NONE, F_LOCK),
		I(BTR, NONE, NONE, F_LOCK), I(BTC, NONE, NONE, F_LOCK),
	},
	[X86_GRP11] = {			/* C6, C7 */
		I(MOV, NONE, NONE, 0),
	},
};

static const struct x86_opcode x86_onebyte[256] = {
	[0x00] = I(ADD, RM, REG, BML),	[0x01] = I(ADD, RM, REG, ML),
	[0x02] = I(ADD, REG, RM, BM),	[0x03] = I(ADD, REG, RM, F_MODRM),
	[0x08] = I(OR, RM, REG, BML),	[0x09] = I(OR, RM, REG, ML),
	[0x0a] = I(OR, REG, RM, BM),	[0x0b] = I(OR, REG, RM, F_MODRM),
	[0x10] = I(ADC, RM, REG, BML),	[0x11] = I(ADC, RM, REG, ML),
	[0x12] = I(ADC, REG, RM, BM),	[0x13] = I(ADC, REG, RM, F_MODRM),
	[0x18] = I(SBB, RM, REG, BML),	[0x19] = I(SBB, RM, REG, ML),
	[0x1a] = I(SBB, REG, RM, BM),	[0x1b] = I(SBB, REG, RM, F_MODRM),
	[0x20] = I(AND, RM, REG, BML),	[0x21] = I(AND, RM, REG, ML),
	[0x22] = I(AND, REG, RM, BM),	[0x23] = I(AND, REG, RM, F_MODRM),
	[0x28] = I(SUB, RM, REG, BML),	[0x29] = I(SUB, RM, REG, ML),
	[0x2a] = I(SUB, REG, RM, BM),	[0x2b] = I(SUB, REG, RM, F_MODRM),
	[0x30] = I(XOR, RM, REG, BML),	[0x31] = I(XOR, RM, REG, ML),
	[0x32] = I(XOR, REG, RM, BM),	[0x33] = I(XOR, REG, RM, F_MODRM),
	[0x38] = I(CMP, RM, REG, BM),	[0x39] = I(CMP, RM, REG, F_MODRM),
	[0x3a] = I(CMP, REG, RM, BM),	[0x3b] = I(CMP, REG, RM, F_MODRM),
	/* MOVSXD; ARPL outside 64-bit mode. */
	[0x63] = I(MOVSX, REG, RM, F_MODRM | F_SRC32 | F_ONLY64),
	[0x80] = G(X86_GRP1, RM, IMM, F_BYTE),
	[0x81] = G(X86_GRP1, RM, IMM, 0),
	[0x82] = G(X86_GRP1, RM, IMM, F_BYTE | F_NO64),
	[0x83] = G(X86_GRP1, RM, IMM8, 0),
	[0x84] = I(TEST, RM, REG, BM),	[0x85] = I(TEST, RM, REG, F_MODRM),
	/* XCHG with memory locks whether LOCK is there or not. */
	[0x86] = I(XCHG, RM, REG, BML),	[0x87] = I(XCHG, RM, REG, ML),
	[0x88] = I(MOV, RM, REG, BM),	[0x89] = I(MOV, RM, REG, F_MODRM),
	[0x8a] = I(MOV, REG, RM, BM),	[0x8b] = I(MOV, REG, RM, F_MODRM),
	[0xa0] = I(MOV, ACC, MOFFS, F_BYTE),
	[0xa1] = I(MOV, ACC, MOFFS, 0),
	[0xa2] = I(MOV, MOFFS, ACC, F_BYTE),
	[0xa3] = I(MOV, MOFFS, ACC, 0),
	[0xa4] = I(MOV, DI, SI, BSTR),	[0xa5] = I(MOV, DI, SI, STR),
	/* CMPS compares [rSI] with [rDI]: rSI is the minuend. */
	[0xa6] = I(CMP, SI, DI, BSTR),	[0xa7] = I(CMP, SI, DI, STR),
	[0xaa] = I(MOV, DI, ACC, BSTR),	[0xab] = I(MOV, DI, ACC, STR),
	[0xac] = I(MOV, ACC, SI, BSTR),	[0xad] = I(MOV, ACC, SI, STR),
	[0xae] = I(CMP, ACC, DI, BSTR),	[0xaf] = I(CMP, ACC, DI, STR),
	[0xc6] = G(X86_GRP11, RM, IMM, F_BYTE),
	[0xc7] = G(X86_GRP11, RM, IMM, 0),
	[0xf6] = G(X86_GRP3, RM, NONE, F_BYTE),
	[0xf7] = G(X86_GRP3, RM, NONE, 0),
	[0xfe] = G(X86_GRP4, RM, NONE, F_BYTE),
	[0xff] = G(X86_GRP5, RM, NONE, 0),
};

#define TB	F_TWOBYTE

static const struct x86_opcode x86_twobyte[256] = {
	[0xa3] = I(BT, RM, REG, F_MODRM | TB),
	[0xab] = I(BTS, RM, REG, ML | TB),
	[0xb3] = I(BTR, RM, REG, ML | TB),
	[0xbb] = I(BTC, RM, REG, ML | TB),
	[0xba] = G(X86_GRP8, RM, IMM8, TB),
	/* MOVZX, MOVSX */
	[0xb6] = I(MOV, REG, RM, F_MODRM | F_SRC8 | TB),
	[0xb7] = I(MOV, REG, RM, F_MODRM | F_SRC16 | TB),
	[0xbe] = I(MOVSX, REG, RM, F_MODRM | F_SRC8 | TB),
	[0xbf] = I(MOVSX, REG, RM, F_MODRM | F_SRC16 | TB),
	[0xc0] = I(XADD, RM, REG, BML | TB),
	[0xc1] = I(XADD, RM, REG, ML | TB),
	/* MOVNTI: the non-temporal hint means nothing to a device. */
	[0xc3] = I(MOV, RM, REG, F_MODRM | F_NO66 | TB),
};

/* --- the operations ------------------------------------------------------- */

static u64 x86_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static u64 x86_sign(unsigned int size)
{
	return 1ULL << (size * 8 - 1);
}

static u64 x86_sext(u64 v, unsigned int size)
{
	u64 sign = x86_sign(size);

	v &= x86_mask(size);
	return (v ^ sign) - sign;
}

/* SF, ZF and PF of a result (PF: an even number of ones in its low byte). */
static u64 x86_szp(u64 r, unsigned int size)
{
	u8 p = r;
	u64 f = 0;

	r &= x86_mask(size);
	if (r & x86_sign(size))
		f |= X86_EFLAGS_SF;
	if (!r)
		f |= X86_EFLAGS_ZF;
	p ^= p >> 4;
	p ^= p >> 2;
	p ^= p >> 1;
	if (!(p & 1))
		f |= X86_EFLAGS_PF;
	return f;
}

/* d + s + c, or d - s - c: the result and all six arithmetic flags. */
static u64 x86_arith(u64 d, u64 s, bool c, bool sub, unsigned int size,
		     u64 *flags)
{
	u64 m = x86_mask(size), r, f;
	bool cf, of;

	d &= m;
	s &= m;
	if (sub) {
		r = (d - s - c) & m;
		cf = d < s || (c && d == s);
		of = (d ^ s) & (d ^ r) & x86_sign(size);
	} else {
		r = (d + s + c) & m;
		cf = r < d || (c && r == d);
		of = ~(d ^ s) & (d ^ r) & x86_sign(size);
	}
	f = x86_szp(r, size) | ((d ^ s ^ r) & X86_EFLAGS_AF);
	if (cf)
		f |= X86_EFLAGS_CF;
	if (of)
		f |= X86_EFLAGS_OF;
	*flags = (*flags & ~X86_FLAGS_ARITH) | f;
	return r;
}

/* AND, OR, XOR, TEST: CF and OF clear; AF, undefined, clear too. */
static u64 x86_logic(u64 r, unsigned int size, u64 *flags)
{
	*flags = (*flags & ~X86_FLAGS_ARITH) | x86_szp(r, size);
	return r;
}

static u64 x86_op_mov(u64 d, u64 s, unsigned int size, u64 *flags)
{
	return s;
}

static u64 x86_op_add(u64 d, u64 s, unsigned int size, u64 *flags)
{
	return x86_arith(d, s, false, false, size, flags);
}

static u64 x86_op_adc(u64 d, u64 s, unsigned int size, u64 *flags)
{
	return x86_arith(d, s, *flags & X86_EFLAGS_CF, false, size, flags);
}

static u64 x86_op_sub(u64 d, u64 s, unsigned int size, u64 *flags)
{
	return x86_arith(d, s, false, true, size, flags);
}

static u64 x86_op_sbb(u64 d, u64 s, unsigned int size, u64 *flags)
{
	return x86_arith(d, s, *flags & X86_EFLAGS_CF, true, size, flags);
}

static u64 x86_op_and(u64 d, u64 s, unsigned int size, u64 *flags)
{
	return x86_logic(d & s, size, flags);
}

static u64 x86_op_or(u64 d, u64 s, unsigned int size, u64 *flags)
{
	return x86_logic(d | s, size, flags);
}

static u64 x86_op_xor(u64 d, u64 s, unsigned int size, u64 *flags)
{
	return x86_logic(d ^ s, size, flags);
}

static u64 x86_op_not(u64 d, u64 s, unsigned int size, u64 *flags)
{
	return ~d;
}

static u64 x86_op_neg(u64 d, u64 s, unsigned int size, u64 *flags)
{
	return x86_arith(0, d, false, true, size, flags);
}

/* INC and DEC leave CF as it was. */
static u64 x86_op_inc(u64 d, u64 s, unsigned int size, u64 *flags)
{
	u64 cf = *flags & X86_EFLAGS_CF;
	u64 r = x86_arith(d, 1, false, false, size, flags);

	*flags = (*flags & ~X86_EFLAGS_CF) | cf;
	return r;
}

static u64 x86_op_dec(u64 d, u64 s, unsigned int size, u64 *flags)
{
	u64 cf = *flags & X86_EFLAGS_CF;
	u64 r = x86_arith(d, 1, false, true, size, flags);

	*flags = (*flags & ~X86_EFLAGS_CF) | cf;
	return r;
}

/*
 * BT and friends: CF is the bit; the other flags are undefined and stay
 * as they were.  s is the bit's offset within d (see x86_bit_offset()).
 */
static u64 x86_bt(u64 d, u64 s, unsigned int size, u64 *flags)
{
	unsigned int bit = s & (size * 8 - 1);

	*flags &= ~X86_EFLAGS_CF;
	if ((d >> bit) & 1)
		*flags |= X86_EFLAGS_CF;
	return 1ULL << bit;
}

static u64 x86_op_bt(u64 d, u64 s, unsigned int size, u64 *flags)
{
	x86_bt(d, s, size, flags);
	return d;
}

static u64 x86_op_bts(u64 d, u64 s, unsigned int size, u64 *flags)
{
	return d | x86_bt(d, s, size, flags);
}

static u64 x86_op_btr(u64 d, u64 s, unsigned int size, u64 *flags)
{
	return d & ~x86_bt(d, s, size, flags);
}

static u64 x86_op_btc(u64 d, u64 s, unsigned int size, u64 *flags)
{
	return d ^ x86_bt(d, s, size, flags);
}

/* How an operation uses its operands. */
#define X_READ		0x01	/* the destination is an input */
#define X_NOWB		0x02	/* the destination is not written */
#define X_SWAP		0x04	/* the source gets the destination's value */
#define X_SEXT		0x08	/* the source is sign-extended */
#define X_BITS		0x10	/* a bit offset (a register's moves memory) */

struct x86_exec {
	u64 (*fn)(u64 d, u64 s, unsigned int size, u64 *flags);
	u8 how;
};

static const struct x86_exec x86_execs[X86_NR_OPS] = {
	[X86_OP_MOV] = { x86_op_mov, 0 },
	[X86_OP_MOVSX] = { x86_op_mov, X_SEXT },
	[X86_OP_ADD] = { x86_op_add, X_READ },
	[X86_OP_OR] = { x86_op_or, X_READ },
	[X86_OP_ADC] = { x86_op_adc, X_READ },
	[X86_OP_SBB] = { x86_op_sbb, X_READ },
	[X86_OP_AND] = { x86_op_and, X_READ },
	[X86_OP_SUB] = { x86_op_sub, X_READ },
	[X86_OP_XOR] = { x86_op_xor, X_READ },
	[X86_OP_CMP] = { x86_op_sub, X_READ | X_NOWB },
	[X86_OP_TEST] = { x86_op_and, X_READ | X_NOWB },
	[X86_OP_NOT] = { x86_op_not, X_READ },
	[X86_OP_NEG] = { x86_op_neg, X_READ },
	[X86_OP_INC] = { x86_op_inc, X_READ },
	[X86_OP_DEC] = { x86_op_dec, X_READ },
	[X86_OP_XCHG] = { x86_op_mov, X_READ | X_SWAP },
	[X86_OP_XADD] = { x86_op_add, X_READ | X_SWAP },
	[X86_OP_BT] = { x86_op_bt, X_READ | X_NOWB | X_BITS },
	[X86_OP_BTS] = { x86_op_bts, X_READ | X_BITS },
	[X86_OP_BTR] = { x86_op_btr, X_READ | X_BITS },
	[X86_OP_BTC] = { x86_op_btc, X_READ | X_BITS },
};

/* --- decoding --------------------------------------------------------------- */

/* An operand, decoded. */
struct x86_operand {
	u8 kind;		/* enum x86_opnd */
	u8 size;
	u8 reg;			/* a register's number */
	bool high;		/* AH, CH, DH, BH */
	bool mem;
	u64 la;			/* memory: the linear address */
	u64 val;
};

struct x86_insn {
	struct x86_opcode o;
	unsigned int pos;	/* bytes decoded */
	u8 opsize, asize;
	u8 rex;
	u8 rep;			/* 0, 0xf2 or 0xf3 */
	int seg;		/* an override, or -1 */
	bool opsize_prefix, asize_prefix, lock;
	/* ModRM's memory operand. */
	u8 modrm;
	u64 ea;
	int ea_seg;
	bool rip_rel;
	u64 imm;
};

static bool x86_byte(const struct x86_emul_ctxt *c, struct x86_insn *d,
		     u8 *b)
{
	if (d->pos >= c->cache->insn_n || d->pos >= X86_EMUL_MAX_INSN)
		return false;
	*b = c->cache->insn[d->pos++];
	return true;
}

/* A little-endian field of size bytes, sign-extended when sext. */
static bool x86_field(const struct x86_emul_ctxt *c, struct x86_insn *d,
		      unsigned int size, bool sext, u64 *v)
{
	unsigned int i;
	u8 b;

	*v = 0;
	for (i = 0; i < size; i++) {
		if (!x86_byte(c, d, &b))
			return false;
		*v |= (u64)b << (8 * i);
	}
	if (sext)
		*v = x86_sext(*v, size);
	return true;
}

static bool x86_is64(const struct x86_emul_ctxt *c)
{
	return c->mode == X86_EMUL_PROT64;
}

/* Legacy prefixes and REX; false when they run past the bytes. */
static bool x86_prefixes(const struct x86_emul_ctxt *c, struct x86_insn *d,
			 u8 *b)
{
	for (;;) {
		if (!x86_byte(c, d, b))
			return false;
		switch (*b) {
		case 0x66:
			d->opsize_prefix = true;
			break;
		case 0x67:
			d->asize_prefix = true;
			break;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			d->seg = (*b >> 3) & 3;		/* ES, CS, SS, DS */
			break;
		case 0x64: case 0x65:
			d->seg = X86_EMUL_FS + (*b & 1);
			break;
		case 0xf0:
			d->lock = true;
			break;
		case 0xf2: case 0xf3:
			d->rep = *b;
			break;
		default:
			/* REX counts only right before the opcode. */
			if (x86_is64(c) && (*b & 0xf0) == 0x40) {
				d->rex = *b;
				continue;
			}
			return true;
		}
		d->rex = 0;
	}
}

/* The ModRM memory operand's effective address, 16-bit forms. */
static bool x86_modrm16(const struct x86_emul_ctxt *c, struct x86_insn *d,
			u8 mod, u8 rm)
{
	static const s8 base[8] = { X86_RBX, X86_RBX, X86_RBP, X86_RBP,
				    -1, -1, X86_RBP, X86_RBX };
	static const s8 index[8] = { X86_RSI, X86_RDI, X86_RSI, X86_RDI,
				     X86_RSI, X86_RDI, -1, -1 };
	u64 disp = 0;

	d->ea_seg = X86_EMUL_DS;
	if (mod == 0 && rm == 6) {
		if (!x86_field(c, d, 2, false, &disp))
			return false;
	} else {
		if (base[rm] >= 0)
			d->ea += c->regs[base[rm]];
		if (index[rm] >= 0)
			d->ea += c->regs[index[rm]];
		if (base[rm] == X86_RBP)
			d->ea_seg = X86_EMUL_SS;
		if (mod && !x86_field(c, d, mod == 1 ? 1 : 2, true, &disp))
			return false;
	}
	d->ea = (d->ea + disp) & 0xffff;
	return true;
}

/* 32 and 64-bit forms: SIB, disp8, disp32, RIP-relative. */
static bool x86_modrm32(const struct x86_emul_ctxt *c, struct x86_insn *d,
			u8 mod, u8 rm)
{
	int base = rm | ((d->rex & 1) << 3);
	u64 disp = 0;
	u8 sib;

	d->ea_seg = X86_EMUL_DS;
	if (rm == 4) {
		int index;

		if (!x86_byte(c, d, &sib))
			return false;
		index = ((sib >> 3) & 7) | ((d->rex & 2) << 2);
		base = (sib & 7) | ((d->rex & 1) << 3);
		if (index != X86_RSP)
			d->ea += c->regs[index] << (sib >> 6);
		if (mod == 0 && (sib & 7) == 5)
			base = -1;		/* disp32, no base */
	} else if (mod == 0 && rm == 5) {
		base = -1;
		d->rip_rel = x86_is64(c);
	}
	if (base >= 0) {
		d->ea += c->regs[base];
		if (base == X86_RSP || base == X86_RBP)
			d->ea_seg = X86_EMUL_SS;
	}
	if (mod == 1 && !x86_field(c, d, 1, true, &disp))
		return false;
	if ((mod == 2 || base < 0) && !x86_field(c, d, 4, true, &disp))
		return false;
	d->ea += disp;
	return true;
}

/* The operation's row, its prefixes checked against it. */
static bool x86_decode(const struct x86_emul_ctxt *c, struct x86_insn *d)
{
	const struct x86_opcode *row;
	u8 b, mod, rm;
	bool def16;

	d->seg = -1;
	if (!x86_prefixes(c, d, &b))
		return false;
	if (b == 0x0f) {
		if (!x86_byte(c, d, &b))
			return false;
		row = &x86_twobyte[b];
	} else {
		row = &x86_onebyte[b];
	}
	d->o = *row;
	if (row->flags & F_MODRM) {
		if (!x86_byte(c, d, &d->modrm))
			return false;
	}
	if (row->flags & F_GROUP) {
		const struct x86_opcode *g;

		g = &x86_groups[row->group][(d->modrm >> 3) & 7];
		d->o.op = g->op;
		d->o.flags |= g->flags;
		if (g->dst)
			d->o.dst = g->dst;
		if (g->src)
			d->o.src = g->src;
	}
	if (d->o.op == X86_OP_NONE ||
	    ((d->o.flags & F_NO64) && x86_is64(c)) ||
	    ((d->o.flags & F_ONLY64) && !x86_is64(c)) ||
	    ((d->o.flags & F_NO66) && d->opsize_prefix) ||
	    ((d->o.flags & F_TWOBYTE) && d->rep) ||
	    (d->lock && !(d->o.flags & F_LOCK)))
		return false;

	/* Operand and address sizes, as the mode and the prefixes make them. */
	def16 = c->mode == X86_EMUL_REAL || c->mode == X86_EMUL_PROT16;
	if (d->o.flags & F_BYTE)
		d->opsize = 1;
	else if (d->rex & 8)
		d->opsize = 8;
	else
		d->opsize = (def16 != d->opsize_prefix) ? 2 : 4;
	if (x86_is64(c))
		d->asize = d->asize_prefix ? 4 : 8;
	else
		d->asize = (def16 != d->asize_prefix) ? 2 : 4;

	if (d->o.dst == X86_OPND_RM || d->o.src == X86_OPND_RM) {
		mod = d->modrm >> 6;
		rm = d->modrm & 7;
		if (mod == 3)		/* a register: no memory to emulate */
			return false;
		if (d->asize == 2 ? !x86_modrm16(c, d, mod, rm) :
				    !x86_modrm32(c, d, mod, rm))
			return false;
	}
	/* Immediates follow the ModRM bytes; moffs takes the address size. */
	if (d->o.src == X86_OPND_IMM &&
	    !x86_field(c, d, d->opsize < 4 ? d->opsize : 4, true, &d->imm))
		return false;
	if (d->o.src == X86_OPND_IMM8 && !x86_field(c, d, 1, true, &d->imm))
		return false;
	if ((d->o.src == X86_OPND_MOFFS || d->o.dst == X86_OPND_MOFFS) &&
	    !x86_field(c, d, d->asize, false, &d->ea))
		return false;
	if (d->o.src == X86_OPND_MOFFS || d->o.dst == X86_OPND_MOFFS)
		d->ea_seg = X86_EMUL_DS;
	/* RIP-relative: from the end of the instruction. */
	if (d->rip_rel)
		d->ea += c->rip + d->pos;
	d->ea &= x86_mask(d->asize);
	return true;
}

/* --- operands --------------------------------------------------------------- */

static u64 x86_linear(const struct x86_emul_ctxt *c, int seg, u64 ea)
{
	/* 64-bit mode: only FS and GS have a base. */
	if (x86_is64(c))
		return seg >= X86_EMUL_FS ? c->seg_base[seg] + ea : ea;
	return (c->seg_base[seg] + ea) & 0xffffffff;
}

/* The register operand reg of size bytes (AH..BH without REX). */
static void x86_reg_operand(const struct x86_insn *d, struct x86_operand *op,
			    unsigned int reg)
{
	op->reg = reg;
	if (op->size == 1 && !d->rex && reg >= 4 && reg < 8) {
		op->reg = reg - 4;
		op->high = true;
	}
}

static u64 x86_index(const struct x86_emul_ctxt *c, const struct x86_insn *d,
		     int reg)
{
	return c->regs[reg] & x86_mask(d->asize);
}

static void x86_operand(const struct x86_emul_ctxt *c,
			const struct x86_insn *d, u8 kind, unsigned int size,
			struct x86_operand *op)
{
	op->kind = kind;
	op->size = size;
	switch (kind) {
	case X86_OPND_REG:
		x86_reg_operand(d, op, ((d->modrm >> 3) & 7) |
				       ((d->rex & 4) << 1));
		break;
	case X86_OPND_ACC:
		op->reg = X86_RAX;
		break;
	case X86_OPND_RM:
	case X86_OPND_MOFFS:
		op->mem = true;
		op->la = x86_linear(c, d->seg >= 0 ? d->seg : d->ea_seg, d->ea);
		break;
	case X86_OPND_SI:
		op->mem = true;
		op->la = x86_linear(c, d->seg >= 0 ? d->seg : X86_EMUL_DS,
				    x86_index(c, d, X86_RSI));
		break;
	case X86_OPND_DI:
		op->mem = true;		/* ES, whatever the override */
		op->la = x86_linear(c, X86_EMUL_ES, x86_index(c, d, X86_RDI));
		break;
	case X86_OPND_IMM:
	case X86_OPND_IMM8:
		op->val = d->imm & x86_mask(size);
		break;
	}
}

static u64 x86_reg_get(const struct x86_emul_ctxt *c,
		       const struct x86_operand *op)
{
	u64 v = c->regs[op->reg];

	return (op->high ? v >> 8 : v) & x86_mask(op->size);
}

/* A register write as the CPU does it: 32-bit results zero-extend. */
static void x86_reg_set(struct x86_emul_ctxt *c, const struct x86_operand *op,
			u64 v)
{
	unsigned long *r = &c->regs[op->reg];

	switch (op->size) {
	case 1:
		if (op->high)
			*r = (*r & ~0xff00UL) | (v & 0xff) << 8;
		else
			*r = (*r & ~0xffUL) | (v & 0xff);
		break;
	case 2:
		*r = (*r & ~0xffffUL) | (v & 0xffff);
		break;
	case 4:
		*r = (u32)v;
		break;
	default:
		*r = v;
		break;
	}
}

/*
 * A memory read: an MMIO read answered before comes from the cache, even
 * if its memory is RAM by now (a slot added meanwhile: the answer was the
 * device's, as KVM's read cache gives it); other reads go to RAM, or out
 * to userspace as MMIO.
 */
static int x86_mem_read(struct x86_emul_ctxt *c, unsigned int *nr_mmio,
			struct x86_operand *op)
{
	struct x86_emul_cache *k = c->cache;
	u64 gpa = 0, v = 0;
	int r;

	if (*nr_mmio < k->nr_reads && k->read_la[*nr_mmio] == op->la) {
		op->val = k->read_data[(*nr_mmio)++] & x86_mask(op->size);
		return X86_EMUL_DONE;
	}
	r = c->ops->read(c->opaque, op->la, &v, op->size, &gpa);
	if (r == X86_EMUL_MMIO) {
		if (*nr_mmio >= X86_EMUL_MAX_READS)
			return X86_EMUL_FAILED;
		/* A read not seen before: later answers no longer apply. */
		k->nr_reads = *nr_mmio;
		k->read_la[*nr_mmio] = op->la;
		c->mmio.gpa = gpa;
		c->mmio.len = op->size;
		c->mmio.write = false;
		c->mmio.data = 0;
	}
	op->val = v & x86_mask(op->size);
	return r;
}

static int x86_get(struct x86_emul_ctxt *c, unsigned int *nr_mmio,
		   struct x86_operand *op)
{
	if (op->mem)
		return x86_mem_read(c, nr_mmio, op);
	if (op->kind == X86_OPND_REG || op->kind == X86_OPND_ACC)
		op->val = x86_reg_get(c, op);
	return X86_EMUL_DONE;
}

/*
 * A register bit offset reaches past the operand: it moves the memory
 * operand by whole operands, and the rest is the offset within.
 */
static void x86_bit_offset(struct x86_operand *dst, struct x86_operand *src)
{
	unsigned int bits = dst->size * 8;
	s64 off = x86_sext(src->val, src->size);
	s64 units = off >= 0 ? off / bits : -((-off + bits - 1) / bits);

	dst->la += units * dst->size;
	src->val = off - units * bits;
}

/* After a string element: rSI and rDI step by the element, down if DF. */
static void x86_string_step(struct x86_emul_ctxt *c, const struct x86_insn *d,
			    int reg)
{
	u64 m = x86_mask(d->asize);
	unsigned long *r = &c->regs[reg];
	s64 step = (c->rflags & X86_EFLAGS_DF) ? -d->opsize : d->opsize;

	*r = (*r & ~m) | ((*r + step) & m);
}

/*
 * Emulate the instruction of c->cache at c->rip.  X86_EMUL_DONE: commit
 * c->regs, c->rflags and c->rip.  X86_EMUL_MMIO: c->mmio is the access for
 * userspace; a write is the instruction's last step, so commit as for
 * DONE; a read commits nothing, and its answer goes to the cache before
 * the instruction runs again.  X86_EMUL_FAILED: not emulated.
 */
int x86_emulate(struct x86_emul_ctxt *c)
{
	const struct x86_exec *x;
	struct x86_operand dst = {}, src = {};
	struct x86_insn d = {};
	unsigned int nr_mmio = 0, src_size;
	bool more = false;
	u64 count = 0, res, flags, gpa = 0;
	int r;

	if (!x86_decode(c, &d))
		return X86_EMUL_FAILED;
	c->insn_len = d.pos;
	x = &x86_execs[d.o.op];

	src_size = d.opsize;
	if (d.o.flags & F_SRC8)
		src_size = 1;
	else if (d.o.flags & F_SRC16)
		src_size = 2;
	else if (d.o.flags & F_SRC32)
		src_size = 4;
	if (src_size > d.opsize)	/* MOVSXD of 16 bits: a MOV */
		src_size = d.opsize;
	x86_operand(c, &d, d.o.dst, d.opsize, &dst);
	x86_operand(c, &d, d.o.src, src_size, &src);
	if (!dst.mem && !src.mem)
		return X86_EMUL_FAILED;

	/* REP: no element at all when the count is 0. */
	if ((d.o.flags & F_STRING) && d.rep) {
		count = x86_index(c, &d, X86_RCX);
		if (!count) {
			c->rip += d.pos;
			return X86_EMUL_DONE;
		}
	}

	r = x86_get(c, &nr_mmio, &src);
	if (r != X86_EMUL_DONE)
		return r;
	if (x->how & X_SEXT)
		src.val = x86_sext(src.val, src.size) & x86_mask(dst.size);
	if ((x->how & X_BITS) && src.kind == X86_OPND_REG && dst.mem)
		x86_bit_offset(&dst, &src);
	if (x->how & X_READ) {
		r = x86_get(c, &nr_mmio, &dst);
		if (r != X86_EMUL_DONE)
			return r;
	}

	flags = c->rflags;
	res = x->fn(dst.val, src.val, dst.size, &flags) & x86_mask(dst.size);
	c->rflags = flags;

	/* Registers first: the memory write, if any, is the last step. */
	if (x->how & X_SWAP)
		x86_reg_set(c, &src, dst.val);
	if (!(x->how & X_NOWB) && !dst.mem)
		x86_reg_set(c, &dst, res);

	if (d.o.flags & F_STRING) {
		if (d.o.src == X86_OPND_SI || d.o.dst == X86_OPND_SI)
			x86_string_step(c, &d, X86_RSI);
		if (d.o.src == X86_OPND_DI || d.o.dst == X86_OPND_DI)
			x86_string_step(c, &d, X86_RDI);
		if (d.rep) {
			u64 m = x86_mask(d.asize);
			unsigned long *rcx = &c->regs[X86_RCX];
			bool zf = c->rflags & X86_EFLAGS_ZF;

			*rcx = (*rcx & ~m) | ((count - 1) & m);
			more = count > 1;
			/*
			 * CMPS, SCAS: REPE stops on a difference, REPNE
			 * on a match.
			 */
			if (x->how & X_NOWB)
				more = more && (d.rep == 0xf3 ? zf : !zf);
		}
	}
	if (!more)
		c->rip += d.pos;

	if (x->how & X_NOWB || !dst.mem)
		return X86_EMUL_DONE;
	r = c->ops->write(c->opaque, dst.la, &res, dst.size, &gpa);
	if (r == X86_EMUL_MMIO) {
		c->mmio.gpa = gpa;
		c->mmio.len = dst.size;
		c->mmio.write = true;
		c->mmio.data = res;
	}
	return r;
}
