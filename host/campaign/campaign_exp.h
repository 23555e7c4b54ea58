/* One vCPU's run in a campaign worker as its exit hook sees it: the trigger (single steps, a
 * hardware breakpoint, hypercall and checkpoint counts, time), the injection when it fires, the
 * output hash, the exit budget, and the golden trace while tracing. Internal to host/campaign/. */
#ifndef PW_HOST_CAMPAIGN_EXP_H
#define PW_HOST_CAMPAIGN_EXP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "campaign_worker.h"

#define CAMP_TRACE_MAX 200000 /* golden instructions traced; longer guests get no @rip points */
#define CAMP_FNV_BASIS 0xcbf29ce484222325ull

/* The state of one vCPU's run the exit hook works on. */
struct exp {
	struct worker *w;
	unsigned cpu;
	const struct inject_spec *spec; /* NULL: golden run, or another vCPU than the spec's */
	bool boot;			/* stop at the first checkpoint (the snapshot point) */
	bool tracing;			/* single-step and record RIPs */
	bool debug_on;
	bool step_locked; /* holds the worker's single-step lock */
	bool step_rip;	    /* @rip by single steps: this KVM's hardware breakpoints do not fire */
	bool stepping_past; /* @rip: single-stepping over an earlier arrival */
	bool applied;
	bool diverged; /* single steps left the golden run before the trigger */
	bool debug_at_start; /* the run started with debug exits (a trigger or a trace) */
	bool stepped;	     /* the vCPU was single-stepped at some point */
	bool failed;	     /* the vCPU could not be reset (why says why) */
	uint64_t steps; /* by single steps: instructions from the snapshot (its RIP is number 0) */
	uint64_t hits, hc, cp, t0, hash;
	struct inject_effect eff;
	enum inject_err err;
	char why[160];
};

/* h extended with n bytes at p (FNV-1a): the output hash. */
uint64_t camp_fnv(uint64_t h, const void *p, size_t n);

/* Make vCPU x->cpu's run r (on view, starting at rip0) x's: its exit hook, its trigger armed,
 * and a trigger at the start point fired. */
void exp_start(struct exp *x, struct run *r, struct vm *view, uint64_t rip0);

/* After vCPU x->cpu's run stopped: its debug exits off, the single-step lock released. */
void exp_finish(struct exp *x, struct vm *view);

/* True if run r of x's spec used debug exits before its trigger and does not replay the golden
 * run up to it (hash: the run's output hash); with several vCPUs, only if the lockstep check
 * caught it. */
bool exp_diverged(const struct worker *w, const struct exp *x, const struct run *r,
		  uint64_t hash);

/* True if f, the last fault of the vCPU whose stop ended the run, is a #DB on x's vCPU that x's
 * single steps leaked to the guest, not one the guest or the injection made. */
bool exp_leaked_tf(const struct exp *x, const struct fault_record *f);

#endif
