/* Fuzz target: random map/unmap/protect/remap/query sequences on the paging library, checked
 * against a reference model: an array saying what each 4 KiB page of a small window maps. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "paging.h"

#define FZ_PAGES  64 /* the window: 64 pages, across a 2 MiB boundary */
#define FZ_VA	  0x7fffffe00000ull - 32 * PT_SIZE_4K
#define FZ_FRAMES 64 /* table frames available */
#define FZ_OPS	  256

struct fz_page {
	bool mapped;
	uint64_t pa;
	unsigned flags;
};

struct fz_arena {
	uint8_t mem[FZ_FRAMES][4096] __attribute__((aligned(4096)));
	bool used[FZ_FRAMES];
};

static uint64_t fz_alloc(void *ctx)
{
	struct fz_arena *a = ctx;

	for (int i = 0; i < FZ_FRAMES; i++)
		if (!a->used[i]) {
			a->used[i] = true;
			return (uint64_t)(i + 1) * 4096; /* never 0 */
		}
	return 0;
}

static void fz_free(void *ctx, uint64_t pa)
{
	struct fz_arena *a = ctx;
	uint64_t i = pa / 4096 - 1;

	if (pa % 4096 || pa == 0 || i >= FZ_FRAMES || !a->used[i])
		abort(); /* a stray or double free */
	a->used[i] = false;
}

static void *fz_virt(void *ctx, uint64_t pa)
{
	struct fz_arena *a = ctx;
	uint64_t i = pa / 4096 - 1;

	if (pa % 4096 || pa == 0 || i >= FZ_FRAMES || !a->used[i])
		abort(); /* the library followed an entry to a frame it does not own */
	return a->mem[i];
}

/* The model and the table agree on page i. */
static void fz_check(const struct pt *pt, const struct fz_page *m, int i)
{
	uint64_t pa, size;
	unsigned flags;
	enum pt_err err = pt_query(pt, FZ_VA + (uint64_t)i * 4096, &pa, &flags, &size);

	if (!m[i].mapped) {
		if (err != PT_ENOTMAPPED)
			abort();
		return;
	}
	if (err != PT_OK || pa != m[i].pa || flags != m[i].flags || size != PT_SIZE_4K)
		abort();
}

/* Valid, non-empty flags from a byte. */
static unsigned fz_flags(uint8_t b)
{
	unsigned f = (b & PT_FLAGS_ALL) | PT_READ;

	return pt_flags_valid(f) ? f : f & ~PT_DEVICE;
}

int fuzz_paging_one(const uint8_t *data, size_t len)
{
	static struct fz_arena arena;
	struct pt_handler h = {&arena, fz_alloc, fz_free, fz_virt};
	struct fz_page m[FZ_PAGES] = {0};
	struct pt_flush fl;
	struct pt pt;

	memset(arena.used, 0, sizeof(arena.used));
	if (pt_init(&pt, &h, 46, 0) != PT_OK)
		abort();
	for (size_t k = 0; k + 3 <= len && k < 3 * FZ_OPS; k += 3) {
		int i = data[k + 1] % FZ_PAGES;
		uint64_t va = FZ_VA + (uint64_t)i * 4096;
		uint64_t pa = (uint64_t)(data[k + 2] + 1) << 12;
		unsigned flags = fz_flags(data[k + 2] ^ data[k + 1]);
		enum pt_err err;

		pt_flush_init(&fl);
		switch (data[k] % 4) {
		case 0:
			err = pt_map(&pt, va, pa, PT_SIZE_4K, flags, &fl);
			if (err == PT_ENOMEM)
				break;
			if ((err == PT_OK) == m[i].mapped || (err != PT_OK && err != PT_EEXIST))
				abort();
			if (err == PT_OK)
				m[i] = (struct fz_page){true, pa, flags};
			break;
		case 1:
			err = pt_unmap(&pt, va, NULL, NULL, NULL, data[k] & 4 ? PT_FREE_TABLES : 0,
				       &fl);
			if ((err == PT_OK) != m[i].mapped)
				abort();
			m[i].mapped = false;
			break;
		case 2:
			err = pt_protect(&pt, va, flags, &fl);
			if ((err == PT_OK) != m[i].mapped)
				abort();
			m[i].flags = flags;
			break;
		case 3:
			err = pt_remap(&pt, va, pa, flags, &fl);
			if ((err == PT_OK) != m[i].mapped)
				abort();
			m[i].pa = pa;
			m[i].flags = flags;
			break;
		}
		fz_check(&pt, m, i);
	}
	for (int i = 0; i < FZ_PAGES; i++)
		fz_check(&pt, m, i);
	pt_destroy(&pt);
	for (int i = 0; i < FZ_FRAMES; i++)
		if (arena.used[i])
			abort(); /* pt_destroy leaked a table frame */
	return 0;
}
