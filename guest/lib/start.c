/* The C side of guest start-up: validate what the VMM handed over, install the fault handlers,
 * run main, exit with its return value. Called once by the entry stub (entry.S). */
#include <pagewarden/guest.h>

#include "runtime.h"

int main(void);

/* Emitted by guest/guest.ld right after the entry stub's jump. */
extern const struct pw_image_header __pw_image_header;
extern const char __text_end[], __rodata_end[], __data_end[], __bss_end[];

/* Stop with PW_EXIT_BAD_BOOT_INFO and a one-line reason: the guest cannot trust its layout. */
static __attribute__((noreturn)) void bad_boot_info(uint64_t addr, const char *why)
{
	printf("pagewarden runtime: unusable boot info at 0x%llx: %s\n", (unsigned long long)addr,
	       why);
	exit(PW_EXIT_BAD_BOOT_INFO);
}

/* Panic if the header the linker script emitted disagrees with abi.h: the VMM would silently
 * ignore it and map the whole image read-write-execute. */
static void check_image_header(void)
{
	const struct pw_image_header *h = &__pw_image_header;
	uint64_t sum = h->magic + h->text_end + h->rodata_end + h->data_end + h->bss_end;

	if (h->magic != PW_IMAGE_MAGIC || h->checksum != ~sum ||
	    h->text_end != (uint64_t)(uintptr_t)__text_end ||
	    h->rodata_end != (uint64_t)(uintptr_t)__rodata_end ||
	    h->data_end != (uint64_t)(uintptr_t)__data_end ||
	    h->bss_end != (uint64_t)(uintptr_t)__bss_end)
		panic("image header at %p is not the one abi.h describes (magic 0x%llx, checksum "
		      "0x%llx): guest/guest.ld out of date, or the image was altered",
		      (const void *)h, (unsigned long long)h->magic,
		      (unsigned long long)h->checksum);
}

bool pw_pvh;

enum pw_vmm pw_vmm(void)
{
	return pw_pvh ? PW_VMM_PVH : PW_VMM_PAGEWARDEN;
}

/* Entry from entry.S with RDI = boot info GPA and RSI = the CPU's number; never returns. */
__attribute__((noreturn, used)) void pw_start(uint64_t boot_info_addr, uint64_t cpu)
{
	const char *why;

	if (cpu != 0) { /* a secondary CPU (--cpus): CPU 0 checks the boot info and sets up */
		boot_info_set((const struct pw_boot_info *)(uintptr_t)boot_info_addr);
		pw_ap_main((unsigned)cpu);
	}
	why = boot_info_check(boot_info_addr);

	if (why)
		bad_boot_info(boot_info_addr, why);
	boot_info_set((const struct pw_boot_info *)(uintptr_t)boot_info_addr);
	pw_pvh = (pw_boot_info()->features & PW_BOOT_F_PVH) != 0;
	/* Before anything else can fault: without an IDT a fault is a bare triple fault. */
	pw_traps_init();
	check_image_header();
	if (((const struct pw_boot_info *)(uintptr_t)boot_info_addr)->ncpus > 1)
		pw_smp_init();
	exit(main());
}
