/* Measuring the KVM platform's differences on a scratch VM in real mode. */
#include "platform.h"

#include <cpuid.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "steplock.h"

#define CPUID_HV_BIT	(1u << 31) /* CPUID 1 ECX: running under a hypervisor */
#define CPUID_HV_VENDOR 0x40000000u
#define PROBE_MEM	0x10000u /* one 64 KiB slot at GPA 0, filled with hlt */
#define PROBE_CODE	0x1000u
#define PROBE_PORT	0x10u
#define PROBE_RUNS	16 /* KVM_RUNs any one measurement may take */
#define OP_HLT		0xf4
#define VECTOR_BP	3

/* The probe program (real mode, CS base 0). Offsets of interest: */
#define AT_OUT	    0x5 /* out %al, %dx */
#define AT_PAST_OUT 0x6 /* the nop after it */
#define AT_BREAK    0x7 /* where the hardware breakpoint goes */
#define AT_INT3	    0x8 /* int3 (with no IVT: reaches hlt if the VMM does not get it) */
#define AT_DIV0	    0xa /* mov $0, %bl; div %bl: #DE, through IVT entry 0 to PROBE_DE */
/* One instruction a line: */
/* clang-format off */
static const uint8_t probe_code[] = {
    0x90, 0x90,		    /* nop; nop */
    0xba, PROBE_PORT, 0x00, /* mov $PROBE_PORT, %dx */
    0xee,		    /* out %al, %dx */
    0x90, 0x90,		    /* nop; nop */
    0xcc,		    /* int3 */
    OP_HLT,
    0xb3, 0x00,		    /* mov $0, %bl */
    0xf6, 0xf3,		    /* div %bl */
    OP_HLT,
};
/* clang-format on */

/* A byte store for the data breakpoint (at offset AT_STORE): mov %al, (PROBE_DATA); hlt. */
#define AT_STORE   0x200
#define PROBE_DATA 0x1300u
static const uint8_t probe_store[] = {0xa2, (uint8_t)PROBE_DATA, (uint8_t)(PROBE_DATA >> 8),
				      OP_HLT};
#define AT_PAST_STORE (AT_STORE + 3)


/* The #DE handler: one nop, then hlt. */
#define PROBE_DE 0x1100u
static const uint8_t probe_de[] = {0x90, OP_HLT};

struct probe_vm {
	int vm_fd, vcpu_fd;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
};

static enum vm_err probe_fail(struct vm_error *e, const char *what)
{
	e->err = VM_EIOCTL;
	snprintf(e->detail, sizeof(e->detail), "platform probe: %s: %s", what, strerror(errno));
	return VM_EIOCTL;
}

static void probe_close(struct probe_vm *p)
{
	if (p->run)
		munmap(p->run, p->run_size);
	if (p->mem)
		munmap(p->mem, PROBE_MEM);
	if (p->vcpu_fd >= 0)
		close(p->vcpu_fd);
	if (p->vm_fd >= 0)
		close(p->vm_fd);
}

/* A VM with one vCPU in real mode at CS:IP 0:PROBE_CODE over the probe program. */
static enum vm_err probe_open(int kvm_fd, struct probe_vm *p, struct vm_error *e)
{
	struct kvm_userspace_memory_region slot = {.memory_size = PROBE_MEM};
	int size;

