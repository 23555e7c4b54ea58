/* Fault-injection campaigns: a golden run, then many experiments, each a SPEC applied to a VM
 * reset from a post-boot snapshot. `./vmm --inject SPEC IMAGE` is a campaign of one.
 * docs/fault-injection.md explains the models, triggers, outcomes and sharding. */
#ifndef PW_HOST_CAMPAIGN_H
#define PW_HOST_CAMPAIGN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "inject.h"
#include "loader.h"

enum campaign_outcome {
	OUT_BENIGN = 0, /* stopped as the golden run did, same output and exit code */
	OUT_SDC,	/* stopped normally, but output or exit code differ: silent corruption */
	OUT_DETECTED,	/* the guest or the VMM caught and reported it (panic, fault, trap, MMIO) */
	OUT_CRASH,	/* triple fault, internal error, entry failure, host fault */
	OUT_HANG,	/* the hang budget ran out */
	OUT_VMM_ERROR,	/* the injection or the VMM failed: not a guest outcome */
	OUT_COUNT
};

#define CAMPAIGN_MAX_MODELS INJ_MODEL_COUNT

struct gdb_stub;
struct gdb_config;

struct campaign_opts {
	const char *image;
	uint64_t mem;
	uint64_t runs;	       /* --runs N */
	uint64_t seed;	       /* --seed S */
	unsigned models;       /* --model: bit per enum inject_model; 0 = default mix */
	unsigned jobs;	       /* --jobs J worker processes */
	unsigned shard, nshards; /* --shard K/N (K 1-based); 0/0 = all */
	const char *out;       /* --out FILE: JSONL */
	const char *csv;       /* --csv FILE */
	uint64_t budget_exits; /* --budget-exits: 0 = auto (campaign_budget_exits) */
	double budget_ms;      /* --budget-ms: 0 = auto (campaign_budget_ms) */
	bool progress;	       /* progress line on stderr */
	uint64_t max_exits;    /* --max-exits: hard limit of VM exits per run; 0 = none */
	unsigned fault_mode;   /* --faults=guest|vmm: enum pw_fault_mode, for every run */
	bool protect_pt;       /* --protect-pt: the page-table pool is a read-only memslot */
	bool no_fast_forward;  /* --no-fast-forward: every experiment starts at the snapshot */
	bool no_sandbox;       /* --no-sandbox: workers run without the seccomp filter */
	unsigned ncpus;	       /* --cpus N: vCPUs of every run (docs/smp.md); 0 = 1 */
	const char *spec;      /* --inject SPEC: one experiment */
	struct gdb_stub *gdb;  /* --inject with --gdb: gdb takes over at the injection point */
	const struct gdb_config *gdb_cfg;
};

/* The last fault an experiment's run recorded (struct fault_record, without pointers). */
struct campaign_fault {
	uint8_t kind, vector, caught_by, cpu, pad[4]; /* pw_fault_kind, vector, pw_caught_by, vCPU */
	uint64_t error_code, gva, rip;
};

/* One experiment's result: fixed size (well under PIPE_BUF), so workers can send it through a
 * pipe in one atomic write. */
struct campaign_result {
	uint64_t index;
	char spec[INJECT_SPEC_MAX];
	uint8_t model, outcome, stop, applied;
	uint8_t deterministic, tlb_flushed, has_fault, pad;
	int64_t exit_code;
	uint64_t nexits, hash, pages_restored, rip;
	struct campaign_fault fault; /* valid if has_fault */
	char detail[160];
};

/* What the golden run did, from the snapshot on. */
struct campaign_golden {
	unsigned stop;
	int64_t exit_code;
	uint64_t hash, nexits, hypercalls, checkpoints, insns, wall_ns;
	uint64_t cpu_ns; /* CPU time of the fastest of a few golden runs */
};

/* The automatic hang budget: CPU time after the injection of CPU_FACTOR times the golden run's,
 * at least FLOOR_MS; guest exits EXIT_FACTOR times the golden run's, plus 100. */
#define CAMPAIGN_BUDGET_CPU_FACTOR  48
#define CAMPAIGN_BUDGET_FLOOR_MS    10.0
#define CAMPAIGN_BUDGET_EXIT_FACTOR 10

/* The hang budget of every experiment of o, given its golden run g: --budget-exits, or the
 * automatic one; --budget-ms (CPU milliseconds from the injection on), or the automatic one. */
uint64_t campaign_budget_exits(const struct campaign_opts *o, const struct campaign_golden *g);
double campaign_budget_ms(const struct campaign_opts *o, const struct campaign_golden *g);

/* Name of an outcome ("sdc"); "?" if out of range. */
const char *campaign_outcome_name(enum campaign_outcome o);

/* Parse `campaign` options (argv[0] = "campaign") into o; on error msg (n bytes) says why. */
int campaign_parse(int argc, char *const argv[], struct campaign_opts *o, bool *summarize,
		   int *first_file, char *msg, size_t n);

/* Run the campaign o describes (fork workers, merge, write files, print the summary); returns
 * ./vmm's exit status. */
int campaign_main(const struct campaign_opts *o);

/* ./vmm --inject SPEC: run one experiment and print its result; returns the guest's status. */
int campaign_inject_one(const struct campaign_opts *o);

/* ---- campaign_report.c ---- */

/* Write r as one JSONL line, with what o ran it under (image, mem, fault mode, protect-pt,
 * max-exits): enough to re-run it alone with ./vmm --inject. */
void campaign_write_jsonl(FILE *f, const struct campaign_result *r, const struct campaign_opts *o);

/* Write the CSV header, or one CSV row. */
void campaign_write_csv_header(FILE *f);
void campaign_write_csv(FILE *f, const struct campaign_result *r);

/* counts[model][outcome] -> the summary table with 95% Wilson intervals. */
void campaign_print_summary(FILE *f, uint64_t counts[INJ_MODEL_COUNT][OUT_COUNT]);

/* Merge JSONL files and print their summary; returns the exit status. */
int campaign_summarize(int nfiles, char *const files[]);

#endif
