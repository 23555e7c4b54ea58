/* Fast-forward waypoints: taking them along the traced golden run, choosing one per experiment. */
#include "campaign_waypoint.h"

#include <stdlib.h>
#include <string.h>

#define WP_PAGE 4096ull

void waypoints_init(struct waypoints *set)
{
	memset(set, 0, sizeof(*set));
	set->stride = WAYPOINTS_STRIDE;
}

bool waypoints_due(const struct waypoints *set, uint64_t insn)
{
	return !set->full && insn > 0 && insn % set->stride == 0;
}

/* Keep the waypoints at multiples of twice the stride, free the rest. */
static void waypoints_thin(struct waypoints *set)
{
	unsigned kept = 0;

	set->stride *= 2;
	for (unsigned i = 0; i < set->n; i++) {
		if (set->v[i].insn % set->stride == 0) {
			set->v[kept++] = set->v[i];
			continue;
		}
		set->bytes -= set->v[i].delta.npages * WP_PAGE;
		snapshot_delta_free(&set->v[i].delta);
	}
	set->n = kept;
}

void waypoints_add(struct waypoints *set, struct waypoint *wp)
{
	uint64_t bytes = wp->delta.npages * WP_PAGE;

	if (!set->v)
		set->v = calloc(WAYPOINTS_MAX, sizeof(*set->v));
	if (!set->v || set->bytes + bytes > WAYPOINTS_BYTES_MAX) {
		set->full = true;
		snapshot_delta_free(&wp->delta);
		return;
	}
	set->v[set->n++] = *wp;
	set->bytes += bytes;
	if (set->n == WAYPOINTS_MAX)
		waypoints_thin(set);
}

/* The last waypoint at or before instruction q, or NULL. */
static const struct waypoint *wp_before_insn(const struct waypoints *set, uint64_t q)
{
	const struct waypoint *best = NULL;

	for (unsigned i = 0; i < set->n && set->v[i].insn <= q; i++)
		best = &set->v[i];
	return best;
}

/* RIP of instruction j (0: the snapshot's): the K-th arrival at an address is the K-th j with
 * rip_of(j) == ADDR, since a breakpoint fires before the instruction runs. */
static uint64_t wp_rip_of(const uint64_t *trace, uint64_t rip0, uint64_t j)
{
	return j == 0 ? rip0 : trace[j - 1];
}

/* Count the arrivals at rip in instructions 0..last, stopping at the hit-th (hit 0: never) with
 * *at set to its instruction; 0 if one of them is followed back to back by rip (a rep string
 * instruction steps once per iteration but may meet a breakpoint once: the trace cannot count
 * arrivals there). */
static uint64_t wp_arrivals(const uint64_t *trace, uint64_t ntrace, uint64_t rip0, uint64_t rip,
			    uint64_t last, uint64_t hit, uint64_t *at)
{
	uint64_t k = 0;

	for (uint64_t j = 0; j <= last; j++) {
		if (wp_rip_of(trace, rip0, j) != rip)
			continue;
		if (j < ntrace && wp_rip_of(trace, rip0, j + 1) == rip)
			return 0;
		*at = j;
		if (++k == hit)
			break;
	}
	return k;
}

uint64_t trace_arrival(const uint64_t *trace, uint64_t ntrace, uint64_t rip0, uint64_t q)
{
	uint64_t at;

	return wp_arrivals(trace, ntrace, rip0, wp_rip_of(trace, rip0, q), q, 0, &at);
}

/* @rip=ADDR#K: the waypoint before the K-th arrival, and the arrivals before it. Where the trace
 * cannot count the arrivals at ADDR, or has fewer than K (it may never come), the experiment
 * starts at the snapshot. */
static void wp_pick_rip(const struct waypoints *set, const uint64_t *trace, uint64_t ntrace,
			uint64_t rip0, const struct inject_spec *spec, struct waypoint_start *out)
{
	uint64_t q = 0;

	if (wp_arrivals(trace, ntrace, rip0, spec->when, ntrace, spec->hit, &q) != spec->hit ||
	    spec->hit == 0)
		return;
	out->wp = wp_before_insn(set, q);
	for (uint64_t j = 0; out->wp && j < out->wp->insn; j++)
		out->hits += wp_rip_of(trace, rip0, j) == spec->when;
}

/* @hc=K or @checkpoint=K: the last waypoint that has seen fewer than K of them. */
static void wp_pick_count(const struct waypoints *set, const struct inject_spec *spec,
			  struct waypoint_start *out)
{
	for (unsigned i = 0; i < set->n; i++) {
		uint64_t seen = spec->trigger == INJ_AT_HC ? set->v[i].hc : set->v[i].cp;

		if (seen >= spec->when)
			break;
		out->wp = &set->v[i];
	}
}

void waypoints_pick(const struct waypoints *set, const uint64_t *trace, uint64_t ntrace,
		    uint64_t rip0, const struct inject_spec *spec, struct waypoint_start *out)
{
	memset(out, 0, sizeof(*out));
	switch (spec->trigger) {
	case INJ_AT_RIP:
		if (ntrace)
			wp_pick_rip(set, trace, ntrace, rip0, spec, out);
		break;
	case INJ_AT_INSN:
		out->wp = wp_before_insn(set, spec->when);
		out->steps = out->wp ? out->wp->insn : 0;
		break;
	case INJ_AT_HC:
	case INJ_AT_CHECKPOINT:
		wp_pick_count(set, spec, out);
		break;
	default: /* @time: wall time from the start of the run */
		break;
	}
}

void waypoints_free(struct waypoints *set)
{
	for (unsigned i = 0; i < set->n; i++)
		snapshot_delta_free(&set->v[i].delta);
	free(set->v);
	waypoints_init(set);
}
