/* The table structure: frames, the one walker, init/attach/destroy, creating translations (map,
 * map_region, remap), reading them (query, trace, walk) and changing their page size (split,
 * merge). Changes that remove or restrict translations are in region.c, on top of pt_lookup.
 *
 * Ordering rule for live tables (the guest edits its own): a table is filled completely before
 * the entry that links it is written (pte_write), because the CPU may walk it at any time.
 */
#include "paging.h"

/* Pointer to the table held in frame pa. */
static pte_t *table_at(const struct pt *pt, uint64_t pa)
{
	return pt->h->phys_to_virt(pt->h->ctx, pa);
}

/* Write v into entries [from, to) of a table no CPU walks yet. The empty asm makes v opaque
 * each time round, so the compiler cannot turn the loop into a memset call: the freestanding
 * build links no libc. */
static void table_fill(pte_t *t, unsigned from, unsigned to, pte_t v)
{
	for (unsigned i = from; i < to; i++) {
		__asm__ volatile("" : "+r"(v));
		t[i] = v;
	}
}

/* Write count 4 KiB leaves first, first + 4 KiB, ... at t, in a table no CPU walks yet. This
 * loop is the whole cost of mapping large ranges with 4 KiB pages, so it stores eight entries
 * per round from four independent pairs (GCC/clang vector types: SSE stores on a host build,
 * plain 64-bit stores under -mgeneral-regs-only); it runs close to memset of the same bytes.
 * Wider vectors get spilled to the stack without AVX and run at a quarter of the speed. Kept
 * out of line on a 64-byte boundary: where the loop falls relative to the fetch blocks changed
 * its speed by half from one binary to the next. */
__attribute__((noinline, aligned(64))) static void fill_pages(pte_t *t, unsigned count, pte_t first)
{
	typedef uint64_t pte_x2 __attribute__((vector_size(16), aligned(8)));
	const uint64_t pair = 2 * PT_SIZE_4K;
	pte_x2 a = {first, first + PT_SIZE_4K};
	pte_x2 b = a + pair, c = a + 2 * pair, d = a + 3 * pair;
	unsigned i = 0;

	for (; i + 8 <= count; i += 8) {
		*(pte_x2 *)(t + i) = a;
		*(pte_x2 *)(t + i + 2) = b;
		*(pte_x2 *)(t + i + 4) = c;
		*(pte_x2 *)(t + i + 6) = d;
		a += 4 * pair;
		b += 4 * pair;
		c += 4 * pair;
		d += 4 * pair;
	}
	for (; i < count; i++)
		t[i] = first + (uint64_t)i * PT_SIZE_4K;
}

/* Take a frame for a new table from the handler; its contents are still undefined. PA 0 is
 * the handler's "none" (and a table there would look like "no table" to walkers). */
static enum pt_err frame_alloc(const struct pt *pt, uint64_t *pa, pte_t **t)
{
	uint64_t f = pt->h->alloc_frame(pt->h->ctx);

	if (f == 0)
		return PT_ENOMEM;
	*pa = f;
	*t = table_at(pt, f);
	return PT_OK;
}

/* True if pa..pa+len-1 lies below 2^maxphyaddr. */
static bool pa_fits(const struct pt *pt, uint64_t pa, uint64_t len)
{
	unsigned bits = pt->maxphyaddr ? pt->maxphyaddr : PT_PA_BITS_MAX;
	uint64_t limit = 1ull << bits;

	return len <= limit && pa <= limit - len;
}

/* True if pte, a present leaf at level, has its PAT bit set (bit 7 in a PTE, 12 when huge). */
static bool leaf_pat(pte_t pte, int level)
{
	return (pte & (level == 1 ? PTE_PAT_4K : PTE_PAT_HUGE)) != 0;
}

/* Entry i of the 512 that replace huge leaf at level: the same translation for its part, every
 * attribute bit kept (A, D, G, NX, software bits), PAT moved to where level - 1 keeps it. */
