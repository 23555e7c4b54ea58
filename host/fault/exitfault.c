/* Faults seen as VM exits. */
#include "exitfault.h"

#include "pagewarden/classify.h"

#define IDT_GATE_SIZE 16
#define VECTOR_DF     8
#define VECTOR_PF     14

/* Why an exception could not be delivered, from what the vCPU state at the shutdown shows. The
 * CPU keeps CR2 of the last #PF, so a guard address there names the stack that overflowed. */
static const char *exitfault_diagnose(const struct run *r, const struct kvm_sregs *s,
				      uint64_t rsp)
{
	const struct layout *l = r->layout;
	const struct pw_region *at_cr2 =
	    l ? pw_regions_find(l->regions, l->nregions, s->cr2) : NULL;
	const struct pw_region *at_rsp = l ? pw_regions_find(l->regions, l->nregions, rsp) : NULL;
	/* The guards' offsets in this vCPU's own stack area: CPU 0's fixed regions, or its
	 * per-CPU block (--cpus; the same order: #PF IST guard, #DF IST guard, stack guard). */
	uint64_t base = l ? layout_percpu_block(l, r->vm->cpu) : 0;
	uint64_t pf_guard = r->vm->cpu ? base : PW_PF_STACK_GUARD_GPA;
	uint64_t df_guard = r->vm->cpu ? base + PW_PERCPU_DF_GUARD : PW_DF_STACK_GUARD_GPA;
	unsigned cr2_kind = at_cr2 ? pw_region_kind_at(at_cr2, s->cr2) : 0;

	if (s->idt.limit < VECTOR_DF * IDT_GATE_SIZE + IDT_GATE_SIZE - 1)
		return "no IDT (the IDTR limit leaves out #DF): no exception can be delivered";
	if (cr2_kind == PW_REGION_STACK_GUARD && s->cr2 - pf_guard < PW_PAGE_SIZE)
		return "fault in the #PF handler: its IST stack overflowed into its guard";
	if (cr2_kind == PW_REGION_STACK_GUARD && s->cr2 - df_guard < PW_PAGE_SIZE)
		return "fault in the #DF handler: its IST stack overflowed into its guard";
	if (cr2_kind == PW_REGION_STACK_GUARD)
		return "stack overflow with no IST stack: the exception frame could not be pushed "
		       "onto the overflowed stack";
	if (at_rsp && pw_region_kind_at(at_rsp, rsp) == PW_REGION_IST_STACK)
		return "fault in the #PF or #DF handler (RSP on an IST stack)";
	return "an exception with no usable handler (gate not present, or the handler faulted)";
}

const char *exitfault_shutdown(struct run *r)
{
	const struct kvm_regs *g = run_regs(r);
	const struct kvm_sregs *s = run_sregs(r);
	struct fault_record f = {
	    .kind = PW_FAULT_TRIPLE,
	    .vector = VECTOR_DF,
	    .caught_by = PW_CAUGHT_EXIT,
	    .rip = g ? g->rip : 0,
	    .rsp = g ? g->rsp : 0,
	    .gva = s ? s->cr2 : 0,
	};

	if (r->vcpu_reset && !r->replayed) { /* what was read is the reset state, not the fault's */
		f.rip = f.rsp = f.gva = 0;
		f.diagnosis = r->replay_note;
		fault_list_append(&r->faults, &f);
		return f.diagnosis;
	}
	f.diagnosis = s ? exitfault_diagnose(r, s, f.rsp) : "registers unavailable";
	if (s)
		f.gpa_valid = guest_pt_translate(&r->gpt, s->cr3, f.gva, &f.gpa);
	fault_list_append(&r->faults, &f);
	return f.diagnosis;
}

void exitfault_mmio(struct run *r, uint64_t gpa, bool is_write, bool readonly)
{
	struct fault_record f = {
	    .kind = readonly ? PW_FAULT_EPT_READONLY : PW_FAULT_EPT_UNBACKED,
	    .gpa = gpa,
	    .gpa_valid = true,
	    .rip = run_rip(r),
	    .caught_by = PW_CAUGHT_EXIT,
	    .access = is_write ? "write" : "read",
	};
	const struct kvm_regs *g = run_regs(r);

	f.rsp = g ? g->rsp : 0;
	fault_list_append(&r->faults, &f);
}
