/* A console hypercall whose buffer runs past the end of RAM: the VMM must refuse it
 * (PW_STATUS_BAD_HYPERCALL), not read outside guest memory. */
#include <pagewarden/guest.h>

int main(void)
{
	struct pw_hc_console hc = {
	    .buf = pw_boot_info()->mem_size - 1,
	    .len = 4096,
	};

	pw_hypercall(PW_HC_CONSOLE, (uint64_t)(uintptr_t)&hc);
	printf("badptr: the VMM accepted a buffer past the end of RAM\n");
	return 1;
}
