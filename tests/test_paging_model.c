/* A randomized model test: thousands of seeded, reproducible random region operations, each
 * checked against a plain reference model (one record per 4 KiB page: hole, guard of a kind, or
 * PA + flags). After every step, sampled pages and the edges of the step's range must agree
 * with the model, and every translation that changed must be covered by the TLB report; every
 * few steps pt_walk must reproduce the whole model exactly. At the end, unmapping everything
 * with PT_FREE_TABLES must leave only the root, and destroy must free it.
 *
 * PW_SEED=n runs seed n only (each failure message names the seed and the step). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_rng.h"
#include "paging.h"
#include "paging_arena.h"

#define K4 PT_SIZE_4K
#define M2 PT_SIZE_2M
#define G1 PT_SIZE_1G

#define MODEL_STEPS	 2500
#define MODEL_FULL_EVERY 50
#define MODEL_FRAMES	 12288 /* more than the windows can ever need */

/* The VA windows the operations stay in: the bottom of the lower half, the top of the lower
 * half (ranges end at the hole), the top of the upper half (ranges end at 2^64). */
static const struct window {
	uint64_t start, size;
} windows[] = {
    {0, 4 * G1},
    {(1ull << 47) - 2 * G1, 2 * G1},
    {0xffffffff80000000ull, 2 * G1},
};
#define NWINDOWS (sizeof(windows) / sizeof(windows[0]))

/* A model page: 0 hole; GUARD | kind; MAPPED | pa | flags. */
#define M_GUARD	 (1ull << 63)
#define M_MAPPED (1ull << 62)

struct model {
	uint64_t *page;
	size_t npages;
	size_t first[NWINDOWS]; /* index of each window's first page */
	size_t mapped, guarded; /* counts, kept as pages change */
};

static struct arena a;
static struct pt pt;
static struct model m;
static char where[160]; /* "seed S step N: op ..." for failure messages */

/* Index of the model page holding va, or (size_t)-1 if va is in no window. */
static size_t page_index(uint64_t va)
{
	for (size_t w = 0; w < NWINDOWS; w++)
		if (va - windows[w].start < windows[w].size)
			return m.first[w] + (size_t)((va - windows[w].start) / K4);
	return (size_t)-1;
}

static void model_set(size_t i, uint64_t v)
{
	uint64_t old = m.page[i];

	m.mapped -= (old & M_MAPPED) != 0;
	m.guarded -= (old & M_GUARD) != 0;
	m.mapped += (v & M_MAPPED) != 0;
	m.guarded += (v & M_GUARD) != 0;
	m.page[i] = v;
}

static void model_init(void)
{
	size_t n = 0;

	for (size_t w = 0; w < NWINDOWS; w++) {
		m.first[w] = n;
		n += windows[w].size / K4;
	}
	m.page = calloc(n, sizeof(*m.page));
	cr_assert_not_null(m.page);
	m.npages = n;
	m.mapped = m.guarded = 0;
}

/* The valid non-empty flag sets. */
static unsigned valid_flags[64];
static unsigned nvalid;

static unsigned random_flags(void)
{
	if (!nvalid)
		for (unsigned f = 1; f <= PT_FLAGS_ALL; f++)
			if (pt_flags_valid(f))
				valid_flags[nvalid++] = f;
	return valid_flags[below(nvalid)];
}

/* What the table says about one page, compared with the model. */
struct probe {
	uint64_t va;
	enum pt_err err;
	uint64_t pa, size;
	unsigned flags;
};

static void probe_read(struct probe *p)
{
	p->pa = p->size = 0;
	p->flags = 0;
	p->err = pt_query(&pt, p->va, &p->pa, &p->flags, &p->size);
}

