// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: Intel VMX backend.
 *
 * Per CPU: VMXON (CR4.VMXE, a VMXON region) and the list of the VMCSs
 * loaded there.  Per VM: the EPT tables (tdp.c).  Per vCPU: a VMCS, a VPID,
 * and the guest state in memory (struct vmx_vcpu): the VMCS is only
 * touched on the CPU where it is loaded, in the run step with interrupts
 * off, so the ioctls, the exit handlers and the reset read and write the
 * copy in memory, from any CPU.  The run step writes the copy into the
 * VMCS when it changed and reads it back after every exit.
 *
 * Unrestricted guest and EPT are required: guests start in real mode with
 * paging off, as on SVM.
 */
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/cpu_entry_area.h>
#include <asm/cpufeature.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>
#include <asm/io.h>
#include <asm/kvm_vcpu_regs.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/traps.h>
#include <asm/tsc.h>
#include <asm/vmx.h>

#include "../../axvcpu_host.h"
#include "vmx.h"
#include "x86.h"

/* EPT entries (SDM 29.3.2) and the EPT pointer. */
#define EPT_R			BIT_ULL(0)
#define EPT_W			BIT_ULL(1)
#define EPT_X			BIT_ULL(2)
#define EPT_WB			(6ULL << 3)
#define EPT_IGNORE_PAT		BIT_ULL(6)
#define EPT_HUGE		BIT_ULL(7)
#define EPTP_WB_4LEVEL		(VMX_EPTP_PWL_4 | 6)

/* IA32_VMX_BASIC: the VMCS size. */
#define VMX_BASIC_SIZE(b)	(((b) >> 32) & 0x1fff)

/* IA32_VMX_MISC: the preemption timer counts the TSC shifted by these. */
#define VMX_MISC_TIMER_RATE	0x1f

/* IO exit qualification (SDM table 28-5). */
#define VMX_IO_SIZE_MASK	0x7
#define VMX_IO_IN		BIT(3)
#define VMX_IO_STRING		BIT(4)
#define VMX_IO_REP		BIT(5)

/* MOV DR exit qualification (SDM table 28-4). */
#define VMX_DR_NUM		0x7
#define VMX_DR_FROM		BIT(4)
#define VMX_DR_GPR_SHIFT	8

/* CR access exit qualification. */
#define VMX_CR_MOV_TO		0
#define VMX_CR_MOV_FROM		1
#define VMX_CR_CLTS		2
#define VMX_CR_LMSW		3

#define VMX_ENTRY_FAILED	VMX_EXIT_REASONS_FAILED_VMENTRY
/* No exit information: VMLAUNCH/VMRESUME failed, see fail_error. */
#define VMX_EXIT_VMFAIL		0xffffffffU

struct vmx_vcpu;

struct vmx_cpu {
	struct page *vmxon;
	struct vmx_vcpu *current_vmcs;	/* the VMCS VMPTRLD made current */
	struct list_head loaded;	/* VMCSs active here */
	bool loaded_busy;		/* loaded is being changed */
	struct desc_ptr idt;
	u64 last_vm;			/* the VM whose guest ran here last */
};

/*
 * What the last exit reported, read with the VMCS current: idt_err,
 * insn_info and gpa only where the exit defines them, else 0.
 */
struct vmx_exit {
	u32 reason;
	u32 intr_info;
	u32 idt_info, idt_err;
	u32 insn_len, insn_info;
	u32 fail_error;		/* VM_INSTRUCTION_ERROR after a VMfail */
	u64 qual, gpa;
};

/*
 * What the VMCS holds of the fields every entry sets, so that an entry
 * writes only those that changed (KVM's dirty RIP and RSP, its cached
 * host CR3 and CR4).  Not valid until an entry wrote them all.
 */
struct vmx_entry_cache {
	bool valid;
	u32 proc, intr_state, eb;
	u64 rip, rsp, rflags;
	u64 host_cr3, host_cr4, host_fs_base;
	u64 msr_bitmap;
};

struct vmx_vcpu {
	struct axvcpu_vcpu *vcpu;
	struct x86_vcpu x;
	struct page *vmcs;
	u64 vmcs_pa;
	int vpid;
	int cpu;			/* where the VMCS is active, or -1 */
	bool launched;
	struct list_head loaded_link;	/* on vmx_cpu.loaded of cpu */

	/* The guest state, SVM's segment format (see x86.h). */
	struct x86_segs segs;
	u8 cpl;
	u64 rip, rflags;
	u64 cr0, cr2, cr3, cr4, cr8;	/* as the guest sees them */
	u64 dr7;
	u64 pat;
	u64 kernel_gs_base;
	u32 intr_state;			/* GUEST_INTERRUPTIBILITY_INFO */
	u32 event;			/* VM_ENTRY_INTR_INFO_FIELD */
	u32 event_err;
	u32 event_len;
	bool window;			/* interrupt-window exiting */
	bool nmi_window;		/* NMI-window exiting */
	bool dirty;			/* the VMCS's guest state is stale */
	/*
	 * The copy in memory is stale: the last exits left the guest state
	 * in the VMCS (vmx_exit_lazy()); vmx_sync_guest() reads it.
	 */
	bool stale;
	bool flush;			/* flush EPT and VPID before entry */
	s64 tdp_gen;

	struct vmx_exit exit;
	struct vmx_entry_cache cache;
	struct fpu_guest fpu;
};

struct vmx_vm {
	struct x86_tdp tdp;		/* the EPT tables: first, see x86_tdp */
	u64 eptp;
	u64 serial;			/* x86_vm_serial() */
};

static_assert(offsetof(struct vmx_vm, tdp) == 0);

static DEFINE_PER_CPU(struct vmx_cpu, vmx_cpu);
static DEFINE_IDA(vmx_vpids);

static u32 vmx_revision;
static u32 vmx_preempt_ticks;	/* 0: no VMX-preemption timer */
static u32 vmx_pin, vmx_proc, vmx_proc2, vmx_exit_ctls, vmx_entry_ctls;
static u64 vmx_cr0_fixed0, vmx_cr0_fixed1, vmx_cr4_fixed0, vmx_cr4_fixed1;
static bool vmx_vpid_ok, vmx_invvpid_single, vmx_invept_single;
static bool vmx_inout_info;
static bool vmx_l1d_flush;	/* L1TF: flush the L1D before each entry */
static unsigned int vmx_uret_mask;	/* x86_uret_load()'s MSRs */
static u64 vmx_host_xcr0, vmx_host_pat;
static struct page *vmx_msr_bitmap;
/* Every MSR exits: for a VM whose MSR filter denies FS or GS base. */
static struct page *vmx_msr_bitmap_all;

static struct x86_tdp_format vmx_ept_format = {
	.table = EPT_R | EPT_W | EPT_X,
	.present = EPT_R | EPT_W | EPT_X,
	.leaf = EPT_R | EPT_X | EPT_WB | EPT_IGNORE_PAT,
	.write = EPT_W,
	.levels = 4,
};

static inline struct vmx_vcpu *to_vmx(struct axvcpu_vcpu *vcpu)
{
	return vcpu->arch;
}

/* --- VM instructions: a failure or a fault is an error, never an oops ---- */

static int vmx_insn_failed(const char *insn, u64 arg)
{
	pr_err_ratelimited("axvcpu: vmx: %s %#llx failed\n", insn, arg);
	return -EIO;
}

/*
 * A VM instruction, true when it failed: fail stays 1 when it faults (the
 * fixup skips the SETBE), and SETBE catches VMfailInvalid (CF) and
 * VMfailValid (ZF).
 */
#define vmx_insn_failed_asm(insn, inputs...)				\
({									\
	u8 __fail = 1;							\
									\
	asm volatile("1: " insn "\n\t"				\
		     "setbe %[fail]\n"					\
		     "2:\n\t"						\
		     _ASM_EXTABLE(1b, 2b)				\
		     : [fail] "+qm"(__fail) : inputs : "cc", "memory");	\
	__fail;								\
})

static int vmx_on(u64 pa)
{
	if (vmx_insn_failed_asm("vmxon %[pa]", [pa] "m"(pa)))
		return vmx_insn_failed("VMXON", pa);
	return 0;
}

static void vmx_off(void)
{
	if (vmx_insn_failed_asm("vmxoff"))
		vmx_insn_failed("VMXOFF", 0);
}

static int vmcs_clear(u64 pa)
{
	if (vmx_insn_failed_asm("vmclear %[pa]", [pa] "m"(pa)))
		return vmx_insn_failed("VMCLEAR", pa);
	return 0;
}

static int vmcs_load(u64 pa)
{
	if (vmx_insn_failed_asm("vmptrld %[pa]", [pa] "m"(pa)))
		return vmx_insn_failed("VMPTRLD", pa);
	return 0;
}

static u64 vmcs_read(unsigned long field)
{
	unsigned long val = 0;
	u8 fail = 1;

	asm volatile("1: vmread %[field], %[val]\n\t"
		     "setbe %[fail]\n"
		     "2:\n\t"
		     _ASM_EXTABLE(1b, 2b)
		     : [val] "+r"(val), [fail] "+qm"(fail)
		     : [field] "r"(field) : "cc");
	if (fail)
		vmx_insn_failed("VMREAD", field);
	return val;
}

static void vmcs_write(unsigned long field, u64 val)
{
	if (vmx_insn_failed_asm("vmwrite %[val], %[field]", [field] "r"(field),
				[val] "rm"((unsigned long)val)))
		vmx_insn_failed("VMWRITE", field);
}

struct vmx_inv_desc {
	u64 a, b;
};

static void ept_invalidate(unsigned long type, u64 eptp)
{
	struct vmx_inv_desc d = { eptp, 0 };

	if (vmx_insn_failed_asm("invept %[d], %[type]", [d] "m"(d),
				[type] "r"(type)))
		vmx_insn_failed("INVEPT", eptp);
}

static void vpid_invalidate(unsigned long type, u16 vpid)
{
	struct vmx_inv_desc d = { vpid, 0 };

	if (vmx_insn_failed_asm("invvpid %[d], %[type]", [d] "m"(d),
				[type] "r"(type)))
		vmx_insn_failed("INVVPID", vpid);
}

/* --- VMXON ------------------------------------------------------------------ */

static int vmx_hardware_enable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	u64 fc;
	int r;

	/* Another hypervisor (KVM) owns VMX on this CPU. */
	if (cr4_read_shadow() & X86_CR4_VMXE)
		return -EBUSY;
	rdmsrl(MSR_IA32_FEAT_CTL, fc);
	if (!(fc & FEAT_CTL_LOCKED)) {
		fc |= FEAT_CTL_LOCKED | FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX;
		if (wrmsrl_safe(MSR_IA32_FEAT_CTL, fc))
			return -EIO;
	}
	if (!(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))
		return -EIO;

	*(u32 *)page_address(vc->vmxon) = vmx_revision;
	cr4_set_bits(X86_CR4_VMXE);
	r = vmx_on(page_to_phys(vc->vmxon));
	if (r) {
		cr4_clear_bits(X86_CR4_VMXE);
		return r;
	}
	vc->current_vmcs = NULL;
	/* Nothing tagged before this VMXON may be reused. */
	if (vmx_vpid_ok)
		vpid_invalidate(VMX_VPID_EXTENT_ALL_CONTEXT, 0);
	ept_invalidate(VMX_EPT_EXTENT_GLOBAL, 0);
	return 0;
}

