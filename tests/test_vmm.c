/* ./vmm running real guests: console, exit codes, every way a guest can stop, the crash
 * reports, --json, --dump-pt, --trace, --timeout, --protect-pt. Every test needs KVM: it skips
 * without it, or fails when REQUIRE_KVM=1. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pagewarden/abi.h"
#include "pagewarden/layout.h"
#include "run_helper.h"
#include "status.h"

static void kvm_init(void)
{
	require_kvm();
}

TestSuite(vmm, .init = kvm_init);

/* Number of lines in s. */
static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(vmm, hello_flat)
{
	struct proc_result r = vmm_run(guest("hello.bin"), NULL);

	cr_assert_eq(r.status, 0, "status %d, stderr: %s", r.status, r.err);
	cr_assert_str_eq(r.out, "hello from pagewarden\n");
	cr_assert_str_eq(r.err, "", "the VMM printed something for a clean exit");
	proc_result_free(&r);
}

Test(vmm, hello_elf)
{
	struct proc_result r = vmm_run(guest("hello.elf"), NULL);

	cr_assert_eq(r.status, 0, "status %d, stderr: %s", r.status, r.err);
	cr_assert_str_eq(r.out, "hello from pagewarden\n");
	proc_result_free(&r);
}

Test(vmm, demo_guest)
{
	struct proc_result r = vmm_run(repo_file("guest.bin"), NULL);

	cr_assert_eq(r.status, 0, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strstr(r.out, "demo done: exit 0"), "%s", r.out);
	proc_result_free(&r);
}

Test(vmm, exit_code_passes_through)
{
	static const struct {
		const char *arg;
		int status;
	} cases[] = {{NULL, 42}, {"7", 7}, {"0", 0}, {"63", 63}, {"300", 300 & 0xff}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct proc_result r = vmm_run(guest("exitcode.bin"), cases[i].arg, NULL);

		cr_assert_eq(r.status, cases[i].status, "arg %s: status %d, stderr: %s",
			     cases[i].arg ? cases[i].arg : "(none)", r.status, r.err);
		cr_assert_str_eq(r.err, "");
		proc_result_free(&r);
	}
}

/* Words after the image, even option-like ones, reach the guest joined by spaces. */
Test(vmm, guest_args_reach_the_guest)
{
	struct proc_result r = vmm_run("-q", guest("bootinfo.bin"), "-q", "--json", "a b", NULL);

	cr_assert_eq(r.status, 0, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strstr(r.out, "cmdline=[-q --json a b]\n"), "%s", r.out);
	cr_assert(strstr(r.out, "magic=ok\n"), "%s", r.out);
	proc_result_free(&r);
}

Test(vmm, mem_option_reaches_the_guest)
{
	struct proc_result r = vmm_run("-m", "32M", guest("bootinfo.bin"), NULL);

	cr_assert_eq(r.status, 0, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strstr(r.out, "mem_size=0x2000000\n"), "%s", r.out);
	proc_result_free(&r);
}

Test(vmm, panic_names_file_and_line)
{
	struct proc_result r = vmm_run(guest("panic.bin"), NULL);
	int line = source_line("tests/guests/panic.c", "assert(1 == 2)");
	char want[256];

	cr_assert_gt(line, 0);
	snprintf(want, sizeof(want),
		 "vmm: guest panic at tests/guests/panic.c:%d: assertion failed: 1 == 2\n", line);
	cr_assert_eq(r.status, PW_STATUS_CRASH, "status %d, stderr: %s", r.status, r.err);
	cr_assert_str_eq(r.err, want);
	/* Output written before the panic is flushed first. */
	cr_assert_str_eq(r.out, "about to fail an assertion\n");
	proc_result_free(&r);
}

