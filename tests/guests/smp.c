/* --cpus N (docs/smp.md), one mode per run, named on the command line:
 *   hello     every CPU says who it is; a spinlock-protected counter reaches CPUs x 10000
 *   unmap     CPU 1 reads a page in a loop; CPU 0 unmaps it with pw_pt_apply_flush: CPU 1's next
 *             read must fault (unmapped, on CPU 1)
 *   protect   the same with a write loop and a protect to read-only (write-protect, CPU 1)
 *   split     the same on a 4 KiB piece of a 2 MiB page (run with -m 512M), split by the protect
 *   noipi     unmap without the IPIs: prints whether CPU 1 still read the page through a stale
 *             translation (exit 0), or faults (unmapped, CPU 1)
 *   stack     CPU 3 overflows its stack into its guard page (stack-overflow, CPU 3)
 *   guards    every CPU touches its own stack guard with pw_expect_fault and recovers
 *   spin      every CPU spins for ever (for --timeout)
 *   remote    CPU 1 reads the page once, then waits; CPU 2 unmaps it and flushes (4 CPUs) while
 *             CPU 0 waits in pw_cpus_run and CPU 3 in the runtime, prints the acknowledgements
 *             it got (3), then lets CPU 1 read again: that read must fault
 *   heap      every CPU grows the heap at once, in a 2 MiB piece shared by all (every CPU's
 *             first touch of the same pages) and in a piece of its own (a new page table
 *             each), then CPU 0 reads back what every CPU wrote: exit 7 if a mark is wrong
 *             (two CPUs took the same table frame); a mapping that fails crashes
 * Exit 0 when a mode that must not crash passes; 3 for a stale read after a shootdown. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>
#include <pagewarden/smp.h>

/* A page of its own, in bss: unmapping it touches nothing else. */
static volatile uint64_t victim_page[512] __attribute__((aligned(4096)));
static volatile uint64_t *victim;
static volatile int phase; /* 0: starting, 1: CPU 1 uses the page, 2: the change is flushed */
static volatile uint64_t stale_reads;
static struct pw_spinlock lock;
static volatile uint64_t counter;

#define STALE_TRIES 2000000

static void say_hello(unsigned cpu, void *arg)
{
	(void)arg;
	for (int i = 0; i < 10000; i++) {
		pw_spin_lock(&lock);
		counter++;
		pw_spin_unlock(&lock);
	}
	printf("cpu %u of %u: id %u\n", cpu, pw_cpu_count(), pw_cpu_id());
}

/* CPU 1: use the victim until phase 2; any use that completes after it saw phase 2 is a stale
 * translation. mode 'w' writes, else reads. */
static void user_loop(int mode)
{
	for (;;) {
		int p = phase;

		if (mode == 'w')
			*victim = 1;
		else
			(void)*victim;
		if (p == 2) {
			printf("stale %s on CPU 1 after pw_pt_apply_flush returned\n",
			       mode == 'w' ? "write" : "read");
			exit(3);
		}
		if (p == 0)
			phase = 1;
	}
}

/* CPU 1 without a shootdown: count the reads that still complete. */
static void stale_loop(void)
{
	for (;;) {
		int p = phase;

		(void)*victim;
		if (p == 0)
			phase = 1;
		if (p == 2 && ++stale_reads == STALE_TRIES) {
			printf("stale translation observed: CPU 1 read the unmapped page %d more "
			       "times\n",
			       STALE_TRIES);
			exit(0);
		}
	}
}

/* CPU 0: once CPU 1 has used the page, make change (unmap or protect), flush it everywhere, and
 * wait for CPU 1 to fault (which ends the run). */
