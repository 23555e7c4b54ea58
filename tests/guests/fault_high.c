/* Reads inside the high guard just below 4 GiB: "high-guard", gva 0xffe00010, error code 0. */
#include <pagewarden/guest.h>

#define TARGET (PW_HIGH_GUARD_GPA + 0x10)

int main(void)
{
	printf("reading 0x%llx\n", TARGET);
	return *(volatile int *)(uintptr_t)TARGET;
}