/*
 * An emergency restart's NMI may interrupt a change of the list of loaded
 * VMCSs: it must not walk the list then (see vmx_hardware_disable()).
 */
static void vmx_loaded_busy(struct vmx_cpu *vc, bool busy)
{
	barrier();
	WRITE_ONCE(vc->loaded_busy, busy);
	barrier();
}

static void vmx_sync_here(struct vmx_vcpu *vmx);

/* VMCLEAR the VMCS here: its state goes to memory, it can move. */
static void vmx_clear_here(struct vmx_vcpu *vmx)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	unsigned long flags;

	local_irq_save(flags);
	if (vmx->cpu == smp_processor_id()) {
		/* The next VMPTRLD writes the copy back: it must be current. */
		vmx_sync_here(vmx);
		vmcs_clear(vmx->vmcs_pa);
		vmx_loaded_busy(vc, true);
		list_del(&vmx->loaded_link);
		vmx_loaded_busy(vc, false);
		if (vc->current_vmcs == vmx)
			vc->current_vmcs = NULL;
		/* The list before the CPU: see vmx_vcpu_unbind(). */
		smp_wmb();
		WRITE_ONCE(vmx->cpu, -1);
		vmx->launched = false;
	}
	local_irq_restore(flags);
}

static void vmx_clear_fn(void *data)
{
	vmx_clear_here(data);
}

/*
 * This CPU, any context: every VMCS active here is cleared first, unless
 * an emergency NMI came while the list was changing: VMXOFF alone then.
 */
static void vmx_hardware_disable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	struct vmx_vcpu *vmx, *tmp;

	if (!READ_ONCE(vc->loaded_busy))
		list_for_each_entry_safe(vmx, tmp, &vc->loaded, loaded_link)
			vmx_clear_here(vmx);
	x86_uret_cpu_down();
	vmx_off();
	cr4_clear_bits(X86_CR4_VMXE);
}

/* --- the VMCS --------------------------------------------------------------- */

/* SVM's segment attributes <-> VMX's access rights (SDM 24.4.1). */
static u32 vmx_ar(const struct vmcb_seg *s, bool system)
{
	u32 a = s->attrib;
	u32 ar = (a & 0xff) | ((a & 0xf00) << 4);

	if (!(a & SVM_SELECTOR_P_MASK))
		return VMX_AR_UNUSABLE_MASK;
	/* The CPU sets accessed on every load; VM entry insists on it. */
	if (!system)
		ar |= VMX_AR_TYPE_ACCESSES_MASK;
	return ar;
}

static u16 vmx_attrib(u32 ar)
{
	if (ar & VMX_AR_UNUSABLE_MASK)
		return (ar & 0xff & ~VMX_AR_P_MASK) | ((ar >> 4) & 0xf00);
	return (ar & 0xff) | ((ar >> 4) & 0xf00);
}

static const struct {
	u16 sel, limit, ar;
	u16 base;
} vmx_seg_fields[] = {
	{ GUEST_ES_SELECTOR, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES, GUEST_ES_BASE },
	{ GUEST_CS_SELECTOR, GUEST_CS_LIMIT, GUEST_CS_AR_BYTES, GUEST_CS_BASE },
	{ GUEST_SS_SELECTOR, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES, GUEST_SS_BASE },
	{ GUEST_DS_SELECTOR, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES, GUEST_DS_BASE },
	{ GUEST_FS_SELECTOR, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES, GUEST_FS_BASE },
	{ GUEST_GS_SELECTOR, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES, GUEST_GS_BASE },
};

/* The segments of x86_segs in vmx_seg_fields order, then LDTR and TR. */
static struct vmcb_seg *vmx_seg(struct vmx_vcpu *vmx, int i)
{
	struct vmcb_seg *segs[] = {
		&vmx->segs.es, &vmx->segs.cs, &vmx->segs.ss, &vmx->segs.ds,
		&vmx->segs.fs, &vmx->segs.gs,
	};

	return segs[i];
}

static u64 vmx_cr0_real(u64 cr0)
{
	return (cr0 | vmx_cr0_fixed0) & vmx_cr0_fixed1;
}

static u64 vmx_cr4_real(u64 cr4)
{
	return (cr4 | vmx_cr4_fixed0) & vmx_cr4_fixed1;
}

/* The bits of CR0 and CR4 the host owns: the guest reads them shadowed. */
static u64 vmx_cr0_mask(void)
{
	return (vmx_cr0_fixed0 | ~vmx_cr0_fixed1) & 0xffffffffULL;
}

static u64 vmx_cr4_mask(void)
{
	return (vmx_cr4_fixed0 | ~vmx_cr4_fixed1) & 0xffffffffULL;
}

static u32 vmx_entry_controls(const struct vmx_vcpu *vmx)
{
	return vmx_entry_ctls | ((vmx->x.efer & EFER_LMA) ? VM_ENTRY_IA32E_MODE : 0);
}

static u64 vmx_guest_efer(const struct vmx_vcpu *vmx)
{
	return vmx->x.efer;
}

/* The whole guest state of the copy in memory into the VMCS. */
static void vmx_write_guest(struct vmx_vcpu *vmx)
{
	struct x86_segs *s = &vmx->segs;
	int i;

	for (i = 0; i < ARRAY_SIZE(vmx_seg_fields); i++) {
		const struct vmcb_seg *seg = vmx_seg(vmx, i);

		vmcs_write(vmx_seg_fields[i].sel, seg->selector);
		vmcs_write(vmx_seg_fields[i].limit, seg->limit);
		vmcs_write(vmx_seg_fields[i].ar, vmx_ar(seg, false));
		vmcs_write(vmx_seg_fields[i].base, seg->base);
	}
	vmcs_write(GUEST_LDTR_SELECTOR, s->ldtr.selector);
	vmcs_write(GUEST_LDTR_LIMIT, s->ldtr.limit);
	vmcs_write(GUEST_LDTR_AR_BYTES, vmx_ar(&s->ldtr, true));
	vmcs_write(GUEST_LDTR_BASE, s->ldtr.base);
	vmcs_write(GUEST_TR_SELECTOR, s->tr.selector);
	vmcs_write(GUEST_TR_LIMIT, s->tr.limit);
	vmcs_write(GUEST_TR_AR_BYTES, vmx_ar(&s->tr, true));
	vmcs_write(GUEST_TR_BASE, s->tr.base);
	vmcs_write(GUEST_GDTR_BASE, s->gdtr.base);
	vmcs_write(GUEST_GDTR_LIMIT, s->gdtr.limit);
	vmcs_write(GUEST_IDTR_BASE, s->idtr.base);
	vmcs_write(GUEST_IDTR_LIMIT, s->idtr.limit);

	vmcs_write(GUEST_CR0, vmx_cr0_real(vmx->cr0));
	vmcs_write(CR0_READ_SHADOW, vmx->cr0);
	vmcs_write(GUEST_CR3, vmx->cr3);
	vmcs_write(GUEST_CR4, vmx_cr4_real(vmx->cr4));
	vmcs_write(CR4_READ_SHADOW, vmx->cr4);
	vmcs_write(GUEST_DR7, vmx->dr7);
	vmcs_write(GUEST_IA32_EFER, vmx_guest_efer(vmx));
	if (vmx_entry_ctls & VM_ENTRY_LOAD_IA32_PAT)
		vmcs_write(GUEST_IA32_PAT, vmx->pat);
	vmcs_write(VM_ENTRY_CONTROLS, vmx_entry_controls(vmx));
	vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(GUEST_SYSENTER_CS, vmx->x.msrs.sysenter_cs);
	vmcs_write(GUEST_SYSENTER_ESP, vmx->x.msrs.sysenter_esp);
	vmcs_write(GUEST_SYSENTER_EIP, vmx->x.msrs.sysenter_eip);
	if (vmx_proc & CPU_BASED_USE_TSC_OFFSETTING)
		vmcs_write(TSC_OFFSET, vmx->x.msrs.tsc_offset);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmx->dirty = false;
}

/* After an exit: the copy in memory from the VMCS. */
static void vmx_read_guest(struct vmx_vcpu *vmx)
{
	struct x86_segs *s = &vmx->segs;
	u64 cr0m = vmx_cr0_mask(), cr4m = vmx_cr4_mask();
	int i;

	for (i = 0; i < ARRAY_SIZE(vmx_seg_fields); i++) {
		struct vmcb_seg *seg = vmx_seg(vmx, i);

		seg->selector = vmcs_read(vmx_seg_fields[i].sel);
		seg->limit = vmcs_read(vmx_seg_fields[i].limit);
		seg->attrib = vmx_attrib(vmcs_read(vmx_seg_fields[i].ar));
		seg->base = vmcs_read(vmx_seg_fields[i].base);
	}
	s->ldtr.selector = vmcs_read(GUEST_LDTR_SELECTOR);
	s->ldtr.limit = vmcs_read(GUEST_LDTR_LIMIT);
	s->ldtr.attrib = vmx_attrib(vmcs_read(GUEST_LDTR_AR_BYTES));
	s->ldtr.base = vmcs_read(GUEST_LDTR_BASE);
	s->tr.selector = vmcs_read(GUEST_TR_SELECTOR);
	s->tr.limit = vmcs_read(GUEST_TR_LIMIT);
	s->tr.attrib = vmx_attrib(vmcs_read(GUEST_TR_AR_BYTES));
	s->tr.base = vmcs_read(GUEST_TR_BASE);
	s->gdtr.base = vmcs_read(GUEST_GDTR_BASE);
	s->gdtr.limit = vmcs_read(GUEST_GDTR_LIMIT);
	s->idtr.base = vmcs_read(GUEST_IDTR_BASE);
	s->idtr.limit = vmcs_read(GUEST_IDTR_LIMIT);
	vmx->cpl = (s->ss.attrib >> SVM_SELECTOR_DPL_SHIFT) & 3;

	vmx->cr0 = (vmcs_read(GUEST_CR0) & ~cr0m) | (vmx->cr0 & cr0m);
	vmx->cr3 = vmcs_read(GUEST_CR3);
	vmx->cr4 = (vmcs_read(GUEST_CR4) & ~cr4m) | (vmx->cr4 & cr4m);
	vmx->dr7 = vmcs_read(GUEST_DR7);
	vmx->x.efer = vmcs_read(GUEST_IA32_EFER);
	if (vmx_exit_ctls & VM_EXIT_SAVE_IA32_PAT)
		vmx->pat = vmcs_read(GUEST_IA32_PAT);
	vmx->stale = false;
}

