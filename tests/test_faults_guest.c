/* Fault catching by the guest runtime (--faults=guest): each test guest in tests/guests touches
 * one guard, and ./vmm --json - must report exactly that fault (kind, vector, address, error
 * code, caught by the guest's IDT, recovered or not) with the right exit status. Needs KVM. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagewarden/layout.h"
#include "pagewarden/pf_error.h"
#include "fault_report.h"
#include "run_helper.h"
#include "status.h"


static void kvm_init(void)
{
	require_kvm();
}

TestSuite(faults_guest, .init = kvm_init);

/* Boot guest name under --faults=guest (the default, said explicitly). */
static struct frun run_guest(const char *name, const char *arg)
{
	return run_guest_opt("--faults=guest", name, arg);
}

/* A crash caught by the guest's IDT (fault_report.h). */
static const struct jfault *assert_crash(const struct frun *fr, const char *kind, unsigned vector,
					 uint64_t err)
{
	return assert_crash_by(fr, "guest-idt", kind, vector, err);
}

/* Assert the console line the runtime prints for an unexpected fault. */
static void assert_console(const struct frun *fr, const char *line)
{
	cr_assert(strstr(fr->r.out, line), "console lacks \"%s\":\n%s", line, fr->r.out);
}

Test(faults_guest, null_read)
{
	struct frun fr = run_guest("fault_null.bin", NULL);
	const struct jfault *f = assert_crash(&fr, "null", VECTOR_PF, 0);

	cr_assert_eq(f->gva, 0x8, "gva 0x%" PRIx64, f->gva);
	assert_console(&fr, "fault: null at 0x8 rip 0x");
	assert_console(&fr, " err 0x0 (-)\n");
	proc_result_free(&fr.r);
}

Test(faults_guest, stack_overflow)
{
	struct frun fr = run_guest("fault_stack.bin", NULL);
	const struct jfault *f = assert_crash(&fr, "stack-overflow", VECTOR_PF, PF_ERR_W);

	cr_assert(f->gva >= PW_STACK_GUARD_GPA && f->gva < PW_STACK_GPA,
		  "gva 0x%" PRIx64 " is not in the main stack's guard page", f->gva);
	assert_console(&fr, "fault: stack-overflow at 0x");
	proc_result_free(&fr.r);
}

Test(faults_guest, write_to_text)
{
	struct frun fr = run_guest("fault_wp.bin", NULL);
	const struct jfault *f = assert_crash(&fr, "write-protect", VECTOR_PF, PF_ERR_P | PF_ERR_W);

	cr_assert_eq(f->gva, console_target(&fr), "gva 0x%" PRIx64, f->gva);
	cr_assert(f->gva >= 0x100000, "main is not in the image: 0x%" PRIx64, f->gva);
	assert_console(&fr, " (P W)\n");
	proc_result_free(&fr.r);
}

Test(faults_guest, exec_data)
{
	struct frun fr = run_guest("fault_nx.bin", NULL);
	const struct jfault *f = assert_crash(&fr, "nx-exec", VECTOR_PF, PF_ERR_P | PF_ERR_ID);

	cr_assert_eq(f->gva, console_target(&fr), "gva 0x%" PRIx64, f->gva);
	cr_assert_eq(f->rip, f->gva, "a fetch fault is at the fetched address");
	assert_console(&fr, " (P I/D)\n");
	proc_result_free(&fr.r);
}

Test(faults_guest, high_guard)
{
	struct frun fr = run_guest("fault_high.bin", NULL);
	const struct jfault *f = assert_crash(&fr, "high-guard", VECTOR_PF, 0);

	cr_assert_eq(f->gva, PW_HIGH_GUARD_GPA + 0x10, "gva 0x%" PRIx64, f->gva);
	proc_result_free(&fr.r);
}

/* Whichever entry fault_rsvd picks (an address bit MAXPHYADDR, or PS in a PML4E when the CPU
 * has 52 address bits), a read through it is P|RSVD. */
Test(faults_guest, reserved_bit)
{
	skip_on_quirk(QUIRK_RSVD_WITHOUT_P);
	struct frun fr = run_guest("fault_rsvd.bin", NULL);
	const struct jfault *f =
	    assert_crash(&fr, "reserved-bit", VECTOR_PF, PF_ERR_P | PF_ERR_RSVD);

	cr_assert_eq(f->gva, console_target(&fr), "gva 0x%" PRIx64, f->gva);
	assert_console(&fr, " (P RSVD)\n");
	proc_result_free(&fr.r);
}

