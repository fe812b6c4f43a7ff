// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: /dev/axvcpu, the VM and vCPU file descriptors and their ioctls.
 *
 * The ioctls are KVM's (<linux/kvm.h>), answered with KVM's semantics, plus
 * axvcpu's own (<linux/axvcpu.h>) for placement and the vCPU state machine.
 */
#include <linux/anon_inodes.h>
#include <linux/compat.h>
#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "axvcpu_host.h"
#include "axvcpu_trace.h"

#define AXVCPU_API_VERSION	12

const struct axvcpu_arch_ops *axvcpu_arch;

static unsigned int axvcpu_dev_mode = 0600;
module_param_named(dev_mode, axvcpu_dev_mode, uint, 0444);
MODULE_PARM_DESC(dev_mode, "Mode of /dev/axvcpu (default 0600)");

static unsigned int axvcpu_max_vms = 64;
module_param_named(max_vms_per_process, axvcpu_max_vms, uint, 0644);
MODULE_PARM_DESC(max_vms_per_process,
		 "VMs one process may have at a time (default 64)");

static DEFINE_IDA(axvcpu_vm_ida);
/* Every live VM, to count each process's against max_vms_per_process. */
static LIST_HEAD(axvcpu_vms);
static DEFINE_MUTEX(axvcpu_vms_lock);
static atomic_t axvcpu_nr_vms = ATOMIC_INIT(0);
static atomic_t axvcpu_nr_vcpus = ATOMIC_INIT(0);
static struct dentry *axvcpu_debugfs;

static long axvcpu_check_extension(long cap)
{
	switch (cap) {
	case KVM_CAP_USER_MEMORY:
	/* KVM's generic answers: deleting and joining slots work. */
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_READONLY_MEM:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_BINARY_STATS_FD:
	case KVM_CAP_ENABLE_CAP_VM:
		return 1;
	case KVM_CAP_NR_VCPUS:
		return min_t(unsigned int, num_online_cpus(), AXVCPU_MAX_VCPUS);
	case KVM_CAP_MAX_VCPUS:
		return AXVCPU_MAX_VCPUS;
	case KVM_CAP_MAX_VCPU_ID:
		return AXVCPU_MAX_VCPU_ID;
	case KVM_CAP_NR_MEMSLOTS:
		return AXVCPU_NR_MEMSLOTS;
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		/* The options KVM_ENABLE_CAP takes; the dirty ring stays 0. */
		return axvcpu_arch->write_protect ?
		       KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
		       KVM_DIRTY_LOG_INITIALLY_SET : 0;
	default:
		return axvcpu_arch->check_extension ?
		       axvcpu_arch->check_extension(cap) : 0;
	}
}

/* --- vCPU fd ------------------------------------------------------------ */

static vm_fault_t axvcpu_vcpu_fault(struct vm_fault *vmf)
{
	struct axvcpu_vcpu *vcpu = vmf->vma->vm_file->private_data;

	if (vmf->pgoff >= axvcpu_arch->run_pages)
		return VM_FAULT_SIGBUS;
	vmf->page = vcpu->run_pages[vmf->pgoff];
	get_page(vmf->page);
	return 0;
}

static const struct vm_operations_struct axvcpu_vcpu_vm_ops = {
	.fault = axvcpu_vcpu_fault,
};

static int axvcpu_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct axvcpu_vcpu *vcpu = file->private_data;

	/* kvm_run is the VM's process's, like the ioctls that fill it. */
	if (vcpu->vm->mm != current->mm)
		return -EIO;
	vma->vm_ops = &axvcpu_vcpu_vm_ops;
	return 0;
}

static int axvcpu_vcpu_release(struct inode *inode, struct file *file)
{
	struct axvcpu_vcpu *vcpu = file->private_data;

	/* The vCPU itself lives as long as its VM, as in KVM. */
	axvcpu_vm_put(vcpu->vm);
	return 0;
}

static long axvcpu_vcpu_ioctl(struct file *file, unsigned int ioctl,
			      unsigned long arg)
{
	struct axvcpu_vcpu *vcpu = file->private_data;
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;

	if (ioctl == KVM_RUN)
		return arg ? -EINVAL : axvcpu_vcpu_run(vcpu);
	if (ioctl == KVM_GET_STATS_FD)
		return axvcpu_vcpu_stats_fd(vcpu);
	if (ioctl == KVM_SET_SIGNAL_MASK)
		return axvcpu_set_signal_mask(vcpu, (void __user *)arg);
	if (_IOC_TYPE(ioctl) == AXVCPU_IO)
		r = axvcpu_vcpu_state_ioctl(vcpu, ioctl, (void __user *)arg);
	else
		r = axvcpu_vcpu_arch_ioctl(vcpu, ioctl, (void __user *)arg);
	/* The handlers say -ENOTTY for what they do not know; KVM, EINVAL. */
	return r == -ENOTTY ? -EINVAL : r;
}

