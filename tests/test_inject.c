/* SPEC parsing (pure: a table of good and bad strings with the exact refusal) and single
 * experiments with ./vmm --inject, each classified: on the workload guest, and on
 * inject_target, whose labelled instructions make every model and trigger's effect exact. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf_symbol.h"
#include "inject.h"
#include "run_helper.h"
#include "status.h"

struct bad_spec {
	const char *spec;
	enum inject_err err;
	const char *why;
};

static const struct bad_spec bad_specs[] = {
    {"", INJ_ESYNTAX, "empty SPEC (want MODEL:TARGET[:ARGS]@TRIGGER)"},
    {"reg:rax:bit=1", INJ_ESYNTAX, "'reg:rax:bit=1': no '@TRIGGER'"},
    {"reg:rax:bit=1@hc=1@hc=2", INJ_ESYNTAX, "'reg:rax:bit=1@hc=1@hc=2': more than one '@'"},
    {"foo:1@hc=1", INJ_ESYNTAX, "model 'foo': unknown (pte, mem, reg, exc, skip)"},
    {"reg:rzz:bit=1@hc=1", INJ_ESYNTAX,
     "reg: 'rzz': unknown register (rax..r15, rip, rflags, cr0, cr3, cr4)"},
    {"reg:rax:bit=64@hc=1", INJ_ERANGE, "reg: 'bit=64': bit is 0..63"},
    {"reg:rax:bite=1@hc=1", INJ_ESYNTAX, "reg: 'bite=1': want bit=N"},
    {"reg:rax:bit=1@hc=0", INJ_ERANGE, "trigger hc: counts from 1"},
    {"reg:rax:bit=1@when=3", INJ_ESYNTAX,
     "trigger 'when': unknown (insn, rip, hc, checkpoint, time)"},
    {"reg:rax:bit=1@hc=1#2", INJ_ESYNTAX, "trigger hc: '#K' only goes with rip="},
    {"reg:rax:bit=1@rip=0x100#0", INJ_ESYNTAX, "trigger rip: hit count '0' is not a number >= 1"},
    {"reg:rax:bit=1@insn=x", INJ_ESYNTAX, "trigger insn: 'x' is not a number"},
    {"mem:gpa=0x1000@hc=1", INJ_ESYNTAX, "mem: want mem:gpa=A|gva=A:bit=N[:burst=K]"},
    {"mem:gpa=0x1000:bit=1:burst=0@hc=1", INJ_ERANGE, "mem: 'burst=0': burst is 1..64"},
    {"pte:0x1000@hc=1", INJ_ESYNTAX,
     "pte: want pte:VA[:level=L]:ACTION[:noflush], ACTION one of clear-p, clear-w, set-nx, "
     "toggle-u, flip=N, frame=PA"},
    {"pte:0x1000:level=5:clear-p@hc=1", INJ_ERANGE, "pte: 'level=5': level is 1..4"},
    {"pte:0x1000:frame=0x123:x@hc=1", INJ_ERANGE,
     "pte: 'frame=0x123': frame is a 4K-aligned physical address"},
    {"pte:0x1000:noflush@hc=1", INJ_ESYNTAX, "pte: no action given"},
    {"exc:2@hc=1", INJ_ERANGE, "exc: vector 2 is not an exception (0..21, 29, 30; not 2, 15)"},
    {"exc:6:err=1@hc=1", INJ_ESYNTAX, "exc: vector 6 pushes no error code"},
    {"exc:13:cr2=0x10@hc=1", INJ_ESYNTAX, "exc: cr2= only goes with vector 14 (#PF)"},
    {"skip:1@hc=1", INJ_ESYNTAX, "skip: takes no arguments"},
    {"reg::bit=1@hc=1", INJ_ESYNTAX, "'reg::bit=1@hc=1': empty field 2"},
    {"reg:rax:bit=1@hc=1:cpu=64", INJ_ERANGE, "trigger '1:cpu=64': cpu 64 is not 0..63"},
    {"reg:rax:bit=1@hc=1:core=2", INJ_ESYNTAX,
     "trigger '1:core=2': after ':' want cpu=K (the vCPU, 0..63)"},
    {"reg:rax:bit=1@hc=1:cpu=x", INJ_ESYNTAX,
     "trigger '1:cpu=x': after ':' want cpu=K (the vCPU, 0..63)"},
};

Test(inject_parse, bad_specs_are_refused_with_the_bad_part_named)
{
	for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++) {
		struct inject_spec s;
		char why[256];
		enum inject_err err = inject_parse(bad_specs[i].spec, &s, why, sizeof(why));

		cr_expect_eq(err, bad_specs[i].err, "'%s': err %d, want %d (%s)", bad_specs[i].spec,
			     err, bad_specs[i].err, why);
		cr_expect_str_eq(why, bad_specs[i].why, "'%s'", bad_specs[i].spec);
	}
}

Test(inject_parse, good_specs_round_trip_through_inject_format)
{
	static const char *const good[] = {
	    "pte:0x106000:clear-p@checkpoint=1",
	    "pte:0x106000:level=2:set-nx:noflush@hc=2",
	    "pte:0x106000:flip=63@insn=10",
	    "pte:0x106000:frame=0x200000@rip=0x1000db#3",
	    "mem:gpa=0x106000:bit=7@insn=0",
	    "mem:gva=0x106000:bit=3:burst=5@time=2",
	    "reg:r15:bit=63@checkpoint=1",
	    "reg:cr0:bit=16@hc=1",
	    "exc:14:err=0x2:cr2=0xdead000@checkpoint=1",
	    "exc:0@hc=1",
	    "skip@rip=0x100058",
	    "reg:rcx:bit=0@rip=0x1000cc#2:cpu=2",
	    "exc:14:err=0x0:cr2=0x5000@hc=1:cpu=63",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct inject_spec s, t;
		char why[256], text[INJECT_SPEC_MAX];

		cr_assert_eq(inject_parse(good[i], &s, why, sizeof(why)), INJ_OK, "'%s': %s",
			     good[i], why);
		inject_format(&s, text, sizeof(text));
		cr_assert_eq(inject_parse(text, &t, why, sizeof(why)), INJ_OK, "'%s': %s", text,
			     why);
		cr_expect_eq(memcmp(&s, &t, sizeof(s)), 0, "'%s' -> '%s' changed", good[i], text);
	}
	struct inject_spec s;
	char why[64];

	inject_parse("reg:rax:bit=1@time=5", &s, why, sizeof(why));
	cr_expect(!inject_deterministic(&s));
	inject_parse("reg:rax:bit=1@rip=0x10#2", &s, why, sizeof(why));
	cr_expect(inject_deterministic(&s));
	cr_expect_eq(s.hit, 2);
	cr_expect_eq(s.cpu, 0);
	cr_assert_eq(inject_parse("reg:rax:bit=1@rip=0x10#2:cpu=3", &s, why, sizeof(why)), INJ_OK);
	cr_expect_eq(s.cpu, 3);
	cr_expect_eq(s.hit, 2);
	cr_expect_eq(s.when, 0x10);
	/* cpu=0 is the default, and the canonical text leaves it out */
	cr_assert_eq(inject_parse("skip@hc=4:cpu=0", &s, why, sizeof(why)), INJ_OK);
	inject_format(&s, why, sizeof(why));
	cr_expect_str_eq(why, "skip@hc=4");
}

