/* The buffered console. Each PW_HC_CONSOLE hypercall is a VM exit (~10 us on a nested host), so
 * output is collected and sent once per line, when the buffer fills, on pw_flush, and at exit. */
#include <pagewarden/guest.h>

#include "layout_build.h"
#include "runtime.h"
#include "trap.h"

/* One page: a long line costs one exit per 4 KiB instead of one per character. */
#define CONSOLE_BUF_SIZE 4096

/* CPU 0's buffer. The other CPUs (--cpus) each have a smaller one in their GDT page, between
 * the GDT and the TSS: a line is flushed whole by the CPU that wrote it, so two CPUs' text never
 * mixes within a line (up to 1792 bytes). */
static char console_buf[CONSOLE_BUF_SIZE];
static size_t console_len;

#define AP_CONSOLE_OFF	0x100
#define AP_CONSOLE_SIZE (PW_TSS_OFF - AP_CONSOLE_OFF)
_Static_assert(PW_GDT_ENTRIES * 8 <= AP_CONSOLE_OFF, "the GDT runs into the console buffer");

/* A console buffer: CPU 0's, or another CPU's. */
struct console {
	char *buf;
	size_t size;
	size_t *len;
};

/* Set by pw_smp_init: the other CPUs have buffers of their own. Until then (and always with
 * one CPU) every write takes CPU 0's buffer without asking GS which CPU this is. */
bool console_percpu;

/* CPU 0's console buffer, and that of another CPU c (in its GDT page). */
#define CONSOLE_CPU0 ((struct console){console_buf, CONSOLE_BUF_SIZE, &console_len})

static inline struct console console_of(struct pw_cpu *c)
{
	return (struct console){(char *)c - PW_CPU_DATA_OFF + AP_CONSOLE_OFF, AP_CONSOLE_SIZE,
				&c->console_len};
}

/* The calling CPU's console buffer. */
static inline struct console console_this(void)
{
	struct pw_cpu *c;

	if (__builtin_expect(console_percpu, 0) && (c = pw_this_cpu())->id != 0)
		return console_of(c);
	return CONSOLE_CPU0;
}

/* Send c's buffered bytes. */
static inline void console_flush(struct console c)
{
	struct pw_hc_console hc;

	if (*c.len == 0)
		return;
	if (pw_pvh) {
		pvh_console_write(c.buf, *c.len);
		*c.len = 0;
		return;
	}
	hc.buf = (uint64_t)(uintptr_t)c.buf;
	hc.len = *c.len;
	pw_hypercall(PW_HC_CONSOLE, (uint64_t)(uintptr_t)&hc);
	*c.len = 0;
}

void pw_flush(void)
{
	console_flush(console_this());
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
static inline void console_append(struct console c, const char *s, size_t n)
{
	char *d = c.buf + *c.len;
	size_t words = n / 8;

	__asm__ volatile("rep movsq\n\tmov %3, %%rcx\n\trep movsb"
			 : "+D"(d), "+S"(s), "+c"(words)
			 : "r"(n % 8)
			 : "memory");
	*c.len += n;
}

/* console_write into c: inlined twice below, so that CPU 0's copy works on constants. */
static inline __attribute__((always_inline)) void console_write_to(struct console c, const char *s,
								   size_t n)
{
	while (n) {
		size_t room = c.size - *c.len;
		size_t k = n < room ? n : room;
		const char *nl = console_newline(s, k);
		bool flush;

		if (nl)
			k = (size_t)(nl - s) + 1; /* up to and including the newline */
		console_append(c, s, k);
		s += k;
		n -= k;
		flush = nl || *c.len == c.size;
		if (n == 0) { /* the usual end: the last piece, flushed last */
			if (flush)
				console_flush(c);
			return;
		}
		if (flush)
			console_flush(c);
	}
}

/* console_write on a CPU other than 0: out of line, so that CPU 0's path keeps its state in
 * scratch registers (hosts that emulate guest code pay for every push). */
static __attribute__((noinline)) void console_write_ap(struct pw_cpu *c, const char *s, size_t n)
{
	console_write_to(console_of(c), s, n);
}

void console_write(const char *s, size_t n)
{
	if (__builtin_expect(console_percpu, 0) && pw_this_cpu()->id != 0) {
		console_write_ap(pw_this_cpu(), s, n);
		return;
	}
	console_write_to(CONSOLE_CPU0, s, n);
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
