/* Guest text on one report line: the VMM's panic report and a PVH guest's own use the same
 * escaping, so the two lines can be compared (docs/images.md). Freestanding: only
 * <stddef.h>/<stdint.h>. */
#ifndef PAGEWARDEN_ESCAPE_H
#define PAGEWARDEN_ESCAPE_H

#include <stddef.h>
#include <stdint.h>

/* Copy s[0..len) into dst (n bytes, n >= 1, NUL-terminated): printable ASCII as is, anything
 * else as \xNN, trailing newlines and carriage returns dropped; stops before an escape or a
 * character that would not fit. Returns the length written. */
static inline size_t pw_escape(char *dst, size_t n, const uint8_t *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len && o + 5 < n; i++) {
		if (s[i] >= 0x20 && s[i] < 0x7f) {
			dst[o++] = (char)s[i];
		} else {
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[s[i] >> 4];
			dst[o++] = hex[s[i] & 0xf];
		}
	}
	dst[o] = '\0';
	return o;
}

#endif
