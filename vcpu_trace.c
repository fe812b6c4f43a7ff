// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: the tracepoints (axvcpu_trace.h), and the transition log of a
 * vCPU (AXVCPU_TRACE_STATES) built on them.
 *
 * A VMM that wants to see every state change, including the ones inside
 * KVM_RUN (RUNNING -> BLOCKED -> READY -> RUNNING), asks for a ring of
 * records and reads it from the vCPU fd.  The writer is a probe on the
 * axvcpu_transition tracepoint, attached while any vCPU has a ring: the
 * log sees what tracefs sees, from the same hook, and costs nothing (a
 * static branch) while no one asks for either.  The probe runs in the
 * transition, under the vCPU mutex; a reader takes only the ring's lock,
 * so reading never waits behind a running guest.  A full ring drops its
 * oldest records: a transition never waits for the reader.
 */
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "axvcpu_host.h"

#define CREATE_TRACE_POINTS
#include "axvcpu_trace.h"

struct axvcpu_trace_ring {
	spinlock_t lock;		/* head, tail and rec[] */
	wait_queue_head_t wq;
	bool enabled;
	u32 entries;			/* a power of two */
	u64 head;			/* seq of the next record written */
	u64 tail;			/* seq of the next record read */
	struct axvcpu_transition rec[];
};

/* Rings allocated, all vCPUs: the probe is attached while there are any. */
static DEFINE_MUTEX(axvcpu_trace_probe_lock);
static unsigned int axvcpu_trace_rings;

/* The probe on axvcpu_transition, in the transition: vCPU mutex held. */
static void axvcpu_trace_record(void *unused, const struct axvcpu_vcpu *vcpu,
				u32 from, u32 to, u64 now)
{
	struct axvcpu_trace_ring *ring = vcpu->trace;
	struct axvcpu_transition *r;

	if (!ring || !READ_ONCE(ring->enabled))
		return;
	spin_lock(&ring->lock);
	r = &ring->rec[ring->head & (ring->entries - 1)];
	r->seq = ring->head;
	r->time_ns = now;
	r->from = from;
	r->to = to;
	r->cpu = vcpu->bound_cpu;
	r->exit_reason = vcpu->last_exit_reason;
	ring->head++;
	/* Full: the oldest record goes; the reader sees the gap in seq. */
	if (ring->head - ring->tail > ring->entries)
		ring->tail = ring->head - ring->entries;
	spin_unlock(&ring->lock);
	wake_up_interruptible(&ring->wq);
}

/* One more ring: the first attaches the probe (-ENOSYS without tracepoints). */
static int axvcpu_trace_probe_get(void)
{
	int r = 0;

	mutex_lock(&axvcpu_trace_probe_lock);
	if (!axvcpu_trace_rings)
		r = register_trace_axvcpu_transition(axvcpu_trace_record, NULL);
	if (!r)
		axvcpu_trace_rings++;
	mutex_unlock(&axvcpu_trace_probe_lock);
	return r;
}

/* One ring less: the last detaches the probe, and waits until it ran out. */
static void axvcpu_trace_probe_put(void)
{
	mutex_lock(&axvcpu_trace_probe_lock);
	if (!--axvcpu_trace_rings) {
		unregister_trace_axvcpu_transition(axvcpu_trace_record, NULL);
		tracepoint_synchronize_unregister();
	}
	mutex_unlock(&axvcpu_trace_probe_lock);
}

