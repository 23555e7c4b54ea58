/* The hypercall dispatcher: a KVM_EXIT_IO on port PW_PORT(nr) becomes hypercall nr. Every
 * argument is checked (port, width, direction, pointers through gpa_to_host, lengths); a bad
 * one stops the guest with RUN_STOP_BAD_HYPERCALL and a line naming the call and the value. */
#ifndef PW_HOST_HYPERCALL_H
#define PW_HOST_HYPERCALL_H

#include "run.h"

/* What the run loop does after a hypercall. */
enum hc_result {
	HC_RESUME = 0, /* re-enter the guest after the out instruction */
	HC_STOP,       /* r->stop is set */
};

/* Name of hypercall nr ("console"); "?" if out of range. */
const char *hypercall_name(unsigned nr);

/* Handle the KVM_EXIT_IO in r->vm->run. */
enum hc_result hypercall_handle(struct run *r);

#endif
