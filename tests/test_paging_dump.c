/* Reading whole tables: pt_walk's order and reports, the coalescing dumper, and the one-line
 * range format. */
#include <criterion/criterion.h>
#include <string.h>

#include "paging.h"
#include "paging_arena.h"

#define RW (PT_READ | PT_WRITE)
#define RX (PT_READ | PT_EXECUTE)
#define G1 PT_SIZE_1G
#define M2 PT_SIZE_2M
#define K4 PT_SIZE_4K

static struct arena a;
static struct pt pt;

struct seen {
	int n;
	int level[64];
	uint64_t va[64];
	pte_t pte[64];
	int stop_at; /* return nonzero at this visit */
};

static int record(void *arg, int level, uint64_t va, pte_t *entry)
{
	struct seen *s = arg;

	cr_assert_lt(s->n, 64);
	s->level[s->n] = level;
	s->va[s->n] = va;
	s->pte[s->n] = *entry;
	s->n++;
	return s->n == s->stop_at ? 77 : 0;
}

Test(paging_dump, walk_visits_leaves_and_guards_in_va_order)
{
	struct seen s = {0};

	paging_fixture(&a, &pt, 64, PT_FEAT_1G);
	cr_assert_eq(pt_map(&pt, 0xfffffffffffff000ull, 0x1000, K4, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 0xffff800000000000ull, G1, G1, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 0x400000, 0, M2, RX, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 0x3000, 0x5000, K4, RW, NULL), PT_OK);
	cr_assert_eq(pt_set_guard(&pt, 0, K4, 1, NULL), PT_OK);
	cr_assert_eq(pt_set_guard(&pt, 0x600000, M2, 2, NULL), PT_OK);
	cr_assert_eq(pt_walk(&pt, record, &s), 0);
	cr_assert_eq(s.n, 6);
	static const uint64_t va[] = {
	    0, 0x3000, 0x400000, 0x600000, 0xffff800000000000ull, 0xfffffffffffff000ull};
	static const int level[] = {1, 1, 2, 2, 3, 1};
	for (int i = 0; i < 6; i++) {
		cr_assert_eq(s.va[i], va[i], "visit %d: va 0x%llx", i, (unsigned long long)s.va[i]);
		cr_assert_eq(s.level[i], level[i], "visit %d", i);
	}
	cr_assert(pte_is_guard(s.pte[0]) && pte_guard_kind(s.pte[0]) == 1);
	cr_assert_eq(pte_addr(s.pte[1], 1), 0x5000);
	cr_assert(pte_is_guard(s.pte[3]) && pte_guard_kind(s.pte[3]) == 2);
	cr_assert_eq(pte_addr(s.pte[4], 3), G1);

	/* A nonzero return stops the walk and is passed on. */
	memset(&s, 0, sizeof(s));
	s.stop_at = 3;
	cr_assert_eq(pt_walk(&pt, record, &s), 77);
	cr_assert_eq(s.n, 3);
	paging_fixture_end(&a, &pt);
}

static int write_protect(void *arg, int level, uint64_t va, pte_t *entry)
{
	(void)arg;
	(void)va;
	if (pte_leaf(*entry, level))
		*entry = pte_set_flags(*entry, PT_READ, level);
	return 0;
}

Test(paging_dump, walk_entries_are_writable)
{
	paging_fixture(&a, &pt, 64, 0);
	cr_assert_eq(pt_map_region(&pt, 0, 0, M2 + 2 * K4, RW, PT_MAP_HUGE, NULL), PT_OK);
	cr_assert_eq(pt_walk(&pt, write_protect, NULL), 0);
	expect_mapped(&pt, 0, M2 + 2 * K4, 0, PT_READ, 0);
	paging_fixture_end(&a, &pt);
}

struct ranges {
	int n;
	struct pt_range r[32];
};

static void collect(void *arg, const struct pt_range *r)
{
	struct ranges *rs = arg;

	cr_assert_lt(rs->n, 32);
	rs->r[rs->n++] = *r;
}

