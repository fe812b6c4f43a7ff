// SPDX-License-Identifier: GPL-2.0
/* primes: count the primes below N with a sieve; an answer a test checks. */
#include "guest.h"

#define N	1000000

static unsigned char composite[N];

void guest_main(unsigned long id, unsigned long ncpus)
{
	unsigned long i, j, count = 0, largest = 0;

	(void)ncpus;
	if (id)
		cpu_stop();
	for (i = 2; i < N; i++) {
		if (composite[i])
			continue;
		count++;
		largest = i;
		for (j = i * i; j < N; j += i)
			composite[j] = 1;
	}
	put_str("primes: ");
	put_dec(count);
	put_str(" primes below ");
	put_dec(N);
	put_str(", the largest ");
	put_dec(largest);
	put_str("\n");
	power_off();
}
