/* Counting retired guest instructions by single steps. */
#include "count.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "guestpt.h"
#include "hypercall.h"
#include "steplock.h"

#define OP_REX_W      0x48
#define OP_IRET	      0xcf
#define DR6_B0_B3     0xfull		  /* which of DR0..DR3 fired */

/* The handlers whose entries get a breakpoint where steps stop in handlers: the exceptions a
 * guard-page guest takes. Others run uncounted there (docs/platforms.md). */
static const unsigned count_vectors[COUNT_BPS] = {14, 13, 6, 0}; /* #PF #GP #UD #DE */

bool count_inexact(const char **why)
{
	if (!platform_in_qemu_tcg())
		return false;
	*why = "KVM here runs nested in QEMU's emulator, whose single steps of a nested guest "
	       "drift (QEMU before 9.1 mishandles debug state across nested VM entries and "
	       "exits; docs/platforms.md)";
	return true;
}

/* Single-step, with the handler breakpoints armed unless bps is false. */
static int count_set_debug(struct count *c, struct run *r, bool bps)
{
	struct kvm_guest_debug dbg = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP};

	if (bps && c->handler_bps) {
		dbg.control |= KVM_GUESTDBG_USE_HW_BP;
		for (unsigned i = 0; i < COUNT_BPS; i++) {
			dbg.arch.debugreg[i] = c->bp[i];
			if (c->bp[i])
				dbg.arch.debugreg[7] |= vm_dr7_enable(i, VM_DR_EXEC, 1);
		}
	}
	if (vm_set_guest_debug(r->vm, &dbg) == 0)
		return 0;
	run_stopf(r, RUN_STOP_KVM_ERROR, "KVM_SET_GUEST_DEBUG (counting): %s", strerror(errno));
	return -1;
}

/* Read the handler entries of the IDT in force into c->bp; true if they changed. Guests load
 * and edit their IDT as they run, so this is read at every step. */
static bool count_scan(struct count *c, struct run *r)
{
	bool changed = false;

	for (unsigned i = 0; i < COUNT_BPS; i++) {
		uint64_t e = run_idt_entry(r, count_vectors[i]);

		changed |= e != c->bp[i];
		c->bp[i] = e;
	}
	return changed;
}

/* True if pc is a handler entry of c->bp. */
static bool count_is_entry(const struct count *c, uint64_t pc)
{
	for (unsigned i = 0; i < COUNT_BPS; i++)
		if (c->bp[i] && c->bp[i] == pc)
			return true;
	return false;
}

/* If the instruction at pc is iretq, note where it returns to (the RIP on top of the stack). */
static void count_watch_iret(struct count *c, struct run *r, uint64_t pc)
{
	const struct kvm_regs *regs = run_regs(r);
	uint8_t op[2];

	c->iret_pending = regs && run_read_virt(r, pc, op, sizeof(op)) && op[0] == OP_REX_W &&
			  op[1] == OP_IRET && run_read_virt(r, regs->rsp, &c->iret_target, 8);
}

/* The run is at pc after one more step: an instruction retired unless pc is where the last
 * arrival was (a rep string instruction's next iteration). An iretq that restored TF from its
 * frame is not stepped by itself where TF was clear while it ran (the SDM: no single-step trap
 * after the instruction that sets TF; PVM), so an arrival after one that is not at its return
 * address counts it too. */
static void count_arrival(struct count *c, struct run *r, uint64_t pc)
{
	if (c->iret_pending && pc != c->iret_target) {
		c->insns++;
		c->iret_merged++;
	}
	if (pc == c->last_pc)
		c->repeats++;
	else
		c->insns++;
	c->last_pc = pc;
	count_watch_iret(c, r, pc);
}

/* True if the debug exit at pc is not an instruction retired but the way into a handler: one
 * of its breakpoints (DR6 names it), or where deliveries give a debug exit, its entry. */
static bool count_at_entry(const struct count *c, const struct kvm_debug_exit_arch *d)
{
	if (!count_is_entry(c, d->pc))
		return false;
	return c->handler_bps ? (d->dr6 & DR6_B0_B3) != 0 : c->plat.step_delivery;
}

