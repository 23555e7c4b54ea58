/* Replaying a run to its triple fault (host/replay.h). */
#include "replay.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "cpu.h"
#include "guestpt.h"
#include "pagewarden/abi.h"
#include "pagewarden/layout.h"
#include "run.h"
#include "steplock.h"
#include "trapstubs.h"

#define RESET_RIP	 0xfff0u /* where the vCPU starts after RESET or INIT */
#define RESET_CS	 0xf000u
#define REPLAY_SLACK_S	 30.0 /* wall-clock allowance of a replay pass beyond 4x the run: single
			       * steps cost ~0.15 ms each under QEMU */
#define VECTOR_DB	 1

const char *replay_strerror(enum replay_err err)
{
	static const char *const names[REPLAY_ERR_COUNT] = {
	    [REPLAY_OK] = "success",
	    [REPLAY_EBUILD] = "the guest could not be built again",
	    [REPLAY_EKVM] = "a KVM call failed",
	    [REPLAY_EDIVERGED] = "the replay did not end in the same triple fault",
	    [REPLAY_ELONG] = "too many instructions after the last exit",
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

/* One replay run: the exit hook's state. */
struct replay_pass {
	uint64_t target;   /* the guest's exits before the shutdown */
	bool probe;	   /* second pass: put the VMM's stubs in at step stop_at */
	uint64_t stop_at;
	bool stepping;
	bool probing;	   /* the stubs are in: the next exit is the first exception's */
	uint64_t steps;
	bool done;	   /* reached the end the pass looks for */
	enum replay_err err;
	char why[160];
	struct replay_state *st;
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

/* Make the VMM's stubs the IDT for the next instruction: in guest mode the stubs page is a
 * guard, so it is mapped (read, execute) in the tables the guest runs on. */
static bool replay_probe_on(struct run *rr, struct replay_pass *p)
{
	const struct kvm_sregs *s = run_sregs(rr);
	uint64_t gpa;
	struct vm_error ve;
	enum pt_err pe;

	if (!s)
		return replay_probe_give_up(rr, p, "KVM_GET_SREGS failed");
	if (!guest_pt_translate(&rr->gpt, s->cr3, PW_STUBS_GPA, &gpa) &&
	    (pe = guest_pt_map_page(&rr->gpt, s->cr3, PW_STUBS_GPA, PT_READ | PT_EXECUTE)) != PT_OK)
		return replay_probe_give_up(rr, p, pt_strerror(pe));
	if (trapstubs_install(rr->vm, rr->mem) < 0)
		return replay_probe_give_up(rr, p, "cannot install the VMM's IDT");
	rr->sregs_valid = false;
	s = run_sregs(rr);
	if (!s || cpu_set_sregs_reset_mmu(rr->vm, s, &ve) != VM_OK)
		return replay_probe_give_up(rr, p, "KVM_SET_SREGS failed");
	p->probing = true;
	return false;
}

/* The probe's exit: the first exception reached the VMM's stub. */
static bool replay_probe_exit(struct run *rr, struct replay_pass *p)
{
	const struct kvm_run *kr = rr->vm->run;
	const struct kvm_regs *g = run_regs(rr);
	const struct kvm_sregs *s = run_sregs(rr);
	struct trapstub_frame tf;
	uint32_t vector;

	if (kr->exit_reason != KVM_EXIT_IO || kr->io.port != PW_PORT(PW_HC_TRAP))
		return replay_probe_give_up(rr, p, "no exception reached the VMM's stubs");
	memcpy(&vector, (const uint8_t *)kr + kr->io.data_offset, sizeof(vector));
	if (!g || !s || vector >= TRAPSTUBS_VECTORS ||
	    !trapstubs_read_frame(rr->mem, g->rsp, vector, &tf))
		return replay_probe_give_up(rr, p, "cannot read the stub's frame");
	p->st->probed = true;
	p->st->vector = vector;
	p->st->error_code = tf.error_code;
	p->st->sregs.cr2 = s->cr2;
	p->done = true;
	run_stopf(rr, RUN_STOP_TRAP, "replay: first exception caught");
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
	/* the last exit before the shutdown: it is handled, then steps begin */
	if (run_guest_exits(rr) == p->target && replay_step_on(rr, p))
		return true;
	if (p->probe && p->stepping && p->stop_at == 0 && !replay_record(rr, p, true))
		return replay_probe_on(rr, p);
	return false;
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
	if (cpu_setup(r->vm, l, &ve))
		return replay_fail(REPLAY_EKVM, why, n, "%s", ve.detail);
	if (src->lo.fault_mode == PW_FAULTS_VMM && trapstubs_install(r->vm, r->mem) < 0)
		return replay_fail(REPLAY_EKVM, why, n, "VMM IDT: %s", strerror(errno));
	return REPLAY_OK;
}

/* Build the guest again and run pass p in rr. */
static enum replay_err replay_pass_run(const struct run *r, const struct replay_src *src,
				       struct layout *l, struct run *rr, struct replay_pass *p,
				       char *why, size_t n)
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
	cfg.timeout = 4.0 * (double)run_elapsed_ns(r) / 1e9 + REPLAY_SLACK_S;
	run_init(rr, r->vm, r->mem, l, &cfg);
	rr->exit_hook = replay_hook;
	rr->exit_hook_arg = p;
	if (p->target == 0) {
		replay_step_on(rr, p);
		if (!p->probe)
			replay_record(rr, p, false);
		else if (p->stop_at == 0 && !replay_record(rr, p, true))
			replay_probe_on(rr, p);
	}
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
				    struct replay_state *out, char *why, size_t n)
{
	struct layout *l = malloc(sizeof(*l));
	struct run *rr = malloc(sizeof(*rr));
	struct replay_pass find = {.target = run_guest_exits(r) - 1, .st = out};
	struct replay_pass probe = {.target = find.target, .probe = true};
	struct replay_state probed = {0};
	enum replay_err err;

	memset(out, 0, sizeof(*out));
	if (!l || !rr) {
		free(l);
		free(rr);
		return replay_fail(REPLAY_EBUILD, why, n, "out of memory");
	}
	steplock_hold(src->step_lock_fd, true);
	err = replay_pass_run(r, src, l, rr, &find, why, n);
	run_free(rr);
	if (!err && out->steps == 0 && find.target > 0)
		err = replay_fail(REPLAY_EDIVERGED, why, n,
				  "no single step between the last exit and the shutdown");
	/* The second pass stops before that instruction: the special registers there (read once,
	 * not at every step), then its first exception through the VMM's stubs. */
	if (!err) {
		probe.stop_at = out->steps;
		probe.st = &probed;
		err = replay_pass_run(r, src, l, rr, &probe, why, n);
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
