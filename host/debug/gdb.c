/* The gdb remote stub: sockets, stops, breakpoints, steps and watchpoints. */
#include "gdb.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cpu.h"
#include "hypercall.h"
#include "options.h"
#include "pagewarden/classify.h"
#include "pagewarden/layout.h"
#include "report.h"
#include "status.h"
#include "steplock.h"
#include "vmmfault.h"
#include "trapstubs.h"

#define GDB_SIGINT  2
#define GDB_SIGILL  4
#define GDB_SIGTRAP 5
#define GDB_SIGABRT 6
#define GDB_SIGFPE  8
#define GDB_SIGKILL 9
#define GDB_SIGSEGV 11

#define OP_INT3	      0xcc
#define OP_HLT	      0xf4
#define DR6_B0_B3     0xfull
#define DR6_BS	      (1ull << 14)
#define STUB_WINDOW   32 /* bytes from a gate's entry that count as its stub (debug_traps.S) */
#define GDB_MMIO_FRAGS 8 /* MMIO exits one watched write may come back as */

int gdb_status(enum gdb_err err)
{
	return err == GDB_EADDR || err == GDB_EREMOTE ? PW_STATUS_USAGE : PW_STATUS_INTERNAL;
}

const char *gdb_strerror(enum gdb_err err)
{
	static const char *const names[GDB_ERR_COUNT] = {
	    [GDB_OK] = "no error",
	    [GDB_EADDR] = "bad address",
	    [GDB_EREMOTE] = "not a loopback address",
	    [GDB_ESOCKET] = "cannot serve",
	    [GDB_EPROBE] = "cannot probe the platform",
	};
	return (unsigned)err < GDB_ERR_COUNT ? names[err] : "?";
}

/* ---- the wire ------------------------------------------------------------------------------ */

/* The debugger's ^C: SIGIO on the socket kicks KVM_RUN out (run.c then calls gdb_on_intr). */
static struct kvm_run *volatile gdb_kick_run;
static volatile sig_atomic_t gdb_sigio; /* gdb sent bytes: the next exit looks for a ^C */

static void gdb_on_sigio(int sig)
{
	(void)sig;
	gdb_sigio = 1;
	if (gdb_kick_run)
		gdb_kick_run->immediate_exit = 1;
}

/* Send n raw bytes; false (and gdb marked gone) if the connection failed. */
static bool gdb_send_raw(struct gdb_stub *g, const char *buf, size_t n)
{
	while (n && !g->gone) {
		ssize_t k = send(g->fd, buf, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			g->gone = true;
			break;
		}
		buf += k;
		n -= (size_t)k;
	}
	return !g->gone;
}

/* Frame and send a packet (kept for a resend on '-'). */
static bool gdb_send_packet(struct gdb_stub *g, const char *payload, size_t n)
{
	g->out_len = rsp_frame(payload, n, g->out, sizeof(g->out));
	return g->out_len && gdb_send_raw(g, g->out, g->out_len);
}

/* Read more bytes from gdb into g->in, after those not parsed yet (wait: block until some
 * come); false on a disconnect. */
static bool gdb_recv(struct gdb_stub *g, bool wait)
{
	memmove(g->in, g->in + g->in_pos, g->in_len - g->in_pos);
	g->in_len -= g->in_pos;
	g->in_pos = 0;
	if (g->in_len == sizeof(g->in)) /* a full buffer of unparsed bytes: parse them first */
		return true;
	for (;;) {
		ssize_t k = recv(g->fd, g->in + g->in_len, sizeof(g->in) - g->in_len,
				 wait ? 0 : MSG_DONTWAIT);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && !wait && (errno == EAGAIN || errno == EWOULDBLOCK))
			return true;
		if (k <= 0) {
			g->gone = true;
			return false;
		}
		g->in_len += (size_t)k;
		return true;
	}
}

/* Answer one complete packet; returns what it asks for. */
static enum gdb_resume gdb_packet(struct gdb_stub *g)
{
	enum gdb_resume res;

	if (!g->sess.no_ack)
		gdb_send_raw(g, "+", 1);
	res = gdb_handle(&g->sess, g->parser.payload, g->parser.len);
	if (res == GDB_RESUME_NONE || res == GDB_RESUME_DETACH || g->sess.reply_len)
		gdb_send_packet(g, g->sess.reply, g->sess.reply_len);
	return res;
}

/* Serve packets until one resumes, kills or detaches the guest; a disconnect detaches. */
static enum gdb_resume gdb_serve(struct gdb_stub *g)
{
	for (;;) {
		while (g->in_pos < g->in_len) {
			enum gdb_resume res;

			switch (rsp_feed(&g->parser, g->in[g->in_pos++])) {
			case RSP_PACKET:
				res = gdb_packet(g);
				if (res != GDB_RESUME_NONE)
					return res;
				break;
			case RSP_BAD_CHECKSUM:
				gdb_send_raw(g, "-", 1);
				break;
			case RSP_OVERSIZE:
				if (!g->sess.no_ack)
					gdb_send_raw(g, "+", 1);
				gdb_send_packet(g, "E01", 3);
				break;
			case RSP_NACK:
				gdb_send_raw(g, g->out, g->out_len);
				break;
			default: /* acks, ^C while stopped, noise */
				break;
			}
		}
		if (g->gone || !gdb_recv(g, true))
			return GDB_RESUME_DETACH;
	}
}

/* ---- guest memory -------------------------------------------------------------------------- */