/* A debug exit: a step, or a handler breakpoint (no instruction retired: the handler is about
 * to run its first one, which is then stepped with the breakpoints off). */
static void count_debug(struct count *c, struct run *r)
{
	const struct kvm_debug_exit_arch *d = &r->vm->run->debug.arch;
	uint64_t pc = d->pc;
	bool watch = c->handler_bps || c->plat.step_delivery;

	if (c->bps_off) {
		c->bps_off = false;
		count_arrival(c, r, pc);
		count_scan(c, r);
		count_set_debug(c, r, true);
		return;
	}
	if (watch && count_scan(c, r) && c->handler_bps && count_set_debug(c, r, true) < 0)
		return;
	if (watch && count_at_entry(c, d)) {
		c->iret_pending = false; /* an iretq that faulted did not retire */
		if (c->handler_bps) {
			c->handler_stops++;
			c->bps_off = true;
			count_set_debug(c, r, false);
		}
		return;
	}
	count_arrival(c, r, pc);
}

/* An I/O exit: handle it as the run would, and count its instruction where no debug exit
 * will: standard KVM reports one past it when it completes it at the next KVM_RUN, unless the
 * VMM moved RIP (a --faults=vmm unwind) or the run stopped (the exit hypercall); PVM reports
 * none (RIP is already past it: an arrival there). */
static void count_io(struct count *c, struct run *r)
{
	const struct kvm_regs *regs = run_regs(r);
	uint64_t rip = regs ? regs->rip : 0, now;

	hypercall_handle(r);
	now = r->stop == RUN_STOP_NONE ? run_rip(r) : 0;
	if (r->stop == RUN_STOP_NONE && regs && now == rip) {
		if (c->plat.step_io_exit)
			return;
		if (c->plat.io_rip_after) {
			count_arrival(c, r, rip);
			return;
		}
	}
	c->insns++;
	c->last_pc = now;
	c->iret_pending = false;
}

static bool count_hook(struct run *r, void *arg)
{
	struct count *c = arg;
	const struct kvm_run *kr = r->vm->run;

	if (kr->exit_reason == KVM_EXIT_DEBUG) {
		count_debug(c, r);
		return true;
	}
	/* The first checkpoint, as r->checkpoints will count it once it is handled. */
	if (kr->exit_reason == KVM_EXIT_IO && kr->io.port == PW_PORT(PW_HC_CHECKPOINT) &&
	    r->checkpoints == 0)
		c->cp_insns = c->insns + 1; /* its `out`, which retires at this exit */
	if (kr->exit_reason == KVM_EXIT_IO) {
		count_io(c, r);
		return true;
	}
	return false;
}

enum count_err count_start(struct count *c, struct run *r, bool force_bps, int lock_fd,
			   struct vm_error *e)
{
	const struct kvm_regs *regs;

	memset(c, 0, sizeof(*c));
	c->lock_fd = -1;
	if (platform_probe_locked(r->vm->kvm_fd, lock_fd, &c->plat, e) != VM_OK)
		return COUNT_EPROBE;
	c->handler_bps = force_bps || !c->plat.step_handlers;
	if (c->handler_bps && !c->plat.hw_breakpoint) {
		snprintf(e->detail, sizeof(e->detail),
			 "single steps stop in exception handlers on this KVM and its execute "
			 "breakpoints do not fire, so handlers cannot be counted");
		return COUNT_ENOBP;
	}
	regs = run_regs(r);
	c->last_pc = regs ? regs->rip : 0;
	c->lock_fd = lock_fd;
	steplock_hold(c->lock_fd, true);
	r->exit_hook = count_hook;
	r->exit_hook_arg = c;
	count_scan(c, r);
	if (count_set_debug(c, r, true) < 0) {
		snprintf(e->detail, sizeof(e->detail), "KVM_SET_GUEST_DEBUG: %s", strerror(errno));
		return COUNT_EDEBUG;
	}
	return COUNT_OK;
}

void count_finish(struct count *c, struct run *r)
{
	struct kvm_guest_debug off = {0};

	(void)vm_set_guest_debug(r->vm, &off);
	steplock_hold(c->lock_fd, false);
	c->lock_fd = -1;
}
