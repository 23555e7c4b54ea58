/* The hypercall dispatcher: port -> call, every argument checked before use. */
#include "hypercall.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "pagewarden/classify.h"
#include "pagewarden/abi.h"
#include "pagewarden/escape.h"
#include "vmmfault.h"

const char *hypercall_name(unsigned nr)
{
	static const char *const names[PW_HC_COUNT] = {
	    [PW_HC_CONSOLE] = "console",       [PW_HC_EXIT] = "exit",	[PW_HC_FAULT] = "fault",
	    [PW_HC_CHECKPOINT] = "checkpoint", [PW_HC_PANIC] = "panic", [PW_HC_TRAP] = "trap",
	    [PW_HC_RECOVERY] = "recovery",     [PW_HC_DEBUG] = "debug",
	};
	return nr < PW_HC_COUNT && names[nr] ? names[nr] : "?";
}

/* Stop the guest for breaking the ABI of hypercall nr (or of the port protocol if nr is
 * PW_HC_COUNT); the line ends with the RIP of the offending instruction. */
__attribute__((format(printf, 3, 4))) static enum hc_result hc_bad(struct run *r, unsigned nr,
								   const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (nr < PW_HC_COUNT)
		run_stopf(r, RUN_STOP_BAD_HYPERCALL,
			  "bad hypercall %s (port 0x%x): %s, at RIP 0x%llx", hypercall_name(nr),
			  PW_PORT(nr), what, (unsigned long long)run_rip(r));
	else
		run_stopf(r, RUN_STOP_BAD_HYPERCALL, "bad hypercall: %s, at RIP 0x%llx", what,
			  (unsigned long long)run_rip(r));
	return HC_STOP;
}

/* Copy hypercall nr's argument struct (size bytes at gpa) out of guest RAM into out. A copy,
 * so checks made on it cannot be undone by the guest, and alignment does not matter. */
static enum hc_result hc_fetch(struct run *r, unsigned nr, uint64_t gpa, void *out, size_t size)
{
	const void *p = gpa_to_host(r->mem, gpa, size);

	if (!p)
		return hc_bad(r, nr, "argument struct at 0x%llx (%zu bytes) is outside guest RAM",
			      (unsigned long long)gpa, size);
	memcpy(out, p, size);
	return HC_RESUME;
}

/* Host pointer to the guest buffer [gpa, gpa + len) named what, or NULL after stopping r. */
static const uint8_t *hc_buffer(struct run *r, unsigned nr, const char *what, uint64_t gpa,
				uint64_t len)
{
	const uint8_t *p = gpa_to_host(r->mem, gpa, len);

	if (!p)
		hc_bad(r, nr, "%s at 0x%llx (%llu bytes) is outside guest RAM", what,
		       (unsigned long long)gpa, (unsigned long long)len);
	return p;
}

/* Write all of buf to fd, riding out partial writes and signals (the timeout's SIGALRM). A
 * console nobody reads (closed stdout) is not the guest's fault: errors are ignored. fd -1
 * drops the output (a replay). */
