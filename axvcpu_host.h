/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: internal types, the arch ops table and the interfaces between
 * the core files.
 */
#ifndef AXVCPU_HOST_H
#define AXVCPU_HOST_H

#include <linux/align.h>
#include <linux/bitops.h>
#include <linux/cpumask.h>
#include <linux/kref.h>
#include <linux/kvm.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/signal.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/xarray.h>
#include <linux/axvcpu.h>

#include "compat.h"

#define AXVCPU_MAX_VCPUS	256
#define AXVCPU_MAX_VCPU_ID	1024
#define AXVCPU_NR_MEMSLOTS	32
#define AXVCPU_RUN_PAGES_MAX	2
#define AXVCPU_STALL_MS_MAX	10000

struct axvcpu_vm;
struct axvcpu_vcpu;
struct dentry;
struct x86_msr_filter;

/* One KVM_SET_USER_MEMORY_REGION slot: pinned for its whole life. */
struct axvcpu_memslot {
	u16 id;
	u32 flags;
	u64 gpa;
	u64 size;
	unsigned long hva;
	unsigned long npages;
	struct page **pages;
	/*
	 * KVM_MEM_LOG_DIRTY_PAGES: a bit per page, then as many again for
	 * what GET/CLEAR_DIRTY_LOG copy (axvcpu_dirty_bytes() each); NULL
	 * without logging.  A writable slot that logs maps a page writable
	 * only while its bit is set, and never in 2 MiB blocks.  VM lock.
	 */
	unsigned long *dirty;
};

/* The bytes of one of a slot's two dirty bitmaps: whole longs, as KVM. */
static inline unsigned long axvcpu_dirty_bytes(const struct axvcpu_memslot *slot)
{
	return ALIGN(slot->npages, BITS_PER_LONG) / 8;
}

/* Does stage 2 map page i of slot writable (VM lock)? */
static inline bool axvcpu_slot_page_writable(const struct axvcpu_memslot *slot,
					     unsigned long i)
{
	return !(slot->flags & KVM_MEM_READONLY) &&
	       (!slot->dirty || test_bit(i, slot->dirty));
}

/* A VM's statistics (stats.c), besides what struct axvcpu_vm holds. */
struct axvcpu_vm_stat {
	atomic64_t region_changes;	/* KVM_SET_USER_MEMORY_REGION done */
	u64 remote_tlb_flush;		/* axvcpu_vm_sync_guests(): VM lock */
};

struct axvcpu_vm {
	struct kref kref;		/* the VM fd and each vCPU fd */
	struct mm_struct *mm;		/* the creator's; mmgrab()ed */
	struct list_head list;		/* in the module's list of VMs */
	u32 id;
	struct mutex lock;		/* vcpus, nr_vcpus, slots */
	struct xarray vcpus;		/* by vcpu_id */
	unsigned int nr_vcpus;
	struct axvcpu_memslot *slots[AXVCPU_NR_MEMSLOTS];
	struct axvcpu_vm_stat stat;
	u64 manual_dirty_log;		/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 */
	unsigned long type;		/* KVM_CREATE_VM's */
	unsigned long nr_mmu_pages;	/* x86: KVM_SET_NR_MMU_PAGES's */
	u32 max_vcpu_ids;		/* KVM_CAP_MAX_VCPU_ID's; 0: not yet */
	s64 clock_offset;		/* x86: KVM_GET_CLOCK - boot time */
	void *arch;
	void *irqchip;			/* x86: KVM_CREATE_IRQCHIP's; VM lock */
	/* x86: KVM_X86_SET_MSR_FILTER's (arch/x86/msr.c); set under VM lock. */
	struct x86_msr_filter __rcu *msr_filter;
	bool msr_exit_all;		/* x86: it denies an MSR the guest owns */
	u32 user_space_msr;		/* x86: KVM_CAP_X86_USER_SPACE_MSR's */
};

/* Arch steps on a vCPU, each run through axvcpu_arch_step(). */
enum axvcpu_step {
	AXVCPU_STEP_NONE,
	AXVCPU_STEP_SETUP,
	AXVCPU_STEP_BIND,
	AXVCPU_STEP_UNBIND,
	AXVCPU_STEP_RUN,
	AXVCPU_STEP_RESET,
	AXVCPU_NR_STEPS,
};