static pte_t huge_child(pte_t huge, int level, unsigned i)
{
	int cl = level - 1;
	pte_t c = huge & ~(pte_addr_mask(level) | PTE_PS | PTE_PAT_HUGE);

	c |= pte_addr(huge, level) + (uint64_t)i * pt_level_size(cl);
	if (cl == 1)
		return c | (leaf_pat(huge, level) ? PTE_PAT_4K : 0);
	return c | PTE_PS | (leaf_pat(huge, level) ? PTE_PAT_HUGE : 0);
}

/* Replace the entry at slot (level >= 2: a huge leaf, a guard or a hole) by a new table one
 * level down that means the same: the huge page in 512 parts, 512 guards of the same kind, or
 * nothing. Nothing is owed for a guard or a hole (not-present entries are never cached). */
static enum pt_err expand(const struct pt *pt, pte_t *slot, int level)
{
	pte_t old = *slot;
	uint64_t pa;
	pte_t *t;
	enum pt_err err = frame_alloc(pt, &pa, &t);

	if (err)
		return err;
	if (pte_leaf(old, level)) {
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			t[i] = huge_child(old, level, i);
	} else {
		table_fill(t, 0, PT_ENTRIES,
			   pte_is_guard(old) ? pte_new_guard(pte_guard_kind(old)) : 0);
	}
	pte_write(slot, pte_new_table(pa));
	return PT_OK;
}

/* The entries one lookup passed: slot[l] and table_pa[l] for each level l it reached. */
struct walk {
	pte_t *slot[PT_LEVELS + 1];
	uint64_t table_pa[PT_LEVELS + 1];
	int level; /* level of the last entry reached */
};

/* The walker: descend from the root towards va, stopping at stop or at the first leaf or
 * not-present entry above it. With alloc, not-present entries above stop are expanded into
 * tables (guards split into smaller guards) and a huge leaf on the way is PT_EHUGE. */
static enum pt_err walk(const struct pt *pt, uint64_t va, int stop, bool alloc, struct walk *w)
{
	uint64_t table = pt->root;

	for (int level = PT_LEVELS;; level--) {
		pte_t *e = &table_at(pt, table)[pt_level_index(va, level)];

		w->slot[level] = e;
		w->table_pa[level] = table;
		w->level = level;
		if (level == stop)
			return PT_OK;
		if (pte_leaf(*e, level))
			return alloc ? PT_EHUGE : PT_OK;
		if (!pte_present(*e)) {
			if (!alloc)
				return PT_OK;
			enum pt_err err = expand(pt, e, level);
			if (err)
				return err;
		}
		table = pte_addr(*e, level);
	}
}

enum pt_err pt_lookup(const struct pt *pt, uint64_t va, int stop_level, bool alloc, pte_t **entry,
		      int *level)
{
	struct walk w;
	enum pt_err err;

	if (stop_level < 1 || stop_level > PT_LEVELS)
		return PT_EFLAGS;
	if (!pt_canonical(va))
		return PT_EADDR;
	err = walk(pt, va, stop_level, alloc, &w);
	if (err)
		return err;
	*entry = w.slot[w.level];
	*level = w.level;
	return PT_OK;
}

enum pt_err pt_trace(const struct pt *pt, uint64_t va, struct pt_trace *trace)
{
	struct walk w;
	pte_t last;

	if (!pt_canonical(va))
		return PT_EADDR;
	walk(pt, va, 1, false, &w);
	trace->depth = PT_LEVELS - w.level + 1;
	for (int i = 0; i < PT_LEVELS; i++) {
		int level = PT_LEVELS - i;

		trace->entry[i] = i < trace->depth ? *w.slot[level] : 0;
		trace->table_pa[i] = i < trace->depth ? w.table_pa[level] : 0;
	}
	last = *w.slot[w.level];
	trace->mapped = pte_leaf(last, w.level);
	trace->pa = 0;
	if (trace->mapped)
		trace->pa = pte_addr(last, w.level) + (va & (pt_level_size(w.level) - 1));
	return PT_OK;
}

