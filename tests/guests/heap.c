/* Demand-paged heap: touch pages of the heap region, check each was not mapped before and holds
 * what was written after, and exit 0. Every first touch is a #PF the runtime answers by mapping
 * the page (kind "heap-grow", recovered). The first batch is reported to the VMM one fault each;
 * the second runs with pw_fault_reports(false), so the VMM must see exactly the first batch.
 * Prints "heap_start 0x..." and "grew N reported M" for the host test. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>

#define RUN_PAGES    64 /* consecutive pages: one new page table */
#define SPREAD_PAGES 4	/* one page in each following 2 MiB: a new page table each */
#define QUIET_PAGES  32 /* after the spread, with reports off */
#define WORD_STRIDE  8	/* one word per 64-byte line */

/* True if va has no mapping in the live tables. */
static bool unmapped(uint64_t va)
{
	return pt_query(pw_live_pt(), va, NULL, NULL, NULL) == PT_ENOTMAPPED;
}

/* Touch the page at va (it must be unmapped): write a pattern to one word in every cache line
 * (all of them would cost ~1 ms a page where guest code is emulated), read it back. Returns
 * false on any mismatch. */
static bool touch(uint64_t va)
{
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)va;

	if (!unmapped(va)) {
		printf("heap page 0x%lx was mapped before its first touch\n", va);
		return false;
	}
	for (size_t i = 0; i < PW_PAGE_SIZE / sizeof(uint64_t); i += WORD_STRIDE)
		p[i] = va ^ (i * 0x9e3779b97f4a7c15ull);
	for (size_t i = 0; i < PW_PAGE_SIZE / sizeof(uint64_t); i += WORD_STRIDE)
		if (p[i] != (va ^ (i * 0x9e3779b97f4a7c15ull))) {
			printf("heap page 0x%lx word %zu reads back wrong\n", va, i);
			return false;
		}
	return !unmapped(va);
}

/* Address of the i-th page touched: RUN_PAGES consecutive pages, then one page at the start of
 * each of the next SPREAD_PAGES 2 MiB blocks, then consecutive pages after the last of those. */
static uint64_t page_of(uint64_t start, unsigned i)
{
	if (i < RUN_PAGES)
		return start + i * PW_PAGE_SIZE;
	if (i < RUN_PAGES + SPREAD_PAGES)
		return start + (i - RUN_PAGES + 1) * PT_SIZE_2M;
	return start + SPREAD_PAGES * PT_SIZE_2M +
	       (i - RUN_PAGES - SPREAD_PAGES + 1) * PW_PAGE_SIZE;
}

int main(void)
{
	const struct pw_boot_info *bi = pw_boot_info();
	unsigned grew = 0, reported = 0;

	printf("heap_start 0x%lx heap_end 0x%lx pool %lu frames\n", bi->heap_start, bi->heap_end,
	       pw_pt_pool_free());
	for (unsigned i = 0; i < RUN_PAGES + SPREAD_PAGES + QUIET_PAGES; i++) {
		uint64_t va = page_of(bi->heap_start, i);

		if (i == RUN_PAGES + SPREAD_PAGES)
			pw_fault_reports(false);
		if (va >= bi->heap_end)
			break;
		if (!touch(va))
			return 1;
		grew++;
		reported += i < RUN_PAGES + SPREAD_PAGES;
	}
	pw_fault_reports(true);
	printf("grew %u reported %u pool %lu frames\n", grew, reported, pw_pt_pool_free());
	return grew == RUN_PAGES + SPREAD_PAGES + QUIET_PAGES ? 0 : 2;
}
