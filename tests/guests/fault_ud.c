/* ud2: kind "exception", vector 6 (#UD), error code 0, then a crash. */
#include <pagewarden/guest.h>

int main(void)
{
	printf("ud2\n");
	__asm__ volatile("ud2");
	return 1;
}
