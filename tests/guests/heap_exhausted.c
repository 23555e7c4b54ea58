/* Heap growth with an empty page-table pool: the guest first uses up the pool by mapping pages
 * in fresh 512 GiB slots above 4 GiB (three new tables each), then touches the heap, whose first
 * page needs a new page table. The runtime must say "heap: page-table pool exhausted" and stop
 * with an "unmapped" report (gva heap_start, a write) instead of looping on the fault. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>

#define SLOT_SPAN (1ull << 39) /* what one PML4 entry maps */

int main(void)
{
	const struct pw_region *ram = pw_region_find(PW_REGION_RAM);
	uint64_t heap = pw_boot_info()->heap_start;
	enum pt_err err = PT_OK;
	unsigned slots = 0;

	if (!ram)
		panic("no RAM region");
	printf("pool %lu frames\n", pw_pt_pool_free());
	for (uint64_t va = SLOT_SPAN; err == PT_OK; va += SLOT_SPAN, slots++) {
		struct pt_flush fl;

		pt_flush_init(&fl);
		err = pt_map(pw_live_pt(), va, ram->start, PT_SIZE_4K, PT_READ, &fl);
		pw_tlb_flush(&fl);
	}
	if (err != PT_ENOMEM || pw_pt_pool_free() != 0)
		panic("draining the pool ended with %s, %lu frames left", pt_strerror(err),
		      pw_pt_pool_free());
	printf("pool drained after %u slots; target 0x%lx\n", slots, heap);
	pw_flush();
	*(volatile uint64_t *)(uintptr_t)heap = 1;
	return 1;
}
