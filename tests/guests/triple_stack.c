/* A stack overflow with no IST stack: the #PF and #DF gates are edited to stay on the current
 * stack (IST 0), whoever installed them (the runtime or the VMM), then recursion runs into the
 * main stack's guard. The #PF frame cannot be pushed (#DF), nor the #DF frame: a triple fault,
 * which the VMM must diagnose as a stack overflow from CR2. A checkpoint every 64 levels keeps
 * the last exit a few hundred instructions before the fault: a replay of the triple fault
 * (docs/faults.md, on AMD) single-steps from there. */
#include <pagewarden/guest.h>

static volatile int stop_depth = -1;

/* Recurse with 256 bytes of frame each until the guard. The array's address escapes into an
 * asm, so no compiler shrinks it to the one byte the C code uses (clang did: 16-byte frames,
 * 16 times the recursion). */
static int recurse(int depth)
{
	volatile char frame[256];

	__asm__ volatile("" : : "r"(frame) : "memory");
	frame[0] = (char)depth;
	if (depth % 64 == 0)
		pw_checkpoint(1, (uint64_t)depth);
	if (depth == stop_depth)
		return 0;
	return recurse(depth + 1) + frame[0];
}

int main(void)
{
	volatile struct pw_idt_gate *idt = pw_idt_edit();

	printf("no IST for #PF and #DF, then recursing into the stack guard\n");
	pw_flush();
	idt[14].ist = 0;
	idt[8].ist = 0;
	return recurse(0);
}
