/* Executes one SSE instruction. On nested KVM hosts this gives KVM_EXIT_INTERNAL_ERROR, which
 * the VMM must report with RIP and instruction bytes. The one deliberate exception to the
 * no-SSE rule: target("sse") re-enables the xmm registers for this function only (the file is
 * built with -mgeneral-regs-only like every guest), and noinline keeps it out of main. */
#include <pagewarden/guest.h>

/* xorps %xmm0, %xmm0: the cheapest SSE instruction, no memory operand. */
static __attribute__((target("sse"), noinline)) void touch_sse(void)
{
	__asm__ volatile("xorps %%xmm0, %%xmm0" : : : "xmm0");
}

int main(void)
{
	printf("executing xorps %%xmm0, %%xmm0\n");
	pw_flush();
	touch_sse();
	printf("sse: executed without an exit\n");
	return 0;
}