/* Check maxphyaddr (0 selects 52) and fill in everything of pt but the root. */
static enum pt_err pt_setup(struct pt *pt, const struct pt_handler *h, unsigned maxphyaddr,
			    unsigned features)
{
	if (maxphyaddr == 0)
		maxphyaddr = PT_PA_BITS_MAX;
	if (maxphyaddr < 32 || maxphyaddr > PT_PA_BITS_MAX)
		return PT_EFLAGS;
	pt->h = h;
	pt->maxphyaddr = maxphyaddr;
	pt->features = features;
	pt->root = 0;
	return PT_OK;
}

enum pt_err pt_init(struct pt *pt, const struct pt_handler *h, unsigned maxphyaddr,
		    unsigned features)
{
	enum pt_err err = pt_setup(pt, h, maxphyaddr, features);
	uint64_t pa;
	pte_t *t;

	if (err)
		return err;
	err = frame_alloc(pt, &pa, &t);
	if (err)
		return err;
	table_fill(t, 0, PT_ENTRIES, 0);
	pt->root = pa;
	return PT_OK;
}

enum pt_err pt_attach(struct pt *pt, const struct pt_handler *h, uint64_t root, unsigned maxphyaddr,
		      unsigned features)
{
	enum pt_err err = pt_setup(pt, h, maxphyaddr, features);

	if (err)
		return err;
	if (root == 0 || (root & (PT_SIZE_4K - 1)))
		return PT_EALIGN;
	pt->root = root;
	return PT_OK;
}

/* Free the table at pa (level) and every table below it, children first. */
static void free_tree(const struct pt *pt, uint64_t pa, int level)
{
	if (level > 1) {
		pte_t *t = table_at(pt, pa);

		for (unsigned i = 0; i < PT_ENTRIES; i++)
			if (pte_present(t[i]) && !pte_leaf(t[i], level))
				free_tree(pt, pte_addr(t[i], level), level - 1);
	}
	pt->h->free_frame(pt->h->ctx, pa);
}

void pt_destroy(struct pt *pt)
{
	if (pt->root)
		free_tree(pt, pt->root, PT_LEVELS);
	pt->root = 0;
}

/* Level whose leaves have size bytes, or 0 if size is no page size. */
static int size_level(uint64_t size)
{
	for (int level = 1; level <= 3; level++)
		if (pt_level_size(level) == size)
			return level;
	return 0;
}

/* Write a leaf for va -> pa at level, creating tables above it. *table_there tells a PT_EEXIST
 * caused by a table (map_region then uses smaller pages inside it) from one caused by a leaf. */
static enum pt_err map_leaf(struct pt *pt, uint64_t va, uint64_t pa, int level, unsigned flags,
			    bool *table_there)
{
	struct walk w;
	enum pt_err err = walk(pt, va, level, true, &w);
	pte_t *e;

	*table_there = false;
	if (err == PT_EHUGE)
		return PT_EEXIST;
	if (err)
		return err;
	e = w.slot[level];
	if (pte_present(*e)) {
		*table_there = !pte_leaf(*e, level);
		return PT_EEXIST;
	}
	/* Not present before (hole or guard): nothing cached, nothing owed. */
	pte_write(e, pte_new_page(pa, flags, level));
	return PT_OK;
}

enum pt_err pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned flags,
		   struct pt_flush *fl)
{
	int level = size_level(size);
	bool table_there;

	(void)fl; /* mapping over not-present entries owes nothing */
	if (!level || flags == 0 || !pt_flags_valid(flags))
		return PT_EFLAGS;
	if (level == 3 && !(pt->features & PT_FEAT_1G))
		return PT_EFLAGS;
	if (!pt_range_canonical(va, size) || !pa_fits(pt, pa, size))
		return PT_EADDR;
	if ((va | pa) & (size - 1))
		return PT_EALIGN;
	return map_leaf(pt, va, pa, level, flags, &table_there);
}

