/* The demo guest (./guest.bin): a short tour of what a pagewarden guest sees. It decodes the
 * control registers, prints the layout the VMM described in the boot info, walks its own live
 * page tables with the paging library, does a little real work, and exits 0.
 * The tour is a table of stops; later stops (the guard-page tour) are added to `tour` below. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>
#include <pagewarden/pf_error.h>
#include <pagewarden/smp.h>
#include <pagewarden/user.h>

#include "paging.h"

int main(void);

/* A named bit of a control register, for decoding. */
struct bit_name {
	unsigned bit;
	const char *name;
};

static const struct bit_name cr0_bits[] = {
    {0, "PE"},	{1, "MP"},  {2, "EM"},	{3, "TS"},  {4, "ET"},	{5, "NE"},
    {16, "WP"}, {18, "AM"}, {29, "NW"}, {30, "CD"}, {31, "PG"},
};

static const struct bit_name cr4_bits[] = {
    {0, "VME"},		{1, "PVI"},   {2, "TSD"},   {3, "DE"},	      {4, "PSE"},
    {5, "PAE"},		{6, "MCE"},   {7, "PGE"},   {8, "PCE"},	      {9, "OSFXSR"},
    {10, "OSXMMEXCPT"}, {11, "UMIP"}, {12, "LA57"}, {16, "FSGSBASE"}, {17, "PCIDE"},
    {18, "OSXSAVE"},	{20, "SMEP"}, {21, "SMAP"}, {22, "PKE"},
};

static const struct bit_name efer_bits[] = {
    {0, "SCE"}, {8, "LME"}, {10, "LMA"}, {11, "NXE"}, {12, "SVME"}, {14, "FFXSR"},
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Work buffer for the sieve: one page of bss, so the VMM zeroed it and it is RW NX. Small on
 * purpose: on a nested host guest code may run in KVM's instruction emulator. */
#define SIEVE_LIMIT 4096
static uint8_t composite[SIEVE_LIMIT];

/* Initialised data (in .data, RW NX): the walk shows where it lives, the work stop writes it. */
static char demo_name[] = "pagewarden";

/* Print "  NAME  0x...  BIT BIT ..." with the names of the set bits of v. */
static void print_reg(const char *name, uint64_t v, const struct bit_name *bits, size_t n)
{
	printf("  %-5s %#18lx ", name, v);
	for (size_t i = 0; i < n; i++)
		if (v & (1ull << bits[i].bit))
			printf(" %s", bits[i].name);
	printf("\n");
}

/* Format size as "4 KiB" / "64 MiB" / "2 GiB" (exact units only) into buf. */
static const char *size_str(char *buf, size_t n, uint64_t size)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB"};
	unsigned u = 0;

	while (u + 1 < ARRAY_SIZE(units) && size >= 1024 && size % 1024 == 0) {
		size /= 1024;
		u++;
	}
	snprintf(buf, n, "%lu %s", size, units[u]);
	return buf;
}

/* Stop 1: the CPU state the VMM set up, decoded. */
static void show_cpu(void)
{
	uint64_t efer = pw_rdmsr(PW_MSR_EFER);

	printf("  running in %s\n",
	       (efer & (1u << 10)) ? "64-bit long mode (EFER.LMA=1)" : "legacy mode?!");
	print_reg("CR0", pw_read_cr0(), cr0_bits, ARRAY_SIZE(cr0_bits));
	printf("  %-5s %#18lx  PML4 at %#lx\n", "CR3", pw_read_cr3(),
	       (uint64_t)(pw_read_cr3() & PTE_ADDR_MASK_4K));
	print_reg("CR4", pw_read_cr4(), cr4_bits, ARRAY_SIZE(cr4_bits));
	print_reg("EFER", efer, efer_bits, ARRAY_SIZE(efer_bits));
}

/* Stop 2: the layout from the boot info: totals, then every region. */
static void show_layout(void)
{
	const struct pw_boot_info *bi = pw_boot_info();
	char a[24], b[24];

	printf("  RAM %s, heap %#lx-%#lx (%s, demand-paged)\n",
	       size_str(a, sizeof(a), bi->mem_size), bi->heap_start, bi->heap_end,
	       size_str(b, sizeof(b), bi->heap_end - bi->heap_start));
	printf("  page-table pool: next free frame %#lx, end %#lx (%s free)\n", bi->pt_pool_next,
	       bi->pt_pool_end, size_str(a, sizeof(a), bi->pt_pool_end - bi->pt_pool_next));
	printf("  cmdline \"%s\", %u regions:\n", pw_cmdline(), bi->nregions);
	for (uint32_t i = 0; i < bi->nregions; i++) {
		const struct pw_region *r = &bi->regions[i];

		printf("    %-12s 0x%09lx-0x%09lx %10s\n", pw_region_kind_name(r->kind), r->start,
		       r->start + r->size, size_str(a, sizeof(a), r->size));
	}
}

