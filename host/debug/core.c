/* --core: the ELF core file of a crashed guest (core.h), written front to back with write(2):
 * ELF header, program headers, notes, then each PT_LOAD's bytes straight from guest RAM. The
 * segments come from the paging library's walk (pt_walk, pt_query) of the guest's own tables. */
#include "core.h"

#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/user.h>
#include <unistd.h>

#include "trapstubs.h"

#define CORE_PAGE PW_PAGE_SIZE
/* Limits that keep a hostile guest's tables (every address an alias of RAM, tables that link
 * back to themselves) from making the file or the walk unbounded; past them the core is cut. */
#define CORE_MAX_SEGMENTS    4096u	/* PT_LOADs: well below PN_XNUM */
#define CORE_MAX_RAM_TIMES   2		/* guest-virtual bytes dumped: twice RAM, for aliases */
#define CORE_MAX_TABLE_READS (1u << 16) /* tables pt_walk may visit (512 entries each) */
/* A stretch of zero pages this long ends a segment: the next one starts at the next non-zero
 * page, and p_filesz < p_memsz makes the stretch read as zeros. Untouched RAM then costs no
 * file space; shorter stretches are written rather than cost a segment each. */
#define CORE_ZERO_RUN (16 * CORE_PAGE)

#define CR0_PG (1ull << 31)

/* Exception vectors with a signal of their own (the rest are SIGSEGV, as on Linux). */
enum {
	VEC_DE = 0,
	VEC_DB = 1,
	VEC_BP = 3,
	VEC_UD = 6,
	VEC_MF = 16,
	VEC_AC = 17,
	VEC_MC = 18,
	VEC_XM = 19,
};

/* Guest-virtual [va, va + len) on guest RAM [gpa, gpa + len). */
struct core_piece {
	uint64_t va, gpa, len;
};

/* One PT_LOAD: [va, va + memsz), its first filesz bytes stored, from byte off of piece. */
struct core_seg {
	uint64_t va, memsz, filesz;
	uint32_t flags; /* PF_R, PF_W, PF_X */
	size_t piece;
	uint64_t off;
};

/* The walk's state. pt is the guest's tables read through core_table, which counts. */
struct core_ctx {
	struct run *r;
	const struct pt *tables; /* the guest's, at the crash's CR3 */
	struct pt pt;
	struct pt_handler h;
	uint64_t reads; /* tables pt_walk visited */
	bool querying;	/* in pt_query: its few reads per leaf are not counted */
	struct core_piece *pieces;
	size_t npieces, cap_pieces;
	struct core_seg *segs;
	size_t nsegs, cap_segs;
	uint64_t bytes; /* guest-virtual bytes in the segments so far */
	bool truncated, nomem;
	uint64_t empty[PT_ENTRIES]; /* what a table reads as past CORE_MAX_TABLE_READS */
};

/* The notes: NT_PRSTATUS, NT_PRPSINFO and (when KVM gives it) NT_FPREGSET, each named "CORE". */
#define CORE_NOTE_NAME "CORE"
#define CORE_ALIGN4(n) (((n) + 3) & ~(size_t)3)
#define CORE_NOTE_SIZE(d)                                                                          \
	(sizeof(Elf64_Nhdr) + CORE_ALIGN4(sizeof(CORE_NOTE_NAME)) + CORE_ALIGN4(d))
#define CORE_NOTES_MAX                                                                             \
	(CORE_NOTE_SIZE(sizeof(struct elf_prstatus)) +                                             \
	 CORE_NOTE_SIZE(sizeof(struct elf_prpsinfo)) +                                             \
	 CORE_NOTE_SIZE(sizeof(struct user_fpregs_struct)))

_Static_assert(sizeof(((struct elf_prstatus *)0)->pr_reg) == sizeof(struct user_regs_struct),
	       "pr_reg is a struct user_regs_struct");

const char *core_strerror(enum core_err err)
{
	static const char *const names[CORE_ERR_COUNT] = {
	    [CORE_OK] = "success",
	    [CORE_ENOREGS] = "cannot read the vCPU's registers",
	    [CORE_ENOMEM] = "out of memory",
	    [CORE_EWRITE] = "cannot write the core file",
	};
	return (unsigned)err < CORE_ERR_COUNT ? names[err] : "unknown core error";
}

