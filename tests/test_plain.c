/* Guests written the plain way (tests/plain/null_plain.c) behave as written: built as users'
 * guests are, by gcc and by clang, every null access is the access its source says, caught by
 * the null guard under both fault modes, and a check after a dereference still runs. The
 * disassembly has no ud2; the same source built without the SDK's null-pointer flags has, which
 * shows what the flags prevent. And `make guest` turns warnings into warnings, not errors. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "fault_report.h"
#include "pagewarden/pf_error.h"

static const char *const compilers[] = {"gcc", "clang"};
static const char *const modes[] = {"--faults=guest", "--faults=vmm"};
#define NCOMPILERS (sizeof(compilers) / sizeof(compilers[0]))
#define NMODES	   (sizeof(modes) / sizeof(modes[0]))

/* The plain guest as compiler cc built it, relative to the test guests' directory. */
static const char *plain(const char *cc)
{
	static char name[64];

	snprintf(name, sizeof(name), "../plain/%s/null_plain.bin", cc);
	return name;
}

/* The fault catcher's name in the report under mode m. */
static const char *catcher(size_t m)
{
	return m == 0 ? "guest-idt" : "vmm";
}

/* Run case what of the plain guest (compiler c, mode m) and check it crashed on the null guard
 * with error code err at gva. */
static void expect_null_crash(size_t c, size_t m, const char *what, uint64_t err, uint64_t gva)
{
	struct frun fr = run_guest_opt(modes[m], plain(compilers[c]), what);
	const struct jfault *f = assert_crash_by(&fr, catcher(m), "null", VECTOR_PF, err);

	cr_expect_eq(f->gva, gva, "%s %s %s: gva 0x%" PRIx64, compilers[c], modes[m], what, f->gva);
	proc_result_free(&fr.r);
}

Test(plain, null_read_is_the_read_written)
{
	require_kvm();
	for (size_t c = 0; c < NCOMPILERS; c++)
		for (size_t m = 0; m < NMODES; m++)
			expect_null_crash(c, m, "read", 0, 0x10);
}

Test(plain, null_write_is_a_write)
{
	require_kvm();
	for (size_t c = 0; c < NCOMPILERS; c++)
		for (size_t m = 0; m < NMODES; m++)
			expect_null_crash(c, m, "write", PF_ERR_W, 0);
}

Test(plain, null_write_in_expect_fault_is_caught_and_recovered)
{
	require_kvm();
	for (size_t c = 0; c < NCOMPILERS; c++)
		for (size_t m = 0; m < NMODES; m++) {
			struct proc_result r =
			    vmm_run("-q", modes[m], guest(plain(compilers[c])), "probe", NULL);

			cr_expect_eq(r.status, 0, "%s %s: status %d\n%s%s", compilers[c], modes[m],
				     r.status, r.out, r.err);
			cr_expect_str_eq(r.out, "caught null at 0 err 0x2\n", "%s %s", compilers[c],
					 modes[m]);
			proc_result_free(&r);
		}
}

Test(plain, null_write_stores_the_value_written)
{
	require_kvm();
	for (size_t c = 0; c < NCOMPILERS; c++) {
		struct proc_result r =
		    vmm_run("-q", guest(plain(compilers[c])), "write-mapped", NULL);

		cr_expect_eq(r.status, 0, "%s: status %d\n%s%s", compilers[c], r.status, r.out,
			     r.err);
		cr_expect_str_eq(r.out, "page 0 holds 1\n", "%s", compilers[c]);
		proc_result_free(&r);
	}
}

Test(plain, check_after_a_dereference_still_runs)
{
	require_kvm();
	for (size_t c = 0; c < NCOMPILERS; c++) {
		struct proc_result r = vmm_run("-q", guest(plain(compilers[c])), "check", NULL);

		cr_expect_eq(r.status, 3, "%s: status %d\n%s%s", compilers[c], r.status, r.out,
			     r.err);
		cr_expect_str_eq(r.out, "p is null, and *p was 7\n", "%s", compilers[c]);
		proc_result_free(&r);
	}
}

/* How many ud2 instructions objdump finds in the object dir/null_plain.o of the build. */
static int ud2_count(const char *dir)
{
	char obj[4200];
	const char *argv[] = {"/usr/bin/objdump", "-d", "--no-show-raw-insn", obj, NULL};
	struct proc_result r;
	int n = 0;

	snprintf(obj, sizeof(obj), "%s/tests/plain/%s/null_plain.o", pw_build(), dir);
	cr_assert_eq(proc_run(argv, VMM_TEST_LIMIT, &r), 0, "objdump: %s", r.err);
	cr_assert_eq(r.status, 0, "objdump %s: %s", obj, r.err);
	for (const char *p = r.out; (p = strstr(p, "ud2")); p++)
		n++;
	proc_result_free(&r);
	return n;
}

Test(plain, no_ud2_after_any_access)
{
	for (size_t c = 0; c < NCOMPILERS; c++)
		cr_expect_eq(ud2_count(compilers[c]), 0, "%s put ud2 in the plain guest",
			     compilers[c]);
	/* the control: the flags are what keeps it out */
	cr_expect_gt(ud2_count("no-null-flags"), 0,
		     "gcc without -fno-delete-null-pointer-checks left no ud2: the check above "
		     "shows nothing");
}

/* make guest on a user's file with a warning in it and the first line anyone writes (a read
 * near null, which gcc 12 rejects under -Werror without --param=min-pagesize=0). */
Test(plain, make_guest_warns_and_builds)
{
	static const char src[] = "#include <pagewarden/guest.h>\n"
				  "int main(void)\n"
				  "{\n"
				  "\tint unused_here;\n"
				  "\treturn (int)*(volatile unsigned long *)0x10;\n"
				  "}\n";
	const char *c_file = write_temp("user_null.c", src, sizeof(src) - 1);
	const char *out = temp_path("user_null.bin");
	const char *cc = getenv("PW_CC") ? getenv("PW_CC") : "gcc";
	char o_arg[4200], cc_arg[256], src_arg[4200], out_arg[4200];
	const char *argv[] = {"/usr/bin/make", "-s",	"-C",	 pw_root(), o_arg,
			      cc_arg,	       "guest", src_arg, out_arg,   NULL};
	struct proc_result r;

	snprintf(o_arg, sizeof(o_arg), "O=%s", pw_build());
	snprintf(cc_arg, sizeof(cc_arg), "CC=%s", cc);
	snprintf(src_arg, sizeof(src_arg), "SRC=%s", c_file);
	snprintf(out_arg, sizeof(out_arg), "OUT=%s", out);
	cr_assert_eq(proc_run(argv, 120, &r), 0, "make: %s", r.err);
	cr_assert_eq(r.status, 0, "make guest failed:\n%s%s", r.out, r.err);
	cr_expect_not_null(strstr(r.err, "unused_here"), "no warning shown:\n%s", r.err);
	cr_expect_null(strstr(r.err, "error"), "%s", r.err);
	proc_result_free(&r);
	require_kvm();
	r = vmm_run(out, NULL);
	cr_expect_eq(r.status, PW_STATUS_CRASH, "status %d\n%s", r.status, r.err);
	cr_expect_not_null(strstr(r.err, "guest crashed: null, #PF (vector 14) at 0x10,"), "%s",
			   r.err);
	proc_result_free(&r);
}
