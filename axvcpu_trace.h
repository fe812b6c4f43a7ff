/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: tracepoints, the "axvcpu" trace system.
 *
 * Read with tracefs (events/axvcpu/), trace-cmd, perf or bpftrace, as
 * KVM's kvm_entry and kvm_exit are.  The names all start with axvcpu_, so
 * they never meet KVM's own events when both modules are loaded.
 *
 * axvcpu_transition is the one hook of a state change: the VMM's log
 * (AXVCPU_TRACE_STATES, vcpu_trace.c) is a probe attached to it.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM axvcpu

#if !defined(AXVCPU_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define AXVCPU_TRACE_H

#include <linux/tracepoint.h>

#include "axvcpu_host.h"

#define axvcpu_trace_states					\
	{ AXVCPU_STATE_INVALID,	"INVALID" },			\
	{ AXVCPU_STATE_CREATED,	"CREATED" },			\
	{ AXVCPU_STATE_FREE,	"FREE" },			\
	{ AXVCPU_STATE_READY,	"READY" },			\
	{ AXVCPU_STATE_RUNNING,	"RUNNING" },			\
	{ AXVCPU_STATE_BLOCKED,	"BLOCKED" }

/* What the run loop does with an exit (vcpu_handle_exit's answer). */
#define axvcpu_trace_actions					\
	{ AXVCPU_EXIT_USER,	"user" },			\
	{ AXVCPU_EXIT_CONTINUE,	"continue" },			\
	{ AXVCPU_EXIT_FAILED,	"failed" },			\
	{ AXVCPU_EXIT_HALT,	"halt" },			\
	{ AXVCPU_EXIT_SLEEP,	"sleep" }

/* The KVM_EXIT_* reasons axvcpu gives userspace. */
#define axvcpu_trace_exit_reasons				\
	{ KVM_EXIT_UNKNOWN,		"UNKNOWN" },		\
	{ KVM_EXIT_HYPERCALL,		"HYPERCALL" },		\
	{ KVM_EXIT_DEBUG,		"DEBUG" },		\
	{ KVM_EXIT_IO,			"IO" },			\
	{ KVM_EXIT_MMIO,		"MMIO" },		\
	{ KVM_EXIT_IRQ_WINDOW_OPEN,	"IRQ_WINDOW_OPEN" },	\
	{ KVM_EXIT_SHUTDOWN,		"SHUTDOWN" },		\
	{ KVM_EXIT_FAIL_ENTRY,		"FAIL_ENTRY" },		\
	{ KVM_EXIT_INTR,		"INTR" },		\
	{ KVM_EXIT_HLT,			"HLT" },		\
	{ KVM_EXIT_INTERNAL_ERROR,	"INTERNAL_ERROR" },	\
	{ KVM_EXIT_SYSTEM_EVENT,	"SYSTEM_EVENT" },	\
	{ KVM_EXIT_X86_RDMSR,		"X86_RDMSR" },		\
	{ KVM_EXIT_X86_WRMSR,		"X86_WRMSR" }

TRACE_EVENT(axvcpu_transition,
	TP_PROTO(const struct axvcpu_vcpu *vcpu, u32 from, u32 to, u64 now),
	TP_ARGS(vcpu, from, to, now),

	TP_STRUCT__entry(
		__field(u32, vm_id)
		__field(u32, vcpu_id)
		__field(u32, from)
		__field(u32, to)
		__field(int, cpu)
	),

	TP_fast_assign(
		__entry->vm_id = vcpu->vm->id;
		__entry->vcpu_id = vcpu->vcpu_id;
		__entry->from = from;
		__entry->to = to;
		__entry->cpu = vcpu->bound_cpu;
	),

	TP_printk("vm=%u vcpu=%u from=%s to=%s cpu=%d",
		  __entry->vm_id, __entry->vcpu_id,
		  __print_symbolic(__entry->from, axvcpu_trace_states),
		  __print_symbolic(__entry->to, axvcpu_trace_states),
		  __entry->cpu)
);

/*
 * The events of one vCPU with at most one figure: its meaning is in each
 * event's name and format.
 */
DECLARE_EVENT_CLASS(axvcpu_vcpu_event,
	TP_PROTO(const struct axvcpu_vcpu *vcpu, s64 arg),
	TP_ARGS(vcpu, arg),

	TP_STRUCT__entry(
		__field(u32, vm_id)
		__field(u32, vcpu_id)
		__field(s64, arg)
	),

	TP_fast_assign(
		__entry->vm_id = vcpu->vm->id;
		__entry->vcpu_id = vcpu->vcpu_id;
		__entry->arg = arg;
	),

	/* axvcpu_entry's; the others print their own. */
	TP_printk("vm=%u vcpu=%u cpu=%lld", __entry->vm_id, __entry->vcpu_id,
		  __entry->arg)
);

/* The vCPU is about to enter guest mode on this CPU (arg: the CPU). */
DEFINE_EVENT(axvcpu_vcpu_event, axvcpu_entry,
	TP_PROTO(const struct axvcpu_vcpu *vcpu, s64 cpu),
	TP_ARGS(vcpu, cpu)
);

/* AXVCPU_INJECT: a vector queued, from any thread. */
DEFINE_EVENT_PRINT(axvcpu_vcpu_event, axvcpu_inject,
	TP_PROTO(const struct axvcpu_vcpu *vcpu, s64 vector),
	TP_ARGS(vcpu, vector),
	TP_printk("vm=%u vcpu=%u vector=%lld", __entry->vm_id,
		  __entry->vcpu_id, __entry->arg)
);

