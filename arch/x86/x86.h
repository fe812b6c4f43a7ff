/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: what the x86 backends share.
 */
#ifndef AXVCPU_X86_H
#define AXVCPU_X86_H

struct axvcpu_arch_ops;

#include <linux/atomic.h>
#include <linux/kvm.h>
#include <linux/list.h>
#include <linux/types.h>
#include <asm/cpufeature.h>
#include <asm/processor.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/kvm_vcpu_regs.h>
#include <asm/mce.h>
#include <asm/nospec-branch.h>
#include <asm/special_insns.h>
#include <asm/svm.h>

#include "../../axvcpu_host.h"
#include "emulate.h"

struct axvcpu_vm;
struct axvcpu_vcpu;
struct axvcpu_memslot;
struct x86_lapic;
struct x86_sregs_ops;

/* The segment registers of SEG_* order, as struct kvm_sregs has them. */
enum x86_seg { X86_SEG_ES, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS,
	       X86_SEG_GS, X86_NR_DATA_SEGS };

/*
 * What decoding a guest instruction needs to know of the guest's mode.
 * seg_base: ES, CS, SS, DS, FS, GS, the order of the hardware's segment
 * numbers (SVM's IOIO and VMX's instruction information both use it).
 */
struct x86_cpu_mode {
	u64 cr0, cr3, cr4, efer;
	u64 cs_base, rip, rflags;
	u64 seg_base[X86_NR_DATA_SEGS];
	bool cs_l, cs_db;
};

/*
 * The segment registers, descriptor tables included, in the format and
 * order of the VMCB's save area (SVM keeps them there; VMX converts its
 * access rights to SVM's attributes when it reads them).
 */
struct x86_segs {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr;
};

/* Segment attributes of the reset state, in the VMCB's format. */
#define X86_SEG_CODE		(SVM_SELECTOR_P_MASK | SVM_SELECTOR_S_MASK | \
				 SVM_SELECTOR_READ_MASK | SVM_SELECTOR_CODE_MASK)
#define X86_SEG_DATA		(SVM_SELECTOR_P_MASK | SVM_SELECTOR_S_MASK | \
				 SVM_SELECTOR_WRITE_MASK)
#define X86_SEG_LDT		(SVM_SELECTOR_P_MASK | 2)
#define X86_SEG_TSS16_BUSY	(SVM_SELECTOR_P_MASK | 3)

/* Reset values of the x86 architecture, as KVM gives them. */
#define X86_RESET_CR0		(X86_CR0_NW | X86_CR0_CD | X86_CR0_ET)
#define X86_RESET_DR6		0xffff0ff0ULL
#define X86_RESET_DR7		0x400ULL
#define X86_RESET_PAT		0x0007040600070406ULL

/* The control registers as KVM_GET_SREGS reports them. */
struct x86_crs {
	u64 cr0, cr2, cr3, cr4, cr8, efer;
};

/* What the next KVM_RUN completes with userspace's answer. */
enum x86_pending {
	X86_PENDING_NONE,
	X86_PENDING_IN,
	X86_PENDING_OUT,	/* nothing to take, RIP to move on */
	X86_PENDING_HYPERCALL,
	X86_PENDING_MMIO,
	X86_PENDING_INS,
	X86_PENDING_RDMSR,	/* KVM_EXIT_X86_RDMSR's answer: msr.c */
	X86_PENDING_WRMSR,
};

/*
 * A string I/O instruction in progress (and the next RIP of an IN, RDMSR
 * or WRMSR that waits for userspace).
 */
struct x86_string_io {
	u64 next_rip;
	u64 la;			/* INS: where the data goes */
	u32 count;		/* elements of this exit */
	u8 asize;		/* address size: 2, 4 or 8 */
	bool rep;
};

/* An I/O instruction that exited, as the hardware reports it. */
struct x86_io {
	u16 port;
	u8 size;		/* 1, 2 or 4 */
	u8 asize;		/* string: 2, 4, 8; 0: not reported */
	u8 seg;			/* string OUTS: the source segment */
	bool in, string, rep;
	u64 next_rip;
};

