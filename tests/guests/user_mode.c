/* User mode (pagewarden/user.h): pw_user_call's round trip, and each fault the two rings give,
 * caught by pw_expect_fault and checked (kind, error code, CR2), one line per case:
 * "user user-read-kernel kind=user-supervisor err=0x5 cr2=0x... ok". Exits 0 only if every case
 * matched, else with the number of mismatches. With an argument it crashes on purpose instead,
 * for the host tests' reports: "user-read", "user-write-text", "smep", "smap", "user-stack". */
#include <pagewarden/guest.h>
#include <pagewarden/pf_error.h>
#include <pagewarden/user.h>

#define VECTOR_PF 14

static uint64_t kernel_secret = 0x5ec2e7;  /* supervisor data */
PW_USER_DATA uint64_t user_value = 7;	   /* user data */
PW_USER_DATA volatile uint64_t user_depth; /* deepest recursion reached */

PW_USER_TEXT static long user_add_one(long x)
{
	return x + 1;
}

PW_USER_TEXT static long user_read(long addr)
{
	return *(volatile uint64_t *)addr;
}

PW_USER_TEXT static long user_write(long addr)
{
	*(volatile uint64_t *)addr = 1;
	return 0;
}

/* Recurses with 512 bytes a frame until the user stack's guard stops it (user_depth stays
 * below 2^32: the test never returns). */
PW_USER_TEXT static long user_recurse(long n)
{
	volatile char pad[512];

	pad[0] = (char)n;
	user_depth = (uint64_t)n;
	if (user_depth >> 32)
		return n;
	return user_recurse(n + 1) + pad[0];
}

static volatile long sink;

/* Sets AC and NT in its own flags (popf may at CPL 3), then reads addr: a fault there must not
 * hand those flags to ring 0. */
PW_USER_TEXT static long user_flags_then_read(long addr)
{
	__asm__ volatile("pushfq; orq $0x44000, (%%rsp); popfq" : : : "memory", "cc");
	return *(volatile uint64_t *)addr;
}

/* A supervisor write of addr that leaves it unchanged (a locked or of 0: a write access). */
static void write_kernel(void *addr)
{
	__asm__ volatile("lock orb $0, (%0)" : : "r"(addr) : "memory");
}

/* A user page's function called from supervisor code: SMEP refuses the fetch. */
static __attribute__((noinline)) void call_user_text(void *fn)
{
	long (*volatile f)(long) = (long (*)(long))fn;

	sink = f(1);
}

/* Supervisor read of a user page: SMAP refuses it unless AC is set. */
static void read_user_data(void *addr)
{
	(void)*(volatile uint64_t *)addr;
}

struct user_arg {
	long (*fn)(long);
	long arg;
};

/* pw_user_call under pw_expect_fault. */
static void user_call(void *p)
{
	struct user_arg *a = p;

	pw_user_call(a->fn, a->arg);
}

static unsigned mismatches;

/* Check one expected fault f (or none, with kind PW_FAULT_NONE) against the case's wants. */
static void check(const char *what, bool faulted, const struct pw_fault *f, unsigned kind,
		  uint64_t err, uint64_t cr2)
{
	bool ok = kind == PW_FAULT_NONE ? !faulted
					: faulted && f->vector == VECTOR_PF && f->kind == kind &&
					      f->error_code == err && f->cr2 == cr2;

	printf("user %s kind=%s err=0x%lx cr2=0x%lx %s\n", what,
	       pw_fault_kind_name(faulted ? f->kind : PW_FAULT_NONE), faulted ? f->error_code : 0,
	       faulted ? f->cr2 : 0, ok ? "ok" : "MISMATCH");
	if (!ok) {
		printf("  wanted kind=%s err=0x%lx cr2=0x%lx\n", pw_fault_kind_name(kind), err, cr2);
		mismatches++;
	}
}

/* Run fn(arg) at CPL 3 expecting kind/err/cr2. */
static void user_case(const char *what, long (*fn)(long), uint64_t arg, unsigned kind,
		      uint64_t err, uint64_t cr2)
{
	struct user_arg a = {fn, (long)arg};
	struct pw_fault f;
	bool faulted = pw_expect_fault(user_call, &a, &f);

	check(what, faulted, &f, kind, err, cr2);
}

/* Run fn(arg) at CPL 0 expecting kind/err/cr2. */
static void kernel_case(const char *what, void (*fn)(void *), void *arg, unsigned kind,
			uint64_t err, uint64_t cr2)
{
	struct pw_fault f;
	bool faulted = pw_expect_fault(fn, arg, &f);

	check(what, faulted, &f, kind, err, cr2);
}

