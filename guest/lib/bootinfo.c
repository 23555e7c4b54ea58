/* The boot info the VMM left at PW_BOOT_INFO_GPA: validation and accessors. */
#include <pagewarden/guest.h>

#include "runtime.h"

/* Set once by pw_start before main runs; read-only afterwards. */
static const struct pw_boot_info *boot_info;

const char *boot_info_check(uint64_t addr)
{
	const struct pw_boot_info *bi;

	/* A wild RDI would fault before any IDT exists (a silent triple fault): say why instead. */
	if (addr < PW_PAGE_SIZE || addr % 8 != 0 || addr + sizeof(struct pw_boot_info) > PW_MAP_END)
		return "pointer out of range";
	bi = (const struct pw_boot_info *)(uintptr_t)addr;
	if (bi->magic != PW_BOOT_MAGIC)
		return "bad magic";
	if (bi->version < 2 || bi->version > PW_BOOT_VERSION)
		return "unsupported version"; /* 2: one CPU, before --cpus; 3: ncpus, percpu_base */
	if (bi->size < sizeof(struct pw_boot_info))
		return "structure too small";
	if (bi->nregions > PW_MAX_REGIONS)
		return "too many regions";
	if (bi->cmdline_len >= PW_CMDLINE_MAX || bi->cmdline[bi->cmdline_len] != '\0')
		return "command line not terminated";
	return NULL;
}

void boot_info_set(const struct pw_boot_info *bi)
{
	boot_info = bi;
}

const struct pw_boot_info *pw_boot_info(void)
{
	return boot_info;
}

const struct pw_region *pw_region_find(unsigned kind)
{
	for (uint32_t i = 0; boot_info && i < boot_info->nregions; i++)
		if (boot_info->regions[i].kind == kind)
			return &boot_info->regions[i];
	return NULL;
}

const struct pw_region *pw_region_at(uint64_t addr)
{
	for (uint32_t i = 0; boot_info && i < boot_info->nregions; i++) {
		const struct pw_region *r = &boot_info->regions[i];

		/* Written as a difference so a region ending at 2^64 cannot overflow. */
		if (addr >= r->start && addr - r->start < r->size)
			return r;
	}
	return NULL;
}

const char *pw_cmdline(void)
{
	return boot_info ? boot_info->cmdline : "";
}
