/* Hostile guests: garbage hypercalls, vandalised page tables, touches of the second-level
 * guard, floods. Each must end with its documented status and a report, and the VMM's own
 * memory must stay bounded whatever the guest does. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run_helper.h"
#include "status.h"

struct hostile_case {
	const char *guest;
	const char *arg;
	int status;
	const char *says; /* a piece of the stop line */
};

static struct hostile_case hostile_cases[] = {
    {"garbage.bin", "0", PW_STATUS_BAD_HYPERCALL, "port 0x4ff (out, 4 bytes) is not a hypercall"},
    {"garbage.bin", "1", PW_STATUS_BAD_HYPERCALL, "is not a hypercall port"},
    {"garbage.bin", "2", PW_STATUS_BAD_HYPERCALL, "out of 1 byte x1"},
    {"garbage.bin", "3", PW_STATUS_BAD_HYPERCALL, "in of 1 byte x1"},
    {"garbage.bin", "4", PW_STATUS_BAD_HYPERCALL, "argument struct at 0xfffffff0"},
    {"garbage.bin", "5", PW_STATUS_BAD_HYPERCALL, "kind 65535 is not a fault kind"},
    {"garbage.bin", "6", PW_STATUS_BAD_HYPERCALL, "length 18446744073709551615 exceeds"},
    {"garbage.bin", "7", PW_STATUS_BAD_HYPERCALL, "buffer at 0xfffffffffffffff7 (64 bytes)"},
    {"garbage.bin", "8", PW_STATUS_BAD_HYPERCALL, "length 1048577 exceeds the maximum"},
    {"ptgarbage.bin", "0", PW_STATUS_CRASH, "vmm: guest "},
    {"ptgarbage.bin", "1", PW_STATUS_CRASH, "vmm: guest "},
    {"ptgarbage.bin", "2", PW_STATUS_CRASH, "unbacked guest-physical"},
    {"ptgarbage.bin", "3", PW_STATUS_CRASH, "unbacked guest-physical 0x300000000"},
    {"ptgarbage.bin", "4", PW_STATUS_CRASH, "triple fault"},
    {"unbacked.bin", "0", PW_STATUS_CRASH, "(read, 1 byte, region unbacked)"},
    {"unbacked.bin", "1", PW_STATUS_CRASH, "(read, 1 byte, region unbacked)"},
    {"unbacked.bin", "2", PW_STATUS_CRASH, "0xffdfffff (read, 1 byte, region unbacked)"},
    {"unbacked.bin", "3", PW_STATUS_CRASH, "(write, 1 byte, region unbacked)"},
};

/* Run hostile case i and check its status and stop line. */
static void hostile_check(size_t i)
{
	const struct hostile_case *c = &hostile_cases[i];
	struct proc_result r;

	require_kvm();
	r = vmm_run(guest(c->guest), c->arg, NULL);
	cr_assert_eq(r.status, c->status, "%s %s: status %d, stderr: %s", c->guest, c->arg,
		     r.status, r.err);
	cr_assert(strstr(r.err, c->says), "%s %s: want '%s' in: %s", c->guest, c->arg, c->says,
		  r.err);
	proc_result_free(&r);
}

/* One test per case, so a failure names it; the table above is the documentation. */
#define HOSTILE_TEST(name, i)                                                                      \
	Test(hostile, name)                                                                        \
	{                                                                                          \
		hostile_check(i);                                                                  \
	}
HOSTILE_TEST(port_below_range, 0)
HOSTILE_TEST(port_above_range, 1)
HOSTILE_TEST(byte_out, 2)
HOSTILE_TEST(in_instead_of_out, 3)
HOSTILE_TEST(struct_outside_ram, 4)
HOSTILE_TEST(bad_fault_kind, 5)
HOSTILE_TEST(huge_panic_length, 6)
HOSTILE_TEST(buffer_wraps_2_64, 7)
HOSTILE_TEST(last_byte_of_ram_long_length, 8)
HOSTILE_TEST(pde_to_garbage_frame, 9)
HOSTILE_TEST(pte_reserved_bits, 10)
HOSTILE_TEST(pte_beyond_ram, 11)
HOSTILE_TEST(pte_beyond_4g, 12)
HOSTILE_TEST(cr3_to_garbage, 13)
HOSTILE_TEST(unbacked_first_byte, 14)
HOSTILE_TEST(unbacked_middle, 15)
HOSTILE_TEST(unbacked_last_byte, 16)
HOSTILE_TEST(unbacked_write, 17)

