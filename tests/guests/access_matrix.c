/* The access matrix: for each leaf P/W/NX combination and each access (read, write, fetch),
 * set a scratch page's PTE on the live tables, flush it, perform the access with the probes and
 * compare the CPU's fault and error code with pf_model.h. One line per row; exit 0 only if every
 * row matches (else the number of mismatches). The pages around are untouched. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>

#include "pf_model.h"

#define CR0_WP	  (1ull << 16)
#define EFER_NXE  (1ull << 11)
#define VECTOR_PF 14
#define RET	  0xc3

/* The 4 KiB PTE of va, made so on the live tables (a 2 MiB page around it is split). */
static pte_t *scratch_pte(uint64_t va)
{
	struct pt_flush fl;
	pte_t *pte;
	int level;

	pt_flush_init(&fl);
	if (pt_lookup(pw_live_pt(), va, 1, false, &pte, &level) == PT_OK && level == 2)
		if (pt_split(pw_live_pt(), va, &fl) != PT_OK)
			panic("cannot split the 2 MiB page at 0x%lx", va);
	pw_tlb_flush(&fl);
	if (pt_lookup(pw_live_pt(), va, 1, false, &pte, &level) != PT_OK || level != 1 ||
	    !pte_present(*pte))
		panic("no 4 KiB PTE for 0x%lx", va);
	return pte;
}

/* Write leaf's bits (and A|D, so the CPU need not) into pte for page va, then flush it. */
static void set_leaf(pte_t *pte, uint64_t va, struct pf_leaf leaf)
{
	pte_t v = (*pte & PTE_ADDR_MASK_4K) | PTE_A | PTE_D;

	v |= (leaf.p ? PTE_P : 0) | (leaf.w ? PTE_W : 0) | (leaf.nx ? PTE_NX : 0);
	pte_write(pte, v);
	pw_invlpg(va);
}

/* Perform access a at va; the outcome as the CPU gave it. A fault that is not a #PF at va is
 * reported as a mismatch by the caller through *other. */
static struct pf_outcome cpu_access(uint64_t va, enum pf_access a, bool *other)
{
	struct pw_fault f;
	bool faulted = a == PF_ACCESS_READ    ? pw_probe_read(va, &f)
		       : a == PF_ACCESS_WRITE ? pw_probe_write(va, &f)
					      : pw_probe_exec(va, &f);

	*other = faulted && (f.vector != VECTOR_PF || f.cr2 != va);
	return (struct pf_outcome){faulted, faulted ? f.error_code : 0};
}

/* Format an outcome as "#PF err=0x11" or "none". */
static void outcome_str(char *buf, size_t n, struct pf_outcome o)
{
	if (o.fault)
		snprintf(buf, n, "#PF err=0x%lx", o.error_code);
	else
		snprintf(buf, n, "none");
}

/* Run one row and print it; true if the CPU matched the model. */
static bool row(pte_t *pte, uint64_t va, struct pf_cpu cpu, struct pf_leaf leaf, enum pf_access a)
{
	struct pf_outcome want = pf_model(cpu, leaf, a), got;
	char want_s[32], got_s[32];
	bool other, ok;

	set_leaf(pte, va, leaf);
	got = cpu_access(va, a, &other);
	ok = !other && got.fault == want.fault && got.error_code == want.error_code;
	outcome_str(want_s, sizeof(want_s), want);
	outcome_str(got_s, sizeof(got_s), got);
	printf("P=%d W=%d NX=%d %-5s: cpu=%s model=%s %s\n", leaf.p, leaf.w, leaf.nx,
	       pf_access_name(a), got_s, want_s,
	       ok      ? "ok"
	       : other ? "MISMATCH (not a #PF here)"
		       : "MISMATCH");
	return ok;
}

int main(void)
{
	const struct pw_region *ram = pw_region_find(PW_REGION_RAM);
	struct pf_cpu cpu = {
	    .wp = (pw_read_cr0() & CR0_WP) != 0,
	    .nxe = (pw_rdmsr(PW_MSR_EFER) & EFER_NXE) != 0,
	};
	unsigned rows = 0, bad = 0;
	uint64_t va;
	pte_t *pte, saved;

	if (!ram)
		panic("no RAM region");
	va = ram->start;
	pte = scratch_pte(va);
	saved = *pte;
	*(volatile uint8_t *)(uintptr_t)va = RET; /* for the fetches that succeed */
	printf("scratch page 0x%lx, CR0.WP=%d EFER.NXE=%d, ring 0 (U/S not tested)\n", va, cpu.wp,
	       cpu.nxe);
	for (int p = 0; p <= 1; p++)
		for (int w = 0; w <= 1; w++)
			for (int nx = 0; nx <= 1; nx++)
				for (int a = 0; a < PF_ACCESS_COUNT; a++, rows++)
					bad += !row(pte, va, cpu, (struct pf_leaf){p, w, nx},
						    (enum pf_access)a);
	pte_write(pte, saved);
	pw_invlpg(va);
	printf("%u rows, %u mismatches\n", rows, bad);
	return bad ? (int)(bad < 60 ? bad : 60) : 0;
}
