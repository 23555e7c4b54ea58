/* The guest tests/test_gdb.c debugs: functions with locals and globals to break in, step over
 * and watch, then, as the command line asks, a clean exit or a guard fault.
 *   (none)    exit with 0 after the loop
 *   null      write through a null pointer (offset 0x10) after the loop
 *   probe     an expected fault (pw_probe_write of 0x10), then exit 0
 *   ud        execute ud2 after the loop */
#include <pagewarden/guest.h>

volatile long gdb_counter;    /* watched */
long gdb_total = 1000;	      /* read at a breakpoint */
static volatile uintptr_t gdb_null = 0x10;

/* Add step to the counter; a breakpoint target with a local. */
__attribute__((noinline)) long gdb_add(long step)
{
	long before = gdb_counter;

	gdb_counter = before + step;
	gdb_total += step;
	return gdb_counter;
}

/* The faulting store, in a function of its own so the stop RIP is known, and written in asm so
 * that the instruction after it has a name (gdb_crash_after: where a debugger skips to). */
__attribute__((noinline)) void gdb_crash(void)
{
	__asm__ volatile("movq $1, (%0)\n\t"
			 ".globl gdb_crash_after\n"
			 "gdb_crash_after:"
			 :
			 : "r"(gdb_null)
			 : "memory");
}

int main(void)
{
	const char *cmd = pw_cmdline();
	struct pw_fault f;
	long sum = 0;

	for (long i = 1; i <= 3; i++)
		sum += gdb_add(i);
	printf("gdb_target: sum %ld total %ld\n", sum, gdb_total);
	if (strcmp(cmd, "null") == 0)
		gdb_crash();
	if (strcmp(cmd, "probe") == 0)
		printf("probe: %s\n", pw_probe_write(0x10, &f) ? pw_fault_kind_name(f.kind) : "none");
	if (strcmp(cmd, "ud") == 0)
		__asm__ volatile("ud2");
	return 0;
}
