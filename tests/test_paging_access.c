/* The permission model (paging/access.c) on the SDM's corner cases (vol. 3A, 4.6 and 4.7):
 * CR0.WP, SMEP, SMAP with EFLAGS.AC, implicit supervisor accesses, XD with and without NXE,
 * effective rights across levels and huge leaves, reserved bits, the error code's bits. */
#include <criterion/criterion.h>

#include "access.h"
#include "pagewarden/classify.h"
#include "paging.h"
#include "paging_arena.h"

#define VA    0x400000ull /* a 4 KiB page, its tables made by pt_map */
#define HUGE  0x40000000ull /* a 2 MiB leaf */
#define PA    0x200000ull

static struct arena a;
static struct pt pt;

static void setup(void)
{
	arena_init(&a, 64);
	cr_assert_eq(pt_init(&pt, &a.h, 0, PT_FEAT_1G), PT_OK);
}

static void teardown(void)
{
	pt_destroy(&pt);
	arena_fini(&a);
}

TestSuite(paging_access, .init = setup, .fini = teardown);

/* Map VA with flags, then set or clear bits in the entry at level (4..1) on its walk. */
static void map4k(unsigned flags)
{
	cr_assert_eq(pt_map(&pt, VA, PA, PT_SIZE_4K, flags, NULL), PT_OK);
}

static pte_t *pte_at(uint64_t va, int level)
{
	pte_t *e;
	int got;

	cr_assert_eq(pt_lookup(&pt, va, level, false, &e, &got), PT_OK);
	cr_assert_eq(got, level);
	return e;
}

static struct pt_access_result check(uint64_t va, enum pt_access_kind k, enum pt_access_mode m,
				     struct pt_access_ctx ctx)
{
	struct pt_access_result r;

	cr_assert_eq(pt_check_access(&pt, va, k, m, &ctx, &r), PT_OK);
	return r;
}

