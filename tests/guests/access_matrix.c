/* The access matrix, in the manner of kvm-unit-tests' x86/access.c: build a mapping with chosen
 * P, R/W, U/S and XD bits at each of the four levels (the leaf at level 1, 2 or 3: PS), set
 * CR0.WP, CR4.SMEP, CR4.SMAP, EFLAGS.AC and EFER.NXE, perform a read, a write or a fetch at
 * CPL 0 or CPL 3, and compare what the CPU did (fault or not, error code, CR2; on success the
 * A bits of the levels walked and D of the leaf) with the paging library's model,
 * pt_check_access (paging/access.h). docs/faults.md describes the coverage.
 *
 * Arguments (any order): seed=N (default 1), count=N (combinations to run, default 12288,
 * rounded to whole configurations), full (every configuration instead of a sample), combo=0xX
 * (exactly one combination, as a mismatch line prints it), model-bug=wp (feed the model the
 * wrong CR0.WP: the matrix must notice), quirk=rsvd-without-p (accept a reserved-bit #PF
 * without P, as QEMU's emulation gives; counted and printed). Output: a mismatch line per
 * mismatch (the first 40), then "access matrix: ... N combinations, M mismatches". Exit 0 only if M = 0; 1 with
 * mismatches; 2 for a combo= this CPU cannot run.
 *
 * The mapping lives in PML4 slot 255 of private tables. The run switches to them: an identity
 * map of RAM with no XD bit anywhere (so EFER.NXE can be cleared), all supervisor but the
 * user-mode pages (PW_USER_TEXT and the user stack), and the slot under test. */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>
#include <pagewarden/pf_error.h>
#include <pagewarden/user.h>

#include "../test_rng.h" /* the host tests' seeded generator: freestanding */
#include "access.h"

#define VECTOR_PF    14
#define SLOT	     255ull
#define SCRATCH_BASE (SLOT << 39) /* VA = SCRATCH_BASE + the target frame's PA */
#define RET	     0xc3
#define FRAMES	     64
#define MAX_PRINTED  40

/* One combination, packed as mismatch lines print it (combo=0x...):
 * bits 4(L-1)..4(L-1)+3: P, R/W, U/S, XD of the level-L entry; 16-17: the leaf's level;
 * 18-22: WP, SMEP, SMAP, AC, NXE; 23-24: access kind (pt_access_kind); 25: user mode. */
#define C_LEVEL(c, l)	 (((c) >> (4 * ((l)-1))) & 0xf)
#define C_LEAF(c)	 (((c) >> 16) & 3)
#define C_CTX(c, bit)	 (((c) >> (18 + (bit))) & 1)
#define C_KIND(c)	 (((c) >> 23) & 3)
#define C_USER(c)	 (((c) >> 25) & 1)
#define E_P		 1u
#define E_RW		 2u
#define E_US		 4u
#define E_XD		 8u
enum { X_WP, X_SMEP, X_SMAP, X_AC, X_NXE, X_COUNT };

static pte_t frames[FRAMES][PT_ENTRIES] __attribute__((aligned(4096)));
static unsigned frames_used;
static pte_t s_pdpt[PT_ENTRIES] __attribute__((aligned(4096)));
static pte_t s_pd[PT_ENTRIES] __attribute__((aligned(4096)));
static pte_t s_pt[PT_ENTRIES] __attribute__((aligned(4096)));

static struct pt ident; /* the private tables: CR3 during the run */
static uint64_t target;	/* the frame every leaf maps: a `ret` at byte 0 */
static uint64_t va;	/* SCRATCH_BASE + target */
static bool has_smep, has_smap, has_1g, bug_wp, quirk_rsvd;
static unsigned mismatches, printed, quirked;

extern const char __pw_user_text_start[], __pw_user_text_end[];

/* ---- the private tables ---- */

static uint64_t frame_alloc(void *ctx)
{
	(void)ctx;
	return frames_used < FRAMES ? (uint64_t)(uintptr_t)frames[frames_used++] : 0;
}

static void frame_free(void *ctx, uint64_t pa)
{
	(void)ctx;
	(void)pa;
}

static void *identity(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (void *)(uintptr_t)pa;
}

