/* pw_recovery_run: the setjmp half of pw_expect_fault. The longjmp half is whoever catches the
 * fault: the guest's trap entry (traps.S) or the VMM (--faults=vmm). Both reload the
 * saved registers from struct pw_recovery and resume at recovery_resume, which returns 1 (the
 * VMM also sets RAX = 1; the guest's unwinder leaves it to the resume point). */
#include "trap.h"

	.text

/* Store the resume context in the struct pw_recovery at RDI: RSP as it is at the macro (pointing
 * at the caller's return address, so resuming there with RAX = 1 returns 1 from the call), the
 * callee-saved registers, RFLAGS, and resume as the RIP. Clobbers RAX. */
.macro SAVE_CONTEXT resume
	pushfq
	popq PW_RECOVERY_RFLAGS(%rdi)
	movq %rsp, PW_RECOVERY_RSP(%rdi)
	movq %rbx, PW_RECOVERY_RBX(%rdi)
	movq %rbp, PW_RECOVERY_RBP(%rdi)
	movq %r12, PW_RECOVERY_R12(%rdi)
	movq %r13, PW_RECOVERY_R13(%rdi)
	movq %r14, PW_RECOVERY_R14(%rdi)
	movq %r15, PW_RECOVERY_R15(%rdi)
	leaq \resume(%rip), %rax
	movq %rax, PW_RECOVERY_RIP(%rdi)
.endm

/* int pw_recovery_run(struct pw_recovery *r (rdi), void (*fn)(void *) (rsi), void *arg (rdx)) */
	.globl pw_recovery_run
	.type pw_recovery_run, @function
	.p2align 4
pw_recovery_run:
	SAVE_CONTEXT recovery_resume
	pushq %rbx			/* keeps RSP 16-byte aligned at the call below */
	movq %rdi, %rbx			/* r survives fn in a callee-saved register */
	movq $1, PW_RECOVERY_ARMED(%rbx) /* armed last: the context is complete */
	movq %rdx, %rdi
	call *%rsi
	movq $0, PW_RECOVERY_ARMED(%rbx)
	popq %rbx
	xorl %eax, %eax
	ret
recovery_resume:
	movl $1, %eax			/* the unwinder sets it too; this makes the contract local */
	ret
	.size pw_recovery_run, . - pw_recovery_run

/* int pw_recovery_probe(struct pw_recovery *r (rdi), uint64_t addr (rsi), int write (edx)):
 * pw_recovery_run with the access itself in place of fn, for the probes: one byte read, or a
 * `lock orb $0` (a write access that leaves memory unchanged). Same record, same contract: 0,
 * or 1 once a fault was unwound to probe_resume. No call, no stack frame: ~16 instructions. */
	.globl pw_recovery_probe
	.type pw_recovery_probe, @function
	.p2align 4
pw_recovery_probe:
	SAVE_CONTEXT probe_resume
	movq $1, PW_RECOVERY_ARMED(%rdi)	/* armed last: the context is complete */
	testl %edx, %edx
	jnz 1f
	movb (%rsi), %al
	jmp 2f
1:	lock orb $0, (%rsi)
2:	movq $0, PW_RECOVERY_ARMED(%rdi)
	xorl %eax, %eax
	ret
probe_resume:
	movl $1, %eax
	ret
	.size pw_recovery_probe, . - pw_recovery_probe

	.section .note.GNU-stack, "", @progbits