/* Largest leaf level whose size va and pa are both aligned to and len holds. */
static int largest_level(const struct pt *pt, uint64_t va, uint64_t pa, uint64_t len)
{
	int top = (pt->features & PT_FEAT_1G) ? 3 : 2;

	for (int level = top; level > 1; level--) {
		uint64_t size = pt_level_size(level);

		if (!((va | pa) & (size - 1)) && len >= size)
			return level;
	}
	return 1;
}

/* Map n 4 KiB pages at entries [first, first + n) of the live table t, refusing at the first
 * present entry (the ones before it stay mapped). */
static enum pt_err fill_live(pte_t *t, unsigned first, unsigned n, uint64_t pa, pte_t bits)
{
	for (unsigned i = 0; i < n; i++) {
		if (pte_present(t[first + i]))
			return PT_EEXIST;
		pte_write(&t[first + i], bits | (pa + ((uint64_t)i << 12)));
	}
	return PT_OK;
}

/* Map n 4 KiB pages at entries [first, first + n) of a new table that replaces the
 * not-present entry at pde: the other entries repeat what pde meant (guard or nothing). Every
 * entry is written exactly once, so the table is never zeroed first: this is the fast path of
 * large 4 KiB mappings. */
static enum pt_err fill_new(struct pt *pt, pte_t *pde, unsigned first, unsigned n, uint64_t pa,
			    pte_t bits)
{
	pte_t rest = pte_is_guard(*pde) ? pte_new_guard(pte_guard_kind(*pde)) : 0;
	uint64_t tpa;
	pte_t *t;
	enum pt_err err = frame_alloc(pt, &tpa, &t);

	if (err)
		return err;
	table_fill(t, 0, first, rest);
	fill_pages(t + first, n, bits | pa); /* pa is 4K aligned: | and + agree */
	table_fill(t, first + n, PT_ENTRIES, rest);
	pte_write(pde, pte_new_table(tpa));
	return PT_OK;
}

/* Map n 4 KiB pages at entries [first, first + n) of the page table that the PD entry pde
 * points to or, if pde is not present, of a new one. */
static enum pt_err map_in_pt(struct pt *pt, pte_t *pde, unsigned first, unsigned n, uint64_t pa,
			     pte_t bits)
{
	if (pte_leaf(*pde, 2))
		return PT_EEXIST;
	if (pte_present(*pde))
		return fill_live(table_at(pt, pte_addr(*pde, 2)), first, n, pa, bits);
	return fill_new(pt, pde, first, n, pa, bits);
}

/* True if a 4 KiB run that reached va (2 MiB aligned, pa alongside, len left) should go on
 * in the next page table of the same PD: not at the PD's end, and no 2 MiB page fits here. */
static bool run_goes_on(const struct pt *pt, uint64_t va, uint64_t pa, uint64_t len, unsigned opts)
{
	if (len == 0 || pt_level_index(va, 2) == 0)
		return false;
	return !(opts & PT_MAP_HUGE) || largest_level(pt, va, pa, len) == 1;
}

/* Map 4 KiB pages from va through the page tables of one PD after a single walk: up to the end
 * of the PD, of len, or (with PT_MAP_HUGE) to where a 2 MiB page fits. *step is how far it got. */
static enum pt_err map_run(struct pt *pt, uint64_t va, uint64_t pa, uint64_t len, unsigned flags,
			   unsigned opts, uint64_t *step)
{
	pte_t bits = pte_new_page(0, flags, 1);
	uint64_t done = 0;
	struct walk w;
	enum pt_err err = walk(pt, va, 2, true, &w);
	pte_t *pde;

	if (err == PT_EHUGE)
		return PT_EEXIST;
	if (err)
		return err;
	pde = w.slot[2];
	do {
		unsigned first = pt_level_index(va + done, 1);
		uint64_t pages = (len - done) >> 12;
		unsigned n = pages < PT_ENTRIES - first ? (unsigned)pages : PT_ENTRIES - first;

		err = map_in_pt(pt, pde++, first, n, pa + done, bits);
		if (err)
			return err;
		done += (uint64_t)n << 12;
	} while (run_goes_on(pt, va + done, pa + done, len - done, opts));
	*step = done;
	return PT_OK;
}