/* Controls and host state: once per VMPTRLD on a CPU (KVM's pattern). */
static void vmx_write_controls(struct vmx_vcpu *vmx)
{
	struct vmx_vm *v = vmx->vcpu->vm->arch;
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	int cpu = smp_processor_id();
	u64 msr;

	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_pin);
	/* Without a VPID of its own the guest shares 0, flushed each time. */
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmx->vpid ? vmx_proc2 :
		   vmx_proc2 & ~SECONDARY_EXEC_ENABLE_VPID);
	vmcs_write(VM_EXIT_CONTROLS, vmx_exit_ctls);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(EPT_POINTER, v->eptp);
	if (vmx->vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, vmx->vpid);
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);
	vmcs_write(CR0_GUEST_HOST_MASK, vmx_cr0_mask());
	vmcs_write(CR4_GUEST_HOST_MASK, vmx_cr4_mask());

	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(HOST_DS_SELECTOR, 0);
	vmcs_write(HOST_ES_SELECTOR, 0);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmcs_write(HOST_TR_BASE,
		   (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	vmcs_write(HOST_GDTR_BASE, (unsigned long)get_current_gdt_ro());
	vmcs_write(HOST_IDTR_BASE, vc->idt.address);
	vmcs_write(HOST_GS_BASE, cpu_kernelmode_gs_base(cpu));
	/* VM exit loads these MSRs: the host's values of this CPU. */
	rdmsrl(MSR_IA32_SYSENTER_CS, msr);
	vmcs_write(HOST_IA32_SYSENTER_CS, msr);
	rdmsrl(MSR_IA32_SYSENTER_ESP, msr);
	vmcs_write(HOST_IA32_SYSENTER_ESP, msr);
	rdmsrl(MSR_IA32_SYSENTER_EIP, msr);
	vmcs_write(HOST_IA32_SYSENTER_EIP, msr);
	vmcs_write(HOST_IA32_EFER, __rdmsr(MSR_EFER));
	if (vmx_exit_ctls & VM_EXIT_LOAD_IA32_PAT)
		vmcs_write(HOST_IA32_PAT, vmx_host_pat);
	vmcs_write(HOST_RIP, (unsigned long)axvcpu_vmx_exit);
}

/* Make the vCPU's VMCS active and current here.  Preemption is off. */
static int vmx_load(struct vmx_vcpu *vmx)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	int cpu = smp_processor_id();
	unsigned long flags;
	int r;

	if (vmx->cpu == cpu) {
		if (vc->current_vmcs == vmx)
			return 0;
		r = vmcs_load(vmx->vmcs_pa);
		if (!r)
			vc->current_vmcs = vmx;
		return r;
	}
	if (vmx->cpu >= 0)	/* still active elsewhere: unbind first */
		return -EIO;

	local_irq_save(flags);
	r = vmcs_clear(vmx->vmcs_pa);
	if (!r)
		r = vmcs_load(vmx->vmcs_pa);
	if (!r) {
		vc->current_vmcs = vmx;
		vmx_loaded_busy(vc, true);
		list_add(&vmx->loaded_link, &vc->loaded);
		vmx_loaded_busy(vc, false);
		vmx->cpu = cpu;
		vmx->launched = false;
	}
	local_irq_restore(flags);
	if (r)
		return r;
	vmx_write_controls(vmx);
	vmx->cache.valid = false;
	/* Guest-physical and linear mappings from an earlier stay are stale. */
	vmx->dirty = true;
	vmx->flush = true;
	return 0;
}

/*
 * A stale copy from the VMCS, on the CPU where the VMCS is active, with
 * interrupts off (an IPI may VMPTRLD another VMCS here).
 */
static void vmx_sync_here(struct vmx_vcpu *vmx)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);

	lockdep_assert_irqs_disabled();
	if (!vmx->stale || vmx->cpu != smp_processor_id())
		return;
	if (vc->current_vmcs != vmx) {
		if (vmcs_load(vmx->vmcs_pa))
			return;
		vc->current_vmcs = vmx;
	}
	vmx_read_guest(vmx);
}

static void vmx_sync_fn(void *data)
{
	vmx_sync_here(data);
}

/* Before the copy in memory is read outside the run step. */
static void vmx_sync_guest(struct vmx_vcpu *vmx)
{
	unsigned long flags;
	int cpu;

	if (!vmx->stale)
		return;
	cpu = get_cpu();
	if (READ_ONCE(vmx->cpu) == cpu) {
		local_irq_save(flags);
		vmx_sync_here(vmx);
		local_irq_restore(flags);
	} else if (READ_ONCE(vmx->cpu) >= 0) {
		smp_call_function_single(vmx->cpu, vmx_sync_fn, vmx, 1);
	}
	put_cpu();
}

/* --- vCPU lifetime and steps -------------------------------------------- */

/* The state KVM gives a new vCPU: real mode at the reset vector. */
static void vmx_reset(struct vmx_vcpu *vmx)
{
	struct axvcpu_vcpu *vcpu = vmx->vcpu;

	x86_reset_regs(&vmx->x);
	x86_msrs_reset(&vmx->x, vcpu->vcpu_id);
	memset(&vmx->segs, 0, sizeof(vmx->segs));
	x86_reset_segs(&vmx->segs, &vmx->rip);
	vmx->cpl = 0;
	vmx->rflags = X86_EFLAGS_FIXED;
	vmx->cr0 = X86_RESET_CR0;
	vmx->cr2 = 0;
	vmx->cr3 = 0;
	vmx->cr4 = 0;
	vmx->cr8 = 0;
	vmx->dr7 = X86_RESET_DR7;
	vmx->pat = X86_RESET_PAT;
	vmx->kernel_gs_base = 0;
	vmx->intr_state = 0;
	vmx->event = 0;
	vmx->window = false;
	vmx->nmi_window = false;
	vmx->dirty = true;
	vmx->flush = true;
	bitmap_zero(vcpu->irq_pending, AXVCPU_NR_IRQS);
}

static int vmx_vm_init(struct axvcpu_vm *vm)
{
	struct vmx_vm *v;
	int r;

	v = kzalloc(sizeof(*v), GFP_KERNEL_ACCOUNT);
	if (!v)
		return -ENOMEM;
	r = x86_tdp_init(&v->tdp, &vmx_ept_format);
	if (r) {
		kfree(v);
		return r;
	}
	v->eptp = virt_to_phys(v->tdp.root) | EPTP_WB_4LEVEL;
	v->serial = x86_vm_serial();
	vm->arch = v;
	return 0;
}

static void vmx_vm_destroy(struct axvcpu_vm *vm)
{
	x86_irqchip_free(vm);
	x86_msr_filter_free(vm);
	x86_tdp_free(&((struct vmx_vm *)vm->arch)->tdp);
	kfree(vm->arch);
	vm->arch = NULL;
}

static int vmx_map(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	return x86_tdp_map(&((struct vmx_vm *)vm->arch)->tdp, slot);
}

/* A mapping went: every vCPU runs INVEPT before its next entry (tdp.gen). */
static void vmx_unmap(struct axvcpu_vm *vm, struct axvcpu_memslot *slot)
{
	x86_tdp_unmap(&((struct vmx_vm *)vm->arch)->tdp, slot);
}

static int vmx_vcpu_create(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx;
	int r = -ENOMEM;

	vmx = kzalloc(sizeof(*vmx), GFP_KERNEL_ACCOUNT);
	if (!vmx)
		return -ENOMEM;
	vmx->vmcs = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!vmx->vmcs)
		goto out_free_vmx;
	if (!fpu_alloc_guest_fpstate(&vmx->fpu))
		goto out_free_page;
	vmx->x.gfpu = &vmx->fpu;
	vmx->x.xcr0_allowed = vmx_host_xcr0 & vmx->fpu.fpstate->xfeatures &
			     ~X86_XCR0_HIDDEN;
	/* When they run out, VPID 0: no tag, flushed on every transition. */
	vmx->vpid = 0;
	if (vmx_vpid_ok) {
		r = ida_alloc_range(&vmx_vpids, 1, VMX_NR_VPIDS - 1,
				    GFP_KERNEL_ACCOUNT);
		if (r == -ENOMEM)
			goto out_free_fpu;
		vmx->vpid = max(r, 0);
	}
	*(u32 *)page_address(vmx->vmcs) = vmx_revision;
	vmx->vmcs_pa = page_to_phys(vmx->vmcs);
	vmx->cpu = -1;
	INIT_LIST_HEAD(&vmx->loaded_link);
	vmx->vcpu = vcpu;
	vcpu->arch = vmx;
	vmx_reset(vmx);
	r = x86_lapic_create(vcpu, &vmx->x);
	if (r)
		goto out_free_vpid;
	return 0;

out_free_vpid:
	vcpu->arch = NULL;
	if (vmx->vpid)
		ida_free(&vmx_vpids, vmx->vpid);
out_free_fpu:
	fpu_free_guest_fpstate(&vmx->fpu);
out_free_page:
	__free_page(vmx->vmcs);
out_free_vmx:
	kfree(vmx);
	return r;
}

static int vmx_vcpu_unbind(struct axvcpu_vcpu *vcpu);

static void vmx_vcpu_destroy(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	/* Released by the core before; a VMCS still active must not be freed. */
	if (READ_ONCE(vmx->cpu) >= 0)
		vmx_vcpu_unbind(vcpu);
	if (vmx->vpid)
		ida_free(&vmx_vpids, vmx->vpid);
	x86_lapic_free(vcpu, &vmx->x);
	x86_cpuid_free(&vmx->x);
	fpu_free_guest_fpstate(&vmx->fpu);
	__free_page(vmx->vmcs);
	kfree(vmx);
	vcpu->arch = NULL;
}

static int vmx_vcpu_setup(struct axvcpu_vcpu *vcpu,
			  const struct axvcpu_setup *setup)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->x.hypercall_exit = setup->flags & AXVCPU_SETUP_HYPERCALL;
	if (setup->flags & AXVCPU_SETUP_ENTRY) {
		x86_set_entry(&vmx->segs, &vmx->rip, setup->entry);
		vmx->dirty = true;
	}
	return 0;
}

/* Here, with preemption off: VMCLEAR where it was active, VMPTRLD here. */
static int vmx_vcpu_bind(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int cpu = READ_ONCE(vmx->cpu);

	if (cpu >= 0 && cpu != smp_processor_id())
		smp_call_function_single(cpu, vmx_clear_fn, vmx, 1);
	return vmx_load(vmx);
}

/*
 * VMCLEAR the VMCS where it is active (an IPI when that is another CPU: a
 * vCPU whose thread moved unbinds on the new CPU).  A CPU that went
 * offline cleared its VMCSs when VMX was turned off there.
 */
static int vmx_vcpu_unbind(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int cpu = READ_ONCE(vmx->cpu);

	if (cpu < 0)
		return 0;
	if (cpu == get_cpu())
		vmx_clear_here(vmx);
	else
		smp_call_function_single(cpu, vmx_clear_fn, vmx, 1);
	put_cpu();
	if (READ_ONCE(vmx->cpu) >= 0) {
		pr_err_ratelimited("axvcpu: vmx: cannot clear the VMCS on CPU %d\n",
				   cpu);
		return -EIO;
	}
	return 0;
}

static int vmx_vcpu_reset(struct axvcpu_vcpu *vcpu)
{
	vmx_reset(to_vmx(vcpu));
	return 0;
}

/* --- entering the guest --------------------------------------------------- */

static bool vmx_interruptible(const struct vmx_vcpu *vmx)
{
	return (vmx->rflags & X86_EFLAGS_IF) &&
	       !(vmx->intr_state & (GUEST_INTR_STATE_STI |
				    GUEST_INTR_STATE_MOV_SS));
}

static bool vmx_vcpu_interruptible(struct axvcpu_vcpu *vcpu)
{
	return vmx_interruptible(to_vmx(vcpu));
}

/* The types of an event to inject are SVM's (struct x86_events). */
static_assert(SVM_EVTINJ_TYPE_INTR == INTR_TYPE_EXT_INTR);
static_assert(SVM_EVTINJ_TYPE_NMI == INTR_TYPE_NMI_INTR);
static_assert(SVM_EVTINJ_TYPE_EXEPT == INTR_TYPE_HARD_EXCEPTION);
static_assert(SVM_EVTINJ_VALID_ERR == INTR_INFO_DELIVER_CODE_MASK);
static_assert(SVM_EVTINJ_VALID == INTR_INFO_VALID_MASK);

