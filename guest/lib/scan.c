/* Byte searches a word at a time: memchr, strlen, strnlen, strchrnul. printf scans every literal
 * character of its format and the console every byte it sends; one 8-byte step instead of eight
 * 1-byte steps matters on hosts that emulate guest instructions one by one (docs/guest.md).
 *
 * Each search loads aligned 8-byte words only. An aligned word never crosses a page, so reading
 * the bytes around the string that share its word cannot touch a guard page the string's own
 * bytes do not. The bytes of the first word before the string are set to 0xff before the test
 * (they must not borrow into it); bytes past the end only matter above a real match and are
 * ignored by taking the lowest one. The loads go through a
 * may_alias type, so the compiler does not treat them as accesses to the string's object. */
#include <pagewarden/guest.h>

typedef uint64_t __attribute__((may_alias)) scan_word;

#define SCAN_ONES  0x0101010101010101ull
#define SCAN_HIGHS 0x8080808080808080ull

/* A mask with bit 7 of every byte of w that is zero, exact up to and including the lowest such
 * byte (bytes above it may be flagged falsely, which the callers ignore by taking the lowest). */
static inline uint64_t scan_zero_bytes(uint64_t w)
{
	return (w - SCAN_ONES) & ~w & SCAN_HIGHS;
}

/* Byte index (0..7) of the lowest flagged byte of a non-zero mask. */
static inline unsigned scan_first(uint64_t mask)
{
	return (unsigned)__builtin_ctzll(mask) / 8;
}

/* The aligned word holding p, and in *head the byte offset of p in it. */
static inline const scan_word *scan_start(const void *p, unsigned *head)
{
	uintptr_t a = (uintptr_t)p;

	*head = (unsigned)(a & 7);
	return (const scan_word *)(a & ~(uintptr_t)7);
}

/* x with the bytes before the search's first byte (head of them) set to 0xff. They must not
 * take part in the zero test at all: a zero byte there would borrow into the first real byte
 * and flag it falsely (masking the flags afterwards is too late). 0xff never borrows. */
static inline uint64_t scan_fill_head(uint64_t x, unsigned head)
{
	return head ? x | (~0ull >> (64 - 8 * head)) : x;
}

void *memchr(const void *s, int c, size_t n)
{
	uint64_t pattern = (uint8_t)c * SCAN_ONES;
	uintptr_t start = (uintptr_t)s;
	/* one past the range; a length running past the address space stops at its end */
	uintptr_t end = n > UINTPTR_MAX - start ? UINTPTR_MAX : start + n;
	const scan_word *last = (const scan_word *)((end - 1) & ~(uintptr_t)7);
	unsigned head;
	const scan_word *w = scan_start(s, &head);
	uint64_t m;

	if (n == 0)
		return NULL;
	m = scan_zero_bytes(scan_fill_head(*w ^ pattern, head));
	while (!m) {
		if (w == last)
			return NULL;
		m = scan_zero_bytes(*++w ^ pattern);
	}
	start = (uintptr_t)w + scan_first(m);
	return start < end ? (void *)start : NULL;
}

char *strchrnul(const char *s, int c)
{
	uint64_t pattern = (uint8_t)c * SCAN_ONES;
	unsigned head;
	const scan_word *w = scan_start(s, &head);
	uint64_t m = scan_zero_bytes(scan_fill_head(*w, head)) |
		     scan_zero_bytes(scan_fill_head(*w ^ pattern, head));

	while (!m) {
		w++;
		m = scan_zero_bytes(*w) | scan_zero_bytes(*w ^ pattern);
	}
	return (char *)w + scan_first(m);
}

size_t strlen(const char *s)
{
	unsigned head;
	const scan_word *w = scan_start(s, &head);
	uint64_t m = scan_zero_bytes(scan_fill_head(*w, head));

	while (!m)
		m = scan_zero_bytes(*++w);
	return (size_t)((const char *)w + scan_first(m) - s);
}

size_t strnlen(const char *s, size_t max)
{
	const char *end = memchr(s, 0, max);

	return end ? (size_t)(end - s) : max;
}
