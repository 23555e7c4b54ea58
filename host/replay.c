/* Replaying a run to its triple fault (host/replay.h). */
#include "replay.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "cpu.h"
#include "guestpt.h"
#include "pagewarden/abi.h"
#include "pagewarden/layout.h"
#include "run.h"
#include "steplock.h"
#include "trapstubs.h"

#define RESET_RIP 0xfff0u /* where the vCPU starts after RESET or INIT */
#define RESET_CS  0xf000u
#define PAT_RESET 0x0007040600070406ull /* IA32_PAT at power-on */
#define DR6_RESET 0xffff0ff0ull
#define DR7_RESET 0x400ull

const char *replay_strerror(enum replay_err err)
{
	static const char *const names[REPLAY_ERR_COUNT] = {
	    [REPLAY_OK] = "success",
	    [REPLAY_EBUILD] = "the guest could not be built again",
	    [REPLAY_EKVM] = "a KVM call failed",
	    [REPLAY_EDIVERGED] = "the replay did not end in the same triple fault",
	    [REPLAY_ELONG] = "too many instructions after the last exit",
	    [REPLAY_ETIME] = "no time left for it (--timeout)",
	};
	return (unsigned)err < REPLAY_ERR_COUNT ? names[err] : "unknown replay error";
}

bool replay_vcpu_was_reset(const struct kvm_regs *regs, const struct kvm_sregs *sregs)
{
	return regs->rip == RESET_RIP && sregs->cs.selector == RESET_CS &&
	       !(sregs->cr0 & CPU_CR0_PE);
}

__attribute__((format(printf, 4, 5))) static enum replay_err
replay_fail(enum replay_err err, char *why, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return err;
}

/* What the probe changes, to put back after it. */
struct replay_probe_undo {
	uint8_t pages[PW_IDT_SIZE + PW_STUBS_SIZE]; /* the IDT and stubs pages, contiguous */
	pte_t *pte, old;			      /* the stubs page's entry, if it was edited */
};

_Static_assert(PW_IDT_GPA + PW_IDT_SIZE == PW_STUBS_GPA, "the IDT and stubs pages touch");

/* One replay run: the exit hook's state. */
struct replay_pass {
	uint64_t target;  /* the guest's exits before the shutdown */
	bool probe;	  /* second pass: put the VMM's stubs in at step stop_at */
	uint64_t stop_at;
	bool stepping;
	bool probing;	  /* the stubs are in: the next exit is the first exception's */
	uint64_t steps;
	bool done;	  /* reached the end the pass looks for */
	bool recorded;	  /* st holds a state */
	enum replay_err err;
	char why[160];
	struct replay_state *st;
	struct replay_probe_undo undo;
};

/* Stop rr for pass p with err. */
static bool replay_stop(struct run *rr, struct replay_pass *p, enum replay_err err,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static bool replay_stop(struct run *rr, struct replay_pass *p, enum replay_err err,
			const char *fmt, ...)
{
	va_list ap;

	p->err = err;
	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	run_stopf(rr, RUN_STOP_KVM_ERROR, "replay: %s", p->why);
	return true;
}

/* Turn single steps on for the rest of the pass. */
static bool replay_step_on(struct run *rr, struct replay_pass *p)
{
	struct kvm_guest_debug dbg = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP};

	if (vm_set_guest_debug(rr->vm, &dbg) < 0)
		return replay_stop(rr, p, REPLAY_EKVM, "KVM_SET_GUEST_DEBUG: %s", strerror(errno));
	p->stepping = true;
	return false;
}

/* Record the vCPU state now (before the next instruction) in p->st: the registers at every
 * step of the first pass (kvm_run carries them: no ioctl), the special registers too in the
 * probe pass, which stops there. */
static bool replay_record(struct run *rr, struct replay_pass *p, bool sregs)
{
	const struct kvm_regs *g = run_regs(rr);
	const struct kvm_sregs *s = sregs ? run_sregs(rr) : NULL;

	if (!g || (sregs && !s))
		return replay_stop(rr, p, REPLAY_EKVM, "reading the registers: %s", strerror(errno));
	p->st->regs = *g;
	if (s)
		p->st->sregs = *s;
	p->st->steps = p->steps;
	p->recorded = true;
	return false;
}

