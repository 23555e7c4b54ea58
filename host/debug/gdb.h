/* ./vmm --gdb [HOST:]PORT: a gdb remote stub in the VMM. It waits for gdb before the guest's
 * first instruction, then serves it at every stop: breakpoints (int3, or DR0-DR3), single
 * steps, watchpoints (debug registers, or write-protected pages where those do not fire), the
 * guest's exceptions before its handler runs, and crashes. docs/debugging.md tells the story. */
#ifndef PW_HOST_GDB_H
#define PW_HOST_GDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gdb_proto.h"
#include "platform.h"
#include "rsp.h"
#include "run.h"

#define GDB_SW_BPS_MAX	256 /* software breakpoints at once */
#define GDB_DRS		4   /* DR0..DR3 */
#define GDB_PAGE_WATCH_MAX 16 /* page watchpoints at once (VM_GUARD_PAGES_MAX pages) */

enum gdb_err {
	GDB_OK = 0,
	GDB_EADDR,     /* --gdb's [HOST:]PORT does not parse */
	GDB_EREMOTE,   /* HOST is not loopback and --gdb-any-address was not given */
	GDB_ESOCKET,   /* socket, bind, listen or accept failed */
	GDB_EPROBE,    /* the platform probe (which debug features fire here) failed */
	GDB_ERR_COUNT
};

struct gdb_config {
	const char *spec; /* [HOST:]PORT */
	int step_lock_fd; /* steplock_open()'s fd (-1: steps do not interfere here) */
	bool any_address; /* --gdb-any-address */
	unsigned watch;	  /* enum opt_gdb_watch */
	bool protect_pt;  /* --protect-pt: the page-table pool is read-only already */
};

/* A software breakpoint: the byte its int3 replaced, or its hlt where int3 does not exit to the
 * VMM (PVM cannot run int3 at all; QEMU before 9.1 delivers it to the guest). hw: gdb asked for
 * Z1 where no debug register fires or is free, so it is kept in memory but reported as a
 * hardware breakpoint. */
struct gdb_swbp {
	uint64_t addr, gpa; /* where gdb put it, and the byte in guest RAM it replaced */
	uint8_t orig;
	bool used, hw;
};

/* A debug-register point (Z1..Z4) in DRi. */
struct gdb_drbp {
	uint64_t addr, len;
	unsigned type; /* enum gdb_point */
	bool used;
};

/* A page watchpoint on [addr, addr + len), at gpa: writes are found by write-protecting the
 * page (type GDB_POINT_WRITE), reads too by taking it out of the memslots (READ, ACCESS). */
struct gdb_pagewatch {
	uint64_t addr, len, gpa;
	unsigned type; /* enum gdb_point */
	bool used;
};

struct gdb_stub {
	struct gdb_config cfg;
	struct platform plat;
	int listen_fd, fd; /* fd: the connection (reserved before it, for a late accept) */
	pid_t pid;	   /* ours, for SIGIO (getpid is not allowed under the sandbox) */
	char where[64];	   /* "127.0.0.1:PORT", as printed */
	struct run *r;
	bool (*next_hook)(struct run *r, void *arg); /* the exit hook gdb took over, if any */
	void *next_arg;
	bool detached, killed, gone; /* gone: gdb disconnected */
	bool stepping;		     /* the guest runs with single steps (s) */
	bool step_locked;	     /* holds the single-step lock (from a step to its stop) */
	bool code_changed;	     /* an int3 went in or out since the guest last ran */
	uint64_t stub_lo, stub_hi;   /* a step that lands here is inside an exception stub */
	int last_signal;	     /* the last stop's signal, for the end (X) */
	/* the stop gdb sees */
	char stop_reply[80];
	struct gdb_regfile rf;
	bool frame_view;		/* at an exception stop: rf shows the interrupted context */
	bool undelivered;		/* ... which gdb resumed without its signal: not delivered */
	uint64_t frame_cs;		/* ... and its CS (RPL 3: a fault in user mode) */
	uint64_t frame_gpa;		/* where the stub frame is (the vCPU's RSP, translated) */
	unsigned frame_vector;
	struct kvm_regs frame_regs;	/* the vCPU's registers at the stop */
	/* the wire */
	struct rsp_parser parser;
	struct gdb_session sess;
	uint8_t in[4096];
	size_t in_len, in_pos;
	char out[RSP_FRAME_MAX];
	size_t out_len;
	/* points */
	struct gdb_swbp sw[GDB_SW_BPS_MAX];
	struct gdb_drbp dr[GDB_DRS];
	struct gdb_pagewatch pw[GDB_PAGE_WATCH_MAX];
};

/* Return a constant description of err. */
const char *gdb_strerror(enum gdb_err err);

/* ./vmm's exit status for err: usage for a bad address, internal otherwise. */
int gdb_status(enum gdb_err err);

/* Probe the platform (kvm_fd), listen on cfg->spec, print "vmm: waiting for gdb on HOST:PORT"
 * on stderr and accept one client; with late, only listen (gdb_attach accepts). msg (n bytes)
 * says what failed. Call before the sandbox. */
enum gdb_err gdb_open(struct gdb_stub *g, const struct gdb_config *cfg, int kvm_fd, bool late,
		      char *msg, size_t n);

/* Take over r's exit hook and serve gdb's first stop, before the guest's first instruction.
 * Returns false if gdb killed the guest there (r->stop says so). */
bool gdb_start(struct gdb_stub *g, struct run *r);

/* Fault injection's moment (--inject): accept gdb now (gdb_open with late), take over r's exit
 * hook, chaining the one in place, turn r's deadlines off and serve the first stop. */
void gdb_attach(struct gdb_stub *g, struct run *r);

/* The guest stopped for good: tell gdb how (W exit code, X signal) and close. */
void gdb_finish(struct gdb_stub *g, struct run *r);

#endif
