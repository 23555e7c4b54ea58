/* The GDT and the TSS: what long mode still needs from segmentation. */
#include "gdt.h"

#include "layout_build.h"

_Static_assert(PW_TSS_GPA - PW_GDT_GPA == PW_TSS_OFF, "CPU 0's TSS is where every CPU's is");
_Static_assert(PW_TSS_OFF >= PW_GDT_LIMIT + 1, "TSS overlaps the GDT");
_Static_assert(PW_TSS_OFF + PW_TSS_LIMIT < PW_CPU_DATA_OFF, "TSS runs into the CPU data");
_Static_assert(PW_CPU_DATA_OFF + 1024 <= PW_GDT_SIZE, "CPU data leaves the GDT page");
_Static_assert(PW_SEL_TSS / 8 + 2 <= PW_GDT_ENTRIES, "TSS descriptor outside the GDT");
_Static_assert(PW_SEL_USER_DATA == (PW_SEL_USER_BASE + 8) + 3 &&
		   PW_SEL_USER_CODE == (PW_SEL_USER_BASE + 16) + 3 && PW_SEL_DATA == PW_SEL_CODE + 8,
	       "SYSCALL/SYSRET derive the selectors from STAR");
_Static_assert(PW_SEL_USER_CODE / 8 < PW_GDT_ENTRIES, "user code outside the GDT");

uint64_t gdt_descriptor(uint32_t base, uint32_t limit, unsigned access, unsigned flags)
{
	return (uint64_t)(limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)(access & 0xff) << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)(flags & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

/* Store v little-endian at p + off (the page is guest memory: no alignment assumed). */
static void put64(uint8_t *p, size_t off, uint64_t v)
{
	__builtin_memcpy(p + off, &v, sizeof(v));
}

/* Same for a 16-bit value. */
static void put16(uint8_t *p, size_t off, uint16_t v)
{
	__builtin_memcpy(p + off, &v, sizeof(v));
}

/* Fill the TSS at tss with st's stack tops: IST1/IST2 at the tops of the #PF/#DF stacks, so a
 * fault raised by an overflowed stack is delivered on a stack of its own. RSP0 is used on a
 * ring change (a fault at CPL 3 other than #PF/#DF); pw_user_call points it below its own frame
 * before each entry to user mode, and the main stack top is where it starts. */
static void tss_write(uint8_t *tss, const struct gdt_stacks *st)
{
	put64(tss, TSS_RSP0_OFF, st->rsp0);
	put64(tss, TSS_IST_OFF(PW_IST_PF), st->ist_pf);
	put64(tss, TSS_IST_OFF(PW_IST_DF), st->ist_df);
	put16(tss, TSS_IOMAP_OFF, PW_TSS_IOMAP_BASE);
}

const struct gdt_stacks gdt_boot_stacks = {
    .rsp0 = PW_STACK_GPA + PW_STACK_SIZE,
    .ist_pf = PW_PF_STACK_GPA + PW_PF_STACK_SIZE,
    .ist_df = PW_DF_STACK_GPA + PW_DF_STACK_SIZE,
};

void gdt_write(uint8_t *page, uint64_t page_gpa, const struct gdt_stacks *st, unsigned cpu)
{
	uint64_t tss = page_gpa + PW_TSS_OFF, data = page_gpa + PW_CPU_DATA_OFF;

	/* Limits are in 4 KiB units with G=1 (0xfffff -> 4 GiB); long mode ignores base and limit
	 * for CS/DS but a far return or a reload of the descriptor still reads these bytes. */
	put64(page, PW_SEL_CODE, gdt_descriptor(0, 0xfffff, PW_GDT_CODE_ACCESS, PW_GDT_CODE_FLAGS));
	put64(page, PW_SEL_DATA, gdt_descriptor(0, 0xfffff, PW_GDT_DATA_ACCESS, PW_GDT_DATA_FLAGS));
	/* CPL 3 (pw_user_call): an iretq back to user mode after a fault reads these. */
	put64(page, PW_SEL_USER_DATA & ~3,
	      gdt_descriptor(0, 0xfffff, PW_GDT_UDATA_ACCESS, PW_GDT_DATA_FLAGS));
	put64(page, PW_SEL_USER_CODE & ~3,
	      gdt_descriptor(0, 0xfffff, PW_GDT_UCODE_ACCESS, PW_GDT_CODE_FLAGS));
	/* 16-byte system descriptor: the upper 8 bytes hold base[63:32]. */
	put64(page, PW_SEL_TSS,
	      gdt_descriptor((uint32_t)tss, PW_TSS_LIMIT, PW_GDT_TSS_ACCESS, PW_GDT_TSS_FLAGS));
	put64(page, PW_SEL_TSS + 8, tss >> 32);
	tss_write(page + PW_TSS_OFF, st);
	/* struct pw_cpu_data: what GS points at. */
	put64(page, PW_CPU_DATA_OFF, cpu);
	put64(page, PW_CPU_DATA_OFF + 8, data);
}