/* The guest reaches its tables through the identity map, so a frame's PA is its pointer. */
static void *identity_phys_to_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa;
}

/* Query-only handler: this stop never creates tables, so it hands out no frames. */
static uint64_t no_frames(void *ctx)
{
	(void)ctx;
	return 0;
}

static void no_free(void *ctx, uint64_t pa)
{
	(void)ctx;
	(void)pa;
}

static const struct pt_handler identity_handler = {
    .alloc_frame = no_frames,
    .free_frame = no_free,
    .phys_to_virt = identity_phys_to_virt,
};

/* Print one translation of va through pt: "what va -> pa size flags [region]". */
static void show_translation(const struct pt *pt, const char *what, uint64_t va)
{
	const struct pw_region *r = pw_region_at(va);
	const char *region = r ? pw_region_kind_name(r->kind) : "-";
	uint64_t pa, size;
	unsigned flags;
	char fl[32];
	enum pt_err err = pt_query(pt, va, &pa, &flags, &size);

	if (err != PT_OK) {
		printf("  %-10s 0x%08lx  %-22s [%s]\n", what, va, pt_strerror(err), region);
		return;
	}
	pt_flags_str(fl, sizeof(fl), flags);
	printf("  %-10s 0x%08lx -> 0x%08lx %2s %-6s [%s]\n", what, va, pa,
	       size == PT_SIZE_1G   ? "1G"
	       : size == PT_SIZE_2M ? "2M"
				    : "4K",
	       fl, region);
}

/* Stop 3: the paging library, linked into the guest, walks the live tables CR3 points to. */
static void show_paging(void)
{
	const struct pw_boot_info *bi = pw_boot_info();
	unsigned features = (bi->features & PW_BOOT_F_1G_PAGES) ? PT_FEAT_1G : 0;
	int on_stack = 0;
	struct pt pt;
	enum pt_err err;

	err = pt_attach(&pt, &identity_handler, pw_read_cr3() & PTE_ADDR_MASK_4K, bi->maxphyaddr,
			features);
	if (err != PT_OK) {
		printf("  pt_attach: %s\n", pt_strerror(err));
		return;
	}
	show_translation(&pt, "main()", (uint64_t)(uintptr_t)main);
	show_translation(&pt, "a string", (uint64_t)(uintptr_t) "rodata");
	show_translation(&pt, "data", (uint64_t)(uintptr_t)demo_name);
	show_translation(&pt, "stack var", (uint64_t)(uintptr_t)&on_stack);
	show_translation(&pt, "boot info", (uint64_t)(uintptr_t)bi);
	show_translation(&pt, "heap", bi->heap_start);
	show_translation(&pt, "page 0", 0);
}

/* Stop 4: some real work in RW NX memory: a sieve of Eratosthenes with a checksum. */
static void do_work(void)
{
	unsigned count = 0, largest = 0;
	uint64_t hash = 0xcbf29ce484222325ull; /* FNV-1a over the primes */

	for (unsigned i = 2; i * i < SIEVE_LIMIT; i++)
		if (!composite[i])
			for (unsigned j = i * i; j < SIEVE_LIMIT; j += i)
				composite[j] = 1;
	for (unsigned i = 2; i < SIEVE_LIMIT; i++) {
		if (composite[i])
			continue;
		count++;
		largest = i;
		hash = (hash ^ i) * 0x100000001b3ull;
	}
	printf("  sieve below %u: %u primes, largest %u, FNV-1a %#lx\n", SIEVE_LIMIT, count,
	       largest, hash);
	printf("  data \"%s\" ", demo_name);
	for (char *c = demo_name; *c; c++)
		*c = (char)(*c - 'a' + 'A');
	printf("uppercased in place: \"%s\"\n", demo_name);
}

/* A `ret` in data (RW NX): calling it must fault with I/D. */
static uint8_t data_ret[] = {0xc3};

/* One guard of the guard-page tour: how to touch it, where, and the kind that must come back. */
struct guard_visit {
	const char *what;
	bool (*probe)(uint64_t addr, struct pw_fault *f);
	uint64_t addr;
	unsigned kind;
};

/* Touch addr with probe and print one line: the kind, address and error code decoded. Returns
 * true if it faulted with the expected kind. */
