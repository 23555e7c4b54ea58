/* layout_build for the VMM: the image's segments, the VMM's RAM. */
#include "layout.h"

_Static_assert(IMAGE_MAX_SEGMENTS <= LAYOUT_MAX_SEGMENTS, "more image segments than layouts take");

/* The builder's view of guest RAM: the one checked helper. */
static void *host_to_virt(const struct layout *l, uint64_t pa, uint64_t len)
{
	return gpa_to_host(l->mem, pa, len);
}

enum layout_err layout_build(const struct guest_mem *mem, const struct image *img,
			     const struct layout_opts *opts, struct layout *out)
{
	struct layout_segment segs[LAYOUT_MAX_SEGMENTS];
	unsigned n = img->nsegs;

	if (n > LAYOUT_MAX_SEGMENTS) /* the loader allows at most IMAGE_MAX_SEGMENTS */
		return LAYOUT_ERANGE;
	for (unsigned i = 0; i < n; i++)
		segs[i] = (struct layout_segment){.gpa = img->seg[i].gpa,
						  .mem_size = img->seg[i].mem_size,
						  .flags = img->seg[i].flags,
						  .kind = img->seg[i].kind};
	return layout_build_segments(mem, host_to_virt, mem->size, segs, n, img->entry, opts, out);
}