/* The transition log, AXVCPU_TRACE_STATES; see vcpu_trace.c. */
static ssize_t axvcpu_vcpu_read(struct file *file, char __user *buf,
				size_t count, loff_t *ppos)
{
	struct axvcpu_vcpu *vcpu = file->private_data;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	return axvcpu_trace_read(vcpu, buf, count,
				 file->f_flags & O_NONBLOCK);
}

static __poll_t axvcpu_vcpu_poll(struct file *file, poll_table *wait)
{
	struct axvcpu_vcpu *vcpu = file->private_data;

	if (vcpu->vm->mm != current->mm)
		return EPOLLERR;
	return axvcpu_trace_poll(vcpu, file, wait);
}

static const struct file_operations axvcpu_vcpu_fops = {
	.owner = THIS_MODULE,
	.release = axvcpu_vcpu_release,
	.read = axvcpu_vcpu_read,
	.poll = axvcpu_vcpu_poll,
	.unlocked_ioctl = axvcpu_vcpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = axvcpu_vcpu_mmap,
	.llseek = noop_llseek,
};

static void axvcpu_vcpu_free(struct axvcpu_vcpu *vcpu)
{
	int i;

	for (i = 0; i < AXVCPU_RUN_PAGES_MAX; i++)
		if (vcpu->run_pages[i])
			__free_page(vcpu->run_pages[i]);
	axvcpu_trace_free(vcpu);
	free_cpumask_var(vcpu->cpu_set);
	kfree(vcpu);
}

static void axvcpu_vcpu_destroy(struct axvcpu_vcpu *vcpu)
{
	axvcpu_vcpu_release_cpu(vcpu);
	if (axvcpu_arch->vcpu_destroy)
		axvcpu_arch->vcpu_destroy(vcpu);
	axvcpu_vcpu_free(vcpu);
	atomic_dec(&axvcpu_nr_vcpus);
}

static struct axvcpu_vcpu *axvcpu_vcpu_alloc(struct axvcpu_vm *vm,
					     const struct axvcpu_create_vcpu *c,
					     const struct cpumask *set)
{
	struct axvcpu_vcpu *vcpu;
	unsigned int i;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return NULL;
	if (!zalloc_cpumask_var(&vcpu->cpu_set, GFP_KERNEL_ACCOUNT))
		goto out_free;
	for (i = 0; i < axvcpu_arch->run_pages; i++) {
		vcpu->run_pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!vcpu->run_pages[i])
			goto out_free;
	}
	vcpu->run = page_address(vcpu->run_pages[0]);
	vcpu->vm = vm;
	vcpu->vcpu_id = c->vcpu_id;
	vcpu->favor_cpu = c->favor_phys_cpu;
	cpumask_copy(vcpu->cpu_set, set);
	mutex_init(&vcpu->mutex);
	axvcpu_vcpu_init_state(vcpu);
	return vcpu;

out_free:
	axvcpu_vcpu_free(vcpu);
	return NULL;
}

/*
 * Turn the user's placement into a CPU mask: every CPU named must be
 * online, and an empty set means every possible CPU, as KVM_CREATE_VCPU.
 */
static int axvcpu_placement(const struct axvcpu_create_vcpu *c,
			    struct cpumask *set)
{
	unsigned int cpu;

	cpumask_clear(set);
	for (cpu = 0; cpu < AXVCPU_MAX_CPUS; cpu++) {
		if (!(c->phys_cpu_set[cpu / 64] & BIT_ULL(cpu % 64)))
			continue;
		if (cpu >= nr_cpu_ids || !cpu_online(cpu))
			return -EINVAL;
		cpumask_set_cpu(cpu, set);
	}
	if (cpumask_empty(set))
		cpumask_copy(set, cpu_possible_mask);
	if (c->favor_phys_cpu != AXVCPU_CPU_ANY &&
	    (c->favor_phys_cpu < 0 || c->favor_phys_cpu >= nr_cpu_ids ||
	     !cpu_online(c->favor_phys_cpu) ||
	     !cpumask_test_cpu(c->favor_phys_cpu, set)))
		return -EINVAL;
	return 0;
}

