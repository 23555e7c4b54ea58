/* The table layer, one page at a time: init/attach/destroy, map, unmap, query, protect, remap
 * for 4 KiB, 2 MiB and 1 GiB pages, split, merge, lookup, with every documented error of each
 * call provoked and the TLB work each change reports. */
#include <criterion/criterion.h>

#include "paging.h"
#include "paging_arena.h"

#define RW    (PT_READ | PT_WRITE)
#define RX    (PT_READ | PT_EXECUTE)
#define RWU   (PT_READ | PT_WRITE | PT_USER)
#define G1    PT_SIZE_1G
#define M2    PT_SIZE_2M
#define K4    PT_SIZE_4K
#define UPPER 0xffff800000000000ull /* first upper-half address */

static struct arena a;
static struct pt pt;

/* True if f asks for exactly one invlpg, at an address inside [lo, lo + len). */
static bool owes_one_page_in(const struct pt_flush *f, uint64_t lo, uint64_t len)
{
	return f->kind == PT_FLUSH_PAGES && f->count == 1 && f->va[0] - lo < len;
}

Test(paging_table, init_gives_a_zeroed_root_off_page_zero)
{
	paging_fixture(&a, &pt, 16, 0);
	cr_assert_neq(pt.root, 0);
	cr_assert_eq(pt.maxphyaddr, 52, "0 selects 52");
	cr_assert_eq(arena_live(&a), 1);
	pte_t *root = a.h.phys_to_virt(a.h.ctx, pt.root);
	for (int i = 0; i < PT_ENTRIES; i++)
		cr_assert_eq(root[i], 0, "entry %d not zeroed (handler gives junk)", i);
	paging_fixture_end(&a, &pt);
}

Test(paging_table, init_errors)
{
	arena_init(&a, 4);
	cr_assert_eq(pt_init(&pt, &a.h, 31, 0), PT_EFLAGS);
	cr_assert_eq(pt_init(&pt, &a.h, 53, 0), PT_EFLAGS);
	cr_assert_eq(arena_live(&a), 0, "a refused init takes no frame");
	a.fail_after = 0;
	cr_assert_eq(pt_init(&pt, &a.h, 0, 0), PT_ENOMEM);
	a.fail_after = SIZE_MAX;
	cr_assert_eq(pt_init(&pt, &a.h, 32, 0), PT_OK);
	cr_assert_eq(pt.maxphyaddr, 32);
	paging_fixture_end(&a, &pt);
}

Test(paging_table, attach_shares_the_tables)
{
	struct pt other;

	paging_fixture(&a, &pt, 64, 0);
	cr_assert_eq(pt_map(&pt, 0x400000, 0x9000, K4, RW, NULL), PT_OK);
	cr_assert_eq(pt_attach(&other, &a.h, pt.root, 0, 0), PT_OK);
	expect_mapped(&other, 0x400000, K4, 0x9000, RW, K4);
	cr_assert_eq(pt_map(&other, 0x401000, 0xa000, K4, RX, NULL), PT_OK);
	expect_mapped(&pt, 0x401000, K4, 0xa000, RX, K4);

	cr_assert_eq(pt_attach(&other, &a.h, 0, 0, 0), PT_EALIGN);
	cr_assert_eq(pt_attach(&other, &a.h, pt.root + 8, 0, 0), PT_EALIGN);
	cr_assert_eq(pt_attach(&other, &a.h, pt.root, 20, 0), PT_EFLAGS);
	cr_assert_eq(pt_attach(&other, &a.h, pt.root, 60, 0), PT_EFLAGS);
	paging_fixture_end(&a, &pt);
}

Test(paging_table, destroy_frees_every_table)
{
	paging_fixture(&a, &pt, 64, PT_FEAT_1G);
	cr_assert_eq(pt_map(&pt, 0x1000, 0x1000, K4, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 0x200000, 0x200000, M2, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 0x80000000, 0, G1, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, UPPER + 0x5000, 0x5000, K4, RW, NULL), PT_OK);
	cr_assert_eq(pt_set_guard(&pt, 0x7000000000ull, K4, 9, NULL), PT_OK);
	/* root; PDPT+PD+PT low; PDPT+PD+PT upper; PD+PT for the 4K guard. */
	cr_assert_eq(arena_live(&a), 9);
	paging_fixture_end(&a, &pt);
	pt_destroy(&pt); /* a second destroy is harmless */
}

