/* The layout builder: the region list, then the identity map of [0, 4 GiB) with its guards,
 * built with paging/ in the page-table pool in guest RAM, then the GDT/TSS and the boot info.
 * Freestanding: memset and memcpy are the compiler's builtins (the guest runtime has both). */
#include "layout_build.h"

#include "bootinfo.h"
#include "gdt.h"

_Static_assert(PW_MEM_MAX <= PW_HIGH_GUARD_GPA, "RAM would reach the high guard");
_Static_assert(PW_HIGH_GUARD_GPA + PW_HIGH_GUARD_SIZE == PW_MAP_END, "high guard must end the map");
_Static_assert(PW_PT_POOL_GPA + PW_PT_POOL_SIZE <= PW_IMAGE_GPA, "pool runs into the image");

const char *layout_strerror(enum layout_err err)
{
	switch (err) {
	case LAYOUT_OK:
		return "success";
	case LAYOUT_ENOMEM:
		return "the page-table pool is exhausted";
	case LAYOUT_ERANGE:
		return "the image does not fit in guest RAM beside the fixed regions and a heap";
	case LAYOUT_EPAGING:
		return "the paging library refused a mapping (a pagewarden bug)";
	case LAYOUT_ECMDLINE:
		return "the guest command line is too long";
	}
	return "unknown layout error";
}

/* Round x down / up to a multiple of a (a power of two). */
static uint64_t align_down(uint64_t x, uint64_t a)
{
	return x & ~(a - 1);
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return align_down(x + a - 1, a);
}

/* The regions being planned, each with the generic flags it is mapped with (0: a guard entry of
 * the region's kind), and the pages two image segments share. */
struct plan {
	struct layout *l;
	uint64_t cursor; /* end of the last region: regions are appended, so never gap or overlap */
	uint64_t pool_end; /* the page-table pool's end: PW_PT_POOL_GPA + PW_PT_POOL_SIZE, or less */
	unsigned flags[PW_MAX_REGIONS];
	unsigned nshared;
	struct shared_page {
		uint64_t gpa;
		unsigned flags;
	} shared[LAYOUT_MAX_SEGMENTS];
};

/* Append [cursor, end) of kind mapped with flags; an empty range adds nothing. False if the
 * region list is full. */
static bool region_add(struct plan *p, uint64_t end, unsigned kind, unsigned flags)
{
	struct layout *l = p->l;

	if (end <= p->cursor)
		return true;
	if (l->nregions == PW_MAX_REGIONS)
		return false;
	l->regions[l->nregions] =
	    (struct pw_region){.start = p->cursor, .size = end - p->cursor, .kind = kind};
	p->flags[l->nregions++] = flags;
	p->cursor = end;
	return true;
}

#define RW (PT_READ | PT_WRITE)

/* The fixed low regions, in address order, each given by its end. */
static const struct fixed_region {
	uint64_t end;
	unsigned kind;
	unsigned flags;
} fixed_regions[] = {
    {PW_NULL_GUARD_GPA + PW_NULL_GUARD_SIZE, PW_REGION_NULL_GUARD, 0},
    {PW_BOOT_INFO_GPA + PW_BOOT_INFO_SIZE, PW_REGION_BOOT_INFO, PT_READ},
    {PW_GDT_GPA + PW_GDT_SIZE, PW_REGION_GDT, RW},
    {PW_IDT_GPA + PW_IDT_SIZE, PW_REGION_IDT, RW},
    {PW_STUBS_GPA + PW_STUBS_SIZE, PW_REGION_STUBS, PT_READ | PT_EXECUTE},
    {PW_PF_STACK_GPA, PW_REGION_STACK_GUARD, 0},
    {PW_PF_STACK_GPA + PW_PF_STACK_SIZE, PW_REGION_IST_STACK, RW},
    {PW_DF_STACK_GPA, PW_REGION_STACK_GUARD, 0},
    {PW_DF_STACK_GPA + PW_DF_STACK_SIZE, PW_REGION_IST_STACK, RW},
    {PW_STACK_GPA, PW_REGION_STACK_GUARD, 0},
    {PW_STACK_GPA + PW_STACK_SIZE, PW_REGION_STACK, RW},
    {PW_PT_POOL_GPA + PW_PT_POOL_SIZE, PW_REGION_PT_POOL, RW},
};