/* A BLOCKED vCPU with an in-kernel APIC wakes when that makes it runnable. */
static bool vmx_vcpu_runnable(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	return vmx->x.apic && x86_lapic_runnable(vmx->x.apic,
						 vmx_interruptible(vmx));
}

/*
 * An NMI of KVM_NMI first (virtual NMIs: the CPU blocks the next one until
 * the guest's IRET), then the highest injected vector when the guest can
 * take it; until then, and for request_interrupt_window, wait for the
 * window to open.
 */
static void vmx_inject_pending(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	bool block = x86_gdbg_block_irq(&vmx->x);
	int vec;

	/* KVM_GUESTDBG_BLOCKIRQ: neither an NMI nor the irqchip's go in. */
	vmx->nmi_window = false;
	vmx->window = false;
	if (!block &&
	    x86_next_nmi(&vmx->x, vmx->event & INTR_INFO_VALID_MASK,
			 vmx->intr_state & (GUEST_INTR_STATE_STI |
					    GUEST_INTR_STATE_MOV_SS |
					    GUEST_INTR_STATE_NMI),
			 &vmx->nmi_window))
		vmx->event = INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR |
			     X86_TRAP_NMI;
	/* With an in-kernel APIC, the guest's CR8 is its TPR. */
	if (vmx->x.apic)
		vmx->cr8 = x86_lapic_sync_cr8(vmx->x.apic, vmx->cr8);
	/* KVM_INTERRUPT's vector counts as injected already, as in KVM. */
	vec = x86_next_irq(vcpu, block ? NULL : vmx->x.apic,
			   vmx->event & INTR_INFO_VALID_MASK,
			   vmx_interruptible(vmx), &vmx->window);
	if (vec >= 0)
		vmx->event = INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | vec;
}

static void vmx_read_exit(struct vmx_vcpu *vmx)
{
	struct vmx_exit *e = &vmx->exit;
	u16 basic;

	e->reason = vmcs_read(VM_EXIT_REASON);
	e->qual = vmcs_read(EXIT_QUALIFICATION);
	e->intr_info = vmcs_read(VM_EXIT_INTR_INFO);
	e->idt_info = vmcs_read(IDT_VECTORING_INFO_FIELD);
	e->insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	/* The rest where the exit defines it: a VMREAD less for most. */
	e->idt_err = 0;
	if ((e->idt_info & VECTORING_INFO_VALID_MASK) &&
	    (e->idt_info & VECTORING_INFO_DELIVER_CODE_MASK))
		e->idt_err = vmcs_read(IDT_VECTORING_ERROR_CODE);
	basic = e->reason;
	e->insn_info = basic == EXIT_REASON_IO_INSTRUCTION ?
		       vmcs_read(VMX_INSTRUCTION_INFO) : 0;
	e->gpa = basic == EXIT_REASON_EPT_VIOLATION ||
		 basic == EXIT_REASON_EPT_MISCONFIG ?
		 vmcs_read(GUEST_PHYSICAL_ADDRESS) : 0;
}

/* A field every entry sets, written only when the VMCS holds another value. */
static void vmcs_write_cached(struct vmx_vcpu *vmx, unsigned long field,
			      u64 val, u64 *cached)
{
	if (vmx->cache.valid && *cached == val)
		return;
	vmcs_write(field, val);
	*cached = val;
}

/*
 * The guest's XCR0, CR2, KERNEL_GS_BASE, breakpoints and PKRU, which VM
 * entry does not load.
 */
static bool vmx_switch_to_guest(struct vmx_vcpu *vmx, u64 *host_kgs)
{
	/* Without the host's XSAVE (noxsave) XSETBV would fault. */
	bool switch_xcr0 = vmx_host_xcr0 && (vmx->cr4 & X86_CR4_OSXSAVE) &&
			   vmx->x.xcr0 != vmx_host_xcr0;

	if (switch_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vmx->x.xcr0);
	if (native_read_cr2() != vmx->cr2)
		native_write_cr2(vmx->cr2);
	rdmsrl(MSR_KERNEL_GS_BASE, *host_kgs);
	wrmsrl(MSR_KERNEL_GS_BASE, vmx->kernel_gs_base);
	x86_uret_load(vmx->x.uret, vmx_uret_mask);
	x86_switch_to_guest(&vmx->x, vmx->dr7, vmx->cr4);
	return switch_xcr0;
}

/* After the exit: what VM exit left as the guest's or reset (KVM's list). */
static void vmx_switch_to_host(struct vmx_vcpu *vmx, bool switch_xcr0,
			       u64 host_kgs, u16 ds, u16 es, u16 fs, u16 gs,
			       u64 fs_base)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);

	x86_switch_to_host(&vmx->x);
	vmx->cr2 = native_read_cr2();
	rdmsrl(MSR_KERNEL_GS_BASE, vmx->kernel_gs_base);
	/* VM exit sets the GDT and IDT limits to 0xffff and TR's to 0x67. */
	load_fixmap_gdt(smp_processor_id());
	load_idt(&vc->idt);
	invalidate_tss_limit();
	loadsegment(ds, ds);
	loadsegment(es, es);
	/* VM exit loaded null FS and GS selectors: a non-null one comes back. */
	if (fs) {
		loadsegment(fs, fs);
		wrmsrl(MSR_FS_BASE, fs_base);
	}
	if (gs)
		load_gs_index(gs);
	wrmsrl(MSR_KERNEL_GS_BASE, host_kgs);
	if (switch_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vmx_host_xcr0);
}

/* The exceptions that push an error code (VM entry checks it). */
#define VMX_EXC_ERR_CODE	(BIT(X86_TRAP_DF) | BIT(X86_TRAP_TS) |	\
				 BIT(X86_TRAP_NP) | BIT(X86_TRAP_SS) |	\
				 BIT(X86_TRAP_GP) | BIT(X86_TRAP_PF) |	\
				 BIT(X86_TRAP_AC))

/*
 * An error code only where VM entry wants one: a hardware exception that
 * pushes one, outside real mode (KVM_SET_VCPU_EVENTS may ask for any; KVM
 * drops it in real mode too).  VM entry takes its low 16 bits.
 */
static void vmx_entry_event(struct vmx_vcpu *vmx)
{
	u32 vec = vmx->event & INTR_INFO_VECTOR_MASK;

	if ((vmx->event & INTR_INFO_INTR_TYPE_MASK) != INTR_TYPE_HARD_EXCEPTION ||
	    !(vmx->cr0 & X86_CR0_PE) || vec >= 32 ||
	    !(BIT(vec) & VMX_EXC_ERR_CODE))
		vmx->event &= ~INTR_INFO_DELIVER_CODE_MASK;
}

/*
 * The interruptibility state VM entry accepts with the event it injects:
 * userspace may have set any (KVM_SET_VCPU_EVENTS, KVM_SET_REGS).  No STI
 * shadow with IF clear; no shadow under an interrupt or an NMI, no NMI
 * blocking under an NMI (which sets it).
 */
static u32 vmx_entry_intr_state(struct vmx_vcpu *vmx)
{
	u32 type = vmx->event & INTR_INFO_INTR_TYPE_MASK;
	u32 st = vmx->intr_state;

	/*
	 * A debugger steps over STI and MOV SS: VM entry would want the
	 * trap pending with TF set in their shadow; KVM drops the shadow.
	 */
	if (x86_gdbg_stepping(&vmx->x))
		st &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	if (!(vmx->rflags & X86_EFLAGS_IF))
		st &= ~GUEST_INTR_STATE_STI;
	if ((vmx->event & INTR_INFO_VALID_MASK) &&
	    (type == INTR_TYPE_EXT_INTR || type == INTR_TYPE_NMI_INTR))
		st &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	if ((vmx->event & INTR_INFO_VALID_MASK) && type == INTR_TYPE_NMI_INTR)
		st &= ~GUEST_INTR_STATE_NMI;
	return st;
}

/*
 * Exits answered in the kernel from the registers alone leave the rest of
 * the guest state in the VMCS, as KVM's register cache does: about fifty
 * VMREADs fewer.  CR4 and DR7 are read all the same: the next entry
 * switches XCR0 and the breakpoints on them, CPUID reads OSXSAVE, and the
 * guest changes those bits without an exit.  The copy in memory is read
 * when the next exit needs it, before KVM_RUN returns and before the VMCS
 * is cleared.
 */
static bool vmx_exit_lazy(struct vmx_vcpu *vmx)
{
	u64 cr4m = vmx_cr4_mask();

	switch (vmx->exit.reason) {
	case EXIT_REASON_CPUID:
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_PREEMPTION_TIMER:
		vmx->cr4 = (vmcs_read(GUEST_CR4) & ~cr4m) | (vmx->cr4 & cr4m);
		vmx->dr7 = vmcs_read(GUEST_DR7);
		return true;
	default:
		return false;
	}
}

/*
 * #DB and #AC: a guest can make their delivery raise them again, a loop in
 * the CPU that no interrupt ends (CVE-2015-8104, CVE-2015-5307).  #MC: the
 * host's.  #UD: VMMCALL.  #BP: the debugger's (KVM_GUESTDBG_USE_SW_BP).
 */
static u32 vmx_exception_bitmap(const struct vmx_vcpu *vmx)
{
	return BIT(X86_TRAP_DB) | BIT(X86_TRAP_UD) | BIT(X86_TRAP_AC) |
	       BIT(X86_TRAP_MC) |
	       (vmx->x.gdbg.control & KVM_GUESTDBG_USE_SW_BP ?
		BIT(X86_TRAP_BP) : 0);
}

