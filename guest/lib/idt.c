/* The runtime's IDT (--faults=guest). Its 32 gates are assembled by guest/guest.ld at link time
 * (pw_idt_image, read-only), so installing it is one lidt: no loop runs at boot. #PF and #DF use
 * their own IST stacks (the VMM's TSS provides them). Guests that want to change gates get a
 * writable copy in the IDT page through pw_idt_edit. */
#include <pagewarden/guest.h>

#include "trap.h"

#define IDT_GATE_INTERRUPT 0xe	/* 64-bit interrupt gate: IF is cleared on entry */
#define IDT_GATE_PRESENT   0x80 /* P bit of the type byte; DPL 0 */
#define IDT_GATES_MAX	   (PW_IDT_SIZE / sizeof(struct pw_idt_gate))

struct idt_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

_Static_assert(sizeof(struct pw_idt_gate) == 16, "64-bit IDT gates are 16 bytes");

/* Load IDTR with base and limit. */
static void idt_load(uint64_t base, uint16_t limit)
{
	struct idt_pointer ptr = {.limit = limit, .base = base};

	__asm__ volatile("lidt %0" : : "m"(ptr) : "memory");
}

/* The IDTR in force. */
static struct idt_pointer idt_current(void)
{
	struct idt_pointer ptr;

	__asm__ volatile("sidt %0" : "=m"(ptr));
	return ptr;
}

#define DEBUG_STUB_SIZE 32 /* debug_traps.S */
_Static_assert(PW_PORT(PW_HC_DEBUG) == 0x507, "debug_traps.S's port");

extern const char pw_debug_stub_base[];

/* With a debugger attached: the link-time gates copied to the IDT page, each pointing at its
 * debug stub (debug_traps.S), which tells the VMM first and then enters the runtime's stub. */
static void idt_load_debug(void)
{
	volatile struct pw_idt_gate *page = (volatile struct pw_idt_gate *)(uintptr_t)PW_IDT_GPA;

	for (unsigned v = 0; v < PW_TRAP_VECTORS; v++) {
		struct pw_idt_gate g = pw_idt_image[v];
		uint64_t addr = (uint64_t)(uintptr_t)pw_debug_stub_base + DEBUG_STUB_SIZE * v;

		g.offset_low = (uint16_t)addr;
		g.offset_mid = (uint16_t)(addr >> 16);
		g.offset_high = (uint32_t)(addr >> 32);
		page[v] = g;
	}
	/* The same limit as the link-time table: a stray `int n` above 31 is still a #GP. */
	idt_load(PW_IDT_GPA, sizeof(pw_idt_image) - 1);
}

/* Load the link-time table; a no-op when the VMM owns the IDT. Vectors above 31 are beyond the
 * limit: a stray `int n` ends as a reported #GP (error code n * 8 + 2) rather than running
 * garbage. */
void pw_traps_init(void)
{
	const struct pw_boot_info *bi = pw_boot_info();

	if (bi->fault_mode == PW_FAULTS_VMM)
		return;
	if (bi->features & PW_BOOT_F_DEBUGGER) {
		idt_load_debug();
		return;
	}
	idt_load((uint64_t)(uintptr_t)pw_idt_image, sizeof(pw_idt_image) - 1);
}

volatile struct pw_idt_gate *pw_idt_edit(void)
{
	volatile struct pw_idt_gate *page = (volatile struct pw_idt_gate *)(uintptr_t)PW_IDT_GPA;
	struct idt_pointer cur = idt_current();

	if (cur.base == PW_IDT_GPA && cur.limit == PW_IDT_SIZE - 1)
		return page;
	/* The link-time gates, or whatever smaller table is in force, then not-present gates. */
	for (unsigned v = 0; v < IDT_GATES_MAX; v++)
		page[v] = (v + 1) * sizeof(struct pw_idt_gate) <= (unsigned)cur.limit + 1u
			      ? ((const struct pw_idt_gate *)(uintptr_t)cur.base)[v]
			      : (struct pw_idt_gate){0};
	idt_load(PW_IDT_GPA, PW_IDT_SIZE - 1);
	return page;
}

void pw_idt_set_handler(unsigned vector, void (*handler)(void), unsigned ist)
{
	volatile struct pw_idt_gate *idt = pw_idt_edit();
	uint64_t addr = (uint64_t)(uintptr_t)handler;

	if (vector >= IDT_GATES_MAX)
		panic("pw_idt_set_handler: vector %u is not below %u", vector,
		      (unsigned)IDT_GATES_MAX);
	idt[vector] = (struct pw_idt_gate){
	    .offset_low = (uint16_t)addr,
	    .selector = PW_SEL_CODE,
	    .ist = (uint8_t)(ist & 7),
	    .type = IDT_GATE_PRESENT | IDT_GATE_INTERRUPT,
	    .offset_mid = (uint16_t)(addr >> 16),
	    .offset_high = (uint32_t)(addr >> 32),
	};
}
