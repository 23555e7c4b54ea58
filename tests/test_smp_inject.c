/* --cpus N fault injection and campaigns (docs/smp.md): a SPEC's cpu=K names the vCPU whose
 * trigger it is and whose registers it changes; every vCPU is reset for each experiment; and
 * the experiments on the vCPUs whose path does not depend on timing give the same outcomes in
 * every campaign with the same seed. smp_inject's exit code says which vCPU's result changed.
 * Needs KVM. */
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf_symbol.h"
#include "run_helper.h"
#include "status.h"

static void kvm_init(void)
{
	require_kvm();
}

TestSuite(smp_inject, .init = kvm_init, .timeout = 240);

#define GOLDEN_EXIT 170 /* sum of (K + 1) * (15 + K) over 4 CPUs */

/* ./vmm --cpus 4 --inject SPEC smp_inject.elf, SPEC from fmt and si_loop's address. */
static struct proc_result inject_at_loop(const char *fmt, const char *extra)
{
	char spec[128];

	snprintf(spec, sizeof(spec), fmt, elf_symbol(guest("smp_inject.elf"), "si_loop"));
	return vmm_run("--cpus", "4", "--inject", spec, extra ? extra : "--faults=guest",
		       guest("smp_inject.elf"), NULL);
}

/* The same flip at each vCPU's 2nd arrival at si_loop changes that vCPU's result alone. */
Test(smp_inject, a_flip_changes_the_named_cpus_result)
{
	for (unsigned k = 0; k < 4; k++) {
		char fmt[64];
		struct proc_result r;

		snprintf(fmt, sizeof(fmt), "reg:rcx:bit=0@rip=0x%%" PRIx64 "#2:cpu=%u", k);
		r = inject_at_loop(fmt, NULL);
		cr_assert_eq(r.status, GOLDEN_EXIT + 5 * (int)(k + 1), "cpu %u: %d\n%s%s", k, r.status,
			     r.out, r.err);
		cr_assert(json_has(r.out, "outcome", "\"sdc\""), "%s", r.out);
		cr_assert(json_has(r.out, "applied", "true"), "%s", r.out);
		cr_assert(json_has(r.out, "cpus", "4"), "%s", r.out);
		cr_assert(strstr(r.out, k ? ":cpu=" : "#2\""), "%s", r.out);
		proc_result_free(&r);
	}
}

/* A #PF injected on CPU 3 is caught by CPU 3's handler and reported as CPU 3's, in both fault
 * modes. */
Test(smp_inject, an_exception_is_reported_on_the_named_cpu)
{
	for (int vmm = 0; vmm < 2; vmm++) {
		struct proc_result r =
		    inject_at_loop("exc:14:err=0x2:cr2=0x5000@rip=0x%" PRIx64 ":cpu=3",
				   vmm ? "--faults=vmm" : "--faults=guest");

		cr_assert_eq(r.status, PW_STATUS_CRASH, "%d\n%s%s", r.status, r.out, r.err);
		cr_assert(json_has(r.out, "outcome", "\"detected\""), "%s", r.out);
		cr_assert(strstr(r.out, "\"gva\":\"0x5000\""), "%s", r.out);
		cr_assert(strstr(r.out, "\"error_code\":\"0x2\""), "%s", r.out);
		cr_assert(strstr(r.out, "\"cpu\":3}"), "%s", r.out);
		cr_assert(strstr(r.out, "(CPU 3)"), "%s", r.out);
		proc_result_free(&r);
	}
}

/* Bit 30 of RCX at CPU 2's 2nd arrival sends its loop round a billion times: the hang budget,
 * which counts every vCPU's CPU time from the injection on, ends it as a hang. */
Test(smp_inject, a_hang_on_another_cpu_is_a_hang)
{
	struct proc_result r = inject_at_loop("reg:rcx:bit=30@rip=0x%" PRIx64 "#2:cpu=2", NULL);

	cr_assert_eq(r.status, PW_STATUS_TIMEOUT, "%d\n%s%s", r.status, r.out, r.err);
	cr_assert(json_has(r.out, "outcome", "\"hang\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"detail\":\"hang budget exhausted\""), "%s", r.out);
	proc_result_free(&r);
}

/* A vCPU the guest does not have is refused. */
Test(smp_inject, bad_cpu_fields_are_usage_errors)
{
	struct proc_result r = inject_at_loop("skip@rip=0x%" PRIx64 ":cpu=4", NULL);

	cr_assert_eq(r.status, PW_STATUS_USAGE, "%d %s", r.status, r.err);
	cr_assert(strstr(r.err, "names vCPU 4, but the guest has 4 (--cpus)"), "%s", r.err);
	proc_result_free(&r);
	r = vmm_run("--inject", "skip@hc=1:cpu=1", guest("smp_inject.elf"), NULL);
	cr_assert_eq(r.status, PW_STATUS_USAGE, "%d %s", r.status, r.err);
	cr_assert(strstr(r.err, "names vCPU 1, but the guest has 1 (--cpus)"), "%s", r.err);
	proc_result_free(&r);
}

/* @insn on vCPU 1, which the IPI that hands it work wakes while it is single-stepped: the flip of
 * an unused register is benign (exit 47 with 2 CPUs), or, where KVM pushes the step's trap flag
 * on the interrupt's frame (PVM), the guest's #DB is the VMM's error, never "detected". */
