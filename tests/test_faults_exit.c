/* Faults only VM exits show (caught_by "exit"): ept-unbacked, ept-readonly (--protect-pt) and
 * triple faults with their diagnosis, under both fault modes. The guest is stopped (status 75).
 * Needs KVM. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <string.h>

#include "fault_report.h"
#include "pagewarden/layout.h"
#include "run_helper.h"
#include "status.h"

static void kvm_init(void)
{
	require_kvm();
}

TestSuite(faults_exit, .init = kvm_init);

/* The one exit fault of run fr, checked for kind and caught_by "exit", not recovered. */
static const struct jfault *exit_fault(const struct frun *fr, const char *kind)
{
	const struct jfault *f = &fr->f[fr->n - 1];

	cr_assert_eq(fr->r.status, PW_STATUS_CRASH, "status %d\n%s\n%s", fr->r.status, fr->r.out,
		     fr->r.err);
	cr_assert_geq(fr->n, 1, "no fault reported:\n%s", fr->r.out);
	cr_assert_str_eq(f->kind, kind);
	cr_assert_str_eq(f->caught_by, "exit");
	cr_assert(!f->recovered);
	return f;
}

/* A read past RAM: GPA, direction and the RIP of the reading instruction. */
static void unbacked(const char *mode)
{
	struct frun fr = run_guest_opt(mode, "mmio.bin", NULL);
	const struct jfault *f = exit_fault(&fr, "ept-unbacked");

	cr_assert_eq(f->gpa, 0x4001000, "gpa 0x%" PRIx64, f->gpa);
	cr_assert_str_eq(f->access, "read");
	cr_assert(f->rip >= 0x100000 && f->rip < 0x200000, "rip 0x%" PRIx64, f->rip);
	cr_assert(strstr(fr.r.err, "at RIP 0x"), "%s", fr.r.err);
	proc_result_free(&fr.r);
}

Test(faults_exit, unbacked_read_guest_mode)
{
	unbacked("--faults=guest");
}

Test(faults_exit, unbacked_read_vmm_mode)
{
	unbacked("--faults=vmm");
}

/* A write to the guest's own PML4 under --protect-pt. */
Test(faults_exit, page_table_write_is_readonly)
{
	skip_on_quirk(QUIRK_WALK_WRITES_TABLES);
	struct frun fr = run_guest_opt("--protect-pt", "pt_write.bin", NULL);
	const struct jfault *f = exit_fault(&fr, "ept-readonly");

	cr_assert_eq(f->gpa, console_target(&fr), "gpa 0x%" PRIx64, f->gpa);
	cr_assert_str_eq(f->access, "write");
	cr_assert(!strstr(fr.r.out, "wrote the PML4"), "%s", fr.r.out);
	proc_result_free(&fr.r);
}

/* An empty IDT: the diagnosis says so. */
static void no_idt(const char *mode)
{
	struct frun fr = run_guest_opt(mode, "triple.bin", NULL);
	const struct jfault *f = exit_fault(&fr, "triple-fault");

	cr_assert(strncmp(f->diagnosis, "no IDT", 6) == 0, "diagnosis \"%s\"", f->diagnosis);
	cr_assert(strstr(fr.r.err, ": no IDT"), "%s", fr.r.err);
	proc_result_free(&fr.r);
}

Test(faults_exit, triple_fault_no_idt_guest_mode)
{
	no_idt("--faults=guest");
}

Test(faults_exit, triple_fault_no_idt_vmm_mode)
{
	no_idt("--faults=vmm");
}

/* A stack overflow with #PF and #DF kept on the overflowed stack. */
static void stack_no_ist(const char *mode)
{
	struct frun fr = run_guest_opt(mode, "triple_stack.bin", NULL);
	const struct jfault *f = exit_fault(&fr, "triple-fault");

	cr_assert(strncmp(f->diagnosis, "stack overflow with no IST stack", 32) == 0,
		  "diagnosis \"%s\"", f->diagnosis);
	cr_assert(f->gva >= PW_STACK_GUARD_GPA && f->gva < PW_STACK_GPA, "cr2 0x%" PRIx64, f->gva);
	proc_result_free(&fr.r);
}

Test(faults_exit, triple_fault_stack_overflow_guest_mode)
{
	stack_no_ist("--faults=guest");
}

Test(faults_exit, triple_fault_stack_overflow_vmm_mode)
{
	stack_no_ist("--faults=vmm");
}

/* The "faults" array of a --json - report on stdout (fails the test if there is none). */
static char *faults_json(const struct proc_result *r)
{
	const char *p = strstr(r->out, "\"faults\": [");
	const char *end = p ? strchr(p, ']') : NULL;

	cr_assert(p && end, "no faults array:\n%s\n%s", r->out, r->err);
	return strndup(p, (size_t)(end - p + 1));
}

/* --replay-triple-fault finds the registers by replaying the run, as ./vmm does where KVM resets
 * the vCPU at a shutdown (AMD): the triple fault it reports (RIP, RSP, CR2, diagnosis) must be
 * the one the plain run reports, and where KVM kept the registers the two must agree. */
static void replay_matches(const char *mode, const char *name)
{
	struct proc_result plain = vmm_run("-q", "--json", "-", mode, guest(name), NULL);
	struct proc_result replay =
	    vmm_run("--json", "-", "--replay-triple-fault", mode, guest(name), NULL);
	char *a = faults_json(&plain), *b = faults_json(&replay);

	cr_assert_eq(plain.status, PW_STATUS_CRASH, "status %d: %s", plain.status, plain.err);
	cr_assert_eq(replay.status, PW_STATUS_CRASH, "status %d: %s", replay.status, replay.err);
	cr_assert(strstr(replay.err, "\n  registers replayed"), "%s", replay.err);
	cr_assert(!strstr(replay.err, "DIFFER"), "%s", replay.err);
	cr_assert(strstr(a, "\"kind\": \"triple-fault\""), "%s", a);
	cr_assert_str_eq(a, b);
	free(a);
	free(b);
	proc_result_free(&plain);
	proc_result_free(&replay);
}

Test(faults_exit, triple_fault_replay_matches_the_run)
{
	replay_matches("--faults=guest", "triple.bin");
	replay_matches("--faults=vmm", "triple.bin");
	replay_matches("--faults=guest", "triple_stack.bin");
	replay_matches("--faults=vmm", "triple_stack.bin");
}
