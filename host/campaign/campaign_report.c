/* Campaign results: JSONL lines, CSV rows, and the model x outcome summary with 95% Wilson
 * intervals (also for merged JSONL files: --summarize). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "fault.h"
#include "run.h"
#include "status.h"

/* detail is VMM text that may hold quotes or control bytes: escape for JSON and CSV. */
static void camp_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
}

/* A hang the budget stopped: how far it got (exits, output hash) is not reproducible. */
static bool camp_unrepeatable(const struct campaign_result *r)
{
	return r->outcome == OUT_HANG && r->stop == RUN_STOP_TIMEOUT;
}

/* "fault":{...} for the last fault the run recorded, or "fault":null. */
static void camp_write_fault(FILE *f, const struct campaign_result *r)
{
	const struct campaign_fault *x = &r->fault;

	if (!r->has_fault || camp_unrepeatable(r)) {
		fputs("\"fault\":null", f);
		return;
	}
	fprintf(f,
		"\"fault\":{\"kind\":\"%s\",\"vector\":%u,\"error_code\":\"0x%" PRIx64
		"\",\"gva\":\"0x%" PRIx64 "\",\"rip\":\"0x%" PRIx64 "\",\"caught_by\":\"%s\","
		"\"cpu\":%u}",
		pw_fault_kind_name(x->kind), x->vector, x->error_code, x->gva, x->rip,
		fault_caught_by_name(x->caught_by), x->cpu);
}

void campaign_write_jsonl(FILE *f, const struct campaign_result *r, const struct campaign_opts *o)
{
	fprintf(f, "{\"i\":%" PRIu64 ",\"spec\":\"%s\",\"image\":\"", r->index, r->spec);
	camp_escaped(f, o->image);
	fprintf(f,
		"\",\"mem\":%" PRIu64 ",\"faults\":\"%s\",\"protect_pt\":%s,\"max_exits\":%" PRIu64
		",\"cpus\":%u,\"model\":\"%s\",\"outcome\":\"%s\",\"stop\":\"%s\","
		"\"exit_code\":%" PRId64 ",",
		o->mem, o->fault_mode == PW_FAULTS_VMM ? "vmm" : "guest",
		o->protect_pt ? "true" : "false", o->max_exits, o->ncpus > 1 ? o->ncpus : 1,
		inject_model_name((enum inject_model)r->model),
		campaign_outcome_name((enum campaign_outcome)r->outcome),
		run_stop_name((enum run_stop)r->stop), r->exit_code);
	if (camp_unrepeatable(r))
		fputs("\"exits\":null,\"hash\":null,", f);
	else
		fprintf(f, "\"exits\":%" PRIu64 ",\"hash\":\"%016" PRIx64 "\",", r->nexits,
			r->hash);
	fprintf(f,
		"\"applied\":%s,\"deterministic\":%s,\"tlb_flushed\":%s,\"rip\":\"0x%" PRIx64 "\",",
		r->applied ? "true" : "false", r->deterministic ? "true" : "false",
		r->tlb_flushed ? "true" : "false", r->rip);
	camp_write_fault(f, r);
	fputs(",\"detail\":\"", f);
	camp_escaped(f, r->detail);
	fputs("\"}\n", f);
}

void campaign_write_csv_header(FILE *f)
{
	fputs("i,spec,model,outcome,stop,exit_code,exits,hash,applied,deterministic,tlb_flushed\n",
	      f);
}

void campaign_write_csv(FILE *f, const struct campaign_result *r)
{
	char exits[24] = "", hash[24] = "";

	if (!camp_unrepeatable(r)) {
		snprintf(exits, sizeof(exits), "%" PRIu64, r->nexits);
		snprintf(hash, sizeof(hash), "%016" PRIx64, r->hash);
	}
	fprintf(f, "%" PRIu64 ",%s,%s,%s,%s,%" PRId64 ",%s,%s,%d,%d,%d\n", r->index, r->spec,
		inject_model_name((enum inject_model)r->model),
		campaign_outcome_name((enum campaign_outcome)r->outcome),
		run_stop_name((enum run_stop)r->stop), r->exit_code, exits, hash, r->applied,
		r->deterministic, r->tlb_flushed);
}