/* Map, query, unmap one page of size at va in both halves; check what each step owes. */
static void map_query_unmap(uint64_t va, uint64_t pa, uint64_t size)
{
	struct pt_flush f;
	uint64_t got_pa, got_size;
	unsigned got_flags;

	pt_flush_init(&f);
	cr_assert_eq(pt_map(&pt, va, pa, size, RWU, &f), PT_OK);
	cr_assert_eq(f.kind, PT_FLUSH_NONE, "not-present -> present owes nothing");
	expect_mapped(&pt, va, size < 64 * K4 ? size : 64 * K4, pa, RWU, size);
	cr_assert_eq(pt_query(&pt, va + size - 8, &got_pa, &got_flags, &got_size), PT_OK);
	cr_assert_eq(got_pa, pa + size - 8);
	cr_assert_eq(got_size, size);
	if (pt_canonical(va + size))
		cr_assert_eq(pt_query(&pt, va + size, NULL, NULL, NULL), PT_ENOTMAPPED);
	if (va != 0 && pt_canonical(va - 1))
		cr_assert_eq(pt_query(&pt, va - 1, NULL, NULL, NULL), PT_ENOTMAPPED);

	cr_assert_eq(pt_unmap(&pt, va + size / 2, &got_pa, &got_flags, &got_size, 0, &f), PT_OK);
	cr_assert_eq(got_pa, pa, "unmap reports the frame of the page");
	cr_assert_eq(got_flags, RWU);
	cr_assert_eq(got_size, size);
	cr_assert(owes_one_page_in(&f, va, size));
	cr_assert_eq(pt_query(&pt, va, NULL, NULL, NULL), PT_ENOTMAPPED);
	cr_assert_eq(pt_unmap(&pt, va, NULL, NULL, NULL, 0, NULL), PT_ENOTMAPPED);
}

Test(paging_table, map_query_unmap_each_size)
{
	paging_fixture(&a, &pt, 64, PT_FEAT_1G);
	map_query_unmap(0x7000, 0x123000, K4);
	map_query_unmap(0x600000, 0x3400000, M2);
	map_query_unmap(0xc0000000, 0x140000000, G1);
	map_query_unmap(UPPER, 0x8000, K4);
	/* Largest first: an unmap leaves its tables, and no leaf goes where a table is. */
	map_query_unmap(0xffffffffc0000000ull, 0x40000000, G1);
	map_query_unmap(0xffffffffffe00000ull, 0x200000, M2);
	map_query_unmap(0xfffffffffffff000ull, 0xfffff000ull, K4);
	map_query_unmap(0x00007fffc0000000ull, 0x000fffffc0000000ull, G1);
	paging_fixture_end(&a, &pt);
}

