/* One endless line of output (no newline ever): the console is flushed each time its buffer
 * fills, so the VMM sees a steady stream of full-buffer writes. */
#include <pagewarden/guest.h>

int main(void)
{
	for (unsigned long n = 0;; n++)
		printf("flood %lu ", n);
}
