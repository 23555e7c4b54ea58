/* A campaign workload that needs the VMM's fault-handling state to survive every reset. Before
 * the snapshot point it grows the heap by one page and probes the null page, so under
 * --faults=vmm the VMM has mapped a page (its frame cursor moved) and knows the recovery record
 * (registered once, never again). After it, four more heap pages, the last one 2 MiB further
 * (a new page table, so a new frame from the VMM's cursor), and a second probe: the VMM writes
 * the guest's tables and the recovery record from the host, which KVM does not log, so a reset
 * that missed them would leave the pages mapped and the next run with fewer exits, and one that
 * lost the cursor would hand out the boot's table frame again. Checkpoint 1 reports a checksum
 * of it all; exit 0. */
#include <pagewarden/guest.h>

#define HEAP_PAGES 4
#define PAGE_WORDS (PW_PAGE_SIZE / sizeof(uint64_t))

/* Word index of heap page i: pages 1..3 follow page 0, page 4 is 2 MiB on. */
static uint64_t page(int i)
{
	return (i < HEAP_PAGES ? (uint64_t)i : 512) * PAGE_WORDS;
}

int main(void)
{
	volatile uint64_t *heap = (volatile uint64_t *)(uintptr_t)pw_boot_info()->heap_start;
	struct pw_fault f;
	uint64_t sum = 0;

	heap[0] = 1;
	if (!pw_probe_read(0, &f))
		panic("the null page is readable");
	pw_checkpoint(0, 0);
	for (int i = 1; i <= HEAP_PAGES; i++)
		heap[page(i)] = (uint64_t)i * 0x9e3779b97f4a7c15ull;
	if (!pw_probe_read(8, &f) || f.vector != 14 || f.cr2 != 8)
		panic("reading 0x8 did not fault as a #PF at 0x8");
	for (int i = 0; i <= HEAP_PAGES; i++)
		sum = (sum << 7 | sum >> 57) ^ heap[page(i)];
	pw_checkpoint(1, sum);
	return 0;
}