/* The probe pass has recorded what it stops for; a probe that cannot catch the exception only
 * leaves CR2 as it was before the instruction. */
static bool replay_probe_give_up(struct run *rr, struct replay_pass *p, const char *why)
{
	p->done = true;
	run_stopf(rr, RUN_STOP_KVM_ERROR, "replay: no probe: %s", why);
	return true;
}

/* Make the VMM's stubs the IDT for the next instruction, keeping what it overwrites in p->undo:
 * the IDT and stubs pages, and in guest mode the stubs page's entry, a guard there, which is
 * mapped (read, execute) in the tables the guest runs on. */
static bool replay_probe_on(struct run *rr, struct replay_pass *p)
{
	const struct kvm_sregs *s = run_sregs(rr);
	const uint8_t *pages = gpa_to_host(rr->mem, PW_IDT_GPA, sizeof(p->undo.pages));
	uint64_t gpa;
	struct vm_error ve;
	int level;

	if (!s || !pages)
		return replay_probe_give_up(rr, p, "cannot read the state to probe");
	memcpy(p->undo.pages, pages, sizeof(p->undo.pages));
	if (!guest_pt_translate(&rr->gpt, s->cr3, PW_STUBS_GPA, &gpa)) {
		p->undo.pte = guest_pt_entry(&rr->gpt, s->cr3, PW_STUBS_GPA, &level);
		if (!p->undo.pte || level != 1)
			return replay_probe_give_up(rr, p, "the stubs page has no 4 KiB entry");
		p->undo.old = *p->undo.pte;
		pte_write(p->undo.pte, pte_new_page(PW_STUBS_GPA, PT_READ | PT_EXECUTE, 1));
	}
	if (trapstubs_install(rr->vm, rr->mem) < 0)
		return replay_probe_give_up(rr, p, "cannot install the VMM's IDT");
	rr->sregs_valid = false;
	s = run_sregs(rr);
	if (!s || cpu_set_sregs_reset_mmu(rr->vm, s, &ve) != VM_OK)
		return replay_probe_give_up(rr, p, "KVM_SET_SREGS failed");
	p->probing = true;
	return false;
}

/* Put back what the probe changed: the pages, the entry, and the vCPU at the faulting
 * instruction (its recorded state, with the guest's own IDTR). */
static void replay_probe_off(struct run *rr, struct replay_pass *p)
{
	uint8_t *pages = gpa_to_host(rr->mem, PW_IDT_GPA, sizeof(p->undo.pages));
	struct kvm_sregs s = p->st->sregs;
	struct vm_error ve;

	memcpy(pages, p->undo.pages, sizeof(p->undo.pages));
	if (p->undo.pte)
		pte_write(p->undo.pte, p->undo.old);
	cpu_set_sregs_reset_mmu(rr->vm, &s, &ve);
	vm_set_regs(rr->vm, &p->st->regs);
	rr->regs_valid = rr->sregs_valid = false;
}

/* The probe's exit: the first exception reached the VMM's stub. */
static bool replay_probe_exit(struct run *rr, struct replay_pass *p)
{
	const struct kvm_run *kr = rr->vm->run;
	const struct kvm_regs *g = run_regs(rr);
	const struct kvm_sregs *s = run_sregs(rr);
	struct trapstub_frame tf;
	uint32_t vector;
	bool caught = kr->exit_reason == KVM_EXIT_IO && kr->io.port == PW_PORT(PW_HC_TRAP);

	if (caught) {
		memcpy(&vector, (const uint8_t *)kr + kr->io.data_offset, sizeof(vector));
		caught = g && s && vector < TRAPSTUBS_VECTORS &&
			 trapstubs_read_frame(rr->mem, g->rsp, vector, &tf);
	}
	if (caught) {
		p->st->probed = true;
		p->st->vector = vector;
		p->st->error_code = tf.error_code;
		p->st->sregs.cr2 = s->cr2;
	}
	replay_probe_off(rr, p);
	p->done = true;
	run_stopf(rr, RUN_STOP_TRAP, "replay: %s",
		  caught ? "first exception caught" : "no exception reached the VMM's stubs");
	return true;
}

