/* The layout builder: regions, the identity map and its guards (read back through paging/),
 * the GDT/TSS bytes, the boot info, the pool budget, the dump, and the errors. No KVM needed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "pagewarden/classify.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static struct guest_mem mem;
static struct layout lay;

/* A segment of kind at gpa: file bytes, then zeroes up to mem bytes. */
static struct image_segment seg(uint64_t gpa, uint64_t file, uint64_t mem_size, unsigned flags,
				unsigned kind)
{
	return (struct image_segment){.gpa = gpa,
				      .file_size = file,
				      .mem_size = mem_size,
				      .file_offset = gpa - PW_IMAGE_GPA,
				      .flags = flags,
				      .kind = kind};
}

/* A three-segment image as the loader would describe it: text R X at 1 MiB, rodata R, data RW
 * with bss. */
static void make_image(struct image *img)
{
	memset(img, 0, sizeof(*img));
	img->format = IMAGE_FLAT;
	img->has_header = true;
	img->entry = PW_IMAGE_GPA;
	img->nsegs = 3;
	img->seg[0] = seg(PW_IMAGE_GPA, 0x3000, 0x3000, PT_READ | PT_EXECUTE, PW_REGION_TEXT);
	img->seg[1] = seg(PW_IMAGE_GPA + 0x3000, 0x1000, 0x1000, PT_READ, PW_REGION_RODATA);
	img->seg[2] = seg(PW_IMAGE_GPA + 0x4000, 0x800, 0x2000, PT_READ | PT_WRITE, PW_REGION_DATA);
	img->start = PW_IMAGE_GPA;
	img->end = PW_IMAGE_GPA + 0x6000;
}

#define TEXT_VA	  (PW_IMAGE_GPA)
#define RODATA_VA (PW_IMAGE_GPA + 0x3000)
#define DATA_VA	  (PW_IMAGE_GPA + 0x4000)

/* Allocate ram bytes and build the layout for img with opts; assert it worked. */
static void build_img(uint64_t ram, const struct image *img, const struct layout_opts *opts)
{
	enum layout_err err;

	cr_assert_eq(guest_mem_alloc(&mem, ram), MEM_OK);
	err = layout_build(&mem, img, opts, &lay);
	cr_assert_eq(err, LAYOUT_OK, "layout_build: %s", layout_strerror(err));
}

/* Build the standard image in ram bytes. */
static void build(uint64_t ram, bool has_1g, unsigned fault_mode)
{
	struct image img;
	struct layout_opts o = {.fault_mode = fault_mode, .has_1g = has_1g, .cmdline = "a b"};

	make_image(&img);
	build_img(ram, &img, &o);
}

/* Assert va maps to itself with exactly flags, in a page of size (0: any size). */
static void expect_mapped(uint64_t va, unsigned flags, uint64_t size)
{
	uint64_t pa = 0, sz = 0;
	unsigned fl = 0;
	enum pt_err err = pt_query(&lay.pt, va, &pa, &fl, &sz);
	char want[64], got[64];

	cr_assert_eq(err, PT_OK, "va %#llx: %s", (unsigned long long)va, pt_strerror(err));
	cr_assert_eq(pa, va, "va %#llx maps pa %#llx", (unsigned long long)va,
		     (unsigned long long)pa);
	pt_flags_str(want, sizeof(want), flags);
	pt_flags_str(got, sizeof(got), fl);
	cr_assert_eq(fl, flags, "va %#llx flags %s, want %s", (unsigned long long)va, got, want);
	if (size)
		cr_assert_eq(sz, size, "va %#llx page size %#llx, want %#llx",
			     (unsigned long long)va, (unsigned long long)sz,
			     (unsigned long long)size);
}

/* Assert va is not present and its entry is a guard of kind. */
static void expect_guard(uint64_t va, unsigned kind)
{
	pte_t *e = NULL;
	int level = 0;

	cr_assert_eq(pt_query(&lay.pt, va, NULL, NULL, NULL), PT_ENOTMAPPED, "va %#llx is mapped",
		     (unsigned long long)va);
	cr_assert_eq(pt_lookup(&lay.pt, va, 1, false, &e, &level), PT_OK);
	cr_assert_not_null(e);
	cr_assert(pte_is_guard(*e), "va %#llx: entry %#llx at level %d is not a guard",
		  (unsigned long long)va, (unsigned long long)*e, level);
	cr_assert_eq(pte_guard_kind(*e), kind, "va %#llx guard %s, want %s", (unsigned long long)va,
		     layout_guard_name(pte_guard_kind(*e)), layout_guard_name(kind));
}

#define RW  (PT_READ | PT_WRITE)
#define RX  (PT_READ | PT_EXECUTE)
#define RO  (PT_READ)
#define RWX (PT_READ | PT_WRITE | PT_EXECUTE)