static const struct pt_handler handler = {
    .alloc_frame = frame_alloc, .free_frame = frame_free, .phys_to_virt = identity};

/* Build ident: RAM identity-mapped RWX supervisor in 2 MiB pages, the user pages user-accessible
 * (RWX too: no XD bit may exist while NXE is off), PML4[SLOT] pointing at s_pdpt. */
static void tables_build(void)
{
	const struct pw_boot_info *bi = pw_boot_info();
	const struct pw_region *ustack = pw_region_find(PW_REGION_USER_STACK);
	unsigned rwx = PT_READ | PT_WRITE | PT_EXECUTE;
	uint64_t ut = (uint64_t)(uintptr_t)__pw_user_text_start;
	uint64_t ut_len = (uint64_t)(uintptr_t)__pw_user_text_end - ut;
	struct pt_flush fl;
	enum pt_err err;

	pt_flush_init(&fl);
	err = pt_init(&ident, &handler, bi->maxphyaddr, 0);
	if (!err)
		err = pt_map_region(&ident, 0, 0, bi->mem_size & ~(PT_SIZE_2M - 1), rwx, PT_MAP_HUGE,
				    &fl);
	if (!err && ut_len)
		err = pt_protect_region(&ident, ut, ut_len, rwx | PT_USER, 0, &fl);
	if (!err)
		err = pt_protect_region(&ident, ustack->start, ustack->size, rwx | PT_USER, 0, &fl);
	if (err)
		panic("cannot build the matrix's tables: %s", pt_strerror(err));
	((pte_t *)(uintptr_t)ident.root)[SLOT] = (uint64_t)(uintptr_t)s_pdpt | PTE_P | PTE_W;
}

/* x86 bits of an entry from the combination's 4 bits (A and D clear: the CPU sets them). */
static pte_t entry_bits(unsigned b)
{
	return ((b & E_P) ? PTE_P : 0) | ((b & E_RW) ? PTE_W : 0) | ((b & E_US) ? PTE_U : 0) |
	       ((b & E_XD) ? PTE_NX : 0);
}

/* The four entries of combination c, in s_pdpt/s_pd/s_pt and PML4[SLOT]; *e[l] points at the
 * level-l entry. invlpg flushes the translation and the paging-structure caches. */
static void mapping_write(uint32_t c, pte_t *e[5])
{
	pte_t *pml4 = (pte_t *)(uintptr_t)ident.root;
	unsigned leaf = C_LEAF(c);

	e[4] = &pml4[SLOT];
	e[3] = &s_pdpt[0];
	e[2] = &s_pd[(target >> 21) & 511];
	e[1] = &s_pt[(target >> 12) & 511];
	*e[4] = (uint64_t)(uintptr_t)s_pdpt | entry_bits(C_LEVEL(c, 4));
	*e[3] = leaf == 3 ? (0 | PTE_PS | entry_bits(C_LEVEL(c, 3)))
			  : ((uint64_t)(uintptr_t)s_pd | entry_bits(C_LEVEL(c, 3)));
	if (leaf <= 2)
		*e[2] = leaf == 2 ? ((target & ~(PT_SIZE_2M - 1)) | PTE_PS | entry_bits(C_LEVEL(c, 2)))
				  : ((uint64_t)(uintptr_t)s_pt | entry_bits(C_LEVEL(c, 2)));
	if (leaf == 1)
		*e[1] = target | entry_bits(C_LEVEL(c, 1));
	pw_invlpg(va);
}

/* ---- the accesses ---- */

PW_USER_TEXT static long user_read(long a)
{
	return *(volatile uint8_t *)a;
}

PW_USER_TEXT static long user_write(long a)
{
	__asm__ volatile("lock orb $0, (%0)" : : "r"(a) : "memory");
	return 0;
}

PW_USER_TEXT static long user_fetch(long a)
{
	((void (*)(void))a)();
	return 0;
}

struct user_arg {
	long (*fn)(long);
};

static void user_access(void *p)
{
	pw_user_call(((struct user_arg *)p)->fn, (long)va);
}

