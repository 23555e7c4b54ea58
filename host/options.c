/* The command line. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "memory.h"
#include "pagewarden/layout.h"
#include "status.h"

/* Long-only options get codes above the char range. */
enum {
	OPT_DUMP_PT = 0x100,
	OPT_JSON,
	OPT_TIMEOUT,
	OPT_TRACE,
	OPT_VERSION,
	OPT_FAULTS,
	OPT_PROTECT_PT,
	OPT_INJECT,
	OPT_CONSOLE_LIMIT,
	OPT_MAX_EXITS,
	OPT_NO_SANDBOX,
	OPT_REPLAY,
	OPT_COUNT,
	OPT_GDB,
	OPT_GDB_ANY,
	OPT_GDB_WATCH,
	OPT_CORE,
	OPT_CPUS,
};

/* "+": stop at the first non-option (IMAGE); ":": report a missing value as ':'. */
static const char opt_short[] = "+:m:qh";

static const struct option opt_long[] = {
    {"mem", required_argument, NULL, 'm'},
    {"dump-pt", no_argument, NULL, OPT_DUMP_PT},
    {"json", required_argument, NULL, OPT_JSON},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"trace", no_argument, NULL, OPT_TRACE},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"faults", required_argument, NULL, OPT_FAULTS},
    {"protect-pt", no_argument, NULL, OPT_PROTECT_PT},
    {"inject", required_argument, NULL, OPT_INJECT},
    {"console-limit", required_argument, NULL, OPT_CONSOLE_LIMIT},
    {"max-exits", required_argument, NULL, OPT_MAX_EXITS},
    {"no-sandbox", no_argument, NULL, OPT_NO_SANDBOX},
    {"replay-triple-fault", no_argument, NULL, OPT_REPLAY},
    {"count", optional_argument, NULL, OPT_COUNT},
    {"gdb", required_argument, NULL, OPT_GDB},
    {"gdb-any-address", no_argument, NULL, OPT_GDB_ANY},
    {"gdb-watch", required_argument, NULL, OPT_GDB_WATCH},
    {"core", required_argument, NULL, OPT_CORE},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {NULL, 0, NULL, 0},
};

__attribute__((format(printf, 2, 3))) static enum opt_err opt_fail(struct opt_error *e,
								   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return OPT_EUSAGE;
}

/* Format a byte count the way -m takes it ("4M", "3G"). */
static const char *opt_size_str(char *buf, size_t n, uint64_t v)
{
	if (v % (1ull << 30) == 0)
		snprintf(buf, n, "%lluG", (unsigned long long)(v >> 30));
	else if (v % (1ull << 20) == 0)
		snprintf(buf, n, "%lluM", (unsigned long long)(v >> 20));
	else
		snprintf(buf, n, "%lluK", (unsigned long long)(v >> 10));
	return buf;
}

static enum opt_err opt_mem(const char *arg, struct options *o, struct opt_error *e)
{
	char lo[16], hi[16];
	uint64_t v;

	if (parse_size(arg, &v) < 0)
		return opt_fail(
		    e, "-m '%s': not a size (a number with an optional K, M or G suffix)", arg);
	if (v < PW_MEM_MIN || v > PW_MEM_MAX || v % PW_PAGE_SIZE)
		return opt_fail(e, "-m '%s': RAM size must be a multiple of 4K from %s to %s", arg,
				opt_size_str(lo, sizeof(lo), PW_MEM_MIN),
				opt_size_str(hi, sizeof(hi), PW_MEM_MAX));
	o->mem = v;
	return OPT_OK;
}

static enum opt_err opt_timeout(const char *arg, struct options *o, struct opt_error *e)
{
	char *end;
	double v = strtod(arg, &end);

