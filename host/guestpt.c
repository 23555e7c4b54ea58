/* The guest's page tables from the VMM's side. */
#include "guestpt.h"

#include <string.h>

#include "pagewarden/classify.h"

/* A frame from the top of the pool, or 0 when the VMM's cursor meets the guest's start. */
static uint64_t guest_pt_alloc(void *ctx)
{
	struct guest_pt *g = ctx;
	uint64_t *top = g->shared ? &g->shared->top : &g->pool_top;

	if (*top <= g->pool_floor)
		return 0;
	*top -= PW_PAGE_SIZE;
	return *top;
}

/* Frames are never reused: the guest may still hold a stale pointer in its caches. */
static void guest_pt_free(void *ctx, uint64_t pa)
{
	(void)ctx;
	(void)pa;
}

/* Host pointer to a table frame through the one checked helper. A hostile guest may point an
 * entry outside RAM; the library cannot take NULL, so that table reads as empty (and a write to
 * it is lost: the guest's tables are broken anyway). */
static void *guest_pt_phys_to_virt(void *ctx, uint64_t pa)
{
	struct guest_pt *g = ctx;
	void *p = gpa_to_host(g->mem, pa, PW_PAGE_SIZE);

	if (p)
		return p;
	memset(g->outside, 0, sizeof(g->outside));
	return g->outside;
}

void guest_pt_init(struct guest_pt *g, const struct layout *l)
{
	if (!l) {
		*g = (struct guest_pt){0};
		return;
	}
	*g = (struct guest_pt){
	    .boot_cr3 = l->pt.root,
	    .pt = l->pt,
	    .h = {.alloc_frame = guest_pt_alloc,
		  .free_frame = guest_pt_free,
		  .phys_to_virt = guest_pt_phys_to_virt},
	    .mem = l->mem,
	    .pool_floor = l->pool_next,
	    .pool_top = l->pool_end,
	};
	g->h.ctx = g;
	g->pt.h = &g->h;
}

/* Point g at the tables rooted at cr3. */
static void guest_pt_root(struct guest_pt *g, uint64_t cr3)
{
	g->h.ctx = g; /* g may have been copied since init */
	g->pt.h = &g->h;
	g->pt.root = cr3 & PTE_ADDR_MASK_4K;
}

bool guest_pt_translate(struct guest_pt *g, uint64_t cr3, uint64_t va, uint64_t *gpa)
{
	if (!g->mem)
		return false;
	guest_pt_root(g, cr3);
	return pt_query(&g->pt, va, gpa, NULL, NULL) == PT_OK;
}

const struct pt *guest_pt_at(struct guest_pt *g, uint64_t cr3)
{
	if (!g->mem)
		return NULL;
	guest_pt_root(g, cr3);
	return &g->pt;
}

pte_t *guest_pt_entry(struct guest_pt *g, uint64_t cr3, uint64_t va, int *level)
{
	pte_t *e = NULL;

	if (!g->mem)
		return NULL;
	guest_pt_root(g, cr3);
	if (pt_lookup(&g->pt, va, 1, false, &e, level) != PT_OK ||
	    (e >= g->outside && e < g->outside + PT_ENTRIES)) /* a table outside guest RAM */
		return NULL;
	return e;
}

enum pt_err guest_pt_map_heap(struct guest_pt *g, uint64_t cr3, uint64_t va)
{
	uint64_t page = va & ~(PW_PAGE_SIZE - 1);
	unsigned flags = 0;
	enum pt_err err;

	if (!g->mem)
		return PT_ENOMEM;
	guest_pt_root(g, cr3);
	if (g->shared)
		pthread_mutex_lock(&g->shared->lock);
	err = pt_map(&g->pt, page, page, PT_SIZE_4K, PT_READ | PT_WRITE, NULL);
	/* Another vCPU faulted on the same page and mapped it first: nothing is left to do. */
	if (err == PT_EEXIST && pt_query(&g->pt, page, NULL, &flags, NULL) == PT_OK &&
	    (flags & PT_WRITE))
		err = PT_OK;
	if (g->shared)
		pthread_mutex_unlock(&g->shared->lock);
	return err;
}

const struct pt_access_result *guest_pt_pf_walk(struct guest_pt *g, uint64_t cr3, uint64_t cr0,
						uint64_t cr4, uint64_t efer, uint64_t rflags,
						uint64_t gva, uint64_t err,
						struct pt_access_result *res)
{
	struct pt_access_ctx ctx = pt_access_ctx_of(cr0, cr4, efer, rflags);

	return pw_pf_walk(guest_pt_at(g, cr3), gva, err, &ctx, res) ? res : NULL;
}
