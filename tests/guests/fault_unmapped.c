/* Unmaps one page of free RAM on the live tables (splitting a 2 MiB page if needed), flushes it
 * from the TLB and reads it: "unmapped", error code 0, gva = the page + 0x10, then a crash. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>

int main(void)
{
	const struct pw_region *ram = pw_region_find(PW_REGION_RAM);
	struct pt_flush fl;
	uint64_t target;

	if (!ram)
		panic("no RAM region");
	pt_flush_init(&fl);
	if (pt_unmap_region(pw_live_pt(), ram->start, PW_PAGE_SIZE, 0, &fl) != PT_OK)
		panic("cannot unmap 0x%lx", ram->start);
	pw_tlb_flush(&fl);
	target = ram->start + 0x10;
	printf("target 0x%lx\n", target);
	pw_flush();
	return *(volatile int *)(uintptr_t)target;
}
