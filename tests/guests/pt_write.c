/* Writes its own page tables (the PML4 entry it runs through, rewritten with its own value):
 * harmless to paging, but under --protect-pt the tables sit in a read-only memslot and the VMM
 * must stop the guest with an ept-readonly fault at the PML4's guest-physical address. */
#include <pagewarden/guest.h>

int main(void)
{
	volatile uint64_t *pml4 = (volatile uint64_t *)(uintptr_t)(pw_read_cr3() & ~0xfffull);

	printf("target %#llx\n", (unsigned long long)(uintptr_t)pml4);
	pw_flush();
	pml4[0] = pml4[0];
	printf("wrote the PML4\n");
	return 0;
}
