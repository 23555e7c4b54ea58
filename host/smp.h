/* --cpus N (docs/smp.md): vCPUs 1..N-1 each run in a thread of their own, with a run
 * (host/run.h) on their own view of the VM; vCPU 0 runs on the calling thread, in the run the
 * caller made. The first vCPU to stop ends the run for all: the others are kicked out of
 * KVM_RUN and stop as RUN_STOP_STOPPED, and that first stop becomes the caller's run. The
 * threads live on between runs ("rounds"): a campaign worker resets the VM and runs it again. */
#ifndef PW_HOST_SMP_H
#define PW_HOST_SMP_H

#include <pthread.h>
#include <stdbool.h>

#include "run.h"

struct smp;

/* A campaign worker's work on vCPU cpu's own thread around each round (host/campaign/): begin
 * before the vCPU runs (reset it, run_init r), end after its run stopped. */
typedef void smp_hook(struct smp *s, unsigned cpu, struct run *r, void *arg);

/* What a vCPU thread is given: its vCPU and the smp it is part of. */
struct smp_thread_arg {
	struct smp *s;
	unsigned cpu;
};

struct smp {
	unsigned ncpus;
	struct run *run0;		    /* vCPU 0's, the caller's (this round's) */
	struct vm views[PW_MAX_CPUS];	    /* [k]: vCPU k's view; [0] unused */
	struct run runs[PW_MAX_CPUS];	    /* [k]: vCPU k's run; [0] unused */
	pthread_t threads[PW_MAX_CPUS];	    /* [0]: the caller's thread */
	struct smp_thread_arg args[PW_MAX_CPUS];
	bool started[PW_MAX_CPUS];
	unsigned nstarted;
	pthread_mutex_t lock; /* the start line and the finish line: */
	pthread_cond_t cond;
	unsigned ready;	      /* threads at the start line (filter installed, or begin done) */
	unsigned round;	      /* rounds smp_go started */
	unsigned released;    /* the round the threads may run */
	unsigned done;	      /* threads whose run in this round stopped (and ended) */
	bool quit;	      /* smp_free: the threads return */
	bool sandbox;	      /* each thread installs the seccomp filter for its vCPU */
	bool sandbox_failed;  /* a thread could not */
	volatile int stop_all;	/* some vCPU stopped: the rest follow (run_config.stop_all) */
	int first;		/* the vCPU whose stop ended the round; -1 while running */
	smp_hook *begin, *end;	/* optional; without begin, one round only (./vmm) */
	struct guest_pt_pool pool; /* every vCPU's run's gpt.shared: the VMM's heap frames */
	void *hook_arg;
};

/* Prepare vCPUs 1..vm->ncpus-1 of vm for l (registers, GDT, TSS, GS, runnable) and their runs,
 * like run0 (vCPU 0's, already run_init'ed) but without timers (smp_run_config). */
enum vm_err smp_prepare(struct smp *s, struct run *run0, struct vm *vm,
			const struct guest_mem *mem, const struct layout *l, struct vm_error *e);

/* Make cfg, vCPU 0's run configuration, that of another vCPU of s: no timers (--timeout and the
 * CPU budget are vCPU 0's), and stopping when another stops. */
void smp_run_config(struct smp *s, struct run_config *cfg);

/* Start the vCPU threads; each installs its seccomp filter if sandbox, then waits for a round.
 * Returns 0, or -1 if a thread could not start or its filter could not be installed: then no
 * thread is left. --timeout's signals stay for vCPU 0's thread. */
int smp_start(struct smp *s, bool sandbox);

/* Start a round with run0 (vCPU 0's run, run_init'ed): the pool's cursor becomes run0's
 * (gpt.pool_top), every thread runs s->begin (which shares s->pool with its run's gpt), then all
 * run the guest. The caller then runs run0 itself. */
void smp_go(struct smp *s, struct run *run0);

/* After run0 stopped: stop the others and wait until their runs stopped and s->end ran. */
void smp_stop_all(struct smp *s);

/* After run0 stopped: smp_stop_all, then make run0 the run of the vCPU whose stop ended the
 * round, with every vCPU's faults and exits. Returns that vCPU. */
unsigned smp_finish(struct smp *s);

/* End the threads and free the runs (after smp_finish, or a failed smp_start). */
void smp_free(struct smp *s);

#endif
