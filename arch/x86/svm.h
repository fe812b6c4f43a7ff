/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: what the SVM backend's files share.
 */
#ifndef AXVCPU_SVM_H
#define AXVCPU_SVM_H

#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <linux/types.h>

#include "x86.h"

struct svm_vm {
	struct x86_tdp tdp;	/* the nested page tables: first, see x86_tdp */
	u64 serial;		/* x86_vm_serial() */
};

static_assert(offsetof(struct svm_vm, tdp) == 0);

int axvcpu_svm_enter(unsigned long *regs, u64 vmcb_pa, u64 host_pa);

#endif /* AXVCPU_SVM_H */
