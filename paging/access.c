/* The x86-64 permission model of 4-level paging. */
#include "access.h"

const char *pt_access_why_name(enum pt_access_why why)
{
	static const char *const names[PT_WHY_COUNT] = {
	    [PT_WHY_NONE] = "none",
	    [PT_WHY_NONCANONICAL] = "non-canonical",
	    [PT_WHY_NOT_PRESENT] = "not-present",
	    [PT_WHY_RESERVED] = "reserved-bit",
	    [PT_WHY_USER_SUPER] = "user-supervisor",
	    [PT_WHY_READ_ONLY] = "read-only",
	    [PT_WHY_NX] = "nx",
	    [PT_WHY_SMEP] = "smep",
	    [PT_WHY_SMAP] = "smap",
	};
	return (unsigned)why < PT_WHY_COUNT ? names[why] : "?";
}

/* True if entry e at level (a leaf when leaf) sets a bit the SDM reserves (table 4-20):
 * address bits at or above maxphyaddr, XD without NXE, PS in a PML4E, and the address bits
 * below a huge leaf's alignment (above its PAT bit). */
static bool pt_entry_reserved(pte_t e, int level, bool leaf, unsigned maxphyaddr, bool nxe)
{
	uint64_t high = maxphyaddr < 52 ? (((1ull << 52) - 1) & ~((1ull << maxphyaddr) - 1)) : 0;

	if ((e & high) || (!nxe && (e & PTE_NX)))
		return true;
	if (level == 4 && (e & PTE_PS))
		return true;
	if (leaf && level == 3 && (e & 0x3fffe000ull)) /* bits 29:13 of a 1 GiB leaf */
		return true;
	if (leaf && level == 2 && (e & 0x1fe000ull)) /* bits 20:13 of a 2 MiB leaf */
		return true;
	return false;
}

/* The error code bits every #PF of this access carries, beside P and RSVD. */
static uint32_t pt_access_bits(enum pt_access_kind kind, enum pt_access_mode mode,
			       const struct pt_access_ctx *ctx)
{
	return (kind == PT_ACC_WRITE ? PT_PF_W : 0) | (mode == PT_MODE_USER ? PT_PF_U : 0) |
	       (kind == PT_ACC_FETCH && (ctx->nxe || ctx->smep) ? PT_PF_ID : 0);
}

/* The rules of SDM 4.6.1 on the effective rights: why the access faults, or PT_WHY_NONE. */
static enum pt_access_why pt_rights(enum pt_access_kind kind, enum pt_access_mode mode,
				    const struct pt_access_ctx *ctx, bool rw, bool us, bool xd)
{
	if (mode == PT_MODE_USER) {
		if (!us)
			return PT_WHY_USER_SUPER;
		if (kind == PT_ACC_WRITE && !rw)
			return PT_WHY_READ_ONLY;
		return kind == PT_ACC_FETCH && xd ? PT_WHY_NX : PT_WHY_NONE;
	}
	if (kind == PT_ACC_FETCH) { /* implicit accesses are data, but model them alike */
		if (xd)
			return PT_WHY_NX;
		return us && ctx->smep ? PT_WHY_SMEP : PT_WHY_NONE;
	}
	if (us && ctx->smap && (mode == PT_MODE_IMPLICIT || !ctx->ac))
		return PT_WHY_SMAP;
	if (kind == PT_ACC_WRITE && !rw && ctx->wp)
		return PT_WHY_READ_ONLY;
	return PT_WHY_NONE;
}

enum pt_err pt_check_access(const struct pt *pt, uint64_t va, enum pt_access_kind kind,
			    enum pt_access_mode mode, const struct pt_access_ctx *ctx,
			    struct pt_access_result *res)
{
	unsigned maxphyaddr = pt->maxphyaddr ? pt->maxphyaddr : PT_PA_BITS_MAX;
	uint32_t bits = pt_access_bits(kind, mode, ctx);
	uint64_t table = pt->root;
	bool rw = true, us = true, xd = false;

	if ((unsigned)kind >= PT_ACC_KIND_COUNT || (unsigned)mode >= PT_MODE_COUNT)
		return PT_EFLAGS;
	*res = (struct pt_access_result){.level = PT_LEVELS};
	if (!pt_canonical(va)) {
		res->gp = true;
		res->why = PT_WHY_NONCANONICAL;
		return PT_OK;
	}
	for (int level = PT_LEVELS; level >= 1; level--) {
		const pte_t *t = pt->h->phys_to_virt(pt->h->ctx, table);
		pte_t e;
		bool leaf;

		if (!t) /* a table outside what the handler can reach: no model of it */
			return PT_EADDR;
		e = t[pt_level_index(va, level)];
		leaf = level == 1 || (level <= 3 && (e & PTE_PS));

		res->level = level;
		if (!(e & PTE_P)) {
			res->error_code = bits;
			res->why = PT_WHY_NOT_PRESENT;
			return PT_OK;
		}
		if (pt_entry_reserved(e, level, leaf, maxphyaddr, ctx->nxe)) {
			res->error_code = bits | PT_PF_P | PT_PF_RSVD;
			res->why = PT_WHY_RESERVED;
			return PT_OK;
		}
		rw &= (e & PTE_W) != 0;
		us &= (e & PTE_U) != 0;
		xd |= ctx->nxe && (e & PTE_NX);
		res->accessed |= 1u << (level - 1);
		if (leaf) {
			uint64_t span = pt_level_span(level);

			res->pa = (e & PTE_ADDR_MASK_4K & ~(span - 1)) | (va & (span - 1));
			break;
		}
		table = e & PTE_ADDR_MASK_4K;
	}
	res->why = pt_rights(kind, mode, ctx, rw, us, xd);
	res->allowed = res->why == PT_WHY_NONE;
	if (!res->allowed) {
		res->error_code = bits | PT_PF_P;
		res->accessed = 0;
		res->pa = 0;
		return PT_OK;
	}
	res->dirty = kind == PT_ACC_WRITE;
	return PT_OK;
}
