/* Snapshot and dirty-page reset. */
#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "pagewarden/layout.h"

#define SNAP_PAGE 4096ull

static enum vm_err snap_fail(struct vm_error *e, const char *what)
{
	e->err = VM_EIOCTL;
	snprintf(e->detail, sizeof(e->detail), "snapshot: %s: %s", what, strerror(errno));
	return VM_EIOCTL;
}

/* Re-register the RAM slot with KVM_MEM_LOG_DIRTY_PAGES: KVM allows changing a slot's flags. */
static enum vm_err snap_log_dirty(struct vm *vm, const struct guest_mem *mem, struct vm_error *e)
{
	struct kvm_userspace_memory_region region = {
	    .slot = VM_SLOT_RAM,
	    .flags = KVM_MEM_LOG_DIRTY_PAGES,
	    .guest_phys_addr = 0,
	    .memory_size = mem->size,
	    .userspace_addr = (uint64_t)(uintptr_t)mem->host,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return snap_fail(e, "KVM_SET_USER_MEMORY_REGION (log dirty pages)");
	return VM_OK;
}

/* Fetch (and so clear) the dirty bitmap. */
static enum vm_err snap_dirty_log(struct snapshot *s, struct vm *vm, struct vm_error *e)
{
	struct kvm_dirty_log log = {.slot = VM_SLOT_RAM, .dirty_bitmap = s->bitmap};

	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0)
		return snap_fail(e, "KVM_GET_DIRTY_LOG");
	return VM_OK;
}

static enum vm_err snap_vcpu(struct vm *vm, unsigned long req, void *arg, const char *name,
			     struct vm_error *e)
{
	return ioctl(vm->vcpu_fd, req, arg) < 0 ? snap_fail(e, name) : VM_OK;
}

enum vm_err snapshot_take(struct snapshot *s, struct vm *vm, const struct guest_mem *mem,
			  struct vm_error *e)
{
	uint64_t pages = mem->size / SNAP_PAGE;
	enum vm_err err;

	memset(s, 0, sizeof(*s));
	s->size = mem->size;
	s->ram = malloc(mem->size);
	s->bitmap = calloc((pages + 63) / 64, sizeof(uint64_t));
	if (!s->ram || !s->bitmap) {
		errno = ENOMEM;
		return snap_fail(e, "copy of guest RAM");
	}
	if ((err = snap_log_dirty(vm, mem, e)) ||
	    (err = snap_vcpu(vm, KVM_GET_REGS, &s->regs, "KVM_GET_REGS", e)) ||
	    (err = snap_vcpu(vm, KVM_GET_SREGS, &s->sregs, "KVM_GET_SREGS", e)) ||
	    (err = snap_vcpu(vm, KVM_GET_VCPU_EVENTS, &s->events, "KVM_GET_VCPU_EVENTS", e)))
		return err;
	memcpy(s->ram, mem->host, mem->size);
	return snap_dirty_log(s, vm, e);
}

void snapshot_note_host_write(struct snapshot *s, uint64_t gpa)
{
	if (s->nhost_dirty < SNAPSHOT_HOST_DIRTY_MAX)
		s->host_dirty[s->nhost_dirty++] = gpa & ~(SNAP_PAGE - 1);
	else
		s->host_overflow = true;
}

/* Copy page gpa back from the snapshot; true if it holds page tables (the MMU must reset). */
static bool snap_copy_page(struct snapshot *s, const struct guest_mem *mem, uint64_t gpa)
{
	memcpy(mem->host + gpa, s->ram + gpa, SNAP_PAGE);
	s->pages_restored++;
	return gpa >= PW_PT_POOL_GPA && gpa < PW_PT_POOL_GPA + PW_PT_POOL_SIZE;
}

/* Finish a pending I/O or MMIO completion now (KVM_RUN with immediate_exit returns before
 * entering the guest), so it cannot land on the restored registers at the next entry. */
static enum vm_err snap_flush_pending(struct vm *vm, unsigned last_exit, struct vm_error *e)
{
	if (last_exit != KVM_EXIT_IO && last_exit != KVM_EXIT_MMIO)
		return VM_OK;
	vm->run->immediate_exit = 1;
	if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0 && errno != EINTR) {
		vm->run->immediate_exit = 0;
		return snap_fail(e, "KVM_RUN (completing the last exit)");
	}
	vm->run->immediate_exit = 0;
	return VM_OK;
}

enum vm_err snapshot_restore(struct snapshot *s, struct vm *vm, const struct guest_mem *mem,
			     unsigned last_exit, struct vm_error *e)
{
	uint64_t words = (s->size / SNAP_PAGE + 63) / 64;
	bool tables = false;
	struct kvm_sregs sr;
	enum vm_err err;

	s->pages_restored = 0;
	if ((err = snap_flush_pending(vm, last_exit, e)) || (err = snap_dirty_log(s, vm, e)))
		return err;
	if (s->host_overflow) {
		memcpy(mem->host, s->ram, s->size);
		s->pages_restored = s->size / SNAP_PAGE;
		tables = true;
	} else {
		for (uint64_t w = 0; w < words; w++)
			for (uint64_t bits = s->bitmap[w]; bits; bits &= bits - 1)
				tables |= snap_copy_page(
				    s, mem, (w * 64 + (uint64_t)__builtin_ctzll(bits)) * SNAP_PAGE);
		for (unsigned i = 0; i < s->nhost_dirty; i++)
			tables |= snap_copy_page(s, mem, s->host_dirty[i]);
	}
	s->nhost_dirty = 0;
	s->host_overflow = false;
	/* KVM_SET_SREGS resets the MMU only when CR3/CR0/CR4/EFER change, and this host's shadow
	 * MMU does not see host writes to the tables: after restoring a table page, load a CR3
	 * with PWT toggled first so the real one is a change. */
	if (tables) {
		sr = s->sregs;
		sr.cr3 ^= 1ull << 3;
		if ((err = snap_vcpu(vm, KVM_SET_SREGS, &sr, "KVM_SET_SREGS", e)))
			return err;
	}
	if ((err = snap_vcpu(vm, KVM_SET_SREGS, &s->sregs, "KVM_SET_SREGS", e)) ||
	    (err = snap_vcpu(vm, KVM_SET_REGS, &s->regs, "KVM_SET_REGS", e)))
		return err;
	return snap_vcpu(vm, KVM_SET_VCPU_EVENTS, &s->events, "KVM_SET_VCPU_EVENTS", e);
}

void snapshot_free(struct snapshot *s)
{
	free(s->ram);
	free(s->bitmap);
	s->ram = NULL;
	s->bitmap = NULL;
}
