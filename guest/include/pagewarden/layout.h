/* The guest-physical (= guest-virtual, identity-mapped) memory layout. docs/layout.md tells the
 * same story with the same numbers; change both together.
 *
 *   GPA / VA                                        mapping            what
 *   0x0000_0000 +----------------------------+
 *               | null guard           4K    |  not present         null-pointer dereferences
 *   0x0000_1000 | boot info            4K    |  R  NX               struct pw_boot_info
 *   0x0000_2000 | GDT + TSS            4K    |  RW NX               loaded by the VMM
 *   0x0000_3000 | IDT                  4K    |  RW NX               VMM IDT, or guest-edited
 *   0x0000_4000 | VMM fault stubs      4K    |  R  X                --faults=vmm only
 *   0x0000_5000 | guard: #PF IST       4K    |  not present
 *   0x0000_6000 | #PF IST stack        16K   |  RW NX
 *   0x0000_a000 | guard: #DF IST       4K    |  not present
 *   0x0000_b000 | #DF IST stack        16K   |  RW NX
 *   0x0000_f000 | guard: main stack    4K    |  not present
 *   0x0001_0000 | main stack           256K  |  RW NX               RSP = 0x5_0000 at entry
 *   0x0005_0000 | page-table pool      704K  |  RW NX               VMM tables, then guest's
 *   0x0010_0000 | guest image                |  text/rodata R X, data/bss RW NX
 *               | ... free RAM (RW NX)       |
 *   heap - 20K  | guard: user stack    4K    |  not present
 *   heap - 16K  | user stack           16K   |  RW NX user          pw_user_call's CPL-3 stack
 *   align 2M    | heap (demand-paged)        |  not present until touched
 *               | ... rest of RAM  (RW NX)   |
 *   RAM end     | unbacked (no memslot)      |  RW NX               touch exits: ept-unbacked
 *   0xffe0_0000 | high guard           2M    |  not present
 *   0x1_0000_0000 +--------------------------+  (nothing mapped above 4 GiB)
 */
#ifndef PAGEWARDEN_LAYOUT_H
#define PAGEWARDEN_LAYOUT_H

#define PW_PAGE_SIZE 0x1000ull

#define PW_NULL_GUARD_GPA     0x00000000ull
#define PW_NULL_GUARD_SIZE    0x1000ull
#define PW_BOOT_INFO_GPA      0x00001000ull
#define PW_BOOT_INFO_SIZE     0x1000ull
#define PW_GDT_GPA	      0x00002000ull
#define PW_TSS_GPA	      0x00002800ull /* inside the GDT page */
#define PW_GDT_SIZE	      0x1000ull
#define PW_IDT_GPA	      0x00003000ull
#define PW_IDT_SIZE	      0x1000ull
#define PW_STUBS_GPA	      0x00004000ull
#define PW_STUBS_SIZE	      0x1000ull
#define PW_PF_STACK_GUARD_GPA 0x00005000ull
#define PW_PF_STACK_GPA	      0x00006000ull
#define PW_PF_STACK_SIZE      0x4000ull
#define PW_DF_STACK_GUARD_GPA 0x0000a000ull
#define PW_DF_STACK_GPA	      0x0000b000ull
#define PW_DF_STACK_SIZE      0x4000ull
#define PW_STACK_GUARD_GPA    0x0000f000ull
#define PW_STACK_GPA	      0x00010000ull
#define PW_STACK_SIZE	      0x40000ull
#define PW_PT_POOL_GPA	      0x00050000ull
#define PW_PT_POOL_SIZE	      0xb0000ull
#define PW_IMAGE_GPA	      0x00100000ull /* flat images load here; ELF guests link here */

#define PW_USER_STACK_SIZE 0x4000ull /* ends at the heap's start, a 4 KiB guard below it */

#define PW_HEAP_ALIGN	   0x200000ull
#define PW_HEAP_MAX	   0x10000000ull /* 256 MiB: the pool holds the 4K tables for that */
#define PW_HIGH_GUARD_GPA  0xffe00000ull
#define PW_HIGH_GUARD_SIZE 0x200000ull
#define PW_MAP_END	   0x100000000ull /* the identity map covers [0, 4 GiB) */

/* --cpus N (docs/smp.md): CPU 0 uses the fixed regions above. CPUs 1..N-1 get one
 * PW_PERCPU_SIZE block each, back to back from the boot info's percpu_base (the first page after
 * the image), all in one region of kind per-cpu whose guard pages are guards in the tables:
 *
 *   +0x00000  guard: #PF IST   4K    not present
 *   +0x01000  #PF IST stack    16K   RW NX
 *   +0x05000  guard: #DF IST   4K    not present
 *   +0x06000  #DF IST stack    16K   RW NX
 *   +0x0a000  guard: stack     4K    not present
 *   +0x0b000  stack            64K   RW NX        RSP = +0x1b000 at entry
 *   +0x1b000  GDT + TSS        4K    RW NX        GDT at +0, TSS at +0x800, CPU data at +0xc00
 */
#define PW_MAX_CPUS	       64
#define PW_PERCPU_PF_STACK     0x01000ull
#define PW_PERCPU_DF_GUARD     0x05000ull
#define PW_PERCPU_DF_STACK     0x06000ull
#define PW_PERCPU_STACK_GUARD  0x0a000ull
#define PW_PERCPU_STACK	       0x0b000ull
#define PW_PERCPU_STACK_SIZE   0x10000ull
#define PW_PERCPU_GDT	       0x1b000ull
#define PW_PERCPU_SIZE	       0x1c000ull
#define PW_TSS_OFF	       0x800ull /* the TSS in a GDT page (CPU 0's: PW_TSS_GPA) */
#define PW_CPU_DATA_OFF	       0xc00ull /* struct pw_cpu_data in a GDT page: GS base */

/* RAM size limits (-m/--mem). */
#define PW_MEM_DEFAULT 0x4000000ull  /* 64 MiB */
#define PW_MEM_MIN     0x400000ull   /* 4 MiB: the fixed low region, an image and a heap */
#define PW_MEM_MAX     0xc0000000ull /* 3 GiB: leaves room for the unbacked region and guard */

/* Segment selectors in the GDT the VMM builds. */
#define PW_SEL_CODE 0x08
#define PW_SEL_DATA 0x10
#define PW_SEL_TSS  0x18 /* a 16-byte system descriptor: slots 3 and 4 */
/* CPL 3, in the order SYSRET needs: STAR[63:48] = PW_SEL_USER_BASE, SS = base + 8, CS = base +
 * 16 (slot 5, the 32-bit user code SYSRET could return to, stays null). SYSCALL enters at
 * CS = PW_SEL_CODE with SS = PW_SEL_CODE + 8 = PW_SEL_DATA. */
#define PW_SEL_USER_BASE 0x28
#define PW_SEL_USER_DATA 0x33 /* slot 6, RPL 3 */
#define PW_SEL_USER_CODE 0x3b /* slot 7, RPL 3 */

/* IST slots in the TSS (1-based, as in the IDT gate). */
#define PW_IST_PF 1
#define PW_IST_DF 2

#endif
