/* A failing assert: the VMM must report this file, the assert's line and the expression. */
#include <pagewarden/guest.h>

int main(void)
{
	printf("about to fail an assertion\n");
	assert(1 == 2);
	return 0;
}