static bool visit(const struct guard_visit *g)
{
	struct pw_fault f;
	char bits[32];
	bool ok;

	ok = g->probe(g->addr, &f) && f.kind == g->kind;
	pf_err_str(bits, sizeof(bits), f.error_code);
	printf("  %-22s %-15s %s at %#lx err %#lx (%s) rip %#lx: %s\n", g->what,
	       pw_fault_kind_name(f.kind), pw_exception_name(f.vector), f.cr2, f.error_code,
	       bits, f.rip, ok ? "caught, recovered" : "UNEXPECTED");
	return ok;
}

/* Stop 5: each guard in turn, caught and recovered; same kinds under --faults=guest and vmm. */
static void guard_tour(void)
{
	const struct guard_visit guards[] = {
	    {"null pointer read", pw_probe_read, 0x8, PW_FAULT_NULL},
	    {"stack guard read", pw_probe_read, PW_STACK_GUARD_GPA + 0x10, PW_FAULT_STACK_OVERFLOW},
	    {"write to text", pw_probe_write, (uint64_t)(uintptr_t)main, PW_FAULT_WRITE_PROTECT},
	    {"call into data", pw_probe_exec, (uint64_t)(uintptr_t)data_ret, PW_FAULT_NX_EXEC},
	    {"high guard read", pw_probe_read, PW_HIGH_GUARD_GPA + 0x20, PW_FAULT_HIGH_GUARD},
	    {"non-canonical read", pw_probe_read, 0x8000000000000000ull, PW_FAULT_EXCEPTION},
	};
	unsigned caught = 0;

	for (size_t i = 0; i < ARRAY_SIZE(guards); i++)
		caught += visit(&guards[i]);
	printf("  %u of %zu guards caught\n", caught, ARRAY_SIZE(guards));
}

/* Stop 6: the heap grows on first touch, a page at a time. */
static void grow_heap(void)
{
	const struct pw_boot_info *bi = pw_boot_info();
	unsigned pages = 4;

	for (unsigned i = 0; i < pages; i++)
		((volatile uint64_t *)(uintptr_t)(bi->heap_start + i * PW_PAGE_SIZE))[0] = i + 1;
	printf("  touched %u heap pages from %#lx: each mapped on its first fault\n", pages,
	       bi->heap_start);
}

/* Stop 7's user-mode code and data: on pages pw_user_init makes user-accessible. */
PW_USER_DATA static uint64_t user_counter = 41;

PW_USER_TEXT static long user_add(long x)
{
	return x + 1;
}

PW_USER_TEXT static long user_load(long addr)
{
	return *(volatile uint64_t *)addr;
}

/* pw_user_call under pw_expect_fault: the user-mode load of arg's address. */
static void user_load_call(void *addr)
{
	pw_user_call(user_load, (long)(uintptr_t)addr);
}

/* A probe for the tour: addr read by user-mode code (CPL 3). */
static bool user_probe_read(uint64_t addr, struct pw_fault *f)
{
	return pw_expect_fault(user_load_call, (void *)(uintptr_t)addr, f);
}

/* Stop 7: ring 3. A user-mode call and its result, then the faults that keep the rings apart,
 * each caught and recovered: a user read of kernel memory (U/S), a kernel fetch from a user page
 * (SMEP), a kernel read of user data (SMAP); and the same read allowed with EFLAGS.AC. */
static void user_mode(void)
{
	unsigned on;
	uint64_t kernel_data = (uint64_t)(uintptr_t)demo_name;
	uint64_t user_text = (uint64_t)(uintptr_t)user_add;
	uint64_t user_data = (uint64_t)(uintptr_t)&user_counter;
	const struct guard_visit visits[] = {
	    {"user read of kernel", user_probe_read, kernel_data, PW_FAULT_USER_SUPERVISOR},
	    {"kernel call into user", pw_probe_exec, user_text, PW_FAULT_SMEP},
	    {"kernel read of user", pw_probe_read, user_data, PW_FAULT_SMAP},
	};
	unsigned caught = 0, tried = 0;
	struct pw_fault f;
	bool faulted;

	if (pw_boot_info()->features & PW_BOOT_F_PROTECT_PT) {
		printf("  skipped: --protect-pt makes the page tables read-only, and user mode must "
		       "mark pages user-accessible\n");
		return;
	}
	on = pw_user_init();
	printf("  SMEP %s, SMAP %s; user stack and PW_USER_TEXT/PW_USER_DATA pages are U\n",
	       on & PW_USER_SMEP ? "on" : "not supported", on & PW_USER_SMAP ? "on" : "not supported");
	printf("  user_add(41) at CPL 3 returned %ld\n", pw_user_call(user_add, 41));
	for (size_t i = 0; i < ARRAY_SIZE(visits); i++) {
		if ((visits[i].kind == PW_FAULT_SMEP && !(on & PW_USER_SMEP)) ||
		    (visits[i].kind == PW_FAULT_SMAP && !(on & PW_USER_SMAP)))
			continue;
		tried++;
		caught += visit(&visits[i]);
	}
	if (on & PW_USER_SMAP) {
		pw_user_access_begin();
		faulted = pw_probe_read(user_data, &f);
		pw_user_access_end();
		printf("  %-22s %s\n", "...with EFLAGS.AC = 1", faulted ? "UNEXPECTED fault" : "allowed");
	}
	printf("  %u of %u user-mode faults caught\n", caught, tried);
}

