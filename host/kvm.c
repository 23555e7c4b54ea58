/* The KVM handle: /dev/kvm, the VM, its one vCPU, CPUID and memslots. */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pagewarden/layout.h"

#define CPUID_EXT_FEATURES  0x80000001u
#define CPUID_EXT_ADDR_SIZE 0x80000008u
#define CPUID_EDX_NX	    (1u << 20)
#define CPUID_EDX_PDPE1GB   (1u << 26)
#define CPUID_MAX_ENTRIES   256 /* KVM offers ~50-100 leaves today; E2BIG means grow */

const char *vm_strerror(enum vm_err err)
{
	static const char *const names[VM_ERR_COUNT] = {
	    [VM_OK] = "success",
	    [VM_ENOENT] = "KVM is not available",
	    [VM_EACCES] = "no permission to use KVM",
	    [VM_EOPEN] = "cannot open KVM",
	    [VM_EVERSION] = "unsupported KVM API version",
	    [VM_ENOCAP] = "KVM lacks a needed capability",
	    [VM_EIOCTL] = "a KVM call failed",
	};
	return (unsigned)err < VM_ERR_COUNT ? names[err] : "unknown KVM error";
}

/* The numbers are the stable KVM ABI; the newest reasons are written as numbers because older
 * <linux/kvm.h> versions (e.g. Linux 5.15 on CI runners) lack their macros. */
