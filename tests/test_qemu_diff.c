/* The second oracle (docs/images.md, "Differential tests"): the same ELF image boots under
 * ./vmm (--faults=guest) and under QEMU through its PVH entry (scripts/qemu-run, TCG unless
 * PW_QEMU_ACCEL says otherwise), and both must give the same console output, byte for byte, the
 * same exit status, and for a crash or a panic the same report line ("vmm: guest crashed: ..."
 * from ./vmm, "pvh: guest crashed: ..." from the guest's COM2). Two VMMs and two CPU models:
 * KVM's (hardware, or PVM) and QEMU's emulator. Guests whose output is VMM-specific are left
 * out; docs/images.md lists each with the reason. Needs KVM (for ./vmm) and QEMU. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run_helper.h"

/* QEMU with TCG boots a guest in ~0.1 s here, and ~2 s nested in the KVM VM: generous. */
#define QEMU_LIMIT 120.0

static void diff_init(void)
{
	const char *req = getenv("REQUIRE_KVM");

	require_kvm();
	/* scripts/qemu-run runs $PW_QEMU when set. */
	if (!getenv("PW_QEMU") && system("command -v qemu-system-x86_64 >/dev/null 2>&1") != 0) {
		if (req && strcmp(req, "1") == 0)
			cr_assert_fail("REQUIRE_KVM=1 but qemu-system-x86_64 is missing (make test "
				       "installs qemu-system-x86)");
		cr_skip_test("needs qemu-system-x86_64 (apt-get install qemu-system-x86)");
	}
}

TestSuite(qemu_diff, .init = diff_init, .timeout = 300);

/* Remove from text every line containing one of the NULL-terminated needles (the expected
 * differences of one guest); returns text. */
static char *drop_lines(char *text, const char *const *needles)
{
	char *out = text, *line = text;

	while (needles && *line) {
		char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
		bool drop = false;

		for (const char *const *n = needles; *n && !drop; n++) {
			char *hit = memmem(line, len, *n, strlen(*n));

			drop = hit != NULL;
		}
		if (!drop) {
			memmove(out, line, len);
			out += len;
		}
		line += len;
	}
	if (needles)
		*out = '\0';
	return text;
}

/* True if line is a stop report both VMMs word the same way. */
static bool comparable_report(const char *line)
{
	return strncmp(line, "guest crashed: ", 15) == 0 || strncmp(line, "guest panic at ", 15) == 0;
}

/* The first stop report in err (a line prefix, then "guest crashed: " or "guest panic at "),
 * without the prefix and the newline, or "" if there is none. */
