/* What one TLB shootdown costs (pw_pt_apply_flush with every other CPU taking the IPI), for 2,
 * 4 and 8 vCPUs: tests/guests/smp_bench.bin flips a page's rights K times, each change flushed
 * on every CPU. Each figure is that run minus the same flips flushed on CPU 0 only ("K local",
 * right before it), from ./vmm's own --json wall_ms and exits_total (the run alone, no process
 * start), divided by K: what the other CPUs' part adds. Median over the repetitions, which
 * alternate the CPU counts.
 *   shootdown_us        one shootdown with 4 vCPUs
 *   shootdown_exits     VM exits to the VMM per shootdown, 4 vCPUs (IPIs, EOIs and hlt are
 *                       handled inside KVM by its local APICs: they are not VMM exits)
 *   shootdown_Ncpu_us, shootdown_Ncpu_exits   the same for N = 2, 8: does it grow with N?
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_stats.h"

#define BENCH_RUNS 7
#define BENCH_K	   400
#define BENCH_K_STR   "400"
#define BENCH_K_LOCAL "400 local"

static const unsigned bench_cpus[] = {2, 4, 8};
#define BENCH_NCPUS (sizeof(bench_cpus) / sizeof(bench_cpus[0]))

/* Run ./vmm -q --cpus n --json - smp_bench.bin k (its arguments); *wall_ms and *exits from
 * its report.
 * Returns 0, or -1 (said on stderr). */
static int bench_one(const char *vmm, const char *image, unsigned n, const char *k,
		     double *wall_ms, double *exits)
{
	char cmd[8192], out[65536];
	size_t len;
	const char *w, *x;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s -q --cpus %u --json - %s %s", vmm, n, image, k);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	len = fread(out, 1, sizeof(out) - 1, p);
	out[len] = '\0';
	if (pclose(p) != 0 || !(w = strstr(out, "\"wall_ms\": ")) ||
	    !(x = strstr(out, "\"exits_total\": "))) {
		fprintf(stderr, "bench_smp: %s failed:\n%s", cmd, out);
		return -1;
	}
	*wall_ms = strtod(w + 11, NULL);
	*exits = strtod(x + 15, NULL);
	return 0;
}

int main(void)
{
	const char *root = getenv("PW_ROOT"), *build = getenv("PW_BUILD");
	static double us[BENCH_NCPUS][BENCH_RUNS], ex[BENCH_NCPUS][BENCH_RUNS];
	char vmm[4096], image[4096];

	if (!root || !build) {
		fputs("bench_smp: PW_ROOT and PW_BUILD must be set (make bench sets them)\n", stderr);
		return 1;
	}
	snprintf(vmm, sizeof(vmm), "%s/vmm", root);
	snprintf(image, sizeof(image), "%s/tests/guests/smp_bench.bin", build);
	for (unsigned r = 0; r < BENCH_RUNS; r++)
		for (unsigned i = 0; i < BENCH_NCPUS; i++) {
			double w0, x0, w1, x1;

			if (bench_one(vmm, image, bench_cpus[i], BENCH_K_LOCAL, &w0, &x0) < 0 ||
			    bench_one(vmm, image, bench_cpus[i], BENCH_K_STR, &w1, &x1) < 0)
				return 1;
			us[i][r] = (w1 - w0) * 1e3 / BENCH_K;
			ex[i][r] = (x1 - x0) / BENCH_K;
		}
	for (unsigned i = 0; i < BENCH_NCPUS; i++) {
		double u = bench_median(us[i], BENCH_RUNS), e = bench_median(ex[i], BENCH_RUNS);

		if (bench_cpus[i] == 4) {
			printf("BENCH shootdown_us %.2f us%s\n", u, bench_wall_note());
			printf("BENCH shootdown_exits %.3f exits\n", e);
		} else {
			printf("BENCH shootdown_%ucpu_us %.2f us%s\n", bench_cpus[i], u,
			       bench_wall_note());
			printf("BENCH shootdown_%ucpu_exits %.3f exits\n", bench_cpus[i], e);
		}
	}
	return 0;
}
