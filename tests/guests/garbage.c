/* Hostile hypercalls, one per run, chosen by the first argument (a number): wrong ports,
 * widths and directions, argument structs outside RAM, absurd lengths and kinds, and (case 9,
 * seeded by the second argument) a stream of random ports and values; case 10 floods the
 * console with 1 MiB writes. Every case must end as
 * a refused hypercall (or, for random values that happen to be valid, a normal stop), never
 * as harm to the host. */
#include <pagewarden/guest.h>

static uint64_t num(const char *s)
{
	uint64_t v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint64_t)(*s++ - '0');
	return v;
}

static void out32(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %w1" : : "a"(v), "Nd"(port) : "memory");
}

/* xorshift64: a small deterministic generator for case 9. */
static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static struct pw_hc_panic panic_arg;
static struct pw_hc_fault fault_arg;
static struct pw_hc_console console_arg;

int main(void)
{
	const char *cmd = pw_cmdline();
	const char *sp = strchr(cmd, ' ');
	uint64_t seed = sp ? num(sp + 1) | 1 : 1;
	uint8_t b;

	switch (num(cmd)) {
	case 0: /* below the hypercall ports */
		out32(PW_PORT_BASE - 1, 0xdeadbeef);
		break;
	case 1: /* just past the last one */
		out32(PW_PORT(PW_HC_COUNT), 0xdeadbeef);
		break;
	case 2: /* a 1-byte out */
		__asm__ volatile("outb %0, %w1" : : "a"((uint8_t)7), "Nd"((uint16_t)PW_PORT(0)));
		break;
	case 3: /* an in */
		__asm__ volatile("inb %w1, %0" : "=a"(b) : "Nd"((uint16_t)PW_PORT(PW_HC_EXIT)));
		break;
	case 4: /* the argument struct at the top of the 32-bit space */
		out32(PW_PORT(PW_HC_CONSOLE), 0xfffffff0u);
		break;
	case 5: /* a fault kind that does not exist */
		fault_arg.kind = 0xffff;
		pw_hypercall(PW_HC_FAULT, (uint64_t)(uintptr_t)&fault_arg);
		break;
	case 6: /* a panic message of 2^64 - 1 bytes */
		panic_arg.msg_len = ~0ull;
		pw_hypercall(PW_HC_PANIC, (uint64_t)(uintptr_t)&panic_arg);
		break;
	case 7: /* a console buffer whose end wraps around 2^64 */
		console_arg.buf = ~0ull - 8;
		console_arg.len = 64;
		pw_hypercall(PW_HC_CONSOLE, (uint64_t)(uintptr_t)&console_arg);
		break;
	case 8: /* the last byte of RAM with a length just over the console maximum */
		console_arg.buf = pw_boot_info()->mem_size - 1;
		console_arg.len = PW_CONSOLE_MAX + 1ull;
		pw_hypercall(PW_HC_CONSOLE, (uint64_t)(uintptr_t)&console_arg);
		break;
	case 9: /* random ports near and in the hypercall range, random values */
		for (int i = 0; i < 64; i++) {
			uint64_t r = next(&seed);

			out32((uint16_t)(PW_PORT_BASE - 4 + (r & 15)), (uint32_t)(r >> 32));
		}
		break;
	case 10: /* a console flood at full speed: the largest write, of RAM, forever */
		console_arg.buf = 0x100000;
		console_arg.len = PW_CONSOLE_MAX;
		for (;;)
			pw_hypercall(PW_HC_CONSOLE, (uint64_t)(uintptr_t)&console_arg);
	}
	printf("garbage: the VMM accepted case %s\n", cmd);
	return 1;
}