	*p = (struct probe_vm){.vm_fd = -1, .vcpu_fd = -1};
	p->mem = mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->mem == MAP_FAILED) {
		p->mem = NULL;
		return probe_fail(e, "mmap");
	}
	memset(p->mem, OP_HLT, PROBE_MEM);
	memcpy(p->mem + PROBE_CODE, probe_code, sizeof(probe_code));
	memcpy(p->mem + PROBE_DE, probe_de, sizeof(probe_de));
	memcpy(p->mem + PROBE_CODE + AT_STORE, probe_store, sizeof(probe_store));
	p->mem[0] = (uint8_t)PROBE_DE; /* IVT entry 0 (#DE): 0000:PROBE_DE */
	p->mem[1] = (uint8_t)(PROBE_DE >> 8);
	p->mem[2] = p->mem[3] = 0;
	slot.userspace_addr = (uint64_t)(uintptr_t)p->mem;
	if ((p->vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0)) < 0)
		return probe_fail(e, "KVM_CREATE_VM");
	if (ioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return probe_fail(e, "KVM_SET_USER_MEMORY_REGION");
	if ((p->vcpu_fd = ioctl(p->vm_fd, KVM_CREATE_VCPU, 0)) < 0)
		return probe_fail(e, "KVM_CREATE_VCPU");
	if ((size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0)
		return probe_fail(e, "KVM_GET_VCPU_MMAP_SIZE");
	p->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, p->vcpu_fd, 0);
	if (p->run == MAP_FAILED) {
		p->run = NULL;
		return probe_fail(e, "mmap of kvm_run");
	}
	p->run_size = (size_t)size;
	return VM_OK;
}

/* Put the vCPU back at offset at of the program (CS 0, as an int3 through the real-mode IVT
 * may have changed it) with debug control ctl (DR0 = addr, DR7 = dr7). Any I/O completion
 * still pending is finished first, so it cannot move the new RIP. */
