/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: what the SVM backend's files share.
 */
#ifndef AXVCPU_SVM_H
#define AXVCPU_SVM_H

#include <linux/types.h>

struct axvcpu_vm;
struct axvcpu_memslot;

struct svm_vm {
	u64 *npt_root;
	/* Bumped when a mapping goes: vCPUs flush their ASID before entry. */
	atomic64_t npt_gen;
};

int svm_npt_init(struct svm_vm *v);
void svm_npt_free(struct svm_vm *v);
int svm_npt_map(struct axvcpu_vm *vm, struct axvcpu_memslot *slot);
void svm_npt_unmap(struct axvcpu_vm *vm, struct axvcpu_memslot *slot);
void svm_npt_changed(struct axvcpu_vm *vm);

int axvcpu_svm_enter(unsigned long *regs, u64 vmcb_pa, u64 host_pa);

#endif /* AXVCPU_SVM_H */
