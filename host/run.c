/* The vCPU run loop and --timeout. */
#include "run.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>
#include <time.h>

#include "exitfault.h"
#include "hypercall.h"
#include "replay.h"
#include "report.h"
#include "status.h"

/* What a stop is called and what it means for ./vmm's exit status and report. */
struct run_stop_info {
	const char *name;
	int status;
	bool report; /* registers, code bytes and a page walk help explain it */
};

static const struct run_stop_info run_stops[RUN_STOP_COUNT] = {
    [RUN_STOP_NONE] = {"running", PW_STATUS_INTERNAL, false},
    [RUN_STOP_EXIT] = {"exit", 0, false},
    [RUN_STOP_HALT] = {"halt", 0, false},
    [RUN_STOP_PANIC] = {"panic", PW_STATUS_CRASH, false},
    [RUN_STOP_FAULT] = {"fault", PW_STATUS_CRASH, false},
    [RUN_STOP_BAD_HYPERCALL] = {"bad-hypercall", PW_STATUS_BAD_HYPERCALL, false},
    [RUN_STOP_TRIPLE_FAULT] = {"triple-fault", PW_STATUS_CRASH, true},
    [RUN_STOP_MMIO] = {"mmio", PW_STATUS_CRASH, true},
    [RUN_STOP_TRAP] = {"trap", PW_STATUS_CRASH, true},
    [RUN_STOP_HOST_FAULT] = {"host-fault", PW_STATUS_CRASH, true},
    [RUN_STOP_INTERNAL] = {"internal-error", PW_STATUS_INTERNAL, true},
    [RUN_STOP_FAIL_ENTRY] = {"fail-entry", PW_STATUS_INTERNAL, true},
    [RUN_STOP_UNHANDLED] = {"unhandled-exit", PW_STATUS_INTERNAL, true},
    [RUN_STOP_TIMEOUT] = {"timeout", PW_STATUS_TIMEOUT, false},
    [RUN_STOP_KVM_ERROR] = {"kvm-error", PW_STATUS_INTERNAL, false},
    [RUN_STOP_LIMIT] = {"limit", PW_STATUS_LIMIT, false},
    [RUN_STOP_KILLED] = {"killed", PW_STATUS_KILLED, false},
    [RUN_STOP_STOPPED] = {"stopped", PW_STATUS_INTERNAL, false},
};

const char *run_stop_name(enum run_stop stop)
{
	return (unsigned)stop < RUN_STOP_COUNT ? run_stops[stop].name : "?";
}

int run_status(const struct run *r)
{
	if (r->stop == RUN_STOP_EXIT)
		return (int)(r->exit_code & 0xff);
	return (unsigned)r->stop < RUN_STOP_COUNT ? run_stops[r->stop].status : PW_STATUS_INTERNAL;
}

bool run_stop_wants_report(enum run_stop stop)
{
	return (unsigned)stop < RUN_STOP_COUNT && run_stops[stop].report;
}

void run_init(struct run *r, struct vm *vm, const struct guest_mem *mem,
	      const struct layout *layout, const struct run_config *cfg)
{
	memset(r, 0, sizeof(*r));
	r->vm = vm;
	r->mem = mem;
	r->layout = layout;
	r->cfg = *cfg;
	r->faults.cpu = vm->cpu;
	guest_pt_init(&r->gpt, layout);
}

void run_stopf(struct run *r, enum run_stop stop, const char *fmt, ...)
{
	va_list ap;

	r->stop = stop;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

void run_note(const struct run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->cfg.quiet)
		return;
	fputs("vmm: ", r->cfg.log);
	va_start(ap, fmt);
	vfprintf(r->cfg.log, fmt, ap);
	va_end(ap);
	fputc('\n', r->cfg.log);
}

const struct kvm_regs *run_regs(struct run *r)
{
	if (!r->regs_valid)
		r->regs_valid = ioctl(r->vm->vcpu_fd, KVM_GET_REGS, &r->regs) == 0;
	return r->regs_valid ? &r->regs : NULL;
}

bool run_set_regs(struct run *r, const struct kvm_regs *regs)
{
	if (vm_set_regs(r->vm, regs) < 0) {
		run_stopf(r, RUN_STOP_KVM_ERROR, "KVM_SET_REGS: %s", strerror(errno));
		return false;
	}
	r->regs = *regs;
	r->regs_valid = true;
	return true;
}

