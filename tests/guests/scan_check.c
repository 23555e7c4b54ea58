/* The runtime's word-at-a-time searches (guest/lib/scan.c: memchr, strlen, strnlen, strchrnul)
 * against byte-by-byte reference loops: every start alignment 0..7, every length 0..24, the
 * searched byte first, in the middle, last or absent (a host that emulates guest code runs this
 * at ~1.5 us per instruction, so the grid is kept to what covers every word boundary). Then the
 * same at the two ends of a mapped range that guard pages bound: strings that end on the last byte
 * of the #DF IST stack (the main stack's guard follows) and start on its first byte (the #DF
 * stack's own guard precedes). An overread there would fault and crash the guest. Prints
 * "scan_check: N cases, M failed" and exits with min(M, 63). */
#include <pagewarden/guest.h>

#define MAX_LEN	  24
#define MAX_ALIGN 8

static unsigned cases, failures;

/* Record one comparison. */
static void check(bool ok, const char *what, uint64_t addr, size_t len, size_t pos)
{
	cases++;
	if (ok)
		return;
	failures++;
	if (failures <= 10)
		printf("FAIL %s at 0x%llx len %zu pos %zu\n", what, (unsigned long long)addr, len,
		       pos);
}

/* Byte-by-byte memchr. */
static const char *ref_memchr(const char *s, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == c)
			return s + i;
	return NULL;
}

/* Byte-by-byte strchrnul. */
static const char *ref_strchrnul(const char *s, char c)
{
	while (*s && *s != c)
		s++;
	return s;
}

/* Fill s[0..len) with 'a'..., put c at pos (if pos < len), NUL at len; check all four searches. */
static void check_one(char *s, size_t len, size_t pos, char c)
{
	for (size_t i = 0; i < len; i++)
		s[i] = (char)('a' + i % 26);
	if (pos < len)
		s[pos] = c;
	s[len] = '\0';
	check(memchr(s, c, len) == ref_memchr(s, c, len), "memchr", (uintptr_t)s, len, pos);
	check(strchrnul(s, c) == ref_strchrnul(s, c), "strchrnul", (uintptr_t)s, len, pos);
	check(strlen(s) == len, "strlen", (uintptr_t)s, len, pos);
	for (size_t max = 0; max <= len + 1; max += len / 4 + 1)
		check(strnlen(s, max) == (max < len ? max : len), "strnlen", (uintptr_t)s, len,
		      max);
}

/* Every alignment, length and position in a scratch buffer. */
static void check_grid(void)
{
	static char buf[MAX_ALIGN + MAX_LEN + 16];

	for (size_t a = 0; a < MAX_ALIGN; a++)
		for (size_t len = 0; len <= MAX_LEN; len++)
			for (size_t i = 0; i < 5; i++) {
				size_t pos[5] = {0, 1, len / 2, len ? len - 1 : 0, len};

				check_one(buf + a, len, pos[i], '%');
			}
	/* searching for the NUL itself, and for a byte with bit 7 set */
	check(memchr(buf, 0, sizeof(buf)) == ref_memchr(buf, 0, sizeof(buf)), "memchr NUL",
	      (uintptr_t)buf, sizeof(buf), 0);
	buf[20] = (char)0x80;
	check(memchr(buf + 3, 0x80, 30) == buf + 20, "memchr 0x80", (uintptr_t)buf, 30, 17);
}

/* The bytes just before the string share its first word: a NUL or the searched byte there,
 * followed by a first byte one above it (where a borrow would land), must not count. Also the
 * printf case that exposed it: a literal run resuming right after "%%". */
static void check_neighbours(void)
{
	static char buf[32];
	const char before[] = {0, '%', '\n'};
	const char first[] = {1, '%' ^ 1, '\n' ^ 1};
	char out[32];

	for (size_t a = 1; a < 8; a++)
		for (size_t b = 0; b < sizeof(before); b++)
			for (size_t f = 0; f < sizeof(first); f++) {
				char *s = buf + 8 + a;

				memset(buf, 'x', sizeof(buf));
				s[-1] = before[b];
				s[0] = first[f];
				s[3] = '\0';
				check(strlen(s) == 3, "strlen after a neighbour", (uintptr_t)s, 3,
				      b);
				check(strnlen(s, 8) == 3, "strnlen after a neighbour", (uintptr_t)s,
				      3, b);
				check(strchrnul(s, '%') == ref_strchrnul(s, '%'),
				      "strchrnul after a neighbour", (uintptr_t)s, 3, b);
				check(memchr(s, '\n', 3) == ref_memchr(s, '\n', 3),
				      "memchr after a neighbour", (uintptr_t)s, 3, b);
			}
	snprintf(out, sizeof(out), "rate: 100%%$ done");
	check(strcmp(out, "rate: 100%$ done") == 0, "printf after %%", (uintptr_t)out, 0, 0);
}

/* Strings flush against guard pages: the words read must stay on the mapped side. */
static void check_guards(void)
{
	char *top = (char *)(uintptr_t)(PW_DF_STACK_GPA + PW_DF_STACK_SIZE); /* guard at top */
	char *bottom = (char *)(uintptr_t)PW_DF_STACK_GPA;		     /* guard below */

	for (size_t len = 0; len < 17; len++) {
		char *s = top - len - 1; /* the NUL is the last mapped byte */

		check_one(s, len, len, '%');
		check(memchr(s, '\n', len + 1) == NULL, "memchr to the guard", (uintptr_t)s, len,
		      len);
		check_one(bottom + len % 8, len, len / 2, '%');
	}
}

int main(void)
{
	check_grid();
	check_neighbours();
	check_guards();
	printf("scan_check: %u cases, %u failed\n", cases, failures);
	return failures > 63 ? 63 : (int)failures;
}
