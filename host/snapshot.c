/* Snapshot and dirty-page reset. */
#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpu.h"
#include "pagewarden/layout.h"

#define SNAP_PAGE 4096ull

static enum vm_err snap_fail(struct vm_error *e, const char *what)
{
	e->err = VM_EIOCTL;
	snprintf(e->detail, sizeof(e->detail), "snapshot: %s: %s", what, strerror(errno));
	return VM_EIOCTL;
}

/* 64-bit words of a bitmap with one bit per page of bytes. */
static uint64_t snap_words(uint64_t bytes)
{
	return (bytes / SNAP_PAGE + 63) / 64;
}

/* Fetch (and so clear) the dirty log of every writable slot into s->restore. */
static enum vm_err snap_dirty_log(struct snapshot *s, struct vm *vm, struct vm_error *e)
{
	for (unsigned i = 0; i < s->nslots; i++) {
		const struct vm_slot *sl = &s->slots[i];
		struct kvm_dirty_log log = {.slot = sl->slot, .dirty_bitmap = s->slot_log[i]};
		uint64_t first = sl->gpa / SNAP_PAGE;

		if (sl->readonly)
			continue;
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
			return snap_fail(e, "KVM_GET_DIRTY_LOG");
		for (uint64_t w = 0; w < snap_words(sl->size); w++)
			for (uint64_t bits = s->slot_log[i][w]; bits; bits &= bits - 1) {
				uint64_t page = first + w * 64 + (uint64_t)__builtin_ctzll(bits);

				s->restore[page / 64] |= 1ull << (page % 64);
			}
	}
	return VM_OK;
}

static enum vm_err snap_vcpu(struct vm *vm, unsigned long req, void *arg, const char *name,
			     struct vm_error *e)
{
	return ioctl(vm->vcpu_fd, req, arg) < 0 ? snap_fail(e, name) : VM_OK;
}

/* Read the state of view's vCPU (paused, no exit pending) into *c; with apic, its local APIC
 * and run state too. like: as vcpu_extra_get. */
static enum vm_err snap_cpu_get(struct vm *view, struct snapshot_cpu *c, bool apic,
				const struct vcpu_extra *like, struct vm_error *e)
{
	enum vm_err err;

	c->apic = apic;
	if ((err = snap_vcpu(view, KVM_GET_REGS, &c->regs, "KVM_GET_REGS", e)) ||
	    (err = snap_vcpu(view, KVM_GET_SREGS, &c->sregs, "KVM_GET_SREGS", e)) ||
	    (err = snap_vcpu(view, KVM_GET_VCPU_EVENTS, &c->events, "KVM_GET_VCPU_EVENTS", e)) ||
	    (err = vcpu_extra_get(view, &c->extra, like, e)) || !apic)
		return err;
	if ((err = snap_vcpu(view, KVM_GET_LAPIC, &c->lapic, "KVM_GET_LAPIC", e)))
		return err;
	return snap_vcpu(view, KVM_GET_MP_STATE, &c->mp, "KVM_GET_MP_STATE", e);
}

/* Load *c into view's vCPU. A shadow MMU does not see host writes to the tables: with
 * reset_mmu (a table page was restored) the sregs go in with an MMU reset
 * (cpu_set_sregs_reset_mmu). The APIC (whose mode the sregs' APIC base sets) and the run state
 * go before the events, which may hold an interrupt the APIC delivered; the extra state last,
 * as with one vCPU before there was an APIC to restore. */
static enum vm_err snap_cpu_set(struct vm *view, const struct snapshot_cpu *c, bool reset_mmu,
				struct vm_error *e)
{
	struct kvm_sregs sr = c->sregs;
	struct kvm_regs regs = c->regs;
	struct kvm_vcpu_events events = c->events;
	struct kvm_lapic_state lapic = c->lapic;
	struct kvm_mp_state mp = c->mp;
	enum vm_err err;