Test(paging_table, map_errors)
{
	paging_fixture(&a, &pt, 64, 0);
	/* PT_EFLAGS: flags, size, 1 GiB without the feature. */
	cr_assert_eq(pt_map(&pt, 0, 0x1000, K4, 0, NULL), PT_EFLAGS);
	cr_assert_eq(pt_map(&pt, 0, 0x1000, K4, PT_WRITE, NULL), PT_EFLAGS);
	cr_assert_eq(pt_map(&pt, 0, 0x1000, K4, PT_READ | PT_UNCACHED | PT_DEVICE, NULL),
		     PT_EFLAGS);
	cr_assert_eq(pt_map(&pt, 0, 0x1000, K4, PT_READ | 0x80, NULL), PT_EFLAGS);
	cr_assert_eq(pt_map(&pt, 0, 0x2000, 0x2000, RW, NULL), PT_EFLAGS);
	cr_assert_eq(pt_map(&pt, 0, 0, 0, RW, NULL), PT_EFLAGS);
	cr_assert_eq(pt_map(&pt, 0, 0, G1, RW, NULL), PT_EFLAGS);
	/* PT_EADDR: non-canonical va, pa beyond maxphyaddr. */
	cr_assert_eq(pt_map(&pt, 0x0000800000000000ull, 0, K4, RW, NULL), PT_EADDR);
	cr_assert_eq(pt_map(&pt, 0xffff7ffffffff000ull, 0, K4, RW, NULL), PT_EADDR);
	cr_assert_eq(pt_map(&pt, 0x1000, 1ull << 52, K4, RW, NULL), PT_EADDR);
	struct pt small = pt;
	small.maxphyaddr = 36;
	cr_assert_eq(pt_map(&small, 0x1000, 1ull << 36, K4, RW, NULL), PT_EADDR);
	cr_assert_eq(pt_map(&small, 0x200000, (1ull << 36) - K4, M2, RW, NULL), PT_EADDR,
		     "a page whose end passes maxphyaddr");
	cr_assert_eq(pt_map(&small, 0x1000, (1ull << 36) - K4, K4, RW, NULL), PT_OK);
	/* PT_EALIGN */
	cr_assert_eq(pt_map(&pt, 0x1001, 0x1000, K4, RW, NULL), PT_EALIGN);
	cr_assert_eq(pt_map(&pt, 0x2000, 0x1800, K4, RW, NULL), PT_EALIGN);
	cr_assert_eq(pt_map(&pt, 0x201000, 0x200000, M2, RW, NULL), PT_EALIGN);
	cr_assert_eq(pt_map(&pt, 0x200000, 0x201000, M2, RW, NULL), PT_EALIGN);
	/* PT_EEXIST: a leaf of any size, or a table, where the leaf would go. */
	cr_assert_eq(pt_map(&pt, 0x400000, 0x400000, M2, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 0x400000, 0x9000, K4, RW, NULL), PT_EEXIST);
	cr_assert_eq(pt_map(&pt, 0x5ff000, 0x9000, K4, RW, NULL), PT_EEXIST, "inside a 2M page");
	cr_assert_eq(pt_map(&pt, 0x400000, 0x800000, M2, RW, NULL), PT_EEXIST);
	cr_assert_eq(pt_map(&pt, 0x2000, 0x9000, K4, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 0x2000, 0xa000, K4, RW, NULL), PT_EEXIST);
	cr_assert_eq(pt_map(&pt, 0, 0, M2, RW, NULL), PT_EEXIST, "a page table is there");
	expect_mapped(&pt, 0x2000, K4, 0x9000, RW, K4);
	expect_mapped(&pt, 0x400000, M2, 0x400000, RW, M2);
	/* PT_ENOMEM: each missing table needs a frame. */
	a.fail_after = a.allocs;
	cr_assert_eq(pt_map(&pt, 0x8000000000ull, 0, K4, RW, NULL), PT_ENOMEM);
	a.fail_after = a.allocs + 2;
	cr_assert_eq(pt_map(&pt, 0x10000000000ull, 0, K4, RW, NULL), PT_ENOMEM);
	a.fail_after = SIZE_MAX;
	cr_assert_eq(pt_map(&pt, 0x10000000000ull, 0, K4, RW, NULL), PT_OK);
	expect_mapped(&pt, 0x10000000000ull, K4, 0, RW, K4);
	paging_fixture_end(&a, &pt);
}

Test(paging_table, map_1g_needs_the_feature)
{
	paging_fixture(&a, &pt, 16, 0);
	cr_assert_eq(pt_map(&pt, G1, G1, G1, RW, NULL), PT_EFLAGS);
	pt.features = PT_FEAT_1G;
	cr_assert_eq(pt_map(&pt, G1, G1, G1, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, G1 + M2, 0, M2, RW, NULL), PT_EEXIST, "inside a 1G page");
	cr_assert_eq(pt_map(&pt, G1 + M2 + K4, 0, K4, RW, NULL), PT_EEXIST);
	paging_fixture_end(&a, &pt);
}

Test(paging_table, unmap_and_query_errors)
{
	paging_fixture(&a, &pt, 16, 0);
	cr_assert_eq(pt_unmap(&pt, 0x0000800000000000ull, NULL, NULL, NULL, 0, NULL), PT_EADDR);
	cr_assert_eq(pt_unmap(&pt, 0x1000, NULL, NULL, NULL, 0, NULL), PT_ENOTMAPPED);
	cr_assert_eq(pt_query(&pt, 0x1234567812345678ull, NULL, NULL, NULL), PT_EADDR);
	cr_assert_eq(pt_query(&pt, 0x1000, NULL, NULL, NULL), PT_ENOTMAPPED);
	cr_assert_eq(pt_set_guard(&pt, 0x1000, K4, 3, NULL), PT_OK);
	cr_assert_eq(pt_query(&pt, 0x1000, NULL, NULL, NULL), PT_ENOTMAPPED,
		     "a guard maps nothing");
	cr_assert_eq(pt_unmap(&pt, 0x1000, NULL, NULL, NULL, 0, NULL), PT_ENOTMAPPED);
	cr_assert(pte_is_guard(entry_at(&pt, 0x1000, NULL)), "pt_unmap leaves a guard alone");
	paging_fixture_end(&a, &pt);
}

