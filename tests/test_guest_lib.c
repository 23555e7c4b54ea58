/* The guest runtime's library, run inside real guests: printf conformance line by line against
 * glibc (tests/guests/printf_check.c and printf_cases.h), the word-at-a-time searches against
 * reference loops (tests/guests/scan_check.c), and the IDT installed at link time. Needs KVM. */
#include <criterion/criterion.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../tests/guests/printf_cases.h"
#include "run_helper.h"

static void kvm_init(void)
{
	require_kvm();
}

TestSuite(guest_lib, .init = kvm_init);

/* The next line of *s (without its newline), advancing *s; NULL at the end. */
static const char *next_line(char **s)
{
	char *line = *s, *nl;

	if (!*line)
		return NULL;
	nl = strchr(line, '\n');
	if (nl) {
		*nl = '\0';
		*s = nl + 1;
	} else {
		*s = line + strlen(line);
	}
	return line;
}

Test(guest_lib, printf_matches_glibc_case_by_case)
{
	struct proc_result r = vmm_run(guest("printf_check.bin"), NULL);
	char *cursor = r.out, host[128];
	const char *line;
	int n = 0;

	cr_assert_eq(r.status, 0, "status %d (failed guest-side checks), output:\n%s", r.status,
		     r.out);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-zero-length"
#define COMPARE_CASE(expected, fmt, ...)                                                           \
	line = next_line(&cursor);                                                                 \
	cr_assert_not_null(line, "output ends before case %d (%s)", n, fmt);                       \
	snprintf(host, sizeof(host), fmt, __VA_ARGS__);                                            \
	cr_expect_str_eq(line, expected, "case %d, format \"%s\"", n, fmt);                        \
	cr_expect_str_eq(line, host, "case %d, format \"%s\": glibc differs", n, fmt);             \
	n++;
	PRINTF_CASES(COMPARE_CASE)
#undef COMPARE_CASE
#pragma GCC diagnostic pop
	line = next_line(&cursor);
	cr_assert_not_null(line);
	cr_assert_eq(strncmp(line, "printf_check: ", 14), 0, "unexpected line: %s", line);
	cr_assert(strstr(line, " 0 failed"), "%s", line);
	proc_result_free(&r);
}

Test(guest_lib, word_searches_match_byte_loops)
{
	struct proc_result r = vmm_run(guest("scan_check.bin"), NULL);
	unsigned cases = 0, failed = 1;

	cr_assert_eq(r.status, 0, "status %d, output:\n%s\nstderr: %s", r.status, r.out, r.err);
	cr_assert_eq(sscanf(r.out, "scan_check: %u cases, %u failed", &cases, &failed), 2, "%s",
		     r.out);
	cr_assert_eq(failed, 0);
	cr_assert_gt(cases, 5000, "the grid shrank: %u cases", cases);
	proc_result_free(&r);
}