/* The replay's exit hook: count the guest's exits to the last one before the shutdown, then
 * single-step (recording the state at each instruction), and in the probe pass put the stubs
 * in before the faulting instruction. */
static bool replay_hook(struct run *rr, void *arg)
{
	struct replay_pass *p = arg;
	unsigned reason = rr->vm->run->exit_reason;

	if (p->probing)
		return replay_probe_exit(rr, p);
	if (reason == KVM_EXIT_DEBUG && p->stepping) {
		if (++p->steps > REPLAY_STEPS_MAX)
			return replay_stop(rr, p, REPLAY_ELONG, "more than %u single steps",
					   REPLAY_STEPS_MAX);
		if (!p->probe)
			replay_record(rr, p, false);
		else if (p->steps == p->stop_at && !replay_record(rr, p, true))
			replay_probe_on(rr, p);
		return true;
	}
	if (reason == KVM_EXIT_SHUTDOWN && p->stepping && !p->probe) {
		p->done = true;
		run_stopf(rr, RUN_STOP_TRIPLE_FAULT, "replay: triple fault");
		return true;
	}
	if (p->stepping || run_guest_exits(rr) > p->target)
		return replay_stop(rr, p, REPLAY_EDIVERGED,
				   "%s exit %llu where the run had its shutdown",
				   vm_exit_name(reason), (unsigned long long)run_guest_exits(rr));
	if (run_guest_exits(rr) < p->target)
		return false;
	/* The last exit before the shutdown: steps begin after it is handled. Where KVM reports
	 * no step past an `out` (PVM), the state here is the first one: RIP is past it already. */
	if (replay_step_on(rr, p) || replay_record(rr, p, p->probe))
		return true;
	if (p->probe && p->stop_at == 0)
		replay_probe_on(rr, p);
	return false;
}

/* Put the vCPU state a fresh vCPU has and the first build did not set back: no pending events,
 * the debug registers and the MSRs a guest may have written (DEBUGCTL.BTF would change what a
 * single step is) at their reset values. Best effort: a register KVM refuses keeps its value. */
static void replay_reset_vcpu(struct vm *vm)
{
	static const uint32_t zeroed[] = {0x174, 0x175, 0x176, 0xc0000081, 0xc0000082,
					  0xc0000083, 0xc0000084, 0xc0000102, 0xc0000103};
	_Alignas(8) uint8_t buf[sizeof(struct kvm_msrs) + 11 * sizeof(struct kvm_msr_entry)] = {0};
	struct kvm_msrs *m = (struct kvm_msrs *)(void *)buf;
	struct kvm_vcpu_events ev = {0};
	struct kvm_debugregs dr = {.dr6 = DR6_RESET, .dr7 = DR7_RESET};
	struct vm_error e;

	for (unsigned i = 0; i < sizeof(zeroed) / sizeof(zeroed[0]); i++)
		m->entries[m->nmsrs++].index = zeroed[i];
	m->entries[m->nmsrs].index = 0x277; /* PAT */
	m->entries[m->nmsrs++].data = PAT_RESET;
	m->entries[m->nmsrs++].index = 0x1d9; /* DEBUGCTL, last: AMD may refuse it */
	VCPU_IOCTL(vm, KVM_SET_VCPU_EVENTS, &ev, &e);
	if (vm->has_debugregs)
		VCPU_IOCTL(vm, KVM_SET_DEBUGREGS, &dr, &e);
	VCPU_IOCTL(vm, KVM_SET_MSRS, m, &e);
}

/* Build the guest again in r's VM as it was first built: RAM emptied (MADV_DONTNEED zeroes a
 * private anonymous mapping), layout, image, entry state, the VMM's IDT under --faults=vmm. */
static enum replay_err replay_rebuild(const struct run *r, const struct replay_src *src,
				      struct layout *l, char *why, size_t n)
{
	struct image_error ie = {0};
	struct vm_error ve = {0};
	enum layout_err le;