/* Run one experiment on the workload guest; returns its JSON line (caller frees). */
static struct proc_result inject(const char *spec)
{
	require_kvm();
	return vmm_run("--inject", spec, guest("workload.elf"), NULL);
}

/* Where the workload's checksummed data lives (its page: the second pass reads it). */
static uint64_t workload_data(void)
{
	return elf_symbol(guest("workload.elf"), "workload_data");
}

Test(inject_run, flip_in_an_unused_register_is_benign)
{
	struct proc_result r = inject("reg:r15:bit=3@checkpoint=1");

	cr_expect_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect(json_has(r.out, "outcome", "\"benign\""), "%s", r.out);
	cr_expect(json_has(r.out, "applied", "true"), "%s", r.out);
	proc_result_free(&r);
}

Test(inject_run, clearing_p_on_the_data_page_is_detected)
{
	/* workload_data lives in the image's data page; the second pass reads it. */
	char spec[96];
	struct proc_result r;

	snprintf(spec, sizeof(spec), "pte:0x%llx:clear-p@checkpoint=1",
		 (unsigned long long)(workload_data() & ~0xfffull));
	r = inject(spec);

	cr_expect_eq(r.status, PW_STATUS_CRASH, "stderr: %s", r.err);
	cr_expect(json_has(r.out, "outcome", "\"detected\""), "%s", r.out);
	cr_expect(json_has(r.out, "tlb_flushed", "true"), "%s", r.out);
	proc_result_free(&r);
}

