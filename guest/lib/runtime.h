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

/* True once the other CPUs write to buffers of their own (pw_smp_init sets it). */
extern bool console_percpu;

/* fmt_sink write function for the console (printf, vprintf); the sink needs no state. */
void console_sink_write(struct fmt_sink *sink, const char *s, size_t n);

/* ---- Boot info (bootinfo.c) ---- */

/* Check the boot info at addr (RDI at entry). Returns NULL if it is usable, else a constant
 * reason for the failure report. */
const char *boot_info_check(uint64_t addr);

/* Remember bi as the boot info pw_boot_info() returns; call once, after boot_info_check. */
void boot_info_set(const struct pw_boot_info *bi);

/* ---- Several CPUs (smp.c) ---- */

/* On CPU 0 before main, with --cpus > 1: the IPI gates, the APIC, the secondary CPUs online,
 * then interrupts on. */
void pw_smp_init(void);

/* A secondary CPU's life in the runtime: wait for pw_cpus_run's work, run it, forever. */
__attribute__((noreturn)) void pw_ap_main(unsigned cpu);

/* ---- Under another VMM (pvh_io.c; docs/images.md) ---- */

/* True when the image booted through the PVH entry: no hypercalls, the devices below instead.
 * Set by pw_start before main, from PW_BOOT_F_PVH. */
extern bool pw_pvh;

/* Write n console bytes to COM1. */
void pvh_console_write(const char *s, size_t n);

/* Write one line the VMM would print on its stderr (a crash or a panic) to COM2, or to COM1
 * when there is no COM2. */
void pvh_report(const char *line, size_t n);

/* exit(code) under PVH: status code & 0xff, said on COM2 too when isa-debug-exit cannot carry it
 * (above 127). */
__attribute__((noreturn)) void pvh_exit_code(int code);

/* Stop with status through isa-debug-exit (QEMU exits with status * 2 + 1); without the device,
 * say so and triple-fault. */
__attribute__((noreturn)) void pvh_exit(unsigned status);

/* Report an unrecovered fault as ./vmm words it ("guest crashed: KIND, ...") and stop with
 * PW_EXIT_CRASHED. */
__attribute__((noreturn)) void pvh_crash_report(const struct pw_hc_fault *f);

/* Report a panic as ./vmm words it ("guest panic at FILE:LINE: MSG") and stop with
 * PW_EXIT_CRASHED. */
__attribute__((noreturn)) void pvh_panic_report(const char *file, int line, const char *msg,
						size_t msg_len);

#endif