/* vcpu->requests bits, set from any thread. */
#define AXVCPU_REQ_INVALIDATE	0	/* strict mode: refused while running */
#define AXVCPU_REQ_KICK		1	/* wake from BLOCKED */

/* The buckets of userspace_exit_reason: KVM_EXIT_* numbers, the last: more. */
#define AXVCPU_STAT_EXIT_REASONS	64

/*
 * A vCPU's counters for KVM_GET_STATS_FD (stats.c), besides the state
 * times and counts of struct axvcpu_vcpu.  The u64s are written by KVM_RUN
 * under the vCPU mutex and read locklessly; the atomics from any thread.
 */
struct axvcpu_vcpu_stat {
	u64 exits;			/* every exit from guest mode */
	u64 user_exits;			/* KVM_RUN returned, kvm_run filled */
	u64 user_exit_reasons[AXVCPU_STAT_EXIT_REASONS];
	u64 signal_exits;		/* KVM_EXIT_INTR */
	u64 halt_exits;			/* the guest halted */
	u64 halt_wakeup;		/* BLOCKED -> READY */
	u64 blocking;			/* 1 while BLOCKED */
	atomic64_t injections;		/* AXVCPU_INJECT */
	atomic64_t kicks;
};

struct axvcpu_vcpu {
	struct axvcpu_vm *vm;
	u32 vcpu_id;
	int favor_cpu;			/* AXVCPU_CPU_ANY or a CPU */
	cpumask_var_t cpu_set;
	struct mutex mutex;		/* every ioctl that changes the vCPU */

	/* Read locklessly (GET_STATE); written under mutex. */
	u32 state;
	int bound_cpu;
	u32 halt_policy;
	u32 last_exit_reason;
	u64 transitions[AXVCPU_NR_STATES];
	u64 time_ns[AXVCPU_NR_STATES];	/* up to state_since */
	u64 state_since;		/* ktime_get_ns() of the last transition */
	atomic64_t refused;
	struct axvcpu_vcpu_stat stat;
	struct axvcpu_trace_ring *trace;	/* AXVCPU_TRACE_STATES, or NULL */

	unsigned long requests;
	/* Injected from any thread; the backend delivers them. */
	DECLARE_BITMAP(irq_pending, AXVCPU_NR_IRQS);
	int guest_cpu;			/* in guest mode there, or -1 */
	bool in_run;			/* KVM_RUN holds the mutex */
	wait_queue_head_t wq;		/* BLOCKED sleeps here */
	struct page *run_pages[AXVCPU_RUN_PAGES_MAX];
	struct kvm_run *run;
	/* KVM_SET_SIGNAL_MASK's: the thread's mask while in KVM_RUN. */
	bool sigset_active;
	sigset_t sigset;
	void *arch;
};

/* What vcpu_handle_exit() asks of the run loop. */
#define AXVCPU_EXIT_USER	0	/* kvm_run is filled: to userspace */
#define AXVCPU_EXIT_CONTINUE	1	/* handled: enter again */
#define AXVCPU_EXIT_FAILED	2	/* kvm_run is filled, the vCPU is INVALID */
#define AXVCPU_EXIT_HALT	3	/* halted: BLOCK until woken */
#define AXVCPU_EXIT_SLEEP	4	/* BLOCK until woken, whatever the policy */

/*
 * The backend.  vcpu_setup/bind/unbind/run/reset are called through
 * axvcpu_arch_step() with preemption off, on the vCPU's CPU, with the
 * this_cpu current vCPU set; vcpu_run also with interrupts off.  A NULL
 * step has nothing to do, except vcpu_run: without it the backend cannot
 * enter guests.  vcpu_handle_exit, vcpu_run_begin/end and vcpu_ioctl run
 * with the vCPU mutex held and preemption on.
 */