/* Preemption and interrupts off, on the bound CPU, current vCPU set. */
static int vmx_vcpu_run(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_entry_cache *c = &vmx->cache;
	struct vmx_vm *v = vcpu->vm->arch;
	s64 gen = atomic64_read(&v->tdp.gen);
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpu);
	unsigned long debugctl;
	u16 ds, es, fs, gs;
	bool switch_xcr0;
	u64 host_kgs, fs_base;
	u32 proc, intr_state, eb;
	int r;

	/* Halted, or waiting for INIT/SIPI: x86_lapic_exit() says what next. */
	if (vmx->x.apic &&
	    !x86_lapic_may_enter(vmx->x.apic, vmx_interruptible(vmx))) {
		vmx->x.apic_exit = true;
		return 0;
	}
	x86_fpu_reload();
	r = vmx_load(vmx);
	if (r)
		return r;
	/* The CPU switches between VMs: no branch prediction crosses. */
	if (vc->last_vm != v->serial) {
		vc->last_vm = v->serial;
		indirect_branch_prediction_barrier();
	}
	if (vmx->tdp_gen != gen || vmx->flush) {
		ept_invalidate(vmx_invept_single ? VMX_EPT_EXTENT_CONTEXT :
		       VMX_EPT_EXTENT_GLOBAL, v->eptp);
		if (vmx->vpid)
			vpid_invalidate(vmx_invvpid_single ?
				VMX_VPID_EXTENT_SINGLE_CONTEXT :
				VMX_VPID_EXTENT_ALL_CONTEXT, vmx->vpid);
		vmx->tdp_gen = gen;
		vmx->flush = false;
	}
	vmx_inject_pending(vcpu);

	if (vmx->dirty)
		vmx_write_guest(vmx);
	vmcs_write_cached(vmx, GUEST_RIP, vmx->rip, &c->rip);
	vmcs_write_cached(vmx, GUEST_RSP, vmx->x.regs[__VCPU_REGS_RSP], &c->rsp);
	vmcs_write_cached(vmx, GUEST_RFLAGS, vmx->rflags, &c->rflags);
	/* A new MSR filter kicks the vCPU out of guest mode to come here. */
	vmcs_write_cached(vmx, MSR_BITMAP,
			  page_to_phys(READ_ONCE(vcpu->vm->msr_exit_all) ?
				       vmx_msr_bitmap_all : vmx_msr_bitmap),
			  &c->msr_bitmap);
	intr_state = vmx_entry_intr_state(vmx);
	if (!c->valid || c->intr_state != intr_state) {
		vmcs_write(GUEST_INTERRUPTIBILITY_INFO, intr_state);
		c->intr_state = intr_state;
	}
	vmx_entry_event(vmx);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, vmx->event);
	if (vmx->event & INTR_INFO_DELIVER_CODE_MASK)
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, (u16)vmx->event_err);
	if (vmx->event)
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vmx->event_len);
	proc = vmx_proc | (vmx->window ? CPU_BASED_INTR_WINDOW_EXITING : 0) |
	       (vmx->nmi_window ? CPU_BASED_NMI_WINDOW_EXITING : 0);
	if (!c->valid || c->proc != proc) {
		vmcs_write(CPU_BASED_VM_EXEC_CONTROL, proc);
		c->proc = proc;
	}
	eb = vmx_exception_bitmap(vmx);
	if (!c->valid || c->eb != eb) {
		vmcs_write(EXCEPTION_BITMAP, eb);
		c->eb = eb;
	}
	if (vmx_preempt_ticks)
		vmcs_write(VMX_PREEMPTION_TIMER_VALUE, vmx_preempt_ticks);

	/* Host state that changes between entries. */
	vmcs_write_cached(vmx, HOST_CR3, __read_cr3(), &c->host_cr3);
	vmcs_write_cached(vmx, HOST_CR4, cr4_read_shadow(), &c->host_cr4);
	savesegment(ds, ds);
	savesegment(es, es);
	savesegment(fs, fs);
	savesegment(gs, gs);
	rdmsrl(MSR_FS_BASE, fs_base);
	vmcs_write_cached(vmx, HOST_FS_BASE, fs_base, &c->host_fs_base);
	c->valid = true;

	/* VM exit clears DEBUGCTL: the host's (LBRs, BTF) comes back. */
	debugctl = get_debugctlmsr();
	switch_xcr0 = vmx_switch_to_guest(vmx, &host_kgs);
	if (vmx_l1d_flush)
		wrmsrl(MSR_IA32_FLUSH_CMD, L1D_FLUSH);
	/* Lockdep and RCU: the CPU is the guest's (KVM's order). */
	guest_state_enter_irqoff();
	r = axvcpu_vmx_enter(vmx->x.regs, vmx->launched);
	guest_state_exit_irqoff();
	if (debugctl)
		update_debugctlmsr(debugctl);
	vmx_switch_to_host(vmx, switch_xcr0, host_kgs, ds, es, fs, gs,
			   fs_base);

	if (r != VMX_ENTER_EXITED)	/* no exit: all of them again */
		c->valid = false;
	if (r == VMX_ENTER_FAULT) {
		pr_err_ratelimited("axvcpu: vmx: VMLAUNCH/VMRESUME faulted (VMX off?)\n");
		return -EIO;
	}
	vmx->event = 0;
	if (r == VMX_ENTER_VMFAIL) {
		vmx->exit.reason = VMX_EXIT_VMFAIL;
		vmx->exit.fail_error = vmcs_read(VM_INSTRUCTION_ERROR);
		pr_err_ratelimited("axvcpu: vmx: %s failed: VM-instruction error %u\n",
				   vmx->launched ? "VMRESUME" : "VMLAUNCH",
				   vmx->exit.fail_error);
		return 0;
	}
	vmx_read_exit(vmx);
	/* A machine check is the host's: its handler runs now. */
	if (unlikely((u16)vmx->exit.reason == EXIT_REASON_MCE_DURING_VMENTRY ||
		     ((u16)vmx->exit.reason == EXIT_REASON_EXCEPTION_NMI &&
		      (vmx->exit.intr_info & (INTR_INFO_INTR_TYPE_MASK |
					      INTR_INFO_VECTOR_MASK)) ==
		      (INTR_TYPE_HARD_EXCEPTION | X86_TRAP_MC))))
		x86_machine_check();
	if (vmx->exit.reason & VMX_ENTRY_FAILED) {
		/* The guest fields may hold what the failed entry loaded. */
		c->valid = false;
		return 0;
	}
	vmx->launched = true;

	/* An NMI of the host's: its handler runs now, as KVM does. */
	if ((vmx->exit.reason & 0xffff) == EXIT_REASON_EXCEPTION_NMI &&
	    (vmx->exit.intr_info & INTR_INFO_INTR_TYPE_MASK) ==
	    INTR_TYPE_NMI_INTR)
		vmx_do_nmi();

	vmx->rip = vmcs_read(GUEST_RIP);
	vmx->x.regs[__VCPU_REGS_RSP] = vmcs_read(GUEST_RSP);
	vmx->rflags = vmcs_read(GUEST_RFLAGS);
	vmx->intr_state = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	c->rip = vmx->rip;
	c->rsp = vmx->x.regs[__VCPU_REGS_RSP];
	c->rflags = vmx->rflags;
	c->intr_state = vmx->intr_state;
	if (vmx_exit_lazy(vmx))
		vmx->stale = true;
	else
		vmx_read_guest(vmx);
	return 0;
}

/* --- exits ---------------------------------------------------------------- */

static void vmx_skip_insn(struct vmx_vcpu *vmx)
{
	/* The instruction is done: a shadow it began (STI, MOV SS) ends. */
	vmx->intr_state &= ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	vmx->rip += vmx->exit.insn_len;
}

static void vmx_inject_exception(struct vmx_vcpu *vmx, unsigned int vec,
				 bool has_err)
{
	vmx->event = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION | vec;
	/* Real mode pushes no error code; VM entry insists. */
	if (has_err && (vmx->cr0 & X86_CR0_PE)) {
		vmx->event |= INTR_INFO_DELIVER_CODE_MASK;
		vmx->event_err = 0;
	}
}

static void vmx_inject_gp(struct vmx_vcpu *vmx)
{
	vmx_inject_exception(vmx, X86_TRAP_GP, true);
}

static void vmx_inject_ud(struct vmx_vcpu *vmx)
{
	vmx_inject_exception(vmx, X86_TRAP_UD, false);
}

static int vmx_internal_error(struct axvcpu_vcpu *vcpu, u32 suberror)
{
	struct vmx_exit *e = &to_vmx(vcpu)->exit;
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 4;
	run->internal.data[0] = e->reason;
	run->internal.data[1] = e->qual;
	run->internal.data[2] = e->gpa;
	run->internal.data[3] = e->idt_info;
	return AXVCPU_EXIT_USER;
}

static void vmx_cpu_mode(const struct vmx_vcpu *vmx, struct x86_cpu_mode *m)
{
	const struct x86_segs *s = &vmx->segs;

	m->cr0 = vmx->cr0;
	m->cr3 = vmx->cr3;
	m->cr4 = vmx->cr4;
	m->efer = vmx->x.efer;
	m->rip = vmx->rip;
	m->rflags = vmx->rflags;
	x86_cpu_mode_segs(m, s);
}

static u64 vmx_linear_rip(struct vmx_vcpu *vmx)
{
	return x86_segs_linear_rip(&vmx->segs, vmx->x.efer, vmx->rip);
}

static int vmx_exit_io(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_exit *e = &vmx->exit;
	struct x86_io io = {
		.port = e->qual >> 16,
		.size = (e->qual & VMX_IO_SIZE_MASK) + 1,
		.in = e->qual & VMX_IO_IN,
		.string = e->qual & VMX_IO_STRING,
		.rep = e->qual & VMX_IO_REP,
		.seg = X86_SEG_DS,
		.next_rip = vmx->rip + e->insn_len,
	};
	struct x86_cpu_mode m;
	u64 rip = vmx->rip;
	int r;

	/* INS/OUTS: the address size and OUTS's segment, where reported. */
	if (io.string && vmx_inout_info) {
		io.asize = 2 << ((e->insn_info >> 7) & 7);
		io.seg = (e->insn_info >> 15) & 7;
	}
	if (io.string)
		vmx_cpu_mode(vmx, &m);
	r = x86_exit_io(vcpu, &vmx->x, &m, &io, &vmx->rip);
	if (r == X86_EXIT_EMULATION_FAILED)
		return vmx_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION);
	if (vmx->rip != rip)
		vmx->intr_state &= ~(GUEST_INTR_STATE_STI |
				     GUEST_INTR_STATE_MOV_SS);
	return r;
}

/* No slot, or a write to a read-only one: MMIO for userspace. */
static int vmx_exit_ept_violation(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 q = vmx->exit.qual;
	struct x86_cpu_mode m;

	/*
	 * A logged page written (the guest's table walk too, for its A/D
	 * bits), or a slot changed meanwhile: nothing for userspace.
	 */
	if (axvcpu_stage2_fault(vcpu->vm, vmx->exit.gpa,
				q & EPT_VIOLATION_ACC_WRITE))
		return AXVCPU_EXIT_CONTINUE;
	vmx_cpu_mode(vmx, &m);
	if ((q & EPT_VIOLATION_ACC_INSTR) ||
	    !(q & BIT(EPT_VIOLATION_GVA_IS_VALID_BIT)) ||
	    !(q & BIT(EPT_VIOLATION_GVA_TRANSLATED_BIT)))
		return vmx_internal_error(vcpu, KVM_INTERNAL_ERROR_EMULATION);
	return x86_exit_mmio(vcpu, &vmx->x, &m, vmx->exit.gpa, &vmx->rip,
			     &vmx->rflags);
}

static const struct x86_sregs_ops vmx_sregs_ops;

static int vmx_exit_msr(struct axvcpu_vcpu *vcpu, bool write)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	switch (x86_guest_msr(vcpu, &vmx->x, &vmx_sregs_ops, write,
			      vmx->rip + vmx->exit.insn_len)) {
	case X86_MSR_USER:
		return AXVCPU_EXIT_USER;
	case X86_MSR_GP:
		vmx_inject_gp(vmx);
		break;
	case X86_MSR_SKIP:
		vmx_skip_insn(vmx);
		break;
	}
	return AXVCPU_EXIT_CONTINUE;
}

/* A guest CR0 write: paging on with LME set enters long mode. */
static bool vmx_set_cr0(struct vmx_vcpu *vmx, u64 val)
{
	if ((val >> 32) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
	    ((val & X86_CR0_NW) && !(val & X86_CR0_CD)))
		return false;
	if ((val & X86_CR0_PG) && !(vmx->cr0 & X86_CR0_PG) &&
	    (vmx->x.efer & EFER_LME)) {
		if (!(vmx->cr4 & X86_CR4_PAE))
			return false;
		vmx->x.efer |= EFER_LMA;
	} else if (!(val & X86_CR0_PG)) {
		vmx->x.efer &= ~(u64)EFER_LMA;
	}
	vmx->cr0 = val;
	return true;
}