/* Square root by Newton's method: keeps libm out of the link for one call. */
static double camp_sqrt(double x)
{
	double r = x > 1 ? x : 1;

	if (x <= 0)
		return 0;
	for (int i = 0; i < 64; i++)
		r = 0.5 * (r + x / r);
	return r;
}

/* 95% Wilson score interval for k successes out of n. */
static void camp_wilson(uint64_t k, uint64_t n, double *lo, double *hi)
{
	const double z = 1.959964;
	double p = (double)k / (double)n, d = 1 + z * z / (double)n;
	double c = p + z * z / (2.0 * (double)n);
	double h = z * camp_sqrt(p * (1 - p) / (double)n + z * z / (4.0 * (double)n * (double)n));

	*lo = (c - h) / d > 0 ? (c - h) / d : 0;
	*hi = (c + h) / d;
}

void campaign_print_summary(FILE *f, uint64_t counts[INJ_MODEL_COUNT][OUT_COUNT])
{
	uint64_t all[OUT_COUNT] = {0}, total = 0;

	fprintf(f, "%-6s %8s", "model", "runs");
	for (int o = 0; o < OUT_COUNT; o++)
		fprintf(f, "  %-24s", campaign_outcome_name((enum campaign_outcome)o));
	fputc('\n', f);
	for (int m = 0; m <= INJ_MODEL_COUNT; m++) {
		const uint64_t *row = m < INJ_MODEL_COUNT ? counts[m] : all;
		uint64_t n = 0;

		for (int o = 0; o < OUT_COUNT; o++)
			n += row[o];
		if (m < INJ_MODEL_COUNT) {
			for (int o = 0; o < OUT_COUNT; o++)
				all[o] += row[o];
			total += n;
		}
		if (!n)
			continue;
		fprintf(f, "%-6s %8" PRIu64,
			m < INJ_MODEL_COUNT ? inject_model_name((enum inject_model)m) : "all", n);
		for (int o = 0; o < OUT_COUNT; o++) {
			double lo, hi;
			char cell[32];

			camp_wilson(row[o], n, &lo, &hi);
			snprintf(cell, sizeof(cell), "%" PRIu64 " %.1f%% [%.1f,%.1f]", row[o],
				 100.0 * (double)row[o] / (double)n, 100 * lo, 100 * hi);
			fprintf(f, "  %-24s", cell);
		}
		fputc('\n', f);
	}
	(void)total;
}

/* The string value of "key" in one JSONL line, copied into out; false if absent. */
static bool camp_field(const char *line, const char *key, char *out, size_t n)
{
	char pat[32];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(line, pat);
	if (!p)
		return false;
	p += strlen(pat);
	e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= n)
		return false;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return true;
}

static int camp_index(const char *const *names, int count, const char *s, const char *(*fn)(int))
{
	(void)names;
	for (int i = 0; i < count; i++)
		if (strcmp(fn(i), s) == 0)
			return i;
	return -1;
}

static const char *camp_model_at(int i)
{
	return inject_model_name((enum inject_model)i);
}

static const char *camp_outcome_at(int i)
{
	return campaign_outcome_name((enum campaign_outcome)i);
}

int campaign_summarize(int nfiles, char *const files[])
{
	uint64_t counts[INJ_MODEL_COUNT][OUT_COUNT] = {{0}};
	char line[1024], model[16], outcome[16];

	for (int i = 0; i < nfiles; i++) {
		FILE *f = fopen(files[i], "r");
		unsigned lineno = 0;

		if (!f) {
			fprintf(stderr, "vmm: campaign --summarize: %s: %s\n", files[i],
				strerror(errno));
			return PW_STATUS_USAGE;
		}
		while (fgets(line, sizeof(line), f)) {
			int m, o;

			lineno++;
			if (!camp_field(line, "model", model, sizeof(model)) ||
			    !camp_field(line, "outcome", outcome, sizeof(outcome)) ||
			    (m = camp_index(NULL, INJ_MODEL_COUNT, model, camp_model_at)) < 0 ||
			    (o = camp_index(NULL, OUT_COUNT, outcome, camp_outcome_at)) < 0) {
				fprintf(stderr, "vmm: campaign --summarize: %s:%u: not a result line\n",
					files[i], lineno);
				fclose(f);
				return PW_STATUS_USAGE;
			}
			counts[m][o]++;
		}
		fclose(f);
	}
	campaign_print_summary(stdout, counts);
	return 0;
}
