// SPDX-License-Identifier: GPL-2.0
/*
 * The arm64 board of axvm: a PL011 UART at 0x09000000 (QEMU virt's), PSCI
 * 0.2 through HVC for CPU_ON, CPU_OFF and SYSTEM_OFF.
 */
#include "../guest.h"

#define PL011		0x09000000UL
#define PL011_DR	0x000
#define PL011_FR	0x018
#define PL011_FR_TXFF	0x20

#define PSCI_CPU_OFF		0x84000002UL
#define PSCI_CPU_ON		0xc4000003UL
#define PSCI_SYSTEM_OFF		0x84000008UL

const char arch_name[] = "arm64";

void secondary_entry(void);

static unsigned long psci(unsigned long fn, unsigned long a1,
			  unsigned long a2, unsigned long a3)
{
	register unsigned long x0 asm("x0") = fn;
	register unsigned long x1 asm("x1") = a1;
	register unsigned long x2 asm("x2") = a2;
	register unsigned long x3 asm("x3") = a3;

	/*
	 * SMCCC: x0-x3 carry the results and may all change (KVM zeroes
	 * the unused ones); x4-x17 may be corrupted under SMCCC 1.0.
	 */
	asm volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
		     : : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
		       "x12", "x13", "x14", "x15", "x16", "x17", "memory");
	return x0;
}

static inline unsigned int mmio_read32(unsigned long addr)
{
	return *(volatile unsigned int *)addr;
}

static inline void mmio_write32(unsigned long addr, unsigned int v)
{
	*(volatile unsigned int *)addr = v;
}

void arch_putc(char c)
{
	while (mmio_read32(PL011 + PL011_FR) & PL011_FR_TXFF)
		cpu_relax();
	mmio_write32(PL011 + PL011_DR, (unsigned char)c);
}

void cpu_relax(void)
{
	asm volatile("yield" ::: "memory");
}

/* vCPU i's MPIDR: Aff0 = i % 16, Aff1 = i / 16, as KVM sets it. */
void start_secondaries(unsigned long ncpus)
{
	unsigned long i;

	for (i = 1; i < ncpus; i++)
		psci(PSCI_CPU_ON, ((i >> 4) << 8) | (i & 0xf),
		     (unsigned long)secondary_entry, i);
}

void power_off(void)
{
	psci(PSCI_SYSTEM_OFF, 0, 0, 0);
	for (;;)
		asm volatile("wfi");
}

void cpu_stop(void)
{
	psci(PSCI_CPU_OFF, 0, 0, 0);
	for (;;)
		asm volatile("wfi");
}