/* MSRs the guest owns until the CPU returns to user space (uret.c). */
enum x86_uret_msr {
	X86_URET_STAR,
	X86_URET_LSTAR,
	X86_URET_CSTAR,
	X86_URET_SFMASK,
	X86_URET_TSC_AUX,
	X86_NR_URET,
};

#define X86_URET_SYSCALL	(BIT(X86_URET_STAR) | BIT(X86_URET_LSTAR) | \
				 BIT(X86_URET_CSTAR) | BIT(X86_URET_SFMASK))

/* The variable-range MTRRs (MTRRcap.VCNT) and machine-check banks, KVM's. */
#define X86_NR_VAR_MTRR		8
#define X86_MCE_BANKS		32
/* MCG_CAP bits KVM_X86_SETUP_MCE may set (KVM_X86_GET_MCE_CAP_SUPPORTED). */
#define X86_MCE_CAP_SUPPORTED	(MCG_CTL_P | MCG_SER_P)

/* The MSRs msr.c keeps (the backends keep those of their hardware). */
struct x86_msrs {
	u64 apic_base;
	s64 tsc_offset;		/* guest TSC - host TSC */
	u64 tsc_adjust;
	u64 misc_enable;
	u64 power_ctl;
	u64 ucode_rev;
	u64 kvm_wall_clock, kvm_system_time;	/* kvmclock's, never on */
	u64 mtrr_def_type;
	u64 mtrr_fixed[11];
	u64 mtrr_var[2 * X86_NR_VAR_MTRR];	/* base, mask, base, ... */
	u64 mcg_cap, mcg_status, mcg_ctl;
	u64 mce_banks[4 * X86_MCE_BANKS];	/* CTL, STATUS, ADDR, MISC */
	u64 sysenter_cs, sysenter_esp, sysenter_eip;	/* VMX's */
};

/* KVM_SET_GUEST_DEBUG's controls on x86, KVM_CAP_SET_GUEST_DEBUG2's answer. */
#define X86_GUESTDBG_VALID	(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | \
				 KVM_GUESTDBG_USE_SW_BP | \
				 KVM_GUESTDBG_USE_HW_BP | \
				 KVM_GUESTDBG_INJECT_DB | \
				 KVM_GUESTDBG_INJECT_BP | KVM_GUESTDBG_BLOCKIRQ)

/* KVM_SET_GUEST_DEBUG's state (guest_debug.c). */
struct x86_guest_debug {
	u32 control;		/* KVM_GUESTDBG_*; 0 without ENABLE */
	u64 db[4];		/* USE_HW_BP: the debugger's DR0-DR3 */
	u64 dr7;		/* USE_HW_BP: the guest's own DR7 meanwhile */
	u64 singlestep_rip;	/* SINGLESTEP: the linear RIP TF belongs to */
	u8 bp_len;		/* the length of the INT3 of the last #BP exit */
	bool step_owed;		/* a single-step exit after userspace's */
};

/* The part of an x86 vCPU that the backends share. */
struct x86_vcpu {
	unsigned long regs[__VCPU_REGS_R15 + 1];	/* by __VCPU_REGS_* */
	u64 efer;				/* as the guest sees it */
	u64 xcr0;
	enum x86_pending pending;
	u8 pending_size;
	struct x86_emul_cache emul;	/* an MMIO instruction (mmio.c) */
	struct x86_string_io sio;
	/* DR0-DR3: in the CPU only while the guest's DR7 arms one of them. */
	u64 db[4];
	u64 dr6;		/* VMX: the CPU's DR6 stays the host's */
	u64 uret[X86_NR_URET];	/* the guest's values, by enum x86_uret_msr */
	u32 pkru, host_pkru;
	bool pkru_loaded;	/* the guest runs with its own PKRU */
	u64 xcr0_allowed;	/* the host's XCR0 bits its FPU buffer holds */
	bool entered;		/* has been in guest mode: CPUID is fixed */
	bool hypercall_exit;	/* AXVCPU_SETUP_HYPERCALL */
	bool cpuid_set;		/* else CPUID is the host's (axvcpu_x86_cpuid) */
	u32 cpuid_nent;
	struct kvm_cpuid_entry2 *cpuid;	/* KVM_SET_CPUID2's table (cpuid.c) */
	struct x86_msrs msrs;
	struct fpu_guest *gfpu;		/* the backend's (fpu.c) */
	u8 nmi_pending;			/* KVM_NMI's, not yet injected */
	bool tpr_access_reporting;	/* KVM_TPR_ACCESS_REPORTING's */
	struct x86_lapic *apic;		/* with KVM_CREATE_IRQCHIP (lapic.c) */
	bool apic_exit;			/* the run step did not enter (lapic.c) */
	struct x86_guest_debug gdbg;	/* KVM_SET_GUEST_DEBUG's */
};

