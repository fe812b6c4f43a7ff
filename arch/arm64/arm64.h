/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: the arm64 EL2 (VHE) backend's types.
 */
#ifndef AXVCPU_ARM64_H
#define AXVCPU_ARM64_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/smp.h>
#include <linux/kvm.h>
#include <linux/spinlock.h>
#include <linux/types.h>

struct axvcpu_vm;
struct axvcpu_vcpu;
struct axvcpu_memslot;

/*
 * The guest's system registers: those the backend switches (SCTLR to
 * CNTV_CVAL), then those only the trap handlers and ONE_REG see.  A row
 * of sys_regs.c names its slot; SR_NONE is no slot.
 */
#define ARM64_NR_DBG	16	/* breakpoints and watchpoints, as KVM keeps */
enum arm64_sysreg {
	SR_NONE,
	SR_SCTLR, SR_CPACR, SR_TTBR0, SR_TTBR1, SR_TCR, SR_ESR, SR_AFSR0,
	SR_AFSR1, SR_FAR, SR_MAIR, SR_AMAIR, SR_VBAR, SR_CONTEXTIDR,
	SR_CNTKCTL, SR_TPIDR_EL1, SR_TPIDR_EL0, SR_TPIDRRO_EL0, SR_PAR,
	SR_MDSCR, SR_CSSELR, SR_MPIDR, SR_CNTV_CTL, SR_CNTV_CVAL,
	/* Not in the CPU while the guest runs: */
	SR_ACTLR, SR_DISR, SR_MDCCINT, SR_OSLSR, SR_DBGVCR32, SR_DACR32,
	SR_IFSR32, SR_FPEXC32, SR_CNTP_CTL, SR_CNTP_CVAL,
	SR_DBGBVR, SR_DBGBCR = SR_DBGBVR + ARM64_NR_DBG,
	SR_DBGWVR = SR_DBGBCR + ARM64_NR_DBG,
	SR_DBGWCR = SR_DBGWVR + ARM64_NR_DBG,
	NR_ARM64_SYSREGS = SR_DBGWCR + ARM64_NR_DBG,
};

/* Pointer authentication: five 128-bit keys, as entry.S moves them. */
#define ARM64_NR_KEYS	10

/* What entry.S records of an exit (offsets known to entry.S). */
struct arm64_exit {
	u64 vector;		/* 0: offset of the EL2 vector taken */
	u64 esr;		/* 8 */
	u64 far;		/* 16 */
	u64 hpfar;		/* 24 */
	u64 serror;		/* 32: ESR of an SError the exit caught, or 0 */
};

/* What the next KVM_RUN completes with userspace's answer. */
enum arm64_pending {
	ARM64_PENDING_NONE,
	ARM64_PENDING_MMIO,
	ARM64_PENDING_HYPERCALL,
};

/* KVM_IRQ_LINE's lines of a vCPU: bit KVM_ARM_IRQ_CPU_IRQ and _FIQ. */
#define ARM64_LINE_IRQ	BIT(KVM_ARM_IRQ_CPU_IRQ)
#define ARM64_LINE_FIQ	BIT(KVM_ARM_IRQ_CPU_FIQ)

