/* Measures what a caught fault costs inside the guest, with rdtsc (TSC cycles):
 * an expected #PF (pw_probe_read of the null page) and a heap-growth #PF (first touch of a heap
 * page: map it, retry), both with reports off (no exit), and an expected #PF with its report
 * (one exit each). Prints "fault-cost NAME N cycles/fault" lines and exits 0. */
#include <pagewarden/guest.h>

/* Small counts: on a host that emulates guest ring-0 code one fault takes ~0.4 ms. */
#define EXPECTED_FAULTS 1000
#define HEAP_PAGES	500
#define REPORTED_FAULTS 100

/* The time-stamp counter. */
static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Cycles per expected null-page fault over n probes; 0 if one did not fault. */
static uint64_t expected_faults(unsigned n)
{
	uint64_t t0 = rdtsc();

	for (unsigned i = 0; i < n; i++)
		if (!pw_probe_read(0x10, NULL))
			return 0;
	return (rdtsc() - t0) / n;
}

/* Cycles per heap page grown over n first touches. */
static uint64_t heap_faults(unsigned n)
{
	const struct pw_boot_info *bi = pw_boot_info();
	uint64_t t0 = rdtsc();

	for (unsigned i = 0; i < n && bi->heap_start + (i + 1) * PW_PAGE_SIZE <= bi->heap_end; i++)
		*(volatile uint8_t *)(uintptr_t)(bi->heap_start + i * PW_PAGE_SIZE) = 1;
	return (rdtsc() - t0) / n;
}

int main(void)
{
	uint64_t quiet, heap, reported;

	pw_fault_reports(false);
	quiet = expected_faults(EXPECTED_FAULTS);
	heap = heap_faults(HEAP_PAGES);
	pw_fault_reports(true);
	reported = expected_faults(REPORTED_FAULTS);
	printf("fault-cost expected %d %lu cycles/fault\n", EXPECTED_FAULTS, quiet);
	printf("fault-cost heap-grow %d %lu cycles/fault\n", HEAP_PAGES, heap);
	printf("fault-cost expected-reported %d %lu cycles/fault\n", REPORTED_FAULTS, reported);
	return quiet && reported ? 0 : 1;
}
