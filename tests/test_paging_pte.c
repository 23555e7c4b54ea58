/* The entry layer: sizes, masks, flag conversion both ways at every level, entry helpers, the
 * name tables and their printing, canonical checks, errors and the TLB record. */
#include <criterion/criterion.h>
#include <string.h>

#include "paging.h"

/* The x86 bits a valid generic flag set must produce at a leaf level, spelled out
 * independently of the library (SDM vol. 3 4.5: P, R/W, U/S, PWT, PCD, PS, G, XD). */
static pte_t expected_bits(unsigned f, int level)
{
	pte_t e = 0;

	if (!f)
		return 0;
	e |= PTE_P;
	e |= (f & PT_WRITE) ? PTE_W : 0;
	e |= (f & PT_USER) ? PTE_U : 0;
	e |= (f & PT_EXECUTE) ? 0 : PTE_NX;
	e |= (f & PT_DEVICE) ? (PTE_PCD | PTE_PWT) : 0;
	e |= (f & PT_UNCACHED) ? PTE_PCD : 0;
	e |= (f & PT_GLOBAL) ? PTE_G : 0;
	e |= level > 1 ? PTE_PS : 0;
	return e;
}

/* The validity rule, spelled out: empty, or READ plus anything but UNCACHED with DEVICE. */
static bool expected_valid(unsigned f)
{
	if (f > PT_FLAGS_ALL)
		return false;
	if (f == 0)
		return true;
	return (f & PT_READ) && !((f & PT_UNCACHED) && (f & PT_DEVICE));
}

Test(paging_pte, level_sizes_and_masks)
{
	cr_assert_eq(pt_level_size(1), 0x1000);
	cr_assert_eq(pt_level_size(2), 0x200000);
	cr_assert_eq(pt_level_size(3), 0x40000000);
	cr_assert_eq(pt_level_size(0), 0);
	cr_assert_eq(pt_level_size(4), 0);
	cr_assert_eq(pte_addr_mask(1), 0x000ffffffffff000ull);
	cr_assert_eq(pte_addr_mask(2), 0x000fffffffe00000ull);
	cr_assert_eq(pte_addr_mask(3), 0x000fffffc0000000ull);
	cr_assert_eq(pte_addr_mask(4), 0);
	/* The huge masks must leave PAT (bit 12) alone. */
	cr_assert_eq(pte_addr_mask(2) & PTE_PAT_HUGE, 0);
	cr_assert_eq(pte_addr_mask(3) & PTE_PAT_HUGE, 0);
	for (int level = 1; level <= 4; level++)
		cr_assert_eq(pt_level_span(level), 1ull << (12 + 9 * (level - 1)));
	cr_assert_eq(pt_level_index(0xffffff8040201000ull, 4), 511);
	cr_assert_eq(pt_level_index(0xffffff8040201000ull, 3), 1);
	cr_assert_eq(pt_level_index(0xffffff8040201000ull, 2), 1);
	cr_assert_eq(pt_level_index(0xffffff8040201000ull, 1), 1);
}

Test(paging_pte, flags_valid_exhaustive)
{
	for (unsigned f = 0; f < 0x400; f++)
		cr_assert_eq(pt_flags_valid(f), expected_valid(f), "flags 0x%x", f);
	cr_assert(!pt_flags_valid(PT_WRITE));
	cr_assert(!pt_flags_valid(PT_EXECUTE));
	cr_assert(!pt_flags_valid(PT_READ | PT_UNCACHED | PT_DEVICE));
	cr_assert(pt_flags_valid(PT_READ | PT_DEVICE | PT_GLOBAL));
}

Test(paging_pte, flags_to_x86_exact_bits_every_level)
{
	for (int level = 1; level <= 3; level++)
		for (unsigned f = 0; f <= PT_FLAGS_ALL; f++) {
			if (!pt_flags_valid(f))
				continue;
			cr_assert_eq(pt_flags_to_x86(f, level), expected_bits(f, level),
				     "flags 0x%x level %d: 0x%llx", f, level,
				     (unsigned long long)pt_flags_to_x86(f, level));
		}
}