static const char *const vm_exit_names[] = {
    [KVM_EXIT_UNKNOWN] = "UNKNOWN",
    [KVM_EXIT_EXCEPTION] = "EXCEPTION",
    [KVM_EXIT_IO] = "IO",
    [KVM_EXIT_HYPERCALL] = "HYPERCALL",
    [KVM_EXIT_DEBUG] = "DEBUG",
    [KVM_EXIT_HLT] = "HLT",
    [KVM_EXIT_MMIO] = "MMIO",
    [KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
    [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
    [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
    [KVM_EXIT_INTR] = "INTR",
    [KVM_EXIT_SET_TPR] = "SET_TPR",
    [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
    [KVM_EXIT_S390_SIEIC] = "S390_SIEIC",
    [KVM_EXIT_S390_RESET] = "S390_RESET",
    [KVM_EXIT_DCR] = "DCR",
    [KVM_EXIT_NMI] = "NMI",
    [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
    [KVM_EXIT_OSI] = "OSI",
    [KVM_EXIT_PAPR_HCALL] = "PAPR_HCALL",
    [KVM_EXIT_S390_UCONTROL] = "S390_UCONTROL",
    [KVM_EXIT_WATCHDOG] = "WATCHDOG",
    [KVM_EXIT_S390_TSCH] = "S390_TSCH",
    [KVM_EXIT_EPR] = "EPR",
    [KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
    [KVM_EXIT_S390_STSI] = "S390_STSI",
    [KVM_EXIT_IOAPIC_EOI] = "IOAPIC_EOI",
    [KVM_EXIT_HYPERV] = "HYPERV",
    [KVM_EXIT_ARM_NISV] = "ARM_NISV",
    [KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
    [KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
    [KVM_EXIT_DIRTY_RING_FULL] = "DIRTY_RING_FULL",
    [KVM_EXIT_AP_RESET_HOLD] = "AP_RESET_HOLD",
    [KVM_EXIT_X86_BUS_LOCK] = "X86_BUS_LOCK",
    [34] = "XEN",
    [35] = "RISCV_SBI",
    [36] = "RISCV_CSR",
    [37] = "NOTIFY",
    [38] = "LOONGARCH_IOCSR",
    [39] = "MEMORY_FAULT",
};

const char *vm_exit_name(unsigned reason)
{
	if (reason < sizeof(vm_exit_names) / sizeof(vm_exit_names[0]) && vm_exit_names[reason])
		return vm_exit_names[reason];
	return "UNKNOWN_REASON";
}

const char *vm_internal_error_name(unsigned suberror)
{
	static const char *const names[] = {
	    [KVM_INTERNAL_ERROR_EMULATION] = "emulation failure",
	    [KVM_INTERNAL_ERROR_SIMUL_EX] = "exception while delivering an exception",
	    [KVM_INTERNAL_ERROR_DELIVERY_EV] = "exit while delivering an event",
	    [KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON] = "unexpected hardware exit reason",
	};
	if (suberror < sizeof(names) / sizeof(names[0]) && names[suberror])
		return names[suberror];
	return "unknown suberror";
}

/* Record err with a formatted detail; returns err so callers can `return vm_fail(...)`. */
__attribute__((format(printf, 3, 4))) static enum vm_err
vm_fail(struct vm_error *e, enum vm_err err, const char *fmt, ...)
{
	va_list ap;

	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	return err;
}

/* Open /dev/kvm, telling the user how to fix the usual reasons it fails. */
static enum vm_err vm_open_device(struct vm *vm, struct vm_error *e)
{
	vm->kvm_fd = open(VM_KVM_DEVICE, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd >= 0)
		return VM_OK;
	switch (errno) {
	case ENOENT:
	case ENXIO:
	case ENODEV:
		return vm_fail(e, VM_ENOENT,
			       "%s: %s: load the KVM module (modprobe kvm_intel or kvm_amd) and "
			       "enable virtualization (VT-x/AMD-V) in the firmware",
			       VM_KVM_DEVICE, strerror(errno));
	case EACCES:
	case EPERM:
		return vm_fail(
		    e, VM_EACCES,
		    "%s: %s: add your user to the kvm group (sudo usermod -aG kvm $USER, "
		    "then log in again) or check the device's permissions",
		    VM_KVM_DEVICE, strerror(errno));
	default:
		return vm_fail(e, VM_EOPEN, "%s: %s", VM_KVM_DEVICE, strerror(errno));
	}
}

/* Check the API version and the capabilities the VMM depends on or can use. */
static enum vm_err vm_check_api(struct vm *vm, struct vm_error *e)
{
	int version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);

	if (version != VM_KVM_API_VERSION)
		return vm_fail(e, VM_EVERSION, "%s: API version %d, need %d", VM_KVM_DEVICE,
			       version, VM_KVM_API_VERSION);
	vm->has_readonly_mem = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
	vm->has_immediate_exit = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) > 0;
	vm->has_sync_regs =
	    (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_REGS) != 0;
	vm->has_xsave = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0;
	vm->has_xcrs = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0;
	vm->has_debugregs = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS) > 0;
	return VM_OK;
}

/* Create vCPU id and map its kvm_run page (size bytes). */
static enum vm_err vm_create_vcpu(struct vm *vm, unsigned id, int size, struct vm_error *e)
{
	struct kvm_run *run;

	int fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);

	if (fd < 0)
		return vm_fail(e, VM_EIOCTL, "KVM_CREATE_VCPU %u: %s", id, strerror(errno));
	if (vm->ncpus > 1) { /* into the block the sandbox allows (VM_VCPU_FD_BASE) */
		int moved;

		if (fcntl(VM_VCPU_FD_BASE + (int)id, F_GETFD) != -1) {
			close(fd);
			return vm_fail(e, VM_EIOCTL,
				       "--cpus: fd %d, where vCPU %u's fd goes, is already open",
				       VM_VCPU_FD_BASE + (int)id, id);
		}
		moved = dup3(fd, VM_VCPU_FD_BASE + (int)id, O_CLOEXEC);

		close(fd);
		if (moved < 0)
			return vm_fail(e, VM_EIOCTL, "moving vCPU %u's fd to %d: %s", id,
				       VM_VCPU_FD_BASE + (int)id, strerror(errno));
		fd = moved;
	}
	vm->vcpu_fds[id] = fd;
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fds[id], 0);
	if (run == MAP_FAILED)
		return vm_fail(e, VM_EIOCTL, "mmap of kvm_run: %s", strerror(errno));
	vm->runs[id] = run;
	/* KVM then copies the GPRs into kvm_run at every exit: no KVM_GET_REGS per exit. */
	if (vm->has_sync_regs)
		run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	return VM_OK;
}

/* Create the VM, with the in-kernel irqchip for more than one vCPU, then the vCPUs; vcpu_fd and
 * run are vCPU 0's. */
static enum vm_err vm_create(struct vm *vm, struct vm_error *e)
{
	enum vm_err err = VM_OK;
	int size;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return vm_fail(e, VM_EIOCTL, "KVM_CREATE_VM: %s", strerror(errno));
	if (vm->ncpus > 1) {
		if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
			return vm_fail(e, VM_ENOCAP, "KVM_CREATE_IRQCHIP (needed by --cpus): %s",
				       strerror(errno));
		vm->irqchip = true;
	}
	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (int)sizeof(struct kvm_run))
		return vm_fail(e, VM_EIOCTL, "KVM_GET_VCPU_MMAP_SIZE: %s",
			       size < 0 ? strerror(errno) : "too small");
	vm->run_size = (size_t)size;
	for (unsigned id = 0; id < vm->ncpus && !err; id++)
		err = vm_create_vcpu(vm, id, size, e);
	vm->vcpu_fd = vm->vcpu_fds[0];
	vm->run = vm->runs[0];
	return err;
}

/* Read what the layout needs to know from the CPUID leaves KVM will show the guest. */
static void vm_note_cpuid(struct vm *vm, const struct kvm_cpuid2 *c)
{
	vm->maxphyaddr = 36; /* the architectural default when leaf 0x80000008 is absent */
	for (unsigned i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *ent = &c->entries[i];

		if (ent->function == CPUID_EXT_FEATURES) {
			vm->has_nx = (ent->edx & CPUID_EDX_NX) != 0;
			vm->has_1g = (ent->edx & CPUID_EDX_PDPE1GB) != 0;
		} else if (ent->function == CPUID_EXT_ADDR_SIZE && (ent->eax & 0xff) != 0) {
			vm->maxphyaddr = ent->eax & 0xff;
		}
	}
}

/* Give the vCPU everything KVM supports: without KVM_SET_CPUID2 the guest's CPUID is empty and
 * KVM refuses EFER.NXE, so NX mappings would be impossible. */
static enum vm_err vm_set_cpuid(struct vm *vm, struct vm_error *e)
{
	unsigned nent = CPUID_MAX_ENTRIES;
	struct kvm_cpuid2 *c;
	enum vm_err err = VM_OK;

	for (;;) {
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return vm_fail(e, VM_EIOCTL, "KVM_GET_SUPPORTED_CPUID: out of memory");
		c->nent = nent;
		if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		free(c);
		if (errno != E2BIG || nent >= 16 * CPUID_MAX_ENTRIES)
			return vm_fail(e, VM_EIOCTL, "KVM_GET_SUPPORTED_CPUID: %s",
				       strerror(errno));
		nent *= 2;
	}
	vm_note_cpuid(vm, c);
	for (unsigned id = 0; id < vm->ncpus && !err; id++)
		if (ioctl(vm->vcpu_fds[id], KVM_SET_CPUID2, c) < 0)
			err = vm_fail(e, VM_EIOCTL, "KVM_SET_CPUID2: %s", strerror(errno));
	if (!err && !vm->has_nx)
		err = vm_fail(e, VM_ENOCAP, "the CPU KVM offers has no NX (execute-disable) bit");
	free(c);
	return err;
}

enum vm_err vm_open(struct vm *vm, struct vm_error *e)
{
	return vm_open_cpus(vm, 1, e);
}

void vm_cpu_view(const struct vm *vm, unsigned cpu, struct vm *view)
{
	*view = *vm;
	view->cpu = cpu;
	view->vcpu_fd = vm->vcpu_fds[cpu];
	view->run = vm->runs[cpu];
}

enum vm_err vm_cpu_runnable(const struct vm *vm, unsigned cpu, struct vm_error *e)
{
	struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};

	if (!vm->irqchip)
		return VM_OK; /* without the irqchip every vCPU runs at its first KVM_RUN */
	if (ioctl(vm->vcpu_fds[cpu], KVM_SET_MP_STATE, &mp) < 0)
		return vm_fail(e, VM_EIOCTL, "KVM_SET_MP_STATE (vCPU %u): %s", cpu,
			       strerror(errno));
	return VM_OK;
}

enum vm_err vm_open_cpus(struct vm *vm, unsigned ncpus, struct vm_error *e)
{
	enum vm_err err;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
	for (unsigned i = 0; i < PW_MAX_CPUS; i++)
		vm->vcpu_fds[i] = -1;
	if (ncpus < 1 || ncpus > PW_MAX_CPUS)
		return vm_fail(e, VM_ENOCAP, "%u vCPUs: 1 to %u are possible", ncpus, PW_MAX_CPUS);
	vm->ncpus = ncpus;
	e->err = VM_OK;
	e->detail[0] = '\0';
	err = vm_open_device(vm, e);
	if (!err)
		err = vm_check_api(vm, e);
	/* Stopping the other vCPUs relies on immediate_exit: a kick outside KVM_RUN still counts. */
	if (!err && ncpus > 1 && !vm->has_immediate_exit)
		err = vm_fail(e, VM_ENOCAP, "--cpus %u needs KVM_CAP_IMMEDIATE_EXIT", ncpus);
	if (!err)
		err = vm_create(vm, e);
	if (!err)
		err = vm_set_cpuid(vm, e);
	if (err)
		vm_close(vm);
	return err;
}

/* Install one memslot backing [gpa, gpa + size) with host memory at host. */
static enum vm_err vm_set_slot(struct vm *vm, unsigned slot, uint64_t gpa, uint64_t size,
			       void *host, unsigned flags, struct vm_error *e)
{
	struct kvm_userspace_memory_region region = {
	    .slot = slot,
	    .flags = flags,
	    .guest_phys_addr = gpa,
	    .memory_size = size,
	    .userspace_addr = (uint64_t)(uintptr_t)host,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return vm_fail(e, VM_EIOCTL,
			       "KVM_SET_USER_MEMORY_REGION slot %u [0x%llx, +0x%llx): %s", slot,
			       (unsigned long long)gpa, (unsigned long long)size, strerror(errno));
	return VM_OK;
}

unsigned vm_ram_slots(const struct guest_mem *mem, bool protect_pt, struct vm_slot *out)
{
	const uint64_t pool_end = PW_PT_POOL_GPA + PW_PT_POOL_SIZE;

	if (!protect_pt) {
		out[0] = (struct vm_slot){VM_SLOT_RAM, 0, mem->size, false};
		return 1;
	}
	/* PW_MEM_MIN guarantees RAM extends past the pool, so all three slots are non-empty. */
	out[0] = (struct vm_slot){VM_SLOT_RAM, 0, PW_PT_POOL_GPA, false};
	out[1] = (struct vm_slot){VM_SLOT_PT_POOL, PW_PT_POOL_GPA, PW_PT_POOL_SIZE, true};
	out[2] = (struct vm_slot){VM_SLOT_RAM_HIGH, pool_end, mem->size - pool_end, false};
	return 3;
}

enum vm_err vm_map_ram(struct vm *vm, const struct guest_mem *mem, bool protect_pt, bool log_dirty,
		       struct vm_error *e)
{
	struct vm_slot slots[VM_RAM_SLOTS_MAX];
	unsigned n = vm_ram_slots(mem, protect_pt, slots);
	enum vm_err err = VM_OK;

	if (protect_pt && !vm->has_readonly_mem)
		return vm_fail(e, VM_ENOCAP,
			       "--protect-pt needs read-only memslots (KVM_CAP_READONLY_MEM), "
			       "which this KVM lacks");
	for (unsigned i = 0; i < n && !err; i++) {
		unsigned flags = slots[i].readonly ? KVM_MEM_READONLY
				 : log_dirty	   ? KVM_MEM_LOG_DIRTY_PAGES
						   : 0;

		err = vm_set_slot(vm, slots[i].slot, slots[i].gpa, slots[i].size,
				  mem->host + slots[i].gpa, flags, e);
	}
	vm->ram_slots = n;
	return err;
}

/* Append [gpa, gpa + size) to out[*n] as a slot of its own, numbered *n (none if empty). */
static void vm_slot_piece(uint64_t gpa, uint64_t size, bool readonly, struct vm_slot *out,
			  unsigned *n)
{
	if (!size)
		return;
	out[*n] = (struct vm_slot){.slot = *n, .gpa = gpa, .size = size, .readonly = readonly};
	(*n)++;
}

enum vm_err vm_map_ram_guarded(struct vm *vm, const struct guest_mem *mem, bool protect_pt,
			       const struct vm_page_guard *pages, unsigned n, struct vm_error *e)
{
	struct vm_slot base[VM_RAM_SLOTS_MAX], out[VM_RAM_SLOTS_MAX + 2 * VM_GUARD_PAGES_MAX];
	unsigned nbase = vm_ram_slots(mem, protect_pt, base), nout = 0;
	enum vm_err err = VM_OK;
	bool ro = false;

	for (unsigned k = 0; k < n; k++)
		ro |= !pages[k].hole;
	if (n > VM_GUARD_PAGES_MAX || (ro && !vm->has_readonly_mem))
		return vm_fail(e, VM_ENOCAP, "page watchpoints need read-only memslots (at most %u)",
			       VM_GUARD_PAGES_MAX);
	for (unsigned i = 0; i < nbase; i++) {
		uint64_t at = base[i].gpa, end = base[i].gpa + base[i].size;

		for (unsigned k = 0; k < n && !base[i].readonly; k++) {
			if (pages[k].gpa < at || pages[k].gpa >= end)
				continue;
			vm_slot_piece(at, pages[k].gpa - at, false, out, &nout);
			if (!pages[k].hole)
				vm_slot_piece(pages[k].gpa, PW_PAGE_SIZE, true, out, &nout);
			at = pages[k].gpa + PW_PAGE_SIZE;
		}
		vm_slot_piece(at, end - at, base[i].readonly, out, &nout);
	}
	for (unsigned i = 0; i < vm->ram_slots && !err; i++)
		err = vm_set_slot(vm, i, 0, 0, NULL, 0, e);
	/* from here on, a failure may leave any of the new ids in use: the next call deletes
	 * them all (deleting an unused slot is a no-op) */
	if (nout > vm->ram_slots)
		vm->ram_slots = nout;
	for (unsigned i = 0; i < nout && !err; i++)
		err = vm_set_slot(vm, out[i].slot, out[i].gpa, out[i].size, mem->host + out[i].gpa,
				  out[i].readonly ? KVM_MEM_READONLY : 0, e);
	if (!err)
		vm->ram_slots = nout;
	return err;
}

enum vm_err vm_vcpu_ioctl(const struct vm *vm, unsigned long req, void *arg, const char *name,
			  struct vm_error *e)
{
	if (ioctl(vm->vcpu_fd, req, arg) == 0)
		return VM_OK;
	return vm_fail(e, VM_EIOCTL, "%s: %s", name, strerror(errno));
}

uint64_t vm_dr7_enable(unsigned i, enum vm_dr_rw rw, unsigned len)
{
	/* LEN: 00 one byte, 01 two, 11 four, 10 eight */
	uint64_t len_bits = len == 8 ? 2 : len == 4 ? 3 : len == 2 ? 1 : 0;

	return 1ull << (2 * i) | (uint64_t)rw << (16 + 4 * i) | len_bits << (18 + 4 * i);
}

int vm_set_guest_debug(struct vm *vm, const struct kvm_guest_debug *dbg)
{
	if (ioctl(vm->vcpu_fd, KVM_SET_GUEST_DEBUG, dbg) < 0)
		return -1;
	vm->debug = *dbg;
	return 0;
}

/* One MSR, as the one entry of a struct kvm_msrs, through KVM_GET_MSRS or KVM_SET_MSRS. */
static int vm_msr_one(const struct vm *vm, unsigned long req, uint32_t index, uint64_t *value)
{
	_Alignas(8) uint8_t buf[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)] = {0};
	struct kvm_msrs *one = (struct kvm_msrs *)(void *)buf;

	one->nmsrs = 1;
	one->entries[0].index = index;
	one->entries[0].data = *value;
	if (ioctl(vm->vcpu_fd, req, one) != 1)
		return -1;
	*value = one->entries[0].data;
	return 0;
}

int vm_get_msr(const struct vm *vm, uint32_t index, uint64_t *value)
{
	*value = 0;
	return vm_msr_one(vm, KVM_GET_MSRS, index, value);
}

int vm_set_msr(const struct vm *vm, uint32_t index, uint64_t value)
{
	return vm_msr_one(vm, KVM_SET_MSRS, index, &value);
}

int vm_set_regs(struct vm *vm, const struct kvm_regs *regs)
{
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, regs) < 0)
		return -1;
	return vm->debug.control & KVM_GUESTDBG_SINGLESTEP ? vm_set_guest_debug(vm, &vm->debug) : 0;
}

