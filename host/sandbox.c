/* The seccomp sandbox around the run loop and the reports that follow it. */
#include "sandbox.h"

#include <errno.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/ioctl.h>

#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif

/* Every vCPU ioctl a run loop may make: KVM_RUN and the state the loops, the crash report and
 * fault injection read or write (registers, events, debug, FPU/MSR state for snapshots). */
static const unsigned long sandbox_vcpu_reqs[] = {
    KVM_RUN,
    KVM_GET_REGS,
    KVM_SET_REGS,
    KVM_GET_SREGS,
    KVM_SET_SREGS,
    KVM_TRANSLATE,
    KVM_GET_VCPU_EVENTS,
    KVM_SET_VCPU_EVENTS,
    KVM_SET_GUEST_DEBUG,
    KVM_GET_FPU,
    KVM_SET_FPU,
    KVM_GET_MSRS,
    KVM_SET_MSRS,
    KVM_GET_XSAVE,
    KVM_SET_XSAVE,
    KVM_GET_XCRS,
    KVM_SET_XCRS,
    KVM_GET_DEBUGREGS,
    KVM_SET_DEBUGREGS,
    KVM_GET_MP_STATE,
    KVM_SET_MP_STATE,
};

/* VM ioctls: the dirty log (snapshots, fault injection) and nothing that creates or maps. */
static const unsigned long sandbox_vm_reqs[] = {KVM_GET_DIRTY_LOG, KVM_CLEAR_DIRTY_LOG};

#define SANDBOX_N(a) (sizeof(a) / sizeof((a)[0]))

const char *sandbox_strerror(enum sandbox_err err)
{
	switch (err) {
	case SANDBOX_OK:
		return "success";
	case SANDBOX_EUNSUPPORTED:
		return "built without libseccomp (install libseccomp-dev and rebuild, or pass "
		       "--no-sandbox)";
	case SANDBOX_ESECCOMP:
		return "cannot install the seccomp filter";
	}
	return "unknown sandbox error";
}

const unsigned long *sandbox_vcpu_ioctls(unsigned *n)
{
	*n = SANDBOX_N(sandbox_vcpu_reqs);
	return sandbox_vcpu_reqs;
}

#ifdef HAVE_SECCOMP
bool sandbox_available(void)
{
	return true;
}

/* Syscalls allowed with any arguments: output, memory for malloc/free (never executable, see
 * sandbox_rules), --timeout's timer and signal, the clock, and exiting. */
static const int sandbox_plain[] = {
    SCMP_SYS(write),
    SCMP_SYS(writev),
    SCMP_SYS(close),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(brk),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(setitimer),
    SCMP_SYS(getitimer),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(futex),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
#ifdef __SANITIZE_ADDRESS__
    /* ASan/LSan at exit: reading /proc/self/maps and stopping the world to scan for leaks. */
    SCMP_SYS(read),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(sched_yield),
    SCMP_SYS(clone),
    SCMP_SYS(clone3),
    SCMP_SYS(ptrace),
    SCMP_SYS(wait4),
    SCMP_SYS(prctl),
    SCMP_SYS(sigaltstack),
    SCMP_SYS(tgkill),
    SCMP_SYS(getppid),
    SCMP_SYS(readlink),
    SCMP_SYS(lseek),
    SCMP_SYS(pipe2),
    SCMP_SYS(getrlimit),
    SCMP_SYS(prlimit64),
    SCMP_SYS(set_robust_list),
    SCMP_SYS(rseq),
    SCMP_SYS(mprotect),
    SCMP_SYS(sched_getaffinity),
    SCMP_SYS(uname),
    SCMP_SYS(sysinfo),
    SCMP_SYS(getrusage),
#endif
};

/* ioctl(fd, req) allowed for each req in reqs[0..n). */
static int sandbox_ioctls(scmp_filter_ctx ctx, int fd, const unsigned long *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
				     SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fd),
				     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)reqs[i])) < 0)
			return -1;
	return 0;
}

/* Add every rule of the filter for vm to ctx. */
static int sandbox_rules(scmp_filter_ctx ctx, const struct vm *vm)
{
	for (size_t i = 0; i < SANDBOX_N(sandbox_plain); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sandbox_plain[i], 0) < 0)
			return -1;
	/* malloc may map memory, but nothing may become executable: no injected code runs. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0)
		return -1;
#ifndef __SANITIZE_ADDRESS__
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
			     SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0)
		return -1;
#endif
	/* stdio asks whether a stream is a terminal before its first write (--json -). */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
			     SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)TCGETS)) < 0)
		return -1;
	/* Opening files fails instead of killing: the crash report's optional dlopen of
	 * capstone then falls back to hex bytes. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0) < 0)
		return -1;
	if (sandbox_ioctls(ctx, vm->vcpu_fd, sandbox_vcpu_reqs, SANDBOX_N(sandbox_vcpu_reqs)) < 0 ||
	    sandbox_ioctls(ctx, vm->vm_fd, sandbox_vm_reqs, SANDBOX_N(sandbox_vm_reqs)) < 0)
		return -1;
	return 0;
}

enum sandbox_err sandbox_install(const struct vm *vm)
{
	/* Kill the whole process, not one thread: a VMM that made a syscall outside this list is
	 * either buggy or no longer ours. */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc;

	if (!ctx)
		return SANDBOX_ESECCOMP;
	rc = sandbox_rules(ctx, vm);
	if (rc == 0)
		rc = seccomp_load(ctx); /* sets no_new_privs first, so root is not required */
	seccomp_release(ctx);
	return rc == 0 ? SANDBOX_OK : SANDBOX_ESECCOMP;
}
#else
bool sandbox_available(void)
{
	return false;
}

enum sandbox_err sandbox_install(const struct vm *vm)
{
	(void)vm;
	return SANDBOX_EUNSUPPORTED;
}
#endif