Test(paging_pte, flags_round_trip_every_valid_set_every_level)
{
	unsigned n = 0;

	for (int level = 1; level <= 3; level++)
		for (unsigned f = 0; f <= PT_FLAGS_ALL; f++) {
			if (!pt_flags_valid(f))
				continue;
			pte_t e = pt_flags_to_x86(f, level);

			cr_assert_eq(pt_flags_from_x86(e, level), f, "flags 0x%x level %d", f,
				     level);
			/* With PAT and A/D set too (as the CPU or a caller leaves them). */
			pte_t pat = level == 1 ? PTE_PAT_4K : PTE_PAT_HUGE;
			if (f)
				cr_assert_eq(pt_flags_from_x86(e | pat | PTE_A | PTE_D, level), f);
			n++;
		}
	/* 1 empty + READ with 16 W/X/U/G combos x 3 cache choices = 49 per level. */
	cr_assert_eq(n, 3 * 49);
}

Test(paging_pte, flags_from_x86_reads_hardware_entries)
{
	cr_assert_eq(pt_flags_from_x86(0, 1), 0);
	cr_assert_eq(pt_flags_from_x86(PTE_W | PTE_U, 1), 0, "not present means no flags");
	cr_assert_eq(pt_flags_from_x86(PTE_P, 1), PT_READ | PT_EXECUTE);
	cr_assert_eq(pt_flags_from_x86(PTE_P | PTE_NX, 2), PT_READ);
	cr_assert_eq(pt_flags_from_x86(PTE_P | PTE_PCD | PTE_PWT | PTE_NX, 3), PT_READ | PT_DEVICE);
	cr_assert_eq(pt_flags_from_x86(PTE_P | PTE_PCD | PTE_NX, 1), PT_READ | PT_UNCACHED);
	/* PS at level 2 is no flag, and bit 7 in a PTE is PAT, not a right. */
	cr_assert_eq(pt_flags_from_x86(PTE_P | PTE_PS | PTE_NX, 2), PT_READ);
	cr_assert_eq(pt_flags_from_x86(PTE_P | PTE_PAT_4K | PTE_NX, 1), PT_READ);
}

Test(paging_pte, new_page_every_flag_set_and_level)
{
	static const uint64_t pas[] = {0, 0x40000000ull, 0x000fffffc0000000ull};

	for (int level = 1; level <= 3; level++)
		for (unsigned f = 0; f <= PT_FLAGS_ALL; f++) {
			if (!pt_flags_valid(f))
				continue;
			for (size_t k = 0; k < sizeof(pas) / sizeof(pas[0]); k++) {
				pte_t e = pte_new_page(pas[k], f, level);
				pte_t ad = f ? (PTE_A | PTE_D) : 0;

				cr_assert_eq(e, expected_bits(f, level) | ad | pas[k],
					     "f 0x%x level %d pa 0x%llx", f, level,
					     (unsigned long long)pas[k]);
				cr_assert_eq(pte_addr(e, level), pas[k]);
				cr_assert_eq(pte_flags(e, level), f);
				cr_assert_eq(pte_present(e), f != 0);
				cr_assert_eq(pte_leaf(e, level), f != 0);
				cr_assert_eq(pte_huge(e, level), f != 0 && level > 1);
				cr_assert(!pte_is_guard(e));
			}
		}
}

Test(paging_pte, new_table)
{
	pte_t e = pte_new_table(0x12345000);

	cr_assert_eq(e, 0x12345000ull | PTE_P | PTE_W | PTE_U | PTE_A);
	cr_assert_eq(pte_addr(e, 4), 0x12345000);
	cr_assert_eq(pte_addr(e, 2), 0x12345000, "no PS: a table pointer, 4K address field");
	cr_assert(!pte_huge(e, 2));
	cr_assert(!pte_leaf(e, 3));
	cr_assert(pte_leaf(pte_new_table(0x1000), 1), "any present PTE is a leaf");
	cr_assert_eq(e & PTE_NX, 0, "rights are decided by the leaf");
}

