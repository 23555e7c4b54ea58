/* Divide by zero: kind "exception", vector 0 (#DE), error code 0, then a crash. */
#include <pagewarden/guest.h>

int main(void)
{
	uint64_t quotient = 1, divisor = 0;

	printf("dividing by zero\n");
	/* asm, so that the compiler can neither fold nor drop the division */
	__asm__ volatile("xorl %%edx, %%edx; divq %1" : "+a"(quotient) : "r"(divisor) : "rdx");
	return (int)quotient;
}