/* Check range i of rs. */
static void expect_range(const struct ranges *rs, int i, uint64_t start, uint64_t end, uint64_t pa,
			 uint64_t page_size, unsigned flags, unsigned guard)
{
	const struct pt_range *r = &rs->r[i];

	cr_assert_lt(i, rs->n);
	cr_assert_eq(r->start, start, "range %d start 0x%llx", i, (unsigned long long)r->start);
	cr_assert_eq(r->end, end, "range %d end 0x%llx", i, (unsigned long long)r->end);
	cr_assert_eq(r->page_size, page_size, "range %d page size 0x%llx", i,
		     (unsigned long long)r->page_size);
	cr_assert_eq(r->guard_kind, guard, "range %d", i);
	if (!guard) {
		cr_assert_eq(r->pa, pa, "range %d pa 0x%llx", i, (unsigned long long)r->pa);
		cr_assert_eq(r->flags, flags, "range %d flags 0x%x", i, r->flags);
	}
}

Test(paging_dump, dump_coalesces_like_ptdump)
{
	struct ranges rs = {0};

	paging_fixture(&a, &pt, 64, PT_FEAT_1G);
	/* guard | 4K RW x3 | 4K R X (PA jump) | hole | 4K RW x2 (PA jump) ... */
	cr_assert_eq(pt_set_guard(&pt, 0, K4, 1, NULL), PT_OK);
	cr_assert_eq(pt_map_region(&pt, K4, K4, 3 * K4, RW, 0, NULL), PT_OK);
	cr_assert_eq(pt_map_region(&pt, 4 * K4, 4 * K4, 2 * K4, RX, 0, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 8 * K4, 0x100000, K4, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 9 * K4, 0x300000, K4, RW, NULL), PT_OK);
	/* 4K guards running into a 2M guard of the same kind: one range. */
	cr_assert_eq(pt_set_guard(&pt, M2 - 2 * K4, M2 + 2 * K4, 3, NULL), PT_OK);
	/* 2M pages then 4K pages with contiguous PAs: two ranges (page size differs). */
	cr_assert_eq(pt_map_region(&pt, 4 * M2, 4 * M2, M2 + 2 * K4, RW, PT_MAP_HUGE, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, G1, G1, G1, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 2 * G1, 2 * G1, G1, RW, NULL), PT_OK);
	cr_assert_eq(pt_map(&pt, 0xffff800000000000ull, 0, M2, RX, NULL), PT_OK);
	pt_dump(&pt, collect, &rs);
	cr_assert_eq(rs.n, 10);
	expect_range(&rs, 0, 0, K4, 0, K4, 0, 1);
	expect_range(&rs, 1, K4, 4 * K4, K4, K4, RW, 0);
	expect_range(&rs, 2, 4 * K4, 6 * K4, 4 * K4, K4, RX, 0);
	expect_range(&rs, 3, 8 * K4, 9 * K4, 0x100000, K4, RW, 0);
	expect_range(&rs, 4, 9 * K4, 10 * K4, 0x300000, K4, RW, 0);
	expect_range(&rs, 5, M2 - 2 * K4, 2 * M2, 0, K4, 0, 3);
	expect_range(&rs, 6, 4 * M2, 5 * M2, 4 * M2, M2, RW, 0);
	expect_range(&rs, 7, 5 * M2, 5 * M2 + 2 * K4, 5 * M2, K4, RW, 0);
	expect_range(&rs, 8, G1, 3 * G1, G1, G1, RW, 0);
	expect_range(&rs, 9, 0xffff800000000000ull, 0xffff800000200000ull, 0, M2, RX, 0);
	paging_fixture_end(&a, &pt);
}

Test(paging_dump, dump_shows_effective_rights)
{
	struct ranges rs = {0};
	pte_t *e;
	int level;

	paging_fixture(&a, &pt, 64, 0);
	cr_assert_eq(pt_map(&pt, 0, 0, K4, RW | PT_EXECUTE, NULL), PT_OK);
	cr_assert_eq(pt_lookup(&pt, 0, 3, false, &e, &level), PT_OK);
	*e |= PTE_NX;
	*e &= ~PTE_W;
	pt_dump(&pt, collect, &rs);
	cr_assert_eq(rs.n, 1);
	cr_assert_eq(rs.r[0].flags, PT_READ);
	paging_fixture_end(&a, &pt);
}

