/* Snapshot and fast reset of a paused VM: the vCPU state (regs, sregs, vcpu events) and a copy
 * of guest RAM; a reset copies back only the pages KVM's dirty log and the host's own writes
 * name, then reloads the vCPU state. Needs the single RAM slot (no --protect-pt). */
#ifndef PW_HOST_SNAPSHOT_H
#define PW_HOST_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm.h"
#include "memory.h"

#define SNAPSHOT_HOST_DIRTY_MAX 64 /* host-written pages remembered between resets */

struct snapshot {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
	uint8_t *ram;	     /* copy of guest RAM at the snapshot */
	uint64_t size;	     /* bytes of RAM */
	uint64_t *bitmap;    /* KVM_GET_DIRTY_LOG buffer, one bit per page */
	uint64_t host_dirty[SNAPSHOT_HOST_DIRTY_MAX];
	unsigned nhost_dirty;
	bool host_overflow;  /* more host writes than remembered: restore all RAM */
	uint64_t pages_restored; /* by the last reset */
};

/* Turn on dirty logging for vm's RAM slot and record vCPU state and RAM (vCPU paused between
 * exits). On error e says why. */
enum vm_err snapshot_take(struct snapshot *s, struct vm *vm, const struct guest_mem *mem,
			  struct vm_error *e);

/* Remember that the host wrote guest RAM at gpa (not in KVM's dirty log). */
void snapshot_note_host_write(struct snapshot *s, uint64_t gpa);

/* Bring vm back to the snapshot. last_exit is the KVM exit the vCPU stopped on: an I/O or MMIO
 * exit leaves a completion pending that must be flushed before the state is loaded. */
enum vm_err snapshot_restore(struct snapshot *s, struct vm *vm, const struct guest_mem *mem,
			     unsigned last_exit, struct vm_error *e);

/* Free the copies. */
void snapshot_free(struct snapshot *s);

#endif
