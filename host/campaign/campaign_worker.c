/* A campaign worker: its VM and vCPU threads, the boot to the snapshot point, the golden run
 * and its trace, each experiment (each vCPU's part: campaign_exp.c) and its outcome. */
#include "campaign_worker.h"

#include "campaign_exp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cpu.h"
#include "disasm.h"
#include "gdb.h"
#include "platform.h"
#include "smp.h"
#include "steplock.h"
#include "sandbox.h"
#include "status.h"
#include "trapstubs.h"

/* Wall-clock limit of any run (golden, trace, an experiment whose budget never ran out), plus
 * CAMP_STEP_S per instruction a run single-steps (QEMU takes ~0.15 ms a step). */
#define CAMP_SANITY_S	 10.0
#define CAMP_STEP_S	 0.001
#define CAMP_GOLDEN_RUNS 3 /* golden runs timed; the fastest sets the budget */
#define CAMP_ATTEMPTS	 3 /* runs of one experiment (or trace) that single steps left the
			    * golden run before its trigger (docs/platforms.md) */

/* One run of the worker's VM as each vCPU's thread sees it (host/smp.h's hooks). */
struct worker_round {
	struct worker *w;
	bool boot;		    /* the boot to the snapshot point: no reset */
	bool went;		    /* smp_go started the other vCPUs in this run */
	struct run_config cfg;	    /* the other vCPUs' runs' (smp_run_config) */
	struct exp xs[PW_MAX_CPUS]; /* [k]: vCPU k's */
};

uint64_t campaign_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- a worker's VM ------------------------------------------------------------------------ */

/* Read the image and build its VM: RAM logging dirty pages from the start (so the snapshot
 * needs no memslot change later), layout, vCPU. */
static int worker_build(struct worker *w, const struct campaign_opts *o, char *msg, size_t n)
{
	struct layout_opts lo = {.fault_mode = o->fault_mode,
				 .protect_pt = o->protect_pt,
				 .debugger = o->gdb != NULL,
				 .ncpus = w->ncpus};
	struct image_error ie = {0};
	struct vm_error ve = {0};
	enum vm_err err = VM_OK;

	if (image_read_file(o->image, o->mem, &w->file, &w->file_len, &ie) ||
	    image_parse(w->file, w->file_len, o->mem, &w->img, &ie)) {
		snprintf(msg, n, "%s: %s: %s", o->image, image_strerror(ie.err), ie.detail);
		return PW_STATUS_IMAGE;
	}
	if (vm_open_cpus(&w->vm, w->ncpus, &ve)) {
		snprintf(msg, n, "%s", ve.detail);
		return ve.err == VM_EIOCTL ? PW_STATUS_INTERNAL : PW_STATUS_KVM;
	}
	/* Before the sandbox: the probe makes a scratch VM. */
	w->step_lock_fd = steplock_open();
	err = platform_probe_locked(w->vm.kvm_fd, w->step_lock_fd, &w->plat, &ve);
	if (err) {
		snprintf(msg, n, "%s", ve.detail);
		return PW_STATUS_INTERNAL;
	}
	lo.has_1g = w->vm.has_1g, lo.maxphyaddr = w->vm.maxphyaddr;
	if (guest_mem_alloc(&w->mem, o->mem) || layout_build(&w->mem, &w->img, &lo, &w->layout) ||
	    image_load(&w->img, &w->mem, &ie)) {
		snprintf(msg, n, "%s: cannot build the guest", o->image);
		return PW_STATUS_IMAGE;
	}
	if (vm_map_ram(&w->vm, &w->mem, o->protect_pt, true, &ve) ||
	    cpu_setup(&w->vm, &w->layout, &ve)) {
		snprintf(msg, n, "%s", ve.detail);
		return ve.err == VM_ENOCAP ? PW_STATUS_KVM : PW_STATUS_INTERNAL;
	}
	if (o->fault_mode == PW_FAULTS_VMM && trapstubs_install(&w->vm, &w->mem) < 0) {
		snprintf(msg, n, "cannot install the VMM's IDT: %s", strerror(errno));
		return PW_STATUS_INTERNAL;
	}
	return 0;
}

/* Confine the worker before any guest code runs: every file, fd and KVM object exists now.
 * The skip model needs capstone, which only loads before the filter. */
