/* The dumper: present leaves and guard entries coalesced into ranges, in VA order, like Linux
 * ptdump or QEMU "info mem", and the one-line format of a range. Holes are not shown.
 */
#include "paging.h"
#include "strbuf.h"

/* Coalescing state: the range being grown and where finished ones go. */
struct dumper {
	const struct pt *pt;
	pt_range_fn fn;
	void *arg;
	bool open;
	struct pt_range cur;
};

/* Hand the range being grown, if any, to the callback. */
static void dumper_emit(struct dumper *d)
{
	if (d->open)
		d->fn(d->arg, &d->cur);
	d->open = false;
}

/* True if r (one entry) extends the current range: adjacent, and the same kind of guard, or
 * the same page size and flags with the PA continuing. Guard runs join across sizes. */
static bool dumper_continues(const struct dumper *d, const struct pt_range *r)
{
	const struct pt_range *c = &d->cur;

	if (!d->open || c->end != r->start || c->guard_kind != r->guard_kind)
		return false;
	if (c->guard_kind)
		return true;
	return c->page_size == r->page_size && c->flags == r->flags &&
	       c->pa + (c->end - c->start) == r->pa;
}

/* pt_walk callback: turn one leaf or guard entry into a range and coalesce it. */
static int dumper_entry(void *arg, int level, uint64_t va, pte_t *entry)
{
	struct dumper *d = arg;
	struct pt_range r;
	uint64_t span = pt_level_span(level);

	r.start = va;
	r.end = va + span;
	r.page_size = span;
	r.pa = 0;
	r.flags = 0;
	r.guard_kind = 0;
	if (pte_is_guard(*entry)) {
		r.guard_kind = pte_guard_kind(*entry);
		if (r.guard_kind == 0)
			return 0; /* kind 0 is no guard the library writes: a hole */
	} else {
		/* Effective rights, as the CPU sees them through every level (like pt_query). */
		pt_query(d->pt, va, &r.pa, &r.flags, NULL);
	}
	if (dumper_continues(d, &r)) {
		d->cur.end = r.end;
		if (r.page_size < d->cur.page_size)
			d->cur.page_size = r.page_size;
		return 0;
	}
	dumper_emit(d);
	d->cur = r;
	d->open = true;
	return 0;
}

void pt_dump(const struct pt *pt, pt_range_fn fn, void *arg)
{
	struct dumper d;

	d.pt = pt;
	d.fn = fn;
	d.arg = arg;
	d.open = false;
	pt_walk(pt, dumper_entry, &d);
	dumper_emit(&d);
}

/* Append a page size as "4K", "2M", "1G", "512G", padded to three columns. */
static void strbuf_put_size(struct strbuf *l, uint64_t size)
{
	static const char units[] = "KMG";
	unsigned u = 0, width;

	size >>= 10;
	while (u < 2 && size >= 1024 && !(size & 1023)) {
		size >>= 10;
		u++;
	}
	width = strbuf_put_dec(l, size) + 1;
	strbuf_putc(l, units[u]);
	while (width++ < 3)
		strbuf_putc(l, ' ');
}

size_t pt_format_range(char *buf, size_t n, const struct pt_range *r, pt_guard_name_fn names)
{
	struct strbuf l = {buf, n, 0};

	strbuf_put_hex16(&l, r->start);
	strbuf_putc(&l, '-');
	strbuf_put_hex16(&l, r->end);
	strbuf_putc(&l, ' ');
	strbuf_put_hex16(&l, r->end - r->start);
	strbuf_putc(&l, ' ');
	strbuf_put_size(&l, r->page_size);
	strbuf_putc(&l, ' ');
	if (r->guard_kind) {
		const char *name = names ? names(r->guard_kind) : NULL;

		strbuf_puts(&l, "guard(");
		if (name)
			strbuf_puts(&l, name);
		else
			strbuf_put_dec(&l, r->guard_kind);
		strbuf_putc(&l, ')');
	} else {
		/* Flags go straight into the remaining space; the length counts them all. */
		size_t room = l.len < n ? n - l.len : 0;

		l.len += pt_flags_str(room ? buf + l.len : NULL, room, r->flags);
	}
	return strbuf_end(&l);
}
