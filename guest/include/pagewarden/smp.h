/* Several CPUs (./vmm --cpus N; docs/smp.md). CPU 0 runs main; the others wait in the runtime
 * until pw_cpus_run gives them work. Every CPU has its own stacks, guards, GDT, TSS and
 * pw_expect_fault record; printf from several CPUs never mixes two CPUs' text within a line.
 * With one CPU every call here still works, on that CPU alone. */
#ifndef PAGEWARDEN_SMP_H
#define PAGEWARDEN_SMP_H

#include <stdbool.h>
#include <stdint.h>

#include "paging.h"

/* The interrupt vectors the runtime takes for itself (IDT gates it installs with --cpus > 1). */
#define PW_VEC_WAKE	 0xf0 /* pw_cpus_run's wake-up: no work in the handler */
#define PW_VEC_SHOOTDOWN 0xf1 /* pw_pt_apply_flush's remote invalidation */

/* CPUs in the guest (--cpus), and the calling CPU's number (0 for the boot CPU). */
unsigned pw_cpu_count(void);
unsigned pw_cpu_id(void);

/* Run fn(cpu, arg) on every CPU, the caller's included, and return when all have returned.
 * Call from CPU 0. */
void pw_cpus_run(void (*fn)(unsigned cpu, void *arg), void *arg);

/* A test-and-set lock. Interrupts stay as they are: do not take it in an interrupt handler
 * on a CPU that may hold it. While it waits it carries out TLB shootdowns sent to its CPU. */
struct pw_spinlock {
	volatile uint32_t locked;
};
void pw_spin_lock(struct pw_spinlock *l);
void pw_spin_unlock(struct pw_spinlock *l);

/* Send interrupt vector (32..255) to cpu through its local APIC (x2APIC, fixed delivery). The
 * vector needs a gate (pw_idt_set_handler) on the target. */
void pw_send_ipi(unsigned cpu, unsigned vector);

/* Carry out fl (what a paging-library change left to flush) on every CPU: invalidate here,
 * then interrupt every other CPU, which invalidates the same pages (or reloads CR3 for
 * PT_FLUSH_ALL) and acknowledges; return when all have, with the number of acknowledgements
 * (pw_cpu_count() - 1; 0 with one CPU, nothing to flush, or pw_shootdown_remote(false)). After
 * it returns no CPU can use a translation the change removed. docs/smp.md has the protocol. */
unsigned pw_pt_apply_flush(const struct pt_flush *fl);

/* Test-only: with false, pw_pt_apply_flush invalidates on the calling CPU only, so other CPUs
 * may keep stale translations (docs/smp.md says what was observed). Default true. */
void pw_shootdown_remote(bool on);

/* Shootdowns carried out so far (requests sent, on any CPU). */
uint64_t pw_shootdown_count(void);

#endif