long axvcpu_trace_ioctl(struct axvcpu_vcpu *vcpu, void __user *argp)
{
	struct axvcpu_trace_ring *ring;
	struct axvcpu_trace t;
	long r;

	if (copy_from_user(&t, argp, sizeof(t)))
		return -EFAULT;
	if (t.flags || t.entries > AXVCPU_TRACE_MAX ||
	    (t.entries && !is_power_of_2(t.entries)))
		return -EINVAL;

	/* Not a state request: it may wait behind KVM_RUN like KVM's ioctls. */
	r = mutex_lock_killable(&vcpu->mutex);
	if (r)
		return r;
	ring = vcpu->trace;
	if (!t.entries) {
		if (ring)
			WRITE_ONCE(ring->enabled, false);
		goto out_unlock;
	}
	if (ring) {
		if (t.entries != ring->entries)
			r = -EBUSY;
		else
			WRITE_ONCE(ring->enabled, true);
		goto out_unlock;
	}
	ring = kvzalloc(struct_size(ring, rec, t.entries), GFP_KERNEL_ACCOUNT);
	if (!ring) {
		r = -ENOMEM;
		goto out_unlock;
	}
	r = axvcpu_trace_probe_get();
	if (r) {
		kvfree(ring);
		goto out_unlock;
	}
	spin_lock_init(&ring->lock);
	init_waitqueue_head(&ring->wq);
	ring->entries = t.entries;
	ring->enabled = true;
	/* Readers find the ring initialised; pairs with axvcpu_trace_get(). */
	smp_store_release(&vcpu->trace, ring);
out_unlock:
	mutex_unlock(&vcpu->mutex);
	return r;
}

static struct axvcpu_trace_ring *axvcpu_trace_get(struct axvcpu_vcpu *vcpu)
{
	/* The ring initialised; pairs with axvcpu_trace_ioctl()'s release. */
	return smp_load_acquire(&vcpu->trace);
}

static bool axvcpu_trace_pending(struct axvcpu_trace_ring *ring)
{
	bool pending;

	spin_lock(&ring->lock);
	pending = ring->head != ring->tail;
	spin_unlock(&ring->lock);
	return pending;
}

/* Take the oldest record, or return false; not consumed yet. */
static bool axvcpu_trace_peek(struct axvcpu_trace_ring *ring,
			      struct axvcpu_transition *rec)
{
	bool found;

	spin_lock(&ring->lock);
	found = ring->head != ring->tail;
	if (found)
		*rec = ring->rec[ring->tail & (ring->entries - 1)];
	spin_unlock(&ring->lock);
	return found;
}

/* Consume rec unless the writer overwrote it meanwhile (the gap shows). */
static void axvcpu_trace_consume(struct axvcpu_trace_ring *ring,
				 const struct axvcpu_transition *rec)
{
	spin_lock(&ring->lock);
	if (ring->tail == rec->seq)
		ring->tail++;
	spin_unlock(&ring->lock);
}

/* Whole records only; blocks for the first one unless nonblock. */
ssize_t axvcpu_trace_read(struct axvcpu_vcpu *vcpu, char __user *buf,
			  size_t count, bool nonblock)
{
	struct axvcpu_trace_ring *ring = axvcpu_trace_get(vcpu);
	struct axvcpu_transition rec;
	size_t done = 0;
	int r;

	if (!ring || count < sizeof(rec))
		return -EINVAL;
	while (done + sizeof(rec) <= count) {
		if (!axvcpu_trace_peek(ring, &rec)) {
			if (done)
				break;
			if (nonblock)
				return -EAGAIN;
			r = wait_event_interruptible(ring->wq,
						     axvcpu_trace_pending(ring));
			if (r)
				return r;
			continue;
		}
		/* Consumed only once copied: a fault loses no record. */
		if (copy_to_user(buf + done, &rec, sizeof(rec)))
			return done ? done : -EFAULT;
		axvcpu_trace_consume(ring, &rec);
		done += sizeof(rec);
		cond_resched();
	}
	return done;
}

__poll_t axvcpu_trace_poll(struct axvcpu_vcpu *vcpu, struct file *file,
			   poll_table *wait)
{
	struct axvcpu_trace_ring *ring = axvcpu_trace_get(vcpu);

	if (!ring)
		return EPOLLERR;
	poll_wait(file, &ring->wq, wait);
	return axvcpu_trace_pending(ring) ? EPOLLIN | EPOLLRDNORM : 0;
}

void axvcpu_trace_free(struct axvcpu_vcpu *vcpu)
{
	if (!vcpu->trace)
		return;
	/* No transition of this vCPU can run now; the probe is shared. */
	kvfree(vcpu->trace);
	vcpu->trace = NULL;
	axvcpu_trace_probe_put();
}
