// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: the guest's debug registers.
 *
 * Every MOV to or from a debug register exits, on SVM and on VMX, and
 * every #DB is intercepted: the guest never reads the host's breakpoints
 * and never leaves its own armed in the host, and a #DB that raises
 * another #DB while it is delivered (CVE-2015-8104) exits each time
 * instead of looping in the CPU.  DR0-DR3 live in struct x86_vcpu and are
 * loaded into the CPU only for entries whose DR7 arms one of them; the
 * host's come back after the exit (x86_switch_to_host()).  DR6 and DR7
 * are the backend's (the VMCB's save area; on VMX, DR7 in the VMCS and
 * DR6 in x86_vcpu, since the CPU's DR6 is never the guest's).
 */
#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/processor.h>
#include <asm/debugreg.h>
#include <asm/traps.h>

#include "../../axvcpu_host.h"
#include "x86.h"

/* DR6: what the guest may change; the rest reads as the reset value. */
#define X86_DR6_VOLATILE	(DR_TRAP_BITS | DR_STEP | DR_SWITCH | \
				 X86_DR6_BD)
#define X86_DR7_GD		BIT(13)

/* The guest's breakpoints, or the debugger's (KVM_GUESTDBG_USE_HW_BP). */
void x86_load_guest_db(const struct x86_vcpu *x)
{
	const u64 *db = x->gdbg.control & KVM_GUESTDBG_USE_HW_BP ?
			x->gdbg.db : x->db;

	set_debugreg(db[0], 0);
	set_debugreg(db[1], 1);
	set_debugreg(db[2], 2);
	set_debugreg(db[3], 3);
}

/*
 * The DR7 to load in the host just before entry, or 0.  QEMU's emulated
 * SVM (7.2; fixed in 9.1) takes the VMCB's DR7 at VMRUN without arming
 * what it enables: its breakpoints are armed only by a MOV to DR7 (or to
 * an enabled DR0-DR3) before it.  So, under a hypervisor (on bare metal
 * VMRUN does it), the host loads the guest's DR7 itself, with GIF clear,
 * and its own back right after the exit; only for breakpoints on the user
 * half of the address space, which the host's code in between never
 * fetches or touches.
 */
u64 x86_emulator_dr7(const struct x86_vcpu *x, u64 dr7)
{
	const u64 *db = x->gdbg.control & KVM_GUESTDBG_USE_HW_BP ?
			x->gdbg.db : x->db;
	int i;

	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR))
		return 0;
	for (i = 0; i < 4; i++)
		if ((dr7 & (3 << (i * 2))) && db[i] >= TASK_SIZE_MAX)
			return 0;
	return (u32)dr7;
}

/*
 * A #DB reaches the guest: B0-B3 say which breakpoints hit this time, BD,
 * BS and BT stay set until the guest clears them; GD goes off, as the CPU
 * does.
 */
void x86_deliver_db(u64 *dr6, u64 *dr7, u64 bits)
{
	*dr6 = (*dr6 & ~(u64)DR_TRAP_BITS) | X86_RESET_DR6 |
	       (bits & X86_DR6_VOLATILE);
	*dr7 &= ~X86_DR7_GD;
}

/* The operand and address size and segment prefixes before an opcode. */
int x86_skip_prefixes(const u8 *insn, int n)
{
	int i = 0;

	while (i < n && (insn[i] == 0x66 || insn[i] == 0x67 ||
			 insn[i] == 0x2e || insn[i] == 0x36 ||
			 insn[i] == 0x3e || insn[i] == 0x26 ||
			 insn[i] == 0x64 || insn[i] == 0x65))
		i++;
	return i;
}

/*
 * Decode MOV DRn, reg (0f 21) or MOV reg, DRn (0f 23) at the guest's RIP,
 * for an SVM without decode assists.  ModRM's mod is ignored: the operand
 * is always a register.
 */