/* The checks every configuration must pass. */
static void expect_common(uint64_t ram, bool has_1g)
{
	expect_guard(0, PW_REGION_NULL_GUARD);
	expect_guard(0xfff, PW_REGION_NULL_GUARD);
	expect_mapped(PW_BOOT_INFO_GPA, RO, PT_SIZE_4K);
	expect_mapped(PW_GDT_GPA, RW, PT_SIZE_4K);
	expect_mapped(PW_IDT_GPA, RW, PT_SIZE_4K);
	expect_mapped(TEXT_VA, RX, PT_SIZE_4K);
	expect_mapped(TEXT_VA + 0x2fff, RX, PT_SIZE_4K);
	expect_mapped(RODATA_VA, RO, PT_SIZE_4K);
	expect_mapped(DATA_VA, RW, PT_SIZE_4K);
	expect_mapped(DATA_VA + 0x1fff, RW, PT_SIZE_4K); /* bss */
	expect_guard(PW_PF_STACK_GUARD_GPA, PW_REGION_STACK_GUARD);
	expect_guard(PW_DF_STACK_GUARD_GPA, PW_REGION_STACK_GUARD);
	expect_guard(PW_STACK_GUARD_GPA, PW_REGION_STACK_GUARD);
	expect_mapped(PW_PF_STACK_GPA, RW, PT_SIZE_4K);
	expect_mapped(PW_PF_STACK_GPA + PW_PF_STACK_SIZE - 1, RW, PT_SIZE_4K);
	expect_mapped(PW_DF_STACK_GPA, RW, PT_SIZE_4K);
	expect_mapped(PW_STACK_GPA, RW, PT_SIZE_4K);
	expect_mapped(PW_STACK_GPA + PW_STACK_SIZE - 8, RW, PT_SIZE_4K);
	expect_mapped(PW_PT_POOL_GPA, RW, PT_SIZE_4K);
	expect_mapped(DATA_VA + 0x2000, RW, PT_SIZE_4K); /* free RAM after the image */
	expect_mapped(PW_HEAP_ALIGN - PW_USER_STACK_SIZE - 2 * PW_PAGE_SIZE, RW, PT_SIZE_4K);
	/* The user stack ends at the heap, its guard page below it. */
	expect_guard(PW_HEAP_ALIGN - PW_USER_STACK_SIZE - PW_PAGE_SIZE, PW_REGION_STACK_GUARD);
	expect_mapped(PW_HEAP_ALIGN - PW_USER_STACK_SIZE, RW | PT_USER, PT_SIZE_4K);
	expect_mapped(PW_HEAP_ALIGN - PW_PAGE_SIZE, RW | PT_USER, PT_SIZE_4K);
	cr_assert_eq(layout_region_at(&lay, PW_HEAP_ALIGN - 1)->kind, PW_REGION_USER_STACK);
	/* The heap starts at the first 2 MiB boundary after the small image. */
	cr_assert_eq(lay.heap_start, PW_HEAP_ALIGN);
	cr_assert_eq(lay.heap_end,
		     ram < PW_HEAP_ALIGN + PW_HEAP_MAX ? ram : PW_HEAP_ALIGN + PW_HEAP_MAX);
	expect_guard(lay.heap_start, PW_REGION_HEAP);
	expect_guard(lay.heap_end - PW_PAGE_SIZE, PW_REGION_HEAP);
	/* Unbacked: present, so the access reaches the second level and exits as MMIO. */
	expect_mapped(ram, RW, 0);
	expect_mapped(ram + PW_PAGE_SIZE, RW, 0);
	expect_mapped(PW_HIGH_GUARD_GPA - PW_PAGE_SIZE, RW, PT_SIZE_2M);
	expect_guard(PW_HIGH_GUARD_GPA, PW_REGION_HIGH_GUARD);
	expect_guard(PW_MAP_END - 1, PW_REGION_HIGH_GUARD);
	cr_assert_eq(pt_query(&lay.pt, PW_MAP_END, NULL, NULL, NULL), PT_ENOTMAPPED);
	cr_assert_eq(pt_query(&lay.pt, 0x7fffffffffffull, NULL, NULL, NULL), PT_ENOTMAPPED);
	/* Above 2 MiB the unbacked hole uses big pages: 1 GiB for [1G, 2G) if allowed and free. */
	if (ram <= GiB)
		expect_mapped(GiB, RW, has_1g ? PT_SIZE_1G : PT_SIZE_2M);
	cr_assert_eq(lay.entry, PW_IMAGE_GPA);
	cr_assert_eq(lay.stack_top, PW_STACK_GPA + PW_STACK_SIZE);
	cr_assert_eq(lay.boot_info, PW_BOOT_INFO_GPA);
	cr_assert_eq(lay.mem_size, ram);
	cr_assert_eq(lay.mem, &mem);
}

/* Region kinds the standard image gives, in order; rest_of_ram when RAM goes past the heap. */
static void expect_regions(uint64_t ram, bool rest_of_ram)
{
	/* clang-format off */
	static const unsigned low[] = {
		PW_REGION_NULL_GUARD, PW_REGION_BOOT_INFO, PW_REGION_GDT, PW_REGION_IDT,
		PW_REGION_STUBS, PW_REGION_STACK_GUARD, PW_REGION_IST_STACK,
		PW_REGION_STACK_GUARD, PW_REGION_IST_STACK, PW_REGION_STACK_GUARD, PW_REGION_STACK,
		PW_REGION_PT_POOL, PW_REGION_TEXT, PW_REGION_RODATA, PW_REGION_DATA, PW_REGION_RAM,
		PW_REGION_STACK_GUARD, PW_REGION_USER_STACK, PW_REGION_HEAP,
	};
	/* clang-format on */
	const size_t nlow = sizeof(low) / sizeof(low[0]);
	unsigned want[PW_MAX_REGIONS];
	size_t n = 0;
	uint64_t at = 0;

	memcpy(want, low, sizeof(low));
	n = nlow;
	if (rest_of_ram)
		want[n++] = PW_REGION_RAM;
	want[n++] = PW_REGION_UNBACKED;
	want[n++] = PW_REGION_HIGH_GUARD;
	cr_assert_eq(lay.nregions, n, "%u regions, want %zu", lay.nregions, n);
	for (unsigned i = 0; i < lay.nregions; i++) {
		const struct pw_region *r = &lay.regions[i];

		cr_assert_eq(r->start, at, "region %u starts at %#llx, want %#llx", i,
			     (unsigned long long)r->start, (unsigned long long)at);
		cr_assert_gt(r->size, 0);
		cr_assert_eq(r->kind, want[i], "region %u is %s, want %s", i,
			     pw_region_kind_name(r->kind), pw_region_kind_name(want[i]));
		cr_assert_eq(r->start % PW_PAGE_SIZE, 0);
		cr_assert_eq(r->size % PW_PAGE_SIZE, 0);
		cr_assert_eq(layout_region_at(&lay, r->start), r);
		cr_assert_eq(layout_region_at(&lay, r->start + r->size - 1), r);
		at = r->start + r->size;
	}
	cr_assert_eq(at, PW_MAP_END);
	cr_assert_null(layout_region_at(&lay, PW_MAP_END));
	cr_assert_null(layout_region_at(&lay, UINT64_MAX));
	cr_assert_eq(layout_region_at(&lay, ram)->kind, PW_REGION_UNBACKED);
	cr_assert_eq(layout_region_at(&lay, ram - 1)->kind,
		     rest_of_ram ? PW_REGION_RAM : PW_REGION_HEAP);
	cr_assert_eq(layout_region_at(&lay, PW_HIGH_GUARD_GPA)->start, PW_HIGH_GUARD_GPA);
	cr_assert_eq(layout_region_at(&lay, PW_HIGH_GUARD_GPA)->size, PW_HIGH_GUARD_SIZE);
}