static int worker_confine(struct worker *w, const struct campaign_opts *o, char *msg, size_t n)
{
	enum sandbox_err se;

	if (o->models & (1u << INJ_SKIP))
		disasm_preload();
	if (o->no_sandbox)
		return 0;
	se = w->gdb ? sandbox_install(&w->vm, w->gdb->fd, w->gdb->listen_fd)
		    : sandbox_install(&w->vm, -1, -1);
	if (se) {
		snprintf(msg, n, "sandbox: %s", sandbox_strerror(se));
		return PW_STATUS_INTERNAL;
	}
	return 0;
}

/* smp_hook, on vCPU cpu (>= 1)'s thread before a run: reset it to the snapshot (not for the
 * boot, which smp_prepare set up) and start its part. */
static void worker_cpu_begin(struct smp *s, unsigned cpu, struct run *r, void *arg)
{
	struct worker_round *rd = arg;
	struct worker *w = rd->w;
	struct exp *x = &rd->xs[cpu];
	struct vm_error ve = {0};

	if (!rd->boot) {
		run_free(r);
		run_init(r, &s->views[cpu], &w->mem, &w->layout, &rd->cfg);
		r->recovery_gpa = w->recovery_gpa[cpu];
		r->gpt.shared = &s->pool; /* its cursor: vCPU 0's (smp_go) */
		if (snapshot_restore_cpu(&w->snap, &s->views[cpu], cpu, &ve)) {
			x->failed = true;
			snprintf(x->why, sizeof(x->why), "vCPU %u: %.140s", cpu, ve.detail);
			run_stopf(r, RUN_STOP_KVM_ERROR, "reset failed: %s", x->why);
			return;
		}
	}
	exp_start(x, r, &s->views[cpu], w->snap.ncpus > cpu ? w->snap.cpus[cpu].regs.rip : 0);
}

/* smp_hook, on vCPU cpu (>= 1)'s thread after its run stopped: finish its part, and complete
 * the exit it stopped on, so that none is pending at the next reset or the snapshot. */
static void worker_cpu_end(struct smp *s, unsigned cpu, struct run *r, void *arg)
{
	struct worker_round *rd = arg;
	struct exp *x = &rd->xs[cpu];
	struct vm_error ve = {0};

	exp_finish(x, &s->views[cpu]);
	if (vm_complete_exit(&s->views[cpu], r->last_exit, &ve) && !x->failed) {
		x->failed = true;
		snprintf(x->why, sizeof(x->why), "vCPU %u: %.140s", cpu, ve.detail);
	}
}

/* Make rd a new run: each vCPU's exp, spec's on the vCPU it names. */
static void worker_round_init(struct worker *w, const struct inject_spec *spec, bool trace,
			      bool boot, const struct run_config *cfg)
{
	struct worker_round *rd = w->round;

	rd->boot = boot;
	rd->cfg = *cfg;
	if (w->smp)
		smp_run_config(w->smp, &rd->cfg);
	for (unsigned k = 0; k < w->ncpus; k++)
		rd->xs[k] = (struct exp){.w = w,
					 .cpu = k,
					 .spec = spec && spec->cpu == k ? spec : NULL,
					 .boot = boot,
					 .tracing = trace && k == 0,
					 .hash = CAMP_FNV_BASIS};
}

/* --cpus N > 1: vCPUs 1.. ready (smp_prepare) and their threads started, each in its own
 * filter, before the worker's own (which forbids starting threads). */
static int worker_smp(struct worker *w, const struct campaign_opts *o, struct run *r0, char *msg,
		      size_t n)
{
	struct vm_error ve = {0};

	if (w->ncpus == 1)
		return 0;
	w->smp = calloc(1, sizeof(*w->smp));
	if (!w->smp)
		return snprintf(msg, n, "out of memory for the vCPUs"), PW_STATUS_INTERNAL;
	if (smp_prepare(w->smp, r0, &w->vm, &w->mem, &w->layout, &ve))
		return snprintf(msg, n, "%s", ve.detail), PW_STATUS_INTERNAL;
	w->smp->begin = worker_cpu_begin;
	w->smp->end = worker_cpu_end;
	w->smp->hook_arg = w->round;
	if (smp_start(w->smp, !o->no_sandbox) < 0)
		return snprintf(msg, n, "cannot start the vCPU threads%s",
				o->no_sandbox ? "" : " (or install their seccomp filters)"),
		       PW_STATUS_INTERNAL;
	return 0;
}