static int axvcpu_create_vcpu(struct axvcpu_vm *vm,
			      const struct axvcpu_create_vcpu *c)
{
	struct axvcpu_vcpu *vcpu;
	cpumask_var_t set;
	struct file *file;
	int r, fd;

	if (c->flags || c->pad || c->vcpu_id >= AXVCPU_MAX_VCPU_ID)
		return -EINVAL;
	if (!zalloc_cpumask_var(&set, GFP_KERNEL))
		return -ENOMEM;

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (vm->nr_vcpus >= AXVCPU_MAX_VCPUS)
		goto out_unlock;
	/* KVM_CAP_MAX_VCPU_ID is fixed from the first vCPU on, as KVM's. */
	if (!vm->max_vcpu_ids)
		vm->max_vcpu_ids = AXVCPU_MAX_VCPU_ID;
	if (c->vcpu_id >= vm->max_vcpu_ids)
		goto out_unlock;
	r = -EEXIST;
	if (xa_load(&vm->vcpus, c->vcpu_id))
		goto out_unlock;
	cpus_read_lock();
	r = axvcpu_placement(c, set);
	cpus_read_unlock();
	if (r)
		goto out_unlock;

	r = -ENOMEM;
	vcpu = axvcpu_vcpu_alloc(vm, c, set);
	if (!vcpu)
		goto out_unlock;
	if (axvcpu_arch->vcpu_create) {
		r = axvcpu_arch->vcpu_create(vcpu);
		if (r)
			goto out_free_vcpu;
	}
	/*
	 * The slot is reserved, not filled: walks of vm->vcpus (PSCI's from
	 * other vCPUs among them, which take no VM lock) must not find a
	 * vCPU whose creation can still fail and free it.  As KVM does.
	 */
	r = xa_reserve(&vm->vcpus, c->vcpu_id, GFP_KERNEL_ACCOUNT);
	if (r)
		goto out_destroy_vcpu;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		goto out_release;
	}
	file = anon_inode_getfile("axvcpu-vcpu", &axvcpu_vcpu_fops, vcpu,
				  O_RDWR);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		goto out_put_fd;
	}
	/* Nothing fails from here: the vCPU becomes visible. */
	xa_store(&vm->vcpus, c->vcpu_id, vcpu, 0);
	kref_get(&vm->kref);
	vm->nr_vcpus++;
	atomic_inc(&axvcpu_nr_vcpus);
	mutex_unlock(&vm->lock);
	free_cpumask_var(set);
	fd_install(fd, file);
	return fd;

out_put_fd:
	put_unused_fd(fd);
out_release:
	xa_release(&vm->vcpus, c->vcpu_id);
out_destroy_vcpu:
	if (axvcpu_arch->vcpu_destroy)
		axvcpu_arch->vcpu_destroy(vcpu);
out_free_vcpu:
	axvcpu_vcpu_free(vcpu);
out_unlock:
	mutex_unlock(&vm->lock);
	free_cpumask_var(set);
	return r;
}

/* --- VM fd -------------------------------------------------------------- */

static void axvcpu_vm_list_del(struct axvcpu_vm *vm)
{
	mutex_lock(&axvcpu_vms_lock);
	list_del(&vm->list);
	mutex_unlock(&axvcpu_vms_lock);
}

static void axvcpu_vm_free(struct kref *kref)
{
	struct axvcpu_vm *vm = container_of(kref, struct axvcpu_vm, kref);
	struct axvcpu_vcpu *vcpu;
	unsigned long i;

	xa_for_each(&vm->vcpus, i, vcpu)
		axvcpu_vcpu_destroy(vcpu);
	xa_destroy(&vm->vcpus);
	axvcpu_free_memslots(vm);
	if (axvcpu_arch->vm_destroy)
		axvcpu_arch->vm_destroy(vm);
	axvcpu_hardware_put();
	axvcpu_vm_list_del(vm);
	mmdrop(vm->mm);
	ida_free(&axvcpu_vm_ida, vm->id);
	kfree(vm);
	atomic_dec(&axvcpu_nr_vms);
}

void axvcpu_vm_put(struct axvcpu_vm *vm)
{
	kref_put(&vm->kref, axvcpu_vm_free);
}

static int axvcpu_vm_release(struct inode *inode, struct file *file)
{
	axvcpu_vm_put(file->private_data);
	return 0;
}

/*
 * KVM_ENABLE_CAP on the VM fd: KVM's generic capabilities here, then the
 * architecture's; one KVM does not know anywhere is EINVAL.
 */