enum vm_err vm_complete_exit(struct vm *vm, unsigned last_exit, struct vm_error *e)
{
	int ret;

	if (last_exit != KVM_EXIT_IO && last_exit != KVM_EXIT_MMIO)
		return VM_OK;
	if (!vm->has_immediate_exit) /* KVM_RUN would run the guest on */
		return vm_fail(e, VM_ENOCAP, "completing an exit needs KVM_CAP_IMMEDIATE_EXIT");
	vm->run->immediate_exit = 1;
	ret = ioctl(vm->vcpu_fd, KVM_RUN, 0);
	vm->run->immediate_exit = 0;
	/* EINTR is the normal answer; single-stepping makes the completed `out` a debug exit */
	if (ret < 0 && errno != EINTR)
		return vm_fail(e, VM_EIOCTL, "KVM_RUN (completing the last exit): %s",
			       strerror(errno));
	return VM_OK;
}

void vm_close(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus && i < PW_MAX_CPUS; i++) {
		if (vm->runs[i])
			munmap(vm->runs[i], vm->run_size);
		if (vm->vcpu_fds[i] >= 0)
			close(vm->vcpu_fds[i]);
		vm->runs[i] = NULL;
		vm->vcpu_fds[i] = -1;
	}
	vm->run = NULL;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vcpu_fd = vm->vm_fd = vm->kvm_fd = -1;
}
