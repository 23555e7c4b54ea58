/* Guest RAM: one anonymous MAP_NORESERVE mapping, and the one checked GPA -> host helper that
 * every access to guest memory on behalf of a guest or a file goes through. */
#ifndef PW_HOST_MEMORY_H
#define PW_HOST_MEMORY_H

#include <stddef.h>
#include <stdint.h>

struct guest_mem {
	uint8_t *host; /* base of the mapping; guest-physical 0 */
	uint64_t size; /* bytes of RAM, a multiple of 4 KiB */
};

enum mem_err {
	MEM_OK = 0,
	MEM_ETOO_SMALL, /* below PW_MEM_MIN */
	MEM_ETOO_LARGE, /* above PW_MEM_MAX */
	MEM_EALIGN,	/* not a multiple of 4 KiB */
	MEM_ENOMEM,	/* mmap failed */
};

/* Return a constant description of err. */
const char *mem_strerror(enum mem_err err);

/* Map size bytes of zeroed guest RAM. */
enum mem_err guest_mem_alloc(struct guest_mem *m, uint64_t size);

/* Unmap guest RAM; m becomes empty. Safe on an empty m. */
void guest_mem_free(struct guest_mem *m);

/* Host pointer to [gpa, gpa + len), or NULL if any byte lies outside RAM or gpa + len overflows.
 * len 0 is valid for any gpa <= size. The only way host code turns a GPA into a pointer. */
void *gpa_to_host(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Parse a size with an optional K/M/G suffix (binary units) into *out. Returns 0 on success,
 * -1 on syntax error or overflow. */
int parse_size(const char *s, uint64_t *out);

#endif
