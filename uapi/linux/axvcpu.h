/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * axvcpu: additions to KVM's userspace ABI.
 *
 * /dev/axvcpu answers KVM's ioctls with KVM's structures (<linux/kvm.h>).
 * The ioctls below are axvcpu's own: vCPU placement and the explicit vCPU
 * state machine.  They use their own ioctl type byte, so no number here can
 * collide with a KVM ioctl.
 */
#ifndef _UAPI_LINUX_AXVCPU_H
#define _UAPI_LINUX_AXVCPU_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define AXVCPU_IO			0xAF

/* Largest CPU number a phys_cpu_set can name, plus one. */
#define AXVCPU_MAX_CPUS			1024
#define AXVCPU_CPU_SET_WORDS		(AXVCPU_MAX_CPUS / 64)

/* vCPU states (struct axvcpu_state.state). */
#define AXVCPU_STATE_INVALID		0
#define AXVCPU_STATE_CREATED		1
#define AXVCPU_STATE_FREE		2
#define AXVCPU_STATE_READY		3
#define AXVCPU_STATE_RUNNING		4
#define AXVCPU_STATE_BLOCKED		5
#define AXVCPU_NR_STATES		6

/* Interrupt vectors AXVCPU_INJECT takes (x86). */
#define AXVCPU_NR_IRQS			256

/* Halt policies (struct axvcpu_setup.halt_policy). */
#define AXVCPU_HALT_EXIT		0	/* KVM_EXIT_HLT to userspace */
#define AXVCPU_HALT_BLOCK		1	/* sleep in the kernel as BLOCKED */

/* "No CPU": favor_phys_cpu with no preference, BIND on a CPU of our choice. */
#define AXVCPU_CPU_ANY			(-1)

/*
 * AXVCPU_CREATE_VCPU, on a VM fd: KVM_CREATE_VCPU with a placement.
 * Returns a vCPU fd.  phys_cpu_set is a bitmap of CPU numbers (bit n of
 * word n / 64); every CPU it names must be online.  An all-zero set means
 * every possible CPU (as KVM_CREATE_VCPU).  favor_phys_cpu is
 * AXVCPU_CPU_ANY or an online CPU of the set: BIND without a CPU picks it.
 */
struct axvcpu_create_vcpu {
	__u32 vcpu_id;
	__s32 favor_phys_cpu;
	__u32 flags;			/* must be 0 */
	__u32 pad;			/* must be 0 */
	__u64 phys_cpu_set[AXVCPU_CPU_SET_WORDS];
};

/* struct axvcpu_setup.flags */
#define AXVCPU_SETUP_ENTRY		0x1U	/* entry is valid */
/*
 * Hypercalls the kernel does not implement exit to userspace
 * (KVM_EXIT_HYPERCALL) instead of failing in the guest (arm64: SMCCC
 * NOT_SUPPORTED, as KVM answers).
 */
#define AXVCPU_SETUP_HYPERCALL		0x2U

/*
 * AXVCPU_SETUP, CREATED -> FREE: put the vCPU in its reset state, with
 * the instruction pointer at entry if AXVCPU_SETUP_ENTRY is set.
 */
struct axvcpu_setup {
	__u64 entry;
	__u32 halt_policy;
	__u32 flags;
};

/*
 * AXVCPU_BIND, FREE -> READY: make the vCPU resident on cpu, an online
 * CPU of its phys_cpu_set, or on AXVCPU_CPU_ANY: favor_phys_cpu if set,
 * else the caller's CPU if it is in the set, else the first online CPU
 * of the set.
 */
struct axvcpu_bind {
	__s32 cpu;
	__u32 flags;			/* must be 0 */
};

/* AXVCPU_GET_STATE: a snapshot, readable from any thread at any time. */
struct axvcpu_state {
	__u32 state;			/* AXVCPU_STATE_* */
	__s32 bound_cpu;		/* -1 when not bound */
	__u32 vm_id;
	__u32 vcpu_id;
	__u32 last_exit_reason;		/* KVM_EXIT_* of the last exit */
	__u32 halt_policy;
	__s32 favor_phys_cpu;
	__u32 pad;
	/* transitions[s]: how many times the vCPU entered state s */
	__u64 transitions[AXVCPU_NR_STATES];
	__u64 refused;			/* requests refused for the state */
	/* time_ns[s]: nanoseconds spent in state s, the current one included */
	__u64 time_ns[AXVCPU_NR_STATES];
	__u64 reserved[1];
};

/*
 * AXVCPU_INJECT, on a vCPU fd, from any thread: queue an interrupt (x86: a
 * vector, delivered when the guest can take it, highest first) and wake
 * the vCPU if BLOCKED or make it leave guest mode if RUNNING.
 */
struct axvcpu_irq {
	__u32 vector;
	__u32 flags;			/* must be 0 */
};

/* Largest transition log AXVCPU_TRACE_STATES accepts, in records. */
#define AXVCPU_TRACE_MAX		4096

/*
 * AXVCPU_TRACE_STATES, on a vCPU fd: log every state transition of the
 * vCPU from now on, in a ring of entries records (a power of two, at most
 * AXVCPU_TRACE_MAX), read with read() on the vCPU fd; poll() says when
 * records wait.  The ring is allocated by the first call; a later call may
 * only give the same size again.  entries == 0 stops the log.
 */
struct axvcpu_trace {
	__u32 entries;
	__u32 flags;			/* must be 0 */
};

/*
 * One record of the log.  seq counts every transition since the log
 * began: a gap between two records read says how many the ring lost
 * because the reader was too slow.
 */
struct axvcpu_transition {
	__u64 seq;
	__u64 time_ns;			/* CLOCK_MONOTONIC */
	__u32 from;			/* AXVCPU_STATE_* */
	__u32 to;
	__s32 cpu;			/* the CPU it is bound to then, or -1 */
	__u32 exit_reason;		/* the vCPU's last KVM_EXIT_* then */
};

#define AXVCPU_CREATE_VCPU	_IOW(AXVCPU_IO, 0x80, struct axvcpu_create_vcpu)
#define AXVCPU_SETUP		_IOW(AXVCPU_IO, 0x81, struct axvcpu_setup)
#define AXVCPU_BIND		_IOW(AXVCPU_IO, 0x82, struct axvcpu_bind)
#define AXVCPU_UNBIND		_IO(AXVCPU_IO, 0x83)
#define AXVCPU_GET_STATE	_IOR(AXVCPU_IO, 0x84, struct axvcpu_state)
#define AXVCPU_RESET		_IO(AXVCPU_IO, 0x85)
#define AXVCPU_INJECT		_IOW(AXVCPU_IO, 0x86, struct axvcpu_irq)
/* From any thread: wake a BLOCKED vCPU, make a RUNNING one leave guest mode. */
#define AXVCPU_KICK		_IO(AXVCPU_IO, 0x87)
#define AXVCPU_TRACE_STATES	_IOW(AXVCPU_IO, 0x88, struct axvcpu_trace)

#endif /* _UAPI_LINUX_AXVCPU_H */
