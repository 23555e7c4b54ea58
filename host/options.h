/* The command line: `vmm [options] IMAGE [guest args...]`. Parsing stops at IMAGE, so options
 * after it belong to the guest and are joined, space-separated, into its command line. */
#ifndef PW_HOST_OPTIONS_H
#define PW_HOST_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pagewarden/abi.h"

#define PW_VERSION "0.1.0"

/* --timeout is kept below a day-scale bound so the timer's seconds never overflow. */
#define OPT_TIMEOUT_MAX 1e7

/* Console bytes a guest may write unless --console-limit says otherwise. */
#define OPT_CONSOLE_LIMIT_DEFAULT (16ull << 20)

struct options {
	uint64_t mem;		      /* -m/--mem, bytes; PW_MEM_DEFAULT if not given */
	bool dump_pt;		      /* --dump-pt */
	const char *json_path;	      /* --json FILE ("-" = stdout); NULL: no report */
	const char *inject;	      /* --inject SPEC: one fault-injection experiment */
	double timeout;		      /* --timeout SECONDS; 0 = none */
	bool trace;		      /* --trace */
	bool quiet;		      /* -q/--quiet */
	bool help;		      /* -h/--help: print usage, run nothing */
	bool version;		      /* --version */
	bool protect_pt;	      /* --protect-pt */
	unsigned fault_mode;	      /* --faults=guest|vmm: enum pw_fault_mode */
	uint64_t console_limit;	      /* --console-limit SIZE; 0 = none */
	uint64_t max_exits;	      /* --max-exits N; 0 = none */
	bool no_sandbox;	      /* --no-sandbox */
	bool replay_triple_fault;     /* --replay-triple-fault */
	bool count;		      /* --count: count guest instructions by single steps */
	bool count_bps;		      /* --count=bps: with handler breakpoints everywhere */
	const char *gdb;	      /* --gdb [HOST:]PORT: serve gdb's remote protocol; NULL: no */
	bool gdb_any_address;	      /* --gdb-any-address: HOST may be a non-loopback address */
	unsigned gdb_watch;	      /* --gdb-watch=auto|dr|pages: enum opt_gdb_watch */
	const char *core_path;	      /* --core FILE: an ELF core of a crashed guest; NULL: no */
	unsigned cpus;		      /* --cpus N: vCPUs, 1..PW_MAX_CPUS (default 1) */
	const char *image;	      /* the first non-option argument */
	char cmdline[PW_CMDLINE_MAX]; /* the arguments after IMAGE, joined by spaces */
};

/* How gdb's watchpoints are kept (docs/debugging.md). */
enum opt_gdb_watch {
	OPT_GDB_WATCH_AUTO = 0, /* debug registers where they fire and are enough, else pages */
	OPT_GDB_WATCH_DR,	/* debug registers only (at most four) */
	OPT_GDB_WATCH_PAGES,	/* write-protected pages only (write watchpoints) */
};

enum opt_err {
	OPT_OK = 0,
	OPT_EUSAGE, /* msg says what was wrong */
};

struct opt_error {
	char msg[256];
};

/* Parse argv into o (defaults first). On OPT_EUSAGE, e->msg holds one line without "vmm: ".
 * With -h or --version the image may be missing. Resets getopt's state, so it can be called
 * more than once (tests do). */
enum opt_err options_parse(int argc, char *const argv[], struct options *o, struct opt_error *e);

/* Print the usage text, with the exit status table, to f. */
void options_usage(FILE *f, const char *prog);

#endif