/* Map the next piece of a region at va: the largest allowed leaf, or smaller ones inside a
 * table that already exists there; *step is how far it got. */
static enum pt_err map_step(struct pt *pt, uint64_t va, uint64_t pa, uint64_t len, unsigned flags,
			    unsigned opts, uint64_t *step)
{
	int level = (opts & PT_MAP_HUGE) ? largest_level(pt, va, pa, len) : 1;

	for (; level > 1; level--) {
		bool table_there;
		enum pt_err err = map_leaf(pt, va, pa, level, flags, &table_there);

		if (err == PT_OK) {
			*step = pt_level_size(level);
			return PT_OK;
		}
		if (!table_there)
			return err;
	}
	return map_run(pt, va, pa, len, flags, opts, step);
}

enum pt_err pt_map_region(struct pt *pt, uint64_t va, uint64_t pa, uint64_t len, unsigned flags,
			  unsigned opts, struct pt_flush *fl)
{
	(void)fl; /* mapping over not-present entries owes nothing */
	if (flags == 0 || !pt_flags_valid(flags))
		return PT_EFLAGS;
	if (!pt_range_canonical(va, len) || !pa_fits(pt, pa, len))
		return PT_EADDR;
	if ((va | pa | len) & (PT_SIZE_4K - 1))
		return PT_EALIGN;
	while (len) {
		uint64_t step;
		enum pt_err err = map_step(pt, va, pa, len, flags, opts, &step);

		if (err)
			return err;
		va += step;
		pa += step;
		len -= step;
	}
	return PT_OK;
}

/* Walk to the leaf that maps va; PT_ENOTMAPPED if there is none. */
static enum pt_err find_leaf(const struct pt *pt, uint64_t va, struct walk *w)
{
	if (!pt_canonical(va))
		return PT_EADDR;
	walk(pt, va, 1, false, w);
	return pte_leaf(*w->slot[w->level], w->level) ? PT_OK : PT_ENOTMAPPED;
}

enum pt_err pt_query(const struct pt *pt, uint64_t va, uint64_t *pa, unsigned *flags,
		     uint64_t *size)
{
	struct walk w;
	enum pt_err err = find_leaf(pt, va, &w);
	pte_t leaf;
	unsigned f;
	uint64_t sz;

	if (err)
		return err;
	leaf = *w.slot[w.level];
	f = pte_flags(leaf, w.level);
	/* The CPU ANDs R/W and U/S over every level and ORs NX. */
	for (int level = w.level + 1; level <= PT_LEVELS; level++) {
		pte_t e = *w.slot[level];

		if (!(e & PTE_W))
			f &= ~PT_WRITE;
		if (!(e & PTE_U))
			f &= ~PT_USER;
		if (e & PTE_NX)
			f &= ~PT_EXECUTE;
	}
	sz = pt_level_size(w.level);
	if (pa)
		*pa = pte_addr(leaf, w.level) + (va & (sz - 1));
	if (flags)
		*flags = f;
	if (size)
		*size = sz;
	return PT_OK;
}

enum pt_err pt_remap(struct pt *pt, uint64_t va, uint64_t pa, unsigned flags, struct pt_flush *fl)
{
	struct walk w;
	enum pt_err err;
	uint64_t size;
	pte_t *e, v;

	if (flags == 0 || !pt_flags_valid(flags))
		return PT_EFLAGS;
	err = find_leaf(pt, va, &w);
	if (err)
		return err;
	e = w.slot[w.level];
	size = pt_level_size(w.level);
	if (!pa_fits(pt, pa, size))
		return PT_EADDR;
	if (pa & (size - 1))
		return PT_EALIGN;
	v = pte_set_addr(pte_set_flags(*e, flags, w.level), pa, w.level);
	if (v != *e) {
		pte_write(e, v);
		pt_flush_add(fl, va);
	}
	return PT_OK;
}

