/* User mode (pagewarden/user.h) in both fault modes: pw_user_call's round trip, the faults the
 * two rings give (user-supervisor, smep, smap, write-protect, null, stack-overflow on the user
 * stack's guard), each with its exact error code and CR2, recovered under pw_expect_fault and
 * as a crash in the text and JSON reports. Guest: tests/guests/user_mode.c. Needs KVM. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <string.h>

#include "pagewarden/abi.h"
#include "pagewarden/layout.h"
#include "pagewarden/pf_error.h"
#include "fault_report.h"
#include "run_helper.h"
#include "status.h"

static void kvm_init(void)
{
	require_kvm();
}

TestSuite(user_mode, .init = kvm_init);

static const char *const modes[] = {"--faults=guest", "--faults=vmm"};
static const char *const catcher[] = {"guest-idt", "vmm"};

/* True if the guest's first line says the CPU has feature ("smep" or "smap") on. */
static bool has(const struct frun *fr, const char *feature)
{
	char want[16];

	snprintf(want, sizeof(want), "%s=1", feature);
	return strstr(fr->r.out, want) != NULL;
}

/* The fault of kind in fr's report, or NULL. */
static const struct jfault *find_kind(const struct frun *fr, const char *kind)
{
	for (size_t i = 0; i < fr->n; i++)
		if (strcmp(fr->f[i].kind, kind) == 0)
			return &fr->f[i];
	return NULL;
}

Test(user_mode, every_case_recovers_in_both_modes)
{
	for (unsigned m = 0; m < 2; m++) {
		struct frun fr = run_guest_opt(modes[m], "user_mode.elf", NULL);
		const struct jfault *f;

		cr_assert_eq(fr.r.status, 0, "%s: status %d\n%s\n%s", modes[m], fr.r.status,
			     fr.r.out, fr.r.err);
		cr_assert(strstr(fr.r.out, "user call add_one(41) = 42 ok"), "%s", fr.r.out);
		cr_assert(strstr(fr.r.out, "user read-kernel kind=user-supervisor err=0x5 cr2=0x"));
		cr_assert(strstr(fr.r.out, "user write-kernel kind=user-supervisor err=0x7 cr2=0x"));
		cr_assert(strstr(fr.r.out, "user write-user-text kind=write-protect err=0x7 cr2=0x"));
		cr_assert(strstr(fr.r.out, "user null kind=null err=0x4 cr2=0x8 ok"));
		cr_assert_null(strstr(fr.r.out, "MISMATCH"), "%s", fr.r.out);
		cr_assert(strstr(fr.r.out, "user done, 0 mismatches"));
		cr_assert(strstr(fr.r.out, "user flags after the fault: AC|NT = 0x0 ok"),
			  "a CPL-3 fault handed user flags to ring 0:\n%s", fr.r.out);
		/* heap growth from CPL 3 returns there (in vmm mode through the stubs' iretq
		 * tail), and the retry is refused: the heap is supervisor-only */
		cr_assert(strstr(fr.r.out, "user read-heap kind=user-supervisor err=0x5"), "%s",
			  fr.r.out);
		cr_assert_not_null(find_kind(&fr, "heap-grow"), "%s: no heap growth\n%s", modes[m],
				   fr.r.out);
		/* the VMM's report names the same kinds, all recovered, caught by the mode's catcher */
		f = find_kind(&fr, "user-supervisor");
		cr_assert_not_null(f, "%s: no user-supervisor fault in the report\n%s", modes[m],
				   fr.r.out);
		cr_assert_eq(f->error_code, PF_ERR_P | PF_ERR_U);
		cr_assert(f->recovered);
		cr_assert_str_eq(f->caught_by, catcher[m]);
		if (has(&fr, "smep")) {
			f = find_kind(&fr, "smep");
			cr_assert_not_null(f, "%s: no smep fault\n%s", modes[m], fr.r.out);
			cr_assert_eq(f->error_code, PF_ERR_P | PF_ERR_ID);
			cr_assert_eq(f->rip, f->gva, "a fetch faults at the fetched address");
			cr_assert(strstr(fr.r.out, "user smep kind=smep err=0x11"));
		}
		if (has(&fr, "smap")) {
			f = find_kind(&fr, "smap");
			cr_assert_not_null(f, "%s: no smap fault\n%s", modes[m], fr.r.out);
			cr_assert_eq(f->error_code, PF_ERR_P);
			cr_assert(strstr(fr.r.out, "user smap-ac kind=none"), "AC=1 lifts SMAP");
			/* the same P|W fault is smap with AC = 0 and write-protect with AC = 1 */
			cr_assert(strstr(fr.r.out, "user write-user-text-ac kind=write-protect err=0x3"),
				  "%s", fr.r.out);
			cr_assert(strstr(fr.r.out, "user write-user-text kind=smap err=0x3"), "%s",
				  fr.r.out);
		}
		proc_result_free(&fr.r);
	}
}

