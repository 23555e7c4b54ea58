/* The vCPU state beyond regs, sregs and vcpu events that a snapshot reset brings back: the
 * FPU/SSE/AVX registers (KVM_GET_XSAVE, or KVM_GET_FPU where KVM lacks KVM_CAP_XSAVE), XCR0
 * (KVM_CAP_XCRS), the guest's debug registers (KVM_CAP_DEBUGREGS) and the MSRs a ring-0 guest
 * can change that steer its execution (PAT, SYSENTER_*, STAR/LSTAR/CSTAR/SFMASK,
 * KERNEL_GS_BASE, TSC_AUX). EFER and the FS/GS bases travel in sregs. The TSC is left running,
 * as on hardware: a guest whose output depends on rdtsc is not deterministic. */
#ifndef PW_HOST_VCPU_EXTRA_H
#define PW_HOST_VCPU_EXTRA_H

#include <stdbool.h>

#include "kvm.h"

#define VCPU_EXTRA_MSRS_MAX 16

struct vcpu_extra {
	bool has_xsave, has_xcrs, has_dregs; /* what this KVM offers, probed once */
	struct kvm_xsave xsave;
	struct kvm_fpu fpu; /* without KVM_CAP_XSAVE */
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[VCPU_EXTRA_MSRS_MAX];
	} msrs; /* the listed MSRs this KVM lets us read */
};

/* Read vm's extra state into *x. With like NULL, first probe what KVM offers (capabilities and
 * which MSRs read back); otherwise read the same set as like. The vCPU is paused between exits. */
enum vm_err vcpu_extra_get(struct vm *vm, struct vcpu_extra *x, const struct vcpu_extra *like,
			   struct vm_error *e);

/* Load *x (from vcpu_extra_get) back into vm's vCPU. */
enum vm_err vcpu_extra_set(struct vm *vm, const struct vcpu_extra *x, struct vm_error *e);

#endif
