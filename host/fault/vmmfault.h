/* --faults=vmm: what the VMM does when one of its trap stubs exits (PW_HC_TRAP). Read the stub
 * frame, classify with the shared classifier (classify.h) over the layout, report, then grow the
 * heap and resume, resume an armed pw_expect_fault (struct pw_recovery), or stop the guest. */
#ifndef PW_HOST_VMMFAULT_H
#define PW_HOST_VMMFAULT_H

#include "hypercall.h"
#include "run.h"
#include "trapstubs.h"

/* Handle the trap of vector that exited through the stub at the vCPU's RIP. */
enum hc_result vmmfault_trap(struct run *r, unsigned vector);

/* True if the #PF whose stub frame is tf (CR2 cr2) is PVM's SYSCALL, not a fault: a user-mode
 * fault on a present page at RIP = CR2 = the guest's LSTAR (PVM jumps there without leaving
 * CPL 3; docs/platforms.md; I/D is in the error code only with NXE or SMEP on). Reads LSTAR
 * with KVM_GET_MSRS only when the rest matches. */
bool vmmfault_is_pvm_syscall(struct run *r, const struct trapstub_frame *tf, uint64_t cr2);

/* Print f's one-line report as a VMM note: every fault but routine heap growth, which only
 * --trace shows. Shared by the guest's reports and the VMM's own. */
void vmmfault_note(struct run *r, const struct fault_record *f);

#endif