static char *report_line(const char *err, const char *prefix)
{
	const char *p = err;

	while (p && *p) {
		if (strncmp(p, prefix, strlen(prefix)) == 0 && comparable_report(p + strlen(prefix))) {
			p += strlen(prefix);
			return strndup(p, strcspn(p, "\n"));
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return strdup("");
}

/* Run image (a path) with arg (or NULL) under both VMMs and assert the same output, status and
 * stop report, dropping the lines that contain any of skip (NULL-terminated, or NULL). */
static void diff_run_with(const char *accel, const char *machine, const char *image,
			  const char *arg, const char *const *skip)
{
	char accel_opt[64], machine_opt[64];
	const char *vargv[] = {repo_file("vmm"), "--faults=guest", image, arg, NULL};
	const char *qargv[] = {repo_file("scripts/qemu-run"), accel_opt, machine_opt, "--timeout",
			       "100", image, arg, NULL};
	struct proc_result v, q;
	char *vrep, *qrep;

	/* Two refusals of a missing file would compare equal. */
	cr_assert_eq(access(image, R_OK), 0, "%s: missing (make test builds it)", image);
	snprintf(machine_opt, sizeof(machine_opt), "--machine=%s", machine);
	snprintf(accel_opt, sizeof(accel_opt), "--accel=%s", accel);
	cr_assert_eq(proc_run(vargv, VMM_TEST_LIMIT, &v), 0, "./vmm: %s", v.err);
	cr_assert_eq(proc_run(qargv, QEMU_LIMIT, &q), 0, "qemu-run: %s", q.err);
	cr_assert(!v.timed_out && !q.timed_out, "%s: a run hit the time limit", image);
	cr_assert_eq(q.status, v.status, "%s: status %d under ./vmm, %d under QEMU (%s)\nqemu-run: %s",
		     image, v.status, q.status, accel, q.err);
	drop_lines(v.out, skip);
	drop_lines(q.out, skip);
	cr_assert_str_eq(q.out, v.out, "%s: the consoles differ (%s)\n--- ./vmm\n%s--- QEMU\n%s",
			 image, accel, v.out, q.out);
	vrep = report_line(v.err, "vmm: ");
	qrep = report_line(q.err, "pvh: ");
	cr_assert_str_eq(qrep, vrep, "%s: the stop reports differ (%s)", image, accel);
	free(vrep);
	free(qrep);
	proc_result_free(&v);
	proc_result_free(&q);
}

/* diff_run_with TCG, or $PW_QEMU_ACCEL, on machine. */
static void diff_run_on(const char *machine, const char *image, const char *arg,
			const char *const *skip)
{
	const char *accel = getenv("PW_QEMU_ACCEL");

	diff_run_with(accel ? accel : "tcg", machine, image, arg, skip);
}

/* diff_run_on QEMU's microvm machine (qboot). */
static void diff_run(const char *image, const char *arg, const char *const *skip)
{
	diff_run_on("microvm", image, arg, skip);
}

/* One test per guest of tests/guests: same output, status and report under both VMMs. */
#define DIFF(name, arg)                                                                            \
	Test(qemu_diff, name)                                                                      \
	{                                                                                          \
		diff_run(guest(#name ".elf"), arg, NULL);                                          \
	}

DIFF(hello, NULL)
DIFF(exitcode, NULL)
DIFF(countdown, NULL)
DIFF(printf_check, NULL)
DIFF(scan_check, NULL)
DIFF(workload, NULL)
DIFF(expect, NULL)
DIFF(user_mode, NULL)
DIFF(checkpoint, NULL)
DIFF(campaign_faults, NULL)
DIFF(inject_target, NULL)
DIFF(reset_state, NULL)
DIFF(gdb_target, NULL)
DIFF(pt_write, NULL)
DIFF(panic, NULL)
DIFF(fault_null, NULL)
DIFF(fault_stack, NULL)
DIFF(fault_wp, NULL)
DIFF(fault_nx, NULL)
DIFF(fault_high, NULL)
DIFF(fault_unmapped, NULL)
DIFF(fault_gp, NULL)
DIFF(fault_ud, NULL)
DIFF(fault_de, NULL)
DIFF(fault_nested, NULL)
DIFF(stack_pf, NULL)
DIFF(stack_ist, NULL)
DIFF(ptgarbage, NULL)
DIFF(core_crash, NULL)
DIFF(core_alias, NULL)
DIFF(triple, NULL)
DIFF(triple_stack, NULL)

/* The demo's layout table differs where the layouts do: QEMU's firmware keeps
 * 0x9f000-0x100000, so the PVH layout's page-table pool ends there and a `firmware` guard
 * region follows (22 regions, not 21). */
static const char *const layout_lines[] = {"page-table pool:", " regions:", "    page-tables ",
					   "    firmware ", NULL};

/* The demo's whole tour, the 6 guards and the 3 user-mode faults included, but its layout
 * table's pool and firmware lines. */
Test(qemu_diff, demo)
{
	struct proc_result q;
	char demo[4096];
	const char *qargv[] = {repo_file("scripts/qemu-run"), "--accel=tcg", "--timeout", "100", demo,
			       NULL};

	snprintf(demo, sizeof(demo), "%s/demo/guest.elf", pw_build());
	diff_run(demo, NULL, layout_lines);
	/* What the issue asks to see, said directly: the same tour under QEMU. */
	cr_assert_eq(proc_run(qargv, QEMU_LIMIT, &q), 0);
	cr_assert(strstr(q.out, "  6 of 6 guards caught\n"), "%s", q.out);
	cr_assert(strstr(q.out, "  3 of 3 user-mode faults caught\n"), "%s", q.out);
	cr_assert(strstr(q.out, "    firmware     0x00009f000-0x000100000    388 KiB\n"), "%s", q.out);
	cr_assert_eq(q.status, 0);
	proc_result_free(&q);
}

/* Arguments reach the guest the same way: ./vmm joins them, QEMU passes -append. */
Test(qemu_diff, cmdline)
{
	diff_run(guest("user_mode.elf"), "user-read", NULL);
}

/* Every exit code ./vmm gives (code & 0xff), those isa-debug-exit cannot carry included. */
Test(qemu_diff, exit_codes)
{
	static const char *const codes[] = {"0", "63", "127", "128", "200", "255", "-1", "256"};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		diff_run(guest("exitcode.elf"), codes[i], NULL);
}

/* -M pc: SeaBIOS and pvh.bin put the start info, the memory map and the command line on the
 * pages the layout then writes (boot info, GDT); the entry must copy them first. */
Test(qemu_diff, pc_machine)
{
	diff_run_on("pc", guest("hello.elf"), NULL, NULL);
	diff_run_on("pc", guest("user_mode.elf"), "user-read", NULL);
	diff_run_on("pc", guest("panic.elf"), NULL, NULL);
	diff_run_on("pc", guest("expect.elf"), NULL, NULL);
}

/* QEMU on KVM too (-cpu host): the same CPU as ./vmm's, another VMM. require_kvm has
 * checked /dev/kvm; in the KVM VM this is QEMU on the nested KVM. */
Test(qemu_diff, kvm_accel)
{
	char demo[4096];

	snprintf(demo, sizeof(demo), "%s/demo/guest.elf", pw_build());
	diff_run_with("kvm", "microvm", guest("fault_null.elf"), NULL, NULL);
	diff_run_with("kvm", "microvm", demo, NULL, layout_lines);
}

/* scripts/qemu-run's own contract: what it refuses, before QEMU starts (no KVM needed). */
static struct proc_result qemu_run(const char *a, const char *b)
{
	const char *argv[] = {repo_file("scripts/qemu-run"), a, b, NULL};
	struct proc_result r;

	cr_assert_eq(proc_run(argv, QEMU_LIMIT, &r), 0, "%s", r.err);
	return r;
}

Test(qemu_run, refuses_bad_usage_and_flat_images)
{
	struct proc_result r = qemu_run("--accel=hvf", guest("hello.elf"));

	cr_assert_eq(r.status, 64, "%s", r.err);
	cr_assert(strstr(r.err, "qemu-run: --accel 'hvf': not auto, kvm or tcg\n"), "%s", r.err);
	proc_result_free(&r);
	r = qemu_run(NULL, NULL);
	cr_assert_eq(r.status, 64, "%s", r.err);
	cr_assert(strstr(r.err, "qemu-run: no image given\n"), "%s", r.err);
	proc_result_free(&r);
	r = qemu_run(guest("hello.bin"), NULL);
	cr_assert_eq(r.status, 65, "%s", r.err);
	cr_assert(strstr(r.err, "hello.bin: not an ELF image"), "%s", r.err);
	proc_result_free(&r);
	r = qemu_run("/nonexistent/guest.elf", NULL);
	cr_assert_eq(r.status, 65, "%s", r.err);
	cr_assert(strstr(r.err, "cannot open or read the image"), "%s", r.err);
	proc_result_free(&r);
}
