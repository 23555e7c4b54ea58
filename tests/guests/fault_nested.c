/* A fault inside the fault handler: with the boot info page unmapped, the #PF handler faults
 * when it looks up the faulting address's region. That inner #PF resets RSP to the same IST top
 * and overwrites the outer frame, so it must not resume: the runtime reports "fault inside the
 * fault handler" (kind "unmapped", gva in the boot info page, not recovered) and stops. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>

/* Read through a volatile so GCC does not reject a constant near-null dereference. */
static volatile uintptr_t null_ptr = 8;

int main(void)
{
	struct pt_flush fl;

	pt_flush_init(&fl);
	if (pt_unmap_region(pw_live_pt(), PW_BOOT_INFO_GPA, PW_BOOT_INFO_SIZE, 0, &fl) != PT_OK)
		panic("cannot unmap the boot info page");
	pw_tlb_flush(&fl);
	printf("boot info unmapped; reading 0x8\n");
	pw_flush();
	return *(volatile int *)null_ptr;
}
