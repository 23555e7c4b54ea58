/* Counts that are the same on every KVM, held to budgets: guest instructions (by single steps,
 * `./vmm --count`) and VM exits for a boot, one caught guard fault in each way of catching it,
 * and one campaign experiment. A regression in the runtime's boot or fault path fails here, on
 * any platform, whatever its speed (bench/bench_counts.c prints the same figures).
 *
 * The instruction tests skip where single steps are known to be inexact (KVM nested in QEMU
 * before 9.1; docs/platforms.md); the exit tests run everywhere. Never loosen a budget to fit a
 * platform: a platform whose count differs is a finding for docs/platforms.md. */
#include <criterion/criterion.h>

#include "count.h"
#include "count_measure.h"
#include "run_helper.h"

/* The budgets (docs/faults.md, "Cost"; docs/guest.md, "Boot"). */
#define BUDGET_BOOT_INSNS      300 /* hello guest, first instruction to its exit hypercall */
#define BUDGET_BOOT_EXITS      4
#define BUDGET_RECOVERED_INSNS 40 /* a guard fault caught by the guest IDT, beyond its probe */
#define BUDGET_RECOVERED_EXITS 0
#define BUDGET_REPORTED_EXITS  1 /* exactly: the report */
#define BUDGET_VMM_EXITS       2 /* --faults=vmm: the VMM's stub exits, the VMM unwinds */
#define BUDGET_USER_CALL_INSNS 60 /* pw_user_call round trip (PVM's SYSCALL #PF included) */
#define BUDGET_USER_CALL_EXITS 0  /* --faults=guest: ring changes never exit */

/* The bare kind's #PF handler is 4 instructions (movq, movl, addq, iretq) and replaces the one
 * read (not retired: it faulted) of the loop kind: an iteration is exactly 3 more. */
#define BARE_MINUS_LOOP 3

#define WHY_MAX 512

static struct cm_paths paths;

/* KVM is needed; and for instruction counts, single steps that are exact here. */
static void need_counts(bool insns)
{
	const char *why;

	require_kvm();
	cr_assert(cm_paths_init(&paths), "PW_ROOT and PW_BUILD must be set");
	if (insns && count_inexact(&why))
		cr_skip_test("instruction counts are inexact here: %s", why);
}

/* Whole-run counts of test guest name (count: the --count option, or NULL for exits only). */
static struct cm_count run_guest_counts(const char *name, const char *count)
{
	const char *args[] = {guest(name), NULL};
	char why[WHY_MAX] = "";
	struct cm_count c;

	cr_assert_eq(cm_run(&paths, count, args, &c, why, sizeof(why)), 0, "%s: %s", name, why);
	return c;
}

/* One fault of fault_bench's kind under mode, beyond its probe, checked for linearity. */
static struct cm_count fault_cost(const char *mode, const char *kind, const char *count)
{
	char why[WHY_MAX] = "";
	struct cm_count c;

	cr_assert(cm_fault_cost(&paths, count, mode, kind, true, &c, why, sizeof(why)), "%s", why);
	cr_log_info("%s %s: %" PRIu64 " instructions, %" PRIu64 " exits", mode, kind, c.insns,
		    c.exits);
	return c;
}

Test(counts, hello_boot_within_budget)
{
	struct cm_count c;

	need_counts(true);
	c = run_guest_counts("hello.bin", "--count");
	cr_expect_leq(c.insns, BUDGET_BOOT_INSNS, "hello boot: %" PRIu64 " instructions", c.insns);
	cr_expect_leq(c.exits, BUDGET_BOOT_EXITS, "hello boot: %" PRIu64 " exits", c.exits);
	cr_expect_geq(c.exits, 1, "at least the exit hypercall");
}

Test(counts, hello_boot_exits_within_budget)
{
	struct cm_count c;

	need_counts(false);
	c = run_guest_counts("hello.bin", NULL);
	cr_expect_leq(c.exits, BUDGET_BOOT_EXITS, "hello boot: %" PRIu64 " exits", c.exits);
}

Test(counts, recovered_fault_within_budget)
{
	struct cm_count c;

	need_counts(true);
	c = fault_cost("--faults=guest", "recovered", "--count");
	cr_expect_leq(c.insns, BUDGET_RECOVERED_INSNS, "%" PRIu64 " instructions", c.insns);
	cr_expect_eq(c.exits, BUDGET_RECOVERED_EXITS, "%" PRIu64 " exits", c.exits);
}

Test(counts, reported_fault_is_one_exit)
{
	struct cm_count c;

	need_counts(false);
	c = fault_cost("--faults=guest", "reported", NULL);
	cr_expect_eq(c.exits, BUDGET_REPORTED_EXITS, "%" PRIu64 " exits", c.exits);
}