/* After a round, the run of vCPU k: r (the caller's, now that of the vCPU whose stop ended the
 * round) holds vCPU first's, and the smp's slot first holds vCPU 0's (smp_finish's swap). */
static const struct run *worker_run_of(const struct worker *w, const struct run *r, unsigned k)
{
	unsigned first = w->smp ? (unsigned)w->smp->first : 0;

	if (k == first)
		return r;
	return &w->smp->runs[k == 0 ? first : k];
}

/* run_guest's start hook on vCPU 0's run: the other vCPUs start once vCPU 0's timers are armed,
 * so that any of them can start the CPU budget when its trigger fires. */
static void worker_go(struct run *r, void *arg)
{
	struct exp *x0 = arg;

	smp_go(x0->w->smp, r);
	x0->w->round->went = true;
}

/* run_guest's stop hook on vCPU 0's run: the other vCPUs stop before vCPU 0's timers are
 * disarmed, so that none can arm the CPU budget after that. */
static void worker_stop(struct run *r, void *arg)
{
	struct exp *x0 = arg;

	(void)r;
	smp_stop_all(x0->w->smp);
}

/* Run r (vCPU 0's) and, with several vCPUs, the others in a round; r becomes the run that ended
 * it (smp_finish). w->last_exit is vCPU 0's. */
static void worker_run_all(struct worker *w, struct run *r)
{
	struct exp *x0 = &w->round->xs[0];

	w->round->went = false;
	r->vm->run->immediate_exit = 0; /* a kick from the last round may have left it */
	if (w->smp)
		r->start_hook = worker_go, r->stop_hook = worker_stop;
	if (r->stop == RUN_STOP_NONE)
		run_guest(r);
	if (w->smp && !w->round->went) /* vCPU 0 never ran: the others end their round too */
		smp_go(w->smp, r);
	w->last_exit = r->last_exit;
	exp_finish(x0, &w->vm);
	if (w->smp)
		smp_finish(w->smp);
}

int worker_init(struct worker *w, const struct campaign_opts *o, char *msg, size_t n)
{
	struct run_config cfg = {.quiet = true, .log = stderr, .max_exits = o->max_exits};
	struct vm_error ve = {0};
	struct run r;
	int status;

	memset(w, 0, sizeof(*w));
	w->vm.kvm_fd = w->vm.vm_fd = w->vm.vcpu_fd = -1;
	w->ncpus = o->ncpus > 1 ? o->ncpus : 1;
	w->max_exits = o->max_exits;
	w->protect_pt = o->protect_pt;
	/* Waypoints hold one vCPU's state */
	w->fast_forward = !o->no_fast_forward && w->ncpus == 1;
	waypoints_init(&w->wps);
	w->step_lock_fd = -1;
	w->round = calloc(1, sizeof(*w->round));
	if (!w->round)
		return snprintf(msg, n, "out of memory"), PW_STATUS_INTERNAL;
	w->round->w = w;
	cfg.console_fd = -1;
	if ((status = worker_build(w, o, msg, n)))
		return status;
	if (o->gdb) { /* listen now (the probe, the socket: before the sandbox); accept later */
		struct gdb_config gc = *o->gdb_cfg;
		enum gdb_err err;

		gc.step_lock_fd = w->step_lock_fd; /* the worker's, opened above */
		err = gdb_open(o->gdb, &gc, w->vm.kvm_fd, true, msg, n);
		if (err)
			return gdb_status(err);
		w->gdb = o->gdb;
	}
	run_init(&r, &w->vm, &w->mem, &w->layout, &cfg);
	if ((status = worker_smp(w, o, &r, msg, n)) || (status = worker_confine(w, o, msg, n))) {
		run_free(&r);
		return status;
	}
	worker_round_init(w, NULL, false, true, &cfg);
	exp_start(&w->round->xs[0], &r, &w->vm, 0);
	worker_run_all(w, &r);
	/* the first checkpoint (of any vCPU) stops the boot: "snapshot point[ (CPU K)]" */
	if (r.stop != RUN_STOP_HALT || strncmp(r.msg, "snapshot point", 14) != 0) {
		snprintf(msg, n,
			 "%s: the guest stopped (%s) before its first checkpoint: a campaign needs "
			 "pw_checkpoint() as its start point",
			 o->image, run_stop_name(r.stop));
		run_free(&r);
		return PW_STATUS_USAGE;
	}
	/* The VMM's own state for the runs to start from (--faults=vmm): vCPU 0's */
	for (unsigned k = 0; k < w->ncpus; k++)
		w->recovery_gpa[k] = worker_run_of(w, &r, k)->recovery_gpa;
	w->pool_top = w->smp ? w->smp->pool.top : r.gpt.pool_top;
	run_free(&r);
	if (snapshot_take(&w->snap, &w->vm, &w->mem, w->protect_pt, w->last_exit, &ve)) {
		snprintf(msg, n, "%s", ve.detail);
		return PW_STATUS_INTERNAL;
	}
	return 0;
}

