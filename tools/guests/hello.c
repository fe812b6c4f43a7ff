// SPDX-License-Identifier: GPL-2.0
/* hello: one line on the console from vCPU 0, then power off. */
#include "guest.h"

void guest_main(unsigned long id, unsigned long ncpus)
{
	if (id)
		cpu_stop();
	put_str("Hello from an axvm guest on ");
	put_str(arch_name);
	put_str(" (vCPU 0 of ");
	put_dec(ncpus);
	put_str(")\n");
	power_off();
}
