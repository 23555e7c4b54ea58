/* Stopping the guest: a normal exit with a code, or a panic with file:line. Both flush the
 * console first so output written before the stop is never lost. */
#include <pagewarden/guest.h>

#include "runtime.h"

/* Panic messages are formatted here rather than on the stack: a panic may come from a handler
 * running on a nearly full stack. */
static char panic_msg[512];

/* Wait for the VMM to end the run; it never resumes a guest after an exit or a panic. */
static __attribute__((noreturn)) void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void exit(int code)
{
	struct pw_hc_exit hc = {.code = code};

	pw_flush();
	if (pw_pvh)
		pvh_exit_code(code);
	pw_hypercall(PW_HC_EXIT, (uint64_t)(uintptr_t)&hc);
	halt_forever();
}

void pw_panic(const char *file, int line, const char *fmt, ...)
{
	struct pw_hc_panic hc;
	va_list ap;
	int n;

	pw_flush();
	va_start(ap, fmt);
	n = vsnprintf(panic_msg, sizeof(panic_msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(panic_msg))
		n = sizeof(panic_msg) - 1; /* truncated: send what fitted */
	if (pw_pvh)
		pvh_panic_report(file, line, panic_msg, (size_t)n);
	hc.file = (uint64_t)(uintptr_t)file;
	hc.file_len = strnlen(file, PW_STRING_MAX);
	hc.line = line < 0 ? 0 : (uint64_t)line;
	hc.msg = (uint64_t)(uintptr_t)panic_msg;
	hc.msg_len = (uint64_t)n;
	pw_hypercall(PW_HC_PANIC, (uint64_t)(uintptr_t)&hc);
	halt_forever();
}