Test(inject_run, corrupting_the_checksum_data_is_caught_by_the_guest)
{
	char spec[96];
	struct proc_result r;

	snprintf(spec, sizeof(spec), "mem:gpa=0x%llx:bit=0@checkpoint=1",
		 (unsigned long long)workload_data());
	r = inject(spec);

	cr_expect(json_has(r.out, "outcome", "\"detected\""), "%s", r.out);
	cr_expect(json_has(r.out, "stop", "\"panic\""), "%s", r.out);
	proc_result_free(&r);
}

Test(inject_run, an_unreached_trigger_replays_the_golden_run)
{
	/* Two resets in (golden, trace), the run must still match the golden one exactly. */
	struct proc_result r = inject("reg:rax:bit=1@checkpoint=9");

	cr_expect(json_has(r.out, "outcome", "\"benign\""), "%s", r.out);
	cr_expect(json_has(r.out, "applied", "false"), "%s", r.out);
	cr_expect(json_has(r.out, "exits", "2"), "%s", r.out);
	proc_result_free(&r);
}

Test(inject_run, bad_spec_is_a_usage_error)
{
	struct proc_result r = vmm_run("--inject", "reg:rax@hc=1", repo_file("guest.bin"), NULL);

	cr_expect_eq(r.status, PW_STATUS_USAGE);
	cr_expect(strstr(r.err, "vmm: --inject: reg: want reg:NAME:bit=N") != NULL, "%s", r.err);
	proc_result_free(&r);
}

/* KVM_TRANSLATE and a table walk ignore bits 63:48; a non-canonical target must be refused, not
 * applied to the page of its low 48 bits (the checksum data here, which would be "detected"). */
Test(inject_run, non_canonical_targets_are_refused)
{
	const char *const specs[] = {"mem:gva=0x8000000000106000:bit=0@checkpoint=1",
				     "pte:0x8000000000106000:clear-p@checkpoint=1"};

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		struct proc_result r = inject(specs[i]);

		cr_expect(json_has(r.out, "outcome", "\"vmm-error\""), "%s: %s", specs[i], r.out);
		cr_expect(strstr(r.out, "0x8000000000106000 is not canonical"), "%s", r.out);
		proc_result_free(&r);
	}
}

/* --max-exits holds in the experiment: the guest's fault report is its third exit. */
Test(inject_run, max_exits_stops_the_experiment)
{
	struct proc_result r;

	require_kvm();
	r = vmm_run("--max-exits", "2", "--inject", "exc:14:cr2=0x10521b@checkpoint=1",
		    guest("workload.elf"), NULL);
	cr_expect_eq(r.status, PW_STATUS_LIMIT, "stderr: %s", r.err);
	cr_expect(json_has(r.out, "stop", "\"limit\""), "%s", r.out);
	cr_expect(json_has(r.out, "outcome", "\"hang\""), "%s", r.out);
	cr_expect(json_has(r.out, "exits", "3"), "%s", r.out);
	proc_result_free(&r);
}

/* ... and in the golden run, which then cannot serve as the reference. */
Test(inject_run, golden_run_over_max_exits_is_refused)
{
	struct proc_result r;

	require_kvm();
	r = vmm_run("--max-exits", "1", "--inject", "reg:r15:bit=3@checkpoint=1",
		    guest("workload.elf"), NULL);
	cr_expect_eq(r.status, PW_STATUS_LIMIT, "stderr: %s", r.err);
	cr_expect(
	    strstr(r.err, "vmm: --inject: golden run stopped (limit): exit budget exhausted") !=
		NULL,
	    "%s", r.err);
	cr_expect_str_eq(r.out, "");
	proc_result_free(&r);
}

/* ---- every model and trigger, aimed at inject_target's labels ---------------------------- */

/* Address of inject_target's label. */
static uint64_t target(const char *label)
{
	return elf_symbol(guest("inject_target.elf"), label);
}

