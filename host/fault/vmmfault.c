/* The VMM's fault handler (--faults=vmm). docs/faults.md, "VMM mode", describes the protocol. */
#include "vmmfault.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpu.h"
#include "pagewarden/classify.h"
#include "trapstubs.h"

#define VECTOR_PF      14
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

/* If the guest armed its struct pw_recovery: record f in it, disarm it and resume where
 * pw_expect_fault returns true (callee-saved registers reloaded, RAX = 1). */
static bool vmmfault_recover(struct run *r, const struct trapstub_frame *tf,
			     const struct fault_record *f)
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
	/* fn may have faulted with DF set; C code after pw_expect_fault needs it clear */
	regs.rflags = tf->rflags & ~RFLAGS_DF;
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
	return vmmfault_resume_frame(r, tf) ? HC_RESUME : HC_STOP;
}

enum hc_result vmmfault_trap(struct run *r, unsigned vector)
{
	const struct kvm_regs *regs = run_regs(r);
	const struct kvm_sregs *s = run_sregs(r);
	const struct layout *l = r->layout;
	struct trapstub_frame tf;
	struct fault_record f;

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
	f.kind = pw_classify(l->regions, l->nregions, vector, f.gva, f.error_code);
	if (vector == VECTOR_PF)
		f.gpa_valid = guest_pt_translate(&r->gpt, s->cr3, f.gva, &f.gpa);
	if (f.kind == PW_FAULT_HEAP_GROW)
		return vmmfault_heap(r, &tf, &f, s->cr3);
	if (vector != 8 && vmmfault_recover(r, &tf, &f)) {
		f.recovered = true;
		fault_list_append(&r->faults, &f);
		vmmfault_note(r, &f);
		return r->stop == RUN_STOP_NONE ? HC_RESUME : HC_STOP;
	}
	return vmmfault_crash(
	    r, &tf, &f, vector == 8 ? "double fault (a fault while delivering another)" : NULL);
}
