/* A stack overflow with no IST stack: the #PF and #DF gates are edited to stay on the current
 * stack (IST 0), whoever installed them (the runtime or the VMM), then recursion runs into the
 * main stack's guard. The #PF frame cannot be pushed (#DF), nor the #DF frame: a triple fault,
 * which the VMM must diagnose as a stack overflow from CR2. */
#include <pagewarden/guest.h>

#define IDT_GATE_SIZE 16
#define GATE_IST_BYTE 4

static volatile int stop_depth = -1;

/* Recurse with 256 bytes of frame each until the guard. */
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
	volatile uint8_t *idt = (volatile uint8_t *)(uintptr_t)PW_IDT_GPA;

	printf("no IST for #PF and #DF, then recursing into the stack guard\n");
	pw_flush();
	idt[14 * IDT_GATE_SIZE + GATE_IST_BYTE] = 0;
	idt[8 * IDT_GATE_SIZE + GATE_IST_BYTE] = 0;
	return recurse(0);
}