	/* strtod also takes "inf", "nan", hex floats and leading blanks: only plain decimals
	 * reach the finite, positive check. */
	if (end == arg || *end || strspn(arg, "0123456789.") != strlen(arg) || !isfinite(v) ||
	    v <= 0 || v > OPT_TIMEOUT_MAX)
		return opt_fail(
		    e, "--timeout '%s': want a positive number of seconds (e.g. 2 or 0.5)", arg);
	o->timeout = v;
	return OPT_OK;
}

static enum opt_err opt_faults(const char *arg, struct options *o, struct opt_error *e)
{
	if (strcmp(arg, "guest") == 0)
		o->fault_mode = PW_FAULTS_GUEST;
	else if (strcmp(arg, "vmm") == 0)
		o->fault_mode = PW_FAULTS_VMM;
	else
		return opt_fail(e, "--faults '%s': want 'guest' or 'vmm'", arg);
	return OPT_OK;
}

/* --console-limit SIZE (0: no limit) and --max-exits N (0: no limit; a plain count). */
static enum opt_err opt_limit(int c, const char *arg, struct options *o, struct opt_error *e)
{
	uint64_t v;

	if (c == OPT_CONSOLE_LIMIT) {
		if (parse_size(arg, &v) < 0)
			return opt_fail(e,
					"--console-limit '%s': not a size (a number with an "
					"optional K, M or G suffix; 0 = no limit)",
					arg);
		o->console_limit = v;
		return OPT_OK;
	}
	if (parse_size(arg, &v) < 0 || (arg[0] && arg[strlen(arg) - 1] > '9'))
		return opt_fail(e, "--max-exits '%s': want a number of VM exits (0 = no limit)",
				arg);
	o->max_exits = v;
	return OPT_OK;
}

/* --cpus N: 1..PW_MAX_CPUS vCPUs. */
static enum opt_err opt_cpus(const char *arg, struct options *o, struct opt_error *e)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || arg[0] == '+' || v < 1 ||
	    v > PW_MAX_CPUS)
		return opt_fail(e, "--cpus '%s': want a number of vCPUs from 1 to %u", arg,
				PW_MAX_CPUS);
	o->cpus = (unsigned)v;
	return OPT_OK;
}

/* --cpus N > 1 with an option that drives one vCPU: the message, or NULL if they combine. */
static const char *opt_cpus_conflict(const struct options *o)
{
	if (o->cpus <= 1)
		return NULL;
	if (o->gdb)
		return "--gdb";
	if (o->count)
		return "--count";
	if (o->replay_triple_fault)
		return "--replay-triple-fault";
	return NULL;
}

/* --gdb-watch=auto|dr|pages */
static enum opt_err opt_gdb_watch(const char *arg, struct options *o, struct opt_error *e)
{
	static const char *const names[] = {"auto", "dr", "pages"};

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(arg, names[i]) == 0) {
			o->gdb_watch = i;
			return OPT_OK;
		}
	return opt_fail(e, "--gdb-watch '%s': want 'auto', 'dr' or 'pages'", arg);
}

/* Join args[0..n) with single spaces into o->cmdline. */
static enum opt_err opt_cmdline(int n, char *const args[], struct options *o, struct opt_error *e)
{
	size_t len = 0;

	o->cmdline[0] = '\0';
	for (int i = 0; i < n; i++) {
		size_t a = strlen(args[i]) + (i > 0);

		if (a > sizeof(o->cmdline) - 1 - len)
			return opt_fail(e, "guest arguments too long (at most %zu bytes joined)",
					sizeof(o->cmdline) - 1);
		snprintf(o->cmdline + len, sizeof(o->cmdline) - len, "%s%s", i ? " " : "", args[i]);
		len += a;
	}
	return OPT_OK;
}