struct axvcpu_arch_ops {
	const char *name;
	unsigned int run_pages;		/* pages of the vCPU mmap */
	int (*hardware_enable)(void);	/* this CPU, preemption off */
	void (*hardware_disable)(void);	/* this CPU, any context */
	int (*vm_init)(struct axvcpu_vm *vm);
	void (*vm_destroy)(struct axvcpu_vm *vm);
	int (*map)(struct axvcpu_vm *vm, struct axvcpu_memslot *slot);
	void (*unmap)(struct axvcpu_vm *vm, struct axvcpu_memslot *slot);
	/*
	 * Dirty logging, VM lock held.  write_protect: the pages first + j of
	 * slot for each bit j set in the n bits of mask lose write access,
	 * and the backend's own TLB invalidation for it is under way (the
	 * caller then syncs the guests, as after an unmap).  retry_fault: a
	 * stage-2 fault at gpa, in slot; make_writable says the guest wrote
	 * a page whose slot logs and the entry is to allow writes now.  True
	 * when the entry allows the access (the guest may run again), false
	 * when it is not there to allow it.
	 */
	void (*write_protect)(struct axvcpu_vm *vm, struct axvcpu_memslot *slot,
			      const unsigned long *mask, unsigned long first,
			      unsigned long n);
	bool (*retry_fault)(struct axvcpu_vm *vm, u64 gpa, bool write,
			    bool make_writable);
	int (*vcpu_create)(struct axvcpu_vcpu *vcpu);
	void (*vcpu_destroy)(struct axvcpu_vcpu *vcpu);
	int (*vcpu_setup)(struct axvcpu_vcpu *vcpu,
			  const struct axvcpu_setup *setup);
	int (*vcpu_bind)(struct axvcpu_vcpu *vcpu);
	int (*vcpu_unbind)(struct axvcpu_vcpu *vcpu);
	int (*vcpu_run)(struct axvcpu_vcpu *vcpu);
	int (*vcpu_reset)(struct axvcpu_vcpu *vcpu);
	int (*vcpu_handle_exit)(struct axvcpu_vcpu *vcpu);
	/*
	 * KVM_RUN begins: finish the exit userspace answered.
	 * AXVCPU_EXIT_CONTINUE to enter the guest, or AXVCPU_EXIT_USER when
	 * finishing it made another exit (an x86 read-modify-write of MMIO:
	 * the read's answer makes the write), returned at once as KVM does.
	 */
	int (*vcpu_run_begin)(struct axvcpu_vcpu *vcpu);
	void (*vcpu_run_end)(struct axvcpu_vcpu *vcpu);
	/*
	 * The halt policy of a vCPU KVM_RUN walks from CREATED (KVM's own
	 * behaviour on a halt); AXVCPU_HALT_EXIT when 0.
	 */
	u32 kvm_halt_policy;
	/* A check of KVM_CREATE_VM's type; NULL: only 0. */
	int (*vm_type)(unsigned long type);
	/* Wake a BLOCKED vCPU for backend state (an IRQ line); may be NULL. */
	bool (*vcpu_runnable)(struct axvcpu_vcpu *vcpu);
	/* An injected interrupt can be taken now (NULL: always). */
	bool (*vcpu_interruptible)(struct axvcpu_vcpu *vcpu);
	long (*vcpu_ioctl)(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
			   void __user *argp);
	long (*vm_ioctl)(struct axvcpu_vm *vm, unsigned int ioctl,
			 void __user *argp);
	/* The system fd's own ioctls; -EINVAL for one it does not know. */
	long (*dev_ioctl)(unsigned int ioctl, void __user *argp);
	int (*check_extension)(long cap);
	/*
	 * The hardware's code of the last exit (SVM exit code, VMX exit
	 * reason, arm64 ESR_EL2), for the axvcpu_exit tracepoint: called
	 * only while it is on, after vcpu_handle_exit.  NULL: 0.
	 */
	u64 (*vcpu_exit_code)(struct axvcpu_vcpu *vcpu);
	void (*exit)(void);		/* free what probe allocated */
};

extern const struct axvcpu_arch_ops *axvcpu_arch;
extern bool axvcpu_strict_transitions;

/* arch/<arch>: pick the backend for this CPU, or fail with a message. */
const struct axvcpu_arch_ops *axvcpu_arch_probe(void);

/* hardware.c */
int axvcpu_hardware_get(void);
void axvcpu_hardware_put(void);
int axvcpu_hardware_init(void);
void axvcpu_hardware_exit(void);
int axvcpu_hardware_users(void);
int axvcpu_enabled_cpus(void);

/* memory.c */
int axvcpu_set_memory_region(struct axvcpu_vm *vm,
			     const struct kvm_userspace_memory_region *mem);
