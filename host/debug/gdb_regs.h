/* gdb's view of the vCPU's registers: the order and sizes of the `g` packet, the target
 * description (target.xml: i386:x86-64 with the x87 and SSE files, FS/GS bases and the control
 * registers), and their values in KVM's structs. */
#ifndef PW_HOST_GDB_REGS_H
#define PW_HOST_GDB_REGS_H

#include <stddef.h>
#include <stdint.h>

#include <linux/kvm.h>

/* gdb's register numbers, in target.xml's order. */
enum gdb_reg {
	GDB_RAX, GDB_RBX, GDB_RCX, GDB_RDX, GDB_RSI, GDB_RDI, GDB_RBP, GDB_RSP,
	GDB_R8, GDB_R9, GDB_R10, GDB_R11, GDB_R12, GDB_R13, GDB_R14, GDB_R15,
	GDB_RIP, GDB_EFLAGS,
	GDB_CS, GDB_SS, GDB_DS, GDB_ES, GDB_FS, GDB_GS,
	GDB_ST0, /* ... st7 */
	GDB_FCTRL = GDB_ST0 + 8, GDB_FSTAT, GDB_FTAG, GDB_FISEG, GDB_FIOFF, GDB_FOSEG, GDB_FOOFF,
	GDB_FOP,
	GDB_XMM0, /* ... xmm15 */
	GDB_MXCSR = GDB_XMM0 + 16,
	GDB_FS_BASE, GDB_GS_BASE,
	GDB_CR0, GDB_CR2, GDB_CR3, GDB_CR4, GDB_EFER,
	GDB_NREGS
};

#define GDB_REG_MAX 16 /* bytes of the widest register (xmm) */

/* The state gdb reads and writes, and which part of it it changed. */
struct gdb_regfile {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	unsigned dirty; /* GDB_DIRTY_* */
};

#define GDB_DIRTY_REGS	(1u << 0)
#define GDB_DIRTY_SREGS (1u << 1)
#define GDB_DIRTY_FPU	(1u << 2)

/* Size in bytes of register n (0 if there is no such register). */
unsigned gdb_reg_size(unsigned n);

/* Bytes of the whole `g` packet's register file. */
unsigned gdb_regs_bytes(void);

/* Copy register n of f, little-endian, to out (GDB_REG_MAX bytes); returns its size or 0. */
unsigned gdb_reg_get(const struct gdb_regfile *f, unsigned n, uint8_t *out);

/* Set register n of f from in (gdb_reg_size(n) bytes) and mark its part dirty. Returns 0, or
 * -1 for a register gdb may not write (the segment selectors). */
int gdb_reg_set(struct gdb_regfile *f, unsigned n, const uint8_t *in);

/* The target description gdb asks for with qXfer:features:read:target.xml. */
const char *gdb_target_xml(size_t *len);

#endif
