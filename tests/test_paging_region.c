/* The region calls: map_region's page-size choice, unmap_region and protect_region splitting
 * huge pages at partly covered edges with every other byte still mapped the same, set_guard's
 * sizes, PT_MAP_NO_SPLIT and PT_FREE_TABLES, their errors and their TLB reports. */
#include <criterion/criterion.h>

#include "paging.h"
#include "paging_arena.h"

#define RW  (PT_READ | PT_WRITE)
#define RX  (PT_READ | PT_EXECUTE)
#define RWU (PT_READ | PT_WRITE | PT_USER)
#define G1  PT_SIZE_1G
#define M2  PT_SIZE_2M
#define K4  PT_SIZE_4K

static struct arena a;
static struct pt pt;

/* Size of the leaf mapping va (0 if none). */
static uint64_t leaf_size(uint64_t va)
{
	uint64_t size = 0;

	pt_query(&pt, va, NULL, NULL, &size);
	return size;
}

/* True if the record f makes the CPU forget any translation of the page at va that was
 * size bytes large before the change: a full flush, or an invlpg inside that page. */
static bool flush_covers(const struct pt_flush *f, uint64_t va, uint64_t size)
{
	uint64_t base = va & ~(size - 1);

	if (f->kind == PT_FLUSH_ALL)
		return true;
	for (unsigned i = 0; f->kind == PT_FLUSH_PAGES && i < f->count; i++)
		if (f->va[i] - base < size)
			return true;
	return false;
}

Test(paging_region, map_region_picks_the_largest_page_that_fits)
{
	uint64_t va = G1 - 2 * K4, len = 2 * K4 + G1 + M2 + 3 * K4;

	paging_fixture(&a, &pt, 64, PT_FEAT_1G);
	cr_assert_eq(pt_map_region(&pt, va, va + 4 * G1, len, RW, PT_MAP_HUGE, NULL), PT_OK);
	expect_mapped(&pt, va, 2 * K4, va + 4 * G1, RW, K4);
	expect_mapped(&pt, G1, 4 * K4, 5 * G1, RW, G1);
	expect_mapped(&pt, 2 * G1 - K4, K4, 6 * G1 - K4, RW, G1);
	expect_mapped(&pt, 2 * G1, M2, 6 * G1, RW, M2);
	expect_mapped(&pt, 2 * G1 + M2, 3 * K4, 6 * G1 + M2, RW, K4);
	expect_unmapped(&pt, va - K4, K4);
	expect_unmapped(&pt, va + len, K4);
	/* Root, PDPT, PD + PT for the first two pages, PD + PT after the 1G page. */
	cr_assert_eq(arena_live(&a), 6);
	paging_fixture_end(&a, &pt);
}

Test(paging_region, map_region_sizes_depend_on_alignment_and_feature)
{
	paging_fixture(&a, &pt, 4096, 0);
	/* No 1G feature: 2M pages only. */
	cr_assert_eq(pt_map_region(&pt, 0, 0, 2 * G1, RW, PT_MAP_HUGE, NULL), PT_OK);
	cr_assert_eq(leaf_size(0), M2);
	cr_assert_eq(leaf_size(2 * G1 - 1), M2);
	/* va and pa not co-aligned to 2M: 4K pages. */
	cr_assert_eq(pt_map_region(&pt, 4 * G1, 8 * G1 + K4, 4 * M2, RW, PT_MAP_HUGE, NULL), PT_OK);
	for (uint64_t off = 0; off < 4 * M2; off += 0x10000)
		cr_assert_eq(leaf_size(4 * G1 + off), K4);
	expect_mapped(&pt, 4 * G1, 4 * M2, 8 * G1 + K4, RW, K4);
	/* Without PT_MAP_HUGE: 4K pages even where 1G would fit. */
	pt.features = PT_FEAT_1G;
	cr_assert_eq(pt_map_region(&pt, 8 * G1, 0, G1, RX, 0, NULL), PT_OK);
	expect_mapped(&pt, 8 * G1, G1, 0, RX, K4);
	cr_assert_eq(pt_map_region(&pt, 9 * G1, 0, G1, RX, PT_MAP_HUGE, NULL), PT_OK);
	cr_assert_eq(leaf_size(9 * G1), G1);
	paging_fixture_end(&a, &pt);
}

