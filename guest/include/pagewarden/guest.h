/* The pagewarden guest SDK. A guest is a C file with `int main(void)`; its return value is the
 * exit code. Build one with `make guest SRC=file.c OUT=file.bin` (or OUT=file.elf).
 * Freestanding: no libc; this header declares everything the runtime offers.
 */
#ifndef PAGEWARDEN_GUEST_H
#define PAGEWARDEN_GUEST_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "layout.h"

/* ---- Console (buffered: one hypercall per line or full buffer, flushed at exit) ---- */

/* printf subset: %d %i %u %x %X %o %p %s %c %%, flags '-' '0' '+' ' ' '#', width and precision
 * (also '*'), length modifiers hh h l ll z t j. Returns the number of characters written. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
/* Write s and a newline. */
int puts(const char *s);
int putchar(int c);
/* Send buffered console output to the VMM now. */
void pw_flush(void);

/* ---- Strings and memory ---- */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
/* The first c in s, or the address of its terminating NUL (GNU strchrnul). */
char *strchrnul(const char *s, int c);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/* ---- Stopping ---- */

/* Exit code of a guest whose runtime found no valid boot info at entry (main never ran). */
#define PW_EXIT_BAD_BOOT_INFO 63
/* ./vmm's status for a crash (an unexpected fault, a panic); a PVH-booted guest stops with it
 * itself (docs/images.md). */
#define PW_EXIT_CRASHED 75

/* The VMM the guest runs under: ./vmm (hypercalls), or another VMM that booted the image
 * through its PVH entry (console on COM1, exit through isa-debug-exit; docs/images.md). */
enum pw_vmm { PW_VMM_PAGEWARDEN = 0, PW_VMM_PVH = 1 };
enum pw_vmm pw_vmm(void);

/* Flush the console and stop the VM with code (the VMM exits with code & 0xff). */
__attribute__((noreturn)) void exit(int code);

/* Report file:line and a formatted message to the VMM, which stops the guest as crashed. */
__attribute__((noreturn, format(printf, 3, 4))) void pw_panic(const char *file, int line,
							      const char *fmt, ...);
#define panic(...) pw_panic(__FILE__, __LINE__, __VA_ARGS__)
#define assert(cond)                                                                               \
	do {                                                                                       \
		if (!(cond))                                                                       \
			pw_panic(__FILE__, __LINE__, "assertion failed: %s", #cond);               \
	} while (0)

/* ---- Talking to the VMM ---- */

/* Issue hypercall nr with arg (a pointer to its argument struct, or a value for PW_HC_TRAP). */
static inline void pw_hypercall(unsigned nr, uint64_t arg)
{
	__asm__ volatile("outl %0, %w1"
			 :
			 : "a"((uint32_t)arg), "Nd"((uint16_t)PW_PORT(nr))
			 : "memory");
}

/* Mark a point in the run (tracing, fault-injection triggers). */
void pw_checkpoint(uint64_t id, uint64_t value);

/* The boot info the VMM passed in RDI. */
const struct pw_boot_info *pw_boot_info(void);

/* The first region of kind, or NULL. */
const struct pw_region *pw_region_find(unsigned kind);

/* The region containing addr, or NULL. */
const struct pw_region *pw_region_at(uint64_t addr);

/* The guest's command line (arguments after the image on the ./vmm command line). */
const char *pw_cmdline(void);

/* ---- Faults ----
 * Under --faults=guest (the default) the runtime installs an IDT for all 32 exception vectors
 * (#PF and #DF on their own IST stacks) before main; under --faults=vmm the VMM owns the IDT and
 * the runtime leaves it alone. Either way: heap pages are mapped on first touch, expected faults
 * come back to the caller, and any other fault stops the guest as a crash with a report. */
struct pw_fault {
	bool faulted;
	unsigned vector;     /* 14 for #PF */
	unsigned kind;	     /* enum pw_fault_kind */
	uint64_t error_code; /* as pushed by the CPU (0 for vectors without one) */
	uint64_t cr2;	     /* faulting address for #PF */
	uint64_t rip;	     /* instruction that faulted */
};

/* Run fn(arg); if it faults, unwind back here and describe the fault in *f (which may be NULL).
 * Returns true if it faulted. Not reentrant: fn must not call pw_expect_fault. */
bool pw_expect_fault(void (*fn)(void *), void *arg, struct pw_fault *f);

/* Probes built on pw_expect_fault. The write probe is `lock orb $0, (addr)`: a write access
 * that leaves memory unchanged. The exec probe calls addr, which must hold a `ret` (0xc3) if it
 * is expected to succeed. Each returns true if the access faulted. */
bool pw_probe_read(uint64_t addr, struct pw_fault *f);
bool pw_probe_write(uint64_t addr, struct pw_fault *f);
bool pw_probe_exec(uint64_t addr, struct pw_fault *f);

/* Report recovered faults (expected faults, heap growth) to the VMM: on by default. Turning it off
 * saves one exit per fault; crashes are always reported. */
void pw_fault_reports(bool on);

/* Install the runtime's IDT. The runtime calls it before main under --faults=guest: IDTR then
 * points at a read-only 32-gate table built at link time (vectors above 31 raise #GP). */
void pw_traps_init(void);

/* One 64-bit IDT gate (Intel SDM vol. 3, 6.14.1). */
struct pw_idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;  /* bits 2:0: IST slot, 0 = stay on the current stack */
	uint8_t type; /* 0x8e: present, DPL 0, 64-bit interrupt gate */
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} __attribute__((packed));

/* The IDT in force, writable, with room for all 256 vectors: under --faults=guest the runtime's
 * read-only table is first copied to the IDT page (PW_IDT_GPA) and IDTR reloaded there; under
 * --faults=vmm the VMM's table already is there. For guests that install their own handlers. */
volatile struct pw_idt_gate *pw_idt_edit(void);

/* Point vector's gate at handler (an interrupt gate in the code segment) on IST slot ist. */
void pw_idt_set_handler(unsigned vector, void (*handler)(void), unsigned ist);

/* ---- CPU access ---- */
static inline uint64_t pw_read_cr0(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}
static inline uint64_t pw_read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}
static inline uint64_t pw_read_cr3(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline uint64_t pw_read_cr4(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline uint64_t pw_read_rflags(void)
{
	uint64_t v;

	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}
static inline uint64_t pw_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}
static inline void pw_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
/* CPUID leaf, subleaf 0. */
struct pw_cpuid {
	uint32_t eax, ebx, ecx, edx;
};
static inline struct pw_cpuid pw_cpuid(uint32_t leaf)
{
	struct pw_cpuid r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(0));
	return r;
}
static inline void pw_invlpg(uint64_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

#define PW_MSR_EFER 0xc0000080u

#endif
