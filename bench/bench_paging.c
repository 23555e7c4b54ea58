/* Paging library benchmark: identity-map 4 GiB with 4 KiB, 2 MiB and 1 GiB pages through
 * pt_map_region, against the floor of writing that many table bytes with memset.
 *
 * Frames come from a preallocated, pre-faulted arena and the memset buffer is pre-faulted too,
 * so page faults of the host do not enter the figures. Each figure is the minimum of REPS runs.
 * Prints `BENCH <name> <value> <unit>` lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "paging.h"

#define REPS	15
#define MAP_LEN (4ull << 30)
#define BASE_PA 0x100000ull /* PA of the arena's first frame (never 0) */
#define FRAME	4096ull

/* A bump allocator over one big pre-faulted buffer; frees are ignored (reset per run). */
struct arena {
	uint8_t *mem;
	size_t nframes, next;
};

static uint64_t arena_alloc(void *ctx)
{
	struct arena *a = ctx;

	if (a->next == a->nframes)
		return 0;
	return BASE_PA + FRAME * a->next++;
}

static void arena_free(void *ctx, uint64_t pa)
{
	(void)ctx;
	(void)pa;
}

static void *arena_virt(void *ctx, uint64_t pa)
{
	struct arena *a = ctx;

	return a->mem + (pa - BASE_PA);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Keep the compiler from dropping writes to p nobody reads. */
static void escape(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static double min_of(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

/* Time pt_map_region(0 -> 0, 4 GiB) with opts on fresh tables; returns the best time in ms and
 * the number of table frames used in *frames. */
static double time_map(struct arena *a, const struct pt_handler *h, unsigned features,
		       unsigned opts, size_t *frames)
{
	double t[REPS];

	for (int r = 0; r < REPS; r++) {
		struct pt pt;
		double t0;

		a->next = 0;
		if (pt_init(&pt, h, 0, features) != PT_OK)
			goto fail;
		t0 = now_ms();
		if (pt_map_region(&pt, 0, 0, MAP_LEN, PT_READ | PT_WRITE, opts, NULL) != PT_OK)
			goto fail;
		t[r] = now_ms() - t0;
		escape(a->mem);
		*frames = a->next;
	}
	return min_of(t, REPS);
fail:
	fprintf(stderr, "bench_paging: mapping failed\n");
	exit(1);
}

/* Time one region call over the 4 KiB mapping of 4 GiB (rebuilt untimed before each run). */
static double time_change(struct arena *a, const struct pt_handler *h, int which)
{
	double t[REPS];

	for (int r = 0; r < REPS; r++) {
		struct pt pt;
		struct pt_flush fl;
		enum pt_err err;
		double t0;

		a->next = 0;
		if (pt_init(&pt, h, 0, 0) != PT_OK ||
		    pt_map_region(&pt, 0, 0, MAP_LEN, PT_READ | PT_WRITE, 0, NULL) != PT_OK)
			goto fail;
		pt_flush_init(&fl);
		t0 = now_ms();
		if (which == 0)
			err = pt_protect_region(&pt, 0, MAP_LEN, PT_READ, 0, &fl);
		else
			err = pt_unmap_region(&pt, 0, MAP_LEN, 0, &fl);
		t[r] = now_ms() - t0;
		if (err != PT_OK)
			goto fail;
		escape(a->mem);
	}
	return min_of(t, REPS);
fail:
	fprintf(stderr, "bench_paging: region call failed\n");
	exit(1);
}

/* Time memset of len bytes (the floor: the bytes of tables written once). */
static double time_memset(uint8_t *buf, size_t len)
{
	double t[REPS];

	for (int r = 0; r < REPS; r++) {
		double t0 = now_ms();

		memset(buf, r & 1, len);
		escape(buf);
		t[r] = now_ms() - t0;
	}
	return min_of(t, REPS);
}

int main(void)
{
	/* 4 GiB of 4 KiB pages: 2048 PTs + 4 PDs + 1 PDPT + the root. */
	struct arena a = {.nframes = 2048 + 4 + 1 + 1 + 16};
	struct pt_handler h = {&a, arena_alloc, arena_free, arena_virt};
	size_t frames_4k = 0, frames_2m = 0, frames_1g = 0;

	a.mem = aligned_alloc(FRAME, a.nframes * FRAME);
	if (!a.mem) {
		fprintf(stderr, "bench_paging: out of memory\n");
		return 1;
	}
	memset(a.mem, 0x5a, a.nframes * FRAME); /* pre-fault */

	double map_4k = time_map(&a, &h, 0, 0, &frames_4k);
	double map_2m = time_map(&a, &h, 0, PT_MAP_HUGE, &frames_2m);
	double map_1g = time_map(&a, &h, PT_FEAT_1G, PT_MAP_HUGE, &frames_1g);

	size_t floor_len = frames_4k * FRAME;
	uint8_t *buf = aligned_alloc(FRAME, floor_len);
	if (!buf) {
		fprintf(stderr, "bench_paging: out of memory\n");
		return 1;
	}
	memset(buf, 1, floor_len); /* pre-fault */
	double floor_ms = time_memset(buf, floor_len);
	double protect_4k = time_change(&a, &h, 0);
	double unmap_4k = time_change(&a, &h, 1);

	printf("BENCH pt_map_4g_4k %.3f ms\n", map_4k);
	printf("BENCH pt_map_4g_4k_tables %zu frames\n", frames_4k);
	printf("BENCH pt_map_4g_2m %.4f ms\n", map_2m);
	printf("BENCH pt_map_4g_2m_tables %zu frames\n", frames_2m);
	printf("BENCH pt_map_4g_1g %.4f ms\n", map_1g);
	printf("BENCH pt_map_4g_1g_tables %zu frames\n", frames_1g);
	printf("BENCH memset_4g_4k_tables %.3f ms\n", floor_ms);
	printf("BENCH pt_map_4g_4k_ratio %.2f x\n", map_4k / floor_ms);
	printf("BENCH pt_protect_4g_4k %.3f ms\n", protect_4k);
	printf("BENCH pt_unmap_4g_4k %.3f ms\n", unmap_4k);
	free(buf);
	free(a.mem);
	return 0;
}
