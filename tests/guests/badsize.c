/* A 16-bit write to the console port (hypercalls are 32-bit): PW_STATUS_BAD_HYPERCALL. */
#include <pagewarden/guest.h>

int main(void)
{
	__asm__ volatile("outw %w0, %w1" : : "a"(0), "Nd"((uint16_t)PW_PORT(PW_HC_CONSOLE)));
	printf("badsize: the VMM accepted a 16-bit hypercall\n");
	return 1;
}
