/* What this KVM does where KVMs differ, measured on a scratch VM rather than assumed from the
 * host's name: standard KVM on Intel VMX and AMD SVM, the paravirtual kvm_pvm, and KVM nested in
 * QEMU's emulator differ in the places docs/platforms.md lists. Fault injection asks once per
 * worker, before its sandbox is on (@rip and single-step counting depend on the answers). */
#ifndef PW_HOST_PLATFORM_H
#define PW_HOST_PLATFORM_H

#include <stdbool.h>

#include "kvm.h"

struct platform {
	bool io_rip_after;  /* at KVM_EXIT_IO, RIP is already past the `out` (PVM); standard
			     * KVM leaves it on the instruction until the next KVM_RUN */
	bool hw_breakpoint; /* an execute breakpoint in DR0 (KVM_GUESTDBG_USE_HW_BP) exits; QEMU
			     * before 9.1 never fires it in a nested guest */
	bool hw_watchpoint; /* a data write breakpoint in DR0 exits after the store (PVM: never) */
	bool sw_breakpoint; /* int3 exits to the VMM with KVM_GUESTDBG_USE_SW_BP instead of
			     * reaching the guest's IDT */
	bool step_io_exit;  /* single-stepping an `out` gives its I/O exit and then a debug exit
			     * past it (standard KVM); PVM gives the I/O exit alone */
	bool step_handlers; /* single steps go on inside an exception handler (PVM); standard
			     * KVM steps with RFLAGS.TF, which exception delivery clears */
	bool step_delivery; /* ... and the delivery itself gives a debug exit, at the handler's
			     * first instruction, with no instruction retired */
};

/* True if KVM here runs nested in QEMU's software emulation (TCG): CPUID leaf 0x40000000 of
 * this machine signs "TCGTCGTCGTCG", as in the VM of scripts/kvm-vm. No VM needed. */
bool platform_in_qemu_tcg(void);

/* Measure p on a scratch VM made through kvm_fd (an open /dev/kvm): a few real-mode
 * instructions, a handful of KVM_RUNs. On error e says which call failed. */
enum vm_err platform_probe(int kvm_fd, struct platform *p, struct vm_error *e);

/* Attempts platform_probe_locked makes. */
#define PLATFORM_PROBE_ATTEMPTS 3

/* platform_probe holding the single-step lock lock_fd (steplock.h; -1: none), since it
 * single-steps; again, up to PLATFORM_PROBE_ATTEMPTS times, while its two measures of an `out`
 * agree, which only a disturbed probe gives. */
enum vm_err platform_probe_locked(int kvm_fd, int lock_fd, struct platform *p,
				  struct vm_error *e);

#endif