/* A VM's in-kernel irqchip (KVM_CREATE_IRQCHIP): vm->irqchip. */
struct x86_irqchip {
	struct xarray apics;		/* struct x86_lapic, by vcpu_id */
	struct x86_ioapic *ioapic;	/* ioapic.c */
};

/*
 * An event a backend injects at the next entry, in the layout SVM's
 * EVENTINJ and VMX's VM-entry interruption information share (vector,
 * type, error code valid, valid), with the types both number alike:
 * external interrupt 0, NMI 2, exception 3.  KVM's other event state
 * with it (events.c).
 */
struct x86_events {
	u32 inj, inj_err;
	u8 shadow;		/* KVM_X86_SHADOW_INT_* */
	bool nmi_masked;
};

/* The bit of a CPUID register that an X86_FEATURE_* names. */
#define CPUID_BIT(f)		BIT((f) & 31)

/* A nested (NPT) or extended (EPT) page table of a VM's memory slots. */
struct x86_tdp_format {
	u64 table;		/* a non-leaf entry's bits */
	u64 present;		/* an entry with any of these is present */
	u64 huge;		/* a 2 MiB leaf */
	u64 leaf;		/* a leaf's bits, read-only */
	u64 write;		/* and for a writable slot */
	int levels;
};

/*
 * Each x86 backend's VM (vm->arch) starts with its x86_tdp, so that the
 * dirty-logging ops are tdp.c's own.
 */
struct x86_tdp {
	u64 *root;
	const struct x86_tdp_format *fmt;
	/* Bumped when a mapping goes: vCPUs flush their TLB tag before entry. */
	atomic64_t gen;
	struct list_head unlinked;	/* emptied tables, freed later */
};

/* The longest x86 instruction. */
#define X86_MAX_INSN		15

/* DR7's enable bits (L0-L3, G0-G3): a guest breakpoint is armed. */
#define X86_DR7_ENABLES		0xffULL
/* DR7: bits 11, 12, 14 and 15 read as 0, bit 10 as 1. */
#define X86_DR7_VOLATILE	0xffff2bffULL
#define X86_DR7_FIXED_1		0x400ULL
#define X86_DR6_BD		BIT(13)		/* general detect */

/* A MOV to or from a debug register, as an exit reports or decodes it. */
struct x86_dr_access {
	u8 dr;			/* 0-7 */
	u8 gpr;			/* __VCPU_REGS_* */
	bool write;		/* MOV to DRn */
};

/* Returned by the shared exit handlers: the instruction cannot be emulated. */
#define X86_EXIT_EMULATION_FAILED	(-1)
/* Returned by x86_mov_dr(): DR7.GD, for the debugger (KVM_EXIT_DEBUG). */
#define X86_DR_DEBUG_EXIT		(-2)

const struct axvcpu_arch_ops *axvcpu_svm_probe(void);
const struct axvcpu_arch_ops *axvcpu_vmx_probe(void);

int x86_tdp_init(struct x86_tdp *t, const struct x86_tdp_format *fmt);
void x86_tdp_free(struct x86_tdp *t);
int x86_tdp_map(struct x86_tdp *t, struct axvcpu_memslot *slot);
void x86_tdp_unmap(struct x86_tdp *t, struct axvcpu_memslot *slot);
void x86_tdp_write_protect(struct axvcpu_vm *vm, struct axvcpu_memslot *slot,
			   const unsigned long *mask, unsigned long first,
			   unsigned long n);
bool x86_tdp_retry_fault(struct axvcpu_vm *vm, u64 gpa, bool write,
			 bool make_writable);