static enum vm_err probe_restart(struct probe_vm *p, unsigned at, uint32_t ctl, uint64_t addr,
				 uint64_t dr7, struct vm_error *e)
{
	struct kvm_guest_debug dbg = {.control = ctl};
	struct kvm_regs regs = {.rip = PROBE_CODE + at, .rflags = 2, .rsp = PROBE_CODE};
	struct kvm_sregs s;

	p->run->immediate_exit = 1;
	(void)ioctl(p->vcpu_fd, KVM_RUN, 0);
	p->run->immediate_exit = 0;
	if (ioctl(p->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return probe_fail(e, "KVM_GET_SREGS");
	s.cs.base = 0;
	s.cs.selector = 0;
	if (ioctl(p->vcpu_fd, KVM_SET_SREGS, &s) < 0)
		return probe_fail(e, "KVM_SET_SREGS");
	if (ctl & KVM_GUESTDBG_USE_HW_BP) {
		dbg.arch.debugreg[0] = addr;
		dbg.arch.debugreg[7] = dr7;
	}
	/* Registers first: standard KVM arms a single step for the RIP it has when guest debug is
	 * set (singlestep_rip), and a later KVM_SET_REGS elsewhere drops TF. */
	if (ioctl(p->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return probe_fail(e, "KVM_SET_REGS");
	return ioctl(p->vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg) < 0
		   ? probe_fail(e, "KVM_SET_GUEST_DEBUG")
		   : VM_OK;
}

/* Run until a debug exit at pc (true) or until anything but a debug or I/O exit stops the
 * program, or PROBE_RUNS runs (false). -1 if KVM_RUN fails. */
static int probe_until_debug_at(struct probe_vm *p, uint64_t pc, unsigned exception)
{
	for (int i = 0; i < PROBE_RUNS; i++) {
		if (ioctl(p->vcpu_fd, KVM_RUN, 0) < 0)
			return -1;
		if (p->run->exit_reason == KVM_EXIT_DEBUG && p->run->debug.arch.pc == pc &&
		    p->run->debug.arch.exception == exception)
			return 1;
		if (p->run->exit_reason != KVM_EXIT_DEBUG && p->run->exit_reason != KVM_EXIT_IO)
			return 0;
	}
	return 0;
}

/* Single steps over a #DE into its handler: which debug exits come before the handler's hlt. */
static enum vm_err probe_handler_steps(struct probe_vm *p, struct platform *out, struct vm_error *e)
{
	enum vm_err err =
	    probe_restart(p, AT_DIV0, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, 0, 0, e);

	for (int i = 0; !err && i < PROBE_RUNS; i++) {
		if (ioctl(p->vcpu_fd, KVM_RUN, 0) < 0)
			return probe_fail(e, "KVM_RUN (a fault single-stepped)");
		if (p->run->exit_reason != KVM_EXIT_DEBUG)
			break;
		if (p->run->debug.arch.pc == PROBE_DE)
			out->step_delivery = true;
		if (p->run->debug.arch.pc == PROBE_DE + 1)
			out->step_handlers = true;
	}
	return err;
}

/* The measurements, in order, on one VM. */
static enum vm_err probe_measure(struct probe_vm *p, struct platform *out, struct vm_error *e)
{
	struct kvm_regs regs;
	enum vm_err err;
	int r;

	/* RIP at the I/O exit of the `out` */
	if ((err = probe_restart(p, 0, 0, 0, 0, e)))
		return err;
	if (ioctl(p->vcpu_fd, KVM_RUN, 0) < 0 || ioctl(p->vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return probe_fail(e, "KVM_RUN to the out");
	out->io_rip_after =
	    p->run->exit_reason == KVM_EXIT_IO && regs.rip == PROBE_CODE + AT_PAST_OUT;
	/* single steps: a debug exit past the `out`, after its I/O exit */
	if ((err = probe_restart(p, 0, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, 0, 0, e)))
		return err;
	if ((r = probe_until_debug_at(p, PROBE_CODE + AT_PAST_OUT, 1)) < 0)
		return probe_fail(e, "KVM_RUN (single steps)");
	out->step_io_exit = r;
	/* an execute breakpoint in DR0 */
	if ((err = probe_restart(p, 0, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP,
				 PROBE_CODE + AT_BREAK, vm_dr7_enable(0, VM_DR_EXEC, 1), e)))
		return err;
	if ((r = probe_until_debug_at(p, PROBE_CODE + AT_BREAK, 1)) < 0)
		return probe_fail(e, "KVM_RUN (hardware breakpoint)");
	out->hw_breakpoint = r;
	/* a data write breakpoint in DR0: a debug exit after the store */
	if ((err = probe_restart(p, AT_STORE, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP,
				 PROBE_DATA, vm_dr7_enable(0, VM_DR_WRITE, 1), e)))
		return err;
	if ((r = probe_until_debug_at(p, PROBE_CODE + AT_PAST_STORE, 1)) < 0)
		return probe_fail(e, "KVM_RUN (data breakpoint)");
	out->hw_watchpoint = r;
	/* int3 intercepted */
	if ((err = probe_restart(p, 0, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP, 0, 0, e)))
		return err;
	if ((r = probe_until_debug_at(p, PROBE_CODE + AT_INT3, VECTOR_BP)) < 0)
		return probe_fail(e, "KVM_RUN (int3)");
	out->sw_breakpoint = r;
	return probe_handler_steps(p, out, e);
}

bool platform_in_qemu_tcg(void)
{
	unsigned a, b, c, d;
	char sig[13] = {0};

	__cpuid(1, a, b, c, d);
	if (!(c & CPUID_HV_BIT))
		return false;
	__cpuid(CPUID_HV_VENDOR, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	return strcmp(sig, "TCGTCGTCGTCG") == 0;
}

enum vm_err platform_probe(int kvm_fd, struct platform *out, struct vm_error *e)
{
	struct probe_vm p;
	enum vm_err err;

	memset(out, 0, sizeof(*out));
	err = probe_open(kvm_fd, &p, e);
	if (!err)
		err = probe_measure(&p, out, e);
	probe_close(&p);
	return err;
}

enum vm_err platform_probe_locked(int kvm_fd, int lock_fd, struct platform *p,
				  struct vm_error *e)
{
	enum vm_err err = VM_OK;

	for (int i = 0; i < PLATFORM_PROBE_ATTEMPTS; i++) {
		steplock_hold(lock_fd, true);
		err = platform_probe(kvm_fd, p, e);
		steplock_hold(lock_fd, false);
		if (err || p->io_rip_after != p->step_io_exit)
			return err;
	}
	e->err = VM_EIOCTL;
	snprintf(e->detail, sizeof(e->detail), "the platform probe contradicts itself");
	return VM_EIOCTL;
}