Test(paging_region, map_region_4k_tables_cost_what_they_must)
{
	paging_fixture(&a, &pt, 4096, 0);
	cr_assert_eq(pt_map_region(&pt, 0, 0, 4 * G1, RW, 0, NULL), PT_OK);
	/* 2048 PTs + 4 PDs + 1 PDPT + the root. */
	cr_assert_eq(arena_live(&a), 2048 + 4 + 1 + 1);
	expect_mapped(&pt, 0, 64 * K4, 0, RW, K4);
	expect_mapped(&pt, 4 * G1 - 64 * K4, 64 * K4, 4 * G1 - 64 * K4, RW, K4);
	for (uint64_t va = 0; va < 4 * G1; va += 0x1f000)
		expect_mapped(&pt, va, K4, va, RW, K4);
	paging_fixture_end(&a, &pt);
}

Test(paging_region, map_region_descends_into_existing_tables)
{
	paging_fixture(&a, &pt, 64, PT_FEAT_1G);
	/* A left-over empty page table at [2M, 4M) and a PD at [1G, 2G). */
	cr_assert_eq(pt_map(&pt, M2, 0, K4, RW, NULL), PT_OK);
	cr_assert_eq(pt_unmap(&pt, M2, NULL, NULL, NULL, 0, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, G1 + 5 * M2, 0, M2, RW, NULL), PT_OK);
	cr_assert_eq(pt_unmap(&pt, G1 + 5 * M2, NULL, NULL, NULL, 0, NULL), PT_OK);
	cr_assert_eq(pt_map_region(&pt, 0, 0, 2 * G1, RW, PT_MAP_HUGE, NULL), PT_OK);
	cr_assert_eq(leaf_size(0), M2);
	cr_assert_eq(leaf_size(M2), K4, "inside the existing page table");
	cr_assert_eq(leaf_size(2 * M2), M2);
	cr_assert_eq(leaf_size(G1), M2, "inside the existing PD");
	expect_mapped(&pt, 0, 2 * G1, 0, RW, 0);
	paging_fixture_end(&a, &pt);
}

Test(paging_region, map_region_overlap_keeps_what_it_mapped)
{
	paging_fixture(&a, &pt, 64, 0);
	cr_assert_eq(pt_map(&pt, 0x10000, 0x10000, K4, RX, NULL), PT_OK);
	cr_assert_eq(pt_map_region(&pt, 0x8000, 0x100000, 0x10000, RW, 0, NULL), PT_EEXIST);
	expect_mapped(&pt, 0x8000, 0x8000, 0x100000, RW, K4);
	expect_mapped(&pt, 0x10000, K4, 0x10000, RX, K4);
	expect_unmapped(&pt, 0x11000, 0x7000);
	/* Over a huge leaf: refused at the first page inside it. */
	cr_assert_eq(pt_map(&pt, 0x400000, 0x400000, M2, RX, NULL), PT_OK);
	cr_assert_eq(pt_map_region(&pt, 0x3fe000, 0, 0x4000, RW, PT_MAP_HUGE, NULL), PT_EEXIST);
	expect_mapped(&pt, 0x3fe000, 0x2000, 0, RW, K4);
	expect_mapped(&pt, 0x400000, M2, 0x400000, RX, M2);
	paging_fixture_end(&a, &pt);
}

