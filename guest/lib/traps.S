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

/* Vectors with an error code (8, 10-14, 17, 21, 29, 30): the CPU pushed it already. entry:
 * trap_common, or trap_pf for #PF, or trap_full for #DF (never resumed). */
.macro STUB_ERR vec, entry=trap_common
	.org pw_trap_stub_base + PW_TRAP_STUB_SIZE * \vec, 0xcc
trap_stub_\vec:
	pushq $\vec
	jmp \entry
.endm

STUB_NOERR 0
STUB_NOERR 1
STUB_NOERR 2
STUB_NOERR 3
STUB_NOERR 4
STUB_NOERR 5
STUB_NOERR 6
STUB_NOERR 7
STUB_ERR   8, trap_full
STUB_NOERR 9
STUB_ERR   10
STUB_ERR   11
STUB_ERR   12
STUB_ERR   13
STUB_ERR   14, trap_pf
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

/* Offsets on the stack at trap_common, and after the fast path pushed RBX. */
#define TF_VECTOR 0
#define TF_ERROR  8
#define TF_RIP	  16
#define TF_RFLAGS 32
#define TF_RSP	  40
#define FAST(off) (8 + (off))
#define PF_ERR_P  1
#define PF_ERR_U  4
#define REC(field) %gs:(PW_CPU_REC + PW_RECOVERY_##field)
#define REP(field) %gs:(PW_CPU_REPORT + PW_HC_FAULT_##field)

/* The expected-fault fast path (conditions in trap.h, next to the state it reads): record the
 * fault in this CPU's recovery record, disarm it, report it if reports are on (one exit), and resume at
 * its recovery point with its callee-saved registers, RSP and RFLAGS as they were when it was
 * armed, DF cleared, as pw_recovery_run's contract says (the recovery points set RAX = 1
 * themselves), without saving the GPRs or entering C. This is the runtime's one unwinder. Anything else goes
 * to trap_full with every register intact.
 *
 * Every instruction here is paid by every caught fault (docs/faults.md, "Cost": a budget in
 * tests/test_counts.c holds the count). So: #PF and #DF have entries of their own instead of
 * tests of the vector; the only scratch registers are RBX and RBP, which the resume reloads
 * from the record anyway (RBX is pushed only to give it back on the way to trap_full); and the
 * exit is popfq and an indirect jump on the recovery point's own stack, not a rewritten iretq
 * frame (all #PF and #DF state lives on their IST stacks, which the next delivery resets). */
/* The fast path's conditions common to every vector: an armed record and no handler running,
 * else the full path; then RBX is pushed, the first scratch register. */
.macro FAST_PATH_OR_FULL
	cmpq $0, REC(ARMED)
	je trap_full
	cmpl $0, %gs:PW_CPU_DEPTH
	jne trap_full
	pushq %rbx
.endm

	.p2align 4
trap_pf:
	testb $PF_ERR_U, TF_ERROR(%rsp)		/* CPL 3: maybe PVM's SYSCALL (trap_pf_user) */
	jnz trap_pf_user
trap_pf_kernel:
	FAST_PATH_OR_FULL
	movq %cr2, %rbx
	testb $PF_ERR_P, FAST(TF_ERROR)(%rsp)	/* a protection fault is never heap growth */
	jnz trap_fast_unwind
	cmpq pw_heap_start(%rip), %rbx
	jb trap_fast_unwind
	cmpq pw_heap_end(%rip), %rbx
	jae trap_fast_unwind
	popq %rbx				/* a first touch of the heap: grow it */
	jmp trap_full

/* A #PF at CPL 3 whose RIP is LSTAR (pw_user_syscall, set by pw_user_init) is no fault: PVM's
 * SYSCALL jumps to LSTAR without leaving CPL 3, so the fetch there faults as a user access to
 * a supervisor page. Finish the system call: RDI still holds fn's result, and pw_user_syscall
 * reloads the kernel stack (this IST frame is abandoned; the next #PF resets the stack). Any
 * other user-mode #PF is an ordinary fault. */
trap_pf_user:
	pushq %rax
	movq pw_user_syscall_rip(%rip), %rax
	cmpq %rax, TF_RIP+8(%rsp)
	popq %rax
	jne trap_pf_kernel
	pushq $0x2				/* SYSCALL's FMASK: no user AC, TF, DF, NT */
	popfq
	jmp *pw_user_syscall_rip(%rip)

trap_common:
	FAST_PATH_OR_FULL
	xorl %ebx, %ebx				/* CR2 as recorded: 0 unless #PF */

/* RBX = CR2 (0 unless #PF), the interrupted RBX pushed above the frame. */
trap_fast_unwind:
	movq FAST(TF_VECTOR)(%rsp), %rbp
	movq %rbp, REC(VECTOR)
	movq FAST(TF_ERROR)(%rsp), %rbp
	movq %rbp, REC(ERROR)
	movq %rbx, REC(CR2)
	movq FAST(TF_RIP)(%rsp), %rbp
	movq %rbp, REC(FAULT_RIP)
	movq $0, REC(KIND)			/* PW_FAULT_NONE: not classified */
	movq $0, REC(ARMED)
	cmpb $0, pw_reports_on(%rip)
	jne trap_fast_report_it
trap_fast_resume:
	pushq REC(RFLAGS)			/* the armer's flags: never a user fault's */
	popfq
	cld
	movq REC(RBX), %rbx
	movq REC(RBP), %rbp
	movq REC(R12), %r12
	movq REC(R13), %r13
	movq REC(R14), %r14
	movq REC(R15), %r15
	movq REC(RSP), %rsp
	jmp *REC(RIP)

/* The report: PW_HC_FAULT with kind PW_FAULT_NONE, which the VMM classifies with the same
 * classifier and layout (docs/abi.md); RSP is the interrupted code's. Each CPU fills its own
 * struct pw_hc_fault in struct pw_cpu (kind and frame stay 0 there), so two CPUs reporting at
 * once never mix their reports. RAX and RDX are free: the
 * recovery point is a function's return, where they are the caller's to lose. */
trap_fast_report_it:
	movl FAST(TF_VECTOR)(%rsp), %eax
	movl %eax, REP(VECTOR)
	movq FAST(TF_ERROR)(%rsp), %rax
	movq %rax, REP(ERROR)
	movq %rbx, REP(GVA)
	movq FAST(TF_RIP)(%rsp), %rax
	movq %rax, REP(RIP)
	movq FAST(TF_RSP)(%rsp), %rax
	movq %rax, REP(RSP)
	movl $1, %gs:(PW_CPU_REPORT + PW_HC_FAULT_RECOVERED)
	movq %gs:PW_CPU_SELF, %rax		/* the report's address: this CPU's copy */
	addq $PW_CPU_REPORT, %rax
	movl $PW_TRAP_FAULT_PORT, %edx
	outl %eax, %dx
	jmp trap_fast_resume

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

	.data
/* pw_user_syscall once user mode is set up; a non-canonical RIP (never a fault's) until then. */
	.p2align 3
	.globl pw_user_syscall_rip
pw_user_syscall_rip:
	.quad 0x8000000000000000


	.section .note.GNU-stack, "", @progbits