void worker_free(struct worker *w)
{
	if (w->smp) {
		smp_free(w->smp);
		free(w->smp);
	}
	free(w->round);
	waypoints_free(&w->wps);
	snapshot_free(&w->snap);
	vm_close(&w->vm);
	guest_mem_free(&w->mem);
	free(w->file);
	free(w->trace);
	if (w->step_lock_fd >= 0)
		close(w->step_lock_fd);
}

/* Outcome of a stopped experiment against the golden run. */
static enum campaign_outcome camp_classify(const struct worker *w, const struct run *r,
					   uint64_t hash, enum inject_err err)
{
	if (err)
		return OUT_VMM_ERROR;
	switch (r->stop) {
	case RUN_STOP_EXIT:
	case RUN_STOP_HALT:
		return r->stop == w->golden.stop && r->exit_code == w->golden.exit_code &&
			       hash == w->golden.hash
			   ? OUT_BENIGN
			   : OUT_SDC;
	case RUN_STOP_PANIC:
	case RUN_STOP_FAULT:
	case RUN_STOP_TRAP:
	case RUN_STOP_BAD_HYPERCALL:
	case RUN_STOP_MMIO:
		return OUT_DETECTED;
	case RUN_STOP_TIMEOUT:
	case RUN_STOP_LIMIT:
		return OUT_HANG;
	case RUN_STOP_TRIPLE_FAULT:
	case RUN_STOP_INTERNAL:
	case RUN_STOP_FAIL_ENTRY:
	case RUN_STOP_HOST_FAULT:
		return OUT_CRASH;
	default:
		return OUT_VMM_ERROR;
	}
}

void worker_note_vmm_writes(struct worker *w, const struct run *r)
{
	if (!r->vmm_wrote_ram)
		return;
	snapshot_note_host_write(&w->snap, PW_PT_POOL_GPA, PW_PT_POOL_SIZE);
	if (r->recovery_gpa) /* registered before the snapshot, or during this run */
		snapshot_note_host_write(&w->snap, r->recovery_gpa, sizeof(struct pw_recovery));
}

/* Copy the fault that stopped the run, if one did (f: the last one the vCPU whose stop ended
 * it recorded, if not recovered), into res. Recovered faults before it are left out: a run
 * started at a waypoint has not recorded those of the golden prefix. */
static void camp_last_fault(const struct fault_record *f, struct campaign_result *res)
{
	res->has_fault = f && !f->recovered;
	if (!res->has_fault)
		return;
	res->fault = (struct campaign_fault){
	    .kind = (uint8_t)f->kind,
	    .vector = (uint8_t)f->vector,
	    .caught_by = (uint8_t)f->caught_by,
	    .cpu = (uint8_t)f->cpu,
	    .error_code = f->error_code,
	    .gva = f->gva,
	    .rip = f->rip,
	};
}

/* Start r where st says: the snapshot, or a waypoint with what had been counted by then. */
static void worker_start_at(struct worker *w, const struct waypoint_start *st, struct run *r,
			    struct exp *x)
{
	const struct waypoint *wp = st->wp;

	r->recovery_gpa = wp ? wp->recovery_gpa : w->recovery_gpa[0];
	r->gpt.pool_top = wp ? wp->pool_top : w->pool_top;
	x->hits = st->hits;
	x->steps = wp ? wp->insn : 0;
	if (!wp)
		return;
	memcpy(r->exits, wp->exits, sizeof(r->exits));
	for (unsigned i = 0; i < RUN_EXIT_SLOTS; i++)
		r->nexits += r->exits[i];
	x->hc = wp->hc;
	x->cp = wp->cp;
	x->hash = wp->hash;
}