/* Append the fixed regions. The stubs page is present only when the VMM's stubs live there;
 * otherwise a jump into it is a stray jump, so it is a guard. Where the RAM below 1 MiB ends
 * early (PVH firmware keeps the top of it), the pool stops at the last page below that end and
 * a `firmware` guard covers the rest, so a stray access cannot reach the firmware's memory.
 * Returns false if that leaves the pool empty. */
static bool regions_fixed(struct plan *p, const struct layout_opts *opts)
{
	uint64_t low_end = opts->low_ram_end ? align_down(opts->low_ram_end, PW_PAGE_SIZE) : 0;

	if (low_end && low_end < PW_PT_POOL_GPA + PW_PAGE_SIZE)
		return false;
	p->pool_end = PW_PT_POOL_GPA + PW_PT_POOL_SIZE;
	if (low_end && low_end < p->pool_end)
		p->pool_end = low_end;
	for (size_t i = 0; i < sizeof(fixed_regions) / sizeof(fixed_regions[0]); i++) {
		const struct fixed_region *f = &fixed_regions[i];
		unsigned flags = f->flags;
		uint64_t end = f->end;

		if (f->kind == PW_REGION_STUBS && opts->fault_mode != PW_FAULTS_VMM)
			flags = 0;
		if (f->kind == PW_REGION_PT_POOL)
			end = p->pool_end;
		region_add(p, end, f->kind, flags); /* 13 regions always fit */
	}
	region_add(p, PW_IMAGE_GPA, PW_REGION_FIRMWARE, 0);
	return true;
}

/* Check the segments against ram bytes of RAM (the loader checks too; this is defence in
 * depth): sorted, not overlapping, above the fixed regions, inside RAM. */
static enum layout_err image_check(const struct layout_segment *segs, unsigned nsegs, uint64_t ram)
{
	uint64_t prev_end = PW_IMAGE_GPA;

	if (nsegs == 0 || nsegs > LAYOUT_MAX_SEGMENTS)
		return LAYOUT_ERANGE;
	for (unsigned i = 0; i < nsegs; i++) {
		const struct layout_segment *s = &segs[i];

		if (s->gpa < prev_end || s->mem_size > ram || s->gpa > ram - s->mem_size)
			return LAYOUT_ERANGE;
		prev_end = s->gpa + s->mem_size;
	}
	return LAYOUT_OK;
}

/* Flags a segment is mapped with: its own, readable (x86 has no execute-only or write-only). */
static unsigned segment_flags(const struct layout_segment *s)
{
	return (s->flags & (PT_WRITE | PT_EXECUTE)) | PT_READ;
}

/* Append the image's segments, page-rounded, with RAM in the gaps. A page two segments share
 * stays in the first one's region and is later mapped with the union of their flags, so
 * neither segment faults on its own bytes. */
static bool regions_image(struct plan *p, const struct layout_segment *segs, unsigned nsegs)
{
	for (unsigned i = 0; i < nsegs; i++) {
		const struct layout_segment *s = &segs[i];
		uint64_t start = align_down(s->gpa, PW_PAGE_SIZE);
		uint64_t end = align_up(s->gpa + s->mem_size, PW_PAGE_SIZE);
		unsigned flags = segment_flags(s);

		if (s->mem_size == 0)
			continue;
		if (start < p->cursor) {
			uint64_t page = p->cursor - PW_PAGE_SIZE;
			struct shared_page *last = p->nshared ? &p->shared[p->nshared - 1] : NULL;

			if (last && last->gpa == page)
				last->flags |= flags;
			else
				p->shared[p->nshared++] = (struct shared_page){
				    page, p->flags[p->l->nregions - 1] | flags};
		}
		if (!region_add(p, start, PW_REGION_RAM, RW) || !region_add(p, end, s->kind, flags))
			return false;
	}
	return true;
}

