/* The command line: options_parse directly, and ./vmm's answers to bad usage and bad images.
 * None of these need KVM: ./vmm reads the image before it opens /dev/kvm. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "pagewarden/layout.h"
#include "run_helper.h"
#include "status.h"

/* Parse a NULL-terminated argument list (without the program name) into o. */
static enum opt_err parse(struct options *o, struct opt_error *e, const char *const args[])
{
	char *argv[64] = {"vmm"};
	int argc = 1;

	for (; args[argc - 1]; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	return options_parse(argc, argv, o, e);
}

#define PARSE(o, e, ...) parse((o), (e), (const char *const[]){__VA_ARGS__, NULL})

Test(options, defaults)
{
	struct options o;
	struct opt_error e;

	cr_assert_eq(PARSE(&o, &e, "guest.bin"), OPT_OK, "%s", e.msg);
	cr_assert_str_eq(o.image, "guest.bin");
	cr_assert_eq(o.mem, PW_MEM_DEFAULT);
	cr_assert_eq(o.timeout, 0);
	cr_assert_eq(o.fault_mode, PW_FAULTS_GUEST);
	cr_assert_str_eq(o.cmdline, "");
	cr_assert(!o.quiet && !o.trace && !o.dump_pt && !o.protect_pt && !o.json_path);
}

Test(options, every_option)
{
	struct options o;
	struct opt_error e;

	cr_assert_eq(PARSE(&o, &e, "-m", "128M", "--dump-pt", "--json", "out.json", "--timeout",
			   "0.25", "--trace", "-q", "--faults=vmm", "--protect-pt", "img"),
		     OPT_OK, "%s", e.msg);
	cr_assert_eq(o.mem, 128ull << 20);
	cr_assert(o.dump_pt && o.trace && o.quiet && o.protect_pt);
	cr_assert_str_eq(o.json_path, "out.json");
	cr_assert_float_eq(o.timeout, 0.25, 1e-9);
	cr_assert_eq(o.fault_mode, PW_FAULTS_VMM);
	cr_assert_str_eq(o.image, "img");
}

Test(options, long_forms_with_equals)
{
	struct options o;
	struct opt_error e;

	cr_assert_eq(PARSE(&o, &e, "--mem=1G", "--quiet", "--timeout=3", "--faults", "guest", "x"),
		     OPT_OK, "%s", e.msg);
	cr_assert_eq(o.mem, 1ull << 30);
	cr_assert(o.quiet);
	cr_assert_float_eq(o.timeout, 3.0, 1e-9);
	cr_assert_eq(o.fault_mode, PW_FAULTS_GUEST);
}

/* Everything after IMAGE is the guest's, even words that look like vmm options. */
Test(options, parsing_stops_at_image)
{
	struct options o;
	struct opt_error e;

	cr_assert_eq(PARSE(&o, &e, "-q", "img", "--json", "x", "-m", "1", "a b"), OPT_OK, "%s",
		     e.msg);
	cr_assert_str_eq(o.image, "img");
	cr_assert(o.quiet);
	cr_assert_null(o.json_path);
	cr_assert_eq(o.mem, PW_MEM_DEFAULT);
	cr_assert_str_eq(o.cmdline, "--json x -m 1 a b");
}

Test(options, double_dash_ends_options)
{
	struct options o;
	struct opt_error e;

	cr_assert_eq(PARSE(&o, &e, "--", "-odd-name", "arg"), OPT_OK, "%s", e.msg);
	cr_assert_str_eq(o.image, "-odd-name");
	cr_assert_str_eq(o.cmdline, "arg");
}

Test(options, help_and_version_need_no_image)
{
	struct options o;
	struct opt_error e;

	cr_assert_eq(PARSE(&o, &e, "-h"), OPT_OK);
	cr_assert(o.help);
	cr_assert_eq(PARSE(&o, &e, "--version"), OPT_OK);
	cr_assert(o.version);
}

/* Each bad command line gives OPT_EUSAGE and a message containing want. */
static void expect_usage(const char *want, const char *const args[])
{
	struct options o;
	struct opt_error e;

	cr_assert_eq(parse(&o, &e, args), OPT_EUSAGE, "accepted, expected \"%s\"", want);
	cr_assert(strstr(e.msg, want), "message \"%s\" lacks \"%s\"", e.msg, want);
}

#define EXPECT_USAGE(want, ...) expect_usage((want), (const char *const[]){__VA_ARGS__, NULL})

Test(options, usage_errors)
{
	EXPECT_USAGE("no image given", "-q");
	EXPECT_USAGE("unknown option '--bogus'", "--bogus", "img");
	EXPECT_USAGE("unknown option '-x'", "-x", "img");
	EXPECT_USAGE("unknown option '-x'", "-qx", "img");
	EXPECT_USAGE("option '--json' needs a value", "--json");
	EXPECT_USAGE("option '-m' needs a value", "-m");
	EXPECT_USAGE("--faults 'both'", "--faults=both", "img");
	EXPECT_USAGE("empty image name", "");
	EXPECT_USAGE("--count=steps: the only variant is --count=bps", "--count=steps", "img");
	EXPECT_USAGE("--count does not combine with --inject", "--count", "--inject", "skip@insn=1",
		     "img");
}

Test(options, count)
{
	struct options o;
	struct opt_error e;

	cr_assert_eq(PARSE(&o, &e, "img"), OPT_OK, "%s", e.msg);
	cr_assert(!o.count && !o.count_bps);
	cr_assert_eq(PARSE(&o, &e, "--count", "img"), OPT_OK, "%s", e.msg);
	cr_assert(o.count && !o.count_bps);
	cr_assert_eq(PARSE(&o, &e, "--count=bps", "img"), OPT_OK, "%s", e.msg);
	cr_assert(o.count && o.count_bps);
}

Test(options, bad_mem_sizes)
{
	EXPECT_USAGE("-m '0'", "-m", "0", "img");
	EXPECT_USAGE("-m 'abc': not a size", "-m", "abc", "img");
	EXPECT_USAGE("-m '-1'", "-m", "-1", "img");
	EXPECT_USAGE("from 4M to 3G", "-m", "1M", "img");
	EXPECT_USAGE("from 4M to 3G", "-m", "4096G", "img");
	EXPECT_USAGE("multiple of 4K", "-m", "4097K", "img");
	EXPECT_USAGE("not a size", "-m", "99999999999999999999999G", "img");
}

Test(options, mem_limits_are_inclusive)
{
	struct options o;
	struct opt_error e;

	cr_assert_eq(PARSE(&o, &e, "-m", "4M", "img"), OPT_OK, "%s", e.msg);
	cr_assert_eq(o.mem, PW_MEM_MIN);
	cr_assert_eq(PARSE(&o, &e, "-m", "3G", "img"), OPT_OK, "%s", e.msg);
	cr_assert_eq(o.mem, PW_MEM_MAX);
	cr_assert_eq(PARSE(&o, &e, "-m", "5000K", "img"), OPT_OK, "%s", e.msg);
	cr_assert_eq(o.mem, 5000ull << 10);
}

Test(options, bad_timeouts)
{
	static const char *const bad[] = {"0",	  "-1", "abc", "inf", "nan", "1e999",
					  "0x10", "1s", "",    " 1",  "0.0"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT_USAGE("--timeout", "--timeout", bad[i], "img");
}

Test(options, cmdline_limit)
{
	static char big[PW_CMDLINE_MAX];
	struct options o;
	struct opt_error e;

	memset(big, 'a', sizeof(big) - 2);
	big[sizeof(big) - 2] = '\0'; /* PW_CMDLINE_MAX - 2 chars: fits */
	cr_assert_eq(PARSE(&o, &e, "img", big), OPT_OK, "%s", e.msg);
	cr_assert_eq(strlen(o.cmdline), sizeof(big) - 2);
	EXPECT_USAGE("guest arguments too long", "img", big, "b");
}

/* ---- ./vmm as a user sees it ---------------------------------------------------------------- */

Test(cli, help_lists_options_and_statuses)
{
	struct proc_result r = vmm_run("--help", NULL);

	cr_assert_eq(r.status, 0);
	cr_assert(strstr(r.out, "usage:"), "%s", r.out);
	for (const char *const *w =
		 (const char *const[]){"--mem", "--dump-pt", "--json", "--timeout", "--trace",
				       "--quiet", "--faults", "--protect-pt", "--count", NULL};
	     *w; w++)
		cr_assert(strstr(r.out, *w), "help lacks %s", *w);
	cr_assert(strstr(r.out, "64 ") && strstr(r.out, "65 ") && strstr(r.out, "69 ") &&
		      strstr(r.out, "70 ") && strstr(r.out, "75 ") && strstr(r.out, "76 ") &&
		      strstr(r.out, "124"),
		  "exit status table incomplete:\n%s", r.out);
	proc_result_free(&r);
}

Test(cli, version)
{
	struct proc_result r = vmm_run("--version", NULL);

	cr_assert_eq(r.status, 0);
	cr_assert(strcmp(r.out, "vmm (pagewarden) " PW_VERSION "\n") == 0, "%s", r.out);
	proc_result_free(&r);
}

/* Bad usage: status 64, one line naming the problem, one line pointing at --help. */
static void expect_cli_usage(const char *want, struct proc_result r)
{
	cr_assert_eq(r.status, PW_STATUS_USAGE, "status %d, stderr: %s", r.status, r.err);
	cr_assert(strstr(r.err, want), "stderr lacks \"%s\": %s", want, r.err);
	cr_assert(strncmp(r.err, "vmm: ", 5) == 0, "%s", r.err);
	cr_assert(strstr(r.err, "--help"), "%s", r.err);
	cr_assert_eq(r.out_len, 0, "stdout: %s", r.out);
	proc_result_free(&r);
}

Test(cli, usage_errors)
{
	expect_cli_usage("unknown option '--bogus'", vmm_run("--bogus", "x.bin", NULL));
	expect_cli_usage("no image given", vmm_run("-q", NULL));
	expect_cli_usage("-m '0'", vmm_run("-m", "0", "x.bin", NULL));
	expect_cli_usage("-m 'lots'", vmm_run("-m", "lots", "x.bin", NULL));
	expect_cli_usage("-m '8G'", vmm_run("-m", "8G", "x.bin", NULL));
	expect_cli_usage("--timeout '-2'", vmm_run("--timeout", "-2", "x.bin", NULL));
	expect_cli_usage("--timeout 'soon'", vmm_run("--timeout", "soon", "x.bin", NULL));
}

Test(cli, unwritable_json_path)
{
	struct proc_result r = vmm_run("--json", "/nonexistent-dir/report.json", "x.bin", NULL);

	cr_assert_eq(r.status, PW_STATUS_USAGE, "%d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "/nonexistent-dir/report.json"), "%s", r.err);
	proc_result_free(&r);
}

/* A bad image: status 65 and "vmm: FILE: what" naming the file. */
static void expect_image_error(const char *path, const char *want)
{
	struct proc_result r = vmm_run(path, NULL);
	char prefix[512];

	snprintf(prefix, sizeof(prefix), "vmm: %s: ", path);
	cr_assert_eq(r.status, PW_STATUS_IMAGE, "%s: status %d, stderr: %s", path, r.status, r.err);
	cr_assert(strncmp(r.err, prefix, strlen(prefix)) == 0, "stderr: %s", r.err);
	cr_assert(strstr(r.err, want), "stderr lacks \"%s\": %s", want, r.err);
	cr_assert_eq(strchr(r.err, '\n') - r.err + 1, (long)r.err_len, "not one line: %s", r.err);
	proc_result_free(&r);
}

/* Write len bytes of data (NULL: a sparse file of that size) to a new temp file. */
static const char *temp_file(const char *name, const void *data, size_t len)
{
	const char *path = temp_path(name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	cr_assert(fd >= 0);
	if (data)
		cr_assert_eq(write(fd, data, len), (ssize_t)len);
	else
		cr_assert_eq(ftruncate(fd, (off_t)len), 0);
	close(fd);
	return path;
}

Test(cli, missing_image)
{
	expect_image_error("/nonexistent/guest.bin", "No such file");
}

Test(cli, empty_image)
{
	expect_image_error(temp_file("empty.bin", "", 0), "empty");
}

Test(cli, directory_image)
{
	char tmpl[] = "/tmp/pw-test-XXXXXX";

	cr_assert_not_null(mkdtemp(tmpl));
	expect_image_error(tmpl, "directory");
	rmdir(tmpl);
}

Test(cli, garbage_elf_image)
{
	static const char elf[] = "\x7f"
				  "ELF\x02\x01\x01garbage";

	expect_image_error(temp_file("garbage.elf", elf, 8), "truncated");
}

Test(cli, image_larger_than_ram)
{
	expect_image_error(temp_file("big.bin", NULL, PW_MEM_DEFAULT + 1), "too large");
}