/* ---- SMP (--cpus N > 1) ---- */

/* What each CPU saw, printed by CPU 0 in CPU order. */
static struct pw_fault smp_guard[PW_MAX_CPUS], smp_gone[PW_MAX_CPUS];
static volatile uint64_t smp_page[512] __attribute__((aligned(4096))) = {42};

/* The guard page below cpu's own stack. */
static uint64_t smp_stack_guard(unsigned cpu)
{
	return cpu == 0 ? PW_STACK_GUARD_GPA
			: pw_boot_info()->percpu_base + (cpu - 1) * PW_PERCPU_SIZE +
			      PW_PERCPU_STACK_GUARD;
}

/* Each CPU reads its own stack guard, then the shared page (so its TLB holds it). */
static void smp_touch(unsigned cpu, void *arg)
{
	(void)arg;
	pw_probe_read(smp_stack_guard(cpu) + 0x10, &smp_guard[cpu]);
	(void)smp_page[0];
}

/* Each CPU reads the shared page again, after the shootdown. */
static void smp_probe(unsigned cpu, void *arg)
{
	(void)arg;
	pw_probe_read((uint64_t)(uintptr_t)smp_page, &smp_gone[cpu]);
}

static void smp_tour(void)
{
	unsigned n = pw_cpu_count(), caught = 0, gone = 0, acks;
	uint64_t page = (uint64_t)(uintptr_t)smp_page;
	struct pt_flush fl;

	pw_cpus_run(smp_touch, NULL);
	for (unsigned cpu = 0; cpu < n; cpu++) {
		const struct pw_fault *f = &smp_guard[cpu];

		caught += f->faulted && f->kind == PW_FAULT_STACK_OVERFLOW;
		printf("  cpu %u: its stack guard 0x%llx: %s #PF at 0x%llx\n", cpu,
		       (unsigned long long)smp_stack_guard(cpu), pw_fault_kind_name(f->kind),
		       (unsigned long long)f->cr2);
	}
	printf("  %u of %u CPUs caught their own stack guard\n", caught, n);
	pt_flush_init(&fl);
	if (pt_unmap_region(pw_live_pt(), page, PW_PAGE_SIZE, 0, &fl) != PT_OK)
		panic("cannot unmap 0x%llx", (unsigned long long)page);
	acks = pw_pt_apply_flush(&fl);
	printf("  shootdown: 0x%llx unmapped on CPU 0, %u other CPUs invalidated and acknowledged\n",
	       (unsigned long long)page, acks);
	pw_cpus_run(smp_probe, NULL);
	for (unsigned cpu = 0; cpu < n; cpu++)
		gone += smp_gone[cpu].faulted && smp_gone[cpu].kind == PW_FAULT_UNMAPPED;
	printf("  %u of %u CPUs now fault on it (unmapped)\n", gone, n);
	pt_flush_init(&fl);
	if (pt_map(pw_live_pt(), page, page, PT_SIZE_4K, PT_READ | PT_WRITE, &fl) != PT_OK)
		panic("cannot map 0x%llx back", (unsigned long long)page);
	pw_pt_apply_flush(&fl);
}

/* One stop of the tour: a heading and what to show under it. */
struct tour_stop {
	const char *title;
	void (*show)(void);
};

static const struct tour_stop tour[] = {
    {"CPU state at entry", show_cpu},
    {"layout from the boot info", show_layout},
    {"the guest's own page tables (paging library, live CR3)", show_paging},
    {"some work", do_work},
    {"the guard-page tour (pw_expect_fault)", guard_tour},
    {"heap growth", grow_heap},
    {"user mode: ring 3, U/S, SMEP, SMAP", user_mode},
};

int main(void)
{
	printf("pagewarden demo guest\n");
	for (size_t i = 0; i < ARRAY_SIZE(tour); i++) {
		printf("== %s ==\n", tour[i].title);
		tour[i].show();
	}
	if (pw_cpu_count() > 1) {
		printf("== SMP: %u CPUs, each with its own guarded stacks ==\n", pw_cpu_count());
		smp_tour();
	}
	printf("demo done: exit 0\n");
	return 0;
}