/* The table agrees with the model at page va. */
static void check_page(uint64_t va)
{
	size_t i = page_index(va);
	uint64_t want = m.page[i], pa, size;
	unsigned flags;
	enum pt_err err = pt_query(&pt, va, &pa, &flags, &size);

	if (want & M_MAPPED) {
		cr_assert_eq(err, PT_OK, "%s: va 0x%llx should be mapped: %s", where,
			     (unsigned long long)va, pt_strerror(err));
		cr_assert_eq(pa, want & PTE_ADDR_MASK_4K, "%s: va 0x%llx pa 0x%llx, model 0x%llx",
			     where, (unsigned long long)va, (unsigned long long)pa,
			     (unsigned long long)(want & PTE_ADDR_MASK_4K));
		cr_assert_eq(flags, (unsigned)(want & PT_FLAGS_ALL),
			     "%s: va 0x%llx flags 0x%x/0x%x", where, (unsigned long long)va, flags,
			     (unsigned)(want & PT_FLAGS_ALL));
		return;
	}
	cr_assert_eq(err, PT_ENOTMAPPED, "%s: va 0x%llx should not be mapped", where,
		     (unsigned long long)va);
	pte_t e = entry_at(&pt, va, NULL);
	cr_assert_eq(pte_is_guard(e), (want & M_GUARD) != 0, "%s: va 0x%llx guard %d, model %d",
		     where, (unsigned long long)va, pte_is_guard(e), (want & M_GUARD) != 0);
	if (want & M_GUARD)
		cr_assert_eq(pte_guard_kind(e), (unsigned)(want & 0xff), "%s: va 0x%llx kind",
			     where, (unsigned long long)va);
}

/* pt_walk callback: every page of every leaf and guard matches the model; count them. */
static int check_entry(void *arg, int level, uint64_t va, pte_t *entry)
{
	size_t *counts = arg;
	uint64_t span = pt_level_span(level);
	bool guard = pte_is_guard(*entry);

	for (uint64_t off = 0; off < span; off += K4) {
		size_t i = page_index(va + off);

		cr_assert_neq(i, (size_t)-1, "%s: entry at 0x%llx (level %d) outside the windows",
			      where, (unsigned long long)(va + off), level);
		uint64_t want = m.page[i];
		if (guard) {
			cr_assert_eq(want, M_GUARD | pte_guard_kind(*entry),
				     "%s: guard at 0x%llx, model 0x%llx", where,
				     (unsigned long long)(va + off), (unsigned long long)want);
		} else {
			uint64_t got =
			    M_MAPPED | (pte_addr(*entry, level) + off) | pte_flags(*entry, level);
			cr_assert_eq(got, want, "%s: page 0x%llx is 0x%llx, model 0x%llx", where,
				     (unsigned long long)(va + off), (unsigned long long)got,
				     (unsigned long long)want);
		}
	}
	counts[guard] += span / K4;
	return 0;
}

/* The whole table equals the model. */
static void check_all(void)
{
	size_t counts[2] = {0, 0};

	pt_walk(&pt, check_entry, counts);
	cr_assert_eq(counts[0], m.mapped, "%s: %zu pages mapped, model %zu", where, counts[0],
		     m.mapped);
	cr_assert_eq(counts[1], m.guarded, "%s: %zu guard pages, model %zu", where, counts[1],
		     m.guarded);
}

/* True if f makes the CPU forget a translation of va held by a leaf of size. */
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

/* A random range inside a random window: mostly small, sometimes 2M/1G aligned and large.
 * Returns true for a whole 1G-aligned range of 1 or 2 GiB. */
static bool random_range(uint64_t *va, uint64_t *len)
{
	const struct window *w = &windows[below(NWINDOWS)];
	uint64_t pages = w->size / K4, first, n;
	unsigned kind = (unsigned)below(100);

	if (kind < 45) {
		first = below(pages);
		n = 1 + below(16);
	} else if (kind < 80) {
		first = below(pages);
		if (chance(50))
			first &= ~(uint64_t)511;
		n = 1 + below(chance(50) ? 1536 : 512);
		if (chance(40))
			n = (n + 511) & ~(uint64_t)511;
	} else if (kind < 95) {
		first = below(pages) & ~(uint64_t)(chance(50) ? 511 : 262143);
		if (chance(30))
			first += below(4);
		n = 512 * (1 + below(700)) + (chance(30) ? below(3) : 0);
	} else {
		first = below(pages) & ~(uint64_t)262143;
		n = 262144 * (1 + below(2));
	}
	if (n > pages - first)
		n = pages - first;
	*va = w->start + first * K4;
	*len = n * K4;
	return kind >= 95;
}

/* Apply map_region's effect to the model; returns the expected result. */
static enum pt_err model_map(uint64_t va, uint64_t pa, uint64_t len, unsigned flags)
{
	for (uint64_t off = 0; off < len; off += K4)
		if (m.page[page_index(va + off)] & M_MAPPED)
			return PT_EEXIST;
	for (uint64_t off = 0; off < len; off += K4)
		model_set(page_index(va + off), M_MAPPED | (pa + off) | flags);
	return PT_OK;
}