enum pt_err pt_split(struct pt *pt, uint64_t va, struct pt_flush *fl)
{
	struct walk w;
	pte_t *e;
	enum pt_err err;

	if (!pt_canonical(va))
		return PT_EADDR;
	walk(pt, va, 1, false, &w);
	e = w.slot[w.level];
	if (!pte_present(*e))
		return PT_ENOTMAPPED;
	if (w.level == 1)
		return PT_EEXIST;
	err = expand(pt, e, w.level);
	if (err)
		return err;
	/* Every translation is unchanged, but the TLB may now hold the old huge entry beside new
	 * small ones for one address, which some CPUs mishandle (AMD family 10h erratum 383):
	 * one invlpg anywhere in the huge page drops it. */
	pt_flush_add(fl, va);
	return PT_OK;
}

/* If the 512 entries of t (a table at level) are present leaves with one flag set and PAT bit
 * and contiguous PAs aligned to the size of level + 1, set *big to the leaf that replaces them. */
static bool merged_leaf(const pte_t *t, int level, pte_t *big)
{
	uint64_t size = pt_level_size(level);
	uint64_t base = pte_addr(t[0], level);
	unsigned flags = pte_flags(t[0], level);
	bool pat = leaf_pat(t[0], level);

	if (base & (pt_level_size(level + 1) - 1))
		return false;
	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		pte_t e = t[i];

		if (!pte_leaf(e, level) || pte_flags(e, level) != flags ||
		    leaf_pat(e, level) != pat || pte_addr(e, level) != base + i * size)
			return false;
	}
	*big = pte_new_page(base, flags, level + 1) | (pat ? PTE_PAT_HUGE : 0);
	return true;
}

enum pt_err pt_merge(struct pt *pt, uint64_t va, int level, struct pt_flush *fl)
{
	struct walk w;
	pte_t *pe, big;
	uint64_t tpa;

	if (level != 1 && level != 2)
		return PT_EFLAGS;
	if (level == 2 && !(pt->features & PT_FEAT_1G))
		return PT_EFLAGS;
	if (!pt_canonical(va))
		return PT_EADDR;
	walk(pt, va, level + 1, false, &w);
	pe = w.slot[w.level];
	if (w.level != level + 1 || !pte_present(*pe) || pte_leaf(*pe, w.level))
		return PT_ENOTMAPPED;
	tpa = pte_addr(*pe, w.level);
	if (!merged_leaf(table_at(pt, tpa), level, &big))
		return PT_EEXIST;
	pte_write(pe, big);
	pt->h->free_frame(pt->h->ctx, tpa);
	/* The TLB may hold the old small pages and the paging-structure caches the entry that
	 * pointed to the freed table: only a full flush clears both. */
	pt_flush_add_all(fl);
	return PT_OK;
}

/* Visit leaves and guards of the table at pa (level) whose first entry maps base, in VA order. */
static int visit(const struct pt *pt, uint64_t pa, int level, uint64_t base, pt_walk_fn fn,
		 void *arg)
{
	pte_t *t = table_at(pt, pa);

	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		uint64_t va = pt_sign_extend(base + (uint64_t)i * pt_level_span(level));
		pte_t e = t[i];
		int r = 0;

		if (pte_leaf(e, level) || pte_is_guard(e))
			r = fn(arg, level, va, &t[i]);
		else if (pte_present(e))
			r = visit(pt, pte_addr(e, level), level - 1, va, fn, arg);
		if (r)
			return r;
	}
	return 0;
}

int pt_walk(const struct pt *pt, pt_walk_fn fn, void *arg)
{
	if (!pt->root)
		return 0;
	return visit(pt, pt->root, PT_LEVELS, 0, fn, arg);
}
