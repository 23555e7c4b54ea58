/* Triple fault: with an empty IDT, #UD cannot be delivered (#GP), nor can #GP (#DF), nor #DF.
 * The VMM must see KVM_EXIT_SHUTDOWN and report it. */
#include <pagewarden/guest.h>

struct __attribute__((packed)) idtr {
	uint16_t limit;
	uint64_t base;
};

int main(void)
{
	/* Limit 0 makes every vector out of range, whatever the VMM installed. */
	struct idtr empty = {.limit = 0, .base = 0};

	printf("loading an empty IDT, then ud2\n");
	pw_flush();
	__asm__ volatile("lidt %0" : : "m"(empty));
	__asm__ volatile("ud2");
	return 1; /* not reached */
}
