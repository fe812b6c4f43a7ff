// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: KVM_GET_STATS_FD, KVM's binary statistics on the VM and vCPU fds.
 *
 * The file a stats fd reads is KVM's format (Documentation/virt/kvm/api.rst,
 * "KVM_GET_STATS_FD"): a struct kvm_stats_header, the id string, one
 * struct kvm_stats_desc per statistic (each followed by its name, in
 * name_size bytes), then the data, one u64 per element.  Everything but
 * the data is fixed when the fd is made; the data is read from the live
 * VM or vCPU at each read(), without its lock, as KVM does.
 *
 * A statistic is one row of axvcpu_vcpu_stats[] or axvcpu_vm_stats[]: its
 * name, KVM's type/unit/base flags and exponent, and where its value
 * lives in struct axvcpu_vcpu or struct axvcpu_vm.  A new one is one row.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "axvcpu_host.h"
#include "axvcpu_trace.h"

/* As KVM's KVM_STATS_NAME_SIZE: the id and every name fit, with a NUL. */
#define AXVCPU_STATS_NAME_SIZE	48

/* Where a statistic's value comes from. */
enum axvcpu_stat_kind {
	AXVCPU_STAT_U64,	/* u64 (array), written by one thread */
	AXVCPU_STAT_ATOMIC,	/* atomic64_t (array), any thread */
	AXVCPU_STAT_UINT,	/* unsigned int */
	AXVCPU_STAT_STATE_NS,	/* a vCPU's time in ->state, up to now */
};

struct axvcpu_stat_desc {
	const char *name;
	u32 flags;		/* KVM_STATS_TYPE_*, _UNIT_*, _BASE_* */
	s16 exponent;
	u16 size;		/* elements */
	u32 bucket_size;	/* linear histograms */
	u32 src;		/* offset in the VM or vCPU (not STATE_NS) */
	u8 kind;
	u8 state;		/* AXVCPU_STAT_STATE_NS: which */
};

#define AXVCPU_STAT(_name, _type, _unit, _exp, _kind, _type_of, _field,	\
		    _size, _bucket)					\
	{								\
		.name = _name,						\
		.flags = KVM_STATS_TYPE_##_type | KVM_STATS_UNIT_##_unit | \
			 KVM_STATS_BASE_POW10,				\
		.exponent = _exp,					\
		.size = _size,						\
		.bucket_size = _bucket,					\
		.src = offsetof(_type_of, _field),			\
		.kind = AXVCPU_STAT_##_kind,				\
	}

/* vCPU rows. */
#define VCPU_COUNTER(name, field)					\
	AXVCPU_STAT(name, CUMULATIVE, NONE, 0, U64, struct axvcpu_vcpu, \
		    field, 1, 0)
#define VCPU_ATOMIC(name, field)					\
	AXVCPU_STAT(name, CUMULATIVE, NONE, 0, ATOMIC, struct axvcpu_vcpu, \
		    field, 1, 0)
/* The time in state st (time_ns[st], and the current state's up to now). */
#define VCPU_STATE_NS(_name, st)					\
	{								\
		.name = _name,						\
		.flags = KVM_STATS_TYPE_CUMULATIVE |			\
			 KVM_STATS_UNIT_SECONDS | KVM_STATS_BASE_POW10,	\
		.exponent = -9,						\
		.size = 1,						\
		.kind = AXVCPU_STAT_STATE_NS,				\
		.state = st,						\
	}
#define VCPU_TRANSITIONS(_name, st)					\
	VCPU_COUNTER(_name, transitions[st])

