/* User mode (CPL 3) for guests: run a function in ring 3 on the guarded user stack, make pages
 * user-accessible, and the CPU protections that keep the two rings apart (SMEP, SMAP).
 * docs/guest.md, "User mode", has the contract; docs/faults.md the kinds user mode adds.
 *
 * Code that runs at CPL 3 must sit on a user page: mark each such function PW_USER_TEXT (the
 * linker gathers them into their own pages at the end of text, which pw_user_init makes
 * user-accessible, read-only and executable). It may call only other PW_USER_TEXT functions:
 * the runtime, printf included, is supervisor-only. */
#ifndef PAGEWARDEN_USER_H
#define PAGEWARDEN_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "paging.h"

/* Put a function on the user pages. */
#define PW_USER_TEXT __attribute__((section(".pw_user_text"), noinline, used))
/* Put an initialised variable on the user data pages (read-write at CPL 3; supervisor code
 * reaches them under SMAP only between pw_user_access_begin and _end). */
#define PW_USER_DATA __attribute__((section(".pw_user_data"), used))

/* What pw_user_init turned on (the CPU supports them: CPUID.7.0:EBX bits 7 and 20). */
#define PW_USER_SMEP (1u << 0)
#define PW_USER_SMAP (1u << 1)

/* Once (later calls return the same): set up SYSCALL/SYSRET (EFER.SCE, STAR, LSTAR, FMASK), make
 * the PW_USER_TEXT and PW_USER_DATA pages user-accessible, and turn on CR4.SMEP and CR4.SMAP
 * where the CPU has them. Returns PW_USER_SMEP | PW_USER_SMAP as turned on. pw_user_call and
 * pw_map_user call it. Under --protect-pt (PW_BOOT_F_PROTECT_PT) the tables cannot be edited:
 * it panics saying so. */
unsigned pw_user_init(void);

/* Run fn(arg) at CPL 3 on the user stack (PW_REGION_USER_STACK, guarded below) and return its
 * result. Enters with SYSRET, with RFLAGS = 0x2 (interrupts off, AC clear); fn's return goes
 * back with SYSCALL. A fault in fn is caught like any other: under pw_expect_fault the call is
 * abandoned at the fault and pw_expect_fault returns true (with the armer's RFLAGS: nothing fn
 * set in its flags reaches ring 0); otherwise it is a crash. The heap is supervisor-only: a
 * user touch of a new heap page grows it, and the retry is then a user-supervisor fault. Not
 * reentrant (fn cannot call it: it is supervisor code). */
long pw_user_call(long (*fn)(long), long arg);

/* Make [va, va + len) (page-rounded) user-accessible with flags (PT_READ, PT_WRITE, PT_EXECUTE;
 * PT_USER is added) on the live tables, splitting huge pages as needed, and flush the TLB.
 * Returns PT_OK or the paging library's error (PT_ENOMEM: the page-table pool ran out). */
enum pt_err pw_map_user(uint64_t va, uint64_t len, unsigned flags);

/* Set or clear EFLAGS.AC, whether or not SMAP is on. With popfq, not stac/clac: PVM cannot
 * emulate those (a KVM internal error), and popfq at CPL 0 changes AC the same way. */
void pw_set_ac(bool on);

/* Let supervisor code touch user pages under SMAP (EFLAGS.AC = 1), and stop letting it. No-ops
 * where SMAP is off. They use popfq rather than stac/clac, which PVM cannot emulate. */
void pw_user_access_begin(void);
void pw_user_access_end(void);

#endif
