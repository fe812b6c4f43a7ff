// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: the vCPU state machine, the this_cpu current vCPU and the run
 * loop.
 *
 *   CREATED --setup--> FREE --bind--> READY --run--> RUNNING
 *                        ^              |  ^            |
 *                        +----unbind----+  +---exit-----+
 *                                          ^            v
 *                                          +--wake-- BLOCKED
 *   any --hardware step fails--> INVALID --reset--> CREATED
 *
 * Every change of vcpu->state goes through axvcpu_transition(), under the
 * vCPU mutex.  Every arch step on a vCPU goes through axvcpu_arch_step(),
 * on the vCPU's CPU with preemption off and the current vCPU set.
 */
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/sched/isolation.h>
#include <linux/sched/signal.h>
#include <linux/smp.h>
#include <linux/uaccess.h>

#include "axvcpu_host.h"
#include "axvcpu_trace.h"

bool axvcpu_strict_transitions;
module_param_named(strict_transitions, axvcpu_strict_transitions, bool, 0444);
MODULE_PARM_DESC(strict_transitions,
		 "A request from the wrong state also makes the vCPU INVALID");

const char * const axvcpu_step_names[AXVCPU_NR_STEPS] = {
	[AXVCPU_STEP_NONE] = "none",
	[AXVCPU_STEP_SETUP] = "setup",
	[AXVCPU_STEP_BIND] = "bind",
	[AXVCPU_STEP_UNBIND] = "unbind",
	[AXVCPU_STEP_RUN] = "run",
	[AXVCPU_STEP_RESET] = "reset",
};

/* The vCPU in guest mode, or handling its exit, on each CPU. */
static DEFINE_PER_CPU(struct axvcpu_vcpu *, axvcpu_current_vcpu);

int axvcpu_set_current(struct axvcpu_vcpu *vcpu)
{
	lockdep_assert_preemption_disabled();
	if (WARN_ON_ONCE(__this_cpu_read(axvcpu_current_vcpu)))
		return -EBUSY;
	__this_cpu_write(axvcpu_current_vcpu, vcpu);
	return 0;
}

struct axvcpu_vcpu *axvcpu_get_current(void)
{
	lockdep_assert_preemption_disabled();
	return __this_cpu_read(axvcpu_current_vcpu);
}

void axvcpu_clear_current(struct axvcpu_vcpu *vcpu)
{
	lockdep_assert_preemption_disabled();
	WARN_ON_ONCE(__this_cpu_read(axvcpu_current_vcpu) != vcpu);
	__this_cpu_write(axvcpu_current_vcpu, NULL);
}

#define S(x)	BIT(AXVCPU_STATE_##x)
/* The legal edges: axvcpu_edges[from] is the set of states it may go to. */
static const u8 axvcpu_edges[AXVCPU_NR_STATES] = {
	[AXVCPU_STATE_CREATED] = S(FREE) | S(INVALID),
	[AXVCPU_STATE_FREE] = S(READY) | S(INVALID),
	[AXVCPU_STATE_READY] = S(FREE) | S(RUNNING) | S(INVALID),
	[AXVCPU_STATE_RUNNING] = S(READY) | S(BLOCKED) | S(INVALID),
	[AXVCPU_STATE_BLOCKED] = S(READY) | S(INVALID),
	[AXVCPU_STATE_INVALID] = S(CREATED),
};

/* Which state each request needs. */
static const u8 axvcpu_request_from[] = {
	[AXVCPU_STEP_SETUP] = S(CREATED),
	[AXVCPU_STEP_BIND] = S(FREE),
	[AXVCPU_STEP_UNBIND] = S(READY),
	[AXVCPU_STEP_RUN] = S(CREATED) | S(FREE) | S(READY),
	[AXVCPU_STEP_RESET] = S(INVALID),
};

#undef S

/* The one place a vCPU's state changes. */
static void axvcpu_transition(struct axvcpu_vcpu *vcpu, u32 to)
{
	u32 from = vcpu->state;
	u64 now;

	lockdep_assert_held(&vcpu->mutex);
	/* A broken caller, not a user: keep the state, say so once. */
	if (WARN_ON_ONCE(!(axvcpu_edges[from] & BIT(to))))
		return;
	now = ktime_get_ns();
	WRITE_ONCE(vcpu->time_ns[from],
		   vcpu->time_ns[from] + now - vcpu->state_since);
	WRITE_ONCE(vcpu->transitions[to], vcpu->transitions[to] + 1);
	WRITE_ONCE(vcpu->state_since, now);
	/* state_since before state; pairs with axvcpu_get_state()'s smp_rmb. */
	smp_wmb();
	WRITE_ONCE(vcpu->state, to);
	/* The one hook: tracefs, and the VMM's log (vcpu_trace.c). */
	trace_axvcpu_transition(vcpu, from, to, now);
}

