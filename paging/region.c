/* Removing and restricting translations: unmap, protect, and the region calls (unmap_region,
 * protect_region, set_guard), all on top of pt_lookup, pt_split and the TLB record.
 *
 * A region call first opens (splits) the entries that straddle its two ends, so that an error
 * (PT_EHUGE, PT_ENOMEM) comes before any translation changed; splits keep every translation.
 * The main pass then meets only entries it covers whole, holes, and tables to descend into.
 */
#include "paging.h"

enum change_op {
	CHANGE_UNMAP,	/* clear leaves and guards */
	CHANGE_PROTECT, /* new flags on present leaves */
	CHANGE_GUARD,	/* guard entries everywhere */
};

/* One region change: what to do and where the TLB work goes. */
struct change {
	struct pt *pt;
	enum change_op op;
	unsigned flags; /* CHANGE_PROTECT */
	pte_t guard;	/* CHANGE_GUARD: the entry to write */
	unsigned opts;	/* PT_MAP_NO_SPLIT, PT_FREE_TABLES */
	struct pt_flush *fl;
};

/* Apply c to the entry e at level, which maps [va, va + span) wholly inside the range and is a
 * leaf, a guard or a hole (never a table). Changing a present entry owes its page. */
static void apply(const struct change *c, pte_t *e, int level, uint64_t va)
{
	pte_t old = *e, v;

	switch (c->op) {
	case CHANGE_UNMAP:
		v = 0;
		break;
	case CHANGE_PROTECT:
		if (!pte_present(old))
			return;
		v = pte_set_flags(old, c->flags, level);
		break;
	default:
		v = c->guard;
		break;
	}
	if (v == old)
		return;
	pte_write(e, v);
	if (pte_present(old))
		pt_flush_add(c->fl, va);
}

/* True if the entry pte at level already is what c would make of it. */
static bool already_done(const struct change *c, pte_t pte, int level)
{
	if (c->op == CHANGE_PROTECT)
		return !pte_present(pte) || pte_set_flags(pte, c->flags, level) == pte;
	if (c->op == CHANGE_GUARD)
		return pte == c->guard;
	return !pte_present(pte) && !pte_is_guard(pte);
}

/* True if the entry pte at level must be opened (split, or given a table below) before c can
 * act on the part of it in the range; full says the range covers all of it. An entry that
 * already is what c wants is never split. */
static bool needs_open(const struct change *c, pte_t pte, int level, bool full)
{
	if (c->op == CHANGE_GUARD && level == PT_LEVELS && !pte_present(pte))
		return true; /* guards are at most 1 GiB: give the range a PDPT */
	if (full || already_done(c, pte, level))
		return false;
	return true; /* a huge leaf, a guard, or (for guards) a hole only partly in the range */
}

/* Open the entry pte at level that holds va: split a huge leaf (the CPU-visible change is
 * recorded by pt_split), or let the walker expand a guard or hole into a table. PT_MAP_NO_SPLIT
 * never gets here: open_edges refused before anything changed. */
static enum pt_err open_entry(const struct change *c, uint64_t va, pte_t pte, int level)
{
	pte_t *e;
	int l;

	if (pte_present(pte))
		return pt_split(c->pt, va, c->fl);
	return pt_lookup(c->pt, va, level - 1, true, &e, &l);
}

/* Open, down to where b is an entry boundary, the entries that straddle boundary b of the
 * range. With check_only, just say PT_EHUGE if that would need a split. */
static enum pt_err open_edge(const struct change *c, uint64_t b, bool check_only)
{
	for (;;) {
		pte_t *e;
		int level;
		enum pt_err err = pt_lookup(c->pt, b, 1, false, &e, &level);

		if (err)
			return err;
		if (!(b & (pt_level_span(level) - 1)) || !needs_open(c, *e, level, false))
			return PT_OK;
		if (check_only)
			return (pte_present(*e) || pte_is_guard(*e)) ? PT_EHUGE : PT_OK;
		err = open_entry(c, b, *e, level);
		if (err)
			return err;
	}
}

/* Open both ends of [va, va + len); with PT_MAP_NO_SPLIT only check that none needs it. The end
 * is skipped where it is the end of a canonical half (nothing straddles it). */
static enum pt_err open_edges(const struct change *c, uint64_t va, uint64_t len)
{
	bool check_only = (c->opts & PT_MAP_NO_SPLIT) != 0;
	uint64_t end = va + len;
	bool end_inside = len != 0 && end != 0 && pt_canonical(end);
	enum pt_err err = open_edge(c, va, check_only);

	if (!err && end_inside)
		err = open_edge(c, end, check_only);
	return err;
}

/* True if the table t holds nothing: no present entry and no guard. */
static bool table_empty(const pte_t *t)
{
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		if (pte_present(t[i]) || pte_is_guard(t[i]))
			return false;
	return true;
}

/* Free the table at level that maps va if it holds nothing, then its parents likewise; never
 * the root. The CPU's paging-structure caches may still point into a freed table, so this owes
 * a full flush, and the frame must not hold a table again before that flush. */
