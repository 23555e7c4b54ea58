/* ./vmm: options -> image -> KVM -> guest RAM and layout -> vCPU -> run -> reports.
 * Each stage prints at most one line when it fails and returns the exit status to use; only
 * main decides to exit. The image is read before KVM is opened, so a bad image is reported the
 * same way on machines without KVM. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign.h"
#include "core.h"
#include "count.h"
#include "cpu.h"
#include "disasm.h"
#include "gdb.h"
#include "json.h"
#include "kvm.h"
#include "layout.h"
#include "loader.h"
#include "memory.h"
#include "options.h"
#include "replay.h"
#include "report.h"
#include "run.h"
#include "sandbox.h"
#include "smp.h"
#include "status.h"
#include "steplock.h"
#include "trapstubs.h"

struct vmm {
	struct options o;
	FILE *json; /* opened before the guest runs, so a bad path costs no run */
	uint8_t *file;
	size_t file_len;
	struct image img;
	struct vm vm;
	struct guest_mem mem;
	struct layout layout;
	struct replay_src replay; /* the build's inputs, for a triple fault KVM reset (AMD) */
	struct run run;
	struct count count; /* --count */
	int core_fd;	    /* --core FILE, opened before the sandbox; -1 without */
	struct gdb_stub gdb; /* --gdb */
	struct smp *smp;     /* --cpus N > 1: the other vCPUs */
};

/* Open the --json destination, if any. */
static int vmm_open_json(struct vmm *v)
{
	if (!v->o.json_path)
		return 0;
	if (strcmp(v->o.json_path, "-") == 0) {
		v->json = stdout;
		return 0;
	}
	v->json = fopen(v->o.json_path, "w");
	if (!v->json) {
		fprintf(stderr, "vmm: --json %s: %s\n", v->o.json_path, strerror(errno));
		return PW_STATUS_USAGE;
	}
	return 0;
}