/* Walk the tables by hand from the root: every table frame is in the used part of the pool,
 * every present entry has A preset and every leaf D (so a read-only pool never needs a write),
 * no leaf but the user stack's is user-accessible. Returns the number of tables. */
static unsigned walk_tables(uint64_t table, int level)
{
	const pte_t *t = gpa_to_host(&mem, table, PW_PAGE_SIZE);
	unsigned n = 1;

	cr_assert(table >= PW_PT_POOL_GPA && table < lay.pool_next,
		  "table %#llx outside the used pool [%#llx, %#llx)", (unsigned long long)table,
		  (unsigned long long)PW_PT_POOL_GPA, (unsigned long long)lay.pool_next);
	cr_assert_not_null(t);
	for (int i = 0; i < PT_ENTRIES; i++) {
		pte_t e = t[i];

		if (!pte_present(e))
			continue;
		cr_assert(e & PTE_A, "level %d entry %d of %#llx: A not preset", level, i,
			  (unsigned long long)table);
		if (pte_leaf(e, level)) {
			cr_assert(e & PTE_D, "leaf without D preset");
			cr_assert(!(e & PTE_U) || pte_addr(e, level) - (lay.heap_start -
									 PW_USER_STACK_SIZE) <
							  PW_USER_STACK_SIZE,
				  "user-accessible leaf %#llx outside the user stack",
				  (unsigned long long)e);
		} else {
			cr_assert_gt(level, 1);
			n += walk_tables(pte_addr(e, level), level - 1);
		}
	}
	return n;
}

/* The frames the build used are all reachable tables, and what is left of the pool holds the
 * 4 KiB tables of the whole heap (one per 2 MiB). */
static void expect_pool(void)
{
	uint64_t used = (lay.pool_next - PW_PT_POOL_GPA) / PW_PAGE_SIZE;
	uint64_t left = (lay.pool_end - lay.pool_next) / PW_PAGE_SIZE;
	uint64_t heap_tables = (lay.heap_end - lay.heap_start + PT_SIZE_2M - 1) / PT_SIZE_2M;

	cr_assert_eq(lay.pt.root, PW_PT_POOL_GPA);
	cr_assert_eq(lay.pool_end, PW_PT_POOL_GPA + PW_PT_POOL_SIZE);
	cr_assert_eq(walk_tables(lay.pt.root, 4), used, "tables reachable != frames used");
	cr_assert_geq(left, heap_tables, "%llu frames left, heap needs %llu",
		      (unsigned long long)left, (unsigned long long)heap_tables);
}

static void teardown(void)
{
	guest_mem_free(&mem);
}

TestSuite(layout, .fini = teardown);

Test(layout, default_64m_with_1g_pages)
{
	build(PW_MEM_DEFAULT, true, PW_FAULTS_GUEST);
	expect_common(PW_MEM_DEFAULT, true);
	expect_regions(PW_MEM_DEFAULT, false);
	expect_pool();
	/* Heap up to the end of RAM; the 2 MiB boundary at 3 GiB is in the last PD. */
	expect_mapped(3 * GiB, RW, PT_SIZE_2M);
	expect_mapped(2 * GiB, RW, PT_SIZE_1G);
	cr_assert_eq(pt_lookup(&lay.pt, lay.heap_start, 1, false, &(pte_t *){0}, &(int){0}), PT_OK);
	/* PML4, PDPT, PD of GiB 0, PT of the low 2 MiB, PD of GiB 3 (high guard): that is all. */
	cr_assert_eq(lay.pool_next - PW_PT_POOL_GPA, 5 * PW_PAGE_SIZE);
}

Test(layout, default_64m_without_1g_pages)
{
	build(PW_MEM_DEFAULT, false, PW_FAULTS_GUEST);
	expect_common(PW_MEM_DEFAULT, false);
	expect_regions(PW_MEM_DEFAULT, false);
	expect_pool();
	expect_mapped(2 * GiB, RW, PT_SIZE_2M);
	expect_mapped(PW_MEM_DEFAULT, RW, PT_SIZE_2M);
	/* PML4, PDPT, four PDs, PT of the low 2 MiB. */
	cr_assert_eq(lay.pool_next - PW_PT_POOL_GPA, 7 * PW_PAGE_SIZE);
}

Test(layout, minimum_ram)
{
	build(PW_MEM_MIN, true, PW_FAULTS_GUEST);
	expect_common(PW_MEM_MIN, true);
	expect_regions(PW_MEM_MIN, false);
	expect_pool();
	cr_assert_eq(lay.heap_end, PW_MEM_MIN);
}

