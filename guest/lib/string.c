/* Memory and string functions. The compiler also emits calls to memcpy, memmove and memset for
 * struct copies and zeroing, so these must exist and must not call themselves: the block moves
 * are `rep movs` / `rep stos` in asm, which no optimiser turns back into a call (a C loop can be
 * recognised as memset and compiled into a call to memset: infinite recursion). They touch only
 * general-purpose registers, as every guest instruction must (no SSE: see docs/guest.md). */
#include <pagewarden/guest.h>

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	size_t words = n / 8, bytes = n % 8;

	/* Eight bytes per iteration, then the tail: an emulating host (nested KVM) pays per
	 * iteration of a rep string instruction, hardware with fast strings barely notices. */
	__asm__ volatile("rep movsq\n\tmov %3, %%rcx\n\trep movsb"
			 : "+D"(d), "+S"(src), "+c"(words)
			 : "r"(bytes)
			 : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	/* Copy backwards only when dst overlaps the tail of src; DF is restored at once because the
	 * ABI requires it clear at every call and return. */
	if (d > s && d < s + n) {
		d += n - 1;
		s += n - 1;
		__asm__ volatile("std\n\trep movsb\n\tcld"
				 : "+D"(d), "+S"(s), "+c"(n)
				 :
				 : "memory");
	} else {
		__asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;
	size_t words = n / 8, bytes = n % 8;
	/* c's low byte in all eight bytes of RAX, for stosq. */
	uint64_t pattern = (uint8_t)c * 0x0101010101010101ull;

	__asm__ volatile("rep stosq\n\tmov %3, %%rcx\n\trep stosb"
			 : "+D"(d), "+c"(words)
			 : "a"(pattern), "r"(bytes)
			 : "memory");
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++)
		if (*a != *b || !*a)
			return (unsigned char)*a - (unsigned char)*b;
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c)
			return (char *)s;
		if (!*s)
			return NULL;
	}
}