Test(paging_dump, dump_of_an_empty_table)
{
	struct ranges rs = {0};
	pte_t *e;
	int level;

	paging_fixture(&a, &pt, 8, 0);
	pt_dump(&pt, collect, &rs);
	cr_assert_eq(rs.n, 0);
	/* A marker of kind 0 is no guard the library writes: shown as a hole. */
	cr_assert_eq(pt_lookup(&pt, 0x1000, 1, true, &e, &level), PT_OK);
	*e = pte_new_guard(0);
	pt_dump(&pt, collect, &rs);
	cr_assert_eq(rs.n, 0);
	paging_fixture_end(&a, &pt);
}

static const char *guard_name(unsigned kind)
{
	return kind == 1 ? "null" : kind == 2 ? "stack" : NULL;
}

Test(paging_dump, format_range)
{
	char buf[128];
	struct pt_range r = {0x1000, 0x200000, 0x1000, K4, RW, 0};

	cr_assert_eq(pt_format_range(buf, sizeof(buf), &r, NULL), strlen(buf));
	cr_assert_str_eq(buf, "0000000000001000-0000000000200000 00000000001ff000 4K  RW NX");
	r = (struct pt_range){0, 0x1000, 0, K4, 0, 1};
	pt_format_range(buf, sizeof(buf), &r, guard_name);
	cr_assert_str_eq(buf, "0000000000000000-0000000000001000 0000000000001000 4K  guard(null)");
	r.guard_kind = 9;
	pt_format_range(buf, sizeof(buf), &r, guard_name);
	cr_assert_str_eq(buf, "0000000000000000-0000000000001000 0000000000001000 4K  guard(9)",
			 "no name: the number");
	pt_format_range(buf, sizeof(buf), &r, NULL);
	cr_assert_str_eq(buf, "0000000000000000-0000000000001000 0000000000001000 4K  guard(9)");
	r = (struct pt_range){0xffffffffc0000000ull, 0, 0, G1, RX | PT_GLOBAL, 0};
	pt_format_range(buf, sizeof(buf), &r, NULL);
	cr_assert_str_eq(buf, "ffffffffc0000000-0000000000000000 0000000040000000 1G  R X G");
	r = (struct pt_range){0x200000, 0x600000, 0, M2, PT_READ | PT_DEVICE, 0};
	pt_format_range(buf, sizeof(buf), &r, NULL);
	cr_assert_str_eq(buf, "0000000000200000-0000000000600000 0000000000400000 2M  R NX DEV");
	r = (struct pt_range){0, 1ull << 39, 0, 1ull << 39, 0, 4};
	pt_format_range(buf, sizeof(buf), &r, NULL);
	cr_assert_str_eq(buf, "0000000000000000-0000008000000000 0000008000000000 512G guard(4)");
}

Test(paging_dump, format_range_truncates_like_snprintf)
{
	char buf[40], full[128];
	struct pt_range r = {0x1000, 0x200000, 0x1000, K4, RW | PT_USER, 0};
	size_t len = pt_format_range(full, sizeof(full), &r, NULL);

	for (size_t n = 0; n < sizeof(buf); n++) {
		memset(buf, 'x', sizeof(buf));
		cr_assert_eq(pt_format_range(buf, n, &r, NULL), len);
		if (n > 0) {
			cr_assert_eq(strlen(buf), n - 1);
			cr_assert(strncmp(buf, full, n - 1) == 0);
		} else {
			cr_assert_eq(buf[0], 'x', "n = 0 writes nothing");
		}
	}
	r.guard_kind = 2;
	len = pt_format_range(full, sizeof(full), &r, guard_name);
	cr_assert_eq(pt_format_range(buf, 20, &r, guard_name), len);
	cr_assert_eq(strlen(buf), 19);
}
