/* Flat images: raw bytes loaded at PW_IMAGE_GPA and entered at their first byte. An optional
 * struct pw_image_header (emitted by the guest runtime's linker script) splits them into text,
 * rodata and data+bss so they get W^X; without it the whole file is one R+W+X segment. */
#include "loader.h"

#include <inttypes.h>
#include <string.h>

#include "pagewarden/abi.h"
#include "pagewarden/layout.h"
#include "pte.h"

/* The header is read with memcpy: the host is x86-64, like the guest that wrote it. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host expected");

/* The checksum a header with these ends must carry (wrapping arithmetic). */
static uint64_t header_checksum(const struct pw_image_header *h)
{
	return ~(h->magic + h->text_end + h->rodata_end + h->data_end + h->bss_end);
}

/* Find a header with the magic and a valid checksum at an 8-byte aligned offset whose whole
 * struct lies in the first PW_IMAGE_HEADER_SEARCH bytes; copy it to *h, store its offset in
 * *off. A magic with a wrong checksum is taken for chance bytes in code or data and skipped. */
static bool find_header(const uint8_t *buf, size_t len, struct pw_image_header *h, size_t *off)
{
	size_t window = len < PW_IMAGE_HEADER_SEARCH ? len : PW_IMAGE_HEADER_SEARCH;

	for (size_t o = 0; o + sizeof(*h) <= window; o += 8) {
		memcpy(h, buf + o, sizeof(*h));
		if (h->magic == PW_IMAGE_MAGIC && h->checksum == header_checksum(h)) {
			*off = o;
			return true;
		}
	}
	return false;
}

/* Append a segment of the flat file: [gpa, gpa + mem_size) whose first file_size bytes are at
 * file offset gpa - PW_IMAGE_GPA. */
static void add_segment(struct image *img, uint64_t gpa, uint64_t file_size, uint64_t mem_size,
			unsigned flags, unsigned kind)
{
	struct image_segment *s = &img->seg[img->nsegs++];

	s->gpa = gpa;
	s->file_offset = gpa - PW_IMAGE_GPA;
	s->file_size = file_size;
	s->mem_size = mem_size;
	s->flags = flags;
	s->kind = kind;
}

/* Check that boundary end between two parts with different permissions is page-aligned when
 * the part after it (up to next) is not empty: a page holds one set of permissions. */
static enum image_err check_boundary(const char *name, uint64_t end, uint64_t next,
				     struct image_error *e)
{
	if (next > end && (end & (PW_PAGE_SIZE - 1)) != 0)
		return image_fail(e, IMAGE_EHEADER,
				  "%s 0x%" PRIx64 " is not 4 KiB aligned, so one page would need "
				  "two sets of permissions",
				  name, end);
	return IMAGE_OK;
}

/* Check the header's ends against each other and against the file's len bytes. */
static enum image_err check_header(const struct pw_image_header *h, size_t off, size_t len,
				   struct image_error *e)
{
	enum image_err err;
	uint64_t file_bytes;

	if (h->text_end <= PW_IMAGE_GPA)
		return image_fail(e, IMAGE_EHEADER,
				  "header at offset 0x%zx: text_end 0x%" PRIx64
				  " leaves no text at the entry 0x%llx",
				  off, h->text_end, PW_IMAGE_GPA);
	if (h->rodata_end < h->text_end || h->data_end < h->rodata_end || h->bss_end < h->data_end)
		return image_fail(e, IMAGE_EHEADER,
				  "ends not ascending: text 0x%" PRIx64 " rodata 0x%" PRIx64
				  " data 0x%" PRIx64 " bss 0x%" PRIx64,
				  h->text_end, h->rodata_end, h->data_end, h->bss_end);
	err = check_boundary("text_end", h->text_end, h->bss_end, e);
	if (!err)
		err = check_boundary("rodata_end", h->rodata_end,
				     h->rodata_end > h->text_end ? h->bss_end : 0, e);
	if (err)
		return err;
	/* data_end > PW_IMAGE_GPA here, so this cannot wrap. */
	file_bytes = h->data_end - PW_IMAGE_GPA;
	if (file_bytes > len)
		return image_fail(e, IMAGE_ETRUNC,
				  "header data_end 0x%" PRIx64 " needs 0x%" PRIx64
				  " bytes, the file has 0x%zx",
				  h->data_end, file_bytes, len);
	/* Bytes after data_end would land in bss and be zeroed: the header does not describe
	 * this file. */
	if (file_bytes < len)
		return image_fail(e, IMAGE_EHEADER,
				  "header data_end 0x%" PRIx64 " covers 0x%" PRIx64
				  " bytes, the file has 0x%zx",
				  h->data_end, file_bytes, len);
	return IMAGE_OK;
}

/* Split the image by its header: text R+X, rodata R, then data and bss as one R+W segment
 * whose file part is the data (the same shape as an ELF data segment). */
static void segments_from_header(const struct pw_image_header *h, struct image *img)
{
	add_segment(img, PW_IMAGE_GPA, h->text_end - PW_IMAGE_GPA, h->text_end - PW_IMAGE_GPA,
		    PT_READ | PT_EXECUTE, PW_REGION_TEXT);
	if (h->rodata_end > h->text_end)
		add_segment(img, h->text_end, h->rodata_end - h->text_end,
			    h->rodata_end - h->text_end, PT_READ, PW_REGION_RODATA);
	if (h->bss_end > h->rodata_end)
		add_segment(img, h->rodata_end, h->data_end - h->rodata_end,
			    h->bss_end - h->rodata_end, PT_READ | PT_WRITE, PW_REGION_DATA);
}

enum image_err image_parse_flat(const uint8_t *buf, size_t len, struct image *img,
				struct image_error *e)
{
	struct pw_image_header h;
	enum image_err err;
	size_t off;

	img->format = IMAGE_FLAT;
	img->entry = PW_IMAGE_GPA;
	if (!find_header(buf, len, &h, &off)) {
		/* Nothing says where code ends, so nothing can be protected (no W^X). */
		add_segment(img, PW_IMAGE_GPA, len, len, PT_READ | PT_WRITE | PT_EXECUTE,
			    PW_REGION_TEXT);
		return IMAGE_OK;
	}
	img->has_header = true;
	err = check_header(&h, off, len, e);
	if (err)
		return err;
	segments_from_header(&h, img);
	return IMAGE_OK;
}