void axvcpu_free_memslots(struct axvcpu_vm *vm);
bool axvcpu_slot_huge_ok(const struct axvcpu_memslot *slot, unsigned long i);
struct axvcpu_memslot *axvcpu_find_slot(struct axvcpu_vm *vm, u64 gpa);
void axvcpu_mark_dirty(struct axvcpu_memslot *slot, u64 gpa);
bool axvcpu_stage2_fault(struct axvcpu_vm *vm, u64 gpa, bool write);
long axvcpu_dirty_log_ioctl(struct axvcpu_vm *vm, unsigned int ioctl,
			    void __user *argp);
int axvcpu_enable_manual_dirty_log(struct axvcpu_vm *vm,
				   const struct kvm_enable_cap *cap);
long axvcpu_pinned_pages(void);
/* Stage-2 table pages of all VMs, freed ones not counted (debugfs). */
extern atomic_long_t axvcpu_nr_table_pages;

/* test_hooks.c: nothing without AXVCPU_TEST_HOOKS, a static key with. */
#ifdef AXVCPU_TEST_HOOKS
#include <linux/jump_label.h>
DECLARE_STATIC_KEY_FALSE(axvcpu_test_hooks_key);
bool __axvcpu_should_fail(enum axvcpu_step step);
void __axvcpu_test_stall(void);
void axvcpu_test_hooks_debugfs(struct dentry *dir);

/* The test asked this step to fail (as hardware would: EIO). */
static __always_inline bool axvcpu_should_fail(enum axvcpu_step step)
{
	return static_branch_unlikely(&axvcpu_test_hooks_key) &&
	       __axvcpu_should_fail(step);
}

/* KVM_RUN stays RUNNING as long as the test asked, or until a signal. */
static __always_inline void axvcpu_test_stall(void)
{
	if (static_branch_unlikely(&axvcpu_test_hooks_key))
		__axvcpu_test_stall();
}
#else
static inline bool axvcpu_should_fail(enum axvcpu_step step)
{
	return false;
}

static inline void axvcpu_test_stall(void) { }
static inline void axvcpu_test_hooks_debugfs(struct dentry *dir) { }
#endif

/* vcpu_state.c */
extern const char * const axvcpu_step_names[AXVCPU_NR_STEPS];
int axvcpu_set_current(struct axvcpu_vcpu *vcpu);
struct axvcpu_vcpu *axvcpu_get_current(void);
void axvcpu_clear_current(struct axvcpu_vcpu *vcpu);
void axvcpu_vcpu_init_state(struct axvcpu_vcpu *vcpu);
int axvcpu_vcpu_release_cpu(struct axvcpu_vcpu *vcpu);
long axvcpu_vcpu_state_ioctl(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
			     void __user *argp);
long axvcpu_vcpu_run(struct axvcpu_vcpu *vcpu);
long axvcpu_set_signal_mask(struct axvcpu_vcpu *vcpu,
			    struct kvm_signal_mask __user *argp);

/* axvcpu_main.c */
void axvcpu_vm_put(struct axvcpu_vm *vm);

/* stats.c: KVM_GET_STATS_FD. */
int axvcpu_vm_stats_fd(struct axvcpu_vm *vm);
int axvcpu_vcpu_stats_fd(struct axvcpu_vcpu *vcpu);
void axvcpu_stat_user_exit(struct axvcpu_vcpu *vcpu, int r);

/* vcpu_trace.c: the transition log, a probe on axvcpu_transition. */
long axvcpu_trace_ioctl(struct axvcpu_vcpu *vcpu, void __user *argp);
ssize_t axvcpu_trace_read(struct axvcpu_vcpu *vcpu, char __user *buf,
			  size_t count, bool nonblock);
__poll_t axvcpu_trace_poll(struct axvcpu_vcpu *vcpu, struct file *file,
			   poll_table *wait);
void axvcpu_trace_free(struct axvcpu_vcpu *vcpu);
void axvcpu_vcpu_inject(struct axvcpu_vcpu *vcpu, unsigned int vector);
void axvcpu_kick(struct axvcpu_vcpu *vcpu);
void axvcpu_vm_kick_guests(struct axvcpu_vm *vm);
void axvcpu_vm_sync_guests(struct axvcpu_vm *vm);
long axvcpu_vcpu_arch_ioctl(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
			    void __user *argp);

#endif /* AXVCPU_HOST_H */
