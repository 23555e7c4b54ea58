/* Writes to its own text (mapped read-only, CR0.WP=1): "write-protect", error code P|W = 0x3,
 * gva = the address of main, then a crash. */
#include <pagewarden/guest.h>

int main(void)
{
	uint64_t target = (uint64_t)(uintptr_t)main;

	printf("target 0x%lx\n", target);
	pw_flush();
	*(volatile char *)(uintptr_t)target = 0;
	return 1;
}
