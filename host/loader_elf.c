/* ELF64 images: static x86-64 executables (ET_EXEC). Each non-empty PT_LOAD becomes a segment
 * at its p_vaddr (the map is an identity map, so the address code runs at is the address it
 * loads at; p_paddr is not used). Every offset and size comes from the file, so each sum is
 * overflow-checked and each range is checked against the file's length. */
#include "loader.h"

#include <elf.h>
#include <inttypes.h>
#include <string.h>

#include "pagewarden/abi.h"
#include "pte.h"

/* Headers are read with memcpy: the host is x86-64, as is every image it accepts. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host expected");

/* Check e_ident: 64-bit, little-endian, version 1. Needs EI_NIDENT bytes. */
static enum image_err check_ident(const unsigned char *ident, struct image_error *e)
{
	if (ident[EI_CLASS] != ELFCLASS64)
		return image_fail(e, IMAGE_ECLASS, "ELF class %u%s, need ELFCLASS64 (%u)",
				  ident[EI_CLASS], ident[EI_CLASS] == ELFCLASS32 ? " (32-bit)" : "",
				  ELFCLASS64);
	if (ident[EI_DATA] != ELFDATA2LSB)
		return image_fail(e, IMAGE_ECLASS,
				  "ELF data encoding %u%s, need little-endian (%u)", ident[EI_DATA],
				  ident[EI_DATA] == ELFDATA2MSB ? " (big-endian)" : "",
				  ELFDATA2LSB);
	if (ident[EI_VERSION] != EV_CURRENT)
		return image_fail(e, IMAGE_ECLASS, "ELF ident version %u, need %u",
				  ident[EI_VERSION], EV_CURRENT);
	return IMAGE_OK;
}

/* Check the ELF header proper: version, machine, type and the program header entry size. */
static enum image_err check_ehdr(const Elf64_Ehdr *eh, struct image_error *e)
{
	if (eh->e_version != EV_CURRENT)
		return image_fail(e, IMAGE_ECLASS, "ELF version %u, need %u", eh->e_version,
				  EV_CURRENT);
	if (eh->e_machine != EM_X86_64)
		return image_fail(e, IMAGE_EMACHINE, "ELF machine 0x%x is not x86-64 (0x%x)",
				  eh->e_machine, EM_X86_64);
	if (eh->e_type == ET_DYN)
		return image_fail(e, IMAGE_ETYPE,
				  "ELF type %u is ET_DYN (PIE or shared object); link with -static "
				  "-no-pie",
				  eh->e_type);
	if (eh->e_type != ET_EXEC)
		return image_fail(e, IMAGE_ETYPE, "ELF type %u%s, need ET_EXEC (%u)", eh->e_type,
				  eh->e_type == ET_REL ? " (ET_REL, an object file)" : "", ET_EXEC);
	/* PN_XNUM means the real count is in section 0; no static guest needs that many. */
	if (eh->e_phnum == PN_XNUM)
		return image_fail(e, IMAGE_ETOO_MANY, "e_phnum 0x%x (extended numbering)",
				  eh->e_phnum);
	if (eh->e_phnum != 0 && eh->e_phentsize != sizeof(Elf64_Phdr))
		return image_fail(e, IMAGE_ECLASS, "e_phentsize %u, ELF64 needs %zu",
				  eh->e_phentsize, sizeof(Elf64_Phdr));
	return IMAGE_OK;
}

/* Check that the program header table [e_phoff, + e_phnum entries) lies in the file. */
static enum image_err check_phdr_table(const Elf64_Ehdr *eh, size_t len, struct image_error *e)
{
	uint64_t end;

	if (eh->e_phnum == 0)
		return IMAGE_OK;
	if (__builtin_add_overflow(eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr), &end))
		return image_fail(e, IMAGE_EOVERFLOW,
				  "program headers at 0x%" PRIx64 " x %u wrap past 2^64",
				  eh->e_phoff, eh->e_phnum);
	if (end > len)
		return image_fail(e, IMAGE_ETRUNC,
				  "program headers [0x%" PRIx64 "-0x%" PRIx64
				  ") extend past the file's 0x%zx bytes",
				  eh->e_phoff, end, len);
	return IMAGE_OK;
}

/* Check one PT_LOAD header (index i) on its own: sizes agree, its file bytes lie in the
 * file's len bytes, its memory end is computable. */
static enum image_err check_load(const Elf64_Phdr *ph, unsigned i, size_t len,
				 struct image_error *e)
{
	uint64_t end;

