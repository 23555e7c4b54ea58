/* gdb's view of the vCPU's registers. */
#include "gdb_regs.h"

#include <string.h>

/* Sizes, by register number: 8 for the GPRs and RIP, 4 for EFLAGS, selectors and x87 control,
 * 10 for st0-7, 16 for xmm, 4 for MXCSR, 8 for the bases and control registers. */
unsigned gdb_reg_size(unsigned n)
{
	if (n <= GDB_RIP)
		return 8;
	if (n < GDB_ST0)
		return 4;
	if (n < GDB_FCTRL)
		return 10;
	if (n < GDB_XMM0)
		return 4;
	if (n < GDB_MXCSR)
		return 16;
	if (n == GDB_MXCSR)
		return 4;
	return n < GDB_NREGS ? 8 : 0;
}

unsigned gdb_regs_bytes(void)
{
	unsigned total = 0;

	for (unsigned n = 0; n < GDB_NREGS; n++)
		total += gdb_reg_size(n);
	return total;
}

/* Where register n lives in f (NULL for the selectors and x87 words that need conversion). */
static void *gdb_reg_slot(struct gdb_regfile *f, unsigned n, unsigned *dirty)
{
	struct kvm_regs *r = &f->regs;
	__u64 *gpr[] = {&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp, &r->rsp,
			   &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15,
			   &r->rip, &r->rflags};

	*dirty = GDB_DIRTY_REGS;
	if (n <= GDB_EFLAGS)
		return gpr[n];
	*dirty = GDB_DIRTY_FPU;
	if (n >= GDB_ST0 && n < GDB_FCTRL)
		return f->fpu.fpr[n - GDB_ST0];
	if (n >= GDB_XMM0 && n < GDB_MXCSR)
		return f->fpu.xmm[n - GDB_XMM0];
	if (n == GDB_MXCSR)
		return &f->fpu.mxcsr;
	*dirty = GDB_DIRTY_SREGS;
	switch (n) {
	case GDB_FS_BASE:
		return &f->sregs.fs.base;
	case GDB_GS_BASE:
		return &f->sregs.gs.base;
	case GDB_CR0:
		return &f->sregs.cr0;
	case GDB_CR2:
		return &f->sregs.cr2;
	case GDB_CR3:
		return &f->sregs.cr3;
	case GDB_CR4:
		return &f->sregs.cr4;
	case GDB_EFER:
		return &f->sregs.efer;
	}
	return NULL;
}

/* The x87 control words and the selectors, as 32-bit values. */
static uint32_t gdb_reg_word(const struct gdb_regfile *f, unsigned n)
{
	const struct kvm_sregs *s = &f->sregs;
	const struct kvm_fpu *x = &f->fpu;

	switch (n) {
	case GDB_CS: return s->cs.selector;
	case GDB_SS: return s->ss.selector;
	case GDB_DS: return s->ds.selector;
	case GDB_ES: return s->es.selector;
	case GDB_FS: return s->fs.selector;
	case GDB_GS: return s->gs.selector;
	case GDB_FCTRL: return x->fcw;
	case GDB_FSTAT: return x->fsw;
	case GDB_FTAG: return x->ftwx;
	case GDB_FISEG: return (uint32_t)(x->last_ip >> 32);
	case GDB_FIOFF: return (uint32_t)x->last_ip;
	case GDB_FOSEG: return (uint32_t)(x->last_dp >> 32);
	case GDB_FOOFF: return (uint32_t)x->last_dp;
	default: return x->last_opcode; /* GDB_FOP */
	}
}

unsigned gdb_reg_get(const struct gdb_regfile *f, unsigned n, uint8_t *out)
{
	unsigned size = gdb_reg_size(n), dirty;
	const void *slot;
	uint32_t w;

	if (!size)
		return 0;
	slot = gdb_reg_slot((struct gdb_regfile *)f, n, &dirty);
	if (slot) {
		memcpy(out, slot, size);
		return size;
	}
	w = gdb_reg_word(f, n);
	memcpy(out, &w, 4);
	return size;
}

/* Write one of the x87 control words. */
static void gdb_fpu_word(struct kvm_fpu *x, unsigned n, uint32_t w)
{
	switch (n) {
	case GDB_FCTRL: x->fcw = (uint16_t)w; break;
	case GDB_FSTAT: x->fsw = (uint16_t)w; break;
	case GDB_FTAG: x->ftwx = (uint8_t)w; break;
	case GDB_FISEG: x->last_ip = (x->last_ip & 0xffffffffull) | (uint64_t)w << 32; break;
	case GDB_FIOFF: x->last_ip = (x->last_ip & ~0xffffffffull) | w; break;
	case GDB_FOSEG: x->last_dp = (x->last_dp & 0xffffffffull) | (uint64_t)w << 32; break;
	case GDB_FOOFF: x->last_dp = (x->last_dp & ~0xffffffffull) | w; break;
	default: x->last_opcode = (uint16_t)w; break;
	}
}

