// SPDX-License-Identifier: GPL-2.0
/* The x86 board of axvm: 16550 UART at 0x3f8, power off at port 0x604. */
#include "../guest.h"

#define UART		0x3f8
#define UART_LSR	(UART + 5)
#define UART_LSR_THRE	0x20
#define POWER_OFF_PORT	0x604

const char arch_name[] = "x86-64";

static inline void outb(unsigned short port, unsigned char v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(unsigned short port, unsigned short v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline unsigned char inb(unsigned short port)
{
	unsigned char v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

void arch_putc(char c)
{
	while (!(inb(UART_LSR) & UART_LSR_THRE))
		cpu_relax();
	outb(UART, c);
}

void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

/* axvm starts every vCPU at the entry: nothing to do. */
void start_secondaries(unsigned long ncpus)
{
	(void)ncpus;
}

void power_off(void)
{
	outw(POWER_OFF_PORT, 0x2000);
	cpu_stop();
}

void cpu_stop(void)
{
	for (;;)
		asm volatile("cli; hlt" ::: "memory");
}
