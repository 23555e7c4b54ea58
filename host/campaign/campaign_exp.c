/* A campaign run's exit hook, one vCPU's: triggers, the injection, the output hash and the
 * budget (host/campaign/campaign_exp.h). */
#include "campaign_exp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gdb.h"
#include "hypercall.h"
#include "smp.h"
#include "steplock.h"

#define CAMP_FNV_PRIME 0x100000001b3ull

uint64_t camp_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * CAMP_FNV_PRIME;
	return h;
}

/* KVM_SET_GUEST_DEBUG on vm's vCPU with control, and with KVM_GUESTDBG_USE_HW_BP an execute
 * breakpoint at addr in DR0. The ioctl's result. */
static int camp_set_debug(struct vm *vm, uint32_t control, uint64_t addr)
{
	struct kvm_guest_debug dbg = {.control = control};

	if (control & KVM_GUESTDBG_USE_HW_BP) {
		dbg.arch.debugreg[0] = addr;
		dbg.arch.debugreg[7] = vm_dr7_enable(0, VM_DR_EXEC, 1);
	}
	return vm_set_guest_debug(vm, &dbg);
}

/* Apply the experiment's injection now. */
static void exp_fire(struct exp *x, struct run *r)
{
	x->applied = true;
	/* The hang budget counts from here: the prefix is the golden run's. Its timer is vCPU 0's
	 * (with several vCPUs, it counts all their CPU time). */
	if (x->cpu == 0)
		run_budget_start(r);
	else
		run_budget_start_on(x->w->smp->run0, r);
	x->err = inject_apply(r, x->spec, &x->eff, x->why, sizeof(x->why));
	if (x->eff.host_wrote)
		snapshot_note_host_write(&x->w->snap, x->eff.gpa, x->eff.len);
	if (x->err)
		run_stopf(r, RUN_STOP_KVM_ERROR, "injection failed: %s", x->why);
	else if (x->w->gdb) { /* --gdb: stop here, with the injection applied; a person at a
			       * prompt has no hang budget (the stub's own exits would count) */
		x->w->budget_exits = 0;
		gdb_attach(x->w->gdb, r);
	}
}

/* Take (on) or release the single-step lock (host/steplock.h), if the worker has one. A run
 * that single-stepped keeps it to its end: guests stopped after their steps hung there too when
 * another VM stepped meanwhile. */
static void exp_step_lock(struct exp *x, bool on)
{
	if (x->step_locked == on)
		return;
	steplock_hold(x->w->step_lock_fd, on);
	x->step_locked = on;
}

/* Turn x's debug exits off (if on); a failure stops r. */
static void exp_debug_off(struct exp *x, struct run *r)
{
	if (x->debug_on && camp_set_debug(r->vm, 0, 0) < 0)
		run_stopf(r, RUN_STOP_KVM_ERROR, "KVM_SET_GUEST_DEBUG: %s", strerror(errno));
	x->debug_on = false;
}

/* Keep the state after the golden run's first w->ntrace instructions as a waypoint. */
static void exp_waypoint(struct exp *x, struct run *r)
{
	struct worker *w = x->w;
	struct waypoint wp = {
	    .insn = w->ntrace,
	    .hc = x->hc,
	    .cp = x->cp,
	    .hash = x->hash,
	    .recovery_gpa = r->recovery_gpa,
	    .pool_top = r->gpt.pool_top,
	};
	struct vm_error ve;

	memcpy(wp.exits, r->exits, sizeof(wp.exits));
	wp.exits[KVM_EXIT_DEBUG] = 0; /* the steps are ours, not the guest's */
	worker_note_vmm_writes(w, r); /* so that the delta has them */
	if (snapshot_delta_take(&w->snap, r->vm, r->mem, &wp.delta, &ve) == VM_OK)
		waypoints_add(&w->wps, &wp);
	else
		w->wps.full = true; /* no more; the experiments start earlier, that is all */
}

