/* The VMM's fault handler (--faults=vmm). docs/faults.md, "VMM mode", describes the protocol. */
#include "vmmfault.h"

#include <errno.h>
#include <string.h>

#include "cpu.h"
#include "pagewarden/classify.h"
#include "trapstubs.h"

#define VECTOR_PF      14
#define MSR_LSTAR      0xc0000082u
#define RFLAGS_DF      (1ull << 10)
#define FAULT_LINE_MAX 320

void vmmfault_note(struct run *r, const struct fault_record *f)
{
	char line[FAULT_LINE_MAX];

	if (f->kind == PW_FAULT_HEAP_GROW && f->recovered && !r->cfg.trace)
		return;
	fault_format(line, sizeof(line), f);
	run_note(r, "fault: %s", line);
}

/* Make the vCPU forget any cached translation after the VMM edited the guest's tables
 * (cpu_set_sregs_reset_mmu). The shadow MMU of a nested host needs it to see the new entry; x86
 * does not cache not-present entries, so hardware KVM would do without it for heap growth. */
static bool vmmfault_mmu_reset(struct run *r)
{
	const struct kvm_sregs *cur = run_sregs(r);
	struct vm_error e;

	return cur && cpu_set_sregs_reset_mmu(r->vm, cur, &e) == VM_OK;
}

/* Resume the interrupted code as iretq would: RIP, RSP, RFLAGS from the exception frame, RAX and
 * RDX from what the stub pushed (the same stack level for a ring-0 fault). */
static bool vmmfault_resume_frame(struct run *r, const struct trapstub_frame *tf)
{
	struct kvm_regs regs = *run_regs(r);

	regs.rip = tf->rip;
	regs.rsp = tf->rsp;
	regs.rflags = tf->rflags;
	regs.rax = tf->rax;
	regs.rdx = tf->rdx;
	return run_set_regs(r, &regs);
}

/* Resume the interrupted code after a fault the VMM handled (heap growth): at CPL 0 as
 * vmmfault_resume_frame, at CPL 3 through the stubs page's iretq tail, which pops the stub
 * frame at the exit's RSP. */
static bool vmmfault_return(struct run *r, unsigned vector, const struct trapstub_frame *tf)
{
	struct kvm_regs regs = *run_regs(r);

	if ((tf->cs & 3) == 0)
		return vmmfault_resume_frame(r, tf);
	regs.rip = trapstubs_iret_rip(vector);
	return run_set_regs(r, &regs);
}

bool vmmfault_is_pvm_syscall(struct run *r, const struct trapstub_frame *tf, uint64_t cr2)
{
	const uint64_t want = PF_ERR_P | PF_ERR_U;
	uint64_t lstar;

	return (tf->error_code & want) == want && (tf->cs & 3) == 3 && tf->rip == cr2 &&
	       vm_get_msr(r->vm, MSR_LSTAR, &lstar) == 0 && lstar == cr2;
}

/* If the #PF in tf is PVM's SYSCALL (vmmfault_is_pvm_syscall), finish the system call as the
 * CPU would have: run LSTAR at CPL 0 (the stub runs there already) with FMASK's flags cleared;
 * the guest's entry reloads its own stack. RCX/R11 are as PVM left them. True if it did. */
static bool vmmfault_pvm_syscall(struct run *r, const struct trapstub_frame *tf, uint64_t cr2)
{
	struct kvm_regs regs;

	if (!vmmfault_is_pvm_syscall(r, tf, cr2))
		return false;
	regs = *run_regs(r);
	regs.rip = cr2;
	regs.rax = tf->rax;
	regs.rdx = tf->rdx;
	regs.rflags = 0x2;
	return run_set_regs(r, &regs);
}

/* If the guest armed its struct pw_recovery: record f in it, disarm it and resume where
 * pw_expect_fault returns true (callee-saved registers reloaded, RAX = 1). */
static bool vmmfault_recover(struct run *r, const struct fault_record *f)
{
	struct pw_recovery *rec =
	    r->recovery_gpa ? gpa_to_host(r->mem, r->recovery_gpa, sizeof(*rec)) : NULL;
	struct kvm_regs regs;

	if (!rec || !rec->armed)
		return false;
	r->vmm_wrote_ram = true;
	rec->vector = f->vector;
	rec->error_code = f->error_code;
	rec->cr2 = f->gva;
	rec->fault_rip = f->rip;
	rec->kind = f->kind;
	rec->armed = 0;
	regs = *run_regs(r);
	regs.rip = rec->rip;
	regs.rsp = rec->rsp;
	regs.rbx = rec->rbx;
	regs.rbp = rec->rbp;
	regs.r12 = rec->r12;
	regs.r13 = rec->r13;
	regs.r14 = rec->r14;
	regs.r15 = rec->r15;
	regs.rax = 1;
	/* the armer's flags, never a CPL-3 fault's (AC, TF, NT); DF clear for the C code after
	 * pw_expect_fault */
	regs.rflags = (rec->rflags & ~RFLAGS_DF) | 0x2;
	return run_set_regs(r, &regs);
}