static void hc_write_all(int fd, const uint8_t *buf, size_t len)
{
	while (fd >= 0 && len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

static enum hc_result hc_console(struct run *r, uint32_t arg)
{
	struct pw_hc_console c = {0};
	const uint8_t *buf;

	if (hc_fetch(r, PW_HC_CONSOLE, arg, &c, sizeof(c)) == HC_STOP)
		return HC_STOP;
	if (c.len > PW_CONSOLE_MAX)
		return hc_bad(r, PW_HC_CONSOLE, "length %llu exceeds the maximum %u",
			      (unsigned long long)c.len, PW_CONSOLE_MAX);
	buf = hc_buffer(r, PW_HC_CONSOLE, "buffer", c.buf, c.len);
	if (!buf)
		return HC_STOP;
	/* The cap keeps a flooding guest from filling the host's disk through a redirected
	 * console: what fits is written, then the guest stops. */
	if (r->cfg.console_limit && c.len > r->cfg.console_limit - r->console_bytes) {
		uint64_t room = r->cfg.console_limit - r->console_bytes;

		hc_write_all(r->cfg.console_fd, buf, room);
		r->console_bytes += room;
		run_stopf(r, RUN_STOP_LIMIT,
			  "console limit reached: the guest wrote more than %llu bytes "
			  "(--console-limit), at RIP 0x%llx",
			  (unsigned long long)r->cfg.console_limit, (unsigned long long)run_rip(r));
		return HC_STOP;
	}
	hc_write_all(r->cfg.console_fd, buf, c.len);
	r->console_bytes += c.len;
	return HC_RESUME;
}

static enum hc_result hc_exit(struct run *r, uint32_t arg)
{
	struct pw_hc_exit x = {0};

	if (hc_fetch(r, PW_HC_EXIT, arg, &x, sizeof(x)) == HC_STOP)
		return HC_STOP;
	r->exit_code = x.code;
	run_stopf(r, RUN_STOP_EXIT, "guest exited with code %lld", (long long)x.code);
	return HC_STOP;
}

/* Kind of the fault hf reports with kind 0 (the runtime's fast path left it to us): the shared
 * classifier over the regions the boot info carries. A protection #PF also gets the model's
 * walk, which needs the control registers: the one case that reads the vCPU's sregs. EFLAGS.AC
 * is the vCPU's now: the fast path reports before it touches the flags, and exception delivery
 * keeps AC, so it is the faulting context's. */
static unsigned hc_classify(struct run *r, const struct pw_hc_fault *hf)
{
	const struct layout *l = r->layout;
	struct pt_access_result walk;
	const struct pt_access_result *w = NULL;
	const struct kvm_sregs *s;
	const struct kvm_regs *regs;

	if (hf->vector == 14 && pw_pf_is_protection(hf->error_code) && (s = run_sregs(r)) != NULL &&
	    (regs = run_regs(r)) != NULL)
		w = guest_pt_pf_walk(&r->gpt, s->cr3, s->cr0, s->cr4, s->efer, regs->rflags,
				     hf->gva, hf->error_code, &walk);
	return pw_classify(l ? l->regions : NULL, l ? l->nregions : 0, hf->vector, hf->gva,
			   hf->error_code, w);
}

/* A fault the guest reports. Recovered: recorded and noted. Not recovered: the guest runtime's
 * way of crashing, so the run stops as a crash (the runtime does not rely on that: it
 * triple-faults itself if resumed). */
static enum hc_result hc_fault(struct run *r, uint32_t arg)
{
	struct pw_hc_fault hf = {0};
	struct fault_record f;

	if (hc_fetch(r, PW_HC_FAULT, arg, &hf, sizeof(hf)) == HC_STOP)
		return HC_STOP;
	if (hf.kind >= PW_FAULT_KIND_COUNT)
		return hc_bad(r, PW_HC_FAULT, "kind %u is not a fault kind (0..%u)", hf.kind,
			      PW_FAULT_KIND_COUNT - 1);
	if (hf.vector > 255)
		return hc_bad(r, PW_HC_FAULT, "vector %u is not an interrupt vector (0..255)",
			      hf.vector);
	/* Kind 0: the guest left the classification to us (the runtime's fast path): the same
	 * shared classifier over the same regions the boot info carries. */
	if (hf.kind == PW_FAULT_NONE)
		hf.kind = hc_classify(r, &hf);
	if (hf.recovered > 1)
		return hc_bad(r, PW_HC_FAULT, "recovered is %u, not 0 or 1", hf.recovered);
	f = (struct fault_record){
	    .kind = hf.kind,
	    .vector = hf.vector,
	    .gva = hf.gva,
	    .error_code = hf.error_code,
	    .rip = hf.rip,
	    .rsp = hf.rsp,
	    .caught_by = PW_CAUGHT_GUEST_IDT,
	    .recovered = hf.recovered != 0,
	};
	/* The runtime never switches CR3: walk the tables it booted on (no KVM_GET_SREGS). */
	if (hf.vector == 14)
		f.gpa_valid = guest_pt_translate(&r->gpt, r->gpt.boot_cr3, f.gva, &f.gpa);
	fault_list_append(&r->faults, &f);
	if (f.recovered) {
		vmmfault_note(r, &f);
		return HC_RESUME;
	}
	r->walk_what = hf.vector == 14 ? "CR2" : "RIP";
	r->walk_addr = hf.vector == 14 ? hf.gva : hf.rip;
	r->fault_frame = hf.frame; /* read (checked) only by --core */
	run_stopf(r, RUN_STOP_FAULT, PW_CRASH_LINE_FMT, PW_CRASH_LINE_ARGS(&f));
	return HC_STOP;
}

/* Where the VMM resumes an expected fault under --faults=vmm: only remembered (checked to lie
 * in RAM) until the VMM handles faults itself; see struct pw_recovery. */
static enum hc_result hc_recovery(struct run *r, uint32_t arg)
{
	if (!gpa_to_host(r->mem, arg, sizeof(struct pw_recovery)))
		return hc_bad(r, PW_HC_RECOVERY, "struct at 0x%x (%zu bytes) is outside guest RAM",
			      arg, sizeof(struct pw_recovery));
	r->recovery_gpa = arg;
	return HC_RESUME;
}

static enum hc_result hc_checkpoint(struct run *r, uint32_t arg)
{
	struct pw_hc_checkpoint c = {0};

	if (hc_fetch(r, PW_HC_CHECKPOINT, arg, &c, sizeof(c)) == HC_STOP)
		return HC_STOP;
	if (r->checkpoints++ == 0)
		r->exits_at_cp = run_guest_exits(r);
	if (r->cfg.trace)
		fprintf(r->cfg.log, "vmm: checkpoint %llu value 0x%llx at RIP 0x%llx\n",
			(unsigned long long)c.id, (unsigned long long)c.value,
			(unsigned long long)run_rip(r));
	return HC_RESUME;
}

static enum hc_result hc_panic(struct run *r, uint32_t arg)
{
	char file[PW_STRING_MAX + 1], msg[2 * PW_STRING_MAX];
	struct pw_hc_panic p = {0};
	const uint8_t *f, *m;

	if (hc_fetch(r, PW_HC_PANIC, arg, &p, sizeof(p)) == HC_STOP)
		return HC_STOP;
	if (p.file_len > PW_STRING_MAX || p.msg_len > PW_STRING_MAX)
		return hc_bad(
		    r, PW_HC_PANIC, "%s length %llu exceeds the maximum %u",
		    p.file_len > PW_STRING_MAX ? "file name" : "message",
		    (unsigned long long)(p.file_len > PW_STRING_MAX ? p.file_len : p.msg_len),
		    PW_STRING_MAX);
	f = hc_buffer(r, PW_HC_PANIC, "file name", p.file, p.file_len);
	m = f ? hc_buffer(r, PW_HC_PANIC, "message", p.msg, p.msg_len) : NULL;
	if (!m)
		return HC_STOP;
	pw_escape(file, sizeof(file), f, p.file_len);
	pw_escape(msg, sizeof(msg), m, p.msg_len);
	run_stopf(r, RUN_STOP_PANIC, PW_PANIC_LINE_FMT, file, (unsigned long long)p.line, msg);
	return HC_STOP;
}

/* --faults=vmm: a VMM stub exited with the vector (host/fault/vmmfault.c). */
static enum hc_result hc_trap(struct run *r, uint32_t vector)
{
	if (vector > 255)
		return hc_bad(r, PW_HC_TRAP, "vector %u is not an interrupt vector (0..255)",
			      vector);
	return vmmfault_trap(r, vector);
}

enum hc_result hypercall_handle(struct run *r)
{
	const struct kvm_run *kr = r->vm->run;
	unsigned port = kr->io.port, size = kr->io.size;
	const char *dir = kr->io.direction == KVM_EXIT_IO_OUT ? "out" : "in";
	unsigned nr;
	uint32_t arg;

	if (port < PW_PORT_BASE || port >= PW_PORT(PW_HC_COUNT))
		return hc_bad(r, PW_HC_COUNT,
			      "port 0x%x (%s, %u byte%s) is not a hypercall port (0x%x..0x%x)",
			      port, dir, size, size == 1 ? "" : "s", PW_PORT(0),
			      PW_PORT(PW_HC_COUNT - 1));
	nr = port - PW_PORT_BASE;
	if (kr->io.direction != KVM_EXIT_IO_OUT || size != 4 || kr->io.count != 1)
		return hc_bad(r, nr,
			      "%s of %u byte%s x%u, but a hypercall is one 4-byte out (outl)", dir,
			      size, size == 1 ? "" : "s", kr->io.count);
	memcpy(&arg, (const uint8_t *)kr + kr->io.data_offset, sizeof(arg));
	switch (nr) {
	case PW_HC_CONSOLE:
		return hc_console(r, arg);
	case PW_HC_EXIT:
		return hc_exit(r, arg);
	case PW_HC_FAULT:
		return hc_fault(r, arg);
	case PW_HC_CHECKPOINT:
		return hc_checkpoint(r, arg);
	case PW_HC_PANIC:
		return hc_panic(r, arg);
	case PW_HC_TRAP:
		return hc_trap(r, arg);
	case PW_HC_RECOVERY:
		return hc_recovery(r, arg);
	case PW_HC_DEBUG: /* the debugger's exit hook takes these; here none is attached */
		return hc_bad(r, nr, "debug stop of vector %u, but no debugger is attached (--gdb)",
			      arg);
	}
	return hc_bad(r, nr, "this VMM does not implement hypercall %u", nr);
}
