/* The exception dispatcher (--faults=guest): classify the fault with the boot-info layout, then
 * grow the heap and retry, unwind an armed pw_expect_fault, or report a crash and stop.
 * docs/faults.md describes the kinds and the reports. */
#include <pagewarden/classify.h>
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>
#include <pagewarden/pf_error.h>
#include <pagewarden/smp.h>

#include "runtime.h"
#include "trap.h"

#define VECTOR_DF    8
#define VECTOR_PF    14
#define LINE_MAX     200
#define DEPTH_NESTED 2 /* the handler faulted: report that, classified without the layout */
#define DEPTH_GIVEUP 3 /* faulted again while reporting it: stop without another word */

bool pw_reports_on = true;
/* Handlers running right now. IST resets RSP to the stack top on every #PF, so a #PF inside the
 * #PF handler has already overwritten the outer frame: it can only be reported, never resumed. */
uint64_t pw_heap_start, pw_heap_size, pw_heap_end;

/* What the dispatcher knows about one exception. */
struct fault {
	unsigned kind;
	uint64_t cr2; /* #PF only; 0 otherwise (CR2 is not written by other vectors) */
};

void pw_fault_reports(bool on)
{
	pw_reports_on = on;
}

void pw_trap_fast_init(void)
{
	static bool done;
	const struct pw_region *r;

	if (done)
		return;
	r = pw_region_find(PW_REGION_HEAP);
	pw_heap_start = r ? r->start : 0;
	pw_heap_size = r ? r->size : 0;
	pw_heap_end = pw_heap_start + pw_heap_size;
	done = true;
}

/* Stop as a crash without the VMM's help (a report that returned, or a fault while reporting):
 * with an empty IDT the #UD cannot be delivered, which escalates to a triple fault, and the VMM
 * reports KVM_EXIT_SHUTDOWN as a crash. Not hlt: the VMM takes hlt for a clean stop. */
__attribute__((noreturn)) static void stop_hard(void)
{
	static const struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) no_idt = {0, 0};

	for (;;)
		__asm__ volatile("cli; lidt %0; ud2" : : "m"(no_idt));
}

/* A table frame for the classifier's walk: identity below RAM's end, NULL outside RAM (a
 * corrupted entry's address, as fault injection makes), which pt_check_access reports as a
 * walk it cannot make instead of faulting in the handler. */
static void *walk_frame(void *ctx, uint64_t pa)
{
	uint64_t ram = pw_boot_info()->mem_size;

	(void)ctx;
	return pa < ram && ram - pa >= PW_PAGE_SIZE ? (void *)(uintptr_t)pa : NULL;
}

static const struct pt_handler walk_handler = {.phys_to_virt = walk_frame};

const struct pt_access_result *pw_fault_walk(uint64_t cr2, uint64_t err, uint64_t rflags,
					     struct pt_access_result *res)
{
	const struct pw_boot_info *bi = pw_boot_info();
	struct pt_access_ctx ctx;
	/* read-only: the tables CR3 points at now, whatever pw_live_pt is attached to */
	struct pt cur = {.root = pw_read_cr3() & PTE_ADDR_MASK_4K,
			 .h = &walk_handler,
			 .maxphyaddr = bi->maxphyaddr,
			 .features = bi->features & PW_BOOT_F_1G_PAGES ? PT_FEAT_1G : 0};

	if (!pw_pf_is_protection(err)) /* before the register reads (rdmsr may exit) */
		return NULL;
	ctx = pt_access_ctx_of(pw_read_cr0(), pw_read_cr4(), pw_rdmsr(PW_MSR_EFER), rflags);
	return pw_pf_walk(&cur, cr2, err, &ctx, res) ? res : NULL;
}

/* Kind of a #PF with the shared classifier (classify.h). With use_layout false (nested faults)
 * neither the boot info nor the tables are read, as they may be what faulted. */
static unsigned classify_pf(uint64_t cr2, uint64_t err, uint64_t rflags, bool use_layout)
{
	const struct pw_boot_info *bi = use_layout ? pw_boot_info() : NULL;
	struct pt_access_result walk;

	if (!bi)
		return pw_classify_pf(NULL, 0, cr2, err, NULL);
	/* the common case first: heap growth, without scanning every region */
	pw_trap_fast_init();
	if (pw_pf_is_heap_grow(pw_heap_start, pw_heap_size, cr2, err))
		return PW_FAULT_HEAP_GROW;
	return pw_classify_pf(bi->regions, bi->nregions, cr2, err,
			      pw_fault_walk(cr2, err, rflags, &walk));
}

/* Describe the exception in tf. */
static struct fault classify(const struct pw_trap_frame *tf, bool use_layout)
{
	struct fault f = {.kind = PW_FAULT_EXCEPTION};

	if (tf->vector == VECTOR_PF) {
		f.cr2 = pw_read_cr2();
		f.kind = classify_pf(f.cr2, tf->error_code, tf->rflags, use_layout);
	}
	return f;
}

/* Tell the VMM about fault f; with recovered false the VMM stops the guest as a crash. */
static void report(const struct pw_trap_frame *tf, const struct fault *f, bool recovered)
{
	struct pw_hc_fault hc = {
	    .kind = f->kind,
	    .vector = (uint32_t)tf->vector,
	    .error_code = tf->error_code,
	    .gva = f->cr2,
	    .rip = tf->rip,
	    .rsp = tf->rsp,
	    .recovered = recovered,
	    /* a crash: where the faulting context's registers are, for the VMM's --core */
	    .frame = recovered ? 0 : (uint32_t)(uintptr_t)tf,
	};

	if (pw_pvh) {
		if (!recovered)
			pvh_crash_report(&hc);
		return;
	}
	pw_hypercall(PW_HC_FAULT, (uint64_t)(uintptr_t)&hc);
}