struct arm64_vcpu {
	struct kvm_regs core;		/* KVM_REG_ARM_CORE, as KVM lays it out */
	u64 sys[NR_ARM64_SYSREGS];
	struct arm64_exit exit;
	u64 hcr;
	enum arm64_pending pending;
	bool mmio_write;
	u8 mmio_reg;			/* the register a read loads */
	u8 mmio_len;
	bool mmio_sign;
	bool mmio_sf;
	bool irq_delivered;		/* HCR_EL2.VI was raised for this entry */
	u64 entry_pc, entry_elr;	/* the guest's PC and ELR_EL1 then */
	unsigned long lines;		/* KVM_IRQ_LINE levels: ARM64_LINE_* */
	u32 index;			/* KVM's vcpu_idx: the creation order */
	bool hypercall_exit;		/* AXVCPU_SETUP_HYPERCALL */
	u64 steal_base;			/* stolen time's IPA, or ARM64_NO_STEAL */
	u64 last_steal;			/* run_delay when last counted */
	/* The timers' next rise: wakes or kicks the vCPU (timer.c). */
	struct hrtimer timer;
	u64 timer_due;			/* the counter value it is armed for */
	call_single_data_t kick_csd;	/* its IPI to the vCPU's CPU */
	struct axvcpu_vcpu *vcpu;
	bool vserror;			/* a virtual SError is pending (HCR_EL2.VSE) */
	bool sw_flushed;		/* set/way: the VM's memory was cleaned */
	bool initialized;		/* KVM_ARM_VCPU_INIT was called */
	bool ptrauth;			/* the pointer authentication features */
	u64 keys[ARM64_NR_KEYS];	/* APIA, APIB, APDA, APDB, APGA: lo, hi */
	u32 features;			/* of the last KVM_ARM_VCPU_INIT */
	/* PSCI: under the VM's power_lock. */
	bool power_off;
	bool on_pending;		/* CPU_ON: reset to on_entry first */
	u64 on_entry;
	u64 on_context;
};

/* The SMCCC feature bitmaps (KVM_REG_ARM_FW_FEAT_BMAP), as KVM's. */
enum arm64_fw_bmap {
	ARM64_BMAP_STD, ARM64_BMAP_STD_HYP, ARM64_BMAP_VENDOR_HYP,
	ARM64_NR_BMAPS,
};

struct arm64_vm {
	u64 *pgd;			/* stage-2 root: two concatenated pages */
	u32 ipa_bits;			/* KVM_VM_TYPE_ARM_IPA_SIZE, or 40 */
	u64 cntvoff;			/* CNTVOFF_EL2 of every vCPU */
	bool nisv_to_user;		/* KVM_CAP_ARM_NISV_TO_USER */
	bool system_suspend;		/* KVM_CAP_ARM_SYSTEM_SUSPEND */
	bool has_run;			/* a vCPU entered: the bitmaps are fixed */
	u32 psci_version;		/* KVM_REG_ARM_PSCI_VERSION */
	u64 fw_bmap[ARM64_NR_BMAPS];
	atomic64_t vmid;		/* generation | VMID; 0: none yet */
	spinlock_t power_lock;		/* every vCPU's PSCI power state */
};

static inline struct arm64_vcpu *to_arm64(struct axvcpu_vcpu *vcpu)
{
	return vcpu->arch;
}

/* entry.S */
int axvcpu_arm64_enter(struct user_pt_regs *regs, struct arm64_exit *exit,
		       u64 *keys);
void axvcpu_arm64_fp_save(struct user_fpsimd_state *fp);
void axvcpu_arm64_fp_load(const struct user_fpsimd_state *fp);
extern char axvcpu_arm64_vectors[];
/* How the exit vectors clear the branch history (Spectre-BHB). */
enum arm64_bhb {
	ARM64_BHB_NONE,
	ARM64_BHB_LOOP,		/* a branch loop of bhb_loops */
	ARM64_BHB_CLRBHB,	/* the CLRBHB instruction */
	ARM64_BHB_FW,		/* SMCCC ARCH_WORKAROUND_3 */
};

/* What the exit path does on this system (offsets known to entry.S). */
struct arm64_exit_conf {
	u32 bhb;		/* 0: enum arm64_bhb */
	u32 bhb_loops;		/* 4: for ARM64_BHB_LOOP */
	u32 ras;		/* 8: the RAS extension: ESB defers SErrors */
};

extern struct arm64_exit_conf axvcpu_arm64_exit_conf;

/* stage2.c */
extern u64 arm64_vtcr;
int arm64_stage2_setup(void);
int arm64_stage2_init(struct arm64_vm *v);
void arm64_stage2_free(struct arm64_vm *v);
int arm64_stage2_map(struct axvcpu_vm *vm, struct axvcpu_memslot *slot);
void arm64_stage2_unmap(struct axvcpu_vm *vm, struct axvcpu_memslot *slot);
void arm64_stage2_write_protect(struct axvcpu_vm *vm,
				struct axvcpu_memslot *slot,
				const unsigned long *mask, unsigned long first,
				unsigned long n);