	if (madvise(r->mem->host, r->mem->size, MADV_DONTNEED) < 0)
		return replay_fail(REPLAY_EBUILD, why, n, "emptying guest RAM: %s", strerror(errno));
	if ((le = layout_build(r->mem, src->img, &src->lo, l)) != LAYOUT_OK)
		return replay_fail(REPLAY_EBUILD, why, n, "layout: %s", layout_strerror(le));
	if (image_load(src->img, r->mem, &ie))
		return replay_fail(REPLAY_EBUILD, why, n, "image: %s", ie.detail);
	replay_reset_vcpu(r->vm);
	if (cpu_setup(r->vm, l, &ve))
		return replay_fail(REPLAY_EKVM, why, n, "%s", ve.detail);
	if (src->lo.fault_mode == PW_FAULTS_VMM && trapstubs_install(r->vm, r->mem) < 0)
		return replay_fail(REPLAY_EKVM, why, n, "VMM IDT: %s", strerror(errno));
	return REPLAY_OK;
}

/* Build the guest again and run pass p in rr, for at most limit_s seconds. */
static enum replay_err replay_pass_run(const struct run *r, const struct replay_src *src,
				       struct layout *l, struct run *rr, struct replay_pass *p,
				       double limit_s, char *why, size_t n)
{
	struct run_config cfg = r->cfg;
	struct kvm_guest_debug off = {0};
	enum replay_err err = replay_rebuild(r, src, l, why, n);

	if (err)
		return err;
	cfg.console_fd = -1; /* the guest's output was shown once */
	cfg.quiet = true;
	cfg.trace = false;
	cfg.max_exits = 0;
	cfg.cpu_budget = 0;
	cfg.timeout = limit_s;
	run_init(rr, r->vm, r->mem, l, &cfg);
	rr->exit_hook = replay_hook;
	rr->exit_hook_arg = p;
	if (p->target == 0 && !replay_step_on(rr, p) && !replay_record(rr, p, p->probe) &&
	    p->probe && p->stop_at == 0)
		replay_probe_on(rr, p);
	if (rr->stop == RUN_STOP_NONE)
		run_guest(rr);
	vm_set_guest_debug(r->vm, &off);
	if (p->err)
		return replay_fail(p->err, why, n, "%s", p->why);
	if (!p->done)
		return replay_fail(REPLAY_EDIVERGED, why, n, "the replay stopped: %s", rr->msg);
	return REPLAY_OK;
}

enum replay_err replay_triple_fault(const struct run *r, const struct replay_src *src,
				    double limit_s, struct replay_state *out, char *why, size_t n)
{
	struct layout *l = malloc(sizeof(*l));
	struct run *rr = calloc(1, sizeof(*rr)); /* run_free is safe on it before run_init */
	struct replay_pass find = {.target = run_guest_exits(r) - 1, .st = out};
	struct replay_pass probe = {.target = find.target, .probe = true};
	struct replay_state probed = {0};
	enum replay_err err;

	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	if (!l || !rr) {
		free(l);
		free(rr);
		return replay_fail(REPLAY_EBUILD, why, n, "out of memory");
	}
	steplock_hold(src->step_lock_fd, true);
	err = replay_pass_run(r, src, l, rr, &find, limit_s / 2, why, n);
	run_free(rr);
	if (!err && !find.recorded)
		err = replay_fail(REPLAY_EDIVERGED, why, n, "no state recorded before the shutdown");
	/* The second pass stops before that instruction: the special registers there (read once,
	 * not at every step), then its first exception through the VMM's stubs. */
	if (!err) {
		probe.stop_at = out->steps;
		probe.st = &probed;
		err = replay_pass_run(r, src, l, rr, &probe, limit_s / 2, why, n);
		run_free(rr);
	}
	if (!err && (probed.regs.rip != out->regs.rip || probed.regs.rsp != out->regs.rsp))
		err = replay_fail(REPLAY_EDIVERGED, why, n,
				  "the second pass stopped at RIP 0x%llx, the first at 0x%llx",
				  (unsigned long long)probed.regs.rip,
				  (unsigned long long)out->regs.rip);
	if (!err) {
		out->sregs = probed.sregs;
		out->probed = probed.probed;
		out->vector = probed.vector;
		out->error_code = probed.error_code;
	}
	steplock_hold(src->step_lock_fd, false);
	free(rr);
	free(l);
	return err;
}
