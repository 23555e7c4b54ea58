/* The VMM's side of the guest layout: layout/layout_build.h builds it into the VMM's RAM from a
 * parsed image; --dump-pt prints it. */
#ifndef PW_HOST_LAYOUT_H
#define PW_HOST_LAYOUT_H

#include <stdio.h>

#include "layout_build.h"
#include "loader.h"
#include "memory.h"

/* Lay out a guest with img already parsed (not yet loaded) in mem: fill out, build the page
 * tables in the pool, write the GDT/TSS and the boot info. Call before image_load. */
enum layout_err layout_build(const struct guest_mem *mem, const struct image *img,
			     const struct layout_opts *opts, struct layout *out);

/* Print l's page tables to out as coalesced ranges (like Linux ptdump), one per line, each
 * followed by the name of the region it starts in. For --dump-pt; call after layout_build. */
void layout_dump_pt(const struct layout *l, FILE *out);

#endif