void axvcpu_vcpu_init_state(struct axvcpu_vcpu *vcpu)
{
	init_waitqueue_head(&vcpu->wq);
	vcpu->guest_cpu = -1;
	vcpu->state = AXVCPU_STATE_CREATED;
	vcpu->transitions[AXVCPU_STATE_CREATED] = 1;
	vcpu->state_since = ktime_get_ns();
	vcpu->bound_cpu = -1;
	vcpu->halt_policy = AXVCPU_HALT_EXIT;
	atomic64_set(&vcpu->refused, 0);
}

struct axvcpu_step_call {
	struct axvcpu_vcpu *vcpu;
	enum axvcpu_step step;
	const void *arg;
};

/* Run one arch step here; preemption is off. */
static int axvcpu_arch_step_here(struct axvcpu_step_call *c)
{
	const struct axvcpu_arch_ops *ops = axvcpu_arch;
	struct axvcpu_vcpu *vcpu = c->vcpu;
	int r;

	r = axvcpu_set_current(vcpu);
	if (r)
		return r;
	if (axvcpu_should_fail(c->step)) {
		r = -EIO;
		goto out_clear;
	}
	switch (c->step) {
	case AXVCPU_STEP_SETUP:
		r = ops->vcpu_setup ? ops->vcpu_setup(vcpu, c->arg) : 0;
		break;
	case AXVCPU_STEP_BIND:
		r = ops->vcpu_bind ? ops->vcpu_bind(vcpu) : 0;
		break;
	case AXVCPU_STEP_UNBIND:
		r = ops->vcpu_unbind ? ops->vcpu_unbind(vcpu) : 0;
		break;
	case AXVCPU_STEP_RUN:
		r = ops->vcpu_run ? ops->vcpu_run(vcpu) : -EOPNOTSUPP;
		break;
	case AXVCPU_STEP_RESET:
		r = ops->vcpu_reset ? ops->vcpu_reset(vcpu) : 0;
		break;
	default:
		r = -EINVAL;
		break;
	}
out_clear:
	axvcpu_clear_current(vcpu);
	return r;
}

static int axvcpu_arch_step_fn(void *data)
{
	int r;

	preempt_disable();
	r = axvcpu_arch_step_here(data);
	preempt_enable();
	return r;
}

/*
 * Run an arch step on cpu (-1: wherever we are).  Another CPU's step runs
 * in a worker bound to it: process context, so it cannot interrupt a vCPU
 * that is handling an exit there with the current vCPU set.  The caller
 * holds cpus_read_lock() when cpu >= 0, so cpu stays online.
 */
static int axvcpu_arch_step(struct axvcpu_vcpu *vcpu, enum axvcpu_step step,
			    int cpu, const void *arg)
{
	struct axvcpu_step_call c = { .vcpu = vcpu, .step = step, .arg = arg };
	int r;

	preempt_disable();
	if (cpu < 0 || cpu == smp_processor_id()) {
		r = axvcpu_arch_step_here(&c);
		preempt_enable();
		return r;
	}
	preempt_enable();
	return smp_call_on_cpu(cpu, axvcpu_arch_step_fn, &c, false);
}

/*
 * Release the vCPU's CPU: the arch unbind runs where the vCPU is
 * resident; on a CPU that has gone offline its context went with it.
 */
int axvcpu_vcpu_release_cpu(struct axvcpu_vcpu *vcpu)
{
	int cpu = vcpu->bound_cpu, r;

	if (cpu < 0)
		return 0;
	cpus_read_lock();
	r = axvcpu_arch_step(vcpu, AXVCPU_STEP_UNBIND,
			     cpu_online(cpu) ? cpu : -1, NULL);
	cpus_read_unlock();
	WRITE_ONCE(vcpu->bound_cpu, -1);
	return r;
}

/* A hardware step failed: the vCPU keeps nothing of its placement. */
static void axvcpu_invalidate(struct axvcpu_vcpu *vcpu)
{
	axvcpu_vcpu_release_cpu(vcpu);
	axvcpu_transition(vcpu, AXVCPU_STATE_INVALID);
}

