/* A bounded string writer with snprintf's return convention, for the library's formatters
 * (pte.c: flag and bit names; dump.c: dump lines). Freestanding; internal to paging/. */
#ifndef PW_PAGING_STRBUF_H
#define PW_PAGING_STRBUF_H

#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *buf;
	size_t n;
	size_t len; /* characters that would have been written */
};

/* Append one character (counted even when it does not fit). */
static inline void strbuf_putc(struct strbuf *sb, char c)
{
	if (sb->n > 0 && sb->len < sb->n - 1)
		sb->buf[sb->len] = c;
	sb->len++;
}

/* Append s as it is. */
static inline void strbuf_puts(struct strbuf *sb, const char *s)
{
	while (*s)
		strbuf_putc(sb, *s++);
}

/* Append v in decimal; returns the number of digits. */
static inline unsigned strbuf_put_dec(struct strbuf *sb, uint64_t v)
{
	char digits[20];
	unsigned nd = 0;

	do {
		digits[nd++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (unsigned i = nd; i > 0; i--)
		strbuf_putc(sb, digits[i - 1]);
	return nd;
}

/* Append v as 16 hex digits. */
static inline void strbuf_put_hex16(struct strbuf *sb, uint64_t v)
{
	for (int shift = 60; shift >= 0; shift -= 4)
		strbuf_putc(sb, "0123456789abcdef"[(v >> shift) & 0xf]);
}

/* NUL-terminate and return the full length. */
static inline size_t strbuf_end(struct strbuf *sb)
{
	if (sb->n > 0)
		sb->buf[sb->len < sb->n ? sb->len : sb->n - 1] = '\0';
	return sb->len;
}

#endif
