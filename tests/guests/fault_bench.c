/* The fault benchmark's guest (bench/bench_faults.c; docs/faults.md, "Cost"). Runs N iterations
 * of one kind, named on the command line (`./vmm fault_bench.bin KIND N`), through one loop that
 * every kind shares (fb_loop: same instructions, only the op it calls differs), and times them
 * with rdtsc. One untimed iteration goes first (warm-up, and it checks the fault's kind).
 * Prints "fault-bench KIND N CYCLES cycles" and exits 0; 1 if an iteration did not fault or exit
 * as its kind says, 2 for bad arguments or the wrong --faults mode. With a third word,
 * `untimed`, it prints "fault-bench KIND N untimed" instead: the same instructions for any
 * TSC reading, as `./vmm --count` needs to count what one iteration costs.
 *
 * Kinds, one fault or one exit per iteration (the guard faults all read 0x10, the null guard):
 *   loop       fb_touch of a mapped byte: no fault. The baseline the host subtracts.
 *   probe      pw_probe_read of a mapped byte: no fault; what the probe API costs by itself.
 *   bare       fb_touch of 0x10 with this file's own #PF gate (4 instructions, no runtime).
 *   recovered  pw_probe_read(0x10), reports off: the runtime's handler unwinds it, no exit.
 *   heap-grow  fb_touch of a fresh heap page, reports off: the runtime maps it, the read retries.
 *   reported   pw_probe_read(0x10), reports on: as recovered, plus one PW_HC_FAULT exit.
 *   vmm        pw_probe_read(0x10) under --faults=vmm: the VMM's stub exits, the VMM unwinds.
 *   pio        one PW_HC_CHECKPOINT outl: a port-I/O exit, no fault.
 *   user-call  pw_user_call of a function that returns its argument: SYSRET to CPL 3 and
 *              SYSCALL back, no fault (on PVM, whose SYSCALL stays at CPL 3, one #PF the
 *              runtime turns into the system call: docs/platforms.md).
 */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>
#include <pagewarden/user.h>

#define VECTOR_PF     14
#define GUARD_ADDR    0x10 /* in the null guard page: a not-present read, kind "null" */
#define MAX_ITERS     10000000u
#define EXIT_CHECK    1
#define EXIT_USAGE    2
#define ANY_MODE      (-1)
#define CHECKPOINT_ID 0xfb
#define HEAP_SPAN     512u /* heap pages heap-grow checks (one page table): at most HEAP_SPAN - 1 */

/* One iteration's work, shaped like pw_probe_read: true if a fault was caught and unwound (or,
 * for pio, the exit was taken). */
typedef bool (*fb_op)(uint64_t addr, struct pw_fault *f);

/* fb_touch(addr, f): read the byte at addr and return false. Under the bare gate a fault on the
 * read resumes at fb_touch_done with EAX = 1 (returns true); under the runtime a heap-grow fault
 * retries the read. fb_bare_pf: that gate's handler, with the CPU's #PF frame on its IST stack
 * (error code, RIP, CS, RFLAGS, RSP, SS): resume past the read, as if it had loaded a byte. */
__asm__(".text\n"
	".p2align 4\n"
	".type fb_touch, @function\n"
	"fb_touch:\n"
	"	xorl %eax, %eax\n"
	"	movb (%rdi), %cl\n"
	"fb_touch_done:\n"
	"	ret\n"
	".size fb_touch, . - fb_touch\n"
	".p2align 4\n"
	".type fb_bare_pf, @function\n"
	"fb_bare_pf:\n"
	"	movq $fb_touch_done, 8(%rsp)\n"
	"	movl $1, %eax\n"
	"	addq $8, %rsp\n"
	"	iretq\n"
	".size fb_bare_pf, . - fb_bare_pf\n");
bool fb_touch(uint64_t addr, struct pw_fault *f);
void fb_bare_pf(void);

/* What each kind runs, where, and what it needs. */
struct fb_kind {
	const char *name;
	fb_op op;
	int mode;     /* the --faults mode it needs (enum pw_fault_mode), or ANY_MODE */
	bool faults;  /* op returns true on every iteration */
	bool probe;   /* op is pw_probe_read: the warm-up checks the fault it catches */
	bool reports; /* pw_fault_reports during the run */
};

enum fb_kind_id {
	FB_LOOP,
	FB_PROBE,
	FB_BARE,
	FB_RECOVERED,
	FB_HEAP,
	FB_REPORTED,
	FB_VMM,
	FB_PIO,
	FB_USER,
	FB_KINDS
};

static bool fb_pio(uint64_t addr, struct pw_fault *f);
static bool fb_user(uint64_t addr, struct pw_fault *f);