Test(paging_region, map_region_errors)
{
	paging_fixture(&a, &pt, 64, 0);
	cr_assert_eq(pt_map_region(&pt, 0, 0, K4, 0, 0, NULL), PT_EFLAGS);
	cr_assert_eq(pt_map_region(&pt, 0, 0, K4, PT_USER, 0, NULL), PT_EFLAGS);
	cr_assert_eq(pt_map_region(&pt, 0x0000800000000000ull, 0, K4, RW, 0, NULL), PT_EADDR);
	cr_assert_eq(pt_map_region(&pt, 0x00007ffffffff000ull, 0, 2 * K4, RW, 0, NULL), PT_EADDR,
		     "runs into the hole");
	cr_assert_eq(pt_map_region(&pt, 0x00007ffffffff000ull, 0,
				   0xffff800000001000ull - 0x00007ffffffff000ull, RW, 0, NULL),
		     PT_EADDR, "jumps the hole");
	cr_assert_eq(pt_map_region(&pt, 0xfffffffffffff000ull, 0, 2 * K4, RW, 0, NULL), PT_EADDR,
		     "wraps");
	cr_assert_eq(pt_map_region(&pt, 0, (1ull << 52) - K4, 2 * K4, RW, 0, NULL), PT_EADDR);
	cr_assert_eq(pt_map_region(&pt, 0, ~0ull & ~(K4 - 1), 2 * K4, RW, 0, NULL), PT_EADDR);
	cr_assert_eq(pt_map_region(&pt, 0x800, 0, K4, RW, 0, NULL), PT_EALIGN);
	cr_assert_eq(pt_map_region(&pt, 0, 0x800, K4, RW, 0, NULL), PT_EALIGN);
	cr_assert_eq(pt_map_region(&pt, 0, 0, 0x800, RW, 0, NULL), PT_EALIGN);
	cr_assert_eq(arena_live(&a), 1, "refused calls allocate nothing");
	cr_assert_eq(pt_map_region(&pt, 0, 0, 0, RW, 0, NULL), PT_OK, "empty range");
	cr_assert_eq(pt_map_region(&pt, 0xfffffffffffff000ull, 0, K4, RW, 0, NULL), PT_OK,
		     "the last page");
	expect_mapped(&pt, 0xfffffffffffff000ull, K4, 0, RW, K4);
	/* Out of frames half way: what was mapped stays mapped. */
	a.fail_after = a.allocs + 3;
	cr_assert_eq(pt_map_region(&pt, 0x1ff000, 0, 2 * K4, RW, 0, NULL), PT_ENOMEM);
	expect_mapped(&pt, 0x1ff000, K4, 0, RW, K4);
	expect_unmapped(&pt, 0x200000, K4);
	a.fail_after = SIZE_MAX;
	paging_fixture_end(&a, &pt);
}

Test(paging_region, unmap_region_splits_2m_keeping_the_rest)
{
	struct pt_flush f;

	paging_fixture(&a, &pt, 64, 0);
	cr_assert_eq(pt_map_region(&pt, 0x600000, 0x1e00000, 2 * M2, RWU, PT_MAP_HUGE, NULL),
		     PT_OK);
	pt_flush_init(&f);
	cr_assert_eq(pt_unmap_region(&pt, 0x700000, 0x3000, 0, &f), PT_OK);
	expect_mapped(&pt, 0x600000, 0x100000, 0x1e00000, RWU, K4);
	expect_unmapped(&pt, 0x700000, 0x3000);
	expect_mapped(&pt, 0x703000, M2 - 0x103000, 0x1f03000, RWU, K4);
	expect_mapped(&pt, 0x800000, M2, 0x2000000, RWU, M2);
	cr_assert(flush_covers(&f, 0x700000, M2));
	cr_assert(flush_covers(&f, 0x702000, M2));
	/* Across the boundary of the two 2M pages: both ends split. */
	cr_assert_eq(pt_unmap_region(&pt, 0x7ff000, 0x2000, 0, &f), PT_OK);
	expect_unmapped(&pt, 0x7ff000, 0x2000);
	expect_mapped(&pt, 0x801000, M2 - K4, 0x2001000, RWU, K4);
	paging_fixture_end(&a, &pt);
}