/* The output hash of a run: vCPU 0's alone, or with several each vCPU's in order (what one
 * vCPU prints is in its own order; how the vCPUs' lines interleave is not). */
static uint64_t worker_hash(const struct worker *w)
{
	uint64_t h = CAMP_FNV_BASIS;

	if (w->ncpus == 1)
		return w->round->xs[0].hash;
	for (unsigned k = 0; k < w->ncpus; k++)
		h = camp_fnv(h, &w->round->xs[k].hash, sizeof(h));
	return h;
}

/* After a run: the pages each vCPU's VMM fault handling wrote, due at the next reset. */
static void worker_note_all_writes(struct worker *w, const struct run *r)
{
	worker_note_vmm_writes(w, r);
	for (unsigned k = 1; w->smp && k < w->ncpus; k++)
		worker_note_vmm_writes(w, &w->smp->runs[k]);
}

/* The first vCPU that could not be reset or complete its exit, or NULL. */
static const struct exp *worker_failed_cpu(const struct worker *w)
{
	for (unsigned k = 1; k < w->ncpus; k++)
		if (w->round->xs[k].failed)
			return &w->round->xs[k];
	return NULL;
}

/* CPU time of the process so far (every vCPU thread's), in nanoseconds. */
static uint64_t worker_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* What the golden run r (with combined hash) did, into w->golden. */
static void worker_keep_golden(struct worker *w, const struct run *r, uint64_t hash,
			       uint64_t cpu_ns)
{
	w->golden.stop = r->stop;
	w->golden.exit_code = r->exit_code;
	w->golden.hash = hash;
	w->golden.nexits = r->nexits;
	w->golden.hypercalls = w->golden.checkpoints = 0;
	for (unsigned k = 0; k < w->ncpus; k++) {
		w->golden_hc[k] = w->round->xs[k].hc;
		w->golden.hypercalls += w->round->xs[k].hc;
		w->golden.checkpoints += w->round->xs[k].cp;
	}
	w->golden.wall_ns = r->wall_ns;
	w->golden.cpu_ns = cpu_ns;
}

/* Experiment x's result (x: the vCPU its spec names) from its stopped run r, which vCPU first
 * ended, with output hash, into res. */
static void worker_result(const struct worker *w, const struct exp *x, const struct run *r,
			  unsigned first, uint64_t hash, struct campaign_result *res)
{
	const struct inject_spec *spec = x->spec;
	const struct fault_record *f = fault_list_last_of(&r->faults, first);

	res->model = (uint8_t)spec->model;
	res->stop = (uint8_t)r->stop;
	res->applied = x->applied;
	res->deterministic = inject_deterministic(spec);
	res->tlb_flushed = x->eff.tlb_flushed;
	res->exit_code = r->exit_code;
	/* the guest's exits: not the breakpoint and single-step exits the trigger costs */
	res->nexits = r->nexits - r->exits[KVM_EXIT_DEBUG];
	res->hash = hash;
	res->rip = x->eff.rip;
	res->pages_restored = w->snap.pages_restored;
	res->outcome = (uint8_t)camp_classify(w, r, hash, x->err);
	camp_last_fault(f, res);
	if (exp_leaked_tf(x, f)) {
		res->outcome = OUT_VMM_ERROR;
		snprintf(res->detail, sizeof(res->detail),
			 "vCPU %u's single steps leaked TF to the guest: #DB at RIP 0x%" PRIx64
			 " (an interrupt taken while stepping; docs/platforms.md)",
			 x->cpu, res->fault.rip);
	} else if (res->outcome == OUT_HANG && r->stop != RUN_STOP_LIMIT) {
		/* Where a hang was when the budget stopped it is not reproducible; --max-exits is. */
		snprintf(res->detail, sizeof(res->detail), "hang budget exhausted");
	} else if (!x->applied && r->stop == w->golden.stop && res->outcome == OUT_BENIGN) {
		snprintf(res->detail, sizeof(res->detail), "trigger never reached");
	} else {
		snprintf(res->detail, sizeof(res->detail), "%.159s", x->err ? x->why : r->msg);
	}
}