/* ./vmm --inject SPEC inject_target.elf, SPEC from fmt; the caller frees. */
__attribute__((format(printf, 1, 2))) static struct proc_result inject_target(const char *fmt, ...)
{
	char spec[INJECT_SPEC_MAX];
	va_list ap;

	require_kvm();
	va_start(ap, fmt);
	vsnprintf(spec, sizeof(spec), fmt, ap);
	va_end(ap);
	return vmm_run("--inject", spec, guest("inject_target.elf"), NULL);
}

/* The number (decimal or a "0x..." string) of "key" in the JSON line. */
static uint64_t jnum(const char *json, const char *key)
{
	const char *v = json_value(json, key);

	cr_assert_not_null(v, "no \"%s\" in %s", key, json);
	return strtoull(*v == '"' ? v + 1 : v, NULL, 0);
}

/* The "fault" object of the line, which must be there (not null). */
static const char *jfault(const char *json)
{
	const char *f = json_value(json, "fault");

	cr_assert(f && *f == '{', "no fault object in %s", json);
	return f;
}

Test(inject_exc, page_fault_reaches_the_guest_with_its_cr2_and_error_code)
{
	uint64_t at = target("it_add2");
	struct proc_result r =
	    inject_target("exc:14:err=0x3:cr2=0x123456789000@rip=0x%" PRIx64, at);
	const char *f = jfault(r.out);

	cr_expect_eq(r.status, PW_STATUS_CRASH, "stderr: %s", r.err);
	cr_expect(json_has(r.out, "outcome", "\"detected\""), "%s", r.out);
	cr_expect(json_has(r.out, "stop", "\"fault\""), "%s", r.out);
	cr_expect_eq(jnum(f, "vector"), 14, "%s", r.out);
	cr_expect_eq(jnum(f, "gva"), 0x123456789000ull, "%s", r.out);
	cr_expect_eq(jnum(f, "error_code"), 0x3, "%s", r.out);
	cr_expect_eq(jnum(f, "rip"), at, "%s", r.out);
	cr_expect(json_has(f, "caught_by", "\"guest-idt\""), "%s", r.out);
	proc_result_free(&r);
}

Test(inject_exc, invalid_opcode_has_no_error_code_and_no_cr2)
{
	uint64_t at = target("it_shl1");
	struct proc_result r = inject_target("exc:6@rip=0x%" PRIx64, at);
	const char *f = jfault(r.out);

	cr_expect(json_has(r.out, "outcome", "\"detected\""), "%s", r.out);
	cr_expect_eq(jnum(f, "vector"), 6, "%s", r.out);
	cr_expect_eq(jnum(f, "error_code"), 0, "%s", r.out);
	cr_expect_eq(jnum(f, "gva"), 0, "%s", r.out);
	cr_expect_eq(jnum(f, "rip"), at, "%s", r.out);
	cr_expect(strstr(r.out, "#UD (vector 6)") != NULL, "%s", r.out);
	proc_result_free(&r);
}

Test(inject_exc, general_protection_carries_its_error_code)
{
	uint64_t at = target("it_add3");
	struct proc_result r = inject_target("exc:13:err=0x18@rip=0x%" PRIx64, at);
	const char *f = jfault(r.out);

	cr_expect(json_has(r.out, "outcome", "\"detected\""), "%s", r.out);
	cr_expect_eq(jnum(f, "vector"), 13, "%s", r.out);
	cr_expect_eq(jnum(f, "error_code"), 0x18, "%s", r.out);
	cr_expect_eq(jnum(f, "rip"), at, "%s", r.out);
	proc_result_free(&r);
}

/* Skipping one instruction at a breakpoint: the sum misses exactly that step. */
Test(inject_skip, skipped_instruction_changes_the_result_exactly)
{
	static const struct {
		const char *label;
		int exit_code;
	} cases[] = {{"it_add2", 5}, {"it_shl2", 4}, {"it_add3", 6}};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t at = target(cases[i].label);
		struct proc_result r = inject_target("skip@rip=0x%" PRIx64, at);

		cr_expect_eq(r.status, cases[i].exit_code, "%s: %s %s", cases[i].label, r.out,
			     r.err);
		cr_expect(json_has(r.out, "outcome", "\"sdc\""), "%s", r.out);
		cr_expect(json_has(r.out, "applied", "true"), "%s", r.out);
		cr_expect_eq(jnum(r.out, "rip"), at, "%s", r.out);
		proc_result_free(&r);
	}
}