/* Apply option c (getopt's return) with its argument. */
static enum opt_err opt_apply(int c, const char *arg, struct options *o, struct opt_error *e)
{
	switch (c) {
	case 'm':
		return opt_mem(arg, o, e);
	case OPT_TIMEOUT:
		return opt_timeout(arg, o, e);
	case OPT_FAULTS:
		return opt_faults(arg, o, e);
	case OPT_JSON:
		if (!*arg)
			return opt_fail(e, "--json: empty file name (use '-' for stdout)");
		o->json_path = arg;
		return OPT_OK;
	case OPT_DUMP_PT:
		o->dump_pt = true;
		return OPT_OK;
	case OPT_TRACE:
		o->trace = true;
		return OPT_OK;
	case 'q':
		o->quiet = true;
		return OPT_OK;
	case 'h':
		o->help = true;
		return OPT_OK;
	case OPT_VERSION:
		o->version = true;
		return OPT_OK;
	case OPT_INJECT:
		o->inject = arg;
		return OPT_OK;
	case OPT_PROTECT_PT:
		o->protect_pt = true;
		return OPT_OK;
	case OPT_CONSOLE_LIMIT:
	case OPT_MAX_EXITS:
		return opt_limit(c, arg, o, e);
	case OPT_NO_SANDBOX:
		o->no_sandbox = true;
		return OPT_OK;
	case OPT_REPLAY:
		o->replay_triple_fault = true;
		return OPT_OK;
	case OPT_COUNT:
		if (arg && strcmp(arg, "bps") != 0)
			return opt_fail(e, "--count=%s: the only variant is --count=bps", arg);
		o->count = true;
		o->count_bps = arg != NULL;
		return OPT_OK;
	case OPT_GDB:
		if (!*arg)
			return opt_fail(e, "--gdb: empty address (want [HOST:]PORT)");
		o->gdb = arg;
		return OPT_OK;
	case OPT_GDB_ANY:
		o->gdb_any_address = true;
		return OPT_OK;
	case OPT_GDB_WATCH:
		return opt_gdb_watch(arg, o, e);
	case OPT_CPUS:
		return opt_cpus(arg, o, e);
	case OPT_CORE:
		if (!*arg)
			return opt_fail(e, "--core: empty file name");
		o->core_path = arg;
		return OPT_OK;
	}
	return opt_fail(e, "internal error: option %d not handled", c);
}

/* The message for getopt's '?' (unknown) or ':' (missing value). A short option is named by
 * optopt: inside a cluster (-qx) optind has not moved past its word yet. An unknown long one
 * (optopt 0) and a missing value (only possible in the last word) are named by that word. */
static enum opt_err opt_bad(int c, char *const argv[], struct opt_error *e)
{
	const char *word = argv[optind - 1];
	char name[3] = {'-', (char)optopt, '\0'};
	bool is_long = c == '?' ? optopt == 0 : strncmp(word, "--", 2) == 0;

	if (c == ':')
		return opt_fail(e, "option '%s' needs a value", is_long ? word : name);
	return opt_fail(e, "unknown option '%s'", is_long ? word : name);
}

enum opt_err options_parse(int argc, char *const argv[], struct options *o, struct opt_error *e)
{
	enum opt_err err;
	int c;

	memset(o, 0, sizeof(*o));
	o->mem = PW_MEM_DEFAULT;
	o->fault_mode = PW_FAULTS_GUEST;
	o->console_limit = OPT_CONSOLE_LIMIT_DEFAULT;
	o->cpus = 1;
	e->msg[0] = '\0';
	optind = 0; /* 0, not 1: glibc then also resets its internal state */
	opterr = 0; /* messages are ours, and main prints them */
	while ((c = getopt_long(argc, argv, opt_short, opt_long, NULL)) != -1) {
		if (c == '?' || c == ':')
			return opt_bad(c, argv, e);
		err = opt_apply(c, optarg, o, e);
		if (err)
			return err;
	}
	if (o->help || o->version)
		return OPT_OK;
	if (o->count && o->inject)
		return opt_fail(e, "--count does not combine with --inject (an experiment's steps "
				   "are its own)");
	if (o->gdb && o->count)
		return opt_fail(e, "--gdb does not combine with --count (both drive single steps)");
	if (opt_cpus_conflict(o))
		return opt_fail(e, "--cpus %u does not combine with %s yet (it drives one vCPU)",
				o->cpus, opt_cpus_conflict(o));
	if (optind >= argc)
		return opt_fail(e, "no image given");
	o->image = argv[optind];
	if (!*o->image)
		return opt_fail(e, "empty image name");
	return opt_cmdline(argc - optind - 1, argv + optind + 1, o, e);
}

