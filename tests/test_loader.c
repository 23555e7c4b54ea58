/* The image loader: flat images with and without a header, ELF64 executables, every rejection
 * with its exact error and the value it names, file reading, loading into guest RAM, and a
 * seeded property test that random and mutated images either parse self-consistently or fail
 * cleanly. Images are crafted in memory; files go to a mkdtemp directory. */
#include <criterion/criterion.h>

#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "memory.h"
#include "pagewarden/abi.h"
#include "pagewarden/layout.h"
#include "pte.h"

#define RAM	  PW_MEM_DEFAULT /* 64 MiB */
#define SMALL_RAM 0x400000ull	 /* 4 MiB, for the load tests' buffers */
#define IMG_MAX	  0x10000

static uint8_t img_buf[IMG_MAX];

/* Pattern byte at file offset i: never 0, so copied bytes and zeroed bss differ. */
static uint8_t pattern(size_t i)
{
	return (uint8_t)(0xa5 ^ i ^ (i >> 8)) | 1;
}

/* ---- ELF crafting ---- */

struct elf_spec {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[24];
};

/* A PT_LOAD header. */
static Elf64_Phdr load(uint64_t vaddr, uint64_t off, uint64_t filesz, uint64_t memsz,
		       uint32_t flags)
{
	return (Elf64_Phdr){.p_type = PT_LOAD,
			    .p_flags = flags,
			    .p_offset = off,
			    .p_vaddr = vaddr,
			    .p_paddr = vaddr,
			    .p_filesz = filesz,
			    .p_memsz = memsz,
			    .p_align = 0x1000};
}

/* The good ELF: text R+X [0x100000-0x100200) from offset 0x1000, a PT_GNU_STACK to skip, and
 * data RW [0x102000-0x104000) with 0x100 file bytes from offset 0x2000 (the rest is bss). */
static void good_elf(struct elf_spec *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->eh.e_ident, ELFMAG, SELFMAG);
	s->eh.e_ident[EI_CLASS] = ELFCLASS64;
	s->eh.e_ident[EI_DATA] = ELFDATA2LSB;
	s->eh.e_ident[EI_VERSION] = EV_CURRENT;
	s->eh.e_type = ET_EXEC;
	s->eh.e_machine = EM_X86_64;
	s->eh.e_version = EV_CURRENT;
	s->eh.e_entry = 0x100010;
	s->eh.e_phoff = sizeof(Elf64_Ehdr);
	s->eh.e_ehsize = sizeof(Elf64_Ehdr);
	s->eh.e_phentsize = sizeof(Elf64_Phdr);
	s->eh.e_phnum = 3;
	s->ph[0] = load(0x100000, 0x1000, 0x200, 0x200, PF_R | PF_X);
	s->ph[1] = (Elf64_Phdr){.p_type = PT_GNU_STACK, .p_flags = PF_R | PF_W};
	s->ph[2] = load(0x102000, 0x2000, 0x100, 0x2000, PF_R | PF_W);
}

/* Write s into img_buf over the pattern; return the length that holds the headers and every
 * PT_LOAD's file bytes (capped at IMG_MAX; fields that point further make truncated files). */
static size_t elf_write(const struct elf_spec *s)
{
	size_t len = sizeof(s->eh);
	size_t table = (size_t)s->eh.e_phnum * sizeof(Elf64_Phdr);

	for (size_t i = 0; i < IMG_MAX; i++)
		img_buf[i] = pattern(i);
	memcpy(img_buf, &s->eh, sizeof(s->eh));
	if (s->eh.e_phoff < IMG_MAX && table <= sizeof(s->ph) && s->eh.e_phoff + table <= IMG_MAX) {
		memcpy(img_buf + s->eh.e_phoff, s->ph, table);
		if (s->eh.e_phoff + table > len)
			len = s->eh.e_phoff + table;
	}
	for (unsigned i = 0; i < s->eh.e_phnum && i < 24; i++) {
		const Elf64_Phdr *ph = &s->ph[i];

		if (ph->p_type == PT_LOAD && ph->p_offset + ph->p_filesz > len &&
		    ph->p_offset + ph->p_filesz <= IMG_MAX)
			len = ph->p_offset + ph->p_filesz;
	}
	return len;
}

/* Parse s as written; return the error (img and e filled). */
static enum image_err elf_parse(const struct elf_spec *s, struct image *img, struct image_error *e)
{
	return image_parse(img_buf, elf_write(s), RAM, img, e);
}

/* Assert that parsing buf fails with want, that e agrees, and that the one-line detail
 * mentions needle. */
static void expect_fail(enum image_err got, const struct image_error *e, enum image_err want,
			const char *needle)
{
	cr_assert_eq(got, want, "error %d (%s: %s), want %d (%s)", got, image_strerror(got),
		     e->detail, want, image_strerror(want));
	cr_assert_eq(e->err, want);
	cr_assert_neq(e->detail[0], '\0', "empty detail");
	cr_assert_null(strchr(e->detail, '\n'), "detail is not one line: %s", e->detail);
	cr_assert_not_null(strstr(e->detail, needle), "detail \"%s\" does not mention \"%s\"",
			   e->detail, needle);
}

/* Parse s and expect want with needle in the detail. */
static void elf_expect(const struct elf_spec *s, enum image_err want, const char *needle)
{
	struct image img;
	struct image_error e;

	expect_fail(elf_parse(s, &img, &e), &e, want, needle);
}

