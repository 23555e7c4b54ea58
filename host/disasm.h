/* The one x86-64 disassembler of the VMM: the crash report's "instruction:" line and the skip
 * injection model's instruction length. Capstone is dlopen'ed, not linked in: as a load-time
 * dependency its relocations cost ~0.3 ms at every start, a quarter of a boot. It is loaded on
 * first use, or by disasm_preload() before the seccomp sandbox forbids opening files. */
#ifndef PW_HOST_DISASM_H
#define PW_HOST_DISASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DISASM_TEXT_MAX 192 /* mnemonic, a space, operands, NUL */

enum disasm_err {
	DISASM_OK = 0,
	DISASM_EUNAVAILABLE, /* built without capstone, or libcapstone cannot be loaded */
	DISASM_EDECODE,	     /* the bytes are not one complete instruction */
};

/* One decoded instruction. */
struct disasm_insn {
	size_t size;		    /* its length in bytes (1..15) */
	char text[DISASM_TEXT_MAX]; /* "mov rax, qword ptr [rbx]" */
};

/* Constant description of err. */
const char *disasm_strerror(enum disasm_err err);

/* True if this build can use capstone at all (libcapstone-dev was there at build time). */
bool disasm_built_in(void);

/* Load capstone now (idempotent): call before sandbox_install so that decoding still works
 * under the sandbox. True if the disassembler is usable. */
bool disasm_preload(void);

/* Decode the first instruction of code (len bytes, located at guest address rip) into *out;
 * loads capstone on first use. */
enum disasm_err disasm_one(const uint8_t *code, size_t len, uint64_t rip, struct disasm_insn *out);

#endif
