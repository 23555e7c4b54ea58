/* --faults=vmm: the VMM's IDT. 32 tiny stubs in the read-only stubs page (PW_STUBS_GPA), one per
 * exception vector, each exiting to the VMM with PW_HC_TRAP; the gates in the IDT page, #PF and
 * #DF on their IST stacks like the runtime's. docs/faults.md ("VMM mode") draws the stub frame. */
#ifndef PW_HOST_TRAPSTUBS_H
#define PW_HOST_TRAPSTUBS_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm.h"
#include "memory.h"

#define TRAPSTUBS_VECTORS 32
#define TRAPSTUB_SIZE	  16 /* bytes per stub: vector v's stub is at PW_STUBS_GPA + 16 v */

/* The stack a stub leaves when it exits: what it pushed, then the CPU's exception frame. */
struct trapstub_frame {
	uint64_t rdx, rax; /* the guest's, saved by the stub before it used them */
	uint64_t error_code; /* 0 for vectors without one */
	uint64_t rip, cs, rflags, rsp, ss;
	bool has_error_code;
};

/* Where the VMM resumes a fault taken at CPL 3: code in the stubs page that pops what a stub
 * pushed (and the error code, when the vector has one) and runs iretq, since only iretq can
 * return to CPL 3. RSP must be the stub frame, as at the PW_HC_TRAP exit. */
uint64_t trapstubs_iret_rip(unsigned vector);

/* Write the stubs and the IDT into guest RAM and load IDTR (base PW_IDT_GPA, 256 gates) into
 * vm's vCPU. Call after cpu_setup, under --faults=vmm only. Returns 0 or -1 (errno set). */
int trapstubs_install(struct vm *vm, const struct guest_mem *mem);

/* True if rip (as KVM reports it at the PW_HC_TRAP exit: on the `out` on standard KVM, past it
 * on PVM) is that of the stub of vector. The VMM trusts no trap that does not come from its own
 * stub. */
bool trapstubs_owns(uint64_t rip, unsigned vector);

/* Read the stub frame at rsp (the vCPU's RSP at the exit) for vector into out. False if it is
 * not in guest RAM. */
bool trapstubs_read_frame(const struct guest_mem *mem, uint64_t rsp, unsigned vector,
			  struct trapstub_frame *out);

#endif