	err = reset_mmu ? cpu_set_sregs_reset_mmu(view, &sr, e)
			: snap_vcpu(view, KVM_SET_SREGS, &sr, "KVM_SET_SREGS", e);
	if (err || (err = snap_vcpu(view, KVM_SET_REGS, &regs, "KVM_SET_REGS", e)))
		return err;
	if (c->apic && ((err = snap_vcpu(view, KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC", e)) ||
			(err = snap_vcpu(view, KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE", e))))
		return err;
	if ((err = snap_vcpu(view, KVM_SET_VCPU_EVENTS, &events, "KVM_SET_VCPU_EVENTS", e)))
		return err;
	return vcpu_extra_set(view, &c->extra, e);
}

/* Read (set false) or load (set true) the irqchip's chips. */
static enum vm_err snap_irqchip(struct snapshot *s, struct vm *vm, bool set, struct vm_error *e)
{
	for (unsigned i = 0; i < SNAPSHOT_IRQCHIPS; i++) {
		s->chips[i].chip_id = i;
		if (ioctl(vm->vm_fd, set ? KVM_SET_IRQCHIP : KVM_GET_IRQCHIP, &s->chips[i]) < 0)
			return snap_fail(e, set ? "KVM_SET_IRQCHIP" : "KVM_GET_IRQCHIP");
	}
	return VM_OK;
}

enum vm_err snapshot_take(struct snapshot *s, struct vm *vm, const struct guest_mem *mem,
			  bool protect_pt, unsigned last_exit, struct vm_error *e)
{
	enum vm_err err;
	struct vm view;

	memset(s, 0, sizeof(*s));
	s->size = mem->size;
	s->nslots = vm_ram_slots(mem, protect_pt, s->slots);
	s->ncpus = vm->ncpus ? vm->ncpus : 1;
	s->irqchip = vm->irqchip;
	s->ram = malloc(mem->size);
	s->restore = calloc(snap_words(mem->size), sizeof(uint64_t));
	s->cpus = calloc(s->ncpus, sizeof(*s->cpus));
	if (!s->ram || !s->restore || !s->cpus) {
		errno = ENOMEM;
		return snap_fail(e, "copy of guest RAM");
	}
	for (unsigned i = 0; i < s->nslots; i++) {
		s->slot_log[i] = calloc(snap_words(s->slots[i].size), sizeof(uint64_t));
		if (!s->slot_log[i]) {
			errno = ENOMEM;
			return snap_fail(e, "dirty log");
		}
	}
	/* The state after the exit's instruction, the same on every KVM */
	if ((err = vm_complete_exit(vm, last_exit, e)) ||
	    (err = snap_cpu_get(vm, &s->cpus[0], s->irqchip, NULL, e)))
		return err;
	for (unsigned k = 1; k < s->ncpus; k++) {
		vm_cpu_view(vm, k, &view);
		if ((err = snap_cpu_get(&view, &s->cpus[k], s->irqchip, NULL, e)))
			return err;
	}
	if (s->irqchip && (err = snap_irqchip(s, vm, false, e)))
		return err;
	memcpy(s->ram, mem->host, mem->size);
	/* What the boot wrote is in the copy: start the log afresh. */
	err = snap_dirty_log(s, vm, e);
	memset(s->restore, 0, snap_words(mem->size) * sizeof(uint64_t));
	return err;
}

void snapshot_note_host_write(struct snapshot *s, uint64_t gpa, uint64_t len)
{
	if (!len || gpa >= s->size)
		return;
	if (len > s->size - gpa)
		len = s->size - gpa;
	for (uint64_t p = gpa / SNAP_PAGE; p <= (gpa + len - 1) / SNAP_PAGE; p++)
		s->restore[p / 64] |= 1ull << (p % 64);
}

/* True if the page at gpa is in the page-table pool. */
static bool snap_is_table(uint64_t gpa)
{
	return gpa >= PW_PT_POOL_GPA && gpa < PW_PT_POOL_GPA + PW_PT_POOL_SIZE;
}

/* Copy every page marked in s->restore back from the copy and clear the marks; true if one of
 * them holds page tables (the MMU must then reset). */
static bool snap_copy_marked(struct snapshot *s, const struct guest_mem *mem)
{
	bool tables = false;

	s->pages_restored = 0;
	for (uint64_t w = 0; w < snap_words(s->size); w++) {
		for (uint64_t bits = s->restore[w]; bits; bits &= bits - 1) {
			uint64_t gpa = (w * 64 + (uint64_t)__builtin_ctzll(bits)) * SNAP_PAGE;

			memcpy(mem->host + gpa, s->ram + gpa, SNAP_PAGE);
			s->pages_restored++;
			tables |= snap_is_table(gpa);
		}
		s->restore[w] = 0;
	}
	return tables;
}

/* Write d's pages over the snapshot's (a host write: due again at the next reset); true if one
 * holds page tables. */
static bool snap_copy_delta(struct snapshot *s, const struct guest_mem *mem,
			    const struct snapshot_delta *d)
{
	bool tables = false;

	for (uint64_t i = 0; i < d->npages; i++) {
		memcpy(mem->host + d->gpa[i], d->data + i * SNAP_PAGE, SNAP_PAGE);
		snapshot_note_host_write(s, d->gpa[i], SNAP_PAGE);
		tables |= snap_is_table(d->gpa[i]);
	}
	s->pages_restored += d->npages;
	return tables;
}

enum vm_err snapshot_delta_take(struct snapshot *s, struct vm *vm, const struct guest_mem *mem,
				struct snapshot_delta *d, struct vm_error *e)
{
	uint64_t n = 0, i = 0;
	enum vm_err err;

	memset(d, 0, sizeof(*d));
	if ((err = snap_dirty_log(s, vm, e)))
		return err;
	for (uint64_t w = 0; w < snap_words(s->size); w++)
		n += (uint64_t)__builtin_popcountll(s->restore[w]);
	d->gpa = malloc((n ? n : 1) * sizeof(*d->gpa));
	d->data = malloc((n ? n : 1) * SNAP_PAGE);
	if (!d->gpa || !d->data) {
		snapshot_delta_free(d);
		errno = ENOMEM;
		return snap_fail(e, "copy of the changed pages");
	}
	for (uint64_t w = 0; w < snap_words(s->size); w++)
		for (uint64_t bits = s->restore[w]; bits; bits &= bits - 1, i++) {
			d->gpa[i] = (w * 64 + (uint64_t)__builtin_ctzll(bits)) * SNAP_PAGE;
			memcpy(d->data + i * SNAP_PAGE, mem->host + d->gpa[i], SNAP_PAGE);
		}
	d->npages = n;
	if ((err = snap_cpu_get(vm, &d->cpu, false, &s->cpus[0].extra, e)))
		snapshot_delta_free(d);
	return err;
}

void snapshot_delta_free(struct snapshot_delta *d)
{
	free(d->gpa);
	free(d->data);
	d->gpa = NULL;
	d->data = NULL;
	d->npages = 0;
}

enum vm_err snapshot_restore(struct snapshot *s, struct vm *vm, const struct guest_mem *mem,
			     unsigned last_exit, const struct snapshot_delta *d, struct vm_error *e)
{
	enum vm_err err;

	if ((err = vm_complete_exit(vm, last_exit, e)) || (err = snap_dirty_log(s, vm, e)))
		return err;
	s->tables_restored = snap_copy_marked(s, mem);
	if (d)
		s->tables_restored |= snap_copy_delta(s, mem, d);
	if (s->irqchip && (err = snap_irqchip(s, vm, true, e)))
		return err;
	return snap_cpu_set(vm, d ? &d->cpu : &s->cpus[0], s->tables_restored, e);
}

enum vm_err snapshot_restore_cpu(const struct snapshot *s, struct vm *view, unsigned cpu,
				 struct vm_error *e)
{
	return snap_cpu_set(view, &s->cpus[cpu], s->tables_restored, e);
}

void snapshot_free(struct snapshot *s)
{
	free(s->ram);
	free(s->restore);
	free(s->cpus);
	for (unsigned i = 0; i < s->nslots; i++)
		free(s->slot_log[i]);
	memset(s, 0, sizeof(*s));
}
