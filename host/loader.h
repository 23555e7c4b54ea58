/* Guest images: flat binaries (optionally with a struct pw_image_header) and ELF64 executables.
 * Parsing works on a buffer so it can be fuzzed; loading copies segments into guest RAM. */
#ifndef PW_HOST_LOADER_H
#define PW_HOST_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory.h"

#define IMAGE_MAX_SEGMENTS 16

enum image_format { IMAGE_FLAT = 0, IMAGE_ELF = 1 };

/* One piece of the image, at its guest-physical address. file_size bytes come from the file,
 * the rest up to mem_size is zeroed. */
struct image_segment {
	uint64_t gpa;
	uint64_t file_size;
	uint64_t mem_size;
	uint64_t file_offset;
	unsigned flags; /* generic paging flags: PT_READ | PT_WRITE | PT_EXECUTE */
	unsigned kind;	/* PW_REGION_TEXT, PW_REGION_RODATA or PW_REGION_DATA */
};

struct image {
	enum image_format format;
	bool has_header; /* flat image carried a struct pw_image_header */
	uint64_t entry;
	uint64_t start, end; /* lowest and highest (exclusive) GPA of any segment */
	unsigned nsegs;
	struct image_segment seg[IMAGE_MAX_SEGMENTS]; /* sorted by gpa, non-overlapping */
	const uint8_t *data; /* the file's bytes (owned by the caller of image_parse) */
	size_t size;
};

enum image_err {
	IMAGE_OK = 0,
	IMAGE_EOPEN,	 /* cannot open or read the file (detail has strerror) */
	IMAGE_EDIR,	 /* the path is a directory */
	IMAGE_EEMPTY,	 /* zero-length file */
	IMAGE_ETOO_BIG,	 /* larger than RAM allows */
	IMAGE_ETRUNC,	 /* a header or segment extends past the end of the file */
	IMAGE_ECLASS,	 /* ELF but not ELFCLASS64 / little-endian / version 1 */
	IMAGE_EMACHINE,	 /* ELF but not EM_X86_64 */
	IMAGE_ETYPE,	 /* ELF but not ET_EXEC */
	IMAGE_ENOSEG,	 /* no PT_LOAD segment */
	IMAGE_ETOO_MANY, /* more than IMAGE_MAX_SEGMENTS loadable segments */
	IMAGE_EOVERFLOW, /* an address or size computation overflows */
	IMAGE_EOVERLAP,	 /* two segments overlap */
	IMAGE_ERANGE,  /* a segment lies outside RAM or on VMM-owned memory (below PW_IMAGE_GPA) */
	IMAGE_EWX,     /* a segment is both writable and executable */
	IMAGE_EENTRY,  /* the entry point is not inside an executable segment */
	IMAGE_EHEADER, /* a flat image header is inconsistent */
	IMAGE_ERR_COUNT
};

/* What went wrong, with the values involved, ready to print after "FILE: ". */
struct image_error {
	enum image_err err;
	char detail[192];
};

/* Return a constant description of err. */
const char *image_strerror(enum image_err err);

/* Parse and validate buf (len bytes) as an image for a guest with ram_size bytes of RAM.
 * Detects the format by magic (ELF, else flat). img->data points into buf. */
enum image_err image_parse(const uint8_t *buf, size_t len, uint64_t ram_size, struct image *img,
			   struct image_error *e);

/* Read the file at path into a malloc'ed buffer (*buf, *len; caller frees), rejecting
 * directories, empty files and files larger than max bytes. */
enum image_err image_read_file(const char *path, uint64_t max, uint8_t **buf, size_t *len,
			       struct image_error *e);

/* Copy every segment of img into guest RAM and zero its bss. Fails only if a segment does not
 * fit mem (IMAGE_ERANGE), which image_parse already excludes. */
enum image_err image_load(const struct image *img, const struct guest_mem *mem,
			  struct image_error *e);

/* ---- Shared by image_parse and the format parsers (loader_flat.c, loader_elf.c) ---- */

/* Fill img's segments and entry from a flat image (len > 0); image_parse validates the result. */
enum image_err image_parse_flat(const uint8_t *buf, size_t len, struct image *img,
				struct image_error *e);

/* Fill img's segments and entry from an ELF64 image (buf starts with ELFMAG); image_parse
 * validates the result. */
enum image_err image_parse_elf(const uint8_t *buf, size_t len, struct image *img,
			       struct image_error *e);

/* Record err and a one-line detail in e (which may be NULL); return err. */
enum image_err image_fail(struct image_error *e, enum image_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