bool core_wanted(enum run_stop stop)
{
	return stop == RUN_STOP_FAULT || stop == RUN_STOP_PANIC || run_stop_wants_report(stop);
}

/* The signal a Linux process would have died of: what gdb names ("Program terminated with
 * signal SIGSEGV"). vector < 0: none known. */
static int core_signal(enum run_stop stop, int vector)
{
	if (stop == RUN_STOP_PANIC)
		return SIGABRT;
	switch (vector) {
	case VEC_DE:
	case VEC_MF:
	case VEC_XM:
		return SIGFPE;
	case VEC_DB:
	case VEC_BP:
		return SIGTRAP;
	case VEC_UD:
		return SIGILL;
	case VEC_AC:
	case VEC_MC:
		return SIGBUS;
	default:
		return SIGSEGV;
	}
}

/* The root to walk: CR3 at the stop, or the boot tables where the vCPU's state is not the
 * guest's (paging off, or KVM reset it at a triple fault and no replay found it). */
static uint64_t core_cr3(const struct run *r, const struct kvm_sregs *s)
{
	if ((s->cr0 & CR0_PG) && !(r->vcpu_reset && !r->replayed))
		return s->cr3;
	return r->gpt.boot_cr3;
}

/* Copy len bytes at guest-virtual va (tables at cr3) into out; false if any is not in RAM. */
static bool core_read_virt(struct run *r, uint64_t cr3, uint64_t va, void *out, size_t len)
{
	uint8_t *dst = out;

	while (len > 0) {
		uint64_t n = CORE_PAGE - (va & (CORE_PAGE - 1)), gpa;
		const void *p;

		if (n > len)
			n = len;
		if (!guest_pt_translate(&r->gpt, cr3, va, &gpa) ||
		    !(p = gpa_to_host(r->mem, gpa, n)))
			return false;
		memcpy(dst, p, n);
		dst += n, va += n, len -= n;
	}
	return true;
}

/* The crash's fault record: the last one, if the guest did not go on after it. */
static const struct fault_record *core_crash_fault(const struct run *r)
{
	const struct fault_record *f = r->faults.n ? &r->faults.v[r->faults.n - 1] : NULL;

	return f && !f->recovered ? f : NULL;
}

/* The registers as the vCPU holds them (or as a triple-fault replay found them). */
static void core_regs_vcpu(struct user_regs_struct *u, const struct kvm_regs *g,
			   const struct kvm_sregs *s)
{
	*u = (struct user_regs_struct){
	    .r15 = g->r15,
	    .r14 = g->r14,
	    .r13 = g->r13,
	    .r12 = g->r12,
	    .rbp = g->rbp,
	    .rbx = g->rbx,
	    .r11 = g->r11,
	    .r10 = g->r10,
	    .r9 = g->r9,
	    .r8 = g->r8,
	    .rax = g->rax,
	    .rcx = g->rcx,
	    .rdx = g->rdx,
	    .rsi = g->rsi,
	    .rdi = g->rdi,
	    .orig_rax = ~0ull, /* not in a system call */
	    .rip = g->rip,
	    .cs = s->cs.selector,
	    .eflags = g->rflags,
	    .rsp = g->rsp,
	    .ss = s->ss.selector,
	    .fs_base = s->fs.base,
	    .gs_base = s->gs.base,
	    .ds = s->ds.selector,
	    .es = s->es.selector,
	    .fs = s->fs.selector,
	    .gs = s->gs.selector,
	};
}

/* --faults=guest: the runtime's handler reported the crash from inside its C dispatcher, so the
 * vCPU's registers are the handler's; the faulting context's are in the frame the report points
 * to (pw_hc_fault.frame). Checked against the report before it is believed. */