int gdb_reg_set(struct gdb_regfile *f, unsigned n, const uint8_t *in)
{
	unsigned size = gdb_reg_size(n), dirty;
	void *slot;
	uint32_t w;

	if (!size || (n >= GDB_CS && n <= GDB_GS))
		return -1;
	slot = gdb_reg_slot(f, n, &dirty);
	if (n == GDB_EFLAGS) { /* 4 bytes in gdb, the low half of RFLAGS */
		memcpy(&w, in, 4);
		f->regs.rflags = (f->regs.rflags & ~0xffffffffull) | w;
	} else if (slot) {
		memcpy(slot, in, size);
	} else {
		memcpy(&w, in, 4);
		gdb_fpu_word(&f->fpu, n, w);
		dirty = GDB_DIRTY_FPU;
	}
	f->dirty |= dirty;
	return 0;
}

/* The x86-64 description: gdb's own feature names, so it knows every register's role; the
 * control registers in a feature of ours, shown by `info registers`. */
static const char gdb_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
    "<target version=\"1.0\">\n"
    "<architecture>i386:x86-64</architecture>\n"
    "<feature name=\"org.gnu.gdb.i386.core\">\n"
    "<flags id=\"i386_eflags\" size=\"4\">"
    "<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
    "<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
    "<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
    "<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
    "<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
    "<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
    "<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
    "<field name=\"VIF\" start=\"19\" end=\"19\"/><field name=\"VIP\" start=\"20\" end=\"20\"/>"
    "<field name=\"ID\" start=\"21\" end=\"21\"/></flags>\n"
    "<reg name=\"rax\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>"
    "<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>"
    "<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>"
    "<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>"
    "<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.i386.sse\">\n"
    "<vector id=\"v8bf16\" type=\"bfloat16\" count=\"8\"/>"
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
    "<union id=\"vec128\"><field name=\"v8_bfloat16\" type=\"v8bf16\"/>"
    "<field name=\"v4_float\" type=\"v4f\"/><field name=\"v2_double\" type=\"v2d\"/>"
    "<field name=\"v16_int8\" type=\"v16i8\"/><field name=\"v8_int16\" type=\"v8i16\"/>"
    "<field name=\"v4_int32\" type=\"v4i32\"/><field name=\"v2_int64\" type=\"v2i64\"/>"
    "<field name=\"uint128\" type=\"uint128\"/></union>\n"
    "<flags id=\"i386_mxcsr\" size=\"4\">"
    "<field name=\"IE\" start=\"0\" end=\"0\"/><field name=\"DE\" start=\"1\" end=\"1\"/>"
    "<field name=\"ZE\" start=\"2\" end=\"2\"/><field name=\"OE\" start=\"3\" end=\"3\"/>"
    "<field name=\"UE\" start=\"4\" end=\"4\"/><field name=\"PE\" start=\"5\" end=\"5\"/>"
    "<field name=\"DAZ\" start=\"6\" end=\"6\"/><field name=\"IM\" start=\"7\" end=\"7\"/>"
    "<field name=\"DM\" start=\"8\" end=\"8\"/><field name=\"ZM\" start=\"9\" end=\"9\"/>"
    "<field name=\"OM\" start=\"10\" end=\"10\"/><field name=\"UM\" start=\"11\" end=\"11\"/>"
    "<field name=\"PM\" start=\"12\" end=\"12\"/><field name=\"FZ\" start=\"15\" end=\"15\"/>"
    "</flags>\n"
    "<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.i386.segments\">\n"
    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int\"/>"
    "<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>\n"
    "</feature>\n"
    "<feature name=\"org.pagewarden.x86.control\">\n"
    "<reg name=\"cr0\" bitsize=\"64\" type=\"int\"/>"
    "<reg name=\"cr2\" bitsize=\"64\" type=\"int\"/>"
    "<reg name=\"cr3\" bitsize=\"64\" type=\"int\"/>"
    "<reg name=\"cr4\" bitsize=\"64\" type=\"int\"/>"
    "<reg name=\"efer\" bitsize=\"64\" type=\"int\"/>\n"
    "</feature>\n"
    "</target>\n";

const char *gdb_target_xml(size_t *len)
{
	*len = sizeof(gdb_xml) - 1;
	return gdb_xml;
}