Test(faults_guest, reserved_bit_pml4_ps)
{
	skip_on_quirk(QUIRK_RSVD_WITHOUT_P);
	struct frun fr = run_guest("fault_rsvd.bin", "pml4-ps");
	const struct jfault *f =
	    assert_crash(&fr, "reserved-bit", VECTOR_PF, PF_ERR_P | PF_ERR_RSVD);

	cr_assert_eq(f->gva, 0x8000000000ull, "gva 0x%" PRIx64, f->gva);
	cr_assert_eq(console_target(&fr), f->gva);
	proc_result_free(&fr.r);
}

Test(faults_guest, unmapped_ram_page)
{
	struct frun fr = run_guest("fault_unmapped.bin", NULL);
	const struct jfault *f = assert_crash(&fr, "unmapped", VECTOR_PF, 0);

	cr_assert_eq(f->gva, console_target(&fr), "gva 0x%" PRIx64, f->gva);
	proc_result_free(&fr.r);
}

Test(faults_guest, non_canonical_is_gp)
{
	struct frun fr = run_guest("fault_gp.bin", NULL);
	const struct jfault *f = assert_crash(&fr, "exception", VECTOR_GP, 0);

	cr_assert_eq(f->gva, 0, "a #GP has no CR2, got gva 0x%" PRIx64, f->gva);
	assert_console(&fr, "fault: exception #GP (vector 13) rip 0x");
	proc_result_free(&fr.r);
}

Test(faults_guest, ud2)
{
	struct frun fr = run_guest("fault_ud.bin", NULL);
	const struct jfault *f = assert_crash(&fr, "exception", VECTOR_UD, 0);

	cr_assert_eq(f->gva, 0);
	assert_console(&fr, "fault: exception #UD (vector 6)");
	proc_result_free(&fr.r);
}

Test(faults_guest, divide_by_zero)
{
	struct frun fr = run_guest("fault_de.bin", NULL);

	assert_crash(&fr, "exception", VECTOR_DE, 0);
	assert_console(&fr, "fault: exception #DE (vector 0)");
	proc_result_free(&fr.r);
}

/* The handler faults (the boot info it reads is unmapped): reported once, not looped on. */
Test(faults_guest, fault_inside_the_handler)
{
	struct frun fr = run_guest("fault_nested.bin", NULL);
	const struct jfault *f = assert_crash(&fr, "unmapped", VECTOR_PF, 0);

	cr_assert(f->gva >= PW_BOOT_INFO_GPA && f->gva < PW_BOOT_INFO_GPA + PW_BOOT_INFO_SIZE,
		  "the inner fault is not in the boot info page: 0x%" PRIx64, f->gva);
	assert_console(&fr, "fault: fault inside the fault handler\n");
	proc_result_free(&fr.r);
}

/* An expected overflow of the main stack, then one with the #PF stack's top page gone: #DF. */
Test(faults_guest, stack_then_pf_stack_is_a_double_fault)
{
	struct frun fr = run_guest("stack_ist.bin", NULL);

	cr_assert_eq(fr.r.status, PW_STATUS_CRASH, "status %d\n%s\n%s", fr.r.status, fr.r.out,
		     fr.r.err);
	cr_assert_eq(fr.n, 2, "%zu faults:\n%s", fr.n, fr.r.out);
	cr_assert_str_eq(fr.f[0].kind, "stack-overflow");
	cr_assert(fr.f[0].recovered && fr.f[0].gva >= PW_STACK_GUARD_GPA &&
		  fr.f[0].gva < PW_STACK_GPA);
	cr_assert_str_eq(fr.f[1].kind, "exception");
	cr_assert_eq(fr.f[1].vector, VECTOR_DF);
	cr_assert_str_eq(fr.f[1].caught_by, "guest-idt");
	cr_assert(!fr.f[1].recovered);
	assert_console(&fr, "fault: double fault");
	proc_result_free(&fr.r);
}

/* Recursion on the #PF IST stack into its guard: the #PF lands on the same stack's top, and
 * the report still comes out, within the time limit. */
Test(faults_guest, pf_stack_overflow)
{
	struct frun fr = run_guest("stack_pf.bin", NULL);
	const struct jfault *f = assert_crash(&fr, "stack-overflow", VECTOR_PF, PF_ERR_W);

	cr_assert(f->gva >= PW_PF_STACK_GUARD_GPA && f->gva < PW_PF_STACK_GPA,
		  "gva 0x%" PRIx64 " is not in the #PF stack's guard", f->gva);
	proc_result_free(&fr.r);
}

