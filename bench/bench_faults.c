/* What one fault costs, by the way it is caught, against two floors: a bare #PF (the guest's own
 * 4-instruction handler, no runtime, no exit) and one port-I/O exit.
 *
 * Each run is `./vmm -q --faults=MODE tests/guests/fault_bench.bin KIND N`: the guest runs one
 * untimed iteration of KIND, then N more through one loop that all kinds share, and prints the
 * loop's time in TSC cycles (tests/guests/fault_bench.c says what each kind does). N is set per
 * kind at the start, for about 40 ms of loop: some 30 faults or 2000 loop iterations on a host
 * that emulates guest ring-0 code, up to 10 million on hardware KVM. Runs alternate: each
 * repetition runs every kind, starting one kind later than the last, and each figure is a median
 * over the repetitions.
 *
 * What is timed: the vmm process's CPU time (user + system from wait4, which counts the guest's
 * time in KVM_RUN and the VMM's exit handling) for N iterations minus that of a run of the same
 * kind with 0 iterations, right before it, divided by N. Not the guest's rdtsc figure, though it
 * bounds the loop exactly: the TSC counts wall-clock time, and on a busy machine the vCPU thread
 * waits for a CPU for a good part of it (seen here: loops 1.5-3x longer than their CPU time with
 * other VMs running; CPU time moved by 5%). Subtraction is exact only if nothing outside the loop
 * costs more with N, which the guest sees to (its heap checks cost the same for any N); the
 * guest's rdtsc figure checks it: the CPU time per iteration may not exceed the loop's own time
 * per iteration (TSC rate from KVM_GET_TSC_KHZ) by more than BENCH_CPU_SLACK.
 *
 * Every figure is per iteration, minus the `loop` kind's (the same loop reading a mapped byte),
 * so it is what the fault or exit adds to an iteration that does one memory read:
 *   fault_loop_us       the subtracted baseline itself
 *   fault_probe_us      pw_probe_read of a mapped byte: the probe API's own cost, no fault
 *   fault_bare_us       #PF delivery on the IST stack, the 4-instruction handler, iretq
 *   fault_recovered_us  pw_probe_read of the null guard, reports off: the runtime catches and
 *                       unwinds it (fault_probe_us included), no exit
 *   fault_heapgrow_us   first read of a heap page, reports off: the runtime maps it and the read
 *                       retries (its page table exists: the untimed iteration allocated it)
 *   fault_reported_us   as recovered, plus its PW_HC_FAULT report (one exit)
 *   fault_vmm_us        the same probe under --faults=vmm: the VMM's stub exits, the VMM
 *                       classifies and unwinds (KVM_GET_REGS/SREGS, KVM_SET_REGS)
 *   pio_exit_us         one PW_HC_CHECKPOINT outl: an exit the VMM answers at once
 *   user_call_us        pw_user_call of a function returning its argument: SYSRET to CPL 3 and
 *                       SYSCALL back (against pio_exit_us: a ring round trip without an exit)
 *   fault_guest_ratio   recovered / bare
 *   fault_report_ratio  reported / (bare + pio)
 * -q keeps the VMM from writing a line per recovered fault; nothing else changes with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "bench_stats.h"

#define BENCH_RUNS	       21
#define BENCH_WARMUP	       1
#define BENCH_CPU_SLACK	       1.15 /* CPU time per iteration / the guest's loop time, at most */
#define BENCH_BUSY	       1.2 /* wall / CPU time of the runs above which the machine was busy */
#define BENCH_LOOP_US	       40000.0	 /* loop time per run the iteration counts aim at */
#define BENCH_PILOT	       10	 /* iterations of the first calibration run */
#define BENCH_MAX_ITERS	       10000000u /* tests/guests/fault_bench.c: MAX_ITERS */
#define BENCH_MAX_HEAP	       511u	 /* tests/guests/fault_bench.c: HEAP_SPAN - 1 */
#define BENCH_MAX_REPORTS      60000u /* below the VMM's fault list limit: every one is recorded */
#define BENCH_OUT_MAX	       4096
#define BENCH_TSC_CALIBRATE_US 50000.0