Test(paging_region, unmap_region_splits_1g_down_to_4k)
{
	struct pt_flush f;
	uint64_t hole = G1 + 77 * M2 + 5 * K4;

	paging_fixture(&a, &pt, 64, PT_FEAT_1G);
	cr_assert_eq(pt_map(&pt, G1, 3 * G1, G1, RW, NULL), PT_OK);
	pt_flush_init(&f);
	cr_assert_eq(pt_unmap_region(&pt, hole, K4, 0, &f), PT_OK);
	cr_assert(flush_covers(&f, hole, G1));
	expect_unmapped(&pt, hole, K4);
	/* Every other 4K page of the old 1G page maps the same PA: 2M pages where the split
	 * stopped, 4K pages in the one 2M page split further. */
	for (uint64_t off = 0; off < G1; off += K4) {
		uint64_t pa, size;
		unsigned flags;
		uint64_t va = G1 + off;

		if (va == hole)
			continue;
		cr_assert_eq(pt_query(&pt, va, &pa, &flags, &size), PT_OK, "va 0x%llx",
			     (unsigned long long)va);
		cr_assert_eq(pa, 3 * G1 + off);
		cr_assert_eq(flags, RW);
		cr_assert_eq(size, (va & ~(M2 - 1)) == G1 + 77 * M2 ? K4 : M2);
	}
	cr_assert_eq(arena_live(&a), 1 + 1 + 1 + 1, "root, PDPT, the new PD, one new PT");
	paging_fixture_end(&a, &pt);
}

Test(paging_region, protect_region_splits_only_what_it_must)
{
	struct pt_flush f;

	paging_fixture(&a, &pt, 64, PT_FEAT_1G);
	cr_assert_eq(pt_map(&pt, G1, 0, G1, RW, NULL), PT_OK);
	/* A 2M-aligned part of a 1G page: 1G -> 2M, no 4K tables. */
	pt_flush_init(&f);
	cr_assert_eq(pt_protect_region(&pt, G1 + 4 * M2, 2 * M2, RX, 0, &f), PT_OK);
	cr_assert_eq(arena_live(&a), 3);
	expect_mapped(&pt, G1, 4 * M2, 0, RW, M2);
	expect_mapped(&pt, G1 + 4 * M2, 2 * M2, 4 * M2, RX, M2);
	expect_mapped(&pt, G1 + 6 * M2, G1 - 6 * M2, 6 * M2, RW, M2);
	cr_assert(flush_covers(&f, G1 + 4 * M2, M2) && flush_covers(&f, G1 + 5 * M2, M2));
	/* A 4K page inside one of those 2M pages. */
	cr_assert_eq(pt_protect_region(&pt, G1 + 9 * M2 + 3 * K4, K4, PT_READ, 0, NULL), PT_OK);
	cr_assert_eq(arena_live(&a), 4);
	expect_mapped(&pt, G1 + 9 * M2, 3 * K4, 9 * M2, RW, K4);
	expect_mapped(&pt, G1 + 9 * M2 + 3 * K4, K4, 9 * M2 + 3 * K4, PT_READ, K4);
	expect_mapped(&pt, G1 + 9 * M2 + 4 * K4, M2 - 4 * K4, 9 * M2 + 4 * K4, RW, K4);
	/* Flags already as asked: no split, no frame, nothing owed. */
	pt_flush_init(&f);
	cr_assert_eq(pt_protect_region(&pt, G1 + 20 * M2 + K4, K4, RW, 0, &f), PT_OK);
	cr_assert_eq(arena_live(&a), 4);
	cr_assert_eq(f.kind, PT_FLUSH_NONE);
	cr_assert_eq(leaf_size(G1 + 20 * M2), M2);
	/* Holes are skipped. */
	cr_assert_eq(pt_protect_region(&pt, 0, 3 * G1, RWU, 0, &f), PT_OK);
	expect_mapped(&pt, G1, G1, 0, RWU, 0);
	expect_unmapped(&pt, 0, 16 * K4);
	cr_assert_eq(f.kind, PT_FLUSH_ALL, "hundreds of pages changed");
	paging_fixture_end(&a, &pt);
}

