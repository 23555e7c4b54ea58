/* The crash tests/test_core.c loads into gdb from a --core file: main -> core_outer ->
 * core_inner, which writes through a pointer. Without an argument the pointer is 0x8 (the null
 * guard page); with "stack", an address in the main stack's guard page. core_global (data) and
 * core_counter (bss, set at run time) are what gdb must read back from the core. */
#include <pagewarden/guest.h>
#include <pagewarden/layout.h>

volatile uint64_t core_global = 0x1234abcd5678ef00ull;
volatile uint64_t core_counter;

/* Read through volatiles so GCC does not treat a constant near-null store as a bug. */
static volatile uintptr_t null_target = 8;
static volatile uintptr_t guard_target = PW_STACK_GUARD_GPA + 0x80;

__attribute__((noinline)) static void core_inner(volatile uint64_t *p, uint64_t v)
{
	*p = v;
}

/* local lives across the call, which is not a tail call (the return reads it). */
__attribute__((noinline)) static uint64_t core_outer(volatile uint64_t *p)
{
	volatile uint64_t local = core_global + 1;

	core_inner(p, local);
	return local;
}

int main(void)
{
	const char *arg = pw_cmdline();
	uintptr_t target = strcmp(arg, "stack") == 0 ? guard_target : null_target;
	uint64_t v;

	core_counter = 42;
	printf("core_crash: writing to 0x%lx\n", (unsigned long)target);
	pw_flush();
	v = core_outer((volatile uint64_t *)target);
	printf("not reached: %lu\n", (unsigned long)v);
	return 1;
}
