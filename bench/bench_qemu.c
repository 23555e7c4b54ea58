/* The peer, timed in the same run: the hello guest booted from process start to exit by ./vmm
 * and by QEMU (-M microvm, through the image's PVH entry), alternately, so that load on the
 * machine hits both alike. QEMU gets what scripts/qemu-run gives it, minus the script's own
 * shell work: KVM where /dev/kvm is usable (then -cpu host), TCG otherwise (then both sides are
 * emulated, which the lines say).
 *   boot_hello_elf_ms                      ./vmm tests/guests/hello.elf
 *   boot_qemu_microvm_ms                   qemu-system-x86_64 -M microvm ... -kernel hello.elf
 *   boot_hello_vs_qemu_microvm_ratio       QEMU's time / ./vmm's (the target is >= 10 on KVM)
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_stats.h"

#define BENCH_RUNS   20
#define BENCH_WARMUP 2

extern char **environ;

static double bench_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Run argv with stdout and stderr on /dev/null; returns its wall time in ms, or -1 if it
 * could not run or did not exit with status want. */
static double bench_run(char *const argv[], int want)
{
	posix_spawn_file_actions_t fa;
	double start, end;
	int status = 0;
	pid_t pid;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	start = bench_now_ms();
	err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "bench_qemu: %s: %s\n", argv[0], strerror(err));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	end = bench_now_ms();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != want) {
		fprintf(stderr, "bench_qemu: %s failed (status 0x%x)\n", argv[0], status);
		return -1;
	}
	return end - start;
}

/* True if /dev/kvm opens read-write (scripts/qemu-run's test). */
static int kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

int main(void)
{
	const char *root = getenv("PW_ROOT"), *build = getenv("PW_BUILD");
	char vmm[4096], hello[4096];
	static double tv[BENCH_RUNS], tq[BENCH_RUNS];
	int kvm = kvm_usable();
	const char *note;
	double mv, mq;

	if (!root || !build) {
		fputs("bench_qemu: PW_ROOT and PW_BUILD must be set (make bench sets them)\n", stderr);
		return 1;
	}
	if (system("command -v qemu-system-x86_64 >/dev/null 2>&1") != 0) {
		puts("bench_qemu: skipped: no qemu-system-x86_64 (apt-get install qemu-system-x86)");
		return 0;
	}
	snprintf(vmm, sizeof(vmm), "%s/vmm", root);
	snprintf(hello, sizeof(hello), "%s/tests/guests/hello.elf", build);
	{
		char *vargv[] = {vmm, hello, NULL};
		/* isa-debug-exit turns the guest's exit 0 into QEMU's status 1. */
		char *qargv[] = {"qemu-system-x86_64", "-M", "microvm", "-accel", kvm ? "kvm" : "tcg",
				 "-cpu", kvm ? "host,-arch-capabilities" : "max", "-m", "64M",
				 "-nodefaults", "-no-reboot", "-display", "none", "-monitor", "none",
				 "-serial", "stdio", "-device",
				 "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", hello, NULL};

		for (int i = -BENCH_WARMUP; i < BENCH_RUNS; i++) {
			double v = bench_run(vargv, 0), q = bench_run(qargv, 1);

			if (v < 0 || q < 0)
				return 1;
			if (i >= 0) {
				tv[i] = v;
				tq[i] = q;
			}
		}
	}
	mv = bench_median(tv, BENCH_RUNS);
	mq = bench_median(tq, BENCH_RUNS);
	/* With TCG QEMU emulates the CPU while ./vmm runs on KVM, or, in the KVM VM, both run on
	 * an emulated CPU: the ratio is then no measure of the two VMMs alone. */
	note = kvm ? bench_wall_note() : " emulated (QEMU on TCG: both sides are emulated or QEMU's is)";
	printf("BENCH boot_hello_elf_ms %.3f ms%s\n", mv, bench_wall_note());
	printf("BENCH boot_qemu_microvm_ms %.3f ms %s%s\n", mq, kvm ? "kvm" : "tcg", note);
	printf("BENCH boot_hello_vs_qemu_microvm_ratio %.2f x %s%s\n", mq / mv, kvm ? "kvm" : "tcg",
	       note);
	return 0;
}
