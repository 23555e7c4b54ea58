/* Reset fidelity beyond the GPRs: after the snapshot point (checkpoint 0) it prints MSR_STAR,
 * IA32_PAT and DR0, then changes all three. A reset that does not bring them back (host/
 * vcpu_extra.c) makes the next run print other values: a different output hash from the golden
 * run's, so an experiment that injects nothing is no longer benign. */
#include <pagewarden/guest.h>

#define MSR_STAR 0xc0000081u
#define MSR_PAT	 0x277u

int main(void)
{
	uint64_t star, pat, dr0;

	pw_checkpoint(0, 0);
	star = pw_rdmsr(MSR_STAR);
	pat = pw_rdmsr(MSR_PAT);
	__asm__ volatile("mov %%dr0, %0" : "=r"(dr0));
	printf("star 0x%lx pat 0x%lx dr0 0x%lx\n", star, pat, dr0);
	pw_wrmsr(MSR_STAR, star + 0x10000);
	pw_wrmsr(MSR_PAT, pat ^ 1); /* entry 0: WB (6) <-> UC- (7), both valid */
	__asm__ volatile("mov %0, %%dr0" : : "r"(dr0 + 0x1000));
	pw_checkpoint(1, star ^ pat ^ dr0);
	return 0;
}
