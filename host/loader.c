/* Guest images, the format-neutral part: reading the file, detecting the format, the checks
 * every image passes whatever its format (range, W^X, overlap, entry), and loading into RAM.
 * The format parsers (loader_flat.c, loader_elf.c) only turn bytes into segments. */
#include "loader.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pagewarden/abi.h"
#include "pagewarden/layout.h"
#include "pte.h"

#define PAGE_SHIFT 12

static const char *const image_errors[IMAGE_ERR_COUNT] = {
    [IMAGE_OK] = "success",
    [IMAGE_EOPEN] = "cannot open or read the image",
    [IMAGE_EDIR] = "is a directory",
    [IMAGE_EEMPTY] = "empty image",
    [IMAGE_ETOO_BIG] = "image file too large",
    [IMAGE_ETRUNC] = "image truncated",
    [IMAGE_ECLASS] = "not a 64-bit little-endian ELF version 1",
    [IMAGE_EMACHINE] = "ELF not for x86-64",
    [IMAGE_ETYPE] = "ELF not a static executable (ET_EXEC)",
    [IMAGE_ENOSEG] = "no loadable segment",
    [IMAGE_ETOO_MANY] = "too many loadable segments",
    [IMAGE_EOVERFLOW] = "address or size overflows",
    [IMAGE_EOVERLAP] = "segments overlap",
    [IMAGE_ERANGE] = "segment outside the guest's image area",
    [IMAGE_EWX] = "segment both writable and executable",
    [IMAGE_EENTRY] = "entry point not in an executable segment",
    [IMAGE_EHEADER] = "inconsistent flat-image header",
};

/* Return a constant description of err. */
const char *image_strerror(enum image_err err)
{
	if ((unsigned)err < IMAGE_ERR_COUNT)
		return image_errors[err];
	return "unknown image error";
}

/* Record err and a one-line detail in e (which may be NULL); return err. */
enum image_err image_fail(struct image_error *e, enum image_err err, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return err;
	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
	return err;
}

/* Last byte (inclusive) of s: mem_size > 0 always, so this cannot wrap once end is known to
 * fit. */
static uint64_t seg_last(const struct image_segment *s)
{
	return s->gpa + s->mem_size - 1;
}

/* Check one segment alone: its end is computable, it lies in [PW_IMAGE_GPA, ram_size) and it
 * is not writable and executable at once (unless allow_wx). */
static enum image_err check_segment(const struct image_segment *s, unsigned i, uint64_t ram_size,
				    bool allow_wx, struct image_error *e)
{
	uint64_t end;

	if (__builtin_add_overflow(s->gpa, s->mem_size, &end))
		return image_fail(e, IMAGE_EOVERFLOW,
				  "segment %u at 0x%" PRIx64 " + size 0x%" PRIx64
				  " wraps past 2^64",
				  i, s->gpa, s->mem_size);
	/* Below PW_IMAGE_GPA sit the boot info, GDT, IDT, stacks and page tables. */
	if (s->gpa < PW_IMAGE_GPA)
		return image_fail(e, IMAGE_ERANGE,
				  "segment %u [0x%" PRIx64 "-0x%" PRIx64
				  ") starts below 0x%llx, on top of VMM-owned structures",
				  i, s->gpa, end, PW_IMAGE_GPA);
	if (end > ram_size)
		return image_fail(e, IMAGE_ERANGE,
				  "segment %u [0x%" PRIx64 "-0x%" PRIx64
				  ") ends outside RAM (0x%" PRIx64 " bytes)",
				  i, s->gpa, end, ram_size);
	if (!allow_wx && (s->flags & PT_WRITE) && (s->flags & PT_EXECUTE))
		return image_fail(e, IMAGE_EWX, "segment %u [0x%" PRIx64 "-0x%" PRIx64 ") is W+X",
				  i, s->gpa, end);
	return IMAGE_OK;
}

/* Fill order[0..n) with segment indices sorted by gpa (insertion sort: n <= 16). */
static void sort_by_gpa(const struct image *img, unsigned *order)
{
	for (unsigned i = 0; i < img->nsegs; i++) {
		unsigned j = i;

		while (j > 0 && img->seg[order[j - 1]].gpa > img->seg[i].gpa) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = i;
	}
}

/* Check that segment b (next by gpa) neither overlaps a nor shares a 4 KiB page with it: each
 * page gets one set of permissions, so two segments in one page could not both be honoured. */