static int axvcpu_hw_failed(struct axvcpu_vcpu *vcpu, enum axvcpu_step step,
			    int r)
{
	pr_warn_ratelimited("axvcpu: vm %u vcpu %u: %s step failed (%d), vCPU is INVALID\n",
			    vcpu->vm->id, vcpu->vcpu_id,
			    axvcpu_step_names[step], r);
	axvcpu_invalidate(vcpu);
	return r;
}

/* A request from the wrong state: refused, and in strict mode fatal. */
static int axvcpu_refuse(struct axvcpu_vcpu *vcpu)
{
	atomic64_inc(&vcpu->refused);
	if (axvcpu_strict_transitions &&
	    vcpu->state != AXVCPU_STATE_INVALID)
		axvcpu_invalidate(vcpu);
	return -EBADFD;
}

static bool axvcpu_allowed(struct axvcpu_vcpu *vcpu, enum axvcpu_step req)
{
	return axvcpu_request_from[req] & BIT(vcpu->state);
}

static int axvcpu_do_setup(struct axvcpu_vcpu *vcpu,
			   const struct axvcpu_setup *setup)
{
	int r;

	r = axvcpu_arch_step(vcpu, AXVCPU_STEP_SETUP, -1, setup);
	if (r)
		return axvcpu_hw_failed(vcpu, AXVCPU_STEP_SETUP, r);
	WRITE_ONCE(vcpu->halt_policy, setup->halt_policy);
	axvcpu_transition(vcpu, AXVCPU_STATE_FREE);
	return 0;
}

/* Isolated from the scheduler's balancing or from the tick (nohz_full). */
static bool axvcpu_cpu_isolated(int cpu)
{
	return !housekeeping_test_cpu(cpu, HK_TYPE_DOMAIN) ||
	       !housekeeping_test_cpu(cpu, HK_TYPE_TICK);
}

/*
 * The CPU a bind request names, or the one we pick; -EINVAL if none.  A
 * pick is the favored CPU, else the caller's, else one of the caller's
 * affinity (which its cpuset bounds), else any of the set: the host's
 * isolated CPUs last.  The guest itself only ever runs where the thread
 * in KVM_RUN may (axvcpu_confine()).
 */
static int axvcpu_pick_cpu(struct axvcpu_vcpu *vcpu, int cpu)
{
	const struct cpumask *prefer[] = { current->cpus_ptr, cpu_online_mask };
	int i, pass;

	if (cpu != AXVCPU_CPU_ANY) {
		if (cpu < 0 || cpu >= nr_cpu_ids || !cpu_online(cpu) ||
		    !cpumask_test_cpu(cpu, vcpu->cpu_set))
			return -EINVAL;
		return cpu;
	}
	if (vcpu->favor_cpu >= 0 && cpu_online(vcpu->favor_cpu))
		return vcpu->favor_cpu;
	cpu = raw_smp_processor_id();
	if (cpumask_test_cpu(cpu, vcpu->cpu_set))
		return cpu;
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < ARRAY_SIZE(prefer); i++)
			for_each_cpu_and(cpu, vcpu->cpu_set, prefer[i])
				if (cpu_online(cpu) &&
				    (pass || !axvcpu_cpu_isolated(cpu)))
					return cpu;
	return -EINVAL;
}

static int axvcpu_do_bind(struct axvcpu_vcpu *vcpu, int want)
{
	int cpu, r;

	cpus_read_lock();
	cpu = axvcpu_pick_cpu(vcpu, want);
	if (cpu < 0) {
		cpus_read_unlock();
		return cpu;
	}
	WRITE_ONCE(vcpu->bound_cpu, cpu);
	r = axvcpu_arch_step(vcpu, AXVCPU_STEP_BIND, cpu, NULL);
	cpus_read_unlock();
	if (r) {
		WRITE_ONCE(vcpu->bound_cpu, -1);
		return axvcpu_hw_failed(vcpu, AXVCPU_STEP_BIND, r);
	}
	axvcpu_transition(vcpu, AXVCPU_STATE_READY);
	return 0;
}

static int axvcpu_do_unbind(struct axvcpu_vcpu *vcpu)
{
	int r;

	r = axvcpu_vcpu_release_cpu(vcpu);
	if (r)
		return axvcpu_hw_failed(vcpu, AXVCPU_STEP_UNBIND, r);
	axvcpu_transition(vcpu, AXVCPU_STATE_FREE);
	return 0;
}

