// SPDX-License-Identifier: GPL-2.0
/*
 * smp: every vCPU says its id, in turn, then all meet at a barrier in
 * shared memory; vCPU 0 then powers off.  Plain loads and stores only: on
 * arm64 with the MMU off memory is Device memory, where exclusives and
 * atomics are not to be relied on, and the turn order keeps the output
 * the same on every run.
 */
#include "guest.h"

static volatile unsigned long turn;
static volatile unsigned long arrived[MAX_CPUS];
static volatile unsigned long nr_cpus;

void guest_main(unsigned long id, unsigned long ncpus)
{
	unsigned long i;

	if (id == 0) {
		nr_cpus = ncpus > MAX_CPUS ? MAX_CPUS : ncpus;
		put_str("smp: ");
		put_dec(ncpus);
		put_str(" vCPUs\n");
		start_secondaries(nr_cpus);
	} else {
		while (!nr_cpus)
			cpu_relax();
	}

	while (turn != id)
		cpu_relax();
	put_str("smp: vCPU ");
	put_dec(id);
	put_str(" is here\n");
	turn = id + 1;

	arrived[id] = 1;
	for (i = 0; i < nr_cpus; i++)
		while (!arrived[i])
			cpu_relax();

	if (id)
		cpu_stop();
	put_str("smp: all ");
	put_dec(nr_cpus);
	put_str(" vCPUs met at the barrier\n");
	power_off();
}