static const struct axvcpu_stat_desc axvcpu_vcpu_stats[] = {
	/* Every exit from guest mode, handled in the kernel or not. */
	VCPU_COUNTER("exits", stat.exits),
	/* KVM_RUN returned to userspace with kvm_run filled. */
	VCPU_COUNTER("userspace_exits", stat.user_exits),
	/* The same by kvm_run->exit_reason (KVM_EXIT_*); the last: larger. */
	AXVCPU_STAT("userspace_exit_reason", LINEAR_HIST, NONE, 0, U64,
		    struct axvcpu_vcpu, stat.user_exit_reasons,
		    AXVCPU_STAT_EXIT_REASONS, 1),
	/* KVM_EXIT_INTR: a signal or immediate_exit. */
	VCPU_COUNTER("signal_exits", stat.signal_exits),
	/* Halts (HLT, WFI), whichever the policy; KVM's x86 name. */
	VCPU_COUNTER("halt_exits", stat.halt_exits),
	/* BLOCKED -> READY: the halted vCPU woke in the kernel. */
	VCPU_COUNTER("halt_wakeup", stat.halt_wakeup),
	/* Time BLOCKED, KVM's halt_wait_ns (axvcpu never polls). */
	VCPU_STATE_NS("halt_wait_ns", AXVCPU_STATE_BLOCKED),
	AXVCPU_STAT("blocking", INSTANT, BOOLEAN, 0, U64, struct axvcpu_vcpu,
		    stat.blocking, 1, 0),
	VCPU_ATOMIC("irq_injections", stat.injections),
	VCPU_ATOMIC("kicks", stat.kicks),
	/* State requests refused: the wrong state, or KVM_RUN held it. */
	VCPU_ATOMIC("refused_requests", refused),
	/* Entries into each state, and the time spent in it. */
	VCPU_TRANSITIONS("state_invalid_transitions", AXVCPU_STATE_INVALID),
	VCPU_STATE_NS("state_invalid_ns", AXVCPU_STATE_INVALID),
	VCPU_TRANSITIONS("state_created_transitions", AXVCPU_STATE_CREATED),
	VCPU_STATE_NS("state_created_ns", AXVCPU_STATE_CREATED),
	VCPU_TRANSITIONS("state_free_transitions", AXVCPU_STATE_FREE),
	VCPU_STATE_NS("state_free_ns", AXVCPU_STATE_FREE),
	VCPU_TRANSITIONS("state_ready_transitions", AXVCPU_STATE_READY),
	VCPU_STATE_NS("state_ready_ns", AXVCPU_STATE_READY),
	VCPU_TRANSITIONS("state_running_transitions", AXVCPU_STATE_RUNNING),
	VCPU_STATE_NS("state_running_ns", AXVCPU_STATE_RUNNING),
	VCPU_TRANSITIONS("state_blocked_transitions", AXVCPU_STATE_BLOCKED),
	VCPU_STATE_NS("state_blocked_ns", AXVCPU_STATE_BLOCKED),
};

static const struct axvcpu_stat_desc axvcpu_vm_stats[] = {
	AXVCPU_STAT("vcpus", INSTANT, NONE, 0, UINT, struct axvcpu_vm,
		    nr_vcpus, 1, 0),
	/* KVM_SET_USER_MEMORY_REGION calls that changed something. */
	AXVCPU_STAT("memory_region_changes", CUMULATIVE, NONE, 0, ATOMIC,
		    struct axvcpu_vm, stat.region_changes, 1, 0),
	/* Stage-2 mappings went: every vCPU in guest mode was made to exit. */
	AXVCPU_STAT("remote_tlb_flush", CUMULATIVE, NONE, 0, U64,
		    struct axvcpu_vm, stat.remote_tlb_flush, 1, 0),
};

/* One open stats fd: the file's image, its data part refreshed on read. */
struct axvcpu_stats_file {
	struct mutex lock;		/* the data part of image */
	struct axvcpu_vm *vm;		/* a reference: the VM, and its vCPU */
	const void *obj;		/* the VM or the vCPU */
	const struct axvcpu_stat_desc *descs;
	unsigned int nr_descs;
	size_t data_offset;
	size_t size;			/* of image */
	u8 image[];
};

