/* Fast-forward: states along the golden run, taken while it is single-stepped for its trace,
 * from which an experiment starts instead of from the snapshot when its trigger lies beyond one.
 * It skips re-running the golden prefix and, for @rip=ADDR#K, the earlier arrivals at ADDR. The
 * golden run is deterministic, so the state there is the one the experiment would reach;
 * tests/test_campaign.c checks whole campaigns against --no-fast-forward, byte for byte. */
#ifndef PW_HOST_CAMPAIGN_WAYPOINT_H
#define PW_HOST_CAMPAIGN_WAYPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "inject.h"
#include "run.h"
#include "snapshot.h"

#define WAYPOINTS_MAX	    64		  /* kept at once; when full, every other one goes */
#define WAYPOINTS_STRIDE    8		  /* instructions between waypoints at first */
#define WAYPOINTS_BYTES_MAX (64ull << 20) /* page copies held at most */

/* One state of the golden run, and what the run and its exit hook had counted by then. */
struct waypoint {
	uint64_t insn;			/* guest instructions executed from the snapshot */
	struct snapshot_delta delta;	/* vCPU state and the pages that differ from the snapshot */
	uint64_t hc, cp, hash;		/* hypercalls, checkpoints and output hash so far */
	uint64_t exits[RUN_EXIT_SLOTS]; /* the guest's exits so far, by reason */
	uint64_t recovery_gpa, pool_top; /* the VMM's fault-handling state (--faults=vmm) */
};

struct waypoints {
	struct waypoint *v; /* by insn, ascending */
	unsigned n;
	uint64_t stride; /* a waypoint every stride instructions */
	uint64_t bytes;	 /* page data the deltas hold */
	bool full;	 /* WAYPOINTS_BYTES_MAX reached: no more */
};

/* Where an experiment starts: at wp (NULL: the snapshot), with its trigger's progress there. */
struct waypoint_start {
	const struct waypoint *wp;
	uint64_t hits;	/* @rip: arrivals at ADDR before wp */
	uint64_t steps; /* @insn: instructions before wp */
};

/* Prepare an empty set. */
void waypoints_init(struct waypoints *set);

/* True if the state after insn instructions should become a waypoint. */
bool waypoints_due(const struct waypoints *set, uint64_t insn);

/* Take *wp into the set (it owns wp's delta from now on; freed at once if the set is full).
 * When WAYPOINTS_MAX are held, every other one is dropped and the stride doubles. */
void waypoints_add(struct waypoints *set, struct waypoint *wp);

/* Where spec starts: the last waypoint before its trigger, known from the golden trace (trace[j]
 * is the RIP after j + 1 instructions, rip0 the snapshot's, ntrace of them; 0 if the trace was
 * dropped) for @rip, from the counts for @insn, @hc and @checkpoint; never for @time. */
void waypoints_pick(const struct waypoints *set, const uint64_t *trace, uint64_t ntrace,
		    uint64_t rip0, const struct inject_spec *spec, struct waypoint_start *out);

/* The K of instruction q of the golden trace as an @rip=ADDR#K trigger: how many arrivals at its
 * RIP there are up to and including q (instruction 0 is the snapshot's own RIP, rip0; instruction
 * j > 0 is at trace[j - 1]). 0 if some arrival up to q is followed back to back by the same RIP:
 * a rep string instruction steps once per iteration but may meet a breakpoint once, or a
 * one-instruction loop, so the trace cannot count its arrivals (use @insn=q instead). */
uint64_t trace_arrival(const uint64_t *trace, uint64_t ntrace, uint64_t rip0, uint64_t q);

/* Free every waypoint. */
void waypoints_free(struct waypoints *set);

#endif
