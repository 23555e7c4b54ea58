/* The devices a PVH-booted guest talks to instead of hypercalls (docs/images.md): the console
 * on COM1's 16550, the VMM's lines (crash and panic reports) on COM2 when there is one, and the
 * exit status through QEMU's isa-debug-exit device. */
#include <pagewarden/guest.h>

#include "runtime.h"

#define COM1		0x3f8
#define COM2		0x2f8
#define UART_SCRATCH	7     /* a 16550's scratch register: reads back what was written */
#define DEBUG_EXIT_PORT 0xf4 /* -device isa-debug-exit,iobase=0xf4,iosize=0x04 */

static inline void pvh_outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %w1" : : "a"(v), "Nd"(port));
}

static inline uint8_t pvh_inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %w1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* Write n bytes to the UART at port with one rep outsb: an emulated UART takes them as fast as
 * they come, so the transmitter is not polled. */
static void pvh_uart_write(uint16_t port, const char *s, size_t n)
{
	__asm__ volatile("cld; rep outsb" : "+S"(s), "+c"(n) : "d"(port) : "memory");
}

void pvh_console_write(const char *s, size_t n)
{
	pvh_uart_write(COM1, s, n);
}

/* True if a UART answers at COM2 (nothing there reads back 0xff). */
static bool pvh_com2_present(void)
{
	pvh_outb(COM2 + UART_SCRATCH, 0x5a);
	return pvh_inb(COM2 + UART_SCRATCH) == 0x5a;
}

void pvh_report(const char *line, size_t n)
{
	pvh_uart_write(pvh_com2_present() ? COM2 : COM1, line, n);
}

void pvh_exit(unsigned status)
{
	static const char msg[] = "pagewarden runtime: no isa-debug-exit device at port 0xf4 "
				  "(-device isa-debug-exit,iobase=0xf4,iosize=0x04): stopping "
				  "with a triple fault\n";
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} no_idt = {0, 0};

	__asm__ volatile("outl %0, %w1" : : "a"(status), "Nd"((uint16_t)DEBUG_EXIT_PORT));
	/* Still running: the device is missing. A triple fault resets or stops the VM instead of
	 * leaving it halted for ever. */
	pvh_report(msg, sizeof(msg) - 1);
	__asm__ volatile("lidt %0\n\tud2" : : "m"(no_idt));
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Append s (len bytes) to buf at *o as the VMM prints guest text on one line: printable ASCII
 * as is, anything else as \xNN, trailing newlines dropped. */
static void pvh_escape(char *buf, size_t n, size_t *o, const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	for (size_t i = 0; i < len && *o + 5 < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			buf[(*o)++] = (char)c;
		else
			*o += (size_t)snprintf(buf + *o, n - *o, "\\x%02x", c);
	}
}

void pvh_panic_report(const char *file, int line, const char *msg, size_t msg_len)
{
	static char buf[2 * PW_STRING_MAX + 64];
	size_t o = 0;

	o += (size_t)snprintf(buf, sizeof(buf), "pvh: guest panic at ");
	pvh_escape(buf, sizeof(buf) - 32, &o, file, strnlen(file, PW_STRING_MAX));
	o += (size_t)snprintf(buf + o, sizeof(buf) - o, ":%d: ", line < 0 ? 0 : line);
	pvh_escape(buf, sizeof(buf) - 2, &o, msg, msg_len);
	buf[o++] = '\n';
	pvh_report(buf, o);
	pvh_exit(PW_EXIT_CRASHED);
}

void pvh_crash_report(const struct pw_hc_fault *f)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf),
			 "pvh: guest crashed: %s, %s (vector %u) at 0x%llx, error 0x%llx, RIP 0x%llx, "
			 "RSP 0x%llx\n",
			 pw_fault_kind_name(f->kind), pw_exception_name(f->vector), f->vector,
			 (unsigned long long)f->gva, (unsigned long long)f->error_code,
			 (unsigned long long)f->rip, (unsigned long long)f->rsp);

	pvh_report(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	pvh_exit(PW_EXIT_CRASHED);
}
