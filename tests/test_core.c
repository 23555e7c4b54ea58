/* ./vmm --core FILE: the ELF core file of a crashed guest. tests/guests/core_crash.c crashes in
 * core_inner, called by core_outer, called by main; each test checks the file's headers, notes
 * and segments against the run's JSON report and the guest's layout, and gdb (when installed)
 * reads the backtrace and globals back from it. Needs KVM (the VM of scripts/kvm-vm runs gdb
 * too: it sees the host's root filesystem). */
#include <criterion/criterion.h>
#include <elf.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <unistd.h>

#include "pagewarden/layout.h"
#include "pagewarden/pf_error.h"
#include "elf_symbol.h"
#include "fault_report.h"
#include "run_helper.h"
#include "status.h"

#define GDB "/usr/bin/gdb"

static void kvm_init(void)
{
	require_kvm();
}

TestSuite(core, .init = kvm_init);

/* A core file read back: the whole file, its program headers and NT_PRSTATUS. */
struct core {
	uint8_t *data;
	size_t len;
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;
	struct elf_prstatus st;
	struct user_regs_struct regs;
	bool has_prstatus, has_prpsinfo;
};

/* Read the core at path and check the ELF header and the notes. */
static void core_load(const char *path, struct core *c)
{
	FILE *f = fopen(path, "rb");
	struct stat sb;

	*c = (struct core){0};
	cr_assert(f && fstat(fileno(f), &sb) == 0, "%s: cannot open", path);
	c->len = (size_t)sb.st_size;
	c->data = malloc(c->len + 1);
	cr_assert(c->data && fread(c->data, 1, c->len, f) == c->len, "%s: cannot read", path);
	fclose(f);
	cr_assert_geq(c->len, sizeof(Elf64_Ehdr), "%s: %zu bytes, not an ELF file", path, c->len);
	c->eh = (const Elf64_Ehdr *)c->data;
	cr_assert(memcmp(c->eh->e_ident, ELFMAG, SELFMAG) == 0, "%s: no ELF magic", path);
	cr_assert_eq(c->eh->e_ident[EI_CLASS], ELFCLASS64);
	cr_assert_eq(c->eh->e_ident[EI_DATA], ELFDATA2LSB);
	cr_assert_eq(c->eh->e_type, ET_CORE, "e_type %u", c->eh->e_type);
	cr_assert_eq(c->eh->e_machine, EM_X86_64, "e_machine %u", c->eh->e_machine);
	cr_assert_eq(c->eh->e_phentsize, sizeof(Elf64_Phdr));
	cr_assert_leq(c->eh->e_phoff + (uint64_t)c->eh->e_phnum * sizeof(Elf64_Phdr), c->len);
	c->ph = (const Elf64_Phdr *)(c->data + c->eh->e_phoff);
	for (unsigned i = 0; i < c->eh->e_phnum; i++) {
		const Elf64_Phdr *p = &c->ph[i];
		size_t off = p->p_offset;

		cr_assert_leq(p->p_offset + p->p_filesz, c->len, "segment %u past the file's end",
			      i);
		if (p->p_type != PT_NOTE)
			continue;
		while (off + sizeof(Elf64_Nhdr) <= p->p_offset + p->p_filesz) {
			const Elf64_Nhdr *n = (const Elf64_Nhdr *)(c->data + off);
			const uint8_t *desc =
			    c->data + off + sizeof(*n) + ((n->n_namesz + 3) & ~3u);

			cr_assert_eq(n->n_namesz, 5, "note name size %u", n->n_namesz);
			cr_assert_str_eq((const char *)(n + 1), "CORE");
			if (n->n_type == NT_PRSTATUS) {
				cr_assert_eq(n->n_descsz, sizeof(c->st));
				memcpy(&c->st, desc, sizeof(c->st));
				memcpy(&c->regs, &c->st.pr_reg, sizeof(c->regs));
				c->has_prstatus = true;
			}
			c->has_prpsinfo |= n->n_type == NT_PRPSINFO;
			off += sizeof(*n) + ((n->n_namesz + 3) & ~3u) + ((n->n_descsz + 3) & ~3u);
		}
	}
	cr_assert(c->has_prstatus, "%s: no NT_PRSTATUS note", path);
	cr_assert(c->has_prpsinfo, "%s: no NT_PRPSINFO note", path);
	cr_assert_eq(c->st.pr_pid, 1);
}

/* The PT_LOAD covering va, or NULL. */
static const Elf64_Phdr *core_segment(const struct core *c, uint64_t va)
{
	for (unsigned i = 0; i < c->eh->e_phnum; i++) {
		const Elf64_Phdr *p = &c->ph[i];

		if (p->p_type == PT_LOAD && va >= p->p_vaddr && va - p->p_vaddr < p->p_memsz)
			return p;
	}
	return NULL;
}

