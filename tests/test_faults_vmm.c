/* Fault catching by the VMM (--faults=vmm): the same test guests as test_faults_guest.c, run
 * with the VMM's IDT of exit stubs, must be reported with the same kind, vector, address and
 * error code, caught by "vmm"; heap growth and pw_expect_fault recover as under the runtime.
 * Needs KVM. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <string.h>

#include "fault_report.h"
#include "pagewarden/layout.h"
#include "pagewarden/pf_error.h"
#include "run_helper.h"
#include "status.h"


static void kvm_init(void)
{
	require_kvm();
}

TestSuite(faults_vmm, .init = kvm_init);

static struct frun run_vmm(const char *name, const char *arg)
{
	return run_guest_opt("--faults=vmm", name, arg);
}

/* A crash caught by the VMM's stubs: the one-line cause names it on stderr. */
static const struct jfault *crash(const struct frun *fr, const char *kind, unsigned vector,
				  uint64_t err)
{
	const struct jfault *f = assert_crash_by(fr, "vmm", kind, vector, err);

	cr_assert(strstr(fr->r.err, "vmm: guest crashed: "), "%s", fr->r.err);
	cr_assert(strstr(fr->r.err, "caught by vmm, not recovered"), "%s", fr->r.err);
	return f;
}

Test(faults_vmm, null_read)
{
	struct frun fr = run_vmm("fault_null.bin", NULL);
	const struct jfault *f = crash(&fr, "null", VECTOR_PF, 0);

	cr_assert_eq(f->gva, 0x8, "gva 0x%" PRIx64, f->gva);
	cr_assert(strstr(fr.r.err, "null #PF at 0x8 rip 0x"), "%s", fr.r.err);
	cr_assert(strstr(fr.r.err, "err 0x0 (-)"), "%s", fr.r.err);
	proc_result_free(&fr.r);
}

Test(faults_vmm, stack_overflow)
{
	struct frun fr = run_vmm("fault_stack.bin", NULL);
	const struct jfault *f = crash(&fr, "stack-overflow", VECTOR_PF, PF_ERR_W);

	cr_assert(f->gva >= PW_STACK_GUARD_GPA && f->gva < PW_STACK_GPA, "gva 0x%" PRIx64, f->gva);
	proc_result_free(&fr.r);
}

Test(faults_vmm, write_to_text)
{
	struct frun fr = run_vmm("fault_wp.bin", NULL);
	const struct jfault *f = crash(&fr, "write-protect", VECTOR_PF, PF_ERR_P | PF_ERR_W);

	cr_assert_eq(f->gva, console_target(&fr), "gva 0x%" PRIx64, f->gva);
	cr_assert_eq(f->gpa, f->gva, "the VMM's walk gives the identity: 0x%" PRIx64, f->gpa);
	cr_assert(strstr(fr.r.err, "(P W)"), "%s", fr.r.err);
	proc_result_free(&fr.r);
}

Test(faults_vmm, exec_data)
{
	struct frun fr = run_vmm("fault_nx.bin", NULL);
	const struct jfault *f = crash(&fr, "nx-exec", VECTOR_PF, PF_ERR_P | PF_ERR_ID);

	cr_assert_eq(f->gva, console_target(&fr), "gva 0x%" PRIx64, f->gva);
	cr_assert_eq(f->rip, f->gva, "a fetch fault is at the fetched address");
	proc_result_free(&fr.r);
}

Test(faults_vmm, high_guard)
{
	struct frun fr = run_vmm("fault_high.bin", NULL);
	const struct jfault *f = crash(&fr, "high-guard", VECTOR_PF, 0);

	cr_assert_eq(f->gva, PW_HIGH_GUARD_GPA + 0x10, "gva 0x%" PRIx64, f->gva);
	proc_result_free(&fr.r);
}

Test(faults_vmm, reserved_bit)
{
	skip_on_quirk(QUIRK_RSVD_WITHOUT_P);
	struct frun fr = run_vmm("fault_rsvd.bin", NULL);
	const struct jfault *f = crash(&fr, "reserved-bit", VECTOR_PF, PF_ERR_P | PF_ERR_RSVD);

	cr_assert_eq(f->gva, console_target(&fr), "gva 0x%" PRIx64, f->gva);
	proc_result_free(&fr.r);
}

Test(faults_vmm, unmapped_ram_page)
{
	struct frun fr = run_vmm("fault_unmapped.bin", NULL);
	const struct jfault *f = crash(&fr, "unmapped", VECTOR_PF, 0);

	cr_assert_eq(f->gva, console_target(&fr), "gva 0x%" PRIx64, f->gva);
	proc_result_free(&fr.r);
}

Test(faults_vmm, non_canonical_is_gp)
{
	struct frun fr = run_vmm("fault_gp.bin", NULL);
	const struct jfault *f = crash(&fr, "exception", VECTOR_GP, 0);

	cr_assert_eq(f->gva, 0, "a #GP has no CR2, got gva 0x%" PRIx64, f->gva);
	cr_assert(strstr(fr.r.err, "exception #GP (vector 13)"), "%s", fr.r.err);
	proc_result_free(&fr.r);
}

Test(faults_vmm, ud2)
{
	struct frun fr = run_vmm("fault_ud.bin", NULL);

	crash(&fr, "exception", VECTOR_UD, 0);
	proc_result_free(&fr.r);
}

Test(faults_vmm, divide_by_zero)
{
	struct frun fr = run_vmm("fault_de.bin", NULL);

	crash(&fr, "exception", VECTOR_DE, 0);
	proc_result_free(&fr.r);
}

