/* The cost of a TLB shootdown (bench/bench_smp.c): CPU 0 flips one page between read-only and
 * read-write K times (the command line: "K", or "K local"), each change carried to every CPU by
 * pw_pt_apply_flush, while the other CPUs wait in the runtime (hlt) and take the IPIs; with
 * "local", pw_pt_apply_flush invalidates on CPU 0 only (the baseline: the same flips, no
 * shootdown). Prints the shootdowns done, and exits 0 if they are what was asked. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>
#include <pagewarden/smp.h>

static volatile uint64_t page[512] __attribute__((aligned(4096)));

int main(void)
{
	const char *arg = pw_cmdline();
	uint64_t va = (uint64_t)(uintptr_t)page, k = 0;

	bool local;

	for (; *arg >= '0' && *arg <= '9'; arg++)
		k = k * 10 + (uint64_t)(*arg - '0');
	local = strcmp(arg, " local") == 0;
	pw_shootdown_remote(!local);
	page[0] = 1;
	for (uint64_t i = 0; i < k; i++) {
		struct pt_flush fl;

		pt_flush_init(&fl);
		if (pt_protect_region(pw_live_pt(), va, PW_PAGE_SIZE,
				      i % 2 ? PT_READ | PT_WRITE : PT_READ, 0, &fl) != PT_OK)
			panic("protect failed");
		pw_pt_apply_flush(&fl);
	}
	printf("shootdowns %llu on %u CPUs\n", (unsigned long long)pw_shootdown_count(),
	       pw_cpu_count());
	return pw_shootdown_count() == (local || pw_cpu_count() == 1 ? 0 : k) ? 0 : 1;
}