Test(paging_pte, guard_entries)
{
	for (unsigned kind = 0; kind < 256; kind++) {
		pte_t g = pte_new_guard(kind);

		cr_assert(!pte_present(g));
		cr_assert(pte_is_guard(g));
		cr_assert(!pte_unused(g));
		cr_assert_eq(pte_guard_kind(g), kind);
		cr_assert_eq(pte_flags(g, 1), 0);
		cr_assert(!pte_leaf(g, 1) && !pte_huge(g, 2));
	}
	cr_assert(!pte_is_guard(0));
	cr_assert(!pte_is_guard(PTE_P | PTE_GUARD), "a present entry is never a guard");
	cr_assert(pte_unused(0));
}

Test(paging_pte, set_addr_keeps_pat_and_flags)
{
	/* A 2 MiB leaf with PAT: a new address must not clear or be mixed into bit 12. */
	pte_t e = pte_new_page(0x200000, PT_READ | PT_WRITE, 2) | PTE_PAT_HUGE;
	pte_t m = pte_set_addr(e, 0x7fe00000, 2);

	cr_assert_eq(pte_addr(m, 2), 0x7fe00000);
	cr_assert(m & PTE_PAT_HUGE);
	cr_assert(m & PTE_PS);
	cr_assert_eq(pte_flags(m, 2), PT_READ | PT_WRITE);
	cr_assert_eq(pte_addr(e, 2), 0x200000, "PAT is no address bit");

	pte_t g = pte_new_page(0x40000000, PT_READ, 3) | PTE_PAT_HUGE;
	cr_assert_eq(pte_addr(pte_set_addr(g, 0x80000000, 3), 3), 0x80000000);
	cr_assert(pte_set_addr(g, 0x80000000, 3) & PTE_PAT_HUGE);

	pte_t s = pte_new_page(0x1000, PT_READ | PT_USER, 1) | PTE_PAT_4K;
	pte_t sm = pte_set_addr(s, 0xfffff000, 1);
	cr_assert_eq(pte_addr(sm, 1), 0xfffff000);
	cr_assert(sm & PTE_PAT_4K);
	cr_assert_eq(pte_flags(sm, 1), PT_READ | PT_USER);
}

Test(paging_pte, set_flags_keeps_address_ps_a_d)
{
	for (int level = 1; level <= 3; level++)
		for (unsigned f = 1; f <= PT_FLAGS_ALL; f++) {
			if (!pt_flags_valid(f))
				continue;
			uint64_t pa = pt_level_size(level) * 3;
			pte_t e = pte_new_page(pa, PT_READ | PT_WRITE | PT_GLOBAL, level);
			pte_t m = pte_set_flags(e, f, level);

			cr_assert_eq(pte_flags(m, level), f);
			cr_assert_eq(pte_addr(m, level), pa);
			cr_assert_eq(m & (PTE_A | PTE_D), PTE_A | PTE_D);
			cr_assert_eq((m & PTE_PS) != 0, level > 1);
			cr_assert_eq(m, pte_new_page(pa, f, level));
		}
	/* Empty flags: not present, address kept. */
	pte_t e = pte_set_flags(pte_new_page(0x5000, PT_READ, 1), 0, 1);
	cr_assert(!pte_present(e));
	cr_assert_eq(pte_addr(e, 1), 0x5000);
}

Test(paging_pte, flag_name_table)
{
	unsigned all = 0;

	cr_assert_eq(pt_flag_names_count, 7);
	for (size_t i = 0; i < pt_flag_names_count; i++) {
		cr_assert_eq(__builtin_popcount(pt_flag_names[i].flag), 1);
		cr_assert_eq(all & pt_flag_names[i].flag, 0, "each flag named once");
		all |= pt_flag_names[i].flag;
		cr_assert(pt_flag_names[i].name && pt_flag_names[i].name[0]);
	}
	cr_assert_eq(all, PT_FLAGS_ALL);
	for (size_t i = 0; i < pte_bit_names_count; i++)
		cr_assert_eq(__builtin_popcountll(pte_bit_names[i].bit), 1);
}