static bool core_regs_trap_frame(struct run *r, uint64_t cr3, struct user_regs_struct *u,
				 int *vector)
{
	const struct fault_record *f = core_crash_fault(r);
	struct pw_fault_frame ff;

	if (r->stop != RUN_STOP_FAULT || !r->fault_frame ||
	    !core_read_virt(r, cr3, r->fault_frame, &ff, sizeof(ff)) ||
	    (f && (ff.rip != f->rip || ff.vector != f->vector)))
		return false;
	u->r15 = ff.r15, u->r14 = ff.r14, u->r13 = ff.r13, u->r12 = ff.r12, u->rbp = ff.rbp;
	u->rbx = ff.rbx, u->r11 = ff.r11, u->r10 = ff.r10, u->r9 = ff.r9, u->r8 = ff.r8;
	u->rax = ff.rax, u->rcx = ff.rcx, u->rdx = ff.rdx, u->rsi = ff.rsi, u->rdi = ff.rdi;
	u->rip = ff.rip, u->cs = ff.cs, u->eflags = ff.rflags, u->rsp = ff.rsp, u->ss = ff.ss;
	*vector = (int)ff.vector;
	return true;
}

/* --faults=vmm, when the vCPU still sits in a VMM trap stub (the VMM puts it back at the fault
 * before stopping, so only when that failed): RIP, RSP, RFLAGS, CS, SS, RAX and RDX from the
 * stub's frame, the other registers are the interrupted code's already. */
static bool core_regs_stub_frame(struct run *r, struct user_regs_struct *u, int *vector)
{
	unsigned v = (unsigned)((u->rip - PW_STUBS_GPA) / TRAPSTUB_SIZE);
	struct trapstub_frame tf;

	if (r->stop != RUN_STOP_TRAP || u->rip < PW_STUBS_GPA ||
	    u->rip >= PW_STUBS_GPA + PW_STUBS_SIZE || !trapstubs_owns(u->rip, v) ||
	    !trapstubs_read_frame(r->mem, u->rsp, v, &tf))
		return false;
	u->rip = tf.rip, u->cs = tf.cs, u->eflags = tf.rflags, u->rsp = tf.rsp, u->ss = tf.ss;
	u->rax = tf.rax, u->rdx = tf.rdx;
	*vector = (int)v;
	return true;
}

/* Fill u with the registers of the faulting instruction (or of the stop), *vector with the
 * exception's (-1 if none); return where they came from. */
static const char *core_regs(struct run *r, uint64_t cr3, const struct kvm_regs *g,
			     const struct kvm_sregs *s, struct user_regs_struct *u, int *vector)
{
	const struct fault_record *f = core_crash_fault(r);

	core_regs_vcpu(u, g, s);
	*vector =
	    f && (r->stop == RUN_STOP_FAULT || r->stop == RUN_STOP_TRAP) ? (int)f->vector : -1;
	if (core_regs_trap_frame(r, cr3, u, vector))
		return "the guest runtime's trap frame";
	if (core_regs_stub_frame(r, u, vector))
		return "the VMM's trap stub frame";
	if (r->stop == RUN_STOP_FAULT)
		return "the vCPU (no trap frame: the reporting handler's registers)";
	if (r->stop == RUN_STOP_TRAP)
		return "the vCPU, put back at the fault by the VMM";
	if (r->vcpu_reset && !r->replayed)
		return "the vCPU after KVM reset it (the crash's registers are lost)";
	return r->replayed ? "the triple-fault replay" : "the vCPU";
}

/* NT_FPREGSET from KVM_GET_FPU, in the FXSAVE layout Linux writes; false when there is none
 * worth writing (KVM reset the vCPU) or KVM refuses. */
static bool core_fpregs(struct run *r, struct user_fpregs_struct *fp)
{
	struct kvm_fpu k;
	struct vm_error e;

	if (!r->vm || r->vcpu_reset || VCPU_IOCTL(r->vm, KVM_GET_FPU, &k, &e) != VM_OK)
		return false;
	*fp = (struct user_fpregs_struct){
	    .cwd = k.fcw,
	    .swd = k.fsw,
	    .ftw = k.ftwx,
	    .fop = k.last_opcode,
	    .rip = k.last_ip,
	    .rdp = k.last_dp,
	    .mxcsr = k.mxcsr,
	    .mxcr_mask = 0xffff,
	};
	_Static_assert(sizeof(fp->st_space) == sizeof(k.fpr), "x87 registers");
	_Static_assert(sizeof(fp->xmm_space) == sizeof(k.xmm), "XMM registers");
	memcpy(fp->st_space, k.fpr, sizeof(k.fpr));
	memcpy(fp->xmm_space, k.xmm, sizeof(k.xmm));
	return true;
}

