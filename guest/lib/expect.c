/* Expected faults: pw_expect_fault and the probes built on it. One struct pw_recovery per CPU
 * (struct pw_cpu, trap.h) is the single record of the resume context and of the fault, whoever
 * unwinds: the guest's dispatcher under --faults=guest, the VMM (each CPU's registered once with
 * PW_HC_RECOVERY) under --faults=vmm. */
#include <pagewarden/classify.h>
#include <pagewarden/guest.h>

#include "trap.h"

/* Once, before the first arming: under --faults=vmm tell the VMM where the recovery record
 * lives (it never moves); under --faults=guest give the trap fast path the heap bounds. */
static void recovery_register(void)
{
	struct pw_cpu *c = pw_this_cpu();

	if (c->registered)
		return;
	if (pw_boot_info()->fault_mode == PW_FAULTS_VMM)
		pw_hypercall(PW_HC_RECOVERY, (uint64_t)(uintptr_t)&c->rec);
	else
		pw_trap_fast_init();
	c->registered = 1;
}

/* The kind of the fault recorded in r: the catcher's, or (the dispatcher's fast path leaves
 * PW_FAULT_NONE) the shared classifier's, computed now. */
static unsigned recovered_kind(const struct pw_recovery *r)
{
	const struct pw_boot_info *bi = pw_boot_info();
	struct pt_access_result walk;

	if (r->kind != PW_FAULT_NONE)
		return (unsigned)r->kind;
	/* AC as the armer had it: the fast path keeps no flags of the fault's own */
	return pw_classify(bi->regions, bi->nregions, (unsigned)r->vector, r->cr2, r->error_code,
			   r->vector == 14 ? pw_fault_walk(r->cr2, r->error_code, r->rflags, &walk)
					   : NULL);
}

/* Describe in *f (if not NULL) the outcome of the last run of the recovery record. */
static void fault_out(struct pw_fault *f, bool faulted)
{
	const struct pw_recovery *r = &pw_this_cpu()->rec;

	if (f)
		*f = (struct pw_fault){
		    .faulted = faulted,
		    .vector = faulted ? (unsigned)r->vector : 0,
		    .kind = faulted ? recovered_kind(r) : PW_FAULT_NONE,
		    .error_code = faulted ? r->error_code : 0,
		    .cr2 = faulted ? r->cr2 : 0,
		    .rip = faulted ? r->fault_rip : 0,
		};
}

/* The record must be free: a probe or fn inside pw_expect_fault would overwrite its context. */
static void recovery_claim(const char *who)
{
	if (pw_this_cpu()->rec.armed)
		panic("%s called from inside pw_expect_fault", who);
	recovery_register();
}

bool pw_expect_fault(void (*fn)(void *), void *arg, struct pw_fault *f)
{
	bool faulted;

	recovery_claim("pw_expect_fault");
	faulted = pw_recovery_run(&pw_this_cpu()->rec, fn, arg) != 0;
	fault_out(f, faulted);
	return faulted;
}

/* One probe access at addr through pw_recovery_probe. */
static bool probe_access(const char *who, uint64_t addr, int write, struct pw_fault *f)
{
	bool faulted;

	recovery_claim(who);
	faulted = pw_recovery_probe(&pw_this_cpu()->rec, addr, write) != 0;
	fault_out(f, faulted);
	return faulted;
}

/* Call addr (a `ret` there makes it come straight back). */
static void probe_exec(void *addr)
{
	((void (*)(void))addr)();
}

bool pw_probe_read(uint64_t addr, struct pw_fault *f)
{
	return probe_access("pw_probe_read", addr, 0, f);
}

bool pw_probe_write(uint64_t addr, struct pw_fault *f)
{
	return probe_access("pw_probe_write", addr, 1, f);
}

bool pw_probe_exec(uint64_t addr, struct pw_fault *f)
{
	return pw_expect_fault(probe_exec, (void *)(uintptr_t)addr, f);
}
