/* x86-64 4-level page tables: map, unmap, query, protect, remap, regions, split, merge, walk.
 *
 * Freestanding (no libc, no malloc, no global state, no privileged instructions): the VMM builds
 * guest tables with it through host pointers, and the guest edits its live tables with it.
 * Frames come from the caller's handler; the library never flushes a TLB, it reports what the
 * caller owes in a struct pt_flush.
 */
#ifndef PAGING_PAGING_H
#define PAGING_PAGING_H

#include "pte.h"

enum pt_err {
	PT_OK = 0,
	PT_ENOMEM,     /* the frame handler returned no frame */
	PT_EALIGN,     /* va, pa or length not aligned to the page size asked for */
	PT_ENOTMAPPED, /* nothing is mapped at va */
	PT_EEXIST,     /* something is already mapped (or a table exists) where a leaf was asked */
	PT_EHUGE,      /* va is inside a huge page and the call may not split it */
	PT_EADDR,      /* va not canonical, pa at or above 2^maxphyaddr, or a range that wraps */
	PT_EFLAGS,     /* flags not expressible (see pt_flags_valid), or a bad size or option */
	PT_ERR_COUNT
};

/* Return a short constant description of err ("not mapped"); never NULL. */
const char *pt_strerror(enum pt_err err);

/* Where table frames come from. alloc_frame returns the physical address of a free 4 KiB frame
 * (never 0; 0 means out of memory); the library zeroes it. phys_to_virt gives a pointer the
 * library can use to read and write the frame. */
struct pt_handler {
	void *ctx;
	uint64_t (*alloc_frame)(void *ctx);
	void (*free_frame)(void *ctx, uint64_t pa);
	void *(*phys_to_virt)(void *ctx, uint64_t pa);
};

/* Feature switches for struct pt. */
#define PT_FEAT_1G (1u << 0) /* 1 GiB leaves allowed (CPUID 0x80000001 EDX[26]) */

/* A page table: a root (the PML4's physical address, what CR3 holds) and where frames come
 * from. Plain data: the caller owns it; copies share the same tables. */
struct pt {
	uint64_t root;
	const struct pt_handler *h;
	unsigned maxphyaddr; /* PAs must be below 2^maxphyaddr (default 52) */
	unsigned features;   /* PT_FEAT_* */
};

/* The TLB work a mutating call leaves to its caller. Calls only add to it, so one record can
 * collect a batch. PT_FLUSH_PAGES: invlpg each va (any address inside a huge page covers it);
 * PT_FLUSH_ALL: reload CR3 (more than PT_FLUSH_MAX pages, or tables were freed). */
#define PT_FLUSH_MAX 16
enum pt_flush_kind { PT_FLUSH_NONE = 0, PT_FLUSH_PAGES, PT_FLUSH_ALL };
struct pt_flush {
	enum pt_flush_kind kind;
	unsigned count;
	uint64_t va[PT_FLUSH_MAX];
};

/* Reset f to "nothing owed". */
void pt_flush_init(struct pt_flush *f);

/* Record that the page containing va must be invalidated (f may be NULL). Past PT_FLUSH_MAX
 * distinct addresses the record becomes PT_FLUSH_ALL. For callers that edit entries themselves
 * (through pt_lookup or pt_walk) and batch the TLB work with the library's. */
void pt_flush_add(struct pt_flush *f, uint64_t va);

/* Record that the whole TLB and the paging-structure caches must be flushed (f may be NULL). */
void pt_flush_add_all(struct pt_flush *f);

/* Options for the region calls. */
#define PT_MAP_HUGE	(1u << 0) /* map_region may use 2 MiB / 1 GiB leaves where aligned */
#define PT_MAP_NO_SPLIT (1u << 1) /* unmap/protect_region: fail with PT_EHUGE instead of split */
#define PT_FREE_TABLES	(1u << 2) /* unmap/unmap_region: free tables that became empty */

/* Create an empty table: allocate and zero a root.
 * Errors: PT_ENOMEM; PT_EFLAGS if maxphyaddr is not in 32..52 (0 selects 52). */
enum pt_err pt_init(struct pt *pt, const struct pt_handler *h, unsigned maxphyaddr,
		    unsigned features);

/* Adopt existing tables rooted at root (e.g. CR3 of a running guest). Same errors as pt_init,
 * except PT_ENOMEM; PT_EALIGN if root is not 4 KiB aligned or is 0. */
enum pt_err pt_attach(struct pt *pt, const struct pt_handler *h, uint64_t root, unsigned maxphyaddr,
		      unsigned features);

/* Free every table frame, the root included, through the handler. pt->root becomes 0. */
void pt_destroy(struct pt *pt);

