/* The fault benchmark's guest (tests/guests/fault_bench.c, run by bench/bench_faults.c): every
 * kind runs with a small count, exits 0 and prints its result line, and the JSON report shows
 * that each iteration did its one fault or exit and nothing else, so the benchmark cannot rot
 * unseen. No timing is checked. Needs KVM. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "fault_report.h"
#include "run_helper.h"

#define ITERS	  3    /* timed iterations; the guest runs one more, untimed, first */
#define GUARD	  0x10 /* the address the guard-fault kinds read */
#define VECTOR_PF 14
#define HEAP_SPAN 512 /* heap-grow runs at most HEAP_SPAN - 1 iterations */

static void kvm_init(void)
{
	require_kvm();
}

TestSuite(fault_bench, .init = kvm_init);

/* Run fault_bench.bin KIND N under mode (--faults=...) with the JSON report on stdout. */
static struct frun bench_guest(const char *mode, const char *kind, unsigned n)
{
	char arg[64];

	snprintf(arg, sizeof(arg), "%s %u", kind, n);
	return run_guest_opt(mode, "fault_bench.bin", arg);
}

/* Assert a clean exit and the result line "fault-bench KIND ITERS CYCLES cycles". */
static void assert_result(const struct frun *fr, const char *kind)
{
	char want[64], got_kind[32];
	unsigned long long cycles;
	unsigned n;
	const char *line;

	cr_assert_eq(fr->r.status, 0, "%s: status %d\nstdout:\n%s\nstderr:\n%s", kind, fr->r.status,
		     fr->r.out, fr->r.err);
	snprintf(want, sizeof(want), "fault-bench %s %u ", kind, ITERS);
	line = strstr(fr->r.out, want);
	cr_assert_not_null(line, "no \"%s\" line:\n%s", want, fr->r.out);
	cr_assert_eq(sscanf(line, "fault-bench %31s %u %llu cycles\n", got_kind, &n, &cycles), 3,
		     "malformed result line: %.80s", line);
	cr_assert(strstr(line, " cycles\n"), "result line without its unit: %.80s", line);
}

/* Assert that the report lists exactly n faults, each the null-guard read, recovered, caught by
 * caught_by. */
static void assert_null_faults(const struct frun *fr, size_t n, const char *caught_by)
{
	cr_assert_eq(fr->n, n, "%zu faults reported, want %zu:\n%s", fr->n, n, fr->r.out);
	for (size_t i = 0; i < fr->n; i++) {
		cr_assert_str_eq(fr->f[i].kind, "null");
		cr_assert_eq(fr->f[i].vector, VECTOR_PF);
		cr_assert_eq(fr->f[i].gva, GUARD, "gva 0x%llx", (unsigned long long)fr->f[i].gva);
		cr_assert_str_eq(fr->f[i].caught_by, caught_by);
		cr_assert(fr->f[i].recovered, "fault %zu not recovered", i);
	}
}

/* Assert the VMM counted n checkpoints. */
static void assert_checkpoints(const struct frun *fr, unsigned n)
{
	char want[16];

	snprintf(want, sizeof(want), "%u,", n);
	cr_assert(json_has(fr->r.out, "checkpoints", want), "want %u checkpoints:\n%s", n,
		  fr->r.out);
}

Test(fault_bench, loop_neither_faults_nor_exits)
{
	struct frun fr = bench_guest("--faults=guest", "loop", ITERS);

	assert_result(&fr, "loop");
	assert_null_faults(&fr, 0, "");
	assert_checkpoints(&fr, 0);
	proc_result_free(&fr.r);
}

Test(fault_bench, probe_of_mapped_memory_does_not_fault)
{
	struct frun fr = bench_guest("--faults=guest", "probe", ITERS);

	assert_result(&fr, "probe");
	assert_null_faults(&fr, 0, "");
	proc_result_free(&fr.r);
}

/* The bare gate catches the warm-up and the timed faults without the runtime; the one report is
 * the runtime's own, from the probe that checks its gate is back. */
