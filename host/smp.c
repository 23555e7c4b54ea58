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
 * first kicks, and smp_finish waits until it is done, so no kick can reach a thread that is
 * gone. One may land after the round, in a thread waiting for the next: its handler does
 * nothing, and the next round clears immediate_exit. */
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

void smp_run_config(struct smp *s, struct run_config *cfg)
{
	cfg->stop_all = &s->stop_all;
	cfg->no_timers = true;
	cfg->timeout = 0;
	cfg->cpu_budget = 0;
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
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_mutex_init(&s->pool.lock, NULL);
	smp_run_config(s, &cfg);
	for (unsigned k = 1; k < s->ncpus && !err; k++) {
		vm_cpu_view(vm, k, &s->views[k]);
		err = cpu_setup(&s->views[k], l, e);
		if (!err)
			err = vm_cpu_runnable(vm, k, e);
		run_init(&s->runs[k], &s->views[k], mem, l, &cfg);
		s->runs[k].gpt.shared = &s->pool;
	}
	return err;
}

/* Add one to *count under the lock and wake whoever waits for it. */
static void smp_count(struct smp *s, unsigned *count)
{
	pthread_mutex_lock(&s->lock);
	(*count)++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Wait for the next round after seen; its number, or 0 once smp_free says quit. */
static unsigned smp_next_round(struct smp *s, unsigned seen)
{
	unsigned round;

	pthread_mutex_lock(&s->lock);
	while (s->round == seen && !s->quit)
		pthread_cond_wait(&s->cond, &s->lock);
	round = s->quit ? 0 : s->round;
	pthread_mutex_unlock(&s->lock);
	return round;
}

/* At the start line of round: say this thread is there, wait until it may run. */
static void smp_wait_go(struct smp *s, unsigned round)
{
	pthread_mutex_lock(&s->lock);
	s->ready++;
	pthread_cond_broadcast(&s->cond);
	while (s->released != round)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

/* vCPU cpu's part of a round: begin, the run, the others' stop, end. */
static void smp_round(struct smp *s, unsigned cpu, unsigned round)
{
	struct run *r = &s->runs[cpu];

	s->views[cpu].run->immediate_exit = 0; /* a kick from the last round may have left it */
	if (s->begin)
		s->begin(s, cpu, r, s->hook_arg);
	smp_wait_go(s, round);
	if (!s->stop_all && r->stop == RUN_STOP_NONE)
		run_guest(r);
	if (r->stop == RUN_STOP_NONE)
		run_stopf(r, RUN_STOP_STOPPED, "stopped before it ran: another vCPU ended the run");
	smp_stopped(s, cpu);
	if (s->end)
		s->end(s, cpu, r, s->hook_arg);
	smp_count(s, &s->done);
}

/* A vCPU thread (arg: its struct smp_thread_arg): its filter, then its part of every round
 * until smp_free. */
static void *smp_thread(void *arg)
{
	const struct smp_thread_arg *a = arg;
	struct smp *s = a->s;
	unsigned cpu = a->cpu;

	if (s->sandbox && sandbox_install(&s->views[cpu], -1, -1) != SANDBOX_OK)
		s->sandbox_failed = true; /* read under the lock, after ready counts this thread */
	smp_count(s, &s->ready);
	for (unsigned round = 0; (round = smp_next_round(s, round));)
		smp_round(s, cpu, round);
	return NULL;
}

/* End the threads that started: say quit, join them. */
static void smp_quit(struct smp *s)
{
	pthread_mutex_lock(&s->lock);
	s->quit = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	for (unsigned k = 1; k < s->ncpus; k++)
		if (s->started[k])
			pthread_join(s->threads[k], NULL);
	memset(s->started, 0, sizeof(s->started));
	s->nstarted = 0;
}

int smp_start(struct smp *s, bool sandbox)
{
	struct sigaction sa = {.sa_handler = smp_on_kick};
	sigset_t timers, old;
	bool failed;

	s->sandbox = sandbox;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: the kick must make KVM_RUN return */
	if (sigaction(SMP_KICK_SIGNAL, &sa, NULL) < 0)
		return -1;
	sigemptyset(&timers);
	sigaddset(&timers, SIGALRM);
	sigaddset(&timers, SIGPROF);
	/* The threads inherit this mask: --timeout's and the budget's signals reach vCPU 0's. */
	pthread_sigmask(SIG_BLOCK, &timers, &old);
	for (unsigned k = 1; k < s->ncpus; k++) {
		s->args[k] = (struct smp_thread_arg){.s = s, .cpu = k};
		if (pthread_create(&s->threads[k], NULL, smp_thread, &s->args[k]) != 0)
			break;
		s->started[k] = true;
		s->nstarted++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_mutex_lock(&s->lock);
	while (s->ready < s->nstarted)
		pthread_cond_wait(&s->cond, &s->lock);
	failed = s->sandbox_failed || s->nstarted + 1 < s->ncpus;
	pthread_mutex_unlock(&s->lock);
	if (failed) {
		smp_quit(s);
		return -1;
	}
	return 0;
}

void smp_go(struct smp *s, struct run *run0)
{
	s->run0 = run0;
	run0->cfg.stop_all = &s->stop_all;
	s->pool.top = run0->gpt.pool_top;
	run0->gpt.shared = &s->pool;
	s->first = -1;
	s->stop_all = 0;
	pthread_mutex_lock(&s->lock);
	s->ready = s->done = 0;
	s->round++;
	pthread_cond_broadcast(&s->cond);
	while (s->ready < s->nstarted) /* every vCPU is reset (begin) before any runs */
		pthread_cond_wait(&s->cond, &s->lock);
	s->released = s->round;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void smp_stop_all(struct smp *s)
{
	smp_stopped(s, 0);
	pthread_mutex_lock(&s->lock); /* every thread has stopped, kicked and ended its run */
	while (s->done < s->nstarted)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

unsigned smp_finish(struct smp *s)
{
	struct run tmp, *r0 = s->run0;
	unsigned first;
	size_t len;

	smp_stop_all(s);
	first = (unsigned)s->first; /* set by now: by vCPU 0 at the latest */
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
	smp_quit(s);
	for (unsigned k = 1; k < s->ncpus; k++)
		run_free(&s->runs[k]);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->pool.lock);
}
