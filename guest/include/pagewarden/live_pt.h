/* The running guest's own page tables (the ones CR3 points at), as a paging-library handle.
 * New table frames come from the boot info's page-table pool [pt_pool_next, pt_pool_end); the
 * pool only grows (frames freed by the library are not reused). The library never flushes the
 * TLB: pass the struct pt_flush it filled to pw_tlb_flush after every change.
 * Under --protect-pt the tables sit in a read-only memslot and every write exits to the VMM.
 */
#ifndef PAGEWARDEN_LIVE_PT_H
#define PAGEWARDEN_LIVE_PT_H

#include "paging.h"

/* The live tables: attached to CR3 on first use (same maxphyaddr and 1 GiB support as the VMM
 * used). Identity mapped, so a table's physical address is also its pointer. */
struct pt *pw_live_pt(void);

/* Do the TLB work fl records: invlpg each page, or reload CR3 for PT_FLUSH_ALL. */
void pw_tlb_flush(const struct pt_flush *fl);

/* Frames left in the page-table pool. */
uint64_t pw_pt_pool_free(void);

#endif
