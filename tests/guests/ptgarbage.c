/* Rewrites its own page tables into nonsense, chosen by the first argument, then touches the
 * result: 0 a PDE pointing at a frame full of 0xff (garbage PTEs with reserved bits), 1 reserved
 * bits in a live PTE, 2 a PTE mapping beyond RAM (unbacked guest-physical memory), 3 a PTE
 * mapping beyond 4 GiB, 4 CR3 pointing at garbage. Each must end as a crash with a report the
 * VMM can still produce (its page walk reads those tables), never as harm to the host. */
#include <pagewarden/guest.h>

#define P_PRESENT 0x1ull
#define P_WRITE	  0x2ull
#define P_PS	  0x80ull
#define ADDR_MASK 0x000ffffffffff000ull

/* A 4 KiB-aligned scratch page in .bss: identity-mapped, so its VA is its PA. */
static uint8_t junk[4096] __attribute__((aligned(4096)));
static uint8_t victim[4096] __attribute__((aligned(4096)));

static uint64_t *table(uint64_t entry)
{
	return (uint64_t *)(uintptr_t)(entry & ADDR_MASK);
}

/* The PTE that maps va (a 4 KiB mapping of the image's data). */
static uint64_t *pte_of(uint64_t va)
{
	uint64_t *pml4 = table(pw_read_cr3());
	uint64_t *pdpt = table(pml4[(va >> 39) & 511]);
	uint64_t *pd = table(pdpt[(va >> 30) & 511]);

	return &table(pd[(va >> 21) & 511])[(va >> 12) & 511];
}

static uint64_t num(const char *s)
{
	uint64_t v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint64_t)(*s++ - '0');
	return v;
}

int main(void)
{
	uint64_t va = (uint64_t)(uintptr_t)victim;
	volatile uint64_t *p = (volatile uint64_t *)victim;
	uint64_t *pte = pte_of(va);

	p[0] = 1; /* mapped and writable before the vandalism */
	memset(junk, 0xff, sizeof(junk));
	switch (num(pw_cmdline())) {
	case 0: {
		uint64_t *pml4 = table(pw_read_cr3());
		uint64_t *pdpt = table(pml4[(va >> 39) & 511]);
		uint64_t *pd = table(pdpt[(va >> 30) & 511]);

		pd[(va >> 21) & 511] = (uint64_t)(uintptr_t)junk | P_PRESENT | P_WRITE;
		break;
	}
	case 1:
		*pte |= 1ull << 51 | 1ull << 50; /* above any MAXPHYADDR this VMM supports */
		break;
	case 2:
		*pte = (pw_boot_info()->mem_size + 0x100000) | P_PRESENT | P_WRITE;
		break;
	case 3:
		*pte = 0x100000000ull * 3 | P_PRESENT | P_WRITE;
		break;
	case 4:
		__asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)(uintptr_t)junk) : "memory");
		break;
	}
	pw_invlpg(va);
	p[0] = 2;
	printf("ptgarbage: case %s survived\n", pw_cmdline());
	return 1;
}