Test(paging_table, unmap_free_tables)
{
	struct pt_flush f;

	paging_fixture(&a, &pt, 32, 0);
	cr_assert_eq(pt_map(&pt, 0x40001000, 0x1000, K4, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 0x40002000, 0x2000, K4, RW, NULL), PT_OK);
	cr_assert_eq(arena_live(&a), 4);
	pt_flush_init(&f);
	cr_assert_eq(pt_unmap(&pt, 0x40001000, NULL, NULL, NULL, PT_FREE_TABLES, &f), PT_OK);
	cr_assert_eq(arena_live(&a), 4, "the table still holds a page");
	cr_assert_eq(f.kind, PT_FLUSH_PAGES);
	cr_assert_eq(pt_unmap(&pt, 0x40002000, NULL, NULL, NULL, PT_FREE_TABLES, &f), PT_OK);
	cr_assert_eq(arena_live(&a), 1, "PT, PD and PDPT freed, the root kept");
	cr_assert_eq(f.kind, PT_FLUSH_ALL, "freed tables owe a full flush");
	pte_t *root = a.h.phys_to_virt(a.h.ctx, pt.root);
	cr_assert_eq(root[0], 0);
	/* Without the option the empty tables stay, and are reused. */
	cr_assert_eq(pt_map(&pt, 0x40001000, 0x1000, K4, RW, NULL), PT_OK);
	cr_assert_eq(pt_unmap(&pt, 0x40001000, NULL, NULL, NULL, 0, NULL), PT_OK);
	cr_assert_eq(arena_live(&a), 4);
	cr_assert_eq(pt_map(&pt, 0x40003000, 0x1000, K4, RW, NULL), PT_OK);
	cr_assert_eq(arena_live(&a), 4);
	/* A guard keeps its table. */
	cr_assert_eq(pt_set_guard(&pt, 0x40004000, K4, 1, NULL), PT_OK);
	cr_assert_eq(pt_unmap(&pt, 0x40003000, NULL, NULL, NULL, PT_FREE_TABLES, NULL), PT_OK);
	cr_assert_eq(arena_live(&a), 4);
	paging_fixture_end(&a, &pt);
}

Test(paging_table, protect_each_size)
{
	struct pt_flush f;
	static const uint64_t sizes[] = {K4, M2, G1};

	paging_fixture(&a, &pt, 16, PT_FEAT_1G);
	for (int i = 0; i < 3; i++) {
		uint64_t va = G1 * (i + 1) + (i < 2 ? 3 * sizes[i] : 0);

		cr_assert_eq(pt_map(&pt, va, 5 * sizes[i], sizes[i], RW, NULL), PT_OK);
		pt_flush_init(&f);
		cr_assert_eq(pt_protect(&pt, va + sizes[i] - K4, RX | PT_USER, &f), PT_OK);
		expect_mapped(&pt, va, K4, 5 * sizes[i], RX | PT_USER, sizes[i]);
		expect_mapped(&pt, va + sizes[i] - K4, K4, 5 * sizes[i] + sizes[i] - K4,
			      RX | PT_USER, sizes[i]);
		cr_assert(owes_one_page_in(&f, va, sizes[i]));
		pt_flush_init(&f);
		cr_assert_eq(pt_protect(&pt, va, RX | PT_USER, &f), PT_OK);
		cr_assert_eq(f.kind, PT_FLUSH_NONE, "no change, nothing owed");
	}
	cr_assert_eq(pt_protect(&pt, 0x0000800000000000ull, RW, NULL), PT_EADDR);
	cr_assert_eq(pt_protect(&pt, G1, 0, NULL), PT_EFLAGS);
	cr_assert_eq(pt_protect(&pt, G1, PT_WRITE, NULL), PT_EFLAGS);
	cr_assert_eq(pt_protect(&pt, 0x1000, RW, NULL), PT_ENOTMAPPED);
	paging_fixture_end(&a, &pt);
}

