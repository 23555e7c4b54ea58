/* Null pointers written the plain way, as a guest's author writes them first: this file is
 * compiled the way `make guest` compiles a user's code (no -Werror), by gcc and by clang
 * (tests/test_plain.c). Without the SDK's -fno-delete-null-pointer-checks, gcc turns each
 * access below into ud2 (storing 0 where 1 was written) and drops the check after the
 * dereference; clang drops the write and the check. Cases, by the first argument:
 *   read          a read at 0x10: the null guard catches it (a crash)
 *   write         a write of 1 at 0: the null guard catches it, as a write
 *   probe         a write of 42 through a null pointer inside pw_expect_fault: caught and
 *                 recovered; prints what was caught
 *   write-mapped  page 0 mapped over a heap page first: the write of 1 lands there
 *   check         page 0 mapped, holding 7: a read through a null pointer, then the check
 *                 of the pointer, which must run: prints "p is null" and exits 3 */
#include <pagewarden/guest.h>
#include <pagewarden/live_pt.h>

/* Map virtual page 0 onto the first heap page, which then holds value; returns that page. */
static volatile int *map_page_zero(int value)
{
	volatile int *heap = (volatile int *)(uintptr_t)pw_region_find(PW_REGION_HEAP)->start;
	struct pt_flush fl = {0};

	*heap = value; /* the first touch maps it */
	if (pt_map(pw_live_pt(), 0, (uint64_t)(uintptr_t)heap, PT_SIZE_4K, PT_READ | PT_WRITE,
		   &fl) != PT_OK) {
		printf("cannot map page 0\n");
		exit(1);
	}
	pw_tlb_flush(&fl);
	return heap;
}

static void write_null(void *arg)
{
	int *p = NULL;

	(void)arg;
	*p = 42;
}

static __attribute__((noinline)) int read_then_check(const int *p)
{
	int v = *p;

	if (!p) {
		printf("p is null, and *p was %d\n", v);
		return 3;
	}
	return v;
}

int main(void)
{
	const char *what = pw_cmdline();
	struct pw_fault f;

	if (strcmp(what, "read") == 0) {
		printf("reading 0x10\n");
		return (int)*(volatile unsigned long *)0x10;
	}
	if (strcmp(what, "write") == 0) {
		printf("writing 1 at 0\n");
		*(volatile int *)0 = 1;
		return 0;
	}
	if (strcmp(what, "probe") == 0) {
		if (!pw_expect_fault(write_null, NULL, &f)) {
			printf("no fault\n");
			return 1;
		}
		printf("caught %s at %#lx err %#lx\n", pw_fault_kind_name(f.kind), f.cr2,
		       f.error_code);
		return 0;
	}
	if (strcmp(what, "write-mapped") == 0) {
		volatile int *heap = map_page_zero(0);

		*(volatile int *)0 = 1;
		printf("page 0 holds %d\n", *heap);
		return *heap == 1 ? 0 : 1;
	}
	if (strcmp(what, "check") == 0) {
		map_page_zero(7);
		return read_then_check(NULL);
	}
	printf("usage: null_plain.bin read|write|probe|write-mapped|check\n");
	return 2;
}