static enum image_err check_pair(const struct image *img, unsigned ia, unsigned ib,
				 struct image_error *e)
{
	const struct image_segment *a = &img->seg[ia], *b = &img->seg[ib];
	uint64_t a_end = seg_last(a) + 1, b_end = seg_last(b) + 1;
	uint64_t page = b->gpa & ~(uint64_t)(PW_PAGE_SIZE - 1);

	if (a_end > b->gpa)
		return image_fail(e, IMAGE_EOVERLAP,
				  "segment %u [0x%" PRIx64 "-0x%" PRIx64
				  ") overlaps segment %u [0x%" PRIx64 "-0x%" PRIx64 ")",
				  ib, b->gpa, b_end, ia, a->gpa, a_end);
	if (seg_last(a) >> PAGE_SHIFT == b->gpa >> PAGE_SHIFT)
		return image_fail(e, IMAGE_EOVERLAP,
				  "segment %u [0x%" PRIx64 "-0x%" PRIx64
				  ") shares the page at 0x%" PRIx64 " with segment %u [0x%" PRIx64
				  "-0x%" PRIx64 ")",
				  ib, b->gpa, b_end, page, ia, a->gpa, a_end);
	return IMAGE_OK;
}

/* Check that img->entry lies inside an executable segment. */
static enum image_err check_entry(const struct image *img, struct image_error *e)
{
	for (unsigned i = 0; i < img->nsegs; i++) {
		const struct image_segment *s = &img->seg[i];

		if (img->entry < s->gpa || img->entry > seg_last(s))
			continue;
		if (s->flags & PT_EXECUTE)
			return IMAGE_OK;
		return image_fail(e, IMAGE_EENTRY,
				  "entry 0x%" PRIx64 " is in segment %u [0x%" PRIx64 "-0x%" PRIx64
				  "), which is not executable",
				  img->entry, i, s->gpa, s->gpa + s->mem_size);
	}
	return image_fail(e, IMAGE_EENTRY, "entry 0x%" PRIx64 " is outside every segment",
			  img->entry);
}

/* Validate the segments a parser produced against ram_size, then sort them by gpa and set
 * start and end. Segment numbers in messages are the parser's order. */
static enum image_err image_validate(struct image *img, uint64_t ram_size, struct image_error *e)
{
	/* A flat image without a header has nothing that says where code ends (docs/images.md). */
	bool allow_wx = img->format == IMAGE_FLAT && !img->has_header;
	struct image_segment sorted[IMAGE_MAX_SEGMENTS];
	unsigned order[IMAGE_MAX_SEGMENTS];
	enum image_err err;

	if (img->nsegs == 0)
		return image_fail(e, IMAGE_ENOSEG, "no segment with a non-zero memory size");
	for (unsigned i = 0; i < img->nsegs; i++) {
		err = check_segment(&img->seg[i], i, ram_size, allow_wx, e);
		if (err)
			return err;
	}
	sort_by_gpa(img, order);
	for (unsigned i = 1; i < img->nsegs; i++) {
		err = check_pair(img, order[i - 1], order[i], e);
		if (err)
			return err;
	}
	err = check_entry(img, e);
	if (err)
		return err;
	for (unsigned i = 0; i < img->nsegs; i++)
		sorted[i] = img->seg[order[i]];
	memcpy(img->seg, sorted, img->nsegs * sizeof(sorted[0]));
	img->start = img->seg[0].gpa;
	img->end = seg_last(&img->seg[img->nsegs - 1]) + 1;
	return IMAGE_OK;
}

/* True if buf starts with the ELF magic "\x7fELF". */
static bool is_elf(const uint8_t *buf, size_t len)
{
	return len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0;
}

enum image_err image_parse(const uint8_t *buf, size_t len, uint64_t ram_size, struct image *img,
			   struct image_error *e)
{
	enum image_err err;

	memset(img, 0, sizeof(*img));
	if (e) {
		e->err = IMAGE_OK;
		e->detail[0] = '\0';
	}
	img->data = buf;
	img->size = len;
	if (len == 0)
		return image_fail(e, IMAGE_EEMPTY, "0 bytes");
	if (is_elf(buf, len)) {
		img->format = IMAGE_ELF;
		err = image_parse_elf(buf, len, img, e);
	} else {
		img->format = IMAGE_FLAT;
		err = image_parse_flat(buf, len, img, e);
	}
	if (err)
		return err;
	return image_validate(img, ram_size, e);
}

