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

/* Save the GPRs in struct pw_trap_frame order (rax pushed first sits highest), call the
 * dispatcher, reload whatever it left in the frame, drop vector and error code, return. The CPU
 * aligned RSP to 16 before its 5-word frame; 2 + 15 more words keep the call 16-byte aligned. */
	.p2align 4
trap_common:
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

	.section .note.GNU-stack, "", @progbits