/* CR0 and CR4 writes that touch a host-owned bit; CR8, which is ours. */
static int vmx_exit_cr(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 q = vmx->exit.qual;
	unsigned int cr = q & CONTROL_REG_ACCESS_NUM;
	unsigned int type = (q & CONTROL_REG_ACCESS_TYPE) >> 4;
	unsigned long *reg = &vmx->x.regs[(q >> 8) & 15];
	bool ok = true;

	switch (type) {
	case VMX_CR_MOV_TO:
		if (cr == 0)
			ok = vmx_set_cr0(vmx, *reg);
		else if (cr == 4)
			ok = !(*reg >> 32) && !(*reg & X86_CR4_VMXE);
		else if (cr == 8)
			ok = !(*reg & ~0xfUL);
		else
			return vmx_internal_error(vcpu,
					KVM_INTERNAL_ERROR_EMULATION);
		if (ok && cr == 4)
			vmx->cr4 = *reg;
		if (ok && cr == 8)
			vmx->cr8 = *reg;
		break;
	case VMX_CR_MOV_FROM:
		if (cr != 8)
			return vmx_internal_error(vcpu,
					KVM_INTERNAL_ERROR_EMULATION);
		*reg = vmx->cr8;
		break;
	case VMX_CR_CLTS:
		vmx->cr0 &= ~(u64)X86_CR0_TS;
		break;
	case VMX_CR_LMSW:
		/* LMSW sets PE but never clears it. */
		vmx->cr0 = (vmx->cr0 & ~0xeULL) | ((q >> 16) & 0xf) |
			   (vmx->cr0 & X86_CR0_PE);
		break;
	}
	if (!ok) {
		vmx_inject_gp(vmx);
		return AXVCPU_EXIT_CONTINUE;
	}
	vmx->dirty = true;
	vmx_skip_insn(vmx);
	return AXVCPU_EXIT_CONTINUE;
}

/* MOV to or from DRn: the exit qualification names it all. */
static int vmx_exit_dr(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 q = vmx->exit.qual;
	struct x86_dr_access a = {
		.dr = q & VMX_DR_NUM,
		.gpr = (q >> VMX_DR_GPR_SHIFT) & 15,
		.write = !(q & VMX_DR_FROM),
	};
	struct x86_cpu_mode m;
	int vec;

	vmx_cpu_mode(vmx, &m);
	vec = x86_mov_dr(&vmx->x, &a, &m, vmx->cpl, &vmx->x.dr6, &vmx->dr7);
	vmx->dirty = true;		/* DR7 */
	if (vec == X86_DR_DEBUG_EXIT)
		return x86_gdbg_exit(vcpu, X86_TRAP_DB, vmx_linear_rip(vmx),
				     X86_RESET_DR6 | X86_DR6_BD, vmx->dr7);
	if (vec >= 0)
		vmx_inject_exception(vmx, vec, vec == X86_TRAP_GP);
	else
		vmx_skip_insn(vmx);
	return AXVCPU_EXIT_CONTINUE;
}

/* VMCALL, or VMMCALL taken from #UD; RIP is past it. */
static int vmx_hypercall(struct axvcpu_vcpu *vcpu, struct vmx_vcpu *vmx)
{
	return x86_exit_hypercall(vcpu, &vmx->x, vmx->cpl,
				  (vmx->x.efer & EFER_LMA) &&
				  (vmx->segs.cs.attrib & SVM_SELECTOR_L_MASK));
}

/*
 * #UD: VMMCALL is AMD's hypercall and #UD on Intel; KVM takes it for a
 * hypercall there too, so guests written for either CPU work.  Any other
 * #UD goes back to the guest.
 */
static int vmx_exit_ud(struct axvcpu_vcpu *vcpu)
{
	static const u8 vmmcall[] = { 0x0f, 0x01, 0xd9 };
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct x86_cpu_mode m;
	u8 insn[3];

	vmx_cpu_mode(vmx, &m);
	if (x86_guest_rw(vcpu->vm, &m, m.cs_base + vmx->rip, insn,
			 sizeof(insn), false) &&
	    !memcmp(insn, vmmcall, sizeof(vmmcall))) {
		vmx->rip += sizeof(vmmcall);
		vmx->intr_state &= ~(GUEST_INTR_STATE_STI |
				     GUEST_INTR_STATE_MOV_SS);
		return vmx_hypercall(vcpu, vmx);
	}
	vmx_inject_ud(vmx);
	return AXVCPU_EXIT_CONTINUE;
}

/*
 * An event the exit cut short is delivered again on entry, but for those
 * an instruction raised (INTn, INT3, INTO): RIP still points at it, so it
 * raises them again.
 */
static void vmx_requeue_event(struct vmx_vcpu *vmx)
{
	u32 info = vmx->exit.idt_info;
	u32 type = info & INTR_INFO_INTR_TYPE_MASK;

	if (!(info & VECTORING_INFO_VALID_MASK) ||
	    type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_SOFT_EXCEPTION ||
	    type == INTR_TYPE_PRIV_SW_EXCEPTION)
		return;
	vmx->event = info & ~INTR_INFO_RESVD_BITS_MASK;
	vmx->event_err = vmx->exit.idt_err;
}

/*
 * A #DB or #AC raised while an event was delivered replaces it: an
 * injected interrupt goes back to the queue instead of being lost.
 */
static void vmx_requeue_irq(struct vmx_vcpu *vmx)
{
	if ((vmx->event & (INTR_INFO_VALID_MASK | INTR_INFO_INTR_TYPE_MASK)) ==
	    (INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR))
		set_bit(vmx->event & INTR_INFO_VECTOR_MASK,
			vmx->vcpu->irq_pending);
}

static int vmx_exit_exception(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u32 info = vmx->exit.intr_info;
	u32 type = info & INTR_INFO_INTR_TYPE_MASK;

	if (type == INTR_TYPE_NMI_INTR)
		return AXVCPU_EXIT_CONTINUE;	/* the host's, handled */
	/* INT3, for the debugger (KVM_GUESTDBG_USE_SW_BP). */
	if ((info & INTR_INFO_VECTOR_MASK) == X86_TRAP_BP &&
	    (vmx->x.gdbg.control & KVM_GUESTDBG_USE_SW_BP)) {
		vmx->x.gdbg.bp_len = vmx->exit.insn_len;
		return x86_gdbg_exit(vcpu, X86_TRAP_BP, vmx_linear_rip(vmx),
				     X86_RESET_DR6, vmx->dr7);
	}
	if (type != INTR_TYPE_HARD_EXCEPTION &&
	    type != INTR_TYPE_PRIV_SW_EXCEPTION)
		goto unexpected;
	switch (info & INTR_INFO_VECTOR_MASK) {
	case X86_TRAP_UD:
		return vmx_exit_ud(vcpu);
	case X86_TRAP_DB:
		/* The debugger's: the qualification is what hit. */
		if (x86_gdbg_owns_db(&vmx->x))
			return x86_gdbg_exit(vcpu, X86_TRAP_DB,
					     vmx_linear_rip(vmx),
					     vmx->exit.qual | X86_RESET_DR6,
					     vmx->dr7);
		vmx_requeue_irq(vmx);
		/* DR6 is the qualification's; INT1 is re-raised with its length. */
		x86_deliver_db(&vmx->x.dr6, &vmx->dr7, vmx->exit.qual);
		vmx->dirty = true;		/* DR7.GD */
		vmx->event = INTR_INFO_VALID_MASK | type | X86_TRAP_DB;
		vmx->event_len = vmx->exit.insn_len;
		return AXVCPU_EXIT_CONTINUE;
	case X86_TRAP_AC:
		vmx_requeue_irq(vmx);
		vmx_inject_exception(vmx, X86_TRAP_AC, true);
		return AXVCPU_EXIT_CONTINUE;
	case X86_TRAP_MC:
		return AXVCPU_EXIT_CONTINUE;	/* the host's, handled */
	}
unexpected:
	return vmx_internal_error(vcpu, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
}

/* For the axvcpu_exit tracepoint. */
static u64 vmx_exit_code(struct axvcpu_vcpu *vcpu)
{
	return to_vmx(vcpu)->exit.reason;
}

static int vmx_dispatch_exit(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_exit *e = &vmx->exit;
	struct kvm_run *run = vcpu->run;

	if (vmx->x.apic_exit)
		return x86_lapic_exit(vcpu, &vmx->x, &vmx_sregs_ops, &vmx->rip);
	if (e->reason == VMX_EXIT_VMFAIL) {
		/* KVM's answer to a VMLAUNCH that failed: the error number. */
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = e->fail_error;
		run->fail_entry.cpu = vcpu->bound_cpu;
		return AXVCPU_EXIT_FAILED;
	}
	if (e->reason & VMX_ENTRY_FAILED) {
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = e->reason;
		run->fail_entry.cpu = vcpu->bound_cpu;
		return AXVCPU_EXIT_FAILED;
	}
	vmx_requeue_event(vmx);

	switch (e->reason & 0xffff) {
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_PREEMPTION_TIMER:
	case EXIT_REASON_INIT_SIGNAL:
	case EXIT_REASON_SIPI_SIGNAL:
		return AXVCPU_EXIT_CONTINUE;
	case EXIT_REASON_EXCEPTION_NMI:
		return vmx_exit_exception(vcpu);
	case EXIT_REASON_NMI_WINDOW:
		vmx->nmi_window = false;	/* the NMI goes in next */
		return AXVCPU_EXIT_CONTINUE;
	case EXIT_REASON_INTERRUPT_WINDOW:
		vmx->window = false;
		if (!x86_irq_pending(vcpu) &&
		    READ_ONCE(run->request_interrupt_window)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			return AXVCPU_EXIT_USER;
		}
		return AXVCPU_EXIT_CONTINUE;
	case EXIT_REASON_HLT:
		vmx_skip_insn(vmx);
		return vmx->x.apic ? x86_lapic_halt(vmx->x.apic) :
				     AXVCPU_EXIT_HALT;
	case EXIT_REASON_IO_INSTRUCTION:
		return vmx_exit_io(vcpu);
	case EXIT_REASON_CPUID:
		x86_exit_cpuid(vcpu, &vmx->x, vmx->cr4);
		vmx_skip_insn(vmx);
		return AXVCPU_EXIT_CONTINUE;
	case EXIT_REASON_VMCALL:
		vmx_skip_insn(vmx);
		return vmx_hypercall(vcpu, vmx);
	case EXIT_REASON_MSR_READ:
		return vmx_exit_msr(vcpu, false);
	case EXIT_REASON_MSR_WRITE:
		return vmx_exit_msr(vcpu, true);
	case EXIT_REASON_CR_ACCESS:
		return vmx_exit_cr(vcpu);
	case EXIT_REASON_DR_ACCESS:
		return vmx_exit_dr(vcpu);
	case EXIT_REASON_WBINVD:
	case EXIT_REASON_INVD:
		/* No device of the guest's caches memory: nothing to flush. */
		vmx_skip_insn(vmx);
		return AXVCPU_EXIT_CONTINUE;
	case EXIT_REASON_RDPMC:
		/* No PMU: #GP, as KVM gives a guest without one. */
		vmx_inject_gp(vmx);
		return AXVCPU_EXIT_CONTINUE;
	case EXIT_REASON_EPT_VIOLATION:
		return vmx_exit_ept_violation(vcpu);
	case EXIT_REASON_XSETBV:
		if (!x86_xsetbv(&vmx->x, vmx->cpl)) {
			vmx_inject_gp(vmx);
			return AXVCPU_EXIT_CONTINUE;
		}
		vmx_skip_insn(vmx);
		return AXVCPU_EXIT_CONTINUE;
	case EXIT_REASON_TRIPLE_FAULT:
		/* As SVM's shutdown: the vCPU starts afresh. */
		vmx_reset(vmx);
		run->exit_reason = KVM_EXIT_SHUTDOWN;
		return AXVCPU_EXIT_USER;
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMOFF:
	case EXIT_REASON_VMON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
	case EXIT_REASON_MWAIT_INSTRUCTION:
	case EXIT_REASON_MONITOR_INSTRUCTION:
	case 11:	/* GETSEC */
		/* Not the guest's: #UD, as on a CPU without them. */
		vmx_inject_ud(vmx);
		return AXVCPU_EXIT_CONTINUE;
	default:
		return vmx_internal_error(vcpu,
				KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
	}
}

static int vmx_handle_exit(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	bool step = x86_gdbg_stepping(&vmx->x) &&
		    (vmx->rflags & X86_EFLAGS_TF) && !vmx->x.apic_exit;
	u64 rip = vmx->rip;
	int r = vmx_dispatch_exit(vcpu);

	if (likely(!step))
		return r;
	/*
	 * The exit's instruction was carried out here, so no single-step
	 * trap came for it (an event injected instead goes first).
	 */
	if (vmx->rip != rip && !(vmx->event & INTR_INFO_VALID_MASK)) {
		vmx_sync_guest(vmx);	/* CS, for the linear RIP */
		r = x86_gdbg_stepped(vcpu, &vmx->x, vmx_linear_rip(vmx),
				     vmx->dr7, r);
	}
	/*
	 * The step of an instruction done here, or by userspace (IN, OUT),
	 * is reported by axvcpu, now or after userspace's answer: a trap
	 * the exit left pending in the VMCS (Bochs saves BS there) must
	 * not come again at the next entry.
	 */
	if (vmx->rip != rip || r == AXVCPU_EXIT_USER)
		vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS,
			   vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS) &
			   ~(u64)DR_STEP);
	return r;
}

