/* Guest RAM: allocation limits, the checked GPA -> host helper at its edges, size parsing. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "memory.h"
#include "pagewarden/layout.h"

Test(memory, alloc_gives_zeroed_writable_ram_and_free_empties)
{
	struct guest_mem m;

	cr_assert_eq(guest_mem_alloc(&m, PW_MEM_DEFAULT), MEM_OK);
	cr_assert_not_null(m.host);
	cr_assert_eq(m.size, PW_MEM_DEFAULT);
	cr_assert_eq(m.host[0], 0);
	cr_assert_eq(m.host[m.size - 1], 0);
	m.host[0] = 0xaa;
	m.host[m.size - 1] = 0x55;
	cr_assert_eq(m.host[0] + m.host[m.size - 1], 0xff);
	guest_mem_free(&m);
	cr_assert_null(m.host);
	cr_assert_eq(m.size, 0);
	guest_mem_free(&m); /* a second free is harmless */
	cr_assert_null(m.host);
}

Test(memory, alloc_accepts_the_limits)
{
	struct guest_mem m;

	cr_assert_eq(guest_mem_alloc(&m, PW_MEM_MIN), MEM_OK);
	cr_assert_eq(m.size, PW_MEM_MIN);
	guest_mem_free(&m);
	/* NORESERVE: 3 GiB of address space, nothing touched. */
	cr_assert_eq(guest_mem_alloc(&m, PW_MEM_MAX), MEM_OK);
	cr_assert_eq(m.size, PW_MEM_MAX);
	m.host[PW_MEM_MAX - 1] = 1;
	guest_mem_free(&m);
}

Test(memory, alloc_rejects_bad_sizes_and_leaves_m_empty)
{
	static const struct {
		uint64_t size;
		enum mem_err err;
	} cases[] = {
	    {0, MEM_ETOO_SMALL},
	    {PW_MEM_MIN - PW_PAGE_SIZE, MEM_ETOO_SMALL},
	    {PW_MEM_MAX + PW_PAGE_SIZE, MEM_ETOO_LARGE},
	    {UINT64_MAX, MEM_ETOO_LARGE},
	    {PW_MEM_MIN + 1, MEM_EALIGN},
	    {PW_MEM_DEFAULT + 0x800, MEM_EALIGN},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct guest_mem m = {(uint8_t *)&m, 123};

		cr_assert_eq(guest_mem_alloc(&m, cases[i].size), cases[i].err, "size %#llx",
			     (unsigned long long)cases[i].size);
		cr_assert_null(m.host);
		cr_assert_eq(m.size, 0);
	}
}

Test(memory, strerror_names_every_error)
{
	for (int e = MEM_OK; e <= MEM_ENOMEM; e++) {
		cr_assert_not_null(mem_strerror(e));
		cr_assert_neq(strlen(mem_strerror(e)), 0);
	}
	cr_assert_str_neq(mem_strerror(MEM_ETOO_SMALL), mem_strerror(MEM_ETOO_LARGE));
}

Test(memory, gpa_to_host_edges)
{
	struct guest_mem m;
	uint64_t n;

	cr_assert_eq(guest_mem_alloc(&m, PW_MEM_MIN), MEM_OK);
	n = m.size;
	cr_assert_eq(gpa_to_host(&m, 0, 0), m.host);
	cr_assert_eq(gpa_to_host(&m, 0, n), m.host, "all of RAM");
	cr_assert_null(gpa_to_host(&m, 0, n + 1), "one byte too long");
	cr_assert_eq(gpa_to_host(&m, n - 1, 1), m.host + n - 1, "last byte");
	cr_assert_null(gpa_to_host(&m, n - 1, 2), "last byte and one past");
	cr_assert_null(gpa_to_host(&m, n, 1), "one past the end");
	cr_assert_eq(gpa_to_host(&m, n, 0), m.host + n, "len 0 at size");
	cr_assert_null(gpa_to_host(&m, n + 1, 0), "len 0 past size");
	cr_assert_null(gpa_to_host(&m, 1, UINT64_MAX), "huge len");
	cr_assert_null(gpa_to_host(&m, UINT64_MAX, 2), "gpa + len wraps");
	cr_assert_null(gpa_to_host(&m, 0x1000, UINT64_MAX - 0xfff), "gpa + len wraps to 0");
	cr_assert_null(gpa_to_host(&m, UINT64_MAX, 0));
	guest_mem_free(&m);
	cr_assert_null(gpa_to_host(&m, 0, 0), "empty guest memory");
}

Test(memory, parse_size_table)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t v;
	} cases[] = {
	    {"0", 0, 0},
	    {"4096", 0, 4096},
	    {"64M", 0, 64ull << 20},
	    {"64m", 0, 64ull << 20},
	    {"512K", 0, 512ull << 10},
	    {"512k", 0, 512ull << 10},
	    {"3G", 0, 3ull << 30},
	    {"1g", 0, 1ull << 30},
	    {"18446744073709551615", 0, UINT64_MAX},
	    {"17179869183G", 0, 17179869183ull << 30},
	    {"18446744073709551616", -1, 0}, /* 2^64 */
	    {"17179869184G", -1, 0},	     /* 2^64 after the shift */
	    {"16777216T", -1, 0},
	    {"12Q", -1, 0},
	    {"", -1, 0},
	    {"-1", -1, 0},
	    {"+1", -1, 0},
	    {" 1", -1, 0},
	    {"1 ", -1, 0},
	    {"1.5M", -1, 0},
	    {"M", -1, 0},
	    {"1MM", -1, 0},
	    {"1MB", -1, 0},
	    {"0x10", -1, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t v = 0xdeadbeef;

		cr_assert_eq(parse_size(cases[i].s, &v), cases[i].ret, "\"%s\"", cases[i].s);
		if (cases[i].ret == 0)
			cr_assert_eq(v, cases[i].v, "\"%s\" gave %#llx", cases[i].s,
				     (unsigned long long)v);
		else
			cr_assert_eq(v, 0xdeadbeef, "\"%s\" wrote *out on failure", cases[i].s);
	}
	cr_assert_eq(parse_size(NULL, &(uint64_t){0}), -1);
}
