/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: what the SVM backend's files share.
 */
#ifndef AXVCPU_SVM_H
#define AXVCPU_SVM_H

#include <linux/types.h>

#include "x86.h"

struct svm_vm {
	struct x86_tdp tdp;	/* the nested page tables */
	u64 serial;		/* x86_vm_serial() */
};

int axvcpu_svm_enter(unsigned long *regs, u64 vmcb_pa, u64 host_pa);

#endif /* AXVCPU_SVM_H */