/* True while the run single-steps (trace, @insn, @rip by steps, stepping past an arrival). */
static bool exp_stepping(const struct exp *x)
{
	return x->debug_on && (x->tracing || x->stepping_past || x->step_rip ||
			       (x->spec && x->spec->trigger == INJ_AT_INSN));
}

/* Re-arm the @rip hardware breakpoint after stepping past an earlier arrival. */
static void exp_rearm(struct exp *x, struct run *r)
{
	x->stepping_past = false;
	if (camp_set_debug(r->vm, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, x->spec->when) < 0)
		run_stopf(r, RUN_STOP_KVM_ERROR, "KVM_SET_GUEST_DEBUG: %s", strerror(errno));
}

/* Before its trigger an experiment replays the golden run, so arrival q (at pc) must be the
 * trace's. Single steps on some platforms are lost or land in the wrong context (QEMU 7.2's
 * nested SVM under load: docs/platforms.md); then stop the run, to be run again. Not with
 * several vCPUs: how often a vCPU spins waiting for another differs from run to run. */
static bool exp_on_golden_path(struct exp *x, struct run *r, uint64_t pc, uint64_t q)
{
	const struct worker *w = x->w;
	if (w->ncpus > 1 || q > w->ntrace || w->trace[q - 1] == pc)
		return true;
	x->diverged = true;
	exp_debug_off(x, r);
	run_stopf(r, RUN_STOP_KVM_ERROR,
		  "single steps left the golden run at instruction %" PRIu64 ": RIP 0x%" PRIx64
		  ", not 0x%" PRIx64,
		  q, pc, w->trace[q - 1]);
	return false;
}

/* By single steps, the run is at instruction x->steps, at pc: fire if the trigger is there. */
static void exp_arrive(struct exp *x, struct run *r, uint64_t pc)
{
	if (x->spec->trigger == INJ_AT_INSN ? x->steps >= x->spec->when
					    : pc == x->spec->when && ++x->hits >= x->spec->hit)
		exp_debug_off(x, r), exp_fire(x, r);
}

/* An arrival at pc while single-stepping: one more instruction has run. */
static void exp_step(struct exp *x, struct run *r, uint64_t pc)
{
	if (x->tracing) {
		if (x->w->ntrace < CAMP_TRACE_MAX)
			x->w->trace[x->w->ntrace++] = pc;
		else
			exp_debug_off(x, r), x->w->ntrace = 0, x->tracing = false;
		if (x->tracing && x->w->fast_forward && waypoints_due(&x->w->wps, x->w->ntrace))
			exp_waypoint(x, r);
		return;
	}
	if (!x->spec || x->applied)
		return exp_debug_off(x, r);
	if (x->stepping_past) /* the instruction at the breakpoint ran: arm it again */
		return exp_rearm(x, r);
	if (exp_on_golden_path(x, r, pc, ++x->steps))
		exp_arrive(x, r, pc);
}

/* A KVM_EXIT_DEBUG: a single step, or the @rip hardware breakpoint. */
static void exp_debug(struct exp *x, struct run *r)
{
	if (exp_stepping(x))
		return exp_step(x, r, r->vm->run->debug.arch.pc);
	if (!x->spec || x->applied)
		return exp_debug_off(x, r);
	if (++x->hits >= x->spec->hit) {
		exp_debug_off(x, r);
		exp_fire(x, r);
		return;
	}
	/* Not yet the K-th arrival: run this one instruction as a single step with the breakpoint
	 * off, then arm it again. RFLAGS.RF would do it in one exit, but kvm_pvm ignores it: the
	 * breakpoint fires again at once, at the same arrival. */
	x->stepping_past = x->stepped = true;
	exp_step_lock(x, true);
	if (camp_set_debug(r->vm, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, 0) < 0)
		run_stopf(r, RUN_STOP_KVM_ERROR, "KVM_SET_GUEST_DEBUG: %s", strerror(errno));
}

