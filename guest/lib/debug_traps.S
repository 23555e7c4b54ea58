/* The debugger's exception stubs (--gdb under --faults=guest; docs/debugging.md). With
 * PW_BOOT_F_DEBUGGER, pw_traps_init points vector v's gate here instead of at the runtime's stub:
 * stub v tells the VMM of the exception with PW_HC_DEBUG (EAX = v), leaving the same stack as
 * the VMM's own trap stubs (RDX, RAX, then the CPU's frame), so gdb stops before any handler
 * runs; when gdb resumes, the stub puts RAX and RDX back and enters the runtime's stub v, as if
 * the CPU had delivered the exception there. One 32-byte stub per vector. */
#include "trap.h"

#define DEBUG_STUB_SIZE 32
#define DEBUG_PORT	0x507 /* PW_PORT(PW_HC_DEBUG), checked in idt.c */

	.text
	.p2align 5
	.globl pw_debug_stub_base
pw_debug_stub_base:

.macro DEBUG_STUB vec
	.org pw_debug_stub_base + DEBUG_STUB_SIZE * \vec, 0xcc
	pushq %rax
	pushq %rdx
	movl $\vec, %eax
	movl $DEBUG_PORT, %edx
	outl %eax, %dx
	popq %rdx
	popq %rax
	jmp pw_trap_stub_base + PW_TRAP_STUB_SIZE * \vec
.endm

	.irp vec, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	DEBUG_STUB \vec
	.endr
	.org pw_debug_stub_base + DEBUG_STUB_SIZE * 32, 0xcc

	.section .note.GNU-stack, "", @progbits
