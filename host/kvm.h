/* The KVM handle: /dev/kvm, one VM, one vCPU with its shared kvm_run page, the CPUID the guest
 * sees, and the memslots that back guest RAM. Raw ioctls from <linux/kvm.h>, nothing else. */
#ifndef PW_HOST_KVM_H
#define PW_HOST_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "memory.h"
#include "pagewarden/layout.h"

#define VM_KVM_DEVICE	   "/dev/kvm"
#define VM_KVM_API_VERSION 12 /* the only stable KVM API there has ever been */

/* Memslot numbers. Without --protect-pt, RAM is slot VM_SLOT_RAM alone; with it, RAM below the
 * page-table pool, the pool (read-only) and RAM above the pool. */
#define VM_SLOT_RAM	 0
#define VM_SLOT_PT_POOL	 1
#define VM_SLOT_RAM_HIGH 2

struct vm {
	int kvm_fd; /* /dev/kvm */
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run; /* shared with KVM: exit reason and exit data */
	size_t run_size;
	unsigned maxphyaddr;	 /* CPUID 0x80000008 EAX[7:0] as KVM offers it */
	bool has_1g;		 /* CPUID 0x80000001 EDX[26]: 1 GiB pages */
	bool has_nx;		 /* CPUID 0x80000001 EDX[20] */
	bool has_readonly_mem;	 /* KVM_CAP_READONLY_MEM */
	bool has_immediate_exit; /* KVM_CAP_IMMEDIATE_EXIT: a signal can kick KVM_RUN race-free */
	bool has_sync_regs;	 /* KVM_CAP_SYNC_REGS with the GPRs: kvm_run carries them at every
				  * exit (kvm_valid_regs set by vm_open) */
	bool has_xsave;		 /* KVM_CAP_XSAVE: KVM_GET/SET_XSAVE (snapshots) */
	bool has_xcrs;		 /* KVM_CAP_XCRS */
	bool has_debugregs;	 /* KVM_CAP_DEBUGREGS */
	struct kvm_guest_debug debug; /* the guest debug control last set (vm_set_guest_debug) */
	unsigned ram_slots;	      /* RAM memslots in use: ids 0 .. ram_slots - 1 */
	/* --cpus: every vCPU; vcpu_fd and run above are those of vCPU `cpu` (vm_cpu_view). With
	 * more than one, the VM has KVM's in-kernel irqchip (a local APIC per vCPU). */
	unsigned ncpus, cpu;
	bool irqchip;
	int vcpu_fds[PW_MAX_CPUS];
	struct kvm_run *runs[PW_MAX_CPUS];
};

enum vm_err {
	VM_OK = 0,
	VM_ENOENT,   /* /dev/kvm does not exist */
	VM_EACCES,   /* /dev/kvm exists but this user may not open it */
	VM_EOPEN,    /* opening /dev/kvm failed otherwise */
	VM_EVERSION, /* KVM_GET_API_VERSION is not 12 */
	VM_ENOCAP,   /* a capability the VMM needs is missing */
	VM_EIOCTL,   /* a KVM call failed */
	VM_ERR_COUNT
};

/* What went wrong, with the call and errno, ready to print after "vmm: ". */
struct vm_error {
	enum vm_err err;
	char detail[256];
};

/* Return a constant description of err. */
const char *vm_strerror(enum vm_err err);

/* Name of a KVM exit reason as the KVM API spells it without KVM_EXIT_ ("IO", "SHUTDOWN");
 * "UNKNOWN_REASON" for numbers this table does not know. */
const char *vm_exit_name(unsigned reason);

/* Name of a KVM_EXIT_INTERNAL_ERROR suberror ("emulation failure"); "unknown suberror" if new. */
const char *vm_internal_error_name(unsigned suberror);

/* Open /dev/kvm, check the API version, create the VM and its vCPU, map kvm_run and give the
 * vCPU the CPUID KVM supports (NX, 1 GiB pages, MAXPHYADDR recorded in vm). On error every fd
 * opened so far is closed. */
enum vm_err vm_open(struct vm *vm, struct vm_error *e);

/* vm_open with ncpus vCPUs (1..PW_MAX_CPUS) and, for more than one, KVM_CREATE_IRQCHIP first. */
enum vm_err vm_open_cpus(struct vm *vm, unsigned ncpus, struct vm_error *e);

/* Fill *view with vm seen from vCPU cpu: its vcpu_fd and run. A view shares vm's fds and must
 * not be closed. */
void vm_cpu_view(const struct vm *vm, unsigned cpu, struct vm *view);

/* Make vCPU cpu of vm runnable now (an AP waits for INIT/SIPI under the in-kernel irqchip). */
enum vm_err vm_cpu_runnable(const struct vm *vm, unsigned cpu, struct vm_error *e);

/* --cpus N > 1: vCPU k's fd is VM_VCPU_FD_BASE + k, a block of PW_MAX_CPUS aligned to it, so
 * that the seccomp filter can allow the whole block (host/sandbox_rules.h). Below 1024, the
 * usual soft limit of open files. */
