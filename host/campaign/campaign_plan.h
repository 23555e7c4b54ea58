/* Which experiments a campaign runs: experiment i is a pure function of (seed, i, golden run),
 * so every worker and every shard agrees on it. */
#ifndef PW_HOST_CAMPAIGN_PLAN_H
#define PW_HOST_CAMPAIGN_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "campaign_worker.h"

/* Experiment i of campaign o, drawn with w's golden trace and image, into *s. */
void campaign_plan(const struct worker *w, const struct campaign_opts *o, uint64_t i,
		   struct inject_spec *s);

/* Does experiment i belong to o's shard? Round-robin: i % N == K - 1. */
bool campaign_in_shard(const struct campaign_opts *o, uint64_t i);

#endif
