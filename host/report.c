/* The crash report. Only runs when a guest crashed, so it may be slow; it must never make a
 * crash worse: every guest address goes through gpa_to_host or KVM_TRANSLATE. */
#include "report.h"

#include <string.h>
#include <sys/ioctl.h>

#include "disasm.h"
#include "paging.h"

size_t report_read_guest(struct run *r, uint64_t va, uint8_t *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		struct kvm_translation t = {.linear_address = va + done};
		size_t in_page = PT_SIZE_4K - ((va + done) & (PT_SIZE_4K - 1));
		size_t chunk = n - done < in_page ? n - done : in_page;
		const uint8_t *p;

		if (ioctl(r->vm->vcpu_fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
			break;
		p = gpa_to_host(r->mem, t.physical_address, chunk);
		if (!p)
			break;
		memcpy(buf + done, p, chunk);
		done += chunk;
	}
	return done;
}

size_t report_hex(char *buf, size_t n, const uint8_t *bytes, size_t len)
{
	size_t o = 0;

	if (n == 0)
		return 0;
	buf[0] = '\0';
	for (size_t i = 0; i < len && o + 3 < n; i++)
		o += (size_t)snprintf(buf + o, n - o, i ? " %02x" : "%02x", bytes[i]);
	return o;
}

/* The walker's view of guest RAM: frames outside RAM read as an empty table, so a corrupt
 * entry ends the walk as "not present" instead of reading host memory. */
static const uint64_t report_empty_table[PT_ENTRIES];

static void *report_phys_to_virt(void *ctx, uint64_t pa)
{
	void *p = gpa_to_host(ctx, pa, PT_SIZE_4K);

	return p ? p : (void *)report_empty_table; /* only read: pt_trace never writes */
}

static uint64_t report_no_frame(void *ctx)
{
	(void)ctx;
	return 0;
}

static const char *report_level_name(int level)
{
	static const char *const names[PT_LEVELS + 1] = {"?", "PT", "PD", "PDPT", "PML4"};
	return level >= 1 && level <= PT_LEVELS ? names[level] : "?";
}

void report_walk(FILE *f, struct run *r, uint64_t cr3, uint64_t va)
{
	struct pt_handler h = {
	    .ctx = (void *)r->mem,
	    .alloc_frame = report_no_frame,
	    .phys_to_virt = report_phys_to_virt,
	};
	unsigned features = r->vm->has_1g ? PT_FEAT_1G : 0;
	struct pt_trace t;
	struct pt pt;
	enum pt_err err;

	err = pt_attach(&pt, &h, cr3 & PTE_ADDR_MASK_4K, r->vm->maxphyaddr, features);
	if (!err)
		err = pt_trace(&pt, va, &t);
	if (err) {
		fprintf(f, "    cannot walk 0x%llx: %s\n", (unsigned long long)va,
			pt_strerror(err));
		return;
	}
	for (int i = 0; i < t.depth; i++) {
		int level = PT_LEVELS - i;
		unsigned idx = (unsigned)(va >> (12 + 9 * (level - 1))) & (PT_ENTRIES - 1);
		char bits[96];

		pte_bits_str(bits, sizeof(bits), t.entry[i], level);
		fprintf(f, "    %-4s[%3u] @ 0x%llx: %016llx  %s", report_level_name(level), idx,
			(unsigned long long)t.table_pa[i], (unsigned long long)t.entry[i], bits);
		if (pte_is_guard(t.entry[i]))
			fprintf(f, "  guard(%s)", layout_guard_name(pte_guard_kind(t.entry[i])));
		if (!gpa_to_host(r->mem, t.table_pa[i], PT_SIZE_4K))
			fputs("  (table outside guest RAM)", f);
		fputc('\n', f);
	}
	if (t.mapped)
		fprintf(f, "    -> guest-physical 0x%llx\n", (unsigned long long)t.pa);
	else
		fputs("    -> not mapped\n", f);
}

/* Print a register row: up to three name/value pairs. */
static void report_row(FILE *f, const char *n1, uint64_t v1, const char *n2, uint64_t v2,
		       const char *n3, uint64_t v3)
{
	fprintf(f, "  %-6s %016llx  %-6s %016llx", n1, (unsigned long long)v1, n2,
		(unsigned long long)v2);
	if (n3)
		fprintf(f, "  %-6s %016llx", n3, (unsigned long long)v3);
	fputc('\n', f);
}

static void report_regs(FILE *f, const struct kvm_regs *g)
{
	report_row(f, "RIP", g->rip, "RSP", g->rsp, "RFLAGS", g->rflags);
	report_row(f, "RAX", g->rax, "RBX", g->rbx, "RCX", g->rcx);
	report_row(f, "RDX", g->rdx, "RSI", g->rsi, "RDI", g->rdi);
	report_row(f, "RBP", g->rbp, "R8", g->r8, "R9", g->r9);
	report_row(f, "R10", g->r10, "R11", g->r11, "R12", g->r12);
	report_row(f, "R13", g->r13, "R14", g->r14, "R15", g->r15);
}

static void report_sregs(FILE *f, const struct kvm_sregs *s)
{
	report_row(f, "CR0", s->cr0, "CR2", s->cr2, "CR3", s->cr3);
	report_row(f, "CR4", s->cr4, "EFER", s->efer, NULL, 0);
	fprintf(f, "  CS %04x  DS %04x  ES %04x  SS %04x  FS %04x  GS %04x  TR %04x\n",
		s->cs.selector, s->ds.selector, s->es.selector, s->ss.selector, s->fs.selector,
		s->gs.selector, s->tr.selector);
	fprintf(f, "  GDT %llx limit %x  IDT %llx limit %x\n", (unsigned long long)s->gdt.base,
		s->gdt.limit, (unsigned long long)s->idt.base, s->idt.limit);
}

static void report_code(FILE *f, struct run *r, uint64_t rip)
{
	uint8_t code[REPORT_CODE_BYTES];
	char hex[3 * REPORT_CODE_BYTES + 1];
	size_t n = report_read_guest(r, rip, code, sizeof(code));
	struct disasm_insn insn;

	if (n == 0) {
		fprintf(f, "  code at RIP: unreadable (RIP not mapped to guest RAM)\n");
		return;
	}
	report_hex(hex, sizeof(hex), code, n);
	fprintf(f, "  code at RIP: %s\n", hex);
	switch (disasm_one(code, n, rip, &insn)) {
	case DISASM_OK:
		fprintf(f, "  instruction: %s\n", insn.text);
		break;
	case DISASM_EUNAVAILABLE:
		if (disasm_built_in())
			fprintf(
			    f,
			    "  instruction: not disassembled under the sandbox (capstone is loaded "
			    "up front only when stderr is a terminal; or use --no-sandbox)\n");
		break;
	case DISASM_EDECODE:
		break;
	}
}

/* "page walk of CR2 0x...:" and the walk, through the vCPU's current CR3. */
static void report_walk_stop(FILE *f, struct run *r, const struct kvm_sregs *s, uint64_t rip)
{
	const char *what = r->walk_what ? r->walk_what : "RIP";
	uint64_t addr = r->walk_what ? r->walk_addr : rip;

	/* An MMIO exit only gives the GPA; the guest's map is the identity, so walk it as a VA. */
	fprintf(f, "  page walk of %s 0x%llx%s (CR3 0x%llx):\n", what, (unsigned long long)addr,
		strcmp(what, "GPA") == 0 ? " as an identity-mapped address" : "",
		(unsigned long long)s->cr3);
	report_walk(f, r, s->cr3, addr);
}

void report_crash(FILE *f, struct run *r)
{
	const struct kvm_regs *g = run_regs(r);
	const struct kvm_sregs *s = run_sregs(r);

	fprintf(f, "  exit %s (%s), after %llu exits\n", vm_exit_name(r->last_exit),
		run_stop_name(r->stop), (unsigned long long)r->nexits);
	if (r->replay_note[0])
		fprintf(f, "  %s\n", r->replay_note);
	if (!g || !s) {
		fputs("  registers unavailable (KVM_GET_REGS/KVM_GET_SREGS failed)\n", f);
		return;
	}
	report_regs(f, g);
	report_sregs(f, s);
	report_code(f, r, g->rip);
	report_walk_stop(f, r, s, g->rip);
}

void report_stop(FILE *f, struct run *r)
{
	const struct kvm_sregs *s;

	if (run_stop_wants_report(r->stop)) {
		report_crash(f, r);
	} else if (r->stop == RUN_STOP_FAULT && (s = run_sregs(r)) != NULL) {
		report_walk_stop(f, r, s, 0);
	}
}
