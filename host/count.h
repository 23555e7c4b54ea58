/* Counting the guest instructions a run retires, by single steps (./vmm --count). Every
 * instruction costs a debug exit, so this is a measuring mode, never a normal run's. The count
 * is the same on every KVM where single steps are exact (docs/platforms.md says where they are
 * not): an `out` finished at its I/O exit (PVM) is counted there; a `rep` string instruction,
 * which steps once per iteration on some platforms and not on others, counts once; an iretq
 * that gets no step of its own (PVM) is counted at the next one; and where
 * exception delivery stops the steps (standard KVM clears RFLAGS.TF on the way into a
 * handler), execute breakpoints on the #DE, #UD, #GP and #PF handlers start them again. */
#ifndef PW_HOST_COUNT_H
#define PW_HOST_COUNT_H

#include <stdbool.h>
#include <stdint.h>

#include "platform.h"
#include "run.h"

#define COUNT_BPS 4 /* DR0..DR3 */

struct count {
	struct platform plat;
	bool handler_bps;	/* breakpoints on handler entries (steps stop in handlers here) */
	bool bps_off;		/* stepping the instruction at a handler's breakpoint */
	uint64_t bp[COUNT_BPS]; /* the entries in DR0..DR3 now (0: that one is off) */
	uint64_t insns;		/* instructions retired so far */
	uint64_t last_pc;	/* RIP of the last arrival (a repeat is a rep string's iteration) */
	uint64_t repeats;	/* arrivals at the same RIP back to back, not counted */
	uint64_t handler_stops; /* handler breakpoints that fired */
	bool iret_pending;	/* the last arrival was at an iretq ... */
	uint64_t iret_target;	/* ... returning here */
	uint64_t iret_merged;	/* iretqs counted at the arrival after them */
	uint64_t cp_insns;	/* at the first checkpoint: the instructions up to its `out` */
	int lock_fd;		/* host/steplock.h: held while counting, -1 if not needed */
};

enum count_err {
	COUNT_OK = 0,
	COUNT_EPROBE, /* the platform probe failed: e says how */
	COUNT_EDEBUG, /* KVM_SET_GUEST_DEBUG failed: e says how */
	COUNT_ENOBP,  /* steps stop in handlers here and there are no breakpoints to restart them */
};

/* Start counting r's run (before run_guest): probe the platform through kvm_fd, install the
 * exit hook and single-step from the first instruction, holding the step lock through lock_fd
 * (steplock_open's, which the caller owns and the triple-fault replay shares; -1: none).
 * force_bps: use the handler breakpoints even where steps go on in handlers (tests check that
 * both ways count the same). */
enum count_err count_start(struct count *c, struct run *r, bool force_bps, int lock_fd,
			   struct vm_error *e);

/* Stop single-stepping and release the step lock (its fd stays open); c->insns is final. */
void count_finish(struct count *c, struct run *r);

/* True if single steps are known to be inexact on this platform (KVM nested in QEMU before
 * 9.1: steps drift across its emulated VM entries and exits); *why gets the reason. */
bool count_inexact(const char **why);

#endif
