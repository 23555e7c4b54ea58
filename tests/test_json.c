/* The run report's JSON, byte for byte, from a hand-made run (no KVM needed). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "status.h"

/* json_string(s) as a malloc'ed string. */
static char *escaped(const char *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	json_string(f, s);
	fclose(f);
	return text;
}

static void expect_escape(const char *in, const char *want)
{
	char *got = escaped(in);

	cr_assert_str_eq(got, want);
	free(got);
}

Test(json, string_escapes)
{
	expect_escape("", "\"\"");
	expect_escape("plain text", "\"plain text\"");
	expect_escape("a\"b\\c", "\"a\\\"b\\\\c\"");
	expect_escape("tab\tnl\ncr\r", "\"tab\\tnl\\ncr\\r\"");
	expect_escape("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
}

Test(json, string_utf8)
{
	expect_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		      "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	/* invalid: a lone continuation byte, an overlong NUL, a surrogate, a truncated sequence */
	expect_escape("\x80", "\"\\ufffd\"");
	expect_escape("\xc0\x80", "\"\\ufffd\\ufffd\"");
	expect_escape("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	expect_escape("\xe2\x82", "\"\\ufffd\\ufffd\"");
	expect_escape("\xff", "\"\\ufffd\"");
}

Test(json, run_report)
{
	static struct run r; /* ~13 KiB: not on the stack */
	struct fault_record f = {.kind = PW_FAULT_STACK_OVERFLOW,
				 .vector = 14,
				 .gva = 0xfff8,
				 .gpa = 0xfff8,
				 .gpa_valid = true,
				 .error_code = 6,
				 .rip = 0x100200,
				 .rsp = 0x10000,
				 .caught_by = PW_CAUGHT_GUEST_IDT};
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	r.stop = RUN_STOP_FAULT;
	r.last_exit = KVM_EXIT_IO;
	strcpy(r.msg, "guest crashed: \"quoted\"");
	r.exits[KVM_EXIT_IO] = 5;
	r.exits[KVM_EXIT_HLT] = 1;
	r.exits[RUN_EXIT_SLOTS - 1] = 2;
	r.nexits = 8;
	r.wall_ns = 1234567;
	r.checkpoints = 3;
	r.exits_at_cp = 6;
	r.counted = true; /* --count */
	r.insns = 1234;
	r.insns_after_cp = 1000;
	r.console_bytes = 42;
	cr_assert(fault_list_append(&r.faults, &f));
	f.kind = PW_FAULT_HEAP_GROW;
	f.gpa_valid = false;
	f.recovered = true;
	cr_assert(fault_list_append(&r.faults, &f));
	cr_assert_eq(json_write_run(out, &r, "img.bin", 64 << 20, PW_STATUS_CRASH), 0);
	fclose(out);
	cr_assert_str_eq(
	    text,
	    "{\n"
	    "  \"image\": \"img.bin\",\n"
	    "  \"mem\": 67108864,\n"
	    "  \"exit_reason\": \"IO\",\n"
	    "  \"stop\": \"fault\",\n"
	    "  \"exit_code\": null,\n"
	    "  \"status\": 75,\n"
	    "  \"message\": \"guest crashed: \\\"quoted\\\"\",\n"
	    "  \"exits\": {\"IO\": 5, \"HLT\": 1, \"OTHER\": 2},\n"
	    "  \"exits_total\": 8,\n"
	    "  \"guest_exits\": 8,\n"
	    "  \"insns\": 1234,\n"
	    "  \"exits_after_checkpoint\": 2,\n"
	    "  \"insns_after_checkpoint\": 1000,\n"
	    "  \"wall_ms\": 1.235,\n"
	    "  \"checkpoints\": 3,\n"
	    "  \"console_bytes\": 42,\n"
	    "  \"faults\": [\n"
	    "    {\"kind\": \"stack-overflow\", \"vector\": 14, \"gva\": \"0xfff8\", \"gpa\": "
	    "\"0xfff8\", \"error_code\": \"0x6\", \"rip\": \"0x100200\", \"rsp\": \"0x10000\", "
	    "\"caught_by\": \"guest-idt\", \"recovered\": false},\n"
	    "    {\"kind\": \"heap-grow\", \"vector\": 14, \"gva\": \"0xfff8\", \"gpa\": null, "
	    "\"error_code\": \"0x6\", \"rip\": \"0x100200\", \"rsp\": \"0x10000\", "
	    "\"caught_by\": \"guest-idt\", \"recovered\": true}\n"
	    "  ],\n"
	    "  \"faults_dropped\": 0\n"
	    "}\n");
	free(text);
	run_free(&r);
}

Test(json, exit_code_when_the_guest_exited)
{
	static struct run r;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	r.stop = RUN_STOP_EXIT;
	r.exit_code = -3;
	cr_assert_eq(json_write_run(out, &r, "x", 1, 253), 0);
	fclose(out);
	cr_assert(strstr(text, "\"exit_code\": -3,\n  \"status\": 253,"), "%s", text);
	cr_assert(strstr(text, "\"exits\": {},"), "%s", text);
	cr_assert(strstr(text, "\"faults\": [],"), "%s", text);
	free(text);
}

Test(fault_list, caps_its_growth)
{
	struct fault_list l = {0};
	struct fault_record f = {.kind = PW_FAULT_HEAP_GROW};

	for (unsigned i = 0; i < FAULT_LIST_MAX; i++)
		cr_assert(fault_list_append(&l, &f));
	cr_assert(!fault_list_append(&l, &f));
	cr_assert_eq(l.n, FAULT_LIST_MAX);
	cr_assert_eq(l.dropped, 1);
	fault_list_free(&l);
	cr_assert_eq(l.n, 0);
}