Test(vmm, triple_fault_report)
{
	struct proc_result r = vmm_run(guest("triple.bin"), NULL);

	cr_assert_eq(r.status, PW_STATUS_CRASH, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strncmp(r.err, "vmm: guest triple fault (KVM_EXIT_SHUTDOWN) at RIP 0x", 53) == 0,
		  "%s", r.err);
	/* The report: registers, control registers, the faulting ud2, and a page walk. */
	for (const char *const *w = (const char *const[]){"exit SHUTDOWN",
							  "RIP ",
							  "RSP ",
							  "RFLAGS",
							  "RAX ",
							  "R15 ",
							  "CR0 ",
							  "CR2 ",
							  "CR3 ",
							  "CR4 ",
							  "EFER ",
							  "CS 0008",
							  "SS 0010",
							  "TR 0018",
							  "code at RIP: 0f 0b",
							  "page walk of CR2 0x0",
							  "PML4[  0]",
							  "PT  [  0]",
							  "guard(null-guard)",
							  NULL};
	     *w; w++)
		cr_assert(strstr(r.err, *w), "report lacks \"%s\":\n%s", *w, r.err);
	cr_assert(strstr(r.out, "loading an empty IDT, then ud2\n"), "%s", r.out);
	proc_result_free(&r);
}

/* -q keeps the one-line cause and drops the register report. */
Test(vmm, quiet_keeps_only_the_cause)
{
	struct proc_result r = vmm_run("-q", guest("triple.bin"), NULL);

	cr_assert_eq(r.status, PW_STATUS_CRASH);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strstr(r.err, "triple fault"), "%s", r.err);
	proc_result_free(&r);
}

/* A bad hypercall: status 76 and exactly one line naming the call and the bad value. */
static void expect_bad_hypercall(const char *image, const char *const want[])
{
	struct proc_result r = vmm_run(guest(image), NULL);

	cr_assert_eq(r.status, PW_STATUS_BAD_HYPERCALL, "%s: status %d, stderr: %s", image,
		     r.status, r.err);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	cr_assert(strncmp(r.err, "vmm: bad hypercall", 18) == 0, "%s", r.err);
	for (; *want; want++)
		cr_assert(strstr(r.err, *want), "%s: stderr lacks \"%s\": %s", image, *want, r.err);
	cr_assert(strstr(r.err, "at RIP 0x"), "%s", r.err);
	/* The guest's "the VMM resumed" line must never appear. */
	cr_assert_eq(r.out_len, 0, "the guest ran on: %s", r.out);
	proc_result_free(&r);
}

Test(vmm, bad_port)
{
	expect_bad_hypercall("badport.bin", (const char *const[]){"port 0x9999", "out, 1 byte",
								  "not a hypercall port", NULL});
}

Test(vmm, bad_pointer)
{
	expect_bad_hypercall("badptr.bin",
			     (const char *const[]){"console (port 0x500)", "buffer at 0x3ffffff",
						   "4096 bytes", "outside guest RAM", NULL});
}

Test(vmm, bad_width)
{
	expect_bad_hypercall(
	    "badsize.bin",
	    (const char *const[]){"console (port 0x500)", "out of 2 bytes", "4-byte out", NULL});
}

Test(vmm, timeout_stops_a_hung_guest)
{
	struct proc_result r = vmm_run("--timeout", "0.5", guest("hang.bin"), NULL);

	cr_assert_eq(r.status, PW_STATUS_TIMEOUT, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strncmp(r.err, "vmm: timeout after 0.5s at RIP 0x", 33) == 0, "%s", r.err);
	cr_assert_geq(r.secs, 0.5);
	cr_assert_lt(r.secs, 5.0, "took %.2fs", r.secs);
	cr_assert_str_eq(r.out, "hanging\n");
	proc_result_free(&r);
}

/* A guest that only writes, an exit per word: the timeout still fires between its exits, and
 * every byte the report counts reached stdout. One second is a few KB where ring-0 code is
 * emulated (kvm_pvm) and a few MB on hardware, far from the 16 MiB console limit. */
