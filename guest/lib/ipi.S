/* The entries of the runtime's two IPI vectors (smp.c): save the registers C may clobber, call
 * pw_ipi_dispatch(vector), which acknowledges the interrupt, and return. Interrupt gates: IF is
 * clear inside. At CPL 0 without IST the CPU aligned RSP to 16 before its 40-byte frame, so
 * nine pushes leave it aligned for the call. */
#include "smp_vectors.h"

.macro IPI_ENTRY name, vector
	.globl \name
	.type \name, @function
\name:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	movl $\vector, %edi
	cld
	call pw_ipi_dispatch
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	iretq
	.size \name, . - \name
.endm

	.text
IPI_ENTRY pw_ipi_wake_entry, VEC_WAKE
IPI_ENTRY pw_ipi_shootdown_entry, VEC_SHOOTDOWN

/* The local APIC's spurious vector (0xff): no EOI, nothing to do. */
	.globl pw_ipi_spurious_entry
	.type pw_ipi_spurious_entry, @function
pw_ipi_spurious_entry:
	iretq
	.size pw_ipi_spurious_entry, . - pw_ipi_spurious_entry

	.section .note.GNU-stack, "", @progbits