/* The 8 bytes at va as the core holds them (zeros past a segment's p_filesz). */
static uint64_t core_peek(const struct core *c, uint64_t va)
{
	const Elf64_Phdr *p = core_segment(c, va);
	uint64_t v = 0;

	cr_assert_not_null(p, "no PT_LOAD covers 0x%" PRIx64, va);
	if (va - p->p_vaddr + 8 <= p->p_filesz)
		memcpy(&v, c->data + p->p_offset + (va - p->p_vaddr), 8);
	return v;
}

/* Segments page-aligned, in VA order, not overlapping; guards and holes not dumped; text
 * (R X), the stack at RSP (RW NX) and core_crash's bss (with the value main stored) are. */
static void core_check_layout(const struct core *c, const char *elf)
{
	static const uint64_t guards[] = {PW_NULL_GUARD_GPA, PW_PF_STACK_GUARD_GPA,
					  PW_DF_STACK_GUARD_GPA, PW_STACK_GUARD_GPA,
					  PW_HIGH_GUARD_GPA};
	const Elf64_Phdr *text = core_segment(c, elf_symbol(elf, "core_inner"));
	const Elf64_Phdr *stack = core_segment(c, c->regs.rsp);
	uint64_t prev_end = 0;
	unsigned loads = 0;

	for (unsigned i = 0; i < c->eh->e_phnum; i++) {
		const Elf64_Phdr *p = &c->ph[i];

		if (p->p_type != PT_LOAD)
			continue;
		loads++;
		cr_assert_eq(p->p_vaddr % PW_PAGE_SIZE, 0, "vaddr 0x%" PRIx64, p->p_vaddr);
		cr_assert_eq(p->p_memsz % PW_PAGE_SIZE, 0, "memsz 0x%" PRIx64, p->p_memsz);
		cr_assert_eq(p->p_offset % PW_PAGE_SIZE, 0, "offset 0x%" PRIx64, p->p_offset);
		cr_assert_leq(p->p_filesz, p->p_memsz);
		cr_assert_geq(p->p_vaddr, prev_end,
			      "segments overlap or are out of order at 0x%" PRIx64, p->p_vaddr);
		cr_assert(p->p_flags & PF_R);
		prev_end = p->p_vaddr + p->p_memsz;
	}
	cr_assert_gt(loads, 0, "no PT_LOAD");
	cr_assert_lt(loads, 64, "%u PT_LOADs for a small guest", loads);
	for (size_t i = 0; i < sizeof(guards) / sizeof(guards[0]); i++)
		cr_assert_null(core_segment(c, guards[i]),
			       "a PT_LOAD covers the guard page 0x%" PRIx64, guards[i]);
	cr_assert_leq(prev_end, PW_MAP_END, "a segment above the identity map");
	cr_assert(text && (text->p_flags & PF_X) && !(text->p_flags & PF_W), "text not dumped R X");
	cr_assert(stack && (stack->p_flags & PF_W) && !(stack->p_flags & PF_X),
		  "the stack at RSP 0x%llx not dumped RW NX", c->regs.rsp);
	cr_assert_eq(core_peek(c, elf_symbol(elf, "core_counter")), 42, "core_counter in the core");
	cr_assert_eq(core_peek(c, elf_symbol(elf, "core_global")), 0x1234abcd5678ef00ull);
}

/* Run core_crash (ELF) under mode with --core and --json -; check the crash and the core. */
static void crash_case(const char *mode, const char *arg, const char *kind, const char *caught_by,
		       struct core *c, const char **path)
{
	const char *elf = guest("core_crash.elf");
	struct frun *fr = calloc(1, sizeof(*fr));
	const struct jfault *f;

	*path = temp_path("crash.core");
	fr->r = vmm_run("-q", "--json", "-", mode, "--core", *path, elf, arg, NULL);
	frun_parse(fr, "core_crash.elf");
	f = assert_crash_by(fr, caught_by, kind, VECTOR_PF, PF_ERR_W);
	core_load(*path, c);
	cr_assert_eq(c->regs.rip, f->rip, "NT_PRSTATUS RIP 0x%llx, the report's 0x%" PRIx64,
		     c->regs.rip, f->rip);
	cr_assert_eq(c->regs.rip, elf_symbol(elf, "core_inner"), "RIP 0x%llx is not core_inner's",
		     c->regs.rip);
	cr_assert_eq(c->st.pr_cursig, SIGSEGV, "signal %d", c->st.pr_cursig);
	core_check_layout(c, elf);
	proc_result_free(&fr->r);
	free(fr);
}

Test(core, guest_mode_null)
{
	struct core c;
	const char *path;

	crash_case("--faults=guest", NULL, "null", "guest-idt", &c, &path);
	free(c.data);
}

