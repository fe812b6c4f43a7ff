// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: the virtualization extension, on while any VM exists.
 *
 * The first VM enables it on every online CPU through a dynamic cpuhp
 * state (so CPUs coming online later follow), the last VM disables it.
 * Reboot and suspend turn it off underneath the VMs, as KVM does.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/reboot.h>

#include "axvcpu_host.h"

static DEFINE_MUTEX(axvcpu_hw_lock);
static int axvcpu_hw_users;		/* VMs alive; under axvcpu_hw_lock */
static int axvcpu_hp_state;		/* the dynamic cpuhp state */
static bool axvcpu_rebooting;
static atomic_t axvcpu_nr_enabled = ATOMIC_INIT(0);
static DEFINE_PER_CPU(bool, axvcpu_hw_enabled);

static int axvcpu_enable_this_cpu(void)
{
	int r;

	if (__this_cpu_read(axvcpu_hw_enabled))
		return 0;
	r = axvcpu_arch->hardware_enable();
	if (r)
		return r;
	__this_cpu_write(axvcpu_hw_enabled, true);
	atomic_inc(&axvcpu_nr_enabled);
	return 0;
}

static void axvcpu_disable_this_cpu(void *unused)
{
	if (!__this_cpu_read(axvcpu_hw_enabled))
		return;
	axvcpu_arch->hardware_disable();
	__this_cpu_write(axvcpu_hw_enabled, false);
	atomic_dec(&axvcpu_nr_enabled);
}

static int axvcpu_cpu_online(unsigned int cpu)
{
	int r;

	/* The hotplug thread is bound to cpu; keep the MSR writes atomic. */
	preempt_disable();
	r = axvcpu_enable_this_cpu();
	preempt_enable();
	/* EBUSY (another hypervisor) gets one message, from the caller. */
	if (r && r != -EBUSY)
		pr_err_ratelimited("axvcpu: %s: cannot enable CPU %u: %d\n",
				   axvcpu_arch->name, cpu, r);
	return r;
}

static int axvcpu_cpu_offline(unsigned int cpu)
{
	preempt_disable();
	axvcpu_disable_this_cpu(NULL);
	preempt_enable();
	return 0;
}

/* An emergency restart (kexec, crash): turn it off on this CPU. */
static void axvcpu_emergency_disable(void)
{
	axvcpu_disable_this_cpu(NULL);
}

int axvcpu_hardware_get(void)
{
	int r = 0;

	mutex_lock(&axvcpu_hw_lock);
	if (axvcpu_rebooting) {
		r = -EBUSY;
		goto out_unlock;
	}
	if (axvcpu_hw_users == 0) {
		r = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "axvcpu:online",
				      axvcpu_cpu_online, axvcpu_cpu_offline);
		if (r < 0) {
			if (r == -EBUSY)
				pr_err("axvcpu: %s is in use by another hypervisor (is kvm loaded?)\n",
				       axvcpu_arch->name);
			goto out_unlock;
		}
		axvcpu_hp_state = r;
		axvcpu_emergency_register(axvcpu_emergency_disable);
		r = 0;
	}
	axvcpu_hw_users++;
out_unlock:
	mutex_unlock(&axvcpu_hw_lock);
	return r;
}

void axvcpu_hardware_put(void)
{
	mutex_lock(&axvcpu_hw_lock);
	if (!WARN_ON_ONCE(axvcpu_hw_users <= 0) && --axvcpu_hw_users == 0) {
		axvcpu_emergency_unregister(axvcpu_emergency_disable);
		cpuhp_remove_state(axvcpu_hp_state);
	}
	mutex_unlock(&axvcpu_hw_lock);
}

int axvcpu_hardware_users(void)
{
	return READ_ONCE(axvcpu_hw_users);
}

int axvcpu_enabled_cpus(void)
{
	return atomic_read(&axvcpu_nr_enabled);
}

static int axvcpu_reboot(struct notifier_block *nb, unsigned long code,
			 void *unused)
{
	/* No VM may turn it on again; the machine is going down. */
	mutex_lock(&axvcpu_hw_lock);
	axvcpu_rebooting = true;
	mutex_unlock(&axvcpu_hw_lock);
	on_each_cpu(axvcpu_disable_this_cpu, NULL, 1);
	return NOTIFY_OK;
}

static struct notifier_block axvcpu_reboot_nb = {
	.notifier_call = axvcpu_reboot,
};

/* Suspend runs on the last online CPU with interrupts off. */
static int axvcpu_suspend(AXVCPU_SYSCORE_ARG)
{
	axvcpu_disable_this_cpu(NULL);
	return 0;
}

static void axvcpu_resume(AXVCPU_SYSCORE_ARG)
{
	if (READ_ONCE(axvcpu_hw_users) && axvcpu_enable_this_cpu())
		pr_err("axvcpu: %s: cannot enable after resume\n",
		       axvcpu_arch->name);
}

AXVCPU_DEFINE_SYSCORE(axvcpu_syscore, axvcpu_suspend, axvcpu_resume);

int axvcpu_hardware_init(void)
{
	int r;

	r = register_reboot_notifier(&axvcpu_reboot_nb);
	if (r)
		return r;
	axvcpu_register_syscore(&axvcpu_syscore);
	return 0;
}

void axvcpu_hardware_exit(void)
{
	axvcpu_unregister_syscore(&axvcpu_syscore);
	unregister_reboot_notifier(&axvcpu_reboot_nb);
}