void x86_reset_regs(struct x86_vcpu *x);
void x86_reset_segs(struct x86_segs *s, u64 *rip);
void x86_set_entry(struct x86_segs *s, u64 *rip, u64 entry);
void x86_get_regs(const struct x86_vcpu *x, u64 rip, u64 rflags,
		  struct kvm_regs *r);
void x86_set_regs(struct x86_vcpu *x, const struct kvm_regs *r);
void x86_get_sregs(const struct x86_segs *s, u8 cpl, const struct x86_crs *c,
		   struct kvm_sregs *r);
int x86_set_sregs(struct x86_segs *s, u8 *cpl, const struct kvm_sregs *r);
int x86_exit_io(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		const struct x86_cpu_mode *m, const struct x86_io *io,
		u64 *rip);
int x86_exit_mmio(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		  const struct x86_cpu_mode *m, u64 gpa, u64 *rip,
		  u64 *rflags);
int x86_complete_mmio(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		      const struct x86_cpu_mode *m, u64 *rip, u64 *rflags);
int x86_exit_hypercall(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x, u8 cpl,
		       bool op64);
void x86_exit_cpuid(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x, u64 cr4);
/*
 * XCR0 bits no guest gets: MPX, hidden from CPUID (cpuid.c) as from KVM's
 * where it does not virtualise it, so neither XSETBV, KVM_SET_XCRS nor a
 * KVM_GET_XSAVE image carries its state (KVM refuses an image with it).
 */
#define X86_XCR0_HIDDEN	(XFEATURE_MASK_BNDREGS | XFEATURE_MASK_BNDCSR)

bool x86_xcr0_valid(u64 val, u64 allowed);
bool x86_xsetbv(struct x86_vcpu *x, u8 cpl);
long x86_debugregs_ioctl(struct x86_vcpu *x, u64 *dr6, u64 *dr7,
			 unsigned int ioctl, void __user *argp);
bool x86_efer_valid(u64 efer);
int x86_complete_pending(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			 const struct x86_sregs_ops *ops,
			 const struct x86_cpu_mode *m, u64 *rip, u64 *rflags,
			 u64 dr7);

/* How a backend reads and writes KVM_GET/SET_SREGS's state. */
struct x86_sregs_ops {
	void (*get)(struct axvcpu_vcpu *vcpu, struct kvm_sregs *r);
	int (*set)(struct axvcpu_vcpu *vcpu, const struct kvm_sregs *r);
	/* Where DR6 and DR7 live (KVM_GET/SET_DEBUGREGS). */
	void (*dr67)(struct axvcpu_vcpu *vcpu, u64 **dr6, u64 **dr7);
	/*
	 * The MSRs of the backend's hardware state: 0, 1 (refused: #GP) or
	 * -ENOENT, not one of them (msr.c).
	 */
	int (*get_msr)(struct axvcpu_vcpu *vcpu, u32 msr, u64 *val);
	int (*set_msr)(struct axvcpu_vcpu *vcpu, u32 msr, u64 val, bool host);
	/* #GP(0) at the next entry, RIP unmoved (a refused RDMSR or WRMSR). */
	void (*inject_gp)(struct axvcpu_vcpu *vcpu);
	/* KVM_GET/SET_VCPU_EVENTS: the backend's part (events.c). */
	void (*get_events)(struct axvcpu_vcpu *vcpu, struct x86_events *e);
	void (*set_events)(struct axvcpu_vcpu *vcpu, const struct x86_events *e,
			   bool shadow);
};

/* events.c */
long x86_events_ioctl(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		      const struct x86_sregs_ops *ops, unsigned int ioctl,
		      void __user *argp);
void x86_get_irq_bitmap(struct axvcpu_vcpu *vcpu,
			const struct x86_sregs_ops *ops, struct kvm_sregs *r);
void x86_set_irq_bitmap(struct axvcpu_vcpu *vcpu,
			const struct x86_sregs_ops *ops,
			const struct kvm_sregs *r);

/* fpu.c */
long x86_fpu_ioctl(struct x86_vcpu *x, unsigned int ioctl, void __user *argp);
u32 x86_xsave2_size(void);