/* pt_flags_str of f, in a static buffer. */
static const char *fstr(unsigned f)
{
	static char buf[64];

	pt_flags_str(buf, sizeof(buf), f);
	return buf;
}

Test(paging_pte, flags_str)
{
	cr_assert_str_eq(fstr(0), "-");
	cr_assert_str_eq(fstr(PT_READ), "R NX");
	cr_assert_str_eq(fstr(PT_READ | PT_WRITE), "RW NX");
	cr_assert_str_eq(fstr(PT_READ | PT_EXECUTE), "R X");
	cr_assert_str_eq(fstr(PT_READ | PT_WRITE | PT_USER), "RW NX U");
	cr_assert_str_eq(fstr(PT_READ | PT_UNCACHED), "R NX UC");
	cr_assert_str_eq(fstr(PT_READ | PT_WRITE | PT_DEVICE | PT_GLOBAL), "RW NX DEV G");
	cr_assert_str_eq(fstr(PT_FLAGS_ALL & ~PT_UNCACHED), "RW X U DEV G");
	/* Every valid set prints as distinct text: printing loses nothing. */
	char seen[128][32];
	unsigned n = 0;
	for (unsigned f = 0; f <= PT_FLAGS_ALL; f++) {
		if (!pt_flags_valid(f))
			continue;
		pt_flags_str(seen[n], sizeof(seen[n]), f);
		for (unsigned j = 0; j < n; j++)
			cr_assert_str_neq(seen[j], seen[n]);
		n++;
	}
}

Test(paging_pte, flags_str_truncates_like_snprintf)
{
	char buf[5];
	size_t full = strlen("RW NX U");

	memset(buf, 'x', sizeof(buf));
	cr_assert_eq(pt_flags_str(buf, sizeof(buf), PT_READ | PT_WRITE | PT_USER), full);
	cr_assert_str_eq(buf, "RW N");
	cr_assert_eq(pt_flags_str(NULL, 0, PT_READ | PT_WRITE | PT_USER), full);
	buf[0] = 'x';
	cr_assert_eq(pt_flags_str(buf, 1, PT_READ), strlen("R NX"));
	cr_assert_eq(buf[0], '\0');
}

/* pte_bits_str of e at level, in a static buffer. */
static const char *bstr(pte_t e, int level)
{
	static char buf[96];

	pte_bits_str(buf, sizeof(buf), e, level);
	return buf;
}

Test(paging_pte, bits_str_per_level)
{
	cr_assert_str_eq(bstr(pte_new_page(0x1000, PT_READ | PT_WRITE, 1), 1), "P W A D NX");
	cr_assert_str_eq(bstr(pte_new_page(0x200000, PT_READ | PT_WRITE, 2), 2), "P W A D PS NX");
	cr_assert_str_eq(bstr(pte_new_table(0x3000), 3), "P W U A");
	/* Bit 7 is PAT in a PTE and PS above; bit 12 is PAT only in a huge leaf. */
	cr_assert_str_eq(bstr(PTE_P | PTE_PAT_4K, 1), "P PAT");
	cr_assert_str_eq(bstr(PTE_P | PTE_PS | PTE_PAT_HUGE, 2), "P PS PAT");
	cr_assert_str_eq(bstr(PTE_P | PTE_PS | PTE_PAT_HUGE | PTE_G, 3), "P PS G PAT");
	cr_assert_str_eq(bstr(PTE_P | 0x1000, 1), "P", "bit 12 of a PTE is address");
	cr_assert_str_eq(bstr(PTE_P | 0x1000, 2), "P", "bit 12 of a table pointer is address");
	cr_assert_str_eq(bstr(PTE_P | PTE_PWT | PTE_PCD | PTE_G, 1), "P PWT PCD G");
	cr_assert_str_eq(bstr(pte_new_guard(7), 1), "GUARD(7)");
	cr_assert_str_eq(bstr(pte_new_guard(255), 3), "GUARD(255)");
	cr_assert_str_eq(bstr(0, 1), "-");
	cr_assert_eq(pte_bits_str(NULL, 0, pte_new_guard(42), 2), strlen("GUARD(42)"));
}

