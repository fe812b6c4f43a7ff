/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: the differences between the kernel series axvcpu builds against
 * (Debian's 6.1 and 6.12), in one place.
 */
#ifndef AXVCPU_COMPAT_H
#define AXVCPU_COMPAT_H

/*
 * Each AXVCPU_HAVE_* comes from a probe of the kernel's headers in Kbuild.
 */

#if defined(AXVCPU_HAVE_EMERGENCY_VIRT_CB) && IS_ENABLED(CONFIG_KVM_X86)
#include <asm/reboot.h>
/*
 * Newer kernels turn VMX / SVM off on an emergency restart (kexec,
 * crash) only through a callback the hypervisor registers; 6.1 does it for
 * every user by itself.
 */
static inline void axvcpu_emergency_register(cpu_emergency_virt_cb *cb)
{
	cpu_emergency_register_virt_callback(cb);
}

static inline void axvcpu_emergency_unregister(cpu_emergency_virt_cb *cb)
{
	cpu_emergency_unregister_virt_callback(cb);
}
#else
static inline void axvcpu_emergency_register(void (*cb)(void)) { }
static inline void axvcpu_emergency_unregister(void (*cb)(void)) { }
#endif

/*
 * Newer kernels name immediate_exit immediate_exit__unsafe in their view
 * of struct kvm_run: userspace may change it at any time, so it is read
 * once per KVM_RUN.
 */
#ifdef AXVCPU_HAVE_IMMEDIATE_EXIT_UNSAFE
#define axvcpu_run_immediate_exit(run)	READ_ONCE((run)->immediate_exit__unsafe)
#else
#define axvcpu_run_immediate_exit(run)	READ_ONCE((run)->immediate_exit)
#endif

/*
 * syscore callbacks: newer kernels (and stable updates of older ones)
 * pass a data pointer and register a struct syscore.
 */
#include <linux/syscore_ops.h>
#ifdef AXVCPU_HAVE_SYSCORE_DATA
#define AXVCPU_SYSCORE_ARG	void *data
#define AXVCPU_DEFINE_SYSCORE(name, suspend_fn, resume_fn)		\
	static const struct syscore_ops name##_ops = {			\
		.suspend = suspend_fn,					\
		.resume = resume_fn,					\
	};								\
	static struct syscore name = { .ops = &name##_ops }
#define axvcpu_register_syscore(s)	register_syscore(s)
#define axvcpu_unregister_syscore(s)	unregister_syscore(s)
#else
#define AXVCPU_SYSCORE_ARG	void
#define AXVCPU_DEFINE_SYSCORE(name, suspend_fn, resume_fn)		\
	static struct syscore_ops name = {				\
		.suspend = suspend_fn,					\
		.resume = resume_fn,					\
	}
#define axvcpu_register_syscore(s)	register_syscore_ops(s)
#define axvcpu_unregister_syscore(s)	unregister_syscore_ops(s)
#endif

/*
 * KVM_EXIT_HYPERCALL: newer kernels turned the longmode word into flags,
 * whose first bit keeps the meaning.
 */
#ifdef KVM_EXIT_HYPERCALL_LONG_MODE
#define axvcpu_hypercall_longmode(run, lm)				\
	((run)->hypercall.flags = (lm) ? KVM_EXIT_HYPERCALL_LONG_MODE : 0)
#else
#define axvcpu_hypercall_longmode(run, lm)	((run)->hypercall.longmode = (lm))
#endif

#endif /* AXVCPU_COMPAT_H */