Test(paging_table, remap_each_size)
{
	struct pt_flush f;

	paging_fixture(&a, &pt, 16, PT_FEAT_1G);
	cr_assert_eq(pt_map(&pt, 0x3000, 0x3000, K4, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 0x400000, 0x400000, M2, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, G1, G1, G1, RW, NULL), PT_OK);
	pt_flush_init(&f);
	cr_assert_eq(pt_remap(&pt, 0x3008, 0x77000, RX, &f), PT_OK);
	expect_mapped(&pt, 0x3000, K4, 0x77000, RX, K4);
	cr_assert(owes_one_page_in(&f, 0x3000, K4));
	cr_assert_eq(pt_remap(&pt, 0x500000, 0x7e00000, RW, NULL), PT_OK);
	expect_mapped(&pt, 0x400000, M2, 0x7e00000, RW, M2);
	cr_assert_eq(pt_remap(&pt, G1 + 5, 5 * G1, RWU, NULL), PT_OK);
	expect_mapped(&pt, G1, 16 * K4, 5 * G1, RWU, G1);
	pt_flush_init(&f);
	cr_assert_eq(pt_remap(&pt, G1, 5 * G1, RWU, &f), PT_OK);
	cr_assert_eq(f.kind, PT_FLUSH_NONE, "same address and flags: nothing owed");

	cr_assert_eq(pt_remap(&pt, 0x0000800000000000ull, 0, RW, NULL), PT_EADDR);
	cr_assert_eq(pt_remap(&pt, 0x3000, 1ull << 52, RW, NULL), PT_EADDR);
	cr_assert_eq(pt_remap(&pt, 0x400000, 0x201000, RW, NULL), PT_EALIGN, "2M page, 4K pa");
	cr_assert_eq(pt_remap(&pt, G1, M2, RW, NULL), PT_EALIGN);
	cr_assert_eq(pt_remap(&pt, 0x3000, 0x5000, 0, NULL), PT_EFLAGS);
	cr_assert_eq(pt_remap(&pt, 0x9000, 0x5000, RW, NULL), PT_ENOTMAPPED);
	expect_mapped(&pt, 0x3000, K4, 0x77000, RX, K4);
	paging_fixture_end(&a, &pt);
}

Test(paging_table, effective_rights_combine_levels)
{
	pte_t *e;
	int level;

	paging_fixture(&a, &pt, 16, 0);
	cr_assert_eq(pt_map(&pt, 0x1000, 0x1000, K4, RWU | PT_EXECUTE, NULL), PT_OK);
	expect_mapped(&pt, 0x1000, K4, 0x1000, RWU | PT_EXECUTE, K4);
	/* Clear W in the PDE, U in the PDPTE, set NX in the PML4E: AND, AND, OR. */
	cr_assert_eq(pt_lookup(&pt, 0x1000, 2, false, &e, &level), PT_OK);
	*e &= ~PTE_W;
	expect_mapped(&pt, 0x1000, K4, 0x1000, PT_READ | PT_USER | PT_EXECUTE, K4);
	cr_assert_eq(pt_lookup(&pt, 0x1000, 3, false, &e, &level), PT_OK);
	*e &= ~PTE_U;
	expect_mapped(&pt, 0x1000, K4, 0x1000, PT_READ | PT_EXECUTE, K4);
	cr_assert_eq(pt_lookup(&pt, 0x1000, 4, false, &e, &level), PT_OK);
	*e |= PTE_NX;
	expect_mapped(&pt, 0x1000, K4, 0x1000, PT_READ, K4);
	paging_fixture_end(&a, &pt);
}

