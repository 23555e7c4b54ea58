/* How long a whole guest boot takes, process start to exit, against the floor: a raw-KVM
 * program (bench/helpers/rawkvm) that creates a VM and runs one hlt in long mode.
 *
 * Runs alternate (vmm hello, rawkvm, vmm hlt, ...) so that load on the machine hits all of them
 * alike; medians resist the outliers a shared machine produces.
 *   boot_hello_ms   ./vmm tests/guests/hello.bin: the runtime boots, prints a line, exits
 *   boot_rawkvm_ms  the floor
 *   boot_hlt_ms     ./vmm on a one-byte flat image (hlt): the VMM's own cost, no guest code
 * The ratios divide by the floor. hello's ratio also pays for the guest's own instructions,
 * which nested hosts that emulate ring-0 guest code make expensive (docs/cli.md).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_spawn.h"
#include "bench_stats.h"

#define BENCH_RUNS   60
#define BENCH_WARMUP 3

enum bench_kind { BENCH_HELLO, BENCH_RAWKVM, BENCH_HLT, BENCH_KINDS };


/* A one-byte flat image, `hlt`, in a temporary file; path receives its name. */
static int bench_hlt_image(char *path, size_t n)
{
	int fd;

	snprintf(path, n, "/tmp/pw-bench-hlt-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0 || write(fd, "\xf4", 1) != 1) {
		fprintf(stderr, "bench_boot: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int main(void)
{
	const char *root = getenv("PW_ROOT"), *build = getenv("PW_BUILD");
	char vmm[4096], hello[4096], raw[4096], hlt[64];
	static double t[BENCH_KINDS][BENCH_RUNS];
	double med[BENCH_KINDS];
	int rc = 1;

	if (!root || !build) {
		fputs("bench_boot: PW_ROOT and PW_BUILD must be set (make bench sets them)\n",
		      stderr);
		return 1;
	}
	snprintf(vmm, sizeof(vmm), "%s/vmm", root);
	snprintf(hello, sizeof(hello), "%s/tests/guests/hello.bin", build);
	snprintf(raw, sizeof(raw), "%s/bench/helpers/rawkvm", build);
	if (bench_hlt_image(hlt, sizeof(hlt)) < 0)
		return 1;
	{
		char *argv[BENCH_KINDS][4] = {
		    [BENCH_HELLO] = {vmm, hello, NULL},
		    [BENCH_RAWKVM] = {raw, NULL},
		    [BENCH_HLT] = {vmm, "-q", hlt, NULL},
		};

		for (int i = -BENCH_WARMUP; i < BENCH_RUNS; i++) {
			for (int k = 0; k < BENCH_KINDS; k++) {
				double ms = bench_spawn_ms("bench_boot", argv[k], 0);

				if (ms < 0)
					goto out;
				if (i >= 0)
					t[k][i] = ms;
			}
		}
	}
	for (int k = 0; k < BENCH_KINDS; k++)
		med[k] = bench_median(t[k], BENCH_RUNS);
	printf("BENCH boot_hello_ms %.3f ms%s\n", med[BENCH_HELLO], bench_wall_note());
	printf("BENCH boot_rawkvm_ms %.3f ms%s\n", med[BENCH_RAWKVM], bench_wall_note());
	printf("BENCH boot_hello_ratio %.2f x%s\n", med[BENCH_HELLO] / med[BENCH_RAWKVM],
	       bench_wall_note());
	printf("BENCH boot_hlt_ms %.3f ms%s\n", med[BENCH_HLT], bench_wall_note());
	printf("BENCH boot_hlt_ratio %.2f x%s\n", med[BENCH_HLT] / med[BENCH_RAWKVM],
	       bench_wall_note());
	rc = 0;
out:
	unlink(hlt);
	return rc;
}
