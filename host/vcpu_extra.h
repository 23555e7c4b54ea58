/* The vCPU state beyond regs, sregs and vcpu events that a snapshot reset brings back: the
 * FPU/SSE/AVX registers (KVM_GET_XSAVE, or KVM_GET_FPU where KVM lacks KVM_CAP_XSAVE), XCR0
 * (KVM_CAP_XCRS), the guest's debug registers (KVM_CAP_DEBUGREGS) and the MSRs a ring-0 guest
 * can change that steer its execution (DEBUGCTL, MISC_ENABLE, MTRR_DEF_TYPE, PAT, SYSENTER_*,
 * STAR/LSTAR/CSTAR/SFMASK, KERNEL_GS_BASE, TSC_AUX). EFER and the FS/GS bases travel in sregs. The
 * TSC is left running, as on hardware: a guest whose output depends on rdtsc is not deterministic.
 */
#ifndef PW_HOST_VCPU_EXTRA_H
#define PW_HOST_VCPU_EXTRA_H

#include <stdbool.h>
#include <stdint.h>

#include "kvm.h"

#define VCPU_EXTRA_MSRS_MAX 16

/* struct kvm_xsave and struct kvm_msrs end in flexible arrays, so they are kept as raw,
 * aligned bytes here (a struct holding one anywhere but at its end is not ISO C). */
struct vcpu_extra {
	bool has_xsave, has_xcrs, has_dregs; /* what this KVM offers, probed once */
	_Alignas(8) uint8_t xsave[sizeof(struct kvm_xsave)];
	struct kvm_fpu fpu; /* without KVM_CAP_XSAVE */
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	/* struct kvm_msrs and its entries: the listed MSRs this KVM lets us read */
	_Alignas(8) uint8_t
	    msrs[sizeof(struct kvm_msrs) + VCPU_EXTRA_MSRS_MAX * sizeof(struct kvm_msr_entry)];
};
/* Read vm's extra state into *x. With like NULL, first probe what KVM offers (capabilities and
 * which MSRs read back); otherwise read the same set as like. The vCPU is paused between exits. */
enum vm_err vcpu_extra_get(struct vm *vm, struct vcpu_extra *x, const struct vcpu_extra *like,
			   struct vm_error *e);

/* Load *x (from vcpu_extra_get) back into vm's vCPU. */
enum vm_err vcpu_extra_set(struct vm *vm, const struct vcpu_extra *x, struct vm_error *e);

#endif