/* Pages that map_region maps before it meets a mapped one: the model's half of PT_EEXIST. */
static void model_map_prefix(uint64_t va, uint64_t pa, uint64_t len, unsigned flags)
{
	for (uint64_t off = 0; off < len; off += K4) {
		size_t i = page_index(va + off);

		if (m.page[i] & M_MAPPED)
			return;
		model_set(i, M_MAPPED | (pa + off) | flags);
	}
}

#define NPROBES 40

static uint64_t last_map_va;

/* Run one random step and check it. */
static void model_step(uint64_t seed, int step)
{
	uint64_t va, len, pa;
	struct probe before[NPROBES];
	struct pt_flush f;
	enum pt_err err, want = PT_OK;
	unsigned flags, opts, op = (unsigned)below(100);
	int np = 0;
	bool atomic_refusal = false; /* PT_EHUGE allowed, then nothing may change */

	bool whole = random_range(&va, &len);
	/* Probes: the range's edges and neighbours, pages inside it, pages anywhere. */
	uint64_t edges[] = {va, va + len - K4, va - K4, va + len, va + (len / 2 & ~(K4 - 1))};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		if (page_index(edges[i]) != (size_t)-1)
			before[np++].va = edges[i];
	while (np < 20)
		before[np++].va = va + below(len / K4) * K4;
	while (np < NPROBES) {
		const struct window *w = &windows[below(NWINDOWS)];

		before[np++].va = w->start + below(w->size / K4) * K4;
	}
	for (int i = 0; i < np; i++)
		probe_read(&before[i]);

	pt_flush_init(&f);
	if (op < 35) {
		/* Often keep pa and va congruent modulo 1G so huge pages are possible. */
		pa = chance(60) ? (va & (G1 - 1)) + below(64) * G1 : below(1ull << 28) * K4;
		flags = random_flags();
		opts = chance(70) ? PT_MAP_HUGE : 0;
		snprintf(where, sizeof(where),
			 "seed %llu step %d: map_region va 0x%llx pa 0x%llx len 0x%llx flags 0x%x "
			 "opts %u",
			 (unsigned long long)seed, step, (unsigned long long)va,
			 (unsigned long long)pa, (unsigned long long)len, flags, opts);
		if (whole) {
			/* Clear the range and its tables first, so that 1G pages can go there. */
			cr_assert_eq(pt_unmap_region(&pt, va, len, PT_FREE_TABLES, &f), PT_OK, "%s",
				     where);
			for (uint64_t off = 0; off < len; off += K4)
				model_set(page_index(va + off), 0);
		}
		err = pt_map_region(&pt, va, pa, len, flags, opts, &f);
		want = model_map(va, pa, len, flags);
		if (want == PT_EEXIST)
			model_map_prefix(va, pa, len, flags);
		last_map_va = va;
	} else if (op < 60) {
		opts = (chance(50) ? PT_FREE_TABLES : 0) | (chance(15) ? PT_MAP_NO_SPLIT : 0);
		snprintf(where, sizeof(where),
			 "seed %llu step %d: unmap_region va 0x%llx len 0x%llx opts %u",
			 (unsigned long long)seed, step, (unsigned long long)va,
			 (unsigned long long)len, opts);
		err = pt_unmap_region(&pt, va, len, opts, &f);
		atomic_refusal = opts & PT_MAP_NO_SPLIT;
		if (err != PT_EHUGE || !atomic_refusal)
			for (uint64_t off = 0; off < len; off += K4)
				model_set(page_index(va + off), 0);
	} else if (op < 82) {
		flags = random_flags();
		opts = chance(15) ? PT_MAP_NO_SPLIT : 0;
		snprintf(
		    where, sizeof(where),
		    "seed %llu step %d: protect_region va 0x%llx len 0x%llx flags 0x%x opts %u",
		    (unsigned long long)seed, step, (unsigned long long)va, (unsigned long long)len,
		    flags, opts);
		err = pt_protect_region(&pt, va, len, flags, opts, &f);
		atomic_refusal = opts & PT_MAP_NO_SPLIT;
		if (err != PT_EHUGE || !atomic_refusal)
			for (uint64_t off = 0; off < len; off += K4) {
				size_t i = page_index(va + off);

				if (m.page[i] & M_MAPPED)
					model_set(i, (m.page[i] & ~(uint64_t)PT_FLAGS_ALL) | flags);
			}
	} else if (op < 92) {
		unsigned kind = 1 + (unsigned)below(255);

		snprintf(where, sizeof(where),
			 "seed %llu step %d: set_guard va 0x%llx len 0x%llx kind %u",
			 (unsigned long long)seed, step, (unsigned long long)va,
			 (unsigned long long)len, kind);
		if (whole)
			cr_assert_eq(pt_unmap_region(&pt, va, len, PT_FREE_TABLES, &f), PT_OK, "%s",
				     where);
		err = pt_set_guard(&pt, va, len, kind, &f);
		for (uint64_t off = 0; off < len; off += K4)
			model_set(page_index(va + off), M_GUARD | kind);
	} else {
		/* Page-size changes never change a translation. */
		uint64_t at = chance(50) ? last_map_va : va;
		int level = 1 + (int)below(2);
		bool merge = chance(60);

		snprintf(where, sizeof(where), "seed %llu step %d: %s va 0x%llx level %d",
			 (unsigned long long)seed, step, merge ? "merge" : "split",
			 (unsigned long long)at, level);
		err = merge ? pt_merge(&pt, at, level, &f) : pt_split(&pt, at, &f);
		cr_assert(err == PT_OK || err == PT_EEXIST || err == PT_ENOTMAPPED, "%s: %s", where,
			  pt_strerror(err));
		if (!merge && err == PT_ENOTMAPPED)
			cr_assert_eq(m.page[page_index(at)] & M_MAPPED, 0, "%s", where);
		want = err;
	}
	if (atomic_refusal && err == PT_EHUGE)
		want = PT_EHUGE;
	cr_assert_eq(err, want, "%s: got %s, expected %s", where, pt_strerror(err),
		     pt_strerror(want));

	for (int i = 0; i < np; i++) {
		struct probe now = {.va = before[i].va};

		check_page(before[i].va);
		probe_read(&now);
		if (before[i].err == PT_OK &&
		    (now.err != PT_OK || now.pa != before[i].pa || now.flags != before[i].flags))
			cr_assert(flush_covers(&f, before[i].va, before[i].size),
				  "%s: translation of 0x%llx changed but no flush covers it", where,
				  (unsigned long long)before[i].va);
		if (atomic_refusal && err == PT_EHUGE)
			cr_assert(now.err == before[i].err && now.pa == before[i].pa &&
				      now.flags == before[i].flags,
				  "%s: refused, yet 0x%llx changed", where,
				  (unsigned long long)before[i].va);
	}
	if (step % MODEL_FULL_EVERY == 0)
		check_all();
}