/* Every first touch of a heap page reaches the VMM (the guest's report switch does not apply
 * to faults it never sees): 100 faults, each recovered at the page touched, then exit 0. */
Test(faults_vmm, heap_grows_on_demand)
{
	struct frun fr = run_vmm("heap.bin", NULL);
	const char *hs = strstr(fr.r.out, "heap_start 0x");
	uint64_t start;

	cr_assert_eq(fr.r.status, 0, "status %d\n%s\n%s", fr.r.status, fr.r.out, fr.r.err);
	cr_assert_not_null(hs, "%s", fr.r.out);
	start = strtoull(hs + strlen("heap_start "), NULL, 16);
	cr_assert_eq(fr.n, 100, "%zu heap faults, want 100", fr.n);
	for (size_t i = 0; i < fr.n; i++) {
		cr_assert_str_eq(fr.f[i].kind, "heap-grow", "fault %zu", i);
		cr_assert_eq(fr.f[i].error_code, PF_ERR_W, "fault %zu", i);
		cr_assert(fr.f[i].recovered, "fault %zu", i);
		cr_assert_str_eq(fr.f[i].caught_by, "vmm");
		cr_assert_eq(fr.f[i].gpa, fr.f[i].gva, "fault %zu: mapped identity", i);
	}
	cr_assert_eq(fr.f[0].gva, start);
	cr_assert_eq(fr.f[63].gva, start + 63 * PW_PAGE_SIZE);
	proc_result_free(&fr.r);
}

/* The same expected-fault guest as under the runtime: same kinds in the same order, all
 * recovered by the VMM through struct pw_recovery. */
Test(faults_vmm, expected_faults_on_every_guard)
{
	struct frun fr = run_vmm("expect.bin", NULL);
	static const char *const kinds[] = {
	    "null",	     "null",	      "stack-overflow", "stack-overflow",
	    "write-protect", "write-protect", "nx-exec",	"null",
	    "high-guard",    "unmapped",      "exception",	"exception",
	    "exception",     "null",	      "heap-grow",	"null",
	};
	const size_t nkinds = sizeof(kinds) / sizeof(kinds[0]);

	cr_assert_eq(fr.r.status, 0, "status %d\n%s\n%s", fr.r.status, fr.r.out, fr.r.err);
	cr_assert(strstr(fr.r.out, "\n0 mismatches\n"), "%s", fr.r.out);
	/* the guest's two passes; pw_fault_reports does not apply: every fault is a VMM exit */
	cr_assert_eq(fr.n, 2 * nkinds, "%zu faults:\n%s", fr.n, fr.r.out);
	for (size_t i = 0; i < fr.n; i++) {
		cr_assert_str_eq(fr.f[i].kind, kinds[i % nkinds], "fault %zu", i);
		cr_assert(fr.f[i].recovered, "fault %zu not recovered", i);
		cr_assert_str_eq(fr.f[i].caught_by, "vmm");
	}
	proc_result_free(&fr.r);
}

/* The demo tour runs under both modes with the same kinds and addresses. */
Test(faults_vmm, demo_tour_matches_guest_mode)
{
	struct frun g = {.r = vmm_run("-q", "--json", "-", repo_file("guest.bin"), NULL)};
	struct frun v = {
	    .r = vmm_run("-q", "--faults=vmm", "--json", "-", repo_file("guest.bin"), NULL)};

	cr_assert_eq(g.r.status, 0, "%s\n%s", g.r.out, g.r.err);
	cr_assert_eq(v.r.status, 0, "%s\n%s", v.r.out, v.r.err);
	cr_assert(strstr(v.r.out, "  6 of 6 guards caught\n"), "%s", v.r.out);
	cr_assert(strstr(g.r.out, "  6 of 6 guards caught\n"), "%s", g.r.out);
	for (const struct frun *fr = &g; fr; fr = fr == &g ? &v : NULL) {
		const char *u = strstr(fr->r.out, "user-mode faults caught\n");
		unsigned caught = 0, tried = 0;

		cr_assert(strstr(fr->r.out, "  user_add(41) at CPL 3 returned 42\n"), "%s", fr->r.out);
		cr_assert_not_null(u, "%s", fr->r.out);
		while (u[-1] != '\n')
			u--;
		cr_assert_eq(sscanf(u, " %u of %u", &caught, &tried), 2);
		cr_assert(tried >= 1 && caught == tried, "%u of %u user-mode faults caught", caught,
			  tried);
		cr_assert(strstr(fr->r.out, "user read of kernel    user-supervisor #PF"), "%s",
			  fr->r.out);
	}
	cr_assert(strstr(v.r.out, "caught by vmm") == NULL, "notes go to stderr");
	cr_assert(strstr(v.r.out, "\"caught_by\": \"vmm\""), "%s", v.r.out);
	cr_assert(strstr(g.r.out, "\"caught_by\": \"guest-idt\""), "%s", g.r.out);
	proc_result_free(&g.r);
	proc_result_free(&v.r);
}

/* Without -q the crash report shows the faulting instruction, not the stub's `out`. */
Test(faults_vmm, crash_report_shows_the_faulting_code)
{
	struct proc_result r = vmm_run("--faults=vmm", guest("fault_wp.bin"), NULL);

	cr_assert_eq(r.status, PW_STATUS_CRASH, "%s", r.err);
	cr_assert(strstr(r.err, "code at RIP: "), "%s", r.err);
	cr_assert(!strstr(r.err, "code at RIP: ef"), "the stub's out, not the fault:\n%s", r.err);
	cr_assert(strstr(r.err, "page walk of CR2 0x"), "%s", r.err);
	proc_result_free(&r);
}