/* Map one page of size (PT_SIZE_4K/2M/1G) at va to pa with flags (not empty).
 * Errors: PT_EADDR, PT_EALIGN, PT_EFLAGS (bad flags or size, 1G without PT_FEAT_1G),
 * PT_EEXIST (a leaf or a table already there), PT_ENOMEM. A guard entry may be overwritten. */
enum pt_err pt_map(struct pt *pt, uint64_t va, uint64_t pa, uint64_t size, unsigned flags,
		   struct pt_flush *fl);

/* Unmap the page containing va, whatever its size; report what it mapped (each out may be
 * NULL). opts: PT_FREE_TABLES. Errors: PT_EADDR, PT_ENOTMAPPED. */
enum pt_err pt_unmap(struct pt *pt, uint64_t va, uint64_t *pa, unsigned *flags, uint64_t *size,
		     unsigned opts, struct pt_flush *fl);

/* Translate va: *pa = frame + offset, *flags = effective rights (W and U ANDed across levels,
 * EXECUTE only if no level has NX), *size = leaf size. Outs may be NULL.
 * Errors: PT_EADDR, PT_ENOTMAPPED. */
enum pt_err pt_query(const struct pt *pt, uint64_t va, uint64_t *pa, unsigned *flags,
		     uint64_t *size);

/* Change the flags (not empty) of the whole page containing va, whatever its size.
 * Errors: PT_EADDR, PT_EFLAGS, PT_ENOTMAPPED. */
enum pt_err pt_protect(struct pt *pt, uint64_t va, unsigned flags, struct pt_flush *fl);

/* Point the page containing va at pa (aligned to that page's size) with flags.
 * Errors: PT_EADDR, PT_EALIGN, PT_EFLAGS, PT_ENOTMAPPED. */
enum pt_err pt_remap(struct pt *pt, uint64_t va, uint64_t pa, unsigned flags, struct pt_flush *fl);

/* Map [va, va+len) to [pa, pa+len), 4 KiB aligned. With PT_MAP_HUGE, each step uses the
 * largest page (1 GiB if PT_FEAT_1G, 2 MiB, 4 KiB) whose alignment va and pa share and that fits.
 * On error, pages mapped by this call stay mapped (the error names the first failure).
 * Errors: PT_EADDR, PT_EALIGN, PT_EFLAGS, PT_EEXIST, PT_ENOMEM. */
enum pt_err pt_map_region(struct pt *pt, uint64_t va, uint64_t pa, uint64_t len, unsigned flags,
			  unsigned opts, struct pt_flush *fl);

/* Unmap every page in [va, va+len) (4 KiB aligned); holes are skipped. A huge page only partly
 * covered is split into the next smaller size first (unless PT_MAP_NO_SPLIT), keeping the rest
 * mapped to the same physical addresses. opts: PT_MAP_NO_SPLIT, PT_FREE_TABLES.
 * Errors: PT_EADDR, PT_EALIGN, PT_EHUGE, PT_ENOMEM (a split needed a frame). */
enum pt_err pt_unmap_region(struct pt *pt, uint64_t va, uint64_t len, unsigned opts,
			    struct pt_flush *fl);

/* Set flags (not empty) on every mapped page in [va, va+len); holes are skipped; splits as
 * pt_unmap_region. Errors: PT_EADDR, PT_EALIGN, PT_EFLAGS, PT_EHUGE, PT_ENOMEM. */
enum pt_err pt_protect_region(struct pt *pt, uint64_t va, uint64_t len, unsigned flags,
			      unsigned opts, struct pt_flush *fl);

/* Make [va, va+len) (4 KiB aligned) not present, with guard entries of kind (1..255) at the
 * largest sizes that fit, splitting huge pages at the edges. Existing mappings are removed.
 * Errors: PT_EADDR, PT_EALIGN, PT_EFLAGS (kind 0 or > 255), PT_ENOMEM. */
enum pt_err pt_set_guard(struct pt *pt, uint64_t va, uint64_t len, unsigned kind,
			 struct pt_flush *fl);

/* Split the huge page containing va into 512 pages of the next smaller size, same PAs and
 * flags. Errors: PT_EADDR, PT_ENOTMAPPED, PT_EEXIST (va is mapped by a 4 KiB page), PT_ENOMEM. */
enum pt_err pt_split(struct pt *pt, uint64_t va, struct pt_flush *fl);

/* Merge the table that maps va at level (1: a PT into a 2 MiB leaf, 2: a PD into a 1 GiB leaf)
 * if its 512 entries are present leaves with one flag set and contiguous, aligned PAs; the
 * table frame is freed. Errors: PT_EADDR, PT_EFLAGS (bad level, or 1 GiB without PT_FEAT_1G),
 * PT_ENOTMAPPED (no such table), PT_EEXIST (not uniform: nothing changed). */