static const struct fb_kind fb_kinds[FB_KINDS] = {
    [FB_LOOP] = {"loop", fb_touch, ANY_MODE, false, false, false},
    [FB_PROBE] = {"probe", pw_probe_read, ANY_MODE, false, true, false},
    [FB_BARE] = {"bare", fb_touch, PW_FAULTS_GUEST, true, false, false},
    [FB_RECOVERED] = {"recovered", pw_probe_read, PW_FAULTS_GUEST, true, true, false},
    [FB_HEAP] = {"heap-grow", fb_touch, PW_FAULTS_GUEST, false, false, false},
    [FB_REPORTED] = {"reported", pw_probe_read, PW_FAULTS_GUEST, true, true, true},
    [FB_VMM] = {"vmm", pw_probe_read, PW_FAULTS_VMM, true, true, true},
    [FB_PIO] = {"pio", fb_pio, ANY_MODE, true, false, false},
    [FB_USER] = {"user-call", fb_user, ANY_MODE, false, false, false},
};

static struct pw_hc_checkpoint fb_checkpoint = {.id = CHECKPOINT_ID};
static uint8_t fb_mapped_byte; /* bss: mapped at boot, the target of loop and probe */
static struct pw_idt_gate fb_saved_gate;

/* One exit: a checkpoint hypercall (the VMM counts it and resumes). */
static bool fb_pio(uint64_t addr, struct pw_fault *f)
{
	(void)addr;
	(void)f;
	pw_hypercall(PW_HC_CHECKPOINT, (uint64_t)(uintptr_t)&fb_checkpoint);
	return true;
}

/* At CPL 3: give x back. */
PW_USER_TEXT static long fb_user_echo(long x)
{
	return x;
}

/* One round trip to CPL 3 and back; false (no fault), like a read of a mapped byte. */
static bool fb_user(uint64_t addr, struct pw_fault *f)
{
	(void)f;
	return pw_user_call(fb_user_echo, (long)addr) != (long)addr;
}

/* Run op on addr, addr + stride, ... n times; returns how many calls returned true. Not inlined,
 * so that every kind runs exactly these instructions around its op. */
static __attribute__((noinline)) unsigned fb_loop(fb_op op, uint64_t addr, uint64_t stride,
						  unsigned n)
{
	unsigned caught = 0;

	for (unsigned i = 0; i < n; i++, addr += stride)
		caught += op(addr, NULL);
	return caught;
}

/* The time-stamp counter. */
static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* The #PF gate of the IDT in force, made writable (the runtime's own table is read-only). */
static volatile struct pw_idt_gate *fb_pf_gate(void)
{
	return pw_idt_edit() + VECTOR_PF;
}

/* Point the #PF gate at fb_bare_pf, keeping its selector, type and IST stack, so delivery costs
 * what it costs the runtime. Undo with fb_bare_gate_restore. */
static void fb_bare_gate_install(void)
{
	volatile struct pw_idt_gate *g = fb_pf_gate();
	uint64_t h = (uint64_t)(uintptr_t)fb_bare_pf;

	fb_saved_gate = *g;
	g->offset_low = (uint16_t)h;
	g->offset_mid = (uint16_t)(h >> 16);
	g->offset_high = (uint32_t)(h >> 32);
}

/* Give the runtime its #PF gate back. */
static void fb_bare_gate_restore(void)
{
	*fb_pf_gate() = fb_saved_gate;
}

/* True if, of the first HEAP_SPAN heap pages, exactly those below mapped are mapped. One
 * lookup and HEAP_SPAN entry reads whatever mapped is: the host subtracts a zero-iteration run,
 * so nothing outside the loop may cost more with N. The span lies in one page table (the heap is
 * 2 MiB aligned); until that table exists, one not-present entry above it covers the span. */
static bool fb_heap_span_is(unsigned mapped)
{
	pte_t *e;
	int level;

	if (pt_lookup(pw_live_pt(), pw_boot_info()->heap_start, 1, false, &e, &level) != PT_OK)
		return false;
	if (level != 1)
		return mapped == 0 && !(*e & PTE_P);
	for (unsigned i = 0; i < HEAP_SPAN; i++)
		if (!(e[i] & PTE_P) == (i < mapped)) {
			printf("fault-bench: heap page %u is %smapped\n", i,
			       i < mapped ? "un" : "");
			return false;
		}
	return true;
}

/* Check that the heap can grow n + 1 pages inside the span and none is mapped yet. */
static bool fb_heap_ready(unsigned n)
{
	const struct pw_boot_info *bi = pw_boot_info();

	if (n + 1 > HEAP_SPAN || bi->heap_start % PT_SIZE_2M != 0 ||
	    bi->heap_end - bi->heap_start < HEAP_SPAN * PW_PAGE_SIZE || pw_pt_pool_free() < 1) {
		printf(
		    "fault-bench: heap-grow runs at most %u iterations in a 2 MiB aligned heap of "
		    "%u pages or more, with a free page-table frame\n",
		    HEAP_SPAN - 1, HEAP_SPAN);
		return false;
	}
	return fb_heap_span_is(0);
}