static long axvcpu_vm_enable_cap(struct axvcpu_vm *vm, void __user *argp)
{
	struct kvm_enable_cap cap;
	long r;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	switch (cap.cap) {
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		if (!axvcpu_arch->write_protect)
			return -EINVAL;
		return axvcpu_enable_manual_dirty_log(vm, &cap);
	default:
		r = axvcpu_arch->vm_ioctl ?
		    axvcpu_arch->vm_ioctl(vm, KVM_ENABLE_CAP, argp) : -ENOTTY;
		return r == -ENOTTY ? -EINVAL : r;
	}
}

static long axvcpu_vm_ioctl(struct file *file, unsigned int ioctl,
			    unsigned long arg)
{
	struct axvcpu_vm *vm = file->private_data;
	void __user *argp = (void __user *)arg;
	struct kvm_userspace_memory_region mem;
	struct axvcpu_create_vcpu c;
	int r;

	if (vm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	case KVM_CREATE_VCPU:
		if (arg >= AXVCPU_MAX_VCPU_ID)
			return -EINVAL;
		memset(&c, 0, sizeof(c));
		c.vcpu_id = arg;
		c.favor_phys_cpu = AXVCPU_CPU_ANY;
		return axvcpu_create_vcpu(vm, &c);
	case AXVCPU_CREATE_VCPU:
		if (copy_from_user(&c, argp, sizeof(c)))
			return -EFAULT;
		return axvcpu_create_vcpu(vm, &c);
	case KVM_SET_USER_MEMORY_REGION:
		if (copy_from_user(&mem, argp, sizeof(mem)))
			return -EFAULT;
		r = axvcpu_set_memory_region(vm, &mem);
		trace_axvcpu_set_memory_region(vm, &mem, r);
		if (!r)
			atomic64_inc(&vm->stat.region_changes);
		return r;
	case KVM_CHECK_EXTENSION:
		return axvcpu_check_extension(arg);
	case KVM_ENABLE_CAP:
		return axvcpu_vm_enable_cap(vm, argp);
	case KVM_GET_DIRTY_LOG:
	case KVM_CLEAR_DIRTY_LOG:
		if (!axvcpu_arch->write_protect)
			break;
		return axvcpu_dirty_log_ioctl(vm, ioctl, argp);
	case KVM_GET_STATS_FD:
		return axvcpu_vm_stats_fd(vm);
	default:
		break;
	}
	return axvcpu_arch->vm_ioctl ? axvcpu_arch->vm_ioctl(vm, ioctl, argp) :
	       -ENOTTY;
}

static const struct file_operations axvcpu_vm_fops = {
	.owner = THIS_MODULE,
	.release = axvcpu_vm_release,
	.unlocked_ioctl = axvcpu_vm_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

/* Add vm to the list, unless its process has max_vms_per_process. */
static int axvcpu_vm_list_add(struct axvcpu_vm *vm)
{
	unsigned int max = READ_ONCE(axvcpu_max_vms), n = 0;
	struct axvcpu_vm *other;
	int r = 0;

	mutex_lock(&axvcpu_vms_lock);
	list_for_each_entry(other, &axvcpu_vms, list)
		if (other->mm == vm->mm)
			n++;
	if (n >= max) {
		pr_info_ratelimited("axvcpu: %s[%d] has %u VMs, the max_vms_per_process limit\n",
				    current->comm, task_pid_nr(current), n);
		r = -EMFILE;
	} else {
		list_add(&vm->list, &axvcpu_vms);
	}
	mutex_unlock(&axvcpu_vms_lock);
	return r;
}

static int axvcpu_create_vm(unsigned long type)
{
	struct axvcpu_vm *vm;
	struct file *file;
	int r, fd;

	r = axvcpu_arch->vm_type ? axvcpu_arch->vm_type(type) :
	    type ? -EINVAL : 0;
	if (r)
		return r;
	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	vm->type = type;
	/* KVM's VM clock counts from the VM's creation. */
	vm->clock_offset = -ktime_get_boottime_ns();
	kref_init(&vm->kref);
	mutex_init(&vm->lock);
	xa_init(&vm->vcpus);
	vm->mm = current->mm;
	mmgrab(vm->mm);
	r = axvcpu_vm_list_add(vm);
	if (r)
		goto out_drop_mm;

	r = ida_alloc(&axvcpu_vm_ida, GFP_KERNEL);
	if (r < 0)
		goto out_list_del;
	vm->id = r;

	r = axvcpu_hardware_get();
	if (r)
		goto out_free_id;
	if (axvcpu_arch->vm_init) {
		r = axvcpu_arch->vm_init(vm);
		if (r)
			goto out_put_hw;
	}

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		goto out_vm_destroy;
	}
	file = anon_inode_getfile("axvcpu-vm", &axvcpu_vm_fops, vm, O_RDWR);
	if (IS_ERR(file)) {
		r = PTR_ERR(file);
		goto out_put_fd;
	}
	atomic_inc(&axvcpu_nr_vms);
	fd_install(fd, file);
	return fd;

out_put_fd:
	put_unused_fd(fd);
out_vm_destroy:
	if (axvcpu_arch->vm_destroy)
		axvcpu_arch->vm_destroy(vm);
out_put_hw:
	axvcpu_hardware_put();
out_free_id:
	ida_free(&axvcpu_vm_ida, vm->id);
out_list_del:
	axvcpu_vm_list_del(vm);
out_drop_mm:
	mmdrop(vm->mm);
	kfree(vm);
	return r;
}

