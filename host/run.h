/* The vCPU run loop: KVM_RUN until the guest stops, every exit reason handled, --timeout.
 * struct run carries the inputs and, afterwards, everything the reports need. */
#ifndef PW_HOST_RUN_H
#define PW_HOST_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fault.h"
#include "guestpt.h"
#include "kvm.h"
#include "layout.h"
#include "memory.h"

struct replay_src;

/* Why the run stopped. Each has a name (reports, JSON) and an exit status (run_status). */
enum run_stop {
	RUN_STOP_NONE = 0,	/* still running */
	RUN_STOP_EXIT,		/* the guest called exit: exit_code */
	RUN_STOP_HALT,		/* the guest executed hlt: a clean stop, status 0 */
	RUN_STOP_PANIC,		/* the guest panicked or failed an assert */
	RUN_STOP_FAULT,		/* the guest reported a fault it did not recover from */
	RUN_STOP_BAD_HYPERCALL, /* the guest broke the hypercall ABI */
	RUN_STOP_TRIPLE_FAULT,	/* KVM_EXIT_SHUTDOWN */
	RUN_STOP_MMIO,		/* access to unbacked or read-only guest-physical memory */
	RUN_STOP_TRAP,		/* an exception reached a VMM trap stub (PW_HC_TRAP) */
	RUN_STOP_HOST_FAULT,	/* KVM_RUN failed with EFAULT: guest RAM the host cannot access */
	RUN_STOP_INTERNAL,	/* KVM_EXIT_INTERNAL_ERROR */
	RUN_STOP_FAIL_ENTRY,	/* KVM_EXIT_FAIL_ENTRY: the CPU refused the guest state */
	RUN_STOP_UNHANDLED,	/* an exit reason the VMM does not expect */
	RUN_STOP_TIMEOUT,	/* --timeout expired */
	RUN_STOP_KVM_ERROR,	/* KVM_RUN or another KVM call failed */
	RUN_STOP_LIMIT,		/* --console-limit or --max-exits exceeded */
	RUN_STOP_KILLED,	/* the debugger killed the guest (gdb's kill) */
	RUN_STOP_STOPPED,	/* --cpus: another vCPU's stop ended the run (host/smp.c) */
	RUN_STOP_COUNT
};

struct run_config {
	double timeout;		/* seconds; 0 = none */
	bool trace;		/* one line per exit on stderr */
	bool quiet;		/* no notes (halt, faults) on stderr; errors still print */
	int console_fd;		/* where the guest console goes */
	FILE *log;		/* where the VMM's own lines go */
	uint64_t console_limit; /* console bytes the guest may write; 0 = no limit */
	uint64_t max_exits;	/* VM exits the guest may take; 0 = no limit */
	double cpu_budget;	/* CPU seconds the run may use after run_budget_start (fault
				 * injection's hang budget); 0 = none */
	bool replay_always;	/* replay a triple fault even when KVM kept the registers, and
				 * compare (--replay-triple-fault) */
	/* --cpus (host/smp.c): set when any vCPU's run stopped; a KICK then ends this one with
	 * RUN_STOP_STOPPED. NULL with one vCPU. */
	volatile int *stop_all;
	bool no_timers; /* a secondary vCPU: --timeout and the CPU budget are the first's */
};

/* Exit reasons counted one by one; rarer, larger reasons share the last slot. */
#define RUN_EXIT_SLOTS 48
#define RUN_MSG_MAX    (3 * PW_STRING_MAX)

struct run {
	/* inputs: set by run_init */
	struct vm *vm;
	const struct guest_mem *mem;
	const struct layout *layout;
	struct run_config cfg;
	/* optional, set after run_init: called after each exit before it is handled; returns true
	 * if it handled the exit itself (host/campaign/, fault injection) */
	bool (*exit_hook)(struct run *r, void *arg);
	void *exit_hook_arg;
	/* optional: called with exit_hook_arg when KVM_RUN was interrupted by a signal that was
	 * not a timer's (the debugger's ^C arrives as SIGIO) */
	void (*intr_hook)(struct run *r, void *arg);
	/* optional: called with exit_hook_arg by run_guest once the timers are armed, before the
	 * first KVM_RUN, and once the run stopped, before they are disarmed (a campaign worker
	 * starts the other vCPUs in the first and waits for them to stop in the second) */
	void (*start_hook)(struct run *r, void *arg);
	void (*stop_hook)(struct run *r, void *arg);
	/* optional, set after run_init: how to build the guest again, for a triple fault whose
	 * registers KVM reset (host/replay.h); NULL: no replay */
	const struct replay_src *replay;

