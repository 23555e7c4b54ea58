/* The ring crossings of pw_user_call (guest/lib/user.c): SYSRET into CPL 3 through a trampoline
 * on the user pages, and SYSCALL back, which is the only system call there is: "return". */
/* TSS.RSP0: PW_TSS_GPA + 4 (layout.h's constants carry C suffixes; user.c checks this one). */
#define TSS_RSP0 0x2804

	.text

/* long pw_user_enter(long (*fn)(long) (rdi), long arg (rsi), uint64_t user_rsp (rdx)):
 * save RFLAGS and the callee-saved registers on this stack, remember it (for SYSCALL, and in TSS.RSP0 for
 * a fault at CPL 3 that has no IST stack, whose frame then lands below these registers), then
 * SYSRET to pw_user_trampoline with RDI/RSI intact, RSP = user_rsp, RFLAGS = 0x2. */
	.globl pw_user_enter
	.type pw_user_enter, @function
	.p2align 4
pw_user_enter:
	pushfq				/* the caller's IF (on with --cpus): SYSCALL's FMASK clears it */
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, pw_user_kernel_rsp(%rip)
	movq %rsp, TSS_RSP0
	leaq pw_user_trampoline(%rip), %rcx
	movl $0x2, %r11d
	movq %rdx, %rsp
	sysretq
	.size pw_user_enter, . - pw_user_enter

/* SYSCALL lands here (LSTAR) at CPL 0 with RSP still the user's, RCX/R11 the user's RIP and
 * RFLAGS, and IF, TF, DF, AC cleared by FMASK. RDI is fn's result: return it from
 * pw_user_enter on the stack it saved. On PVM, where SYSCALL reaches LSTAR without leaving
 * CPL 3, the #PF its first fetch raises is turned into the same jump here (traps.S trap_pf, or
 * the VMM under --faults=vmm; docs/platforms.md). */
	.globl pw_user_syscall
	.type pw_user_syscall, @function
	.p2align 4
pw_user_syscall:
	movq pw_user_kernel_rsp(%rip), %rsp
	movq %rdi, %rax
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	popfq
	ret
	.size pw_user_syscall, . - pw_user_syscall

/* At CPL 3, on the user pages: call fn(arg), then SYSCALL with the result in RDI. RSP is the
 * 16-byte aligned top of the user stack, so fn starts with the ABI's alignment. */
	.section .pw_user_text, "ax", @progbits
	.globl pw_user_trampoline
	.type pw_user_trampoline, @function
	.p2align 4
pw_user_trampoline:
	movq %rdi, %rax
	movq %rsi, %rdi
	call *%rax
	movq %rax, %rdi
	syscall
	ud2
	.size pw_user_trampoline, . - pw_user_trampoline

	.bss
	.p2align 3
	.globl pw_user_kernel_rsp
pw_user_kernel_rsp:
	.quad 0

	.section .note.GNU-stack, "", @progbits