#define EXPECT_FAULT(r, err, w)                                                                    \
	do {                                                                                       \
		cr_expect(!(r).allowed && !(r).gp, "expected a #PF (%s)", #w);                     \
		cr_expect_eq((r).error_code, (err), "error code 0x%x, want 0x%x",                  \
			     (unsigned)(r).error_code, (unsigned)(err));                           \
		cr_expect_eq((r).why, (w), "why %s", pt_access_why_name((r).why));                  \
	} while (0)

/* WP = 0: a supervisor write to a read-only page is allowed; WP = 1 faults (P|W). A user write
 * faults either way (P|W|U). */
Test(paging_access, wp_governs_supervisor_writes_only)
{
	struct pt_access_result r;

	map4k(PT_READ | PT_EXECUTE | PT_USER); /* no XD: NXE is off in these contexts */
	r = check(VA, PT_ACC_WRITE, PT_MODE_SUPERVISOR, (struct pt_access_ctx){.wp = false});
	cr_expect(r.allowed);
	cr_expect(r.dirty);
	cr_expect_eq(r.pa, PA);
	r = check(VA, PT_ACC_WRITE, PT_MODE_SUPERVISOR, (struct pt_access_ctx){.wp = true});
	EXPECT_FAULT(r, PT_PF_P | PT_PF_W, PT_WHY_READ_ONLY);
	r = check(VA, PT_ACC_WRITE, PT_MODE_USER, (struct pt_access_ctx){.wp = false});
	EXPECT_FAULT(r, PT_PF_P | PT_PF_W | PT_PF_U, PT_WHY_READ_ONLY);
}

/* SMAP: a supervisor read of a user page faults unless EFLAGS.AC; an implicit supervisor read
 * faults even with AC; a supervisor page is never affected. */
Test(paging_access, smap_and_ac)
{
	struct pt_access_result r;
	struct pt_access_ctx ctx = {.smap = true, .wp = true};

	map4k(PT_READ | PT_WRITE | PT_EXECUTE | PT_USER);
	r = check(VA, PT_ACC_READ, PT_MODE_SUPERVISOR, ctx);
	EXPECT_FAULT(r, PT_PF_P, PT_WHY_SMAP);
	r = check(VA, PT_ACC_WRITE, PT_MODE_SUPERVISOR, ctx);
	EXPECT_FAULT(r, PT_PF_P | PT_PF_W, PT_WHY_SMAP);
	ctx.ac = true;
	r = check(VA, PT_ACC_READ, PT_MODE_SUPERVISOR, ctx);
	cr_expect(r.allowed, "AC = 1 lifts SMAP for explicit accesses");
	r = check(VA, PT_ACC_WRITE, PT_MODE_SUPERVISOR, ctx);
	cr_expect(r.allowed);
	r = check(VA, PT_ACC_READ, PT_MODE_IMPLICIT, ctx);
	EXPECT_FAULT(r, PT_PF_P, PT_WHY_SMAP);
	r = check(VA, PT_ACC_READ, PT_MODE_USER, ctx);
	cr_expect(r.allowed, "SMAP does not concern user accesses");
}

/* SMEP on a user page that is also XD: the fetch faults with P|I/D (either rule alone would),
 * and I/D appears because NXE or SMEP is on. */
Test(paging_access, smep_on_a_user_nx_page)
{
	struct pt_access_result r;

	map4k(PT_READ | PT_USER); /* no PT_EXECUTE: XD */
	r = check(VA, PT_ACC_FETCH, PT_MODE_SUPERVISOR,
		  (struct pt_access_ctx){.smep = true, .nxe = true});
	cr_expect(!r.allowed);
	cr_expect_eq(r.error_code, PT_PF_P | PT_PF_ID);
	r = check(VA, PT_ACC_FETCH, PT_MODE_SUPERVISOR, (struct pt_access_ctx){.smep = true});
	cr_expect_eq(r.error_code, PT_PF_P | PT_PF_RSVD | PT_PF_ID,
		     "XD without NXE is a reserved bit: 0x%x", (unsigned)r.error_code);
	*pte_at(VA, 1) &= ~PTE_NX;
	r = check(VA, PT_ACC_FETCH, PT_MODE_SUPERVISOR, (struct pt_access_ctx){.smep = true});
	EXPECT_FAULT(r, PT_PF_P | PT_PF_ID, PT_WHY_SMEP);
	r = check(VA, PT_ACC_FETCH, PT_MODE_SUPERVISOR, (struct pt_access_ctx){0});
	cr_expect(r.allowed, "SMEP off: a supervisor may run user code");
	r = check(VA, PT_ACC_FETCH, PT_MODE_USER, (struct pt_access_ctx){.smep = true});
	cr_expect(r.allowed, "SMEP concerns supervisor fetches only");
}

/* Implicit supervisor accesses (descriptor tables) to a user page: allowed without SMAP, even
 * read-only ones written with WP = 0; the error code never has U/S. */
Test(paging_access, implicit_supervisor_accesses)
{
	struct pt_access_result r;

	map4k(PT_READ | PT_EXECUTE | PT_USER);
	r = check(VA, PT_ACC_READ, PT_MODE_IMPLICIT, (struct pt_access_ctx){.ac = true});
	cr_expect(r.allowed);
	r = check(VA, PT_ACC_WRITE, PT_MODE_IMPLICIT, (struct pt_access_ctx){.wp = true});
	EXPECT_FAULT(r, PT_PF_P | PT_PF_W, PT_WHY_READ_ONLY);
	r = check(VA, PT_ACC_READ, PT_MODE_IMPLICIT,
		  (struct pt_access_ctx){.smap = true, .ac = true});
	EXPECT_FAULT(r, PT_PF_P, PT_WHY_SMAP); /* AC lifts SMAP for explicit accesses only */
	r = check(VA + 0x1000, PT_ACC_READ, PT_MODE_IMPLICIT, (struct pt_access_ctx){0});
	EXPECT_FAULT(r, 0, PT_WHY_NOT_PRESENT);
}

/* The shared classifier (classify.h) takes a protection fault's kind from the model's walk:
 * user-supervisor, smep, smap, write-protect and nx-exec; without a walk, from the error code
 * alone; and a walk that now allows the access (the tables changed) leaves it to the code. */
Test(paging_access, classifier_kinds_from_the_model)
{
	struct pt_access_ctx ctx = {.wp = true, .smep = true, .smap = true, .nxe = true};
	struct pt_access_result w;

	map4k(PT_READ | PT_WRITE); /* supervisor data */
	cr_assert(pw_pf_walk(&pt, VA, PF_ERR_P | PF_ERR_U, &ctx, &w));
	cr_expect_eq(pw_classify_pf(NULL, 0, VA, PF_ERR_P | PF_ERR_U, &w),
		     PW_FAULT_USER_SUPERVISOR);
	cr_assert(pw_pf_walk(&pt, VA, PF_ERR_P | PF_ERR_W | PF_ERR_U, &ctx, &w));
	cr_expect_eq(pw_classify_pf(NULL, 0, VA, PF_ERR_P | PF_ERR_W | PF_ERR_U, &w),
		     PW_FAULT_USER_SUPERVISOR, "U/S, not write-protect");
	cr_expect_eq(pw_classify_pf(NULL, 0, VA, PF_ERR_P | PF_ERR_W | PF_ERR_U, NULL),
		     PW_FAULT_WRITE_PROTECT, "without the walk the error code decides");
	cr_assert(pw_pf_walk(&pt, VA, PF_ERR_P | PF_ERR_ID, &ctx, &w));
	cr_expect_eq(pw_classify_pf(NULL, 0, VA, PF_ERR_P | PF_ERR_ID, &w), PW_FAULT_NX_EXEC);

	*pte_at(VA, 1) |= PTE_U;
	cr_assert(pw_pf_walk(&pt, VA, PF_ERR_P, &ctx, &w));
	cr_expect_eq(pw_classify_pf(NULL, 0, VA, PF_ERR_P, &w), PW_FAULT_SMAP);
	cr_expect_eq(pw_classify_pf(NULL, 0, VA, PF_ERR_P, NULL), PW_FAULT_UNMAPPED);
	cr_assert(pw_pf_walk(&pt, VA, PF_ERR_P | PF_ERR_ID, &ctx, &w));
	cr_expect_eq(pw_classify_pf(NULL, 0, VA, PF_ERR_P | PF_ERR_ID, &w), PW_FAULT_NX_EXEC,
		     "XD wins over SMEP: both refuse, the error code is the same");
	*pte_at(VA, 1) &= ~PTE_NX;
	cr_assert(pw_pf_walk(&pt, VA, PF_ERR_P | PF_ERR_ID, &ctx, &w));
	cr_expect_eq(pw_classify_pf(NULL, 0, VA, PF_ERR_P | PF_ERR_ID, &w), PW_FAULT_SMEP);
	ctx.smep = false;
	cr_assert(pw_pf_walk(&pt, VA, PF_ERR_P | PF_ERR_ID, &ctx, &w));
	cr_expect(w.allowed);
	cr_expect_eq(pw_classify_pf(NULL, 0, VA, PF_ERR_P | PF_ERR_ID, &w), PW_FAULT_NX_EXEC,
		     "a walk that allows: the error code decides");
	cr_expect_eq(pw_classify_pf(NULL, 0, VA, PF_ERR_P | PF_ERR_RSVD, &w),
		     PW_FAULT_RESERVED_BIT);
}

/* The rights are those of every level together: U/S and R/W cleared at the PML4E hide the page
 * from the user and make it read-only; XD at the PDE makes it XD. */
Test(paging_access, effective_rights_across_levels)
{
	struct pt_access_result r;

	map4k(PT_READ | PT_WRITE | PT_EXECUTE | PT_USER);
	r = check(VA, PT_ACC_WRITE, PT_MODE_USER, (struct pt_access_ctx){.nxe = true});
	cr_expect(r.allowed);
	cr_expect_eq(r.accessed, 0xf, "A on all four levels: 0x%x", r.accessed);
	*pte_at(VA, 2) |= PTE_NX;
	r = check(VA, PT_ACC_FETCH, PT_MODE_USER, (struct pt_access_ctx){.nxe = true});
	EXPECT_FAULT(r, PT_PF_P | PT_PF_U | PT_PF_ID, PT_WHY_NX);
	*pte_at(VA, 4) &= ~PTE_W;
	r = check(VA, PT_ACC_WRITE, PT_MODE_USER, (struct pt_access_ctx){.nxe = true});
	EXPECT_FAULT(r, PT_PF_P | PT_PF_W | PT_PF_U, PT_WHY_READ_ONLY);
	*pte_at(VA, 4) &= ~PTE_U;
	r = check(VA, PT_ACC_READ, PT_MODE_USER, (struct pt_access_ctx){.nxe = true});
	EXPECT_FAULT(r, PT_PF_P | PT_PF_U, PT_WHY_USER_SUPER);
}

/* A 2 MiB leaf: the walk ends at level 2; its address bits 20:13 are reserved; PS in a PML4E
 * is reserved. */
Test(paging_access, huge_leaves_and_reserved_bits)
{
	struct pt_access_result r;

	cr_assert_eq(pt_map(&pt, HUGE, 0x600000, PT_SIZE_2M, PT_READ | PT_WRITE | PT_EXECUTE, NULL),
		     PT_OK);
	r = check(HUGE + 0x1234, PT_ACC_READ, PT_MODE_SUPERVISOR, (struct pt_access_ctx){0});
	cr_expect(r.allowed);
	cr_expect_eq(r.level, 2);
	cr_expect_eq(r.pa, 0x601234);
	cr_expect_eq(r.accessed, 0xe, "A on levels 4, 3, 2: 0x%x", r.accessed);
	*pte_at(HUGE, 2) |= 1ull << 13;
	r = check(HUGE, PT_ACC_READ, PT_MODE_USER, (struct pt_access_ctx){0});
	EXPECT_FAULT(r, PT_PF_P | PT_PF_RSVD | PT_PF_U, PT_WHY_RESERVED);
	*pte_at(HUGE, 2) &= ~(1ull << 13);
	*pte_at(HUGE, 4) |= PTE_PS;
	r = check(HUGE, PT_ACC_WRITE, PT_MODE_SUPERVISOR, (struct pt_access_ctx){0});
	EXPECT_FAULT(r, PT_PF_P | PT_PF_RSVD | PT_PF_W, PT_WHY_RESERVED);
	cr_expect_eq(r.level, 4);
}

/* Not present: P clear, the access bits set; I/D only with NXE or SMEP. Non-canonical: #GP. */
Test(paging_access, not_present_and_non_canonical)
{
	struct pt_access_result r;

	r = check(VA, PT_ACC_FETCH, PT_MODE_USER, (struct pt_access_ctx){0});
	EXPECT_FAULT(r, PT_PF_U, PT_WHY_NOT_PRESENT);
	cr_expect_eq(r.level, 4);
	r = check(VA, PT_ACC_FETCH, PT_MODE_USER, (struct pt_access_ctx){.nxe = true});
	cr_expect_eq(r.error_code, PT_PF_U | PT_PF_ID);
	map4k(PT_READ | PT_EXECUTE);
	r = check(VA + 0x1000, PT_ACC_WRITE, PT_MODE_SUPERVISOR, (struct pt_access_ctx){0});
	EXPECT_FAULT(r, PT_PF_W, PT_WHY_NOT_PRESENT);
	cr_expect_eq(r.level, 1);
	r = check(0x0000800000000000ull, PT_ACC_READ, PT_MODE_SUPERVISOR, (struct pt_access_ctx){0});
	cr_expect(r.gp && !r.allowed);
	cr_expect_eq(r.why, PT_WHY_NONCANONICAL);
}

Test(paging_access, bad_arguments)
{
	struct pt_access_result r;
	struct pt_access_ctx ctx = {0};

	cr_expect_eq(pt_check_access(&pt, VA, PT_ACC_KIND_COUNT, PT_MODE_USER, &ctx, &r), PT_EFLAGS);
	cr_expect_eq(pt_check_access(&pt, VA, PT_ACC_READ, PT_MODE_COUNT, &ctx, &r), PT_EFLAGS);
	cr_expect_str_eq(pt_access_why_name(PT_WHY_SMEP), "smep");
	cr_expect_str_eq(pt_access_why_name(PT_WHY_COUNT), "?");
}
