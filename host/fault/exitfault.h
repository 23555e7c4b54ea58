/* Faults only VM exits show (caught_by "exit"): a triple fault (KVM_EXIT_SHUTDOWN), diagnosed
 * from RIP, RSP, CR2, IDTR and the layout; a touch of guest-physical memory with no memslot
 * (ept-unbacked); a write to the read-only page-table slot under --protect-pt (ept-readonly).
 * Each is recorded in the run's fault list; the guest is stopped (docs/faults.md, "Exits"). */
#ifndef PW_HOST_EXITFAULT_H
#define PW_HOST_EXITFAULT_H

#include "run.h"

/* Record the triple fault r just took; returns the diagnosis (a constant string). */
const char *exitfault_shutdown(struct run *r);

/* Record the KVM_EXIT_MMIO r just took at gpa; readonly: the slot exists but is read-only. */
void exitfault_mmio(struct run *r, uint64_t gpa, bool is_write, bool readonly);

#endif