Test(paging_region, no_split_refuses_and_changes_nothing)
{
	struct pt_flush f;

	paging_fixture(&a, &pt, 64, 0);
	cr_assert_eq(pt_map_region(&pt, 0, 0, 4 * M2, RW, PT_MAP_HUGE, NULL), PT_OK);
	size_t frames = arena_live(&a);
	pt_flush_init(&f);
	/* The start is aligned; the end cuts a 2M page: refused before the first page goes. */
	cr_assert_eq(pt_unmap_region(&pt, 0, M2 + K4, PT_MAP_NO_SPLIT, &f), PT_EHUGE);
	cr_assert_eq(pt_protect_region(&pt, M2 - K4, 2 * K4, RX, PT_MAP_NO_SPLIT, &f), PT_EHUGE);
	expect_mapped(&pt, 0, 4 * M2, 0, RW, M2);
	cr_assert_eq(arena_live(&a), frames);
	cr_assert_eq(f.kind, PT_FLUSH_NONE);
	/* Whole pages are fine. */
	cr_assert_eq(pt_unmap_region(&pt, 0, M2, PT_MAP_NO_SPLIT, &f), PT_OK);
	cr_assert_eq(pt_protect_region(&pt, M2, M2, RX, PT_MAP_NO_SPLIT, NULL), PT_OK);
	expect_unmapped(&pt, 0, M2);
	expect_mapped(&pt, M2, M2, M2, RX, M2);
	/* A guard 2M entry cut by unmap_region is a huge entry too. */
	cr_assert_eq(pt_set_guard(&pt, 4 * M2, M2, 6, NULL), PT_OK);
	cr_assert_eq(pt_unmap_region(&pt, 4 * M2, K4, PT_MAP_NO_SPLIT, NULL), PT_EHUGE);
	cr_assert_eq(pt_protect_region(&pt, 4 * M2, K4, RX, PT_MAP_NO_SPLIT, NULL), PT_OK,
		     "protect leaves guards alone");
	paging_fixture_end(&a, &pt);
}

/* Unmap (or protect) [1G + 4K, 3G - 4K) over two 1G pages with only budget frames left; the
 * edges need 1G -> 2M -> 4K splits at both ends, 4 frames in all. */
static enum pt_err edge_splits_with_budget(size_t budget, bool protect)
{
	enum pt_err err;
	struct pt_flush f;

	paging_fixture(&a, &pt, 64, PT_FEAT_1G);
	cr_assert_eq(pt_map(&pt, G1, 0, G1, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 2 * G1, G1, G1, RW, NULL), PT_OK);
	a.fail_after = a.allocs + budget;
	pt_flush_init(&f);
	if (protect)
		err = pt_protect_region(&pt, G1 + K4, 2 * G1 - 2 * K4, PT_READ, 0, &f);
	else
		err = pt_unmap_region(&pt, G1 + K4, 2 * G1 - 2 * K4, 0, &f);
	if (err) {
		/* Splits done before the failure keep every translation. */
		for (uint64_t va = G1; va < 3 * G1; va += 0x3ff000)
			expect_mapped(&pt, va, K4, va - G1, RW, 0);
		expect_mapped(&pt, G1 + K4, K4, K4, RW, 0);
		expect_mapped(&pt, 3 * G1 - 2 * K4, K4, 2 * G1 - 2 * K4, RW, 0);
	} else {
		unsigned inner = protect ? PT_READ : 0;

		expect_mapped(&pt, G1, K4, 0, RW, K4);
		expect_mapped(&pt, 3 * G1 - K4, K4, 2 * G1 - K4, RW, K4);
		for (uint64_t va = G1 + K4; va < 3 * G1 - K4; va += 0x1ff000)
			if (inner)
				expect_mapped(&pt, va, K4, va - G1, inner, 0);
			else
				expect_unmapped(&pt, va, K4);
	}
	paging_fixture_end(&a, &pt);
	return err;
}

