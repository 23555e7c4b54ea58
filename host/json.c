/* The run report as JSON: written with fprintf, one object, fields in a fixed order. */
#include "json.h"

#include <stdbool.h>

/* Length of the valid UTF-8 sequence starting at s (2..4), or 0 if it is not one (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t json_utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		lo = s[0] == 0xe0 ? 0xa0 : lo;
		hi = s[0] == 0xed ? 0x9f : hi;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		lo = s[0] == 0xf0 ? 0x90 : lo;
		hi = s[0] == 0xf4 ? 0x8f : hi;
	} else {
		return 0;
	}
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80) /* also stops at the NUL */
			return 0;
	return n;
}

void json_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', f);
	while (*s) {
		size_t n;

		switch (*s) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*s < 0x20 || *s == 0x7f) {
				fprintf(f, "\\u%04x", *s);
			} else if (*s < 0x80) {
				fputc(*s, f);
			} else if ((n = json_utf8_len(s)) != 0) {
				fwrite(s, 1, n, f);
				s += n;
				continue;
			} else {
				fputs("\\ufffd", f);
			}
		}
		s++;
	}
	fputc('"', f);
}

/* Write "0x..." for a 64-bit address. */
static void json_hex(FILE *f, uint64_t v)
{
	fprintf(f, "\"0x%llx\"", (unsigned long long)v);
}

/* "exits": {"IO": 12, "HLT": 1}: only the reasons that occurred, in reason order. */
static void json_exits(FILE *f, const struct run *r)
{
	bool first = true;

	fputs("  \"exits\": {", f);
	for (unsigned i = 0; i < RUN_EXIT_SLOTS; i++) {
		if (!r->exits[i])
			continue;
		fputs(first ? "" : ", ", f);
		json_string(f, i == RUN_EXIT_SLOTS - 1 ? "OTHER" : vm_exit_name(i));
		fprintf(f, ": %llu", (unsigned long long)r->exits[i]);
		first = false;
	}
	fputs("},\n", f);
}

static void json_fault(FILE *f, const struct fault_record *x, bool smp)
{
	fputs("    {\"kind\": ", f);
	json_string(f, pw_fault_kind_name(x->kind));
	if (smp) /* --cpus N > 1: which vCPU it happened on */
		fprintf(f, ", \"cpu\": %u", x->cpu);
	/* ept-* exits are no exception: no vector */
	if (x->kind == PW_FAULT_EPT_UNBACKED || x->kind == PW_FAULT_EPT_READONLY)
		fputs(", \"vector\": null, \"gva\": ", f);
	else
		fprintf(f, ", \"vector\": %u, \"gva\": ", x->vector);
	json_hex(f, x->gva);
	fputs(", \"gpa\": ", f);
	if (x->gpa_valid)
		json_hex(f, x->gpa);
	else
		fputs("null", f);
	fputs(", \"error_code\": ", f);
	json_hex(f, x->error_code);
	fputs(", \"rip\": ", f);
	json_hex(f, x->rip);
	fputs(", \"rsp\": ", f);
	json_hex(f, x->rsp);
	fputs(", \"caught_by\": ", f);
	json_string(f, fault_caught_by_name(x->caught_by));
	fprintf(f, ", \"recovered\": %s", x->recovered ? "true" : "false");
	if (x->access) {
		fputs(", \"access\": ", f);
		json_string(f, x->access);
	}
	if (x->diagnosis) {
		fputs(", \"diagnosis\": ", f);
		json_string(f, x->diagnosis);
	}
	fputc('}', f);
}

/* True if r is one of several vCPUs' runs (--cpus N > 1). */
static bool json_smp(const struct run *r)
{
	return r->vm && r->vm->ncpus > 1;
}

static void json_faults(FILE *f, const struct run *r)
{
	fputs("  \"faults\": [", f);
	for (size_t i = 0; i < r->faults.n; i++) {
		fputs(i ? ",\n" : "\n", f);
		json_fault(f, &r->faults.v[i], json_smp(r));
	}
	fputs(r->faults.n ? "\n  ],\n" : "],\n", f);
	fprintf(f, "  \"faults_dropped\": %llu\n", (unsigned long long)r->faults.dropped);
}

int json_write_run(FILE *f, const struct run *r, const char *image, uint64_t mem, int status)
{
	fputs("{\n  \"image\": ", f);
	json_string(f, image);
	fprintf(f, ",\n  \"mem\": %llu,\n  \"exit_reason\": ", (unsigned long long)mem);
	json_string(f, vm_exit_name(r->last_exit));
	fputs(",\n  \"stop\": ", f);
	json_string(f, run_stop_name(r->stop));
	if (r->stop == RUN_STOP_EXIT)
		fprintf(f, ",\n  \"exit_code\": %lld", (long long)r->exit_code);
	else
		fputs(",\n  \"exit_code\": null", f);
	if (json_smp(r)) /* the vCPU whose stop ended the run */
		fprintf(f, ",\n  \"cpu\": %u,\n  \"ncpus\": %u", r->vm->cpu, r->vm->ncpus);
	fprintf(f, ",\n  \"status\": %d,\n  \"message\": ", status);
	json_string(f, r->msg);
	fputs(",\n", f);
	json_exits(f, r);
	fprintf(f, "  \"exits_total\": %llu,\n", (unsigned long long)r->nexits);
	if (r->counted)
		fprintf(f, "  \"guest_exits\": %llu,\n  \"insns\": %llu,\n",
			(unsigned long long)run_guest_exits(r), (unsigned long long)r->insns);
	if (r->checkpoints)
		fprintf(f, "  \"exits_after_checkpoint\": %llu,\n",
			(unsigned long long)run_exits_after_checkpoint(r));
	if (r->counted && r->checkpoints)
		fprintf(f, "  \"insns_after_checkpoint\": %llu,\n",
			(unsigned long long)r->insns_after_cp);
	fprintf(f, "  \"wall_ms\": %.3f,\n", (double)r->wall_ns / 1e6);
	fprintf(f, "  \"checkpoints\": %llu,\n", (unsigned long long)r->checkpoints);
	fprintf(f, "  \"console_bytes\": %llu,\n", (unsigned long long)r->console_bytes);
	json_faults(f, r);
	fputs("}\n", f);
	return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
