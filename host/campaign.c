/* Campaign engine: worker VMs, the golden run and its trace, experiment generation, the
 * per-experiment hook (trigger, injection, output hash, hang budget), outcomes. */
#include "campaign.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpu.h"
#include "hypercall.h"
#include "kvm.h"
#include "layout.h"
#include "memory.h"
#include "run.h"
#include "snapshot.h"
#include "status.h"

#define CAMP_TRACE_MAX 200000 /* golden instructions traced; longer guests get no @rip points */
#define CAMP_FNV_BASIS 0xcbf29ce484222325ull
#define CAMP_FNV_PRIME 0x100000001b3ull
#define CAMP_RFLAGS_RF (1ull << 16)
#define CAMP_BUDGET_MS 50.0 /* default --budget-ms: a guest's fault report alone can take 10 ms here */

static const char *const camp_outcomes[OUT_COUNT] = {
    "benign", "sdc", "detected", "crash", "hang", "vmm-error",
};

const char *campaign_outcome_name(enum campaign_outcome o)
{
	return (unsigned)o < OUT_COUNT ? camp_outcomes[o] : "?";
}

/* One VM, built once per worker process, reset for every experiment. */
struct worker {
	uint8_t *file;
	size_t file_len;
	struct image img;
	struct vm vm;
	struct guest_mem mem;
	struct layout layout;
	struct snapshot snap;
	unsigned last_exit;
	int null_fd;
	struct campaign_golden golden;
	uint64_t *trace; /* golden RIP per instruction from the snapshot */
	uint64_t ntrace;
	uint64_t budget_exits;
	double budget_s;
};

/* The state of one run the exit hook works on. */
struct exp {
	struct worker *w;
	const struct inject_spec *spec; /* NULL: golden run */
	bool boot;			/* stop at the first checkpoint (the snapshot point) */
	bool tracing;			/* single-step and record RIPs */
	bool debug_on;
	bool applied;
	uint64_t steps, hits, hc, cp, t0, hash;
	struct inject_effect eff;
	enum inject_err err;
	char why[160];
};

static uint64_t camp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t camp_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * CAMP_FNV_PRIME;
	return h;
}

