/* --dump-pt: the guest's page tables as coalesced ranges, each named by the region it lies in. */
#include "layout.h"

/* What the range callback needs. */
struct dump_ctx {
	const struct layout *l;
	FILE *out;
};

/* Print r, cut at region boundaries so every line belongs to one region (the tables coalesce,
 * say, the GDT and IDT pages into one RW NX range; the reader wants to see both). */
static void dump_range(void *arg, const struct pt_range *r)
{
	const struct dump_ctx *c = arg;
	uint64_t va = r->start;

	while (va < r->end) {
		const struct pw_region *reg = layout_region_at(c->l, va);
		uint64_t end =
		    reg && reg->start + reg->size < r->end ? reg->start + reg->size : r->end;
		struct pt_range part = *r;
		char line[160];

		part.start = va;
		part.end = end;
		if (!r->guard_kind)
			part.pa = r->pa + (va - r->start);
		pt_format_range(line, sizeof(line), &part, layout_guard_name);
		fprintf(c->out, "%s  %s\n", line, reg ? pw_region_kind_name(reg->kind) : "-");
		va = end;
	}
}

void layout_dump_pt(const struct layout *l, FILE *out)
{
	struct dump_ctx c = {l, out};

	fprintf(out,
		"---[ page tables: CR3 %#llx, pool %#llx-%#llx, %llu of %llu frames used ]---\n",
		(unsigned long long)l->pt.root, (unsigned long long)PW_PT_POOL_GPA,
		(unsigned long long)l->pool_end,
		(unsigned long long)((l->pool_next - PW_PT_POOL_GPA) / PW_PAGE_SIZE),
		(unsigned long long)((l->pool_end - PW_PT_POOL_GPA) / PW_PAGE_SIZE));
	pt_dump(&l->pt, dump_range, &c);
}
