/* pw_expect_fault and the probes on every guard: each case states the fault it expects (kind,
 * vector, error code, CR2) and the runtime's report must match it exactly. Prints one line per
 * case ("expect null vector=14 err=0x0 cr2=0x10 ok") and exits 0 only if all matched, else with
 * the number of mismatches. Also checks that no fault means false, that the heap grows inside a
 * probe, that DF is clear after an unwind, and that callee-saved registers survive one.
 * Everything runs twice: with fault reports on (traps.S reports each fault unclassified and the
 * VMM classifies it; the host test checks those kinds) and off; pw_expect_fault classifies
 * either way, and both passes must give the same. */
#include <pagewarden/guest.h>
#include <pagewarden/pf_error.h>

#define VECTOR_DE     0
#define VECTOR_UD     6
#define VECTOR_GP     13
#define VECTOR_PF     14
#define NON_CANONICAL 0x0000800000000000ull
#define ABOVE_4G      0x100000000ull /* nothing is mapped above 4 GiB */

enum probe { READ, WRITE, EXEC, CALL };

struct expect_case {
	const char *what;
	enum probe probe;
	uint64_t addr;	    /* READ/WRITE/EXEC */
	void (*fn)(void *); /* CALL */
	bool faults;
	unsigned kind, vector;
	uint64_t err, cr2;
};

static uint8_t data_ret[16] = {0xc3}; /* ret, in a non-executable data page */

/* Executes ud2. */
static void do_ud2(void *arg)
{
	(void)arg;
	__asm__ volatile("ud2");
}

/* Divides by zero. */
static void do_div0(void *arg)
{
	uint64_t q = 1, d = (uint64_t)(uintptr_t)arg;

	__asm__ volatile("xorl %%edx, %%edx; divq %1" : "+a"(q) : "r"(d) : "rdx");
}

/* Sets DF, then reads the null page: the unwind must leave DF clear for the C code after it. */
static void do_std_fault(void *arg)
{
	(void)arg;
	__asm__ volatile("std; movb 0x28, %%al" : : : "rax", "memory");
}

/* Does nothing: no fault. */
static void do_nothing(void *arg)
{
	(void)arg;
}

/* Sets rbx, rbp and r12..r15 to garbage, then reads the null page: the unwind must restore the
 * caller's values (checked by callee_saved_survive). */
void clobber_and_fault(void *arg);
__asm__(".text\n"
	".type clobber_and_fault, @function\n"
	"clobber_and_fault:\n"
	"	movq $-1, %rbx\n"
	"	movq $-1, %rbp\n"
	"	movq $-1, %r12\n"
	"	movq $-1, %r13\n"
	"	movq $-1, %r14\n"
	"	movq $-1, %r15\n"
	"	movq 0x18, %rax\n"
	"	ret\n");

/* Returns 0 if rbx, rbp, r12..r15 hold the same values before and after a pw_expect_fault whose
 * fn clobbers them and faults; else the number of registers that changed. */
int callee_saved_survive(void);
__asm__(".text\n"
	".type callee_saved_survive, @function\n"
	"callee_saved_survive:\n"
	"	pushq %rbx\n"
	"	pushq %rbp\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n" /* 16-byte alignment at the call */
	"	movq $0x1111, %rbx\n"
	"	movq $0x2222, %rbp\n"
	"	movq $0x3333, %r12\n"
	"	movq $0x4444, %r13\n"
	"	movq $0x5555, %r14\n"
	"	movq $0x6666, %r15\n"
	"	leaq clobber_and_fault(%rip), %rdi\n"
	"	xorl %esi, %esi\n"
	"	xorl %edx, %edx\n"
	"	call pw_expect_fault\n"
	"	xorl %eax, %eax\n"
	"	cmpq $0x1111, %rbx\n"
	"	setne %al\n"
	"	xorl %ecx, %ecx\n"
	"	cmpq $0x2222, %rbp\n"
	"	setne %cl\n"
	"	addl %ecx, %eax\n"
	"	cmpq $0x3333, %r12\n"
	"	setne %cl\n"
	"	addl %ecx, %eax\n"
	"	cmpq $0x4444, %r13\n"
	"	setne %cl\n"
	"	addl %ecx, %eax\n"
	"	cmpq $0x5555, %r14\n"
	"	setne %cl\n"
	"	addl %ecx, %eax\n"
	"	cmpq $0x6666, %r15\n"
	"	setne %cl\n"
	"	addl %ecx, %eax\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbp\n"
	"	popq %rbx\n"
	"	ret\n");

/* Run one case's access. */
static bool run_probe(const struct expect_case *c, struct pw_fault *f)
{
	switch (c->probe) {
	case READ:
		return pw_probe_read(c->addr, f);
	case WRITE:
		return pw_probe_write(c->addr, f);
	case EXEC:
		return pw_probe_exec(c->addr, f);
	case CALL:
		return pw_expect_fault(c->fn, (void *)(uintptr_t)c->addr, f);
	}
	return false;
}

