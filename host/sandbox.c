/* The seccomp sandbox around the run loop and the reports that follow it. The filter is compiled
 * at build time (host/tools/sandbox_gen.c, with libseccomp, from host/sandbox_rules.h); here it
 * only gets the VMM's fds patched in and is loaded with one seccomp(2) call. */
#include "sandbox.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox_rules.h"

#ifdef HAVE_SECCOMP
#include "sandbox_bpf.h"
#endif

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

/* Replace placeholder fd by fd in every `jeq` of prog; returns how many were replaced. */
static unsigned sandbox_patch_fd(struct sock_filter *prog, size_t n, unsigned placeholder, int fd)
{
	unsigned done = 0;

	for (size_t i = 0; i < n; i++)
		if (prog[i].code == (BPF_JMP | BPF_JEQ | BPF_K) && prog[i].k == placeholder) {
			prog[i].k = (unsigned)fd;
			done++;
		}
	return done;
}

enum sandbox_err sandbox_install(const struct vm *vm)
{
	struct sock_filter prog[SANDBOX_N(sandbox_bpf)];
	struct sock_fprog fprog = {.len = SANDBOX_N(sandbox_bpf), .filter = prog};

	if (vm->vcpu_fd < 0 || vm->vm_fd < 0)
		return SANDBOX_ESECCOMP;
	for (size_t i = 0; i < SANDBOX_N(sandbox_bpf); i++)
		prog[i] = sandbox_bpf[i];
	if (sandbox_patch_fd(prog, fprog.len, SANDBOX_FD_VCPU, vm->vcpu_fd) !=
		SANDBOX_BPF_VCPU_SLOTS ||
	    sandbox_patch_fd(prog, fprog.len, SANDBOX_FD_VM, vm->vm_fd) != SANDBOX_BPF_VM_SLOTS)
		return SANDBOX_ESECCOMP;
	/* no_new_privs first, so that root is not required to install a filter */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		return SANDBOX_ESECCOMP;
	return SANDBOX_OK;
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
