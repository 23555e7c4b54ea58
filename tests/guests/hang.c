/* Spins forever without exiting: for --timeout. */
#include <pagewarden/guest.h>

int main(void)
{
	printf("hanging\n");
	for (;;)
		__asm__ volatile("pause");
}