/* The user stack and its guard page. */
#define USER_STACK_SPAN (PW_USER_STACK_SIZE + PW_PAGE_SIZE)

/* Page-table frames the builder's own tables may take from the pool (it uses about 10). */
#define POOL_BUILDER_FRAMES 16

/* The largest heap whose 4 KiB pages the pool ending at pool_end can map (one table per 2 MiB
 * once the builder's are taken), at most PW_HEAP_MAX: all of it under ./vmm, about 126 MiB when
 * a PVH firmware keeps the top of low RAM. */
static uint64_t heap_max_for_pool(uint64_t pool_end)
{
	uint64_t frames = (pool_end - PW_PT_POOL_GPA) / PW_PAGE_SIZE;
	uint64_t max = frames > POOL_BUILDER_FRAMES ? (frames - POOL_BUILDER_FRAMES) * PW_HEAP_ALIGN
						    : 0;

	return max < PW_HEAP_MAX ? max : PW_HEAP_MAX;
}

/* Append free RAM, the user stack and its guard, the heap, the rest of RAM, the unbacked hole
 * and the high guard. The heap starts at the first 2 MiB boundary 20 KiB or more after the
 * image (the user stack and its guard end there) and ends at heap_max_for_pool() or RAM's end; it may
 * be smaller than 2 MiB in a small guest, but not empty (LAYOUT_ERANGE). */
static enum layout_err regions_high(struct plan *p, uint64_t ram)
{
	struct layout *l = p->l;
	bool ok;

	uint64_t heap_max = heap_max_for_pool(p->pool_end);

	l->heap_start = align_up(p->cursor + USER_STACK_SPAN, PW_HEAP_ALIGN);
	if (l->heap_start >= ram)
		return LAYOUT_ERANGE;
	l->heap_end = l->heap_start + heap_max < ram ? l->heap_start + heap_max : ram;
	/* pw_user_call's stack ends where the heap starts: user-accessible, not executable, with a
	 * guard page below. */
	ok = region_add(p, l->heap_start - USER_STACK_SPAN, PW_REGION_RAM, RW) &&
	     region_add(p, l->heap_start - PW_USER_STACK_SIZE, PW_REGION_STACK_GUARD, 0) &&
	     region_add(p, l->heap_start, PW_REGION_USER_STACK, RW | PT_USER) &&
	     region_add(p, l->heap_end, PW_REGION_HEAP, 0) &&
	     region_add(p, ram, PW_REGION_RAM, RW) &&
	     region_add(p, PW_HIGH_GUARD_GPA, PW_REGION_UNBACKED, RW) &&
	     region_add(p, PW_MAP_END, PW_REGION_HIGH_GUARD, 0);
	return ok ? LAYOUT_OK : LAYOUT_ERANGE;
}

/* Frame allocator over the pool: a bump pointer. Returns 0 when the pool is exhausted. */
static uint64_t pool_alloc(void *ctx)
{
	struct layout *l = ctx;
	uint64_t pa = l->pool_next;

	if (pa >= l->pool_end)
		return 0;
	l->pool_next += PW_PAGE_SIZE;
	return pa;
}

/* A bump allocator cannot take frames back; the build never frees any (it maps each range
 * once), and after boot the guest owns the rest of the pool. */
static void pool_free(void *ctx, uint64_t pa)
{
	(void)ctx;
	(void)pa;
}

/* The builder's pointer to the table frame at pa, through the caller's checked helper. */
static void *pool_phys_to_virt(void *ctx, uint64_t pa)
{
	struct layout *l = ctx;

	return l->to_virt(l, pa, PW_PAGE_SIZE);
}

/* Translate a paging error: running out of frames is the pool's fault, anything else ours. */
static enum layout_err pt_to_layout(enum pt_err err)
{
	if (err == PT_OK)
		return LAYOUT_OK;
	return err == PT_ENOMEM ? LAYOUT_ENOMEM : LAYOUT_EPAGING;
}