/* KVM_RUN begins: finish what userspace answered, switch to guest FPU. */
static int vmx_run_begin(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct x86_cpu_mode m;
	int r = AXVCPU_EXIT_CONTINUE;

	if (vmx->x.pending || vmx->x.gdbg.step_owed) {
		vmx_cpu_mode(vmx, &m);
		r = x86_complete_pending(vcpu, &vmx->x, &vmx_sregs_ops, &m,
					 &vmx->rip, &vmx->rflags, vmx->dr7);
	}
	/* Without an in-kernel APIC the VMM's TPR is CR8 (KVM applies it). */
	if (!vmx->x.apic)
		vmx->cr8 = READ_ONCE(vcpu->run->cr8) & 0xf;
	fpu_swap_kvm_fpstate(&vmx->fpu, true);
	return r;
}

/* KVM_RUN returns: the guest's interrupt status, as KVM reports it. */
static void vmx_run_end(struct axvcpu_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	/* Userspace may read what the last exits left in the VMCS. */
	vmx_sync_guest(vmx);
	fpu_swap_kvm_fpstate(&vmx->fpu, false);
	x86_run_end(vcpu, &vmx->x, vmx->rflags, vmx->cr8,
		    vmx_interruptible(vmx),
		    vmx->event & INTR_INFO_VALID_MASK);
}

/* --- KVM's register ABI: x86_vcpu.c, on the copy in memory --------------- */

static void vmx_get_sregs(struct axvcpu_vcpu *vcpu, struct kvm_sregs *r)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct x86_crs c = {
		.cr0 = vmx->cr0, .cr2 = vmx->cr2, .cr3 = vmx->cr3,
		.cr4 = vmx->cr4, .cr8 = vmx->cr8, .efer = vmx->x.efer,
	};

	x86_get_sregs(&vmx->segs, vmx->cpl, &c, r);
}

static int vmx_set_sregs(struct axvcpu_vcpu *vcpu, const struct kvm_sregs *r)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	if (r->cr4 & X86_CR4_VMXE)
		return -EINVAL;
	if (x86_set_sregs(&vmx->segs, &vmx->cpl, r))
		return -EINVAL;
	vmx->cr0 = r->cr0;
	vmx->cr2 = r->cr2;
	vmx->cr3 = r->cr3;
	vmx->cr4 = r->cr4;
	vmx->cr8 = r->cr8 & 0xf;
	vmx->x.efer = r->efer;
	vmx->dirty = true;
	return 0;
}

/* DR7 goes into the VMCS with the rest of the guest state. */
static void vmx_dr67(struct axvcpu_vcpu *vcpu, u64 **dr6, u64 **dr7)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	*dr6 = &vmx->x.dr6;
	*dr7 = &vmx->dr7;
	vmx->dirty = true;
}

/*
 * The MSRs of the copy in memory: EFER, PAT, KERNEL_GS_BASE (switched by
 * hand around entry), the syscall MSRs and TSC_AUX (uret.c).  Every MSR
 * the guest may write exits (the bitmap passes only FS and GS base), so
 * the copy is always current; SYSENTER_* and the TSC offset are in msr.c,
 * written into the VMCS with the rest of the guest state.
 */
static u64 *vmx_msr_slot(struct vmx_vcpu *vmx, u32 msr)
{
	int i = x86_uret_index(msr);

	if (i >= 0)
		return (vmx_uret_mask & BIT(i)) ? &vmx->x.uret[i] : NULL;
	switch (msr) {
	case MSR_KERNEL_GS_BASE:	return &vmx->kernel_gs_base;
	case MSR_IA32_CR_PAT:		return &vmx->pat;
	case MSR_IA32_SYSENTER_CS:	return &vmx->x.msrs.sysenter_cs;
	case MSR_IA32_SYSENTER_ESP:	return &vmx->x.msrs.sysenter_esp;
	case MSR_IA32_SYSENTER_EIP:	return &vmx->x.msrs.sysenter_eip;
	default:			return NULL;
	}
}

static int vmx_get_msr(struct axvcpu_vcpu *vcpu, u32 msr, u64 *val)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 *p = vmx_msr_slot(vmx, msr);

	if (msr == MSR_EFER)
		*val = vmx->x.efer;
	else if (msr == MSR_FS_BASE)
		*val = vmx->segs.fs.base;
	else if (msr == MSR_GS_BASE)
		*val = vmx->segs.gs.base;
	else if (p)
		*val = *p;
	else
		return x86_uret_index(msr) >= 0 ? 1 : -ENOENT;
	return 0;
}

static int vmx_set_msr(struct axvcpu_vcpu *vcpu, u32 msr, u64 val, bool host)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 *p = vmx_msr_slot(vmx, msr);
	int i = x86_uret_index(msr);

	/* The TSC offset and SYSENTER_* go into the VMCS before entry. */
	vmx->dirty = true;
	if (msr == MSR_EFER) {
		if (!x86_efer_valid(val))
			return 1;
		/* LMA is the CPU's: it follows LME when paging goes on. */
		if (!host)
			val = (val & ~(u64)EFER_LMA) | (vmx->x.efer & EFER_LMA);
		vmx->x.efer = val;
		return 0;
	}
	if (msr == MSR_FS_BASE || msr == MSR_GS_BASE) {
		if (!x86_uret_valid(X86_URET_LSTAR, val))	/* canonical */
			return 1;
		if (msr == MSR_FS_BASE)
			vmx->segs.fs.base = val;
		else
			vmx->segs.gs.base = val;
		return 0;
	}
	if (!p)
		return i >= 0 ? 1 : -ENOENT;
	/* A value the CPU would refuse at entry or on the way back. */
	if ((i >= 0 && !x86_uret_valid(i, val)) ||
	    (msr == MSR_IA32_CR_PAT && !x86_pat_valid(val)) ||
	    ((msr == MSR_KERNEL_GS_BASE || msr == MSR_IA32_SYSENTER_ESP ||
	      msr == MSR_IA32_SYSENTER_EIP) &&
	     !x86_uret_valid(X86_URET_LSTAR, val)))
		return 1;
	*p = val;
	return 0;
}

static void vmx_get_events(struct axvcpu_vcpu *vcpu, struct x86_events *e)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	e->inj = vmx->event;
	e->inj_err = vmx->event_err;
	e->shadow = (vmx->intr_state & GUEST_INTR_STATE_STI ?
		     KVM_X86_SHADOW_INT_STI : 0) |
		    (vmx->intr_state & GUEST_INTR_STATE_MOV_SS ?
		     KVM_X86_SHADOW_INT_MOV_SS : 0);
	e->nmi_masked = vmx->intr_state & GUEST_INTR_STATE_NMI;
}

static void vmx_set_events(struct axvcpu_vcpu *vcpu, const struct x86_events *e,
			   bool shadow)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx->event = e->inj;
	vmx->event_err = e->inj_err;
	/* KVM keeps one shadow, MOV SS's first. */
	if (shadow) {
		vmx->intr_state &= ~(GUEST_INTR_STATE_STI |
				     GUEST_INTR_STATE_MOV_SS);
		if (e->shadow & KVM_X86_SHADOW_INT_MOV_SS)
			vmx->intr_state |= GUEST_INTR_STATE_MOV_SS;
		else if (e->shadow & KVM_X86_SHADOW_INT_STI)
			vmx->intr_state |= GUEST_INTR_STATE_STI;
	}
	vmx->intr_state &= ~GUEST_INTR_STATE_NMI;
	if (e->nmi_masked)
		vmx->intr_state |= GUEST_INTR_STATE_NMI;
}

static void vmx_vcpu_inject_gp(struct axvcpu_vcpu *vcpu)
{
	vmx_inject_gp(to_vmx(vcpu));
}

static const struct x86_sregs_ops vmx_sregs_ops = {
	.get = vmx_get_sregs,
	.set = vmx_set_sregs,
	.dr67 = vmx_dr67,
	.get_msr = vmx_get_msr,
	.set_msr = vmx_set_msr,
	.inject_gp = vmx_vcpu_inject_gp,
	.get_events = vmx_get_events,
	.set_events = vmx_set_events,
};

static long vmx_vcpu_ioctl(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
			   void __user *argp)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	return x86_vcpu_ioctl(vcpu, &vmx->x, &vmx->rip, &vmx->rflags,
			      &vmx_sregs_ops, ioctl, argp);
}

/* --- load and unload ------------------------------------------------------- */

static void vmx_exit(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);

		if (vc->vmxon)
			__free_page(vc->vmxon);
		vc->vmxon = NULL;
	}
	if (vmx_msr_bitmap)
		__free_page(vmx_msr_bitmap);
	if (vmx_msr_bitmap_all)
		__free_page(vmx_msr_bitmap_all);
	vmx_msr_bitmap = NULL;
	vmx_msr_bitmap_all = NULL;
	ida_destroy(&vmx_vpids);
}

/*
 * The guest's own MSRs, switched by VM entry and exit: no exit.  The
 * bitmap's read and write halves each hold the low (0-0x1fff) and the high
 * (0xc0000000-0xc0001fff) MSRs.
 */
static void vmx_msr_allow(u8 *map, u32 msr)
{
	u32 bit = msr & 0x1fff;
	u32 base = (msr >= 0xc0000000) ? 1024 : 0;

	__clear_bit(bit, (unsigned long *)(map + base));
	__clear_bit(bit, (unsigned long *)(map + base + 2048));
}