/* A hypercall's `out` single-stepped on a KVM that reports no debug exit past it (PVM: RIP is
 * past it at the I/O exit already): handle the hypercall, then count the arrival there, as
 * standard KVM's debug exit at the completion would. Not if the VMM moved RIP (a --faults=vmm
 * resume): standard KVM has no debug exit for that either. */
static void exp_step_io(struct exp *x, struct run *r)
{
	uint64_t rip = r->regs.rip;

	hypercall_handle(r);
	if (r->stop == RUN_STOP_NONE && exp_stepping(x) && run_rip(r) == rip)
		exp_step(x, r, rip);
}

/* A hypercall exit: hash its output, count it, maybe trigger. */
static void exp_hypercall(struct exp *x, struct run *r)
{
	const struct kvm_run *kr = r->vm->run;
	unsigned nr = kr->io.port - PW_PORT_BASE;
	uint32_t arg;

	memcpy(&arg, (const uint8_t *)kr + kr->io.data_offset, sizeof(arg));
	x->hc++;
	if (nr == PW_HC_CONSOLE) {
		const struct pw_hc_console *c = gpa_to_host(r->mem, arg, sizeof(*c));
		const void *buf = c ? gpa_to_host(r->mem, c->buf, c->len) : NULL;

		if (buf)
			x->hash = camp_fnv(x->hash, buf, c->len);
	} else if (nr == PW_HC_CHECKPOINT) {
		const struct pw_hc_checkpoint *c = gpa_to_host(r->mem, arg, sizeof(*c));

		x->cp++;
		if (c)
			x->hash = camp_fnv(x->hash, c, sizeof(*c));
	}
	if (!x->spec || x->applied)
		return;
	if ((x->spec->trigger == INJ_AT_HC && x->hc == x->spec->when) ||
	    (x->spec->trigger == INJ_AT_CHECKPOINT && nr == PW_HC_CHECKPOINT &&
	     x->cp == x->spec->when))
		exp_fire(x, r);
}

/* The run's exit hook (arg: x): count, hash and trigger on each exit, and handle the exits the
 * trigger made itself. True if it handled the exit (or stopped the run). */
static bool exp_hook(struct run *r, void *arg)
{
	struct exp *x = arg;
	const struct kvm_run *kr = r->vm->run;

	if (x->cpu == 0)
		x->w->last_exit = kr->exit_reason;
	/* The runtime's debug stubs (--inject --gdb, gdb not attached yet): let them go on, as
	 * uncounted as the steps the trigger costs. */
	if (kr->exit_reason == KVM_EXIT_IO && kr->io.port == PW_PORT(PW_HC_DEBUG))
		return true;
	if (kr->exit_reason == KVM_EXIT_DEBUG) {
		exp_debug(x, r);
		return true;
	}
	if (x->w->budget_exits && run_guest_exits(r) > x->w->budget_exits) {
		run_stopf(r, RUN_STOP_TIMEOUT, "hang budget: more than %" PRIu64 " exits",
			  x->w->budget_exits);
		return true;
	}
	if (kr->exit_reason == KVM_EXIT_IO && kr->io.port >= PW_PORT_BASE &&
	    kr->io.port < PW_PORT(PW_HC_COUNT) && kr->io.direction == KVM_EXIT_IO_OUT &&
	    kr->io.size == 4) {
		bool cp = kr->io.port == PW_PORT(PW_HC_CHECKPOINT);

		if (x->boot) {
			if (cp) {
				hypercall_handle(r);
				if (r->stop == RUN_STOP_NONE)
					run_stopf(r, RUN_STOP_HALT, "snapshot point");
				return true;
			}
			return false;
		}
		exp_hypercall(x, r);
		if (exp_stepping(x) && !x->w->plat.step_io_exit && r->stop == RUN_STOP_NONE &&
		    run_regs(r)) {
			exp_step_io(x, r);
			return true;
		}
	}
	if (x->spec && !x->applied && x->spec->trigger == INJ_AT_TIME &&
	    campaign_now_ns() - x->t0 >= x->spec->when * 1000000ull)
		exp_fire(x, r);
	return r->stop != RUN_STOP_NONE;
}