Test(layout, one_gib_ram_has_ram_above_the_heap)
{
	build(GiB, true, PW_FAULTS_GUEST);
	expect_common(GiB, true);
	expect_regions(GiB, true);
	expect_pool();
	cr_assert_eq(lay.heap_end, PW_HEAP_ALIGN + PW_HEAP_MAX);
	expect_mapped(lay.heap_end, RW, PT_SIZE_2M);
	expect_mapped(GiB - PW_PAGE_SIZE, RW, PT_SIZE_2M);
}

Test(layout, one_gib_ram_without_1g_pages)
{
	build(GiB, false, PW_FAULTS_GUEST);
	expect_common(GiB, false);
	expect_regions(GiB, true);
	expect_pool();
	expect_mapped(lay.heap_end, RW, PT_SIZE_2M);
}

Test(layout, max_ram_uses_1g_pages_for_ram)
{
	build(PW_MEM_MAX, true, PW_FAULTS_GUEST);
	expect_common(PW_MEM_MAX, true);
	expect_regions(PW_MEM_MAX, true);
	expect_pool();
	expect_mapped(GiB, RW, PT_SIZE_1G);
	expect_mapped(2 * GiB + 5, RW, PT_SIZE_1G);
}

Test(layout, stubs_page_present_only_for_vmm_faults)
{
	build(PW_MEM_DEFAULT, true, PW_FAULTS_GUEST);
	expect_guard(PW_STUBS_GPA, PW_REGION_STUBS);
	teardown();
	build(PW_MEM_DEFAULT, true, PW_FAULTS_VMM);
	expect_mapped(PW_STUBS_GPA, RX, PT_SIZE_4K);
	expect_mapped(PW_IDT_GPA, RW, PT_SIZE_4K);
}

Test(layout, boot_info_fields)
{
	struct image img;
	struct layout_opts o = {.fault_mode = PW_FAULTS_VMM,
				.has_1g = true,
				.protect_pt = true,
				.maxphyaddr = 39,
				.cmdline = "--count 3 hello"};
	const struct pw_boot_info *bi;

	make_image(&img);
	build_img(PW_MEM_DEFAULT, &img, &o);
	bi = gpa_to_host(&mem, PW_BOOT_INFO_GPA, sizeof(*bi));
	cr_assert_eq(bi->magic, PW_BOOT_MAGIC);
	cr_assert_eq(bi->version, 2, "one CPU: version 2, which images built before 3 accept");
	cr_assert_eq(bi->size, sizeof(*bi));
	cr_assert_eq(bi->mem_size, PW_MEM_DEFAULT);
	cr_assert_eq(bi->pt_root, lay.pt.root);
	cr_assert_eq(bi->pt_pool_next, lay.pool_next);
	cr_assert_eq(bi->pt_pool_end, PW_PT_POOL_GPA + PW_PT_POOL_SIZE);
	cr_assert_eq(bi->heap_start, lay.heap_start);
	cr_assert_eq(bi->heap_end, lay.heap_end);
	cr_assert_eq(bi->fault_mode, PW_FAULTS_VMM);
	cr_assert_eq(bi->maxphyaddr, 39);
	cr_assert_eq(bi->features, PW_BOOT_F_1G_PAGES | PW_BOOT_F_PROTECT_PT);
	cr_assert_eq(bi->nregions, lay.nregions);
	cr_assert_eq(memcmp(bi->regions, lay.regions, lay.nregions * sizeof(lay.regions[0])), 0);
	cr_assert_eq(bi->cmdline_len, strlen("--count 3 hello"));
	cr_assert_str_eq(bi->cmdline, "--count 3 hello");
	teardown();

	o = (struct layout_opts){0};
	build_img(PW_MEM_DEFAULT, &img, &o);
	bi = gpa_to_host(&mem, PW_BOOT_INFO_GPA, sizeof(*bi));
	cr_assert_eq(bi->features, 0);
	cr_assert_eq(bi->maxphyaddr, 52);
	cr_assert_eq(bi->fault_mode, PW_FAULTS_GUEST);
	cr_assert_eq(bi->cmdline_len, 0);
	cr_assert_str_eq(bi->cmdline, "");
}

Test(layout, cmdline_limit)
{
	struct image img;
	char *s = malloc(PW_CMDLINE_MAX + 1);
	struct layout_opts o = {.cmdline = s};
	const struct pw_boot_info *bi;

	cr_assert_not_null(s);
	make_image(&img);
	cr_assert_eq(guest_mem_alloc(&mem, PW_MEM_DEFAULT), MEM_OK);
	memset(s, 'x', PW_CMDLINE_MAX);
	s[PW_CMDLINE_MAX] = 0;
	cr_assert_eq(layout_build(&mem, &img, &o, &lay), LAYOUT_ECMDLINE);
	s[PW_CMDLINE_MAX - 1] = 0;
	cr_assert_eq(layout_build(&mem, &img, &o, &lay), LAYOUT_OK, "1023 bytes fit");
	bi = gpa_to_host(&mem, PW_BOOT_INFO_GPA, sizeof(*bi));
	cr_assert_eq(bi->cmdline_len, PW_CMDLINE_MAX - 1);
	cr_assert_eq(bi->cmdline[PW_CMDLINE_MAX - 1], 0);
	cr_assert_eq(bi->cmdline[PW_CMDLINE_MAX - 2], 'x');
	free(s);
}