/* Run c and print its line; true if the fault (or its absence) matched exactly. */
static bool check(const struct expect_case *c)
{
	struct pw_fault f;
	bool faulted = run_probe(c, &f);
	bool df = pw_read_rflags() & (1ull << 10);
	char bits[32];
	bool ok = !df && faulted == c->faults && f.faulted == faulted &&
		  (!faulted || (f.kind == c->kind && f.vector == c->vector &&
				f.error_code == c->err && f.cr2 == c->cr2));

	if (!faulted) {
		printf("expect %s: no fault %s\n", c->what, ok ? "ok" : "MISMATCH (expected one)");
		return ok;
	}
	pf_err_str(bits, sizeof(bits), f.error_code);
	printf("expect %s vector=%u err=0x%lx cr2=0x%lx rip=0x%lx (%s: %s) %s\n",
	       pw_fault_kind_name(f.kind), f.vector, f.error_code, f.cr2, f.rip,
	       pw_exception_name(f.vector), bits, ok ? "ok" : "MISMATCH");
	if (!ok)
		printf("  wanted %s%s vector=%u err=0x%lx cr2=0x%lx\n",
		       c->faults ? "" : "no fault, not ", pw_fault_kind_name(c->kind), c->vector,
		       c->err, c->cr2);
	return ok;
}

/* Run every case and the register check; returns the number of mismatches. pass selects a fresh
 * heap page for the growth case. */
static unsigned run_cases(unsigned pass)
{
	uint64_t text = (uint64_t)(uintptr_t)run_cases, data = (uint64_t)(uintptr_t)data_ret;
	uint64_t heap = pw_boot_info()->heap_start + pass * PW_PAGE_SIZE;
	const struct expect_case cases[] = {
	    {"null read", READ, 0x10, NULL, true, PW_FAULT_NULL, VECTOR_PF, 0, 0x10},
	    {"null write", WRITE, 0xff8, NULL, true, PW_FAULT_NULL, VECTOR_PF, PF_ERR_W, 0xff8},
	    {"stack guard", WRITE, PW_STACK_GUARD_GPA + 0xff0, NULL, true, PW_FAULT_STACK_OVERFLOW,
	     VECTOR_PF, PF_ERR_W, PW_STACK_GUARD_GPA + 0xff0},
	    {"#PF stack guard", READ, PW_PF_STACK_GUARD_GPA, NULL, true, PW_FAULT_STACK_OVERFLOW,
	     VECTOR_PF, 0, PW_PF_STACK_GUARD_GPA},
	    {"text write", WRITE, text, NULL, true, PW_FAULT_WRITE_PROTECT, VECTOR_PF,
	     PF_ERR_P | PF_ERR_W, text},
	    {"boot info write", WRITE, PW_BOOT_INFO_GPA, NULL, true, PW_FAULT_WRITE_PROTECT,
	     VECTOR_PF, PF_ERR_P | PF_ERR_W, PW_BOOT_INFO_GPA},
	    {"data exec", EXEC, data, NULL, true, PW_FAULT_NX_EXEC, VECTOR_PF, PF_ERR_P | PF_ERR_ID,
	     data},
	    {"null exec", EXEC, 0x40, NULL, true, PW_FAULT_NULL, VECTOR_PF, PF_ERR_ID, 0x40},
	    {"high guard", READ, PW_HIGH_GUARD_GPA + 0x10, NULL, true, PW_FAULT_HIGH_GUARD,
	     VECTOR_PF, 0, PW_HIGH_GUARD_GPA + 0x10},
	    {"above 4 GiB", READ, ABOVE_4G + 0x20, NULL, true, PW_FAULT_UNMAPPED, VECTOR_PF, 0,
	     ABOVE_4G + 0x20},
	    {"non-canonical", READ, NON_CANONICAL, NULL, true, PW_FAULT_EXCEPTION, VECTOR_GP, 0, 0},
	    {"ud2", CALL, 0, do_ud2, true, PW_FAULT_EXCEPTION, VECTOR_UD, 0, 0},
	    {"divide by zero", CALL, 0, do_div0, true, PW_FAULT_EXCEPTION, VECTOR_DE, 0, 0},
	    {"DF set, then null", CALL, 0, do_std_fault, true, PW_FAULT_NULL, VECTOR_PF, 0, 0x28},
	    {"text read", READ, text, NULL, false, 0, 0, 0, 0},
	    {"nothing", CALL, 0, do_nothing, false, 0, 0, 0, 0},
	    {"heap write grows", WRITE, heap + 0x123, NULL, false, 0, 0, 0, 0},
	};
	unsigned bad = 0;
	int changed;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad += !check(&cases[i]);
	changed = callee_saved_survive();
	printf("expect callee-saved registers kept: %s\n", changed ? "MISMATCH" : "ok");
	return bad + (changed != 0);
}

int main(void)
{
	unsigned bad;

	printf("pass 1: reports on\n");
	bad = run_cases(0);
	pw_fault_reports(false);
	printf("pass 2: reports off\n");
	bad += run_cases(1);
	printf("%u mismatches\n", bad);
	return bad ? (int)(bad < 60 ? bad : 60) : 0;
}