static void change_and_wait(char change)
{
	struct pt_flush fl;
	enum pt_err err;

	while (phase != 1)
		__asm__ volatile("pause");
	pt_flush_init(&fl);
	if (change == 'u')
		err = pt_unmap_region(pw_live_pt(), (uint64_t)(uintptr_t)victim, PW_PAGE_SIZE, 0, &fl);
	else
		err = pt_protect_region(pw_live_pt(), (uint64_t)(uintptr_t)victim, PW_PAGE_SIZE,
					PT_READ, 0, &fl);
	if (err)
		panic("changing the page: %s", pt_strerror(err));
	pw_pt_apply_flush(&fl);
	phase = 2;
	for (unsigned long i = 0; i < 4000000000ul; i++)
		__asm__ volatile("pause");
	printf("CPU 1 neither faulted nor saw the change\n");
	exit(4);
}

static const char *mode;

#define HEAP_PAGES 16 /* per CPU, from the start of its 2 MiB piece */

/* The first page of the heap's n-th piece of 2 MiB (from the first 2 MiB boundary in it): piece
 * 0 is every CPU's, piece cpu + 1 that CPU's own. */
static volatile uint64_t *heap_piece(unsigned n)
{
	uint64_t start = (pw_boot_info()->heap_start + PT_SIZE_2M - 1) & ~(PT_SIZE_2M - 1);

	return (volatile uint64_t *)(uintptr_t)(start + n * PT_SIZE_2M);
}

/* CPU cpu's mark for page i. */
static uint64_t heap_mark(unsigned cpu, unsigned i)
{
	return (uint64_t)cpu << 32 | i;
}

/* Touch the shared piece's pages (word cpu of each) and this CPU's own, each first touch a
 * heap-grow fault, each with this CPU's mark. */
static void grow_heap(unsigned cpu, void *arg)
{
	volatile uint64_t *shared = heap_piece(0), *own = heap_piece(cpu + 1);

	(void)arg;
	for (unsigned i = 0; i < HEAP_PAGES; i++) {
		shared[i * 512 + cpu] = heap_mark(cpu, i);
		own[i * 512] = heap_mark(cpu, i);
	}
}

/* heap: grow on every CPU at once, then check every mark. */
static int heap_check(void)
{
	unsigned n = pw_cpu_count(), bad = 0;

	if ((uint64_t)(uintptr_t)heap_piece(n + 1) > pw_boot_info()->heap_end)
		panic("the heap is too small for %u pieces of 2 MiB", n + 1);
	pw_cpus_run(grow_heap, NULL);
	for (unsigned cpu = 0; cpu < n; cpu++)
		for (unsigned i = 0; i < HEAP_PAGES; i++) {
			bad += heap_piece(0)[i * 512 + cpu] != heap_mark(cpu, i);
			bad += heap_piece(cpu + 1)[i * 512] != heap_mark(cpu, i);
		}
	printf("heap: %u of %u marks wrong\n", bad, 2 * n * HEAP_PAGES);
	return bad ? 7 : 0;
}

/* remote: CPU 2 is the one that changes the page and sends the shootdown. */
static void remote_change(void)
{
	struct pt_flush fl;
	unsigned acks;

	while (phase != 1)
		__asm__ volatile("pause");
	pt_flush_init(&fl);
	if (pt_unmap_region(pw_live_pt(), (uint64_t)(uintptr_t)victim, PW_PAGE_SIZE, 0, &fl))
		panic("unmapping the page failed");
	acks = pw_pt_apply_flush(&fl);
	printf("acks %u\n", acks);
	pw_flush();
	phase = 2;
	for (;;)
		__asm__ volatile("pause");
}

static void shootdown(unsigned cpu, void *arg)
{
	(void)arg;
	if (strcmp(mode, "remote") == 0) {
		if (cpu == 1) { /* use the page once, then only after the shootdown returned */
			(void)*victim;
			phase = 1;
			while (phase != 2)
				__asm__ volatile("pause");
			(void)*victim;
			printf("stale read on CPU 1 after pw_pt_apply_flush returned\n");
			exit(3);
		}
		if (cpu == 2)
			remote_change();
		return; /* CPU 0 waits in pw_cpus_run, CPU 3 in the runtime */
	}
	if (cpu == 1) {
		if (strcmp(mode, "noipi") == 0)
			stale_loop();
		user_loop(strcmp(mode, "unmap") == 0 ? 'r' : 'w');
	}
	if (cpu == 0)
		change_and_wait(strcmp(mode, "unmap") == 0 || strcmp(mode, "noipi") == 0 ? 'u' : 'p');
}

