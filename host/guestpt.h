/* The guest's live page tables seen from the VMM: translate a guest-virtual address with the
 * paging library's walk (pt_query), and map heap pages for --faults=vmm with frames from the TOP
 * of the page-table pool. The guest runtime allocates from the bottom (boot info pt_pool_next
 * upward), the VMM from pt_pool_end downward, so the two never hand out the same frame until the
 * pool is exhausted (docs/faults.md, "Heap growth frames"). */
#ifndef PW_HOST_GUESTPT_H
#define PW_HOST_GUESTPT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "layout.h"
#include "memory.h"
#include "access.h"
#include "paging.h"

/* --cpus: the VMM's end of the pool, shared by every vCPU's guest_pt, so that two vCPUs growing
 * the heap never take the same frame or map into the same table at once. */
struct guest_pt_pool {
	pthread_mutex_t lock; /* held over guest_pt_map_heap */
	uint64_t top;	      /* the VMM's cursor, as pool_top below */
};

struct guest_pt {
	struct pt pt;		/* root: the CR3 of the last attach */
	struct pt_handler h;
	const struct guest_mem *mem; /* NULL: no layout, nothing translates */
	uint64_t boot_cr3;	/* the root the guest booted on */
	uint64_t pool_floor;	/* lowest frame the VMM may take: the guest's cursor at boot */
	uint64_t pool_top;	/* the VMM's cursor: frames below it are taken, downward */
	struct guest_pt_pool *shared; /* --cpus: the cursor and lock instead (NULL: pool_top) */
	uint64_t outside[512];	/* what a table outside guest RAM reads as: empty */
};

/* Prepare g over layout l (call once, before the run; l may be NULL in unit tests). */
void guest_pt_init(struct guest_pt *g, const struct layout *l);

/* Walk the tables rooted at cr3 (low bits ignored) for va: true and *gpa when mapped. */
bool guest_pt_translate(struct guest_pt *g, uint64_t cr3, uint64_t va, uint64_t *gpa);

/* The tables rooted at cr3 (low bits ignored) for the paging library's read-only calls (pt_walk,
 * pt_query), tables outside guest RAM reading as empty; NULL without a layout. Valid until the
 * next call on g. */
const struct pt *guest_pt_at(struct guest_pt *g, uint64_t cr3);

/* The permission model's verdict (pw_pf_walk, classify.h) on the access a #PF with error code
 * err at gva describes, through the tables at cr3 under the control registers cr0, cr4, efer
 * and the faulting context's rflags (EFLAGS.AC). res if the walk could be made, else NULL (no
 * layout). A table outside guest RAM reads as empty: the walk then says not present, and the
 * classifier falls back to the error code. */
const struct pt_access_result *guest_pt_pf_walk(struct guest_pt *g, uint64_t cr3, uint64_t cr0,
						uint64_t cr4, uint64_t efer, uint64_t rflags,
						uint64_t gva, uint64_t err,
						struct pt_access_result *res);

/* The entry mapping va in the tables at cr3, at the deepest level they have (*level), without
 * allocating; NULL if the walk leaves guest RAM. */
pte_t *guest_pt_entry(struct guest_pt *g, uint64_t cr3, uint64_t va, int *level);

/* Map the 4 KiB page holding va read-write, not executable, identity, in the tables at cr3.
 * PT_ENOMEM when the VMM's end of the pool reaches the guest's. The caller owes the TLB work. */
enum pt_err guest_pt_map_heap(struct guest_pt *g, uint64_t cr3, uint64_t va);

#endif
