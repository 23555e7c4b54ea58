/* Campaigns on the workload guest: the same seed gives the same results, the shards together
 * are the whole campaign, resets replay the golden run, --summarize reads the results back. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "campaign_waypoint.h"
#include "platform.h"
#include "run_helper.h"
#include "status.h"

/* Sorted lines of text (in place), so result sets compare regardless of order. */
static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *sorted_lines(char *text)
{
	char *lines[4096], *out, *save = NULL;
	size_t n = 0, len = strlen(text) + 1;

	for (char *l = strtok_r(text, "\n", &save); l && n < 4096; l = strtok_r(NULL, "\n", &save))
		lines[n++] = l;
	qsort(lines, n, sizeof(lines[0]), cmp_line);
	out = calloc(1, len + 1);
	for (size_t i = 0; i < n; i++)
		strcat(strcat(out, lines[i]), "\n");
	return out;
}

/* The hang budget (CPU ms after the injection) of the campaigns whose results are compared
 * between runs: generous, as tests run in parallel and an experiment that needs 5 ms alone
 * must not turn into a hang on a loaded machine. More so in the VM of scripts/kvm-vm: without
 * a steal clock, the VM's kernel charges the time QEMU's vCPU thread waits for a host CPU to
 * whatever ran, so a 20 ms experiment once used 300 ms there with other work on the host. */
static const char *compared_budget_ms(void)
{
	return platform_in_qemu_tcg() ? "1500" : "300";
}

/* Run a campaign of 120 experiments with extra args, results in path. */
static void campaign(const char *path, const char *jobs, const char *shard)
{
	struct proc_result r;

	require_kvm();
	if (shard)
		r = vmm_run("campaign", "--runs", "120", "--seed", "7", "--budget-ms",
			    compared_budget_ms(), "--jobs", jobs, "--shard", shard, "--out", path,
			    guest("workload.elf"), NULL);
	else
		r = vmm_run("campaign", "--runs", "120", "--seed", "7", "--budget-ms",
			    compared_budget_ms(), "--jobs", jobs, "--out", path,
			    guest("workload.elf"), NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect(strstr(r.out, "all ") != NULL, "no summary: %s", r.out);
	proc_result_free(&r);
}

Test(campaign, same_seed_same_results_whatever_the_jobs)
{
	const char *a = temp_path("a.jsonl"), *b = temp_path("b.jsonl");

	campaign(a, "1", NULL);
	campaign(b, "2", NULL);
	cr_expect_str_eq(read_text(a), read_text(b));
}

Test(campaign, shards_together_equal_the_whole_campaign)
{
	const char *all = temp_path("all.jsonl"), *s1 = temp_path("s1.jsonl"),
		   *s2 = temp_path("s2.jsonl"), *s3 = temp_path("s3.jsonl");
	char *joined;

	campaign(all, "2", NULL);
	campaign(s1, "1", "1/3");
	campaign(s2, "1", "2/3");
	campaign(s3, "1", "3/3");
	joined = calloc(1, 1 << 20);
	strcat(strcat(strcat(joined, read_text(s1)), read_text(s2)), read_text(s3));
	cr_expect_str_eq(sorted_lines(joined), sorted_lines(read_text(all)));
	free(joined);
}

Test(campaign, resets_replay_the_golden_run)
{
	const char *path = temp_path("r.jsonl");
	char *text, *save = NULL;
	int benign = 0;

	campaign(path, "1", NULL);
	text = read_text(path);
	/* Every benign experiment matched the golden output hash and stop; after 120 resets in a
	 * row they also all took the golden run's exit count. */
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!json_has(l, "outcome", "\"benign\""))
			continue;
		benign++;
		cr_expect(json_has(l, "exits", "2"), "%s", l);
		/* benign means the golden output: the workload's checksum line, every time */
		cr_expect(json_has(l, "hash", "\"62c894a5b9d4002b\""), "%s", l);
	}
	cr_expect_gt(benign, 30);
}

/* A reset also restores the MSRs, debug registers and FPU state the guest changed after the
 * snapshot (host/vcpu_extra.c): the reset_state guest prints STAR, PAT and DR0 and changes them,
 * so the experiment after a golden run and a trace run is benign only if all came back. */