/* The debug control vCPU x->cpu starts its run with: single steps for a trace or @insn, the
 * hardware breakpoint (or single steps where it does not fire) for @rip; 0 for none. */
static uint32_t exp_debug_ctl(struct exp *x)
{
	const struct inject_spec *spec = x->spec;

	if (x->tracing || (spec && spec->trigger == INJ_AT_INSN && spec->when > x->steps))
		return KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	if (spec && spec->trigger == INJ_AT_RIP && x->w->plat.hw_breakpoint)
		return KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
	if (spec && spec->trigger == INJ_AT_RIP) { /* exact, only slower */
		x->step_rip = true;
		return KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	}
	return 0;
}

/* Make vCPU x->cpu's run r (on view, starting at rip0) x's: its exit hook, its trigger armed,
 * and a trigger at the start point fired. */
void exp_start(struct exp *x, struct run *r, struct vm *view, uint64_t rip0)
{
	uint32_t ctl = exp_debug_ctl(x);

	r->exit_hook = exp_hook, r->exit_hook_arg = x;
	if (ctl) /* before the run's timer: waiting for the lock is not the run's time */
		exp_step_lock(x, true);
	if (ctl && camp_set_debug(view, ctl, x->spec ? x->spec->when : 0) < 0)
		run_stopf(r, RUN_STOP_KVM_ERROR, "KVM_SET_GUEST_DEBUG: %s", strerror(errno));
	x->debug_on = x->debug_at_start = ctl != 0;
	x->stepped = (ctl & KVM_GUESTDBG_SINGLESTEP) != 0;
	x->t0 = campaign_now_ns();
	if (x->spec && x->spec->trigger == INJ_AT_INSN && x->spec->when == x->steps &&
	    r->stop == RUN_STOP_NONE)
		exp_fire(x, r);
	/* By steps, the start is an arrival too (a breakpoint fires there at the first entry). */
	if (x->step_rip && r->stop == RUN_STOP_NONE)
		exp_arrive(x, r, rip0);
}

/* After vCPU x->cpu's run stopped: its debug exits off, the single-step lock released. */
void exp_finish(struct exp *x, struct vm *view)
{
	if (x->debug_on)
		camp_set_debug(view, 0, 0);
	x->debug_on = false;
	exp_step_lock(x, false);
}

/* True if run r of spec (x: the vCPU the spec names) used debug exits before its trigger and
 * does not replay the golden run up to it: single steps were lost or misplaced (or the
 * lockstep check caught it). With several vCPUs only the lockstep check counts (which they do
 * not make): a run's outcome may differ from the golden run's by timing alone. */
bool exp_diverged(const struct worker *w, const struct exp *x, const struct run *r,
			 uint64_t hash)
{
	if (x->diverged)
		return true;
	return w->ncpus == 1 && x->debug_at_start && !x->applied && inject_deterministic(x->spec) &&
	       (r->stop != w->golden.stop || r->exit_code != w->golden.exit_code ||
		hash != w->golden.hash);
}

/* True if f, the last fault of the vCPU whose stop ended the run, is a #DB on vCPU x->cpu that
 * x's single steps made, not the guest or the injection: a step that lands in an interrupt handler pushes the trap flag KVM set on the
 * interrupt frame, and the guest takes it when the handler returns (PVM: docs/platforms.md).
 * Only with several vCPUs: with one there is no irqchip, and no interrupt. */
bool exp_leaked_tf(const struct exp *x, const struct fault_record *f)
{
	const struct inject_spec *s = x->spec;

	if (x->w->ncpus == 1 || !x->stepped || !f || f->cpu != x->cpu || f->vector != 1)
		return false;
	/* the injection's own #DB: the exception itself, or RFLAGS.TF (bit 8) flipped on */
	return !(s && ((s->model == INJ_EXC && s->vector == 1) ||
		       (s->model == INJ_REG && s->reg == INJ_RFLAGS && s->bit == 8)));
}