/* Read the little-endian value of n bytes at gpa. */
static uint64_t peek(uint64_t gpa, unsigned n)
{
	const uint8_t *p = gpa_to_host(&mem, gpa, n);
	uint64_t v = 0;

	cr_assert_not_null(p);
	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* Decoded fields of a segment descriptor (Intel SDM vol. 3, 3.4.5). */
struct desc {
	uint64_t base;
	uint32_t limit;
	unsigned type, s, dpl, p, avl, l, db, g;
};

static struct desc decode(uint64_t d)
{
	return (struct desc){
	    .base = ((d >> 16) & 0xffffff) | ((d >> 56) & 0xff) << 24,
	    .limit = (uint32_t)((d & 0xffff) | ((d >> 48) & 0xf) << 16),
	    .type = (d >> 40) & 0xf,
	    .s = (d >> 44) & 1,
	    .dpl = (d >> 45) & 3,
	    .p = (d >> 47) & 1,
	    .avl = (d >> 52) & 1,
	    .l = (d >> 53) & 1,
	    .db = (d >> 54) & 1,
	    .g = (d >> 55) & 1,
	};
}

Test(layout, gdt_and_tss_bytes)
{
	struct desc code, data, tss;

	build(PW_MEM_DEFAULT, true, PW_FAULTS_GUEST);
	cr_assert_eq(peek(PW_GDT_GPA, 8), 0, "null descriptor");

	code = decode(peek(PW_GDT_GPA + PW_SEL_CODE, 8));
	cr_assert_eq(code.type, 0xb, "execute/read, accessed");
	cr_assert_eq(code.type, PW_GDT_CODE_TYPE);
	cr_assert(code.s && code.p && code.l && !code.db && code.g);
	cr_assert_eq(code.dpl, 0);
	cr_assert_eq(code.limit, 0xfffff);
	cr_assert_eq(code.base, 0);
	cr_assert_eq((peek(PW_GDT_GPA + PW_SEL_CODE, 8) >> 40) & 0xff, PW_GDT_CODE_ACCESS);

	data = decode(peek(PW_GDT_GPA + PW_SEL_DATA, 8));
	cr_assert_eq(data.type, 0x3, "read/write, accessed");
	cr_assert_eq(data.type, PW_GDT_DATA_TYPE);
	cr_assert(data.s && data.p && !data.l && data.db && data.g);
	cr_assert_eq(data.dpl, 0);
	cr_assert_eq((peek(PW_GDT_GPA + PW_SEL_DATA, 8) >> 40) & 0xff, PW_GDT_DATA_ACCESS);

	tss = decode(peek(PW_GDT_GPA + PW_SEL_TSS, 8));
	tss.base |= peek(PW_GDT_GPA + PW_SEL_TSS + 8, 4) << 32;
	cr_assert_eq(tss.type, 0xb, "busy 64-bit TSS");
	cr_assert_eq(tss.type, PW_GDT_TSS_TYPE);
	cr_assert(!tss.s && tss.p && !tss.g && !tss.l);
	cr_assert_eq(tss.base, PW_TSS_GPA);
	cr_assert_eq(tss.limit, 0x67);
	cr_assert_eq(peek(PW_GDT_GPA + PW_SEL_TSS + 12, 4), 0, "reserved upper dword");
	cr_assert_eq(peek(PW_GDT_GPA + PW_SEL_USER_BASE, 8), 0, "no 32-bit user code");
	data = decode(peek(PW_GDT_GPA + (PW_SEL_USER_DATA & ~3), 8));
	cr_assert(data.s && data.p && !data.l && data.db && data.g);
	cr_assert_eq(data.type, PW_GDT_DATA_TYPE);
	cr_assert_eq(data.dpl, 3);
	code = decode(peek(PW_GDT_GPA + (PW_SEL_USER_CODE & ~3), 8));
	cr_assert(code.s && code.p && code.l && !code.db && code.g);
	cr_assert_eq(code.type, PW_GDT_CODE_TYPE);
	cr_assert_eq(code.dpl, 3);
	cr_assert_eq(PW_GDT_LIMIT, (PW_SEL_USER_CODE & ~3) + 7, "GDT limit ends at the user code");

	/* The TSS: RSP0 at 4, IST1.. at 36, I/O map base at 102. */
	cr_assert_eq(peek(PW_TSS_GPA + 4, 8), PW_STACK_GPA + PW_STACK_SIZE);
	cr_assert_eq(peek(PW_TSS_GPA + 36 + 8 * (PW_IST_PF - 1), 8), 0xa000);
	cr_assert_eq(peek(PW_TSS_GPA + 36 + 8 * (PW_IST_DF - 1), 8), 0xf000);
	cr_assert_eq(peek(PW_TSS_GPA + 36 + 8 * 2, 8), 0, "IST3 unused");
	cr_assert_eq(peek(PW_TSS_GPA + 102, 2), 0x68);
	/* Each IST top sits right below a guard: the stack's own page, then a not-present one. */
	expect_mapped(0xa000 - 8, RW, PT_SIZE_4K);
	expect_mapped(0xf000 - 8, RW, PT_SIZE_4K);
	expect_guard(PW_PF_STACK_GPA - PW_PAGE_SIZE, PW_REGION_STACK_GUARD);
	expect_guard(PW_DF_STACK_GPA - PW_PAGE_SIZE, PW_REGION_STACK_GUARD);
}

Test(layout, guard_names)
{
	cr_assert_str_eq(layout_guard_name(PW_REGION_NULL_GUARD), "null-guard");
	cr_assert_str_eq(layout_guard_name(PW_REGION_STACK_GUARD), "stack-guard");
	cr_assert_str_eq(layout_guard_name(PW_REGION_HEAP), "heap");
	cr_assert_str_eq(layout_guard_name(PW_REGION_HIGH_GUARD), "high-guard");
	cr_assert_str_eq(layout_guard_name(200), "?");
}

/* Return the dump of the current layout (caller frees). */
static char *dump(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	layout_dump_pt(&lay, f);
	fclose(f);
	return buf;
}

/* The line of text that contains both a and b, or NULL. */
static const char *line_with(const char *text, const char *a, const char *b)
{
	static char line[256];

	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n < sizeof(line)) {
			memcpy(line, p, n);
			line[n] = 0;
			if (strstr(line, a) && strstr(line, b))
				return line;
		}
		p += n + (nl != NULL);
	}
	return NULL;
}

