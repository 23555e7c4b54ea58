/* The crash report: registers, control registers, segments, the code at RIP (disassembled when
 * built with capstone) and the walk of the faulting address through the guest's page tables. */
#ifndef PW_HOST_REPORT_H
#define PW_HOST_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "run.h"

#define REPORT_CODE_BYTES 16 /* longest x86 instruction is 15 bytes */

/* Copy up to n bytes at guest-virtual va into buf, translating each page with KVM_TRANSLATE
 * (so it follows whatever tables the guest runs on). Returns the bytes copied: fewer than n
 * when a page is unmapped or outside RAM. */
size_t report_read_guest(struct run *r, uint64_t va, uint8_t *buf, size_t n);

/* Format len bytes as lowercase hex pairs separated by spaces ("0f 57 c0") into buf (n bytes,
 * always NUL-terminated when n > 0). Returns the length written. */
size_t report_hex(char *buf, size_t n, const uint8_t *bytes, size_t len);

/* Print the walk of va through the 4-level tables rooted at cr3, one line per entry with its
 * raw bits named, ending with the translation or where the walk stopped. Tables outside guest
 * RAM read as empty. */
void report_walk(FILE *f, struct run *r, uint64_t cr3, uint64_t va);

/* Print the full report for stopped run r (after main printed the one-line cause): exit, all
 * general registers, RIP/RSP/RFLAGS, CR0/2/3/4, EFER, selectors, code at RIP, and the walk of
 * r->walk_addr (or RIP). */
void report_crash(FILE *f, struct run *r);

/* Print what explains r's stop after its one-line cause: the full crash report for stops the
 * VMM saw (run_stop_wants_report), the page walk of the faulting address for a fault the guest
 * reported (its registers are the handler's, not the fault's), nothing for the rest. */
void report_stop(FILE *f, struct run *r);

#endif
