/* `./vmm campaign` options (docs/fault-injection.md lists them). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign.h"
#include "memory.h"
#include "pagewarden/layout.h"

enum {
	CO_RUNS = 0x100,
	CO_SEED,
	CO_MODEL,
	CO_JOBS,
	CO_SHARD,
	CO_OUT,
	CO_CSV,
	CO_BEXITS,
	CO_BMS,
	CO_SUMMARIZE,
	CO_MEM,
	CO_NOPROGRESS,
	CO_MAX_EXITS,
	CO_NO_SANDBOX,
	CO_FAULTS,
	CO_PROTECT_PT,
	CO_NO_FAST_FORWARD,
	CO_CPUS,
};

static const struct option camp_long[] = {
    {"runs", required_argument, NULL, CO_RUNS},
    {"seed", required_argument, NULL, CO_SEED},
    {"model", required_argument, NULL, CO_MODEL},
    {"jobs", required_argument, NULL, CO_JOBS},
    {"shard", required_argument, NULL, CO_SHARD},
    {"out", required_argument, NULL, CO_OUT},
    {"csv", required_argument, NULL, CO_CSV},
    {"budget-exits", required_argument, NULL, CO_BEXITS},
    {"budget-ms", required_argument, NULL, CO_BMS},
    {"summarize", no_argument, NULL, CO_SUMMARIZE},
    {"mem", required_argument, NULL, CO_MEM},
    {"no-progress", no_argument, NULL, CO_NOPROGRESS},
    {"max-exits", required_argument, NULL, CO_MAX_EXITS},
    {"no-sandbox", no_argument, NULL, CO_NO_SANDBOX},
    {"faults", required_argument, NULL, CO_FAULTS},
    {"protect-pt", no_argument, NULL, CO_PROTECT_PT},
    {"no-fast-forward", no_argument, NULL, CO_NO_FAST_FORWARD},
    {"cpus", required_argument, NULL, CO_CPUS},
    {NULL, 0, NULL, 0},
};

static int camp_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

static int camp_opt(int c, const char *a, struct campaign_opts *o, bool *summarize, char *msg,
		    size_t n)
{
	uint64_t v;
	int m;
	unsigned k, nn;
	char extra;

	switch (c) {
	case CO_RUNS:
		if (camp_u64(a, &o->runs) || o->runs > 100000000)
			return snprintf(msg, n, "--runs '%s': want a count", a), -1;
		return 0;
	case CO_SEED:
		return camp_u64(a, &o->seed)
			   ? (snprintf(msg, n, "--seed '%s': not a number", a), -1)
			   : 0;
	case CO_MODEL:
		for (m = 0; m < INJ_MODEL_COUNT; m++)
			if (strcmp(a, inject_model_name((enum inject_model)m)) == 0)
				break;
		if (m == INJ_MODEL_COUNT)
			return snprintf(msg, n, "--model '%s': want pte, mem, reg, exc or skip", a),
			       -1;
		o->models |= 1u << m;
		return 0;
	case CO_JOBS:
		if (camp_u64(a, &v) || v < 1 || v > 64)
			return snprintf(msg, n, "--jobs '%s': want 1..64", a), -1;
		o->jobs = (unsigned)v;
		return 0;
	case CO_SHARD:
		if (sscanf(a, "%u/%u%c", &k, &nn, &extra) != 2 || nn < 1 || k < 1 || k > nn)
			return snprintf(msg, n, "--shard '%s': want K/N with 1 <= K <= N", a), -1;
		o->shard = k, o->nshards = nn;
		return 0;
	case CO_OUT:
		o->out = a;
		return 0;
	case CO_CSV:
		o->csv = a;
		return 0;
	case CO_BEXITS: /* "auto" (or 0): from the golden run */
		if (strcmp(a, "auto") == 0)
			v = 0;
		else if (camp_u64(a, &v))
			return snprintf(msg, n, "--budget-exits '%s': want a number or auto", a),
			       -1;
		o->budget_exits = v;
		return 0;
	case CO_BMS:
		if (strcmp(a, "auto") == 0)
			v = 0;
		else if (camp_u64(a, &v) || v == 0 || v > 3600000)
			return snprintf(msg, n, "--budget-ms '%s': want 1..3600000 or auto", a), -1;
		o->budget_ms = (double)v;
		return 0;
	case CO_MEM:
		if (parse_size(a, &o->mem) < 0 || o->mem < PW_MEM_MIN || o->mem > PW_MEM_MAX ||
		    o->mem % PW_PAGE_SIZE)
			return snprintf(msg, n, "--mem '%s': bad RAM size", a), -1;
		return 0;
	case CO_SUMMARIZE:
		*summarize = true;
		return 0;
	case CO_NOPROGRESS:
		o->progress = false;
		return 0;
	case CO_MAX_EXITS:
		return camp_u64(a, &o->max_exits)
			   ? (snprintf(msg, n, "--max-exits '%s': want a number of VM exits", a),
			      -1)
			   : 0;
	case CO_NO_SANDBOX:
		o->no_sandbox = true;
		return 0;
	case CO_FAULTS:
		if (strcmp(a, "guest") && strcmp(a, "vmm"))
			return snprintf(msg, n, "--faults '%s': want 'guest' or 'vmm'", a), -1;
		o->fault_mode = strcmp(a, "vmm") == 0 ? PW_FAULTS_VMM : PW_FAULTS_GUEST;
		return 0;
	case CO_PROTECT_PT:
		o->protect_pt = true;
		return 0;
	case CO_NO_FAST_FORWARD:
		o->no_fast_forward = true;
		return 0;
	case CO_CPUS:
		if (camp_u64(a, &v) || v < 1 || v > PW_MAX_CPUS)
			return snprintf(msg, n, "--cpus '%s': want a number of vCPUs from 1 to %u", a,
					PW_MAX_CPUS),
			       -1;
		o->ncpus = (unsigned)v;
		return 0;
	}
	return snprintf(msg, n, "unknown campaign option (see docs/fault-injection.md)"), -1;
}

int campaign_parse(int argc, char *const argv[], struct campaign_opts *o, bool *summarize,
		   int *first_file, char *msg, size_t n)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->mem = PW_MEM_DEFAULT;
	o->runs = 1000;
	o->jobs = 1;
	o->fault_mode = PW_FAULTS_GUEST;
	o->ncpus = 1;
	o->progress = isatty(2);
	*summarize = false;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", camp_long, NULL)) != -1) {
		if (c == '?' || c == ':')
			return snprintf(msg, n, "campaign: bad option '%s'", argv[optind - 1]), -1;
		if (camp_opt(c, optarg, o, summarize, msg, n) < 0)
			return -1;
	}
	*first_file = optind;
	if (optind >= argc)
		return snprintf(msg, n,
				*summarize ? "campaign --summarize: no FILE given"
					   : "campaign: no image given"),
		       -1;
	if (!*summarize && optind + 1 < argc)
		return snprintf(msg, n, "campaign: '%s' after the image (options go before it)",
				argv[optind + 1]),
		       -1;
	o->image = argv[optind];
	return 0;
}