Test(layout, dump_names_regions_and_guards)
{
	char *out, want[256];
	struct pt_range text = {.start = TEXT_VA,
				.end = TEXT_VA + 0x3000,
				.pa = TEXT_VA,
				.page_size = PT_SIZE_4K,
				.flags = RX};
	const char *l;

	build(PW_MEM_DEFAULT, true, PW_FAULTS_GUEST);
	out = dump();
	cr_assert_not_null(out);
	l = line_with(out, "0000000000000000-0000000000001000", "null");
	cr_assert_not_null(l, "no null guard line in:\n%s", out);
	cr_assert_not_null(strstr(l, "guard"), "%s", l);
	/* The text range is printed exactly as pt_format_range prints it, then its region. */
	pt_format_range(want, sizeof(want), &text, layout_guard_name);
	strcat(want, "  text");
	cr_assert_not_null(line_with(out, want, ""), "no line \"%s\" in:\n%s", want, out);
	cr_assert_null(strstr(line_with(out, want, ""), "NX"));
	cr_assert_not_null(line_with(out, "00000000ffe00000-0000000100000000", "high-guard"), "%s",
			   out);
	cr_assert_not_null(line_with(out, "heap", "guard"), "%s", out);
	/* The GDT and IDT pages have the same rights but are printed as two lines. */
	cr_assert_not_null(line_with(out, "0000000000002000-0000000000003000", "gdt"), "%s", out);
	cr_assert_not_null(line_with(out, "0000000000003000-0000000000004000", "idt"), "%s", out);
	cr_assert_not_null(line_with(out, "unbacked", "NX"), "%s", out);
	free(out);
}

Test(layout, shared_page_gets_both_segments_rights)
{
	struct image img;
	struct layout_opts o = {.has_1g = true};

	make_image(&img);
	img.nsegs = 2;
	img.seg[0].mem_size = img.seg[0].file_size = 0x1800; /* text ends mid-page */
	img.seg[1] = seg(PW_IMAGE_GPA + 0x1800, 0x1000, 0x1800, PT_READ | PT_WRITE, PW_REGION_DATA);
	build_img(PW_MEM_DEFAULT, &img, &o);
	expect_mapped(PW_IMAGE_GPA, RX, PT_SIZE_4K);
	expect_mapped(PW_IMAGE_GPA + 0x1000, RWX, PT_SIZE_4K); /* text tail + data head */
	expect_mapped(PW_IMAGE_GPA + 0x2000, RW, PT_SIZE_4K);
	cr_assert_eq(layout_region_at(&lay, PW_IMAGE_GPA + 0x1000)->kind, PW_REGION_TEXT);
	cr_assert_eq(layout_region_at(&lay, PW_IMAGE_GPA + 0x2000)->kind, PW_REGION_DATA);
	cr_assert_eq(layout_region_at(&lay, PW_IMAGE_GPA + 0x3000)->kind, PW_REGION_RAM);
}

Test(layout, image_gaps_become_ram_and_huge_segments_use_huge_pages)
{
	struct image img;
	struct layout_opts o = {.has_1g = true};

	make_image(&img);
	img.nsegs = 2;
	img.seg[1] = seg(4 * MiB, 4 * MiB, 4 * MiB, PT_READ | PT_WRITE, PW_REGION_DATA);
	build_img(PW_MEM_DEFAULT, &img, &o);
	expect_mapped(PW_IMAGE_GPA + 0x3000, RW, PT_SIZE_4K);
	cr_assert_eq(layout_region_at(&lay, PW_IMAGE_GPA + 0x3000)->kind, PW_REGION_RAM);
	cr_assert_eq(layout_region_at(&lay, 2 * MiB)->kind, PW_REGION_RAM);
	expect_mapped(2 * MiB, RW, PT_SIZE_2M);
	expect_mapped(4 * MiB, RW, PT_SIZE_2M);
	cr_assert_eq(layout_region_at(&lay, 4 * MiB)->kind, PW_REGION_DATA);
	/* the image ends at 8 MiB: the user stack and its guard take the next 2 MiB's start */
	cr_assert_eq(lay.heap_start, 10 * MiB);
	expect_guard(10 * MiB, PW_REGION_HEAP);
	expect_guard(10 * MiB - PW_USER_STACK_SIZE - PW_PAGE_SIZE, PW_REGION_STACK_GUARD);
	expect_pool();
}

Test(layout, small_ram_gets_a_small_heap)
{
	struct image img;
	struct layout_opts o = {0};

	make_image(&img);
	img.seg[2].mem_size = 3 * MiB; /* bss to 4 MiB + 0x4000: heap from 6 MiB */
	build_img(6 * MiB + 0x3000, &img, &o);
	cr_assert_eq(lay.heap_start, 6 * MiB);
	cr_assert_eq(lay.heap_end, 6 * MiB + 0x3000);
	expect_guard(6 * MiB + 0x2000, PW_REGION_HEAP);
	expect_mapped(6 * MiB + 0x3000, RW, PT_SIZE_4K); /* unbacked right after */
	expect_pool();
}