const struct kvm_sregs *run_sregs(struct run *r)
{
	if (!r->sregs_valid)
		r->sregs_valid = ioctl(r->vm->vcpu_fd, KVM_GET_SREGS, &r->sregs) == 0;
	return r->sregs_valid ? &r->sregs : NULL;
}

bool run_read_virt(struct run *r, uint64_t va, void *buf, size_t n)
{
	const struct kvm_sregs *s = run_sregs(r);
	const void *p;
	uint64_t gpa;

	if (!s || !guest_pt_translate(&r->gpt, s->cr3, va, &gpa) || (va & 0xfff) + n > 0x1000 ||
	    !(p = gpa_to_host(r->mem, gpa, n)))
		return false;
	memcpy(buf, p, n);
	return true;
}

#define RUN_IDT_GATE_SIZE 16
#define RUN_IDT_GATE_P	  0x80 /* type byte: present */

uint64_t run_idt_entry(struct run *r, unsigned vector)
{
	const struct kvm_sregs *s = run_sregs(r);
	uint8_t g[RUN_IDT_GATE_SIZE];

	if (!s || (vector + 1) * RUN_IDT_GATE_SIZE > (uint64_t)s->idt.limit + 1 ||
	    !run_read_virt(r, s->idt.base + vector * RUN_IDT_GATE_SIZE, g, sizeof(g)) ||
	    !(g[5] & RUN_IDT_GATE_P))
		return 0;
	return (uint64_t)g[0] | (uint64_t)g[1] << 8 | (uint64_t)g[6] << 16 | (uint64_t)g[7] << 24 |
	       (uint64_t)g[8] << 32 | (uint64_t)g[9] << 40 | (uint64_t)g[10] << 48 |
	       (uint64_t)g[11] << 56;
}

uint64_t run_guest_exits(const struct run *r)
{
	return r->nexits - r->exits[KVM_EXIT_DEBUG];
}

uint64_t run_exits_after_checkpoint(const struct run *r)
{
	return r->checkpoints ? run_guest_exits(r) - r->exits_at_cp : 0;
}

uint64_t run_rip(struct run *r)
{
	const struct kvm_regs *regs = run_regs(r);

	return regs ? regs->rip : 0;
}

void run_free(struct run *r)
{
	fault_list_free(&r->faults);
}

/* Nanoseconds on clock id (CLOCK_MONOTONIC, CLOCK_THREAD_CPUTIME_ID). */
static uint64_t run_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- --timeout and the CPU budget ----------------------------------------------------------
 * --timeout is SIGALRM from ITIMER_REAL (wall time). Fault injection's hang budget is SIGPROF
 * from ITIMER_PROF: CPU time of the process (single-threaded), which KVM_RUN's guest time is part
 * of; unlike wall time it does not run on while other processes have the CPU, so a loaded machine
 * does not turn slow experiments into hangs. With KVM_CAP_IMMEDIATE_EXIT the handler also sets
 * kvm_run->immediate_exit, so a signal that lands between the loop's check and KVM_RUN still
 * makes KVM_RUN return EINTR at once instead of running the guest on. Signal handlers can only
 * talk through globals: these two are the VMM's only ones. */
static volatile sig_atomic_t run_timer_fired; /* the signal that fired, or 0 */
static struct kvm_run *volatile run_timer_kick;

/* The signal actions run_guest replaced, to put back. */
struct run_timer_saved {
	struct sigaction alrm, prof;
};

static void run_on_alarm(int sig)
{
	run_timer_fired = sig;
	if (run_timer_kick)
		run_timer_kick->immediate_exit = 1;
}