Test(paging_table, lookup)
{
	pte_t *e;
	int level;

	paging_fixture(&a, &pt, 16, 0);
	cr_assert_eq(pt_lookup(&pt, 0x5000, 1, false, &e, &level), PT_OK);
	cr_assert_eq(level, 4, "stops at the first not-present entry");
	cr_assert_eq(*e, 0);
	cr_assert_eq(pt_lookup(&pt, 0x5000, 1, true, &e, &level), PT_OK);
	cr_assert_eq(level, 1);
	cr_assert_eq(arena_live(&a), 4);
	/* The new tables are zeroed though the handler handed out junk. */
	for (int stop = 1; stop <= 3; stop++) {
		pte_t *t;
		unsigned path = pt_level_index(0x5000, stop);

		cr_assert_eq(pt_lookup(&pt, 0x5000, stop, false, &t, &level), PT_OK);
		cr_assert_eq(level, stop);
		t -= path;
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			if (stop == 1 || i != path)
				cr_assert_eq(t[i], 0, "level %d entry %u", stop, i);
	}
	/* The entry is writable and is what the CPU would read. */
	*e = pte_new_page(0xabc000, RW, 1);
	expect_mapped(&pt, 0x5000, K4, 0xabc000, RW, K4);
	cr_assert_eq(pt_lookup(&pt, 0x5000, 4, false, &e, &level), PT_OK);
	cr_assert_eq(level, 4);
	cr_assert_eq(e, (pte_t *)a.h.phys_to_virt(a.h.ctx, pt.root));

	cr_assert_eq(pt_map(&pt, 0x200000, 0, M2, RW, NULL), PT_OK);
	cr_assert_eq(pt_lookup(&pt, 0x201000, 1, false, &e, &level), PT_OK);
	cr_assert_eq(level, 2, "stops at the huge leaf");
	cr_assert(pte_huge(*e, 2));
	cr_assert_eq(pt_lookup(&pt, 0x201000, 1, true, &e, &level), PT_EHUGE);
	cr_assert_eq(pt_lookup(&pt, 0x0000800000000000ull, 1, false, &e, &level), PT_EADDR);
	cr_assert_eq(pt_lookup(&pt, 0x1000, 0, false, &e, &level), PT_EFLAGS);
	cr_assert_eq(pt_lookup(&pt, 0x1000, 5, false, &e, &level), PT_EFLAGS);
	a.fail_after = a.allocs;
	cr_assert_eq(pt_lookup(&pt, 0x8000000000ull, 1, true, &e, &level), PT_ENOMEM);
	a.fail_after = SIZE_MAX;
	paging_fixture_end(&a, &pt);
}

Test(paging_table, trace)
{
	struct pt_trace t;

	paging_fixture(&a, &pt, 16, 0);
	cr_assert_eq(pt_map(&pt, UPPER + 0x3000, 0x8000, K4, RW, NULL), PT_OK);
	cr_assert_eq(pt_trace(&pt, UPPER + 0x3123, &t), PT_OK);
	cr_assert_eq(t.depth, 4);
	cr_assert(t.mapped);
	cr_assert_eq(t.pa, 0x8123);
	cr_assert_eq(t.table_pa[0], pt.root);
	for (int i = 1; i < 4; i++)
		cr_assert_eq(t.table_pa[i], pte_addr(t.entry[i - 1], 4 - (i - 1)));
	cr_assert_eq(pte_addr(t.entry[3], 1), 0x8000);

	cr_assert_eq(pt_trace(&pt, UPPER + 0x40000000, &t), PT_OK);
	cr_assert_eq(t.depth, 2, "PML4E present, PDPTE not");
	cr_assert(!t.mapped);
	cr_assert_eq(t.entry[1], 0);
	cr_assert_eq(pt_trace(&pt, 0x1000, &t), PT_OK);
	cr_assert_eq(t.depth, 1);
	cr_assert(!t.mapped);
	cr_assert_eq(pt_trace(&pt, 0x0000800000000000ull, &t), PT_EADDR);
	paging_fixture_end(&a, &pt);
}

/* Check the 512 small pages that replaced the huge page at va -> pa keep its translation. */
static void expect_split(uint64_t va, uint64_t pa, uint64_t size, unsigned flags)
{
	uint64_t child = size == G1 ? M2 : K4;

	expect_mapped(&pt, va, size, pa, flags, child);
}

