/* The buffered console. Each PW_HC_CONSOLE hypercall is a VM exit (~10 us on a nested host), so
 * output is collected and sent once per line, when the buffer fills, on pw_flush, and at exit. */
#include <pagewarden/guest.h>

#include "runtime.h"

/* One page: a long line costs one exit per 4 KiB instead of one per character. */
#define CONSOLE_BUF_SIZE 4096

static char console_buf[CONSOLE_BUF_SIZE];
static size_t console_len;

void pw_flush(void)
{
	struct pw_hc_console hc;

	if (console_len == 0)
		return;
	if (pw_pvh) {
		pvh_console_write(console_buf, console_len);
		console_len = 0;
		return;
	}
	hc.buf = (uint64_t)(uintptr_t)console_buf;
	hc.len = console_len;
	pw_hypercall(PW_HC_CONSOLE, (uint64_t)(uintptr_t)&hc);
	console_len = 0;
}

/* The first '\n' in s[0..n), or NULL; n > 0. One `repne scasb`: a single instruction however
 * long the text, where a word-at-a-time memchr takes some fifty for a short line (hosts that
 * emulate guest instructions one by one pay per instruction; docs/guest.md). */
static const char *console_newline(const char *s, size_t n)
{
	const char *end = s;
	size_t left = n;

	__asm__("cld; repne scasb" : "+D"(end), "+c"(left) : "a"('\n'), "m"(*(const char(*)[n])s));
	return end[-1] == '\n' ? end - 1 : NULL;
}

/* Append n bytes at s to the buffer, as memcpy does it (rep movsq, rep movsb), inline: with no
 * call in it, console_write keeps its state in scratch registers. */
static inline void console_append(const char *s, size_t n)
{
	char *d = console_buf + console_len;
	size_t words = n / 8;

	__asm__ volatile("rep movsq\n\tmov %3, %%rcx\n\trep movsb"
			 : "+D"(d), "+S"(s), "+c"(words)
			 : "r"(n % 8)
			 : "memory");
	console_len += n;
}

void console_write(const char *s, size_t n)
{
	while (n) {
		size_t room = CONSOLE_BUF_SIZE - console_len;
		size_t k = n < room ? n : room;
		const char *nl = console_newline(s, k);
		bool flush;

		if (nl)
			k = (size_t)(nl - s) + 1; /* up to and including the newline */
		console_append(s, k);
		s += k;
		n -= k;
		flush = nl || console_len == CONSOLE_BUF_SIZE;
		if (n == 0) { /* the usual end: the last piece, flushed last */
			if (flush)
				pw_flush();
			return;
		}
		if (flush)
			pw_flush();
	}
}

void console_sink_write(struct fmt_sink *sink, const char *s, size_t n)
{
	(void)sink;
	console_write(s, n);
}

int putchar(int c)
{
	char ch = (char)c;

	console_write(&ch, 1);
	return (unsigned char)ch;
}

int puts(const char *s)
{
	size_t n = strlen(s);

	console_write(s, n);
	console_write("\n", 1);
	return (int)(n + 1);
}