/* Perform c's access at va; *f what happened. */
static bool cpu_access(uint32_t c, struct pw_fault *f)
{
	static long (*const user_fn[])(long) = {user_read, user_write, user_fetch};
	bool faulted;

	if (C_USER(c)) {
		struct user_arg a = {user_fn[C_KIND(c)]};

		return pw_expect_fault(user_access, &a, f);
	}
	pw_set_ac(C_CTX(c, X_AC));
	faulted = C_KIND(c) == PT_ACC_READ    ? pw_probe_read(va, f)
		  : C_KIND(c) == PT_ACC_WRITE ? pw_probe_write(va, f)
					      : pw_probe_exec(va, f);
	pw_set_ac(false);
	return faulted;
}

/* ---- the control registers ---- */

static void write_cr(int n, uint64_t v)
{
	if (n == 0)
		__asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory");
	else if (n == 3)
		__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
	else
		__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

/* Put WP, SMEP, SMAP and NXE of c in force (AC is set per access), and flush the TLB. */
static void ctx_apply(uint32_t c)
{
	uint64_t cr0 = pw_read_cr0(), cr4 = pw_read_cr4(), efer = pw_rdmsr(PW_MSR_EFER);

	cr0 = C_CTX(c, X_WP) ? cr0 | PT_CR0_WP : cr0 & ~PT_CR0_WP;
	cr4 = C_CTX(c, X_SMEP) ? cr4 | PT_CR4_SMEP : cr4 & ~PT_CR4_SMEP;
	cr4 = C_CTX(c, X_SMAP) ? cr4 | PT_CR4_SMAP : cr4 & ~PT_CR4_SMAP;
	efer = C_CTX(c, X_NXE) ? efer | PT_EFER_NXE : efer & ~PT_EFER_NXE;
	write_cr(3, ident.root); /* first: the live tables' XD bits are reserved without NXE */
	write_cr(0, cr0);
	write_cr(4, cr4);
	pw_wrmsr(PW_MSR_EFER, efer);
	write_cr(3, ident.root); /* flush what the old settings cached */
}

/* ---- one combination ---- */

static const char *const kind_name[] = {"read", "write", "fetch"};

/* Describe c in one line's worth: "L4=P,RW,US L3=P,RW,PS L2=- ... ctx=wp,nxe user-write". */
static void combo_str(char *buf, size_t n, uint32_t c)
{
	static const char *const ctx_name[X_COUNT] = {"wp", "smep", "smap", "ac", "nxe"};
	size_t at = 0;

	for (unsigned l = 4; l >= C_LEAF(c) && l >= 1; l--) {
		unsigned b = C_LEVEL(c, l);

		at += (size_t)snprintf(buf + at, n - at, "L%u=%s%s%s%s%s ", l, b & E_P ? "P" : "-",
				       b & E_RW ? ",RW" : "", b & E_US ? ",US" : "",
				       b & E_XD ? ",XD" : "", l == C_LEAF(c) && l > 1 ? ",PS" : "");
	}
	at += (size_t)snprintf(buf + at, n - at, "ctx=");
	for (unsigned x = 0; x < X_COUNT; x++)
		if (C_CTX(c, x))
			at += (size_t)snprintf(buf + at, n - at, "%s,", ctx_name[x]);
	snprintf(buf + at, n - at, " %s-%s", C_USER(c) ? "user" : "supervisor",
		 kind_name[C_KIND(c)]);
}

/* Print a mismatch of c (got vs want, detail). */
static void mismatch(uint32_t c, const char *detail)
{
	char what[160];

	mismatches++;
	if (printed++ >= MAX_PRINTED)
		return;
	combo_str(what, sizeof(what), c);
	printf("MISMATCH combo=0x%x %s: %s; alone: combo=0x%x\n", c, what, detail, c);
}

/* Run combination c (its control bits already in force): true if the CPU agreed. */
static bool combo_run(uint32_t c)
{
	struct pt_access_ctx ctx = {.wp = C_CTX(c, X_WP) != bug_wp,
				    .smep = C_CTX(c, X_SMEP),
				    .smap = C_CTX(c, X_SMAP),
				    .ac = C_CTX(c, X_AC),
				    .nxe = C_CTX(c, X_NXE)};
	struct pt_access_result want;
	struct pw_fault f;
	pte_t *e[5];
	char d[160];
	bool faulted;

	mapping_write(c, e);
	if (pt_check_access(&ident, va, (enum pt_access_kind)C_KIND(c),
			    C_USER(c) ? PT_MODE_USER : PT_MODE_SUPERVISOR, &ctx, &want) != PT_OK)
		panic("the model cannot walk combination 0x%x", c);
	faulted = cpu_access(c, &f);
	/* quirk=rsvd-without-p (QEMU's emulation, docs/platforms.md): RSVD comes without P */
	if (quirk_rsvd && faulted && (want.error_code & PT_PF_RSVD) &&
	    f.error_code == (want.error_code & ~PT_PF_P)) {
		quirked++;
		f.error_code |= PT_PF_P;
	}
	if (faulted != !want.allowed || (faulted && (f.vector != VECTOR_PF ||
						     f.error_code != want.error_code || f.cr2 != va))) {
		snprintf(d, sizeof(d), "cpu %s vector %u err 0x%lx cr2 0x%lx, model %s err 0x%x (%s)",
			 faulted ? "faults" : "allows", faulted ? f.vector : 0,
			 faulted ? f.error_code : 0, faulted ? f.cr2 : 0,
			 want.allowed ? "allows" : "faults", want.error_code,
			 pt_access_why_name(want.why));
		mismatch(c, d);
		return false;
	}
	if (faulted)
		return true;
	for (unsigned l = 4; l >= C_LEAF(c); l--) {
		bool a = (*e[l] & PTE_A) != 0, wa = (want.accessed >> (l - 1)) & 1;

		if (a != wa) {
			snprintf(d, sizeof(d), "level %u A=%d, model A=%d", l, a, wa);
			mismatch(c, d);
			return false;
		}
	}
	if (((*e[C_LEAF(c)] & PTE_D) != 0) != want.dirty) {
		snprintf(d, sizeof(d), "leaf D=%d, model D=%d", (*e[C_LEAF(c)] & PTE_D) != 0,
			 want.dirty);
		mismatch(c, d);
		return false;
	}
	return true;
}

/* ---- the space ---- */

/* The control settings this CPU can take, as bits 18-22 of a combination; *n of them. */
static unsigned ctx_settings(uint32_t out[32])
{
	unsigned n = 0;

	for (uint32_t x = 0; x < 32; x++) {
		if (((x >> X_SMEP) & 1) && !has_smep)
			continue;
		if (((x >> X_SMAP) & 1) && !has_smap)
			continue;
		out[n++] = x << 18;
	}
	return n;
}

/* A random configuration (level bits and leaf), P set with probability 7/8 at each level so
 * most walks reach the leaf. */
static uint32_t config_random(void)
{
	uint64_t r = rnd();
	uint32_t c = 0;
	unsigned leaf = 1 + (unsigned)(r % (has_1g ? 3 : 2));

	r >>= 8;
	for (unsigned l = 4; l >= 1; l--, r >>= 7) {
		unsigned b = (unsigned)(r & 0xe) | ((r >> 4) & 7 ? E_P : 0);

		if (l >= leaf)
			c |= b << (4 * (l - 1));
	}
	return c | leaf << 16;
}

/* Run the 6 accesses (3 kinds x 2 modes) of configuration cfg under control setting x. */
static unsigned config_run(uint32_t cfg, uint32_t x)
{
	for (uint32_t k = 0; k < PT_ACC_KIND_COUNT; k++)
		for (uint32_t u = 0; u < 2; u++)
			combo_run(cfg | x | k << 23 | u << 25);
	return 6;
}

/* Every configuration of leaf level leaf (the bits of levels below it are unused). */
static uint64_t configs_all(uint32_t x, unsigned leaf)
{
	unsigned bits = 4 * (5 - leaf);
	uint64_t n = 0;

	for (uint32_t v = 0; v < (1u << bits); v++)
		n += config_run((v << (4 * (leaf - 1))) | leaf << 16, x);
	return n;
}

/* Parse "name=value" from the command line (hex with 0x); def if absent. */
static uint64_t arg(const char *name, uint64_t def)
{
	const char *s = pw_cmdline();
	size_t len = strlen(name);

	for (; s && *s; s = strchr(s, ' ') ? strchr(s, ' ') + 1 : NULL) {
		uint64_t v = 0;
		unsigned base = 10;

		if (strncmp(s, name, len) != 0 || s[len] != '=')
			continue;
		s += len + 1;
		if (s[0] == '0' && s[1] == 'x') {
			base = 16;
			s += 2;
		}
		for (; *s && *s != ' '; s++)
			v = v * base + (unsigned)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
		return v;
	}
	return def;
}

/* True if the bare word w is on the command line. */
static bool flag(const char *w)
{
	const char *s = pw_cmdline();
	size_t len = strlen(w);

	for (; s && *s; s = strchr(s, ' ') ? strchr(s, ' ') + 1 : NULL)
		if (strncmp(s, w, len) == 0 && (s[len] == ' ' || s[len] == 0))
			return true;
	return false;
}

int main(void)
{
	unsigned features = pw_user_init();
	uint64_t cr0 = pw_read_cr0(), cr4 = pw_read_cr4(), efer = pw_rdmsr(PW_MSR_EFER);
	uint64_t cr3 = pw_read_cr3(), seed = arg("seed", 1), count = arg("count", 12288);
	uint64_t combo = arg("combo", ~0ull), n = 0, space = 0;
	const struct pw_region *ram = pw_region_find(PW_REGION_RAM);
	uint32_t xs[32];
	unsigned nx;

	has_smep = features & PW_USER_SMEP;
	has_smap = features & PW_USER_SMAP;
	has_1g = pw_boot_info()->features & PW_BOOT_F_1G_PAGES;
	bug_wp = flag("model-bug=wp");
	quirk_rsvd = flag("quirk=rsvd-without-p");
	nx = ctx_settings(xs);
	target = ram->start;
	va = SCRATCH_BASE + target;
	if (target >= (1ull << 30))
		panic("the target frame 0x%lx is not below 1 GiB", target);
	*(volatile uint8_t *)(uintptr_t)target = RET;
	tables_build();
	pw_fault_reports(false);
	rng = seed;
	for (unsigned leaf = 1; leaf <= (has_1g ? 3u : 2u); leaf++)
		space += (1ull << (4 * (5 - leaf))) * nx * 6;

	if (combo != ~0ull) {
		uint32_t c = (uint32_t)combo;

		if (combo >> 26 || C_LEAF(c) == 0 || (C_LEAF(c) == 3 && !has_1g) ||
		    C_KIND(c) >= PT_ACC_KIND_COUNT || (C_CTX(c, X_SMEP) && !has_smep) ||
		    (C_CTX(c, X_SMAP) && !has_smap)) {
			printf("access matrix: combo=0x%lx is not a combination this CPU can run "
			       "(leaf 1-3, 3 only with 1 GiB pages; kind 0-2; SMEP/SMAP only where "
			       "the CPU has them)\n",
			       combo);
			return 2;
		}
		ctx_apply(c);
		combo_run(c);
		n = 1;
	} else {
		for (unsigned i = 0; i < nx; i++) {
			ctx_apply(xs[i]);
			if (flag("full"))
				for (unsigned leaf = 1; leaf <= (has_1g ? 3u : 2u); leaf++)
					n += configs_all(xs[i], leaf);
			else
				for (uint64_t k = 0; k < (count + 6 * nx - 1) / (6 * nx); k++)
					n += config_run(config_random(), xs[i]);
		}
	}
	write_cr(0, cr0);
	write_cr(4, cr4);
	pw_wrmsr(PW_MSR_EFER, efer); /* NXE back on before the live tables return */
	write_cr(3, cr3);
	pw_fault_reports(true);
	if (quirk_rsvd)
		printf("access matrix: %u reserved-bit faults came without P (quirk "
		       "rsvd-without-p)\n",
		       quirked);
	printf("access matrix: seed %lu, smep=%d smap=%d 1g=%d, %lu combinations of %lu (%s), %u "
	       "mismatches\n",
	       seed, has_smep, has_smap, has_1g, n, space,
	       combo != ~0ull ? "one" : flag("full") ? "full" : "sampled", mismatches);
	return mismatches ? 1 : 0;
}