Test(paging_table, split_2m_and_1g)
{
	struct pt_flush f;

	paging_fixture(&a, &pt, 16, PT_FEAT_1G);
	cr_assert_eq(pt_map(&pt, 0x600000, 0xa00000, M2, RWU, NULL), PT_OK);
	pt_flush_init(&f);
	cr_assert_eq(pt_split(&pt, 0x7ff000, &f), PT_OK);
	expect_split(0x600000, 0xa00000, M2, RWU);
	cr_assert(owes_one_page_in(&f, 0x600000, M2));
	cr_assert_eq(pt_split(&pt, 0x600000, NULL), PT_EEXIST, "already 4K pages");

	cr_assert_eq(pt_map(&pt, 2 * G1, 7 * G1, G1, RX, NULL), PT_OK);
	cr_assert_eq(pt_split(&pt, 2 * G1 + 12345, NULL), PT_OK);
	expect_split(2 * G1, 7 * G1, G1, RX);
	cr_assert_eq(pt_split(&pt, 2 * G1 + M2 * 7, NULL), PT_OK);
	expect_mapped(&pt, 2 * G1 + M2 * 7, M2, 7 * G1 + M2 * 7, RX, K4);
	expect_mapped(&pt, 2 * G1 + M2 * 8, M2, 7 * G1 + M2 * 8, RX, M2);

	cr_assert_eq(pt_split(&pt, 0x0000800000000000ull, NULL), PT_EADDR);
	cr_assert_eq(pt_split(&pt, 5 * G1, NULL), PT_ENOTMAPPED);
	cr_assert_eq(pt_set_guard(&pt, 0x40000000, M2, 4, NULL), PT_OK);
	cr_assert_eq(pt_split(&pt, 0x40000000, NULL), PT_ENOTMAPPED, "a guard is no page");
	cr_assert_eq(pt_map(&pt, 3 * G1, 0, G1, RX, NULL), PT_OK);
	a.fail_after = a.allocs;
	cr_assert_eq(pt_split(&pt, 3 * G1, NULL), PT_ENOMEM);
	a.fail_after = SIZE_MAX;
	expect_mapped(&pt, 3 * G1, 8 * K4, 0, RX, G1);
	paging_fixture_end(&a, &pt);
}

Test(paging_table, split_keeps_every_attribute_bit)
{
	pte_t *e;
	int level;

	paging_fixture(&a, &pt, 16, PT_FEAT_1G);
	cr_assert_eq(pt_map(&pt, G1, 2 * G1, G1, RW | PT_GLOBAL, NULL), PT_OK);
	cr_assert_eq(pt_lookup(&pt, G1, 3, false, &e, &level), PT_OK);
	*e |= PTE_PAT_HUGE | PTE_PWT | (1ull << 10) /* a software bit */;
	pte_t huge = *e;
	cr_assert_eq(pt_split(&pt, G1, NULL), PT_OK);
	cr_assert_eq(pt_lookup(&pt, G1 + 3 * M2, 2, false, &e, &level), PT_OK);
	cr_assert_eq(*e, (huge & ~pte_addr_mask(3)) | (2 * G1 + 3 * M2),
		     "2M child: same bits, PAT stays at bit 12");
	cr_assert_eq(pt_split(&pt, G1 + 3 * M2, NULL), PT_OK);
	cr_assert_eq(pt_lookup(&pt, G1 + 3 * M2 + 5 * K4, 1, false, &e, &level), PT_OK);
	cr_assert_eq(level, 1);
	pte_t want = (huge & ~(pte_addr_mask(3) | PTE_PS | PTE_PAT_HUGE)) | PTE_PAT_4K |
		     (2 * G1 + 3 * M2 + 5 * K4);
	cr_assert_eq(*e, want, "4K child: PAT moved to bit 7, PS gone");
	/* Merging back gives the 1 GiB entry it came from (its software bit aside). */
	cr_assert_eq(pt_merge(&pt, G1 + 3 * M2, 1, NULL), PT_OK);
	cr_assert_eq(pt_merge(&pt, G1, 2, NULL), PT_OK);
	cr_assert_eq(pt_lookup(&pt, G1, 3, false, &e, &level), PT_OK);
	cr_assert_eq(*e, huge & ~(1ull << 10) & ~PTE_PWT, "PWT alone is no generic flag");
	paging_fixture_end(&a, &pt);
}