Test(counts, vmm_fault_within_budget)
{
	struct cm_count c;

	need_counts(false);
	c = fault_cost("--faults=vmm", "vmm", NULL);
	cr_expect_leq(c.exits, BUDGET_VMM_EXITS, "%" PRIu64 " exits", c.exits);
	cr_expect_geq(c.exits, 1, "the VMM catches it: its stub exits");
}

/* One pw_user_call round trip (fault_bench's user-call kind, net of its loop): SYSRET to CPL 3
 * and SYSCALL back, without an exit. */
static struct cm_count user_call_cost(const char *count)
{
	char why[WHY_MAX] = "";
	struct cm_count c, loop;

	cr_assert(cm_fault_iter(&paths, count, "--faults=guest", "user-call", true, &c, why,
				sizeof(why)),
		  "%s", why);
	cr_assert(cm_fault_iter(&paths, count, "--faults=guest", "loop", true, &loop, why,
				sizeof(why)),
		  "%s", why);
	return (struct cm_count){.insns = c.insns - loop.insns, .exits = c.exits - loop.exits};
}

Test(counts, user_call_within_budget)
{
	struct cm_count c;

	need_counts(true);
	c = user_call_cost("--count");
	cr_log_info("user call: %" PRIu64 " instructions, %" PRIu64 " exits", c.insns, c.exits);
	cr_expect_leq(c.insns, BUDGET_USER_CALL_INSNS, "%" PRIu64 " instructions", c.insns);
	cr_expect_eq(c.exits, BUDGET_USER_CALL_EXITS, "%" PRIu64 " exits", c.exits);
}

Test(counts, user_call_makes_no_exit)
{
	struct cm_count c;

	need_counts(false);
	c = user_call_cost(NULL);
	cr_expect_eq(c.exits, BUDGET_USER_CALL_EXITS, "%" PRIu64 " exits", c.exits);
}

/* The counter against a known answer, through an exception handler and its iretq. */
Test(counts, handler_instructions_are_counted_exactly)
{
	char why[WHY_MAX] = "";
	struct cm_count bare, loop;

	need_counts(true);
	cr_assert(cm_fault_iter(&paths, "--count", "--faults=guest", "bare", true, &bare, why,
				sizeof(why)),
		  "%s", why);
	cr_assert(cm_fault_iter(&paths, "--count", "--faults=guest", "loop", true, &loop, why,
				sizeof(why)),
		  "%s", why);
	cr_expect_eq(bare.insns, loop.insns + BARE_MINUS_LOOP,
		     "bare %" PRIu64 ", loop %" PRIu64 " instructions per iteration", bare.insns,
		     loop.insns);
}

/* The handler breakpoints (what standard KVM needs) count what PVM's steps in handlers count,
 * for the runtime's fast unwinder and its full path (trap_full, iretq) alike. */
Test(counts, handler_breakpoints_count_the_same)
{
	static const char *const images[] = {"hello.bin", "expect.bin", "fault_unmapped.bin"};

	need_counts(true);
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
		const char *args[] = {guest(images[i]), NULL};
		char why[WHY_MAX] = "";
		struct cm_count a, b;
		int sa = cm_run(&paths, "--count", args, &a, why, sizeof(why));
		int sb = cm_run(&paths, "--count=bps", args, &b, why, sizeof(why));

		cr_assert_geq(sa, 0, "%s: %s", images[i], why);
		cr_expect_eq(sa, sb, "%s: status %d, with breakpoints %d", images[i], sa, sb);
		cr_expect_eq(a.insns, b.insns,
			     "%s: %" PRIu64 " instructions, with breakpoints %" PRIu64, images[i],
			     a.insns, b.insns);
	}
}

/* A campaign experiment is the golden run from the snapshot point: its trace (the campaign's
 * own count of steps) is the count after the first checkpoint, less the exit hypercall's `out`,
 * which ends the run before a step past it. */
Test(counts, campaign_experiment_matches_the_golden_trace)
{
	struct cm_count c;
	struct proc_result r;
	const char *line;
	unsigned long long traced = 0, exits = 0;

	need_counts(true);
	c = run_guest_counts("workload.elf", "--count");
	cr_assert(c.checkpointed, "the workload makes a checkpoint (the snapshot point)");
	r = vmm_run("campaign", "--runs", "1", "--no-progress", guest("workload.elf"), NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	line = strstr(r.err, "golden run:");
	cr_assert_not_null(line, "%s", r.err);
	cr_assert_eq(sscanf(line,
			    "golden run: %*[^,], %*[^,], %llu exits, %*u hypercalls, %llu "
			    "instructions",
			    &exits, &traced),
		     2, "%s", line);
	cr_expect_eq(c.insns_after, traced + 1,
		     "--count %" PRIu64 " after the checkpoint, trace %llu", c.insns_after, traced);
	cr_expect_eq(c.exits_after, exits, "exits after the checkpoint %" PRIu64 ", golden %llu",
		     c.exits_after, exits);
	proc_result_free(&r);
}