	/* outcome */
	enum run_stop stop;
	int64_t exit_code;     /* RUN_STOP_EXIT: the code the guest passed */
	unsigned last_exit;    /* KVM exit reason of the last exit */
	char msg[RUN_MSG_MAX]; /* one line saying why the run stopped (empty for EXIT) */
	uint64_t exits[RUN_EXIT_SLOTS];
	uint64_t nexits;
	uint64_t checkpoints;
	uint64_t console_bytes;
	struct fault_list faults;
	uint64_t wall_ns;      /* from the first KVM_RUN to the stop */
	uint64_t cpu_ns;       /* CPU time of the thread over the same span */
	bool timers_armed;     /* run_guest installed the signal handlers */
	bool budget_pending;   /* run_budget_start came before them: run_guest starts it */
	uint64_t recovery_gpa; /* PW_HC_RECOVERY's struct pw_recovery, 0 if none */
	uint64_t fault_frame;  /* RUN_STOP_FAULT: GVA of the faulting context's registers (struct
				* pw_fault_frame, pw_hc_fault.frame), 0 if the guest gave none */
	struct guest_pt gpt;   /* the guest's tables as the VMM walks and grows them */
	bool vmm_wrote_ram;    /* --faults=vmm wrote guest RAM: the heap's tables or the recovery
				* record (a snapshot reset must restore them: KVM does not log it) */
	bool vcpu_reset;       /* KVM reset the vCPU at the shutdown (AMD): registers lost */
	bool replayed;	       /* ... and a replay found them again (regs, sregs below) */
	char replay_note[320]; /* what the crash report says about it */
	uint64_t start_ns;     /* CLOCK_MONOTONIC at the first KVM_RUN */
	uint64_t exits_at_cp;  /* guest exits up to the first checkpoint, its own included (a
				* campaign's experiment runs from there) */
	bool counted;	       /* --count: insns holds the guest instructions retired, and */
	uint64_t insns;
	uint64_t insns_after_cp; /* ... those after the first checkpoint's `out` */
	const char *walk_what;	 /* the address the crash report walks: "CR2", "GPA", "RIP" */
	uint64_t walk_addr;

	/* vCPU registers, read at most once per exit (KVM_GET_REGS costs a syscall) */
	bool regs_valid, sregs_valid;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
};

/* Return the name of stop ("triple-fault"); "?" if out of range. */
const char *run_stop_name(enum run_stop stop);

/* Exit status of ./vmm for a stopped run: the guest's code & 0xff for EXIT, else the
 * PW_STATUS_* of the stop. */
int run_status(const struct run *r);

/* True if the stop deserves the full crash report (registers, code bytes, page walk). */
bool run_stop_wants_report(enum run_stop stop);

/* Prepare r to run vm's vCPU (set up by cpu_setup) over mem and layout. */
void run_init(struct run *r, struct vm *vm, const struct guest_mem *mem,
	      const struct layout *layout, const struct run_config *cfg);

/* Run the guest until it stops; returns r->stop (never RUN_STOP_NONE). */
enum run_stop run_guest(struct run *r);

/* Start the CPU budget (cfg.cpu_budget) now: when the run's thread has used that much more CPU
 * time, it stops as RUN_STOP_TIMEOUT. Call from the exit hook (between exits). */
void run_budget_start(struct run *r);

/* --cpus: start timers' CPU budget (vCPU 0's run, whose thread takes the timers' signals and
 * has armed them: run_guest's start hook or later) from the exit hook of another vCPU's run r;
 * the budget then counts every vCPU's CPU time. If the timer cannot be armed, r stops. */
void run_budget_start_on(struct run *timers, struct run *r);

/* Stop --timeout's clock and the CPU budget for the rest of the run (a debugger took over).
 * Call from the exit hook. */
void run_deadlines_off(struct run *r);

/* Record that the run stops for stop, with a one-line message (no "vmm: ", no newline). */
__attribute__((format(printf, 3, 4))) void run_stopf(struct run *r, enum run_stop stop,
						     const char *fmt, ...);

/* The vCPU's registers now, or NULL if KVM_GET_REGS fails. */
const struct kvm_regs *run_regs(struct run *r);

/* Load regs into the vCPU (vm_set_regs) and the run's cache. False after stopping r with
 * RUN_STOP_KVM_ERROR if KVM refused them. */
bool run_set_regs(struct run *r, const struct kvm_regs *regs);

/* Read n bytes at guest-virtual va through the tables in force (the VMM's walk, no ioctl) into
 * buf, n at most a page; false if they are not all mapped in one page of guest RAM. */
bool run_read_virt(struct run *r, uint64_t va, void *buf, size_t n);

/* The entry point of vector's gate in the IDT in force, or 0 if it has none (not present,
 * beyond the limit, or not readable in one page of guest RAM). Guests load and edit their IDT
 * as they run: read it anew at each use. */
uint64_t run_idt_entry(struct run *r, unsigned vector);

/* The vCPU's special registers now, or NULL if KVM_GET_SREGS fails. */
const struct kvm_sregs *run_sregs(struct run *r);

/* Exits the guest caused: all but KVM_EXIT_DEBUG, which only the VMM's own guest debugging
 * (single steps, breakpoints) produces. */
uint64_t run_guest_exits(const struct run *r);

/* The guest's exits after its first checkpoint (0 if it made none): a campaign experiment's. */
uint64_t run_exits_after_checkpoint(const struct run *r);

/* RIP now (0 if it cannot be read): for messages. */
uint64_t run_rip(struct run *r);

/* Print a VMM note line ("vmm: ...") unless quiet. */
__attribute__((format(printf, 2, 3))) void run_note(const struct run *r, const char *fmt, ...);

/* Free what the run allocated (the fault list). */
void run_free(struct run *r);

#endif