/* Reset the VM for spec (to the snapshot, or the last waypoint before its trigger) and prepare
 * vCPU 0's run r with cfg; the other vCPUs reset themselves when the run starts. On error, why
 * (n bytes) says why and -1 is returned. */
static int worker_reset(struct worker *w, const struct inject_spec *spec, bool trace,
			const struct run_config *cfg, struct run *r, char *why, size_t n)
{
	struct waypoint_start st = {0};
	struct vm_error ve = {0};

	worker_round_init(w, spec, trace, false, cfg);
	if (spec && w->fast_forward)
		waypoints_pick(&w->wps, w->trace, w->ntrace, w->snap.cpus[0].regs.rip, spec, &st);
	if (snapshot_restore(&w->snap, &w->vm, &w->mem, w->last_exit, st.wp ? &st.wp->delta : NULL,
			     &ve))
		return snprintf(why, n, "%.150s", ve.detail), -1;
	run_init(r, &w->vm, &w->mem, &w->layout, cfg);
	worker_start_at(w, &st, r, &w->round->xs[0]);
	/* The sanity limit grows with the steps: a trace's, or the golden prefix's by steps */
	if (trace || (spec && (spec->trigger == INJ_AT_INSN ||
			       (spec->trigger == INJ_AT_RIP && !w->plat.hw_breakpoint))))
		r->cfg.timeout += CAMP_STEP_S * (double)(trace ? CAMP_TRACE_MAX : w->ntrace);
	exp_start(&w->round->xs[0], r, &w->vm,
		  st.wp ? st.wp->delta.cpu.regs.rip : w->snap.cpus[0].regs.rip);
	return 0;
}

/* Reset the VM and run it from the snapshot with spec (NULL: golden; trace: single-step and
 * record the RIPs), or from the last waypoint before spec's trigger. Fills res if given; sets
 * *diverged as exp_diverged says. */
static int worker_run_once(struct worker *w, const struct inject_spec *spec, bool trace,
			   struct campaign_result *res, struct run *r, bool *diverged)
{
	struct run_config cfg = {.quiet = true,
				 .log = stderr,
				 .console_fd = -1, /* the output is hashed, not shown */
				 .timeout = CAMP_SANITY_S,
				 .max_exits = w->max_exits,
				 .cpu_budget = spec ? w->budget_cpu_s : 0};
	const struct exp *x = &w->round->xs[spec ? spec->cpu : 0], *bad;
	char why[sizeof(res->detail)];
	uint64_t hash, cpu_ns;
	unsigned first;

	if (worker_reset(w, spec, trace, &cfg, r, why, sizeof(why)) < 0) {
		if (res)
			snprintf(res->detail, sizeof(res->detail), "%s", why);
		return -1;
	}
	cpu_ns = w->smp ? worker_cpu_ns() : 0; /* with one vCPU the run's own is enough */
	worker_run_all(w, r);
	if (w->smp)
		cpu_ns = worker_cpu_ns() - cpu_ns;
	first = w->smp ? (unsigned)w->smp->first : 0;
	worker_note_all_writes(w, r);
	if ((bad = worker_failed_cpu(w))) {
		if (res)
			snprintf(res->detail, sizeof(res->detail), "%.159s", bad->why);
		run_free(r);
		return -1;
	}
	hash = worker_hash(w);
	*diverged = spec && exp_diverged(w, x, r, hash);
	if (res)
		worker_result(w, x, r, first, hash, res);
	else
		worker_keep_golden(w, r, hash, w->smp ? cpu_ns : r->cpu_ns);
	return 0;
}

int worker_run(struct worker *w, const struct inject_spec *spec, bool trace,
	       struct campaign_result *res, struct run *r)
{
	bool diverged;

	for (int attempt = 1;; attempt++) {
		int ret = worker_run_once(w, spec, trace, res, r, &diverged);

		if (ret < 0 || !diverged)
			return ret;
		if (attempt == CAMP_ATTEMPTS) {
			res->outcome = OUT_VMM_ERROR;
			snprintf(res->detail, sizeof(res->detail),
				 "single steps left the golden run before the trigger in %d attempts "
				 "(this KVM loses debug exits; docs/platforms.md)",
				 CAMP_ATTEMPTS);
			return ret;
		}
		w->reruns++;
		run_free(r);
	}
}

