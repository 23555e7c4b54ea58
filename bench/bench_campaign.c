/* Campaign throughput: a standard campaign (2000 experiments, seed 1, --jobs 2) on the
 * workload guest, then the first 50 of the same experiments each as a fresh `./vmm --inject`
 * process. Prints BENCH campaign_exps_per_s and BENCH campaign_speedup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"

#define BENCH_RUNS  2000
#define BENCH_FRESH 50

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
	return 0;
}