static int axvcpu_do_reset(struct axvcpu_vcpu *vcpu)
{
	int r;

	r = axvcpu_arch_step(vcpu, AXVCPU_STEP_RESET, -1, NULL);
	if (r) {
		pr_warn_ratelimited("axvcpu: vm %u vcpu %u: reset step failed (%d)\n",
				    vcpu->vm->id, vcpu->vcpu_id, r);
		return r;
	}
	WRITE_ONCE(vcpu->halt_policy, AXVCPU_HALT_EXIT);
	WRITE_ONCE(vcpu->last_exit_reason, KVM_EXIT_UNKNOWN);
	axvcpu_transition(vcpu, AXVCPU_STATE_CREATED);
	return 0;
}

static void axvcpu_get_state(struct axvcpu_vcpu *vcpu, struct axvcpu_state *st)
{
	u64 since, now;
	int i;

	memset(st, 0, sizeof(*st));
	st->state = READ_ONCE(vcpu->state);
	/* state_since of that transition or a later one; pairs with smp_wmb. */
	smp_rmb();
	since = READ_ONCE(vcpu->state_since);
	now = ktime_get_ns();
	for (i = 0; i < AXVCPU_NR_STATES; i++)
		st->time_ns[i] = READ_ONCE(vcpu->time_ns[i]);
	if (now > since)
		st->time_ns[st->state] += now - since;
	st->bound_cpu = READ_ONCE(vcpu->bound_cpu);
	st->vm_id = vcpu->vm->id;
	st->vcpu_id = vcpu->vcpu_id;
	st->last_exit_reason = READ_ONCE(vcpu->last_exit_reason);
	st->halt_policy = READ_ONCE(vcpu->halt_policy);
	st->favor_phys_cpu = vcpu->favor_cpu;
	for (i = 0; i < AXVCPU_NR_STATES; i++)
		st->transitions[i] = READ_ONCE(vcpu->transitions[i]);
	st->refused = atomic64_read(&vcpu->refused);
}

/*
 * Lock the vCPU for a state request.  RUNNING and BLOCKED exist only
 * inside KVM_RUN, which holds the mutex for as long as the guest runs: a
 * request then fails at once instead of waiting behind the guest.  In
 * strict mode the vCPU is made INVALID when KVM_RUN returns.
 */
static int axvcpu_lock_for_request(struct axvcpu_vcpu *vcpu)
{
	u32 state;

	if (mutex_trylock(&vcpu->mutex))
		return 0;
	state = READ_ONCE(vcpu->state);
	if (READ_ONCE(vcpu->in_run) || state == AXVCPU_STATE_RUNNING ||
	    state == AXVCPU_STATE_BLOCKED) {
		atomic64_inc(&vcpu->refused);
		if (axvcpu_strict_transitions)
			set_bit(AXVCPU_REQ_INVALIDATE, &vcpu->requests);
		return -EBADFD;
	}
	return mutex_lock_killable(&vcpu->mutex);
}

static void axvcpu_kick_ipi(void *unused)
{
	/* The interrupt itself made the guest exit. */
}

/*
 * Make the vCPU notice what was just queued: wake it if BLOCKED, and if it
 * is in guest mode on another CPU, interrupt that CPU.  Pairs with the
 * barrier in axvcpu_enter(): either the vCPU sees the request before it
 * enters, or we see it in guest mode.
 */
void axvcpu_kick(struct axvcpu_vcpu *vcpu)
{
	int cpu;

	set_bit(AXVCPU_REQ_KICK, &vcpu->requests);
	/* The request before the look at guest_cpu. */
	smp_mb__after_atomic();
	wake_up_interruptible(&vcpu->wq);
	cpu = READ_ONCE(vcpu->guest_cpu);
	atomic64_inc(&vcpu->stat.kicks);
	trace_axvcpu_kick(vcpu, cpu);
	if (cpu >= 0 && cpu != raw_smp_processor_id())
		smp_call_function_single(cpu, axvcpu_kick_ipi, NULL, 0);
}

/*
 * A change every vCPU's next entry must see (the VM's memory, its MSR
 * filter): wait until each vCPU of the VM that may still be in guest
 * mode without it has left guest mode once (the interrupt makes it exit,
 * and the handler runs only after the exit).  VM lock held.
 */
