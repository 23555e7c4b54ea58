/* Touches the second-level guard (the mapped but unbacked region above RAM) at the point the
 * first argument names: 0 its first byte, 1 its middle, 2 its last byte (read), 3 its first
 * byte (write). Each must stop the guest with an MMIO report naming the region. */
#include <pagewarden/guest.h>

int main(void)
{
	const struct pw_region *u = pw_region_find(PW_REGION_UNBACKED);
	const char *c = pw_cmdline();
	uint64_t at;

	if (!u)
		return 2;
	at = c[0] == '1' ? u->start + u->size / 2 : c[0] == '2' ? u->start + u->size - 1 : u->start;
	if (c[0] == '3')
		*(volatile uint8_t *)(uintptr_t)at = 1;
	else
		(void)*(volatile uint8_t *)(uintptr_t)at;
	printf("unbacked: touched 0x%llx and lived\n", (unsigned long long)at);
	return 1;
}
