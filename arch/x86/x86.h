/* SPDX-License-Identifier: GPL-2.0 */
/*
 * axvcpu: what the x86 backends share.
 */
#ifndef AXVCPU_X86_H
#define AXVCPU_X86_H

struct axvcpu_arch_ops;

const struct axvcpu_arch_ops *axvcpu_svm_probe(void);

#endif /* AXVCPU_X86_H */