void axvcpu_vm_kick_guests(struct axvcpu_vm *vm)
{
	struct axvcpu_vcpu *vcpu;
	unsigned long i;
	int cpu;

	/* The change before the look at guest_cpu; pairs with axvcpu_enter(). */
	smp_mb();
	xa_for_each(&vm->vcpus, i, vcpu) {
		cpu = READ_ONCE(vcpu->guest_cpu);
		if (cpu >= 0)
			smp_call_function_single(cpu, axvcpu_kick_ipi, NULL, 1);
	}
}

/* Stage-2 mappings went: no vCPU uses them from guest mode on return. */
void axvcpu_vm_sync_guests(struct axvcpu_vm *vm)
{
	WRITE_ONCE(vm->stat.remote_tlb_flush, vm->stat.remote_tlb_flush + 1);
	axvcpu_vm_kick_guests(vm);
}

void axvcpu_vcpu_inject(struct axvcpu_vcpu *vcpu, unsigned int vector)
{
	set_bit(vector, vcpu->irq_pending);
	atomic64_inc(&vcpu->stat.injections);
	trace_axvcpu_inject(vcpu, vector);
	axvcpu_kick(vcpu);
}

/* AXVCPU_INJECT and AXVCPU_KICK: any thread, no mutex. */
static long axvcpu_nudge_ioctl(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
			       void __user *argp)
{
	struct axvcpu_irq irq;

	if (ioctl == AXVCPU_INJECT) {
		if (copy_from_user(&irq, argp, sizeof(irq)))
			return -EFAULT;
		if (irq.flags || irq.vector >= AXVCPU_NR_IRQS)
			return -EINVAL;
	}
	if (READ_ONCE(vcpu->state) == AXVCPU_STATE_INVALID)
		return -EBADFD;
	if (ioctl == AXVCPU_INJECT)
		axvcpu_vcpu_inject(vcpu, irq.vector);
	else
		axvcpu_kick(vcpu);
	return 0;
}

static int axvcpu_check_setup(const struct axvcpu_setup *setup)
{
	if (setup->flags & ~(AXVCPU_SETUP_ENTRY | AXVCPU_SETUP_HYPERCALL))
		return -EINVAL;
	if (setup->halt_policy != AXVCPU_HALT_EXIT &&
	    setup->halt_policy != AXVCPU_HALT_BLOCK)
		return -EINVAL;
	return 0;
}

long axvcpu_vcpu_state_ioctl(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
			     void __user *argp)
{
	struct axvcpu_setup setup;
	struct axvcpu_bind bind;
	struct axvcpu_state st;
	enum axvcpu_step req;
	long r;

	switch (ioctl) {
	case AXVCPU_GET_STATE:
		axvcpu_get_state(vcpu, &st);
		return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
	case AXVCPU_INJECT:
	case AXVCPU_KICK:
		return axvcpu_nudge_ioctl(vcpu, ioctl, argp);
	case AXVCPU_TRACE_STATES:
		return axvcpu_trace_ioctl(vcpu, argp);
	case AXVCPU_SETUP:
		if (copy_from_user(&setup, argp, sizeof(setup)))
			return -EFAULT;
		r = axvcpu_check_setup(&setup);
		if (r)
			return r;
		req = AXVCPU_STEP_SETUP;
		break;
	case AXVCPU_BIND:
		if (copy_from_user(&bind, argp, sizeof(bind)))
			return -EFAULT;
		if (bind.flags)
			return -EINVAL;
		req = AXVCPU_STEP_BIND;
		break;
	case AXVCPU_UNBIND:
		req = AXVCPU_STEP_UNBIND;
		break;
	case AXVCPU_RESET:
		req = AXVCPU_STEP_RESET;
		break;
	default:
		return -ENOTTY;
	}

	r = axvcpu_lock_for_request(vcpu);
	if (r)
		return r;
	if (!axvcpu_allowed(vcpu, req)) {
		r = axvcpu_refuse(vcpu);
		goto out_unlock;
	}
	switch (req) {
	case AXVCPU_STEP_SETUP:
		r = axvcpu_do_setup(vcpu, &setup);
		break;
	case AXVCPU_STEP_BIND:
		r = axvcpu_do_bind(vcpu, bind.cpu);
		break;
	case AXVCPU_STEP_UNBIND:
		r = axvcpu_do_unbind(vcpu);
		break;
	default:
		r = axvcpu_do_reset(vcpu);
		break;
	}
out_unlock:
	mutex_unlock(&vcpu->mutex);
	return r;
}

