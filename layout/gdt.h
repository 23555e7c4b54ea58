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

/* Fill the zeroed page at PW_GDT_GPA (page: its host pointer, PW_GDT_SIZE bytes) with the GDT at
 * offset 0 and the TSS at PW_TSS_GPA - PW_GDT_GPA. */
void gdt_write(uint8_t *page);

#endif
