/* The printf family: every entry point goes through fmt_format, into the console or a buffer
 * (printf skips it for text without a conversion). */
#include <limits.h>

#include <pagewarden/guest.h>

#include "runtime.h"

/* A sink that fills a caller's buffer, keeping room for the terminating NUL. */
struct buf_sink {
	struct fmt_sink sink; /* first: the formatter hands back a pointer to it */
	char *buf;
	size_t cap; /* bytes of text that fit: n - 1, or 0 when n is 0 */
	size_t len;
};

/* Copy what still fits; the formatter counts the rest for snprintf's return value. */
static void buf_sink_write(struct fmt_sink *sink, const char *s, size_t n)
{
	struct buf_sink *b = (struct buf_sink *)sink;
	size_t room = b->cap - b->len;

	if (n > room)
		n = room;
	memcpy(b->buf + b->len, s, n);
	b->len += n;
}

int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct buf_sink b = {
	    .sink = {.write = buf_sink_write},
	    .buf = buf,
	    .cap = n ? n - 1 : 0,
	    .len = 0,
	};
	int ret = fmt_format(&b.sink, fmt, ap);

	if (n)
		buf[b.len] = '\0';
	return ret;
}

int snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return ret;
}

int vprintf(const char *fmt, va_list ap)
{
	struct fmt_sink sink = {.write = console_sink_write};

	return fmt_format(&sink, fmt, ap);
}

/* The most common call, text with no conversion ("...\n"), goes straight to the console; the
 * scan that finds it so is the formatter's first, handed on otherwise. */
int printf(const char *fmt, ...)
{
	const char *pct = strchrnul(fmt, '%');
	struct fmt_sink sink = {.write = console_sink_write};
	size_t n = (size_t)(pct - fmt);
	va_list ap;
	int ret;

	if (!*pct) {
		console_write(fmt, n);
		return n > INT_MAX ? INT_MAX : (int)n;
	}
	va_start(ap, fmt);
	ret = fmt_format_from(&sink, fmt, pct, ap);
	va_end(ap);
	return ret;
}
