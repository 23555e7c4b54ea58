/* The dumper: present leaves and guard entries coalesced into ranges, in VA order, like Linux
 * ptdump or QEMU "info mem", and the one-line format of a range. Holes are not shown.
 */
#include "paging.h"

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

/* A bounded line writer with snprintf's return convention. */
struct line {
	char *buf;
	size_t n;
	size_t len; /* characters that would have been written */
};

/* Append one character (counted even when it does not fit). */
static void line_putc(struct line *l, char c)
{
	if (l->n > 0 && l->len < l->n - 1)
		l->buf[l->len] = c;
	l->len++;
}

/* Append s. */
static void line_puts(struct line *l, const char *s)
{
	while (*s)
		line_putc(l, *s++);
}

/* Append v as 16 hex digits. */
static void line_hex16(struct line *l, uint64_t v)
{
	for (int shift = 60; shift >= 0; shift -= 4)
		line_putc(l, "0123456789abcdef"[(v >> shift) & 0xf]);
}

/* Append v in decimal; returns the number of digits. */
static unsigned line_dec(struct line *l, uint64_t v)
{
	char digits[20];
	unsigned nd = 0;

	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (unsigned i = nd; i > 0; i--)
		line_putc(l, digits[i - 1]);
	return nd;
}

/* Append a page size as "4K", "2M", "1G", "512G", padded to three columns. */
static void line_size(struct line *l, uint64_t size)
{
	static const char units[] = "KMG";
	unsigned u = 0, width;

	size >>= 10;
	while (u < 2 && size >= 1024 && !(size & 1023)) {
		size >>= 10;
		u++;
	}
	width = line_dec(l, size) + 1;
	line_putc(l, units[u]);
	while (width++ < 3)
		line_putc(l, ' ');
}

size_t pt_format_range(char *buf, size_t n, const struct pt_range *r, pt_guard_name_fn names)
{
	struct line l = {buf, n, 0};

	line_hex16(&l, r->start);
	line_putc(&l, '-');
	line_hex16(&l, r->end);
	line_putc(&l, ' ');
	line_hex16(&l, r->end - r->start);
	line_putc(&l, ' ');
	line_size(&l, r->page_size);
	line_putc(&l, ' ');
	if (r->guard_kind) {
		const char *name = names ? names(r->guard_kind) : NULL;

		line_puts(&l, "guard(");
		if (name)
			line_puts(&l, name);
		else
			line_dec(&l, r->guard_kind);
		line_putc(&l, ')');
	} else {
		/* Flags go straight into the remaining space; the length counts them all. */
		size_t room = l.len < n ? n - l.len : 0;

		l.len += pt_flags_str(room ? buf + l.len : NULL, room, r->flags);
	}
	if (n > 0)
		buf[l.len < n ? l.len : n - 1] = '\0';
	return l.len;
}
