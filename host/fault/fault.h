/* The run's fault list: every fault the guest reported (PW_HC_FAULT) or the VMM caught, in order.
 * The run report (--json "faults") prints it; the fault-handling code appends to it. */
#ifndef PW_HOST_FAULT_H
#define PW_HOST_FAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagewarden/abi.h"

/* One fault. Addresses as the CPU saw them; gpa only when known (gpa_valid). */
struct fault_record {
	unsigned kind;	 /* enum pw_fault_kind */
	unsigned vector; /* exception vector; 14 for #PF */
	uint64_t gva;	 /* CR2 for #PF, else 0 */
	uint64_t gpa;	 /* guest-physical address behind gva, or the GPA of an exit */
	bool gpa_valid;
	uint64_t error_code;
	uint64_t rip, rsp;
	unsigned caught_by; /* enum pw_caught_by */
	bool recovered;	    /* the guest went on after it */
	const char *access;    /* exits: "read" or "write"; NULL otherwise (static string) */
	const char *diagnosis; /* triple faults: the VMM's best explanation; NULL otherwise */
	unsigned cpu;	       /* the vCPU it happened on (--cpus); stamped by fault_list_append */
};

/* A guest that faults in a loop (demand paging a 256 MiB heap is 65536 faults) must not make
 * the VMM's memory grow without bound: past this many records, faults are only counted. */
#define FAULT_LIST_MAX 65536u

struct fault_list {
	struct fault_record *v;
	size_t n, cap;
	uint64_t dropped; /* faults not recorded: list full or out of memory */
	unsigned cpu;	  /* the vCPU whose run owns the list: every record gets it */
};

/* Name of a catcher as reports print it ("guest-idt", "vmm", "exit"); "?" if unknown. */
const char *fault_caught_by_name(unsigned caught_by);

/* Format the one-line description of f every report prints (no newline):
 * "null #PF at 0x8 rip 0x100123 err 0x0 (-), caught by guest-idt, recovered". Returns the
 * length, like snprintf. */
int fault_format(char *buf, size_t n, const struct fault_record *f);

/* Append a copy of f with l's vCPU; false (and dropped counted) if the list is full or memory
 * ran out. */
bool fault_list_append(struct fault_list *l, const struct fault_record *f);

/* Append every record of from to to, each keeping its own vCPU, and from's dropped count. */
void fault_list_merge(struct fault_list *to, const struct fault_list *from);

/* The last record of vCPU cpu in l, or NULL if it has none. */
const struct fault_record *fault_list_last_of(const struct fault_list *l, unsigned cpu);

/* Free the records; l becomes empty. */
void fault_list_free(struct fault_list *l);

#endif
