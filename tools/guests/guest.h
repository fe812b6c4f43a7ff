/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The sample guests of axvm: what every guest calls, whatever the board.
 *
 * Each board (x86/, arm64/) gives start.S (stacks, then guest_main()),
 * a linker script and arch.c with the functions below.  The guests run
 * with what axvm set up: x86 in 64-bit long mode, arm64 at EL1 with the
 * MMU off.
 */
#ifndef GUEST_H
#define GUEST_H

#define MAX_CPUS	16

/* guest_main() of each guest: vCPU id and the number of vCPUs. */
void guest_main(unsigned long id, unsigned long ncpus);

/* arch.c */
extern const char arch_name[];
void arch_putc(char c);
void cpu_relax(void);
void start_secondaries(unsigned long ncpus);
void __attribute__((noreturn)) power_off(void);
void __attribute__((noreturn)) cpu_stop(void);

/* lib.c */
void put_str(const char *s);
void put_dec(unsigned long v);

#endif /* GUEST_H */