/* Create the --core file now: the sandbox forbids creating files once the guest runs. */
static int vmm_open_core(struct vmm *v)
{
	if (!v->o.core_path)
		return 0;
	v->core_fd = open(v->o.core_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (v->core_fd < 0) {
		fprintf(stderr, "vmm: --core %s: %s\n", v->o.core_path, strerror(errno));
		return PW_STATUS_USAGE;
	}
	return 0;
}

/* After a crash, write the --core file and say so. */
static void vmm_write_core(struct vmm *v)
{
	struct core_info info = {.image = v->o.image};
	enum core_err err;

	if (v->core_fd < 0 || !core_wanted(v->run.stop))
		return;
	err = core_write(v->core_fd, &v->run, &info);
	if (err) {
		fprintf(stderr, "vmm: --core %s: %s%s%s\n", v->o.core_path, core_strerror(err),
			info.detail[0] ? ": " : "", info.detail);
		return;
	}
	run_note(&v->run,
		 "core written to %s: %u segments, %llu bytes (%llu in the file)%s, "
		 "rip 0x%llx from %s",
		 v->o.core_path, info.segments, (unsigned long long)info.bytes,
		 (unsigned long long)info.file_bytes, info.truncated ? ", cut at its limits" : "",
		 (unsigned long long)info.rip, info.regs_from);
}

/* Print an image error as "vmm: FILE: what: detail". */
static int vmm_image_error(const struct vmm *v, const struct image_error *e)
{
	fprintf(stderr, "vmm: %s: %s%s%s\n", v->o.image, image_strerror(e->err),
		e->detail[0] ? ": " : "", e->detail);
	return PW_STATUS_IMAGE;
}

/* Read and validate the image file. */
static int vmm_read_image(struct vmm *v)
{
	struct image_error e = {0};

	if (image_read_file(v->o.image, v->o.mem, &v->file, &v->file_len, &e))
		return vmm_image_error(v, &e);
	if (image_parse(v->file, v->file_len, v->o.mem, &v->img, &e))
		return vmm_image_error(v, &e);
	return 0;
}

static int vmm_open_kvm(struct vmm *v)
{
	struct vm_error e = {0};

	if (vm_open_cpus(&v->vm, v->o.cpus, &e) == VM_OK)
		return 0;
	fprintf(stderr, "vmm: %s\n", e.detail);
	return e.err == VM_EIOCTL ? PW_STATUS_INTERNAL : PW_STATUS_KVM;
}

/* Guest RAM, the layout (tables, GDT, boot info), the image copied in, memslots, vCPU state. */
static int vmm_build_guest(struct vmm *v)
{
	struct layout_opts lo = {
	    .fault_mode = v->o.fault_mode,
	    .protect_pt = v->o.protect_pt,
	    .has_1g = v->vm.has_1g,
	    .maxphyaddr = v->vm.maxphyaddr,
	    .cmdline = v->o.cmdline,
	    .debugger = v->o.gdb != NULL,
	    .ncpus = v->o.cpus,
	};
	struct image_error ie = {0};
	struct vm_error ve = {0};
	enum mem_err me;
	enum layout_err le;

	v->replay = (struct replay_src){.img = &v->img, .lo = lo, .step_lock_fd = -1};
	me = guest_mem_alloc(&v->mem, v->o.mem);
	if (me) {
		fprintf(stderr, "vmm: guest RAM (%llu bytes): %s\n", (unsigned long long)v->o.mem,
			mem_strerror(me));
		return PW_STATUS_INTERNAL;
	}
	le = layout_build(&v->mem, &v->img, &lo, &v->layout);
	if (le) {
		fprintf(stderr, "vmm: %s: cannot lay out the guest: %s\n", v->o.image,
			layout_strerror(le));
		return le == LAYOUT_ERANGE ? PW_STATUS_IMAGE : PW_STATUS_INTERNAL;
	}
	if (image_load(&v->img, &v->mem, &ie))
		return vmm_image_error(v, &ie);
	if (vm_map_ram(&v->vm, &v->mem, v->o.protect_pt, false, &ve) ||
	    cpu_setup(&v->vm, &v->layout, &ve)) {
		fprintf(stderr, "vmm: %s\n", ve.detail);
		return ve.err == VM_ENOCAP ? PW_STATUS_KVM : PW_STATUS_INTERNAL;
	}
	if (v->o.fault_mode == PW_FAULTS_VMM && trapstubs_install(&v->vm, &v->mem) < 0) {
		fprintf(stderr, "vmm: cannot install the VMM's IDT: %s\n", strerror(errno));
		return PW_STATUS_INTERNAL;
	}
	return 0;
}

/* Say why the guest stopped: nothing for exit, a note for halt, the cause (and for crashes
 * the register report) otherwise. */
static void vmm_tell_stop(struct vmm *v)
{
	struct run *r = &v->run;

	if (r->stop == RUN_STOP_EXIT)
		return;
	if (r->stop == RUN_STOP_HALT) {
		run_note(r, "%s", r->msg);
		return;
	}
	fprintf(stderr, "vmm: %s\n", r->msg);
	if (!v->o.quiet)
		report_stop(stderr, r);
}

/* --count: single-step the run from its first instruction (before the sandbox: the platform
 * probe makes a scratch VM). */
static int vmm_count_start(struct vmm *v)
{
	struct vm_error e = {0};
	const char *why;

	switch (count_start(&v->count, &v->run, v->o.count_bps, v->replay.step_lock_fd, &e)) {
	case COUNT_OK:
		break;
	case COUNT_ENOBP:
		fprintf(stderr, "vmm: --count: %s\n", e.detail);
		return PW_STATUS_KVM;
	default:
		fprintf(stderr, "vmm: --count: %s\n", e.detail);
		return PW_STATUS_INTERNAL;
	}
	if (count_inexact(&why))
		fprintf(stderr, "vmm: note: --count may be off here: %s\n", why);
	return 0;
}

/* --count's result line, once the run stopped. */
static void vmm_count_report(struct vmm *v)
{
	struct run *r = &v->run;

	count_finish(&v->count, r);
	r->counted = true;
	r->insns = v->count.insns;
	r->insns_after_cp = r->insns - v->count.cp_insns;
	fprintf(stderr, "vmm: counted %llu guest instructions and %llu VM exits",
		(unsigned long long)r->insns, (unsigned long long)run_guest_exits(r));
	if (r->checkpoints)
		fprintf(stderr, "; after the first checkpoint %llu and %llu",
			(unsigned long long)r->insns_after_cp,
			(unsigned long long)run_exits_after_checkpoint(r));
	fputc('\n', stderr);
}

/* The gdb stub's settings from the command line. */
static struct gdb_config vmm_gdb_config(const struct vmm *v)
{
	return (struct gdb_config){
	    .spec = v->o.gdb,
	    .step_lock_fd = v->replay.step_lock_fd,
	    .any_address = v->o.gdb_any_address,
	    .watch = v->o.gdb_watch,
	    .protect_pt = v->o.protect_pt,
	};
}

/* --gdb: wait for gdb (before the sandbox: the probe makes a scratch VM, accept). */
static int vmm_gdb_open(struct vmm *v)
{
	struct gdb_config gc = vmm_gdb_config(v);
	char msg[256];
	enum gdb_err err = gdb_open(&v->gdb, &gc, v->vm.kvm_fd, false, msg, sizeof(msg));

	if (!err)
		return 0;
	fprintf(stderr, "vmm: %s\n", msg);
	return gdb_status(err);
}

/* --cpus N > 1: the other vCPUs' state, runs and threads, waiting to start (each thread has
 * installed its own seccomp filter). */
static int vmm_smp_start(struct vmm *v)
{
	struct vm_error e = {0};

	v->smp = calloc(1, sizeof(*v->smp));
	if (!v->smp) {
		fputs("vmm: out of memory for the vCPUs\n", stderr);
		return PW_STATUS_INTERNAL;
	}
	v->run.replay = NULL; /* a replay rebuilds one vCPU */
	if (smp_prepare(v->smp, &v->run, &v->vm, &v->mem, &v->layout, &e)) {
		fprintf(stderr, "vmm: %s\n", e.detail);
		return PW_STATUS_INTERNAL;
	}
	if (smp_start(v->smp, !v->o.no_sandbox) < 0) {
		fprintf(stderr, "vmm: cannot start the vCPU threads%s\n",
			v->o.no_sandbox ? "" : " (or install their seccomp filters)");
		return PW_STATUS_INTERNAL;
	}
	return 0;
}

/* Run the guest and report; returns ./vmm's exit status. */
static int vmm_run(struct vmm *v)
{
	struct run_config cfg = {
	    .timeout = v->o.gdb ? 0 : v->o.timeout, /* a person at a prompt has no deadline */
	    .trace = v->o.trace,
	    .quiet = v->o.quiet,
	    .console_fd = STDOUT_FILENO,
	    .log = stderr,
	    .console_limit = v->o.console_limit,
	    .max_exits = v->o.max_exits,
	    .replay_always = v->o.replay_triple_fault,
	};
	enum sandbox_err se;
	int status;

	if (v->o.dump_pt)
		layout_dump_pt(&v->layout, stdout);
	fflush(stdout); /* the guest's console bypasses stdio */
	run_init(&v->run, &v->vm, &v->mem, &v->layout, &cfg);
	v->run.replay = &v->replay;
	v->replay.step_lock_fd = steplock_open(); /* before the sandbox, which forbids open */
	/* The crash report disassembles RIP, and the sandbox forbids loading capstone later. That
	 * costs ~0.5 ms, a third of a boot, so it is paid only when a person reads the report
	 * (stderr is a terminal); -q prints no report, and without the sandbox capstone loads when
	 * needed. */
	if (!v->o.quiet && !v->o.no_sandbox && isatty(STDERR_FILENO))
		disasm_preload();
	if (v->o.count && (status = vmm_count_start(v)))
		return status;
	if (v->o.gdb && (status = vmm_gdb_open(v)))
		return status;
	if (v->o.cpus > 1 && (status = vmm_smp_start(v)))
		return status;
	/* Last thing before the guest runs: every file and KVM object already exists. */
	se = v->o.no_sandbox ? SANDBOX_OK : sandbox_install(&v->vm, v->o.gdb ? v->gdb.fd : -1, v->gdb.listen_fd);
	if (se) {
		fprintf(stderr, "vmm: sandbox: %s\n", sandbox_strerror(se));
		return PW_STATUS_INTERNAL; /* the vCPU threads end in smp_free */
	}
	if (v->smp)
		smp_go(v->smp, &v->run);
	if (!v->o.gdb || gdb_start(&v->gdb, &v->run))
		run_guest(&v->run);
	if (v->smp)
		smp_finish(v->smp);
	if (v->o.gdb)
		gdb_finish(&v->gdb, &v->run);
	if (v->o.count)
		vmm_count_report(v);
	status = run_status(&v->run);
	vmm_tell_stop(v);
	vmm_write_core(v);
	if (v->json && json_write_run(v->json, &v->run, v->o.image, v->o.mem, status) < 0)
		fprintf(stderr, "vmm: --json %s: write failed\n", v->o.json_path);
	return status;
}

static int vmm_main(struct vmm *v)
{
	int status = vmm_open_json(v);

	if (!status)
		status = vmm_open_core(v);
	if (!status)
		status = vmm_read_image(v);
	if (!status)
		status = vmm_open_kvm(v);
	if (!status)
		status = vmm_build_guest(v);
	if (!status)
		status = vmm_run(v);
	if (v->json && v->json != stdout)
		fclose(v->json);
	run_free(&v->run);
	if (v->smp) {
		smp_free(v->smp);
		free(v->smp);
	}
	if (v->replay.step_lock_fd >= 0)
		close(v->replay.step_lock_fd);
	if (v->core_fd >= 0)
		close(v->core_fd);
	vm_close(&v->vm);
	guest_mem_free(&v->mem);
	free(v->file);
	return status;
}

/* ./vmm --inject SPEC IMAGE: one experiment (host/campaign/campaign.c); with --gdb, gdb
 * connects at the injection point. */
static int vmm_inject(struct vmm *v)
{
	struct gdb_config gc = vmm_gdb_config(v); /* the worker sets the step lock's fd */
	struct campaign_opts co = {
	    .gdb = v->o.gdb ? &v->gdb : NULL,
	    .gdb_cfg = &gc,
	    .image = v->o.image,
	    .mem = v->o.mem,
	    .runs = 1,
	    .jobs = 1,
	    .spec = v->o.inject,
	    .max_exits = v->o.max_exits,
	    .no_sandbox = v->o.no_sandbox,
	    .fault_mode = v->o.fault_mode,
	    .protect_pt = v->o.protect_pt,
	    .ncpus = v->o.cpus,
	};

	return campaign_inject_one(&co);
}

/* ./vmm campaign [options] IMAGE, or ./vmm campaign --summarize FILE... */
static int vmm_campaign(int argc, char **argv)
{
	struct campaign_opts co;
	char msg[256];
	bool summarize;
	int first;

	if (campaign_parse(argc, argv, &co, &summarize, &first, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "vmm: %s\n", msg);
		return PW_STATUS_USAGE;
	}
	if (summarize)
		return campaign_summarize(argc - first, argv + first);
	return campaign_main(&co);
}

int main(int argc, char **argv)
{
	struct opt_error e;
	struct vmm *v = calloc(1, sizeof(*v)); /* ~30 KiB: keep it off the stack */
	int status = 0;

	if (!v) {
		fputs("vmm: out of memory\n", stderr);
		return PW_STATUS_INTERNAL;
	}
	v->vm.kvm_fd = v->vm.vm_fd = v->vm.vcpu_fd = -1;
	v->replay.step_lock_fd = -1;
	v->core_fd = -1;
	v->gdb.fd = v->gdb.listen_fd = -1;
	if (argc > 1 && strcmp(argv[1], "campaign") == 0) {
		free(v);
		return vmm_campaign(argc - 1, argv + 1);
	}
	if (options_parse(argc, argv, &v->o, &e)) {
		fprintf(stderr, "vmm: %s\ntry '%s --help'\n", e.msg, argv[0]);
		status = PW_STATUS_USAGE;
	} else if (v->o.help) {
		options_usage(stdout, argv[0]);
	} else if (v->o.version) {
		printf("vmm (pagewarden) %s\n", PW_VERSION);
	} else if (v->o.inject) {
		status = vmm_inject(v);
	} else {
		status = vmm_main(v);
	}
	free(v);
	return status;
}
