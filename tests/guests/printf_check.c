/* printf conformance. Output, line by line:
 *   1. one line per case of printf_cases.h, printed with printf itself (the console path);
 *      a host test compares line i with the case's expected string and with host snprintf;
 *   2. "FAIL ..." for each guest-side check that failed (snprintf into a buffer, return values,
 *      truncation, argument narrowing);
 *   3. "printf_check: N cases, M failed".
 * Exits with the number of failures (0 = all good, capped at 63). */
#include <pagewarden/guest.h>

#include "printf_cases.h"

static int failures;

/* Record a failure unless got/got_ret equal want/want_ret. */
static void expect(const char *what, const char *got, int got_ret, const char *want, int want_ret)
{
	if (strcmp(got, want) == 0 && got_ret == want_ret)
		return;
	failures++;
	printf("FAIL %s: got [%s] (%d), want [%s] (%d)\n", what, got, got_ret, want, want_ret);
}

/* Each case through printf, one line each: what the host compares. */
static int print_cases(void)
{
	int n = 0;

#define PRINT_CASE(expected, fmt, ...)                                                             \
	printf(fmt "\n", __VA_ARGS__);                                                             \
	n++;
	PRINTF_CASES(PRINT_CASE)
#undef PRINT_CASE
	return n;
}

/* Each case through snprintf, checked against the expected string and its length. */
static void check_cases(void)
{
	char buf[128];
	int ret;

#define CHECK_CASE(expected, fmt, ...)                                                             \
	ret = snprintf(buf, sizeof(buf), fmt, __VA_ARGS__);                                        \
	expect(fmt, buf, ret, expected, (int)strlen(expected));
	PRINTF_CASES(CHECK_CASE)
#undef CHECK_CASE
}

/* snprintf truncates, always terminates, and returns the untruncated length. */
static void check_truncation(void)
{
	char buf[8] = "xxxxxxx";
	int ret;

	ret = snprintf(buf, 5, "%d", 123456);
	expect("truncate to 5", buf, ret, "1234", 6);
	ret = snprintf(buf, 1, "abc");
	expect("size 1", buf, ret, "", 3);
	memcpy(buf, "y", 2);
	ret = snprintf(buf, 0, "abc");
	expect("size 0 leaves the buffer alone", buf, ret, "y", 3);
	ret = snprintf(buf, sizeof(buf), "%s", "");
	expect("empty", buf, ret, "", 0);
}

/* snprintf without the format attribute: the cases below pass what the format checkers (rightly)
 * reject at compile time, to test what the formatter does with it at run time. */
static int unchecked_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return ret;
}

/* hh and h narrow an int argument after promotion; NULL strings print as glibc does. */
static void check_narrowing_and_null(void)
{
	char buf[32];
	int ret;

	ret = unchecked_snprintf(buf, sizeof(buf), "%hhd", 300);
	expect("%hhd 300", buf, ret, "44", 2);
	ret = unchecked_snprintf(buf, sizeof(buf), "%hhd", 255);
	expect("%hhd 255", buf, ret, "-1", 2);
	ret = unchecked_snprintf(buf, sizeof(buf), "%hd", 70000);
	expect("%hd 70000", buf, ret, "4464", 4);
	ret = unchecked_snprintf(buf, sizeof(buf), "%hu", -1);
	expect("%hu -1", buf, ret, "65535", 5);
	ret = unchecked_snprintf(buf, sizeof(buf), "%s", (const char *)NULL);
	expect("%s NULL", buf, ret, "(null)", 6);
	ret = unchecked_snprintf(buf, sizeof(buf), "%.3s", (const char *)NULL);
	expect("%.3s NULL", buf, ret, "", 0);
}

int main(void)
{
	int n = print_cases();

	check_cases();
	check_truncation();
	check_narrowing_and_null();
	printf("printf_check: %d cases, %d failed\n", n, failures);
	return failures > 63 ? 63 : failures;
}
