/* Internal to the guest runtime: the trap frame traps.S builds and the pieces of fault catching
 * (--faults=guest) that talk to each other. Included by C and by assembly. */
#ifndef PW_GUEST_TRAP_H
#define PW_GUEST_TRAP_H

#define PW_TRAP_VECTORS	  32 /* exception vectors 0..31 get a stub and a gate */
#define PW_TRAP_STUB_SIZE 16 /* stub v is at pw_trap_stub_base + 16 * v (guest/guest.ld) */

/* Byte offsets in struct pw_recovery (abi.h), for recovery.S; checked below. */
#define PW_RECOVERY_ARMED     0
#define PW_RECOVERY_RIP	      8
#define PW_RECOVERY_RSP	      16
#define PW_RECOVERY_RBX	      24
#define PW_RECOVERY_RBP	      32
#define PW_RECOVERY_R12	      40
#define PW_RECOVERY_R13	      48
#define PW_RECOVERY_R14	      56
#define PW_RECOVERY_R15	      64
#define PW_RECOVERY_VECTOR    72
#define PW_RECOVERY_ERROR     80
#define PW_RECOVERY_CR2	      88
#define PW_RECOVERY_FAULT_RIP 96
#define PW_RECOVERY_KIND      104
#define PW_RECOVERY_RFLAGS    112

/* struct pw_hc_fault offsets and its port, for the fast path's report in traps.S. */
#define PW_HC_FAULT_VECTOR 4
#define PW_HC_FAULT_ERROR  8
#define PW_HC_FAULT_GVA	   16
#define PW_HC_FAULT_RIP	   24
#define PW_HC_FAULT_RSP	   32
#define PW_TRAP_FAULT_PORT 0x502

/* struct pw_cpu, GS-relative (traps.S reads the recovery record and the handler depth of the
 * CPU it runs on). */
#define PW_CPU_SELF   8
#define PW_CPU_REC    16
#define PW_CPU_DEPTH  136
#define PW_CPU_REPORT 160
#define PW_HC_FAULT_RECOVERED 40

#ifndef __ASSEMBLER__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pagewarden/abi.h"
#include "pagewarden/classify.h"

/* What traps.S leaves on the stack, lowest address first: the GPRs it pushed (r15 last), the
 * vector, the error code (a dummy 0 for vectors without one, so every frame has the same shape),
 * then the frame the CPU pushed. The dispatcher may rewrite any field; iretq uses rip, cs, rflags,
 * rsp and ss, so changing rip/rsp resumes somewhere else. */
struct pw_trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

_Static_assert(offsetof(struct pw_trap_frame, vector) == 15 * 8, "traps.S pushes 15 GPRs");
_Static_assert(sizeof(struct pw_trap_frame) == 22 * 8, "traps.S frame size");
/* A crash report points the VMM at this frame as a struct pw_fault_frame (abi.h, for --core). */
#define PW_FRAME_SAME(f) (offsetof(struct pw_trap_frame, f) == offsetof(struct pw_fault_frame, f))
_Static_assert(PW_FRAME_SAME(r15) && PW_FRAME_SAME(r14) && PW_FRAME_SAME(r13) &&
		   PW_FRAME_SAME(r12) && PW_FRAME_SAME(r11) && PW_FRAME_SAME(r10) &&
		   PW_FRAME_SAME(r9) && PW_FRAME_SAME(r8) && PW_FRAME_SAME(rbp) &&
		   PW_FRAME_SAME(rdi) && PW_FRAME_SAME(rsi) && PW_FRAME_SAME(rdx) &&
		   PW_FRAME_SAME(rcx) && PW_FRAME_SAME(rbx) && PW_FRAME_SAME(rax) &&
		   PW_FRAME_SAME(vector) && PW_FRAME_SAME(error_code) && PW_FRAME_SAME(rip) &&
		   PW_FRAME_SAME(cs) && PW_FRAME_SAME(rflags) && PW_FRAME_SAME(rsp) &&
		   PW_FRAME_SAME(ss) &&
		   sizeof(struct pw_trap_frame) == sizeof(struct pw_fault_frame),
	       "struct pw_fault_frame (abi.h) has this frame's layout");