/* A kick: the vCPU is woken, and interrupted on guest_cpu if >= 0. */
DEFINE_EVENT_PRINT(axvcpu_vcpu_event, axvcpu_kick,
	TP_PROTO(const struct axvcpu_vcpu *vcpu, s64 guest_cpu),
	TP_ARGS(vcpu, guest_cpu),
	TP_printk("vm=%u vcpu=%u guest_cpu=%lld", __entry->vm_id,
		  __entry->vcpu_id, __entry->arg)
);

/* The guest halted; block: it sleeps in the kernel (policy BLOCK). */
DEFINE_EVENT_PRINT(axvcpu_vcpu_event, axvcpu_halt,
	TP_PROTO(const struct axvcpu_vcpu *vcpu, s64 block),
	TP_ARGS(vcpu, block),
	TP_printk("vm=%u vcpu=%u block=%lld", __entry->vm_id,
		  __entry->vcpu_id, __entry->arg)
);

/*
 * The guest exited and the backend decoded the exit: its hardware code
 * (SVM exit code, VMX exit reason, arm64 ESR_EL2 or 0 for an interrupt),
 * read only while the event is on, and what the run loop does next.
 */
TRACE_EVENT(axvcpu_exit,
	TP_PROTO(struct axvcpu_vcpu *vcpu, int action),
	TP_ARGS(vcpu, action),

	TP_STRUCT__entry(
		__field(u32, vm_id)
		__field(u32, vcpu_id)
		__field(u64, code)
		__field(int, action)
	),

	TP_fast_assign(
		__entry->vm_id = vcpu->vm->id;
		__entry->vcpu_id = vcpu->vcpu_id;
		__entry->code = axvcpu_arch->vcpu_exit_code ?
				axvcpu_arch->vcpu_exit_code(vcpu) : 0;
		__entry->action = action;
	),

	TP_printk("vm=%u vcpu=%u code=0x%llx action=%s",
		  __entry->vm_id, __entry->vcpu_id, __entry->code,
		  __print_symbolic(__entry->action, axvcpu_trace_actions))
);

/* KVM_RUN returns: the KVM_EXIT_* reason in kvm_run, and the errno. */
TRACE_EVENT(axvcpu_userspace_exit,
	TP_PROTO(const struct axvcpu_vcpu *vcpu, u32 reason, int err),
	TP_ARGS(vcpu, reason, err),

	TP_STRUCT__entry(
		__field(u32, vm_id)
		__field(u32, vcpu_id)
		__field(u32, reason)
		__field(int, err)
	),

	TP_fast_assign(
		__entry->vm_id = vcpu->vm->id;
		__entry->vcpu_id = vcpu->vcpu_id;
		__entry->reason = reason;
		__entry->err = err;
	),

	TP_printk("vm=%u vcpu=%u reason=%s err=%d",
		  __entry->vm_id, __entry->vcpu_id,
		  __print_symbolic(__entry->reason, axvcpu_trace_exit_reasons),
		  __entry->err)
);

/* A BLOCKED vCPU woke after wait_ns: for a kick, an interrupt or a signal. */
TRACE_EVENT(axvcpu_wake,
	TP_PROTO(const struct axvcpu_vcpu *vcpu, u64 wait_ns, bool signal),
	TP_ARGS(vcpu, wait_ns, signal),

	TP_STRUCT__entry(
		__field(u32, vm_id)
		__field(u32, vcpu_id)
		__field(u64, wait_ns)
		__field(bool, signal)
	),

	TP_fast_assign(
		__entry->vm_id = vcpu->vm->id;
		__entry->vcpu_id = vcpu->vcpu_id;
		__entry->wait_ns = wait_ns;
		__entry->signal = signal;
	),

	TP_printk("vm=%u vcpu=%u wait_ns=%llu signal=%d",
		  __entry->vm_id, __entry->vcpu_id, __entry->wait_ns,
		  __entry->signal)
);

/* KVM_SET_USER_MEMORY_REGION and its result (0 or -errno). */
TRACE_EVENT(axvcpu_set_memory_region,
	TP_PROTO(const struct axvcpu_vm *vm,
		 const struct kvm_userspace_memory_region *mem, int err),
	TP_ARGS(vm, mem, err),

	TP_STRUCT__entry(
		__field(u32, vm_id)
		__field(u32, slot)
		__field(u32, flags)
		__field(u64, gpa)
		__field(u64, size)
		__field(u64, hva)
		__field(int, err)
	),

	TP_fast_assign(
		__entry->vm_id = vm->id;
		__entry->slot = mem->slot;
		__entry->flags = mem->flags;
		__entry->gpa = mem->guest_phys_addr;
		__entry->size = mem->memory_size;
		__entry->hva = mem->userspace_addr;
		__entry->err = err;
	),

	TP_printk("vm=%u slot=%u flags=0x%x gpa=0x%llx size=0x%llx hva=0x%llx err=%d",
		  __entry->vm_id, __entry->slot, __entry->flags, __entry->gpa,
		  __entry->size, __entry->hva, __entry->err)
);

#endif /* AXVCPU_TRACE_H */

/* This part must be outside the include guard. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE axvcpu_trace
#include <trace/define_trace.h>
