/* Save and load the vCPU state a snapshot needs beyond regs, sregs and events. */
#include "vcpu_extra.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

/* Record a partial MSR transfer in e. */
static enum vm_err vcpu_extra_msr_fail(struct vm_error *e, const char *what)
{
	e->err = VM_EIOCTL;
	snprintf(e->detail, sizeof(e->detail), "%s: not every saved MSR was transferred", what);
	return VM_EIOCTL;
}

/* MSRs a guest can write that change how it runs; each is kept only if KVM reads it back
 * (and for DEBUGCTL, only if a write sticks: see vcpu_extra_writable). */
static const uint32_t vcpu_extra_msr_list[] = {
    0x1d9,	/* IA32_DEBUGCTL: BTF changes what a single step is */
    0x1a0,	/* IA32_MISC_ENABLE */
    0x2ff,	/* IA32_MTRR_DEF_TYPE */
    0x174,	/* IA32_SYSENTER_CS */
    0x175,	/* IA32_SYSENTER_ESP */
    0x176,	/* IA32_SYSENTER_EIP */
    0x277,	/* IA32_PAT */
    0xc0000081, /* STAR */
    0xc0000082, /* LSTAR */
    0xc0000083, /* CSTAR */
    0xc0000084, /* SFMASK */
    0xc0000102, /* KERNEL_GS_BASE */
    0xc0000103, /* TSC_AUX */
};

_Static_assert(sizeof(vcpu_extra_msr_list) / sizeof(vcpu_extra_msr_list[0]) <= VCPU_EXTRA_MSRS_MAX,
	       "room for every MSR");

/* The MSR list inside x's raw buffer. */
static struct kvm_msrs *vcpu_extra_msrs(struct vcpu_extra *x)
{
	return (struct kvm_msrs *)(void *)x->msrs;
}

#define MSR_DEBUGCTL	  0x1d9
#define MSR_DEBUGCTL_BTF (1ull << 1)

/* KVM on AMD without LBR virtualization ignores writes to DEBUGCTL (logging "Unhandled WRMSR"
 * each time): the guest cannot change it there either, so a reset need not restore it. True if
 * setting BTF reads back; the value read first is put back. */
static bool vcpu_extra_writable(struct vm *vm, uint32_t index)
{
	uint64_t was, now;
	bool sticks;

	if (index != MSR_DEBUGCTL)
		return true;
	if (vm_get_msr(vm, index, &was) != 0 || vm_set_msr(vm, index, was ^ MSR_DEBUGCTL_BTF) != 0)
		return false;
	sticks = vm_get_msr(vm, index, &now) == 0 && now == (was ^ MSR_DEBUGCTL_BTF);
	return vm_set_msr(vm, index, was) == 0 && sticks;
}

/* Probe the capabilities and the readable MSRs into x. */
static void vcpu_extra_probe(struct vm *vm, struct vcpu_extra *x)
{
	unsigned n = 0;

	/* probed by vm_open: KVM_CHECK_EXTENSION is not allowed under the sandbox */
	x->has_xsave = vm->has_xsave;
	x->has_xcrs = vm->has_xcrs;
	x->has_dregs = vm->has_debugregs;
	for (size_t i = 0; i < sizeof(vcpu_extra_msr_list) / sizeof(vcpu_extra_msr_list[0]); i++) {
		uint64_t v;

		if (vm_get_msr(vm, vcpu_extra_msr_list[i], &v) == 0 &&
		    vcpu_extra_writable(vm, vcpu_extra_msr_list[i]))
			vcpu_extra_msrs(x)->entries[n++].index = vcpu_extra_msr_list[i];
	}
	vcpu_extra_msrs(x)->nmsrs = n;
}

enum vm_err vcpu_extra_get(struct vm *vm, struct vcpu_extra *x, const struct vcpu_extra *like,
			   struct vm_error *e)
{
	enum vm_err err;

	if (like) {
		const struct kvm_msrs *from = (const struct kvm_msrs *)(const void *)like->msrs;

		x->has_xsave = like->has_xsave, x->has_xcrs = like->has_xcrs;
		x->has_dregs = like->has_dregs;
		vcpu_extra_msrs(x)->nmsrs = from->nmsrs;
		for (unsigned i = 0; i < from->nmsrs; i++)
			vcpu_extra_msrs(x)->entries[i].index = from->entries[i].index;
	} else {
		memset(x, 0, sizeof(*x));
		vcpu_extra_probe(vm, x);
	}
	err = x->has_xsave ? VCPU_IOCTL(vm, KVM_GET_XSAVE, x->xsave, e)
			   : VCPU_IOCTL(vm, KVM_GET_FPU, &x->fpu, e);
	if (!err && x->has_xcrs)
		err = VCPU_IOCTL(vm, KVM_GET_XCRS, &x->xcrs, e);
	if (!err && x->has_dregs)
		err = VCPU_IOCTL(vm, KVM_GET_DEBUGREGS, &x->dregs, e);
	if (!err && vcpu_extra_msrs(x)->nmsrs &&
	    ioctl(vm->vcpu_fd, KVM_GET_MSRS, x->msrs) != (int)vcpu_extra_msrs(x)->nmsrs)
		err = vcpu_extra_msr_fail(e, "KVM_GET_MSRS");
	return err;
}

enum vm_err vcpu_extra_set(struct vm *vm, const struct vcpu_extra *x, struct vm_error *e)
{
	const struct kvm_msrs *msrs = (const struct kvm_msrs *)(const void *)x->msrs;
	enum vm_err err;

	err = x->has_xsave ? VCPU_IOCTL(vm, KVM_SET_XSAVE, (void *)x->xsave, e)
			   : VCPU_IOCTL(vm, KVM_SET_FPU, (void *)&x->fpu, e);
	if (!err && x->has_xcrs)
		err = VCPU_IOCTL(vm, KVM_SET_XCRS, (void *)&x->xcrs, e);
	if (!err && x->has_dregs)
		err = VCPU_IOCTL(vm, KVM_SET_DEBUGREGS, (void *)&x->dregs, e);
	if (!err && msrs->nmsrs && ioctl(vm->vcpu_fd, KVM_SET_MSRS, msrs) != (int)msrs->nmsrs)
		err = vcpu_extra_msr_fail(e, "KVM_SET_MSRS");
	return err;
}
