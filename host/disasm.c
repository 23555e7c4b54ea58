/* The x86-64 disassembler: capstone through dlopen, loaded at most once per process. */
#include "disasm.h"

#include <stdio.h>

#ifdef HAVE_CAPSTONE
#include <capstone/capstone.h>
#include <dlfcn.h>
#endif

const char *disasm_strerror(enum disasm_err err)
{
	switch (err) {
	case DISASM_OK:
		return "success";
	case DISASM_EUNAVAILABLE:
		return "no disassembler (libcapstone not built in or not loadable)";
	case DISASM_EDECODE:
		return "not a complete instruction";
	}
	return "unknown disassembler error";
}

#ifdef HAVE_CAPSTONE
#define DISASM_STR2(x) #x
#define DISASM_STR(x)  DISASM_STR2(x)

/* The library and one open handle. Process-wide on purpose: a dlopen'ed library is, and under
 * the sandbox it can only be loaded before the filter goes on, never again. */
static struct {
	bool tried, ok;
	csh handle;
	size_t (*disasm)(csh, const uint8_t *, size_t, uint64_t, size_t, cs_insn **);
	void (*free)(cs_insn *, size_t);
} disasm_lib;

/* Decode one instruction now: capstone sorts its tables on the first decode, and glibc's qsort
 * asks the kernel for the memory size (sysinfo), which the sandbox would kill. */
static void disasm_warm_up(void)
{
	static const uint8_t mov[] = {0x48, 0x8b, 0x03}; /* mov rax, qword ptr [rbx] */
	cs_insn *insn;

	if (disasm_lib.disasm(disasm_lib.handle, mov, sizeof(mov), 0, 1, &insn) == 1)
		disasm_lib.free(insn, 1);
}

/* dlopen capstone, resolve what disasm_one calls and open an x86-64 handle. */
static bool disasm_load(void)
{
	cs_err (*open_fn)(cs_arch, cs_mode, csh *);
	void *lib;

	disasm_lib.tried = true;
	lib = dlopen("libcapstone.so." DISASM_STR(CS_API_MAJOR), RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		return false;
	/* POSIX blesses this cast from dlsym's void * to a function pointer. */
	*(void **)&open_fn = dlsym(lib, "cs_open");
	*(void **)&disasm_lib.disasm = dlsym(lib, "cs_disasm");
	*(void **)&disasm_lib.free = dlsym(lib, "cs_free");
	if (!open_fn || !disasm_lib.disasm || !disasm_lib.free ||
	    open_fn(CS_ARCH_X86, CS_MODE_64, &disasm_lib.handle) != CS_ERR_OK) {
		dlclose(lib);
		return false;
	}
	disasm_lib.ok = true; /* kept loaded until exit: the handle lives in it */
	disasm_warm_up();
	return true;
}

bool disasm_built_in(void)
{
	return true;
}

bool disasm_preload(void)
{
	return disasm_lib.tried ? disasm_lib.ok : disasm_load();
}

enum disasm_err disasm_one(const uint8_t *code, size_t len, uint64_t rip, struct disasm_insn *out)
{
	cs_insn *insn;

	if (!disasm_preload())
		return DISASM_EUNAVAILABLE;
	if (disasm_lib.disasm(disasm_lib.handle, code, len, rip, 1, &insn) != 1)
		return DISASM_EDECODE;
	out->size = insn->size;
	snprintf(out->text, sizeof(out->text), "%s%s%s", insn->mnemonic, insn->op_str[0] ? " " : "",
		 insn->op_str);
	disasm_lib.free(insn, 1);
	return DISASM_OK;
}
#else
bool disasm_built_in(void)
{
	return false;
}

bool disasm_preload(void)
{
	return false;
}

enum disasm_err disasm_one(const uint8_t *code, size_t len, uint64_t rip, struct disasm_insn *out)
{
	(void)code, (void)len, (void)rip, (void)out;
	return DISASM_EUNAVAILABLE;
}
#endif
