/* Exception entry stubs for vectors 0..31 (--faults=guest). Each stub gives the stack one shape,
 * struct pw_trap_frame in trap.h: a dummy error code where the CPU pushes none, the vector, then
 * all GPRs; the C dispatcher gets a pointer to it and may rewrite it before iretq resumes.
 *
 * The stubs sit in one 512-byte aligned block, stub v at pw_trap_stub_base + 16 * v: guest/guest.ld
 * computes the IDT's gates from that rule at link time, so installing the IDT costs no loop.
 * `.org` enforces the stride (the assembler refuses to move backwards if a stub grew). */
#include "trap.h"

	.text
	.p2align 9
	.globl pw_trap_stub_base
pw_trap_stub_base:

/* Vectors without a CPU error code: push 0 in its place. */
.macro STUB_NOERR vec
	.org pw_trap_stub_base + PW_TRAP_STUB_SIZE * \vec, 0xcc
trap_stub_\vec:
	pushq $0
	pushq $\vec
	jmp trap_common
.endm

/* Vectors with an error code (8, 10-14, 17, 21, 29, 30): the CPU pushed it already. */
.macro STUB_ERR vec
	.org pw_trap_stub_base + PW_TRAP_STUB_SIZE * \vec, 0xcc
trap_stub_\vec:
	pushq $\vec
	jmp trap_common
.endm

STUB_NOERR 0
STUB_NOERR 1
STUB_NOERR 2
STUB_NOERR 3
STUB_NOERR 4
STUB_NOERR 5
STUB_NOERR 6
STUB_NOERR 7
STUB_ERR   8
STUB_NOERR 9
STUB_ERR   10
STUB_ERR   11
STUB_ERR   12
STUB_ERR   13
STUB_ERR   14
STUB_NOERR 15
STUB_NOERR 16
STUB_ERR   17
STUB_NOERR 18
STUB_NOERR 19
STUB_NOERR 20
STUB_ERR   21
STUB_NOERR 22
STUB_NOERR 23
STUB_NOERR 24
STUB_NOERR 25
STUB_NOERR 26
STUB_NOERR 27
STUB_NOERR 28
STUB_ERR   29
STUB_ERR   30
STUB_NOERR 31

/* Offsets on the stack at trap_common, and after the fast path pushed RAX and RDX. */
#define TF_VECTOR 0
#define TF_ERROR  8
#define TF_RIP	  16
#define TF_RFLAGS 32
#define TF_RSP	  40
#define FAST(off) (16 + (off))
#define RFLAGS_DF (1 << 10)
#define PF_ERR_P  1

/* The expected-fault fast path (conditions in trap.h, next to the state it reads): record the
 * fault in pw_recovery_record, disarm it, report it if reports are on (one exit), and resume at
 * its recovery point with its callee-saved registers, RAX = 1 and DF clear, as
 * pw_recovery_run's contract says, without saving the GPRs or entering C. This is the runtime's
 * one unwinder. Anything else goes to the full path below with every register intact. */
	.p2align 4
trap_common:
	cmpq $0, pw_recovery_record+PW_RECOVERY_ARMED(%rip)
	je trap_full
	cmpl $0, pw_trap_depth(%rip)
	jne trap_full
	cmpq $8, TF_VECTOR(%rsp)		/* #DF: never resumed */
	je trap_full
	pushq %rax
	pushq %rdx
	xorl %edx, %edx				/* CR2 as recorded: 0 unless #PF */
	cmpq $14, FAST(TF_VECTOR)(%rsp)
	jne trap_fast_unwind
	movq %cr2, %rdx
	testb $PF_ERR_P, FAST(TF_ERROR)(%rsp)	/* a protection fault is never heap growth */
	jnz trap_fast_unwind
	movq %rdx, %rax
	subq pw_heap_start(%rip), %rax
	cmpq pw_heap_size(%rip), %rax
	jae trap_fast_unwind
	popq %rdx				/* a first touch of the heap: grow it */
	popq %rax
	jmp trap_full
