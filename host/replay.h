/* Triple faults where KVM does not keep the registers: on AMD, KVM re-initializes the vCPU at
 * the shutdown (the VMCB is undefined after it), so KVM_GET_REGS/SREGS at KVM_EXIT_SHUTDOWN
 * return the reset state. The guest runs again from boot in the same VM, to the exit before
 * the shutdown and then by single steps, which gives the registers at the instruction whose
 * exception could not be delivered; a second run stops there and executes that instruction
 * with the VMM's exception stubs as the IDT, which gives its first exception: vector, error
 * code, CR2. A guest whose path depends on time may not replay, so the replay checks that it
 * ends where the run did. docs/faults.md, "Triple faults on AMD". */
#ifndef PW_HOST_REPLAY_H
#define PW_HOST_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvm.h"
#include "layout.h"
#include "loader.h"

#define REPLAY_STEPS_MAX 1000000 /* single steps after the last exit; more is not replayed */
#define REPLAY_SLACK_S	 30.0	 /* wall time a replay may take beyond 4x the run (both passes;
				  * a single step costs ~0.15 ms under QEMU), within --timeout */

/* What building the guest again takes: the inputs of the first build. */
struct replay_src {
	const struct image *img;
	struct layout_opts lo;
	int step_lock_fd; /* host/steplock.h: -1 if single steps need no lock here */
};

/* What the replay found. */
struct replay_state {
	struct kvm_regs regs;	/* before the instruction that triple-faulted */
	struct kvm_sregs sregs; /* the same; cr2 is the first exception's when probed */
	uint64_t steps;		/* single steps from the last exit to that instruction */
	bool probed;		/* the first exception was caught through the VMM's stubs */
	unsigned vector;
	uint64_t error_code;
};

enum replay_err {
	REPLAY_OK = 0,
	REPLAY_EBUILD,	  /* the guest could not be built again */
	REPLAY_EKVM,	  /* a KVM call failed */
	REPLAY_EDIVERGED, /* the replay did not end in the same triple fault */
	REPLAY_ELONG,	  /* more than REPLAY_STEPS_MAX steps after the last exit */
	REPLAY_ETIME,	  /* --timeout leaves no time for it */
	REPLAY_ERR_COUNT
};

struct run;

/* Constant description of err. */
const char *replay_strerror(enum replay_err err);

/* True if regs/sregs read at a shutdown are the vCPU's reset state (RIP 0xfff0 in real mode):
 * the state of the triple fault is gone. */
bool replay_vcpu_was_reset(const struct kvm_regs *regs, const struct kvm_sregs *sregs);

/* Replay run r (stopped at KVM_EXIT_SHUTDOWN after r->nexits exits, built from src) in r's VM,
 * within limit_s seconds of wall time, and fill *out. On success guest RAM and the vCPU are as
 * at the faulting instruction, before its exception. why (n bytes) says what failed. */
enum replay_err replay_triple_fault(const struct run *r, const struct replay_src *src,
				    double limit_s, struct replay_state *out, char *why, size_t n);

#endif
