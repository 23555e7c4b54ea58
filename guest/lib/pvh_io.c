/* The devices a PVH-booted guest talks to instead of hypercalls (docs/images.md): the console
 * on COM1's 16550, the VMM's lines (crash and panic reports) on COM2 when there is one, and the
 * exit status through QEMU's isa-debug-exit device. */
#include <pagewarden/escape.h>
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

void pvh_exit_code(int code)
{
	unsigned status = (unsigned)code & 0xff;
	char line[32];
	int n;

	/* isa-debug-exit's status is (value << 1) | 1 in 8 bits: above 127 the code is lost, so it
	 * goes on the report line scripts/qemu-run reads, as well. */
	if (status > 127) {
		n = snprintf(line, sizeof(line), "pvh: exit code %u\n", status);
		pvh_report(line, (size_t)n);
	}
	pvh_exit(status);
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

void pvh_panic_report(const char *file, int line, const char *msg, size_t msg_len)
{
	static char f[PW_STRING_MAX + 1], m[2 * PW_STRING_MAX], buf[3 * PW_STRING_MAX + 64];
	int n;

	pw_escape(f, sizeof(f), (const uint8_t *)file, strnlen(file, PW_STRING_MAX));
	pw_escape(m, sizeof(m), (const uint8_t *)msg, msg_len);
	n = snprintf(buf, sizeof(buf), "pvh: " PW_PANIC_LINE_FMT "\n", f,
		     (unsigned long long)(line < 0 ? 0 : line), m);
	pvh_report(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	pvh_exit(PW_EXIT_CRASHED);
}

void pvh_crash_report(const struct pw_hc_fault *f)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "pvh: " PW_CRASH_LINE_FMT "\n", PW_CRASH_LINE_ARGS(f));

	pvh_report(buf, n < (int)sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	pvh_exit(PW_EXIT_CRASHED);
}