/* The guest-physical address behind guest-virtual va (KVM_TRANSLATE, the tables in force). */
static bool gdb_translate(struct gdb_stub *g, uint64_t va, uint64_t *gpa)
{
	struct kvm_translation t = {.linear_address = va};

	if (ioctl(g->r->vm->vcpu_fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
		return false;
	*gpa = t.physical_address;
	return true;
}

/* Host pointer to the byte at guest-virtual va (its guest-physical address in *gpa if not
 * NULL), or NULL. */
static uint8_t *gdb_byte(struct gdb_stub *g, uint64_t va, uint64_t *gpa)
{
	uint64_t pa;
	uint8_t *p = gdb_translate(g, va, &pa) ? gpa_to_host(g->r->mem, pa, 1) : NULL;

	if (p && gpa)
		*gpa = pa;
	return p;
}

/* The software breakpoint at addr, or NULL. */
static struct gdb_swbp *gdb_swbp_at(struct gdb_stub *g, uint64_t addr)
{
	for (unsigned i = 0; i < GDB_SW_BPS_MAX; i++)
		if (g->sw[i].used && g->sw[i].addr == addr)
			return &g->sw[i];
	return NULL;
}

/* gdb_ops.mem_read: guest-virtual memory, breakpoints hidden. */
static size_t gdb_mem_read(void *ctx, uint64_t addr, uint8_t *out, size_t n)
{
	struct gdb_stub *g = ctx;
	size_t got = report_read_guest(g->r, addr, out, n);

	for (unsigned i = 0; i < GDB_SW_BPS_MAX; i++) /* gdb sees the original bytes */
		if (g->sw[i].used && g->sw[i].addr - addr < got)
			out[g->sw[i].addr - addr] = g->sw[i].orig;
	return got;
}

/* gdb_ops.mem_write: guest-virtual memory; under a breakpoint the byte it stands for. */
static size_t gdb_mem_write(void *ctx, uint64_t addr, const uint8_t *in, size_t n)
{
	struct gdb_stub *g = ctx;

	for (size_t i = 0; i < n; i++) {
		struct gdb_swbp *bp = gdb_swbp_at(g, addr + i);
		uint8_t *p = gdb_byte(g, addr + i, NULL);

		if (!p)
			return i;
		if (bp) /* the int3 stays; the byte it stands for changes */
			bp->orig = in[i];
		else
			*p = in[i];
	}
	return n;
}

/* ---- breakpoints and watchpoints ----------------------------------------------------------- */

/* Insert an int3 at addr (hw: reported as a hardware breakpoint). */
static enum gdb_point_result gdb_sw_insert(struct gdb_stub *g, uint64_t addr, bool hw)
{
	uint8_t *p;

	uint64_t gpa;

	if (gdb_swbp_at(g, addr))
		return GDB_POINT_OK;
	if (!(p = gdb_byte(g, addr, &gpa)))
		return GDB_POINT_ERROR;
	for (unsigned i = 0; i < GDB_SW_BPS_MAX; i++)
		if (!g->sw[i].used) {
			g->sw[i] = (struct gdb_swbp){
			    .addr = addr, .gpa = gpa, .orig = *p, .used = true, .hw = hw};
			*p = g->plat.sw_breakpoint ? OP_INT3 : OP_HLT;
			g->code_changed = true;
			return GDB_POINT_OK;
		}
	return GDB_POINT_ERROR;
}

/* Remove the breakpoint at addr, putting its byte back where it was written (the guest may
 * have remapped the page since). */
static enum gdb_point_result gdb_sw_remove(struct gdb_stub *g, uint64_t addr)
{
	struct gdb_swbp *bp = gdb_swbp_at(g, addr);
	uint8_t *p;

	if (!bp)
		return GDB_POINT_OK;
	if ((p = gpa_to_host(g->r->mem, bp->gpa, 1)))
		*p = bp->orig;
	bp->used = false;
	g->code_changed = true;
	return GDB_POINT_OK;
}

/* True if DRs fire here for a point of type (execute or data) and --gdb-watch allows them. */
static bool gdb_dr_usable(const struct gdb_stub *g, unsigned type)
{
	if (type == GDB_POINT_HW)
		return g->plat.hw_breakpoint;
	return g->plat.hw_watchpoint && g->cfg.watch != OPT_GDB_WATCH_PAGES;
}

/* Put a point in a free debug register: an execute breakpoint or a 1/2/4/8-byte aligned
 * watchpoint. UNSUPPORTED if none fits. */
static enum gdb_point_result gdb_dr_insert(struct gdb_stub *g, unsigned type, uint64_t addr,
					   uint64_t len)
{
	if (type == GDB_POINT_HW)
		len = 1;
	if (!gdb_dr_usable(g, type) || (len != 1 && len != 2 && len != 4 && len != 8) || addr % len)
		return GDB_POINT_UNSUPPORTED;
	for (unsigned i = 0; i < GDB_DRS; i++)
		if (!g->dr[i].used) {
			g->dr[i] = (struct gdb_drbp){.addr = addr, .len = len, .type = type, .used = true};
			return GDB_POINT_OK;
		}
	return GDB_POINT_UNSUPPORTED;
}

/* Remove the debug-register point of type at addr; false if there is none. */
static bool gdb_dr_remove(struct gdb_stub *g, unsigned type, uint64_t addr)
{
	for (unsigned i = 0; i < GDB_DRS; i++)
		if (g->dr[i].used && g->dr[i].type == type && g->dr[i].addr == addr) {
			g->dr[i].used = false;
			return true;
		}
	return false;
}

/* Lay the memslots out with every watched page read-only, or a hole where a watchpoint on it
 * needs reads too. */
static enum gdb_point_result gdb_pages_apply(struct gdb_stub *g)
{
	struct vm_page_guard pages[GDB_PAGE_WATCH_MAX];
	unsigned n = 0;
	struct vm_error e = {0};

	for (unsigned i = 0; i < GDB_PAGE_WATCH_MAX; i++) {
		uint64_t pg = g->pw[i].gpa & ~(PW_PAGE_SIZE - 1);
		bool hole = g->pw[i].type != GDB_POINT_WRITE;
		unsigned k = n;

		if (!g->pw[i].used)
			continue;
		while (k > 0 && pages[k - 1].gpa > pg) /* insertion sort, one entry a page */
			k--;
		if (k > 0 && pages[k - 1].gpa == pg) {
			pages[k - 1].hole |= hole;
			continue;
		}
		memmove(&pages[k + 1], &pages[k], (n - k) * sizeof(pages[0]));
		pages[k] = (struct vm_page_guard){.gpa = pg, .hole = hole};
		n++;
	}
	if (vm_map_ram_guarded(g->r->vm, g->r->mem, g->cfg.protect_pt, pages, n, &e) != VM_OK) {
		run_note(g->r, "gdb: %s", e.detail);
		return GDB_POINT_ERROR;
	}
	return GDB_POINT_OK;
}

/* True if the page of region reg may become a hole for read watchpoints: data the CPU only
 * reaches by loads and stores (not code, stacks it pushes exception frames on, or tables it
 * walks and loads). */
static bool gdb_hole_ok(const struct pw_region *reg)
{
	switch (reg ? reg->kind : 0) {
	case PW_REGION_RODATA:
	case PW_REGION_DATA:
	case PW_REGION_RAM:
	case PW_REGION_HEAP:
	case PW_REGION_BOOT_INFO:
		return true;
	default:
		return false;
	}
}

/* A watchpoint of type kept on its page (within one page of writable RAM): write-protected
 * for writes, a hole for reads; reads only on data pages (gdb_hole_ok). */
static enum gdb_point_result gdb_page_insert(struct gdb_stub *g, unsigned type, uint64_t addr,
					     uint64_t len)
{
	const struct pw_region *reg;
	uint64_t gpa;

	if (!len || len > PW_PAGE_SIZE - (addr & (PW_PAGE_SIZE - 1)) || !gdb_translate(g, addr, &gpa) ||
	    !gpa_to_host(g->r->mem, gpa, len))
		return GDB_POINT_ERROR;
	reg = layout_region_at(g->r->layout, gpa);
	if (g->cfg.protect_pt && reg && reg->kind == PW_REGION_PT_POOL)
		return GDB_POINT_ERROR; /* already read-only: its writes are --protect-pt's */
	if (type != GDB_POINT_WRITE && !gdb_hole_ok(reg))
		return GDB_POINT_ERROR;
	for (unsigned i = 0; i < GDB_PAGE_WATCH_MAX; i++)
		if (!g->pw[i].used) {
			g->pw[i] = (struct gdb_pagewatch){
			    .addr = addr, .len = len, .gpa = gpa, .type = type, .used = true};
			if (gdb_pages_apply(g) == GDB_POINT_OK)
				return GDB_POINT_OK;
			g->pw[i].used = false;
			if (gdb_pages_apply(g) != GDB_POINT_OK) /* RAM must come back whole */
				run_stopf(g->r, RUN_STOP_KVM_ERROR,
					  "page watchpoint: cannot restore guest RAM's memslots");
			return GDB_POINT_ERROR;
		}
	return GDB_POINT_ERROR;
}

/* Remove the page watchpoint of type at addr; false if there is none. */
static bool gdb_page_remove(struct gdb_stub *g, unsigned type, uint64_t addr)
{
	for (unsigned i = 0; i < GDB_PAGE_WATCH_MAX; i++)
		if (g->pw[i].used && g->pw[i].addr == addr && g->pw[i].type == type) {
			g->pw[i].used = false;
			gdb_pages_apply(g);
			return true;
		}
	return false;
}

/* Z/z: software breakpoints as int3 (or hlt); hardware ones in a DR, else as software ones;
 * watchpoints in a DR where data breakpoints fire and one is free (and --gdb-watch allows),
 * else on their page (write-protected, or a hole for reads). */
static enum gdb_point_result gdb_point(void *ctx, bool insert, unsigned type, uint64_t addr,
				       uint64_t len)
{
	struct gdb_stub *g = ctx;
	enum gdb_point_result res;

	switch (type) {
	case GDB_POINT_SW:
		return insert ? gdb_sw_insert(g, addr, false) : gdb_sw_remove(g, addr);
	case GDB_POINT_HW:
		if (!insert)
			return gdb_dr_remove(g, type, addr) ? GDB_POINT_OK : gdb_sw_remove(g, addr);
		res = gdb_dr_insert(g, type, addr, 1);
		return res == GDB_POINT_OK ? res : gdb_sw_insert(g, addr, true);
	default: /* write, read, access */
		if (!insert) {
			if (!gdb_dr_remove(g, type, addr))
				gdb_page_remove(g, type, addr);
			return GDB_POINT_OK;
		}
		res = g->cfg.watch == OPT_GDB_WATCH_PAGES ? GDB_POINT_UNSUPPORTED
							  : gdb_dr_insert(g, type, addr, len);
		if (res == GDB_POINT_OK || g->cfg.watch == OPT_GDB_WATCH_DR)
			return res;
		return gdb_page_insert(g, type, addr, len);
	}
}

/* ---- stops --------------------------------------------------------------------------------- */

/* gdb_ops.stop_reply: the stop the guest is in. */
static const char *gdb_stop_reply(void *ctx)
{
	return ((struct gdb_stub *)ctx)->stop_reply;
}

static const struct gdb_ops gdb_ops = {
    .mem_read = gdb_mem_read,
    .mem_write = gdb_mem_write,
    .point = gdb_point,
    .stop_reply = gdb_stop_reply,
};

/* The stop reply's prefix for a watchpoint of type: "" (watch), "r" (rwatch), "a" (awatch). */
static const char *gdb_watch_kind(unsigned type)
{
	return type == GDB_POINT_WRITE ? "" : type == GDB_POINT_READ ? "r" : "a";
}

/* gdb's signal for exception vector v, as Linux would raise it. */
static int gdb_signal(unsigned v)
{
	switch (v) {
	case 0:
	case 16:
	case 19:
		return GDB_SIGFPE;
	case 1:
	case 3:
		return GDB_SIGTRAP;
	case 6:
		return GDB_SIGILL;
	default:
		return GDB_SIGSEGV;
	}
}

/* Arm guest debugging for the way gdb resumes: int3 exits, the DR points, single steps. */
static void gdb_arm(struct gdb_stub *g)
{
	struct kvm_guest_debug dbg = {.control = KVM_GUESTDBG_ENABLE};

	if (g->detached) {
		dbg.control = 0;
	} else {
		/* int3 exits where that works (standard KVM); elsewhere breakpoints are hlt */
		if (g->plat.sw_breakpoint)
			dbg.control |= KVM_GUESTDBG_USE_SW_BP;
		if (g->stepping)
			dbg.control |= KVM_GUESTDBG_SINGLESTEP;
		for (unsigned i = 0; i < GDB_DRS; i++) {
			const struct gdb_drbp *d = &g->dr[i];

			if (!d->used)
				continue;
			dbg.control |= KVM_GUESTDBG_USE_HW_BP;
			dbg.arch.debugreg[i] = d->addr;
			dbg.arch.debugreg[7] |= vm_dr7_enable(
			    i,
			    d->type == GDB_POINT_HW      ? VM_DR_EXEC
			    : d->type == GDB_POINT_WRITE ? VM_DR_WRITE
							 : VM_DR_ACCESS,
			    (unsigned)d->len);
		}
	}
	if (vm_set_guest_debug(g->r->vm, &dbg) < 0)
		run_stopf(g->r, RUN_STOP_KVM_ERROR, "KVM_SET_GUEST_DEBUG (gdb): %s", strerror(errno));
}

/* Read the vCPU into the register file gdb sees; at an exception stop, the interrupted
 * context from the stub frame f. */
static void gdb_load_regs(struct gdb_stub *g, const struct trapstub_frame *f)
{
	struct run *r = g->r;
	const struct kvm_regs *regs = run_regs(r);
	const struct kvm_sregs *sregs = run_sregs(r);

	memset(&g->rf, 0, sizeof(g->rf));
	if (regs)
		g->rf.regs = *regs;
	if (sregs)
		g->rf.sregs = *sregs;
	(void)ioctl(r->vm->vcpu_fd, KVM_GET_FPU, &g->rf.fpu);
	g->frame_view = f != NULL;
	if (f) {
		g->frame_regs = g->rf.regs;
		g->rf.regs.rip = f->rip;
		g->rf.regs.rsp = f->rsp;
		g->rf.regs.rflags = f->rflags;
		g->rf.regs.rax = f->rax;
		g->rf.regs.rdx = f->rdx;
		g->frame_cs = f->cs;
	}
}

/* Write what gdb changed back: at an exception stop the interrupted context goes into the stub
 * frame (the handler then sees it) and the rest into the vCPU. */
static void gdb_store_regs(struct gdb_stub *g)
{
	struct run *r = g->r;
	struct kvm_regs regs = g->rf.regs;

	if (g->frame_view && (g->rf.dirty & GDB_DIRTY_REGS)) {
		bool err = pw_exception_has_error_code(g->frame_vector);
		uint64_t *w = gpa_to_host(r->mem, g->frame_gpa, (err ? 8 : 7) * 8);
		unsigned i = err ? 3 : 2;

		if (w) {
			w[0] = g->rf.regs.rdx;
			w[1] = g->rf.regs.rax;
			w[i] = g->rf.regs.rip;
			w[i + 2] = g->rf.regs.rflags;
			w[i + 3] = g->rf.regs.rsp;
		}
		regs.rip = g->frame_regs.rip;
		regs.rsp = g->frame_regs.rsp;
		regs.rflags = g->frame_regs.rflags;
		regs.rax = g->frame_regs.rax;
		regs.rdx = g->frame_regs.rdx;
	}
	if (g->rf.dirty & GDB_DIRTY_REGS)
		run_set_regs(r, &regs);
	if ((g->rf.dirty & GDB_DIRTY_SREGS) && ioctl(r->vm->vcpu_fd, KVM_SET_SREGS, &g->rf.sregs) == 0) {
		r->sregs = g->rf.sregs;
		r->sregs_valid = true;
	}
	if (g->rf.dirty & GDB_DIRTY_FPU)
		(void)ioctl(r->vm->vcpu_fd, KVM_SET_FPU, &g->rf.fpu);
	g->rf.dirty = 0;
}

/* Let the guest run on alone: breakpoints out, pages writable, guest debugging off. */
static void gdb_detach(struct gdb_stub *g)
{
	bool pages = false;

	for (unsigned i = 0; i < GDB_SW_BPS_MAX; i++)
		if (g->sw[i].used)
			gdb_sw_remove(g, g->sw[i].addr);
	for (unsigned i = 0; i < GDB_PAGE_WATCH_MAX; i++) {
		pages |= g->pw[i].used;
		g->pw[i].used = false;
	}
	if (pages)
		gdb_pages_apply(g);
	memset(g->dr, 0, sizeof(g->dr));
	g->detached = true;
	g->stepping = false;
	gdb_arm(g);
	run_note(g->r, "gdb %s; the guest runs on", g->gone ? "disconnected" : "detached");
}

/* At an exception stop resumed without the signal (gdb's `signal 0`, or a signal set not to
 * pass): the fault is not delivered. The vCPU goes back to the interrupted context gdb shows,
 * out of the stub; true if it did. */
static bool gdb_undeliver(struct gdb_stub *g)
{
	if (g->frame_cs & 3) { /* only an iretq returns to CPL 3: deliver it instead */
		run_note(g->r, "gdb: an exception at CPL 3 cannot be left undelivered; delivering "
			       "it");
		return false;
	}
	if (!run_set_regs(g->r, &g->rf.regs))
		return false;
	g->rf.dirty &= ~GDB_DIRTY_REGS;
	return true;
}

/* Carry out what gdb asked for at the end of a stop. */
static void gdb_resume(struct gdb_stub *g, enum gdb_resume res)
{
	struct run *r = g->r;

	g->undelivered = g->frame_view && res != GDB_RESUME_KILL && res != GDB_RESUME_DETACH &&
			 g->sess.resume_signal <= 0 && gdb_undeliver(g);
	gdb_store_regs(g);
	g->frame_view = false;
	if (g->code_changed) { /* an emulating host may hold decoded instructions: forget them */
		const struct kvm_sregs *s = run_sregs(r);
		struct vm_error e;

		if (s)
			(void)cpu_set_sregs_reset_mmu(r->vm, s, &e);
		g->code_changed = false;
	}
	switch (res) {
	case GDB_RESUME_KILL:
		g->killed = true;
		run_stopf(r, RUN_STOP_KILLED, "killed by gdb at RIP 0x%llx",
			  (unsigned long long)g->rf.regs.rip);
		return;
	case GDB_RESUME_DETACH:
		gdb_detach(g);
		return;
	default:
		g->stepping = res == GDB_RESUME_STEP;
		if (g->stepping && !g->step_locked) { /* until the step's stop: never at a prompt */
			steplock_hold(g->cfg.step_lock_fd, true);
			g->step_locked = true;
		}
		gdb_arm(g);
		return;
	}
}

/* Stop the guest for gdb with signal sig ("T05...", extra appended): serve until it resumes.
 * f: the stub frame of an exception stop, or NULL. */
static void gdb_stop(struct gdb_stub *g, int sig, const char *extra, const struct trapstub_frame *f,
		     unsigned vector)
{
	if (g->detached || g->r->stop != RUN_STOP_NONE)
		return;
	if (g->step_locked) { /* other VMs may step while a person reads the stop */
		steplock_hold(g->cfg.step_lock_fd, false);
		g->step_locked = false;
	}
	g->frame_vector = vector;
	g->last_signal = sig;
	gdb_load_regs(g, f);
	snprintf(g->stop_reply, sizeof(g->stop_reply), "T%02xthread:1;%s", sig, extra);
	if (!gdb_send_packet(g, g->stop_reply, strlen(g->stop_reply))) {
		gdb_resume(g, GDB_RESUME_DETACH);
		return;
	}
	gdb_resume(g, gdb_serve(g));
}

/* At an exit KVM has not finished (I/O, MMIO), finish it now: RIP moves past the instruction
 * on every platform, and the registers read next are final. */
static void gdb_complete(struct gdb_stub *g)
{
	struct vm_error e = {0};

	if (vm_complete_exit(g->r->vm, g->r->last_exit, &e) != VM_OK)
		run_stopf(g->r, RUN_STOP_KVM_ERROR, "%s", e.detail);
	g->r->regs_valid = g->r->sregs_valid = false;
}

/* True if the exception of vector with frame f is routine heap growth (not shown to gdb). */
static bool gdb_is_heap_grow(struct gdb_stub *g, unsigned vector, const struct trapstub_frame *f)
{
	const struct kvm_sregs *s = run_sregs(g->r);
	const struct layout *l = g->r->layout;

	return vector == 14 && s &&
	       pw_pf_is_heap_grow(l->heap_start, l->heap_end - l->heap_start, s->cr2, f->error_code);
}

/* An exception reached a stub that exits (the runtime's debug stub, PW_HC_DEBUG, or the VMM's,
 * PW_HC_TRAP): stop before the guest's handler (or the VMM's) sees it. */
static void gdb_exception(struct gdb_stub *g, unsigned vector)
{
	const struct kvm_regs *regs = run_regs(g->r);
	struct trapstub_frame f;

	/* the frame is on the guest's stack, at a virtual address */
	if (!regs || vector >= TRAPSTUBS_VECTORS || !gdb_translate(g, regs->rsp, &g->frame_gpa) ||
	    !trapstubs_read_frame(g->r->mem, g->frame_gpa, vector, &f)) {
		gdb_stop(g, GDB_SIGSEGV, "", NULL, 0);
		return;
	}
	if (vector == 1 || gdb_is_heap_grow(g, vector, &f) ||
	    (vector == 14 && run_sregs(g->r) &&
	     vmmfault_is_pvm_syscall(g->r, &f, run_sregs(g->r)->cr2)))
		return; /* routine: heap growth, or PVM's SYSCALL finishing (docs/platforms.md) */
	g->stub_lo = regs->rip & ~(uint64_t)(STUB_WINDOW - 1);
	g->stub_hi = g->stub_lo + STUB_WINDOW;
	gdb_stop(g, gdb_signal(vector), "", &f, vector);
}

/* True if pc is within the first STUB_WINDOW bytes of an exception gate's entry: a step that
 * lands there is an exception on its way to the stub's exit, not a place to stop. */
static bool gdb_in_stub(struct gdb_stub *g, uint64_t pc)
{
	for (unsigned v = 0; v < TRAPSTUBS_VECTORS; v++) {
		uint64_t entry = run_idt_entry(g->r, v);

		if (entry && pc - entry < STUB_WINDOW)
			return true;
	}
	return false;
}

/* KVM_EXIT_DEBUG: an int3 that exited (standard KVM), a DR point, or a single step. */
static void gdb_on_debug(struct gdb_stub *g)
{
	const struct kvm_debug_exit_arch *d = &g->r->vm->run->debug.arch;
	char extra[48];

	if (d->exception == 3) {
		struct gdb_swbp *bp = gdb_swbp_at(g, d->pc);
		struct kvm_vcpu_events ev;

		if (bp) {
			gdb_stop(g, GDB_SIGTRAP, bp->hw ? "hwbreak:;" : "swbreak:;", NULL, 0);
			return;
		}
		/* The guest's own int3: deliver its #BP, as the CPU would have. */
		if (run_regs(g->r) && ioctl(g->r->vm->vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) == 0) {
			struct kvm_regs regs = g->r->regs;

			regs.rip = d->pc + 1;
			ev.exception.injected = 1;
			ev.exception.nr = 3;
			ev.exception.has_error_code = 0;
			if (vm_set_regs(g->r->vm, &regs) == 0)
				(void)ioctl(g->r->vm->vcpu_fd, KVM_SET_VCPU_EVENTS, &ev);
			g->r->regs_valid = false;
		}
		return;
	}
	for (unsigned i = 0; i < GDB_DRS; i++) {
		const struct gdb_drbp *b = &g->dr[i];

		if (!(d->dr6 & (1ull << i)) || !b->used)
			continue;
		if (b->type == GDB_POINT_HW)
			snprintf(extra, sizeof(extra), "hwbreak:;");
		else
			snprintf(extra, sizeof(extra), "%swatch:%llx;", gdb_watch_kind(b->type),
				 (unsigned long long)b->addr);
		gdb_stop(g, GDB_SIGTRAP, extra, NULL, 0);
		return;
	}
	if (!g->stepping || gdb_in_stub(g, d->pc))
		return;
	gdb_stop(g, GDB_SIGTRAP, "", NULL, 0);
}

/* If the MMIO exit in kr is an access to a watched page, carry it out on guest RAM (store a
 * write; fill in a read's data), set *hit to the watchpoint it triggers (if any) and return
 * true. */
static bool gdb_watch_access(struct gdb_stub *g, struct kvm_run *kr,
			     const struct gdb_pagewatch **hit)
{
	uint64_t gpa = kr->mmio.phys_addr, len = kr->mmio.len;
	bool watched = false, write = kr->mmio.is_write;
	uint8_t *p;

	for (unsigned i = 0; i < GDB_PAGE_WATCH_MAX; i++) {
		const struct gdb_pagewatch *w = &g->pw[i];

		if (!w->used || (w->gpa & ~(PW_PAGE_SIZE - 1)) != (gpa & ~(PW_PAGE_SIZE - 1)))
			continue;
		watched = true;
		if (gpa < w->gpa + w->len && w->gpa < gpa + len &&
		    (w->type == GDB_POINT_ACCESS || (w->type == GDB_POINT_WRITE) == write))
			*hit = w;
	}
	if (!watched || len > sizeof(kr->mmio.data) || !(p = gpa_to_host(g->r->mem, gpa, len)))
		return false;
	if (write)
		memcpy(p, kr->mmio.data, len);
	else
		memcpy(kr->mmio.data, p, len);
	return true;
}

/* KVM_EXIT_MMIO: an access to a watched page (carry it out, finish the instruction, stop if it
 * touched a watched range the way the watchpoint asks); anything else is a crash the run
 * reports, shown to gdb first. An access KVM splits (across pages, or wider than 8 bytes) comes
 * back fragment by fragment from the completing KVM_RUN. */
static bool gdb_on_mmio(struct gdb_stub *g)
{
	struct run *r = g->r;
	struct kvm_run *kr = r->vm->run;
	const struct gdb_pagewatch *hit = NULL;
	bool stepped = false;

	if (!gdb_watch_access(g, kr, &hit)) {
		gdb_stop(g, GDB_SIGSEGV, "", NULL, 0);
		return false;
	}
	for (unsigned frag = 1;; frag++) {
		int ret;

		kr->immediate_exit = 1;
		ret = ioctl(r->vm->vcpu_fd, KVM_RUN, 0);
		kr->immediate_exit = 0;
		r->regs_valid = r->sregs_valid = false;
		if (ret < 0 && errno == EINTR)
			break;
		if (ret == 0 && kr->exit_reason == KVM_EXIT_DEBUG) { /* a step ended with it */
			stepped = true;
			break;
		}
		if (ret < 0 || kr->exit_reason != KVM_EXIT_MMIO || frag >= GDB_MMIO_FRAGS ||
		    !gdb_watch_access(g, kr, &hit)) {
			run_stopf(r, RUN_STOP_KVM_ERROR,
				  "page watchpoint: finishing an access gave %s (exit %u)",
				  ret < 0 ? strerror(errno) : vm_exit_name(kr->exit_reason),
				  kr->exit_reason);
			return true;
		}
	}
	if (hit) {
		char extra[48];

		snprintf(extra, sizeof(extra), "%swatch:%llx;", gdb_watch_kind(hit->type),
			 (unsigned long long)hit->addr);
		gdb_stop(g, GDB_SIGTRAP, extra, NULL, 0);
	} else if (g->stepping && (stepped || !g->plat.step_io_exit)) {
		gdb_stop(g, GDB_SIGTRAP, "", NULL, 0);
	}
	return true;
}

/* KVM_EXIT_IO: the exception stubs' exits, and the end of a step at a hypercall where no debug
 * exit follows it (PVM). Returns true if the exit was handled here. */
static bool gdb_on_io(struct gdb_stub *g)
{
	struct run *r = g->r;
	const struct kvm_run *kr = r->vm->run;
	const struct kvm_regs *regs = run_regs(r);
	uint32_t arg = 0;

	if (kr->io.direction == KVM_EXIT_IO_OUT && kr->io.size == 4 && kr->io.count == 1)
		memcpy(&arg, (const uint8_t *)kr + kr->io.data_offset, sizeof(arg));
	if (kr->io.port == PW_PORT(PW_HC_DEBUG)) {
		gdb_exception(g, arg);
		return true;
	}
	if (kr->io.port == PW_PORT(PW_HC_TRAP) && regs && trapstubs_owns(regs->rip, arg)) {
		g->undelivered = false;
		gdb_exception(g, arg);
		/* else the VMM's fault handling goes on */
		return r->stop != RUN_STOP_NONE || g->undelivered;
	}
	if (!g->stepping || g->plat.step_io_exit)
		return false;
	/* the step ends at this exit (PVM): fault injection's hook still sees the hypercall */
	if (g->next_hook && g->next_hook(r, g->next_arg))
		return true;
	hypercall_handle(r);
	if (r->stop == RUN_STOP_NONE) {
		gdb_complete(g);
		gdb_stop(g, GDB_SIGTRAP, "", NULL, 0);
	}
	return true;
}

/* KVM_EXIT_HLT: a breakpoint of ours where int3 does not exit (KVM leaves RIP past the hlt on
 * every platform here), or the guest's own hlt, a clean stop. Returns true if it was ours. */
static bool gdb_on_hlt(struct gdb_stub *g)
{
	struct run *r = g->r;
	struct kvm_regs regs;
	struct gdb_swbp *bp;

	if (!run_regs(r))
		return false;
	regs = r->regs;
	if (!(bp = gdb_swbp_at(g, regs.rip - 1)))
		return false;
	regs.rip--;
	if (!run_set_regs(r, &regs))
		return true;
	gdb_stop(g, GDB_SIGTRAP, bp->hw ? "hwbreak:;" : "swbreak:;", NULL, 0);
	return true;
}

/* gdb sent something while the guest runs: a ^C stops the guest (SIGINT); a disconnect
 * detaches. Other bytes wait in g->in for the next stop. */
static void gdb_poll(struct gdb_stub *g)
{
	bool intr = false;

	gdb_sigio = 0;
	if (g->detached || g->r->stop != RUN_STOP_NONE)
		return;
	if (!gdb_recv(g, false)) {
		gdb_detach(g);
		return;
	}
	for (size_t i = g->in_pos; i < g->in_len; i++)
		if (g->in[i] == 0x03) { /* out of any packet: gdb sends it alone */
			intr = true;
			memmove(g->in + i, g->in + i + 1, g->in_len - i - 1);
			g->in_len--;
			break;
		}
	if (intr)
		gdb_stop(g, GDB_SIGINT, "", NULL, 0);
}

/* KVM_RUN was interrupted by a signal (run.c): maybe gdb's ^C. */
static void gdb_on_intr(struct run *r, void *arg)
{
	(void)r;
	gdb_poll(arg);
}

/* The exit hook's work; returns true if the exit was handled here. */
static bool gdb_exit(struct gdb_stub *g, struct run *r)
{
	const struct kvm_run *kr = r->vm->run;

	if (g->detached) /* the runtime's debug stubs still exit: let them go on */
		return kr->exit_reason == KVM_EXIT_DEBUG ||
		       (kr->exit_reason == KVM_EXIT_IO && kr->io.port == PW_PORT(PW_HC_DEBUG));
	switch (kr->exit_reason) {
	case KVM_EXIT_DEBUG:
		gdb_on_debug(g);
		return true;
	case KVM_EXIT_IO:
		return gdb_on_io(g);
	case KVM_EXIT_MMIO:
		return gdb_on_mmio(g);
	case KVM_EXIT_HLT:
		return gdb_on_hlt(g);
	case KVM_EXIT_SHUTDOWN:
	case KVM_EXIT_INTERNAL_ERROR:
		gdb_stop(g, GDB_SIGSEGV, "", NULL, 0);
		return false;
	default:
		return false;
	}
}

/* The run's exit hook: the stub's, then the one it took over from (fault injection's). */
static bool gdb_hook(struct run *r, void *arg)
{
	struct gdb_stub *g = arg;

	if (gdb_exit(g, r))
		return true;
	if (g->next_hook && g->next_hook(r, g->next_arg))
		return true;
	/* a ^C whose kick an exit completion took (immediate_exit is reset there) */
	if (gdb_sigio)
		gdb_poll(g);
	return false;
}

/* ---- setup --------------------------------------------------------------------------------- */

/* Parse [HOST:]PORT into addr (HOST: a dotted IPv4 address or "localhost"). */
static enum gdb_err gdb_parse(const char *spec, struct sockaddr_in *addr, char *msg, size_t n)
{
	const char *colon = strrchr(spec, ':'), *port = colon ? colon + 1 : spec;
	char host[64] = "127.0.0.1", *end;
	unsigned long p;

	if (colon && (size_t)(colon - spec) >= sizeof(host))
		goto bad;
	if (colon && colon > spec) {
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		if (strcmp(host, "localhost") == 0)
			strcpy(host, "127.0.0.1");
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (!*port || *end || errno || p > 65535 || port[0] == '-' || port[0] == '+')
		goto bad;
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_port = htons((uint16_t)p);
	if (inet_pton(AF_INET, host, &addr->sin_addr) != 1)
		goto bad;
	return GDB_OK;
bad:
	snprintf(msg, n, "--gdb '%s': want [HOST:]PORT, HOST an IPv4 address, PORT 0..65535", spec);
	return GDB_EADDR;
}

/* Listen on addr; g->where says where. */
static enum gdb_err gdb_listen(struct gdb_stub *g, struct sockaddr_in *addr, char *msg, size_t n)
{
	socklen_t len = sizeof(*addr);
	int one = 1;
	char ip[INET_ADDRSTRLEN];

	g->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g->listen_fd < 0 ||
	    setsockopt(g->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(g->listen_fd, (struct sockaddr *)addr, sizeof(*addr)) < 0 ||
	    listen(g->listen_fd, 1) < 0 ||
	    getsockname(g->listen_fd, (struct sockaddr *)addr, &len) < 0) {
		snprintf(msg, n, "--gdb %s: %s", g->cfg.spec, strerror(errno));
		return GDB_ESOCKET;
	}
	inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof(ip));
	snprintf(g->where, sizeof(g->where), "%s:%u", ip, ntohs(addr->sin_port));
	return GDB_OK;
}

/* Say where the stub waits and accept one client; the listening socket is closed (one client,
 * once). Where g->fd is already reserved (a late accept, under the sandbox), the connection
 * takes that fd number, the one the filter allows. */
static enum gdb_err gdb_accept(struct gdb_stub *g, char *msg, size_t n)
{
	int one = 1, fd;

	fprintf(stderr, "vmm: waiting for gdb on %s\n", g->where);
	fflush(stderr);
	do
		fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	close(g->listen_fd);
	g->listen_fd = -1;
	if (fd >= 0 && g->fd >= 0) {
		if (dup3(fd, g->fd, O_CLOEXEC) < 0) {
			close(fd);
			fd = -1;
		} else {
			close(fd);
			fd = g->fd;
		}
	}
	if (fd < 0) {
		snprintf(msg, n, "--gdb %s: accept: %s", g->where, strerror(errno));
		return GDB_ESOCKET;
	}
	g->fd = fd;
	setsockopt(g->fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
	return GDB_OK;
}

/* ^C while the guest runs: the socket raises SIGIO, which kicks KVM_RUN. */
static void gdb_async(struct gdb_stub *g)
{
	struct sigaction sa = {.sa_handler = gdb_on_sigio, .sa_flags = SA_RESTART};
	int fl = fcntl(g->fd, F_GETFL);

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGIO, &sa, NULL) == 0 && fl >= 0 && fcntl(g->fd, F_SETOWN, g->pid) == 0)
		(void)fcntl(g->fd, F_SETFL, fl | O_ASYNC);
}

enum gdb_err gdb_open(struct gdb_stub *g, const struct gdb_config *cfg, int kvm_fd, bool late,
		      char *msg, size_t n)
{
	struct sockaddr_in addr;
	struct vm_error e = {0};
	enum gdb_err err;

	memset(g, 0, sizeof(*g));
	g->cfg = *cfg;
	g->listen_fd = g->fd = -1;
	rsp_init(&g->parser);
	if ((err = gdb_parse(cfg->spec, &addr, msg, n)))
		return err;
	if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127 && !cfg->any_address) {
		snprintf(msg, n,
			 "--gdb %s: not a loopback address; anyone who can reach it controls the "
			 "guest (add --gdb-any-address if that is meant)",
			 cfg->spec);
		return GDB_EREMOTE;
	}
	if (platform_probe_locked(kvm_fd, cfg->step_lock_fd, &g->plat, &e) != VM_OK) {
		snprintf(msg, n, "--gdb: %s", e.detail);
		return GDB_EPROBE;
	}
	if ((ntohl(addr.sin_addr.s_addr) >> 24) != 127)
		fprintf(stderr, "vmm: warning: the gdb stub listens on a non-loopback address: "
				"anyone who connects controls the guest and reads its memory\n");
	g->pid = getpid();
	if ((err = gdb_listen(g, &addr, msg, n)))
		return err;
	if (late) { /* reserve the connection's fd number now, for the sandbox's rules */
		g->fd = fcntl(g->listen_fd, F_DUPFD_CLOEXEC, 0);
		if (g->fd < 0) {
			snprintf(msg, n, "--gdb: %s", strerror(errno));
			return GDB_ESOCKET;
		}
		fprintf(stderr, "vmm: gdb is to connect to %s at the injection point\n", g->where);
		return GDB_OK;
	}
	if ((err = gdb_accept(g, msg, n)))
		return err;
	gdb_async(g);
	return GDB_OK;
}

