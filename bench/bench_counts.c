/* Figures that are the same on every KVM: guest instructions and VM exits for a boot of the
 * hello guest to its exit, one caught guard fault (recovered in the guest IDT, reported, and
 * under --faults=vmm), one pw_user_call round trip to CPL 3, and one campaign experiment (the
 * workload guest from its snapshot point to its outcome). Prints BENCH <name>_insns N and BENCH <name>_exits N; tests/test_counts.c
 * holds them to budgets. How each is measured: tests/count_measure.h.
 *
 * Instructions are counted by single steps (`./vmm --count`). Where those are known to be
 * inexact (KVM nested in QEMU before 9.1), the instruction figures are not printed and a
 * comment line says why; exits come from runs without steps and are printed everywhere. */
#include <stdio.h>
#include <stdlib.h>

#include "../tests/count_measure.h"
#include "count.h"

#define WHY_MAX 512

/* Print name's figures; insns only if counted. */
static void print_counts(const char *name, const struct cm_count *c, bool counted)
{
	if (counted)
		printf("BENCH %s_insns %" PRIu64 " insns\n", name, c->insns);
	printf("BENCH %s_exits %" PRIu64 " exits\n", name, c->exits);
}

/* The whole run of guest `name` (or, for a campaign experiment, what follows its snapshot
 * point, the first checkpoint). */
static bool measure_run(const struct cm_paths *p, bool counted, const char *bench, const char *name,
			bool after_checkpoint)
{
	char image[4200], why[WHY_MAX] = "";
	const char *args[] = {image, NULL};
	struct cm_count c;

	snprintf(image, sizeof(image), "%s/%s", p->guests, name);
	if (cm_run(p, counted ? "--count" : NULL, args, &c, why, sizeof(why)) != 0 ||
	    (after_checkpoint && !c.checkpointed)) {
		fprintf(stderr, "bench_counts: %s: %s\n", name, *why ? why : "failed");
		return false;
	}
	if (after_checkpoint)
		c = (struct cm_count){.insns = c.insns_after, .exits = c.exits_after};
	print_counts(bench, &c, counted);
	return true;
}

/* One fault of fault_bench's kind under mode. */
static bool measure_fault(const struct cm_paths *p, bool counted, const char *bench,
			  const char *mode, const char *kind)
{
	char why[WHY_MAX] = "";
	struct cm_count c;

	if (!cm_fault_cost(p, counted ? "--count" : NULL, mode, kind, false, &c, why,
			   sizeof(why))) {
		fprintf(stderr, "bench_counts: %s: %s\n", bench, why);
		return false;
	}
	print_counts(bench, &c, counted);
	return true;
}

/* One iteration of fault_bench's kind under mode, net of the `loop` kind's (a mapped read). */
static bool measure_iter(const struct cm_paths *p, bool counted, const char *bench,
			 const char *mode, const char *kind)
{
	char why[WHY_MAX] = "";
	struct cm_count c, loop;

	if (!cm_fault_iter(p, counted ? "--count" : NULL, mode, kind, false, &c, why,
			   sizeof(why)) ||
	    !cm_fault_iter(p, counted ? "--count" : NULL, mode, "loop", false, &loop, why,
			   sizeof(why))) {
		fprintf(stderr, "bench_counts: %s: %s\n", bench, why);
		return false;
	}
	c = (struct cm_count){.insns = c.insns - loop.insns, .exits = c.exits - loop.exits};
	print_counts(bench, &c, counted);
	return true;
}

int main(void)
{
	struct cm_paths p;
	const char *why;
	bool counted, ok;

	if (!cm_paths_init(&p)) {
		fprintf(stderr, "bench_counts: PW_ROOT and PW_BUILD must be set (make bench)\n");
		return 2;
	}
	counted = !count_inexact(&why);
	if (!counted)
		printf("# instruction counts not measured here: %s\n", why);
	ok = measure_run(&p, counted, "boot_hello", "hello.bin", false) &&
	     measure_fault(&p, counted, "fault_recovered", "--faults=guest", "recovered") &&
	     measure_fault(&p, counted, "fault_reported", "--faults=guest", "reported") &&
	     measure_fault(&p, counted, "fault_vmm", "--faults=vmm", "vmm") &&
	     measure_iter(&p, counted, "user_call", "--faults=guest", "user-call") &&
	     measure_run(&p, counted, "campaign_experiment", "workload.elf", true);
	return ok ? 0 : 1;
}
