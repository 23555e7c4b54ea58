/* Builds the guest's memory layout: the region list, the identity-mapped page tables with their
 * guards (in the page-table pool, in guest RAM), the GDT/TSS page and the boot info.
 * The constants are in guest/include/pagewarden/layout.h; docs/layout.md draws the map. */
#ifndef PW_HOST_LAYOUT_H
#define PW_HOST_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "pagewarden/abi.h"
#include "paging.h"
#include "loader.h"
#include "memory.h"

struct layout_opts {
	unsigned fault_mode; /* enum pw_fault_mode */
	bool protect_pt;     /* page tables will sit in a read-only memslot */
	bool has_1g;         /* CPU supports 1 GiB pages */
	unsigned maxphyaddr; /* from CPUID 0x80000008, 0 = 52 */
	const char *cmdline; /* guest args, joined; may be NULL */
};

/* The result: everything the VMM needs to start the vCPU and to classify faults later. */
struct layout {
	uint64_t mem_size;
	uint64_t heap_start, heap_end;
	uint64_t pool_next, pool_end; /* free page-table frames after the VMM's tables */
	unsigned nregions;
	struct pw_region regions[PW_MAX_REGIONS]; /* sorted by start; covers [0, 4 GiB) */
	struct pt pt;                             /* the guest's tables, host view */
	struct pt_handler handler;                /* allocates from the pool in guest RAM */
	const struct guest_mem *mem;
	uint64_t entry, stack_top, boot_info;
};

enum layout_err {
	LAYOUT_OK = 0,
	LAYOUT_ENOMEM,   /* the page-table pool ran out */
	LAYOUT_ERANGE,   /* the image does not fit the RAM with the fixed regions */
	LAYOUT_EPAGING,  /* the paging library refused a mapping (a bug: see detail) */
	LAYOUT_ECMDLINE, /* the command line is longer than PW_CMDLINE_MAX - 1 */
};

/* Return a constant description of err. */
const char *layout_strerror(enum layout_err err);

/* Lay out a guest with img already parsed (not yet loaded) in mem: fill out, build the page
 * tables in the pool, write the GDT/TSS and the boot info. Call before image_load. */
enum layout_err layout_build(const struct guest_mem *mem, const struct image *img,
			     const struct layout_opts *opts, struct layout *out);

/* Region containing gpa, or NULL if none (above 4 GiB). */
const struct pw_region *layout_region_at(const struct layout *l, uint64_t gpa);


/* Name of a guard kind written in a not-present entry (the dumper's pt_guard_name_fn). */
const char *layout_guard_name(unsigned kind);

#endif