enum pt_err pt_merge(struct pt *pt, uint64_t va, int level, struct pt_flush *fl);

/* The one walker everyone uses: find the entry for va, descending to stop_level (1..4) or to
 * the first leaf or non-present entry above it. *entry points into the table (writable),
 * *level is the level it was found at. With alloc, missing tables down to stop_level are created
 * (zeroed; a guard on the way becomes a table of smaller guards of its kind) and a huge leaf on
 * the way is an error. Errors: PT_EADDR, PT_ENOMEM, PT_EHUGE; PT_EFLAGS if stop_level is not
 * 1..4. */
enum pt_err pt_lookup(const struct pt *pt, uint64_t va, int stop_level, bool alloc, pte_t **entry,
		      int *level);

/* Entries seen on the way to va, for reports: entry[i] and its table PA at level 4 - i. */
struct pt_trace {
	int depth; /* number of entries read (1..4) */
	pte_t entry[PT_LEVELS];
	uint64_t table_pa[PT_LEVELS];
	uint64_t pa; /* translated address when the walk ends at a present leaf */
	bool mapped;
};

/* Record the walk of va. Errors: PT_EADDR. A walk ending at a not-present entry is PT_OK with
 * trace->mapped false. */
enum pt_err pt_trace(const struct pt *pt, uint64_t va, struct pt_trace *trace);

/* Walk callback: level of the entry, sign-extended VA it covers, the entry (writable). Return
 * nonzero to stop the walk; that value is returned by pt_walk. */
typedef int (*pt_walk_fn)(void *arg, int level, uint64_t va, pte_t *entry);

/* Visit every present leaf and every guard entry in VA order. Returns 0 or the callback's
 * nonzero value. */
int pt_walk(const struct pt *pt, pt_walk_fn fn, void *arg);

/* One coalesced range for the dumper: consecutive pages of one size, one flag set, PAs
 * contiguous; or a run of guard entries of one kind. */
struct pt_range {
	uint64_t start, end; /* VA, end exclusive, sign-extended */
	uint64_t pa;	     /* PA of start (present ranges) */
	uint64_t page_size;
	unsigned flags;	     /* generic flags (present ranges) */
	unsigned guard_kind; /* nonzero for guard ranges */
};

typedef void (*pt_range_fn)(void *arg, const struct pt_range *r);

/* Call fn for each coalesced range, in VA order (like Linux ptdump / QEMU "info mem"). */
void pt_dump(const struct pt *pt, pt_range_fn fn, void *arg);

/* Name printed for a guard kind; the caller may supply names (NULL, or a NULL result: the
 * kind in decimal, "guard(3)"). */
typedef const char *(*pt_guard_name_fn)(unsigned kind);

/* Format r as one line without newline:
 * "0000000000001000-0000000000200000 00000000001ff000 4K  RW NX" or
 * "0000000000000000-0000000000001000 0000000000001000 4K  guard(null)".
 * Returns the length that would have been written, like snprintf. */
size_t pt_format_range(char *buf, size_t n, const struct pt_range *r, pt_guard_name_fn names);

/* True if va is canonical for 48-bit paging (bits 63:47 all equal). */
static inline bool pt_canonical(uint64_t va)
{
	uint64_t top = va >> 47;
	return top == 0 || top == 0x1ffff;
}

/* True if [va, va+len) lies within one canonical half without wrapping; len 0 needs va
 * canonical. A range through the non-canonical hole fails even when both ends are canonical. */
static inline bool pt_range_canonical(uint64_t va, uint64_t len)
{
	uint64_t last = va + len - 1;

	if (!pt_canonical(va))
		return false;
	if (len == 0)
		return true;
	return last >= va && (last >> 47) == (va >> 47);
}

/* Bytes of VA one entry at level (1..4) covers: 4 KiB, 2 MiB, 1 GiB, 512 GiB. */
static inline uint64_t pt_level_span(int level)
{
	return 1ull << (12 + 9 * (level - 1));
}

/* Index of the entry for va in a table at level (1..4). */
static inline unsigned pt_level_index(uint64_t va, int level)
{
	return (unsigned)(va >> (12 + 9 * (level - 1))) & (PT_ENTRIES - 1);
}

/* Sign-extend a 48-bit VA. */
static inline uint64_t pt_sign_extend(uint64_t va)
{
	return (va & (1ull << 47)) ? (va | 0xffff000000000000ull) : (va & 0x0000ffffffffffffull);
}

#endif