/* Recurse until the stack's guard page stops it; never reached, and volatile so the compiler
 * cannot prove the recursion infinite. */
static volatile unsigned long stack_limit = ~0ul;

static unsigned long recurse(unsigned long n)
{
	volatile char pad[256];

	pad[0] = (char)n;
	if (n == stack_limit)
		return n;
	return recurse(n + 1) + pad[0]; /* pad read after the call: no loop */
}

static void spin(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	for (;;)
		__asm__ volatile("pause");
}

static void stack_overflow(unsigned cpu, void *arg)
{
	(void)arg;
	if (cpu == 3)
		printf("CPU 3 overflows its stack: %lu\n", recurse(0));
}

/* Each CPU reads the guard page below its own stack and must catch a stack-overflow. */
static volatile unsigned guards_caught;

static void touch_guard(unsigned cpu, void *arg)
{
	const struct pw_boot_info *bi = pw_boot_info();
	uint64_t guard = cpu == 0 ? PW_STACK_GUARD_GPA
				  : bi->percpu_base + (cpu - 1) * PW_PERCPU_SIZE +
					PW_PERCPU_STACK_GUARD;
	struct pw_fault f;

	(void)arg;
	if (pw_probe_read(guard + 8, &f) && f.kind == PW_FAULT_STACK_OVERFLOW && f.cr2 == guard + 8)
		__atomic_add_fetch(&guards_caught, 1, __ATOMIC_SEQ_CST);
	printf("cpu %u: %s #PF at 0x%llx\n", cpu, pw_fault_kind_name(f.kind),
	       (unsigned long long)f.cr2);
}

int main(void)
{
	mode = pw_cmdline();
	victim = victim_page;
	if (strcmp(mode, "split") == 0) {
		uint64_t size = 0;

		victim = (volatile uint64_t *)(uintptr_t)(pw_boot_info()->heap_end + PW_PAGE_SIZE);
		if (pt_query(pw_live_pt(), (uint64_t)(uintptr_t)victim, NULL, NULL, &size) ||
		    size != PT_SIZE_2M)
			panic("0x%llx is not in a 2 MiB page (run with -m 512M)",
			      (unsigned long long)(uintptr_t)victim);
		printf("victim 0x%llx in a 2 MiB page\n", (unsigned long long)(uintptr_t)victim);
	}
	if (strcmp(mode, "hello") == 0) {
		pw_cpus_run(say_hello, NULL);
		printf("counter %llu\n", (unsigned long long)counter);
		return counter == 10000ull * pw_cpu_count() ? 0 : 1;
	}
	if (strcmp(mode, "spin") == 0)
		pw_cpus_run(spin, NULL);
	if (strcmp(mode, "heap") == 0)
		return heap_check();
	if (strcmp(mode, "stack") == 0) {
		printf("percpu_base 0x%llx\n", (unsigned long long)pw_boot_info()->percpu_base);
		pw_cpus_run(stack_overflow, NULL);
		return 5;
	}
	if (strcmp(mode, "guards") == 0) {
		pw_cpus_run(touch_guard, NULL);
		printf("%u of %u stack guards caught\n", guards_caught, pw_cpu_count());
		return guards_caught == pw_cpu_count() ? 0 : 1;
	}
	if (strcmp(mode, "noipi") == 0)
		pw_shootdown_remote(false);
	printf("victim at 0x%llx, mode %s\n", (unsigned long long)(uintptr_t)victim, mode);
	pw_cpus_run(shootdown, NULL);
	return 6;
}