/* splitmix64: a tiny, well-mixed PRNG; the experiment i stream is seeded by (seed, i). */
static uint64_t camp_rand(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int camp_set_debug(struct vm *vm, uint32_t control, uint64_t addr)
{
	struct kvm_guest_debug dbg = {.control = control};

	if (control & KVM_GUESTDBG_USE_HW_BP) {
		dbg.arch.debugreg[0] = addr;
		dbg.arch.debugreg[7] = 1; /* L0, execute, length 1 */
	}
	return ioctl(vm->vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg);
}

/* Apply the experiment's injection now. */
static void exp_fire(struct exp *x, struct run *r)
{
	x->applied = true;
	x->err = inject_apply(r, x->spec, &x->eff, x->why, sizeof(x->why));
	if (x->eff.host_wrote)
		snapshot_note_host_write(&x->w->snap, x->eff.gpa);
	if (x->err)
		run_stopf(r, RUN_STOP_KVM_ERROR, "injection failed: %s", x->why);
}

static void exp_debug_off(struct exp *x, struct run *r)
{
	if (x->debug_on && camp_set_debug(r->vm, 0, 0) < 0)
		run_stopf(r, RUN_STOP_KVM_ERROR, "KVM_SET_GUEST_DEBUG: %s", strerror(errno));
	x->debug_on = false;
}

/* A KVM_EXIT_DEBUG: a single step (trace, @insn) or the breakpoint (@rip). */
static void exp_debug(struct exp *x, struct run *r)
{
	if (x->tracing) {
		if (x->w->ntrace < CAMP_TRACE_MAX)
			x->w->trace[x->w->ntrace++] = r->vm->run->debug.arch.pc;
		else
			exp_debug_off(x, r), x->w->ntrace = 0, x->tracing = false;
		return;
	}
	if (!x->spec || x->applied)
		return exp_debug_off(x, r);
	if (x->spec->trigger == INJ_AT_INSN) {
		if (++x->steps >= x->spec->when)
			exp_debug_off(x, r), exp_fire(x, r);
		return;
	}
	if (++x->hits >= x->spec->hit) {
		exp_debug_off(x, r);
		exp_fire(x, r);
		return;
	}
	/* Not yet the K-th arrival: RF lets the instruction run once without re-triggering. */
	const struct kvm_regs *g = run_regs(r);
	struct kvm_regs regs;

	if (!g) {
		run_stopf(r, RUN_STOP_KVM_ERROR, "KVM_GET_REGS: %s", strerror(errno));
		return;
	}
	regs = *g;
	regs.rflags |= CAMP_RFLAGS_RF;
	if (ioctl(r->vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		run_stopf(r, RUN_STOP_KVM_ERROR, "KVM_SET_REGS: %s", strerror(errno));
	r->regs_valid = false;
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

static bool exp_hook(struct run *r, void *arg)
{
	struct exp *x = arg;
	const struct kvm_run *kr = r->vm->run;

	x->w->last_exit = kr->exit_reason;
	if (kr->exit_reason == KVM_EXIT_DEBUG) {
		exp_debug(x, r);
		return true;
	}
	if (x->w->budget_exits && r->nexits > x->w->budget_exits) {
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
	}
	if (x->spec && !x->applied && x->spec->trigger == INJ_AT_TIME &&
	    camp_now_ns() - x->t0 >= x->spec->when * 1000000ull)
		exp_fire(x, r);
	return r->stop != RUN_STOP_NONE;
}

/* ---- a worker's VM ------------------------------------------------------------------------ */

/* Build the guest and run it to its first checkpoint, where the snapshot is taken. */
static int worker_init(struct worker *w, const struct campaign_opts *o, char *msg, size_t n)
{
	struct layout_opts lo = {.fault_mode = PW_FAULTS_GUEST};
	struct image_error ie = {0};
	struct vm_error ve = {0};
	struct run_config cfg = {.quiet = true, .log = stderr};
	struct exp x = {.w = w, .boot = true};
	struct run r;

	memset(w, 0, sizeof(*w));
	w->vm.kvm_fd = w->vm.vm_fd = w->vm.vcpu_fd = -1;
	w->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	cfg.console_fd = w->null_fd;
	if (image_read_file(o->image, o->mem, &w->file, &w->file_len, &ie) ||
	    image_parse(w->file, w->file_len, o->mem, &w->img, &ie)) {
		snprintf(msg, n, "%s: %s: %s", o->image, image_strerror(ie.err), ie.detail);
		return PW_STATUS_IMAGE;
	}
	if (vm_open(&w->vm, &ve)) {
		snprintf(msg, n, "%s", ve.detail);
		return PW_STATUS_KVM;
	}
	lo.has_1g = w->vm.has_1g, lo.maxphyaddr = w->vm.maxphyaddr;
	if (guest_mem_alloc(&w->mem, o->mem) || layout_build(&w->mem, &w->img, &lo, &w->layout) ||
	    image_load(&w->img, &w->mem, &ie)) {
		snprintf(msg, n, "%s: cannot build the guest", o->image);
		return PW_STATUS_IMAGE;
	}
	if (vm_map_ram(&w->vm, &w->mem, false, &ve) || cpu_setup(&w->vm, &w->layout, &ve)) {
		snprintf(msg, n, "%s", ve.detail);
		return PW_STATUS_INTERNAL;
	}
	run_init(&r, &w->vm, &w->mem, &w->layout, &cfg);
	r.exit_hook = exp_hook, r.exit_hook_arg = &x;
	run_guest(&r);
	w->last_exit = r.last_exit;
	if (r.stop != RUN_STOP_HALT || strcmp(r.msg, "snapshot point") != 0) {
		snprintf(msg, n,
			 "%s: the guest stopped (%s) before its first checkpoint: a campaign needs "
			 "pw_checkpoint() as its start point",
			 o->image, run_stop_name(r.stop));
		run_free(&r);
		return PW_STATUS_USAGE;
	}
	run_free(&r);
	if (snapshot_take(&w->snap, &w->vm, &w->mem, &ve)) {
		snprintf(msg, n, "%s", ve.detail);
		return PW_STATUS_INTERNAL;
	}
	return 0;
}

static void worker_free(struct worker *w)
{
	snapshot_free(&w->snap);
	vm_close(&w->vm);
	guest_mem_free(&w->mem);
	free(w->file);
	free(w->trace);
	if (w->null_fd >= 0)
		close(w->null_fd);
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

/* Reset the VM and run it from the snapshot with spec (NULL: golden; trace: single-step and
 * record the RIPs). Fills res if given. */
static int worker_run(struct worker *w, const struct inject_spec *spec, bool trace,
		      struct campaign_result *res, struct run *r)
{
	struct run_config cfg = {.quiet = true, .log = stderr, .console_fd = w->null_fd,
				 .timeout = w->budget_s};
	struct exp x = {.w = w, .spec = spec, .tracing = trace, .hash = CAMP_FNV_BASIS};
	struct vm_error ve = {0};
	uint32_t ctl = 0;

	if (snapshot_restore(&w->snap, &w->vm, &w->mem, w->last_exit, &ve)) {
		if (res)
			snprintf(res->detail, sizeof(res->detail), "%.159s", ve.detail);
		return -1;
	}
	run_init(r, &w->vm, &w->mem, &w->layout, &cfg);
	r->exit_hook = exp_hook, r->exit_hook_arg = &x;
	if (trace || (spec && spec->trigger == INJ_AT_INSN && spec->when > 0))
		ctl = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	else if (spec && spec->trigger == INJ_AT_RIP)
		ctl = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
	if (ctl && camp_set_debug(&w->vm, ctl, spec ? spec->when : 0) < 0)
		run_stopf(r, RUN_STOP_KVM_ERROR, "KVM_SET_GUEST_DEBUG: %s", strerror(errno));
	x.debug_on = ctl != 0;
	x.t0 = camp_now_ns();
	if (spec && spec->trigger == INJ_AT_INSN && spec->when == 0)
		exp_fire(&x, r);
	if (r->stop == RUN_STOP_NONE)
		run_guest(r);
	w->last_exit = r->last_exit;
	if (x.debug_on)
		camp_set_debug(&w->vm, 0, 0);
	if (!res) {
		w->golden.stop = r->stop;
		w->golden.exit_code = r->exit_code;
		w->golden.hash = x.hash;
		w->golden.nexits = r->nexits;
		w->golden.hypercalls = x.hc;
		w->golden.checkpoints = x.cp;
		w->golden.wall_ns = r->wall_ns;
		return 0;
	}
	res->model = (uint8_t)spec->model;
	res->stop = (uint8_t)r->stop;
	res->applied = x.applied;
	res->deterministic = inject_deterministic(spec);
	res->tlb_flushed = x.eff.tlb_flushed;
	res->exit_code = r->exit_code;
	/* the guest's exits: not the breakpoint and single-step exits the trigger costs */
	res->nexits = r->nexits - r->exits[KVM_EXIT_DEBUG];
	res->hash = x.hash;
	res->rip = x.eff.rip;
	res->pages_restored = w->snap.pages_restored;
	res->outcome = (uint8_t)camp_classify(w, r, x.hash, x.err);
	if (res->outcome == OUT_HANG) /* where the hang was when stopped is not reproducible */
		snprintf(res->detail, sizeof(res->detail), "hang budget: %g ms or %" PRIu64 " exits",
			 w->budget_s * 1000, w->budget_exits);
	else if (!x.applied && r->stop == w->golden.stop && res->outcome == OUT_BENIGN)
		snprintf(res->detail, sizeof(res->detail), "trigger never reached");
	else
		snprintf(res->detail, sizeof(res->detail), "%.159s", x.err ? x.why : r->msg);
	return 0;
}

/* Golden run, then its single-step trace; sets the hang budget from it. */
static int worker_golden(struct worker *w, const struct campaign_opts *o, char *msg, size_t n)
{
	struct run r;

	w->budget_s = 10.0; /* the golden run itself only needs a sanity limit */
	if (worker_run(w, NULL, false, NULL, &r) < 0) {
		snprintf(msg, n, "golden run: reset failed");
		return PW_STATUS_INTERNAL;
	}
	run_free(&r);
	w->trace = malloc(CAMP_TRACE_MAX * sizeof(*w->trace));
	if (!w->trace) {
		snprintf(msg, n, "out of memory");
		return PW_STATUS_INTERNAL;
	}
	{
		struct campaign_golden g = w->golden;

		worker_run(w, NULL, true, NULL, &r);
		run_free(&r);
		w->golden = g; /* the traced run's timing is the stepping's, not the guest's */
	}
	w->golden.insns = w->ntrace;
	w->budget_exits = o->budget_exits ? o->budget_exits : w->golden.nexits * 10 + 100;
	/* A fixed default, not a multiple of the golden run's time: every worker and every shard
	 * must get the same budget for the results to be the same. */
	w->budget_s = (o->budget_ms > 0 ? o->budget_ms : CAMP_BUDGET_MS) / 1000.0;
	return 0;
}

/* ---- experiment generation ---------------------------------------------------------------- */

static const unsigned camp_default_models =
    (1u << INJ_REG) | (1u << INJ_MEM) | (1u << INJ_PTE);

/* A guest address the workload uses: its image or the stack page at the snapshot. */
static uint64_t camp_pick_addr(const struct worker *w, uint64_t *x)
{
	uint64_t span = w->img.end - w->img.start;

	if (camp_rand(x) % 4 == 0)
		return (w->snap.regs.rsp & ~0xfffull) + (camp_rand(x) % 4096);
	return w->img.start + camp_rand(x) % (span ? span : 1);
}

/* Experiment i of the campaign: a pure function of (seed, i, golden run), so every shard and
 * every worker agrees on it. */
static void camp_make(const struct worker *w, const struct campaign_opts *o, uint64_t i,
		      struct inject_spec *s)
{
	unsigned models = o->models ? o->models : camp_default_models;
	unsigned pick[INJ_MODEL_COUNT], np = 0;
	uint64_t x = o->seed ^ (i * 0xd1b54a32d192ed03ull);

	memset(s, 0, sizeof(*s));
	for (unsigned m = 0; m < INJ_MODEL_COUNT; m++)
		if (models & (1u << m))
			pick[np++] = m;
	s->model = (enum inject_model)pick[camp_rand(&x) % np];
	switch (s->model) {
	case INJ_REG:
		s->reg = (enum inject_reg)(camp_rand(&x) % (INJ_RFLAGS + 1));
		s->bit = (unsigned)(camp_rand(&x) % 64);
		break;
	case INJ_MEM:
		s->addr = camp_pick_addr(w, &x);
		s->bit = (unsigned)(camp_rand(&x) % 8);
		s->burst = 1;
		break;
	case INJ_PTE:
		s->va = camp_pick_addr(w, &x) & ~0xfffull;
		s->action = (enum inject_pte_action)(camp_rand(&x) % INJ_PTE_FLIP);
		break;
	case INJ_EXC: {
		static const unsigned vecs[] = {0, 6, 13, 14};

		s->vector = vecs[camp_rand(&x) % 4];
		s->has_err = pw_exception_has_error_code(s->vector);
		if (s->vector == 14)
			s->has_cr2 = true, s->cr2 = camp_pick_addr(w, &x);
		break;
	}
	default:
		break;
	}
	/* Where: an instruction of the golden trace, reached as the K-th arrival at its RIP (one
	 * breakpoint exit per arrival, not one per instruction); without a trace, a checkpoint. */
	if (w->ntrace) {
		uint64_t k = camp_rand(&x) % w->ntrace, hit = 0;

		for (uint64_t j = 0; j <= k; j++)
			hit += w->trace[j] == w->trace[k];
		s->trigger = INJ_AT_RIP, s->when = w->trace[k], s->hit = hit;
	} else {
		s->trigger = INJ_AT_HC;
		s->when = 1 + camp_rand(&x) % (w->golden.hypercalls ? w->golden.hypercalls : 1);
	}
}

/* Does experiment i belong to this shard? Round-robin: i % N == K - 1. */
static bool camp_in_shard(const struct campaign_opts *o, uint64_t i)
{
	return !o->nshards || i % o->nshards == o->shard - 1;
}

/* ---- the campaign ------------------------------------------------------------------------- */

/* Worker j of o->jobs: build, golden, then every experiment of this shard with local index
 * % jobs == j, each result written to fd as one fixed-size record. Returns the exit status. */
static int camp_worker(const struct campaign_opts *o, unsigned j, int fd)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct campaign_result res;
	struct inject_spec spec;
	char msg[256] = "";
	uint64_t local = 0;
	int status;
	struct run r;

	if (!w)
		return PW_STATUS_INTERNAL;
	status = worker_init(w, o, msg, sizeof(msg));
	if (!status)
		status = worker_golden(w, o, msg, sizeof(msg));
	if (status) {
		fprintf(stderr, "vmm: campaign: %s\n", msg);
		worker_free(w);
		free(w);
		return status;
	}
	if (j == 0)
		fprintf(stderr,
			"vmm: golden run: %s, exit code %" PRId64 ", %" PRIu64 " exits, %" PRIu64
			" hypercalls, %" PRIu64 " instructions, output hash %016" PRIx64 "\n",
			run_stop_name(w->golden.stop), w->golden.exit_code, w->golden.nexits,
			w->golden.hypercalls, w->golden.insns, w->golden.hash);
	for (uint64_t i = 0; i < o->runs; i++) {
		if (!camp_in_shard(o, i) || local++ % o->jobs != j)
			continue;
		camp_make(w, o, i, &spec);
		memset(&res, 0, sizeof(res));
		res.index = i;
		inject_format(&spec, res.spec, sizeof(res.spec));
		if (worker_run(w, &spec, false, &res, &r) < 0) {
			res.outcome = OUT_VMM_ERROR;
		} else {
			run_free(&r);
		}
		if (write(fd, &res, sizeof(res)) != (ssize_t)sizeof(res)) {
			status = PW_STATUS_INTERNAL;
			break;
		}
	}
	worker_free(w);
	free(w);
	return status;
}

static FILE *camp_open(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		fprintf(stderr, "vmm: campaign: %s: %s\n", path, strerror(errno));
	return f;
}

/* Read records from fd until every worker closed it; results[i] keeps experiment i. */
static uint64_t camp_collect(const struct campaign_opts *o, int fd,
			     struct campaign_result *results, bool *have, uint64_t total)
{
	struct campaign_result rec;
	uint64_t got = 0, t0 = camp_now_ns();
	ssize_t k;

	while ((k = read(fd, &rec, sizeof(rec))) == (ssize_t)sizeof(rec)) {
		if (rec.index < o->runs && !have[rec.index]) {
			results[rec.index] = rec, have[rec.index] = true, got++;
		}
		if (o->progress && (got % 64 == 0 || got == total)) {
			double s = (double)(camp_now_ns() - t0) / 1e9;

			fprintf(stderr, "\rvmm: %" PRIu64 "/%" PRIu64 " experiments, %.0f/s   ", got,
				total, s > 0 ? (double)got / s : 0.0);
		}
	}
	if (o->progress)
		fputc('\n', stderr);
	return got;
}

int campaign_main(const struct campaign_opts *o)
{
	uint64_t total = 0, counts[INJ_MODEL_COUNT][OUT_COUNT] = {{0}};
	struct campaign_result *results = calloc(o->runs ? o->runs : 1, sizeof(*results));
	bool *have = calloc(o->runs ? o->runs : 1, 1);
	FILE *out = NULL, *csv = NULL;
	int p[2], status = 0, ws;
	pid_t pid[64];
	unsigned started = 0;

	if (!results || !have || pipe(p) < 0) {
		fprintf(stderr, "vmm: campaign: out of memory\n");
		free(results), free(have);
		return PW_STATUS_INTERNAL;
	}
	if ((o->out && !(out = camp_open(o->out))) || (o->csv && !(csv = camp_open(o->csv))))
		status = PW_STATUS_USAGE;
	for (uint64_t i = 0; i < o->runs; i++)
		total += camp_in_shard(o, i);
	fflush(NULL);
	/* Fork before any VM exists: a VM does not survive fork, each worker builds its own. */
	for (unsigned j = 0; !status && j < o->jobs; j++) {
		pid[j] = fork();
		if (pid[j] == 0) {
			close(p[0]);
			_exit(camp_worker(o, j, p[1]));
		}
		if (pid[j] < 0) {
			fprintf(stderr, "vmm: campaign: fork: %s\n", strerror(errno));
			status = PW_STATUS_INTERNAL;
			break;
		}
		started++;
	}
	close(p[1]);
	uint64_t got = camp_collect(o, p[0], results, have, total);
	close(p[0]);
	for (unsigned j = 0; j < started; j++)
		if (waitpid(pid[j], &ws, 0) > 0 && (!WIFEXITED(ws) || WEXITSTATUS(ws)) && !status)
			status = WIFEXITED(ws) ? WEXITSTATUS(ws) : PW_STATUS_INTERNAL;
	if (csv)
		campaign_write_csv_header(csv);
	for (uint64_t i = 0; i < o->runs; i++) {
		if (!have[i])
			continue;
		counts[results[i].model % INJ_MODEL_COUNT][results[i].outcome % OUT_COUNT]++;
		if (out)
			campaign_write_jsonl(out, &results[i], o->image, o->mem);
		if (csv)
			campaign_write_csv(csv, &results[i]);
	}
	if (got)
		campaign_print_summary(stdout, counts);
	if (!status && got != total) {
		fprintf(stderr, "vmm: campaign: %" PRIu64 " of %" PRIu64 " experiments missing\n",
			total - got, total);
		status = PW_STATUS_INTERNAL;
	}
	if (out)
		fclose(out);
	if (csv)
		fclose(csv);
	free(results), free(have);
	return status;
}

int campaign_inject_one(const struct campaign_opts *o)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct campaign_result res = {0};
	struct inject_spec spec;
	char msg[256] = "";
	int status;
	struct run r;

	if (!w)
		return PW_STATUS_INTERNAL;
	if (inject_parse(o->spec, &spec, msg, sizeof(msg))) {
		fprintf(stderr, "vmm: --inject: %s\n", msg);
		free(w);
		return PW_STATUS_USAGE;
	}
	status = worker_init(w, o, msg, sizeof(msg));
	if (!status)
		status = worker_golden(w, o, msg, sizeof(msg));
	if (status) {
		fprintf(stderr, "vmm: --inject: %s\n", msg);
	} else if (worker_run(w, &spec, false, &res, &r) < 0) {
		fprintf(stderr, "vmm: --inject: %s\n", res.detail);
		status = PW_STATUS_INTERNAL;
	} else {
		inject_format(&spec, res.spec, sizeof(res.spec));
		campaign_write_jsonl(stdout, &res, o->image, o->mem);
		status = res.outcome == OUT_VMM_ERROR ? PW_STATUS_INTERNAL : run_status(&r);
		run_free(&r);
	}
	worker_free(w);
	free(w);
	return status;
}

/* ---- options ------------------------------------------------------------------------------ */

enum { CO_RUNS = 0x100, CO_SEED, CO_MODEL, CO_JOBS, CO_SHARD, CO_OUT, CO_CSV, CO_BEXITS,
       CO_BMS, CO_SUMMARIZE, CO_MEM, CO_NOPROGRESS };

static const struct option camp_long[] = {
    {"runs", required_argument, NULL, CO_RUNS},
    {"seed", required_argument, NULL, CO_SEED},
    {"model", required_argument, NULL, CO_MODEL},
    {"jobs", required_argument, NULL, CO_JOBS},
    {"shard", required_argument, NULL, CO_SHARD},
    {"out", required_argument, NULL, CO_OUT},
    {"csv", required_argument, NULL, CO_CSV},
    {"budget-exits", required_argument, NULL, CO_BEXITS},
    {"budget-ms", required_argument, NULL, CO_BMS},
    {"summarize", no_argument, NULL, CO_SUMMARIZE},
    {"mem", required_argument, NULL, CO_MEM},
    {"no-progress", no_argument, NULL, CO_NOPROGRESS},
    {NULL, 0, NULL, 0},
};

static int camp_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

static int camp_opt(int c, const char *a, struct campaign_opts *o, bool *summarize, char *msg,
		    size_t n)
{
	uint64_t v;
	int m;
	unsigned k, nn;
	char extra;

	switch (c) {
	case CO_RUNS:
		if (camp_u64(a, &o->runs) || o->runs > 100000000)
			return snprintf(msg, n, "--runs '%s': want a count", a), -1;
		return 0;
	case CO_SEED:
		return camp_u64(a, &o->seed) ? (snprintf(msg, n, "--seed '%s': not a number", a), -1)
					     : 0;
	case CO_MODEL:
		for (m = 0; m < INJ_MODEL_COUNT; m++)
			if (strcmp(a, inject_model_name((enum inject_model)m)) == 0)
				break;
		if (m == INJ_MODEL_COUNT)
			return snprintf(msg, n, "--model '%s': want pte, mem, reg, exc or skip", a),
			       -1;
		o->models |= 1u << m;
		return 0;
	case CO_JOBS:
		if (camp_u64(a, &v) || v < 1 || v > 64)
			return snprintf(msg, n, "--jobs '%s': want 1..64", a), -1;
		o->jobs = (unsigned)v;
		return 0;
	case CO_SHARD:
		if (sscanf(a, "%u/%u%c", &k, &nn, &extra) != 2 || nn < 1 || k < 1 || k > nn)
			return snprintf(msg, n, "--shard '%s': want K/N with 1 <= K <= N", a), -1;
		o->shard = k, o->nshards = nn;
		return 0;
	case CO_OUT:
		o->out = a;
		return 0;
	case CO_CSV:
		o->csv = a;
		return 0;
	case CO_BEXITS:
		return camp_u64(a, &o->budget_exits)
			   ? (snprintf(msg, n, "--budget-exits '%s': not a number", a), -1)
			   : 0;
	case CO_BMS:
		if (camp_u64(a, &v) || v == 0 || v > 3600000)
			return snprintf(msg, n, "--budget-ms '%s': want 1..3600000", a), -1;
		o->budget_ms = (double)v;
		return 0;
	case CO_MEM:
		if (parse_size(a, &o->mem) < 0 || o->mem < PW_MEM_MIN || o->mem > PW_MEM_MAX ||
		    o->mem % PW_PAGE_SIZE)
			return snprintf(msg, n, "--mem '%s': bad RAM size", a), -1;
		return 0;
	case CO_SUMMARIZE:
		*summarize = true;
		return 0;
	case CO_NOPROGRESS:
		o->progress = false;
		return 0;
	}
	return snprintf(msg, n, "unknown campaign option (see docs/fault-injection.md)"), -1;
}

int campaign_parse(int argc, char *const argv[], struct campaign_opts *o, bool *summarize,
		   int *first_file, char *msg, size_t n)
{
	int c;

	memset(o, 0, sizeof(*o));
	o->mem = PW_MEM_DEFAULT;
	o->runs = 1000;
	o->jobs = 1;
	o->progress = isatty(2);
	*summarize = false;
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", camp_long, NULL)) != -1) {
		if (c == '?' || c == ':')
			return snprintf(msg, n, "campaign: bad option '%s'", argv[optind - 1]), -1;
		if (camp_opt(c, optarg, o, summarize, msg, n) < 0)
			return -1;
	}
	*first_file = optind;
	if (optind >= argc)
		return snprintf(msg, n, *summarize ? "campaign --summarize: no FILE given"
						   : "campaign: no image given"),
		       -1;
	o->image = argv[optind];
	return 0;
}