/* msr.c */
void x86_msrs_reset(struct x86_vcpu *x, u32 vcpu_id);
int x86_set_apic_base(struct x86_vcpu *x, u64 val, bool host);
int x86_setup_mce(struct x86_vcpu *x, u64 __user *argp);
bool x86_pat_valid(u64 val);
int x86_get_msr(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		const struct x86_sregs_ops *ops, u32 msr, u64 *val, bool host);
int x86_set_msr(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		const struct x86_sregs_ops *ops, u32 msr, u64 val, bool host);

/* What a backend does after a guest's RDMSR or WRMSR (x86_guest_msr()). */
enum x86_msr_action {
	X86_MSR_SKIP,		/* done: step over the instruction */
	X86_MSR_GP,		/* refused: #GP */
	X86_MSR_USER,		/* KVM_EXIT_X86_RDMSR or _WRMSR: to userspace */
};

enum x86_msr_action x86_guest_msr(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
				  const struct x86_sregs_ops *ops, bool write,
				  u64 next_rip);
void x86_complete_msr(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		      const struct x86_sregs_ops *ops, u64 *rip, bool read);
long x86_set_msr_filter(struct axvcpu_vm *vm,
			struct kvm_msr_filter __user *uf);
void x86_msr_filter_free(struct axvcpu_vm *vm);
extern const u32 x86_guest_owned_msrs[];
extern const unsigned int x86_nr_guest_owned_msrs;
struct kvm_msr_entry *x86_msrs_copy_in(struct kvm_msrs __user *um, u32 *n);
long x86_msrs_ioctl(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		    const struct x86_sregs_ops *ops, unsigned int ioctl,
		    struct kvm_msrs __user *um);
#define X86_NR_SAVED_MSRS	17
u32 x86_msr_index_list(u32 *msrs);

long x86_vcpu_ioctl(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x, u64 *rip,
		    u64 *rflags, const struct x86_sregs_ops *ops,
		    unsigned int ioctl, void __user *argp);
long x86_vm_ioctl(struct axvcpu_vm *vm, unsigned int ioctl, void __user *argp);
int x86_check_extension(long cap);
void x86_cpu_mode_segs(struct x86_cpu_mode *m, const struct x86_segs *s);

int x86_fetch(struct axvcpu_vm *vm, const struct x86_cpu_mode *m, u8 *insn);
int x86_skip_prefixes(const u8 *insn, int n);
bool x86_decode_mov_dr(struct axvcpu_vm *vm, const struct x86_cpu_mode *m,
		       struct x86_dr_access *a, u8 *len);
int x86_mov_dr(struct x86_vcpu *x, const struct x86_dr_access *a,
	       const struct x86_cpu_mode *m, u8 cpl, u64 *dr6, u64 *dr7);
void x86_load_guest_db(const struct x86_vcpu *x);
u64 x86_emulator_dr7(const struct x86_vcpu *x, u64 dr7);
void x86_deliver_db(u64 *dr6, u64 *dr7, u64 bits);

bool x86_guest_rw(struct axvcpu_vm *vm, const struct x86_cpu_mode *m, u64 la,
		  void *buf, unsigned int len, bool write);
u64 x86_vm_serial(void);
unsigned int x86_uret_have(void);
int x86_uret_index(u32 msr);
bool x86_uret_valid(int i, u64 val);
void x86_uret_load(const u64 *vals, unsigned int mask);
void x86_uret_cpu_down(void);
void axvcpu_x86_cpuid(u32 apic_id, u64 guest_cr4, u32 *eax, u32 *ebx,
		      u32 *ecx, u32 *edx);

/* cpuid.c */
extern unsigned int x86_guest_uret;
long x86_dev_ioctl(unsigned int ioctl, void __user *argp);
long x86_cpuid_ioctl(struct x86_vcpu *x, u64 cr4, unsigned int ioctl,
		     void __user *argp);
bool x86_cpuid_lookup(struct x86_vcpu *x, u64 cr4, u32 *eax, u32 *ebx,
		      u32 *ecx, u32 *edx);
void x86_cpuid_free(struct x86_vcpu *x);

/* guest_debug.c */
u64 x86_gdbg_rflags(const struct x86_vcpu *x, u64 rflags);
void x86_gdbg_set_rflags(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			 const struct x86_sregs_ops *ops, u64 rip,
			 u64 *rflags);