/* Map each region once, with the largest pages its alignment allows (so 4 KiB below 2 MiB,
 * where the regions are small, and 2 MiB / 1 GiB above), or write its guard entries. Then give
 * pages shared by two segments the union of their flags. */
static enum layout_err tables_map(struct plan *p)
{
	struct layout *l = p->l;
	struct pt_flush fl; /* nothing runs on these tables yet: no TLB to flush */
	enum pt_err err = PT_OK;

	pt_flush_init(&fl);
	for (unsigned i = 0; i < l->nregions && !err; i++) {
		const struct pw_region *r = &l->regions[i];

		if (p->flags[i])
			err = pt_map_region(&l->pt, r->start, r->start, r->size, p->flags[i],
					    PT_MAP_HUGE, &fl);
		else
			err = pt_set_guard(&l->pt, r->start, r->size, r->kind, &fl);
	}
	for (unsigned i = 0; i < p->nshared && !err; i++)
		err = pt_protect_region(&l->pt, p->shared[i].gpa, PW_PAGE_SIZE, p->shared[i].flags,
					0, &fl);
	return pt_to_layout(err);
}

/* Create the root in the pool and map everything. */
static enum layout_err tables_build(struct plan *p, const struct layout_opts *opts)
{
	struct layout *l = p->l;
	enum layout_err err;

	l->pool_next = PW_PT_POOL_GPA;
	l->pool_end = p->pool_end;
	l->handler = (struct pt_handler){.ctx = l,
					 .alloc_frame = pool_alloc,
					 .free_frame = pool_free,
					 .phys_to_virt = pool_phys_to_virt};
	err = pt_to_layout(
	    pt_init(&l->pt, &l->handler, opts->maxphyaddr, opts->has_1g ? PT_FEAT_1G : 0));
	return err ? err : tables_map(p);
}

