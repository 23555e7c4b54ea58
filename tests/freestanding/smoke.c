/* The paging library as the guest links it (built with the guest flags: freestanding, no SSE,
 * no red zone, not PIE), driven from a host test with a static arena for frames, the way a
 * guest without malloc would. Also checks that the library needs no symbol from outside. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "paging.h"

#define FRAMES	64
#define BASE_PA 0x200000ull /* the arena's frames sit at PA 2 MiB and up */

/* A static frame pool with a free list, like a guest's page-table pool. */
static uint8_t pool[FRAMES][4096] __attribute__((aligned(4096)));
static bool used[FRAMES];
static unsigned live, double_frees;

static uint64_t pool_alloc(void *ctx)
{
	(void)ctx;
	for (unsigned i = 0; i < FRAMES; i++)
		if (!used[i]) {
			used[i] = true;
			live++;
			memset(pool[i], 0xa5, sizeof(pool[i])); /* junk: the library must zero */
			return BASE_PA + i * 4096ull;
		}
	return 0;
}

static void pool_free(void *ctx, uint64_t pa)
{
	unsigned i = (unsigned)((pa - BASE_PA) / 4096);

	(void)ctx;
	if (pa < BASE_PA || i >= FRAMES || !used[i]) {
		double_frees++;
		return;
	}
	used[i] = false;
	live--;
}

static void *pool_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (uint8_t *)pool + (pa - BASE_PA);
}

static const struct pt_handler handler = {NULL, pool_alloc, pool_free, pool_virt};

static void reset_pool(void)
{
	memset(used, 0, sizeof(used));
	live = double_frees = 0;
}

struct lines {
	int n;
	char text[8][96];
};

static void format_line(void *arg, const struct pt_range *r)
{
	struct lines *l = arg;

	if (l->n < 8)
		pt_format_range(l->text[l->n], sizeof(l->text[0]), r, NULL);
	l->n++;
}

Test(freestanding, map_query_split_dump_destroy)
{
	struct pt pt;
	struct pt_flush fl;
	uint64_t pa, size;
	unsigned flags;
	struct lines out = {0};

	reset_pool();
	pt_flush_init(&fl);
	cr_assert_eq(pt_init(&pt, &handler, 0, PT_FEAT_1G), PT_OK);
	cr_assert_eq(pt_set_guard(&pt, 0, 0x1000, 1, &fl), PT_OK);
	cr_assert_eq(
	    pt_map_region(&pt, 0x1000, 0x1000, 0x3ff000, PT_READ | PT_WRITE, PT_MAP_HUGE, &fl),
	    PT_OK);
	cr_assert_eq(fl.kind, PT_FLUSH_NONE);
	cr_assert_eq(pt_query(&pt, 0x234567, &pa, &flags, &size), PT_OK);
	cr_assert_eq(pa, 0x234567);
	cr_assert_eq(flags, PT_READ | PT_WRITE);
	cr_assert_eq(size, 0x200000, "the 2M-aligned part got a 2M page");
	cr_assert_eq(pt_split(&pt, 0x234567, &fl), PT_OK);
	cr_assert_eq(pt_query(&pt, 0x234567, &pa, NULL, &size), PT_OK);
	cr_assert_eq(pa, 0x234567);
	cr_assert_eq(size, 0x1000);
	cr_assert_eq(fl.kind, PT_FLUSH_PAGES);
	cr_assert_eq(pt_protect_region(&pt, 0x300000, 0x1000, PT_READ, 0, &fl), PT_OK);

	pt_dump(&pt, format_line, &out);
	cr_assert_eq(out.n, 4);
	cr_assert_str_eq(out.text[0],
			 "0000000000000000-0000000000001000 0000000000001000 4K  guard(1)");
	cr_assert_str_eq(out.text[1],
			 "0000000000001000-0000000000300000 00000000002ff000 4K  RW NX");
	cr_assert_str_eq(out.text[2],
			 "0000000000300000-0000000000301000 0000000000001000 4K  R NX");
	cr_assert_str_eq(out.text[3],
			 "0000000000301000-0000000000400000 00000000000ff000 4K  RW NX");

	cr_assert_eq(pt_unmap_region(&pt, 0, 0x400000, PT_FREE_TABLES, &fl), PT_OK);
	cr_assert_eq(live, 1, "only the root is left");
	pt_destroy(&pt);
	cr_assert_eq(live, 0);
	cr_assert_eq(double_frees, 0);
}

Test(freestanding, out_of_frames_is_an_error)
{
	struct pt pt;

	reset_pool();
	cr_assert_eq(pt_init(&pt, &handler, 0, 0), PT_OK);
	/* 4K pages over 256 MiB need 128 page tables: more than the pool holds. */
	cr_assert_eq(pt_map_region(&pt, 0, 0, 256ull << 20, PT_READ, 0, NULL), PT_ENOMEM);
	cr_assert_eq(live, FRAMES);
	cr_assert_eq(pt_query(&pt, 0, NULL, NULL, NULL), PT_OK, "what fitted stays mapped");
	pt_destroy(&pt);
	cr_assert_eq(live, 0);
	cr_assert_eq(double_frees, 0);
}

/* Path of libpaging-guest.a: this program is $(B)/tests/paging-freestanding. */
static void guest_lib_path(char *buf, size_t n)
{
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	cr_assert_gt(len, 0);
	exe[len] = '\0';
	char *slash = strrchr(exe, '/');
	cr_assert_not_null(slash);
	*slash = '\0';
	slash = strrchr(exe, '/');
	cr_assert_not_null(slash);
	*slash = '\0';
	snprintf(buf, n, "%s/libpaging-guest.a", exe);
}

Test(freestanding, library_needs_no_outside_symbol)
{
	char lib[4200], cmd[8600], line[256];
	FILE *p;
	int undefined = 0;

	guest_lib_path(lib, sizeof(lib));
	cr_assert_eq(access(lib, R_OK), 0, "%s not found", lib);
	/* Link every member together; what is still undefined must come from outside. */
	snprintf(cmd, sizeof(cmd),
		 "t=$(mktemp) && ld -r --whole-archive '%s' -o \"$t\" && nm -u \"$t\"; rc=$?; "
		 "rm -f \"$t\"; exit $rc",
		 lib);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p)) {
		cr_log_error("undefined: %s", line);
		undefined++;
	}
	cr_assert_eq(pclose(p), 0, "ld/nm failed");
	cr_assert_eq(undefined, 0, "the guest build of the library calls outside code");
}

Test(freestanding, library_uses_no_vector_registers)
{
	char lib[4200], cmd[8600], line[512];
	FILE *p;
	int hits = 0;

	/* SSE in a guest stops this host's KVM with an internal error; the guest flags forbid it
	 * and this keeps any hand-written vector code honest. */
	guest_lib_path(lib, sizeof(lib));
	snprintf(cmd, sizeof(cmd), "objdump -d '%s'", lib);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	while (fgets(line, sizeof(line), p))
		if (strstr(line, "%xmm") || strstr(line, "%ymm") || strstr(line, "%zmm")) {
			if (hits++ < 5)
				cr_log_error("vector instruction: %s", line);
		}
	cr_assert_eq(pclose(p), 0, "objdump failed");
	cr_assert_eq(hits, 0);
}