Test(campaign, resets_restore_msrs_and_debug_registers)
{
	struct proc_result r;

	require_kvm();
	r = vmm_run("--inject", "reg:rax:bit=1@checkpoint=9", guest("reset_state.elf"), NULL);
	cr_expect_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect(json_has(r.out, "outcome", "\"benign\""), "%s", r.out);
	cr_expect(json_has(r.out, "applied", "false"), "%s", r.out);
	proc_result_free(&r);
}

Test(campaign, summarize_merges_result_files)
{
	const char *path = temp_path("m.jsonl");
	struct proc_result r;

	campaign(path, "2", NULL);
	r = vmm_run("campaign", "--summarize", path, path, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_expect(strstr(r.out, "all         240") != NULL, "%s", r.out);
	proc_result_free(&r);
}

/* The workers' sandbox only removes syscalls: the results are the same without it. */
Test(campaign, sandbox_does_not_change_results)
{
	const char *a = temp_path("sandboxed.jsonl"), *b = temp_path("unconfined.jsonl");
	struct proc_result r;

	campaign(a, "2", NULL);
	r = vmm_run("campaign", "--runs", "120", "--seed", "7", "--budget-ms", compared_budget_ms(),
		    "--jobs", "2", "--no-sandbox", "--out", b, guest("workload.elf"), NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect_str_eq(read_text(a), read_text(b));
	proc_result_free(&r);
}

/* --max-exits caps every run of every worker: a fault reported after checkpoint 1 needs a
 * third exit, and exit 3 is where the limit stops the guest. */
Test(campaign, max_exits_caps_every_experiment)
{
	const char *path = temp_path("capped.jsonl");
	char *text, *save = NULL;
	int limited = 0;
	struct proc_result r;

	require_kvm();
	r = vmm_run("campaign", "--runs", "40", "--seed", "3", "--model", "exc", "--max-exits", "2",
		    "--out", path, guest("workload.elf"), NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	text = read_text(path);
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		const char *e = json_value(l, "exits");

		cr_expect(e && (*e == 'n' || strtoul(e, NULL, 10) <= 3), "%s", l);
		if (json_has(l, "stop", "\"limit\"")) {
			limited++;
			cr_expect(json_has(l, "outcome", "\"hang\""), "%s", l);
			cr_expect(json_has(l, "exits", "3"), "%s", l);
			cr_expect(strstr(l, "(--max-exits)") != NULL, "%s", l);
		}
	}
	cr_expect_geq(limited, 10, "%d experiments stopped by --max-exits", limited);
	proc_result_free(&r);
}

/* The string value of "key" in a JSON line, copied into out (n bytes). */
static void jstr(const char *line, const char *key, char *out, size_t n)
{
	const char *v = json_value(line, key), *end;

	cr_assert(v && *v == '"', "no string \"%s\" in %s", key, line);
	end = strchr(v + 1, '"');
	cr_assert(end && (size_t)(end - v - 1) < n, "bad \"%s\" in %s", key, line);
	memcpy(out, v + 1, (size_t)(end - v - 1));
	out[end - v - 1] = '\0';
}

/* Re-run one result line alone, as docs/fault-injection.md says: ./vmm -m MEM [--faults=vmm]
 * [--protect-pt] --inject SPEC IMAGE must print the same line (but for its index). */
static void expect_replays_alone(const char *line)
{
	char spec[128], image[4096], mem[32];
	struct proc_result r;

	jstr(line, "spec", spec, sizeof(spec));
	jstr(line, "image", image, sizeof(image));
	snprintf(mem, sizeof(mem), "%lu", strtoul(json_value(line, "mem"), NULL, 10));
	r = vmm_run("-m", mem, json_has(line, "faults", "\"vmm\"") ? "--faults=vmm" : "-q",
		    json_has(line, "protect_pt", "true") ? "--protect-pt" : "-q", "--inject", spec,
		    image, NULL);
	if (r.out_len && r.out[r.out_len - 1] == '\n')
		r.out[r.out_len - 1] = '\0'; /* one line, like the strtok'ed one */
	cr_expect_str_eq(strstr(r.out, "\"image\""), strstr(line, "\"image\""), "%s", r.err);
	proc_result_free(&r);
}

/* Check a campaign's lines: every one ran under want_mode ("faults":..., "protect_pt":...),
 * every benign one took at least golden_exits (benign is the golden output; a recovered fault
 * can cost exits on the way: under --faults=vmm, reg:rsp:bit=25@rip=0x1007c8 on the clang-built
 * campaign_faults bends RSP into the heap, which grows by one exit); replay the first line of
 * each outcome. Returns the lines whose stop is want_stop. */
static int check_lines(char *text, const char *mode, const char *pt, uint64_t golden_exits,
		       const char *want_stop)
{
	char *save = NULL, seen[8][16] = {{0}};
	int nseen = 0, stops = 0;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char outcome[16];
		bool first = true;

		cr_expect(json_has(l, "faults", mode), "%s", l);
		cr_expect(json_has(l, "protect_pt", pt), "%s", l);
		jstr(l, "outcome", outcome, sizeof(outcome));
		if (strcmp(outcome, "benign") == 0)
			cr_expect_geq(strtoull(json_value(l, "exits"), NULL, 10), golden_exits, "%s",
				      l);
		stops += json_has(l, "stop", want_stop);
		for (int k = 0; k < nseen; k++)
			first &= strcmp(seen[k], outcome) != 0;
		if (first && nseen < 8 && !json_has(l, "outcome", "\"hang\"")) {
			strcpy(seen[nseen++], outcome);
			expect_replays_alone(l);
		}
	}
	return stops;
}

/* --faults=vmm: the VMM maps heap pages and unwinds expected faults by writing guest RAM, and
 * keeps a frame cursor and the recovery record's address; every run must start from the
 * snapshot's. campaign_faults takes 4 heap faults and 1 probe fault after the snapshot: 5
 * traps, checkpoint 1 and exit are 7 exits (as its 5 fault reports are under --faults=guest). */
Test(campaign, faults_vmm_in_every_run)
{
	const char *path = temp_path("vmm.jsonl");
	struct proc_result r;

	require_kvm();
	r = vmm_run("campaign", "--runs", "100", "--seed", "5", "--faults=vmm", "--budget-ms",
		    "300", "--out", path, guest("campaign_faults.elf"), NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	cr_expect(strstr(r.err, "golden run: exit, exit code 0, 7 exits,") != NULL, "%s", r.err);
	cr_expect_gt(check_lines(read_text(path), "\"vmm\"", "false", 7, "\"trap\""), 5,
		     "faults the VMM's stubs caught");
	cr_expect(strstr(read_text(path), "\"caught_by\":\"vmm\"") != NULL);
	proc_result_free(&r);
}

/* --protect-pt: the pool is read-only in every run, and resets restore what the injector wrote
 * into it from the host. */
Test(campaign, protect_pt_in_every_run)
{
	const char *path = temp_path("pt.jsonl");
	struct proc_result r;

	require_kvm();
	skip_on_quirk(QUIRK_WALK_WRITES_TABLES);
	r = vmm_run("campaign", "--runs", "120", "--seed", "7", "--protect-pt", "--budget-ms",
		    "300", "--out", path, guest("workload.elf"), NULL);
	cr_assert_eq(r.status, 0, "stderr: %s", r.err);
	check_lines(read_text(path), "\"guest\"", "true", 2, "\"mmio\"");
	cr_expect(strstr(read_text(path), "\"tlb_flushed\":true") != NULL, "no pte edits");
	proc_result_free(&r);
}

/* The automatic hang budget follows the golden run, with a floor; the options override it. */
Test(campaign_budget, auto_and_fixed)
{
	struct campaign_opts o = {0};
	struct campaign_golden g = {.nexits = 2, .cpu_ns = 625000};

	cr_expect_float_eq(campaign_budget_ms(&o, &g), 0.625 * CAMPAIGN_BUDGET_CPU_FACTOR, 1e-9);
	g.cpu_ns = 100000; /* 4.8 ms: the floor */
	cr_expect_float_eq(campaign_budget_ms(&o, &g), CAMPAIGN_BUDGET_FLOOR_MS, 1e-9);
	cr_expect_eq(campaign_budget_exits(&o, &g), 120);
	o.budget_ms = 300, o.budget_exits = 7;
	cr_expect_float_eq(campaign_budget_ms(&o, &g), 300.0, 1e-9);
	cr_expect_eq(campaign_budget_exits(&o, &g), 7);
}

/* The default budget is CPU time measured from the golden run: the same seed twice, with the
 * other tests loading the machine, gives the same lines, hangs and all. The countdown guest
 * hangs under some register flips whichever compiler built it. */
Test(campaign, same_seed_twice_with_the_auto_budget)
{
	const char *a = temp_path("auto1.jsonl"), *b = temp_path("auto2.jsonl");
	struct proc_result r;

	require_kvm();
	skip_on_quirk(QUIRK_CPU_TIME_VARIES);
	for (int i = 0; i < 2; i++) {
		r = vmm_run("campaign", "--runs", "300", "--seed", "11", "--jobs", "2", "--out",
			    i ? b : a, guest("countdown.elf"), NULL);
		cr_assert_eq(r.status, 0, "stderr: %s", r.err);
		cr_expect(strstr(r.err, "ms CPU; hang budget ") != NULL, "%s", r.err);
		proc_result_free(&r);
	}
	cr_expect(strstr(read_text(a), "\"outcome\":\"hang\"") != NULL, "no hang to compare");
	cr_expect_str_eq(read_text(a), read_text(b));
}

/* Fast-forward only skips work: every result is the same as when every experiment starts at
 * the snapshot. Fixed budgets, far from any experiment's run time, so that only the starting
 * point differs between the two. */
static void expect_same_without_fast_forward(const char *budget, const char *const extra[4])
{
	const char *a = temp_path("ff.jsonl"), *b = temp_path("noff.jsonl");
	struct proc_result r;

	require_kvm();
	for (int i = 0; i < 2; i++) {
		r = vmm_run("campaign", "--runs", "150", "--seed", "13", "--jobs", "2",
			    "--budget-ms", budget, "--out", i ? b : a,
			    i ? "--no-fast-forward" : "--no-progress", extra[0], extra[1], extra[2],
			    extra[3], NULL);
		cr_assert_eq(r.status, 0, "stderr: %s", r.err);
		proc_result_free(&r);
	}
	cr_expect_str_eq(read_text(a), read_text(b));
}

Test(campaign, fast_forward_changes_no_result)
{
	const char *mix[] = {"--model", "reg", guest("workload.elf"), NULL};

	expect_same_without_fast_forward("100", mix);
	mix[1] = "pte";
	expect_same_without_fast_forward("100", mix);
}

Test(campaign, fast_forward_changes_no_result_exc_skip_mem)
{
	const char *mix[] = {"--model", "exc", guest("workload.elf"), NULL};

	expect_same_without_fast_forward("100", mix);
	mix[1] = "skip";
	expect_same_without_fast_forward("100", mix);
	mix[1] = "mem";
	expect_same_without_fast_forward("100", mix);
}

/* Waypoints past heap growth and expected faults the VMM handled: their pages and its state. */
Test(campaign, fast_forward_changes_no_result_under_faults_vmm)
{
	const char *mix[] = {"--faults=vmm", guest("campaign_faults.elf"), NULL, NULL};

	expect_same_without_fast_forward("300", mix);
}

/* Which waypoint an @rip trigger starts from, and the arrivals before it, from the trace. */
Test(campaign_waypoint, pick_counts_arrivals_from_the_trace)
{
	/* instruction j's RIP: j = 0 is the snapshot's (0x10); then trace[j - 1] */
	static const uint64_t trace[] = {0xa, 0xb, 0xc, 0xa, 0xb, 0xc, 0xa, 0xb, 0xc, 0xa};
	struct waypoint v[3] = {{.insn = 3, .hc = 0}, {.insn = 6, .hc = 1}, {.insn = 9, .hc = 2}};
	struct waypoints set = {.v = v, .n = 3, .stride = 3};
	struct inject_spec s = {.trigger = INJ_AT_RIP, .when = 0xa, .hit = 3};
	struct waypoint_start st;

	/* 0xa arrives as instructions 1, 4, 7, 10: the 3rd (7) comes after the waypoint at 6,
	 * which two arrivals precede */
	waypoints_pick(&set, trace, 10, 0x10, &s, &st);
	cr_expect_eq(st.wp, &v[1]);
	cr_expect_eq(st.hits, 2);
	s.hit = 1; /* instruction 1: before every waypoint */
	waypoints_pick(&set, trace, 10, 0x10, &s, &st);
	cr_expect_null(st.wp);
	s.hit = 5; /* never in the golden run */
	waypoints_pick(&set, trace, 10, 0x10, &s, &st);
	cr_expect_null(st.wp);
	s = (struct inject_spec){.trigger = INJ_AT_INSN, .when = 8};
	waypoints_pick(&set, trace, 10, 0x10, &s, &st);
	cr_expect(st.wp == &v[1] && st.steps == 6);
	s = (struct inject_spec){.trigger = INJ_AT_HC, .when = 2};
	waypoints_pick(&set, trace, 10, 0x10, &s, &st);
	cr_expect_eq(st.wp, &v[1], "the last waypoint before the 2nd hypercall");
	s = (struct inject_spec){.trigger = INJ_AT_TIME, .when = 1};
	waypoints_pick(&set, trace, 10, 0x10, &s, &st);
	cr_expect_null(st.wp);
}

/* A rep string instruction single-steps once per iteration at one RIP while the breakpoint
 * fires once: the trace cannot count its arrivals, so no waypoint. */
Test(campaign_waypoint, no_pick_through_a_repeated_rip)
{
	static const uint64_t trace[] = {0xa, 0xa, 0xa, 0xb, 0xa};
	struct waypoint v[1] = {{.insn = 4}};
	struct waypoints set = {.v = v, .n = 1, .stride = 4};
	struct inject_spec s = {.trigger = INJ_AT_RIP, .when = 0xa, .hit = 4};
	struct waypoint_start st;

	waypoints_pick(&set, trace, 5, 0x10, &s, &st);
	cr_expect_null(st.wp);
	s.when = 0xb, s.hit = 1; /* 0xb is instruction 4, the waypoint's own: it arrives there */
	waypoints_pick(&set, trace, 5, 0x10, &s, &st);
	cr_expect(st.wp == &v[0] && st.hits == 0);
}

/* The planner's K for instruction q agrees with the waypoint search: arrivals counted from the
 * snapshot's own RIP (instruction 0), and 0 (plan @insn instead) once any arrival at that RIP so
 * far is a back-to-back repeat. */
Test(campaign_waypoint, arrivals_as_the_planner_counts_them)
{
	static const uint64_t trace[] = {0xa, 0xa, 0xa, 0xb, 0xa, 0xc, 0x10};
	const uint64_t rip0 = 0x10;

	cr_expect_eq(trace_arrival(trace, 7, rip0, 0), 1); /* the snapshot's RIP: first arrival */
	cr_expect_eq(trace_arrival(trace, 7, rip0, 7), 2); /* 0x10 again at the end */
	cr_expect_eq(trace_arrival(trace, 7, rip0, 4), 1); /* 0xb */
	cr_expect_eq(trace_arrival(trace, 7, rip0, 6), 1); /* 0xc */
	for (uint64_t q = 1; q <= 5; q++) /* 0xa: a repeat at q 1..3 spoils every later arrival */
		if (q != 4)
			cr_expect_eq(trace_arrival(trace, 7, rip0, q), 0, "q %llu",
				     (unsigned long long)q);
}

Test(campaign, bad_options_are_refused)
{
	struct proc_result r = vmm_run("campaign", "--shard", "4/3", "x.elf", NULL);

	cr_expect_eq(r.status, PW_STATUS_USAGE);
	cr_expect(strstr(r.err, "--shard '4/3': want K/N with 1 <= K <= N") != NULL, "%s", r.err);
	proc_result_free(&r);
	r = vmm_run("campaign", "x.elf", "--faults=vmm", NULL);
	cr_expect_eq(r.status, PW_STATUS_USAGE);
	cr_expect_str_eq(r.err, "vmm: campaign: '--faults=vmm' after the image (options go before "
				"it)\n");
	proc_result_free(&r);
}
