/* The runtime's IDT is assembled by guest/guest.ld at link time (guest/lib/idt.c). Read it back
 * out of a linked guest ELF and check every gate against the stubs' own symbols and the ABI:
 * offset = trap_stub_<v>, selector PW_SEL_CODE, a present 64-bit interrupt gate, #PF on IST
 * PW_IST_PF, #DF on IST PW_IST_DF, every other vector on the current stack. No KVM needed. */
#include <criterion/criterion.h>
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf_symbol.h"
#include "pagewarden/layout.h"
#include "run_helper.h"

#define GATES 32

struct elf_image {
	const uint8_t *data;
	size_t len;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
};

/* Load path and check it is a 64-bit ELF with section headers inside the file. */
static struct elf_image elf_load(const char *path)
{
	struct elf_image e = {0};
	FILE *f = fopen(path, "rb");
	long len;

	cr_assert_not_null(f, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	cr_assert_gt(len, (long)sizeof(Elf64_Ehdr));
	e.data = malloc((size_t)len);
	cr_assert_eq(fread((void *)e.data, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	e.len = (size_t)len;
	e.eh = (const Elf64_Ehdr *)e.data;
	cr_assert_eq(memcmp(e.eh->e_ident, ELFMAG, SELFMAG), 0);
	cr_assert_leq(e.eh->e_shoff + (uint64_t)e.eh->e_shnum * sizeof(Elf64_Shdr), e.len);
	e.sh = (const Elf64_Shdr *)(e.data + e.eh->e_shoff);
	return e;
}

/* Pointer to n bytes at virtual address va in a PROGBITS section of the file. */
static const uint8_t *elf_at(const struct elf_image *e, uint64_t va, size_t n)
{
	for (unsigned i = 0; i < e->eh->e_shnum; i++) {
		const Elf64_Shdr *s = &e->sh[i];

		if (s->sh_type == SHT_PROGBITS && va >= s->sh_addr &&
		    va + n <= s->sh_addr + s->sh_size)
			return e->data + s->sh_offset + (va - s->sh_addr);
	}
	cr_assert_fail("0x%llx is in no section", (unsigned long long)va);
	return NULL;
}

/* Check the 32 gates of the IDT image in the guest ELF at path. */
static void check_idt_image(const char *path)
{
	struct elf_image e = elf_load(path);
	const uint8_t *idt = elf_at(&e, elf_symbol(path, "pw_idt_image"), GATES * 16);

	for (unsigned v = 0; v < GATES; v++) {
		char name[32];
		const uint8_t *g = idt + v * 16;
		uint64_t stub, offset;
		unsigned want_ist = v == 14 ? PW_IST_PF : v == 8 ? PW_IST_DF : 0;

		snprintf(name, sizeof(name), "trap_stub_%u", v);
		stub = elf_symbol(path, name);
		offset = (uint64_t)(g[0] | g[1] << 8) | (uint64_t)(g[6] | g[7] << 8) << 16 |
			 (uint64_t)(g[8] | g[9] << 8 | g[10] << 16 | (uint32_t)g[11] << 24) << 32;
		cr_expect_eq(offset, stub, "%s: gate %u points at 0x%llx, stub at 0x%llx", path, v,
			     (unsigned long long)offset, (unsigned long long)stub);
		cr_expect_eq(g[2] | g[3] << 8, PW_SEL_CODE, "gate %u selector", v);
		cr_expect_eq(g[4], want_ist, "gate %u IST %u, want %u", v, g[4], want_ist);
		cr_expect_eq(g[5], 0x8e, "gate %u type 0x%x", v, g[5]);
		cr_expect_eq(g[12] | g[13] | g[14] | g[15], 0, "gate %u reserved bits", v);
	}
	free((void *)e.data);
}

Test(idt_image, gates_point_at_their_stubs)
{
	check_idt_image(guest("hello.elf"));
	check_idt_image(guest("fault_null.elf"));
}
