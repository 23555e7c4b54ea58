/* Helpers for the tests that run guests under ./vmm --json - and check the "faults" array:
 * test_faults_guest.c (--faults=guest), test_faults_vmm.c (--faults=vmm), test_faults_exit.c.
 * Header-only (static functions): each test file is its own translation unit. */
#ifndef PW_TESTS_FAULT_REPORT_H
#define PW_TESTS_FAULT_REPORT_H

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_helper.h"
#include "status.h"

#define MAX_FAULTS 128

/* Exception vectors the fault tests name. */
#define VECTOR_DE 0
#define VECTOR_UD 6
#define VECTOR_DF 8
#define VECTOR_GP 13
#define VECTOR_PF 14

/* One entry of the report's "faults" array. */
struct jfault {
	char kind[32];
	unsigned vector;
	uint64_t gva, error_code, rip;
	char caught_by[32];
	bool recovered;
	char access[16];     /* exits only, else "" */
	char diagnosis[160]; /* triple faults only, else "" */
	uint64_t gpa;	     /* 0 when null */
};

/* A run of one guest: the subprocess and the faults its JSON report lists. */
struct frun {
	struct proc_result r;
	struct jfault f[MAX_FAULTS];
	size_t n;
};

/* The text after `"key": ` inside [obj, end), or NULL. */
static const char *jfield(const char *obj, const char *end, const char *key)
{
	char pat[48];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(obj, pat);
	return p && p < end ? p + strlen(pat) : NULL;
}

/* Copy the JSON string value at v (after its opening quote) into out. */
static void jstring(const char *v, char *out, size_t n)
{
	size_t i = 0;

	cr_assert(v && *v == '"', "expected a JSON string");
	for (v++; *v && *v != '"' && i + 1 < n; v++)
		out[i++] = *v;
	out[i] = '\0';
}

/* A "0x..." string value or a plain number at v. */
static uint64_t jnumber(const char *v)
{
	cr_assert_not_null(v, "missing JSON field");
	return strtoull(*v == '"' ? v + 1 : v, NULL, 0);
}

/* Parse the one-line fault object [obj, end) into f. */
static void parse_fault(const char *obj, const char *end, struct jfault *f)
{
	const char *rec = jfield(obj, end, "recovered");

	jstring(jfield(obj, end, "kind"), f->kind, sizeof(f->kind));
	jstring(jfield(obj, end, "caught_by"), f->caught_by, sizeof(f->caught_by));
	f->vector = (unsigned)jnumber(jfield(obj, end, "vector"));
	f->gva = jnumber(jfield(obj, end, "gva"));
	f->error_code = jnumber(jfield(obj, end, "error_code"));
	f->rip = jnumber(jfield(obj, end, "rip"));
	cr_assert_not_null(rec, "fault without \"recovered\"");
	f->recovered = strncmp(rec, "true", 4) == 0;
	if (jfield(obj, end, "access"))
		jstring(jfield(obj, end, "access"), f->access, sizeof(f->access));
	if (jfield(obj, end, "diagnosis"))
		jstring(jfield(obj, end, "diagnosis"), f->diagnosis, sizeof(f->diagnosis));
	f->gpa = jnumber(jfield(obj, end, "gpa"));
}

/* Parse the "faults" array of the --json - report that follows the console output of fr's run
 * (of guest name) on stdout into fr. */
static __attribute__((unused)) void frun_parse(struct frun *fr, const char *name)
{
	const char *p = strstr(fr->r.out, "\"faults\": [");
	const char *close;

	cr_assert_not_null(p, "%s: no faults array in stdout:\n%s\nstderr:\n%s", name, fr->r.out,
			   fr->r.err);
	close = strchr(p, ']');
	cr_assert_not_null(close, "%s: unterminated faults array", name);
	for (p = strchr(p, '{'); p && p < close; p = strchr(p, '{')) {
		const char *end = strchr(p, '}');

		cr_assert(end && fr->n < MAX_FAULTS, "%s: bad or too many fault objects", name);
		parse_fault(p, end, &fr->f[fr->n++]);
		p = end;
	}
}

/* Boot guest name (with optional guest args, NULL-terminated) with --json -, and parse the
 * "faults" array of the report that follows the console output on stdout. */
static __attribute__((unused)) struct frun run_guest_opt(const char *opt, const char *name,
							     const char *arg)
{
	struct frun fr = {.r = vmm_run("-q", "--json", "-", opt, guest(name), arg, NULL)};

	frun_parse(&fr, name);
	return fr;
}


/* The address the guest printed after "target 0x" on its console. */
static __attribute__((unused)) uint64_t console_target(const struct frun *fr)
{
	const char *t = strstr(fr->r.out, "target 0x");

	cr_assert_not_null(t, "the guest printed no target:\n%s", fr->r.out);
	return strtoull(t + strlen("target "), NULL, 16);
}

/* Assert that the run crashed (status 75) with exactly one fault, caught by caught_by and not
 * recovered, of kind/vector/error code; returns it for the address checks. */
static __attribute__((unused)) const struct jfault *
assert_crash_by(const struct frun *fr, const char *caught_by, const char *kind, unsigned vector,
		uint64_t err)
{
	const struct jfault *f = &fr->f[0];

	cr_assert_eq(fr->r.status, PW_STATUS_CRASH, "status %d\nstdout:\n%s\nstderr:\n%s",
		     fr->r.status, fr->r.out, fr->r.err);
	cr_assert_eq(fr->n, 1, "%zu faults reported, want 1:\n%s", fr->n, fr->r.out);
	cr_assert_str_eq(f->kind, kind);
	cr_assert_eq(f->vector, vector, "vector %u, want %u", f->vector, vector);
	cr_assert_eq(f->error_code, err, "error code 0x%" PRIx64 ", want 0x%" PRIx64, f->error_code,
		     err);
	cr_assert_str_eq(f->caught_by, caught_by);
	cr_assert(!f->recovered, "a crash reported as recovered");
	return f;
}

#endif
