/* A hostile guest for --core (tests/test_core.c): it points every unused PML4 entry back at the
 * PML4, so the walk finds tables that link back to themselves at every level (billions of
 * entries, the table frames mapped at countless addresses), then reads through a null pointer.
 * The core must stay bounded and still hold the real mappings. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>

static volatile uintptr_t null_ptr = 8;

int main(void)
{
	uint64_t root = pw_live_pt()->root;
	volatile uint64_t *pml4 = (volatile uint64_t *)(uintptr_t)root;

	for (int i = 1; i < 512; i++)
		pml4[i] = root | PTE_P | PTE_W;
	printf("PML4 entries 1..511 point at the PML4\n");
	return *(volatile int *)null_ptr;
}