/* 68 pages grown with reports, 32 more without: exactly 68 heap-grow reports, each at the page
 * the guest touched first, all recovered; the guest exits 0. */
Test(faults_guest, heap_grows_on_demand)
{
	struct frun fr = run_guest("heap.bin", NULL);
	const char *hs = strstr(fr.r.out, "heap_start 0x");
	uint64_t start;

	cr_assert_eq(fr.r.status, 0, "status %d\n%s\n%s", fr.r.status, fr.r.out, fr.r.err);
	cr_assert_not_null(hs, "%s", fr.r.out);
	start = strtoull(hs + strlen("heap_start "), NULL, 16);
	assert_console(&fr, "grew 100 reported 68 ");
	cr_assert_eq(fr.n, 68, "%zu heap faults reported, want 68", fr.n);
	for (size_t i = 0; i < fr.n; i++) {
		uint64_t want = i < 64 ? start + i * PW_PAGE_SIZE : start + (i - 63) * 0x200000;

		cr_assert_str_eq(fr.f[i].kind, "heap-grow", "fault %zu", i);
		cr_assert_eq(fr.f[i].gva, want, "fault %zu at 0x%" PRIx64 ", want 0x%" PRIx64, i,
			     fr.f[i].gva, want);
		cr_assert_eq(fr.f[i].error_code, PF_ERR_W, "fault %zu", i);
		cr_assert(fr.f[i].recovered, "fault %zu", i);
		cr_assert_str_eq(fr.f[i].caught_by, "guest-idt");
	}
	proc_result_free(&fr.r);
}

/* Heap growth with the page-table pool used up: a clear line and a crash, not a fault loop. */
Test(faults_guest, heap_growth_with_the_pool_exhausted)
{
	struct frun fr = run_guest("heap_exhausted.bin", NULL);
	const struct jfault *f = assert_crash(&fr, "unmapped", VECTOR_PF, PF_ERR_W);

	cr_assert_eq(f->gva, console_target(&fr), "gva 0x%" PRIx64, f->gva);
	assert_console(&fr, "\nheap: page-table pool exhausted\nfault: unmapped at 0x");
	proc_result_free(&fr.r);
}

/* Every guard probed with pw_expect_fault: the guest checks kinds and codes itself, with reports
 * on and again with them off; here, that it says so and that each expected fault of the first
 * pass (reported unclassified by traps.S, classified by the VMM) and the heap page grown inside
 * a probe (reported by the C dispatcher) was reported as recovered with the right kind, in
 * order, and none of the second pass. */
Test(faults_guest, expected_faults_on_every_guard)
{
	struct frun fr = run_guest("expect.bin", NULL);
	static const char *const kinds[] = {
	    "null",	     "null",	      "stack-overflow", "stack-overflow",
	    "write-protect", "write-protect", "nx-exec",	"null",
	    "high-guard",    "unmapped",      "exception",	"exception",
	    "exception",     "null",	      "heap-grow",	"null",
	};

	cr_assert_eq(fr.r.status, 0, "status %d\n%s\n%s", fr.r.status, fr.r.out, fr.r.err);
	assert_console(&fr, "\n0 mismatches\n");
	cr_assert(!strstr(fr.r.out, "MISMATCH"), "%s", fr.r.out);
	cr_assert_eq(fr.n, sizeof(kinds) / sizeof(kinds[0]), "%zu faults:\n%s", fr.n, fr.r.out);
	for (size_t i = 0; i < fr.n; i++) {
		cr_assert_str_eq(fr.f[i].kind, kinds[i], "fault %zu", i);
		cr_assert(fr.f[i].recovered, "fault %zu not recovered", i);
		cr_assert_str_eq(fr.f[i].caught_by, "guest-idt");
	}
	proc_result_free(&fr.r);
}

/* The cost guest runs its loops (reports off, then on) and exits 0. */
Test(faults_guest, fault_cost_runs)
{
	struct frun fr = run_guest("fault_cost.bin", NULL);

	cr_assert_eq(fr.r.status, 0, "status %d\n%s\n%s", fr.r.status, fr.r.out, fr.r.err);
	assert_console(&fr, "fault-cost expected ");
	assert_console(&fr, "fault-cost heap-grow ");
	assert_console(&fr, "fault-cost expected-reported ");
	proc_result_free(&fr.r);
}