Test(vmm, timeout_during_console_flood)
{
	const char *json = temp_path("flood.json");
	struct proc_result r = vmm_run("--timeout", "1", "--json", json, guest("flood.bin"), NULL);
	char *rep = read_text(json);
	char want[64];

	cr_assert_eq(r.status, PW_STATUS_TIMEOUT, "status %d, stderr: %s", r.status, r.err);
	cr_assert_gt(r.out_len, 0);
	cr_assert(strncmp(r.out, "flood 0 flood 1 ", 16) == 0);
	snprintf(want, sizeof(want), "%zu,", r.out_len);
	cr_assert(json_has(rep, "console_bytes", want), "stdout %zu bytes, report:\n%s", r.out_len,
		  rep);
	cr_assert(json_has(rep, "stop", "\"timeout\""), "%s", rep);
	cr_assert(json_has(rep, "exit_code", "null"), "%s", rep);
	free(rep);
	proc_result_free(&r);
}

/* On this kind of nested host SSE is an internal error KVM cannot emulate; on hardware KVM
 * with CR4.OSFXSR clear it is a #UD the guest runtime reports as a crash. Both must be loud. */
Test(vmm, sse_instruction)
{
	struct proc_result r = vmm_run(guest("sse.bin"), NULL);

	if (r.status == PW_STATUS_INTERNAL) {
		cr_assert(strstr(r.err, "vmm: KVM internal error: emulation failure (suberror 1)"),
			  "%s", r.err);
		cr_assert(strstr(r.err, "code 0f 57 c0"), "%s", r.err);
		cr_assert(strstr(r.err, "code at RIP: 0f 57 c0"), "%s", r.err);
		cr_assert(strstr(r.err, "exit INTERNAL_ERROR"), "%s", r.err);
	} else {
		cr_assert_eq(r.status, PW_STATUS_CRASH, "status %d, stderr: %s", r.status, r.err);
		cr_assert(strstr(r.err, "#UD"), "%s", r.err);
	}
	cr_assert(!strstr(r.out, "executed without an exit"), "%s", r.out);
	proc_result_free(&r);
}

Test(vmm, unbacked_access_names_the_gpa)
{
	struct proc_result r = vmm_run(guest("mmio.bin"), NULL);

	cr_assert_eq(r.status, PW_STATUS_CRASH, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strstr(r.err, "vmm: guest touched unbacked guest-physical 0x4001000 (read, 4 "
				"bytes, region unbacked) at RIP 0x"),
		  "%s", r.err);
	cr_assert(strstr(r.err, "exit MMIO"), "%s", r.err);
	cr_assert(strstr(r.err, "page walk of GPA 0x4001000"), "%s", r.err);
	proc_result_free(&r);
}

/* A flat image: `movb $0, 0xffff8` (the last byte of the page-table pool, unused), `hlt`. */
static const unsigned char pool_write_image[] = {0xc6, 0x04, 0x25, 0xf8, 0xff,
						 0x0f, 0x00, 0x00, 0xf4};

Test(vmm, halt_is_a_clean_stop)
{
	const char *img = write_temp("poolwrite.bin", pool_write_image, sizeof(pool_write_image));
	struct proc_result r = vmm_run(img, NULL);

	cr_assert_eq(r.status, 0, "status %d, stderr: %s", r.status, r.err);
	cr_assert_str_eq(r.err, "vmm: guest halted at RIP 0x100009\n");
	proc_result_free(&r);
	r = vmm_run("-q", img, NULL);
	cr_assert_eq(r.status, 0);
	cr_assert_str_eq(r.err, "");
	proc_result_free(&r);
}

Test(vmm, protect_pt_makes_the_tables_read_only)
{
	const char *img = write_temp("poolwrite.bin", pool_write_image, sizeof(pool_write_image));
	char want[128];
	struct proc_result r = vmm_run("--protect-pt", img, NULL);

	snprintf(want, sizeof(want),
		 "vmm: guest wrote read-only guest-physical 0x%llx (write, 1 byte, region "
		 "page-tables) by the instruction before RIP 0x100008\n",
		 PW_PT_POOL_GPA + PW_PT_POOL_SIZE - 8);
	cr_assert_eq(r.status, PW_STATUS_CRASH, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strncmp(r.err, want, strlen(want)) == 0, "%s", r.err);
	proc_result_free(&r);
}

Test(vmm, protect_pt_runs_normal_guests)
{
	skip_on_quirk(QUIRK_WALK_WRITES_TABLES);
	struct proc_result r = vmm_run("--protect-pt", guest("bootinfo.bin"), NULL);

	cr_assert_eq(r.status, 0, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strstr(r.out, "magic=ok\n"), "%s", r.out);
	proc_result_free(&r);
}

