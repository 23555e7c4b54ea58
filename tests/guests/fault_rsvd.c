/* Sets a reserved bit in a live entry and touches the page: "reserved-bit", error code P|RSVD =
 * 0x9 (a read), then a crash. Default: address bit MAXPHYADDR in the 4 KiB PTE of a heap page
 * (reserved whenever MAXPHYADDR < 52). With the argument "pml4-ps" (or when MAXPHYADDR is 52):
 * PS in the PML4 entry of an otherwise unused 512 GiB slot, which is reserved at that level. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>

#define SPARE_SLOT_VA 0x8000000000ull /* PML4 slot 1: nothing lives above 4 GiB */

/* Map page (the first heap page, identity-mapped as heap growth would, but without a fault:
 * under --faults=vmm every fault is reported) through its own page table and set address bit
 * maxphyaddr in its PTE. Returns the address to touch. */
static uint64_t reserved_address_bit(const struct pw_boot_info *bi)
{
	uint64_t page = bi->heap_start;
	struct pt_flush fl;
	pte_t *pte;
	int level;

	pt_flush_init(&fl);
	if (pt_map(pw_live_pt(), page, page, PT_SIZE_4K, PT_READ | PT_WRITE, &fl) != PT_OK)
		panic("cannot map heap page 0x%lx", page);
	pw_tlb_flush(&fl);
	*(volatile uint64_t *)(uintptr_t)page = 1; /* mapped: must not fault */
	if (pt_lookup(pw_live_pt(), page, 1, false, &pte, &level) != PT_OK || level != 1)
		panic("heap page 0x%lx has no 4 KiB PTE", page);
	pte_write(pte, *pte | (1ull << bi->maxphyaddr));
	pw_invlpg(page);
	printf("bit %u in the PTE of 0x%lx\n", bi->maxphyaddr, page);
	return page;
}

/* Map SPARE_SLOT_VA to a RAM page (creating PDPT, PD, PT) and set PS in its PML4 entry.
 * Returns the address to touch. */
static uint64_t reserved_pml4_ps(void)
{
	const struct pw_region *ram = pw_region_find(PW_REGION_RAM);
	struct pt_flush fl;
	pte_t *pml4e;
	int level;

	if (!ram)
		panic("no RAM region");
	pt_flush_init(&fl);
	if (pt_map(pw_live_pt(), SPARE_SLOT_VA, ram->start, PT_SIZE_4K, PT_READ | PT_WRITE, &fl) !=
		PT_OK ||
	    pt_lookup(pw_live_pt(), SPARE_SLOT_VA, 4, false, &pml4e, &level) != PT_OK || level != 4)
		panic("cannot map 0x%llx", SPARE_SLOT_VA);
	pw_tlb_flush(&fl);
	(void)*(volatile uint64_t *)(uintptr_t)SPARE_SLOT_VA; /* mapped: must not fault */
	pte_write(pml4e, *pml4e | PTE_PS);
	pw_invlpg(SPARE_SLOT_VA);
	printf("PS in the PML4 entry of 0x%llx\n", SPARE_SLOT_VA);
	return SPARE_SLOT_VA;
}

int main(void)
{
	const struct pw_boot_info *bi = pw_boot_info();
	bool pml4 = strcmp(pw_cmdline(), "pml4-ps") == 0 || bi->maxphyaddr >= 52;
	uint64_t target;

	pw_fault_reports(false); /* the set-up's heap growth is not what this guest reports */
	target = pml4 ? reserved_pml4_ps() : reserved_address_bit(bi);
	printf("target 0x%lx\n", target);
	pw_flush();
	return *(volatile int *)(uintptr_t)target;
}
