/* Takes the snapshot point (checkpoint 0), then spins forever without an exit: a campaign whose
 * golden run never ends, so that a test can look at a worker while it runs. */
#include <pagewarden/guest.h>

int main(void)
{
	pw_checkpoint(0, 0);
	for (;;)
		__asm__ volatile("pause");
}
