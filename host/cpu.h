/* The vCPU's architectural state at entry: 64-bit long mode on the layout's page tables, flat
 * segments from the layout's GDT, RIP at the entry point, RSP at the stack top, RDI = boot info;
 * and loading special registers later so that KVM forgets translations from edited tables. */
#ifndef PW_HOST_CPU_H
#define PW_HOST_CPU_H

#include "kvm.h"
#include "layout.h"

/* Control-register and EFER bits the VMM sets (Intel SDM vol. 3, 2.5 and 2.2.1). */
#define CPU_CR0_PE	    (1ull << 0)
#define CPU_CR0_MP	    (1ull << 1)
#define CPU_CR0_ET	    (1ull << 4)
#define CPU_CR0_NE	    (1ull << 5)
#define CPU_CR0_WP	    (1ull << 16)
#define CPU_CR0_PG	    (1ull << 31)
#define CPU_CR3_PWT	    (1ull << 3) /* page-level write-through of the PML4 */
#define CPU_CR4_PAE	    (1ull << 5)
#define CPU_CR4_PGE	    (1ull << 7)
#define CPU_EFER_LME	    (1ull << 8)
#define CPU_EFER_LMA	    (1ull << 10)
#define CPU_EFER_NXE	    (1ull << 11)
#define CPU_RFLAGS_RESERVED (1ull << 1) /* always 1 */

/* WP: read-only pages stay read-only for ring 0, which is what makes write guards work. */
#define CPU_ENTRY_CR0  (CPU_CR0_PE | CPU_CR0_MP | CPU_CR0_ET | CPU_CR0_NE | CPU_CR0_WP | CPU_CR0_PG)
#define CPU_ENTRY_CR4  (CPU_CR4_PAE | CPU_CR4_PGE)
#define CPU_ENTRY_EFER (CPU_EFER_LME | CPU_EFER_LMA | CPU_EFER_NXE)

/* Fill sregs (as read from the vCPU, so KVM's own fields such as apic_base survive) for long
 * mode on l's tables and cpu's GDT, TSS and GS (its struct pw_cpu_data). IDTR is PW_IDT_GPA with
 * limit 0: no IDT until the guest loads one, so an early exception escalates to a triple fault
 * the VMM reports. */
void cpu_long_mode_sregs(struct kvm_sregs *sregs, const struct layout *l, unsigned cpu);

/* Fill regs for cpu's entry: RIP, RSP (its stack top), RDI = boot info GPA, RSI = cpu, RFLAGS
 * with only the fixed bit. */
void cpu_entry_regs(struct kvm_regs *regs, const struct layout *l, unsigned cpu);

/* Load the entry state of vm's vCPU (vm->cpu, 0 unless a view) into it. Call after vm_open and
 * layout_build. */
enum vm_err cpu_setup(struct vm *vm, const struct layout *l, struct vm_error *e);

/* KVM_SET_SREGS with s, making KVM reset its MMU context even when s->cr3 is the current CR3:
 * call after the VMM edited the guest's page tables behind the vCPU's back. */
enum vm_err cpu_set_sregs_reset_mmu(const struct vm *vm, const struct kvm_sregs *s,
				    struct vm_error *e);

#endif