/* The worst case for the pool: no 1 GiB pages, RAM not 2 MiB aligned, and as many image
 * segments as the region list holds, each boundary in its own 2 MiB block, so every boundary
 * costs a 4 KiB table; what is left must still hold the tables of a full 256 MiB heap. */
Test(layout, pool_suffices_for_the_worst_case)
{
	struct image img;
	struct layout_opts o = {.has_1g = false};
	uint64_t left;

	memset(&img, 0, sizeof(img));
	img.nsegs = IMAGE_MAX_SEGMENTS;
	for (unsigned i = 0; i < img.nsegs; i++) {
		uint64_t gpa = i ? 4 * MiB * i + 0x1000 : PW_IMAGE_GPA;

		img.seg[i] = i ? seg(gpa, 0x1000, 2 * MiB + 0x1000, RW, PW_REGION_DATA)
			       : seg(gpa, 0x1000, 2 * MiB + 0x1000, RX, PW_REGION_TEXT);
	}
	img.entry = PW_IMAGE_GPA;
	build_img(PW_MEM_MAX - PW_PAGE_SIZE, &img, &o);
	cr_assert_eq(lay.nregions, PW_MAX_REGIONS);
	cr_assert_eq(lay.heap_end - lay.heap_start, PW_HEAP_MAX);
	expect_pool();
	left = (lay.pool_end - lay.pool_next) / PW_PAGE_SIZE;
	cr_assert_geq(left, PW_HEAP_MAX / PT_SIZE_2M, "%llu frames left", (unsigned long long)left);
	expect_mapped(4 * MiB + 0x1000, RW, PT_SIZE_4K);
	expect_mapped(6 * MiB, RW, PT_SIZE_4K);
	expect_mapped(PW_MEM_MAX - PW_PAGE_SIZE, RW, PT_SIZE_4K); /* unbacked after odd RAM end */
}

Test(layout, image_errors_are_erange)
{
	struct image img;
	struct layout_opts o = {0};

	cr_assert_eq(guest_mem_alloc(&mem, PW_MEM_MIN), MEM_OK);

	make_image(&img);
	img.seg[0].gpa = PW_PT_POOL_GPA; /* on the page-table pool */
	cr_assert_eq(layout_build(&mem, &img, &o, &lay), LAYOUT_ERANGE, "overlaps fixed regions");

	make_image(&img);
	img.seg[2].mem_size = PW_MEM_MIN; /* runs past RAM */
	cr_assert_eq(layout_build(&mem, &img, &o, &lay), LAYOUT_ERANGE, "past RAM");

	make_image(&img);
	img.seg[2].gpa = UINT64_MAX - 0xfff; /* gpa + size wraps */
	cr_assert_eq(layout_build(&mem, &img, &o, &lay), LAYOUT_ERANGE, "wraps");

	make_image(&img);
	img.seg[1].gpa = PW_IMAGE_GPA + 0x2000; /* overlaps text */
	cr_assert_eq(layout_build(&mem, &img, &o, &lay), LAYOUT_ERANGE, "segments overlap");

	make_image(&img);
	img.nsegs = 0;
	cr_assert_eq(layout_build(&mem, &img, &o, &lay), LAYOUT_ERANGE, "no segments");

	make_image(&img);
	img.seg[2].mem_size = 2 * MiB; /* ends past 2 MiB: the heap would start at RAM's end */
	cr_assert_eq(layout_build(&mem, &img, &o, &lay), LAYOUT_ERANGE, "no room for a heap");

	make_image(&img);
	cr_assert_eq(layout_build(&mem, &img, &o, &lay), LAYOUT_OK, "the image itself is fine");
}

Test(layout, strerror_names_every_error)
{
	for (int e = LAYOUT_OK; e <= LAYOUT_ECMDLINE; e++)
		cr_assert_neq(strlen(layout_strerror(e)), 0);
	cr_assert_str_neq(layout_strerror(LAYOUT_ENOMEM), layout_strerror(LAYOUT_ERANGE));
}

/* The guest's heap shortcut (pw_pf_is_heap_grow) says heap-grow exactly when the full classifier
 * does, for every error code and addresses around every region boundary of real layouts. */
Test(layout, heap_shortcut_agrees_with_the_classifier)
{
	const uint64_t rams[] = {4 * MiB, 64 * MiB, 70 * MiB + 0x5000, 1 * GiB};
	unsigned checked = 0, heap = 0;

	for (size_t k = 0; k < sizeof(rams) / sizeof(rams[0]); k++) {
		const struct pw_region *hr = NULL;

		build(rams[k], k % 2 == 0, PW_FAULTS_GUEST);
		for (unsigned i = 0; i < lay.nregions; i++)
			if (lay.regions[i].kind == PW_REGION_HEAP)
				hr = &lay.regions[i];
		cr_assert_not_null(hr, "no heap region at %llu bytes", (unsigned long long)rams[k]);
		for (unsigned i = 0; i < lay.nregions; i++) {
			const uint64_t edges[] = {lay.regions[i].start,
						  lay.regions[i].start + lay.regions[i].size};

			for (unsigned e = 0; e < 2; e++)
				for (int64_t d = -2; d <= 1; d++)
					for (uint64_t err = 0; err < 32; err++) {
						uint64_t cr2 = edges[e] + (uint64_t)(d * 0x800);
						bool full =
						    pw_classify_pf(lay.regions, lay.nregions, cr2,
								   err, NULL) == PW_FAULT_HEAP_GROW;
						bool fast = pw_pf_is_heap_grow(hr->start, hr->size,
									       cr2, err);

						cr_assert_eq(fast, full,
							     "cr2 0x%llx err 0x%llx: shortcut %d, "
							     "classifier %d",
							     (unsigned long long)cr2,
							     (unsigned long long)err, fast, full);
						checked++;
						heap += full;
					}
		}
		guest_mem_free(&mem);
	}
	cr_assert_gt(heap, 100, "too few heap-grow cases (%u of %u)", heap, checked);
}

