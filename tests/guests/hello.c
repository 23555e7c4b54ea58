/* The smallest guest: one line and exit 0. The boot benchmark times it end to end. */
#include <pagewarden/guest.h>

int main(void)
{
	printf("hello from pagewarden\n");
	return 0;
}