/* Crash the user_mode guest with how, in both modes: one fault of kind/err at the CR2 it
 * printed (within span bytes above it: 1 = exactly), in the JSON and in the text line. */
static void crash_case(const char *how, const char *kind, uint64_t err, uint64_t span)
{
	for (unsigned m = 0; m < 2; m++) {
		struct frun fr = run_guest_opt(modes[m], "user_mode.elf", how);
		char line[96];
		const struct jfault *f;

		if (strcmp(kind, "smep") == 0 || strcmp(kind, "smap") == 0)
			if (!has(&fr, kind)) {
				proc_result_free(&fr.r);
				cr_skip_test("this CPU has no %s", kind);
			}
		f = assert_crash_by(&fr, catcher[m], kind, VECTOR_PF, err);
		cr_assert(f->gva - console_target(&fr) < span, "%s %s: gva 0x%" PRIx64 ", want 0x%" PRIx64,
			  modes[m], how, f->gva, console_target(&fr));
		snprintf(line, sizeof(line), "%s #PF at 0x%" PRIx64, kind, f->gva);
		if (m == 1)
			cr_assert(strstr(fr.r.err, line), "no \"%s\" in:\n%s", line, fr.r.err);
		else {
			snprintf(line, sizeof(line), "fault: %s at 0x%" PRIx64, kind, f->gva);
			cr_assert(strstr(fr.r.out, line), "no \"%s\" in:\n%s", line, fr.r.out);
		}
		proc_result_free(&fr.r);
	}
}

Test(user_mode, user_read_of_kernel_memory)
{
	crash_case("user-read", "user-supervisor", PF_ERR_P | PF_ERR_U, 1);
}

Test(user_mode, user_write_to_user_text)
{
	crash_case("user-write-text", "write-protect", PF_ERR_P | PF_ERR_W | PF_ERR_U, 1);
}

Test(user_mode, user_stack_overflow_hits_its_guard)
{
	crash_case("user-stack", "stack-overflow", PF_ERR_W | PF_ERR_U, PW_PAGE_SIZE); /* in the guard page */
}

Test(user_mode, smep)
{
	crash_case("smep", "smep", PF_ERR_P | PF_ERR_ID, 1);
}

Test(user_mode, smap)
{
	crash_case("smap", "smap", PF_ERR_P, 1);
}

/* --protect-pt makes the tables read-only, so user mode cannot mark pages user-accessible: the
 * runtime says so in a panic, and the demo skips its user-mode stop. */
Test(user_mode, protect_pt_is_refused_clearly)
{
	struct proc_result r, d;

	skip_on_quirk(QUIRK_WALK_WRITES_TABLES);
	r = vmm_run("-q", "--protect-pt", guest("user_mode.elf"), NULL);
	d = vmm_run("-q", "--protect-pt", "--faults=vmm", repo_file("guest.bin"), NULL);

	cr_assert_eq(r.status, PW_STATUS_CRASH, "status %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "guest panic at guest/lib/user.c:") &&
		      strstr(r.err, "which --protect-pt puts in a read-only memslot"),
		  "%s", r.err);
	cr_assert_eq(d.status, 0, "the demo under --protect-pt: status %d\n%s", d.status, d.err);
	cr_assert(strstr(d.out, "  skipped: --protect-pt makes the page tables read-only"), "%s",
		  d.out);
	proc_result_free(&r);
	proc_result_free(&d);
}