/* Crash on purpose with the fault named by how. */
static int crash(const char *how, unsigned features)
{
	uint64_t secret = (uint64_t)(uintptr_t)&kernel_secret;
	uint64_t text = (uint64_t)(uintptr_t)user_add_one;

	const struct pw_region *ustack = pw_region_find(PW_REGION_USER_STACK);
	uint64_t target = strcmp(how, "user-read") == 0	      ? secret
			  : strcmp(how, "user-stack") == 0    ? ustack->start - PW_PAGE_SIZE
			  : strcmp(how, "smap") == 0	      ? (uint64_t)(uintptr_t)&user_value
							      : text;

	printf("target 0x%lx\n", target); /* the CR2 the crash must report */
	pw_flush();
	if (strcmp(how, "user-read") == 0)
		pw_user_call(user_read, (long)secret);
	else if (strcmp(how, "user-write-text") == 0)
		pw_user_call(user_write, (long)text);
	else if (strcmp(how, "user-stack") == 0)
		pw_user_call(user_recurse, 0);
	else if (strcmp(how, "smep") == 0 && (features & PW_USER_SMEP))
		call_user_text(user_add_one);
	else if (strcmp(how, "smap") == 0 && (features & PW_USER_SMAP))
		read_user_data(&user_value);
	else
		printf("unknown or unsupported crash \"%s\"\n", how);
	return 99;
}

int main(void)
{
	unsigned features = pw_user_init();
	uint64_t secret = (uint64_t)(uintptr_t)&kernel_secret;
	uint64_t uval = (uint64_t)(uintptr_t)&user_value;
	uint64_t utext = (uint64_t)(uintptr_t)user_add_one;
	uint64_t heap = pw_boot_info()->heap_start + 5 * PW_PAGE_SIZE;
	long r;

	printf("user smep=%d smap=%d\n", (features & PW_USER_SMEP) != 0,
	       (features & PW_USER_SMAP) != 0);
	if (pw_cmdline()[0])
		return crash(pw_cmdline(), features);

	r = pw_user_call(user_add_one, 41);
	printf("user call add_one(41) = %ld %s\n", r, r == 42 ? "ok" : "MISMATCH");
	mismatches += r != 42;
	r = pw_user_call(user_read, (long)uval);
	printf("user call read(user_value) = %ld %s\n", r, r == 7 ? "ok" : "MISMATCH");
	mismatches += r != 7;

	user_case("read-kernel", user_read, secret, PW_FAULT_USER_SUPERVISOR, PF_ERR_P | PF_ERR_U,
		  secret);
	user_case("write-kernel", user_write, secret, PW_FAULT_USER_SUPERVISOR,
		  PF_ERR_P | PF_ERR_W | PF_ERR_U, secret);
	user_case("write-user-text", user_write, utext, PW_FAULT_WRITE_PROTECT,
		  PF_ERR_P | PF_ERR_W | PF_ERR_U, utext);
	user_case("write-user-data", user_write, uval, PW_FAULT_NONE, 0, 0);
	user_case("null", user_read, 8, PW_FAULT_NULL, PF_ERR_U, 8);
	if (features & PW_USER_SMEP)
		kernel_case("smep", call_user_text, user_add_one, PW_FAULT_SMEP,
			    PF_ERR_P | PF_ERR_ID, utext);
	if (features & PW_USER_SMAP) {
		kernel_case("smap", read_user_data, &user_value, PW_FAULT_SMAP, PF_ERR_P, uval);
		pw_user_access_begin();
		kernel_case("smap-ac", read_user_data, &user_value, PW_FAULT_NONE, 0, 0);
		pw_user_access_end();
	}
	/* a CPL-3 fault with AC and NT set in the user's flags: ring 0 resumes with its own */
	user_case("flags-then-read-kernel", user_flags_then_read, secret, PW_FAULT_USER_SUPERVISOR,
		  PF_ERR_P | PF_ERR_U, secret);
	r = (long)(pw_read_rflags() & 0x44000);
	printf("user flags after the fault: AC|NT = 0x%lx %s\n", r, r == 0 ? "ok" : "MISMATCH");
	mismatches += r != 0;
	/* a user touch of a new heap page: the heap grows (an iretq back to CPL 3), the retry is a
	 * user access to a supervisor page */
	user_case("read-heap", user_read, heap, PW_FAULT_USER_SUPERVISOR, PF_ERR_P | PF_ERR_U, heap);
	if (features & PW_USER_SMAP) {
		/* AC = 1 lifts SMAP; the write to a read-only user page is then write-protect */
		pw_user_access_begin();
		kernel_case("write-user-text-ac", write_kernel, user_add_one, PW_FAULT_WRITE_PROTECT,
			    PF_ERR_P | PF_ERR_W, utext);
		pw_user_access_end();
		kernel_case("write-user-text", write_kernel, user_add_one, PW_FAULT_SMAP,
			    PF_ERR_P | PF_ERR_W, utext);
	}
	/* after the unwinds, a user call still works */
	r = pw_user_call(user_add_one, 1);
	mismatches += r != 2;
	printf("user done, %u mismatches\n", mismatches);
	return (int)mismatches;
}