Test(paging_region, split_out_of_memory_changes_nothing)
{
	for (int protect = 0; protect < 2; protect++) {
		for (size_t budget = 0; budget < 4; budget++)
			cr_assert_eq(edge_splits_with_budget(budget, protect), PT_ENOMEM,
				     "budget %zu protect %d", budget, protect);
		cr_assert_eq(edge_splits_with_budget(4, protect), PT_OK);
	}
}

Test(paging_region, region_errors)
{
	paging_fixture(&a, &pt, 64, 0);
	cr_assert_eq(pt_unmap_region(&pt, 0x0000800000000000ull, K4, 0, NULL), PT_EADDR);
	cr_assert_eq(pt_unmap_region(&pt, 0x00007ffffffff000ull, 2 * K4, 0, NULL), PT_EADDR);
	cr_assert_eq(pt_unmap_region(&pt, 0xfffffffffffff000ull, 2 * K4, 0, NULL), PT_EADDR);
	cr_assert_eq(pt_unmap_region(&pt, 0x10, K4, 0, NULL), PT_EALIGN);
	cr_assert_eq(pt_unmap_region(&pt, 0, 0x10, 0, NULL), PT_EALIGN);
	cr_assert_eq(pt_protect_region(&pt, 0, K4, 0, 0, NULL), PT_EFLAGS);
	cr_assert_eq(pt_protect_region(&pt, 0, K4, PT_EXECUTE, 0, NULL), PT_EFLAGS);
	cr_assert_eq(pt_protect_region(&pt, 0xffff000000000000ull, K4, RW, 0, NULL), PT_EADDR);
	cr_assert_eq(pt_protect_region(&pt, 0x1800, K4, RW, 0, NULL), PT_EALIGN);
	cr_assert_eq(pt_set_guard(&pt, 0, K4, 0, NULL), PT_EFLAGS);
	cr_assert_eq(pt_set_guard(&pt, 0, K4, 256, NULL), PT_EFLAGS);
	cr_assert_eq(pt_set_guard(&pt, 0x0000800000000000ull, K4, 1, NULL), PT_EADDR);
	cr_assert_eq(pt_set_guard(&pt, 0, 0x1234, 1, NULL), PT_EALIGN);
	a.fail_after = a.allocs;
	cr_assert_eq(pt_set_guard(&pt, 0, K4, 1, NULL), PT_ENOMEM);
	a.fail_after = SIZE_MAX;
	cr_assert_eq(arena_live(&a), 1);
	/* Empty ranges and ranges over holes do nothing. */
	cr_assert_eq(pt_unmap_region(&pt, 0, 0, 0, NULL), PT_OK);
	cr_assert_eq(pt_unmap_region(&pt, 0, 1ull << 47, PT_FREE_TABLES, NULL), PT_OK);
	cr_assert_eq(pt_protect_region(&pt, 0xffff800000000000ull, 1ull << 47, RW, 0, NULL), PT_OK);
	cr_assert_eq(arena_live(&a), 1);
	paging_fixture_end(&a, &pt);
}