static const struct axvcpu_arch_ops vmx_ops = {
	.name = "vmx",
	.run_pages = 2,		/* struct kvm_run, then the PIO data page */
	.hardware_enable = vmx_hardware_enable,
	.hardware_disable = vmx_hardware_disable,
	.vm_init = vmx_vm_init,
	.vm_destroy = vmx_vm_destroy,
	.map = vmx_map,
	.unmap = vmx_unmap,
	.write_protect = x86_tdp_write_protect,
	.retry_fault = x86_tdp_retry_fault,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_setup = vmx_vcpu_setup,
	.vcpu_bind = vmx_vcpu_bind,
	.vcpu_unbind = vmx_vcpu_unbind,
	.vcpu_run = vmx_vcpu_run,
	.vcpu_reset = vmx_vcpu_reset,
	.vcpu_handle_exit = vmx_handle_exit,
	.vcpu_exit_code = vmx_exit_code,
	.vcpu_run_begin = vmx_run_begin,
	.vcpu_run_end = vmx_run_end,
	.vcpu_interruptible = vmx_vcpu_interruptible,
	.vcpu_runnable = vmx_vcpu_runnable,
	.vcpu_ioctl = vmx_vcpu_ioctl,
	.vm_ioctl = x86_vm_ioctl,
	.dev_ioctl = x86_dev_ioctl,
	.check_extension = x86_check_extension,
	.exit = vmx_exit,
};

/* Controls as wanted, adjusted to what the capability MSR allows. */
static u32 vmx_adjust(u32 msr, u32 want)
{
	u64 cap;

	rdmsrl(msr, cap);
	return (want | (u32)cap) & (u32)(cap >> 32);
}

/* The controls the CPU lets be 1. */
static u32 vmx_allowed(u32 msr)
{
	u64 cap;

	rdmsrl(msr, cap);
	return cap >> 32;
}

/* Each control of need that the CPU lacks: one clear message. */
static bool vmx_has(u32 got, u32 need, const char *what)
{
	if ((got & need) == need)
		return true;
	pr_err("axvcpu: vmx: the CPU lacks %s (controls %#x of %#x); the VMX backend needs it\n",
	       what, need & ~got, need);
	return false;
}

static int vmx_setup_controls(void)
{
	u64 basic, ept;
	bool t;
	u32 want;

	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	vmx_revision = basic & 0x7fffffff;
	if (VMX_BASIC_SIZE(basic) > PAGE_SIZE) {
		pr_err("axvcpu: vmx: VMCS larger than a page\n");
		return -ENODEV;
	}
	vmx_inout_info = basic & VMX_BASIC_INOUT;
	t = basic & VMX_BASIC_TRUE_CTLS;

	vmx_pin = vmx_adjust(t ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
			     MSR_IA32_VMX_PINBASED_CTLS,
			     PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING |
			     PIN_BASED_VIRTUAL_NMIS |
			     PIN_BASED_VMX_PREEMPTION_TIMER);
	want = CPU_BASED_HLT_EXITING | CPU_BASED_UNCOND_IO_EXITING |
	       CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_MWAIT_EXITING |
	       CPU_BASED_MONITOR_EXITING | CPU_BASED_CR8_LOAD_EXITING |
	       CPU_BASED_CR8_STORE_EXITING | CPU_BASED_MOV_DR_EXITING |
	       CPU_BASED_RDPMC_EXITING |
	       CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
	vmx_proc = vmx_adjust(t ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
			      MSR_IA32_VMX_PROCBASED_CTLS,
			      want | CPU_BASED_USE_TSC_OFFSETTING);
	if (!vmx_has(vmx_pin, PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING |
		     PIN_BASED_VIRTUAL_NMIS,
		     "interrupt and NMI exiting, virtual NMIs") ||
	    !vmx_has(vmx_allowed(t ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
				 MSR_IA32_VMX_PROCBASED_CTLS),
		     CPU_BASED_INTR_WINDOW_EXITING |
		     CPU_BASED_NMI_WINDOW_EXITING,
		     "interrupt and NMI window exiting") ||
	    !vmx_has(vmx_proc, want, "HLT, I/O, MSR bitmap, CR8 exiting"))
		return -ENODEV;
	/* CR3 accesses are the guest's with EPT (if the CPU lets them be). */
	want = SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST;
	vmx_proc2 = vmx_adjust(MSR_IA32_VMX_PROCBASED_CTLS2,
			       want | SECONDARY_EXEC_ENABLE_VPID |
			       SECONDARY_EXEC_ENABLE_RDTSCP |
			       SECONDARY_EXEC_WBINVD_EXITING |
			       SECONDARY_EXEC_ENABLE_INVPCID);
	if (!vmx_has(vmx_proc2, want, "EPT and unrestricted guest"))
		return -ENODEV;
	/* DR7 is the guest's in the VMCS both ways (debugreg.c). */
	want = VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
	       VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_DEBUG_CONTROLS;
	vmx_exit_ctls = vmx_adjust(t ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
				   MSR_IA32_VMX_EXIT_CTLS,
				   want | VM_EXIT_SAVE_IA32_PAT |
				   VM_EXIT_LOAD_IA32_PAT);
	/* Interrupts stay pending in the APIC: the host takes them after. */
	vmx_exit_ctls &= ~VM_EXIT_ACK_INTR_ON_EXIT;
	if (!vmx_has(vmx_exit_ctls, want,
		     "64-bit host, EFER switching, DR7 saving"))
		return -ENODEV;
	vmx_entry_ctls = vmx_adjust(t ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
				    MSR_IA32_VMX_ENTRY_CTLS,
				    VM_ENTRY_LOAD_IA32_EFER |
				    VM_ENTRY_LOAD_DEBUG_CONTROLS |
				    VM_ENTRY_LOAD_IA32_PAT) &
			 ~VM_ENTRY_IA32E_MODE;
	if (!vmx_has(vmx_entry_ctls, VM_ENTRY_LOAD_IA32_EFER |
		     VM_ENTRY_LOAD_DEBUG_CONTROLS, "EFER and DR7 loading"))
		return -ENODEV;
	/* The guest's PAT is switched both ways, or not at all. */
	if (!(vmx_entry_ctls & VM_ENTRY_LOAD_IA32_PAT) ||
	    (~vmx_exit_ctls & (VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT))) {
		vmx_entry_ctls &= ~VM_ENTRY_LOAD_IA32_PAT;
		vmx_exit_ctls &= ~(VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT);
	}

	rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP, ept);
	if (!(ept & VMX_EPT_PAGE_WALK_4_BIT) || !(ept & VMX_EPTP_WB_BIT) ||
	    !(ept & VMX_EPT_INVEPT_BIT) ||
	    !(ept & (VMX_EPT_EXTENT_CONTEXT_BIT | VMX_EPT_EXTENT_GLOBAL_BIT))) {
		pr_err("axvcpu: vmx: EPT lacks 4-level tables, write-back or INVEPT\n");
		return -ENODEV;
	}
	vmx_invept_single = ept & VMX_EPT_EXTENT_CONTEXT_BIT;
	if (ept & VMX_EPT_2MB_PAGE_BIT)
		vmx_ept_format.huge = EPT_HUGE;
	vmx_invvpid_single = (ept >> 32) & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT;
	vmx_vpid_ok = (vmx_proc2 & SECONDARY_EXEC_ENABLE_VPID) &&
		      ((ept >> 32) & VMX_VPID_INVVPID_BIT) &&
		      ((ept >> 32) & (VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT |
				      VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT));
	if (!vmx_vpid_ok)
		vmx_proc2 &= ~SECONDARY_EXEC_ENABLE_VPID;

	/*
	 * The guest exits at least once a millisecond.  Bochs decides at VM
	 * entry whether an external interrupt exits the guest by the guest's
	 * RFLAGS.IF, before it knows it runs a guest: a guest with IF=0 that
	 * spins would never give the CPU back.  On hardware it costs a
	 * thousand exits a second of a guest that never exits otherwise.
	 */
	if (vmx_pin & PIN_BASED_VMX_PREEMPTION_TIMER) {
		u64 misc;

		rdmsrl(MSR_IA32_VMX_MISC, misc);
		vmx_preempt_ticks = max_t(u32, tsc_khz >>
					  (misc & VMX_MISC_TIMER_RATE), 1);
	}

	/* RDTSCP and RDPID read TSC_AUX: the guest's where it has them. */
	vmx_uret_mask = X86_URET_SYSCALL |
		((vmx_proc2 & SECONDARY_EXEC_ENABLE_RDTSCP) ?
		 BIT(X86_URET_TSC_AUX) : 0);
	x86_guest_uret = vmx_uret_mask & x86_uret_have();

	/* L1TF: KVM's "always" flush, where the CPU has the command. */
	if (boot_cpu_has_bug(X86_BUG_L1TF) &&
	    boot_cpu_has(X86_FEATURE_FLUSH_L1D)) {
		u64 cap = 0;

		if (boot_cpu_has(X86_FEATURE_ARCH_CAPABILITIES))
			rdmsrl(MSR_IA32_ARCH_CAPABILITIES, cap);
		vmx_l1d_flush = !(cap & ARCH_CAP_SKIP_VMENTRY_L1DFLUSH);
	}

	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, vmx_cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, vmx_cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, vmx_cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, vmx_cr4_fixed1);
	/* Unrestricted guest: real mode and paging off are the guest's. */
	vmx_cr0_fixed0 &= ~(u64)(X86_CR0_PE | X86_CR0_PG);
	return 0;
}

const struct axvcpu_arch_ops *axvcpu_vmx_probe(void)
{
	u64 fc;
	int cpu, r;

	rdmsrl(MSR_IA32_FEAT_CTL, fc);
	if ((fc & FEAT_CTL_LOCKED) &&
	    !(fc & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("axvcpu: vmx: disabled by the firmware (IA32_FEATURE_CONTROL)\n");
		return ERR_PTR(-ENODEV);
	}
	r = vmx_setup_controls();
	if (r)
		return ERR_PTR(r);
	if (cr4_read_shadow() & X86_CR4_OSXSAVE)
		vmx_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	rdmsrl(MSR_IA32_CR_PAT, vmx_host_pat);

	vmx_msr_bitmap = alloc_page(GFP_KERNEL);
	vmx_msr_bitmap_all = alloc_page(GFP_KERNEL);
	if (!vmx_msr_bitmap || !vmx_msr_bitmap_all) {
		vmx_exit();
		return ERR_PTR(-ENOMEM);
	}
	memset(page_address(vmx_msr_bitmap), 0xff, PAGE_SIZE);
	memset(page_address(vmx_msr_bitmap_all), 0xff, PAGE_SIZE);
	vmx_msr_allow(page_address(vmx_msr_bitmap), MSR_FS_BASE);
	vmx_msr_allow(page_address(vmx_msr_bitmap), MSR_GS_BASE);

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpu, cpu);

		INIT_LIST_HEAD(&vc->loaded);
		store_idt(&vc->idt);
		vc->vmxon = alloc_pages_node(cpu_to_node(cpu),
					     GFP_KERNEL | __GFP_ZERO, 0);
		if (!vc->vmxon) {
			vmx_exit();
			return ERR_PTR(-ENOMEM);
		}
	}
	return &vmx_ops;
}