/* What the golden run just made (w->golden, w->golden_hc) does differently from an earlier one
 * (g0, hc0: each vCPU's hypercalls): "stop", "exit code", "output", "hypercalls"; NULL if
 * nothing. */
static const char *worker_golden_differs(const struct worker *w, const struct campaign_golden *g0,
					 const uint64_t *hc0)
{
	if (w->golden.stop != g0->stop)
		return "stop";
	if (w->golden.exit_code != g0->exit_code)
		return "exit code";
	if (w->golden.hash != g0->hash)
		return "output";
	return memcmp(w->golden_hc, hc0, w->ncpus * sizeof(*hc0)) ? "hypercalls" : NULL;
}

/* The golden run's CPU time: the fastest of CAMP_GOLDEN_RUNS (a slow one was disturbed). */
static int worker_time_golden(struct worker *w, char *msg, size_t n)
{
	uint64_t best = UINT64_MAX, hc0[PW_MAX_CPUS];
	struct campaign_golden g0 = {0};
	const char *differs;
	struct run r;

	for (int i = 0; i < CAMP_GOLDEN_RUNS; i++) {
		if (worker_run(w, NULL, false, NULL, &r) < 0) {
			snprintf(msg, n, "golden run: reset failed");
			return PW_STATUS_INTERNAL;
		}
		run_free(&r);
		/* Outcomes and budgets are measured against it: it must finish by itself. */
		if (r.stop == RUN_STOP_TIMEOUT || r.stop == RUN_STOP_LIMIT) {
			snprintf(msg, n,
				 "golden run stopped (%s): %s; experiments need one that finishes",
				 run_stop_name(r.stop), r.msg);
			return run_status(&r);
		}
		if (i == 0) {
			g0 = w->golden;
			memcpy(hc0, w->golden_hc, sizeof(hc0));
		} else if (w->ncpus > 1 && (differs = worker_golden_differs(w, &g0, hc0))) {
			return snprintf(msg, n,
					"the golden runs differ (%s): with %u vCPUs this guest's result "
					"depends on timing, and a campaign needs one that does not "
					"(docs/fault-injection.md)",
					differs, w->ncpus),
			       PW_STATUS_USAGE;
		}
		best = w->golden.cpu_ns < best ? w->golden.cpu_ns : best;
	}
	w->golden.cpu_ns = best;
	return 0;
}

/* Golden run (timed), then its single-step trace; sets the hang budgets from it. */
int worker_golden(struct worker *w, const struct campaign_opts *o, char *msg, size_t n)
{
	struct campaign_golden g;
	uint64_t hc[PW_MAX_CPUS];
	struct run r;
	int status = worker_time_golden(w, msg, n);

	if (status)
		return status;
	w->trace = malloc(CAMP_TRACE_MAX * sizeof(*w->trace));
	if (!w->trace)
		return snprintf(msg, n, "out of memory"), PW_STATUS_INTERNAL;
	g = w->golden;
	memcpy(hc, w->golden_hc, sizeof(hc));
	/* The traced run must end as the golden runs did, or its steps went astray (platforms
	 * that lose debug exits: docs/platforms.md); its waypoints go with it. */
	for (int attempt = 1;; attempt++) {
		w->ntrace = 0;
		waypoints_free(&w->wps);
		if (worker_run(w, NULL, true, NULL, &r) < 0) {
			snprintf(msg, n, "golden run trace: reset failed");
			return PW_STATUS_INTERNAL;
		}
		run_free(&r);
		if (!worker_golden_differs(w, &g, hc))
			break;
		if (attempt == CAMP_ATTEMPTS) {
			snprintf(msg, n,
				 "the single-step trace of the golden run ended differently from the "
				 "golden run in %d attempts (this KVM loses debug exits; "
				 "docs/platforms.md)",
				 CAMP_ATTEMPTS);
			return PW_STATUS_INTERNAL;
		}
		w->reruns++;
	}
	w->golden = g; /* the traced run's timing is the stepping's, not the guest's */
	w->golden.insns = w->ntrace; /* vCPU 0's */
	w->budget_exits = campaign_budget_exits(o, &w->golden);
	w->budget_cpu_s = campaign_budget_ms(o, &w->golden) / 1e3;
	return 0;
}
