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

/* Copy filter src (n instructions) to prog and put the real fds in its placeholders; false
 * if a placeholder count is not what the generator said. */
static bool sandbox_patch(struct sock_filter *prog, const struct sock_filter *src, size_t n,
			  const struct vm *vm, const int gdb_fds[2], const unsigned slots[5])
{
	for (size_t i = 0; i < n; i++)
		prog[i] = src[i];
	if (vm->ncpus > 1 &&
	    sandbox_patch_fd(prog, n, SANDBOX_FD_VCPU_BLOCK, vm->vcpu_fds[0]) != slots[0])
		return false;
	return (vm->ncpus > 1 ||
		sandbox_patch_fd(prog, n, SANDBOX_FD_VCPU, vm->vcpu_fd) == slots[0]) &&
	       sandbox_patch_fd(prog, n, SANDBOX_FD_VM, vm->vm_fd) == slots[1] &&
	       sandbox_patch_fd(prog, n, SANDBOX_FD_GDB, gdb_fds[0]) == slots[2] &&
	       sandbox_patch_fd(prog, n, SANDBOX_FD_GDB_LISTEN, gdb_fds[1]) == slots[3] &&
	       sandbox_patch_fd(prog, n, SANDBOX_PID, getpid()) == slots[4];
}

enum sandbox_err sandbox_install(const struct vm *vm, int gdb_fd, int gdb_listen_fd)
{
	static const unsigned plain[5] = {sandbox_bpf_VCPU_SLOTS, sandbox_bpf_VM_SLOTS,
					  sandbox_bpf_GDB_SLOTS, sandbox_bpf_LISTEN_SLOTS,
					  sandbox_bpf_PID_SLOTS};
	static const unsigned gdb[5] = {sandbox_bpf_gdb_VCPU_SLOTS, sandbox_bpf_gdb_VM_SLOTS,
					sandbox_bpf_gdb_GDB_SLOTS, sandbox_bpf_gdb_LISTEN_SLOTS,
					sandbox_bpf_gdb_PID_SLOTS};
	static const unsigned smp[5] = {sandbox_bpf_smp_VCPU_SLOTS, sandbox_bpf_smp_VM_SLOTS,
					sandbox_bpf_smp_GDB_SLOTS, sandbox_bpf_smp_LISTEN_SLOTS,
					sandbox_bpf_smp_PID_SLOTS};
	const int none[2] = {-1, -1}, fds[2] = {gdb_fd, gdb_listen_fd};
	struct sock_filter prog[SANDBOX_N(sandbox_bpf_gdb) + SANDBOX_N(sandbox_bpf) +
				SANDBOX_N(sandbox_bpf_smp)];
	struct sock_fprog fprog = {.filter = prog};
	bool ok;

	if (vm->vcpu_fd < 0 || vm->vm_fd < 0)
		return SANDBOX_ESECCOMP;
	if (vm->ncpus > 1 && (gdb_fd >= 0 || vm->vcpu_fds[0] % 64 != 0))
		return SANDBOX_ESECCOMP; /* --gdb drives one vCPU; the block must be aligned */
	if (vm->ncpus > 1) {
		fprog.len = SANDBOX_N(sandbox_bpf_smp);
		ok = sandbox_patch(prog, sandbox_bpf_smp, fprog.len, vm, none, smp);
	} else if (gdb_fd >= 0) {
		fprog.len = SANDBOX_N(sandbox_bpf_gdb);
		ok = sandbox_patch(prog, sandbox_bpf_gdb, fprog.len, vm, fds, gdb);
	} else {
		fprog.len = SANDBOX_N(sandbox_bpf);
		ok = sandbox_patch(prog, sandbox_bpf, fprog.len, vm, none, plain);
	}
	if (!ok)
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

enum sandbox_err sandbox_install(const struct vm *vm, int gdb_fd, int gdb_listen_fd)
{
	(void)vm;
	(void)gdb_fd;
	(void)gdb_listen_fd;
	return SANDBOX_EUNSUPPORTED;
}
#endif