/* The kind named by the first word of s, or FB_KINDS; *rest gets the text after that word. */
static unsigned fb_parse_kind(const char *s, const char **rest)
{
	size_t len;

	while (*s == ' ')
		s++;
	len = strchr(s, ' ') ? (size_t)(strchr(s, ' ') - s) : strlen(s);
	*rest = s + len;
	for (unsigned k = 0; k < FB_KINDS; k++)
		if (strlen(fb_kinds[k].name) == len && strncmp(fb_kinds[k].name, s, len) == 0)
			return k;
	return FB_KINDS;
}

/* The decimal count in s (0..MAX_ITERS), then nothing or " untimed" (*untimed), or -1. */
static long fb_parse_count(const char *s, bool *untimed)
{
	long v = 0;

	while (*s == ' ')
		s++;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++)
		if ((v = v * 10 + (*s - '0')) > (long)MAX_ITERS)
			return -1;
	*untimed = strcmp(s, " untimed") == 0;
	return *s == '\0' || *untimed ? v : -1;
}

/* The untimed first iteration: true if op did what kind k says, and for probes if the fault
 * was the expected one. */
static bool fb_warm_up(const struct fb_kind *k, uint64_t addr)
{
	struct pw_fault f = {0};

	if (k->op(addr, &f) != k->faults) {
		printf("fault-bench: %s: the first iteration %s\n", k->name,
		       k->faults ? "did not fault" : "faulted");
		return false;
	}
	if (k->probe && k->faults && (f.kind != PW_FAULT_NULL || f.cr2 != addr)) {
		printf("fault-bench: %s: caught %s at 0x%lx, want null at 0x%lx\n", k->name,
		       pw_fault_kind_name(f.kind), f.cr2, addr);
		return false;
	}
	return true;
}

/* Where kind id's iterations go: the first address and the step between them. */
static void fb_target(unsigned id, uint64_t *addr, uint64_t *stride)
{
	*stride = id == FB_HEAP ? PW_PAGE_SIZE : 0;
	*addr = id == FB_HEAP			  ? pw_boot_info()->heap_start
		: id == FB_LOOP || id == FB_PROBE ? (uint64_t)(uintptr_t)&fb_mapped_byte
						  : GUARD_ADDR;
}

/* Warm up, then time n iterations of kind id; *cycles gets the time. Returns an exit status. */
static int fb_run(unsigned id, unsigned n, uint64_t *cycles)
{
	const struct fb_kind *k = &fb_kinds[id];
	uint64_t addr, stride, t0;
	unsigned caught;

	fb_target(id, &addr, &stride);
	if (id == FB_HEAP && !fb_heap_ready(n))
		return EXIT_CHECK;
	pw_fault_reports(k->reports);
	if (id == FB_BARE)
		fb_bare_gate_install();
	if (!fb_warm_up(k, addr)) {
		if (id == FB_BARE)
			fb_bare_gate_restore();
		return EXIT_CHECK;
	}
	t0 = rdtsc();
	caught = fb_loop(k->op, addr + stride, stride, n);
	*cycles = rdtsc() - t0;
	if (id == FB_BARE)
		fb_bare_gate_restore();
	pw_fault_reports(true);
	if (caught != (k->faults ? n : 0)) {
		printf("fault-bench: %s: %u of %u iterations caught a fault\n", k->name, caught, n);
		return EXIT_CHECK;
	}
	if (id == FB_HEAP && !fb_heap_span_is(n + 1))
		return EXIT_CHECK;
	return 0;
}

/* After the bare run: the runtime's gate is back and catches the same fault. */
static bool fb_runtime_gate_back(void)
{
	struct pw_fault f;

	if (pw_probe_read(GUARD_ADDR, &f) && f.kind == PW_FAULT_NULL)
		return true;
	printf("fault-bench: bare: the runtime's #PF gate was not restored\n");
	return false;
}

int main(void)
{
	const char *rest;
	unsigned id = fb_parse_kind(pw_cmdline(), &rest);
	bool untimed = false;
	long n = fb_parse_count(rest, &untimed);
	uint64_t cycles = 0;
	int st;

	if (id == FB_KINDS || n < 0) {
		printf("usage: fault_bench.bin KIND N [untimed] (KIND: loop probe bare recovered "
		       "heap-grow reported vmm pio; N <= %u)\n",
		       MAX_ITERS);
		return EXIT_USAGE;
	}
	if (fb_kinds[id].mode != ANY_MODE &&
	    (unsigned)fb_kinds[id].mode != pw_boot_info()->fault_mode) {
		printf("fault-bench: %s needs --faults=%s\n", fb_kinds[id].name,
		       fb_kinds[id].mode == PW_FAULTS_VMM ? "vmm" : "guest");
		return EXIT_USAGE;
	}
	st = fb_run(id, (unsigned)n, &cycles);
	if (st == 0 && id == FB_BARE && !fb_runtime_gate_back())
		st = EXIT_CHECK;
	if (st == 0 && untimed)
		printf("fault-bench %s %ld untimed\n", fb_kinds[id].name, n);
	else if (st == 0)
		printf("fault-bench %s %ld %lu cycles\n", fb_kinds[id].name, n, cycles);
	return st;
}