/* ---- Flat crafting ---- */

/* Fill a flat image of len bytes with the pattern, and a jump at byte 0 over a header. */
static void flat_fill(size_t len)
{
	for (size_t i = 0; i < len; i++)
		img_buf[i] = pattern(i);
	img_buf[0] = 0xeb; /* jmp rel8 */
	img_buf[1] = 0x3e;
}

/* Write a header with these ends at off, with a correct checksum unless bad_sum. */
static void flat_header(size_t off, uint64_t text, uint64_t rodata, uint64_t data, uint64_t bss,
			bool bad_sum)
{
	struct pw_image_header h = {PW_IMAGE_MAGIC, 0, text, rodata, data, bss};

	h.checksum = ~(h.magic + text + rodata + data + bss) + (bad_sum ? 1 : 0);
	memcpy(img_buf + off, &h, sizeof(h));
}

/* Assert segment i of img. */
static void expect_seg(const struct image *img, unsigned i, uint64_t gpa, uint64_t file_size,
		       uint64_t mem_size, unsigned flags, unsigned kind)
{
	const struct image_segment *s = &img->seg[i];

	cr_assert_lt(i, img->nsegs);
	cr_assert_eq(s->gpa, gpa, "seg %u gpa 0x%lx want 0x%lx", i, s->gpa, gpa);
	cr_assert_eq(s->file_size, file_size, "seg %u file_size 0x%lx", i, s->file_size);
	cr_assert_eq(s->mem_size, mem_size, "seg %u mem_size 0x%lx", i, s->mem_size);
	cr_assert_eq(s->flags, flags, "seg %u flags 0x%x want 0x%x", i, s->flags, flags);
	cr_assert_eq(s->kind, kind, "seg %u kind %u want %u", i, s->kind, kind);
}

/* ---- Flat images ---- */

