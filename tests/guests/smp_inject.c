/* --cpus N fault injection (docs/smp.md): a target whose every CPU's result is exact. Before
 * its checkpoint (the snapshot point) CPU 0 brings the others up and lets them go idle (halted
 * in the runtime), then prints a line. After it, every CPU runs si_loop, which adds RCX = 5, 4,
 * .., 1 to RDX: 15, plus the CPU's number, is its result. Each CPU prints its own line; CPU 0
 * exits with the sum of (K + 1) times CPU K's result: 170 for 4 CPUs. Flipping bit 0 of RCX at
 * CPU K's 2nd arrival at si_loop makes its loop add 20 instead of 15: exit 170 + 5 (K + 1),
 * and only CPU K's line differs. Every CPU also probes the null page with pw_probe_read, before
 * the checkpoint and after it: under --faults=vmm each CPU's expected fault is unwound through
 * its own recovery record, which it registered before the snapshot. */
#include <pagewarden/guest.h>
#include <pagewarden/smp.h>

static volatile uint64_t result[PW_MAX_CPUS];

/* An expected fault on this CPU: the null page must fault, and be reported as null. */
static void probe_null(unsigned cpu)
{
	struct pw_fault f;

	if (!pw_probe_read(0, &f) || f.kind != PW_FAULT_NULL)
		panic("cpu %u: the null page did not fault as null", cpu);
}

/* si_loop's sum for this CPU, plus its number. */
static void work(unsigned cpu, void *arg)
{
	uint64_t sum = 0;

	(void)arg;
	probe_null(cpu);
	__asm__ volatile("mov $5, %%ecx\n"
			 ".globl si_loop\nsi_loop: add %%rcx, %0\n"
			 "dec %%ecx\n"
			 "jnz si_loop\n"
			 : "+r"(sum)
			 :
			 : "rcx", "cc");
	result[cpu] = sum + cpu;
	printf("cpu %u: %llu\n", cpu, (unsigned long long)result[cpu]);
}

/* A round trip that leaves every other CPU idle, after its first expected fault. */
static void idle(unsigned cpu, void *arg)
{
	(void)arg;
	probe_null(cpu);
}

int main(void)
{
	uint64_t total = 0;

	pw_cpus_run(idle, NULL);
	printf("%u cpus\n", pw_cpu_count());
	pw_checkpoint(0, 0);
	pw_cpus_run(work, NULL);
	for (unsigned k = 0; k < pw_cpu_count(); k++)
		total += (k + 1) * result[k];
	return (int)total;
}
