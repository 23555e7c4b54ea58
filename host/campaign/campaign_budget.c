/* The hang budget of an experiment: CPU time from the injection on, and the guest's exits. By
 * default both come from the golden run (docs/fault-injection.md, "Hang budget"). */
#include "campaign.h"

uint64_t campaign_budget_exits(const struct campaign_opts *o, const struct campaign_golden *g)
{
	return o->budget_exits ? o->budget_exits : g->nexits * CAMPAIGN_BUDGET_EXIT_FACTOR + 100;
}

double campaign_budget_ms(const struct campaign_opts *o, const struct campaign_golden *g)
{
	double scaled = (double)g->cpu_ns / 1e6 * CAMPAIGN_BUDGET_CPU_FACTOR;

	if (o->budget_ms > 0)
		return o->budget_ms;
	return scaled > CAMPAIGN_BUDGET_FLOOR_MS ? scaled : CAMPAIGN_BUDGET_FLOOR_MS;
}
