/* --cpus N (docs/smp.md): vCPUs 1..N-1 each run in a thread of their own, with a run
 * (host/run.h) on their own view of the VM; vCPU 0 runs on the calling thread, in the run the
 * caller made. The first vCPU to stop ends the run for all: the others are kicked out of
 * KVM_RUN and stop as RUN_STOP_STOPPED, and that first stop becomes the caller's run. */
#ifndef PW_HOST_SMP_H
#define PW_HOST_SMP_H

#include <pthread.h>
#include <stdbool.h>

#include "run.h"

struct smp {
	unsigned ncpus;
	struct run *run0;		    /* vCPU 0's, the caller's */
	struct vm views[PW_MAX_CPUS];	    /* [k]: vCPU k's view; [0] unused */
	struct run runs[PW_MAX_CPUS];	    /* [k]: vCPU k's run; [0] unused */
	pthread_t threads[PW_MAX_CPUS];	    /* [0]: the caller's thread */
	bool started[PW_MAX_CPUS];
	pthread_mutex_t lock; /* the start line: */
	pthread_cond_t cond;
	unsigned ready;	      /* threads with their filter installed (or failed) */
	bool released;	      /* smp_go (or a failed start) let them go */
	bool sandbox;	      /* each thread installs the seccomp filter for its vCPU */
	bool sandbox_failed;  /* a thread could not */
	volatile int stop_all;	/* some vCPU stopped: the rest follow (run_config.stop_all) */
	int first;		/* the vCPU whose stop ended the run; -1 while running */
};

/* Prepare vCPUs 1..vm->ncpus-1 of vm for l (registers, GDT, TSS, GS, runnable) and their runs,
 * like run0 (vCPU 0's, already run_init'ed) but without timers, and link run0 to them. */
enum vm_err smp_prepare(struct smp *s, struct run *run0, struct vm *vm,
			const struct guest_mem *mem, const struct layout *l, struct vm_error *e);

/* Start the vCPU threads; each installs its seccomp filter if sandbox, then waits for smp_go.
 * Returns 0, or -1 if a thread could not start or its filter could not be installed: then no
 * guest code ran, and after smp_finish every run says so. --timeout's signals stay for vCPU 0's
 * thread. */
int smp_start(struct smp *s, bool sandbox);

/* Let the vCPU threads run the guest. */
void smp_go(struct smp *s);

/* After run0 stopped: stop the others, join them, and make run0 the run of the vCPU whose stop
 * ended it, with every vCPU's faults. Returns that vCPU. */
unsigned smp_finish(struct smp *s);

/* Free the runs smp_prepare made (after smp_finish). */
void smp_free(struct smp *s);

#endif
