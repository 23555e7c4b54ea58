/* --cpus N: the vCPU threads and stopping them together (host/smp.h, docs/smp.md). */
#include "smp.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cpu.h"
#include "sandbox.h"

/* Kicks a vCPU thread out of KVM_RUN: KVM returns EINTR, and immediate_exit (set first) makes
 * a kick that lands outside KVM_RUN count too. */
#define SMP_KICK_SIGNAL SIGUSR1

/* The kick's handler: its only job is to interrupt KVM_RUN. */
static void smp_on_kick(int sig)
{
	(void)sig;
}

/* The run of vCPU cpu. */
static struct run *smp_run_of(struct smp *s, unsigned cpu)
{
	return cpu == 0 ? s->run0 : &s->runs[cpu];
}

/* vCPU cpu stopped: if first, its stop ends the run, and it kicks every other vCPU. Only the
 * first kicks, and smp_finish joins it before the others, so no kick can reach a thread that
 * is gone. */
static void smp_stopped(struct smp *s, unsigned cpu)
{
	int none = -1;

	if (!__atomic_compare_exchange_n(&s->first, &none, (int)cpu, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return;
	s->stop_all = 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (unsigned k = 0; k < s->ncpus; k++) {
		if (k == cpu || (k > 0 && !s->started[k]))
			continue;
		smp_run_of(s, k)->vm->run->immediate_exit = 1;
		pthread_kill(s->threads[k], SMP_KICK_SIGNAL);
	}
}

enum vm_err smp_prepare(struct smp *s, struct run *run0, struct vm *vm,
			const struct guest_mem *mem, const struct layout *l, struct vm_error *e)
{
	struct run_config cfg = run0->cfg;
	enum vm_err err = VM_OK;

	s->ncpus = vm->ncpus;
	s->run0 = run0;
	s->first = -1;
	s->threads[0] = pthread_self();
	run0->cfg.stop_all = &s->stop_all;
	cfg.stop_all = &s->stop_all;
	cfg.no_timers = true;
	cfg.timeout = 0;
	cfg.cpu_budget = 0;
	for (unsigned k = 1; k < s->ncpus && !err; k++) {
		vm_cpu_view(vm, k, &s->views[k]);
		err = cpu_setup(&s->views[k], l, e);
		if (!err)
			err = vm_cpu_runnable(vm, k, e);
		run_init(&s->runs[k], &s->views[k], mem, l, &cfg);
	}
	return err;
}

/* Wait at the start line until smp_go; say first that this thread is ready. */
static void smp_wait_go(struct smp *s)
{
	pthread_mutex_lock(&s->lock);
	s->ready++;
	pthread_cond_broadcast(&s->cond);
	while (!s->released)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

/* A vCPU thread (arg: its run): its filter, the start line, the run, then the others' stop. */
static void *smp_thread(void *arg)
{
	struct run *r = arg;
	struct smp *s = r->smp;

	if (s->sandbox && sandbox_install(r->vm, -1, -1) != SANDBOX_OK)
		s->sandbox_failed = true; /* read under the lock, after ready counts this thread */
	smp_wait_go(s);
	if (!s->stop_all)
		run_guest(r);
	if (r->stop == RUN_STOP_NONE)
		run_stopf(r, RUN_STOP_STOPPED, "stopped before it ran: another vCPU ended the run");
	smp_stopped(s, r->vm->cpu);
	return NULL;
}

int smp_start(struct smp *s, bool sandbox)
{
	struct sigaction sa = {.sa_handler = smp_on_kick};
	sigset_t timers, old;
	unsigned started = 0;
	bool failed;

	s->sandbox = sandbox;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: the kick must make KVM_RUN return */
	if (sigaction(SMP_KICK_SIGNAL, &sa, NULL) < 0)
		return -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	sigemptyset(&timers);
	sigaddset(&timers, SIGALRM);
	sigaddset(&timers, SIGPROF);
	/* The threads inherit this mask: --timeout's and the budget's signals reach vCPU 0's. */
	pthread_sigmask(SIG_BLOCK, &timers, &old);
	for (unsigned k = 1; k < s->ncpus; k++) {
		s->runs[k].smp = s;
		if (pthread_create(&s->threads[k], NULL, smp_thread, &s->runs[k]) != 0)
			break;
		s->started[k] = true;
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_lock(&s->lock);
	while (s->ready < started)
		pthread_cond_wait(&s->cond, &s->lock);
	failed = s->sandbox_failed || started + 1 < s->ncpus;
	pthread_mutex_unlock(&s->lock);
	if (failed) {
		s->stop_all = 1;
		smp_go(s);
		return -1;
	}
	return 0;
}

void smp_go(struct smp *s)
{
	pthread_mutex_lock(&s->lock);
	s->released = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

unsigned smp_finish(struct smp *s)
{
	struct run tmp, *r0 = s->run0;
	unsigned first;
	size_t len;

	smp_stopped(s, 0);
	first = (unsigned)s->first; /* set by now: by vCPU 0 at the latest */
	if (first != 0) /* the one thread that may still be kicking */
		pthread_join(s->threads[first], NULL);
	for (unsigned k = 1; k < s->ncpus; k++)
		if (s->started[k] && k != first)
			pthread_join(s->threads[k], NULL);
	if (first != 0) { /* the run the caller reports is the one that ended it */
		tmp = *r0;
		*r0 = s->runs[first];
		s->runs[first] = tmp;
	}
	for (unsigned k = 1; k < s->ncpus; k++) {
		fault_list_merge(&r0->faults, &s->runs[k].faults);
		/* exits: every vCPU's (the report's exits and exits_total count them all) */
		for (unsigned x = 0; x < RUN_EXIT_SLOTS; x++)
			r0->exits[x] += s->runs[k].exits[x];
		r0->nexits += s->runs[k].nexits;
	}
	len = strlen(r0->msg);
	if (r0->stop != RUN_STOP_EXIT && len + 16 < sizeof(r0->msg))
		snprintf(r0->msg + len, sizeof(r0->msg) - len, " (CPU %u)", first);
	return first;
}

void smp_free(struct smp *s)
{
	for (unsigned k = 1; k < s->ncpus; k++)
		run_free(&s->runs[k]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
}
