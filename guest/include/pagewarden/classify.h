/* The one #PF classifier, shared by the guest runtime (--faults=guest) and the VMM (--faults=vmm)
 * so that the same fault gets the same kind whoever catches it. Input: a region list (the boot
 * info's, or the VMM's layout: the same list), CR2, the error code, and for a protection fault
 * the paging library's verdict on the access (pt_check_access, paging/access.h: the one
 * permission model), which tells U/S, SMEP and SMAP apart from read-only and NX. Freestanding.
 * docs/faults.md has the table of kinds in the order tested here.
 */
#ifndef PAGEWARDEN_CLASSIFY_H
#define PAGEWARDEN_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "access.h"
#include "layout.h"
#include "pf_error.h"

/* Region of regions[0..n) containing addr, or NULL. regions may be NULL when n is 0. */
static inline const struct pw_region *pw_regions_find(const struct pw_region *regions, unsigned n,
						      uint64_t addr)
{
	for (unsigned i = 0; i < n; i++) {
		/* Written as a difference so a region ending at 2^64 cannot overflow. */
		if (addr >= regions[i].start && addr - regions[i].start < regions[i].size)
			return &regions[i];
	}
	return NULL;
}

/* The kind of region addr falls in inside r: r's own, except in the per-cpu region, whose
 * blocks hold guards, stacks and a GDT page (layout.h). */
static inline unsigned pw_region_kind_at(const struct pw_region *r, uint64_t addr)
{
	uint64_t off;

	if (r->kind != PW_REGION_PERCPU)
		return r->kind;
	off = (addr - r->start) % PW_PERCPU_SIZE;
	if (off < PW_PERCPU_PF_STACK || (off >= PW_PERCPU_DF_GUARD && off < PW_PERCPU_DF_STACK) ||
	    (off >= PW_PERCPU_STACK_GUARD && off < PW_PERCPU_STACK))
		return PW_REGION_STACK_GUARD;
	if (off < PW_PERCPU_STACK)
		return PW_REGION_IST_STACK;
	return off < PW_PERCPU_GDT ? PW_REGION_STACK : PW_REGION_GDT;
}

/* Kind of a #PF in a region of kind rkind, or PW_FAULT_NONE if the region does not decide it. */
static inline unsigned pw_pf_kind_of_region(unsigned rkind)
{
	switch (rkind) {
	case PW_REGION_NULL_GUARD:
		return PW_FAULT_NULL;
	case PW_REGION_STACK_GUARD:
		return PW_FAULT_STACK_OVERFLOW;
	case PW_REGION_HIGH_GUARD:
		return PW_FAULT_HIGH_GUARD;
	default:
		return PW_FAULT_NONE;
	}
}

/* Kind of a protection fault the model explains with why, or PW_FAULT_NONE. */
static inline unsigned pw_pf_kind_of_why(enum pt_access_why why)
{
	switch (why) {
	case PT_WHY_USER_SUPER:
		return PW_FAULT_USER_SUPERVISOR;
	case PT_WHY_SMEP:
		return PW_FAULT_SMEP;
	case PT_WHY_SMAP:
		return PW_FAULT_SMAP;
	case PT_WHY_READ_ONLY:
		return PW_FAULT_WRITE_PROTECT;
	case PT_WHY_NX:
		return PW_FAULT_NX_EXEC;
	default:
		return PW_FAULT_NONE;
	}
}

/* True if err is a protection fault (P set, no reserved bit): the only #PF the model's verdict
 * can name, and the only one worth the walk and the register reads it needs. */
static inline bool pw_pf_is_protection(uint64_t err)
{
	return (err & PF_ERR_P) && !(err & PF_ERR_RSVD);
}

/* Ask the model about the access a #PF with error code err describes: a fetch (I/D), a write
 * (W) or a read, by user (U) or supervisor, at cr2 through pt under ctx. True and *res when the
 * walk could be made; false for a fault that is not a protection fault. EFLAGS.AC is not in the error code: ctx->ac must be the faulting
 * context's (a supervisor write with AC = 1 to a read-only user page is write-protect, with
 * AC = 0 smap; both push P|W). */
static inline bool pw_pf_walk(const struct pt *pt, uint64_t cr2, uint64_t err,
			      const struct pt_access_ctx *ctx, struct pt_access_result *res)
{
	enum pt_access_kind kind = (err & PF_ERR_ID)  ? PT_ACC_FETCH
				   : (err & PF_ERR_W) ? PT_ACC_WRITE
						      : PT_ACC_READ;
	enum pt_access_mode mode = (err & PF_ERR_U) ? PT_MODE_USER : PT_MODE_SUPERVISOR;

	return pt && pw_pf_is_protection(err) && pt_check_access(pt, cr2, kind, mode, ctx, res) == PT_OK;
}

/* Classify a #PF at cr2 with error code err: reserved bits first (RSVD comes with P=1 and would
 * look like a rights fault), then the guard regions, rights violations, and a not-present touch
 * of the heap. A rights violation takes its kind from walk, the model's verdict (pw_pf_walk),
 * when there is one that faults; without it (NULL, or the tables changed since the fault) from
 * the error code alone. Pass n = 0 to classify without a layout (a nested fault, where the
 * layout may be what faulted). */
static inline unsigned pw_classify_pf(const struct pw_region *regions, unsigned n, uint64_t cr2,
				      uint64_t err, const struct pt_access_result *walk)
{
	const struct pw_region *r = pw_regions_find(regions, n, cr2);
	unsigned kind = r ? pw_pf_kind_of_region(pw_region_kind_at(r, cr2)) : PW_FAULT_NONE;

	if (err & PF_ERR_RSVD)
		return PW_FAULT_RESERVED_BIT;
	if (kind != PW_FAULT_NONE)
		return kind;
	if ((err & PF_ERR_P) && walk && !walk->allowed) {
		kind = pw_pf_kind_of_why(walk->why);
		if (kind != PW_FAULT_NONE)
			return kind;
	}
	if ((err & PF_ERR_P) && (err & PF_ERR_W))
		return PW_FAULT_WRITE_PROTECT;
	if ((err & PF_ERR_P) && (err & PF_ERR_ID))
		return PW_FAULT_NX_EXEC;
	if ((err & PF_ERR_P) && (err & PF_ERR_U))
		return PW_FAULT_USER_SUPERVISOR; /* a user read of a present page: only U/S refuses */
	if (!(err & PF_ERR_P) && r && r->kind == PW_REGION_HEAP)
		return PW_FAULT_HEAP_GROW;
	return PW_FAULT_UNMAPPED;
}

/* True if a #PF at cr2 with error code err is what pw_classify_pf calls heap-grow, given the heap
 * region [heap_start, heap_start + heap_size): a not-present touch inside it (RSVD faults have P
 * set). Decided without scanning the regions, which are disjoint; the guest's hot paths use it. */
static inline bool pw_pf_is_heap_grow(uint64_t heap_start, uint64_t heap_size, uint64_t cr2,
				      uint64_t err)
{
	return !(err & (PF_ERR_P | PF_ERR_RSVD)) && cr2 - heap_start < heap_size;
}

/* Classify exception vector (14 = #PF, which needs cr2, err and walk, as pw_classify_pf; any
 * other is an "exception"). */
static inline unsigned pw_classify(const struct pw_region *regions, unsigned n, unsigned vector,
				   uint64_t cr2, uint64_t err, const struct pt_access_result *walk)
{
	return vector == 14 ? pw_classify_pf(regions, n, cr2, err, walk) : PW_FAULT_EXCEPTION;
}

#endif