Test(vmm, json_report_of_a_clean_run)
{
	const char *json = temp_path("hello.json");
	const char *img = guest("hello.bin");
	struct proc_result r = vmm_run("--json", json, img, NULL);
	char *rep = read_text(json);
	char want[512];

	cr_assert_eq(r.status, 0, "status %d, stderr: %s", r.status, r.err);
	snprintf(want, sizeof(want), "\"%s\"", img);
	cr_assert(json_has(rep, "image", want), "%s", rep);
	cr_assert(json_has(rep, "mem", "67108864,"), "%s", rep);
	cr_assert(json_has(rep, "exit_reason", "\"IO\""), "%s", rep);
	cr_assert(json_has(rep, "stop", "\"exit\""), "%s", rep);
	cr_assert(json_has(rep, "exit_code", "0,"), "%s", rep);
	cr_assert(json_has(rep, "status", "0,"), "%s", rep);
	/* One console write and one exit call. */
	cr_assert(json_has(rep, "exits", "{\"IO\": 2}"), "%s", rep);
	cr_assert(json_has(rep, "exits_total", "2,"), "%s", rep);
	cr_assert(json_has(rep, "console_bytes", "22,"), "%s", rep);
	cr_assert(json_has(rep, "checkpoints", "0,"), "%s", rep);
	cr_assert(json_has(rep, "faults", "[]"), "%s", rep);
	cr_assert(json_value(rep, "wall_ms") && atof(json_value(rep, "wall_ms")) > 0, "%s", rep);
	cr_assert_eq(rep[0], '{');
	cr_assert_eq(rep[strlen(rep) - 2], '}');
	free(rep);
	proc_result_free(&r);
}

Test(vmm, json_to_stdout_counts_checkpoints)
{
	struct proc_result r = vmm_run("--json", "-", guest("checkpoint.bin"), NULL);

	cr_assert_eq(r.status, 0, "status %d, stderr: %s", r.status, r.err);
	cr_assert(json_has(r.out, "checkpoints", "2,"), "%s", r.out);
	cr_assert(json_has(r.out, "exits", "{\"IO\": 3}"), "%s", r.out);
	proc_result_free(&r);
}

Test(vmm, json_records_the_fault_that_stopped_the_guest)
{
	struct proc_result r = vmm_run("--json", "-", guest("fault_null.bin"), NULL);

	cr_assert_eq(r.status, PW_STATUS_CRASH, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strstr(r.err, "vmm: guest crashed: null, #PF (vector 14) at 0x8, error 0x0"),
		  "%s", r.err);
	cr_assert(strstr(r.err, "page walk of CR2 0x8"), "%s", r.err);
	cr_assert(json_has(r.out, "stop", "\"fault\""), "%s", r.out);
	cr_assert(strstr(r.out, "{\"kind\": \"null\", \"vector\": 14, \"gva\": \"0x8\", \"gpa\": "
				"null, \"error_code\": \"0x0\""),
		  "%s", r.out);
	cr_assert(strstr(r.out, "\"caught_by\": \"guest-idt\", \"recovered\": false}"), "%s",
		  r.out);
	proc_result_free(&r);
}

/* The image path is any bytes the user chose: the report must still be valid JSON. */
Test(vmm, json_escapes_the_image_path)
{
	const char *src = guest("hello.bin");
	const char *img = temp_path("we\"ird\\name\t.bin");
	const char *json = temp_path("r.json");
	struct proc_result r;
	char *rep;

	cr_assert_eq(symlink(src, img), 0);
	r = vmm_run("--json", json, img, NULL);
	rep = read_text(json);
	cr_assert_eq(r.status, 0, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strstr(rep, "we\\\"ird\\\\name\\t.bin\""), "%s", rep);
	free(rep);
	proc_result_free(&r);
}

