/* What the seccomp filter allows, as data: read by the build-time filter compiler
 * (host/tools/sandbox_gen.c, with libseccomp) and by host/sandbox.c (the vCPU ioctl list it
 * reports). The VMM's fds are not known at build time: the compiled filter compares them with
 * placeholders that sandbox_install replaces by the real fds. */
#ifndef PW_HOST_SANDBOX_RULES_H
#define PW_HOST_SANDBOX_RULES_H

#include <linux/kvm.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>

/* Placeholder fds in the compiled filter. Neither value is a syscall number, an ioctl request or
 * a flag the filter tests, and the compiler checks that each appears only where it belongs. */
#define SANDBOX_FD_VCPU 0x7e1dc0de
#define SANDBOX_FD_VM	0x7e1dc0df
#define SANDBOX_FD_GDB	0x7e1dc0e0
#define SANDBOX_FD_GDB_LISTEN 0x7e1dc0e1
/* Not an fd: the VMM's pid, the only process tgkill may signal (--cpus: one vCPU thread stopping
 * the others). */
#define SANDBOX_PID 0x7e1dc0e2
/* --cpus N > 1: the vCPU fds are VM_VCPU_FD_BASE + id (host/kvm.h), a block of 64 aligned to
 * 64, and the vCPU ioctls are allowed on the block: any vCPU's fd & SANDBOX_VCPU_BLOCK_MASK. Every
 * thread may then read any vCPU's state (the report of the vCPU whose stop ended the run comes
 * from the main thread). */
#define SANDBOX_FD_VCPU_BLOCK	0x7e1dc0c0
#define SANDBOX_VCPU_BLOCK_MASK (~(scmp_datum_t)63)

/* With --gdb only: the connected socket's calls (fcntl for ^C's SIGIO, setsockopt for
 * TCP_NODELAY), and memslot changes on
 * the VM fd (page watchpoints write-protect a page by giving it a read-only slot). Under
 * --inject gdb connects at the injection point, inside the filter: accept4 on the listening
 * socket, and dup3 of the connection onto the fd number reserved for it. */
static const int sandbox_gdb_socket[] = {SYS_recvfrom, SYS_sendto, SYS_fcntl, SYS_setsockopt};
static const unsigned long sandbox_gdb_vm_reqs[] = {KVM_SET_USER_MEMORY_REGION};

/* Every vCPU ioctl a run loop may make: KVM_RUN and the state the loops, the crash report and
 * fault injection read or write (registers, events, guest debug; FPU/XSAVE, XCRs, debug
 * registers and MSRs for snapshot resets, host/vcpu_extra.c). */
static const unsigned long sandbox_vcpu_reqs[] = {
    KVM_RUN,	   KVM_GET_REGS,	KVM_SET_REGS,	     KVM_GET_SREGS,	  KVM_SET_SREGS,
    KVM_TRANSLATE, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, KVM_SET_GUEST_DEBUG, KVM_GET_FPU,
    KVM_SET_FPU,   KVM_GET_MSRS,	KVM_SET_MSRS,	     KVM_GET_XSAVE,	  KVM_SET_XSAVE,
    KVM_GET_XCRS,  KVM_SET_XCRS,	KVM_GET_DEBUGREGS,   KVM_SET_DEBUGREGS,
};

/* --cpus N > 1 only, on top of the above: each vCPU's local APIC and run state, and the in-kernel
 * irqchip's state, for campaign snapshot resets (host/snapshot.c). */
static const unsigned long sandbox_smp_vcpu_reqs[] = {KVM_GET_LAPIC, KVM_SET_LAPIC,
						      KVM_GET_MP_STATE, KVM_SET_MP_STATE};
static const unsigned long sandbox_smp_vm_reqs[] = {KVM_GET_IRQCHIP, KVM_SET_IRQCHIP};

/* VM ioctls: the dirty log (snapshots, fault injection) and nothing that creates or maps. */
static const unsigned long sandbox_vm_reqs[] = {KVM_GET_DIRTY_LOG};

/* Syscalls allowed with any arguments: output, memory for malloc/free (never executable: mmap
 * and mprotect get their own rules), --timeout's timer and signal, the clock, and exiting. */
static const int sandbox_plain[] = {
    SYS_write,
    SYS_writev,
    SYS_close,
    SYS_fstat,
    SYS_newfstatat,
    SYS_brk,
    SYS_munmap,
    SYS_mremap,
    SYS_madvise,
    SYS_rt_sigaction,
    SYS_rt_sigprocmask,
    SYS_rt_sigreturn,
    SYS_rt_sigtimedwait, /* taking a timer's signal still pending at the end of a run */
    SYS_setitimer,
    SYS_getitimer,
    SYS_clock_gettime,
    SYS_gettimeofday,
    SYS_futex,
    SYS_flock, /* the single-step lock (host/steplock.c): campaign workers, triple-fault replays */
    SYS_exit,
    SYS_exit_group,
#ifdef __SANITIZE_ADDRESS__
    /* ASan/LSan at exit: reading /proc/self/maps and stopping the world to scan for leaks. */
    SYS_read,
    SYS_getpid,
    SYS_gettid,
    SYS_rseq,
    SYS_sched_yield,
    SYS_clone,
    SYS_clone3,
    SYS_ptrace,
    SYS_wait4,
    SYS_prctl,
    SYS_sigaltstack,
    SYS_tgkill,
    SYS_getppid,
    SYS_readlink,
    SYS_lseek,
    SYS_pipe2,
    SYS_getrlimit,
    SYS_prlimit64,
    SYS_set_robust_list,
    SYS_mprotect,
    SYS_sched_getaffinity,
    SYS_uname,
    SYS_sysinfo,
    SYS_getrusage,
#endif
};

/* --cpus N > 1 only (the SMP filter): pthread_kill stops the other vCPU threads (getpid, then
 * tgkill to the VMM's own pid, a rule of its own), and a vCPU thread's exit unregisters its
 * restartable sequences. With ASan sandbox_plain has them all. */
static const int sandbox_smp[] = {
    SYS_getpid,
    SYS_gettid,
    SYS_rseq,
};

/* mprotect with any protection that is not executable; with ASan it is in sandbox_plain. */
#ifdef __SANITIZE_ADDRESS__
#define SANDBOX_MPROTECT_NOEXEC 0
#else
#define SANDBOX_MPROTECT_NOEXEC 1
#endif

/* The one tty ioctl: stdio asks whether a stream is a terminal before its first write. */
#define SANDBOX_TTY_IOCTL TCGETS

#define SANDBOX_N(a) (sizeof(a) / sizeof((a)[0]))

#endif