/* KVM's other vCPU ioctls: the backend's, under the mutex, not in INVALID. */
long axvcpu_vcpu_arch_ioctl(struct axvcpu_vcpu *vcpu, unsigned int ioctl,
			    void __user *argp)
{
	long r;

	if (!axvcpu_arch->vcpu_ioctl)
		return -ENOTTY;
	r = mutex_lock_killable(&vcpu->mutex);
	if (r)
		return r;
	if (vcpu->state == AXVCPU_STATE_INVALID)
		r = -EBADFD;
	else
		r = axvcpu_arch->vcpu_ioctl(vcpu, ioctl, argp);
	mutex_unlock(&vcpu->mutex);
	return r;
}

/*
 * KVM_SET_SIGNAL_MASK: the signals blocked while KVM_RUN runs the guest
 * (a signal it leaves deliverable ends the run), or none with NULL.
 * SIGKILL and SIGSTOP are never blocked.
 */
long axvcpu_set_signal_mask(struct axvcpu_vcpu *vcpu,
			    struct kvm_signal_mask __user *argp)
{
	struct kvm_signal_mask hdr;
	sigset_t set;
	long r;

	if (argp) {
		if (copy_from_user(&hdr, argp, sizeof(hdr)))
			return -EFAULT;
		if (hdr.len != sizeof(set))
			return -EINVAL;
		if (copy_from_user(&set, argp->sigset, sizeof(set)))
			return -EFAULT;
		sigdelsetmask(&set, sigmask(SIGKILL) | sigmask(SIGSTOP));
	}
	r = mutex_lock_killable(&vcpu->mutex);
	if (r)
		return r;
	vcpu->sigset_active = argp;
	if (argp)
		vcpu->sigset = set;
	mutex_unlock(&vcpu->mutex);
	return 0;
}

/* KVM_RUN swaps the thread's signal mask for the vCPU's, as KVM does. */
static void axvcpu_sigset_activate(struct axvcpu_vcpu *vcpu)
{
	if (vcpu->sigset_active)
		sigprocmask(SIG_SETMASK, &vcpu->sigset, &current->real_blocked);
}

static void axvcpu_sigset_deactivate(struct axvcpu_vcpu *vcpu)
{
	if (!vcpu->sigset_active)
		return;
	sigprocmask(SIG_SETMASK, &current->real_blocked, NULL);
	sigemptyset(&current->real_blocked);
}

static void axvcpu_exit_to_user(struct axvcpu_vcpu *vcpu, u32 reason)
{
	vcpu->run->exit_reason = reason;
	WRITE_ONCE(vcpu->last_exit_reason, reason);
}

/*
 * The thread runs on a CPU outside the vCPU's phys_cpu_set: narrow its
 * affinity to the CPUs of the set it may already use (the caller sees its
 * affinity change) and let the scheduler move it; the vCPU never enters
 * guest mode outside the set.  Never wider than the thread's affinity: that
 * one obeys the thread's cpuset, which phys_cpu_set must not escape.
 */