/* --- /dev/axvcpu ---------------------------------------------------------- */

static long axvcpu_dev_ioctl(struct file *file, unsigned int ioctl,
			     unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_API_VERSION:
		return arg ? -EINVAL : AXVCPU_API_VERSION;
	case KVM_CHECK_EXTENSION:
		return axvcpu_check_extension(arg);
	case KVM_CREATE_VM:
		return axvcpu_create_vm(arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		return arg ? -EINVAL : axvcpu_arch->run_pages * PAGE_SIZE;
	default:
		/* kvm_arch_dev_ioctl(): KVM's errno for the unknown, EINVAL. */
		return axvcpu_arch->dev_ioctl ?
		       axvcpu_arch->dev_ioctl(ioctl, (void __user *)arg) :
		       -EINVAL;
	}
}

static const struct file_operations axvcpu_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = axvcpu_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice axvcpu_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "axvcpu",
	.fops = &axvcpu_dev_fops,
};

static int axvcpu_status_show(struct seq_file *m, void *unused)
{
	seq_printf(m, "backend: %s\n", axvcpu_arch->name);
	seq_printf(m, "vms: %d\n", atomic_read(&axvcpu_nr_vms));
	seq_printf(m, "vcpus: %d\n", atomic_read(&axvcpu_nr_vcpus));
	seq_printf(m, "hardware_users: %d\n", axvcpu_hardware_users());
	seq_printf(m, "enabled_cpus: %d\n", axvcpu_enabled_cpus());
	seq_printf(m, "pinned_pages: %ld\n", axvcpu_pinned_pages());
	seq_printf(m, "table_pages: %ld\n",
		   atomic_long_read(&axvcpu_nr_table_pages));
	seq_printf(m, "strict_transitions: %d\n", axvcpu_strict_transitions);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(axvcpu_status);

static int __init axvcpu_init(void)
{
	int r;

	axvcpu_arch = axvcpu_arch_probe();
	if (IS_ERR(axvcpu_arch))
		return PTR_ERR(axvcpu_arch);

	r = axvcpu_hardware_init();
	if (r)
		goto out_arch_exit;

	axvcpu_dev.mode = axvcpu_dev_mode & 0666;
	r = misc_register(&axvcpu_dev);
	if (r)
		goto out_hardware_exit;

	axvcpu_debugfs = debugfs_create_dir("axvcpu", NULL);
	axvcpu_test_hooks_debugfs(axvcpu_debugfs);
	debugfs_create_file("status", 0400, axvcpu_debugfs, NULL,
			    &axvcpu_status_fops);
	pr_info("axvcpu: %s backend ready\n", axvcpu_arch->name);
	return 0;

out_hardware_exit:
	axvcpu_hardware_exit();
out_arch_exit:
	if (axvcpu_arch->exit)
		axvcpu_arch->exit();
	return r;
}

static void __exit axvcpu_exit(void)
{
	debugfs_remove_recursive(axvcpu_debugfs);
	misc_deregister(&axvcpu_dev);
	axvcpu_hardware_exit();
	if (axvcpu_arch->exit)
		axvcpu_arch->exit();
	ida_destroy(&axvcpu_vm_ida);
}

module_init(axvcpu_init);
module_exit(axvcpu_exit);

MODULE_DESCRIPTION("axvcpu: virtual machines and vCPUs with an explicit state machine, through KVM's ABI");
MODULE_LICENSE("GPL");
