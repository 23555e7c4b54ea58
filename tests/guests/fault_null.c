/* Reads through a null pointer (offset 8) without pw_expect_fault: the runtime must report
 * kind "null" at gva 0x8, error code 0 (not-present read), and stop the guest as a crash. */
#include <pagewarden/guest.h>

/* Read through a volatile so GCC does not reject a constant near-null dereference. */
static volatile uintptr_t null_ptr = 8;

int main(void)
{
	printf("reading 0x8\n");
	return *(volatile int *)null_ptr;
}