Test(fault_bench, bare_faults_bypass_the_runtime)
{
	struct frun fr = bench_guest("--faults=guest", "bare", ITERS);

	assert_result(&fr, "bare");
	assert_null_faults(&fr, 1, "guest-idt");
	proc_result_free(&fr.r);
}

Test(fault_bench, recovered_faults_are_not_reported)
{
	struct frun fr = bench_guest("--faults=guest", "recovered", ITERS);

	assert_result(&fr, "recovered");
	assert_null_faults(&fr, 0, "");
	proc_result_free(&fr.r);
}

Test(fault_bench, heap_grow_maps_one_page_per_iteration)
{
	struct frun fr = bench_guest("--faults=guest", "heap-grow", ITERS);

	assert_result(&fr, "heap-grow");
	assert_null_faults(&fr, 0, "");
	proc_result_free(&fr.r);
}

Test(fault_bench, reported_faults_reach_the_vmm_once_each)
{
	struct frun fr = bench_guest("--faults=guest", "reported", ITERS);

	assert_result(&fr, "reported");
	assert_null_faults(&fr, ITERS + 1, "guest-idt");
	proc_result_free(&fr.r);
}

Test(fault_bench, vmm_faults_are_caught_and_unwound_by_the_vmm)
{
	struct frun fr = bench_guest("--faults=vmm", "vmm", ITERS);

	assert_result(&fr, "vmm");
	assert_null_faults(&fr, ITERS + 1, "vmm");
	proc_result_free(&fr.r);
}

Test(fault_bench, pio_is_one_checkpoint_exit_per_iteration)
{
	struct frun fr = bench_guest("--faults=guest", "pio", ITERS);

	assert_result(&fr, "pio");
	assert_null_faults(&fr, 0, "");
	assert_checkpoints(&fr, ITERS + 1);
	proc_result_free(&fr.r);
}

/* A user call neither faults nor exits, in either mode: PVM's SYSCALL fault (docs/platforms.md)
 * is finished by the runtime or the VMM and never reported. */
Test(fault_bench, user_call_is_neither_a_fault_nor_a_report)
{
	struct frun g = bench_guest("--faults=guest", "user-call", ITERS);
	struct frun v = bench_guest("--faults=vmm", "user-call", ITERS);

	assert_result(&g, "user-call");
	assert_null_faults(&g, 0, "");
	assert_checkpoints(&g, 0);
	assert_result(&v, "user-call");
	assert_null_faults(&v, 0, "");
	proc_result_free(&g.r);
	proc_result_free(&v.r);
}

/* Assert the guest refused its arguments with status 2 and said why (needle). */
static void assert_refused(const struct frun *fr, const char *needle)
{
	cr_assert_eq(fr->r.status, 2, "status %d\n%s", fr->r.status, fr->r.out);
	cr_assert(strstr(fr->r.out, needle), "no \"%s\" in:\n%s", needle, fr->r.out);
	cr_assert_null(strstr(fr->r.out, "fault-bench "), "a result line after a refusal");
}

Test(fault_bench, refuses_an_unknown_kind_or_the_wrong_mode)
{
	struct frun unknown = bench_guest("--faults=guest", "nosuch", ITERS);
	struct frun bare = bench_guest("--faults=vmm", "bare", ITERS);
	struct frun vmm = bench_guest("--faults=guest", "vmm", ITERS);

	assert_refused(&unknown, "usage: fault_bench.bin KIND N");
	assert_refused(&bare, "fault-bench: bare needs --faults=guest");
	assert_refused(&vmm, "fault-bench: vmm needs --faults=vmm");
	proc_result_free(&unknown.r);
	proc_result_free(&bare.r);
	proc_result_free(&vmm.r);
}

Test(fault_bench, heap_grow_stays_inside_its_span)
{
	struct frun fr = bench_guest("--faults=guest", "heap-grow", HEAP_SPAN);

	cr_assert_eq(fr.r.status, 1, "status %d\n%s", fr.r.status, fr.r.out);
	cr_assert(strstr(fr.r.out, "heap-grow runs at most 511 iterations"), "%s", fr.r.out);
	proc_result_free(&fr.r);
}
