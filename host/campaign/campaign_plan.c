/* Experiment generation: a model, a target and an injection point per experiment. */
#include "campaign_plan.h"

#include <string.h>

/* splitmix64: a tiny, well-mixed PRNG; the experiment i stream is seeded by (seed, i). */
static uint64_t camp_rand(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const unsigned camp_default_models = (1u << INJ_REG) | (1u << INJ_MEM) | (1u << INJ_PTE);

/* A guest address the workload uses: its image or vCPU cpu's stack page at the snapshot. */
static uint64_t camp_pick_addr(const struct worker *w, unsigned cpu, uint64_t *x)
{
	uint64_t span = w->img.end - w->img.start;

	if (camp_rand(x) % 4 == 0)
		return (w->snap.cpus[cpu].regs.rsp & ~0xfffull) + (camp_rand(x) % 4096);
	return w->img.start + camp_rand(x) % (span ? span : 1);
}

/* Experiment i of the campaign: a pure function of (seed, i, golden run), so every shard and
 * every worker agrees on it. */
void campaign_plan(const struct worker *w, const struct campaign_opts *o, uint64_t i,
		   struct inject_spec *s)
{
	unsigned models = o->models ? o->models : camp_default_models;
	unsigned pick[INJ_MODEL_COUNT], np = 0;
	uint64_t x = o->seed ^ (i * 0xd1b54a32d192ed03ull);

	memset(s, 0, sizeof(*s));
	/* With several vCPUs, which one; with one, no draw (the same plan as before --cpus). */
	if (w->ncpus > 1)
		s->cpu = (unsigned)(camp_rand(&x) % w->ncpus);
	for (unsigned m = 0; m < INJ_MODEL_COUNT; m++)
		if (models & (1u << m))
			pick[np++] = m;
	s->model = (enum inject_model)pick[camp_rand(&x) % np];
	switch (s->model) {
	case INJ_REG:
		s->reg = (enum inject_reg)(camp_rand(&x) % (INJ_RFLAGS + 1));
		s->bit = (unsigned)(camp_rand(&x) % 64);
		break;
	case INJ_MEM:
		s->addr = camp_pick_addr(w, s->cpu, &x);
		s->bit = (unsigned)(camp_rand(&x) % 8);
		s->burst = 1;
		break;
	case INJ_PTE:
		s->va = camp_pick_addr(w, s->cpu, &x) & ~0xfffull;
		s->action = (enum inject_pte_action)(camp_rand(&x) % INJ_PTE_FLIP);
		break;
	case INJ_EXC: {
		static const unsigned vecs[] = {0, 6, 13, 14};

		s->vector = vecs[camp_rand(&x) % 4];
		s->has_err = pw_exception_has_error_code(s->vector);
		if (s->vector == 14)
			s->has_cr2 = true, s->cr2 = camp_pick_addr(w, s->cpu, &x);
		break;
	}
	default:
		break;
	}
	/* Where: an instruction of the golden trace (instruction q > 0 is at trace[q - 1]), reached
	 * as the K-th arrival at its RIP (one breakpoint exit per arrival, not one per
	 * instruction), or, where the trace cannot count arrivals (trace_arrival), as the exact
	 * instruction count. Without a trace, a hypercall of the vCPU. The trace is vCPU 0's: on
	 * another vCPU the point is the same arrival at the same RIP, reached where it runs the
	 * same code (never an instruction count: docs/fault-injection.md). */
	if (w->ntrace) {
		uint64_t q = 1 + camp_rand(&x) % w->ntrace;
		uint64_t hit = trace_arrival(w->trace, w->ntrace, w->snap.cpus[0].regs.rip, q);

		if (hit) {
			s->trigger = INJ_AT_RIP, s->when = w->trace[q - 1], s->hit = hit;
			return;
		}
		if (s->cpu == 0) {
			s->trigger = INJ_AT_INSN, s->when = q;
			return;
		}
	}
	s->trigger = INJ_AT_HC;
	s->when = 1 + camp_rand(&x) % (w->golden_hc[s->cpu] ? w->golden_hc[s->cpu] : 1);
}

/* Does experiment i belong to this shard? Round-robin: i % N == K - 1. */
bool campaign_in_shard(const struct campaign_opts *o, uint64_t i)
{
	return !o->nshards || i % o->nshards == o->shard - 1;
}