Test(smp_inject, insn_on_another_cpu_is_benign_or_says_why)
{
	struct proc_result r = vmm_run("--cpus", "2", "--inject", "reg:r15:bit=0@insn=3:cpu=1",
				       guest("smp_inject.elf"), NULL);

	if (json_has(r.out, "outcome", "\"vmm-error\"")) {
		cr_assert_eq(r.status, PW_STATUS_INTERNAL, "%d\n%s%s", r.status, r.out, r.err);
		cr_assert(strstr(r.out, "vCPU 1's single steps leaked TF to the guest: #DB at RIP"),
			  "%s", r.out);
	} else {
		cr_assert_eq(r.status, 47, "%d\n%s%s", r.status, r.out, r.err);
		cr_assert(json_has(r.out, "outcome", "\"benign\""), "%s", r.out);
	}
	proc_result_free(&r);
}

/* Run `./vmm campaign --cpus 4 --runs 40 --seed 7 EXTRA... smp_inject.elf` into path (extra:
 * at most 6, NULL-terminated). */
static void campaign(const char *path, const char *const *extra)
{
	const char *argv[20] = {repo_file("vmm"), "campaign", "--cpus", "4", "--runs", "40",
				"--seed", "7", "--no-progress", "--out", path};
	unsigned n = 11;
	struct proc_result r;

	for (unsigned i = 0; extra[i]; i++) {
		cr_assert_lt(i, 6);
		argv[n++] = extra[i];
	}
	argv[n++] = guest("smp_inject.elf");
	argv[n] = NULL;

	cr_assert_eq(proc_run(argv, 200, &r), 0, "%s", r.err);
	cr_assert_eq(r.status, 0, "%d\n%s%s", r.status, r.out, r.err);
	cr_assert(strstr(r.err, "golden run: exit, exit code 170,"), "%s", r.err);
	proc_result_free(&r);
}

/* Experiment i's "spec" and "outcome" and "exit_code" in a campaign's JSONL: its line from
 * "spec" to "exit_code" without the fields between that hold no result (image, mem...). False
 * if the run was the platform's vmm-error: single steps leaked the trap flag (docs/platforms.md),
 * which depends on when the IPI came. */
static bool experiment(const char *jsonl, int i, char *out, size_t n)
{
	char key[32];
	const char *p = jsonl, *spec, *outcome, *end, *eol;

	snprintf(key, sizeof(key), "{\"i\":%d,", i);
	p = strstr(jsonl, key);
	cr_assert(p, "experiment %d missing", i);
	spec = strstr(p, "\"spec\":");
	outcome = strstr(p, "\"outcome\":");
	end = strstr(p, ",\"exits\":");
	cr_assert(spec && outcome && end && outcome < end);
	snprintf(out, n, "%.*s %.*s", (int)(strchr(spec + 8, '"') - spec + 1), spec,
		 (int)(end - outcome), outcome);
	eol = strchr(p, '\n');
	return !(strstr(out, "\"vmm-error\"") && strstr(p, "single steps leaked TF") &&
		 (!eol || strstr(p, "single steps leaked TF") < eol));
}

/* Two campaigns of register flips and exceptions with the same seed: every vCPU is reset for
 * each experiment, and the ones on vCPUs 1..3, whose path in this guest depends on no timing,
 * agree one by one (but for the platform's trap-flag leaks, which are the only vmm-errors). (A change to shared memory or tables may be met by another vCPU first, or
 * not at all, depending on timing: docs/fault-injection.md.) */
Test(smp_inject, campaigns_agree_on_the_other_cpus)
{
	static const char *const models[] = {"--model", "reg", "--model", "exc", NULL};
	const char *pa = temp_path("smp1.jsonl"), *pb = temp_path("smp2.jsonl");
	char *a, *b, ea[256], eb[256];
	int others = 0;

	campaign(pa, models);
	campaign(pb, models);
	a = read_text(pa);
	b = read_text(pb);
	cr_assert(a && b);
	cr_assert(strstr(a, "\"cpus\":4"), "%s", a);
	for (int i = 0; i < 40; i++) {
		bool ka = experiment(a, i, ea, sizeof(ea)), kb = experiment(b, i, eb, sizeof(eb));

		cr_expect(!strstr(ea, "\"vmm-error\"") || !ka, "experiment %d: %s", i, ea);
		cr_expect(!strstr(eb, "\"vmm-error\"") || !kb, "experiment %d: %s", i, eb);
		if (!strstr(ea, ":cpu=") || !ka || !kb)
			continue;
		others++;
		cr_expect_str_eq(ea, eb, "experiment %d", i);
	}
	cr_assert_gt(others, 20, "%d of 40 on vCPUs 1..3", others);
	free(a);
	free(b);
}

/* A campaign over 4 vCPUs with extra (NULL-terminated) runs every experiment, and each line
 * records it as want says. The one vmm-error allowed is the platform's: single steps on a vCPU
 * that an IPI wakes leaked the trap flag (where hardware breakpoints do not fire, @rip steps;
 * docs/platforms.md). */
static void campaign_records(const char *const *extra, const char *want)
{
	const char *path = temp_path("smp3.jsonl");
	char *a, *save = NULL;

	campaign(path, extra);
	a = read_text(path);
	cr_assert(a);
	cr_assert(strstr(a, want), "%s", a);
	for (char *l = strtok_r(a, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		cr_expect(!strstr(l, "\"vmm-error\"") || strstr(l, "single steps leaked TF"), "%s",
			  l);
	free(a);
}

/* With the VMM's fault handling. */
Test(smp_inject, campaign_in_vmm_mode)
{
	static const char *const extra[] = {"--faults=vmm", NULL};

	campaign_records(extra, "\"faults\":\"vmm\",\"protect_pt\":false");
}

/* With the page-table pool read-only as well. */
Test(smp_inject, campaign_with_protected_tables)
{
	static const char *const extra[] = {"--faults=vmm", "--protect-pt", NULL};

	skip_on_quirk(QUIRK_WALK_WRITES_TABLES);
	campaign_records(extra, "\"faults\":\"vmm\",\"protect_pt\":true");
}