u64 *x86_guest_dr7(struct x86_vcpu *x, u64 *hw_dr7);
long x86_set_guest_debug(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
			 u64 *rip, u64 *rflags,
			 const struct x86_sregs_ops *ops, void __user *argp);
int x86_gdbg_exit(struct axvcpu_vcpu *vcpu, u32 exception, u64 pc, u64 dr6,
		  u64 dr7);
int x86_gdbg_stepped(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x, u64 pc,
		     u64 dr7, int r);

/* The linear address of RIP, as KVM's kvm_get_linear_rip(). */
static inline u64 x86_linear_rip(u64 cs_base, bool long_mode, u64 rip)
{
	return long_mode ? rip : (u32)(cs_base + rip);
}

static inline u64 x86_segs_linear_rip(const struct x86_segs *s, u64 efer,
				      u64 rip)
{
	return x86_linear_rip(s->cs.base, (efer & EFER_LMA) &&
			      (s->cs.attrib & SVM_SELECTOR_L_MASK), rip);
}

/* A #DB is the debugger's (KVM_EXIT_DEBUG), not the guest's. */
static inline bool x86_gdbg_owns_db(const struct x86_vcpu *x)
{
	return x->gdbg.control & (KVM_GUESTDBG_SINGLESTEP |
				  KVM_GUESTDBG_USE_HW_BP);
}

static inline bool x86_gdbg_stepping(const struct x86_vcpu *x)
{
	return x->gdbg.control & KVM_GUESTDBG_SINGLESTEP;
}

/* No interrupt or NMI goes in while the debugger says so. */
static inline bool x86_gdbg_block_irq(const struct x86_vcpu *x)
{
	return x->gdbg.control & KVM_GUESTDBG_BLOCKIRQ;
}

/* lapic.c */
int x86_irqchip_create(struct axvcpu_vm *vm);
void x86_irqchip_free(struct axvcpu_vm *vm);
int x86_lapic_create(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x);
void x86_lapic_free(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x);
bool x86_lapic_mmio(struct x86_vcpu *x, u64 gpa, void *buf, unsigned int len,
		    bool write);
u8 x86_lapic_sync_cr8(struct x86_lapic *a, u8 cr8);
bool x86_lapic_next_irq(struct x86_lapic *a, bool busy, bool interruptible,
			int *vec);
bool x86_lapic_may_enter(struct x86_lapic *a, bool interruptible);
bool x86_lapic_runnable(struct x86_lapic *a, bool interruptible);
int x86_lapic_halt(struct x86_lapic *a);
int x86_lapic_exit(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		   const struct x86_sregs_ops *ops, u64 *rip);
long x86_lapic_ioctl(struct axvcpu_vcpu *vcpu, struct x86_vcpu *x,
		     const struct x86_sregs_ops *ops, u64 *rip,
		     unsigned int ioctl, void __user *argp);
int x86_lapic_irq(struct x86_irqchip *chip, u8 dest, bool logical, u32 mode,
		  u8 vec, bool level);

/* ioapic.c */
struct x86_ioapic *x86_ioapic_alloc(void);
int x86_ioapic_set_irq(struct x86_irqchip *chip, unsigned int pin, bool up);
void x86_ioapic_eoi(struct x86_irqchip *chip, u8 vec);
bool x86_ioapic_mmio(struct axvcpu_vm *vm, u64 gpa, void *buf,
		     unsigned int len, bool write);
long x86_irqchip_ioctl(struct axvcpu_vm *vm, unsigned int ioctl,
		       void __user *argp);

/* Interrupts: inline, they run on every entry. */

static inline bool x86_irq_pending(struct axvcpu_vcpu *vcpu)
{
	return !bitmap_empty(vcpu->irq_pending, AXVCPU_NR_IRQS);
}

/*
 * Before an entry: the highest injected vector to deliver now (the guest
 * can take it and no event is being injected), or -1; *window: whether
 * to exit when the guest can take an interrupt (one is still queued, or
 * userspace asked with request_interrupt_window).  With an in-kernel APIC,
 * its interrupts after those queued (which it had accepted already).
 */