/* Random ports and values: refused as a bad hypercall, or, if the dice land on a valid call,
 * a normal stop; never a VMM signal. */
Test(hostile, random_hypercalls)
{
	static const char *const seeds[] = {"1", "2", "3", "99", "12345", "4242"};

	require_kvm();
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		struct proc_result r;

		r = vmm_run(guest("garbage.bin"), "9", seeds[i], NULL);
		cr_assert_eq(r.signal, 0, "seed %s: VMM killed by signal %d", seeds[i], r.signal);
		cr_assert(r.status == PW_STATUS_BAD_HYPERCALL || r.status == PW_STATUS_CRASH ||
			      (r.status >= 0 && r.status < 64),
			  "seed %s: status %d, stderr: %s", seeds[i], r.status, r.err);
		proc_result_free(&r);
	}
}

Test(hostile, console_limit_stops_a_flood)
{
	struct proc_result r;

	require_kvm();
	r = vmm_run("--console-limit", "3000000", guest("garbage.bin"), "10", NULL);
	cr_assert_eq(r.status, PW_STATUS_LIMIT, "status %d, stderr: %s", r.status, r.err);
	cr_assert_eq(r.out_len, 3000000, "the console got %zu bytes", r.out_len);
	cr_assert(strstr(r.err, "console limit reached: the guest wrote more than 3000000 bytes"),
		  "%s", r.err);
	proc_result_free(&r);
}

Test(hostile, exit_budget_stops_a_flood)
{
	struct proc_result r;

	require_kvm();
	r = vmm_run("--max-exits", "5", "--console-limit", "0", guest("garbage.bin"), "10", NULL);
	cr_assert_eq(r.status, PW_STATUS_LIMIT, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strstr(r.err, "exit budget exhausted: 5 VM exits (--max-exits)"), "%s", r.err);
	cr_assert_eq(r.out_len, 5ull << 20, "the console got %zu bytes", r.out_len);
	proc_result_free(&r);
}

/* Max RSS in KiB of ./vmm with args (console to /dev/null), via wait4's rusage. */
static long vmm_max_rss(const char *const args[], int *status)
{
	char vmm[4096];
	const char *argv[16] = {vmm};
	struct rusage ru;
	int st, n = 1;
	pid_t pid;

	snprintf(vmm, sizeof(vmm), "%s/vmm", pw_root());
	for (; args[n - 1] && n < 15; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv(vmm, (char *const *)argv);
		_exit(127);
	}
	cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return ru.ru_maxrss;
}

Test(hostile, memory_stays_bounded)
{
	const char *hello[] = {guest("hello.bin"), NULL};
	const char *flood[] = {guest("garbage.bin"), "10", NULL}; /* the default 16M cap */
	const char *noise[] = {guest("garbage.bin"), "9", "7", NULL};
	int st;
	long base, rss;

	require_kvm();
	base = vmm_max_rss(hello, &st);
	cr_assert_eq(st, 0);
	rss = vmm_max_rss(flood, &st);
	cr_assert_eq(st, PW_STATUS_LIMIT, "flood status %d", st);
	cr_expect_lt(rss - base, 64 * 1024, "flood: max RSS %ld KiB, baseline %ld KiB", rss, base);
	rss = vmm_max_rss(noise, &st);
	cr_expect_lt(rss - base, 64 * 1024, "garbage: max RSS %ld KiB, baseline %ld KiB", rss,
		     base);
}
