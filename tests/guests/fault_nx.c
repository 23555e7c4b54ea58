/* Jumps into a data buffer holding `ret` (data is mapped NX, EFER.NXE=1): "nx-exec", error code
 * P|I/D = 0x11, gva = the buffer, then a crash. */
#include <pagewarden/guest.h>

static uint8_t code[16] = {0xc3}; /* ret: would return if the page were executable */

int main(void)
{
	uint64_t target = (uint64_t)(uintptr_t)code;

	printf("target 0x%lx\n", target);
	pw_flush();
	((void (*)(void))(uintptr_t)target)();
	return 1;
}