bool arm64_stage2_retry_fault(struct axvcpu_vm *vm, u64 gpa, bool write,
			      bool make_writable);
void arm64_stage2_clean(struct axvcpu_vm *vm);
void arm64_vmid_update(struct arm64_vm *v);
u64 arm64_vttbr(struct arm64_vm *v);

/* sys_regs.c */
int arm64_sys_regs_setup(void);
void arm64_sys_regs_reset(struct axvcpu_vcpu *vcpu);
int arm64_exit_sysreg(struct axvcpu_vcpu *vcpu);
int arm64_sys_reg_get(struct axvcpu_vcpu *vcpu, u64 id, u64 *val);
int arm64_sys_reg_set(struct axvcpu_vcpu *vcpu, u64 id, u64 val);
unsigned int arm64_sys_reg_ids(struct axvcpu_vcpu *vcpu, u64 *ids);

/* timer.c: the guest's virtual and physical timers, and its IRQ lines. */
#define ARM64_TIMER_VIRT_PPI	27	/* KVM's default PPIs */
#define ARM64_TIMER_PHYS_PPI	30
void arm64_timer_init(struct axvcpu_vcpu *vcpu);
void arm64_timer_destroy(struct axvcpu_vcpu *vcpu);
u64 arm64_timer_levels(struct axvcpu_vcpu *vcpu);
bool arm64_timer_notify(struct axvcpu_vcpu *vcpu);
void arm64_timer_update_run(struct axvcpu_vcpu *vcpu);
void arm64_timer_arm(struct axvcpu_vcpu *vcpu);
void arm64_timer_cancel(struct axvcpu_vcpu *vcpu);
u64 arm64_timer_ptimer_ctl(struct axvcpu_vcpu *vcpu);
u64 arm64_phys_counter(void);
int arm64_timer_get_reg(struct axvcpu_vcpu *vcpu, u64 id, u64 *val);
int arm64_timer_set_reg(struct axvcpu_vcpu *vcpu, u64 id, u64 val);
int arm64_irq_line(struct axvcpu_vm *vm, const struct kvm_irq_level *irq);
bool arm64_vcpu_runnable(struct axvcpu_vcpu *vcpu);

/* regs.c */
bool arm64_ptrauth_supported(void);
void arm64_reset_vcpu(struct axvcpu_vcpu *vcpu);
long arm64_vcpu_ioctl(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
		      void __user *argp);
long arm64_vm_ioctl(struct axvcpu_vm *vm, unsigned int ioctl,
		    void __user *argp);
u64 arm64_vcpu_mpidr(const struct axvcpu_vcpu *vcpu);
void arm64_load_sysregs(const struct arm64_vcpu *a);
void arm64_save_sysregs(struct arm64_vcpu *a);
void arm64_apply_power_on(struct axvcpu_vcpu *vcpu);
void arm64_inject_undef(struct arm64_vcpu *a);

/* pvtime.c: stolen time, the TRNG and KVM's PTP clock. */
#define ARM64_NO_STEAL		(~0ULL)
bool arm64_pvtime_supported(void);
void arm64_pvtime_update(struct axvcpu_vcpu *vcpu);
int arm64_pvtime_attr(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
		      const struct kvm_device_attr *attr);
bool arm64_smccc_service(struct axvcpu_vcpu *vcpu, const u64 *bmap);

/* psci.c: PSCI and the other SMCCC services, and their firmware registers. */
int arm64_handle_psci(struct axvcpu_vcpu *vcpu, bool smc);
int arm64_handle_smccc(struct axvcpu_vcpu *vcpu);
void arm64_fw_init(struct arm64_vm *v);
unsigned int arm64_fw_reg_ids(u64 *ids);
int arm64_fw_get_reg(struct axvcpu_vcpu *vcpu, u64 id, u64 *val);
int arm64_fw_set_reg(struct axvcpu_vcpu *vcpu, u64 id, u64 val);
int arm64_power_on(struct axvcpu_vcpu *vcpu);

#endif /* AXVCPU_ARM64_H */