enum bench_kind {
	K_LOOP,
	K_PROBE,
	K_BARE,
	K_RECOVERED,
	K_HEAP,
	K_REPORTED,
	K_VMM,
	K_PIO,
	K_USER,
	K_COUNT
};

/* A kind as the guest names it, the --faults mode it runs under, and the most iterations the
 * guest takes for it. */
static const struct bench_spec {
	const char *kind;
	const char *mode;
	unsigned max_iters;
} bench_specs[K_COUNT] = {
    [K_LOOP] = {"loop", "--faults=guest", BENCH_MAX_ITERS},
    [K_PROBE] = {"probe", "--faults=guest", BENCH_MAX_ITERS},
    [K_BARE] = {"bare", "--faults=guest", BENCH_MAX_ITERS},
    [K_RECOVERED] = {"recovered", "--faults=guest", BENCH_MAX_ITERS},
    [K_HEAP] = {"heap-grow", "--faults=guest", BENCH_MAX_HEAP},
    [K_REPORTED] = {"reported", "--faults=guest", BENCH_MAX_REPORTS},
    [K_VMM] = {"vmm", "--faults=vmm", BENCH_MAX_REPORTS},
    [K_PIO] = {"pio", "--faults=guest", BENCH_MAX_ITERS},
    [K_USER] = {"user-call", "--faults=guest", BENCH_MAX_ITERS},
};

/* What every run needs. */
struct bench {
	char vmm[4096], image[4096];
	double tsc_khz;
	unsigned iters[K_COUNT]; /* per kind, for about BENCH_LOOP_US of loop (bench_calibrate) */
};

/* One finished run. */
struct bench_run {
	double cpu_us;	/* the vmm process's user + system time */
	double wall_us; /* spawn to reaped */
	double loop_us; /* the guest's loop, from its TSC */
};

/* CLOCK_MONOTONIC in microseconds. */
static double bench_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* KVM_GET_TSC_KHZ of a throwaway vCPU: the rate a guest's TSC runs at, or -1 without it. */
static int bench_kvm_tsc_khz(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm = kvm >= 0 ? ioctl(kvm, KVM_CREATE_VM, 0) : -1;
	int cpu = vm >= 0 ? ioctl(vm, KVM_CREATE_VCPU, 0) : -1;
	int khz = cpu >= 0 ? ioctl(cpu, KVM_GET_TSC_KHZ, 0) : -1;

	if (cpu >= 0)
		close(cpu);
	if (vm >= 0)
		close(vm);
	if (kvm >= 0)
		close(kvm);
	return khz;
}

/* The guest's TSC rate in kHz: KVM's word for it, or else the host's TSC against
 * CLOCK_MONOTONIC (KVM runs a guest's TSC at the host's rate unless the VMM scales it). */
static double bench_tsc_khz(void)
{
	int khz = bench_kvm_tsc_khz();
	unsigned long long c0, c1;
	double t0, t1;

	if (khz > 0)
		return khz;
	t0 = bench_now_us();
	c0 = __rdtsc();
	while ((t1 = bench_now_us()) - t0 < BENCH_TSC_CALIBRATE_US)
		;
	c1 = __rdtsc();
	return (double)(c1 - c0) / (t1 - t0) * 1e3;
}

/* Run argv with stdout into out (NUL-terminated) and stderr on /dev/null; *wall_us and *cpu_us
 * get its wall and CPU time. Returns its exit status, or -1 if it did not exit normally. */
