/* Guest RAM: one anonymous mapping, the checked GPA -> host pointer helper, and size parsing. */
#include "memory.h"

#include <sys/mman.h>

#include "pagewarden/layout.h"

const char *mem_strerror(enum mem_err err)
{
	switch (err) {
	case MEM_OK:
		return "success";
	case MEM_ETOO_SMALL:
		return "memory size below the 4 MiB minimum";
	case MEM_ETOO_LARGE:
		return "memory size above the 3 GiB maximum";
	case MEM_EALIGN:
		return "memory size not a multiple of 4 KiB";
	case MEM_ENOMEM:
		return "cannot map guest memory";
	}
	return "unknown memory error";
}

/* Check size against the RAM limits; MEM_OK if usable. */
static enum mem_err mem_size_check(uint64_t size)
{
	if (size < PW_MEM_MIN)
		return MEM_ETOO_SMALL;
	if (size > PW_MEM_MAX)
		return MEM_ETOO_LARGE;
	if (size % PW_PAGE_SIZE)
		return MEM_EALIGN;
	return MEM_OK;
}

enum mem_err guest_mem_alloc(struct guest_mem *m, uint64_t size)
{
	enum mem_err err = mem_size_check(size);
	void *p;

	m->host = NULL;
	m->size = 0;
	if (err)
		return err;
	/* NORESERVE: a 3 GiB guest that touches 64 MiB costs 64 MiB, and does not fail on hosts
	 * with strict overcommit. Anonymous pages read as zero, which the layout relies on. */
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return MEM_ENOMEM;
	m->host = p;
	m->size = size;
	return MEM_OK;
}

void guest_mem_free(struct guest_mem *m)
{
	if (m->host)
		munmap(m->host, m->size);
	m->host = NULL;
	m->size = 0;
}

void *gpa_to_host(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	/* Compare with what is left after gpa: gpa + len is never computed, so it cannot wrap. */
	if (!m->host || gpa > m->size || len > m->size - gpa)
		return NULL;
	return m->host + gpa;
}

/* Shift for a binary-unit suffix character, or -1 if c is not one. */
static int size_suffix_shift(char c)
{
	switch (c) {
	case 'k':
	case 'K':
		return 10;
	case 'm':
	case 'M':
		return 20;
	case 'g':
	case 'G':
		return 30;
	}
	return -1;
}

int parse_size(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int shift = 0;

	/* Hand-rolled instead of strtoull: that one accepts leading spaces, signs and "0x", and
	 * wraps "-1" to 2^64 - 1. Here: decimal digits, then at most one suffix, nothing else. */
	if (!s || *s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (*s) {
		shift = size_suffix_shift(*s++);
		if (shift < 0 || *s)
			return -1;
	}
	if (v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}
