/* Builds the guest's memory layout: the region list, the identity-mapped page tables with their
 * guards (in the page-table pool, in guest RAM), the GDT/TSS page and the boot info.
 * The constants are in guest/include/pagewarden/layout.h; docs/layout.md draws the map. */
#ifndef PW_HOST_LAYOUT_H
#define PW_HOST_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pagewarden/abi.h"
#include "pagewarden/layout.h"
#include "paging.h"
#include "loader.h"
#include "memory.h"

/* Descriptor values of the GDT layout_build writes at PW_GDT_GPA. host/cpu.c fills its
 * struct kvm_segment values from these so the cached segment state KVM_SET_SREGS loads matches
 * the descriptors in memory (an iretq or a segment reload in the guest reads the memory copy).
 * TYPE is the 4-bit descriptor type, ACCESS the whole access byte (P, DPL, S, type), FLAGS the
 * high nibble of byte 6 (G, D/B, L, AVL). */
#define PW_GDT_ENTRIES	   8 /* null, code, data, TSS (two slots), null, user data, user code */
#define PW_GDT_LIMIT	   (PW_GDT_ENTRIES * 8 - 1)
#define PW_GDT_CODE_TYPE   0xb	       /* code, execute/read, accessed preset */
#define PW_GDT_CODE_ACCESS 0x9b	       /* P=1 DPL=0 S=1 type=0xb */
#define PW_GDT_CODE_FLAGS  0xa	       /* G=1 L=1 D=0: 64-bit code */
#define PW_GDT_DATA_TYPE   0x3	       /* data, read/write, accessed preset */
#define PW_GDT_DATA_ACCESS 0x93	       /* P=1 DPL=0 S=1 type=0x3 */
#define PW_GDT_DATA_FLAGS  0xc	       /* G=1 D/B=1 */
#define PW_GDT_UDATA_ACCESS 0xf3	       /* P=1 DPL=3 S=1 type=0x3 */
#define PW_GDT_UCODE_ACCESS 0xfb	       /* P=1 DPL=3 S=1 type=0xb */
#define PW_SEG_LIMIT	   0xffffffffu /* code/data limit in bytes (0xfffff pages, G=1) */
#define PW_GDT_TSS_TYPE	   0xb	/* 64-bit TSS, busy: TR is loaded directly by KVM_SET_SREGS */
#define PW_GDT_TSS_ACCESS  0x8b /* P=1 DPL=0 S=0 type=0xb */
#define PW_GDT_TSS_FLAGS   0x0	/* G=0: the limit is in bytes */
#define PW_TSS_LIMIT	   0x67 /* 104-byte TSS, no I/O bitmap */
#define PW_TSS_IOMAP_BASE  0x68 /* = limit + 1: no I/O bitmap (ring 0 never reads it) */
#define PW_IDT_BASE	   PW_IDT_GPA
#define PW_IDT_LIMIT	   (256 * 16 - 1) /* 256 16-byte gates: the whole IDT page */

struct layout_opts {
	unsigned fault_mode; /* enum pw_fault_mode */
	bool protect_pt;     /* page tables will sit in a read-only memslot */
	bool has_1g;	     /* CPU supports 1 GiB pages */
	unsigned maxphyaddr; /* from CPUID 0x80000008, 0 = 52 */
	const char *cmdline; /* guest args, joined; may be NULL */
	bool debugger;	     /* --gdb: the boot info says PW_BOOT_F_DEBUGGER */
};

/* The result: everything the VMM needs to start the vCPU and to classify faults later. */
struct layout {
	uint64_t mem_size;
	uint64_t heap_start, heap_end;
	uint64_t pool_next, pool_end; /* free page-table frames after the VMM's tables */
	unsigned nregions;
	struct pw_region regions[PW_MAX_REGIONS]; /* sorted by start; covers [0, 4 GiB) */
	struct pt pt;				  /* the guest's tables, host view */
	struct pt_handler handler;		  /* allocates from the pool in guest RAM */
	const struct guest_mem *mem;
	uint64_t entry, stack_top, boot_info;
};

enum layout_err {
	LAYOUT_OK = 0,
	LAYOUT_ENOMEM,	 /* the page-table pool ran out */
	LAYOUT_ERANGE,	 /* the image does not fit the RAM with the fixed regions */
	LAYOUT_EPAGING,	 /* the paging library refused a mapping (a bug: see detail) */
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

/* Print l's page tables to out as coalesced ranges (like Linux ptdump), one per line, each
 * followed by the name of the region it starts in. For --dump-pt; call after layout_build. */
void layout_dump_pt(const struct layout *l, FILE *out);

#endif
