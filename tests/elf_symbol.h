/* The address of a symbol in an ELF64 file's .symtab: lets tests aim fault injections at
 * labels of a test guest instead of hard-coded addresses. Header-only (one static function). */
#ifndef PW_TESTS_ELF_SYMBOL_H
#define PW_TESTS_ELF_SYMBOL_H

#include <criterion/criterion.h>
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* st_value of the symbol called name in the ELF64 file at path; fails the test if the file is
 * not an ELF64 with a symbol table, or has no such symbol. */
static uint64_t elf_symbol(const char *path, const char *name)
{
	FILE *f = fopen(path, "rb");
	Elf64_Ehdr eh;
	Elf64_Shdr *sh;
	uint64_t value = 0;
	bool found = false;

	cr_assert_not_null(f, "%s: cannot open", path);
	cr_assert(fread(&eh, sizeof(eh), 1, f) == 1 && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
		      eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_shentsize == sizeof(Elf64_Shdr),
		  "%s: not an ELF64 file", path);
	sh = calloc(eh.e_shnum, sizeof(*sh));
	cr_assert(sh && fseek(f, (long)eh.e_shoff, SEEK_SET) == 0 &&
		      fread(sh, sizeof(*sh), eh.e_shnum, f) == eh.e_shnum,
		  "%s: bad section headers", path);
	for (unsigned i = 0; i < eh.e_shnum && !found; i++) {
		const Elf64_Shdr *strs = &sh[sh[i].sh_link % eh.e_shnum];
		char *names = malloc(strs->sh_size + 1);
		Elf64_Sym sym;

		if (sh[i].sh_type != SHT_SYMTAB || !names ||
		    fseek(f, (long)strs->sh_offset, SEEK_SET) != 0 ||
		    fread(names, 1, strs->sh_size, f) != strs->sh_size) {
			free(names);
			continue;
		}
		names[strs->sh_size] = '\0';
		for (uint64_t k = 0; k < sh[i].sh_size / sizeof(sym) && !found; k++) {
			if (fseek(f, (long)(sh[i].sh_offset + k * sizeof(sym)), SEEK_SET) != 0 ||
			    fread(&sym, sizeof(sym), 1, f) != 1)
				break;
			if (sym.st_name < strs->sh_size && strcmp(names + sym.st_name, name) == 0)
				value = sym.st_value, found = true;
		}
		free(names);
	}
	free(sh);
	fclose(f);
	cr_assert(found, "%s: no symbol %s", path, name);
	return value;
}

#endif
