/* The TLB work a caller owes after changing tables: nothing, a few pages, or everything.
 *
 * The library never flushes (it may run in the VMM, which cannot flush the guest's TLB); it
 * only records what was made stale. Not-present -> present needs nothing: x86 caches neither
 * not-present translations in the TLB nor not-present entries in the paging-structure caches.
 */
#include "paging.h"

void pt_flush_init(struct pt_flush *f)
{
	f->kind = PT_FLUSH_NONE;
	f->count = 0; /* va[] beyond count is meaningless; not cleared */
}

void pt_flush_add_all(struct pt_flush *f)
{
	if (!f)
		return;
	f->kind = PT_FLUSH_ALL;
	f->count = 0;
}

void pt_flush_add(struct pt_flush *f, uint64_t va)
{
	if (!f || f->kind == PT_FLUSH_ALL)
		return;
	va = pt_sign_extend(va);
	for (unsigned i = 0; i < f->count; i++)
		if (f->va[i] == va)
			return;
	/* Past the limit a CR3 reload is cheaper than a long invlpg loop. */
	if (f->count == PT_FLUSH_MAX) {
		pt_flush_add_all(f);
		return;
	}
	f->va[f->count++] = va;
	f->kind = PT_FLUSH_PAGES;
}