/* @insn=N fires after exactly N instructions from the snapshot point, which inject_target puts
 * right before its labelled block; @rip at the same label must give the same result. */
Test(inject_insn, fires_at_exactly_instruction_n)
{
	static const struct {
		const char *label;
		int exit_code;
	} steps[] = {{"it_snap", 7}, {"it_add1", 11}, {"it_shl1", 3},
		     {"it_add2", 9}, {"it_shl2", 5},  {"it_add3", 8}};

	for (int n = 0; n < (int)(sizeof(steps) / sizeof(steps[0])); n++) {
		struct proc_result i = inject_target("reg:rax:bit=0@insn=%d", n);
		struct proc_result b =
		    inject_target("reg:rax:bit=0@rip=0x%" PRIx64, target(steps[n].label));

		cr_expect_eq(jnum(i.out, "rip"), target(steps[n].label), "@insn=%d: %s", n, i.out);
		cr_expect_eq(i.status, steps[n].exit_code, "@insn=%d: %s", n, i.out);
		cr_expect(json_has(i.out, "deterministic", "true"), "%s", i.out);
		cr_expect(json_has(i.out, "applied", "true"), "%s", i.out);
		cr_expect_str_eq(strstr(i.out, "\"image\""), strstr(b.out, "\"image\""),
				 "@insn=%d and @rip=%s differ", n, steps[n].label);
		proc_result_free(&i);
		proc_result_free(&b);
	}
}

/* @rip=ADDR#K fires at the K-th arrival, not an earlier one: it_loop goes round 5 times, and
 * flipping bit 0 of RCX there gives each K its own exit code; a 6th arrival never comes. */
Test(inject_rip, fires_at_exactly_the_kth_arrival)
{
	static const int exit_code[] = {0, 2, 12, 4, 10};
	uint64_t at = target("it_loop");

	for (int k = 1; k <= 4; k++) {
		struct proc_result r = inject_target("reg:rcx:bit=0@rip=0x%" PRIx64 "#%d", at, k);

		cr_expect_eq(r.status, exit_code[k], "#%d: %s", k, r.out);
		cr_expect(json_has(r.out, "applied", "true"), "#%d: %s", k, r.out);
		cr_expect_eq(jnum(r.out, "rip"), at, "#%d: %s", k, r.out);
		proc_result_free(&r);
	}
	struct proc_result never = inject_target("reg:rcx:bit=0@rip=0x%" PRIx64 "#6", at);

	cr_expect_eq(never.status, 7, "%s", never.out);
	cr_expect(json_has(never.out, "applied", "false"), "%s", never.out);
	proc_result_free(&never);
}

/* Single-step exits are the VMM's: an @insn trigger past the exit budget still fires. */
Test(inject_insn, steps_do_not_count_as_guest_exits)
{
	struct proc_result r = inject("reg:r15:bit=0@insn=100"); /* 327 (gcc), 133 (clang) */

	cr_expect(json_has(r.out, "outcome", "\"benign\""), "%s", r.out);
	cr_expect(json_has(r.out, "applied", "true"), "%s", r.out);
	cr_expect(json_has(r.out, "exits", "2"), "%s", r.out);
	proc_result_free(&r);
}

Test(inject_time, is_marked_not_deterministic)
{
	struct proc_result now = inject_target("reg:r15:bit=0@time=0");
	struct proc_result never = inject_target("reg:r15:bit=0@time=3600000");

	cr_expect(json_has(now.out, "deterministic", "false"), "%s", now.out);
	cr_expect(json_has(now.out, "applied", "true"), "%s", now.out);
	cr_expect(json_has(now.out, "outcome", "\"benign\""), "%s", now.out);
	cr_expect(json_has(never.out, "deterministic", "false"), "%s", never.out);
	cr_expect(json_has(never.out, "applied", "false"), "%s", never.out);
	cr_expect(json_has(never.out, "detail", "\"trigger never reached\""), "%s", never.out);
	proc_result_free(&now);
	proc_result_free(&never);
}