/* Arm interval timer which to fire once after secs (> 0); 0 disarms it. */
static int run_itimer(int which, double secs)
{
	time_t whole = (time_t)secs; /* options_parse and campaign_opts bound it: no overflow */
	struct itimerval it = {
	    .it_value.tv_sec = whole,
	    .it_value.tv_usec = (suseconds_t)((secs - (double)whole) * 1e6),
	};

	if (secs > 0 && it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
		it.it_value.tv_usec = 1;
	return setitimer(which, &it, NULL);
}

/* Install the handlers r's clocks need and start --timeout's; old receives the previous
 * actions. The CPU budget starts later, with run_budget_start. */
static int run_timer_arm(struct run *r, struct run_timer_saved *old)
{
	struct sigaction sa = {.sa_handler = run_on_alarm}; /* no SA_RESTART: KVM_RUN must EINTR */

	run_timer_fired = 0;
	if (r->cfg.timeout <= 0 && r->cfg.cpu_budget <= 0)
		return 0;
	run_timer_kick = r->vm->has_immediate_exit ? r->vm->run : NULL;
	sigemptyset(&sa.sa_mask);
	if (r->cfg.cpu_budget > 0 && sigaction(SIGPROF, &sa, &old->prof) < 0)
		return -1;
	if (r->cfg.timeout > 0 && (sigaction(SIGALRM, &sa, &old->alrm) < 0 ||
				   run_itimer(ITIMER_REAL, r->cfg.timeout) < 0))
		return -1;
	return 0;
}

/* Put back the action of sig after its timer was stopped. A signal the timer raised just before
 * may still be pending (valgrind delivers signals late): it is taken here, while blocked, so
 * that it neither meets the default action (which kills) nor a later run's handler. */
static void run_timer_restore(int sig, const struct sigaction *old)
{
	static const struct timespec now = {0, 0};
	sigset_t one, mask;

	sigemptyset(&one);
	sigaddset(&one, sig);
	sigprocmask(SIG_BLOCK, &one, &mask);
	while (sigtimedwait(&one, NULL, &now) == sig)
		;
	sigaction(sig, old, NULL);
	sigprocmask(SIG_SETMASK, &mask, NULL);
}

static void run_timer_disarm(struct run *r, const struct run_timer_saved *old)
{
	if (r->cfg.timeout > 0) {
		run_itimer(ITIMER_REAL, 0);
		run_timer_restore(SIGALRM, &old->alrm);
	}
	if (r->cfg.cpu_budget > 0) {
		run_itimer(ITIMER_PROF, 0);
		run_timer_restore(SIGPROF, &old->prof);
	}
	run_timer_kick = NULL;
}

void run_budget_start_on(struct run *timers, struct run *r)
{
	if (timers->cfg.cpu_budget <= 0)
		return;
	/* SIGPROF's default action kills: never arm the timer before its handler is in place */
	if (!timers->timers_armed) {
		timers->budget_pending = true;
		return;
	}
	if (run_itimer(ITIMER_PROF, timers->cfg.cpu_budget) < 0)
		run_stopf(r, RUN_STOP_KVM_ERROR, "cannot arm the CPU budget: %s", strerror(errno));
}

void run_budget_start(struct run *r)
{
	run_budget_start_on(r, r);
}

void run_deadlines_off(struct run *r)
{
	if (r->timers_armed) { /* stopped; run_guest puts the handlers back at the end */
		run_itimer(ITIMER_REAL, 0);
		run_itimer(ITIMER_PROF, 0);
	} else { /* run_guest has not armed them yet: it will not */
		r->cfg.timeout = 0;
		r->cfg.cpu_budget = 0;
	}
	r->budget_pending = false;
}

/* ---- exits ------------------------------------------------------------------------------- */

/* One --trace line for the exit just taken. */
static void run_trace_exit(struct run *r)
{
	const struct kvm_run *kr = r->vm->run;

	fprintf(r->cfg.log, "vmm: exit %llu %s at RIP 0x%llx", (unsigned long long)r->nexits,
		vm_exit_name(kr->exit_reason), (unsigned long long)run_rip(r));
	if (kr->exit_reason == KVM_EXIT_IO)
		fprintf(r->cfg.log, ": port 0x%x %s", kr->io.port,
			kr->io.port >= PW_PORT_BASE && kr->io.port < PW_PORT(PW_HC_COUNT)
			    ? hypercall_name(kr->io.port - PW_PORT_BASE)
			    : "(not a hypercall)");
	else if (kr->exit_reason == KVM_EXIT_MMIO)
		fprintf(r->cfg.log, ": GPA 0x%llx %s %u bytes",
			(unsigned long long)kr->mmio.phys_addr,
			kr->mmio.is_write ? "write" : "read", kr->mmio.len);
	fputc('\n', r->cfg.log);
}

/* The guest reached guest-physical memory with no writable memslot behind it: either the
 * unbacked region above RAM or, with --protect-pt, a write to the read-only page-table slot.
 * KVM completes a write before it exits (the data is in kvm_run), so RIP is already past the
 * writing instruction; a read exits with RIP still on it. */
static void run_mmio(struct run *r)
{
	const struct kvm_run *kr = r->vm->run;
	uint64_t gpa = kr->mmio.phys_addr;
	const struct pw_region *reg = layout_region_at(r->layout, gpa);
	const char *region = reg ? pw_region_kind_name(reg->kind) : "above 4 GiB";
	bool readonly = gpa < r->mem->size;

	r->walk_what = "GPA";
	r->walk_addr = gpa;
	exitfault_mmio(r, gpa, kr->mmio.is_write, readonly);
	run_stopf(r, RUN_STOP_MMIO,
		  "guest %s %s guest-physical 0x%llx (%s, %u byte%s, region %s) %s 0x%llx",
		  readonly ? "wrote" : "touched", readonly ? "read-only" : "unbacked",
		  (unsigned long long)gpa, kr->mmio.is_write ? "write" : "read", kr->mmio.len,
		  kr->mmio.len == 1 ? "" : "s", region,
		  kr->mmio.is_write ? "by the instruction before RIP" : "at RIP",
		  (unsigned long long)run_rip(r));
}

/* The wall time a replay of r may take: REPLAY_SLACK_S beyond 4 times the run so far, within
 * what --timeout leaves (0: none left). */
static double run_replay_limit(const struct run *r)
{
	double elapsed = (double)(run_clock_ns(CLOCK_MONOTONIC) - r->start_ns) / 1e9;
	double limit = 4 * elapsed + REPLAY_SLACK_S;

	if (r->cfg.timeout > 0 && (run_timer_fired || r->cfg.timeout - elapsed < limit))
		limit = run_timer_fired ? 0 : r->cfg.timeout - elapsed;
	return limit > 0 ? limit : 0;
}

/* At a shutdown where KVM reset the vCPU (AMD), replay the run to the faulting instruction and
 * put its registers in the run's cache, where the report and the diagnosis read them. With
 * cfg.replay_always, replay where KVM kept them too, and say whether both agree. */
static void run_replay_if_reset(struct run *r)
{
	const struct kvm_regs *g = run_regs(r);
	const struct kvm_sregs *s = run_sregs(r);
	struct kvm_regs kept_regs;
	struct kvm_sregs kept_sregs;
	struct replay_state st;
	enum replay_err err;
	double limit;
	char why[160];
	const char *lost = "registers lost: KVM reset the vCPU at the shutdown (AMD)";

	if (!g || !s)
		return;
	r->vcpu_reset = replay_vcpu_was_reset(g, s);
	if (!r->vcpu_reset && !r->cfg.replay_always)
		return;
	kept_regs = *g, kept_sregs = *s;
	limit = run_replay_limit(r);
	if (!r->replay || limit == 0)
		err = r->replay ? REPLAY_ETIME : REPLAY_EBUILD, why[0] = '\0';
	else
		err = replay_triple_fault(r, r->replay, limit, &st, why, sizeof(why));
	if (err) {
		snprintf(r->replay_note, sizeof(r->replay_note), "%s%s%s%s%s",
			 r->vcpu_reset ? lost : "registers as KVM kept them",
			 r->replay ? ", and the replay failed: " : " (no replay here)",
			 r->replay ? replay_strerror(err) : "", why[0] ? ": " : "", why);
		return;
	}
	r->regs = st.regs;
	r->sregs = st.sregs;
	r->regs_valid = r->sregs_valid = true;
	r->replayed = true;
	if (r->vcpu_reset)
		snprintf(r->replay_note, sizeof(r->replay_note),
			 "registers replayed: KVM reset the vCPU at the shutdown (AMD); the run was "
			 "replayed to the faulting instruction (%llu steps after the last exit)%s",
			 (unsigned long long)st.steps,
			 st.probed ? ", CR2 that of its first exception" : "");
	else
		snprintf(r->replay_note, sizeof(r->replay_note),
			 "registers replayed (%llu steps after the last exit); KVM kept them too, "
			 "and RIP, RSP, CR2 and IDTR %s",
			 (unsigned long long)st.steps,
			 kept_regs.rip == st.regs.rip && kept_regs.rsp == st.regs.rsp &&
				 kept_sregs.cr2 == st.sregs.cr2 &&
				 kept_sregs.idt.base == st.sregs.idt.base &&
				 kept_sregs.idt.limit == st.sregs.idt.limit
			     ? "agree"
			     : "DIFFER");
}

static void run_shutdown(struct run *r)
{
	const struct kvm_sregs *s;
	uint64_t cr2;
	const char *why;

	run_replay_if_reset(r);
	s = run_sregs(r);
	cr2 = s ? s->cr2 : 0;
	why = exitfault_shutdown(r);
	if (r->vcpu_reset && !r->replayed) { /* RIP and CR2 read now are the reset state's */
		r->walk_what = "RIP";
		r->walk_addr = 0;
		run_stopf(r, RUN_STOP_TRIPLE_FAULT, "guest triple fault (KVM_EXIT_SHUTDOWN): %s", why);
		return;
	}

	r->walk_what = "CR2";
	r->walk_addr = cr2;
	run_stopf(r, RUN_STOP_TRIPLE_FAULT,
		  "guest triple fault (KVM_EXIT_SHUTDOWN) at RIP 0x%llx, CR2 0x%llx: %s",
		  (unsigned long long)run_rip(r), (unsigned long long)cr2, why);
}

static void run_internal_error(struct run *r)
{
	const struct kvm_run *kr = r->vm->run;
	uint64_t rip = run_rip(r);
	uint8_t code[REPORT_CODE_BYTES];
	char hex[3 * REPORT_CODE_BYTES + 1];
	size_t n = report_read_guest(r, rip, code, sizeof(code));

	report_hex(hex, sizeof(hex), code, n);
	r->walk_what = "RIP";
	r->walk_addr = rip;
	run_stopf(r, RUN_STOP_INTERNAL,
		  "KVM internal error: %s (suberror %u) at RIP 0x%llx, code %s%s",
		  vm_internal_error_name(kr->internal.suberror), kr->internal.suberror,
		  (unsigned long long)rip, n ? hex : "unreadable",
		  kr->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
		      ? " (KVM could not emulate this instruction; SSE/AVX in the guest does "
			"this on some hosts: build guests with -mgeneral-regs-only)"
		      : "");
}

/* Dispatch the exit KVM_RUN just returned with. */
static void run_handle_exit(struct run *r)
{
	const struct kvm_run *kr = r->vm->run;

	switch (kr->exit_reason) {
	case KVM_EXIT_IO:
		hypercall_handle(r);
		return;
	case KVM_EXIT_MMIO:
		run_mmio(r);
		return;
	case KVM_EXIT_HLT:
		run_stopf(r, RUN_STOP_HALT, "guest halted at RIP 0x%llx",
			  (unsigned long long)run_rip(r));
		return;
	case KVM_EXIT_SHUTDOWN:
		run_shutdown(r);
		return;
	case KVM_EXIT_INTERNAL_ERROR:
		run_internal_error(r);
		return;
	case KVM_EXIT_FAIL_ENTRY:
		r->walk_what = "RIP";
		r->walk_addr = run_rip(r);
		run_stopf(r, RUN_STOP_FAIL_ENTRY,
			  "KVM could not enter the guest: hardware entry failure reason 0x%llx at "
			  "RIP 0x%llx",
			  (unsigned long long)kr->fail_entry.hardware_entry_failure_reason,
			  (unsigned long long)r->walk_addr);
		return;
	default:
		r->walk_what = "RIP";
		r->walk_addr = run_rip(r);
		run_stopf(r, RUN_STOP_UNHANDLED, "unexpected KVM exit %s (%u) at RIP 0x%llx",
			  vm_exit_name(kr->exit_reason), kr->exit_reason,
			  (unsigned long long)r->walk_addr);
		return;
	}
}

/* KVM_RUN failed with err. EINTR is the timeout's kick (or a stray signal: run on). */
static void run_failed(struct run *r, int err)
{
	if (err == EINTR || err == EAGAIN) {
		r->vm->run->immediate_exit = 0;
		if (run_timer_fired == SIGPROF && !r->cfg.no_timers)
			run_stopf(r, RUN_STOP_TIMEOUT,
				  "CPU budget of %g ms exhausted at RIP 0x%llx",
				  r->cfg.cpu_budget * 1e3, (unsigned long long)run_rip(r));
		else if (run_timer_fired && !r->cfg.no_timers)
			run_stopf(r, RUN_STOP_TIMEOUT, "timeout after %gs at RIP 0x%llx",
				  r->cfg.timeout, (unsigned long long)run_rip(r));
		else if (r->cfg.stop_all && *r->cfg.stop_all)
			run_stopf(r, RUN_STOP_STOPPED, "stopped at RIP 0x%llx: another vCPU ended the run",
				  (unsigned long long)run_rip(r));
		else if (r->intr_hook)
			r->intr_hook(r, r->exit_hook_arg);
		return;
	}
	r->walk_what = "RIP";
	r->walk_addr = run_rip(r);
	if (err == EFAULT)
		run_stopf(r, RUN_STOP_HOST_FAULT,
			  "KVM_RUN failed (EFAULT) at RIP 0x%llx: the guest accessed guest RAM the "
			  "host cannot access that way (a write to a read-only host page?)",
			  (unsigned long long)r->walk_addr);
	else
		run_stopf(r, RUN_STOP_KVM_ERROR, "KVM_RUN: %s at RIP 0x%llx", strerror(err),
			  (unsigned long long)r->walk_addr);
}

/* Enter the guest once and handle what brought it back. */
static void run_once(struct run *r)
{
	struct kvm_run *kr = r->vm->run;

	r->regs_valid = r->sregs_valid = false;
	/* Without KVM_CAP_IMMEDIATE_EXIT a signal just before KVM_RUN is only seen here. */
	if ((run_timer_fired || (r->cfg.stop_all && *r->cfg.stop_all)) &&
	    !r->vm->has_immediate_exit) {
		run_failed(r, EINTR);
		return;
	}
	if (ioctl(r->vm->vcpu_fd, KVM_RUN, 0) < 0) {
		int err = errno;

		r->last_exit = kr->exit_reason;
		run_failed(r, err);
		return;
	}
	r->last_exit = kr->exit_reason;
	if (r->vm->has_sync_regs) { /* KVM put the registers in kvm_run on the way out */
		r->regs = kr->s.regs.regs;
		r->regs_valid = true;
	}
	r->exits[kr->exit_reason < RUN_EXIT_SLOTS ? kr->exit_reason : RUN_EXIT_SLOTS - 1]++;
	r->nexits++;
	if (r->cfg.trace)
		run_trace_exit(r);
	/* The budget counts every exit of the guest, so a guest spinning on exits cannot outlive
	 * it; not the debug exits the VMM asked for (fault injection's breakpoints and steps). */
	if (r->cfg.max_exits && run_guest_exits(r) > r->cfg.max_exits) {
		run_stopf(r, RUN_STOP_LIMIT,
			  "exit budget exhausted: %llu VM exits (--max-exits) at RIP 0x%llx",
			  (unsigned long long)r->cfg.max_exits, (unsigned long long)run_rip(r));
		return;
	}
	/* Fault injection watches every exit and consumes its own (debug) ones. */
	if (r->exit_hook && r->exit_hook(r, r->exit_hook_arg))
		return;
	run_handle_exit(r);
}

/* Run until the guest stops, timing it. */
static enum run_stop run_guest_loop(struct run *r)
{
	uint64_t start = r->start_ns = run_clock_ns(CLOCK_MONOTONIC);
	uint64_t cpu = run_clock_ns(CLOCK_THREAD_CPUTIME_ID);

	while (r->stop == RUN_STOP_NONE)
		run_once(r);
	r->wall_ns = run_clock_ns(CLOCK_MONOTONIC) - start;
	r->cpu_ns = run_clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu;
	return r->stop;
}

enum run_stop run_guest(struct run *r)
{
	struct run_timer_saved old;

	if (r->cfg.no_timers) /* a secondary vCPU's thread: none of the process's timers */
		return run_guest_loop(r);
	if (run_timer_arm(r, &old) < 0) {
		run_stopf(r, RUN_STOP_KVM_ERROR, "cannot arm the --timeout timer: %s",
			  strerror(errno));
		return r->stop;
	}
	r->timers_armed = true;
	if (r->budget_pending) {
		r->budget_pending = false;
		run_budget_start(r);
	}
	if (r->start_hook)
		r->start_hook(r, r->exit_hook_arg);
	run_guest_loop(r);
	if (r->stop_hook)
		r->stop_hook(r, r->exit_hook_arg);
	run_timer_disarm(r, &old);
	r->timers_armed = false;
	return r->stop;
}
