/* Prints the boot info as key=value lines for the host tests:
 *   magic=ok version=1 mem_size=0x4000000 ... cmdline=[args]
 *   region KIND START SIZE   (one per region, hex)
 */
#include <pagewarden/guest.h>

int main(void)
{
	const struct pw_boot_info *bi = pw_boot_info();

	printf("magic=%s\n", bi->magic == PW_BOOT_MAGIC ? "ok" : "bad");
	printf("version=%u\n", bi->version);
	printf("size=%u\n", bi->size);
	printf("mem_size=%#llx\n", (unsigned long long)bi->mem_size);
	printf("pt_root=%#llx\n", (unsigned long long)bi->pt_root);
	printf("cr3=%#llx\n", (unsigned long long)(pw_read_cr3() & ~0xfffull));
	printf("pt_pool_next=%#llx\n", (unsigned long long)bi->pt_pool_next);
	printf("pt_pool_end=%#llx\n", (unsigned long long)bi->pt_pool_end);
	printf("heap_start=%#llx\n", (unsigned long long)bi->heap_start);
	printf("heap_end=%#llx\n", (unsigned long long)bi->heap_end);
	printf("fault_mode=%u\n", bi->fault_mode);
	printf("maxphyaddr=%u\n", bi->maxphyaddr);
	printf("features=%#x\n", bi->features);
	printf("nregions=%u\n", bi->nregions);
	printf("cmdline=[%s]\n", pw_cmdline());
	for (uint32_t i = 0; i < bi->nregions; i++) {
		const struct pw_region *r = &bi->regions[i];

		printf("region %s %#llx %#llx\n", pw_region_kind_name(r->kind),
		       (unsigned long long)r->start, (unsigned long long)r->size);
	}
	return 0;
}
