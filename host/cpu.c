/* The vCPU's state at entry: long mode entered directly, no real-mode trampoline. */
#include "cpu.h"

#include <string.h>

/* A kvm_segment for the flat descriptor at selector sel with access byte and flags nibble
 * (PW_GDT_*_ACCESS / _FLAGS), so the hidden state matches the descriptor in guest memory. */
static struct kvm_segment cpu_segment(uint16_t sel, uint64_t base, uint32_t limit, unsigned access,
				      unsigned flags)
{
	struct kvm_segment s = {
	    .base = base,
	    .limit = limit,
	    .selector = sel,
	    .type = access & 0xf,
	    .s = (access >> 4) & 1,
	    .dpl = (access >> 5) & 3,
	    .present = (access >> 7) & 1,
	    .avl = flags & 1,
	    .l = (flags >> 1) & 1,
	    .db = (flags >> 2) & 1,
	    .g = (flags >> 3) & 1,
	};
	return s;
}

void cpu_long_mode_sregs(struct kvm_sregs *sregs, const struct layout *l, unsigned cpu)
{
	uint64_t gdt = layout_cpu_gdt(l, cpu);
	struct kvm_segment code =
	    cpu_segment(PW_SEL_CODE, 0, PW_SEG_LIMIT, PW_GDT_CODE_ACCESS, PW_GDT_CODE_FLAGS);
	struct kvm_segment data =
	    cpu_segment(PW_SEL_DATA, 0, PW_SEG_LIMIT, PW_GDT_DATA_ACCESS, PW_GDT_DATA_FLAGS);

	sregs->cs = code;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	/* GS points at the CPU's struct pw_cpu_data (pw_cpu_id reads it). */
	sregs->gs.base = gdt + PW_CPU_DATA_OFF;
	sregs->tr = cpu_segment(PW_SEL_TSS, gdt + PW_TSS_OFF, PW_TSS_LIMIT, PW_GDT_TSS_ACCESS,
				PW_GDT_TSS_FLAGS);
	/* No LDT: a null, unusable LDTR passes the VM-entry checks. */
	memset(&sregs->ldt, 0, sizeof(sregs->ldt));
	sregs->ldt.unusable = 1;
	sregs->gdt.base = gdt;
	sregs->gdt.limit = PW_GDT_LIMIT;
	sregs->idt.base = PW_IDT_GPA;
	sregs->idt.limit = 0;
	sregs->cr0 = CPU_ENTRY_CR0;
	sregs->cr3 = l->pt.root;
	sregs->cr4 = CPU_ENTRY_CR4;
	sregs->efer = CPU_ENTRY_EFER;
}

void cpu_entry_regs(struct kvm_regs *regs, const struct layout *l, unsigned cpu)
{
	memset(regs, 0, sizeof(*regs));
	regs->rip = l->entry;
	regs->rsp = layout_cpu_stack_top(l, cpu);
	regs->rdi = l->boot_info;
	regs->rsi = cpu;
	regs->rflags = CPU_RFLAGS_RESERVED;
}

enum vm_err cpu_setup(struct vm *vm, const struct layout *l, struct vm_error *e)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	enum vm_err err;

	err = VCPU_IOCTL(vm, KVM_GET_SREGS, &sregs, e);
	if (err)
		return err;
	cpu_long_mode_sregs(&sregs, l, vm->cpu);
	cpu_entry_regs(&regs, l, vm->cpu);
	err = VCPU_IOCTL(vm, KVM_SET_SREGS, &sregs, e);
	if (!err)
		err = VCPU_IOCTL(vm, KVM_SET_REGS, &regs, e);
	return err;
}

/* KVM resets the MMU context on KVM_SET_SREGS only when CR3 (or CR0/CR4/EFER) changes, dropping
 * what it built from the old tables; newer kernels also flush the guest's TLB then, which
 * hardware KVM otherwise keeps across exits (docs/layout.md, "TLB and the shadow MMU"). So an
 * unchanged CR3 goes through a copy with PWT toggled first, which makes the real one a change. */
enum vm_err cpu_set_sregs_reset_mmu(const struct vm *vm, const struct kvm_sregs *s,
				    struct vm_error *e)
{
	struct kvm_sregs tmp = *s;
	enum vm_err err;

	tmp.cr3 ^= CPU_CR3_PWT;
	err = VCPU_IOCTL(vm, KVM_SET_SREGS, &tmp, e);
	tmp.cr3 = s->cr3;
	return err ? err : VCPU_IOCTL(vm, KVM_SET_SREGS, &tmp, e);
}
