/* A hostile guest: moves RSP to the top of the #PF IST stack and recurses down into that stack's
 * guard page (0x5000). The #PF is delivered at the IST top, onto the very stack that overflowed
 * (the frames it overwrites are never returned to), so the handler still runs: it reports
 * "stack-overflow" in 0x5000..0x5fff and the guest stops as a crash, without a hang. */
#include <pagewarden/guest.h>

static volatile int stop_depth = -1; /* never: volatile hides the infinite recursion */

/* Recurse with 256 bytes of frame each, until something stops it. */
static int recurse(int depth)
{
	volatile char frame[256];

	frame[0] = (char)depth;
	if (depth == stop_depth)
		return 0;
	return recurse(depth + 1) + frame[0];
}

/* Start the recursion; runs on the #PF stack and never returns. */
static void descend(void)
{
	recurse(0);
	panic("the recursion returned");
}

int main(void)
{
	uint64_t top = PW_PF_STACK_GPA + PW_PF_STACK_SIZE;

	printf("recursing on the #PF stack from 0x%lx down to its guard\n", top);
	pw_flush();
	/* top is 16-byte aligned, so descend starts with the usual RSP = 8 mod 16 */
	__asm__ volatile("movq %0, %%rsp; call *%1; ud2" : : "r"(top), "r"(descend) : "memory");
	return 1;
}