_Static_assert(offsetof(struct pw_recovery, rip) == PW_RECOVERY_RIP, "recovery.S offsets");
_Static_assert(offsetof(struct pw_recovery, rsp) == PW_RECOVERY_RSP, "recovery.S offsets");
_Static_assert(offsetof(struct pw_recovery, rbx) == PW_RECOVERY_RBX, "recovery.S offsets");
_Static_assert(offsetof(struct pw_recovery, rbp) == PW_RECOVERY_RBP, "recovery.S offsets");
_Static_assert(offsetof(struct pw_recovery, r12) == PW_RECOVERY_R12, "recovery.S offsets");
_Static_assert(offsetof(struct pw_recovery, r15) == PW_RECOVERY_R15, "recovery.S offsets");
_Static_assert(offsetof(struct pw_recovery, vector) == PW_RECOVERY_VECTOR, "traps.S offsets");
_Static_assert(offsetof(struct pw_recovery, error_code) == PW_RECOVERY_ERROR, "traps.S offsets");
_Static_assert(offsetof(struct pw_recovery, cr2) == PW_RECOVERY_CR2, "traps.S offsets");
_Static_assert(offsetof(struct pw_recovery, fault_rip) == PW_RECOVERY_FAULT_RIP, "traps.S offsets");
_Static_assert(offsetof(struct pw_recovery, kind) == PW_RECOVERY_KIND, "traps.S offsets");
_Static_assert(offsetof(struct pw_recovery, rflags) == PW_RECOVERY_RFLAGS, "recovery.S offsets");
_Static_assert(offsetof(struct pw_hc_fault, vector) == PW_HC_FAULT_VECTOR, "traps.S offsets");
_Static_assert(offsetof(struct pw_hc_fault, error_code) == PW_HC_FAULT_ERROR, "traps.S offsets");
_Static_assert(offsetof(struct pw_hc_fault, gva) == PW_HC_FAULT_GVA, "traps.S offsets");
_Static_assert(offsetof(struct pw_hc_fault, rip) == PW_HC_FAULT_RIP, "traps.S offsets");
_Static_assert(offsetof(struct pw_hc_fault, rsp) == PW_HC_FAULT_RSP, "traps.S offsets");
_Static_assert(offsetof(struct pw_hc_fault, recovered) == 40, "traps.S's static report");
_Static_assert(sizeof(struct pw_hc_fault) == 48, "traps.S's static report");
_Static_assert(offsetof(struct pw_hc_fault, frame) == 44, "traps.S's static report: frame 0");
_Static_assert(PW_PORT(PW_HC_FAULT) == PW_TRAP_FAULT_PORT, "traps.S's report port");

/* State the fast path in traps.S reads before any C runs; it must decide as pw_trap_dispatch
 * would. An armed pw_expect_fault, no handler running, not #DF, and not a not-present #PF inside
 * the heap (that one is heap growth): traps.S unwinds to the recovery point itself, leaving kind
 * PW_FAULT_NONE for pw_expect_fault to classify if asked; with reports on it reports the fault
 * with kind PW_FAULT_NONE, which the VMM classifies. */
/* Each CPU's runtime state, in its GDT page at PW_CPU_DATA_OFF, where GS points: the layout
 * wrote id and self (struct pw_cpu_data); the rest starts zero. */
struct pw_cpu {
	uint32_t id;
	uint32_t reserved;
	uint64_t self;
	struct pw_recovery rec; /* pw_expect_fault's record: one per CPU */
	uint32_t trap_depth;	/* handlers running on this CPU right now */
	uint32_t registered;	/* rec is registered with the VMM (--faults=vmm) */
	uint64_t shootdown_seen; /* the last TLB shootdown this CPU carried out (smp.c) */
	uint64_t console_len;	 /* a secondary CPU's console buffer (console.c) */
	struct pw_hc_fault fast_report; /* traps.S's report of a recovered fault */
};

_Static_assert(offsetof(struct pw_cpu, rec) == PW_CPU_REC, "traps.S offsets");
_Static_assert(offsetof(struct pw_cpu, trap_depth) == PW_CPU_DEPTH, "traps.S offsets");
_Static_assert(offsetof(struct pw_cpu, self) == PW_CPU_SELF, "traps.S offsets");
_Static_assert(offsetof(struct pw_cpu, fast_report) == PW_CPU_REPORT, "traps.S offsets");
_Static_assert(offsetof(struct pw_hc_fault, recovered) == PW_HC_FAULT_RECOVERED, "traps.S offsets");
_Static_assert(PW_CPU_DATA_OFF + sizeof(struct pw_cpu) <= PW_PAGE_SIZE, "pw_cpu leaves its page");

/* The calling CPU's struct pw_cpu. */
static inline struct pw_cpu *pw_this_cpu(void)
{
	struct pw_cpu *c;

	__asm__("movq %%gs:8, %0" : "=r"(c));
	return c;
}

/* The permission model's verdict on the access of a protection #PF (err has P and not RSVD) at
 * cr2, through the tables CR3 points at, under the control registers now and the faulting
 * context's rflags (for EFLAGS.AC): res, or NULL when err is not a protection fault or the walk
 * cannot be made (a table outside RAM). */
const struct pt_access_result *pw_fault_walk(uint64_t cr2, uint64_t err, uint64_t rflags,
					     struct pt_access_result *res);
extern bool pw_reports_on;		      /* fault.c: pw_fault_reports */
extern uint64_t pw_heap_start, pw_heap_size,
    pw_heap_end; /* fault.c: set by pw_trap_fast_init; end = start + size */

/* Look up the heap bounds once (idempotent); called before the first pw_expect_fault arms and by
 * the dispatcher's classification. */
void pw_trap_fast_init(void);

/* The 32 gates guest/guest.ld assembles at link time from the stubs in traps.S (read-only). */
extern const struct pw_idt_gate pw_idt_image[PW_TRAP_VECTORS];

/* Handle the exception described by tf (called by traps.S only); returns to resume at tf->rip. */
void pw_trap_dispatch(struct pw_trap_frame *tf);

/* Save the callee-saved registers, RSP and a resume RIP in r, arm it, run fn(arg), disarm it and
 * return 0; after a fault inside fn the handler (or the VMM) resumes it returning 1 instead. */
int pw_recovery_run(struct pw_recovery *r, void (*fn)(void *), void *arg);

/* pw_recovery_run for one access at addr (a byte read, or with write a locked no-op write):
 * 0, or 1 after a fault there was unwound. */
int pw_recovery_probe(struct pw_recovery *r, uint64_t addr, int write);

#endif
#endif