Test(core, vmm_mode_null)
{
	struct core c;
	const char *path;

	crash_case("--faults=vmm", NULL, "null", "vmm", &c, &path);
	free(c.data);
}

Test(core, guest_mode_stack_guard)
{
	struct core c;
	const char *path;

	crash_case("--faults=guest", "stack", "stack-overflow", "guest-idt", &c, &path);
	cr_assert_eq(c.regs.rdi, PW_STACK_GUARD_GPA + 0x80, "core_inner's pointer in RDI");
	free(c.data);
}

Test(core, vmm_mode_stack_guard)
{
	struct core c;
	const char *path;

	crash_case("--faults=vmm", "stack", "stack-overflow", "vmm", &c, &path);
	cr_assert_eq(c.regs.rdi, PW_STACK_GUARD_GPA + 0x80, "core_inner's pointer in RDI");
	free(c.data);
}

/* The text of gdb's output between "==NAME==" and the next "==" marker. */
static char *gdb_section(const char *out, const char *name)
{
	char mark[64];
	const char *p, *end;

	snprintf(mark, sizeof(mark), "==%s==\n", name);
	p = strstr(out, mark);
	cr_assert_not_null(p, "gdb printed no %s:\n%s", mark, out);
	p += strlen(mark);
	end = strstr(p, "==");
	return strndup(p, end ? (size_t)(end - p) : strlen(p));
}

/* Load the core of core_crash under mode into gdb: `bt` must name core_inner, core_outer and
 * main in that order, and the globals must read as the guest left them. */
static void gdb_case(const char *mode)
{
	const char *elf = guest("core_crash.elf");
	struct core c;
	const char *path;
	struct proc_result r;
	char *bt, *g, *n;
	const char *f0, *f1, *f2;

	if (access(GDB, X_OK) != 0)
		cr_skip_test(
		    GDB " is not installed (Debian: apt-get install gdb; scripts/deps.sh test)");
	crash_case(mode, NULL, "null", strcmp(mode, "--faults=vmm") == 0 ? "vmm" : "guest-idt", &c,
		   &path);
	free(c.data);
	const char *argv[] = {GDB,
			      "-nx",
			      "-batch",
			      "-iex",
			      "set debuginfod enabled off",
			      "-ex",
			      "echo ==bt==\\n",
			      "-ex",
			      "bt",
			      "-ex",
			      "echo ==global==\\n",
			      "-ex",
			      "print/x core_global",
			      "-ex",
			      "echo ==counter==\\n",
			      "-ex",
			      "print core_counter",
			      "-ex",
			      "echo ==end==\\n",
			      elf,
			      path,
			      NULL};
	cr_assert_eq(proc_run(argv, 60, &r), 0, "cannot run gdb: %s", r.err);
	cr_assert_eq(r.status, 0, "gdb status %d:\n%s\n%s", r.status, r.out, r.err);
	cr_assert(strstr(r.out, "Program terminated with signal SIGSEGV"), "%s", r.out);
	bt = gdb_section(r.out, "bt");
	f0 = strstr(bt, "#0 ");
	f1 = strstr(bt, "#1 ");
	f2 = strstr(bt, "#2 ");
	cr_assert(f0 && f1 && f2 && f0 < f1 && f1 < f2, "bt has no 3 frames:\n%s\n%s", bt, r.err);
	cr_assert(strstr(f0, " core_inner (") && strstr(f0, " core_inner (") < f1,
		  "frame 0 is not core_inner:\n%s", bt);
	cr_assert(strstr(f1, " core_outer (") && strstr(f1, " core_outer (") < f2,
		  "frame 1 is not core_outer:\n%s", bt);
	cr_assert(strstr(f2, " main ("), "frame 2 is not main:\n%s", bt);
	g = gdb_section(r.out, "global");
	cr_assert(strstr(g, "= 0x1234abcd5678ef00"), "print/x core_global: %s\n%s", g, r.err);
	n = gdb_section(r.out, "counter");
	cr_assert(strstr(n, "= 42"), "print core_counter: %s\n%s", n, r.err);
	free(bt);
	free(g);
	free(n);
	proc_result_free(&r);
}

Test(core, gdb_backtrace_guest_mode)
{
	gdb_case("--faults=guest");
}

Test(core, gdb_backtrace_vmm_mode)
{
	gdb_case("--faults=vmm");
}

/* No crash, no core: the file made at start (truncating what was there) stays empty. */
Test(core, clean_exit_leaves_file_empty)
{
	const char *path = write_temp("old.core", "stale", 5);
	struct proc_result r = vmm_run("-q", "--core", path, guest("hello.bin"), NULL);
	struct stat sb;

	cr_assert_eq(r.status, 0, "status %d: %s", r.status, r.err);
	cr_assert_eq(stat(path, &sb), 0, "the core file is gone");
	cr_assert_eq(sb.st_size, 0, "%lld bytes after a clean exit", (long long)sb.st_size);
	proc_result_free(&r);
}