/* Write s straight to the console, after whatever the guest had buffered. Bypasses printf's
 * buffer in case the fault hit inside printf. */
static void console_line(const char *s, size_t len)
{
	struct pw_hc_console hc = {.buf = (uint64_t)(uintptr_t)s, .len = len};

	if (pw_pvh) {
		pvh_console_write(s, len);
		return;
	}
	pw_hypercall(PW_HC_CONSOLE, (uint64_t)(uintptr_t)&hc);
}

/* Format the one-line description of a crash:
 * "fault: stack-overflow at 0xffe8 rip 0x100123 err 0x2 (W)" or
 * "fault: exception #GP (vector 13) rip 0x100123 err 0x0". Returns the length. */
static size_t format_fault(char *buf, size_t n, const struct pw_trap_frame *tf,
			   const struct fault *f)
{
	char bits[32];
	int len;

	if (tf->vector == VECTOR_PF) {
		pf_err_str(bits, sizeof(bits), tf->error_code);
		len = snprintf(buf, n, "fault: %s at 0x%lx rip 0x%lx err 0x%lx (%s)\n",
			       pw_fault_kind_name(f->kind), f->cr2, tf->rip, tf->error_code, bits);
	} else {
		len = snprintf(buf, n, "fault: exception %s (vector %lu) rip 0x%lx err 0x%lx\n",
			       pw_exception_name((unsigned)tf->vector), tf->vector, tf->rip,
			       tf->error_code);
	}
	return len < 0 ? 0 : (size_t)len < n ? (size_t)len : n - 1;
}

/* Print why (a line of its own, may be NULL) and the fault, report it unrecovered and stop. */
__attribute__((noreturn)) static void crash(const struct pw_trap_frame *tf, const struct fault *f,
					    const char *why)
{
	char line[LINE_MAX];

	if (pw_this_cpu()->trap_depth < DEPTH_NESTED)
		pw_flush();
	if (why)
		console_line(why, strlen(why));
	console_line(line, format_fault(line, sizeof(line), tf, f));
	report(tf, f, false);
	stop_hard(); /* the VMM stops the guest on that report; never trust it */
}

/* Taken over a heap page's mapping: CPUs that grow the heap at once would take the same table
 * frame, or fill the same entry twice. */
static struct pw_spinlock heap_lock;

/* Map the heap page holding cr2 read-write and not executable, so that the faulting
 * instruction succeeds when retried. */
static enum pt_err heap_grow(uint64_t cr2)
{
	uint64_t page = cr2 & ~(PW_PAGE_SIZE - 1);
	struct pt_flush fl;
	enum pt_err err;
	unsigned flags = 0;

	pt_flush_init(&fl);
	pw_spin_lock(&heap_lock);
	err = pt_map(pw_live_pt(), page, page, PT_SIZE_4K, PT_READ | PT_WRITE, &fl);
	/* Another CPU faulted on the same page and mapped it first: nothing is left to do. */
	if (err == PT_EEXIST && pt_query(pw_live_pt(), page, NULL, &flags, NULL) == PT_OK &&
	    (flags & PT_WRITE))
		err = PT_OK;
	pw_spin_unlock(&heap_lock);
	/* x86 does not cache not-present entries, but a flush is what the library asks for. */
	pw_tlb_flush(&fl);
	return err;
}

/* Grow the heap for f or stop with the reason. */
static void heap_fault(const struct pw_trap_frame *tf, struct fault *f)
{
	enum pt_err err = heap_grow(f->cr2);

	if (err == PT_OK)
		return;
	f->kind = PW_FAULT_UNMAPPED;
	crash(tf, f,
	      err == PT_ENOMEM ? "heap: page-table pool exhausted\n"
			       : "heap: cannot map the page\n");
}

/* Leave the handler to resume at tf->rip, reporting the recovered fault if wanted. */
static void resume(const struct pw_trap_frame *tf, const struct fault *f)
{
	if (pw_reports_on)
		report(tf, f, true);
	pw_this_cpu()->trap_depth--;
}

void pw_trap_dispatch(struct pw_trap_frame *tf)
{
	struct fault f;

	if (++pw_this_cpu()->trap_depth >= DEPTH_GIVEUP)
		stop_hard();
	if (pw_this_cpu()->trap_depth == DEPTH_NESTED) {
		f = classify(tf, false);
		crash(tf, &f, "fault: fault inside the fault handler\n");
	}
	if (tf->vector == VECTOR_DF) {
		f = (struct fault){.kind = PW_FAULT_EXCEPTION};
		crash(tf, &f, "fault: double fault (a fault while delivering another)\n");
	}
	f = classify(tf, true);
	if (f.kind == PW_FAULT_HEAP_GROW) {
		heap_fault(tf, &f);
		resume(tf, &f);
		return;
	}
	/* An armed pw_expect_fault gets here only when heap growth inside it failed (heap_fault
	 * crashed above) or when traps.S and this dispatcher disagree: traps.S unwinds every
	 * other fault of an armed probe. Say so, rather than report an expected fault. */
	if (pw_this_cpu()->rec.armed)
		crash(tf, &f, "fault: an armed pw_expect_fault reached the dispatcher\n");
	crash(tf, &f, NULL);
}