Test(paging_table, merge)
{
	struct pt_flush f;

	paging_fixture(&a, &pt, 64, PT_FEAT_1G);
	cr_assert_eq(pt_map_region(&pt, 0x200000, 0x4000000, M2, RW, 0, NULL), PT_OK);
	size_t before = arena_live(&a);
	pt_flush_init(&f);
	cr_assert_eq(pt_merge(&pt, 0x2ff000, 1, &f), PT_OK);
	expect_mapped(&pt, 0x200000, M2, 0x4000000, RW, M2);
	cr_assert_eq(arena_live(&a), before - 1, "the page table is freed");
	cr_assert_eq(f.kind, PT_FLUSH_ALL);
	cr_assert_eq(pt_merge(&pt, 0x200000, 1, NULL), PT_ENOTMAPPED, "no page table there now");

	/* Not uniform: one page with other flags, PAs out of line, PA base misaligned. */
	cr_assert_eq(pt_map_region(&pt, 0x400000, 0x8000000, M2, RW, 0, NULL), PT_OK);
	cr_assert_eq(pt_protect(&pt, 0x5ff000, PT_READ, NULL), PT_OK);
	cr_assert_eq(pt_merge(&pt, 0x400000, 1, NULL), PT_EEXIST);
	expect_mapped(&pt, 0x400000, M2 - K4, 0x8000000, RW, K4);
	cr_assert_eq(pt_protect(&pt, 0x5ff000, RW, NULL), PT_OK);
	cr_assert_eq(pt_remap(&pt, 0x500000, 0x9000000, RW, NULL), PT_OK);
	cr_assert_eq(pt_merge(&pt, 0x400000, 1, NULL), PT_EEXIST);
	cr_assert_eq(pt_remap(&pt, 0x500000, 0x8100000, RW, NULL), PT_OK);
	cr_assert_eq(pt_merge(&pt, 0x400000, 1, NULL), PT_OK);
	cr_assert_eq(pt_map_region(&pt, 0x600000, 0x8001000, M2, RW, 0, NULL), PT_OK);
	cr_assert_eq(pt_merge(&pt, 0x600000, 1, NULL), PT_EEXIST, "PA not 2M aligned");
	cr_assert_eq(pt_unmap(&pt, 0x600000, NULL, NULL, NULL, 0, NULL), PT_OK);
	cr_assert_eq(pt_merge(&pt, 0x600000, 1, NULL), PT_EEXIST, "a hole");

	/* A PD of 512 2M pages -> one 1G page. */
	cr_assert_eq(pt_map_region(&pt, 4 * G1, 2 * G1, G1, RX, PT_MAP_HUGE, NULL), PT_OK);
	cr_assert_eq(pt_split(&pt, 4 * G1, NULL), PT_OK);
	expect_mapped(&pt, 4 * G1, 4 * K4, 2 * G1, RX, M2);
	before = arena_live(&a);
	cr_assert_eq(pt_merge(&pt, 4 * G1 + 5, 2, NULL), PT_OK);
	expect_mapped(&pt, 4 * G1 + G1 - 4 * K4, 4 * K4, 3 * G1 - 4 * K4, RX, G1);
	cr_assert_eq(arena_live(&a), before - 1);

	cr_assert_eq(pt_merge(&pt, 0x0000800000000000ull, 1, NULL), PT_EADDR);
	cr_assert_eq(pt_merge(&pt, 0x400000, 0, NULL), PT_EFLAGS);
	cr_assert_eq(pt_merge(&pt, 0x400000, 3, NULL), PT_EFLAGS);
	cr_assert_eq(pt_merge(&pt, 8 * G1, 1, NULL), PT_ENOTMAPPED);
	cr_assert_eq(pt_merge(&pt, 4 * G1, 1, NULL), PT_ENOTMAPPED, "a 1G leaf, no table");
	pt.features = 0;
	cr_assert_eq(pt_merge(&pt, 0, 2, NULL), PT_EFLAGS, "1G leaves need the feature");
	paging_fixture_end(&a, &pt);
}

Test(paging_table, merge_refuses_guards_and_tables)
{
	paging_fixture(&a, &pt, 64, PT_FEAT_1G);
	cr_assert_eq(pt_map_region(&pt, 0, 0, M2, RW, 0, NULL), PT_OK);
	cr_assert_eq(pt_set_guard(&pt, 0, K4, 1, NULL), PT_OK);
	cr_assert_eq(pt_merge(&pt, 0, 1, NULL), PT_EEXIST);
	/* A PD with a page table in it is no 1G candidate. */
	cr_assert_eq(pt_map_region(&pt, M2, M2, G1 - M2, RW, PT_MAP_HUGE, NULL), PT_OK);
	cr_assert_eq(pt_merge(&pt, 0, 2, NULL), PT_EEXIST);
	cr_assert_eq(pt_unmap_region(&pt, 0, M2, 0, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 0, 0, K4, RW, NULL), PT_OK);
	cr_assert_eq(pt_merge(&pt, 0, 2, NULL), PT_EEXIST);
	paging_fixture_end(&a, &pt);
}