Test(paging_region, set_guard_uses_the_largest_sizes)
{
	struct pt_flush f;
	int level;
	uint64_t va = 0x40000000ull - 2 * K4, len = 2 * K4 + G1 + M2 + K4;

	paging_fixture(&a, &pt, 64, 0);
	pt_flush_init(&f);
	cr_assert_eq(pt_set_guard(&pt, va, len, 42, &f), PT_OK);
	cr_assert_eq(f.kind, PT_FLUSH_NONE, "holes -> guards owe nothing");
	pte_t e = entry_at(&pt, va, &level);
	cr_assert(pte_is_guard(e) && pte_guard_kind(e) == 42 && level == 1);
	e = entry_at(&pt, G1, &level);
	cr_assert(pte_is_guard(e) && pte_guard_kind(e) == 42 && level == 3, "1G guard");
	e = entry_at(&pt, 2 * G1, &level);
	cr_assert(pte_is_guard(e) && level == 2, "2M guard");
	e = entry_at(&pt, 2 * G1 + M2, &level);
	cr_assert(pte_is_guard(e) && level == 1);
	e = entry_at(&pt, 2 * G1 + M2 + K4, &level);
	cr_assert(!pte_is_guard(e), "past the end");
	e = entry_at(&pt, va - K4, &level);
	cr_assert(!pte_is_guard(e), "before the start");
	expect_unmapped(&pt, va, 16 * K4);
	paging_fixture_end(&a, &pt);
}

Test(paging_region, set_guard_replaces_mappings_and_map_splits_guards)
{
	struct pt_flush f;
	int level;

	paging_fixture(&a, &pt, 64, 0);
	cr_assert_eq(pt_map_region(&pt, 0, 0, 4 * M2, RW, PT_MAP_HUGE, NULL), PT_OK);
	pt_flush_init(&f);
	cr_assert_eq(pt_set_guard(&pt, M2 - K4, M2 + 2 * K4, 3, &f), PT_OK);
	expect_mapped(&pt, 0, M2 - K4, 0, RW, K4);
	expect_unmapped(&pt, M2 - K4, M2 + 2 * K4);
	expect_mapped(&pt, 2 * M2 + K4, M2 - K4, 2 * M2 + K4, RW, K4);
	cr_assert(flush_covers(&f, M2 - K4, M2) && flush_covers(&f, M2, M2));
	cr_assert(flush_covers(&f, 2 * M2, M2));
	pte_t e = entry_at(&pt, M2, &level);
	cr_assert(pte_is_guard(e) && level == 2, "the whole 2M page became one guard");
	/* Mapping one page inside a 2M guard keeps the guard around it. */
	cr_assert_eq(pt_map(&pt, M2 + 7 * K4, 0x99000, K4, RX, NULL), PT_OK);
	expect_mapped(&pt, M2 + 7 * K4, K4, 0x99000, RX, K4);
	for (uint64_t off = 0; off < M2; off += K4) {
		if (off == 7 * K4)
			continue;
		e = entry_at(&pt, M2 + off, &level);
		cr_assert(pte_is_guard(e) && pte_guard_kind(e) == 3 && level == 1);
	}
	/* A new kind over an old one; unmap_region clears guards. */
	cr_assert_eq(pt_set_guard(&pt, M2, 8 * K4, 9, NULL), PT_OK);
	cr_assert_eq(pte_guard_kind(entry_at(&pt, M2, NULL)), 9);
	expect_unmapped(&pt, M2 + 7 * K4, K4);
	cr_assert_eq(pte_guard_kind(entry_at(&pt, M2 + 8 * K4, NULL)), 3);
	cr_assert_eq(pt_unmap_region(&pt, M2, M2, 0, NULL), PT_OK);
	cr_assert(pte_unused(entry_at(&pt, M2, NULL)));
	cr_assert(pte_unused(entry_at(&pt, 2 * M2 - K4, NULL)));
	paging_fixture_end(&a, &pt);
}