bool gdb_start(struct gdb_stub *g, struct run *r)
{
	g->r = r;
	g->next_hook = r->exit_hook;
	g->next_arg = r->exit_hook_arg;
	r->exit_hook = gdb_hook;
	r->exit_hook_arg = g;
	r->intr_hook = gdb_on_intr;
	gdb_kick_run = r->vm->run;
	gdb_session_init(&g->sess, &gdb_ops, g, &g->rf);
	g->last_signal = GDB_SIGTRAP;
	gdb_load_regs(g, NULL);
	snprintf(g->stop_reply, sizeof(g->stop_reply), "T%02xthread:1;", GDB_SIGTRAP);
	gdb_resume(g, gdb_serve(g)); /* gdb asks with '?' */
	return r->stop == RUN_STOP_NONE;
}

void gdb_attach(struct gdb_stub *g, struct run *r)
{
	char msg[256];

	if (g->fd < 0 || g->r)
		return;
	if (gdb_accept(g, msg, sizeof(msg))) {
		run_stopf(r, RUN_STOP_KVM_ERROR, "%s", msg);
		return;
	}
	gdb_async(g);
	run_deadlines_off(r); /* a person at a prompt has none */
	gdb_start(g, r);
}

void gdb_finish(struct gdb_stub *g, struct run *r)
{
	char end[16];

	gdb_kick_run = NULL;
	if (g->step_locked)
		steplock_hold(g->cfg.step_lock_fd, false);
	g->step_locked = false;
	for (unsigned i = 0; g->r && i < GDB_SW_BPS_MAX; i++) /* the report and core see the code */
		if (g->sw[i].used)
			gdb_sw_remove(g, g->sw[i].addr);
	if (g->fd >= 0 && g->r && !g->detached && !g->killed && !g->gone) {
		if (r->stop == RUN_STOP_EXIT || r->stop == RUN_STOP_HALT)
			snprintf(end, sizeof(end), "W%02x", (unsigned)run_status(r) & 0xff);
		else
			snprintf(end, sizeof(end), "X%02x",
				 r->stop == RUN_STOP_PANIC	 ? GDB_SIGABRT
				 : r->stop == RUN_STOP_TIMEOUT || r->stop == RUN_STOP_LIMIT ? GDB_SIGKILL
				 : g->last_signal == GDB_SIGTRAP ? GDB_SIGSEGV
								 : g->last_signal);
		gdb_send_packet(g, end, strlen(end));
	}
	if (g->fd >= 0)
		close(g->fd);
	if (g->listen_fd >= 0) /* --inject whose trigger never came: gdb was never let in */
		close(g->listen_fd);
	g->fd = g->listen_fd = -1;
}