static int bench_spawn(char *const argv[], char *out, size_t n, double *wall_us, double *cpu_us)
{
	struct rusage ru;
	size_t len = 0;
	int p[2], status;
	double start;
	ssize_t got;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(stdout); /* or the child repeats what is buffered */
	start = bench_now_us();
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null < 0 || dup2(p[1], 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && (got = read(p[0], out + len, n - 1 - len)) != 0)
		if (got > 0)
			len += (size_t)got;
		else if (errno != EINTR)
			break;
	out[len] = '\0';
	close(p[0]);
	if (pid < 0)
		return -1;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR)
			return -1;
	*wall_us = bench_now_us() - start;
	*cpu_us = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
		  (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run kind k with iters iterations into *r. False (with a message) if the guest failed or said
 * something else than its result line. */
static bool bench_run(const struct bench *b, enum bench_kind k, unsigned iters, struct bench_run *r)
{
	const struct bench_spec *s = &bench_specs[k];
	char out[BENCH_OUT_MAX], *line = NULL, kind[32], n[16];
	char *argv[] = {
	    (char *)b->vmm, "-q", (char *)s->mode, (char *)b->image, (char *)s->kind, n, NULL};
	unsigned long long cycles;
	unsigned got_iters;
	int st;

	snprintf(n, sizeof(n), "%u", iters);
	st = bench_spawn(argv, out, sizeof(out), &r->wall_us, &r->cpu_us);
	if (st == 0)
		line = strstr(out, "fault-bench ");
	if (!line ||
	    sscanf(line, "fault-bench %31s %u %llu cycles", kind, &got_iters, &cycles) != 3 ||
	    strcmp(kind, s->kind) != 0 || got_iters != iters) {
		fprintf(stderr, "bench_faults: %s %s %u: status %d, output:\n%s", s->mode, s->kind,
			iters, st, out);
		return false;
	}
	r->loop_us = (double)cycles / b->tsc_khz * 1e3;
	return true;
}

/* Set b->iters[k] for about BENCH_LOOP_US of loop: run BENCH_PILOT iterations, then 8 times more
 * until the loop lasts an eighth of that (so the estimate is not one of cold caches), and scale. */
static bool bench_calibrate(struct bench *b, enum bench_kind k)
{
	unsigned n = BENCH_PILOT, max = bench_specs[k].max_iters;
	struct bench_run r;
	double want;

	for (;;) {
		if (!bench_run(b, k, n, &r))
			return false;
		if (r.loop_us >= BENCH_LOOP_US / 8 || n == max)
			break;
		n = n > max / 8 ? max : n * 8;
	}
	want = (double)n * BENCH_LOOP_US / (r.loop_us > 0 ? r.loop_us : 1);
	b->iters[k] = want < 1 ? 1 : want > max ? max : (unsigned)want;
	return true;
}

/* CPU and TSC time per iteration of kind k, from a run of its count after a run of 0. */
static bool bench_measure(const struct bench *b, enum bench_kind k, double *cpu_us, double *tsc_us,
			  double *busy)
{
	unsigned n = b->iters[k];
	struct bench_run zero, full;

	if (!bench_run(b, k, 0, &zero) || !bench_run(b, k, n, &full))
		return false;
	*cpu_us = (full.cpu_us - zero.cpu_us) / n;
	*tsc_us = full.loop_us / n;
	*busy = full.wall_us / full.cpu_us;
	return true;
}

/* Paths from PW_ROOT/PW_BUILD, the TSC rate and every kind's iteration count. */
static bool bench_init(struct bench *b, const char *root, const char *build)
{
	snprintf(b->vmm, sizeof(b->vmm), "%s/vmm", root);
	snprintf(b->image, sizeof(b->image), "%s/tests/guests/fault_bench.bin", build);
	b->tsc_khz = bench_tsc_khz();
	fputs("bench_faults: iterations per run:", stderr);
	for (int k = 0; k < K_COUNT; k++) {
		if (!bench_calibrate(b, (enum bench_kind)k))
			return false;
		fprintf(stderr, " %s %u", bench_specs[k].kind, b->iters[k]);
	}
	fputc('\n', stderr);
	return true;
}

/* Every repetition of every kind, alternating; *med gets each kind's median CPU time per
 * iteration. False if a run failed or the guest's loop time contradicts the CPU time. */
static bool bench_collect(const struct bench *b, double med[K_COUNT])
{
	static double cpu[K_COUNT][BENCH_RUNS], tsc[K_COUNT][BENCH_RUNS],
	    busy[K_COUNT * BENCH_RUNS];
	double loop, busy_med;

	for (int i = -BENCH_WARMUP; i < BENCH_RUNS; i++)
		for (int j = 0; j < K_COUNT; j++) {
			enum bench_kind k = (enum bench_kind)((i + BENCH_WARMUP + j) % K_COUNT);
			double c, t, w;

			if (!bench_measure(b, k, &c, &t, &w))
				return false;
			if (i >= 0) {
				cpu[k][i] = c;
				tsc[k][i] = t;
				busy[i * K_COUNT + k] = w;
			}
		}
	busy_med = bench_median(busy, K_COUNT * BENCH_RUNS);
	if (busy_med > BENCH_BUSY)
		fprintf(stderr, "bench_faults: a busy machine: runs took %.1fx their CPU time\n",
			busy_med);
	for (int k = 0; k < K_COUNT; k++) {
		med[k] = bench_median(cpu[k], BENCH_RUNS);
		loop = bench_median(tsc[k], BENCH_RUNS);
		if (med[k] > BENCH_CPU_SLACK * loop) {
			fprintf(
			    stderr,
			    "bench_faults: %s: %.2f us of CPU per iteration, but its loop takes "
			    "%.2f us: something outside the loop costs more with N\n",
			    bench_specs[k].kind, med[k], loop);
			return false;
		}
	}
	return true;
}

/* Print the BENCH lines from the medians, net of the loop; 1 if a floor is not above it. */
static int bench_print(const double med[K_COUNT])
{
	double net[K_COUNT];

	for (int k = 0; k < K_COUNT; k++)
		net[k] = med[k] - med[K_LOOP];
	if (net[K_BARE] <= 0 || net[K_PIO] <= 0) {
		fprintf(stderr,
			"bench_faults: a floor is not above the loop (bare %.2f us, pio %.2f us): "
			"the measurement failed\n",
			net[K_BARE], net[K_PIO]);
		return 1;
	}
	printf("BENCH fault_loop_us %.2f us%s\n", med[K_LOOP], bench_wall_note());
	printf("BENCH fault_probe_us %.2f us%s\n", net[K_PROBE], bench_wall_note());
	printf("BENCH fault_bare_us %.2f us%s\n", net[K_BARE], bench_wall_note());
	printf("BENCH fault_recovered_us %.2f us%s\n", net[K_RECOVERED], bench_wall_note());
	printf("BENCH fault_heapgrow_us %.2f us%s\n", net[K_HEAP], bench_wall_note());
	printf("BENCH fault_reported_us %.2f us%s\n", net[K_REPORTED], bench_wall_note());
	printf("BENCH fault_vmm_us %.2f us%s\n", net[K_VMM], bench_wall_note());
	printf("BENCH pio_exit_us %.2f us%s\n", net[K_PIO], bench_wall_note());
	printf("BENCH user_call_us %.2f us%s\n", net[K_USER], bench_wall_note());
	printf("BENCH fault_guest_ratio %.2f x%s\n", net[K_RECOVERED] / net[K_BARE],
	       bench_wall_note());
	printf("BENCH fault_report_ratio %.2f x%s\n", net[K_REPORTED] / (net[K_BARE] + net[K_PIO]),
	       bench_wall_note());
	return 0;
}

int main(void)
{
	const char *root = getenv("PW_ROOT"), *build = getenv("PW_BUILD");
	static struct bench b;
	double med[K_COUNT];

	if (!root || !build) {
		fputs("bench_faults: PW_ROOT and PW_BUILD must be set (make bench sets them)\n",
		      stderr);
		return 1;
	}
	if (access("/dev/kvm", R_OK | W_OK) != 0) {
		printf("BENCH fault_bare_us skipped (no /dev/kvm)\n");
		return 0;
	}
	if (!bench_init(&b, root, build) || !bench_collect(&b, med))
		return 1;
	return bench_print(med);
}
