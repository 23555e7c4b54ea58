/* The C half of the PVH entry (pvh_entry.S): read the firmware's start info, build the layout
 * ./vmm would build, with the same layout/ code, load its GDT and TSS, and enter the runtime as
 * ./vmm's vCPU would. Runs on the main stack and the entry's throw-away identity map, with no
 * IDT: a fault here is a triple fault, so every check reports and exits instead. */
#include <pagewarden/guest.h>

#include "layout_build.h"
#include "runtime.h"

/* The firmware's structures (Xen's public hvm/start_info.h, version 1). */
#define PVH_START_MAGIC 0x336ec578u
#define PVH_E820_RAM	1
#define PVH_MEMMAP_MAX	128
#define PVH_MSR_GS_BASE 0xc0000101u

struct pvh_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
	uint64_t memmap_paddr; /* version 1 */
	uint32_t memmap_entries, reserved;
};

struct pvh_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

/* Where the entry's throw-away tables and the stack pw_pvh_start runs on are. */
#define PVH_BUSY_START PW_STACK_GPA
#define PVH_BUSY_END   (PW_STACK_GPA + PW_STACK_SIZE)
_Static_assert(PW_STACK_GPA == 0x10000 && PW_STACK_GPA + PW_STACK_SIZE == 0x50000,
	       "pvh_entry.S's PVH_STACK_GPA and PVH_STACK_TOP are out of date");

extern const char __image_start[], __text_end[], __rodata_end[], __bss_end[];

/* Enter the runtime on the tables at cr3 (pvh_entry.S). */
__attribute__((noreturn)) void pw_pvh_enter(uint64_t cr3, uint64_t boot_info);

static struct layout pvh_layout;
static struct pvh_memmap_entry pvh_memmap[PVH_MEMMAP_MAX];
static char pvh_cmdline[PW_CMDLINE_MAX];

/* Say why this image cannot boot here, and stop with PW_EXIT_BAD_BOOT_INFO. */
static __attribute__((noreturn)) void pvh_fail(const char *why, uint64_t value)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "pagewarden runtime: cannot boot through PVH: %s (0x%llx)\n",
			 why, (unsigned long long)value);

	pvh_console_write(line, n < (int)sizeof(line) ? (size_t)n : sizeof(line) - 1);
	pvh_exit(PW_EXIT_BAD_BOOT_INFO);
}

/* True if [addr, addr + len) lies below 4 GiB (the throw-away map's end) and clear of the main
 * stack region, where the entry has already written. */
static bool pvh_range_ok(uint64_t addr, uint64_t len)
{
	if (addr >= PW_MAP_END || len > PW_MAP_END - addr)
		return false;
	return addr >= PVH_BUSY_END || addr + len <= PVH_BUSY_START;
}

/* Copy the firmware's memory map and command line out of its memory (the layout is about to
 * reuse the pages they may be in): sets *n to the map's entry count and returns NULL, or returns
 * why not, with *bad the value at fault. */
static const char *pvh_copy_start_info(uint64_t addr, uint32_t *n, uint64_t *bad)
{
	const struct pvh_start_info *si = (const struct pvh_start_info *)(uintptr_t)addr;
	uint64_t cl;
	size_t len;

	*bad = addr;
	if (!pvh_range_ok(addr, sizeof(*si)))
		return "the start info overlaps the main stack or is above 4 GiB";
	*bad = si->magic;
	if (si->magic != PVH_START_MAGIC)
		return "bad start info magic";
	*bad = si->version;
	if (si->version < 1)
		return "start info version 0 has no memory map";
	*bad = si->memmap_entries;
	if (si->memmap_entries == 0 || si->memmap_entries > PVH_MEMMAP_MAX)
		return "the memory map has no entries or more than 128";
	*n = si->memmap_entries;
	*bad = si->memmap_paddr;
	if (!pvh_range_ok(si->memmap_paddr, *n * sizeof(pvh_memmap[0])))
		return "the memory map overlaps the main stack or is above 4 GiB";
	memcpy(pvh_memmap, (const void *)(uintptr_t)si->memmap_paddr, *n * sizeof(pvh_memmap[0]));
	cl = si->cmdline_paddr;
	*bad = cl;
	if (cl == 0)
		return NULL;
	/* Read no further than 4 GiB, where the throw-away map ends. */
	if (cl >= PW_MAP_END)
		return "the command line is above 4 GiB";
	len = strnlen((const char *)(uintptr_t)cl,
		      PW_MAP_END - cl < PW_CMDLINE_MAX ? PW_MAP_END - cl : PW_CMDLINE_MAX);
	if (len >= PW_CMDLINE_MAX)
		return "the command line is longer than PW_CMDLINE_MAX - 1 bytes";
	if (!pvh_range_ok(cl, len + 1))
		return "the command line overlaps the main stack or is not terminated below 4 GiB";
	memcpy(pvh_cmdline, (const void *)(uintptr_t)cl, len);
	pvh_cmdline[len] = '\0';
	return NULL;
}