	if (ph->p_filesz > ph->p_memsz)
		return image_fail(e, IMAGE_EOVERFLOW,
				  "program header %u: file size 0x%" PRIx64
				  " exceeds memory size 0x%" PRIx64,
				  i, ph->p_filesz, ph->p_memsz);
	if (__builtin_add_overflow(ph->p_offset, ph->p_filesz, &end))
		return image_fail(e, IMAGE_EOVERFLOW,
				  "program header %u: offset 0x%" PRIx64 " + file size 0x%" PRIx64
				  " wraps past 2^64",
				  i, ph->p_offset, ph->p_filesz);
	if (end > len)
		return image_fail(e, IMAGE_ETRUNC,
				  "program header %u: file bytes [0x%" PRIx64 "-0x%" PRIx64
				  ") extend past the file's 0x%zx bytes",
				  i, ph->p_offset, end, len);
	if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end))
		return image_fail(e, IMAGE_EOVERFLOW,
				  "program header %u: vaddr 0x%" PRIx64 " + memory size 0x%" PRIx64
				  " wraps past 2^64",
				  i, ph->p_vaddr, ph->p_memsz);
	return IMAGE_OK;
}

/* Generic paging flags for ELF p_flags. Always readable: x86 pages cannot be execute-only or
 * write-only, so PF_R is implied. */
static unsigned flags_of(uint32_t p_flags)
{
	unsigned flags = PT_READ;

	if (p_flags & PF_W)
		flags |= PT_WRITE;
	if (p_flags & PF_X)
		flags |= PT_EXECUTE;
	return flags;
}

/* Region kind for generic flags: text if executable, data if writable, else rodata. */
static unsigned kind_of(unsigned flags)
{
	if (flags & PT_EXECUTE)
		return PW_REGION_TEXT;
	if (flags & PT_WRITE)
		return PW_REGION_DATA;
	return PW_REGION_RODATA;
}

/* Append the segment a checked PT_LOAD header describes. */
static void add_segment(struct image *img, const Elf64_Phdr *ph)
{
	struct image_segment *s = &img->seg[img->nsegs++];

	s->gpa = ph->p_vaddr;
	s->file_offset = ph->p_offset;
	s->file_size = ph->p_filesz;
	s->mem_size = ph->p_memsz;
	s->flags = flags_of(ph->p_flags);
	s->kind = kind_of(s->flags);
}

/* Turn the PT_LOAD headers into segments, skipping empty ones (p_memsz 0, which map nothing);
 * count all of them so an overlong list is reported with its real size. */
static enum image_err collect_loads(const uint8_t *buf, size_t len, const Elf64_Ehdr *eh,
				    struct image *img, struct image_error *e)
{
	unsigned loads = 0, pt_loads = 0;

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;
		enum image_err err;

		memcpy(&ph, buf + eh->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		pt_loads++;
		err = check_load(&ph, i, len, e);
		if (err)
			return err;
		if (ph.p_memsz == 0)
			continue;
		if (loads++ < IMAGE_MAX_SEGMENTS)
			add_segment(img, &ph);
	}
	if (loads > IMAGE_MAX_SEGMENTS)
		return image_fail(e, IMAGE_ETOO_MANY, "%u non-empty PT_LOAD segments, at most %u",
				  loads, IMAGE_MAX_SEGMENTS);
	if (loads == 0)
		return image_fail(e, IMAGE_ENOSEG,
				  "%u program headers, %u PT_LOAD, none with a memory size",
				  eh->e_phnum, pt_loads);
	return IMAGE_OK;
}

enum image_err image_parse_elf(const uint8_t *buf, size_t len, struct image *img,
			       struct image_error *e)
{
	enum image_err err;
	Elf64_Ehdr eh;

	if (len < EI_NIDENT)
		return image_fail(e, IMAGE_ETRUNC,
				  "ELF identification needs %u bytes, file has %zu", EI_NIDENT,
				  len);
	err = check_ident(buf, e);
	if (err)
		return err;
	if (len < sizeof(eh))
		return image_fail(e, IMAGE_ETRUNC, "ELF64 header needs %zu bytes, file has %zu",
				  sizeof(eh), len);
	memcpy(&eh, buf, sizeof(eh));
	err = check_ehdr(&eh, e);
	if (!err)
		err = check_phdr_table(&eh, len, e);
	if (!err)
		err = collect_loads(buf, len, &eh, img, e);
	if (err)
		return err;
	img->format = IMAGE_ELF;
	img->entry = eh.e_entry;
	return IMAGE_OK;
}
