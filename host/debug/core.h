/* --core FILE: an ELF core file of a crashed guest, for `gdb guest.elf FILE`. One PT_NOTE with
 * NT_PRSTATUS (the registers at the crash: the faulting instruction's where the crash was a
 * fault), and one PT_LOAD per run of guest-virtual pages the guest's page tables map to guest
 * RAM, at their virtual addresses. Guard pages and unbacked ranges are not dumped
 * (docs/debugging.md, "Core files"). */
#ifndef PW_HOST_CORE_H
#define PW_HOST_CORE_H

#include <stdbool.h>
#include <stdint.h>

#include "run.h"

enum core_err {
	CORE_OK = 0,
	CORE_ENOREGS, /* the vCPU's registers could not be read */
	CORE_ENOMEM,  /* out of memory for the segment list */
	CORE_EWRITE,  /* writing the file failed (errno in the detail) */
	CORE_ERR_COUNT
};

/* What core_write wrote, for the VMM's note; image is the one input. */
struct core_info {
	const char *image;     /* in: the image's path, for NT_PRPSINFO (NULL: "vmm guest") */
	unsigned segments;     /* PT_LOAD segments */
	uint64_t bytes;	       /* guest memory dumped (their p_memsz) */
	uint64_t file_bytes;   /* of which stored in the file (p_filesz): zero stretches are not */
	uint64_t rip;	       /* RIP in NT_PRSTATUS */
	const char *regs_from; /* where the registers came from: "the vCPU", ... */
	bool truncated;	       /* the limits (core.c) left part of the guest's mappings out */
	char detail[160];      /* on error: what failed */
};

/* True if a run that stopped this way gets a core: a crash (an unrecovered fault, a panic, or a
 * stop the crash report explains). */
bool core_wanted(enum run_stop stop);

/* Return a constant description of err. */
const char *core_strerror(enum core_err err);

/* Write the core of r's stopped guest to fd (opened for writing, positioned at 0; the caller
 * closes it) with write(2) only, in file order (the sandbox allows no lseek). Call once
 * run_guest returned a stop that core_wanted. */
enum core_err core_write(int fd, struct run *r, struct core_info *info);

#endif