Test(paging_region, set_guard_across_the_upper_half)
{
	int level;

	paging_fixture(&a, &pt, 64, 0);
	/* 513 GiB: a PML4 entry's worth is never one guard; the PDPTs get 1G guards. */
	uint64_t va = 0xffff800000000000ull, len = 513 * G1;
	cr_assert_eq(pt_set_guard(&pt, va, len, 200, NULL), PT_OK);
	pte_t e = entry_at(&pt, va, &level);
	cr_assert(pte_is_guard(e) && level == 3);
	e = entry_at(&pt, va + 512 * G1, &level);
	cr_assert(pte_is_guard(e) && level == 3);
	e = entry_at(&pt, va + 513 * G1, &level);
	cr_assert(!pte_is_guard(e));
	cr_assert_eq(arena_live(&a), 3);
	cr_assert_eq(pt_set_guard(&pt, 0xfffffffffffff000ull, K4, 5, NULL), PT_OK);
	cr_assert_eq(pte_guard_kind(entry_at(&pt, 0xfffffffffffff000ull, NULL)), 5);
	paging_fixture_end(&a, &pt);
}

Test(paging_region, unmap_region_free_tables)
{
	struct pt_flush f;

	paging_fixture(&a, &pt, 4096, 0);
	cr_assert_eq(pt_map_region(&pt, 0, 0, G1, RW, 0, NULL), PT_OK);
	cr_assert_eq(pt_map_region(&pt, 0xffffff8000000000ull, 0, 3 * M2, RW, 0, NULL), PT_OK);
	pt_flush_init(&f);
	cr_assert_eq(pt_unmap_region(&pt, 0, G1 - M2, PT_FREE_TABLES, &f), PT_OK);
	cr_assert_eq(f.kind, PT_FLUSH_ALL);
	cr_assert_eq(arena_live(&a), 1 + 3 + 5, "the last PT and its PD/PDPT stay");
	cr_assert_eq(pt_unmap_region(&pt, G1 - K4, K4, PT_FREE_TABLES, NULL), PT_OK);
	cr_assert_eq(arena_live(&a), 1 + 3 + 5);
	cr_assert_eq(pt_unmap_region(&pt, G1 - M2, M2 - K4, PT_FREE_TABLES, NULL), PT_OK);
	cr_assert_eq(arena_live(&a), 1 + 5);
	cr_assert_eq(pt_unmap_region(&pt, 0xffffff8000000000ull, 1ull << 39, PT_FREE_TABLES, NULL),
		     PT_OK);
	cr_assert_eq(arena_live(&a), 1, "only the root is left");
	paging_fixture_end(&a, &pt);
}

Test(paging_region, tlb_reports)
{
	struct pt_flush f;

	paging_fixture(&a, &pt, 64, 0);
	pt_flush_init(&f);
	cr_assert_eq(pt_map_region(&pt, 0, 0, 64 * K4, RW, 0, &f), PT_OK);
	cr_assert_eq(f.kind, PT_FLUSH_NONE);
	cr_assert_eq(pt_unmap_region(&pt, 0, 3 * K4, 0, &f), PT_OK);
	cr_assert_eq(f.kind, PT_FLUSH_PAGES);
	cr_assert_eq(f.count, 3);
	cr_assert_eq(f.va[0], 0);
	cr_assert_eq(f.va[2], 2 * K4);
	cr_assert_eq(pt_unmap_region(&pt, 0, 3 * K4, 0, &f), PT_OK);
	cr_assert_eq(f.count, 3, "unmapping holes owes nothing more");
	cr_assert_eq(pt_protect_region(&pt, 3 * K4, (PT_FLUSH_MAX - 3) * K4, PT_READ, 0, &f),
		     PT_OK);
	cr_assert_eq(f.kind, PT_FLUSH_PAGES);
	cr_assert_eq(f.count, PT_FLUSH_MAX);
	cr_assert_eq(pt_protect_region(&pt, PT_FLUSH_MAX * K4, K4, PT_READ, 0, &f), PT_OK);
	cr_assert_eq(f.kind, PT_FLUSH_ALL);
	paging_fixture_end(&a, &pt);
}