/* --dump-pt prints the layout's protections before the guest runs. */
Test(vmm, dump_pt_shows_guards_and_protections)
{
	struct proc_result r = vmm_run("--dump-pt", guest("hello.bin"), NULL);
	static const char *const want[] = {
	    "0000000000000000-0000000000001000 0000000000001000 4K  guard(null-guard)",
	    "0000000000001000-0000000000002000 0000000000001000 4K  R NX  boot-info",
	    "000000000000f000-0000000000010000 0000000000001000 4K  guard(stack-guard)",
	    "0000000000010000-0000000000050000 0000000000040000 4K  RW NX  stack",
	    "0000000000100000-",
	    "R X  text",
	    "R NX  rodata",
	    "RW NX  data",
	    "guard(heap)  heap",
	    "2M  RW NX  unbacked",
	    "00000000ffe00000-0000000100000000 0000000000200000 2M  guard(high-guard)",
	    NULL,
	};

	cr_assert_eq(r.status, 0, "status %d, stderr: %s", r.status, r.err);
	for (const char *const *w = want; *w; w++)
		cr_assert(strstr(r.out, *w), "dump lacks \"%s\":\n%s", *w, r.out);
	/* The dump comes first, then the guest's output. */
	cr_assert(strstr(r.out, "hello from pagewarden\n") > strstr(r.out, "high-guard"), "%s",
		  r.out);
	proc_result_free(&r);
}

Test(vmm, trace_prints_one_line_per_exit)
{
	struct proc_result r = vmm_run("--trace", guest("checkpoint.bin"), NULL);

	cr_assert_eq(r.status, 0, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strstr(r.err, "vmm: exit 1 IO at RIP 0x"), "%s", r.err);
	cr_assert(strstr(r.err, "port 0x503 checkpoint\n"), "%s", r.err);
	cr_assert(strstr(r.err, "vmm: checkpoint 1 value 0x2 at RIP 0x"), "%s", r.err);
	cr_assert(strstr(r.err, "vmm: checkpoint 3 value 0x4 at RIP 0x"), "%s", r.err);
	cr_assert(strstr(r.err, "vmm: exit 3 IO at RIP 0x"), "%s", r.err);
	cr_assert(strstr(r.err, "port 0x501 exit\n"), "%s", r.err);
	cr_assert_eq(count_lines(r.err), 5, "%s", r.err);
	proc_result_free(&r);
}

/* Without access to /dev/kvm: one line saying what to do, status 69. Needs root to drop to
 * an unprivileged user, and a /dev/kvm that user may not open. */
Test(vmm_access, kvm_permission_denied)
{
	const char *argv[] = {NULL, NULL, NULL};
	const char *img = temp_path("hello.bin");
	char *dir = strdup(img);
	struct proc_result r;
	struct stat st;
	FILE *in, *out;
	int c;

	if (geteuid() != 0)
		cr_skip_test("needs root to run ./vmm as an unprivileged user");
	if (stat("/dev/kvm", &st) != 0 || (st.st_mode & S_IROTH && st.st_mode & S_IWOTH))
		cr_skip_test("/dev/kvm is missing or open to every user");
	/* Give nobody a readable copy of the image: the image is read before /dev/kvm. */
	in = fopen(guest("hello.bin"), "rb");
	out = fopen(img, "wb");
	cr_assert(in && out);
	while ((c = getc(in)) != EOF)
		putc(c, out);
	fclose(in);
	fclose(out);
	*strrchr(dir, '/') = '\0';
	cr_assert_eq(chmod(dir, 0755), 0);
	cr_assert_eq(chmod(img, 0644), 0);
	cr_assert(asprintf((char **)&argv[0], "%s/vmm", pw_root()) > 0);
	argv[1] = img;
	cr_assert_eq(proc_run_as(argv, VMM_TEST_LIMIT, 65534, &r), 0);
	if (r.status == 126)
		cr_skip_test("cannot switch to uid 65534");
	cr_assert_eq(r.status, PW_STATUS_KVM, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strstr(r.err, "vmm: /dev/kvm: Permission denied: add your user to the kvm group"),
		  "%s", r.err);
	cr_assert_eq(count_lines(r.err), 1, "%s", r.err);
	proc_result_free(&r);
}