Test(loader_flat, no_header_is_one_rwx_text_segment)
{
	struct image img;
	struct image_error e;

	flat_fill(0x2345);
	cr_assert_eq(image_parse(img_buf, 0x2345, RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(img.format, IMAGE_FLAT);
	cr_assert_not(img.has_header);
	cr_assert_eq(img.nsegs, 1);
	expect_seg(&img, 0, PW_IMAGE_GPA, 0x2345, 0x2345, PT_READ | PT_WRITE | PT_EXECUTE,
		   PW_REGION_TEXT);
	cr_assert_eq(img.seg[0].file_offset, 0);
	cr_assert_eq(img.entry, PW_IMAGE_GPA);
	cr_assert_eq(img.start, PW_IMAGE_GPA);
	cr_assert_eq(img.end, PW_IMAGE_GPA + 0x2345);
	cr_assert_eq(img.data, img_buf);
	cr_assert_eq(img.size, 0x2345);
}

Test(loader_flat, header_splits_text_rodata_data_bss)
{
	struct image img;
	struct image_error e;

	flat_fill(0x4000);
	flat_header(8, 0x102000, 0x103000, 0x104000, 0x106800, false);
	cr_assert_eq(image_parse(img_buf, 0x4000, RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert(img.has_header);
	cr_assert_eq(img.nsegs, 3);
	expect_seg(&img, 0, 0x100000, 0x2000, 0x2000, PT_READ | PT_EXECUTE, PW_REGION_TEXT);
	expect_seg(&img, 1, 0x102000, 0x1000, 0x1000, PT_READ, PW_REGION_RODATA);
	expect_seg(&img, 2, 0x103000, 0x1000, 0x3800, PT_READ | PT_WRITE, PW_REGION_DATA);
	cr_assert_eq(img.seg[1].file_offset, 0x2000);
	cr_assert_eq(img.seg[2].file_offset, 0x3000);
	cr_assert_eq(img.entry, PW_IMAGE_GPA);
	cr_assert_eq(img.start, 0x100000);
	cr_assert_eq(img.end, 0x106800);
}

Test(loader_flat, header_with_empty_rodata_and_no_bss)
{
	struct image img;
	struct image_error e;

	flat_fill(0x3000);
	flat_header(16, 0x101000, 0x101000, 0x103000, 0x103000, false);
	cr_assert_eq(image_parse(img_buf, 0x3000, RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(img.nsegs, 2);
	expect_seg(&img, 0, 0x100000, 0x1000, 0x1000, PT_READ | PT_EXECUTE, PW_REGION_TEXT);
	expect_seg(&img, 1, 0x101000, 0x2000, 0x2000, PT_READ | PT_WRITE, PW_REGION_DATA);
}

Test(loader_flat, text_only_header_need_not_be_page_aligned)
{
	struct image img;
	struct image_error e;

	flat_fill(0x1234);
	flat_header(8, 0x101234, 0x101234, 0x101234, 0x101234, false);
	cr_assert_eq(image_parse(img_buf, 0x1234, RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(img.nsegs, 1);
	expect_seg(&img, 0, 0x100000, 0x1234, 0x1234, PT_READ | PT_EXECUTE, PW_REGION_TEXT);
}

Test(loader_flat, bad_checksum_header_is_ignored)
{
	struct image img;
	struct image_error e;

	flat_fill(0x4000);
	/* Inconsistent ends too: they must not matter, since the header is not believed. */
	flat_header(8, 0x50, 0x40, 0x30, 0x20, true);
	cr_assert_eq(image_parse(img_buf, 0x4000, RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_not(img.has_header);
	cr_assert_eq(img.nsegs, 1);
	expect_seg(&img, 0, PW_IMAGE_GPA, 0x4000, 0x4000, PT_READ | PT_WRITE | PT_EXECUTE,
		   PW_REGION_TEXT);
}

Test(loader_flat, good_header_after_bad_one_is_found)
{
	struct image img;
	struct image_error e;

	flat_fill(0x3000);
	flat_header(8, 0x101000, 0x102000, 0x103000, 0x103000, true);
	flat_header(64, 0x101000, 0x102000, 0x103000, 0x104000, false);
	cr_assert_eq(image_parse(img_buf, 0x3000, RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert(img.has_header);
	cr_assert_eq(img.end, 0x104000);
}

Test(loader_flat, header_search_window_and_alignment)
{
	size_t last = PW_IMAGE_HEADER_SEARCH - sizeof(struct pw_image_header);
	struct image img;
	struct image_error e;

	flat_fill(0x3000);
	flat_header(last, 0x101000, 0x102000, 0x103000, 0x103000, false);
	cr_assert_eq(image_parse(img_buf, 0x3000, RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert(img.has_header, "header ending exactly at the window's end not found");

	flat_fill(0x3000);
	flat_header(last + 8, 0x101000, 0x102000, 0x103000, 0x103000, false);
	cr_assert_eq(image_parse(img_buf, 0x3000, RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_not(img.has_header, "header crossing the window's end was used");

	flat_fill(0x3000);
	flat_header(12, 0x101000, 0x102000, 0x103000, 0x103000, false);
	cr_assert_eq(image_parse(img_buf, 0x3000, RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_not(img.has_header, "header at a misaligned offset was used");
}

Test(loader_flat, header_at_end_of_tiny_file)
{
	struct image img;
	struct image_error e;

	flat_fill(0x38);
	flat_header(8, 0x100038, 0x100038, 0x100038, 0x100038, false);
	cr_assert_eq(image_parse(img_buf, 0x38, RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert(img.has_header);
	/* One byte short: the header no longer fits, so it is not seen. */
	cr_assert_eq(image_parse(img_buf, 0x37, RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_not(img.has_header);
}

/* Parse a 0x4000-byte flat image whose header (good checksum) has these ends. */
static enum image_err flat_with(uint64_t text, uint64_t rodata, uint64_t data, uint64_t bss,
				size_t len, struct image *img, struct image_error *e)
{
	flat_fill(len);
	flat_header(8, text, rodata, data, bss, false);
	return image_parse(img_buf, len, RAM, img, e);
}

Test(loader_flat, inconsistent_header_is_rejected)
{
	struct image img;
	struct image_error e;

	expect_fail(flat_with(0x103000, 0x102000, 0x104000, 0x104000, 0x4000, &img, &e), &e,
		    IMAGE_EHEADER, "rodata 0x102000");
	expect_fail(flat_with(0x102000, 0x103000, 0x104000, 0x103800, 0x4000, &img, &e), &e,
		    IMAGE_EHEADER, "bss 0x103800");
	expect_fail(flat_with(0x100000, 0x102000, 0x104000, 0x104000, 0x4000, &img, &e), &e,
		    IMAGE_EHEADER, "text_end 0x100000");
	expect_fail(flat_with(0x50, 0x102000, 0x104000, 0x104000, 0x4000, &img, &e), &e,
		    IMAGE_EHEADER, "0x50");
}

Test(loader_flat, unaligned_boundary_is_rejected)
{
	struct image img;
	struct image_error e;

	expect_fail(flat_with(0x101800, 0x103000, 0x104000, 0x104000, 0x4000, &img, &e), &e,
		    IMAGE_EHEADER, "text_end 0x101800");
	expect_fail(flat_with(0x101000, 0x102800, 0x104000, 0x104000, 0x4000, &img, &e), &e,
		    IMAGE_EHEADER, "rodata_end 0x102800");
}

Test(loader_flat, header_and_file_length_must_agree)
{
	struct image img;
	struct image_error e;

	expect_fail(flat_with(0x101000, 0x102000, 0x105000, 0x105000, 0x4000, &img, &e), &e,
		    IMAGE_ETRUNC, "0x105000");
	expect_fail(flat_with(0x101000, 0x102000, 0x103000, 0x105000, 0x4000, &img, &e), &e,
		    IMAGE_EHEADER, "0x103000");
}

Test(loader_flat, header_bss_past_ram_is_rejected)
{
	struct image img;
	struct image_error e;

	expect_fail(flat_with(0x101000, 0x102000, 0x104000, RAM + 0x1000, 0x4000, &img, &e), &e,
		    IMAGE_ERANGE, "outside RAM");
	cr_assert_not_null(strstr(e.detail, "0x4001000"), "%s", e.detail);
}

Test(loader_flat, image_larger_than_ram_is_rejected)
{
	struct image img;
	struct image_error e;

	flat_fill(0x3000);
	expect_fail(image_parse(img_buf, 0x3000, PW_IMAGE_GPA + 0x2000, &img, &e), &e, IMAGE_ERANGE,
		    "0x103000");
}

Test(loader_flat, empty_buffer_is_rejected)
{
	struct image img;
	struct image_error e;

	expect_fail(image_parse(img_buf, 0, RAM, &img, &e), &e, IMAGE_EEMPTY, "0");
}

/* ---- ELF images ---- */

Test(loader_elf, good_elf_parses)
{
	struct elf_spec s;
	struct image img;
	struct image_error e;

	good_elf(&s);
	cr_assert_eq(elf_parse(&s, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(img.format, IMAGE_ELF);
	cr_assert_eq(img.entry, 0x100010);
	cr_assert_eq(img.nsegs, 2);
	expect_seg(&img, 0, 0x100000, 0x200, 0x200, PT_READ | PT_EXECUTE, PW_REGION_TEXT);
	expect_seg(&img, 1, 0x102000, 0x100, 0x2000, PT_READ | PT_WRITE, PW_REGION_DATA);
	cr_assert_eq(img.seg[0].file_offset, 0x1000);
	cr_assert_eq(img.seg[1].file_offset, 0x2000);
	cr_assert_eq(img.start, 0x100000);
	cr_assert_eq(img.end, 0x104000);
}

Test(loader_elf, kinds_and_implied_read)
{
	struct elf_spec s;
	struct image img;
	struct image_error e;

	good_elf(&s);
	s.eh.e_phnum = 4;
	s.ph[1] = load(0x101000, 0x1800, 0x80, 0x80, PF_R);
	s.ph[0].p_flags = PF_X; /* execute-only is not expressible: read is implied */
	s.ph[3] = load(0x104000, 0x2800, 0x10, 0x10, 0);
	cr_assert_eq(elf_parse(&s, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(img.nsegs, 4);
	expect_seg(&img, 0, 0x100000, 0x200, 0x200, PT_READ | PT_EXECUTE, PW_REGION_TEXT);
	expect_seg(&img, 1, 0x101000, 0x80, 0x80, PT_READ, PW_REGION_RODATA);
	expect_seg(&img, 2, 0x102000, 0x100, 0x2000, PT_READ | PT_WRITE, PW_REGION_DATA);
	expect_seg(&img, 3, 0x104000, 0x10, 0x10, PT_READ, PW_REGION_RODATA);
}

Test(loader_elf, segments_are_sorted_and_empty_ones_skipped)
{
	struct elf_spec s;
	struct image img;
	struct image_error e;

	good_elf(&s);
	s.ph[1] = s.ph[0];
	s.ph[0] = s.ph[2];
	s.ph[2] = load(0x10, 0, 0, 0, PF_R | PF_W | PF_X); /* empty: ignored, not range-checked */
	cr_assert_eq(elf_parse(&s, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(img.nsegs, 2);
	cr_assert_eq(img.seg[0].gpa, 0x100000);
	cr_assert_eq(img.seg[1].gpa, 0x102000);
}

Test(loader_elf, paddr_is_ignored)
{
	struct elf_spec s;
	struct image img;
	struct image_error e;

	good_elf(&s);
	s.ph[2].p_paddr = 0x7000;
	cr_assert_eq(elf_parse(&s, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(img.seg[1].gpa, 0x102000);
}

Test(loader_elf, sixteen_segments_fit)
{
	struct elf_spec s;
	struct image img;
	struct image_error e;

	good_elf(&s);
	s.eh.e_phnum = IMAGE_MAX_SEGMENTS;
	for (unsigned i = 1; i < IMAGE_MAX_SEGMENTS; i++)
		s.ph[i] = load(0x101000 + i * 0x1000, 0x1000, 0x10, 0x10, PF_R);
	cr_assert_eq(elf_parse(&s, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(img.nsegs, IMAGE_MAX_SEGMENTS);
}

Test(loader_elf, truncated_headers)
{
	struct elf_spec s;
	struct image img;
	struct image_error e;

	good_elf(&s);
	elf_write(&s);
	expect_fail(image_parse(img_buf, 10, RAM, &img, &e), &e, IMAGE_ETRUNC, "10");
	expect_fail(image_parse(img_buf, 40, RAM, &img, &e), &e, IMAGE_ETRUNC, "64");
	/* The program header table is [0x40-0xe8). */
	expect_fail(image_parse(img_buf, 0xe7, RAM, &img, &e), &e, IMAGE_ETRUNC, "0xe8");
	s.eh.e_phoff = IMG_MAX - 0x40;
	elf_expect(&s, IMAGE_ETRUNC, "0xffc0");
}

Test(loader_elf, truncated_segment)
{
	struct elf_spec s;
	struct image img;
	struct image_error e;

	good_elf(&s);
	elf_write(&s);
	/* The data segment's file bytes are [0x2000-0x2100). */
	expect_fail(image_parse(img_buf, 0x20ff, RAM, &img, &e), &e, IMAGE_ETRUNC, "0x2100");
	cr_assert_not_null(strstr(e.detail, "0x20ff"), "%s", e.detail);
}

Test(loader_elf, wrong_class_and_encoding)
{
	struct elf_spec s;

	good_elf(&s);
	s.eh.e_ident[EI_CLASS] = ELFCLASS32;
	elf_expect(&s, IMAGE_ECLASS, "32-bit");
	good_elf(&s);
	s.eh.e_ident[EI_DATA] = ELFDATA2MSB;
	elf_expect(&s, IMAGE_ECLASS, "big-endian");
	good_elf(&s);
	s.eh.e_ident[EI_VERSION] = 7;
	elf_expect(&s, IMAGE_ECLASS, "7");
	good_elf(&s);
	s.eh.e_version = 9;
	elf_expect(&s, IMAGE_ECLASS, "9");
	good_elf(&s);
	s.eh.e_phentsize = 32;
	elf_expect(&s, IMAGE_ECLASS, "32");
}

Test(loader_elf, wrong_machine)
{
	struct elf_spec s;

	good_elf(&s);
	s.eh.e_machine = EM_ARM;
	elf_expect(&s, IMAGE_EMACHINE, "0x28");
}

Test(loader_elf, wrong_type)
{
	struct elf_spec s;

	good_elf(&s);
	s.eh.e_type = ET_DYN;
	elf_expect(&s, IMAGE_ETYPE, "ET_DYN");
	s.eh.e_type = ET_REL;
	elf_expect(&s, IMAGE_ETYPE, "type 1");
}

Test(loader_elf, no_pt_load)
{
	struct elf_spec s;

	good_elf(&s);
	s.ph[0].p_type = PT_NOTE;
	s.ph[2].p_type = PT_NOTE;
	elf_expect(&s, IMAGE_ENOSEG, "0 PT_LOAD");
	good_elf(&s);
	s.eh.e_phnum = 0;
	elf_expect(&s, IMAGE_ENOSEG, "0 program headers");
	good_elf(&s);
	s.ph[0].p_memsz = s.ph[0].p_filesz = 0;
	s.ph[2].p_memsz = s.ph[2].p_filesz = 0;
	elf_expect(&s, IMAGE_ENOSEG, "2 PT_LOAD");
}

Test(loader_elf, too_many_segments)
{
	struct elf_spec s;

	good_elf(&s);
	s.eh.e_phnum = IMAGE_MAX_SEGMENTS + 3;
	for (unsigned i = 1; i < s.eh.e_phnum; i++)
		s.ph[i] = load(0x101000 + i * 0x1000, 0x1000, 0x10, 0x10, PF_R);
	elf_expect(&s, IMAGE_ETOO_MANY, "19");
	good_elf(&s);
	s.eh.e_phnum = PN_XNUM;
	elf_expect(&s, IMAGE_ETOO_MANY, "0xffff");
}

Test(loader_elf, overlapping_segments)
{
	struct elf_spec s;

	good_elf(&s);
	s.ph[2].p_vaddr = 0x100100;
	elf_expect(&s, IMAGE_EOVERLAP, "[0x100100-0x102100)");
	good_elf(&s);
	s.ph[2].p_vaddr = 0x100000; /* same start */
	elf_expect(&s, IMAGE_EOVERLAP, "[0x100000-0x100200)");
}

Test(loader_elf, segments_sharing_a_page_are_rejected)
{
	struct elf_spec s;

	good_elf(&s);
	s.ph[2].p_vaddr = 0x100200; /* right after text, in the same page */
	elf_expect(&s, IMAGE_EOVERLAP, "shares the page at 0x100000");
	good_elf(&s);
	s.ph[2].p_vaddr = 0x100200;
	s.ph[2].p_flags = PF_R | PF_X; /* same rights still share a page: one page, one region */
	elf_expect(&s, IMAGE_EOVERLAP, "0x100200");
}

Test(loader_elf, segment_below_image_area)
{
	struct elf_spec s;

	good_elf(&s);
	s.ph[2].p_vaddr = 0xff000;
	elf_expect(&s, IMAGE_ERANGE, "0xff000");
	elf_expect(&s, IMAGE_ERANGE, "VMM-owned");
}

Test(loader_elf, segment_past_ram)
{
	struct elf_spec s;

	good_elf(&s);
	s.ph[2].p_vaddr = RAM - 0x1000;
	elf_expect(&s, IMAGE_ERANGE, "outside RAM");
	elf_expect(&s, IMAGE_ERANGE, "0x4001000");
}

Test(loader_elf, overflows)
{
	struct elf_spec s;

	good_elf(&s);
	s.ph[2].p_vaddr = 0xfffffffffffff000ull;
	elf_expect(&s, IMAGE_EOVERFLOW, "0xfffffffffffff000");
	good_elf(&s);
	s.ph[2].p_offset = 0xffffffffffffff80ull;
	elf_expect(&s, IMAGE_EOVERFLOW, "0xffffffffffffff80");
	good_elf(&s);
	s.eh.e_phoff = 0xfffffffffffffff0ull;
	elf_expect(&s, IMAGE_EOVERFLOW, "0xfffffffffffffff0");
}

Test(loader_elf, filesz_above_memsz)
{
	struct elf_spec s;

	good_elf(&s);
	s.ph[0].p_filesz = 0x300;
	elf_expect(&s, IMAGE_EOVERFLOW, "0x300");
}

Test(loader_elf, writable_and_executable)
{
	struct elf_spec s;

	good_elf(&s);
	s.ph[2].p_flags = PF_R | PF_W | PF_X;
	elf_expect(&s, IMAGE_EWX, "0x102000");
}

Test(loader_elf, entry_outside_text)
{
	struct elf_spec s;
	struct image img;
	struct image_error e;

	good_elf(&s);
	s.eh.e_entry = 0x200000;
	elf_expect(&s, IMAGE_EENTRY, "0x200000");
	s.eh.e_entry = 0x100200; /* one past the end of text */
	elf_expect(&s, IMAGE_EENTRY, "0x100200");
	s.eh.e_entry = 0x1001ff; /* its last byte is fine */
	cr_assert_eq(elf_parse(&s, &img, &e), IMAGE_OK, "%s", e.detail);
}

Test(loader_elf, entry_in_data)
{
	struct elf_spec s;

	good_elf(&s);
	s.eh.e_entry = 0x103000; /* in the data segment's bss */
	elf_expect(&s, IMAGE_EENTRY, "not executable");
	elf_expect(&s, IMAGE_EENTRY, "0x103000");
}

/* ---- Loading ---- */

/* Guest RAM of SMALL_RAM bytes, filled with 0xcc so untouched and zeroed bytes differ. */
static struct guest_mem mem_new(void)
{
	struct guest_mem m = {aligned_alloc(4096, SMALL_RAM), SMALL_RAM};

	cr_assert_not_null(m.host);
	memset(m.host, 0xcc, SMALL_RAM);
	return m;
}

Test(loader_load, elf_copies_segments_and_zeroes_bss)
{
	struct guest_mem m = mem_new();
	struct elf_spec s;
	struct image img;
	struct image_error e;
	size_t len;

	good_elf(&s);
	len = elf_write(&s);
	cr_assert_eq(image_parse(img_buf, len, SMALL_RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(image_load(&img, &m, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(memcmp(m.host + 0x100000, img_buf + 0x1000, 0x200), 0, "text not copied");
	cr_assert_eq(memcmp(m.host + 0x102000, img_buf + 0x2000, 0x100), 0, "data not copied");
	for (uint64_t a = 0x102100; a < 0x104000; a++)
		cr_assert_eq(m.host[a], 0, "bss byte at 0x%lx is 0x%x", a, m.host[a]);
	/* Bytes outside the segments are left alone. */
	cr_assert_eq(m.host[0xfffff], 0xcc);
	cr_assert_eq(m.host[0x100200], 0xcc);
	cr_assert_eq(m.host[0x104000], 0xcc);
	free(m.host);
}

Test(loader_load, flat_with_header_zeroes_bss)
{
	struct guest_mem m = mem_new();
	struct image img;
	struct image_error e;

	cr_assert_eq(flat_with(0x101000, 0x102000, 0x103000, 0x104800, 0x3000, &img, &e), IMAGE_OK,
		     "%s", e.detail);
	cr_assert_eq(image_load(&img, &m, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(memcmp(m.host + PW_IMAGE_GPA, img_buf, 0x3000), 0);
	for (uint64_t a = 0x103000; a < 0x104800; a++)
		cr_assert_eq(m.host[a], 0, "bss byte at 0x%lx is 0x%x", a, m.host[a]);
	cr_assert_eq(m.host[0x104800], 0xcc);
	free(m.host);
}

Test(loader_load, segment_outside_mem_is_refused)
{
	struct guest_mem m = mem_new();
	struct image img;
	struct image_error e;

	flat_fill(0x3000);
	/* Parsed for a larger RAM than the memory it is then loaded into. */
	cr_assert_eq(image_parse(img_buf, 0x3000, RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	m.size = PW_IMAGE_GPA + 0x2000;
	expect_fail(image_load(&img, &m, &e), &e, IMAGE_ERANGE, "0x3000");
	free(m.host);
}

/* ---- Files ---- */

static char tmpdir[64];

static void files_setup(void)
{
	strcpy(tmpdir, "/tmp/pw-loader-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void files_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_assert_eq(system(cmd), 0);
}

/* Write len bytes of buf to tmpdir/name; return the path in a static buffer. */
static const char *write_file(const char *name, const void *buf, size_t len)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(buf, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
	return path;
}

/* Read path and expect want, with needle in the detail and no buffer handed out. */
static void read_expect(const char *path, uint64_t max, enum image_err want, const char *needle)
{
	uint8_t *buf = (uint8_t *)1;
	size_t len = 1;
	struct image_error e;

	expect_fail(image_read_file(path, max, &buf, &len, &e), &e, want, needle);
	cr_assert_null(buf);
	cr_assert_eq(len, 0);
}

Test(loader_file, good_flat_file, .init = files_setup, .fini = files_teardown)
{
	struct image_error e;
	struct image img;
	uint8_t *buf;
	size_t len;
	const char *path;

	flat_fill(0x2345);
	path = write_file("flat.bin", img_buf, 0x2345);
	cr_assert_eq(image_read_file(path, RAM, &buf, &len, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(len, 0x2345);
	cr_assert_eq(memcmp(buf, img_buf, len), 0);
	cr_assert_eq(image_parse(buf, len, RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(img.nsegs, 1);
	free(buf);
}

Test(loader_file, good_elf_file_loads, .init = files_setup, .fini = files_teardown)
{
	struct guest_mem m = mem_new();
	struct elf_spec s;
	struct image_error e;
	struct image img;
	uint8_t *buf;
	size_t len;
	const char *path;

	good_elf(&s);
	path = write_file("guest.elf", img_buf, elf_write(&s));
	cr_assert_eq(image_read_file(path, RAM, &buf, &len, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(image_parse(buf, len, SMALL_RAM, &img, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(img.format, IMAGE_ELF);
	cr_assert_eq(image_load(&img, &m, &e), IMAGE_OK, "%s", e.detail);
	cr_assert_eq(memcmp(m.host + 0x100000, buf + 0x1000, 0x200), 0);
	cr_assert_eq(m.host[0x103fff], 0);
	free(buf);
	free(m.host);
}

Test(loader_file, empty_file, .init = files_setup, .fini = files_teardown)
{
	read_expect(write_file("empty.bin", "", 0), RAM, IMAGE_EEMPTY, "0 bytes");
}

Test(loader_file, too_big, .init = files_setup, .fini = files_teardown)
{
	flat_fill(0x2000);
	read_expect(write_file("big.bin", img_buf, 0x2000), 0x1fff, IMAGE_ETOO_BIG, "0x1fff");
}

Test(loader_file, directory, .init = files_setup, .fini = files_teardown)
{
	read_expect(tmpdir, RAM, IMAGE_EDIR, "ELF");
}

Test(loader_file, missing_file, .init = files_setup, .fini = files_teardown)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/nope.bin", tmpdir);
	read_expect(path, RAM, IMAGE_EOPEN, "No such file");
}

Test(loader_file, fifo_is_refused_without_blocking, .init = files_setup, .fini = files_teardown,
     .timeout = 10)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	cr_assert_eq(mkfifo(path, 0600), 0);
	read_expect(path, RAM, IMAGE_EOPEN, "not a regular file");
}

/* ---- Properties ---- */

static uint64_t rng_state;

/* xorshift64*: a fixed seed makes every failure reproducible. */
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* Return NULL if img is self-consistent for a buffer of len bytes and ram bytes of RAM, else
 * what is wrong. */
static const char *image_inconsistency(const struct image *img, size_t len, uint64_t ram)
{
	bool exec_entry = false;

	if (img->nsegs == 0 || img->nsegs > IMAGE_MAX_SEGMENTS)
		return "segment count";
	for (unsigned i = 0; i < img->nsegs; i++) {
		const struct image_segment *s = &img->seg[i];
		bool wx = (s->flags & PT_WRITE) && (s->flags & PT_EXECUTE);

		if (s->mem_size == 0 || s->file_size > s->mem_size)
			return "sizes";
		if (s->file_offset > len || s->file_size > len - s->file_offset)
			return "file bytes outside the buffer";
		if (s->gpa < PW_IMAGE_GPA || s->gpa > ram || s->mem_size > ram - s->gpa)
			return "segment outside [PW_IMAGE_GPA, ram)";
		if (wx && !(img->format == IMAGE_FLAT && !img->has_header))
			return "W+X";
		if (!(s->flags & PT_READ) || (s->flags & ~(PT_READ | PT_WRITE | PT_EXECUTE)))
			return "flags";
		if (i > 0 &&
		    (s->gpa >> 12) <= ((img->seg[i - 1].gpa + img->seg[i - 1].mem_size - 1) >> 12))
			return "unsorted, overlapping or sharing a page";
		if ((s->flags & PT_EXECUTE) && img->entry >= s->gpa &&
		    img->entry - s->gpa < s->mem_size)
			exec_entry = true;
	}
	if (!exec_entry)
		return "entry not in an executable segment";
	if (img->start != img->seg[0].gpa ||
	    img->end != img->seg[img->nsegs - 1].gpa + img->seg[img->nsegs - 1].mem_size)
		return "start/end";
	return NULL;
}

/* Parse len bytes of img_buf; assert a self-consistent image that also loads, or a clean
 * failure. Returns true on success. */
static bool parse_checked(size_t len, uint64_t ram, uint64_t iter, struct guest_mem *m)
{
	struct image img;
	struct image_error e;
	enum image_err err = image_parse(img_buf, len, ram, &img, &e);
	const char *bad;

	if (err != IMAGE_OK) {
		cr_assert(err > IMAGE_OK && err < IMAGE_ERR_COUNT, "iter %lu: error %d", iter, err);
		cr_assert_eq(e.err, err, "iter %lu", iter);
		cr_assert_neq(e.detail[0], '\0', "iter %lu: empty detail for %s", iter,
			      image_strerror(err));
		cr_assert_lt(strlen(e.detail), sizeof(e.detail));
		cr_assert_null(strchr(e.detail, '\n'), "iter %lu", iter);
		return false;
	}
	bad = image_inconsistency(&img, len, ram);
	cr_assert_null(bad, "iter %lu: accepted an image with bad %s", iter, bad);
	if (m && ram <= m->size)
		cr_assert_eq(image_load(&img, m, &e), IMAGE_OK, "iter %lu: %s", iter, e.detail);
	return true;
}

Test(loader_prop, random_garbage_fails_cleanly_or_is_consistent)
{
	unsigned ok = 0;

	rng_state = 0x5eed0001;
	for (uint64_t it = 0; it < 5000; it++) {
		size_t len = rng() % 3000;

		for (size_t i = 0; i < len; i++)
			img_buf[i] = (uint8_t)rng();
		/* Half of them claim to be ELF, to get past the magic. */
		if (it & 1 && len >= 4)
			memcpy(img_buf, ELFMAG, SELFMAG);
		ok += parse_checked(len, RAM, it, NULL);
	}
	/* Random flat bytes are mostly good headerless images: the test saw both outcomes. */
	cr_assert_gt(ok, 0);
	cr_assert_lt(ok, 5000);
}

/* Overwrite a random field-sized piece of the first 0x200 bytes (headers) with a random,
 * small or boundary value. */
static void mutate(size_t len)
{
	static const uint64_t edges[] = {0,
					 1,
					 0xfff,
					 0x1000,
					 PW_IMAGE_GPA - 1,
					 PW_IMAGE_GPA,
					 0x101000,
					 RAM - 0x1000,
					 RAM,
					 0x7fffffffffffffffull,
					 0xfffffffffffff000ull,
					 0xffffffffffffffffull};
	size_t width = (size_t)1 << (rng() % 4);
	size_t off = rng() % (0x200 - 8);
	uint64_t v;

	switch (rng() % 3) {
	case 0:
		v = rng();
		break;
	case 1:
		v = rng() % 0x4000;
		break;
	default:
		v = edges[rng() % (sizeof(edges) / sizeof(edges[0]))];
		break;
	}
	if (off + width <= len)
		memcpy(img_buf + off, &v, width);
}

Test(loader_prop, mutated_elves_fail_cleanly_or_are_consistent)
{
	struct guest_mem m = mem_new();
	unsigned ok = 0, n = 20000;
	struct elf_spec s;

	rng_state = 0x5eed0002;
	good_elf(&s);
	for (uint64_t it = 0; it < n; it++) {
		size_t len = elf_write(&s);
		unsigned k = 1 + rng() % 4;

		for (unsigned j = 0; j < k; j++)
			mutate(len);
		if (rng() % 8 == 0)
			len = rng() % (len + 1);
		ok += parse_checked(len, SMALL_RAM, it, &m);
	}
	cr_assert_gt(ok, 0);
	cr_assert_lt(ok, n);
	free(m.host);
}

Test(loader_prop, mutated_flat_headers_fail_cleanly_or_are_consistent)
{
	struct guest_mem m = mem_new();
	unsigned ok = 0, headers = 0, n = 20000;

	rng_state = 0x5eed0003;
	for (uint64_t it = 0; it < n; it++) {
		uint64_t ends[4] = {0x101000, 0x102000, 0x103000, 0x104800};
		size_t len = 0x3000;
		struct image img;
		struct image_error e;

		unsigned nudges = 1 + rng() % 2;

		/* Nudge one or two ends by a page either way or a random step; keep the checksum
		 * right so the header is believed and its checks run. */
		for (unsigned j = 0; j < nudges; j++) {
			unsigned f = rng() % 4;

			if (rng() & 1)
				ends[f] += rng() & 2 ? 0x1000 : 0 - 0x1000ull;
			else
				ends[f] += rng() % 0x3000 - 0x1800;
		}
		if (rng() % 4 == 0)
			len = 0x1000 + rng() % 0x3000;
		flat_fill(len);
		flat_header(8, ends[0], ends[1], ends[2], ends[3], false);
		ok += parse_checked(len, SMALL_RAM, it, &m);
		if (image_parse(img_buf, len, SMALL_RAM, &img, &e) == IMAGE_OK)
			headers += img.has_header;
	}
	cr_assert_gt(ok, 0);
	cr_assert_lt(ok, n);
	cr_assert_gt(headers, 0);
	free(m.host);
}

/* ---- The real guest, as built by make ---- */

/* Read and parse $dir/rel into img (buffer kept in *buf); skip the test if the file is absent. */
static void parse_built(const char *env, const char *rel, uint8_t **buf, struct image *img)
{
	const char *dir = getenv(env);
	char path[512];
	struct image_error e;
	size_t len;

	if (!dir)
		cr_skip_test("%s not set", env);
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (access(path, R_OK) != 0)
		cr_skip_test("%s not built", path);
	cr_assert_eq(image_read_file(path, RAM, buf, &len, &e), IMAGE_OK, "%s: %s: %s", path,
		     image_strerror(e.err), e.detail);
	cr_assert_eq(image_parse(*buf, len, RAM, img, &e), IMAGE_OK, "%s: %s: %s", path,
		     image_strerror(e.err), e.detail);
}

Test(loader_built, demo_elf_and_flat_describe_the_same_layout)
{
	struct image elf, flat;
	uint8_t *elf_buf = NULL, *flat_buf = NULL;

	parse_built("PW_BUILD", "demo/guest.elf", &elf_buf, &elf);
	parse_built("PW_ROOT", "guest.bin", &flat_buf, &flat);
	cr_assert_eq(elf.format, IMAGE_ELF);
	cr_assert_eq(flat.format, IMAGE_FLAT);
	cr_assert(flat.has_header, "guest.bin carries no valid struct pw_image_header");
	cr_assert_eq(elf.entry, flat.entry, "ELF entry 0x%lx, flat entry 0x%lx", elf.entry,
		     flat.entry);
	cr_assert_eq(elf.nsegs, flat.nsegs);
	for (unsigned i = 0; i < elf.nsegs; i++)
		expect_seg(&flat, i, elf.seg[i].gpa, elf.seg[i].file_size, elf.seg[i].mem_size,
			   elf.seg[i].flags, elf.seg[i].kind);
	free(elf_buf);
	free(flat_buf);
}