trap_fast_unwind:
	movq FAST(TF_VECTOR)(%rsp), %rax
	movq %rax, pw_recovery_record+PW_RECOVERY_VECTOR(%rip)
	movq FAST(TF_ERROR)(%rsp), %rax
	movq %rax, pw_recovery_record+PW_RECOVERY_ERROR(%rip)
	movq %rdx, pw_recovery_record+PW_RECOVERY_CR2(%rip)
	movq FAST(TF_RIP)(%rsp), %rax
	movq %rax, pw_recovery_record+PW_RECOVERY_FAULT_RIP(%rip)
	movq $0, pw_recovery_record+PW_RECOVERY_KIND(%rip)	/* PW_FAULT_NONE: not classified */
	movq $0, pw_recovery_record+PW_RECOVERY_ARMED(%rip)
	cmpb $0, pw_reports_on(%rip)
	je 1f
	/* The report: PW_HC_FAULT with kind PW_FAULT_NONE, which the VMM classifies with the same
	 * classifier and layout (docs/abi.md); RSP is the interrupted code's, before the rewrite. */
	movl FAST(TF_VECTOR)(%rsp), %eax
	movl %eax, trap_fast_report+PW_HC_FAULT_VECTOR(%rip)
	movq FAST(TF_ERROR)(%rsp), %rax
	movq %rax, trap_fast_report+PW_HC_FAULT_ERROR(%rip)
	movq %rdx, trap_fast_report+PW_HC_FAULT_GVA(%rip)
	movq FAST(TF_RIP)(%rsp), %rax
	movq %rax, trap_fast_report+PW_HC_FAULT_RIP(%rip)
	movq FAST(TF_RSP)(%rsp), %rax
	movq %rax, trap_fast_report+PW_HC_FAULT_RSP(%rip)
	leaq trap_fast_report(%rip), %rax
	movl $PW_TRAP_FAULT_PORT, %edx
	outl %eax, %dx
1:
	movq pw_recovery_record+PW_RECOVERY_RIP(%rip), %rax
	movq %rax, FAST(TF_RIP)(%rsp)
	movq pw_recovery_record+PW_RECOVERY_RSP(%rip), %rax
	movq %rax, FAST(TF_RSP)(%rsp)
	andq $~RFLAGS_DF, FAST(TF_RFLAGS)(%rsp)
	movq pw_recovery_record+PW_RECOVERY_RBX(%rip), %rbx
	movq pw_recovery_record+PW_RECOVERY_RBP(%rip), %rbp
	movq pw_recovery_record+PW_RECOVERY_R12(%rip), %r12
	movq pw_recovery_record+PW_RECOVERY_R13(%rip), %r13
	movq pw_recovery_record+PW_RECOVERY_R14(%rip), %r14
	movq pw_recovery_record+PW_RECOVERY_R15(%rip), %r15
	popq %rdx
	popq %rax
	movl $1, %eax				/* pw_recovery_run returns 1 */
	addq $16, %rsp				/* vector and error code */
	iretq

/* Save the GPRs in struct pw_trap_frame order (rax pushed first sits highest), call the
 * dispatcher, reload whatever it left in the frame, drop vector and error code, return. The CPU
 * aligned RSP to 16 before its 5-word frame; 2 + 15 more words keep the call 16-byte aligned. */
trap_full:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld			/* the C ABI wants DF clear; the interrupted code may have set it */
	call pw_trap_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp		/* vector and error code */
	iretq

/* The fast path's fault report (struct pw_hc_fault): kind 0 (unclassified), recovered 1. */
	.data
	.p2align 3
trap_fast_report:
	.long 0, 0
	.quad 0, 0, 0, 0
	.long 1, 0
	.size trap_fast_report, . - trap_fast_report

	.section .note.GNU-stack, "", @progbits