static inline int x86_next_irq(struct axvcpu_vcpu *vcpu, struct x86_lapic *apic,
			       bool busy, bool interruptible, bool *window)
{
	unsigned long vec;
	int r = -1;

	if (x86_irq_pending(vcpu) && !busy && interruptible) {
		vec = find_last_bit(vcpu->irq_pending, AXVCPU_NR_IRQS);
		if (test_and_clear_bit(vec, vcpu->irq_pending)) {
			r = vec;
			busy = true;
		}
	}
	*window = x86_irq_pending(vcpu) ||
		  (READ_ONCE(vcpu->run->request_interrupt_window) && !busy);
	if (apic && x86_lapic_next_irq(apic, busy, interruptible, &r))
		*window = true;
	return r;
}

/*
 * Before an entry, after the event to re-inject: whether the NMI of
 * KVM_NMI goes in now (nothing else is injected, NMIs are not blocked);
 * the caller injects it and masks NMIs.  *window: one waits, exit when
 * NMIs are unblocked.
 */
static inline bool x86_next_nmi(struct x86_vcpu *x, bool busy, bool blocked,
				bool *window)
{
	*window = x->nmi_pending && (busy || blocked);
	if (!x->nmi_pending || busy || blocked)
		return false;
	x->nmi_pending--;
	return true;
}

/* KVM_RUN returns: the guest's interrupt status, as KVM reports it. */
static inline void x86_run_end(struct axvcpu_vcpu *vcpu,
			       const struct x86_vcpu *x, u64 rflags, u64 cr8,
			       bool interruptible, bool busy)
{
	struct kvm_run *run = vcpu->run;

	run->if_flag = !!(rflags & X86_EFLAGS_IF);
	run->cr8 = cr8;
	run->apic_base = x->msrs.apic_base;
	/* An in-kernel irqchip takes interrupts at any time, as KVM's. */
	run->ready_for_interrupt_injection = x->apic || (interruptible &&
		!x86_irq_pending(vcpu) && !busy);
}

/*
 * First thing of an entry, interrupts off (KVM's vcpu_enter_guest): a
 * context switch inside KVM_RUN gave the FPU registers to another task;
 * the guest's come back, with the host's XCR0 still in force so that
 * every state component is restored.
 */
static __always_inline void x86_fpu_reload(void)
{
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
}

/*
 * What every entry switches on both vendors, with interrupts off: the
 * guest's breakpoints when its DR7 arms one, and its PKRU when it may use
 * protection keys.
 */
static __always_inline void x86_switch_to_guest(struct x86_vcpu *x, u64 dr7,
						u64 cr4)
{
	x->entered = true;
	if (unlikely(dr7 & X86_DR7_ENABLES))
		x86_load_guest_db(x);
	if (cpu_feature_enabled(X86_FEATURE_OSPKE)) {
		x->host_pkru = rdpkru();
		x->pkru_loaded = (cr4 & X86_CR4_PKE) ||
				 (x->xcr0 & XFEATURE_MASK_PKRU);
		if (x->pkru_loaded && x->pkru != x->host_pkru)
			wrpkru(x->pkru);
	}
}

/*
 * After the exit: the host's PKRU before any user access (a change is the
 * guest's write, even one that enabled protection keys meanwhile), the
 * host's breakpoints (VMX clears DR7; a guest's DR0-DR3 may be in the CPU).
 */
static __always_inline void x86_switch_to_host(struct x86_vcpu *x)
{
	u32 pkru;

	if (cpu_feature_enabled(X86_FEATURE_OSPKE)) {
		pkru = rdpkru();
		if (x->pkru_loaded || pkru != x->host_pkru)
			x->pkru = pkru;
		if (pkru != x->host_pkru)
			wrpkru(x->host_pkru);
	}
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
}

/*
 * A machine check in guest mode exited: the host's handler runs now, as
 * if it had interrupted user mode (KVM's kvm_machine_check()).
 */
static inline void x86_machine_check(void)
{
#ifdef CONFIG_X86_MCE
	struct pt_regs regs = { .cs = 3, .flags = X86_EFLAGS_IF };

	do_machine_check(&regs);
#endif
}

#endif /* AXVCPU_X86_H */
