/* A port write outside the hypercall ports: the VMM must stop with PW_STATUS_BAD_HYPERCALL. */
#include <pagewarden/guest.h>

int main(void)
{
	__asm__ volatile("outb %b0, %w1" : : "a"(0x55), "Nd"(0x9999));
	printf("badport: the VMM resumed after an unknown port\n");
	return 1;
}