/* Read exactly len bytes from fd into buf, retrying short and interrupted reads. */
static enum image_err read_all(int fd, uint8_t *buf, size_t len, struct image_error *e)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = read(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return image_fail(e, IMAGE_EOPEN, "read: %s", strerror(errno));
		if (n == 0)
			return image_fail(e, IMAGE_EOPEN,
					  "file shrank while reading: got 0x%zx of 0x%zx bytes",
					  done, len);
		done += (size_t)n;
	}
	return IMAGE_OK;
}

/* Check what fstat says about an opened image: a non-empty regular file of at most max bytes. */
static enum image_err check_stat(const struct stat *st, uint64_t max, struct image_error *e)
{
	if (S_ISDIR(st->st_mode))
		return image_fail(e, IMAGE_EDIR, "expected a flat binary or an ELF executable");
	if (!S_ISREG(st->st_mode))
		return image_fail(e, IMAGE_EOPEN, "not a regular file (mode 0%o)",
				  (unsigned)st->st_mode);
	if (st->st_size == 0)
		return image_fail(e, IMAGE_EEMPTY, "0 bytes");
	if ((uint64_t)st->st_size > max || (uint64_t)st->st_size > SIZE_MAX)
		return image_fail(e, IMAGE_ETOO_BIG, "0x%" PRIx64 " bytes, limit 0x%" PRIx64,
				  (uint64_t)st->st_size, max);
	return IMAGE_OK;
}

enum image_err image_read_file(const char *path, uint64_t max, uint8_t **buf, size_t *len,
			       struct image_error *e)
{
	enum image_err err;
	struct stat st;
	uint8_t *data;
	int fd;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: opening a FIFO must not hang; it is refused as not regular just after. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == EISDIR)
		return image_fail(e, IMAGE_EDIR, "expected a flat binary or an ELF executable");
	if (fd < 0)
		return image_fail(e, IMAGE_EOPEN, "%s", strerror(errno));
	if (fstat(fd, &st) < 0) {
		err = image_fail(e, IMAGE_EOPEN, "fstat: %s", strerror(errno));
		close(fd);
		return err;
	}
	err = check_stat(&st, max, e);
	if (err) {
		close(fd);
		return err;
	}
	data = malloc((size_t)st.st_size);
	if (!data) {
		close(fd);
		return image_fail(e, IMAGE_EOPEN, "cannot allocate 0x%zx bytes",
				  (size_t)st.st_size);
	}
	err = read_all(fd, data, (size_t)st.st_size, e);
	close(fd);
	if (err) {
		free(data);
		return err;
	}
	*buf = data;
	*len = (size_t)st.st_size;
	return IMAGE_OK;
}

/* Copy one segment's file bytes to guest RAM and zero the rest of its memory size. */
static enum image_err load_segment(const struct image *img, unsigned i, const struct guest_mem *mem,
				   struct image_error *e)
{
	const struct image_segment *s = &img->seg[i];
	uint8_t *dst = gpa_to_host(mem, s->gpa, s->mem_size);
	uint64_t file_end;

	if (!dst)
		return image_fail(e, IMAGE_ERANGE,
				  "segment %u at 0x%" PRIx64 " size 0x%" PRIx64
				  " does not fit 0x%" PRIx64 " bytes of RAM",
				  i, s->gpa, s->mem_size, mem->size);
	/* image_parse guarantees both; a hand-made struct image might not. */
	if (s->file_size > s->mem_size ||
	    __builtin_add_overflow(s->file_offset, s->file_size, &file_end) || file_end > img->size)
		return image_fail(e, IMAGE_ETRUNC,
				  "segment %u file bytes [0x%" PRIx64 "+0x%" PRIx64
				  ") do not fit the 0x%zx-byte image or its memory size 0x%" PRIx64,
				  i, s->file_offset, s->file_size, img->size, s->mem_size);
	memcpy(dst, img->data + s->file_offset, s->file_size);
	memset(dst + s->file_size, 0, s->mem_size - s->file_size);
	return IMAGE_OK;
}

enum image_err image_load(const struct image *img, const struct guest_mem *mem,
			  struct image_error *e)
{
	for (unsigned i = 0; i < img->nsegs; i++) {
		enum image_err err = load_segment(img, i, mem, e);

		if (err)
			return err;
	}
	return IMAGE_OK;
}