/* A bad SPEC for these models and triggers: status 64 and one line naming the bad part. */
Test(inject_run, bad_exc_skip_time_insn_specs_are_usage_errors)
{
	static const struct {
		const char *spec, *line;
	} bad[] = {
	    {"exc:32@hc=1", "exc: vector 32 is not an exception (0..21, 29, 30; not 2, 15)"},
	    {"exc:14:err=0x100000000@hc=1", "exc: 'err=0x100000000': 32-bit error code"},
	    {"exc:14:cr2=zz@hc=1", "exc: 'cr2=zz': bad address"},
	    {"exc:14:tag=1@hc=1", "exc: 'tag=1': unknown (err=E, cr2=A)"},
	    {"exc@hc=1", "exc: want exc:VECTOR[:err=E][:cr2=A]"},
	    {"skip:rax@rip=0x100000", "skip: takes no arguments"},
	    {"skip@insn=", "trigger insn: '' is not a number"},
	    {"skip@insn=-1", "trigger insn: '-1' is not a number"},
	    {"skip@insn=5#2", "trigger insn: '#K' only goes with rip="},
	    {"reg:rax:bit=1@time=soon", "trigger time: 'soon' is not a number"},
	    {"reg:rax:bit=1@time", "trigger 'time': want insn=N, rip=ADDR[#K], hc=K, checkpoint=K "
				   "or time=MS"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[256];
		struct proc_result r =
		    vmm_run("--inject", bad[i].spec, guest("inject_target.elf"), NULL);

		snprintf(want, sizeof(want), "vmm: --inject: %s\n", bad[i].line);
		cr_expect_eq(r.status, PW_STATUS_USAGE, "'%s': status %d", bad[i].spec, r.status);
		cr_expect_str_eq(r.err, want, "'%s'", bad[i].spec);
		cr_expect_str_eq(r.out, "", "'%s'", bad[i].spec);
		proc_result_free(&r);
	}
}

/* --protect-pt holds in the experiment: RSP bent into the pool makes it_push write the
 * read-only slot, an MMIO exit the VMM names; without it the store lands in the pool. */
Test(inject_run, protect_pt_holds_in_the_experiment)
{
	uint64_t at = target("it_push");
	char spec[INJECT_SPEC_MAX];
	struct proc_result pt, plain;

	require_kvm();
	skip_on_quirk(QUIRK_WALK_WRITES_TABLES);
	snprintf(spec, sizeof(spec), "reg:rsp:bit=16@rip=0x%" PRIx64, at);
	pt = vmm_run("--protect-pt", "--inject", spec, guest("inject_target.elf"), NULL);
	plain = vmm_run("--inject", spec, guest("inject_target.elf"), NULL);
	cr_expect(json_has(pt.out, "protect_pt", "true"), "%s", pt.out);
	cr_expect(json_has(pt.out, "stop", "\"mmio\""), "%s", pt.out);
	cr_expect(json_has(jfault(pt.out), "kind", "\"ept-readonly\""), "%s", pt.out);
	cr_expect(strstr(pt.out, "region page-tables") != NULL, "%s", pt.out);
	cr_expect(json_has(plain.out, "protect_pt", "false"), "%s", plain.out);
	cr_expect(!json_has(plain.out, "stop", "\"mmio\""), "%s", plain.out);
	proc_result_free(&pt);
	proc_result_free(&plain);
}

/* --faults=vmm holds in the experiment: an injected #GP reaches the VMM's stub. */
Test(inject_run, faults_vmm_holds_in_the_experiment)
{
	struct proc_result r = inject_target("reg:r15:bit=0@insn=0"); /* just to resolve paths */
	char spec[INJECT_SPEC_MAX];
	const char *f;

	proc_result_free(&r);
	snprintf(spec, sizeof(spec), "exc:13:err=0x18@rip=0x%" PRIx64, target("it_add2"));
	r = vmm_run("--faults=vmm", "--inject", spec, guest("inject_target.elf"), NULL);
	f = jfault(r.out);
	cr_expect(json_has(r.out, "faults", "\"vmm\""), "%s", r.out);
	cr_expect(json_has(r.out, "stop", "\"trap\""), "%s", r.out);
	cr_expect(json_has(f, "caught_by", "\"vmm\""), "%s", r.out);
	cr_expect_eq(jnum(f, "vector"), 13, "%s", r.out);
	cr_expect_eq(jnum(f, "error_code"), 0x18, "%s", r.out);
	cr_expect_eq(jnum(f, "rip"), target("it_add2"), "%s", r.out);
	proc_result_free(&r);
}
