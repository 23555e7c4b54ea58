/* Campaign throughput: a standard campaign (2000 experiments, seed 1, --jobs 2) on the
 * workload guest, then the first 50 of the same experiments each as a fresh `./vmm --inject`
 * process. Prints BENCH campaign_exps_per_s and BENCH campaign_speedup. Then one worker's
 * campaign on smp_inject with 1 vCPU and with 4 (BENCH campaign_4cpu_cost_ratio). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"

#define BENCH_RUNS  2000
#define BENCH_FRESH 50
#define BENCH_SMP_RUNS 400 /* experiments on smp_inject, with 1 vCPU and with 4 */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run argv with stdout and stderr to /dev/null; returns the exit status or -1. */
static int run_quiet(char *const argv[])
{
	int st;
	pid_t pid;

	fflush(stdout); /* or the child repeats what is buffered */
	pid = fork();

	if (pid == 0) {
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Experiments per second of a one-worker campaign of BENCH_SMP_RUNS on smp_inject with cpus
 * vCPUs; 0 if it failed. */
static double smp_rate(const char *vmm, const char *build, const char *cpus)
{
	char image[4096], runs[16];
	double t;

	snprintf(image, sizeof(image), "%s/tests/guests/smp_inject.elf", build);
	snprintf(runs, sizeof(runs), "%d", BENCH_SMP_RUNS);
	char *argv[] = {(char *)vmm, "campaign", "--runs", runs, "--seed", "1", "--cpus",
			(char *)cpus, "--no-progress", image, NULL};
	t = now_s();
	if (run_quiet(argv) != 0) {
		fprintf(stderr, "bench_campaign: the --cpus %s campaign failed\n", cpus);
		return 0;
	}
	return BENCH_SMP_RUNS / (now_s() - t);
}

/* The same campaign on one vCPU and on four: what resetting and running the other three vCPUs
 * (their threads, local APICs and the irqchip) costs per experiment. */
static void bench_smp(const char *vmm, const char *build)
{
	double one = smp_rate(vmm, build, "1"), four = smp_rate(vmm, build, "4");

	if (one <= 0 || four <= 0)
		return;
	printf("BENCH campaign_1cpu_exps_per_s %.0f exps/s%s\n", one, bench_wall_note());
	printf("BENCH campaign_4cpu_exps_per_s %.0f exps/s%s\n", four, bench_wall_note());
	printf("BENCH campaign_4cpu_cost_ratio %.2f x%s\n", one / four, bench_wall_note());
}

int main(void)
{
	const char *root = getenv("PW_ROOT"), *build = getenv("PW_BUILD");
	char vmm[4096], image[4096], out[] = "/tmp/pw-bench-campaign.jsonl", line[2048];
	char runs[16];
	double t, camp, fresh;
	int n = 0;
	FILE *f;

	if (!root || !build) {
		fprintf(stderr, "bench_campaign: PW_ROOT and PW_BUILD must be set (make bench)\n");
		return 1;
	}
	snprintf(vmm, sizeof(vmm), "%s/vmm", root);
	snprintf(image, sizeof(image), "%s/tests/guests/workload.elf", build);
	snprintf(runs, sizeof(runs), "%d", BENCH_RUNS);
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("BENCH campaign_exps_per_s skipped (no /dev/kvm)\n");
		return 0;
	}
	char *camp_argv[] = {vmm, "campaign",	   "--runs", runs, "--seed", "1", "--jobs",
			     "2", "--no-progress", "--out",  out,  image,    NULL};
	t = now_s();
	if (run_quiet(camp_argv) != 0) {
		fprintf(stderr, "bench_campaign: the campaign failed\n");
		return 1;
	}
	camp = (now_s() - t) / BENCH_RUNS;
	printf("BENCH campaign_exps_per_s %.0f exps/s%s\n", 1.0 / camp, bench_wall_note());
	f = fopen(out, "r");
	if (!f)
		return 1;
	t = now_s();
	while (n < BENCH_FRESH && fgets(line, sizeof(line), f)) {
		char spec[256], *p = strstr(line, "\"spec\":\""), *e;

		if (!p || !(e = strchr(p + 8, '"')) || e - (p + 8) >= (long)sizeof(spec))
			continue;
		memcpy(spec, p + 8, (size_t)(e - (p + 8)));
		spec[e - (p + 8)] = '\0';
		char *one[] = {vmm, "-q", "--inject", spec, image, NULL};
		run_quiet(one);
		n++;
	}
	fresh = (now_s() - t) / (n ? n : 1);
	fclose(f);
	unlink(out);
	printf("BENCH campaign_fresh_process_ms %.2f ms%s\n", fresh * 1e3, bench_wall_note());
	printf("BENCH campaign_speedup %.1f x%s\n", fresh / camp, bench_wall_note());
	bench_smp(vmm, build);
	return 0;
}
