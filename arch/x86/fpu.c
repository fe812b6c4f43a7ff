// SPDX-License-Identifier: GPL-2.0
/*
 * axvcpu: the guest's FPU state through KVM's ioctls.
 *
 * The guest's x87, SSE and extended states live in its fpstate (struct
 * fpu_guest) whenever no KVM_RUN is in progress: fpu_swap_kvm_fpstate()
 * puts them back there as KVM_RUN returns.  KVM_GET/SET_XSAVE(2) move the
 * whole XSAVE image, in the standard (user ABI) format, with the kernel's
 * own converters, as KVM does; KVM_GET/SET_FPU the legacy FXSAVE part.
 */
#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>

#include "../../axvcpu_host.h"
#include "x86.h"

static long x86_get_fpu(struct x86_vcpu *x, struct kvm_fpu __user *argp)
{
	struct fxregs_state *fx = &x->gfpu->fpstate->regs.fxsave;
	struct kvm_fpu f;

	memset(&f, 0, sizeof(f));
	memcpy(f.fpr, fx->st_space, sizeof(f.fpr));
	f.fcw = fx->cwd;
	f.fsw = fx->swd;
	f.ftwx = fx->twd;
	f.last_opcode = fx->fop;
	f.last_ip = fx->rip;
	f.last_dp = fx->rdp;
	memcpy(f.xmm, fx->xmm_space, sizeof(f.xmm));
	return copy_to_user(argp, &f, sizeof(f)) ? -EFAULT : 0;
}

/* KVM's fields, MXCSR not among them. */
static long x86_set_fpu(struct x86_vcpu *x, struct kvm_fpu __user *argp)
{
	struct fxregs_state *fx = &x->gfpu->fpstate->regs.fxsave;
	struct kvm_fpu f;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;
	memcpy(fx->st_space, f.fpr, sizeof(f.fpr));
	fx->cwd = f.fcw;
	fx->swd = f.fsw;
	fx->twd = f.ftwx;
	fx->fop = f.last_opcode;
	fx->rip = f.last_ip;
	fx->rdp = f.last_dp;
	memcpy(fx->xmm_space, f.xmm, sizeof(f.xmm));
	return 0;
}

/* KVM_GET_XSAVE (the 4 KiB struct) and KVM_GET_XSAVE2 (uabi_size). */
static long x86_get_xsave(struct x86_vcpu *x, void __user *argp,
			  unsigned int size)
{
	void *buf;
	long r = 0;

	buf = kzalloc(size, GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	fpu_copy_guest_fpstate_to_uabi(x->gfpu, buf, size,
				       x->xcr0_allowed | XFEATURE_MASK_FPSSE,
				       x->pkru);
	if (copy_to_user(argp, buf, size))
		r = -EFAULT;
	kfree(buf);
	return r;
}

/* An image the CPU would refuse (reserved header bits...): -EINVAL. */
static long x86_set_xsave(struct x86_vcpu *x, void __user *argp)
{
	unsigned int size = max_t(unsigned int, x->gfpu->uabi_size,
				  sizeof(struct kvm_xsave));
	void *buf;
	long r;

	buf = memdup_user(argp, size);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	r = fpu_copy_uabi_to_guest_fpstate(x->gfpu, buf, x->xcr0_allowed,
					   &x->pkru);
	kfree(buf);
	return r;
}

long x86_fpu_ioctl(struct x86_vcpu *x, unsigned int ioctl, void __user *argp)
{
	switch (ioctl) {
	case KVM_GET_FPU:
		return x86_get_fpu(x, argp);
	case KVM_SET_FPU:
		return x86_set_fpu(x, argp);
	case KVM_GET_XSAVE:
		/* An image larger than the struct needs KVM_GET_XSAVE2. */
		if (x->gfpu->uabi_size > sizeof(struct kvm_xsave))
			return -EINVAL;
		return x86_get_xsave(x, argp, sizeof(struct kvm_xsave));
	case KVM_GET_XSAVE2:
		return x86_get_xsave(x, argp,
				     max_t(unsigned int, x->gfpu->uabi_size,
					   sizeof(struct kvm_xsave)));
	case KVM_SET_XSAVE:
		return x86_set_xsave(x, argp);
	default:
		return -ENOTTY;
	}
}