/* End of the RAM entry of the map that contains addr (type RAM), or 0 if none does. */
static uint64_t pvh_ram_end(uint32_t n, uint64_t addr)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct pvh_memmap_entry *e = &pvh_memmap[i];

		if (e->type == PVH_E820_RAM && addr >= e->addr && addr - e->addr < e->size)
			return e->addr + e->size;
	}
	return 0;
}

/* The layout's options from the memory map and the CPU, as ./vmm derives them from KVM; NULL,
 * or why not. */
static const char *pvh_opts(uint32_t n, struct layout_opts *o, uint64_t *mem_size)
{
	uint64_t end = pvh_ram_end(n, PW_IMAGE_GPA);

	o->low_ram_end = pvh_ram_end(n, 0);
	if (o->low_ram_end == 0 || end == 0)
		return "the memory map has no RAM at 0 or at 1 MiB";
	*mem_size = (end < PW_MEM_MAX ? end : PW_MEM_MAX) & ~(PW_PAGE_SIZE - 1);
	o->has_1g = (pw_cpuid(0x80000001u).edx >> 26) & 1;
	o->maxphyaddr = 36; /* the architectural default without leaf 0x80000008 */
	if (pw_cpuid(0x80000000u).eax >= 0x80000008u)
		o->maxphyaddr = pw_cpuid(0x80000008u).eax & 0xff;
	o->fault_mode = PW_FAULTS_GUEST;
	o->cmdline = pvh_cmdline;
	o->boot_flags = PW_BOOT_F_PVH;
	return NULL;
}

/* The builder's view of RAM: the throw-away map is the identity, over [0, 4 GiB). */
static void *pvh_to_virt(const struct layout *l, uint64_t pa, uint64_t len)
{
	if (pa >= l->mem_size || len > l->mem_size - pa)
		return NULL;
	return (void *)(uintptr_t)pa;
}

/* Load the GDT the layout wrote, reload every segment register from it, load TR, and point GS
 * at the CPU data. The TSS
 * descriptor is written busy (KVM_SET_SREGS loads TR directly); ltr wants it available and
 * marks it busy again, so the GDT ends as ./vmm leaves it. */
static void pvh_load_gdt(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} gdtr = {PW_GDT_LIMIT, PW_GDT_GPA};
	volatile uint8_t *tss_access = (volatile uint8_t *)(uintptr_t)(PW_GDT_GPA + PW_SEL_TSS + 5);

	*tss_access = PW_GDT_TSS_ACCESS & ~0x2; /* type 0x9: available 64-bit TSS */
	__asm__ volatile("lgdt %[gdtr]\n\t"
			 "pushq %[cs]\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\tmovl %[ds], %%eax\n\t"
			 "movl %%eax, %%ds\n\t"
			 "movl %%eax, %%es\n\t"
			 "movl %%eax, %%ss\n\t"
			 "movl %%eax, %%fs\n\t"
			 "movl %%eax, %%gs\n\t"
			 "ltr %w[tr]"
			 :
			 : [gdtr] "m"(gdtr), [cs] "i"(PW_SEL_CODE), [ds] "i"(PW_SEL_DATA),
			   [tr] "r"(PW_SEL_TSS)
			 : "rax", "memory");
	/* GS at the boot CPU's struct pw_cpu_data, as ./vmm's sregs put it. */
	pw_wrmsr(PVH_MSR_GS_BASE, PW_GDT_GPA + PW_CPU_DATA_OFF);
}

/* Called by pvh_entry.S with the start info's address; never returns. */
__attribute__((noreturn, used)) void pw_pvh_start(uint64_t start_info)
{
	struct layout_segment segs[3];
	struct layout_opts opts = {0};
	unsigned nsegs = 0;
	uint64_t mem_size, bad;
	enum layout_err err;
	const char *why;
	uint32_t n = 0;

	why = pvh_copy_start_info(start_info, &n, &bad);
	if (why)
		pvh_fail(why, bad);
	why = pvh_opts(n, &opts, &mem_size);
	if (why)
		pvh_fail(why, 0);
	/* The image as the flat header describes it (./vmm's ELF loader finds the same three). */
	segs[nsegs++] = (struct layout_segment){(uintptr_t)__image_start,
						(uintptr_t)__text_end - (uintptr_t)__image_start,
						PT_READ | PT_EXECUTE, PW_REGION_TEXT};
	segs[nsegs++] = (struct layout_segment){(uintptr_t)__text_end,
						(uintptr_t)__rodata_end - (uintptr_t)__text_end,
						PT_READ, PW_REGION_RODATA};
	if ((uintptr_t)__bss_end > (uintptr_t)__rodata_end)
		segs[nsegs++] = (struct layout_segment){
		    (uintptr_t)__rodata_end, (uintptr_t)__bss_end - (uintptr_t)__rodata_end,
		    PT_READ | PT_WRITE, PW_REGION_DATA};
	err = layout_build_segments(NULL, pvh_to_virt, mem_size, segs, nsegs,
				    (uintptr_t)__image_start, &opts, &pvh_layout);
	if (err)
		pvh_fail(layout_strerror(err), mem_size);
	pvh_load_gdt();
	pw_pvh_enter(pvh_layout.pt.root, PW_BOOT_INFO_GPA);
}