/* Run the model for one seed, then tear down with full accounting. */
static void run_model(uint64_t seed)
{
	rng = seed;
	last_map_va = 0;
	model_init();
	paging_fixture(&a, &pt, MODEL_FRAMES, PT_FEAT_1G);
	for (int step = 1; step <= MODEL_STEPS; step++)
		model_step(seed, step);
	snprintf(where, sizeof(where), "seed %llu: final", (unsigned long long)seed);
	check_all();
	cr_assert(arena_clean(&a), "%s: bad free or access of a freed frame", where);
	/* Everything unmapped with PT_FREE_TABLES: only the root is left. */
	for (size_t w = 0; w < NWINDOWS; w++)
		cr_assert_eq(
		    pt_unmap_region(&pt, windows[w].start, windows[w].size, PT_FREE_TABLES, NULL),
		    PT_OK);
	cr_assert_eq(arena_live(&a), 1, "%s: %zu frames left after unmapping all", where,
		     arena_live(&a));
	paging_fixture_end(&a, &pt);
	free(m.page);
}

/* The seeds: PW_SEED if set (then only for the first test), else a fixed list. */
static void run_seed_slot(int slot)
{
	static const uint64_t seeds[] = {1, 2, 0x5eed, 0xdecafbad};
	const char *env = getenv("PW_SEED");

	if (env && *env) {
		if (slot == 0)
			run_model(strtoull(env, NULL, 0));
		return;
	}
	run_model(seeds[slot]);
}

Test(paging_model, seed_slot_0, .timeout = 120)
{
	run_seed_slot(0);
}

Test(paging_model, seed_slot_1, .timeout = 120)
{
	run_seed_slot(1);
}

Test(paging_model, seed_slot_2, .timeout = 120)
{
	run_seed_slot(2);
}

Test(paging_model, seed_slot_3, .timeout = 120)
{
	run_seed_slot(3);
}
