/* Snapshot and fast reset of a paused VM: each vCPU's state (regs, sregs, vcpu events, the
 * FPU/XSAVE, XCR0, debug-register and MSR state of vcpu_extra.h; with --cpus its local APIC and
 * run state, and the irqchip's) and a copy of guest RAM; a reset copies back only the pages
 * KVM's dirty log and the host's own writes name, then reloads the vCPU state. The writable
 * RAM slots must log dirty pages from the start (vm_map_ram with log_dirty), so that taking and
 * using a snapshot needs no memslot change: it works under the sandbox. */
#ifndef PW_HOST_SNAPSHOT_H
#define PW_HOST_SNAPSHOT_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm.h"
#include "memory.h"
#include "vcpu_extra.h"

/* One vCPU's state. With the in-kernel irqchip (--cpus N > 1) also its local APIC and its run
 * state (running, halted). */
struct snapshot_cpu {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_vcpu_events events;
	struct vcpu_extra extra; /* FPU/XSAVE, XCR0, debug registers, MSRs */
	bool apic;		 /* lapic and mp below hold state */
	struct kvm_lapic_state lapic;
	struct kvm_mp_state mp;
};

/* The in-kernel irqchip's chips: the two PICs and the IOAPIC (KVM_GET_IRQCHIP's chip_id). */
#define SNAPSHOT_IRQCHIPS 3

struct snapshot {
	unsigned ncpus;
	struct snapshot_cpu *cpus; /* [k]: vCPU k's state, ncpus of them */
	bool irqchip;		   /* the VM has the in-kernel irqchip: chips hold its state */
	struct kvm_irqchip chips[SNAPSHOT_IRQCHIPS];
	uint8_t *ram;		 /* copy of guest RAM at the snapshot */
	uint64_t size;		 /* bytes of RAM */
	struct vm_slot slots[VM_RAM_SLOTS_MAX];
	unsigned nslots;
	uint64_t *slot_log[VM_RAM_SLOTS_MAX]; /* KVM_GET_DIRTY_LOG buffer per writable slot */
	uint64_t *restore;	 /* pages to copy back at the next reset, one bit per RAM page */
	uint64_t pages_restored; /* by the last reset */
	bool tables_restored;	 /* ... and one of them held page tables (snapshot_restore_cpu) */
};

/* A later state of the same VM kept as its difference from the snapshot: the vCPU state and the
 * pages written since. Fast-forward: an experiment can start there instead. One vCPU only. */
struct snapshot_delta {
	struct snapshot_cpu cpu;
	uint64_t npages;
	uint64_t *gpa; /* the pages that differ from the snapshot's, as guest-physical addresses */
	uint8_t *data; /* their contents now, npages x 4 KiB */
};

/* Record the state of every vCPU of vm, its irqchip and its RAM. vm is vCPU 0's view, paused at
 * exit last_exit, which is completed first (vm_complete_exit); the other vCPUs are paused with
 * no exit pending. RAM was mapped with vm_map_ram(vm, mem, protect_pt, true, ...). On error e
 * says why. */
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

/* Bring vm's RAM, irqchip and vCPU 0 (vm is its view) back to the snapshot, or with d (one vCPU)
 * to that later state. last_exit is the KVM exit vCPU 0 stopped on: an I/O or MMIO exit leaves a
 * completion pending that must be flushed before the state is loaded. The other vCPUs follow
 * with snapshot_restore_cpu. */
enum vm_err snapshot_restore(struct snapshot *s, struct vm *vm, const struct guest_mem *mem,
			     unsigned last_exit, const struct snapshot_delta *d,
			     struct vm_error *e);

/* After snapshot_restore: bring vCPU cpu (>= 1; view is its view, no exit pending) back to the
 * snapshot. Call it on the vCPU's own thread: KVM makes a vCPU that changes threads costly. */
enum vm_err snapshot_restore_cpu(const struct snapshot *s, struct vm *view, unsigned cpu,
				 struct vm_error *e);

/* Free the copies. */
void snapshot_free(struct snapshot *s);

#endif
