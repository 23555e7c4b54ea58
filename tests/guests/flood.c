/* One endless line of output (no newline ever), flushed after every word: one exit per ten
 * bytes or so, so the output rate is bound by exits (a few MB/s on hardware, tens of KB/s where
 * ring-0 code is emulated) and stays far below the default 16 MiB console limit within the
 * tests' timeouts, on every platform. */
#include <pagewarden/guest.h>

int main(void)
{
	for (unsigned long n = 0;; n++) {
		printf("flood %lu ", n);
		pw_flush();
	}
}