/* A vCPU's time in @state up to now; see axvcpu_get_state(). */
static u64 axvcpu_stat_state_ns(const struct axvcpu_vcpu *vcpu, u8 state)
{
	u32 cur = READ_ONCE(vcpu->state);
	u64 ns, since, now;

	/* state_since of that transition or a later one; pairs with smp_wmb. */
	smp_rmb();
	since = READ_ONCE(vcpu->state_since);
	ns = READ_ONCE(vcpu->time_ns[state]);
	now = ktime_get_ns();
	if (cur == state && now > since)
		ns += now - since;
	return ns;
}

static void axvcpu_stats_fill(struct axvcpu_stats_file *sf)
{
	u64 *data = (u64 *)(sf->image + sf->data_offset);
	const struct axvcpu_stat_desc *d;
	const void *src;
	unsigned int i, j;

	for (i = 0; i < sf->nr_descs; i++) {
		d = &sf->descs[i];
		src = sf->obj + d->src;
		for (j = 0; j < d->size; j++, data++) {
			switch (d->kind) {
			case AXVCPU_STAT_U64:
				*data = READ_ONCE(((const u64 *)src)[j]);
				break;
			case AXVCPU_STAT_ATOMIC:
				*data = atomic64_read(&((const atomic64_t *)src)[j]);
				break;
			case AXVCPU_STAT_UINT:
				*data = READ_ONCE(*(const unsigned int *)src);
				break;
			case AXVCPU_STAT_STATE_NS:
				*data = axvcpu_stat_state_ns(sf->obj, d->state);
				break;
			}
		}
	}
}

static ssize_t axvcpu_stats_read(struct file *file, char __user *buf,
				 size_t count, loff_t *ppos)
{
	struct axvcpu_stats_file *sf = file->private_data;
	loff_t pos = *ppos;
	size_t len;

	if (pos < 0)
		return -EINVAL;
	if (pos >= sf->size)
		return 0;
	len = min_t(size_t, count, sf->size - pos);
	mutex_lock(&sf->lock);
	if (pos + len > sf->data_offset)
		axvcpu_stats_fill(sf);
	if (copy_to_user(buf, sf->image + pos, len)) {
		mutex_unlock(&sf->lock);
		return -EFAULT;
	}
	mutex_unlock(&sf->lock);
	*ppos = pos + len;
	return len;
}

static loff_t axvcpu_stats_llseek(struct file *file, loff_t offset, int whence)
{
	struct axvcpu_stats_file *sf = file->private_data;

	return fixed_size_llseek(file, offset, whence, sf->size);
}

static int axvcpu_stats_release(struct inode *inode, struct file *file)
{
	struct axvcpu_stats_file *sf = file->private_data;

	axvcpu_vm_put(sf->vm);
	kvfree(sf);
	return 0;
}

static const struct file_operations axvcpu_stats_fops = {
	.owner = THIS_MODULE,
	.read = axvcpu_stats_read,
	.llseek = axvcpu_stats_llseek,
	.release = axvcpu_stats_release,
};

/* The image: header, id, descriptors; the data is filled on read. */
static struct axvcpu_stats_file *
axvcpu_stats_alloc(const struct axvcpu_stat_desc *descs, unsigned int n,
		   const char *id)
{
	const size_t desc_size = sizeof(struct kvm_stats_desc) +
				 AXVCPU_STATS_NAME_SIZE;
	struct kvm_stats_header *h;
	struct axvcpu_stats_file *sf;
	struct kvm_stats_desc *kd;
	size_t data_size = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		data_size += descs[i].size * sizeof(u64);
	sf = kvzalloc(struct_size(sf, image, sizeof(*h) +
				  AXVCPU_STATS_NAME_SIZE + n * desc_size +
				  data_size), GFP_KERNEL_ACCOUNT);
	if (!sf)
		return NULL;
	mutex_init(&sf->lock);
	sf->descs = descs;
	sf->nr_descs = n;

	h = (struct kvm_stats_header *)sf->image;
	h->name_size = AXVCPU_STATS_NAME_SIZE;
	h->num_desc = n;
	h->id_offset = sizeof(*h);
	h->desc_offset = h->id_offset + AXVCPU_STATS_NAME_SIZE;
	h->data_offset = h->desc_offset + n * desc_size;
	strscpy(sf->image + h->id_offset, id, AXVCPU_STATS_NAME_SIZE);
	sf->data_offset = h->data_offset;
	sf->size = sf->data_offset + data_size;

	data_size = 0;
	for (i = 0; i < n; i++) {
		kd = (void *)(sf->image + h->desc_offset + i * desc_size);
		kd->flags = descs[i].flags;
		kd->exponent = descs[i].exponent;
		kd->size = descs[i].size;
		kd->offset = data_size;
		kd->bucket_size = descs[i].bucket_size;
		strscpy(kd->name, descs[i].name, AXVCPU_STATS_NAME_SIZE);
		data_size += descs[i].size * sizeof(u64);
	}
	return sf;
}

