/* Internal interfaces between the files of the guest runtime (guest/lib). Guests use
 * pagewarden/guest.h only. */
#ifndef PW_GUEST_RUNTIME_H
#define PW_GUEST_RUNTIME_H

#include <pagewarden/guest.h>

/* ---- Formatting (format.c) ---- */

/* Where formatted text goes: write receives each piece in order. */
struct fmt_sink {
	void (*write)(struct fmt_sink *sink, const char *s, size_t n);
};

/* Format fmt with ap into sink (the printf subset in guest.h). Returns the number of characters
 * produced, whatever the sink kept. */
int fmt_format(struct fmt_sink *sink, const char *fmt, va_list ap);

/* fmt_format for a caller that already found the first '%' of fmt (or its end): pct. */
int fmt_format_from(struct fmt_sink *sink, const char *fmt, const char *pct, va_list ap);

/* ---- Console (console.c) ---- */

/* Append n bytes to the console buffer; flushes on '\n' and when the buffer is full. */
void console_write(const char *s, size_t n);

/* fmt_sink write function for the console (printf, vprintf); the sink needs no state. */
void console_sink_write(struct fmt_sink *sink, const char *s, size_t n);

/* ---- Boot info (bootinfo.c) ---- */

/* Check the boot info at addr (RDI at entry). Returns NULL if it is usable, else a constant
 * reason for the failure report. */
const char *boot_info_check(uint64_t addr);

/* Remember bi as the boot info pw_boot_info() returns; call once, after boot_info_check. */
void boot_info_set(const struct pw_boot_info *bi);

#endif