/* The PVH entry's layout (docs/images.md): low RAM ends at 0x9fc00 (QEMU's e820), so the pool
 * ends at the page below and a firmware guard covers the rest up to 1 MiB; everything else is
 * where ./vmm puts it, and the boot info says PVH. */
Test(layout, low_ram_end_gives_a_firmware_guard)
{
	struct image img;
	struct layout_opts o = {.has_1g = true, .low_ram_end = 0x9fc00, .boot_flags = PW_BOOT_F_PVH};
	const struct pw_region *pool, *fw;
	const struct pw_boot_info *bi;

	make_image(&img);
	build_img(PW_MEM_DEFAULT, &img, &o);
	pool = layout_region_at(&lay, PW_PT_POOL_GPA);
	fw = layout_region_at(&lay, 0x9f000);
	cr_assert_eq(pool->kind, PW_REGION_PT_POOL);
	cr_assert_eq(pool->start + pool->size, 0x9f000);
	cr_assert_eq(fw->kind, PW_REGION_FIRMWARE);
	cr_assert_eq(fw->start, 0x9f000);
	cr_assert_eq(fw->size, PW_IMAGE_GPA - 0x9f000);
	cr_assert_eq(layout_region_at(&lay, PW_IMAGE_GPA)->kind, PW_REGION_TEXT);
	cr_assert_eq(lay.pool_end, 0x9f000);
	cr_assert_lt(lay.pool_next, lay.pool_end);
	expect_guard(0x9f000, PW_REGION_FIRMWARE);
	expect_guard(0xfffff, PW_REGION_FIRMWARE);
	expect_mapped(0x9e000, RW, PT_SIZE_4K);
	expect_common(PW_MEM_DEFAULT, true);
	bi = gpa_to_host(&mem, PW_BOOT_INFO_GPA, sizeof(*bi));
	cr_assert_eq(bi->features, PW_BOOT_F_1G_PAGES | PW_BOOT_F_PVH);
	cr_assert_eq(bi->pt_pool_end, 0x9f000);
	cr_assert_str_eq(pw_region_kind_name(PW_REGION_FIRMWARE), "firmware");
	teardown();

	/* In 1 GiB of RAM the heap stops where the smaller pool's tables stop: (79 - 16) 2 MiB
	 * tables' worth, not PW_HEAP_MAX. */
	build_img(1ull << 30, &img, &o);
	cr_assert_eq(lay.heap_end - lay.heap_start, 63 * PW_HEAP_ALIGN);
	cr_assert_eq(layout_region_at(&lay, lay.heap_end)->kind, PW_REGION_RAM);
	teardown();

	/* Low RAM ending inside the pool's first page leaves no pool: refused. */
	o.low_ram_end = PW_PT_POOL_GPA + 0x800;
	cr_assert_eq(guest_mem_alloc(&mem, PW_MEM_DEFAULT), MEM_OK);
	cr_assert_eq(layout_build(&mem, &img, &o, &lay), LAYOUT_ERANGE);
}

/* --cpus 4: version 3, ncpus and percpu_base; each other CPU's block holds its three guards
 * and a GDT page whose TSS points at its own stacks and whose CPU data names it. */
Test(layout, four_cpus_get_their_blocks)
{
	struct image img;
	struct layout_opts o = {.has_1g = true, .ncpus = 4};
	const struct pw_boot_info *bi;

	make_image(&img);
	build_img(PW_MEM_DEFAULT, &img, &o);
	bi = gpa_to_host(&mem, PW_BOOT_INFO_GPA, sizeof(*bi));
	cr_assert_eq(bi->version, PW_BOOT_VERSION);
	cr_assert_eq(bi->ncpus, 4);
	cr_assert_eq(bi->percpu_base, lay.percpu_base);
	cr_assert_eq(layout_region_at(&lay, lay.percpu_base)->kind, PW_REGION_PERCPU);
	cr_assert_eq(layout_region_at(&lay, lay.percpu_base)->size, 3 * PW_PERCPU_SIZE);
	for (unsigned cpu = 1; cpu < 4; cpu++) {
		uint64_t b = layout_percpu_block(&lay, cpu), gdt = layout_cpu_gdt(&lay, cpu);
		const uint8_t *page = gpa_to_host(&mem, gdt, PW_PAGE_SIZE);
		uint64_t ist1, data_id, data_self;

		cr_assert_eq(b, lay.percpu_base + (cpu - 1) * PW_PERCPU_SIZE);
		expect_guard(b, PW_REGION_STACK_GUARD);
		expect_guard(b + PW_PERCPU_DF_GUARD, PW_REGION_STACK_GUARD);
		expect_guard(b + PW_PERCPU_STACK_GUARD, PW_REGION_STACK_GUARD);
		expect_mapped(b + PW_PERCPU_STACK, RW, PT_SIZE_4K);
		expect_mapped(gdt, RW, PT_SIZE_4K);
		cr_assert_eq(layout_cpu_stack_top(&lay, cpu), b + PW_PERCPU_GDT);
		memcpy(&ist1, page + PW_TSS_OFF + 36, 8); /* TSS IST1: the #PF stack's top */
		cr_assert_eq(ist1, b + PW_PERCPU_DF_GUARD);
		memcpy(&data_id, page + PW_CPU_DATA_OFF, 8);
		memcpy(&data_self, page + PW_CPU_DATA_OFF + 8, 8);
		cr_assert_eq(data_id, cpu);
		cr_assert_eq(data_self, gdt + PW_CPU_DATA_OFF);
	}
}