static void prune(const struct change *c, uint64_t va, int level)
{
	for (; level < PT_LEVELS; level++) {
		pte_t *pe;
		int pl;
		uint64_t tpa;

		if (pt_lookup(c->pt, va, level + 1, false, &pe, &pl) || pl != level + 1)
			return;
		if (!pte_present(*pe) || pte_leaf(*pe, pl))
			return;
		tpa = pte_addr(*pe, pl);
		if (!table_empty(c->pt->h->phys_to_virt(c->pt->h->ctx, tpa)))
			return;
		pte_write(pe, 0);
		c->pt->h->free_frame(c->pt->h->ctx, tpa);
		pt_flush_add_all(c->fl);
	}
}

/* Apply c to every entry in [va, va + len): one lookup, then along the table it landed in until
 * a table to descend into, an entry to open, the table's end or the range's end. */
static enum pt_err change_range(const struct change *c, uint64_t va, uint64_t len)
{
	while (len) {
		pte_t *e;
		int level;
		enum pt_err err = pt_lookup(c->pt, va, 1, false, &e, &level);
		uint64_t span, run_va = va;

		if (err)
			return err;
		span = pt_level_span(level);
		for (unsigned i = pt_level_index(va, level); i < PT_ENTRIES && len; i++, e++) {
			uint64_t off = va & (span - 1);
			uint64_t step = span - off < len ? span - off : len;
			bool full = step == span;

			if (pte_present(*e) && !pte_leaf(*e, level))
				break; /* a table: the next lookup descends into it */
			if (needs_open(c, *e, level, full)) {
				err = open_entry(c, va, *e, level);
				if (err)
					return err;
				break;
			}
			if (full)
				apply(c, e, level, va);
			va += step;
			len -= step;
		}
		if (c->op == CHANGE_UNMAP && (c->opts & PT_FREE_TABLES))
			prune(c, run_va, level);
	}
	return PT_OK;
}

/* Check a region's address and alignment, open its ends, then change it. */
static enum pt_err change_region(const struct change *c, uint64_t va, uint64_t len)
{
	enum pt_err err;

	if (!pt_range_canonical(va, len))
		return PT_EADDR;
	if ((va | len) & (PT_SIZE_4K - 1))
		return PT_EALIGN;
	err = open_edges(c, va, len);
	if (err)
		return err;
	return change_range(c, va, len);
}

enum pt_err pt_unmap_region(struct pt *pt, uint64_t va, uint64_t len, unsigned opts,
			    struct pt_flush *fl)
{
	struct change c = {pt, CHANGE_UNMAP, 0, 0, opts, fl};

	return change_region(&c, va, len);
}

enum pt_err pt_protect_region(struct pt *pt, uint64_t va, uint64_t len, unsigned flags,
			      unsigned opts, struct pt_flush *fl)
{
	struct change c = {pt, CHANGE_PROTECT, flags, 0, opts, fl};

	if (flags == 0 || !pt_flags_valid(flags))
		return PT_EFLAGS;
	return change_region(&c, va, len);
}

enum pt_err pt_set_guard(struct pt *pt, uint64_t va, uint64_t len, unsigned kind,
			 struct pt_flush *fl)
{
	struct change c = {pt, CHANGE_GUARD, 0, pte_new_guard(kind), 0, fl};

	if (kind == 0 || kind > 255)
		return PT_EFLAGS;
	return change_region(&c, va, len);
}

/* Find the present leaf holding va. */
static enum pt_err find_leaf(const struct pt *pt, uint64_t va, pte_t **e, int *level)
{
	enum pt_err err = pt_lookup(pt, va, 1, false, e, level);

	if (err)
		return err;
	return pte_leaf(**e, *level) ? PT_OK : PT_ENOTMAPPED;
}

enum pt_err pt_unmap(struct pt *pt, uint64_t va, uint64_t *pa, unsigned *flags, uint64_t *size,
		     unsigned opts, struct pt_flush *fl)
{
	pte_t *e;
	int level;
	enum pt_err err = find_leaf(pt, va, &e, &level);
	uint64_t sz;

	if (err)
		return err;
	sz = pt_level_size(level);
	if (pa)
		*pa = pte_addr(*e, level);
	if (flags)
		*flags = pte_flags(*e, level);
	if (size)
		*size = sz;
	/* The whole page is covered: no split, no allocation, so no error from here on. */
	return pt_unmap_region(pt, va & ~(sz - 1), sz, opts & PT_FREE_TABLES, fl);
}

enum pt_err pt_protect(struct pt *pt, uint64_t va, unsigned flags, struct pt_flush *fl)
{
	struct change c = {pt, CHANGE_PROTECT, flags, 0, 0, fl};
	pte_t *e;
	int level;
	enum pt_err err;

	if (flags == 0 || !pt_flags_valid(flags))
		return PT_EFLAGS;
	err = find_leaf(pt, va, &e, &level);
	if (err)
		return err;
	apply(&c, e, level, va);
	return PT_OK;
}