static int axvcpu_confine(struct axvcpu_vcpu *vcpu)
{
	cpumask_var_t mask;
	int r = 0;

	if (!alloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	if (!cpumask_and(mask, vcpu->cpu_set, &current->cpus_mask)) {
		pr_info_ratelimited("axvcpu: vm %u vcpu %u: the thread may run on no CPU of phys_cpu_set\n",
				    vcpu->vm->id, vcpu->vcpu_id);
		r = -EPERM;
	} else if (set_cpus_allowed_ptr(current, mask)) {
		pr_warn_ratelimited("axvcpu: vm %u vcpu %u: cannot move the thread into phys_cpu_set\n",
				    vcpu->vm->id, vcpu->vcpu_id);
		r = -ENXIO;	/* no CPU of the set is online */
	}
	free_cpumask_var(mask);
	return r;
}

/*
 * The thread moved to another CPU of the set since the vCPU last ran:
 * release the old CPU's context and bind here.  Preemption is off.
 */
static int axvcpu_move_here(struct axvcpu_vcpu *vcpu, int cpu)
{
	struct axvcpu_step_call c = { .vcpu = vcpu };
	int r;

	c.step = AXVCPU_STEP_UNBIND;
	r = axvcpu_arch_step_here(&c);
	if (r)
		return r;
	WRITE_ONCE(vcpu->bound_cpu, cpu);
	c.step = AXVCPU_STEP_BIND;
	return axvcpu_arch_step_here(&c);
}

/* Enter the guest once, here.  Preemption is off. */
static int axvcpu_enter(struct axvcpu_vcpu *vcpu)
{
	struct axvcpu_step_call c = { .vcpu = vcpu, .step = AXVCPU_STEP_RUN };
	int cpu = smp_processor_id(), r;

	if (cpu != vcpu->bound_cpu) {
		r = axvcpu_move_here(vcpu, cpu);
		if (r)
			return r;
	}
	trace_axvcpu_entry(vcpu, cpu);
	local_irq_disable();
	/* Kicks from now on interrupt this CPU; see axvcpu_kick(). */
	WRITE_ONCE(vcpu->guest_cpu, cpu);
	/* guest_cpu before the requests; pairs with axvcpu_kick(). */
	smp_mb();
	clear_bit(AXVCPU_REQ_KICK, &vcpu->requests);
	/* The scheduler's accounting: this is guest time (PF_VCPU). */
	guest_timing_enter_irqoff();
	r = axvcpu_arch_step_here(&c);
	WRITE_ONCE(vcpu->guest_cpu, -1);
	/*
	 * The host interrupts that exited the guest, a tick among them: as
	 * in KVM, taken while the time is still the guest's.
	 */
	local_irq_enable();
	local_irq_disable();
	guest_timing_exit_irqoff();
	local_irq_enable();
	return r;
}

/*
 * A kick, or an interrupt the guest can take: a guest that halted with
 * interrupts masked sleeps on (as kvm_arch_vcpu_runnable() has it)
 * instead of waking to halt again at once.
 */
static bool axvcpu_should_wake(struct axvcpu_vcpu *vcpu)
{
	return test_bit(AXVCPU_REQ_KICK, &vcpu->requests) ||
	       (!bitmap_empty(vcpu->irq_pending, AXVCPU_NR_IRQS) &&
		(!axvcpu_arch->vcpu_interruptible ||
		 axvcpu_arch->vcpu_interruptible(vcpu))) ||
	       (axvcpu_arch->vcpu_runnable && axvcpu_arch->vcpu_runnable(vcpu));
}

/*
 * The guest halted with policy BLOCK: sleep as BLOCKED until an interrupt
 * is injected, a kick or a signal.  With policy EXIT, userspace gets it,
 * unless the backend asks to sleep whatever the policy (an arm64 vCPU
 * that PSCI powered off: KVM's KVM_RUN sleeps then too).
 */
static int axvcpu_block(struct axvcpu_vcpu *vcpu, bool always)
{
	bool block = always || vcpu->halt_policy == AXVCPU_HALT_BLOCK;
	u64 since;

	WRITE_ONCE(vcpu->stat.halt_exits, vcpu->stat.halt_exits + 1);
	trace_axvcpu_halt(vcpu, block);
	if (!block) {
		vcpu->run->exit_reason = KVM_EXIT_HLT;
		return AXVCPU_EXIT_USER;
	}
	axvcpu_transition(vcpu, AXVCPU_STATE_BLOCKED);
	since = vcpu->state_since;
	WRITE_ONCE(vcpu->stat.blocking, 1);
	wait_event_interruptible(vcpu->wq, axvcpu_should_wake(vcpu));
	clear_bit(AXVCPU_REQ_KICK, &vcpu->requests);
	WRITE_ONCE(vcpu->stat.blocking, 0);
	WRITE_ONCE(vcpu->stat.halt_wakeup, vcpu->stat.halt_wakeup + 1);
	trace_axvcpu_wake(vcpu, ktime_get_ns() - since,
			  signal_pending(current));
	axvcpu_transition(vcpu, AXVCPU_STATE_READY);
	axvcpu_transition(vcpu, AXVCPU_STATE_RUNNING);
	/* A signal: the loop's first check makes it KVM_EXIT_INTR. */
	return AXVCPU_EXIT_CONTINUE;
}

/*
 * Enter the guest until an exit needs userspace.  RUNNING, mutex held.
 * Returns 0 (kvm_run filled), AXVCPU_EXIT_FAILED, or an error.
 */
static int axvcpu_run_loop(struct axvcpu_vcpu *vcpu)
{
	bool immediate_exit = axvcpu_run_immediate_exit(vcpu->run);
	bool stalled = false;
	int r;

	for (;;) {
		/*
		 * As KVM: a signal is KVM_EXIT_INTR; immediate_exit leaves
		 * exit_reason as it was (KVM_RUN then only completed the
		 * last exit, and KVM's selftests read that exit again).
		 */
		if (immediate_exit) {
			WRITE_ONCE(vcpu->last_exit_reason, KVM_EXIT_INTR);
			return -EINTR;
		}
		if (signal_pending(current)) {
			axvcpu_exit_to_user(vcpu, KVM_EXIT_INTR);
			return -EINTR;
		}
		if (!stalled) {
			axvcpu_test_stall();
			stalled = true;
			continue;
		}
		cond_resched();

		preempt_disable();
		if (!cpumask_test_cpu(smp_processor_id(), vcpu->cpu_set)) {
			preempt_enable();
			r = axvcpu_confine(vcpu);
			if (r)
				return r;
			continue;
		}
		r = axvcpu_enter(vcpu);
		preempt_enable();
		if (r)
			return r;

		r = axvcpu_arch->vcpu_handle_exit(vcpu);
		WRITE_ONCE(vcpu->stat.exits, vcpu->stat.exits + 1);
		trace_axvcpu_exit(vcpu, r);
		if (r == AXVCPU_EXIT_HALT || r == AXVCPU_EXIT_SLEEP)
			r = axvcpu_block(vcpu, r == AXVCPU_EXIT_SLEEP);
		if (r != AXVCPU_EXIT_CONTINUE) {
			if (r >= 0)
				WRITE_ONCE(vcpu->last_exit_reason,
					   vcpu->run->exit_reason);
			return r;
		}
	}
}

long axvcpu_vcpu_run(struct axvcpu_vcpu *vcpu)
{
	/* KVM's halt: KVM_EXIT_HLT on x86, a sleep in the kernel on arm64. */
	const struct axvcpu_setup walk = {
		.halt_policy = axvcpu_arch->kvm_halt_policy,
	};
	int r;

	r = mutex_lock_killable(&vcpu->mutex);
	if (r)
		return r;
	/* From here state requests fail at once: see axvcpu_lock_for_request. */
	WRITE_ONCE(vcpu->in_run, true);
	if (!axvcpu_allowed(vcpu, AXVCPU_STEP_RUN)) {
		r = axvcpu_refuse(vcpu);
		goto out_unlock;
	}
	/* Clients written for KVM never SETUP or BIND: walk the edges. */
	if (vcpu->state == AXVCPU_STATE_CREATED) {
		r = axvcpu_do_setup(vcpu, &walk);
		if (r)
			goto out_unlock;
	}
	if (vcpu->state == AXVCPU_STATE_FREE) {
		r = axvcpu_do_bind(vcpu, AXVCPU_CPU_ANY);
		if (r)
			goto out_unlock;
	}

	clear_bit(AXVCPU_REQ_INVALIDATE, &vcpu->requests);
	axvcpu_transition(vcpu, AXVCPU_STATE_RUNNING);
	axvcpu_sigset_activate(vcpu);
	r = AXVCPU_EXIT_CONTINUE;
	if (axvcpu_arch->vcpu_run_begin)
		r = axvcpu_arch->vcpu_run_begin(vcpu);
	if (r == AXVCPU_EXIT_CONTINUE)
		r = axvcpu_run_loop(vcpu);
	if (axvcpu_arch->vcpu_run_end)
		axvcpu_arch->vcpu_run_end(vcpu);
	axvcpu_sigset_deactivate(vcpu);
	axvcpu_stat_user_exit(vcpu, r);

	if (test_and_clear_bit(AXVCPU_REQ_INVALIDATE, &vcpu->requests)) {
		axvcpu_invalidate(vcpu);
	} else if (r == AXVCPU_EXIT_FAILED) {
		/* The hardware refused the guest: kvm_run says why. */
		axvcpu_hw_failed(vcpu, AXVCPU_STEP_RUN, -EIO);
		r = 0;
	} else if (r < 0 && r != -EINTR && r != -EOPNOTSUPP && r != -ENXIO &&
		   r != -EPERM && r != -ENOMEM && r != -ENOSYS &&
		   r != -ENOEXEC) {
		axvcpu_hw_failed(vcpu, AXVCPU_STEP_RUN, r);
	} else {
		axvcpu_transition(vcpu, AXVCPU_STATE_READY);
	}
out_unlock:
	WRITE_ONCE(vcpu->in_run, false);
	mutex_unlock(&vcpu->mutex);
	return r;
}
