/* The GDT/TSS page the layout writes at PW_GDT_GPA: descriptors for 64-bit ring-0 code and
 * data, and a TSS whose IST slots point at the guarded #PF and #DF stacks. The descriptor values
 * are the PW_GDT_* constants of layout/layout_build.h, which the VMM's vCPU setup copies into
 * its sregs (and the PVH entry loads with lgdt/ltr). */
#ifndef PW_LAYOUT_GDT_H
#define PW_LAYOUT_GDT_H

#include <stdint.h>

/* Byte offsets in the 64-bit TSS (Intel SDM vol. 3, 8.7). */
#define TSS_RSP0_OFF   4
#define TSS_IST_OFF(n) (36 + 8 * ((n)-1)) /* IST1..IST7 */
#define TSS_IOMAP_OFF  102

/* Return an 8-byte segment descriptor (for a TSS: its low half; the high half is base >> 32). */
uint64_t gdt_descriptor(uint32_t base, uint32_t limit, unsigned access, unsigned flags);

/* The stack tops a CPU's TSS holds. */
struct gdt_stacks {
	uint64_t rsp0, ist_pf, ist_df;
};

/* CPU 0's: the fixed stacks of layout.h. */
extern const struct gdt_stacks gdt_boot_stacks;

/* Fill the zeroed GDT page of cpu (page: the builder's pointer to it; page_gpa: its address)
 * with the GDT at offset 0, the TSS at PW_TSS_OFF with st's stacks, and struct pw_cpu_data at
 * PW_CPU_DATA_OFF. */
void gdt_write(uint8_t *page, uint64_t page_gpa, const struct gdt_stacks *st, unsigned cpu);

#endif