void options_usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [options] IMAGE [guest args...]\n"
		"Run IMAGE (a flat binary or an ELF64 executable) as a 64-bit guest under KVM,\n"
		"identity-mapped with guard pages. Arguments after IMAGE go to the guest.\n"
		"\n"
		"options:\n"
		"  -m, --mem SIZE       guest RAM (K, M, G suffixes; 4M..3G; default 64M)\n"
		"      --dump-pt        print the guest's page tables as ranges before running\n"
		"      --json FILE      write a JSON run report to FILE ('-': stdout)\n"
		"      --timeout SECS   stop the guest after SECS seconds (fractions allowed)\n"
		"      --trace          print one line per VM exit on stderr\n"
		"  -q, --quiet          print only errors (the guest's console is not affected)\n"
		"      --faults=MODE    who handles guest faults: guest (default) or vmm\n"
		"      --protect-pt     put the page tables in a read-only memslot\n"
		"      --inject SPEC    run one fault-injection experiment (docs/fault-injection.md)\n"
		"      --console-limit SIZE  stop the guest once it writes more than SIZE bytes\n"
		"                       of console output (default 16M; 0: no limit)\n"
		"      --max-exits N    stop the guest at VM exit N+1 (default: no limit)\n"
		"      --no-sandbox     do not confine the VMM with seccomp during the run\n"
		"      --replay-triple-fault  find a triple fault's registers by replaying the run\n"
		"                       even where KVM kept them, and check they agree\n"
		"      --count          count the guest instructions the run retires, by single\n"
		"                       steps (slow), and print them with its VM exits\n"
		"      --gdb [HOST:]PORT  wait for gdb on HOST:PORT (default host 127.0.0.1; port\n"
		"                       0 picks one) and serve it before the first instruction\n"
		"      --gdb-any-address  allow --gdb on an address other than loopback\n"
		"      --gdb-watch=HOW  watchpoints in debug registers (dr), write-protected\n"
		"                       pages (pages) or whichever works here (auto, default)\n"
		"      --cpus N         run N vCPUs (1..64, default 1; docs/smp.md)\n"
		"      --core FILE      when the guest crashes, write an ELF core of it to FILE\n"
		"                       (created at start; left empty if the guest does not crash)\n"
		"  -h, --help           show this help\n"
		"      --version        show the version\n"
		"\n"
		"exit status:\n"
		"  0..63  the guest's exit code (0 also when the guest halts)\n"
		"  %-5d  bad command line\n"
		"  %-5d  the image is missing, unreadable or malformed\n"
		"  %-5d  /dev/kvm missing, not accessible, or unsuitable\n"
		"  %-5d  a KVM call failed, or KVM reported an internal error\n"
		"  %-5d  the guest crashed (triple fault, unbacked memory, panic)\n"
		"  %-5d  the guest broke the hypercall ABI\n"
		"  %-5d  --console-limit or --max-exits exceeded\n"
		"  %-5d  gdb killed the guest (--gdb)\n"
		"  %-5d  --timeout expired\n",
		prog, PW_STATUS_USAGE, PW_STATUS_IMAGE, PW_STATUS_KVM, PW_STATUS_INTERNAL,
		PW_STATUS_CRASH, PW_STATUS_BAD_HYPERCALL, PW_STATUS_LIMIT, PW_STATUS_KILLED,
		PW_STATUS_TIMEOUT);
}
