/* The accounting frame handler of the paging tests, and the fixture and checks they share
 * (see paging_arena.h). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "paging_arena.h"

/* Frame number of pa, or nframes if pa is no frame of a. */
static size_t arena_frame(const struct arena *a, uint64_t pa)
{
	if (pa < ARENA_BASE_PA || (pa & (PT_SIZE_4K - 1)))
		return a->nframes;
	uint64_t i = (pa - ARENA_BASE_PA) / PT_SIZE_4K;
	return i < a->nframes ? (size_t)i : a->nframes;
}

static uint64_t arena_alloc(void *ctx)
{
	struct arena *a = ctx;

	if (a->allocs >= a->fail_after || a->nfree == 0)
		return 0;
	size_t i = a->free_stack[--a->nfree];
	a->live[i] = true;
	a->allocs++;
	memset(a->mem + i * PT_SIZE_4K, ARENA_JUNK, PT_SIZE_4K);
	return ARENA_BASE_PA + i * PT_SIZE_4K;
}

static void arena_free(void *ctx, uint64_t pa)
{
	struct arena *a = ctx;
	size_t i = arena_frame(a, pa);

	if (i == a->nframes) {
		a->stray_frees++;
		return;
	}
	if (!a->live[i]) {
		a->double_frees++;
		return;
	}
	a->live[i] = false;
	a->frees++;
	memset(a->mem + i * PT_SIZE_4K, ARENA_JUNK, PT_SIZE_4K);
	a->free_stack[a->nfree++] = i;
}

static void *arena_virt(void *ctx, uint64_t pa)
{
	struct arena *a = ctx;
	size_t i = arena_frame(a, pa & ~(PT_SIZE_4K - 1));

	if (i == a->nframes || !a->live[i]) {
		a->dead_touches++;
		/* Keep the library's memory accesses safe; the test fails on dead_touches. */
		return a->mem;
	}
	return a->mem + (pa - ARENA_BASE_PA);
}

void arena_init(struct arena *a, size_t nframes)
{
	memset(a, 0, sizeof(*a));
	a->mem = aligned_alloc(PT_SIZE_4K, nframes * PT_SIZE_4K);
	a->live = calloc(nframes, sizeof(*a->live));
	a->free_stack = malloc(nframes * sizeof(*a->free_stack));
	if (!a->mem || !a->live || !a->free_stack)
		abort();
	a->nframes = nframes;
	/* Lowest frame on top of the stack: hand frames out in address order. */
	for (size_t i = 0; i < nframes; i++)
		a->free_stack[i] = nframes - 1 - i;
	a->nfree = nframes;
	a->fail_after = SIZE_MAX;
	a->h.ctx = a;
	a->h.alloc_frame = arena_alloc;
	a->h.free_frame = arena_free;
	a->h.phys_to_virt = arena_virt;
}

void arena_fini(struct arena *a)
{
	free(a->mem);
	free(a->live);
	free(a->free_stack);
	memset(a, 0, sizeof(*a));
}

size_t arena_live(const struct arena *a)
{
	return a->allocs - a->frees;
}

bool arena_clean(const struct arena *a)
{
	return a->double_frees == 0 && a->stray_frees == 0 && a->dead_touches == 0;
}

bool arena_is_live(const struct arena *a, uint64_t pa)
{
	size_t i = arena_frame(a, pa);

	return i < a->nframes && a->live[i];
}

void paging_fixture(struct arena *a, struct pt *pt, size_t nframes, unsigned features)
{
	arena_init(a, nframes);
	cr_assert_eq(pt_init(pt, &a->h, 0, features), PT_OK);
}

void paging_fixture_end(struct arena *a, struct pt *pt)
{
	pt_destroy(pt);
	cr_assert_eq(pt->root, 0);
	cr_assert_eq(arena_live(a), 0, "%zu frames handed out were never freed", arena_live(a));
	cr_assert(arena_clean(a), "double frees %zu, stray frees %zu, touches of freed frames %zu",
		  a->double_frees, a->stray_frees, a->dead_touches);
	arena_fini(a);
}

void expect_mapped(const struct pt *pt, uint64_t va, uint64_t len, uint64_t pa, unsigned flags,
		   uint64_t page_size)
{
	for (uint64_t off = 0; off < len; off += PT_SIZE_4K) {
		uint64_t got_pa, got_size;
		unsigned got_flags;
		enum pt_err err = pt_query(pt, va + off, &got_pa, &got_flags, &got_size);

		cr_assert_eq(err, PT_OK, "va 0x%llx: %s", (unsigned long long)(va + off),
			     pt_strerror(err));
		cr_assert_eq(got_pa, pa + off, "va 0x%llx: pa 0x%llx, expected 0x%llx",
			     (unsigned long long)(va + off), (unsigned long long)got_pa,
			     (unsigned long long)(pa + off));
		cr_assert_eq(got_flags, flags, "va 0x%llx: flags 0x%x, expected 0x%x",
			     (unsigned long long)(va + off), got_flags, flags);
		if (page_size)
			cr_assert_eq(got_size, page_size,
				     "va 0x%llx: page size 0x%llx, expected 0x%llx",
				     (unsigned long long)(va + off), (unsigned long long)got_size,
				     (unsigned long long)page_size);
	}
}

void expect_unmapped(const struct pt *pt, uint64_t va, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += PT_SIZE_4K)
		cr_assert_eq(pt_query(pt, va + off, NULL, NULL, NULL), PT_ENOTMAPPED, "va 0x%llx",
			     (unsigned long long)(va + off));
}

pte_t entry_at(const struct pt *pt, uint64_t va, int *level)
{
	pte_t *e;
	int l;

	cr_assert_eq(pt_lookup(pt, va, 1, false, &e, &l), PT_OK);
	if (level)
		*level = l;
	return *e;
}
