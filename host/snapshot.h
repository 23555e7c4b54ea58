/* Snapshot and fast reset of a paused VM: the vCPU state (regs, sregs, vcpu events, and the
 * FPU/XSAVE, XCR0, debug-register and MSR state of vcpu_extra.h) and a copy
 * of guest RAM; a reset copies back only the pages KVM's dirty log and the host's own writes
 * name, then reloads the vCPU state. The writable RAM slots must log dirty pages from the
 * start (vm_map_ram with log_dirty), so that taking and using a snapshot needs no memslot
 * change: it works under the sandbox. */
#ifndef PW_HOST_SNAPSHOT_H
#define PW_HOST_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm.h"
#include "memory.h"
#include "vcpu_extra.h"

struct snapshot {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
	struct vcpu_extra extra; /* FPU/XSAVE, XCR0, debug registers, MSRs */
	uint8_t *ram;		 /* copy of guest RAM at the snapshot */
	uint64_t size;		 /* bytes of RAM */
	struct vm_slot slots[VM_RAM_SLOTS_MAX];
	unsigned nslots;
	uint64_t *slot_log[VM_RAM_SLOTS_MAX]; /* KVM_GET_DIRTY_LOG buffer per writable slot */
	uint64_t *restore;	 /* pages to copy back at the next reset, one bit per RAM page */
	uint64_t pages_restored; /* by the last reset */
};

/* A later state of the same VM kept as its difference from the snapshot: the vCPU state and the
 * pages written since. Fast-forward: an experiment can start there instead. */
struct snapshot_delta {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
	struct vcpu_extra extra;
	uint64_t npages;
	uint64_t *gpa; /* the pages that differ from the snapshot's, as guest-physical addresses */
	uint8_t *data; /* their contents now, npages x 4 KiB */
};

/* Record vCPU state and RAM of vm (vCPU paused at exit last_exit, which is completed first:
 * vm_complete_exit), whose RAM was mapped with vm_map_ram(vm, mem, protect_pt, true, ...). On
 * error e says why. */
enum vm_err snapshot_take(struct snapshot *s, struct vm *vm, const struct guest_mem *mem,
			  bool protect_pt, unsigned last_exit, struct vm_error *e);

/* Remember that the host wrote guest RAM [gpa, gpa + len) (KVM does not log it). */
void snapshot_note_host_write(struct snapshot *s, uint64_t gpa, uint64_t len);

/* Record vm's state now as a delta from s into *d: the vCPU (paused between exits, no exit
 * pending) and every page written since the last reset, as KVM logged it and the host noted it
 * (snapshot_note_host_write). Those stay due for the next reset. */
enum vm_err snapshot_delta_take(struct snapshot *s, struct vm *vm, const struct guest_mem *mem,
				struct snapshot_delta *d, struct vm_error *e);

/* Free what d holds. */
void snapshot_delta_free(struct snapshot_delta *d);

/* Bring vm back to the snapshot, or with d to that later state. last_exit is the KVM exit the
 * vCPU stopped on: an I/O or MMIO exit leaves a completion pending that must be flushed before
 * the state is loaded. */
enum vm_err snapshot_restore(struct snapshot *s, struct vm *vm, const struct guest_mem *mem,
			     unsigned last_exit, const struct snapshot_delta *d,
			     struct vm_error *e);

/* Free the copies. */
void snapshot_free(struct snapshot *s);

#endif
