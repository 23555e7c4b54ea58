/* A non-canonical access raises #GP, not #PF: kind "exception", vector 13, error code 0, no CR2
 * (gva 0), then a crash. */
#include <pagewarden/guest.h>

#define NON_CANONICAL 0x0000800000000000ull /* bit 47 set, bits 63:48 clear */

int main(void)
{
	printf("reading 0x%llx\n", NON_CANONICAL);
	return *(volatile int *)(uintptr_t)NON_CANONICAL;
}