/* An exit-caught crash: the registers the report prints, the stack dumped. */
Test(core, triple_fault)
{
	const char *path = temp_path("triple.core");
	struct frun *fr = calloc(1, sizeof(*fr));
	struct core c;
	const Elf64_Phdr *stack;

	fr->r = vmm_run("-q", "--json", "-", "--core", path, guest("triple.bin"), NULL);
	frun_parse(fr, "triple.bin");
	cr_assert_eq(fr->r.status, PW_STATUS_CRASH, "status %d: %s", fr->r.status, fr->r.err);
	cr_assert(fr->n >= 1 && strcmp(fr->f[fr->n - 1].kind, "triple-fault") == 0,
		  "no triple fault reported:\n%s", fr->r.out);
	core_load(path, &c);
	cr_assert_eq(c.regs.rip, fr->f[fr->n - 1].rip, "NT_PRSTATUS RIP 0x%llx, report 0x%" PRIx64,
		     c.regs.rip, fr->f[fr->n - 1].rip);
	cr_assert_eq(c.st.pr_cursig, SIGSEGV);
	stack = core_segment(&c, c.regs.rsp);
	cr_assert(stack && (stack->p_flags & PF_W), "the stack at RSP 0x%llx is not dumped",
		  c.regs.rsp);
	cr_assert_null(core_segment(&c, 0), "page 0 dumped");
	free(c.data);
	proc_result_free(&fr->r);
	free(fr);
}

/* A panic is SIGABRT, with the registers of the panic hypercall in pw_panic. */
Test(core, panic_is_sigabrt)
{
	const char *path = temp_path("panic.core");
	struct proc_result r = vmm_run("-q", "--core", path, guest("panic.elf"), NULL);
	struct core c;

	cr_assert_eq(r.status, PW_STATUS_CRASH, "status %d: %s", r.status, r.err);
	core_load(path, &c);
	cr_assert_eq(c.st.pr_cursig, SIGABRT, "signal %d", c.st.pr_cursig);
	cr_assert_not_null(core_segment(&c, c.regs.rip), "RIP 0x%llx not dumped", c.regs.rip);
	free(c.data);
	proc_result_free(&r);
}

/* pr_cursig is the signal Linux would send for the vector, whoever caught the fault. */
Test(core, signal_follows_the_vector)
{
	static const struct {
		const char *guest;
		int sig;
	} cases[] = {{"fault_ud.bin", SIGILL}, {"fault_de.bin", SIGFPE}, {"fault_gp.bin", SIGSEGV}};
	static const char *const modes[] = {"--faults=guest", "--faults=vmm"};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t m = 0; m < 2; m++) {
			const char *path = temp_path("sig.core");
			struct proc_result r =
			    vmm_run("-q", modes[m], "--core", path, guest(cases[i].guest), NULL);
			struct core c;

			cr_assert_eq(r.status, PW_STATUS_CRASH, "%s %s: status %d", cases[i].guest,
				     modes[m], r.status);
			core_load(path, &c);
			cr_assert_eq(c.st.pr_cursig, cases[i].sig, "%s %s: signal %d, want %d",
				     cases[i].guest, modes[m], c.st.pr_cursig, cases[i].sig);
			free(c.data);
			proc_result_free(&r);
		}
	}
}

/* Tables that link back to themselves: the core is cut at its limits (twice RAM) and still
 * holds the identity map that comes first in VA order. The walk's own bounds (65,536 tables,
 * 4096 segments) keep it short; its time is not asserted here (a busy machine made 10 s too
 * little), only that the run ends within the helper's limit. */
Test(core, hostile_tables_are_cut)
{
	const char *path = temp_path("alias.core");
	struct proc_result r = vmm_run("-m", "16M", "--core", path, guest("core_alias.elf"), NULL);
	struct core c;

	cr_assert_eq(r.status, PW_STATUS_CRASH, "status %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "cut at its limits"), "%s", r.err);
	core_load(path, &c);
	cr_assert_leq(c.len, 2 * (16ull << 20) + (1 << 20), "%zu bytes", c.len);
	cr_assert_not_null(core_segment(&c, elf_symbol(guest("core_alias.elf"), "main")));
	cr_assert_null(core_segment(&c, 0), "page 0 dumped");
	free(c.data);
	proc_result_free(&r);
}

/* The file is made before anything else: a bad path costs no run (no KVM needed). */
Test(core_cli, unwritable_path_is_usage_error)
{
	struct proc_result r =
	    vmm_run("--core", "/nonexistent-dir/x.core", repo_file("guest.bin"), NULL);

	cr_assert_eq(r.status, PW_STATUS_USAGE, "status %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "vmm: --core /nonexistent-dir/x.core: "), "%s", r.err);
	proc_result_free(&r);
}
