/* The runtime's IDT (--faults=guest): 64-bit interrupt gates for exception vectors 0..31 in the
 * IDT page the layout reserves, #PF and #DF on their own IST stacks (set up by the VMM's TSS). */
#include <pagewarden/guest.h>

#include "trap.h"

#define IDT_GATE_INTERRUPT 0xe	/* 64-bit interrupt gate: IF is cleared on entry */
#define IDT_GATE_PRESENT   0x80 /* P bit of the type byte; DPL 0 */
#define IDT_GATES	   (PW_IDT_SIZE / sizeof(struct idt_gate))
#define VECTOR_DF	   8
#define VECTOR_PF	   14

struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist; /* bits 2:0: IST slot, 0 = stay on the current stack */
	uint8_t type;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

struct idt_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gates are 16 bytes");

/* IST slot for vector: #PF and #DF must not run on the stack that may have overflowed (a #PF
 * pushing onto a full stack becomes #DF, and a fault delivering #DF a triple fault). */
static unsigned idt_ist(unsigned vector)
{
	if (vector == VECTOR_PF)
		return PW_IST_PF;
	if (vector == VECTOR_DF)
		return PW_IST_DF;
	return 0;
}

/* A present ring-0 interrupt gate to handler in the code segment, on IST slot ist. */
static struct idt_gate idt_gate(uint64_t handler, unsigned ist)
{
	return (struct idt_gate){
	    .offset_low = (uint16_t)handler,
	    .selector = PW_SEL_CODE,
	    .ist = (uint8_t)ist,
	    .type = IDT_GATE_PRESENT | IDT_GATE_INTERRUPT,
	    .offset_mid = (uint16_t)(handler >> 16),
	    .offset_high = (uint32_t)(handler >> 32),
	};
}

/* Fill the IDT page and load it; idempotent, and a no-op when the VMM owns the IDT. Gates above
 * 31 stay zero (not present): nothing here raises them, and a stray `int n` ends as a reported
 * #NP rather than running garbage. */
void pw_traps_init(void)
{
	const struct pw_boot_info *bi = pw_boot_info();
	volatile struct idt_gate *idt = (volatile struct idt_gate *)(uintptr_t)PW_IDT_GPA;
	struct idt_pointer ptr = {.limit = PW_IDT_SIZE - 1, .base = PW_IDT_GPA};

	if (bi->fault_mode == PW_FAULTS_VMM)
		return;
	for (unsigned v = 0; v < IDT_GATES; v++)
		idt[v] = v < PW_TRAP_VECTORS ? idt_gate(pw_trap_stubs[v], idt_ist(v))
					     : (struct idt_gate){0};
	__asm__ volatile("lidt %0" : : "m"(ptr) : "memory");
}
