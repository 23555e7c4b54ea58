/* Fault-injection targets at addresses the tests look up by symbol. The snapshot point is this
 * guest's own checkpoint-0 hypercall, so the instructions that follow it are exactly these:
 *   it_snap: xor %eax,%eax      @insn=0     flip bit 0 of RAX here -> exit 7 (cleared)
 *   it_add1: add $1,%rax -> 1   @insn=1                        ... -> exit 11
 *   it_shl1: shl $1,%rax -> 2   @insn=2                        ... -> exit 3
 *   it_add2: add $1,%rax -> 3   @insn=3                        ... -> exit 9
 *   it_shl2: shl $1,%rax -> 6   @insn=4                        ... -> exit 5
 *   it_add3: add $1,%rax -> 7   @insn=5                        ... -> exit 8
 *   it_push: push %rax; pop %rax  @insn=6                      ... -> exit 6
 * then exit with RAX: 7 in the golden run; skipping it_add2 gives 5, it_shl2 4, it_add3 6.
 * it_push is the one store: with RSP bent into the page-table pool there, it writes the pool
 * (a read-only memslot under --protect-pt). Then it_loop adds RCX = 5, 4, .., 1 to RDX (the
 * exit code is RAX + RDX - 15): flipping bit 0 of RCX at its K-th arrival changes how often it
 * goes round, so each K has its own exit code: K = 1 -> 2, 2 -> 12, 3 -> 4, 4 -> 10. */
#include <pagewarden/guest.h>

#define LOOP_SUM 15 /* 5 + 4 + 3 + 2 + 1 */

int main(void)
{
	static struct pw_hc_checkpoint snap = {0, 0};
	uint64_t v = (uint32_t)(uintptr_t)&snap, w = PW_PORT(PW_HC_CHECKPOINT);

	__asm__ volatile("out %%eax, %%dx\n"
			 ".globl it_snap\nit_snap: xor %%eax, %%eax\n"
			 ".globl it_add1\nit_add1: add $1, %%rax\n"
			 ".globl it_shl1\nit_shl1: shl $1, %%rax\n"
			 ".globl it_add2\nit_add2: add $1, %%rax\n"
			 ".globl it_shl2\nit_shl2: shl $1, %%rax\n"
			 ".globl it_add3\nit_add3: add $1, %%rax\n"
			 ".globl it_push\nit_push: push %%rax\npop %%rax\n"
			 "mov $5, %%ecx\n"
			 "xor %%edx, %%edx\n"
			 ".globl it_loop\nit_loop: add %%rcx, %%rdx\n"
			 "dec %%ecx\n"
			 "jnz it_loop\n"
			 : "+a"(v), "+d"(w)
			 :
			 : "rcx", "cc", "memory");
	return (int)(v + w - LOOP_SUM);
}
