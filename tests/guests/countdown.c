/* A campaign guest that hangs under some injections, whatever the compiler: after the snapshot
 * point (checkpoint 0) it counts a register down from 200 to 0, then reports the final count at
 * checkpoint 1. A flipped high bit in the counter's register makes the loop run for ages: a
 * "hang" that the hang budget has to catch the same way every time. */
#include <pagewarden/guest.h>

volatile uint64_t countdown_start = 200;

int main(void)
{
	uint64_t i;

	pw_checkpoint(0, 0);
	i = countdown_start;
	while (i != 0) {
		i--;
		__asm__ volatile("" : "+r"(i)); /* keep the loop and the counter in a register */
	}
	pw_checkpoint(1, i);
	printf("counted down\n");
	return 0;
}
