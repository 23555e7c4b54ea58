/* Unbounded recursion into the guard page below the main stack (0xf000..0xffff): reported as
 * "stack-overflow" with a write error code (a push or a store into the frame), then a crash. The
 * #PF runs on its own IST stack, so the overflowed stack does not matter to the handler. */
#include <pagewarden/guest.h>

/* -1: never stop. Volatile so the compiler cannot prove the recursion infinite. */
static volatile int stop_depth = -1;

/* Recurse with 256 bytes of frame each; the addition after the call keeps it from becoming a
 * loop. */
static int recurse(int depth)
{
	volatile char frame[256];

	frame[0] = (char)depth;
	if (depth == stop_depth)
		return 0;
	return recurse(depth + 1) + frame[0];
}

int main(void)
{
	printf("recursing into the stack guard\n");
	return recurse(0);
}