bool x86_decode_mov_dr(struct axvcpu_vm *vm, const struct x86_cpu_mode *m,
		       struct x86_dr_access *a, u8 *len)
{
	bool long_mode = (m->efer & EFER_LMA) && m->cs_l;
	u8 insn[X86_MAX_INSN], rex = 0;
	int n = x86_fetch(vm, m, insn), i = x86_skip_prefixes(insn, n);

	if (long_mode && i < n && (insn[i] & 0xf0) == 0x40)
		rex = insn[i++];
	if (i + 3 > n || insn[i] != 0x0f ||
	    (insn[i + 1] != 0x21 && insn[i + 1] != 0x23))
		return false;
	a->write = insn[i + 1] == 0x23;
	a->dr = (insn[i + 2] >> 3) & 7;
	a->gpr = (insn[i + 2] & 7) | ((rex & 1) ? 8 : 0);
	*len = i + 3;
	return true;
}

/*
 * KVM_GET/SET_DEBUGREGS: DR0-DR3, DR6 and DR7 as KVM keeps them (set as
 * given, but for the bits above 31 of DR6 and DR7, which VM entry
 * refuses).
 */
long x86_debugregs_ioctl(struct x86_vcpu *x, u64 *dr6, u64 *dr7,
			 unsigned int ioctl, void __user *argp)
{
	struct kvm_debugregs d;

	if (ioctl == KVM_GET_DEBUGREGS) {
		memset(&d, 0, sizeof(d));
		memcpy(d.db, x->db, sizeof(d.db));
		d.dr6 = *dr6;
		d.dr7 = *dr7;
		return copy_to_user(argp, &d, sizeof(d)) ? -EFAULT : 0;
	}
	if (copy_from_user(&d, argp, sizeof(d)))
		return -EFAULT;
	if (d.flags || (d.dr6 >> 32) || (d.dr7 >> 32))
		return -EINVAL;
	memcpy(x->db, d.db, sizeof(x->db));
	*dr6 = d.dr6;
	*dr7 = d.dr7;
	return 0;
}

/*
 * Emulate the MOV.  Returns -1 when done (the caller steps over it), or
 * the exception the CPU would raise instead: #GP outside ring 0 or for
 * reserved bits, #UD for DR4/DR5 with CR4.DE, #DB with DR7.GD (DR6.BD is
 * then set and GD cleared, as the CPU does); X86_DR_DEBUG_EXIT when that
 * GD is the debugger's (KVM_GUESTDBG_USE_HW_BP).  dr6 and dr7 are the
 * CPU's; the guest's DR7 may be elsewhere meanwhile (x86_guest_dr7()).
 */
int x86_mov_dr(struct x86_vcpu *x, const struct x86_dr_access *a,
	       const struct x86_cpu_mode *m, u8 cpl, u64 *dr6, u64 *dr7)
{
	bool long_mode = (m->efer & EFER_LMA) && m->cs_l;
	unsigned long *reg = &x->regs[a->gpr];
	unsigned int dr = a->dr;
	u64 val;

	if (cpl)
		return X86_TRAP_GP;
	if (dr == 4 || dr == 5) {
		if (m->cr4 & X86_CR4_DE)
			return X86_TRAP_UD;
		dr += 2;
	}
	if (*dr7 & X86_DR7_GD) {
		if (x->gdbg.control & KVM_GUESTDBG_USE_HW_BP)
			return X86_DR_DEBUG_EXIT;
		x86_deliver_db(dr6, dr7, X86_DR6_BD);
		return X86_TRAP_DB;
	}
	dr7 = x86_guest_dr7(x, dr7);
	if (!a->write) {
		val = dr < 4 ? x->db[dr] : dr == 6 ? *dr6 : *dr7;
		*reg = long_mode ? val : (u32)val;
		return -1;
	}
	val = long_mode ? *reg : (u32)*reg;
	if (dr < 4) {
		x->db[dr] = val;
	} else {
		if (val >> 32)
			return X86_TRAP_GP;
		if (dr == 6)
			*dr6 = (val & X86_DR6_VOLATILE) | X86_RESET_DR6;
		else
			*dr7 = (val & X86_DR7_VOLATILE) | X86_DR7_FIXED_1;
	}
	return -1;
}