/* strnlen(s, max), which clang has no builtin for. */
static size_t bounded_len(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

/* Zero the page at gpa and return the builder's pointer to it (NULL if outside RAM). */
static uint8_t *page_clear(const struct layout *l, uint64_t gpa)
{
	uint8_t *page = l->to_virt(l, gpa, PW_PAGE_SIZE);

	if (page)
		__builtin_memset(page, 0, PW_PAGE_SIZE);
	return page;
}

/* The per-CPU guard pages in a block, each a guard of kind stack-guard in the tables. */
static const uint64_t percpu_guards[] = {0, PW_PERCPU_DF_GUARD, PW_PERCPU_STACK_GUARD};

/* CPUs 1..ncpus-1: the guard pages inside their blocks (mapped RW with the per-cpu region) and
 * their GDT pages. */
static enum layout_err percpu_build(struct layout *l)
{
	struct pt_flush fl; /* nothing runs on these tables yet */
	enum pt_err err = PT_OK;

	pt_flush_init(&fl);
	for (unsigned cpu = 1; cpu < l->ncpus && !err; cpu++) {
		uint64_t base = layout_percpu_block(l, cpu);
		struct gdt_stacks st = {
		    .rsp0 = base + PW_PERCPU_STACK + PW_PERCPU_STACK_SIZE,
		    .ist_pf = base + PW_PERCPU_DF_GUARD,
		    .ist_df = base + PW_PERCPU_STACK_GUARD,
		};
		uint8_t *gdt = page_clear(l, base + PW_PERCPU_GDT);

		if (!gdt)
			return LAYOUT_ERANGE;
		gdt_write(gdt, base + PW_PERCPU_GDT, &st, cpu);
		for (size_t i = 0; i < sizeof(percpu_guards) / sizeof(percpu_guards[0]) && !err; i++)
			err = pt_set_guard(&l->pt, base + percpu_guards[i], PW_PAGE_SIZE,
					   PW_REGION_STACK_GUARD, &fl);
	}
	return pt_to_layout(err);
}

uint64_t layout_percpu_block(const struct layout *l, unsigned cpu)
{
	return cpu == 0 ? 0 : l->percpu_base + (uint64_t)(cpu - 1) * PW_PERCPU_SIZE;
}

uint64_t layout_cpu_gdt(const struct layout *l, unsigned cpu)
{
	return cpu == 0 ? PW_GDT_GPA : layout_percpu_block(l, cpu) + PW_PERCPU_GDT;
}

uint64_t layout_cpu_stack_top(const struct layout *l, unsigned cpu)
{
	return cpu == 0 ? PW_STACK_GPA + PW_STACK_SIZE
			: layout_percpu_block(l, cpu) + PW_PERCPU_STACK + PW_PERCPU_STACK_SIZE;
}

enum layout_err layout_build_segments(const struct guest_mem *mem, layout_to_virt_fn *to_virt,
				      uint64_t mem_size, const struct layout_segment *segs,
				      unsigned nsegs, uint64_t entry,
				      const struct layout_opts *opts, struct layout *out)
{
	struct plan p = {.l = out};
	enum layout_err err;
	uint8_t *gdt, *bi;

	__builtin_memset(out, 0, sizeof(*out));
	out->mem = mem;
	out->to_virt = to_virt;
	out->mem_size = mem_size;
	out->ncpus = opts->ncpus ? opts->ncpus : 1;
	if (out->ncpus > PW_MAX_CPUS)
		return LAYOUT_ERANGE;
	if (opts->cmdline && bounded_len(opts->cmdline, PW_CMDLINE_MAX) >= PW_CMDLINE_MAX)
		return LAYOUT_ECMDLINE;
	if (mem_size < PW_MEM_MIN || mem_size > PW_MEM_MAX || mem_size % PW_PAGE_SIZE)
		return LAYOUT_ERANGE;
	err = image_check(segs, nsegs, mem_size);
	if (err)
		return err;
	if (!regions_fixed(&p, opts) || !regions_image(&p, segs, nsegs))
		return LAYOUT_ERANGE;
	if (out->ncpus > 1) {
		out->percpu_base = align_up(p.cursor, PW_PAGE_SIZE);
		if (!region_add(&p, out->percpu_base, PW_REGION_RAM, RW) ||
		    !region_add(&p, out->percpu_base + (out->ncpus - 1) * PW_PERCPU_SIZE,
				PW_REGION_PERCPU, RW))
			return LAYOUT_ERANGE;
	}
	err = regions_high(&p, mem_size);
	if (err)
		return err;
	err = tables_build(&p, opts);
	if (err)
		return err;
	gdt = page_clear(out, PW_GDT_GPA);
	bi = page_clear(out, PW_BOOT_INFO_GPA);
	if (!gdt || !bi)
		return LAYOUT_ERANGE; /* unreachable: RAM is at least PW_MEM_MIN */
	gdt_write(gdt, PW_GDT_GPA, &gdt_boot_stacks, 0);
	err = percpu_build(out);
	if (err)
		return err;
	out->entry = entry;
	out->stack_top = PW_STACK_GPA + PW_STACK_SIZE;
	out->boot_info = PW_BOOT_INFO_GPA;
	bootinfo_write((struct pw_boot_info *)bi, out, opts);
	return LAYOUT_OK;
}

const struct pw_region *layout_region_at(const struct layout *l, uint64_t gpa)
{
	unsigned lo = 0, hi = l->nregions;

	/* Binary search for the last region starting at or below gpa. */
	while (hi - lo > 1) {
		unsigned mid = lo + (hi - lo) / 2;

		if (l->regions[mid].start <= gpa)
			lo = mid;
		else
			hi = mid;
	}
	if (lo < l->nregions && gpa >= l->regions[lo].start &&
	    gpa - l->regions[lo].start < l->regions[lo].size)
		return &l->regions[lo];
	return NULL;
}

const char *layout_guard_name(unsigned kind)
{
	/* Guard kinds are region kinds, so the guard in the heap says "heap". */
	return pw_region_kind_name(kind);
}
