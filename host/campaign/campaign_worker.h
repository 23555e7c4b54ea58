/* A campaign worker's VM: built once per worker process, booted to the guest's first checkpoint
 * (the snapshot point), its golden run and single-step trace recorded, then reset from the
 * snapshot for every experiment. Internal to host/campaign/. */
#ifndef PW_HOST_CAMPAIGN_WORKER_H
#define PW_HOST_CAMPAIGN_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "campaign.h"
#include "kvm.h"
#include "layout.h"
#include "loader.h"
#include "memory.h"
#include "platform.h"
#include "run.h"
#include "campaign_waypoint.h"
#include "snapshot.h"

struct smp;
struct worker_round;

/* One VM, built once per worker process, reset for every experiment. */
struct worker {
	struct gdb_stub *gdb; /* --inject --gdb: attached when the injection is applied */
	uint8_t *file;
	size_t file_len;
	struct image img;
	struct vm vm;
	struct platform plat; /* what this KVM does where KVMs differ (@rip, single steps) */
	struct guest_mem mem;
	struct layout layout;
	struct snapshot snap;
	unsigned last_exit; /* vCPU 0's; the others complete theirs when they stop */
	int step_lock_fd; /* serializes single steps across processes where they interfere */
	struct campaign_golden golden;
	unsigned ncpus;	       /* --cpus */
	struct smp *smp;       /* ncpus > 1: vCPUs 1.. and their threads (host/smp.h) */
	struct worker_round *round; /* the run in progress: each vCPU's part (worker.c) */
	/* vCPU 0's golden RIP per instruction from the snapshot (the others are not single-stepped:
	 * docs/platforms.md) */
	uint64_t *trace;
	uint64_t ntrace;
	uint64_t golden_hc[PW_MAX_CPUS]; /* [k]: hypercalls vCPU k made in the golden run */
	uint64_t budget_exits; /* guest exits an experiment may take */
	double budget_cpu_s;   /* CPU seconds an experiment may take after its injection */
	uint64_t max_exits; /* --max-exits: the hard limit of every run, 0 = none */
	bool protect_pt;    /* --protect-pt: the pool is a read-only memslot */
	/* The VMM's own state at the snapshot, which each run starts from (--faults=vmm): where the
	 * guest's recovery record is, and the VMM's cursor in the page-table pool. */
	uint64_t recovery_gpa[PW_MAX_CPUS]; /* [k]: vCPU k's (each registers its own) */
	uint64_t pool_top;
	bool fast_forward;    /* experiments may start at a waypoint (not --no-fast-forward) */
	uint64_t reruns;      /* runs made again because single steps left the golden run */
	struct waypoints wps; /* taken while tracing the golden run */
};

/* Monotonic nanoseconds, for budgets and progress. */
uint64_t campaign_now_ns(void);

/* Build o's guest in w, install the sandbox (unless o->no_sandbox) and run the guest to its
 * first checkpoint, where the snapshot is taken. On error msg (n bytes) says why; returns 0 or
 * ./vmm's exit status. */
int worker_init(struct worker *w, const struct campaign_opts *o, char *msg, size_t n);

/* Golden run, then its single-step trace (every vCPU's); sets the hang budget from it. Same
 * contract. With several vCPUs the golden runs must agree (stop, exit code, each vCPU's output
 * and hypercalls): outcomes are measured against them. */
int worker_golden(struct worker *w, const struct campaign_opts *o, char *msg, size_t n);

/* Reset the VM and run it from the snapshot with spec (NULL: golden; trace: single-step and
 * record the RIPs), leaving the stopped run in *r for the caller to free: with several vCPUs,
 * the run of the vCPU whose stop ended it, with every vCPU's faults and exits. Fills res if given.
 * An experiment whose single steps left the golden run before its trigger is run again, up to
 * CAMP_ATTEMPTS times, then reported as a vmm-error. Returns -1 if the reset failed
 * (res->detail says why). */
int worker_run(struct worker *w, const struct inject_spec *spec, bool trace,
	       struct campaign_result *res, struct run *r);

/* Note the pages r's VMM fault handling wrote (the page-table pool, the recovery record): they
 * go back at the next reset with the rest, since KVM's dirty log only sees the guest's writes. */
void worker_note_vmm_writes(struct worker *w, const struct run *r);

/* Release the VM and everything w holds. */
void worker_free(struct worker *w);

#endif
