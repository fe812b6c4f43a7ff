// SPDX-License-Identifier: GPL-2.0
/* The sample guests' console output, on the board's arch_putc(). */
#include "guest.h"

void put_str(const char *s)
{
	while (*s) {
		if (*s == '\n')
			arch_putc('\r');
		arch_putc(*s++);
	}
}

void put_dec(unsigned long v)
{
	char buf[24];
	int i = sizeof(buf) - 1;

	buf[i] = '\0';
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	put_str(&buf[i]);
}
