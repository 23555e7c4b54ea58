/* The access matrix (tests/guests/access_matrix.c): the CPU against the paging library's
 * permission model, pt_check_access, over P/RW/US/XD at every level, PS at levels 2 and 3,
 * reads, writes and fetches at CPL 0 and 3, and every setting of WP/SMEP/SMAP/AC/NXE this CPU
 * has: the fault or not, its error code and CR2, and the A/D bits of an allowed access. The
 * sample is seeded from the clock (each failure message names the seed); `full` on the guest's
 * command line runs the whole space. Needs KVM. */
#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"
#include "run_helper.h"

#define MATRIX_LIMIT 300.0 /* ~1 ms a combination where ring 0 is emulated (PVM) */
#define CI_COUNT     "12288"

static void kvm_init(void)
{
	require_kvm();
}

TestSuite(access_matrix, .init = kvm_init);

/* Run the matrix guest under mode with args (space-separated words, each one argument), plus
 * the quirk QEMU's emulation needs (docs/platforms.md). */
static struct proc_result matrix_run(const char *mode, const char *args)
{
	const char *argv[16] = {repo_file("vmm"), "-q", mode,
				guest("access_matrix.elf")};
	char *words = strdup(args), *save = NULL;
	struct proc_result r;
	size_t n = 4;

	for (char *w = strtok_r(words, " ", &save); w && n < 14; w = strtok_r(NULL, " ", &save))
		argv[n++] = w;
	if (platform_in_qemu_tcg())
		argv[n++] = "quirk=rsvd-without-p";
	argv[n] = NULL;
	cr_assert_eq(proc_run(argv, MATRIX_LIMIT, &r), 0, "cannot run ./vmm: %s", strerror(errno));
	cr_assert(!r.timed_out, "the matrix ran past %.0f s", MATRIX_LIMIT);
	free(words);
	return r;
}

/* The "N combinations" and "M mismatches" of the summary line; fails if there is none. */
static void summary(const struct proc_result *r, unsigned long *n, unsigned *bad)
{
	const char *s = strstr(r->out, "access matrix: seed ");
	const char *c = s ? strstr(s, "combinations of") : NULL;
	const char *m = s ? strstr(s, "), ") : NULL;

	cr_assert(s && c && m, "no summary line:\n%s\n%s", r->out, r->err);
	while (c > s && c[-1] == ' ')
		c--;
	while (c > s && c[-1] != ' ')
		c--;
	*n = strtoul(c, NULL, 10);
	*bad = (unsigned)strtoul(m + 3, NULL, 10);
}

/* Run a sample of count combinations under mode with a seed from the clock: zero mismatches. */
static void sample(const char *mode, const char *count, unsigned long at_least)
{
	unsigned long seed = (unsigned long)time(NULL) ^ (unsigned long)getpid() << 8;
	char args[96];
	struct proc_result r;
	unsigned long n;
	unsigned bad;

	snprintf(args, sizeof(args), "seed=%lu count=%s", seed, count);
	r = matrix_run(mode, args);
	summary(&r, &n, &bad);
	cr_assert_eq(bad, 0, "%s seed=%lu: %u mismatches (each line reproduces alone):\n%s", mode,
		     seed, bad, r.out);
	cr_assert_eq(r.status, 0, "%s seed=%lu: status %d\n%s", mode, seed, r.status, r.err);
	cr_assert_geq(n, at_least, "%lu combinations", n);
	/* on stderr, so that the suite's log (CI's) shows the figure */
	fprintf(stderr, "access matrix %s seed=%lu: %lu combinations, 0 mismatches\n", mode, seed,
		n);
	proc_result_free(&r);
}

Test(access_matrix, sample_matches_the_model_guest_mode)
{
	sample("--faults=guest", CI_COUNT, 10000);
}

Test(access_matrix, sample_matches_the_model_vmm_mode)
{
	sample("--faults=vmm", "1200", 1000);
}

/* A wrong model (CR0.WP inverted) must show: mismatches, status 1, and each printed line's
 * combination reproduces its mismatch alone, and agrees with the right model. */
Test(access_matrix, a_wrong_model_is_caught_and_each_line_reproduces)
{
	struct proc_result r = matrix_run("--faults=guest", "seed=5 count=600 model-bug=wp");
	const char *line = strstr(r.out, "MISMATCH combo=0x");
	char args[64];
	unsigned long n;
	unsigned bad, combo;

	summary(&r, &n, &bad);
	cr_assert_gt(bad, 0, "the matrix missed a model with WP inverted:\n%s", r.out);
	cr_assert_eq(r.status, 1);
	cr_assert_not_null(line);
	cr_assert(strstr(line, "; alone: combo=0x"), "%s", line);
	combo = (unsigned)strtoul(line + strlen("MISMATCH combo="), NULL, 16);
	proc_result_free(&r);

	snprintf(args, sizeof(args), "combo=0x%x model-bug=wp", combo);
	r = matrix_run("--faults=guest", args);
	summary(&r, &n, &bad);
	cr_assert(n == 1 && bad == 1, "combo 0x%x alone: %lu run, %u mismatches\n%s", combo, n,
		  bad, r.out);
	proc_result_free(&r);

	snprintf(args, sizeof(args), "combo=0x%x", combo);
	r = matrix_run("--faults=guest", args);
	summary(&r, &n, &bad);
	cr_assert(n == 1 && bad == 0 && r.status == 0, "combo 0x%x, right model: %u mismatches\n%s",
		  combo, bad, r.out);
	proc_result_free(&r);
}
