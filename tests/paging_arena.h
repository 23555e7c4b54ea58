/* A frame handler for the paging tests that accounts for every frame: it hands out frames from
 * a fixed arena (never PA 0), fills each with junk on the way out and back in (so a table the
 * library forgot to zero, or kept using after freeing, shows), counts double and stray frees,
 * and can be told to run out of memory after a number of allocations. */
#ifndef PW_TESTS_PAGING_ARENA_H
#define PW_TESTS_PAGING_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "paging.h"

#define ARENA_BASE_PA 0x40000000ull /* PA of frame 0: far from 0, not 2 MiB-special */
#define ARENA_JUNK    0xa5	    /* fill byte: bit 0 set, so junk entries look present */

struct arena {
	uint8_t *mem;
	size_t nframes;
	bool *live;	    /* frame i is handed out */
	size_t *free_stack; /* free frame numbers; the last freed is reused first */
	size_t nfree;
	size_t allocs, frees; /* successful calls */
	size_t fail_after;    /* alloc_frame returns 0 once allocs reaches this */
	size_t double_frees;  /* frees of a frame that was not handed out */
	size_t stray_frees;   /* frees of an address outside the arena or unaligned */
	size_t dead_touches;  /* phys_to_virt of a frame that is not handed out */
	struct pt_handler h;
};

/* Set up an arena of nframes frames; never fails (aborts the test run on malloc failure). */
void arena_init(struct arena *a, size_t nframes);

/* Release the arena's memory. */
void arena_fini(struct arena *a);

/* Frames handed out and not yet freed. */
size_t arena_live(const struct arena *a);

/* True if no bad free or access happened. */
bool arena_clean(const struct arena *a);

/* True if pa is a frame the arena handed out and has not taken back. */
bool arena_is_live(const struct arena *a, uint64_t pa);

/* ---- Fixture and checks shared by the paging tests (they fail the running test) ---- */

/* An arena of nframes frames and an empty table on it. */
void paging_fixture(struct arena *a, struct pt *pt, size_t nframes, unsigned features);

/* Destroy the table and check the accounting: every frame handed out came back exactly once,
 * no stray or double free, no access to a freed frame. Releases the arena. */
void paging_fixture_end(struct arena *a, struct pt *pt);

/* Every 4 KiB page of [va, va + len) translates to pa + offset with flags (effective) through
 * a leaf of page_size (0: any size). */
void expect_mapped(const struct pt *pt, uint64_t va, uint64_t len, uint64_t pa, unsigned flags,
		   uint64_t page_size);

/* No 4 KiB page of [va, va + len) translates. */
void expect_unmapped(const struct pt *pt, uint64_t va, uint64_t len);

/* The entry pt_lookup finds for va without allocating, and its level. */
pte_t entry_at(const struct pt *pt, uint64_t va, int *level);

#endif