/* Append one note to buf at *pos. */
static void core_note(uint8_t *buf, size_t *pos, uint32_t type, const void *desc, size_t len)
{
	Elf64_Nhdr nh = {
	    .n_namesz = sizeof(CORE_NOTE_NAME), .n_descsz = (Elf64_Word)len, .n_type = type};

	memcpy(buf + *pos, &nh, sizeof(nh));
	*pos += sizeof(nh);
	memcpy(buf + *pos, CORE_NOTE_NAME, sizeof(CORE_NOTE_NAME));
	*pos += CORE_ALIGN4(sizeof(CORE_NOTE_NAME));
	memcpy(buf + *pos, desc, len);
	*pos += CORE_ALIGN4(len);
}

/* Write the notes into buf (CORE_NOTES_MAX bytes, zeroed); returns their size. */
static size_t core_notes(uint8_t *buf, struct run *r, const struct user_regs_struct *u, int sig,
			 const char *image)
{
	struct elf_prstatus st = {0};
	struct elf_prpsinfo ps = {.pr_sname = 'R', .pr_pid = 1, .pr_pgrp = 1, .pr_sid = 1};
	struct user_fpregs_struct fp;
	const char *name = image ? strrchr(image, '/') : NULL;
	size_t pos = 0;

	st.pr_info.si_signo = sig;
	st.pr_cursig = (short)sig;
	st.pr_pid = 1;
	st.pr_pgrp = 1;
	st.pr_sid = 1;
	memcpy(&st.pr_reg, u, sizeof(*u));
	st.pr_fpvalid = core_fpregs(r, &fp);
	/* gdb compares pr_fname with the executable's file name, as Linux's comm: the image's */
	name = name ? name + 1 : image ? image : "vmm guest";
	memcpy(ps.pr_fname, name, strnlen(name, sizeof(ps.pr_fname) - 1));
	snprintf(ps.pr_psargs, sizeof(ps.pr_psargs), "%s", image ? image : "vmm guest");
	core_note(buf, &pos, NT_PRSTATUS, &st, sizeof(st));
	core_note(buf, &pos, NT_PRPSINFO, &ps, sizeof(ps));
	if (st.pr_fpvalid)
		core_note(buf, &pos, NT_FPREGSET, &fp, sizeof(fp));
	return pos;
}

/* Grow *v (of *cap elements of size each) to hold n + 1; false when memory runs out. */
static bool core_grow(void **v, size_t *cap, size_t n, size_t size)
{
	size_t want = *cap ? 2 * *cap : 64;
	void *p;

	if (n < *cap)
		return true;
	p = realloc(*v, want * size);
	if (!p)
		return false;
	*v = p;
	*cap = want;
	return true;
}

