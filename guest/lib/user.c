/* User mode: SYSCALL/SYSRET set-up, the user pages, SMEP/SMAP, and pw_user_call on top of the
 * ring crossings in user_entry.S. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>
#include <pagewarden/user.h>

#include "access.h"
#include "trap.h"

#define MSR_STAR   0xc0000081u
#define MSR_LSTAR  0xc0000082u
#define MSR_FMASK  0xc0000084u
#define EFER_SCE   (1ull << 0)
#define CPUID_SMEP (1u << 7)  /* leaf 7, subleaf 0, EBX */
#define CPUID_SMAP (1u << 20) /* leaf 7, subleaf 0, EBX */
/* FMASK: SYSCALL clears TF, IF, DF, NT and AC, so the kernel side starts clean. */
#define FMASK_BITS ((1ull << 8) | (1ull << 9) | (1ull << 10) | (1ull << 14) | (1ull << 18))

_Static_assert(PW_TSS_GPA + 4 == 0x2804, "user_entry.S's TSS_RSP0");

extern const char __pw_user_text_start[], __pw_user_text_end[];
extern char __pw_user_data_start[], __pw_user_data_end[];
long pw_user_enter(long (*fn)(long), long arg, uint64_t user_rsp);
void pw_user_syscall(void);
extern uint64_t pw_user_syscall_rip; /* traps.S */

static bool user_ready;
static unsigned user_features; /* PW_USER_* turned on */
static uint64_t user_rsp;      /* top of the user stack */

/* EBX of CPUID leaf 7, subleaf 0 (0 if the leaf is absent). */
static uint32_t cpuid7_ebx(void)
{
	return pw_cpuid(0).eax < 7 ? 0 : pw_cpuid(7).ebx;
}

/* Turn on SMEP and SMAP where the CPU has them; the PW_USER_* bits turned on. */
static unsigned protections_on(void)
{
	uint32_t ebx = cpuid7_ebx();
	uint64_t cr4 = pw_read_cr4();
	unsigned on = 0;

	if (ebx & CPUID_SMEP) {
		cr4 |= PT_CR4_SMEP;
		on |= PW_USER_SMEP;
	}
	if (ebx & CPUID_SMAP) {
		cr4 |= PT_CR4_SMAP;
		on |= PW_USER_SMAP;
	}
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
	return on;
}

/* Map [va, va + len) with flags | PT_USER on the live tables and flush. */
static enum pt_err map_user(uint64_t va, uint64_t len, unsigned flags)
{
	uint64_t start = va & ~(PW_PAGE_SIZE - 1);
	uint64_t end = (va + len + PW_PAGE_SIZE - 1) & ~(PW_PAGE_SIZE - 1);
	struct pt_flush fl;
	enum pt_err err;

	if (len == 0)
		return PT_OK;
	if (end <= start)
		return PT_EADDR;
	pt_flush_init(&fl);
	err = pt_protect_region(pw_live_pt(), start, end - start, flags | PT_USER, 0, &fl);
	pw_tlb_flush(&fl);
	return err;
}

unsigned pw_user_init(void)
{
	const struct pw_region *stack;
	enum pt_err err;

	if (user_ready)
		return user_features;
	if (pw_boot_info()->features & PW_BOOT_F_PROTECT_PT)
		panic("user mode makes pages user-accessible in the page tables, which --protect-pt "
		      "puts in a read-only memslot");
	stack = pw_region_find(PW_REGION_USER_STACK);
	if (!stack)
		panic("no user stack in the boot info (a VMM older than user mode?)");
	user_rsp = stack->start + stack->size;
	err = map_user((uint64_t)(uintptr_t)__pw_user_text_start,
		       (uint64_t)(__pw_user_text_end - __pw_user_text_start), PT_READ | PT_EXECUTE);
	if (err == PT_OK)
		err = map_user((uint64_t)(uintptr_t)__pw_user_data_start,
			       (uint64_t)(__pw_user_data_end - __pw_user_data_start),
			       PT_READ | PT_WRITE);
	if (err != PT_OK)
		panic("cannot map the user pages: %s", pt_strerror(err));
	pw_wrmsr(PW_MSR_EFER, pw_rdmsr(PW_MSR_EFER) | EFER_SCE);
	pw_wrmsr(MSR_STAR, (uint64_t)PW_SEL_USER_BASE << 48 | (uint64_t)PW_SEL_CODE << 32);
	pw_wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)pw_user_syscall);
	pw_wrmsr(MSR_FMASK, FMASK_BITS);
	pw_user_syscall_rip = (uint64_t)(uintptr_t)pw_user_syscall;
	user_features = protections_on();
	user_ready = true;
	return user_features;
}

long pw_user_call(long (*fn)(long), long arg)
{
	/* One user stack, CPU 0's TSS and SYSCALL MSRs: user mode is CPU 0's (docs/smp.md). */
	if (pw_this_cpu()->id != 0)
		panic("pw_user_call on CPU %u: user mode runs on CPU 0 only", pw_this_cpu()->id);
	if (!user_ready)
		pw_user_init();
	return pw_user_enter(fn, arg, user_rsp);
}

enum pt_err pw_map_user(uint64_t va, uint64_t len, unsigned flags)
{
	pw_user_init();
	return map_user(va, len, flags);
}

void pw_set_ac(bool on)
{
	uint64_t f = pw_read_rflags();

	f = on ? f | PT_RFLAGS_AC : f & ~PT_RFLAGS_AC;
	__asm__ volatile("pushq %0; popfq" : : "r"(f) : "memory", "cc");
}

void pw_user_access_begin(void)
{
	if (user_features & PW_USER_SMAP)
		pw_set_ac(true);
}

void pw_user_access_end(void)
{
	if (user_features & PW_USER_SMAP)
		pw_set_ac(false);
}
