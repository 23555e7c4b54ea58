/* The peer, timed in the same run: the hello guest booted from process start to exit by ./vmm
 * and by QEMU (-M microvm, through the image's PVH entry), alternately, so that load on the
 * machine hits both alike. QEMU gets the machine scripts/qemu-run gives it (COM2 goes nowhere),
 * minus the script's own shell work: KVM where /dev/kvm is usable (then -cpu host), TCG otherwise (then both sides are
 * emulated, which the lines say).
 *   boot_hello_elf_ms                      ./vmm tests/guests/hello.elf
 *   boot_qemu_microvm_ms                   qemu-system-x86_64 -M microvm ... -kernel hello.elf
 *   boot_hello_vs_qemu_microvm_ratio       QEMU's time / ./vmm's (the target is >= 10 on KVM)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_spawn.h"
#include "bench_stats.h"

#define BENCH_RUNS   20
#define BENCH_WARMUP 2

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
				 "-smp", kvm ? "1" : "2", "-nodefaults", "-no-reboot", "-display",
				 "none", "-monitor", "none", "-serial", "stdio", "-chardev",
				 "null,id=pwrep", "-device", "isa-serial,chardev=pwrep,iobase=0x2f8,irq=3",
				 "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", hello,
				 NULL};

		for (int i = -BENCH_WARMUP; i < BENCH_RUNS; i++) {
			double v = bench_spawn_ms("bench_qemu", vargv, 0), q = bench_spawn_ms("bench_qemu", qargv, 1);

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
