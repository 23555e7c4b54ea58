/* The guest's memory layout, built the same way wherever it is built: by the VMM before the
 * first KVM_RUN (host/layout.c), and by the guest itself when it boots through the PVH entry
 * under another VMM (guest/lib/pvh_boot.c). Freestanding, like paging/: the caller says how to reach
 * guest-physical memory. The constants are in guest/include/pagewarden/layout.h; docs/layout.md
 * draws the map. */
#ifndef PW_LAYOUT_BUILD_H
#define PW_LAYOUT_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagewarden/abi.h"
#include "pagewarden/layout.h"
#include "paging.h"

/* Descriptor values of the GDT the layout writes at PW_GDT_GPA. host/cpu.c fills its
 * struct kvm_segment values from these so the cached segment state KVM_SET_SREGS loads matches
 * the descriptors in memory (an iretq or a segment reload in the guest reads the memory copy).
 * TYPE is the 4-bit descriptor type, ACCESS the whole access byte (P, DPL, S, type), FLAGS the
 * high nibble of byte 6 (G, D/B, L, AVL). */
#define PW_GDT_ENTRIES	    8 /* null, code, data, TSS (two slots), null, user data, user code */
#define PW_GDT_LIMIT	    (PW_GDT_ENTRIES * 8 - 1)
#define PW_GDT_CODE_TYPE    0xb		/* code, execute/read, accessed preset */
#define PW_GDT_CODE_ACCESS  0x9b	/* P=1 DPL=0 S=1 type=0xb */
#define PW_GDT_CODE_FLAGS   0xa		/* G=1 L=1 D=0: 64-bit code */
#define PW_GDT_DATA_TYPE    0x3		/* data, read/write, accessed preset */
#define PW_GDT_DATA_ACCESS  0x93	/* P=1 DPL=0 S=1 type=0x3 */
#define PW_GDT_DATA_FLAGS   0xc		/* G=1 D/B=1 */
#define PW_GDT_UDATA_ACCESS 0xf3	/* P=1 DPL=3 S=1 type=0x3 */
#define PW_GDT_UCODE_ACCESS 0xfb	/* P=1 DPL=3 S=1 type=0xb */
#define PW_SEG_LIMIT	    0xffffffffu /* code/data limit in bytes (0xfffff pages, G=1) */
#define PW_GDT_TSS_TYPE	    0xb /* 64-bit TSS, busy: TR is loaded directly by KVM_SET_SREGS */
#define PW_GDT_TSS_ACCESS   0x8b /* P=1 DPL=0 S=0 type=0xb */
#define PW_GDT_TSS_FLAGS    0x0	 /* G=0: the limit is in bytes */
#define PW_TSS_LIMIT	    0x67 /* 104-byte TSS, no I/O bitmap */
#define PW_TSS_IOMAP_BASE   0x68 /* = limit + 1: no I/O bitmap (ring 0 never reads it) */
#define PW_IDT_BASE	    PW_IDT_GPA
#define PW_IDT_LIMIT	    (256 * 16 - 1) /* 256 16-byte gates: the whole IDT page */

struct layout_opts {
	unsigned fault_mode; /* enum pw_fault_mode */
	bool protect_pt;     /* page tables will sit in a read-only memslot */
	bool has_1g;	     /* CPU supports 1 GiB pages */
	unsigned maxphyaddr; /* from CPUID 0x80000008, 0 = 52 */
	const char *cmdline; /* guest args, joined; may be NULL */
	bool debugger;	     /* --gdb: the boot info says PW_BOOT_F_DEBUGGER */
	/* 0: all of [0, 1 MiB) is RAM (./vmm). Else the end of the RAM that starts at 0 (a PVH
	 * firmware's e820 map): the page-table pool stops at the page below it, and the rest up
	 * to PW_IMAGE_GPA becomes a `firmware` guard. */
	uint64_t low_ram_end;
	uint32_t boot_flags; /* more PW_BOOT_F_* for the boot info (PW_BOOT_F_PVH) */
	unsigned ncpus;	     /* --cpus: 0 or 1 for one, at most PW_MAX_CPUS */
};

/* One image segment to map: a guest-physical range with generic paging flags. */
struct layout_segment {
	uint64_t gpa, mem_size;
	unsigned flags; /* PT_READ | PT_WRITE | PT_EXECUTE */
	unsigned kind;	/* PW_REGION_TEXT, PW_REGION_RODATA or PW_REGION_DATA */
};

#define LAYOUT_MAX_SEGMENTS 16

struct guest_mem; /* the VMM's RAM (host/memory.h); the guest has none */
struct layout;

/* Return a pointer to len bytes of guest-physical memory at pa, or NULL if that is not RAM. */
typedef void *layout_to_virt_fn(const struct layout *l, uint64_t pa, uint64_t len);

/* The result: everything needed to start the CPU and to classify faults later. */
struct layout {
	uint64_t mem_size;
	uint64_t heap_start, heap_end;
	uint64_t pool_next, pool_end; /* free page-table frames after the builder's tables */
	unsigned nregions;
	struct pw_region regions[PW_MAX_REGIONS]; /* sorted by start; covers [0, 4 GiB) */
	struct pt pt;				  /* the guest's tables, builder's view */
	struct pt_handler handler;		  /* allocates from the pool in guest RAM */
	const struct guest_mem *mem;		  /* the VMM's RAM; NULL in the guest */
	layout_to_virt_fn *to_virt;
	uint64_t entry, stack_top, boot_info;
	unsigned ncpus;
	uint64_t percpu_base; /* CPU 1's block (docs/smp.md); 0 with one CPU */
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

/* Lay out a guest of mem_size bytes of RAM whose image has the nsegs segments segs (sorted, not
 * yet loaded) and starts at entry: fill out, build the page tables in the pool, write the
 * GDT/TSS and the boot info, all through to_virt (mem is kept for the caller). */
enum layout_err layout_build_segments(const struct guest_mem *mem, layout_to_virt_fn *to_virt,
				      uint64_t mem_size, const struct layout_segment *segs,
				      unsigned nsegs, uint64_t entry,
				      const struct layout_opts *opts, struct layout *out);

/* Where CPU cpu's per-CPU block starts (0 for CPU 0, which has the fixed regions), its GDT page
 * (TSS at + PW_TSS_OFF, struct pw_cpu_data at + PW_CPU_DATA_OFF), and its stack top. */
uint64_t layout_percpu_block(const struct layout *l, unsigned cpu);
uint64_t layout_cpu_gdt(const struct layout *l, unsigned cpu);
uint64_t layout_cpu_stack_top(const struct layout *l, unsigned cpu);

/* Region containing gpa, or NULL if none (above 4 GiB). */
const struct pw_region *layout_region_at(const struct layout *l, uint64_t gpa);

/* Name of a guard kind written in a not-present entry (the dumper's pt_guard_name_fn). */
const char *layout_guard_name(unsigned kind);

#endif
