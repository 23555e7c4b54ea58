/* Two checkpoints, (1, 2) then (3, 4), then exit 0. */
#include <pagewarden/guest.h>

int main(void)
{
	pw_checkpoint(1, 2);
	pw_checkpoint(3, 4);
	return 0;
}
