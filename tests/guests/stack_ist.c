/* A hostile guest: overflows its stack, then the #PF stack.
 * 1. Inside pw_expect_fault, recursion runs into the main stack's guard: caught as
 *    "stack-overflow" in 0xf000..0xffff (the #PF runs on its IST stack, not the full one), and
 *    the guest goes on.
 * 2. It unmaps the top page of the #PF IST stack and overflows the main stack again: the CPU
 *    cannot push the #PF frame, which makes it a #DF, delivered on the #DF IST stack. The runtime
 *    reports kind "exception" vector 8 and the guest stops as a crash instead of triple-faulting
 *    or hanging. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>

static volatile int stop_depth = -1; /* never: volatile hides the infinite recursion */

/* Recurse with 512 bytes of frame each, until something stops it. */
static int recurse(int depth)
{
	volatile char frame[512];

	frame[0] = (char)depth;
	if (depth == stop_depth)
		return 0;
	return recurse(depth + 1) + frame[0];
}

/* pw_expect_fault body: overflow the stack. */
static void overflow(void *arg)
{
	(void)arg;
	recurse(0);
}

int main(void)
{
	uint64_t pf_top_page = PW_PF_STACK_GPA + PW_PF_STACK_SIZE - PW_PAGE_SIZE;
	struct pt_flush fl;
	struct pw_fault f;

	if (!pw_expect_fault(overflow, NULL, &f) || f.kind != PW_FAULT_STACK_OVERFLOW ||
	    f.cr2 < PW_STACK_GUARD_GPA || f.cr2 >= PW_STACK_GPA) {
		printf("main stack overflow not caught as expected (kind %s cr2 0x%lx)\n",
		       pw_fault_kind_name(f.kind), f.cr2);
		return 1;
	}
	printf("caught: %s at 0x%lx err 0x%lx\n", pw_fault_kind_name(f.kind), f.cr2, f.error_code);
	pt_flush_init(&fl);
	if (pt_unmap_region(pw_live_pt(), pf_top_page, PW_PAGE_SIZE, 0, &fl) != PT_OK)
		panic("cannot unmap the #PF stack top 0x%lx", pf_top_page);
	pw_tlb_flush(&fl);
	printf("#PF stack top page 0x%lx unmapped; overflowing again\n", pf_top_page);
	pw_flush();
	return recurse(0);
}