/* A read-only fd on sf; it holds a reference to the VM. */
static int axvcpu_stats_fd(struct axvcpu_vm *vm, struct axvcpu_stats_file *sf,
			   const char *name)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		kvfree(sf);
		return fd;
	}
	file = anon_inode_getfile(name, &axvcpu_stats_fops, sf, O_RDONLY);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		kvfree(sf);
		return PTR_ERR(file);
	}
	/* Read with pread() at the header's offsets, as KVM's. */
	file->f_mode |= FMODE_PREAD;
	kref_get(&vm->kref);
	sf->vm = vm;
	fd_install(fd, file);
	return fd;
}

int axvcpu_vm_stats_fd(struct axvcpu_vm *vm)
{
	struct axvcpu_stats_file *sf;
	char id[AXVCPU_STATS_NAME_SIZE];

	/* KVM's id: "kvm-" and the process; the test reads the prefix. */
	snprintf(id, sizeof(id), "kvm-%d", task_tgid_nr(current));
	sf = axvcpu_stats_alloc(axvcpu_vm_stats, ARRAY_SIZE(axvcpu_vm_stats),
				id);
	if (!sf)
		return -ENOMEM;
	sf->obj = vm;
	return axvcpu_stats_fd(vm, sf, "axvcpu-vm-stats");
}

int axvcpu_vcpu_stats_fd(struct axvcpu_vcpu *vcpu)
{
	struct axvcpu_stats_file *sf;
	char id[AXVCPU_STATS_NAME_SIZE];

	snprintf(id, sizeof(id), "kvm-%d/vcpu-%u", task_tgid_nr(current),
		 vcpu->vcpu_id);
	sf = axvcpu_stats_alloc(axvcpu_vcpu_stats,
				ARRAY_SIZE(axvcpu_vcpu_stats), id);
	if (!sf)
		return -ENOMEM;
	sf->obj = vcpu;
	return axvcpu_stats_fd(vcpu->vm, sf, "axvcpu-vcpu-stats");
}

/* KVM_RUN returns r, with kvm_run filled unless r is an error. */
void axvcpu_stat_user_exit(struct axvcpu_vcpu *vcpu, int r)
{
	/* EINTR: a signal or immediate_exit (which leaves exit_reason). */
	u32 reason = r == -EINTR ? KVM_EXIT_INTR : vcpu->run->exit_reason;
	struct axvcpu_vcpu_stat *s = &vcpu->stat;

	trace_axvcpu_userspace_exit(vcpu, reason, r < 0 ? r : 0);
	if (r < 0 && r != -EINTR)
		return;
	WRITE_ONCE(s->user_exits, s->user_exits + 1);
	reason = min_t(u32, reason, AXVCPU_STAT_EXIT_REASONS - 1);
	WRITE_ONCE(s->user_exit_reasons[reason],
		   s->user_exit_reasons[reason] + 1);
	if (reason == KVM_EXIT_INTR)
		WRITE_ONCE(s->signal_exits, s->signal_exits + 1);
}