#define VM_VCPU_FD_BASE 960
_Static_assert(VM_VCPU_FD_BASE % PW_MAX_CPUS == 0, "the vCPU fd block must be aligned");

#define VM_RAM_SLOTS_MAX 3

/* One memslot of guest RAM: guest-physical [gpa, gpa + size) is mem->host + gpa. */
struct vm_slot {
	unsigned slot;
	uint64_t gpa, size;
	bool readonly;
};

/* The memslots that back mem: [0, mem->size) as VM_SLOT_RAM alone, or with protect_pt three
 * (RAM below the page-table pool, the read-only pool, RAM above it). Fills out (room for
 * VM_RAM_SLOTS_MAX) and returns how many. */
unsigned vm_ram_slots(const struct guest_mem *mem, bool protect_pt, struct vm_slot *out);

/* Back guest-physical [0, mem->size) with mem, in the slots vm_ram_slots names. With
 * protect_pt the pool slot is read-only (needs KVM_CAP_READONLY_MEM: VM_ENOCAP without it);
 * with log_dirty KVM logs the pages the guest writes in the writable slots (KVM_GET_DIRTY_LOG).
 * Call after vm_open, before the first KVM_RUN. */
enum vm_err vm_map_ram(struct vm *vm, const struct guest_mem *mem, bool protect_pt, bool log_dirty,
		       struct vm_error *e);

/* A page carved out of guest RAM's memslots for gdb's page watchpoints: read-only (the guest's
 * writes to it exit as KVM_EXIT_MMIO) or a hole (every access exits, reads too). */
struct vm_page_guard {
	uint64_t gpa; /* page-aligned, in writable RAM */
	bool hole;
};

/* Most pages vm_map_ram_guarded carves out. */
#define VM_GUARD_PAGES_MAX 16

/* Lay the RAM memslots out again: as vm_map_ram(protect_pt, no dirty log) would, but with each
 * page of pages[0..n) (sorted by gpa) read-only in a slot of its own, or left without a slot.
 * n = 0 restores the plain layout. The vCPU must not be running. After a failure guest RAM may
 * be partly unmapped: call again (with fewer pages, or none) to put it back. */
enum vm_err vm_map_ram_guarded(struct vm *vm, const struct guest_mem *mem, bool protect_pt,
			       const struct vm_page_guard *pages, unsigned n, struct vm_error *e);

/* ioctl req on vm's vCPU; on failure record "name: strerror(errno)" in e and return VM_EIOCTL. */
enum vm_err vm_vcpu_ioctl(const struct vm *vm, unsigned long req, void *arg, const char *name,
			  struct vm_error *e);

/* vm_vcpu_ioctl naming the request after its macro (KVM_GET_REGS). */
#define VCPU_IOCTL(vm, req, arg, e) vm_vcpu_ioctl((vm), (req), (arg), #req, (e))

/* Breakpoint conditions in DR7's R/W fields. */
enum vm_dr_rw {
	VM_DR_EXEC = 0,	  /* instruction fetch (length 1) */
	VM_DR_WRITE = 1,  /* data writes */
	VM_DR_ACCESS = 3, /* data reads and writes */
};

/* DR7's bits enabling breakpoint i (0..3, local) for rw over len bytes (1, 2, 4 or 8). */
uint64_t vm_dr7_enable(unsigned i, enum vm_dr_rw rw, unsigned len);

/* KVM_SET_GUEST_DEBUG with dbg, kept in vm->debug. Returns the ioctl's result (errno set). */
int vm_set_guest_debug(struct vm *vm, const struct kvm_guest_debug *dbg);

/* The vCPU's MSR index into *value (KVM_GET_MSRS of one entry); 0, or -1 if KVM did not read it. */
int vm_get_msr(const struct vm *vm, uint32_t index, uint64_t *value);

/* Write value to the vCPU's MSR index (KVM_SET_MSRS of one entry); 0, or -1 if KVM refused. */
int vm_set_msr(const struct vm *vm, uint32_t index, uint64_t value);

/* KVM_SET_REGS with regs. While single-stepping, guest debug is set again: standard KVM arms a
 * step for the RIP it had when guest debug was set, and drops TF from RFLAGS written at any
 * other RIP, so a VMM that moves RIP mid-trace would stop stepping (PVM keeps it). */
int vm_set_regs(struct vm *vm, const struct kvm_regs *regs);

/* Finish what KVM left pending at exit last_exit without entering the guest (KVM_RUN with
 * immediate_exit). At an I/O or MMIO exit, standard KVM completes the instruction, for an `out`
 * by moving RIP past it, only at the next KVM_RUN, where PVM had done it before the exit; after
 * this call the vCPU state is the same on both (docs/platforms.md). A no-op for other exits. */
enum vm_err vm_complete_exit(struct vm *vm, unsigned last_exit, struct vm_error *e);

/* Release the vCPU, the VM and /dev/kvm. Safe after a failed vm_open and when called twice. */
void vm_close(struct vm *vm);

#endif