/* Stop the guest for f, with the vCPU put back at the fault (so the crash report shows the
 * faulting instruction and registers, not the stub's). */
static enum hc_result vmmfault_crash(struct run *r, const struct trapstub_frame *tf,
				     struct fault_record *f, const char *why)
{
	char line[FAULT_LINE_MAX];

	f->recovered = false;
	fault_list_append(&r->faults, f);
	vmmfault_resume_frame(r, tf);
	r->walk_what = f->vector == VECTOR_PF ? "CR2" : "RIP";
	r->walk_addr = f->vector == VECTOR_PF ? f->gva : f->rip;
	fault_format(line, sizeof(line), f);
	run_stopf(r, RUN_STOP_TRAP, "guest crashed: %s%s%s", line, why ? ": " : "", why ? why : "");
	return HC_STOP;
}

/* Map the heap page f touched and resume the faulting instruction, or crash. */
static enum hc_result vmmfault_heap(struct run *r, const struct trapstub_frame *tf,
				    struct fault_record *f, uint64_t cr3)
{
	enum pt_err err = guest_pt_map_heap(&r->gpt, cr3, f->gva);

	r->vmm_wrote_ram = true; /* even a failed map may have added a table */

	if (err != PT_OK) {
		f->kind = PW_FAULT_UNMAPPED;
		return vmmfault_crash(r, tf, f,
				      err == PT_ENOMEM ? "heap: page-table pool exhausted"
						       : "heap: cannot map the page");
	}
	if (!vmmfault_mmu_reset(r)) {
		run_stopf(r, RUN_STOP_KVM_ERROR, "KVM_SET_SREGS (MMU reset): %s", strerror(errno));
		return HC_STOP;
	}
	f->gpa_valid = guest_pt_translate(&r->gpt, cr3, f->gva, &f->gpa);
	f->recovered = true;
	fault_list_append(&r->faults, f);
	vmmfault_note(r, f);
	return vmmfault_return(r, VECTOR_PF, tf) ? HC_RESUME : HC_STOP;
}

enum hc_result vmmfault_trap(struct run *r, unsigned vector)
{
	const struct kvm_regs *regs = run_regs(r);
	const struct kvm_sregs *s = run_sregs(r);
	const struct layout *l = r->layout;
	struct trapstub_frame tf;
	struct fault_record f;
	struct pt_access_result walk;
	const struct pt_access_result *w = NULL;

	if (!regs || !s) {
		run_stopf(r, RUN_STOP_KVM_ERROR, "cannot read the vCPU registers at a trap: %s",
			  strerror(errno));
		return HC_STOP;
	}
	if (!trapstubs_owns(regs->rip, vector)) {
		run_stopf(r, RUN_STOP_BAD_HYPERCALL,
			  "bad hypercall trap (port 0x%x): vector %u from RIP 0x%llx, not from the "
			  "VMM's stub for it (--faults=vmm only)",
			  PW_PORT(PW_HC_TRAP), vector, (unsigned long long)regs->rip);
		return HC_STOP;
	}
	if (!trapstubs_read_frame(r->mem, regs->rsp, vector, &tf)) {
		run_stopf(r, RUN_STOP_TRAP,
			  "trap vector %u: the exception frame at RSP 0x%llx is "
			  "outside guest RAM",
			  vector, (unsigned long long)regs->rsp);
		return HC_STOP;
	}
	f = (struct fault_record){
	    .vector = vector,
	    .error_code = tf.error_code,
	    .gva = vector == VECTOR_PF ? s->cr2 : 0,
	    .rip = tf.rip,
	    .rsp = tf.rsp,
	    .caught_by = PW_CAUGHT_VMM,
	};
	if (vector == VECTOR_PF && vmmfault_pvm_syscall(r, &tf, s->cr2))
		return HC_RESUME;
	if (vector == VECTOR_PF)
		w = guest_pt_pf_walk(&r->gpt, s->cr3, s->cr0, s->cr4, s->efer, tf.rflags, f.gva,
				     f.error_code, &walk);
	f.kind = pw_classify(l->regions, l->nregions, vector, f.gva, f.error_code, w);
	if (vector == VECTOR_PF)
		f.gpa_valid = guest_pt_translate(&r->gpt, s->cr3, f.gva, &f.gpa);
	if (f.kind == PW_FAULT_HEAP_GROW)
		return vmmfault_heap(r, &tf, &f, s->cr3);
	if (vector != 8 && vmmfault_recover(r, &f)) {
		f.recovered = true;
		fault_list_append(&r->faults, &f);
		vmmfault_note(r, &f);
		return r->stop == RUN_STOP_NONE ? HC_RESUME : HC_STOP;
	}
	return vmmfault_crash(
	    r, &tf, &f, vector == 8 ? "double fault (a fault while delivering another)" : NULL);
}