Test(paging_pte, canonical_addresses)
{
	cr_assert(pt_canonical(0));
	cr_assert(pt_canonical(0x00007fffffffffffull));
	cr_assert(!pt_canonical(0x0000800000000000ull));
	cr_assert(!pt_canonical(0xffff7fffffffffffull));
	cr_assert(pt_canonical(0xffff800000000000ull));
	cr_assert(pt_canonical(~0ull));
	cr_assert_eq(pt_sign_extend(0x0000800000000000ull), 0xffff800000000000ull);
	cr_assert_eq(pt_sign_extend(0x00007ffffffff000ull), 0x00007ffffffff000ull);
	cr_assert(pt_range_canonical(0x7ffffffff000ull, 0x1000));
	cr_assert(!pt_range_canonical(0x7ffffffff000ull, 0x2000), "end in the hole");
	cr_assert(!pt_range_canonical(0x7ffffffff000ull, 0xffff800000001000ull - 0x7ffffffff000ull),
		  "both ends canonical, range through the hole");
	cr_assert(pt_range_canonical(0xfffffffffffff000ull, 0x1000), "ends at 2^64");
	cr_assert(!pt_range_canonical(0xfffffffffffff000ull, 0x2000), "wraps");
	cr_assert(pt_range_canonical(0x1000, 0));
	cr_assert(!pt_range_canonical(0x0000900000000000ull, 0));
}

Test(paging_pte, strerror_names_every_error)
{
	for (int e = 0; e < PT_ERR_COUNT; e++) {
		cr_assert(pt_strerror(e) && pt_strerror(e)[0]);
		for (int f = 0; f < e; f++)
			cr_assert_str_neq(pt_strerror(e), pt_strerror(f));
	}
	cr_assert_str_eq(pt_strerror(PT_ENOTMAPPED), "not mapped");
	cr_assert(pt_strerror(PT_ERR_COUNT) != NULL);
	cr_assert(pt_strerror((enum pt_err) - 1) != NULL);
}

Test(paging_pte, flush_record)
{
	struct pt_flush f;

	pt_flush_init(&f);
	cr_assert_eq(f.kind, PT_FLUSH_NONE);
	cr_assert_eq(f.count, 0);
	pt_flush_add(&f, 0x1000);
	pt_flush_add(&f, 0x1000);
	cr_assert_eq(f.kind, PT_FLUSH_PAGES);
	cr_assert_eq(f.count, 1, "the same page is recorded once");
	pt_flush_add(&f, 0x0000800000000000ull);
	cr_assert_eq(f.va[1], 0xffff800000000000ull, "addresses are sign-extended");
	for (uint64_t i = 2; i < PT_FLUSH_MAX; i++)
		pt_flush_add(&f, i << 12);
	cr_assert_eq(f.kind, PT_FLUSH_PAGES);
	cr_assert_eq(f.count, PT_FLUSH_MAX);
	pt_flush_add(&f, 0x7777000);
	cr_assert_eq(f.kind, PT_FLUSH_ALL, "one page too many becomes a full flush");
	pt_flush_add(&f, 0x8888000);
	cr_assert_eq(f.kind, PT_FLUSH_ALL);
	pt_flush_init(&f);
	pt_flush_add_all(&f);
	cr_assert_eq(f.kind, PT_FLUSH_ALL);
	pt_flush_add(NULL, 0x1000);
	pt_flush_add_all(NULL);
}
