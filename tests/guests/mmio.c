/* Reads the unbacked region just past RAM (mapped, but no memslot): the VMM sees an MMIO exit
 * and must report it as an ept-unbacked access. */
#include <pagewarden/guest.h>

int main(void)
{
	uint64_t addr = pw_boot_info()->mem_size + 0x1000;
	uint32_t v;

	printf("reading %#llx\n", (unsigned long long)addr);
	pw_flush();
	v = *(volatile uint32_t *)(uintptr_t)addr;
	printf("mmio: read %#x from unbacked memory\n", v);
	return 1;
}