/* True if the 4 KiB page at p holds only zeros. */
static bool core_page_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p; /* page-aligned: guest RAM is an mmap */

	for (size_t i = 0; i < CORE_PAGE / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

/* Add the page at va, on guest RAM at gpa, with PF_* flags: it extends the last segment if it
 * follows it with the same flags (and does not end a long zero stretch), else starts one. */
static void core_add_page(struct core_ctx *c, uint64_t va, uint64_t gpa, uint32_t flags)
{
	const uint8_t *p = gpa_to_host(c->r->mem, gpa, CORE_PAGE);
	struct core_seg *s = c->nsegs ? &c->segs[c->nsegs - 1] : NULL;
	struct core_piece *pc = c->npieces ? &c->pieces[c->npieces - 1] : NULL;
	bool zero, extend;

	if (!p)
		return;
	if (c->bytes + CORE_PAGE > CORE_MAX_RAM_TIMES * c->r->mem->size) {
		c->truncated = true;
		return;
	}
	zero = core_page_zero(p);
	extend = s && s->va + s->memsz == va && s->flags == flags &&
		 (zero || s->memsz - s->filesz < CORE_ZERO_RUN);
	if (!extend && c->nsegs == CORE_MAX_SEGMENTS) {
		c->truncated = true;
		return;
	}
	if (pc && pc->va + pc->len == va && pc->gpa + pc->len == gpa) {
		pc->len += CORE_PAGE;
	} else {
		if (!core_grow((void **)&c->pieces, &c->cap_pieces, c->npieces, sizeof(*pc))) {
			c->nomem = true;
			return;
		}
		pc = &c->pieces[c->npieces++];
		*pc = (struct core_piece){.va = va, .gpa = gpa, .len = CORE_PAGE};
	}
	c->bytes += CORE_PAGE;
	if (extend) {
		s->memsz += CORE_PAGE;
		if (!zero)
			s->filesz = s->memsz;
		return;
	}
	if (!core_grow((void **)&c->segs, &c->cap_segs, c->nsegs, sizeof(*s))) {
		c->nomem = true;
		return;
	}
	c->segs[c->nsegs++] = (struct core_seg){
	    .va = va,
	    .memsz = CORE_PAGE,
	    .filesz = zero ? 0 : CORE_PAGE,
	    .flags = flags,
	    .piece = c->npieces - 1,
	    .off = va - pc->va,
	};
}

/* The guest's table frames, the walk's counted: past CORE_MAX_TABLE_READS they read as empty. */
static void *core_table(void *ctx, uint64_t pa)
{
	struct core_ctx *c = ctx;

	if (!c->querying && ++c->reads > CORE_MAX_TABLE_READS) {
		c->truncated = true;
		return c->empty;
	}
	return c->tables->h->phys_to_virt(c->tables->h->ctx, pa);
}

/* pt_walk callback: the RAM-backed pages of one present leaf. Guards (not present) are not
 * dumped; nor is what lies outside guest RAM: the layout's unbacked region starts at its end. */
static int core_leaf(void *arg, int level, uint64_t va, pte_t *entry)
{
	struct core_ctx *c = arg;
	uint64_t span = pt_level_span(level), mem = c->r->mem->size, pa, backed;
	unsigned flags;
	enum pt_err err;

	if (!pte_present(*entry))
		return 0;
	c->querying = true;
	err = pt_query(&c->pt, va, &pa, &flags, NULL);
	c->querying = false;
	if (err != PT_OK)
		return c->truncated;
	backed = pa < mem ? (mem - pa < span ? mem - pa : span) : 0;
	for (uint64_t off = 0; off < backed && !c->truncated && !c->nomem; off += CORE_PAGE)
		core_add_page(c, va + off, pa + off,
			      PF_R | (flags & PT_WRITE ? PF_W : 0) |
				  (flags & PT_EXECUTE ? PF_X : 0));
	return c->truncated || c->nomem;
}

/* Write all of buf; false with errno set on failure. */
static bool core_out(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			return false;
		}
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/* Write the file: headers and notes (hdr, hdr_len bytes), padding to a page, the segments. */
static bool core_emit(int fd, const struct core_ctx *c, const uint8_t *hdr, size_t hdr_len)
{
	static const uint8_t zeros[CORE_PAGE];

	if (!core_out(fd, hdr, hdr_len) ||
	    !core_out(fd, zeros, (CORE_PAGE - hdr_len % CORE_PAGE) % CORE_PAGE))
		return false;
	for (size_t i = 0; i < c->nsegs; i++) {
		const struct core_seg *s = &c->segs[i];
		size_t k = s->piece;
		uint64_t off = s->off, left = s->filesz;

		while (left > 0) {
			const struct core_piece *pc = &c->pieces[k++];
			uint64_t n = pc->len - off < left ? pc->len - off : left;

			if (!core_out(fd, gpa_to_host(c->r->mem, pc->gpa + off, n), n))
				return false;
			left -= n;
			off = 0;
		}
	}
	return true;
}

/* Lay out the headers and notes in a new buffer (*len bytes); NULL when memory runs out. */
static uint8_t *core_headers(struct core_ctx *c, const struct user_regs_struct *u, int sig,
			     const char *image, size_t *len)
{
	size_t nph = 1 + c->nsegs, ph_len = nph * sizeof(Elf64_Phdr);
	size_t notes_at = sizeof(Elf64_Ehdr) + ph_len, notes_len;
	uint8_t *buf = calloc(1, notes_at + CORE_NOTES_MAX);
	Elf64_Ehdr eh = {
	    .e_ident = {ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT,
			ELFOSABI_NONE},
	    .e_type = ET_CORE,
	    .e_machine = EM_X86_64,
	    .e_version = EV_CURRENT,
	    .e_phoff = sizeof(Elf64_Ehdr),
	    .e_ehsize = sizeof(Elf64_Ehdr),
	    .e_phentsize = sizeof(Elf64_Phdr),
	    .e_phnum = (Elf64_Half)nph,
	};
	Elf64_Phdr *ph;
	uint64_t data;

	if (!buf)
		return NULL;
	notes_len = core_notes(buf + notes_at, c->r, u, sig, image);
	*len = notes_at + notes_len;
	data = (*len + CORE_PAGE - 1) & ~(CORE_PAGE - 1);
	memcpy(buf, &eh, sizeof(eh));
	ph = (Elf64_Phdr *)(buf + sizeof(Elf64_Ehdr));
	ph[0] = (Elf64_Phdr){
	    .p_type = PT_NOTE, .p_offset = notes_at, .p_filesz = notes_len, .p_align = 4};
	for (size_t i = 0; i < c->nsegs; i++) {
		const struct core_seg *s = &c->segs[i];

		ph[1 + i] = (Elf64_Phdr){
		    .p_type = PT_LOAD,
		    .p_flags = s->flags,
		    .p_offset = data,
		    .p_vaddr = s->va,
		    .p_filesz = s->filesz,
		    .p_memsz = s->memsz,
		    .p_align = CORE_PAGE,
		};
		data += s->filesz;
	}
	return buf;
}

enum core_err core_write(int fd, struct run *r, struct core_info *info)
{
	const struct kvm_regs *g = run_regs(r);
	const struct kvm_sregs *s = run_sregs(r);
	struct user_regs_struct u;
	struct core_ctx *c;
	enum core_err err = CORE_OK;
	uint8_t *hdr = NULL;
	size_t hdr_len = 0;
	uint64_t cr3;
	int vector;

	if (!g || !s) {
		snprintf(info->detail, sizeof(info->detail), "KVM_GET_REGS/KVM_GET_SREGS: %s",
			 strerror(errno));
		return CORE_ENOREGS;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return CORE_ENOMEM;
	c->r = r;
	cr3 = core_cr3(r, s);
	info->regs_from = core_regs(r, cr3, g, s, &u, &vector);
	c->tables = guest_pt_at(&r->gpt, cr3);
	if (c->tables) {
		c->pt = *c->tables;
		c->h = (struct pt_handler){.ctx = c, .phys_to_virt = core_table}; /* reads only */
		c->pt.h = &c->h;
		pt_walk(&c->pt, core_leaf, c);
	}
	if (c->nomem ||
	    !(hdr = core_headers(c, &u, core_signal(r->stop, vector), info->image, &hdr_len))) {
		err = CORE_ENOMEM;
	} else if (!core_emit(fd, c, hdr, hdr_len)) {
		snprintf(info->detail, sizeof(info->detail), "%s", strerror(errno));
		err = CORE_EWRITE;
	}
	info->segments = (unsigned)c->nsegs;
	info->truncated = c->truncated;
	info->rip = u.rip;
	for (size_t i = 0; i < c->nsegs; i++) {
		info->bytes += c->segs[i].memsz;
		info->file_bytes += c->segs[i].filesz;
	}
	free(hdr);
	free(c->pieces);
	free(c->segs);
	free(c);
	return err;
}
