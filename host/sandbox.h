/* The seccomp sandbox: once the guest is built, the VMM keeps only the syscalls its run loop
 * and its reports need. A guest that takes over the VMM process inherits that cage. */
#ifndef PW_HOST_SANDBOX_H
#define PW_HOST_SANDBOX_H

#include <stdbool.h>

#include "kvm.h"

enum sandbox_err {
	SANDBOX_OK = 0,
	SANDBOX_EUNSUPPORTED, /* built without libseccomp */
	SANDBOX_ESECCOMP,     /* libseccomp refused a rule, or the kernel refused the filter */
};

/* Return a constant description of err. */
const char *sandbox_strerror(enum sandbox_err err);

/* True if this build can install the filter (it was linked with libseccomp). */
bool sandbox_available(void);

/* Install the filter for vm's run loop; call after every file, fd and KVM object the run needs
 * exists (cpu_setup done, --json opened) and before run_guest. gdb_fd >= 0 (--gdb's connected
 * socket, or the fd reserved for it) adds recv/send/fcntl on it, accept4 on gdb_listen_fd (a
 * listening socket still open, or -1) and memslot changes; -1 without. Cannot be undone. Disallowed
 * syscalls kill the process (SIGSYS), except open/openat, which fail with EACCES so that
 * optional file loads (the crash report's disassembler) degrade instead of killing. */
enum sandbox_err sandbox_install(const struct vm *vm, int gdb_fd, int gdb_listen_fd);

/* The ioctl requests the filter allows on the vCPU fd (n entries): for tests and docs. */
const unsigned long *sandbox_vcpu_ioctls(unsigned *n);

#endif
