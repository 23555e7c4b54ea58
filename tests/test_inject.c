/* SPEC parsing (pure: a table of good and bad strings with the exact refusal) and single
 * experiments with ./vmm --inject on the workload guest, each classified. */
#include <criterion/criterion.h>
#include <string.h>

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
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct inject_spec s, t;
		char why[256], text[INJECT_SPEC_MAX];

		cr_assert_eq(inject_parse(good[i], &s, why, sizeof(why)), INJ_OK, "'%s': %s",
			     good[i], why);
		inject_format(&s, text, sizeof(text));
		cr_assert_eq(inject_parse(text, &t, why, sizeof(why)), INJ_OK, "'%s': %s", text, why);
		cr_expect_eq(memcmp(&s, &t, sizeof(s)), 0, "'%s' -> '%s' changed", good[i], text);
	}
	struct inject_spec s;
	char why[64];

	inject_parse("reg:rax:bit=1@time=5", &s, why, sizeof(why));
	cr_expect(!inject_deterministic(&s));
	inject_parse("reg:rax:bit=1@rip=0x10#2", &s, why, sizeof(why));
	cr_expect(inject_deterministic(&s));
	cr_expect_eq(s.hit, 2);
}

/* Run one experiment on the workload guest; returns its JSON line (caller frees). */
static struct proc_result inject(const char *spec)
{
	require_kvm();
	return vmm_run("--inject", spec, guest("workload.elf"), NULL);
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
	struct proc_result r = inject("pte:0x106000:clear-p@checkpoint=1");

	cr_expect_eq(r.status, PW_STATUS_CRASH, "stderr: %s", r.err);
	cr_expect(json_has(r.out, "outcome", "\"detected\""), "%s", r.out);
	cr_expect(json_has(r.out, "tlb_flushed", "true"), "%s", r.out);
	proc_result_free(&r);
}

Test(inject_run, corrupting_the_checksum_data_is_caught_by_the_guest)
{
	struct proc_result r = inject("mem:gpa=0x106000:bit=0@checkpoint=1");

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
